/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_vd_apply.c — allocation-failure sweep over vesperd's configuration
 * apply (tools/vesperd/apply.c, vd_apply), TESTS.md #29, on a real switch.
 *
 * Objective: a whole configuration transaction — parse the document, open
 * the new ports (dpdk on net_ring, a host vNIC TAP with addresses, a VM's
 * synthetic and legacy NICs), prepare the VM partitions, prepare the
 * forwarding configuration and the address change of a kept host vNIC,
 * write the document, publish — either happens completely or not at all
 * when any one allocation fails.  One counter numbers the injection points
 * of all three allocation hooks the apply goes through (common/vsa_alloc.h
 * for vswitch/ and apply.c, tools/ctl/ctl_alloc.h and jansson's for the
 * parser and the store), and the sweep (tests/unit/vswitch/vsw_oom.h)
 * fails point k for k = 1..N on three transactions:
 *   1. the start of vesperd: from no configuration at all to two switches,
 *      a host vNIC, two dpdk ports, a VM with a synthetic and a legacy NIC
 *      and a static FDB entry;
 *   2. a change of nearly everything: a switch's aging, another's fdb_max
 *      (a new FDB), a new switch and port, a port removed, VLAN modes, the
 *      static entry moved, the host vNIC's addresses and MTU (the
 *      switch's MTU of its port too), a VM NIC
 *      removed, one changed and one added (offered to the running VM at
 *      the commit, with the offer's memory allocated in the prepare), a
 *      second VM added;
 *   3. removing everything.
 * After each failure vd_apply must have returned the system error with an
 * "out of memory" message, and the state dump must be byte for byte the
 * one from before: the switch (vsw_oom.h: snapshot, FDBs, ports, counters,
 * devices, memzones, heap, interfaces with their addresses), vesperd's
 * committed document, parsed configuration and port array, the VM set
 * (vm.list) and the VM NIC ports' registries, the document on disk and the
 * VM socket directory; no tracked allocation may be left, nor (ASan build)
 * anything LSan finds.  The call after the last failure must succeed.
 *
 * The VM side is swept too: the partition, its VMBus host and GPADL
 * table, each NIC's record and offer (tools/vesperd/vm.c, hv/), the NIC
 * glue (synth.c, legacy.c), and the switch ports of the NICs with their
 * own memory, queues and 21140 model (vsp-net/netvsp_port.c,
 * tulip_port.c, tulip.c) all allocate through common/vsa_alloc.h.
 *
 * Regression tests for: a NIC glue that could not watch its port's queue
 * reported "cannot watch its queue" without the reason, so an allocation
 * failure there did not read as one; and a synthetic NIC added to a
 * running VM allocated its offer in vd_vm_commit, after the point of no
 * return, where a failure left the NIC configured but not offered until a
 * tick retried it (the offer's memory now comes from the prepare).
 *
 * Regression test for: a failed write of the document after the new
 * configuration was published rolled back by committing the previous one
 * again, which needs memory itself; when that failed too, the new
 * configuration stayed published and its new ports could not be closed
 * (vsw_port_close refused them as still published).  apply.c now prepares
 * the commit (vsw_commit_prepare), writes the document and only then
 * publishes (vsw_commit_publish cannot fail).  And: the address change of
 * a kept host vNIC ran after the point of no return, so an allocation
 * failure there was only logged; its allocations are now made with the
 * commit's (vsw_port_host_addrs_prepare).
 *
 * test_apply_revert_refused: a failed write after a host vNIC's change
 * whose undoing the kernel refuses in part (an IPv6 address that cannot
 * come back) fails with an error that says so and names the port; before,
 * only a rate-limited log line did.
 *
 * Runs like test_vsw_oom.c: EAL in this process on lcore 1, in a network
 * namespace of its own with IPv6 off.
 */
#include <dirent.h>
#include <ftw.h>
#include <limits.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_ring.h>

#include "common/vsa_log.h"
#include "tests/unit/tools/tools_test.h"
#include "tests/unit/vswitch/vsw_oom.h"
#include "tools/ctl/ctl_alloc.h"
#include "tools/ctl/ctl_store.h"
#include "tools/vesperd/vesperd.h"
#include "tools/vesperd/vm.h"

#define N_MBUFS 4095

/* net_ring ports on rings the test makes (see test_vsw_oom.c): the PMD
 * would leave 15 of the 16 rings it creates itself at every close. */
#define RING(n) "'net_ring" #n ",nodeaction=net_ring" #n ":0:ATTACH'"

static struct vd d;
static char dir[64], vm_dir[128], cfg_path[128];
static bool netns;

/* ---- documents ---------------------------------------------------------- */

#define DOC_EMPTY "{'version':1,'switches':[],'ports':[]}"

/* The start: everything new. */
#define DOC_START                                                            \
    "{'version':1,"                                                          \
    " 'switches':["                                                          \
    "  {'name':'lab','type':'internal','fdb_max':256,'aging_s':300},"        \
    "  {'name':'priv','type':'private','fdb_max':1024,'aging_s':60}],"       \
    " 'ports':["                                                             \
    "  {'name':'vt-lab','switch':'lab','class':'internal',"                  \
    "   'ifname':'vt-lab','addresses':['10.66.0.1/24'],'mtu':1500},"         \
    "  {'name':'p1','switch':'priv','class':'dpdk','devargs':" RING(0) ","   \
    "   'vlan':{'mode':'trunk','allowed':'1-100','native':1}},"              \
    "  {'name':'p2','switch':'priv','class':'dpdk','devargs':" RING(1) ","   \
    "   'vlan':{'mode':'access','vid':20},'learn_limit':10}],"               \
    " 'vms':["                                                               \
    "  {'name':'vm1','nics':["                                               \
    "   {'name':'eth0','type':'synthetic','switch':'priv',"                  \
    "    'mac':'02:00:00:00:aa:01','vlan':{'mode':'access','vid':20}},"      \
    "   {'name':'eth1','type':'legacy','switch':'priv',"                     \
    "    'mac':'02:00:00:00:aa:02'}]}],"                                     \
    " 'fdb_static':["                                                        \
    "  {'switch':'priv','vlan':20,'mac':'02:00:00:00:00:01','port':'p2'}]}"

/* Nearly everything changes. */
#define DOC_CHANGE                                                           \
    "{'version':1,"                                                          \
    " 'switches':["                                                          \
    "  {'name':'lab','type':'internal','fdb_max':256,'aging_s':600},"        \
    "  {'name':'priv','type':'private','fdb_max':2048,'aging_s':60},"        \
    "  {'name':'priv2','type':'private','fdb_max':64,'aging_s':30}],"        \
    " 'ports':["                                                             \
    "  {'name':'vt-lab','switch':'lab','class':'internal',"                  \
    "   'ifname':'vt-lab','addresses':['10.66.0.1/24','10.67.0.1/16'],"      \
    "   'mtu':1400},"                                                        \
    "  {'name':'p1','switch':'priv','class':'dpdk','devargs':" RING(0) ","   \
    "   'vlan':{'mode':'trunk','allowed':'1,10','native':1}},"               \
    "  {'name':'p3','switch':'priv2','class':'dpdk','devargs':" RING(2) ","  \
    "   'learn_limit':5}],"                                                  \
    " 'vms':["                                                               \
    "  {'name':'vm1','nics':["                                               \
    "   {'name':'eth0','type':'synthetic','switch':'priv',"                  \
    "    'mac':'02:00:00:00:aa:01','vlan':{'mode':'access','vid':10}},"      \
    "   {'name':'eth2','type':'synthetic','switch':'priv',"                  \
    "    'mac':'02:00:00:00:aa:03'}]},"                                      \
    "  {'name':'vm2','nics':["                                               \
    "   {'name':'eth0','type':'synthetic','switch':'priv2',"                 \
    "    'mac':'02:00:00:00:bb:01'}]}],"                                     \
    " 'fdb_static':["                                                        \
    "  {'switch':'priv','vlan':10,'mac':'02:00:00:00:00:02','port':'p1'}]}"

/* ---- the state ---------------------------------------------------------- */

static void dump_file(struct oom_buf *b, const char *path)
{
    FILE *f = fopen(path, "rb");
    char buf[4096];
    size_t n;

    if (!f) {
        oom_printf(b, "file %s: none\n", path);
        return;
    }
    oom_printf(b, "file %s:\n", path);
    while ((n = fread(buf, 1, sizeof(buf) - 1, f)) > 0) {
        buf[n] = '\0';
        oom_printf(b, "%s", buf);
    }
    oom_printf(b, "\n");
    fclose(f);
}

static void dump_dir(struct oom_buf *b, const char *path)
{
    struct dirent **names;
    int n = scandir(path, &names, NULL, alphasort);

    for (int i = 0; i < n; i++) {
        if (names[i]->d_name[0] != '.')
            oom_printf(b, "  %s/%s\n", path, names[i]->d_name);
        free(names[i]);
    }
    free(names);
}

static void dump_json(struct oom_buf *b, const char *what, json_t *j)
{
    char *s = j ? json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT) : NULL;

    oom_printf(b, "%s %s\n", what, s ? s : "null");
    oom_free(s); /* json_dumps allocates through the hook */
}

static char *dump_vd(struct oom_op *o)
{
    static const char *const nic_ports[] = { "vm1.eth0", "vm1.eth1",
                                             "vm2.eth0" };
    struct oom_buf b = { 0 };
    json_t *j;

    (void)o;
    oom_dump_vsw(&b, d.vsw);
    oom_printf(&b, "vd cfg %p ports %p\n", (void *)d.cfg, (void *)d.ports);
    for (uint32_t i = 0; d.cfg && i < d.cfg->n_ports; i++)
        oom_printf(&b, "  vd port %s %p\n", d.cfg->ports[i].name,
                   (void *)d.ports[i]);
    dump_json(&b, "doc", d.doc);
    j = vd_vm_list_json(d.vms);
    dump_json(&b, "vms", j);
    json_decref(j);
    for (size_t i = 0; i < VSA_ARRAY_LEN(nic_ports); i++) {
        j = vd_synth_stats_json(nic_ports[i]);
        oom_printf(&b, "synthetic %s: %s\n", nic_ports[i], j ? "yes" : "no");
        json_decref(j);
        j = vd_legacy_stats_json(nic_ports[i]);
        oom_printf(&b, "legacy %s: %s\n", nic_ports[i], j ? "yes" : "no");
        json_decref(j);
    }
    dump_file(&b, cfg_path);
    dump_dir(&b, dir);
    dump_dir(&b, vm_dir);
    /* a host vNIC's addresses and MTU: a failed apply gives the old ones
     * back (vsw_port_host_addrs_revert) */
    if (netns)
        oom_dump_netdevs(&b);
    oom_printf(&b, "lcore 1 state %d\n",
               (int)rte_eal_get_lcore_state(rte_get_next_lcore(-1, 1, 0)));
    return b.s;
}

/* ---- the sweep ---------------------------------------------------------- */

struct apply_ctx {
    json_t *doc;
    void (*check)(void);
};

static int run_apply(struct oom_op *o)
{
    struct apply_ctx *c = o->ctx;
    struct ctl_rpc_err e = { 0, "" };

    if (vd_apply(&d, c->doc, true, &e) == 0)
        return 0;
    assert_int_equal(e.code, CTL_RPC_SYSTEM);
    if (strcasestr(e.msg, "out of memory") ||
        strcasestr(e.msg, "cannot allocate memory"))
        return -ENOMEM;
    print_error("vd_apply: %s\n", e.msg);
    return -EIO;
}

static void done_apply(struct oom_op *o)
{
    struct apply_ctx *c = o->ctx;

    assert_ptr_equal(d.doc, c->doc);
    c->check();
}

static void sweep_apply(const char *name, const char *text,
                        void (*check)(void))
{
    struct apply_ctx c = { .doc = jq(text), .check = check };
    struct oom_op o = { .name = name, .run = run_apply, .done = done_apply,
                        .dump = dump_vd, .ctx = &c };

    oom_sweep(&o);
    json_decref(c.doc);
}

static struct vsw_port *port_of(const char *name)
{
    int i = vd_port_index(&d, name);

    assert_true(i >= 0);
    assert_non_null(d.ports[i]);
    return d.ports[i];
}

struct static_match {
    uint16_t vid, port;
    uint64_t mac;
    bool found;
};

static int static_match_cb(const struct vsw_fdb_entry *e, void *arg)
{
    struct static_match *m = arg;

    m->found = e->is_static && e->vid == m->vid && e->mac == m->mac &&
               e->port == m->port;
    return m->found;
}

static bool fdb_static_on(const char *sw, uint16_t vid, uint64_t mac,
                          const char *port)
{
    struct vsw_fdb *fdb = vsw_switch_fdb(d.vsw, sw);
    struct static_match m = { vid, vsw_port_id(port_of(port)), mac, false };

    assert_non_null(fdb);
    vsw_fdb_walk(fdb, static_match_cb, &m);
    return m.found;
}

/* ---- the transactions --------------------------------------------------- */

static void check_start(void)
{
    char sock[160];
    struct oom_buf b = { 0 };

    assert_int_equal(d.cfg->n_ports, 5);
    assert_true(fdb_static_on("priv", 20, 0x020000000001ull, "p2"));
    json_t *j = vd_legacy_stats_json("vm1.eth1");

    assert_non_null(j);
    json_decref(j);
    snprintf(sock, sizeof(sock), "%s/vm1.sock", vm_dir);
    assert_int_equal(access(sock, F_OK), 0);
    if (netns) {
        oom_dump_netdevs(&b);
        assert_non_null(strstr(b.s, "vt-lab mtu 1500 flags 101\n"
                                    "   addr 10.66.0.1\n"));
        free(b.s);
        assert_int_equal(vsw_port_mtu(port_of("vt-lab")), 1500);
    }
}

static void test_apply_start(void **state)
{
    (void)state;
    sweep_apply("vd_apply: start (from nothing)", DOC_START, check_start);
}

/* DOC_START with the host vNIC at MTU 1400. */
#define DOC_START_MTU1400                                                    \
    "{'version':1,"                                                          \
    " 'switches':[{'name':'lab','type':'internal','fdb_max':256,"            \
    "   'aging_s':300}],"                                                    \
    " 'ports':[{'name':'vt-lab','switch':'lab','class':'internal',"          \
    "   'ifname':'vt-lab','addresses':['10.66.0.1/24'],'mtu':1400}]}"

static bool revert_ipv6_off;
static void write_sysctl(const char *path, const char *value);

/* At the deletion of vt-lab's IPv6 address: IPv6 is turned off on it
 * (which removes the address), so that it cannot come back. */
static bool ipv6_off_at_delete(void *arg, const char *what)
{
    if (!revert_ipv6_off && strcmp(what, "rtnl_addr_delete") == 0) {
        write_sysctl("/proc/sys/net/ipv6/conf/vt-lab/disable_ipv6", "1\n");
        revert_ipv6_off = true;
    }
    return oom_fail_cb(arg, what);
}

/* Frames the kernel sent on `ifname` (the TAP's tx: what the switch
 * reads), -1 if unknown. */
static long kernel_tx_packets(const char *ifname)
{
    char path[128];
    long n = -1;
    FILE *f;

    snprintf(path, sizeof(path), "/sys/class/net/%s/statistics/tx_packets",
             ifname);
    f = fopen(path, "r");
    if (f) {
        if (fscanf(f, "%ld", &n) != 1)
            n = -1;
        fclose(f);
    }
    return n;
}

/* Waits until the kernel has sent nothing on `ifname` for 1 s (at most
 * 10 s), then lets the lcore take in what it sent. */
static void wait_kernel_quiet(const char *ifname)
{
    long last = kernel_tx_packets(ifname);
    unsigned quiet = 0;

    for (unsigned i = 0; i < 100 && quiet < 10; i++) {
        long now;

        usleep(100 * 1000);
        now = kernel_tx_packets(ifname);
        quiet = now == last ? quiet + 1 : 0;
        last = now;
    }
    usleep(50 * 1000);
}

static void test_apply_revert_refused(void **state)
{
    static const struct vsa_alloc_hook hook = {
        .inject = ipv6_off_at_delete,
        .track = oom_track_cb,
    };
    struct ctl_rpc_err e = { 0, "" };
    json_t *doc = jq(DOC_START_MTU1400);
    struct oom_buf b = { 0 };
    char bad_path[PATH_MAX];

    (void)state;
    if (!netns)
        skip();
    write_sysctl("/proc/sys/net/ipv6/conf/vt-lab/disable_ipv6", "0\n");
    assert_int_equal(system("ip addr add 2001:db8:66::1/64 dev vt-lab "
                            "nodad"), 0);
    /* the write fails: the "directory" of the file is a file */
    snprintf(bad_path, sizeof(bad_path), "%s/config.json", cfg_path);
    d.config_path = d.config_file = bad_path;
    vsa_alloc_set_hook(&hook);
    assert_int_equal(vd_apply(&d, doc, true, &e), -1);
    oom_install();
    d.config_path = d.config_file = cfg_path;
    assert_true(revert_ipv6_off);
    print_message("refused: %s\n", e.msg);
    assert_non_null(strstr(e.msg, "not a directory"));
    if (!strstr(e.msg, "; and could not undo the change of port vt-lab "
                       "(the log names what differs)"))
        fail_msg("the error does not say vt-lab was left changed: %s",
                 e.msg);
    /* the rest was set back: the old MTU, the IPv4 address */
    oom_dump_netdevs(&b);
    assert_non_null(strstr(b.s, "vt-lab mtu 1500 flags 101\n"
                                "   addr 10.66.0.1\n"));
    free(b.s);
    assert_int_equal(vsw_port_mtu(port_of("vt-lab")), 1500);
    json_decref(doc);
    /* IPv6 was on for a few milliseconds: the kernel still sends the MLD
     * report of the link-local address's group it joined then (work it
     * had scheduled), a few milliseconds later.  The next test's sweep
     * compares the switch's counters and FDB before and after each failed
     * apply, and that frame failed it in 11 of 20 runs. */
    wait_kernel_quiet("vt-lab");
}

static void check_change(void)
{
    struct oom_buf b = { 0 };

    assert_int_equal(d.cfg->n_ports, 6);
    assert_true(vd_port_index(&d, "p2") < 0);
    assert_true(vd_port_index(&d, "vm1.eth2") >= 0);
    assert_true(fdb_static_on("priv", 10, 0x020000000002ull, "p1"));
    assert_non_null(vsw_switch_fdb(d.vsw, "priv2"));
    assert_int_equal(vsw_fdb_capacity_slots(vsw_switch_fdb(d.vsw, "priv")),
                     2 * 2048);
    if (netns) {
        oom_dump_netdevs(&b);
        assert_non_null(strstr(b.s, "vt-lab mtu 1400 flags 101\n"
                                    "   addr 10.66.0.1\n"
                                    "   addr 10.67.0.1\n"));
        free(b.s);
        /* the switch has the host vNIC's new MTU too, published with
         * the configuration (no snapshot of its own after it) */
        assert_int_equal(vsw_port_mtu(port_of("vt-lab")), 1400);
    }
}

static void test_apply_change(void **state)
{
    (void)state;
    sweep_apply("vd_apply: change nearly everything", DOC_CHANGE,
                check_change);
}

static void check_empty(void)
{
    char sock[160];

    assert_int_equal(d.cfg->n_ports, 0);
    assert_null(vsw_switch_fdb(d.vsw, "priv"));
    snprintf(sock, sizeof(sock), "%s/vm1.sock", vm_dir);
    assert_int_equal(access(sock, F_OK), -1);
}

static void test_apply_remove(void **state)
{
    (void)state;
    sweep_apply("vd_apply: remove everything", DOC_EMPTY, check_empty);
}

/* ---- one kernel NIC, one port, under any of its names --------------------- */

#define NIC "vt-nic"
#define NIC_ALT "vt-nic-altname"

#define EXT1 "  {'name':'e1','type':'external','fdb_max':64,'aging_s':300}"
#define EXT1_PORT(how)                                                       \
    "  {'name':'e1.uplink','switch':'e1','class':'uplink'," how "}"

static int apply_plain(const char *text);

/* e1's uplink by the NIC's altname. */
#define DOC_EXT1                                                             \
    "{'version':1,'switches':[" EXT1 "],"                                  \
    " 'ports':[" EXT1_PORT("'ifname':'" NIC_ALT "'") "]}"

/* ... and a new switch e2 whose uplink is the same NIC by its name, after
 * a new port opened in the same transaction. */
#define DOC_EXT2                                                             \
    "{'version':1,'switches':[" EXT1 ","                                   \
    "  {'name':'priv','type':'private','fdb_max':64,'aging_s':60},"          \
    "  {'name':'e2','type':'external','fdb_max':64,'aging_s':300}],"         \
    " 'ports':[" EXT1_PORT("'ifname':'" NIC_ALT "'") ","                     \
    "  {'name':'p1','switch':'priv','class':'dpdk','devargs':" RING(0) "},"  \
    "  {'name':'e2.uplink','switch':'e2','class':'uplink',"                  \
    "   'ifname':'" NIC "'}]}"

/* Both uplinks new in one document. */
#define DOC_BOTH                                                             \
    "{'version':1,'switches':[" EXT1 ","                                   \
    "  {'name':'e2','type':'external','fdb_max':64,'aging_s':300}],"         \
    " 'ports':[" EXT1_PORT("'ifname':'" NIC_ALT "'") ","                     \
    "  {'name':'e2.uplink','switch':'e2','class':'uplink',"                  \
    "   'ifname':'" NIC "'}]}"

/* e1's uplink replaced: the NIC by devargs (another device, the same NIC). */
#define DOC_EXT1_DEVARGS                                                     \
    "{'version':1,'switches':[" EXT1 "],"                                  \
    " 'ports':[" EXT1_PORT("'devargs':'net_af_packet9,iface=" NIC "'") "]}"

/* A refused change: its code and message, and nothing changed (the dump
 * holds the switch's ports and every interface's flags and
 * disable_ipv6, vesperd's document and the file). */
static void apply_refused(const char *text, int code, const char *const *says)
{
    struct ctl_rpc_err e = { 0, "" };
    json_t *doc = jq(text);
    char *before = dump_vd(NULL), *after;

    assert_int_equal(vd_apply(&d, doc, true, &e), -1);
    print_message("refused: %d %s\n", e.code, e.msg);
    assert_int_equal(e.code, code);
    for (; *says; says++)
        if (!strstr(e.msg, *says))
            fail_msg("message '%s' does not say '%s'", e.msg, *says);
    after = dump_vd(NULL);
    if (strcmp(before, after) != 0)
        fail_msg("a refused change changed the state:\n--- before\n%s\n"
                 "--- after\n%s", before, after);
    free(before);
    free(after);
    json_decref(doc);
}

static void nic_expect(const char *want_flags, int want_ipv6off)
{
    char buf[256];
    struct oom_buf b = { 0 };

    snprintf(buf, sizeof(buf), " " NIC " mtu 1500 flags %s\n"
             "   disable_ipv6 %d\n", want_flags, want_ipv6off);
    oom_dump_netdevs(&b);
    if (!strstr(b.s, buf))
        fail_msg("expected '%s' in:\n%s", buf, b.s);
    free(b.s);
}

/* An uplink bound by an altname of its NIC takes the NIC's name (IPv6 off
 * on it); a second switch binding the NIC under another of its names is
 * refused whole, with ports opened before it in the same change closed
 * again; a port replacing the uplink in one change may bind its NIC. */
static void test_apply_one_nic(void **state)
{
    static const char *const says_e2[] = {
        "port e2.uplink: kernel NIC " NIC " (ifindex ",
        "is bound by port e1.uplink already (as " NIC_ALT ")", NULL,
    };

    (void)state;
    if (system("ip link add " NIC " type veth peer name " NIC "p && "
               "ip link set " NIC "p up && "
               "ip link property add dev " NIC " altname " NIC_ALT " && "
               "sysctl -qw net.ipv6.conf." NIC ".disable_ipv6=0") != 0)
        fail_msg("cannot make veth %s with altname %s", NIC, NIC_ALT);
    nic_expect("0", 0);

    assert_int_equal(apply_plain(DOC_EXT1), 0);
    assert_string_equal(vsw_port_ifname(port_of("e1.uplink")), NIC);
    nic_expect("101", 1);

    apply_refused(DOC_EXT2, CTL_RPC_EXISTS, says_e2);
    assert_int_equal(apply_plain(DOC_EMPTY), 0);
    nic_expect("0", 0);
    apply_refused(DOC_BOTH, CTL_RPC_EXISTS, says_e2);

    assert_int_equal(apply_plain(DOC_EXT1), 0);
    assert_int_equal(apply_plain(DOC_EXT1_DEVARGS), 0);
    assert_string_equal(vsw_port_ifname(port_of("e1.uplink")), NIC);
    nic_expect("101", 1);
    assert_int_equal(apply_plain(DOC_EMPTY), 0);
    nic_expect("0", 0);
    assert_int_equal(system("ip link del " NIC), 0);
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

static void write_sysctl(const char *path, const char *value)
{
    FILE *f = fopen(path, "w");

    if (f) {
        fputs(value, f);
        fclose(f);
    }
}

static int ring_create_set(unsigned n)
{
    for (unsigned i = 0; i < 16; i++) {
        char name[RTE_RING_NAMESIZE];

        snprintf(name, sizeof(name), "ETH_RXTX%u_net_ring%u", i, n);
        if (!rte_ring_create(name, 1024, (int)rte_socket_id(),
                             RING_F_SP_ENQ | RING_F_SC_DEQ))
            return -1;
    }
    return 0;
}

/* Applies `text` without failures (or fails the setup). */
static int apply_plain(const char *text)
{
    struct ctl_rpc_err e = { 0, "" };
    json_t *doc = jq(text);
    int rc = vd_apply(&d, doc, true, &e);

    if (rc != 0)
        fprintf(stderr, "vd_apply: %s\n", e.msg);
    json_decref(doc);
    return rc;
}

static int group_setup(void **state)
{
    char prefix[64];
    char *argv[] = {
        "test_vd_apply", "--no-huge", "-m", "512", "--no-pci",
        "--file-prefix", prefix, "-l", "0,1", "--main-lcore", "0",
        "--log-level", "lib.eal:error", "--log-level", "pmd.net.tap:critical",
        "--no-telemetry", NULL,
    };
    struct vsw_params p = { .n_mbufs = N_MBUFS, .n_dp_lcores = 1 };
    struct vsa_errmsg em = { "" };

    (void)state;
    vsa_log_set_level(VSA_LOG_ERR);
    netns = unshare(CLONE_NEWNET) == 0;
    if (netns) {
        write_sysctl("/proc/sys/net/ipv6/conf/all/disable_ipv6", "1\n");
        write_sysctl("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1\n");
    } else {
        fprintf(stderr, "test_vd_apply: needs a network namespace of its "
                "own (root)\n");
        return -1;
    }
    snprintf(prefix, sizeof(prefix), "vt_apply%d", (int)getpid());
    if (rte_eal_init((int)(sizeof(argv) / sizeof(argv[0])) - 1, argv) < 0) {
        fprintf(stderr, "rte_eal_init failed: %s\n", rte_strerror(rte_errno));
        return -1;
    }
    oom_lsan_setup();
    oom_install();
    for (unsigned i = 0; i < 3; i++)
        if (ring_create_set(i) < 0)
            return -1;
    snprintf(dir, sizeof(dir), "/tmp/vt_apply_XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(vm_dir, sizeof(vm_dir), "%s/vm", dir);
    snprintf(cfg_path, sizeof(cfg_path), "%s/config.json", dir);
    d.config_path = d.config_file = cfg_path;
    d.vm_dir = vm_dir;
    if (vsw_create(&p, &d.vsw, &em) != 0 ||
        vd_vm_host_create(vm_dir, &d.vms, &em) != 0) {
        fprintf(stderr, "setup: %s\n", em.msg);
        return -1;
    }
    if (vd_synth_init(&d) != 0 || vd_legacy_init(&d) != 0)
        return -1;
    /* DPDK's process-wide state on first use (see test_vsw_oom.c): the
     * whole set once, then back to no configuration at all (vesperd's
     * start). */
    if (apply_plain(DOC_START) != 0 || apply_plain(DOC_CHANGE) != 0 ||
        apply_plain(DOC_EMPTY) != 0)
        return -1;
    ctl_config_free(d.cfg);
    d.cfg = NULL;
    vsa_free(d.ports);
    d.ports = NULL;
    json_decref(d.doc);
    d.doc = NULL;
    return 0;
}

static int group_teardown(void **state)
{
    char runtime[PATH_MAX];

    (void)state;
    vsa_alloc_set_hook(NULL);
    vd_vm_host_destroy(d.vms);
    vsw_destroy(d.vsw);
    vd_synth_forget();
    vd_legacy_forget();
    ctl_config_free(d.cfg);
    vsa_free(d.ports);
    json_decref(d.doc);
    snprintf(runtime, sizeof(runtime), "%s", rte_eal_get_runtime_dir());
    rte_eal_cleanup();
    if (runtime[0])
        nftw(runtime, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    if (dir[0])
        nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_apply_start),
        cmocka_unit_test(test_apply_revert_refused),
        cmocka_unit_test(test_apply_change),
        cmocka_unit_test(test_apply_remove),
        cmocka_unit_test(test_apply_one_nic),
    };

    /* Before any allocation, so that every block goes through the hooks. */
    json_set_alloc_funcs(oom_malloc, oom_free);
    ctl_alloc_set_funcs(oom_malloc, oom_free);
    return cmocka_run_group_tests_name("tools-vd_apply", tests, group_setup,
                                       group_teardown);
}
