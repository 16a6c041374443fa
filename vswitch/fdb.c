/* SPDX-License-Identifier: BSD-3-Clause */
#include "vswitch/fdb.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "common/vsa_alloc.h"
#include "common/vsa_compiler.h"
#include "common/vsa_log.h"
#include "vswitch/fdb_dp.h"
#include "vswitch/fdb_private.h"

VSA_LOG_MODULE(vswitch_fdb);

#define FDB_FLUSH_CHUNK 1024 /* slots per lock hold in vsw_fdb_flush_all */
#define FDB_FLUSH_PASSES 4   /* the last one holds the lock throughout */

void (*vsw__fdb_between_chunks)(struct vsw_fdb *fdb);
uint64_t (*vsw__fdb_seed_hook)(void);

static void fdb_lock(struct vsw_fdb *fdb) VSW__ACQUIRE(fdb->lock) VSW__NO_TSA;
static bool fdb_trylock(struct vsw_fdb *fdb)
    VSW__TRY_ACQUIRE(true, fdb->lock) VSW__NO_TSA;
static void fdb_unlock(struct vsw_fdb *fdb) VSW__RELEASE(fdb->lock) VSW__NO_TSA;
static struct vsw_fdb_slot *__fdb_free_slot(struct vsw_fdb *fdb,
                                            uint64_t hash)
    VSW__REQUIRES(fdb->lock);
static struct vsw_fdb_slot *__fdb_make_room(struct vsw_fdb *fdb,
                                            uint64_t hash)
    VSW__REQUIRES(fdb->lock);
static void __fdb_fill(struct vsw_fdb *fdb, struct vsw_fdb_slot *s,
                       uint64_t key, uint64_t val) VSW__REQUIRES(fdb->lock);
static void __fdb_clear(struct vsw_fdb *fdb, struct vsw_fdb_slot *s,
                        uint64_t old_val) VSW__REQUIRES(fdb->lock);
static enum vsw_fdb_learn_result __fdb_learn_new(struct vsw_fdb *fdb,
                                                 uint64_t key, uint64_t hash,
                                                 uint16_t port, uint32_t now_s)
    VSW__REQUIRES(fdb->lock);
/* What a flush removes: entries on `port` (VSW_FDB_PORT_NONE = any) in
 * `vid` (0 = any), static ones only if include_static, and, if `match` is
 * set, only those it accepts. */
struct fdb_filter {
    uint16_t port;
    uint16_t vid;
    bool include_static;
    vsw_fdb_match_fn *match;
    const void *arg;
};

static uint32_t __fdb_flush(struct vsw_fdb *fdb, const struct fdb_filter *f,
                            uint32_t budget, uint32_t *cursor, bool *done)
    VSW__REQUIRES(fdb->lock);
static uint32_t fdb_flush_whole(struct vsw_fdb *fdb,
                                const struct fdb_filter *f);
static struct vsw_fdb_slot *fdb_slot(const struct vsw_fdb *fdb, uint32_t i);
static bool fdb_key_valid(uint16_t vid, uint64_t mac);
static uint64_t fdb_mix(uint64_t x);
static uint64_t fdb_random_seed(void);

/* ---- Lifecycle ---------------------------------------------------------- */

int vsw_fdb_create(const struct vsw_fdb_params *p, struct vsw_fdb **out)
{
    if (p == NULL || out == NULL)
        return -EINVAL;
    if (p->max_entries == 0 || p->max_entries > VSW_FDB_MAX_ENTRIES ||
        p->aging_s == 0 || p->aging_s > VSW_FDB_MAX_AGING_S)
        return -EINVAL;

    /* At least max_entries / 2 buckets: 2x slack at 4 slots per bucket. */
    uint32_t want = (p->max_entries + 1) / 2;
    uint32_t n_buckets = 1;
    while (n_buckets < want)
        n_buckets <<= 1;

    /* Both allocations are injection points of the allocation hook
     * (common/vsa_alloc.h, TESTS.md #29). */
    struct vsw_fdb *fdb = vsa_aligned_alloc(VSA_CACHE_LINE, sizeof(*fdb));
    if (fdb == NULL)
        return -ENOMEM;
    memset(fdb, 0, sizeof(*fdb));

    size_t size = (size_t)n_buckets * sizeof(struct vsw_fdb_bucket);
    fdb->buckets = vsa_aligned_alloc(VSA_CACHE_LINE, size);
    if (fdb->buckets == NULL)
        goto out_free_fdb;
    memset(fdb->buckets, 0, size);

    uint64_t seed = p->seed != 0                ? p->seed
                    : vsw__fdb_seed_hook != NULL ? vsw__fdb_seed_hook()
                                                 : fdb_random_seed();
    fdb->seed0 = fdb_mix(seed ^ 0x243f6a8885a308d3ull);
    fdb->seed1 = fdb_mix(seed ^ 0x13198a2e03707344ull);
    fdb->n_buckets = n_buckets;
    fdb->mask = n_buckets - 1;
    fdb->max_entries = p->max_entries;
    atomic_init(&fdb->aging_s, p->aging_s);
    atomic_flag_clear(&fdb->lock.flag);
    *out = fdb;
    return 0;

out_free_fdb:
    vsa_free(fdb);
    return -ENOMEM;
}

