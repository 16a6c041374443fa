/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vswitch.h — the virtual switch: ports, switches, the forwarding plane and
 * its configuration, as seen from the control thread.
 *
 * Design
 * ------
 * A `struct vsw` is the whole forwarding plane of one vesperd: a packet
 * pool, the datapath lcores, a table of open ports (by id, 0..1023) and the
 * currently published configuration snapshot.
 *
 *  * Ports are resources.  vsw_port_open() creates the device (a DPDK ethdev
 *    from devargs, a TAP for a host vNIC, an af_packet binding of a kernel
 *    NIC) and gives it a stable id; the port carries no traffic until a
 *    committed configuration names it.  vsw_port_close() releases it and must
 *    only be called once no published configuration names it any more.
 *
 *  * Configuration is published whole.  vsw_commit() takes a complete
 *    description (switches, their FDB settings, each port's switch, VLAN
 *    mode and learn limit, static FDB entries), builds a new immutable
 *    snapshot, swaps the pointer the lcores read, waits for an RCU grace
 *    period (rte_rcu_qsbr: every lcore reports quiescence once per loop) and
 *    frees the old snapshot.  Lcores never stop and take no lock to read
 *    the configuration (the few short locks they do take: a shared tx
 *    queue's, the FDB writer lock only try-locked, a synthetic NIC port's;
 *    docs/datapath.md), so ports and switches come and go under traffic; ports not touched by a
 *    change lose no packets.  FDBs belong to switches and survive commits;
 *    a switch that disappears has its FDB freed after the grace period.
 *
 *  * A commit either succeeds or changes nothing: it validates everything
 *    and allocates whatever it needs (new FDBs, the snapshot, its work
 *    space) before it changes anything.  The two halves are also available
 *    separately (vsw_commit_prepare, then vsw_commit_publish, which cannot
 *    fail, or vsw_commit_abort), so that a caller with a fallible step of
 *    its own (vesperd writing the document to disk) can put it in between
 *    and never has to roll a published configuration back.
 *
 *  * Out of memory: every control operation here unwinds completely when
 *    an allocation fails (-ENOMEM, nothing changed, nothing leaked).  Each
 *    allocation, and each DPDK or libnl call that allocates (device probe,
 *    configure, queue setup, start), is an injection point of the
 *    allocation hook (common/vsa_alloc.h); tests/unit/vswitch/test_vsw_oom.c
 *    fails each one in turn (TESTS.md #29).
 *
 * Data path (vswitch/dp.c): per burst — parse, VLAN ingress, learn, FDB
 * lookup or flood within the VLAN's members (never back to the ingress
 * port), egress tagging per output port, batched tx; every drop is counted
 * per port and reason (enum vsw_drop).
 *
 * Thread-safety: every function here is for the control thread only (one
 * thread), except vsw_get_port_stats()/vsw_fdb_* readers, which are safe
 * from the control thread while lcores run, and vsw_get_pool_usage(), from
 * any thread.
 */
#ifndef VSW_VSWITCH_H
#define VSW_VSWITCH_H

#include <stdbool.h>
#include <stdint.h>

#include "common/vsa_errmsg.h"
#include "common/vsa_mac.h"
#include "vlan/vlan.h"
#include "vswitch/fdb.h"

#define VSW_MAX_PORTS 1024
#define VSW_MAX_SWITCHES 64
#define VSW_MAX_LCORES 16
#define VSW_NAME_MAX 64

/* The largest MTU a port has (the L3 payload of a frame; the frame itself
 * is MTU + 14 bytes, + 4 with an 802.1Q tag).  Why 1500: a frame is one
 * mbuf of RTE_MBUF_DEFAULT_BUF_SIZE (2048 bytes of data room), and every
 * ethdev is configured with a zeroed rte_eth_conf: no scattered receive,
 * the default MTU of 1500.  Longer frames are refused, cut or chained by
 * each device in its own way (net_tap counts them as receive errors and
 * refuses to send more than its MTU + 22, net_af_packet cuts them to what
 * its 2048-byte ring slot holds, 1982 bytes, a VM NIC drops a chain over
 * 2048).  So every port's MTU is capped here, whatever its device, kernel
 * NIC or configuration says, until the pools and devices are set up for
 * jumbo frames; the configuration refuses a larger one (tools/ctl
 * CTL_MTU_MAX). */
