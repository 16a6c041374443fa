/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_vsw_oom.c — allocation-failure sweep over the switch's control
 * operations (TESTS.md #29, STYLE 3.8), on real DPDK virtual devices.
 *
 * Objective: every allocation the switch's control paths make, and every
 * DPDK or libnl call of them that allocates (device probe, configure,
 * queue setup, start; the netlink socket, objects and requests), can fail
 * and the operation then unwinds completely.  For each operation below the
 * allocation hook (common/vsa_alloc.h) fails injection point k for
 * k = 1..N, N being the number of points the operation reaches, and the
 * harness (vsw_oom.h) asserts that the call returned -ENOMEM, that the
 * state dump (published snapshot and its address, switches, every FDB entry
 * and counter, ports and their counters, captures, ethdevs, memzones, the
 * rte_malloc heap, the pools' free mbufs, network interfaces) is exactly
 * the one from before, that no tracked allocation is left (rte_malloc
 * memory included, which LSan cannot see) and, in the ASan build, that
 * LSan finds no leak; then the call with no failure must succeed and have
 * its effect.  The operations:
 *
 *   - vsw_create (pools, RCU, snapshot, lcores), and vsw_destroy of a
 *     switch with published ports, a static entry and a capture (its
 *     allocations, the empty snapshot, have a fallback: nothing may be left
 *     either way);
 *   - a commit that creates a switch (its FDB);
 *   - vsw_port_open of the dpdk class (net_ring) and of the internal class
 *     (a net_tap TAP with two addresses and an MTU, set with libnl);
 *   - vsw_port_open of the uplink class on a kernel NIC (a veth, af_packet):
 *     the NIC's up and promiscuous flags, disable_ipv6, arp_ignore and
 *     rp_filter are in the dump, so every failure after vesperd changed
 *     them must have put them back; then a second port on the same NIC
 *     replacing the first
 *     (failures there must not restore a NIC the first port still holds),
 *     and the closes: the NIC as it was before, one already up and
 *     promiscuous left so, a NIC deleted while bound closed without a
 *     complaint;
 *   - vsw_port_open_class (a plugged-in port class);
 *   - the address and MTU change of a host vNIC, prepared (every
 *     allocation) and then applied;
 *   - a commit that adds the ports, one that changes VLAN modes and a
 *     learn limit (a port leaves a VLAN: its learned entries there go),
 *     static FDB entries added then replaced, a commit that rebuilds an
 *     FDB (fdb_max) and adds a second switch;
 *   - vsw_capture_start (the id and the file too must stay untouched);
 *   - commits that remove ports (then closed) and the switches.
 * The lcore forwards frames the test puts into the net_ring port's ring,
 * so the FDBs hold learned entries and the counters are not zero when the
 * sweeps compare them.  (net_null ports are sinks here, never swept: DPDK
 * 22.11's net_null does not free the buffer it allocates per queue set up,
 * which every failure after a queue setup would show as a leak.)
 *
 * Regression tests for the bugs this sweep found (all in vswitch/):
 *   - vsw_commit deleted stale static entries and the entries of a VLAN a
 *     port left through a walk buffer malloc'd after the point of no
 *     return; without memory it skipped them and reported success (now
 *     allocated with the snapshot, before anything changes);
 *   - vsw_capture_start returned -EIO for an out-of-memory ring or pcap
 *     handle, and a failed start used up a capture id;
 *   - the libnl glue returned -EIO (not -ENOMEM) for a socket that could
 *     not be allocated, -ENODEV / -EINVAL for libnl's out of memory, and
 *     the address change reported success when it could not list the old
 *     addresses (they were then not removed);
 *   - vsw_port_open returned -ENODEV / -EIO for a driver out of memory;
 *     a port opened and closed again (a failed apply, test_vd_apply.c)
 *     moved the round-robin lcore counter and the TAP vdev number (both
 *     are now derived from the open ports);
 *   - vsw_destroy left every port open when the empty snapshot could not
 *     be allocated (vsw_port_close refused them as still published);
 *   - vsw_port_open of a kernel NIC left it up and promiscuous when the
 *     open failed after setting it so, and vsw_port_close never gave it
 *     back (nor its disable_ipv6); the carrier lookup after the device was
 *     opened ignored an out-of-memory (the open reported success).
 *
 * Besides the sweeps (test_open_drained): the frames an uplink's open
 * discards (what its af_packet queue took in before the port carries
 * traffic; the peer of its veth floods while it opens) are counted, drop
 * reason open_drained, exactly as many as the PMD's rx_burst returned, and
 * `stats --clear` clears them.  Regression test for: they were freed
 * uncounted (up to 8,192 per open).
 *
 * How: the EAL runs in this process (no hugepages, lcore 1 the one
 * datapath lcore) inside a network namespace of its own (unshare), so the
 * TAPs and veths never meet the host's interfaces; IPv6 is off there so
 * that the kernel sends nothing on them by itself (the veth whose IPv6 the
 * kernel NIC test switches on has its peer down: no carrier, no frames).
 * Without CLONE_NEWNET the internal-class, kernel NIC and host address
 * sweeps cannot run, and the test fails (cmocka would count a skip() as a
 * pass); VT_OOM_ALLOW_NO_NETNS=1 lets it skip them instead, where an
 * environment is known to refuse the namespace.
 */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <unistd.h>

#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_ring.h>

#include "common/vsa_log.h"
#include "tests/unit/common/netif.h"
#include "tests/unit/vswitch/vsw_oom.h"
#include "vlan/vlan.h"
#include "vswitch/port_class.h"

#define N_MBUFS 4095
#define ETYPE_TEST 0x88b5

/* A net_ring port on the rings ETH_RXTX<0..15>_<name>, which the test
 * creates (ring_create_set): with rings of its own making the PMD frees,
 * on close, only those of the rx queues configured (1 of 16), and the
 * other 15 would show as leaked after every close. */
#define RING_DEV(name) name ",nodeaction=" name ":0:ATTACH"

#define MAC_A 0x020000000a01ull
#define MAC_B 0x020000000b01ull
#define MAC_C 0x020000000c01ull
#define BCAST 0xffffffffffffull

static struct {
    struct vsw *sw;
    struct vsw *tmp;              /* vsw_create / vsw_destroy sweeps */
    char dir[64];
    bool netns;                   /* our own network namespace */
    int netns_errno;              /* why unshare(CLONE_NEWNET) failed */
    struct vsw_port *r0, *n0, *n1, *h0, *c0;
    struct vsw_port *opened;
    int capture_id;
} g;

/* ---- helpers ------------------------------------------------------------ */

/* Called where a sweep needs our own network namespace and there is none:
 * fails the test unless VT_OOM_ALLOW_NO_NETNS=1; then the caller skips. */
static void no_netns(const char *what)
{
    const char *allow = getenv("VT_OOM_ALLOW_NO_NETNS");

    if (!allow || strcmp(allow, "1") != 0)
        fail_msg("no network namespace of our own (unshare(CLONE_NEWNET): "
                 "%s): %s not swept (VT_OOM_ALLOW_NO_NETNS=1 allows it)",
                 strerror(g.netns_errno), what);
    print_message("no network namespace of our own (%s), "
                  "VT_OOM_ALLOW_NO_NETNS=1: %s not swept\n",
                  strerror(g.netns_errno), what);
}

static void write_sysctl(const char *path, const char *value)
{
    FILE *f = fopen(path, "w");

    if (f) {
        fputs(value, f);
        fclose(f);
    }
}

static void dump_dir(struct oom_buf *b)
{
    struct dirent **names;
    int n = scandir(g.dir, &names, NULL, alphasort);

    for (int i = 0; i < n; i++) {
        if (names[i]->d_name[0] != '.')
            oom_printf(b, "  file %s\n", names[i]->d_name);
        free(names[i]);
    }
    free(names);
}

static char *dump_world(struct oom_op *o)
{
    struct oom_buf b = { 0 };

    (void)o;
    oom_dump_vsw(&b, g.sw);
    dump_dir(&b);
    oom_printf(&b, "lcore 1 state %d\n",
               (int)rte_eal_get_lcore_state(rte_get_next_lcore(-1, 1, 0)));
    return b.s;
}

static struct vlan_port_mode access_mode(uint16_t vid)
{
    struct vlan_port_mode m;

    vlan_port_mode_default(&m);
    m.mode = VLAN_MODE_ACCESS;
    m.access_vid = vid;
    return m;
}

static struct vlan_port_mode trunk_mode(const char *allowed, uint16_t native)
{
    struct vlan_port_mode m;
    struct vsa_errmsg em;

    vlan_port_mode_default(&m);
    m.mode = VLAN_MODE_TRUNK;
    m.native_vid = native;
    assert_int_equal(vlan_set_parse(allowed, m.allowed, &em), 0);
    return m;
}

static struct vsa_mac mac_of(uint64_t v)
{
    struct vsa_mac m;

    for (int i = 0; i < 6; i++)
        m.b[i] = (uint8_t)(v >> (40 - 8 * i));
    return m;
}

struct fdb_match {
    uint16_t vid, port;
    uint64_t mac;
    bool is_static, found;
};

static int fdb_match_cb(const struct vsw_fdb_entry *e, void *arg)
{
    struct fdb_match *m = arg;

    if (e->vid == m->vid && e->mac == m->mac && e->port == m->port &&
        e->is_static == m->is_static)
        m->found = true;
    return m->found;
}

static bool fdb_has(struct vsw_fdb *fdb, uint16_t vid, uint64_t mac,
                    uint16_t port, bool is_static)
{
    struct fdb_match m = { vid, port, mac, is_static, false };

    vsw_fdb_walk(fdb, fdb_match_cb, &m);
    return m.found;
}

/* ---- the configuration the commit sweeps publish ------------------------ */

static struct vsw_cfg_switch cfg_sw[4];
static struct vsw_cfg_port cfg_port[8];
static struct vsw_cfg_static cfg_static[8];
static struct vsw_cfg cfg = { .switches = cfg_sw, .ports = cfg_port,
                              .statics = cfg_static };

static void cfg_reset(void)
{
    memset(cfg_sw, 0, sizeof(cfg_sw));
    memset(cfg_port, 0, sizeof(cfg_port));
    memset(cfg_static, 0, sizeof(cfg_static));
    cfg.n_switches = cfg.n_ports = cfg.n_statics = 0;
}

static void cfg_switch(const char *name, uint32_t fdb_max, uint32_t aging)
{
    struct vsw_cfg_switch *s = &cfg_sw[cfg.n_switches++];

    snprintf(s->name, sizeof(s->name), "%s", name);
    s->fdb_max = fdb_max;
    s->aging_s = aging;
}

static void cfg_add_port(struct vsw_port *p, uint32_t sw,
                         struct vlan_port_mode m, uint32_t limit)
{
    struct vsw_cfg_port *c = &cfg_port[cfg.n_ports++];

    c->port = p;
    c->switch_idx = sw;
    c->vlan = m;
    c->learn_limit = limit;
}

static void cfg_add_static(uint32_t sw, uint16_t vid, uint64_t mac,
                           struct vsw_port *p)
{
    struct vsw_cfg_static *s = &cfg_static[cfg.n_statics++];

    s->switch_idx = sw;
    s->vid = vid;
    s->mac = mac_of(mac);
    s->port = p;
}

static int run_commit(struct oom_op *o)
{
    struct vsa_errmsg em = { "" };
    int rc = vsw_commit(g.sw, &cfg, &em);

    (void)o;
    if (rc != 0 && rc != -ENOMEM)
        print_error("vsw_commit: %d %s\n", rc, em.msg);
    return rc;
}

static void sweep_commit(const char *name, void (*done)(struct oom_op *o))
{
    struct oom_op o = { .name = name, .run = run_commit, .done = done,
                        .dump = dump_world };

    oom_sweep(&o);
}

/* ---- port open ---------------------------------------------------------- */

struct open_ctx {
    struct vsw_port_spec spec;
    struct vsw_port **out;
};

static int run_open(struct oom_op *o)
{
    struct open_ctx *c = o->ctx;
    struct vsa_errmsg em = { "" };
    int rc;

    g.opened = NULL;
    rc = vsw_port_open(g.sw, &c->spec, &g.opened, &em);
    if (rc != 0 && rc != -ENOMEM)
        print_error("vsw_port_open: %d %s\n", rc, em.msg);
    if (rc != 0)
        assert_null(g.opened);
    return rc;
}

static void done_open(struct oom_op *o)
{
    struct open_ctx *c = o->ctx;

    assert_non_null(g.opened);
    assert_string_equal(vsw_port_name(g.opened), c->spec.name);
    *c->out = g.opened;
}

static void sweep_open_spec(const char *what, const struct vsw_port_spec *spec,
                            struct vsw_port **out)
{
    struct open_ctx c = { .spec = *spec, .out = out };
    struct oom_op o = { .name = what, .run = run_open, .done = done_open,
                        .dump = dump_world, .ctx = &c };

    oom_sweep(&o);
}

static void sweep_open(const char *what, const char *name,
                       enum vsw_port_class cls, const char *devargs,
                       const char *ifname, const char *const *addrs,
                       uint32_t n_addrs, uint32_t mtu, struct vsw_port **out)
{
    struct vsw_port_spec spec;

    memset(&spec, 0, sizeof(spec));
    snprintf(spec.name, sizeof(spec.name), "%s", name);
    spec.cls = cls;
    spec.devargs = devargs;
    spec.ifname = ifname;
    spec.addresses = addrs;
    spec.n_addresses = n_addrs;
    spec.mtu = mtu;
    sweep_open_spec(what, &spec, out);
}

/* ---- traffic ------------------------------------------------------------ */

static void put_mac(uint8_t *p, uint64_t mac)
{
    for (int i = 0; i < 6; i++)
        p[i] = (uint8_t)(mac >> (40 - 8 * i));
}

/* A broadcast from `src` into net_ring0's rx ring (tagged if vid).  Only
 * while r0 is not published: the lcore must not poll the ring while the
 * test writes the mbufs, and publishing r0 afterwards (an atomic exchange
 * that the lcore's acquire load of the snapshot pairs with) orders the
 * writes before its reads, for ThreadSanitizer too. */
static void inject(uint64_t src, uint16_t vid)
{
    struct rte_ring *r = rte_ring_lookup("ETH_RXTX0_net_ring0");
    struct rte_mempool *mp = vsw_pktmbuf_pool(g.sw);
    struct rte_mbuf *m;
    uint8_t b[64];
    unsigned o = 12;

    assert_non_null(r);
    memset(b, 0x5a, sizeof(b));
    put_mac(b, BCAST);
    put_mac(b + 6, src);
    if (vid) {
        b[o++] = 0x81;
        b[o++] = 0x00;
        b[o++] = (uint8_t)(vid >> 8);
        b[o++] = (uint8_t)vid;
    }
    b[o++] = ETYPE_TEST >> 8;
    b[o++] = ETYPE_TEST & 0xff;
    m = rte_pktmbuf_alloc(mp);
    assert_non_null(m);
    m->data_len = sizeof(b);
    m->pkt_len = sizeof(b);
    memcpy(rte_pktmbuf_mtod(m, void *), b, sizeof(b));
    assert_int_equal(rte_ring_enqueue(r, m), 0);
}

static void wait_rx(struct vsw_port *p, uint64_t n)
{
    struct vsw_port_stats st;

    for (int i = 0; i < 2000; i++) {
        vsw_get_port_stats(g.sw, p, &st);
        if (st.rx_packets >= n)
            break;
        usleep(1000);
    }
    vsw_get_port_stats(g.sw, p, &st);
    assert_int_equal(st.rx_packets, n);
    /* the lcore flushes its tx buffers before it reports quiescence, so
     * a grace period begun now ends with those frames sent */
    vsw__rcu_synchronize(g.sw->qsbr);
}

/* Unpublishes r0 (cfg_port[0]), puts frames into its ring, publishes it
 * again and waits until the lcore took them (r0 then has `rx` in all).
 * Its learned entries go with the unpublish. */
static void inject_published(const uint64_t *srcs, const uint16_t *vids,
                             unsigned n, uint64_t rx)
{
    struct vsa_errmsg em;

    assert_ptr_equal(cfg_port[0].port, g.r0);
    cfg.ports = cfg_port + 1;
    cfg.n_ports--;
    assert_int_equal(vsw_commit(g.sw, &cfg, &em), 0);
    for (unsigned i = 0; i < n; i++)
        inject(srcs[i], vids[i]);
    cfg.ports = cfg_port;
    cfg.n_ports++;
    assert_int_equal(vsw_commit(g.sw, &cfg, &em), 0);
    wait_rx(g.r0, rx);
}

/* ---- vsw_create / vsw_destroy ------------------------------------------- */

static int run_create(struct oom_op *o)
{
    struct vsw_params p = { .n_mbufs = N_MBUFS, .n_dp_lcores = 1 };
    struct vsa_errmsg em = { "" };
    int rc;

    (void)o;
    g.tmp = NULL;
    rc = vsw_create(&p, &g.tmp, &em);
    if (rc != 0)
        assert_null(g.tmp);
    return rc;
}

static void done_create(struct oom_op *o)
{
    (void)o;
    assert_non_null(g.tmp);
    vsw_destroy(g.tmp);
    g.tmp = NULL;
}

static void test_create(void **state)
{
    struct oom_op o = { .name = "vsw_create", .run = run_create,
                        .done = done_create, .dump = dump_world };

    (void)state;
    oom_sweep(&o);
}

static struct vsw_port *open_null(struct vsw *sw, const char *name,
                                  const char *devargs)
{
    struct vsw_port_spec spec;
    struct vsw_port *p = NULL;
    struct vsa_errmsg em;

    memset(&spec, 0, sizeof(spec));
    snprintf(spec.name, sizeof(spec.name), "%s", name);
    spec.cls = VSW_PORT_DPDK;
    spec.devargs = devargs;
    if (vsw_port_open(sw, &spec, &p, &em) != 0)
        fail_msg("vsw_port_open(%s): %s", devargs, em.msg);
    return p;
}

/* A switch with two published ports, a learned entry and a capture. */
static void prepare_destroy(struct oom_op *o)
{
    struct vsw_params p = { .n_mbufs = N_MBUFS, .n_dp_lcores = 1 };
    struct vsa_errmsg em;
    char file[128];

    (void)o;
    assert_int_equal(vsw_create(&p, &g.tmp, &em), 0);
    cfg_reset();
    cfg_switch("d0", 256, 300);
    cfg_add_port(open_null(g.tmp, "d-a", RING_DEV("net_ring_d0")), 0,
                 access_mode(1), 0);
    cfg_add_port(open_null(g.tmp, "d-b", RING_DEV("net_ring_d1")), 0,
                 access_mode(1), 0);
    cfg_add_static(0, 1, MAC_A, cfg_port[0].port);
    assert_int_equal(vsw_commit(g.tmp, &cfg, &em), 0);
    snprintf(file, sizeof(file), "%s/destroy.pcap", g.dir);
    assert_true(vsw_capture_start(g.tmp, cfg_port[1].port, file, 0,
                                  VSW_CAPTURE_BOTH, 0, &em) > 0);
}

static int run_destroy(struct oom_op *o)
{
    (void)o;
    vsw_destroy(g.tmp);
    g.tmp = NULL;
    return 0;
}

static void after_destroy(struct oom_op *o)
{
    char file[128];

    (void)o;
    snprintf(file, sizeof(file), "%s/destroy.pcap", g.dir);
    assert_int_equal(unlink(file), 0); /* closed and flushed by destroy */
}

static void test_destroy(void **state)
{
    struct oom_op o = { .name = "vsw_destroy (ports, FDB, capture)",
                        .prepare = prepare_destroy, .run = run_destroy,
                        .after = after_destroy, .dump = dump_world,
                        .must_recover = true };

    (void)state;
    oom_sweep(&o);
}

/* ---- the running switch ------------------------------------------------- */

static void test_switch_create(void **state)
{
    struct vsw_params p = { .n_mbufs = N_MBUFS, .n_dp_lcores = 1 };
    struct vsa_errmsg em;

    (void)state;
    assert_int_equal(vsw_create(&p, &g.sw, &em), 0);
    cfg_reset();
    cfg_switch("sw0", 1024, 300);
    sweep_commit("vsw_commit: create switch sw0", NULL);
    assert_non_null(vsw_switch_fdb(g.sw, "sw0"));
}

static void test_port_open(void **state)
{
    static const char *const addrs[] = { "10.77.0.1/24", "10.78.0.1/16" };

    (void)state;
    sweep_open("vsw_port_open: dpdk (net_ring)", "r0", VSW_PORT_DPDK,
               RING_DEV("net_ring0"), NULL, NULL, 0, 0, &g.r0);
    /* Sinks, not swept: DPDK 22.11's net_null never frees the buffer it
     * allocates per queue set up, which a sweep would see as a leak at
     * every failure after the queue setup (and vesperd leaks it at every
     * close of a net_null port). */
    g.n0 = open_null(g.sw, "n0", "net_null0,no-rx=1");
    g.n1 = open_null(g.sw, "n1", "net_null1,no-rx=1");
    if (!g.netns) {
        no_netns("the internal class (TAP) is");
        return;
    }
    sweep_open("vsw_port_open: internal (TAP, libnl)", "h0",
               VSW_PORT_INTERNAL, NULL, "vto-h0", addrs, 2, 1400, &g.h0);
    assert_true(if_nametoindex("vto-h0") > 0);
}

static int run_addrs_prepare(struct oom_op *o)
{
    static const char *const addrs[] = { "10.79.0.1/24", "10.77.0.1/24" };
    struct vsa_errmsg em = { "" };
    struct vsw_host_addrs **h = o->ctx;

    *h = NULL;
    return vsw_port_host_addrs_prepare(g.sw, g.h0, addrs, 2, 1280, h, &em);
}

static void done_addrs_prepare(struct oom_op *o)
{
    struct vsw_host_addrs **h = o->ctx;
    struct vsa_errmsg em = { "" };
    struct oom_buf b = { 0 };

    assert_non_null(*h);
    if (vsw_port_host_addrs_apply(g.sw, *h, &em) != 0)
        fail_msg("vsw_port_host_addrs_apply: %s", em.msg);
    vsw_port_host_addrs_abort(g.sw, *h);
    *h = NULL;
    oom_dump_netdevs(&b);
    /* 10.77.0.1 stays as it was (first), 10.79.0.1 is new; the one of
     * the opened port's list that the new list leaves out is gone */
    if (!strstr(b.s, "vto-h0 mtu 1280 flags 101\n   addr 10.77.0.1\n"
                     "   addr 10.79.0.1\n   disable_ipv6"))
        fail_msg("addresses not applied:\n%s", b.s);
    free(b.s);
}

/* A kept host vNIC's address change, prepared (every allocation; nothing
 * may change on a failure) and then applied. */
static void test_host_addrs(void **state)
{
    struct vsw_host_addrs *h = NULL;
    struct oom_op o = { .name = "vsw_port_host_addrs_prepare (+apply)",
                        .run = run_addrs_prepare, .done = done_addrs_prepare,
                        .dump = dump_world, .ctx = &h };

    (void)state;
    if (!g.netns) {
        no_netns("the host vNIC's address change is");
        skip();
    }
    if (!g.h0)
        fail_msg("no internal port h0 to change (test_port_open did not "
                 "open it)");
    oom_sweep(&o);
}

/* ---- a kernel NIC bound to a port ----------------------------------------- */

static void set_disable_ipv6(const char *name, int v)
{
    char path[128];

    snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6",
             name);
    write_sysctl(path, v ? "1\n" : "0\n");
    assert_int_equal(oom_disable_ipv6(name), v);
}

/* ifname's net.ipv4.conf arp_ignore and rp_filter, both v. */
static void set_v4(const char *name, int v)
{
    char path[128];

    snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/arp_ignore",
             name);
    write_sysctl(path, v ? "1\n" : "0\n");
    snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/rp_filter",
             name);
    write_sysctl(path, v ? "1\n" : "0\n");
}