void vsw_fdb_destroy(struct vsw_fdb *fdb)
{
    if (fdb == NULL)
        return;
    vsa_free(fdb->buckets);
    vsa_free(fdb);
}

/* ---- Configuration ------------------------------------------------------ */

int vsw_fdb_set_aging(struct vsw_fdb *fdb, uint32_t aging_s)
{
    if (aging_s == 0 || aging_s > VSW_FDB_MAX_AGING_S)
        return -EINVAL;
    atomic_store_explicit(&fdb->aging_s, aging_s, memory_order_relaxed);
    return 0;
}

int vsw_fdb_set_port_limit(struct vsw_fdb *fdb, uint16_t port, uint32_t limit)
{
    if (port >= VSW_FDB_MAX_PORTS)
        return -EINVAL;
    fdb_lock(fdb);
    atomic_store_explicit(&fdb->port_limits[port], limit,
                          memory_order_relaxed);
    fdb_unlock(fdb);
    return 0;
}

/* ---- Static entries ------------------------------------------------------ */

/* A slot of bucket b for a new static entry: a free one, else one whose
 * learned entry is evicted for it; NULL if b holds static entries only. */
static struct vsw_fdb_slot *__fdb_static_slot(struct vsw_fdb *fdb,
                                              struct vsw_fdb_bucket *b)
    VSW__REQUIRES(fdb->lock)
{
    for (int j = 0; j < VSW__FDB_BUCKET_SLOTS; j++)
        if (atomic_load_explicit(&b->slots[j].key, memory_order_relaxed) == 0)
            return &b->slots[j];
    for (int j = 0; j < VSW__FDB_BUCKET_SLOTS; j++) {
        struct vsw_fdb_slot *s = &b->slots[j];
        uint64_t v = atomic_load_explicit(&s->val, memory_order_acquire);

        if (v & (VSW__FDB_VAL_STATIC | VSW__FDB_VAL_DEAD))
            continue;
        /* Claimed like a removal (fdb_private.h); an lcore's refresh or
         * move in between makes the CAS fail: try the next slot. */
        if (atomic_compare_exchange_strong_explicit(
                &s->val, &v, VSW__FDB_VAL_DEAD, memory_order_acq_rel,
                memory_order_relaxed)) {
            __fdb_clear(fdb, s, v);
            vsw__fdb_count_inc(&fdb->stats.static_evicted);
            return s;
        }
    }
    return NULL;
}

int vsw_fdb_add_static(struct vsw_fdb *fdb, uint16_t vid, uint64_t mac,
                       uint16_t port)
{
    if (!fdb_key_valid(vid, mac) || port >= VSW_FDB_MAX_PORTS)
        return -EINVAL;

    uint64_t key = vsw_fdb_key(vid, mac);
    uint64_t hash = vsw_fdb_hash(fdb, key);
    uint64_t nv = vsw__fdb_val_make(vsw__fdb_tag(hash), port, true, 0);
    uint64_t v;
    int err = 0;

    fdb_lock(fdb);
    struct vsw_fdb_slot *s =
        vsw__fdb_find(fdb, key, hash, &v, VSW_FDB_PROBE_ORDERED);
    if (s != NULL) {
        /* Lcores may refresh or move a learned entry concurrently; the CAS
         * loop makes the replaced value (and so its port) exact. */
        while (!atomic_compare_exchange_weak_explicit(
            &s->val, &v, nv, memory_order_release, memory_order_relaxed))
            ;
        if (!(v & VSW__FDB_VAL_STATIC))
            vsw__fdb_port_release(fdb, vsw__fdb_val_port(v));
        goto out_unlock;
    }
    /* Not counted against max_entries here (the configuration bounds the
     * static entries by it) and preferring the first bucket, as
     * vsw_fdb_statics_fit counts. */
    s = __fdb_static_slot(fdb, &fdb->buckets[vsw__fdb_bucket1(fdb, hash)]);
    if (s == NULL)
        s = __fdb_static_slot(fdb,
                              &fdb->buckets[vsw__fdb_bucket2(fdb, hash)]);
    if (s == NULL) {
        vsw__fdb_count_inc(&fdb->stats.bucket_full);
        err = -ENOSPC;
        goto out_unlock;
    }
    __fdb_fill(fdb, s, key, nv);

out_unlock:
    fdb_unlock(fdb);
    return err;
}

