/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_guest_tulip.c — objective: vesper-guest's legacy-NIC driver
 * (tools/vesper-guest/tulip_drv.h) drives the REAL emulated DEC 21140A
 * (vsp-net/tulip.h) correctly.  The driver's register ops call the model
 * in-process; the model's DMA goes to a real guest-memory region (hv_mem
 * over a buffer, the DMA area inside it); its interrupt line writes an
 * eventfd the test polls; transmitted frames are captured from the
 * model's tx_frame and frames are injected with vspn_tulip_receive:
 *  * probe: the PCI identity, the MAC read from the SROM through CSR9
 *    bit-banging (CRC checked), the MII PHY found and its link; a SROM read
 *    with one flipped bit is refused (-EBADMSG) and so are bad images
 *    given to the checker directly (new and legacy layouts, bad MAC);
 *  * open: interrupts enabled as Linux does, both processes running, the
 *    setup frame loaded (own MAC and broadcast pass, other unicast not);
 *  * address filter: a multicast group not joined is refused by the
 *    model, passes after joining (perfect filtering), 20 groups switch to
 *    hash filtering (all pass, a group whose hash bit is clear does not),
 *    all-multicast and promiscuous through CSR6, and back;
 *  * transmit: 1,000 frames of 60..1518 bytes arrive intact and in order,
 *    runts are padded by the device, the ring never loses a frame;
 *  * receive: 401 frames through the 128-entry ring (three wraps) intact
 *    and in order; a full ring gives RU, the service refills and resumes
 *    (CSR2) and counts the missed frames (CSR8);
 *  * interrupts: serviced until the line drops, none spurious;
 *  * poll mode (vg_tulip_poll, what `vesper-guest bench` uses): CSR7
 *    enables only the abnormal interrupts; 10,000 frames of 60..1518 bytes
 *    go out (one CSR1 per burst of 30) and back in through the receive
 *    ring, reaped and received from the OWN bits alone, intact and in
 *    order, with no interrupt raised and no register access but the
 *    transmit poll demands; a ring that runs dry (RU) raises the line, and
 *    the next poll refills, resumes with CSR2 and counts the missed frames;
 *    switching the mode while open rewrites CSR7;
 *  * link: the PHY's link (MII BMSR) follows the model's;
 *  * close/reopen and a fresh probe of the same device; a fatal bus error
 *    (DMA refused) is reported as -EIO and a close/open recovers;
 *  * hot removal: a detached device (all-ones) and one attached in its
 *    place (same id, link up, decoding off) are both found gone
 *    (vg_tulip_check_present, -ENXIO), the empty slot probes -ENOENT, and
 *    the new device comes up and carries traffic;
 *  * a transport that fails mid-probe makes probe fail with its error;
 *  * the agent end to end: a host thread runs hv/'s partition socket with
 *    the model behind IO traps and the irq eventfd (what vesperd does), the
 *    agent brings the legacy NIC up over the socket (TAP = socketpair), the
 *    TAP gets the SROM MAC, frames go both ways, the multicast list the
 *    interface reports reaches the device's filter, the host restarts and
 *    the agent reconnects and probes again, and a clean stop leaves the
 *    device with interrupts off and the receiver stopped (§9.5);
 *  * a synthetic and a legacy NIC in one agent (guest_host.h with its
 *    optional legacy device): both up, frames both ways on each;
 *  * `vesper-guest bench` with two legacy NICs (vg_bench_run) against a
 *    host with two 21140A models joined by a two-port wire: both come up
 *    in poll mode over the partition socket, frames flow from NIC0 to
 *    NIC1, the result line and the --interval-ms progress lines are
 *    well-formed and consistent, the trapped accesses the guest counts are
 *    the ones the host saw, and few per frame.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/vsa_time.h"
#include "guest_host.h"
#include "hv/hv_mem.h"
#include "hv/hv_part.h"
#include "tools/vesper-guest/bench.h"
#include "tools/vesper-guest/loop.h"
#include "tools/vesper-guest/mcast.h"
#include "tools/vesper-guest/tulip_drv.h"
#include "vsp-net/tulip.h"

#define RAM_GPA 0x00100000ull
#define RAM_SIZE (1u << 20)
#define CAP_MAX 1100u
#define CAP_BYTES 1536u

static const struct vsa_mac dev_mac = { { 0x00, 0x15, 0x5d, 0x11, 0x22,
                                          0x33 } };
static const struct vsa_mac peer_mac = { { 0x02, 0x00, 0x00, 0x00, 0x00,
                                           0x99 } };

struct cap {
    uint32_t len;
    uint8_t data[CAP_BYTES];
};

struct fx {
    uint8_t *ram;
    struct hv_mem *mem;
    struct vspn_tulip *dev;
    int irq_fd;
    struct vg_tulip *drv;
    struct cap *tx;
    unsigned ntx;
    struct cap *rx;
    unsigned nrx;
    unsigned link_calls;
    bool link;
    unsigned csr9_reads;
    unsigned corrupt_read; /* flip SDO on this CSR9 read (1-based); 0 none */
    long io_budget;        /* < 0: unlimited; accesses before failing */
    bool absent;           /* the device detached: reads all-ones, as
                            * vesperd answers for a device index with none */
    bool dma_refuse;
    unsigned irq_raised;
    /* poll test: received frames are checked against make_frame(rx_seq)
     * instead of being stored */
    bool rx_verify;
    unsigned rx_seq, rx_bad;
};

/* ---- the model's side ------------------------------------------------------- */

static int m_dma_read(void *ctx, uint64_t gpa, void *buf, size_t len)
{
    struct fx *f = ctx;

    return f->dma_refuse ? -EFAULT : hv_mem_read(f->mem, gpa, buf, len);
}

static int m_dma_write(void *ctx, uint64_t gpa, const void *buf, size_t len)
{
    struct fx *f = ctx;

    return f->dma_refuse ? -EFAULT : hv_mem_write(f->mem, gpa, buf, len);
}

static void m_tx(void *ctx, const uint8_t *frame, uint32_t len)
{
    struct fx *f = ctx;

    if (f->ntx < CAP_MAX && len <= CAP_BYTES) {
        f->tx[f->ntx].len = len;
        memcpy(f->tx[f->ntx].data, frame, len);
    }
    f->ntx++;
}

static void m_irq(void *ctx, bool asserted)
{
    struct fx *f = ctx;
    uint64_t one = 1;

    if (!asserted)
        return;
    f->irq_raised++;
    assert_int_equal(write(f->irq_fd, &one, sizeof(one)), sizeof(one));
}

static const struct vspn_tulip_ops model_ops = {
    .dma = { .read = m_dma_read, .write = m_dma_write },
    .tx_frame = m_tx,
    .irq = m_irq,
};

/* ---- the driver's side -------------------------------------------------------- */

static int io_check(struct fx *f)
{
    if (f->io_budget < 0)
        return 0;
    if (f->io_budget == 0)
        return -ECONNRESET;
    f->io_budget--;
    return 0;
}

static int d_cfg_read(void *ctx, uint32_t off, uint32_t size, uint32_t *val)
{
    struct fx *f = ctx;
    int rc = io_check(f);

    if (!rc)
        *val = f->absent ? ~0u : vspn_tulip_cfg_read(f->dev, off, size);
    return rc;
}

static int d_cfg_write(void *ctx, uint32_t off, uint32_t size, uint32_t val)
{
    struct fx *f = ctx;
    int rc = io_check(f);

    if (!rc && !f->absent)
        vspn_tulip_cfg_write(f->dev, off, size, val);
    return rc;
}

static int d_csr_read(void *ctx, uint32_t off, uint32_t *val)
{
    struct fx *f = ctx;
    int rc = io_check(f);

    if (rc)
        return rc;
    *val = f->absent ? ~0u : vspn_tulip_csr_read(f->dev, off, 4);
    if (off == 9 * 8 && ++f->csr9_reads == f->corrupt_read)
        *val ^= 0x8u; /* SDO */
    return 0;
}

static int d_csr_write(void *ctx, uint32_t off, uint32_t val)
{
    struct fx *f = ctx;
    int rc = io_check(f);

    if (!rc && !f->absent)
        vspn_tulip_csr_write(f->dev, off, 4, val);
    return rc;
}

static const struct vg_tulip_ops drv_ops = {
    .cfg_read = d_cfg_read,
    .cfg_write = d_cfg_write,
    .csr_read = d_csr_read,
    .csr_write = d_csr_write,
};

static size_t make_frame(uint8_t *b, unsigned i, const struct vsa_mac *dst,
                         const struct vsa_mac *src, size_t len);
static size_t frame_len(unsigned i);

static void s_rx(void *ctx, const uint8_t *frame, uint32_t len)
{
    struct fx *f = ctx;

    if (f->rx_verify) {
        uint8_t want[VG_TULIP_MAX_FRAME];
        size_t n = make_frame(want, f->rx_seq, &dev_mac, &peer_mac,
                              frame_len(f->rx_seq));

        if (len != n || memcmp(frame, want, n) != 0)
            f->rx_bad++;
        f->rx_seq++;
        f->nrx++;
        return;
    }
    if (f->nrx < CAP_MAX && len <= CAP_BYTES) {
        f->rx[f->nrx].len = len;
        memcpy(f->rx[f->nrx].data, frame, len);
    }
    f->nrx++;
}

static void s_link(void *ctx, bool up)
{
    struct fx *f = ctx;

    f->link_calls++;
    f->link = up;
}

static const struct vg_tulip_sink drv_sink = { .rx = s_rx, .link = s_link };

static int drv_new(struct fx *f, struct vg_tulip **out)
{
    struct vg_tulip_cfg c = {
        .ops = &drv_ops,
        .ops_ctx = f,
        .irq_fd = f->irq_fd,
        .mem = f->ram,
        .mem_gpa = RAM_GPA,
        .mem_size = RAM_SIZE,
        .sink = &drv_sink,
        .sink_ctx = f,
        .name = "test-tulip",
    };

    return vg_tulip_create(&c, out);
}

static struct fx *fx_new(void)
{
    struct fx *f = calloc(1, sizeof(*f));
    struct vspn_tulip_config mc = { .mac = dev_mac, .link_up = true };

