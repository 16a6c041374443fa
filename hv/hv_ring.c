/* SPDX-License-Identifier: BSD-3-Clause */
#include "hv/hv_ring.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/vsa_alloc.h"
#include "common/vsa_log.h"
#include "common/vsa_shm.h"
#include "hv/hv_wire.h"

VSA_LOG_MODULE(hv_ring);

/* Bytes of newly published ring data asked for at once (16 lines). */
#define PREFETCH_MAX 1024u

struct hv_ring {
    const struct hv_ring_ops *ops;
    void *ctx;
    enum hv_ring_role role;
    uint32_t dsize;
    uint32_t max_pkt;
    uint32_t accept_types;
    struct hv_stats *stats;
    bool broken;
    /* Writer: our write index.  Reader: our read index.  Authoritative; the
     * copy in shared memory is only ever stored, never trusted back. */
    uint32_t own;
    /* The peer's index as last loaded and validated: the writer's view of
     * the read index, the reader's of the write index.  Each side reloads
     * only when this view says "no room" or "nothing to read", so a burst
     * of packets loads the peer's line once, not once per packet (the
     * line is written by the other CPU: every load is a cache miss). */
    uint32_t peer_seen;
    bool pending_set; /* writer: we stored a non-zero pending_send_sz */
    bool masked;      /* reader: we set interrupt_mask (see consume) */
    bool holding;     /* writer: between hv_ring_write_hold and commit */
    bool hold_sig;    /* writer: a publish while holding asked to signal */
    uint32_t published; /* the own index last stored to shared memory */
    uint32_t peeked;  /* reader: bytes (packet + trailer) of peeked packet */
    uint32_t batch;   /* reader: bytes consumed since the last read_end */
    /* built-in backends */
    uint8_t *ctl;
    uint8_t *data;
    struct hv_gpadl *gpadl;
    uint64_t gpadl_data_off;
    /* the violation's log line (hv_ring_cfg) */
    struct vsa_ratelimit *log_rl;
    char name[HV_RING_NAME_SIZE];
};

/* Every ring of the process together; each VM's own budget comes with the
 * configuration (hv_ring_cfg.log_rl). */
static struct vsa_ratelimit ring_rl = VSA_RATELIMIT_INIT_LABEL(20, 10,
                                                               "all rings");

/* ---- built-in backends ------------------------------------------------ */

static uint32_t buf_ctl_load(void *ctx, uint32_t off)
{
    struct hv_ring *r = ctx;
    return __atomic_load_n((uint32_t *)(void *)(r->ctl + off),
                           __ATOMIC_RELAXED);
}

static void buf_ctl_store(void *ctx, uint32_t off, uint32_t val)
{
    struct hv_ring *r = ctx;
    __atomic_store_n((uint32_t *)(void *)(r->ctl + off), val,
                     __ATOMIC_RELAXED);
}

static void buf_data_read(void *ctx, uint32_t off, void *dst, uint32_t size)
{
    struct hv_ring *r = ctx;
    vsa_shm_read(dst, r->data + off, size);
}

static void buf_data_write(void *ctx, uint32_t off, const void *src,
                           uint32_t size)
{
    struct hv_ring *r = ctx;
    vsa_shm_write(r->data + off, src, size);
}

static const struct hv_ring_ops buf_ops = {
    .ctl_load = buf_ctl_load,
    .ctl_store = buf_ctl_store,
    .data_read = buf_data_read,
    .data_write = buf_data_write,
};

/* Data pages of a GPADL that are not contiguous in the host mapping. */
static void gpadl_data_read(void *ctx, uint32_t off, void *dst, uint32_t size)
{
    struct hv_ring *r = ctx;
    /* Range checked at creation: off + size <= dsize inside the GPADL. */
    if (hv_gpadl_read(r->gpadl, r->gpadl_data_off + off, dst, size) != 0)
        memset(dst, 0, size);
}

static void gpadl_data_write(void *ctx, uint32_t off, const void *src,
                             uint32_t size)
{
    struct hv_ring *r = ctx;
    (void)hv_gpadl_write(r->gpadl, r->gpadl_data_off + off, src, size);
}

static const struct hv_ring_ops gpadl_ops = {
    .ctl_load = buf_ctl_load,
    .ctl_store = buf_ctl_store,
    .data_read = gpadl_data_read,
    .data_write = gpadl_data_write,
};