#define VSW_PORT_MTU_MAX 1500u
/* The MTU of a port whose device says nothing else (a VM NIC's class
 * without mtu_get, a device whose MTU cannot be read). */
#define VSW_PORT_MTU_DEFAULT 1500u

struct vsw;
struct vsw_port;

/* Why a frame (or an event) was dropped; indexes per-port counters. */
#define VSW_DROP_REASONS(XX)                                              \
    XX(VLAN_UNTAGGED, "vlan_untagged", "untagged frame, port has no VLAN for it") \
    XX(VLAN_TAGGED, "vlan_tagged_on_access", "tagged frame on an access port") \
    XX(VLAN_NOT_ALLOWED, "vlan_not_allowed", "VLAN not allowed on the port") \
    XX(VLAN_RESERVED, "vlan_reserved", "VLAN 4095")                       \
    XX(RUNT, "runt", "frame shorter than its L2 header")                 \
    XX(SAME_PORT, "same_port", "destination is on the ingress port")     \
    XX(NO_MEMBER, "no_member", "no other port in the frame's VLAN")      \
    XX(TX_FULL, "tx_full", "output queue full")                           \
    XX(LINK_DOWN, "link_down", "output port link down (a flood whose "   \
       "every other VLAN member is down: on the ingress port)")         \
    XX(OVERSIZE, "oversize", "frame longer than the output port's MTU")  \
    XX(NO_MBUF, "no_mbuf", "no buffer for a flood copy or tag")          \
    XX(OPEN_DRAINED, "open_drained",                                     \
       "received before the port carried traffic, discarded at open")    \
    XX(LEARN_REFUSED, "learn_refused",                                   \
       "source not learned: port limit, table full or busy, or a static " \
       "entry elsewhere (the frame was forwarded; switch show gives the " \
       "reasons)")                                                        \
    XX(CAPTURE_FULL, "capture_full", "capture copy not taken")           \
    XX(RX_MISSED, "rx_missed",                                           \
       "device: frames its receive queue had no room for (imissed)")    \
    XX(RX_NO_MBUF, "rx_no_mbuf",                                         \
       "device: frames it had no packet buffer for (rx_nombuf)")        \
    XX(RX_ERRORS, "rx_errors", "device: bad frames received (ierrors)")

enum vsw_drop {
#define VSW_DROP_ENUM(e, name, help) VSW_DROP_##e,
    VSW_DROP_REASONS(VSW_DROP_ENUM)
#undef VSW_DROP_ENUM
    VSW_DROP_MAX
};

const char *vsw_drop_name(enum vsw_drop d);

/* ---- Lifecycle ---------------------------------------------------------- */

struct vsw_params {
    uint32_t n_mbufs;              /* packet pool size */
    uint32_t n_dp_lcores;          /* datapath lcores (EAL workers used) */
    /* Where the state of each kernel NIC a port binds is recorded until it
     * is given back, so that the next process can give it back after a
     * crash (vswitch/nic_journal.c; vsw_create recovers what it finds
     * there).  NULL: not recorded.  Put it on a tmpfs (/run). */
    const char *nic_journal_dir;
    /* Host-wide: where each process that binds a kernel NIC claims it
     * (vswitch/nic_claim.c), so that two processes never bind one NIC;
     * the same for every vesperd on the host (vesperd:
     * /run/vesper/nic-claims).  NULL: no host-wide claims. */
    const char *nic_claim_dir;
};

/* After rte_eal_init().  Creates the pool and RCU state and launches the
 * datapath loops on the EAL worker lcores.  Returns 0, -ENOMEM, -EINVAL,
 * -EBUSY (a worker lcore is running something else); on error nothing is
 * left behind. */
