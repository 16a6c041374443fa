/* SPDX-License-Identifier: BSD-3-Clause */
#include "vsp-net/vsc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/vsa_log.h"
#include "common/vsa_shm.h"
#include "vsp-net/vspn_wire.h"

VSA_LOG_MODULE(vspn_vsc);

#define STAT_ADD(c, name, n)                                                  \
    __atomic_store_n(&(c)->stats.name,                                        \
                     __atomic_load_n(&(c)->stats.name, __ATOMIC_RELAXED) +    \
                         (uint64_t)(n),                                       \
                     __ATOMIC_RELAXED)
#define STAT_INC(c, name) STAT_ADD(c, name, 1)

/* trans_id = kind << 60 | index: completions are matched exactly. */
#define TID_SHIFT 60
#define TID_NVSP (1ull << TID_SHIFT)
#define TID_SEC (2ull << TID_SHIFT)
#define TID_BOUNCE (3ull << TID_SHIFT)
#define TID_IDX(t) ((t) & ((1ull << TID_SHIFT) - 1))

enum step {
    ST_Q_MAX_FRAME,
    ST_Q_PERM,
    ST_Q_FRIENDLY,
    ST_Q_OFFLOAD,
    ST_S_OFFLOAD,
    ST_Q_MEDIA,
    ST_Q_SPEED,
    ST_S_FILTER,
};

static const uint8_t linux_steps[] = {
    ST_Q_MAX_FRAME, ST_Q_PERM,  ST_Q_FRIENDLY, ST_Q_OFFLOAD,
    ST_S_OFFLOAD,   ST_Q_MEDIA, ST_Q_SPEED,    ST_S_FILTER,
};
static const uint8_t minimal_steps[] = { ST_Q_PERM, ST_Q_MEDIA, ST_S_FILTER };

static const uint32_t linux_versions[] = {
    VSPN_NVSP_VERSION_61, VSPN_NVSP_VERSION_6, VSPN_NVSP_VERSION_5,
    VSPN_NVSP_VERSION_4,  VSPN_NVSP_VERSION_2, VSPN_NVSP_VERSION_1,
};
static const uint32_t minimal_versions[] = { VSPN_NVSP_VERSION_1 };

#define VSC_MAX_VERSIONS 8u
/* Prefetch: received messages asked for ahead of the one being copied,
 * and the most bytes asked for per message; bytes of one send section's
 * batch. */
#define RX_PREFETCH_AHEAD 8u
#define RX_PREFETCH_MAX 256u
#define TX_PREFETCH_MAX 2048u
#define VSC_FILTER_UP                                                         \
    (VSPN_RNDIS_FILTER_DIRECTED | VSPN_RNDIS_FILTER_ALL_MULTICAST |           \
     VSPN_RNDIS_FILTER_BROADCAST)

enum rq_kind { RQ_HANDSHAKE, RQ_USER, RQ_FILTER };
enum { BOUNCE_FREE, BOUNCE_FRAME, BOUNCE_CTRL };

struct vspn_vsc {
    struct vspn_vsc_ops ops;
    void *ctx;
    struct vspn_vsc_cfg cfg;
    uint32_t versions[VSC_MAX_VERSIONS];
    unsigned nversions;
    unsigned vidx;
    enum vspn_vsc_state state;
    uint32_t version;
    uint32_t nvsp_size; /* bytes per NVSP message: 40, or 32 (iPXE) */
    uint64_t seq;
    uint64_t ctl_tid;
    bool ctl_wait;

    uint16_t recv_id;
    uint32_t rslot;
    uint32_t nrslots;

    uint32_t sec_size;
    uint32_t nsec;
    uint32_t nsec_free;
    uint32_t sec_free[VSPN_VSC_MAX_SECTIONS];
    /* frames in each section sent and not yet completed (0: free) */
    uint8_t sec_busy[VSPN_VSC_MAX_SECTIONS];
    /* The section vspn_vsc_send_more() is filling (bat_n > 0): bat_off
     * bytes used, its last RNDIS_PACKET at bat_last. */
    uint32_t bat_sec;
    uint32_t bat_off;
    uint32_t bat_last;
    uint32_t bat_n;

    uint32_t bslot;
    uint32_t nbounce;
    uint32_t nb_free;
    uint32_t b_free[VSPN_VSC_MAX_BOUNCE];
    uint8_t b_kind[VSPN_VSC_MAX_BOUNCE];
    uint32_t inflight;

    /* RNDIS control: one request at a time */
    uint32_t req_id;
    bool rq_wait;
    uint32_t rq_id;
    uint32_t rq_type;
    uint32_t rq_oid;
    enum rq_kind rq_kind;
    const uint8_t *steps;
    unsigned nsteps;
    unsigned step;
    uint32_t max_pkts;
    uint32_t align_factor;

    struct vsa_mac mac;
    uint32_t mtu;
    uint32_t link_speed;
    bool link_up;
    uint32_t filter;
    uint32_t pending_filter;

    int user_rc;
    uint32_t user_status;
    uint32_t user_len;
    uint8_t user_buf[VSPN_VSC_OID_RESULT_MAX];

    struct {
        uint64_t tid;
        uint32_t status;            /* the NVSP status to send */
    } compq[VSPN_VSC_COMPQ_MAX];    /* acks that found the ring full */
    uint32_t cq_head;
    uint32_t cq_len;

    bool need_signal;
    struct vspn_vsc_stats stats;
    uint8_t rxcopy[VSPN_VSC_RX_COPY_MAX];
};

static struct vsa_ratelimit vsc_rl = VSA_RATELIMIT_INIT(5, 10);

/* ---- counters ---------------------------------------------------------------- */

static const char *const stat_names[] = {
#define N_(n, h) #n,
    VSPN_VSC_STATS_FOREACH(N_)
#undef N_
};

static const char *const stat_helps[] = {
#define H_(n, h) h,
    VSPN_VSC_STATS_FOREACH(H_)
#undef H_
};

const char *vspn_vsc_stats_name(unsigned id)
{
    return id < VSPN_VSC_STATS_N ? stat_names[id] : NULL;
}

const char *vspn_vsc_stats_help(unsigned id)
{
    return id < VSPN_VSC_STATS_N ? stat_helps[id] : NULL;
}

uint64_t vspn_vsc_stats_get(const struct vspn_vsc_stats *s, unsigned id)
{
    const uint64_t *f = (const uint64_t *)(const void *)s;

    if (!s || id >= VSPN_VSC_STATS_N)
        return 0;
    return __atomic_load_n(&f[id], __ATOMIC_RELAXED);
}

const char *vspn_vsc_state_name(enum vspn_vsc_state s)
{
    static const char *const names[] = {
        "IDLE", "INIT", "NDIS_VER", "RECV_BUF", "SEND_BUF",
        "RNDIS", "READY", "HALTED", "FAILED",
    };
    return (unsigned)s <= VSPN_VSC_FAILED ? names[s] : "?";
}

/* ---- helpers --------------------------------------------------------------------- */

static int batch_send(struct vspn_vsc *c);