/* ---- helpers ------------------------------------------------------------ */

static inline bool index_ok(const struct hv_ring *r, uint32_t idx)
{
    return idx < r->dsize && (idx & 7u) == 0;
}

static inline uint32_t pad8(uint32_t v)
{
    return (v + 7u) & ~7u;
}

static int violate(struct hv_ring *r, const char *why, uint32_t a, uint32_t b)
{
    if (!r->broken) {
        /* atomic: hv_ring_broken() may be called on another thread */
        __atomic_store_n(&r->broken, true, __ATOMIC_RELAXED);
        HV_STAT_INC(r->stats, ring_broken);
        if (r->name[0])
            VSA_LOG_RL2(r->log_rl, &ring_rl, WARN, "%s broken: %s (%u, %u)",
                        r->name, why, a, b);
        else
            VSA_LOG_RL2(r->log_rl, &ring_rl, WARN, "ring %p broken: %s "
                        "(%u, %u)", (void *)r, why, a, b);
    }
    return -EPROTO;
}

/* Prefetches up to PREFETCH_MAX bytes of ring data from `pos` (< dsize),
 * with wrap, when the data area is mapped directly. */
static void ring_prefetch(const struct hv_ring *r, uint32_t pos, uint32_t n)
{
    uint32_t first = r->dsize - pos;

    if (!r->data)
        return;
    if (n > PREFETCH_MAX)
        n = PREFETCH_MAX;
    vsa_shm_prefetch(r->data + pos, n < first ? n : first);
    if (n > first)
        vsa_shm_prefetch(r->data, n - first);
}

/* Copies `size` bytes at data offset `pos` (already < dsize) with wrap. */
static void ring_copy_out(struct hv_ring *r, uint32_t pos, void *dst,
                          uint32_t size)
{
    uint32_t first = r->dsize - pos;

    if (size <= first) {
        r->ops->data_read(r->ctx, pos, dst, size);
    } else {
        r->ops->data_read(r->ctx, pos, dst, first);
        r->ops->data_read(r->ctx, 0, (uint8_t *)dst + first, size - first);
    }
}

static uint32_t ring_copy_in(struct hv_ring *r, uint32_t pos, const void *src,
                             uint32_t size)
{
    uint32_t first = r->dsize - pos;

    if (size == 0)
        return pos;
    if (size < first) {
        r->ops->data_write(r->ctx, pos, src, size);
        return pos + size;
    }
    r->ops->data_write(r->ctx, pos, src, first);
    if (size > first)
        r->ops->data_write(r->ctx, 0, (const uint8_t *)src + first,
                           size - first);
    return size - first;
}

/* ---- lifecycle ---------------------------------------------------------- */

static int ring_alloc(const struct hv_ring_cfg *cfg,
                      const struct hv_ring_ops *ops, void *ctx,
                      struct hv_ring **out)
{
    struct hv_ring *r;
    uint32_t max_pkt;

