/* SPDX-License-Identifier: BSD-3-Clause */
#include "vsp-net/vsp.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/vsa_alloc.h"
#include "common/vsa_log.h"
#include "common/vsa_shm.h"
#include "vsp-net/vspn_wire.h"

VSA_LOG_MODULE(vspn_vsp);

/* Single writer (the service thread); readers use relaxed loads. */
#define STAT_ADD(v, name, n)                                                  \
    __atomic_store_n(&(v)->stats.name,                                        \
                     __atomic_load_n(&(v)->stats.name, __ATOMIC_RELAXED) +    \
                         (uint64_t)(n),                                       \
                     __ATOMIC_RELAXED)
#define STAT_INC(v, name) STAT_ADD(v, name, 1)

#define SLOT_NONE UINT32_MAX
/* deliver: slots asked for ahead of the one being written, and the most
 * bytes asked for per slot */
#define SLOT_PREFETCH_AHEAD 8u
#define SLOT_PREFETCH_CAP 256u
enum { SLOT_FREE, SLOT_HEAD, SLOT_MEMBER };

struct compq_ent {
    uint64_t trans_id;
    uint32_t size;
    uint8_t msg[VSPN_NVSP_MSG_SIZE];
};

struct ctrlq_ent {
    uint32_t len;
    uint8_t msg[VSPN_RNDIS_CTRL_MAX];
};

struct vspn_vsp {
    struct vspn_vsp_ops ops;
    void *ctx;
    char name[64];         /* a port name: "VM.NIC", up to 63 characters */
    struct vsa_ratelimit *log_rl; /* the VM's log budget, NULL */
    uint32_t host_mtu;
    uint32_t recv_slot_size;
    uint32_t send_section_size;
    struct vsa_mac perm_mac;
    bool allow_mac_change;
    uint32_t link_speed;
    struct hv_mem *mem;

    enum vspn_vsp_state state;
    uint32_t version;      /* negotiated NVSP version, 0 = none */
    uint32_t ndis_version; /* from SEND_NDIS_VERSION, 0 = none */
    bool ndis_config;
    uint32_t guest_mtu;
    uint64_t ndis_caps;
    uint32_t datapath;
    bool link_up;
    struct vspn_rndis_dev dev;

    /* receive buffer: slots, free stack, in-flight chains */
    struct hv_gpadl *rbuf;
    uint16_t rbuf_id;
    uint32_t nslots;
    uint32_t nfree;
    uint32_t *free_stack;
    uint32_t *chain;
    uint8_t *slot_state;

    /* send buffer */
    struct hv_gpadl *sbuf;
    uint16_t sbuf_id;
    uint32_t nsections;

    struct compq_ent compq[VSPN_VSP_COMPQ_MAX];
    uint32_t compq_head;
    uint32_t compq_len;
    struct ctrlq_ent ctrlq[VSPN_VSP_CTRLQ_MAX];
    uint32_t ctrlq_head;
    uint32_t ctrlq_len;
    /* The link indication is state, not a queue entry (it is never lost
     * to a full queue): what the guest was last told (or read with
     * MEDIA_CONNECT_STATUS after INITIALIZE), whether the link went the
     * other way and came back since, and how many queued messages go
     * before the indication owed (those queued before the change). */
    bool link_told;
    bool link_bounced;
    uint32_t link_after;

    bool need_signal;
    char why[128];
    struct vspn_vsp_stats stats;
    uint8_t asm_buf[VSPN_VSP_ASM_MAX]; /* private copy of one guest send */
};

/* The budget of all VSPs together, on top of each VM's (cfg->log_rl). */
static struct vsa_ratelimit vsp_rl =
    VSA_RATELIMIT_INIT_LABEL(VSPN_VSP_LOG_ALL_BURST, VSPN_VSP_LOG_PERIOD_S,
                             "all VMs");

/* ---- counters -------------------------------------------------------------- */

static const char *const stat_names[] = {
#define N_(n, h) #n,
    VSPN_VSP_STATS_FOREACH(N_)
#undef N_
};

static const char *const stat_helps[] = {
#define H_(n, h) h,
    VSPN_VSP_STATS_FOREACH(H_)
#undef H_
};

const char *vspn_vsp_stats_name(unsigned id)
{
    return id < VSPN_VSP_STATS_N ? stat_names[id] : NULL;
}

const char *vspn_vsp_stats_help(unsigned id)
{
    return id < VSPN_VSP_STATS_N ? stat_helps[id] : NULL;
}

uint64_t vspn_vsp_stats_get(const struct vspn_vsp_stats *s, unsigned id)
{
    const uint64_t *f = (const uint64_t *)(const void *)s;

    if (!s || id >= VSPN_VSP_STATS_N)
        return 0;
    return __atomic_load_n(&f[id], __ATOMIC_RELAXED);
}

/* ---- the dispatch table ------------------------------------------------------- */

enum col {
    C_INIT,
    C_NDIS_VER,
    C_RECV_BUF,
    C_REVOKE_RECV,
    C_SEND_BUF,
    C_REVOKE_SEND,
    C_RNDIS_PKT,
    C_NDIS_CONFIG,
    C_SWITCH_DP,
    C_SUBCHANNEL,
    NCOLS,
};

#define A_ VSPN_ACT_ALLOW
#define F_ VSPN_ACT_FAIL
#define X_ VSPN_ACT_CLOSE
/* Columns: guest→host messages that are allowed somewhere.  Every other
 * type is CLOSE in every state.  Rows: states except CLOSED (DROP). */
static const uint8_t table[NCOLS][VSPN_VSP_NSTATES - 1] = {
    /*                WAIT VERS NDIS RXBUF READY TXONLY REVOKED */
    [C_INIT]        = { A_, X_, X_, X_, X_, X_, X_ },
    [C_NDIS_VER]    = { X_, A_, X_, X_, X_, X_, X_ },
    [C_RECV_BUF]    = { F_, F_, A_, F_, F_, F_, F_ },
    [C_REVOKE_RECV] = { X_, X_, X_, A_, A_, X_, X_ },
    [C_SEND_BUF]    = { F_, F_, F_, A_, F_, F_, F_ },
    [C_REVOKE_SEND] = { X_, X_, X_, X_, A_, A_, X_ },
    [C_RNDIS_PKT]   = { F_, F_, F_, A_, A_, F_, F_ },
    [C_NDIS_CONFIG] = { X_, A_, A_, X_, X_, X_, X_ },
    [C_SWITCH_DP]   = { X_, X_, X_, A_, A_, X_, X_ },
    [C_SUBCHANNEL]  = { F_, F_, F_, A_, A_, F_, F_ },
};
#undef A_
#undef F_
#undef X_

/* Version that introduced the message (§2); lower → the type does not
 * exist in the negotiated protocol → CLOSE. */
static const uint32_t col_min_version[NCOLS] = {
    [C_NDIS_CONFIG] = VSPN_NVSP_VERSION_2,
    [C_SWITCH_DP] = VSPN_NVSP_VERSION_4,
    [C_SUBCHANNEL] = VSPN_NVSP_VERSION_5,
};

static int type_col(uint32_t type)
{
    switch (type) {
    case VSPN_NVSP_INIT: return C_INIT;
    case VSPN_NVSP_SEND_NDIS_VERSION: return C_NDIS_VER;
    case VSPN_NVSP_SEND_RECV_BUF: return C_RECV_BUF;
    case VSPN_NVSP_REVOKE_RECV_BUF: return C_REVOKE_RECV;
    case VSPN_NVSP_SEND_SEND_BUF: return C_SEND_BUF;
    case VSPN_NVSP_REVOKE_SEND_BUF: return C_REVOKE_SEND;
    case VSPN_NVSP_SEND_RNDIS_PKT: return C_RNDIS_PKT;
    case VSPN_NVSP_SEND_NDIS_CONFIG: return C_NDIS_CONFIG;
    case VSPN_NVSP_SWITCH_DATA_PATH: return C_SWITCH_DP;
    case VSPN_NVSP_SUBCHANNEL: return C_SUBCHANNEL;
    default: return -1;
    }
}

enum vspn_vsp_action vspn_vsp_table_action(enum vspn_vsp_state s,
                                           uint32_t type, uint32_t version)
{
    int col;

    if ((unsigned)s >= VSPN_VSP_NSTATES)
        return VSPN_ACT_CLOSE;
    if (s == VSPN_VSP_CLOSED)
        return VSPN_ACT_DROP;
    col = type_col(type);
    if (col < 0 || version < col_min_version[col])
        return VSPN_ACT_CLOSE;
    return (enum vspn_vsp_action)table[col][s];
}

