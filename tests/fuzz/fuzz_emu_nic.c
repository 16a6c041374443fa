/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_emu_nic.c — libFuzzer target for the emulated DEC 21140A
 * (vsp-net/tulip*.c) as a hostile guest drives it (TESTS.md A.9/A.10,
 * spec dec21140.md §13): CSR and PCI configuration accesses of any width
 * and offset, descriptor and buffer contents in a small guest memory,
 * frames from the switch, link changes, deferred transmit polls, and the
 * serial-ROM protocol.
 *
 * Input: byte 0 = flags (bit 0: start from a Linux-like bring-up — rings,
 * perfect filter, interrupts, SR|ST; bit 1: hostile guest re-arms OWN on
 * every 4-byte status write; bit 2: internal loopback; bit 3: PCI bus
 * mastering left off, which firmware and driver otherwise turn on with
 * I/O and memory decode before anything else), then records
 * {op u8, operands...} (operands read as 0 past the end):
 *   op % 10 = 0  CSR write: sel u8 (CSR sel & 15; sel >> 4 >= 12: raw byte
 *                offset u8 and width (sel & 3) + 1), value u32 (for
 *                CSR3/CSR4 with sel < 0x80 folded into guest memory)
 *            1  CSR read: sel u8 as above
 *            2  config write: off u8, width u8 % 5, value u32
 *            3  config read: off u8, width u8 % 5
 *            4  receive: len u16 % 1600, dst u8 % 4 (own, broadcast,
 *                01:00:5e:00:00:01, 6 input bytes), payload from input
 *            5  guest memory write: off u16, n u8, n input bytes
 *            6  descriptor: slot u8, flags u8, word1 u32, addr u16 x2
 *                (mostly inside guest memory, sometimes outside/MMIO)
 *            7  up to 4 vspn_tulip_poll() calls, then a TAP period
 *                passing (vspn_tulip_tap, a no-op without a period),
 *                then the CSR11 timer's period passing
 *                (vspn_tulip_gp_timer_expire, a no-op while stopped)
 *            8  link up/down: u8 & 1
 *            9  serial-ROM read of word u8 % 64 through CSR9, Linux way
 * Invariants (abort): every transmitted frame is 14..VSPN_TULIP_MAX_FRAME
 * bytes; the reported interrupt line equals (CSR5 & CSR7 & (NIS|AIS)) != 0
 * and NIS/AIS equal the OR of the enabled sources; pending work implies a
 * running transmitter; a TAP period implies a suspended transmitter;
 * the CSR11 timer has a period exactly while its count is not 0;
 * the DMA calls of one operation stay within the per-kick bound, and are
 * none while bus mastering was off; a receive's verdict agrees with
 * vspn_tulip_filter_pass; the SROM returns the configured MAC at words
 * 10-12; CSR8 reads zero right after a read.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vsp-net/tulip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define GBASE 0x1000u
#define GSIZE 0x4000u
#define MMIO 0xfebf0000u
#define OWN (1u << 31)
/* per operation: TX_BUDGET descriptor fetches, transmit and looped-back
 * receive ones together, + MAX_CHAIN for the frame in progress; each
 * fetched descriptor is 1 read + 2 buffers + close; the SROM/other ops do
 * no DMA */
#define DMA_BOUND                                                            \
    (4u * (VSPN_TULIP_TX_BUDGET + VSPN_TULIP_MAX_CHAIN) + 8u)

static const uint8_t mac[6] = { 0x00, 0x15, 0x5d, 0x77, 0x88, 0x99 };

struct in {
    const uint8_t *p;
    size_t n;
};

static uint8_t mem[GSIZE];
static bool rearm, irq_level;
static uint64_t dma_ops, sink;

static uint8_t g8(struct in *in)
{
    uint8_t v = 0;

    if (in->n) {
        v = *in->p++;
        in->n--;
    }
    return v;
}

static uint16_t g16(struct in *in)
{
    return (uint16_t)(g8(in) | (g8(in) << 8));
}

static uint32_t g32(struct in *in)
{
    return (uint32_t)g16(in) | ((uint32_t)g16(in) << 16);
}

static bool in_mem(uint64_t gpa, size_t len)
{
    return gpa >= GBASE && len <= GSIZE && gpa - GBASE <= GSIZE - len;
}

static int f_read(void *ctx, uint64_t gpa, void *buf, size_t len)
{
    (void)ctx;
    dma_ops++;
    if (!in_mem(gpa, len))
        return -EFAULT;
    memcpy(buf, mem + (gpa - GBASE), len);
    return 0;
}

static int f_write(void *ctx, uint64_t gpa, const void *buf, size_t len)
{
    (void)ctx;
    dma_ops++;
    if (!in_mem(gpa, len))
        return -EFAULT;
    memcpy(mem + (gpa - GBASE), buf, len);
    if (rearm && len == 4)
        mem[gpa - GBASE + 3] |= 0x80;
    return 0;
}