    if (!cfg || !ops || !out || cfg->dsize < HV_RING_MIN_DSIZE ||
        cfg->dsize > HV_RING_MAX_DSIZE || (cfg->dsize & 7u) ||
        (cfg->role != HV_RING_READER && cfg->role != HV_RING_WRITER))
        return -EINVAL;
    max_pkt = cfg->max_pkt ? cfg->max_pkt : HV_RING_MAX_PKT_DEFAULT;
    if (max_pkt > cfg->dsize - 16u)
        max_pkt = cfg->dsize - 16u;
    if (max_pkt > 0xffffu * 8u)
        max_pkt = 0xffffu * 8u;
    max_pkt &= ~7u;
    if (max_pkt < HV_RING_DESC_SIZE)
        return -EINVAL;
    r = vsa_calloc(1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    r->ops = ops;
    r->ctx = ctx ? ctx : r;
    r->role = cfg->role;
    r->dsize = cfg->dsize;
    r->max_pkt = max_pkt;
    r->accept_types = cfg->accept_types ? cfg->accept_types
                                        : HV_RING_TYPES_DEFAULT;
    r->stats = cfg->stats;
    r->log_rl = cfg->log_rl;
    if (cfg->name)
        snprintf(r->name, sizeof(r->name), "%s", cfg->name);
    *out = r;
    return 0;
}

/* Second half of creation, once the backend fields are set: load both
 * indices once, validate, adopt ours. */
static int ring_attach(struct hv_ring *r)
{
    uint32_t w = r->ops->ctl_load(r->ctx, HV_RING_OFF_WRITE_INDEX);
    uint32_t rd = r->ops->ctl_load(r->ctx, HV_RING_OFF_READ_INDEX);

    if (!index_ok(r, w) || !index_ok(r, rd)) {
        HV_STAT_INC(r->stats, bad_index);
        return -EPROTO;
    }
    if (r->role == HV_RING_WRITER) {
        uint32_t f = r->ops->ctl_load(r->ctx, HV_RING_OFF_FEATURES);
        r->ops->ctl_store(r->ctx, HV_RING_OFF_FEATURES,
                          f | HV_RING_FEAT_PENDING_SEND_SZ);
        r->own = w;
        r->published = w;
        r->peer_seen = rd;
    } else {
        r->own = rd;
        r->published = rd;
        r->peer_seen = rd; /* "nothing seen": the first peek loads */
    }
    atomic_thread_fence(memory_order_seq_cst);
    return 0;
}

int hv_ring_create(const struct hv_ring_cfg *cfg, const struct hv_ring_ops *ops,
                   void *ctx, struct hv_ring **out)
{
    struct hv_ring *r;
    int rc;

    if (!ctx)
        return -EINVAL;
    rc = ring_alloc(cfg, ops, ctx, &r);
    if (rc)
        return rc;
    rc = ring_attach(r);
    if (rc) {
        vsa_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

static int create_common(const struct hv_ring_cfg *cfg,
                         const struct hv_ring_ops *ops, struct hv_ring **out)
{
    return ring_alloc(cfg, ops, NULL, out);
}

int hv_ring_create_buf(const struct hv_ring_cfg *cfg, void *mem,
                       struct hv_ring **out)
{
    struct hv_ring *r;
    int rc;

    if (!mem || ((uintptr_t)mem & 3u))
        return -EINVAL;
    rc = create_common(cfg, &buf_ops, &r);
    if (rc)
        return rc;
    r->ctl = mem;
    r->data = (uint8_t *)mem + HV_RING_CTL_SIZE;
    rc = ring_attach(r);
    if (rc) {
        vsa_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

int hv_ring_create_gpadl(const struct hv_ring_cfg *cfg, struct hv_gpadl *g,
                         uint32_t first_page, struct hv_ring **out)
{
    struct hv_ring *r;
    uint64_t ring_off, data_off;
    uint8_t *data;
    int rc;

    if (!cfg || !g || (cfg->dsize % HV_PAGE_SIZE) != 0)
        return -EINVAL;
    ring_off = (uint64_t)first_page * HV_PAGE_SIZE;
    data_off = ring_off + HV_RING_CTL_SIZE;
    if (data_off > hv_gpadl_size(g) ||
        cfg->dsize > hv_gpadl_size(g) - data_off)
        return -EINVAL;
    data = hv_gpadl_ptr(g, data_off, cfg->dsize);
    rc = create_common(cfg, data ? &buf_ops : &gpadl_ops, &r);
    if (rc)
        return rc;
    r->ctl = hv_gpadl_ptr(g, ring_off, HV_RING_CTL_SIZE); /* one page */
    r->data = data;
    r->gpadl = hv_gpadl_ref(g);
    r->gpadl_data_off = data_off;
    if (!r->ctl) {
        rc = -EINVAL;
        goto out_free;
    }
    rc = ring_attach(r);
    if (rc)
        goto out_free;
    *out = r;
    return 0;

out_free:
    hv_gpadl_put(r->gpadl);
    vsa_free(r);
    return rc;
}

void hv_ring_destroy(struct hv_ring *r)
{
    if (!r)
        return;
    hv_gpadl_put(r->gpadl);
    vsa_free(r);
}

void hv_ring_ctl_init(void *ctl_page)
{
    uint8_t *p = ctl_page;

    memset(p, 0, HV_RING_CTL_SIZE);
    hv__put32(p + HV_RING_OFF_FEATURES, HV_RING_FEAT_PENDING_SEND_SZ);
}

/* ---- writer --------------------------------------------------------------- */

static int iov_total(const struct iovec *iov, unsigned cnt, uint32_t *out)
{
    uint64_t t = 0;

    for (unsigned i = 0; i < cnt; i++) {
        t += iov[i].iov_len;
        if (t > 0xffffu * 8u)
            return -EMSGSIZE;
    }
    *out = (uint32_t)t;
    return 0;
}

static uint32_t write_iov(struct hv_ring *r, uint32_t pos,
                          const struct iovec *iov, unsigned cnt, uint32_t len)
{
    static const uint8_t zeros[8];

    for (unsigned i = 0; i < cnt; i++)
        pos = ring_copy_in(r, pos, iov[i].iov_base, (uint32_t)iov[i].iov_len);
    return ring_copy_in(r, pos, zeros, pad8(len) - len);
}

/* Writer: loads and validates the reader's index and remembers it;
 * UINT32_MAX (ring now broken) if it is out of range. */
static uint32_t load_read_index(struct hv_ring *r)
{
    uint32_t rd = r->ops->ctl_load(r->ctx, HV_RING_OFF_READ_INDEX);

    if (!index_ok(r, rd)) {
        HV_STAT_INC(r->stats, bad_index);
        violate(r, "read_index", rd, r->dsize);
        return UINT32_MAX;
    }
    /* the reader's copies out happen before our stores over them */
    atomic_thread_fence(memory_order_acquire);
    r->peer_seen = rd;
    return rd;
}

/* Writer: §5.1 steps 3-5 for everything written since the last store of
 * the write index.  Returns true if the reader must be signalled: its
 * interrupt_mask is clear and the ring was empty before these packets. */
static bool publish_write_index(struct hv_ring *r)
{
    uint32_t old = r->published, mask, rd;
    bool sig;

    if (old == r->own)
        return false;
    /* step 3: packet bytes visible before the index (stores before a
     * store: a release fence, no CPU barrier on x86) */
    atomic_thread_fence(memory_order_release);
    r->ops->ctl_store(r->ctx, HV_RING_OFF_WRITE_INDEX, r->own);
    r->published = r->own;
    /* steps 4-5: the index store before the loads of the reader's state.
     * Both sit on the line just stored to, so they cost nothing more; the
     * read index, validated, also refreshes our view of the room. */
    atomic_thread_fence(memory_order_seq_cst);
    mask = r->ops->ctl_load(r->ctx, HV_RING_OFF_INTR_MASK);
    rd = load_read_index(r);
    if (rd == UINT32_MAX)
        return false;
    /* empty → non-empty */
    sig = mask == 0 && rd == old;
    if (!sig)
        HV_STAT_INC(r->stats, signals_suppressed);
    return sig;
}

void hv_ring_write_hold(struct hv_ring *r)
{
    if (r->role == HV_RING_WRITER)
        r->holding = true;
}

bool hv_ring_write_commit(struct hv_ring *r)
{
    bool sig;

    if (r->role != HV_RING_WRITER || !r->holding)
        return false;
    r->holding = false;
    sig = r->hold_sig;
    r->hold_sig = false;
    if (r->broken)
        return false;
    return publish_write_index(r) || sig;
}

int hv_ring_write_pkt(struct hv_ring *r, uint16_t type, uint16_t flags,
                      uint64_t trans_id, const struct iovec *hdr,
                      unsigned hdr_cnt, const struct iovec *data,
                      unsigned data_cnt, bool *signal)
{
    uint8_t desc[HV_RING_DESC_SIZE], trailer[HV_RING_TRAILER_SIZE];
    uint32_t hdr_len, data_len, pkt, total, rd, w, pos;
    bool sig = false;

    if (signal)
        *signal = false;
    if (r->role != HV_RING_WRITER || type == 0 || type > 0xd)
        return -EINVAL;
    if (r->broken)
        return -EPROTO;
    if (iov_total(hdr, hdr_cnt, &hdr_len) || iov_total(data, data_cnt, &data_len))
        return -EMSGSIZE;
    pkt = HV_RING_DESC_SIZE + pad8(hdr_len) + pad8(data_len);
    if (pkt > r->max_pkt)
        return -EMSGSIZE;
    total = pkt + HV_RING_TRAILER_SIZE;
    w = r->own;

    /* §5.1 step 1: room by the read index seen last; only when that is
     * short, one load of the reader's index, validated.  The reader only
     * moves its index forward, so an older view can only show less room
     * (and a hostile reader's index is untrusted either way). */
    rd = r->peer_seen;
    if (hv_ring_bytes_writable(w, rd, r->dsize) <= total) {
        rd = load_read_index(r);
        if (rd == UINT32_MAX)
            return -EPROTO;
    }
    if (hv_ring_bytes_writable(w, rd, r->dsize) <= total) {
        /* Blocked.  What we hold goes out first: the reader can only make
         * room by reading it. */
        if (r->holding && publish_write_index(r))
            r->hold_sig = true;
        /* Announce what we need, then re-check once to close the race
         * with a reader that drained before seeing pending_send_sz. */
        r->ops->ctl_store(r->ctx, HV_RING_OFF_PENDING_SEND, total);
        r->pending_set = true;
        atomic_thread_fence(memory_order_seq_cst);
        rd = load_read_index(r);
        if (rd == UINT32_MAX)
            return -EPROTO;
        if (hv_ring_bytes_writable(w, rd, r->dsize) <= total) {
            HV_STAT_INC(r->stats, ring_full);
            return -EAGAIN;
        }
    }
    if (r->pending_set) {
        r->ops->ctl_store(r->ctx, HV_RING_OFF_PENDING_SEND, 0);
        r->pending_set = false;
    }

    /* §5.1 step 2: descriptor, header, payload, trailer. */
    hv__put16(desc + 0, type);
    hv__put16(desc + 2, (uint16_t)((HV_RING_DESC_SIZE + pad8(hdr_len)) / 8u));
    hv__put16(desc + 4, (uint16_t)(pkt / 8u));
    hv__put16(desc + 6, flags);
    hv__put64(desc + 8, trans_id);
    pos = ring_copy_in(r, w, desc, sizeof(desc));
    pos = write_iov(r, pos, hdr, hdr_cnt, hdr_len);
    pos = write_iov(r, pos, data, data_cnt, data_len);
    hv__put64(trailer, (uint64_t)w << 32);
    pos = ring_copy_in(r, pos, trailer, sizeof(trailer));

    r->own = pos;
    HV_STAT_INC(r->stats, pkts_written);
    HV_STAT_ADD(r->stats, bytes_written, total);
    /* §5.1 steps 3-5 now, or once for the batch at commit. */
    if (!r->holding) {
        sig = publish_write_index(r);
        if (r->broken) /* the reader's index, loaded there, was bad */
            return -EPROTO;
    }
    if (signal)
        *signal = sig;
    return 0;
}

int hv_ring_write_inband(struct hv_ring *r, uint16_t flags, uint64_t trans_id,
                         const void *data, size_t size, bool *signal)
{
    struct iovec iov = { .iov_base = (void *)(uintptr_t)data, .iov_len = size };

    return hv_ring_write_pkt(r, HV_PKT_INBAND, flags, trans_id, NULL, 0, &iov,
                             size ? 1 : 0, signal);
}

int hv_ring_write_comp(struct hv_ring *r, uint64_t trans_id, const void *data,
                       size_t size, bool *signal)
{
    struct iovec iov = { .iov_base = (void *)(uintptr_t)data, .iov_len = size };

    return hv_ring_write_pkt(r, HV_PKT_COMP, 0, trans_id, NULL, 0, &iov,
                             size ? 1 : 0, signal);
}

int hv_ring_write_xfer(struct hv_ring *r, uint16_t flags, uint64_t trans_id,
                       uint16_t pageset_id,
                       const struct hv_ring_xfer_range *ranges, uint32_t n,
                       const void *data, size_t size, bool *signal)
{
    uint8_t head[8];
    uint8_t rbuf[8 * 64];
    struct iovec hdr[2];
    struct iovec iov = { .iov_base = (void *)(uintptr_t)data, .iov_len = size };

    if (n > 64)
        return -EMSGSIZE;
    hv__put16(head, pageset_id);
    head[2] = 0;
    head[3] = 0;
    hv__put32(head + 4, n);
    for (uint32_t i = 0; i < n; i++) {
        hv__put32(rbuf + 8 * i, ranges[i].byte_count);
        hv__put32(rbuf + 8 * i + 4, ranges[i].byte_offset);
    }
    hdr[0] = (struct iovec){ .iov_base = head, .iov_len = sizeof(head) };
    hdr[1] = (struct iovec){ .iov_base = rbuf, .iov_len = 8u * n };
    return hv_ring_write_pkt(r, HV_PKT_XFER_PAGES, flags, trans_id, hdr, 2,
                             &iov, size ? 1 : 0, signal);
}

int hv_ring_write_gpa(struct hv_ring *r, uint16_t flags, uint64_t trans_id,
                      const struct hv_ring_gpa_page *pages, uint32_t n,
                      const void *data, size_t size, bool *signal)
{
    uint8_t head[8];
    uint8_t rbuf[16 * 32];
    struct iovec hdr[2];
    struct iovec iov = { .iov_base = (void *)(uintptr_t)data, .iov_len = size };

    if (n > 32)
        return -EMSGSIZE;
    hv__put32(head, 0);
    hv__put32(head + 4, n);
    for (uint32_t i = 0; i < n; i++) {
        hv__put32(rbuf + 16 * i, pages[i].byte_count);
        hv__put32(rbuf + 16 * i + 4, pages[i].byte_offset);
        hv__put64(rbuf + 16 * i + 8, pages[i].pfn);
    }
    hdr[0] = (struct iovec){ .iov_base = head, .iov_len = sizeof(head) };
    hdr[1] = (struct iovec){ .iov_base = rbuf, .iov_len = 16u * n };
    return hv_ring_write_pkt(r, HV_PKT_GPA_DIRECT, flags, trans_id, hdr, 2,
                             &iov, size ? 1 : 0, signal);
}

/* ---- reader -------------------------------------------------------------- */

/* Type-specific header checks on the private copy. */
static int check_type_hdr(const struct hv_ring_pkt *pkt)
{
    if (pkt->type == HV_PKT_XFER_PAGES) {
        uint16_t id;
        uint32_t n;
        return hv_ring_pkt_xfer(pkt, &id, &n);
    }
    if (pkt->type == HV_PKT_GPA_DIRECT) {
        struct hv_ring_gpa_iter it;
        struct hv_ring_gpa_range rg;
        int rc = hv_ring_gpa_iter_init(&it, pkt);

        while (rc == 0 && (rc = hv_ring_gpa_iter_next(&it, &rg)) == 1)
            rc = 0;
        return rc;
    }
    return 0;
}

int hv_ring_peek_pkt(struct hv_ring *r, void *buf, size_t size,
                     struct hv_ring_pkt *pkt)
{
    uint8_t *b = buf;
    uint32_t w, avail, len, pos;
    uint16_t type, off8, len8;

    r->peeked = 0;
    if (r->role != HV_RING_READER || size < HV_RING_DESC_SIZE)
        return -EINVAL;
    if (r->broken)
        return -EPROTO;
    /* What the write index seen last still covers is read without a load;
     * once that is consumed, the only load of the writer's index in this
     * operation. */
    w = r->peer_seen;
    if (w == r->own) {
        w = r->ops->ctl_load(r->ctx, HV_RING_OFF_WRITE_INDEX);
        if (!index_ok(r, w)) {
            HV_STAT_INC(r->stats, bad_index);
            return violate(r, "write_index", w, r->dsize);
        }
        if (w == r->own)
            return -EAGAIN;
        atomic_thread_fence(memory_order_acquire);
        r->peer_seen = w;
        /* The writer's CPU wrote these packets: ask for their lines now,
         * not one packet (and one transfer) at a time as they are read. */
        ring_prefetch(r, r->own, hv_ring_bytes_readable(w, r->own, r->dsize));
    }
    avail = hv_ring_bytes_readable(w, r->own, r->dsize);
    /* The writer publishes whole packets: anything non-empty holds at least
     * a descriptor and a trailer. */
    if (avail < HV_RING_DESC_SIZE + HV_RING_TRAILER_SIZE) {
        HV_STAT_INC(r->stats, bad_len);
        return violate(r, "short ring content", avail, 0);
    }
    /* Copy the descriptor once, then validate the copy. */
    ring_copy_out(r, r->own, b, HV_RING_DESC_SIZE);
    type = hv__le16(b + 0);
    off8 = hv__le16(b + 2);
    len8 = hv__le16(b + 4);
    if (off8 < 2 || len8 < off8) {
        HV_STAT_INC(r->stats, bad_desc);
        return violate(r, "offset8/len8", off8, len8);
    }
    len = (uint32_t)len8 * 8u;
    if (len > avail - HV_RING_TRAILER_SIZE || len > r->max_pkt) {
        HV_STAT_INC(r->stats, bad_len);
        return violate(r, "len8", len, avail);
    }
    if (type >= 32 || !(r->accept_types & HV_PKT_TYPE_BIT(type))) {
        HV_STAT_INC(r->stats, bad_type);
        return violate(r, "type", type, 0);
    }
    if (len > size)
        return -ENOBUFS;
    pos = r->own + HV_RING_DESC_SIZE;
    if (pos >= r->dsize)
        pos -= r->dsize;
    ring_copy_out(r, pos, b + HV_RING_DESC_SIZE, len - HV_RING_DESC_SIZE);

    pkt->type = type;
    pkt->offset8 = off8;
    pkt->len8 = len8;
    pkt->flags = hv__le16(b + 6);
    pkt->trans_id = hv__le64(b + 8);
    pkt->hdr = b + HV_RING_DESC_SIZE;
    pkt->hdr_size = (uint32_t)off8 * 8u - HV_RING_DESC_SIZE;
    pkt->data = b + (uint32_t)off8 * 8u;
    pkt->data_size = len - (uint32_t)off8 * 8u;
    if (check_type_hdr(pkt) != 0) {
        HV_STAT_INC(r->stats, bad_desc);
        return violate(r, "type header", type, off8);
    }
    r->peeked = len + HV_RING_TRAILER_SIZE;
    return 0;
}

/* Reader: stores our read index if the shared copy is behind. */
static void publish_read_index(struct hv_ring *r)
{
    if (r->published != r->own) {
        r->ops->ctl_store(r->ctx, HV_RING_OFF_READ_INDEX, r->own);
        r->published = r->own;
    }
}

int hv_ring_consume(struct hv_ring *r)
{
    uint32_t next;

    if (r->role != HV_RING_READER || r->peeked == 0)
        return -EINVAL;
    if (r->broken)
        return -EPROTO;
    next = r->own + r->peeked; /* peeked < dsize ≤ 2^30: no wrap of u32 */
    if (next >= r->dsize)
        next -= r->dsize;
    /* The copy-out above must complete before the writer may reuse it
     * (loads before a store: a release fence, no CPU barrier on x86). */
    atomic_thread_fence(memory_order_release);
    r->own = next;
    /* While we hold the interrupt mask the writer signals nothing, so the
     * index can wait for the end of the batch (read_end or unmask): one
     * store to the shared line per batch instead of one per packet. */
    if (!r->masked)
        publish_read_index(r);
    r->batch += r->peeked;
    HV_STAT_INC(r->stats, pkts_read);
    HV_STAT_ADD(r->stats, bytes_read, r->peeked);
    r->peeked = 0;
    return 0;
}

int hv_ring_read_pkt(struct hv_ring *r, void *buf, size_t size,
                     struct hv_ring_pkt *pkt)
{
    int rc = hv_ring_peek_pkt(r, buf, size, pkt);

    return rc ? rc : hv_ring_consume(r);
}

bool hv_ring_read_end(struct hv_ring *r)
{
    uint32_t consumed = r->batch, pend, w;
    int64_t avail_w;

    r->batch = 0;
    if (r->role != HV_RING_READER || r->broken || consumed == 0)
        return false;
    publish_read_index(r);
    /* §5.2 rule 2: a writer that did not announce the feature polls. */
    if (!(r->ops->ctl_load(r->ctx, HV_RING_OFF_FEATURES) &
          HV_RING_FEAT_PENDING_SEND_SZ))
        return false;
    atomic_thread_fence(memory_order_seq_cst);
    pend = r->ops->ctl_load(r->ctx, HV_RING_OFF_PENDING_SEND);
    if (pend == 0)
        return false;
    atomic_thread_fence(memory_order_acquire);
    w = r->ops->ctl_load(r->ctx, HV_RING_OFF_WRITE_INDEX);
    if (!index_ok(r, w)) {
        HV_STAT_INC(r->stats, bad_index);
        violate(r, "write_index", w, r->dsize);
        return false;
    }
    avail_w = hv_ring_bytes_writable(w, r->own, r->dsize);
    if (avail_w - (int64_t)consumed > (int64_t)pend)
        return false; /* writer was not blocked before this batch */
    if (avail_w <= (int64_t)pend)
        return false; /* still not enough room */
    HV_STAT_INC(r->stats, writer_wakeups);
    return true;
}

void hv_ring_mask_intr(struct hv_ring *r)
{
    if (r->role != HV_RING_READER || r->broken)
        return;
    r->ops->ctl_store(r->ctx, HV_RING_OFF_INTR_MASK, 1);
    r->masked = true;
    atomic_thread_fence(memory_order_seq_cst);
}

bool hv_ring_unmask_intr(struct hv_ring *r)
{
    uint32_t w;

    if (r->role != HV_RING_READER)
        return false;
    if (r->broken)
        return true; /* let the caller's next read report -EPROTO */
    publish_read_index(r); /* before the writer can see the mask clear */
    r->ops->ctl_store(r->ctx, HV_RING_OFF_INTR_MASK, 0);
    r->masked = false;
    atomic_thread_fence(memory_order_seq_cst);
    w = r->ops->ctl_load(r->ctx, HV_RING_OFF_WRITE_INDEX);
    return w != r->own; /* invalid values are caught by the next read */
}

/* ---- packet helpers ------------------------------------------------------ */

int hv_ring_pkt_xfer(const struct hv_ring_pkt *pkt, uint16_t *pageset_id,
                     uint32_t *range_cnt)
{
    uint32_t n;

    if (pkt->type != HV_PKT_XFER_PAGES || pkt->hdr_size < 8)
        return -EPROTO;
    n = hv__le32(pkt->hdr + 4);
    /* 24 + 8 × n ≤ offset8 × 8, in 64 bits. */
    if ((uint64_t)n * 8u > pkt->hdr_size - 8u)
        return -EPROTO;
    *pageset_id = hv__le16(pkt->hdr);
    *range_cnt = n;
    return 0;
}

int hv_ring_pkt_xfer_range(const struct hv_ring_pkt *pkt, uint32_t idx,
                           struct hv_ring_xfer_range *out)
{
    uint16_t id;
    uint32_t n;

    if (hv_ring_pkt_xfer(pkt, &id, &n) || idx >= n)
        return -EPROTO;
    out->byte_count = hv__le32(pkt->hdr + 8 + 8 * idx);
    out->byte_offset = hv__le32(pkt->hdr + 12 + 8 * idx);
    return 0;
}

int hv_ring_gpa_iter_init(struct hv_ring_gpa_iter *it,
                          const struct hv_ring_pkt *pkt)
{
    if (pkt->type != HV_PKT_GPA_DIRECT || pkt->hdr_size < 8)
        return -EPROTO;
    it->pos = pkt->hdr + 8;
    it->end = pkt->hdr + pkt->hdr_size;
    it->left = hv__le32(pkt->hdr + 4);
    return 0;
}

int hv_ring_gpa_iter_next(struct hv_ring_gpa_iter *it,
                          struct hv_ring_gpa_range *out)
{
    uint32_t count, off;
    uint64_t npfn, room;

    if (it->left == 0)
        return 0;
    room = (uint64_t)(it->end - it->pos);
    if (room < 8)
        return -EPROTO;
    count = hv__le32(it->pos);
    off = hv__le32(it->pos + 4);
    if (count == 0 || off >= HV_PAGE_SIZE)
        return -EPROTO;
    npfn = ((uint64_t)off + count + HV_PAGE_SIZE - 1) / HV_PAGE_SIZE;
    if (npfn > (room - 8) / 8)
        return -EPROTO;
    out->byte_count = count;
    out->byte_offset = off;
    out->npfns = (uint32_t)npfn;
    out->pfns = it->pos + 8;
    it->pos += 8 + 8 * npfn;
    it->left--;
    return 1;
}

uint64_t hv_ring_gpa_pfn(const struct hv_ring_gpa_range *rg, uint32_t i)
{
    return i < rg->npfns ? hv__le64(rg->pfns + 8 * i) : 0;
}

/* ---- introspection --------------------------------------------------------- */

bool hv_ring_broken(const struct hv_ring *r)
{
    return __atomic_load_n(&r->broken, __ATOMIC_RELAXED);
}

uint32_t hv_ring_dsize(const struct hv_ring *r)
{
    return r->dsize;
}

uint32_t hv_ring_own_index(const struct hv_ring *r)
{
    return r->own;
}