const char *vspn_vsp_state_name(enum vspn_vsp_state s)
{
    static const char *const names[] = {
        "WAIT_INIT", "VERSIONED", "NDIS", "RXBUF",
        "READY", "TXBUF_ONLY", "REVOKED", "CLOSED",
    };
    return (unsigned)s < VSPN_VSP_NSTATES ? names[s] : "?";
}

const char *vspn_vsp_action_name(enum vspn_vsp_action a)
{
    switch (a) {
    case VSPN_ACT_ALLOW: return "allow";
    case VSPN_ACT_FAIL: return "fail";
    case VSPN_ACT_CLOSE: return "close";
    case VSPN_ACT_DROP: return "drop";
    default: return "?";
    }
}

/* ---- packets from the ring ------------------------------------------------------ */

int vspn_pkt_from_ring(const struct hv_ring_pkt *rp,
                       struct vspn_pkt_scratch *scratch, struct vspn_pkt *out)
{
    if (!rp || !scratch || !out)
        return -EINVAL;
    memset(out, 0, sizeof(*out));
    out->type = rp->type;
    out->flags = rp->flags;
    out->trans_id = rp->trans_id;
    out->data = rp->data;
    out->data_size = rp->data_size;
    if (rp->type == HV_PKT_GPA_DIRECT) {
        struct hv_ring_gpa_iter it;
        struct hv_ring_gpa_range r;
        uint32_t n = 0;
        int rc;

        if (hv_ring_gpa_iter_init(&it, rp) != 0)
            return -EPROTO;
        while ((rc = hv_ring_gpa_iter_next(&it, &r)) == 1) {
            if (n == VSPN_PKT_MAX_RANGES)
                return -E2BIG;
            scratch->gpa[n++] = r;
        }
        if (rc < 0)
            return -EPROTO;
        out->gpa = scratch->gpa;
        out->gpa_cnt = n;
    } else if (rp->type == HV_PKT_XFER_PAGES) {
        uint32_t n;

        if (hv_ring_pkt_xfer(rp, &out->xfer_pageset, &n) != 0)
            return -EPROTO;
        if (n > VSPN_PKT_MAX_RANGES)
            return -E2BIG;
        for (uint32_t i = 0; i < n; i++)
            if (hv_ring_pkt_xfer_range(rp, i, &scratch->xfer[i]) != 0)
                return -EPROTO;
        out->xfer = scratch->xfer;
        out->xfer_cnt = n;
    }
    return 0;
}

/* ---- output helpers ------------------------------------------------------------- */

static void note_send(struct vspn_vsp *v, int rc)
{
    if (rc > 0)
        v->need_signal = true;
}

static void flush_signal(struct vspn_vsp *v)
{
    if (v->need_signal) {
        v->need_signal = false;
        v->ops.signal(v->ctx);
    }
}

static void compq_flush(struct vspn_vsp *v)
{
    while (v->compq_len) {
        struct compq_ent *e = &v->compq[v->compq_head];
        int rc = v->ops.send_completion(v->ctx, e->trans_id,
                                        e->size ? e->msg : NULL, e->size);
        if (rc < 0)
            return;
        note_send(v, rc);
        v->compq_head = (v->compq_head + 1) % VSPN_VSP_COMPQ_MAX;
        v->compq_len--;
    }
}

/* COMP packet echoing trans_id; queued when the ring is full. */
static void send_comp(struct vspn_vsp *v, uint64_t trans_id, const void *msg,
                      uint32_t size)
{
    struct compq_ent *e;

    if (size > VSPN_NVSP_MSG_SIZE)
        size = VSPN_NVSP_MSG_SIZE; /* our replies are 40 bytes */
    compq_flush(v);
    if (v->compq_len == 0) {
        int rc = v->ops.send_completion(v->ctx, trans_id, msg, size);
        if (rc >= 0) {
            note_send(v, rc);
            return;
        }
    }
    if (v->compq_len == VSPN_VSP_COMPQ_MAX) {
        STAT_INC(v, comp_dropped);
        return;
    }
    e = &v->compq[(v->compq_head + v->compq_len) % VSPN_VSP_COMPQ_MAX];
    e->trans_id = trans_id;
    e->size = size;
    if (size)
        memcpy(e->msg, msg, size);
    v->compq_len++;
    STAT_INC(v, comp_deferred);
}

static void send_nvsp_comp(struct vspn_vsp *v, uint64_t trans_id,
                           const struct vspn_nvsp_msg *m)
{
    uint8_t buf[VSPN_NVSP_ENCODE_MAX];
    int n = vspn_nvsp_encode(m, buf, sizeof(buf));

    if (n > 0)
        send_comp(v, trans_id, buf, (uint32_t)n);
}

/* ---- receive slots ------------------------------------------------------------------ */

static uint32_t slot_alloc(struct vspn_vsp *v)
{
    uint32_t s;

    if (v->nfree == 0)
        return SLOT_NONE;
    s = v->free_stack[--v->nfree];
    v->slot_state[s] = SLOT_MEMBER;
    v->chain[s] = SLOT_NONE;
    return s;
}

static void slot_free(struct vspn_vsp *v, uint32_t s)
{
    v->slot_state[s] = SLOT_FREE;
    v->chain[s] = SLOT_NONE;
    v->free_stack[v->nfree++] = s;
}

static void chain_free(struct vspn_vsp *v, uint32_t head)
{
    /* A chain is at most VSPN_VSP_BATCH_MAX long and acyclic: built by us. */
    while (head != SLOT_NONE) {
        uint32_t next = v->chain[head];
        slot_free(v, head);
        head = next;
    }
}

/* One transfer-page packet for the chain starting at `head`.  On failure
 * the chain is freed and the error returned. */
static int post_xfer(struct vspn_vsp *v, uint32_t head,
                     const struct hv_ring_xfer_range *ranges, uint32_t n,
                     uint32_t channel_type)
{
    struct vspn_nvsp_msg m = { .type = VSPN_NVSP_SEND_RNDIS_PKT };
    uint8_t buf[VSPN_NVSP_ENCODE_MAX];
    int len, rc;

    m.u.rndis_pkt.channel_type = channel_type;
    m.u.rndis_pkt.section_index = VSPN_NVSP_NO_SECTION;
    len = vspn_nvsp_encode(&m, buf, sizeof(buf));
    rc = v->ops.send_xfer_page(v->ctx, head, v->rbuf_id, ranges, n, buf,
                               (size_t)len);
    if (rc < 0) {
        chain_free(v, head);
        return rc;
    }
    note_send(v, rc);
    v->slot_state[head] = SLOT_HEAD;
    return 0;
}

static uint64_t slot_off(const struct vspn_vsp *v, uint32_t s)
{
    return (uint64_t)s * v->recv_slot_size;
}

/* Asks for the slot slot_alloc() hands out `depth` calls from now, for
 * writing `bytes` (capped) into it.  The guest's CPU read that slot last;
 * asking a few slots ahead of the copies lets those transfers overlap
 * instead of stalling each copy in turn, and asking for only the lines
 * the message fills spends no transfer on lines it leaves alone. */
static void slot_prefetch(const struct vspn_vsp *v, unsigned depth,
                          uint32_t bytes)
{
    void *p;

    if (depth >= v->nfree)
        return;
    if (bytes > SLOT_PREFETCH_CAP)
        bytes = SLOT_PREFETCH_CAP;
    p = hv_gpadl_ptr(v->rbuf, slot_off(v, v->free_stack[v->nfree - 1 - depth]),
                     bytes);
    if (p)
        vsa_shm_prefetch_write(p, bytes);
}

/* ---- control messages to the guest ---------------------------------------------------- */

/* Writes one control message into a free slot and posts it: 1 posted, 0
 * no slot or ring full (retry later; nothing consumed), -1 the write into
 * the receive buffer failed (the message is lost; counted). */
static int ctrl_post(struct vspn_vsp *v, const uint8_t *msg, uint32_t len)
{
    struct hv_ring_xfer_range r;
    uint32_t s = slot_alloc(v);

    if (s == SLOT_NONE)
        return 0; /* retried when the guest returns a slot */
    if (hv_gpadl_write(v->rbuf, slot_off(v, s), msg, len) != 0) {
        slot_free(v, s);
        STAT_INC(v, ctrl_dropped);
        return -1;
    }
    r.byte_count = len;
    r.byte_offset = (uint32_t)slot_off(v, s); /* < 64 MiB */
    if (post_xfer(v, s, &r, 1, VSPN_NVSP_CHANNEL_CONTROL) < 0)
        return 0; /* ring full: retried on poll */
    STAT_INC(v, ctrl_sent);
    return 1;
}

