/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fdb_dp.h — FDB fast path for the lcores: key, hash, prefetch, lookup and
 * learn as static inlines (see fdb.h for the design and the thread-safety
 * rules, fdb_private.h for the slot protocol).
 *
 * Plain C11 atomics, no DPDK: the FDB takes keys, not mbufs, so it is unit
 * tested and benchmarked without an EAL.
 *
 * Intended use per burst, in two passes as the pipeline does:
 *
 *     pass 1, per frame:  key = vsw_fdb_key(vid, mac);
 *                         hash = vsw_fdb_hash(fdb, key);
 *                         vsw_fdb_prefetch(fdb, hash);
 *     pass 2, per frame:  vsw_fdb_learn(fdb, skey, shash, in_port, now_s);
 *                         out = vsw_fdb_lookup(fdb, dkey, dhash);
 *
 * (the pipeline reads vsw_fdb_probe_mode() once per burst and calls the
 * _probe variants, so that the compiler specialises the loop for each.)
 *
 * The caller learns only unicast source MACs on admitted VLANs (1..4094)
 * from ports < VSW_FDB_MAX_PORTS; a port out of range is refused, an
 * all-zero MAC ignored (checked on the miss path only: it is never in the
 * table), and the key builder masks vid and mac to their widths.
 */
#ifndef VSW_FDB_DP_H
#define VSW_FDB_DP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/vsa_compiler.h"
#include "vswitch/fdb.h"
#include "vswitch/fdb_private.h"

enum vsw_fdb_learn_result {
    VSW_FDB_HIT = 0,     /* known on this port, fresh: nothing written */
    VSW_FDB_REFRESHED,   /* known on this port: last_seen updated */
    VSW_FDB_MOVED,       /* known on another port: re-pointed here */
    VSW_FDB_NEW,         /* learned */
    VSW_FDB_REFUSED,     /* not learned or not moved: see the counters
                            (learn_limit, table_full, bucket_full,
                            learn_busy, static_conflict) */
    VSW_FDB_IGNORED,     /* an all-zero source MAC: no station, not learned
                            (no counter: not a refusal) */
};
#define VSW_FDB_LEARN_RESULTS (VSW_FDB_IGNORED + 1)

/* The learn slow path for a key that is not in the table (fdb.c): try-locks
 * the writer lock (refused and counted `learn_busy` if busy), rechecks the
 * key, applies the limits and inserts. */
enum vsw_fdb_learn_result vsw__fdb_insert(struct vsw_fdb *fdb, uint64_t key,
                                          uint64_t hash, uint16_t port,
                                          uint32_t now_s);

/* The table key of (vid, mac). */
static inline uint64_t vsw_fdb_key(uint16_t vid, uint64_t mac)
{
    return VSW__FDB_KEY_VALID | ((uint64_t)(vid & 0xfff)
                                 << VSW__FDB_KEY_VID_SHIFT) |
           (mac & VSW_FDB_MAC_MASK);
}

/* Keyed 64-bit mix of a key: two multiply/xor-shift rounds, each keyed with
 * a 64-bit secret derived from the table's seed.  Not a cryptographic PRF
 * (that would cost several times more per frame), but without the seed the
 * bucket of a key cannot be predicted, so colliding MAC sets cannot be
 * precomputed. */
static inline uint64_t vsw_fdb_hash(const struct vsw_fdb *fdb, uint64_t key)
{
    uint64_t x = key ^ fdb->seed0;
    x *= 0x9e3779b97f4a7c15ull;
    x ^= x >> 29;
    x ^= fdb->seed1;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 32;
    return x;
}

/* Prefetches the first candidate bucket of `hash`, where first-fit
 * insertion puts nearly every key (the second is probed only on a miss in
 * the first). */
static inline void vsw_fdb_prefetch(const struct vsw_fdb *fdb, uint64_t hash)
{
    __builtin_prefetch(&fdb->buckets[vsw__fdb_bucket1(fdb, hash)], 0, 3);
}

/* How a find compares the four slots of a bucket.
 *
 * Which slot holds a key is the order keys arrived in its bucket.  In a
 * sparse table nearly every key is the first of its bucket, and comparing
 * slot by slot with a branch each is cheapest: the branch predicts, and the
 * CPU runs on past it before the bucket's line has even arrived.  From
 * half a key per bucket on, a fifth and more of the keys sit in other
 * slots, those branches mispredict, and comparing all four keys without a
 * branch per slot is cheaper (about 25 % more frames per second on the
 * benchmark's 65,536 MACs, against 5-10 % fewer in the sparse 1,024-MAC
 * table).  The data path picks one per burst (vsw_fdb_probe_mode). */
