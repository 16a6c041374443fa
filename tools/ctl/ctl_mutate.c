/* SPDX-License-Identifier: BSD-3-Clause */
#include "tools/ctl/ctl_mutate.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/vsa_mac.h"
#include "tools/ctl/ctl_config.h"
#include "tools/ctl/ctl_private.h"

#define UPLINK_SUFFIX ".uplink"
#define HOST_SUFFIX "-host"

/* One mutation in progress. */
struct mctx {
    const struct ctl_config *cfg; /* the current document, parsed */
    json_t *doc;                  /* the copy being edited */
    json_t *params;               /* request parameters (may be NULL) */
    json_t *result;               /* {"ok":true,...} */
    struct ctl_rpc_err *e;
};

typedef int ctl_method_fn(struct mctx *m);

static ctl_method_fn m_switch_add, m_switch_del, m_switch_set;
static ctl_method_fn m_port_add, m_port_del, m_port_set;
static ctl_method_fn m_fdb_add, m_fdb_del;
static ctl_method_fn m_vm_add, m_vm_del, m_vm_nic_add, m_vm_nic_del;
static ctl_method_fn m_vm_nic_set;

static const char *const p_switch_add[] = {
    "name", "type", "fdb_max", "aging_s", "management_os", "uplink",
    "uplink_devargs", "host_ifname", "addresses", "mtu", NULL
};
static const char *const p_name[] = { "name", NULL };
static const char *const p_switch_set[] = {
    "name", "fdb_max", "aging_s", NULL
};
static const char *const p_port_add[] = {
    "name", "switch", "class", "devargs", "ifname", "addresses", "mtu",
    "vlan", "learn_limit", NULL
};
static const char *const p_port_set[] = {
    "name", "vlan", "learn_limit", "addresses", "mtu", NULL
};
static const char *const p_fdb_add[] = {
    "switch", "vlan", "mac", "port", NULL
};
static const char *const p_fdb_del[] = { "switch", "vlan", "mac", NULL };
static const char *const p_vm_nic_add[] = {
    "vm", "name", "switch", "type", "mac", "vlan", "learn_limit",
    "mac_spoofing", NULL
};
static const char *const p_vm_nic_del[] = { "vm", "name", NULL };
static const char *const p_vm_nic_set[] = {
    "vm", "name", "connected", "mac_spoofing", NULL
};

static const struct {
    const char *name;
    ctl_method_fn *fn;
    const char *const *params;
} ctl_methods[] = {
    { "switch.add", m_switch_add, p_switch_add },
    { "switch.del", m_switch_del, p_name },
    { "switch.set", m_switch_set, p_switch_set },
    { "port.add", m_port_add, p_port_add },
    { "port.del", m_port_del, p_name },
    { "port.set", m_port_set, p_port_set },
    { "fdb.add", m_fdb_add, p_fdb_add },
    { "fdb.del", m_fdb_del, p_fdb_del },
    { "vm.add", m_vm_add, p_name },
    { "vm.del", m_vm_del, p_name },
    { "vm.nic.add", m_vm_nic_add, p_vm_nic_add },
    { "vm.nic.del", m_vm_nic_del, p_vm_nic_del },
    { "vm.nic.set", m_vm_nic_set, p_vm_nic_set },
};

static int nomem(struct mctx *m);
static int map_fault(enum ctl__fault fault);

bool ctl_method_is_mutating(const char *method)
{
    for (size_t i = 0; i < VSA_ARRAY_LEN(ctl_methods); i++)
        if (strcmp(ctl_methods[i].name, method) == 0)
            return true;
    return false;
}

int ctl_mutate(const json_t *doc, const char *method, json_t *params,
               json_t **newdoc, json_t **result, struct ctl_rpc_err *e)
{
    struct ctl_config *cfg = NULL, *newcfg = NULL;
    struct mctx m = { .params = params, .e = e };
    enum ctl__fault fault;
    struct vsa_errmsg vem;
    size_t i;
    int rc;

    *newdoc = NULL;
    *result = NULL;
    for (i = 0; i < VSA_ARRAY_LEN(ctl_methods); i++)
        if (strcmp(ctl_methods[i].name, method) == 0)
            break;
    if (i == VSA_ARRAY_LEN(ctl_methods)) {
        char sbuf[64];

        return ctl_rpc_err_set(e, -EINVAL, CTL_RPC_METHOD_NOT_FOUND,
                               "\"%s\" is not a configuration method",
                               ctl__safe_str(method, sbuf, sizeof(sbuf)));
    }
    if (params && !json_is_object(params))
        return ctl_rpc_err_set(e, -EINVAL, CTL_RPC_INVALID_PARAMS,
                               "params must be an object, got %s",
                               ctl__json_type_name(params));
    if ((rc = ctl_params_check_known(params, ctl_methods[i].params, e)) < 0)
        return rc;

    rc = ctl__config_parse(doc, &cfg, &vem, &fault, false);
    if (rc == -ENOMEM)
        return ctl_rpc_err_set(e, rc, CTL_RPC_SYSTEM, "out of memory");
    if (rc < 0)
        return ctl_rpc_err_set(e, rc, CTL_RPC_SYSTEM,
                               "the current configuration is invalid: %s",
                               vem.msg);
    m.cfg = cfg;
    m.doc = json_deep_copy(doc);
    m.result = json_object();
    if (!m.doc || !m.result ||
        json_object_set_new(m.result, "ok", json_true())) {
        rc = nomem(&m);
        goto out;
    }
    rc = ctl_methods[i].fn(&m);
    if (rc < 0)
        goto out;

    /* The client never saw this document: its messages name objects, not
     * indexes into it. */
    rc = ctl__config_parse(m.doc, &newcfg, &vem, &fault, true);
    if (rc == -ENOMEM) {
        rc = nomem(&m);
        goto out;
    }
    if (rc < 0) {
        ctl_rpc_err_set(e, rc, map_fault(fault), "%s", vem.msg);
        goto out;
    }
    ctl_config_free(newcfg);
    *newdoc = m.doc;
    *result = m.result;
    m.doc = m.result = NULL;
out:
    json_decref(m.doc);
    json_decref(m.result);
    ctl_config_free(cfg);
    return rc;
}

/*
 * Static helpers
 */

static int nomem(struct mctx *m)
{
    return ctl_rpc_err_set(m->e, -ENOMEM, CTL_RPC_SYSTEM, "out of memory");
}