    assert_non_null(f);
    f->io_budget = -1;
    assert_int_equal(posix_memalign((void **)&f->ram, 4096, RAM_SIZE), 0);
    memset(f->ram, 0xA5, RAM_SIZE); /* the driver must not rely on zeros */
    f->tx = calloc(CAP_MAX, sizeof(*f->tx));
    f->rx = calloc(CAP_MAX, sizeof(*f->rx));
    assert_non_null(f->tx);
    assert_non_null(f->rx);
    assert_int_equal(hv_mem_create(&f->mem), 0);
    assert_int_equal(hv_mem_add_buffer(f->mem, f->ram, RAM_GPA, RAM_SIZE), 0);
    f->irq_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    assert_true(f->irq_fd >= 0);
    assert_int_equal(vspn_tulip_create(&mc, &model_ops, f, &f->dev), 0);
    assert_int_equal(drv_new(f, &f->drv), 0);
    return f;
}

static void fx_free(struct fx *f)
{
    vg_tulip_destroy(f->drv);
    vspn_tulip_destroy(f->dev);
    hv_mem_put(f->mem);
    close(f->irq_fd);
    free(f->ram);
    free(f->tx);
    free(f->rx);
    free(f);
}

static bool irq_pending(struct fx *f)
{
    struct pollfd p = { .fd = f->irq_fd, .events = POLLIN };

    return poll(&p, 1, 0) == 1;
}

/* Services every pending interrupt; returns how many. */
static unsigned service(struct fx *f)
{
    unsigned n = 0;

    while (irq_pending(f)) {
        assert_int_equal(vg_tulip_service(f->drv), 0);
        assert_true(++n < 100);
    }
    assert_false(vspn_tulip_irq_asserted(f->dev));
    return n;
}

static void up(struct fx *f)
{
    assert_int_equal(vg_tulip_probe(f->drv), 0);
    assert_int_equal(vg_tulip_open(f->drv), 0);
    (void)service(f);
}

static uint64_t dstat(struct fx *f, unsigned id)
{
    return vg_tulip_stat(vg_tulip_stats(f->drv), id);
}

static size_t make_frame(uint8_t *b, unsigned i, const struct vsa_mac *dst,
                         const struct vsa_mac *src, size_t len)
{
    memcpy(b, dst->b, 6);
    memcpy(b + 6, src->b, 6);
    b[12] = 0x88;
    b[13] = 0xB5;
    b[14] = (uint8_t)(i >> 8);
    b[15] = (uint8_t)i;
    for (size_t k = 16; k < len; k++)
        b[k] = (uint8_t)(i * 13u + k * 7u);
    return len;
}

static size_t frame_len(unsigned i)
{
    return 60 + (i * 37u) % (VG_TULIP_MAX_FRAME - 60 + 1); /* 60..1518 */
}

/* ---- probe ---------------------------------------------------------------------- */

static void test_probe_reads_srom_mac(void **state)
{
    struct fx *f = fx_new();
    const struct vg_tulip_info *in;
    struct vsa_mac m;

    (void)state;
    assert_int_equal(vg_tulip_probe(f->drv), 0);
    in = vg_tulip_info(f->drv);
    m = vg_tulip_mac(f->drv);
    assert_memory_equal(m.b, dev_mac.b, 6);
    assert_true(in->revision >= 0x20); /* a 21140A */
    assert_int_equal(in->srom_addr_bits, 6);
    assert_false(in->srom_legacy);
    assert_true(in->mii);
    assert_int_equal(in->phy, 1);
    assert_int_equal(in->phy_id1, 0x7810);
    /* I/O decoding and bus mastering are on */
    assert_int_equal(vspn_tulip_cfg_read(f->dev, 4, 2) & 0x5, 0x5);
    fprintf(stderr, "probe: %llu trapped accesses\n",
            (unsigned long long)dstat(f, VG_TULIP_STATS_ID_traps));

    assert_int_equal(vg_tulip_open(f->drv), 0);
    assert_true(vg_tulip_is_open(f->drv));
    assert_int_equal(vspn_tulip_csr(f->dev, 7) & 0x1FFFFu, 0x0001EBEFu);
    assert_string_equal(vspn_tulip_rx_state(f->dev), "running");
    assert_int_not_equal(strcmp(vspn_tulip_tx_state(f->dev), "stopped"), 0);
    assert_int_equal(vspn_tulip_stats(f->dev)->tx_setup_frames, 1);
    assert_true(vspn_tulip_filter_pass(f->dev, dev_mac.b));
    assert_true(vspn_tulip_filter_pass(f->dev, (const uint8_t *)"\xff\xff\xff"
                                                               "\xff\xff\xff"));
    assert_false(vspn_tulip_filter_pass(f->dev, peer_mac.b));
    assert_true(vg_tulip_link_up(f->drv));
    assert_int_equal(f->link_calls, 1);
    assert_true(f->link);
    (void)service(f);
    assert_int_equal(dstat(f, VG_TULIP_STATS_ID_irqs_spurious), 0);
    fx_free(f);
}

static void test_probe_refuses_bad_srom(void **state)
{
    struct fx *f = fx_new();

    (void)state;
    /* The size probe samples 28 times, then 16 reads per word: read 100
     * is a data bit of word 4 (the CRC covers it). */
    f->corrupt_read = 100;
    assert_int_equal(vg_tulip_probe(f->drv), -EBADMSG);
    assert_int_equal(vg_tulip_open(f->drv), -EINVAL);
    /* the next read is clean: the device is fine, it was the read */
    f->corrupt_read = 0;
    assert_int_equal(vg_tulip_probe(f->drv), 0);
    fx_free(f);
}

static void put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void test_srom_check(void **state)
{
    uint8_t rom[VG_TULIP_SROM_BYTES];
    struct vsa_mac m;
    bool legacy;
    char err[128];
    uint32_t c;

    (void)state;
    /* new format: MAC at 20, CRC-32 low half of bytes 0..125 at 126 */
    memset(rom, 0, sizeof(rom));
    rom[18] = 4;
    rom[19] = 1;
    memcpy(rom + 20, dev_mac.b, 6);
    put16(rom + 126, vg_tulip_crc32(rom, 126) & 0xFFFFu);
    assert_int_equal(vg_tulip_srom_check(rom, &m, &legacy, err, sizeof(err)),
                     0);
    assert_false(legacy);
    assert_memory_equal(m.b, dev_mac.b, 6);
    rom[40] ^= 0x10;
    assert_int_equal(vg_tulip_srom_check(rom, &m, &legacy, err, sizeof(err)),
                     -EBADMSG);
    assert_non_null(strstr(err, "CRC"));
    /* a valid CRC over a multicast MAC */
    rom[40] ^= 0x10;
    rom[20] |= 1;
    put16(rom + 126, vg_tulip_crc32(rom, 126) & 0xFFFFu);
    assert_int_equal(vg_tulip_srom_check(rom, &m, &legacy, err, sizeof(err)),
                     -EBADMSG);
    /* no SROM at all reads all-ones */
    memset(rom, 0xFF, sizeof(rom));
    assert_int_equal(vg_tulip_srom_check(rom, &m, &legacy, err, sizeof(err)),
                     -EBADMSG);
    /* legacy layout: MAC at 0, folded checksum at 6, 0..7 == 16..23 */
    memset(rom, 0, sizeof(rom));
    memcpy(rom, "\x08\x00\x2b\x12\x34\x56", 6);
    c = (uint32_t)(rom[0] | rom[1] << 8) * 2;
    c = c > 65535 ? c - 65535 : c;
    c += (uint32_t)(rom[2] | rom[3] << 8);
    c = c > 65535 ? c - 65535 : c;
    c *= 2;
    c = c > 65535 ? c - 65535 : c;
    c += (uint32_t)(rom[4] | rom[5] << 8);
    c = c >= 65535 ? c - 65535 : c;
    put16(rom + 6, c);
    memcpy(rom + 16, rom, 8);
    assert_int_equal(vg_tulip_srom_check(rom, &m, &legacy, err, sizeof(err)),
                     0);
    assert_true(legacy);
    assert_memory_equal(m.b, "\x08\x00\x2b\x12\x34\x56", 6);
    rom[6] ^= 1;
    rom[22] ^= 1;
    assert_int_equal(vg_tulip_srom_check(rom, &m, &legacy, err, sizeof(err)),
                     -EBADMSG);
    assert_non_null(strstr(err, "legacy"));
}

static void test_io_error_fails_probe(void **state)
{
    struct fx *f = fx_new();

    (void)state;
    f->io_budget = 700; /* in the middle of the SROM read */
    assert_int_equal(vg_tulip_probe(f->drv), -ECONNRESET);
    assert_int_equal(vg_tulip_open(f->drv), -ECONNRESET);
    fx_free(f);
}

/* ---- filter ----------------------------------------------------------------------- */

static int rx_inject(struct fx *f, unsigned i, const struct vsa_mac *dst,
                     size_t len)
{
    uint8_t b[VG_TULIP_MAX_FRAME];

    make_frame(b, i, dst, &peer_mac, len);
    return vspn_tulip_receive(f->dev, b, (uint32_t)len);
}

static void set_mode(struct fx *f, struct vg_tulip_rx_mode *m)
{
    assert_int_equal(vg_tulip_set_rx_mode(f->drv, m), 0);
    assert_false(vg_tulip_setup_pending(f->drv));
    (void)service(f);
}

static void test_hash_vectors(void **state)
{
    static const struct vsa_mac b = { { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } };
    static const struct vsa_mac v4 = { { 0x01, 0x00, 0x5e, 0, 0, 1 } };
    static const struct vsa_mac v6 = { { 0x33, 0x33, 0, 0, 0, 1 } };

    (void)state;
    /* spec §5, verified with Python there */
    assert_int_equal(vg_tulip_hash_bit(&b), 255);
    assert_int_equal(vg_tulip_hash_bit(&v4), 510);
    assert_int_equal(vg_tulip_hash_bit(&v6), 415);
    assert_int_equal(vg_tulip_crc32((const uint8_t *)"123456789", 9),
                     0xCBF43926u);
}

