/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * netif.h — kernel interfaces for unit tests that run as root in their own
 * network namespace: veth pairs made and links deleted with libnl, flags
 * read and changed (SIOCGIFFLAGS / SIOCSIFFLAGS), GRO read and switched
 * (the legacy ETHTOOL_GGRO / ETHTOOL_SGRO: not the feature bits vswitch's
 * hostif.c uses).  A failed call fails the test.  Static functions:
 * include once per test program.
 *
 *     netif_veth_add("veth0", "veth0p");        both ends down
 *     ifflags_change("veth0", IFF_UP, 0);       up
 *     ifflags_change("veth0", 0, IFF_UP);       down
 *     assert_true(ifflags_get("veth0") & IFF_PROMISC);
 *     netif_gro_set("veth0", true);             ethtool -K veth0 gro on
 *     assert_true(netif_gro_get("veth0"));
 *     netif_link_del("veth0");                  the pair goes
 *     netif_ip("link set veth1 master br0");    ip(8), checked
 *     if (!netif_ip_link_add("link veth0 name veth0.5 type vlan id 5"))
 *         skip();                               no 802.1Q in this kernel
 */
#ifndef TESTS_NETIF_H
#define TESTS_NETIF_H

#include <errno.h>
#include <net/if.h>
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
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>

static inline struct nl_sock *netif_nl(void)
{
    struct nl_sock *sk = nl_socket_alloc();

    assert_non_null(sk);
    assert_int_equal(nl_connect(sk, NETLINK_ROUTE), 0);
    return sk;
}

static inline void netif_nl_done(struct nl_sock *sk)
{
    nl_close(sk);
    nl_socket_free(sk);
}

static inline void netif_veth_add(const char *name, const char *peer)
{
    struct nl_sock *sk = netif_nl();

    assert_int_equal(rtnl_link_veth_add(sk, name, peer, getpid()), 0);
    netif_nl_done(sk);
}

static inline void netif_link_del(const char *name)
{
    struct nl_sock *sk = netif_nl();
    struct rtnl_link *l = rtnl_link_alloc();

    assert_non_null(l);
    rtnl_link_set_name(l, name);
    assert_int_equal(rtnl_link_delete(sk, l), 0);
    rtnl_link_put(l);
    netif_nl_done(sk);
}

static inline int ifflags__req(const char *name, struct ifreq *ifr)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    assert_true(fd >= 0);
    memset(ifr, 0, sizeof(*ifr));
    snprintf(ifr->ifr_name, sizeof(ifr->ifr_name), "%s", name);
    assert_int_equal(ioctl(fd, SIOCGIFFLAGS, ifr), 0);
    return fd;
}

static inline short ifflags_get(const char *name)
{
    struct ifreq ifr;

    close(ifflags__req(name, &ifr));
    return ifr.ifr_flags;
}

/* Sets the flags in `set`, then clears those in `clear`. */
static inline void ifflags_change(const char *name, short set, short clear)
{
    struct ifreq ifr;
    int fd = ifflags__req(name, &ifr);

    ifr.ifr_flags = (short)((ifr.ifr_flags | set) & ~clear);
    assert_int_equal(ioctl(fd, SIOCSIFFLAGS, &ifr), 0);
    close(fd);
}

/* ETHTOOL_GGRO (set) or ETHTOOL_SGRO of `name`: edata.data after it. */
static inline bool netif__gro(const char *name, uint32_t cmd, bool on)
{
    struct ethtool_value ev = { .cmd = cmd, .data = on ? 1u : 0u };
    struct ifreq ifr;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    assert_true(fd >= 0);
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
    ifr.ifr_data = (void *)&ev;
    if (ioctl(fd, SIOCETHTOOL, &ifr) != 0)
        fail_msg("%s of %s: %s", cmd == ETHTOOL_SGRO ? "ETHTOOL_SGRO"
                                                      : "ETHTOOL_GGRO",
                 name, strerror(errno));
    close(fd);
    return ev.data != 0;
}

/* Whether GRO (generic-receive-offload) is on on `name`. */
static inline bool netif_gro_get(const char *name)
{
    return netif__gro(name, ETHTOOL_GGRO, false);
}

/* ethtool -K name gro on|off, checked. */
static inline void netif_gro_set(const char *name, bool on)
{
    (void)netif__gro(name, ETHTOOL_SGRO, on);
    if (netif_gro_get(name) != on)
        fail_msg("GRO of %s did not go %s", name, on ? "on" : "off");
}

/* `ip link set name mtu mtu`. */
static inline void netif_set_mtu(const char *name, int mtu)
{
    struct ifreq ifr;
    int fd = ifflags__req(name, &ifr);

    ifr.ifr_mtu = mtu;
    assert_int_equal(ioctl(fd, SIOCSIFMTU, &ifr), 0);
    close(fd);
}

/* `name`'s MTU (SIOCGIFMTU). */
static inline int netif_mtu(const char *name)
{
    struct ifreq ifr;
    int fd = ifflags__req(name, &ifr);

    assert_int_equal(ioctl(fd, SIOCGIFMTU, &ifr), 0);
    close(fd);
    return ifr.ifr_mtu;
}

/* Runs `ip ARGS` (printf-style); its failure fails the test. */
static inline void netif_ip(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static inline void netif_ip(const char *fmt, ...)
{
    char args[256], cmd[320];
    va_list ap;
    int rc;

    va_start(ap, fmt);
    vsnprintf(args, sizeof(args), fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof(cmd), "ip %s", args);
    rc = system(cmd);
    if (rc != 0)
        fail_msg("'%s' failed (status %d)", cmd, rc);
}

/* `ip link add ARGS` of a kind this kernel may not have (vlan, bond,
 * team: CONFIG_VLAN_8021Q, CONFIG_BONDING unset on some test machines):
 * true if made, false if the kernel says "Unknown device type"; any other
 * failure fails the test. */
static inline bool netif_ip_link_add(const char *args)
{
    char cmd[320], out[512] = "";
    size_t n;
    FILE *p;
    int rc;

    snprintf(cmd, sizeof(cmd), "ip link add %s 2>&1", args);
    p = popen(cmd, "r");
    assert_non_null(p);
    n = fread(out, 1, sizeof(out) - 1, p);
    out[n] = '\0';
    rc = pclose(p);
    if (rc == 0)
        return true;
    if (strstr(out, "Unknown device type"))
        return false;
    fail_msg("'ip link add %s' failed (status %d): %s", args, rc, out);
    return false;
}

#endif
