/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_vd_nlmon.c — vesperd's netlink link monitor (tools/vesperd/nlmon.c)
 * on real kernel link events.
 *
 * Objective: what the monitor tells the switch (vsw_kernel_link_event) is
 * true of the interface.
 *  * A NIC that stops being a bridge port (`ip link set IF nomaster`, the
 *    bridge deleted) is not deleted: the kernel sends an RTM_DELLINK of
 *    family AF_BRIDGE with the NIC's ifindex then, and no event may say
 *    `gone` for it; deleting the NIC does.  Regression test for: any
 *    RTM_DELLINK was taken for the NIC's deletion, so an external switch's
 *    uplink that had been a bridge port stayed down until vesperd
 *    restarted.
 *  * The socket's receive buffer is large (the 32 KiB libnl left it at
 *    held a few dozen events); when it overflows all the same (a burst
 *    larger than it: here the test shrinks it), the loss is logged and,
 *    after what was still queued has been read, every kernel NIC port is
 *    looked up again (vsw_kernel_resync), so that the last word is the
 *    kernel's state now.  Regression test for: vd_nlmon_event ignored
 *    nl_recvmsgs' -NLE_NOMEM (ENOBUFS), so lost events (a short down and
 *    up: the port's FDB entries not flushed) went unnoticed.
 *  * Each event carries the interface's MTU, so that a port bound to a
 *    kernel NIC follows a change of it (vsw_port_mtu).  Regression test
 *    for: the MTU was not passed on, and a port kept the MTU its NIC had
 *    when it was bound.
 * How: in a network namespace of its own (unshare; root), a veth pair and
 * a bridge made with libnl.  The switch is the test's: it records the
 * events (no DPDK, no vswitch linked).
 */
#include <errno.h>
#include <poll.h>
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

#include <cmocka.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/veth.h>

#include "common/vsa_log.h"
#include "tools/vesperd/vesperd.h"
#include "tests/unit/common/netif.h"

/* ---- the switch's side: what the monitor reported ------------------------ */

#define MAX_EVENTS 4096

static struct {
    struct {
        char kind;               /* 'e' event, 'r' resync */
        int ifindex;
        char name[IF_NAMESIZE];
        uint32_t mtu;
        bool up, gone;
    } ev[MAX_EVENTS];
    unsigned n;
    unsigned resyncs;
} rec;

static struct vd d;
static int vsw_marker; /* d.vsw: the monitor passes it on, never reads it */

void vsw_kernel_link_event(struct vsw *sw, int ifindex, const char *ifname,
                           uint32_t mtu, bool up, bool gone)
{
    assert_ptr_equal(sw, (struct vsw *)&vsw_marker);
    if (rec.n == MAX_EVENTS)
        return;
    rec.ev[rec.n].kind = 'e';
    rec.ev[rec.n].ifindex = ifindex;
    snprintf(rec.ev[rec.n].name, sizeof(rec.ev[rec.n].name), "%s",
             ifname ? ifname : "");
    rec.ev[rec.n].mtu = mtu;
    rec.ev[rec.n].up = up;
    rec.ev[rec.n].gone = gone;
    rec.n++;
}

void vsw_kernel_resync(struct vsw *sw)
{
    assert_ptr_equal(sw, (struct vsw *)&vsw_marker);
    rec.resyncs++;
    if (rec.n < MAX_EVENTS)
        rec.ev[rec.n++].kind = 'r';
}

/* Events for ifindex: all of them, and those saying gone. */
static unsigned events_of(int ifindex, unsigned *gone)
{
    unsigned n = 0;

    *gone = 0;
    for (unsigned i = 0; i < rec.n; i++) {
        if (rec.ev[i].kind != 'e' || rec.ev[i].ifindex != ifindex)
            continue;
        n++;
        if (rec.ev[i].gone)
            (*gone)++;
    }
    return n;
}

/* Lets the monitor read everything the kernel queued for it, as vesperd's
 * loop does (one call per wake-up), until it has been quiet for 200 ms. */
static void drain(void)
{
    struct pollfd pfd = { .fd = vd_nlmon_fd(), .events = POLLIN };

    assert_true(pfd.fd >= 0);
    for (unsigned i = 0; i < 100000; i++) {
        if (poll(&pfd, 1, 200) <= 0)
            return;
        vd_nlmon_event(&d);
    }
    fail_msg("the monitor's socket never went quiet");
}

/* ---- links (libnl) ------------------------------------------------------- */

static void bridge_add(const char *name)
{
    struct nl_sock *sk = netif_nl();

    assert_int_equal(rtnl_link_bridge_add(sk, name), 0);
    netif_nl_done(sk);
}

static int ifindex_of(const char *name)
{
    int i = (int)if_nametoindex(name);

    assert_true(i > 0);
    return i;
}

/* `ip link set slave master master` (master NULL: nomaster). */
static void set_master(const char *slave, const char *master)
{
    struct nl_sock *sk = netif_nl();
    int rc = master ? rtnl_link_enslave_ifindex(sk, ifindex_of(master),
                                                ifindex_of(slave))
                    : rtnl_link_release_ifindex(sk, ifindex_of(slave));

    if (rc < 0)
        fail_msg("%s %s: %s", master ? "enslaving" : "releasing", slave,
                 nl_geterror(rc));
    netif_nl_done(sk);
}

