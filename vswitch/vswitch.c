/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vswitch.c — lifecycle of the forwarding plane, ports, and configuration
 * commits (snapshot build + RCU publication).  See vswitch.h.
 */
#include "vswitch/vswitch.h"

#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_debug.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>

#include "common/vsa_alloc.h"
#include "common/vsa_log.h"
#include "common/vsa_vdev.h"
#include "vswitch/fdb_dp.h"
#include "vswitch/parse.h"
#include "vswitch/port_class.h"
#include "vswitch/vsw_alloc.h"
#include "vswitch/vsw_private.h"

VSA_LOG_MODULE(vswitch);

_Static_assert(VSW_MAX_PORTS <= VSW_FDB_MAX_PORTS, "port ids fit the FDB");
_Static_assert(VSW_DROP_VLAN_UNTAGGED == VLAN_DROP_UNTAGGED - 1 &&
               VSW_DROP_VLAN_TAGGED == VLAN_DROP_TAGGED - 1 &&
               VSW_DROP_VLAN_NOT_ALLOWED == VLAN_DROP_NOT_MEMBER - 1 &&
               VSW_DROP_VLAN_RESERVED == VLAN_DROP_RESERVED - 1,
               "vlan verdicts map onto the first drop reasons");

static const char *const drop_names[] = {
#define VSW_DROP_NAME(e, name, help) name,
    VSW_DROP_REASONS(VSW_DROP_NAME)
#undef VSW_DROP_NAME
};

const char *vsw_drop_name(enum vsw_drop d)
{
    return (unsigned)d < VSW_DROP_MAX ? drop_names[d] : "?";
}

/* ---- Snapshots ---------------------------------------------------------- */

static void snapshot_free(struct vsw_snapshot *s)
{
    if (!s)
        return;
    vsw__free(s->port_mem);
    vsw__free(s->switch_mem);
    vsw__free(s);
}

static struct vsw_snapshot *snapshot_alloc(uint32_t n_ports,
                                           uint32_t n_switches)
{
    struct vsw_snapshot *s = vsw__zmalloc("vsw_snap", sizeof(*s),
                                          RTE_CACHE_LINE_SIZE);
    if (!s)
        return NULL;
    s->port_mem = vsw__zmalloc("vsw_snap_ports",
                               sizeof(struct vsw_dp_port) * (n_ports + 1),
                               RTE_CACHE_LINE_SIZE);
    if (s->port_mem)
        s->switch_mem = vsw__zmalloc("vsw_snap_sw",
                                     sizeof(struct vsw_dp_switch) *
                                         (n_switches + 1),
                                     RTE_CACHE_LINE_SIZE);
    if (!s->port_mem || !s->switch_mem) {
        snapshot_free(s);
        return NULL;
    }
    s->n_ports = n_ports;
    s->n_switches = n_switches;
    return s;
}

/* The frame lengths a port of MTU mtu sends (vsw_dp_port.max_len). */
static void dp_set_mtu(struct vsw_dp_port *dp, uint32_t mtu)
{
    dp->max_len[0] = (uint16_t)(mtu + VSW_ETH_HLEN);
    dp->max_len[1] = (uint16_t)(mtu + VSW_ETH_HLEN + VSW_VLAN_HLEN);
}

/* Swaps in `next`, waits for every lcore to pass a quiescent point, frees
 * the previous snapshot. */
static void publish(struct vsw *sw, struct vsw_snapshot *next)
{
    struct vsw_snapshot *old =
        atomic_exchange_explicit(&sw->snap, next, memory_order_acq_rel);

    vsw__rcu_synchronize(sw->qsbr);
    snapshot_free(old);
}

/* Out of memory for an MTU change's snapshot: repeats every tick. */
static struct vsa_ratelimit mtu_rl = VSA_RATELIMIT_INIT(5, 60);

/* Publishes a copy of the current snapshot in which every port's frame
 * limits follow its MTU (struct vsw_port: mtu), if one of them differs:
 * configuration is never changed in place under the lcores.  Out of
 * memory, the lcores keep the snapshot they have (a port whose MTU went
 * down then hands its device frames it may drop, as before there was a
 * limit) and vsw_tick tries again. */
static void mtu_republish(struct vsw *sw)
{
    struct vsw_snapshot *cur = atomic_load(&sw->snap), *s;
    bool differs = false;

    sw->mtu_stale = false;
    for (uint32_t i = 0; i < cur->n_ports; i++)
        if (cur->port_mem[i].max_len[0] !=
            cur->port_mem[i].port->mtu + VSW_ETH_HLEN)
            differs = true;
    if (!differs)
        return;
    s = snapshot_alloc(cur->n_ports, cur->n_switches);
    if (!s) {
        sw->mtu_stale = true;
        VSA_LOG_RL(&mtu_rl, WARN, "out of memory publishing a port's new "
                   "MTU; trying again");
        return;
    }
    memcpy(s->port_mem, cur->port_mem, sizeof(*cur->port_mem) * cur->n_ports);
    memcpy(s->switch_mem, cur->switch_mem,
           sizeof(*cur->switch_mem) * cur->n_switches);
    memcpy(s->n_rx, cur->n_rx, sizeof(s->n_rx));
    memcpy(s->rx, cur->rx, sizeof(s->rx));
    for (uint32_t i = 0; i < s->n_ports; i++) {
        struct vsw_dp_port *dp = &s->port_mem[i];

        dp->sw = &s->switch_mem[cur->port_mem[i].sw - cur->switch_mem];
        dp_set_mtu(dp, dp->port->mtu);
        s->ports[dp->id] = dp;
    }
    publish(sw, s);
}

/* What is known of p's MTU changed (struct vsw_port: mtu_*): its MTU
 * follows, and the lcores get it with a new snapshot if p is published. */
static void mtu_update(struct vsw *sw, struct vsw_port *p)
{
    uint32_t mtu = vsw__port_mtu(p);

    if (mtu == p->mtu)
        return;
    VSA_LOG_RL(&p->link_rl, INFO, "port %s: MTU %u (was %u)", p->name, mtu,
               p->mtu);
    p->mtu = mtu;
    mtu_republish(sw);
}

/* ---- Lifecycle ---------------------------------------------------------- */

int vsw_create(const struct vsw_params *p, struct vsw **out,
               struct vsa_errmsg *em)
{
    static const struct rte_mbuf_dynfield ts_desc = {
        .name = "vesper_capture_ts",
        .size = sizeof(uint64_t) * 2,
        .align = __alignof__(uint64_t),
    };
    struct vsw *sw;
    size_t qsz;
    unsigned lcore, idx = 0;
    int rc = -ENOMEM, journal_lock = -1;