/* Link indications owed to the guest: 1 (the current state), 2 (a bounce
 * it has not seen: the opposite state, then the current one) or 0.  Only
 * an initialised RNDIS device is told anything (link_owed): before
 * INITIALIZE the guest reads MEDIA_CONNECT_STATUS, after HALT it hears
 * nothing. */
static unsigned link_pending(const struct vspn_vsp *v)
{
    if (v->link_up != v->link_told)
        return 1;
    return v->link_bounced ? 2 : 0;
}

static unsigned link_owed(const struct vspn_vsp *v)
{
    if (!v->rbuf || v->dev.state != VSPN_RNDIS_INITIALIZED)
        return 0;
    return link_pending(v);
}

/* Nothing owed: the guest knows the current state (it was just told, or
 * it reads it after INITIALIZE, or it is not listening). */
static void link_settle(struct vspn_vsp *v)
{
    v->link_told = v->link_up;
    v->link_bounced = false;
    v->link_after = 0;
}

/* Posts the next link indication owed; ctrl_post's result. */
static int link_post(struct vspn_vsp *v)
{
    uint8_t out[VSPN_RNDIS_INDICATE_SIZE];
    bool st = v->link_up != v->link_told ? v->link_up : !v->link_up;
    int n, rc;

    n = vspn_rndis_encode_indicate(out, sizeof(out),
                                   st ? VSPN_RNDIS_STATUS_MEDIA_CONNECT
                                      : VSPN_RNDIS_STATUS_MEDIA_DISCONNECT,
                                   NULL, 0);
    rc = n > 0 ? ctrl_post(v, out, (uint32_t)n) : -1;
    if (rc != 0) {
        /* told, or lost with the receive buffer's write (counted) */
        v->link_told = st;
        if (st == v->link_up)
            v->link_bounced = false;
        if (rc > 0)
            STAT_INC(v, link_indications);
    }
    return rc;
}

/* Posts queued control messages in order, the link indication owed at
 * its place (after the messages queued before the change), while slots
 * and ring space last. */
static void ctrl_flush(struct vspn_vsp *v)
{
    while (v->rbuf) {
        struct ctrlq_ent *e;

        if (link_owed(v) && (v->link_after == 0 || !v->ctrlq_len)) {
            if (link_post(v) == 0)
                return;
            continue;
        }
        if (!v->ctrlq_len)
            return;
        e = &v->ctrlq[v->ctrlq_head];
        if (ctrl_post(v, e->msg, e->len) == 0)
            return;
        v->ctrlq_head = (v->ctrlq_head + 1) % VSPN_VSP_CTRLQ_MAX;
        v->ctrlq_len--;
        if (v->link_after)
            v->link_after--;
    }
}

/* Drops every queued control message and the link indications owed
 * (counted in ctrl_dropped). */
static void ctrl_discard(struct vspn_vsp *v)
{
    if (v->ctrlq_len + link_pending(v))
        STAT_ADD(v, ctrl_dropped, v->ctrlq_len + link_pending(v));
    v->ctrlq_len = 0;
    v->ctrlq_head = 0;
    link_settle(v);
}

static void ctrl_push(struct vspn_vsp *v, const uint8_t *msg, uint32_t len)
{
    struct ctrlq_ent *e;

    if (!v->rbuf || len > VSPN_RNDIS_CTRL_MAX || len > v->recv_slot_size ||
        v->ctrlq_len == VSPN_VSP_CTRLQ_MAX) {
        STAT_INC(v, ctrl_dropped);
        return;
    }
    e = &v->ctrlq[(v->ctrlq_head + v->ctrlq_len) % VSPN_VSP_CTRLQ_MAX];
    memcpy(e->msg, msg, len);
    e->len = len;
    v->ctrlq_len++;
    ctrl_flush(v);
}

/* ---- buffers ------------------------------------------------------------------------------ */

static void release_recv(struct vspn_vsp *v)
{
    ctrl_discard(v);
    vsa_free(v->free_stack);
    vsa_free(v->chain);
    vsa_free(v->slot_state);
    v->free_stack = NULL;
    v->chain = NULL;
    v->slot_state = NULL;
    v->nslots = 0;
    v->nfree = 0;
    hv_gpadl_put(v->rbuf);
    v->rbuf = NULL;
}

static void release_send(struct vspn_vsp *v)
{
    hv_gpadl_put(v->sbuf);
    v->sbuf = NULL;
    v->nsections = 0;
}