static void note(struct vspn_vsc *c, int rc)
{
    if (rc > 0)
        c->need_signal = true;
}

static void flush_signal(struct vspn_vsc *c)
{
    if (c->need_signal) {
        c->need_signal = false;
        c->ops.signal(c->ctx);
    }
}

static void set_state(struct vspn_vsc *c, enum vspn_vsc_state st)
{
    if (c->state == st)
        return;
    c->state = st;
    if (st == VSPN_VSC_FAILED) {
        STAT_INC(c, handshake_failed);
        VSA_LOG_RL(&vsc_rl, WARN, "synthetic NIC handshake failed");
    }
    if (c->ops.state_change)
        c->ops.state_change(c->ctx, st);
}

static int fail(struct vspn_vsc *c)
{
    set_state(c, VSPN_VSC_FAILED);
    return -EPROTO;
}

/* NVSP message in-band; `reply` = a completion carrying the answer is
 * expected (ctl_tid set). */
static int nvsp_send(struct vspn_vsc *c, const struct vspn_nvsp_msg *m,
                     bool rc_flag, bool reply)
{
    uint8_t buf[VSPN_NVSP_ENCODE_MAX];
    uint64_t tid = TID_NVSP | (++c->seq & 0xFFFFFFFFu);
    int n = vspn_nvsp_encode(m, buf, sizeof(buf)), rc;

    if (n < 0)
        return n;
    if ((uint32_t)n > c->nvsp_size)
        n = (int)c->nvsp_size; /* every guest field fits in 32 bytes */
    rc = c->ops.send_inband(c->ctx,
                            rc_flag ? HV_PKT_FLAG_COMPLETION_REQUESTED : 0,
                            tid, buf, (size_t)n);
    if (rc < 0)
        return rc;
    note(c, rc);
    if (reply) {
        c->ctl_tid = tid;
        c->ctl_wait = true;
    }
    return 0;
}

static uint32_t bounce_alloc(struct vspn_vsc *c, uint8_t kind)
{
    uint32_t s;

    if (c->nb_free == 0)
        return UINT32_MAX;
    s = c->b_free[--c->nb_free];
    c->b_kind[s] = kind;
    return s;
}

static void bounce_release(struct vspn_vsc *c, uint32_t s)
{
    c->b_kind[s] = BOUNCE_FREE;
    c->b_free[c->nb_free++] = s;
}

/* Sends the `len` bytes already written into bounce slot `s` as a
 * GPA-direct SEND_RNDIS_PKT, one range per page. */
static int send_bounce(struct vspn_vsc *c, uint32_t s, uint32_t len,
                       uint32_t channel_type)
{
    struct hv_ring_gpa_page pages[32];
    struct vspn_nvsp_msg m = { .type = VSPN_NVSP_SEND_RNDIS_PKT };
    uint8_t buf[VSPN_NVSP_ENCODE_MAX];
    uint64_t gpa = c->cfg.tx_pages.gpa + (uint64_t)s * c->bslot;
    uint32_t n = 0, left = len;
    int sz, rc;

    while (left) {
        uint32_t chunk = left < HV_PAGE_SIZE ? left : HV_PAGE_SIZE;

        pages[n].byte_count = chunk;
        pages[n].byte_offset = 0; /* slots are page aligned */
        pages[n].pfn = (gpa >> HV_PAGE_SHIFT) + n;
        n++;
        left -= chunk;
    }
    m.u.rndis_pkt.channel_type = channel_type;
    m.u.rndis_pkt.section_index = VSPN_NVSP_NO_SECTION;
    sz = vspn_nvsp_encode(&m, buf, sizeof(buf));
    if ((uint32_t)sz > c->nvsp_size)
        sz = (int)c->nvsp_size;
    rc = c->ops.send_gpa(c->ctx, HV_PKT_FLAG_COMPLETION_REQUESTED,
                         TID_BOUNCE | s, pages, n, buf, (size_t)sz);
    if (rc >= 0)
        note(c, rc);
    return rc;
}

static uint8_t *bounce_mem(struct vspn_vsc *c, uint32_t s)
{
    return (uint8_t *)c->cfg.tx_pages.mem + (size_t)s * c->bslot;
}

/* One RNDIS control message through a bounce slot. */
static int rndis_ctrl_send(struct vspn_vsc *c, const uint8_t *msg,
                           uint32_t len)
{
    uint32_t s = bounce_alloc(c, BOUNCE_CTRL);
    int rc;

    if (s == UINT32_MAX)
        return -EAGAIN;
    memcpy(bounce_mem(c, s), msg, len);
    rc = send_bounce(c, s, len, VSPN_NVSP_CHANNEL_CONTROL);
    if (rc < 0)
        bounce_release(c, s);
    return rc;
}

static int rndis_request(struct vspn_vsc *c, uint32_t type, uint32_t oid,
                         const void *in, uint32_t in_len, enum rq_kind kind)
{
    uint8_t msg[VSPN_RNDIS_QUERY_SIZE + 512];
    uint32_t id = ++c->req_id;
    int n, rc;

    if (id == 0)
        id = c->req_id = 1; /* request ids are never 0 */
    if (type == VSPN_RNDIS_MSG_INIT)
        n = vspn_rndis_encode_init(msg, sizeof(msg), id,
                                   VSPN_RNDIS_MAX_XFER_GUEST);
    else
        n = vspn_rndis_encode_oid(msg, sizeof(msg), type, id, oid, in, in_len);
    if (n < 0)
        return n;
    rc = rndis_ctrl_send(c, msg, (uint32_t)n);
    if (rc < 0)
        return rc;
    c->rq_wait = true;
    c->rq_id = id;
    c->rq_type = type;
    c->rq_oid = oid;
    c->rq_kind = kind;
    return 0;
}

/* ---- handshake ----------------------------------------------------------------------- */

static int send_init(struct vspn_vsc *c)
{
    struct vspn_nvsp_msg m = { .type = VSPN_NVSP_INIT };

    m.u.init.min_ver = m.u.init.max_ver = c->versions[c->vidx];
    set_state(c, VSPN_VSC_INIT);
    return nvsp_send(c, &m, true, true);
}

static int send_recv_buf(struct vspn_vsc *c)
{
    struct vspn_nvsp_msg m = { .type = VSPN_NVSP_SEND_RECV_BUF };

    m.u.buf.gpadl = c->cfg.recv_buf.gpadl;
    m.u.buf.id = c->recv_id;
    set_state(c, VSPN_VSC_RECV_BUF);
    return nvsp_send(c, &m, true, true);
}

static int start_rndis(struct vspn_vsc *c)
{
    set_state(c, VSPN_VSC_RNDIS);
    c->step = 0;
    return rndis_request(c, VSPN_RNDIS_MSG_INIT, 0, NULL, 0, RQ_HANDSHAKE);
}