/* The NIC's state: up, promiscuous, disable_ipv6, and arp_ignore and
 * rp_filter (both v4: 1 while bound). */
static void nic_expect(const char *name, bool up, bool promisc, int ipv6off,
                       int v4, const char *when)
{
    short f = ifflags_get(name);
    int arp = oom_conf_int("ipv4", name, "arp_ignore");
    int rpf = oom_conf_int("ipv4", name, "rp_filter");

    if (((f & IFF_UP) != 0) != up || ((f & IFF_PROMISC) != 0) != promisc ||
        oom_disable_ipv6(name) != ipv6off || arp != v4 || rpf != v4)
        fail_msg("%s %s: %s, %s, disable_ipv6 %d, arp_ignore %d, rp_filter "
                 "%d; expected %s, %s, %d, %d, %d", name, when,
                 f & IFF_UP ? "up" : "down",
                 f & IFF_PROMISC ? "promiscuous" : "not promiscuous",
                 oom_disable_ipv6(name), arp, rpf, up ? "up" : "down",
                 promisc ? "promiscuous" : "not promiscuous", ipv6off, v4,
                 v4);
}

static struct vsw_port *open_uplink(const char *name, const char *ifname)
{
    struct vsw_port_spec spec;
    struct vsw_port *p = NULL;
    struct vsa_errmsg em;

