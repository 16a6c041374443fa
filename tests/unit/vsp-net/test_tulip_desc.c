/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_tulip_desc.c — objective: descriptor processing of the emulated
 * DEC 21140A (spec dec21140.md §4, §6, §9, §13) and TESTS.md §A items 9
 * and 10.
 *  * Walking: transmit and receive rings with TER/RER wrap, the CSR0 skip
 *    length, chained lists (TCH/RCH, buffer-2 size ignored), both buffers
 *    of a descriptor, frames spanning descriptors (FS ... LS), IC → TI,
 *    RDES0 FS/LS/FL (+4 for the FCS, which is really written), MF/FT, short
 *    frames padded to 60, big-endian descriptors (CSR0 DBO), the Linux
 *    dummy-descriptor-before-setup-frame workaround, the Linux bring-up and
 *    interrupt acknowledge sequence, and its "too much work" sequence
 *    (CSR7 masked down to AIS|GTE, CSR11 = 0x12: the receive interrupts
 *    come back only through the general-purpose timer, 1.47 ms later).
 *  * PCI bus mastering off: no DMA at all (no descriptor fetch, no buffer
 *    read or write, no status written back, no bus error); accepted frames
 *    are dropped and counted, filtered ones still count as filtered; a
 *    poll demand stalls the transmitter, TAP does not poll, and the
 *    stalled fetch runs when the bit is back.
 *  * A.9: transmit chains summing to VSPN_TULIP_MAX_FRAME −1/0/+1 and
 *    spanning VSPN_TULIP_MAX_CHAIN ±1 descriptors (over → dropped with
 *    TDES0 ES|TO and CSR5 TJT, counted); receive chains whose buffers sum
 *    to the needed size −1/0/+1 (short → truncated with DE, counted);
 *    circular transmit and receive chains, including a hostile guest that
 *    re-arms OWN behind the device: every kick stops within
 *    VSPN_TULIP_TX_BUDGET descriptors, vspn_tulip_poll() continues in
 *    bounded steps; zero-length descriptors with OWN; list heads, next
 *    pointers and buffers outside guest memory → bus error (FBE), the
 *    processes stop, the device stays responsive and restarts.
 *  * A.10: internal and external loopback deliver a frame exactly once and
 *    never call tx_frame; a looped storm with OWN re-armed stays within the
 *    budget (receive never transmits, so there is no recursion — the
 *    model's depth assertion would abort otherwise); DMA aimed at the
 *    device's own rings is harmless, DMA aimed at its registers is refused
 *    as a bus error.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "test_tulip_harness.h"

#define MAXF VSPN_TULIP_MAX_FRAME

static const uint8_t peer[6] = { 0x00, 0x15, 0x5d, 0x0a, 0x0b, 0x0c };

/* The switch side of the test: a guest transmit of len bytes at TXBUF. */
static void put_frame(struct tb *b, uint32_t at, uint32_t len, uint8_t seed)
{
    mkframe(gp(b, at), len, peer, seed);
}

static void assert_sent(struct tb *b, unsigned i, uint32_t at, uint32_t len)
{
    assert_true(i < b->ntx);
    assert_int_equal(b->txlen[i], len);
    assert_memory_equal(b->txf[i], gp(b, at), len);
}

/* Plain start of both processes with the given list bases. */
static void start(struct tb *b, uint32_t rx, uint32_t tx, uint32_t mode)
{
    wr(b, 3, rx);
    wr(b, 4, tx);
    wr(b, 7, 0x0001ebefu);
    wr(b, 6, M_MBO | mode);
}

/* ---- transmit walking -------------------------------------------------------- */

static void test_tx_ring_ter(void **state)
{
    struct tb *b = tb_new();
    const struct vspn_tulip_stats *st = vspn_tulip_stats(b->t);

    (void)state;
    for (unsigned i = 0; i < 4; i++)
        desc(b, TXRING + 16 * i, 0, (i == 3 ? T_TER : 0), 0, 0);
    start(b, RXRING, TXRING, M_ST);
    assert_int_equal(S_TS(rd(b, 5)), 6); /* empty ring: suspended */
    assert_true(rd(b, 5) & S_TU);
    assert_string_equal(vspn_tulip_tx_state(b->t), "suspended");

    /* Six frames one by one: entries 0,1,2,3,0,1 (TER wraps). */
    for (unsigned i = 0; i < 6; i++) {
        uint32_t at = TXRING + 16 * (i % 4), buf = TXBUF + 2048 * i;
        uint32_t len = 60 + 100 * i;
        uint32_t ic = (i & 1) ? T_IC : 0;

        put_frame(b, buf, len, (uint8_t)i);
        wr(b, 5, 0x1ffff);
        desc(b, at, OWN, ic | T_FS | T_LS | (i % 4 == 3 ? T_TER : 0) | len,
             buf, 0);
        wr(b, 1, 0);
        assert_int_equal(b->ntx, i + 1);
        assert_sent(b, i, buf, len);
        assert_int_equal(r32(b, at), 0); /* closed, no error */
        assert_int_equal(!!(rd(b, 5) & S_TI), !!ic);
        assert_int_equal(S_TS(rd(b, 5)), 6);
    }
    /* Four at once in one kick, wrapping. */
    for (unsigned i = 0; i < 4; i++) {
        uint32_t at = TXRING + 16 * ((i + 2) % 4);
        put_frame(b, TXBUF + 2048 * i, 64, (uint8_t)(0x40 + i));
        desc(b, at, OWN, T_FS | T_LS | (at == TXRING + 48 ? T_TER : 0) | 64u,
             TXBUF + 2048 * i, 0);
    }
    wr(b, 1, 0);
    assert_int_equal(b->ntx, 10);
    for (unsigned i = 0; i < 4; i++)
        assert_sent(b, 6 + i, TXBUF + 2048 * i, 64);
    assert_int_equal(st->tx_frames, 10);
    assert_int_equal(st->tx_dropped, 0);
    /* short frames are padded to 60 unless DPD */
    put_frame(b, TXBUF, 20, 1);
    memset(gp(b, TXBUF + 20), 0xee, 64);
    desc(b, TXRING + 32, OWN, T_FS | T_LS | 20u, TXBUF, 0);
    desc(b, TXRING + 48, OWN, T_FS | T_LS | T_DPD | T_TER | 20u, TXBUF, 0);
    wr(b, 1, 0);
    assert_int_equal(b->ntx, 12);
    assert_int_equal(b->txlen[10], 60);
    assert_memory_equal(b->txf[10], gp(b, TXBUF), 20);
    for (unsigned k = 20; k < 60; k++)
        assert_int_equal(b->txf[10][k], 0);
    assert_int_equal(b->txlen[11], 20);
    tb_free(b);
}

static void test_tx_skip_length(void **state)
{
    struct tb *b = tb_new();

    (void)state;
    /* DSL = 3 longwords: descriptors 28 bytes apart; the gaps hold owned
     * decoys that must never be read as descriptors. */
    wr(b, 0, 3u << 2);
    for (unsigned i = 0; i < 3; i++) {
        uint32_t at = TXRING + 28 * i;
        put_frame(b, TXBUF + 2048 * i, 100 + i, (uint8_t)i);
        desc(b, at, OWN, T_FS | T_LS | (i == 2 ? T_TER : 0) | (100 + i),
             TXBUF + 2048 * i, 0);
        g32(b, at + 16, OWN);
        g32(b, at + 20, T_FS | T_LS | 60u);
        g32(b, at + 24, TXBUF + 0x8000);
    }
    start(b, RXRING, TXRING, M_ST);
    assert_int_equal(b->ntx, 3);
    for (unsigned i = 0; i < 3; i++)
        assert_sent(b, i, TXBUF + 2048 * i, 100 + i);
    assert_int_equal(S_TS(rd(b, 5)), 6);
    tb_free(b);
}

static void test_tx_chain_and_buffers(void **state)
{
    struct tb *b = tb_new();
    uint8_t want[1200];
    uint32_t d0 = TXRING, d1 = TXRING + 0x500, d2 = TXRING + 0x240;

    (void)state;
    /* Chained: FS / middle / LS at scattered addresses; TBS2 is ignored
     * (word 3 is the next pointer). */
    put_frame(b, TXBUF, 1200, 7);
    memcpy(want, gp(b, TXBUF), 1200);
    desc(b, d0, OWN, T_TCH | T_FS | BS(500, 77), TXBUF, d1);
    desc(b, d1, OWN, T_TCH | BS(300, 2000), TXBUF + 500, d2 | 3u);
    desc(b, d2, OWN, T_TCH | T_LS | T_IC | BS(400, 1), TXBUF + 800,
         TXRING + 0x800);
    g32(b, TXRING + 0x800, 0);
    start(b, RXRING, d0, M_ST);
    assert_int_equal(b->ntx, 1);
    assert_int_equal(b->txlen[0], 1200);
    assert_memory_equal(b->txf[0], want, 1200);
    assert_int_equal(r32(b, d0), 0);
    assert_int_equal(r32(b, d1), 0);
    assert_int_equal(r32(b, d2), 0);
    assert_true(rd(b, 5) & S_TI);

    /* Ring mode, both buffers of two descriptors: b1a b2a b1b b2b. */
    put_frame(b, TXBUF, 1000, 9);
    memcpy(want, gp(b, TXBUF), 1000);
    memcpy(gp(b, TXBUF + 0x4000), want, 100);
    memcpy(gp(b, TXBUF + 0x5000), want + 100, 200);
    memcpy(gp(b, TXBUF + 0x6000), want + 300, 300);
    memcpy(gp(b, TXBUF + 0x7000), want + 600, 400);
    desc(b, TXRING + 0x800, OWN, T_FS | BS(100, 200), TXBUF + 0x4000,
         TXBUF + 0x5000);
    desc(b, TXRING + 0x810, OWN, T_LS | T_TER | BS(300, 400), TXBUF + 0x6000,
         TXBUF + 0x7000);
    wr(b, 6, M_MBO);
    wr(b, 4, TXRING + 0x800);
    wr(b, 6, M_MBO | M_ST);
    assert_int_equal(b->ntx, 2);
    assert_int_equal(b->txlen[1], 1000);
    assert_memory_equal(b->txf[1], want, 1000);
    tb_free(b);
}

static void test_tx_dummy_before_setup(void **state)
{
    struct tb *b = tb_new();
    uint8_t setup[192];
    const uint8_t addrs[1][6] = { { 0x00, 0x15, 0x5d, 0x01, 0x02, 0x03 } };
    const struct vspn_tulip_stats *st = vspn_tulip_stats(b->t);

    (void)state;
    /* Linux: a zero-size OWN descriptor (no FS/LS) before a setup frame
     * that would not land in entry 0. */
    setup_perfect(setup, addrs, 1);
    memcpy(gp(b, SETUPBUF), setup, 192);
    desc(b, TXRING + 16, OWN, 0, 0, 0);
    desc(b, TXRING + 32, OWN, T_SET | 192u, SETUPBUF, 0);
    g32(b, TXRING + 48, 0);
    start(b, RXRING, TXRING + 16, M_ST);
    assert_int_equal(r32(b, TXRING + 16), 0);
    assert_int_equal(r32(b, TXRING + 32), 0);
    assert_int_equal(st->tx_setup_frames, 1);
    assert_int_equal(st->tx_dropped, 0);
    assert_int_equal(st->dma_errors, 0); /* the zero-size dummy: no DMA */
    assert_int_equal(b->ntx, 0);
    wr(b, 6, M_MBO | M_ST); /* PR off */
    assert_true(vspn_tulip_filter_pass(b->t, tb_mac));
    assert_false(vspn_tulip_filter_pass(b->t, tb_bcast));
    tb_free(b);
}

/* ---- receive walking ----------------------------------------------------------- */

static void check_rx(struct tb *b, uint32_t buf, const uint8_t *f,
                     uint32_t len)
{
    uint8_t wire[MAXF + 4];
    uint32_t plen = len < 60 ? 60 : len, fcs;

    memset(wire, 0, sizeof(wire));
    memcpy(wire, f, len);
    fcs = ref_crc32(wire, plen);
    assert_memory_equal(gp(b, buf), wire, plen);
    assert_int_equal(r32(b, buf + plen), fcs);
}

static void test_rx_ring_rer(void **state)
{
    struct tb *b = tb_new();
    const struct vspn_tulip_stats *st = vspn_tulip_stats(b->t);
    uint8_t f[MAXF];

    (void)state;
    tb_up(b, 3);
    for (unsigned i = 0; i < 5; i++) {
        uint32_t at = RXRING + 16 * (i % 3), buf = RXBUF + 2048 * (i % 3);
        uint32_t len = i == 4 ? 42 : 100 + 300 * i, r;

        mkframe(f, len, tb_mac, (uint8_t)i);
        if (i == 3)
            f[12] = 0x05, f[13] = 0xdc; /* 802.3 length 1500: FT clear */
        assert_int_equal(vspn_tulip_receive(b->t, f, len), 0);
        r = r32(b, at);
        assert_false(r & OWN);
        assert_int_equal(r & (R_FS | R_LS | R_ES), R_FS | R_LS);
        assert_int_equal((r & 0x38008300u), 0x0300u); /* Linux's test */
        assert_int_equal(R_FL(r), (len < 60 ? 60 : len) + 4);
        assert_int_equal(R_DT(r), 0);
        assert_false(r & R_MF);
        assert_int_equal(!!(r & R_FT), i != 3);
        check_rx(b, buf, f, len);
        /* give the descriptor back */
        desc(b, at, OWN, (i % 3 == 2 ? R_RER : 0) | 1536u, buf, 0);
    }
    assert_int_equal(st->rx_frames, 5);
    assert_true(rd(b, 5) & S_RI);
    /* broadcast: MF */
    mkframe(f, 64, tb_bcast, 1);
    assert_int_equal(vspn_tulip_receive(b->t, f, 64), 0);
    assert_true(r32(b, RXRING + 32) & R_MF);
    /* runts and giants never reach the ring */
    assert_int_equal(vspn_tulip_receive(b->t, f, 13), -EINVAL);
    assert_int_equal(vspn_tulip_receive(b->t, f, 0), -EINVAL);
    assert_int_equal(vspn_tulip_receive(b->t, NULL, 64), -EINVAL);
    mkframe(f, MAXF, tb_mac, 3);
    assert_int_equal(vspn_tulip_receive(b->t, f, MAXF + 1), -EINVAL);
    assert_int_equal(st->rx_dropped, 4);
    assert_int_equal(vspn_tulip_receive(b->t, f, MAXF), 0);
    assert_int_equal(R_FL(r32(b, RXRING)), MAXF + 4);
    check_rx(b, RXBUF, f, MAXF);
    tb_free(b);
}

static void test_rx_spanning_chain_dsl(void **state)
{
    struct tb *b = tb_new();
    uint8_t f[1000], got[1004];
    uint32_t a[5], off = 0;

    (void)state;
    /* Ring mode with both buffers (100 + 60 each) and DSL = 1: a
     * 1000-byte frame (1004 with FCS) takes 7 descriptors. */
    wr(b, 0, 1u << 2);
    for (unsigned i = 0; i < 8; i++)
        desc(b, RXRING + 20 * i, OWN, BS(100, 60), RXBUF + 256 * i,
             RXBUF + 256 * i + 128);
    start(b, RXRING, TXRING, M_SR | M_PR);
    mkframe(f, sizeof(f), tb_mac, 5);
    assert_int_equal(vspn_tulip_receive(b->t, f, sizeof(f)), 0);
    for (unsigned i = 0; i < 7; i++) {
        uint32_t r = r32(b, RXRING + 20 * i);
        uint32_t n1 = 1004 - off < 100 ? 1004 - off : 100, n2;
        assert_false(r & OWN);
        assert_int_equal(!!(r & R_FS), i == 0);
        assert_int_equal(!!(r & R_LS), i == 6);
        if (i == 6)
            assert_int_equal(R_FL(r), 1004);
        memcpy(got + off, gp(b, RXBUF + 256 * i), n1);
        off += n1;
        n2 = 1004 - off < 60 ? 1004 - off : 60;
        memcpy(got + off, gp(b, RXBUF + 256 * i + 128), n2);
        off += n2;
    }
    assert_int_equal(off, 1004);
    assert_memory_equal(got, f, 1000);
    assert_int_equal(got[1000] | got[1001] << 8 | got[1002] << 16 |
                         (uint32_t)got[1003] << 24,
                     ref_crc32(f, 1000));
    assert_true(r32(b, RXRING + 20 * 7) & OWN); /* untouched */

    /* Chained (RCH): buffer-2 size ignored, word 3 is the next one. */
    a[0] = RXRING + 0x400;
    a[1] = RXRING + 0x900;
    a[2] = RXRING + 0x600;
    a[3] = RXRING + 0x700;
    for (unsigned i = 0; i < 4; i++)
        desc(b, a[i], OWN, R_RCH | BS(400, 2000), RXBUF + 0x8000 + 512 * i,
             i < 3 ? a[i + 1] : a[0]);
    wr(b, 6, M_MBO);
    wr(b, 3, a[0]);
    wr(b, 6, M_MBO | M_SR | M_PR);
    assert_int_equal(vspn_tulip_receive(b->t, f, sizeof(f)), 0);
    assert_int_equal(r32(b, a[0]) & (R_FS | R_LS), R_FS);
    assert_int_equal(r32(b, a[1]) & (R_FS | R_LS), 0);
    assert_int_equal(r32(b, a[2]) & (R_FS | R_LS), R_LS);
    assert_true(r32(b, a[3]) & OWN);
    assert_memory_equal(gp(b, RXBUF + 0x8000), f, 400);
    assert_memory_equal(gp(b, RXBUF + 0x8000 + 512), f + 400, 400);
    assert_memory_equal(gp(b, RXBUF + 0x8000 + 1024), f + 800, 200);
    /* the next frame starts at a[3] */
    mkframe(f, 64, tb_mac, 6);
    assert_int_equal(vspn_tulip_receive(b->t, f, 64), 0);
    assert_int_equal(r32(b, a[3]) & (R_FS | R_LS), R_FS | R_LS);
    tb_free(b);
}

static void test_big_endian_descriptors(void **state)
{
    struct tb *b = tb_new();
    uint8_t f[80];
    const uint8_t *d;

    (void)state;
    wr(b, 0, 1u << 20); /* DBO */
    put_frame(b, TXBUF, 80, 3);
    /* words stored big-endian */
    d = gp(b, TXRING);
    {
        uint32_t w[4] = { OWN, T_FS | T_LS | T_TER | 80u, TXBUF, 0 };
        uint8_t *p = gp(b, TXRING);
        for (int i = 0; i < 4; i++) {
            p[4 * i] = (uint8_t)(w[i] >> 24);
            p[4 * i + 1] = (uint8_t)(w[i] >> 16);
            p[4 * i + 2] = (uint8_t)(w[i] >> 8);
            p[4 * i + 3] = (uint8_t)w[i];
        }
        w[0] = OWN;
        w[1] = R_RER | 1536u;
        w[2] = RXBUF;
        p = gp(b, RXRING);
        for (int i = 0; i < 4; i++) {
            p[4 * i] = (uint8_t)(w[i] >> 24);
            p[4 * i + 1] = (uint8_t)(w[i] >> 16);
            p[4 * i + 2] = (uint8_t)(w[i] >> 8);
            p[4 * i + 3] = (uint8_t)w[i];
        }
    }
    start(b, RXRING, TXRING, M_ST | M_SR | M_PR);
    assert_int_equal(b->ntx, 1);
    assert_int_equal(b->txlen[0], 80);
    assert_int_equal(d[0], 0); /* OWN (MSB, first byte) cleared */
    mkframe(f, 80, tb_mac, 4);
    assert_int_equal(vspn_tulip_receive(b->t, f, 80), 0);
    d = gp(b, RXRING);
    assert_int_equal(d[0] & 0x80, 0);
    assert_int_equal(((uint32_t)d[0] << 8 | d[1]) & 0x3fff, 84); /* FL */
    assert_int_equal(d[2] & 0x03, 0x03);                          /* FS|LS */
    assert_memory_equal(gp(b, RXBUF), f, 80);
    tb_free(b);
}

static void test_linux_sequence(void **state)
{
    struct tb *b = tb_new();
    uint8_t f[128];
    uint32_t s, r;
    unsigned irqs;

    (void)state;
    tb_up(b, 8);
    s = rd(b, 5);
    assert_int_equal(S_RS(s), 3);
    assert_int_equal(S_TS(s), 6);
    assert_int_equal(vspn_tulip_stats(b->t)->tx_setup_frames, 1);
    /* a unicast for us: interrupt, RI|NIS; the driver acks the value it
     * read & 0x0001FFFF and the line drops */
    irqs = b->irq_true;
    mkframe(f, sizeof(f), tb_mac, 1);
    assert_int_equal(vspn_tulip_receive(b->t, f, sizeof(f)), 0);
    assert_true(b->irq_level);
    assert_true(b->irq_true > irqs);
    s = rd(b, 5);
    assert_true((s & (S_NIS | S_RI)) == (S_NIS | S_RI));
    r = r32(b, RXRING);
    assert_int_equal(r & 0x38008300u, 0x0300u);
    assert_int_equal(R_FL(r) - 4, sizeof(f));
    wr(b, 5, s & 0x0001ffffu);
    assert_false(b->irq_level);
    assert_int_equal(rd(b, 5) & 0x1ffffu, 0);
    /* transmit per §9.3 at entry 1 (entry 0 held the setup frame) */
    put_frame(b, TXBUF, 300, 2);
    desc(b, TXRING + 16, 0, T_IC | T_FS | T_LS | 300u, TXBUF, 0);
    g32(b, TXRING + 16, OWN);
    wr(b, 1, 0);
    assert_int_equal(b->ntx, 1);
    assert_sent(b, 0, TXBUF, 300);
    s = rd(b, 5);
    assert_true(s & S_TI);
    assert_true(b->irq_level);
    wr(b, 5, s & 0x0001ffffu);
    assert_false(b->irq_level);
    /* stop (§6): RS = TS = 0 at once */
    wr(b, 7, 0);
    wr(b, 6, M_MBO);
    s = rd(b, 5);
    assert_int_equal((s >> 17) & 0x3fu, 0);
    assert_int_equal(rd(b, 8), 0xe0000000u);
    assert_int_equal(vspn_tulip_receive(b->t, f, sizeof(f)), -ENETDOWN);
    assert_false(b->irq_level);
    tb_free(b);
}

/* Linux tulip_interrupt() on a 21140 after more work than its limits in
 * one interrupt: acknowledge all, CSR7 = ((~csr5) & 0x0001EBEF) | AIS |
 * GTE, CSR11 = 0x12; its GTE branch restores CSR7 = 0x0001EBEF.  Frames
 * keep coming meanwhile without an interrupt; the timer's period is 0x12
 * ticks of 81.92 µs on the 100 Mb/s MII port Linux selects (CSR6
 * 0x020E0000), and its expiry is what interrupts (bug: CSR11 never
 * expired, receive interrupts stayed masked under any inbound load). */
static void test_linux_too_much_work(void **state)
{
    struct tb *b = tb_new();
    uint8_t f[100];
    uint32_t s;
    unsigned irqs;

    (void)state;
    tb_up(b, 8);
    wr(b, 6, M_MBO | M_PS | (1u << 19) | (1u << 17) | M_ST | M_SR);
    wr(b, 5, 0x0001ffffu);
    mkframe(f, sizeof(f), tb_bcast, 1);
    for (unsigned i = 0; i < 4; i++)
        assert_int_equal(vspn_tulip_receive(b->t, f, sizeof(f)), 0);
    assert_true(b->irq_level);
    s = rd(b, 5);
    assert_true(s & S_RI);
    /* too much work */
    wr(b, 5, 0x8001ffffu);
    wr(b, 7, ((~s) & 0x0001ebefu) | S_AIS | S_GTE);
    wr(b, 11, 0x0012);
    assert_false(b->irq_level);
    assert_int_equal(vspn_tulip_gp_timer_ns(b->t, NULL, NULL), 1474560u);
    /* the flood goes on: received, no interrupt */
    irqs = b->irq_true;
    for (unsigned i = 0; i < 4; i++)
        assert_int_equal(vspn_tulip_receive(b->t, f, sizeof(f)), 0);
    assert_true(rd(b, 5) & S_RI);
    assert_false(b->irq_level);
    assert_int_equal(b->irq_true, irqs);
    /* 1.47 ms later: GTE interrupts */
    vspn_tulip_gp_timer_expire(b->t);
    assert_true(b->irq_level);
    assert_int_equal(b->irq_true, irqs + 1);
    s = rd(b, 5);
    assert_int_equal(s & (S_GTE | S_AIS | S_RI), S_GTE | S_AIS | S_RI);
    /* the driver's GTE branch: everything enabled again */
    wr(b, 5, s & 0x0001ffffu);
    wr(b, 7, 0x0001ebefu);
    assert_false(b->irq_level);
    for (unsigned i = 0; i < 8; i++)
        desc(b, RXRING + 16 * i, OWN, (i == 7 ? R_RER : 0) | 1536u,
             RXBUF + 2048u * i, 0);
    assert_int_equal(vspn_tulip_receive(b->t, f, sizeof(f)), 0);
    assert_true(b->irq_level);
    assert_true(rd(b, 5) & S_NIS);
    assert_int_equal(vspn_tulip_gp_timer_ns(b->t, NULL, NULL), 0);
    assert_int_equal(vspn_tulip_stats(b->t)->gp_timer_expiries, 1);
    tb_free(b);
}

static void test_tx_budget_and_poll(void **state)
{
    struct tb *b = tb_new();
    const struct vspn_tulip_stats *st = vspn_tulip_stats(b->t);
    const unsigned n = 300;

    (void)state;
    put_frame(b, TXBUF, 60, 1);
    for (unsigned i = 0; i < n; i++)
        desc(b, TXRING + 16 * i, OWN,
             T_FS | T_LS | (i == n - 1 ? T_TER : 0) | 60u, TXBUF, 0);
    start(b, RXRING, TXRING, M_ST);
    assert_int_equal(b->ntx, VSPN_TULIP_TX_BUDGET);
    assert_true(vspn_tulip_pending(b->t));
    assert_int_equal(st->budget_exhausted, 1);
    assert_string_equal(vspn_tulip_tx_state(b->t), "running");
    assert_false(vspn_tulip_poll(b->t));
    assert_int_equal(b->ntx, n);
    assert_false(vspn_tulip_pending(b->t));
    assert_int_equal(S_TS(rd(b, 5)), 6);
    assert_false(vspn_tulip_poll(b->t)); /* nothing to do */
    assert_int_equal(b->ntx, n);

    /* Stopping the transmitter cancels pending work. */
    for (unsigned i = 0; i < n; i++)
        g32(b, TXRING + 16 * i, OWN);
    wr(b, 1, 0);
    assert_true(vspn_tulip_pending(b->t));
    wr(b, 6, M_MBO);
    assert_false(vspn_tulip_pending(b->t));
    assert_false(vspn_tulip_poll(b->t));
    assert_int_equal(b->ntx, n + VSPN_TULIP_TX_BUDGET);
    assert_true(rd(b, 5) & S_TPS);
    tb_free(b);
}

/* Transmit automatic polling (§3.1 TAP): a period only while TAP is on and
 * the transmitter is suspended; a TAP poll sends what the guest owned to
 * the device without a CSR1 write, and does nothing otherwise. */
static void test_tx_automatic_polling(void **state)
{
    static const uint64_t want_ns[8] = {
        0, 200000, 800000, 1600000, 12800, 25600, 51200, 102400,
    };
    struct tb *b = tb_new();
    const struct vspn_tulip_stats *st = vspn_tulip_stats(b->t);

    (void)state;
    desc(b, TXRING, 0, 0, 0, 0);
    desc(b, TXRING + 16, 0, T_TER, 0, 0);
    wr(b, 0, 1u << 17); /* TAP 1 while stopped: nothing to poll for */
    assert_int_equal(vspn_tulip_tap_period_ns(b->t), 0);
    vspn_tulip_tap(b->t);
    assert_int_equal(st->tap_polls, 0);
    start(b, RXRING, TXRING, M_ST); /* empty ring: suspended */
    for (uint32_t code = 0; code < 8; code++) {
        wr(b, 0, code << 17);
        assert_int_equal(vspn_tulip_tap_period_ns(b->t), want_ns[code]);
    }
    assert_int_equal(rd(b, 0) >> 17 & 7u, 7); /* TAP reads back */

    /* TAP off: the timer's call is a no-op, the frame waits for CSR1. */
    wr(b, 0, 0);
    put_frame(b, TXBUF, 60, 1);
    desc(b, TXRING, OWN, T_FS | T_LS | 60u, TXBUF, 0);
    vspn_tulip_tap(b->t);
    assert_int_equal(b->ntx, 0);
    assert_int_equal(st->tap_polls, 0);

    /* TAP on: the poll sends it, closes the descriptor, suspends again. */
    wr(b, 0, 2u << 17);
    wr(b, 5, 0x1ffff);
    vspn_tulip_tap(b->t);
    assert_int_equal(st->tap_polls, 1);
    assert_int_equal(b->ntx, 1);
    assert_sent(b, 0, TXBUF, 60);
    assert_int_equal(r32(b, TXRING), 0);
    assert_int_equal(S_TS(rd(b, 5)), 6);
    assert_true(rd(b, 5) & S_TU); /* the next descriptor is the guest's */
    assert_int_equal(vspn_tulip_tap_period_ns(b->t), 800000);
    vspn_tulip_tap(b->t); /* nothing owned: polls, sends nothing */
    assert_int_equal(st->tap_polls, 2);
    assert_int_equal(b->ntx, 1);

    /* The next frame goes on the next period's poll. */
    put_frame(b, TXBUF, 60, 2);
    desc(b, TXRING + 16, OWN, T_FS | T_LS | T_TER | 60u, TXBUF, 0);
    vspn_tulip_tap(b->t);
    assert_int_equal(b->ntx, 2);
    assert_int_equal(S_TS(rd(b, 5)), 6);

    /* Stopped, or reset: no period, and a late timer call does nothing. */
    wr(b, 6, M_MBO);
    assert_int_equal(vspn_tulip_tap_period_ns(b->t), 0);
    desc(b, TXRING, OWN, T_FS | T_LS | 60u, TXBUF, 0);
    vspn_tulip_tap(b->t);
    assert_int_equal(b->ntx, 2);
    wr(b, 6, M_MBO | M_ST); /* sends it (a CSR6 ST fetches at once) */
    assert_int_equal(b->ntx, 3);
    assert_int_equal(vspn_tulip_tap_period_ns(b->t), 800000);
    wr(b, 0, 1); /* SWR */
    assert_int_equal(vspn_tulip_tap_period_ns(b->t), 0);
    assert_int_equal(st->tap_polls, 3);
    tb_free(b);
}

/* CSR4 written while the transmit process runs (its budget ran out, work
 * left): the process waits at the new list as suspended, so a TAP period
 * takes it up.  Bug: it stayed "running" with nothing pending, no TAP
 * period (TAP polls only a suspended process), until the next CSR1. */
#define BIGRING (GBASE + 0x30000u)

static void test_tx_list_moved_while_running(void **state)
{
    struct tb *b = tb_new();
    const unsigned n = VSPN_TULIP_TX_BUDGET + 44;

    (void)state;
    put_frame(b, TXBUF, 60, 1);
    for (unsigned i = 0; i < n; i++)
        desc(b, BIGRING + 16 * i, OWN,
             T_FS | T_LS | (i == n - 1 ? T_TER : 0) | 60u, TXBUF, 0);
    wr(b, 0, 1u << 17); /* TAP 1 */
    start(b, RXRING, BIGRING, M_ST); /* fetches at once: the budget ends */
    assert_true(vspn_tulip_pending(b->t));
    assert_int_not_equal(S_TS(rd(b, 5)), 6);
    assert_int_equal(vspn_tulip_tap_period_ns(b->t), 0);
    wr(b, 4, BIGRING + 16 * 8); /* moved, ST still set */
    assert_false(vspn_tulip_pending(b->t));
    assert_int_equal(S_TS(rd(b, 5)), 6);
    assert_int_equal(vspn_tulip_tap_period_ns(b->t), 200000);
    /* the TAP period finds the new head the guest's (sent): suspended */
    vspn_tulip_tap(b->t);
    assert_int_equal(S_TS(rd(b, 5)), 6);
    tb_free(b);
}

/* Bus mastering off (PCI command bit 2; Linux clears it before kexec):
 * the device must not read or write guest memory (bug: the model and the
 * glue only checked that memory was attached). */
static void test_bus_master_off(void **state)
{
    struct tb *b = tb_new();
    const struct vspn_tulip_stats *st = vspn_tulip_stats(b->t);
    const uint8_t other[6] = { 0x00, 0x15, 0x5d, 0x0e, 0x0e, 0x0e };
    uint8_t f[80];
    unsigned reads, writes;

    (void)state;
    tb_up(b, 4);
    wr(b, 0, 0x01a08000u | (1u << 17)); /* TAP 1 */
    wr(b, 5, 0x0001ffffu);
    assert_int_equal(vspn_tulip_tap_period_ns(b->t), 200000);
    vspn_tulip_cfg_write(b->t, 0x04, 2, VSPN_TULIP_PCI_CMD_IO);
    assert_int_equal(vspn_tulip_pci_command(b->t), VSPN_TULIP_PCI_CMD_IO);
    reads = b->dma_reads;
    writes = b->dma_writes;

    /* a frame for us: lost before any descriptor is read */
    mkframe(f, sizeof(f), tb_mac, 1);
    assert_int_equal(vspn_tulip_receive(b->t, f, sizeof(f)), -EACCES);
    assert_int_equal(b->dma_reads, reads);
    assert_int_equal(b->dma_writes, writes);
    assert_int_equal(st->rx_no_bus_master, 1);
    assert_int_equal(r32(b, RXRING), OWN);
    /* one the filter refuses: refused, as with the bus */
    mkframe(f, sizeof(f), other, 2);
    assert_int_equal(vspn_tulip_receive(b->t, f, sizeof(f)), -EPERM);
    assert_int_equal(st->rx_no_bus_master, 1);

    /* TAP has nothing it could do; a poll demand stalls the transmitter
     * at its fetch: nothing read, nothing sent, no bus error */
    assert_int_equal(vspn_tulip_tap_period_ns(b->t), 0);
    put_frame(b, TXBUF, 60, 3);
    desc(b, TXRING + 16, OWN, T_FS | T_LS | 60u, TXBUF, 0);
    vspn_tulip_tap(b->t);
    assert_int_equal(st->tap_polls, 0);
    wr(b, 1, 0);
    assert_int_equal(b->dma_reads, reads);
    assert_int_equal(b->dma_writes, writes);
    assert_int_equal(b->ntx, 0);
    assert_int_equal(S_TS(rd(b, 5)), 1); /* running: fetching */
    assert_int_equal(rd(b, 5) & 0x1ffffu, 0); /* no FBE, RI, TU ... */
    assert_false(vspn_tulip_pending(b->t));
    assert_false(vspn_tulip_poll(b->t));
    assert_int_equal(b->dma_reads, reads);
    assert_int_equal(st->dma_errors, 0);
    assert_false(b->irq_level);

    /* the bit back: the stalled fetch goes on, and frames come in */
    vspn_tulip_cfg_write(b->t, 0x04, 2, TB_PCI_CMD);
    assert_true(vspn_tulip_pending(b->t));
    assert_false(vspn_tulip_poll(b->t));
    assert_int_equal(b->ntx, 1);
    assert_sent(b, 0, TXBUF, 60);
    assert_int_equal(r32(b, TXRING + 16), 0);
    assert_int_equal(S_TS(rd(b, 5)), 6);
    mkframe(f, sizeof(f), tb_mac, 4);
    assert_int_equal(vspn_tulip_receive(b->t, f, sizeof(f)), 0);
    assert_false(r32(b, RXRING) & OWN);

    /* a stall ends with the transmitter stopped, or with a reset */
    vspn_tulip_cfg_write(b->t, 0x04, 2, 0);
    wr(b, 1, 0);
    wr(b, 6, M_MBO);
    vspn_tulip_cfg_write(b->t, 0x04, 2, TB_PCI_CMD);
    assert_false(vspn_tulip_pending(b->t));
    vspn_tulip_cfg_write(b->t, 0x04, 2, 0);
    wr(b, 6, M_MBO | M_ST);
    wr(b, 0, 1);
    vspn_tulip_cfg_write(b->t, 0x04, 2, TB_PCI_CMD);
    assert_false(vspn_tulip_pending(b->t));
    assert_int_equal(b->ntx, 1);
    assert_int_equal(st->dma_errors, 0);
    tb_free(b);
}

/* ---- TESTS.md A.9 -------------------------------------------------------------- */

/* A frame of `total` bytes over 4 descriptors with both buffers. */
static void tx_four(struct tb *b, uint32_t ring, uint32_t total)
{
    uint32_t part = total / 8, off = 0;

    put_frame(b, TXBUF, total < MAXF + 8 ? total : MAXF + 8, 3);
    for (unsigned i = 0; i < 4; i++) {
        uint32_t s1 = part, s2 = i == 3 ? total - off - part : part;
        desc(b, ring + 16 * i, OWN,
             (i == 0 ? T_FS : 0) | (i == 3 ? T_LS | T_IC : 0) | BS(s1, s2),
             TXBUF + off, TXBUF + off + s1);
        off += s1 + s2;
    }
    g32(b, ring + 64, 0);
}

static void test_a9_tx_frame_max(void **state)
{
    struct tb *b = tb_new();
    const struct vspn_tulip_stats *st = vspn_tulip_stats(b->t);

    (void)state;
    start(b, RXRING, TXRING, M_ST);
    for (int d = -1; d <= 1; d++) {
        uint32_t total = MAXF + (uint32_t)d, ring = TXRING + 0x100 * (uint32_t)(d + 2);
        uint64_t dropped = st->tx_dropped;
        unsigned ntx = b->ntx;

        wr(b, 5, 0x1ffff);
        tx_four(b, ring, total);
        wr(b, 6, M_MBO);
        wr(b, 4, ring);
        wr(b, 6, M_MBO | M_ST);
        for (unsigned i = 0; i < 3; i++)
            assert_int_equal(r32(b, ring + 16 * i), 0);
        if (d <= 0) {
            assert_int_equal(b->ntx, ntx + 1);
            assert_sent(b, ntx, TXBUF, total);
            assert_int_equal(r32(b, ring + 48), 0);
            assert_false(rd(b, 5) & S_TJT);
        } else {
            assert_int_equal(b->ntx, ntx);
            assert_int_equal(st->tx_dropped, dropped + 1);
            assert_int_equal(r32(b, ring + 48), T_ES | T_TO);
            assert_true(rd(b, 5) & S_TJT);
        }
        assert_true(rd(b, 5) & S_TI);
        assert_int_equal(S_TS(rd(b, 5)), 6); /* still alive, suspended */
    }
    /* One descriptor with both 11-bit sizes at their maximum. */
    desc(b, TXRING, OWN, T_FS | T_LS | T_TER | BS(2047, 2047), TXBUF,
         TXBUF + 2047);
    wr(b, 6, M_MBO);
    wr(b, 4, TXRING);
    wr(b, 6, M_MBO | M_ST);
    assert_int_equal(r32(b, TXRING), T_ES | T_TO);
    assert_int_equal(st->tx_dropped, 2);
    assert_int_equal(b->ntx, 2);

    /* Descriptors per frame: MAX_CHAIN passes, MAX_CHAIN + 1 is dropped. */
    for (unsigned extra = 0; extra <= 1; extra++) {
        unsigned nd = VSPN_TULIP_MAX_CHAIN + extra;
        put_frame(b, TXBUF, nd * 10, 4);
        for (unsigned i = 0; i < nd; i++)
            desc(b, TXRING + 16 * i, OWN,
                 (i == 0 ? T_FS : 0) | (i == nd - 1 ? T_LS | T_TER : 0) | 10u,
                 TXBUF + 10 * i, 0);
        wr(b, 6, M_MBO);
        wr(b, 4, TXRING);
        wr(b, 6, M_MBO | M_ST);
        if (!extra) {
            assert_int_equal(b->ntx, 3);
            assert_sent(b, 2, TXBUF, nd * 10);
        } else {
            assert_int_equal(b->ntx, 3);
            assert_int_equal(st->tx_dropped, 3);
            assert_int_equal(r32(b, TXRING + 16 * (nd - 1)), T_ES | T_TO);
        }
    }
    /* responsive: an ordinary frame still goes out */
    put_frame(b, TXBUF, 64, 5);
    desc(b, TXRING, OWN, T_FS | T_LS | T_TER | 64u, TXBUF, 0);
    wr(b, 1, 0);
    assert_int_equal(b->ntx, 4);
    assert_sent(b, 3, TXBUF, 64);
    assert_int_equal(st->dma_errors, 0);
    tb_free(b);
}

static void test_a9_rx_chain_max(void **state)
{
    struct tb *b = tb_new();
    const struct vspn_tulip_stats *st = vspn_tulip_stats(b->t);
    uint8_t f[MAXF];
    const uint32_t need = MAXF + 4;

    (void)state;
    mkframe(f, MAXF, tb_mac, 8);
    start(b, RXRING, TXRING, M_SR | M_PR);
    for (int d = -1; d <= 1; d++) {
        uint32_t cap = need + (uint32_t)d, ring = RXRING + 0x100 * (uint32_t)(d + 2);
        uint32_t s = cap / 4, last = cap - 3 * s, r;
        int rc;

        /* four descriptors (chained), fifth host-owned */
        for (unsigned i = 0; i < 4; i++)
            desc(b, ring + 16 * i, OWN, R_RCH | BS(i == 3 ? last : s, 0),
                 RXBUF + 2048 * i, ring + 16 * (i + 1));
        desc(b, ring + 64, 0, R_RCH | 1536u, RXBUF + 0x4000, ring);
        wr(b, 6, M_MBO);
        wr(b, 3, ring);
        wr(b, 6, M_MBO | M_SR | M_PR);
        rc = vspn_tulip_receive(b->t, f, MAXF);
        r = r32(b, ring + 48);
        assert_int_equal(r32(b, ring) & (R_FS | OWN), R_FS);
        assert_true(r & R_LS);
        assert_int_equal(R_FL(r), need);
        if (d < 0) {
            assert_int_equal(rc, -EAGAIN);
            assert_int_equal(r & (R_ES | R_DE), R_ES | R_DE);
            assert_int_equal(st->rx_dropped, 1);
            assert_true(rd(b, 5) & S_RU);
            assert_int_equal(S_RS(rd(b, 5)), 4);
        } else {
            assert_int_equal(rc, 0);
            assert_false(r & (R_ES | R_DE));
            assert_memory_equal(gp(b, RXBUF), f, s);
            assert_memory_equal(gp(b, RXBUF + 2048 * 3), f + 3 * s,
                                MAXF - 3 * s);
            assert_int_equal(r32(b, RXBUF + 2048 * 3 + MAXF - 3 * s),
                             ref_crc32(f, MAXF));
        }
        assert_true(r32(b, ring + 64) == (R_RCH | 1536u) ||
                    !(r32(b, ring + 64) & OWN));
    }
    assert_int_equal(st->rx_frames, 2);
    assert_int_equal(st->dma_errors, 0);
    tb_free(b);
}

static void test_a9_circular_tx(void **state)
{
    struct tb *b = tb_new();
    const struct vspn_tulip_stats *st = vspn_tulip_stats(b->t);
    unsigned reads;

    (void)state;
    /* (a) one descriptor chained to itself, FS without LS: taken once,
     * closed, then found host-owned — the walk ends. */
    put_frame(b, TXBUF, 100, 1);
    desc(b, TXRING, OWN, T_TCH | T_FS | 100u, TXBUF, TXRING);
    start(b, RXRING, TXRING, M_ST);
    reads = b->dma_reads;
    assert_true(reads <= 4);
    assert_int_equal(r32(b, TXRING), 0);
    assert_int_equal(S_TS(rd(b, 5)), 6);
    assert_false(vspn_tulip_pending(b->t));
    assert_int_equal(b->ntx, 0);

    /* (b) hostile: FS, then a descriptor chained to itself that the
     * guest re-arms as soon as it is cleared.  Each kick stops after
     * exactly the budget; poll continues in bounded steps; the frame grows
     * past MAX_CHAIN and MAX_FRAME without ever writing past the frame
     * buffer, and nothing is sent (no LS). */
    desc(b, TXRING, OWN, T_TCH | T_FS | 14u, TXBUF, TXRING + 16);
    desc(b, TXRING + 16, OWN, T_TCH | 10u, TXBUF, TXRING + 16);
    b->rearm_own = true;
    for (unsigned k = 0; k < 5; k++) {
        reads = b->dma_reads;
        if (k == 0)
            wr(b, 1, 0);
        else
            assert_true(vspn_tulip_poll(b->t));
        assert_true(b->dma_reads - reads <= 2 * VSPN_TULIP_TX_BUDGET + 2);
        assert_true(vspn_tulip_pending(b->t));
        assert_int_equal(st->budget_exhausted, k + 1);
    }
    assert_int_equal(b->ntx, 0);
    assert_int_equal(st->tx_dropped, 1); /* (a)'s frame, ended by FS */
    /* the transmitter can be stopped; the partial frame is dropped */
    wr(b, 6, M_MBO);
    assert_false(vspn_tulip_pending(b->t));
    assert_false(vspn_tulip_poll(b->t));
    assert_int_equal(st->tx_dropped, 2);
    /* the same with LS arriving at last: dropped as too long (ES|TO) */
    desc(b, TXRING, OWN, T_TCH | T_FS | 14u, TXBUF, TXRING + 16);
    desc(b, TXRING + 16, OWN, T_TCH | 10u, TXBUF, TXRING + 16);
    wr(b, 4, TXRING);
    wr(b, 6, M_MBO | M_ST);
    b->rearm_own = false;
    desc(b, TXRING + 16, OWN, T_TCH | T_LS | 10u, TXBUF, TXRING + 32);
    g32(b, TXRING + 32, 0);
    assert_false(vspn_tulip_poll(b->t));
    assert_int_equal(r32(b, TXRING + 16), T_ES | T_TO);
    assert_int_equal(st->tx_dropped, 3);
    assert_int_equal(b->ntx, 0);
    /* a self-chained FS-only descriptor: every FS restarts the frame,
     * dropping the previous one (counted), still bounded */
    b->rearm_own = true;
    desc(b, TXRING, OWN, T_TCH | T_FS | 100u, TXBUF, TXRING);
    wr(b, 6, M_MBO);
    wr(b, 4, TXRING);
    wr(b, 6, M_MBO | M_ST);
    assert_int_equal(st->tx_dropped, 3 + VSPN_TULIP_TX_BUDGET - 1);
    wr(b, 6, M_MBO);
    assert_int_equal(st->tx_dropped, 3 + VSPN_TULIP_TX_BUDGET);

    /* (c) a self-chained FS|LS frame, re-armed: 256 frames per kick. */
    desc(b, TXRING, OWN, T_TCH | T_FS | T_LS | 60u, TXBUF, TXRING);
    wr(b, 4, TXRING);
    wr(b, 6, M_MBO | M_ST);
    assert_int_equal(b->ntx, VSPN_TULIP_TX_BUDGET);
    assert_true(vspn_tulip_poll(b->t));
    assert_int_equal(b->ntx, 2 * VSPN_TULIP_TX_BUDGET);

    /* responsive: reset, ordinary frame */
    b->rearm_own = false;
    wr(b, 0, 1);
    assert_false(vspn_tulip_pending(b->t));
    desc(b, TXRING, OWN, T_FS | T_LS | T_TER | 60u, TXBUF, 0);
    start(b, RXRING, TXRING, M_ST);
    assert_int_equal(b->ntx, 2 * VSPN_TULIP_TX_BUDGET + 1);
    assert_int_equal(st->dma_errors, 0);
    tb_free(b);
}

static void test_a9_circular_rx(void **state)
{
    struct tb *b = tb_new();
    const struct vspn_tulip_stats *st = vspn_tulip_stats(b->t);
    uint8_t f[1000];
    unsigned reads;

    (void)state;
    mkframe(f, sizeof(f), tb_mac, 2);
    /* (a) one zero-size descriptor chained to itself */
    desc(b, RXRING, OWN, R_RCH, RXBUF, RXRING);
    start(b, RXRING, TXRING, M_SR | M_PR);
    reads = b->dma_reads;
    assert_int_equal(vspn_tulip_receive(b->t, f, sizeof(f)), -EAGAIN);
    assert_true(b->dma_reads - reads <= 2);
    assert_int_equal(r32(b, RXRING) & (OWN | R_FS | R_LS | R_DE),
                     R_FS | R_LS | R_DE);
    assert_int_equal(st->rx_dropped, 1);
    /* it is closed now: the next frame is missed, not looped */
    assert_int_equal(vspn_tulip_receive(b->t, f, sizeof(f)), -EAGAIN);
    assert_int_equal(st->rx_missed, 1);

    /* (b) two descriptors pointing at each other, too small together */
    desc(b, RXRING, OWN, R_RCH | 100u, RXBUF, RXRING + 16);
    desc(b, RXRING + 16, OWN, R_RCH | 100u, RXBUF + 2048, RXRING);
    wr(b, 6, M_MBO);
    wr(b, 3, RXRING);
    wr(b, 6, M_MBO | M_SR | M_PR);
    assert_int_equal(vspn_tulip_receive(b->t, f, sizeof(f)), -EAGAIN);
    assert_int_equal(r32(b, RXRING) & (OWN | R_FS | R_LS), R_FS);
    assert_int_equal(r32(b, RXRING + 16) & (R_FS | R_LS | R_DE),
                     R_LS | R_DE);
    assert_memory_equal(gp(b, RXBUF), f, 100);
    assert_memory_equal(gp(b, RXBUF + 2048), f + 100, 100);

    /* (c) hostile: re-armed 1-byte descriptors in a loop of 2 → the walk
     * stops at the duplicate; a ring of 100 1-byte descriptors stops at
     * VSPN_TULIP_MAX_CHAIN. */
    b->rearm_own = true;
    for (unsigned i = 0; i < 100; i++)
        desc(b, RXRING + 16 * i, OWN, (i == 99 ? R_RER : 0) | 1u,
             RXBUF + i, 0);
    wr(b, 6, M_MBO);
    wr(b, 3, RXRING);
    wr(b, 6, M_MBO | M_SR | M_PR);
    reads = b->dma_reads;
    assert_int_equal(vspn_tulip_receive(b->t, f, sizeof(f)), -EAGAIN);
    assert_int_equal(b->dma_reads - reads, VSPN_TULIP_MAX_CHAIN);
    assert_true(r32(b, RXRING + 16 * (VSPN_TULIP_MAX_CHAIN - 1)) & R_DE);
    assert_memory_equal(gp(b, RXBUF), f, VSPN_TULIP_MAX_CHAIN);
    /* and the receiver keeps going from there, still bounded */
    reads = b->dma_reads;
    assert_int_equal(vspn_tulip_receive(b->t, f, sizeof(f)), -EAGAIN);
    assert_int_equal(b->dma_reads - reads, VSPN_TULIP_MAX_CHAIN);
    b->rearm_own = false;
    assert_int_equal(st->dma_errors, 0);
    assert_int_equal(st->rx_frames, 0);

    /* responsive */
    desc(b, RXRING, OWN, R_RER | 1536u, RXBUF, 0);
    wr(b, 6, M_MBO);
    wr(b, 3, RXRING);
    wr(b, 6, M_MBO | M_SR | M_PR);
    assert_int_equal(vspn_tulip_receive(b->t, f, sizeof(f)), 0);
    tb_free(b);
}

static void test_a9_zero_length(void **state)
{
    struct tb *b = tb_new();
    const struct vspn_tulip_stats *st = vspn_tulip_stats(b->t);
    uint8_t f[200];

    (void)state;
    put_frame(b, TXBUF, 200, 6);
    /* dummy (no FS/LS, sizes 0); FS|LS of size 0 (dropped: no header);
     * FS size 0 / data / LS size 0 (a normal frame); LS without FS. */
    desc(b, TXRING, OWN, 0, 0xdead0000u, 0xdead0000u);
    desc(b, TXRING + 16, OWN, T_FS | T_LS, 0xdead0000u, 0);
    desc(b, TXRING + 32, OWN, T_FS, 0xdead0000u, 0);
    desc(b, TXRING + 48, OWN, BS(150, 50), TXBUF, TXBUF + 150);
    desc(b, TXRING + 64, OWN, T_LS | BS(0, 0), 0xdead0000u, 0);
    desc(b, TXRING + 80, OWN, T_LS | T_TER | 60u, TXBUF, 0);
    start(b, RXRING, TXRING, M_ST);
    assert_int_equal(b->ntx, 1);
    assert_sent(b, 0, TXBUF, 200);
    assert_int_equal(st->tx_dropped, 2);
    assert_int_equal(st->dma_errors, 0); /* zero sizes never touch memory */
    for (unsigned i = 0; i < 6; i++)
        assert_false(r32(b, TXRING + 16 * i) & OWN);
    assert_int_equal(S_TS(rd(b, 5)), 6);

    /* RX: zero-size owned descriptors are consumed (closed) and the frame
     * continues in the next one. */
    mkframe(f, sizeof(f), tb_mac, 7);
    desc(b, RXRING, OWN, 0, 0xdead0000u, 0xdead0000u);
    desc(b, RXRING + 16, OWN, R_RER | 1536u, RXBUF, 0);
    wr(b, 3, RXRING);
    wr(b, 6, M_MBO | M_ST | M_SR | M_PR);
    assert_int_equal(vspn_tulip_receive(b->t, f, sizeof(f)), 0);
    assert_int_equal(r32(b, RXRING), R_FS);
    assert_int_equal(r32(b, RXRING + 16) & (R_FS | R_LS | OWN), R_LS);
    assert_memory_equal(gp(b, RXBUF), f, sizeof(f));
    assert_int_equal(st->dma_errors, 0);
    tb_free(b);
}

static void assert_bus_error(struct tb *b, uint64_t errors)
{
    uint32_t s = rd(b, 5);

    assert_true(s & S_FBE);
    assert_int_equal(S_EB(s), 1);
    assert_int_equal(S_RS(s), 0);
    assert_int_equal(S_TS(s), 0);
    assert_int_equal(rd(b, 6) & (M_SR | M_ST), 0);
    assert_int_equal(vspn_tulip_stats(b->t)->dma_errors, errors);
    assert_true(b->irq_level); /* FBE is abnormal, enabled by 0x1EBEF */
    assert_false(vspn_tulip_pending(b->t));
}

static void test_a9_outside_memory(void **state)
{
    struct tb *b = tb_new();
    const struct vspn_tulip_stats *st = vspn_tulip_stats(b->t);
    uint8_t f[64];
    uint64_t refused, frames, dropped;

    (void)state;
    mkframe(f, sizeof(f), tb_mac, 1);
    /* Transmit list head outside guest RAM. */
    start(b, RXRING, 0x10, M_ST);
    assert_bus_error(b, 1);
    assert_int_equal(b->refused, 1);
    /* the device answers and can be restarted */
    assert_int_equal(rd(b, 0), 0xfe000000u);
    wr(b, 5, 0x1ffff);
    assert_false(b->irq_level);
    put_frame(b, TXBUF, 64, 2);
    desc(b, TXRING, OWN, T_FS | T_LS | T_TCH | 64u, TXBUF, 0xfffffff0u);
    wr(b, 4, TXRING);
    wr(b, 6, M_MBO | M_ST);
    /* (the frame went out, then the chained next pointer faulted) */
    assert_int_equal(b->ntx, 1);
    assert_bus_error(b, 2);
    /* a buffer in the device's own register window (MMIO): refused */
    wr(b, 5, 0x1ffff);
    desc(b, TXRING, OWN, T_FS | T_LS | T_TER | 64u, MMIO_BASE, 0);
    wr(b, 4, TXRING);
    wr(b, 6, M_MBO | M_ST);
    assert_bus_error(b, 3);
    assert_int_equal(b->ntx, 1);
    assert_true(r32(b, TXRING) & OWN); /* not closed */
    /* a buffer straddling the end of guest RAM */
    wr(b, 5, 0x1ffff);
    desc(b, TXRING, OWN, T_FS | T_LS | T_TER | 64u, GBASE + GSIZE - 32, 0);
    wr(b, 6, M_MBO | M_ST);
    assert_bus_error(b, 4);
    /* a descriptor whose 16 bytes wrap the 32-bit space */
    wr(b, 5, 0x1ffff);
    wr(b, 4, 0xfffffff8u);
    wr(b, 6, M_MBO | M_ST);
    assert_bus_error(b, 5);

    /* Receive list head outside, then a buffer outside. */
    wr(b, 5, 0x1ffff);
    start(b, 0xfebf0000u, TXRING, M_SR | M_PR);
    assert_int_equal(vspn_tulip_receive(b->t, f, sizeof(f)), -EFAULT);
    assert_bus_error(b, 6);
    assert_int_equal(vspn_tulip_receive(b->t, f, sizeof(f)), -ENETDOWN);
    wr(b, 5, 0x1ffff);
    desc(b, RXRING, OWN, R_RER | 1536u, MMIO_BASE + 0x10, 0);
    start(b, RXRING, TXRING, M_SR | M_PR);
    assert_int_equal(vspn_tulip_receive(b->t, f, sizeof(f)), -EFAULT);
    assert_bus_error(b, 7);
    assert_true(r32(b, RXRING) & OWN);
    /* a chained next pointer outside, for the second part of a frame */
    wr(b, 5, 0x1ffff);
    desc(b, RXRING, OWN, R_RCH | 40u, RXBUF, 0x7ffffff0u);
    start(b, RXRING, TXRING, M_SR | M_PR);
    assert_int_equal(vspn_tulip_receive(b->t, f, sizeof(f)), -EFAULT);
    assert_bus_error(b, 8);
    /* a frame looped back into a receive list outside: dropped, once
     * (it was counted sent and dropped both) */
    wr(b, 5, 0x1ffff);
    frames = st->tx_frames;
    dropped = st->tx_dropped;
    put_frame(b, TXBUF, 64, 3);
    desc(b, TXRING, OWN, T_FS | T_LS | T_TER | 64u, TXBUF, 0);
    start(b, 0xfebf0000u, TXRING, M_SR | M_ST | M_PR | M_OM_INT);
    assert_bus_error(b, 9);
    assert_int_equal(st->tx_frames, frames);
    assert_int_equal(st->tx_dropped, dropped + 1);

    /* Recovery through software reset, then normal operation. */
    refused = b->refused;
    assert_int_equal(refused, 9);
    wr(b, 0, 1);
    assert_false(rd(b, 5) & S_FBE);
    tb_up(b, 2);
    assert_int_equal(vspn_tulip_receive(b->t, f, sizeof(f)), 0);
    assert_int_equal(st->rx_frames, 1);
    assert_int_equal(b->refused, refused);
    tb_free(b);
}

/* ---- TESTS.md A.10 ------------------------------------------------------------- */

static void test_a10_loopback(void **state)
{
    struct tb *b = tb_new();
    const struct vspn_tulip_stats *st = vspn_tulip_stats(b->t);
    uint8_t f[64];
    uint32_t r;

    (void)state;
    tb_up(b, 4);
    /* internal loopback: to our own MAC, delivered once, never sent */
    wr(b, 6, M_MBO | M_ST | M_SR | M_OM_INT);
    mkframe(gp(b, TXBUF), 100, tb_mac, 1);
    desc(b, TXRING + 16, OWN, T_FS | T_LS | T_IC | 100u, TXBUF, 0);
    g32(b, TXRING + 32, 0);
    wr(b, 1, 0);
    assert_int_equal(b->ntx, 0);
    assert_int_equal(st->tx_frames, 1);
    assert_int_equal(st->rx_frames, 1);
    r = r32(b, RXRING);
    assert_int_equal(r & (R_FS | R_LS | OWN), R_FS | R_LS);
    assert_int_equal(R_DT(r), 1);
    assert_int_equal(R_FL(r), 104);
    assert_memory_equal(gp(b, RXBUF), gp(b, TXBUF), 100);
    assert_true(r32(b, RXRING + 16) & OWN); /* exactly once */
    assert_true((rd(b, 5) & (S_TI | S_RI)) == (S_TI | S_RI));
    /* the wire is disconnected in internal loopback */
    mkframe(f, sizeof(f), tb_mac, 2);
    assert_int_equal(vspn_tulip_receive(b->t, f, sizeof(f)), -ENETDOWN);
    /* a looped frame the filter refuses is filtered, not sent */
    mkframe(gp(b, TXBUF), 100, peer, 1);
    desc(b, TXRING + 32, OWN, T_FS | T_LS | 100u, TXBUF, 0);
    g32(b, TXRING + 48, 0);
    wr(b, 1, 0);
    assert_int_equal(st->rx_filtered, 1);
    assert_int_equal(b->ntx, 0);
    /* receiver stopped: dropped with a counter */
    wr(b, 6, M_MBO | M_ST | M_OM_INT);
    mkframe(gp(b, TXBUF), 100, tb_mac, 1);
    desc(b, TXRING + 48, OWN, T_FS | T_LS | 100u, TXBUF, 0);
    g32(b, TXRING + 64, 0);
    wr(b, 1, 0);
    assert_int_equal(st->rx_dropped, 2); /* + the -ENETDOWN above */
    assert_int_equal(b->ntx, 0);
    /* external loopback: DT = 2, the wire still delivers */
    wr(b, 6, M_MBO | M_ST | M_SR | M_OM_EXT);
    desc(b, TXRING + 64, OWN, T_FS | T_LS | 100u, TXBUF, 0);
    g32(b, TXRING + 80, 0);
    wr(b, 1, 0);
    r = r32(b, RXRING + 16);
    assert_int_equal(R_DT(r), 2);
    assert_int_equal(vspn_tulip_receive(b->t, f, sizeof(f)), 0);
    assert_int_equal(R_DT(r32(b, RXRING + 32)), 0);
    assert_int_equal(b->ntx, 0);
    assert_int_equal(st->rx_frames, 3);

    /* Storm: self-chained TX descriptor and a 4-entry RX ring, both
     * re-armed by a hostile guest: each kick fetches exactly the budget of
     * descriptors (a transmit and a receive one per frame), receive never
     * transmits (no recursion), poll continues. */
    b->rearm_own = true;
    wr(b, 6, M_MBO | M_OM_INT);
    for (unsigned i = 0; i < 4; i++)
        desc(b, RXRING + 16 * i, OWN, (i == 3 ? R_RER : 0) | 1536u,
             RXBUF + 2048 * i, 0);
    desc(b, TXRING, OWN, T_TCH | T_FS | T_LS | 100u, TXBUF, TXRING);
    wr(b, 3, RXRING);
    wr(b, 4, TXRING);
    wr(b, 6, M_MBO | M_ST | M_SR | M_OM_INT);
    assert_int_equal(st->rx_frames, 3 + VSPN_TULIP_TX_BUDGET / 2);
    assert_true(vspn_tulip_pending(b->t));
    assert_true(vspn_tulip_poll(b->t));
    assert_int_equal(st->rx_frames, 3 + VSPN_TULIP_TX_BUDGET);
    assert_int_equal(b->ntx, 0);
    b->rearm_own = false;
    wr(b, 6, M_MBO);
    assert_false(vspn_tulip_pending(b->t));
    assert_int_equal(st->dma_errors, 0);
    tb_free(b);
}

/* The loopback amplifier: every looped frame spread over 64 receive
 * descriptors of 12 + 12 bytes.  The budget counts those fetches too, so
 * one CSR1 write costs at most VSPN_TULIP_TX_BUDGET + VSPN_TULIP_MAX_CHAIN
 * descriptors (it cost 256 frames x 65 before), and poll goes on. */
static void test_a10_loopback_rx_chains(void **state)
{
    const unsigned nrx = 8 * VSPN_TULIP_MAX_CHAIN;
    struct tb *b = tb_new();
    const struct vspn_tulip_stats *st = vspn_tulip_stats(b->t);
    uint64_t reads;

    (void)state;
    b->rearm_own = true; /* every closed descriptor is owned again */
    for (unsigned i = 0; i < nrx; i++)
        desc(b, RXRING + 16 * i, OWN, (i == nrx - 1 ? R_RER : 0) | BS(12, 12),
             RXBUF + 32 * i, RXBUF + 32 * i + 16);
    mkframe(gp(b, TXBUF), 1514, tb_mac, 3);
    desc(b, TXRING, OWN, T_TCH | T_FS | T_LS | 1514u, TXBUF, TXRING);
    wr(b, 3, RXRING);
    wr(b, 4, TXRING);
    reads = st->desc_reads;
    wr(b, 6, M_MBO | M_ST | M_SR | M_PR | M_OM_INT);
    print_message("one kick: %llu fetches, %llu frames\n",
                  (unsigned long long)(st->desc_reads - reads),
                  (unsigned long long)st->rx_frames);
    assert_true(st->desc_reads - reads <=
                VSPN_TULIP_TX_BUDGET + VSPN_TULIP_MAX_CHAIN);
    assert_true(st->rx_frames >= 1 && st->rx_frames <= 4);
    assert_true(vspn_tulip_pending(b->t));
    for (unsigned k = 0; k < 10; k++) {
        reads = st->desc_reads;
        assert_true(vspn_tulip_poll(b->t));
        assert_true(st->desc_reads - reads <=
                    VSPN_TULIP_TX_BUDGET + VSPN_TULIP_MAX_CHAIN);
    }
    assert_true(st->rx_frames >= 11 && st->rx_frames <= 44);
    assert_int_equal(b->ntx, 0);
    b->rearm_own = false;
    wr(b, 6, M_MBO);
    assert_int_equal(st->dma_errors, 0);
    tb_free(b);
}

static void test_a10_self_dma(void **state)
{
    struct tb *b = tb_new();
    const struct vspn_tulip_stats *st = vspn_tulip_stats(b->t);
    uint8_t snap[64], f[100];

    (void)state;
    tb_up(b, 2);
    /* A TX buffer that is the TX ring itself: the descriptor bytes as
     * they were read (before closing) go out, once. */
    desc(b, TXRING + 16, OWN, T_FS | T_LS | 64u, TXRING, 0);
    g32(b, TXRING + 32, 0);
    memcpy(snap, gp(b, TXRING), 64);
    wr(b, 1, 0);
    assert_int_equal(b->ntx, 1);
    assert_int_equal(b->txlen[0], 64);
    assert_memory_equal(b->txf[0], snap, 64);
    assert_int_equal(r32(b, TXRING + 16), 0);
    assert_int_equal(S_TS(rd(b, 5)), 6);

    /* An RX buffer that is its own descriptor: the frame overwrites it,
     * then the status is written; the device used its copy, so the walk
     * continues at the next descriptor, once. */
    desc(b, RXRING, OWN, R_RCH | 1536u, RXRING, RXRING + 0x200);
    desc(b, RXRING + 0x200, OWN, R_RER | 1536u, RXBUF, 0);
    wr(b, 6, M_MBO | M_ST);
    wr(b, 3, RXRING);
    wr(b, 6, M_MBO | M_ST | M_SR);
    mkframe(f, sizeof(f), tb_mac, 3);
    assert_int_equal(vspn_tulip_receive(b->t, f, sizeof(f)), 0);
    assert_int_equal(r32(b, RXRING) & (OWN | R_FS | R_LS), R_FS | R_LS);
    assert_memory_equal(gp(b, RXRING + 4), f + 4, sizeof(f) - 4);
    assert_true(r32(b, RXRING + 0x200) & OWN);
    assert_int_equal(vspn_tulip_receive(b->t, f, sizeof(f)), 0);
    assert_false(r32(b, RXRING + 0x200) & OWN);
    assert_int_equal(st->rx_frames, 2);

    /* Loopback into an RX buffer that is the TX ring: the looped frame
     * rewrites the next TX descriptor with an owned one (frame bytes
     * 16..31), which is processed in turn — iteratively, never
     * recursively — and the walk ends at frame bytes 32..47 (zero). */
    wr(b, 6, M_MBO);
    memset(gp(b, TXRING), 0, 256);
    {
        uint8_t *p = gp(b, TXBUF);
        mkframe(p, 64, tb_mac, 4);
        memset(p + 32, 0, 32);
        /* bytes 16..31 of the frame land on TX descriptor 1 */
        uint32_t w[4] = { OWN, T_FS | T_LS | 64u, TXBUF, 0 };
        for (int i = 0; i < 4; i++)
            for (int k = 0; k < 4; k++)
                p[16 + 4 * i + k] = (uint8_t)(w[i] >> (8 * k));
    }
    desc(b, TXRING, OWN, T_FS | T_LS | 64u, TXBUF, 0);
    desc(b, RXRING, OWN, 1536u, TXRING, 0);
    desc(b, RXRING + 16, OWN, R_RER | 1536u, TXRING, 0);
    wr(b, 3, RXRING);
    wr(b, 4, TXRING);
    wr(b, 6, M_MBO | M_ST | M_SR | M_OM_INT);
    /* frame 1 looped into the TX ring (RX descriptor 0), arming TX
     * descriptor 1; frame 2 looped again (RX descriptor 1); TX descriptor
     * 2 is host-owned: suspended */
    assert_int_equal(st->tx_frames, 3);
    assert_int_equal(st->rx_frames, 4);
    assert_int_equal(st->rx_missed, 0);
    assert_int_equal(S_TS(rd(b, 5)), 6);
    assert_int_equal(b->ntx, 1);
    assert_false(vspn_tulip_pending(b->t));
    assert_int_equal(st->dma_errors, 0);
    tb_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tx_ring_ter),
        cmocka_unit_test(test_tx_skip_length),
        cmocka_unit_test(test_tx_chain_and_buffers),
        cmocka_unit_test(test_tx_dummy_before_setup),
        cmocka_unit_test(test_rx_ring_rer),
        cmocka_unit_test(test_rx_spanning_chain_dsl),
        cmocka_unit_test(test_big_endian_descriptors),
        cmocka_unit_test(test_linux_sequence),
        cmocka_unit_test(test_linux_too_much_work),
        cmocka_unit_test(test_tx_budget_and_poll),
        cmocka_unit_test(test_tx_automatic_polling),
        cmocka_unit_test(test_tx_list_moved_while_running),
        cmocka_unit_test(test_bus_master_off),
        cmocka_unit_test(test_a9_tx_frame_max),
        cmocka_unit_test(test_a9_rx_chain_max),
        cmocka_unit_test(test_a9_circular_tx),
        cmocka_unit_test(test_a9_circular_rx),
        cmocka_unit_test(test_a9_zero_length),
        cmocka_unit_test(test_a9_outside_memory),
        cmocka_unit_test(test_a10_loopback),
        cmocka_unit_test(test_a10_loopback_rx_chains),
        cmocka_unit_test(test_a10_self_dma),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
