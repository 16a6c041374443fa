/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vspn_harness.h — helpers shared by the vsp-net unit tests.
 *
 * Two harnesses:
 *  * `struct hx` — a host VSP alone, driven by hand-built guest packets:
 *    guest memory is a plain buffer registered in hv_mem, the receive and
 *    send buffers are real hv_gpadl GPADLs over it, and the VSP's ops
 *    capture what it emits (completions, transfer-page packets, frames,
 *    close).  Used by the table, RNDIS, PPI and bounds tests.
 *  * `struct hp` — a guest VSC and a host VSP connected through two real
 *    hv_ring rings over shared buffers, with hx-style guest memory and
 *    GPADLs; hp_pump() moves packets both ways until both rings are
 *    quiet.  Used by the end-to-end test.
 */
#ifndef VSPN_HARNESS_H
#define VSPN_HARNESS_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv/hv_gpadl.h"
#include "hv/hv_mem.h"
#include "hv/hv_ring.h"
#include "vsp-net/nvsp.h"
#include "vsp-net/rndis.h"
#include "vsp-net/vsc.h"
#include "vsp-net/vsp.h"

#define HX_GBASE 0x100000ull           /* guest physical base */
#define HX_GSIZE (8u << 20)            /* guest memory */
#define HX_RECV_OFF 0u                 /* receive buffer */
#define HX_RECV_SIZE (1u << 20)
#define HX_SEND_OFF (1u << 20)         /* send buffer */
#define HX_SEND_SIZE (256u << 10)
#define HX_TXP_OFF ((1u << 20) + (256u << 10)) /* VSC bounce pages */
#define HX_TXP_SIZE (256u << 10)
#define HX_SCRATCH_OFF (2u << 20)      /* hand-built GPA sends */
#define HX_SCRATCH_SIZE (1u << 20)
#define HX_SPARE_OFF (4u << 20)        /* extra GPADLs */
#define HX_RECV_GPADL 0xE1E10u
#define HX_SEND_GPADL 0xE1E11u
#define HX_RELID 1u
#define HX_MAX_OUT 256u

struct hx_out {
    char kind; /* 'C' completion, 'X' transfer-page, 'I' in-band */
    uint64_t tid;
    uint16_t pageset;
    uint32_t nranges;
    struct hv_ring_xfer_range ranges[VSPN_VSP_BATCH_MAX];
    uint32_t size;
    uint8_t msg[VSPN_NVSP_ENCODE_MAX];
};

struct hx {
    uint8_t *gmem;
    struct hv_mem *mem;
    struct hv_gpadl_table *gt;
    struct vspn_vsp *vsp;
    struct vspn_vsp_cfg cfg;
    struct hx_out out[HX_MAX_OUT]; /* ring of the last outputs */
    unsigned nout;                 /* total ever */
    unsigned ncomp, nxfer, nsignal, nclose;
    char close_reason[160];
    int send_rc;                   /* 0: sends succeed; else returned */
    unsigned nframes;
    uint8_t frame[16384];
    size_t frame_len;
    uint16_t frame_tci;
    bool frame_has_vlan;
    uint64_t frame_sum;
    uint64_t next_tid;
};

static inline struct hx_out *hx_last(struct hx *h)
{
    return h->nout ? &h->out[(h->nout - 1) % HX_MAX_OUT] : NULL;
}

static inline struct hx_out *hx_push(struct hx *h, char kind)
{
    struct hx_out *o = &h->out[h->nout++ % HX_MAX_OUT];

    memset(o, 0, sizeof(*o));
    o->kind = kind;
    return o;
}

static inline int hx_send_completion(void *ctx, uint64_t tid, const void *msg,
                                     size_t size)
{
    struct hx *h = ctx;
    struct hx_out *o;

    if (h->send_rc)
        return h->send_rc;
    o = hx_push(h, 'C');
    o->tid = tid;
    o->size = (uint32_t)(size < sizeof(o->msg) ? size : sizeof(o->msg));
    if (size)
        memcpy(o->msg, msg, o->size);
    h->ncomp++;
    return 1;
}