    memset(&spec, 0, sizeof(spec));
    snprintf(spec.name, sizeof(spec.name), "%s", name);
    spec.cls = VSW_PORT_UPLINK;
    spec.ifname = ifname;
    if (vsw_port_open(g.sw, &spec, &p, &em) != 0)
        fail_msg("vsw_port_open(uplink %s): %s", ifname, em.msg);
    return p;
}

/* Messages of WARN or worse from the host glue (a restore refused). */
static int hostif_warnings;

static void count_hostif_warnings(enum vsa_log_level level,
                                  const char *module, const char *msg)
{
    if (level <= VSA_LOG_WARN && strcmp(module, "vswitch_hostif") == 0) {
        hostif_warnings++;
        print_message("hostif: %s\n", msg);
    }
}

/* A kernel NIC (veth vto-u0, its peer down: no carrier, the kernel sends
 * nothing on it) bound by an uplink port: every failed open leaves it as it
 * was (the dump has its flags, disable_ipv6, arp_ignore and rp_filter);
 * the open sets it up and promiscuous, switches its IPv6 off and raises
 * arp_ignore and rp_filter; closing gives it back. */
static void test_port_open_kernel_nic(void **state)
{
    struct vsw_port *u0 = NULL, *u1 = NULL, *u2;
    struct vsw_port_spec spec;

    (void)state;
    if (!g.netns) {
        no_netns("the kernel NIC class (veth) is");
        skip();
    }
    netif_veth_add("vto-u0", "vto-u0p");
    set_disable_ipv6("vto-u0", 0);
    set_v4("vto-u0", 0);
    nic_expect("vto-u0", false, false, 0, 0, "before");
    sweep_open("vsw_port_open: uplink (kernel NIC, af_packet)", "u0",
               VSW_PORT_UPLINK, NULL, "vto-u0", NULL, 0, 0, &u0);
    nic_expect("vto-u0", true, true, 1, 1, "bound");

    /* A second port on the NIC replacing u0 (a port reopened before the
     * old one is closed): its failures must leave the NIC as u0 needs it,
     * and closing u0 too; the last one out restores the state from before
     * u0. */
    memset(&spec, 0, sizeof(spec));
    snprintf(spec.name, sizeof(spec.name), "u1");
    spec.cls = VSW_PORT_DPDK;
    spec.devargs = "net_af_packet_u1,iface=vto-u0";
    spec.replacing = &u0;
    spec.n_replacing = 1;
    sweep_open_spec("vsw_port_open: dpdk (af_packet, NIC held by the port "
                    "it replaces)", &spec, &u1);
    vsw_port_close(g.sw, u0);
    nic_expect("vto-u0", true, true, 1, 1, "after closing u0 (u1 holds it)");
    vsw_port_close(g.sw, u1);
    nic_expect("vto-u0", false, false, 0, 0, "after closing u0 and u1");

    /* Up, promiscuous and without IPv6 already: left so. */
    ifflags_change("vto-u0", IFF_UP | IFF_PROMISC, 0);
    set_disable_ipv6("vto-u0", 1);
    u2 = open_uplink("u2", "vto-u0");
    vsw_port_close(g.sw, u2);
    nic_expect("vto-u0", true, true, 1, 0,
               "up and promiscuous before, closed");

    /* Deleted while bound: nothing to restore, nothing to complain of. */
    u2 = open_uplink("u2", "vto-u0");
    netif_link_del("vto-u0");
    hostif_warnings = 0;
    vsa_log_set_hook(count_hostif_warnings);
    vsw_port_close(g.sw, u2);
    vsa_log_set_hook(NULL);
    assert_int_equal(hostif_warnings, 0);
    assert_int_equal(if_nametoindex("vto-u0"), 0);
}

