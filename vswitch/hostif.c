/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hostif.c — host integration through libnl (route): look up a kernel NIC
 * (exists, MAC, MTU, carrier), set it up and promiscuous, keep the host off
 * it (IPv6 off), turn off its receive offloads that merge frames (GRO,
 * LRO, hardware GRO: the ethtool ioctl, SIOCETHTOOL, since libnl-route
 * has no ethtool), on it and on the devices under it that receive its
 * frames (a VLAN's link, a bond's slaves: found through netlink), record
 * beforehand what all that changes and put it back when the NIC is let go
 * of (vsw__hostif_save / vsw__hostif_restore),
 * and configure a host vNIC's addresses and MTU.  Control thread only;
 * every call opens and closes its own netlink (or ioctl) socket (these are
 * rare operator actions).  Link events are followed by tools/vesperd's
 * netlink monitor, which calls vsw_kernel_link_event().
 *
 * Out of memory: libnl's allocations (socket, objects, caches, parsed
 * addresses) and its requests (which allocate their messages) are
 * injection points of the allocation hook (common/vsa_alloc.h); libnl's
 * -NLE_NOMEM comes back as -ENOMEM.  Not those of vsw__hostif_restore: it
 * runs where nothing may fail any more (a port's close, the unwinding of a
 * failed open), and a restore skipped would leave the NIC changed; if
 * libnl really runs out of memory there, that is logged.  An address and
 * MTU change is made in two steps: vsw__hostif_addrs_prepare() makes every
 * allocation of its own (socket, objects, the list of the old addresses)
 * and changes nothing; vsw__hostif_addrs_apply() only sends the requests.
 * If one fails (the kernel's refusal, or libnl out of memory building a
 * message), the apply undoes the ones before it (vsw__hostif_addrs_revert),
 * as the caller does after a later failure of its own: the interface then
 * has its old addresses and MTU again, unless the kernel refuses those
 * too (logged).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/ethtool.h>
#include <linux/sockios.h>

#include <netlink/addr.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>

#include "common/vsa_alloc.h"
#include "common/vsa_log.h"
#include "vswitch/vsw_private.h"

VSA_LOG_MODULE(vswitch_hostif);

/* Restore failures: a NIC coming and going could repeat them. */
static struct vsa_ratelimit restore_rl = VSA_RATELIMIT_INIT(5, 60);
/* what isolate cannot change (conf/all) */
static struct vsa_ratelimit isolate_rl = VSA_RATELIMIT_INIT(5, 60);
/* an undone host vNIC change: not lost among the NICs' restore lines */
static struct vsa_ratelimit revert_rl = VSA_RATELIMIT_INIT(10, 60);
/* Offloads that stay on at a binding: a port opened again and again
 * could repeat them. */
static struct vsa_ratelimit offload_rl = VSA_RATELIMIT_INIT(5, 60);

/* A libnl call returning 0 or -NLE_*, or -NLE_NOMEM without calling it if
 * the allocation hook fails this point. */
#define NL_INJECT(what, call) (vsa_alloc_fail(what) ? -NLE_NOMEM : (call))

/* A request (libnl: 0 or -NLE_*); an injection point only if `inject`. */
#define NL_REQUEST(inject, what, call) \
    ((inject) ? NL_INJECT(what, call) : (call))

/* -ENOMEM for libnl's out-of-memory, `other` for anything else. */
static int nl_errno(int nlrc, int other)
{
    return nlrc == -NLE_NOMEM ? -ENOMEM : other;
}

/* A connected netlink socket; its allocation is an injection point only
 * if `inject`. */
static struct nl_sock *nl_open_opt(bool inject, int *rc,
                                   struct vsa_errmsg *em)
{
    struct nl_sock *sk = inject && vsa_alloc_fail("nl_socket_alloc")
                             ? NULL
                             : nl_socket_alloc();

    if (!sk) {
        *rc = vsa_errmsg_set(em, -ENOMEM, "netlink: out of memory");
        return NULL;
    }
    if (nl_connect(sk, NETLINK_ROUTE) < 0) {
        nl_socket_free(sk);
        *rc = vsa_errmsg_set(em, -EIO, "netlink: cannot connect");
        return NULL;
    }
    return sk;
}

static struct nl_sock *nl_open(int *rc, struct vsa_errmsg *em)
{
    return nl_open_opt(true, rc, em);
}

static void nl_done(struct nl_sock *sk)
{
    nl_close(sk);
    nl_socket_free(sk);
}

/* The link of ifname, or of ifindex when ifname is NULL. */
static int get_link_by(struct nl_sock *sk, int ifindex, const char *ifname,
                       struct rtnl_link **out, struct vsa_errmsg *em)
{
    int rc = NL_INJECT("rtnl_link_get_kernel",
                       rtnl_link_get_kernel(sk, ifname ? 0 : ifindex, ifname,
                                            out));

    if (rc == -NLE_NOMEM)
        return vsa_errmsg_set(em, -ENOMEM, "netlink: out of memory");
    /* only "no such interface" is -ENODEV: the carrier poll takes that
     * for a NIC gone for good */
    if (rc < 0 && rc != -NLE_OBJ_NOTFOUND && rc != -NLE_NODEV && ifname)
        return vsa_errmsg_set(em, -EIO, "netlink: looking up '%s': %s",
                              ifname, nl_geterror(rc));
    if (rc < 0 && rc != -NLE_OBJ_NOTFOUND && rc != -NLE_NODEV)
        return vsa_errmsg_set(em, -EIO, "netlink: looking up interface %d: "
                              "%s", ifindex, nl_geterror(rc));
    if (rc < 0 && ifname)
        return vsa_errmsg_set(em, -ENODEV,
                              "interface '%s' does not exist", ifname);
    if (rc < 0)
        return vsa_errmsg_set(em, -ENODEV,
                              "interface %d does not exist", ifindex);
    return 0;
}

static int get_link(struct nl_sock *sk, const char *ifname,
                    struct rtnl_link **out, struct vsa_errmsg *em)
{
    return get_link_by(sk, 0, ifname, out, em);
}

static struct rtnl_link *link_alloc(struct vsa_errmsg *em)
{
    struct rtnl_link *l =
        vsa_alloc_fail("rtnl_link_alloc") ? NULL : rtnl_link_alloc();

    if (!l)
        vsa_errmsg_set(em, -ENOMEM, "netlink: out of memory");
    return l;
}

static int lookup(int ifindex, const char *ifname,
                  struct vsw_hostif_info *out, struct vsa_errmsg *em)
{
    struct rtnl_link *link = NULL;
    struct nl_addr *addr;
    struct nl_sock *sk;
    int rc;

    sk = nl_open(&rc, em);
    if (!sk)
        return rc;
    rc = get_link_by(sk, ifindex, ifname, &link, em);
    if (rc == 0) {
        unsigned flags = rtnl_link_get_flags(link);
        const char *name = rtnl_link_get_name(link);

        memset(out, 0, sizeof(*out));
        snprintf(out->name, sizeof(out->name), "%s", name ? name : "");
        out->ifindex = rtnl_link_get_ifindex(link);
        out->mtu = rtnl_link_get_mtu(link);
        out->up = (flags & IFF_UP) != 0;
        out->carrier = rtnl_link_get_carrier(link) != 0;
        addr = rtnl_link_get_addr(link);
        if (addr && nl_addr_get_len(addr) == 6)
            memcpy(out->mac.b, nl_addr_get_binary_addr(addr), 6);
        rtnl_link_put(link);
    }
    nl_done(sk);
    return rc;
}

int vsw__hostif_lookup(const char *ifname, struct vsw_hostif_info *out,
                       struct vsa_errmsg *em)
{
    return lookup(0, ifname, out, em);
}

int vsw__hostif_lookup_index(int ifindex, struct vsw_hostif_info *out,
                             struct vsa_errmsg *em)
{
    if (ifindex <= 0)
        return vsa_errmsg_set(em, -ENODEV, "no interface index");
    return lookup(ifindex, NULL, out, em);
}

int vsw__hostif_set_up_promisc(const char *ifname, bool promisc,
                               struct vsa_errmsg *em)
{
    struct rtnl_link *link = NULL, *change = NULL;
    struct nl_sock *sk;
    int rc;