static void f_tx(void *ctx, const uint8_t *frame, uint32_t len)
{
    (void)ctx;
    if (len < 14 || len > VSPN_TULIP_MAX_FRAME)
        abort();
    sink += frame[0] + frame[len - 1];
}

static void f_irq(void *ctx, bool level)
{
    (void)ctx;
    irq_level = level;
}

static void put32(uint32_t at, uint32_t v)
{
    at %= GSIZE - 3;
    mem[at] = (uint8_t)v;
    mem[at + 1] = (uint8_t)(v >> 8);
    mem[at + 2] = (uint8_t)(v >> 16);
    mem[at + 3] = (uint8_t)(v >> 24);
}

static uint32_t addr_of(uint16_t x)
{
    switch (x >> 13) {
    case 7: return MMIO + (x & 0x7fu);
    case 6: return (x & 1u) ? 0xfffffff0u : (uint32_t)(x & 0xfffu);
    default: return GBASE + (x % GSIZE);
    }
}

static void wcsr(struct vspn_tulip *t, unsigned n, uint32_t v)
{
    vspn_tulip_csr_write(t, n * 8u, 4, v);
}

static uint32_t rcsr(struct vspn_tulip *t, unsigned n)
{
    return vspn_tulip_csr_read(t, n * 8u, 4);
}

/* Rings of 4 at 0x0/0x100 (offsets), buffers from 0x1000/0x3000, a
 * perfect-filter setup frame {own, broadcast}, Linux's CSR values. */
static void bring_up(struct vspn_tulip *t)
{
    const uint32_t rx = 0x0, tx = 0x100, setup = 0x200;

    for (unsigned i = 0; i < 4; i++) {
        put32(rx + 16 * i, OWN);
        put32(rx + 16 * i + 4, (i == 3 ? 1u << 25 : 0) | 1536u);
        put32(rx + 16 * i + 8, GBASE + 0x1000 + 0x600 * i);
        put32(rx + 16 * i + 12, 0);
        put32(tx + 16 * i + 4, i == 3 ? 1u << 25 : 0);
    }
    memset(mem + setup, 0xff, 192);
    for (unsigned k = 0; k < 3; k++) {
        mem[setup + 180 + 4 * k] = mac[2 * k];
        mem[setup + 180 + 4 * k + 1] = mac[2 * k + 1];
    }
    put32(tx, OWN);
    put32(tx + 4, (1u << 27) | 192u);
    put32(tx + 8, GBASE + setup);
    wcsr(t, 0, 1);
    wcsr(t, 0, 0x01a08000u);
    wcsr(t, 3, GBASE + rx);
    wcsr(t, 4, GBASE + tx);
    wcsr(t, 6, 0x02000000u | (1u << 13));
    wcsr(t, 5, 0x0001ebefu);
    wcsr(t, 7, 0x0001ebefu);
    wcsr(t, 6, 0x02000000u | (1u << 13) | (1u << 1));
    wcsr(t, 2, 0);
}

static uint16_t srom_word(struct vspn_tulip *t, unsigned loc)
{
    uint32_t retval = 0, cmd = loc | (6u << 6);

    wcsr(t, 9, 0x4800);
    wcsr(t, 9, 0x4801);
    for (int i = 10; i >= 0; i--) {
        uint32_t d = (cmd & (1u << i)) ? 4u : 0u;
        wcsr(t, 9, 0x4801 | d);
        wcsr(t, 9, 0x4803 | d);
        retval = (retval << 1) | ((rcsr(t, 9) >> 3) & 1u);
    }
    wcsr(t, 9, 0x4801);
    for (int i = 0; i < 16; i++) {
        wcsr(t, 9, 0x4803);
        retval = (retval << 1) | ((rcsr(t, 9) >> 3) & 1u);
        wcsr(t, 9, 0x4801);
    }
    wcsr(t, 9, 0x4800);
    return (uint16_t)retval;
}

