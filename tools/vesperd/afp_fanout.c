/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * afp_fanout.c — the fanout groups of DPDK's af_packet PMD, made vesperd's
 * own: IPv4 fragments cross as they came, and no other process's group is
 * ever joined or collided with.
 *
 * DPDK 22.11's af_packet PMD puts every queue socket of a device into a
 * fanout group (PACKET_FANOUT) whose id it derives from the process id:
 * (getpid() ^ ifindex) & 0xffff, with PACKET_FANOUT_FLAG_DEFRAG.  Both hurt
 * a switch:
 *
 *  - DEFRAG: the kernel reassembles IPv4 fragments before the socket sees
 *    them, so a datagram that a VM or a host on the wire sent in pieces
 *    reached the switch as one frame longer than any port's MTU (cut to
 *    the PMD's 2048-byte ring slot, then dropped as `oversize`), and
 *    fragmented traffic — a ping of 3000 bytes, UDP datagrams over the
 *    MTU — never got through a kernel-bound port.  A switch forwards
 *    fragments as they are; reassembly is the receiving host's business.
 *    The flag is cleared (the group's hash fanout and rollover stay, so a
 *    port with several queue pairs still spreads flows; the kernel hashes
 *    a fragment on its addresses only, so all the fragments of a datagram
 *    go to one queue).
 *
 *  - The id: fanout groups are per network namespace, and their ids are
 *    whatever each process asks for.  When another process (another DPDK
 *    application, a capture tool) already has a group with vesperd's
 *    derived id, the kernel either refuses the request (EINVAL: the group
 *    is on another device or of another kind), so binding the NIC failed
 *    with "could not set PACKET_FANOUT", or — same device, same kind —
 *    puts vesperd's socket into that process's group, and the kernel then
 *    hands each flow to one of the two: part of the NIC's traffic silently
 *    never reached the switch.  So the first socket of a device asks the
 *    kernel for a group of its own (PACKET_FANOUT_FLAG_UNIQUEID: the kernel
 *    picks an id no group has), and the device's other queue sockets join
 *    that group, found in `groups` by the PMD's id and the device.  An
 *    entry stays only as long as its first socket is still open and in that
 *    group (checked on use, by the socket's inode: the PMD closes its
 *    sockets when a started port stops, and the descriptor may be reused),
 *    so a device opened again gets a new group.  (A device that fails
 *    between probe and start keeps its sockets: the PMD closes them only
 *    in dev_stop; its entry stays live, and a port opened again on that
 *    NIC joins its group.  Only a failed configure or start leaves one.)
 *    A kernel that refuses
 *    UNIQUEID (EINVAL), or a table with no room for another live device,
 *    falls back to the PMD's own id.
 *
 * The PMD takes no argument for either, so vesperd is linked with
 * -Wl,--wrap=setsockopt (tools/vesperd/meson.build, when DPDK is linked
 * statically: the PMD's calls are then vesperd's own) and this wrapper
 * rewrites the PACKET_FANOUT requests.  Every other call goes to the C
 * library unchanged.  With shared DPDK libraries (-Ddpdk_static=false) the
 * PMD's calls do not come here and it behaves as DPDK wrote it
 * (docs/datapath.md, "Frame size (MTU)").
 *
 * Thread-safety: ports are opened from vesperd's control thread, but the
 * table is under a mutex all the same (a setsockopt call is not a fast
 * path).
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <linux/if_packet.h>

int __real_setsockopt(int fd, int level, int name, const void *val,
                      socklen_t len);
int __wrap_setsockopt(int fd, int level, int name, const void *val,
                      socklen_t len);

/* Devices whose queue sockets are in a group of vesperd's own at once:
 * far more than a switch has kernel-bound ports. */
#define FANOUT_GROUPS 256

struct fanout_group {
    bool used;
    int fd;          /* the group's first socket ... */
    ino_t ino;       /* ... which is this socket while its fd is not reused */
    int ifindex;     /* the device its sockets are bound to */
    uint16_t asked;  /* the id the PMD asked for */
    uint16_t id;     /* the id the kernel gave */
};

