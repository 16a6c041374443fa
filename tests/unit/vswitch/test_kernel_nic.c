/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_kernel_nic.c — a kernel NIC behind a port (af_packet on a veth):
 * which NIC a port binds, and what the port knows of it.
 *
 * Objective:
 *  * a port given an altname of the NIC (`ip link property add dev IF
 *    altname ALT`) binds that NIC under the kernel's name: vsw_port_ifname
 *    is the name, IPv6 is switched off on it (disable_ipv6 of the name: the
 *    altname has no /proc/sys/net/ipv6/conf entry), the crash journal
 *    records the name and the disable_ipv6 from before, the carrier poll
 *    does not log a rename, and closing the port gives the NIC back.
 *    Regression test for: the altname was kept as the port's ifname, so
 *    the isolation wrote nothing (journal disable_ipv6=-1) and the first
 *    poll logged "is now named";
 *  * the host's IPv4 stack keeps off a bound NIC (net.ipv4.conf.<if>
 *    arp_ignore 1: no ARP answers for the addresses of other interfaces;
 *    rp_filter 1: nothing taken in through a NIC without addresses),
 *    recorded in the crash journal and put back on close; an operator's
 *    stricter arp_ignore (2, 8) stays; IPv4 addresses left on the NIC
 *    stay and the binding's WARN names them.  Regression test for: the host answered ARP
 *    requests from the wire (or a VM) on the bound NIC for its host vNIC's
 *    address with the NIC's MAC, and took the IPv4 that followed in
 *    through the NIC, past the switch (t_host_vnic: frames over the host
 *    vNIC's MTU answered);
 *  * one NIC, one port: a second port on a NIC another port holds, under
 *    any of its names (uplink by altname or by name, dpdk af_packet
 *    devargs), is refused with -EBUSY and a message naming the interface,
 *    the altname and the holding port, and changes nothing; a port that
 *    replaces the holder (spec.replacing, one transaction) may.
 *    Regression test for: nic_save() shared a NIC already held without a
 *    word, so two switches could bind one NIC by name and altname;
 *  * one vesperd per NIC on the host: a NIC another process claims
 *    (nic_claim.c) is refused with its pid and left as it is; the claim
 *    is held while bound and given up with the release.  Regression test
 *    for: two vesperds both bound one NIC;
 *  * a port whose NIC is deleted logs how it can come back, true of its
 *    kind: an uplink with its switch (it cannot be deleted alone), another
 *    port deleted and added again; either, or vesperd restarting.
 *    Regression test for: an uplink was told to be deleted and added
 *    again, which vesperd refuses;
 *  * receive offloads that merge frames (GRO; LRO and hardware GRO are
 *    fixed off on a veth) are off while a port binds the NIC, whether an
 *    uplink by name or a dpdk port with af_packet devargs, recorded as on
 *    in the crash journal, and on again once the port is closed or its
 *    open failed at the PMD; a NIC whose GRO was off keeps it off.
 *    Regression test for: binding left GRO on, so the af_packet PMD read
 *    TCP segments merged into frames of up to 64 KiB and cut them short
 *    at its ring slot (about 2 KB): TCP from the wire collapsed;
 *  * the same on the devices under the NIC, which merge its frames before
 *    it sees them: the link of a macvlan (and of a VLAN, where the
 *    kernel has 802.1Q), the slaves of a bridge under a macvlan (a walk
 *    two levels down), a bond's slaves (where the kernel has bonding):
 *    GRO off while bound, each named in the crash journal record
 *    ("lower=IFINDEX NAME rx-gro=1 ...") and in the INFO line of the
 *    binding, on again after the close or a failed open; one whose GRO
 *    was off stays off.  Two NICs over one device (two macvlans on one
 *    veth; a macvlan and its veth bound directly): the first release
 *    leaves GRO off under the second, the last turns it on.
 *    Regression test for: only the bound NIC's GRO went off, so an
 *    uplink on a VLAN, macvlan or bond still got merged frames;
 *  * vsw_kernel_resync (the netlink monitor lost events) removes the
 *    learned entries of kernel NIC ports only (static ones and a host
 *    vNIC's stay) and looks their NICs up: a carrier lost with no event
 *    and no tick takes the port down;
 *  * a port's MTU (vsw_port_mtu) is its kernel NIC's, followed through
 *    link events and the carrier poll, capped at 1500; a host vNIC's is
 *    its configured one, also when a change sets it.  Regression test for:
 *    no port had an MTU, so frames the NIC (or the TAP) could not take
 *    were handed to it and lost there without a word.
 * How: the EAL runs in this process (no hugepages, lcore 1 the datapath
 * lcore) in a network namespace of its own (unshare; root); veths made with
 * libnl, altnames with ip(8).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <net/if.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>

#include <cmocka.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>

#include <rte_eal.h>
#include <rte_errno.h>

#include "common/vsa_alloc.h"
#include "common/vsa_log.h"
#include "common/vsa_mac.h"
#include "vlan/vlan.h"
#include "vswitch/fdb.h"
#include "vswitch/vsw_private.h" /* vsw__hostif_rx_queues */
#include "vswitch/vswitch.h"
#include "tests/unit/common/netif.h"

#define NIC "vtk-a"
#define NIC_ALT "vtk-a-altname"

static struct {
    struct vsw *sw;
    char dir[64];                /* the NIC journal */
    char claims[80];             /* the host-wide NIC claims */
} g;

/* ---- the host ------------------------------------------------------------ */

static int sh(const char *cmd)
{
    int rc = system(cmd);

    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* A veth pair, `name` down and its peer up (carrier on `name`). */
static void veth_add(const char *name, const char *peer)
{
    netif_veth_add(name, peer);
    ifflags_change(peer, IFF_UP, 0);
}

static void write_file(const char *path, const char *value)
{
    FILE *f = fopen(path, "w");

    if (!f)
        fail_msg("cannot write %s: %s", path, strerror(errno));
    fputs(value, f);
    fclose(f);
}

/* net.<proto>.conf.<name>.<key>, -1 if there is none. */
static int conf_int(const char *proto, const char *name, const char *key)
{
    char path[128], buf[16] = "";
    FILE *f;

    snprintf(path, sizeof(path), "/proc/sys/net/%s/conf/%s/%s", proto, name,
             key);
    f = fopen(path, "r");
    if (!f)
        return -1;
    if (!fgets(buf, sizeof(buf), f))
        buf[0] = '\0';
    fclose(f);
    return buf[0] ? atoi(buf) : -1;
}

static int disable_ipv6(const char *name)
{
    return conf_int("ipv6", name, "disable_ipv6");
}

/* The state of the NIC as made (nic_make) and as a port binds it: the
 * host's IPv6 off, and its IPv4 stack answers no ARP for other interfaces'
 * addresses on it and takes in nothing through it (vsw__hostif_isolate). */
#define NIC_FREE  "down nopromisc ipv6off=0 arp_ignore=0 rp_filter=0"
#define NIC_BOUND "up promisc ipv6off=1 arp_ignore=1 rp_filter=1"

/* "up promisc ipv6off=1 arp_ignore=1 rp_filter=1" */
static void nic_state(const char *name, char *buf, size_t size)
{
    short f = ifflags_get(name);

    snprintf(buf, size, "%s %s ipv6off=%d arp_ignore=%d rp_filter=%d",
             f & IFF_UP ? "up" : "down",
             f & IFF_PROMISC ? "promisc" : "nopromisc", disable_ipv6(name),
             conf_int("ipv4", name, "arp_ignore"),
             conf_int("ipv4", name, "rp_filter"));
}

static void nic_expect(const char *name, const char *want, const char *when)
{
    char s[96];

    nic_state(name, s, sizeof(s));
    if (strcmp(s, want) != 0)
        fail_msg("%s %s: '%s', expected '%s'", name, when, s, want);
}

/* NIC (veth, down, IPv6 on) with the altname NIC_ALT; its peer up. */
static void nic_make(void)
{
    char path[128];

    if (if_nametoindex(NIC))
        netif_link_del(NIC); /* what a failed test left */
    veth_add(NIC, NIC "p");
    if (sh("ip link property add dev " NIC " altname " NIC_ALT) != 0)
        fail_msg("ip link property add dev %s altname %s failed", NIC,
                 NIC_ALT);
    assert_int_equal(if_nametoindex(NIC_ALT), if_nametoindex(NIC));
    snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6",
             NIC);
    write_file(path, "0\n");
    snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/arp_ignore", NIC);
    write_file(path, "0\n");
    snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/rp_filter", NIC);
    write_file(path, "0\n");
    nic_expect(NIC, NIC_FREE, "made");
}

/* ---- the switch's side --------------------------------------------------- */

static struct vsw_port *open_spec(const struct vsw_port_spec *spec, int want,
                                  char *msg, size_t size)
{
    struct vsa_errmsg em = { "" };
    struct vsw_port *p = NULL;
    int rc = vsw_port_open(g.sw, spec, &p, &em);

    if (rc != want)
        fail_msg("vsw_port_open(%s): %d (%s), expected %d", spec->name, rc,
                 em.msg, want);
    if (rc != 0)
        assert_null(p);
    if (msg)
        snprintf(msg, size, "%s", em.msg);
    return p;
}

static struct vsw_port *open_uplink(const char *name, const char *ifname,
                                    int want, char *msg, size_t size)
{
    struct vsw_port_spec spec;

    memset(&spec, 0, sizeof(spec));
    snprintf(spec.name, sizeof(spec.name), "%s", name);
    spec.cls = VSW_PORT_UPLINK;
    spec.ifname = ifname;
    return open_spec(&spec, want, msg, size);
}

static void assert_says(const char *msg, const char *what)
{
    if (!strstr(msg, what))
        fail_msg("message '%s' does not say '%s'", msg, what);
}

/* The NIC journal's record of `nic` (nic_journal.c), as text. */
static void read_record(const char *nic, char *rec, size_t size)
{
    char path[PATH_MAX];
    size_t n;
    FILE *f;

    snprintf(path, sizeof(path), "%s/nic-%u", g.dir, if_nametoindex(nic));
    f = fopen(path, "r");
    assert_non_null(f);
    n = fread(rec, 1, size - 1, f);
    rec[n] = '\0';
    fclose(f);
}

/* Log lines of the switch (vswitch), counted by what they say. */
static struct {
    unsigned renamed;            /* "is now named" */
    char last_warn[512];
    char lowers_off[512];        /* vsw__hostif_lowers_off's INFO line */
} logs;

static void log_hook(enum vsa_log_level level, const char *module,
                     const char *msg)
{
    (void)module;
    if (strstr(msg, "is now named"))
        logs.renamed++;
    if (strstr(msg, "off on the devices under it while it is bound"))
        snprintf(logs.lowers_off, sizeof(logs.lowers_off), "%s", msg);
    if (level <= VSA_LOG_WARN)
        snprintf(logs.last_warn, sizeof(logs.last_warn), "%s", msg);
}

/* ---- tests --------------------------------------------------------------- */

static void conf_set(const char *proto, const char *key, const char *value)
{
    char path[128];

    snprintf(path, sizeof(path), "/proc/sys/net/%s/conf/%s/%s", proto, NIC,
             key);
    write_file(path, value);
}

/* The host's IPv4 stack keeps off a bound NIC: arp_ignore becomes 1 but
 * for the stricter 2 and 8 (3, which answers for any interface's global
 * address, the reserved 4-7 and 9 and above, answered like 0, do not
 * stay), rp_filter becomes 1 (2, loose, does not stay); each goes back on
 * close. */
static void test_ipv4_isolation(void **state)
{
    static const struct {
        const char *arp, *rpf, *bound;
    } cases[] = {
        { "0\n", "0\n", NIC_BOUND },
        { "5\n", "2\n", NIC_BOUND },  /* reserved; loose */
        { "3\n", "0\n", NIC_BOUND },  /* any interface's global address */
        { "9\n", "0\n", NIC_BOUND },  /* answered as 0 */
        { "2\n", "2\n", "up promisc ipv6off=1 arp_ignore=2 rp_filter=1" },
        { "8\n", "1\n", "up promisc ipv6off=1 arp_ignore=8 rp_filter=1" },
    };
    struct vsw_port *u0;

    (void)state;
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char before[96];
        struct vsw_port *u;

        nic_make();
        conf_set("ipv4", "arp_ignore", cases[i].arp);
        conf_set("ipv4", "rp_filter", cases[i].rpf);
        nic_state(NIC, before, sizeof(before));
        u = open_uplink("u", NIC, 0, NULL, 0);
        nic_expect(NIC, cases[i].bound, "bound");
        vsw_port_close(g.sw, u);
        nic_expect(NIC, before, "given back");
    }

    /* conf/all overrides the NIC's 1 (the kernel takes the larger): said */
    write_file("/proc/sys/net/ipv4/conf/all/arp_ignore", "3\n");
    nic_make();
    logs.last_warn[0] = '\0';
    vsa_log_set_hook(log_hook);
    u0 = open_uplink("u", NIC, 0, NULL, 0);
    vsa_log_set_hook(NULL);
    write_file("/proc/sys/net/ipv4/conf/all/arp_ignore", "0\n");
    assert_says(logs.last_warn, "net.ipv4.conf.all.arp_ignore is 3, which "
                                "overrides " NIC "'s 1");
    vsw_port_close(g.sw, u0);

    /* IPv4 addresses the operator left on the NIC stay, and are named */
    nic_make();
    if (sh("ip addr add 192.0.2.7/24 dev " NIC " && "
           "ip addr add 198.51.100.7/24 dev " NIC) != 0)
        fail_msg("ip addr add on %s failed", NIC);
    logs.last_warn[0] = '\0';
    vsa_log_set_hook(log_hook);
    u0 = open_uplink("u", NIC, 0, NULL, 0);
    vsa_log_set_hook(NULL);
    assert_says(logs.last_warn, "kernel NIC " NIC " keeps its 2 IPv4 "
                                "addresses (192.0.2.7/24, ...): the host "
                                "still talks on it directly");
    vsw_port_close(g.sw, u0);
    assert_int_equal(sh("ip -4 addr show dev " NIC " | grep -q 192.0.2.7/24"),
                     0);
}

/* An uplink given the NIC's altname binds the NIC under its name. */
static void test_altname_is_the_nic(void **state)
{
    char path[PATH_MAX], rec[512] = "";
    struct vsw_port *u;

    (void)state;
    nic_make();
    u = open_uplink("u", NIC_ALT, 0, NULL, 0);
    assert_string_equal(vsw_port_ifname(u), NIC);
    nic_expect(NIC, NIC_BOUND, "bound by its altname");

    /* the record a crash leaves: the name, IPv6 on before */
    read_record(NIC, rec, sizeof(rec));
    snprintf(path, sizeof(path), "%s/nic-%u", g.dir, if_nametoindex(NIC));
    assert_says(rec, "\nifname=" NIC "\n");
    assert_says(rec, "\ndisable_ipv6=0\n");
    assert_says(rec, "\narp_ignore=0\nrp_filter=0\n");

    /* the carrier polls see no rename */
    logs.renamed = 0;
    vsa_log_set_level(VSA_LOG_INFO);
    vsa_log_set_hook(log_hook);
    for (int i = 0; i < 21; i++)
        vsw_tick(g.sw);
    vsa_log_set_hook(NULL);
    vsa_log_set_level(VSA_LOG_WARN);
    assert_int_equal(logs.renamed, 0);
    assert_string_equal(vsw_port_ifname(u), NIC);
    assert_true(vsw_port_link_up(u));

    vsw_port_close(g.sw, u);
    nic_expect(NIC, NIC_FREE, "given back");
    assert_int_equal(access(path, F_OK), -1);
    netif_link_del(NIC);
}

/* One NIC, one port, under whichever of its names; but a port replacing
 * the holder may bind it. */
static void test_one_nic_one_port(void **state)
{
    struct vsw_port *u0, *u1;
    struct vsw_port_spec spec;
    char msg[512];

    (void)state;
    nic_make();
    u0 = open_uplink("u0", NIC, 0, NULL, 0);

    open_uplink("u1", NIC_ALT, -EBUSY, msg, sizeof(msg));
    print_message("refused: %s\n", msg);
    assert_says(msg, "port u1: ");
    assert_says(msg, NIC_ALT " is an altname of kernel NIC " NIC);
    assert_says(msg, "port u0 binds already");
    nic_expect(NIC, NIC_BOUND, "after a refused second port");

    memset(&spec, 0, sizeof(spec));
    snprintf(spec.name, sizeof(spec.name), "d1");
    spec.cls = VSW_PORT_DPDK;
    spec.devargs = "net_af_packet_vtk1,iface=" NIC_ALT;
    open_spec(&spec, -EBUSY, msg, sizeof(msg));
    assert_says(msg, "port u0");
    spec.devargs = "net_af_packet_vtk1,iface=" NIC;
    open_spec(&spec, -EBUSY, msg, sizeof(msg));
    print_message("refused: %s\n", msg);
    assert_says(msg, "kernel NIC " NIC " (ifindex ");
    assert_says(msg, "bound by port u0 already");
    nic_expect(NIC, NIC_BOUND, "after refused dpdk ports");
    vsw_port_close(g.sw, u0);
    nic_expect(NIC, NIC_FREE, "given back");

    /* held through the altname: the name is refused, saying so */
    u0 = open_uplink("u0", NIC_ALT, 0, NULL, 0);
    open_uplink("u1", NIC, -EBUSY, msg, sizeof(msg));
    print_message("refused: %s\n", msg);
    assert_says(msg, "bound by port u0 already (as " NIC_ALT ")");

    /* u1 replaces u0 (one transaction: u0 closes once u1 is in use) */
    memset(&spec, 0, sizeof(spec));
    snprintf(spec.name, sizeof(spec.name), "u1");
    spec.cls = VSW_PORT_UPLINK;
    spec.ifname = NIC;
    spec.replacing = &u0;
    spec.n_replacing = 1;
    u1 = open_spec(&spec, 0, NULL, 0);
    vsw_port_close(g.sw, u0);
    nic_expect(NIC, NIC_BOUND, "u0 closed, u1 holds it");
    vsw_port_close(g.sw, u1);
    nic_expect(NIC, NIC_FREE, "given back");
    netif_link_del(NIC);
}

/* The pid of the process claiming `ifindex` in `dir` (the pid the
 * refusal names), or 0 if it is free (taken and given up again). */
static long claim_holder(const char *cdir, int ifindex)
{
    struct vsa_errmsg em;
    const char *pid;
    int fd = vsw__nic_claim_take(cdir, ifindex, "x", &em);

    if (fd >= 0) {
        vsw__nic_claim_release(cdir, ifindex, fd);
        return 0;
    }
    assert_int_equal(fd, -EBUSY);
    pid = strstr(em.msg, "(pid ");
    assert_non_null(pid);
    return strtol(pid + 5, NULL, 10);
}

/* One vesperd per NIC on the host: a NIC that another process claims
 * (nic_claim.c; here a claim this test takes itself, as another vesperd
 * would) is refused under any of its names, with that process's pid, and
 * nothing of it changes; no crash journal record is written.  Once the
 * claim is gone the port binds it and claims it itself, for as long as it
 * holds it; the close gives the claim up and removes its file.
 * Regression test for: two vesperds (two control sockets) both bound a
 * NIC, and the first one's release gave it back under the second. */
static void test_nic_claimed_elsewhere(void **state)
{
    struct vsa_errmsg em = { "" };
    struct vsw_port *u;
    char msg[512], want[96], path[PATH_MAX];
    int idx, other;

    (void)state;
    nic_make();
    idx = (int)if_nametoindex(NIC);
    other = vsw__nic_claim_take(g.claims, idx, NIC, &em);
    if (other < 0)
        fail_msg("claim of %s: %s", NIC, em.msg);

    snprintf(want, sizeof(want), "is bound by another vesperd (pid %d)",
             (int)getpid());
    open_uplink("u", NIC, -EBUSY, msg, sizeof(msg));
    print_message("refused: %s\n", msg);
    assert_says(msg, "port u: kernel NIC " NIC " (ifindex ");
    assert_says(msg, want);
    open_uplink("u", NIC_ALT, -EBUSY, msg, sizeof(msg));
    assert_says(msg, want);
    nic_expect(NIC, NIC_FREE, "after refused bindings");
    snprintf(path, sizeof(path), "%s/nic-%d", g.dir, idx);
    assert_int_equal(access(path, F_OK), -1);

    vsw__nic_claim_release(g.claims, idx, other);
    u = open_uplink("u", NIC_ALT, 0, NULL, 0);
    nic_expect(NIC, NIC_BOUND, "bound once the claim was given up");
    assert_int_equal(claim_holder(g.claims, idx), getpid());
    assert_int_equal(vsw__nic_claim_take(g.claims, idx, NIC, &em), -EBUSY);
    vsw_port_close(g.sw, u);
    nic_expect(NIC, NIC_FREE, "given back");
    assert_int_equal(claim_holder(g.claims, idx), 0);
    other = vsw__nic_claim_take(g.claims, idx, NIC, &em);
    assert_true(other >= 0);
    vsw__nic_claim_release(g.claims, idx, other);
    netif_link_del(NIC);
}

/* A port whose NIC is deleted says how it comes back, and what it says is
 * true of its kind: an uplink cannot be deleted alone (vesperd's port.del
 * refuses it), only with its switch. */
static void test_gone_says_how_back(void **state)
{
    struct vsw_port *u, *d;
    struct vsw_port_spec spec;
    char said_u[512], said_d[512];

    (void)state;
    veth_add("vtk-u", "vtk-up");
    veth_add("vtk-d", "vtk-dp");
    u = open_uplink("ext.uplink", "vtk-u", 0, NULL, 0);
    memset(&spec, 0, sizeof(spec));
    snprintf(spec.name, sizeof(spec.name), "p1");
    spec.cls = VSW_PORT_DPDK;
    spec.devargs = "net_af_packet_vtkd,iface=vtk-d";
    d = open_spec(&spec, 0, NULL, 0);

    vsa_log_set_hook(log_hook);
    netif_link_del("vtk-u");
    logs.last_warn[0] = '\0';
    for (int i = 0; i < 10 && !logs.last_warn[0]; i++)
        vsw_tick(g.sw); /* the carrier poll: once in 10 ticks */
    snprintf(said_u, sizeof(said_u), "%s", logs.last_warn);
    netif_link_del("vtk-d");
    logs.last_warn[0] = '\0';
    for (int i = 0; i < 10 && !logs.last_warn[0]; i++)
        vsw_tick(g.sw);
    snprintf(said_d, sizeof(said_d), "%s", logs.last_warn);
    vsa_log_set_hook(NULL);
    print_message("uplink: %s\ndpdk: %s\n", said_u, said_d);

    assert_says(said_u, "port ext.uplink: kernel NIC vtk-u (ifindex ");
    assert_says(said_u, "is gone; the port stays down until its switch is "
                        "deleted and added again");
    assert_says(said_u, "or vesperd restarts");
    assert_says(said_u, "the NIC named vtk-u");
    if (strstr(said_u, "until it is deleted"))
        fail_msg("an uplink is told to be deleted alone: %s", said_u);
    assert_says(said_d, "port p1: kernel NIC vtk-d (ifindex ");
    assert_says(said_d, "is gone; the port stays down until it is deleted "
                        "and added again or vesperd restarts");
    assert_false(vsw_port_link_up(u));
    assert_false(vsw_port_link_up(d));
    vsw_port_close(g.sw, u);
    vsw_port_close(g.sw, d);
}

static void tick_poll(void);

/* A NIC renamed while a port binds it: the crash journal's record follows
 * the new name.  The next start gives a NIC back only if the recorded
 * index still carries the recorded name; the record kept the old name, so
 * a crash after a rename left the NIC promiscuous, up, IPv6 off, GRO off
 * for good.  Closing the port then gives it back and drops the record. */
static void test_renamed_nic_record(void **state)
{
    struct vsw_port *u;
    char rec[1024], path[PATH_MAX];

    (void)state;
    veth_add("vtk-n", "vtk-np");
    u = open_uplink("ext.uplink", "vtk-n", 0, NULL, 0);
    read_record("vtk-n", rec, sizeof(rec));
    if (!strstr(rec, "\nifname=vtk-n\n"))
        fail_msg("record before the rename: %s", rec);
    /* a NIC is renamed down */
    netif_ip("link set vtk-n down");
    netif_ip("link set vtk-n name vtk-n2");
    netif_ip("link set vtk-n2 up");
    tick_poll();
    assert_string_equal(vsw_port_ifname(u), "vtk-n2");
    read_record("vtk-n2", rec, sizeof(rec));
    if (!strstr(rec, "\nifname=vtk-n2\n"))
        fail_msg("record after the rename: %s", rec);
    assert_true(ifflags_get("vtk-n2") & IFF_PROMISC);

    vsw_port_close(g.sw, u);
    snprintf(path, sizeof(path), "%s/nic-%u", g.dir,
             if_nametoindex("vtk-n2"));
    assert_int_equal(access(path, F_OK), -1);
    assert_false(ifflags_get("vtk-n2") & (IFF_PROMISC | IFF_UP));
    netif_link_del("vtk-n2");
}

/* A NIC deleted while a port binds it, and its index taken by a new one
 * before the port goes: closing the port leaves the new NIC alone (the
 * restore went by index and set it down and not promiscuous, and wrote
 * the old NIC's IPv6 and IPv4 settings on it). */
static void test_gone_nic_index_left_alone(void **state)
{
    struct vsw_port *u;
    char path[PATH_MAX];
    unsigned idx;

    (void)state;
    veth_add("vtk-g", "vtk-gp");
    idx = if_nametoindex("vtk-g");
    u = open_uplink("ext.uplink", "vtk-g", 0, NULL, 0);
    netif_link_del("vtk-g");
    tick_poll(); /* the port learns the NIC is gone */
    assert_false(vsw_port_link_up(u));
    netif_ip("link add vtk-z index %u type veth peer name vtk-zp", idx);
    assert_int_equal(if_nametoindex("vtk-z"), idx);
    netif_ip("link set vtk-z up promisc on");

    vsw_port_close(g.sw, u);
    assert_int_equal(ifflags_get("vtk-z") & (IFF_UP | IFF_PROMISC),
                     IFF_UP | IFF_PROMISC);
    snprintf(path, sizeof(path), "%s/nic-%u", g.dir, idx);
    assert_int_equal(access(path, F_OK), -1);
    netif_link_del("vtk-z");
}

/* GRO goes off with the binding and comes back with the release (close,
 * or a failed open), recorded in the crash journal meanwhile; only what
 * the binding changed goes back. */
static void test_gro_off_while_bound(void **state)
{
    struct vsa_errmsg em = { "" };
    struct vsw_port_spec spec;
    struct vsw_port *u, *d = NULL;
    char rec[512] = "";
    int rc;

    (void)state;
    nic_make();
    netif_gro_set(NIC, true);

    /* an uplink by name */
    u = open_uplink("u", NIC, 0, NULL, 0);
    nic_expect(NIC, NIC_BOUND, "bound");
    if (netif_gro_get(NIC))
        fail_msg("%s bound by an uplink: GRO still on", NIC);
    read_record(NIC, rec, sizeof(rec));
    assert_says(rec, "\nrx-gro=1\n");
    assert_says(rec, "\nrx-lro=0\n");
    assert_says(rec, "\nrx-gro-hw=0\n");
    /* turned on by hand while bound: the 1 s poll turns it off again */
    netif_gro_set(NIC, true);
    tick_poll();
    if (netif_gro_get(NIC))
        fail_msg("%s: GRO turned on by hand while bound stays on", NIC);
    vsw_port_close(g.sw, u);
    nic_expect(NIC, NIC_FREE, "given back");
    if (!netif_gro_get(NIC))
        fail_msg("%s given back by the uplink: GRO still off", NIC);

    /* a dpdk port with af_packet devargs */
    memset(&spec, 0, sizeof(spec));
    snprintf(spec.name, sizeof(spec.name), "d");
    spec.cls = VSW_PORT_DPDK;
    spec.devargs = "net_af_packet_vtkg,iface=" NIC;
    d = open_spec(&spec, 0, NULL, 0);
    if (netif_gro_get(NIC))
        fail_msg("%s bound by a dpdk port: GRO still on", NIC);
    vsw_port_close(g.sw, d);
    if (!netif_gro_get(NIC))
        fail_msg("%s given back by the dpdk port: GRO still off", NIC);

    /* the PMD refuses the device (qpairs=0) after GRO went off */
    d = NULL;
    spec.devargs = "net_af_packet_vtkg,iface=" NIC ",qpairs=0";
    rc = vsw_port_open(g.sw, &spec, &d, &em);
    print_message("refused: %d %s\n", rc, em.msg);
    assert_true(rc < 0);
    assert_null(d);
    nic_expect(NIC, NIC_FREE, "after a failed open");
    if (!netif_gro_get(NIC))
        fail_msg("%s after a failed open: GRO still off", NIC);

    /* GRO off before the binding: off after it */
    netif_gro_set(NIC, false);
    u = open_uplink("u", NIC, 0, NULL, 0);
    assert_false(netif_gro_get(NIC));
    vsw_port_close(g.sw, u);
    assert_false(netif_gro_get(NIC));
    netif_link_del(NIC);
}

/* ---- the devices under the NIC ------------------------------------------- */

#define LOW "vtk-l"  /* a device under the bound NIC: a veth */

static void gro_expect(const char *dev, bool on, const char *when)
{
    if (netif_gro_get(dev) != on)
        fail_msg("%s %s: GRO %s, expected %s", dev, when, on ? "off" : "on",
                 on ? "on" : "off");
}

/* The journal's line for lower device dev, GRO on before or not. */
static void lower_line(const char *dev, bool gro, char *buf, size_t size)
{
    snprintf(buf, size, "\nlower=%u %s rx-gro=%d rx-lro=0 rx-gro-hw=0\n",
             if_nametoindex(dev), dev, gro ? 1 : 0);
}

/* nic's journal record names dev as a lower device, GRO on before or not. */
static void record_has_lower(const char *nic, const char *dev, bool gro)
{
    char rec[1024] = "", line[96];

    read_record(nic, rec, sizeof(rec));
    lower_line(dev, gro, line, sizeof(line));
    if (!strstr(rec, line))
        fail_msg("the record of %s does not say '%s': %s", nic, line + 1,
                 rec);
}

/* A veth `name` (made again if a failed test left it), GRO on; up unless
 * it is to be enslaved (a bond takes only a device that is down). */
static void low_make(const char *name, bool up)
{
    char peer[IF_NAMESIZE];

    snprintf(peer, sizeof(peer), "%sp", name);
    if (if_nametoindex(name))
        netif_link_del(name);
    veth_add(name, peer);
    netif_gro_set(name, true);
    if (up)
        ifflags_change(name, IFF_UP, 0);
}

/* Opens an uplink on nic, its INFO line naming the devices under it in
 * logs.lowers_off. */
static struct vsw_port *open_uplink_logged(const char *nic)
{
    struct vsw_port *u;

    logs.lowers_off[0] = '\0';
    vsa_log_set_level(VSA_LOG_INFO);
    vsa_log_set_hook(log_hook);
    u = open_uplink("u", nic, 0, NULL, 0);
    vsa_log_set_hook(NULL);
    vsa_log_set_level(VSA_LOG_WARN);
    print_message("%s\n", logs.lowers_off);
    return u;
}

/* A macvlan's frames are received, and merged, by the device under it. */
static void test_gro_off_under_macvlan(void **state)
{
    struct vsa_errmsg em = { "" };
    struct vsw_port_spec spec;
    struct vsw_port *u, *d = NULL;
    int rc;

    (void)state;
    low_make(LOW, true);
    netif_ip("link add link " LOW " name vtk-mv type macvlan mode passthru");

    u = open_uplink_logged("vtk-mv");
    gro_expect(LOW, false, "under an uplink's macvlan");
    record_has_lower("vtk-mv", LOW, true);
    assert_says(logs.lowers_off, LOW " (GRO)");
    assert_says(logs.lowers_off, "not followed");
    /* turned on by hand under the bound NIC: off again at the next poll */
    netif_gro_set(LOW, true);
    tick_poll();
    gro_expect(LOW, false, "turned on by hand, then polled");
    vsw_port_close(g.sw, u);
    gro_expect(LOW, true, "given back by the uplink");

    /* the PMD refuses the device after GRO went off */
    memset(&spec, 0, sizeof(spec));
    snprintf(spec.name, sizeof(spec.name), "d");
    spec.cls = VSW_PORT_DPDK;
    spec.devargs = "net_af_packet_vtkm,iface=vtk-mv,qpairs=0";
    rc = vsw_port_open(g.sw, &spec, &d, &em);
    assert_true(rc < 0);
    assert_null(d);
    gro_expect(LOW, true, "after a failed open");

    /* off before the binding: off after it */
    netif_gro_set(LOW, false);
    u = open_uplink("u", "vtk-mv", 0, NULL, 0);
    record_has_lower("vtk-mv", LOW, false);
    vsw_port_close(g.sw, u);
    gro_expect(LOW, false, "off before the binding");
    netif_link_del(LOW); /* the macvlan goes with it */
}

/* The bound macvlan goes with its link, and another device takes the
 * link's index before the port is released: that device's GRO is left
 * as it is (the release turned GRO back on by index alone). */
static void test_gone_nic_lower_index_left_alone(void **state)
{
    struct vsw_port *u;
    unsigned idx;

    (void)state;
    low_make(LOW, true);
    netif_ip("link add link " LOW " name vtk-mv type macvlan mode passthru");
    u = open_uplink("u", "vtk-mv", 0, NULL, 0);
    gro_expect(LOW, false, "under an uplink's macvlan");
    idx = if_nametoindex(LOW);
    netif_link_del(LOW); /* the macvlan goes with it */
    tick_poll();
    assert_false(vsw_port_link_up(u));
    netif_ip("link add vtk-w index %u type veth peer name vtk-wp", idx);
    netif_gro_set("vtk-w", false);
    vsw_port_close(g.sw, u);
    gro_expect("vtk-w", false, "on the index of the released NIC's link");
    netif_link_del("vtk-w");
}

/* A macvlan on a bridge of two veths: the walk goes two levels down (the
 * bridge, then its ports); only the port whose GRO was on gets it back. */
static void test_gro_off_under_bridge(void **state)
{
    struct vsw_port *u;

    (void)state;
    low_make("vtk-s1", true);
    low_make("vtk-s2", true);
    netif_gro_set("vtk-s2", false);
    if (if_nametoindex("vtk-br"))
        netif_link_del("vtk-br");
    netif_ip("link add vtk-br type bridge");
    netif_ip("link set vtk-s1 master vtk-br");
    netif_ip("link set vtk-s2 master vtk-br");
    netif_ip("link set vtk-br up");
    netif_ip("link add link vtk-br name vtk-bm type macvlan mode bridge");

    u = open_uplink_logged("vtk-bm");
    gro_expect("vtk-s1", false, "a bridge port under the uplink");
    gro_expect("vtk-s2", false, "a bridge port under the uplink");
    record_has_lower("vtk-bm", "vtk-s1", true);
    record_has_lower("vtk-bm", "vtk-s2", false);
    assert_says(logs.lowers_off, "vtk-s1 (GRO)");
    assert_says(logs.lowers_off, "off already or not changed: vtk-s2");
    vsw_port_close(g.sw, u);
    gro_expect("vtk-s1", true, "given back");
    gro_expect("vtk-s2", false, "given back (off before)");
    netif_link_del("vtk-bm");
    netif_link_del("vtk-br");
    netif_link_del("vtk-s1");
    netif_link_del("vtk-s2");
}

/* A VLAN sub-interface: its link merges the frames. */
static void test_gro_off_under_vlan(void **state)
{
    struct vsw_port *u;

    (void)state;
    low_make(LOW, true);
    if (!netif_ip_link_add("link " LOW " name " LOW ".5 type vlan id 5")) {
        netif_link_del(LOW);
        print_message("no 802.1Q in this kernel (CONFIG_VLAN_8021Q): "
                      "skipped; the macvlan test covers IFLA_LINK\n");
        skip();
    }
    u = open_uplink_logged(LOW ".5");
    gro_expect(LOW, false, "under an uplink's VLAN");
    record_has_lower(LOW ".5", LOW, true);
    assert_says(logs.lowers_off, LOW " (GRO)");
    vsw_port_close(g.sw, u);
    gro_expect(LOW, true, "given back");
    netif_link_del(LOW);
}

/* A bond: its slaves merge the frames. */
static void test_gro_off_under_bond(void **state)
{
    struct vsw_port *u;

    (void)state;
    if (if_nametoindex("vtk-bond"))
        netif_link_del("vtk-bond");
    if (!netif_ip_link_add("vtk-bond type bond mode active-backup")) {
        print_message("no bonding in this kernel (CONFIG_BONDING): "
                      "skipped; the bridge test covers slaves\n");
        skip();
    }
    low_make("vtk-s1", false);
    low_make("vtk-s2", false);
    netif_ip("link set vtk-s1 master vtk-bond");
    netif_ip("link set vtk-s2 master vtk-bond");
    gro_expect("vtk-s1", true, "enslaved");
    u = open_uplink_logged("vtk-bond");
    gro_expect("vtk-s1", false, "a slave of an uplink's bond");
    gro_expect("vtk-s2", false, "a slave of an uplink's bond");
    record_has_lower("vtk-bond", "vtk-s1", true);
    assert_says(logs.lowers_off, "vtk-s2 (GRO)");
    vsw_port_close(g.sw, u);
    gro_expect("vtk-s1", true, "given back");
    gro_expect("vtk-s2", true, "given back");
    netif_link_del("vtk-bond");
    netif_link_del("vtk-s1");
    netif_link_del("vtk-s2");
}

/* Two NICs over one device: GRO stays off until the last of them is let
 * go of, whatever the order, and each record says it was on. */
static void test_shared_lower(void **state)
{
    struct vsw_port *u1, *u2, *d;
    char rec[512] = "";

    (void)state;
    low_make(LOW, true);
    netif_ip("link add link " LOW " name vtk-m1 type macvlan mode bridge");
    netif_ip("link add link " LOW " name vtk-m2 type macvlan mode bridge");

    /* two macvlans on it; the device under them claimed (host-wide)
     * until the last one lets go */
    u1 = open_uplink("u1", "vtk-m1", 0, NULL, 0);
    u2 = open_uplink("u2", "vtk-m2", 0, NULL, 0);
    gro_expect(LOW, false, "under two uplinks");
    record_has_lower("vtk-m1", LOW, true);
    record_has_lower("vtk-m2", LOW, true); /* found off: took u1's record */
    vsw_port_close(g.sw, u1);
    gro_expect(LOW, false, "u1 let go of, u2 still bound");
    assert_int_equal(claim_holder(g.claims, (int)if_nametoindex(LOW)),
                     getpid());
    assert_int_equal(claim_holder(g.claims, (int)if_nametoindex("vtk-m1")),
                     0);
    vsw_port_close(g.sw, u2);
    gro_expect(LOW, true, "both let go of");
    assert_int_equal(claim_holder(g.claims, (int)if_nametoindex(LOW)), 0);

    /* a macvlan, then the device under it bound by name: either order of
     * release */
    u2 = open_uplink("u2", "vtk-m2", 0, NULL, 0);
    d = open_uplink("d", LOW, 0, NULL, 0);
    read_record(LOW, rec, sizeof(rec)); /* found off: took u2's record */
    assert_says(rec, "\nrx-gro=1\n");
    vsw_port_close(g.sw, u2);
    gro_expect(LOW, false, "the macvlan let go of, its device bound");
    assert_int_equal(claim_holder(g.claims, (int)if_nametoindex(LOW)),
                     getpid());
    vsw_port_close(g.sw, d);
    gro_expect(LOW, true, "both let go of");
    assert_int_equal(claim_holder(g.claims, (int)if_nametoindex(LOW)), 0);

    d = open_uplink("d", LOW, 0, NULL, 0);
    u2 = open_uplink("u2", "vtk-m2", 0, NULL, 0);
    record_has_lower("vtk-m2", LOW, true);
    vsw_port_close(g.sw, d);
    gro_expect(LOW, false, "the device let go of, a macvlan on it bound");
    assert_int_equal(claim_holder(g.claims, (int)if_nametoindex(LOW)),
                     getpid());
    vsw_port_close(g.sw, u2);
    gro_expect(LOW, true, "both let go of");
    assert_int_equal(claim_holder(g.claims, (int)if_nametoindex(LOW)), 0);
    netif_link_del(LOW);
}

/* The device under a NIC is claimed with it: another process's claim of
 * it refuses the binding (naming it and the holder's pid; nothing
 * changes, the NIC's own claim is given up again), and a binding's claim
 * of it keeps another process off it.  Regression test for: two vesperds
 * binding a VLAN and its link (or two macvlans of one link) both turned
 * the link's GRO off, and the first release turned it on under the other
 * (found by review). */
static void test_lower_claimed_elsewhere(void **state)
{
    struct vsa_errmsg em = { "" };
    struct vsw_port *u;
    char msg[512], want[160];
    int low, other;

    (void)state;
    low_make(LOW, true);
    netif_ip("link add link " LOW " name vtk-mv type macvlan mode bridge");
    low = (int)if_nametoindex(LOW);
    other = vsw__nic_claim_take(g.claims, low, LOW, &em);
    assert_true(other >= 0);
    open_uplink("u", "vtk-mv", -EBUSY, msg, sizeof(msg));
    print_message("refused: %s\n", msg);
    snprintf(want, sizeof(want), "port u: the device under kernel NIC "
             "vtk-mv: kernel NIC " LOW " (ifindex %d) is bound by another "
             "vesperd (pid %d)", low, (int)getpid());
    assert_says(msg, want);
    gro_expect(LOW, true, "after the refused binding");
    assert_int_equal(claim_holder(g.claims, (int)if_nametoindex("vtk-mv")),
                     0);
    vsw__nic_claim_release(g.claims, low, other);

    u = open_uplink("u", "vtk-mv", 0, NULL, 0);
    assert_int_equal(claim_holder(g.claims, low), getpid());
    vsw_port_close(g.sw, u);
    assert_int_equal(claim_holder(g.claims, low), 0);
    gro_expect(LOW, true, "given back");
    netif_link_del(LOW);
}

/* ---- lost link events ---------------------------------------------------- */

#define MAC_U 0x0276aa000001ull  /* behind the kernel NIC's port */
#define MAC_H 0x0276aa000002ull  /* behind the host vNIC's port */
#define MAC_S 0x0276aa000003ull  /* static, on the kernel NIC's port */

/* A frame from `src` sent out of interface `ifname` (into the switch). */
static void send_from(const char *ifname, uint64_t src)
{
    struct sockaddr_ll sll = { .sll_family = AF_PACKET,
                               .sll_protocol = htons(ETH_P_ALL),
                               .sll_ifindex = (int)if_nametoindex(ifname) };
    uint8_t f[60] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);

    assert_true(fd >= 0);
    for (int i = 0; i < 6; i++)
        f[6 + i] = (uint8_t)(src >> (40 - 8 * i));
    f[12] = 0x88;                /* IEEE local experimental ethertype */
    f[13] = 0xb5;
    assert_int_equal(sendto(fd, f, sizeof(f), 0, (struct sockaddr *)&sll,
                            sizeof(sll)), (ssize_t)sizeof(f));
    close(fd);
}