/* Frames into the peer of a veth until told to stop. */
static struct {
    int fd;
    _Atomic bool stop;
    _Atomic uint64_t sent;
} fl;

static void *flood_main(void *arg)
{
    uint8_t f[60] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                      0x02, 0x00, 0x00, 0x00, 0x0d, 0x01,
                      ETYPE_TEST >> 8, ETYPE_TEST & 0xff };

    (void)arg;
    while (!atomic_load(&fl.stop))
        if (send(fl.fd, f, sizeof(f), 0) == (ssize_t)sizeof(f))
            atomic_fetch_add(&fl.sent, 1);
    return NULL;
}

/* An uplink opened while the peer of its NIC floods: its af_packet queue
 * takes frames in before the port carries traffic, and the open discards
 * them (learning from them could move other ports' MACs onto this one).
 * Each is counted,
 * open_drained: as many as the PMD's rx_burst returned (nothing else
 * polls a port no commit published).  Until an open drained some, at most
 * 50 opens. */
static void test_open_drained(void **state)
{
    struct sockaddr_ll sll = { .sll_family = AF_PACKET,
                               .sll_protocol = htons(ETH_P_ALL) };
    unsigned tries = 0;
    uint64_t drained = 0;
    pthread_t th;

    (void)state;
    if (!g.netns) {
        no_netns("the open's drain (veth) is");
        skip();
    }
    netif_veth_add("vto-d0", "vto-d0p");
    ifflags_change("vto-d0p", IFF_UP, 0);
    sll.sll_ifindex = (int)if_nametoindex("vto-d0p");
    fl.fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
    assert_true(fl.fd >= 0);
    assert_int_equal(bind(fl.fd, (struct sockaddr *)&sll, sizeof(sll)), 0);
    atomic_store(&fl.stop, false);
    atomic_store(&fl.sent, 0);
    assert_int_equal(pthread_create(&th, NULL, flood_main, NULL), 0);
    while (atomic_load(&fl.sent) < 1000)
        usleep(1000);

    while (drained == 0 && tries++ < 50) {
        struct vsw_port *p = open_uplink("d0", "vto-d0");
        struct rte_eth_stats es;
        struct vsw_port_stats st;

        vsw_get_port_stats(g.sw, p, &st);
        assert_int_equal(rte_eth_stats_get(p->eth_port, &es), 0);
        drained = st.drops[VSW_DROP_OPEN_DRAINED];
        if (drained != es.ipackets)
            fail_msg("open %u: open_drained %llu, the PMD returned %llu",
                     tries, (unsigned long long)drained,
                     (unsigned long long)es.ipackets);
        if (drained) {
            assert_true(drained <= 256u * VSW_BURST); /* drain_rx's bound */
            vsw_clear_port_stats(g.sw, p);
            vsw_get_port_stats(g.sw, p, &st);
            assert_int_equal(st.drops[VSW_DROP_OPEN_DRAINED], 0);
        }
        vsw_port_close(g.sw, p);
    }
    atomic_store(&fl.stop, true);
    assert_int_equal(pthread_join(th, NULL), 0);
    close(fl.fd);
    netif_link_del("vto-d0");
    print_message("open_drained %llu at open %u (%llu frames sent)\n",
                  (unsigned long long)drained, tries,
                  (unsigned long long)atomic_load(&fl.sent));
    assert_true(drained > 0);
}

