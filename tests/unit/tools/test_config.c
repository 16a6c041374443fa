/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_config.c — ctl_config: parsing and validation of the configuration
 * document (docs/config.md).
 *
 * Objective: the embedded default and a document using every feature parse
 * into the expected values; every rule of config.md is enforced — each
 * field's wrong type, out-of-range values (at the boundaries), unknown keys,
 * dangling references, duplicates, switch membership, VLAN membership of
 * static entries, unicast MACs and the size limits — and each rejection
 * carries a message naming the object and the field; *out is untouched on
 * failure; a document survives dump → load → parse unchanged.
 * VMs: NICs become ports `VM.NIC` (class synthetic or legacy, after the
 * NIC's type) after the `ports` entries; names, MACs (configured or
 * derived, pinned by a known vector) and the port name space are checked
 * host-wide, across both NIC types; static FDB entries may name a NIC's
 * port of either type; legacy NICs take VLAN modes like any port; an
 * unknown NIC type and a `ports[]` entry of a VM NIC class are refused.
 */
#include <errno.h>
#include <time.h>

#include "tests/unit/tools/tools_test.h"
#include "tools/ctl/ctl_config.h"

/* Parses a single-quoted document, expecting success. */
static struct ctl_config *parse_ok(const char *text)
{
    struct ctl_config *cfg = NULL;
    struct vsa_errmsg em;
    json_t *doc = jq(text);
    int rc = ctl_config_parse(doc, &cfg, &em);

    if (rc != 0)
        fail_msg("expected a valid document, got %d: %s", rc, em.msg);
    json_decref(doc);
    return cfg;
}

static void test_default(void **state)
{
    struct ctl_config *cfg = NULL;
    struct vsa_errmsg em;
    json_t *doc = ctl_default_config();
    const struct ctl_port *p;

    (void)state;
    assert_non_null(doc);
    assert_int_equal(ctl_config_parse(doc, &cfg, &em), 0);
    assert_int_equal(cfg->version, 1);
    assert_int_equal(cfg->n_switches, 1);
    assert_string_equal(cfg->switches[0].name, "default");
    assert_int_equal(cfg->switches[0].type, CTL_SWITCH_INTERNAL);
    assert_int_equal(cfg->switches[0].fdb_max, 8192);
    assert_int_equal(cfg->switches[0].aging_s, 300);
    assert_false(cfg->switches[0].management_os);
    assert_int_equal(cfg->n_ports, 1);
    p = &cfg->ports[0];
    assert_string_equal(p->name, "vesper0");
    assert_int_equal(p->switch_idx, 0);
    assert_int_equal(p->cls, CTL_PORT_INTERNAL);
    assert_string_equal(p->ifname, "vesper0");
    assert_string_equal(p->devargs, "");
    assert_int_equal(p->n_addresses, 1);
    assert_string_equal(p->addresses[0], "192.168.100.1/24");
    assert_int_equal(p->mtu, 1500);
    assert_int_equal(p->vlan.mode, VLAN_MODE_ACCESS);
    assert_int_equal(p->vlan.access_vid, 1);
    assert_int_equal(p->learn_limit, 0);
    assert_int_equal(cfg->n_fdb_static, 0);
    ctl_config_free(cfg);
    json_decref(doc);
}

static void test_rich(void **state)
{
    struct ctl_config *cfg = parse_ok(TT_RICH_DOC);
    const struct ctl_port *up, *p2;
    char buf[64];

    (void)state;
    assert_int_equal(cfg->n_switches, 3);
    assert_int_equal(cfg->switches[1].type, CTL_SWITCH_EXTERNAL);
    assert_true(cfg->switches[1].management_os);
    assert_int_equal(cfg->switches[1].aging_s, 60);
    assert_int_equal(cfg->switches[2].type, CTL_SWITCH_PRIVATE);
    assert_int_equal(cfg->switches[2].aging_s, 300); /* default */
    assert_int_equal(cfg->n_ports, 5);
    up = &cfg->ports[ctl_port_find(cfg, "ext.uplink")];
    assert_int_equal(up->cls, CTL_PORT_UPLINK);
    assert_int_equal(up->mtu, 0);
    assert_int_equal(up->vlan.mode, VLAN_MODE_TRUNK);
    assert_int_equal(up->vlan.native_vid, 1);
    vlan_set_format(up->vlan.allowed, buf, sizeof(buf));
    assert_string_equal(buf, "1-100,200");
    assert_int_equal(cfg->ports[2].mtu, 1400);
    assert_int_equal(cfg->ports[0].n_addresses, 2);
    assert_string_equal(cfg->ports[0].addresses[1], "fd00::1/64");
    p2 = &cfg->ports[ctl_port_find(cfg, "p2")];
    assert_string_equal(p2->devargs, "net_af_packet0,iface=veth1");
    assert_int_equal(p2->vlan.access_vid, 20);
    assert_int_equal(p2->learn_limit, 100);
    assert_int_equal(p2->switch_idx, 2);
    assert_int_equal(cfg->n_fdb_static, 2);
    assert_int_equal(cfg->fdb_static[0].vid, 20);
    assert_int_equal(cfg->fdb_static[0].port_idx, 4);
    assert_int_equal(cfg->fdb_static[1].switch_idx, 1);
    assert_int_equal(cfg->fdb_static[1].mac.b[5], 2);
    assert_int_equal(ctl_switch_find(cfg, "priv"), 2);
    assert_int_equal(ctl_switch_find(cfg, "nope"), -1);
    assert_int_equal(ctl_port_find(cfg, "nope"), -1);
    ctl_config_free(cfg);
}

static void test_vms(void **state)
{
    struct ctl_config *cfg = parse_ok(TT_VM_DOC);
    const struct ctl_port *e0, *e1;
    struct vsa_mac m;
    char buf[VSA_MAC_STRLEN];

    (void)state;
    assert_int_equal(cfg->n_doc_ports, 4);
    assert_int_equal(cfg->n_ports, 6);
    assert_int_equal(cfg->n_vms, 2);
    assert_string_equal(cfg->vms[0].name, "vm1");
    assert_int_equal(cfg->vms[0].first_port, 4);
    assert_int_equal(cfg->vms[0].n_nics, 2);
    assert_int_equal(cfg->vms[1].n_nics, 0);
    assert_int_equal(ctl_vm_find(cfg, "vm2"), 1);
    assert_int_equal(ctl_vm_find(cfg, "vm3"), -1);
    assert_int_equal(ctl_vm_nic_find(cfg, 0, "eth1"), 5);
    assert_int_equal(ctl_vm_nic_find(cfg, 0, "eth2"), -1);
    assert_int_equal(ctl_vm_nic_find(cfg, 1, "eth0"), -1);
    assert_int_equal(ctl_vm_nic_find(cfg, 7, "eth0"), -1);
    e0 = &cfg->ports[ctl_port_find(cfg, "vm1.eth0")];
    assert_int_equal(e0->cls, CTL_PORT_SYNTHETIC);
    assert_int_equal(e0->nic_type, CTL_NIC_SYNTHETIC);
    assert_string_equal(e0->nic, "eth0");
    assert_int_equal(e0->vm_idx, 0);
    assert_int_equal(e0->nic_idx, 0);
    assert_int_equal(e0->switch_idx, 2);
    assert_string_equal(vsa_mac_format(&e0->mac, buf), "02:00:00:00:aa:01");
    assert_int_equal(e0->vlan.access_vid, 20);
    assert_int_equal(e0->learn_limit, 16);
    assert_string_equal(e0->devargs, "");
    assert_int_equal(e0->mtu, 0);
    e1 = &cfg->ports[5];
    assert_string_equal(e1->name, "vm1.eth1");
    assert_int_equal(e1->nic_idx, 1);
    assert_int_equal(e1->vlan.mode, VLAN_MODE_TRUNK);
    ctl_vm_nic_mac("vm1", "eth1", 0, &m);
    assert_memory_equal(&e1->mac, &m, sizeof(m));
    assert_int_equal(cfg->ports[0].vm_idx, CTL_NO_VM);
    assert_int_equal(cfg->fdb_static[0].port_idx, 4);
    ctl_config_free(cfg);

    /* VM NICs may join any kind of switch; names reach 63 characters */
    cfg = parse_ok(
        "{'version':1,'switches':[{'name':'i','type':'internal'},"
        " {'name':'x','type':'external'}],"
        "'ports':[{'name':'i','switch':'i','class':'internal','ifname':'i'},"
        " {'name':'x.uplink','switch':'x','class':'uplink','ifname':'e1'}],"
        "'vms':[{'name':'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa','nics':["
        " {'name':'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb','type':'synthetic',"
        "  'switch':'i'},"
        " {'name':'n1','type':'synthetic','switch':'x'}]},"
        " {'name':'v'}]}");
    assert_int_equal(strlen(cfg->ports[2].name), 63);
    assert_int_equal(cfg->vms[1].n_nics, 0);
    ctl_config_free(cfg);
}

