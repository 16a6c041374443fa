/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tulip.h — the emulated DEC 21140A ("tulip") NIC of legacy guests
 * (prefix vspn_tulip_): PCI configuration space, the sixteen CSRs, serial
 * ROM and MII PHY behind CSR9, transmit and receive descriptor processing
 * in guest memory, the setup-frame address filter and the interrupt line.
 * Implemented from ../shared/spec/dec21140.md (section numbers below refer
 * to it); plain C, no DPDK, no I/O of its own.
 *
 * Design
 * ------
 * The model is a passive state machine driven by its caller (the legacy
 * switch port glue, vsp-net/tulip_port.h, on vesperd's control thread):
 *   - every trapped guest access arrives as vspn_tulip_cfg_read/write
 *     (PCI configuration space) or vspn_tulip_csr_read/write (BAR0 I/O or
 *     BAR1 memory: CSR n at offset n*8, 32-bit accesses only; any other
 *     width or offset reads as all-ones, is ignored on write and counted);
 *   - DMA goes through the caller's accessor (struct vspn_tulip_dma): the
 *     model never holds a pointer into guest memory, it copies descriptors
 *     in, validates, then acts (a guest rewriting a descriptor meanwhile
 *     changes nothing);
 *   - bus mastering (PCI command bit 2, off at power-on) gates all DMA:
 *     while it is off the device reads and writes no descriptor and no
 *     buffer.  Received frames the filter accepts are dropped and counted
 *     (rx_no_bus_master, -EACCES); a transmit poll demand (CSR1, CSR6 ST;
 *     TAP does not poll) leaves the transmit process running but stalled
 *     at its descriptor fetch, and the fetch happens when the guest turns bus
 *     mastering back on (vspn_tulip_pending, vspn_tulip_poll), as a
 *     device that cannot get the bus waits for it.  No status bit tells
 *     the guest (a 21140 has none for this).  Linux clears the bit to
 *     stop a device's DMA before kexec (pci_device_shutdown).  I/O and
 *     memory decode (bits 0 and 1) are the caller's: only it knows which
 *     BAR an access came through;
 *   - transmitted frames leave through ops->tx_frame, received frames come
 *     in through vspn_tulip_receive();
 *   - the interrupt line (level: CSR5 summary bits & CSR7 != 0) is reported
 *     through ops->irq on every change and again after a CSR write that
 *     leaves it asserted (so an edge-signalled transport such as an eventfd
 *     gives level semantics: the guest re-reads CSR5 when it is poked).
 *
 * Work bounds (hostile guests): one transmit poll demand (or
 * vspn_tulip_poll) fetches at most VSPN_TULIP_TX_BUDGET descriptors,
 * counting the receive descriptors its loopback frames fill (plus the one
 * frame in progress: VSPN_TULIP_MAX_CHAIN more at most); a
 * frame that spans more than VSPN_TULIP_MAX_CHAIN descriptors, or whose
 * buffers sum to more than VSPN_TULIP_MAX_FRAME bytes, is dropped with the
 * error bits a 21140 sets and counted; a receive walks at most
 * VSPN_TULIP_MAX_CHAIN descriptors per frame.  Ring and chain loops
 * (a chain that points back to itself) therefore cannot spin the host.
 * Descriptor and buffer addresses must lie inside guest memory: the DMA
 * accessor refuses anything else (-EFAULT), which the model treats as a
 * bus error (CSR5 FBE, processes stopped).  The model never calls itself
 * re-entrantly (a DMA accessor may not call back into the device; a depth
 * counter asserts it).
 *
 * Thread-safety: none; one thread owns a device.
 */
#ifndef VSPN_TULIP_H
#define VSPN_TULIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/vsa_mac.h"

#define VSPN_TULIP_VENDOR_ID 0x1011u
#define VSPN_TULIP_DEVICE_ID 0x0009u
#define VSPN_TULIP_REVISION 0x22u  /* a 21140A */
#define VSPN_TULIP_BAR_SIZE 128u   /* BAR0 (I/O) and BAR1 (memory) */
#define VSPN_TULIP_CFG_SIZE 256u   /* PCI configuration space */
#define VSPN_TULIP_NCSR 16u

#define VSPN_TULIP_MAX_FRAME 1518u /* bytes, without CRC: larger is dropped */
#define VSPN_TULIP_MAX_CHAIN 64u   /* descriptors per frame */
#define VSPN_TULIP_TX_BUDGET 256u  /* descriptors per poll demand */
#define VSPN_TULIP_SETUP_LEN 192u  /* setup frame length */

/* Guest memory for DMA.  Both return 0 or -EFAULT (any byte outside guest
 * RAM); they may not call back into the device. */
struct vspn_tulip_dma {
    int (*read)(void *ctx, uint64_t gpa, void *buf, size_t len);
    int (*write)(void *ctx, uint64_t gpa, const void *buf, size_t len);
};

struct vspn_tulip_ops {
    struct vspn_tulip_dma dma;
    /* A frame the guest transmitted (copied out of guest memory; valid
     * only during the call).  Loopback modes (CSR6 OM) do not call it. */
    void (*tx_frame)(void *ctx, const uint8_t *frame, uint32_t len);
    /* The interrupt line is (still) asserted (true) or was deasserted. */
    void (*irq)(void *ctx, bool asserted);
};

struct vspn_tulip_config {
    struct vsa_mac mac; /* written into the SROM (with its CRC) */
    bool link_up;       /* initial link state of the PHY and CSR12/CSR5 */
};

/* Counters (monotonic). */
struct vspn_tulip_stats {
    uint64_t csr_reads, csr_writes, cfg_reads, cfg_writes;
    uint64_t bad_access;       /* wrong width/offset, reserved register */
    uint64_t tx_frames, tx_bytes, tx_setup_frames;
    uint64_t tx_dropped;       /* oversize, too many descriptors, bad setup */
    uint64_t rx_frames, rx_bytes;
    uint64_t rx_filtered;      /* refused by the address filter */
    uint64_t rx_missed;        /* no descriptor owned by the device */
    uint64_t rx_dropped;       /* runt/oversize/receiver stopped */
    uint64_t dma_errors;       /* accessor refused: bus error raised */
    uint64_t budget_exhausted; /* a poll stopped at VSPN_TULIP_TX_BUDGET */
    uint64_t irqs;             /* ops->irq(true) calls */
    uint64_t resets;           /* CSR0 SWR */
    uint64_t tap_polls;        /* automatic transmit polls (CSR0 TAP) */
    uint64_t desc_reads;       /* descriptors fetched, transmit and receive */
    uint64_t gp_timer_expiries; /* CSR11 timer ran out: CSR5 GTE set */
    uint64_t rx_no_bus_master; /* accepted, dropped: bus mastering off */
};

struct vspn_tulip;

/* Creates a device in its power-on state.  0, -EINVAL (ops without dma,
 * tx_frame or irq), -ENOMEM. */
int vspn_tulip_create(const struct vspn_tulip_config *cfg,
                      const struct vspn_tulip_ops *ops, void *ctx,
                      struct vspn_tulip **out);
void vspn_tulip_destroy(struct vspn_tulip *t);

/* PCI command register bits (configuration offset 0x04). */
#define VSPN_TULIP_PCI_CMD_IO 0x1u  /* I/O space: BAR0 decoded */
#define VSPN_TULIP_PCI_CMD_MEM 0x2u /* memory space: BAR1 decoded */
#define VSPN_TULIP_PCI_CMD_BM 0x4u  /* bus master: DMA allowed */

/* PCI configuration space (§1): `size` 1, 2 or 4, naturally aligned;
 * anything else reads all-ones.  BAR sizing (write all-ones, read back
 * the size mask), command register bits, interrupt line are kept. */
uint32_t vspn_tulip_cfg_read(struct vspn_tulip *t, uint32_t off,
                             uint32_t size);
void vspn_tulip_cfg_write(struct vspn_tulip *t, uint32_t off, uint32_t size,
                          uint32_t val);

/* CSR access through BAR0/BAR1 at byte offset `off` (§2, §3). */
uint32_t vspn_tulip_csr_read(struct vspn_tulip *t, uint32_t off,
                             uint32_t size);
void vspn_tulip_csr_write(struct vspn_tulip *t, uint32_t off, uint32_t size,
                          uint32_t val);

/* The PCI command register (VSPN_TULIP_PCI_CMD_*), for the caller's
 * address decode; not counted as a configuration read. */
uint16_t vspn_tulip_pci_command(const struct vspn_tulip *t);

/* Continues transmit work a poll demand left over (budget exhausted, or
 * stalled while bus mastering was off).  Returns true if more work
 * remains. */
bool vspn_tulip_poll(struct vspn_tulip *t);
/* True if vspn_tulip_poll has work (transmit running with descriptors
 * left after an exhausted budget, or a stalled fetch) and bus mastering
 * is on. */
bool vspn_tulip_pending(const struct vspn_tulip *t);
/* True while CSR6 OM selects a loopback mode (internal or external):
 * transmitted frames come back into the device's own receive list. */
bool vspn_tulip_loopback(const struct vspn_tulip *t);

/* Transmit automatic polling (§3.1, CSR0 TAP): while TAP is set and the
 * transmit process is suspended, the 21140 polls its transmit list by
 * itself every TAP period, as if the guest had written CSR1.  The model
 * has no clock: the caller asks for the period and calls vspn_tulip_tap
 * when it has passed.
 *
 * The period in nanoseconds (200 µs, 800 µs, 1.6 ms for TAP 1-3; 12.8,
 * 25.6, 51.2, 102.4 µs for TAP 4-7), or 0 when there is nothing to poll
 * for: TAP off, the transmit process not suspended, or bus mastering off
 * (a poll could not fetch). */
uint64_t vspn_tulip_tap_period_ns(const struct vspn_tulip *t);
/* The TAP period passed: polls the transmit list (within the poll budget,
 * as a CSR1 write does) if TAP is still on, the process suspended and bus
 * mastering on; otherwise nothing.  Counted in tap_polls when it polls. */
void vspn_tulip_tap(struct vspn_tulip *t);

/* General-purpose timer (§3.8, CSR11): bits 15:0 a count of ticks, bit 16
 * CON (continuous).  A CSR11 write (re)starts the timer from the count it
 * writes (0 stops it); when the count runs out the device sets CSR5 GTE,
 * an abnormal source (AIS), which interrupts as CSR7 allows.  A one-shot
 * timer then stops and its count reads 0; a continuous one runs again
 * with the same period.  Reads give the count as written while it runs
 * (the model does not count down between expiries).
 *
 * The tick is taken from CSR6 at the CSR11 write: 81.92 µs on the MII
 * port at 100 Mb/s (PS set, TTM clear: what the model's SROM leads Linux
 * to select), 819.2 µs on the MII port at 10 Mb/s (PS and TTM), 204.8 µs
 * on the 10 Mb/s serial port (PS clear).  The spec leaves the unit open;
 * these are the ones Linux's de4x5 driver loads the 21140's timer with
 * (load_ms_timer).  Linux's tulip driver relies on the timer: after an
 * interrupt with too much work it masks CSR7 down to AIS|GTE (and the
 * sources that were not pending) and writes CSR11 = 0x12, and only the
 * GTE interrupt unmasks the rest again.
 *
 * Like TAP, the model has no clock.  The period in nanoseconds (from the
 * start to the expiry, and from one expiry to the next when continuous),
 * or 0 while the timer is stopped; `starts` (if not NULL) counts the
 * CSR11 writes and resets that (re)started or stopped it, so a caller
 * re-arms from now when it changes even if the period did not;
 * `continuous` (if not NULL) says whether the timer runs again. */
uint64_t vspn_tulip_gp_timer_ns(const struct vspn_tulip *t, uint32_t *starts,
                                bool *continuous);
/* The period passed: CSR5 GTE, counted in gp_timer_expiries; a one-shot
 * timer stops.  Nothing while the timer is stopped (a late call). */
void vspn_tulip_gp_timer_expire(struct vspn_tulip *t);

/* A frame from the switch (without CRC).  Returns 0 (delivered into a
 * receive descriptor), -EAGAIN (no descriptor owned by the device: counted
 * missed, CSR8, RU), -EPERM (filtered), -EINVAL (runt or oversize),
 * -ENETDOWN (receiver stopped), -EACCES (accepted by the filter but
 * dropped: bus mastering off, counted rx_no_bus_master), -EFAULT (DMA
 * refused). */
int vspn_tulip_receive(struct vspn_tulip *t, const uint8_t *frame,
                       uint32_t len);
/* True if the address filter (§5, CSR6 PR/PM/HP/HO/IF) accepts `dst`. */
bool vspn_tulip_filter_pass(const struct vspn_tulip *t, const uint8_t *dst);

/* Link state of the switch port: the PHY's status register and the
 * general-purpose port follow it; a change raises CSR5 LNF/GPI-style
 * status as the spec allows (§3.3, §8). */
void vspn_tulip_set_link(struct vspn_tulip *t, bool up);

/* Introspection for `vm show`. */
const struct vspn_tulip_stats *vspn_tulip_stats(const struct vspn_tulip *t);
uint32_t vspn_tulip_csr(const struct vspn_tulip *t, unsigned n); /* raw */
bool vspn_tulip_irq_asserted(const struct vspn_tulip *t);
/* "stopped", "running", "suspended" for rx and tx (CSR5 RS/TS). */
const char *vspn_tulip_rx_state(const struct vspn_tulip *t);
const char *vspn_tulip_tx_state(const struct vspn_tulip *t);

#endif /* VSPN_TULIP_H */