/* Static slots per bucket: those of static entries `keep` accepts. */
static unsigned bucket_kept_statics(const struct vsw_fdb *fdb, uint32_t b,
                                    vsw_fdb_keep_fn *keep, const void *arg)
{
    unsigned n = 0;

    for (int j = 0; j < VSW__FDB_BUCKET_SLOTS; j++) {
        const struct vsw_fdb_slot *s = &fdb->buckets[b].slots[j];
        uint64_t k = atomic_load_explicit(&s->key, memory_order_acquire);
        uint64_t v = atomic_load_explicit(&s->val, memory_order_acquire);

        if (k == 0 || !(v & VSW__FDB_VAL_STATIC) || (v & VSW__FDB_VAL_DEAD))
            continue;
        struct vsw_fdb_entry e = {
            .vid = (uint16_t)((k >> VSW__FDB_KEY_VID_SHIFT) & 0xfff),
            .mac = k & VSW_FDB_MAC_MASK,
            .port = vsw__fdb_val_port(v),
            .is_static = true,
        };
        n += keep(&e, arg);
    }
    return n;
}

int vsw_fdb_statics_fit(struct vsw_fdb *fdb,
                        const struct vsw_fdb_static_key *want, uint32_t n,
                        vsw_fdb_keep_fn *keep, const void *keep_arg,
                        uint32_t *bad)
{
    /* per bucket: 0 = not looked at yet, else 1 + slots still available
     * to new static entries */
    uint8_t *room;
    int err = 0;

    if (n == 0)
        return 0;
    room = vsa_calloc(fdb->n_buckets, sizeof(*room));
    if (!room)
        return -ENOMEM;
    fdb_lock(fdb);
    /* Pass 1, as vsw_fdb_add_static is called (vsw_commit_publish): keys
     * in the table as learned entries become static in place, so their
     * slots are taken first.  Pass 2: the others, first bucket first. */
    for (int pass = 1; pass <= 2 && !err; pass++) {
        for (uint32_t i = 0; i < n && !err; i++) {
            uint64_t key, hash, v;
            struct vsw_fdb_slot *s;
            uint32_t b[2];
            int got = -1;

            if (!fdb_key_valid(want[i].vid, want[i].mac)) {
                *bad = i;
                err = -EINVAL;
                break;
            }
            key = vsw_fdb_key(want[i].vid, want[i].mac);
            hash = vsw_fdb_hash(fdb, key);
            s = vsw__fdb_find(fdb, key, hash, &v, VSW_FDB_PROBE_ORDERED);
            if (s && (v & VSW__FDB_VAL_STATIC)) {
                struct vsw_fdb_entry e = {
                    .vid = want[i].vid, .mac = want[i].mac,
                    .port = vsw__fdb_val_port(v), .is_static = true,
                };
                if (keep(&e, keep_arg))
                    continue; /* stays; its slot is counted below */
                s = NULL;     /* dropped first, then added anew */
            }
            b[0] = vsw__fdb_bucket1(fdb, hash);
            b[1] = vsw__fdb_bucket2(fdb, hash);
            if (pass == 1) {
                if (s) { /* learned: made static in place, in the bucket
                          * of its two that holds it */
                    const struct vsw_fdb_slot *s1 = fdb->buckets[b[0]].slots;
                    uint32_t bi = s >= s1 && s < s1 + VSW__FDB_BUCKET_SLOTS
                                      ? b[0] : b[1];
                    if (room[bi] == 0)
                        room[bi] = (uint8_t)(1 + VSW__FDB_BUCKET_SLOTS -
                                             bucket_kept_statics(
                                                 fdb, bi, keep, keep_arg));
                    room[bi]--;
                }
                continue;
            }
            if (s)
                continue; /* done in pass 1 */
            for (int k = 0; k < 2 && got < 0; k++) {
                if (room[b[k]] == 0)
                    room[b[k]] = (uint8_t)(1 + VSW__FDB_BUCKET_SLOTS -
                                           bucket_kept_statics(fdb, b[k], keep,
                                                               keep_arg));
                if (room[b[k]] > 1) {
                    room[b[k]]--;
                    got = k;
                }
            }
            if (got < 0) {
                *bad = i;
                err = -ENOSPC;
            }
        }
    }
    fdb_unlock(fdb);
    vsa_free(room);
    return err;
}

int vsw_fdb_del(struct vsw_fdb *fdb, uint16_t vid, uint64_t mac)
{
    if (!fdb_key_valid(vid, mac))
        return -EINVAL;

    uint64_t key = vsw_fdb_key(vid, mac);
    uint64_t hash = vsw_fdb_hash(fdb, key);
    uint64_t v;
    int err = 0;

    fdb_lock(fdb);
    struct vsw_fdb_slot *s =
        vsw__fdb_find(fdb, key, hash, &v, VSW_FDB_PROBE_ORDERED);
    if (s == NULL) {
        err = -ENOENT;
        goto out_unlock;
    }
    while (!atomic_compare_exchange_weak_explicit(
        &s->val, &v, VSW__FDB_VAL_DEAD, memory_order_acq_rel,
        memory_order_relaxed))
        ;
    __fdb_clear(fdb, s, v);

out_unlock:
    fdb_unlock(fdb);
    return err;
}

/* ---- Flushing and aging -------------------------------------------------- */

