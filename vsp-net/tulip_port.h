/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tulip_port.h — an emulated DEC 21140A NIC ("legacy" NIC) as a switch
 * port (port class "legacy"): the glue between the device model
 * (vsp-net/tulip.h), the guest's memory and interrupt line (hv/), and the
 * vswitch pipeline (prefix tulip_port_).
 *
 * Design
 * ------
 * The port exists for as long as the NIC is configured; it owns one
 * vspn_tulip device.  The guest comes and goes: tulip_port_attach() (the
 * guest connected) hands the device the guest's memory for DMA (an hv_mem
 * reference is taken) and a function that raises its interrupt line;
 * tulip_port_detach() (the guest is gone) drops both and puts a fresh
 * device in place, in its power-on state, so a reconnecting guest finds
 * the NIC as a rebooted VM would (counters carry over).  While no guest
 * memory is attached every DMA is refused (-EFAULT), which the model turns
 * into a fatal bus error; nothing reaches guest memory except through the
 * bounds-checked hv_mem_read / hv_mem_write, and nothing at all while the
 * guest keeps PCI bus mastering off (the model then does no DMA; the
 * accessor refuses as a backstop).  The PCI command register's decode
 * bits apply to the BARs: an I/O BAR access while I/O space is off, or a
 * memory BAR access while memory space is off, does not reach the device
 * (reads all-ones, writes dropped, counted io_not_decoded), as on PCI.
 *
 * Everything the device does runs on the CONTROL thread:
 *   - trapped accesses (tulip_port_io): PCI configuration space (offsets
 *     below VSPN_TULIP_CFG_SIZE) or a BAR (offsets below
 *     VSPN_TULIP_BAR_SIZE; both BARs map the same CSRs); larger offsets
 *     read all-ones and are counted, never truncated onto a register;
 *   - frames the guest transmits (the model's tx_frame, during a CSR1 poll
 *     demand or tulip_port_service) are copied into mbufs and queued on a
 *     single-producer/single-consumer rte_ring that the port's rx_burst
 *     (lcore) drains;
 *   - frames for the guest: the port's tx_burst (any lcore that forwards
 *     to the port: the ring is multi-producer) queues mbufs on a second
 *     ring and, when that ring was empty, wakes the control thread
 *     through an eventfd (tulip_port_fd); tulip_port_service() then hands
 *     each frame to vspn_tulip_receive (a frame the device cannot take —
 *     no descriptor, filtered, receiver stopped — is dropped and counted,
 *     as the silicon would);
 *   - transmit automatic polling (CSR0 TAP): while the device has a TAP
 *     period (vspn_tulip_tap_period_ns), a timerfd fires every period,
 *     but never more often than every TULIP_PORT_TAP_MIN_NS (200 µs, the
 *     period of TAP 1, the shortest of codes 1-3): a guest that picks
 *     TAP 4-7 (12.8-102.4 µs) gets its frames sent up to 200 µs later,
 *     not a control thread woken 78,000 times a second; each expiry is one
 *     vspn_tulip_tap call in tulip_port_service;
 *   - the general-purpose timer (CSR11): a second timerfd, armed from the
 *     CSR11 write (or the reset) that (re)started the device's timer
 *     (vspn_tulip_gp_timer_ns), one-shot or repeating as the guest chose,
 *     disarmed while the timer is stopped; each expiry is one
 *     vspn_tulip_gp_timer_expire call (CSR5 GTE) in tulip_port_service.
 *     It never fires sooner than TULIP_PORT_GPT_MIN_NS (200 µs) after its
 *     start or its last expiry: the 21140 counts 81.92 µs ticks at 100
 *     Mb/s, so a continuous timer of one tick would wake the control
 *     thread 12,200 times a second; counts of 1 and 2 at 100 Mb/s expire
 *     up to 118 µs late instead, every longer period (Linux's 0x12: 1.47
 *     ms) as the guest asked.  A guest that never writes CSR11 costs
 *     nothing: the timerfd stays disarmed and is not read;
 *   - transmit work a poll demand left over (the model's per-demand
 *     descriptor budget) continues in tulip_port_service, at most
 *     TULIP_PORT_POLL_BUDGET polls and TULIP_PORT_RX_BUDGET frames per
 *     call, those frames within TULIP_PORT_RX_DESC_BUDGET descriptor
 *     fetches (+ VSPN_TULIP_MAX_CHAIN for the last one: a guest can make
 *     one frame fill 64 receive descriptors); the budgets are checked
 *     before work is taken, and leftover work re-arms the eventfd so that
 *     other ports and clients get their turn.  Transmit work in loopback
 *     that TULIP_PORT_TX_STREAK_MAX calls in a row, with no guest access
 *     between them, did not finish (the frames can give the device back
 *     its own descriptors, without end) is parked: the port
 *     stops waking itself for it (counted, poll_parked), and it goes on
 *     at the guest's next access, a TAP period or a frame for the guest.
 * Both rings are bounded: a guest that stops receiving costs only its own
 * port, as counted drops.
 *
 * Link (what the switch sees): up while a guest is attached, the
 * device's receive process runs (CSR5 RS not "stopped") and the NIC is
 * connected (tulip_port_set_connected).  The model's PHY link follows the
 * guest and the connection: up from attach while connected; a device put
 * in place on detach starts with the link down and gets the connection
 * state at the next attach.
 *
 * Interrupts: the model reports its level line through ops->irq; every
 * assertion (and every CSR write that leaves it asserted) calls the irq
 * function given to tulip_port_attach, which must not block (vesperd:
 * hv_part_host_raise_irq).
 *
 * Logging: the attach / detach lines (a guest's comings and goings, and
 * the warning of a detach that found no memory for a fresh device) name
 * the port ("port VM.NIC: ...") and are limited per port,
 * TULIP_PORT_LOG_ATTACH_BURST per TULIP_PORT_LOG_ATTACH_PERIOD_S seconds
 * (a guest that loops connecting is logged a few times a minute, a normal
 * one every time), and for all ports together,
 * TULIP_PORT_LOG_ATTACH_ALL_BURST per period (vsa_log.h, VSA_LOG_RL2).
 *
 * Thread-safety: everything but rx_burst (through vswitch, on the one
 * lcore that polls the port) and tx_burst (on any forwarding lcore, into
 * the multi-producer queue toward the guest) runs on the control thread.
 */