/* The derivation of NIC MACs is part of the contract (a document without
 * `mac` must keep its addresses across versions): pinned vectors. */
static void test_nic_mac_vectors(void **state)
{
    static const struct {
        const char *vm, *nic;
        uint32_t salt;
        const char *mac;
    } v[] = {
        { "vm1", "eth0", 0, "42:d0:38:c4:cd:ab" },
        { "vm1", "eth1", 0, "fa:7e:f1:a3:d4:42" },
        { "vm1", "nic0", 0, "b2:34:33:db:14:00" },
        { "vm1", "nic0", 1, "ea:63:74:1e:44:c8" },
    };
    struct vsa_mac m, m2;
    char buf[VSA_MAC_STRLEN];

    (void)state;
    assert_true(ctl_vm_nic_hash("vm1", "eth0", 0) == 0xdf8743d038c4cdabull);
    for (size_t i = 0; i < VSA_ARRAY_LEN(v); i++) {
        ctl_vm_nic_mac(v[i].vm, v[i].nic, v[i].salt, &m);
        assert_string_equal(vsa_mac_format(&m, buf), v[i].mac);
        assert_false(vsa_mac_is_multicast(&m));
        assert_true(m.b[0] & 0x02);
    }
    /* the separator keeps ("vm1e","th0") apart from ("vm1","eth0") */
    ctl_vm_nic_mac("vm1e", "th0", 0, &m);
    ctl_vm_nic_mac("vm1", "eth0", 0, &m2);
    assert_memory_not_equal(&m, &m2, sizeof(m));
    /* every derived address is unicast and locally administered */
    for (uint32_t salt = 0; salt < 4096; salt++) {
        ctl_vm_nic_mac("v", "n", salt, &m);
        assert_int_equal(m.b[0] & 0x03, 0x02);
    }
}

/* Only `version` is required at the top level. */
static void test_minimal(void **state)
{
    struct ctl_config *cfg = parse_ok("{'version':1}");

    (void)state;
    assert_int_equal(cfg->n_switches + cfg->n_ports + cfg->n_fdb_static, 0);
    ctl_config_free(cfg);
}

/* Boundary values that must be accepted. */
static void test_boundaries_ok(void **state)
{
    struct ctl_config *cfg;

    (void)state;
    cfg = parse_ok(
        "{'version':1,'switches':["
        " {'name':'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa','type':'private',"
        "  'fdb_max':16,'aging_s':10},"
        " {'name':'b','type':'private','fdb_max':1048576,'aging_s':1000000},"
        " {'name':'i','type':'internal'},"
        " {'name':'j','type':'internal'}],"
        "'ports':["
        " {'name':'x','switch':'b','class':'dpdk','devargs':'0000:03:00.0',"
        "  'learn_limit':1048576,"
        "  'vlan':{'mode':'trunk','allowed':'1-4094','native':4094,"
        "          'native_tagged':true}},"
        " {'name':'y','switch':'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa','class':'dpdk',"
        "  'devargs':'net_null0,size=128,copy=1','learn_limit':16,"
        "  'vlan':{'mode':'access','vid':4094}},"
        " {'name':'h','switch':'i','class':'internal',"
        "  'ifname':'abcdefghijklmno','mtu':68,"
        "  'addresses':['1.0.0.0/1','10.0.0.1/32','223.255.255.255/32']},"
        " {'name':'k','switch':'j','class':'internal',"
        "  'ifname':'k','mtu':1280,"
        "  'addresses':['fd00::1/1','2001:db8::1/128','10.0.0.1/8']}],"
        "'fdb_static':["
        " {'switch':'b','vlan':4094,'mac':'FE:FF:FF:FF:FF:FF','port':'x'},"
        " {'switch':'b','vlan':1,'mac':'02-00-00-00-00-01','port':'x'}]}");
    assert_int_equal(cfg->switches[0].fdb_max, 16);
    assert_int_equal(cfg->ports[0].learn_limit, 1048576);
    assert_true(cfg->ports[0].vlan.native_tagged);
    assert_int_equal(cfg->ports[2].mtu, 68);
    assert_int_equal(cfg->ports[2].n_addresses, 3);
    assert_int_equal(cfg->ports[3].mtu, 1280);
    assert_int_equal(cfg->ports[3].n_addresses, 3);
    ctl_config_free(cfg);
}

/*
 * The table of invalid documents.
 */

#define SW_DEF "{'name':'default','type':'internal'}"
#define SW_PRIV "{'name':'priv','type':'private'}"
#define SW_EXT "{'name':'ext','type':'external'}"
#define P_HOST "{'name':'vesper0','switch':'default','class':'internal'," \
               "'ifname':'vesper0'}"
#define P_UP "{'name':'ext.uplink','switch':'ext','class':'uplink'," \
             "'ifname':'eth0'}"
#define P_RING "{'name':'p1','switch':'priv','class':'dpdk'," \
               "'devargs':'net_ring0'}"
#define DOC(sw, ports, fdb) \
    "{'version':1,'switches':[" sw "],'ports':[" ports "],'fdb_static':[" \
    fdb "]}"
/* One private switch, one port p1 with extra keys `extra`. */
#define PORT_DOC(extra) \
    DOC(SW_DEF "," SW_PRIV, P_HOST ",{'name':'p1','switch':'priv'," extra "}", "")
#define DPDK_DOC(extra) PORT_DOC("'class':'dpdk','devargs':'net_ring0'," extra)
#define HOST_DOC(extra) \
    DOC(SW_DEF, "{'name':'vesper0','switch':'default','class':'internal'," \
        "'ifname':'vesper0'," extra "}", "")
#define FDB_DOC(entry) DOC(SW_DEF "," SW_PRIV, P_HOST "," P_RING, entry)
/* One private switch priv with port p1, then the given VMs. */
#define VM_DOC(vms) \
    "{'version':1,'switches':[" SW_PRIV "],'ports':[" P_RING "],'vms':[" \
    vms "]}"
#define VM_DOC_FDB(vms, fdb) \
    "{'version':1,'switches':[" SW_PRIV "],'ports':[" P_RING "],'vms':[" \
    vms "],'fdb_static':[" fdb "]}"
#define NIC_DOC(extra) \
    VM_DOC("{'name':'vm1','nics':[{'name':'eth0'," extra "}]}")
#define SNIC_DOC(extra) NIC_DOC("'type':'synthetic','switch':'priv'," extra)

/* Legacy NICs: class legacy, VM NICs like the synthetic ones (VLAN modes,
 * learn_limit, derived or given MACs, static entries naming their port). */
/* Interfaces and vhost-user sockets named in devargs: distinct ones pass,
 * whatever their prefixes; a driver that binds none (net_ring) holds none. */
static void test_devargs_holds_distinct(void **state)
{
    struct ctl_config *cfg;

    (void)state;
    cfg = parse_ok(
        "{'version':1,'switches':[{'name':'p','type':'private'},"
        " {'name':'i','type':'internal'}],"
        "'ports':["
        " {'name':'h','switch':'i','class':'internal','ifname':'veth1'},"
        " {'name':'a','switch':'p','class':'dpdk',"
        "  'devargs':'net_pcap0,rx_iface=veth10,tx_iface=veth11'},"
        " {'name':'b','switch':'p','class':'dpdk',"
        "  'devargs':'net_af_packet0,iface=veth12,qpairs=1'},"
        " {'name':'c','switch':'p','class':'dpdk',"
        "  'devargs':'net_tap_x,iface=tapx'},"
        " {'name':'d','switch':'p','class':'dpdk',"
        "  'devargs':'net_vhost0,iface=/run/a.sock'},"
        " {'name':'e','switch':'p','class':'dpdk',"
        "  'devargs':'net_vhost1,iface=/run/a.sock2'},"
        " {'name':'f','switch':'p','class':'dpdk',"
        "  'devargs':'net_ring0,nodeaction=r0:0:CREATE'}],"
        "'fdb_static':[]}");
    assert_int_equal(cfg->n_ports, 7);
    ctl_config_free(cfg);
}

/* One receive queue per port: asked for as 1, or left to the driver's
 * default; a 0 is the PMD's to refuse (t_nic_state relies on it), and a
 * pcap device may have one receive source beside its transmit ones. */
