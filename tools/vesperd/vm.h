/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vm.h — virtual machines (child partitions) in vesperd: one VMBus
 * partition socket per configured VM, one VMBus channel offer per
 * synthetic NIC, and one emulated PCI device per legacy NIC (prefix
 * vd_vm_).
 *
 * Design
 * ------
 * A VM of the configuration document (docs/config.md, `vms[]`) is an
 * hv_part_host listening on `<vm_dir>/<VM>.sock` (mode 0660; vm_dir is
 * vesperd's --vm-dir, default VD_DEFAULT_VM_DIR).  The hv_vmbus_host of that
 * partition carries one channel offer per synthetic NIC: class
 * hv_guid_netvsc, instance GUID vd_vm_instance_guid(VM, NIC) (a name-based
 * GUID: the same on every run, so a guest sees "the same" NIC after any
 * restart).  The offers are sent when the guest asks for them
 * (REQUESTOFFERS); a NIC added to a VM whose guest is connected is offered
 * at once, a NIC removed is rescinded at once (the channel is closed first
 * if it is open).
 *
 * Lifecycle of a partition: `waiting` (socket listening, no guest) →
 * `connected` (one guest; a second one is refused by hv_part_host) →
 * back to `waiting` when the guest disconnects, is kicked, or sends a
 * fatal frame; every channel is then closed, GPADLs, mappings and fds are
 * released, and the offers stay configured, so a guest reconnects without
 * any reconfiguration.  vesperd recreates every socket from the
 * configuration when it starts (hv_part_host replaces a stale file).
 *
 * Event loop: the module owns an epoll instance of its own, exposed as one
 * pollable fd (vd_vm_fd); vesperd's control loop adds that fd to its own
 * epoll set and calls vd_vm_run(h, 0) when it is readable, and vd_vm_tick()
 * every ~100 ms.  Inside are, per partition, the listen socket, the guest's
 * connection socket (both level-triggered), and, per open channel whose
 * guest signals vesperd handles (a channel without a protocol handler, or
 * one whose glue sets channel_signal, as the synthetic port does although
 * its lcore serves the rings), the guest→host signal eventfd
 * (edge-triggered: the guest shares that file and may clear O_NONBLOCK or
 * drain it itself, so it is read only with RWF_NOWAIT, see
 * hv_chan_ack_signal).  Work is bounded per wakeup: one socket frame per
 * connection event, VD_VM_DRAIN_BUDGET ring packets per channel drained
 * without a handler; leftover work re-arms an internal eventfd so the loop
 * comes back.
 *
 * Transactions: vd_apply() (apply.c) changes the VM set together with the
 * rest of the configuration.  vd_vm_prepare() does everything that can
 * fail and nothing a guest can see: it creates the sockets of new VMs (and
 * their offers, invisible while no guest is connected) and allocates the
 * NICs new to existing VMs.  vd_vm_commit() then cannot fail: it destroys
 * the VMs that left (their guests are disconnected, sockets unlinked),
 * rescinds removed NICs, offers new ones, and starts accepting guests on
 * new sockets.  vd_vm_abort() undoes a prepare.  (An offer that cannot be
 * allocated at commit time, -ENOMEM, is retried by vd_vm_tick.)
 *
 * Safety: everything a guest sends is checked by hv/ (frames, channel
 * messages, GPADLs, rings); a violation is counted per partition and per
 * channel, logged rate-limited, and costs only that channel (BROKEN) or
 * that partition.  On top of that a guest that racks up more than
 * VD_VM_MAX_VIOLATIONS refused frames / messages / GPADLs / broken channels
 * / refused device accesses (bad_io) on one connection is disconnected
 * (`kicked`): other partitions and the control socket are never affected.
 *
 * Logging: the lines a guest causes here (its connects and disconnects,
 * channel opens, signal storms, kicks) say "vm NAME:", and so do hv/'s
 * (hv_part_host_set_name).  Each VM has its own budgets (VD_VM_LOG_*: a
 * guest that reconnects in a loop is logged a dozen times a minute, a
 * normal one every time), and a line also needs a token from a budget of
 * all VMs together, so one VM's flood never hides another VM's lines and
 * many VMs cannot flood the log (vsa_log.h, VSA_LOG_RL2).
 *
 * The synthetic port glue (struct vd_vm_nic_ops)
 * ----------------------------------------------
 * The switch port of a synthetic NIC (vswitch port class `synthetic`, the
 * NVSP/RNDIS VSP of vsp-net/) plugs in here with vd_vm_host_set_nic_ops().
 * Every hook runs on the CONTROL thread, inside vd_vm_run(), vd_vm_tick(),
 * vd_vm_commit() or vd_vm_host_destroy(); none may block.
 *
 *   channel_opened(ctx, nic, ch)  the guest opened the channel of `nic`
 *        (OPENCHANNEL with a valid ring GPADL and both signal eventfds).
 *        hv_chan_in_ring/out_ring/in_signal_fd(ch) are valid, as is
 *        hv_part_host_mem(nic->part) (guest memory, for the VSP's receive
 *        and send buffer GPADLs: hv_vmbus_host_gpadl_get).  Return 0 to
 *        take the channel: from then until channel_closed returns, the glue
 *        OWNS the two rings, the channel's counters, hv_chan_notify_guest
 *        and hv_chan_ack_signal, on whatever thread it chooses, one at a
 *        time (an lcore; the synthetic port serialises its lcores with a
 *        spinlock).  Return a negative errno to refuse: the guest gets
 *        OPENCHANNEL_RESULT status 1 and the channel stays offered.
 *   channel_signal(ctx, nic, ch)  OPTIONAL.  When set, vesperd keeps the
 *        guest→host eventfd in its epoll and calls this on the control
 *        thread on every guest signal (the eventfd already drained and
 *        counted in signals_received), and once at the end of each signal
 *        backoff (see Signal storms).  Returns whether the signal found
 *        work: guest packets handled, or output that waited for ring space
 *        moved on.  When NULL, vesperd does not watch that fd: the glue
 *        polls hv_chan_in_signal_fd(ch) itself (and damps storms itself).
 *   channel_closed(ctx, nic, ch)  the channel is closing: guest
 *        CLOSECHANNEL, a ring or protocol violation (hv_chan_violation, or
 *        hv_vmbus_host_check_rings from vd_vm_tick for rings a datapath
 *        thread marked broken), NIC removed (rescind), VM removed, guest
 *        gone or kicked, vesperd stopping.  Called exactly once per
 *        accepted channel_opened.  The glue must stop touching the rings
 *        (wait for its lcore to leave them) and drop every GPADL reference
 *        it took before it returns; the rings are destroyed right after.
 *
 * The legacy device glue (struct vd_vm_dev_ops)
 * ---------------------------------------------
 * A legacy NIC (type "legacy": an emulated DEC 21140A, vsp-net/tulip.h)
 * is not on the VMBus: the guest reaches it through trapped accesses
 * (IO_TRAP frames, hv_part.h) and gets its interrupts on a line: a
 * socketpair end the guest registers with IRQ_SETUP.
 *
 * Device indexes: the legacy NICs of a VM are numbered 0, 1, ... in the
 * VM's NIC order (the order of vms[].nics[] in the configuration), counting
 * legacy NICs only: in [synthetic eth0, legacy eth1, legacy eth2] eth1 is
 * device 0 and eth2 device 1.  The index is the IO_TRAP `dev` and the
 * interrupt line of the device (hv_part_host_raise_irq(part, index)); the
 * guest agent's `--nic legacy:INDEX` picks the INDEX-th.  Indexes are the
 * same on every run and reconnect (vm.nic.add appends); removing a legacy
 * NIC renumbers the legacy NICs after it, at once — a connected guest
 * then finds those devices at new indexes, as after a PCI re-enumeration,
 * so remove the last one or restart the guest.  There are at most
 * CTL_MAX_VM_NICS (8 = HV_PART_MAX_IRQS) of them.
 *
 * Trapped accesses are validated by hv/ (size 1/2/4, flags) and then
 * dispatched here on the CONTROL thread, inside vd_vm_run: `dev` names the
 * device with that index.  An index no legacy NIC has, or whose device
 * the glue does not hold, is answered as a PCI bus answers an empty slot:
 * reads all-ones, writes dropped; counted (vm.show io_absent per VM,
 * traps / traps_unhandled per device).  Every access to a device is
 * counted (traps).
 *
 *   dev_attach(ctx, nic)  the guest connected (or a legacy NIC was added
 *        to a VM whose guest is connected).  hv_part_host_mem(nic->part)
 *        is the guest's memory (regions keep arriving after this call:
 *        resolve addresses at DMA time); nic->dev_index is the device's
 *        index and interrupt line.  Return 0 to take the device: dev_io
 *        calls follow, and dev_detach exactly once.  A negative errno
 *        refuses: the device reads as absent until the guest reconnects.
 *   dev_io(ctx, nic, io)  a trapped access to the device: configuration
 *        space (io->flags & HV_PART_IO_CONFIG) or a BAR; fill io->value
 *        for reads (it arrives all-ones of io->size).  Must not block.
 *   dev_detach(ctx, nic)  the guest is gone or kicked, the NIC or its VM
 *        was removed, vesperd is stopping.  hv/ has already dropped its
 *        reference on the guest memory (keep your own with hv_mem_get if
 *        you need it until here) and closed the interrupt line sockets.
 * `nic` stays valid from dev_attach until dev_detach returns; read
 * nic->dev_index at the time of use (it changes on renumbering).
 *
 * Extra fds: a glue that needs another wakeup of the control thread, such
 * as an eventfd its lcore writes, registers it with vd_vm_watch_add() and
 * removes it with vd_vm_watch_del() (before closing the fd); its callback
 * then runs on the control thread inside vd_vm_run().  synth.c and
 * legacy.c register their port's eventfd when the port is opened: the
 * synthetic port's lcore serves the channel and writes it to hand the
 * control thread a violation or a GPADL lookup (vsp-net/netvsp_port.h);
 * the legacy port's lcore writes it when frames for the guest are queued
 * (vsp-net/tulip_port.h).
 *
 * `nic` (struct vd_vm_nic_info) stays valid from channel_opened until
 * channel_closed returns; its strings and instance never change, its mac
 * and switch_name only if a configuration change edits them (no RPC does:
 * a NIC's MAC and switch are fixed at vm.nic.add).  Without ops, or
 * with ops whose channel_opened is NULL, vesperd services an opened
 * channel itself with no protocol handler: it drains the guest→host ring
 * and counts the packets as `unhandled` (vm.show), and never writes to the
 * host→guest ring.  A guest writer that filled the ring and asked for
 * room (pending_send_sz) is signalled once the drain made that room:
 * hv_chan_notify_guest never blocks (a socket send with MSG_DONTWAIT;
 * hv_vmbus.h, Signals).
 *
 * Signal storms (TESTS.md #27)
 * ----------------------------
 * A guest can write its guest→host eventfd in a tight loop with nothing in
 * its ring.  The eventfd coalesces, but every wakeup still costs the
 * control thread an epoll round, the drain and a service call: unchecked,
 * about 40 % of a core for one storming guest (t_signal_storm.sh).  So a
 * signal wakeup that finds no work (the service handled no guest packet,
 * moved no waiting output, and the channel's ring gave no packet since the
 * previous signal: pkts_read) is counted (signals_idle); after
 * VD_VM_STORM_IDLE_MAX of them in a row the channel's signal fd is taken
 * out of the watch set (EPOLL_CTL_MOD to no events) for a backoff of
 * VD_VM_STORM_BACKOFF_MIN_MS (counted: storm_backoffs, and one rate-limited
 * log line when a channel starts backing off).  When the backoff ends
 * (an internal timerfd; vd_vm_tick as a safety net) the pending signals
 * are drained and the ring is polled once, so that a signal that did
 * carry work is served at most one backoff late:
 *   - work found, or no signal came during the backoff: the fd is watched
 *     again and the channel is no longer suspect;
 *   - signals came and still no work: back off again at once, twice as
 *     long, up to VD_VM_STORM_BACKOFF_MAX_MS.
 * A storming guest therefore costs one short service per
 * VD_VM_STORM_BACKOFF_MAX_MS.  Well-behaved guests signal only when their
 * ring went non-empty (or when they freed ring space the host waits for),
 * so their wakeups find work and they never back off.  While a channel is
 * backed off, its glue still services it for everything else, ring reads
 * included (the synthetic port's lcore keeps polling the ring; its eventfd
 * and the 100 ms tick still reach the control thread).
 *
 * Thread-safety
 * -------------
 * Every vd_vm_* function is for the control thread only.  Hooks: see above.
 */
#ifndef VD_VM_H
#define VD_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/vsa_errmsg.h"
#include "common/vsa_mac.h"
#include "hv/hv_part.h"
#include "tools/ctl/ctl_config.h"

#define VD_DEFAULT_VM_DIR "/run/vesper/vm"
/* Refused frames, messages, GPADLs and broken channels one connection may
 * cause before the guest is disconnected. */
#define VD_VM_MAX_VIOLATIONS 256u
/* Ring packets drained per unhandled channel and wakeup. */
#define VD_VM_DRAIN_BUDGET 256u
/* Signal storms (above): idle signal wakeups in a row before a channel's
 * signals are put on hold, and the first and longest hold. */
#define VD_VM_STORM_IDLE_MAX 32u
#define VD_VM_STORM_BACKOFF_MIN_MS 1u
#define VD_VM_STORM_BACKOFF_MAX_MS 4u
/* Log budgets (Logging) of one VM and of all VMs together, per period:
 * connects, disconnects and channel opens; warnings; signal storms. */
#define VD_VM_LOG_INFO_BURST 12u
#define VD_VM_LOG_INFO_PERIOD_S 60u
#define VD_VM_LOG_INFO_ALL_BURST 40u
#define VD_VM_LOG_INFO_ALL_PERIOD_S 10u
#define VD_VM_LOG_WARN_BURST 10u
#define VD_VM_LOG_WARN_ALL_BURST 30u
#define VD_VM_LOG_WARN_PERIOD_S 10u
#define VD_VM_LOG_VSP_BURST 10u
#define VD_VM_LOG_VSP_PERIOD_S 10u
#define VD_VM_LOG_STORM_BURST 2u
#define VD_VM_LOG_STORM_ALL_BURST 10u
#define VD_VM_LOG_STORM_PERIOD_S 60u

struct vd_vm_host;
struct vd_vm_txn;

/* What the glue learns about a NIC. */
struct vd_vm_nic_info {
    const char *vm;            /* VM name */
    const char *nic;           /* NIC name */
    const char *port;          /* its switch port, "VM.NIC" */
    const char *switch_name;   /* the switch of that port */
    struct vsa_mac mac;        /* the NIC's MAC (configured or derived) */
    struct hv_guid instance;   /* the offer's instance GUID (synthetic) */
    struct hv_part_host *part; /* its partition (guest memory, VMBus) */
    enum ctl_nic_type type;    /* synthetic or legacy */
    uint32_t dev_index;        /* legacy: device index = interrupt line;
                                * VD_VM_NO_DEV for synthetic NICs */
    /* the VM's budget of protocol violation lines, one for all its NICs
     * (VD_VM_LOG_VSP_*; lcores draw from it): a guest with many NICs
     * must not use up the budget of all VMs (vsp-net/vsp.c) */
    struct vsa_ratelimit *vsp_rl;
};
#define VD_VM_NO_DEV UINT32_MAX

struct vd_vm_nic_ops {
    int (*channel_opened)(void *ctx, const struct vd_vm_nic_info *nic,
                          struct hv_chan *ch);
    bool (*channel_signal)(void *ctx, const struct vd_vm_nic_info *nic,
                           struct hv_chan *ch);
    void (*channel_closed)(void *ctx, const struct vd_vm_nic_info *nic,
                           struct hv_chan *ch);
};

struct vd_vm_dev_ops {
    int (*dev_attach)(void *ctx, const struct vd_vm_nic_info *nic);
    void (*dev_io)(void *ctx, const struct vd_vm_nic_info *nic,
                   struct hv_part_io *io);
    void (*dev_detach)(void *ctx, const struct vd_vm_nic_info *nic);
};

/* ---- Lifecycle ---------------------------------------------------------- */

/* Locks `vm_dir` for this process (created if missing, mode 0755): an
 * exclusive flock(2) on "<vm_dir>/.lock", dropped by the kernel when the
 * process ends.  Two vesperds on one directory would each replace the
 * other's partition sockets.  Returns the lock's descriptor (keep it open),
 * -EBUSY if another process holds it (em says so), or another -errno. */
int vd_vm_dir_lock(const char *vm_dir, struct vsa_errmsg *em);

/* An empty VM set whose sockets go into `vm_dir` (created on demand, mode
 * 0755).  Returns 0, -ENAMETOOLONG, -ENOMEM or the -errno of epoll/eventfd
 * (em says which). */
int vd_vm_host_create(const char *vm_dir, struct vd_vm_host **out,
                      struct vsa_errmsg *em);
/* Disconnects every guest (channel_closed for open channels), closes and
 * unlinks every socket, frees everything.  NULL is a no-op. */
void vd_vm_host_destroy(struct vd_vm_host *h);

/* Installs the synthetic port glue (ops copied; NULL removes it).  Only
 * while no channel is open: 0 or -EBUSY. */
int vd_vm_host_set_nic_ops(struct vd_vm_host *h,
                           const struct vd_vm_nic_ops *ops, void *ctx);

/* Installs the legacy device glue (ops copied, all three hooks required;
 * NULL removes it).  Only while no device is attached: 0, -EBUSY, or
 * -EINVAL (a hook missing).  Devices of guests already connected are
 * attached when their guest reconnects. */
int vd_vm_host_set_dev_ops(struct vd_vm_host *h,
                           const struct vd_vm_dev_ops *ops, void *ctx);

const char *vd_vm_host_dir(const struct vd_vm_host *h);

/* ---- Event loop ---------------------------------------------------------- */

/* One fd for the caller's poll/epoll set: readable when vd_vm_run has work. */
int vd_vm_fd(const struct vd_vm_host *h);
/* Waits up to timeout_ms (0: not at all) and handles what is ready.
 * Returns the number of events handled, or -errno of epoll_wait. */
int vd_vm_run(struct vd_vm_host *h, int timeout_ms);
/* Periodic work (~100 ms): closes channels whose rings a datapath thread
 * marked broken, releases deferred GPADL teardowns, retries offers that
 * failed for lack of memory, applies the violation limit. */
void vd_vm_tick(struct vd_vm_host *h);

/* Watches `fd` (level-triggered EPOLLIN; `fn` must drain it) and calls
 * fn(arg) from vd_vm_run on the control thread.  The fd must stay open
 * until vd_vm_watch_del.  Returns 0 (*out set), -ENOMEM, or the -errno of
 * epoll_ctl (-EEXIST if fd is watched already). */
struct vd_vm_watch;
typedef void vd_vm_watch_fn(void *arg);
int vd_vm_watch_add(struct vd_vm_host *h, int fd, vd_vm_watch_fn *fn,
                    void *arg, struct vd_vm_watch **out);
/* Stops watching (safe from inside any callback, its own included: an
 * event of the same batch is then skipped).  NULL is a no-op. */
void vd_vm_watch_del(struct vd_vm_host *h, struct vd_vm_watch *w);

/* ---- Transactions (see the essay) ----------------------------------------- */

/* Prepares the VM set of `cfg` (which must stay alive until commit or
 * abort).  Returns 0 with *txn, or -errno with em naming the VM and the
 * socket path: -ENAMETOOLONG (path longer than a socket address), -ENOMEM,
 * or the socket's -errno (bind, chmod, listen). */
int vd_vm_prepare(struct vd_vm_host *h, const struct ctl_config *cfg,
                  struct vd_vm_txn **txn, struct vsa_errmsg *em);
/* Makes the prepared set the running one; frees txn.  Cannot fail. */
void vd_vm_commit(struct vd_vm_host *h, struct vd_vm_txn *txn);
/* Undoes vd_vm_prepare: the new sockets are closed and unlinked. */
void vd_vm_abort(struct vd_vm_host *h, struct vd_vm_txn *txn);

/* ---- Introspection ------------------------------------------------------- */

/* {"vms":[{"name","state":"waiting"|"connected","nics":N}]}, config order
 * (N counts NICs of both types).  NULL on allocation failure. */
json_t *vd_vm_list_json(const struct vd_vm_host *h);
/* The partition state of VM `name` (docs/rpc.md, vm.show) in *out.
 * Returns 0, -ENOENT (no such VM), -ENOMEM. */
int vd_vm_show_json(struct vd_vm_host *h, const char *name, json_t **out);
/* The socket path of VM `name` (need not exist), into buf.  0 or
 * -ENAMETOOLONG. */
int vd_vm_socket_path(const struct vd_vm_host *h, const char *name,
                      char *buf, size_t size);
/* The partition of VM `name`, NULL if none. */
struct hv_part_host *vd_vm_part(struct vd_vm_host *h, const char *name);
/* The open channel of NIC `nic` of VM `vm`, NULL unless open. */
struct hv_chan *vd_vm_nic_chan(struct vd_vm_host *h, const char *vm,
                               const char *nic);
/* Packets drained from the NIC's ring without a handler; 0 if unknown. */
uint64_t vd_vm_nic_unhandled(const struct vd_vm_host *h, const char *vm,
                             const char *nic);

/* The instance GUID of NIC `nic` of VM `vm` (RFC 9562 version 8, from
 * ctl_vm_nic_hash), in wire byte order. */
void vd_vm_instance_guid(const char *vm, const char *nic,
                         struct hv_guid *out);
/* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (37 bytes with the NUL). */
#define VD_VM_GUID_STRLEN 37
char *vd_vm_guid_format(const struct hv_guid *g, char *buf);

#endif /* VD_VM_H */
