/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * netvsp_port.c — the synthetic NIC switch port (see netvsp_port.h).
 */
#include "vsp-net/netvsp_port.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <jansson.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_pause.h>

#include "common/vsa_log.h"
#include "hv/hv_gpadl.h"
#include "hv/hv_mem.h"
#include "hv/hv_ring.h"
#include "vsp-net/nvsp.h"
#include "vsp-net/vsp.h"
#include "vswitch/port_class.h"
#include "vswitch/vsw_alloc.h"

VSA_LOG_MODULE(netvsp_port);

#define PKT_BUF_SIZE (VSPN_VSP_ASM_MAX + 4096)
/* Guest frames produced by one service pass and not yet handed to the
 * switch.  A ring packet carries at most FRAMES_PER_PKT frames (the host's
 * max_pkts_per_msg, vsp.h); the pass stops reading once the burst the
 * switch asked for is staged, so the stage never needs more than
 * burst - 1 + FRAMES_PER_PKT slots. */
#define STAGE_MAX 64
#define FRAMES_PER_PKT 8
/* Guest ring packets handled per service pass at most (completions of
 * receive slots and control messages produce no frame).  Checked before
 * a read: a packet read is consumed and must be handled. */
#define SERVICE_BUDGET 64
/* Bytes a pass may copy out of the guest before it stops reading: its
 * ring packets (len8 x 8, as hv_ring_read_pkt copies them) and what the
 * VSP gathered for them (g2h_copied: send-buffer sections, GPA ranges).
 * Checked before each read, so a pass reads at least one packet and
 * copies at most this plus one packet (a ring packet of up to 64 KiB and
 * a gather of up to VSPN_VSP_ASM_MAX).  Frames the switch takes stop a
 * pass long before (a full stage of mbuf-sized frames is under 100 KiB);
 * this bounds a guest whose large sends are all dropped, which never fill
 * the stage: SERVICE_BUDGET of them copied 64 x (64 + 64) KiB = 8 MiB in
 * one pass while the other ports of the lcore waited. */
#define SERVICE_BYTE_BUDGET (256u * 1024u)
#define DELIVER_BATCH 32
/* GPADL requests that wake the control thread at once, per attach; later
 * ones wait for its 100 ms tick, so a guest that loops on SEND_RECV_BUF
 * cannot make the lcore write an eventfd per message. */
#define GPADL_FAST_WAKES 8

/* attach / detach lines of all ports together, on top of each port's */
static struct vsa_ratelimit attach_all_rl =
    VSA_RATELIMIT_INIT_LABEL(NETVSP_PORT_LOG_ATTACH_ALL_BURST,
                             NETVSP_PORT_LOG_ATTACH_PERIOD_S,
                             "all synthetic ports");

enum { GPADL_IDLE, GPADL_WANTED, GPADL_ANSWERED };

struct netvsp_port {
    /* ---- shared between the lcores and the control thread ------------- */
    /* Serialises every use of the channel and the VSP: the lcore's service
     * pass (trylock: a busy lock skips the pass), tx_burst from any lcore
     * (spins: held for one pass at most), the control thread's attach,
     * detach and stats snapshot (a handful of stores). */
    atomic_flag lock;
    _Atomic bool active;            /* a channel is attached (hint; re-
                                       checked under the lock) */
    _Atomic bool link;
    _Atomic bool connected;         /* netvsp_port_set_connected */
    _Atomic bool mac_spoofing;      /* netvsp_port_set_mac_spoofing */
    /* lcore → control thread (efd wakes it): */
    _Atomic(const char *) violation; /* close the channel, this reason */
    _Atomic int gpadl_state;        /* GPADL_*: the parked packet's buffer */
    _Atomic uint64_t out_progress;  /* passes in which queued output moved
                                       (a guest signal for room was real) */
    int efd;
    /* counters (relaxed atomics: written by lcores, read anywhere) */
    _Atomic uint64_t rx_disconnected; /* guest frames dropped: disconnected */
    _Atomic uint64_t no_mbuf;       /* guest frames dropped: no mbuf */
    _Atomic uint64_t stage_full;    /* guest frames dropped: stage full */
    _Atomic uint64_t rx_too_long;   /* guest frames dropped: longer than
                                       an mbuf holds */
    _Atomic uint64_t spoofed;       /* guest frames dropped: source MAC not
                                       the NIC's */
    _Atomic uint64_t rx_detached;   /* guest frames dropped: staged when
                                       the channel detached */
    _Atomic uint64_t guest_refused; /* switch frames the VSP did not post */
    _Atomic uint64_t gpadl_requests; /* buffer GPADLs resolved for the VSP */
    _Atomic uint64_t byte_yields;   /* passes that reached
                                       SERVICE_BYTE_BUDGET */

