/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fdb_private.h — the layout of struct vsw_fdb, shared by fdb.c and the
 * fast-path inlines of fdb_dp.h.  Nothing outside vswitch/fdb* may use it
 * (tests may, to reach the bucket geometry).
 *
 * Slot protocol
 * -------------
 * A slot is two 64-bit atomic words:
 *
 *   key  0 = empty, else VSW__FDB_KEY_VALID | vid << 48 | mac
 *   val  bits  0..15  port
 *        bit  16      VSW__FDB_VAL_STATIC
 *        bit  17      VSW__FDB_VAL_DEAD: the entry is being removed
 *        bits 18..31  check tag: the top bits of the key's hash (vsw__fdb_tag)
 *        bits 32..63  last_seen, seconds
 *
 * Readers: k1 = key (acquire); if k1 is the wanted key, v = val (acquire),
 * k2 = key (acquire); accept only if k2 == k1, v's tag matches the key and v
 * is not DEAD.  Any failure is a miss (the entry was just removed).
 *
 * Writers of keys (insert, remove) hold fdb->lock:
 *   insert: val = v (release), then key = k (release).
 *   remove: CAS val from the value it judged (still live) to DEAD, then
 *           key = 0 (release).  Claiming val first makes the remover see
 *           the entry's final port (for the per-port counts) and makes any
 *           concurrent fast-path CAS on the old value fail.
 * Writers of values without the lock (the fast path: refresh and move) use
 * one CAS of val from the value they validated, so a slot that was removed
 * or reused in between makes that CAS fail (but see below), and
 * control-side value changes (static over learned) use CAS loops too.
 *
 * The tag closes the ABA window: a reader that loads k1 = A, then a value
 * written for key B after A was removed and the slot reused, then k2 = A
 * again (A re-inserted into the same slot) rejects the value because B's
 * tag differs from A's.  A residual false accept needs that double reuse
 * inside a reader's few-instruction window *and* a 14-bit tag collision of
 * two keys sharing a bucket.  A stale fast-path CAS needs less: a single
 * reuse, by a key B whose value equals the one validated for A (same tag,
 * port and second), between the lcore's find and its CAS; it then
 * re-points B to the moving port (the per-port counts stay right).  That
 * takes a 14-bit tag collision inside a window of a few instructions, and
 * costs at worst one misdirected entry until B is next seen or ages.
 *
 * Per-port learned counts change lock-free (a move reserves one on the new
 * port with a bounded CAS loop, vsw__fdb_port_reserve, and releases the old
 * one after its CAS); inserts and removes adjust them under the lock.  The
 * total count changes only under the lock.
 */
#ifndef VSW_FDB_PRIVATE_H
#define VSW_FDB_PRIVATE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/vsa_compiler.h"
#include "vswitch/fdb.h"

/* Clang thread-safety analysis (-Wthread-safety), as OVS_REQ_WRLOCK does.
 * Functions only: in C, clang cannot name a sibling member in guarded_by,
 * so guarded fields say "under lock" in their comment instead.
 * XXX: move to common/vsa_compiler.h once other modules want it. */
#if defined(__clang__)
#define VSW__TSA(x) __attribute__((x))
#else
#define VSW__TSA(x)
#endif
#define VSW__CAPABILITY(n) VSW__TSA(capability(n))
#define VSW__REQUIRES(l) VSW__TSA(requires_capability(l))
#define VSW__ACQUIRE(l) VSW__TSA(acquire_capability(l))
#define VSW__RELEASE(l) VSW__TSA(release_capability(l))
#define VSW__TRY_ACQUIRE(r, l) VSW__TSA(try_acquire_capability(r, l))
#define VSW__NO_TSA VSW__TSA(no_thread_safety_analysis) /* lock primitives */

#define VSW__FDB_BUCKET_SLOTS 4

#define VSW__FDB_KEY_VALID (1ull << 63)
#define VSW__FDB_KEY_VID_SHIFT 48

#define VSW__FDB_VAL_PORT_MASK 0xffffull
#define VSW__FDB_VAL_STATIC (1ull << 16)
#define VSW__FDB_VAL_DEAD (1ull << 17)
#define VSW__FDB_VAL_TAG_SHIFT 18
#define VSW__FDB_VAL_TAG_BITS 14
#define VSW__FDB_VAL_TAG_MASK \
    (((1ull << VSW__FDB_VAL_TAG_BITS) - 1) << VSW__FDB_VAL_TAG_SHIFT)
#define VSW__FDB_VAL_TS_SHIFT 32

struct vsw_fdb_slot {
    _Atomic uint64_t key;
    _Atomic uint64_t val;
};

struct vsw_fdb_bucket {
    struct vsw_fdb_slot slots[VSW__FDB_BUCKET_SLOTS];
} VSA_CACHE_ALIGNED;

_Static_assert(sizeof(struct vsw_fdb_bucket) == VSA_CACHE_LINE,
               "an FDB bucket must be exactly one cache line");

/* The writer lock: a test-and-set spinlock. */
struct VSW__CAPABILITY("spinlock") vsw_fdb_lock {
    atomic_flag flag;
};