    sk = nl_open(&rc, em);
    if (!sk)
        return rc;
    rc = get_link(sk, ifname, &link, em);
    if (rc < 0)
        goto out;
    change = link_alloc(em);
    if (!change) {
        rc = -ENOMEM;
        goto out;
    }
    rtnl_link_set_flags(change, IFF_UP | (promisc ? IFF_PROMISC : 0));
    rc = NL_INJECT("rtnl_link_change",
                   rtnl_link_change(sk, link, change, 0));
    if (rc < 0)
        rc = vsa_errmsg_set(em, nl_errno(rc, -EIO), "cannot set '%s' up%s: "
                            "%s", ifname, promisc ? " and promiscuous" : "",
                            nl_geterror(rc));
out:
    if (change)
        rtnl_link_put(change);
    if (link)
        rtnl_link_put(link);
    nl_done(sk);
    return rc;
}

/* The path of ifname's net.<proto>.conf.<ifname>.<key> sysctl in buf;
 * false for a name that is no single path component. */
static bool conf_path(const char *proto, const char *ifname, const char *key,
                      char *buf, size_t size)
{
    if (!ifname[0] || strchr(ifname, '/') || strstr(ifname, ".."))
        return false;
    snprintf(buf, size, "/proc/sys/net/%s/conf/%s/%s", proto, ifname, key);
    return true;
}

/* Writes `value` to the sysctl at path: 0 or -errno. */
static int write_int_file(const char *path, int value)
{
    char buf[16];
    int fd, n, rc = 0;

    fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    n = snprintf(buf, sizeof(buf), "%d\n", value);
    if (write(fd, buf, (size_t)n) != n)
        rc = -errno;
    close(fd);
    return rc;
}

/* ifname's net.<proto>.conf.<ifname>.<key>, -1 if there is none (a
 * kernel without IPv6, an interface gone).  open/read: allocates
 * nothing. */
static int read_conf_int(const char *proto, const char *ifname,
                         const char *key)
{
    char path[128], buf[16];
    ssize_t n;
    int fd;

    if (!conf_path(proto, ifname, key, path, sizeof(path)))
        return -1;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    return atoi(buf);
}

/* Writes `value` to ifname's net.<proto>.conf.<ifname>.<key>: 0 or
 * -errno. */
static int write_conf_int(const char *proto, const char *ifname,
                          const char *key, int value)
{
    char path[128];

    if (!conf_path(proto, ifname, key, path, sizeof(path)))
        return -EINVAL;
    return write_int_file(path, value);
}

/* ifname's disable_ipv6 (0 or 1), -1 if there is none. */
static int read_disable_ipv6(const char *ifname)
{
    return read_conf_int("ipv6", ifname, "disable_ipv6");
}

static int write_disable_ipv6(const char *ifname, int value)
{
    return write_conf_int("ipv6", ifname, "disable_ipv6", value);
}

/* A kernel NIC bound to a switch port carries the VMs' traffic, not the
 * host's (Hyper-V likewise unbinds the host's protocols from a NIC given
 * to an external switch).  af_packet takes the NIC's frames in beside the
 * host's own stack, which would otherwise talk on it:
 *  - IPv6: autoconfiguration and router solicitations, which af_packet
 *    would take in as frames from the wire: disable_ipv6 = 1 (which also
 *    drops the IPv6 addresses it had);
 *  - ARP: with arp_ignore 0 (the default) the host answers a request that
 *    arrives on the NIC for any of its addresses, those of its host vNICs
 *    too, with the NIC's own MAC.  The asker then reaches those addresses
 *    through the NIC, past the switch (its VLANs, its MTU, quarantine):
 *    arp_ignore = 1 answers only for the NIC's own addresses.  2 and 8
 *    are stricter and stay; 3 (any interface's global address), 4-7 and
 *    9 and above (answered as 0) are not;
 *  - IPv4 sent to the NIC's MAC for another interface's address: with
 *    rp_filter 0, or 2 (loose: systemd's default), the host takes it in if
 *    the NIC has addresses; rp_filter = 1 takes in only what the host
 *    would route back through the NIC, which on a NIC without addresses
 *    and routes is nothing.
 * The kernel uses the larger of conf/all and conf/<ifname>: an
 * all.arp_ignore that overrides 1 is a WARN (rate-limited), naming the
 * sysctl; an all.rp_filter of 2 makes it loose, which still drops all on a
 * NIC without addresses.  IPv4 addresses the operator put on the NIC are
 * left alone and still answered.  Best effort.  vsw__hostif_save()
 * records the values before (and the IPv6 addresses set by hand),
 * vsw__hostif_restore() puts them back and adds those addresses again
 * (the kernel autoconfigures the rest). */
void vsw__hostif_isolate(const char *ifname)
{
    int v, all;

    (void)write_disable_ipv6(ifname, 1);
    v = read_conf_int("ipv4", ifname, "arp_ignore");
    if (v != 1 && v != 2 && v != 8)
        (void)write_conf_int("ipv4", ifname, "arp_ignore", 1);
    if (read_conf_int("ipv4", ifname, "rp_filter") != 1)
        (void)write_conf_int("ipv4", ifname, "rp_filter", 1);
    all = read_conf_int("ipv4", "all", "arp_ignore");
    if (all > 1 && all != 2 && all != 8)
        VSA_LOG_RL(&isolate_rl, WARN, "net.ipv4.conf.all.arp_ignore is %d, "
                   "which overrides %s's 1: the host answers ARP on %s for "
                   "addresses of its other interfaces (set it to 0, 1, 2 or "
                   "8)", all, ifname, ifname);
}

/* ---- receive queues (SIOCETHTOOL, netlink) ------------------------------- */

int vsw__hostif_rx_queues(const char *ifname, bool *from_channels)
{
    struct ethtool_channels ch = { .cmd = ETHTOOL_GCHANNELS };
    struct rtnl_link *link = NULL;
    struct vsa_errmsg ignore;
    struct nl_sock *sk;
    struct ifreq ifr;
    int fd, rc, n;

    *from_channels = false;
    fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
    ifr.ifr_data = (void *)&ch;
    rc = ioctl(fd, SIOCETHTOOL, &ifr);
    close(fd);
    /* a queue is a receive-only channel or a combined one */
    *from_channels = rc == 0 && ch.rx_count + ch.combined_count > 0;
    if (*from_channels)
        return (int)(ch.rx_count + ch.combined_count);
    /* no channels from the driver (a macvlan, a bridge): the queues the
     * device was made with, IFLA_NUM_RX_QUEUES (not sysfs, which shows the
     * devices of the namespace it was mounted in) */
    sk = nl_open(&rc, &ignore);
    if (!sk)
        return rc;
    rc = get_link(sk, ifname, &link, &ignore);
    if (rc == 0) {
        n = (int)rtnl_link_get_num_rx_queues(link);
        rc = n > 0 ? n : -ENOENT;
        rtnl_link_put(link);
    }
    nl_done(sk);
    return rc;
}

/* ---- receive offloads that merge frames (SIOCETHTOOL) ---------------------
 *
 * AF_PACKET sockets, which the af_packet PMD reads, see a frame after GRO:
 * with GRO on (the kernel's default on a physical NIC), or LRO or hardware
 * GRO, a NIC hands the PMD TCP segments merged into frames of up to
 * 64 KiB, which its ring slot (about 2 KB) cuts short; forwarded so, TCP
 * into the VMs collapses.  (af_xdp in copy mode sees them too.)  Binding a
 * kernel NIC turns them off, and its release turns back on those that were
 * on.  With NETIF_F_GRO off the kernel does no software GRO at all
 * (netif_elide_gro: fraglist GRO, rx-gro-list, and UDP forwarding GRO,
 * rx-udp-gro-forwarding, are kinds of it), so those two are left as they
 * are; LRO and hardware GRO are done by the NIC and are separate features.
 *
 * The features are found by name (ETHTOOL_GSSET_INFO and ETHTOOL_GSTRINGS
 * of ETH_SS_FEATURES), read with ETHTOOL_GFEATURES and changed with
 * ETHTOOL_SFEATURES, the interface ethtool -k / -K uses when netlink is
 * not there.  No allocation: buffers on the stack (restore may not fail). */

static const char *const offload_names[VSW_HOSTIF_N_OFFLOADS] = {
    "rx-gro", "rx-lro", "rx-gro-hw",
};
/* How log lines call them (ethtool -k: generic-receive-offload,
 * large-receive-offload, rx-gro-hw). */
static const char *const offload_labels[VSW_HOSTIF_N_OFFLOADS] = {
    "GRO", "LRO", "hardware GRO",
};

const char *vsw__hostif_offload_name(unsigned i)
{
    return i < VSW_HOSTIF_N_OFFLOADS ? offload_names[i] : NULL;
}

/* Feature names read at most: the kernel has fewer than 64
 * (netdev_features_t is 64 bits wide). */
#define FEATURES_MAX 128u
#define FEATURE_WORDS ((FEATURES_MAX + 31u) / 32u)