struct fdb_find {
    uint64_t mac;
    int port;                    /* -1: not there */
    bool is_static;
};

static int find_cb(const struct vsw_fdb_entry *e, void *arg)
{
    struct fdb_find *f = arg;

    if (e->mac != f->mac || e->vid != 1)
        return 0;
    f->port = e->port;
    f->is_static = e->is_static;
    return 1;
}

/* The port id of mac's entry in VLAN 1 of switch "k", -1 if none. */
static int fdb_port(uint64_t mac, bool *is_static)
{
    struct fdb_find f = { .mac = mac, .port = -1 };
    struct vsw_fdb *fdb = vsw_switch_fdb(g.sw, "k");

    assert_non_null(fdb);
    vsw_fdb_walk(fdb, find_cb, &f);
    if (is_static)
        *is_static = f.is_static;
    return f.port;
}

/* Lost link events (the monitor's buffer overflowed): vsw_kernel_resync
 * forgets what the kernel NIC's port learned (a down-and-up may be among
 * them) and nothing else, and looks the NIC up: a carrier lost without an
 * event or a tick takes the port down. */
static void test_resync(void **state)
{
    struct vsw_port *u, *h;
    struct vsw_port_spec spec;
    struct vsw_cfg_switch cs = { .name = "k", .fdb_max = 64, .aging_s = 300 };
    struct vsw_cfg_port cp[2];
    struct vsw_cfg_static st;
    struct vsw_cfg c = { .switches = &cs, .n_switches = 1, .ports = cp,
                         .n_ports = 2, .statics = &st, .n_statics = 1 };
    struct vsw_cfg none = { .switches = &cs, .n_switches = 0 };
    struct vsa_errmsg em = { "" };
    bool is_static = false;

    (void)state;
    veth_add("vtk-r", "vtk-rp");
    u = open_uplink("ext.uplink", "vtk-r", 0, NULL, 0);
    memset(&spec, 0, sizeof(spec));
    snprintf(spec.name, sizeof(spec.name), "host");
    spec.cls = VSW_PORT_INTERNAL;
    spec.ifname = "vtk-h";
    h = open_spec(&spec, 0, NULL, 0);
    ifflags_change("vtk-h", IFF_UP, 0);

    memset(cp, 0, sizeof(cp));
    cp[0].port = u;
    cp[1].port = h;
    for (int i = 0; i < 2; i++) {
        vlan_port_mode_default(&cp[i].vlan);
        cp[i].vlan.mode = VLAN_MODE_ACCESS;
        cp[i].vlan.access_vid = 1;
    }
    memset(&st, 0, sizeof(st));
    st.vid = 1;
    st.mac = vsa_mac_from_u64(MAC_S);
    st.port = u;
    if (vsw_commit(g.sw, &c, &em) != 0)
        fail_msg("vsw_commit: %s", em.msg);

    for (int i = 0; i < 100 && (fdb_port(MAC_U, NULL) < 0 ||
                                fdb_port(MAC_H, NULL) < 0); i++) {
        send_from("vtk-rp", MAC_U);
        send_from("vtk-h", MAC_H);
        usleep(20000);
    }
    assert_int_equal(fdb_port(MAC_U, NULL), vsw_port_id(u));
    assert_int_equal(fdb_port(MAC_H, NULL), vsw_port_id(h));
    assert_true(vsw_port_link_up(u));

    vsw_kernel_resync(g.sw);
    assert_int_equal(fdb_port(MAC_U, NULL), -1);     /* forgotten */
    assert_int_equal(fdb_port(MAC_H, NULL), vsw_port_id(h)); /* not kernel */
    assert_int_equal(fdb_port(MAC_S, &is_static), vsw_port_id(u));
    assert_true(is_static);
    assert_true(vsw_port_link_up(u));                /* the NIC is up */

    ifflags_change("vtk-rp", 0, IFF_UP);                /* no event, no tick */
    assert_true(vsw_port_link_up(u));
    vsw_kernel_resync(g.sw);
    assert_false(vsw_port_link_up(u));

    if (vsw_commit(g.sw, &none, &em) != 0)
        fail_msg("vsw_commit: %s", em.msg);
    vsw_port_close(g.sw, u);
    vsw_port_close(g.sw, h);
    netif_link_del("vtk-r");
}

