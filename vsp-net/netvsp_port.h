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
 * The VSP runs on the CONTROL thread: netvsp_port_service() drains the
 * guest→host ring (the guest's signal, or the tx eventfd, wakes it) and
 * hands guest frames to the lcore through a single-producer/single-consumer
 * rte_ring of mbufs that the port's rx_burst dequeues (enqueued in bursts
 * of up to 32, so the ring's indexes cross between the cores once per
 * burst, not per frame); the port's tx_burst
 * (lcore) enqueues mbufs on a second ring and, when that ring was empty,
 * wakes the control thread with an eventfd so it delivers them into the
 * guest's receive buffer (one transfer-page packet per batch).  Both rings
 * are bounded (VSP's own backlog bound applies on top): a guest that stops
 * draining costs only its own port, as counted drops.  GPADL lookups and
 * channel state therefore stay on the one thread that owns hv/.
 * XXX: moving the channel itself onto the lcore (ring reads and VSP in the
 * datapath) removes a thread hop per frame; it needs lock-free GPADL
 * lookups first.
 *
 * Thread-safety: netvsp_port_create/attach/detach/service/close run on the
 * control thread; rx_burst/tx_burst (through vswitch) on one lcore.
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

/* Opens the switch port `name` for a synthetic NIC with MAC `mac`.
 * Returns 0, -ENOMEM, -ENOSPC (no port id). */
int netvsp_port_create(struct vsw *sw, const char *name,
                       const struct vsa_mac *mac, uint32_t mtu,
                       struct netvsp_port **out, struct vsw_port **port,
                       struct vsa_errmsg *em);

/* The guest opened the NIC's channel: take its rings.  `vmbus` resolves
 * the guest's buffer GPADLs, `mem` is the guest's memory.  0, -EBUSY
 * (a channel is attached), -ENOMEM. */
int netvsp_port_attach(struct netvsp_port *np, struct hv_chan *ch,
                       struct hv_vmbus_host *vmbus, struct hv_mem *mem);
/* The channel is closing: stop using its rings, drop GPADL references. */
void netvsp_port_detach(struct netvsp_port *np);
/* Drains the guest's ring and the frames queued for the guest.  Call on
 * a guest signal, when netvsp_port_fd() is readable (after
 * netvsp_port_fd_ack), and periodically.
 * Returns true if it found work a guest signal may have announced: guest
 * packets handled, or output that waited for ring space or receive slots
 * (completions, control messages) moved on; false for a wakeup that was
 * for nothing (vesperd's signal storm damping, tools/vesperd/vm.h). */
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
bool netvsp_port_connected(const struct netvsp_port *np);
/* An eventfd that becomes readable when tx_burst queued frames, when the
 * lcore made room in a full queue from the guest, or when a service call
 * left work for the next (its budget ran out). */
int netvsp_port_fd(const struct netvsp_port *np);
/* Clears netvsp_port_fd()'s readiness; call it when that fd woke you,
 * before netvsp_port_service (which does not read the fd: a guest signal
 * then costs no extra system call). */
void netvsp_port_fd_ack(struct netvsp_port *np);
/* Counters for `vm show` (JSON object, new reference), NULL on ENOMEM. */
struct json_t;
struct json_t *netvsp_port_stats_json(const struct netvsp_port *np);

#endif /* NETVSP_PORT_H */