static inline int hx_send_xfer(void *ctx, uint64_t tid, uint16_t pageset,
                               const struct hv_ring_xfer_range *r, uint32_t n,
                               const void *msg, size_t size)
{
    struct hx *h = ctx;
    struct hx_out *o;

    if (h->send_rc)
        return h->send_rc;
    o = hx_push(h, 'X');
    o->tid = tid;
    o->pageset = pageset;
    o->nranges = n;
    memcpy(o->ranges, r, n * sizeof(*r));
    o->size = (uint32_t)(size < sizeof(o->msg) ? size : sizeof(o->msg));
    memcpy(o->msg, msg, o->size);
    h->nxfer++;
    return 1;
}

static inline void hx_signal(void *ctx)
{
    ((struct hx *)ctx)->nsignal++;
}

/* Looks the buffer up and prepares it on the spot: the harness has one
 * thread, so handling and preparing need no hand-over. */
static inline void hx_buf_get(void *ctx, uint32_t id, bool recv,
                              struct vspn_buf *out)
{
    struct hx *h = ctx;
    vspn_vsp_buf_prepare(h->vsp, recv, hv_gpadl_get(h->gt, HX_RELID, id),
                         out);
}

static inline void hx_close(void *ctx, const char *why)
{
    struct hx *h = ctx;

    h->nclose++;
    snprintf(h->close_reason, sizeof(h->close_reason), "%s", why);
}

static inline void hx_rx_frame(void *ctx, const void *f, size_t len,
                               uint16_t tci, bool has_vlan)
{
    struct hx *h = ctx;

    h->nframes++;
    h->frame_len = len;
    h->frame_tci = tci;
    h->frame_has_vlan = has_vlan;
    memcpy(h->frame, f, len < sizeof(h->frame) ? len : sizeof(h->frame));
    for (size_t i = 0; i < len; i++)
        h->frame_sum += ((const uint8_t *)f)[i] * (i + 1);
}

static const struct vspn_vsp_ops hx_ops = {
    .send_completion = hx_send_completion,
    .send_xfer_page = hx_send_xfer,
    .signal = hx_signal,
    .buf_get = hx_buf_get,
    .close = hx_close,
    .rx_frame = hx_rx_frame,
};

/* GPADL `id` over [off, off + size) of guest memory.  0 or -errno. */
static inline int hx_make_gpadl(struct hv_gpadl_table *gt, struct hv_mem *mem,
                                uint32_t id, uint32_t off, uint32_t size)
{
    struct hv_gpadl *g;
    uint32_t n = size / HV_PAGE_SIZE;
    uint64_t *pfns = malloc(n * sizeof(*pfns));
    int rc;

    if (!pfns)
        return -ENOMEM;
    for (uint32_t i = 0; i < n; i++)
        pfns[i] = ((HX_GBASE + off) >> HV_PAGE_SHIFT) + i;
    rc = hv_gpadl_begin(gt, mem, HX_RELID, id, n, &g);
    if (rc == 0)
        rc = hv_gpadl_add_pfns(g, pfns, n);
    free(pfns);
    return rc;
}

static inline void hx_default_cfg(struct vspn_vsp_cfg *c)
{
    memset(c, 0, sizeof(*c));
    c->mac = (struct vsa_mac){ { 0x00, 0x15, 0x5d, 0x01, 0x02, 0x03 } };
    c->mtu = 1500;
    c->link_up = true;
    c->name = "test";
}