/* Documented order (spec §5.4): receive buffer, then send buffer. */
static void release_buffers(struct vspn_vsp *v)
{
    release_recv(v);
    release_send(v);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/* True if a guest page appears twice in a, or in both a and b.  -1 on
 * allocation failure.  Sorts every page number: the reason why it runs
 * where buffers are prepared, not where packets are handled. */
static int pages_overlap(const struct hv_gpadl *a, const struct hv_gpadl *b)
{
    uint32_t na = hv_gpadl_npages(a), nb = b ? hv_gpadl_npages(b) : 0;
    uint64_t *p = vsa_malloc(((size_t)na + nb) * sizeof(*p));
    int dup = 0;

    if (!p)
        return -1;
    for (uint32_t i = 0; i < na; i++)
        p[i] = hv_gpadl_pfn(a, i);
    for (uint32_t i = 0; i < nb; i++)
        p[na + i] = hv_gpadl_pfn(b, i);
    qsort(p, (size_t)na + nb, sizeof(*p), cmp_u64);
    for (size_t i = 1; i < (size_t)na + nb; i++)
        if (p[i] == p[i - 1]) {
            dup = 1;
            break;
        }
    vsa_free(p);
    return dup;
}

/* The slot tables of a receive buffer of n slots, all free, slot 0 handed
 * out first.  false on allocation failure (what was obtained stays in *b,
 * for vspn_buf_release). */
static bool slot_tables_alloc(struct vspn_buf *b, uint32_t n)
{
    b->free_stack = vsa_malloc((size_t)n * sizeof(uint32_t));
    b->chain = vsa_malloc((size_t)n * sizeof(uint32_t));
    b->slot_state = vsa_calloc(n, 1); /* SLOT_FREE */
    if (!b->free_stack || !b->chain || !b->slot_state)
        return false;
    for (uint32_t i = 0; i < n; i++) {
        b->free_stack[i] = n - 1 - i;
        b->chain[i] = SLOT_NONE;
    }
    return true;
}

void vspn_vsp_buf_prepare(const struct vspn_vsp *v, bool recv,
                          struct hv_gpadl *g, struct vspn_buf *b)
{
    uint32_t unit = recv ? v->recv_slot_size : v->send_section_size;
    uint64_t n64;
    int ov, status;

    memset(b, 0, sizeof(*b));
    b->gpadl = g;
    /* Nothing for a message the table will not let through to its
     * handler: a guest repeating SEND_RECV_BUF gets its FAILURE (or loses
     * the channel) without the host building tables for it. */
    if (vspn_vsp_table_action(v->state, recv ? VSPN_NVSP_SEND_RECV_BUF
                                             : VSPN_NVSP_SEND_SEND_BUF,
                              v->version) != VSPN_ACT_ALLOW) {
        b->status = -EPERM;
        goto refused;
    }
    if (!g) {
        b->status = -ENOENT;
        return;
    }
    n64 = hv_gpadl_size(g) / unit;
    if (n64 < (recv ? VSPN_VSP_MIN_RECV_SLOTS : 1) || n64 > UINT32_MAX / 2) {
        b->status = -ERANGE;
        goto refused;
    }
    b->count = (uint32_t)n64;
    /* A receive buffer is checked against itself; a send buffer against
     * itself and the receive buffer (the same GPADL twice overlaps). */
    if (!recv && g == v->rbuf)
        ov = 1;
    else
        ov = pages_overlap(g, recv ? NULL : v->rbuf);
    if (ov) {
        b->status = ov < 0 ? -ENOMEM : -EEXIST;
        goto refused;
    }
    if (recv && !slot_tables_alloc(b, b->count)) {
        b->status = -ENOMEM;
        goto refused;
    }
    return;

refused:
    /* A refused buffer holds nothing: the receiver of *b releases nothing
     * (where that is a datapath lcore, it then frees nothing either). */
    status = b->status;
    vspn_buf_release(b);
    b->status = status;
}

void vspn_buf_release(struct vspn_buf *b)
{
    if (!b)
        return;
    vsa_free(b->free_stack);
    vsa_free(b->chain);
    vsa_free(b->slot_state);
    hv_gpadl_put(b->gpadl);
    memset(b, 0, sizeof(*b));
}

/* Counts why a prepared buffer was refused. */
static void count_buf_refusal(struct vspn_vsp *v, int status)
{
    if (status == -EEXIST)
        STAT_INC(v, buf_overlap);
    else if (status == -ENOMEM)
        STAT_INC(v, buf_nomem);
    else
        STAT_INC(v, bad_gpadl);
}

/* ---- violations --------------------------------------------------------------------------- */

static int violation(struct vspn_vsp *v, int rc)
{
    if (v->state == VSPN_VSP_CLOSED)
        return rc;
    STAT_INC(v, violations);
    VSA_LOG_RL2(v->log_rl, &vsp_rl, WARN, "port %s: NVSP protocol violation: "
                "%s; closing", v->name, v->why);
    v->state = VSPN_VSP_CLOSED;
    /* Let go of guest buffers now: the glue may close the channel later. */
    release_buffers(v);
    v->compq_len = 0;
    v->ops.close(v->ctx, v->why);
    return rc;
}

#define VIOLATION(v, rc, ...)                                                 \
    (snprintf((v)->why, sizeof((v)->why), __VA_ARGS__), violation((v), (rc)))

/* ---- NVSP handlers --------------------------------------------------------------------------- */

static uint32_t eff_mtu(const struct vspn_vsp *v)
{
    if (v->ndis_config && v->guest_mtu < v->host_mtu)
        return v->guest_mtu;
    return v->host_mtu;
}

static void rndis_dev_reset(struct vspn_vsp *v)
{
    vspn_rndis_dev_init(&v->dev, &v->perm_mac, eff_mtu(v));
    v->dev.link_up = v->link_up;
    v->dev.link_speed = v->link_speed;
    v->dev.allow_mac_change = v->allow_mac_change;
    if (v->ndis_version)
        v->dev.ndis_version = v->ndis_version;
}

static void empty_comp_if_requested(struct vspn_vsp *v,
                                    const struct vspn_pkt *pkt)
{
    if (pkt->flags & HV_PKT_FLAG_COMPLETION_REQUESTED)
        send_comp(v, pkt->trans_id, NULL, 0);
}

/* Reply of a request type with status FAILURE (table cell FAIL, or a
 * request that failed validation). */
static void fail_reply(struct vspn_vsp *v, const struct vspn_pkt *pkt,
                       uint32_t type)
{
    struct vspn_nvsp_msg r = { 0 };

    switch (type) {
    case VSPN_NVSP_INIT:
        r.type = VSPN_NVSP_INIT_COMPLETE;
        r.u.init_complete.status = VSPN_NVSP_STATUS_FAILURE;
        break;
    case VSPN_NVSP_SEND_RECV_BUF:
        r.type = VSPN_NVSP_SEND_RECV_BUF_COMPLETE;
        r.u.recv_buf_complete.status = VSPN_NVSP_STATUS_FAILURE;
        break;
    case VSPN_NVSP_SEND_SEND_BUF:
        r.type = VSPN_NVSP_SEND_SEND_BUF_COMPLETE;
        r.u.send_buf_complete.status = VSPN_NVSP_STATUS_FAILURE;
        break;
    case VSPN_NVSP_SEND_RNDIS_PKT:
        if (!(pkt->flags & HV_PKT_FLAG_COMPLETION_REQUESTED))
            return;
        r.type = VSPN_NVSP_SEND_RNDIS_PKT_COMPLETE;
        r.u.rndis_pkt_complete.status = VSPN_NVSP_STATUS_FAILURE;
        break;
    case VSPN_NVSP_SUBCHANNEL:
        r.type = VSPN_NVSP_SUBCHANNEL;
        r.u.subchannel.op_or_status = VSPN_NVSP_STATUS_FAILURE;
        break;
    default:
        return;
    }
    send_nvsp_comp(v, pkt->trans_id, &r);
}

static int on_init(struct vspn_vsp *v, const struct vspn_pkt *pkt,
                   const struct vspn_nvsp_msg *m)
{
    static const uint32_t versions[] = {
        VSPN_NVSP_VERSION_61, VSPN_NVSP_VERSION_6, VSPN_NVSP_VERSION_5,
        VSPN_NVSP_VERSION_4,  VSPN_NVSP_VERSION_2, VSPN_NVSP_VERSION_1,
    };
    struct vspn_nvsp_msg r = { .type = VSPN_NVSP_INIT_COMPLETE };
    uint32_t chosen = 0;

    for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++)
        if (versions[i] >= m->u.init.min_ver &&
            versions[i] <= m->u.init.max_ver) {
            chosen = versions[i];
            break;
        }
    /* Allowed only in WAIT_INIT (the guest retries while we refuse its
     * version, spec §2): no buffers, nothing to release. */
    v->ndis_version = 0;
    v->ndis_config = false;
    v->guest_mtu = 0;
    v->ndis_caps = 0;
    v->datapath = 0;
    if (chosen) {
        v->version = chosen;
        v->state = VSPN_VSP_VERSIONED;
        r.u.init_complete.status = VSPN_NVSP_STATUS_SUCCESS;
        STAT_INC(v, init_ok);
    } else {
        v->version = 0;
        v->state = VSPN_VSP_WAIT_INIT;
        if (m->u.init.min_ver > VSPN_NVSP_VERSION_61)
            r.u.init_complete.status = VSPN_NVSP_STATUS_PROTOCOL_TOO_NEW;
        else if (m->u.init.max_ver < VSPN_NVSP_VERSION_1)
            r.u.init_complete.status = VSPN_NVSP_STATUS_PROTOCOL_TOO_OLD;
        else
            r.u.init_complete.status = VSPN_NVSP_STATUS_FAILURE;
        STAT_INC(v, init_refused);
    }
    rndis_dev_reset(v);
    r.u.init_complete.negotiated_ver = chosen;
    send_nvsp_comp(v, pkt->trans_id, &r);
    return 0;
}

static int on_ndis_ver(struct vspn_vsp *v, const struct vspn_pkt *pkt,
                       const struct vspn_nvsp_msg *m)
{
    if (m->u.ndis_ver.major != 6 || m->u.ndis_ver.minor > 99)
        return VIOLATION(v, -EPROTO, "NDIS version %u.%u",
                         m->u.ndis_ver.major, m->u.ndis_ver.minor);
    v->ndis_version = m->u.ndis_ver.major << 16 | m->u.ndis_ver.minor;
    v->dev.ndis_version = v->ndis_version;
    v->state = VSPN_VSP_NDIS;
    empty_comp_if_requested(v, pkt);
    return 0;
}

static int on_ndis_config(struct vspn_vsp *v, const struct vspn_pkt *pkt,
                          const struct vspn_nvsp_msg *m)
{
    uint32_t mtu = m->u.ndis_config.mtu;

    if (mtu < VSPN_ETH_HLEN + VSPN_VSP_MTU_MIN ||
        mtu > VSPN_ETH_HLEN + 65535u)
        return VIOLATION(v, -EPROTO, "NDIS_CONFIG mtu %u", mtu);
    v->guest_mtu = mtu - VSPN_ETH_HLEN;
    v->ndis_caps = m->u.ndis_config.caps;
    v->ndis_config = true;
    v->dev.mtu = eff_mtu(v);
    empty_comp_if_requested(v, pkt);
    return 0;
}

/* The buffer a SEND_RECV_BUF (recv) or SEND_SEND_BUF names, as the host
 * prepared it (ops->buf_get); false, after counting why and answering
 * FAILURE, when it was refused. */
static bool take_buf(struct vspn_vsp *v, const struct vspn_pkt *pkt,
                     const struct vspn_nvsp_msg *m, bool recv,
                     struct vspn_buf *b)
{
    v->ops.buf_get(v->ctx, m->u.buf.gpadl, recv, b);
    if (b->status == 0)
        return true;
    count_buf_refusal(v, b->status);
    vspn_buf_release(b);
    fail_reply(v, pkt,
               recv ? VSPN_NVSP_SEND_RECV_BUF : VSPN_NVSP_SEND_SEND_BUF);
    return false;
}

