/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vsw_private.h — structures shared by the files of vswitch/ (not a public
 * header; DPDK types are allowed here).
 *
 * Ownership: the control thread owns `struct vsw`, the port table and every
 * snapshot.  Lcores read the published snapshot (RCU), write only their own
 * `struct vsw_lcore` (counters, tx buffers) and the FDB (lock-free learning,
 * see fdb.h), and copy frames into captures through a lock-free ring.
 */
#ifndef VSW_PRIVATE_H
#define VSW_PRIVATE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>
#include <rte_spinlock.h>

#include "common/vsa_compiler.h"
#include "common/vsa_log.h"
#include "common/vsa_tsan.h"
#include "vswitch/vswitch.h"

#define VSW_BURST 32

/* RCU with the orderings stated to ThreadSanitizer (common/vsa_tsan.h): each
 * lcore releases when it reports quiescence or leaves, the writer acquires
 * after a grace period or after the lcores have returned. */
static inline void vsw__rcu_quiescent(struct rte_rcu_qsbr *v,
                                      unsigned int thread_id)
{
    VSA_TSAN_RELEASE(v);
    rte_rcu_qsbr_quiescent(v, thread_id);
}

/* The lcore leaves: offline, unregistered, then the release that
 * vsw__rcu_joined pairs with. */
static inline void vsw__rcu_leave(struct rte_rcu_qsbr *v,
                                  unsigned int thread_id)
{
    rte_rcu_qsbr_thread_offline(v, thread_id);
    rte_rcu_qsbr_thread_unregister(v, thread_id);
    VSA_TSAN_RELEASE(v);
}

/* After the lcores returned (rte_eal_mp_wait_lcore): their last release was
 * in vsw__rcu_leave. */
static inline void vsw__rcu_joined(struct rte_rcu_qsbr *v)
{
    VSA_TSAN_ACQUIRE(v);
}

static inline void vsw__rcu_synchronize(struct rte_rcu_qsbr *v)
{
    rte_rcu_qsbr_synchronize(v, RTE_QSBR_THRID_INVALID);
    VSA_TSAN_ACQUIRE(v);
}

struct vsw_port_ops;

/* IPv6 addresses of a kernel NIC recorded before binding it (more are
 * logged and not restored). */
#define VSW_HOSTIF_V6_MAX 16u

/* The receive offloads of a kernel NIC that merge frames into one (up
 * to 64 KiB), which binding it turns off (vsw__hostif_offloads_off): the
 * af_packet PMD's ring slot holds one frame of about 2 KB, so a merged one
 * would be truncated.  Bits of vsw_hostif_state.offloads; offload i is
 * 1u << i, named by vsw__hostif_offload_name(i) (the kernel's feature
 * name: what the NIC journal writes). */
#define VSW_HOSTIF_GRO       0x1u  /* "rx-gro": software GRO, fraglist and
                                      UDP forwarding GRO included */
#define VSW_HOSTIF_LRO       0x2u  /* "rx-lro" */
#define VSW_HOSTIF_GRO_HW    0x4u  /* "rx-gro-hw" */
#define VSW_HOSTIF_N_OFFLOADS 3u

/* Lower devices of a kernel NIC recorded at most, and how deep under it
 * they are looked for (vsw__hostif_save; more are logged and left as
 * they are).  Their names are IFNAMSIZ (16) long at most. */
#define VSW_HOSTIF_LOWER_MAX   16u
#define VSW_HOSTIF_LOWER_DEPTH 4u
#define VSW_HOSTIF_LOWER_NAME  16u

/* What binding a kernel NIC to a port changes on it, as it was before
 * (hostif.c: vsw__hostif_save, vsw__hostif_restore). */