static int map_fault(enum ctl__fault fault)
{
    switch (fault) {
    case CTL__FAULT_VALUE: return CTL_RPC_INVALID_PARAMS;
    case CTL__FAULT_REFERENCE: return CTL_RPC_NOT_FOUND;
    case CTL__FAULT_DUPLICATE: return CTL_RPC_EXISTS;
    case CTL__FAULT_RULE: return CTL_RPC_RULE;
    case CTL__FAULT_NONE:
    case CTL__FAULT_NOMEM: break;
    }
    return CTL_RPC_SYSTEM;
}

/* The array `key` of the document being edited, created if absent. */
static json_t *doc_array(struct mctx *m, const char *key)
{
    json_t *a = json_object_get(m->doc, key);

    if (a)
        return a;
    a = json_array();
    if (!a || json_object_set_new(m->doc, key, a))
        return NULL;
    return a;
}

/* Element `idx` of the document array `key` (indexes of the parsed config
 * follow the document order). */
static json_t *doc_item(struct mctx *m, const char *key, uint32_t idx)
{
    return json_array_get(json_object_get(m->doc, key), idx);
}

/* The document object of port idx: an entry of `ports`, or for a VM NIC
 * the entry vms[vm_idx].nics[nic_idx]. */
static json_t *doc_port_item(struct mctx *m, uint32_t idx)
{
    const struct ctl_port *p = &m->cfg->ports[idx];

    if (!ctl_port_is_vm_nic(p))
        return doc_item(m, "ports", idx);
    return json_array_get(json_object_get(doc_item(m, "vms", p->vm_idx),
                                          "nics"), p->nic_idx);
}

/* Removes the static FDB entries that name a port in [first, first + n)
 * (backwards, so that the remaining indexes stay valid); returns how many. */
static size_t remove_statics_of(struct mctx *m, uint32_t first, uint32_t n)
{
    const struct ctl_config *cfg = m->cfg;
    size_t removed = 0;

    for (uint32_t i = cfg->n_fdb_static; i-- > 0;)
        if (cfg->fdb_static[i].port_idx >= first &&
            cfg->fdb_static[i].port_idx - first < n) {
            json_array_remove(json_object_get(m->doc, "fdb_static"), i);
            removed++;
        }
    return removed;
}

/* Sets obj[key] = v, consuming v; -ENOMEM if v is NULL or the set fails. */
static int jset(json_t *obj, const char *key, json_t *v)
{
    return json_object_set_new(obj, key, v) ? -ENOMEM : 0;
}

/* Appends v (consumed, even on failure) to arr; -ENOMEM on failure. */
static int jappend(json_t *arr, json_t *v)
{
    if (!arr) {
        json_decref(v);
        return -ENOMEM;
    }
    return json_array_append_new(arr, v) ? -ENOMEM : 0;
}

static int want_name(struct mctx *m, const char *key, const char **out)
{
    char sbuf[64];
    int rc = ctl_param_string(m->params, key, true, out, m->e);

    if (rc < 0)
        return rc;
    if (!ctl_name_is_valid(*out))
        return ctl_rpc_err_set(m->e, -EINVAL, CTL_RPC_INVALID_PARAMS,
                               "parameter \"%s\": \"%s\" is not a valid name "
                               "(1..31 characters of A-Z a-z 0-9 _ . -)", key,
                               ctl__safe_str(*out, sbuf, sizeof(sbuf)));
    return 0;
}

static int want_ifname(struct mctx *m, const char *key, bool required,
                       const char **out)
{
    char sbuf[64];
    int rc = ctl_param_string(m->params, key, required, out, m->e);

    if (rc <= 0)
        return rc;
    if (!ctl_ifname_is_valid(*out))
        return ctl_rpc_err_set(m->e, -EINVAL, CTL_RPC_INVALID_PARAMS,
                               "parameter \"%s\": \"%s\" is not a valid "
                               "interface name (1..15 characters of A-Z a-z "
                               "0-9 _ . -)", key,
                               ctl__safe_str(*out, sbuf, sizeof(sbuf)));
    return 1;
}

/* Looks up the existing object (switch, port or VM: `find`, named `what` in
 * the message) named by parameter `key`; -32001 if there is none. */
static int want_named(struct mctx *m, const char *key, const char *what,
                      int (*find)(const struct ctl_config *, const char *),
                      int *idx)
{
    const char *name;
    char sbuf[64];
    int rc = ctl_param_string(m->params, key, true, &name, m->e);

    if (rc < 0)
        return rc;
    *idx = find(m->cfg, name);
    if (*idx < 0)
        return ctl_rpc_err_set(m->e, -EINVAL, CTL_RPC_NOT_FOUND,
                               "%s \"%s\" does not exist", what,
                               ctl__safe_str(name, sbuf, sizeof(sbuf)));
    return 0;
}

static int want_switch(struct mctx *m, const char *key, int *idx)
{
    return want_named(m, key, "switch", ctl_switch_find, idx);
}

static int want_port(struct mctx *m, const char *key, int *idx)
{
    return want_named(m, key, "port", ctl_port_find, idx);
}

static int want_vm(struct mctx *m, const char *key, int *idx)
{
    return want_named(m, key, "VM", ctl_vm_find, idx);
}

/* A static-entry key from parameters vlan and mac. */
static int want_vlan_mac(struct mctx *m, uint16_t *vid, struct vsa_mac *mac)
{
    const char *s;
    uint64_t v;
    char sbuf[64];
    int rc;

    if ((rc = ctl_param_uint(m->params, "vlan", true, VLAN_VID_MIN,
                             VLAN_VID_MAX, &v, m->e)) < 0)
        return rc;
    *vid = (uint16_t)v;
    if ((rc = ctl_param_string(m->params, "mac", true, &s, m->e)) < 0)
        return rc;
    if (vsa_mac_parse(s, mac) < 0)
        return ctl_rpc_err_set(m->e, -EINVAL, CTL_RPC_INVALID_PARAMS,
                               "parameter \"mac\": \"%s\" is not a MAC "
                               "address (xx:xx:xx:xx:xx:xx)",
                               ctl__safe_str(s, sbuf, sizeof(sbuf)));
    return 0;
}

/* A `vlan` parameter as its canonical JSON, or the default when absent;
 * *mode_out (if not NULL) gets it parsed. */
static int want_vlan_json(struct mctx *m, bool *present, json_t **out,
                          struct vlan_port_mode *mode_out)
{
    struct vlan_port_mode mode;
    struct vsa_errmsg vem;
    json_t *v = NULL;
    int rc;