    /* ---- under `lock` (set by attach before `active`) ------------------ */
    struct hv_chan *ch;
    struct hv_ring *in;
    struct vspn_vsp *vsp;
    bool failed;                    /* violation posted: touch nothing */
    bool link_applied;              /* `connected` as the VSP last heard it */
    const char *close_reason;       /* set by the VSP's close op */
    uint8_t *pkt_buf;
    struct vspn_pkt_scratch scratch;
    struct vspn_pkt parked;         /* waits for its GPADL (gpadl_state) */
    bool is_parked;
    unsigned gpadl_wakes;
    uint32_t gpadl_want;            /* id asked for (before GPADL_WANTED) */
    bool gpadl_want_recv;           /* ... as a receive buffer */
    struct vspn_buf buf_answer;     /* prepared (before GPADL_ANSWERED) */
    struct rte_mbuf *stage[STAGE_MAX];
    unsigned n_stage;
    uint8_t *lin;                   /* one linearised chained mbuf */

    /* ---- log budgets of this NIC's guest (lock-free, vsa_log.h) -------- */
    struct vsa_ratelimit vsp_rl;    /* the VSP's violations (lcore), when
                                     * the attach names no VM budget */
    struct vsa_ratelimit attach_rl; /* attach / detach lines (control) */

    /* ---- control thread ------------------------------------------------ */
    struct vsw *sw;
    struct rte_mempool *pool;
    char name[VSW_NAME_MAX];
    struct vsa_mac mac;
    uint32_t mtu;
    struct hv_vmbus_host *vmbus;
    uint64_t out_progress_seen;
};

static void np_lock(struct netvsp_port *np)
{
    while (atomic_flag_test_and_set_explicit(&np->lock, memory_order_acquire))
        rte_pause();
}

static bool np_trylock(struct netvsp_port *np)
{
    return !atomic_flag_test_and_set_explicit(&np->lock, memory_order_acquire);
}

static void np_unlock(struct netvsp_port *np)
{
    atomic_flag_clear_explicit(&np->lock, memory_order_release);
}