struct vsw_hostif_state {
    int ifindex;                   /* 0: nothing saved */
    char ifname[32];               /* its name, the kernel's (not an
                                      altname it was looked up by); a
                                      port's follows a rename */
    bool up;                       /* IFF_UP */
    bool promisc;                  /* IFF_PROMISC (set by a user) */
    int disable_ipv6;              /* net.ipv6.conf.<if>.disable_ipv6, -1:
                                      none (no IPv6 on the host) */
    int arp_ignore;                /* net.ipv4.conf.<if>.arp_ignore and */
    int rp_filter;                 /* rp_filter, -1: not known (none, or a
                                      record without them) */
    unsigned offloads;             /* VSW_HOSTIF_GRO...: those that were on
                                      (0 if they cannot be read) */
    /* IPv6 addresses set by hand (permanent, wider than link scope):
     * disable_ipv6 drops them, so they are added back with it. */
    /* IPv4 addresses on it (left there: the host still uses them, past
     * the switch), for the binding's WARN: how many, and the first. */
    unsigned n_v4;
    char v4_first[24];             /* "192.0.2.1/24" */
    unsigned n_v6;
    struct vsw_hostif_v6 {
        uint8_t addr[16];
        uint8_t prefixlen;
    } v6[VSW_HOSTIF_V6_MAX];
    /* The devices under it whose NAPI receives its frames, and so merges
     * them before the NIC (and af_packet) sees them: the link of a VLAN,
     * macvlan/macvtap or ipvlan/ipvtap, the slaves of a bond, team or
     * bridge, and theirs in turn.  Binding turns their offloads off too
     * (vsw__hostif_lowers_off); restore turns back on those that were on
     * (by ifindex). */
    unsigned n_lower;
    struct vsw_hostif_lower {
        int ifindex;
        char ifname[VSW_HOSTIF_LOWER_NAME]; /* its name then, for logs and
                                               the journal's check */
        unsigned offloads;         /* VSW_HOSTIF_GRO...: those on before */
    } lower[VSW_HOSTIF_LOWER_MAX];
};

/* An open port (a resource).  Fast-path fields first. */
struct vsw_port {
    const struct vsw_port_ops *ops;
    uint16_t id;
    uint16_t eth_port;             /* ethdev port id (dpdk classes) */
    uint16_t n_txq;                /* tx queues configured */
    bool tx_shared;                /* fewer tx queues than lcores: lock */
    rte_spinlock_t tx_lock;
    _Atomic(struct vsw_capture *) capture;
    _Atomic bool link_up;

    const struct vsw_port_plugin *pclass; /* plugged-in class, or NULL */
    void *pclass_priv;

    /* control-only */
    char name[VSW_NAME_MAX];
    enum vsw_port_class cls;
    char devname[64];              /* ethdev / vdev name (RTE_ETH_NAME_MAX_LEN) */
    char ifname[32];               /* kernel interface behind it, if any
                                      (kernel_bound: the kernel's name) */
    char bound_as[32];             /* kernel_bound: the name it was bound
                                      by (ifname, or an altname of it) */
    bool vdev;                     /* created by us: remove on close */
    struct vsa_mac mac;
    uint16_t rx_lcore;             /* datapath lcore index polling it */
    bool kernel_bound;             /* af_packet/af_xdp on kernel NIC ifname */
    bool kernel_carrier;           /* last carrier seen via netlink */
    bool kernel_gone;              /* its NIC (nic_prior.ifindex) is gone */
    struct vsw_hostif_state nic_prior; /* kernel_bound: the NIC before it
                                          was bound, put back on close */
    uint64_t open_drained;         /* frames drain_rx discarded at open */
    /* The MTU (vsw_port_mtu): `mtu` is the smallest of the others that are
     * known (0: not known or none) and VSW_PORT_MTU_MAX (vsw__port_mtu);
     * the snapshots carry it as vsw_dp_port.max_len, so a change of it
     * reaches the lcores with the next published snapshot
     * (vswitch.c: mtu_update, mtu_republish). */
    uint32_t mtu;
    uint32_t mtu_dev;              /* the ethdev's (rte_eth_dev_get_mtu) or
                                      a class's (vsw_port_plugin.mtu_get) */
    uint32_t mtu_kernel;           /* kernel_bound: its kernel NIC's */
    uint32_t mtu_conf;             /* a host vNIC's configured MTU */
    struct vsa_ratelimit link_rl;  /* its link up/down log lines: a
                                      flapping NIC must not flood the log */
    struct vsw_port_stats base;    /* counters at open / last clear */
};

