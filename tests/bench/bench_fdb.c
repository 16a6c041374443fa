/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench_fdb.c — FDB fast-path micro-benchmark (vswitch/fdb_dp.h).
 *
 * Objective: the cost per key of the lcore operations at table fills of
 * 10%, 50% and 95% of max_entries, for the default table (8192 entries,
 * 1 MiB of buckets, cache resident) and a large one (1M entries, 32 MiB,
 * mostly out of cache).  Keys are processed in bursts of 32 the way the
 * pipeline does: pass 1 builds key + hash and prefetches, pass 2 looks up or
 * learns.  Each burst is timed with clock_gettime(CLOCK_MONOTONIC); the
 * report gives the median and p99 of ns/key over all bursts.
 *
 *   lookup-hit    keys present, random order
 *   lookup-miss   keys absent (a flood decision)
 *   learn-hit     source known on this port this second: no store
 *   learn-refresh source known, new second: one CAS
 *   learn-move    source known on another port: one CAS + count updates
 *   learn-new     source unknown: try-lock + insert (keys deleted between
 *                 runs, untimed)
 *   lookup-adv    50% fill only: half the entries replaced by keys an
 *                 attacker crafted under a guessed seed (all with bucket
 *                 index 0 mod 256, a 256-fold concentration; TESTS.md
 *                 #20); with the real seed they land like any keys
 *
 * Also reported: bucket_full refusals while filling and the residents
 * moved to make room (`displaced`, one cuckoo step; before it existed, 95 %
 * fill refused 0.23-0.27 % of inserts and 50 % of 1,048,576 refused 15).  Usage: bench_fdb [max_entries ...]; no arguments runs 8192
 * and 1048576.  Not part of the default `meson test` (suite 'perf').
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vswitch/fdb.h"
#include "vswitch/fdb_dp.h"

#define BURST 32
#define RUNS 9                /* passes over the key set per measurement */
#define MIN_BURSTS 4096       /* at least this many timed bursts */

static uint64_t rng_state = 0x853c49e6748fea9bull;

static uint64_t rng(void)
{
    uint64_t x = rng_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return x * 0x2545f4914f6cdd1dull;
}

static uint64_t ns_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

struct samples {
    double *v;
    size_t n, cap;
};

static void sample_add(struct samples *s, double x)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 4096;
        s->v = realloc(s->v, s->cap * sizeof(*s->v));
        if (s->v == NULL) {
            perror("realloc");
            exit(1);
        }
    }
    s->v[s->n++] = x;
}

static void report(const char *what, struct samples *s)
{
    qsort(s->v, s->n, sizeof(*s->v), cmp_double);
    double med = s->v[s->n / 2];
    double p99 = s->v[(size_t)((double)s->n * 0.99)];
    printf("  %-14s median %6.2f ns/op   p99 %6.2f ns/op\n", what, med, p99);
    s->n = 0;
}

static volatile uint64_t sink;

enum op {
    OP_LOOKUP,
    OP_LEARN,
};

/* Times `keys` in bursts: hash + prefetch, then the operation. */
static void run_bursts(struct vsw_fdb *fdb, const uint64_t *keys, size_t n,
                       enum op op, const uint16_t *ports, uint32_t now_s,
                       struct samples *out)
{
    uint64_t hashes[BURST];
    uint64_t acc = 0;

    for (size_t i = 0; i + BURST <= n; i += BURST) {
        uint64_t t0 = ns_now();
        for (int j = 0; j < BURST; j++) {
            hashes[j] = vsw_fdb_hash(fdb, keys[i + j]);
            vsw_fdb_prefetch(fdb, hashes[j]);
        }
        if (op == OP_LOOKUP) {
            for (int j = 0; j < BURST; j++)
                acc += vsw_fdb_lookup(fdb, keys[i + j], hashes[j]);
        } else {
            for (int j = 0; j < BURST; j++)
                acc += vsw_fdb_learn(fdb, keys[i + j], hashes[j],
                                     ports[i + j], now_s);
        }
        uint64_t t1 = ns_now();
        sample_add(out, (double)(t1 - t0) / BURST);
    }
    sink += acc;
}