static void test_devargs_one_rx_queue(void **state)
{
    struct ctl_config *cfg;

    (void)state;
    cfg = parse_ok(
        "{'version':1,'switches':[{'name':'p','type':'private'}],"
        "'ports':["
        " {'name':'a','switch':'p','class':'dpdk',"
        "  'devargs':'net_af_packet0,iface=veth0,qpairs=1,qpairs=1'},"
        " {'name':'b','switch':'p','class':'dpdk',"
        "  'devargs':'net_af_packet1,iface=veth1,qpairs=0'},"
        " {'name':'c','switch':'p','class':'dpdk',"
        "  'devargs':'net_af_xdp0,iface=veth2,queue_count=1'},"
        " {'name':'d','switch':'p','class':'dpdk',"
        "  'devargs':'net_vhost0,iface=/run/a.sock,queues=1'},"
        " {'name':'e','switch':'p','class':'dpdk',"
        "  'devargs':'net_pcap0,rx_pcap=/a.pcap,tx_pcap=/b.pcap,"
        "infinite_rx=1'},"
        " {'name':'f','switch':'p','class':'dpdk',"
        "  'devargs':'net_pcap1,iface=veth3'},"
        " {'name':'g','switch':'p','class':'dpdk',"
        "  'devargs':'net_tap0,iface=tap9,qpairs=4'},"
        " {'name':'h','switch':'p','class':'dpdk',"
        "  'devargs':'net_af_packet2,iface=veth4,qpairs=001'}],"
        "'fdb_static':[]}");
    assert_int_equal(cfg->n_ports, 8);
    ctl_config_free(cfg);
}

static void test_vms_legacy(void **state)
{
    const struct ctl_port *e0, *e1;
    struct ctl_config *cfg;
    struct vsa_mac m;
    char buf[VSA_MAC_STRLEN];

    (void)state;
    cfg = parse_ok(VM_DOC_FDB(
        "{'name':'vm1','nics':["
        " {'name':'eth0','type':'legacy','switch':'priv',"
        "  'vlan':{'mode':'access','vid':10},'learn_limit':4},"
        " {'name':'eth1','type':'synthetic','switch':'priv',"
        "  'connected':false},"
        " {'name':'eth2','type':'legacy','switch':'priv',"
        "  'mac':'02:00:00:00:00:21','connected':true,"
        "  'vlan':{'mode':'trunk','allowed':'10-20','native':10}}]}",
        "{'switch':'priv','vlan':10,'mac':'02:00:00:00:00:99',"
        " 'port':'vm1.eth0'}"));
    e0 = &cfg->ports[ctl_port_find(cfg, "vm1.eth0")];
    assert_int_equal(e0->cls, CTL_PORT_LEGACY);
    assert_int_equal(e0->nic_type, CTL_NIC_LEGACY);
    assert_true(ctl_port_is_vm_nic(e0));
    assert_int_equal(e0->vlan.mode, VLAN_MODE_ACCESS);
    assert_int_equal(e0->vlan.access_vid, 10);
    assert_int_equal(e0->learn_limit, 4);
    assert_true(e0->connected); /* the default */
    ctl_vm_nic_mac("vm1", "eth0", 0, &m);
    assert_memory_equal(&e0->mac, &m, sizeof(m));
    e1 = &cfg->ports[ctl_port_find(cfg, "vm1.eth1")];
    assert_int_equal(e1->cls, CTL_PORT_SYNTHETIC);
    assert_int_equal(e1->nic_type, CTL_NIC_SYNTHETIC);
    assert_false(e1->connected);
    e1 = &cfg->ports[ctl_port_find(cfg, "vm1.eth2")];
    assert_true(e1->connected);
    assert_int_equal(e1->cls, CTL_PORT_LEGACY);
    assert_int_equal(e1->nic_idx, 2);
    assert_int_equal(e1->vlan.mode, VLAN_MODE_TRUNK);
    assert_string_equal(vsa_mac_format(&e1->mac, buf), "02:00:00:00:00:21");
    assert_false(ctl_port_is_vm_nic(&cfg->ports[0]));
    assert_int_equal(cfg->fdb_static[0].port_idx,
                     (uint32_t)ctl_port_find(cfg, "vm1.eth0"));
    ctl_config_free(cfg);
}

struct bad_case {
    const char *doc;
    const char *msg;
};

