/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nic.h — one synthetic NIC of a partition, guest side (prefix vg_nic_):
 * the VMBus channel and the netvsc client (vspn_vsc) running on it.
 *
 * Owns
 * ----
 *  * choosing the offer: the INDEX-th non-rescinded offer of the synthetic
 *    network class in offer order; after the first connection the NIC's
 *    instance GUID is remembered and preferred, so a host that reorders
 *    its offers still gives us "our" NIC back;
 *  * the NIC's guest memory, carved from the partition's region once per
 *    connection: receive buffer (VG_NIC_RECV_BUF_SIZE), send buffer
 *    (VG_NIC_SEND_BUF_SIZE, Linux order only), the VSC's bounce pages, and
 *    the ring pages hv_part_guest_open_chan takes (room for
 *    VG_NIC_REOPENS reopens after a rescind; beyond that the caller
 *    reconnects, which starts a fresh region);
 *  * bring-up in the order of the chosen handshake: iPXE (minimal)
 *    creates the receive-buffer GPADL before OPENCHANNEL, Linux opens the
 *    channel first and creates the receive and send buffer GPADLs right
 *    after it (the VSC needs their ids before its first NVSP message);
 *    then vspn_vsc_start and the NVSP/RNDIS exchange until READY;
 *  * the host→guest ring: drain in batches with the interrupt mask set
 *    while draining (vmbus.md §5.3), hv_ring_read_end after each batch and
 *    a signal to the host when it says so (§5.2);
 *  * signals to the host: the VSC asks for one when a write needs it (the
 *    ring's empty→non-empty rule); they are coalesced and written to the
 *    eventfd once per batch (vg_nic_flush), never per frame;
 *  * sends: the frames of a burst go in one send section, up to the
 *    host's max_pkts_per_msg RNDIS packets per NVSP message, like Linux
 *    netvsc under xmit_more (vspn_vsc_send_more; vg_nic_flush ends it);
 *  * teardown: vspn_vsc_stop (RNDIS HALT, revoke buffers), CLOSECHANNEL,
 *    then GPADL teardowns (VMBus ≥ 4.0 order, spec §5.4), and
 *    RELID_RELEASED when the host had rescinded the offer.
 *
 * Frames cross this interface exactly as the VSC takes and gives them
 * (Ethernet header + payload, 802.1Q tag as (tci, has_vlan)).
 *
 * Thread-safety: one thread drives the NIC and its partition.
 */
#ifndef VG_NIC_H
#define VG_NIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv/hv_chan_msg.h"
#include "hv/hv_part.h"
#include "tools/vesper-guest/counters.h"
#include "tools/vesper-guest/part.h"
#include "vsp-net/vsc.h"
#include "vsp-net/vsp.h"

#define VG_NIC_RING_PAGES 128u           /* per direction, control page incl. */
#define VG_NIC_RECV_BUF_SIZE (2u << 20)  /* 2 MiB */
#define VG_NIC_SEND_BUF_SIZE (1u << 20)  /* 1 MiB */
#define VG_NIC_BOUNCE_SLOTS 64u
#define VG_NIC_REOPENS 4u                /* channel reopens per connection */
#define VG_NIC_BATCH 64u                 /* ring packets per drain batch */

/* Where received frames and link changes go (the TAP, or the bench). */
struct vg_nic_sink {
    void (*rx)(void *ctx, const void *frame, size_t len, uint16_t vlan_tci,
               bool has_vlan);
    void (*link)(void *ctx, bool up); /* optional */
};

struct vg_nic {
    /* Set by the caller before vg_nic_open. */
    struct vg_part *part;
    unsigned index;
    enum vspn_vsc_mode mode;
    uint32_t mtu;
    const struct vg_nic_sink *sink;
    void *sink_ctx;
    struct vg_counters *cnt;
    const char *name; /* for log lines */

    /* Kept across connections. */
    bool have_instance;
    struct hv_guid instance;
    uint64_t vsc_totals[VSPN_VSC_STATS_N]; /* of VSCs already destroyed */

    /* Per connection (memory of the current partition connection). */
    struct hv_part_guest *mem_owner; /* connection the buffers belong to */
    struct vspn_vsc_buf recv_buf, send_buf, tx_pages;

    /* Per channel. */
    bool chan_open;
    uint32_t relid;
    struct hv_part_guest_chan ch;
    uint32_t recv_gpadl, send_gpadl; /* 0: none */
    struct vspn_vsc *vsc;
    bool poll_mode;   /* interrupt mask kept set: the caller polls */
    bool sig_pending; /* a host signal is owed (flushed by vg_nic_flush) */

    struct vspn_pkt_scratch scratch;
    uint8_t pkt[HV_RING_MAX_PKT_DEFAULT];
};

/* Guest memory one NIC needs per connection (reopen room included). */
uint64_t vg_nic_mem_size(enum vspn_vsc_mode mode, uint32_t mtu);

/* relid of the offer this NIC would use now, 0 if none is offered. */
uint32_t vg_nic_find_offer(const struct vg_nic *n);

/* Opens the channel and runs the handshake until the VSC is READY or
 * timeout_ms passes.  0, -ENOENT (no such offer yet), -ENOMEM (no guest
 * memory left: reconnect), -ETIMEDOUT, -EPROTO (handshake failed),
 * -ECONNRESET (host gone), -ENODEV (rescinded meanwhile), or -errno.  On
 * failure what was opened is closed again (without waiting for a host
 * that is gone or timed out); after any failure but -ENOENT the caller
 * should drop the partition connection and reconnect. */
int vg_nic_open(struct vg_nic *n, int timeout_ms);
/* graceful: VSC stop, CLOSECHANNEL, GPADL teardowns (waiting up to
 * timeout_ms each), RELID_RELEASED if rescinded.  Not graceful (host
 * gone): only local state is released. */
void vg_nic_close(struct vg_nic *n, bool graceful, int timeout_ms);
bool vg_nic_ready(const struct vg_nic *n);
/* True when the host rescinded our open channel (the caller closes). */
bool vg_nic_rescinded(const struct vg_nic *n);

/* eventfd the host signals (-1 when closed); vg_nic_ack clears it. */
int vg_nic_wait_fd(const struct vg_nic *n);
void vg_nic_ack(struct vg_nic *n);
/* Processes up to `budget` host packets.  *more: packets are (or may be)
 * left, call again without waiting.  Returns the number processed, or
 * -EPROTO when the ring is broken (the caller resets the NIC). */
int vg_nic_drain(struct vg_nic *n, unsigned budget, bool *more);
/* Poll mode (bench): keep the host→guest interrupt mask set, the host
 * never needs to signal us. */
void vg_nic_set_poll_mode(struct vg_nic *n, bool on);
/* Sends one frame (vspn_vsc_send's contract and errors).  Frames of one
 * burst share a send section and one NVSP message (vspn_vsc_send_more)
 * that vg_nic_flush sends, with the signal it may owe the host: call it
 * at the end of every burst. */
int vg_nic_send(struct vg_nic *n, const void *frame, size_t len,
                uint16_t vlan_tci, bool has_vlan);
/* Sends the burst's open send section, then writes the owed host
 * signal, if any. */
void vg_nic_flush(struct vg_nic *n);

struct vsa_mac vg_nic_mac(const struct vg_nic *n);
uint32_t vg_nic_mtu(const struct vg_nic *n);
bool vg_nic_link_up(const struct vg_nic *n);
/* VSC counter `id` summed over every VSC this NIC ran. */
uint64_t vg_nic_vsc_stat(const struct vg_nic *n, unsigned id);
void vg_nic_print(const struct vg_nic *n, FILE *f);

#endif /* VG_NIC_H */