/* The features of one NIC. */
struct nic_features {
    int fd;                        /* any socket: SIOCETHTOOL */
    char ifname[IF_NAMESIZE];
    uint32_t words;                /* the kernel's feature words */
    int bit[VSW_HOSTIF_N_OFFLOADS]; /* feature index, -1: absent */
    struct ethtool_get_features_block blocks[FEATURE_WORDS];
};

/* SIOCETHTOOL on f->ifname: its non-negative result, or -errno. */
static int ethtool_req(const struct nic_features *f, void *data)
{
    struct ifreq ifr;
    int rc;

    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", f->ifname);
    ifr.ifr_data = data;
    rc = ioctl(f->fd, SIOCETHTOOL, &ifr);
    return rc < 0 ? -errno : rc;
}

/* f->blocks now (ETHTOOL_GFEATURES): 0 or -errno. */
static int features_get(struct nic_features *f)
{
    union {
        struct ethtool_gfeatures g;
        uint8_t buf[sizeof(struct ethtool_gfeatures) +
                    FEATURE_WORDS * sizeof(struct ethtool_get_features_block)];
    } u;
    int rc;

    memset(&u, 0, sizeof(u));
    u.g.cmd = ETHTOOL_GFEATURES;
    u.g.size = FEATURE_WORDS;
    rc = ethtool_req(f, &u);
    if (rc < 0)
        return rc;
    /* the kernel says how many words it has (SFEATURES wants exactly
     * that many) and copies at most FEATURE_WORDS */
    if (u.g.size == 0 || u.g.size > FEATURE_WORDS)
        return -EOPNOTSUPP;
    f->words = u.g.size;
    memcpy(f->blocks, u.g.features, f->words * sizeof(f->blocks[0]));
    return 0;
}

enum feature_field { AVAILABLE, ACTIVE, NEVER_CHANGED };

/* One bit of offload i's feature; false if the NIC has no such feature. */
static bool feature(const struct nic_features *f, unsigned i,
                    enum feature_field which)
{
    const struct ethtool_get_features_block *blk;
    int b = f->bit[i];
    uint32_t word;

    if (b < 0 || (uint32_t)b / 32 >= f->words)
        return false;
    blk = &f->blocks[b / 32];
    word = which == AVAILABLE ? blk->available
           : which == ACTIVE  ? blk->active
                              : blk->never_changed;
    return (word >> (b % 32)) & 1u;
}

/* Offload i is there and the NIC lets it be changed (ethtool -k does not
 * call it [fixed]). */
static bool offload_changeable(const struct nic_features *f, unsigned i)
{
    return feature(f, i, AVAILABLE) && !feature(f, i, NEVER_CHANGED);
}

/* The mask (VSW_HOSTIF_GRO...) of the offloads active now. */
static unsigned offloads_active(const struct nic_features *f)
{
    unsigned m = 0;

    for (unsigned i = 0; i < VSW_HOSTIF_N_OFFLOADS; i++)
        if (feature(f, i, ACTIVE))
            m |= 1u << i;
    return m;
}

/* Opens a socket for ifname, finds the offloads' bits by name and reads
 * the features: 0 or -errno (f->fd closed then).  Allocates nothing. */
static int features_open(struct nic_features *f, const char *ifname)
{
    union {
        struct ethtool_sset_info s;
        uint8_t buf[sizeof(struct ethtool_sset_info) + sizeof(uint32_t)];
    } info;
    union {
        struct ethtool_gstrings g;
        uint8_t buf[sizeof(struct ethtool_gstrings) +
                    FEATURES_MAX * ETH_GSTRING_LEN];
    } names;
    uint32_t n;
    int rc;

    memset(f, 0, sizeof(*f));
    for (unsigned i = 0; i < VSW_HOSTIF_N_OFFLOADS; i++)
        f->bit[i] = -1;
    if (strlen(ifname) >= sizeof(f->ifname))
        return -ENODEV;
    snprintf(f->ifname, sizeof(f->ifname), "%s", ifname);
    f->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (f->fd < 0) /* a kernel without IPv4: any socket will do */
        f->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (f->fd < 0)
        return -errno;

    memset(&info, 0, sizeof(info));
    info.s.cmd = ETHTOOL_GSSET_INFO;
    info.s.sset_mask = 1ull << ETH_SS_FEATURES;
    rc = ethtool_req(f, &info);
    if (rc >= 0 && !(info.s.sset_mask & (1ull << ETH_SS_FEATURES)))
        rc = -EOPNOTSUPP;
    n = rc >= 0 ? info.s.data[0] : 0;
    /* GSTRINGS copies all of them, whatever length is asked for */
    if (rc >= 0 && n > FEATURES_MAX)
        rc = -E2BIG;
    if (rc >= 0) {
        memset(&names, 0, sizeof(names));
        names.g.cmd = ETHTOOL_GSTRINGS;
        names.g.string_set = ETH_SS_FEATURES;
        names.g.len = n;
        rc = ethtool_req(f, &names);
    }
    if (rc >= 0) {
        n = names.g.len < n ? names.g.len : n;
        for (uint32_t b = 0; b < n; b++) {
            const char *name = (const char *)names.g.data +
                               (size_t)b * ETH_GSTRING_LEN;

            for (unsigned i = 0; i < VSW_HOSTIF_N_OFFLOADS; i++)
                if (strncmp(name, offload_names[i], ETH_GSTRING_LEN) == 0)
                    f->bit[i] = (int)b;
        }
        rc = features_get(f);
    }
    if (rc < 0) {
        close(f->fd);
        f->fd = -1;
    }
    return rc < 0 ? rc : 0;
}

static void features_close(struct nic_features *f)
{
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
}

/* Asks for the offloads in `mask` on (on) or off, only those the NIC lets
 * be changed, and reads the features again: 0 or -errno.  Which of them
 * took is for the caller to read in f. */
static int offloads_set(struct nic_features *f, unsigned mask, bool on)
{
    union {
        struct ethtool_sfeatures s;
        uint8_t buf[sizeof(struct ethtool_sfeatures) +
                    FEATURE_WORDS * sizeof(struct ethtool_set_features_block)];
    } u;
    int rc;

    memset(&u, 0, sizeof(u));
    u.s.cmd = ETHTOOL_SFEATURES;
    u.s.size = f->words;
    for (unsigned i = 0; i < VSW_HOSTIF_N_OFFLOADS; i++) {
        if (!(mask & (1u << i)) || !offload_changeable(f, i))
            continue;
        u.s.features[f->bit[i] / 32].valid |= 1u << (f->bit[i] % 32);
        if (on)
            u.s.features[f->bit[i] / 32].requested |= 1u << (f->bit[i] % 32);
    }
    /* the kernel changes them all at once (ETHTOOL_F_WISH: one did not
     * take, which the read below shows) */
    rc = ethtool_req(f, &u);
    if (rc >= 0)
        rc = features_get(f);
    return rc < 0 ? rc : 0;
}

/* "GRO, LRO" of the offloads in mask, in buf. */
static const char *offload_list(unsigned mask, char *buf, size_t size)
{
    size_t len = 0;

    buf[0] = '\0';
    for (unsigned i = 0; i < VSW_HOSTIF_N_OFFLOADS && len < size; i++)
        if (mask & (1u << i))
            len += (size_t)snprintf(buf + len, size - len, "%s%s",
                                    len ? ", " : "", offload_labels[i]);
    return buf;
}

int vsw__hostif_offloads_get(const char *ifname)
{
    struct nic_features f;
    int rc = features_open(&f, ifname);

    if (rc < 0)
        return rc;
    rc = (int)offloads_active(&f);
    features_close(&f);
    return rc;
}

/* Turns off on ifname the offloads that are on and that it lets be
 * changed (ETHTOOL_SFEATURES).  0, or -errno if they cannot be read or
 * changed; *was: those on before, *fixed: those on and fixed by the
 * driver, *stays: those asked off that are still on. */
static int offloads_turn_off(const char *ifname, unsigned *was,
                             unsigned *fixed, unsigned *stays)
{
    struct nic_features f;
    unsigned want = 0;
    int rc = features_open(&f, ifname);

    *was = *fixed = *stays = 0;
    if (rc < 0)
        return rc;
    *was = offloads_active(&f);
    for (unsigned i = 0; i < VSW_HOSTIF_N_OFFLOADS; i++)
        if (*was & (1u << i))
            *(offload_changeable(&f, i) ? &want : fixed) |= 1u << i;
    if (want) {
        rc = offloads_set(&f, want, false);
        if (rc == 0)
            *stays = offloads_active(&f) & want;
    }
    features_close(&f);
    return rc;
}