enum vsw_fdb_probe {
    VSW_FDB_PROBE_ORDERED,   /* slot by slot, first match wins */
    VSW_FDB_PROBE_ALL,       /* all four keys compared, matches in a mask */
};

/* The probe suited to the table's current fill: ALL once it holds at least
 * half as many entries as it has buckets.  One relaxed load. */
static inline enum vsw_fdb_probe vsw_fdb_probe_mode(const struct vsw_fdb *fdb)
{
    uint32_t n = atomic_load_explicit(&fdb->n_entries, memory_order_relaxed);
    return n >= fdb->n_buckets / 2 ? VSW_FDB_PROBE_ALL
                                   : VSW_FDB_PROBE_ORDERED;
}

/* Validates slot s, whose key was read as `key`: true, and its value word
 * in *valp, if the entry is live and still that key's (fdb_private.h,
 * "Slot protocol"); false if it was removed (or removed and the slot
 * reused) under us. */
static inline bool vsw__fdb_slot_check(struct vsw_fdb_slot *s, uint64_t key,
                                       uint64_t tag, uint64_t *valp)
{
    uint64_t v = atomic_load_explicit(&s->val, memory_order_acquire);
    if (VSA_UNLIKELY(atomic_load_explicit(&s->key, memory_order_acquire) !=
                         key ||
                     !vsw__fdb_val_ok(v, tag)))
        return false;
    *valp = v;
    return true;
}

/* Finds `key` in bucket b: its slot and validated value word, or NULL.  A
 * key that failed its check can have been re-added in another slot, so the
 * search goes on past it. */
static inline VSA_ALWAYS_INLINE struct vsw_fdb_slot *
vsw__fdb_find_in(struct vsw_fdb_bucket *b, uint64_t key, uint64_t tag,
                 uint64_t *valp, enum vsw_fdb_probe probe)
{
    _Static_assert(VSW__FDB_BUCKET_SLOTS == 4, "vsw__fdb_find_in: 4 slots");
    if (probe == VSW_FDB_PROBE_ORDERED) {
        for (int i = 0; i < VSW__FDB_BUCKET_SLOTS; i++) {
            struct vsw_fdb_slot *s = &b->slots[i];
            if (atomic_load_explicit(&s->key, memory_order_acquire) == key &&
                VSA_LIKELY(vsw__fdb_slot_check(s, key, tag, valp)))
                return s;
        }
        return NULL;
    }
    /* Four independent loads and compares, written out (a loop is one
     * serial chain at -O2). */
    unsigned h0 = atomic_load_explicit(&b->slots[0].key,
                                       memory_order_acquire) == key;
    unsigned h1 = atomic_load_explicit(&b->slots[1].key,
                                       memory_order_acquire) == key;
    unsigned h2 = atomic_load_explicit(&b->slots[2].key,
                                       memory_order_acquire) == key;
    unsigned h3 = atomic_load_explicit(&b->slots[3].key,
                                       memory_order_acquire) == key;
    unsigned hits = (h0 | h1 << 1) | (h2 << 2 | h3 << 3);

    while (VSA_LIKELY(hits != 0)) {
        struct vsw_fdb_slot *s = &b->slots[__builtin_ctz(hits)];
        if (VSA_LIKELY(vsw__fdb_slot_check(s, key, tag, valp)))
            return s;
        hits &= hits - 1;
    }
    return NULL;
}

/* Finds the slot of `key` and its validated value word, or NULL: its first
 * bucket, then its second. */
static inline VSA_ALWAYS_INLINE struct vsw_fdb_slot *
vsw__fdb_find(const struct vsw_fdb *fdb, uint64_t key, uint64_t hash,
              uint64_t *valp, enum vsw_fdb_probe probe)
{
    uint64_t tag = vsw__fdb_tag(hash);
    struct vsw_fdb_slot *s = vsw__fdb_find_in(
        &fdb->buckets[vsw__fdb_bucket1(fdb, hash)], key, tag, valp, probe);

    if (VSA_LIKELY(s != NULL))
        return s;
    return vsw__fdb_find_in(&fdb->buckets[vsw__fdb_bucket2(fdb, hash)], key,
                            tag, valp, probe);
}

/* The port of `key`, or VSW_FDB_PORT_NONE (flood), with the given probe.
 * Lock-free, no stores. */