/* Guest memory, GPADLs and a VSP with `cfg` (NULL: defaults). */
static inline int hx_init(struct hx *h, const struct vspn_vsp_cfg *cfg)
{
    int rc;

    memset(h, 0, sizeof(*h));
    h->gmem = aligned_alloc(4096, HX_GSIZE);
    if (!h->gmem)
        return -ENOMEM;
    memset(h->gmem, 0, HX_GSIZE);
    rc = hv_mem_create(&h->mem);
    if (!rc)
        rc = hv_mem_add_buffer(h->mem, h->gmem, HX_GBASE, HX_GSIZE);
    if (!rc)
        rc = hv_gpadl_table_create(NULL, NULL, &h->gt);
    if (!rc)
        rc = hx_make_gpadl(h->gt, h->mem, HX_RECV_GPADL, HX_RECV_OFF,
                           HX_RECV_SIZE);
    if (!rc)
        rc = hx_make_gpadl(h->gt, h->mem, HX_SEND_GPADL, HX_SEND_OFF,
                           HX_SEND_SIZE);
    if (cfg)
        h->cfg = *cfg;
    else
        hx_default_cfg(&h->cfg);
    h->cfg.mem = h->mem;
    if (!rc)
        rc = vspn_vsp_create(&h->cfg, &hx_ops, h, &h->vsp);
    h->next_tid = 1000;
    return rc;
}

static inline void hx_fini(struct hx *h)
{
    vspn_vsp_destroy(h->vsp);
    hv_gpadl_table_destroy(h->gt);
    hv_mem_put(h->mem);
    free(h->gmem);
    memset(h, 0, sizeof(*h));
}

/* ---- guest → host packets ------------------------------------------------ */

static inline int hx_raw(struct hx *h, uint16_t type, uint16_t flags,
                         uint64_t tid, const void *data, uint32_t size)
{
    struct vspn_pkt p = { .type = type, .flags = flags, .trans_id = tid,
                          .data = data, .data_size = size };
    return vspn_vsp_handle_pkt(h->vsp, &p);
}

static inline int hx_nvsp(struct hx *h, const struct vspn_nvsp_msg *m,
                          uint16_t flags)
{
    uint8_t buf[VSPN_NVSP_ENCODE_MAX];
    int n = vspn_nvsp_encode(m, buf, sizeof(buf));

    if (n < 0)
        return n;
    return hx_raw(h, HV_PKT_INBAND, flags, h->next_tid++, buf, (uint32_t)n);
}

static inline int hx_init_msg(struct hx *h, uint32_t ver)
{
    struct vspn_nvsp_msg m = { .type = VSPN_NVSP_INIT };

    m.u.init.min_ver = m.u.init.max_ver = ver;
    return hx_nvsp(h, &m, HV_PKT_FLAG_COMPLETION_REQUESTED);
}

/* A GPA-direct packet whose NVSP message is `nvsp` and whose ranges cover
 * `len` bytes written at guest offset `goff` (one range per page). */
static inline int hx_gpa(struct hx *h, const struct vspn_nvsp_msg *nvsp,
                         uint32_t goff, uint32_t len, uint64_t tid)
{
    struct hv_ring_gpa_range r[VSPN_PKT_MAX_RANGES];
    uint8_t pfns[VSPN_PKT_MAX_RANGES][8];
    uint8_t buf[VSPN_NVSP_ENCODE_MAX];
    struct vspn_pkt p = { .type = HV_PKT_GPA_DIRECT,
                          .flags = HV_PKT_FLAG_COMPLETION_REQUESTED,
                          .trans_id = tid };
    uint64_t gpa = HX_GBASE + goff;
    uint32_t n = 0;
    int sz = vspn_nvsp_encode(nvsp, buf, sizeof(buf));

    while (len && n < VSPN_PKT_MAX_RANGES) {
        uint32_t off = (uint32_t)(gpa & 4095u);
        uint32_t chunk = 4096u - off < len ? 4096u - off : len;
        uint64_t pfn = gpa >> 12;

        for (int b = 0; b < 8; b++)
            pfns[n][b] = (uint8_t)(pfn >> (8 * b));
        r[n].byte_count = chunk;
        r[n].byte_offset = off;
        r[n].npfns = 1;
        r[n].pfns = pfns[n];
        n++;
        gpa += chunk;
        len -= chunk;
    }
    p.data = buf;
    p.data_size = (uint32_t)sz;
    p.gpa = r;
    p.gpa_cnt = n;
    return vspn_vsp_handle_pkt(h->vsp, &p);
}

/* An RNDIS message sent the way Linux sends control messages: copied into
 * the scratch page area and named by GPA-direct ranges. */
