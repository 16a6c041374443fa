/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * apply.c — one configuration transaction: document → running datapath →
 * disk, all or nothing.
 *
 *  1. parse and validate the new document whole (ctl_config_parse);
 *  2. open the devices of ports that are new (a port whose name and device
 *     are unchanged is kept as it is, with its FDB entries and counters),
 *     and prepare the VM partitions (vd_vm_prepare: sockets of new VMs);
 *  3. publish the new forwarding configuration (vsw_commit, RCU);
 *  4. write the document atomically (ctl_store_save);
 *  5. close the devices of ports that left, update host vNIC addresses,
 *     commit the VM set (VMs that left are destroyed, NICs offered or
 *     rescinded live: vd_vm_commit cannot fail).
 *
 * A failure in 2-4 undoes what was done before it: newly opened devices are
 * closed, new partition sockets closed and unlinked (vd_vm_abort) and, if 3
 * had happened, the previous configuration is committed again.  The running
 * state and the file are then exactly as before.
 *
 * VM NICs are ports of class synthetic or legacy in the parsed
 * configuration; their switch port (synth.c, vsp-net/netvsp_port.h; or
 * legacy.c, vsp-net/tulip_port.h) is opened in step 2 like any other port
 * and carries traffic once the guest opens the NIC's channel (synthetic)
 * or drives its emulated device (legacy).  In step 5 the VM set is
 * committed before ports are closed, so a NIC's channel is detached
 * (rescind) or its device detached before its port goes away.
 *
 * A VM NIC's `connected` is not part of its device: a new port gets it
 * right after it is opened (so it never shows link up to anyone while
 * disconnected), a kept port in step 5 (the guest then sees media
 * disconnect / connect, vd_synth_set_connected, vd_legacy_set_connected).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/vsa_log.h"
#include "tools/ctl/ctl_store.h"
#include "tools/vesperd/vesperd.h"

VSA_LOG_MODULE(vesperd_apply);

static enum vsw_port_class port_class(enum ctl_port_class c)
{
    switch (c) {
    case CTL_PORT_INTERNAL: return VSW_PORT_INTERNAL;
    case CTL_PORT_UPLINK: return VSW_PORT_UPLINK;
    case CTL_PORT_DPDK:
    case CTL_PORT_SYNTHETIC: /* opened by vd_synth_open */
    case CTL_PORT_LEGACY:    /* opened by vd_legacy_open */
        break;
    }
    return VSW_PORT_DPDK;
}

static bool same_device(const struct ctl_port *a, const struct ctl_port *b)
{
    return strcmp(a->name, b->name) == 0 && a->cls == b->cls &&
           strcmp(a->devargs, b->devargs) == 0 &&
           strcmp(a->ifname, b->ifname) == 0;
}

static bool same_host_addrs(const struct ctl_port *a, const struct ctl_port *b)
{
    if (a->mtu != b->mtu || a->n_addresses != b->n_addresses)
        return false;
    for (uint32_t i = 0; i < a->n_addresses; i++)
        if (strcmp(a->addresses[i], b->addresses[i]) != 0)
            return false;
    return true;
}

static int open_port(struct vd *d, const struct ctl_port *cp,
                     struct vsw_port **out, struct vsa_errmsg *em)
{
    struct vsw_port_spec spec;

    if (cp->cls == CTL_PORT_SYNTHETIC)
        return vd_synth_open(d, cp, out, em);
    if (cp->cls == CTL_PORT_LEGACY)
        return vd_legacy_open(d, cp, out, em);
    memset(&spec, 0, sizeof(spec));
    snprintf(spec.name, sizeof(spec.name), "%.*s",
             (int)sizeof(spec.name) - 1, cp->name);
    spec.cls = port_class(cp->cls);
    spec.devargs = cp->devargs[0] ? cp->devargs : NULL;
    spec.ifname = cp->ifname[0] ? cp->ifname : NULL;
    spec.addresses = (const char *const *)cp->addresses;
    spec.n_addresses = cp->n_addresses;
    spec.mtu = cp->mtu;
    return vsw_port_open(d->vsw, &spec, out, em);
}