static int after_init(struct vspn_vsc *c)
{
    struct vspn_nvsp_msg m = { 0 };
    int rc;

    if (c->cfg.mode == VSPN_VSC_MINIMAL) {
        m.type = VSPN_NVSP_SEND_NDIS_VERSION;
        m.u.ndis_ver.major = 6;
        m.u.ndis_ver.minor = 1;
        set_state(c, VSPN_VSC_NDIS_VER);
        return nvsp_send(c, &m, true, true); /* iPXE awaits it */
    }
    if (c->version >= VSPN_NVSP_VERSION_2) {
        m.type = VSPN_NVSP_SEND_NDIS_CONFIG;
        m.u.ndis_config.mtu = c->cfg.mtu + VSPN_ETH_HLEN;
        m.u.ndis_config.caps = VSPN_NVSP_CAP_IEEE8021Q;
        if (c->version >= VSPN_NVSP_VERSION_5)
            m.u.ndis_config.caps |= VSPN_NVSP_CAP_SRIOV | VSPN_NVSP_CAP_TEAMING;
        rc = nvsp_send(c, &m, false, false);
        if (rc < 0)
            return rc;
    }
    memset(&m, 0, sizeof(m));
    m.type = VSPN_NVSP_SEND_NDIS_VERSION;
    m.u.ndis_ver.major = 6;
    m.u.ndis_ver.minor = c->version >= VSPN_NVSP_VERSION_5 ? 30 : 1;
    rc = nvsp_send(c, &m, false, false);
    if (rc < 0)
        return rc;
    return send_recv_buf(c);
}

static int next_step(struct vspn_vsc *c)
{
    uint8_t in[VSPN_NDIS_OFFLOAD_SIZE_REV3];

    while (c->step < c->nsteps) {
        switch (c->steps[c->step]) {
        case ST_Q_MAX_FRAME:
            return rndis_request(c, VSPN_RNDIS_MSG_QUERY,
                                 VSPN_OID_GEN_MAXIMUM_FRAME_SIZE, NULL, 0,
                                 RQ_HANDSHAKE);
        case ST_Q_PERM:
            return rndis_request(c, VSPN_RNDIS_MSG_QUERY,
                                 VSPN_OID_802_3_PERMANENT_ADDRESS, NULL, 0,
                                 RQ_HANDSHAKE);
        case ST_Q_FRIENDLY:
            return rndis_request(c, VSPN_RNDIS_MSG_QUERY,
                                 VSPN_OID_GEN_FRIENDLY_NAME, NULL, 0,
                                 RQ_HANDSHAKE);
        case ST_Q_OFFLOAD: {
            uint32_t rev = c->version >= VSPN_NVSP_VERSION_5   ? 3
                           : c->version >= VSPN_NVSP_VERSION_4 ? 2 : 1;
            uint32_t size = rev == 3   ? VSPN_NDIS_OFFLOAD_SIZE_REV3
                            : rev == 2 ? VSPN_NDIS_OFFLOAD_SIZE_REV2
                                       : VSPN_NDIS_OFFLOAD_SIZE_REV1;

            memset(in, 0, sizeof(in));
            in[0] = VSPN_NDIS_OBJTYPE_OFFLOAD;
            in[1] = (uint8_t)rev;
            vspn__put16(in + 2, (uint16_t)size);
            return rndis_request(c, VSPN_RNDIS_MSG_QUERY,
                                 VSPN_OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES,
                                 in, size, RQ_HANDSHAKE);
        }
        case ST_S_OFFLOAD: {
            /* Linux: size 22 (rev 3) up to v4, 28 from v5; only the IPv4
             * header checksum is set, to "disabled". */
            uint32_t size = c->version >= VSPN_NVSP_VERSION_5
                                ? VSPN_NDIS_OFFLOAD_PARAMS_SIZE_REV3
                                : VSPN_NDIS_OFFLOAD_PARAMS_SIZE_REV2;

            memset(in, 0, sizeof(in));
            in[0] = VSPN_NDIS_OBJTYPE_DEFAULT;
            in[1] = 3;
            vspn__put16(in + 2, (uint16_t)size);
            in[4] = 1;
            return rndis_request(c, VSPN_RNDIS_MSG_SET,
                                 VSPN_OID_TCP_OFFLOAD_PARAMETERS, in, size,
                                 RQ_HANDSHAKE);
        }
        case ST_Q_MEDIA:
            return rndis_request(c, VSPN_RNDIS_MSG_QUERY,
                                 VSPN_OID_GEN_MEDIA_CONNECT_STATUS, NULL, 0,
                                 RQ_HANDSHAKE);
        case ST_Q_SPEED:
            if (c->version < VSPN_NVSP_VERSION_5) {
                c->step++;
                continue;
            }
            return rndis_request(c, VSPN_RNDIS_MSG_QUERY,
                                 VSPN_OID_GEN_LINK_SPEED, NULL, 0,
                                 RQ_HANDSHAKE);
        default: /* ST_S_FILTER */
            vspn__put32(in, VSC_FILTER_UP);
            c->pending_filter = VSC_FILTER_UP;
            return rndis_request(c, VSPN_RNDIS_MSG_SET,
                                 VSPN_OID_GEN_CURRENT_PACKET_FILTER, in, 4,
                                 RQ_HANDSHAKE);
        }
    }
    set_state(c, VSPN_VSC_READY);
    return 0;
}

static uint32_t cmplt_status(const struct vspn_rndis_msg *m)
{
    switch (m->type) {
    case VSPN_RNDIS_MSG_INIT_CMPLT: return m->u.init_cmplt.status;
    case VSPN_RNDIS_MSG_QUERY_CMPLT: return m->u.query_cmplt.status;
    default: return m->u.cmplt.status;
    }
}

static int handshake_reply(struct vspn_vsc *c, const struct vspn_rndis_msg *m)
{
    uint32_t st = cmplt_status(m);
    const uint8_t *info = NULL;
    uint32_t ilen = 0;

    if (m->type == VSPN_RNDIS_MSG_QUERY_CMPLT) {
        info = m->u.query_cmplt.info;
        ilen = m->u.query_cmplt.info_len;
    }
    if (m->type == VSPN_RNDIS_MSG_INIT_CMPLT) {
        if (st != VSPN_RNDIS_STATUS_SUCCESS ||
            m->u.init_cmplt.major != VSPN_RNDIS_MAJOR ||
            m->u.init_cmplt.max_pkts == 0 || m->u.init_cmplt.align_factor > 12)
            return fail(c);
        c->max_pkts = m->u.init_cmplt.max_pkts;
        c->align_factor = m->u.init_cmplt.align_factor;
        c->step = 0;
        return next_step(c) < 0 ? fail(c) : 0;
    }
    switch (c->steps[c->step]) {
    case ST_Q_MAX_FRAME:
        if (st != VSPN_RNDIS_STATUS_SUCCESS || ilen != 4)
            return fail(c);
        c->mtu = vspn__le32(info);
        if (c->mtu < VSPN_VSP_MTU_MIN || c->mtu > 65535u)
            return fail(c);
        if (c->mtu > c->cfg.mtu)
            c->mtu = c->cfg.mtu;
        break;
    case ST_Q_PERM:
        if (st != VSPN_RNDIS_STATUS_SUCCESS || ilen != 6)
            return fail(c);
        memcpy(c->mac.b, info, 6);
        break;
    case ST_Q_FRIENDLY:
    case ST_S_OFFLOAD:
        break; /* optional */
    case ST_Q_OFFLOAD:
        /* Accepted only as {0xA7, rev ≥ 1, size ≥ 112}; the VSC uses no
         * offload either way. */
        if (st == VSPN_RNDIS_STATUS_SUCCESS &&
            (ilen < VSPN_NDIS_OFFLOAD_SIZE_REV1 ||
             info[0] != VSPN_NDIS_OBJTYPE_OFFLOAD || info[1] < 1 ||
             vspn__le16(info + 2) < VSPN_NDIS_OFFLOAD_SIZE_REV1))
            return fail(c);
        break;
    case ST_Q_MEDIA:
        if (st != VSPN_RNDIS_STATUS_SUCCESS || ilen != 4)
            return fail(c);
        c->link_up = vspn__le32(info) == 0;
        break;
    case ST_Q_SPEED:
        if (st == VSPN_RNDIS_STATUS_SUCCESS && ilen == 4)
            c->link_speed = vspn__le32(info);
        break;
    default: /* ST_S_FILTER */
        if (st != VSPN_RNDIS_STATUS_SUCCESS)
            return fail(c);
        c->filter = c->pending_filter;
        break;
    }
    c->step++;
    return next_step(c) < 0 ? fail(c) : 0;
}