static void test_setup_frame_filters(void **state)
{
    struct fx *f = fx_new();
    struct vg_tulip_rx_mode *m = calloc(1, sizeof(*m));
    struct vsa_mac g = { { 0x01, 0x00, 0x5e, 0x01, 0x02, 0x03 } }, other;
    bool used[512] = { false };
    uint64_t setups;

    (void)state;
    assert_non_null(m);
    up(f);
    /* not joined: the device's filter refuses it */
    assert_false(vspn_tulip_filter_pass(f->dev, g.b));
    assert_int_equal(rx_inject(f, 1, &g, 100), -EPERM);
    setups = vspn_tulip_stats(f->dev)->tx_setup_frames;

    /* joined: perfect filtering */
    m->nmc = 1;
    m->mc[0] = g;
    set_mode(f, m);
    assert_int_equal(vspn_tulip_stats(f->dev)->tx_setup_frames, setups + 1);
    assert_int_equal(vspn_tulip_csr(f->dev, 6) & 0x5u, 0); /* not HP/HO */
    assert_true(vspn_tulip_filter_pass(f->dev, g.b));
    assert_true(vspn_tulip_filter_pass(f->dev, dev_mac.b));
    assert_int_equal(rx_inject(f, 2, &g, 100), 0);
    (void)service(f);
    assert_int_equal(f->nrx, 1);
    assert_memory_equal(f->rx[0].data, g.b, 6);
    /* the same list again: no new setup frame */
    set_mode(f, m);
    assert_int_equal(vspn_tulip_stats(f->dev)->tx_setup_frames, setups + 1);

    /* 14 groups still perfect, 20 are hashed */
    m->nmc = 20;
    for (unsigned i = 0; i < 20; i++) {
        m->mc[i] = (struct vsa_mac){ { 0x01, 0x00, 0x5e, 0x10, 0x00,
                                       (uint8_t)i } };
        used[vg_tulip_hash_bit(&m->mc[i])] = true;
    }
    used[255] = true;
    set_mode(f, m);
    assert_int_equal(vspn_tulip_csr(f->dev, 6) & 0x5u, 0x1u); /* HP */
    for (unsigned i = 0; i < 20; i++)
        assert_true(vspn_tulip_filter_pass(f->dev, m->mc[i].b));
    assert_true(vspn_tulip_filter_pass(f->dev, dev_mac.b));
    assert_true(vspn_tulip_filter_pass(f->dev, (const uint8_t *)"\xff\xff"
                                                "\xff\xff\xff\xff"));
    assert_false(vspn_tulip_filter_pass(f->dev, peer_mac.b));
    /* a group whose hash bit nobody set */
    other = (struct vsa_mac){ { 0x01, 0x00, 0x5e, 0x7f, 0x00, 0x00 } };
    while (used[vg_tulip_hash_bit(&other)])
        other.b[5]++;
    assert_false(vspn_tulip_filter_pass(f->dev, other.b));
    assert_int_equal(rx_inject(f, 3, &other, 80), -EPERM);

    /* all-multicast: CSR6 PM */
    m->allmulti = true;
    set_mode(f, m);
    assert_int_equal(vspn_tulip_csr(f->dev, 6) & 0xC0u, 0x80u);
    assert_true(vspn_tulip_filter_pass(f->dev, other.b));
    assert_false(vspn_tulip_filter_pass(f->dev, peer_mac.b));
    /* promiscuous: CSR6 PR|PM */
    m->promisc = true;
    set_mode(f, m);
    assert_int_equal(vspn_tulip_csr(f->dev, 6) & 0xC0u, 0xC0u);
    assert_true(vspn_tulip_filter_pass(f->dev, peer_mac.b));
    assert_int_equal(rx_inject(f, 4, &peer_mac, 70), 0);
    /* back to one group, perfect: the others are refused again */
    m->promisc = m->allmulti = false;
    m->nmc = 1;
    m->mc[0] = g;
    set_mode(f, m);
    assert_int_equal(vspn_tulip_csr(f->dev, 6) & 0xC5u, 0);
    assert_false(vspn_tulip_filter_pass(f->dev, other.b));
    assert_false(vspn_tulip_filter_pass(f->dev, peer_mac.b));
    assert_true(vspn_tulip_filter_pass(f->dev, g.b));
    /* more groups than VG_TULIP_MC_MAX: all-multicast */
    m->nmc = VG_TULIP_MC_MAX + 1;
    set_mode(f, m);
    assert_int_equal(vspn_tulip_csr(f->dev, 6) & 0xC0u, 0x80u);
    /* left: none; the setup frame then holds only our MAC and broadcast */
    m->nmc = 0;
    set_mode(f, m);
    assert_false(vspn_tulip_filter_pass(f->dev, g.b));
    assert_true(vspn_tulip_filter_pass(f->dev, dev_mac.b));
    assert_int_equal(dstat(f, VG_TULIP_STATS_ID_tx_errors), 0);
    assert_int_equal(vspn_tulip_stats(f->dev)->tx_dropped, 0);
    free(m);
    fx_free(f);
}

/* A filter change while the ring is nearly full waits for room and goes
 * out after the next reclaim. */
static void test_setup_frame_waits_for_room(void **state)
{
    struct fx *f = fx_new();
    struct vg_tulip_rx_mode *m = calloc(1, sizeof(*m));
    uint8_t b[200];
    unsigned sent = 0;

    (void)state;
    assert_non_null(m);
    up(f);
    /* stop the transmit process so nothing completes, fill the ring */
    vspn_tulip_csr_write(f->dev, 6 * 8, 4,
                         vspn_tulip_csr(f->dev, 6) & ~(1u << 13));
    while (vg_tulip_send(f->drv, b, make_frame(b, sent, &peer_mac, &dev_mac,
                                               sizeof(b))) == 0)
        sent++;
    assert_int_equal(sent, VG_TULIP_TX_RING - 2); /* 2 kept for setup */
    m->nmc = 1;
    m->mc[0] = (struct vsa_mac){ { 0x01, 0x00, 0x5e, 0x05, 0x06, 0x07 } };
    /* 2 descriptors are kept for exactly this */
    assert_int_equal(vg_tulip_set_rx_mode(f->drv, m), 0);
    assert_false(vg_tulip_setup_pending(f->drv));
    m->mc[0].b[5] = 8; /* and another change: no room left now */
    assert_int_equal(vg_tulip_set_rx_mode(f->drv, m), 0);
    assert_true(vg_tulip_setup_pending(f->drv));
    /* restart transmit: everything completes, the pending frame goes */
    vspn_tulip_csr_write(f->dev, 6 * 8, 4,
                         vspn_tulip_csr(f->dev, 6) | (1u << 13));
    (void)service(f);
    assert_int_equal(vg_tulip_flush(f->drv), 0);
    (void)service(f);
    assert_false(vg_tulip_setup_pending(f->drv));
    assert_true(vspn_tulip_filter_pass(f->dev, m->mc[0].b));
    assert_int_equal(f->ntx, sent);
    free(m);
    fx_free(f);
}

/* ---- transmit --------------------------------------------------------------------- */

/* The device sent exactly frames 0..n-1 of make_frame, in order. */
static void expect_sent(struct fx *f, unsigned n)
{
    uint8_t b[VG_TULIP_MAX_FRAME];

    assert_int_equal(f->ntx, n);
    for (unsigned i = 0; i < n; i++) {
        size_t len = make_frame(b, i, &peer_mac, &dev_mac, frame_len(i));

        assert_int_equal(f->tx[i].len, len);
        assert_memory_equal(f->tx[i].data, b, len);
    }
}

static void test_tx_1000_frames(void **state)
{
    struct fx *f = fx_new();
    uint8_t b[VG_TULIP_MAX_FRAME];
    unsigned irqs = 0, deferred = 0;
    uint64_t traps0;

    (void)state;
    up(f);
    traps0 = dstat(f, VG_TULIP_STATS_ID_traps_data);
    for (unsigned i = 0; i < 1000; i++) {
        size_t len = make_frame(b, i, &peer_mac, &dev_mac, frame_len(i));
        int rc;

        while ((rc = vg_tulip_send(f->drv, b, len)) == -EAGAIN) {
            deferred++;
            irqs += service(f);
            assert_true(deferred < 1000);
        }
        assert_int_equal(rc, 0);
        if (i % 16 == 15) { /* a TAP batch */
            assert_int_equal(vg_tulip_flush(f->drv), 0);
            irqs += service(f);
        }
    }
    assert_int_equal(vg_tulip_flush(f->drv), 0);
    irqs += service(f);
    expect_sent(f, 1000);
    assert_int_equal(dstat(f, VG_TULIP_STATS_ID_tx_frames), 1000);
    assert_int_equal(dstat(f, VG_TULIP_STATS_ID_tx_errors), 0);
    assert_int_equal(vspn_tulip_stats(f->dev)->tx_dropped, 0);
    assert_true(irqs > 0);
    assert_int_equal(dstat(f, VG_TULIP_STATS_ID_irqs_spurious), 0);
    fprintf(stderr, "tx: %u interrupts, %u deferred, %.2f traps/frame\n", irqs,
            deferred,
            (double)(dstat(f, VG_TULIP_STATS_ID_traps_data) - traps0) / 1000.0);

    /* a runt is padded to 60 bytes by the device; oversize is refused */
    make_frame(b, 7, &peer_mac, &dev_mac, 20);
    assert_int_equal(vg_tulip_send(f->drv, b, 20), 0);
    assert_int_equal(vg_tulip_flush(f->drv), 0);
    (void)service(f);
    assert_int_equal(f->ntx, 1001);
    assert_int_equal(f->tx[1000].len, 60);
    assert_memory_equal(f->tx[1000].data, b, 20);
    assert_int_equal(vg_tulip_send(f->drv, b, 13), -EMSGSIZE);
    assert_int_equal(vg_tulip_send(f->drv, b, VG_TULIP_MAX_FRAME + 1),
                     -EMSGSIZE);
    fx_free(f);
}

/* Transmit automatic polling: with TAP 1 the driver opens with CSR0 TAP
 * set and TU masked, never writes CSR1, and its frames leave when the
 * model's TAP period passes (the test plays the glue's timer); setting it
 * while open is refused, codes above 7 too. */