    vlan_port_mode_default(&mode);
    if ((rc = ctl_param_object(m->params, "vlan", false, &v, m->e)) < 0)
        return rc;
    if (present)
        *present = rc > 0;
    if (rc > 0 && ctl_vlan_from_json(v, &mode, &vem) < 0)
        return ctl_rpc_err_set(m->e, -EINVAL, CTL_RPC_INVALID_PARAMS,
                               "parameter %s", vem.msg);
    if (mode_out)
        *mode_out = mode;
    *out = ctl_vlan_to_json(&mode);
    return *out ? 0 : nomem(m);
}

static int port_exists(struct mctx *m, const char *name)
{
    if (ctl_port_find(m->cfg, name) >= 0)
        return ctl_rpc_err_set(m->e, -EINVAL, CTL_RPC_EXISTS,
                               "port \"%s\" exists already", name);
    return 0;
}

static int result_add_names(struct mctx *m, const char *key,
                            const char *const *names, size_t n)
{
    json_t *a = json_array();

    if (!a || jset(m->result, key, a))
        return nomem(m);
    for (size_t i = 0; i < n; i++)
        if (jappend(a, json_string(names[i])))
            return nomem(m);
    return 0;
}

/*
 * Methods: switches
 */

/* The parameters of switch.add, checked. */
struct switch_add {
    const char *name, *type, *uplink, *uplink_devargs, *host_ifname;
    char uplink_port[CTL_NAME_MAX], host_default[CTL_NAME_MAX];
    uint64_t fdb_max, aging_s, mtu;
    bool mgmt, has_host, has_mtu;
    json_t *addresses;
};

static int switch_add_params(struct mctx *m, struct switch_add *a)
{
    static const char *const host_keys[] = { "host_ifname", "addresses",
                                             "mtu" };
    char sbuf[64];
    int has_up, has_dev, rc;
    bool external;

    memset(a, 0, sizeof(*a));
    a->fdb_max = CTL_FDB_MAX_DEFAULT;
    a->aging_s = CTL_AGING_DEFAULT;
    a->mtu = CTL_MTU_DEFAULT;
    if ((rc = want_name(m, "name", &a->name)) < 0 ||
        (rc = ctl_param_string(m->params, "type", true, &a->type, m->e)) < 0)
        return rc;
    if (strcmp(a->type, "external") && strcmp(a->type, "internal") &&
        strcmp(a->type, "private"))
        return ctl_rpc_err_set(m->e, -EINVAL, CTL_RPC_INVALID_PARAMS,
                               "parameter \"type\": \"%s\" is not "
                               "\"external\", \"internal\" or \"private\"",
                               ctl__safe_str(a->type, sbuf, sizeof(sbuf)));
    external = strcmp(a->type, "external") == 0;
    if ((rc = ctl_param_uint(m->params, "fdb_max", false, CTL_FDB_MAX_MIN,
                             CTL_FDB_MAX_MAX, &a->fdb_max, m->e)) < 0 ||
        (rc = ctl_param_uint(m->params, "aging_s", false, CTL_AGING_MIN,
                             CTL_AGING_MAX, &a->aging_s, m->e)) < 0 ||
        (rc = ctl_param_bool(m->params, "management_os", false, &a->mgmt,
                             m->e)) < 0)
        return rc;
    if (a->mgmt && !external)
        return ctl_rpc_err_set(m->e, -EINVAL, CTL_RPC_INVALID_PARAMS,
                               "parameter \"management_os\": only for type "
                               "external");

    if ((has_up = want_ifname(m, "uplink", false, &a->uplink)) < 0)
        return has_up;
    if ((has_dev = ctl_param_string(m->params, "uplink_devargs", false,
                                    &a->uplink_devargs, m->e)) < 0)
        return has_dev;
    if (external && has_up == has_dev)
        return ctl_rpc_err_set(m->e, -EINVAL, CTL_RPC_INVALID_PARAMS,
                               "an external switch needs exactly one of "
                               "parameters \"uplink\" and \"uplink_devargs\"");
    if (!external && (has_up || has_dev))
        return ctl_rpc_err_set(m->e, -EINVAL, CTL_RPC_INVALID_PARAMS,
                               "parameter \"%s\": only for type external",
                               has_up ? "uplink" : "uplink_devargs");
    if (external &&
        strlen(a->name) + strlen(UPLINK_SUFFIX) >= CTL_NAME_MAX)
        return ctl_rpc_err_set(m->e, -EINVAL, CTL_RPC_INVALID_PARAMS,
                               "parameter \"name\": \"%s\" is too long to "
                               "name its uplink port \"%s" UPLINK_SUFFIX "\" "
                               "(%d characters at most)", a->name, a->name,
                               CTL_NAME_MAX - 1);
    snprintf(a->uplink_port, sizeof(a->uplink_port), "%.*s" UPLINK_SUFFIX,
             (int)(CTL_NAME_MAX - sizeof(UPLINK_SUFFIX)), a->name);

    a->has_host = strcmp(a->type, "internal") == 0 || a->mgmt;
    if (!a->has_host) {
        for (size_t i = 0; i < VSA_ARRAY_LEN(host_keys); i++)
            if (json_object_get(m->params, host_keys[i]))
                return ctl_rpc_err_set(m->e, -EINVAL, CTL_RPC_INVALID_PARAMS,
                                       "parameter \"%s\": only for an "
                                       "internal switch or an external one "
                                       "with management_os", host_keys[i]);
        return 0;
    }
    snprintf(a->host_default, sizeof(a->host_default), "%.*s%s",
             (int)(CTL_NAME_MAX - sizeof(HOST_SUFFIX)), a->name,
             external ? HOST_SUFFIX : "");
    if ((rc = want_ifname(m, "host_ifname", false, &a->host_ifname)) < 0)
        return rc;
    if (rc == 0) {
        if (!ctl_ifname_is_valid(a->host_default))
            return ctl_rpc_err_set(m->e, -EINVAL, CTL_RPC_INVALID_PARAMS,
                                   "missing parameter \"host_ifname\": the "
                                   "default \"%s\" is not a valid interface "
                                   "name (1..15 characters)", a->host_default);
        a->host_ifname = a->host_default;
    }
    if ((rc = ctl_param_array(m->params, "addresses", false, &a->addresses,
                              m->e)) < 0)
        return rc;
    if ((rc = ctl_param_uint(m->params, "mtu", false, CTL_MTU_MIN,
                             CTL_MTU_MAX, &a->mtu, m->e)) < 0)
        return rc;
    return 0;
}