static void shuffle(uint64_t *k, uint16_t *p, size_t n)
{
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = rng() % (i + 1);
        uint64_t t = k[i];
        k[i] = k[j];
        k[j] = t;
        uint16_t u = p[i];
        p[i] = p[j];
        p[j] = u;
    }
}

static uint64_t rand_key(void)
{
    return vsw_fdb_key((uint16_t)(1 + rng() % 4094),
                       rng() & VSW_FDB_MAC_MASK & ~(1ull << 40));
}

static int bench_fill(uint32_t max, uint32_t pct)
{
    struct vsw_fdb_params p = {.max_entries = max, .aging_s = 300};
    struct vsw_fdb *fdb;
    int err = vsw_fdb_create(&p, &fdb);
    if (err != 0) {
        fprintf(stderr, "vsw_fdb_create: %s\n", strerror(-err));
        return 1;
    }

    size_t want = (size_t)max * pct / 100;
    size_t n = 0;
    uint64_t *keys = malloc(want * sizeof(*keys));
    uint64_t *miss = malloc(want * sizeof(*miss));
    uint16_t *ports = malloc(want * sizeof(*ports));
    uint16_t *ports2 = malloc(want * sizeof(*ports2));
    if (!keys || !miss || !ports || !ports2) {
        perror("malloc");
        return 1;
    }
    uint64_t attempts = 0;
    while (n < want) {
        uint64_t k = rand_key();
        uint16_t port = (uint16_t)(rng() % 64);
        attempts++;
        if (vsw_fdb_learn(fdb, k, vsw_fdb_hash(fdb, k), port, 1) ==
            VSW_FDB_NEW) {
            keys[n] = k;
            ports[n] = port;
            ports2[n] = (uint16_t)((port + 1) % 64);
            n++;
        }
    }
    for (size_t i = 0; i < n; i++)
        miss[i] = rand_key();

    struct vsw_fdb_stats st;
    vsw_fdb_get_stats(fdb, &st);
    printf("max=%u fill=%u%% (%zu entries, %u slots): bucket_full %llu "
           "(%.4f%% of inserts), displaced %llu\n",
           max, pct, n, vsw_fdb_capacity_slots(fdb),
           (unsigned long long)st.bucket_full,
           100.0 * (double)st.bucket_full / (double)attempts,
           (unsigned long long)st.displaced);

    size_t reps = RUNS;
    while (reps * (n / BURST) < MIN_BURSTS)
        reps++;
    struct samples s = {0};
    uint32_t now = 1;

    shuffle(keys, ports, n);
    for (size_t r = 0; r < reps; r++)
        run_bursts(fdb, keys, n, OP_LOOKUP, NULL, 0, &s);
    report("lookup-hit", &s);
    for (size_t r = 0; r < reps; r++)
        run_bursts(fdb, miss, n, OP_LOOKUP, NULL, 0, &s);
    report("lookup-miss", &s);

    /* Ports follow the keys through the shuffle: learns hit. */
    for (size_t r = 0; r < reps; r++)
        run_bursts(fdb, keys, n, OP_LEARN, ports, now, &s);
    report("learn-hit", &s);
    for (size_t r = 0; r < reps; r++)
        run_bursts(fdb, keys, n, OP_LEARN, ports, ++now, &s);
    report("learn-refresh", &s);
    for (size_t r = 0; r < reps; r++)
        run_bursts(fdb, keys, n, OP_LEARN, r % 2 ? ports : ports2, now, &s);
    report("learn-move", &s);
    /* Leave every key on `ports` again. */
    for (size_t i = 0; i < n; i++)
        vsw_fdb_learn(fdb, keys[i], vsw_fdb_hash(fdb, keys[i]), ports[i],
                      now);

    /* learn-new: delete a chunk (untimed), then learn it back (timed). */
    size_t chunk = n < 4096 ? n - n % BURST : 4096;
    for (size_t r = 0; r < reps && chunk >= BURST; r++) {
        size_t off = (r * chunk) % (n - chunk + 1);
        for (size_t i = off; i < off + chunk; i++) {
            uint64_t k = keys[i];
            vsw_fdb_del(fdb, (uint16_t)((k >> 48) & 0xfff),
                        k & VSW_FDB_MAC_MASK);
        }
        run_bursts(fdb, keys + off, chunk, OP_LEARN, ports + off, now, &s);
    }
    report("learn-new", &s);

    if (pct == 50) {
        /* Keys concentrated under seed 1 (the attacker's guess) replace
         * half of the entries; look them up. */
        struct vsw_fdb_params gp = {.max_entries = max, .aging_s = 300,
                                    .seed = 1};
        struct vsw_fdb *guess;
        if (vsw_fdb_create(&gp, &guess) == 0) {
            size_t n_adv = n / 2 - (n / 2) % BURST, got = 0;
            uint64_t *adv = malloc(n_adv * sizeof(*adv));
            uint64_t mac = 0;
            while (adv && got < n_adv) {
                uint64_t k = vsw_fdb_key(1, ++mac);
                if ((vsw__fdb_bucket1(guess, vsw_fdb_hash(guess, k)) & 255) ==
                    0)
                    adv[got++] = k;
            }
            if (adv == NULL) {
                perror("malloc");
                return 1;
            }
            for (size_t i = 0; i < n_adv; i++) {
                uint64_t k = keys[i];
                vsw_fdb_del(fdb, (uint16_t)((k >> 48) & 0xfff),
                            k & VSW_FDB_MAC_MASK);
            }
            uint64_t bf0, bf1;
            vsw_fdb_get_stats(fdb, &st);
            bf0 = st.bucket_full;
            for (size_t i = 0; i < n_adv; i++)
                vsw_fdb_learn(fdb, adv[i], vsw_fdb_hash(fdb, adv[i]), 0, now);
            vsw_fdb_get_stats(fdb, &st);
            bf1 = st.bucket_full;
            for (size_t r = 0; r < reps; r++)
                run_bursts(fdb, adv, n_adv, OP_LOOKUP, NULL, 0, &s);
            report("lookup-adv", &s);
            printf("  (%zu crafted keys: bucket_full %llu with the real "
                   "seed)\n",
                   n_adv, (unsigned long long)(bf1 - bf0));
            free(adv);
            vsw_fdb_destroy(guess);
        }
    }

    free(s.v);
    free(keys);
    free(miss);
    free(ports);
    free(ports2);
    vsw_fdb_destroy(fdb);
    return 0;
}

int main(int argc, char **argv)
{
    uint32_t sizes[8] = {VSW_FDB_DEFAULT_MAX, 1u << 20};
    int n_sizes = 2;
    static const uint32_t fills[] = {10, 50, 95};

    if (argc > 1) {
        n_sizes = 0;
        for (int i = 1; i < argc && n_sizes < 8; i++) {
            char *end;
            unsigned long v = strtoul(argv[i], &end, 10);
            if (*end != '\0' || v == 0 || v > VSW_FDB_MAX_ENTRIES) {
                fprintf(stderr, "usage: %s [max_entries ...] (1..%u)\n",
                        argv[0], VSW_FDB_MAX_ENTRIES);
                return 2;
            }
            sizes[n_sizes++] = (uint32_t)v;
        }
    }
    printf("bench_fdb: burst %d, ns per key (clock_gettime per burst)\n",
           BURST);
    for (int i = 0; i < n_sizes; i++)
        for (size_t j = 0; j < sizeof(fills) / sizeof(fills[0]); j++)
            if (bench_fill(sizes[i], fills[j]) != 0)
                return 1;
    return 0;
}