/* Per-port view inside a snapshot. */
struct vsw_dp_port {
    struct vsw_port *port;
    struct vsw_dp_switch *sw;
    uint16_t id;
    /* The longest frame the port sends, as the frame arrived: [0] for one
     * that arrived untagged (MTU + 14), [1] tagged (MTU + 18).  Whatever
     * the port's egress tagging does to it, a frame fits the port's MTU
     * exactly when its length on arrival fits this: a tag pushed or
     * popped changes both its length and the limit by 4 bytes (dp.c
     * send_one). */
    uint16_t max_len[2];
    struct vlan_port vlan;
};

struct vsw_dp_switch {
    struct vsw_fdb *fdb;
    uint16_t n_ports;
    uint16_t ports[VSW_MAX_PORTS]; /* member port ids (flood candidates) */
};

/* An immutable configuration snapshot as the lcores see it. */
struct vsw_snapshot {
    struct vsw_dp_port *ports[VSW_MAX_PORTS];   /* by port id */
    uint16_t n_rx[VSW_MAX_LCORES];
    uint16_t rx[VSW_MAX_LCORES][VSW_MAX_PORTS]; /* port ids polled per lcore */
    /* owned memory */
    uint32_t n_ports;              /* port_mem[0..n_ports) */
    struct vsw_dp_port *port_mem;
    struct vsw_dp_switch *switch_mem;
    uint32_t n_switches;
};

/* One lcore's counters for one port: written by that lcore only, read by
 * the control thread (vsw_get_port_stats).  Use vsw__ctr_add/_read: a
 * relaxed atomic load and store, not a locked add, so each is a plain mov
 * on x86-64, and the reader never sees a torn value (nor does TSan see a
 * race). */
struct vsw_port_counters {
    uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes;
    uint64_t drops[VSW_DROP_MAX];
};

static inline void vsw__ctr_add(uint64_t *c, uint64_t n)
{
    __atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + n,
                     __ATOMIC_RELAXED);
}

static inline uint64_t vsw__ctr_read(const uint64_t *c)
{
    return __atomic_load_n(c, __ATOMIC_RELAXED);
}

struct vsw_txbuf {
    uint16_t n;
    uint64_t bytes;                /* sum of pkt_len of pkts[0..n) */
    struct rte_mbuf *pkts[VSW_BURST * 2];
};

/* Per datapath lcore state. */
struct vsw_lcore {
    struct vsw *sw;
    unsigned lcore_id;
    uint16_t idx;                  /* 0..n_dp_lcores-1, also tx queue */
    struct vsw_port_counters *counters;      /* [VSW_MAX_PORTS] */
    struct vsw_txbuf *txbufs;                /* [VSW_MAX_PORTS] */
    uint16_t n_dirty;
    uint16_t dirty[VSW_MAX_PORTS];
    uint16_t rx_full[VSW_MAX_PORTS];         /* dp.c: ports to poll again */
} VSA_CACHE_ALIGNED;

/* The capture file's stdio buffer: larger than any record (a 16-byte
 * record header and at most RTE_MBUF_DEFAULT_DATAROOM bytes), so that every
 * write(2) holds whole records (capture.c, write_record). */
#define VSW_CAPTURE_IOBUF (64 * 1024)

/* Claims a process holds at most: a kernel NIC per port and the devices
 * under them (shared ones claimed once). */