static void test_tx_autopoll(void **state)
{
    struct fx *f = fx_new();
    uint8_t b[VG_TULIP_MAX_FRAME];
    unsigned sent = 0, deferred = 0;

    (void)state;
    assert_int_equal(vg_tulip_set_tx_autopoll(f->drv, 8), -EINVAL);
    assert_int_equal(vg_tulip_set_tx_autopoll(f->drv, 1), 0);
    up(f);
    assert_int_equal(vspn_tulip_csr(f->dev, 0) >> 17 & 7u, 1);
    assert_int_equal(vspn_tulip_csr(f->dev, 7) & (1u << 2), 0); /* no TU */
    assert_int_equal(vspn_tulip_tap_period_ns(f->dev), 200000);
    assert_int_equal(vg_tulip_set_tx_autopoll(f->drv, 0), -EBUSY);
    assert_int_equal(f->ntx, 0); /* the setup frame went at open (ST) */

    /* 300 frames, more than the ring: the driver waits for TI when full */
    while (sent < 300) {
        size_t len = make_frame(b, sent, &peer_mac, &dev_mac,
                                frame_len(sent));
        int rc = vg_tulip_send(f->drv, b, len);

        if (rc == -EAGAIN) {
            vspn_tulip_tap(f->dev); /* the period passed */
            (void)service(f);
            assert_true(++deferred < 1000);
            continue;
        }
        assert_int_equal(rc, 0);
        assert_int_equal(vg_tulip_flush(f->drv), 0);
        sent++;
    }
    assert_true(f->ntx < 300); /* nothing leaves without a poll */
    vspn_tulip_tap(f->dev);
    (void)service(f);
    expect_sent(f, 300);
    assert_int_equal(dstat(f, VG_TULIP_STATS_ID_tx_polls), 0);
    assert_true(vspn_tulip_stats(f->dev)->tap_polls >= 2);
    assert_int_equal(dstat(f, VG_TULIP_STATS_ID_irqs_spurious), 0);
    /* still up after close and open with TAP, and off again if asked */
    vg_tulip_close(f->drv, true);
    (void)service(f);
    assert_int_equal(vg_tulip_set_tx_autopoll(f->drv, 0), 0);
    assert_int_equal(vg_tulip_open(f->drv), 0);
    (void)service(f);
    assert_int_equal(vspn_tulip_csr(f->dev, 0) >> 17 & 7u, 0);
    assert_int_equal(vspn_tulip_tap_period_ns(f->dev), 0);
    make_frame(b, 0, &peer_mac, &dev_mac, 60);
    assert_int_equal(vg_tulip_send(f->drv, b, 60), 0);
    assert_int_equal(vg_tulip_flush(f->drv), 0);
    assert_int_equal(f->ntx, 301);
    assert_int_equal(dstat(f, VG_TULIP_STATS_ID_tx_polls), 1);
    fx_free(f);
}

/* ---- receive ---------------------------------------------------------------------- */

static void test_rx_ring_wrap(void **state)
{
    struct fx *f = fx_new();
    const unsigned total = 3 * VG_TULIP_RX_RING + 17;
    uint8_t b[VG_TULIP_MAX_FRAME];
    unsigned irqs = 0;

    (void)state;
    up(f);
    for (unsigned i = 0; i < total; i++) {
        assert_int_equal(rx_inject(f, i, &dev_mac, frame_len(i)), 0);
        if (i % 50 == 49)
            irqs += service(f);
    }
    irqs += service(f);
    assert_int_equal(f->nrx, total);
    for (unsigned i = 0; i < total; i++) {
        size_t len = make_frame(b, i, &dev_mac, &peer_mac, frame_len(i));

        assert_int_equal(f->rx[i].len, len);
        assert_memory_equal(f->rx[i].data, b, len);
    }
    assert_int_equal(dstat(f, VG_TULIP_STATS_ID_rx_frames), total);
    assert_int_equal(dstat(f, VG_TULIP_STATS_ID_rx_errors), 0);
    assert_true(irqs >= total / 50);

    /* Ring full: the device misses frames and suspends (RU); the service
     * refills, resumes with CSR2 and reads the missed count (CSR8). */
    f->nrx = 0;
    for (unsigned i = 0; i < VG_TULIP_RX_RING; i++)
        assert_int_equal(rx_inject(f, i, &dev_mac, 64), 0);
    assert_int_equal(rx_inject(f, 900, &dev_mac, 64), -EAGAIN);
    assert_int_equal(rx_inject(f, 901, &dev_mac, 64), -EAGAIN);
    assert_string_equal(vspn_tulip_rx_state(f->dev), "suspended");
    (void)service(f);
    assert_int_equal(f->nrx, VG_TULIP_RX_RING);
    assert_int_equal(dstat(f, VG_TULIP_STATS_ID_rx_unavailable), 1);
    assert_int_equal(dstat(f, VG_TULIP_STATS_ID_rx_missed), 2);
    assert_true(dstat(f, VG_TULIP_STATS_ID_rx_polls) >= 1);
    assert_string_equal(vspn_tulip_rx_state(f->dev), "running");
    assert_int_equal(rx_inject(f, 902, &dev_mac, 64), 0);
    (void)service(f);
    assert_int_equal(f->nrx, VG_TULIP_RX_RING + 1);
    /* a runt from the wire arrives padded (the device's job) */
    assert_int_equal(rx_inject(f, 903, &dev_mac, 20), 0);
    (void)service(f);
    assert_int_equal(f->rx[VG_TULIP_RX_RING + 1].len, 60);
    fx_free(f);
}

/* ---- poll mode -------------------------------------------------------------------- */

#define IRQ_MASK_INTR 0x0001EBEFu
#define IRQ_MASK_POLL 0x0000ABAAu /* IRQ_MASK without TI, TU, RI, ERI, NIS */

/* Polls until `want` frames arrived (bounded). */
static void poll_until(struct fx *f, unsigned want)
{
    for (unsigned k = 0; f->nrx < want; k++) {
        assert_true(vg_tulip_poll(f->drv) >= 0);
        assert_true(k < 1000);
    }
}

/* One frame each way, by polling only. */
static void traffic_ok_poll(struct fx *f, unsigned tag)
{
    uint8_t b[300];
    unsigned ntx = f->ntx, nrx = f->nrx;

    make_frame(b, tag, &peer_mac, &dev_mac, sizeof(b));
    assert_int_equal(vg_tulip_send(f->drv, b, sizeof(b)), 0);
    assert_int_equal(vg_tulip_flush(f->drv), 0);
    assert_int_equal(f->ntx, ntx + 1);
    assert_memory_equal(f->tx[ntx].data, b, sizeof(b));
    assert_int_equal(rx_inject(f, tag, &dev_mac, 200), 0);
    assert_int_equal(vg_tulip_poll(f->drv), 1);
    assert_int_equal(f->nrx, nrx + 1);
    assert_int_equal(f->rx[nrx].len, 200);
    assert_false(irq_pending(f));
}

static void test_poll_mode_10000_frames(void **state)
{
    struct fx *f = fx_new();
    const unsigned total = 10000, burst = VG_TULIP_TX_RING - 2;
    uint8_t b[VG_TULIP_MAX_FRAME];
    uint64_t traps0, polls0, rounds = 0;
    unsigned sent = 0;

    (void)state;
    /* set before open: open itself writes the poll mask, no extra access */
    assert_int_equal(vg_tulip_set_poll_mode(f->drv, true), 0);
    assert_true(vg_tulip_poll_mode(f->drv));
    assert_int_equal(vg_tulip_probe(f->drv), 0);
    assert_int_equal(vg_tulip_open(f->drv), 0);
    assert_int_equal(vspn_tulip_csr(f->dev, 7) & 0x1FFFFu, IRQ_MASK_POLL);
    /* what open left (the setup frame) is reaped by polls, no interrupt */
    assert_int_equal(vg_tulip_poll(f->drv), 0);
    assert_false(irq_pending(f));
    f->irq_raised = 0;
    f->rx_verify = true;
    traps0 = dstat(f, VG_TULIP_STATS_ID_traps_data);
    polls0 = dstat(f, VG_TULIP_STATS_ID_tx_polls);

    /* The wire loops every transmitted frame back into the receiver:
     * frame i goes out to dev_mac ... */
    while (sent < total) {
        unsigned n = 0;

        f->ntx = 0;
        while (n < burst && sent < total) {
            size_t len = make_frame(b, sent, &dev_mac, &peer_mac,
                                    frame_len(sent));

            assert_int_equal(vg_tulip_send(f->drv, b, len), 0);
            n++;
            sent++;
        }
        assert_int_equal(vg_tulip_flush(f->drv), 0); /* one CSR1 */
        rounds++;
        /* the device sent them during the poll demand ... */
        assert_int_equal(f->ntx, n);
        /* ... and they come back in; the poll finds them by OWN */
        for (unsigned i = 0; i < n; i++)
            assert_int_equal(vspn_tulip_receive(f->dev, f->tx[i].data,
                                                f->tx[i].len), 0);
        poll_until(f, sent);
    }
    assert_int_equal(f->nrx, total);
    assert_int_equal(f->rx_bad, 0);
    assert_int_equal(dstat(f, VG_TULIP_STATS_ID_tx_frames), total);
    assert_int_equal(dstat(f, VG_TULIP_STATS_ID_rx_frames), total);
    assert_int_equal(dstat(f, VG_TULIP_STATS_ID_tx_errors), 0);
    assert_int_equal(dstat(f, VG_TULIP_STATS_ID_rx_errors), 0);
    assert_int_equal(dstat(f, VG_TULIP_STATS_ID_tx_ring_full), 0);
    assert_int_equal(vspn_tulip_stats(f->dev)->tx_dropped, 0);
    assert_int_equal(vspn_tulip_stats(f->dev)->rx_missed, 0);
    /* no interrupt at all, and the only accesses were the poll demands */
    assert_int_equal(f->irq_raised, 0);
    assert_false(irq_pending(f));
    assert_false(vspn_tulip_irq_asserted(f->dev));
    assert_int_equal(dstat(f, VG_TULIP_STATS_ID_irqs), 0);
    assert_int_equal(dstat(f, VG_TULIP_STATS_ID_rx_polls), 0);
    assert_int_equal(dstat(f, VG_TULIP_STATS_ID_tx_polls) - polls0, rounds);
    assert_int_equal(dstat(f, VG_TULIP_STATS_ID_traps_data) - traps0, rounds);
    fprintf(stderr, "poll mode: %u frames, %llu trapped accesses (%.4f per "
            "frame)\n", total, (unsigned long long)rounds,
            (double)rounds / total);

    /* The ring runs dry: the device misses two frames and suspends; RU is
     * abnormal, so the line rises even in poll mode, and the next poll
     * receives the ring, refills, resumes with CSR2 and reads CSR8. */
    f->rx_verify = false;
    f->nrx = 0;
    for (unsigned i = 0; i < VG_TULIP_RX_RING; i++)
        assert_int_equal(rx_inject(f, i, &dev_mac, 64), 0);
    assert_false(irq_pending(f)); /* RI alone: masked */
    assert_int_equal(rx_inject(f, 900, &dev_mac, 64), -EAGAIN);
    assert_int_equal(rx_inject(f, 901, &dev_mac, 64), -EAGAIN);
    assert_string_equal(vspn_tulip_rx_state(f->dev), "suspended");
    assert_true(irq_pending(f));
    assert_int_equal(vg_tulip_poll(f->drv), VG_TULIP_RX_RING);
    assert_false(irq_pending(f));
    assert_false(vspn_tulip_irq_asserted(f->dev));
    assert_string_equal(vspn_tulip_rx_state(f->dev), "running");
    assert_int_equal(dstat(f, VG_TULIP_STATS_ID_rx_unavailable), 1);
    assert_int_equal(dstat(f, VG_TULIP_STATS_ID_rx_missed), 2);
    assert_int_equal(dstat(f, VG_TULIP_STATS_ID_rx_polls), 1);
    assert_int_equal(dstat(f, VG_TULIP_STATS_ID_irqs), 1);
    assert_int_equal(dstat(f, VG_TULIP_STATS_ID_irqs_spurious), 0);
    assert_int_equal(rx_inject(f, 902, &dev_mac, 64), 0);
    assert_int_equal(vg_tulip_poll(f->drv), 1);
    assert_int_equal(f->nrx, VG_TULIP_RX_RING + 1);
    assert_memory_equal(f->rx[VG_TULIP_RX_RING].data + 14, "\x03\x86", 2);

    /* back to interrupts while open: one CSR7 write; RI interrupts again */
    traps0 = dstat(f, VG_TULIP_STATS_ID_traps);
    assert_int_equal(vg_tulip_set_poll_mode(f->drv, false), 0);
    assert_int_equal(dstat(f, VG_TULIP_STATS_ID_traps) - traps0, 1);
    assert_int_equal(vspn_tulip_csr(f->dev, 7) & 0x1FFFFu, IRQ_MASK_INTR);
    assert_int_equal(vg_tulip_set_poll_mode(f->drv, false), 0); /* no-op */
    assert_int_equal(dstat(f, VG_TULIP_STATS_ID_traps) - traps0, 1);
    assert_int_equal(rx_inject(f, 903, &dev_mac, 64), 0);
    assert_true(irq_pending(f));
    (void)service(f);
    assert_int_equal(f->nrx, VG_TULIP_RX_RING + 2);
    /* and the mode survives close/open */
    assert_int_equal(vg_tulip_set_poll_mode(f->drv, true), 0);
    vg_tulip_close(f->drv, true);
    assert_int_equal(vg_tulip_open(f->drv), 0);
    assert_int_equal(vspn_tulip_csr(f->dev, 7) & 0x1FFFFu, IRQ_MASK_POLL);
    (void)vg_tulip_poll(f->drv);
    traffic_ok_poll(f, 5);
    fx_free(f);
}