static inline int hx_rndis_gpa(struct hx *h, const void *msg, uint32_t len,
                               uint32_t channel_type)
{
    struct vspn_nvsp_msg m = { .type = VSPN_NVSP_SEND_RNDIS_PKT };

    m.u.rndis_pkt.channel_type = channel_type;
    m.u.rndis_pkt.section_index = VSPN_NVSP_NO_SECTION;
    memcpy(h->gmem + HX_SCRATCH_OFF, msg, len);
    return hx_gpa(h, &m, HX_SCRATCH_OFF, len, h->next_tid++);
}

/* An RNDIS message in send-buffer section `idx` (section size `ssize`). */
static inline int hx_rndis_section(struct hx *h, uint32_t idx, uint32_t ssize,
                                   const void *msg, uint32_t len,
                                   uint32_t channel_type)
{
    struct vspn_nvsp_msg m = { .type = VSPN_NVSP_SEND_RNDIS_PKT };

    m.u.rndis_pkt.channel_type = channel_type;
    m.u.rndis_pkt.section_index = idx;
    m.u.rndis_pkt.section_size = len;
    if ((uint64_t)idx * ssize + len <= HX_SEND_SIZE)
        memcpy(h->gmem + HX_SEND_OFF + (size_t)idx * ssize, msg, len);
    return hx_nvsp(h, &m, HV_PKT_FLAG_COMPLETION_REQUESTED);
}

/* The NVSP status of the last completion (type must match), or ~0. */
static inline uint32_t hx_last_status(struct hx *h, uint32_t type)
{
    struct hx_out *o = hx_last(h);
    struct vspn_nvsp_msg m;

    if (!o || o->kind != 'C' || vspn_nvsp_decode(o->msg, o->size, &m) ||
        m.type != type)
        return ~0u;
    switch (type) {
    case VSPN_NVSP_INIT_COMPLETE: return m.u.init_complete.status;
    case VSPN_NVSP_SEND_RECV_BUF_COMPLETE: return m.u.recv_buf_complete.status;
    case VSPN_NVSP_SEND_SEND_BUF_COMPLETE: return m.u.send_buf_complete.status;
    case VSPN_NVSP_SEND_RNDIS_PKT_COMPLETE:
        return m.u.rndis_pkt_complete.status;
    case VSPN_NVSP_SUBCHANNEL: return m.u.subchannel.op_or_status;
    default: return ~0u;
    }
}

/* Handshake up to the state wanted:
 *   stage 1 INIT, 2 + NDIS_CONFIG/NDIS_VER, 3 + receive buffer,
 *   4 + send buffer, 5 + RNDIS INITIALIZE, 6 + packet filter 0x2F. */