#define VSW_NIC_CLAIMS_MAX (2 * VSW_MAX_PORTS + VSW_HOSTIF_LOWER_MAX)

/* A capture in progress. */
struct vsw_capture {
    int id;
    struct vsw_port *port;
    struct rte_ring *ring;         /* mbuf copies from the lcores */
    uint8_t dir;                   /* enum vsw_capture_dir bits */
    uint32_t snaplen;
    uint64_t limit;                /* 0 = unlimited */
    _Atomic uint64_t taken;        /* copies enqueued by lcores */
    uint64_t written;              /* frames written by the control thread */
    void *pcap;                    /* pcap_t * (dead handle) */
    void *dumper;                  /* pcap_dumper_t * */
    char file[VSW_CAPTURE_FILE_MAX];
    char port_name[VSW_NAME_MAX];  /* the port's, kept after it detached */
    uint64_t file_dev, file_ino;   /* the file, to refuse a second writer */
    /* Write errors (capture.c, write_failed): `synced` frames and
     * `synced_off` bytes were in the file at the last good flush; `err` is
     * the errno of the write that failed, or of the close (close_file,
     * err_closing): the capture then ends; `lost` the frames that did not
     * reach the file because of a write error. */
    uint64_t synced;
    int64_t synced_off;
    uint64_t lost;
    int err;
    bool err_closing;              /* `err` came from closing the file */
    bool done;
    uint8_t ended;                 /* enum vsw_capture_ended, once done */
    char iobuf[VSW_CAPTURE_IOBUF]; /* the file's stdio buffer (setvbuf) */
};

struct vsw_switch_state {
    char name[VSW_NAME_MAX];
    struct vsw_fdb *fdb;
    uint32_t fdb_max;
    uint32_t aging_s;
};

struct vsw {
    struct rte_mempool *pool;
    struct rte_mempool *capture_pool;
    struct rte_rcu_qsbr *qsbr;
    _Atomic(struct vsw_snapshot *) snap;
    _Atomic bool stop;
    uint32_t n_dp_lcores;
    struct vsw_lcore *lcores[VSW_MAX_LCORES];

    struct vsw_port *ports[VSW_MAX_PORTS];

    struct vsw_switch_state switches[VSW_MAX_SWITCHES];
    uint32_t n_switches;
    uint32_t sweep_switch;

    struct vsw_capture *captures[VSW_MAX_CAPTURES];
    int next_capture_id;
    int capture_ts_offset;         /* mbuf dynfield: capture timestamp (ns) */

    bool mtu_stale;                /* a port's MTU changed and could not be
                                      published (out of memory): vsw_tick
                                      tries again */
    char nic_journal[256];         /* vsw_params.nic_journal_dir, or "" */
    int nic_journal_lock;          /* its lock file, or -1 */
    char nic_claims[256];          /* vsw_params.nic_claim_dir, or "" */
    struct {
        int ifindex;               /* 0: free */
        int fd;
    } nic_claim[VSW_NIC_CLAIMS_MAX]; /* the kernel NICs and the devices
                                        under them claimed (nic_claim.c) */
    uint64_t ticks;                /* vsw_tick() calls */
    uint64_t tsc_hz;
    uint64_t tsc0;
};

/* Port class operations (fast path: rx/tx; control: link, close). */
struct vsw_port_ops {
    const char *name;
    uint16_t (*rx_burst)(struct vsw_port *p, uint16_t lcore_idx,
                         struct rte_mbuf **pkts, uint16_t n);
    uint16_t (*tx_burst)(struct vsw_port *p, uint16_t lcore_idx,
                         struct rte_mbuf **pkts, uint16_t n);
    bool (*link_get)(struct vsw_port *p);
    /* Adds what the device itself dropped (the device: drop reasons) to
     * drops[]; NULL for a device that drops nothing of its own.  Control
     * thread. */
    void (*dev_drops)(struct vsw_port *p, uint64_t drops[VSW_DROP_MAX]);
    void (*close)(struct vsw *sw, struct vsw_port *p);
};

