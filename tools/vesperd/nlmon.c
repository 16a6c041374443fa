/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nlmon.c — follows kernel link events (RTNLGRP_LINK) with libnl so that a
 * carrier loss on a kernel NIC behind a port, or a change of its MTU, is
 * seen at once (vsw_tick() polls as a fallback).  Control thread only.
 *
 * Only the messages of family AF_UNSPEC describe the interface itself.
 * RTNLGRP_LINK carries the bridge's too (AF_BRIDGE, the port's ifindex):
 * an RTM_NEWLINK when a NIC becomes a bridge port or its port state
 * changes, an RTM_DELLINK when it stops being one (`ip link set IF
 * nomaster`, the bridge deleted) though the NIC itself stays.  Taking that
 * RTM_DELLINK for the NIC's deletion left its port down for good; the
 * bridge's RTM_NEWLINK says nothing of the NIC's carrier that an AF_UNSPEC
 * message does not, so both are skipped.
 *
 * Events can be lost: the kernel drops what does not fit the socket's
 * receive buffer and says so once (ENOBUFS, libnl's -NLE_NOMEM).  The
 * buffer is large (NLMON_RCVBUF) so that bursts fit; when it overflows all
 * the same, what is still queued is read, then vsw_kernel_resync() looks
 * up every kernel NIC port again and forgets what they learned (a
 * down-and-up among the lost events cannot be told from nothing), and the
 * loss is counted and logged (rate-limited).
 */
#include <inttypes.h>
#include <net/if.h>
#include <stdint.h>
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

/* The receive buffer asked for: libnl's 32 KiB holds a few dozen link
 * messages (one is 1-2 KiB, its buffer up to twice that), which a burst
 * (interfaces made by the hundred, a NIC flapping fast) overflowed.  As
 * root (CAP_NET_ADMIN) SO_RCVBUFFORCE gets it whole; otherwise
 * net.core.rmem_max caps it.  Memory is used only while events queue. */
#define NLMON_RCVBUF (4 << 20)

/* Reads after an overflow before the resync: the queue holds at most
 * NLMON_RCVBUF of messages, far fewer than this. */
#define NLMON_DRAIN_MAX 65536

static struct nl_sock *sk;
static uint64_t n_overflows;       /* receive buffer overflows */
static struct vsa_ratelimit lost_rl = VSA_RATELIMIT_INIT(5, 60);
static struct vsa_ratelimit err_rl = VSA_RATELIMIT_INIT(5, 60);

struct nlmon_msg {
    struct vd *d;
    bool deleted;                  /* RTM_DELLINK */
};

static void link_cb(struct nl_object *obj, void *arg)
{
    struct nlmon_msg *m = arg;
    struct rtnl_link *link = (struct rtnl_link *)obj;
    unsigned flags = rtnl_link_get_flags(link);

    /* IFLA_MTU is in every RTM_NEWLINK: a port follows its NIC's MTU */
    vsw_kernel_link_event(m->d->vsw, rtnl_link_get_ifindex(link),
                          rtnl_link_get_name(link), rtnl_link_get_mtu(link),
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

static void set_rcvbuf(void)
{
    int size = NLMON_RCVBUF, got = 0;
    socklen_t len = sizeof(got);

    if (setsockopt(nl_socket_get_fd(sk), SOL_SOCKET, SO_RCVBUFFORCE, &size,
                   sizeof(size)) < 0 &&
        nl_socket_set_buffer_size(sk, size, 0) < 0)
        VSA_LOG(WARN, "netlink link events: cannot enlarge the receive "
                "buffer; a burst of events may overflow it (then every "
                "kernel NIC port is looked up again)");
    if (getsockopt(nl_socket_get_fd(sk), SOL_SOCKET, SO_RCVBUF, &got,
                   &len) == 0)
        VSA_LOG(DEBUG, "netlink link events: receive buffer %d bytes", got);
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
    set_rcvbuf();
    return 0;
}

int vd_nlmon_fd(void)
{
    return sk ? nl_socket_get_fd(sk) : -1;
}

void vd_nlmon_event(struct vd *d)
{
    int rc;

    if (!sk)
        return;
    rc = nl_recvmsgs_default(sk);
    if (rc == -NLE_NOMEM) {
        /* the queue before the loss first, so that its (older) events
         * cannot undo what the lookups find */
        for (unsigned i = 0; i < NLMON_DRAIN_MAX; i++) {
            rc = nl_recvmsgs_default(sk);
            if (rc < 0 && rc != -NLE_NOMEM)
                break;
        }
        n_overflows++;
        VSA_LOG_RL(&lost_rl, WARN, "netlink link events lost (receive "
                   "buffer full; %" PRIu64 " time%s so far): looking up "
                   "every kernel NIC port again and forgetting the MACs "
                   "they learned", n_overflows, n_overflows == 1 ? "" : "s");
        vsw_kernel_resync(d->vsw);
    } else if (rc < 0 && rc != -NLE_AGAIN) {
        VSA_LOG_RL(&err_rl, WARN, "netlink link events: %s",
                   nl_geterror(rc));
    }
}

uint64_t vd_nlmon_overflows(void)
{
    return n_overflows;
}

void vd_nlmon_close(void)
{
    if (sk)
        nl_socket_free(sk);
    sk = NULL;
}
