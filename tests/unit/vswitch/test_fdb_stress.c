/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_fdb_stress.c — concurrency stress of the FDB's lock-free readers and
 * lock-free value updates.
 *
 * Objective: a reader that looks keys up while writers learn, move, delete,
 * flush and age them must never see a (key -> port) pair that was never
 * written.  Every port written for key i is congruent to i modulo
 * port_mod (NKEYS in the first case, 16 in the second), so any other answer
 * is a torn or stale read (for example a slot deleted and reused for another
 * key between the reader's loads: the ABA case).  The tables are tiny (32
 * slots for 64 keys) so slots are reused constantly.
 *
 *   test_reader_vs_writer: one reader thread, one writer thread using both
 *     the fast path (learn: new, refresh, move) and every control operation.
 *   test_learners_vs_control: two fast-path learner threads move the same
 *     keys between ports with per-port limits while the main thread deletes,
 *     flushes, ages and adds static entries.  Afterwards the per-port
 *     counts, the total and a walk must agree, and no limit may be exceeded.
 *
 * Each case runs for FDB_STRESS_MS milliseconds (default 1000).  Threads
 * record failures in atomics; only the main thread calls cmocka asserts.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "vswitch/fdb.h"
#include "vswitch/fdb_dp.h"

enum { NKEYS = 64, LIMIT = 3 };

struct stress {
    struct vsw_fdb *fdb;
    uint64_t keys[NKEYS];
    uint16_t vids[NKEYS];
    uint64_t macs[NKEYS];
    _Atomic bool stop;
    _Atomic uint32_t now_s;
    _Atomic uint64_t bad;        /* pairs never written */
    _Atomic uint64_t bad_key;    /* first offender, for the message */
    _Atomic uint64_t bad_port;
    _Atomic uint64_t lookups;
    _Atomic uint64_t hits;
    _Atomic uint64_t writes;
    _Atomic uint64_t results[VSW_FDB_LEARN_RESULTS];
    uint64_t seed;
    uint32_t port_mod;  /* port p may be written for key i iff
                           p % port_mod == i % port_mod */
};

static uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545f4914f6cdd1dull;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t duration_ms(void)
{
    const char *e = getenv("FDB_STRESS_MS");
    return e != NULL ? strtoull(e, NULL, 10) : 1000;
}

/* True while the run must go on: before `end`, and past it (up to 30 s
 * more) as long as no displacement has run yet, since the tests assert one
 * ran concurrently and a loaded machine (sanitizers, a busy CI) may need
 * longer than the nominal duration to hit both buckets full. */
static bool keep_running(struct vsw_fdb *fdb, uint64_t end)
{
    struct vsw_fdb_stats s;
    uint64_t t = now_ms();

    if (t < end)
        return true;
    vsw_fdb_get_stats(fdb, &s);
    return s.displaced == 0 && t < end + 30000;
}

/* A port that may legally be written for key i. */
static uint16_t port_for(const struct stress *st, int i, uint64_t r)
{
    uint32_t m = st->port_mod;
    return (uint16_t)((uint32_t)i % m +
                      m * (uint32_t)(r % (VSW_FDB_MAX_PORTS / m)));
}

static bool port_ok(const struct stress *st, int i, uint16_t p)
{
    return p < VSW_FDB_MAX_PORTS &&
           p % st->port_mod == (uint32_t)i % st->port_mod;
}

static void stress_init(struct stress *st, uint32_t max, uint64_t seed,
                        uint32_t port_mod)
{
    struct vsw_fdb_params p = {.max_entries = max, .aging_s = 5,
                               .seed = seed};
    memset(st, 0, sizeof(*st));
    assert_int_equal(vsw_fdb_create(&p, &st->fdb), 0);
    for (int i = 0; i < NKEYS; i++) {
        st->vids[i] = (uint16_t)(1 + i % 2);
        st->macs[i] = 0x020000000000ull + (uint64_t)(i / 2);
        st->keys[i] = vsw_fdb_key(st->vids[i], st->macs[i]);
    }
    atomic_store(&st->now_s, 100);
    st->seed = seed;
    st->port_mod = port_mod;
}

/* Looks every key up once; returns the number of hits. */
static void check_all(struct stress *st)
{
    uint64_t hits = 0;
    for (int i = 0; i < NKEYS; i++) {
        uint64_t k = st->keys[i];
        uint16_t p = vsw_fdb_lookup(st->fdb, k, vsw_fdb_hash(st->fdb, k));
        if (p == VSW_FDB_PORT_NONE)
            continue;
        hits++;
        if (!port_ok(st, i, p)) {
            if (atomic_fetch_add(&st->bad, 1) == 0) {
                atomic_store(&st->bad_key, (uint64_t)i);
                atomic_store(&st->bad_port, p);
            }
        }
    }
    atomic_fetch_add_explicit(&st->lookups, NKEYS, memory_order_relaxed);
    atomic_fetch_add_explicit(&st->hits, hits, memory_order_relaxed);
}

