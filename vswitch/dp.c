/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dp.c — the datapath lcore loop and the per-burst pipeline (DESIGN §3).
 *
 * Each lcore polls the ports the published snapshot assigns to it.  A burst
 * from one input port goes through two passes, as in netmap/VPP:
 *
 *   pass 1  parse the L2 header, classify the VLAN on the input port's mode,
 *           build the FDB keys of source and destination and prefetch their
 *           buckets;
 *   pass 2  learn the source, look up the destination, then send to one
 *           port (tagging per the output port's mode) or flood copies to the
 *           VLAN's other members; a frame longer than an output port's MTU
 *           is dropped on that port (`oversize`), before it is tagged,
 *           copied or queued.
 *
 * Output is batched per output port in this lcore's tx buffers.  A buffer
 * holding a whole burst is flushed right after the burst that filled it
 * (flush_full); the rest are flushed at the end of the loop iteration,
 * before the lcore reports quiescence, so that no mbuf for a port survives
 * a grace period (ports can then be closed safely after vsw_commit()).
 *
 * Nothing here allocates (except mbuf copies from the pool for floods and
 * captures), locks (except a per-port tx lock when a device has fewer tx
 * queues than there are lcores), or logs.  Every drop is counted.
 */
#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>

#include "vswitch/fdb_dp.h"
#include "vswitch/parse.h"
#include "vswitch/vsw_private.h"

/* Rx polls per port before the tx buffers are flushed (see the loop). */
#define VSW_RX_ROUNDS 16

struct vsw_pkt_meta {
    uint64_t dkey, skey;
    uint64_t dhash, shash;
    uint16_t vid;
    bool tagged;
    bool multicast;
};

static inline void count_drop(struct vsw_lcore *lc, uint16_t port,
                              enum vsw_drop why)
{
    vsw__ctr_add(&lc->counters[port].drops[why], 1);
}

/* Moves the 12 bytes of MAC addresses at src to dst (the two overlap by
 * 8 bytes when a tag is pushed or popped): two loads, then two stores, so
 * the compiler needs no library memmove for it. */
static inline void move_macs(uint8_t *dst, const uint8_t *src)
{
    uint64_t a;
    uint32_t b;

    memcpy(&a, src, sizeof(a));
    memcpy(&b, src + 8, sizeof(b));
    memcpy(dst, &a, sizeof(a));
    memcpy(dst + 8, &b, sizeof(b));
}

static inline void drop_pkt(struct vsw_lcore *lc, uint16_t port,
                            enum vsw_drop why, struct rte_mbuf *m)
{
    count_drop(lc, port, why);
    rte_pktmbuf_free(m);
}

static void flush_port(struct vsw_lcore *lc, struct vsw_snapshot *s,
                       uint16_t id)
{
    struct vsw_txbuf *tb = &lc->txbufs[id];
    struct vsw_dp_port *dp = s->ports[id];
    struct vsw_port_counters *c = &lc->counters[id];
    uint16_t n = tb->n, sent;
    uint64_t bytes = tb->bytes;
    struct vsw_capture *cap;

    tb->n = 0;
    tb->bytes = 0;
    if (unlikely(dp == NULL)) {
        /* cannot happen: buffers are flushed before the snapshot changes */
        rte_pktmbuf_free_bulk(tb->pkts, n);
        return;
    }
    cap = atomic_load_explicit(&dp->port->capture, memory_order_acquire);
    if (unlikely(cap != NULL) && (cap->dir & VSW_CAPTURE_TX))
        for (uint16_t i = 0; i < n; i++)
            vsw__capture_copy(lc->sw, lc, cap, tb->pkts[i], id);
    sent = dp->port->ops->tx_burst(dp->port, lc->idx, tb->pkts, n);
    if (unlikely(sent < n)) {
        for (uint16_t i = sent; i < n; i++)
            bytes -= tb->pkts[i]->pkt_len;
        vsw__ctr_add(&c->drops[VSW_DROP_TX_FULL], (uint64_t)(n - sent));
        rte_pktmbuf_free_bulk(&tb->pkts[sent], (unsigned)(n - sent));
    }
    vsw__ctr_add(&c->tx_packets, sent);
    vsw__ctr_add(&c->tx_bytes, bytes);
}

static inline void enqueue_tx(struct vsw_lcore *lc, struct vsw_snapshot *s,
                              uint16_t id, struct rte_mbuf *m)
{
    struct vsw_txbuf *tb = &lc->txbufs[id];

    if (tb->n == 0)
        lc->dirty[lc->n_dirty++] = id;
    else if (unlikely(tb->n == VSA_ARRAY_LEN(tb->pkts)))
        /* not reached while flush_full runs after every burst (a burst
         * adds at most VSW_BURST frames to a port); kept as the guard */
        flush_port(lc, s, id); /* stays in the dirty list */
    tb->pkts[tb->n++] = m;
    tb->bytes += m->pkt_len;
}

/* Applies the output port's tagging to m.  Returns false if m was freed. */
static inline bool egress_tag(struct vsw_lcore *lc, uint16_t out_id,
                              enum vlan_egress act, struct rte_mbuf *m,
                              bool tagged, uint16_t vid)
{
    uint8_t *p;

    if (act == VLAN_EGRESS_UNTAGGED) {
        if (!tagged)
            return true;
        p = rte_pktmbuf_mtod(m, uint8_t *);
        move_macs(p + VSW_VLAN_HLEN, p);
        rte_pktmbuf_adj(m, VSW_VLAN_HLEN);
        return true;
    }
    if (tagged) {
        p = rte_pktmbuf_mtod(m, uint8_t *);
        uint16_t tci = (uint16_t)((p[14] << 8 | p[15]) & 0xf000) | vid;
        p[14] = (uint8_t)(tci >> 8);
        p[15] = (uint8_t)tci;
        return true;
    }
    p = (uint8_t *)rte_pktmbuf_prepend(m, VSW_VLAN_HLEN);
    if (unlikely(p == NULL)) {
        drop_pkt(lc, out_id, VSW_DROP_NO_MBUF, m);
        return false;
    }
    move_macs(p, p + VSW_VLAN_HLEN);
    p[12] = VSW_ETHERTYPE_VLAN >> 8;
    p[13] = VSW_ETHERTYPE_VLAN & 0xff;
    p[14] = (uint8_t)(vid >> 8);
    p[15] = (uint8_t)vid;
    return true;
}

/* Whether m is longer than `out` can send (its MTU + 14, + 4 if m leaves
 * it tagged).  The limit is checked on the frame as it arrived, before
 * egress_tag: a tag that egress_tag pushes or pops changes the frame's
 * length and its limit alike (vsw_dp_port.max_len), so one compare
 * decides it whatever `act` is, and a frame dropped here was not
 * touched. */
static inline bool oversize(const struct vsw_dp_port *out,
                            const struct rte_mbuf *m,
                            const struct vsw_pkt_meta *pm)
{
    return m->pkt_len > out->max_len[pm->tagged];
}

/* `check_len`: false for a flood's copies, which flood() checked before it
 * made them. */
static inline __attribute__((always_inline)) void
send_one(struct vsw_lcore *lc, struct vsw_snapshot *s,
         struct vsw_dp_port *out, struct rte_mbuf *m,
         const struct vsw_pkt_meta *pm, bool check_len)
{
    enum vlan_egress act = vlan_port_egress(&out->vlan, pm->vid);

    if (unlikely(act == VLAN_EGRESS_SKIP)) {
        drop_pkt(lc, out->id, VSW_DROP_NO_MEMBER, m);
        return;
    }
    if (unlikely(!atomic_load_explicit(&out->port->link_up,
                                       memory_order_relaxed))) {
        drop_pkt(lc, out->id, VSW_DROP_LINK_DOWN, m);
        return;
    }
    if (check_len && unlikely(oversize(out, m, pm))) {
        drop_pkt(lc, out->id, VSW_DROP_OVERSIZE, m);
        return;
    }
    if (egress_tag(lc, out->id, act, m, pm->tagged, pm->vid))
        enqueue_tx(lc, s, out->id, m);
}

/* A frame too long for a member is counted `oversize` on that member and
 * no copy is made for it; if it fits no member, nothing else is counted
 * (each member that would have sent it counted it). */
static void flood(struct vsw_lcore *lc, struct vsw_snapshot *s,
                  struct vsw_dp_port *in, struct rte_mbuf *m,
                  const struct vsw_pkt_meta *pm)
{
    const struct vsw_dp_switch *dsw = in->sw;
    uint16_t targets[VSW_MAX_PORTS];
    uint16_t nt = 0;
    bool member_down = false, too_long = false;

    for (uint16_t i = 0; i < dsw->n_ports; i++) {
        uint16_t id = dsw->ports[i];
        struct vsw_dp_port *o = s->ports[id];

        if (id == in->id || o == NULL)
            continue;
        if (vlan_port_egress(&o->vlan, pm->vid) == VLAN_EGRESS_SKIP)
            continue;
        if (!atomic_load_explicit(&o->port->link_up, memory_order_relaxed)) {
            member_down = true;
            continue;
        }
        if (unlikely(oversize(o, m, pm))) {
            count_drop(lc, id, VSW_DROP_OVERSIZE);
            too_long = true;
            continue;
        }
        targets[nt++] = id;
    }
    if (nt == 0) {
        if (too_long) {
            rte_pktmbuf_free(m);
            return;
        }
        /* on the ingress port: no single output port is to blame */
        drop_pkt(lc, in->id,
                 member_down ? VSW_DROP_LINK_DOWN : VSW_DROP_NO_MEMBER, m);
        return;
    }
    for (uint16_t i = 0; i + 1 < nt; i++) {
        struct rte_mbuf *c = rte_pktmbuf_copy(m, lc->sw->pool, 0, UINT32_MAX);
        if (unlikely(c == NULL)) {
            count_drop(lc, targets[i], VSW_DROP_NO_MBUF);
            continue;
        }
        send_one(lc, s, s->ports[targets[i]], c, pm, false);
    }
    send_one(lc, s, s->ports[targets[nt - 1]], m, pm, false);
}

/* Pass 2 over the frames pass 1 admitted: learn, look up, forward.  Always
 * inlined, so that each probe gets its own loop. */
static inline VSA_ALWAYS_INLINE void
forward_frames(struct vsw_lcore *lc, struct vsw_snapshot *s,
               struct vsw_dp_port *in, struct rte_mbuf **pkts,
               const struct vsw_pkt_meta *meta, uint16_t n, uint32_t now_s,
               enum vsw_fdb_probe probe)
{
    struct vsw_fdb *fdb = in->sw->fdb;

    for (uint16_t i = 0; i < n; i++) {
        struct rte_mbuf *m = pkts[i];
        const struct vsw_pkt_meta *pm = &meta[i];
        uint16_t out;

        /* never learn a multicast source (an all-zero one: the FDB's miss
         * path, so that no frame pays for that check) */
        if (!((pm->skey >> 40) & 1)) {
            enum vsw_fdb_learn_result r = vsw_fdb_learn_probe(
                fdb, pm->skey, pm->shash, in->id, now_s, probe);
            if (unlikely(r == VSW_FDB_REFUSED))
                count_drop(lc, in->id, VSW_DROP_LEARN_REFUSED);
        }
        if (pm->multicast) {
            flood(lc, s, in, m, pm);
            continue;
        }
        out = vsw_fdb_lookup_probe(fdb, pm->dkey, pm->dhash, probe);
        if (out == VSW_FDB_PORT_NONE || s->ports[out] == NULL ||
            s->ports[out]->sw != in->sw) {
            flood(lc, s, in, m, pm);
        } else if (unlikely(out == in->id)) {
            drop_pkt(lc, in->id, VSW_DROP_SAME_PORT, m);
        } else {
            send_one(lc, s, s->ports[out], m, pm, true);
        }
    }
}

static void process_burst(struct vsw_lcore *lc, struct vsw_snapshot *s,
                          struct vsw_dp_port *in, struct rte_mbuf **pkts,
                          uint16_t n, uint32_t now_s)
{
    struct vsw_pkt_meta meta[VSW_BURST];
    struct vsw_fdb *fdb = in->sw->fdb;
    struct vsw_port_counters *ic = &lc->counters[in->id];
    struct vsw_capture *cap;
    uint16_t keep = 0;
    uint64_t bytes = 0;

    cap = atomic_load_explicit(&in->port->capture, memory_order_acquire);
    if (unlikely(cap != NULL) && (cap->dir & VSW_CAPTURE_RX))
        for (uint16_t i = 0; i < n; i++)
            vsw__capture_copy(lc->sw, lc, cap, pkts[i], in->id);

    /* Pass 1: parse, VLAN ingress, keys and prefetch. */
    for (uint16_t i = 0; i < n; i++) {
        struct rte_mbuf *m = pkts[i];
        struct vsw_pkt_meta *pm = &meta[keep];
        struct vsw_l2 l2;
        enum vlan_verdict v;

        bytes += m->pkt_len;
        if (i + 1 < n)
            rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void *));
        if (unlikely(vsw_parse_l2(rte_pktmbuf_mtod(m, const uint8_t *),
                                  m->data_len, &l2) < 0)) {
            drop_pkt(lc, in->id, VSW_DROP_RUNT, m);
            continue;
        }
        v = vlan_port_ingress(&in->vlan, l2.tagged, l2.tag_vid,
                              l2.inner_tagged, &pm->vid);
        if (unlikely(v != VLAN_ADMIT)) {
            /* vlan_verdict 1..4 map onto the first four drop reasons */
            drop_pkt(lc, in->id, (enum vsw_drop)(v - 1), m);
            continue;
        }
        pm->tagged = l2.tagged;
        pm->multicast = (l2.dst >> 40) & 1;
        pm->skey = vsw_fdb_key(pm->vid, l2.src);
        pm->shash = vsw_fdb_hash(fdb, pm->skey);
        vsw_fdb_prefetch(fdb, pm->shash);
        if (!pm->multicast) {
            pm->dkey = vsw_fdb_key(pm->vid, l2.dst);
            pm->dhash = vsw_fdb_hash(fdb, pm->dkey);
            vsw_fdb_prefetch(fdb, pm->dhash);
        }
        pkts[keep++] = m;
    }
    vsw__ctr_add(&ic->rx_packets, n);
    vsw__ctr_add(&ic->rx_bytes, bytes);

    /* Pass 2, with the bucket probe suited to the table's fill. */
    if (vsw_fdb_probe_mode(fdb) == VSW_FDB_PROBE_ALL)
        forward_frames(lc, s, in, pkts, meta, keep, now_s, VSW_FDB_PROBE_ALL);
    else
        forward_frames(lc, s, in, pkts, meta, keep, now_s,
                       VSW_FDB_PROBE_ORDERED);
}

