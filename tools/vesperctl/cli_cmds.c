/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cli_cmds.c — vesperctl's command table: every command, its JSON-RPC
 * method (docs/rpc.md), its arguments, and the rules that span arguments.
 *
 * docs/cli.md documents the same table for operators; keep them in step.
 */
#include "tools/vesperctl/cli_private.h"

#include <errno.h>
#include <string.h>

#include "common/vsa_compiler.h"

static const char *const switch_types[] = {"external", "internal", "private",
                                           NULL};
static const char *const port_classes[] = {"dpdk", "internal", NULL};
static const char *const directions[] = {"rx", "tx", "both", NULL};
/* synthetic: a VMBus network adapter; legacy: an emulated DEC 21140A. */
static const char *const nic_types[] = {"synthetic", "legacy", NULL};

/* Shared option rows (config.md gives the ranges). */
#define OPT_FDB_MAX                                                         \
    {.name = "--fdb-max", .type = CTL_CLI_T_UINT, .key = "fdb_max",         \
     .min = 16, .max = 1048576, .metavar = "N",                             \
     .help = "most FDB entries in the switch (16..1048576, default 8192)"}
#define OPT_AGING                                                           \
    {.name = "--aging", .type = CTL_CLI_T_UINT, .key = "aging_s",           \
     .min = 10, .max = 1000000, .metavar = "SEC",                           \
     .help = "idle seconds before a learned entry expires "                 \
             "(10..1000000, default 300)"}
#define OPT_ADDRESS(what)                                                   \
    {.name = "--address", .type = CTL_CLI_T_CIDR, .key = "addresses",       \
     .flags = CTL_CLI_F_REPEAT, .metavar = "CIDR",                          \
     .help = what " address, IPv4 or IPv6 with prefix (repeatable)"}
#define OPT_MTU(what)                                                       \
    {.name = "--mtu", .type = CTL_CLI_T_UINT, .key = "mtu", .min = 68,      \
     .max = 1500, .metavar = "N",                                           \
     .help = what " MTU (68..1500, default 1500)"}
#define OPT_VLAN_ROWS                                                       \
    {.name = "--access", .type = CTL_CLI_T_VID, .metavar = "VID",           \
     .help = "access port: untagged frames on VLAN VID (1..4094)"},         \
    {.name = "--trunk", .type = CTL_CLI_T_VLAN_SET, .metavar = "SET",       \
     .help = "trunk port: tagged VLANs allowed, e.g. 1-10,20"},             \
    {.name = "--native", .type = CTL_CLI_T_UINT, .min = 0, .max = 4094,     \
     .metavar = "VID",                                                      \
     .help = "trunk: VLAN of untagged frames (0 = drop them, the default)"},\
    {.name = "--native-tagged", .type = CTL_CLI_T_FLAG,                     \
     .help = "trunk: send the native VLAN tagged"}
#define OPT_LEARN_LIMIT                                                     \
    {.name = "--learn-limit", .type = CTL_CLI_T_UINT, .key = "learn_limit", \
     .min = 0, .max = 1048576, .metavar = "N",                              \
     .help = "most MACs learned on the port (0 = no limit)"}
#define OPT_END {.name = NULL}

static const struct ctl_cli_opt switch_add_opts[] = {
    {.name = "--type", .type = CTL_CLI_T_CHOICE, .key = "type",
     .choices = switch_types, .flags = CTL_CLI_F_REQUIRED, .metavar = "TYPE",
     .help = "external, internal or private (required)"},
    {.name = "--uplink", .type = CTL_CLI_T_IFNAME, .key = "uplink",
     .metavar = "IFNAME",
     .help = "external: kernel interface to bind (net_af_packet)"},
    {.name = "--uplink-devargs", .type = CTL_CLI_T_STRING,
     .key = "uplink_devargs", .metavar = "DEVARGS",
     .help = "external: DPDK device instead, e.g. 0000:03:00.0"},
    {.name = "--management-os", .type = CTL_CLI_T_FLAG,
     .key = "management_os",
     .help = "external: the host keeps a vNIC on the switch"},
    {.name = "--host-ifname", .type = CTL_CLI_T_HOSTIF, .key = "host_ifname",
     .metavar = "NAME",
     .help = "host vNIC TAP and port name (default: NAME, or NAME-host)"},
    OPT_ADDRESS("host vNIC"),
    OPT_MTU("host vNIC"),
    OPT_FDB_MAX,
    OPT_AGING,
    OPT_END,
};

