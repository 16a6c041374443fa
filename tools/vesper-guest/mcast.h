/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * mcast.h — what receive filter the guest's interface asks for (prefix
 * vg_mcast_): its link-layer multicast groups and its IFF_PROMISC /
 * IFF_ALLMULTI flags, read from the kernel so the legacy NIC's setup frame
 * (tulip_drv.h) can follow them.
 *
 * How changes are detected: by polling, every VG_MCAST_POLL_MS (200 ms),
 * from the agent's loop.  Netlink was considered and rejected: the kernel
 * announces flag changes (RTM_NEWLINK on RTNLGRP_LINK) but not changes of a
 * device's link-layer multicast list — groups joined through SIOCADDMULTI,
 * PACKET_ADD_MEMBERSHIP or `ip maddr add` send no notification, and the
 * IP-level RTNLGRP_IPV[46]_MCADDR groups only exist on recent kernels and
 * still miss those — so a poll would be needed anyway, and one mechanism is
 * simpler than two.  A poll is one read of /proc/net/dev_mcast (a few lines
 * per interface, in the agent's namespace) and one SIOCGIFFLAGS; the setup
 * frame is only rebuilt and sent when the result differs.
 *
 * /proc/net/dev_mcast lines: "ifindex name users global_users hexaddr",
 * e.g. "4    eth0    1     0     01005e000001".
 *
 * Thread-safety: none needed (no state).
 */
#ifndef VG_MCAST_H
#define VG_MCAST_H

#include <stdbool.h>
#include <stddef.h>

#include "tools/vesper-guest/tulip_drv.h"

#define VG_MCAST_POLL_MS 200u
#define VG_MCAST_PROC "/proc/net/dev_mcast"

/* Fills `out` from the text of /proc/net/dev_mcast for interface `ifname`
 * (flags untouched).  Malformed lines and non-Ethernet addresses are
 * skipped; duplicates kept once; more than VG_TULIP_MC_MAX groups only
 * counted (nmc then exceeds the array: all-multicast).  Returns the
 * number of groups. */
unsigned vg_mcast_parse(const char *text, const char *ifname,
                        struct vg_tulip_rx_mode *out);

/* Reads the multicast list (VG_MCAST_PROC) and the flags (SIOCGIFFLAGS)
 * of `ifname` in the calling thread's namespace.  0 or -errno (-ENODEV:
 * the interface is not in this namespace). */
int vg_mcast_read(const char *ifname, struct vg_tulip_rx_mode *out);

#endif /* VG_MCAST_H */
