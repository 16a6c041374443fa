/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * afp_fanout.c — IPv4 fragments cross net_af_packet ports as they came.
 *
 * DPDK 22.11's af_packet PMD joins every queue's socket to a fanout group
 * with PACKET_FANOUT_FLAG_DEFRAG, so the kernel reassembles IPv4 fragments
 * before the socket sees them: a datagram that a VM or a host on the wire
 * sent in pieces reached the switch as one frame longer than any port's
 * MTU (cut to the PMD's 2048-byte ring slot, then dropped as `oversize`),
 * and fragmented traffic — a ping of 3000 bytes, UDP datagrams over the
 * MTU — never got through a kernel-bound port.  A switch forwards
 * fragments as they are; reassembly is the receiving host's business.
 *
 * The PMD takes no argument for its fanout flags, so vesperd is linked
 * with -Wl,--wrap=setsockopt (tools/vesperd/meson.build, when DPDK is
 * linked statically: the PMD's calls are then vesperd's own) and this
 * wrapper clears that one flag from PACKET_FANOUT requests.  Every other
 * call goes to the C library unchanged.  The group's hash fanout and
 * rollover stay, so a port with several queue pairs still spreads flows
 * (the kernel hashes a fragment on its addresses only, so all the
 * fragments of a datagram go to one queue).  With shared DPDK libraries
 * (-Ddpdk_static=false) the PMD's calls do not come here and fragments
 * are reassembled as before (docs/datapath.md, "Frame size (MTU)").
 */
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/if_packet.h>

int __real_setsockopt(int fd, int level, int name, const void *val,
                      socklen_t len);
int __wrap_setsockopt(int fd, int level, int name, const void *val,
                      socklen_t len);

int __wrap_setsockopt(int fd, int level, int name, const void *val,
                      socklen_t len)
{
    if (level == SOL_PACKET && name == PACKET_FANOUT && val &&
        len == sizeof(int)) {
        uint32_t arg; /* id in the low 16 bits, type and flags above */

        memcpy(&arg, val, sizeof(arg));
        arg &= ~((uint32_t)PACKET_FANOUT_FLAG_DEFRAG << 16);
        return __real_setsockopt(fd, level, name, &arg, len);
    }
    return __real_setsockopt(fd, level, name, val, len);
}