static const struct ctl_cli_opt switch_set_opts[] = {
    OPT_FDB_MAX,
    OPT_AGING,
    OPT_END,
};

static const struct ctl_cli_opt port_add_opts[] = {
    {.name = "--switch", .type = CTL_CLI_T_NAME, .key = "switch",
     .flags = CTL_CLI_F_REQUIRED, .metavar = "SWITCH",
     .help = "switch to attach to (required)"},
    {.name = "--class", .type = CTL_CLI_T_CHOICE, .key = "class",
     .choices = port_classes, .flags = CTL_CLI_F_REQUIRED,
     .metavar = "CLASS",
     .help = "dpdk (required; internal ports are made by switch add)"},
    {.name = "--devargs", .type = CTL_CLI_T_STRING, .key = "devargs",
     .metavar = "DEVARGS",
     .help = "dpdk: the device, e.g. net_af_packet0,iface=veth1"},
    {.name = "--ifname", .type = CTL_CLI_T_IFNAME, .key = "ifname",
     .metavar = "IF", .help = "internal: TAP interface name (1..15 chars)"},
    OPT_ADDRESS("internal: TAP"),
    OPT_MTU("internal: TAP"),
    OPT_VLAN_ROWS,
    OPT_LEARN_LIMIT,
    OPT_END,
};

static const struct ctl_cli_opt port_set_opts[] = {
    OPT_VLAN_ROWS,
    OPT_LEARN_LIMIT,
    {.name = "--address", .type = CTL_CLI_T_CIDR, .key = "addresses",
     .flags = CTL_CLI_F_REPEAT, .metavar = "CIDR",
     .help = "host vNIC: an address, IPv4 or IPv6 with prefix (repeatable; "
             "the ones given replace all it has)"},
    {.name = "--no-addresses", .type = CTL_CLI_T_FLAG,
     .help = "host vNIC: remove all its addresses"},
    {.name = "--mtu", .type = CTL_CLI_T_UINT, .key = "mtu", .min = 68,
     .max = 1500, .metavar = "N", .help = "host vNIC: its MTU (68..1500)"},
    OPT_END,
};

static const struct ctl_cli_opt port_list_opts[] = {
    {.name = "--switch", .type = CTL_CLI_T_NAME, .key = "switch",
     .metavar = "SWITCH", .help = "only the ports of this switch"},
    OPT_END,
};

static const struct ctl_cli_opt fdb_show_opts[] = {
    {.name = "--vlan", .type = CTL_CLI_T_VID, .key = "vlan", .metavar = "VID",
     .help = "only entries of this VLAN"},
    {.name = "--port", .type = CTL_CLI_T_PORT, .key = "port",
     .metavar = "PORT", .help = "only entries pointing to this port"},
    OPT_END,
};

static const struct ctl_cli_opt fdb_add_opts[] = {
    {.name = "--vlan", .type = CTL_CLI_T_VID, .key = "vlan",
     .flags = CTL_CLI_F_REQUIRED, .metavar = "VID",
     .help = "VLAN of the entry (required)"},
    {.name = "--mac", .type = CTL_CLI_T_UMAC, .key = "mac",
     .flags = CTL_CLI_F_REQUIRED, .metavar = "MAC",
     .help = "unicast MAC address (required)"},
    {.name = "--port", .type = CTL_CLI_T_PORT, .key = "port",
     .flags = CTL_CLI_F_REQUIRED, .metavar = "PORT",
     .help = "port the MAC lives behind (required)"},
    OPT_END,
};

static const struct ctl_cli_opt fdb_del_opts[] = {
    {.name = "--vlan", .type = CTL_CLI_T_VID, .key = "vlan",
     .flags = CTL_CLI_F_REQUIRED, .metavar = "VID",
     .help = "VLAN of the entry (required)"},
    {.name = "--mac", .type = CTL_CLI_T_MAC, .key = "mac",
     .flags = CTL_CLI_F_REQUIRED, .metavar = "MAC",
     .help = "MAC address of the entry (required)"},
    OPT_END,
};