int vsw_create(const struct vsw_params *p, struct vsw **out,
               struct vsa_errmsg *em);
/* Before rte_eal_init() too: -EBUSY (em says so, as vsw_create would) if
 * another process holds the NIC state directory `dir`, else 0.  Creates
 * nothing: a second vesperd on the same directory is refused before it
 * starts DPDK.  vsw_create takes the lock itself. */
int vsw_nic_journal_check(const char *dir, struct vsa_errmsg *em);
/* Stops the lcores, closes every port, frees everything (out of memory
 * too: it then empties the published snapshot in place once the lcores
 * have stopped). */
void vsw_destroy(struct vsw *sw);

/* ---- Ports -------------------------------------------------------------- */

enum vsw_port_class {
    VSW_PORT_DPDK,      /* any ethdev from devargs */
    VSW_PORT_INTERNAL,  /* host vNIC: a TAP via net_tap, addresses via libnl */
    VSW_PORT_UPLINK,    /* external switch binding: kernel NIC or devargs */
};

struct vsw_port_spec {
    char name[VSW_NAME_MAX];
    enum vsw_port_class cls;
    const char *devargs;        /* DPDK / uplink-by-devargs */
    const char *ifname;         /* INTERNAL: TAP name; UPLINK: kernel NIC */
    const char *const *addresses; /* INTERNAL: CIDRs */
    uint32_t n_addresses;
    uint32_t mtu;               /* INTERNAL; 0 = leave */
    /* Open ports the caller closes once this one is in use (a port
     * replaced in one transaction: renamed, or its devargs changed): this
     * port may bind a kernel NIC one of them holds.  NULL if none. */
    struct vsw_port *const *replacing;
    uint32_t n_replacing;
};

/* Opens the device.  Returns 0, -EINVAL (bad spec), -ENODEV (device or
 * interface missing), -ENOSPC (no free id), -EIO (driver refused),
 * -EBUSY (its kernel NIC is bound by another port), -ENOMEM (out of
 * memory, the driver's included).
 *
 * A kernel NIC bound through af_packet or af_xdp is changed: set up and
 * promiscuous, its IPv6 switched off (net.ipv6.conf.<if>.disable_ipv6,
 * which drops its IPv6 addresses), and the host's IPv4 kept off it
 * (net.ipv4.conf.<if>.arp_ignore 1 unless 2 or 8, rp_filter 1: no ARP
 * answer there for another interface's address, nothing taken in through
 * a NIC without addresses and routes).  Its state before, with the IPv6
 * addresses set by hand, is recorded first; a failed open puts it back, and so
 * does vsw_port_close() (unless another open port is bound to the same
 * NIC), which never fails for it: a NIC gone meanwhile is nothing to
 * restore, a refusal is logged.
 *
 * The NIC is the one its name or altname (`ip link property add ...
 * altname`) resolves to, by ifindex: the port's ifname (vsw_port_ifname)
 * is the kernel's name of it.  One NIC, one port: a NIC another open port
 * holds, under any of its names, is refused (-EBUSY, nothing changed),
 * unless every port holding it is among spec->replacing. */
int vsw_port_open(struct vsw *sw, const struct vsw_port_spec *spec,
                  struct vsw_port **out, struct vsa_errmsg *em);
void vsw_port_close(struct vsw *sw, struct vsw_port *port);

/* Reconfigures a host vNIC's addresses and MTU (libnl): the MTU (and the
 * link up), then the addresses the new list leaves out go, then the ones
 * the TAP lacks are added; the MTU is the port's in the datapath too
 * (vsw_port_mtu).  Returns 0, -EINVAL (not a host vNIC, bad address),
 * -ENODEV, -ENOMEM, -EIO (the kernel refused a change); a failure undoes
 * the requests before it (the old addresses, MTU and admin state come
 * back, unless the kernel refuses those too: logged, and em says so).
 * Same as the prepare/apply pair below. */
