/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_tulip_harness.h — the guest side of the emulated 21140A for the
 * tulip unit tests: guest RAM is a plain buffer at GBASE with a DMA
 * accessor that bounds-checks every access (-EFAULT outside, and inside
 * the MMIO window where the device's own BAR would sit), the device's
 * callbacks capture transmitted frames and interrupt-line calls, and a few
 * helpers write descriptors and run CSR accesses the way a driver does
 * (tb_new enables decode and bus mastering, as firmware and driver do).
 * Hostile-guest knobs: re-arm OWN whenever the device closes a transmit
 * descriptor (a second vCPU racing the device), re-enter the device from
 * the DMA accessor.
 */
#ifndef TEST_TULIP_HARNESS_H
#define TEST_TULIP_HARNESS_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vsp-net/tulip.h"

#define GBASE 0x00100000u     /* guest RAM base */
#define GSIZE (512u * 1024u)  /* guest RAM size */
#define MMIO_BASE 0xfebf0000u /* "the device's BAR": refused by the accessor */
#define TB_MAX_TX 512u

#define CSR(n) ((uint32_t)(n) * 8u)
/* PCI command: I/O, memory, bus master */
#define TB_PCI_CMD (VSPN_TULIP_PCI_CMD_IO | VSPN_TULIP_PCI_CMD_MEM |          \
                    VSPN_TULIP_PCI_CMD_BM)

/* CSR5 */
#define S_TI (1u << 0)
#define S_TPS (1u << 1)
#define S_TU (1u << 2)
#define S_TJT (1u << 3)
#define S_LNP (1u << 4)
#define S_RI (1u << 6)
#define S_RU (1u << 7)
#define S_RPS (1u << 8)
#define S_GTE (1u << 11)
#define S_LNF (1u << 12)
#define S_FBE (1u << 13)
#define S_AIS (1u << 15)
#define S_NIS (1u << 16)
#define S_RS(v) (((v) >> 17) & 7u)
#define S_TS(v) (((v) >> 20) & 7u)
#define S_EB(v) (((v) >> 23) & 7u)
/* CSR6 */
#define M_HP (1u << 0)
#define M_SR (1u << 1)
#define M_HO (1u << 2)
#define M_IF (1u << 4)
#define M_PR (1u << 6)
#define M_PM (1u << 7)
#define M_OM_INT (1u << 10)
#define M_OM_EXT (2u << 10)
#define M_ST (1u << 13)
#define M_PS (1u << 18)
#define M_TTM (1u << 22)
#define M_MBO (1u << 25)
#define M_RA (1u << 30)
/* descriptors */
#define OWN (1u << 31)
#define T_IC (1u << 31)
#define T_LS (1u << 30)
#define T_FS (1u << 29)
#define T_FT1 (1u << 28)
#define T_SET (1u << 27)
#define T_TER (1u << 25)
#define T_TCH (1u << 24)
#define T_DPD (1u << 23)
#define T_FT0 (1u << 22)
#define T_ES (1u << 15)
#define T_TO (1u << 14)
#define R_FF (1u << 30)
#define R_FL(v) (((v) >> 16) & 0x3fffu)
#define R_ES (1u << 15)
#define R_DE (1u << 14)
#define R_DT(v) (((v) >> 12) & 3u)
#define R_MF (1u << 10)
#define R_FS (1u << 9)
#define R_LS (1u << 8)
#define R_FT (1u << 5)
#define R_RER (1u << 25)
#define R_RCH (1u << 24)
#define BS(b1, b2) (((uint32_t)(b1) & 0x7ffu) | (((uint32_t)(b2) & 0x7ffu) << 11))

struct tb {
    struct vspn_tulip *t;
    uint8_t *mem;
    /* transmitted frames */
    unsigned ntx;
    uint32_t txlen[TB_MAX_TX];
    uint8_t *txf[TB_MAX_TX];
    /* interrupt line */
    unsigned irq_calls, irq_true;
    bool irq_level;
    /* DMA */
    unsigned dma_reads, dma_writes, refused;
    bool rearm_own;      /* set OWN again on every 4-byte status write */
    int reenter;         /* 1: call vspn_tulip_csr_read from the accessor */
    uint32_t reenter_ret;
};