static void count(_Atomic uint64_t *c, uint64_t n)
{
    atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static void wake_control(struct netvsp_port *np)
{
    uint64_t one = 1;

    /* The port's own eventfd: a saturated counter only means "pending". */
    (void)!write(np->efd, &one, sizeof(one));
}

/* ---- lcore side: the service pass ---------------------------------------- */

/* A violation found on the lcore: the control thread closes the channel
 * (hv_chan_violation is its call); until it detaches, nothing touches the
 * channel. */
/* What one lcore pass writes to the guest goes out with one store of the
 * ring's write index and one signal decision (hv_ring.h, hold/commit). */
static void hold_out(struct netvsp_port *np)
{
    hv_ring_write_hold(hv_chan_out_ring(np->ch));
}

static void commit_out(struct netvsp_port *np)
{
    /* After a posted violation the channel is the control thread's, which
     * may be tearing the rings down (post_violation commits first). */
    if (np->failed)
        return;
    if (hv_ring_write_commit(hv_chan_out_ring(np->ch)))
        hv_chan_notify_guest(np->ch);
}

static void post_violation(struct netvsp_port *np, const char *why)
{
    /* What this pass answered before the violation still reaches the
     * guest (the answer to a first INIT before a second one, say). */
    commit_out(np);
    np->failed = true;
    atomic_store(&np->link, false);
    atomic_store_explicit(&np->violation, why, memory_order_release);
    wake_control(np);
}

/* True if `pkt` is a SEND_RECV_BUF (*recv) / SEND_SEND_BUF naming a GPADL:
 * the VSP will ask for the buffer (ops->buf_get), and only the control
 * thread may look GPADLs up, and prepare buffers (vspn_vsp_buf_prepare
 * allocates and sorts).  Reads the lcore's private copy of the packet. */
static bool wants_gpadl(const struct vspn_pkt *pkt, uint32_t *id, bool *recv)
{
    uint32_t type;

    if (pkt->type != HV_PKT_INBAND || pkt->data_size < 8)
        return false;
    memcpy(&type, pkt->data, 4);
    if (type != VSPN_NVSP_SEND_RECV_BUF && type != VSPN_NVSP_SEND_SEND_BUF)
        return false;
    memcpy(id, (const uint8_t *)pkt->data + 4, 4);
    *recv = type == VSPN_NVSP_SEND_RECV_BUF;
    return true;
}

static void handle(struct netvsp_port *np, const struct vspn_pkt *pkt)
{
    vspn_vsp_handle_pkt(np->vsp, pkt);
    if (np->close_reason)
        post_violation(np, np->close_reason);
}

/* The parked packet got its answer: handle it now.  A buffer the VSP did
 * not take (the table refused the message in this state) is dropped:
 * freeing is all the lcore does with it. */
static void unpark(struct netvsp_port *np)
{
    np->is_parked = false;
    handle(np, &np->parked);
    vspn_buf_release(&np->buf_answer);
    atomic_store_explicit(&np->gpadl_state, GPADL_IDLE, memory_order_relaxed);
}

/* One pass over the channel (lock held, attached, not failed): the link
 * change the control thread posted, the guest's ring until `want` frames
 * are staged, output that waited for ring space or receive slots. */
static void serve(struct netvsp_port *np, unsigned want)
{
    const struct vspn_vsp_stats *st = vspn_vsp_stats(np->vsp);
    unsigned budget = SERVICE_BUDGET, queued;
    bool connected = atomic_load(&np->connected), link;
    uint64_t copied0 = __atomic_load_n(&st->g2h_copied, __ATOMIC_RELAXED);
    uint64_t ring_bytes = 0;

    if (connected != np->link_applied) {
        np->link_applied = connected;
        vspn_vsp_set_link(np->vsp, connected); /* MEDIA_(DIS)CONNECT */
    }
    if (np->is_parked) {
        if (atomic_load_explicit(&np->gpadl_state, memory_order_acquire) !=
            GPADL_ANSWERED)
            goto out;
        unpark(np);
        if (np->failed)
            return;
    }
    while (np->n_stage < want &&
           np->n_stage + FRAMES_PER_PKT <= STAGE_MAX &&
           !vspn_vsp_busy(np->vsp) && budget > 0) {
        struct hv_ring_pkt rp;
        struct vspn_pkt pkt;
        uint32_t id;
        bool recv;
        int rc;

        if (ring_bytes + __atomic_load_n(&st->g2h_copied, __ATOMIC_RELAXED) -
                copied0 >= SERVICE_BYTE_BUDGET) {
            count(&np->byte_yields, 1); /* the rest waits for the next */
            break;
        }
        rc = hv_ring_read_pkt(np->in, np->pkt_buf, PKT_BUF_SIZE, &rp);
        if (rc == -EAGAIN)
            break;
        budget--;
        if (rc < 0) {
            post_violation(np, "guest ring violation");
            return;
        }
        ring_bytes += (uint32_t)rp.len8 * 8u;
        if (vspn_pkt_from_ring(&rp, &np->scratch, &pkt) < 0) {
            post_violation(np, "malformed packet ranges");
            return;
        }
        if (wants_gpadl(&pkt, &id, &recv)) {
            /* pkt_buf and scratch stay untouched: no read until unpark */
            np->parked = pkt;
            np->is_parked = true;
            np->gpadl_want = id;
            np->gpadl_want_recv = recv;
            count(&np->gpadl_requests, 1);
            atomic_store_explicit(&np->gpadl_state, GPADL_WANTED,
                                  memory_order_release);
            if (np->gpadl_wakes < GPADL_FAST_WAKES) {
                np->gpadl_wakes++;
                wake_control(np);
            }
            break;
        }
        handle(np, &pkt);
        if (np->failed)
            return;
    }
out:
    if (hv_ring_read_end(np->in))
        hv_chan_notify_guest(np->ch); /* a writer waits for room */
    queued = vspn_vsp_queued(np->vsp);
    if (queued && vspn_vsp_poll(np->vsp) < queued)
        atomic_store_explicit(&np->out_progress,
                              atomic_load_explicit(&np->out_progress,
                                                   memory_order_relaxed) + 1,
                              memory_order_relaxed);
    /* up only while the guest can take frames: a receive buffer and an
     * initialised RNDIS device (not before INITIALIZE, not after HALT) */
    link = vspn_vsp_has_recv_buf(np->vsp) &&
           vspn_vsp_rndis_state(np->vsp) == VSPN_RNDIS_INITIALIZED &&
           vspn_vsp_link(np->vsp) && connected;
    /* stored only when it changes: the control thread reads that line */
    if (atomic_load_explicit(&np->link, memory_order_relaxed) != link)
        atomic_store(&np->link, link);
}

uint16_t netvsp_port_poll(struct netvsp_port *np, struct rte_mbuf **pkts,
                          uint16_t n)
{
    unsigned got;

    if (!atomic_load_explicit(&np->active, memory_order_relaxed) ||
        !np_trylock(np))
        return 0;
    if (!atomic_load_explicit(&np->active, memory_order_relaxed) ||
        np->failed) {
        np_unlock(np);
        return 0;
    }
    hold_out(np);
    serve(np, n);
    commit_out(np);
    got = np->n_stage < n ? np->n_stage : n;
    memcpy(pkts, np->stage, got * sizeof(pkts[0]));
    np->n_stage -= got;
    memmove(np->stage, np->stage + got, np->n_stage * sizeof(pkts[0]));
    np_unlock(np);

    if (got && !atomic_load_explicit(&np->connected, memory_order_relaxed)) {
        /* Staged before the NIC was disconnected: never reaches the
         * switch. */
        rte_pktmbuf_free_bulk(pkts, got);
        count(&np->rx_disconnected, got);
        got = 0;
    }
    return (uint16_t)got;
}

/* Fills fr[i] for mbuf m: contiguous frames are used in place (an 802.1Q
 * tag is moved into the PPI by shifting the MAC addresses over it); a
 * chained mbuf is copied into np->lin, which one call can use for one
 * frame only (*lin_used). */
static void frame_of(struct netvsp_port *np, struct rte_mbuf *m,
                     struct vspn_frame *fr, bool *lin_used)
{
    const uint8_t *d = rte_pktmbuf_mtod(m, const uint8_t *);

    fr->has_vlan = false;
    fr->vlan_tci = 0;
    fr->len = m->pkt_len;
    if (!rte_pktmbuf_is_contiguous(m)) {
        if (*lin_used || m->pkt_len > RTE_MBUF_DEFAULT_DATAROOM) {
            fr->data = d;
            fr->len = 0; /* refused as a runt by the VSP */
            return;
        }
        *lin_used = true;
        fr->data = rte_pktmbuf_read(m, 0, m->pkt_len, np->lin);
        return;
    }
    /* A tagged frame travels untagged with the tag in the PPI. */
    if (m->pkt_len >= 18 && d[12] == 0x81 && d[13] == 0x00) {
        uint8_t *w = rte_pktmbuf_mtod(m, uint8_t *);
        fr->vlan_tci = (uint16_t)(d[14] << 8 | d[15]);
        memmove(w + 4, w, 12);
        fr->data = w + 4;
        fr->len = m->pkt_len - 4;
        fr->has_vlan = true;
        return;
    }
    fr->data = d;
}

uint16_t netvsp_port_xmit(struct netvsp_port *np, struct rte_mbuf **pkts,
                          uint16_t n)
{
    struct vspn_frame fr[DELIVER_BATCH];
    unsigned done = 0, posted = 0;

    if (!atomic_load_explicit(&np->active, memory_order_relaxed))
        return 0;
    np_lock(np);
    if (!atomic_load_explicit(&np->active, memory_order_relaxed) ||
        np->failed) {
        np_unlock(np);
        return 0; /* counted by the switch (tx_full) */
    }
    hold_out(np);
    while (done < n) {
        unsigned k = 0;
        bool lin_used = false;

        while (done + k < n && k < DELIVER_BATCH) {
            struct rte_mbuf *m = pkts[done + k];
            /* a second chained mbuf waits for the next batch */
            if (lin_used && !rte_pktmbuf_is_contiguous(m))
                break;
            frame_of(np, m, &fr[k], &lin_used);
            k++;
        }
        posted += vspn_vsp_deliver(np->vsp, fr, k);
        done += k;
    }
    commit_out(np);
    np_unlock(np);
    if (posted < n)
        count(&np->guest_refused, n - posted);
    rte_pktmbuf_free_bulk(pkts, n);
    return n;
}

static uint16_t np_rx(void *priv, uint16_t lcore_idx, struct rte_mbuf **pkts,
                      uint16_t n)
{
    (void)lcore_idx;
    return netvsp_port_poll(priv, pkts, n);
}

static uint16_t np_tx(void *priv, uint16_t lcore_idx, struct rte_mbuf **pkts,
                      uint16_t n)
{
    (void)lcore_idx;
    return netvsp_port_xmit(priv, pkts, n);
}

static bool np_link(void *priv)
{
    struct netvsp_port *np = priv;
    return atomic_load(&np->link);
}

/* The negotiated MTU (the host's before a guest negotiated one). */
static uint32_t np_mtu(void *priv)
{
    struct netvsp_port *np = priv;
    uint32_t mtu;

    np_lock(np);
    mtu = np->vsp ? vspn_vsp_mtu(np->vsp) : np->mtu;
    np_unlock(np);
    return mtu;
}

static void np_close(void *priv)
{
    struct netvsp_port *np = priv;

    netvsp_port_detach(np);
    if (np->efd >= 0)
        close(np->efd);
    vsa_free(np->pkt_buf);
    vsa_free(np->lin);
    vsw__free(np);
}

static const struct vsw_port_plugin synthetic_class = {
    .name = "synthetic",
    .rx_burst = np_rx,
    .tx_burst = np_tx,
    .link_get = np_link,
    .mtu_get = np_mtu,
    .close = np_close,
};

/* ---- VSP ops (lcore, lock held) -------------------------------------------- */

static int vsp_send_completion(void *ctx, uint64_t trans_id, const void *msg,
                               size_t size)
{
    struct netvsp_port *np = ctx;
    bool sig = false;
    int rc = hv_ring_write_comp(hv_chan_out_ring(np->ch), trans_id, msg, size,
                                &sig);
    return rc < 0 ? rc : sig;
}

static int vsp_send_xfer(void *ctx, uint64_t trans_id, uint16_t pageset_id,
                         const struct hv_ring_xfer_range *ranges, uint32_t n,
                         const void *msg, size_t size)
{
    struct netvsp_port *np = ctx;
    bool sig = false;
    /* completion-requested: the guest returns the receive slots */
    int rc = hv_ring_write_xfer(hv_chan_out_ring(np->ch),
                                HV_PKT_FLAG_COMPLETION_REQUESTED, trans_id,
                                pageset_id, ranges, n, msg, size, &sig);
    return rc < 0 ? rc : sig;
}

static int vsp_send_inband(void *ctx, uint16_t flags, uint64_t trans_id,
                           const void *msg, size_t size)
{
    struct netvsp_port *np = ctx;
    bool sig = false;
    int rc = hv_ring_write_inband(hv_chan_out_ring(np->ch), flags, trans_id,
                                  msg, size, &sig);
    return rc < 0 ? rc : sig;
}

static void vsp_signal(void *ctx)
{
    struct netvsp_port *np = ctx;
    hv_chan_notify_guest(np->ch);
}

/* Only the parked packet's buffer, which the control thread prepared (the
 * VSP asks for the one the parked message names). */
static void vsp_buf_get(void *ctx, uint32_t id, bool recv,
                        struct vspn_buf *out)
{
    struct netvsp_port *np = ctx;

    if (np->gpadl_want == id && np->gpadl_want_recv == recv) {
        *out = np->buf_answer;
        memset(&np->buf_answer, 0, sizeof(np->buf_answer));
    } else {
        memset(out, 0, sizeof(*out));
        out->status = -ENOENT;
    }
}

/* Only recorded here: the control thread closes the channel, which
 * detaches (destroys) the VSP; never inside its own call. */
static void vsp_close(void *ctx, const char *reason)
{
    struct netvsp_port *np = ctx;
    if (!np->close_reason)
        np->close_reason = reason ? reason : "protocol violation";
}

/* A guest frame: into an mbuf (with the 802.1Q tag of the VLAN PPI put
 * back into the frame, so the port's VLAN mode judges it like any other
 * tagged frame), staged for the switch. */
static void vsp_rx_frame(void *ctx, const void *frame, size_t len,
                         uint16_t vlan_tci, bool has_vlan)
{
    struct netvsp_port *np = ctx;
    size_t total = len + (has_vlan ? 4 : 0);
    struct rte_mbuf *m;
    uint8_t *p;

    if (len < 14 || total > RTE_MBUF_DEFAULT_DATAROOM) {
        count(&np->rx_too_long, 1); /* (the VSP passes no runt) */
        return;
    }
    /* frame is the VSP's copy: read once here */
    if (memcmp((const uint8_t *)frame + 6, np->mac.b, 6) != 0 &&
        !atomic_load_explicit(&np->mac_spoofing, memory_order_relaxed)) {
        count(&np->spoofed, 1);
        return;
    }
    if (np->n_stage == STAGE_MAX) {
        count(&np->stage_full, 1); /* more frames than max_pkts_per_msg */
        return;
    }
    m = rte_pktmbuf_alloc(np->pool);
    if (!m) {
        count(&np->no_mbuf, 1);
        return;
    }
    p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)total);
    if (!has_vlan) {
        memcpy(p, frame, len);
    } else {
        memcpy(p, frame, 12);
        p[12] = 0x81;
        p[13] = 0x00;
        p[14] = (uint8_t)(vlan_tci >> 8);
        p[15] = (uint8_t)vlan_tci;
        memcpy(p + 16, (const uint8_t *)frame + 12, len - 12);
    }
    np->stage[np->n_stage++] = m;
}