uint32_t vsw_fdb_flush(struct vsw_fdb *fdb, uint16_t port, uint16_t vid,
                       bool include_static, uint32_t budget,
                       uint32_t *cursor, bool *done)
{
    const struct fdb_filter f = { .port = port, .vid = vid,
                                  .include_static = include_static };

    fdb_lock(fdb);
    uint32_t n = __fdb_flush(fdb, &f, budget, cursor, done);
    fdb_unlock(fdb);
    return n;
}

/* Passes over the whole table, FDB_FLUSH_CHUNK slots per lock hold.  Between
 * two holds an lcore's insert can displace an entry from a slot the pass
 * has not reached to one it has passed (__fdb_make_room), so a pass during
 * which anything was displaced is repeated; after FDB_FLUSH_PASSES such
 * passes the last one holds the lock throughout, and nothing moves. */
static uint32_t fdb_flush_whole(struct vsw_fdb *fdb,
                                const struct fdb_filter *f)
{
    uint32_t n = 0;

    for (unsigned pass = 1;; pass++) {
        uint64_t displaced = atomic_load_explicit(&fdb->stats.displaced,
                                                  memory_order_acquire);
        uint32_t cursor = 0;
        bool done = false;

        if (pass == FDB_FLUSH_PASSES) {
            fdb_lock(fdb);
            n += __fdb_flush(fdb, f, UINT32_MAX, &cursor, &done);
            fdb_unlock(fdb);
            return n;
        }
        while (!done) {
            fdb_lock(fdb);
            n += __fdb_flush(fdb, f, FDB_FLUSH_CHUNK, &cursor, &done);
            fdb_unlock(fdb);
            if (VSA_UNLIKELY(vsw__fdb_between_chunks != NULL) && !done)
                vsw__fdb_between_chunks(fdb);
        }
        if (atomic_load_explicit(&fdb->stats.displaced,
                                 memory_order_acquire) == displaced)
            return n;
    }
}

uint32_t vsw_fdb_flush_all(struct vsw_fdb *fdb, uint16_t port, uint16_t vid,
                           bool include_static)
{
    const struct fdb_filter f = { .port = port, .vid = vid,
                                  .include_static = include_static };

    return fdb_flush_whole(fdb, &f);
}

uint32_t vsw_fdb_remove_matching(struct vsw_fdb *fdb, vsw_fdb_match_fn *match,
                                 const void *arg)
{
    const struct fdb_filter f = { .port = VSW_FDB_PORT_NONE, .vid = 0,
                                  .include_static = true, .match = match,
                                  .arg = arg };

    return fdb_flush_whole(fdb, &f);
}

uint32_t vsw_fdb_age_sweep(struct vsw_fdb *fdb, uint32_t now_s,
                           uint32_t budget)
{
    uint32_t n_slots = vsw_fdb_capacity_slots(fdb);
    int32_t aging = (int32_t)atomic_load_explicit(&fdb->aging_s,
                                                  memory_order_relaxed);
    uint32_t n = 0;

    if (budget > n_slots)
        budget = n_slots;

    fdb_lock(fdb);
    uint32_t i = fdb->age_cursor;
    for (uint32_t left = budget; left > 0; left--, i = (i + 1) & (n_slots - 1)) {
        struct vsw_fdb_slot *s = fdb_slot(fdb, i);
        if (atomic_load_explicit(&s->key, memory_order_relaxed) == 0)
            continue;
        uint64_t v = atomic_load_explicit(&s->val, memory_order_acquire);
        /* An lcore may refresh or move the entry meanwhile: the CAS then
         * fails and the entry is judged again with its new value. */
        for (;;) {
            if ((v & VSW__FDB_VAL_STATIC) ||
                (int32_t)(now_s - vsw__fdb_val_ts(v)) < aging)
                break;
            if (atomic_compare_exchange_weak_explicit(
                    &s->val, &v, VSW__FDB_VAL_DEAD, memory_order_acq_rel,
                    memory_order_relaxed)) {
                __fdb_clear(fdb, s, v);
                n++;
                break;
            }
        }
    }
    fdb->age_cursor = i;
    fdb_unlock(fdb);

    atomic_fetch_add_explicit(&fdb->stats.aged, n, memory_order_relaxed);
    return n;
}

/* ---- Introspection ------------------------------------------------------- */

uint32_t vsw_fdb_count(const struct vsw_fdb *fdb)
{
    return atomic_load_explicit(&fdb->n_entries, memory_order_relaxed);
}

uint32_t vsw_fdb_port_count(const struct vsw_fdb *fdb, uint16_t port)
{
    if (port >= VSW_FDB_MAX_PORTS)
        return 0;
    return atomic_load_explicit(&fdb->port_counts[port], memory_order_relaxed);
}

uint32_t vsw_fdb_capacity_slots(const struct vsw_fdb *fdb)
{
    return fdb->n_buckets * VSW__FDB_BUCKET_SLOTS;
}

