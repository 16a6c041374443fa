/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_ring_doublefetch.c — objective (TESTS.md A.3): the ring reader
 * survives a guest that rewrites the shared ring while the host parses it,
 * and it reads every guest-written field at most once per operation (copy,
 * then validate, then use).
 *
 * 1. A second thread keeps writing valid packets AND flipping random bytes
 *    of the control page and the data area for 2 s while the main thread
 *    reads (peek/read/read_end/unmask).  Pass: no crash, no sanitizer
 *    report, no access outside the ring (bounds-checking accessor), every
 *    returned packet is internally consistent, the ring breaks (-EPROTO)
 *    instead of misbehaving.
 * 2. An instrumented accessor counts loads of each control field and reads
 *    of each data byte per operation.  Pass: reader operations load
 *    write_index, pending_send_sz, feature_bits at most once and never
 *    read a data byte twice; the writer loads read_index at most twice
 *    (space check, then the empty→non-empty equality test of §5.1; the
 *    blocked path's re-check replaces the first) and never reads data.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "hv/hv_ring.h"
#include "hv_test_util.h"

#define DSIZE 4096u

static struct tring shared;
static atomic_bool stop;

static void *racer(void *arg)
{
    struct hv_ring_cfg cfg = { .role = HV_RING_WRITER, .dsize = DSIZE };
    struct hv_ring *w = NULL;
    uint64_t x = 0x243F6A8885A308D3ull;
    uint8_t payload[200];
    unsigned long *flips = arg;

    memset(payload, 0xA5, sizeof(payload));
    while (!atomic_load(&stop)) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        if (!w && hv_ring_create(&cfg, &tring_ops, &shared, &w) != 0)
            w = NULL;
        if (w && (x & 63) != 0) {
            if (hv_ring_write_inband(w, 0, x, payload, (size_t)(x >> 8) % 200,
                                     NULL) == -EPROTO) {
                hv_ring_destroy(w);
                w = NULL;
            }
        } else {
            /* flip a byte anywhere: control page or data area */
            uint32_t off = (uint32_t)(x >> 16) % (HV_RING_CTL_SIZE + DSIZE);
            if ((x >> 40) & 1)
                off = (uint32_t)(x >> 16) % 16; /* hammer the indices */
            __atomic_store_n(&shared.mem[off], (uint8_t)(x >> 48),
                             __ATOMIC_RELAXED);
            (*flips)++;
        }
    }
    hv_ring_destroy(w);
    return NULL;
}

static void test_racing_guest(void **state)
{
    struct hv_ring_cfg cfg = { .role = HV_RING_READER, .dsize = DSIZE };
    struct hv_stats st = { 0 };
    struct hv_ring *r = NULL;
    uint8_t buf[8192];
    struct hv_ring_pkt p;
    unsigned long flips = 0, pkts = 0, breaks = 0, iters = 0;
    pthread_t th;
    struct timespec t0, t1;
    (void)state;

    cfg.stats = &st;
    tring_init(&shared, DSIZE);
    atomic_store(&stop, false);
    assert_int_equal(pthread_create(&th, NULL, racer, &flips), 0);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if ((t1.tv_sec - t0.tv_sec) * 1000 +
                (t1.tv_nsec - t0.tv_nsec) / 1000000 >= 2000)
            break;
        iters++;
        if (!r) {
            /* a fresh attach takes whatever indices the guest left */
            if (hv_ring_create(&cfg, &tring_ops, &shared, &r) != 0) {
                __atomic_store_n((uint32_t *)(void *)shared.mem, 0,
                                 __ATOMIC_RELAXED);
                __atomic_store_n((uint32_t *)(void *)(shared.mem + 4), 0,
                                 __ATOMIC_RELAXED);
                continue;
            }
        }
        for (int k = 0; k < 16; k++) {
            int rc = hv_ring_read_pkt(r, buf, sizeof(buf), &p);
            if (rc == 0) {
                pkts++;
                assert_true(p.offset8 >= 2 && p.len8 >= p.offset8);
                assert_true(p.len8 * 8u <= DSIZE);
                assert_true(16u + p.hdr_size + p.data_size == p.len8 * 8u);
                assert_ptr_equal(p.data, buf + p.offset8 * 8u);
            } else if (rc == -EPROTO) {
                breaks++;
                hv_ring_destroy(r);
                r = NULL;
                break;
            } else {
                assert_true(rc == -EAGAIN || rc == -ENOBUFS);
                break;
            }
        }
        if (r) {
            hv_ring_read_end(r);
            hv_ring_mask_intr(r);
            hv_ring_unmask_intr(r);
        }
    }
    atomic_store(&stop, true);
    pthread_join(th, NULL);
    hv_ring_destroy(r);
    print_message("racing guest: %lu iterations, %lu packets, %lu breaks, "
                  "%lu flips\n", iters, pkts, breaks, flips);
    assert_int_equal(shared.oob, 0);
    assert_true(pkts > 0);   /* the checks above ran on packets read */
    assert_true(breaks > 0);
    assert_true(flips > 0);
    tring_free(&shared);
}