static const struct vspn_vsp_ops vsp_ops = {
    .send_completion = vsp_send_completion,
    .send_xfer_page = vsp_send_xfer,
    .send_inband = vsp_send_inband,
    .signal = vsp_signal,
    .buf_get = vsp_buf_get,
    .close = vsp_close,
    .rx_frame = vsp_rx_frame,
};

/* ---- control thread ------------------------------------------------------ */

int netvsp_port_create(struct vsw *sw, const char *name,
                       const struct vsa_mac *mac, uint32_t mtu,
                       struct netvsp_port **out, struct vsw_port **port,
                       struct vsa_errmsg *em)
{
    char label[VSA_RATELIMIT_LABEL_SIZE];
    struct netvsp_port *np;
    int rc;

    np = vsw__zmalloc("netvsp_port", sizeof(*np), RTE_CACHE_LINE_SIZE);
    if (!np)
        return vsa_errmsg_set(em, -ENOMEM, "out of memory");
    atomic_flag_clear(&np->lock);
    np->efd = -1;
    np->sw = sw;
    np->pool = vsw_pktmbuf_pool(sw);
    np->mac = *mac;
    np->mtu = mtu ? mtu : 1500;
    atomic_store(&np->connected, true);
    snprintf(np->name, sizeof(np->name), "%s", name);
    snprintf(label, sizeof(label), "port %s", name);
    vsa_ratelimit_init(&np->vsp_rl, NETVSP_PORT_LOG_VSP_BURST,
                       NETVSP_PORT_LOG_VSP_PERIOD_S, label);
    vsa_ratelimit_init(&np->attach_rl, NETVSP_PORT_LOG_ATTACH_BURST,
                       NETVSP_PORT_LOG_ATTACH_PERIOD_S, label);
    np->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    np->pkt_buf = vsa_malloc(PKT_BUF_SIZE);
    np->lin = vsa_malloc(RTE_MBUF_DEFAULT_DATAROOM);
    if (np->efd < 0 || !np->pkt_buf || !np->lin) {
        rc = vsa_errmsg_set(em, -ENOMEM, "port %s: out of memory", name);
        goto out_free;
    }
    rc = vsw_port_open_class(sw, name, &synthetic_class, np, mac, port, em);
    if (rc < 0)
        goto out_free;
    *out = np;
    return 0;

out_free:
    if (np->efd >= 0)
        close(np->efd);
    vsa_free(np->pkt_buf);
    vsa_free(np->lin);
    vsw__free(np);
    return rc;
}