void vsw_fdb_walk(const struct vsw_fdb *fdb, vsw_fdb_walk_fn *fn, void *arg)
{
    uint32_t n_slots = vsw_fdb_capacity_slots(fdb);

    for (uint32_t i = 0; i < n_slots; i++) {
        struct vsw_fdb_slot *s = fdb_slot(fdb, i);
        uint64_t k = atomic_load_explicit(&s->key, memory_order_acquire);
        if (k == 0)
            continue;
        uint64_t v = atomic_load_explicit(&s->val, memory_order_acquire);
        if (atomic_load_explicit(&s->key, memory_order_acquire) != k ||
            !vsw__fdb_val_ok(v, vsw__fdb_tag(vsw_fdb_hash(fdb, k))))
            continue;
        struct vsw_fdb_entry e = {
            .vid = (uint16_t)((k >> VSW__FDB_KEY_VID_SHIFT) & 0xfff),
            .mac = k & VSW_FDB_MAC_MASK,
            .port = vsw__fdb_val_port(v),
            .is_static = (v & VSW__FDB_VAL_STATIC) != 0,
            .last_seen_s = vsw__fdb_val_ts(v),
        };
        if (fn(&e, arg) != 0)
            return;
    }
}

/* ---- Inheritance --------------------------------------------------------- */

/* A learned entry of the old table, as vsw_fdb_inherit() copies it. */
struct inherit_rec {
    uint64_t key;
    uint32_t last_seen_s;
    uint32_t age;   /* seconds before the freshest entry's last_seen */
    uint16_t port;
};

struct vsw_fdb_inherit_buf {
    uint32_t cap;   /* records: the old table's max_entries */
    uint32_t n;
    struct inherit_rec rec[];
};

struct vsw_fdb_inherit_buf *
vsw_fdb_inherit_buf_alloc(const struct vsw_fdb *src)
{
    /* src never holds more than max_entries learned entries, and the walk
     * reports no more (inherit_collect) */
    struct vsw_fdb_inherit_buf *buf =
        vsa_malloc(sizeof(*buf) +
                   (size_t)src->max_entries * sizeof(buf->rec[0]));

    if (buf == NULL)
        return NULL;
    buf->cap = src->max_entries;
    buf->n = 0;
    return buf;
}

void vsw_fdb_inherit_buf_free(struct vsw_fdb_inherit_buf *buf)
{
    vsa_free(buf);
}

/* Walk callback: src's learned entries into the buffer.  An entry an lcore
 * displaces during the walk can be reported twice, but each such move put
 * a new key into a slot the walk had passed (__fdb_make_room), which it
 * does not report: so the reports fit in max_entries.  Were one not to
 * fit, it is skipped like an entry learned during the copy. */
static int inherit_collect(const struct vsw_fdb_entry *e, void *arg)
{
    struct vsw_fdb_inherit_buf *buf = arg;

    if (e->is_static || buf->n == buf->cap)
        return 0;
    buf->rec[buf->n++] = (struct inherit_rec){
        .key = vsw_fdb_key(e->vid, e->mac),
        .last_seen_s = e->last_seen_s,
        .port = e->port,
    };
    return 0;
}

/* Freshest first; equal ages by key, so that the order does not depend
 * on qsort. */
static int inherit_rec_cmp(const void *pa, const void *pb)
{
    const struct inherit_rec *a = pa, *b = pb;

    if (a->age != b->age)
        return a->age < b->age ? -1 : 1;
    return a->key < b->key ? -1 : a->key > b->key;
}

/* Orders the records freshest first.  last_seen wraps (fdb.h, "Aging"), so
 * it is not compared as it is: each record gets its age behind the
 * freshest one (found with the wrapping distance), and the ages, which are
 * plain unsigned numbers, are sorted: a total order whatever the values,
 * and the true one while the entries span less than 2^31 s. */
static void inherit_sort(struct vsw_fdb_inherit_buf *buf)
{
    uint32_t newest;

    if (buf->n == 0)
        return;
    newest = buf->rec[0].last_seen_s;
    for (uint32_t i = 1; i < buf->n; i++)
        if ((int32_t)(buf->rec[i].last_seen_s - newest) > 0)
            newest = buf->rec[i].last_seen_s;
    for (uint32_t i = 0; i < buf->n; i++)
        buf->rec[i].age = newest - buf->rec[i].last_seen_s;
    qsort(buf->rec, buf->n, sizeof(buf->rec[0]), inherit_rec_cmp);
}

enum inherit_result {
    INHERIT_KEPT,
    INHERIT_LOST,    /* no room: learn limit, table or buckets full */
    INHERIT_SKIPPED, /* dst holds the key already */
};

/* Learns one record into dst as an lcore would learn it at its last_seen. */
static enum inherit_result inherit_one(struct vsw_fdb *dst,
                                       const struct inherit_rec *r)
{
    uint64_t hash = vsw_fdb_hash(dst, r->key);
    enum vsw_fdb_learn_result lr;
    uint64_t v;

    fdb_lock(dst);
    /* A static entry of dst's configuration holding the key wins by design
     * (a learn would count a static_conflict): the MAC is where the
     * configuration says, not lost.  A learned one is this record reported
     * twice by the walk, already kept. */
    if (vsw__fdb_find(dst, r->key, hash, &v, VSW_FDB_PROBE_ORDERED)) {
        fdb_unlock(dst);
        return INHERIT_SKIPPED;
    }
    lr = __fdb_learn_new(dst, r->key, hash, r->port, r->last_seen_s);
    fdb_unlock(dst);
    return lr == VSW_FDB_NEW ? INHERIT_KEPT : INHERIT_LOST;
}