int vsw_port_set_host_addrs(struct vsw *sw, struct vsw_port *port,
                            const char *const *addresses, uint32_t n,
                            uint32_t mtu, struct vsa_errmsg *em);

/* The same change in steps, for a transaction (vesperd's apply.c): prepare
 * makes every allocation and parses the addresses, and changes nothing (0,
 * -EINVAL, -ENODEV, -ENOMEM); apply only sends the requests (0, -EIO,
 * -ENOMEM: libnl could not build a request), and a failure undoes the ones
 * before it; revert undoes a successful apply when a later step of the
 * transaction fails (best effort: returns how many requests the kernel
 * refused, each logged; 0 when the TAP is as it was, link admin state
 * included); abort frees the change, applied or not (NULL is a no-op).  The port stays open until then.  The port's MTU in the switch
 * (vsw_port_mtu) becomes the new one when a configuration with it is
 * published (vsw_commit_publish: struct vsw_cfg_port's mtu), not at the
 * apply.  Control thread. */
struct vsw_host_addrs;
int vsw_port_host_addrs_prepare(struct vsw *sw, struct vsw_port *port,
                                const char *const *addresses, uint32_t n,
                                uint32_t mtu, struct vsw_host_addrs **out,
                                struct vsa_errmsg *em);
int vsw_port_host_addrs_apply(struct vsw *sw, struct vsw_host_addrs *h,
                              struct vsa_errmsg *em);
int vsw_port_host_addrs_revert(struct vsw *sw, struct vsw_host_addrs *h);
void vsw_port_host_addrs_abort(struct vsw *sw, struct vsw_host_addrs *h);

uint16_t vsw_port_id(const struct vsw_port *port);
const char *vsw_port_name(const struct vsw_port *port);
bool vsw_port_link_up(const struct vsw_port *port);
struct vsa_mac vsw_port_mac(const struct vsw_port *port);
/* The kernel interface behind the port, "" if none. */
const char *vsw_port_ifname(const struct vsw_port *port);
/* The port's MTU as the datapath applies it (published with the
 * configuration, see vsw_commit): a frame leaving the port longer than
 * MTU + 14 bytes (+ 4 with an 802.1Q tag) is dropped on it as `oversize`.
 * The smallest of what its device reports (rte_eth_dev_get_mtu), the MTU
 * of its kernel NIC (a port bound to one: followed through
 * vsw_kernel_link_event and the 1 s poll), a host vNIC's configured MTU,
 * a VM NIC's (vsw_port_plugin.mtu_get), and VSW_PORT_MTU_MAX. */
uint32_t vsw_port_mtu(const struct vsw_port *port);

/* ---- Configuration ------------------------------------------------------ */

struct vsw_cfg_switch {
    char name[VSW_NAME_MAX];
    uint32_t fdb_max;
    uint32_t aging_s;
};

struct vsw_cfg_port {
    struct vsw_port *port;
    uint32_t switch_idx;           /* index into vsw_cfg.switches */
    struct vlan_port_mode vlan;
    uint32_t learn_limit;          /* 0 = none */
    /* A host vNIC's MTU as the configuration has it (the one its address
     * change sets on the TAP), published with the configuration so that
     * no second snapshot is needed when the change is sent; 0: as it is.
     * Ignored for other classes. */
    uint32_t mtu;
};

/* A static FDB entry.  `port` NULL: the entry's port has no device yet
 * (vesperd keeps such a port configured and opens it later); the entry is
 * not added, but the room check (vsw_commit_prepare) counts it, so that
 * the commit that opens the port cannot be refused for want of room. */
struct vsw_cfg_static {
    uint32_t switch_idx;
    uint16_t vid;
    struct vsa_mac mac;
    struct vsw_port *port;
};

struct vsw_cfg {
    const struct vsw_cfg_switch *switches;
    uint32_t n_switches;
    const struct vsw_cfg_port *ports;
    uint32_t n_ports;
    const struct vsw_cfg_static *statics;
    uint32_t n_statics;
};