/* Flushes the tx buffers that hold a whole burst or more and keeps the
 * others for the end of the rounds.  A frame that is sent at once frees its
 * mbuf while it is still in L1: the pool cache is LIFO, so the next rx
 * burst reuses the same few mbufs (l2-1k +7 %).  Small batches, as when one
 * trunk fans out to many access ports, still wait and go out together. */
static inline void flush_full(struct vsw_lcore *lc, struct vsw_snapshot *s)
{
    uint16_t keep = 0;

    for (uint16_t i = 0; i < lc->n_dirty; i++) {
        uint16_t id = lc->dirty[i];

        if (lc->txbufs[id].n >= VSW_BURST)
            flush_port(lc, s, id);
        else
            lc->dirty[keep++] = id;
    }
    lc->n_dirty = keep;
}

int vsw__lcore_main(void *arg)
{
    struct vsw_lcore *lc = arg;
    struct vsw *sw = lc->sw;
    struct rte_mbuf *pkts[VSW_BURST];

    rte_rcu_qsbr_thread_register(sw->qsbr, lc->idx);
    rte_rcu_qsbr_thread_online(sw->qsbr, lc->idx);
    while (!atomic_load_explicit(&sw->stop, memory_order_relaxed)) {
        struct vsw_snapshot *s =
            atomic_load_explicit(&sw->snap, memory_order_acquire);
        uint32_t now_s = vsw__now_s(sw);

        /* Poll again the ports that returned a full burst (VSW_RX_ROUNDS
         * polls in all) before flushing the partly filled buffers:
         * under load their tx bursts are then larger and each device's tx
         * call costs less per frame.  Ports that returned less wait for
         * the next loop, so idle ports cost one poll per loop (a trunk
         * fanning out to 16 access ports: 16 empty polls per loop instead
         * of up to 16 x VSW_RX_ROUNDS). */
        const uint16_t *poll = s->rx[lc->idx];
        uint16_t npoll = s->n_rx[lc->idx];

        for (unsigned round = 0; round < VSW_RX_ROUNDS && npoll; round++) {
            uint16_t nfull = 0;

            for (uint16_t i = 0; i < npoll; i++) {
                uint16_t id = poll[i];
                struct vsw_dp_port *in = s->ports[id];
                uint16_t nb = in->port->ops->rx_burst(in->port, lc->idx,
                                                      pkts, VSW_BURST);
                if (nb) {
                    process_burst(lc, s, in, pkts, nb, now_s);
                    flush_full(lc, s);
                }
                if (nb == VSW_BURST) /* nfull <= i: safe in place */
                    lc->rx_full[nfull++] = id;
            }
            poll = lc->rx_full;
            npoll = nfull;
        }
        for (uint16_t i = 0; i < lc->n_dirty; i++)
            flush_port(lc, s, lc->dirty[i]);
        lc->n_dirty = 0;
        vsw__rcu_quiescent(sw->qsbr, lc->idx);
    }
    vsw__rcu_leave(sw->qsbr, lc->idx);
    return 0;
}