int netvsp_port_attach(struct netvsp_port *np, struct hv_chan *ch,
                       struct hv_vmbus_host *vmbus, struct hv_mem *mem,
                       struct vsa_ratelimit *vm_rl)
{
    struct vspn_vsp_cfg cfg;
    struct vspn_vsp *vsp;
    struct hv_ring *in = hv_chan_in_ring(ch);
    int rc;

    if (np->vsp)
        return -EBUSY;
    if (!in || !hv_chan_out_ring(ch))
        return -EINVAL;
    memset(&cfg, 0, sizeof(cfg));
    cfg.mac = np->mac;
    cfg.mtu = np->mtu;
    cfg.link_up = atomic_load(&np->connected);
    cfg.mem = mem;
    cfg.name = np->name;
    cfg.log_rl = vm_rl ? vm_rl : &np->vsp_rl;
    rc = vspn_vsp_create(&cfg, &vsp_ops, np, &vsp);
    if (rc < 0)
        return rc;
    /* The lcore polls the ring: the guest need not signal new packets
     * (§5.3; signals that come anyway are damped by vesperd, vm.h). */
    hv_ring_mask_intr(in);
    np->vmbus = vmbus;
    np_lock(np);
    np->ch = ch;
    np->in = in;
    np->vsp = vsp;
    np->failed = false;
    np->close_reason = NULL;
    np->link_applied = cfg.link_up;
    np->gpadl_wakes = 0;
    atomic_store_explicit(&np->active, true, memory_order_relaxed);
    np_unlock(np);
    VSA_LOG_RL2(&np->attach_rl, &attach_all_rl, INFO, "port %s: guest "
                "channel %u attached", np->name, hv_chan_relid(ch));
    return 0;
}