static void *reader_main(void *arg)
{
    struct stress *st = arg;
    while (!atomic_load_explicit(&st->stop, memory_order_relaxed))
        check_all(st);
    return NULL;
}

static void fast_learn(struct stress *st, int i, uint16_t port)
{
    uint64_t k = st->keys[i];
    uint64_t h = vsw_fdb_hash(st->fdb, k);
    vsw_fdb_prefetch(st->fdb, h);
    enum vsw_fdb_learn_result r =
        vsw_fdb_learn(st->fdb, k, h, port, atomic_load(&st->now_s));
    atomic_fetch_add_explicit(&st->results[r], 1, memory_order_relaxed);
}

/* One random control operation. */
static void control_op(struct stress *st, uint64_t *rs)
{
    uint64_t r = xorshift(rs);
    int i = (int)((r >> 8) % NKEYS);
    switch (r % 6) {
    case 0:
        vsw_fdb_del(st->fdb, st->vids[i], st->macs[i]);
        break;
    case 1:
        vsw_fdb_add_static(st->fdb, st->vids[i], st->macs[i],
                           port_for(st, i, r >> 20));
        break;
    case 2:
        vsw_fdb_flush_all(st->fdb,
                          (r >> 30) % 2 ? port_for(st, i, r >> 20)
                                        : VSW_FDB_PORT_NONE,
                          (uint16_t)((r >> 32) % 3), (r >> 34) % 2);
        break;
    case 3:
        vsw_fdb_age_sweep(st->fdb, atomic_load(&st->now_s),
                          (uint32_t)(1 + (r >> 20) % 16));
        break;
    case 4: {
        uint32_t cursor = (uint32_t)((r >> 20) % 32);
        bool done;
        vsw_fdb_flush(st->fdb, VSW_FDB_PORT_NONE, st->vids[i], false, 4,
                      &cursor, &done);
        break;
    }
    default:
        atomic_fetch_add(&st->now_s, (uint32_t)(1 + (r >> 20) % 3));
        break;
    }
}

static void *writer_main(void *arg)
{
    struct stress *st = arg;
    uint64_t rs = st->seed | 1;
    while (!atomic_load_explicit(&st->stop, memory_order_relaxed)) {
        uint64_t r = xorshift(&rs);
        int i = (int)((r >> 8) % NKEYS);
        if (r % 100 < 65)
            fast_learn(st, i, port_for(st, i, r >> 20));
        else
            control_op(st, &rs);
        atomic_fetch_add_explicit(&st->writes, 1, memory_order_relaxed);
    }
    return NULL;
}

struct learner {
    struct stress *st;
    uint64_t seed;
    uint32_t port_mod;  /* port p may be written for key i iff
                           p % port_mod == i % port_mod */
};

static void *learner_main(void *arg)
{
    struct learner *l = arg;
    struct stress *st = l->st;
    uint64_t rs = l->seed | 1;
    while (!atomic_load_explicit(&st->stop, memory_order_relaxed)) {
        uint64_t r = xorshift(&rs);
        int i = (int)((r >> 8) % NKEYS);
        /* Few ports per key, each shared by 4 keys: frequent moves and
         * port limits reached. */
        fast_learn(st, i, port_for(st, i, (r >> 20) % 3));
        atomic_fetch_add_explicit(&st->writes, 1, memory_order_relaxed);
        if ((r & 63) == 0)
            check_all(st);
    }
    return NULL;
}

/* Quiescent checks: walk, total and per-port counts agree. */
struct tally {
    const struct stress *st;
    uint32_t n, statics;
    uint32_t per_port[VSW_FDB_MAX_PORTS];
    uint32_t bad;
};

static int tally_cb(const struct vsw_fdb_entry *e, void *arg)
{
    struct tally *t = arg;
    t->n++;
    if (!e->is_static)
        t->per_port[e->port]++;
    else
        t->statics++;
    int i = (int)((e->mac - 0x020000000000ull) * 2 + (e->vid - 1u));
    if (!port_ok(t->st, i, e->port))
        t->bad++;
    return 0;
}

static void check_quiescent(struct stress *st, uint32_t max, bool limited)
{
    static struct tally t;
    memset(&t, 0, sizeof(t));
    t.st = st;
    vsw_fdb_walk(st->fdb, tally_cb, &t);
    assert_int_equal(t.bad, 0);
    assert_int_equal(t.n, vsw_fdb_count(st->fdb));
    /* learning stops at max; static entries are not held to it here (the
     * configuration keeps them within fdb_max) */
    assert_true(t.n - t.statics <= max);
    for (uint16_t p = 0; p < VSW_FDB_MAX_PORTS; p++) {
        assert_int_equal(t.per_port[p], vsw_fdb_port_count(st->fdb, p));
        if (limited)
            assert_true(t.per_port[p] <= LIMIT);
    }
    /* Empty it through the API and check that the counts return to 0. */
    vsw_fdb_flush_all(st->fdb, VSW_FDB_PORT_NONE, 0, true);
    assert_int_equal(vsw_fdb_count(st->fdb), 0);
    for (uint16_t p = 0; p < VSW_FDB_MAX_PORTS; p++)
        assert_int_equal(vsw_fdb_port_count(st->fdb, p), 0);
}