/* Event counters, bumped with relaxed atomics by lcores and writers. */
struct vsw_fdb_counters {
    _Atomic uint64_t learned;
    _Atomic uint64_t moved;
    _Atomic uint64_t refreshed;
    _Atomic uint64_t aged;
    _Atomic uint64_t learn_limit;
    _Atomic uint64_t table_full;
    _Atomic uint64_t bucket_full;
    _Atomic uint64_t displaced;
    _Atomic uint64_t learn_busy;
    _Atomic uint64_t static_conflict;
    _Atomic uint64_t static_evicted;
};

struct vsw_fdb {
    /* Read-only after creation; read by every lookup. */
    struct vsw_fdb_bucket *buckets;
    uint64_t mask;                  /* n_buckets - 1 */
    uint64_t seed0;                 /* hash keys, derived from the seed */
    uint64_t seed1;
    uint32_t n_buckets;
    uint32_t max_entries;
    _Atomic uint32_t aging_s;       /* read by the sweep only */

    /* Writer side. */
    struct vsw_fdb_lock lock VSA_CACHE_ALIGNED;
    uint32_t age_cursor;            /* under lock: next slot to sweep */
    _Atomic uint32_t n_entries;     /* written under lock, read by anyone */

    struct vsw_fdb_counters stats VSA_CACHE_ALIGNED;

    /* Per-port learn limits (0 = unlimited) and learned-entry counts. */
    _Atomic uint32_t port_limits[VSW_FDB_MAX_PORTS] VSA_CACHE_ALIGNED;
    _Atomic uint32_t port_counts[VSW_FDB_MAX_PORTS] VSA_CACHE_ALIGNED;
};

/* The check tag of a key, from the key's hash: the hash's top 14 bits,
 * which the bucket indexes do not use alone, shifted into their place in a
 * value word.  Taken from the hash rather than the key because every user
 * has the hash already: the fast path then pays two instructions for it. */
static inline uint64_t vsw__fdb_tag(uint64_t hash)
{
    return (hash >> (64 - VSW__FDB_VAL_TAG_BITS)) << VSW__FDB_VAL_TAG_SHIFT;
}

/* True if value word v is live and belongs to a key whose tag is `tag`. */
static inline bool vsw__fdb_val_ok(uint64_t v, uint64_t tag)
{
    return ((v ^ tag) & (VSW__FDB_VAL_TAG_MASK | VSW__FDB_VAL_DEAD)) == 0;
}

static inline uint64_t vsw__fdb_val_make(uint64_t tag, uint16_t port,
                                         bool is_static, uint32_t now_s)
{
    return tag | port | (is_static ? VSW__FDB_VAL_STATIC : 0) |
           ((uint64_t)now_s << VSW__FDB_VAL_TS_SHIFT);
}

static inline uint16_t vsw__fdb_val_port(uint64_t v)
{
    return (uint16_t)(v & VSW__FDB_VAL_PORT_MASK);
}

static inline uint32_t vsw__fdb_val_ts(uint64_t v)
{
    return (uint32_t)(v >> VSW__FDB_VAL_TS_SHIFT);
}

/* The two candidate buckets of a hash; different whenever n_buckets > 1
 * (the alternate offset is odd). */
static inline uint32_t vsw__fdb_bucket1(const struct vsw_fdb *fdb,
                                        uint64_t hash)
{
    return (uint32_t)(hash & fdb->mask);
}

static inline uint32_t vsw__fdb_bucket2(const struct vsw_fdb *fdb,
                                        uint64_t hash)
{
    return (uint32_t)((hash ^ ((hash >> 32) | 1)) & fdb->mask);
}

/* Reserves one learned entry on `port` within its limit.  Lock-free (moves
 * call it from lcores); the loop retries only while other threads change
 * the same port's count.  Returns false at the limit. */
static inline bool vsw__fdb_port_reserve(struct vsw_fdb *fdb, uint16_t port)
{
    _Atomic uint32_t *cnt = &fdb->port_counts[port];
    uint32_t limit = atomic_load_explicit(&fdb->port_limits[port],
                                          memory_order_relaxed);
    if (limit == 0) {
        atomic_fetch_add_explicit(cnt, 1, memory_order_relaxed);
        return true;
    }
    uint32_t c = atomic_load_explicit(cnt, memory_order_relaxed);
    do {
        if (c >= limit)
            return false;
    } while (!atomic_compare_exchange_weak_explicit(
        cnt, &c, c + 1, memory_order_relaxed, memory_order_relaxed));
    return true;
}

static inline void vsw__fdb_port_release(struct vsw_fdb *fdb, uint16_t port)
{
    atomic_fetch_sub_explicit(&fdb->port_counts[port], 1,
                              memory_order_relaxed);
}

static inline void vsw__fdb_count_inc(_Atomic uint64_t *c)
{
    atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

/* Test hook (NULL but in tests): called by vsw_fdb_flush_all() and
 * vsw_fdb_remove_matching() between two lock holds of a pass, where an
 * lcore's insert may displace an entry. */
extern void (*vsw__fdb_between_chunks)(struct vsw_fdb *fdb);
/* Test hook (NULL but in tests): the hash seed of a table created without
 * one (vsw_fdb_params.seed 0), instead of getrandom(2). */
extern uint64_t (*vsw__fdb_seed_hook)(void);

#endif /* VSW_FDB_PRIVATE_H */