extern const struct vsw_port_ops vsw__ethdev_ops;
extern const struct vsw_port_ops vsw__class_ops;

/* dp.c */
int vsw__lcore_main(void *arg);
/* port_dpdk.c */
int vsw__ethdev_open(struct vsw *sw, struct vsw_port *p, const char *devargs,
                     struct vsa_errmsg *em);
/* capture.c */
void vsw__capture_drain(struct vsw *sw);
void vsw__capture_port_closing(struct vsw *sw, struct vsw_port *p);
void vsw__capture_copy(struct vsw *sw, struct vsw_lcore *lc,
                       struct vsw_capture *cap, struct rte_mbuf *m,
                       uint16_t port_id);
/* Tests only: called by vsw__capture_copy once a capture with a count has
 * given the frame a place, before the copy (NULL: not called). */
extern void (*vsw__capture_taken_hook)(struct vsw_capture *cap);
/* Tests only: called by the control thread after each record it wrote into
 * the capture's file (NULL: not called). */
extern void (*vsw__capture_written_hook)(struct vsw_capture *cap);
/* hostif.c (libnl) */
struct vsw_hostif_info {
    char name[16];                 /* IFNAMSIZ */
    int ifindex;
    struct vsa_mac mac;
    uint32_t mtu;
    bool carrier;
    bool up;
};
int vsw__hostif_lookup(const char *ifname, struct vsw_hostif_info *out,
                       struct vsa_errmsg *em);
/* The same by interface index (a renamed NIC keeps it, a NIC deleted and
 * made again under its old name does not): 0, -ENODEV, -ENOMEM, -EIO. */
int vsw__hostif_lookup_index(int ifindex, struct vsw_hostif_info *out,
                             struct vsa_errmsg *em);
int vsw__hostif_set_up_promisc(const char *ifname, bool promisc,
                               struct vsa_errmsg *em);
void vsw__hostif_isolate(const char *ifname);
/* The receive queues of ifname now: its receive-only plus combined
 * channels (ETHTOOL_GCHANNELS; *from_channels true: ethtool -L can change
 * them), else the queues it was made with (IFLA_NUM_RX_QUEUES, the most
 * it can use: a multi_queue TAP says 256 whatever is attached;
 * *from_channels false); or -errno (-ENODEV: no such interface).
 * net_af_xdp reads only the queues it was given, and the kernel hands
 * whatever the NIC's RSS puts on the others to the host stack. */
int vsw__hostif_rx_queues(const char *ifname, bool *from_channels);
/* Turns off on ifname the merging receive offloads that are on and that
 * the NIC lets be changed (SIOCETHTOOL).  Best effort: one that stays on
 * is logged (WARN, rate-limited), a fixed or absent one is left alone. */
void vsw__hostif_offloads_off(const char *ifname);
/* The same on the lower devices st recorded (vsw__hostif_save), named
 * in an INFO line; one whose offloads cannot be changed is a WARN
 * (rate-limited) saying what to run by hand.  Lower devices put under
 * the NIC after the save (a slave added to the bond) are not followed.
 * Called before vsw__hostif_offloads_off: an upper device such as a
 * macvlan takes GRO from its lower one. */
void vsw__hostif_lowers_off(const struct vsw_hostif_state *st);
/* Turns off again the merging offloads that are back on on ifname (the
 * bound NIC's name now) or on st's lower devices while a port binds it:
 * WARN (rate-limited) naming them.  The 1 s poll calls it (vsw_tick). */
void vsw__hostif_offloads_recheck(const struct vsw_hostif_state *st,
                                  const char *ifname);
/* Turns on again on st's lower devices the offloads they had on before
 * the binding, by ifindex (one gone is nothing to restore).  Part of
 * vsw__hostif_restore; alone for a crash journal record whose NIC is
 * gone but whose lower devices are not.  Never fails (logged). */