    if (p->n_dp_lcores == 0 || p->n_dp_lcores > VSW_MAX_LCORES)
        return vsa_errmsg_set(em, -EINVAL,
                              "need 1..%d datapath lcores, have %u",
                              VSW_MAX_LCORES, p->n_dp_lcores);
    if (p->nic_journal_dir) {
        if (strlen(p->nic_journal_dir) >= sizeof(sw->nic_journal))
            return vsa_errmsg_set(em, -ENAMETOOLONG, "NIC state directory "
                                  "%s: name too long", p->nic_journal_dir);
        journal_lock = vsw__nic_journal_open(p->nic_journal_dir, em);
        if (journal_lock < 0)
            return journal_lock;
        /* before any port binds anything: NICs a crashed process held */
        vsw__nic_journal_recover(p->nic_journal_dir, p->nic_claim_dir);
    }
    if (p->nic_claim_dir && strlen(p->nic_claim_dir) >= sizeof(sw->nic_claims)) {
        if (journal_lock >= 0)
            close(journal_lock);
        return vsa_errmsg_set(em, -ENAMETOOLONG, "NIC claim directory %s: "
                              "name too long", p->nic_claim_dir);
    }
    sw = vsw__zmalloc("vsw", sizeof(*sw), RTE_CACHE_LINE_SIZE);
    if (!sw) {
        if (journal_lock >= 0)
            close(journal_lock);
        return vsa_errmsg_set(em, -ENOMEM, "out of memory");
    }
    sw->nic_journal_lock = journal_lock;
    sw->n_dp_lcores = p->n_dp_lcores;
    if (p->nic_journal_dir)
        snprintf(sw->nic_journal, sizeof(sw->nic_journal), "%s",
                 p->nic_journal_dir);
    if (p->nic_claim_dir)
        snprintf(sw->nic_claims, sizeof(sw->nic_claims), "%s",
                 p->nic_claim_dir);
    sw->tsc_hz = rte_get_tsc_hz();
    sw->tsc0 = rte_rdtsc() - sw->tsc_hz; /* now_s starts at 1 */
    sw->next_capture_id = 1;
    /* The largest per-lcore cache DPDK allows, unless the pool is small:
     * an lcore holds up to a tx buffer (two bursts) per output port between
     * rx and the flush, and with a smaller cache the PMDs' allocations go
     * to the pool's shared ring (l2-64k: +5 % with 512 instead of 256,
     * measured with VSW_RX_ROUNDS 8, before it became 16). */
    unsigned cache = RTE_MIN((unsigned)RTE_MEMPOOL_CACHE_MAX_SIZE,
                             p->n_mbufs / 32);
    sw->pool = vsw__pktmbuf_pool_create("vsw_pool", p->n_mbufs, cache, 0,
                                        RTE_MBUF_DEFAULT_BUF_SIZE,
                                        (int)rte_socket_id());
    if (sw->pool)
        sw->capture_pool = vsw__pktmbuf_pool_create(
            "vsw_cap_pool", 8191, 64, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
            (int)rte_socket_id());
    if (!sw->pool || !sw->capture_pool) {
        vsa_errmsg_set(em, -ENOMEM, "cannot create the packet pool of %u "
                       "mbufs: %s", p->n_mbufs, rte_strerror(rte_errno));
        goto out_free;
    }
    /* Registered once per process (later calls find it); never freed. */
    sw->capture_ts_offset = vsa_alloc_fail("rte_mbuf_dynfield_register")
                                ? -1
                                : rte_mbuf_dynfield_register(&ts_desc);
    if (sw->capture_ts_offset < 0) {
        vsa_errmsg_set(em, -ENOMEM, "cannot register the mbuf field");
        goto out_free;
    }
    qsz = rte_rcu_qsbr_get_memsize(p->n_dp_lcores);
    sw->qsbr = vsw__zmalloc("vsw_qsbr", qsz, RTE_CACHE_LINE_SIZE);
    if (!sw->qsbr || rte_rcu_qsbr_init(sw->qsbr, p->n_dp_lcores) != 0) {
        vsa_errmsg_set(em, -ENOMEM, "cannot create RCU state");
        goto out_free;
    }
    sw->snap = snapshot_alloc(0, 0);
    if (!sw->snap) {
        vsa_errmsg_set(em, -ENOMEM, "out of memory");
        goto out_free;
    }
    RTE_LCORE_FOREACH_WORKER(lcore) {
        struct vsw_lcore *lc;

        if (idx == p->n_dp_lcores)
            break;
        /* An lcore still running something (another vsw) cannot take the
         * datapath: rte_eal_remote_launch() below must not fail. */
        if (rte_eal_get_lcore_state(lcore) != WAIT) {
            rc = vsa_errmsg_set(em, -EBUSY, "lcore %u is busy", lcore);
            goto out_free;
        }
        lc = vsw__zmalloc_socket("vsw_lcore", sizeof(*lc),
                                 RTE_CACHE_LINE_SIZE,
                                 (int)rte_lcore_to_socket_id(lcore));
        if (lc) {
            lc->counters = vsw__zmalloc("vsw_ctr",
                                        sizeof(*lc->counters) * VSW_MAX_PORTS,
                                        RTE_CACHE_LINE_SIZE);
            if (lc->counters)
                lc->txbufs = vsw__zmalloc("vsw_txb",
                                          sizeof(*lc->txbufs) * VSW_MAX_PORTS,
                                          RTE_CACHE_LINE_SIZE);
        }
        if (!lc || !lc->counters || !lc->txbufs) {
            if (lc) {
                vsw__free(lc->counters);
                vsw__free(lc->txbufs);
                vsw__free(lc);
            }
            vsa_errmsg_set(em, -ENOMEM, "out of memory for lcore %u", lcore);
            goto out_free;
        }
        lc->sw = sw;
        lc->lcore_id = lcore;
        lc->idx = (uint16_t)idx;
        sw->lcores[idx++] = lc;
    }
    if (idx < p->n_dp_lcores) {
        rc = vsa_errmsg_set(em, -EINVAL, "%u datapath lcores wanted, EAL "
                            "has %u worker lcores", p->n_dp_lcores, idx);
        goto out_free;
    }
    for (idx = 0; idx < sw->n_dp_lcores; idx++) {
        int lrc = rte_eal_remote_launch(vsw__lcore_main, sw->lcores[idx],
                                        sw->lcores[idx]->lcore_id);
        RTE_VERIFY(lrc == 0); /* every lcore was seen waiting above */
    }
    *out = sw;
    return 0;

out_free:
    for (idx = 0; idx < VSW_MAX_LCORES; idx++) {
        if (sw->lcores[idx]) {
            vsw__free(sw->lcores[idx]->counters);
            vsw__free(sw->lcores[idx]->txbufs);
            vsw__free(sw->lcores[idx]);
        }
    }
    snapshot_free(sw->snap);
    vsw__free(sw->qsbr);
    vsw__mempool_free(sw->pool);
    vsw__mempool_free(sw->capture_pool);
    if (sw->nic_journal_lock >= 0)
        close(sw->nic_journal_lock);
    vsw__free(sw);
    return rc;
}

static void nic_unclaim(struct vsw *sw, int ifindex);

void vsw_destroy(struct vsw *sw)
{
    struct vsw_snapshot *empty, *last;

    if (!sw)
        return;
    /* Unpublish everything first so that ports can be closed safely. */
    empty = snapshot_alloc(0, 0);
    if (empty)
        publish(sw, empty);
    atomic_store(&sw->stop, true);
    rte_eal_mp_wait_lcore();
    vsw__rcu_joined(sw->qsbr);
    last = atomic_load(&sw->snap);
    if (!empty) {
        /* Out of memory for the empty snapshot: the lcores are gone (each
         * flushed its tx buffers before it left), so nobody reads the
         * published one any more; empty it in place, or vsw_port_close()
         * would refuse every port it still names. */
        memset(last->ports, 0, sizeof(last->ports));
        memset(last->n_rx, 0, sizeof(last->n_rx));
    }
    for (int i = 0; i < VSW_MAX_CAPTURES; i++) {
        if (sw->captures[i])
            vsw_capture_stop(sw, sw->captures[i]->id, NULL);
    }
    for (unsigned i = 0; i < VSW_MAX_PORTS; i++)
        if (sw->ports[i])
            vsw_port_close(sw, sw->ports[i]);
    for (uint32_t i = 0; i < sw->n_switches; i++)
        vsw_fdb_destroy(sw->switches[i].fdb);
    for (unsigned i = 0; i < sw->n_dp_lcores; i++) {
        vsw__free(sw->lcores[i]->counters);
        vsw__free(sw->lcores[i]->txbufs);
        vsw__free(sw->lcores[i]);
    }
    snapshot_free(last);
    vsw__free(sw->qsbr);
    vsw__mempool_free(sw->pool);
    vsw__mempool_free(sw->capture_pool);
    /* every port closed: every NIC given back, its entry and its claim
     * gone (a claim left would be a bug: dropped with the process) */
    for (unsigned i = 0; i < VSW_NIC_CLAIMS_MAX; i++)
        if (sw->nic_claim[i].ifindex)
            nic_unclaim(sw, sw->nic_claim[i].ifindex);
    if (sw->nic_journal_lock >= 0)
        close(sw->nic_journal_lock);
    vsw__free(sw);
}

/* ---- Ports -------------------------------------------------------------- */

static int alloc_port_id(struct vsw *sw)
{
    for (int i = 0; i < VSW_MAX_PORTS; i++)
        if (!sw->ports[i])
            return i;
    return -1;
}

/* The datapath lcore that polls the fewest open ports (the first of
 * them): round-robin while ports are only opened, and a function of the
 * open ports alone, so that a port opened and closed again (a failed
 * configuration apply) leaves no trace. */
static uint16_t pick_rx_lcore(const struct vsw *sw)
{
    uint32_t load[VSW_MAX_LCORES] = { 0 };
    uint16_t best = 0;

    for (unsigned i = 0; i < VSW_MAX_PORTS; i++)
        if (sw->ports[i])
            load[sw->ports[i]->rx_lcore]++;
    for (uint16_t l = 1; l < sw->n_dp_lcores; l++)
        if (load[l] < load[best])
            best = l;
    return best;
}

/* "<prefix><n>" with the smallest n no ethdev is named after: the vdev
 * name of a TAP or af_packet device we create (for the same reason, not a
 * counter). */
static void free_vdev_name(const char *prefix, char *out, size_t size)
{
    uint16_t id;

    for (unsigned n = 0;; n++) {
        snprintf(out, size, "%s%u", prefix, n);
        if (rte_eth_dev_get_port_by_name(out, &id) != 0)
            return;
    }
}

/* The kernel interface behind devargs "…,iface=NAME,…", if any: the first
 * argument (after the device name, as DPDK's kvargs split them) that is
 * iface=; vesperd's configuration allows one (ctl_config.c). */
static void devargs_iface(const char *devargs, char *out, size_t size)
{
    out[0] = '\0';
    for (const char *a = strchr(devargs, ','); a; a = strchr(a, ',')) {
        a++;
        if (strncmp(a, "iface=", 6) != 0)
            continue;
        size_t n = strcspn(a + 6, ",");
        if (n >= size)
            n = size - 1;
        memcpy(out, a + 6, n);
        out[n] = '\0';
        return;
    }
}

/* net_af_xdp reads one queue of the NIC (start_queue; vesperd's
 * configuration allows no queue_count above 1), and the kernel hands what
 * the NIC's RSS puts on its other receive queues to the host stack, past
 * the switch: on a veth of 4 queues 89 of 400 UDP flows reached the port.
 * So a NIC with more receive queues is refused, saying how to give it one.
 * A count that cannot be read is left to the open. */
static int af_xdp_queues_check(const struct vsw_port *p,
                               struct vsa_errmsg *em)
{
    bool from_channels;
    int n = vsw__hostif_rx_queues(p->ifname, &from_channels);

    if (n <= 1)
        return 0;
    if (!from_channels)
        /* a macvlan, a multi_queue TAP: no channel count to change */
        return vsa_errmsg_set(em, -EINVAL, "port %s: %s was made with up to "
                              "%d receive queues (its driver has no channel "
                              "count that ethtool -L could lower) and "
                              "net_af_xdp reads one: the kernel would hand "
                              "the frames on the others to the host, past "
                              "the switch; bind it with net_af_packet, which "
                              "reads them all", p->name, p->ifname, n);
    return vsa_errmsg_set(em, -EINVAL, "port %s: %s has %d receive queues "
                          "and net_af_xdp reads one: the kernel would hand "
                          "the flows the NIC puts on the other %d to the "
                          "host, past the switch; give the NIC one receive "
                          "queue (ethtool -L %s combined 1, or rx 1 where "
                          "it has no combined channels) or bind it with "
                          "net_af_packet, which reads them all",
                          p->name, p->ifname, n, n - 1, p->ifname);
}

/* Discards what a new device received before it carries traffic.  The
 * af_packet PMD opens its socket for every interface and binds it to its
 * own only afterwards, so its queue can hold other ports' frames; learning
 * from them would move other ports' MACs onto the new port.  Bounded.
 * Returns the number of frames discarded (drop reason open_drained: frames
 * of the NIC's own are among them). */