void vsw__hostif_offloads_off(const char *ifname)
{
    unsigned was, fixed, stays, want;
    char list[64];
    int rc = offloads_turn_off(ifname, &was, &fixed, &stays);

    want = was & ~fixed;
    if (rc < 0 && !was) { /* not read (a refused change read them) */
        VSA_LOG_RL(&offload_rl, WARN, "cannot read the offloads of '%s' "
                   "(%s): GRO, LRO and hardware GRO stay as they are, and "
                   "frames they merge are cut short", ifname, strerror(-rc));
        return;
    }
    if (fixed)
        VSA_LOG_RL(&offload_rl, WARN, "'%s': %s on and fixed by its driver: "
                   "frames it merges are cut short", ifname,
                   offload_list(fixed, list, sizeof(list)));
    if (!want)
        return;
    if (rc < 0)
        VSA_LOG_RL(&offload_rl, WARN, "cannot turn %s off on '%s': %s",
                   offload_list(want, list, sizeof(list)), ifname,
                   strerror(-rc));
    else if (stays)
        VSA_LOG_RL(&offload_rl, WARN, "'%s': %s stays on: frames it "
                   "merges are cut short", ifname,
                   offload_list(stays, list, sizeof(list)));
    else
        VSA_LOG(INFO, "'%s': %s off while it is bound", ifname,
                offload_list(want, list, sizeof(list)));
}

/* Turns on again on `name` the offloads of `offloads` (those on before
 * the binding) that are off now.  Returns those turned on; logged
 * (`what`: how the log calls the device), never fails (see
 * vsw__hostif_restore). */
static unsigned restore_offloads(unsigned offloads, const char *name,
                                 const char *what)
{
    struct nic_features f;
    unsigned want, back;
    char list[64];
    int rc;

    if (!(offloads & ((1u << VSW_HOSTIF_N_OFFLOADS) - 1)))
        return 0;
    rc = features_open(&f, name);
    if (rc < 0) {
        VSA_LOG_RL(&restore_rl, WARN, "cannot turn %s on again on %s: %s",
                   offload_list(offloads, list, sizeof(list)), what,
                   strerror(-rc));
        return 0;
    }
    want = offloads & ~offloads_active(&f);
    if (!want) {
        features_close(&f);
        return 0;
    }
    rc = offloads_set(&f, want, true);
    back = rc < 0 ? 0 : want & offloads_active(&f);
    if (back != want)
        VSA_LOG_RL(&restore_rl, WARN, "cannot turn %s on again on %s%s%s",
                   offload_list(want & ~back, list, sizeof(list)), what,
                   rc < 0 ? ": " : "", rc < 0 ? strerror(-rc) : "");
    features_close(&f);
    return back;
}

/* ---- the devices under a NIC (netlink) -----------------------------------
 *
 * GRO is done by the device whose NAPI receives a frame.  For a VLAN,
 * macvlan or ipvlan that is the device under it (its IFLA_LINK), for a
 * bond, team or bridge its slaves (the links whose master it is): they
 * merge the frames, which then go up to the NIC af_packet reads, so
 * turning GRO off on that NIC alone changes nothing.  Only LRO follows an
 * upper device's setting down (NETIF_F_UPPER_DISABLES).  So vsw__hostif_save
 * records the devices under the NIC, recursively (a VLAN on a bond of two
 * NICs), and their offloads; binding turns those off too and restore turns
 * back on those that were on.  IFLA_LINK of other kinds is not followed: a
 * veth's is its peer, a tunnel's the device its outer packets leave by.
 * A device put under the NIC after the binding (a slave added to the
 * bond) is not followed: the binding says so.  Not injection points: a
 * NIC whose lower devices cannot be listed is still bound (a WARN says
 * what to run by hand). */

static bool kind_is(const char *kind, const char *const *kinds, size_t n)
{
    for (size_t i = 0; kind && i < n; i++)
        if (strcmp(kind, kinds[i]) == 0)
            return true;
    return false;
}

/* A kind whose IFLA_LINK is the device that receives its frames. */
static bool kind_has_lower_link(const char *kind)
{
    static const char *const kinds[] = {
        "vlan", "macvlan", "macvtap", "ipvlan", "ipvtap",
    };

    return kind_is(kind, kinds, sizeof(kinds) / sizeof(kinds[0]));
}

/* A kind whose slaves receive its frames. */
static bool kind_has_slaves(const char *kind)
{
    static const char *const kinds[] = { "bond", "team", "bridge" };

    return kind_is(kind, kinds, sizeof(kinds) / sizeof(kinds[0]));
}

/* One walk down from a NIC (vsw__hostif_save). */
struct lower_walk {
    struct nl_cache *links;        /* every link of the namespace */
    struct vsw_hostif_state *st;   /* st->lower[] filled in */
    unsigned left_out;             /* past VSW_HOSTIF_LOWER_MAX or _DEPTH */
    char first_left_out[VSW_HOSTIF_LOWER_NAME];
    bool elsewhere;                /* one in another network namespace */
};

static bool lower_recorded(const struct vsw_hostif_state *st, int ifindex)
{
    for (unsigned i = 0; i < st->n_lower; i++)
        if (st->lower[i].ifindex == ifindex)
            return true;
    return false;
}

static void lower_walk(struct lower_walk *w, struct rtnl_link *link,
                       unsigned depth);

/* Records the link of ifindex, `depth` levels under the NIC, with the
 * offloads it has on, and goes on under it. */
static void lower_visit(struct lower_walk *w, int ifindex, unsigned depth)
{
    struct vsw_hostif_state *st = w->st;
    struct vsw_hostif_lower *lw;
    struct rtnl_link *l;
    const char *name;
    int on;

    if (ifindex <= 0 || ifindex == st->ifindex ||
        lower_recorded(st, ifindex))
        return;
    l = rtnl_link_get(w->links, ifindex);
    if (!l)
        return; /* gone since the dump */
    name = rtnl_link_get_name(l);
    if (depth > VSW_HOSTIF_LOWER_DEPTH ||
        st->n_lower == VSW_HOSTIF_LOWER_MAX) {
        if (!w->left_out++)
            snprintf(w->first_left_out, sizeof(w->first_left_out), "%s",
                     name ? name : "?");
        rtnl_link_put(l);
        return;
    }
    lw = &st->lower[st->n_lower++];
    lw->ifindex = ifindex;
    snprintf(lw->ifname, sizeof(lw->ifname), "%s", name ? name : "");
    on = vsw__hostif_offloads_get(lw->ifname);
    lw->offloads = on > 0 ? (unsigned)on : 0;
    lower_walk(w, l, depth + 1);
    rtnl_link_put(l);
}

/* Visits the devices right under `link`, which is depth - 1 levels under
 * the NIC. */
static void lower_walk(struct lower_walk *w, struct rtnl_link *link,
                       unsigned depth)
{
    const char *kind = rtnl_link_get_type(link);
    struct nl_object *obj;
    int32_t nsid;

    if (kind_has_lower_link(kind)) {
        /* its IFLA_LINK is an index of another namespace: not ours */
        if (rtnl_link_get_link_netnsid(link, &nsid) == 0)
            w->elsewhere = true;
        else
            lower_visit(w, rtnl_link_get_link(link), depth);
    }
    if (!kind_has_slaves(kind))
        return;
    for (obj = nl_cache_get_first(w->links); obj;
         obj = nl_cache_get_next(obj))
        if (rtnl_link_get_master((struct rtnl_link *)obj) ==
            rtnl_link_get_ifindex(link))
            lower_visit(w, rtnl_link_get_ifindex((struct rtnl_link *)obj),
                        depth);
}

/* Records in st->lower[] the devices under `link` (the NIC of st) and
 * their offloads.  Logged, never fails: the NIC is bound all the same. */
static void save_lowers(struct nl_sock *sk, struct rtnl_link *link,
                        struct vsw_hostif_state *st)
{
    const char *kind = rtnl_link_get_type(link);
    struct lower_walk w = { .st = st };
    int rc;