static const struct ctl_cli_opt fdb_flush_opts[] = {
    {.name = "--port", .type = CTL_CLI_T_PORT, .key = "port",
     .metavar = "PORT", .help = "only entries learned on this port"},
    {.name = "--vlan", .type = CTL_CLI_T_VID, .key = "vlan", .metavar = "VID",
     .help = "only entries of this VLAN"},
    OPT_END,
};

static const struct ctl_cli_opt stats_opts[] = {
    {.name = "--clear", .type = CTL_CLI_T_FLAG,
     .help = "reset the counters instead of showing them"},
    OPT_END,
};

static const struct ctl_cli_opt capture_opts[] = {
    {.name = "-w", .alias = "--write", .type = CTL_CLI_T_PATH, .key = "file",
     .flags = CTL_CLI_F_REQUIRED, .metavar = "FILE",
     .help = "pcap file vesperd writes (made absolute; required)"},
    {.name = "-c", .alias = "--count", .type = CTL_CLI_T_UINT, .key = "count",
     .min = 0, .max = UINT32_MAX, .metavar = "COUNT",
     .help = "stop after COUNT frames (0 = until Ctrl-C or --duration)"},
    {.name = "--direction", .type = CTL_CLI_T_CHOICE, .key = "direction",
     .choices = directions, .metavar = "DIR",
     .help = "rx, tx or both (default both)"},
    {.name = "--snaplen", .type = CTL_CLI_T_UINT, .key = "snaplen",
     .min = 1, .max = 262144, .metavar = "N",
     .help = "bytes kept of each frame (1..262144; at most 2048 are "
             "kept, the default)"},
    {.name = "--duration", .type = CTL_CLI_T_UINT, .min = 1,
     .max = 31536000, .metavar = "SEC", .help = "stop after SEC seconds"},
    OPT_END,
};

static const struct ctl_cli_opt vm_nic_add_opts[] = {
    {.name = "--switch", .type = CTL_CLI_T_NAME, .key = "switch",
     .flags = CTL_CLI_F_REQUIRED, .metavar = "SWITCH",
     .help = "switch the NIC's port joins (required)"},
    {.name = "--type", .type = CTL_CLI_T_CHOICE, .key = "type",
     .choices = nic_types, .flags = CTL_CLI_F_REQUIRED, .metavar = "TYPE",
     .help = "synthetic (VMBus) or legacy (emulated DEC 21140A) (required)"},
    {.name = "--name", .type = CTL_CLI_T_NAME, .key = "name",
     .metavar = "NIC", .help = "NIC name (default: the first free nicN)"},
    {.name = "--mac", .type = CTL_CLI_T_UMAC, .key = "mac", .metavar = "MAC",
     .help = "unicast MAC (default: derived from the VM and NIC names)"},
    OPT_VLAN_ROWS,
    OPT_LEARN_LIMIT,
    {.name = "--mac-spoofing", .type = CTL_CLI_T_FLAG, .key = "mac_spoofing",
     .help = "let the guest send from other MACs than the NIC's (default: "
             "such frames are dropped)"},
    OPT_END,
};

static const char *const on_off[] = { "on", "off", NULL };

static const struct ctl_cli_opt vm_nic_set_opts[] = {
    {.name = "--mac-spoofing", .type = CTL_CLI_T_CHOICE, .key = "mac_spoofing",
     .choices = on_off, .flags = CTL_CLI_F_REQUIRED, .metavar = "on|off",
     .help = "on: the guest may send from any source MAC; off: frames from "
             "other MACs than the NIC's are dropped (required)"},
    OPT_END,
};

/* --- finish hooks --------------------------------------------------- */

static bool has(const json_t *obj, const char *key)
{
    return json_object_get(obj, key) != NULL;
}