static uint16_t null_io(void *priv, uint16_t lcore_idx,
                        struct rte_mbuf **pkts, uint16_t n)
{
    (void)priv;
    (void)lcore_idx;
    (void)pkts;
    (void)n;
    return 0;
}

static bool null_link(void *priv)
{
    (void)priv;
    return true;
}

static void null_close(void *priv)
{
    (void)priv;
}

static const struct vsw_port_plugin null_class = {
    .name = "test-null", .rx_burst = null_io, .tx_burst = null_io,
    .link_get = null_link, .close = null_close,
};

static int run_open_class(struct oom_op *o)
{
    struct vsa_errmsg em = { "" };
    struct vsa_mac mac = mac_of(0x02000000cc01ull);

    (void)o;
    g.opened = NULL;
    return vsw_port_open_class(g.sw, "c0", &null_class, NULL, &mac,
                               &g.opened, &em);
}

static void done_open_class(struct oom_op *o)
{
    (void)o;
    assert_non_null(g.opened);
    g.c0 = g.opened;
}

static void test_port_open_class(void **state)
{
    struct oom_op o = { .name = "vsw_port_open_class", .run = run_open_class,
                        .done = done_open_class, .dump = dump_world };

    (void)state;
    oom_sweep(&o);
}

/* sw0: r0 trunk 1-100 native 1, n0 access 10, n1 trunk 10,20, c0 access
 * 30, h0 access 1 (learn limit 8). */