/* Publishes a configuration.  Switches are matched to existing ones by name
 * (their FDBs are kept; a changed fdb_max rebuilds the table).  Returns 0,
 * -EINVAL, -ENOMEM; on error nothing changed.  Same as vsw_commit_prepare()
 * followed by vsw_commit_publish(). */
int vsw_commit(struct vsw *sw, const struct vsw_cfg *cfg,
               struct vsa_errmsg *em);

/* A commit prepared but not yet published. */
struct vsw_commit;

/* Validates `cfg` and allocates everything publishing it needs; changes
 * nothing.  Until the commit is published or aborted, `cfg` (and the arrays
 * it points to) must stay valid, the ports it names open, and no other
 * commit may be published.  Returns 0, -EINVAL, -ENOMEM. */
int vsw_commit_prepare(struct vsw *sw, const struct vsw_cfg *cfg,
                       struct vsw_commit **out, struct vsa_errmsg *em);
/* Publishes a prepared commit (RCU, as vsw_commit) and frees it.  Cannot
 * fail. */
void vsw_commit_publish(struct vsw *sw, struct vsw_commit *c);
/* Frees a prepared commit without publishing it; NULL is a no-op. */
void vsw_commit_abort(struct vsw *sw, struct vsw_commit *c);

/* The FDB of the named switch in the published configuration, or NULL. */
struct vsw_fdb *vsw_switch_fdb(struct vsw *sw, const char *name);

/* ---- Periodic work (control thread timer) ------------------------------- */

/* Polls link state, flushes FDB entries of ports whose link went down, runs
 * a bounded aging sweep per switch, drains captures.  Call every ~100 ms. */
void vsw_tick(struct vsw *sw);
/* Called by the netlink monitor on a kernel link event: the interface of
 * `ifindex` (now named `ifname`, with MTU `mtu`; 0: not said) is up (admin
 * up with carrier) or not, or `gone` (deleted).  A port bound to it whose
 * MTU this changes is published again with the new one (vsw_port_mtu).  Ports follow the interface they bound by its index, so
 * a renamed NIC is still theirs and a NIC made again under the old name is
 * not: that port stays down until a new port replaces it (an uplink's
 * switch deleted and added again, another port deleted and added again,
 * or vesperd restarted), as the log line says. */
void vsw_kernel_link_event(struct vsw *sw, int ifindex, const char *ifname,
                           uint32_t mtu, bool up, bool gone);
/* Called by the netlink monitor when link events were lost (its socket's
 * receive buffer overflowed): looks up the NIC of every kernel-bound port
 * now, as vsw_tick's once-a-second poll does, and removes each such
 * port's learned FDB entries (static ones stay): a link-down and up again
 * among the lost events cannot be told from nothing, and a link-down is
 * when the stations behind a port are forgotten (they may have moved).
 * Their unicast floods until they are learned again. */
void vsw_kernel_resync(struct vsw *sw);
/* Current time base the lcores use for FDB ages, in seconds. */
uint32_t vsw_now_s(const struct vsw *sw);

/* ---- Counters ----------------------------------------------------------- */

struct vsw_port_stats {
    uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes;
    uint64_t drops[VSW_DROP_MAX];
};

/* The packet pools' use, for operators and leak checks: `size` mbufs in
 * all, `in_use` of them outside the pool and its per-lcore caches (in a
 * device's receive ring, a port's queue, an lcore's burst, a capture's
 * writer).  Read from the pools' counters without a lock, so a value read
 * under traffic is a moment's: compare values taken when traffic is idle.
 * Any thread. */
struct vsw_pool_usage {
    uint32_t size, in_use;                 /* the packet pool */
    uint32_t capture_size, capture_in_use; /* the captures' copies */
};
void vsw_get_pool_usage(const struct vsw *sw, struct vsw_pool_usage *out);