/* A VM NIC port's connection state; nothing for other ports. */
static void set_connected(struct vsw_port *port, const struct ctl_port *cp)
{
    if (!ctl_port_is_vm_nic(cp))
        return;
    if (!vd_synth_set_connected(port, cp->connected))
        (void)vd_legacy_set_connected(port, cp->connected);
}

/* Closes a port of any class (VM NIC ports through their glue). */
static void close_port(struct vd *d, struct vsw_port *port)
{
    if (!vd_synth_close(d, port) && !vd_legacy_close(d, port))
        vsw_port_close(d->vsw, port);
}

/* Builds and commits the forwarding configuration of cfg with ports[]. */
static int commit(struct vd *d, const struct ctl_config *cfg,
                  struct vsw_port **ports, struct vsa_errmsg *em)
{
    struct vsw_cfg_switch *sws = calloc(cfg->n_switches + 1, sizeof(*sws));
    struct vsw_cfg_port *cps = calloc(cfg->n_ports + 1, sizeof(*cps));
    struct vsw_cfg_static *sts = calloc(cfg->n_fdb_static + 1, sizeof(*sts));
    struct vsw_cfg vc;
    uint32_t np = 0, ns = 0;
    int rc;

    if (!sws || !cps || !sts) {
        rc = vsa_errmsg_set(em, -ENOMEM, "out of memory");
        goto out;
    }
    for (uint32_t i = 0; i < cfg->n_switches; i++) {
        snprintf(sws[i].name, sizeof(sws[i].name), "%s",
                 cfg->switches[i].name);
        sws[i].fdb_max = cfg->switches[i].fdb_max;
        sws[i].aging_s = cfg->switches[i].aging_s;
    }
    /* Ports without a device are left out. */
    for (uint32_t i = 0; i < cfg->n_ports; i++) {
        if (!ports[i])
            continue;
        cps[np].port = ports[i];
        cps[np].switch_idx = cfg->ports[i].switch_idx;
        cps[np].vlan = cfg->ports[i].vlan;
        cps[np].learn_limit = cfg->ports[i].learn_limit;
        np++;
    }
    for (uint32_t i = 0; i < cfg->n_fdb_static; i++) {
        if (!ports[cfg->fdb_static[i].port_idx])
            continue;
        sts[ns].switch_idx = cfg->fdb_static[i].switch_idx;
        sts[ns].vid = cfg->fdb_static[i].vid;
        sts[ns].mac = cfg->fdb_static[i].mac;
        sts[ns].port = ports[cfg->fdb_static[i].port_idx];
        ns++;
    }
    vc.switches = sws;
    vc.n_switches = cfg->n_switches;
    vc.ports = cps;
    vc.n_ports = np;
    vc.statics = sts;
    vc.n_statics = ns;
    rc = vsw_commit(d->vsw, &vc, em);
out:
    free(sws);
    free(cps);
    free(sts);
    return rc;
}

static int fail(struct ctl_rpc_err *e, int code, const struct vsa_errmsg *em)
{
    if (e) {
        e->code = code;
        snprintf(e->msg, sizeof(e->msg), "%s", em->msg);
    }
    return -1;
}

