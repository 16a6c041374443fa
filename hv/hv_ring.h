/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hv_ring.h — VMBus ring buffers ("bufrings") with the real Hyper-V layout,
 * both the writer and the reader side.
 *
 * Layout (spec vmbus.md §1-§4)
 * ----------------------------
 * A ring is one 4096-byte control page followed by a data area of `dsize`
 * bytes (on the wire a multiple of 4096).  Control page:
 *   0x000 write_index      stored only by the writer
 *   0x004 read_index       stored only by the reader
 *   0x008 interrupt_mask   set by the reader while it drains
 *   0x00C pending_send_sz  set by a blocked writer: free bytes it needs
 *   0x040 feature_bits     bit 0 = feat_pending_send_sz, set by the writer
 * Each packet = 16-byte descriptor {type u16, offset8 u16, len8 u16,
 * flags u16, trans_id u64} + type-specific header + payload, padded to 8
 * bytes (len8 × 8 in total), then an 8-byte trailer whose upper 32 bits are
 * the write index at which the packet started.  Packets wrap modulo dsize.
 * Types: INBAND 0x6, transfer-page 0x7 (pageset id + byte ranges), GPA-
 * direct 0x9 (GPA ranges with PFN lists), cancel request 0xa (descriptor
 * only; its trans_id names the request to cancel), COMP 0xb; flag bit 0 =
 * completion requested; trans_id is opaque and echoed in the completion.
 *
 * Trust model
 * -----------
 * The peer is untrusted and writes the shared control page and data area
 * concurrently.  Each side keeps its OWN index privately (the writer its
 * write index, the reader its read index) and never reads it back from
 * shared memory after attach; the peer's index is loaded once per
 * operation into a local, validated (< dsize, 8-aligned), then used.  The
 * reader COPIES the descriptor into the caller's buffer, validates the copy
 * (offset8 ≥ 2, len8 ≥ offset8, len8 × 8 + 8 ≤ readable, ≤ max packet size,
 * type accepted, type-specific header consistent), then copies the rest of
 * the packet after it; nothing is ever parsed in place.  Any violation
 * returns -EPROTO, counts the reason and marks the ring broken: sticky,
 * every later call returns -EPROTO and touches no shared memory.  The
 * owner (hv_vmbus_host) closes the channel.  The break is logged once per
 * ring, under the name and per-VM log budget given at creation (hv_ring_cfg)
 * and a budget shared by all rings of the process.
 *
 * Signalling (§5)
 * ---------------
 * Writer: refuse unless writable > packet + trailer (the ring never becomes
 * completely full).  Room is first judged by the read index loaded last
 * (the reader only moves it forward, so an old view shows less room);
 * only when that view is short is read_index loaded again, validated.
 * When still refused, store the needed size into pending_send_sz, full
 * barrier, reload read_index once and retry; -EAGAIN if still short
 * (pending_send_sz stays set so the reader will signal when enough space
 * is free; it is cleared by the next successful write).  After the copy:
 * release fence, store write_index, full barrier, and signal only if the
 * reader's interrupt_mask is clear AND the ring went from empty to
 * non-empty (the write index stored before == current read_index).  Both
 * loads hit the line the store just took; read_index is validated there
 * (a bad one breaks the ring) and becomes the writer's view of the room.
 * hv_ring_write_pkt() reports the decision in *signal;
 * hv_ring_write_hold()/commit() store the index and decide once for a
 * batch of packets.
 *
 * Reader: hv_ring_read_pkt() copies one packet out (the write index is
 * loaded only once the packets it showed last are consumed; newly shown
 * packets, up to 1 KiB, are prefetched at once), then
 * advances the read index (release ordering after the copy).  The index
 * is stored at once while interrupts are unmasked; while the reader holds
 * the mask (§5.3) the writer signals nothing anyway, and the store waits
 * for hv_ring_read_end() or hv_ring_unmask_intr(): once per batch, as
 * Linux's hv_pkt_iter_close() does.  hv_ring_read_end() closes a batch
 * and applies the pending_send_sz rule of §5.2 with R = bytes consumed in
 * the batch: no signal if the writer did not set feat_pending_send_sz, if
 * pending_send_sz is 0, if W − R > pending (the writer was not blocked
 * before the batch) or W ≤ pending (still not enough room); otherwise
 * signal.  hv_ring_mask_intr()/hv_ring_unmask_intr() implement the drain
 * pattern of §5.3 (unmask re-checks for data that arrived in the window).
 *
 * Why the views and batches: each side's index lives on one cache line
 * that the other side's CPU reads, so every store there and every load of
 * the peer's index is a transfer between CPUs.  Per batch instead of per
 * packet (with the prefetches in vsp-net), a synthetic NIC pair went
 * from about 4 to about 6 Mpps in alternated runs (docs/synthetic-nic.md).
 *
 * Memory access goes through struct hv_ring_ops, so the host runs rings in
 * GPADL memory (hv_ring_create_gpadl: direct pointers when the data pages
 * are contiguous, page-wise copies otherwise), tests and fuzzers in plain
 * buffers (hv_ring_create_buf), and the double-fetch test through an
 * instrumented accessor (hv_ring_create with its own ops).
 *
 * Limits: dsize multiple of 8 in [HV_RING_MIN_DSIZE, HV_RING_MAX_DSIZE];
 * a packet (len8 × 8) is at most max_pkt bytes (default
 * HV_RING_MAX_PKT_DEFAULT, never more than dsize − 16 or 65535 × 8).
 *
 * Thread-safety
 * -------------
 * One hv_ring object is one endpoint (reader or writer) and is used by one
 * thread at a time (the thread servicing the channel).  The two endpoints
 * of one ring may run on different threads or processes: that is the
 * point, and the fences follow §5.  Counters go to the hv_stats given at
 * creation (single writer: the servicing thread).
 */