static int on_recv_buf(struct vspn_vsp *v, const struct vspn_pkt *pkt,
                       const struct vspn_nvsp_msg *m)
{
    struct vspn_nvsp_msg r = { .type = VSPN_NVSP_SEND_RECV_BUF_COMPLETE };
    struct vspn_buf b;
    uint32_t n;

    if (!take_buf(v, pkt, m, true, &b))
        return 0;
    n = b.count;
    v->free_stack = b.free_stack;
    v->chain = b.chain;
    v->slot_state = b.slot_state;
    v->nslots = n;
    v->nfree = n;
    v->rbuf = b.gpadl;
    v->rbuf_id = m->u.buf.id;
    v->state = VSPN_VSP_RXBUF;
    r.u.recv_buf_complete.status = VSPN_NVSP_STATUS_SUCCESS;
    r.u.recv_buf_complete.num_sections = 1;
    r.u.recv_buf_complete.sections[0].offset = 0;
    r.u.recv_buf_complete.sections[0].sub_alloc_size = v->recv_slot_size;
    r.u.recv_buf_complete.sections[0].num_sub_allocs = n;
    r.u.recv_buf_complete.sections[0].end_offset = n * v->recv_slot_size;
    send_nvsp_comp(v, pkt->trans_id, &r);
    return 0;
}

static int on_send_buf(struct vspn_vsp *v, const struct vspn_pkt *pkt,
                       const struct vspn_nvsp_msg *m)
{
    struct vspn_nvsp_msg r = { .type = VSPN_NVSP_SEND_SEND_BUF_COMPLETE };
    struct vspn_buf b;

    if (!take_buf(v, pkt, m, false, &b))
        return 0;
    v->sbuf = b.gpadl;
    v->sbuf_id = m->u.buf.id;
    v->nsections = b.count;
    v->state = VSPN_VSP_READY;
    r.u.send_buf_complete.status = VSPN_NVSP_STATUS_SUCCESS;
    r.u.send_buf_complete.section_size = v->send_section_size;
    send_nvsp_comp(v, pkt->trans_id, &r);
    return 0;
}

static int on_revoke_recv(struct vspn_vsp *v, const struct vspn_pkt *pkt,
                          const struct vspn_nvsp_msg *m)
{
    if (m->u.revoke.id != v->rbuf_id)
        return VIOLATION(v, -EPROTO, "REVOKE_RECV_BUF id %#x, buffer %#x",
                         m->u.revoke.id, v->rbuf_id);
    release_recv(v);
    v->state = v->state == VSPN_VSP_READY ? VSPN_VSP_TXBUF_ONLY
                                          : VSPN_VSP_REVOKED;
    empty_comp_if_requested(v, pkt);
    return 0;
}

static int on_revoke_send(struct vspn_vsp *v, const struct vspn_pkt *pkt,
                          const struct vspn_nvsp_msg *m)
{
    if (m->u.revoke.id != v->sbuf_id)
        return VIOLATION(v, -EPROTO, "REVOKE_SEND_BUF id %#x, buffer %#x",
                         m->u.revoke.id, v->sbuf_id);
    release_send(v);
    v->state = v->state == VSPN_VSP_READY ? VSPN_VSP_RXBUF
                                          : VSPN_VSP_REVOKED;
    empty_comp_if_requested(v, pkt);
    return 0;
}

static int on_subchannel(struct vspn_vsp *v, const struct vspn_pkt *pkt,
                         const struct vspn_nvsp_msg *m)
{
    struct vspn_nvsp_msg r = { .type = VSPN_NVSP_SUBCHANNEL };

    /* This VSP serves one channel: an allocation succeeds with zero
     * sub-channels (guests then stay on the primary). */
    r.u.subchannel.op_or_status =
        m->u.subchannel.op_or_status == VSPN_NVSP_SUBCHANNEL_ALLOCATE
            ? VSPN_NVSP_STATUS_SUCCESS
            : VSPN_NVSP_STATUS_FAILURE;
    r.u.subchannel.num = 0;
    send_nvsp_comp(v, pkt->trans_id, &r);
    return 0;
}

/* ---- SEND_RNDIS_PKT ---------------------------------------------------------------------- */

/* Copies the message bytes (section first, then GPA ranges) into asm_buf,
 * once.  Returns the byte count, or 0 after counting the reason.  Every
 * byte copied counts in g2h_copied, also those of a message refused
 * afterwards: a glue that bounds its work per pass charges them. */
static uint32_t gather(struct vspn_vsp *v, const struct vspn_pkt *pkt,
                       const struct vspn_nvsp_msg *m)
{
    uint32_t idx = m->u.rndis_pkt.section_index;
    uint32_t size = m->u.rndis_pkt.section_size;
    uint32_t n = 0;

    if (idx != VSPN_NVSP_NO_SECTION) {
        /* hv_gpadl_read copies all or nothing */
        if (!v->sbuf || idx >= v->nsections || size == 0 ||
            size > v->send_section_size ||
            hv_gpadl_read(v->sbuf, (uint64_t)idx * v->send_section_size,
                          v->asm_buf, size) != 0) {
            STAT_INC(v, bad_section);
            return 0;
        }
        n = size; /* ≤ send_section_size ≤ VSPN_VSP_ASM_MAX (create) */
    }
    if (pkt->type == HV_PKT_GPA_DIRECT) {
        if (pkt->gpa_cnt == 0 || !pkt->gpa)
            goto bad_gpa;
        for (uint32_t i = 0; i < pkt->gpa_cnt; i++) {
            const struct hv_ring_gpa_range *r = &pkt->gpa[i];
            uint32_t left = r->byte_count, off = r->byte_offset;

            if (left > VSPN_VSP_ASM_MAX - n || off >= HV_PAGE_SIZE)
                goto bad_gpa;
            for (uint32_t p = 0; left; p++) {
                uint32_t chunk = HV_PAGE_SIZE - off;
                uint64_t pfn;

                if (chunk > left)
                    chunk = left;
                if (p >= r->npfns)
                    goto bad_gpa;
                pfn = hv_ring_gpa_pfn(r, p);
                if (!v->mem || pfn > (HV_MEM_MAX_GPA >> HV_PAGE_SHIFT) ||
                    hv_mem_read(v->mem, (pfn << HV_PAGE_SHIFT) + off,
                                v->asm_buf + n, chunk) != 0)
                    goto bad_gpa;
                n += chunk;
                left -= chunk;
                off = 0;
            }
        }
    } else if (idx == VSPN_NVSP_NO_SECTION) {
        STAT_INC(v, bad_section); /* in-band without a section: no data */
        return 0;
    }
    STAT_ADD(v, g2h_copied, n);
    if (n == 0)
        STAT_INC(v, bad_section);
    return n;

bad_gpa:
    /* the section and the ranges before the bad one were copied */
    STAT_ADD(v, g2h_copied, n);
    STAT_INC(v, bad_gpa);
    return 0;
}

static uint32_t frame_payload(const uint8_t *f, uint32_t len)
{
    uint32_t pl = len - VSPN_ETH_HLEN;
    uint16_t et = (uint16_t)(f[12] << 8 | f[13]);

    /* An in-frame 802.1Q/802.1ad tag does not count against the MTU. */
    if ((et == 0x8100 || et == 0x88a8) && pl >= 4)
        pl -= 4;
    return pl;
}

static void guest_frame(struct vspn_vsp *v, const struct vspn_rndis_msg *msg)
{
    struct vspn_rndis_ppi pi;
    const uint8_t *f = msg->u.packet.data;
    uint32_t len = msg->u.packet.data_len;

    if (vspn_rndis_ppi_parse(msg->u.packet.ppi, msg->u.packet.ppi_len,
                             &pi) != 0) {
        STAT_INC(v, ppi_bad);
        return;
    }
    if (len < VSPN_ETH_HLEN) {
        STAT_INC(v, g2h_runt);
        return;
    }
    if (pi.has_lso) {
        uint32_t mss = pi.lso & 0xFFFFFu, hoff = (pi.lso >> 20) & 0x3FFu;

        if (mss == 0 || mss >= len || hoff >= len)
            STAT_INC(v, ppi_bad);
        else
            STAT_INC(v, offload_unsupported);
        return;
    }
    if (pi.has_csum &&
        (pi.csum & (VSPN_PPI_TXCSUM_TCP | VSPN_PPI_TXCSUM_UDP |
                    VSPN_PPI_TXCSUM_IP))) {
        uint32_t fam = pi.csum & (VSPN_PPI_TXCSUM_IPV4 | VSPN_PPI_TXCSUM_IPV6);

        if (VSPN_PPI_TXCSUM_HDR_OFFSET(pi.csum) >= len ||
            fam == 0 || fam == (VSPN_PPI_TXCSUM_IPV4 | VSPN_PPI_TXCSUM_IPV6))
            STAT_INC(v, ppi_bad);
        else
            STAT_INC(v, offload_unsupported); /* we claimed no TX csum */
        return;
    }
    if (frame_payload(f, len) > eff_mtu(v)) {
        STAT_INC(v, g2h_oversize);
        return;
    }
    if (!v->link_up) {
        STAT_INC(v, g2h_link_down);
        return;
    }
    STAT_INC(v, g2h_frames);
    STAT_ADD(v, g2h_bytes, len);
    v->ops.rx_frame(v->ctx, f, len, pi.vlan_tci, pi.has_vlan);
}