/* ---- MTU ------------------------------------------------------------------ */

static void tick_poll(void)
{
    for (int i = 0; i < 10; i++) /* the carrier poll: once in 10 ticks */
        vsw_tick(g.sw);
}

static void test_mtu_of_nic(void **state)
{
    struct vsw_port *u, *h;
    struct vsw_port_spec spec;
    struct vsw_host_addrs *ha = NULL;
    struct vsa_errmsg em = { "" };
    int ifindex;

    (void)state;
    veth_add("vtk-m", "vtk-mp");
    netif_set_mtu("vtk-m", 1400);
    u = open_uplink("ext.uplink", "vtk-m", 0, NULL, 0);
    assert_int_equal(vsw_port_mtu(u), 1400);
    ifindex = (int)if_nametoindex("vtk-m");

    /* a link event says the new MTU */
    netif_set_mtu("vtk-m", 1300);
    vsw_kernel_link_event(g.sw, ifindex, "vtk-m", 1300, true, false);
    assert_int_equal(vsw_port_mtu(u), 1300);
    /* the poll finds it too; a jumbo MTU is capped */
    netif_set_mtu("vtk-m", 9000);
    tick_poll();
    assert_int_equal(vsw_port_mtu(u), 1500);
    netif_set_mtu("vtk-m", 1200);
    tick_poll();
    assert_int_equal(vsw_port_mtu(u), 1200);
    /* an event of another NIC, and one that says nothing of it, change
     * nothing */
    vsw_kernel_link_event(g.sw, ifindex + 1000, "vtk-x", 1000, true, false);
    vsw_kernel_link_event(g.sw, ifindex, "vtk-m", 0, true, false);
    assert_int_equal(vsw_port_mtu(u), 1200);

    /* a host vNIC: its configured MTU, at open and when changed */
    memset(&spec, 0, sizeof(spec));
    snprintf(spec.name, sizeof(spec.name), "host");
    spec.cls = VSW_PORT_INTERNAL;
    spec.ifname = "vtk-mh";
    spec.mtu = 1280;
    h = open_spec(&spec, 0, NULL, 0);
    assert_int_equal(vsw_port_mtu(h), 1280);
    if (vsw_port_set_host_addrs(g.sw, h, NULL, 0, 1400, &em) != 0)
        fail_msg("vsw_port_set_host_addrs: %s", em.msg);
    assert_int_equal(vsw_port_mtu(h), 1400);
    if (vsw_port_host_addrs_prepare(g.sw, h, NULL, 0, 1300, &ha, &em) != 0)
        fail_msg("vsw_port_host_addrs_prepare: %s", em.msg);
    assert_int_equal(vsw_port_mtu(h), 1400);     /* not before it is sent */
    if (vsw_port_host_addrs_apply(g.sw, ha, &em) != 0)
        fail_msg("vsw_port_host_addrs_apply: %s", em.msg);
    /* the TAP has it; the switch takes it with the configuration that
     * says so (vsw_commit_publish), not before */
    assert_int_equal(netif_mtu("vtk-mh"), 1300);
    assert_int_equal(vsw_port_mtu(h), 1400);
    /* undone: the TAP's MTU is the old one again */
    assert_int_equal(vsw_port_host_addrs_revert(g.sw, ha), 0);
    assert_int_equal(netif_mtu("vtk-mh"), 1400);
    vsw_port_host_addrs_abort(g.sw, ha);

    vsw_port_close(g.sw, u);
    vsw_port_close(g.sw, h);
    netif_link_del("vtk-m");
}