static int m_switch_add(struct mctx *m)
{
    struct switch_add a;
    const char *created[2];
    size_t n_created = 0;
    json_t *sw, *port, *vlan;
    json_t *switches, *ports;
    int rc;

    if ((rc = switch_add_params(m, &a)) < 0)
        return rc;
    if (ctl_switch_find(m->cfg, a.name) >= 0)
        return ctl_rpc_err_set(m->e, -EINVAL, CTL_RPC_EXISTS,
                               "switch \"%s\" exists already", a.name);
    if (!strcmp(a.type, "external") && (rc = port_exists(m, a.uplink_port)))
        return rc;
    if (a.has_host && (rc = port_exists(m, a.host_ifname)))
        return rc;

    switches = doc_array(m, "switches");
    ports = doc_array(m, "ports");
    sw = json_object();
    if (!switches || !ports || !sw ||
        jset(sw, "name", json_string(a.name)) ||
        jset(sw, "type", json_string(a.type)) ||
        jset(sw, "fdb_max", json_integer((json_int_t)a.fdb_max)) ||
        jset(sw, "aging_s", json_integer((json_int_t)a.aging_s)) ||
        (a.mgmt && jset(sw, "management_os", json_true())) ||
        jappend(switches, json_incref(sw))) {
        json_decref(sw);
        return nomem(m);
    }
    json_decref(sw);

    if (!strcmp(a.type, "external")) {
        port = json_object();
        if (!port || jset(port, "name", json_string(a.uplink_port)) ||
            jset(port, "switch", json_string(a.name)) ||
            jset(port, "class", json_string("uplink")) ||
            (a.uplink ? jset(port, "ifname", json_string(a.uplink))
                      : jset(port, "devargs",
                             json_string(a.uplink_devargs))) ||
            jset(port, "vlan", json_pack("{s:s, s:i}", "mode", "access",
                                         "vid", VLAN_DEFAULT_VID)) ||
            jset(port, "learn_limit", json_integer(0)) ||
            jappend(ports, json_incref(port))) {
            json_decref(port);
            return nomem(m);
        }
        json_decref(port);
        created[n_created++] = a.uplink_port;
    }
    if (a.has_host) {
        port = json_object();
        vlan = json_pack("{s:s, s:i}", "mode", "access", "vid",
                         VLAN_DEFAULT_VID);
        if (!port || jset(port, "name", json_string(a.host_ifname)) ||
            jset(port, "switch", json_string(a.name)) ||
            jset(port, "class", json_string("internal")) ||
            jset(port, "ifname", json_string(a.host_ifname)) ||
            jset(port, "addresses", a.addresses ? json_deep_copy(a.addresses)
                                                : json_array()) ||
            jset(port, "mtu", json_integer((json_int_t)a.mtu)) ||
            jset(port, "vlan", json_incref(vlan)) ||
            jset(port, "learn_limit", json_integer(0)) ||
            jappend(ports, json_incref(port))) {
            json_decref(vlan);
            json_decref(port);
            return nomem(m);
        }
        json_decref(vlan);
        json_decref(port);
        created[n_created++] = a.host_ifname;
    }
    return result_add_names(m, "ports", created, n_created);
}

static int m_switch_del(struct mctx *m)
{
    const struct ctl_config *cfg = m->cfg;
    const char *removed[CTL_MAX_PORTS];
    size_t n_removed = 0, n_fdb = 0;
    char busy[256] = "";
    size_t busy_len = 0, n_dpdk = 0, n_nics = 0, n_listed = 0;
    int s, rc;

    if ((rc = want_switch(m, "name", &s)) < 0)
        return rc;
    for (uint32_t p = 0; p < cfg->n_ports; p++) {
        const struct ctl_port *port = &cfg->ports[p];

        if (port->switch_idx != (uint32_t)s ||
            (port->cls != CTL_PORT_DPDK && !ctl_port_is_vm_nic(port)))
            continue;
        if (ctl_port_is_vm_nic(port))
            n_nics++;
        else
            n_dpdk++;
        /* whole names only, with room left for " and N more" */
        if (busy_len + 2 + strlen(port->name) < sizeof(busy) - 24) {
            busy_len += (size_t)snprintf(busy + busy_len,
                                         sizeof(busy) - busy_len, "%s%s",
                                         busy_len ? ", " : "", port->name);
            n_listed++;
        }
    }
    if (n_listed < n_dpdk + n_nics)
        snprintf(busy + busy_len, sizeof(busy) - busy_len, " and %zu more",
                 n_dpdk + n_nics - n_listed);
    /* How to delete each kind, worded for both clients (the vesperctl
     * command, then the method): port.del refuses a VM NIC. */
    if (busy[0])
        return ctl_rpc_err_set(m->e, -EINVAL, CTL_RPC_RULE,
                               "switch \"%s\" still has ports attached (%s); "
                               "delete them first: %s%s%s",
                               cfg->switches[s].name, busy,
                               n_dpdk ? "a port with 'vesperctl port del "
                                        "PORT' (RPC port.del)" : "",
                               n_dpdk && n_nics ? ", " : "",
                               n_nics ? "a VM NIC with 'vesperctl vm nic del "
                                        "VM NIC' (RPC vm.nic.del) or its VM "
                                        "with 'vesperctl vm del VM'" : "");

    /* Backwards, so that the remaining indexes stay valid. */
    for (uint32_t i = cfg->n_fdb_static; i-- > 0;)
        if (cfg->fdb_static[i].switch_idx == (uint32_t)s) {
            json_array_remove(json_object_get(m->doc, "fdb_static"), i);
            n_fdb++;
        }
    for (uint32_t p = cfg->n_ports; p-- > 0;)
        if (cfg->ports[p].switch_idx == (uint32_t)s) {
            json_array_remove(json_object_get(m->doc, "ports"), p);
            removed[n_removed++] = cfg->ports[p].name;
        }
    json_array_remove(json_object_get(m->doc, "switches"), (size_t)s);
    if ((rc = result_add_names(m, "removed_ports", removed, n_removed)) < 0)
        return rc;
    if (jset(m->result, "removed_fdb_static",
             json_integer((json_int_t)n_fdb)))
        return nomem(m);
    return 0;
}