static inline int hx_handshake(struct hx *h, uint32_t ver, int stage)
{
    struct vspn_nvsp_msg m;
    uint8_t msg[64];
    int n;

    if (stage >= 1 && hx_init_msg(h, ver))
        return -1;
    if (stage >= 2) {
        if (ver >= VSPN_NVSP_VERSION_2) {
            memset(&m, 0, sizeof(m));
            m.type = VSPN_NVSP_SEND_NDIS_CONFIG;
            m.u.ndis_config.mtu = 1514;
            m.u.ndis_config.caps = VSPN_NVSP_CAP_IEEE8021Q;
            if (hx_nvsp(h, &m, 0))
                return -2;
        }
        memset(&m, 0, sizeof(m));
        m.type = VSPN_NVSP_SEND_NDIS_VERSION;
        m.u.ndis_ver.major = 6;
        m.u.ndis_ver.minor = ver >= VSPN_NVSP_VERSION_5 ? 30 : 1;
        if (hx_nvsp(h, &m, 0))
            return -3;
    }
    if (stage >= 3) {
        memset(&m, 0, sizeof(m));
        m.type = VSPN_NVSP_SEND_RECV_BUF;
        m.u.buf.gpadl = HX_RECV_GPADL;
        m.u.buf.id = VSPN_NVSP_RECV_BUF_ID_LINUX;
        if (hx_nvsp(h, &m, HV_PKT_FLAG_COMPLETION_REQUESTED) ||
            hx_last_status(h, VSPN_NVSP_SEND_RECV_BUF_COMPLETE) != 1)
            return -4;
    }
    if (stage >= 4) {
        memset(&m, 0, sizeof(m));
        m.type = VSPN_NVSP_SEND_SEND_BUF;
        m.u.buf.gpadl = HX_SEND_GPADL;
        m.u.buf.id = 0;
        if (hx_nvsp(h, &m, HV_PKT_FLAG_COMPLETION_REQUESTED) ||
            hx_last_status(h, VSPN_NVSP_SEND_SEND_BUF_COMPLETE) != 1)
            return -5;
    }
    if (stage >= 5) {
        n = vspn_rndis_encode_init(msg, sizeof(msg), 1, 0x4000);
        if (hx_rndis_gpa(h, msg, (uint32_t)n, VSPN_NVSP_CHANNEL_CONTROL) ||
            vspn_vsp_rndis_state(h->vsp) != VSPN_RNDIS_INITIALIZED)
            return -6;
    }
    if (stage >= 6) {
        uint8_t f[4] = { 0x2F, 0, 0, 0 }; /* dir|mc|allmc|bc|promisc */
        n = vspn_rndis_encode_oid(msg, sizeof(msg), VSPN_RNDIS_MSG_SET, 2,
                                  VSPN_OID_GEN_CURRENT_PACKET_FILTER, f, 4);
        if (hx_rndis_gpa(h, msg, (uint32_t)n, VSPN_NVSP_CHANNEL_CONTROL) ||
            vspn_vsp_filter(h->vsp) != 0x2F)
            return -7;
    }
    return 0;
}

/* Completes every transfer-page packet seen so far (the guest's ack). */
static inline void hx_ack_all(struct hx *h, unsigned *cursor)
{
    uint8_t ack[8] = { 108, 0, 0, 0, 1, 0, 0, 0 };

    for (; *cursor < h->nout; (*cursor)++) {
        struct hx_out *o = &h->out[*cursor % HX_MAX_OUT];
        if (o->kind == 'X')
            hx_raw(h, HV_PKT_COMP, 0, o->tid, ack, 8);
    }
}

/* The guest completes transfer-page packet `tid` (NVSP 108, SUCCESS). */
static inline int hx_ack(struct hx *h, uint64_t tid)
{
    uint8_t ack[8] = { 108, 0, 0, 0, 1, 0, 0, 0 };

    return hx_raw(h, HV_PKT_COMP, 0, tid, ack, 8);
}

/* Fills every free receive slot with a 64-byte broadcast frame, one per
 * transfer-page packet, and records their trans_ids in tids[] (at most
 * cap): the guest then holds every slot until it acks them (hx_ack).
 * Needs RNDIS up with a filter that passes broadcast (hx_handshake stage
 * 6) and the link up.  Returns how many were posted. */
static inline unsigned hx_fill_slots(struct hx *h, uint64_t *tids,
                                     unsigned cap)
{
    uint8_t f[64] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                      0x02, 0x11, 0, 0, 0, 1, 0x08, 0x00 };
    struct vspn_frame fr = { f, sizeof(f), 0, false };
    unsigned n = 0;

    while (n < cap && vspn_vsp_recv_slots_free(h->vsp) > 0 &&
           vspn_vsp_deliver(h->vsp, &fr, 1) == 1)
        tids[n++] = hx_last(h)->tid;
    return n;
}

/* The RNDIS message of range 0 of the last transfer-page packet. */
static inline const uint8_t *hx_last_rndis(struct hx *h, uint32_t *len)
{
    for (unsigned i = h->nout; i > 0 && h->nout - i < HX_MAX_OUT; i--) {
        struct hx_out *o = &h->out[(i - 1) % HX_MAX_OUT];
        if (o->kind == 'X') {
            *len = o->ranges[0].byte_count;
            return h->gmem + HX_RECV_OFF + o->ranges[0].byte_offset;
        }
    }
    *len = 0;
    return NULL;
}