/* What `ip ARGS` prints (stdout and stderr, cut at out_size - 1). */
static void ip_out(const char *args, char *out, size_t out_size)
{
    char cmd[256];
    size_t n;
    FILE *p;

    snprintf(cmd, sizeof(cmd), "ip %s 2>&1", args);
    p = popen(cmd, "r");
    assert_non_null(p);
    n = fread(out, 1, out_size - 1, p);
    out[n] = '\0';
    pclose(p);
}

/* True if `ip ARGS` prints `what`. */
static bool ip_says(const char *args, const char *what)
{
    char out[4096];

    ip_out(args, out, sizeof(out));
    return strstr(out, what) != NULL;
}

/* The queues (attached files) of TAP `name`: `numqueues` of `ip -d link`
 * (the tun driver's link info; /sys/class/net would show the namespace
 * that sysfs was mounted in, not this test's). */
static int tap_queues(const char *name)
{
    char args[64], out[4096];
    const char *q;

    snprintf(args, sizeof(args), "-d link show dev %s", name);
    ip_out(args, out, sizeof(out));
    q = strstr(out, " numqueues ");
    if (!q)
        fail_msg("no numqueues in: %s", out);
    return atoi(q + strlen(" numqueues "));
}

/* A host vNIC's TAP is new, never one that exists: net_tap makes its TAPs
 * multi-queue and joined an existing multi-queue TAP of the name instead of
 * failing (t_cli has someone else's).  One of our own (a port renamed in
 * one change opens the new port before the old one closes) is named with
 * its port and what to do. */