static int m_switch_set(struct mctx *m)
{
    uint64_t fdb_max, aging_s;
    int s, has_fdb, has_aging, rc;
    json_t *sw;

    if ((rc = want_switch(m, "name", &s)) < 0)
        return rc;
    if ((has_fdb = ctl_param_uint(m->params, "fdb_max", false,
                                  CTL_FDB_MAX_MIN, CTL_FDB_MAX_MAX, &fdb_max,
                                  m->e)) < 0)
        return has_fdb;
    if ((has_aging = ctl_param_uint(m->params, "aging_s", false,
                                    CTL_AGING_MIN, CTL_AGING_MAX, &aging_s,
                                    m->e)) < 0)
        return has_aging;
    if (!has_fdb && !has_aging)
        return ctl_rpc_err_set(m->e, -EINVAL, CTL_RPC_INVALID_PARAMS,
                               "missing parameter: give \"fdb_max\" and/or "
                               "\"aging_s\"");
    sw = doc_item(m, "switches", (uint32_t)s);
    if ((has_fdb &&
         jset(sw, "fdb_max", json_integer((json_int_t)fdb_max))) ||
        (has_aging &&
         jset(sw, "aging_s", json_integer((json_int_t)aging_s))))
        return nomem(m);
    return 0;
}

/*
 * Methods: ports
 */

static int m_port_add(struct mctx *m)
{
    const char *name, *cls, *devargs = NULL, *ifname = NULL;
    json_t *addresses = NULL, *vlan = NULL, *port, *ports;
    uint64_t mtu = CTL_MTU_DEFAULT, learn_limit = 0;
    bool internal;
    char sbuf[64];
    int s, rc;

    if ((rc = want_name(m, "name", &name)) < 0 ||
        (rc = want_switch(m, "switch", &s)) < 0 ||
        (rc = ctl_param_string(m->params, "class", true, &cls, m->e)) < 0)
        return rc;
    if (strcmp(cls, "uplink") == 0)
        return ctl_rpc_err_set(m->e, -EINVAL, CTL_RPC_INVALID_PARAMS,
                               "parameter \"class\": uplink ports are created "
                               "by switch.add");
    if (strcmp(cls, "synthetic") == 0 || strcmp(cls, "legacy") == 0)
        return ctl_rpc_err_set(m->e, -EINVAL, CTL_RPC_INVALID_PARAMS,
                               "parameter \"class\": %s ports are VM "
                               "NICs, created by vm.nic.add", cls);
    if (strcmp(cls, "dpdk") && strcmp(cls, "internal"))
        return ctl_rpc_err_set(m->e, -EINVAL, CTL_RPC_INVALID_PARAMS,
                               "parameter \"class\": \"%s\" is not \"dpdk\" "
                               "or \"internal\"",
                               ctl__safe_str(cls, sbuf, sizeof(sbuf)));
    internal = strcmp(cls, "internal") == 0;
    if (internal) {
        if (json_object_get(m->params, "devargs"))
            return ctl_rpc_err_set(m->e, -EINVAL, CTL_RPC_INVALID_PARAMS,
                                   "parameter \"devargs\": only for class "
                                   "dpdk");
        if ((rc = want_ifname(m, "ifname", true, &ifname)) < 0 ||
            (rc = ctl_param_array(m->params, "addresses", false, &addresses,
                                  m->e)) < 0 ||
            (rc = ctl_param_uint(m->params, "mtu", false, CTL_MTU_MIN,
                                 CTL_MTU_MAX, &mtu, m->e)) < 0)
            return rc;
    } else {
        static const char *const internal_only[] = { "ifname", "addresses",
                                                     "mtu" };

        for (size_t i = 0; i < VSA_ARRAY_LEN(internal_only); i++)
            if (json_object_get(m->params, internal_only[i]))
                return ctl_rpc_err_set(m->e, -EINVAL, CTL_RPC_INVALID_PARAMS,
                                       "parameter \"%s\": only for class "
                                       "internal", internal_only[i]);
        if ((rc = ctl_param_string(m->params, "devargs", true, &devargs,
                                   m->e)) < 0)
            return rc;
    }
    if ((rc = ctl_param_uint(m->params, "learn_limit", false, 0,
                             CTL_FDB_MAX_MAX, &learn_limit, m->e)) < 0)
        return rc;
    if ((rc = port_exists(m, name)) < 0)
        return rc;
    if ((rc = want_vlan_json(m, NULL, &vlan, NULL)) < 0)
        return rc;

    ports = doc_array(m, "ports");
    port = json_object();
    if (!ports || !port || jset(port, "name", json_string(name)) ||
        jset(port, "switch", json_string(m->cfg->switches[s].name)) ||
        jset(port, "class", json_string(cls)) ||
        (devargs && jset(port, "devargs", json_string(devargs))) ||
        (internal &&
         (jset(port, "ifname", json_string(ifname)) ||
          jset(port, "addresses", addresses ? json_deep_copy(addresses)
                                            : json_array()) ||
          jset(port, "mtu", json_integer((json_int_t)mtu)))) ||
        jset(port, "vlan", json_incref(vlan)) ||
        jset(port, "learn_limit", json_integer((json_int_t)learn_limit)) ||
        jappend(ports, json_incref(port))) {
        json_decref(vlan);
        json_decref(port);
        return nomem(m);
    }
    json_decref(vlan);
    json_decref(port);
    return 0;
}

static int m_port_del(struct mctx *m)
{
    const struct ctl_config *cfg = m->cfg;
    const struct ctl_port *port;
    size_t n_fdb = 0;
    int p, rc;

    if ((rc = want_port(m, "name", &p)) < 0)
        return rc;
    port = &cfg->ports[p];
    /* Worded for both clients: the vesperctl command, then the method. */
    if (ctl_port_is_vm_nic(port))
        return ctl_rpc_err_set(m->e, -EINVAL, CTL_RPC_RULE,
                               "port \"%s\" is NIC \"%s\" of VM \"%s\": "
                               "delete the NIC instead ('vesperctl vm nic "
                               "del %s %s', RPC vm.nic.del)", port->name,
                               port->nic, cfg->vms[port->vm_idx].name,
                               cfg->vms[port->vm_idx].name, port->nic);
    if (port->cls == CTL_PORT_UPLINK || port->cls == CTL_PORT_INTERNAL)
        return ctl_rpc_err_set(m->e, -EINVAL, CTL_RPC_RULE,
                               "port \"%s\" is the %s of switch \"%s\" and "
                               "goes only with it ('vesperctl switch del "
                               "%s', RPC switch.del)", port->name,
                               port->cls == CTL_PORT_UPLINK ? "uplink"
                                                            : "host vNIC",
                               cfg->switches[port->switch_idx].name,
                               cfg->switches[port->switch_idx].name);
    n_fdb = remove_statics_of(m, (uint32_t)p, 1);
    json_array_remove(json_object_get(m->doc, "ports"), (size_t)p);
    if (jset(m->result, "removed_fdb_static",
             json_integer((json_int_t)n_fdb)))
        return nomem(m);
    return 0;
}