static uint64_t drain_rx(struct vsw_port *p)
{
    struct rte_mbuf *pkts[VSW_BURST];
    uint64_t drained = 0;

    for (int i = 0; i < 256; i++) {
        uint16_t n = p->ops->rx_burst(p, 0, pkts, VSW_BURST);
        if (n == 0)
            break;
        rte_pktmbuf_free_bulk(pkts, n);
        drained += n;
    }
    return drained;
}

/* Another open port bound to the kernel NIC of ifindex (not `self`). */
static const struct vsw_port *nic_holder(const struct vsw *sw,
                                         const struct vsw_port *self,
                                         int ifindex)
{
    for (unsigned i = 0; i < VSW_MAX_PORTS; i++) {
        const struct vsw_port *q = sw->ports[i];

        if (q && q != self && q->nic_prior.ifindex == ifindex)
            return q;
    }
    return NULL;
}

/* The open host vNIC port whose TAP is `ifname`, or NULL. */
static const struct vsw_port *tap_holder(const struct vsw *sw,
                                         const char *ifname)
{
    for (unsigned i = 0; i < VSW_MAX_PORTS; i++) {
        const struct vsw_port *q = sw->ports[i];

        if (q && q->cls == VSW_PORT_INTERNAL && !strcmp(q->ifname, ifname))
            return q;
    }
    return NULL;
}

/* The offloads port q recorded as on before its binding for the device
 * of ifindex, if q holds that device: binds it, or binds a NIC above it
 * (a VLAN on it, a bond it is a slave of: vsw_hostif_state.lower). */
static bool offloads_held(const struct vsw_port *q, int ifindex,
                          unsigned *offloads)
{
    const struct vsw_hostif_state *st = &q->nic_prior;

    if (st->ifindex == ifindex) {
        *offloads = st->offloads;
        return true;
    }
    for (unsigned i = 0; i < st->n_lower && i < VSW_HOSTIF_LOWER_MAX; i++)
        if (st->lower[i].ifindex == ifindex) {
            *offloads = st->lower[i].offloads;
            return true;
        }
    return false;
}

/* Another open port (not `self`) whose binding turned the offloads of the
 * device of ifindex off (or found them off), directly or under the NIC it
 * binds, with what it recorded as on before in *offloads; or NULL. */
static const struct vsw_port *offloads_holder(const struct vsw *sw,
                                              const struct vsw_port *self,
                                              int ifindex,
                                              unsigned *offloads)
{
    for (unsigned i = 0; i < VSW_MAX_PORTS; i++) {
        const struct vsw_port *q = sw->ports[i];

        if (q && q != self && q->nic_prior.ifindex &&
            offloads_held(q, ifindex, offloads))
            return q;
    }
    return NULL;
}

/* Two NICs over one device (eth0.100 and eth0.200 over eth0, or a NIC
 * and a VLAN on it): the first binding turned its offloads off, so the
 * second finds them off.  The second takes the first's record of what
 * was on, so that whichever lets go last turns them back on (and a
 * crash journal record of either does). */
static void offloads_share(const struct vsw *sw, struct vsw_port *p)
{
    struct vsw_hostif_state *st = &p->nic_prior;
    unsigned on;

    if (offloads_holder(sw, p, st->ifindex, &on))
        st->offloads = on;
    for (unsigned i = 0; i < st->n_lower && i < VSW_HOSTIF_LOWER_MAX; i++)
        if (offloads_holder(sw, p, st->lower[i].ifindex, &on))
            st->lower[i].offloads = on;
}

/* What p's release gives back: its record, less the offloads of devices
 * another open port still holds off (that one turns them on). */
static void offloads_unshare(const struct vsw *sw, const struct vsw_port *p,
                             struct vsw_hostif_state *give)
{
    unsigned on, n = 0;

    if (offloads_holder(sw, p, give->ifindex, &on))
        give->offloads = 0;
    for (unsigned i = 0; i < give->n_lower && i < VSW_HOSTIF_LOWER_MAX; i++)
        if (!offloads_holder(sw, p, give->lower[i].ifindex, &on))
            give->lower[n++] = give->lower[i];
    give->n_lower = n;
}

static bool is_replaced(const struct vsw_port *q,
                        const struct vsw_port_spec *spec)
{
    for (uint32_t i = 0; spec->replacing && i < spec->n_replacing; i++)
        if (spec->replacing[i] == q)
            return true;
    return false;
}

/* An open port other than p holding p's kernel NIC (nic_prior.ifindex)
 * that spec does not replace, or NULL. */
static const struct vsw_port *nic_taken(const struct vsw *sw,
                                        const struct vsw_port *p,
                                        const struct vsw_port_spec *spec)
{
    for (unsigned i = 0; i < VSW_MAX_PORTS; i++) {
        const struct vsw_port *q = sw->ports[i];

        if (q && q != p && q->nic_prior.ifindex == p->nic_prior.ifindex &&
            !is_replaced(q, spec))
            return q;
    }
    return NULL;
}

/* The devices whose claims a port's binding holds: its kernel NIC, then
 * the devices under it. */
static unsigned claim_count(const struct vsw_hostif_state *s)
{
    return 1 + (s->n_lower < VSW_HOSTIF_LOWER_MAX ? s->n_lower
                                                  : VSW_HOSTIF_LOWER_MAX);
}

static int claim_ifindex(const struct vsw_hostif_state *s, unsigned i)
{
    return i == 0 ? s->ifindex : s->lower[i - 1].ifindex;
}

/* The slot of this process's claim of `ifindex`, or -1. */
static int claim_slot(const struct vsw *sw, int ifindex)
{
    for (unsigned i = 0; i < VSW_NIC_CLAIMS_MAX; i++)
        if (sw->nic_claim[i].ifindex == ifindex)
            return (int)i;
    return -1;
}

/* Gives up this process's claim of device `ifindex`, if it has one. */
static void nic_unclaim(struct vsw *sw, int ifindex)
{
    int i = claim_slot(sw, ifindex);

    if (i < 0)
        return;
    vsw__nic_claim_release(sw->nic_claims, ifindex, sw->nic_claim[i].fd);
    sw->nic_claim[i].ifindex = 0;
    sw->nic_claim[i].fd = -1;
}

/* An open port other than p binds `ifindex` as its kernel NIC or has it
 * under its NIC. */
static bool claim_in_use(const struct vsw *sw, const struct vsw_port *p,
                         int ifindex)
{
    for (unsigned i = 0; i < VSW_MAX_PORTS; i++) {
        const struct vsw_port *q = sw->ports[i];

        if (!q || q == p || !q->nic_prior.ifindex)
            continue;
        for (unsigned k = 0; k < claim_count(&q->nic_prior); k++)
            if (claim_ifindex(&q->nic_prior, k) == ifindex)
                return true;
    }
    return false;
}

/* Gives up the claims of p's kernel NIC and the devices under it that no
 * other open port needs. */
static void nic_unclaim_port(struct vsw *sw, const struct vsw_port *p)
{
    for (unsigned k = 0; k < claim_count(&p->nic_prior); k++) {
        int ifindex = claim_ifindex(&p->nic_prior, k);

        if (!claim_in_use(sw, p, ifindex))
            nic_unclaim(sw, ifindex);
    }
}

/* Claims p's kernel NIC and the devices under it host-wide (nic_claim.c)
 * for this process, but for those it holds already (another port of it
 * binds them, or has them under its NIC); all or none. */
static int nic_claim(struct vsw *sw, const struct vsw_port *p,
                     struct vsa_errmsg *em)
{
    const struct vsw_hostif_state *s = &p->nic_prior;
    int taken[1 + VSW_HOSTIF_LOWER_MAX];
    unsigned n_taken = 0;
    struct vsa_errmsg why;

    if (!sw->nic_claims[0])
        return 0;
    for (unsigned k = 0; k < claim_count(s); k++) {
        int ifindex = claim_ifindex(s, k), slot, fd;

        if (claim_slot(sw, ifindex) >= 0)
            continue;
        slot = claim_slot(sw, 0);
        fd = slot < 0 ? vsa_errmsg_set(&why, -ENOSPC, "every one of the %d "
                                       "NIC claims is in use",
                                       VSW_NIC_CLAIMS_MAX)
                      : vsw__nic_claim_take(sw->nic_claims, ifindex,
                                            k == 0 ? s->ifname
                                                   : s->lower[k - 1].ifname,
                                            &why);
        if (fd < 0) {
            for (unsigned j = 0; j < n_taken; j++)
                nic_unclaim(sw, taken[j]);
            if (k == 0)
                return vsa_errmsg_set(em, fd, "port %s: %s", p->name,
                                      why.msg);
            return vsa_errmsg_set(em, fd, "port %s: the device under kernel "
                                  "NIC %s: %s", p->name, s->ifname, why.msg);
        }
        sw->nic_claim[slot].ifindex = ifindex;
        sw->nic_claim[slot].fd = fd;
        taken[n_taken++] = ifindex;
    }
    return 0;
}

/* Records the state of p's kernel NIC (p->ifname, a name or an altname)
 * before anything changes it, and makes p->ifname the kernel's name of
 * it.  One NIC, one port: a NIC another port holds is refused, whatever
 * name each used (the configuration's check compares the strings only),
 * unless that port is being replaced (spec->replacing: a port reopened on
 * the NIC before the old one is closed); the state before that one's
 * binding is then the one to go back to. */