/* ---- link, close/reopen, bus error ------------------------------------------------ */

static void test_link_follows_phy(void **state)
{
    struct fx *f = fx_new();

    (void)state;
    up(f);
    assert_true(f->link);
    vspn_tulip_set_link(f->dev, false);
    (void)service(f);
    assert_int_equal(vg_tulip_check_link(f->drv), 0);
    assert_false(vg_tulip_link_up(f->drv));
    assert_false(f->link);
    assert_int_equal(f->link_calls, 2);
    vspn_tulip_set_link(f->dev, true);
    (void)service(f);
    assert_int_equal(vg_tulip_check_link(f->drv), 0);
    assert_true(vg_tulip_link_up(f->drv));
    assert_int_equal(f->link_calls, 3);
    assert_int_equal(vg_tulip_check_link(f->drv), 0); /* no change: no call */
    assert_int_equal(f->link_calls, 3);
    assert_int_equal(dstat(f, VG_TULIP_STATS_ID_link_changes), 2);
    fx_free(f);
}

static void traffic_ok(struct fx *f, unsigned tag)
{
    uint8_t b[300];
    unsigned ntx = f->ntx, nrx = f->nrx;

    make_frame(b, tag, &peer_mac, &dev_mac, sizeof(b));
    assert_int_equal(vg_tulip_send(f->drv, b, sizeof(b)), 0);
    assert_int_equal(vg_tulip_flush(f->drv), 0);
    assert_int_equal(rx_inject(f, tag, &dev_mac, 200), 0);
    (void)service(f);
    assert_int_equal(f->ntx, ntx + 1);
    assert_memory_equal(f->tx[ntx].data, b, sizeof(b));
    assert_int_equal(f->nrx, nrx + 1);
    assert_int_equal(f->rx[nrx].len, 200);
}

static void test_close_reopen(void **state)
{
    struct fx *f = fx_new();
    struct vg_tulip *second;

    (void)state;
    up(f);
    traffic_ok(f, 1);
    vg_tulip_close(f->drv, true);
    assert_false(vg_tulip_is_open(f->drv));
    assert_int_equal(vspn_tulip_csr(f->dev, 7) & 0x1FFFFu, 0);
    assert_string_equal(vspn_tulip_rx_state(f->dev), "stopped");
    assert_string_equal(vspn_tulip_tx_state(f->dev), "stopped");
    assert_int_equal(rx_inject(f, 2, &dev_mac, 100), -ENETDOWN);
    assert_int_equal(vg_tulip_send(f->drv, "x", 1), -ENOTCONN);
    (void)service(f);

    /* open again (reset inside), then a fresh driver on the same device,
     * as after a reconnect */
    assert_int_equal(vg_tulip_open(f->drv), 0);
    (void)service(f);
    traffic_ok(f, 3);
    vg_tulip_close(f->drv, true);
    assert_int_equal(drv_new(f, &second), 0);
    vg_tulip_destroy(f->drv);
    f->drv = second;
    up(f);
    traffic_ok(f, 4);
    assert_true(vspn_tulip_stats(f->dev)->resets >= 3);
    fx_free(f);
}

/* A PCI hot removal, and a device attached in the removed one's place
 * (vesperd's `vm nic del` / `vm nic add` while the guest runs): neither
 * raises an interrupt, so the driver asks (vg_tulip_check_present, with
 * every link poll); a device it finds gone or replaced is closed without
 * I/O and probed again. */
static void test_device_removed_or_replaced(void **state)
{
    struct fx *f = fx_new();
    struct vspn_tulip_config mc = { .mac = dev_mac, .link_up = true };
    struct vg_tulip *fresh;

    (void)state;
    assert_int_equal(vg_tulip_check_present(f->drv), -EINVAL); /* unprobed */
    up(f);
    assert_int_equal(vg_tulip_check_present(f->drv), 0);
    traffic_ok(f, 1);

    /* removed: configuration space reads all-ones, and so does CSR5 when
     * an interrupt was still pending (not a fatal bus error) */
    f->absent = true;
    assert_int_equal(vg_tulip_check_present(f->drv), -ENXIO);
    assert_int_equal(vg_tulip_service(f->drv), -ENXIO);
    assert_int_equal(dstat(f, VG_TULIP_STATS_ID_bus_errors), 0);
    /* probing the empty slot finds nothing */
    vg_tulip_close(f->drv, false);
    assert_int_equal(drv_new(f, &fresh), 0);
    vg_tulip_destroy(f->drv);
    f->drv = fresh;
    assert_int_equal(vg_tulip_probe(f->drv), -ENOENT);
    f->absent = false;
    up(f);
    assert_int_equal(vg_tulip_check_present(f->drv), 0);

    /* replaced: a new device (reset, decoding and bus mastering off)
     * answers with the same id, and its PHY with the link up: the link
     * poll alone would not notice */
    vspn_tulip_destroy(f->dev);
    assert_int_equal(vspn_tulip_create(&mc, &model_ops, f, &f->dev), 0);
    assert_int_equal(vg_tulip_check_link(f->drv), 0);
    assert_true(vg_tulip_link_up(f->drv));
    assert_int_equal(vg_tulip_check_present(f->drv), -ENXIO);
    vg_tulip_close(f->drv, false);
    up(f);
    assert_int_equal(vg_tulip_check_present(f->drv), 0);
    traffic_ok(f, 2);

    /* moved: the device of another NIC of the guest, renumbered to this
     * index (a NIC before it removed): decoding and bus mastering on, its
     * receive list another driver's */
    vspn_tulip_destroy(f->dev);
    assert_int_equal(vspn_tulip_create(&mc, &model_ops, f, &f->dev), 0);
    vspn_tulip_cfg_write(f->dev, 0x04, 2, 0x5);
    vspn_tulip_csr_write(f->dev, 3 * 8, 4, (uint32_t)RAM_GPA + 0x10000u);
    assert_int_equal(vg_tulip_check_present(f->drv), -ENXIO);
    vg_tulip_close(f->drv, false);
    up(f);
    assert_int_equal(vg_tulip_check_present(f->drv), 0);
    traffic_ok(f, 3);
    fx_free(f);
}

static void test_bus_error_reset(void **state)
{
    struct fx *f = fx_new();

    (void)state;
    up(f);
    f->dma_refuse = true; /* e.g. a descriptor outside guest memory */
    assert_int_equal(rx_inject(f, 1, &dev_mac, 100), -EFAULT);
    f->dma_refuse = false;
    assert_true(irq_pending(f));
    assert_int_equal(vg_tulip_service(f->drv), -EIO);
    assert_int_equal(dstat(f, VG_TULIP_STATS_ID_bus_errors), 1);
    vg_tulip_close(f->drv, true);
    assert_int_equal(vg_tulip_open(f->drv), 0);
    (void)service(f);
    traffic_ok(f, 2);
    fx_free(f);
}

/* ---- multicast list parsing ---------------------------------------------------------- */