/* A port's static FDB entries pin their VLANs on it.  A new VLAN mode
 * without one of them is refused here, naming the entry and the ways out:
 * the check of the new document would only say that the port is not a
 * member of the VLAN. */
static int statics_keep_vlans(struct mctx *m, uint32_t p,
                              const struct vlan_port_mode *mode)
{
    const struct ctl_config *cfg = m->cfg;
    struct vlan_port compiled;
    char mbuf[VSA_MAC_STRLEN];

    vlan_port_compile(mode, &compiled);
    for (uint32_t i = 0; i < cfg->n_fdb_static; i++) {
        const struct ctl_fdb_static *f = &cfg->fdb_static[i];

        if (f->port_idx != p || vlan_bitmap_test(compiled.member, f->vid))
            continue;
        vsa_mac_format(&f->mac, mbuf);
        return ctl_rpc_err_set(m->e, -EINVAL, CTL_RPC_RULE,
                               "static FDB entry %s in VLAN %u on port "
                               "\"%s\" needs the port in VLAN %u: delete the "
                               "entry first ('vesperctl fdb del %s --vlan %u "
                               "--mac %s', RPC fdb.del) or keep VLAN %u",
                               mbuf, f->vid, cfg->ports[p].name, f->vid,
                               cfg->switches[f->switch_idx].name, f->vid,
                               mbuf, f->vid);
    }
    return 0;
}

/* port.set's "addresses" and "mtu": a host vNIC's only (the new document's
 * check validates each address, as it does for port.add). */
static int want_host_settings(struct mctx *m, const struct ctl_port *port,
                              json_t **addresses, int *has_mtu,
                              uint64_t *mtu)
{
    static const char *const keys[] = { "addresses", "mtu" };
    int rc;

    *addresses = NULL;
    *has_mtu = 0;
    if (port->cls != CTL_PORT_INTERNAL) {
        for (size_t i = 0; i < VSA_ARRAY_LEN(keys); i++)
            if (json_object_get(m->params, keys[i]))
                return ctl_rpc_err_set(m->e, -EINVAL,
                                       CTL_RPC_INVALID_PARAMS,
                                       "parameter \"%s\": only for a host "
                                       "vNIC (class internal); port \"%s\" "
                                       "is class %s", keys[i], port->name,
                                       ctl_port_class_name(port->cls));
        return 0;
    }
    if ((rc = ctl_param_array(m->params, "addresses", false, addresses,
                              m->e)) < 0)
        return rc;
    if ((*has_mtu = ctl_param_uint(m->params, "mtu", false, CTL_MTU_MIN,
                                   CTL_MTU_MAX, mtu, m->e)) < 0)
        return *has_mtu;
    return 0;
}

static int m_port_set(struct mctx *m)
{
    struct vlan_port_mode mode;
    uint64_t learn_limit, mtu = 0;
    json_t *vlan = NULL, *addresses, *port;
    bool has_vlan;
    int p, has_limit, has_mtu, rc;

    if ((rc = want_port(m, "name", &p)) < 0)
        return rc;
    if ((has_limit = ctl_param_uint(m->params, "learn_limit", false, 0,
                                    CTL_FDB_MAX_MAX, &learn_limit,
                                    m->e)) < 0)
        return has_limit;
    if ((rc = want_host_settings(m, &m->cfg->ports[p], &addresses, &has_mtu,
                                 &mtu)) < 0)
        return rc;
    if (!json_object_get(m->params, "vlan") && !has_limit && !addresses &&
        !has_mtu)
        return ctl_rpc_err_set(m->e, -EINVAL, CTL_RPC_INVALID_PARAMS,
                               "missing parameter: give \"vlan\", "
                               "\"learn_limit\" and/or (a host vNIC's) "
                               "\"addresses\" or \"mtu\"");
    if ((rc = want_vlan_json(m, &has_vlan, &vlan, &mode)) < 0)
        return rc;
    if (has_vlan && (rc = statics_keep_vlans(m, (uint32_t)p, &mode)) < 0) {
        json_decref(vlan);
        return rc;
    }
    port = doc_port_item(m, (uint32_t)p);
    if ((has_vlan && jset(port, "vlan", json_incref(vlan))) ||
        (has_limit &&
         jset(port, "learn_limit", json_integer((json_int_t)learn_limit))) ||
        (addresses &&
         jset(port, "addresses", json_deep_copy(addresses))) ||
        (has_mtu && jset(port, "mtu", json_integer((json_int_t)mtu)))) {
        json_decref(vlan);
        return nomem(m);
    }
    json_decref(vlan);
    return 0;
}

/*
 * Methods: static FDB entries
 */

static int find_static(const struct ctl_config *cfg, int s, uint16_t vid,
                       const struct vsa_mac *mac)
{
    for (uint32_t i = 0; i < cfg->n_fdb_static; i++) {
        const struct ctl_fdb_static *f = &cfg->fdb_static[i];

        if (f->switch_idx == (uint32_t)s && f->vid == vid &&
            memcmp(&f->mac, mac, sizeof(*mac)) == 0)
            return (int)i;
    }
    return -1;
}

static int m_fdb_add(struct mctx *m)
{
    const struct ctl_config *cfg = m->cfg;
    const struct ctl_port *port;
    struct vlan_port compiled;
    struct vsa_mac mac;
    char mbuf[VSA_MAC_STRLEN];
    json_t *entry, *fdb;
    uint16_t vid;
    int s, p, rc;

    if ((rc = want_switch(m, "switch", &s)) < 0 ||
        (rc = want_vlan_mac(m, &vid, &mac)) < 0 ||
        (rc = want_port(m, "port", &p)) < 0)
        return rc;
    vsa_mac_format(&mac, mbuf);
    if (vsa_mac_is_multicast(&mac) || vsa_mac_is_zero(&mac))
        return ctl_rpc_err_set(m->e, -EINVAL, CTL_RPC_INVALID_PARAMS,
                               "parameter \"mac\": %s is not a unicast "
                               "station address", mbuf);
    if (find_static(cfg, s, vid, &mac) >= 0)
        return ctl_rpc_err_set(m->e, -EINVAL, CTL_RPC_EXISTS,
                               "static FDB entry (switch \"%s\", vlan %u, "
                               "mac %s) exists already",
                               cfg->switches[s].name, vid, mbuf);
    port = &cfg->ports[p];
    if (port->switch_idx != (uint32_t)s)
        return ctl_rpc_err_set(m->e, -EINVAL, CTL_RPC_RULE,
                               "port \"%s\" is on switch \"%s\", not \"%s\"",
                               port->name,
                               cfg->switches[port->switch_idx].name,
                               cfg->switches[s].name);
    vlan_port_compile(&port->vlan, &compiled);
    if (!vlan_bitmap_test(compiled.member, vid))
        return ctl_rpc_err_set(m->e, -EINVAL, CTL_RPC_RULE,
                               "port \"%s\" is not a member of VLAN %u",
                               port->name, vid);

    fdb = doc_array(m, "fdb_static");
    entry = json_object();
    if (!fdb || !entry ||
        jset(entry, "switch", json_string(cfg->switches[s].name)) ||
        jset(entry, "vlan", json_integer(vid)) ||
        jset(entry, "mac", json_string(mbuf)) ||
        jset(entry, "port", json_string(port->name)) ||
        jappend(fdb, json_incref(entry))) {
        json_decref(entry);
        return nomem(m);
    }
    json_decref(entry);
    return 0;
}