void vsw__hostif_restore_lowers(const struct vsw_hostif_state *st);
/* "rx-gro", "rx-lro", "rx-gro-hw" for i 0..VSW_HOSTIF_N_OFFLOADS-1. */
const char *vsw__hostif_offload_name(unsigned i);
/* The offloads of ifname (VSW_HOSTIF_GRO...) that are on now, or -errno
 * (the NIC does not answer the ethtool ioctl): what save records. */
int vsw__hostif_offloads_get(const char *ifname);
/* Records what set_up_promisc, isolate, offloads_off and lowers_off (and
 * the PMD's promiscuous mode) will change on ifname (a name or an
 * altname; out->ifname is the kernel's name of it): 0, -ENODEV, -ENOMEM
 * (injection points), -EIO.  Its lower devices are found through
 * netlink (IFLA_LINK of a VLAN, macvlan or ipvlan; the links whose
 * master it is for a bond, team or bridge; recursively, at most
 * VSW_HOSTIF_LOWER_MAX, VSW_HOSTIF_LOWER_DEPTH deep); if they cannot be
 * listed that is a WARN and none is recorded: the binding goes on.
 * Restore puts it back on the interface of the recorded ifindex: clears
 * IFF_UP and IFF_PROMISC where they were clear (a NIC that was up or
 * promiscuous stays so), writes disable_ipv6, arp_ignore and rp_filter
 * back where they differ and
 * turns on again the recorded offloads that are off, on the NIC and on
 * its recorded lower devices (vsw__hostif_restore_lowers, also when the
 * NIC itself is gone).  No injection points: a vanished interface is
 * nothing to restore (0), a refused change is logged (rate-limited) and
 * the rest done (0); -EIO (logged) when netlink could not be reached or
 * the NIC not looked up, so nothing was given back: the caller keeps
 * the crash journal's record then, for another try. */
int vsw__hostif_save(const char *ifname, struct vsw_hostif_state *out,
                     struct vsa_errmsg *em);
int vsw__hostif_restore(const struct vsw_hostif_state *st);
/* The crash journal of saved NIC states (nic_journal.c): open creates the
 * directory (0700) if needed and locks it, returning the lock's fd (keep
 * it open; -EBUSY: another process holds it); add records `s` before a
 * port first binds its NIC (a record recover kept wins over `s`: it is
 * read into `s`, with the offloads it has no line for taken from `s`, and
 * written again so); del forgets it once the NIC is given back; recover gives back
 * every NIC a previous process left recorded and removes its record, or
 * the record alone if the NIC is gone (returns how many it restored); a
 * record whose NIC cannot be looked up, or not reached to give it back,
 * just now stays for the next start. */
int vsw__nic_journal_open(const char *dir, struct vsa_errmsg *em);
int vsw__nic_journal_add(const char *dir, struct vsw_hostif_state *s,
                         struct vsa_errmsg *em);
void vsw__nic_journal_del(const char *dir, int ifindex);
unsigned vsw__nic_journal_recover(const char *dir, const char *claim_dir);
/* Host-wide claims of kernel NICs and the devices under them
 * (nic_claim.c), in `dir` (created 0700 if missing; this user's, closed
 * to others).  take: the claim's fd (keep it open while the device is
 * bound), or -EBUSY with em naming the holding vesperd's pid, or another
 * -errno with em saying which step failed.  release: removes the claim
 * file and closes fd (-1: nothing).  state: claims the NIC of `s` (unless
 * !with_nic) and every device under it, all or none (em as take's, or
 * "the device under kernel NIC X: ..."); release_all gives them up. */
struct vsw_nic_claims {
    unsigned n;
    int ifindex[1 + VSW_HOSTIF_LOWER_MAX];
    int fd[1 + VSW_HOSTIF_LOWER_MAX];
};
int vsw__nic_claim_take(const char *dir, int ifindex, const char *ifname,
                        struct vsa_errmsg *em);
