/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * port_dpdk.c — the ethdev port class: any DPDK device named by devargs
 * (a PCI NIC, net_af_packet, net_af_xdp, net_tap, net_pcap, net_ring,
 * net_null, net_vhost).  The internal (host vNIC) and uplink classes are
 * ethdevs too; vswitch.c builds their devargs.
 *
 * Virtual devices are hot-plugged with rte_dev_probe() and removed again on
 * close; PCI devices are probed once and only stopped on close.
 *
 * The probe, configure, queue setup and start calls allocate inside DPDK;
 * each is an injection point of the allocation hook (vsw_alloc.h), and a
 * driver's -ENOMEM comes back as -ENOMEM (anything else as -ENODEV for the
 * probe, -EIO for the rest).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_bus.h>
#include <rte_dev.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>

#include "common/vsa_log.h"
#include "common/vsa_tsan.h"
#include "vswitch/vsw_alloc.h"
#include "vswitch/vsw_private.h"

VSA_LOG_MODULE(vswitch_port_dpdk);

#define RX_DESC 1024
#define TX_DESC 1024

static uint16_t ethdev_rx(struct vsw_port *p, uint16_t lcore_idx,
                          struct rte_mbuf **pkts, uint16_t n)
{
    uint16_t nb;

    (void)lcore_idx;
    nb = rte_eth_rx_burst(p->eth_port, 0, pkts, n);
    /* A device can hand over mbufs that another thread of this process
     * wrote (a net_ring fed by an application thread): ordered by the
     * PMD's ring, which TSan cannot see (vsa_tsan.h).  Such a producer
     * releases on the port before it enqueues. */
    if (nb)
        VSA_TSAN_ACQUIRE(p);
    return nb;
}

static uint16_t ethdev_tx(struct vsw_port *p, uint16_t lcore_idx,
                          struct rte_mbuf **pkts, uint16_t n)
{
    uint16_t q, sent;

    if (likely(!p->tx_shared))
        return rte_eth_tx_burst(p->eth_port, lcore_idx, pkts, n);
    q = (uint16_t)(lcore_idx % p->n_txq);
    rte_spinlock_lock(&p->tx_lock);
    sent = rte_eth_tx_burst(p->eth_port, q, pkts, n);
    rte_spinlock_unlock(&p->tx_lock);
    return sent;
}

static bool ethdev_link(struct vsw_port *p)
{
    struct rte_eth_link link;

    if (rte_eth_link_get_nowait(p->eth_port, &link) < 0)
        return false;
    return link.link_status == RTE_ETH_LINK_UP;
}

static void ethdev_close(struct vsw *sw, struct vsw_port *p)
{
    struct rte_eth_dev_info info;
    char name[RTE_ETH_NAME_MAX_LEN];
    int rc;

    (void)sw;
    rc = rte_eth_dev_stop(p->eth_port);
    if (rc < 0)
        VSA_LOG(WARN, "port %s: stop failed: %s", p->name, strerror(-rc));
    if (!p->vdev) {
        rte_eth_dev_close(p->eth_port);
        return;
    }
    memset(&info, 0, sizeof(info));
    snprintf(name, sizeof(name), "%s", p->devname);
    rte_eth_dev_close(p->eth_port);
    rc = rte_eal_hotplug_remove("vdev", name);
    if (rc < 0)
        VSA_LOG(WARN, "port %s: removing %s failed: %s", p->name, name,
                strerror(-rc));
}

/* The device's own drops, from its ethdev counters (read while the lcores
 * run: the PMDs keep them per queue and a read is at worst a little old).
 * oerrors is left out: what a device does not take is tx_full already. */
static void ethdev_drops(struct vsw_port *p, uint64_t drops[VSW_DROP_MAX])
{
    struct rte_eth_stats st;

    if (rte_eth_stats_get(p->eth_port, &st) != 0)
        return;
    drops[VSW_DROP_RX_MISSED] += st.imissed;
    drops[VSW_DROP_RX_NO_MBUF] += st.rx_nombuf;
    drops[VSW_DROP_RX_ERRORS] += st.ierrors;
}

const struct vsw_port_ops vsw__ethdev_ops = {
    .name = "ethdev",
    .rx_burst = ethdev_rx,
    .tx_burst = ethdev_tx,
    .link_get = ethdev_link,
    .dev_drops = ethdev_drops,
    .close = ethdev_close,
};

/* The device name is the devargs up to the first ','. */
static void devargs_name(const char *devargs, char *out, size_t size)
{
    size_t n = strcspn(devargs, ",");
    if (n >= size)
        n = size - 1;
    memcpy(out, devargs, n);
    out[n] = '\0';
}

static bool is_vdev_name(const char *name)
{
    return strncmp(name, "net_", 4) == 0 || strncmp(name, "eth_", 4) == 0;
}

/* The operator's message for a refused rte_dev_probe().  DPDK's errno
 * says little by itself ("Bad address" for a driver name nobody knows),
 * so the cases an operator meets are named; DPDK's own words go to
 * vesperd's log (EAL lines). */
static bool is_pci_name(const char *name)
{
    unsigned a, b, c, d;
    char end;

    return sscanf(name, "%x:%x:%x.%x%c", &a, &b, &c, &d, &end) == 4 ||
           sscanf(name, "%x:%x.%x%c", &a, &b, &c, &end) == 3;
}