static inline bool tb_in_ram(uint64_t gpa, size_t len)
{
    return gpa >= GBASE && len <= GSIZE && gpa - GBASE <= GSIZE - len;
}

static inline int tb_dma_read(void *ctx, uint64_t gpa, void *buf, size_t len)
{
    struct tb *b = ctx;

    b->dma_reads++;
    if (b->reenter == 1) {
        b->reenter = 0;
        b->reenter_ret = vspn_tulip_csr_read(b->t, CSR(5), 4);
    }
    if (!tb_in_ram(gpa, len)) {
        b->refused++;
        return -EFAULT;
    }
    memcpy(buf, b->mem + (gpa - GBASE), len);
    return 0;
}

static inline int tb_dma_write(void *ctx, uint64_t gpa, const void *buf,
                               size_t len)
{
    struct tb *b = ctx;

    b->dma_writes++;
    if (!tb_in_ram(gpa, len)) {
        b->refused++;
        return -EFAULT;
    }
    memcpy(b->mem + (gpa - GBASE), buf, len);
    if (b->rearm_own && len == 4)
        b->mem[gpa - GBASE + 3] |= 0x80;
    return 0;
}

static inline void tb_tx(void *ctx, const uint8_t *frame, uint32_t len)
{
    struct tb *b = ctx;

    if (b->ntx < TB_MAX_TX) {
        b->txf[b->ntx] = malloc(len ? len : 1);
        memcpy(b->txf[b->ntx], frame, len);
        b->txlen[b->ntx] = len;
    }
    b->ntx++;
}

static inline void tb_irq(void *ctx, bool level)
{
    struct tb *b = ctx;

    b->irq_calls++;
    if (level)
        b->irq_true++;
    b->irq_level = level;
}

static const struct vspn_tulip_ops tb_ops = {
    .dma = { .read = tb_dma_read, .write = tb_dma_write },
    .tx_frame = tb_tx,
    .irq = tb_irq,
};

static const uint8_t tb_mac[6] = { 0x00, 0x15, 0x5d, 0x01, 0x02, 0x03 };
static const uint8_t tb_bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

static inline struct tb *tb_new(void)
{
    struct tb *b = calloc(1, sizeof(*b));
    struct vspn_tulip_config cfg;

    memcpy(cfg.mac.b, tb_mac, 6);
    cfg.link_up = true;
    b->mem = calloc(1, GSIZE);
    if (vspn_tulip_create(&cfg, &tb_ops, b, &b->t) != 0)
        abort();
    /* firmware and driver (pci_enable_device, pci_set_master): decode on,
     * bus mastering on; off at power-on */
    vspn_tulip_cfg_write(b->t, 0x04, 2, TB_PCI_CMD);
    return b;
}

static inline void tb_free(struct tb *b)
{
    unsigned n = b->ntx < TB_MAX_TX ? b->ntx : TB_MAX_TX;

    for (unsigned i = 0; i < n; i++)
        free(b->txf[i]);
    vspn_tulip_destroy(b->t);
    free(b->mem);
    free(b);
}

static inline uint8_t *gp(struct tb *b, uint32_t gpa)
{
    if (!tb_in_ram(gpa, 1))
        abort();
    return b->mem + (gpa - GBASE);
}

static inline void g32(struct tb *b, uint32_t gpa, uint32_t v)
{
    uint8_t *p = gp(b, gpa);

    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static inline uint32_t r32(struct tb *b, uint32_t gpa)
{
    const uint8_t *p = gp(b, gpa);

    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

/* A descriptor: words 0..3. */
static inline void desc(struct tb *b, uint32_t at, uint32_t w0, uint32_t w1,
                        uint32_t w2, uint32_t w3)
{
    g32(b, at, w0);
    g32(b, at + 4, w1);
    g32(b, at + 8, w2);
    g32(b, at + 12, w3);
}

static inline void wr(struct tb *b, unsigned n, uint32_t v)
{
    vspn_tulip_csr_write(b->t, CSR(n), 4, v);
}

static inline uint32_t rd(struct tb *b, unsigned n)
{
    return vspn_tulip_csr_read(b->t, CSR(n), 4);
}

/* Fills a frame: dst, our MAC as source, IPv4 ethertype, pattern. */
static inline void mkframe(uint8_t *f, uint32_t len, const uint8_t *dst,
                           uint8_t seed)
{
    memcpy(f, dst, 6);
    memcpy(f + 6, tb_mac, 6);
    f[12] = 0x08;
    f[13] = 0x00;
    for (uint32_t i = 14; i < len; i++)
        f[i] = (uint8_t)(seed + i * 7u);
}

/* Reference CRC-32 (zlib), bitwise, independent of the model's table. */
static inline uint32_t ref_crc32(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;

    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c & 1u) ? (c >> 1) ^ 0xedb88320u : c >> 1;
    }
    return ~c;
}

