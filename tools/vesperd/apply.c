/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * apply.c — one configuration transaction: document → running datapath →
 * disk, all or nothing.
 *
 *  1. parse and validate the new document whole (ctl_config_parse);
 *  2. open the devices of ports that are new (a port whose name and device
 *     are unchanged is kept as it is, with its FDB entries and counters;
 *     a new port may bind the kernel NIC of one that leaves, which closes
 *     in 5, not one a staying port holds: vsw_port_open's -EBUSY), and
 *     prepare the VM partitions (vd_vm_prepare: sockets of new VMs);
 *  3. prepare the new forwarding configuration (vsw_commit_prepare: every
 *     allocation it needs, nothing published), and the address and MTU
 *     changes of host vNICs that stay (vsw_port_host_addrs_prepare: the
 *     same), then send those to the kernel (vsw_port_host_addrs_apply: a
 *     refusal undoes the ones before it);
 *  4. write the document atomically (ctl_store_save);
 *  5. publish the forwarding configuration (vsw_commit_publish, RCU), then
 *     commit the VM set (VMs that left are destroyed, NICs offered or
 *     rescinded live) and close the devices of ports that left.  Nothing
 *     in 5 fails.
 *
 * A failure in 1-4 undoes what was done before it: the host vNICs get
 * their old addresses and MTU back (vsw_port_host_addrs_revert), the
 * prepared commit is freed, newly opened devices are closed, new partition
 * sockets closed and unlinked (vd_vm_abort).  The running state and the
 * file are then exactly as before (a host vNIC's, unless the kernel
 * refuses the old addresses back: logged, and the error says which).  Nothing is published before
 * the document is on disk, so there is no published configuration to roll
 * back (a rollback would need memory of its own, and could fail exactly
 * when the apply did).  Every
 * allocation of 1-4 is an injection point of the allocation hooks
 * (common/vsa_alloc.h, tools/ctl/ctl_alloc.h, jansson's);
 * tests/unit/tools/test_vd_apply.c fails each one in turn (TESTS.md #29).
 *
 * VM NICs are ports of class synthetic or legacy in the parsed
 * configuration; their switch port (synth.c, vsp-net/netvsp_port.h; or
 * legacy.c, vsp-net/tulip_port.h) is opened in step 2 like any other port
 * and carries traffic once the guest opens the NIC's channel (synthetic)
 * or drives its emulated device (legacy).  In step 5 the VM set is
 * committed before ports are closed, so a NIC's channel is detached
 * (rescind) or its device detached before its port goes away.
 *
 * A VM NIC's `connected` (and `mac_spoofing`) is not part of its device:
 * a new port gets it right after it is opened (so it never shows link up
 * to anyone while disconnected), a kept port in step 5 (the guest then sees media
 * disconnect / connect, vd_synth_set_connected, vd_legacy_set_connected).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/vsa_alloc.h"
#include "common/vsa_log.h"
#include "tools/ctl/ctl_store.h"
#include "tools/vesperd/vesperd.h"

VSA_LOG_MODULE(vesperd_apply);

_Static_assert(CTL_MTU_MAX <= VSW_PORT_MTU_MAX,
               "a host vNIC's MTU is one the switch forwards");

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

/* Opens cp's port.  `leaving`: the open ports this transaction closes
 * (their kernel NICs may be bound again; any other holder refuses one). */
static int open_port(struct vd *d, const struct ctl_port *cp,
                     struct vsw_port *const *leaving, uint32_t n_leaving,
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
    spec.replacing = leaving;
    spec.n_replacing = n_leaving;
    return vsw_port_open(d->vsw, &spec, out, em);
}

/* A VM NIC port's connection state and MAC spoofing; nothing for other
 * ports. */
static void set_connected(struct vsw_port *port, const struct ctl_port *cp)
{
    if (!ctl_port_is_vm_nic(cp))
        return;
    if (!vd_synth_set_connected(port, cp->connected, cp->mac_spoofing))
        (void)vd_legacy_set_connected(port, cp->connected, cp->mac_spoofing);
}

/* Closes a port of any class (VM NIC ports through their glue). */
static void close_port(struct vd *d, struct vsw_port *port)
{
    if (!vd_synth_close(d, port) && !vd_legacy_close(d, port))
        vsw_port_close(d->vsw, port);
}

/* The forwarding configuration of a ctl_config (vswitch's view of it) and
 * its prepared commit. */
struct fwd {
    struct vsw_cfg vc;
    struct vsw_cfg_switch *sws;
    struct vsw_cfg_port *cps;
    struct vsw_cfg_static *sts;
    struct vsw_commit *commit;
};

static void fwd_free(struct fwd *f)
{
    vsa_free(f->sws);
    vsa_free(f->cps);
    vsa_free(f->sts);
    memset(f, 0, sizeof(*f));
}

/* Builds the forwarding configuration of cfg with ports[] and prepares its
 * commit.  Returns 0 or -errno (em filled); on error f holds nothing. */
static int fwd_prepare(struct vd *d, const struct ctl_config *cfg,
                       struct vsw_port **ports, struct fwd *f,
                       struct vsa_errmsg *em)
{
    uint32_t np = 0, ns = 0;
    int rc;

    memset(f, 0, sizeof(*f));
    f->sws = vsa_calloc(cfg->n_switches + 1, sizeof(*f->sws));
    f->cps = f->sws ? vsa_calloc(cfg->n_ports + 1, sizeof(*f->cps)) : NULL;
    f->sts = f->cps ? vsa_calloc(cfg->n_fdb_static + 1, sizeof(*f->sts))
                    : NULL;
    if (!f->sts) {
        fwd_free(f);
        return vsa_errmsg_set(em, -ENOMEM, "out of memory");
    }
    for (uint32_t i = 0; i < cfg->n_switches; i++) {
        snprintf(f->sws[i].name, sizeof(f->sws[i].name), "%s",
                 cfg->switches[i].name);
        f->sws[i].fdb_max = cfg->switches[i].fdb_max;
        f->sws[i].aging_s = cfg->switches[i].aging_s;
    }
    /* Ports without a device are left out. */
    for (uint32_t i = 0; i < cfg->n_ports; i++) {
        if (!ports[i])
            continue;
        f->cps[np].port = ports[i];
        f->cps[np].switch_idx = cfg->ports[i].switch_idx;
        f->cps[np].vlan = cfg->ports[i].vlan;
        f->cps[np].learn_limit = cfg->ports[i].learn_limit;
        /* a host vNIC's new MTU goes out with the configuration (the TAP
         * gets it from the address change right after) */
        f->cps[np].mtu = cfg->ports[i].mtu;
        np++;
    }
    /* The static entries of a port without a device go without their
     * port: not added, but counted by the room check, so that a static
     * entry is refused when it is configured, not each time the retry
     * opens its port (which then opened and closed the port again every
     * VD_RETRY_S). */
    for (uint32_t i = 0; i < cfg->n_fdb_static; i++) {
        f->sts[ns].switch_idx = cfg->fdb_static[i].switch_idx;
        f->sts[ns].vid = cfg->fdb_static[i].vid;
        f->sts[ns].mac = cfg->fdb_static[i].mac;
        f->sts[ns].port = ports[cfg->fdb_static[i].port_idx];
        ns++;
    }
    f->vc.switches = f->sws;
    f->vc.n_switches = cfg->n_switches;
    f->vc.ports = f->cps;
    f->vc.n_ports = np;
    f->vc.statics = f->sts;
    f->vc.n_statics = ns;
    rc = vsw_commit_prepare(d->vsw, &f->vc, &f->commit, em);
    if (rc < 0)
        fwd_free(f);
    return rc;
}

/* Prepares the address and MTU changes of the host vNICs that stay
 * (vsw_port_host_addrs_prepare), in out[i] for ncfg->ports[i]. */
static int host_addrs_prepare(struct vd *d, const struct ctl_config *ncfg,
                              struct vsw_port **nports, const bool *opened,
                              struct vsw_host_addrs **out,
                              struct vsa_errmsg *em)
{
    for (uint32_t i = 0; i < ncfg->n_ports; i++) {
        const struct ctl_port *np = &ncfg->ports[i];
        int oi, rc;

        if (opened[i] || np->cls != CTL_PORT_INTERNAL || !nports[i])
            continue;
        oi = d->cfg ? ctl_port_find(d->cfg, np->name) : -1;
        if (oi < 0 || same_host_addrs(&d->cfg->ports[oi], np))
            continue;
        rc = vsw_port_host_addrs_prepare(d->vsw, nports[i],
                                         (const char *const *)np->addresses,
                                         np->n_addresses, np->mtu, &out[i],
                                         em);
        if (rc < 0) {
            vsa_errmsg_prefix(em, "port %s", np->name);
            return rc;
        }
    }
    return 0;
}

/* Undoes the applied changes of the first n ports.  The kernel may refuse
 * that too (it was best effort): the reply then names the host vNICs
 * left different from the running configuration, whose WARN lines say
 * how. */
static void host_addrs_revert(struct vd *d, const struct ctl_config *ncfg,
                              struct vsw_host_addrs **h, uint32_t n,
                              struct vsa_errmsg *em)
{
    bool first = true;

    for (uint32_t i = 0; h && i < n; i++) {
        if (!h[i] || vsw_port_host_addrs_revert(d->vsw, h[i]) == 0)
            continue;
        vsa_errmsg_append(em, "%s%s", first ? "; and could not undo the "
                          "change of port " : ", ", ncfg->ports[i].name);
        first = false;
    }
    if (!first)
        vsa_errmsg_append(em, " (the log names what differs)");
}

/* Sends the prepared changes of the host vNICs; if the kernel refuses
 * one, the ones sent before it are undone (the refused one undid its own)
 * and the whole apply fails: a TAP never keeps an address or MTU that the
 * document does not have. */
static int host_addrs_apply(struct vd *d, const struct ctl_config *ncfg,
                            struct vsw_host_addrs **h, struct vsa_errmsg *em)
{
    for (uint32_t i = 0; i < ncfg->n_ports; i++) {
        int rc;

        if (!h[i])
            continue;
        rc = vsw_port_host_addrs_apply(d->vsw, h[i], em);
        if (rc == 0)
            continue;
        vsa_errmsg_prefix(em, "port %s", ncfg->ports[i].name);
        host_addrs_revert(d, ncfg, h, i, em);
        return rc;
    }
    return 0;
}

/* Frees the changes, applied or not. */
static void host_addrs_abort(struct vd *d, struct vsw_host_addrs **h,
                             uint32_t n)
{
    for (uint32_t i = 0; h && i < n; i++)
        vsw_port_host_addrs_abort(d->vsw, h[i]);
    vsa_free(h);
}

/* Publishes a prepared configuration (cannot fail). */
static void fwd_publish(struct vd *d, struct fwd *f)
{
    vsw_commit_publish(d->vsw, f->commit);
    fwd_free(f);
}

static void fwd_abort(struct vd *d, struct fwd *f)
{
    vsw_commit_abort(d->vsw, f->commit);
    fwd_free(f);
}

static int fail(struct ctl_rpc_err *e, int code, const struct vsa_errmsg *em)
{
    if (e) {
        e->code = code;
        snprintf(e->msg, sizeof(e->msg), "%s", em->msg);
    }
    return -1;
}

/* How an apply treats a port device that cannot be opened. */
enum apply_mode {
    APPLY_STRICT,    /* a change: new ports must open, absent ones stay */
    APPLY_START,     /* the replay at start: what does not open is absent */
    APPLY_RETRY,     /* the same, quietly, for the absent ones again */
};

static int apply(struct vd *d, json_t *newdoc, bool persist,
                 enum apply_mode mode, struct ctl_rpc_err *e)
{
    struct ctl_config *ncfg = NULL;
    struct vd_vm_txn *vtxn = NULL;
    struct vsw_port **nports = NULL, **leaving = NULL;
    struct vsw_host_addrs **haddrs = NULL;
    char (*absent)[VD_ABSENT_MSG] = NULL;
    uint32_t n_absent = 0, n_leaving = 0;
    bool *opened = NULL, *kept = NULL;
    uint32_t old_n = d->cfg ? d->cfg->n_ports : 0;
    struct vsa_errmsg em = { "" };
    struct fwd fwd;
    int rc;

    rc = ctl_config_parse(newdoc, &ncfg, &em);
    if (rc < 0)
        return fail(e, rc == -ENOMEM ? CTL_RPC_SYSTEM : CTL_RPC_RULE, &em);
    nports = vsa_calloc(ncfg->n_ports + 1, sizeof(*nports));
    opened = vsa_calloc(ncfg->n_ports + 1, sizeof(*opened));
    kept = vsa_calloc(old_n + 1, sizeof(*kept));
    haddrs = vsa_calloc(ncfg->n_ports + 1, sizeof(*haddrs));
    absent = vsa_calloc(ncfg->n_ports + 1, sizeof(*absent));
    leaving = vsa_calloc(old_n + 1, sizeof(*leaving));
    if (!nports || !opened || !kept || !haddrs || !absent || !leaving) {
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
                /* absent before: stays so in a change */
                if (!nports[i] && d->absent[j][0] &&
                    mode == APPLY_STRICT) {
                    memcpy(absent[i], d->absent[j], sizeof(absent[i]));
                    n_absent++;
                }
                break;
            }
        }
    }
    /* the ports that go: a new port may take over one's kernel NIC (a
     * port renamed, its devargs changed), as they close only in step 5 */
    for (uint32_t j = 0; j < old_n; j++)
        if (!kept[j] && d->ports[j])
            leaving[n_leaving++] = d->ports[j];
    for (uint32_t i = 0; i < ncfg->n_ports; i++) {
        if (nports[i] || absent[i][0])
            continue;
        rc = open_port(d, &ncfg->ports[i], leaving, n_leaving, &nports[i],
                       &em);
        if (rc < 0 && rc != -ENOMEM && mode != APPLY_STRICT &&
            !ctl_port_is_vm_nic(&ncfg->ports[i])) {
            nports[i] = NULL;
            snprintf(absent[i], sizeof(absent[i]), "%.*s",
                     (int)sizeof(absent[i]) - 1, em.msg);
            n_absent++;
            continue;
        }
        if (rc < 0) {
            nports[i] = NULL;
            /* -EBUSY: its kernel NIC is another port's (under another of
             * its names: the parse compares strings), as a duplicate
             * ifname the parse sees */
            rc = fail(e, rc == -EBUSY ? CTL_RPC_EXISTS : CTL_RPC_SYSTEM,
                      &em);
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

    /* 3. prepare the forwarding configuration and the address changes */
    rc = fwd_prepare(d, ncfg, nports, &fwd, &em);
    if (rc < 0) {
        /* -ENOSPC: no room for a static entry, a rule of the table */
        rc = fail(e, rc == -ENOSPC ? CTL_RPC_RULE : CTL_RPC_SYSTEM, &em);
        goto out_abort_vms;
    }
    rc = host_addrs_prepare(d, ncfg, nports, opened, haddrs, &em);
    if (rc < 0) {
        rc = fail(e, CTL_RPC_SYSTEM, &em);
        goto out_abort_fwd;
    }

    /* 3b. the host vNICs' addresses and MTU (undone if 4 fails) */
    rc = host_addrs_apply(d, ncfg, haddrs, &em);
    if (rc < 0) {
        rc = fail(e, CTL_RPC_SYSTEM, &em);
        goto out_abort_fwd;
    }

    /* 4. persist */
    if (persist) {
        rc = ctl_store_save_resolved(d->config_path, d->config_file, newdoc,
                                     &em);
        if (rc < 0 && mode == APPLY_START) {
            /* the default configuration, which the next start takes
             * again as well: no reason to run nothing (a full disk) */
            VSA_LOG(WARN, "%s; running on the default configuration, "
                    "unsaved", em.msg);
            rc = 0;
        } else if (rc < 0) {
            host_addrs_revert(d, ncfg, haddrs, ncfg->n_ports, &em);
            rc = fail(e, CTL_RPC_SYSTEM, &em);
            goto out_abort_fwd;
        }
        /* 1: the new file is in place, not yet durable: applied all the
         * same, or the running state would differ from the file */
        if (rc > 0)
            VSA_LOG(WARN, "%s", em.msg);
    }

    /* 5. publish; VMs (channels of NICs that left are detached), release
     * what left, refresh host vNICs that stayed */
    fwd_publish(d, &fwd);
    if (vtxn)
        vd_vm_commit(d->vms, vtxn);
    for (uint32_t j = 0; j < old_n; j++)
        if (!kept[j] && d->ports[j])
            close_port(d, d->ports[j]);
    for (uint32_t i = 0; i < ncfg->n_ports; i++)
        if (!opened[i] && nports[i])
            set_connected(nports[i], &ncfg->ports[i]);
    host_addrs_abort(d, haddrs, ncfg->n_ports); /* applied in 3b */
    json_incref(newdoc);
    json_decref(d->doc);
    d->doc = newdoc;
    ctl_config_free(d->cfg);
    d->cfg = ncfg;
    vsa_free(d->ports);
    d->ports = nports;
    for (uint32_t i = 0; i < ncfg->n_ports; i++)
        if (absent[i][0] && mode == APPLY_START)
            VSA_LOG(WARN, "port %s: no device (%s); trying again every "
                    "%d s", ncfg->ports[i].name, absent[i],
                    VD_RETRY_S);
    vsa_free(d->absent);
    d->absent = absent;
    d->n_absent = n_absent;
    vsa_free(opened);
    vsa_free(kept);
    vsa_free(leaving);
    return 0;

out_abort_fwd:
    host_addrs_abort(d, haddrs, ncfg->n_ports);
    haddrs = NULL;
    fwd_abort(d, &fwd);
out_abort_vms:
    if (vtxn)
        vd_vm_abort(d->vms, vtxn);
out_close_new:
    for (uint32_t i = 0; i < ncfg->n_ports; i++)
        if (opened[i])
            close_port(d, nports[i]);
out_free:
    vsa_free(leaving);
    vsa_free(haddrs);
    vsa_free(absent);
    vsa_free(nports);
    vsa_free(opened);
    vsa_free(kept);
    ctl_config_free(ncfg);
    return rc;
}

int vd_apply(struct vd *d, json_t *newdoc, bool persist, struct ctl_rpc_err *e)
{
    return apply(d, newdoc, persist, APPLY_STRICT, e);
}

int vd_apply_start(struct vd *d, json_t *doc, bool is_default,
                   struct ctl_rpc_err *e)
{
    return apply(d, doc, is_default, APPLY_START, e);
}

void vd_apply_retry(struct vd *d)
{
    struct ctl_rpc_err e = { 0, "" };
    uint32_t before = d->n_absent;

    if (before == 0 || !d->doc)
        return;
    /* the running document again: kept ports stay as they are, the
     * absent ones are opened if they can be now (nothing is written) */
    if (apply(d, d->doc, false, APPLY_RETRY, &e) < 0) {
        VSA_LOG(WARN, "retrying absent port devices: %s", e.msg);
        return;
    }
    if (d->n_absent < before)
        VSA_LOG(INFO, "%u of %u absent port devices opened",
                before - d->n_absent, before);
}

int vd_port_index(const struct vd *d, const char *name)
{
    return d->cfg ? ctl_port_find(d->cfg, name) : -1;
}