static void test_host_vnic_tap_taken(void **state)
{
    struct vsw_port *leaving[1];
    struct vsw_port_spec spec;
    struct vsw_port *h;
    unsigned idx;
    short up;
    int queues;
    char msg[512];

    (void)state;
    memset(&spec, 0, sizeof(spec));
    snprintf(spec.name, sizeof(spec.name), "host-a");
    spec.cls = VSW_PORT_INTERNAL;
    spec.ifname = "vtk-tt";
    h = open_spec(&spec, 0, NULL, 0);
    idx = if_nametoindex("vtk-tt");
    up = ifflags_get("vtk-tt") & IFF_UP;
    queues = tap_queues("vtk-tt");
    assert_int_equal(queues, 1);
    assert_true(idx > 0);
    leaving[0] = h;
    snprintf(spec.name, sizeof(spec.name), "host-b");
    spec.replacing = leaving;
    spec.n_replacing = 1;
    open_spec(&spec, -EEXIST, msg, sizeof(msg));
    assert_string_equal(msg, "port host-b: interface vtk-tt is the host vNIC "
                             "of port host-a; to move it to another port, "
                             "delete port host-a first, then add this one");
    /* host-a's TAP is as it was: the same interface, as up or down as it
     * was, with no queue added or left behind (net_tap joins a
     * multi-queue TAP of that name, and its close sets the TAP down) */
    assert_int_equal(if_nametoindex("vtk-tt"), idx);
    assert_int_equal(ifflags_get("vtk-tt") & IFF_UP, up);
    assert_int_equal(tap_queues("vtk-tt"), queues);
    vsw_port_close(g.sw, h);
}