static const struct bad_case bad_cases[] = {
    /* top level */
    { "[]", "must be a JSON object, got array" },
    { "{'switches':[]}", "version: missing" },
    { "{'version':2}", "version: 2 is not supported (expected 1)" },
    { "{'version':'1'}", "version: expected an integer, got string" },
    { "{'version':1.0}", "version: expected an integer, got real" },
    { "{'version':1,'extra':0}", "unknown key \"extra\"" },
    { "{'version':1,'switches':{}}", "switches: expected an array, got object" },
    { "{'version':1,'ports':5}", "ports: expected an array, got integer" },
    { "{'version':1,'fdb_static':null}",
      "fdb_static: expected an array, got null" },
    /* switches */
    { DOC("5", "", ""), "switches[0]: expected an object, got integer" },
    { DOC("{'type':'private'}", "", ""), "switches[0]: name: missing" },
    { DOC("{'name':7,'type':'private'}", "", ""),
      "switches[0]: name: expected a string, got integer" },
    { DOC("{'name':'bad name','type':'private'}", "", ""),
      "switches[0]: name: \"bad name\" is not a valid name" },
    { DOC("{'name':'','type':'private'}", "", ""), "is not a valid name" },
    { DOC("{'name':'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa','type':'private'}", "", ""),
      "is not a valid name" },
    { DOC("{'name':'s'}", "", ""), "switches[0] (\"s\"): type: missing" },
    { DOC("{'name':'s','type':'bridge'}", "", ""),
      "switches[0] (\"s\"): type: \"bridge\" is not" },
    { DOC("{'name':'s','type':true}", "", ""),
      "type: expected a string, got boolean" },
    { DOC("{'name':'s','type':'private','fdb_max':15}", "", ""),
      "switches[0] (\"s\"): fdb_max: 15 is outside 16..1048576" },
    { DOC("{'name':'s','type':'private','fdb_max':1048577}", "", ""),
      "fdb_max: 1048577 is outside 16..1048576" },
    { DOC("{'name':'s','type':'private','fdb_max':'8192'}", "", ""),
      "fdb_max: expected an integer, got string" },
    { DOC("{'name':'s','type':'private','aging_s':9}", "", ""),
      "aging_s: 9 is outside 10..1000000" },
    { DOC("{'name':'s','type':'private','aging_s':1000001}", "", ""),
      "aging_s: 1000001 is outside 10..1000000" },
    { DOC("{'name':'s','type':'private','aging_s':-1}", "", ""),
      "aging_s: -1 is outside 10..1000000" },
    { DOC("{'name':'s','type':'private','aging_s':300.5}", "", ""),
      "aging_s: expected an integer, got real" },
    { DOC("{'name':'s','type':'private','management_os':1}", "", ""),
      "management_os: expected a boolean, got integer" },
    { DOC("{'name':'s','type':'private','management_os':true}", "", ""),
      "switches[0] (\"s\"): management_os: only an external switch" },
    { DOC("{'name':'s','type':'private','fdbmax':16}", "", ""),
      "switches[0] (\"s\"): unknown key \"fdbmax\"" },
    { DOC(SW_PRIV "," SW_PRIV, "", ""),
      "switches[1] (\"priv\"): name: duplicate of switches[0]" },
    /* ports: shape and fields */
    { DOC(SW_PRIV, "'p'", ""), "ports[0]: expected an object, got string" },
    { DOC(SW_PRIV, "{'switch':'priv'}", ""), "ports[0]: name: missing" },
    { DOC(SW_PRIV, "{'name':'p/1','switch':'priv'}", ""),
      "ports[0]: name: \"p/1\" is not a valid name" },
    { DPDK_DOC("'devarg':'x'"), "ports[1] (\"p1\"): unknown key \"devarg\"" },
    { DOC(SW_PRIV, "{'name':'p1','class':'dpdk','devargs':'net_ring0'}", ""),
      "ports[0] (\"p1\"): switch: missing" },
    { DOC(SW_PRIV, "{'name':'p1','switch':'nope','class':'dpdk',"
                   "'devargs':'net_ring0'}", ""),
      "ports[0] (\"p1\"): switch: no switch named \"nope\"" },
    { PORT_DOC("'devargs':'net_ring0'"), "ports[1] (\"p1\"): class: missing" },
    { PORT_DOC("'class':'virtio'"), "class: \"virtio\" is not" },
    { PORT_DOC("'class':'dpdk'"),
      "ports[1] (\"p1\"): devargs: missing (required for class dpdk)" },
    { PORT_DOC("'class':'dpdk','devargs':5"),
      "devargs: expected a string, got integer" },
    { DPDK_DOC("'ifname':'tap0'"), "ifname: not allowed for class dpdk" },
    { DPDK_DOC("'addresses':[]"), "addresses: only internal ports" },
    { DPDK_DOC("'mtu':1500"), "mtu: only internal ports have an MTU" },
    { PORT_DOC("'class':'dpdk','devargs':''"), "devargs: length 0 is outside" },
    { PORT_DOC("'class':'dpdk','devargs':'net_ring0, iface=x'"),
      "contains a space, control or non-ASCII character" },
    { PORT_DOC("'class':'dpdk','devargs':',iface=x'"),
      "has no device name before the first ','" },
    { PORT_DOC("'class':'dpdk','devargs':'net=ring,iface=x'"),
      "device name of \"net=ring,iface=x\" has characters outside" },
    { DOC(SW_DEF, "{'name':'h','switch':'default','class':'internal'}", ""),
      "ports[0] (\"h\"): ifname: missing (required for class internal" },
    { HOST_DOC("'devargs':'net_tap0'"), "devargs: not allowed for class internal" },
    { DOC(SW_DEF, "{'name':'h','switch':'default','class':'internal',"
                  "'ifname':'abcdefghijklmnop'}", ""),
      "ifname: \"abcdefghijklmnop\" is not a valid interface name" },
    { DOC(SW_DEF, "{'name':'h','switch':'default','class':'internal',"
                  "'ifname':'..'}", ""),
      "ifname: \"..\" is not a valid interface name" },
    { HOST_DOC("'mtu':67"), "ports[0] (\"vesper0\"): mtu: 67 is outside 68..1500" },
    /* no jumbo frames: the switch forwards an MTU of 1500 at most */
    { HOST_DOC("'mtu':1501"), "ports[0] (\"vesper0\"): mtu: 1501 is outside 68..1500" },
    { HOST_DOC("'mtu':9000"), "ports[0] (\"vesper0\"): mtu: 9000 is outside 68..1500" },
    { HOST_DOC("'addresses':'10.0.0.1/8'"),
      "addresses: expected an array, got string" },
    { HOST_DOC("'addresses':[10]"),
      "addresses[0]: expected a string, got integer" },
    { HOST_DOC("'addresses':['10.0.0.1']"),
      "addresses[0]: \"10.0.0.1\" is not an IPv4 or IPv6 CIDR" },
    { HOST_DOC("'addresses':['300.0.0.1/8']"), "is not an IPv4 or IPv6 CIDR" },
    { HOST_DOC("'addresses':['10.0.0.1/+8']"), "is not an IPv4 or IPv6 CIDR" },
    { HOST_DOC("'addresses':['10.0.0.1/8/8']"), "is not an IPv4 or IPv6 CIDR" },
    { HOST_DOC("'addresses':['10.0.0.1/33']"),
      "addresses[0]: prefix /33 is outside 0..32 for IPv4" },
    { HOST_DOC("'addresses':['10.0.0.1/24','fd00::1/129']"),
      "addresses[1]: prefix /129 is outside 0..128 for IPv6" },
    { HOST_DOC("'addresses':['10.0.0.1/24','10.0.0.1/16']"),
      "addresses[1]: \"10.0.0.1/16\" repeats the address of addresses[0]" },
    { DPDK_DOC("'learn_limit':-1"), "learn_limit: -1 is outside 0..1048576" },
    { DPDK_DOC("'learn_limit':true"), "learn_limit: expected an integer" },
    { DOC(SW_DEF ",{'name':'priv','type':'private','fdb_max':16}",
          P_HOST ",{'name':'p1','switch':'priv','class':'dpdk',"
          "'devargs':'net_ring0','learn_limit':17}", ""),
      "ports[1] (\"p1\"): learn_limit: 17 exceeds fdb_max 16 of switch \"priv\"" },
    /* ports: VLAN objects */
    { DPDK_DOC("'vlan':'access 1'"),
      "ports[1] (\"p1\"): vlan: expected an object, got string" },
    { DPDK_DOC("'vlan':{'vid':1}"), "vlan.mode: missing" },
    { DPDK_DOC("'vlan':{'mode':'hybrid'}"),
      "vlan.mode: \"hybrid\" is not \"access\" or \"trunk\"" },
    { DPDK_DOC("'vlan':{'mode':'access'}"), "vlan.vid: missing" },
    { DOC(SW_DEF "," SW_PRIV, P_HOST ",{'name':'p0','switch':'priv',"
          "'class':'dpdk','devargs':'net_ring9'},{'name':'p1','switch':'priv',"
          "'class':'dpdk','devargs':'net_ring0',"
          "'vlan':{'mode':'access','vid':5000}}", ""),
      "ports[2] (\"p1\"): vlan.vid: 5000 is outside 1..4094" },
    { DPDK_DOC("'vlan':{'mode':'access','vid':0}"),
      "vlan.vid: 0 is outside 1..4094" },
    { DPDK_DOC("'vlan':{'mode':'access','vid':'1'}"),
      "vlan.vid: expected an integer, got string" },
    { DPDK_DOC("'vlan':{'mode':'access','vid':1,'allowed':'1'}"),
      "vlan.allowed: not valid in access mode" },
    { DPDK_DOC("'vlan':{'mode':'trunk','vid':1}"),
      "vlan.vid: not valid in trunk mode" },
    { DPDK_DOC("'vlan':{'mode':'trunk','tagged':1}"),
      "unknown key \"vlan.tagged\"" },
    { DPDK_DOC("'vlan':{'mode':'trunk','allowed':'0-10'}"), "vlan.allowed: " },
    { DPDK_DOC("'vlan':{'mode':'trunk','allowed':'1-4095'}"), "vlan.allowed: " },
    { DPDK_DOC("'vlan':{'mode':'trunk','allowed':'1-10,'}"),
      "vlan.allowed: VLAN set '1-10,' ends with ','" },
    { DPDK_DOC("'vlan':{'mode':'trunk','allowed':''}"),
      "vlan.allowed: empty VLAN set" },
    { DPDK_DOC("'vlan':{'mode':'trunk','allowed':[1,2]}"),
      "vlan.allowed: expected a string, got array" },
    { DPDK_DOC("'vlan':{'mode':'trunk','native':4095}"),
      "vlan.native: 4095 is outside 0..4094" },
    { DPDK_DOC("'vlan':{'mode':'trunk','native_tagged':true}"),
      "vlan.native_tagged: needs a native VLAN" },
    { DPDK_DOC("'vlan':{'mode':'trunk','native_tagged':'yes'}"),
      "vlan.native_tagged: expected a boolean, got string" },
    /* ports: uniqueness */
    { DOC(SW_DEF "," SW_PRIV, P_HOST "," P_RING ",{'name':'p1','switch':'priv',"
          "'class':'dpdk','devargs':'net_null0,no-rx=1'}", ""),
      "ports[2] (\"p1\"): name: duplicate of ports[1]" },
    { DOC(SW_DEF "," SW_PRIV, P_HOST "," P_RING ",{'name':'p2','switch':'priv',"
          "'class':'dpdk','devargs':'net_ring0,nodeaction=x'}", ""),
      "ports[2] (\"p2\"): devargs: device \"net_ring0\" is already used by "
      "ports[1] (\"p1\")" },
    /* the names vesperd gives its own TAP and af_packet devices: a dpdk
     * port named so could take one of them at the next start */
    { PORT_DOC("'class':'dpdk','devargs':'net_tap_vsp0,iface=tx0'"),
      "devargs: device names net_tap_vsp… and net_af_packet_vsp… are "
      "reserved for the devices vesperd makes (internal ports, uplinks by "
      "interface name); \"net_tap_vsp0\" is one: choose another name" },
    { PORT_DOC("'class':'dpdk','devargs':'net_af_packet_vsp12,iface=veth0'"),
      "\"net_af_packet_vsp12\" is one: choose another name" },
    /* DPDK's eth_ aliases would bind a kernel NIC unnoticed */
    { PORT_DOC("'class':'dpdk','devargs':'eth_af_packet0,iface=veth0'"),
      "devargs: \"eth_af_packet0\" is DPDK's old alias of a net_ device; "
      "write net_af_packet0" },
    /* net_null receives frames made of recycled buffers (another
     * switch's traffic) unless told no-rx=1 or copy=1 */
    { PORT_DOC("'class':'dpdk','devargs':'net_null4'"),
      "devargs: \"net_null4\" would receive frames: DPDK's net_null makes "
      "them at full speed out of recycled packet buffers, which can hold "
      "other switches' traffic; add no-rx=1 for a port that only discards, "
      "or copy=1 for zero-filled test frames" },
    { PORT_DOC("'class':'dpdk','devargs':'net_null4,no-rx=0,size=60'"),
      "\"net_null4,no-rx=0,size=60\" would receive frames" },
    { PORT_DOC("'class':'dpdk','devargs':'net_null4,no-rx=10'"),
      "would receive frames" },
    /* one receive queue per port: more would never be read */
    { PORT_DOC("'class':'dpdk','devargs':'net_af_packet2,iface=veth0,"
               "qpairs=2'"),
      "devargs: \"net_af_packet2,iface=veth0,qpairs=2\" asks for qpairs=2: "
      "vesperd polls one receive queue per port, so the frames the kernel "
      "hands to the other queues would never be read; leave qpairs out (one "
      "queue is the default) or write qpairs=1" },
    { PORT_DOC("'class':'dpdk','devargs':'net_af_packet2,qpairs=1,"
               "iface=veth0,qpairs=16'"),
      "asks for qpairs=16: " },
    { PORT_DOC("'class':'dpdk','devargs':'net_af_packet2,iface=veth0,"
               "qpairs=+3x'"),
      "asks for qpairs=+3x: " },
    /* net_vhost reads queues= with strtoul base 0, cast to 16 bits: both
     * of these are 2 queues to it */
    { PORT_DOC("'class':'dpdk','devargs':'net_vhost3,iface=/run/v3.sock,"
               "queues=0x2'"),
      "asks for queues=0x2: vesperd polls one receive queue per port" },
    { PORT_DOC("'class':'dpdk','devargs':'net_vhost3,iface=/run/v3.sock,"
               "queues=-65534'"),
      "asks for queues=-65534: " },
    { PORT_DOC("'class':'dpdk','devargs':'net_af_packet2,iface=veth0,"
               "qpairs=010'"),
      "asks for qpairs=010: " },
    { PORT_DOC("'class':'dpdk','devargs':'net_af_packet2,iface=veth0,"
               "qpairs='"),
      "asks for qpairs=: " },
    /* net_af_xdp binds the last iface=, vesperd checks the first */
    { PORT_DOC("'class':'dpdk','devargs':'net_af_xdp0,iface=veth0,"
               "iface=eth0'"),
      "devargs: \"net_af_xdp0,iface=veth0,iface=eth0\" gives iface= more "
      "than once: a net_af_xdp device has one; give it once" },
    { PORT_DOC("'class':'dpdk','devargs':'net_vhost3,iface=/run/a.sock,"
               "queues=1,iface=/run/b.sock'"),
      "gives iface= more than once: a net_vhost device has one" },
    { PORT_DOC("'class':'dpdk','devargs':'net_af_xdp0,iface=veth0,"
               "start_queue=0,queue_count=4'"),
      "asks for queue_count=4: vesperd polls one receive queue per port, so "
      "the frames the kernel hands" },
    { PORT_DOC("'class':'dpdk','devargs':'net_vhost3,iface=/run/v3.sock,"
               "queues=2'"),
      "asks for queues=2: vesperd polls one receive queue per port, so the "
      "frames the guest hands to the other queues would never be read; "
      "leave queues out" },
    { PORT_DOC("'class':'dpdk','devargs':'net_pcap1,rx_pcap=/a,"
               "rx_pcap=/b'"),
      "devargs: \"net_pcap1,rx_pcap=/a,rx_pcap=/b\" gives "
      "net_pcap 2 receive sources (rx_pcap, rx_iface, rx_iface_in, iface), "
      "one receive queue each: vesperd polls one receive queue per port, so "
      "all but the first would never be read; give each port one" },
    { PORT_DOC("'class':'dpdk','devargs':'net_pcap1,iface=veth0,"
               "rx_iface_in=veth1,tx_pcap=/c.pcap'"),
      "gives net_pcap 2 receive sources" },
    { DOC(SW_DEF "," SW_EXT, P_HOST ",{'name':'ext.uplink','switch':'ext',"
          "'class':'uplink','devargs':'net_af_packet3,iface=veth1,"
          "qpairs=2'}", ""),
      "ports[1] (\"ext.uplink\"): devargs: \"net_af_packet3,iface=veth1,"
      "qpairs=2\" asks for qpairs=2" },
    { DOC(SW_DEF "," SW_EXT, P_HOST ",{'name':'ext.uplink','switch':'ext',"
          "'class':'uplink','ifname':'vesper0'}", ""),
      "ports[1] (\"ext.uplink\"): ifname: \"vesper0\" is already used by "
      "ports[0] (\"vesper0\")" },
    /* one kernel interface (or vhost-user socket) named in devargs too */
    { DOC(SW_DEF "," SW_PRIV, P_HOST ",{'name':'t','switch':'priv',"
          "'class':'dpdk','devargs':'net_tap7,iface=vesper0'}", ""),
      "ports[1] (\"t\"): devargs: interface \"vesper0\" is already used by "
      "ports[0] (\"vesper0\")" },
    { DOC(SW_DEF "," SW_EXT, P_HOST ",{'name':'ext.uplink','switch':'ext',"
          "'class':'uplink','devargs':'net_af_packet3,iface=veth1'},"
          "{'name':'a','switch':'ext','class':'dpdk',"
          "'devargs':'net_af_xdp2,start_queue=0,iface=veth1'}", ""),
      "ports[2] (\"a\"): devargs: interface \"veth1\" is already used by "
      "ports[1] (\"ext.uplink\") (in its devargs)" },
    { DOC(SW_DEF "," SW_EXT, P_HOST ",{'name':'a','switch':'default',"
          "'class':'dpdk','devargs':'net_af_packet9,iface=veth2'},"
          "{'name':'ext.uplink','switch':'ext','class':'uplink',"
          "'ifname':'veth2'}", ""),
      "ports[2] (\"ext.uplink\"): ifname: \"veth2\" is already used by "
      "ports[1] (\"a\") (in its devargs)" },
    { DOC(SW_DEF "," SW_PRIV, P_HOST ",{'name':'a','switch':'priv',"
          "'class':'dpdk','devargs':'net_pcap0,rx_iface=veth3,tx_iface=veth4'},"
          "{'name':'b','switch':'priv','class':'dpdk',"
          "'devargs':'net_af_packet1,iface=veth4'}", ""),
      "ports[2] (\"b\"): devargs: interface \"veth4\" is already used by "
      "ports[1] (\"a\") (in its devargs)" },
    { DOC(SW_DEF "," SW_PRIV, P_HOST ",{'name':'a','switch':'priv',"
          "'class':'dpdk','devargs':'net_vhost0,iface=/run/v.sock'},"
          "{'name':'b','switch':'priv','class':'dpdk',"
          "'devargs':'net_vhost1,iface=/run/v.sock,queues=1'}", ""),
      "ports[2] (\"b\"): devargs: vhost-user socket \"/run/v.sock\" is "
      "already used by ports[1] (\"a\") (in its devargs)" },
    /* switch membership */
    { DOC(SW_DEF, P_HOST ",{'name':'u','switch':'default','class':'uplink',"
          "'ifname':'eth0'}", ""),
      "ports[1] (\"u\"): class uplink is allowed on external switches only; "
      "switch \"default\" is internal" },
    { DOC(SW_PRIV, "{'name':'h','switch':'priv','class':'internal',"
          "'ifname':'h'}", ""),
      "class internal is not allowed on private switch \"priv\"" },
    { DOC(SW_EXT, P_UP ",{'name':'h','switch':'ext','class':'internal',"
          "'ifname':'h'}", ""),
      "ports[1] (\"h\"): class internal on external switch \"ext\" needs "
      "management_os: true" },
    { DOC(SW_EXT, "", ""),
      "switches[0] (\"ext\"): an external switch needs exactly one uplink "
      "port, it has 0" },
    { DOC(SW_EXT, P_UP ",{'name':'u2','switch':'ext','class':'uplink',"
          "'devargs':'net_af_packet1,iface=eth1'}", ""),
      "an external switch needs exactly one uplink port, it has 2" },
    { DOC("{'name':'ext','type':'external','management_os':true}", P_UP, ""),
      "switches[0] (\"ext\"): management_os needs exactly one internal port "
      "(the host vNIC), it has 0" },
    { DOC(SW_DEF, "", ""),
      "switches[0] (\"default\"): an internal switch needs exactly one "
      "internal port (the host vNIC), it has 0" },
    { DOC(SW_DEF, P_HOST ",{'name':'h2','switch':'default','class':'internal',"
          "'ifname':'h2'}", ""),
      "an internal switch needs exactly one internal port (the host vNIC), "
      "it has 2" },
    { DOC(SW_EXT, "{'name':'u','switch':'ext','class':'uplink',"
          "'ifname':'eth0','devargs':'net_af_packet0,iface=eth0'}", ""),
      "ports[0] (\"u\"): an uplink port needs exactly one of devargs and "
      "ifname" },
    { DOC(SW_EXT, "{'name':'u','switch':'ext','class':'uplink'}", ""),
      "an uplink port needs exactly one of devargs and ifname" },
    /* static FDB entries */
    { FDB_DOC("[]"), "fdb_static[0]: expected an object, got array" },
    { FDB_DOC("{'switch':'priv','vid':1,'mac':'02:00:00:00:00:01','port':'p1'}"),
      "fdb_static[0]: unknown key \"vid\"" },
    { FDB_DOC("{'switch':'priv','vlan':1,'port':'p1'}"),
      "fdb_static[0]: mac: missing" },
    { FDB_DOC("{'switch':'priv','vlan':1,'mac':'02:00:00:00:00:01'}"),
      "fdb_static[0]: port: missing" },
    { FDB_DOC("{'switch':'x','vlan':1,'mac':'02:00:00:00:00:01','port':'p1'}"),
      "fdb_static[0]: switch: no switch named \"x\"" },
    { FDB_DOC("{'switch':'priv','vlan':1,'mac':'02:00:00:00:00:01','port':'zz'}"),
      "fdb_static[0]: port: no port named \"zz\"" },
    { FDB_DOC("{'switch':'priv','vlan':1,'mac':'02:00:00:00:00:01',"
              "'port':'vesper0'}"),
      "fdb_static[0]: port: \"vesper0\" is on switch \"default\", not "
      "\"priv\"" },
    { FDB_DOC("{'switch':'priv','vlan':20,'mac':'02:00:00:00:00:01',"
              "'port':'p1'}"),
      "fdb_static[0]: port \"p1\" is not a member of VLAN 20" },
    { FDB_DOC("{'switch':'priv','vlan':0,'mac':'02:00:00:00:00:01',"
              "'port':'p1'}"),
      "fdb_static[0]: vlan: 0 is outside 1..4094" },
    { FDB_DOC("{'switch':'priv','vlan':4095,'mac':'02:00:00:00:00:01',"
              "'port':'p1'}"),
      "fdb_static[0]: vlan: 4095 is outside 1..4094" },
    { FDB_DOC("{'switch':'priv','vlan':1,'mac':'01:00:5e:00:00:01',"
              "'port':'p1'}"),
      "fdb_static[0]: mac: 01:00:5e:00:00:01 is a multicast address" },
    { FDB_DOC("{'switch':'priv','vlan':1,'mac':'ff:ff:ff:ff:ff:ff',"
              "'port':'p1'}"),
      "mac: ff:ff:ff:ff:ff:ff is a multicast address" },
    { FDB_DOC("{'switch':'priv','vlan':1,'mac':'00:00:00:00:00:00',"
              "'port':'p1'}"),
      "mac: 00:00:00:00:00:00 is not a station address" },
    { FDB_DOC("{'switch':'priv','vlan':1,'mac':'02:00:00:00:00',"
              "'port':'p1'}"),
      "mac: \"02:00:00:00:00\" is not a MAC address" },
    { FDB_DOC("{'switch':'priv','vlan':1,'mac':'02:00:00:00:00:01',"
              "'port':'p1'},"
              "{'switch':'priv','vlan':1,'mac':'02:00:00:00:00:02',"
              "'port':'p1'},"
              "{'switch':'priv','vlan':1,'mac':'02:00:00:00:00:0A',"
              "'port':'p1'},"
              "{'switch':'priv','vlan':1,'mac':'02-00-00-00-00-0a',"
              "'port':'p1'}"),
      "fdb_static[3]: duplicate of fdb_static[2] (same switch, vlan and mac)" },
    /* VMs */
    { "{'version':1,'vms':{}}", "vms: expected an array, got object" },
    { VM_DOC("7"), "vms[0]: expected an object, got integer" },
    { VM_DOC("{'nics':[]}"), "vms[0]: name: missing" },
    { VM_DOC("{'name':'a b'}"), "vms[0]: name: \"a b\" is not a valid name" },
    { VM_DOC("{'name':'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'}"),
      "is not a valid name" },
    { VM_DOC("{'name':'vm1','nic':[]}"),
      "vms[0] (\"vm1\"): unknown key \"nic\"" },
    { VM_DOC("{'name':'vm1','nics':{}}"),
      "vms[0] (\"vm1\"): nics: expected an array, got object" },
    { VM_DOC("{'name':'vm1'},{'name':'vm1'}"),
      "vms[1] (\"vm1\"): name: duplicate of vms[0]" },
    { VM_DOC("{'name':'vm1','nics':[5]}"),
      "vms[0] (\"vm1\").nics[0]: expected an object, got integer" },
    { VM_DOC("{'name':'vm1','nics':[{'type':'synthetic'}]}"),
      "vms[0] (\"vm1\").nics[0]: name: missing" },
    { NIC_DOC("'type':'synthetic','switch':'priv','speed':10"),
      "vms[0] (\"vm1\").nics[0] (\"eth0\"): unknown key \"speed\"" },
    { NIC_DOC("'switch':'priv'"),
      "vms[0] (\"vm1\").nics[0] (\"eth0\"): type: missing" },
    { NIC_DOC("'type':'e1000','switch':'priv'"),
      "vms[0] (\"vm1\").nics[0] (\"eth0\"): type: \"e1000\" is not "
      "\"synthetic\" or \"legacy\"" },
    { NIC_DOC("'type':'Legacy','switch':'priv'"),
      "type: \"Legacy\" is not \"synthetic\" or \"legacy\"" },
    { NIC_DOC("'type':'legacy'"), "nics[0] (\"eth0\"): switch: missing" },
    { NIC_DOC("'type':'legacy','switch':'priv','vlan':{'mode':'access',"
              "'vid':0}"),
      "nics[0] (\"eth0\"): vlan.vid: 0 is outside 1..4094" },
    /* NIC MACs are unique across both types */
    { VM_DOC("{'name':'vm1','nics':[{'name':'eth0','type':'synthetic',"
             "'switch':'priv','mac':'02:00:00:00:00:01'},{'name':'eth1',"
             "'type':'legacy','switch':'priv','mac':'02:00:00:00:00:01'}]}"),
      "vms[0] (\"vm1\").nics[1] (\"eth1\"): mac: 02:00:00:00:00:01 is "
      "already used by vms[0] (\"vm1\").nics[0] (\"eth0\")" },
    { PORT_DOC("'class':'legacy'"),
      "class: legacy ports are VM NICs; they are configured in "
      "vms[].nics[]" },
    { NIC_DOC("'type':'synthetic'"), "nics[0] (\"eth0\"): switch: missing" },
    { NIC_DOC("'type':'synthetic','switch':'nope'"),
      "vms[0] (\"vm1\").nics[0] (\"eth0\"): switch: no switch named "
      "\"nope\"" },
    { SNIC_DOC("'mac':'02:00:00:00:00'"),
      "nics[0] (\"eth0\"): mac: \"02:00:00:00:00\" is not a MAC address" },
    { SNIC_DOC("'mac':'03:00:00:00:00:01'"),
      "mac: 03:00:00:00:00:01 is a multicast address" },
    { SNIC_DOC("'mac':'00:00:00:00:00:00'"),
      "mac: 00:00:00:00:00:00 is not a station address" },
    { SNIC_DOC("'mac':5"), "mac: expected a string, got integer" },
    { SNIC_DOC("'connected':1"),
      "vms[0] (\"vm1\").nics[0] (\"eth0\"): connected: expected a "
      "boolean, got integer" },
    { SNIC_DOC("'connected':'false'"),
      "nics[0] (\"eth0\"): connected: expected a boolean, got string" },
    { NIC_DOC("'type':'legacy','switch':'priv','connected':null"),
      "nics[0] (\"eth0\"): connected: expected a boolean, got null" },
    { SNIC_DOC("'vlan':{'mode':'access','vid':4095}"),
      "nics[0] (\"eth0\"): vlan.vid: 4095 is outside 1..4094" },
    { SNIC_DOC("'learn_limit':8193"),
      "nics[0] (\"eth0\"): learn_limit: 8193 exceeds fdb_max 8192 of "
      "switch \"priv\"" },
    { VM_DOC("{'name':'vm1','nics':[" "{'name':'e','type':'synthetic',"
             "'switch':'priv'},{'name':'e','type':'synthetic',"
             "'switch':'priv'}]}"),
      "vms[0] (\"vm1\").nics[1] (\"e\"): name: duplicate of nics[0]" },
    { VM_DOC("{'name':'vm1','nics':[{'name':'e','type':'synthetic',"
             "'switch':'priv','mac':'02:00:00:00:00:07'}]},"
             "{'name':'vm2','nics':[{'name':'e','type':'synthetic',"
             "'switch':'priv','mac':'02-00-00-00-00-07'}]}"),
      "vms[1] (\"vm2\").nics[0] (\"e\"): mac: 02:00:00:00:00:07 is already "
      "used by vms[0] (\"vm1\").nics[0] (\"e\")" },
    { "{'version':1,'switches':[" SW_PRIV "],'ports':[{'name':'vm1.eth0',"
      "'switch':'priv','class':'dpdk','devargs':'net_ring0'}],'vms':["
      "{'name':'vm1','nics':[{'name':'eth0','type':'synthetic',"
      "'switch':'priv'}]}]}",
      "vms[0] (\"vm1\").nics[0] (\"eth0\"): port name \"vm1.eth0\" is "
      "already used by ports[0] (\"vm1.eth0\")" },
    { "{'version':1,'switches':[" SW_PRIV "],'vms':["
      "{'name':'a.b','nics':[{'name':'c','type':'synthetic',"
      "'switch':'priv'}]},"
      "{'name':'a','nics':[{'name':'b.c','type':'synthetic',"
      "'switch':'priv'}]}]}",
      "vms[1] (\"a\").nics[0] (\"b.c\"): port name \"a.b.c\" is already "
      "used by vms[0] (\"a.b\").nics[0] (\"c\")" },
    { DOC(SW_PRIV, "{'name':'s','switch':'priv','class':'synthetic'}", ""),
      "ports[0] (\"s\"): class: synthetic ports are VM NICs; they are "
      "configured in vms[].nics[]" },
    { VM_DOC_FDB("{'name':'vm1','nics':[{'name':'eth0','type':'synthetic',"
                 "'switch':'priv','vlan':{'mode':'access','vid':5}}]}",
                 "{'switch':'priv','vlan':6,'mac':'02:00:00:00:00:01',"
                 "'port':'vm1.eth0'}"),
      "fdb_static[0]: port \"vm1.eth0\" is not a member of VLAN 6" },
    { VM_DOC_FDB("{'name':'vm1','nics':[]}",
                 "{'switch':'priv','vlan':1,'mac':'02:00:00:00:00:01',"
                 "'port':'vm1.eth0'}"),
      "fdb_static[0]: port: no port named \"vm1.eth0\"" },
    /* the derived address of vm2.x taken explicitly by an earlier NIC */
    { VM_DOC("{'name':'vm1','nics':[{'name':'eth0','type':'synthetic',"
             "'switch':'priv','mac':'9e:c4:f1:91:ef:b9'}]},"
             "{'name':'vm2','nics':[{'name':'x','type':'synthetic',"
             "'switch':'priv'}]}"),
      "vms[1] (\"vm2\").nics[0] (\"x\"): mac: the derived address 9e:c4:f1:91:ef:b9 is "
      "already used by vms[0] (\"vm1\").nics[0] (\"eth0\"); set \"mac\" "
      "explicitly" },
};