/* Reply to an NVSP control request (COMP with ctl_tid). */
static int on_ctl_reply(struct vspn_vsc *c, const struct vspn_pkt *pkt)
{
    struct vspn_nvsp_msg m;
    uint32_t min = 0, want = 0;

    switch (c->state) {
    case VSPN_VSC_INIT:
        min = c->cfg.mode == VSPN_VSC_MINIMAL ? 32u : 28u;
        want = VSPN_NVSP_INIT_COMPLETE;
        break;
    case VSPN_VSC_NDIS_VER:
        /* iPXE looks only at the trans_id */
        return send_recv_buf(c) < 0 ? fail(c) : 0;
    case VSPN_VSC_RECV_BUF:
        min = 28;
        want = VSPN_NVSP_SEND_RECV_BUF_COMPLETE;
        break;
    case VSPN_VSC_SEND_BUF:
        min = 12;
        want = VSPN_NVSP_SEND_SEND_BUF_COMPLETE;
        break;
    default:
        return 0; /* HALTED: the REVOKE completion of iPXE's close */
    }
    if (pkt->data_size < min || !pkt->data ||
        vspn_nvsp_decode(pkt->data, pkt->data_size, &m) != 0 ||
        m.type != want)
        return fail(c);

    switch (c->state) {
    case VSPN_VSC_INIT:
        if (m.u.init_complete.status != VSPN_NVSP_STATUS_SUCCESS) {
            if (++c->vidx >= c->nversions)
                return fail(c);
            return send_init(c) < 0 ? fail(c) : 0;
        }
        c->version = c->versions[c->vidx];
        return after_init(c) < 0 ? fail(c) : 0;
    case VSPN_VSC_RECV_BUF: {
        const struct vspn_nvsp_section *s =
            &m.u.recv_buf_complete.sections[0];

        if (m.u.recv_buf_complete.status != VSPN_NVSP_STATUS_SUCCESS ||
            m.u.recv_buf_complete.num_sections != 1 || s->offset != 0 ||
            s->sub_alloc_size < 68 || s->num_sub_allocs == 0 ||
            (uint64_t)s->sub_alloc_size * s->num_sub_allocs >
                c->cfg.recv_buf.size)
            return fail(c);
        c->rslot = s->sub_alloc_size;
        c->nrslots = s->num_sub_allocs;
        if (c->cfg.mode == VSPN_VSC_LINUX && c->cfg.send_buf.size) {
            struct vspn_nvsp_msg sb = { .type = VSPN_NVSP_SEND_SEND_BUF };

            sb.u.buf.gpadl = c->cfg.send_buf.gpadl;
            sb.u.buf.id = 0;
            set_state(c, VSPN_VSC_SEND_BUF);
            return nvsp_send(c, &sb, true, true) < 0 ? fail(c) : 0;
        }
        return start_rndis(c) < 0 ? fail(c) : 0;
    }
    default: { /* SEND_BUF */
        uint32_t sz = m.u.send_buf_complete.section_size;
        uint32_t n;

        if (m.u.send_buf_complete.status != VSPN_NVSP_STATUS_SUCCESS ||
            sz < 68 || (sz & 3u) || sz > c->cfg.send_buf.size)
            return fail(c);
        n = c->cfg.send_buf.size / sz;
        if (n > VSPN_VSC_MAX_SECTIONS)
            n = VSPN_VSC_MAX_SECTIONS;
        c->sec_size = sz;
        c->nsec = n;
        c->nsec_free = n;
        c->bat_n = 0;
        for (uint32_t i = 0; i < n; i++) {
            c->sec_free[i] = n - 1 - i;
            c->sec_busy[i] = 0;
        }
        return start_rndis(c) < 0 ? fail(c) : 0;
    }
    }
}

/* ---- host packets --------------------------------------------------------------------- */

static void send_done(struct vspn_vsc *c, const struct vspn_pkt *pkt)
{
    struct vspn_nvsp_msg m;

    if (pkt->data_size >= 8 && pkt->data &&
        vspn_nvsp_decode(pkt->data, pkt->data_size, &m) == 0 &&
        m.type == VSPN_NVSP_SEND_RNDIS_PKT_COMPLETE &&
        m.u.rndis_pkt_complete.status == VSPN_NVSP_STATUS_SUCCESS)
        return;
    STAT_INC(c, tx_failed);
}

static int on_comp(struct vspn_vsc *c, const struct vspn_pkt *pkt)
{
    uint64_t t = pkt->trans_id, idx = TID_IDX(t);

    switch (t >> TID_SHIFT) {
    case TID_NVSP >> TID_SHIFT:
        if (!c->ctl_wait || t != c->ctl_tid)
            break;
        c->ctl_wait = false;
        return on_ctl_reply(c, pkt);
    case TID_SEC >> TID_SHIFT:
        /* (the section being filled is not busy yet: a completion for it
         * is one the host made up, and ignored like any other) */
        if (idx >= c->nsec || !c->sec_busy[idx])
            break;
        c->inflight -= c->sec_busy[idx];
        c->sec_busy[idx] = 0;
        c->sec_free[c->nsec_free++] = (uint32_t)idx;
        send_done(c, pkt);
        return 0;
    case TID_BOUNCE >> TID_SHIFT:
        if (idx >= c->nbounce || c->b_kind[idx] == BOUNCE_FREE)
            break;
        if (c->b_kind[idx] == BOUNCE_FRAME)
            c->inflight--;
        send_done(c, pkt);
        bounce_release(c, (uint32_t)idx);
        return 0;
    default:
        break;
    }
    STAT_INC(c, bad_completion);
    return -EPROTO;
}