/* A host vNIC change undone (a later step of its transaction failed)
 * gives the TAP back as it was, admin state included (the change sets
 * the link up), and says when the kernel refuses part of that. */
/* The receive queues of a NIC (net_af_xdp reads one, vswitch.c refuses a
 * NIC with more): a veth's channels (ETHTOOL_GCHANNELS), as ethtool -L
 * changes them, and the queues a macvlan was made with (no channels
 * from its driver; netlink, as sysfs shows another namespace here). */
/* vsw__hostif_rx_queues, and whether ethtool -L could change the count */
static int rx_queues(const char *ifname, bool *from_channels)
{
    *from_channels = true; /* the function must say */
    return vsw__hostif_rx_queues(ifname, from_channels);
}

static void test_rx_queues(void **state)
{
    bool ch;

    (void)state;
    netif_ip("link add vtk-q4 numrxqueues 4 numtxqueues 4 type veth peer "
             "name vtk-q4p numrxqueues 4 numtxqueues 4");
    assert_int_equal(rx_queues("vtk-q4", &ch), 4);
    assert_true(ch);
    netif_ip("link set vtk-q4 up"); /* channels can be read either way */
    assert_int_equal(rx_queues("vtk-q4", &ch), 4);
    assert_int_equal(system("ethtool -L vtk-q4 rx 1 tx 1"), 0);
    assert_int_equal(rx_queues("vtk-q4", &ch), 1);
    assert_true(ch);
    netif_link_del("vtk-q4");
    netif_veth_add("vtk-q1", "vtk-q1p");
    assert_int_equal(rx_queues("vtk-q1", &ch), 1);
    netif_link_del("vtk-q1");
    /* a macvlan: no channels from its driver, made with 3 queues */
    netif_veth_add("vtk-q1", "vtk-q1p");
    netif_ip("link add link vtk-q1 name vtk-qm numrxqueues 3 type macvlan "
             "mode bridge");
    assert_int_equal(rx_queues("vtk-qm", &ch), 3);
    assert_false(ch);
    netif_link_del("vtk-qm");
    netif_link_del("vtk-q1");
    /* a multi_queue TAP: the most it can have, nothing ethtool sets */
    netif_ip("tuntap add vtk-mq mode tap multi_queue");
    assert_int_equal(rx_queues("vtk-mq", &ch), 256);
    assert_false(ch);
    netif_link_del("vtk-mq");
    assert_int_equal(rx_queues("vtk-none", &ch), -ENODEV);
    assert_false(ch);
}