/* A data send: up to max_pkts RNDIS_PACKETs back to back.  All of them
 * are decoded before any frame goes to rx_frame, so the completion speaks
 * for the whole send: SUCCESS, every frame taken (each may still be
 * dropped and counted on its own), or INVALID_RNDIS_PKT, none taken.
 *
 * Where the send ends: spec §5.2 has the guest pad every message but the
 * last to the host's alignment by enlarging its msg_len, and name in msg
 * 107 "the number of bytes used in the section"; §8 starts every RNDIS
 * message with the 8-byte {type, length}.  So MessageLength finds the next
 * message, fewer than 8 bytes left after a message cannot start one and
 * are ignored (padding of the last message to our 8-byte alignment fits
 * in them), and 8 bytes or more are decoded as a message. */
static uint32_t rndis_data(struct vspn_vsp *v, uint32_t total)
{
    struct vspn_rndis_msg msgs[VSPN_RNDIS_MAX_PKTS];
    uint32_t off = 0, count = 0;

    if (v->dev.state != VSPN_RNDIS_INITIALIZED) {
        STAT_INC(v, g2h_not_ready);
        STAT_INC(v, rndis_bad_state);
        return VSPN_NVSP_STATUS_FAILURE;
    }
    while (total - off >= VSPN_RNDIS_HDR_SIZE) {
        struct vspn_rndis_msg *msg = &msgs[count];

        if (count == v->dev.max_pkts || count == VSPN_RNDIS_MAX_PKTS) {
            STAT_INC(v, rndis_too_many);
            return VSPN_NVSP_STATUS_INVALID_RNDIS_PKT;
        }
        if (vspn_rndis_decode(v->asm_buf + off, total - off, msg) != 0 ||
            msg->type != VSPN_RNDIS_MSG_PACKET) {
            STAT_INC(v, rndis_bad_msg);
            return VSPN_NVSP_STATUS_INVALID_RNDIS_PKT;
        }
        off += msg->len; /* ≥ 44 and ≤ total − off: progresses, no wrap */
        count++;
    }
    if (count == 0) {
        STAT_INC(v, rndis_bad_msg); /* fewer bytes than a header */
        return VSPN_NVSP_STATUS_INVALID_RNDIS_PKT;
    }
    for (uint32_t i = 0; i < count; i++)
        guest_frame(v, &msgs[i]);
    return VSPN_NVSP_STATUS_SUCCESS;
}

static void indicate_invalid(struct vspn_vsp *v, uint32_t err_offset,
                             uint32_t total)
{
    uint8_t out[VSPN_RNDIS_CTRL_MAX];
    int n = vspn_rndis_encode_invalid(out, sizeof(out),
                                      VSPN_RNDIS_STATUS_INVALID_DATA,
                                      err_offset, v->asm_buf, total,
                                      VSPN_RNDIS_DIAG_COPY_MAX);
    if (n > 0)
        ctrl_push(v, out, (uint32_t)n);
}

static uint32_t rndis_control(struct vspn_vsp *v, uint32_t total)
{
    struct vspn_rndis_msg msg;
    uint8_t out[VSPN_RNDIS_CTRL_MAX];
    int n;

    if (vspn_rndis_decode(v->asm_buf, total, &msg) != 0) {
        STAT_INC(v, rndis_bad_msg);
        indicate_invalid(v, msg.err_offset, total);
        return VSPN_NVSP_STATUS_INVALID_RNDIS_PKT;
    }
    /* a QUERY/SET out of state is that (rndis_bad_state), whatever its
     * OID: oid_unsupported counts only those the device answers NOT
     * SUPPORTED */
    if (v->dev.state != VSPN_RNDIS_INITIALIZED &&
        msg.type != VSPN_RNDIS_MSG_INIT && msg.type != VSPN_RNDIS_MSG_HALT)
        STAT_INC(v, rndis_bad_state);
    else if ((msg.type == VSPN_RNDIS_MSG_QUERY ||
              msg.type == VSPN_RNDIS_MSG_SET) &&
             !vspn_rndis_oid_allowed(msg.u.oid.oid,
                                     msg.type == VSPN_RNDIS_MSG_SET))
        STAT_INC(v, oid_unsupported);
    n = vspn_rndis_ctrl(&v->dev, &msg, out, sizeof(out));
    if (n < 0) {
        /* PACKET on the control channel, INDICATE_STATUS or a completion
         * from the guest: not a request this device takes. */
        STAT_INC(v, rndis_bad_msg);
        indicate_invalid(v, 0, total);
        return VSPN_NVSP_STATUS_INVALID_RNDIS_PKT;
    }
    STAT_INC(v, rndis_ctrl);
    if (msg.type == VSPN_RNDIS_MSG_HALT) {
        /* [MS-RNDIS] REMOTE_NDIS_HALT_MSG: the device discards the
         * requests and packets outstanding when HALT arrives.  What waits
         * here for a receive slot (completions of earlier requests, link
         * indications) is dropped; requests after HALT are answered
         * FAILURE until an INITIALIZE starts the device again (rndis.c,
         * from a closed filter). */
        ctrl_discard(v);
    } else if (msg.type == VSPN_RNDIS_MSG_INIT && n >= 16 &&
               vspn__le32(out + 12) == VSPN_RNDIS_STATUS_SUCCESS) {
        /* the guest reads MEDIA_CONNECT_STATUS after INITIALIZE (spec
         * §6.1 step 13, §6.2 step 3): nothing older is owed */
        link_settle(v);
    }
    /* RESET keeps the queue and the link indication owed: the device
     * stays initialised with its addresses and filter (RESET_CMPLT
     * addressing_reset 0), and its link state is what the guest was
     * told, or is about to be. */
    if (n >= 16 && (msg.type == VSPN_RNDIS_MSG_QUERY ||
                    msg.type == VSPN_RNDIS_MSG_SET)) {
        uint32_t st = vspn__le32(out + 12);

        if (st == VSPN_RNDIS_STATUS_INVALID_DATA ||
            st == VSPN_RNDIS_STATUS_INVALID_LENGTH)
            STAT_INC(v, oid_bad_data);
    }
    if (v->dev.mac_changed) {
        v->dev.mac_changed = false;
        if (v->ops.mac_changed)
            v->ops.mac_changed(v->ctx, &v->dev.cur_mac);
    }
    if (n > 0)
        ctrl_push(v, out, (uint32_t)n);
    return VSPN_NVSP_STATUS_SUCCESS;
}

static int on_rndis_pkt(struct vspn_vsp *v, const struct vspn_pkt *pkt,
                        const struct vspn_nvsp_msg *m)
{
    struct vspn_nvsp_msg r = { .type = VSPN_NVSP_SEND_RNDIS_PKT_COMPLETE };
    uint32_t total = gather(v, pkt, m);

    if (total == 0)
        r.u.rndis_pkt_complete.status = VSPN_NVSP_STATUS_FAILURE;
    else if (m->u.rndis_pkt.channel_type == VSPN_NVSP_CHANNEL_DATA)
        r.u.rndis_pkt_complete.status = rndis_data(v, total);
    else
        r.u.rndis_pkt_complete.status = rndis_control(v, total);
    if (pkt->flags & HV_PKT_FLAG_COMPLETION_REQUESTED)
        send_nvsp_comp(v, pkt->trans_id, &r);
    return 0;
}