static void check(struct vspn_tulip *t)
{
    uint32_t s = vspn_tulip_csr(t, 5), e = vspn_tulip_csr(t, 7);
    const uint32_t normal = 0x4045u, nis = 1u << 16, ais = 1u << 15;
    const uint32_t abnormal = 0x3fbau;

    if (irq_level != vspn_tulip_irq_asserted(t))
        abort();
    if (vspn_tulip_irq_asserted(t) != ((s & e & (nis | ais)) != 0))
        abort();
    if (!!(s & nis) != !!(s & e & normal) || !!(s & ais) != !!(s & e & abnormal))
        abort();
    if (vspn_tulip_pending(t) && strcmp(vspn_tulip_tx_state(t), "stopped") == 0)
        abort();
    if (!vspn_tulip_rx_state(t) || !vspn_tulip_tx_state(t))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct vspn_tulip_ops ops = {
        .dma = { .read = f_read, .write = f_write },
        .tx_frame = f_tx,
        .irq = f_irq,
    };
    struct vspn_tulip_config cfg = { .link_up = true };
    struct in in = { data, size };
    struct vspn_tulip *t;
    uint8_t flags = g8(&in), frame[1600];
    bool bm;
    struct vspn_tulip_stats prev;

    memcpy(cfg.mac.b, mac, 6);
    memset(mem, 0, sizeof(mem));
    rearm = false;
    irq_level = false;
    if (vspn_tulip_create(&cfg, &ops, NULL, &t) != 0)
        abort();
    vspn_tulip_cfg_write(t, 0x04, 2, (flags & 8u) ? 0x3u : 0x7u);
    if (flags & 1u)
        bring_up(t);
    if (flags & 4u)
        wcsr(t, 6, vspn_tulip_csr(t, 6) | (1u << 10));
    rearm = (flags & 2u) != 0;
    check(t);

    while (in.n) {
        uint8_t op = g8(&in), sel;
        uint32_t off, sz, v;

        dma_ops = 0;
        bm = (vspn_tulip_pci_command(t) & VSPN_TULIP_PCI_CMD_BM) != 0;
        prev = *vspn_tulip_stats(t);
        switch (op % 10) {
        case 0:
        case 1:
            sel = g8(&in);
            if ((sel >> 4) >= 12) {
                off = g8(&in);
                sz = (sel & 3u) + 1u;
            } else {
                off = (sel & 15u) * 8u;
                sz = 4;
            }
            if (op % 10 == 1) {
                v = vspn_tulip_csr_read(t, off, sz);
                if (off == 0x40 && sz == 4 && (vspn_tulip_csr(t, 8) & 0x1ffffu))
                    abort(); /* CSR8 cleared by the read */
                sink += v;
                break;
            }
            v = g32(&in);
            if ((off == 0x18 || off == 0x20) && sel < 0x80)
                v = GBASE + (v % GSIZE);
            vspn_tulip_csr_write(t, off, sz, v);
            break;
        case 2:
            off = g8(&in);
            sz = g8(&in) % 5u;
            vspn_tulip_cfg_write(t, off, sz, g32(&in));
            break;
        case 3:
            off = g8(&in);
            sz = g8(&in) % 5u;
            sink += vspn_tulip_cfg_read(t, off, sz);
            break;
        case 4: {
            uint32_t len = g16(&in) % 1600u;
            int rc;
            static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
            static const uint8_t mc[6] = { 0x01, 0x00, 0x5e, 0, 0, 1 };

            memset(frame, 0, sizeof(frame));
            switch (g8(&in) % 4u) {
            case 0: memcpy(frame, mac, 6); break;
            case 1: memcpy(frame, bcast, 6); break;
            case 2: memcpy(frame, mc, 6); break;
            default:
                for (int i = 0; i < 6; i++)
                    frame[i] = g8(&in);
                break;
            }
            for (uint32_t i = 6; i < len && in.n && i < 64; i++)
                frame[i] = g8(&in);
            rc = vspn_tulip_receive(t, frame, len);
            if (rc == 0 && !vspn_tulip_filter_pass(t, frame))
                abort();
            if (rc == -EPERM && vspn_tulip_filter_pass(t, frame))
                abort();
            break;
        }
        case 5: {
            uint32_t at = g16(&in) % GSIZE, n = g8(&in);

            for (uint32_t i = 0; i < n && at + i < GSIZE && in.n; i++)
                mem[at + i] = g8(&in);
            break;
        }
        case 6: {
            uint32_t at = (g8(&in) * 16u) % GSIZE, fl = g8(&in);

            put32(at, (fl & 1u) ? OWN : 0);
            put32(at + 4, g32(&in));
            put32(at + 8, addr_of(g16(&in)));
            put32(at + 12, addr_of(g16(&in)));
            break;
        }
        case 7: {
            unsigned n = 0;
            while (n++ < 4 && vspn_tulip_poll(t))
                ;
            if (vspn_tulip_tap_period_ns(t) != 0 &&
                strcmp(vspn_tulip_tx_state(t), "suspended") != 0)
                abort();
            vspn_tulip_tap(t);
            if ((vspn_tulip_gp_timer_ns(t, NULL, NULL) != 0) !=
                ((vspn_tulip_csr(t, 11) & 0xffffu) != 0))
                abort();
            vspn_tulip_gp_timer_expire(t);
            break;
        }
        case 8:
            vspn_tulip_set_link(t, (g8(&in) & 1u) != 0);
            break;
        default: {
            unsigned loc = g8(&in) % 64u;
            uint16_t w = srom_word(t, loc);

            if (loc >= 10 && loc <= 12 &&
                w != (uint16_t)(mac[2 * (loc - 10)] | mac[2 * (loc - 10) + 1] << 8))
                abort();
            break;
        }
        }
        if (dma_ops > ((op % 10 == 7) ? 5u * DMA_BOUND : DMA_BOUND))
            abort();
        if (!bm && dma_ops != 0)
            abort();
        {
            const struct vspn_tulip_stats *st = vspn_tulip_stats(t);
            if (st->tx_frames < prev.tx_frames || st->rx_frames < prev.rx_frames ||
                st->dma_errors < prev.dma_errors || st->irqs < prev.irqs)
                abort();
        }
        check(t);
    }
    vspn_tulip_destroy(t);
    return 0;
}