static void test_bad_table(void **state)
{
    (void)state;
    assert_true(VSA_ARRAY_LEN(bad_cases) >= 40);
    for (size_t i = 0; i < VSA_ARRAY_LEN(bad_cases); i++) {
        struct ctl_config *sentinel = (struct ctl_config *)&bad_cases[i];
        struct ctl_config *cfg = sentinel;
        struct vsa_errmsg em = { "" };
        json_t *doc = jq(bad_cases[i].doc);
        int rc = ctl_config_parse(doc, &cfg, &em);

        if (rc != -EINVAL)
            fail_msg("case %zu accepted (rc %d): %s", i, rc, bad_cases[i].doc);
        assert_ptr_equal(cfg, sentinel);
        if (!strstr(em.msg, bad_cases[i].msg))
            fail_msg("case %zu: message \"%s\" lacks \"%s\"", i, em.msg,
                     bad_cases[i].msg);
        json_decref(doc);
    }
}

/* A string holding a NUL byte is refused, not silently cut. */
static void test_nul_in_string(void **state)
{
    struct ctl_config *cfg = NULL;
    struct vsa_errmsg em;
    json_t *doc = jq(DOC(SW_PRIV, "", ""));

    (void)state;
    json_object_set_new(json_array_get(json_object_get(doc, "switches"), 0),
                        "type", json_stringn("private\0x", 9));
    assert_int_equal(ctl_config_parse(doc, &cfg, &em), -EINVAL);
    assert_substr(em.msg, "switches[0] (\"priv\"): type: contains a NUL byte");
    assert_int_equal(ctl_config_parse(NULL, &cfg, &em), -EINVAL);
    assert_substr(em.msg, "got nothing");
    json_decref(doc);
}

