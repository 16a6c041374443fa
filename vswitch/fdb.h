/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fdb.h — the forwarding database (MAC learning table) of one switch.
 *
 * What it maps
 * ------------
 * (VLAN id 1..4094, 48-bit MAC) -> port id (0..VSW_FDB_MAX_PORTS-1).  The
 * data path learns the source of every admitted frame and looks up the
 * destination; a miss means "flood in the VLAN".  The MAC travels as a
 * uint64_t holding the 48-bit address (vsa_mac_to_u64() in
 * common/vsa_mac.h); the lcore builds the key once per frame with
 * vsw_fdb_key() and hashes it once with vsw_fdb_hash() (vswitch/fdb_dp.h).
 *
 * Table
 * -----
 * A power-of-two array of 64-byte buckets of 4 slots, sized at creation to
 * the next power of two >= max_entries / 2 buckets, i.e. at least twice as
 * many slots as entries.  Each key has two candidate buckets derived from
 * one keyed 64-bit hash; a new key goes into the first one unless it is
 * full (first-fit: lookups prefetch and probe the first bucket, so almost
 * every lookup touches one cache line).
 * When both buckets are full, one step of cuckoo displacement makes room:
 * a resident that sits in its own first bucket moves to a free slot of its
 * second (counted `displaced`), never further and never back towards a
 * first bucket.  The move writes the copy dead, claims the original by CAS
 * from the copied value and then makes the copy live, so there is never
 * more than one live copy and no concurrent refresh or move is lost; a
 * reader in that window misses the key, as during a removal, and floods
 * one frame.  (An entry moved behind the incremental age sweep's cursor is
 * judged on the sweep's next pass.)  Only if no resident can move is the key not learned
 * (`bucket_full`): with the 2x slack, the two choices and the one move
 * this is rare (tests/bench/bench_fdb.c measures the rates) and the frame
 * is simply flooded.  The table never grows; a switch that needs a bigger
 * table creates a new one.
 *
 * Hash flooding: the hash is keyed with a random 64-bit seed drawn from
 * getrandom(2) at creation (or vsw_fdb_params.seed when non-zero, for tests),
 * so a sender that controls source MACs cannot aim them at one bucket pair.
 * Whatever it sends, a lookup probes at most 8 slots in 2 cache lines.
 *
 * Limits and fairness
 * -------------------
 * `max_entries` bounds the whole table (static + learned entries): learned
 * ones are refused at it, and static ones are not checked here, the
 * configuration bounds them by it (vswitch.c: statics_fit).  Each port
 * may also carry a learn limit (vsw_fdb_set_port_limit, 0 = unlimited) on
 * the number of *learned* entries pointing at it.  A new learned entry is
 * refused when its port already holds `limit` learned entries (counted
 * `learn_limit`), or when the table holds max_entries entries (counted
 * `table_full`).  Nothing is ever evicted to make room: a port (that is, a VM)
 * that sources a flood of random MACs can fill at most its own quota and
 * never pushes out the entries of the other ports, whose traffic keeps being
 * forwarded instead of flooded.  That is the anti-flooding rule; it costs the
 * flooding port its own new stations until its old entries age out, which is
 * the intended penalty.  Lowering a limit below the current count does not
 * evict either; new learning on that port stops until it drops below.
 *
 * A MAC move (a known key seen on another port) re-points the entry at the
 * new port.  The move counts against the new port's limit like a new entry:
 * if the new port is at its limit the move is refused (counted
 * `learn_limit`) and the entry keeps pointing at the old port until it ages
 * out or the old port's entries are flushed.  Otherwise a VM could exceed
 * its quota by "stealing" MACs learned elsewhere.
 *
 * Aging
 * -----
 * Every entry stores the second it was last seen.  Time is injected: the
 * lcore passes `now_s` to vsw_fdb_learn() and the control thread passes it
 * to vsw_fdb_age_sweep(); vswitch derives it for both from the TSC
 * (vsw__now_s: whole seconds since the switch started), and tests pass
 * any value.  Ages are compared
 * with 32-bit wrapping arithmetic, and a last_seen slightly ahead of now_s
 * (an lcore read the clock a little later) counts as age 0.  A refresh
 * stores only when the second changed, so a busy station costs one store
 * per second, not one per frame.  A dynamic entry is removed by the first
 * sweep that sees now_s - last_seen >= aging_s.
 *
 * The sweep is incremental (like redis dictRehash): each call examines at
 * most `budget` slots from an internal cursor that wraps around.  An entry
 * therefore lives between aging_s and aging_s + one full pass.  With a call
 * every `interval` seconds and a wanted full pass every `period` seconds
 * (one tick, e.g. 1 s):
 *
 *     budget = ceil(vsw_fdb_capacity_slots() * interval / period)
 *
 * e.g. the default table (8192 entries, 16384 slots) swept every 10 ms with
 * a full pass per second needs budget 164.  A slot costs a few loads, so even
 * a whole pass of a large table per call is only tens of microseconds; the
 * budget is about bounding the control thread's latency, not throughput.
 *
 * Static entries
 * --------------
 * Added by the operator (vsw_fdb_add_static).  They never age, never move
 * (a learned source on another port is refused and counted
 * `static_conflict`; nor are they displaced to their second bucket), are
 * not counted against per-port learn limits, and take precedence over
 * learned entries: adding one over a learned entry for the same key
 * replaces it, and a new one takes a free slot of its first bucket, else
 * the slot of a learned entry there (evicted, counted `static_evicted`),
 * and only if that bucket holds static entries only its second bucket the
 * same way: it stays in the bucket lookups probe first, and max_entries
 * being reached by learned entries does not keep it out.  The configuration keeps their number within
 * max_entries, and vsw_fdb_statics_fit tells beforehand whether a set of
 * them finds room: only static entries crowding both buckets of a key
 * leave none.  vsw_fdb_del removes either kind; flushes remove static
 * entries only when asked to.
 *
 * Thread-safety
 * -------------
 * Three kinds of callers:
 *
 *   lcores (fast path, vswitch/fdb_dp.h): vsw_fdb_lookup() and
 *     vsw_fdb_learn() from any number of threads at once, never blocking.
 *     Lookups take no lock and write nothing.  A learn that hits does no
 *     store; a refresh or a move is one compare-and-swap of the slot's value
 *     word; a new entry try-locks the writer lock and, if it is busy, does
 *     not learn this time (counted `learn_busy`; the next frame from that
 *     source tries again).  The fast path never spins on the lock.
 *
 *   control thread(s): vsw_fdb_add_static, vsw_fdb_del, vsw_fdb_flush*,
 *     vsw_fdb_age_sweep, vsw_fdb_set_port_limit take the writer lock (a
 *     spinlock held for a bounded amount of work: one key, or at most
 *     `budget` slots).  Several control threads may call them; they are
 *     serialized.  Do not call them from an lcore: they may spin.
 *
 *   anyone: vsw_fdb_count, vsw_fdb_port_count, vsw_fdb_capacity_slots,
 *     vsw_fdb_get_stats, vsw_fdb_walk, vsw_fdb_set_aging are lock-free reads
 *     (counters are relaxed atomics, exact only when writers are quiet).
 *
 * Lock order: the writer lock is a leaf; the FDB takes no other lock while
 * holding it and never calls back into the caller with it held (the walk
 * callback runs without it and may call vsw_fdb_del).  The lock is internal
 * and every function takes and drops it itself.
 *
 * Lifetime: vsw_fdb_destroy() must only be called once no lcore can reach
 * the table any more (after the RCU grace period of the configuration that
 * referenced it).
 *
 * A reader never returns a port that was not written for its key: readers
 * validate each slot as (key, value, key) with acquire loads, and every
 * value word carries a 14-bit check tag taken from its key's hash, so a slot that
 * was deleted and reused for another key between the reader's loads (ABA) is
 * rejected.  See fdb_private.h for the slot protocol.
 */
#ifndef VSW_FDB_H
#define VSW_FDB_H

#include <stdbool.h>
#include <stdint.h>

#define VSW_FDB_MAX_PORTS 1024          /* ports are 0..VSW_FDB_MAX_PORTS-1 */
#define VSW_FDB_PORT_NONE 0xffff        /* "no port": lookup miss, any port */
#define VSW_FDB_DEFAULT_MAX 8192
#define VSW_FDB_DEFAULT_AGING_S 300
#define VSW_FDB_MAX_ENTRIES (1u << 22)  /* largest max_entries accepted */
#define VSW_FDB_MAX_AGING_S 0x7fffffffu /* ages use 32-bit signed distance */
#define VSW_FDB_VID_MIN 1
#define VSW_FDB_VID_MAX 4094
#define VSW_FDB_MAC_MASK 0xffffffffffffull

/* The table (opaque; layout in fdb_private.h for the fast path only). */
struct vsw_fdb;

struct vsw_fdb_params {
    uint32_t max_entries;   /* 1..VSW_FDB_MAX_ENTRIES entries (static too) */
    uint32_t aging_s;       /* 1..VSW_FDB_MAX_AGING_S idle seconds */
    uint64_t seed;          /* hash key; 0 = random from getrandom(2) */
};

/* One entry, as reported by vsw_fdb_walk(). */
struct vsw_fdb_entry {
    uint16_t vid;           /* 1..4094 */
    uint64_t mac;           /* 48-bit MAC, vsa_mac_to_u64() form */
    uint16_t port;          /* 0..VSW_FDB_MAX_PORTS-1 */
    bool is_static;         /* added by the operator, never ages */
    uint32_t last_seen_s;   /* now_s of the last learn (0 for static) */
};

/* Walk callback: return non-zero to stop the walk. */
typedef int vsw_fdb_walk_fn(const struct vsw_fdb_entry *e, void *arg);

/* Event counters since creation (relaxed atomics; each read is exact, the
 * set is not a consistent snapshot while the table is in use). */
struct vsw_fdb_stats {
    uint64_t learned;         /* new learned entries */
    uint64_t moved;           /* learned entries re-pointed to another port */
    uint64_t refreshed;       /* last_seen updates (at most one per second) */
    uint64_t aged;            /* learned entries removed by the age sweep */
    uint64_t learn_limit;     /* learns/moves refused: port at its limit */
    uint64_t table_full;      /* learns refused: max_entries reached */
    uint64_t bucket_full;     /* learns/static adds refused: both buckets
                                 full and no resident could move */
    uint64_t displaced;       /* residents moved to their second bucket to
                                 make room for a new entry */
    uint64_t learn_busy;      /* learns skipped: writer lock busy or the
                                 entry changed under a concurrent update */
    uint64_t static_conflict; /* learns refused: static entry on another port */
    uint64_t static_evicted;  /* learned entries evicted by a static add */
};

/* ---- Lifecycle ---------------------------------------------------------- */

/* Creates an empty table.  Returns 0 and sets *out, or -EINVAL (NULL
 * argument, max_entries 0 or above VSW_FDB_MAX_ENTRIES, aging_s 0 or above
 * VSW_FDB_MAX_AGING_S), -ENOMEM. */
int vsw_fdb_create(const struct vsw_fdb_params *p, struct vsw_fdb **out);

/* Frees the table.  NULL is accepted.  No lcore may still use it. */
void vsw_fdb_destroy(struct vsw_fdb *fdb);

/* ---- Configuration ------------------------------------------------------ */

/* Sets the idle time after which learned entries expire; takes effect at the
 * next sweep.  Returns 0, -EINVAL (0 or above VSW_FDB_MAX_AGING_S; the
 * setting is left unchanged). */
int vsw_fdb_set_aging(struct vsw_fdb *fdb, uint32_t aging_s);

/* Sets the most learned entries `port` may hold (0 = unlimited).  Existing
 * entries are kept even when above the new limit.  Returns 0, -EINVAL (port
 * >= VSW_FDB_MAX_PORTS). */
int vsw_fdb_set_port_limit(struct vsw_fdb *fdb, uint16_t port, uint32_t limit);

/* ---- Static entries ------------------------------------------------------ */

/* Adds or updates a static entry; replaces a learned entry for the same key,
 * or takes the slot of a learned entry in one of its buckets (see "Static
 * entries").  Returns 0, -EINVAL (vid outside 1..4094, mac wider than 48
 * bits, port >= VSW_FDB_MAX_PORTS), -ENOSPC (both buckets hold static
 * entries only; counted `bucket_full`). */
int vsw_fdb_add_static(struct vsw_fdb *fdb, uint16_t vid, uint64_t mac,
                       uint16_t port);

/* A static entry to come, for vsw_fdb_statics_fit. */
struct vsw_fdb_static_key {
    uint16_t vid;
    uint64_t mac;
};

/* Whether vsw_fdb_add_static will find room for every key of want[0..n)
 * once the static entries that `keep` rejects are removed, when called as
 * vsw_commit_publish does: first for the keys the table holds as learned
 * entries (made static in place), then for the others, each of which gets
 * a slot (free or learned) in its first bucket, else in its second,
 * counting the slots the keys before it take.  Changes nothing.
 * Returns 0; -ENOSPC with the index of the first key that finds none in
 * *bad; -EINVAL (a key out of range, *bad set); -ENOMEM. */
typedef bool vsw_fdb_keep_fn(const struct vsw_fdb_entry *e, const void *arg);
int vsw_fdb_statics_fit(struct vsw_fdb *fdb,
                        const struct vsw_fdb_static_key *want, uint32_t n,
                        vsw_fdb_keep_fn *keep, const void *keep_arg,
                        uint32_t *bad);

/* Removes the entry for (vid, mac), static or learned.  Returns 0, -ENOENT
 * (no such entry), -EINVAL (vid outside 1..4094 or mac wider than 48 bits). */
int vsw_fdb_del(struct vsw_fdb *fdb, uint16_t vid, uint64_t mac);

/* ---- Flushing and aging -------------------------------------------------- */

/* Removes learned entries (and static ones too if include_static) that
 * match the filter: `port` (VSW_FDB_PORT_NONE = any port) and `vid` (0 = any
 * VLAN).  Examines at most `budget` slots from *cursor (start at 0) and
 * advances it; sets *done when the whole table has been walked (a cursor
 * past the end also gives done).  Returns the number of entries removed by
 * this call.  Between calls, entries can be learned behind the cursor, and
 * a displacement (see "Table") can move an entry from ahead of the cursor
 * to behind it: a multi-call flush removes neither.  vsw_fdb_flush_all()
 * removes every matching entry present throughout. */
uint32_t vsw_fdb_flush(struct vsw_fdb *fdb, uint16_t port, uint16_t vid,
                       bool include_static, uint32_t budget,
                       uint32_t *cursor, bool *done);

/* The whole flush in one call, in chunks of 1024 slots with the lock dropped
 * between chunks.  A pass during which a displacement happened is repeated
 * (at most 3 times; a 4th pass holds the lock throughout), so every
 * matching entry present throughout is removed.  Returns the number of
 * entries removed. */
uint32_t vsw_fdb_flush_all(struct vsw_fdb *fdb, uint16_t port, uint16_t vid,
                           bool include_static);

/* Which entries vsw_fdb_remove_matching() removes.  Called with the
 * writer lock held: it must not call into the FDB. */
typedef bool vsw_fdb_match_fn(const struct vsw_fdb_entry *e, const void *arg);

/* Removes every entry, static or learned, that match(e, arg) accepts, as
 * vsw_fdb_flush_all() does (chunks, passes repeated after a
 * displacement): every matching entry present throughout is removed.
 * Returns the number removed. */
uint32_t vsw_fdb_remove_matching(struct vsw_fdb *fdb, vsw_fdb_match_fn *match,
                                 const void *arg);

/* Examines at most `budget` slots from the sweep cursor (wrapping) and
 * removes learned entries idle for at least aging_s at `now_s`.  Returns the
 * number removed (also counted `aged`).  See "Aging" above for `budget`. */
uint32_t vsw_fdb_age_sweep(struct vsw_fdb *fdb, uint32_t now_s,
                           uint32_t budget);

/* ---- Introspection ------------------------------------------------------- */

/* Entries in the table, static and learned. */
uint32_t vsw_fdb_count(const struct vsw_fdb *fdb);

/* Learned entries pointing at `port` (the quantity the learn limit bounds;
 * static entries are not included).  0 for a port out of range. */
uint32_t vsw_fdb_port_count(const struct vsw_fdb *fdb, uint16_t port);

/* Slots in the table (buckets x 4): the unit of sweep and flush budgets. */
uint32_t vsw_fdb_capacity_slots(const struct vsw_fdb *fdb);

/* Calls fn for every entry, in slot order, without taking the lock.  An
 * entry added or removed during the walk may or may not be reported, and so
 * may an entry that a displacement moves during it (missed, or reported
 * twice); any other entry present throughout is reported exactly once.  A
 * listing for display is what it is for; to remove entries use
 * vsw_fdb_remove_matching(), which is exact.  fn may call vsw_fdb_del(). */
void vsw_fdb_walk(const struct vsw_fdb *fdb, vsw_fdb_walk_fn *fn, void *arg);

/* Scratch for vsw_fdb_inherit(): room for the learned entries src can
 * hold (its max_entries).  Allocated apart from the copy so that a caller
 * which must not fail when it copies (vsw_commit_publish) can get it
 * beforehand, where running out of memory can still fail the change.
 * NULL: out of memory. */
struct vsw_fdb_inherit_buf;
struct vsw_fdb_inherit_buf *
vsw_fdb_inherit_buf_alloc(const struct vsw_fdb *src);
/* NULL is a no-op. */
void vsw_fdb_inherit_buf_free(struct vsw_fdb_inherit_buf *buf);

/* Carries src's learned entries and event counters over into dst, a new
 * table no lcore uses yet (an FDB that replaces src, e.g. for another
 * max_entries): each learned entry keeps its port and last_seen and is
 * subject to dst's limits (max_entries, buckets, port limits) as a learn
 * would be; static entries are not copied (the caller adds dst's own).
 * The entries go in most recently seen first, so that a dst with less
 * room keeps the stations active last (still subject to the room in their
 * two buckets).  buf (from vsw_fdb_inherit_buf_alloc(src)) holds them
 * meanwhile; it may be reused.  src may be in use meanwhile (read as
 * vsw_fdb_walk() does: an entry learned or moved during the copy may be
 * missed).  dst's counters are then set to src's, so the copies count as
 * nothing.  Returns the entries carried over; *lost (if not NULL) gets
 * those dst had no room for (learn limit, table or buckets full).  An
 * entry whose key a static entry of dst holds is neither: the static
 * entry wins, as it does over a learn. */
uint32_t vsw_fdb_inherit(struct vsw_fdb *dst, const struct vsw_fdb *src,
                         struct vsw_fdb_inherit_buf *buf, uint32_t *lost);

/* Copies the event counters. */
void vsw_fdb_get_stats(const struct vsw_fdb *fdb, struct vsw_fdb_stats *out);

#endif /* VSW_FDB_H */