static void test_mcast_parse(void **state)
{
    static const char text[] =
        "1    lo              1     0     010000000000\n"
        "4    eth0            1     0     333300000001\n"
        "4    eth0            1     0     01005e000001\n"
        "4    eth0            2     0     01005e000001\n"  /* duplicate */
        "4    eth0            1     0     3333ff00\n"      /* short */
        "4    eth0            1     0     3333ffzz0001\n"  /* not hex */
        "4    eth0            1     0     020000000001\n"  /* unicast */
        "5    eth01           1     0     01005e0000fb\n"
        "garbage\n"
        "4    eth0            1     0     3333FF000002";   /* no newline */
    struct vg_tulip_rx_mode *m = calloc(1, sizeof(*m));

    (void)state;
    assert_non_null(m);
    assert_int_equal(vg_mcast_parse(text, "eth0", m), 3);
    assert_memory_equal(m->mc[0].b, "\x33\x33\x00\x00\x00\x01", 6);
    assert_memory_equal(m->mc[1].b, "\x01\x00\x5e\x00\x00\x01", 6);
    assert_memory_equal(m->mc[2].b, "\x33\x33\xff\x00\x00\x02", 6);
    assert_int_equal(vg_mcast_parse(text, "eth01", m), 1);
    assert_int_equal(vg_mcast_parse(text, "eth9", m), 0);
    assert_int_equal(vg_mcast_parse("", "eth0", m), 0);
    /* the real thing: lo exists in every namespace, "vg-none0" does not */
    if (access(VG_MCAST_PROC, R_OK) == 0) {
        assert_int_equal(vg_mcast_read("lo", m), 0);
        assert_false(m->promisc);
        assert_int_equal(vg_mcast_read("vg-none0", m), -ENODEV);
    }
    free(m);
}

/* ---- the agent, end to end over the partition socket ------------------------------------ */

#define AH_MAX_ECHO 64

/* What vesperd does for a legacy NIC, reduced: hv/'s partition host, IO
 * traps to the model, its interrupt to the guest's irq socket, frames the
 * guest sends echoed back with the MACs swapped.  Model calls happen on
 * the host thread under mu (the test thread reads the filter). */
struct ahost {
    char dir[64], path[128];
    struct hv_part_host *part;
    struct vspn_tulip *dev;
    pthread_t thr;
    atomic_bool stop;
    _Atomic int cmd; /* 1: restart the partition socket */
    pthread_mutex_t mu;
    unsigned echo_n;
    uint32_t echo_len[AH_MAX_ECHO];
    uint8_t echo[AH_MAX_ECHO][CAP_BYTES];
    /* under mu */
    unsigned traps, guest_ups, guest_downs, tx_frames;
    uint32_t csr7_at_down;
    bool rx_stopped_at_down;
};

static int ah_dma_read(void *ctx, uint64_t gpa, void *buf, size_t len)
{
    struct ahost *h = ctx;
    struct hv_mem *m = hv_part_host_mem(h->part);

    return m ? hv_mem_read(m, gpa, buf, len) : -EFAULT;
}

static int ah_dma_write(void *ctx, uint64_t gpa, const void *buf, size_t len)
{
    struct ahost *h = ctx;
    struct hv_mem *m = hv_part_host_mem(h->part);

    return m ? hv_mem_write(m, gpa, buf, len) : -EFAULT;
}

static void ah_tx(void *ctx, const uint8_t *frame, uint32_t len)
{
    struct ahost *h = ctx;

    h->tx_frames++;
    if (h->echo_n >= AH_MAX_ECHO || len > CAP_BYTES)
        return;
    memcpy(h->echo[h->echo_n], frame + 6, 6);
    memcpy(h->echo[h->echo_n] + 6, frame, 6);
    memcpy(h->echo[h->echo_n] + 12, frame + 12, len - 12);
    h->echo_len[h->echo_n++] = len;
}

static void ah_irq(void *ctx, bool asserted)
{
    struct ahost *h = ctx;

    if (asserted && h->part)
        (void)hv_part_host_raise_irq(h->part, 0); /* line = device index */
}

static const struct vspn_tulip_ops ah_model_ops = {
    .dma = { .read = ah_dma_read, .write = ah_dma_write },
    .tx_frame = ah_tx,
    .irq = ah_irq,
};

static void ah_new_device(struct ahost *h)
{
    struct vspn_tulip_config mc = { .mac = dev_mac, .link_up = true };

    vspn_tulip_destroy(h->dev);
    h->dev = NULL;
    assert_int_equal(vspn_tulip_create(&mc, &ah_model_ops, h, &h->dev), 0);
}

static void ah_io(void *ctx, struct hv_part_io *io)
{
    struct ahost *h = ctx;
    uint32_t size = io->size;

    h->traps++;
    if (io->dev != 0)
        return; /* no such device: all-ones */
    if (io->flags & HV_PART_IO_CONFIG) {
        if (io->flags & HV_PART_IO_WRITE)
            vspn_tulip_cfg_write(h->dev, (uint32_t)io->addr, size,
                                 (uint32_t)io->value);
        else
            io->value = vspn_tulip_cfg_read(h->dev, (uint32_t)io->addr, size);
    } else if (io->flags & HV_PART_IO_WRITE) {
        vspn_tulip_csr_write(h->dev, (uint32_t)io->addr, size,
                             (uint32_t)io->value);
    } else {
        io->value = vspn_tulip_csr_read(h->dev, (uint32_t)io->addr, size);
    }
}

static int ah_chan_open(void *ctx, struct hv_chan *ch)
{
    (void)ctx;
    (void)ch;
    return -ENOENT;
}

static void ah_chan_close(void *ctx, struct hv_chan *ch)
{
    (void)ctx;
    (void)ch;
}

static void ah_up(void *ctx)
{
    struct ahost *h = ctx;

    h->guest_ups++;
}

static void ah_down(void *ctx)
{
    struct ahost *h = ctx;

    h->guest_downs++;
    h->csr7_at_down = vspn_tulip_csr(h->dev, 7) & 0x1FFFFu;
    h->rx_stopped_at_down =
        strcmp(vspn_tulip_rx_state(h->dev), "stopped") == 0;
    ah_new_device(h); /* the next guest finds a powered-on NIC */
}

static const struct hv_part_host_ops ah_part_ops = {
    .chan_open = ah_chan_open,
    .chan_close = ah_chan_close,
    .io_trap = ah_io,
    .guest_up = ah_up,
    .guest_down = ah_down,
};

static void *ah_thread(void *arg)
{
    struct ahost *h = arg;

    while (!atomic_load(&h->stop)) {
        struct pollfd pf[2];
        int cfd, np = 0;

        pthread_mutex_lock(&h->mu);
        if (atomic_exchange(&h->cmd, 0) == 1) {
            hv_part_host_destroy(h->part);
            h->part = NULL;
            assert_int_equal(hv_part_host_create(h->path, &ah_part_ops, h,
                                                 &h->part), 0);
        }
        cfd = hv_part_host_conn_fd(h->part);
        pf[np++] = (struct pollfd){ .fd = hv_part_host_listen_fd(h->part),
                                    .events = POLLIN };
        if (cfd >= 0)
            pf[np++] = (struct pollfd){ .fd = cfd, .events = POLLIN };
        pthread_mutex_unlock(&h->mu);
        (void)poll(pf, (nfds_t)np, 5);
        pthread_mutex_lock(&h->mu);
        if (pf[0].revents & POLLIN)
            (void)hv_part_host_on_listen(h->part);
        for (int k = 0; k < 256 && hv_part_host_conn_fd(h->part) >= 0; k++) {
            struct pollfd one = { .fd = hv_part_host_conn_fd(h->part),
                                  .events = POLLIN };

            if (poll(&one, 1, 0) <= 0 || hv_part_host_on_conn(h->part))
                break;
            /* echo what the guest sent, outside the model's callbacks */
            for (unsigned i = 0; i < h->echo_n; i++)
                (void)vspn_tulip_receive(h->dev, h->echo[i], h->echo_len[i]);
            h->echo_n = 0;
        }
        pthread_mutex_unlock(&h->mu);
    }
    return NULL;
}

static void ah_start(struct ahost *h)
{
    memset(h, 0, sizeof(*h));
    strcpy(h->dir, "/tmp/vg-tulip-XXXXXX");
    assert_non_null(mkdtemp(h->dir));
    snprintf(h->path, sizeof(h->path), "%s/vm.sock", h->dir);
    pthread_mutex_init(&h->mu, NULL);
    ah_new_device(h);
    assert_int_equal(hv_part_host_create(h->path, &ah_part_ops, h, &h->part),
                     0);
    assert_int_equal(pthread_create(&h->thr, NULL, ah_thread, h), 0);
}

static void ah_stop(struct ahost *h)
{
    atomic_store(&h->stop, true);
    pthread_join(h->thr, NULL);
    hv_part_host_destroy(h->part);
    vspn_tulip_destroy(h->dev);
    rmdir(h->dir);
    pthread_mutex_destroy(&h->mu);
}

/* The interface's multicast list as the agent reads it (test-controlled). */
static struct vg_tulip_rx_mode *agent_mode;
static unsigned agent_mode_reads;

static int fake_rx_mode(void *ctx, const char *ifname,
                        struct vg_tulip_rx_mode *out)
{
    (void)ctx;
    assert_string_equal(ifname, "vgt0");
    agent_mode_reads++;
    out->promisc = agent_mode->promisc;
    out->allmulti = agent_mode->allmulti;
    out->nmc = agent_mode->nmc;
    memcpy(out->mc, agent_mode->mc, agent_mode->nmc * sizeof(out->mc[0]));
    return 0;
}

static bool pump_agent(struct vg_agent *a, bool (*done)(void *), void *arg)
{
    uint64_t end = vsa_time_now_ms() + 10000;

    while (!done(arg)) {
        if (vsa_time_now_ms() > end)
            return false;
        assert_int_equal(vg_agent_poll(a, 20), 0);
    }
    return true;
}

struct echo_wait {
    int fd;
    const struct vsa_mac *mac; /* the NIC's: source out, destination back */
    unsigned want, got;
    bool bad;
};

static bool echoes_done(void *arg)
{
    struct echo_wait *w = arg;
    uint8_t b[2048], want[2048];
    ssize_t n;

    while ((n = recv(w->fd, b, sizeof(b), MSG_DONTWAIT)) > 0) {
        size_t len = make_frame(want, w->got, &peer_mac, w->mac,
                                frame_len(w->got * 5));

        /* the echo: MACs swapped */
        memcpy(want, w->mac->b, 6);
        memcpy(want + 6, peer_mac.b, 6);
        if ((size_t)n != len || memcmp(b, want, len) != 0)
            w->bad = true;
        w->got++;
    }
    return w->got >= w->want;
}

