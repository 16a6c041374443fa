/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_ring.c — objective: prove that the VMBus ring (hv/hv_ring.c) follows
 * the wire layout and signalling rules of spec vmbus.md §1-§5 and never
 * trusts the peer: index arithmetic at 0, 1, size−1, size and across the
 * wrap; write/read round trips that wrap; the TESTS.md A.1 index sweep
 * (every bad index breaks the ring, no access ever leaves the ring); the
 * A.2 descriptor length lies (each → -EPROTO plus its counter) and 10^6
 * random descriptors without a finding; and the exact signal decisions of
 * the writer (interrupt mask, empty → non-empty) and of the reader
 * (pending_send_sz rule) as tables; batched publication (hold/commit, the
 * masked reader's index stored once per batch) and the index views that
 * spare loads of the peer's line.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hv/hv_ring.h"
#include "hv_test_util.h"

static struct hv_ring *mk(struct tring *t, enum hv_ring_role role,
                          struct hv_stats *st, int *rc_out)
{
    struct hv_ring_cfg cfg = { .role = role, .dsize = t->dsize, .stats = st };
    struct hv_ring *r = NULL;
    int rc = hv_ring_create(&cfg, &tring_ops, t, &r);

    if (rc_out)
        *rc_out = rc;
    return rc ? NULL : r;
}

/* A ring of `dsize` data bytes with a writer and a reader, no stats. */
static void pair_new(struct tring *t, uint32_t dsize, struct hv_ring **w,
                     struct hv_ring **r)
{
    tring_init(t, dsize);
    *w = mk(t, HV_RING_WRITER, NULL, NULL);
    *r = mk(t, HV_RING_READER, NULL, NULL);
}

/* Destroys a writer/reader pair and frees their ring. */
static void pair_free(struct tring *t, struct hv_ring *w, struct hv_ring *r)
{
    hv_ring_destroy(w);
    hv_ring_destroy(r);
    tring_free(t);
}

static void test_index_arith(void **state)
{
    const uint32_t d = 4096;
    (void)state;
    assert_int_equal(hv_ring_bytes_readable(0, 0, d), 0);
    assert_int_equal(hv_ring_bytes_writable(0, 0, d), d);
    assert_int_equal(hv_ring_bytes_readable(8, 0, d), 8);
    assert_int_equal(hv_ring_bytes_writable(8, 0, d), d - 8);
    assert_int_equal(hv_ring_bytes_readable(0, 8, d), d - 8);
    assert_int_equal(hv_ring_bytes_writable(0, 8, d), 8);
    assert_int_equal(hv_ring_bytes_readable(d - 8, d - 8, d), 0);
    assert_int_equal(hv_ring_bytes_readable(1, 0, d), 1);
    assert_int_equal(hv_ring_bytes_readable(d - 1, 0, d), d - 1);
    assert_int_equal(hv_ring_bytes_readable(0, d - 1, d), 1);
    assert_int_equal(hv_ring_bytes_writable(d - 1, 0, d), 1);
    /* wrap: writer at 16 after wrapping, reader at d-16 */
    assert_int_equal(hv_ring_bytes_readable(16, d - 16, d), 32);
    assert_int_equal(hv_ring_bytes_writable(16, d - 16, d), d - 32);
    /* readable + writable == dsize always */
    for (uint32_t w = 0; w < 64; w += 8)
        for (uint32_t r = 0; r < 64; r += 8)
            assert_int_equal(hv_ring_bytes_readable(w, r, 64) +
                                 hv_ring_bytes_writable(w, r, 64), 64);
}

/* The writer refuses a write that would fill the ring completely. */
static void test_never_full(void **state)
{
    struct tring t;
    struct hv_ring *w, *r;
    uint8_t buf[64];
    struct hv_ring_pkt p;
    (void)state;

    pair_new(&t, 64, &w, &r);
    /* 16-byte packet + 8 trailer = 24; 64 → two fit (48), a third needs
     * writable (16) > 24: refused. */
    assert_int_equal(hv_ring_write_inband(w, 0, 1, NULL, 0, NULL), 0);
    assert_int_equal(hv_ring_write_inband(w, 0, 2, NULL, 0, NULL), 0);
    assert_int_equal(hv_ring_write_inband(w, 0, 3, NULL, 0, NULL), -EAGAIN);
    /* 40-byte packet: writable exactly 40 → refused (strictly greater). */
    assert_int_equal(hv_ring_read_pkt(r, buf, sizeof(buf), &p), 0);
    assert_int_equal(p.trans_id, 1);
    assert_int_equal(hv_ring_write_inband(w, 0, 4, buf, 16, NULL), -EAGAIN);
    assert_int_equal(hv_ring_write_inband(w, 0, 4, buf, 8, NULL), 0);
    hv_ring_destroy(w);
    hv_ring_destroy(r);
    assert_int_equal(t.oob, 0);
    tring_free(&t);
}

static void test_roundtrip_wrap(void **state)
{
    struct tring t;
    struct hv_ring *w, *r;
    struct hv_stats st = { 0 };
    uint8_t out[512], in[1024];
    struct hv_ring_pkt p;
    unsigned wrote = 0, got = 0, wraps = 0;
    uint32_t last = 0;
    (void)state;

    tring_init(&t, 512);
    w = mk(&t, HV_RING_WRITER, &st, NULL);
    r = mk(&t, HV_RING_READER, &st, NULL);
    srand(7);
    for (unsigned round = 0; round < 5000; round++) {
        size_t n = (size_t)(rand() % 120);
        for (size_t i = 0; i < n; i++)
            out[i] = (uint8_t)(wrote * 31 + i);
        int rc = hv_ring_write_inband(w, (uint16_t)(wrote & 1), wrote, out, n,
                                      NULL);
        if (rc == 0) {
            wrote++;
            if (hv_ring_own_index(w) < last)
                wraps++;
            last = hv_ring_own_index(w);
        } else {
            assert_int_equal(rc, -EAGAIN);
        }
        if (rand() % 3 == 0 || rc == -EAGAIN) {
            while ((rc = hv_ring_read_pkt(r, in, sizeof(in), &p)) == 0) {
                assert_int_equal(p.type, HV_PKT_INBAND);
                assert_int_equal(p.trans_id, got);
                assert_int_equal(p.flags, got & 1);
                assert_int_equal(p.offset8, 2);
                for (uint32_t i = 0; i < p.data_size; i++)
                    if (p.data[i] != (uint8_t)(got * 31 + i) &&
                        p.data[i] != 0) /* tail padding is zero */
                        fail_msg("payload mismatch pkt %u byte %u", got, i);
                got++;
            }
            assert_int_equal(rc, -EAGAIN);
            hv_ring_read_end(r);
        }
    }
    assert_true(wraps > 10);
    assert_true(got > 1000);
    assert_int_equal(st.ring_broken, 0);
    assert_int_equal(st.pkts_read, got);
    assert_int_equal(t.oob, 0);
    pair_free(&t, w, r);
}

/* Transfer-page and GPA-direct packets round trip with their headers, and
 * the trailer carries the packet's start index in its upper 32 bits. */
static void test_typed_packets(void **state)
{
    struct tring t;
    struct hv_ring *w, *r;
    struct hv_ring_xfer_range rg[3] = { { 100, 0 }, { 200, 4096 }, { 3, 9 } };
    struct hv_ring_gpa_page pg[2] = { { 4096, 0, 0x1234 }, { 10, 4000, 7 } };
    uint8_t buf[512], msg[24] = "nvsp-message-payload";
    struct hv_ring_pkt p;
    struct hv_ring_xfer_range x;
    struct hv_ring_gpa_iter it;
    struct hv_ring_gpa_range g;
    uint16_t id;
    uint32_t n;
    uint64_t trailer;
    bool sig;
    (void)state;

    pair_new(&t, 1024, &w, &r);
    assert_int_equal(hv_ring_write_xfer(w, HV_PKT_FLAG_COMPLETION_REQUESTED,
                                        77, 0xCAFE, rg, 3, msg, sizeof(msg),
                                        &sig), 0);
    assert_true(sig); /* empty → non-empty, mask clear */
    /* trailer of packet 1: at len8*8, value = 0 << 32 */
    memcpy(&trailer, t.mem + HV_RING_CTL_SIZE + (16 + 8 + 24 + 24), 8);
    assert_int_equal(trailer, 0);
    assert_int_equal(hv_ring_write_gpa(w, 1, 78, pg, 2, msg, 8, &sig), 0);
    assert_false(sig); /* ring was not empty */
    memcpy(&trailer, t.mem + HV_RING_CTL_SIZE + 80 + 16 + 8 + 32 + 8, 8);
    assert_int_equal(trailer, (uint64_t)80 << 32);

    assert_int_equal(hv_ring_read_pkt(r, buf, sizeof(buf), &p), 0);
    assert_int_equal(p.type, HV_PKT_XFER_PAGES);
    assert_int_equal(p.flags, 1);
    assert_int_equal(p.trans_id, 77);
    assert_int_equal(p.offset8, (16 + 8 + 24) / 8);
    assert_int_equal(hv_ring_pkt_xfer(&p, &id, &n), 0);
    assert_int_equal(id, 0xCAFE);
    assert_int_equal(n, 3);
    assert_int_equal(hv_ring_pkt_xfer_range(&p, 1, &x), 0);
    assert_int_equal(x.byte_count, 200);
    assert_int_equal(x.byte_offset, 4096);
    assert_int_equal(hv_ring_pkt_xfer_range(&p, 3, &x), -EPROTO);
    assert_memory_equal(p.data, msg, sizeof(msg));

    assert_int_equal(hv_ring_read_pkt(r, buf, sizeof(buf), &p), 0);
    assert_int_equal(p.type, HV_PKT_GPA_DIRECT);
    assert_int_equal(hv_ring_gpa_iter_init(&it, &p), 0);
    assert_int_equal(hv_ring_gpa_iter_next(&it, &g), 1);
    assert_int_equal(g.byte_count, 4096);
    assert_int_equal(g.npfns, 1);
    assert_int_equal(hv_ring_gpa_pfn(&g, 0), 0x1234);
    assert_int_equal(hv_ring_gpa_iter_next(&it, &g), 1);
    assert_int_equal(g.byte_offset, 4000);
    assert_int_equal(g.npfns, 1);
    assert_int_equal(hv_ring_gpa_pfn(&g, 0), 7);
    assert_int_equal(hv_ring_gpa_iter_next(&it, &g), 0);
    assert_int_equal(hv_ring_read_pkt(r, buf, sizeof(buf), &p), -EAGAIN);

    /* completion echoes the trans_id */
    assert_int_equal(hv_ring_write_comp(w, 0xFFFFFFFFFFFFFFFDull, NULL, 0,
                                        NULL), 0);
    assert_int_equal(hv_ring_read_pkt(r, buf, sizeof(buf), &p), 0);
    assert_int_equal(p.type, HV_PKT_COMP);
    assert_int_equal(p.trans_id, 0xFFFFFFFFFFFFFFFDull);
    pair_free(&t, w, r);
}

/* TESTS.md A.1: read/write index ∈ {0, 1, size−1, size, size+1, 2^31,
 * 2^32−1, unaligned} × ring sizes. */
static void test_index_sweep(void **state)
{
    static const uint32_t sizes[] = { 32, 64, 4096, 8192, 65536 };
    (void)state;

    for (unsigned s = 0; s < VSA_TEST_LEN(sizes); s++) {
        uint32_t d = sizes[s];
        uint32_t vals[] = { 0, 1, d - 1, d, d + 1, 1u << 31, UINT32_MAX, 12,
                            d - 8, 8 };
        for (unsigned i = 0; i < VSA_TEST_LEN(vals); i++)
            for (unsigned j = 0; j < VSA_TEST_LEN(vals); j++) {
                uint32_t rv = vals[i], wv = vals[j];
                bool ok = rv < d && !(rv & 7) && wv < d && !(wv & 7);
                struct hv_stats st = { 0 };
                struct tring t;
                struct hv_ring *r, *w;
                uint8_t buf[256];
                struct hv_ring_pkt p;
                int rc;

                tring_init(&t, d);
                /* (a) attach with the indices already in place */
                ctl_set(t.mem, HV_RING_OFF_READ_INDEX, rv);
                ctl_set(t.mem, HV_RING_OFF_WRITE_INDEX, wv);
                r = mk(&t, HV_RING_READER, &st, &rc);
                if (rc != (ok ? 0 : -EPROTO)) fail_msg("d %u rv %u wv %u rc %d", d, rv, wv, rc);
                hv_ring_destroy(r);
                w = mk(&t, HV_RING_WRITER, &st, &rc);
                if (rc != (ok ? 0 : -EPROTO)) fail_msg("d %u rv %u wv %u rc %d", d, rv, wv, rc);
                hv_ring_destroy(w);

                /* (b) attach clean, then the peer stores the bad index */
                ctl_set(t.mem, HV_RING_OFF_READ_INDEX, 0);
                ctl_set(t.mem, HV_RING_OFF_WRITE_INDEX, 0);
                r = mk(&t, HV_RING_READER, &st, NULL);
                w = mk(&t, HV_RING_WRITER, &st, NULL);
                assert_non_null(r);
                assert_non_null(w);
                ctl_set(t.mem, HV_RING_OFF_WRITE_INDEX, wv);
                rc = hv_ring_read_pkt(r, buf, sizeof(buf), &p);
                if (wv == 0)
                    assert_int_equal(rc, -EAGAIN);
                else
                    if (rc != -EPROTO) fail_msg("d %u rv %u wv %u rc %d", d, rv, wv, rc);
                if (rc == -EPROTO) {
                    assert_true(hv_ring_broken(r));
                    assert_int_equal(hv_ring_read_pkt(r, buf, sizeof(buf), &p),
                                     -EPROTO); /* sticky */
                }
                ctl_set(t.mem, HV_RING_OFF_READ_INDEX, rv);
                /* The writer loads (and validates) the reader's index
                 * when it stores its own, and when the index it saw last
                 * shows no room. */
                rc = hv_ring_write_inband(w, 0, 1, NULL, 0, NULL);
                if (rv < d && !(rv & 7)) {
                    if (rc != 0 && rc != -EAGAIN)
                        fail_msg("d %u rv %u wv %u rc %d", d, rv, wv, rc);
                } else {
                    assert_int_equal(rc, -EPROTO);
                    assert_true(hv_ring_broken(w));
                }
                assert_int_equal(t.oob, 0);
                assert_true(ok || st.bad_index > 0);
                hv_ring_destroy(r);
                hv_ring_destroy(w);
                tring_free(&t);
            }
    }
}

/* Puts a raw descriptor at data offset 0 and sets write_index so that
 * `avail` bytes are readable; returns the peek result. */
static int feed_desc(uint32_t dsize, uint16_t type, uint16_t off8,
                     uint16_t len8, const uint8_t *hdr, uint32_t hdr_size,
                     uint32_t avail, struct hv_stats *st)
{
    struct tring t;
    struct hv_ring *r;
    uint8_t desc[16] = { 0 }, buf[1024];
    struct hv_ring_pkt p;
    int rc;

    tring_init(&t, dsize);
    desc[0] = (uint8_t)type;
    desc[1] = (uint8_t)(type >> 8);
    desc[2] = (uint8_t)off8;
    desc[3] = (uint8_t)(off8 >> 8);
    desc[4] = (uint8_t)len8;
    desc[5] = (uint8_t)(len8 >> 8);
    data_put(t.mem, dsize, 0, desc, 16);
    if (hdr)
        data_put(t.mem, dsize, 16, hdr, hdr_size);
    r = mk(&t, HV_RING_READER, st, NULL);
    ctl_set(t.mem, HV_RING_OFF_WRITE_INDEX, avail);
    rc = hv_ring_read_pkt(r, buf, sizeof(buf), &p);
    assert_int_equal(t.oob, 0);
    if (rc == -EPROTO)
        assert_true(hv_ring_broken(r));
    hv_ring_destroy(r);
    tring_free(&t);
    return rc;
}

#define LIE(counter, ...)                                                     \
    do {                                                                      \
        struct hv_stats st_ = { 0 };                                          \
        assert_int_equal(feed_desc(__VA_ARGS__, &st_), -EPROTO);              \
        assert_int_equal(st_.counter, 1);                                     \
        assert_int_equal(st_.ring_broken, 1);                                 \
    } while (0)

/* TESTS.md A.2: descriptor length lies. */
static void test_desc_lies(void **state)
{
    uint8_t hdr[64] = { 0 };
    (void)state;

    /* sanity: an honest 32-byte INBAND packet is accepted */
    {
        struct hv_stats st = { 0 };
        assert_int_equal(feed_desc(4096, 6, 2, 4, NULL, 0, 40, &st), 0);
    }
    LIE(bad_desc, 4096, 6, 2, 0, NULL, 0, 40);        /* len 0 */
    LIE(bad_desc, 4096, 6, 0, 0, NULL, 0, 40);        /* offset8 0 */
    LIE(bad_desc, 4096, 6, 1, 1, NULL, 0, 40);        /* < header */
    LIE(bad_desc, 4096, 6, 3, 2, NULL, 0, 40);        /* data off > len */
    LIE(bad_len, 4096, 6, 2, 5, NULL, 0, 40);         /* > readable */
    LIE(bad_len, 4096, 6, 2, 4, NULL, 0, 32);         /* trailer missing */
    LIE(bad_len, 4096, 6, 0xffff, 0xffff, NULL, 0, 40); /* huge, wraps */
    LIE(bad_len, 4096, 6, 2, 2, NULL, 0, 16);         /* short ring */
    LIE(bad_type, 4096, 0, 2, 4, NULL, 0, 40);        /* INVALID */
    LIE(bad_type, 4096, 1, 2, 4, NULL, 0, 40);        /* SYNCH */
    LIE(bad_type, 4096, 0xffff, 2, 4, NULL, 0, 40);
    /* transfer page: range_cnt so large that 24 + 8n wraps 32 bits */
    hdr[4] = 0xff; hdr[5] = 0xff; hdr[6] = 0xff; hdr[7] = 0x1f;
    LIE(bad_desc, 4096, 7, 4, 6, hdr, 8, 56);
    /* transfer page: offset8 too small for the range header */
    LIE(bad_desc, 4096, 7, 2, 4, NULL, 0, 40);
    /* GPA direct: byte_offset + byte_count overflow 32 bits → PFN count
     * beyond the header */
    memset(hdr, 0, sizeof(hdr));
    hdr[4] = 1;                                        /* range_cnt 1 */
    hdr[8] = 0xff; hdr[9] = 0xff; hdr[10] = 0xff; hdr[11] = 0xff; /* count */
    hdr[12] = 0xff; hdr[13] = 0x0f;                    /* offset 4095 */
    LIE(bad_desc, 4096, 9, 5, 6, hdr, 24, 56);
    /* GPA direct: byte_offset ≥ 4096 */
    hdr[8] = 1; hdr[9] = 0; hdr[10] = 0; hdr[11] = 0;
    hdr[12] = 0; hdr[13] = 0x10;
    LIE(bad_desc, 4096, 9, 5, 6, hdr, 24, 56);
    /* GPA direct: more ranges than the header holds */
    hdr[12] = 0; hdr[13] = 0; hdr[4] = 2;
    LIE(bad_desc, 4096, 9, 5, 6, hdr, 24, 56);
    /* a valid packet larger than the caller's buffer is not a lie */
    {
        struct hv_stats st = { 0 };
        assert_int_equal(feed_desc(4096, 6, 2, 200, NULL, 0, 1608, &st),
                         -ENOBUFS);
        assert_int_equal(st.ring_broken, 0);
    }
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* TESTS.md A.2: 10^6 random descriptors, no finding. */
static void test_random_desc(void **state)
{
    struct tring t;
    struct hv_stats st = { 0 };
    uint8_t buf[4096];
    struct hv_ring_pkt p;
    unsigned ok = 0, bad = 0;
    (void)state;

    tring_init(&t, 1024);
    for (unsigned i = 0; i < 1000000; i++) {
        struct hv_ring_cfg cfg = { .role = HV_RING_READER, .dsize = 1024,
                                   .stats = &st };
        struct hv_ring *r;
        uint32_t start = (uint32_t)(rnd() % 128) * 8;
        uint64_t a = rnd(), b = rnd(), c = rnd();
        int rc;

        ctl_set(t.mem, HV_RING_OFF_READ_INDEX, start);
        ctl_set(t.mem, HV_RING_OFF_WRITE_INDEX, 0);
        assert_int_equal(hv_ring_create(&cfg, &tring_ops, &t, &r), 0);
        /* biased descriptor: small offset8/len8 often, known types often */
        if (a & 1) {
            a = (a & ~0xffffull) | (uint64_t)(((a >> 8) & 1) ? 6 : 7 + (a >> 9 & 3));
            a = (a & ~0xffff0000ull) | ((a >> 16 & 7) << 16);
            a = (a & ~0xffff00000000ull) | ((a >> 32 & 63) << 32);
        }
        data_put(t.mem, 1024, start, &a, 8);
        data_put(t.mem, 1024, start + 8, &b, 8);
        data_put(t.mem, 1024, start + 16, &c, 8);
        ctl_set(t.mem, HV_RING_OFF_WRITE_INDEX,
                (uint32_t)((start + (rnd() % 128) * 8) % 1024));
        rc = hv_ring_read_pkt(r, buf, sizeof(buf), &p);
        if (rc == 0) {
            ok++;
            assert_true(p.data_size + p.hdr_size + 16 == (uint32_t)p.len8 * 8);
        } else {
            assert_true(rc == -EAGAIN || rc == -EPROTO || rc == -ENOBUFS);
            bad += rc == -EPROTO;
        }
        hv_ring_destroy(r);
    }
    assert_int_equal(t.oob, 0);
    assert_true(ok > 0);
    assert_true(bad > 0);
    assert_int_equal(st.ring_broken, bad);
    tring_free(&t);
}

/* Writer signal decisions (§5.1): exact table. */
static void test_writer_signal_table(void **state)
{
    static const struct {
        bool mask;
        bool reader_caught_up; /* ring empty before the write */
        bool expect;
    } rows[] = {
        { false, true, true },
        { true, true, false },
        { false, false, false },
        { true, false, false },
    };
    (void)state;

    for (unsigned i = 0; i < VSA_TEST_LEN(rows); i++) {
        struct tring t;
        struct hv_stats st = { 0 };
        struct hv_ring *w, *r;
        uint8_t buf[64];
        struct hv_ring_pkt p;
        bool sig = !rows[i].expect;

        tring_init(&t, 4096);
        w = mk(&t, HV_RING_WRITER, &st, NULL);
        r = mk(&t, HV_RING_READER, NULL, NULL);
        assert_int_equal(hv_ring_write_inband(w, 0, 1, buf, 8, NULL), 0);
        if (rows[i].reader_caught_up)
            assert_int_equal(hv_ring_read_pkt(r, buf, sizeof(buf), &p), 0);
        if (rows[i].mask)
            hv_ring_mask_intr(r);
        assert_int_equal(hv_ring_write_inband(w, 0, 2, buf, 8, &sig), 0);
        assert_int_equal(sig, rows[i].expect);
        /* unmask reports the data that arrived while masked */
        if (rows[i].mask)
            assert_true(hv_ring_unmask_intr(r));
        pair_free(&t, w, r);
    }
}

/* Batched publication (hv_ring_write_hold/commit): held packets are
 * invisible until commit, which stores the write index once and decides
 * the signal once for the batch; a write that finds the ring full
 * publishes what is held first. */
static void test_write_hold(void **state)
{
    static const struct {
        bool mask;
        bool reader_caught_up; /* ring empty before the batch */
        bool expect;
    } rows[] = {
        { false, true, true },
        { true, true, false },
        { false, false, false },
        { true, false, false },
    };
    struct tring t;
    struct hv_ring *w, *r;
    uint8_t buf[128] = { 0 };
    struct hv_ring_pkt p;
    bool sig;
    unsigned n = 0;
    (void)state;

    for (unsigned i = 0; i < VSA_TEST_LEN(rows); i++) {
        pair_new(&t, 4096, &w, &r);
        assert_int_equal(hv_ring_write_inband(w, 0, 1, buf, 8, NULL), 0);
        if (rows[i].reader_caught_up)
            assert_int_equal(hv_ring_read_pkt(r, buf, sizeof(buf), &p), 0);
        if (rows[i].mask)
            hv_ring_mask_intr(r);
        hv_ring_write_hold(w);
        unsigned stores = t.stores[HV_RING_OFF_WRITE_INDEX / 4];
        uint32_t before = ctl_get(t.mem, HV_RING_OFF_WRITE_INDEX);
        for (unsigned k = 0; k < 3; k++) {
            sig = true;
            assert_int_equal(hv_ring_write_inband(w, 0, 10 + k, buf, 8, &sig),
                             0);
            assert_false(sig); /* decided at commit */
        }
        assert_int_equal(ctl_get(t.mem, HV_RING_OFF_WRITE_INDEX), before);
        if (rows[i].reader_caught_up)
            assert_int_equal(hv_ring_read_pkt(r, buf, sizeof(buf), &p),
                             -EAGAIN);
        if (hv_ring_write_commit(w) != rows[i].expect)
            fail_msg("row %u: expected %d", i, rows[i].expect);
        assert_int_equal(t.stores[HV_RING_OFF_WRITE_INDEX / 4], stores + 1);
        assert_int_equal(ctl_get(t.mem, HV_RING_OFF_WRITE_INDEX),
                         hv_ring_own_index(w));
        assert_false(hv_ring_write_commit(w)); /* nothing held */
        for (unsigned k = 0; k < 3; k++) {
            assert_int_equal(hv_ring_read_pkt(r, buf, sizeof(buf), &p), 0);
            if (k == 0 && !rows[i].reader_caught_up)
                assert_int_equal(hv_ring_read_pkt(r, buf, sizeof(buf), &p),
                                 0);
            assert_int_equal(p.trans_id, 10 + k);
        }
        pair_free(&t, w, r);
    }

    /* Full while holding: the held packets go out, then -EAGAIN with
     * pending_send_sz; the reader drains them and wakes the writer. */
    pair_new(&t, 1024, &w, &r);
    hv_ring_write_hold(w);
    while (hv_ring_write_inband(w, 0, n, buf, 100, NULL) == 0)
        n++;
    assert_true(n > 1);
    assert_int_equal(ctl_get(t.mem, HV_RING_OFF_WRITE_INDEX),
                     hv_ring_own_index(w));
    assert_int_equal(ctl_get(t.mem, HV_RING_OFF_PENDING_SEND), 16 + 104 + 8);
    for (unsigned k = 0; k < n; k++) {
        assert_int_equal(hv_ring_read_pkt(r, buf, sizeof(buf), &p), 0);
        assert_int_equal(p.trans_id, k);
    }
    assert_true(hv_ring_read_end(r));
    /* the signal owed when the held packets went out is not lost */
    assert_true(hv_ring_write_commit(w));
    pair_free(&t, w, r);
}

/* While the reader holds the interrupt mask its index is stored once per
 * batch (read_end or unmask); unmasked, at once.  Each side loads the
 * other's index only when its last view runs out. */
static void test_index_views(void **state)
{
    struct tring t;
    struct hv_ring *w, *r;
    uint8_t buf[64] = { 0 };
    struct hv_ring_pkt p;
    (void)state;

    pair_new(&t, 4096, &w, &r);
    for (unsigned k = 0; k < 4; k++)
        assert_int_equal(hv_ring_write_inband(w, 0, k, buf, 8, NULL), 0);
    /* The writer had room by its view: read_index was loaded by the two
     * attaches and by the four signal tests (the reader is unmasked), and
     * never to find room. */
    assert_int_equal(t.loads[HV_RING_OFF_READ_INDEX / 4], 2u + 4u);

    /* unmasked: stored per packet */
    assert_int_equal(hv_ring_read_pkt(r, buf, sizeof(buf), &p), 0);
    assert_int_equal(ctl_get(t.mem, HV_RING_OFF_READ_INDEX),
                     hv_ring_own_index(r));
    /* masked: stored by read_end */
    hv_ring_mask_intr(r);
    unsigned wloads = t.loads[HV_RING_OFF_WRITE_INDEX / 4];
    uint32_t shared = ctl_get(t.mem, HV_RING_OFF_READ_INDEX);
    assert_int_equal(hv_ring_read_pkt(r, buf, sizeof(buf), &p), 0);
    assert_int_equal(hv_ring_read_pkt(r, buf, sizeof(buf), &p), 0);
    assert_int_equal(ctl_get(t.mem, HV_RING_OFF_READ_INDEX), shared);
    /* the write index seen at the first read covered all four packets */
    assert_int_equal(t.loads[HV_RING_OFF_WRITE_INDEX / 4], wloads);
    assert_false(hv_ring_read_end(r));
    assert_int_equal(ctl_get(t.mem, HV_RING_OFF_READ_INDEX),
                     hv_ring_own_index(r));
    /* masked, then unmask: stored before the mask is cleared */
    assert_int_equal(hv_ring_read_pkt(r, buf, sizeof(buf), &p), 0);
    assert_int_equal(p.trans_id, 3);
    assert_false(hv_ring_unmask_intr(r)); /* empty */
    assert_int_equal(ctl_get(t.mem, HV_RING_OFF_READ_INDEX),
                     hv_ring_own_index(r));
    assert_int_equal(hv_ring_read_pkt(r, buf, sizeof(buf), &p), -EAGAIN);
    assert_int_equal(t.loads[HV_RING_OFF_WRITE_INDEX / 4], wloads + 2);
    pair_free(&t, w, r);
}

/* Reader signal decisions (§5.2): dsize 1024, 15 packets of 64 bytes
 * (56 + 8 trailer) leave 64 writable; then read k packets. */
static void test_reader_signal_table(void **state)
{
    static const struct {
        bool feat;
        uint32_t pending;
        unsigned nread;
        bool expect;
    } rows[] = {
        { false, 100, 1, false }, /* writer did not announce the feature */
        { true, 0, 1, false },    /* writer not waiting */
        { true, 100, 1, true },   /* W 128 > 100, W−R 64 ≤ 100 */
        { true, 100, 2, true },   /* W 192, R 128: W−R 64 ≤ 100 */
        { true, 200, 1, false },  /* W 128 ≤ 200: still short */
        { true, 30, 1, false },   /* W−R 64 > 30: was not blocked */
        { true, 64, 1, true },    /* boundary: W−R 64 not > 64, W 128 > 64 */
        { true, 128, 1, false },  /* boundary: W 128 ≤ 128 */
        { true, 100, 0, false },  /* nothing consumed */
    };
    (void)state;

    for (unsigned i = 0; i < VSA_TEST_LEN(rows); i++) {
        struct tring t;
        struct hv_stats st = { 0 };
        struct hv_ring *w, *r;
        uint8_t buf[64] = { 0 };
        struct hv_ring_pkt p;

        tring_init(&t, 1024);
        w = mk(&t, HV_RING_WRITER, NULL, NULL);
        r = mk(&t, HV_RING_READER, &st, NULL);
        for (unsigned k = 0; k < 15; k++)
            assert_int_equal(hv_ring_write_inband(w, 0, k, buf, 40, NULL), 0);
        assert_int_equal(hv_ring_write_inband(w, 0, 99, buf, 40, NULL),
                         -EAGAIN);
        /* overwrite what the writer announced with the row's values */
        ctl_set(t.mem, HV_RING_OFF_FEATURES, rows[i].feat ? 1 : 0);
        ctl_set(t.mem, HV_RING_OFF_PENDING_SEND, rows[i].pending);
        for (unsigned k = 0; k < rows[i].nread; k++)
            assert_int_equal(hv_ring_read_pkt(r, buf, sizeof(buf), &p), 0);
        if (hv_ring_read_end(r) != rows[i].expect)
            fail_msg("row %u: expected %d", i, rows[i].expect);
        assert_int_equal(st.writer_wakeups, rows[i].expect ? 1 : 0);
        pair_free(&t, w, r);
    }
}

/* A blocked writer announces pending_send_sz = packet + trailer; the reader
 * signals once enough was freed; the next write clears it. */
static void test_pending_send_cycle(void **state)
{
    struct tring t;
    struct hv_ring *w, *r;
    uint8_t buf[256] = { 0 };
    struct hv_ring_pkt p;
    unsigned n = 0, reads = 0;
    (void)state;

    pair_new(&t, 1024, &w, &r);
    assert_int_equal(ctl_get(t.mem, HV_RING_OFF_FEATURES) & 1, 1);
    while (hv_ring_write_inband(w, 0, n, buf, 100, NULL) == 0)
        n++;
    assert_int_equal(ctl_get(t.mem, HV_RING_OFF_PENDING_SEND), 16 + 104 + 8);
    for (;;) {
        assert_int_equal(hv_ring_read_pkt(r, buf, sizeof(buf), &p), 0);
        reads++;
        if (hv_ring_read_end(r))
            break;
        assert_true(reads < n);
    }
    assert_int_equal(hv_ring_write_inband(w, 0, n, buf, 100, NULL), 0);
    assert_int_equal(ctl_get(t.mem, HV_RING_OFF_PENDING_SEND), 0);
    pair_free(&t, w, r);
}

static void test_bad_params(void **state)
{
    uint8_t *mem = aligned_alloc(4096, 8192);
    struct hv_ring_cfg cfg = { .role = HV_RING_READER, .dsize = 4096 };
    struct hv_ring *r;
    uint8_t buf[16];
    struct hv_ring_pkt p;
    (void)state;

    memset(mem, 0, 8192);
    cfg.dsize = 0;
    assert_int_equal(hv_ring_create_buf(&cfg, mem, &r), -EINVAL);
    cfg.dsize = 24;
    assert_int_equal(hv_ring_create_buf(&cfg, mem, &r), -EINVAL);
    cfg.dsize = 4092;
    assert_int_equal(hv_ring_create_buf(&cfg, mem, &r), -EINVAL);
    cfg.dsize = 4096;
    assert_int_equal(hv_ring_create_buf(&cfg, mem + 1, &r), -EINVAL);
    assert_int_equal(hv_ring_create_buf(&cfg, mem, &r), 0);
    assert_int_equal(hv_ring_write_inband(r, 0, 0, NULL, 0, NULL), -EINVAL);
    assert_int_equal(hv_ring_peek_pkt(r, buf, 8, &p), -EINVAL);
    assert_int_equal(hv_ring_consume(r), -EINVAL);
    hv_ring_destroy(r);
    cfg.role = HV_RING_WRITER;
    assert_int_equal(hv_ring_create_buf(&cfg, mem, &r), 0);
    assert_int_equal(hv_ring_read_pkt(r, buf, sizeof(buf), &p), -EINVAL);
    {
        static uint8_t big[70000];
        assert_int_equal(hv_ring_write_inband(r, 0, 0, big, sizeof(big), NULL),
                         -EMSGSIZE);
    }
    hv_ring_destroy(r);
    free(mem);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_index_arith),
        cmocka_unit_test(test_never_full),
        cmocka_unit_test(test_roundtrip_wrap),
        cmocka_unit_test(test_typed_packets),
        cmocka_unit_test(test_index_sweep),
        cmocka_unit_test(test_desc_lies),
        cmocka_unit_test(test_random_desc),
        cmocka_unit_test(test_writer_signal_table),
        cmocka_unit_test(test_write_hold),
        cmocka_unit_test(test_index_views),
        cmocka_unit_test(test_reader_signal_table),
        cmocka_unit_test(test_pending_send_cycle),
        cmocka_unit_test(test_bad_params),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