uint32_t vsw_fdb_inherit(struct vsw_fdb *dst, const struct vsw_fdb *src,
                         struct vsw_fdb_inherit_buf *buf, uint32_t *lost)
{
    const struct vsw_fdb_counters *from = &src->stats;
    struct vsw_fdb_counters *to = &dst->stats;
    uint32_t kept = 0, n_lost = 0;

    /* Freshest first: when dst has less room than src had entries, what it
     * keeps is the stations active last.  In the walk's (hash) order it
     * kept any subset, stations about to age out among them, and then,
     * full, refused to learn the active ones left out until those aged
     * out: they flooded meanwhile. */
    buf->n = 0;
    vsw_fdb_walk(src, inherit_collect, buf);
    inherit_sort(buf);
    for (uint32_t i = 0; i < buf->n; i++) {
        switch (inherit_one(dst, &buf->rec[i])) {
        case INHERIT_KEPT:
            kept++;
            break;
        case INHERIT_LOST:
            n_lost++;
            break;
        case INHERIT_SKIPPED:
            break;
        }
    }
    /* The counters go on from src's: the copies are not events. */
#define COPY(f) atomic_store_explicit(&to->f, \
        atomic_load_explicit(&from->f, memory_order_relaxed), \
        memory_order_relaxed)
    COPY(learned);
    COPY(moved);
    COPY(refreshed);
    COPY(aged);
    COPY(learn_limit);
    COPY(table_full);
    COPY(bucket_full);
    COPY(displaced);
    COPY(learn_busy);
    COPY(static_conflict);
    COPY(static_evicted);
#undef COPY
    if (lost)
        *lost = n_lost;
    return kept;
}

void vsw_fdb_get_stats(const struct vsw_fdb *fdb, struct vsw_fdb_stats *out)
{
    const struct vsw_fdb_counters *c = &fdb->stats;
#define LOAD(f) atomic_load_explicit(&c->f, memory_order_relaxed)
    out->learned = LOAD(learned);
    out->moved = LOAD(moved);
    out->refreshed = LOAD(refreshed);
    out->aged = LOAD(aged);
    out->learn_limit = LOAD(learn_limit);
    out->table_full = LOAD(table_full);
    out->bucket_full = LOAD(bucket_full);
    out->displaced = LOAD(displaced);
    out->learn_busy = LOAD(learn_busy);
    out->static_conflict = LOAD(static_conflict);
    out->static_evicted = LOAD(static_evicted);
#undef LOAD
}

/* ---- Fast-path slow path ------------------------------------------------- */

enum vsw_fdb_learn_result vsw__fdb_insert(struct vsw_fdb *fdb, uint64_t key,
                                          uint64_t hash, uint16_t port,
                                          uint32_t now_s)
{
    if (port >= VSW_FDB_MAX_PORTS)
        return VSW_FDB_REFUSED;
    if ((key & VSW_FDB_MAC_MASK) == 0) /* 00:00:00:00:00:00 is no station */
        return VSW_FDB_IGNORED;
    /* The lcore never waits for a control thread: skip this frame. */
    if (!fdb_trylock(fdb)) {
        vsw__fdb_count_inc(&fdb->stats.learn_busy);
        return VSW_FDB_REFUSED;
    }
    enum vsw_fdb_learn_result r = __fdb_learn_new(fdb, key, hash, port, now_s);
    fdb_unlock(fdb);
    return r;
}

/* ---- Static helpers ------------------------------------------------------ */

static enum vsw_fdb_learn_result __fdb_learn_new(struct vsw_fdb *fdb,
                                                 uint64_t key, uint64_t hash,
                                                 uint16_t port, uint32_t now_s)
{
    uint64_t v;
    struct vsw_fdb_slot *s =
        vsw__fdb_find(fdb, key, hash, &v, VSW_FDB_PROBE_ORDERED);

    /* Another lcore inserted it between our lookup and the lock. */
    if (s != NULL)
        return vsw__fdb_learn_existing(fdb, s, v, port, now_s);

    if (!vsw__fdb_port_reserve(fdb, port)) {
        vsw__fdb_count_inc(&fdb->stats.learn_limit);
        return VSW_FDB_REFUSED;
    }
    if (atomic_load_explicit(&fdb->n_entries, memory_order_relaxed) >=
        fdb->max_entries) {
        vsw__fdb_port_release(fdb, port);
        vsw__fdb_count_inc(&fdb->stats.table_full);
        return VSW_FDB_REFUSED;
    }
    s = __fdb_free_slot(fdb, hash);
    if (s == NULL) {
        vsw__fdb_port_release(fdb, port);
        vsw__fdb_count_inc(&fdb->stats.bucket_full);
        return VSW_FDB_REFUSED;
    }
    __fdb_fill(fdb, s, key,
               vsw__fdb_val_make(vsw__fdb_tag(hash), port, false, now_s));
    vsw__fdb_count_inc(&fdb->stats.learned);
    return VSW_FDB_NEW;
}