static void on_rndis_cmplt(struct vspn_vsc *c, const struct vspn_rndis_msg *m)
{
    uint32_t rid = m->type == VSPN_RNDIS_MSG_RESET_CMPLT
                       ? 0 : m->u.cmplt.request_id; /* same offset */

    if (m->type == VSPN_RNDIS_MSG_INIT_CMPLT)
        rid = m->u.init_cmplt.request_id;
    else if (m->type == VSPN_RNDIS_MSG_QUERY_CMPLT)
        rid = m->u.query_cmplt.request_id;
    if (!c->rq_wait || rid != c->rq_id ||
        m->type != (c->rq_type | VSPN_RNDIS_MSG_COMPLETION)) {
        STAT_INC(c, rx_unexpected);
        return;
    }
    c->rq_wait = false;
    switch (c->rq_kind) {
    case RQ_HANDSHAKE:
        if (c->state == VSPN_VSC_RNDIS)
            (void)handshake_reply(c, m);
        return;
    default:
        /* RQ_FILTER, RQ_USER: the result is visible to the caller */
        if (c->rq_kind == RQ_FILTER &&
            cmplt_status(m) == VSPN_RNDIS_STATUS_SUCCESS)
            c->filter = c->pending_filter;
        c->user_status = cmplt_status(m);
        c->user_len = 0;
        if (m->type == VSPN_RNDIS_MSG_QUERY_CMPLT) {
            uint32_t n = m->u.query_cmplt.info_len;

            if (n > VSPN_VSC_OID_RESULT_MAX)
                n = VSPN_VSC_OID_RESULT_MAX;
            if (n)
                memcpy(c->user_buf, m->u.query_cmplt.info, n);
            c->user_len = n;
        }
        c->user_rc = 0;
        return;
    }
}

static void on_indicate(struct vspn_vsc *c, const struct vspn_rndis_msg *m)
{
    STAT_INC(c, rx_indications);
    switch (m->u.indicate.status) {
    case VSPN_RNDIS_STATUS_MEDIA_CONNECT:
    case VSPN_RNDIS_STATUS_MEDIA_DISCONNECT: {
        bool up = m->u.indicate.status == VSPN_RNDIS_STATUS_MEDIA_CONNECT;

        if (up != c->link_up) {
            c->link_up = up;
            if (c->ops.link_change)
                c->ops.link_change(c->ctx, up);
        }
        return;
    }
    case VSPN_RNDIS_STATUS_INVALID_DATA:
        STAT_INC(c, host_invalid);
        return;
    default:
        return; /* NETWORK_CHANGE, offload config, ...: nothing to do */
    }
}

static void on_rx_msg(struct vspn_vsc *c, uint32_t len)
{
    struct vspn_rndis_msg m;

    if (vspn_rndis_decode(c->rxcopy, len, &m) != 0) {
        STAT_INC(c, rx_bad_rndis);
        return;
    }
    switch (m.type) {
    case VSPN_RNDIS_MSG_PACKET: {
        struct vspn_rndis_ppi pi;

        if (vspn_rndis_ppi_parse(m.u.packet.ppi, m.u.packet.ppi_len,
                                 &pi) != 0) {
            STAT_INC(c, rx_bad_ppi);
            return;
        }
        if (m.u.packet.data_len < VSPN_ETH_HLEN) {
            STAT_INC(c, rx_bad_rndis);
            return;
        }
        STAT_INC(c, rx_frames);
        STAT_ADD(c, rx_bytes, m.u.packet.data_len);
        c->ops.rx_frame(c->ctx, m.u.packet.data, m.u.packet.data_len,
                        pi.vlan_tci, pi.has_vlan);
        return;
    }
    case VSPN_RNDIS_MSG_INIT_CMPLT:
    case VSPN_RNDIS_MSG_QUERY_CMPLT:
    case VSPN_RNDIS_MSG_SET_CMPLT:
    case VSPN_RNDIS_MSG_RESET_CMPLT:
    case VSPN_RNDIS_MSG_KEEPALIVE_CMPLT:
        on_rndis_cmplt(c, &m);
        return;
    case VSPN_RNDIS_MSG_INDICATE_STATUS:
        on_indicate(c, &m);
        return;
    default:
        STAT_INC(c, rx_unexpected);
        return;
    }
}

static void cq_flush(struct vspn_vsc *c);

/* Sends the completion of receive ranges `tid` with `status` (empty in
 * minimal mode).  The send's result. */
static int send_ack(struct vspn_vsc *c, uint64_t tid, uint32_t status)
{
    struct vspn_nvsp_msg m = { .type = VSPN_NVSP_SEND_RNDIS_PKT_COMPLETE };
    uint8_t buf[VSPN_NVSP_ENCODE_MAX];
    size_t n = 0;

    if (c->cfg.mode == VSPN_VSC_LINUX) {
        m.u.rndis_pkt_complete.status = status;
        (void)vspn_nvsp_encode(&m, buf, sizeof(buf));
        n = 8; /* Linux sends type + status only */
    }
    return c->ops.send_completion(c->ctx, tid, n ? buf : NULL, n);
}

static void ack_xfer(struct vspn_vsc *c, uint64_t tid, uint32_t status)
{
    uint32_t tail;
    int rc;

    cq_flush(c);
    if (c->cq_len == 0) {
        rc = send_ack(c, tid, status);
        if (rc >= 0) {
            note(c, rc);
            return;
        }
    }
    /* Queued with its status: a failure resent as SUCCESS would hide a
     * bad range from the host. */
    if (c->cq_len == VSPN_VSC_COMPQ_MAX) {
        STAT_INC(c, comp_dropped);
        return;
    }
    tail = (c->cq_head + c->cq_len) % VSPN_VSC_COMPQ_MAX;
    c->compq[tail].tid = tid;
    c->compq[tail].status = status;
    c->cq_len++;
    STAT_INC(c, comp_deferred);
}

static void cq_flush(struct vspn_vsc *c)
{
    while (c->cq_len) {
        int rc = send_ack(c, c->compq[c->cq_head].tid,
                          c->compq[c->cq_head].status);
        if (rc < 0)
            return;
        note(c, rc);
        c->cq_head = (c->cq_head + 1) % VSPN_VSC_COMPQ_MAX;
        c->cq_len--;
    }
}

/* Asks for the lines of one received message (capped), if in range. */
static void rx_prefetch(const struct vspn_vsc *c,
                        const struct hv_ring_xfer_range *r)
{
    uint32_t cnt = r->byte_count, off = r->byte_offset;

    if ((uint64_t)off + cnt <= c->cfg.recv_buf.size)
        vsa_shm_prefetch((const uint8_t *)c->cfg.recv_buf.mem + off,
                         cnt < RX_PREFETCH_MAX ? cnt : RX_PREFETCH_MAX);
}