static pthread_mutex_t groups_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fanout_group groups[FANOUT_GROUPS];

/* The interface a packet socket is bound to, or 0. */
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

/* The fanout id of fd's group, or -1 if it is in none. */
static int fanout_id(int fd)
{
    uint32_t v = 0;
    socklen_t len = sizeof(v);

    if (getsockopt(fd, SOL_PACKET, PACKET_FANOUT, &v, &len) < 0 ||
        len != sizeof(v) || v == 0)
        return -1;
    return (int)(v & 0xffff);
}

/* The inode of socket fd (unique among open sockets), or 0. */
static ino_t socket_ino(int fd)
{
    struct stat st;

    if (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode))
        return 0;
    return st.st_ino;
}

/* Whether g still describes a live group: its first socket is still open
 * under its descriptor (not closed, the descriptor not reused by another
 * socket) and still in group g->id. */
static bool group_live(const struct fanout_group *g)
{
    return g->used && socket_ino(g->fd) == g->ino && fanout_id(g->fd) == g->id;
}

/* Puts fd into the fanout group for `asked` on its device: the live group
 * that an earlier queue socket of the device created, else a new one of
 * vesperd's own.  `mode` is the PMD's type and flags (bits 16..31 of its
 * request, DEFRAG already cleared). */
static int join_own_group(int fd, uint16_t asked, uint32_t mode)
{
    struct fanout_group *g, *slot = NULL;
    int ifindex = bound_ifindex(fd);
    uint32_t arg;
    int rc, id, saved;

    if (ifindex == 0 || (mode & ((uint32_t)PACKET_FANOUT_FLAG_UNIQUEID << 16)))
        return -2; /* not the PMD's request: pass it through */
    pthread_mutex_lock(&groups_lock);
    for (int i = 0; i < FANOUT_GROUPS; i++) {
        g = &groups[i];
        if (!group_live(g)) {
            g->used = false;
            if (!slot)
                slot = g;
            continue;
        }
        if (g->asked == asked && g->ifindex == ifindex) {
            arg = g->id | mode;
            rc = __real_setsockopt(fd, SOL_PACKET, PACKET_FANOUT, &arg,
                                   sizeof(arg));
            pthread_mutex_unlock(&groups_lock);
            return rc;
        }
    }
    if (!slot) {
        pthread_mutex_unlock(&groups_lock);
        return -2;
    }
    /* id 0 with UNIQUEID: the kernel picks an id no group in this
     * namespace has (the flag is not kept on the group, so the other
     * queue sockets join it with `mode` alone) */
    arg = mode | ((uint32_t)PACKET_FANOUT_FLAG_UNIQUEID << 16);
    rc = __real_setsockopt(fd, SOL_PACKET, PACKET_FANOUT, &arg, sizeof(arg));
    if (rc < 0) {
        saved = errno;
        pthread_mutex_unlock(&groups_lock);
        errno = saved;
        return saved == EINVAL ? -2 : rc; /* EINVAL: no UNIQUEID here */
    }
    id = fanout_id(fd);
    if (id >= 0)
        *slot = (struct fanout_group){ .used = true, .fd = fd,
                                       .ino = socket_ino(fd),
                                       .ifindex = ifindex,
                                       .asked = asked, .id = (uint16_t)id };
    pthread_mutex_unlock(&groups_lock);
    return 0;
}

int __wrap_setsockopt(int fd, int level, int name, const void *val,
                      socklen_t len)
{
    if (level == SOL_PACKET && name == PACKET_FANOUT && val &&
        len == sizeof(int)) {
        uint32_t arg; /* id in the low 16 bits, type and flags above */
        int rc;

        memcpy(&arg, val, sizeof(arg));
        arg &= ~((uint32_t)PACKET_FANOUT_FLAG_DEFRAG << 16);
        rc = join_own_group(fd, (uint16_t)arg, arg & 0xffff0000u);
        if (rc != -2)
            return rc;
        return __real_setsockopt(fd, level, name, &arg, len);
    }
    return __real_setsockopt(fd, level, name, val, len);
}