#ifndef TULIP_PORT_H
#define TULIP_PORT_H

#include <stdbool.h>
#include <stdint.h>

#include "common/vsa_errmsg.h"
#include "common/vsa_mac.h"
#include "hv/hv_part.h"
#include "vswitch/vswitch.h"

#define TULIP_PORT_RING_SIZE 1024 /* mbufs queued in each direction */
#define TULIP_PORT_RX_BUDGET 256  /* frames to the guest per service call */
#define TULIP_PORT_RX_DESC_BUDGET 256u /* ... and their descriptor fetches */
#define TULIP_PORT_POLL_BUDGET 4  /* vspn_tulip_poll calls per service call */
/* Service calls in a row, with no guest access, that may leave transmit
 * work and wake the port again (16 x 4 polls x 256 descriptors: 16,384
 * fetches, 64 times a 256-descriptor ring) */
#define TULIP_PORT_TX_STREAK_MAX 16u
#define TULIP_PORT_TAP_MIN_NS 200000u /* shortest TAP timer period */
#define TULIP_PORT_GPT_MIN_NS 200000u /* shortest CSR11 timer period */
/* Log budgets of attach / detach lines (see Logging). */
#define TULIP_PORT_LOG_ATTACH_BURST 6u
#define TULIP_PORT_LOG_ATTACH_ALL_BURST 60u
#define TULIP_PORT_LOG_ATTACH_PERIOD_S 60u

struct tulip_port;
struct hv_mem;

/* Raises the guest's interrupt line; must not block. */
typedef void tulip_port_irq_fn(void *arg);

/* Opens the switch port `name` (class "legacy") with a 21140A whose SROM
 * holds `mac`.  Returns 0, -ENOMEM, -ENOSPC (no port id); em says why. */
int tulip_port_create(struct vsw *sw, const char *name,
                      const struct vsa_mac *mac, struct tulip_port **out,
                      struct vsw_port **port, struct vsa_errmsg *em);

/* The guest connected: DMA goes to `mem` (a reference is taken), the
 * interrupt line is raised with irq(arg).  Returns 0, -EBUSY (a guest is
 * attached), -EINVAL (no mem or irq), -ENOMEM (no device could be made). */
int tulip_port_attach(struct tulip_port *tp, struct hv_mem *mem,
                      tulip_port_irq_fn *irq, void *arg);
/* The guest is gone: memory reference dropped, frames queued for it
 * freed, the device replaced by a power-on one.  No-op if not attached. */
void tulip_port_detach(struct tulip_port *tp);
bool tulip_port_attached(const struct tulip_port *tp);

/* A trapped access (validated by hv/: size 1/2/4, known flags, a write's
 * value cut to size; a read's value preset to all-ones of size).  Fills
 * io->value for reads; out-of-range offsets, BAR accesses whose space the
 * PCI command register does not decode and accesses without a device
 * leave it all-ones (writes dropped) and are counted. */
void tulip_port_io(struct tulip_port *tp, struct hv_part_io *io);

/* Connects (true, the default) or disconnects the NIC from its switch,
 * Hyper-V's Connect-/Disconnect-VMNetworkAdapter.  Disconnected: the
 * port's link is down (the switch drops frames to it, counted link_down),
 * the device's PHY reports link down (BMSR, the GP link pin in CSR12,
 * CSR5 LNF; LNP on reconnect), frames the guest transmits are dropped
 * (guest_disconnected) and so are frames still queued either way
 * (rx_disconnected; to_switch_disconnected, freed by rx_burst).  Kept
 * across attach/detach and the device's replacement.  No-op if
 * unchanged. */
void tulip_port_set_connected(struct tulip_port *tp, bool connected);
/* Hyper-V's MAC address spoofing setting, as netvsp_port_set_mac_spoofing:
 * off (the default), a frame the guest transmits with a source MAC other
 * than the NIC's is dropped (guest_spoofed).  Control thread. */
void tulip_port_set_mac_spoofing(struct tulip_port *tp, bool allow);
bool tulip_port_connected(const struct tulip_port *tp);

/* Delivers frames queued for the guest, makes the TAP poll that is due,
 * expires the CSR11 timer when its period passed and continues leftover
 * transmit work, within the budgets.  Call when
 * tulip_port_fd() is readable and periodically. */
void tulip_port_service(struct tulip_port *tp);
/* An fd (ours, not the guest's; an epoll fd over an eventfd and the TAP
 * and CSR11 timerfds) that becomes readable when tx_burst queued frames,
 * a service call left work over, a TAP period or the CSR11 timer's period
 * passed. */
int tulip_port_fd(const struct tulip_port *tp);

/* Device state and counters for `vm show` (JSON object, new reference;
 * docs/rpc.md), NULL on ENOMEM. */
struct json_t;
struct json_t *tulip_port_stats_json(const struct tulip_port *tp);

#endif /* TULIP_PORT_H */