static inline VSA_ALWAYS_INLINE uint16_t
vsw_fdb_lookup_probe(const struct vsw_fdb *fdb, uint64_t key, uint64_t hash,
                     enum vsw_fdb_probe probe)
{
    uint64_t v;
    if (vsw__fdb_find(fdb, key, hash, &v, probe) == NULL)
        return VSW_FDB_PORT_NONE;
    return vsw__fdb_val_port(v);
}

/* The port of `key`, or VSW_FDB_PORT_NONE (flood). */
static inline uint16_t vsw_fdb_lookup(const struct vsw_fdb *fdb, uint64_t key,
                                      uint64_t hash)
{
    return vsw_fdb_lookup_probe(fdb, key, hash, vsw_fdb_probe_mode(fdb));
}

/* Learn on a slot found with value word v (also used by vsw__fdb_insert
 * when another lcore inserted the key first). */
static inline enum vsw_fdb_learn_result
vsw__fdb_learn_existing(struct vsw_fdb *fdb, struct vsw_fdb_slot *s,
                        uint64_t v, uint16_t port, uint32_t now_s)
{
    uint16_t old = vsw__fdb_val_port(v);
    uint64_t nv;

    if (VSA_LIKELY(old == port)) {
        /* Static entries never age, so never need a refresh; a last_seen
         * ahead of now_s (another lcore's later clock read) is fresh. */
        if (VSA_LIKELY((int32_t)(now_s - vsw__fdb_val_ts(v)) <= 0 ||
                       (v & VSW__FDB_VAL_STATIC)))
            return VSW_FDB_HIT;
        nv = (v & ((1ull << VSW__FDB_VAL_TS_SHIFT) - 1)) |
             ((uint64_t)now_s << VSW__FDB_VAL_TS_SHIFT);
        if (atomic_compare_exchange_strong_explicit(&s->val, &v, nv,
                                                    memory_order_release,
                                                    memory_order_relaxed)) {
            vsw__fdb_count_inc(&fdb->stats.refreshed);
            return VSW_FDB_REFRESHED;
        }
        return VSW_FDB_HIT; /* a concurrent refresh, move or removal won */
    }
    if (v & VSW__FDB_VAL_STATIC) {
        vsw__fdb_count_inc(&fdb->stats.static_conflict);
        return VSW_FDB_REFUSED;
    }
    if (VSA_UNLIKELY(port >= VSW_FDB_MAX_PORTS))
        return VSW_FDB_REFUSED;
    /* A move counts against the new port's limit (fdb.h, "Limits"). */
    if (!vsw__fdb_port_reserve(fdb, port)) {
        vsw__fdb_count_inc(&fdb->stats.learn_limit);
        return VSW_FDB_REFUSED;
    }
    nv = vsw__fdb_val_make(v & VSW__FDB_VAL_TAG_MASK, port, false, now_s);
    if (!atomic_compare_exchange_strong_explicit(&s->val, &v, nv,
                                                 memory_order_release,
                                                 memory_order_relaxed)) {
        vsw__fdb_port_release(fdb, port);
        vsw__fdb_count_inc(&fdb->stats.learn_busy);
        return VSW_FDB_REFUSED;
    }
    vsw__fdb_port_release(fdb, old);
    vsw__fdb_count_inc(&fdb->stats.moved);
    return VSW_FDB_MOVED;
}

/* Learns that `key` was seen as a source on `port` at `now_s`, with the
 * given probe.  A hit (same port, same second) does no store; a refresh or
 * a move is one CAS; a new key goes through the try-locked slow path.
 * Never blocks. */
static inline VSA_ALWAYS_INLINE enum vsw_fdb_learn_result
vsw_fdb_learn_probe(struct vsw_fdb *fdb, uint64_t key, uint64_t hash,
                    uint16_t port, uint32_t now_s, enum vsw_fdb_probe probe)
{
    uint64_t v;
    struct vsw_fdb_slot *s = vsw__fdb_find(fdb, key, hash, &v, probe);
    if (VSA_UNLIKELY(s == NULL))
        return vsw__fdb_insert(fdb, key, hash, port, now_s);
    return vsw__fdb_learn_existing(fdb, s, v, port, now_s);
}

/* vsw_fdb_learn_probe with the probe suited to the table's fill. */
static inline enum vsw_fdb_learn_result
vsw_fdb_learn(struct vsw_fdb *fdb, uint64_t key, uint64_t hash, uint16_t port,
              uint32_t now_s)
{
    return vsw_fdb_learn_probe(fdb, key, hash, port, now_s,
                               vsw_fdb_probe_mode(fdb));
}

#endif /* VSW_FDB_DP_H */
