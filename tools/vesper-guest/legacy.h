/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * legacy.h — one legacy NIC of a partition, guest side (prefix
 * vg_legacy_): the emulated DEC 21140A that vesperd presents as PCI device
 * INDEX, driven by tulip_drv.h over the partition socket.
 *
 * Owns
 * ----
 *  * the register path: every configuration-space and CSR access of the
 *    driver is one IO_TRAP of device INDEX through the I/O BAR
 *    (hv_part_guest_io, waiting for IO_TRAP_DONE); any transport error
 *    makes the driver's current operation fail and the agent reconnects;
 *  * the interrupt: a socketpair end registered once per connection as
 *    interrupt line INDEX (hv_part_guest_setup_irq), polled by the agent;
 *  * the DMA area: VG_TULIP_MEM_SIZE bytes that must lie below 4 GiB (the
 *    21140 is a 32-bit bus master) while the partition's main memory sits
 *    at 4 GiB (part.h).  part.c therefore shares a second, low region
 *    (VG_PART_LOW_GPA) first, and the agent carves every legacy NIC's area
 *    out of it (vg_legacy_carve) right after connecting, before anything
 *    else allocates: hv_part_guest_alloc_pages takes the first region with
 *    room, so the exactly-sized low region is used up by these areas and
 *    later allocations land at 4 GiB.  The carve re-checks the GPA;
 *  * bring-up: probe (§9.1, the SROM's MAC; a bad SROM is refused and not
 *    retried on this connection) and open (§9.2), with the receive filter
 *    the TAP asks for; the driver is destroyed on close and a new one
 *    probes again on the next open;
 *  * housekeeping (vg_legacy_tick): the TAP's multicast list and flags
 *    every VG_MCAST_POLL_MS (mcast.h explains why polling), the PHY link
 *    every VG_TULIP_LINK_POLL_MS (Linux's media timer) and at once on a
 *    link interrupt, and with the link poll whether the device is still
 *    there: vesperd attaches and detaches legacy NICs while the guest runs
 *    (`vm nic add/del`): a removed device reads all-ones, one attached in
 *    its place starts reset, another NIC's moved to its index holds that
 *    driver's receive list; each is closed and probed again;
 *  * a fatal bus error (CSR5 FBE) resets the device: close and open again;
 *  * counters: the driver's (VG_TULIP_STATS_FOREACH), summed over every
 *    driver this NIC ran, printed with the trapped accesses per frame;
 *  * poll mode (poll_mode, for `vesper-guest bench`): the driver runs in
 *    vg_tulip_set_poll_mode from open on, and the caller calls
 *    vg_legacy_poll in a loop instead of waiting for the interrupt;
 *  * transmit automatic polling (tx_autopoll, `--tx-autopoll`): the
 *    driver sets CSR0 TAP and never writes CSR1
 *    (vg_tulip_set_tx_autopoll).
 *
 * Thread-safety: one thread drives the NIC and its partition.
 */
#ifndef VG_LEGACY_H
#define VG_LEGACY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tools/vesper-guest/counters.h"
#include "tools/vesper-guest/nic.h"
#include "tools/vesper-guest/part.h"
#include "tools/vesper-guest/tulip_drv.h"

#define VG_LEGACY_PROBE_RETRY_MS 1000u /* device INDEX not there yet */
#define VG_LEGACY_MEM_SIZE                                                    \
    ((VG_TULIP_MEM_SIZE + HV_PAGE_SIZE - 1) & ~(uint64_t)(HV_PAGE_SIZE - 1))

/* Reads the receive filter the interface `ifname` asks for (default
 * vg_mcast_read; tests inject their own).  0 or -errno. */
typedef int vg_legacy_rx_mode_fn(void *ctx, const char *ifname,
                                 struct vg_tulip_rx_mode *out);

struct vg_legacy {
    /* Set by the caller before vg_legacy_open. */
    struct vg_part *part;
    unsigned index;                /* PCI device = IO trap dev = irq line */
    const struct vg_nic_sink *sink; /* frames arrive without has_vlan */
    void *sink_ctx;
    struct vg_counters *cnt;
    const char *name;              /* for log lines */
    const char *ifname;            /* interface whose filter is followed */
    vg_legacy_rx_mode_fn *read_rx_mode;
    void *rx_mode_ctx;
    int timeout_ms;                /* per trapped access */
    bool poll_mode;                /* driver in poll mode from open on */
    unsigned tx_autopoll;          /* CSR0 TAP code from open on, 0: off */

    /* Kept across connections. */
    uint64_t totals[VG_TULIP_STATS_N]; /* of drivers already destroyed */
    struct vsa_mac mac;            /* last SROM MAC (zero: never probed) */
    bool absent_logged;

    /* Per connection. */
    struct hv_part_guest *owner;   /* connection of mem and irq_fd */
    void *mem;
    uint64_t gpa;
    int irq_fd;
    bool refused;                  /* probe failed for good */
    uint64_t next_probe_ms, next_link_ms, next_mcast_ms;
    bool mode_read_failed;

    struct vg_tulip *drv;          /* NULL: closed */
    struct vg_tulip_rx_mode mode;  /* last read from the interface */
};

/* Initialises the fields the caller does not set. */
void vg_legacy_init(struct vg_legacy *l);

/* Carves this NIC's DMA area from the current connection (see above).
 * 0, -ENOMEM (no room, or not below 4 GiB). */
int vg_legacy_carve(struct vg_legacy *l);
/* Probes and opens the device.  0, -ENOENT (no device INDEX: retry
 * later), -EAGAIN (refused or retry not due yet), -ENOMEM (no DMA area),
 * or a transport error (-ECONNRESET, -ETIMEDOUT, …: reconnect). */
int vg_legacy_open(struct vg_legacy *l);
/* graceful: §9.5 close through the registers; otherwise local only. */
void vg_legacy_close(struct vg_legacy *l, bool graceful);
/* Forgets the connection's state (memory, fd, refusal); after the
 * partition connection was dropped. */
void vg_legacy_reset_connection(struct vg_legacy *l);
bool vg_legacy_ready(const struct vg_legacy *l);

/* Our socket of the interrupt line (-1 when closed). */
int vg_legacy_wait_fd(const struct vg_legacy *l);
/* The interrupt.  0, -ENXIO (the device is gone: as for
 * vg_legacy_tick), or a transport error. */
int vg_legacy_service(struct vg_legacy *l);
/* Poll mode (bench): vg_tulip_poll — reclaim, receive by OWN bits, the
 * interrupt path only when the irq fd is readable.  Frames received
 * (≥ 0), or a transport error; a fatal bus error resets the device as
 * vg_legacy_service does. */
int vg_legacy_poll(struct vg_legacy *l);
/* vg_tulip_send's contract; counted in the agent's tx_frames. */
int vg_legacy_send(struct vg_legacy *l, const void *frame, size_t len);
/* Transmit poll demand for what was queued.  0 or a transport error. */
int vg_legacy_flush(struct vg_legacy *l);
/* Filter and link polls when due (the link poll first checks that the
 * device is still there: vg_tulip_check_present); *wait_ms lowered to the
 * next one.  0, -ENXIO (the device went away or was replaced: the caller
 * takes the carrier off and calls vg_legacy_removed), or a transport
 * error. */
int vg_legacy_tick(struct vg_legacy *l, uint64_t now_ms, int *wait_ms);
/* After -ENXIO from vg_legacy_tick: counts and logs it, closes the driver
 * without I/O and probes again every VG_LEGACY_PROBE_RETRY_MS, so that a
 * device attached again at INDEX is brought up (a PCI hot removal; the
 * host announces none). */
void vg_legacy_removed(struct vg_legacy *l, uint64_t now_ms);

struct vsa_mac vg_legacy_mac(const struct vg_legacy *l);
bool vg_legacy_link_up(const struct vg_legacy *l);
/* Driver counter `id` summed over every driver this NIC ran. */
uint64_t vg_legacy_stat(const struct vg_legacy *l, unsigned id);
void vg_legacy_print(const struct vg_legacy *l, FILE *f);

#endif /* VG_LEGACY_H */