static inline uint64_t hx_stat(struct hx *h, unsigned id)
{
    return vspn_vsp_stats_get(vspn_vsp_stats(h->vsp), id);
}

#define HX_STAT(h, name) hx_stat((h), VSPN_VSP_STATS_ID_##name)

/* ---- guest VSC ↔ host VSP over real rings --------------------------------- */

#define HP_RING_DSIZE (256u << 10)
#define HP_MAX_RX 4096u

struct hp_frame {
    uint32_t len;
    uint16_t tci;
    bool has_vlan;
    uint64_t sum;
};

struct hp {
    struct hx h;               /* host side (its ops write the h2g ring) */
    uint8_t *g2h_mem, *h2g_mem;
    struct hv_ring *g2h_w, *g2h_r; /* guest writes, host reads */
    struct hv_ring *h2g_w, *h2g_r; /* host writes, guest reads */
    struct vspn_vsc *vsc;
    struct vspn_vsc_cfg vcfg;
    bool guest_drains;         /* false: the guest stops reading */
    unsigned host_sig, guest_sig;
    unsigned host_rx, guest_rx;
    struct hp_frame host_frames[HP_MAX_RX];  /* guest → host, in order */
    struct hp_frame guest_frames[HP_MAX_RX]; /* host → guest */
    unsigned link_changes;
    uint8_t pktbuf[HV_RING_MAX_PKT_DEFAULT];
};

static inline uint64_t hp_sum(const void *f, size_t len)
{
    uint64_t s = 0;
    for (size_t i = 0; i < len; i++)
        s = s * 131 + ((const uint8_t *)f)[i];
    return s;
}

static inline int hp_wrc(int rc, bool sig)
{
    return rc < 0 ? rc : (sig ? 1 : 0);
}

/* host ops → h2g ring */
static inline int hp_h_comp(void *ctx, uint64_t tid, const void *msg,
                            size_t size)
{
    struct hp *p = ctx;
    bool sig = false;
    int rc = hv_ring_write_comp(p->h2g_w, tid, msg, size, &sig);
    return hp_wrc(rc, sig);
}

static inline int hp_h_xfer(void *ctx, uint64_t tid, uint16_t pageset,
                            const struct hv_ring_xfer_range *r, uint32_t n,
                            const void *msg, size_t size)
{
    struct hp *p = ctx;
    bool sig = false;
    int rc = hv_ring_write_xfer(p->h2g_w, HV_PKT_FLAG_COMPLETION_REQUESTED,
                                tid, pageset, r, n, msg, size, &sig);
    return hp_wrc(rc, sig);
}

static inline void hp_h_signal(void *ctx)
{
    ((struct hp *)ctx)->guest_sig++;
}

static inline void hp_h_buf(void *ctx, uint32_t id, bool recv,
                            struct vspn_buf *out)
{
    struct hp *p = ctx;
    vspn_vsp_buf_prepare(p->h.vsp, recv, hv_gpadl_get(p->h.gt, HX_RELID, id),
                         out);
}

static inline void hp_h_close(void *ctx, const char *why)
{
    struct hp *p = ctx;
    p->h.nclose++;
    snprintf(p->h.close_reason, sizeof(p->h.close_reason), "%s", why);
}

static inline void hp_h_rx(void *ctx, const void *f, size_t len, uint16_t tci,
                           bool has_vlan)
{
    struct hp *p = ctx;

    if (p->host_rx < HP_MAX_RX)
        p->host_frames[p->host_rx] = (struct hp_frame){
            (uint32_t)len, tci, has_vlan, hp_sum(f, len) };
    p->host_rx++;
}

static const struct vspn_vsp_ops hp_host_ops = {
    .send_completion = hp_h_comp,
    .send_xfer_page = hp_h_xfer,
    .signal = hp_h_signal,
    .buf_get = hp_h_buf,
    .close = hp_h_close,
    .rx_frame = hp_h_rx,
};

