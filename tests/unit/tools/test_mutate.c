/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_mutate.c — ctl_mutate: the mutating RPC methods (docs/rpc.md) as
 * pure functions over configuration documents.
 *
 * Objective: every method's happy path produces the documented document
 * (switch.add creates its uplink and host vNIC ports, switch.del and
 * port.del take their static entries with them, port.set replaces the vlan
 * object whole, new objects are canonical) and result; every error class
 * is reported with its code (-32601, -32602, -32001, -32002, -32003,
 * -32004) and a message naming the object as the client knows it, never
 * by its index in a document it did not see (port.del of a VM NIC or an
 * uplink names the vesperctl command and the method; port.set refused by
 * a static entry names the entry and the ways out); duplicates of switch,
 * port, devargs device and ifname are -32002; and after any failed mutation the
 * input document is byte-identical (json_dumps with JSON_SORT_KEYS before
 * and after) and no new document or result is returned.
 * VMs: vm.add / vm.del / vm.nic.add / vm.nic.del / vm.nic.set write
 * canonical objects
 * (a NIC's derived MAC is stored, skipping addresses in use), refuse
 * duplicates (VM, NIC, MAC, port name), dangling references, bad MACs and
 * unknown NIC types, take static entries with them; legacy NICs are added
 * like synthetic ones (VLAN, limit, MAC, static entries naming their
 * port); port.del, port.add and switch.del respect VM NICs of both types,
 * port.set edits a NIC's VLAN and limit.
 */
#include <errno.h>

#include "tests/unit/tools/tools_test.h"
#include "tools/ctl/ctl_config.h"
#include "tools/ctl/ctl_mutate.h"

/* Runs a mutation that must succeed; returns the new document and checks
 * that it is valid and that `doc` did not change. */
static json_t *mutate_ok(const json_t *doc, const char *method,
                         const char *params, json_t **result)
{
    json_t *p = params ? jq(params) : NULL, *newdoc = NULL, *res = NULL;
    struct ctl_config *cfg = NULL;
    struct ctl_rpc_err e = { 0, "" };
    struct vsa_errmsg em;
    char *before = jdump(doc), *after;
    int rc = ctl_mutate(doc, method, p, &newdoc, &res, &e);

    if (rc != 0)
        fail_msg("%s %s: rc %d code %d: %s", method, params ? params : "",
                 rc, e.code, e.msg);
    assert_non_null(newdoc);
    assert_non_null(res);
    assert_true(json_is_true(json_object_get(res, "ok")));
    after = jdump(doc);
    assert_string_equal(before, after);
    assert_int_equal(ctl_config_parse(newdoc, &cfg, &em), 0);
    ctl_config_free(cfg);
    free(before);
    free(after);
    json_decref(p);
    if (result)
        *result = res;
    else
        json_decref(res);
    return newdoc;
}

/* Document arrays: a message that names an object by its index in one
 * ("ports[3]") speaks of a document the client never saw. */
static const char *const doc_indexes[] = {
    "switches[", "ports[", "vms[", "nics[", "fdb_static[", NULL,
};

/* Runs a mutation that must fail with `code` and a message containing
 * `msg`, leaving `doc` byte-identical.  Unless the stored document itself
 * is at fault (-32004), the message names objects, not indexes. */
static void mutate_fail(const json_t *doc, const char *method,
                        const char *params, int code, const char *msg)
{
    json_t *p = params ? jq(params) : NULL;
    json_t *newdoc = (json_t *)doc, *res = (json_t *)doc;
    struct ctl_rpc_err e = { 0, "" };
    char *before = jdump(doc), *after;
    int rc = ctl_mutate(doc, method, p, &newdoc, &res, &e);

    if (rc == 0)
        fail_msg("%s %s: accepted", method, params ? params : "");
    assert_int_equal(rc, -EINVAL);
    if (e.code != code)
        fail_msg("%s %s: code %d, expected %d (%s)", method,
                 params ? params : "", e.code, code, e.msg);
    assert_substr(e.msg, msg);
    for (const char *const *ix = doc_indexes; code != CTL_RPC_SYSTEM && *ix;
         ix++)
        if (strstr(e.msg, *ix))
            fail_msg("%s %s: \"%s\" names a document index", method,
                     params ? params : "", e.msg);
    assert_null(newdoc);
    assert_null(res);
    after = jdump(doc);
    assert_string_equal(before, after);
    free(before);
    free(after);
    json_decref(p);
}

/* The object of array `key` whose "name" is `name`, or NULL. */
static json_t *find_named(const json_t *doc, const char *key,
                          const char *name)
{
    size_t i;
    json_t *v;

    json_array_foreach(json_object_get(doc, key), i, v)
        if (!strcmp(json_string_value(json_object_get(v, "name")), name))
            return v;
    return NULL;
}

static void assert_json(const json_t *j, const char *expected)
{
    json_t *e = jq(expected);

    if (!json_equal(j, e)) {
        char *a = jdump(j), *b = jdump(e);

        fail_msg("got %s\nexpected %s", a, b);
    }
    json_decref(e);
}

static void test_methods(void **state)
{
    (void)state;
    assert_true(ctl_method_is_mutating("switch.add"));
    assert_true(ctl_method_is_mutating("fdb.del"));
    assert_false(ctl_method_is_mutating("switch.list"));
    assert_false(ctl_method_is_mutating("config.get"));
    assert_false(ctl_method_is_mutating(""));
}

static void test_switch_add(void **state)
{
    json_t *doc = jq(TT_RICH_DOC), *d, *res;

    (void)state;
    d = mutate_ok(doc, "switch.add", "{'name':'p9','type':'private'}", &res);
    assert_json(find_named(d, "switches", "p9"),
                "{'name':'p9','type':'private','fdb_max':8192,'aging_s':300}");
    assert_json(res, "{'ok':true,'ports':[]}");
    assert_int_equal(json_array_size(json_object_get(d, "ports")), 5);
    json_decref(d);
    json_decref(res);

    d = mutate_ok(doc, "switch.add",
                  "{'name':'lab','type':'internal','addresses':['10.1.0.1/24'],"
                  "'mtu':1400,'fdb_max':16,'aging_s':10}", &res);
    assert_json(find_named(d, "switches", "lab"),
                "{'name':'lab','type':'internal','fdb_max':16,'aging_s':10}");
    assert_json(find_named(d, "ports", "lab"),
                "{'name':'lab','switch':'lab','class':'internal',"
                "'ifname':'lab','addresses':['10.1.0.1/24'],'mtu':1400,"
                "'vlan':{'mode':'access','vid':1},'learn_limit':0}");
    assert_json(res, "{'ok':true,'ports':['lab']}");
    json_decref(d);
    json_decref(res);

    d = mutate_ok(doc, "switch.add",
                  "{'name':'lab','type':'internal','host_ifname':'labtap'}",
                  NULL);
    assert_non_null(find_named(d, "ports", "labtap"));
    assert_null(find_named(d, "ports", "lab"));
    json_decref(d);

    d = mutate_ok(doc, "switch.add",
                  "{'name':'wan','type':'external','uplink':'eth1'}", &res);
    assert_json(find_named(d, "ports", "wan.uplink"),
                "{'name':'wan.uplink','switch':'wan','class':'uplink',"
                "'ifname':'eth1','vlan':{'mode':'access','vid':1},"
                "'learn_limit':0}");
    assert_json(res, "{'ok':true,'ports':['wan.uplink']}");
    assert_null(find_named(d, "ports", "wan-host"));
    json_decref(d);
    json_decref(res);

    d = mutate_ok(doc, "switch.add",
                  "{'name':'wan2','type':'external','management_os':true,"
                  "'uplink_devargs':'net_af_packet5,iface=eth5'}", &res);
    assert_json(find_named(d, "switches", "wan2"),
                "{'name':'wan2','type':'external','fdb_max':8192,"
                "'aging_s':300,'management_os':true}");
    assert_json(find_named(d, "ports", "wan2.uplink"),
                "{'name':'wan2.uplink','switch':'wan2','class':'uplink',"
                "'devargs':'net_af_packet5,iface=eth5',"
                "'vlan':{'mode':'access','vid':1},'learn_limit':0}");
    assert_json(find_named(d, "ports", "wan2-host"),
                "{'name':'wan2-host','switch':'wan2','class':'internal',"
                "'ifname':'wan2-host','addresses':[],'mtu':1500,"
                "'vlan':{'mode':'access','vid':1},'learn_limit':0}");
    assert_json(res, "{'ok':true,'ports':['wan2.uplink','wan2-host']}");
    json_decref(d);
    json_decref(res);

    /* Into a document that has no arrays at all. */
    {
        json_t *empty = jq("{'version':1}");

        d = mutate_ok(empty, "switch.add", "{'name':'s','type':'private'}",
                      NULL);
        assert_int_equal(json_array_size(json_object_get(d, "switches")), 1);
        json_decref(d);
        json_decref(empty);
    }
    json_decref(doc);
}

static void test_switch_add_errors(void **state)
{
    json_t *doc = jq(TT_RICH_DOC);

    (void)state;
    mutate_fail(doc, "switch.add", "{'type':'private'}",
                CTL_RPC_INVALID_PARAMS, "missing parameter \"name\"");
    mutate_fail(doc, "switch.add", "{'name':'a b','type':'private'}",
                CTL_RPC_INVALID_PARAMS, "parameter \"name\": \"a b\" is not a "
                "valid name");
    mutate_fail(doc, "switch.add", "{'name':'s','type':'hub'}",
                CTL_RPC_INVALID_PARAMS, "parameter \"type\": \"hub\"");
    mutate_fail(doc, "switch.add", "{'name':'s','type':'private','fdb_max':15}",
                CTL_RPC_INVALID_PARAMS,
                "parameter \"fdb_max\": 15 is outside 16..1048576");
    mutate_fail(doc, "switch.add",
                "{'name':'s','type':'private','aging_s':'x'}",
                CTL_RPC_INVALID_PARAMS,
                "parameter \"aging_s\": expected an integer, got string");
    mutate_fail(doc, "switch.add",
                "{'name':'s','type':'private','management_os':true}",
                CTL_RPC_INVALID_PARAMS,
                "parameter \"management_os\": only for type external");
    mutate_fail(doc, "switch.add", "{'name':'s','type':'external'}",
                CTL_RPC_INVALID_PARAMS,
                "exactly one of parameters \"uplink\" and \"uplink_devargs\"");
    mutate_fail(doc, "switch.add",
                "{'name':'s','type':'external','uplink':'eth9',"
                "'uplink_devargs':'net_ring9'}", CTL_RPC_INVALID_PARAMS,
                "exactly one of parameters");
    mutate_fail(doc, "switch.add",
                "{'name':'s','type':'private','uplink':'eth9'}",
                CTL_RPC_INVALID_PARAMS,
                "parameter \"uplink\": only for type external");
    mutate_fail(doc, "switch.add",
                "{'name':'s','type':'external','uplink':'eth9/1'}",
                CTL_RPC_INVALID_PARAMS,
                "parameter \"uplink\": \"eth9/1\" is not a valid interface");
    mutate_fail(doc, "switch.add",
                "{'name':'s','type':'private','host_ifname':'t'}",
                CTL_RPC_INVALID_PARAMS, "parameter \"host_ifname\": only for "
                "an internal switch");
    mutate_fail(doc, "switch.add",
                "{'name':'s','type':'external','uplink':'eth9','mtu':1500}",
                CTL_RPC_INVALID_PARAMS, "parameter \"mtu\": only for");
    mutate_fail(doc, "switch.add",
                "{'name':'s','type':'internal','mtu':67}",
                CTL_RPC_INVALID_PARAMS, "parameter \"mtu\": 67 is outside");
    mutate_fail(doc, "switch.add",
                "{'name':'s','type':'internal','mtu':9000}",
                CTL_RPC_INVALID_PARAMS,
                "parameter \"mtu\": 9000 is outside 68..1500");
    mutate_fail(doc, "switch.add",
                "{'name':'s','type':'internal','addresses':'10.0.0.1/8'}",
                CTL_RPC_INVALID_PARAMS,
                "parameter \"addresses\": expected an array");
    mutate_fail(doc, "switch.add",
                "{'name':'s','type':'internal','addresses':['10.0.0.1']}",
                CTL_RPC_INVALID_PARAMS,
                "addresses[0]: \"10.0.0.1\" is not an IPv4 or IPv6 CIDR");
    mutate_fail(doc, "switch.add",
                "{'name':'abcdefghijklmnopqrstuvwxy','type':'external',"
                "'uplink':'eth9'}", CTL_RPC_INVALID_PARAMS,
                "too long to name its uplink port");
    mutate_fail(doc, "switch.add",
                "{'name':'abcdefghijklmnop','type':'internal'}",
                CTL_RPC_INVALID_PARAMS, "missing parameter \"host_ifname\": "
                "the default \"abcdefghijklmnop\" is not a valid interface");
    mutate_fail(doc, "switch.add",
                "{'name':'abcdefghijk','type':'external','uplink':'eth9',"
                "'management_os':true}", CTL_RPC_INVALID_PARAMS,
                "the default \"abcdefghijk-host\"");
    mutate_fail(doc, "switch.add",
                "{'name':'s','type':'private','colour':'red'}",
                CTL_RPC_INVALID_PARAMS, "unknown parameter \"colour\"");
    /* duplicates: -32002 */
    mutate_fail(doc, "switch.add", "{'name':'priv','type':'private'}",
                CTL_RPC_EXISTS, "switch \"priv\" exists already");
    mutate_fail(doc, "switch.add", "{'name':'p1','type':'internal'}",
                CTL_RPC_EXISTS, "port \"p1\" exists already");
    mutate_fail(doc, "switch.add",
                "{'name':'s','type':'internal','host_ifname':'vesper0'}",
                CTL_RPC_EXISTS, "port \"vesper0\" exists already");
    mutate_fail(doc, "switch.add",
                "{'name':'s','type':'external','uplink':'eth0'}",
                CTL_RPC_EXISTS, "port \"s.uplink\": ifname: \"eth0\" is "
                "already used by port \"ext.uplink\"");
    mutate_fail(doc, "switch.add",
                "{'name':'s','type':'external','uplink_devargs':"
                "'net_ring0,x=1'}", CTL_RPC_EXISTS,
                "port \"s.uplink\": devargs: device \"net_ring0\" is already "
                "used by port \"p1\"");
    {
        json_t *d = mutate_ok(doc, "port.add",
                              "{'name':'x.uplink','switch':'priv',"
                              "'class':'dpdk','devargs':'net_null7,no-rx=1'}", NULL);

        mutate_fail(d, "switch.add",
                    "{'name':'x','type':'external','uplink':'eth7'}",
                    CTL_RPC_EXISTS, "port \"x.uplink\" exists already");
        json_decref(d);
    }
    json_decref(doc);
}

static void test_switch_del(void **state)
{
    json_t *doc = jq(TT_RICH_DOC), *d, *res;

    (void)state;
    d = mutate_ok(doc, "switch.del", "{'name':'ext'}", &res);
    assert_null(find_named(d, "switches", "ext"));
    assert_null(find_named(d, "ports", "ext.uplink"));
    assert_null(find_named(d, "ports", "ext-host"));
    assert_int_equal(json_array_size(json_object_get(d, "fdb_static")), 1);
    assert_json(res, "{'ok':true,'removed_ports':['ext-host','ext.uplink'],"
                     "'removed_fdb_static':1}");
    json_decref(res);
    json_decref(d);

    d = mutate_ok(doc, "switch.del", "{'name':'default'}", NULL);
    assert_null(find_named(d, "ports", "vesper0"));
    assert_int_equal(json_array_size(json_object_get(d, "switches")), 2);
    json_decref(d);

    mutate_fail(doc, "switch.del", "{'name':'priv'}", CTL_RPC_RULE,
                "switch \"priv\" still has ports attached (p1, p2); delete "
                "them first: a port with 'vesperctl port del PORT' (RPC "
                "port.del)");
    /* Many long names: whole names, and how many more (bug: the list
     * was cut inside a name, with nothing saying so). */
    {
        json_t *d1 = json_incref(doc), *d2;
        char params[160];

        for (int i = 0; i < 10; i++) {
            snprintf(params, sizeof(params), "{'name':'port-with-a-long-"
                     "name-000000%02d','switch':'priv','class':'dpdk',"
                     "'devargs':'net_null%d,no-rx=1'}", i, 20 + i);
            d2 = mutate_ok(d1, "port.add", params, NULL);
            json_decref(d1);
            d1 = d2;
        }
        mutate_fail(d1, "switch.del", "{'name':'priv'}", CTL_RPC_RULE,
                    "(p1, p2, port-with-a-long-name-00000000, "
                    "port-with-a-long-name-00000001, "
                    "port-with-a-long-name-00000002, "
                    "port-with-a-long-name-00000003, "
                    "port-with-a-long-name-00000004, "
                    "port-with-a-long-name-00000005, "
                    "port-with-a-long-name-00000006 and 3 more); delete");
        json_decref(d1);
    }
    mutate_fail(doc, "switch.del", "{'name':'nope'}", CTL_RPC_NOT_FOUND,
                "switch \"nope\" does not exist");
    mutate_fail(doc, "switch.del", NULL, CTL_RPC_INVALID_PARAMS,
                "missing parameter \"name\"");
    mutate_fail(doc, "switch.del", "{'name':5}", CTL_RPC_INVALID_PARAMS,
                "parameter \"name\": expected a string, got integer");
    /* Empty the private switch, then it goes. */
    {
        json_t *d1 = mutate_ok(doc, "port.del", "{'name':'p1'}", NULL);
        json_t *d2 = mutate_ok(d1, "port.del", "{'name':'p2'}", NULL);
        json_t *d3 = mutate_ok(d2, "switch.del", "{'name':'priv'}", &res);

        assert_json(res, "{'ok':true,'removed_ports':[],"
                         "'removed_fdb_static':0}");
        assert_null(find_named(d3, "switches", "priv"));
        json_decref(res);
        json_decref(d1);
        json_decref(d2);
        json_decref(d3);
    }
    json_decref(doc);
}

static void test_switch_set(void **state)
{
    json_t *doc = jq(TT_RICH_DOC), *d;

    (void)state;
    d = mutate_ok(doc, "switch.set", "{'name':'priv','fdb_max':2048}", NULL);
    assert_json(find_named(d, "switches", "priv"),
                "{'name':'priv','type':'private','fdb_max':2048}");
    json_decref(d);
    d = mutate_ok(doc, "switch.set",
                  "{'name':'ext','fdb_max':100,'aging_s':1000000}", NULL);
    assert_json(find_named(d, "switches", "ext"),
                "{'name':'ext','type':'external','management_os':true,"
                "'fdb_max':100,'aging_s':1000000}");
    json_decref(d);
    mutate_fail(doc, "switch.set", "{'name':'nope','fdb_max':100}",
                CTL_RPC_NOT_FOUND, "switch \"nope\" does not exist");
    mutate_fail(doc, "switch.set", "{'name':'priv'}", CTL_RPC_INVALID_PARAMS,
                "give \"fdb_max\" and/or \"aging_s\"");
    mutate_fail(doc, "switch.set", "{'name':'priv','aging_s':5}",
                CTL_RPC_INVALID_PARAMS,
                "parameter \"aging_s\": 5 is outside 10..1000000");
    mutate_fail(doc, "switch.set", "{'name':'priv','type':'internal'}",
                CTL_RPC_INVALID_PARAMS, "unknown parameter \"type\"");
    /* p2 has learn_limit 100: the switch cannot shrink below it. */
    mutate_fail(doc, "switch.set", "{'name':'priv','fdb_max':99}",
                CTL_RPC_RULE, "port \"p2\": learn_limit: 100 exceeds "
                "fdb_max 99 of switch \"priv\"");
    json_decref(doc);
}

static void test_port_add(void **state)
{
    json_t *doc = jq(TT_RICH_DOC), *d;

    (void)state;
    mutate_fail(doc, "port.add", "{'name':'p3','switch':'priv','class':'dpdk',"
                "'devargs':'net_tap0','vlan':{'mode':'trunk','allowed':'20-10'}}",
                CTL_RPC_INVALID_PARAMS, "vlan.allowed:");
    /* A VLAN set written oddly is stored canonically. */
    d = mutate_ok(doc, "port.add",
                  "{'name':'p3','switch':'priv','class':'dpdk',"
                  "'devargs':'net_tap0,iface=t0','learn_limit':5,"
                  "'vlan':{'mode':'trunk','allowed':'15,10-14,16-20',"
                  "'native':10}}", NULL);
    assert_json(find_named(d, "ports", "p3"),
                "{'name':'p3','switch':'priv','class':'dpdk',"
                "'devargs':'net_tap0,iface=t0','learn_limit':5,"
                "'vlan':{'mode':'trunk','allowed':'10-20','native':10,"
                "'native_tagged':false}}");
    json_decref(d);
    d = mutate_ok(doc, "port.add", "{'name':'p4','switch':'priv',"
                  "'class':'dpdk','devargs':'0000:03:00.0'}", NULL);
    assert_json(find_named(d, "ports", "p4"),
                "{'name':'p4','switch':'priv','class':'dpdk',"
                "'devargs':'0000:03:00.0','learn_limit':0,"
                "'vlan':{'mode':'access','vid':1}}");
    json_decref(d);

    mutate_fail(doc, "port.add", "{'name':'p3','switch':'nope','class':'dpdk',"
                "'devargs':'net_null3,no-rx=1'}", CTL_RPC_NOT_FOUND,
                "switch \"nope\" does not exist");
    mutate_fail(doc, "port.add", "{'name':'p3','switch':'priv','class':'uplink',"
                "'ifname':'eth3'}", CTL_RPC_INVALID_PARAMS,
                "uplink ports are created by switch.add");
    mutate_fail(doc, "port.add", "{'name':'p3','switch':'priv',"
                "'class':'virtio'}", CTL_RPC_INVALID_PARAMS,
                "parameter \"class\": \"virtio\" is not");
    mutate_fail(doc, "port.add", "{'name':'p3','switch':'priv','class':'dpdk'}",
                CTL_RPC_INVALID_PARAMS, "missing parameter \"devargs\"");
    mutate_fail(doc, "port.add", "{'name':'p3','switch':'priv','class':'dpdk',"
                "'devargs':'net_null3,no-rx=1','ifname':'x'}", CTL_RPC_INVALID_PARAMS,
                "parameter \"ifname\": only for class internal");
    mutate_fail(doc, "port.add", "{'name':'p3','switch':'default',"
                "'class':'internal','ifname':'t3','devargs':'net_tap3'}",
                CTL_RPC_INVALID_PARAMS,
                "parameter \"devargs\": only for class dpdk");
    mutate_fail(doc, "port.add", "{'name':'p3','switch':'default',"
                "'class':'internal'}", CTL_RPC_INVALID_PARAMS,
                "missing parameter \"ifname\"");
    mutate_fail(doc, "port.add", "{'name':'p3','switch':'priv','class':'dpdk',"
                "'devargs':'net null'}", CTL_RPC_INVALID_PARAMS,
                "contains a space");
    mutate_fail(doc, "port.add", "{'name':'p3','switch':'priv','class':'dpdk',"
                "'devargs':'net_null3,no-rx=1','vlan':{'mode':'access','vid':5000}}",
                CTL_RPC_INVALID_PARAMS, "vlan.vid: 5000 is outside 1..4094");
    mutate_fail(doc, "port.add", "{'name':'p3','switch':'priv','class':'dpdk',"
                "'devargs':'net_null3,no-rx=1','vlan':'access'}",
                CTL_RPC_INVALID_PARAMS,
                "parameter \"vlan\": expected an object, got string");
    mutate_fail(doc, "port.add", "{'name':'p3','switch':'priv','class':'dpdk',"
                "'devargs':'net_null3,no-rx=1','learn_limit':1025}", CTL_RPC_RULE,
                "learn_limit: 1025 exceeds fdb_max 1024");
    /* duplicates */
    mutate_fail(doc, "port.add", "{'name':'p1','switch':'priv','class':'dpdk',"
                "'devargs':'net_null3,no-rx=1'}", CTL_RPC_EXISTS,
                "port \"p1\" exists already");
    mutate_fail(doc, "port.add", "{'name':'p3','switch':'priv','class':'dpdk',"
                "'devargs':'NET_RING0,iface=x'}", CTL_RPC_EXISTS,
                "port \"p3\": devargs: device \"NET_RING0\" is already used "
                "by port \"p1\"");
    mutate_fail(doc, "port.add", "{'name':'p3','switch':'default',"
                "'class':'internal','ifname':'eth0'}", CTL_RPC_EXISTS,
                "port \"p3\": ifname: \"eth0\" is already used by port "
                "\"ext.uplink\"");
    /* membership rules */
    mutate_fail(doc, "port.add", "{'name':'p3','switch':'default',"
                "'class':'internal','ifname':'t3'}", CTL_RPC_RULE,
                "an internal switch needs exactly one internal port (the host "
                "vNIC), it has 2");
    mutate_fail(doc, "port.add", "{'name':'p3','switch':'priv',"
                "'class':'internal','ifname':'t3'}", CTL_RPC_RULE,
                "class internal is not allowed on private switch \"priv\"");
    json_decref(doc);
}

static void test_port_del(void **state)
{
    json_t *doc = jq(TT_RICH_DOC), *d, *res;

    (void)state;
    d = mutate_ok(doc, "port.del", "{'name':'p2'}", &res);
    assert_null(find_named(d, "ports", "p2"));
    assert_int_equal(json_array_size(json_object_get(d, "fdb_static")), 1);
    assert_json(res, "{'ok':true,'removed_fdb_static':1}");
    json_decref(res);
    json_decref(d);
    d = mutate_ok(doc, "port.del", "{'name':'p1'}", &res);
    assert_json(res, "{'ok':true,'removed_fdb_static':0}");
    assert_int_equal(json_array_size(json_object_get(d, "fdb_static")), 2);
    json_decref(res);
    json_decref(d);

    mutate_fail(doc, "port.del", "{'name':'p9'}", CTL_RPC_NOT_FOUND,
                "port \"p9\" does not exist");
    mutate_fail(doc, "port.del", "{'name':'ext.uplink'}", CTL_RPC_RULE,
                "port \"ext.uplink\" is the uplink of switch \"ext\" and "
                "goes only with it ('vesperctl switch del ext', RPC "
                "switch.del)");
    mutate_fail(doc, "port.del", "{'name':'vesper0'}", CTL_RPC_RULE,
                "port \"vesper0\" is the host vNIC of switch \"default\" "
                "and goes only with it ('vesperctl switch del default', RPC "
                "switch.del)");
    mutate_fail(doc, "port.del", "{'name':'p1','force':true}",
                CTL_RPC_INVALID_PARAMS, "unknown parameter \"force\"");
    json_decref(doc);
}

static void test_port_set(void **state)
{
    json_t *doc = jq(TT_RICH_DOC), *d;

    (void)state;
    d = mutate_ok(doc, "port.set", "{'name':'p1','vlan':{'mode':'trunk',"
                  "'allowed':'100-200','native':7,'native_tagged':true},"
                  "'learn_limit':10}", NULL);
    assert_json(find_named(d, "ports", "p1"),
                "{'name':'p1','switch':'priv','class':'dpdk',"
                "'devargs':'net_ring0','learn_limit':10,"
                "'vlan':{'mode':'trunk','allowed':'100-200','native':7,"
                "'native_tagged':true}}");
    json_decref(d);
    /* The static entry in VLAN 200 pins that VLAN on the uplink: the
     * message names the entry and the ways out, in CLI and RPC terms. */
    mutate_fail(doc, "port.set", "{'name':'ext.uplink','vlan':{'mode':"
                "'access','vid':1}}", CTL_RPC_RULE,
                "static FDB entry 02:00:00:00:00:02 in VLAN 200 on port "
                "\"ext.uplink\" needs the port in VLAN 200: delete the entry "
                "first ('vesperctl fdb del ext --vlan 200 --mac "
                "02:00:00:00:00:02', RPC fdb.del) or keep VLAN 200");
    /* vlan is replaced whole: absent trunk keys take their defaults. */
    d = mutate_ok(doc, "port.set", "{'name':'ext.uplink','vlan':{'mode':"
                  "'trunk','allowed':'200'}}", NULL);
    assert_json(json_object_get(find_named(d, "ports", "ext.uplink"), "vlan"),
                "{'mode':'trunk','allowed':'200','native':0,"
                "'native_tagged':false}");
    json_decref(d);
    d = mutate_ok(doc, "port.set", "{'name':'p2','learn_limit':0}", NULL);
    assert_int_equal(json_integer_value(json_object_get(
                         find_named(d, "ports", "p2"), "learn_limit")), 0);
    json_decref(d);

    mutate_fail(doc, "port.set", "{'name':'p9','learn_limit':1}",
                CTL_RPC_NOT_FOUND, "port \"p9\" does not exist");
    mutate_fail(doc, "port.set", "{'name':'p1'}", CTL_RPC_INVALID_PARAMS,
                "give \"vlan\", \"learn_limit\" and/or (a host vNIC's) "
                "\"addresses\" or \"mtu\"");
    mutate_fail(doc, "port.set", "{'name':'p2','vlan':{'mode':'access',"
                "'vid':30}}", CTL_RPC_RULE,
                "static FDB entry 02:00:00:00:00:01 in VLAN 20 on port "
                "\"p2\" needs the port in VLAN 20");
    mutate_fail(doc, "port.set", "{'name':'p1','vlan':{'mode':'trunk',"
                "'native_tagged':true}}", CTL_RPC_INVALID_PARAMS,
                "vlan.native_tagged: needs a native VLAN");
    mutate_fail(doc, "port.set", "{'name':'p1','learn_limit':1048577}",
                CTL_RPC_INVALID_PARAMS,
                "parameter \"learn_limit\": 1048577 is outside 0..1048576");
    mutate_fail(doc, "port.set", "{'name':'p1','learn_limit':2000}",
                CTL_RPC_RULE, "learn_limit: 2000 exceeds fdb_max 1024");
    mutate_fail(doc, "port.set", "{'name':'p1','switch':'default'}",
                CTL_RPC_INVALID_PARAMS, "unknown parameter \"switch\"");
    json_decref(doc);
}

/* A host vNIC's addresses and MTU change in place: addresses replaced
 * whole, [] for none; any other class is refused, naming it. */
static void test_port_set_host_vnic(void **state)
{
    json_t *doc = jq(TT_RICH_DOC), *d, *p;

    (void)state;
    d = mutate_ok(doc, "port.set", "{'name':'vesper0','addresses':"
                  "['10.1.0.1/24','fd00::1/64'],'mtu':1400}", NULL);
    p = find_named(d, "ports", "vesper0");
    assert_json(json_object_get(p, "addresses"), "['10.1.0.1/24','fd00::1/64']");
    assert_int_equal(json_integer_value(json_object_get(p, "mtu")), 1400);
    json_decref(d);
    d = mutate_ok(doc, "port.set", "{'name':'vesper0','addresses':[]}", NULL);
    p = find_named(d, "ports", "vesper0");
    assert_json(json_object_get(p, "addresses"), "[]");
    assert_int_equal(json_integer_value(json_object_get(p, "mtu")), 1500);
    json_decref(d);
    d = mutate_ok(doc, "port.set", "{'name':'vesper0','mtu':1280,"
                  "'vlan':{'mode':'access','vid':5}}", NULL);
    p = find_named(d, "ports", "vesper0");
    assert_int_equal(json_integer_value(json_object_get(p, "mtu")), 1280);
    assert_json(json_object_get(p, "addresses"),
                "['192.168.100.1/24','fd00::1/64']");
    json_decref(d);
    d = mutate_ok(doc, "port.set", "{'name':'vesper0','mtu':68,"
                  "'addresses':['10.1.0.1/24']}", NULL);
    p = find_named(d, "ports", "vesper0");
    assert_int_equal(json_integer_value(json_object_get(p, "mtu")), 68);
    json_decref(d);
    /* below 1280 the kernel takes IPv6 addresses away: an IPv6 address
     * kept from before is named */
    mutate_fail(doc, "port.set", "{'name':'vesper0','mtu':1279}",
                CTL_RPC_RULE,
                "addresses[1]: \"fd00::1/64\" is IPv6, which needs mtu "
                "1280 or more (mtu is 1279)");
    /* only the addresses vesperd replaces (common/vsa_addr.h) */
    mutate_fail(doc, "port.set", "{'name':'vesper0','addresses':"
                "['10.0.0.1/8','fe80::5/64']}", CTL_RPC_INVALID_PARAMS,
                "addresses[1]: \"fe80::5/64\" is a link-local address");
    mutate_fail(doc, "port.set", "{'name':'vesper0','addresses':"
                "['0.0.0.0/0']}", CTL_RPC_INVALID_PARAMS,
                "addresses[0]: \"0.0.0.0/0\" is on a /0 prefix");

    mutate_fail(doc, "port.set", "{'name':'vesper0','mtu':1501}",
                CTL_RPC_INVALID_PARAMS,
                "parameter \"mtu\": 1501 is outside 68..1500");
    mutate_fail(doc, "port.set", "{'name':'vesper0','addresses':'10.0.0.1/8'}",
                CTL_RPC_INVALID_PARAMS, "parameter \"addresses\"");
    mutate_fail(doc, "port.set", "{'name':'vesper0','addresses':['10.0.0.1']}",
                CTL_RPC_INVALID_PARAMS, "is not an IPv4 or IPv6 CIDR");
    mutate_fail(doc, "port.set", "{'name':'vesper0','addresses':"
                "['10.0.0.1/8','10.0.0.1/16']}", CTL_RPC_EXISTS,
                "repeats the address of");
    mutate_fail(doc, "port.set", "{'name':'p1','mtu':1400}",
                CTL_RPC_INVALID_PARAMS,
                "parameter \"mtu\": only for a host vNIC (class internal); "
                "port \"p1\" is class dpdk");
    mutate_fail(doc, "port.set", "{'name':'ext.uplink','addresses':[]}",
                CTL_RPC_INVALID_PARAMS,
                "parameter \"addresses\": only for a host vNIC (class "
                "internal); port \"ext.uplink\" is class uplink");
    json_decref(doc);
}

static void test_fdb(void **state)
{
    json_t *doc = jq(TT_RICH_DOC), *d, *d2, *res;

    (void)state;
    d = mutate_ok(doc, "fdb.add", "{'switch':'priv','vlan':1,"
                  "'mac':'02-AA-BB-CC-DD-EE','port':'p1'}", &res);
    assert_json(res, "{'ok':true}");
    assert_json(json_array_get(json_object_get(d, "fdb_static"), 2),
                "{'switch':'priv','vlan':1,'mac':'02:aa:bb:cc:dd:ee',"
                "'port':'p1'}");
    json_decref(res);
    /* A static entry on a trunk port's allowed VLAN. */
    d2 = mutate_ok(d, "fdb.add", "{'switch':'ext','vlan':50,"
                   "'mac':'02:aa:bb:cc:dd:ee','port':'ext.uplink'}", NULL);
    json_decref(d2);
    mutate_fail(d, "fdb.add", "{'switch':'priv','vlan':1,"
                "'mac':'02:aa:bb:cc:dd:ee','port':'p1'}", CTL_RPC_EXISTS,
                "static FDB entry (switch \"priv\", vlan 1, mac "
                "02:aa:bb:cc:dd:ee) exists already");
    d2 = mutate_ok(d, "fdb.del", "{'switch':'priv','vlan':1,"
                   "'mac':'02:AA:BB:CC:DD:EE'}", &res);
    assert_json(res, "{'ok':true}");
    assert_true(json_equal(d2, doc));
    json_decref(res);
    json_decref(d2);
    json_decref(d);

    mutate_fail(doc, "fdb.add", "{'switch':'nope','vlan':1,"
                "'mac':'02:00:00:00:00:09','port':'p1'}", CTL_RPC_NOT_FOUND,
                "switch \"nope\" does not exist");
    mutate_fail(doc, "fdb.add", "{'switch':'priv','vlan':1,"
                "'mac':'02:00:00:00:00:09','port':'p9'}", CTL_RPC_NOT_FOUND,
                "port \"p9\" does not exist");
    mutate_fail(doc, "fdb.add", "{'switch':'priv','vlan':1,"
                "'mac':'02:00:00:00:00','port':'p1'}", CTL_RPC_INVALID_PARAMS,
                "parameter \"mac\": \"02:00:00:00:00\" is not a MAC address");
    mutate_fail(doc, "fdb.add", "{'switch':'priv','vlan':1,"
                "'mac':'01:00:5e:00:00:01','port':'p1'}",
                CTL_RPC_INVALID_PARAMS,
                "01:00:5e:00:00:01 is not a unicast station address");
    mutate_fail(doc, "fdb.add", "{'switch':'priv','vlan':1,"
                "'mac':'00:00:00:00:00:00','port':'p1'}",
                CTL_RPC_INVALID_PARAMS, "is not a unicast station address");
    mutate_fail(doc, "fdb.add", "{'switch':'priv','vlan':0,"
                "'mac':'02:00:00:00:00:09','port':'p1'}",
                CTL_RPC_INVALID_PARAMS,
                "parameter \"vlan\": 0 is outside 1..4094");
    mutate_fail(doc, "fdb.add", "{'switch':'priv','vlan':1,"
                "'mac':'02:00:00:00:00:09'}", CTL_RPC_INVALID_PARAMS,
                "missing parameter \"port\"");
    mutate_fail(doc, "fdb.add", "{'switch':'priv','vlan':20,"
                "'mac':'02:00:00:00:00:01','port':'p2'}", CTL_RPC_EXISTS,
                "exists already");
    mutate_fail(doc, "fdb.add", "{'switch':'priv','vlan':1,"
                "'mac':'02:00:00:00:00:09','port':'vesper0'}", CTL_RPC_RULE,
                "port \"vesper0\" is on switch \"default\", not \"priv\"");
    mutate_fail(doc, "fdb.add", "{'switch':'priv','vlan':2,"
                "'mac':'02:00:00:00:00:09','port':'p1'}", CTL_RPC_RULE,
                "port \"p1\" is not a member of VLAN 2");
    mutate_fail(doc, "fdb.add", "{'switch':'ext','vlan':150,"
                "'mac':'02:00:00:00:00:09','port':'ext.uplink'}", CTL_RPC_RULE,
                "port \"ext.uplink\" is not a member of VLAN 150");

    mutate_fail(doc, "fdb.del", "{'switch':'priv','vlan':21,"
                "'mac':'02:00:00:00:00:01'}", CTL_RPC_NOT_FOUND,
                "no static FDB entry (switch \"priv\", vlan 21, mac "
                "02:00:00:00:00:01)");
    mutate_fail(doc, "fdb.del", "{'switch':'nope','vlan':1,"
                "'mac':'02:00:00:00:00:01'}", CTL_RPC_NOT_FOUND,
                "switch \"nope\" does not exist");
    mutate_fail(doc, "fdb.del", "{'switch':'priv','vlan':1,'mac':'zz'}",
                CTL_RPC_INVALID_PARAMS, "parameter \"mac\": \"zz\"");
    mutate_fail(doc, "fdb.del", "{'switch':'priv','vlan':1,"
                "'mac':'02:00:00:00:00:01','port':'p1'}",
                CTL_RPC_INVALID_PARAMS, "unknown parameter \"port\"");
    json_decref(doc);
}

/* The object of NIC `nic` of VM `vm` in a document, or NULL. */
static json_t *find_nic(const json_t *doc, const char *vm, const char *nic)
{
    json_t *v = find_named(doc, "vms", vm);
    size_t i;
    json_t *n;

    json_array_foreach(json_object_get(v, "nics"), i, n)
        if (!strcmp(json_string_value(json_object_get(n, "name")), nic))
            return n;
    return NULL;
}

static void test_vm_add_del(void **state)
{
    json_t *doc = jq(TT_VM_DOC), *d, *res;

    (void)state;
    assert_true(ctl_method_is_mutating("vm.add"));
    assert_true(ctl_method_is_mutating("vm.nic.del"));
    assert_true(ctl_method_is_mutating("vm.nic.set"));
    assert_false(ctl_method_is_mutating("vm.list"));
    assert_false(ctl_method_is_mutating("vm.show"));

    d = mutate_ok(doc, "vm.add", "{'name':'vm3'}", &res);
    assert_json(find_named(d, "vms", "vm3"), "{'name':'vm3','nics':[]}");
    assert_json(res, "{'ok':true}");
    json_decref(res);
    json_decref(d);
    {
        json_t *empty = jq("{'version':1}");

        d = mutate_ok(empty, "vm.add", "{'name':'a'}", NULL);
        assert_int_equal(json_array_size(json_object_get(d, "vms")), 1);
        json_decref(d);
        json_decref(empty);
    }
    mutate_fail(doc, "vm.add", "{'name':'vm1'}", CTL_RPC_EXISTS,
                "VM \"vm1\" exists already");
    mutate_fail(doc, "vm.add", "{'name':'v m'}", CTL_RPC_INVALID_PARAMS,
                "parameter \"name\": \"v m\" is not a valid name");
    mutate_fail(doc, "vm.add", "{}", CTL_RPC_INVALID_PARAMS,
                "missing parameter \"name\"");
    mutate_fail(doc, "vm.add", "{'name':'v','nics':[]}",
                CTL_RPC_INVALID_PARAMS, "unknown parameter \"nics\"");

    /* vm.del takes its NICs and the static entries naming them */
    d = mutate_ok(doc, "vm.del", "{'name':'vm1'}", &res);
    assert_null(find_named(d, "vms", "vm1"));
    assert_non_null(find_named(d, "vms", "vm2"));
    assert_int_equal(json_array_size(json_object_get(d, "fdb_static")), 0);
    assert_json(res, "{'ok':true,'removed_ports':['vm1.eth0','vm1.eth1'],"
                     "'removed_fdb_static':1}");
    json_decref(res);
    json_decref(d);
    d = mutate_ok(doc, "vm.del", "{'name':'vm2'}", &res);
    assert_json(res, "{'ok':true,'removed_ports':[],'removed_fdb_static':0}");
    json_decref(res);
    json_decref(d);
    mutate_fail(doc, "vm.del", "{'name':'vm9'}", CTL_RPC_NOT_FOUND,
                "VM \"vm9\" does not exist");
    json_decref(doc);
}

static void test_vm_nic_add(void **state)
{
    json_t *doc = jq(TT_VM_DOC), *d, *d2, *res;
    struct vsa_mac m;
    char mac[VSA_MAC_STRLEN], want[256];

    (void)state;
    /* defaults: first free name, derived MAC, access VLAN 1, no limit */
    d = mutate_ok(doc, "vm.nic.add",
                  "{'vm':'vm2','switch':'priv','type':'synthetic'}", &res);
    ctl_vm_nic_mac("vm2", "nic0", 0, &m);
    vsa_mac_format(&m, mac);
    snprintf(want, sizeof(want), "{'name':'nic0','type':'synthetic',"
             "'switch':'priv','mac':'%s','vlan':{'mode':'access','vid':1},"
             "'learn_limit':0}", mac);
    assert_json(find_nic(d, "vm2", "nic0"), want);
    snprintf(want, sizeof(want), "{'ok':true,'name':'nic0',"
             "'port':'vm2.nic0','mac':'%s'}", mac);
    assert_json(res, want);
    json_decref(res);
    d2 = mutate_ok(d, "vm.nic.add",
                   "{'vm':'vm2','switch':'ext','type':'synthetic'}", &res);
    assert_string_equal(json_string_value(json_object_get(res, "name")),
                        "nic1");
    json_decref(res);
    json_decref(d2);
    json_decref(d);
    /* a port named vm2.nic0 by hand: the name chosen skips it (bug: the
     * add was refused, 'port "vm2.nic0" exists already', for a name the
     * operator never gave) */
    d = mutate_ok(doc, "port.add", "{'name':'vm2.nic0','switch':'priv',"
                  "'class':'dpdk','devargs':'net_null7,no-rx=1'}", NULL);
    d2 = mutate_ok(d, "vm.nic.add",
                   "{'vm':'vm2','switch':'priv','type':'synthetic'}", &res);
    assert_string_equal(json_string_value(json_object_get(res, "name")),
                        "nic1");
    assert_non_null(find_nic(d2, "vm2", "nic1"));
    json_decref(res);
    json_decref(d2);
    json_decref(d);

    /* a legacy NIC: stored like a synthetic one, with its VLAN mode; its
     * port takes static entries; its MAC is not reused by the next NIC */
    d = mutate_ok(doc, "vm.nic.add",
                  "{'vm':'vm2','name':'old','switch':'priv','type':'legacy',"
                  "'vlan':{'mode':'access','vid':7},'learn_limit':3}", &res);
    ctl_vm_nic_mac("vm2", "old", 0, &m);
    vsa_mac_format(&m, mac);
    snprintf(want, sizeof(want), "{'name':'old','type':'legacy',"
             "'switch':'priv','mac':'%s','vlan':{'mode':'access','vid':7},"
             "'learn_limit':3}", mac);
    assert_json(find_nic(d, "vm2", "old"), want);
    snprintf(want, sizeof(want), "{'ok':true,'name':'old',"
             "'port':'vm2.old','mac':'%s'}", mac);
    assert_json(res, want);
    json_decref(res);
    d2 = mutate_ok(d, "fdb.add", "{'switch':'priv','vlan':7,"
                   "'mac':'02:00:00:00:77:02','port':'vm2.old'}", NULL);
    json_decref(d2);
    snprintf(want, sizeof(want), "{'vm':'vm1','switch':'priv',"
             "'type':'legacy','mac':'%s'}", mac);
    mutate_fail(d, "vm.nic.add", want, CTL_RPC_EXISTS,
                "is already used by port \"vm2.old\"");
    json_decref(d);

    /* everything given; the MAC is stored in lower case */
    d = mutate_ok(doc, "vm.nic.add",
                  "{'vm':'vm1','name':'lan','switch':'ext',"
                  "'type':'synthetic','mac':'02:AB:00:00:00:09',"
                  "'vlan':{'mode':'trunk','allowed':'10,20'},"
                  "'learn_limit':64}", &res);
    assert_json(find_nic(d, "vm1", "lan"),
                "{'name':'lan','type':'synthetic','switch':'ext',"
                "'mac':'02:ab:00:00:00:09','vlan':{'mode':'trunk',"
                "'allowed':'10,20','native':0,'native_tagged':false},"
                "'learn_limit':64}");
    assert_json(res, "{'ok':true,'name':'lan','port':'vm1.lan',"
                     "'mac':'02:ab:00:00:00:09'}");
    json_decref(res);
    /* its port is a port: a static entry may name it */
    d2 = mutate_ok(d, "fdb.add", "{'switch':'ext','vlan':20,"
                   "'mac':'02:00:00:00:77:01','port':'vm1.lan'}", NULL);
    json_decref(d2);
    json_decref(d);

    /* a derived address already in use moves on to the next salt */
    {
        char text[512];
        json_t *base;

        ctl_vm_nic_mac("vm2", "nic0", 0, &m);
        snprintf(text, sizeof(text),
                 "{'version':1,'switches':[{'name':'s','type':'private'}],"
                 "'vms':[{'name':'vm1','nics':[{'name':'e','type':"
                 "'synthetic','switch':'s','mac':'%s'}]},{'name':'vm2'}]}",
                 vsa_mac_format(&m, mac));
        base = jq(text);
        d = mutate_ok(base, "vm.nic.add",
                      "{'vm':'vm2','switch':'s','type':'synthetic'}", &res);
        ctl_vm_nic_mac("vm2", "nic0", 1, &m);
        assert_string_equal(json_string_value(json_object_get(res, "mac")),
                            vsa_mac_format(&m, mac));
        json_decref(res);
        json_decref(d);
        json_decref(base);
    }

    /* a VM object without `nics` (hand-written) gets one */
    {
        json_t *base = jq("{'version':1,'switches':[{'name':'s',"
                          "'type':'private'}],'vms':[{'name':'v'}]}");

        d = mutate_ok(base, "vm.nic.add", "{'vm':'v','name':'e',"
                      "'switch':'s','type':'synthetic'}", NULL);
        assert_non_null(find_nic(d, "v", "e"));
        json_decref(d);
        json_decref(base);
    }

    /* errors */
    mutate_fail(doc, "vm.nic.add", "{'switch':'priv','type':'synthetic'}",
                CTL_RPC_INVALID_PARAMS, "missing parameter \"vm\"");
    mutate_fail(doc, "vm.nic.add",
                "{'vm':'vm9','switch':'priv','type':'synthetic'}",
                CTL_RPC_NOT_FOUND, "VM \"vm9\" does not exist");
    mutate_fail(doc, "vm.nic.add",
                "{'vm':'vm1','switch':'nope','type':'synthetic'}",
                CTL_RPC_NOT_FOUND, "switch \"nope\" does not exist");
    mutate_fail(doc, "vm.nic.add", "{'vm':'vm1','switch':'priv'}",
                CTL_RPC_INVALID_PARAMS, "missing parameter \"type\"");
    mutate_fail(doc, "vm.nic.add",
                "{'vm':'vm1','switch':'priv','type':'e1000'}",
                CTL_RPC_INVALID_PARAMS,
                "parameter \"type\": \"e1000\" is not \"synthetic\" or "
                "\"legacy\"");
    mutate_fail(doc, "vm.nic.add",
                "{'vm':'vm1','switch':'priv','type':'legacy',"
                "'vlan':{'mode':'access','vid':4095}}",
                CTL_RPC_INVALID_PARAMS, "vlan.vid: 4095 is outside 1..4094");
    mutate_fail(doc, "vm.nic.add",
                "{'vm':'vm2','switch':'priv','type':'legacy',"
                "'mac':'02:00:00:00:AA:01'}", CTL_RPC_EXISTS,
                "MAC 02:00:00:00:aa:01 is already used by port \"vm1.eth0\"");
    mutate_fail(doc, "vm.nic.add",
                "{'vm':'vm1','name':'eth0','switch':'priv',"
                "'type':'synthetic'}", CTL_RPC_EXISTS,
                "VM \"vm1\" already has a NIC named \"eth0\"");
    mutate_fail(doc, "vm.nic.add",
                "{'vm':'vm1','name':'e/1','switch':'priv',"
                "'type':'synthetic'}", CTL_RPC_INVALID_PARAMS,
                "parameter \"name\": \"e/1\" is not a valid name");
    mutate_fail(doc, "vm.nic.add",
                "{'vm':'vm2','switch':'priv','type':'synthetic',"
                "'mac':'02:00:00:00:AA:01'}", CTL_RPC_EXISTS,
                "MAC 02:00:00:00:aa:01 is already used by port \"vm1.eth0\"");
    mutate_fail(doc, "vm.nic.add",
                "{'vm':'vm2','switch':'priv','type':'synthetic',"
                "'mac':'01:00:5e:00:00:01'}", CTL_RPC_INVALID_PARAMS,
                "parameter \"mac\": 01:00:5e:00:00:01 is not a unicast");
    mutate_fail(doc, "vm.nic.add",
                "{'vm':'vm2','switch':'priv','type':'synthetic',"
                "'mac':'00:00:00:00:00:00'}", CTL_RPC_INVALID_PARAMS,
                "is not a unicast station address");
    mutate_fail(doc, "vm.nic.add",
                "{'vm':'vm2','switch':'priv','type':'synthetic',"
                "'mac':'02:00:00:00:00'}", CTL_RPC_INVALID_PARAMS,
                "parameter \"mac\": \"02:00:00:00:00\" is not a MAC");
    mutate_fail(doc, "vm.nic.add",
                "{'vm':'vm2','switch':'priv','type':'synthetic',"
                "'vlan':{'mode':'access','vid':0}}", CTL_RPC_INVALID_PARAMS,
                "parameter vlan.vid: 0 is outside 1..4094");
    mutate_fail(doc, "vm.nic.add",
                "{'vm':'vm2','switch':'priv','type':'synthetic',"
                "'learn_limit':1025}", CTL_RPC_RULE,
                "learn_limit: 1025 exceeds fdb_max 1024 of switch \"priv\"");
    mutate_fail(doc, "vm.nic.add",
                "{'vm':'vm2','switch':'priv','type':'synthetic','mtu':1500}",
                CTL_RPC_INVALID_PARAMS, "unknown parameter \"mtu\"");
    {
        json_t *d1 = mutate_ok(doc, "port.add",
                               "{'name':'vm2.x','switch':'priv',"
                               "'class':'dpdk','devargs':'net_null9,no-rx=1'}", NULL);

        mutate_fail(d1, "vm.nic.add", "{'vm':'vm2','name':'x',"
                    "'switch':'priv','type':'synthetic'}", CTL_RPC_EXISTS,
                    "port \"vm2.x\" exists already");
        json_decref(d1);
    }
    /* the ninth NIC */
    {
        json_t *cur = json_incref(doc);

        for (int i = 0; i < 6; i++) {
            json_t *next = mutate_ok(cur, "vm.nic.add", "{'vm':'vm1',"
                                     "'switch':'priv','type':'synthetic'}",
                                     NULL);
            json_decref(cur);
            cur = next;
        }
        mutate_fail(cur, "vm.nic.add",
                    "{'vm':'vm1','switch':'priv','type':'synthetic'}",
                    CTL_RPC_RULE, "VM \"vm1\": 9 NICs, at most 8");
        json_decref(cur);
    }
    json_decref(doc);
}

static void test_vm_nic_del(void **state)
{
    json_t *doc = jq(TT_VM_DOC), *d, *res;

    (void)state;
    d = mutate_ok(doc, "vm.nic.del", "{'vm':'vm1','name':'eth0'}", &res);
    assert_null(find_nic(d, "vm1", "eth0"));
    assert_non_null(find_nic(d, "vm1", "eth1"));
    assert_int_equal(json_array_size(json_object_get(d, "fdb_static")), 0);
    assert_json(res, "{'ok':true,'removed_fdb_static':1}");
    json_decref(res);
    json_decref(d);
    d = mutate_ok(doc, "vm.nic.del", "{'vm':'vm1','name':'eth1'}", &res);
    assert_int_equal(json_array_size(json_object_get(d, "fdb_static")), 1);
    assert_json(res, "{'ok':true,'removed_fdb_static':0}");
    json_decref(res);
    json_decref(d);
    mutate_fail(doc, "vm.nic.del", "{'vm':'vm1','name':'eth7'}",
                CTL_RPC_NOT_FOUND, "VM \"vm1\" has no NIC named \"eth7\"");
    mutate_fail(doc, "vm.nic.del", "{'vm':'vm7','name':'eth0'}",
                CTL_RPC_NOT_FOUND, "VM \"vm7\" does not exist");
    mutate_fail(doc, "vm.nic.del", "{'vm':'vm1'}", CTL_RPC_INVALID_PARAMS,
                "missing parameter \"name\"");
    json_decref(doc);
}

/* vm.nic.set: connected written explicitly (true too), nothing else of the
 * NIC or the document changes; a missing, non-boolean or unknown
 * parameter and an unknown VM or NIC are refused. */
static void test_vm_nic_set(void **state)
{
    json_t *doc = jq(TT_VM_DOC), *d, *d2, *res, *want;

    (void)state;
    d = mutate_ok(doc, "vm.nic.set",
                  "{'vm':'vm1','name':'eth0','connected':false}", &res);
    assert_json(res, "{'ok':true}");
    json_decref(res);
    want = json_deep_copy(find_nic(doc, "vm1", "eth0"));
    json_object_set_new(want, "connected", json_false());
    assert_true(json_equal(find_nic(d, "vm1", "eth0"), want));
    json_decref(want);
    assert_true(json_equal(find_nic(d, "vm1", "eth1"),
                           find_nic(doc, "vm1", "eth1")));
    assert_true(json_equal(json_object_get(d, "fdb_static"),
                           json_object_get(doc, "fdb_static")));
    /* and back: true is written, not removed */
    d2 = mutate_ok(d, "vm.nic.set",
                   "{'vm':'vm1','name':'eth0','connected':true}", NULL);
    assert_true(json_is_true(json_object_get(find_nic(d2, "vm1", "eth0"),
                                             "connected")));
    json_decref(d2);
    /* an already disconnected NIC stays so (idempotent) */
    d2 = mutate_ok(doc, "vm.nic.set",
                   "{'vm':'vm1','name':'eth1','connected':false}", NULL);
    assert_true(json_equal(d2, doc));
    json_decref(d2);
    json_decref(d);
    /* a legacy NIC alike */
    d = mutate_ok(doc, "vm.nic.add", "{'vm':'vm2','name':'tu',"
                  "'switch':'ext','type':'legacy'}", NULL);
    d2 = mutate_ok(d, "vm.nic.set",
                   "{'vm':'vm2','name':'tu','connected':false}", NULL);
    assert_true(json_is_false(json_object_get(find_nic(d2, "vm2", "tu"),
                                              "connected")));
    json_decref(d2);
    json_decref(d);

    /* mac_spoofing, alone or with connected; vm.nic.add takes it too */
    d = mutate_ok(doc, "vm.nic.set",
                  "{'vm':'vm1','name':'eth0','mac_spoofing':true}", NULL);
    want = json_deep_copy(find_nic(doc, "vm1", "eth0"));
    json_object_set_new(want, "mac_spoofing", json_true());
    assert_true(json_equal(find_nic(d, "vm1", "eth0"), want));
    json_decref(want);
    d2 = mutate_ok(d, "vm.nic.set", "{'vm':'vm1','name':'eth0',"
                   "'mac_spoofing':false,'connected':false}", NULL);
    assert_true(json_is_false(json_object_get(find_nic(d2, "vm1", "eth0"),
                                              "mac_spoofing")));
    assert_true(json_is_false(json_object_get(find_nic(d2, "vm1", "eth0"),
                                              "connected")));
    json_decref(d2);
    json_decref(d);
    d = mutate_ok(doc, "vm.nic.add", "{'vm':'vm2','name':'br',"
                  "'switch':'ext','type':'synthetic','mac_spoofing':true}",
                  NULL);
    assert_true(json_is_true(json_object_get(find_nic(d, "vm2", "br"),
                                             "mac_spoofing")));
    json_decref(d);
    mutate_fail(doc, "vm.nic.set",
                "{'vm':'vm1','name':'eth0','mac_spoofing':'on'}",
                CTL_RPC_INVALID_PARAMS, "mac_spoofing");

    mutate_fail(doc, "vm.nic.set", "{'vm':'vm1','name':'eth0'}",
                CTL_RPC_INVALID_PARAMS,
                "missing parameter: give \"connected\" or "
                "\"mac_spoofing\"");
    mutate_fail(doc, "vm.nic.set",
                "{'vm':'vm1','name':'eth0','connected':'no'}",
                CTL_RPC_INVALID_PARAMS, "connected");
    mutate_fail(doc, "vm.nic.set",
                "{'vm':'vm1','name':'eth0','connected':0}",
                CTL_RPC_INVALID_PARAMS, "connected");
    mutate_fail(doc, "vm.nic.set",
                "{'vm':'vm1','name':'eth0','connected':true,'mtu':5}",
                CTL_RPC_INVALID_PARAMS, "mtu");
    mutate_fail(doc, "vm.nic.set",
                "{'vm':'vm1','name':'eth7','connected':true}",
                CTL_RPC_NOT_FOUND, "VM \"vm1\" has no NIC named \"eth7\"");
    mutate_fail(doc, "vm.nic.set",
                "{'vm':'vm7','name':'eth0','connected':true}",
                CTL_RPC_NOT_FOUND, "VM \"vm7\" does not exist");
    mutate_fail(doc, "vm.nic.set", "{'vm':'vm1','connected':true}",
                CTL_RPC_INVALID_PARAMS, "missing parameter \"name\"");
    json_decref(doc);
}

/* Ports that are VM NICs: port.* and switch.del know them. */
static void test_vm_ports(void **state)
{
    json_t *doc = jq(TT_VM_DOC), *d;

    (void)state;
    mutate_fail(doc, "port.del", "{'name':'vm1.eth0'}", CTL_RPC_RULE,
                "port \"vm1.eth0\" is NIC \"eth0\" of VM \"vm1\": delete the "
                "NIC instead ('vesperctl vm nic del vm1 eth0', RPC "
                "vm.nic.del)");
    mutate_fail(doc, "port.add", "{'name':'x','switch':'priv',"
                "'class':'synthetic'}", CTL_RPC_INVALID_PARAMS,
                "synthetic ports are VM NICs, created by vm.nic.add");
    mutate_fail(doc, "port.add", "{'name':'x','switch':'priv',"
                "'class':'legacy'}", CTL_RPC_INVALID_PARAMS,
                "legacy ports are VM NICs, created by vm.nic.add");
    d = mutate_ok(doc, "port.set", "{'name':'vm1.eth1','vlan':{'mode':"
                  "'access','vid':30},'learn_limit':5}", NULL);
    assert_json(find_nic(d, "vm1", "eth1"),
                "{'name':'eth1','type':'synthetic','switch':'ext',"
                "'vlan':{'mode':'access','vid':30},'learn_limit':5,"
                "'connected':false}");
    json_decref(d);
    /* a NIC's VLAN change must keep its static entry's VLAN */
    mutate_fail(doc, "port.set", "{'name':'vm1.eth0','vlan':{'mode':"
                "'access','vid':21}}", CTL_RPC_RULE,
                "in VLAN 20 on port \"vm1.eth0\" needs the port in VLAN 20");
    mutate_fail(doc, "switch.del", "{'name':'priv'}", CTL_RPC_RULE,
                "switch \"priv\" still has ports attached (p1, vm1.eth0); "
                "delete them first: a port with 'vesperctl port del PORT' "
                "(RPC port.del), a VM NIC with 'vesperctl vm nic del VM NIC' "
                "(RPC vm.nic.del) or its VM with 'vesperctl vm del VM'");
    /* only VM NICs: no port.del hint (port.del refuses a VM NIC) */
    mutate_fail(doc, "switch.del", "{'name':'ext'}", CTL_RPC_RULE,
                "switch \"ext\" still has ports attached (vm1.eth1); delete "
                "them first: a VM NIC with 'vesperctl vm nic del VM NIC' "
                "(RPC vm.nic.del) or its VM with 'vesperctl vm del VM'");
    /* the same for a legacy NIC's port */
    {
        json_t *d1 = mutate_ok(doc, "vm.nic.add", "{'vm':'vm2','name':'tu',"
                               "'switch':'ext','type':'legacy'}", NULL);

        mutate_fail(d1, "port.del", "{'name':'vm2.tu'}", CTL_RPC_RULE,
                    "port \"vm2.tu\" is NIC \"tu\" of VM \"vm2\"");
        mutate_fail(d1, "switch.del", "{'name':'ext'}", CTL_RPC_RULE,
                    "switch \"ext\" still has ports attached (vm1.eth1, "
                    "vm2.tu)");
        d = mutate_ok(d1, "port.set", "{'name':'vm2.tu','vlan':{'mode':"
                      "'trunk','allowed':'5-6'}}", NULL);
        assert_json(json_object_get(find_nic(d, "vm2", "tu"), "vlan"),
                    "{'mode':'trunk','allowed':'5-6','native':0,"
                    "'native_tagged':false}");
        json_decref(d);
        d = mutate_ok(d1, "vm.nic.del", "{'vm':'vm2','name':'tu'}", NULL);
        assert_null(find_nic(d, "vm2", "tu"));
        json_decref(d);
        json_decref(d1);
    }
    json_decref(doc);
}

static void test_general_errors(void **state)
{
    json_t *doc = jq(TT_RICH_DOC);
    json_t *bad = jq("{'version':1,'switches':[{'name':'s','type':'x'}]}");

    (void)state;
    mutate_fail(doc, "switch.list", NULL, CTL_RPC_METHOD_NOT_FOUND,
                "\"switch.list\" is not a configuration method");
    mutate_fail(doc, "bogus", "{}", CTL_RPC_METHOD_NOT_FOUND, "bogus");
    mutate_fail(doc, "switch.add", "[1]", CTL_RPC_INVALID_PARAMS,
                "params must be an object, got array");
    mutate_fail(bad, "switch.add", "{'name':'t','type':'private'}",
                CTL_RPC_SYSTEM, "the current configuration is invalid: "
                "switches[0] (\"s\"): type");
    json_decref(bad);
    json_decref(doc);
}

/* A sequence of mutations from the default document to a full setup and
 * back, each step validated. */
static void test_sequence(void **state)
{
    static const struct {
        const char *method, *params;
    } steps[] = {
        { "switch.add", "{'name':'lan','type':'external','uplink':'eth0',"
                        "'management_os':true,'host_ifname':'lanhost',"
                        "'addresses':['10.0.0.2/24','fd00::2/64']}" },
        { "port.set", "{'name':'lan.uplink','vlan':{'mode':'trunk',"
                      "'allowed':'1-100','native':1}}" },
        { "port.add", "{'name':'vm1','switch':'lan','class':'dpdk',"
                      "'devargs':'net_vhost0,iface=/tmp/vm1,client=0',"
                      "'vlan':{'mode':'access','vid':10}}" },
        { "fdb.add", "{'switch':'lan','vlan':10,'mac':'02:00:00:00:01:01',"
                     "'port':'vm1'}" },
        { "fdb.add", "{'switch':'lan','vlan':10,'mac':'02:00:00:00:01:02',"
                     "'port':'lan.uplink'}" },
        { "switch.set", "{'name':'lan','aging_s':30}" },
        { "port.del", "{'name':'vm1'}" },
        { "fdb.del", "{'switch':'lan','vlan':10,'mac':'02:00:00:00:01:02'}" },
        { "switch.del", "{'name':'lan'}" },
    };
    json_t *start = ctl_default_config(), *doc = json_incref(start);

    (void)state;
    for (size_t i = 0; i < VSA_ARRAY_LEN(steps); i++) {
        json_t *next = mutate_ok(doc, steps[i].method, steps[i].params, NULL);

        json_decref(doc);
        doc = next;
    }
    assert_true(json_equal(doc, start));
    json_decref(doc);
    json_decref(start);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_methods),
        cmocka_unit_test(test_switch_add),
        cmocka_unit_test(test_switch_add_errors),
        cmocka_unit_test(test_switch_del),
        cmocka_unit_test(test_switch_set),
        cmocka_unit_test(test_port_add),
        cmocka_unit_test(test_port_del),
        cmocka_unit_test(test_port_set),
        cmocka_unit_test(test_port_set_host_vnic),
        cmocka_unit_test(test_fdb),
        cmocka_unit_test(test_vm_add_del),
        cmocka_unit_test(test_vm_nic_add),
        cmocka_unit_test(test_vm_nic_del),
        cmocka_unit_test(test_vm_nic_set),
        cmocka_unit_test(test_vm_ports),
        cmocka_unit_test(test_general_errors),
        cmocka_unit_test(test_sequence),
    };

    return cmocka_run_group_tests_name("tools-mutate", tests, NULL, NULL);
}
