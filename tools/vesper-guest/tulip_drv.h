/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tulip_drv.h — a guest driver for the emulated DEC 21140A ("tulip", the
 * Hyper-V legacy network adapter), prefix vg_tulip_.  It drives the NIC
 * with the register sequences of the Linux tulip driver as
 * shared/spec/dec21140.md §9 records them (section numbers below refer to
 * that file); it was written from the spec, not from Linux.
 *
 * Design
 * ------
 * The driver never touches a register itself: every PCI configuration and
 * CSR access goes through `struct vg_tulip_ops`.  The agent wires the ops
 * to hv_part_guest_io (one IO_TRAP round trip to vesperd per access,
 * legacy.c); the unit test wires them straight to the device model
 * (vsp-net/tulip.h) in the same process.  The interrupt arrives on an fd
 * (the guest's end of the line's socketpair, hv_part_guest_setup_irq: the
 * host sends an 8-byte message when the line is asserted); the caller
 * polls it and calls vg_tulip_service.
 *
 * Trapped accesses are the cost that matters (each is a socket round trip
 * on a real partition), so the driver keeps the Linux order of operations
 * but leaves out what only paces real silicon: the CSR9 reads Linux uses
 * as delays while bit-banging the serial ROM and the MII, and the SROM
 * words past the 128 bytes it uses.  Everything else — descriptor rings,
 * buffers, the setup frame — is plain guest memory and costs nothing.
 *
 * Lifecycle (one object per partition connection):
 *   create    no I/O; `mem` is the DMA area (VG_TULIP_MEM_SIZE bytes of
 *             guest memory, page aligned, with its guest physical address)
 *   probe     §9.1: find device `dev` by its configuration space (vendor
 *             0x1011, device 0x0009), enable I/O and bus mastering, stop the
 *             processes, read CSR8, read the serial ROM through CSR9 (§7.1),
 *             check its CRC (§7.2; a bad SROM is refused, -EBADMSG), take
 *             the MAC, parse the 21140 info leaf (§7.3), find the PHY on the
 *             MII (§8), program the general-purpose port direction
 *   open      §9.2: rings, reset, CSR0, CSR3/CSR4, setup frame at TX entry
 *             0, media, ST, CSR5/CSR7 = 0x0001EBEF, SR|ST, CSR2
 *   send/flush/service/set_rx_mode/check_link while open (§9.3, §9.4, §5)
 *   close     §9.5: CSR7 = 0, stop RX/TX, read CSR8; open may follow again
 *   destroy
 *
 * Rings: RX VG_TULIP_RX_RING descriptors with 1536-byte buffers, TX
 * VG_TULIP_TX_RING descriptors, ring mode (DSL 0), every buffer its own
 * 2 KiB slot of `mem`.  Sends copy the frame into the slot of the next TX
 * descriptor; two descriptors stay free for a setup frame (and the dummy
 * descriptor the 21140 wants in front of a setup frame not at entry 0).
 * IC is requested as Linux does: when the ring becomes half full and when
 * it becomes full; completed descriptors are also reclaimed opportunistically
 * on every send (they are memory, not registers).  The transmit poll demand
 * (CSR1) is written once per batch by vg_tulip_flush, not per frame — and
 * by vg_tulip_send itself when the ring is full, so the device can free it;
 * with transmit automatic polling (vg_tulip_set_tx_autopoll) never: the
 * device polls the list every TAP period.
 *
 * Receive: every completed descriptor (OWN = 0) is checked (FS, LS, no ES,
 * 18 ≤ FL ≤ buffer) and its frame without the 4 CRC bytes handed to
 * sink->rx, then given back to the device; when CSR5 said RU, a receive
 * poll demand (CSR2) follows the refill.
 *
 * Poll mode (vg_tulip_set_poll_mode; `vesper-guest bench`): CSR7 enables
 * only the abnormal interrupts (AIS: RU, FBE, process stops, ...), not the
 * normal ones (TI, TU, RI, ERI); the caller calls vg_tulip_poll in a loop,
 * which reclaims transmit descriptors and receives by looking at the OWN
 * bits in guest memory — no register access — and services the interrupt
 * only when the irq fd is readable (poll(2), timeout 0), i.e. when the
 * device had something abnormal to say: RU (ring ran dry) then costs the
 * usual CSR5 read/acknowledge, CSR8 and the CSR2 poll demand, nothing
 * else does.  Transmit is unchanged: one CSR1 per batch (vg_tulip_flush).
 *
 * Address filter (§5): unicast = the SROM MAC, broadcast always;
 * ≤ VG_TULIP_PERFECT_MC multicast addresses → a perfect-filtering setup
 * frame (entries 0..n-1 the groups, the rest broadcast, entry 15 our MAC);
 * more → a hash setup frame (CRC-32 low 9 bits, broadcast bit 255, our MAC
 * as the perfect entry); all-multicast or more than VG_TULIP_MC_MAX groups →
 * CSR6 PM; promiscuous → CSR6 PR|PM (like Linux, the last setup frame stays
 * loaded in those two modes).  A setup frame is sent only when its bytes
 * change.
 *
 * Errors: I/O through the ops is "sticky": the first failing access makes
 * every later one a no-op (reads return all-ones, as a vanished PCI device
 * does) and the current operation returns that error (-ECONNRESET,
 * -ETIMEDOUT, …), so a host that goes away mid-sequence never leaves the
 * driver half-way in a loop.  After such an error only close (with io =
 * false) and destroy make sense.
 *
 * The data path never logs: it counts (VG_TULIP_STATS_FOREACH).
 *
 * Thread-safety: none; one thread owns the driver (the agent's loop).
 */
#ifndef VG_TULIP_DRV_H
#define VG_TULIP_DRV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/vsa_mac.h"

#define VG_TULIP_VENDOR_ID 0x1011u
#define VG_TULIP_DEVICE_ID 0x0009u

#define VG_TULIP_RX_RING 128u      /* receive descriptors (Linux) */
#define VG_TULIP_TX_RING 32u       /* transmit descriptors (Linux) */
#define VG_TULIP_RX_BUF 1536u      /* RDES1 buffer size (Linux) */
#define VG_TULIP_SLOT 2048u        /* bytes of `mem` per buffer */
#define VG_TULIP_MAX_FRAME 1518u   /* without FCS: 1500 + 802.1Q header */
#define VG_TULIP_SETUP_LEN 192u
#define VG_TULIP_PERFECT_MC 14u    /* 16 entries - own MAC - broadcast */
#define VG_TULIP_MC_MAX 1000u      /* more groups: all-multicast (Linux) */
#define VG_TULIP_LINK_POLL_MS 3000u /* media timer period (§9.2 step 11) */
#define VG_TULIP_SROM_BYTES 128u   /* what is read and checked */

/* DMA area: descriptor page, then RX and TX buffer slots. */
#define VG_TULIP_MEM_SIZE                                                     \
    (4096u + (VG_TULIP_RX_RING + VG_TULIP_TX_RING) * VG_TULIP_SLOT)

/* Register access.  Each returns 0 or a negative errno (transport gone or
 * timed out); reads fill *val.  `off` is a configuration-space offset
 * (size 1, 2 or 4) or a CSR byte offset (CSR n at n * 8, 32-bit). */
struct vg_tulip_ops {
    int (*cfg_read)(void *ctx, uint32_t off, uint32_t size, uint32_t *val);
    int (*cfg_write)(void *ctx, uint32_t off, uint32_t size, uint32_t val);
    int (*csr_read)(void *ctx, uint32_t off, uint32_t *val);
    int (*csr_write)(void *ctx, uint32_t off, uint32_t val);
};

/* Where received frames and link changes go. */
struct vg_tulip_sink {
    void (*rx)(void *ctx, const uint8_t *frame, uint32_t len);
    void (*link)(void *ctx, bool up); /* optional */
};

struct vg_tulip_cfg {
    const struct vg_tulip_ops *ops;
    void *ops_ctx;
    int irq_fd;      /* readable while an interrupt is pending (8 bytes
                      * per wakeup, non-blocking: a socketpair end, or an
                      * eventfd in tests; drained by vg_tulip_service);
                      * -1: none */
    void *mem;       /* DMA area, VG_TULIP_MEM_SIZE bytes, 16-byte aligned */
    uint64_t mem_gpa; /* its guest physical address */
    size_t mem_size;
    const struct vg_tulip_sink *sink;
    void *sink_ctx;
    const char *name; /* for log lines */
};

/* The receive filter the interface asks for. */
struct vg_tulip_rx_mode {
    bool promisc;
    bool allmulti;
    uint32_t nmc;                       /* > VG_TULIP_MC_MAX: all-multicast */
    struct vsa_mac mc[VG_TULIP_MC_MAX]; /* the first min(nmc, MAX) used */
};

/* What probe found. */
struct vg_tulip_info {
    uint8_t revision;       /* PCI revision (≥ 0x20: 21140A) */
    unsigned srom_addr_bits; /* 6 or 8 */
    bool srom_legacy;       /* legacy (21040-era) layout */
    struct vsa_mac mac;
    bool mii;               /* media through an MII PHY */
    int phy;                /* PHY address, -1 none answered */
    unsigned phy_index;     /* the SROM's PHY number: index among PHYs */
    uint16_t phy_id1, phy_id2;
    uint8_t gp_dir;         /* CSR12 direction byte */
};

#define VG_TULIP_STATS_FOREACH(X)                                             \
    X(tx_frames, "frames queued for transmission")                            \
    X(tx_bytes, "bytes queued for transmission")                              \
    X(tx_ring_full, "sends refused: transmit ring full (caller retries)")     \
    X(tx_errors, "transmitted descriptors completed with ES set")             \
    X(drop_tx_size, "frames refused: under 14 or over 1518 bytes")           \
    X(rx_frames, "frames received")                                           \
    X(rx_bytes, "bytes received (without FCS)")                               \
    X(rx_errors, "receive descriptors with errors or bad length")             \
    X(rx_missed, "frames the device missed (CSR8)")                           \
    X(rx_unavailable, "receive-buffer-unavailable events (CSR5 RU)")          \
    X(irqs, "interrupt wakeups serviced")                                     \
    X(irqs_spurious, "wakeups with neither NIS nor AIS in CSR5")              \
    X(tx_polls, "transmit poll demands (CSR1 writes)")                        \
    X(rx_polls, "receive poll demands (CSR2 writes)")                         \
    X(setup_frames, "setup frames queued (address filter loads)")             \
    X(bus_errors, "fatal bus errors (CSR5 FBE): device reset")                \
    X(process_stops, "unexpected TPS/RPS/UNF while running")                  \
    X(link_changes, "PHY link changes seen")                                  \
    X(traps, "register accesses (trapped I/O) in total")                      \
    X(traps_data, "register accesses since open (data path)")

struct vg_tulip_stats {
#define VG_TULIP_STATS_FIELD_(n, h) uint64_t n;
    VG_TULIP_STATS_FOREACH(VG_TULIP_STATS_FIELD_)
#undef VG_TULIP_STATS_FIELD_
};

enum vg_tulip_stats_id {
#define VG_TULIP_STATS_ID_(n, h) VG_TULIP_STATS_ID_##n,
    VG_TULIP_STATS_FOREACH(VG_TULIP_STATS_ID_)
#undef VG_TULIP_STATS_ID_
    VG_TULIP_STATS_N
};

struct vg_tulip;

/* ---- Lifecycle ------------------------------------------------------------ */

/* 0, -EINVAL (no ops/sink, area too small or misaligned), -ENOMEM. */
int vg_tulip_create(const struct vg_tulip_cfg *cfg, struct vg_tulip **out);
void vg_tulip_destroy(struct vg_tulip *t);

/* §9.1 for device `dev`'s registers (the ops know which device).  0,
 * -ENOENT (configuration space reads all-ones: no device), -ENODEV (not a
 * 21140), -EBADMSG (SROM CRC/checksum wrong or MAC unusable; logged with
 * both values), or the ops' error.  May be called again after close. */
int vg_tulip_probe(struct vg_tulip *t);
/* §9.2.  0, -EINVAL (not probed), or the ops' error. */
int vg_tulip_open(struct vg_tulip *t);
/* §9.5 when `io`; otherwise (host gone) only local state is reset. */
void vg_tulip_close(struct vg_tulip *t, bool io);
bool vg_tulip_is_open(const struct vg_tulip *t);

/* ---- Data path ----------------------------------------------------------- */

/* Queues one frame (14..VG_TULIP_MAX_FRAME bytes, copied; the device pads
 * runts).  0, -EAGAIN (ring full even
 * after a poll demand: retry after the next interrupt), -EMSGSIZE,
 * -ENOTCONN (not open), or the ops' error. */
int vg_tulip_send(struct vg_tulip *t, const void *frame, size_t len);
/* Transmit poll demand if frames were queued since the last one.  0 or the
 * ops' error. */
int vg_tulip_flush(struct vg_tulip *t);
/* The interrupt (§9.4): drains irq_fd, then reads and acknowledges CSR5
 * until no summary bit is left (bounded), receiving, reclaiming, refilling
 * and polling as the status asks.  0; -EIO on a fatal bus error (the
 * caller closes and reopens); or the ops' error. */
int vg_tulip_service(struct vg_tulip *t);
int vg_tulip_irq_fd(const struct vg_tulip *t);

/* Poll mode (see Design).  Before open it only takes effect at open (no
 * I/O); while open it rewrites CSR7 (one access).  Kept across close and
 * open.  0 or the ops' error. */
int vg_tulip_set_poll_mode(struct vg_tulip *t, bool on);
bool vg_tulip_poll_mode(const struct vg_tulip *t);
/* Transmit automatic polling (§3.1 CSR0 TAP, code 1-7; 0, the default:
 * off).  With it, open writes the code into CSR0 and the driver never
 * writes CSR1: the device polls the transmit list every TAP period, and
 * CSR7 leaves TU out (the device finds the list empty at every period).
 * Takes effect at the next open; kept across close and open.  0, -EINVAL
 * (code > 7), -EBUSY (open). */
int vg_tulip_set_tx_autopoll(struct vg_tulip *t, unsigned tap);
/* One poll: reclaims completed transmit descriptors, hands every completed
 * receive descriptor to sink->rx and gives it back, queues a pending setup
 * frame, and — only when irq_fd is readable — services the interrupt as
 * vg_tulip_service does (so RU leads to CSR2 after the refill).  No
 * register access otherwise.  Returns the frames received (≥ 0), -EIO on a
 * fatal bus error (close and reopen), or the ops' error.  Works in either
 * mode (in interrupt mode the normal interrupts still arrive and are
 * serviced here). */
int vg_tulip_poll(struct vg_tulip *t);

/* ---- Control ------------------------------------------------------------- */

/* Sets the receive filter (copied).  Before open it only takes effect at
 * open; while open it writes CSR6 (PR/PM) and queues a setup frame when the
 * filter changed (sent as soon as two TX descriptors are free).  0 or the
 * ops' error. */
int vg_tulip_set_rx_mode(struct vg_tulip *t, const struct vg_tulip_rx_mode *m);
/* True while a changed filter waits for room in the TX ring. */
bool vg_tulip_setup_pending(const struct vg_tulip *t);
/* Reads the link (PHY BMSR, or the GP pin of a non-MII board); calls
 * sink->link on a change.  0 or the ops' error. */
int vg_tulip_check_link(struct vg_tulip *t);
bool vg_tulip_link_up(const struct vg_tulip *t);
/* Whether the device the driver probed is still there (a PCI hot removal
 * or replacement, which no interrupt announces): its configuration space
 * still gives the 21140's id, its command register still has the I/O
 * decoding and bus mastering probe turned on (a device attached in its
 * place starts with both off), and, once open, its CSR3 still holds our
 * receive list (a device of another driver moved to this index holds
 * that driver's).  Two configuration reads and a CSR read.  0, -ENXIO
 * (gone or replaced: close without I/O, then probe again), -EINVAL (not
 * probed), or the ops' error.  vg_tulip_service and vg_tulip_poll also
 * return -ENXIO when CSR5 reads all-ones (no device). */
int vg_tulip_check_present(struct vg_tulip *t);
struct vsa_mac vg_tulip_mac(const struct vg_tulip *t);
const struct vg_tulip_info *vg_tulip_info(const struct vg_tulip *t);

/* ---- Introspection ------------------------------------------------------- */

const struct vg_tulip_stats *vg_tulip_stats(const struct vg_tulip *t);
const char *vg_tulip_stats_name(unsigned id);
const char *vg_tulip_stats_help(unsigned id);
uint64_t vg_tulip_stat(const struct vg_tulip_stats *s, unsigned id);

/* ---- Helpers (exposed for tests) ----------------------------------------- */

/* Checks a 128-byte SROM image (§7.2): new format (CRC-32 low 16 bits of
 * bytes 0..125 at 126..127, MAC at 20) or legacy format (bytes 0..7 ==
 * 16..23, MAC at 0 with its folded checksum at 6..7).  0 with *mac and
 * *legacy set, or -EBADMSG with a reason in err. */
int vg_tulip_srom_check(const uint8_t rom[VG_TULIP_SROM_BYTES],
                        struct vsa_mac *mac, bool *legacy, char *err,
                        size_t errsz);
/* Standard CRC-32 (zlib) of `len` bytes. */
uint32_t vg_tulip_crc32(const uint8_t *p, size_t len);
/* Hash-filter bit of a MAC (§5): low 9 bits of its little-endian Ethernet
 * CRC. */
unsigned vg_tulip_hash_bit(const struct vsa_mac *m);

#endif /* VG_TULIP_DRV_H */