/* guest ops → g2h ring */
static inline int hp_g_inband(void *ctx, uint16_t flags, uint64_t tid,
                              const void *msg, size_t size)
{
    struct hp *p = ctx;
    bool sig = false;
    int rc = hv_ring_write_inband(p->g2h_w, flags, tid, msg, size, &sig);
    return hp_wrc(rc, sig);
}

static inline int hp_g_gpa(void *ctx, uint16_t flags, uint64_t tid,
                           const struct hv_ring_gpa_page *pages, uint32_t n,
                           const void *msg, size_t size)
{
    struct hp *p = ctx;
    bool sig = false;
    int rc = hv_ring_write_gpa(p->g2h_w, flags, tid, pages, n, msg, size,
                               &sig);
    return hp_wrc(rc, sig);
}

static inline int hp_g_comp(void *ctx, uint64_t tid, const void *msg,
                            size_t size)
{
    struct hp *p = ctx;
    bool sig = false;
    int rc = hv_ring_write_comp(p->g2h_w, tid, msg, size, &sig);
    return hp_wrc(rc, sig);
}

static inline void hp_g_signal(void *ctx)
{
    ((struct hp *)ctx)->host_sig++;
}

static inline void hp_g_rx(void *ctx, const void *f, size_t len, uint16_t tci,
                           bool has_vlan)
{
    struct hp *p = ctx;

    if (p->guest_rx < HP_MAX_RX)
        p->guest_frames[p->guest_rx] = (struct hp_frame){
            (uint32_t)len, tci, has_vlan, hp_sum(f, len) };
    p->guest_rx++;
}

static inline void hp_g_link(void *ctx, bool up)
{
    (void)up;
    ((struct hp *)ctx)->link_changes++;
}

static const struct vspn_vsc_ops hp_guest_ops = {
    .send_inband = hp_g_inband,
    .send_gpa = hp_g_gpa,
    .send_completion = hp_g_comp,
    .signal = hp_g_signal,
    .rx_frame = hp_g_rx,
    .link_change = hp_g_link,
};

static inline int hp_ring_pair(uint8_t **mem, struct hv_ring **w,
                               struct hv_ring **r, uint32_t accept)
{
    struct hv_ring_cfg wc = { .role = HV_RING_WRITER, .dsize = HP_RING_DSIZE };
    struct hv_ring_cfg rc_ = { .role = HV_RING_READER, .dsize = HP_RING_DSIZE,
                               .accept_types = accept };
    int rc;

    *mem = aligned_alloc(4096, HV_RING_CTL_SIZE + HP_RING_DSIZE);
    if (!*mem)
        return -ENOMEM;
    hv_ring_ctl_init(*mem);
    memset(*mem + HV_RING_CTL_SIZE, 0, HP_RING_DSIZE);
    rc = hv_ring_create_buf(&wc, *mem, w);
    if (!rc)
        rc = hv_ring_create_buf(&rc_, *mem, r);
    return rc;
}

/* Host VSP (cfg NULL: defaults) and guest VSC in `mode` (send buffer only
 * in LINUX mode). */
static inline int hp_init(struct hp *p, const struct vspn_vsp_cfg *cfg,
                          enum vspn_vsc_mode mode)
{
    struct hx *h = &p->h;
    int rc;