#define CTL(off) (t.loads[(off) / 4])

static void assert_reader_once(struct tring *tp)
{
    struct tring t = *tp;
    assert_true(CTL(HV_RING_OFF_WRITE_INDEX) <= 1);
    assert_true(CTL(HV_RING_OFF_PENDING_SEND) <= 1);
    assert_true(CTL(HV_RING_OFF_FEATURES) <= 1);
    assert_int_equal(CTL(HV_RING_OFF_READ_INDEX), 0); /* ours: never read */
    assert_int_equal(tp->double_reads, 0);
}

/* What a write loads of the reader's index: the empty→non-empty test after
 * a write that went in loads it once, the room check before only when the
 * index seen last shows too little room (so 1 or 2); a write refused for
 * want of room loaded it for the room check and again after announcing
 * pending_send_sz, and published nothing (exactly 2).  wr_loads[0] counts
 * the writes that went in with one load, wr_loads[1] those with two. */
static unsigned wr_loads[2];

static void assert_writer_loads(struct tring *tp, int rc)
{
    struct tring t = *tp;

    if (rc == 0) {
        assert_in_range(CTL(HV_RING_OFF_READ_INDEX), 1, 2);
        wr_loads[CTL(HV_RING_OFF_READ_INDEX) - 1]++;
    } else {
        assert_int_equal(rc, -EAGAIN);
        assert_int_equal(CTL(HV_RING_OFF_READ_INDEX), 2);
    }
    assert_int_equal(CTL(HV_RING_OFF_WRITE_INDEX), 0); /* ours */
    assert_true(CTL(HV_RING_OFF_INTR_MASK) <= 1);
}

static void test_fetch_once(void **state)
{
    struct hv_ring_cfg rc_cfg = { .role = HV_RING_READER, .dsize = 1024 };
    struct hv_ring_cfg wc_cfg = { .role = HV_RING_WRITER, .dsize = 1024 };
    struct hv_ring_xfer_range rg[4] = { { 1, 2 }, { 3, 4 }, { 5, 6 }, { 7, 8 } };
    struct hv_ring_gpa_page pg[3] = { { 10, 0, 1 }, { 20, 5, 2 }, { 30, 9, 3 } };
    struct tring t;
    struct hv_ring *r, *w;
    uint8_t buf[2048], data[300];
    struct hv_ring_pkt p;
    unsigned n = 0, full = 0;
    (void)state;

    memset(data, 0x5A, sizeof(data));
    tring_init(&t, 1024);
    t.seen = calloc(1, 1024);
    assert_int_equal(hv_ring_create(&wc_cfg, &tring_ops, &t, &w), 0);
    assert_int_equal(hv_ring_create(&rc_cfg, &tring_ops, &t, &r), 0);
    for (unsigned round = 0; round < 200; round++) {
        int rc;

        tring_reset_counts(&t);
        t.double_reads = 0;
        switch (round % 3) {
        case 0:
            rc = hv_ring_write_inband(w, 1, round, data, round % 250, NULL);
            break;
        case 1:
            rc = hv_ring_write_xfer(w, 0, round, 0xCAFE, rg, 4, data, 17, NULL);
            break;
        default:
            rc = hv_ring_write_gpa(w, 1, round, pg, 3, data, 40, NULL);
            break;
        }
        assert_writer_loads(&t, rc);
        n += rc == 0;
        if (round % 10 == 9) {
            /* fill the ring: the blocked path and, on the next write after
             * the drain below, the room check that must load the index */
            do {
                tring_reset_counts(&t);
                rc = hv_ring_write_inband(w, 1, round, data, 200, NULL);
                assert_writer_loads(&t, rc);
                n += rc == 0;
            } while (rc == 0);
            full++;
        }

        /* peek, consume and read_end are each one operation */
        tring_reset_counts(&t);
        t.double_reads = 0;
        rc = hv_ring_peek_pkt(r, buf, sizeof(buf), &p);
        assert_reader_once(&t);
        if (rc == 0) {
            tring_reset_counts(&t);
            assert_int_equal(hv_ring_consume(r), 0);
            assert_reader_once(&t);
            assert_int_equal(t.stores[HV_RING_OFF_READ_INDEX / 4], 1);
        }
        if (round % 5 == 4) {
            while (1) {
                tring_reset_counts(&t);
                t.double_reads = 0;
                rc = hv_ring_read_pkt(r, buf, sizeof(buf), &p);
                assert_reader_once(&t);
                if (rc)
                    break;
            }
            tring_reset_counts(&t);
            hv_ring_read_end(r);
            assert_reader_once(&t);
            tring_reset_counts(&t);
            hv_ring_unmask_intr(r);
            assert_reader_once(&t);
        }
    }
    assert_true(n > 100);
    assert_int_equal(full, 20);
    assert_true(wr_loads[0] > 0 && wr_loads[1] > 0);
    assert_int_equal(t.oob, 0);
    hv_ring_destroy(r);
    hv_ring_destroy(w);
    tring_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fetch_once),
        cmocka_unit_test(test_racing_guest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
