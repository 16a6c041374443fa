/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * synth.c — vesperd's synthetic NIC ports (prefix vd_synth_): opens the
 * switch port of each configured VM NIC (vsp-net/netvsp_port.h), attaches
 * the guest's VMBus channel to it when the guest opens the channel
 * (vd_vm_nic_ops hooks of vm.h).  The datapath lcore serves the channel
 * (netvsp_port.h); what is left for the control thread (closing a channel
 * on a violation the lcore found, GPADL lookups) runs when the port's fd
 * wakes it, on guest signals and every tick.  Control thread only.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/vsa_alloc.h"
#include "common/vsa_log.h"
#include "hv/hv_part.h"
#include "tools/vesperd/vesperd.h"
#include "tools/vesperd/vm.h"
#include "vsp-net/netvsp_port.h"

VSA_LOG_MODULE(vesperd_synth);

struct vd_synth {
    struct vd_synth *next;
    char name[CTL_PORT_NAME_MAX];
    struct netvsp_port *np;
    struct vsw_port *port;
    struct vd_vm_watch *watch;
};

static struct vd_synth *synths;

static struct vd_synth *find(const char *name)
{
    for (struct vd_synth *s = synths; s; s = s->next)
        if (strcmp(s->name, name) == 0)
            return s;
    return NULL;
}

static void on_tx(void *arg)
{
    struct vd_synth *s = arg;
    netvsp_port_fd_ack(s->np);
    netvsp_port_service(s->np);
}

int vd_synth_open(struct vd *d, const struct ctl_port *cp,
                  struct vsw_port **out, struct vsa_errmsg *em)
{
    struct vd_synth *s = vsa_calloc(1, sizeof(*s));
    int rc;

    if (!s)
        return vsa_errmsg_set(em, -ENOMEM, "out of memory");
    snprintf(s->name, sizeof(s->name), "%s", cp->name);
    rc = netvsp_port_create(d->vsw, cp->name, &cp->mac, 1500, &s->np,
                            &s->port, em);
    if (rc < 0) {
        vsa_free(s);
        return rc;
    }
    rc = vd_vm_watch_add(d->vms, netvsp_port_fd(s->np), on_tx, s, &s->watch);
    if (rc < 0) {
        vsw_port_close(d->vsw, s->port);
        vsa_free(s);
        return vsa_errmsg_set(em, rc, "port %s: cannot watch its queue: "
                              "%s", cp->name, strerror(-rc));
    }
    s->next = synths;
    synths = s;
    *out = s->port;
    return 0;
}

bool vd_synth_close(struct vd *d, struct vsw_port *port)
{
    for (struct vd_synth **pp = &synths; *pp; pp = &(*pp)->next) {
        struct vd_synth *s = *pp;
        if (s->port != port)
            continue;
        *pp = s->next;
        vd_vm_watch_del(d->vms, s->watch);
        vsw_port_close(d->vsw, s->port); /* frees s->np (detaches first) */
        vsa_free(s);
        return true;
    }
    return false;
}

void vd_synth_forget(void)
{
    while (synths) {
        struct vd_synth *s = synths;
        synths = s->next;
        vsa_free(s);
    }
}

void vd_synth_tick(struct vd *d)
{
    (void)d;
    for (struct vd_synth *s = synths; s; s = s->next)
        netvsp_port_service(s->np);
}

json_t *vd_synth_stats_json(const char *port_name)
{
    struct vd_synth *s = find(port_name);
    return s ? netvsp_port_stats_json(s->np) : NULL;
}

bool vd_synth_set_connected(struct vsw_port *port, bool connected,
                            bool mac_spoofing)
{
    for (struct vd_synth *s = synths; s; s = s->next) {
        if (s->port != port)
            continue;
        netvsp_port_set_mac_spoofing(s->np, mac_spoofing);
        netvsp_port_set_connected(s->np, connected);
        return true;
    }
    return false;
}

/* ---- VMBus channel hooks (vm.h) ------------------------------------------ */

static int channel_opened(void *ctx, const struct vd_vm_nic_info *nic,
                          struct hv_chan *ch)
{
    struct vd_synth *s = find(nic->port);

    (void)ctx;
    if (!s)
        return -ENODEV;
    return netvsp_port_attach(s->np, ch, hv_part_host_vmbus(nic->part),
                              hv_part_host_mem(nic->part), nic->vsp_rl);
}

static bool channel_signal(void *ctx, const struct vd_vm_nic_info *nic,
                           struct hv_chan *ch)
{
    struct vd_synth *s = find(nic->port);

    (void)ctx;
    (void)ch;
    return s ? netvsp_port_service(s->np) : false;
}

static void channel_closed(void *ctx, const struct vd_vm_nic_info *nic,
                           struct hv_chan *ch)
{
    struct vd_synth *s = find(nic->port);

    (void)ctx;
    (void)ch;
    if (s)
        netvsp_port_detach(s->np);
}

static const struct vd_vm_nic_ops nic_ops = {
    .channel_opened = channel_opened,
    .channel_signal = channel_signal,
    .channel_closed = channel_closed,
};

int vd_synth_init(struct vd *d)
{
    return vd_vm_host_set_nic_ops(d->vms, &nic_ops, d);
}