    if (!kind_has_lower_link(kind) && !kind_has_slaves(kind))
        return; /* a NIC of its own (no kind: a physical one; a veth) */
    rc = rtnl_link_alloc_cache(sk, AF_UNSPEC, &w.links);
    if (rc < 0) {
        VSA_LOG_RL(&offload_rl, WARN, "cannot list the devices under '%s' "
                   "(a %s: %s): GRO, LRO and hardware GRO on them stay as "
                   "they are, and frames they merge are cut short; turn "
                   "them off by hand (ethtool -K DEV gro off lro off "
                   "rx-gro-hw off)", st->ifname, kind, nl_geterror(rc));
        return;
    }
    lower_walk(&w, link, 1);
    nl_cache_free(w.links);
    if (w.left_out)
        VSA_LOG_RL(&offload_rl, WARN, "'%s': %u device%s under it (%s%s) "
                   "not followed (at most %u, %u levels deep): their "
                   "offloads stay as they are; run ethtool -K DEV gro off "
                   "on each", st->ifname, w.left_out,
                   w.left_out == 1 ? "" : "s", w.first_left_out,
                   w.left_out == 1 ? "" : ", ...", VSW_HOSTIF_LOWER_MAX,
                   VSW_HOSTIF_LOWER_DEPTH);
    if (w.elsewhere)
        VSA_LOG_RL(&offload_rl, WARN, "'%s': the device under it is in "
                   "another network namespace: its GRO stays as it is; "
                   "run ethtool -K DEV gro off there", st->ifname);
}

/* Appends "NAME (GRO, LRO)" to the list in buf. */
static void name_list_add(char *buf, size_t size, const char *name,
                          unsigned offloads)
{
    size_t len = strlen(buf);
    char list[64];

    if (len < size)
        snprintf(buf + len, size - len, "%s%s (%s)", len ? ", " : "", name,
                 offload_list(offloads, list, sizeof(list)));
}

/* The ethtool -K arguments that turn the offloads of mask off ("gro off
 * lro off"), in buf. */
static const char *ethtool_off_args(unsigned mask, char *buf, size_t size)
{
    static const char *const args[VSW_HOSTIF_N_OFFLOADS] = {
        "gro", "lro", "rx-gro-hw",
    };
    size_t len = 0;

    buf[0] = '\0';
    for (unsigned i = 0; i < VSW_HOSTIF_N_OFFLOADS && len < size; i++)
        if (mask & (1u << i))
            len += (size_t)snprintf(buf + len, size - len, "%s%s off",
                                    len ? " " : "", args[i]);
    return buf;
}

/* Turns the offloads off on one device under st's NIC: those it turned
 * off.  One that stays on, or offloads that cannot be read, is a WARN
 * saying what to run by hand. */
static unsigned lower_off(const struct vsw_hostif_state *st,
                          const struct vsw_hostif_lower *lw)
{
    unsigned was, fixed, stays, left;
    char list[64], args[64];
    int rc = offloads_turn_off(lw->ifname, &was, &fixed, &stays);

    /* not read: any of them may be on */
    left = rc < 0 ? (was ? was : (1u << VSW_HOSTIF_N_OFFLOADS) - 1)
                  : fixed | stays;
    if (left)
        VSA_LOG_RL(&offload_rl, WARN, "cannot turn %s off on '%s', a device "
                   "under '%s' (%s): the frames it merges reach '%s' and are "
                   "cut short; run ethtool -K %s %s",
                   offload_list(left, list, sizeof(list)), lw->ifname,
                   st->ifname, rc < 0 ? strerror(-rc)
                   : fixed == left ? "fixed by its driver"
                                   : "its driver keeps it on",
                   st->ifname, lw->ifname,
                   ethtool_off_args(left, args, sizeof(args)));
    return rc < 0 ? 0 : was & ~left;
}

void vsw__hostif_lowers_off(const struct vsw_hostif_state *st)
{
    char off[512] = "", already[256] = "";

    for (unsigned i = 0; i < st->n_lower && i < VSW_HOSTIF_LOWER_MAX; i++) {
        const struct vsw_hostif_lower *lw = &st->lower[i];
        unsigned done = lower_off(st, lw);
        size_t len = strlen(already);

        if (done)
            name_list_add(off, sizeof(off), lw->ifname, done);
        else if (len < sizeof(already))
            snprintf(already + len, sizeof(already) - len, "%s%s",
                     len ? ", " : "", lw->ifname);
    }
    if (!st->n_lower)
        return;
    /* names them: the operator can see what a release turns back on, and
     * what a slave added later needs by hand */
    VSA_LOG(INFO, "'%s': receive offloads off on the devices under it while "
            "it is bound: %s%s%s; a device put under it later (a slave "
            "added to a bond) is not followed: run ethtool -K DEV gro off",
            st->ifname, off[0] ? off : "none turned off",
            already[0] ? "; off already or not changed: " : "", already);
}

/* Turns off again on `name` the merging offloads that are on although a
 * port binds it (someone ran ethtool -K ... gro on, or a tool that manages
 * the NIC did), WARN (rate-limited) if there were any.  One its driver
 * fixes or keeps on was logged at the binding: left out here.  `under`:
 * the bound NIC when `name` is a device under it, else NULL. */
static void offloads_reassert(const char *name, const char *under)
{
    unsigned was, fixed, stays, again;
    char list[64];

    if (offloads_turn_off(name, &was, &fixed, &stays) < 0)
        return; /* gone, or not answering: the binding logged that */
    again = was & ~fixed & ~stays;
    if (again)
        VSA_LOG_RL(&offload_rl, WARN, "'%s'%s%s%s: %s turned on while it "
                   "is bound: off again (the frames it merges would be cut "
                   "short)", name, under ? " (under '" : "",
                   under ? under : "", under ? "')" : "",
                   offload_list(again, list, sizeof(list)));
}

void vsw__hostif_offloads_recheck(const struct vsw_hostif_state *st,
                                  const char *ifname)
{
    offloads_reassert(ifname, NULL);
    for (unsigned i = 0; i < st->n_lower && i < VSW_HOSTIF_LOWER_MAX; i++) {
        char name[IF_NAMESIZE];

        /* the device recorded, by index and name: an index reused by
         * another device, or a renamed one, is left alone */
        if (if_indextoname((unsigned)st->lower[i].ifindex, name) &&
            strcmp(name, st->lower[i].ifname) == 0)
            offloads_reassert(name, ifname);
    }
}

void vsw__hostif_restore_lowers(const struct vsw_hostif_state *st)
{
    for (unsigned i = 0; i < st->n_lower && i < VSW_HOSTIF_LOWER_MAX; i++) {
        const struct vsw_hostif_lower *lw = &st->lower[i];
        char name[IF_NAMESIZE], what[IF_NAMESIZE + sizeof(st->ifname) + 32];
        char list[64];
        unsigned back;

        if (!lw->offloads)
            continue;
        /* by index: the same device even if renamed (ioctl, allocates
         * nothing) */
        if (!if_indextoname((unsigned)lw->ifindex, name)) {
            VSA_LOG(DEBUG, "'%s' (under '%s') is gone: nothing to restore",
                    lw->ifname, st->ifname);
            continue;
        }
        snprintf(what, sizeof(what), "'%s' (a device under '%s')", name,
                 st->ifname);
        back = restore_offloads(lw->offloads, name, what);
        if (back)
            VSA_LOG(INFO, "'%s', a device under '%s', given back as it was "
                    "(%s on)", name, st->ifname,
                    offload_list(back, list, sizeof(list)));
    }
}

/* Records, with v6, ifindex's IPv6 addresses set by hand into out->v6:
 * permanent (no lifetime: neither autoconfigured nor temporary) and of a
 * scope wider than the link (the kernel makes the link-local one again
 * itself); and how many IPv4 addresses it has, the first as text
 * (out->n_v4, v4_first).  0 or -ENOMEM. */
static int save_addrs(struct nl_sock *sk, struct vsw_hostif_state *out,
                      bool v6, struct vsa_errmsg *em)
{
    struct nl_cache *cache = NULL;
    struct nl_object *obj;
    unsigned skipped = 0;
    int rc;

    rc = NL_INJECT("rtnl_addr_alloc_cache", rtnl_addr_alloc_cache(sk, &cache));
    if (rc < 0)
        return vsa_errmsg_set(em, nl_errno(rc, -EIO), "cannot list the "
                              "addresses of '%s': %s", out->ifname,
                              nl_geterror(rc));
    for (obj = nl_cache_get_first(cache); obj; obj = nl_cache_get_next(obj)) {
        struct rtnl_addr *a = (struct rtnl_addr *)obj;
        struct nl_addr *local = rtnl_addr_get_local(a);

        if (rtnl_addr_get_ifindex(a) == out->ifindex &&
            rtnl_addr_get_family(a) == AF_INET && local &&
            nl_addr_get_len(local) == 4 && out->n_v4++ == 0) {
            char text[INET_ADDRSTRLEN];

            inet_ntop(AF_INET, nl_addr_get_binary_addr(local), text,
                      sizeof(text));
            snprintf(out->v4_first, sizeof(out->v4_first), "%s/%u", text,
                     rtnl_addr_get_prefixlen(a));
        }
        if (!v6 || rtnl_addr_get_ifindex(a) != out->ifindex ||
            rtnl_addr_get_family(a) != AF_INET6 || !local ||
            nl_addr_get_len(local) != 16 ||
            rtnl_addr_get_scope(a) >= RT_SCOPE_LINK ||
            !(rtnl_addr_get_flags(a) & IFA_F_PERMANENT))
            continue;
        if (out->n_v6 == VSW_HOSTIF_V6_MAX) {
            skipped++;
            continue;
        }
        memcpy(out->v6[out->n_v6].addr, nl_addr_get_binary_addr(local), 16);
        out->v6[out->n_v6].prefixlen =
            (uint8_t)rtnl_addr_get_prefixlen(a);
        out->n_v6++;
    }
    nl_cache_free(cache);
    if (skipped)
        VSA_LOG(WARN, "'%s' has more than %u IPv6 addresses set by hand: %u "
                "will not be added back when it is let go of", out->ifname,
                VSW_HOSTIF_V6_MAX, skipped);
    return 0;
}

