/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hv_part.h — the partition socket: how a guest (vesper-guest, a test
 * client) becomes a child partition of the host.
 *
 * Design
 * ------
 * One SOCK_SEQPACKET Unix socket per partition (default path
 * /run/vesper/vm/NAME.sock, mode 0660).  Every packet is one frame:
 * {kind u32, len u32} + len bytes of payload (little-endian; layouts in
 * docs/vmbus-transport.md).  Kinds:
 *   HELLO        host→guest  accepted; {proto u32, reserved u32}
 *   REFUSED      host→guest  {reason u32}: another guest is connected, or
 *                            the host has no memory for the partition;
 *                            then close
 *   CHAN_MSG     both        one VMBus channel message (≤ 240 bytes)
 *   MEM_REGION   guest→host  {gpa u64, size u64} + a sealed memfd
 *   SIGNAL_SETUP guest→host  {relid u32, dir u32} + an fd; dir 0 = guest
 *                            signals host (an eventfd and nothing else:
 *                            hv_chan_in_signal_fd_check), 1 = host signals
 *                            guest (one end of an AF_UNIX SOCK_SEQPACKET
 *                            socketpair, never an eventfd: see hv_vmbus.h,
 *                            Signals); anything else is a bad frame
 *   IO_TRAP      guest→host  {dev, flags, addr, size, value}: an emulated
 *                            device access (flags: HV_PART_IO_WRITE,
 *                            HV_PART_IO_CONFIG, HV_PART_IO_MEM)
 *   IO_TRAP_DONE host→guest  same layout, value filled for reads
 *   IRQ_SETUP    guest→host  {line u32, reserved u32} + one end of an
 *                            AF_UNIX SOCK_SEQPACKET socketpair the host
 *                            signals to raise that interrupt line (never
 *                            an eventfd, as for SIGNAL_SETUP dir 1;
 *                            anything else is a bad frame)
 * File descriptors travel as SCM_RIGHTS on exactly the frames that carry
 * one; any other fd, a truncated frame or a length that does not match is
 * counted (bad_frame) and dropped.  MEM_REGION failures (unsealed memfd,
 * overlap, bad size) disconnect the guest: without its memory nothing else
 * can work.  So does a region the host cannot map for lack of memory
 * (mmap ENOMEM), which counts `nomem`, not bad_frame: the guest broke no
 * rule.
 *
 * Host: hv_part_host listens, accepts ONE guest at a time (a second one
 * gets REFUSED and is closed), maps its regions into a fresh hv_mem, runs
 * an hv_vmbus_host on the CHAN_MSG frames and wires each opened channel to
 * its two signal fds.  When the guest disconnects, every channel is closed,
 * GPADLs and mappings are released, every received fd is closed, and the
 * host listens again: reconnecting needs no reconfiguration.
 * The connection is non-blocking (the host's own file, which the guest
 * cannot change): a frame the guest's socket has no room for fails with
 * EAGAIN instead of blocking the control thread.  A channel message that
 * cannot be sent (the socket full, after about 280 unread frames: the
 * guest does not read it; or any other send error) is counted msgs_lost
 * by hv_vmbus_host and ends the connection: VMBus does not resend, the
 * guest would wait for that reply for ever and its view of the bus
 * (GPADLs, channels) would differ from the host's.  The send shuts the socket down, which wakes the owner's
 * poll, and the next hv_part_host_on_conn drops the guest (one
 * rate-limited log line); reconnecting starts afresh.
 *
 * Guest: hv_part_guest connects, waits for HELLO, allocates its memory as
 * memfds (sealed against shrinking) and shares them, creates signal fds, and
 * drives hv_vmbus_guest over the same socket, with blocking helpers for
 * the common sequences (handshake, open a channel with its ring GPADL).
 *
 * Emulated devices (IO_TRAP, IRQ_SETUP)
 * -------------------------------------
 * A trapped access is answered synchronously, like a VM exit: the guest
 * sends IO_TRAP and waits; the host validates it, calls ops.io_trap on the
 * same thread and replies IO_TRAP_DONE before it reads the next frame.
 *   - `dev` is the device index (for vesperd: the position of a legacy NIC
 *     among the VM's legacy NICs, tools/vesperd/vm.h); the host does not
 *     interpret it, io_trap does.
 *   - HV_PART_IO_CONFIG: `addr` is an offset into the device's PCI
 *     configuration space; otherwise `addr` is an offset into a BAR
 *     (HV_PART_IO_MEM: the memory BAR, else the I/O BAR).  CONFIG and MEM
 *     together are refused.
 *   - `size` must be 1, 2 or 4 and the flags known: anything else is
 *     counted (bad_io), io_trap is NOT called, and a read answers all-ones
 *     (~0).  A valid write's value is cut to `size` bytes before io_trap
 *     sees it; a valid read starts as all-ones of `size` bytes (what PCI
 *     returns for an access nobody claims: a read of a device index that
 *     does not exist therefore answers 0xff / 0xffff / 0xffffffff, which is
 *     how a guest enumerates) and io_trap's answer is cut to `size` bytes.
 *     A write nobody claims is simply dropped.
 *   - every trap is counted (io_traps); a reply the guest's socket has no
 *     room for is dropped and counted (io_unanswered): the guest only
 *     starves itself.
 * Interrupts: line L (< HV_PART_MAX_IRQS; vesperd: line = device index)
 * is, like a host→guest channel signal (hv_vmbus.h, Signals), one end of
 * an AF_UNIX SOCK_SEQPACKET socketpair that the guest registers with
 * IRQ_SETUP and whose other end it keeps (checked with
 * hv_chan_signal_fd_check: an eventfd, a pipe, any other socket or file is
 * refused as a bad frame); registering a line again replaces its fd.  An
 * eventfd is not accepted because the guest shares its file: with
 * O_NONBLOCK cleared and the counter full, a write() would block the
 * control thread.  hv_part_host_raise_irq() sends one 8-byte message
 * (value 1) with MSG_DONTWAIT | MSG_NOSIGNAL, per-call flags, so nothing
 * the guest does to the shared socket (clear O_NONBLOCK, shrink SO_SNDBUF,
 * stop reading, close its end) can block the host or raise SIGPIPE in it.
 * A full queue is skipped and counted (irqs_coalesced: the unread
 * interrupts wake the guest anyway), any other failure is counted
 * (irqs_failed).  The guest reads 8 bytes per raised interrupt and drains
 * its end until EAGAIN (unread messages keep it readable, so a bounded
 * batch per wakeup works too).  Level semantics are the device model's
 * business: it raises again whenever the line is (still) asserted after
 * something the guest did, and the guest re-reads its status register
 * when woken.
 *
 * Logging
 * -------
 * Every line a guest can cause (refused connections, frames, memory
 * regions and device accesses, failed interrupts) starts with "vm NAME:"
 * (hv_part_host_set_name: the VM's name; by default the socket path).
 * Each partition carries its own log budget, HV_PART_LOG_VM_BURST lines
 * per HV_PART_LOG_PERIOD_S seconds, and every line also needs a token from
 * the budget of all partitions of the process (HV_PART_LOG_ALL_BURST per
 * period): a guest that floods silences only itself, and many of them
 * cannot flood the log (vsa_log.h, VSA_LOG_RL2).  The partition's
 * hv_vmbus_host logs under the same name with a budget of its own
 * (hv_vmbus.h, Logging).
 *
 * Thread-safety
 * -------------
 * Both objects belong to one thread (the control thread on the host, the
 * agent's main thread in the guest).  Channel rings and signal fds are then
 * handed to whichever thread services the channel (see hv_vmbus.h).
 */
#ifndef HV_PART_H
#define HV_PART_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv/hv_mem.h"
#include "hv/hv_ring.h"
#include "hv/hv_vmbus.h"

enum hv_part_kind {
    HV_PART_HELLO = 1,
    HV_PART_REFUSED = 2,
    HV_PART_CHAN_MSG = 3,
    HV_PART_MEM_REGION = 4,
    HV_PART_SIGNAL_SETUP = 5,
    HV_PART_IO_TRAP = 6,
    HV_PART_IO_TRAP_DONE = 7,
    HV_PART_IRQ_SETUP = 8,
};

#define HV_PART_PROTO_VERSION 1u
#define HV_PART_FRAME_HDR 8u
#define HV_PART_MAX_PAYLOAD 256u
#define HV_PART_SIGNAL_TO_HOST 0u
#define HV_PART_SIGNAL_TO_GUEST 1u
#define HV_PART_MAX_IRQS 8u
#define HV_PART_REFUSED_BUSY 1u  /* another guest is connected */
#define HV_PART_REFUSED_NOMEM 2u /* the host has no memory for a partition */
/* Log budgets (see Logging): per partition, and for all together. */
#define HV_PART_LOG_VM_BURST 10u
#define HV_PART_LOG_ALL_BURST 50u
#define HV_PART_LOG_PERIOD_S 10u

/* An emulated-device access (IO_TRAP / IO_TRAP_DONE payload, 32 bytes). */
struct hv_part_io {
    uint32_t dev;   /* device index */
    uint32_t flags; /* HV_PART_IO_* */
    uint64_t addr;  /* config-space or BAR offset */
    uint32_t size;  /* 1, 2 or 4 bytes */
    uint64_t value; /* written value, or the answer of a read */
};
#define HV_PART_IO_WRITE 0x1u
/* addr is a PCI configuration-space offset of device `dev` (else a BAR
 * offset).  A read of a device that does not exist returns all-ones, as
 * on PCI, which is how a guest enumerates emulated devices. */
#define HV_PART_IO_CONFIG 0x2u
/* The access went through the memory BAR (BAR1) rather than the I/O BAR
 * (BAR0); both map the same registers on the 21140. */
#define HV_PART_IO_MEM 0x4u
#define HV_PART_IO_FLAGS (HV_PART_IO_WRITE | HV_PART_IO_CONFIG | HV_PART_IO_MEM)

/* ---- Host ---------------------------------------------------------------- */
struct hv_part_host;

struct hv_part_host_ops {
    /* Forwarded from hv_vmbus_host (signal fds already attached). */
    int (*chan_open)(void *ctx, struct hv_chan *ch);
    void (*chan_close)(void *ctx, struct hv_chan *ch);
    /* An emulated-device access, already validated (size 1/2/4, known
     * flags, a write's value cut to size); for a read io->value holds
     * all-ones of `size` bytes: replace it to answer.  Optional: without
     * it every read answers all-ones. */
    void (*io_trap)(void *ctx, struct hv_part_io *io);
    /* Guest connected / gone.  Optional. */
    void (*guest_up)(void *ctx);
    void (*guest_down)(void *ctx);
};

/* Creates the socket at `path` (an existing socket file is replaced),
 * mode 0660.  Returns 0, -ENAMETOOLONG, -ENOMEM or the socket -errno. */
int hv_part_host_create(const char *path, const struct hv_part_host_ops *ops,
                        void *ctx, struct hv_part_host **out);
/* Disconnects the guest, closes and unlinks the socket. */
void hv_part_host_destroy(struct hv_part_host *p);
/* Names the VM in log lines, here and in its hv_vmbus_host ("vm NAME:
 * ..."; NULL: the socket path, the default).  Call it before a guest
 * connects. */
void hv_part_host_set_name(struct hv_part_host *p, const char *name);
const char *hv_part_host_name(const struct hv_part_host *p);

/* For the caller's epoll loop. */
int hv_part_host_listen_fd(const struct hv_part_host *p);
int hv_part_host_conn_fd(const struct hv_part_host *p); /* -1: no guest */
/* Listen socket readable: accept (or refuse a second guest).  0 or -errno. */
int hv_part_host_on_listen(struct hv_part_host *p);
/* Guest socket readable: one frame.  0, or -ECONNRESET when the guest went
 * away (state already reset). */
int hv_part_host_on_conn(struct hv_part_host *p);
/* Convenience for tests and simple loops: poll both fds up to timeout_ms
 * and dispatch.  Returns the number of events handled (≥ 0) or -errno. */
int hv_part_host_run_once(struct hv_part_host *p, int timeout_ms);
/* Drops the current guest (as if it disconnected). */
void hv_part_host_kick(struct hv_part_host *p);

bool hv_part_host_connected(const struct hv_part_host *p);
struct hv_vmbus_host *hv_part_host_vmbus(struct hv_part_host *p);
/* Guest memory of the current connection (no reference taken); NULL. */
struct hv_mem *hv_part_host_mem(struct hv_part_host *p);
/* Socket of interrupt line `line` (the host's socketpair end), -1. */
int hv_part_host_irq_fd(const struct hv_part_host *p, uint32_t line);
/* Raises interrupt line `line`: sends one 8-byte message on its socket
 * with MSG_DONTWAIT | MSG_NOSIGNAL, never blocking (see the essay).
 * Returns 0 (sent, counted irqs_raised; or skipped because the queue is
 * full, counted irqs_coalesced: a wakeup is pending), -EINVAL (line out of
 * range), -ENOTCONN (no socket registered for the line; counted
 * irqs_no_fd), or the -errno of send (e.g. -EPIPE: the guest closed its
 * end; counted irqs_failed). */
int hv_part_host_raise_irq(struct hv_part_host *p, uint32_t line);
/* Partition counters: transport (bad_frame, nomem) and emulated devices
 * (io_traps, bad_io, io_unanswered, irqs_*).  Channel messages are counted
 * by the VMBus host (hv_vmbus_host_stats: msgs_in, msgs_out, msgs_lost). */
const struct hv_stats *hv_part_host_stats(const struct hv_part_host *p);
/* Connections accepted and refused so far. */
uint64_t hv_part_host_accepted(const struct hv_part_host *p);
uint64_t hv_part_host_refused(const struct hv_part_host *p);

/* ---- Guest --------------------------------------------------------------- */
struct hv_part_guest;

/* A channel opened by the guest: rings over its own ring GPADL. */
struct hv_part_guest_chan {
    uint32_t relid;
    uint32_t ring_gpadl;
    struct hv_ring *out; /* guest→host, we write */
    struct hv_ring *in;  /* host→guest, we read */
    int to_host_fd;      /* eventfd we write to signal the host */
    int from_host_fd;    /* socket the host signals: read 8 bytes/signal */
};

/* Every frame the guest sends waits at most this long for room in the
 * host's queue; then the send fails -ECOMM (a host that stopped reading:
 * treat it as gone). */
#define HV_PART_GUEST_SEND_TIMEOUT_MS 2000

/* Connects to `path` and waits up to timeout_ms (< 0: forever) in all for
 * the connection (a full listen backlog) and HELLO.  Returns 0, -EBUSY
 * (another guest is connected), -ENOMEM (refused: the host has no memory
 * for a partition), -ETIMEDOUT, -EPROTO, or -errno. */
int hv_part_guest_connect(const char *path, int timeout_ms,
                          struct hv_part_guest **out);
/* Closes the socket and every fd, unmaps the memory. */
void hv_part_guest_close(struct hv_part_guest *pg);
int hv_part_guest_fd(const struct hv_part_guest *pg);

/* Creates a sealed memfd of `size` bytes at guest address `gpa`, maps it
 * and shares it with the host.  0, -EINVAL, -ENOSPC, or -errno. */
int hv_part_guest_add_memory(struct hv_part_guest *pg, uint64_t gpa,
                             uint64_t size);
struct hv_mem *hv_part_guest_mem(struct hv_part_guest *pg);
/* `npages` zeroed pages of shared memory, GPA out; the first region with
 * room serves (pages hv_part_guest_close_chan gave back first). */
void *hv_part_guest_alloc_pages(struct hv_part_guest *pg, uint32_t npages,
                                uint64_t *gpa);

/* Sends one frame (no fd).  0, -ECOMM (not taken in
 * HV_PART_GUEST_SEND_TIMEOUT_MS), or -errno; so do all the guest calls
 * below that send. */
int hv_part_guest_send(struct hv_part_guest *pg, uint32_t kind,
                       const void *payload, size_t len);
/* Creates the two signal fds of channel `relid` (an eventfd to the host,
 * a socketpair end from it) and sends them.  They stay open until
 * hv_part_guest_close_chan or hv_part_guest_close. */
int hv_part_guest_setup_signals(struct hv_part_guest *pg, uint32_t relid,
                                int *to_host_fd, int *from_host_fd);
/* Creates a SOCK_SEQPACKET socketpair (close-on-exec, non-blocking) for
 * interrupt line `line`, sends one end with IRQ_SETUP and keeps the other
 * (*fd, open until hv_part_guest_close): it becomes readable when the host
 * raises the line, one 8-byte message per interrupt (drain until EAGAIN). */
int hv_part_guest_setup_irq(struct hv_part_guest *pg, uint32_t line,
                            int *fd);
/* Receives and dispatches one frame (CHAN_MSG → hv_vmbus_guest;
 * IO_TRAP_DONE recorded).  0 (also for a channel message that was dropped
 * as malformed or unexpected), -ETIMEDOUT, -ECONNRESET, -EPROTO,
 * -EPROTONOSUPPORT (no common VMBus version), or the error of a send that
 * answered the message. */
int hv_part_guest_poll(struct hv_part_guest *pg, int timeout_ms);
struct hv_vmbus_guest *hv_part_guest_vmbus(struct hv_part_guest *pg);

/* Blocking helpers.  handshake: version + offers, 0 or -errno. */
int hv_part_guest_handshake(struct hv_part_guest *pg, int timeout_ms);
/* Creates a GPADL over `npages` pages at `gpa` and waits for CREATED. */
int hv_part_guest_gpadl_sync(struct hv_part_guest *pg, uint32_t relid,
                             uint64_t gpa, uint32_t npages, uint32_t *id,
                             int timeout_ms);
/* Allocates a ring GPADL with `ring_pages` pages per ring (control page
 * included, ≥ 2), initialises both control pages, sets up the signals,
 * opens channel `relid` and builds the guest-side rings. */
int hv_part_guest_open_chan(struct hv_part_guest *pg, uint32_t relid,
                            uint32_t ring_pages, struct hv_part_guest_chan *ch,
                            int timeout_ms);
/* CLOSECHANNEL + GPADL teardown (waits for TORNDOWN); frees the rings and
 * closes the channel's signal fds.  The ring pages go back to the
 * allocator when the host's TORNDOWN arrives (even after a timeout here),
 * so open/close cycles do not grow memory or fds.  A failed open_chan
 * releases the same way. */
int hv_part_guest_close_chan(struct hv_part_guest *pg,
                             struct hv_part_guest_chan *ch, int timeout_ms);
/* Sends an IO_TRAP and waits for its IO_TRAP_DONE. */
int hv_part_guest_io(struct hv_part_guest *pg, struct hv_part_io *io,
                     int timeout_ms);

#endif /* HV_PART_H */