static void agent_roundtrip_mac(struct vg_agent *a, int tap, unsigned count,
                               const struct vsa_mac *mac)
{
    struct echo_wait w = { .fd = tap, .mac = mac, .want = count };
    uint8_t b[VG_TULIP_MAX_FRAME];

    for (unsigned i = 0; i < count; i++) {
        size_t len = make_frame(b, i, &peer_mac, mac, frame_len(i * 5));

        assert_int_equal(send(tap, b, len, 0), (ssize_t)len);
        if (i % 16 == 15) { /* keep the socketpair shallow */
            w.want = i + 1;
            assert_true(pump_agent(a, echoes_done, &w));
        }
    }
    w.want = count;
    assert_true(pump_agent(a, echoes_done, &w));
    assert_false(w.bad);
    assert_int_equal(w.got, count);
}

static void agent_roundtrip(struct vg_agent *a, int tap, unsigned count)
{
    agent_roundtrip_mac(a, tap, count, &dev_mac);
}

struct filter_wait {
    struct ahost *h;
    const uint8_t *dst;
    bool want;
};

static bool filter_is(void *arg)
{
    struct filter_wait *w = arg;
    bool pass;

    pthread_mutex_lock(&w->h->mu);
    pass = vspn_tulip_filter_pass(w->h->dev, w->dst);
    pthread_mutex_unlock(&w->h->mu);
    return pass == w->want;
}

static bool ups_reached(void *arg)
{
    struct vg_agent *a = arg;

    return vg_counters_get(&a->cnt, VG_COUNTERS_ID_nic_ups) >= 2 &&
           vg_legacy_ready(&a->ports[0].leg);
}

static void test_agent_legacy_nic(void **state)
{
    struct ahost *h = calloc(1, sizeof(*h));
    struct vg_agent *a = calloc(1, sizeof(*a));
    struct vg_opts o;
    struct vg_port *p;
    struct filter_wait fw;
    struct vsa_mac g = { { 0x01, 0x00, 0x5e, 0x2a, 0x2b, 0x2c } };
    int sp[2];

    (void)state;
    assert_non_null(h);
    assert_non_null(a);
    agent_mode = calloc(1, sizeof(*agent_mode));
    assert_non_null(agent_mode);
    ah_start(h);
    assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp),
                     0);
    memset(&o, 0, sizeof(o));
    o.cmd = VG_CMD_RUN;
    o.partition = h->path;
    o.nnics = 1;
    o.nics[0] = (struct vg_nic_arg){ .kind = VG_NIC_LEGACY, .index = 0,
                                     .tap = "vgt0" };
    o.mtu = 1500;
    o.verbose = true;
    assert_int_equal(vg_agent_init(a, &o, &sp[0], -1), 0);
    a->retry_ms = 100;
    p = &a->ports[0];
    p->leg.read_rx_mode = fake_rx_mode;

    /* up over the socket: the TAP has the SROM's MAC, carrier on */
    assert_int_equal(vg_agent_connect(a), 0);
    assert_true(vg_legacy_ready(&p->leg));
    assert_true(p->tap.configured);
    assert_memory_equal(p->tap.mac.b, dev_mac.b, 6);
    assert_int_equal(p->tap.mtu, 1500);
    assert_true(p->tap.carrier);
    assert_true(p->leg.gpa + VG_LEGACY_MEM_SIZE <= 0x100000000ull);
    assert_true(agent_mode_reads >= 1);

    agent_roundtrip(a, sp[1], 100);
    assert_int_equal(vg_counters_get(&a->cnt, VG_COUNTERS_ID_tap_rx), 100);
    assert_int_equal(vg_counters_get(&a->cnt, VG_COUNTERS_ID_tap_tx), 100);
    assert_int_equal(vg_counters_get(&a->cnt, VG_COUNTERS_ID_drop_tx_error),
                     0);
    assert_int_equal(vg_legacy_stat(&p->leg, VG_TULIP_STATS_ID_rx_frames),
                     100);

    /* the interface joins a group: within a poll period it passes */
    fw = (struct filter_wait){ h, g.b, false };
    assert_true(filter_is(&fw));
    agent_mode->nmc = 1;
    agent_mode->mc[0] = g;
    fw.want = true;
    assert_true(pump_agent(a, filter_is, &fw));
    agent_mode->nmc = 0;
    fw.want = false;
    assert_true(pump_agent(a, filter_is, &fw));
    vg_agent_print(a, stderr);

    /* vesperd restarts: the agent reconnects and probes again */
    atomic_store(&h->cmd, 1);
    assert_true(pump_agent(a, ups_reached, a));
    assert_int_equal(vg_counters_get(&a->cnt, VG_COUNTERS_ID_host_lost), 1);
    assert_true(p->tap.carrier);
    agent_roundtrip(a, sp[1], 20);

    /* clean stop: §9.5 before the goodbye */
    vg_agent_disconnect(a, true);
    /* the host thread (a 5 ms poll) sees the goodbye: up to 10 s for it
     * (a fixed 50 ms was all it had, short under TSan beside another
     * test) */
    for (int i = 0; i < 2000; i++) {
        unsigned downs;

        pthread_mutex_lock(&h->mu);
        downs = h->guest_downs;
        pthread_mutex_unlock(&h->mu);
        if (downs >= 2)
            break;
        usleep(5 * 1000);
    }
    pthread_mutex_lock(&h->mu);
    assert_int_equal(h->guest_downs, 2);
    assert_int_equal(h->csr7_at_down, 0);
    assert_true(h->rx_stopped_at_down);
    pthread_mutex_unlock(&h->mu);
    assert_false(p->tap.carrier);
    vg_agent_print(a, stderr);

    vg_agent_fini(a);
    close(sp[1]);
    ah_stop(h);
    free(agent_mode);
    free(a);
    free(h);
}

/* A synthetic and a legacy NIC in one agent, one partition: both come up,
 * frames go both ways on each (frame sizes within the synthetic NIC's
 * MTU + 14 as well). */
static void test_agent_mixed_nics(void **state)
{
    struct gh_host *h = calloc(1, sizeof(*h));
    struct vg_agent *a = calloc(1, sizeof(*a));
    struct vsa_mac smac = gh_mac(0);
    struct vg_opts o;
    int s0[2], s1[2], fds[2];

    (void)state;
    assert_non_null(h);
    assert_non_null(a);
    agent_mode = calloc(1, sizeof(*agent_mode));
    assert_non_null(agent_mode);
    assert_int_equal(gh_start_ex(h, 1, GH_ECHO, NULL, &dev_mac), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, s0),
                     0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, s1),
                     0);
    memset(&o, 0, sizeof(o));
    o.cmd = VG_CMD_RUN;
    o.partition = h->path;
    o.nnics = 2;
    o.nics[0] = (struct vg_nic_arg){ .kind = VG_NIC_SYNTHETIC, .index = 0,
                                     .tap = "vgs0" };
    o.nics[1] = (struct vg_nic_arg){ .kind = VG_NIC_LEGACY, .index = 0,
                                     .tap = "vgt0" };
    o.mode = VSPN_VSC_LINUX;
    o.mtu = 1500;
    fds[0] = s0[0];
    fds[1] = s1[0];
    assert_int_equal(vg_agent_init(a, &o, fds, -1), 0);
    a->ports[1].leg.read_rx_mode = fake_rx_mode;

    assert_int_equal(vg_agent_connect(a), 0);
    assert_true(vg_nic_ready(&a->ports[0].nic));
    assert_true(vg_legacy_ready(&a->ports[1].leg));
    assert_memory_equal(a->ports[0].tap.mac.b, smac.b, 6);
    assert_memory_equal(a->ports[1].tap.mac.b, dev_mac.b, 6);
    assert_true(a->ports[0].tap.carrier);
    assert_true(a->ports[1].tap.carrier);
    /* the legacy NIC's DMA area is below 4 GiB, the synthetic's above */
    assert_true(a->ports[1].leg.gpa + VG_LEGACY_MEM_SIZE <= 0x100000000ull);
    assert_true(a->ports[0].nic.recv_buf.gpa >= VG_PART_GPA_BASE);

    agent_roundtrip_mac(a, s1[1], 40, &dev_mac);
    agent_roundtrip_mac(a, s0[1], 40, &smac);
    agent_roundtrip_mac(a, s1[1], 40, &dev_mac);
    assert_int_equal(vg_counters_get(&a->cnt, VG_COUNTERS_ID_tap_tx), 120);
    assert_int_equal(vg_counters_get(&a->cnt, VG_COUNTERS_ID_drop_tx_error),
                     0);
    vg_agent_print(a, stderr);

    vg_agent_disconnect(a, true);
    vg_agent_fini(a);
    close(s0[1]);
    close(s1[1]);
    gh_stop(h);
    gh_destroy(h);
    free(agent_mode);
    free(a);
    free(h);
}

/* ---- vesper-guest bench with two legacy NICs ----------------------------------------- */

#define BH_QUEUE 64u

static const struct vsa_mac dev2_mac = { { 0x00, 0x15, 0x5d, 0x11, 0x22,
                                           0x44 } };

/* A host with two 21140A models (device 0 and 1, interrupt lines 0 and
 * 1) joined by a wire: what one transmits is delivered to the other after
 * the trapped access that sent it (outside the model's callbacks), as
 * vesperd's switch would between two legacy ports. */
struct bhost {
    char dir[64], path[128];
    struct hv_part_host *part;
    struct bh_dev {
        struct bhost *h;
        unsigned idx;
        struct vspn_tulip *dev;
        unsigned nq;
        uint32_t qlen[BH_QUEUE];
        uint8_t q[BH_QUEUE][VSPN_TULIP_MAX_FRAME];
        uint64_t traps, tx, rx, rx_missed, q_full;
    } d[2];
    pthread_t thr;
    atomic_bool stop;
    pthread_mutex_t mu;
};

static int bh_dma_read(void *ctx, uint64_t gpa, void *buf, size_t len)
{
    struct bh_dev *d = ctx;
    struct hv_mem *m = hv_part_host_mem(d->h->part);

    return m ? hv_mem_read(m, gpa, buf, len) : -EFAULT;
}

static int bh_dma_write(void *ctx, uint64_t gpa, const void *buf, size_t len)
{
    struct bh_dev *d = ctx;
    struct hv_mem *m = hv_part_host_mem(d->h->part);

    return m ? hv_mem_write(m, gpa, buf, len) : -EFAULT;
}

