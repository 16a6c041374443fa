/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * port_class.h — plugging another kind of port into the switch.
 *
 * The dpdk, internal and uplink classes are ethdevs and live in vswitch/.
 * Port classes whose device is not an ethdev (the synthetic NIC and the
 * emulated 21140 of vsp-net/) implement these operations and open
 * their port with vsw_port_open_class(); the pipeline then treats them
 * like any other port (VLAN modes, FDB, counters, capture).
 *
 * Thread-safety: rx_burst runs on the datapath lcore that polls the port;
 * tx_burst on whichever lcore forwarded the frames, so on several at once
 * when there are several lcores (lcore_idx is the caller's index, 0..n-1:
 * one tx queue per lcore, or a lock).  Neither may block, allocate outside
 * the given pool, or log; link_get, mtu_get and close run on the control
 * thread.  close is called only after no published configuration names the
 * port and an RCU grace period has passed, so no lcore is inside rx/tx.
 * This is the one vswitch header besides the datapath's own that includes
 * <rte_mbuf.h>: only the *_port.c glue of other modules includes it.
 */
#ifndef VSW_PORT_CLASS_H
#define VSW_PORT_CLASS_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>

#include "common/vsa_errmsg.h"
#include "common/vsa_mac.h"
#include "vswitch/vswitch.h"

struct vsw_port_plugin {
    const char *name;                 /* "synthetic", ... */
    uint16_t (*rx_burst)(void *priv, uint16_t lcore_idx,
                         struct rte_mbuf **pkts, uint16_t n);
    uint16_t (*tx_burst)(void *priv, uint16_t lcore_idx,
                         struct rte_mbuf **pkts, uint16_t n);
    bool (*link_get)(void *priv);
    /* The largest L3 payload the port's device takes toward its guest
     * (the negotiated MTU of a synthetic NIC), or NULL: VSW_PORT_MTU_DEFAULT.
     * Asked at open and once a second (vsw_tick): a change is published
     * with the next snapshot, and frames longer than the MTU the switch
     * last published are dropped by the switch (`oversize`), not by the
     * device.  Capped at VSW_PORT_MTU_MAX. */
    uint32_t (*mtu_get)(void *priv);
    void (*close)(void *priv);
};

/* Opens a port of a plugged-in class.  `priv` is handed back to every
 * operation.  Returns 0, -ENOSPC (no free id), -ENOMEM. */
int vsw_port_open_class(struct vsw *sw, const char *name,
                        const struct vsw_port_plugin *cls, void *priv,
                        const struct vsa_mac *mac, struct vsw_port **out,
                        struct vsa_errmsg *em);

/* The packet pool rx_burst allocates from. */
struct rte_mempool *vsw_pktmbuf_pool(struct vsw *sw);

#endif /* VSW_PORT_CLASS_H */