#ifndef HV_RING_H
#define HV_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "hv/hv_gpadl.h"
#include "hv/hv_stats.h"

#define HV_RING_CTL_SIZE 4096u
#define HV_RING_OFF_WRITE_INDEX 0x000u
#define HV_RING_OFF_READ_INDEX 0x004u
#define HV_RING_OFF_INTR_MASK 0x008u
#define HV_RING_OFF_PENDING_SEND 0x00Cu
#define HV_RING_OFF_FEATURES 0x040u
#define HV_RING_FEAT_PENDING_SEND_SZ 0x1u

#define HV_RING_DESC_SIZE 16u
#define HV_RING_TRAILER_SIZE 8u
#define HV_RING_MIN_DSIZE 32u
#define HV_RING_MAX_DSIZE (1u << 30)
#define HV_RING_MAX_PKT_DEFAULT 65536u
#define HV_RING_NAME_SIZE 160u /* hv_ring_cfg.name, NUL included */

/* Packet types (§3) used here; others are refused by the reader.  A
 * cancel request is accepted only where accept_types names it (not in
 * the default): iPXE's netvsc sends one per outstanding transmit when it
 * closes (nvsp-rndis.md §6.3). */
#define HV_PKT_INBAND 0x6u
#define HV_PKT_XFER_PAGES 0x7u
#define HV_PKT_GPA_DIRECT 0x9u
#define HV_PKT_CANCEL_REQUEST 0xau
#define HV_PKT_COMP 0xbu
#define HV_PKT_TYPE_BIT(t) (1u << (t))
#define HV_RING_TYPES_DEFAULT                                                 \
    (HV_PKT_TYPE_BIT(HV_PKT_INBAND) | HV_PKT_TYPE_BIT(HV_PKT_XFER_PAGES) |    \
     HV_PKT_TYPE_BIT(HV_PKT_GPA_DIRECT) | HV_PKT_TYPE_BIT(HV_PKT_COMP))

#define HV_PKT_FLAG_COMPLETION_REQUESTED 0x1u

/* Accessor of the ring memory.  Offsets: ctl_* take a control-page offset
 * (4-aligned, < 4096); data_* take a data-area offset and never wrap (the
 * ring splits wrapping copies). */
struct hv_ring_ops {
    uint32_t (*ctl_load)(void *ctx, uint32_t off);
    void (*ctl_store)(void *ctx, uint32_t off, uint32_t val);
    void (*data_read)(void *ctx, uint32_t off, void *dst, uint32_t size);
    void (*data_write)(void *ctx, uint32_t off, const void *src,
                       uint32_t size);
};

enum hv_ring_role {
    HV_RING_READER,
    HV_RING_WRITER,
};