/* ---- tests --------------------------------------------------------------- */

/* A NIC leaves a bridge twice (nomaster; the bridge deleted): it is still
 * there, and no event says otherwise.  Deleting it does say gone. */
static void test_bridge_port_not_gone(void **state)
{
    unsigned n, gone;
    int a;

    (void)state;
    netif_veth_add("vtn-a", "vtn-b");
    bridge_add("vtn-br");
    a = ifindex_of("vtn-a");
    drain();
    rec.n = 0;

    set_master("vtn-a", "vtn-br");
    drain();
    set_master("vtn-a", NULL);
    drain();
    set_master("vtn-a", "vtn-br");
    drain();
    netif_link_del("vtn-br");
    drain();
    n = events_of(a, &gone);
    print_message("vtn-a: %u events while it joined and left a bridge "
                  "twice, %u of them gone\n", n, gone);
    assert_true(n > 0); /* the monitor does hear of vtn-a */
    assert_int_equal(gone, 0);
    assert_int_equal(if_nametoindex("vtn-a"), (unsigned)a);

    rec.n = 0;
    netif_link_del("vtn-a");
    drain();
    events_of(a, &gone);
    assert_int_equal(gone, 1);
}

/* The NIC's MTU changes: the events after it say the new one. */
static void test_mtu_reported(void **state)
{
    unsigned last = 0;
    bool seen = false;
    int a;

    (void)state;
    netif_veth_add("vtn-m", "vtn-mp");
    a = ifindex_of("vtn-m");
    drain();
    rec.n = 0;
    netif_set_mtu("vtn-m", 1400);
    drain();
    for (unsigned i = 0; i < rec.n; i++) {
        if (rec.ev[i].kind == 'e' && rec.ev[i].ifindex == a) {
            last = rec.ev[i].mtu;
            seen = true;
        }
    }
    assert_true(seen);
    assert_int_equal(last, 1400);
    netif_link_del("vtn-m");
}

static int rcvbuf(void)
{
    int v = 0;
    socklen_t len = sizeof(v);

    assert_int_equal(getsockopt(vd_nlmon_fd(), SOL_SOCKET, SO_RCVBUF, &v,
                                &len), 0);
    return v;
}

static unsigned lost_lines;

static void log_hook(enum vsa_log_level level, const char *module,
                     const char *msg)
{
    (void)module;
    print_message("log: %s\n", msg);
    if (level <= VSA_LOG_WARN && strstr(msg, "netlink link events lost"))
        lost_lines++;
}

/* The buffer holds a burst: 1 MiB at least (the kernel reports twice what
 * was set; libnl's default read 64 KiB). */
static void test_rcvbuf_large(void **state)
{
    (void)state;
    print_message("receive buffer: %d bytes\n", rcvbuf());
    assert_true(rcvbuf() >= 1 << 20);
}

/* More events than the buffer holds (shrunk to the least the kernel
 * allows): the loss is logged, and after reading what was queued the
 * monitor asks for every kernel NIC port to be looked up again, last. */
static void test_overflow_resyncs(void **state)
{
    int least = 1;
    uint64_t overflows0 = vd_nlmon_overflows();

    (void)state;
    netif_veth_add("vtn-f", "vtn-fp");
    drain();
    assert_int_equal(setsockopt(vd_nlmon_fd(), SOL_SOCKET, SO_RCVBUF, &least,
                                sizeof(least)), 0);
    print_message("receive buffer shrunk to %d bytes\n", rcvbuf());
    rec.n = 0;
    rec.resyncs = 0;
    lost_lines = 0;
    for (int i = 0; i < 50; i++) {
        ifflags_change("vtn-f", IFF_UP, 0);
        ifflags_change("vtn-f", 0, IFF_UP);
    }
    vsa_log_set_hook(log_hook);
    drain();
    vsa_log_set_hook(NULL);
    print_message("%u calls, %u resyncs\n", rec.n, rec.resyncs);
    assert_int_equal(rec.resyncs, 1);
    assert_int_equal(rec.ev[rec.n - 1].kind, 'r');
    assert_int_equal(lost_lines, 1);
    assert_int_equal(vd_nlmon_overflows() - overflows0, 1); /* daemon.info */
    netif_link_del("vtn-f");
}

/* ---- setup --------------------------------------------------------------- */

static int setup(void **state)
{
    (void)state;
    vsa_log_set_level(VSA_LOG_WARN);
    if (unshare(CLONE_NEWNET) != 0) {
        fprintf(stderr, "test_vd_nlmon: needs a network namespace of its "
                "own (root): %s\n", strerror(errno));
        return -1;
    }
    d.vsw = (struct vsw *)&vsw_marker;
    if (vd_nlmon_open(&d) != 0) {
        fprintf(stderr, "test_vd_nlmon: vd_nlmon_open failed\n");
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    vd_nlmon_close();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bridge_port_not_gone),
        cmocka_unit_test(test_mtu_reported),
        cmocka_unit_test(test_rcvbuf_large),
        cmocka_unit_test(test_overflow_resyncs),
    };

    return cmocka_run_group_tests_name("tools-vd_nlmon", tests, setup,
                                       teardown);
}