static uint32_t __fdb_flush(struct vsw_fdb *fdb, const struct fdb_filter *f,
                            uint32_t budget, uint32_t *cursor, bool *done)
{
    uint32_t n_slots = vsw_fdb_capacity_slots(fdb);
    uint32_t i = *cursor, n = 0;

    if (i > n_slots)
        i = n_slots;
    uint32_t end = n_slots - i > budget ? i + budget : n_slots;

    for (; i < end; i++) {
        struct vsw_fdb_slot *s = fdb_slot(fdb, i);
        uint64_t k = atomic_load_explicit(&s->key, memory_order_relaxed);
        if (k == 0)
            continue;
        uint16_t vid = (uint16_t)((k >> VSW__FDB_KEY_VID_SHIFT) & 0xfff);
        if (f->vid != 0 && vid != f->vid)
            continue;
        uint64_t v = atomic_load_explicit(&s->val, memory_order_acquire);
        /* Judged on the value the CAS replaces: a learned entry that an
         * lcore moves off `port` meanwhile is kept. */
        for (;;) {
            if (v & VSW__FDB_VAL_DEAD)
                break; /* being moved: not an entry of this slot */
            if (!f->include_static && (v & VSW__FDB_VAL_STATIC))
                break;
            if (f->port != VSW_FDB_PORT_NONE &&
                vsw__fdb_val_port(v) != f->port)
                break;
            if (f->match != NULL) {
                struct vsw_fdb_entry e = {
                    .vid = vid, .mac = k & VSW_FDB_MAC_MASK,
                    .port = vsw__fdb_val_port(v),
                    .is_static = (v & VSW__FDB_VAL_STATIC) != 0,
                    .last_seen_s = vsw__fdb_val_ts(v),
                };
                if (!f->match(&e, f->arg))
                    break;
            }
            if (atomic_compare_exchange_weak_explicit(
                    &s->val, &v, VSW__FDB_VAL_DEAD, memory_order_acq_rel,
                    memory_order_relaxed)) {
                __fdb_clear(fdb, s, v);
                n++;
                break;
            }
        }
    }
    *cursor = i;
    *done = i >= n_slots;
    return n;
}

/* A free slot in the key's first bucket, else in its second, or NULL if
 * both are full.  First-fit (rather than the emptier bucket) keeps almost
 * every key in the bucket that the data path prefetches and probes first:
 * a lookup then touches one cache line instead of two, which is what
 * matters when the table does not fit in the cache. */
static struct vsw_fdb_slot *__fdb_free_slot(struct vsw_fdb *fdb, uint64_t hash)
{
    struct vsw_fdb_bucket *cand[2] = {
        &fdb->buckets[vsw__fdb_bucket1(fdb, hash)],
        &fdb->buckets[vsw__fdb_bucket2(fdb, hash)],
    };

    for (int b = 0; b < 2; b++) {
        for (int j = 0; j < VSW__FDB_BUCKET_SLOTS; j++) {
            struct vsw_fdb_slot *s = &cand[b]->slots[j];
            if (atomic_load_explicit(&s->key, memory_order_relaxed) == 0)
                return s;
        }
    }
    return __fdb_make_room(fdb, hash);
}

/* Moves entry `from` (key k, in its first bucket) to a free slot of its
 * second bucket, leaving `from` free.  The copy is written DEAD, the
 * original claimed by a CAS from the value that was copied (so a refresh
 * or a move an lcore makes meanwhile is never lost: the CAS fails and the
 * copy is dropped), then the copy is made live.  There is never more than
 * one live copy; readers in between miss the key, as they would during a
 * removal and re-insert (fdb.h, "Table"). */
static bool __fdb_move_to_second(struct vsw_fdb *fdb, struct vsw_fdb_slot *from,
                                 uint64_t k, struct vsw_fdb_slot *to)
    VSW__REQUIRES(fdb->lock)
{
    uint64_t v = atomic_load_explicit(&from->val, memory_order_acquire);

    (void)fdb; /* for the lock annotation */
    if (v & VSW__FDB_VAL_DEAD)
        return false;
    atomic_store_explicit(&to->val, v | VSW__FDB_VAL_DEAD,
                          memory_order_release);
    atomic_store_explicit(&to->key, k, memory_order_release);
    if (!atomic_compare_exchange_strong_explicit(&from->val, &v,
                                                 VSW__FDB_VAL_DEAD,
                                                 memory_order_acq_rel,
                                                 memory_order_relaxed)) {
        atomic_store_explicit(&to->key, 0, memory_order_release);
        return false;
    }
    atomic_store_explicit(&to->val, v, memory_order_release);
    atomic_store_explicit(&from->key, 0, memory_order_release);
    return true;
}