static int finish_switch_add(struct ctl_cli_req *req, json_t *params,
                             json_t *aside, struct vsa_errmsg *em)
{
    const char *type = json_string_value(json_object_get(params, "type"));
    bool external = type && !strcmp(type, "external");
    bool mgmt = has(params, "management_os");
    static const char *const host_opts[][2] = {
        {"host_ifname", "--host-ifname"},
        {"addresses", "--address"},
        {"mtu", "--mtu"},
    };

    (void)req;
    (void)aside;
    if (has(params, "uplink") && has(params, "uplink_devargs"))
        return vsa_errmsg_set(em, -EINVAL, "--uplink and --uplink-devargs "
                              "are mutually exclusive");
    if (external && !has(params, "uplink") && !has(params, "uplink_devargs"))
        return vsa_errmsg_set(em, -EINVAL, "--type external needs --uplink "
                              "IFNAME or --uplink-devargs DEVARGS");
    if (!external) {
        if (has(params, "uplink"))
            return vsa_errmsg_set(em, -EINVAL,
                                  "--uplink: only for --type external");
        if (has(params, "uplink_devargs"))
            return vsa_errmsg_set(em, -EINVAL,
                                  "--uplink-devargs: only for --type external");
        if (mgmt)
            return vsa_errmsg_set(em, -EINVAL,
                                  "--management-os: only for --type external");
    }
    if (type && (!strcmp(type, "private") || (external && !mgmt))) {
        for (size_t i = 0; i < VSA_ARRAY_LEN(host_opts); i++)
            if (has(params, host_opts[i][0]))
                return vsa_errmsg_set(em, -EINVAL,
                                      "%s: only for --type internal, or "
                                      "external with --management-os",
                                      host_opts[i][1]);
    }
    return 0;
}

static int finish_switch_set(struct ctl_cli_req *req, json_t *params,
                             json_t *aside, struct vsa_errmsg *em)
{
    (void)req;
    (void)aside;
    if (!has(params, "fdb_max") && !has(params, "aging_s"))
        return vsa_errmsg_set(em, -EINVAL,
                              "nothing to change: give --fdb-max or --aging");
    return 0;
}

/* Builds params.vlan from --access / --trunk / --native / --native-tagged. */
static int build_vlan(json_t *params, json_t *aside, struct vsa_errmsg *em)
{
    json_t *access = json_object_get(aside, "--access");
    json_t *trunk = json_object_get(aside, "--trunk");
    json_t *native = json_object_get(aside, "--native");
    bool tagged = has(aside, "--native-tagged");
    json_t *vlan;

    if (access && trunk)
        return vsa_errmsg_set(em, -EINVAL,
                              "--access and --trunk are mutually exclusive");
    if (!trunk && (native || tagged))
        return vsa_errmsg_set(em, -EINVAL, "%s: only with --trunk",
                              native ? "--native" : "--native-tagged");
    if (tagged && json_integer_value(native) == 0)
        return vsa_errmsg_set(em, -EINVAL,
                              "--native-tagged needs --native VID (1..4094)");
    if (access)
        vlan = json_pack("{s:s, s:O}", "mode", "access", "vid", access);
    else if (trunk)
        vlan = json_pack("{s:s, s:O, s:I, s:b}", "mode", "trunk",
                         "allowed", trunk,
                         "native", native ? json_integer_value(native) : 0,
                         "native_tagged", tagged);
    else
        return 0;
    if (!vlan || json_object_set_new(params, "vlan", vlan) < 0)
        return vsa_errmsg_set(em, -ENOMEM, "out of memory");
    return 0;
}

static int finish_port_add(struct ctl_cli_req *req, json_t *params,
                           json_t *aside, struct vsa_errmsg *em)
{
    const char *cls = json_string_value(json_object_get(params, "class"));

    (void)req;
    if (cls && !strcmp(cls, "dpdk")) {
        if (!has(params, "devargs"))
            return vsa_errmsg_set(em, -EINVAL,
                                  "--class dpdk needs --devargs DEVARGS");
        if (has(params, "ifname"))
            return vsa_errmsg_set(em, -EINVAL,
                                  "--ifname: only for --class internal");
        if (has(params, "addresses"))
            return vsa_errmsg_set(em, -EINVAL,
                                  "--address: only for --class internal");
        if (has(params, "mtu"))
            return vsa_errmsg_set(em, -EINVAL,
                                  "--mtu: only for --class internal");
    } else if (cls) {
        if (!has(params, "ifname"))
            return vsa_errmsg_set(em, -EINVAL,
                                  "--class internal needs --ifname IF");
        if (has(params, "devargs"))
            return vsa_errmsg_set(em, -EINVAL,
                                  "--devargs: only for --class dpdk");
    }
    return build_vlan(params, aside, em);
}