static void cfg_ports(void)
{
    cfg_reset();
    cfg_switch("sw0", 1024, 300);
    cfg_add_port(g.r0, 0, trunk_mode("1-100", 1), 0);
    cfg_add_port(g.n0, 0, access_mode(10), 0);
    cfg_add_port(g.n1, 0, trunk_mode("10,20", 0), 0);
    cfg_add_port(g.c0, 0, access_mode(30), 0);
    if (g.h0)
        cfg_add_port(g.h0, 0, access_mode(1), 8);
}

static void done_add_ports(struct oom_op *o)
{
    struct vsw_fdb *fdb = vsw_switch_fdb(g.sw, "sw0");

    (void)o;
    /* the broadcasts test_commit_ports put into r0's ring */
    wait_rx(g.r0, 3);
    assert_true(fdb_has(fdb, 1, MAC_A, vsw_port_id(g.r0), false));
    assert_true(fdb_has(fdb, 10, MAC_B, vsw_port_id(g.r0), false));
    assert_true(fdb_has(fdb, 20, MAC_C, vsw_port_id(g.r0), false));
}

static void test_commit_ports(void **state)
{
    (void)state;
    cfg_ports();
    /* traffic for when r0 is published: broadcasts on VLAN 1 (untagged),
     * 10 and 20 */
    inject(MAC_A, 0);
    inject(MAC_B, 10);
    inject(MAC_C, 20);
    sweep_commit("vsw_commit: add 4-5 ports", done_add_ports);
}

static void done_vlan(struct oom_op *o)
{
    struct vsw_fdb *fdb = vsw_switch_fdb(g.sw, "sw0");

    (void)o;
    /* r0 left VLAN 20: its entry there is gone, the others stay */
    assert_false(fdb_has(fdb, 20, MAC_C, vsw_port_id(g.r0), false));
    assert_true(fdb_has(fdb, 1, MAC_A, vsw_port_id(g.r0), false));
    assert_true(fdb_has(fdb, 10, MAC_B, vsw_port_id(g.r0), false));
}

static void test_commit_vlan(void **state)
{
    (void)state;
    cfg_ports();
    cfg_port[0].vlan = trunk_mode("1,10", 1);   /* r0 leaves VLAN 20 */
    cfg_port[2].vlan = access_mode(20);         /* n1 */
    cfg_port[3].learn_limit = 4;                /* c0 */
    sweep_commit("vsw_commit: VLAN modes (a VLAN left)", done_vlan);
}