void netvsp_port_detach(struct netvsp_port *np)
{
    struct vspn_vsp *vsp;
    struct hv_chan *ch;

    if (!np->vsp)
        return;
    /* After this no lcore is inside the channel, and none enters again. */
    np_lock(np);
    atomic_store_explicit(&np->active, false, memory_order_relaxed);
    vsp = np->vsp;
    ch = np->ch;
    np->vsp = NULL;
    np->ch = NULL;
    np->in = NULL;
    np_unlock(np);

    atomic_store(&np->link, false);
    vspn_buf_release(&np->buf_answer);
    np->is_parked = false;
    atomic_store(&np->gpadl_state, GPADL_IDLE);
    atomic_store(&np->violation, NULL);
    if (np->n_stage) {
        /* Staged from the guest, never taken by the switch. */
        rte_pktmbuf_free_bulk(np->stage, np->n_stage);
        count(&np->rx_detached, np->n_stage);
        np->n_stage = 0;
    }
    vspn_vsp_destroy(vsp); /* drops the buffer GPADL references */
    VSA_LOG_RL2(&np->attach_rl, &attach_all_rl, INFO, "port %s: guest "
                "channel %u detached", np->name, hv_chan_relid(ch));
    np->vmbus = NULL;
}

bool netvsp_port_service(struct netvsp_port *np)
{
    const char *why;
    uint64_t progress;
    bool work = false;

    if (!np->vsp)
        return false;
    why = atomic_exchange_explicit(&np->violation, NULL,
                                   memory_order_acquire);
    if (why) {
        hv_chan_violation(np->ch, why); /* detaches us */
        return true;
    }
    if (atomic_load_explicit(&np->gpadl_state, memory_order_acquire) ==
        GPADL_WANTED) {
        /* The lcore wrote the request, and the VSP's receive buffer that
         * the preparation reads, before its release store of WANTED; it
         * reads neither again before it sees ANSWERED. */
        vspn_vsp_buf_prepare(np->vsp, np->gpadl_want_recv,
                             hv_vmbus_host_gpadl_get(np->vmbus,
                                                     hv_chan_relid(np->ch),
                                                     np->gpadl_want),
                             &np->buf_answer);
        atomic_store_explicit(&np->gpadl_state, GPADL_ANSWERED,
                              memory_order_release);
        work = true;
    }
    progress = atomic_load_explicit(&np->out_progress, memory_order_relaxed);
    if (progress != np->out_progress_seen) {
        np->out_progress_seen = progress;
        work = true; /* the guest made the room the VSP waited for */
    }
    return work;
}