/* §5: hash index = low 9 bits of the Ethernet CRC register (no final
 * complement) over the destination. */
static inline unsigned ref_hash(const uint8_t *a)
{
    return ~ref_crc32(a, 6) & 0x1ffu;
}

/* Perfect-filter setup frame (§5): entry n at 12n, address in the low
 * halves of three longwords; the upper halves get garbage to prove they
 * are ignored; unused entries repeat addrs[0]. */
static inline void setup_perfect(uint8_t *buf, const uint8_t (*addrs)[6],
                                 unsigned n)
{
    memset(buf, 0xa5, 192);
    for (unsigned e = 0; e < 16; e++) {
        const uint8_t *a = addrs[e < n ? e : 0];
        for (unsigned k = 0; k < 3; k++) {
            buf[12 * e + 4 * k] = a[2 * k];
            buf[12 * e + 4 * k + 1] = a[2 * k + 1];
        }
    }
}

/* Hash setup frame: bits set, plus the perfect address at longwords 39-41. */
static inline void setup_hash(uint8_t *buf, const unsigned *bits, unsigned n,
                              const uint8_t *perfect)
{
    memset(buf, 0, 192);
    for (unsigned i = 0; i < n; i++) {
        unsigned bit = bits[i];
        buf[4 * (bit >> 4) + ((bit & 15u) >> 3)] |= (uint8_t)(1u << (bit & 7u));
    }
    if (perfect)
        for (unsigned k = 0; k < 3; k++) {
            buf[156 + 4 * k] = perfect[2 * k];
            buf[156 + 4 * k + 1] = perfect[2 * k + 1];
        }
}

/* Guest layout used by most tests. */
#define TXRING (GBASE + 0x1000u)
#define RXRING (GBASE + 0x2000u)
#define SETUPBUF (GBASE + 0x3000u)
#define TXBUF (GBASE + 0x10000u)
#define RXBUF (GBASE + 0x40000u)

/* Sends a setup frame through TX descriptor 0 of a fresh ring, with the
 * transmitter started; leaves the TX ring at descriptor 1. */
static inline void tb_setup(struct tb *b, const uint8_t *buf, uint32_t ft)
{
    memcpy(gp(b, SETUPBUF), buf, 192);
    desc(b, TXRING, OWN, T_SET | ft | 192u, SETUPBUF, 0);
    g32(b, TXRING + 16, 0); /* next one host-owned */
    wr(b, 4, TXRING);
    wr(b, 1, 0);
}

/* Linux-like bring-up: reset, bus mode, rings (rx: n descriptors of 1536
 * bytes with RER on the last), perfect filter {own MAC, broadcast},
 * interrupts 0x0001EBEF, SR|ST. */
static inline void tb_up(struct tb *b, unsigned nrx)
{
    uint8_t setup[192];
    const uint8_t addrs[2][6] = {
        { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
        { 0x00, 0x15, 0x5d, 0x01, 0x02, 0x03 },
    };

    wr(b, 0, 1);
    wr(b, 0, 0x01a08000u);
    for (unsigned i = 0; i < nrx; i++)
        desc(b, RXRING + 16 * i, OWN, (i == nrx - 1 ? R_RER : 0) | 1536u,
             RXBUF + 2048u * i, 0);
    memset(gp(b, TXRING), 0, 16 * 64);
    wr(b, 3, RXRING);
    wr(b, 4, TXRING);
    wr(b, 6, M_MBO | M_ST);
    setup_perfect(setup, addrs, 2);
    tb_setup(b, setup, 0);
    wr(b, 5, 0x0001ebefu);
    wr(b, 7, 0x0001ebefu);
    wr(b, 6, M_MBO | M_ST | M_SR);
    wr(b, 2, 0);
}

#endif /* TEST_TULIP_HARNESS_H */