static int nic_save(struct vsw *sw, struct vsw_port *p,
                    const struct vsw_port_spec *spec, struct vsa_errmsg *em)
{
    const struct vsw_port *q;
    char as[sizeof(q->bound_as) + 16] = "";
    int rc = vsw__hostif_save(p->ifname, &p->nic_prior, em);

    if (rc < 0)
        return rc;
    snprintf(p->bound_as, sizeof(p->bound_as), "%s", p->ifname);
    snprintf(p->ifname, sizeof(p->ifname), "%s", p->nic_prior.ifname);
    q = nic_taken(sw, p, spec);
    if (q) {
        if (strcmp(q->bound_as, p->ifname) != 0)
            snprintf(as, sizeof(as), " (as %s)", q->bound_as);
        if (strcmp(p->bound_as, p->ifname) != 0)
            rc = vsa_errmsg_set(em, -EBUSY, "port %s: interface %s is an "
                                "altname of kernel NIC %s (ifindex %d), "
                                "which port %s binds already%s; a kernel NIC "
                                "can be bound by one port only", p->name,
                                p->bound_as, p->ifname, p->nic_prior.ifindex,
                                q->name, as);
        else
            rc = vsa_errmsg_set(em, -EBUSY, "port %s: kernel NIC %s "
                                "(ifindex %d) is bound by port %s already%s; "
                                "a kernel NIC can be bound by one port only",
                                p->name, p->ifname, p->nic_prior.ifindex,
                                q->name, as);
        memset(&p->nic_prior, 0, sizeof(p->nic_prior));
        return rc;
    }
    if (strcmp(p->bound_as, p->ifname) != 0)
        VSA_LOG(INFO, "port %s: %s is an altname of kernel NIC %s "
                "(ifindex %d)", p->name, p->bound_as, p->ifname,
                p->nic_prior.ifindex);
    q = nic_holder(sw, p, p->nic_prior.ifindex);
    if (q) {
        p->nic_prior = q->nic_prior;
        return 0;
    }
    /* the first holder in this process: no other process may hold it */
    rc = nic_claim(sw, p, em);
    if (rc < 0) {
        memset(&p->nic_prior, 0, sizeof(p->nic_prior));
        return rc;
    }
    offloads_share(sw, p);
    /* on disk too, for a crash (nic_journal.c) */
    if (sw->nic_journal[0]) {
        rc = vsw__nic_journal_add(sw->nic_journal, &p->nic_prior, em);
        if (rc < 0) {
            nic_unclaim_port(sw, p);
            memset(&p->nic_prior, 0, sizeof(p->nic_prior));
        }
    }
    return rc;
}

/* Gives p's kernel NIC back as it was before p was opened, unless another
 * open port still holds it (that one does so when it goes), and the
 * devices under it, but for those another port holds too (offloads
 * stay off for it).  Never fails: a NIC gone meanwhile is nothing to
 * restore (but for the devices under it), the rest is logged; a NIC that
 * netlink could not reach keeps its crash journal record. */
static void nic_restore(struct vsw *sw, struct vsw_port *p)
{
    struct vsw_hostif_state give;

    if (!p->nic_prior.ifindex || nic_holder(sw, p, p->nic_prior.ifindex))
        return;
    give = p->nic_prior;
    offloads_unshare(sw, p, &give);
    if (p->kernel_gone) {
        /* deleted: its index may be another NIC's by now, and so may
         * a lower device's (deleting a link deletes its macvlans and
         * VLANs too) */
        vsw__nic_journal_lowers_still_there(&give);
        vsw__hostif_restore_lowers(&give);
    } else if (vsw__hostif_restore(&give) < 0) {
        /* not reached (logged): the record stays, for recover at the next
         * start or a binding of the NIC before that (take_kept) */
        if (sw->nic_journal[0])
            VSA_LOG(WARN, "port %s: kernel NIC %s not given back; its "
                    "state before stays recorded in %s for the next start",
                    p->name, p->nic_prior.ifname, sw->nic_journal);
        nic_unclaim_port(sw, p);
        return;
    }
    if (sw->nic_journal[0])
        vsw__nic_journal_del(sw->nic_journal, p->nic_prior.ifindex);
    /* given back: another process may bind it now */
    nic_unclaim_port(sw, p);
}

int vsw_port_open(struct vsw *sw, const struct vsw_port_spec *spec,
                  struct vsw_port **out, struct vsa_errmsg *em)
{
    struct vsw_port *p;
    char devargs[640], vdev[RTE_ETH_NAME_MAX_LEN];
    uint64_t drained = 0;
    bool set_up = false;
    unsigned taken;
    int id, rc;

    id = alloc_port_id(sw);
    if (id < 0)
        return vsa_errmsg_set(em, -ENOSPC, "all %d port ids are in use",
                              VSW_MAX_PORTS);
    p = vsw__zmalloc("vsw_port", sizeof(*p), RTE_CACHE_LINE_SIZE);
    if (!p)
        return vsa_errmsg_set(em, -ENOMEM, "out of memory");
    p->link_rl.burst = 10; /* link log lines: 10 per 10 s */
    p->link_rl.period_s = 10;
    p->id = (uint16_t)id;
    p->cls = spec->cls;
    snprintf(p->name, sizeof(p->name), "%s", spec->name);

    switch (spec->cls) {
    case VSW_PORT_DPDK:
        if (!spec->devargs || !spec->devargs[0]) {
            rc = vsa_errmsg_set(em, -EINVAL, "port %s: devargs missing",
                                spec->name);
            goto out_free;
        }
        snprintf(devargs, sizeof(devargs), "%s", spec->devargs);
        devargs_iface(devargs, p->ifname, sizeof(p->ifname));
        /* af_packet sees only what the kernel NIC lets through */
        set_up = strncmp(devargs, "net_af_packet", 13) == 0 && p->ifname[0];
        break;
    case VSW_PORT_INTERNAL:
        if (!spec->ifname || !spec->ifname[0]) {
            rc = vsa_errmsg_set(em, -EINVAL, "port %s: ifname missing",
                                spec->name);
            goto out_free;
        }
        /* Looked for first: net_tap makes its TAPs multi-queue, so it
         * joins a multi-queue TAP of that name instead of failing (another
         * vesperd's host vNIC, QEMU's): the kernel would then split that
         * TAP's traffic between both, and our close would set it down. */
        taken = if_nametoindex(spec->ifname);
        if (taken) {
            const struct vsw_port *own = tap_holder(sw, spec->ifname);

            if (own)
                /* a port renamed in one change: its TAP cannot pass
                 * from the old port to the new one */
                rc = vsa_errmsg_set(em, -EEXIST, "port %s: interface %s "
                                    "is the host vNIC of port %s; to move "
                                    "it to another port, delete port %s "
                                    "first, then add this one",
                                    spec->name, spec->ifname, own->name,
                                    own->name);
            else
                rc = vsa_errmsg_set(em, -EEXIST, "port %s: interface %s "
                                    "already exists on this host (ifindex "
                                    "%u): a host vNIC is a new TAP that "
                                    "vesperd makes; choose another name or "
                                    "delete that interface", spec->name,
                                    spec->ifname, taken);
            goto out_free;
        }
        free_vdev_name(VSA_VDEV_TAP_PREFIX, vdev, sizeof(vdev));
        snprintf(devargs, sizeof(devargs), "%s,iface=%s", vdev,
                 spec->ifname);
        snprintf(p->ifname, sizeof(p->ifname), "%s", spec->ifname);
        p->mtu_conf = spec->mtu; /* 0: the new TAP's, the kernel's 1500 */
        break;
    case VSW_PORT_UPLINK:
        if (spec->devargs && spec->devargs[0]) {
            snprintf(devargs, sizeof(devargs), "%s", spec->devargs);
            devargs_iface(devargs, p->ifname, sizeof(p->ifname));
        } else if (spec->ifname && spec->ifname[0]) {
            /* looked up (must exist) by nic_save() below, which makes
             * p->ifname the kernel's name of it */
            set_up = true;
            free_vdev_name(VSA_VDEV_AF_PACKET_PREFIX, vdev, sizeof(vdev));
            snprintf(devargs, sizeof(devargs), "%s,iface=%s,qpairs=1", vdev,
                     spec->ifname);
            snprintf(p->ifname, sizeof(p->ifname), "%s", spec->ifname);
        } else {
            rc = vsa_errmsg_set(em, -EINVAL,
                                "port %s: uplink needs ifname or devargs",
                                spec->name);
            goto out_free;
        }
        break;
    default:
        rc = vsa_errmsg_set(em, -EINVAL, "port %s: unknown class",
                            spec->name);
        goto out_free;
    }