/* The port's NIC is its devargs' iface= argument, not "iface=" met inside
 * another argument's value (here an xdp_prog path): read so, a NIC of 4
 * queues went unchecked; and a NIC whose count ethtool cannot lower is
 * told to use net_af_packet. */
static void test_af_xdp_refused_nic(void **state)
{
    struct vsw_port_spec spec;
    char msg[512];

    (void)state;
    netif_ip("link add vtk-x4 numrxqueues 4 numtxqueues 4 type veth peer "
             "name vtk-x4p numrxqueues 4 numtxqueues 4");
    memset(&spec, 0, sizeof(spec));
    snprintf(spec.name, sizeof(spec.name), "x");
    spec.cls = VSW_PORT_DPDK;
    spec.devargs = "net_af_xdp_vtkx,xdp_prog=/nonexistent/iface=x.o,"
                   "iface=vtk-x4";
    open_spec(&spec, -EINVAL, msg, sizeof(msg));
    print_message("refused: %s\n", msg);
    assert_says(msg, "port x: vtk-x4 has 4 receive queues");
    assert_says(msg, "ethtool -L vtk-x4 combined 1");
    netif_ip("link add link vtk-x4 name vtk-xm numrxqueues 3 type macvlan "
             "mode bridge");
    spec.devargs = "net_af_xdp_vtkx,iface=vtk-xm";
    open_spec(&spec, -EINVAL, msg, sizeof(msg));
    print_message("refused: %s\n", msg);
    assert_says(msg, "port x: vtk-xm was made with up to 3 receive queues");
    assert_says(msg, "bind it with net_af_packet");
    netif_link_del("vtk-xm");
    netif_link_del("vtk-x4");
}

static void test_host_addrs_revert(void **state)
{
    const char *addrs[] = { "10.77.0.1/24" };
    struct vsw_port_spec spec;
    struct vsw_host_addrs *ha;
    struct vsa_errmsg em;
    struct vsw_port *h;
    char path[128];

    (void)state;
    memset(&spec, 0, sizeof(spec));
    snprintf(spec.name, sizeof(spec.name), "host");
    spec.cls = VSW_PORT_INTERNAL;
    spec.ifname = "vtk-rh";
    h = open_spec(&spec, 0, NULL, 0);
    snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/vtk-rh/"
             "disable_ipv6");
    write_file(path, "0");
    netif_ip("addr add 10.77.0.1/24 dev vtk-rh");
    netif_ip("addr add 10.78.0.1/24 dev vtk-rh");
    ifflags_change("vtk-rh", 0, IFF_UP);
    netif_set_mtu("vtk-rh", 1500);

    /* applied: up, MTU 1300, 10.78.0.1 gone, 10.77.0.1 kept */
    if (vsw_port_host_addrs_prepare(g.sw, h, addrs, 1, 1300, &ha, &em) != 0)
        fail_msg("vsw_port_host_addrs_prepare: %s", em.msg);
    if (vsw_port_host_addrs_apply(g.sw, ha, &em) != 0)
        fail_msg("vsw_port_host_addrs_apply: %s", em.msg);
    assert_true(ifflags_get("vtk-rh") & IFF_UP);
    assert_int_equal(netif_mtu("vtk-rh"), 1300);
    assert_false(ip_says("-4 addr show dev vtk-rh", "10.78.0.1/24"));
    assert_true(ip_says("-4 addr show dev vtk-rh", "10.77.0.1/24"));

    /* undone: down again, MTU 1500, 10.78.0.1 back */
    assert_int_equal(vsw_port_host_addrs_revert(g.sw, ha), 0);
    if (ifflags_get("vtk-rh") & IFF_UP)
        fail_msg("the change set vtk-rh up, and the revert left it up");
    assert_int_equal(netif_mtu("vtk-rh"), 1500);
    assert_true(ip_says("-4 addr show dev vtk-rh", "10.78.0.1/24"));
    assert_true(ip_says("-4 addr show dev vtk-rh", "10.77.0.1/24"));
    vsw_port_host_addrs_abort(g.sw, ha);

    /* the kernel refuses an address back (an IPv6 one, IPv6 turned off on
     * the TAP meanwhile): the revert says it could not undo everything,
     * and still sets the rest back (IPv6 addresses need the link up: a
     * link down loses them, net.ipv6.conf.*.keep_addr_on_down) */
    ifflags_change("vtk-rh", IFF_UP, 0);
    netif_ip("addr add 2001:db8:77::1/64 dev vtk-rh nodad");
    if (vsw_port_host_addrs_prepare(g.sw, h, addrs, 1, 1300, &ha, &em) != 0)
        fail_msg("vsw_port_host_addrs_prepare: %s", em.msg);
    if (vsw_port_host_addrs_apply(g.sw, ha, &em) != 0)
        fail_msg("vsw_port_host_addrs_apply: %s", em.msg);
    assert_false(ip_says("-6 addr show dev vtk-rh", "2001:db8:77::1/64"));
    write_file(path, "1");
    assert_int_equal(vsw_port_host_addrs_revert(g.sw, ha), 1);
    assert_int_equal(netif_mtu("vtk-rh"), 1500);
    assert_true(ip_says("-4 addr show dev vtk-rh", "10.78.0.1/24"));
    vsw_port_host_addrs_abort(g.sw, ha);

    vsw_port_close(g.sw, h);
}