struct hv_ring_cfg {
    enum hv_ring_role role;
    uint32_t dsize;         /* data area bytes (ring size − 4096) */
    uint32_t max_pkt;       /* 0: HV_RING_MAX_PKT_DEFAULT */
    uint32_t accept_types;  /* reader: HV_PKT_TYPE_BIT mask; 0: default */
    struct hv_stats *stats; /* may be NULL */
    /* For the one log line of a violation (both optional): whose ring it
     * is, copied and cut to HV_RING_NAME_SIZE - 1 characters ("vm vm1:
     * channel 3: guest-to-host ring"; NULL: the ring's address), and the
     * log budget of that VM, drawn together with the one of all rings
     * (vsa_log.h, VSA_LOG_RL2; NULL: that one only).  The bucket must
     * outlive the ring; the ring's thread draws from it. */
    const char *name;
    struct vsa_ratelimit *log_rl;
};

/* One packet as returned by the reader; every pointer points into the
 * caller's buffer (a private copy), never into shared memory. */
struct hv_ring_pkt {
    uint16_t type;
    uint16_t flags;
    uint16_t offset8;
    uint16_t len8;
    uint64_t trans_id;
    const uint8_t *hdr;  /* type-specific header (after the descriptor) */
    uint32_t hdr_size;   /* offset8 × 8 − 16 */
    const uint8_t *data; /* payload, at offset8 × 8 */
    uint32_t data_size;  /* (len8 − offset8) × 8, includes tail padding */
};

/* Transfer-page range (§4.2) and a GPA-direct range (§4.3). */
struct hv_ring_xfer_range {
    uint32_t byte_count;
    uint32_t byte_offset;
};

struct hv_ring_gpa_range {
    uint32_t byte_count;
    uint32_t byte_offset; /* < 4096, into the first page */
    uint32_t npfns;
    const uint8_t *pfns;  /* npfns little-endian u64; use hv_ring_gpa_pfn */
};

/* One PFN per range: the form Linux and DPDK emit. */
struct hv_ring_gpa_page {
    uint32_t byte_count;
    uint32_t byte_offset;
    uint64_t pfn;
};

struct hv_ring_gpa_iter {
    const uint8_t *pos;
    const uint8_t *end;
    uint32_t left;
};

struct hv_ring;
struct vsa_ratelimit;

/* ---- Lifecycle ---------------------------------------------------------
 * Each constructor loads both indices once and validates them (< dsize,
 * 8-aligned); a writer ORs feat_pending_send_sz into feature_bits.
 * Returns 0, -EINVAL (bad cfg/alignment), -EPROTO (index out of range or
 * unaligned; counted in bad_index), -ENOMEM. */
int hv_ring_create(const struct hv_ring_cfg *cfg, const struct hv_ring_ops *ops,
                   void *ctx, struct hv_ring **out);
/* `mem` = control page followed by cfg->dsize bytes (4-byte aligned). */
int hv_ring_create_buf(const struct hv_ring_cfg *cfg, void *mem,
                       struct hv_ring **out);
/* Ring at pages [first_page, first_page + 1 + dsize/4096) of GPADL `g`; the
 * ring keeps a reference on g.  -EINVAL if it does not fit. */
int hv_ring_create_gpadl(const struct hv_ring_cfg *cfg, struct hv_gpadl *g,
                         uint32_t first_page, struct hv_ring **out);
void hv_ring_destroy(struct hv_ring *r);

/* Ring owner (the guest): zero the control page and set feature_bits = 1. */
void hv_ring_ctl_init(void *ctl_page);

/* ---- Writer -------------------------------------------------------------
 * Writes one packet: descriptor(type, flags, trans_id), the concatenated
 * `hdr` iovecs (type-specific header, padded to 8), the concatenated `data`
 * iovecs (padded to 8), trailer.  *signal (may be NULL) = reader must be
 * signalled.  Returns 0, -EAGAIN (no room; pending_send_sz set), -EMSGSIZE
 * (packet > max_pkt), -EINVAL (reader ring, bad type), -EPROTO (broken). */
int hv_ring_write_pkt(struct hv_ring *r, uint16_t type, uint16_t flags,
                      uint64_t trans_id, const struct iovec *hdr,
                      unsigned hdr_cnt, const struct iovec *data,
                      unsigned data_cnt, bool *signal);
int hv_ring_write_inband(struct hv_ring *r, uint16_t flags, uint64_t trans_id,
                         const void *data, size_t size, bool *signal);