/* Size limits: one over each limit is refused before any work. */
static void test_limits(void **state)
{
    struct ctl_config *cfg = NULL;
    struct vsa_errmsg em;
    json_t *doc = jq("{'version':1,'switches':[],'ports':[],'fdb_static':[]}");
    json_t *sws = json_object_get(doc, "switches");
    json_t *ports = json_object_get(doc, "ports");
    json_t *fdb = json_object_get(doc, "fdb_static");

    (void)state;
    for (int i = 0; i < CTL_MAX_SWITCHES + 1; i++)
        json_array_append_new(sws, json_pack("{s:s#,s:s}", "name", "s", 1,
                                             "type", "private"));
    assert_int_equal(ctl_config_parse(doc, &cfg, &em), -EINVAL);
    assert_substr(em.msg, "switches: 65 entries, at most 64");
    json_array_clear(sws);
    for (int i = 0; i < CTL_MAX_PORTS + 1; i++)
        json_array_append_new(ports, json_object());
    assert_int_equal(ctl_config_parse(doc, &cfg, &em), -EINVAL);
    assert_substr(em.msg, "ports: 1025 entries, at most 1024");
    json_array_clear(ports);
    for (int i = 0; i < CTL_MAX_FDB_STATIC + 1; i++)
        json_array_append_new(fdb, json_object());
    assert_int_equal(ctl_config_parse(doc, &cfg, &em), -EINVAL);
    assert_substr(em.msg, "fdb_static: 65537 entries, at most 65536");
    json_array_clear(fdb);

    /* VMs: at most 256, 8 NICs each, and NICs count as ports */
    {
        json_t *vms = json_array(), *nics = json_array();
        char name[32];

        json_object_set_new(doc, "vms", vms);
        for (int i = 0; i < CTL_MAX_VMS + 1; i++)
            json_array_append_new(vms, json_object());
        assert_int_equal(ctl_config_parse(doc, &cfg, &em), -EINVAL);
        assert_substr(em.msg, "vms: 257 entries, at most 256");
        json_array_clear(vms);
        json_array_append_new(sws, json_pack("{s:s,s:s}", "name", "s",
                                             "type", "private"));
        for (int i = 0; i < CTL_MAX_VM_NICS + 1; i++) {
            snprintf(name, sizeof(name), "n%d", i);
            json_array_append_new(nics, json_pack("{s:s,s:s,s:s}", "name",
                                                  name, "type", "synthetic",
                                                  "switch", "s"));
        }
        json_array_append_new(vms, json_pack("{s:s,s:O}", "name", "v",
                                             "nics", nics));
        assert_int_equal(ctl_config_parse(doc, &cfg, &em), -EINVAL);
        assert_substr(em.msg, "vms[0] (\"v\"): nics: 9 entries, at most 8");
        json_array_remove(nics, 0);
        assert_int_equal(ctl_config_parse(doc, &cfg, &em), 0);
        ctl_config_free(cfg);
        for (int i = 0; i < CTL_MAX_PORTS - 7; i++)
            json_array_append_new(ports, json_object());
        assert_int_equal(ctl_config_parse(doc, &cfg, &em), -EINVAL);
        assert_substr(em.msg, "ports: 1017 ports and 8 VM NICs, at most "
                              "1024 switch ports in all");
        json_decref(nics);
    }
    json_decref(doc);
}