static int on_xfer(struct vspn_vsc *c, const struct vspn_pkt *pkt)
{
    uint32_t status = VSPN_NVSP_STATUS_SUCCESS;
    struct vspn_nvsp_msg m;

    STAT_INC(c, rx_batches);
    /* The host asks for every one (spec nvsp-rndis.md §1); like Linux, the
     * receive slots are returned either way. */
    if (!(pkt->flags & HV_PKT_FLAG_COMPLETION_REQUESTED))
        STAT_INC(c, rx_no_comp_flag);
    if (!pkt->data || vspn_nvsp_decode(pkt->data, pkt->data_size, &m) != 0 ||
        m.type != VSPN_NVSP_SEND_RNDIS_PKT ||
        pkt->xfer_pageset != c->recv_id || c->nrslots == 0) {
        STAT_INC(c, rx_bad_xfer);
        status = VSPN_NVSP_STATUS_FAILURE;
    } else {
        /* The host's CPU wrote these slots just now: the copies below ask
         * for the slot RX_PREFETCH_AHEAD ranges on, so that the transfers
         * overlap instead of each copy waiting for its own. */
        for (uint32_t i = 0; i < pkt->xfer_cnt && i < RX_PREFETCH_AHEAD; i++)
            rx_prefetch(c, &pkt->xfer[i]);
        for (uint32_t i = 0; i < pkt->xfer_cnt; i++) {
            uint32_t cnt = pkt->xfer[i].byte_count;
            uint32_t off = pkt->xfer[i].byte_offset;

            /* Range boundaries are authoritative (§5.1); copy, then parse. */
            if ((uint64_t)off + cnt > c->cfg.recv_buf.size ||
                cnt < VSPN_RNDIS_HDR_SIZE || cnt > sizeof(c->rxcopy)) {
                STAT_INC(c, rx_bad_range);
                status = VSPN_NVSP_STATUS_FAILURE;
                continue;
            }
            if (i + RX_PREFETCH_AHEAD < pkt->xfer_cnt)
                rx_prefetch(c, &pkt->xfer[i + RX_PREFETCH_AHEAD]);
            vsa_shm_read(c->rxcopy,
                         (const uint8_t *)c->cfg.recv_buf.mem + off, cnt);
            on_rx_msg(c, cnt);
        }
    }
    ack_xfer(c, pkt->trans_id, status);
    return 0;
}

/* ---- public API ----------------------------------------------------------------------- */

static bool buf_ok(const struct vspn_vsc_buf *b, uint32_t min)
{
    return b->mem && b->size >= min && (b->size % HV_PAGE_SIZE) == 0 &&
           (b->gpa % HV_PAGE_SIZE) == 0;
}

int vspn_vsc_create(const struct vspn_vsc_cfg *cfg,
                    const struct vspn_vsc_ops *ops, void *ctx,
                    struct vspn_vsc **out)
{
    struct vspn_vsc *c;
    uint32_t mtu, bslot;

    if (!cfg || !ops || !out || !ops->send_inband || !ops->send_gpa ||
        !ops->send_completion || !ops->signal || !ops->rx_frame)
        return -EINVAL;
    mtu = cfg->mtu ? cfg->mtu : VSPN_VSP_MTU_DEFAULT;
    if (mtu < VSPN_VSP_MTU_MIN || mtu > VSPN_VSP_MTU_MAX)
        return -EINVAL;
    if (!buf_ok(&cfg->recv_buf, 2 * HV_PAGE_SIZE) ||
        !buf_ok(&cfg->tx_pages, HV_PAGE_SIZE))
        return -EINVAL;
    if (cfg->mode == VSPN_VSC_LINUX && cfg->send_buf.size &&
        !buf_ok(&cfg->send_buf, HV_PAGE_SIZE))
        return -EINVAL;
    if (cfg->versions && (cfg->nversions == 0 ||
                          cfg->nversions > VSC_MAX_VERSIONS))
        return -EINVAL;
    bslot = VSPN_RNDIS_PACKET_SIZE + 16u + mtu + VSPN_ETH_HLEN + 4u;
    bslot = (bslot + HV_PAGE_SIZE - 1) & ~(HV_PAGE_SIZE - 1);
    if (bslot > cfg->tx_pages.size)
        return -EINVAL;
    c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->ops = *ops;
    c->ctx = ctx;
    c->cfg = *cfg;
    c->cfg.mtu = mtu;
    if (cfg->mode != VSPN_VSC_LINUX)
        c->cfg.send_buf.size = 0;
    if (cfg->versions) {
        memcpy(c->versions, cfg->versions, cfg->nversions * sizeof(uint32_t));
        c->nversions = cfg->nversions;
    } else if (cfg->mode == VSPN_VSC_MINIMAL) {
        memcpy(c->versions, minimal_versions, sizeof(minimal_versions));
        c->nversions = 1;
    } else {
        memcpy(c->versions, linux_versions, sizeof(linux_versions));
        c->nversions = sizeof(linux_versions) / sizeof(linux_versions[0]);
    }
    c->nvsp_size = cfg->mode == VSPN_VSC_MINIMAL ? VSPN_NVSP_MSG_SIZE_IPXE
                                                 : VSPN_NVSP_MSG_SIZE;
    c->recv_id = cfg->mode == VSPN_VSC_MINIMAL ? VSPN_NVSP_RECV_BUF_ID_IPXE
                                               : VSPN_NVSP_RECV_BUF_ID_LINUX;
    if (cfg->mode == VSPN_VSC_MINIMAL) {
        c->steps = minimal_steps;
        c->nsteps = sizeof(minimal_steps);
    } else {
        c->steps = linux_steps;
        c->nsteps = sizeof(linux_steps);
    }
    c->bslot = bslot;
    c->nbounce = cfg->tx_pages.size / bslot;
    if (c->nbounce > VSPN_VSC_MAX_BOUNCE)
        c->nbounce = VSPN_VSC_MAX_BOUNCE;
    for (uint32_t i = 0; i < c->nbounce; i++)
        c->b_free[i] = c->nbounce - 1 - i;
    c->nb_free = c->nbounce;
    c->mtu = mtu;
    c->user_rc = -ENOENT;
    c->state = VSPN_VSC_IDLE;
    *out = c;
    return 0;
}

void vspn_vsc_destroy(struct vspn_vsc *c)
{
    free(c);
}

int vspn_vsc_start(struct vspn_vsc *c)
{
    int rc;

    if (!c)
        return -EINVAL;
    if (c->state != VSPN_VSC_IDLE)
        return -EALREADY;
    c->vidx = 0;
    rc = send_init(c);
    flush_signal(c);
    return rc;
}

