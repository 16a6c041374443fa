/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hostif.c — host integration through libnl (route): look up a kernel NIC
 * (exists, MAC, MTU, carrier), set it up and promiscuous, and configure a
 * host vNIC's addresses and MTU.  Control thread only; every call opens
 * and closes its own netlink socket (these are rare operator actions).
 * Link events are followed by tools/vesperd's netlink monitor, which calls
 * vsw_kernel_link_event().
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

#include <netlink/addr.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>

#include "vswitch/vsw_private.h"

static struct nl_sock *nl_open(struct vsa_errmsg *em)
{
    struct nl_sock *sk = nl_socket_alloc();

    if (!sk) {
        vsa_errmsg_set(em, -ENOMEM, "netlink: out of memory");
        return NULL;
    }
    if (nl_connect(sk, NETLINK_ROUTE) < 0) {
        nl_socket_free(sk);
        vsa_errmsg_set(em, -EIO, "netlink: cannot connect");
        return NULL;
    }
    return sk;
}

static int get_link(struct nl_sock *sk, const char *ifname,
                    struct rtnl_link **out, struct vsa_errmsg *em)
{
    int rc = rtnl_link_get_kernel(sk, 0, ifname, out);

    if (rc < 0)
        return vsa_errmsg_set(em, -ENODEV,
                              "interface '%s' does not exist", ifname);
    return 0;
}

int vsw__hostif_lookup(const char *ifname, struct vsw_hostif_info *out,
                       struct vsa_errmsg *em)
{
    struct nl_sock *sk = nl_open(em);
    struct rtnl_link *link = NULL;
    struct nl_addr *addr;
    int rc;

    if (!sk)
        return -EIO;
    rc = get_link(sk, ifname, &link, em);
    if (rc == 0) {
        unsigned flags = rtnl_link_get_flags(link);

        memset(out, 0, sizeof(*out));
        out->ifindex = rtnl_link_get_ifindex(link);
        out->mtu = rtnl_link_get_mtu(link);
        out->up = (flags & IFF_UP) != 0;
        out->carrier = rtnl_link_get_carrier(link) != 0;
        addr = rtnl_link_get_addr(link);
        if (addr && nl_addr_get_len(addr) == 6)
            memcpy(out->mac.b, nl_addr_get_binary_addr(addr), 6);
        rtnl_link_put(link);
    }
    nl_close(sk);
    nl_socket_free(sk);
    return rc;
}

int vsw__hostif_set_up_promisc(const char *ifname, bool promisc,
                               struct vsa_errmsg *em)
{
    struct nl_sock *sk = nl_open(em);
    struct rtnl_link *link = NULL, *change = NULL;
    int rc;

    if (!sk)
        return -EIO;
    rc = get_link(sk, ifname, &link, em);
    if (rc < 0)
        goto out;
    change = rtnl_link_alloc();
    if (!change) {
        rc = vsa_errmsg_set(em, -ENOMEM, "netlink: out of memory");
        goto out;
    }
    rtnl_link_set_flags(change, IFF_UP | (promisc ? IFF_PROMISC : 0));
    rc = rtnl_link_change(sk, link, change, 0);
    if (rc < 0)
        rc = vsa_errmsg_set(em, -EIO, "cannot set '%s' up%s: %s", ifname,
                            promisc ? " and promiscuous" : "",
                            nl_geterror(rc));
out:
    if (change)
        rtnl_link_put(change);
    if (link)
        rtnl_link_put(link);
    nl_close(sk);
    nl_socket_free(sk);
    return rc;
}

/* A kernel NIC bound to a switch port carries the VMs' traffic, not the
 * host's: stop the host from sending IPv6 autoconfiguration and router
 * solicitations on it, which af_packet would otherwise take in as frames
 * from the wire (Hyper-V likewise unbinds the host's protocols from a NIC
 * given to an external switch).  IPv4 addresses the operator put there are
 * left alone.  Best effort. */
void vsw__hostif_isolate(const char *ifname)
{
    char path[128];
    FILE *f;

    if (strchr(ifname, '/') || strstr(ifname, ".."))
        return;
    snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6",
             ifname);
    f = fopen(path, "w");
    if (f) {
        fputs("1\n", f);
        fclose(f);
    }
}

/* Deletes every address on ifindex so the configured list is exact. */
static void flush_addrs(struct nl_sock *sk, int ifindex)
{
    struct nl_cache *cache = NULL;
    struct nl_object *obj;

    if (rtnl_addr_alloc_cache(sk, &cache) < 0)
        return;
    for (obj = nl_cache_get_first(cache); obj; obj = nl_cache_get_next(obj)) {
        struct rtnl_addr *a = (struct rtnl_addr *)obj;
        if (rtnl_addr_get_ifindex(a) == ifindex &&
            rtnl_addr_get_family(a) == AF_INET)
            rtnl_addr_delete(sk, a, 0);
        else if (rtnl_addr_get_ifindex(a) == ifindex &&
                 rtnl_addr_get_family(a) == AF_INET6 &&
                 rtnl_addr_get_scope(a) == 0 /* global */)
            rtnl_addr_delete(sk, a, 0);
    }
    nl_cache_free(cache);
}

int vsw__hostif_set_addrs(const char *ifname, const char *const *addrs,
                          uint32_t n, uint32_t mtu, struct vsa_errmsg *em)
{
    struct nl_sock *sk = nl_open(em);
    struct rtnl_link *link = NULL, *change = NULL;
    int rc, ifindex;

    if (!sk)
        return -EIO;
    rc = get_link(sk, ifname, &link, em);
    if (rc < 0)
        goto out;
    ifindex = rtnl_link_get_ifindex(link);
    change = rtnl_link_alloc();
    if (!change) {
        rc = vsa_errmsg_set(em, -ENOMEM, "netlink: out of memory");
        goto out;
    }
    rtnl_link_set_flags(change, IFF_UP);
    if (mtu)
        rtnl_link_set_mtu(change, mtu);
    rc = rtnl_link_change(sk, link, change, 0);
    if (rc < 0) {
        rc = vsa_errmsg_set(em, -EIO, "cannot set MTU %u on '%s': %s", mtu,
                            ifname, nl_geterror(rc));
        goto out;
    }
    flush_addrs(sk, ifindex);
    for (uint32_t i = 0; i < n; i++) {
        struct nl_addr *local = NULL;
        struct rtnl_addr *a;

        rc = nl_addr_parse(addrs[i], AF_UNSPEC, &local);
        if (rc < 0) {
            rc = vsa_errmsg_set(em, -EINVAL, "bad address '%s'", addrs[i]);
            goto out;
        }
        a = rtnl_addr_alloc();
        if (!a) {
            nl_addr_put(local);
            rc = vsa_errmsg_set(em, -ENOMEM, "netlink: out of memory");
            goto out;
        }
        rtnl_addr_set_ifindex(a, ifindex);
        rtnl_addr_set_local(a, local);
        rc = rtnl_addr_add(sk, a, NLM_F_REPLACE);
        rtnl_addr_put(a);
        nl_addr_put(local);
        if (rc < 0) {
            rc = vsa_errmsg_set(em, -EIO, "cannot add %s to '%s': %s",
                                addrs[i], ifname, nl_geterror(rc));
            goto out;
        }
    }
    rc = 0;
out:
    if (change)
        rtnl_link_put(change);
    if (link)
        rtnl_link_put(link);
    nl_close(sk);
    nl_socket_free(sk);
    return rc;
}