/* Adds back the IPv6 addresses save_addrs recorded; one that is there
 * already is fine.  Logged, never fails (see vsw__hostif_restore). */
static unsigned restore_v6(struct nl_sock *sk,
                           const struct vsw_hostif_state *st,
                           const char *name)
{
    unsigned added = 0;

    for (unsigned i = 0; i < st->n_v6 && i < VSW_HOSTIF_V6_MAX; i++) {
        struct rtnl_addr *a = rtnl_addr_alloc();
        struct nl_addr *local =
            nl_addr_build(AF_INET6, st->v6[i].addr, 16);
        char text[64];
        int rc = -NLE_NOMEM;

        if (a && local) {
            nl_addr_set_prefixlen(local, st->v6[i].prefixlen);
            rtnl_addr_set_ifindex(a, st->ifindex);
            rc = rtnl_addr_set_local(a, local);
            if (rc == 0)
                rc = rtnl_addr_add(sk, a, 0);
        }
        if (rc == 0)
            added++;
        else if (rc != -NLE_EXIST)
            VSA_LOG_RL(&restore_rl, WARN, "cannot add %s back to '%s': %s",
                       local ? nl_addr2str(local, text, sizeof(text)) : "an "
                       "IPv6 address", name, nl_geterror(rc));
        if (local)
            nl_addr_put(local);
        if (a)
            rtnl_addr_put(a);
    }
    return added;
}

int vsw__hostif_save(const char *ifname, struct vsw_hostif_state *out,
                     struct vsa_errmsg *em)
{
    struct rtnl_link *link = NULL;
    struct nl_sock *sk;
    int rc;

    memset(out, 0, sizeof(*out));
    sk = nl_open(&rc, em);
    if (!sk)
        return rc;
    rc = get_link(sk, ifname, &link, em);
    if (rc == 0) {
        unsigned flags = rtnl_link_get_flags(link);
        const char *name = rtnl_link_get_name(link);
        int on;

        /* The kernel's name: ifname may be one of its altnames, which
         * the lookup takes too but /proc/sys/net/ipv6/conf does not. */
        snprintf(out->ifname, sizeof(out->ifname), "%s",
                 name && name[0] ? name : ifname);
        out->up = (flags & IFF_UP) != 0;
        out->promisc = (flags & IFF_PROMISC) != 0;
        out->disable_ipv6 = read_disable_ipv6(out->ifname);
        out->arp_ignore = read_conf_int("ipv4", out->ifname, "arp_ignore");
        out->rp_filter = read_conf_int("ipv4", out->ifname, "rp_filter");
        out->ifindex = rtnl_link_get_ifindex(link);
        /* none if they cannot be read: offloads_off then says so */
        on = vsw__hostif_offloads_get(out->ifname);
        out->offloads = on > 0 ? (unsigned)on : 0;
        rc = save_addrs(sk, out, out->disable_ipv6 == 0, em);
        if (rc == 0)
            save_lowers(sk, link, out);
        else
            memset(out, 0, sizeof(*out));
        rtnl_link_put(link);
    }
    nl_done(sk);
    return rc;
}

/* Writes `was` back to name's net.<proto>.conf.<name>.<key> if it is
 * known (>= 0) and differs: true if it was written.  A refusal is a WARN
 * (rate-limited). */
static bool conf_restore(const char *proto, const char *name,
                         const char *key, int was)
{
    int now = read_conf_int(proto, name, key), rc;

    if (was < 0 || now < 0 || now == was)
        return false;
    rc = write_conf_int(proto, name, key, was);
    if (rc < 0) {
        VSA_LOG_RL(&restore_rl, WARN, "cannot set %s of '%s' back to %d: "
                   "%s", key, name, was, strerror(-rc));
        return false;
    }
    return true;
}

int vsw__hostif_restore(const struct vsw_hostif_state *st)
{
    struct rtnl_link *link = NULL, *change = NULL;
    struct vsa_errmsg em;
    struct nl_sock *sk;
    unsigned clear;
    char name[sizeof(st->ifname)], what[160], list[64], offl[72] = "";
    char quoted[sizeof(name) + 2];
    bool restored_ipv6, restored_v4;
    unsigned v6_added = 0, offloads_back;
    size_t len = 0;
    int rc, reached = 0;

    if (!st->ifindex)
        return 0;
    /* first: an upper device such as a macvlan takes GRO from them */
    vsw__hostif_restore_lowers(st);
    sk = nl_open_opt(false, &rc, &em);
    if (!sk) {
        VSA_LOG_RL(&restore_rl, WARN, "cannot restore '%s': %s", st->ifname,
                   em.msg);
        return -EIO;
    }
    /* By index: the same NIC even if renamed, never another one that took
     * its name. */
    rc = rtnl_link_get_kernel(sk, st->ifindex, NULL, &link);
    if (rc == -NLE_OBJ_NOTFOUND || rc == -NLE_NODEV) {
        VSA_LOG(DEBUG, "'%s' is gone: nothing to restore", st->ifname);
        goto out;
    }
    if (rc < 0) {
        VSA_LOG_RL(&restore_rl, WARN, "cannot restore '%s': %s", st->ifname,
                   nl_geterror(rc));
        reached = -EIO;
        goto out;
    }
    snprintf(name, sizeof(name), "%s",
             rtnl_link_get_name(link) ? rtnl_link_get_name(link)
                                      : st->ifname);
    /* Only what was not so before the binding. */
    clear = rtnl_link_get_flags(link) & ((st->up ? 0u : IFF_UP) |
                                         (st->promisc ? 0u : IFF_PROMISC));
    if (clear) {
        change = rtnl_link_alloc();
        rc = change ? 0 : -NLE_NOMEM;
        if (change) {
            rtnl_link_unset_flags(change, clear);
            rc = rtnl_link_change(sk, link, change, 0);
        }
        if (rc < 0) {
            VSA_LOG_RL(&restore_rl, WARN, "cannot set '%s'%s%s%s again: %s",
                       name, clear & IFF_UP ? " down" : "",
                       clear == (IFF_UP | IFF_PROMISC) ? " and" : "",
                       clear & IFF_PROMISC ? " not promiscuous" : "",
                       nl_geterror(rc));
            clear = 0;
        }
    }
    restored_ipv6 = conf_restore("ipv6", name, "disable_ipv6",
                                 st->disable_ipv6) &&
                    st->disable_ipv6 == 0;
    restored_v4 = conf_restore("ipv4", name, "arp_ignore", st->arp_ignore);
    restored_v4 = conf_restore("ipv4", name, "rp_filter", st->rp_filter) ||
                  restored_v4;
    /* The addresses disable_ipv6 dropped (also when someone switched IPv6
     * on meanwhile: those already there are left as they are). */
    if (st->disable_ipv6 == 0 && read_disable_ipv6(name) == 0)
        v6_added = restore_v6(sk, st, name);
    snprintf(quoted, sizeof(quoted), "'%s'", name);
    offloads_back = restore_offloads(st->offloads, name, quoted);
    what[0] = '\0';
#define WHAT(cond, text)                                                    \
    do {                                                                    \
        if ((cond) && len < sizeof(what))                                   \
            len += (size_t)snprintf(what + len, sizeof(what) - len, "%s%s", \
                                    len ? ", " : "", text);                 \
    } while (0)
    WHAT(clear & IFF_UP, "down");
    WHAT(clear & IFF_PROMISC, "not promiscuous");
    WHAT(restored_ipv6, "IPv6 on");
    WHAT(restored_v4, "arp_ignore and rp_filter as before");
    if (offloads_back)
        snprintf(offl, sizeof(offl), "%s on",
                 offload_list(offloads_back, list, sizeof(list)));
    WHAT(offloads_back, offl);
#undef WHAT
    if (what[0])
        VSA_LOG(INFO, "'%s' given back as it was (%s)", name, what);
    if (v6_added)
        VSA_LOG(INFO, "'%s': %u IPv6 address%s set by hand added back", name,
                v6_added, v6_added == 1 ? "" : "es");
out:
    if (change)
        rtnl_link_put(change);
    if (link)
        rtnl_link_put(link);
    nl_done(sk);
    return reached;
}