static int on_nvsp(struct vspn_vsp *v, const struct vspn_pkt *pkt)
{
    struct vspn_nvsp_msg m;
    enum vspn_vsp_action act;

    if (!pkt->data || vspn_nvsp_decode(pkt->data, pkt->data_size, &m) != 0) {
        STAT_INC(v, nvsp_bad_msg);
        return VIOLATION(v, -EBADMSG, "malformed NVSP message (%u bytes)",
                         pkt->data_size);
    }
    if (pkt->type == HV_PKT_GPA_DIRECT && m.type != VSPN_NVSP_SEND_RNDIS_PKT) {
        STAT_INC(v, bad_pkt_type);
        return VIOLATION(v, -EPROTO, "%s in a GPA-direct packet",
                         vspn_nvsp_type_name(m.type));
    }
    act = vspn_vsp_table_action(v->state, m.type, v->version);
    switch (act) {
    case VSPN_ACT_ALLOW:
        break;
    case VSPN_ACT_FAIL:
        STAT_INC(v, nvsp_refused);
        fail_reply(v, pkt, m.type);
        return 0;
    case VSPN_ACT_DROP:
        STAT_INC(v, after_close);
        return -EPIPE;
    default:
        /* INIT once a version was negotiated: no guest renegotiates on an
         * open channel (they close and reopen it, which resets us); a
         * guest that does is hammering the control path.  Issue: 100,000
         * INITs must cost the guest its channel, not the host a reply
         * each. */
        if (m.type == VSPN_NVSP_INIT) {
            STAT_INC(v, init_repeated);
            return VIOLATION(v, -EPROTO, "INIT after version %#x was "
                             "negotiated (state %s)", v->version,
                             vspn_vsp_state_name(v->state));
        }
        return VIOLATION(v, -EPROTO, "%s (%u) not allowed in %s (version %#x)",
                         vspn_nvsp_type_name(m.type), m.type,
                         vspn_vsp_state_name(v->state), v->version);
    }
    STAT_INC(v, nvsp_msgs);
    switch (m.type) {
    case VSPN_NVSP_INIT: return on_init(v, pkt, &m);
    case VSPN_NVSP_SEND_NDIS_VERSION: return on_ndis_ver(v, pkt, &m);
    case VSPN_NVSP_SEND_NDIS_CONFIG: return on_ndis_config(v, pkt, &m);
    case VSPN_NVSP_SEND_RECV_BUF: return on_recv_buf(v, pkt, &m);
    case VSPN_NVSP_SEND_SEND_BUF: return on_send_buf(v, pkt, &m);
    case VSPN_NVSP_REVOKE_RECV_BUF: return on_revoke_recv(v, pkt, &m);
    case VSPN_NVSP_REVOKE_SEND_BUF: return on_revoke_send(v, pkt, &m);
    case VSPN_NVSP_SEND_RNDIS_PKT: return on_rndis_pkt(v, pkt, &m);
    case VSPN_NVSP_SUBCHANNEL: return on_subchannel(v, pkt, &m);
    case VSPN_NVSP_SWITCH_DATA_PATH:
        /* No VF here: the data path stays synthetic whatever is asked. */
        v->datapath = m.u.switch_data_path.active_datapath;
        empty_comp_if_requested(v, pkt);
        return 0;
    default:
        return VIOLATION(v, -EPROTO, "no handler for %u", m.type);
    }
}

/* Guest completion of one of our transfer-page packets.  One that names
 * nothing in flight counts bad_completion alone, whatever its status. */
static int on_guest_comp(struct vspn_vsp *v, const struct vspn_pkt *pkt)
{
    uint64_t t = pkt->trans_id;
    bool nack = false;

    /* Linux sends {108, status}, DPDK the padded 40 bytes, iPXE nothing. */
    if (pkt->data_size >= 4) {
        struct vspn_nvsp_msg m;

        if (!pkt->data ||
            vspn_nvsp_decode(pkt->data, pkt->data_size, &m) != 0 ||
            m.type != VSPN_NVSP_SEND_RNDIS_PKT_COMPLETE) {
            STAT_INC(v, bad_completion);
            return 0;
        }
        nack = m.u.rndis_pkt_complete.status != VSPN_NVSP_STATUS_SUCCESS;
    }
    if (!v->rbuf || t >= v->nslots || v->slot_state[t] != SLOT_HEAD) {
        STAT_INC(v, bad_completion);
        return 0;
    }
    if (nack)
        STAT_INC(v, guest_rx_nack);
    chain_free(v, (uint32_t)t);
    STAT_INC(v, xfer_completed);
    compq_flush(v);
    ctrl_flush(v);
    return 0;
}

/* ---- public API -------------------------------------------------------------------------- */

int vspn_vsp_create(const struct vspn_vsp_cfg *cfg,
                    const struct vspn_vsp_ops *ops, void *ctx,
                    struct vspn_vsp **out)
{
    struct vspn_vsp *v;
    uint32_t mtu, rs, ss;

    if (!cfg || !ops || !out || !ops->send_completion ||
        !ops->send_xfer_page || !ops->signal || !ops->buf_get ||
        !ops->close || !ops->rx_frame)
        return -EINVAL;
    mtu = cfg->mtu ? cfg->mtu : VSPN_VSP_MTU_DEFAULT;
    if (mtu < VSPN_VSP_MTU_MIN || mtu > VSPN_VSP_MTU_MAX)
        return -EINVAL;
    rs = VSPN_RNDIS_PACKET_SIZE + 32u + mtu + VSPN_ETH_HLEN + 4u;
    rs = (rs + 63u) & ~63u;
    if (rs < VSPN_VSP_RECV_SECTION_MIN)
        rs = VSPN_VSP_RECV_SECTION_MIN;
    if (cfg->recv_section_size) {
        /* must hold a full-MTU message and any control message */
        if (cfg->recv_section_size < rs || (cfg->recv_section_size & 7u) ||
            cfg->recv_section_size > (1u << 20))
            return -EINVAL;
        rs = cfg->recv_section_size;
    }
    ss = cfg->send_section_size ? cfg->send_section_size
                                : VSPN_VSP_SEND_SECTION_DEFAULT;
    if (ss < 68u || (ss & 7u) || ss > VSPN_VSP_ASM_MAX)
        return -EINVAL;
    v = vsa_calloc(1, sizeof(*v));
    if (!v)
        return -ENOMEM;
    v->ops = *ops;
    v->ctx = ctx;
    snprintf(v->name, sizeof(v->name), "%s", cfg->name ? cfg->name : "vsp");
    v->log_rl = cfg->log_rl;
    v->host_mtu = mtu;
    v->recv_slot_size = rs;
    v->send_section_size = ss;
    v->perm_mac = cfg->mac;
    v->allow_mac_change = cfg->allow_mac_change;
    v->link_speed = cfg->link_speed ? cfg->link_speed : 100000000u;
    v->link_up = cfg->link_up;
    link_settle(v);
    v->mem = cfg->mem ? hv_mem_get(cfg->mem) : NULL;
    v->state = VSPN_VSP_WAIT_INIT;
    rndis_dev_reset(v);
    *out = v;
    return 0;
}

void vspn_vsp_destroy(struct vspn_vsp *v)
{
    if (!v)
        return;
    release_buffers(v);
    hv_mem_put(v->mem);
    vsa_free(v);
}

void vspn_vsp_reset(struct vspn_vsp *v)
{
    release_buffers(v);
    v->compq_len = 0;
    v->compq_head = 0;
    v->need_signal = false;
    v->state = VSPN_VSP_WAIT_INIT;
    v->version = 0;
    v->ndis_version = 0;
    v->ndis_config = false;
    v->guest_mtu = 0;
    v->ndis_caps = 0;
    v->datapath = 0;
    rndis_dev_reset(v);
}

int vspn_vsp_handle_pkt(struct vspn_vsp *v, const struct vspn_pkt *pkt)
{
    int rc;

    if (!v || !pkt)
        return -EINVAL;
    STAT_INC(v, pkts_in);
    if (v->state == VSPN_VSP_CLOSED) {
        STAT_INC(v, after_close);
        return -EPIPE;
    }
    switch (pkt->type) {
    case HV_PKT_COMP:
        rc = on_guest_comp(v, pkt);
        break;
    case HV_PKT_INBAND:
    case HV_PKT_GPA_DIRECT:
        rc = on_nvsp(v, pkt);
        break;
    case HV_PKT_CANCEL_REQUEST:
        /* Every send was finished in its own handle_pkt: nothing guest
         * memory backs is outstanding, and a completion waiting in compq
         * still goes out (one per request, cancelled or not). */
        STAT_INC(v, cancel_ignored);
        rc = 0;
        break;
    default:
        STAT_INC(v, bad_pkt_type);
        rc = VIOLATION(v, -EPROTO, "VMBus packet type %u", pkt->type);
        break;
    }
    if (v->state != VSPN_VSP_CLOSED)
        flush_signal(v);
    return rc;
}