int vspn_vsc_stop(struct vspn_vsc *c)
{
    struct vspn_nvsp_msg m = { 0 };
    uint8_t msg[VSPN_RNDIS_HALT_SIZE];
    int rc, first = 0;
    bool minimal;

    if (!c)
        return -EINVAL;
    minimal = c->cfg.mode == VSPN_VSC_MINIMAL;
    (void)batch_send(c); /* frames already accepted go before the HALT */
    if (c->state == VSPN_VSC_READY || c->state == VSPN_VSC_RNDIS) {
        rc = vspn_rndis_encode_halt(msg, sizeof(msg), ++c->req_id);
        if (rc > 0)
            rc = rndis_ctrl_send(c, msg, (uint32_t)rc);
        if (rc < 0)
            first = rc;
    }
    c->rq_wait = false;
    if (c->nrslots) {
        m.type = VSPN_NVSP_REVOKE_RECV_BUF;
        m.u.revoke.id = c->recv_id;
        rc = nvsp_send(c, &m, minimal, minimal);
        if (rc < 0 && !first)
            first = rc;
        c->nrslots = 0;
    }
    if (c->nsec) {
        memset(&m, 0, sizeof(m));
        m.type = VSPN_NVSP_REVOKE_SEND_BUF;
        m.u.revoke.id = 0;
        rc = nvsp_send(c, &m, false, false);
        if (rc < 0 && !first)
            first = rc;
        c->nsec = 0;
        c->nsec_free = 0;
        c->bat_n = 0; /* frames not sent before the stop are dropped */
    }
    set_state(c, VSPN_VSC_HALTED);
    flush_signal(c);
    return first;
}

int vspn_vsc_handle_pkt(struct vspn_vsc *c, const struct vspn_pkt *pkt)
{
    int rc = 0;

    if (!c || !pkt)
        return -EINVAL;
    switch (pkt->type) {
    case HV_PKT_COMP:
        rc = on_comp(c, pkt);
        break;
    case HV_PKT_XFER_PAGES:
        rc = on_xfer(c, pkt);
        break;
    case HV_PKT_INBAND: {
        struct vspn_nvsp_msg m;

        /* VF association / indirection table: nothing to act on with one
         * channel and no VF. */
        if (!pkt->data ||
            vspn_nvsp_decode(pkt->data, pkt->data_size, &m) != 0 ||
            (m.type != VSPN_NVSP_SEND_VF_ASSOCIATION &&
             m.type != VSPN_NVSP_SEND_INDIRECTION_TABLE)) {
            STAT_INC(c, rx_unexpected);
            rc = -EPROTO;
        }
        if (pkt->flags & HV_PKT_FLAG_COMPLETION_REQUESTED)
            note(c, c->ops.send_completion(c->ctx, pkt->trans_id, NULL, 0));
        break;
    }
    default:
        STAT_INC(c, rx_unexpected);
        rc = -EPROTO;
        break;
    }
    flush_signal(c);
    return rc;
}

unsigned vspn_vsc_poll(struct vspn_vsc *c)
{
    cq_flush(c);
    flush_signal(c);
    return c->cq_len;
}

/* Checks a frame for sending and builds its PPI: 0, or the error
 * vspn_vsc_send returns.  *flen is the frame's length, *total its
 * RNDIS_PACKET's. */
static int tx_check(struct vspn_vsc *c, const void *frame, size_t len,
                    uint16_t vlan_tci, bool has_vlan,
                    struct vspn_rndis_ppi *pi, uint32_t *flen,
                    uint32_t *total)
{
    const uint8_t *f = frame;
    uint32_t pl;

    if (!c || !frame)
        return -EINVAL;
    if (c->state != VSPN_VSC_READY)
        return -ENOTCONN;
    if (has_vlan && (vlan_tci & 0xFFFu) == 0xFFFu)
        return -EINVAL; /* VLAN id 4095 is reserved: the host drops it */
    if (len < VSPN_ETH_HLEN || len > VSPN_VSP_MTU_MAX + 32u) {
        STAT_INC(c, tx_oversize);
        return -EMSGSIZE;
    }
    *flen = (uint32_t)len;
    pl = *flen - VSPN_ETH_HLEN;
    if (((f[12] << 8 | f[13]) == 0x8100) && pl >= 4)
        pl -= 4;
    if (pl > c->mtu) {
        STAT_INC(c, tx_oversize);
        return -EMSGSIZE;
    }
    memset(pi, 0, sizeof(*pi));
    pi->has_vlan = has_vlan;
    pi->vlan_tci = vlan_tci;
    *total = VSPN_RNDIS_PACKET_SIZE + vspn_rndis_ppi_size(pi) + *flen;
    return 0;
}

/* Sends the NVSP message for section s holding `size` bytes of RNDIS
 * packets: the sender's return (1: signal) or -EAGAIN, counted. */
static int send_section(struct vspn_vsc *c, uint32_t s, uint32_t size)
{
    struct vspn_nvsp_msg m = { .type = VSPN_NVSP_SEND_RNDIS_PKT };
    uint8_t nb[VSPN_NVSP_ENCODE_MAX];
    int rc, sz;

    m.u.rndis_pkt.channel_type = VSPN_NVSP_CHANNEL_DATA;
    m.u.rndis_pkt.section_index = s;
    m.u.rndis_pkt.section_size = size;
    sz = vspn_nvsp_encode(&m, nb, sizeof(nb));
    rc = c->ops.send_inband(c->ctx, HV_PKT_FLAG_COMPLETION_REQUESTED,
                            TID_SEC | s, nb, (size_t)sz);
    if (rc < 0) {
        STAT_INC(c, tx_ring_full);
        return rc == -EAGAIN ? -EAGAIN : rc;
    }
    note(c, rc);
    return rc;
}

/* Sends the section vspn_vsc_send_more() was filling, if any.  0, or
 * -EAGAIN (ring full: the section stays open). */
static int batch_send(struct vspn_vsc *c)
{
    int rc;

    if (c->bat_n == 0)
        return 0;
    if (c->state != VSPN_VSC_READY) {
        /* the NIC failed or halted meanwhile: the frames are lost */
        c->inflight -= c->bat_n;
        c->sec_free[c->nsec_free++] = c->bat_sec;
        c->bat_n = 0;
        return 0;
    }
    rc = send_section(c, c->bat_sec, c->bat_off);
    if (rc < 0)
        return rc;
    c->sec_busy[c->bat_sec] = (uint8_t)c->bat_n;
    c->bat_n = 0;
    return 0;
}

/* Writes frame's RNDIS_PACKET at p (cap bytes, checked by the caller). */
static void put_packet(uint8_t *p, uint32_t cap,
                       const struct vspn_rndis_ppi *pi, const void *frame,
                       uint32_t flen)
{
    int hdr = vspn_rndis_packet_hdr(p, cap, pi, flen);

    memcpy(p + hdr, frame, flen);
}

static void tx_count(struct vspn_vsc *c, uint32_t flen)
{
    c->inflight++;
    STAT_INC(c, tx_frames);
    STAT_ADD(c, tx_bytes, flen);
}