    /* af_packet / af_xdp take frames from a kernel NIC: its carrier is the
     * port's link, and the host should stay off it (vsw__hostif_isolate).
     * Receive offloads that merge frames (GRO, LRO, hardware GRO) go off
     * before the PMD opens it (vsw__hostif_offloads_off), and on the
     * devices under it, which merge its frames if it is a VLAN, macvlan or
     * bond (vsw__hostif_lowers_off): the PMD would cut such frames short.
     * What the binding changes there (up,
     * promiscuous: ours or the PMD's; the offloads; the isolation) is
     * recorded first and put back on every failure below and on close
     * (nic_restore). */
    p->kernel_bound = p->ifname[0] &&
                      (strncmp(devargs, "net_af_packet", 13) == 0 ||
                       strncmp(devargs, "net_af_xdp", 10) == 0);
    if (p->kernel_bound && strncmp(devargs, "net_af_xdp", 10) == 0) {
        rc = af_xdp_queues_check(p, em);
        if (rc < 0)
            goto out_free;
    }
    if (p->kernel_bound) {
        rc = nic_save(sw, p, spec, em);
        if (rc < 0)
            goto out_free;
        /* under it first: a macvlan's GRO follows its lower device's */
        vsw__hostif_lowers_off(&p->nic_prior);
        vsw__hostif_offloads_off(p->ifname);
        /* before the NIC is set up: IPv6 switched off after that sends
         * what addrconf began (DAD, an MLD report) moments later, into
         * the port as frames from the wire */
        vsw__hostif_isolate(p->ifname);
        /* an uplink by ifname: af_packet binds the kernel's name */
        if (spec->cls == VSW_PORT_UPLINK && set_up)
            snprintf(devargs, sizeof(devargs), "%s,iface=%s,qpairs=1", vdev,
                     p->ifname);
    }
    if (set_up) {
        rc = vsw__hostif_set_up_promisc(p->ifname, true, em);
        if (rc < 0)
            goto out_restore;
    }
    rc = vsw__ethdev_open(sw, p, devargs, em);
    if (rc < 0) {
        struct vsw_hostif_info info;
        struct vsa_errmsg ignore;

        /* net_tap says only EINVAL when the name is taken by a veth, a
         * bridge or someone else's TAP: name the actual fault */
        if (spec->cls == VSW_PORT_INTERNAL && rc != -ENOMEM &&
            vsw__hostif_lookup(spec->ifname, &info, &ignore) == 0)
            rc = vsa_errmsg_set(em, -EEXIST, "interface %s already exists "
                                "on this host (ifindex %d): a host vNIC is "
                                "a new TAP that vesperd makes; choose "
                                "another name or delete that interface",
                                spec->ifname, info.ifindex);
        vsa_errmsg_prefix(em, "port %s", spec->name);
        goto out_restore;
    }
    if (p->kernel_bound)
        drained = drain_rx(p);
    if (spec->cls == VSW_PORT_INTERNAL) {
        rc = vsw__hostif_set_addrs(spec->ifname, spec->addresses,
                                   spec->n_addresses, spec->mtu, em);
        if (rc < 0) {
            vsa_errmsg_prefix(em, "port %s", spec->name);
            p->ops->close(sw, p);
            goto out_free;
        }
    }
    if (p->kernel_bound) {
        struct vsw_hostif_info info;
        struct vsa_errmsg ignore;

        p->kernel_carrier = true;
        rc = vsw__hostif_lookup(p->ifname, &info, &ignore);
        if (rc == -ENOMEM) {
            /* out of memory fails the open like everywhere else; any
             * other error is left to the carrier poll (vsw_tick) */
            vsa_errmsg_set(em, rc, "port %s: netlink: out of memory",
                           spec->name);
            p->ops->close(sw, p);
            goto out_restore;
        }
        if (rc == 0) {
            p->kernel_carrier = info.up && info.carrier;
            atomic_store(&p->link_up, p->kernel_carrier &&
                                          atomic_load(&p->link_up));
            p->mtu_kernel = info.mtu;
        }
        if (p->nic_prior.n_v4)
            VSA_LOG(WARN, "port %s: kernel NIC %s keeps its %u IPv4 "
                    "address%s (%s%s): the host still talks on it directly, "
                    "past the switch; give the host a vNIC on the switch "
                    "(management_os) and move %s there", p->name, p->ifname,
                    p->nic_prior.n_v4, p->nic_prior.n_v4 == 1 ? "" : "es",
                    p->nic_prior.v4_first,
                    p->nic_prior.n_v4 > 1 ? ", ..." : "",
                    p->nic_prior.n_v4 == 1 ? "it" : "them");
    }
    p->mtu = vsw__port_mtu(p);
    p->rx_lcore = pick_rx_lcore(sw);
    sw->ports[id] = p;
    vsw_clear_port_stats(sw, p);
    p->open_drained = drained; /* after the clear: the port's first drops */
    VSA_LOG(INFO, "port %s opened (id %d, %s, MTU %u)", p->name, id,
            p->devname, p->mtu);
    *out = p;
    return 0;

out_restore:
    nic_restore(sw, p);
out_free:
    vsw__free(p);
    return rc;
}

/* ---- plugged-in port classes (port_class.h) ------------------------------ */

static uint16_t class_rx(struct vsw_port *p, uint16_t lcore_idx,
                         struct rte_mbuf **pkts, uint16_t n)
{
    return p->pclass->rx_burst(p->pclass_priv, lcore_idx, pkts, n);
}

static uint16_t class_tx(struct vsw_port *p, uint16_t lcore_idx,
                         struct rte_mbuf **pkts, uint16_t n)
{
    return p->pclass->tx_burst(p->pclass_priv, lcore_idx, pkts, n);
}

static bool class_link(struct vsw_port *p)
{
    return p->pclass->link_get(p->pclass_priv);
}

static void class_close(struct vsw *sw, struct vsw_port *p)
{
    (void)sw;
    p->pclass->close(p->pclass_priv);
}

/* A plugged-in class's MTU (vsw_port_plugin.mtu_get). */
static uint32_t class_mtu(struct vsw_port *p)
{
    uint32_t mtu = p->pclass->mtu_get ? p->pclass->mtu_get(p->pclass_priv)
                                      : 0;

    return mtu ? mtu : VSW_PORT_MTU_DEFAULT;
}

const struct vsw_port_ops vsw__class_ops = {
    .name = "class",
    .rx_burst = class_rx,
    .tx_burst = class_tx,
    .link_get = class_link,
    .close = class_close,
};

int vsw_port_open_class(struct vsw *sw, const char *name,
                        const struct vsw_port_plugin *cls, void *priv,
                        const struct vsa_mac *mac, struct vsw_port **out,
                        struct vsa_errmsg *em)
{
    struct vsw_port *p;
    int id = alloc_port_id(sw);

    if (id < 0)
        return vsa_errmsg_set(em, -ENOSPC, "all %d port ids are in use",
                              VSW_MAX_PORTS);
    p = vsw__zmalloc("vsw_port", sizeof(*p), RTE_CACHE_LINE_SIZE);
    if (!p)
        return vsa_errmsg_set(em, -ENOMEM, "out of memory");
    p->link_rl.burst = 10; /* link log lines: 10 per 10 s */
    p->link_rl.period_s = 10;
    p->id = (uint16_t)id;
    p->cls = VSW_PORT_DPDK; /* not an ethdev class; see pclass */
    p->ops = &vsw__class_ops;
    p->pclass = cls;
    p->pclass_priv = priv;
    if (mac)
        p->mac = *mac;
    snprintf(p->name, sizeof(p->name), "%s", name);
    snprintf(p->devname, sizeof(p->devname), "%s", cls->name);
    atomic_store(&p->link_up, cls->link_get(priv));
    p->mtu_dev = class_mtu(p);
    p->mtu = vsw__port_mtu(p);
    p->rx_lcore = pick_rx_lcore(sw);
    sw->ports[id] = p;
    vsw_clear_port_stats(sw, p);
    VSA_LOG(INFO, "port %s opened (id %d, %s, MTU %u)", p->name, id,
            cls->name, p->mtu);
    *out = p;
    return 0;
}

struct rte_mempool *vsw_pktmbuf_pool(struct vsw *sw)
{
    return sw->pool;
}

void vsw_port_close(struct vsw *sw, struct vsw_port *p)
{
    struct vsw_snapshot *s = atomic_load(&sw->snap);

    if (s->ports[p->id]) {
        /* a bug in the caller; refuse rather than free under the lcores */
        VSA_LOG(ERR, "port %s is still published; not closing", p->name);
        return;
    }
    vsw__capture_port_closing(sw, p);
    for (uint32_t i = 0; i < sw->n_switches; i++)
        vsw_fdb_flush_all(sw->switches[i].fdb, p->id, 0, true);
    p->ops->close(sw, p);
    nic_restore(sw, p);
    sw->ports[p->id] = NULL;
    VSA_LOG(INFO, "port %s closed", p->name);
    vsw__free(p);
}

int vsw_port_set_host_addrs(struct vsw *sw, struct vsw_port *port,
                            const char *const *addresses, uint32_t n,
                            uint32_t mtu, struct vsa_errmsg *em)
{
    struct vsw_host_addrs *h;
    uint32_t mtu_set = 0;
    int rc = vsw_port_host_addrs_prepare(sw, port, addresses, n, mtu, &h,
                                         em);

    if (rc < 0)
        return rc;
    rc = vsw__hostif_addrs_apply(h, true, &mtu_set, em);
    vsw__hostif_addrs_free(h);
    if (mtu_set) {
        port->mtu_conf = mtu_set;
        mtu_update(sw, port);
    }
    return rc;
}

int vsw_port_host_addrs_prepare(struct vsw *sw, struct vsw_port *port,
                                const char *const *addresses, uint32_t n,
                                uint32_t mtu, struct vsw_host_addrs **out,
                                struct vsa_errmsg *em)
{
    int rc;

    (void)sw;
    if (port->cls != VSW_PORT_INTERNAL)
        return vsa_errmsg_set(em, -EINVAL, "port %s is not a host vNIC",
                              port->name);
    rc = vsw__hostif_addrs_prepare(port->ifname, addresses, n, mtu, out,
                                   em);
    if (rc == 0)
        (*out)->port = port;
    return rc;
}

/* The port's MTU in the switch is left to the publication of the
 * configuration that has the new one (vsw_commit_publish sets a host
 * vNIC's from it): nothing to undo here if the transaction fails, and no
 * snapshot published before that one. */
int vsw_port_host_addrs_apply(struct vsw *sw, struct vsw_host_addrs *h,
                              struct vsa_errmsg *em)
{
    uint32_t mtu_set;

    (void)sw;
    return vsw__hostif_addrs_apply(h, true, &mtu_set, em);
}

int vsw_port_host_addrs_revert(struct vsw *sw, struct vsw_host_addrs *h)
{
    (void)sw;
    return vsw__hostif_addrs_revert(h);
}

void vsw_port_host_addrs_abort(struct vsw *sw, struct vsw_host_addrs *h)
{
    (void)sw;
    vsw__hostif_addrs_free(h);
}

uint16_t vsw_port_id(const struct vsw_port *port) { return port->id; }
uint32_t vsw_port_mtu(const struct vsw_port *port) { return port->mtu; }
const char *vsw_port_name(const struct vsw_port *port) { return port->name; }
const char *vsw_port_ifname(const struct vsw_port *port)
{
    return port->ifname;
}
bool vsw_port_link_up(const struct vsw_port *port)
{
    return atomic_load(&port->link_up);
}
struct vsa_mac vsw_port_mac(const struct vsw_port *port) { return port->mac; }

