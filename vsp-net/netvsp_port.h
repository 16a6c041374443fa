/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * netvsp_port.h — a synthetic NIC as a switch port (port class
 * "synthetic"): the glue between the VMBus channel of a guest's synthetic
 * NIC, the NVSP/RNDIS VSP (vsp.h) and the vswitch pipeline (prefix
 * netvsp_port_).
 *
 * Design
 * ------
 * The port exists for as long as the NIC is configured; the channel comes
 * and goes with the guest.  netvsp_port_attach() (the guest opened the
 * channel) creates a VSP for it; netvsp_port_detach() (channel closing)
 * destroys it.  The port's link is up while a channel is attached, the
 * guest's NVSP/RNDIS device is initialised and the NIC is connected
 * (netvsp_port_set_connected).
 *
 * The channel is served on the DATAPATH LCORE that polls the port, the
 * way OVS-DPDK serves vhost-user queues on its PMD threads:
 *   - rx_burst (netvsp_port_poll) is one service pass: it reads the
 *     guest→host ring until the burst the switch asked for is staged (at
 *     most SERVICE_BUDGET ring packets, and no further packet once it
 *     copied SERVICE_BYTE_BUDGET bytes of the guest's: ring packets and
 *     the sections and GPA ranges they name, so that a guest whose large
 *     sends are all dropped cannot hold the lcore), hands each packet to
 *     the VSP, whose guest frames become mbufs returned straight to the
 *     pipeline, retries output that waited for ring space or receive
 *     slots, and wakes a guest writer that waits for room (§5.2).
 *   - tx_burst (netvsp_port_xmit) copies the switch's frames into the
 *     guest's receive buffer (vspn_vsp_deliver: one transfer-page packet
 *     per batch) and signals the guest only if its ring rules ask for it
 *     (a polling guest masks its interrupts and is never signalled).
 *   - The host masks the guest→host ring's interrupts for as long as the
 *     channel is attached (§5.3): the lcore polls, so a guest never needs
 *     to signal new packets.  A guest signal that comes anyway wakes the
 *     control thread, which finds no work for it (storm damping, vm.h).
 * No host queue and no thread hop in either direction, and no system call
 * per frame.  The guest's ring is the queue toward the switch: a pass
 * takes only as many frames as the switch's burst asked for, the rest
 * waits there (a guest that sends faster finds its ring full and waits).
 *
 * What stays on the CONTROL thread, through netvsp_port_service() (called
 * when netvsp_port_fd() is readable, on guest signals and every tick):
 *   - closing the channel on a violation the lcore found (hv_chan_violation
 *     belongs to the thread that owns hv/); until then the lcore leaves
 *     the channel alone;
 *   - buffers: a SEND_RECV_BUF / SEND_SEND_BUF is parked by the lcore
 *     (no further ring reads) until the control thread has looked the
 *     GPADL up and prepared the buffer for the VSP (vspn_vsp_buf_prepare:
 *     the reference, the page-overlap sort, the slot tables), so that no
 *     pass of the lcore allocates; the first
 *     GPADL_FAST_WAKES requests per attach wake it at once, later ones
 *     wait for the tick;
 *   - attach and detach: a spinlock (atomic_flag) that the lcore holds for
 *     one pass at most orders them against the lcore, so detach returns
 *     only once no lcore is inside the channel; the stats snapshot takes it
 *     too, for a few loads;
 *   - connect/disconnect: posted (an atomic flag) and given to the VSP
 *     by the lcore's next pass.
 *
 * Logging: the lines a guest causes name the port ("port VM.NIC: ...";
 * attach and detach name the channel too), and each guest has its own
 * budgets, so that a guest that misbehaves silences only itself:
 * NETVSP_PORT_LOG_VSP_BURST NVSP violation lines per
 * NETVSP_PORT_LOG_VSP_PERIOD_S seconds (drawn by the VSP, vsp.h) for all
 * the NICs of one VM together when the attach names the VM's budget
 * (vesperd does: a VM with 8 NICs would otherwise draw 8 times that, more
 * than the budget of all VMs), else per port; and
 * NETVSP_PORT_LOG_ATTACH_BURST attach / detach lines per
 * NETVSP_PORT_LOG_ATTACH_PERIOD_S seconds (a guest that loops opening and
 * closing its channel is logged a few times a minute; a normal one every
 * time).  Each line also needs a token from a budget of all ports of the
 * process (NETVSP_PORT_LOG_ATTACH_ALL_BURST per period for attach and
 * detach; vsp.h for violations), so many guests cannot flood the log.
 *
 * Thread-safety: netvsp_port_create/attach/detach/service/set_connected/
 * stats_json/close run on the control thread; netvsp_port_poll and
 * netvsp_port_xmit (rx/tx_burst) on lcores: poll on the one lcore that
 * polls the port, xmit on any (the spinlock serialises them).
 */
#ifndef NETVSP_PORT_H
#define NETVSP_PORT_H

#include <stdbool.h>
#include <stdint.h>

#include "common/vsa_errmsg.h"
#include "common/vsa_mac.h"
#include "hv/hv_vmbus.h"
#include "vswitch/vswitch.h"