static int finish_port_set(struct ctl_cli_req *req, json_t *params,
                           json_t *aside, struct vsa_errmsg *em)
{
    int rc = build_vlan(params, aside, em);

    (void)req;
    if (rc < 0)
        return rc;
    if (has(aside, "--no-addresses")) {
        if (has(params, "addresses"))
            return vsa_errmsg_set(em, -EINVAL, "--address and "
                                  "--no-addresses are mutually exclusive");
        if (json_object_set_new(params, "addresses", json_array()) < 0)
            return vsa_errmsg_set(em, -ENOMEM, "out of memory");
    }
    if (!has(params, "vlan") && !has(params, "learn_limit") &&
        !has(params, "addresses") && !has(params, "mtu"))
        return vsa_errmsg_set(em, -EINVAL, "nothing to change: give "
                              "--access, --trunk, --learn-limit, or a host "
                              "vNIC's --address, --no-addresses or --mtu");
    return 0;
}

static int finish_vm_nic_add(struct ctl_cli_req *req, json_t *params,
                             json_t *aside, struct vsa_errmsg *em)
{
    (void)req;
    return build_vlan(params, aside, em);
}

/* vm nic connect / disconnect: vm.nic.set with `connected`. */
static int finish_vm_nic_connect(struct ctl_cli_req *req, json_t *params,
                                 json_t *aside, struct vsa_errmsg *em)
{
    (void)req;
    (void)aside;
    if (json_object_set_new(params, "connected", json_true()) < 0)
        return vsa_errmsg_set(em, -ENOMEM, "out of memory");
    return 0;
}

static int finish_vm_nic_disconnect(struct ctl_cli_req *req, json_t *params,
                                    json_t *aside, struct vsa_errmsg *em)
{
    (void)req;
    (void)aside;
    if (json_object_set_new(params, "connected", json_false()) < 0)
        return vsa_errmsg_set(em, -ENOMEM, "out of memory");
    return 0;
}

/* vm nic set: --mac-spoofing on|off as a boolean. */
static int finish_vm_nic_set(struct ctl_cli_req *req, json_t *params,
                             json_t *aside, struct vsa_errmsg *em)
{
    const char *v = json_string_value(json_object_get(params,
                                                      "mac_spoofing"));

    (void)req;
    (void)aside;
    if (!v)
        return vsa_errmsg_set(em, -EINVAL, "--mac-spoofing needs on or off");
    if (json_object_set_new(params, "mac_spoofing",
                            json_boolean(strcmp(v, "on") == 0)) < 0)
        return vsa_errmsg_set(em, -ENOMEM, "out of memory");
    return 0;
}

static int finish_stats(struct ctl_cli_req *req, json_t *params,
                        json_t *aside, struct vsa_errmsg *em)
{
    (void)params;
    (void)em;
    if (has(aside, "--clear")) {
        req->method = "stats.clear";
        req->view = CTL_CLI_VIEW_NONE;
    }
    return 0;
}

static int finish_capture(struct ctl_cli_req *req, json_t *params,
                          json_t *aside, struct vsa_errmsg *em)
{
    json_t *count = json_object_get(params, "count");
    json_t *duration = json_object_get(aside, "--duration");

    (void)em;
    req->capture_count = count ? (uint64_t)json_integer_value(count) : 0;
    req->capture_duration_s =
        duration ? (uint32_t)json_integer_value(duration) : 0;
    return 0;
}

/* --- the table ------------------------------------------------------- */

#define POS_NONE {.metavar = NULL}