/* A switch's static FDB entries fit in its fdb_max (the FDB takes them
 * before learned entries, but holds fdb_max): 16 on fdb_max 16 parse, a
 * 17th is refused, naming the switch. */
static void test_fdb_static_within_fdb_max(void **state)
{
    struct ctl_config *cfg = NULL;
    struct vsa_errmsg em;
    json_t *doc = jq(DOC("{'name':'priv','type':'private','fdb_max':16}",
                         P_RING, ""));
    json_t *fdb = json_object_get(doc, "fdb_static");
    char mac[32];

    (void)state;
    for (int i = 0; i < 17; i++) {
        snprintf(mac, sizeof(mac), "02:00:00:00:01:%02x", i);
        if (i == 16) {
            assert_int_equal(ctl_config_parse(doc, &cfg, &em), 0);
            ctl_config_free(cfg);
        }
        json_array_append_new(fdb, json_pack("{s:s,s:i,s:s,s:s}", "switch",
                                             "priv", "vlan", 1, "mac", mac,
                                             "port", "p1"));
    }
    assert_int_equal(ctl_config_parse(doc, &cfg, &em), -EINVAL);
    assert_substr(em.msg, "switches[0] (\"priv\"): fdb_max: 17 static FDB "
                          "entries on this switch, more than its fdb_max of "
                          "16");
    json_decref(doc);
}

/* The largest valid document (1024 ports, 65536 static entries, 64
 * switches) parses, and quickly: the pairwise checks are bounded. */