void netvsp_port_set_mac_spoofing(struct netvsp_port *np, bool allow)
{
    atomic_store(&np->mac_spoofing, allow);
}

void netvsp_port_set_connected(struct netvsp_port *np, bool connected)
{
    if (atomic_load(&np->connected) == connected)
        return;
    if (!connected)
        atomic_store(&np->link, false); /* before the guest hears of it */
    /* the lcore's next pass tells the VSP (MEDIA_(DIS)CONNECT) */
    atomic_store(&np->connected, connected);
    VSA_LOG(INFO, "port %s: NIC %s", np->name,
            connected ? "connected" : "disconnected");
}

bool netvsp_port_connected(const struct netvsp_port *np)
{
    return atomic_load(&np->connected);
}

int netvsp_port_fd(const struct netvsp_port *np)
{
    return np->efd;
}

void netvsp_port_fd_ack(struct netvsp_port *np)
{
    uint64_t junk;

    if (read(np->efd, &junk, sizeof(junk)) < 0) {
        /* nothing pending */
    }
}

/* What `vm show` prints of the VSP, copied under the lock so that the
 * lcore's pass never runs beside the reads. */
struct vsp_snapshot {
    bool attached;
    uint32_t nvsp_version, ndis_version, mtu;
    uint32_t recv_slots, recv_slots_free, recv_slot_size;
    uint64_t stats[VSPN_VSP_STATS_N];
};

