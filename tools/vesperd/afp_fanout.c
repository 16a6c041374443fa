/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * afp_fanout.c — keeps the sockets of DPDK's af_packet PMD out of packet
 * fanout groups, so that a kernel-bound port gets every frame of its NIC
 * as it came: IPv4 fragments unreassembled, no flow shared with another
 * process or with a socket nobody reads.
 *
 * DPDK 22.11's af_packet PMD puts every queue socket of a device into a
 * fanout group (PACKET_FANOUT) whose id it derives from the process id:
 * (getpid() ^ ifindex) & 0xffff, with PACKET_FANOUT_FLAG_DEFRAG.  All of
 * that hurts a switch:
 *
 *  - DEFRAG: the kernel reassembles IPv4 fragments before the socket sees
 *    them, so a datagram that a VM or a host on the wire sent in pieces
 *    reached the switch as one frame longer than any port's MTU (cut to
 *    the PMD's 2048-byte ring slot, then dropped as `oversize`), and
 *    fragmented traffic — a ping of 3000 bytes, UDP datagrams over the
 *    MTU — never got through a kernel-bound port.  A switch forwards
 *    fragments as they are; reassembly is the receiving host's business.
 *
 *  - The id: fanout groups are per network namespace, and their ids are
 *    whatever each process asks for.  When another process (another DPDK
 *    application, a capture tool) already had a group with vesperd's
 *    derived id, the kernel either refused the request (EINVAL: the group
 *    is on another device or of another kind), so binding the NIC failed
 *    with "could not set PACKET_FANOUT", or — same device, same kind —
 *    put vesperd's socket into that process's group and then handed each
 *    flow to one of the two: part of the NIC's traffic silently never
 *    reached the switch.
 *
 *  - The group itself: a fanout group splits the NIC's flows among its
 *    sockets, but vesperd reads one receive queue per port (vswitch's
 *    port_dpdk.c configures one; the configuration refuses qpairs above
 *    1).  A second queue socket would take flows nobody reads, and the
 *    sockets of a device that failed between probe and start (the PMD
 *    closes them only in dev_stop, which ethdev does not call on a device
 *    that never started) would share the group of a port opened again on
 *    that NIC.
 *
 * So the PMD's PACKET_FANOUT request is not made at all: a packet socket
 * in no group receives every frame of the device it is bound to, which is
 * what one receive queue per port needs, and there is no id to collide
 * with and no group to share.  (An earlier version asked the kernel for a
 * group of its own per device, PACKET_FANOUT_FLAG_UNIQUEID, and let the
 * device's other queue sockets join it; that kept the leftover-socket case
 * above.)  The request is recognised as the PMD's by its shape: SOL_PACKET
 * PACKET_FANOUT with an int of the PMD's kind (hash, defrag, rollover), on
 * a socket bound to one device.  Every other call goes to the C library
 * unchanged.
 *
 * The PMD takes no argument for any of this, so vesperd is linked with
 * -Wl,--wrap=setsockopt (tools/vesperd/meson.build, when DPDK is linked
 * statically: the PMD's calls are then vesperd's own).  With shared DPDK
 * libraries (-Ddpdk_static=false) the PMD's calls do not come here and it
 * behaves as DPDK wrote it (docs/datapath.md, "Frame size (MTU)").
 *
 * Thread-safety: no state; any thread may call it.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/if_packet.h>

int __real_setsockopt(int fd, int level, int name, const void *val,
                      socklen_t len);
int __wrap_setsockopt(int fd, int level, int name, const void *val,
                      socklen_t len);

/* The interface a packet socket is bound to, or 0 (not a packet socket,
 * or one that takes frames of every device). */
static int bound_ifindex(int fd)
{
    struct sockaddr_ll sll;
    socklen_t len = sizeof(sll);

    memset(&sll, 0, sizeof(sll));
    if (getsockname(fd, (struct sockaddr *)&sll, &len) < 0 ||
        sll.sll_family != AF_PACKET)
        return 0;
    return sll.sll_ifindex;
}

/* The type and flags DPDK 22.11's af_packet PMD asks for (bits 16..31 of
 * its PACKET_FANOUT argument; rte_pmd_init_internals). */
#define PMD_FANOUT_MODE                                                       \
    ((uint32_t)(PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_DEFRAG |              \
                PACKET_FANOUT_FLAG_ROLLOVER))

/* Whether setsockopt(fd, level, name, val, len) is the af_packet PMD
 * putting a queue socket into its fanout group: its kind exactly, on a
 * socket bound to one device. */
static bool is_pmd_fanout_request(int fd, int level, int name,
                                  const void *val, socklen_t len)
{
    uint32_t arg; /* id in the low 16 bits, type and flags above */

    if (level != SOL_PACKET || name != PACKET_FANOUT || val == NULL ||
        len != sizeof(int))
        return false;
    memcpy(&arg, val, sizeof(arg));
    if (arg >> 16 != PMD_FANOUT_MODE)
        return false; /* another kind: not the PMD's request */
    return bound_ifindex(fd) != 0;
}

int __wrap_setsockopt(int fd, int level, int name, const void *val,
                      socklen_t len)
{
    if (is_pmd_fanout_request(fd, level, name, val, len))
        return 0; /* no group: the socket keeps every frame of its NIC */
    return __real_setsockopt(fd, level, name, val, len);
}