/* vtk-sh's IPv4 addresses back to 10.79.0.1/24 (primary) and .2 (its
 * secondary). */
static void two_in_a_subnet(void)
{
    netif_ip("addr flush dev vtk-sh");
    netif_ip("addr add 10.79.0.1/24 dev vtk-sh");
    netif_ip("addr add 10.79.0.2/24 dev vtk-sh");
    assert_true(ip_says("-4 addr show dev vtk-sh", "secondary vtk-sh"));
}

static const char *promote_path =
    "/proc/sys/net/ipv4/conf/vtk-sh/promote_secondaries";

/* At the first deletion: the kernel takes secondaries with their primary
 * again, whatever the apply set before it. */
static bool no_promote_at_delete(void *arg, const char *what)
{
    (void)arg;
    if (strcmp(what, "rtnl_addr_delete") == 0)
        write_file(promote_path, "0");
    return false;
}

/* An address kept while the primary of its subnet is deleted stays: the
 * kernel deletes the secondaries with their primary (promote_secondaries
 * 0, its default), which vesperd turns on for the TAP, and any it took
 * all the same is added back, by the change and by its revert. */
static void test_host_addrs_secondaries(void **state)
{
    static const struct vsa_alloc_hook hook = {
        .inject = no_promote_at_delete,
    };
    const char *keep[] = { "10.79.0.2/24" };
    const char *keep_new[] = { "10.79.0.2/24", "10.80.0.1/24" };
    struct vsw_port_spec spec;
    struct vsw_host_addrs *ha;
    struct vsa_errmsg em;
    struct vsw_port *h;

    (void)state;
    memset(&spec, 0, sizeof(spec));
    snprintf(spec.name, sizeof(spec.name), "host");
    spec.cls = VSW_PORT_INTERNAL;
    spec.ifname = "vtk-sh";
    h = open_spec(&spec, 0, NULL, 0);
    write_file(promote_path, "0");

    /* the primary goes, its secondary stays */
    two_in_a_subnet();
    if (vsw_port_set_host_addrs(g.sw, h, keep, 1, 0, &em) != 0)
        fail_msg("vsw_port_set_host_addrs: %s", em.msg);
    assert_false(ip_says("-4 addr show dev vtk-sh", "10.79.0.1/24"));
    if (!ip_says("-4 addr show dev vtk-sh", "10.79.0.2/24"))
        fail_msg("10.79.0.2/24 was kept, and went with 10.79.0.1/24");

    /* the kernel takes it anyway: added back */
    two_in_a_subnet();
    vsa_alloc_set_hook(&hook);
    if (vsw_port_set_host_addrs(g.sw, h, keep, 1, 0, &em) != 0)
        fail_msg("vsw_port_set_host_addrs: %s", em.msg);
    vsa_alloc_set_hook(NULL);
    assert_false(ip_says("-4 addr show dev vtk-sh", "10.79.0.1/24"));
    if (!ip_says("-4 addr show dev vtk-sh", "10.79.0.2/24"))
        fail_msg("10.79.0.2/24, taken with its primary, was not added back");

    /* undone after the kept one went (by the kernel, or by hand): both
     * are back, the new one gone */
    two_in_a_subnet();
    if (vsw_port_host_addrs_prepare(g.sw, h, keep_new, 2, 0, &ha, &em) != 0)
        fail_msg("vsw_port_host_addrs_prepare: %s", em.msg);
    if (vsw_port_host_addrs_apply(g.sw, ha, &em) != 0)
        fail_msg("vsw_port_host_addrs_apply: %s", em.msg);
    assert_true(ip_says("-4 addr show dev vtk-sh", "10.80.0.1/24"));
    netif_ip("addr del 10.79.0.2/24 dev vtk-sh");
    assert_int_equal(vsw_port_host_addrs_revert(g.sw, ha), 0);
    vsw_port_host_addrs_abort(g.sw, ha);
    assert_true(ip_says("-4 addr show dev vtk-sh", "10.79.0.1/24"));
    if (!ip_says("-4 addr show dev vtk-sh", "10.79.0.2/24"))
        fail_msg("the revert did not add back 10.79.0.2/24, which the TAP "
                 "had before the change");
    assert_false(ip_says("-4 addr show dev vtk-sh", "10.80.0.1/24"));

    vsw_port_close(g.sw, h);
}

/* ---- setup --------------------------------------------------------------- */

static int rm_entry(const char *path, const struct stat *sb, int flag,
                    struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static int setup(void **state)
{
    char prefix[64];
    char *argv[] = {
        "test_kernel_nic", "--no-huge", "-m", "256", "--no-pci",
        "--file-prefix", prefix, "-l", "0,1", "--main-lcore", "0",
        "--log-level", "lib.eal:error", "--log-level", "pmd.net.tap:critical",
        "--no-telemetry", NULL,
    };
    struct vsw_params p = { .n_mbufs = 4095, .n_dp_lcores = 1 };
    struct vsa_errmsg em = { "" };

    (void)state;
    vsa_log_set_level(VSA_LOG_WARN);
    /* before the EAL starts threads: they inherit the namespace */
    if (unshare(CLONE_NEWNET) != 0) {
        fprintf(stderr, "test_kernel_nic: needs a network namespace of its "
                "own (root): %s\n", strerror(errno));
        return -1;
    }
    write_file("/proc/sys/net/ipv6/conf/all/disable_ipv6", "1\n");
    write_file("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1\n");
    snprintf(prefix, sizeof(prefix), "vt_knic%d", (int)getpid());
    if (rte_eal_init((int)(sizeof(argv) / sizeof(argv[0])) - 1, argv) < 0) {
        fprintf(stderr, "rte_eal_init failed: %s\n", rte_strerror(rte_errno));
        return -1;
    }
    snprintf(g.dir, sizeof(g.dir), "/tmp/vt_knic_XXXXXX");
    if (!mkdtemp(g.dir))
        return -1;
    p.nic_journal_dir = g.dir;
    snprintf(g.claims, sizeof(g.claims), "%s/claims", g.dir);
    p.nic_claim_dir = g.claims;
    if (vsw_create(&p, &g.sw, &em) != 0) {
        fprintf(stderr, "vsw_create: %s\n", em.msg);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    char runtime[PATH_MAX];

    (void)state;
    if (g.sw)
        vsw_destroy(g.sw);
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
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_altname_is_the_nic),
        cmocka_unit_test(test_ipv4_isolation),
        cmocka_unit_test(test_one_nic_one_port),
        cmocka_unit_test(test_nic_claimed_elsewhere),
        cmocka_unit_test(test_gone_says_how_back),
        cmocka_unit_test(test_renamed_nic_record),
        cmocka_unit_test(test_gone_nic_index_left_alone),
        cmocka_unit_test(test_gro_off_while_bound),
        cmocka_unit_test(test_gro_off_under_macvlan),
        cmocka_unit_test(test_gone_nic_lower_index_left_alone),
        cmocka_unit_test(test_gro_off_under_bridge),
        cmocka_unit_test(test_gro_off_under_vlan),
        cmocka_unit_test(test_gro_off_under_bond),
        cmocka_unit_test(test_shared_lower),
        cmocka_unit_test(test_lower_claimed_elsewhere),
        cmocka_unit_test(test_resync),
        cmocka_unit_test(test_mtu_of_nic),
        cmocka_unit_test(test_host_vnic_tap_taken),
        cmocka_unit_test(test_rx_queues),
        cmocka_unit_test(test_af_xdp_refused_nic),
        cmocka_unit_test(test_host_addrs_revert),
        cmocka_unit_test(test_host_addrs_secondaries),
    };

    return cmocka_run_group_tests_name("vswitch-kernel-nic", tests, setup,
                                       teardown);
}