int vd_apply(struct vd *d, json_t *newdoc, bool persist, struct ctl_rpc_err *e)
{
    struct ctl_config *ncfg = NULL;
    struct vd_vm_txn *vtxn = NULL;
    struct vsw_port **nports = NULL;
    bool *opened = NULL, *kept = NULL;
    uint32_t old_n = d->cfg ? d->cfg->n_ports : 0;
    struct vsa_errmsg em = { "" };
    int rc;

    rc = ctl_config_parse(newdoc, &ncfg, &em);
    if (rc < 0)
        return fail(e, rc == -ENOMEM ? CTL_RPC_SYSTEM : CTL_RPC_RULE, &em);
    nports = calloc(ncfg->n_ports + 1, sizeof(*nports));
    opened = calloc(ncfg->n_ports + 1, sizeof(*opened));
    kept = calloc(old_n + 1, sizeof(*kept));
    if (!nports || !opened || !kept) {
        vsa_errmsg_set(&em, -ENOMEM, "out of memory");
        rc = fail(e, CTL_RPC_SYSTEM, &em);
        goto out_free;
    }

    /* 2. keep or open */
    for (uint32_t i = 0; i < ncfg->n_ports; i++) {
        const struct ctl_port *np = &ncfg->ports[i];
        for (uint32_t j = 0; j < old_n; j++) {
            if (!kept[j] && same_device(&d->cfg->ports[j], np)) {
                nports[i] = d->ports[j];
                kept[j] = true;
                break;
            }
        }
    }
    for (uint32_t i = 0; i < ncfg->n_ports; i++) {
        if (nports[i])
            continue;
        rc = open_port(d, &ncfg->ports[i], &nports[i], &em);
        if (rc < 0) {
            rc = fail(e, CTL_RPC_SYSTEM, &em);
            goto out_close_new;
        }
        opened[i] = true;
        set_connected(nports[i], &ncfg->ports[i]);
    }
    if (d->vms) {
        rc = vd_vm_prepare(d->vms, ncfg, &vtxn, &em);
        if (rc < 0) {
            rc = fail(e, CTL_RPC_SYSTEM, &em);
            goto out_close_new;
        }
    }

    /* 3. publish */
    rc = commit(d, ncfg, nports, &em);
    if (rc < 0) {
        rc = fail(e, CTL_RPC_SYSTEM, &em);
        goto out_abort_vms;
    }

    /* 4. persist */
    if (persist) {
        rc = ctl_store_save(d->config_path, newdoc, &em);
        if (rc < 0) {
            struct vsa_errmsg em2;
            rc = fail(e, CTL_RPC_SYSTEM, &em);
            if (d->cfg)
                commit(d, d->cfg, d->ports, &em2);
            else {
                struct ctl_config empty = { 0 };
                commit(d, &empty, NULL, &em2);
            }
            goto out_abort_vms;
        }
    }

    /* 5. VMs (channels of NICs that left are detached), release what
     * left, refresh host vNICs that stayed */
    if (vtxn)
        vd_vm_commit(d->vms, vtxn);
    for (uint32_t j = 0; j < old_n; j++)
        if (!kept[j] && d->ports[j])
            close_port(d, d->ports[j]);
    for (uint32_t i = 0; i < ncfg->n_ports; i++)
        if (!opened[i] && nports[i])
            set_connected(nports[i], &ncfg->ports[i]);
    for (uint32_t i = 0; i < ncfg->n_ports; i++) {
        const struct ctl_port *np = &ncfg->ports[i];
        int oi;
        if (opened[i] || np->cls != CTL_PORT_INTERNAL)
            continue;
        oi = d->cfg ? ctl_port_find(d->cfg, np->name) : -1;
        if (oi >= 0 && !same_host_addrs(&d->cfg->ports[oi], np) &&
            vsw_port_set_host_addrs(d->vsw, nports[i],
                                    (const char *const *)np->addresses,
                                    np->n_addresses, np->mtu, &em) < 0)
            VSA_LOG(WARN, "%s", em.msg);
    }
    json_incref(newdoc);
    json_decref(d->doc);
    d->doc = newdoc;
    ctl_config_free(d->cfg);
    d->cfg = ncfg;
    free(d->ports);
    d->ports = nports;
    free(opened);
    free(kept);
    return 0;

out_abort_vms:
    if (vtxn)
        vd_vm_abort(d->vms, vtxn);
out_close_new:
    for (uint32_t i = 0; i < ncfg->n_ports; i++)
        if (opened[i])
            close_port(d, nports[i]);
out_free:
    free(nports);
    free(opened);
    free(kept);
    ctl_config_free(ncfg);
    return rc;
}

int vd_port_index(const struct vd *d, const char *name)
{
    return d->cfg ? ctl_port_find(d->cfg, name) : -1;
}
