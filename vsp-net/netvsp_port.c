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
#include <rte_ring.h>

#include "common/vsa_log.h"
#include "common/vsa_tsan.h"
#include "hv/hv_gpadl.h"
#include "hv/hv_mem.h"
#include "hv/hv_ring.h"
#include "vsp-net/vsp.h"
#include "vsp-net/vm_port_queue.h"
#include "vswitch/port_class.h"

VSA_LOG_MODULE(netvsp_port);

#define RING_SIZE 1024          /* mbufs queued in each direction */
#define SERVICE_BUDGET 256      /* guest packets handled per service call */
#define DELIVER_BATCH 64
#define PKT_BUF_SIZE (VSPN_VSP_ASM_MAX + 4096)
/* Room in to_switch needed before another guest packet is read: one
 * packet carries at most 8 RNDIS frames (vsp.h), with margin. */
#define SWITCH_ROOM 16
/* Guest frames staged before one burst enqueue onto to_switch.  One
 * enqueue per frame read the lcore's consumer index each time, a cache
 * line that moves between the two cores on every dequeue; a burst pays
 * that once. */
#define STAGE_MAX 32

struct netvsp_port {
    /* lcore-facing */
    struct rte_ring *to_switch;     /* guest frames → rx_burst */
    struct rte_ring *to_guest;      /* tx_burst → guest */
    int tx_efd;
    _Atomic bool link;
    /* false: the NIC is disconnected (netvsp_port_set_connected); rx_burst
     * then frees what is still queued from the guest, counted. */
    _Atomic bool connected;
    _Atomic uint64_t rx_disconnected; /* guest frames dropped: disconnected */
    /* Set by the control thread when it stopped reading the guest's ring
     * because to_switch was full; the lcore clears it and wakes the
     * control thread (tx_efd) once it dequeued.  The guest's ring fills
     * meanwhile and the guest waits: back-pressure, not loss. */
    _Atomic bool switch_waiting;
    _Atomic uint64_t rx_ring_full;  /* guest frames dropped: to_switch full */
    _Atomic uint64_t tx_ring_full;  /* switch frames dropped: to_guest full */

    /* control thread */
    struct vsw *sw;
    struct rte_mempool *pool;
    char name[VSW_NAME_MAX];
    struct vsa_mac mac;
    uint32_t mtu;
    struct hv_chan *ch;
    struct hv_vmbus_host *vmbus;
    struct vspn_vsp *vsp;
    uint8_t *pkt_buf;
    struct vspn_pkt_scratch scratch;
    const char *close_reason;       /* set by the VSP's close op */
    uint64_t no_mbuf;
    uint64_t guest_full;            /* to_guest frames the VSP refused */
    uint64_t switch_full;           /* reads paused: to_switch was full */
    /* guest frames for to_switch, enqueued together by flush_stage() at
     * the latest when netvsp_port_service() returns */
    struct rte_mbuf *stage[STAGE_MAX];
    unsigned n_stage;
};

/* ---- lcore side ---------------------------------------------------------- */

static uint16_t np_rx(void *priv, uint16_t lcore_idx, struct rte_mbuf **pkts,
                      uint16_t n)
{
    struct netvsp_port *np = priv;
    unsigned got;

    (void)lcore_idx;
    got = rte_ring_sc_dequeue_burst(np->to_switch, (void **)pkts, n, NULL);
    VSA_TSAN_ACQUIRE(np->to_switch);
    if (got) {
        /* Pairs with the fence in switch_has_room(): either the control
         * thread sees this dequeue's room, or we see its flag. */
        atomic_thread_fence(memory_order_seq_cst);
        if (atomic_load_explicit(&np->switch_waiting, memory_order_relaxed) &&
            atomic_exchange_explicit(&np->switch_waiting, false,
                                     memory_order_relaxed)) {
            uint64_t one = 1;
            if (write(np->tx_efd, &one, sizeof(one)) < 0) {
                /* counter saturated: the control thread is awake anyway */
            }
        }
    }
    if (got && !atomic_load_explicit(&np->connected, memory_order_relaxed)) {
        /* Queued before the NIC was disconnected: never reaches the
         * switch. */
        rte_pktmbuf_free_bulk(pkts, got);
        atomic_fetch_add_explicit(&np->rx_disconnected, got,
                                  memory_order_relaxed);
        got = 0;
    }
    return (uint16_t)got;
}