static void report(const char *name, struct stress *st)
{
    struct vsw_fdb_stats s;
    vsw_fdb_get_stats(st->fdb, &s);
    print_message("%s: %llu lookups (%llu hits), %llu writes; results "
                  "hit %llu refreshed %llu moved %llu new %llu refused %llu; "
                  "learn_busy %llu learn_limit %llu bucket_full %llu "
                  "displaced %llu\n",
                  name, (unsigned long long)atomic_load(&st->lookups),
                  (unsigned long long)atomic_load(&st->hits),
                  (unsigned long long)atomic_load(&st->writes),
                  (unsigned long long)atomic_load(&st->results[0]),
                  (unsigned long long)atomic_load(&st->results[1]),
                  (unsigned long long)atomic_load(&st->results[2]),
                  (unsigned long long)atomic_load(&st->results[3]),
                  (unsigned long long)atomic_load(&st->results[4]),
                  (unsigned long long)s.learn_busy,
                  (unsigned long long)s.learn_limit,
                  (unsigned long long)s.bucket_full,
                  (unsigned long long)s.displaced);
    if (atomic_load(&st->bad))
        print_message("first bad pair: key %llu -> port %llu\n",
                      (unsigned long long)atomic_load(&st->bad_key),
                      (unsigned long long)atomic_load(&st->bad_port));
}

static void test_reader_vs_writer(void **state)
{
    (void)state;
    static struct stress st;
    pthread_t rd, wr;

    /* 8 buckets, 32 slots, 64 keys; each port belongs to one key. */
    stress_init(&st, 16, 0x5eed1, NKEYS);
    assert_int_equal(pthread_create(&rd, NULL, reader_main, &st), 0);
    assert_int_equal(pthread_create(&wr, NULL, writer_main, &st), 0);
    uint64_t end = now_ms() + duration_ms();
    while (keep_running(st.fdb, end)) {
        struct timespec d = {0, 10 * 1000 * 1000};
        nanosleep(&d, NULL);
    }
    atomic_store(&st.stop, true);
    pthread_join(rd, NULL);
    pthread_join(wr, NULL);

    report("reader_vs_writer", &st);
    assert_int_equal(atomic_load(&st.bad), 0);
    assert_true(atomic_load(&st.hits) > 0);
    assert_true(atomic_load(&st.writes) > 1000);
    assert_true(atomic_load(&st.results[VSW_FDB_MOVED]) > 0);
    assert_true(atomic_load(&st.results[VSW_FDB_NEW]) > 0);
    /* the tiny table makes new keys displace residents all the time: the
     * move (fdb.c __fdb_move_to_second) ran under the reader */
    struct vsw_fdb_stats s;
    vsw_fdb_get_stats(st.fdb, &s);
    assert_true(s.displaced > 0);
    check_quiescent(&st, 16, false);
    vsw_fdb_destroy(st.fdb);
}

static void test_learners_vs_control(void **state)
{
    (void)state;
    static struct stress st;
    struct learner ls[2];
    pthread_t th[2];

    stress_init(&st, 24, 0x5eed2, 16);
    for (uint16_t p = 0; p < VSW_FDB_MAX_PORTS; p++)
        assert_int_equal(vsw_fdb_set_port_limit(st.fdb, p, LIMIT), 0);
    for (int i = 0; i < 2; i++) {
        ls[i] = (struct learner){.st = &st, .seed = 0x1000 + (uint64_t)i};
        assert_int_equal(pthread_create(&th[i], NULL, learner_main, &ls[i]),
                         0);
    }
    uint64_t rs = 0xc0ffee, end = now_ms() + duration_ms();
    while (keep_running(st.fdb, end)) {
        control_op(&st, &rs);
        check_all(&st);
    }
    atomic_store(&st.stop, true);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);

    report("learners_vs_control", &st);
    assert_int_equal(atomic_load(&st.bad), 0);
    assert_true(atomic_load(&st.results[VSW_FDB_MOVED]) > 0);
    assert_true(atomic_load(&st.results[VSW_FDB_NEW]) > 0);
    struct vsw_fdb_stats s;
    vsw_fdb_get_stats(st.fdb, &s);
    assert_true(s.learn_limit > 0);
    assert_true(s.displaced > 0); /* moves raced with the learners' CASes */
    check_quiescent(&st, 24, true);
    vsw_fdb_destroy(st.fdb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reader_vs_writer),
        cmocka_unit_test(test_learners_vs_control),
    };
    return cmocka_run_group_tests_name("vswitch-fdb-stress", tests, NULL,
                                       NULL);
}