int hv_ring_write_comp(struct hv_ring *r, uint64_t trans_id, const void *data,
                       size_t size, bool *signal);
/* Transfer-page packet (§4.2): header {pageset_id u16, 0 u8, 0 u8,
 * range_cnt u32, ranges}. */
int hv_ring_write_xfer(struct hv_ring *r, uint16_t flags, uint64_t trans_id,
                       uint16_t pageset_id,
                       const struct hv_ring_xfer_range *ranges, uint32_t n,
                       const void *data, size_t size, bool *signal);
/* GPA-direct packet (§4.3), one PFN per range. */
int hv_ring_write_gpa(struct hv_ring *r, uint16_t flags, uint64_t trans_id,
                      const struct hv_ring_gpa_page *pages, uint32_t n,
                      const void *data, size_t size, bool *signal);

/* Batched publication.  After hold, packets are written but the write
 * index is stored (and the signal decided) once, by commit, for all of
 * them: one fence and one store to the line the reader polls per batch
 * instead of per packet.  The hold ends at commit, which returns true if
 * the reader must be signalled.  A write that finds the ring full
 * publishes what is held first (the reader can only make room by reading
 * it).  Commit before waiting for the reader: held packets are invisible
 * to it. */
void hv_ring_write_hold(struct hv_ring *r);
bool hv_ring_write_commit(struct hv_ring *r);

/* ---- Reader -------------------------------------------------------------
 * Copies the next packet into buf and validates it (see the essay); does
 * not consume it.  Returns 0, -EAGAIN (empty), -ENOBUFS (valid packet larger
 * than `size`; nothing consumed, ring not broken), -EINVAL (writer ring or
 * size < 16), -EPROTO (violation; ring now broken). */
int hv_ring_peek_pkt(struct hv_ring *r, void *buf, size_t size,
                     struct hv_ring_pkt *pkt);
/* Consumes the packet returned by the last successful peek (no re-read of
 * shared memory).  -EINVAL if nothing was peeked. */
int hv_ring_consume(struct hv_ring *r);
/* peek + consume. */
int hv_ring_read_pkt(struct hv_ring *r, void *buf, size_t size,
                     struct hv_ring_pkt *pkt);
/* Ends a read batch: true if the blocked writer must be signalled (§5.2). */
bool hv_ring_read_end(struct hv_ring *r);
/* §5.3: set interrupt_mask while draining; unmask returns true if data is
 * (still or again) readable, in which case the caller drains again. */
void hv_ring_mask_intr(struct hv_ring *r);
bool hv_ring_unmask_intr(struct hv_ring *r);

/* ---- Packet helpers (operate on the private copy) ---------------------- */
/* Transfer-page header: 0 or -EPROTO. */
int hv_ring_pkt_xfer(const struct hv_ring_pkt *pkt, uint16_t *pageset_id,
                     uint32_t *range_cnt);
int hv_ring_pkt_xfer_range(const struct hv_ring_pkt *pkt, uint32_t idx,
                           struct hv_ring_xfer_range *out);
/* GPA-direct ranges: init 0 or -EPROTO; next 1 (range), 0 (end), -EPROTO. */
int hv_ring_gpa_iter_init(struct hv_ring_gpa_iter *it,
                          const struct hv_ring_pkt *pkt);
int hv_ring_gpa_iter_next(struct hv_ring_gpa_iter *it,
                          struct hv_ring_gpa_range *out);
uint64_t hv_ring_gpa_pfn(const struct hv_ring_gpa_range *rg, uint32_t i);

/* ---- Introspection ----------------------------------------------------- */
/* Any thread (the owner's vesperd checks rings an lcore reads). */
bool hv_ring_broken(const struct hv_ring *r);
uint32_t hv_ring_dsize(const struct hv_ring *r);
/* Private index of this endpoint (write index for a writer, read index for
 * a reader). */
uint32_t hv_ring_own_index(const struct hv_ring *r);

/* Index arithmetic of §1.1 (exported for tests and tools). */
static inline uint32_t hv_ring_bytes_readable(uint32_t w, uint32_t r,
                                              uint32_t dsize)
{
    return w >= r ? w - r : dsize - r + w;
}

static inline uint32_t hv_ring_bytes_writable(uint32_t w, uint32_t r,
                                              uint32_t dsize)
{
    return w >= r ? dsize - (w - r) : r - w;
}

#endif /* HV_RING_H */