/* ---- Commit ------------------------------------------------------------- */

static struct vsw_switch_state *find_switch(struct vsw *sw, const char *name)
{
    for (uint32_t i = 0; i < sw->n_switches; i++)
        if (strcmp(sw->switches[i].name, name) == 0)
            return &sw->switches[i];
    return NULL;
}

struct vsw_fdb *vsw_switch_fdb(struct vsw *sw, const char *name)
{
    struct vsw_switch_state *st = find_switch(sw, name);
    return st ? st->fdb : NULL;
}

/* A static entry of switch `switch_idx` that `cfg` no longer has. */
struct stale_static_arg {
    const struct vsw_cfg *cfg;
    uint32_t switch_idx;
};

static bool is_stale_static(const struct vsw_fdb_entry *e, const void *arg)
{
    const struct stale_static_arg *a = arg;

    if (!e->is_static)
        return false;
    for (uint32_t i = 0; i < a->cfg->n_statics; i++) {
        const struct vsw_cfg_static *st = &a->cfg->statics[i];
        if (st->switch_idx == a->switch_idx && st->vid == e->vid &&
            vsa_mac_to_u64(&st->mac) == e->mac && st->port &&
            st->port->id == e->port)
            return false;
    }
    return true;
}

static bool is_kept_static(const struct vsw_fdb_entry *e, const void *arg)
{
    return !is_stale_static(e, arg);
}

/* Hash seeds a table made by the commit tries after its first, when its
 * switch's static entries do not all find room (statics_fit). */
#define STATICS_RESEEDS 32

/* Whether every static entry of the new configuration will find room in
 * its switch's FDB at publication (vsw_fdb_statics_fit), so that a commit
 * is refused here rather than published without one.  Whether a set fits
 * depends on the table's random hash seed: a table this commit made
 * (created[i], still empty) is made again with another seed, up to
 * STATICS_RESEEDS times, before the set is refused.  Without that, a
 * configuration that fitted the table it was accepted on could be refused
 * at the next start, where every table is new (1 start in 7 with 4096
 * statics in an fdb_max of 8192).  0, -ENOSPC or -ENOMEM with em set. */
static int statics_fit(const struct vsw_cfg *cfg,
                       struct vsw_switch_state *next_sw,
                       struct vsw_fdb **created, struct vsa_errmsg *em)
{
    struct vsw_fdb_static_key *want;
    uint32_t *idx;
    int rc = 0;

    if (cfg->n_statics == 0)
        return 0;
    want = vsa_calloc(cfg->n_statics, sizeof(*want));
    idx = vsa_calloc(cfg->n_statics, sizeof(*idx));
    if (!want || !idx) {
        rc = vsa_errmsg_set(em, -ENOMEM, "out of memory");
        goto out;
    }
    for (uint32_t i = 0; i < cfg->n_switches && rc == 0; i++) {
        struct stale_static_arg a = { cfg, i };
        uint32_t n = 0, bad = 0;

        for (uint32_t k = 0; k < cfg->n_statics; k++) {
            if (cfg->statics[k].switch_idx != i)
                continue;
            want[n].vid = cfg->statics[k].vid;
            want[n].mac = vsa_mac_to_u64(&cfg->statics[k].mac);
            idx[n++] = k;
        }
        rc = vsw_fdb_statics_fit(next_sw[i].fdb, want, n, is_kept_static, &a,
                                 &bad);
        for (int t = 0; rc == -ENOSPC && created[i] && t < STATICS_RESEEDS;
             t++) {
            struct vsw_fdb_params fp = { .max_entries = next_sw[i].fdb_max,
                                         .aging_s = next_sw[i].aging_s };
            struct vsw_fdb *f;

            rc = vsw_fdb_create(&fp, &f);
            if (rc < 0)
                break;
            vsw_fdb_destroy(created[i]);
            created[i] = next_sw[i].fdb = f;
            rc = vsw_fdb_statics_fit(f, want, n, is_kept_static, &a, &bad);
        }
        if (rc == -ENOMEM) {
            vsa_errmsg_set(em, rc, "out of memory");
        } else if (rc < 0) {
            char mac[VSA_MAC_STRLEN];

            vsa_errmsg_set(em, rc, "switch %s: no room for static FDB entry "
                           "%s vlan %u: both of its buckets hold static "
                           "entries only (too many static entries hash "
                           "alike; a larger fdb_max spreads them)",
                           next_sw[i].name,
                           vsa_mac_format(&cfg->statics[idx[bad]].mac, mac),
                           cfg->statics[idx[bad]].vid);
        }
    }
out:
    vsa_free(want);
    vsa_free(idx);
    return rc;
}

static void drop_stale_statics(struct vsw_fdb *fdb, const struct vsw_cfg *cfg,
                               uint32_t switch_idx)
{
    struct stale_static_arg a = { cfg, switch_idx };
    vsw_fdb_remove_matching(fdb, is_stale_static, &a);
}

/* Learned entries of a port in a VLAN the port no longer carries would keep
 * sending that VLAN's unicast to a port that drops it (no_member) until they
 * age out, instead of flooding it: remove them once the snapshot without
 * the VLAN is published (the port admits no more frames of it, so nothing
 * learns them again). */
struct left_vlan_arg {
    const struct vsw_snapshot *s;
    const struct vsw_dp_switch *dsw;
};

static bool is_left_vlan(const struct vsw_fdb_entry *e, const void *arg)
{
    const struct left_vlan_arg *a = arg;
    const struct vsw_dp_port *dp =
        e->port < VSW_MAX_PORTS ? a->s->ports[e->port] : NULL;

    /* ports outside this switch are flushed by vsw_commit() itself */
    return !e->is_static && dp && dp->sw == a->dsw &&
           !vlan_bitmap_test(dp->vlan.member, e->vid);
}

static void drop_left_vlans(struct vsw_fdb *fdb, const struct vsw_snapshot *s,
                            const struct vsw_dp_switch *dsw)
{
    struct left_vlan_arg a = { s, dsw };
    vsw_fdb_remove_matching(fdb, is_left_vlan, &a);
}

/* Whether a port published in both `old` and `s` carries fewer VLANs in s. */
static bool vlans_shrank(const struct vsw_snapshot *old,
                         const struct vsw_snapshot *s)
{
    for (uint32_t i = 0; i < VSW_MAX_PORTS; i++) {
        const struct vsw_dp_port *o = old->ports[i], *n = s->ports[i];
        if (!o || !n || o->port != n->port)
            continue;
        for (int w = 0; w < VLAN_BITMAP_WORDS; w++)
            if (o->vlan.member[w] & ~n->vlan.member[w])
                return true;
    }
    return false;
}

/* A prepared commit: everything the new configuration needs, allocated,
 * nothing published or changed yet. */
struct vsw_commit {
    const struct vsw_cfg *cfg;
    struct vsw_snapshot *snap;
    struct vsw_switch_state next_sw[VSW_MAX_SWITCHES];
    struct vsw_fdb *created[VSW_MAX_SWITCHES]; /* new FDBs, by cfg index */
    bool *held;             /* [n_statics]: vsw_commit_publish's scratch */
    /* by cfg index, for a new FDB replacing one: vsw_fdb_inherit's */
    struct vsw_fdb_inherit_buf *inherit[VSW_MAX_SWITCHES];
};

int vsw_commit_prepare(struct vsw *sw, const struct vsw_cfg *cfg,
                       struct vsw_commit **out, struct vsa_errmsg *em)
{
    struct vsw_commit *c;
    struct vsw_snapshot *s;
    int rc;

    if (cfg->n_switches > VSW_MAX_SWITCHES || cfg->n_ports > VSW_MAX_PORTS)
        return vsa_errmsg_set(em, -EINVAL, "too many switches or ports");
    for (uint32_t i = 0; i < cfg->n_ports; i++) {
        const struct vsw_cfg_port *cp = &cfg->ports[i];
        if (cp->switch_idx >= cfg->n_switches || !cp->port ||
            sw->ports[cp->port->id] != cp->port)
            return vsa_errmsg_set(em, -EINVAL, "port entry %u is invalid", i);
        rc = vlan_port_mode_validate(&cp->vlan, em);
        if (rc < 0) {
            vsa_errmsg_prefix(em, "port %s", cp->port->name);
            return rc;
        }
    }
    for (uint32_t i = 0; i < cfg->n_statics; i++) {
        const struct vsw_cfg_static *st = &cfg->statics[i];
        if (st->switch_idx >= cfg->n_switches ||
            (st->port && sw->ports[st->port->id] != st->port))
            return vsa_errmsg_set(em, -EINVAL,
                                  "static FDB entry %u is invalid", i);
    }

    c = vsa_calloc(1, sizeof(*c));
    if (!c)
        return vsa_errmsg_set(em, -ENOMEM, "out of memory");
    c->cfg = cfg;
    if (cfg->n_statics) {
        c->held = vsa_calloc(cfg->n_statics, sizeof(*c->held));
        if (!c->held) {
            rc = vsa_errmsg_set(em, -ENOMEM, "out of memory");
            goto out_abort;
        }
    }