static void done_statics(struct oom_op *o)
{
    struct vsw_fdb *fdb = vsw_switch_fdb(g.sw, "sw0");

    (void)o;
    assert_true(fdb_has(fdb, 10, 0x020000001001ull, vsw_port_id(g.n0), true));
    assert_true(fdb_has(fdb, 20, 0x020000002001ull, vsw_port_id(g.n1), true));
}

static void done_statics2(struct oom_op *o)
{
    struct vsw_fdb *fdb = vsw_switch_fdb(g.sw, "sw0");

    (void)o;
    assert_true(fdb_has(fdb, 10, 0x020000001001ull, vsw_port_id(g.n0), true));
    assert_false(fdb_has(fdb, 20, 0x020000002001ull, vsw_port_id(g.n1),
                         true));
    assert_true(fdb_has(fdb, 20, 0x020000002002ull, vsw_port_id(g.n1), true));
    assert_true(fdb_has(fdb, 1, MAC_A, vsw_port_id(g.r0), false));
}

static void cfg_vlan_done(void)
{
    cfg_ports();
    cfg_port[0].vlan = trunk_mode("1,10", 1);
    cfg_port[2].vlan = access_mode(20);
    cfg_port[3].learn_limit = 4;
}

static void test_commit_statics(void **state)
{
    (void)state;
    cfg_vlan_done();
    cfg_add_static(0, 10, 0x020000001001ull, g.n0);
    cfg_add_static(0, 20, 0x020000002001ull, g.n1);
    sweep_commit("vsw_commit: add static FDB entries", done_statics);
    cfg_vlan_done();
    cfg_add_static(0, 10, 0x020000001001ull, g.n0);
    cfg_add_static(0, 20, 0x020000002002ull, g.n1);
    sweep_commit("vsw_commit: replace a static FDB entry", done_statics2);
}

static void done_rebuild(struct oom_op *o)
{
    struct vsw_fdb *f0 = vsw_switch_fdb(g.sw, "sw0");
    struct vsw_fdb *f1 = vsw_switch_fdb(g.sw, "sw1");

    (void)o;
    assert_non_null(f1);
    assert_int_equal(vsw_fdb_capacity_slots(f0), 2048 * 2);
    /* a new table: learned entries carried over, statics re-added */
    assert_true(fdb_has(f0, 1, MAC_A, vsw_port_id(g.r0), false));
    assert_true(fdb_has(f0, 10, 0x020000001001ull, vsw_port_id(g.n0), true));
    assert_true(fdb_has(f1, 20, 0x020000002002ull, vsw_port_id(g.n1), true));
}

/* sw0 with fdb_max 2048 (a new FDB), n1 moved to a new switch sw1. */
static void cfg_two_switches(void)
{
    cfg_reset();
    cfg_switch("sw0", 2048, 120);
    cfg_switch("sw1", 64, 30);
    cfg_add_port(g.r0, 0, trunk_mode("1,10", 1), 0);
    cfg_add_port(g.n0, 0, access_mode(10), 0);
    cfg_add_port(g.n1, 1, access_mode(20), 2);
    cfg_add_port(g.c0, 0, access_mode(30), 4);
    if (g.h0)
        cfg_add_port(g.h0, 0, access_mode(1), 8);
    cfg_add_static(0, 10, 0x020000001001ull, g.n0);
    cfg_add_static(1, 20, 0x020000002002ull, g.n1);
}

static void test_commit_rebuild(void **state)
{
    (void)state;
    cfg_two_switches();
    sweep_commit("vsw_commit: FDB rebuilt, second switch", done_rebuild);
    /* learned entries again, for the sweeps below */
    static const uint64_t srcs[] = { MAC_A, MAC_B };
    static const uint16_t vids[] = { 0, 10 };
    inject_published(srcs, vids, 2, 5);
}

static int run_capture(struct oom_op *o)
{
    struct vsa_errmsg em = { "" };
    char file[128];
    int id;

    (void)o;
    snprintf(file, sizeof(file), "%s/r0.pcap", g.dir);
    id = vsw_capture_start(g.sw, g.r0, file, 10, VSW_CAPTURE_BOTH, 128, &em);
    if (id < 0)
        return id;
    g.capture_id = id;
    return 0;
}

static void done_capture(struct oom_op *o)
{
    struct vsw_capture_info ci;
    char file[128];

    (void)o;
    assert_int_equal(g.capture_id, 1); /* no failed start used an id */
    inject_published((const uint64_t[]){ MAC_A }, (const uint16_t[]){ 0 },
                     1, 6);
    vsw_tick(g.sw);
    assert_int_equal(vsw_capture_stop(g.sw, g.capture_id, &ci), 0);
    assert_int_equal(ci.captured, 1);
    snprintf(file, sizeof(file), "%s/r0.pcap", g.dir);
    assert_int_equal(unlink(file), 0);
}

static void test_capture(void **state)
{
    struct oom_op o = { .name = "vsw_capture_start", .run = run_capture,
                        .done = done_capture, .dump = dump_world };

    (void)state;
    oom_sweep(&o);
}

static void done_remove(struct oom_op *o)
{
    struct vsw_fdb *f0 = vsw_switch_fdb(g.sw, "sw0");
    uint16_t n0 = vsw_port_id(g.n0);

    (void)o;
    /* n0's static entry went with the configuration */
    assert_false(fdb_has(f0, 10, 0x020000001001ull, n0, true));
    vsw_port_close(g.sw, g.n0);
    g.n0 = NULL;
    vsw_port_close(g.sw, g.c0);
    g.c0 = NULL;
    if (g.h0) {
        vsw_port_close(g.sw, g.h0);
        g.h0 = NULL;
        assert_int_equal(if_nametoindex("vto-h0"), 0);
    }
}

static void done_remove_all(struct oom_op *o)
{
    (void)o;
    assert_null(vsw_switch_fdb(g.sw, "sw0"));
    assert_null(vsw_switch_fdb(g.sw, "sw1"));
    vsw_port_close(g.sw, g.r0);
    vsw_port_close(g.sw, g.n1);
    g.r0 = g.n1 = NULL;
}