static int probe_error(struct vsa_errmsg *em, const char *devargs,
                       const char *name, int rc)
{
    if (rc == -ENOMEM)
        return vsa_errmsg_set(em, -ENOMEM, "device '%s' could not be "
                              "created: out of memory", devargs);
    if (rc == -EFAULT) /* rte_devargs_parse: no bus took the name */
        return vsa_errmsg_set(em, -ENODEV, "device '%s' could not be "
                              "created: no DPDK driver or bus knows that "
                              "name (a virtual device is net_<driver><n>, "
                              "e.g. net_af_packet0,iface=eth1; a PCI device "
                              "is its address, bound to vfio-pci)", devargs);
    if (is_pci_name(name))
        return vsa_errmsg_set(em, -ENODEV, "device '%s' could not be "
                              "created (%s): a PCI device needs vesperd "
                              "started with --pci and the device bound to "
                              "vfio-pci; vesperd's log has DPDK's reason",
                              devargs, strerror(-rc));
    return vsa_errmsg_set(em, -ENODEV, "device '%s' could not be created: "
                          "its driver refused it (%s): a bad or unknown "
                          "argument, or a device it cannot open; vesperd's "
                          "log has DPDK's reason", devargs, strerror(-rc));
}

int vsw__ethdev_open(struct vsw *sw, struct vsw_port *p, const char *devargs,
                     struct vsa_errmsg *em)
{
    struct rte_eth_conf conf;
    struct rte_eth_dev_info info;
    struct rte_ether_addr mac;
    uint16_t port_id, nq, mtu;
    int rc, sock;

    devargs_name(devargs, p->devname, sizeof(p->devname));
    if (p->devname[0] == '\0')
        return vsa_errmsg_set(em, -EINVAL, "empty devargs");
    if (rte_eth_dev_get_port_by_name(p->devname, &port_id) == 0)
        return vsa_errmsg_set(em, -EEXIST, "device %s is already in use",
                              p->devname);
    p->vdev = is_vdev_name(p->devname);
    rc = VSW__INJECT("rte_dev_probe", rte_dev_probe(devargs));
    if (rc < 0)
        return probe_error(em, devargs, p->devname, rc);
    if (rte_eth_dev_get_port_by_name(p->devname, &port_id) != 0) {
        if (p->vdev)
            rte_eal_hotplug_remove("vdev", p->devname);
        return vsa_errmsg_set(em, -ENODEV,
                              "device '%s' is not an ethdev", p->devname);
    }
    p->eth_port = port_id;
    rc = rte_eth_dev_info_get(port_id, &info);
    if (rc < 0)
        goto out_remove;
    nq = (uint16_t)sw->n_dp_lcores;
    if (nq > info.max_tx_queues)
        nq = info.max_tx_queues;
    if (nq == 0)
        nq = 1;
    p->n_txq = nq;
    p->tx_shared = nq < sw->n_dp_lcores;
    rte_spinlock_init(&p->tx_lock);
    memset(&conf, 0, sizeof(conf));
    rc = VSW__INJECT("rte_eth_dev_configure",
                     rte_eth_dev_configure(port_id, 1, nq, &conf));
    if (rc < 0)
        goto out_remove;
    /* the zeroed conf gives every device the default MTU, 1500: frames
     * longer than that it may refuse or cut (vsw_port_mtu) */
    if (rte_eth_dev_get_mtu(port_id, &mtu) == 0 && mtu)
        p->mtu_dev = mtu;
    else
        p->mtu_dev = VSW_PORT_MTU_DEFAULT;
    sock = rte_eth_dev_socket_id(port_id);
    if (sock < 0)
        sock = (int)rte_socket_id();
    rc = VSW__INJECT("rte_eth_rx_queue_setup",
                     rte_eth_rx_queue_setup(port_id, 0, RX_DESC,
                                            (unsigned)sock, NULL, sw->pool));
    if (rc < 0)
        goto out_remove;
    for (uint16_t q = 0; q < nq; q++) {
        rc = VSW__INJECT("rte_eth_tx_queue_setup",
                         rte_eth_tx_queue_setup(port_id, q, TX_DESC,
                                                (unsigned)sock, NULL));
        if (rc < 0)
            goto out_remove;
    }
    rc = VSW__INJECT("rte_eth_dev_start", rte_eth_dev_start(port_id));
    if (rc < 0)
        goto out_remove;
    rte_eth_promiscuous_enable(port_id);
    if (rte_eth_macaddr_get(port_id, &mac) == 0)
        memcpy(p->mac.b, mac.addr_bytes, 6);
    p->ops = &vsw__ethdev_ops;
    atomic_store(&p->link_up, ethdev_link(p));
    return 0;

out_remove:
    rc = vsa_errmsg_set(em, rc == -ENOMEM ? -ENOMEM : -EIO,
                        "device '%s' could not be configured: %s",
                        p->devname, strerror(rc < 0 ? -rc : EIO));
    rte_eth_dev_close(port_id);
    if (p->vdev)
        rte_eal_hotplug_remove("vdev", p->devname);
    return rc;
}