int vspn_vsc_send(struct vspn_vsc *c, const void *frame, size_t len,
                  uint16_t vlan_tci, bool has_vlan)
{
    struct vspn_rndis_ppi pi;
    uint32_t flen, total;
    int rc;

    rc = tx_check(c, frame, len, vlan_tci, has_vlan, &pi, &flen, &total);
    if (rc)
        return rc;
    if (batch_send(c) < 0)
        return -EAGAIN; /* keep the order: batched frames go first */

    if (c->nsec_free && total <= c->sec_size) {
        uint32_t s = c->sec_free[--c->nsec_free];
        uint8_t *p = (uint8_t *)c->cfg.send_buf.mem + (size_t)s * c->sec_size;

        put_packet(p, c->sec_size, &pi, frame, flen);
        rc = send_section(c, s, total);
        if (rc < 0) {
            c->nsec_free++;
            return rc;
        }
        c->sec_busy[s] = 1;
        STAT_INC(c, tx_sections);
    } else if (c->nb_free && total <= c->bslot) {
        uint32_t s = bounce_alloc(c, BOUNCE_FRAME);
        uint8_t *p = bounce_mem(c, s);

        put_packet(p, c->bslot, &pi, frame, flen);
        rc = send_bounce(c, s, total, VSPN_NVSP_CHANNEL_DATA);
        if (rc < 0) {
            bounce_release(c, s);
            STAT_INC(c, tx_ring_full);
            return rc == -EAGAIN ? -EAGAIN : rc;
        }
        STAT_INC(c, tx_gpa);
    } else {
        STAT_INC(c, tx_busy);
        return -EAGAIN;
    }
    tx_count(c, flen);
    flush_signal(c);
    return 0;
}

int vspn_vsc_send_more(struct vspn_vsc *c, const void *frame, size_t len,
                       uint16_t vlan_tci, bool has_vlan)
{
    struct vspn_rndis_ppi pi;
    uint32_t flen, total, align, at, s;
    uint8_t *sec;
    int rc;

    rc = tx_check(c, frame, len, vlan_tci, has_vlan, &pi, &flen, &total);
    if (rc)
        return rc;
    if (c->max_pkts < 2 || c->nsec == 0)
        return vspn_vsc_send(c, frame, len, vlan_tci, has_vlan);
    /* Packets start on the host's alignment (RNDIS INITIALIZE_CMPLT
     * PacketAlignmentFactor, ≤ 12: checked there); the padding belongs
     * to the packet before, whose MessageLength grows by it. */
    align = 1u << c->align_factor;
    if (c->bat_n) {
        at = (c->bat_off + align - 1) & ~(align - 1);
        sec = (uint8_t *)c->cfg.send_buf.mem + (size_t)c->bat_sec * c->sec_size;
        if (c->bat_n < c->max_pkts && at <= c->sec_size &&
            total <= c->sec_size - at) {
            uint32_t prev = vspn__le32(sec + c->bat_last + 4);

            vspn__put32(sec + c->bat_last + 4, prev + (at - c->bat_off));
            put_packet(sec + at, c->sec_size - at, &pi, frame, flen);
            c->bat_last = at;
            c->bat_off = at + total;
            c->bat_n++;
            STAT_INC(c, tx_sections);
            tx_count(c, flen);
            return 0;
        }
        if (batch_send(c) < 0)
            return -EAGAIN;
    }
    if (!c->nsec_free || total > c->sec_size)
        return vspn_vsc_send(c, frame, len, vlan_tci, has_vlan);
    s = c->sec_free[--c->nsec_free];
    sec = (uint8_t *)c->cfg.send_buf.mem + (size_t)s * c->sec_size;
    /* The host's CPU read this section last: claim the lines the batch
     * will fill (about max_pkts frames like this one) before writing. */
    {
        uint64_t fill = (uint64_t)total * c->max_pkts;

        if (fill > c->sec_size)
            fill = c->sec_size;
        vsa_shm_prefetch_write(sec, fill < TX_PREFETCH_MAX ? fill
                                                           : TX_PREFETCH_MAX);
    }
    put_packet(sec, c->sec_size, &pi, frame, flen);
    c->bat_sec = s;
    c->bat_off = total;
    c->bat_last = 0;
    c->bat_n = 1;
    STAT_INC(c, tx_sections);
    tx_count(c, flen);
    return 0;
}

int vspn_vsc_send_flush(struct vspn_vsc *c)
{
    int rc;

    if (!c)
        return -EINVAL;
    rc = batch_send(c);
    flush_signal(c);
    return rc;
}

int vspn_vsc_oid_request(struct vspn_vsc *c, uint32_t type, uint32_t oid,
                         const void *in, uint32_t in_len)
{
    int rc;

    if (!c || (type != VSPN_RNDIS_MSG_QUERY && type != VSPN_RNDIS_MSG_SET) ||
        (in_len && !in))
        return -EINVAL;
    if (c->state != VSPN_VSC_READY)
        return -ENOTCONN;
    if (c->rq_wait)
        return -EBUSY;
    if (in_len > 512)
        return -EMSGSIZE;
    rc = rndis_request(c, type, oid, in, in_len, RQ_USER);
    if (rc == 0)
        c->user_rc = -EINPROGRESS;
    flush_signal(c);
    return rc;
}

int vspn_vsc_set_filter(struct vspn_vsc *c, uint32_t filter)
{
    uint8_t in[4];
    int rc;

    if (!c)
        return -EINVAL;
    if (c->state != VSPN_VSC_READY)
        return -ENOTCONN;
    if (c->rq_wait)
        return -EBUSY;
    vspn__put32(in, filter);
    c->pending_filter = filter;
    rc = rndis_request(c, VSPN_RNDIS_MSG_SET,
                       VSPN_OID_GEN_CURRENT_PACKET_FILTER, in, 4, RQ_FILTER);
    if (rc == 0)
        c->user_rc = -EINPROGRESS;
    flush_signal(c);
    return rc;
}

int vspn_vsc_oid_result(const struct vspn_vsc *c, uint32_t *status, void *out,
                        uint32_t cap, uint32_t *out_len)
{
    uint32_t n;

    if (!c)
        return -EINVAL;
    if (c->user_rc)
        return c->user_rc;
    n = c->user_len < cap ? c->user_len : cap;
    if (status)
        *status = c->user_status;
    if (out && n)
        memcpy(out, c->user_buf, n);
    if (out_len)
        *out_len = n;
    return 0;
}

enum vspn_vsc_state vspn_vsc_state(const struct vspn_vsc *c)
{
    return c->state;
}

bool vspn_vsc_ready(const struct vspn_vsc *c)
{
    return c->state == VSPN_VSC_READY;
}

uint32_t vspn_vsc_nvsp_version(const struct vspn_vsc *c)
{
    return c->version;
}

struct vsa_mac vspn_vsc_mac(const struct vspn_vsc *c)
{
    return c->mac;
}

uint32_t vspn_vsc_mtu(const struct vspn_vsc *c)
{
    return c->mtu;
}

uint32_t vspn_vsc_link_speed(const struct vspn_vsc *c)
{
    return c->link_speed;
}

bool vspn_vsc_link_up(const struct vspn_vsc *c)
{
    return c->link_up;
}

uint32_t vspn_vsc_filter(const struct vspn_vsc *c)
{
    return c->filter;
}

uint32_t vspn_vsc_send_sections(const struct vspn_vsc *c)
{
    return c->nsec;
}

uint32_t vspn_vsc_recv_slots(const struct vspn_vsc *c)
{
    return c->nrslots;
}

uint32_t vspn_vsc_tx_inflight(const struct vspn_vsc *c)
{
    return c->inflight;
}

const struct vspn_vsc_stats *vspn_vsc_stats(const struct vspn_vsc *c)
{
    return &c->stats;
}
