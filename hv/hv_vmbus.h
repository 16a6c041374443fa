/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hv_vmbus.h — the VMBus control plane: the host-side state machine
 * (hv_vmbus_host, one per partition) with its channels (hv_chan), and the
 * guest-side client (hv_vmbus_guest) that vesper-guest and the tests use to
 * drive the same handshake.
 *
 * Host design
 * -----------
 * The host processes decoded guest messages (hv_chan_msg.h) in a closed
 * table of (connection state × message) and (channel state × message):
 *
 *   connection  DISCONNECTED → CONNECTED (transport up, hv_vmbus_host_
 *               connect) → VERSIONED (INITIATE_CONTACT with a version in
 *               the list below) → READY (REQUESTOFFERS answered with every
 *               OFFERCHANNEL then ALLOFFERS_DELIVERED).  INITIATE_CONTACT is
 *               accepted in every connected state and resets the bus first
 *               (as a real host does on a guest kexec); UNLOAD resets and
 *               answers UNLOAD_RESPONSE (iPXE's probe).
 *   channel     IDLE (configured, not offered yet, or held back while a
 *               rescinded channel of the same device waits for its
 *               RELID_RELEASED) → OFFERED → OPEN → BROKEN (violation; the
 *               host stopped servicing it) / RESCINDED (host withdrew it;
 *               waits for RELID_RELEASED).
 *
 *   message          allowed in                        effect
 *   INITIATE_CONTACT connected                         reset, VERSION_RESPONSE
 *   REQUESTOFFERS    VERSIONED                         offers, ALLOFFERS
 *   UNLOAD           VERSIONED, READY                  reset, UNLOAD_RESPONSE
 *   GPADL_HEADER     READY; chan OFFERED/OPEN          start GPADL
 *   GPADL_BODY       READY; GPADL under construction   more PFNs; CREATED
 *   GPADL_TEARDOWN   READY; chan not IDLE              TORNDOWN (deferred
 *                                                       while referenced)
 *   OPENCHANNEL      READY; chan OFFERED               OPENCHANNEL_RESULT
 *   CLOSECHANNEL     READY; chan OPEN/BROKEN/RESCINDED close
 *   RELID_RELEASED   READY; chan RESCINDED             forget channel, offer
 *                                                       those held back for it
 * Everything else (wrong state, host→guest types, unknown channel, bad
 * GPADL) is refused with a counter and a rate-limited log line.  A refused
 * message that names an OPEN channel closes THAT channel (state BROKEN:
 * the guest must CLOSECHANNEL before it may open again), but for the
 * teardown of a GPADL the channel does not have (counted bad_gpadl and
 * logged: nothing of the channel is touched, so it stays open); the
 * connection and every other channel keep working.  A GPADL that fails validation is
 * answered with GPADL_CREATED status 1, an OPEN that fails with
 * OPENCHANNEL_RESULT status 1, like a real host.
 *
 * Versions accepted (§6.3): 0.13, 1.1, 2.4, 3.0, 4.0, 4.1, 5.0, 5.1, 5.2,
 * 5.3; others get version_supported = 0 and the guest may retry lower.
 *
 * GPADLs: single range, byte_offset 0, byte_count = pages × 4096; every
 * PFN inside guest memory; exact PFN count across HEADER + BODY messages;
 * limits of hv_gpadl.h.  Open: the ring GPADL must be complete and belong
 * to the channel; downstream_ringbuffer_pageoffset ≥ 2 and pages ≥ offset
 * + 2 (a control page and ≥ 1 data page per ring); both rings' indices are
 * validated at attach.  The guest→host ring accepts INBAND, GPA-direct and
 * COMP packets (the set a host accepts, §3) and cancel requests (0xa,
 * which iPXE's netvsc sends when it closes, nvsp-rndis.md §6.3; the upper
 * layer ignores them); any other type breaks the ring.  The host→guest
 * ring is written by us.
 *
 * The upper layer (the network VSP) is told through hv_vmbus_host_ops:
 * chan_open may refuse; chan_close must stop using the channel and drop
 * every GPADL reference it took before it returns.  Ring violations found
 * on a datapath thread only mark the ring broken; the control thread then
 * calls hv_vmbus_host_check_rings() to close those channels.
 *
 * Signals
 * -------
 * Each OPEN channel has two signal fds, both supplied by the guest over
 * the transport (hv_part.h, SIGNAL_SETUP).  Guest→host is an eventfd the
 * guest writes; hv_chan_ack_signal drains it with preadv2(RWF_NOWAIT),
 * which never blocks even if the guest cleared O_NONBLOCK on the shared
 * file.  Host→guest is NOT an eventfd: a write() to an eventfd whose
 * counter cannot take the value sleeps unless the file is O_NONBLOCK, the
 * guest shares that file (it can clear the flag and pre-load the counter
 * to 0xfffffffffffffffe), and pwritev2(RWF_NOWAIT) is not supported on
 * eventfds (EOPNOTSUPP), so any eventfd write could stall the servicing
 * thread and with it every channel on it.  The guest instead passes one
 * end of an AF_UNIX SOCK_SEQPACKET socketpair (checked by
 * hv_chan_signal_fd_check) and keeps the other.  hv_chan_notify_guest
 * sends an 8-byte message with MSG_DONTWAIT | MSG_NOSIGNAL, flags that
 * apply to that one call.  A full queue (about 280 unread signals) is
 * counted (signals_dropped) and ignored, because the signals already
 * queued will wake the guest.  A closed or broken peer is counted too.
 * The guest reads 8 bytes per signal, as it would from an eventfd.
 *
 * Logging
 * -------
 * Every line a guest can cause (refused messages and GPADLs, closed
 * channels, broken rings) starts with "vm NAME:" (hv_vmbus_host_set_name;
 * hv_part_host sets it) and names the channel where there is one.  Each
 * host carries its own log budget, HV_VMBUS_LOG_VM_BURST lines per
 * HV_VMBUS_LOG_PERIOD_S seconds, which its channels' rings share, and every
 * line also needs a token from the budget of all hosts of the process
 * together (HV_VMBUS_LOG_ALL_BURST per period; a broken ring's line from
 * hv_ring.c's budget of all rings instead, 20 per 10 s): a VM that floods
 * silences only itself, and a thousand of them cannot flood the log
 * (vsa_log.h, VSA_LOG_RL2).  Suppressed lines are reported per budget
 * ("vm NAME: N similar messages suppressed", "all rings: ...").
 *
 * Thread-safety
 * -------------
 * hv_vmbus_host_* and hv_chan_violation are control-thread only.  The rings
 * of an OPEN channel (hv_chan_in_ring/out_ring), hv_chan_notify_guest,
 * hv_chan_ack_signal and the channel counters belong to the one thread that
 * services the channel between chan_open and chan_close.
 *
 * Guest client
 * ------------
 * hv_vmbus_guest is the mirror image: it sends INITIATE_CONTACT with each
 * version of its list until one is accepted, REQUESTOFFERS, records offers
 * (late offers too), and offers one call per guest→host request with the
 * host's answer recorded for polling (gpadl/open status).  It never blocks;
 * the transport (hv_part guest) pumps messages.  Single-threaded.
 */
#ifndef HV_VMBUS_H
#define HV_VMBUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv/hv_chan_msg.h"
#include "hv/hv_gpadl.h"
#include "hv/hv_mem.h"
#include "hv/hv_ring.h"
#include "hv/hv_stats.h"

#define HV_VMBUS_MAX_CHANNELS 64u
#define HV_VMBUS_OPEN_FAILED 1u /* status in OPENCHANNEL_RESULT / CREATED */
#define HV_VMBUS_NAME_SIZE 108u /* a name: a partition socket path fits */
/* Log budgets (see Logging): per host, and for all hosts together. */
#define HV_VMBUS_LOG_VM_BURST 10u
#define HV_VMBUS_LOG_ALL_BURST 50u
#define HV_VMBUS_LOG_PERIOD_S 10u

enum hv_vmbus_state {
    HV_VMBUS_DISCONNECTED,
    HV_VMBUS_CONNECTED,
    HV_VMBUS_VERSIONED,
    HV_VMBUS_READY,
};

enum hv_chan_state {
    HV_CHAN_IDLE,
    HV_CHAN_OFFERED,
    HV_CHAN_OPEN,
    HV_CHAN_BROKEN,
    HV_CHAN_RESCINDED,
};

struct hv_vmbus_offer_cfg {
    struct hv_guid if_type;
    struct hv_guid if_instance;
    uint16_t sub_channel_index;
    uint16_t chn_flags;
    uint16_t mmio_megabytes;
    uint8_t user_def[120];
};

struct hv_chan;
struct hv_vmbus_host;

struct hv_vmbus_host_ops {
    /* Sends one encoded channel message to the guest: 0, or a negative
     * errno if it was not sent.  Required.  A message not sent is counted
     * (msgs_lost, not msgs_out) and never resent: VMBus has no
     * retransmission, and a guest that missed a reply waits for it for
     * ever, so a transport that cannot deliver one should end the
     * connection (hv_part_host does; hv_part.h). */
    int (*send)(void *ctx, const void *msg, size_t size);
    /* A channel was opened; non-zero refuses the open.  Optional. */
    int (*chan_open)(void *ctx, struct hv_chan *ch);
    /* The channel is closing (guest close, violation, rescind, reset):
     * stop using it and drop GPADL references before returning. Optional. */
    void (*chan_close)(void *ctx, struct hv_chan *ch);
};

/* ---- Host: lifecycle ---- */
int hv_vmbus_host_create(const struct hv_vmbus_host_ops *ops, void *ctx,
                         struct hv_vmbus_host **out);
void hv_vmbus_host_destroy(struct hv_vmbus_host *h);
/* Names the VM in log lines ("vm NAME: ..."; default "vmbus"; NULL
 * restores it; cut to HV_VMBUS_NAME_SIZE - 1 characters).  Call it before
 * the guest connects: the rings of open channels keep the old name. */
void hv_vmbus_host_set_name(struct hv_vmbus_host *h, const char *name);
const char *hv_vmbus_host_name(const struct hv_vmbus_host *h);

/* Transport up with guest memory `mem` (a reference is taken).
 * -EBUSY if already connected. */
int hv_vmbus_host_connect(struct hv_vmbus_host *h, struct hv_mem *mem);
/* Transport gone: every channel closed, GPADLs released, memory reference
 * dropped; configured offers stay and are offered again next time. */
void hv_vmbus_host_disconnect(struct hv_vmbus_host *h);

/* ---- Host: offers ---- */
/* Adds a channel offer; sent at once when the guest is READY, unless a
 * rescinded channel of the same instance and sub-channel index is still
 * held by the guest: then when the guest releases that one
 * (RELID_RELEASED), so that it never sees two offers of one device.
 * Returns 0 (relid in *relid), -ENOSPC (HV_VMBUS_MAX_CHANNELS), -ENOMEM. */
int hv_vmbus_host_add_offer(struct hv_vmbus_host *h,
                            const struct hv_vmbus_offer_cfg *cfg,
                            uint32_t *relid);
/* The memory of one offer, allocated ahead of hv_vmbus_host_add_offer_mem
 * so that a configuration can be prepared (every allocation made) before
 * it is committed: the add then fails only with -ENOSPC.  NULL on ENOMEM;
 * hv_vmbus_offer_mem_free releases one that was not used (NULL: no-op). */
struct hv_vmbus_offer_mem;
struct hv_vmbus_offer_mem *hv_vmbus_offer_mem_alloc(void);
void hv_vmbus_offer_mem_free(struct hv_vmbus_offer_mem *mem);
/* hv_vmbus_host_add_offer with the memory in *mem, taken (*mem = NULL) on
 * success; with *mem NULL it allocates, as hv_vmbus_host_add_offer. */
int hv_vmbus_host_add_offer_mem(struct hv_vmbus_host *h,
                                const struct hv_vmbus_offer_cfg *cfg,
                                struct hv_vmbus_offer_mem **mem,
                                uint32_t *relid);
/* Withdraws a channel: closed if open, RESCIND sent, forgotten after the
 * guest's RELID_RELEASED (at once if never offered).  -ENOENT. */
int hv_vmbus_host_rescind(struct hv_vmbus_host *h, uint32_t relid);

/* ---- Host: messages ---- */
/* Processes one guest message.  Returns 0, -EBADMSG (malformed), -EPROTO
 * (refused: state, direction, channel, GPADL), -ENOTCONN.  Never fatal to
 * the connection; every refusal is counted. */
int hv_vmbus_host_handle_msg(struct hv_vmbus_host *h, const void *msg,
                             size_t len);
/* Closes every OPEN channel whose ring went broken; returns how many. */
unsigned hv_vmbus_host_check_rings(struct hv_vmbus_host *h);
/* Releases deferred GPADL teardowns that became free (sends TORNDOWN). */
void hv_vmbus_host_reap(struct hv_vmbus_host *h);

/* ---- Host: introspection ---- */
enum hv_vmbus_state hv_vmbus_host_state(const struct hv_vmbus_host *h);
uint32_t hv_vmbus_host_version(const struct hv_vmbus_host *h);
struct hv_chan *hv_vmbus_host_chan(struct hv_vmbus_host *h, uint32_t relid);
/* i-th configured channel (offer order), NULL past the end. */
struct hv_chan *hv_vmbus_host_chan_at(struct hv_vmbus_host *h, unsigned i);
const struct hv_stats *hv_vmbus_host_stats(const struct hv_vmbus_host *h);
unsigned hv_vmbus_host_gpadl_count(const struct hv_vmbus_host *h);
/* Reference on complete GPADL `id` of channel `relid` (VSP buffers);
 * release with hv_gpadl_put.  NULL if none. */
struct hv_gpadl *hv_vmbus_host_gpadl_get(struct hv_vmbus_host *h,
                                         uint32_t relid, uint32_t id);
const char *hv_vmbus_state_name(enum hv_vmbus_state s);
const char *hv_chan_state_name(enum hv_chan_state s);

/* ---- Channels ---- */
uint32_t hv_chan_relid(const struct hv_chan *ch);
enum hv_chan_state hv_chan_state(const struct hv_chan *ch);
const struct hv_vmbus_offer_cfg *hv_chan_offer(const struct hv_chan *ch);
/* Guest→host ring (we read) and host→guest ring (we write); NULL unless
 * OPEN. */
struct hv_ring *hv_chan_in_ring(struct hv_chan *ch);
struct hv_ring *hv_chan_out_ring(struct hv_chan *ch);
struct hv_stats *hv_chan_stats(struct hv_chan *ch);
void hv_chan_set_user(struct hv_chan *ch, void *user);
void *hv_chan_user(const struct hv_chan *ch);
/* A protocol violation found by an upper layer: closes the channel
 * (BROKEN), counts it, logs (rate limited).  Control thread. */
void hv_chan_violation(struct hv_chan *ch, const char *why);
/* Signal fds (owned by the transport): `in_fd` is the eventfd the guest
 * signals, `out_fd` the host's end of the socketpair we signal the guest
 * on (see Signals above).  -1 = none. */
void hv_chan_set_signal_fds(struct hv_chan *ch, int in_fd, int out_fd);
int hv_chan_in_signal_fd(const struct hv_chan *ch);
/* Whether `fd` may be a channel's out_fd: an AF_UNIX SOCK_SEQPACKET socket
 * connected to an unnamed peer (a socketpair end).  0, -ENOTSOCK,
 * -EPROTOTYPE (other domain or type), -ENOTCONN, -EPERM (the peer is a
 * named socket).  For the transport, when the guest hands the fd over. */
int hv_chan_signal_fd_check(int fd);
/* Whether `fd` may be a channel's in_fd: an eventfd (its /proc/self/fd
 * link reads "anon_inode:[eventfd]").  Anything else could keep the
 * servicing thread's epoll readable with nothing hv_chan_ack_signal can
 * drain (a pipe or socket full of data: preadv2 RWF_NOWAIT refuses
 * them), or be a file of the guest's choosing.  0, -EBADF, -EINVAL (not
 * an eventfd). */
int hv_chan_in_signal_fd_check(int fd);
/* Signals the guest: one 8-byte message (value 1) on out_fd, sent with
 * MSG_DONTWAIT | MSG_NOSIGNAL, so it never blocks and never raises
 * SIGPIPE whatever the guest did to the shared socket.  0 when sent
 * (signals_sent) or when the guest's queue is full (signals_dropped: the
 * unread signals already wake it); -ENOTCONN (no fd), or the send error
 * (signals_dropped; e.g. -ENOTSOCK, -ECONNRESET when the guest closed its
 * end). */
int hv_chan_notify_guest(struct hv_chan *ch);
/* Drains the guest→host eventfd; returns the number of signals coalesced
 * (0 if none pending). */
uint64_t hv_chan_ack_signal(struct hv_chan *ch);

/* ---- Guest client ---- */
enum hv_vmbus_guest_state {
    HV_GUEST_IDLE,
    HV_GUEST_CONTACTING,
    HV_GUEST_REQUESTING,
    HV_GUEST_READY,
    HV_GUEST_UNLOADING,
    HV_GUEST_FAILED, /* no version accepted */
};

struct hv_vmbus_guest;

struct hv_vmbus_guest_ops {
    int (*send)(void *ctx, const void *msg, size_t size); /* required */
    /* Every accepted host message, after it was recorded.  Optional. */
    void (*event)(void *ctx, const struct hv_chan_msg *m);
};

struct hv_vmbus_guest_offer {
    struct hv_msg_offer offer;
    bool rescinded;
    int open_status; /* -EINPROGRESS, 0, -EIO; -ENOENT when never opened */
    uint32_t openid;
};

/* versions: preference order (highest first); NULL = default list
 * (5.3, 5.2, 5.1, 5.0, 4.1, 4.0, 3.0, 2.4, like Linux). */
int hv_vmbus_guest_create(const struct hv_vmbus_guest_ops *ops, void *ctx,
                          const uint32_t *versions, unsigned nversions,
                          struct hv_vmbus_guest **out);
void hv_vmbus_guest_destroy(struct hv_vmbus_guest *g);
/* Starts the handshake (INITIATE_CONTACT).  0 or the send error. */
int hv_vmbus_guest_connect(struct hv_vmbus_guest *g);
/* Processes one host message.  0, -EBADMSG, -EPROTO (unexpected; ignored,
 * as iPXE does with late or unsolicited messages), -EPROTONOSUPPORT (last
 * version refused). */
int hv_vmbus_guest_handle_msg(struct hv_vmbus_guest *g, const void *msg,
                              size_t len);
enum hv_vmbus_guest_state hv_vmbus_guest_state(const struct hv_vmbus_guest *g);
uint32_t hv_vmbus_guest_version(const struct hv_vmbus_guest *g);
unsigned hv_vmbus_guest_offer_count(const struct hv_vmbus_guest *g);
const struct hv_vmbus_guest_offer *
hv_vmbus_guest_offer_at(const struct hv_vmbus_guest *g, unsigned i);
/* relid of the offer with this class and sub-channel index, 0 if none. */
uint32_t hv_vmbus_guest_find_offer(const struct hv_vmbus_guest *g,
                                   const struct hv_guid *if_type,
                                   uint16_t sub_channel_index);
/* A fresh GPADL handle (0xE1E10 upwards). */
uint32_t hv_vmbus_guest_next_gpadl_id(struct hv_vmbus_guest *g);
/* Sends GPADL_HEADER (+ BODY messages) for `n` pages.  0, -EINVAL, -ENOSPC
 * (too many outstanding), or the send error. */
int hv_vmbus_guest_gpadl_create(struct hv_vmbus_guest *g, uint32_t relid,
                                uint32_t id, const uint64_t *pfns, uint32_t n);
/* -EINPROGRESS (waiting), 0 (created), -EIO (host refused), -ENOENT. */
int hv_vmbus_guest_gpadl_status(const struct hv_vmbus_guest *g, uint32_t id);
/* The requests below return 0, -ENOENT (gpadl_teardown, open: unknown
 * GPADL / offer) or the send error; a request whose send failed leaves
 * the guest's state as it was, so it may be retried. */
int hv_vmbus_guest_gpadl_teardown(struct hv_vmbus_guest *g, uint32_t relid,
                                  uint32_t id);
int hv_vmbus_guest_open(struct hv_vmbus_guest *g, uint32_t relid,
                        uint32_t openid, uint32_t ring_gpadl,
                        uint32_t downstream_offset);
/* -EINPROGRESS, 0 (open), -EIO (refused), -ENOENT. */
int hv_vmbus_guest_open_status(const struct hv_vmbus_guest *g, uint32_t relid);
int hv_vmbus_guest_close(struct hv_vmbus_guest *g, uint32_t relid);
int hv_vmbus_guest_relid_released(struct hv_vmbus_guest *g, uint32_t relid);
int hv_vmbus_guest_unload(struct hv_vmbus_guest *g);

#endif /* HV_VMBUS_H */