/* The addresses a host vNIC's configured list replaces: IPv4 and global
 * IPv6 (the kernel keeps the link-local one itself). */
static bool addr_is_managed(struct rtnl_addr *a, int ifindex)
{
    return rtnl_addr_get_ifindex(a) == ifindex &&
           (rtnl_addr_get_family(a) == AF_INET ||
            (rtnl_addr_get_family(a) == AF_INET6 &&
             rtnl_addr_get_scope(a) == 0 /* global */));
}

/* Whether a and b are the same address: family, bytes and prefix length
 * (what the kernel tells addresses of an interface apart by). */
static bool addr_same(struct rtnl_addr *a, struct rtnl_addr *b)
{
    struct nl_addr *x = rtnl_addr_get_local(a), *y = rtnl_addr_get_local(b);

    return x && y && rtnl_addr_get_family(a) == rtnl_addr_get_family(b) &&
           rtnl_addr_get_prefixlen(a) == rtnl_addr_get_prefixlen(b) &&
           nl_addr_get_len(x) == nl_addr_get_len(y) &&
           memcmp(nl_addr_get_binary_addr(x), nl_addr_get_binary_addr(y),
                  nl_addr_get_len(x)) == 0;
}

/* Whether a (an address the interface had) is in the new list. */
static bool addr_stays(const struct vsw_host_addrs *t, struct rtnl_addr *a)
{
    for (uint32_t i = 0; i < t->n; i++)
        if (addr_same(t->objs[i], a))
            return true;
    return false;
}

/* Whether a (of the new list) was on the interface before. */
static bool addr_was_there(const struct vsw_host_addrs *t, struct rtnl_addr *a)
{
    struct nl_object *obj;

    for (obj = nl_cache_get_first(t->cache); obj; obj = nl_cache_get_next(obj))
        if (addr_is_managed((struct rtnl_addr *)obj, t->ifindex) &&
            addr_same((struct rtnl_addr *)obj, a))
            return true;
    return false;
}

/* Deletes the addresses of the interface (IPv4, global IPv6) that the new
 * list leaves out; those it keeps are not touched, so the routes through
 * them stay (deleting an interface's last IPv4 address takes its routes
 * with it, and adding it again does not bring them back).  Returns 0, or
 * -NLE_NOMEM if a request could not be built (the deletions before it
 * stay); any other refusal (the address went meanwhile) is ignored. */
static int remove_old_addrs(struct vsw_host_addrs *t, bool inject)
{
    struct nl_object *obj;

    for (obj = nl_cache_get_first(t->cache); obj; obj = nl_cache_get_next(obj)) {
        struct rtnl_addr *a = (struct rtnl_addr *)obj;
        int rc;

        if (!addr_is_managed(a, t->ifindex) || addr_stays(t, a))
            continue;
        rc = NL_REQUEST(inject, "rtnl_addr_delete",
                        rtnl_addr_delete(t->sk, a, 0));
        if (rc == -NLE_NOMEM)
            return rc;
    }
    return 0;
}

/* The address object of CIDR `text` on ifindex, in *out. */
static int addr_prepare(const char *text, int ifindex, struct rtnl_addr **out,
                        struct vsa_errmsg *em)
{
    struct nl_addr *local = NULL;
    struct rtnl_addr *a;
    int rc;

    rc = NL_INJECT("nl_addr_parse", nl_addr_parse(text, AF_UNSPEC, &local));
    if (rc == -NLE_NOMEM)
        return vsa_errmsg_set(em, -ENOMEM, "netlink: out of memory");
    if (rc < 0)
        return vsa_errmsg_set(em, -EINVAL, "bad address '%s'", text);
    a = vsa_alloc_fail("rtnl_addr_alloc") ? NULL : rtnl_addr_alloc();
    if (!a) {
        nl_addr_put(local);
        return vsa_errmsg_set(em, -ENOMEM, "netlink: out of memory");
    }
    rtnl_addr_set_ifindex(a, ifindex);
    rc = rtnl_addr_set_local(a, local);
    nl_addr_put(local); /* a holds its own reference */
    if (rc < 0) {
        rtnl_addr_put(a);
        return vsa_errmsg_set(em, nl_errno(rc, -EINVAL), "bad address '%s'",
                              text);
    }
    *out = a;
    return 0;
}

/* A prepared address and MTU change (vsw__hostif_addrs_prepare): struct
 * vsw_host_addrs, vsw_private.h. */
_Static_assert(sizeof(((struct vsw_host_addrs *)0)->ifname) == IF_NAMESIZE,
               "an interface name fits");

void vsw__hostif_addrs_free(struct vsw_host_addrs *t)
{
    if (!t)
        return;
    if (t->cache)
        nl_cache_free(t->cache);
    if (t->routes)
        nl_cache_free(t->routes);
    for (uint32_t i = 0; t->objs && i < t->n; i++)
        if (t->objs[i])
            rtnl_addr_put(t->objs[i]);
    vsa_free(t->objs);
    if (t->change)
        rtnl_link_put(t->change);
    if (t->link)
        rtnl_link_put(t->link);
    if (t->sk)
        nl_done(t->sk);
    vsa_free(t);
}

/* Whether the prepared change removes an address the interface has. */
static bool removes_addrs(const struct vsw_host_addrs *t)
{
    struct nl_object *obj;

    for (obj = nl_cache_get_first(t->cache); obj; obj = nl_cache_get_next(obj))
        if (addr_is_managed((struct rtnl_addr *)obj, t->ifindex) &&
            !addr_stays(t, (struct rtnl_addr *)obj))
            return true;
    return false;
}

int vsw__hostif_addrs_prepare(const char *ifname, const char *const *addrs,
                              uint32_t n, uint32_t mtu,
                              struct vsw_host_addrs **out,
                              struct vsa_errmsg *em)
{
    struct vsw_host_addrs *t = vsa_calloc(1, sizeof(*t));
    int rc;

    if (!t)
        return vsa_errmsg_set(em, -ENOMEM, "out of memory");
    snprintf(t->ifname, sizeof(t->ifname), "%s", ifname);
    t->n = n;
    t->mtu = mtu;
    t->sk = nl_open(&rc, em);
    if (!t->sk)
        goto out_free;
    rc = get_link(t->sk, ifname, &t->link, em);
    if (rc < 0)
        goto out_free;
    t->ifindex = rtnl_link_get_ifindex(t->link);
    t->change = link_alloc(em);
    t->objs = t->change ? vsa_calloc(n + 1, sizeof(*t->objs)) : NULL;
    if (!t->objs) {
        rc = vsa_errmsg_set(em, -ENOMEM, "netlink: out of memory");
        goto out_free;
    }
    for (uint32_t i = 0; i < n; i++) {
        rc = addr_prepare(addrs[i], t->ifindex, &t->objs[i], em);
        if (rc < 0)
            goto out_free;
    }
    rc = NL_INJECT("rtnl_addr_alloc_cache",
                   rtnl_addr_alloc_cache(t->sk, &t->cache));
    if (rc < 0) {
        t->cache = NULL;
        rc = vsa_errmsg_set(em, nl_errno(rc, -EIO), "cannot list the "
                            "addresses of '%s': %s", ifname, nl_geterror(rc));
        goto out_free;
    }
    /* for a revert: removing addresses can take routes along (not needed,
     * and not dumped, when the change removes none: an MTU change) */
    rc = removes_addrs(t)
             ? NL_INJECT("rtnl_route_alloc_cache",
                         rtnl_route_alloc_cache(t->sk, AF_UNSPEC, 0,
                                                &t->routes))
             : 0;
    if (rc < 0) {
        t->routes = NULL;
        rc = vsa_errmsg_set(em, nl_errno(rc, -EIO), "cannot list the "
                            "routes through '%s': %s", ifname,
                            nl_geterror(rc));
        goto out_free;
    }
    rtnl_link_set_flags(t->change, IFF_UP);
    if (mtu)
        rtnl_link_set_mtu(t->change, mtu);
    *out = t;
    return 0;

out_free:
    vsw__hostif_addrs_free(t);
    return rc;
}

static const char *addr_text(struct rtnl_addr *a, char *buf, size_t size)
{
    struct nl_addr *local = rtnl_addr_get_local(a);

    return local ? nl_addr2str(local, buf, size) : "?";
}

