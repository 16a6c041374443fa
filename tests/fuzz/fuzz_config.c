/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_config.c — libFuzzer target for the configuration document
 * (ctl_config_parse) and the configuration methods (ctl_mutate).
 *
 * Objective: no input crashes, leaks or trips a sanitizer; whatever the
 * parser accepts is consistent (indexes in range, names found by lookup,
 * VLAN objects survive print → parse, static entries are members of their
 * VLAN, the text round trip parses again), and every mutation of an
 * accepted document either fails cleanly — input untouched, no output, a
 * known error code and a message — or yields a document that parses.
 * The parsed result is pushed through everything downstream (STYLE 3.9).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "tools/ctl/ctl_config.h"
#include "tools/ctl/ctl_mutate.h"

#define CHECK(x)            \
    do {                    \
        if (!(x))           \
            abort();        \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ctl_config *parse_valid(const json_t *doc)
{
    struct ctl_config *cfg = NULL;
    struct vsa_errmsg em;

    CHECK(ctl_config_parse(doc, &cfg, &em) == 0);
    return cfg;
}

static void check_consistent(const json_t *doc, const struct ctl_config *cfg)
{
    struct vsa_errmsg em;

    for (uint32_t i = 0; i < cfg->n_switches; i++) {
        CHECK(ctl_switch_find(cfg, cfg->switches[i].name) == (int)i);
        CHECK(ctl_name_is_valid(cfg->switches[i].name));
        CHECK(strcmp(ctl_switch_type_name(cfg->switches[i].type), "?"));
    }
    for (uint32_t i = 0; i < cfg->n_ports; i++) {
        const struct ctl_port *p = &cfg->ports[i];
        struct vlan_port_mode m;
        json_t *v = ctl_vlan_to_json(&p->vlan);

        CHECK(ctl_port_find(cfg, p->name) == (int)i);
        CHECK(p->switch_idx < cfg->n_switches);
        CHECK(strcmp(ctl_port_class_name(p->cls), "?"));
        CHECK(v);
        CHECK(ctl_vlan_from_json(v, &m, &em) == 0);
        CHECK(m.mode == p->vlan.mode);
        if (m.mode == VLAN_MODE_ACCESS) {
            CHECK(m.access_vid == p->vlan.access_vid);
        } else {
            CHECK(m.native_vid == p->vlan.native_vid);
            CHECK(m.native_tagged == p->vlan.native_tagged);
            CHECK(memcmp(m.allowed, p->vlan.allowed, sizeof(m.allowed)) == 0);
        }
        json_decref(v);
    }
    for (uint32_t i = 0; i < cfg->n_fdb_static; i++) {
        const struct ctl_fdb_static *f = &cfg->fdb_static[i];
        struct vlan_port vp;

        CHECK(f->switch_idx < cfg->n_switches && f->port_idx < cfg->n_ports);
        CHECK(cfg->ports[f->port_idx].switch_idx == f->switch_idx);
        vlan_port_compile(&cfg->ports[f->port_idx].vlan, &vp);
        CHECK(vlan_bitmap_test(vp.member, f->vid));
        CHECK(!vsa_mac_is_multicast(&f->mac));
    }
    /* The stored form (sorted, indented) parses back to the same. */
    {
        char *text = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
        json_t *again;
        struct ctl_config *cfg2;

        CHECK(text);
        again = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
        CHECK(again && json_equal(again, doc));
        cfg2 = parse_valid(again);
        CHECK(cfg2->n_ports == cfg->n_ports);
        ctl_config_free(cfg2);
        json_decref(again);
        free(text);
    }
}

/* Runs one mutation (consumes params) and checks its contract. */
static void try_mutate(const json_t *doc, const char *method, json_t *params)
{
    json_t *newdoc = NULL, *result = NULL;
    struct ctl_rpc_err e = { 0, "" };
    char *before = json_dumps(doc, JSON_SORT_KEYS | JSON_COMPACT), *after;
    int rc;

    CHECK(before && params);
    rc = ctl_mutate(doc, method, params, &newdoc, &result, &e);
    after = json_dumps(doc, JSON_SORT_KEYS | JSON_COMPACT);
    CHECK(after && strcmp(before, after) == 0);
    if (rc == 0) {
        struct ctl_config *cfg;

        CHECK(newdoc && result);
        CHECK(json_is_true(json_object_get(result, "ok")));
        cfg = parse_valid(newdoc);
        check_consistent(newdoc, cfg);
        ctl_config_free(cfg);
    } else {
        CHECK(rc == -EINVAL);
        CHECK(!newdoc && !result);
        CHECK(e.msg[0]);
        CHECK(e.code == CTL_RPC_INVALID_PARAMS || e.code == CTL_RPC_NOT_FOUND ||
              e.code == CTL_RPC_EXISTS || e.code == CTL_RPC_RULE);
    }
    json_decref(newdoc);
    json_decref(result);
    json_decref(params);
    free(before);
    free(after);
}

/* The vm.* methods, and the port methods on a VM NIC's port. */
static void mutate_vms(const json_t *doc, const struct ctl_config *cfg,
                       const char *s0)
{
    const char *v0 = cfg->n_vms ? cfg->vms[0].name : "none";
    const struct ctl_port *n0 =
        cfg->n_vms && cfg->vms[0].n_nics ? &cfg->ports[cfg->vms[0].first_port]
                                         : NULL;
    const char *nic = n0 ? n0->nic : "none";

    try_mutate(doc, "vm.add", json_pack("{s:s}", "name", "fzvm"));
    try_mutate(doc, "vm.nic.add",
               json_pack("{s:s,s:s,s:s}", "vm", v0, "switch", s0, "type",
                         "synthetic"));
    try_mutate(doc, "vm.nic.add",
               json_pack("{s:s,s:s,s:s,s:s,s:s,s:{s:s,s:s},s:i}", "vm", v0,
                         "name", "fzn", "switch", s0, "type", "legacy",
                         "mac", "02:46:5a:00:00:02", "vlan", "mode", "trunk",
                         "allowed", "1-4094", "learn_limit", 16));
    try_mutate(doc, "vm.nic.set",
               json_pack("{s:s,s:s,s:b}", "vm", v0, "name", nic, "connected",
                         0));
    if (n0) {
        try_mutate(doc, "port.set",
                   json_pack("{s:s,s:{s:s,s:i}}", "name", n0->name, "vlan",
                             "mode", "access", "vid", 20));
        try_mutate(doc, "fdb.add",
                   json_pack("{s:s,s:i,s:s,s:s}", "switch",
                             cfg->switches[n0->switch_idx].name, "vlan",
                             n0->vlan.mode == VLAN_MODE_ACCESS
                                 ? (int)n0->vlan.access_vid
                                 : 1,
                             "mac", "02:46:5a:00:00:03", "port", n0->name));
        try_mutate(doc, "port.del", json_pack("{s:s}", "name", n0->name));
    }
    try_mutate(doc, "vm.nic.del",
               json_pack("{s:s,s:s}", "vm", v0, "name", nic));
    try_mutate(doc, "vm.del", json_pack("{s:s}", "name", v0));
}

static void mutate_all(const json_t *doc, const struct ctl_config *cfg)
{
    const char *s0 = cfg->n_switches ? cfg->switches[0].name : "none";
    const char *p0 = cfg->n_ports ? cfg->ports[0].name : "none";
    const char *ps = cfg->n_ports
                         ? cfg->switches[cfg->ports[0].switch_idx].name
                         : "none";
    int pvid = 1;

    if (cfg->n_ports && cfg->ports[0].vlan.mode == VLAN_MODE_ACCESS)
        pvid = cfg->ports[0].vlan.access_vid;

    try_mutate(doc, "switch.add",
               json_pack("{s:s,s:s}", "name", "fz0", "type", "private"));
    try_mutate(doc, "switch.add",
               json_pack("{s:s,s:s,s:s,s:b}", "name", "fz1", "type",
                         "external", "uplink", "fzeth", "management_os", 1));
    try_mutate(doc, "switch.set",
               json_pack("{s:s,s:i}", "name", s0, "fdb_max", 16));
    try_mutate(doc, "port.add",
               json_pack("{s:s,s:s,s:s,s:s}", "name", "fzp", "switch", s0,
                         "class", "dpdk", "devargs", "net_null_fz,no-rx=1"));
    try_mutate(doc, "port.set",
               json_pack("{s:s,s:{s:s,s:s,s:i}}", "name", p0, "vlan", "mode",
                         "trunk", "allowed", "1-4094", "native", 1));
    try_mutate(doc, "port.set",
               json_pack("{s:s,s:i}", "name", p0, "learn_limit", 16));
    /* a host vNIC's addresses and MTU (refused for other classes) */
    try_mutate(doc, "port.set",
               json_pack("{s:s,s:[s,s],s:i}", "name", p0, "addresses",
                         "10.46.0.1/24", "fd46::1/64", "mtu", 1280));
    try_mutate(doc, "port.set",
               json_pack("{s:s,s:[]}", "name", p0, "addresses"));
    try_mutate(doc, "fdb.add",
               json_pack("{s:s,s:i,s:s,s:s}", "switch", ps, "vlan", pvid,
                         "mac", "02:46:5a:00:00:01", "port", p0));
    if (cfg->n_fdb_static) {
        const struct ctl_fdb_static *f = &cfg->fdb_static[0];
        char mac[VSA_MAC_STRLEN];

        try_mutate(doc, "fdb.del",
                   json_pack("{s:s,s:i,s:s}", "switch",
                             cfg->switches[f->switch_idx].name, "vlan",
                             (int)f->vid, "mac",
                             vsa_mac_format(&f->mac, mac)));
    }
    try_mutate(doc, "port.del", json_pack("{s:s}", "name", p0));
    try_mutate(doc, "switch.del", json_pack("{s:s}", "name", s0));
    mutate_vms(doc, cfg, s0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ctl_config *cfg = NULL;
    struct vsa_errmsg em;
    json_error_t jerr;
    json_t *doc;
    int rc;

    if (size > (1u << 20))
        return 0;
    doc = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc)
        return 0;
    rc = ctl_config_parse(doc, &cfg, &em);
    if (rc != 0) {
        CHECK(rc == -EINVAL && em.msg[0] && !cfg);
        json_decref(doc);
        return 0;
    }
    check_consistent(doc, cfg);
    mutate_all(doc, cfg);
    ctl_config_free(cfg);
    json_decref(doc);
    return 0;
}
