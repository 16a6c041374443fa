/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nlmon.c — follows kernel link events (RTNLGRP_LINK) with libnl so that a
 * carrier loss on a kernel NIC behind a port is seen at once (vsw_tick()
 * polls as a fallback).  Control thread only.
 *
 * Only the messages of family AF_UNSPEC describe the interface itself.
 * RTNLGRP_LINK carries the bridge's too (AF_BRIDGE, the port's ifindex):
 * an RTM_NEWLINK when a NIC becomes a bridge port or its port state
 * changes, an RTM_DELLINK when it stops being one (`ip link set IF
 * nomaster`, the bridge deleted) though the NIC itself stays.  Taking that
 * RTM_DELLINK for the NIC's deletion left its port down for good; the
 * bridge's RTM_NEWLINK says nothing of the NIC's carrier that an AF_UNSPEC
 * message does not, so both are skipped.
 */
#include <net/if.h>
#include <string.h>
#include <sys/socket.h>

#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <linux/rtnetlink.h>

#ifndef IFF_LOWER_UP
#define IFF_LOWER_UP 0x10000 /* <linux/if.h>, which clashes with <net/if.h> */
#endif

#include "common/vsa_log.h"
#include "tools/vesperd/vesperd.h"

VSA_LOG_MODULE(vesperd_nlmon);

static struct nl_sock *sk;

struct nlmon_msg {
    struct vd *d;
    bool deleted;                  /* RTM_DELLINK */
};

static void link_cb(struct nl_object *obj, void *arg)
{
    struct nlmon_msg *m = arg;
    struct rtnl_link *link = (struct rtnl_link *)obj;
    unsigned flags = rtnl_link_get_flags(link);

    vsw_kernel_link_event(m->d->vsw, rtnl_link_get_ifindex(link),
                          rtnl_link_get_name(link),
                          (flags & IFF_UP) && (flags & IFF_LOWER_UP),
                          m->deleted);
}

static int msg_cb(struct nl_msg *msg, void *arg)
{
    struct nlmsghdr *h = nlmsg_hdr(msg);
    struct nlmon_msg m = {
        .d = arg, .deleted = h->nlmsg_type == RTM_DELLINK,
    };

    if ((h->nlmsg_type != RTM_NEWLINK && h->nlmsg_type != RTM_DELLINK) ||
        !nlmsg_valid_hdr(h, sizeof(struct ifinfomsg)) ||
        ((const struct ifinfomsg *)nlmsg_data(h))->ifi_family != AF_UNSPEC)
        return NL_SKIP; /* a bridge port's (AF_BRIDGE): see the top */
    if (nl_msg_parse(msg, link_cb, &m) < 0)
        return NL_SKIP;
    return NL_OK;
}

int vd_nlmon_open(struct vd *d)
{
    sk = nl_socket_alloc();
    if (!sk)
        return -1;
    nl_socket_disable_seq_check(sk);
    nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, msg_cb, d);
    if (nl_connect(sk, NETLINK_ROUTE) < 0 ||
        nl_socket_add_membership(sk, RTNLGRP_LINK) < 0 ||
        nl_socket_set_nonblocking(sk) < 0) {
        nl_socket_free(sk);
        sk = NULL;
        return -1;
    }
    return 0;
}

int vd_nlmon_fd(void)
{
    return sk ? nl_socket_get_fd(sk) : -1;
}

void vd_nlmon_event(struct vd *d)
{
    (void)d;
    if (sk)
        nl_recvmsgs_default(sk);
}

void vd_nlmon_close(void)
{
    if (sk)
        nl_socket_free(sk);
    sk = NULL;
}