void vsw__nic_claim_release(const char *dir, int ifindex, int fd);
int vsw__nic_claim_state(const char *dir, const struct vsw_hostif_state *s,
                         bool with_nic, struct vsw_nic_claims *c,
                         struct vsa_errmsg *em);
void vsw__nic_claim_release_all(const char *dir, struct vsw_nic_claims *c);
/* Drops from s the lower devices whose index no longer carries the
 * recorded name (gone, or the index reused by another device), logging
 * each: what recover and the release of a deleted NIC give back. */
void vsw__nic_journal_lowers_still_there(struct vsw_hostif_state *s);
int vsw__hostif_set_addrs(const char *ifname, const char *const *addrs,
                          uint32_t n, uint32_t mtu, struct vsa_errmsg *em);
/* The same in two steps: prepare allocates everything (and changes
 * nothing), apply sends the requests (injection points only if `inject`)
 * and frees the change; free drops a prepared change.  A prepared change
 * names its port (NULL: none; vswitch.c sets it), whose MTU apply's
 * caller updates. */
struct nl_sock;
struct nl_cache;
struct rtnl_link;
struct rtnl_addr;
struct vsw_host_addrs {
    struct vsw_port *port;
    struct nl_sock *sk;
    struct rtnl_link *link, *change;
    struct rtnl_addr **objs;       /* [n] */
    struct nl_cache *cache;        /* the addresses before */
    struct nl_cache *routes;       /* the routes before (all tables;
                                      NULL if no address is removed) */
    uint32_t n, mtu;
    int ifindex;
    char ifname[16];               /* IF_NAMESIZE */
    /* what vsw__hostif_addrs_apply did, for vsw__hostif_addrs_revert */
    uint32_t old_mtu, n_added;
    bool mtu_changed, flushed;
    bool link_changed, was_down;   /* the link request went; it was down */
};
int vsw__hostif_addrs_prepare(const char *ifname, const char *const *addrs,
                              uint32_t n, uint32_t mtu,
                              struct vsw_host_addrs **out,
                              struct vsa_errmsg *em);
/* Sends the prepared requests; t stays the caller's (free it).  *mtu_set:
 * the MTU it set on the interface, 0 if none was asked.  A failure undoes
 * what it did (vsw__hostif_addrs_revert) and sets *mtu_set to 0. */
int vsw__hostif_addrs_apply(struct vsw_host_addrs *t, bool inject,
                            uint32_t *mtu_set, struct vsa_errmsg *em);
/* Undoes a successful vsw__hostif_addrs_apply: the addresses it added go,
 * the ones it removed come back, then the routes through the interface
 * that went with them (the kernel drops them with the last IPv4 address,
 * or with their source address, and does not bring them back), the MTU is
 * set back, and the link down again if it was (the apply sets it up).  Best effort: returns how many
 * requests the kernel refused, each logged (0: all undone); no injection
 * point. */
int vsw__hostif_addrs_revert(struct vsw_host_addrs *t);
void vsw__hostif_addrs_free(struct vsw_host_addrs *t);

/* The MTU of p from what is known of it (struct vsw_port: mtu). */
static inline uint32_t vsw__port_mtu(const struct vsw_port *p)
{
    uint32_t mtu = VSW_PORT_MTU_MAX;

    if (p->mtu_dev && p->mtu_dev < mtu)
        mtu = p->mtu_dev;
    if (p->mtu_kernel && p->mtu_kernel < mtu)
        mtu = p->mtu_kernel;
    if (p->mtu_conf && p->mtu_conf < mtu)
        mtu = p->mtu_conf;
    return mtu;
}

static inline uint32_t vsw__now_s(const struct vsw *sw)
{
    return (uint32_t)((rte_rdtsc() - sw->tsc0) / sw->tsc_hz);
}

#endif /* VSW_PRIVATE_H */