static void bh_tx(void *ctx, const uint8_t *frame, uint32_t len)
{
    struct bh_dev *d = ctx;
    struct bh_dev *peer = &d->h->d[1 - d->idx];

    d->tx++;
    if (peer->nq >= BH_QUEUE || len > VSPN_TULIP_MAX_FRAME) {
        peer->q_full++;
        return;
    }
    memcpy(peer->q[peer->nq], frame, len);
    peer->qlen[peer->nq++] = len;
}

static void bh_irq(void *ctx, bool asserted)
{
    struct bh_dev *d = ctx;

    if (asserted && d->h->part)
        (void)hv_part_host_raise_irq(d->h->part, d->idx);
}

static const struct vspn_tulip_ops bh_model_ops = {
    .dma = { .read = bh_dma_read, .write = bh_dma_write },
    .tx_frame = bh_tx,
    .irq = bh_irq,
};

static void bh_new_devices(struct bhost *h)
{
    for (unsigned i = 0; i < 2; i++) {
        struct vspn_tulip_config mc = { .mac = i ? dev2_mac : dev_mac,
                                        .link_up = true };

        vspn_tulip_destroy(h->d[i].dev);
        h->d[i].dev = NULL;
        h->d[i].h = h;
        h->d[i].idx = i;
        h->d[i].nq = 0;
        assert_int_equal(vspn_tulip_create(&mc, &bh_model_ops, &h->d[i],
                                           &h->d[i].dev), 0);
    }
}

static void bh_io(void *ctx, struct hv_part_io *io)
{
    struct bhost *h = ctx;
    struct vspn_tulip *dev;

    if (io->dev > 1)
        return; /* no such device: all-ones */
    h->d[io->dev].traps++;
    dev = h->d[io->dev].dev;
    if (io->flags & HV_PART_IO_CONFIG) {
        if (io->flags & HV_PART_IO_WRITE)
            vspn_tulip_cfg_write(dev, (uint32_t)io->addr, io->size,
                                 (uint32_t)io->value);
        else
            io->value = vspn_tulip_cfg_read(dev, (uint32_t)io->addr,
                                            io->size);
    } else if (io->flags & HV_PART_IO_WRITE) {
        vspn_tulip_csr_write(dev, (uint32_t)io->addr, io->size,
                             (uint32_t)io->value);
    } else {
        io->value = vspn_tulip_csr_read(dev, (uint32_t)io->addr, io->size);
    }
}

static void bh_up(void *ctx)
{
    (void)ctx;
}

static void bh_down(void *ctx)
{
    (void)ctx; /* the test ends with the guest */
}

static const struct hv_part_host_ops bh_part_ops = {
    .chan_open = ah_chan_open,
    .chan_close = ah_chan_close,
    .io_trap = bh_io,
    .guest_up = bh_up,
    .guest_down = bh_down,
};

/* The wire: queued frames into the other device's receive ring. */
static void bh_deliver(struct bhost *h)
{
    for (unsigned i = 0; i < 2; i++) {
        struct bh_dev *d = &h->d[i];

        for (unsigned k = 0; k < d->nq; k++) {
            int rc = vspn_tulip_receive(d->dev, d->q[k], d->qlen[k]);

            if (rc == 0)
                d->rx++;
            else if (rc == -EAGAIN)
                d->rx_missed++;
        }
        d->nq = 0;
    }
}

static void *bh_thread(void *arg)
{
    struct bhost *h = arg;

    while (!atomic_load(&h->stop)) {
        struct pollfd pf[2];
        int cfd, np = 0;

        pthread_mutex_lock(&h->mu);
        cfd = hv_part_host_conn_fd(h->part);
        pf[np++] = (struct pollfd){ .fd = hv_part_host_listen_fd(h->part),
                                    .events = POLLIN };
        if (cfd >= 0)
            pf[np++] = (struct pollfd){ .fd = cfd, .events = POLLIN };
        pthread_mutex_unlock(&h->mu);
        (void)poll(pf, (nfds_t)np, 5);
        pthread_mutex_lock(&h->mu);
        if (pf[0].revents & POLLIN)
            (void)hv_part_host_on_listen(h->part);
        for (int k = 0; k < 256 && hv_part_host_conn_fd(h->part) >= 0; k++) {
            struct pollfd one = { .fd = hv_part_host_conn_fd(h->part),
                                  .events = POLLIN };

            if (poll(&one, 1, 0) <= 0 || hv_part_host_on_conn(h->part))
                break;
            bh_deliver(h);
        }
        pthread_mutex_unlock(&h->mu);
    }
    return NULL;
}

/* The number after "key": in a JSON line (0 when absent). */
static double jnum(const char *line, const char *key)
{
    char k[64];
    const char *p;

    snprintf(k, sizeof(k), "\"%s\":", key);
    p = strstr(line, k);
    return p ? strtod(p + strlen(k), NULL) : 0.0;
}

static void test_bench_legacy_pair(void **state)
{
    struct bhost *h = calloc(1, sizeof(*h));
    struct vg_opts o;
    char *buf = NULL, *line, *save = NULL;
    size_t blen = 0;
    FILE *out;
    unsigned nprog = 0;
    double last_tx = 0, last_rx = 0, last_traps = 0, last_t = 0;
    double res_tx = -1, res_rx = -1, res_traps = -1, res_tpr = -1;
    uint64_t host_traps;

    (void)state;
    assert_non_null(h);
    strcpy(h->dir, "/tmp/vg-bench-XXXXXX");
    assert_non_null(mkdtemp(h->dir));
    snprintf(h->path, sizeof(h->path), "%s/vm.sock", h->dir);
    pthread_mutex_init(&h->mu, NULL);
    bh_new_devices(h);
    assert_int_equal(hv_part_host_create(h->path, &bh_part_ops, h, &h->part),
                     0);
    assert_int_equal(pthread_create(&h->thr, NULL, bh_thread, h), 0);

    memset(&o, 0, sizeof(o));
    o.cmd = VG_CMD_BENCH;
    o.partition = h->path;
    o.nnics = 2;
    o.nics[0] = (struct vg_nic_arg){ .kind = VG_NIC_LEGACY, .index = 0 };
    o.nics[1] = (struct vg_nic_arg){ .kind = VG_NIC_LEGACY, .index = 1 };
    o.mode = VSPN_VSC_LINUX;
    o.mtu = 1500;
    o.seconds = 0.6;
    o.size = 64;
    o.interval_ms = 100;
    o.verbose = true;
    out = open_memstream(&buf, &blen);
    assert_non_null(out);
    assert_int_equal(vg_bench_run(&o, -1, out), 0);
    fclose(out);
    fprintf(stderr, "%s", buf);

    for (line = strtok_r(buf, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, "{\"t\":", 5) == 0) {
            double t = jnum(line, "t"), tx = jnum(line, "tx_frames");
            double rx = jnum(line, "rx_frames"), tr = jnum(line, "traps");

            /* cumulative, stamped with the wall clock */
            assert_true(t > 1.6e9 && t >= last_t);
            assert_true(tx >= last_tx && rx >= last_rx && tr >= last_traps);
            assert_true(rx <= tx);
            last_t = t;
            last_tx = tx;
            last_rx = rx;
            last_traps = tr;
            nprog++;
        } else if (strncmp(line, "{\"tx_pps\":", 10) == 0) {
            res_tx = jnum(line, "tx_frames");
            res_rx = jnum(line, "rx_frames");
            res_traps = jnum(line, "traps");
            res_tpr = jnum(line, "traps_per_rx");
            assert_non_null(strstr(line, "\"size\":64"));
        }
    }
    assert_true(nprog >= 3);
    assert_true(res_rx > 1000);
    assert_true(res_rx <= res_tx);
    assert_true(res_tx >= last_tx && res_rx >= last_rx);
    assert_true(res_traps >= last_traps && res_traps > 0);
    /* one CSR1 per burst of 30 and little else */
    assert_true(res_tpr > 0 && res_tpr < 0.2);
    assert_true(res_traps / res_rx > res_tpr - 0.001 &&
                res_traps / res_rx < res_tpr + 0.001);

    atomic_store(&h->stop, true);
    pthread_join(h->thr, NULL);
    /* the host saw every frame the guest counted, and every access (plus
     * probe, open and close, outside the window) */
    host_traps = h->d[0].traps + h->d[1].traps;
    fprintf(stderr, "host: traps %llu + %llu, dev0 tx %llu, dev1 rx %llu "
            "missed %llu, queue full %llu\n",
            (unsigned long long)h->d[0].traps,
            (unsigned long long)h->d[1].traps,
            (unsigned long long)h->d[0].tx, (unsigned long long)h->d[1].rx,
            (unsigned long long)h->d[1].rx_missed,
            (unsigned long long)h->d[1].q_full);
    assert_true((double)h->d[0].tx >= res_tx);
    assert_true((double)h->d[1].rx >= res_rx);
    assert_true((double)host_traps > res_traps);
    assert_int_equal(h->d[0].q_full + h->d[1].q_full, 0);
    /* the clean stop closed both devices (§9.5) */
    assert_int_equal(vspn_tulip_csr(h->d[0].dev, 7) & 0x1FFFFu, 0);
    assert_int_equal(vspn_tulip_csr(h->d[1].dev, 7) & 0x1FFFFu, 0);

    hv_part_host_destroy(h->part);
    for (unsigned i = 0; i < 2; i++)
        vspn_tulip_destroy(h->d[i].dev);
    rmdir(h->dir);
    pthread_mutex_destroy(&h->mu);
    free(buf);
    free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_probe_reads_srom_mac),
        cmocka_unit_test(test_probe_refuses_bad_srom),
        cmocka_unit_test(test_srom_check),
        cmocka_unit_test(test_io_error_fails_probe),
        cmocka_unit_test(test_hash_vectors),
        cmocka_unit_test(test_setup_frame_filters),
        cmocka_unit_test(test_setup_frame_waits_for_room),
        cmocka_unit_test(test_tx_1000_frames),
        cmocka_unit_test(test_tx_autopoll),
        cmocka_unit_test(test_rx_ring_wrap),
        cmocka_unit_test(test_poll_mode_10000_frames),
        cmocka_unit_test(test_link_follows_phy),
        cmocka_unit_test(test_close_reopen),
        cmocka_unit_test(test_device_removed_or_replaced),
        cmocka_unit_test(test_bus_error_reset),
        cmocka_unit_test(test_mcast_parse),
        cmocka_unit_test(test_agent_legacy_nic),
        cmocka_unit_test(test_agent_mixed_nics),
        cmocka_unit_test(test_bench_legacy_pair),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