/* Sums the per-lcore counters of a port since it was opened (or cleared). */
void vsw_get_port_stats(const struct vsw *sw, const struct vsw_port *port,
                        struct vsw_port_stats *out);
void vsw_clear_port_stats(struct vsw *sw, const struct vsw_port *port);

/* ---- Capture ------------------------------------------------------------ */

enum vsw_capture_dir { VSW_CAPTURE_RX = 1, VSW_CAPTURE_TX = 2,
                       VSW_CAPTURE_BOTH = 3 };

/* Captures kept at once, running or ended and not yet forgotten (one
 * running capture per port). */
#define VSW_MAX_CAPTURES 16

/* Starts recording the port's frames into a pcap file (libpcap).  count 0 =
 * until stopped.  Returns a capture id > 0, or -EBUSY (port already
 * captured), -ENAMETOOLONG (file of VSW_CAPTURE_FILE_MAX bytes or more),
 * -EINVAL/-EEXIST/-errno (the file: not one a capture may write, or the
 * pcap header could not be written), -ENOMEM.  A refused
 * start leaves no file it created (an existing file it truncated stays).
 *
 * A write that fails later (a full disk, an I/O error) ends the capture:
 * the file is cut back to the frames written before (whole records, a
 * valid pcap), the error is kept for vsw_capture_info.error and logged
 * once, and the frames that did not reach the file are counted in
 * vsw_capture_info.lost. */
int vsw_capture_start(struct vsw *sw, struct vsw_port *port,
                      const char *file, uint64_t count,
                      enum vsw_capture_dir dir, uint32_t snaplen,
                      struct vsa_errmsg *em);
/* Why a capture ended (vsw_capture_info.ended); the first cause counts. */
enum vsw_capture_ended {
    VSW_CAPTURE_RUNNING = 0,       /* it has not */
    VSW_CAPTURE_ENDED_COUNT,       /* its count of frames is in the file */
    VSW_CAPTURE_ENDED_STOPPED,     /* vsw_capture_end or vsw_capture_stop */
    VSW_CAPTURE_ENDED_PORT_CLOSED, /* its port was closed (vsw_port_close) */
    VSW_CAPTURE_ENDED_ERROR,       /* writing or closing the file failed */
};
/* A capture's file name, with its NUL (longer ones are refused). */
#define VSW_CAPTURE_FILE_MAX 512
struct vsw_capture_info {
    uint16_t port_id;              /* 0xffff once the capture has ended */
    char port[VSW_NAME_MAX];       /* the port's name, also after the end */
    char file[VSW_CAPTURE_FILE_MAX];
    uint64_t captured;             /* frames in the file */
    bool done;                     /* ended != VSW_CAPTURE_RUNNING */
    enum vsw_capture_ended ended;
    enum vsw_capture_dir dir;
    uint64_t lost;                 /* frames lost to `error` */
    char error[640];               /* "writing FILE: reason", "closing
                                    * FILE: reason", or "" */
};
/* The capture's state, after writing what its ring holds (a capture whose
 * file failed or that has its count of frames ends there). */
int vsw_capture_status(struct vsw *sw, int id, struct vsw_capture_info *out);
/* Stops (if running), flushes and forgets the capture. */
int vsw_capture_stop(struct vsw *sw, int id, struct vsw_capture_info *out);
/* Stops (if running) and flushes the capture but keeps it: status still
 * reports it (done) until vsw_capture_stop forgets it.  A capture either
 * call ends is VSW_CAPTURE_ENDED_STOPPED (unless its last frames complete
 * its count or fail); one that had ended keeps its reason. */
int vsw_capture_end(struct vsw *sw, int id, struct vsw_capture_info *out);
/* The id of the capture running on `port`, or -ENOENT. */
int vsw_capture_of_port(const struct vsw *sw, const struct vsw_port *port);
/* The ids of every capture kept (running or ended), ascending, into
 * ids[0..max-1]; returns how many there are. */
int vsw_capture_ids(const struct vsw *sw, int *ids, int max);

#endif /* VSW_VSWITCH_H */