    memset(p, 0, sizeof(*p));
    h->gmem = aligned_alloc(4096, HX_GSIZE);
    if (!h->gmem)
        return -ENOMEM;
    memset(h->gmem, 0, HX_GSIZE);
    rc = hv_mem_create(&h->mem);
    if (!rc)
        rc = hv_mem_add_buffer(h->mem, h->gmem, HX_GBASE, HX_GSIZE);
    if (!rc)
        rc = hv_gpadl_table_create(NULL, NULL, &h->gt);
    if (!rc)
        rc = hx_make_gpadl(h->gt, h->mem, HX_RECV_GPADL, HX_RECV_OFF,
                           HX_RECV_SIZE);
    if (!rc)
        rc = hx_make_gpadl(h->gt, h->mem, HX_SEND_GPADL, HX_SEND_OFF,
                           HX_SEND_SIZE);
    if (!rc)
        rc = hp_ring_pair(&p->g2h_mem, &p->g2h_w, &p->g2h_r,
                          HV_PKT_TYPE_BIT(HV_PKT_INBAND) |
                              HV_PKT_TYPE_BIT(HV_PKT_GPA_DIRECT) |
                              HV_PKT_TYPE_BIT(HV_PKT_CANCEL_REQUEST) |
                              HV_PKT_TYPE_BIT(HV_PKT_COMP));
    if (!rc)
        rc = hp_ring_pair(&p->h2g_mem, &p->h2g_w, &p->h2g_r, 0);
    if (rc)
        return rc;
    if (cfg)
        h->cfg = *cfg;
    else
        hx_default_cfg(&h->cfg);
    h->cfg.mem = h->mem;
    rc = vspn_vsp_create(&h->cfg, &hp_host_ops, p, &h->vsp);
    if (rc)
        return rc;
    p->vcfg.mode = mode;
    p->vcfg.recv_buf = (struct vspn_vsc_buf){ h->gmem + HX_RECV_OFF,
                                              HX_GBASE + HX_RECV_OFF,
                                              HX_RECV_SIZE, HX_RECV_GPADL };
    if (mode == VSPN_VSC_LINUX)
        p->vcfg.send_buf = (struct vspn_vsc_buf){ h->gmem + HX_SEND_OFF,
                                                  HX_GBASE + HX_SEND_OFF,
                                                  HX_SEND_SIZE,
                                                  HX_SEND_GPADL };
    p->vcfg.tx_pages = (struct vspn_vsc_buf){ h->gmem + HX_TXP_OFF,
                                              HX_GBASE + HX_TXP_OFF,
                                              HX_TXP_SIZE, 0 };
    p->vcfg.mtu = 1500;
    p->guest_drains = true;
    return vspn_vsc_create(&p->vcfg, &hp_guest_ops, p, &p->vsc);
}

static inline void hp_fini(struct hp *p)
{
    vspn_vsc_destroy(p->vsc);
    vspn_vsp_destroy(p->h.vsp);
    hv_ring_destroy(p->g2h_w);
    hv_ring_destroy(p->g2h_r);
    hv_ring_destroy(p->h2g_w);
    hv_ring_destroy(p->h2g_r);
    free(p->g2h_mem);
    free(p->h2g_mem);
    hv_gpadl_table_destroy(p->h.gt);
    hv_mem_put(p->h.mem);
    free(p->h.gmem);
}

/* Moves packets until both rings are empty (or `max_rounds`).  Returns the
 * number of packets moved, or -1 if a ring broke. */
static inline int hp_pump(struct hp *p, int max_rounds)
{
    struct vspn_pkt_scratch sc;
    struct hv_ring_pkt rp;
    struct vspn_pkt pk;
    int moved = 0;

    for (int round = 0; round < max_rounds; round++) {
        int n = 0;

        while (!vspn_vsp_busy(p->h.vsp) &&
               hv_ring_read_pkt(p->g2h_r, p->pktbuf, sizeof(p->pktbuf),
                                &rp) == 0) {
            if (vspn_pkt_from_ring(&rp, &sc, &pk) == 0)
                vspn_vsp_handle_pkt(p->h.vsp, &pk);
            n++;
        }
        (void)hv_ring_read_end(p->g2h_r);
        while (p->guest_drains &&
               hv_ring_read_pkt(p->h2g_r, p->pktbuf, sizeof(p->pktbuf),
                                &rp) == 0) {
            if (vspn_pkt_from_ring(&rp, &sc, &pk) == 0)
                vspn_vsc_handle_pkt(p->vsc, &pk);
            n++;
        }
        (void)hv_ring_read_end(p->h2g_r);
        vspn_vsp_poll(p->h.vsp);
        vspn_vsc_poll(p->vsc);
        if (hv_ring_broken(p->g2h_r) || hv_ring_broken(p->h2g_r))
            return -1;
        moved += n;
        if (n == 0)
            break;
    }
    return moved;
}

#endif /* VSPN_HARNESS_H */