static bool rx_ready(const struct vspn_vsp *v)
{
    return v->rbuf && v->dev.state == VSPN_RNDIS_INITIALIZED &&
           (v->state == VSPN_VSP_RXBUF || v->state == VSPN_VSP_READY);
}

unsigned vspn_vsp_deliver(struct vspn_vsp *v, const struct vspn_frame *frames,
                          unsigned n)
{
    struct hv_ring_xfer_range ranges[VSPN_VSP_BATCH_MAX];
    uint8_t hdr[VSPN_RNDIS_PACKET_SIZE + 32];
    unsigned done = 0, i = 0;
    uint32_t mtu;

    if (!v || (n && !frames))
        return 0;
    mtu = eff_mtu(v);
    if (!rx_ready(v)) {
        STAT_ADD(v, h2g_not_ready, n);
        return 0;
    }
    if (!v->link_up) {
        STAT_ADD(v, h2g_link_down, n);
        return 0;
    }
    compq_flush(v);
    ctrl_flush(v);
    for (unsigned j = 0; j < n && j < SLOT_PREFETCH_AHEAD; j++)
        slot_prefetch(v, j, VSPN_RNDIS_PACKET_SIZE + frames[j].len);
    while (i < n) {
        uint32_t head = SLOT_NONE, tail = SLOT_NONE, cnt = 0;
        uint64_t bytes = 0;

        for (; i < n && cnt < VSPN_VSP_BATCH_MAX; i++) {
            const struct vspn_frame *f = &frames[i];
            struct vspn_rndis_ppi pi = { 0 };
            uint32_t s, msg_len;
            uint64_t off;
            int h;

            if (!f->data || f->len < VSPN_ETH_HLEN) {
                STAT_INC(v, h2g_runt);
                continue;
            }
            if (frame_payload(f->data, f->len) > mtu) {
                STAT_INC(v, h2g_oversize);
                continue;
            }
            if (f->has_vlan && (f->vlan_tci & 0xFFFu) == 0xFFFu) {
                STAT_INC(v, h2g_bad_vlan); /* guests refuse the PPI */
                continue;
            }
            if (!vspn_rndis_filter_pass(&v->dev, f->data)) {
                STAT_INC(v, h2g_filtered);
                continue;
            }
            pi.has_vlan = f->has_vlan;
            pi.vlan_tci = f->vlan_tci;
            h = vspn_rndis_packet_hdr(hdr, sizeof(hdr), &pi, f->len);
            if (h < 0) {
                STAT_INC(v, h2g_oversize);
                continue;
            }
            msg_len = (uint32_t)h + f->len; /* f->len < slot: no wrap */
            if (msg_len > v->recv_slot_size ||
                (v->dev.guest_max_xfer && msg_len > v->dev.guest_max_xfer)) {
                STAT_INC(v, h2g_oversize);
                continue;
            }
            s = slot_alloc(v);
            if (s == SLOT_NONE) {
                STAT_INC(v, h2g_no_section);
                continue;
            }
            if (i + SLOT_PREFETCH_AHEAD < n)
                slot_prefetch(v, SLOT_PREFETCH_AHEAD - 1,
                              VSPN_RNDIS_PACKET_SIZE +
                                  frames[i + SLOT_PREFETCH_AHEAD].len);
            off = slot_off(v, s);
            if (hv_gpadl_write(v->rbuf, off, hdr, (size_t)h) != 0 ||
                hv_gpadl_write(v->rbuf, off + (uint64_t)h, f->data,
                               f->len) != 0) {
                slot_free(v, s);
                STAT_INC(v, h2g_not_ready);
                continue;
            }
            if (head == SLOT_NONE)
                head = s;
            else
                v->chain[tail] = s;
            tail = s;
            ranges[cnt].byte_count = msg_len;
            ranges[cnt].byte_offset = (uint32_t)off;
            bytes += f->len;
            cnt++;
        }
        if (cnt == 0)
            continue;
        if (post_xfer(v, head, ranges, cnt, VSPN_NVSP_CHANNEL_DATA) < 0) {
            STAT_ADD(v, h2g_ring_full, cnt);
            continue;
        }
        STAT_INC(v, h2g_batches);
        STAT_ADD(v, h2g_frames, cnt);
        STAT_ADD(v, h2g_bytes, bytes);
        done += cnt;
    }
    flush_signal(v);
    return done;
}

void vspn_vsp_set_link(struct vspn_vsp *v, bool up)
{
    if (!v || v->link_up == up)
        return;
    v->link_up = up;
    v->dev.link_up = up;
    if (v->state == VSPN_VSP_CLOSED || !v->rbuf ||
        v->dev.state != VSPN_RNDIS_INITIALIZED) {
        /* the guest reads MEDIA_CONNECT_STATUS when it comes up */
        link_settle(v);
        return;
    }
    /* Back to what the guest was told before it heard of the change: it
     * must still see the pair.  Linux netvsc (netvsc_link_change) takes
     * the carrier off on MEDIA_DISCONNECT and on again on MEDIA_CONNECT,
     * applying queued events 2 s apart so that link watchers see both
     * (a network manager renews DHCP); a MEDIA_CONNECT while its carrier
     * is on only announces the guest (netdev_notify_peers).  A cable
     * pulled and put back, maybe into another network, must not look
     * like nothing happened.  More flaps collapse: the guest sees at most
     * that one bounce, or just the current state when it differs from
     * what the guest was told. */
    if (up == v->link_told)
        v->link_bounced = true;
    /* after every message queued before the change: an answer to
     * MEDIA_CONNECT_STATUS given before it must not overtake it */
    v->link_after = v->ctrlq_len;
    ctrl_flush(v);
    flush_signal(v);
}

unsigned vspn_vsp_poll(struct vspn_vsp *v)
{
    if (!v || v->state == VSPN_VSP_CLOSED)
        return 0;
    compq_flush(v);
    ctrl_flush(v);
    flush_signal(v);
    return v->compq_len + v->ctrlq_len + link_owed(v);
}

bool vspn_vsp_busy(const struct vspn_vsp *v)
{
    return v && v->compq_len > 0;
}

unsigned vspn_vsp_queued(const struct vspn_vsp *v)
{
    return v ? v->compq_len + v->ctrlq_len + link_owed(v) : 0;
}

enum vspn_vsp_state vspn_vsp_state(const struct vspn_vsp *v)
{
    return v->state;
}

uint32_t vspn_vsp_nvsp_version(const struct vspn_vsp *v)
{
    return v->version;
}

uint32_t vspn_vsp_ndis_version(const struct vspn_vsp *v)
{
    return v->ndis_version;
}

uint32_t vspn_vsp_mtu(const struct vspn_vsp *v)
{
    return eff_mtu(v);
}

struct vsa_mac vspn_vsp_mac(const struct vspn_vsp *v)
{
    return v->dev.cur_mac;
}

uint32_t vspn_vsp_filter(const struct vspn_vsp *v)
{
    return v->dev.filter;
}

bool vspn_vsp_link(const struct vspn_vsp *v)
{
    return v->link_up;
}

enum vspn_rndis_state vspn_vsp_rndis_state(const struct vspn_vsp *v)
{
    return v->dev.state;
}

uint32_t vspn_vsp_recv_slots(const struct vspn_vsp *v)
{
    return v->nslots;
}

uint32_t vspn_vsp_recv_slots_free(const struct vspn_vsp *v)
{
    return v->nfree;
}

uint32_t vspn_vsp_recv_slot_size(const struct vspn_vsp *v)
{
    return v->recv_slot_size;
}

uint32_t vspn_vsp_send_sections(const struct vspn_vsp *v)
{
    return v->nsections;
}

bool vspn_vsp_has_recv_buf(const struct vspn_vsp *v)
{
    return v->rbuf != NULL;
}

bool vspn_vsp_has_send_buf(const struct vspn_vsp *v)
{
    return v->sbuf != NULL;
}

const struct vspn_vsp_stats *vspn_vsp_stats(const struct vspn_vsp *v)
{
    return &v->stats;
}