/* Both candidate buckets of `hash` are full: frees a slot in one of them
 * by moving one resident that sits in its own first bucket to a free slot
 * of its second (one step of cuckoo displacement, never further, and never
 * back towards a first bucket, whose probe comes first).  The new key's
 * first bucket is tried first, so that it lands where lookups prefetch.
 * Static entries stay where they are: vsw_fdb_statics_fit counts on them
 * holding their slots.  NULL if no resident can move. */
static struct vsw_fdb_slot *__fdb_make_room(struct vsw_fdb *fdb, uint64_t hash)
{
    uint32_t cand[2] = { vsw__fdb_bucket1(fdb, hash),
                         vsw__fdb_bucket2(fdb, hash) };

    for (int b = 0; b < 2; b++) {
        struct vsw_fdb_bucket *bk = &fdb->buckets[cand[b]];

        for (int j = 0; j < VSW__FDB_BUCKET_SLOTS; j++) {
            struct vsw_fdb_slot *s = &bk->slots[j];
            uint64_t k = atomic_load_explicit(&s->key, memory_order_relaxed);
            uint64_t kh = vsw_fdb_hash(fdb, k);

            if (k == 0 || vsw__fdb_bucket1(fdb, kh) != cand[b] ||
                (atomic_load_explicit(&s->val, memory_order_relaxed) &
                 VSW__FDB_VAL_STATIC))
                continue;
            struct vsw_fdb_bucket *alt =
                &fdb->buckets[vsw__fdb_bucket2(fdb, kh)];
            for (int t = 0; t < VSW__FDB_BUCKET_SLOTS; t++) {
                struct vsw_fdb_slot *to = &alt->slots[t];
                if (atomic_load_explicit(&to->key, memory_order_relaxed) != 0)
                    continue;
                if (__fdb_move_to_second(fdb, s, k, to)) {
                    vsw__fdb_count_inc(&fdb->stats.displaced);
                    return s;
                }
                break; /* its value changed under us: try another */
            }
        }
    }
    return NULL;
}

static void __fdb_fill(struct vsw_fdb *fdb, struct vsw_fdb_slot *s,
                       uint64_t key, uint64_t val)
{
    atomic_store_explicit(&s->val, val, memory_order_release);
    atomic_store_explicit(&s->key, key, memory_order_release);
    atomic_fetch_add_explicit(&fdb->n_entries, 1, memory_order_relaxed);
}

/* Second half of a removal: val is already DEAD (claimed by CAS), old_val is
 * the value it replaced. */
static void __fdb_clear(struct vsw_fdb *fdb, struct vsw_fdb_slot *s,
                        uint64_t old_val)
{
    atomic_store_explicit(&s->key, 0, memory_order_release);
    atomic_fetch_sub_explicit(&fdb->n_entries, 1, memory_order_relaxed);
    if (!(old_val & VSW__FDB_VAL_STATIC))
        vsw__fdb_port_release(fdb, vsw__fdb_val_port(old_val));
}

static struct vsw_fdb_slot *fdb_slot(const struct vsw_fdb *fdb, uint32_t i)
{
    return &fdb->buckets[i / VSW__FDB_BUCKET_SLOTS]
                .slots[i % VSW__FDB_BUCKET_SLOTS];
}

static void fdb_lock(struct vsw_fdb *fdb)
{
    unsigned spins = 0;

    while (atomic_flag_test_and_set_explicit(&fdb->lock.flag,
                                             memory_order_acquire)) {
        /* Holders keep it for a bounded amount of work; if one was
         * preempted, let it run. */
        if (++spins % 1024 == 0)
            sched_yield();
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#elif defined(__aarch64__)
        __asm__ volatile("yield");
#endif
    }
}

static bool fdb_trylock(struct vsw_fdb *fdb)
{
    return !atomic_flag_test_and_set_explicit(&fdb->lock.flag,
                                              memory_order_acquire);
}

static void fdb_unlock(struct vsw_fdb *fdb)
{
    atomic_flag_clear_explicit(&fdb->lock.flag, memory_order_release);
}

static bool fdb_key_valid(uint16_t vid, uint64_t mac)
{
    return vid >= VSW_FDB_VID_MIN && vid <= VSW_FDB_VID_MAX &&
           (mac & ~VSW_FDB_MAC_MASK) == 0;
}

/* splitmix64's finalizer: spreads a seed into an unrelated 64-bit key. */
static uint64_t fdb_mix(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

static uint64_t fdb_random_seed(void)
{
    uint64_t seed;

    if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) == (ssize_t)sizeof(seed))
        return seed;
    /* Only before the kernel's pool is ready (early boot): weaker, but still
     * unknown to a remote sender. */
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    VSA_LOG(WARN, "getrandom failed (%s); FDB hash seed from the clock",
            strerror(errno));
    return fdb_mix((uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^
                   ((uint64_t)getpid() << 16) ^ (uint64_t)(uintptr_t)&ts);
}