static void vsp_snapshot(struct netvsp_port *np, struct vsp_snapshot *s)
{
    memset(s, 0, sizeof(*s));
    np_lock(np);
    if (np->vsp) {
        const struct vspn_vsp_stats *st = vspn_vsp_stats(np->vsp);
        s->attached = true;
        s->nvsp_version = vspn_vsp_nvsp_version(np->vsp);
        s->ndis_version = vspn_vsp_ndis_version(np->vsp);
        s->mtu = vspn_vsp_mtu(np->vsp);
        s->recv_slots = vspn_vsp_recv_slots(np->vsp);
        s->recv_slots_free = vspn_vsp_recv_slots_free(np->vsp);
        s->recv_slot_size = vspn_vsp_recv_slot_size(np->vsp);
        for (unsigned i = 0; i < VSPN_VSP_STATS_N; i++)
            s->stats[i] = vspn_vsp_stats_get(st, i);
    }
    np_unlock(np);
}

json_t *netvsp_port_stats_json(struct netvsp_port *np)
{
    struct vsp_snapshot s;
    json_t *o;

    vsp_snapshot(np, &s);
#define LOAD(f) ((json_int_t)atomic_load_explicit(&np->f, memory_order_relaxed))
    o = json_pack("{s:b,s:b,s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
                  "attached", s.attached,
                  "connected", (int)atomic_load(&np->connected),
                  "mac_spoofing", (int)atomic_load(&np->mac_spoofing),
                  "rx_disconnected", LOAD(rx_disconnected),
                  "no_mbuf", LOAD(no_mbuf),
                  "stage_full", LOAD(stage_full),
                  "rx_too_long", LOAD(rx_too_long),
                  "spoofed", LOAD(spoofed),
                  "rx_detached", LOAD(rx_detached),
                  "guest_refused", LOAD(guest_refused),
                  "gpadl_requests", LOAD(gpadl_requests),
                  "byte_yields", LOAD(byte_yields));
#undef LOAD
    if (o && s.attached) {
        json_t *c = json_object();
        json_object_set_new(o, "nvsp_version", json_integer(s.nvsp_version));
        json_object_set_new(o, "ndis_version", json_integer(s.ndis_version));
        json_object_set_new(o, "mtu", json_integer(s.mtu));
        /* The backlog toward the guest in its receive buffer: slots posted
         * and not yet completed (at most recv_slots, TESTS.md #26). */
        json_object_set_new(o, "recv_slots", json_integer(s.recv_slots));
        json_object_set_new(o, "recv_slots_in_flight",
                            json_integer(s.recv_slots - s.recv_slots_free));
        json_object_set_new(o, "recv_slot_size",
                            json_integer(s.recv_slot_size));
        for (unsigned i = 0; c && i < VSPN_VSP_STATS_N; i++)
            if (s.stats[i])
                json_object_set_new(c, vspn_vsp_stats_name(i),
                                    json_integer((json_int_t)s.stats[i]));
        if (c)
            json_object_set_new(o, "vsp", c);
    }
    return o;
}
