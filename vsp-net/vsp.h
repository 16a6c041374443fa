/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vsp.h — the host side of ONE synthetic NIC channel: the NVSP state
 * machine, the guest's receive and send buffers, the RNDIS device, and the
 * data path in both directions.  Transport agnostic and plain C: it sees
 * guest packets already copied out of the ring, talks back through an ops
 * struct, and touches guest memory only through hv_gpadl / hv_mem
 * accessors.
 *
 * Packets in, packets out
 * -----------------------
 * The glue reads a packet from the channel's guest→host hv_ring, turns it
 * into a `struct vspn_pkt` (vspn_pkt_from_ring(): type, flags, trans_id,
 * in-band payload and GPA-direct ranges, all pointing into the reader's
 * private copy) and calls vspn_vsp_handle_pkt().  Output goes through
 * `struct vspn_vsp_ops`: send_completion (COMP packets echoing trans_id),
 * send_xfer_page (transfer-page packets naming receive-buffer ranges),
 * send_inband (host notifications; unused while the VSP offers no VF and
 * no sub-channel), signal (called once at the end of each entry point if
 * any write needed it, spec vmbus.md §5.1), buf_get (a buffer GPADL of
 * this channel by id, prepared: see "Buffers and sections"), close (protocol violation), rx_frame (a guest
 * frame for the switch) and mac_changed.
 *
 * NVSP states and the dispatch table
 * ----------------------------------
 *   WAIT_INIT --INIT ok--> VERSIONED --NDIS_VER--> NDIS --101--> RXBUF
 *   RXBUF --104--> READY         (iPXE stays in RXBUF: no send buffer)
 *   READY --103--> TXBUF_ONLY --106--> REVOKED
 *   READY --106--> RXBUF         RXBUF --103--> REVOKED
 *   WAIT_INIT --INIT refused--> WAIT_INIT (the guest tries a lower version)
 *   any --violation--> CLOSED (ops->close called once; all input ignored)
 * INIT is accepted in WAIT_INIT only.  Guests repeat INIT only while the
 * host refuses their version (spec §2); once a version is negotiated an
 * INIT in any later state, REVOKED included, is a violation counted in
 * init_repeated (guests renegotiate by closing and reopening the channel,
 * which resets the VSP), so a guest looping on INIT loses its channel
 * after the first success instead of costing the host a reply each.
 * Every guest message is looked up in a (state × message type) table; the
 * negotiated version gates the types that exist only from v2 (NDIS_CONFIG),
 * v4 (SWITCH_DATA_PATH) and v5 (SUBCHANNEL).  Each cell is one of
 *   ALLOW  the handler runs;
 *   FAIL   the request is answered with its reply type and status FAILURE
 *          (only for the request types SEND_RECV_BUF, SEND_SEND_BUF,
 *          SEND_RNDIS_PKT, SUBCHANNEL; INIT is never refused by the
 *          table: it runs or closes);
 *   CLOSE  protocol violation: counted, logged (rate limited), ops->close;
 *   DROP   (state CLOSED only) ignored and counted.
 * Host→guest types, NONE, unknown and unused types (chimney, VMQ, PD API,
 * OID_QUERY_EX, UPLINK_CONNECT_STATE), and a version-gated type under a
 * lower version are CLOSE everywhere.  vspn_vsp_table_action() exposes the
 * table; docs/synthetic-nic.md prints it.  An allowed notification that
 * carries the completion-requested flag (iPXE's NDIS_VER and
 * REVOKE_RECV_BUF, Linux's SWITCH_DATA_PATH) gets an empty completion.
 * A malformed NVSP message (nvsp.h decoder) or a VMBus packet type that
 * cannot carry it (GPA-direct other than SEND_RNDIS_PKT, anything but
 * INBAND / GPA-direct / COMP / cancel request) is a violation.  A cancel
 * request (0xa: iPXE sends one per outstanding transmit when it closes,
 * spec nvsp-rndis.md §6.3) is counted in cancel_ignored and otherwise
 * ignored, in every state but CLOSED: a send is handled whole inside
 * handle_pkt (copied once, frames handed on, completion written or queued
 * in the completion FIFO, which holds no guest memory), so there is
 * nothing left to cancel; a queued completion still goes out, and the
 * cancel itself is never answered.
 *
 * INIT negotiates the highest version of {1 (0x2), 2, 4, 5, 6, 6.1} inside
 * [min, max]; otherwise INIT_COMPLETE carries PROTOCOL_TOO_NEW (min above
 * 6.1), PROTOCOL_TOO_OLD (max below 0x2) or FAILURE (a gap in between).
 * NDIS_VER must be 6.x.  NDIS_CONFIG's MTU (interface MTU + 14) must be in
 * [82, 65549]; the negotiated MTU is min(host MTU, guest MTU).
 *
 * Buffers and sections
 * --------------------
 * SEND_RECV_BUF names a GPADL the guest built; the VSP takes a reference
 * (ops->buf_get), carves it into `num_sub_allocs` slots of the receive
 * section size (cfg, default max(1728, header + PPIs + MTU frame rounded to
 * 64)) and answers one section {0, size, count, end}.  SEND_SEND_BUF takes
 * a reference on the send buffer and answers the section size (cfg,
 * default 6144); sections are numbered 0 .. size/section_size − 1.  A
 * buffer is refused (FAILURE reply, counter) when the GPADL is unknown,
 * smaller than four receive slots or one send section, or when a guest page
 * appears twice in it or in both buffers (overlapping buffers).
 * SEND_RNDIS_PKT: a section index must be < the section count and its
 * size in 1 .. section_size; "no section" (0xFFFFFFFF, 0) needs GPA-direct
 * ranges; both together is Linux's mixed form (section bytes first).  All
 * bytes of one message are copied ONCE into a private assembly buffer of
 * VSPN_VSP_ASM_MAX bytes (the most a send may carry; GPA ranges resolved
 * through hv_mem, each range inside one guest memory region) and parsed
 * only there; g2h_copied counts those bytes, also for a message refused
 * later, so that a glue can bound what one of its passes copies
 * (netvsp_port.c, SERVICE_BYTE_BUDGET).  Completion status: SUCCESS;
 * FAILURE for a bad section, GPA range or a message in a state that cannot
 * take it; INVALID_RNDIS_PKT for a malformed RNDIS message (none of the
 * send's frames taken).
 *
 * Data path
 * ---------
 * Guest→host: a data send holds ≤ max_pkts_per_msg (8) RNDIS_PACKETs back
 * to back, each found at the MessageLength of the one before; fewer than 8
 * bytes (an RNDIS header) after the last are ignored.  All are decoded
 * before any frame is handed on, so a send with a malformed message (or
 * a ninth) is refused whole; then each has its PPIs parsed and its frame
 * handed to ops->rx_frame with the 802.1Q PPI as (tci, has_vlan).  Dropped and
 * counted: runts (< 14 bytes), frames whose payload exceeds the negotiated
 * MTU, malformed PPI, offload requests the host does not do (LSO, TX
 * checksum: it claims none), frames before RNDIS INITIALIZE / after HALT,
 * and frames while the link is down.
 * Host→guest: vspn_vsp_deliver(frames, n) drops what the packet filter
 * refuses (directed = our current MAC, multicast = the guest's list,
 * all-multicast, broadcast, promiscuous), oversize and runt frames and
 * frames tagged with the reserved VLAN id 4095 (guests refuse that PPI), then
 * copies each frame (RNDIS_PACKET header + VLAN PPI + frame) into a free
 * receive slot and posts up to VSPN_VSP_BATCH_MAX of them as ONE
 * transfer-page packet (pageset id = the guest's id, one range per
 * message, NVSP 107 channel type data).  The packet's trans_id is the
 * index of its first slot (< slot count: DPDK uses it as an index); the
 * slots of a packet form a chain that the guest's completion (COMP with
 * that trans_id; payload NVSP 108, or empty from iPXE) returns to the free
 * list.  A completion naming nothing in flight is counted and ignored.
 * Bounded backlog: at most `slot count` messages are in flight; a guest
 * that never completes only makes its own frames drop (h2g_no_section),
 * the VSP allocates nothing per frame.
 * RNDIS control completions and INDICATE_STATUS use the same path (one
 * range, channel type control) through a FIFO of VSPN_VSP_CTRLQ_MAX
 * messages that is flushed whenever slots or ring space come back;
 * overflow drops and counts.  RNDIS HALT discards what waits there
 * ([MS-RNDIS] REMOTE_NDIS_HALT_MSG: what is outstanding is dropped when
 * HALT arrives; counted in ctrl_dropped); RESET keeps it.  Link changes
 * (vspn_vsp_set_link) are indicated (INDICATE_STATUS MEDIA_CONNECT /
 * MEDIA_DISCONNECT) once RNDIS is initialised; the indication is state,
 * not a queue entry, so a full queue never loses it: it goes out after
 * the messages queued before the change, for the current link, and as a
 * DISCONNECT + CONNECT pair when the link went down and back up before
 * the guest heard of it (flaps collapse to that).  A COMP the ring cannot
 * take waits in a FIFO of VSPN_VSP_COMPQ_MAX entries (overflow: counted,
 * lost); while one is queued vspn_vsp_busy() is true and the glue should
 * stop reading the guest's ring and call vspn_vsp_poll() when the guest
 * frees ring space, which pushes the backpressure back onto the guest.
 *
 * Teardown
 * --------
 * REVOKE_RECV_BUF / REVOKE_SEND_BUF (ids must match 101 / 104) drop the
 * buffer's slots and GPADL reference; in-flight receive slots are
 * forgotten (their late completions are counted as bad_completion).
 * vspn_vsp_reset() and vspn_vsp_destroy() release in the documented order
 * (spec §5.4): receive buffer first, then send buffer.  GPADL teardown by
 * the guest while the VSP holds a reference is deferred by hv/ until the
 * VSP lets go, so the VSP never touches freed guest memory.
 *
 * Counters and logs: VSPN_VSP_STATS_FOREACH (X-macro, name + help);
 * everything a guest can trigger is counted, and logged only through
 * VSA_LOG_RL2: "port NAME: ..." (cfg->name), with a token from the VM's
 * own budget (cfg->log_rl, which outlives the VSP: a guest that reopens
 * its channel gets no fresh budget) and one from the budget of all VSPs
 * of the process, VSPN_VSP_LOG_ALL_BURST lines per VSPN_VSP_LOG_PERIOD_S
 * seconds.
 *
 * Thread-safety
 * -------------
 * One vspn_vsp is serviced by ONE thread at a time (the thread that owns the
 * channel's rings): handle_pkt, deliver, set_link, poll, reset and destroy
 * must not run concurrently; the glue serialises them (for example by
 * posting link changes to the service thread).  Ops are called on that
 * thread.  ops->close must not destroy the VSP (it is called from inside
 * handle_pkt); the VSP stays valid and inert in CLOSED until
 * vspn_vsp_reset()/destroy().  Counters are single-writer relaxed atomics
 * and may be read from any thread (vspn_vsp_stats_get).
 */
#ifndef VSPN_VSP_H
#define VSPN_VSP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/vsa_mac.h"
#include "hv/hv_gpadl.h"
#include "hv/hv_mem.h"
#include "hv/hv_ring.h"
#include "vsp-net/nvsp.h"
#include "vsp-net/rndis.h"

/* ---- Limits ------------------------------------------------------------- */
#define VSPN_PKT_MAX_RANGES 64u      /* GPA / transfer ranges per packet */
#define VSPN_VSP_ASM_MAX 65536u      /* bytes one SEND_RNDIS_PKT may carry */
#define VSPN_VSP_BATCH_MAX 64u       /* messages per transfer-page packet */
#define VSPN_VSP_CTRLQ_MAX 16u       /* queued RNDIS control messages */
#define VSPN_VSP_COMPQ_MAX 256u      /* queued completions (ring full) */
#define VSPN_VSP_MTU_DEFAULT 1500u
#define VSPN_VSP_MTU_MIN 68u
#define VSPN_VSP_MTU_MAX 9216u
#define VSPN_VSP_RECV_SECTION_MIN 1728u /* Linux's assumed slot size */
#define VSPN_VSP_SEND_SECTION_DEFAULT 6144u
#define VSPN_VSP_MIN_RECV_SLOTS 4u
#define VSPN_ETH_HLEN 14u

/* ---- A guest packet, already copied out of the ring ---------------------- */
struct vspn_pkt {
    uint16_t type;     /* HV_PKT_INBAND, HV_PKT_GPA_DIRECT, HV_PKT_COMP,
                        * HV_PKT_XFER_PAGES (host→guest, for the VSC) */
    uint16_t flags;    /* HV_PKT_FLAG_COMPLETION_REQUESTED */
    uint64_t trans_id;
    const void *data;  /* in-band payload at offset8 × 8 (NVSP message) */
    uint32_t data_size;
    const struct hv_ring_gpa_range *gpa; /* GPA-direct ranges */
    uint32_t gpa_cnt;
    uint16_t xfer_pageset;               /* transfer-page packets */
    const struct hv_ring_xfer_range *xfer;
    uint32_t xfer_cnt;
};

/* Storage for the ranges a vspn_pkt points to. */
struct vspn_pkt_scratch {
    struct hv_ring_gpa_range gpa[VSPN_PKT_MAX_RANGES];
    struct hv_ring_xfer_range xfer[VSPN_PKT_MAX_RANGES];
};

/* Fills `out` from a packet returned by hv_ring_read_pkt (pointers into
 * that copy and into `scratch`).  0, -EPROTO (malformed range header),
 * -E2BIG (more than VSPN_PKT_MAX_RANGES ranges). */
int vspn_pkt_from_ring(const struct hv_ring_pkt *rp,
                       struct vspn_pkt_scratch *scratch, struct vspn_pkt *out);

/* ---- States and the dispatch table ---------------------------------------- */
enum vspn_vsp_state {
    VSPN_VSP_WAIT_INIT,
    VSPN_VSP_VERSIONED,
    VSPN_VSP_NDIS,
    VSPN_VSP_RXBUF,
    VSPN_VSP_READY,
    VSPN_VSP_TXBUF_ONLY,
    VSPN_VSP_REVOKED,
    VSPN_VSP_CLOSED,
};
#define VSPN_VSP_NSTATES 8u

enum vspn_vsp_action {
    VSPN_ACT_ALLOW,
    VSPN_ACT_FAIL,
    VSPN_ACT_CLOSE,
    VSPN_ACT_DROP,
};

/* The cell for an in-band NVSP message of `type` in state `s` under
 * negotiated version `version` (0 before INIT). */
enum vspn_vsp_action vspn_vsp_table_action(enum vspn_vsp_state s,
                                           uint32_t type, uint32_t version);
const char *vspn_vsp_state_name(enum vspn_vsp_state s);
const char *vspn_vsp_action_name(enum vspn_vsp_action a);

/* ---- Counters ---------------------------------------------------------------- */
#define VSPN_VSP_STATS_FOREACH(X)                                              \
    X(pkts_in, "VMBus packets handled")                                        \
    X(nvsp_msgs, "NVSP messages accepted by the dispatch table")               \
    X(nvsp_bad_msg, "malformed NVSP messages (size or field)")                 \
    X(nvsp_refused, "NVSP requests answered FAILURE by the dispatch table")    \
    X(bad_pkt_type, "VMBus packet type that cannot carry the message")         \
    X(cancel_ignored, "VMBus cancel requests (iPXE's close), ignored")         \
    X(violations, "protocol violations (channel closed)")                      \
    X(after_close, "packets ignored after the channel was closed")             \
    X(init_ok, "NVSP INIT accepted")                                           \
    X(init_refused, "NVSP INIT with no supported version")                     \
    X(init_repeated, "NVSP INIT after a version was negotiated (closed)")      \
    X(bad_gpadl, "buffer GPADL unknown or of a bad size")                      \
    X(buf_overlap, "buffers sharing guest pages")                              \
    X(buf_nomem, "buffer setup refused: host allocation failed")               \
    X(bad_section, "send-buffer section index or size out of range")           \
    X(bad_gpa, "GPA-direct range outside guest memory or too long")            \
    X(rndis_bad_msg, "malformed RNDIS messages")                               \
    X(rndis_bad_state, "RNDIS messages outside the state that allows them")    \
    X(rndis_too_many, "RNDIS packets beyond max_pkts_per_msg in a send")       \
    X(rndis_ctrl, "RNDIS control messages handled")                            \
    X(oid_unsupported, "QUERY/SET of an OID outside the allow-list")           \
    X(oid_bad_data, "QUERY/SET with an invalid information buffer")            \
    X(ppi_bad, "malformed per-packet info or offload metadata")                \
    X(offload_unsupported, "frames asking for an offload the host lacks")      \
    X(g2h_frames, "guest-to-host frames handed to rx_frame")                   \
    X(g2h_bytes, "guest-to-host frame bytes")                                  \
    X(g2h_copied, "bytes of guest sends copied in (sections, GPA ranges)")     \
    X(g2h_runt, "guest frames shorter than an Ethernet header")                \
    X(g2h_oversize, "guest frames over the negotiated MTU")                    \
    X(g2h_link_down, "guest frames dropped while the link is down")            \
    X(g2h_not_ready, "guest data sends before RNDIS INITIALIZE or after HALT") \
    X(h2g_frames, "host-to-guest frames posted")                               \
    X(h2g_bytes, "host-to-guest frame bytes")                                  \
    X(h2g_batches, "transfer-page packets posted with frames")                 \
    X(h2g_filtered, "frames refused by the guest packet filter")               \
    X(h2g_oversize, "frames over the MTU or the guest transfer size")          \
    X(h2g_runt, "frames shorter than an Ethernet header")                      \
    X(h2g_bad_vlan, "frames whose VLAN tag carries the reserved id 4095")      \
    X(h2g_no_section, "frames dropped: no free receive slot (not draining)")   \
    X(h2g_ring_full, "frames dropped: host-to-guest ring full")                \
    X(h2g_not_ready, "frames dropped: no receive buffer or RNDIS not up")      \
    X(h2g_link_down, "frames dropped while the link is down")                  \
    X(xfer_completed, "transfer-page packets completed by the guest")          \
    X(bad_completion, "guest completions naming nothing in flight")            \
    X(guest_rx_nack, "transfer completions carrying a failure status")         \
    X(ctrl_sent, "RNDIS control messages posted to the guest")                 \
    X(ctrl_dropped, "RNDIS control messages dropped (full, no buffer, HALT)")  \
    X(comp_deferred, "completions queued because the ring was full")           \
    X(comp_dropped, "completions lost because the queue was full")             \
    X(link_indications, "media connect/disconnect indications posted")

struct vspn_vsp_stats {
#define VSPN_VSP_STATS_FIELD_(n, h) uint64_t n;
    VSPN_VSP_STATS_FOREACH(VSPN_VSP_STATS_FIELD_)
#undef VSPN_VSP_STATS_FIELD_
};

enum vspn_vsp_stats_id {
#define VSPN_VSP_STATS_ID_(n, h) VSPN_VSP_STATS_ID_##n,
    VSPN_VSP_STATS_FOREACH(VSPN_VSP_STATS_ID_)
#undef VSPN_VSP_STATS_ID_
    VSPN_VSP_STATS_N
};

const char *vspn_vsp_stats_name(unsigned id);
const char *vspn_vsp_stats_help(unsigned id);
uint64_t vspn_vsp_stats_get(const struct vspn_vsp_stats *s, unsigned id);

/* ---- Configuration and ops ---------------------------------------------------- */
/* Budget of the lines all VSPs of the process log together. */
#define VSPN_VSP_LOG_ALL_BURST 50u
#define VSPN_VSP_LOG_PERIOD_S 10u
struct vsa_ratelimit;

struct vspn_vsp_cfg {
    struct vsa_mac mac;          /* permanent MAC of the NIC */
    uint32_t mtu;                /* host MTU (payload); 0: 1500 */
    uint32_t link_speed;         /* 100 bit/s units; 0: 10 Gbit/s */
    bool link_up;                /* initial link state */
    bool allow_mac_change;       /* honour RNDIS_CONFIG_PARAMETER MAC */
    uint32_t recv_section_size;  /* 0: derived from mtu (see essay) */
    uint32_t send_section_size;  /* 0: 6144 */
    struct hv_mem *mem;          /* guest memory for GPA-direct (ref taken;
                                  * NULL: GPA-direct sends fail) */
    const char *name;            /* for log lines (the port's); may be
                                  * NULL */
    struct vsa_ratelimit *log_rl; /* the VM's log budget, outliving the
                                   * VSP (vsa_log.h); NULL: only the
                                   * process-wide one */
};

/* A buffer made ready for SEND_RECV_BUF / SEND_SEND_BUF.  Everything in
 * taking a buffer that allocates or takes time in proportion to its size
 * happens here, not in vspn_vsp_handle_pkt: the overlap check sorts every
 * page number of the buffers (up to 2 x HV_GPADL_MAX_PAGES), and a
 * receive buffer's slot tables are allocated and filled.  A glue whose
 * service thread is a datapath lcore (netvsp_port) holds the message back,
 * prepares on its control thread and hands the result over in buf_get. */
struct vspn_buf {
    struct hv_gpadl *gpadl;   /* reference, NULL if none */
    int status;               /* 0 (usable), -ENOENT (no such GPADL),
                                 -ERANGE (fewer than VSPN_VSP_MIN_RECV_SLOTS
                                 slots or no send section), -EEXIST (a
                                 guest page twice, in it or in it and the
                                 receive buffer), -ENOMEM, -EPERM (the
                                 VSP's state does not take this message:
                                 nothing prepared) */
    uint32_t count;           /* receive slots or send sections */
    uint32_t *free_stack;     /* receive buffer: the slot tables */
    uint32_t *chain;
    uint8_t *slot_state;
};

/* Send ops return 1 (written; the reader must be signalled), 0 (written,
 * no signal needed), or a negative errno (-EAGAIN: ring full). */
struct vspn_vsp_ops {
    int (*send_completion)(void *ctx, uint64_t trans_id, const void *msg,
                           size_t size);
    int (*send_xfer_page)(void *ctx, uint64_t trans_id, uint16_t pageset_id,
                          const struct hv_ring_xfer_range *ranges, uint32_t n,
                          const void *msg, size_t size);
    int (*send_inband)(void *ctx, uint16_t flags, uint64_t trans_id,
                       const void *msg, size_t size); /* optional, unused */
    void (*signal)(void *ctx);
    /* Buffer GPADL `id` of this channel for a SEND_RECV_BUF (recv) or a
     * SEND_SEND_BUF, as vspn_vsp_buf_prepare() makes it: the host looks
     * the GPADL up (a reference, or NULL when it has none complete of
     * that id) and prepares it, here or earlier on another thread.  The
     * VSP takes what *out holds. */
    void (*buf_get)(void *ctx, uint32_t id, bool recv, struct vspn_buf *out);
    /* Protocol violation: close the channel.  Called at most once.  Must
     * not destroy the VSP. */
    void (*close)(void *ctx, const char *reason);
    /* A guest frame (valid only during the call). */
    void (*rx_frame)(void *ctx, const void *frame, size_t len,
                     uint16_t vlan_tci, bool has_vlan);
    /* The guest changed its MAC (RNDIS config parameter).  Optional. */
    void (*mac_changed)(void *ctx, const struct vsa_mac *mac);
};

/* A host→guest frame: Ethernet header + payload, without an 802.1Q tag
 * when has_vlan (the tag travels in the 802.1Q PPI, §11). */
struct vspn_frame {
    const void *data;
    uint32_t len;
    uint16_t vlan_tci;
    bool has_vlan;
};

struct vspn_vsp;

/* ---- Lifecycle ----------------------------------------------------------------- */
/* 0, -EINVAL (NULL, required op missing, mtu out of range, section sizes
 * below 68 or not 8-aligned), -ENOMEM. */
int vspn_vsp_create(const struct vspn_vsp_cfg *cfg,
                    const struct vspn_vsp_ops *ops, void *ctx,
                    struct vspn_vsp **out);
/* Releases buffers (receive, then send), queues, the memory reference. */
void vspn_vsp_destroy(struct vspn_vsp *vsp);
/* Channel (re)opened or closed: releases buffers in the documented order,
 * empties the queues, RNDIS back to UNINITIALIZED, state WAIT_INIT.
 * Counters and link state are kept. */
void vspn_vsp_reset(struct vspn_vsp *vsp);

/* ---- Buffers ----------------------------------------------------------------------- */
/* Prepares GPADL g (a reference, taken over; NULL: none of that id) as the
 * receive (recv) or send buffer of `vsp` into *out (status says whether it
 * is usable).  Reads only the VSP's section sizes, fixed at creation, and
 * its receive buffer, which only vspn_vsp_handle_pkt and reset change: it
 * may run on another thread than the service thread while the message
 * that asks for the buffer is held back and nothing else of the VSP runs,
 * provided the hand-over orders the two (release/acquire). */
void vspn_vsp_buf_prepare(const struct vspn_vsp *vsp, bool recv,
                          struct hv_gpadl *g, struct vspn_buf *out);
/* Drops what a prepared buffer holds (the VSP did not take it); NULL and a
 * zeroed buffer are no-ops. */
void vspn_buf_release(struct vspn_buf *b);

/* ---- Guest input ------------------------------------------------------------------ */
/* Returns 0 (handled; a FAILURE/INVALID status may have been sent),
 * -EBADMSG (malformed NVSP: channel closed), -EPROTO (violation: channel
 * closed), -EPIPE (already closed; ignored), -EINVAL (NULL). */
int vspn_vsp_handle_pkt(struct vspn_vsp *vsp, const struct vspn_pkt *pkt);

/* ---- Host output --------------------------------------------------------------------- */
/* Posts frames to the guest; returns how many were posted (the others are
 * counted drops). */
unsigned vspn_vsp_deliver(struct vspn_vsp *vsp, const struct vspn_frame *frames,
                          unsigned n);
/* Link state of the port; indicates MEDIA_CONNECT / MEDIA_DISCONNECT to
 * an initialised RNDIS device (see "Data path" for order and flaps). */
void vspn_vsp_set_link(struct vspn_vsp *vsp, bool up);
/* Retries queued completions, control messages and link indications;
 * returns how many are still waiting. */
unsigned vspn_vsp_poll(struct vspn_vsp *vsp);
/* True while completions are queued: stop reading the guest ring, call
 * poll.  (Control messages wait for receive slots, which only the guest's
 * completions, read from that ring, give back.) */
bool vspn_vsp_busy(const struct vspn_vsp *vsp);
/* Completions, control messages and link indications (0-2) waiting for
 * ring space or receive slots (what vspn_vsp_poll retries); 0 for NULL. */
unsigned vspn_vsp_queued(const struct vspn_vsp *vsp);

/* ---- Introspection ------------------------------------------------------------------- */
enum vspn_vsp_state vspn_vsp_state(const struct vspn_vsp *vsp);
uint32_t vspn_vsp_nvsp_version(const struct vspn_vsp *vsp); /* 0 if none */
uint32_t vspn_vsp_ndis_version(const struct vspn_vsp *vsp); /* 0 if none */
uint32_t vspn_vsp_mtu(const struct vspn_vsp *vsp);          /* negotiated */
struct vsa_mac vspn_vsp_mac(const struct vspn_vsp *vsp);    /* current */
uint32_t vspn_vsp_filter(const struct vspn_vsp *vsp);
bool vspn_vsp_link(const struct vspn_vsp *vsp);
enum vspn_rndis_state vspn_vsp_rndis_state(const struct vspn_vsp *vsp);
/* Receive slots: total and currently free (0/0 without a buffer). */
uint32_t vspn_vsp_recv_slots(const struct vspn_vsp *vsp);
uint32_t vspn_vsp_recv_slots_free(const struct vspn_vsp *vsp);
uint32_t vspn_vsp_recv_slot_size(const struct vspn_vsp *vsp); /* bytes */
uint32_t vspn_vsp_send_sections(const struct vspn_vsp *vsp);
bool vspn_vsp_has_recv_buf(const struct vspn_vsp *vsp);
bool vspn_vsp_has_send_buf(const struct vspn_vsp *vsp);
const struct vspn_vsp_stats *vspn_vsp_stats(const struct vspn_vsp *vsp);

#endif /* VSPN_VSP_H */
