/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * legacy.c — vesperd's legacy NIC ports (prefix vd_legacy_): opens the
 * switch port of each configured legacy VM NIC (vsp-net/tulip_port.h: an
 * emulated DEC 21140A), hands it the guest's memory and interrupt line
 * when the guest connects (vd_vm_dev_ops hooks of vm.h), forwards the
 * guest's trapped accesses to it, and services it on the control thread
 * when the switch queued frames for the guest or transmit work is left.
 * Control thread only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/vsa_alloc.h"
#include "common/vsa_log.h"
#include "hv/hv_part.h"
#include "tools/vesperd/vesperd.h"
#include "tools/vesperd/vm.h"
#include "vsp-net/tulip_port.h"

VSA_LOG_MODULE(vesperd_legacy);

struct vd_legacy {
    struct vd_legacy *next;
    char name[CTL_PORT_NAME_MAX];
    struct tulip_port *tp;
    struct vsw_port *port;
    struct vd_vm_watch *watch;
    /* While the device is attached: the NIC as vm.c describes it (its
     * partition, and its device index = interrupt line, read at use). */
    const struct vd_vm_nic_info *nic;
};

static struct vd_legacy *legacies;

static struct vd_legacy *find(const char *name)
{
    for (struct vd_legacy *l = legacies; l; l = l->next)
        if (strcmp(l->name, name) == 0)
            return l;
    return NULL;
}

/* The attached port of `nic`: a pointer compare per port, not a string
 * compare (this runs for every trapped access). */
static struct vd_legacy *find_attached(const struct vd_vm_nic_info *nic)
{
    for (struct vd_legacy *l = legacies; l; l = l->next)
        if (l->nic == nic)
            return l;
    return NULL;
}

static void on_work(void *arg)
{
    struct vd_legacy *l = arg;

    tulip_port_service(l->tp);
}

int vd_legacy_open(struct vd *d, const struct ctl_port *cp,
                   struct vsw_port **out, struct vsa_errmsg *em)
{
    struct vd_legacy *l = vsa_calloc(1, sizeof(*l));
    int rc;

    if (!l)
        return vsa_errmsg_set(em, -ENOMEM, "out of memory");
    snprintf(l->name, sizeof(l->name), "%s", cp->name);
    rc = tulip_port_create(d->vsw, cp->name, &cp->mac, &l->tp, &l->port, em);
    if (rc < 0) {
        vsa_free(l);
        return rc;
    }
    rc = vd_vm_watch_add(d->vms, tulip_port_fd(l->tp), on_work, l,
                         &l->watch);
    if (rc < 0) {
        vsw_port_close(d->vsw, l->port);
        vsa_free(l);
        return vsa_errmsg_set(em, rc, "port %s: cannot watch its queue: "
                              "%s", cp->name, strerror(-rc));
    }
    l->next = legacies;
    legacies = l;
    *out = l->port;
    return 0;
}

bool vd_legacy_close(struct vd *d, struct vsw_port *port)
{
    for (struct vd_legacy **pp = &legacies; *pp; pp = &(*pp)->next) {
        struct vd_legacy *l = *pp;

        if (l->port != port)
            continue;
        *pp = l->next;
        /* vd_vm_commit detaches first; this is a safety net. */
        if (l->nic)
            VSA_LOG(WARN, "port %s: closed with its device attached",
                    l->name);
        vd_vm_watch_del(d->vms, l->watch);
        vsw_port_close(d->vsw, l->port); /* frees l->tp (detaches first) */
        vsa_free(l);
        return true;
    }
    return false;
}

void vd_legacy_forget(void)
{
    while (legacies) {
        struct vd_legacy *l = legacies;

        legacies = l->next;
        vsa_free(l);
    }
}

void vd_legacy_tick(struct vd *d)
{
    (void)d;
    for (struct vd_legacy *l = legacies; l; l = l->next)
        tulip_port_service(l->tp);
}

json_t *vd_legacy_stats_json(const char *port_name)
{
    struct vd_legacy *l = find(port_name);

    return l ? tulip_port_stats_json(l->tp) : NULL;
}

bool vd_legacy_set_connected(struct vsw_port *port, bool connected,
                             bool mac_spoofing)
{
    for (struct vd_legacy *l = legacies; l; l = l->next) {
        if (l->port != port)
            continue;
        tulip_port_set_mac_spoofing(l->tp, mac_spoofing);
        tulip_port_set_connected(l->tp, connected);
        return true;
    }
    return false;
}

/* ---- device hooks (vm.h) -------------------------------------------------- */

/* The device asserted its line (again): raise the guest's interrupt line.
 * Never blocks (hv_part_host_raise_irq); a line without a registered
 * socket is counted there. */
static void raise_irq(void *arg)
{
    struct vd_legacy *l = arg;

    if (l->nic)
        (void)hv_part_host_raise_irq(l->nic->part, l->nic->dev_index);
}

static int dev_attach(void *ctx, const struct vd_vm_nic_info *nic)
{
    struct vd_legacy *l = find(nic->port);
    struct hv_mem *mem = hv_part_host_mem(nic->part);
    int rc;

    (void)ctx;
    if (!l)
        return -ENODEV;
    if (!mem)
        return -ENOTCONN;
    rc = tulip_port_attach(l->tp, mem, raise_irq, l);
    if (rc == 0)
        l->nic = nic;
    return rc;
}

static void dev_io(void *ctx, const struct vd_vm_nic_info *nic,
                   struct hv_part_io *io)
{
    struct vd_legacy *l = find_attached(nic);

    (void)ctx;
    if (l)
        tulip_port_io(l->tp, io);
}

static void dev_detach(void *ctx, const struct vd_vm_nic_info *nic)
{
    struct vd_legacy *l = find_attached(nic);

    (void)ctx;
    if (!l)
        return;
    tulip_port_detach(l->tp);
    l->nic = NULL;
}

static const struct vd_vm_dev_ops dev_ops = {
    .dev_attach = dev_attach,
    .dev_io = dev_io,
    .dev_detach = dev_detach,
};

int vd_legacy_init(struct vd *d)
{
    return vd_vm_host_set_dev_ops(d->vms, &dev_ops, d);
}