static int m_fdb_del(struct mctx *m)
{
    struct vsa_mac mac;
    char mbuf[VSA_MAC_STRLEN];
    uint16_t vid;
    int s, i, rc;

    if ((rc = want_switch(m, "switch", &s)) < 0 ||
        (rc = want_vlan_mac(m, &vid, &mac)) < 0)
        return rc;
    i = find_static(m->cfg, s, vid, &mac);
    if (i < 0)
        return ctl_rpc_err_set(m->e, -EINVAL, CTL_RPC_NOT_FOUND,
                               "no static FDB entry (switch \"%s\", vlan %u, "
                               "mac %s)", m->cfg->switches[s].name, vid,
                               vsa_mac_format(&mac, mbuf));
    json_array_remove(json_object_get(m->doc, "fdb_static"), (size_t)i);
    return 0;
}

/*
 * Methods: VMs and their NICs
 */

static int m_vm_add(struct mctx *m)
{
    const char *name;
    json_t *vm;
    int rc;

    if ((rc = want_name(m, "name", &name)) < 0)
        return rc;
    if (ctl_vm_find(m->cfg, name) >= 0)
        return ctl_rpc_err_set(m->e, -EINVAL, CTL_RPC_EXISTS,
                               "VM \"%s\" exists already", name);
    vm = json_pack("{s:s, s:[]}", "name", name, "nics");
    if (!vm || jappend(doc_array(m, "vms"), vm))
        return nomem(m);
    return 0;
}

static int m_vm_del(struct mctx *m)
{
    const struct ctl_config *cfg = m->cfg;
    const char *removed[CTL_MAX_VM_NICS];
    const struct ctl_vm *vm;
    size_t n_fdb;
    int v, rc;

    if ((rc = want_vm(m, "name", &v)) < 0)
        return rc;
    vm = &cfg->vms[v];
    for (uint32_t k = 0; k < vm->n_nics; k++)
        removed[k] = cfg->ports[vm->first_port + k].name;
    n_fdb = remove_statics_of(m, vm->first_port, vm->n_nics);
    json_array_remove(json_object_get(m->doc, "vms"), (size_t)v);
    if ((rc = result_add_names(m, "removed_ports", removed, vm->n_nics)) < 0)
        return rc;
    if (jset(m->result, "removed_fdb_static",
             json_integer((json_int_t)n_fdb)))
        return nomem(m);
    return 0;
}

/* True if a NIC other than `except` (a port index, or -1) has this MAC. */
static bool nic_mac_used(const struct ctl_config *cfg,
                         const struct vsa_mac *mac, int except)
{
    for (uint32_t i = cfg->n_doc_ports; i < cfg->n_ports; i++)
        if ((int)i != except &&
            memcmp(&cfg->ports[i].mac, mac, sizeof(*mac)) == 0)
            return true;
    return false;
}

/* The `type` of vm.nic.add: "synthetic" or "legacy". */
static int want_nic_type(struct mctx *m, const char **out)
{
    char sbuf[64];
    int rc = ctl_param_string(m->params, "type", true, out, m->e);

    if (rc < 0)
        return rc;
    if (strcmp(*out, "synthetic") == 0 || strcmp(*out, "legacy") == 0)
        return 0;
    return ctl_rpc_err_set(m->e, -EINVAL, CTL_RPC_INVALID_PARAMS,
                           "parameter \"type\": \"%s\" is not \"synthetic\" "
                           "or \"legacy\"",
                           ctl__safe_str(*out, sbuf, sizeof(sbuf)));
}

/* The NIC's MAC: the `mac` parameter (unicast, unused), or derived from
 * the names; the derivation moves on to the next salt while the address
 * is taken, and the result is stored so that it never changes. */
static int want_nic_mac(struct mctx *m, const char *vm, const char *nic,
                        struct vsa_mac *mac)
{
    char sbuf[64], mbuf[VSA_MAC_STRLEN];
    const char *s;
    int rc = ctl_param_string(m->params, "mac", false, &s, m->e);

    if (rc < 0)
        return rc;
    if (rc == 0) {
        for (uint32_t salt = 0; salt < 64; salt++) {
            ctl_vm_nic_mac(vm, nic, salt, mac);
            if (!nic_mac_used(m->cfg, mac, -1))
                break;
        }
        return 0;
    }
    if (vsa_mac_parse(s, mac) < 0)
        return ctl_rpc_err_set(m->e, -EINVAL, CTL_RPC_INVALID_PARAMS,
                               "parameter \"mac\": \"%s\" is not a MAC "
                               "address (xx:xx:xx:xx:xx:xx)",
                               ctl__safe_str(s, sbuf, sizeof(sbuf)));
    vsa_mac_format(mac, mbuf);
    if (vsa_mac_is_multicast(mac) || vsa_mac_is_zero(mac))
        return ctl_rpc_err_set(m->e, -EINVAL, CTL_RPC_INVALID_PARAMS,
                               "parameter \"mac\": %s is not a unicast "
                               "station address", mbuf);
    for (uint32_t i = m->cfg->n_doc_ports; i < m->cfg->n_ports; i++)
        if (memcmp(&m->cfg->ports[i].mac, mac, sizeof(*mac)) == 0)
            return ctl_rpc_err_set(m->e, -EINVAL, CTL_RPC_EXISTS,
                                   "MAC %s is already used by port \"%s\"",
                                   mbuf, m->cfg->ports[i].name);
    return 0;
}

