/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vsc.h — the guest side of a synthetic NIC (a netvsc-like client): drives
 * the NVSP/RNDIS handshake, sends frames, receives transfer-page packets
 * and returns their ranges, queries the MAC, sets the packet filter and
 * follows the link.  Transport agnostic like vsp.h: packets from the host
 * arrive as `struct vspn_pkt` (vspn_pkt_from_ring() on the host→guest
 * ring), packets to the host leave through `struct vspn_vsc_ops`.
 *
 * Handshake orders (spec nvsp-rndis.md §6)
 * -----------------------------------------
 * VSPN_VSC_LINUX (§6.1): INIT trying 6.1, 6, 5, 4, 2, 1 until one is
 * accepted; NDIS_CONFIG {MTU + 14, VLAN cap (+ SR-IOV, teaming ≥ v5)} when
 * ≥ v2; NDIS_VER (6.30 when ≥ v5, else 6.1); SEND_RECV_BUF (id 0xCAFE) and
 * its completion; SEND_SEND_BUF (id 0) and its completion when a send
 * buffer is configured; RNDIS INITIALIZE (max transfer 0x4000); QUERY
 * MAXIMUM_FRAME_SIZE, PERMANENT_ADDRESS, FRIENDLY_NAME (optional), offload
 * hardware capabilities (input header by version), SET offload parameters
 * (IPv4 header checksum off, nothing enabled: the host claims nothing),
 * QUERY MEDIA_CONNECT_STATUS, LINK_SPEED (≥ v5); SET PACKET_FILTER 0x0D
 * (directed | all-multicast | broadcast).  Sub-channels and RSS are not
 * requested (one queue).  NVSP messages are 40 bytes.
 * VSPN_VSC_MINIMAL (§6.3, iPXE): INIT with version 1 (0x2) only, NDIS_VER
 * 6.1 with completion requested (awaited), SEND_RECV_BUF (id 0xBEAD); no
 * NDIS_CONFIG, no send buffer; RNDIS INITIALIZE, QUERY PERMANENT_ADDRESS,
 * QUERY MEDIA_CONNECT_STATUS, SET PACKET_FILTER 0x0D.  NVSP messages are
 * 32 bytes, completions of receive ranges are empty.
 * Every reply is validated like the real guests do (§4 minimum lengths;
 * 102: status 1, one section at offset 0, slot ≥ 68 bytes and size × count
 * inside the buffer; 105: status 1, section ≥ 68 and a multiple of 4);
 * a failed step moves to FAILED.
 *
 * Buffers
 * -------
 * The caller owns the memory and creates the GPADLs (hv_vmbus_guest); the
 * VSC gets, per buffer, its mapping, guest physical address, size and
 * GPADL id.  Receive buffer: the host writes RNDIS messages into it; every
 * range of a transfer-page packet is bounds-checked, copied out once and
 * decoded, and the packet is acknowledged (COMP {108, status}; status 2 if
 * a range was out of bounds, like Linux; empty in minimal mode).  Send
 * buffer: sections of the host's size, the guest owning the allocation
 * map; vspn_vsc_send puts one RNDIS_PACKET in a section,
 * vspn_vsc_send_more up to the host's max_pkts_per_msg (each on its
 * PacketAlignmentFactor, the padding counted in the packet before); a
 * section is free again when the host's 108 arrives.  `tx_pages` is a page-aligned bounce area split into
 * slots (page multiple holding one full-MTU message) used for every RNDIS
 * control message and for frames when no send section is free or there is
 * no send buffer; they go out as GPA-direct packets, one range per page
 * (the form Linux and DPDK emit), with section index 0xFFFFFFFF.
 *
 * One RNDIS control request is outstanding at a time (like DPDK); request
 * ids start at 1.  After READY the caller may issue one OID QUERY/SET at a
 * time (vspn_vsc_oid_request, result via vspn_vsc_oid_result) and change
 * the filter (vspn_vsc_set_filter).  vspn_vsc_stop() sends RNDIS HALT,
 * REVOKE_RECV_BUF and REVOKE_SEND_BUF (DPDK's order, spec §5.4); the caller
 * then closes the channel and tears the GPADLs down.
 *
 * Thread-safety
 * -------------
 * Single-threaded: one thread drives a vspn_vsc (the guest agent's poll
 * loop).  No internal locks; the ops are called on that thread.
 */
#ifndef VSPN_VSC_H
#define VSPN_VSC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/vsa_mac.h"
#include "hv/hv_ring.h"
#include "vsp-net/nvsp.h"
#include "vsp-net/rndis.h"
#include "vsp-net/vsp.h"

#define VSPN_VSC_MAX_SECTIONS 4096u  /* send sections tracked */
#define VSPN_VSC_MAX_BOUNCE 256u     /* bounce slots tracked */
#define VSPN_VSC_COMPQ_MAX 256u      /* queued receive completions */
#define VSPN_VSC_OID_RESULT_MAX 256u
#define VSPN_VSC_RX_COPY_MAX 65536u  /* largest host message accepted */

enum vspn_vsc_mode {
    VSPN_VSC_LINUX,
    VSPN_VSC_MINIMAL,
};

enum vspn_vsc_state {
    VSPN_VSC_IDLE,
    VSPN_VSC_INIT,        /* waiting for INIT_COMPLETE */
    VSPN_VSC_NDIS_VER,    /* minimal: waiting for the NDIS_VER completion */
    VSPN_VSC_RECV_BUF,    /* waiting for SEND_RECV_BUF_COMPLETE */
    VSPN_VSC_SEND_BUF,    /* waiting for SEND_SEND_BUF_COMPLETE */
    VSPN_VSC_RNDIS,       /* RNDIS INITIALIZE and the OID sequence */
    VSPN_VSC_READY,
    VSPN_VSC_HALTED,
    VSPN_VSC_FAILED,
};

struct vspn_vsc_buf {
    void *mem;      /* the guest's mapping */
    uint64_t gpa;   /* guest physical address of mem, page aligned */
    uint32_t size;  /* bytes, multiple of 4096 (0 = none) */
    uint32_t gpadl; /* GPADL id the caller created over it */
};

struct vspn_vsc_cfg {
    enum vspn_vsc_mode mode;
    struct vspn_vsc_buf recv_buf; /* required */
    struct vspn_vsc_buf send_buf; /* LINUX mode only; size 0 = none */
    struct vspn_vsc_buf tx_pages; /* required bounce area (gpadl unused) */
    uint32_t mtu;                 /* wanted MTU; 0: 1500 */
    /* NVSP versions in preference order; NULL: the mode's list. */
    const uint32_t *versions;
    unsigned nversions;
};

/* Send ops return 1 (signal the host), 0, or a negative errno (-EAGAIN). */
struct vspn_vsc_ops {
    int (*send_inband)(void *ctx, uint16_t flags, uint64_t trans_id,
                       const void *msg, size_t size);
    int (*send_gpa)(void *ctx, uint16_t flags, uint64_t trans_id,
                    const struct hv_ring_gpa_page *pages, uint32_t n,
                    const void *msg, size_t size);
    int (*send_completion)(void *ctx, uint64_t trans_id, const void *msg,
                           size_t size);
    void (*signal)(void *ctx);
    /* A received frame (valid during the call). */
    void (*rx_frame)(void *ctx, const void *frame, size_t len,
                     uint16_t vlan_tci, bool has_vlan);
    void (*link_change)(void *ctx, bool up);                   /* optional */
    void (*state_change)(void *ctx, enum vspn_vsc_state st);   /* optional */
};

#define VSPN_VSC_STATS_FOREACH(X)                                              \
    X(tx_frames, "frames sent")                                                \
    X(tx_bytes, "frame bytes sent")                                            \
    X(tx_sections, "frames sent through send-buffer sections")                 \
    X(tx_gpa, "frames sent as GPA-direct page ranges")                         \
    X(tx_busy, "sends refused: no free section or bounce slot")                \
    X(tx_ring_full, "sends refused: guest-to-host ring full")                  \
    X(tx_oversize, "sends refused: frame over the MTU")                        \
    X(tx_failed, "sends the host completed with a failure status")             \
    X(rx_frames, "frames received")                                            \
    X(rx_bytes, "frame bytes received")                                        \
    X(rx_batches, "transfer-page packets received")                            \
    X(rx_bad_xfer, "transfer-page packets with a foreign pageset id")          \
    X(rx_no_comp_flag, "transfer-page packets without completion-requested "  \
                       "(acknowledged all the same)")                          \
    X(rx_bad_range, "receive ranges outside the receive buffer")               \
    X(rx_bad_rndis, "malformed RNDIS messages from the host")                  \
    X(rx_bad_ppi, "malformed per-packet info from the host")                   \
    X(rx_unexpected, "host messages no request was waiting for")              \
    X(rx_indications, "INDICATE_STATUS messages received")                     \
    X(host_invalid, "INVALID_DATA indications (the host refused a message)")  \
    X(bad_completion, "host completions naming nothing outstanding")           \
    X(comp_deferred, "receive completions queued: ring full")                  \
    X(comp_dropped, "receive completions lost: queue full")                    \
    X(handshake_failed, "handshakes that ended in FAILED")

struct vspn_vsc_stats {
#define VSPN_VSC_STATS_FIELD_(n, h) uint64_t n;
    VSPN_VSC_STATS_FOREACH(VSPN_VSC_STATS_FIELD_)
#undef VSPN_VSC_STATS_FIELD_
};

enum vspn_vsc_stats_id {
#define VSPN_VSC_STATS_ID_(n, h) VSPN_VSC_STATS_ID_##n,
    VSPN_VSC_STATS_FOREACH(VSPN_VSC_STATS_ID_)
#undef VSPN_VSC_STATS_ID_
    VSPN_VSC_STATS_N
};

const char *vspn_vsc_stats_name(unsigned id);
const char *vspn_vsc_stats_help(unsigned id);
uint64_t vspn_vsc_stats_get(const struct vspn_vsc_stats *s, unsigned id);

struct vspn_vsc;

/* ---- Lifecycle ------------------------------------------------------------ */
/* 0, -EINVAL (missing op/buffer, unaligned or too small buffers, mtu),
 * -ENOMEM. */
int vspn_vsc_create(const struct vspn_vsc_cfg *cfg,
                    const struct vspn_vsc_ops *ops, void *ctx,
                    struct vspn_vsc **out);
void vspn_vsc_destroy(struct vspn_vsc *vsc);
/* Starts the handshake (first INIT).  0, -EALREADY, or the send error. */
int vspn_vsc_start(struct vspn_vsc *vsc);
/* HALT, REVOKE_RECV_BUF, REVOKE_SEND_BUF.  0 or the first send error. */
int vspn_vsc_stop(struct vspn_vsc *vsc);

/* ---- Host input ------------------------------------------------------------- */
/* 0, -EPROTO (unexpected or malformed host packet; counted, ignored),
 * -EINVAL. */
int vspn_vsc_handle_pkt(struct vspn_vsc *vsc, const struct vspn_pkt *pkt);
/* Retries queued receive completions; returns how many are still queued. */
unsigned vspn_vsc_poll(struct vspn_vsc *vsc);

/* ---- Data path ------------------------------------------------------------- */
/* Sends one frame (an in-frame tag is left alone; has_vlan adds the 802.1Q
 * PPI).  0, -ENOTCONN (not READY), -EMSGSIZE (over MTU or < 14 bytes),
 * -EINVAL (VLAN id 4095), -EAGAIN (no section, bounce slot or ring
 * space). */
int vspn_vsc_send(struct vspn_vsc *vsc, const void *frame, size_t len,
                  uint16_t vlan_tci, bool has_vlan);
/* Like vspn_vsc_send, but the frame may wait in a send section for more:
 * up to the host's max_pkts_per_msg RNDIS_PACKETs, each on its alignment
 * factor, go to the host as ONE NVSP message (Linux netvsc's batching
 * under xmit_more).  The section goes out when the next frame does not
 * fit, on vspn_vsc_send(), vspn_vsc_stop() or vspn_vsc_send_flush(): call
 * that at the end of every burst.  Without a send buffer, or when the
 * host takes one packet per message, it is vspn_vsc_send. */
int vspn_vsc_send_more(struct vspn_vsc *vsc, const void *frame, size_t len,
                       uint16_t vlan_tci, bool has_vlan);
/* Sends the section vspn_vsc_send_more() is filling and signals the host
 * if it must.  0, -EINVAL, or -EAGAIN (ring full: the section stays open,
 * try again after the host's completions were read). */
int vspn_vsc_send_flush(struct vspn_vsc *vsc);

/* ---- Control ------------------------------------------------------------------ */
/* SET PACKET_FILTER.  0, -ENOTCONN, -EBUSY (a request is outstanding). */
int vspn_vsc_set_filter(struct vspn_vsc *vsc, uint32_t filter);
/* One QUERY (VSPN_RNDIS_MSG_QUERY) or SET of any OID.  0, -ENOTCONN,
 * -EBUSY, -EINVAL, -EMSGSIZE. */
int vspn_vsc_oid_request(struct vspn_vsc *vsc, uint32_t type, uint32_t oid,
                         const void *in, uint32_t in_len);
/* Result of the last request: -EINPROGRESS, -ENOENT (none), or 0 with the
 * RNDIS status and up to `cap` bytes of the information buffer. */
int vspn_vsc_oid_result(const struct vspn_vsc *vsc, uint32_t *status,
                        void *out, uint32_t cap, uint32_t *out_len);

/* ---- Introspection -------------------------------------------------------------- */
enum vspn_vsc_state vspn_vsc_state(const struct vspn_vsc *vsc);
const char *vspn_vsc_state_name(enum vspn_vsc_state s);
bool vspn_vsc_ready(const struct vspn_vsc *vsc);
uint32_t vspn_vsc_nvsp_version(const struct vspn_vsc *vsc);
struct vsa_mac vspn_vsc_mac(const struct vspn_vsc *vsc); /* permanent */
uint32_t vspn_vsc_mtu(const struct vspn_vsc *vsc);       /* from the host */
uint32_t vspn_vsc_link_speed(const struct vspn_vsc *vsc);
bool vspn_vsc_link_up(const struct vspn_vsc *vsc);
uint32_t vspn_vsc_filter(const struct vspn_vsc *vsc);
uint32_t vspn_vsc_send_sections(const struct vspn_vsc *vsc);
uint32_t vspn_vsc_recv_slots(const struct vspn_vsc *vsc);
/* Frames sent and not yet completed by the host. */
uint32_t vspn_vsc_tx_inflight(const struct vspn_vsc *vsc);
const struct vspn_vsc_stats *vspn_vsc_stats(const struct vspn_vsc *vsc);

#endif /* VSPN_VSC_H */