static void test_max_size(void **state)
{
    struct ctl_config *cfg = NULL;
    struct vsa_errmsg em;
    json_t *doc = jq("{'version':1,'switches':[],'ports':[],'fdb_static':[]}");
    json_t *sws = json_object_get(doc, "switches");
    json_t *ports = json_object_get(doc, "ports");
    json_t *fdb = json_object_get(doc, "fdb_static");
    struct timespec t0, t1;
    char name[32], dev[32], mac[32];
    double ms;
    int rc;

    (void)state;
    for (int i = 0; i < CTL_MAX_SWITCHES; i++) {
        snprintf(name, sizeof(name), "s%d", i);
        json_array_append_new(sws, json_pack("{s:s,s:s,s:i}", "name", name,
                                             "type", "private", "fdb_max",
                                             CTL_FDB_MAX_MAX));
    }
    for (int i = 0; i < CTL_MAX_PORTS; i++) {
        snprintf(name, sizeof(name), "p%d", i);
        snprintf(dev, sizeof(dev), "net_null%d,no-rx=1", i);
        json_array_append_new(ports, json_pack("{s:s,s:s,s:s,s:s}", "name",
                                               name, "switch", "s0", "class",
                                               "dpdk", "devargs", dev));
    }
    for (int i = 0; i < CTL_MAX_FDB_STATIC; i++) {
        snprintf(name, sizeof(name), "p%d", i % CTL_MAX_PORTS);
        snprintf(mac, sizeof(mac), "02:00:00:00:%02x:%02x", i >> 8, i & 255);
        json_array_append_new(fdb, json_pack("{s:s,s:i,s:s,s:s}", "switch",
                                             "s0", "vlan", 1, "mac", mac,
                                             "port", name));
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    rc = ctl_config_parse(doc, &cfg, &em);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (rc)
        fail_msg("%s", em.msg);
    ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
         (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    print_message("max-size document parsed in %.1f ms\n", ms);
    assert_true(ms < 5000);
    assert_int_equal(cfg->n_fdb_static, CTL_MAX_FDB_STATIC);
    ctl_config_free(cfg);

    /* ... and a duplicate at the very end is still found. */
    snprintf(mac, sizeof(mac), "02:00:00:00:00:00");
    json_array_set_new(fdb, CTL_MAX_FDB_STATIC - 1,
                       json_pack("{s:s,s:i,s:s,s:s}", "switch", "s0", "vlan",
                                 1, "mac", "02:00:00:00:00:01", "port", "p1"));
    assert_int_equal(ctl_config_parse(doc, &cfg, &em), -EINVAL);
    assert_substr(em.msg, "fdb_static[65535]: duplicate of fdb_static[1]");
    json_decref(doc);
}

/* Document → text → document → parse gives the same values. */
static void test_round_trip(void **state)
{
    struct ctl_config *a, *b;
    struct vsa_errmsg em;
    json_t *doc = jq(TT_RICH_DOC), *again;
    char *text;

    (void)state;
    assert_int_equal(ctl_config_parse(doc, &a, &em), 0);
    text = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
    again = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    assert_non_null(again);
    assert_true(json_equal(doc, again));
    assert_int_equal(ctl_config_parse(again, &b, &em), 0);
    assert_int_equal(a->n_switches, b->n_switches);
    assert_memory_equal(a->switches, b->switches,
                        a->n_switches * sizeof(*a->switches));
    assert_int_equal(a->n_ports, b->n_ports);
    for (uint32_t i = 0; i < a->n_ports; i++) {
        struct ctl_port pa = a->ports[i], pb = b->ports[i];

        assert_int_equal(pa.n_addresses, pb.n_addresses);
        for (uint32_t k = 0; k < pa.n_addresses; k++)
            assert_string_equal(pa.addresses[k], pb.addresses[k]);
        pa.addresses = pb.addresses = NULL;
        assert_memory_equal(&pa, &pb, sizeof(pa));
    }
    assert_int_equal(a->n_fdb_static, b->n_fdb_static);
    assert_memory_equal(a->fdb_static, b->fdb_static,
                        a->n_fdb_static * sizeof(*a->fdb_static));
    ctl_config_free(a);
    ctl_config_free(b);
    free(text);
    json_decref(again);
    json_decref(doc);
}

/* The same for a document with VMs (ports, vms, NIC MACs). */
static void test_round_trip_vms(void **state)
{
    struct ctl_config *a, *b;
    struct vsa_errmsg em;
    json_t *doc = jq(TT_VM_DOC), *again;
    char *text;

    (void)state;
    assert_int_equal(ctl_config_parse(doc, &a, &em), 0);
    text = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
    again = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    assert_int_equal(ctl_config_parse(again, &b, &em), 0);
    assert_int_equal(a->n_ports, b->n_ports);
    assert_int_equal(a->n_vms, b->n_vms);
    assert_memory_equal(a->vms, b->vms, a->n_vms * sizeof(*a->vms));
    for (uint32_t i = 0; i < a->n_ports; i++) {
        struct ctl_port pa = a->ports[i], pb = b->ports[i];

        pa.addresses = pb.addresses = NULL;
        assert_memory_equal(&pa, &pb, sizeof(pa));
    }
    ctl_config_free(a);
    ctl_config_free(b);
    free(text);
    json_decref(again);
    json_decref(doc);
}

/* VLAN objects: canonical form and parse ∘ print = identity. */
static void test_vlan_json(void **state)
{
    static const char *const canon[] = {
        "{'mode':'access','vid':1}",
        "{'mode':'access','vid':4094}",
        "{'mode':'trunk','allowed':'1-4094','native':0,'native_tagged':false}",
        "{'mode':'trunk','allowed':'1-10,20,30-32','native':20,"
        "'native_tagged':true}",
        "{'mode':'trunk','allowed':'2,4,6,4094','native':0,"
        "'native_tagged':false}",
    };
    struct vlan_port_mode m;
    struct vsa_errmsg em;

    (void)state;
    for (size_t i = 0; i < VSA_ARRAY_LEN(canon); i++) {
        json_t *in = jq(canon[i]), *out;

        assert_int_equal(ctl_vlan_from_json(in, &m, &em), 0);
        out = ctl_vlan_to_json(&m);
        assert_non_null(out);
        if (!json_equal(in, out)) {
            char *s = jdump(out);
            fail_msg("not canonical: %s -> %s", canon[i], s);
        }
        json_decref(in);
        json_decref(out);
    }
    /* Defaults are filled in: a bare trunk allows everything. */
    {
        json_t *in = jq("{'mode':'trunk'}");
        char buf[32];

        assert_int_equal(ctl_vlan_from_json(in, &m, &em), 0);
        vlan_set_format(m.allowed, buf, sizeof(buf));
        assert_string_equal(buf, "1-4094");
        assert_int_equal(m.native_vid, 0);
        json_decref(in);
    }
    /* The RPC layer sees messages without an object prefix. */
    {
        json_t *in = jq("{'mode':'access','vid':5000}");

        m.access_vid = 77;
        assert_int_equal(ctl_vlan_from_json(in, &m, &em), -EINVAL);
        assert_string_equal(em.msg, "vlan.vid: 5000 is outside 1..4094");
        assert_int_equal(m.access_vid, 77); /* untouched */
        json_decref(in);
    }
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(ctl_switch_type_name(CTL_SWITCH_EXTERNAL), "external");
    assert_string_equal(ctl_switch_type_name(CTL_SWITCH_INTERNAL), "internal");
    assert_string_equal(ctl_switch_type_name(CTL_SWITCH_PRIVATE), "private");
    assert_string_equal(ctl_port_class_name(CTL_PORT_DPDK), "dpdk");
    assert_string_equal(ctl_port_class_name(CTL_PORT_INTERNAL), "internal");
    assert_string_equal(ctl_port_class_name(CTL_PORT_UPLINK), "uplink");
    assert_string_equal(ctl_port_class_name(CTL_PORT_SYNTHETIC), "synthetic");
    assert_string_equal(ctl_port_class_name(CTL_PORT_LEGACY), "legacy");
    assert_string_equal(ctl_nic_type_name(CTL_NIC_SYNTHETIC), "synthetic");
    assert_string_equal(ctl_nic_type_name(CTL_NIC_LEGACY), "legacy");
    assert_true(ctl_name_is_valid("a"));
    assert_true(ctl_name_is_valid("A-z_0.9"));
    assert_true(ctl_name_is_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));   /* 31 */
    assert_false(ctl_name_is_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")); /* 32 */
    assert_false(ctl_name_is_valid(""));
    assert_false(ctl_name_is_valid("a b"));
    assert_false(ctl_name_is_valid("a/b"));
    assert_false(ctl_name_is_valid("\xc3\xa9"));
    assert_true(ctl_ifname_is_valid("abcdefghijklmno"));   /* 15 */
    assert_false(ctl_ifname_is_valid("abcdefghijklmnop")); /* 16 */
    assert_false(ctl_ifname_is_valid("."));
    assert_false(ctl_ifname_is_valid(".."));
    assert_true(ctl_ifname_is_valid("..."));
    assert_false(ctl_ifname_is_valid(""));
    assert_false(ctl_ifname_is_valid("eth0:1"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default),
        cmocka_unit_test(test_rich),
        cmocka_unit_test(test_vms),
        cmocka_unit_test(test_vms_legacy),
        cmocka_unit_test(test_nic_mac_vectors),
        cmocka_unit_test(test_minimal),
        cmocka_unit_test(test_devargs_holds_distinct),
        cmocka_unit_test(test_devargs_one_rx_queue),
        cmocka_unit_test(test_boundaries_ok),
        cmocka_unit_test(test_bad_table),
        cmocka_unit_test(test_nul_in_string),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_fdb_static_within_fdb_max),
        cmocka_unit_test(test_max_size),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_round_trip_vms),
        cmocka_unit_test(test_vlan_json),
        cmocka_unit_test(test_names),
    };

    return cmocka_run_group_tests_name("tools-config", tests, NULL, NULL);
}