    /* Switch states: keep FDBs of switches that stay (same name and size);
     * a switch whose size changed gets a new FDB, which inherits the old
     * one's learned entries at publication. */
    for (uint32_t i = 0; i < cfg->n_switches; i++) {
        const struct vsw_cfg_switch *cs = &cfg->switches[i];
        struct vsw_switch_state *old = find_switch(sw, cs->name);
        struct vsw_switch_state *nx = &c->next_sw[i];

        snprintf(nx->name, sizeof(nx->name), "%s", cs->name);
        nx->fdb_max = cs->fdb_max;
        nx->aging_s = cs->aging_s;
        if (old && old->fdb_max == cs->fdb_max) {
            nx->fdb = old->fdb;
            continue;
        }
        struct vsw_fdb_params fp = { .max_entries = cs->fdb_max,
                                     .aging_s = cs->aging_s };
        rc = vsw_fdb_create(&fp, &c->created[i]);
        if (rc < 0) {
            vsa_errmsg_set(em, rc, "switch %s: cannot create an FDB of %u "
                           "entries: %s", cs->name, cs->fdb_max,
                           rc == -ENOMEM ? "out of memory" : strerror(-rc));
            goto out_abort;
        }
        nx->fdb = c->created[i];
        if (!old || !old->fdb)
            continue;
        /* The scratch the inherit sorts the old entries in: allocated
         * here, where running out of memory fails the commit (as for the
         * table itself), since the publication must not fail. */
        c->inherit[i] = vsw_fdb_inherit_buf_alloc(old->fdb);
        if (!c->inherit[i]) {
            rc = vsa_errmsg_set(em, -ENOMEM, "switch %s: out of memory to "
                                "carry its FDB over", cs->name);
            goto out_abort;
        }
    }
    rc = statics_fit(cfg, c->next_sw, c->created, em);
    if (rc < 0)
        goto out_abort;

    s = snapshot_alloc(cfg->n_ports, cfg->n_switches);
    if (!s) {
        rc = vsa_errmsg_set(em, -ENOMEM, "out of memory");
        goto out_abort;
    }
    c->snap = s;
    for (uint32_t i = 0; i < cfg->n_switches; i++)
        s->switch_mem[i].fdb = c->next_sw[i].fdb;
    for (uint32_t i = 0; i < cfg->n_ports; i++) {
        const struct vsw_cfg_port *cp = &cfg->ports[i];
        struct vsw_dp_port *dp = &s->port_mem[i];
        struct vsw_dp_switch *dsw = &s->switch_mem[cp->switch_idx];
        uint16_t lc = cp->port->rx_lcore;

        dp->port = cp->port;
        dp->id = cp->port->id;
        dp->sw = dsw;
        vlan_port_compile(&cp->vlan, &dp->vlan);
        dsw->ports[dsw->n_ports++] = dp->id;
        s->ports[dp->id] = dp;
        s->rx[lc][s->n_rx[lc]++] = dp->id;
    }
    *out = c;
    return 0;

out_abort:
    vsw_commit_abort(sw, c);
    return rc;
}

void vsw_commit_abort(struct vsw *sw, struct vsw_commit *c)
{
    (void)sw;
    if (!c)
        return;
    snapshot_free(c->snap);
    for (uint32_t i = 0; i < VSW_MAX_SWITCHES; i++) {
        vsw_fdb_destroy(c->created[i]);
        vsw_fdb_inherit_buf_free(c->inherit[i]);
    }
    vsa_free(c->held);
    vsa_free(c);
}

void vsw_commit_publish(struct vsw *sw, struct vsw_commit *c)
{
    const struct vsw_cfg *cfg = c->cfg;
    struct vsw_switch_state *next_sw = c->next_sw;
    struct vsw_snapshot *s = c->snap;
    struct vsw_fdb *retired[VSW_MAX_SWITCHES] = { 0 };
    uint32_t n_retired = 0;
    bool shrank;

    /* Nothing below allocates or fails. */

    /* Static entries and limits apply to the FDBs before publication; on a
     * kept FDB a static entry may therefore be visible a few microseconds
     * before the snapshot, which only ever forwards to a configured port. */
    for (uint32_t i = 0; i < cfg->n_switches; i++) {
        struct vsw_fdb *fdb = next_sw[i].fdb;
        vsw_fdb_set_aging(fdb, cfg->switches[i].aging_s);
    }
    for (uint32_t i = 0; i < cfg->n_ports; i++) {
        const struct vsw_cfg_port *cp = &cfg->ports[i];
        vsw_fdb_set_port_limit(next_sw[cp->switch_idx].fdb, cp->port->id,
                               cp->learn_limit);
    }
    /* Static entries: remove the ones of kept FDBs that are no longer
     * configured (learned entries stay), then add the configured set. */
    for (uint32_t i = 0; i < cfg->n_switches; i++)
        if (!c->created[i])
            drop_stale_statics(next_sw[i].fdb, cfg, i);
    /* In the order vsw_fdb_statics_fit counted: keys the table holds
     * become static in place first, so that no new static entry evicts
     * one of them; then the new ones.  Whether the table holds a key is
     * looked up once: an lcore can learn it between two lookups, and a
     * key judged new in the first pass and held in the second would be
     * added in neither. */
    for (uint32_t i = 0; i < cfg->n_statics; i++) {
        const struct vsw_cfg_static *st = &cfg->statics[i];
        struct vsw_fdb *fdb = next_sw[st->switch_idx].fdb;
        uint64_t key = vsw_fdb_key(st->vid, vsa_mac_to_u64(&st->mac));

        if (!st->port)
            continue; /* counted by statics_fit, not added */
        c->held[i] = vsw_fdb_lookup(fdb, key, vsw_fdb_hash(fdb, key)) !=
                     VSW_FDB_PORT_NONE;
    }
    for (int pass = 1; pass <= 2; pass++) {
        for (uint32_t i = 0; i < cfg->n_statics; i++) {
            const struct vsw_cfg_static *st = &cfg->statics[i];
            struct vsw_fdb *fdb = next_sw[st->switch_idx].fdb;
            int rc;

            if (!st->port || c->held[i] != (pass == 1))
                continue;
            rc = vsw_fdb_add_static(fdb, st->vid, vsa_mac_to_u64(&st->mac),
                                    st->port->id);
            /* statics_fit() found room for every one and only this thread
             * adds, drops or ages entries; what an lcore does meanwhile
             * (learn into a free slot, move a learned entry to its second
             * bucket) leaves that room but in a corner case */
            if (rc < 0)
                VSA_LOG(ERR, "static FDB entry %u on switch %s not added: "
                        "%s", i, next_sw[st->switch_idx].name,
                        strerror(-rc));
        }
    }
    /* A switch whose FDB was rebuilt (another fdb_max) keeps what its old
     * one learned, most recently seen first, and its counters, after the
     * configured entries and limits: without this every unicast frame
     * flooded until relearned, and switch show's fdb_stats started again
     * from zero.  `lost` counts only the entries there was no room for (a
     * key a new static entry holds is not one: the static entry wins). */
    for (uint32_t i = 0; i < cfg->n_switches; i++) {
        struct vsw_switch_state *old = find_switch(sw, next_sw[i].name);
        uint32_t kept, lost = 0;

        if (!c->inherit[i] || !old || !old->fdb)
            continue;
        kept = vsw_fdb_inherit(next_sw[i].fdb, old->fdb, c->inherit[i],
                               &lost);
        if (lost)
            VSA_LOG(WARN, "switch %s: its FDB now has room for %u entries: %u "
                    "learned entr%s kept (the most recently seen), %u not "
                    "(no room, or over a port's learn limit; learned again "
                    "from the next frame if there is room)", next_sw[i].name,
                    next_sw[i].fdb_max, kept, kept == 1 ? "y" : "ies", lost);
    }

    /* FDBs of switches that disappear or were rebuilt retire after the
     * grace period. */
    for (uint32_t i = 0; i < sw->n_switches; i++) {
        bool kept = false;
        for (uint32_t j = 0; j < cfg->n_switches; j++)
            if (next_sw[j].fdb == sw->switches[i].fdb)
                kept = true;
        if (!kept)
            retired[n_retired++] = sw->switches[i].fdb;
    }
    /* the ports' MTUs as they are now (mtu_update may have changed one
     * since the prepare), a host vNIC's as configured; this publishes
     * every change so far */
    for (uint32_t i = 0; i < cfg->n_ports; i++) {
        struct vsw_port *p = cfg->ports[i].port;

        if (p->cls == VSW_PORT_INTERNAL && cfg->ports[i].mtu &&
            cfg->ports[i].mtu != p->mtu_conf) {
            p->mtu_conf = cfg->ports[i].mtu;
            p->mtu = vsw__port_mtu(p);
        }
    }
    for (uint32_t i = 0; i < s->n_ports; i++)
        dp_set_mtu(&s->port_mem[i], s->port_mem[i].port->mtu);
    sw->mtu_stale = false;
    shrank = vlans_shrank(atomic_load(&sw->snap), s);
    publish(sw, s);
    for (uint32_t i = 0; i < n_retired; i++)
        vsw_fdb_destroy(retired[i]);
    memcpy(sw->switches, next_sw, sizeof(c->next_sw));
    sw->n_switches = cfg->n_switches;
    /* entries learned on ports that left a kept switch */
    for (uint32_t i = 0; i < cfg->n_switches; i++) {
        for (unsigned p = 0; p < VSW_MAX_PORTS; p++) {
            if (sw->ports[p] && (!s->ports[p] ||
                                 s->ports[p]->sw != &s->switch_mem[i]) &&
                vsw_fdb_port_count(next_sw[i].fdb, (uint16_t)p))
                vsw_fdb_flush_all(next_sw[i].fdb, (uint16_t)p, 0, true);
        }
        if (shrank)
            drop_left_vlans(next_sw[i].fdb, s, &s->switch_mem[i]);
    }
    for (uint32_t i = 0; i < VSW_MAX_SWITCHES; i++)
        vsw_fdb_inherit_buf_free(c->inherit[i]);
    vsa_free(c->held);
    vsa_free(c);
}

int vsw_commit(struct vsw *sw, const struct vsw_cfg *cfg,
               struct vsa_errmsg *em)
{
    struct vsw_commit *c;
    int rc = vsw_commit_prepare(sw, cfg, &c, em);

    if (rc < 0)
        return rc;
    vsw_commit_publish(sw, c);
    return 0;
}

/* ---- Periodic work ------------------------------------------------------ */