int vsw__hostif_addrs_apply(struct vsw_host_addrs *t, bool inject,
                            uint32_t *mtu_set, struct vsa_errmsg *em)
{
    char buf[INET6_ADDRSTRLEN + 8];
    int rc;

    *mtu_set = 0;
    t->old_mtu = rtnl_link_get_mtu(t->link);
    t->was_down = !(rtnl_link_get_flags(t->link) & IFF_UP);
    /* before the request: the kernel may take the MTU and refuse the rest */
    t->mtu_changed = t->mtu && t->mtu != t->old_mtu;
    rc = NL_REQUEST(inject, "rtnl_link_change",
                    rtnl_link_change(t->sk, t->link, t->change, 0));
    if (rc < 0) {
        rc = vsa_errmsg_set(em, nl_errno(rc, -EIO), "cannot set MTU %u on "
                            "'%s': %s", t->mtu, t->ifname, nl_geterror(rc));
        goto out_revert;
    }
    t->link_changed = true;
    /* deleting the primary IPv4 address of a subnet takes the secondaries
     * (and their routes) with it unless they are promoted; best effort,
     * the loop below adds back a kept one that went all the same */
    (void)write_conf_int("ipv4", t->ifname, "promote_secondaries", 1);
    t->flushed = true; /* even in part: the revert adds back what is gone */
    rc = remove_old_addrs(t, inject);
    if (rc < 0) {
        rc = vsa_errmsg_set(em, nl_errno(rc, -EIO), "cannot remove the "
                            "addresses of '%s': %s", t->ifname,
                            nl_geterror(rc));
        goto out_revert;
    }
    for (uint32_t i = 0; i < t->n; i++) {
        /* one that was there is left as it is (no NLM_F_REPLACE: the
         * kernel answers "exists" and changes nothing); added again only
         * if the deletions took it (a secondary of a deleted primary) */
        bool kept = addr_was_there(t, t->objs[i]);

        rc = NL_REQUEST(inject, "rtnl_addr_add",
                        rtnl_addr_add(t->sk, t->objs[i],
                                      kept ? 0 : NLM_F_REPLACE));
        if (kept && rc == -NLE_EXIST)
            rc = 0;
        if (rc < 0) {
            rc = vsa_errmsg_set(em, nl_errno(rc, -EIO), "cannot add %s to "
                                "'%s': %s",
                                addr_text(t->objs[i], buf, sizeof(buf)),
                                t->ifname, nl_geterror(rc));
            goto out_revert;
        }
        t->n_added = i + 1;
    }
    *mtu_set = t->mtu;
    return 0;

out_revert:
    if (vsw__hostif_addrs_revert(t) > 0)
        vsa_errmsg_append(em, "; and '%s' could not be set back as it was "
                          "(the log names what differs)", t->ifname);
    return rc;
}

/* Whether r is a route through ifindex that the revert puts back: one the
 * kernel made for an address (proto kernel, the local table) comes back
 * with the address. */
static bool route_to_restore(struct rtnl_route *r, int ifindex)
{
    int n = rtnl_route_get_nnexthops(r);

    if (rtnl_route_get_protocol(r) == RTPROT_KERNEL ||
        rtnl_route_get_table(r) == RT_TABLE_LOCAL)
        return false;
    for (int i = 0; i < n; i++) {
        struct rtnl_nexthop *nh = rtnl_route_nexthop_n(r, i);

        if (nh && rtnl_route_nh_get_ifindex(nh) == ifindex)
            return true;
    }
    return false;
}

/* One pass of restore_routes: how many were added, and the failures
 * (logged only if `log`). */
static int restore_routes_pass(struct vsw_host_addrs *t, bool log,
                               int *failed)
{
    struct nl_object *obj;
    int added = 0;

    *failed = 0;
    for (obj = nl_cache_get_first(t->routes); obj;
         obj = nl_cache_get_next(obj)) {
        struct rtnl_route *r = (struct rtnl_route *)obj;
        char dst[INET6_ADDRSTRLEN + 8];
        struct nl_addr *d;
        int rc;

        if (!route_to_restore(r, t->ifindex))
            continue;
        rc = rtnl_route_add(t->sk, r, NLM_F_EXCL);
        if (rc == -NLE_EXIST)
            continue;
        if (rc >= 0) {
            added++;
            continue;
        }
        (*failed)++;
        d = rtnl_route_get_dst(r);
        if (log)
            VSA_LOG_RL(&revert_rl, WARN, "cannot add the route to %s "
                       "through '%s' back: %s",
                       d ? nl_addr2str(d, dst, sizeof(dst)) : "?",
                       t->ifname, nl_geterror(rc));
    }
    return added;
}

/* Adds back the routes through the interface that are gone, after the
 * addresses (a gateway needs its subnet's route).  The dump's order is not
 * the order they depend on each other (a route whose gateway another
 * operator route reaches), so passes repeat while one adds something.
 * The failures of the last pass, each logged. */
static int restore_routes(struct vsw_host_addrs *t)
{
    int failed = 0;

    if (!t->routes)
        return 0;
    for (int pass = 0; pass < 8; pass++)
        if (restore_routes_pass(t, false, &failed) == 0 || failed == 0)
            break;
    if (failed)
        (void)restore_routes_pass(t, true, &failed);
    return failed;
}

int vsw__hostif_addrs_revert(struct vsw_host_addrs *t)
{
    char buf[INET6_ADDRSTRLEN + 8];
    struct nl_object *obj;
    int failed = 0, rc;

    for (uint32_t i = 0; i < t->n_added; i++) {
        if (addr_was_there(t, t->objs[i]))
            continue; /* not added: it stays */
        rc = rtnl_addr_delete(t->sk, t->objs[i], 0);
        if (rc < 0 && rc != -NLE_NOADDR && rc != -NLE_OBJ_NOTFOUND) {
            failed++;
            VSA_LOG_RL(&revert_rl, WARN, "cannot remove %s from '%s' "
                       "again: %s", addr_text(t->objs[i], buf, sizeof(buf)),
                       t->ifname, nl_geterror(rc));
        }
    }
    for (obj = t->flushed ? nl_cache_get_first(t->cache) : NULL; obj;
         obj = nl_cache_get_next(obj)) {
        struct rtnl_addr *a = (struct rtnl_addr *)obj;

        if (!addr_is_managed(a, t->ifindex))
            continue;
        /* every one it had, kept ones too (a deletion may have taken
         * them); one still there answers "exists" and is not touched */
        rc = rtnl_addr_add(t->sk, a, 0);
        if (rc < 0 && rc != -NLE_EXIST) {
            failed++;
            VSA_LOG_RL(&revert_rl, WARN, "cannot add %s back to '%s': %s",
                       addr_text(a, buf, sizeof(buf)), t->ifname,
                       nl_geterror(rc));
        }
    }
    if (t->flushed)
        failed += restore_routes(t);
    /* the MTU, and the link down again if it was (the change sets it up) */
    if (t->mtu_changed || (t->link_changed && t->was_down)) {
        struct rtnl_link *change = rtnl_link_alloc();

        rc = -NLE_NOMEM;
        if (change) {
            if (t->mtu_changed)
                rtnl_link_set_mtu(change, t->old_mtu);
            if (t->link_changed && t->was_down)
                rtnl_link_unset_flags(change, IFF_UP);
            rc = rtnl_link_change(t->sk, t->link, change, 0);
            rtnl_link_put(change);
        }
        if (rc < 0) {
            failed++;
            snprintf(buf, sizeof(buf), "MTU %u", t->old_mtu);
            VSA_LOG_RL(&revert_rl, WARN, "cannot set '%s' back %s%s%s: %s",
                       t->ifname, t->mtu_changed ? "to " : "",
                       t->mtu_changed ? buf : "",
                       t->link_changed && t->was_down
                           ? (t->mtu_changed ? " and down" : "down")
                           : "",
                       nl_geterror(rc));
        }
    }
    t->n_added = 0;
    t->flushed = t->mtu_changed = t->link_changed = false;
    return failed;
}

int vsw__hostif_set_addrs(const char *ifname, const char *const *addrs,
                          uint32_t n, uint32_t mtu, struct vsa_errmsg *em)
{
    struct vsw_host_addrs *t;
    uint32_t mtu_set;
    int rc = vsw__hostif_addrs_prepare(ifname, addrs, n, mtu, &t, em);

    if (rc < 0)
        return rc;
    rc = vsw__hostif_addrs_apply(t, true, &mtu_set, em);
    vsw__hostif_addrs_free(t);
    return rc;
}