struct netvsp_port;
struct hv_mem;

/* Log budgets (see Logging): per port, and attach/detach of all ports. */
#define NETVSP_PORT_LOG_VSP_BURST 10u
#define NETVSP_PORT_LOG_VSP_PERIOD_S 10u
#define NETVSP_PORT_LOG_ATTACH_BURST 6u
#define NETVSP_PORT_LOG_ATTACH_ALL_BURST 60u
#define NETVSP_PORT_LOG_ATTACH_PERIOD_S 60u

/* Opens the switch port `name` for a synthetic NIC with MAC `mac`.
 * Returns 0, -ENOMEM, -ENOSPC (no port id). */
int netvsp_port_create(struct vsw *sw, const char *name,
                       const struct vsa_mac *mac, uint32_t mtu,
                       struct netvsp_port **out, struct vsw_port **port,
                       struct vsa_errmsg *em);

/* The guest opened the NIC's channel: take its rings.  `vmbus` resolves
 * the guest's buffer GPADLs, `mem` is the guest's memory.  `vm_rl`: the
 * budget of the VM's violation lines, shared by all its NICs (vesperd:
 * struct vd_vm_nic_info's vsp_rl), which must outlive the attachment;
 * NULL: the port's own.  0, -EBUSY (a channel is attached), -EINVAL (the
 * channel has no rings), -ENOMEM. */
struct vsa_ratelimit;
int netvsp_port_attach(struct netvsp_port *np, struct hv_chan *ch,
                       struct hv_vmbus_host *vmbus, struct hv_mem *mem,
                       struct vsa_ratelimit *vm_rl);
/* The channel is closing: stop using its rings, drop GPADL references.
 * Guest frames staged and not yet taken by the switch are freed (counted
 * rx_detached). */
void netvsp_port_detach(struct netvsp_port *np);
/* The control thread's part (see above): closes the channel on a
 * violation the lcore posted, answers a parked GPADL request.  Call when
 * netvsp_port_fd() is readable (after netvsp_port_fd_ack), on a guest
 * signal, and periodically.  Returns true if it found work a guest signal
 * may have announced: a violation, a GPADL request, or output that waited
 * for ring space moved on since the last call (the guest signals when it
 * made room); false for a wakeup that was for nothing (vesperd's signal
 * storm damping, tools/vesperd/vm.h). */
bool netvsp_port_service(struct netvsp_port *np);
/* Connects (true, the default) or disconnects the NIC from its switch,
 * Hyper-V's Connect-/Disconnect-VMNetworkAdapter.  Disconnected: the
 * port's link is down (the switch drops frames to it, counted link_down),
 * the VSP's link is down (it indicates RNDIS MEDIA_DISCONNECT to an
 * initialised guest, answers OID_GEN_MEDIA_CONNECT_STATUS with
 * "disconnected" to one that initialises later, and drops the guest's
 * frames, counted g2h_link_down), and frames the guest queued before are
 * freed by rx_burst (counted rx_disconnected).  Connecting indicates
 * MEDIA_CONNECT.  Kept across channel attach/detach.  No-op if unchanged. */
void netvsp_port_set_connected(struct netvsp_port *np, bool connected);
/* Hyper-V's MAC address spoofing setting: off (the default), a guest
 * frame whose source MAC is not the NIC's is dropped (counted `spoofed`)
 * before the switch sees it, so a guest cannot take over another
 * station's FDB entry and its traffic; on, any source MAC passes (a
 * guest that bridges or runs nested VMs).  Takes effect with the lcore's
 * next frame.  Control thread. */
void netvsp_port_set_mac_spoofing(struct netvsp_port *np, bool allow);
bool netvsp_port_connected(const struct netvsp_port *np);
/* An eventfd that becomes readable when the lcore posted a violation or a
 * GPADL request for the control thread. */
int netvsp_port_fd(const struct netvsp_port *np);
/* Clears netvsp_port_fd()'s readiness; call it when that fd woke you,
 * before netvsp_port_service (which does not read the fd: a guest signal
 * then costs no extra system call). */
void netvsp_port_fd_ack(struct netvsp_port *np);
/* Counters for `vm show` (JSON object, new reference), NULL on ENOMEM. */
struct json_t;
struct json_t *netvsp_port_stats_json(struct netvsp_port *np);

/* ---- lcore side (the port's rx_burst and tx_burst) ---- */
struct rte_mbuf;
/* One service pass; returns up to n guest frames (mbufs for the switch). */
uint16_t netvsp_port_poll(struct netvsp_port *np, struct rte_mbuf **pkts,
                          uint16_t n);
/* Posts n frames to the guest; takes (and frees) all of them and returns
 * n, or 0 without a live channel (the switch counts them tx_full).  Frames
 * the VSP refuses (receive buffer full, packet filter) are counted by it
 * and here (guest_refused). */
uint16_t netvsp_port_xmit(struct netvsp_port *np, struct rte_mbuf **pkts,
                          uint16_t n);

#endif /* NETVSP_PORT_H */