uint32_t vsw_now_s(const struct vsw *sw)
{
    return vsw__now_s(sw);
}

/* Removes the learned entries of p, if it has any.  For a port whose link
 * is down: at the link-down itself, and on every tick after it for what an
 * lcore learned from frames still in flight or queued on the port then.
 * Unicast to a station must not go into a down port while the station may
 * be elsewhere: without an entry it floods.  (And for a kernel NIC's port
 * whose link-down may have gone unseen: vsw_kernel_resync.) */
static void flush_learned(struct vsw *sw, const struct vsw_port *p)
{
    for (uint32_t i = 0; i < sw->n_switches; i++)
        if (vsw_fdb_port_count(sw->switches[i].fdb, p->id))
            vsw_fdb_flush_all(sw->switches[i].fdb, p->id, 0, false);
}

static void set_link(struct vsw *sw, struct vsw_port *p, bool up)
{
    bool was = atomic_exchange(&p->link_up, up);

    if (was == up)
        return;
    VSA_LOG_RL(&p->link_rl, INFO, "port %s: link %s", p->name,
               up ? "up" : "down");
    if (!up)
        flush_learned(sw, p);
}

/* What the kernel says of the NIC behind the kernel-bound port p: up (admin
 * up with carrier) or not, or gone.  Gone is for good: the index is not
 * reused while the port lives, and a NIC made again under the old name is
 * another NIC, which the port's socket is not bound to.  A new port binds
 * it: the port deleted and added again (an uplink cannot be deleted alone,
 * only with its switch), or the configuration replayed when vesperd
 * starts, which looks the NIC up by the name the port was given (an
 * absent one is tried again every few seconds). */
/* p's NIC is now named p->ifname: so is it in the crash journal's record,
 * which the next start finds by name and index (one that no longer
 * matches is taken for a NIC gone, and nothing is given back). */
static void nic_renamed(struct vsw *sw, struct vsw_port *p)
{
    struct vsw_hostif_state rec;
    struct vsa_errmsg em;

    if (!p->nic_prior.ifindex ||
        strcmp(p->nic_prior.ifname, p->ifname) == 0)
        return;
    snprintf(p->nic_prior.ifname, sizeof(p->nic_prior.ifname), "%s",
             p->ifname);
    if (!sw->nic_journal[0])
        return;
    rec = p->nic_prior; /* journal_add may read a kept record into it */
    if (vsw__nic_journal_add(sw->nic_journal, &rec, &em) < 0)
        VSA_LOG(WARN, "port %s: %s; after a crash the next vesperd will "
                "not give %s back", p->name, em.msg, p->ifname);
}

static void kernel_nic_seen(struct vsw *sw, struct vsw_port *p,
                            const char *name, uint32_t mtu, bool up,
                            bool gone)
{
    if (gone && !p->kernel_gone) {
        VSA_LOG(WARN, "port %s: kernel NIC %s (ifindex %d) is gone; the "
                "port stays down until %s or vesperd restarts (either "
                "binds the NIC named %s, once there is one)", p->name,
                p->ifname, p->nic_prior.ifindex,
                p->cls == VSW_PORT_UPLINK
                    ? "its switch is deleted and added again (an uplink "
                      "goes only with its switch)"
                    : "it is deleted and added again",
                p->bound_as);
        p->kernel_gone = true;
    }
    if (!gone && name && name[0] && strcmp(name, p->ifname) != 0) {
        VSA_LOG(INFO, "port %s: kernel NIC %s (ifindex %d) is now named %s",
                p->name, p->ifname, p->nic_prior.ifindex, name);
        snprintf(p->ifname, sizeof(p->ifname), "%s", name);
        nic_renamed(sw, p);
    }
    p->kernel_carrier = up && !p->kernel_gone;
    set_link(sw, p, p->kernel_carrier && p->ops->link_get(p));
    if (!gone && mtu && mtu != p->mtu_kernel) {
        p->mtu_kernel = mtu;
        mtu_update(sw, p);
    }
}

void vsw_kernel_link_event(struct vsw *sw, int ifindex, const char *ifname,
                           uint32_t mtu, bool up, bool gone)
{
    if (ifindex <= 0)
        return;
    for (unsigned i = 0; i < VSW_MAX_PORTS; i++) {
        struct vsw_port *p = sw->ports[i];
        if (p && p->kernel_bound && p->nic_prior.ifindex == ifindex)
            kernel_nic_seen(sw, p, ifname, mtu, up, gone);
    }
}

/* Asks the kernel about the NIC of the kernel-bound port p now (by
 * ifindex): up, down or gone; a failed lookup (not -ENODEV) leaves the
 * port as it is, for the next poll. */
static void kernel_nic_poll(struct vsw *sw, struct vsw_port *p)
{
    struct vsw_hostif_info info;
    struct vsa_errmsg ignore;
    int rc = vsw__hostif_lookup_index(p->nic_prior.ifindex, &info, &ignore);

    if (rc == 0 || rc == -ENODEV)
        kernel_nic_seen(sw, p, info.name, rc == 0 ? info.mtu : 0,
                        rc == 0 && info.up && info.carrier, rc == -ENODEV);
}

/* Link events were lost: every kernel NIC's state may be other than the
 * ports believe.  Each is looked up now.  A down and up again in between
 * cannot be told from nothing having happened, and a link-down is when a
 * port's learned entries go (the stations behind it may have moved, say
 * to another NIC of this host, while it was down), so they go now, as if
 * it had been down: their unicast floods until they are learned again,
 * the same price a seen link-down pays.  Static entries stay. */
void vsw_kernel_resync(struct vsw *sw)
{
    for (unsigned i = 0; i < VSW_MAX_PORTS; i++) {
        struct vsw_port *p = sw->ports[i];

        if (!p || !p->kernel_bound)
            continue;
        kernel_nic_poll(sw, p);
        flush_learned(sw, p);
    }
}

void vsw_tick(struct vsw *sw)
{
    uint32_t now = vsw__now_s(sw);
    /* Kernel carrier is polled once a second as a fallback: netlink events
     * (vsw_kernel_link_event) normally report it at once. */
    bool poll_kernel = (sw->ticks++ % 10) == 0;

    for (unsigned i = 0; i < VSW_MAX_PORTS; i++) {
        struct vsw_port *p = sw->ports[i];
        if (!p)
            continue;
        if (p->kernel_bound && poll_kernel) {
            kernel_nic_poll(sw, p);
            /* GRO turned on again by hand would cut TCP into the VMs
             * short again (vsw__hostif_offloads_off at the binding) */
            if (!p->kernel_gone && p->nic_prior.ifindex)
                vsw__hostif_offloads_recheck(&p->nic_prior, p->ifname);
        } else
            set_link(sw, p, p->ops->link_get(p) &&
                                (!p->kernel_bound || p->kernel_carrier));
        if (p->pclass && p->pclass->mtu_get && poll_kernel) {
            uint32_t mtu = class_mtu(p);

            if (mtu != p->mtu_dev) {
                p->mtu_dev = mtu;
                mtu_update(sw, p);
            }
        }
        if (!atomic_load(&p->link_up))
            flush_learned(sw, p);
    }
    if (sw->mtu_stale)
        mtu_republish(sw);
    /* Aging: each tick sweeps a bounded slice of every switch's table so
     * the control thread never does O(table) work at once. */
    for (uint32_t i = 0; i < sw->n_switches; i++) {
        struct vsw_fdb *fdb = sw->switches[i].fdb;
        uint32_t slots = vsw_fdb_capacity_slots(fdb);
        /* whole table within ~5 s at 10 ticks/s */
        uint32_t budget = slots / 50 + 64;
        vsw_fdb_age_sweep(fdb, now, budget);
    }
    vsw__capture_drain(sw);
}

/* ---- Counters ----------------------------------------------------------- */

static void sum_counters(const struct vsw *sw, const struct vsw_port *p,
                         struct vsw_port_stats *out)
{
    struct vsw_port *q;

    memset(out, 0, sizeof(*out));
    out->drops[VSW_DROP_OPEN_DRAINED] = p->open_drained;
    for (unsigned l = 0; l < sw->n_dp_lcores; l++) {
        const struct vsw_port_counters *c = &sw->lcores[l]->counters[p->id];
        out->rx_packets += vsw__ctr_read(&c->rx_packets);
        out->rx_bytes += vsw__ctr_read(&c->rx_bytes);
        out->tx_packets += vsw__ctr_read(&c->tx_packets);
        out->tx_bytes += vsw__ctr_read(&c->tx_bytes);
        for (int d = 0; d < VSW_DROP_MAX; d++)
            out->drops[d] += vsw__ctr_read(&c->drops[d]);
    }
    q = sw->ports[p->id];
    if (q && q->ops->dev_drops)
        q->ops->dev_drops(q, out->drops);
}

void vsw_get_pool_usage(const struct vsw *sw, struct vsw_pool_usage *out)
{
    out->size = sw->pool->size;
    out->in_use = rte_mempool_in_use_count(sw->pool);
    out->capture_size = sw->capture_pool->size;
    out->capture_in_use = rte_mempool_in_use_count(sw->capture_pool);
}

void vsw_get_port_stats(const struct vsw *sw, const struct vsw_port *port,
                        struct vsw_port_stats *out)
{
    const struct vsw_port_stats *b = &port->base;

    sum_counters(sw, port, out);
    out->rx_packets -= b->rx_packets;
    out->rx_bytes -= b->rx_bytes;
    out->tx_packets -= b->tx_packets;
    out->tx_bytes -= b->tx_bytes;
    for (int d = 0; d < VSW_DROP_MAX; d++)
        out->drops[d] -= b->drops[d];
}

void vsw_clear_port_stats(struct vsw *sw, const struct vsw_port *port)
{
    struct vsw_port *p = sw->ports[port->id];
    if (p)
        sum_counters(sw, p, &p->base);
}