static uint16_t np_tx(void *priv, uint16_t lcore_idx, struct rte_mbuf **pkts,
                      uint16_t n)
{
    struct netvsp_port *np = priv;

    (void)lcore_idx;
    return vm_port_queue_to_guest(np->to_guest, np->tx_efd, pkts, n,
                                  &np->tx_ring_full);
}

static bool np_link(void *priv)
{
    struct netvsp_port *np = priv;
    return atomic_load(&np->link);
}

static void np_close(void *priv)
{
    struct netvsp_port *np = priv;

    netvsp_port_detach(np);
    vm_port_queue_free(np->to_switch);
    vm_port_queue_free(np->to_guest);
    if (np->tx_efd >= 0)
        close(np->tx_efd);
    free(np->pkt_buf);
    rte_free(np);
}

static const struct vsw_port_plugin synthetic_class = {
    .name = "synthetic",
    .rx_burst = np_rx,
    .tx_burst = np_tx,
    .link_get = np_link,
    .close = np_close,
};

/* ---- VSP ops (control thread) -------------------------------------------- */

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
    int rc = hv_ring_write_xfer(hv_chan_out_ring(np->ch), 0, trans_id,
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

static struct hv_gpadl *vsp_gpadl_get(void *ctx, uint32_t id)
{
    struct netvsp_port *np = ctx;
    return hv_vmbus_host_gpadl_get(np->vmbus, hv_chan_relid(np->ch), id);
}

/* Only recorded here: closing the channel detaches (destroys) the VSP,
 * which must not happen inside its own call. */
static void vsp_close(void *ctx, const char *reason)
{
    struct netvsp_port *np = ctx;
    if (!np->close_reason)
        np->close_reason = reason ? reason : "protocol violation";
}

/* Puts the staged guest frames onto to_switch in one burst; what does not
 * fit is counted (rx_ring_full) and freed.  switch_has_room() keeps room
 * for them, so that only happens if the lcore stalls. */
static void flush_stage(struct netvsp_port *np)
{
    unsigned n = np->n_stage, done;

    if (n == 0)
        return;
    np->n_stage = 0;
    VSA_TSAN_RELEASE(np->to_switch);
    done = rte_ring_sp_enqueue_burst(np->to_switch, (void **)np->stage, n,
                                     NULL);
    if (done < n) {
        atomic_fetch_add_explicit(&np->rx_ring_full, n - done,
                                  memory_order_relaxed);
        rte_pktmbuf_free_bulk(&np->stage[done], n - done);
    }
}

/* A guest frame: into an mbuf (with the 802.1Q tag of the VLAN PPI put
 * back into the frame, so the port's VLAN mode judges it like any other
 * tagged frame), staged for the ring to the lcore. */
static void vsp_rx_frame(void *ctx, const void *frame, size_t len,
                         uint16_t vlan_tci, bool has_vlan)
{
    struct netvsp_port *np = ctx;
    size_t total = len + (has_vlan ? 4 : 0);
    struct rte_mbuf *m;
    uint8_t *p;

    if (len < 14 || total > RTE_MBUF_DEFAULT_DATAROOM) {
        np->no_mbuf++;
        return;
    }
    m = rte_pktmbuf_alloc(np->pool);
    if (!m) {
        np->no_mbuf++;
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
    if (np->n_stage == STAGE_MAX)
        flush_stage(np);
    np->stage[np->n_stage++] = m;
}

static const struct vspn_vsp_ops vsp_ops = {
    .send_completion = vsp_send_completion,
    .send_xfer_page = vsp_send_xfer,
    .send_inband = vsp_send_inband,
    .signal = vsp_signal,
    .gpadl_get = vsp_gpadl_get,
    .close = vsp_close,
    .rx_frame = vsp_rx_frame,
};

/* ---- control thread ------------------------------------------------------ */

int netvsp_port_create(struct vsw *sw, const char *name,
                       const struct vsa_mac *mac, uint32_t mtu,
                       struct netvsp_port **out, struct vsw_port **port,
                       struct vsa_errmsg *em)
{
    static _Atomic unsigned seq;
    struct netvsp_port *np;
    char rname[RTE_RING_NAMESIZE];
    unsigned id = atomic_fetch_add(&seq, 1);
    int rc;

    np = rte_zmalloc("netvsp_port", sizeof(*np), RTE_CACHE_LINE_SIZE);
    if (!np)
        return vsa_errmsg_set(em, -ENOMEM, "out of memory");
    np->tx_efd = -1;
    np->sw = sw;
    np->pool = vsw_pktmbuf_pool(sw);
    np->mac = *mac;
    np->mtu = mtu ? mtu : 1500;
    atomic_store(&np->connected, true);
    snprintf(np->name, sizeof(np->name), "%s", name);
    snprintf(rname, sizeof(rname), "nvsp_in%u", id);
    np->to_switch = rte_ring_create(rname, RING_SIZE, SOCKET_ID_ANY,
                                    RING_F_SP_ENQ | RING_F_SC_DEQ);
    snprintf(rname, sizeof(rname), "nvsp_out%u", id);
    np->to_guest = rte_ring_create(rname, RING_SIZE, SOCKET_ID_ANY,
                                   RING_F_SP_ENQ | RING_F_SC_DEQ);
    np->tx_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    np->pkt_buf = malloc(PKT_BUF_SIZE);
    if (!np->to_switch || !np->to_guest || np->tx_efd < 0 || !np->pkt_buf) {
        rc = vsa_errmsg_set(em, -ENOMEM, "port %s: out of memory", name);
        goto out_free;
    }
    rc = vsw_port_open_class(sw, name, &synthetic_class, np, mac, port, em);
    if (rc < 0)
        goto out_free;
    *out = np;
    return 0;

out_free:
    vm_port_queue_free(np->to_switch);
    vm_port_queue_free(np->to_guest);
    if (np->tx_efd >= 0)
        close(np->tx_efd);
    free(np->pkt_buf);
    rte_free(np);
    return rc;
}

int netvsp_port_attach(struct netvsp_port *np, struct hv_chan *ch,
                       struct hv_vmbus_host *vmbus, struct hv_mem *mem)
{
    struct vspn_vsp_cfg cfg;
    int rc;

    if (np->ch)
        return -EBUSY;
    memset(&cfg, 0, sizeof(cfg));
    cfg.mac = np->mac;
    cfg.mtu = np->mtu;
    cfg.link_up = atomic_load(&np->connected);
    cfg.mem = mem;
    cfg.name = np->name;
    np->ch = ch;
    np->vmbus = vmbus;
    rc = vspn_vsp_create(&cfg, &vsp_ops, np, &np->vsp);
    if (rc < 0) {
        np->ch = NULL;
        np->vmbus = NULL;
        return rc;
    }
    VSA_LOG(INFO, "port %s: guest channel %u attached", np->name,
            hv_chan_relid(ch));
    return 0;
}

void netvsp_port_detach(struct netvsp_port *np)
{
    struct rte_mbuf *m;

    if (!np->ch)
        return;
    atomic_store(&np->link, false);
    vspn_vsp_destroy(np->vsp); /* drops the buffer GPADL references */
    np->vsp = NULL;
    VSA_LOG(INFO, "port %s: guest channel %u detached", np->name,
            hv_chan_relid(np->ch));
    np->ch = NULL;
    np->vmbus = NULL;
    /* frames queued for a guest that is gone */
    while (rte_ring_sc_dequeue(np->to_guest, (void **)&m) == 0) {
        VSA_TSAN_ACQUIRE(np->to_guest);
        rte_pktmbuf_free(m);
    }
}

static void deliver(struct netvsp_port *np)
{
    struct rte_mbuf *ms[DELIVER_BATCH];
    struct vspn_frame fr[DELIVER_BATCH];
    uint8_t *lin = NULL;
    unsigned n;

    while ((n = rte_ring_sc_dequeue_burst(np->to_guest, (void **)ms,
                                          DELIVER_BATCH, NULL)) > 0) {
        unsigned got;

        VSA_TSAN_ACQUIRE(np->to_guest);
        for (unsigned i = 0; i < n; i++) {
            struct rte_mbuf *m = ms[i];
            const uint8_t *d = rte_pktmbuf_mtod(m, const uint8_t *);

            if (!rte_pktmbuf_is_contiguous(m)) {
                if (!lin)
                    lin = malloc((size_t)DELIVER_BATCH *
                                 RTE_MBUF_DEFAULT_DATAROOM);
                if (!lin || m->pkt_len > RTE_MBUF_DEFAULT_DATAROOM) {
                    fr[i].data = d;
                    fr[i].len = 0; /* refused as a runt by the VSP */
                    fr[i].has_vlan = false;
                    fr[i].vlan_tci = 0;
                    continue;
                }
                d = rte_pktmbuf_read(m, 0, m->pkt_len,
                                     lin + (size_t)i *
                                               RTE_MBUF_DEFAULT_DATAROOM);
            }
            /* A tagged frame travels untagged with the tag in the PPI. */
            if (m->pkt_len >= 18 && d[12] == 0x81 && d[13] == 0x00) {
                uint8_t *w = rte_pktmbuf_mtod(m, uint8_t *);
                if (d == w) {
                    fr[i].vlan_tci = (uint16_t)(d[14] << 8 | d[15]);
                    memmove(w + 4, w, 12);
                    d = w + 4;
                    fr[i].len = m->pkt_len - 4;
                    fr[i].has_vlan = true;
                    fr[i].data = d;
                    continue;
                }
            }
            fr[i].data = d;
            fr[i].len = m->pkt_len;
            fr[i].has_vlan = false;
            fr[i].vlan_tci = 0;
        }
        got = np->vsp ? vspn_vsp_deliver(np->vsp, fr, n) : 0;
        np->guest_full += n - got;
        rte_pktmbuf_free_bulk(ms, n);
    }
    free(lin);
}

/* True if to_switch has room for another guest packet's frames.  If not,
 * raises switch_waiting so the lcore wakes us when it made room. */
static bool switch_has_room(struct netvsp_port *np)
{
    /* the staged frames need their room too */
    if (np->n_stage + SWITCH_ROOM > STAGE_MAX)
        flush_stage(np);
    if (rte_ring_free_count(np->to_switch) >= np->n_stage + SWITCH_ROOM)
        return true;
    flush_stage(np); /* what fits goes now; the lcore can then drain it */
    atomic_store_explicit(&np->switch_waiting, true, memory_order_relaxed);
    atomic_thread_fence(memory_order_seq_cst);
    if (rte_ring_free_count(np->to_switch) < SWITCH_ROOM)
        return false;
    atomic_store_explicit(&np->switch_waiting, false, memory_order_relaxed);
    return true;
}

static void self_wake(struct netvsp_port *np)
{
    uint64_t one = 1;

    if (write(np->tx_efd, &one, sizeof(one)) < 0) {
        /* saturated: a wakeup is pending anyway */
    }
}

bool netvsp_port_service(struct netvsp_port *np)
{
    unsigned budget = SERVICE_BUDGET, queued;
    bool work = false;
    struct hv_ring *in;

    if (!np->ch || !np->vsp) {
        deliver(np); /* frees what the switch sent meanwhile */
        return false;
    }
    hv_chan_ack_signal(np->ch);
    queued = vspn_vsp_queued(np->vsp);
    in = hv_chan_in_ring(np->ch);
    while (in && !vspn_vsp_busy(np->vsp)) {
        struct hv_ring_pkt rp;
        struct vspn_pkt pkt;
        int rc;

        /* The budget is checked before the read: a packet read is
         * consumed and must be handled. */
        if (budget-- == 0) {
            /* More may be waiting, but other ports and clients get their
             * turn first: wake ourselves up again (the guest will not
             * signal, its ring never became empty). */
            self_wake(np);
            break;
        }
        if (!switch_has_room(np)) {
            np->switch_full++; /* the lcore wakes us when it made room */
            work = true;       /* the guest's frames wait for the switch */
            break;
        }
        rc = hv_ring_read_pkt(in, np->pkt_buf, PKT_BUF_SIZE, &rp);
        if (rc == -EAGAIN)
            break;
        if (rc < 0) {
            flush_stage(np);
            hv_chan_violation(np->ch, "guest ring violation");
            return true;
        }
        work = true;
        if (vspn_pkt_from_ring(&rp, &np->scratch, &pkt) < 0) {
            flush_stage(np);
            hv_chan_violation(np->ch, "malformed packet ranges");
            return true;
        }
        vspn_vsp_handle_pkt(np->vsp, &pkt);
        if (np->close_reason) {
            const char *why = np->close_reason;
            np->close_reason = NULL;
            flush_stage(np);
            hv_chan_violation(np->ch, why); /* may detach us */
            return true;
        }
    }
    flush_stage(np);
    if (in && hv_ring_read_end(in))
        hv_chan_notify_guest(np->ch);
    /* Output still queued waits for ring space: the ring writer asked the
     * guest (pending_send_sz) to signal us when it has read enough. */
    if (vspn_vsp_poll(np->vsp) < queued)
        work = true; /* the guest made the room it was asked for */
    atomic_store(&np->link, vspn_vsp_has_recv_buf(np->vsp) &&
                                vspn_vsp_link(np->vsp) &&
                                atomic_load(&np->connected));
    deliver(np);
    if (np->close_reason) {
        const char *why = np->close_reason;
        np->close_reason = NULL;
        hv_chan_violation(np->ch, why);
    }
    return work;
}

void netvsp_port_set_connected(struct netvsp_port *np, bool connected)
{
    if (atomic_load(&np->connected) == connected)
        return;
    atomic_store(&np->connected, connected);
    if (!connected)
        atomic_store(&np->link, false); /* before the guest hears of it */
    VSA_LOG(INFO, "port %s: NIC %s", np->name,
            connected ? "connected" : "disconnected");
    if (np->vsp)
        vspn_vsp_set_link(np->vsp, connected); /* MEDIA_(DIS)CONNECT */
    /* link (when connected) and queued indications */
    netvsp_port_service(np);
}

bool netvsp_port_connected(const struct netvsp_port *np)
{
    return atomic_load(&np->connected);
}

int netvsp_port_fd(const struct netvsp_port *np)
{
    return np->tx_efd;
}

void netvsp_port_fd_ack(struct netvsp_port *np)
{
    uint64_t junk;

    if (read(np->tx_efd, &junk, sizeof(junk)) < 0) {
        /* nothing pending */
    }
}

json_t *netvsp_port_stats_json(const struct netvsp_port *np)
{
    json_t *o = json_pack("{s:b,s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
        "attached", np->ch != NULL,
        "connected", (int)atomic_load(&np->connected),
        "rx_disconnected", (json_int_t)atomic_load(&np->rx_disconnected),
        "rx_ring_full", (json_int_t)atomic_load(&np->rx_ring_full),
        "tx_ring_full", (json_int_t)atomic_load(&np->tx_ring_full),
        "no_mbuf", (json_int_t)np->no_mbuf,
        "guest_refused", (json_int_t)np->guest_full,
        "switch_full", (json_int_t)np->switch_full,
        /* frames queued in the host toward the guest (lcore -> control
         * thread), at most to_guest_max; the rest is tx_ring_full */
        "to_guest_queued", (json_int_t)rte_ring_count(np->to_guest),
        "to_guest_max", (json_int_t)rte_ring_get_capacity(np->to_guest));

    if (o && np->vsp) {
        json_object_set_new(o, "nvsp_version",
                            json_integer(vspn_vsp_nvsp_version(np->vsp)));
        json_object_set_new(o, "ndis_version",
                            json_integer(vspn_vsp_ndis_version(np->vsp)));
        json_object_set_new(o, "mtu", json_integer(vspn_vsp_mtu(np->vsp)));
        /* The backlog toward the guest in its receive buffer: slots posted
         * and not yet completed (at most recv_slots, TESTS.md #26). */
        json_object_set_new(o, "recv_slots",
                            json_integer(vspn_vsp_recv_slots(np->vsp)));
        json_object_set_new(o, "recv_slots_in_flight",
                            json_integer(vspn_vsp_recv_slots(np->vsp) -
                                         vspn_vsp_recv_slots_free(np->vsp)));
        json_object_set_new(o, "recv_slot_size",
                            json_integer(vspn_vsp_recv_slot_size(np->vsp)));
        json_t *c = json_object();
        const struct vspn_vsp_stats *st = vspn_vsp_stats(np->vsp);
        for (unsigned i = 0; c && i < VSPN_VSP_STATS_N; i++) {
            uint64_t v = vspn_vsp_stats_get(st, i);
            if (v)
                json_object_set_new(c, vspn_vsp_stats_name(i),
                                    json_integer((json_int_t)v));
        }
        if (c)
            json_object_set_new(o, "vsp", c);
    }
    return o;
}