static int m_vm_nic_add(struct mctx *m)
{
    const struct ctl_config *cfg = m->cfg;
    const char *name = NULL, *type, *vmname;
    char auto_name[CTL_NAME_MAX], port[CTL_PORT_NAME_MAX];
    char mbuf[VSA_MAC_STRLEN], sbuf[64];
    json_t *vlan = NULL, *nic, *vmobj, *nics;
    uint64_t learn_limit = 0;
    bool spoofing = false;
    struct vsa_mac mac;
    int v, s, rc;

    if ((rc = want_vm(m, "vm", &v)) < 0)
        return rc;
    vmname = cfg->vms[v].name;
    if ((rc = ctl_param_string(m->params, "name", false, &name, m->e)) < 0)
        return rc;
    if (rc > 0 && !ctl_name_is_valid(name))
        return ctl_rpc_err_set(m->e, -EINVAL, CTL_RPC_INVALID_PARAMS,
                               "parameter \"name\": \"%s\" is not a valid "
                               "name (1..31 characters of A-Z a-z 0-9 _ . -)",
                               ctl__safe_str(name, sbuf, sizeof(sbuf)));
    if (rc == 0) {
        /* The first nicN free among the VM's NICs and whose port name
         * VM.nicN no port has (a port can be named so by hand): a name
         * the operator did not give must not be refused.  A full VM is
         * refused by the parser; the ports are finite. */
        for (uint32_t k = 0; k < UINT32_MAX; k++) {
            snprintf(auto_name, sizeof(auto_name), "nic%u", k);
            snprintf(port, sizeof(port), "%s.%s", vmname, auto_name);
            if (ctl_vm_nic_find(cfg, (uint32_t)v, auto_name) < 0 &&
                ctl_port_find(cfg, port) < 0)
                break;
        }
        name = auto_name;
    }
    if (ctl_vm_nic_find(cfg, (uint32_t)v, name) >= 0)
        return ctl_rpc_err_set(m->e, -EINVAL, CTL_RPC_EXISTS,
                               "VM \"%s\" already has a NIC named \"%s\"",
                               vmname, name);
    if ((rc = want_switch(m, "switch", &s)) < 0 ||
        (rc = want_nic_type(m, &type)) < 0 ||
        (rc = want_nic_mac(m, vmname, name, &mac)) < 0 ||
        (rc = ctl_param_uint(m->params, "learn_limit", false, 0,
                             CTL_FDB_MAX_MAX, &learn_limit, m->e)) < 0 ||
        (rc = ctl_param_bool(m->params, "mac_spoofing", false, &spoofing,
                             m->e)) < 0)
        return rc;
    snprintf(port, sizeof(port), "%s.%s", vmname, name);
    if ((rc = port_exists(m, port)) < 0)
        return rc;
    if ((rc = want_vlan_json(m, NULL, &vlan, NULL)) < 0)
        return rc;

    vmobj = doc_item(m, "vms", (uint32_t)v);
    nics = json_object_get(vmobj, "nics");
    if (!nics && (!(nics = json_array()) || jset(vmobj, "nics", nics))) {
        json_decref(vlan);
        return nomem(m);
    }
    vsa_mac_format(&mac, mbuf);
    nic = json_object();
    if (!nic || jset(nic, "name", json_string(name)) ||
        jset(nic, "type", json_string(type)) ||
        jset(nic, "switch", json_string(cfg->switches[s].name)) ||
        jset(nic, "mac", json_string(mbuf)) ||
        jset(nic, "vlan", json_incref(vlan)) ||
        jset(nic, "learn_limit", json_integer((json_int_t)learn_limit)) ||
        (spoofing && jset(nic, "mac_spoofing", json_true())) ||
        jappend(nics, json_incref(nic)) ||
        jset(m->result, "name", json_string(name)) ||
        jset(m->result, "port", json_string(port)) ||
        jset(m->result, "mac", json_string(mbuf))) {
        json_decref(vlan);
        json_decref(nic);
        return nomem(m);
    }
    json_decref(vlan);
    json_decref(nic);
    return 0;
}

/* The NIC named by parameters vm and name: *v its VM, *p its port. */
static int want_vm_nic(struct mctx *m, int *v, int *p)
{
    const char *name;
    char sbuf[64];
    int rc;

    if ((rc = want_vm(m, "vm", v)) < 0 ||
        (rc = ctl_param_string(m->params, "name", true, &name, m->e)) < 0)
        return rc;
    *p = ctl_vm_nic_find(m->cfg, (uint32_t)*v, name);
    if (*p < 0)
        return ctl_rpc_err_set(m->e, -EINVAL, CTL_RPC_NOT_FOUND,
                               "VM \"%s\" has no NIC named \"%s\"",
                               m->cfg->vms[*v].name,
                               ctl__safe_str(name, sbuf, sizeof(sbuf)));
    return 0;
}

static int m_vm_nic_del(struct mctx *m)
{
    const struct ctl_config *cfg = m->cfg;
    const struct ctl_port *port;
    size_t n_fdb;
    int v, p, rc;

    if ((rc = want_vm_nic(m, &v, &p)) < 0)
        return rc;
    port = &cfg->ports[p];
    n_fdb = remove_statics_of(m, (uint32_t)p, 1);
    json_array_remove(json_object_get(doc_item(m, "vms", (uint32_t)v),
                                      "nics"), port->nic_idx);
    if (jset(m->result, "removed_fdb_static",
             json_integer((json_int_t)n_fdb)))
        return nomem(m);
    return 0;
}

/* vm.nic.set {vm, name, connected?, mac_spoofing?}: each one given is
 * written explicitly (true or false, so that the document says what was
 * asked); at least one. */
static int m_vm_nic_set(struct mctx *m)
{
    bool connected, spoofing;
    int v, p, rc, has_conn, has_spoof;

    if ((rc = want_vm_nic(m, &v, &p)) < 0)
        return rc;
    if ((has_conn = ctl_param_bool(m->params, "connected", false, &connected,
                                   m->e)) < 0)
        return has_conn;
    if ((has_spoof = ctl_param_bool(m->params, "mac_spoofing", false,
                                    &spoofing, m->e)) < 0)
        return has_spoof;
    if (!has_conn && !has_spoof)
        return ctl_rpc_err_set(m->e, -EINVAL, CTL_RPC_INVALID_PARAMS,
                               "missing parameter: give \"connected\" or "
                               "\"mac_spoofing\"");
    if ((has_conn && jset(doc_port_item(m, (uint32_t)p), "connected",
                          json_boolean(connected))) ||
        (has_spoof && jset(doc_port_item(m, (uint32_t)p), "mac_spoofing",
                           json_boolean(spoofing))))
        return nomem(m);
    return 0;
}