static void test_commit_remove(void **state)
{
    (void)state;
    cfg_reset();
    cfg_switch("sw0", 2048, 120);
    cfg_switch("sw1", 64, 30);
    cfg_add_port(g.r0, 0, trunk_mode("1,10", 1), 0);
    cfg_add_port(g.n1, 1, access_mode(20), 2);
    cfg_add_static(1, 20, 0x020000002002ull, g.n1);
    sweep_commit("vsw_commit: remove ports", done_remove);
    cfg_reset();
    sweep_commit("vsw_commit: remove the switches", done_remove_all);
    vsw_destroy(g.sw);
    g.sw = NULL;
}

/* ---- setup -------------------------------------------------------------- */

static int rm_entry(const char *path, const struct stat *sb, int flag,
                    struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

/* The 16 rings of RING_DEV(name). */
static int ring_create_set(const char *dev)
{
    for (unsigned i = 0; i < 16; i++) {
        char name[RTE_RING_NAMESIZE];

        snprintf(name, sizeof(name), "ETH_RXTX%u_%s", i, dev);
        if (!rte_ring_create(name, 1024, (int)rte_socket_id(),
                             RING_F_SP_ENQ | RING_F_SC_DEQ))
            return -1;
    }
    return 0;
}

/* DPDK allocates some process-wide state the first time it is needed and
 * keeps it (the mbuf dynamic field table, the ethdev data array, a
 * driver's first probe): one switch with a port of each class, opened and
 * closed before the sweeps, so that their "before" dumps already hold it. */
static void warm_up(void)
{
    struct vsw_params p = { .n_mbufs = N_MBUFS, .n_dp_lcores = 1 };
    struct vsw_port_spec spec;
    struct vsw_port *port;
    struct vsa_errmsg em;

    struct vsw_cfg_switch cs = { .name = "w", .fdb_max = 64, .aging_s = 10 };
    struct vsw_cfg_port cp = { .switch_idx = 0 };
    struct vsw_cfg c = { .switches = &cs, .n_switches = 1, .ports = &cp,
                         .n_ports = 1 };
    struct vsw_cfg none = { .switches = &cs, .n_switches = 0 };
    char file[128];

    assert_int_equal(vsw_create(&p, &g.sw, &em), 0);
    cp.port = open_null(g.sw, "w0", RING_DEV("net_ring_d0"));
    cp.vlan = access_mode(1);
    assert_int_equal(vsw_commit(g.sw, &c, &em), 0);
    snprintf(file, sizeof(file), "%s/w.pcap", g.dir);
    assert_true(vsw_capture_start(g.sw, cp.port, file, 0, VSW_CAPTURE_BOTH,
                                  0, &em) > 0);
    assert_int_equal(vsw_commit(g.sw, &none, &em), 0);
    vsw_port_close(g.sw, cp.port);
    unlink(file);
    if (g.netns) {
        memset(&spec, 0, sizeof(spec));
        snprintf(spec.name, sizeof(spec.name), "w1");
        spec.cls = VSW_PORT_INTERNAL;
        spec.ifname = "vto-w1";
        if (vsw_port_open(g.sw, &spec, &port, &em) != 0)
            fail_msg("TAP: %s", em.msg);
        vsw_port_close(g.sw, port);
    }
    vsw_destroy(g.sw);
    g.sw = NULL;
}

static int group_setup(void **state)
{
    char prefix[64];
    char *argv[] = {
        "test_vsw_oom", "--no-huge", "-m", "512", "--no-pci",
        "--file-prefix", prefix, "-l", "0,1", "--main-lcore", "0",
        "--log-level", "lib.eal:error", "--log-level", "pmd.net.tap:critical",
        "--no-telemetry", NULL,
    };

    (void)state;
    vsa_log_set_level(VSA_LOG_WARN);
    /* Before the EAL starts threads: they inherit the namespace. */
    g.netns = unshare(CLONE_NEWNET) == 0;
    g.netns_errno = g.netns ? 0 : errno;
    if (g.netns) {
        write_sysctl("/proc/sys/net/ipv6/conf/all/disable_ipv6", "1\n");
        write_sysctl("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1\n");
    }
    snprintf(prefix, sizeof(prefix), "vt_oom%d", (int)getpid());
    if (rte_eal_init((int)(sizeof(argv) / sizeof(argv[0])) - 1, argv) < 0) {
        fprintf(stderr, "rte_eal_init failed: %s\n", rte_strerror(rte_errno));
        return -1;
    }
    oom_lsan_setup();
    oom_install();
    snprintf(g.dir, sizeof(g.dir), "/tmp/vt_oom_XXXXXX");
    if (!mkdtemp(g.dir))
        return -1;
    if (ring_create_set("net_ring0") < 0 ||
        ring_create_set("net_ring_d0") < 0 ||
        ring_create_set("net_ring_d1") < 0)
        return -1;
    warm_up();
    return 0;
}

static int group_teardown(void **state)
{
    char runtime[PATH_MAX];

    (void)state;
    vsa_alloc_set_hook(NULL);
    if (g.sw)
        vsw_destroy(g.sw);  /* whatever a failed test left open */
    snprintf(runtime, sizeof(runtime), "%s", rte_eal_get_runtime_dir());
    rte_eal_cleanup();
    if (runtime[0])
        nftw(runtime, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    if (g.dir[0])
        nftw(g.dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    return 0;
}

int main(void)
{
    /* In this order: each works on what the one before left. */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create),
        cmocka_unit_test(test_destroy),
        cmocka_unit_test(test_switch_create),
        cmocka_unit_test(test_port_open),
        cmocka_unit_test(test_port_open_kernel_nic),
        cmocka_unit_test(test_open_drained),
        cmocka_unit_test(test_port_open_class),
        cmocka_unit_test(test_host_addrs),
        cmocka_unit_test(test_commit_ports),
        cmocka_unit_test(test_commit_vlan),
        cmocka_unit_test(test_commit_statics),
        cmocka_unit_test(test_commit_rebuild),
        cmocka_unit_test(test_capture),
        cmocka_unit_test(test_commit_remove),
    };

    return cmocka_run_group_tests_name("vswitch-oom", tests, group_setup,
                                       group_teardown);
}