const struct ctl_cli_cmd ctl_cli__cmds[] = {
    {"switch", "add", "switch.add", CTL_CLI_ACT_RPC, CTL_CLI_VIEW_NONE,
     "NAME --type external|internal|private [--uplink IFNAME | "
     "--uplink-devargs DEVARGS] [--management-os] [--host-ifname NAME] "
     "[--address CIDR]... [--mtu N] [--fdb-max N] [--aging SEC]",
     "create a switch (and its uplink and/or host vNIC port)",
     {"NAME", CTL_CLI_T_NAME, "name", false}, switch_add_opts,
     finish_switch_add},
    {"switch", "del", "switch.del", CTL_CLI_ACT_RPC, CTL_CLI_VIEW_NONE,
     "NAME", "delete a switch (its own uplink/host vNIC ports go with it)",
     {"NAME", CTL_CLI_T_NAME, "name", false}, NULL, NULL},
    {"switch", "set", "switch.set", CTL_CLI_ACT_RPC, CTL_CLI_VIEW_NONE,
     "NAME [--fdb-max N] [--aging SEC]", "change a switch's FDB limits",
     {"NAME", CTL_CLI_T_NAME, "name", false}, switch_set_opts,
     finish_switch_set},
    {"switch", "list", "switch.list", CTL_CLI_ACT_RPC,
     CTL_CLI_VIEW_SWITCH_LIST, "", "list switches", POS_NONE, NULL, NULL},
    {"switch", "show", "switch.show", CTL_CLI_ACT_RPC, CTL_CLI_VIEW_FIELDS,
     "NAME", "show one switch",
     {"NAME", CTL_CLI_T_NAME, "name", false}, NULL, NULL},

    {"port", "add", "port.add", CTL_CLI_ACT_RPC, CTL_CLI_VIEW_NONE,
     "NAME --switch S --class dpdk --devargs DEVARGS [--access VID | "
     "--trunk SET [--native VID] [--native-tagged]] [--learn-limit N]",
     "attach a new port to a switch",
     {"NAME", CTL_CLI_T_NAME, "name", false}, port_add_opts, finish_port_add},
    {"port", "del", "port.del", CTL_CLI_ACT_RPC, CTL_CLI_VIEW_NONE,
     "NAME", "delete a port", {"NAME", CTL_CLI_T_PORT, "name", false}, NULL,
     NULL},
    {"port", "set", "port.set", CTL_CLI_ACT_RPC, CTL_CLI_VIEW_NONE,
     "NAME [--access VID | --trunk SET [--native VID] [--native-tagged]] "
     "[--learn-limit N] [--address CIDR]... [--no-addresses] [--mtu N]",
     "change a port's VLAN mode, learning limit, or a host vNIC's "
     "addresses and MTU",
     {"NAME", CTL_CLI_T_PORT, "name", false}, port_set_opts, finish_port_set},
    {"port", "list", "port.list", CTL_CLI_ACT_RPC, CTL_CLI_VIEW_PORT_LIST,
     "[--switch S]", "list ports", POS_NONE, port_list_opts, NULL},
    {"port", "show", "port.show", CTL_CLI_ACT_RPC, CTL_CLI_VIEW_FIELDS,
     "NAME", "show one port's configuration and state",
     {"NAME", CTL_CLI_T_PORT, "name", false}, NULL, NULL},

    {"fdb", "show", "fdb.show", CTL_CLI_ACT_RPC, CTL_CLI_VIEW_FDB,
     "SWITCH [--vlan VID] [--port P]", "show a switch's MAC table",
     {"SWITCH", CTL_CLI_T_NAME, "switch", false}, fdb_show_opts, NULL},
    {"fdb", "add", "fdb.add", CTL_CLI_ACT_RPC, CTL_CLI_VIEW_NONE,
     "SWITCH --vlan VID --mac MAC --port P",
     "add a static entry (persisted)",
     {"SWITCH", CTL_CLI_T_NAME, "switch", false}, fdb_add_opts, NULL},
    {"fdb", "del", "fdb.del", CTL_CLI_ACT_RPC, CTL_CLI_VIEW_NONE,
     "SWITCH --vlan VID --mac MAC", "remove an entry (static or learned)",
     {"SWITCH", CTL_CLI_T_NAME, "switch", false}, fdb_del_opts, NULL},
    {"fdb", "flush", "fdb.flush", CTL_CLI_ACT_RPC, CTL_CLI_VIEW_FLUSHED,
     "SWITCH [--port P] [--vlan VID]", "forget learned entries",
     {"SWITCH", CTL_CLI_T_NAME, "switch", false}, fdb_flush_opts, NULL},

    {"vm", "add", "vm.add", CTL_CLI_ACT_RPC, CTL_CLI_VIEW_FIELDS,
     "NAME", "create a VM (a child partition and its socket)",
     {"NAME", CTL_CLI_T_NAME, "name", false}, NULL, NULL},
    {"vm", "del", "vm.del", CTL_CLI_ACT_RPC, CTL_CLI_VIEW_NONE,
     "NAME", "delete a VM and its NICs (its guest is disconnected)",
     {"NAME", CTL_CLI_T_NAME, "name", false}, NULL, NULL},
    {"vm", "list", "vm.list", CTL_CLI_ACT_RPC, CTL_CLI_VIEW_VM_LIST,
     "", "list VMs", POS_NONE, NULL, NULL},
    {"vm", "show", "vm.show", CTL_CLI_ACT_RPC, CTL_CLI_VIEW_VM_SHOW,
     "NAME", "show a VM's partition, channels and counters",
     {"NAME", CTL_CLI_T_NAME, "name", false}, NULL, NULL},
    {"vm", "nic add", "vm.nic.add", CTL_CLI_ACT_RPC, CTL_CLI_VIEW_FIELDS,
     "VM --switch S --type synthetic|legacy [--name NIC] [--mac MAC] "
     "[--access VID | --trunk SET [--native VID] [--native-tagged]] "
     "[--learn-limit N] [--mac-spoofing]",
     "add a NIC to a VM (live: a running guest sees it at once)",
     {"VM", CTL_CLI_T_NAME, "vm", false}, vm_nic_add_opts,
     finish_vm_nic_add},
    {"vm", "nic del", "vm.nic.del", CTL_CLI_ACT_RPC, CTL_CLI_VIEW_NONE,
     "VM NIC", "remove a NIC from a VM (live: rescinded or detached)",
     {"VM", CTL_CLI_T_NAME, "vm", false}, NULL, NULL,
     {"NIC", CTL_CLI_T_NAME, "name", false}},
    {"vm", "nic connect", "vm.nic.set", CTL_CLI_ACT_RPC, CTL_CLI_VIEW_NONE,
     "VM NIC", "connect a NIC to its switch (the guest sees link up)",
     {"VM", CTL_CLI_T_NAME, "vm", false}, NULL, finish_vm_nic_connect,
     {"NIC", CTL_CLI_T_NAME, "name", false}},
    {"vm", "nic disconnect", "vm.nic.set", CTL_CLI_ACT_RPC,
     CTL_CLI_VIEW_NONE, "VM NIC",
     "disconnect a NIC (the guest sees link down; no frames pass)",
     {"VM", CTL_CLI_T_NAME, "vm", false}, NULL, finish_vm_nic_disconnect,
     {"NIC", CTL_CLI_T_NAME, "name", false}},
    {"vm", "nic set", "vm.nic.set", CTL_CLI_ACT_RPC, CTL_CLI_VIEW_NONE,
     "VM NIC --mac-spoofing on|off",
     "allow or forbid the guest other source MACs than the NIC's",
     {"VM", CTL_CLI_T_NAME, "vm", false}, vm_nic_set_opts, finish_vm_nic_set,
     {"NIC", CTL_CLI_T_NAME, "name", false}},

    {NULL, "stats", "stats.get", CTL_CLI_ACT_RPC, CTL_CLI_VIEW_STATS,
     "[PORT] [--clear]", "show (or clear) port counters",
     {"PORT", CTL_CLI_T_PORT, "port", true}, stats_opts, finish_stats},
    {"config", "show", "config.get", CTL_CLI_ACT_RPC, CTL_CLI_VIEW_CONFIG,
     "", "print the configuration document (JSON)", POS_NONE, NULL, NULL},
    {NULL, "capture", "capture.start", CTL_CLI_ACT_CAPTURE,
     CTL_CLI_VIEW_CAPTURE,
     "PORT -w FILE [-c COUNT] [--direction rx|tx|both] [--snaplen N] "
     "[--duration SEC]",
     "record a port's frames to a pcap file",
     {"PORT", CTL_CLI_T_PORT, "port", false}, capture_opts, finish_capture},
    {"capture", "stop", "capture.stop", CTL_CLI_ACT_RPC,
     CTL_CLI_VIEW_CAPTURE_STOP, "PORT",
     "stop the capture running on a port, whoever started it",
     {"PORT", CTL_CLI_T_PORT, "port", false}, NULL, NULL},
    {"capture", "list", "capture.list", CTL_CLI_ACT_RPC,
     CTL_CLI_VIEW_CAPTURE_LIST, "",
     "list captures: port, file, direction, frames written, state",
     POS_NONE, NULL, NULL},
    {NULL, "info", "daemon.info", CTL_CLI_ACT_RPC, CTL_CLI_VIEW_FIELDS,
     "", "show vesperd's version, pid, paths, lcores, hugepages, netlink losses, mbufs", POS_NONE, NULL,
     NULL},
};

const size_t ctl_cli__n_cmds = VSA_ARRAY_LEN(ctl_cli__cmds);
