/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_cli_parse.c — vesperctl's argument parser without any socket.
 *
 * Objective: every value check holds at its boundaries (VLAN IDs 0, 1, 4094,
 * 4095; ranges min-1, min, max, max+1; 2^64 overflow), VLAN sets, names,
 * interface names and CIDRs accept exactly what docs/config.md allows; the
 * engine handles option spellings ("--x v", "--x=v", "--" and global
 * options anywhere), detects missing values and duplicates, resolves help
 * requests (-h/--help only where an option may stand, not as an option's
 * value or after "--"), and never leaks or crashes on arbitrary argv (a short
 * deterministic random sweep, the in-tree cousin of fuzz_ctl_cmd).
 * The vm commands map to their methods, including the three-word
 * "vm nic add/del" (two positionals for del), take both NIC types (a
 * legacy NIC with its VLAN options like a synthetic one) and refuse any
 * other type locally, and port references reach VM NIC ports
 * ("<31>.<31>", 63 characters).
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tools/vesperctl/cli.h"

#define MAX_ARGS 32

/* Splits `line` on spaces into argv (argv[0] = "vesperctl"); parses it. */
static int parse_line(const char *line, struct ctl_cli_req *req,
                      struct vsa_errmsg *em)
{
    char *copy = strdup(line);
    char *argv[MAX_ARGS + 1];
    char *save = NULL;
    int argc = 0, rc;

    assert_non_null(copy);
    argv[argc++] = "vesperctl";
    for (char *t = strtok_r(copy, " ", &save); t && argc < MAX_ARGS;
         t = strtok_r(NULL, " ", &save))
        argv[argc++] = t;
    argv[argc] = NULL;
    rc = vesperctl_parse(argc, argv, req, em);
    /* socket_path points into argv: the tests below do not look at it. */
    req->socket_path = NULL;
    free(copy);
    return rc;
}

/* Parses line, expects success and params equal to expected_json. */
static void expect_params(const char *line, const char *method,
                          const char *expected_json)
{
    struct ctl_cli_req req;
    struct vsa_errmsg em = {{0}};
    json_t *want = json_loads(expected_json, 0, NULL);
    int rc = parse_line(line, &req, &em);

    if (rc != 0)
        fail_msg("'%s': %s", line, em.msg);
    assert_non_null(want);
    assert_string_equal(req.method, method);
    if (!json_equal(req.params, want)) {
        char *got = json_dumps(req.params, JSON_COMPACT | JSON_SORT_KEYS);
        fail_msg("'%s': params %s, want %s", line, got, expected_json);
    }
    json_decref(want);
    ctl_cli_req_release(&req);
}

/* Parses line, expects -EINVAL with a message containing `needle`. */
static void expect_usage(const char *line, const char *needle)
{
    struct ctl_cli_req req;
    struct vsa_errmsg em = {{0}};
    int rc = parse_line(line, &req, &em);

    if (rc != -EINVAL)
        fail_msg("'%s': rc %d, want -EINVAL", line, rc);
    if (!strstr(em.msg, needle))
        fail_msg("'%s': message '%s' does not name '%s'", line, em.msg,
                 needle);
    assert_null(req.params);
}

static void test_uint_bounds(void **state)
{
    struct vsa_errmsg em;
    uint64_t v;

    (void)state;
    assert_int_equal(ctl_cli_parse_uint("68", 68, 9000, &v, &em), 0);
    assert_int_equal(v, 68);
    assert_int_equal(ctl_cli_parse_uint("9000", 68, 9000, &v, &em), 0);
    assert_int_equal(ctl_cli_parse_uint("67", 68, 9000, &v, &em), -ERANGE);
    assert_non_null(strstr(em.msg, "68..9000"));
    assert_int_equal(ctl_cli_parse_uint("9001", 68, 9000, &v, &em), -ERANGE);
    assert_int_equal(ctl_cli_parse_uint("0", 0, 0, &v, &em), 0);
    assert_int_equal(ctl_cli_parse_uint("18446744073709551615", 0, UINT64_MAX,
                                        &v, &em), 0);
    assert_true(v == UINT64_MAX);
    assert_int_equal(ctl_cli_parse_uint("18446744073709551616", 0, UINT64_MAX,
                                        &v, &em), -ERANGE);
    assert_int_equal(ctl_cli_parse_uint("4294967296", 0, UINT32_MAX, &v, &em),
                     -ERANGE);
    /* a negative number is out of range, not "not a number" (the audit's
     * '--fdb-max -1': "'-1' is not a number") */
    assert_int_equal(ctl_cli_parse_uint("-1", 16, 1048576, &v, &em), -ERANGE);
    assert_string_equal(em.msg, "-1 is out of range (16..1048576)");
    assert_int_equal(ctl_cli_parse_uint("-0", 1, 5, &v, &em), -ERANGE);
    static const char *const not_numbers[] = {"", "-", "--1", "-1x", "+1",
                                              " 1", "1 ", "0x10", "1e3",
                                              "12a", "1.5"};
    for (size_t i = 0; i < sizeof(not_numbers) / sizeof(*not_numbers); i++) {
        assert_int_equal(ctl_cli_parse_uint(not_numbers[i], 0, 100, &v, &em),
                         -EINVAL);
        assert_non_null(strstr(em.msg, "not a number"));
    }
    assert_int_equal(ctl_cli_parse_uint(NULL, 0, 1, &v, NULL), -EINVAL);
}

static void test_vid(void **state)
{
    struct vsa_errmsg em;
    uint16_t vid = 0;

    (void)state;
    assert_int_equal(ctl_cli_parse_vid("1", &vid, &em), 0);
    assert_int_equal(vid, 1);
    assert_int_equal(ctl_cli_parse_vid("4094", &vid, &em), 0);
    assert_int_equal(vid, 4094);
    assert_int_equal(ctl_cli_parse_vid("0", &vid, &em), -ERANGE);
    assert_non_null(strstr(em.msg, "VLAN 0"));
    assert_int_equal(ctl_cli_parse_vid("4095", &vid, &em), -ERANGE);
    assert_non_null(strstr(em.msg, "4095"));
    assert_int_equal(ctl_cli_parse_vid("5000", &vid, &em), -ERANGE);
    assert_int_equal(ctl_cli_parse_vid("65537", &vid, &em), -ERANGE);
    assert_int_equal(ctl_cli_parse_vid("ten", &vid, &em), -EINVAL);
    assert_non_null(strstr(em.msg, "'ten'"));
    assert_int_equal(ctl_cli_parse_vid("", &vid, &em), -EINVAL);
}

static void test_vlan_set(void **state)
{
    static const char *const good[] = {
        "1", "4094", "1-4094", "1-10,20", "5,5", "10-10", "1,2,3,4000-4094",
        "0001",
    };
    static const struct {
        const char *set;
        const char *needle;
    } bad[] = {
        {"", "empty"},
        {",", "not a VLAN set"},
        {"1,", "not a VLAN set"},
        {",1", "not a VLAN set"},
        {"1,,2", "not a VLAN set"},
        {"0", "VLAN 0"},
        {"4095", "VLAN 4095"},
        {"1-5000", "VLAN 5000"},
        {"1-", "not a VLAN set"},
        {"-1", "not a VLAN set"},
        {"10-5", "reversed"},
        {"1 2", "not a VLAN set"},
        {"1;2", "not a VLAN set"},
        {"1-2-3", "not a VLAN set"},
        {"a", "not a VLAN set"},
        {"99999999999999999999", "out of range"},
    };
    struct vsa_errmsg em;
    char *huge;

    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++)
        if (ctl_cli_check_vlan_set(good[i], &em) != 0)
            fail_msg("'%s' rejected: %s", good[i], em.msg);
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        if (ctl_cli_check_vlan_set(bad[i].set, &em) != -EINVAL)
            fail_msg("'%s' accepted", bad[i].set);
        if (!strstr(em.msg, bad[i].needle))
            fail_msg("'%s': '%s' lacks '%s'", bad[i].set, em.msg,
                     bad[i].needle);
    }
    /* The longest set written canonically: the 2047 even VIDs, 9,682
     * bytes (config show prints it so, and port set takes it back). */
    huge = malloc(CTL_CLI_VLAN_SET_MAX + 2);
    assert_non_null(huge);
    huge[0] = '\0';
    for (unsigned v = 2; v <= 4094; v += 2)
        sprintf(huge + strlen(huge), "%s%u", v > 2 ? "," : "", v);
    assert_int_equal(strlen(huge), 9682);
    if (ctl_cli_check_vlan_set(huge, &em) != 0)
        fail_msg("the 2047 even VIDs: %s", em.msg);
    free(huge);
    /* Length limit: CTL_CLI_VLAN_SET_MAX bytes accepted, one more
     * refused. */
    huge = malloc(CTL_CLI_VLAN_SET_MAX + 2);
    assert_non_null(huge);
    for (size_t i = 0; i < CTL_CLI_VLAN_SET_MAX; i += 2)
        memcpy(huge + i, "1,", 2);
    huge[CTL_CLI_VLAN_SET_MAX - 1] = '1';
    huge[CTL_CLI_VLAN_SET_MAX] = '\0';
    assert_int_equal(ctl_cli_check_vlan_set(huge, &em), 0);
    huge[CTL_CLI_VLAN_SET_MAX] = '1';
    huge[CTL_CLI_VLAN_SET_MAX + 1] = '\0';
    assert_int_equal(ctl_cli_check_vlan_set(huge, &em), -EINVAL);
    free(huge);
}

static void test_names(void **state)
{
    struct vsa_errmsg em;
    char n31[32], n32[33];

    (void)state;
    memset(n31, 'a', 31);
    n31[31] = '\0';
    memset(n32, 'a', 32);
    n32[32] = '\0';
    assert_int_equal(ctl_cli_check_name("sw-1_a.b", 31, &em), 0);
    assert_int_equal(ctl_cli_check_name(n31, 31, &em), 0);
    assert_int_equal(ctl_cli_check_name(n32, 31, &em), -EINVAL);
    assert_int_equal(ctl_cli_check_name("", 31, &em), -EINVAL);
    assert_int_equal(ctl_cli_check_name("a b", 31, &em), -EINVAL);
    assert_int_equal(ctl_cli_check_name("a/b", 31, &em), -EINVAL);
    assert_int_equal(ctl_cli_check_name("caf\xc3\xa9", 31, &em), -EINVAL);
    assert_non_null(strstr(em.msg, "not a valid name"));

    assert_int_equal(ctl_cli_check_ifname("eth0", &em), 0);
    assert_int_equal(ctl_cli_check_ifname("enp3s0f0.100", &em), 0);
    assert_int_equal(ctl_cli_check_ifname("abcdefghijklmno", &em), 0);
    assert_int_equal(ctl_cli_check_ifname("abcdefghijklmnop", &em), -EINVAL);
    assert_int_equal(ctl_cli_check_ifname("", &em), -EINVAL);
    assert_int_equal(ctl_cli_check_ifname(".", &em), -EINVAL);
    assert_int_equal(ctl_cli_check_ifname("..", &em), -EINVAL);
    assert_int_equal(ctl_cli_check_ifname("a/b", &em), -EINVAL);
    assert_int_equal(ctl_cli_check_ifname("a:1", &em), -EINVAL);
    assert_int_equal(ctl_cli_check_ifname("a b", &em), -EINVAL);
}

static void test_cidr(void **state)
{
    static const char *const good[] = {
        "192.168.1.1/24", "10.0.0.1/32", "1.0.0.1/1", "fd00::1/64",
        "2001:db8::1/128", "223.255.255.254/8", "fe7f::1/64", "fc00::1/7",
        "::2/64",
    };
    static const char *const bad[] = {
        "192.168.1.1", "192.168.1.1/33", "192.168.1.1/", "/24",
        "192.168.1/24", "fd00::1/129", "fd00::g/64", "1.2.3.4/24/1",
        "1.2.3.4/-1", "", "1.2.3.4/ 8",
        /* vesperd refuses a prefix of more than 3 digits: so does the
         * check (bug: passed here, refused by vesperd, exit 1) */
        "192.168.100.1/0024", "fd00::1/0064",
        /* not an address a host vNIC takes (common/vsa_addr.h) */
        "0.0.0.0/0", "10.0.0.1/0", "0.1.2.3/8", "127.0.0.1/8",
        "224.0.0.9/24", "239.1.1.1/32", "240.0.0.1/4",
        "255.255.255.255/32", "::/0", "::/128", "::1/128",
        "::ffff:10.0.0.1/96", "fe80::1:2:3:4/10", "febf::1/64",
        "fec0::1/10", "feff::1/64", "ff02::9/64", "fd00::1/0",
    };
    struct vsa_errmsg em;

    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++)
        if (ctl_cli_check_cidr(good[i], &em) != 0)
            fail_msg("'%s' rejected: %s", good[i], em.msg);
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
        if (ctl_cli_check_cidr(bad[i], &em) != -EINVAL)
            fail_msg("'%s' accepted", bad[i]);
    assert_int_equal(ctl_cli_check_cidr("fe80::5/64", &em), -EINVAL);
    assert_string_equal(em.msg, "'fe80::5/64' is a link-local address (the "
                        "kernel gives the interface its own); a host vNIC "
                        "takes unicast IPv4 and global IPv6 addresses");
    assert_int_equal(ctl_cli_check_cidr("224.0.0.9/24", &em), -EINVAL);
    assert_string_equal(em.msg, "'224.0.0.9/24' is a multicast address; a "
                        "host vNIC takes unicast IPv4 and global IPv6 "
                        "addresses");
}

static void test_utf8(void **state)
{
    (void)state;
    assert_true(ctl_cli_utf8_ok("plain"));
    assert_true(ctl_cli_utf8_ok("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
    assert_false(ctl_cli_utf8_ok("\xff"));
    assert_false(ctl_cli_utf8_ok("\xc3"));          /* truncated */
    assert_false(ctl_cli_utf8_ok("\xc0\xaf"));      /* overlong '/' */
    assert_false(ctl_cli_utf8_ok("\xed\xa0\x80"));  /* surrogate */
    assert_false(ctl_cli_utf8_ok("\xf4\x90\x80\x80")); /* > U+10FFFF */
}

/* Spellings, global options and value conversion through the engine. */
static void test_engine_spellings(void **state)
{
    (void)state;
    expect_params("switch set sw1 --fdb-max=16 --aging 10", "switch.set",
                  "{\"name\":\"sw1\",\"fdb_max\":16,\"aging_s\":10}");
    /* Positional after the options; global options after the command. */
    expect_params("port add --switch s --class dpdk --json --devargs "
                  "net_null0 p9 --timeout 2",
                  "port.add",
                  "{\"name\":\"p9\",\"switch\":\"s\",\"class\":\"dpdk\","
                  "\"devargs\":\"net_null0\"}");
    /* "--" ends options: config.md allows names that start with '-'. */
    expect_params("switch show -- -x", "switch.show", "{\"name\":\"-x\"}");
    expect_usage("switch show -x", "unknown option '-x'");
    /* MACs are normalised to lower case and ':'. */
    expect_params("fdb del sw --vlan 7 --mac 0A-0B-0C-0D-0E-0F", "fdb.del",
                  "{\"switch\":\"sw\",\"vlan\":7,"
                  "\"mac\":\"0a:0b:0c:0d:0e:0f\"}");
    /* A value may start with '-' when it is not an option name. */
    expect_usage("switch set s --aging -5", "--aging: -5 is out of range (");
    expect_usage("switch set s --aging -x", "--aging: '-x' is not a number");
    expect_usage("switch set s --fdb-max -1",
                 "--fdb-max: -1 is out of range (16..");
    expect_usage("port set p --learn-limit -5",
                 "--learn-limit: -5 is out of range (0..");
    /* --native 0 is "no native VLAN". */
    expect_params("port set p --trunk 1-4094 --native 0", "port.set",
                  "{\"name\":\"p\",\"vlan\":{\"mode\":\"trunk\","
                  "\"allowed\":\"1-4094\",\"native\":0,"
                  "\"native_tagged\":false}}");
    /* --learn-limit bounds: 0 and 1048576 pass, 1048577 does not. */
    expect_params("port set p --learn-limit 1048576", "port.set",
                  "{\"name\":\"p\",\"learn_limit\":1048576}");
    expect_usage("port set p --learn-limit 1048577", "--learn-limit");
    /* A host vNIC's addresses (replaced whole; --no-addresses for none)
     * and MTU; vesperd refuses them for other classes. */
    expect_params("port set h --address 10.0.0.1/24 --address fd00::1/64 "
                  "--mtu 1400", "port.set",
                  "{\"name\":\"h\",\"addresses\":[\"10.0.0.1/24\","
                  "\"fd00::1/64\"],\"mtu\":1400}");
    expect_params("port set h --no-addresses", "port.set",
                  "{\"name\":\"h\",\"addresses\":[]}");
    expect_usage("port set h --no-addresses --address 10.0.0.1/24",
                 "--address and --no-addresses are mutually exclusive");
    expect_usage("port set h --mtu 1501", "--mtu: 1501 is out of range");
    expect_usage("port set h --address 10.0.0.1", "--address");
    /* Uplink port names are longer than 31 characters allowed for
     * new names: "<31 chars>.uplink". */
    expect_params("port show aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.uplink",
                  "port.show",
                  "{\"name\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.uplink\"}");
    expect_usage("port add aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa --switch s "
                 "--class dpdk --devargs x", "not a valid name");
    /* Boundaries of the switch limits. */
    expect_usage("switch set s --fdb-max 15", "--fdb-max");
    expect_usage("switch set s --fdb-max 1048577", "1048577");
    expect_usage("switch set s --aging 9", "--aging");
    expect_params("switch set s --aging 1000000", "switch.set",
                  "{\"name\":\"s\",\"aging_s\":1000000}");
}

static void test_engine_errors(void **state)
{
    (void)state;
    expect_usage("", "missing command");
    expect_usage("--json", "missing command");
    expect_usage("--bogus switch list", "'--bogus'");
    expect_usage("--socket", "--socket needs a value");
    expect_usage("--timeout --json switch list", "--timeout needs a value");
    expect_usage("--timeout 0 switch list", "--timeout");
    expect_usage("--timeout 1x switch list", "--timeout");
    expect_usage("--timeout 86401 switch list", "--timeout");
    expect_usage("--timeout -1 switch list",
                 "--timeout: -1 is out of range (0.001..86400)");
    expect_usage("--timeout -x switch list",
                 "--timeout: '-x' is not a number of seconds");
    expect_usage("--json=yes switch list", "--json takes no value");
    /* global options given twice: refused as a command's are (the last
     * one used to win silently) */
    expect_usage("--socket /a --socket /b switch list",
                 "--socket given twice");
    expect_usage("--socket=/a switch list --socket /b",
                 "--socket given twice");
    expect_usage("--timeout=1 --timeout=2 switch list",
                 "--timeout given twice");
    expect_usage("--json switch list --json", "--json given twice");
    expect_usage("switch set s --fdb-max 20 --fdb-max 30",
                 "--fdb-max given twice");
    expect_usage("switch set s --aging", "--aging needs a value");
    expect_usage("switch set s --aging=", "--aging");
    expect_usage("port set p --native-tagged=1", "takes no value");
    expect_usage("port set p --trunk 1-5 --native-tagged",
                 "--native-tagged needs --native");
    expect_usage("port set p --native-tagged", "--native-tagged: only with");
    expect_usage("port set p", "nothing to change");
    expect_usage("switch show a b", "unexpected argument 'b'");
    expect_usage("switch show", "missing NAME");
    expect_usage("fdb add sw --vlan 1 --mac 02:00:00:00:00:01",
                 "missing --port");
    expect_usage("fdb add sw --vlan 1 --mac 00:00:00:00:00:00 --port p",
                 "not a unicast");
    expect_usage("port add p --switch s --class uplink --devargs x",
                 "--class: 'uplink' is not one of dpdk, internal");
    expect_usage("port add p --switch s --class internal", "--ifname");
    expect_usage("port add p --switch s --class dpdk --devargs x --mtu 1500",
                 "--mtu: only for --class internal");
    expect_usage("switch add s --type internal --uplink-devargs x",
                 "--uplink-devargs: only for --type external");
    expect_usage("switch add s --type external --uplink a "
                 "--uplink-devargs b", "mutually exclusive");
    expect_usage("switch add s --type external --uplink eth0 --mtu 1500",
                 "--mtu: only for --type internal");
    expect_usage("switch add s --type private --host-ifname h",
                 "--host-ifname");
    expect_usage("switch add s --type internal --management-os",
                 "--management-os");
    expect_usage("switch add s --type internal --host-ifname a:b",
                 "--host-ifname");
    expect_usage("port add p --switch s --class internal --ifname "
                 "abcdefghijklmnop", "--ifname");
    expect_usage("capture p -w", "-w needs a value");
    expect_usage("capture p -w f -c -1", "-c: -1 is out of range (0..");
    expect_usage("capture p -w f --count 4294967296", "--count");
    expect_usage("capture p -w f --snaplen 0", "--snaplen");
    expect_usage("capture p -w f --duration 0", "--duration");
    expect_usage("port frob", "port: unknown command 'frob' (add, del, set, "
                              "list, show)");
    expect_usage("help nosuch", "unknown command 'nosuch'");
    expect_usage("help switch frob", "unknown command 'frob'");
    expect_usage("help stats extra", "unexpected argument 'extra'");
    expect_usage("switch add s --type internal --address 10.0.0.1/24 "
                 "--address nope", "--address: 'nope'");
    expect_usage("port add p --switch s --class dpdk --devargs "
                 "\xff\xfe", "UTF-8");
}

static void test_vm_commands(void **state)
{
    char line[256];

    (void)state;
    expect_params("vm add vm1", "vm.add", "{\"name\":\"vm1\"}");
    expect_params("vm del vm1", "vm.del", "{\"name\":\"vm1\"}");
    expect_params("vm list", "vm.list", "{}");
    expect_params("vm show vm1 --json", "vm.show", "{\"name\":\"vm1\"}");
    expect_params("vm nic add vm1 --switch lab --type synthetic", "vm.nic.add",
                  "{\"vm\":\"vm1\",\"switch\":\"lab\","
                  "\"type\":\"synthetic\"}");
    expect_params("vm nic add vm1 --switch lab --type synthetic --name eth0 "
                  "--mac 02-AA-00-00-00-01 --trunk 1-10,20 --native 5 "
                  "--native-tagged --learn-limit 64", "vm.nic.add",
                  "{\"vm\":\"vm1\",\"switch\":\"lab\","
                  "\"type\":\"synthetic\",\"name\":\"eth0\","
                  "\"mac\":\"02:aa:00:00:00:01\",\"learn_limit\":64,"
                  "\"vlan\":{\"mode\":\"trunk\",\"allowed\":\"1-10,20\","
                  "\"native\":5,\"native_tagged\":true}}");
    expect_params("vm nic add --access 20 vm1 --type=synthetic --switch=lab",
                  "vm.nic.add",
                  "{\"vm\":\"vm1\",\"switch\":\"lab\","
                  "\"type\":\"synthetic\","
                  "\"vlan\":{\"mode\":\"access\",\"vid\":20}}");
    expect_params("vm nic del vm1 eth0", "vm.nic.del",
                  "{\"vm\":\"vm1\",\"name\":\"eth0\"}");
    expect_params("vm nic del -- vm1 -e", "vm.nic.del",
                  "{\"vm\":\"vm1\",\"name\":\"-e\"}");
    expect_params("vm nic disconnect vm1 eth0", "vm.nic.set",
                  "{\"vm\":\"vm1\",\"name\":\"eth0\","
                  "\"connected\":false}");
    expect_params("vm nic connect vm1 eth0", "vm.nic.set",
                  "{\"vm\":\"vm1\",\"name\":\"eth0\","
                  "\"connected\":true}");

    expect_params("vm nic add vm1 --switch lab --type legacy",
                  "vm.nic.add",
                  "{\"vm\":\"vm1\",\"switch\":\"lab\",\"type\":\"legacy\"}");
    expect_params("vm nic add vm1 --switch lab --type legacy --mac-spoofing",
                  "vm.nic.add",
                  "{\"vm\":\"vm1\",\"switch\":\"lab\",\"type\":\"legacy\","
                  "\"mac_spoofing\":true}");
    expect_params("vm nic add vm1 --switch lab --type legacy --name tulip0 "
                  "--mac 02:00:00:00:21:40 --trunk 10-20 --native 10 "
                  "--learn-limit 8", "vm.nic.add",
                  "{\"vm\":\"vm1\",\"switch\":\"lab\","
                  "\"type\":\"legacy\",\"name\":\"tulip0\","
                  "\"mac\":\"02:00:00:00:21:40\",\"learn_limit\":8,"
                  "\"vlan\":{\"mode\":\"trunk\",\"allowed\":\"10-20\","
                  "\"native\":10,\"native_tagged\":false}}");
    expect_params("vm nic add vm1 --type legacy --switch lab --access 30",
                  "vm.nic.add",
                  "{\"vm\":\"vm1\",\"switch\":\"lab\",\"type\":\"legacy\","
                  "\"vlan\":{\"mode\":\"access\",\"vid\":30}}");
    /* the VLAN rules are the same for both types */
    expect_usage("vm nic add vm1 --switch lab --type legacy --access 4095",
                 "--access");
    expect_usage("vm nic add vm1 --switch lab --type legacy --access 5 "
                 "--trunk 1-3", "mutually exclusive");
    expect_usage("vm nic add vm1 --switch lab --type e1000",
                 "--type: 'e1000' is not one of synthetic, legacy");
    expect_usage("vm nic add vm1 --switch lab --type Legacy",
                 "--type: 'Legacy' is not one of synthetic, legacy");
    expect_usage("vm nic add vm1 --switch lab", "missing --type TYPE");
    expect_usage("vm nic add vm1 --type synthetic", "missing --switch SWITCH");
    expect_usage("vm nic add --switch lab --type synthetic", "missing VM");
    expect_usage("vm nic add vm1 eth0 --switch lab --type synthetic",
                 "unexpected argument 'eth0'");
    expect_usage("vm nic add vm1 --switch lab --type synthetic "
                 "--mac 01:00:5e:00:00:01", "--mac: 01:00:5e:00:00:01 is not "
                 "a unicast MAC address");
    expect_usage("vm nic add vm1 --switch lab --type synthetic --access 5 "
                 "--trunk 1-5", "mutually exclusive");
    expect_usage("vm nic add vm1 --switch lab --type synthetic --name a/b",
                 "--name: 'a/b' is not a valid name");
    expect_usage("vm nic del vm1", "missing NIC");
    expect_usage("vm nic del vm1 eth0 eth1", "unexpected argument 'eth1'");
    expect_usage("vm nic del vm1 e/0", "NIC: 'e/0' is not a valid name");
    expect_usage("vm nic disconnect vm1", "missing NIC");
    expect_usage("vm nic connect vm1 eth0 eth1",
                 "unexpected argument 'eth1'");
    expect_usage("vm nic connect vm1 eth0 --connected false",
                 "--connected");
    expect_usage("vm nic disconnect vm1 e/0",
                 "NIC: 'e/0' is not a valid name");
    expect_usage("vm add", "missing NAME");
    expect_usage("vm add a b", "unexpected argument 'b'");
    expect_usage("vm frob", "vm: unknown command 'frob' (add, del, list, "
                 "show, nic add, nic del, nic connect, nic disconnect, "
                 "nic set)");
    expect_params("vm nic set vm1 eth0 --mac-spoofing on", "vm.nic.set",
                  "{\"vm\":\"vm1\",\"name\":\"eth0\","
                  "\"mac_spoofing\":true}");
    expect_params("vm nic set vm1 eth0 --mac-spoofing off", "vm.nic.set",
                  "{\"vm\":\"vm1\",\"name\":\"eth0\","
                  "\"mac_spoofing\":false}");
    expect_usage("vm nic set vm1 eth0", "missing --mac-spoofing");
    expect_usage("vm nic set vm1 eth0 --mac-spoofing yes",
                 "--mac-spoofing: 'yes' is not one of on, off");
    expect_usage("vm nic frob", "vm nic: unknown command 'frob' (add, del, "
                 "connect, disconnect, set)");
    expect_usage("vm nic", "vm nic: missing command (add, del, connect, "
                 "disconnect, set)");
    expect_usage("vm", "vm: missing command");

    /* port references reach VM NIC ports: 31 + 1 + 31 characters */
    snprintf(line, sizeof(line), "port show %0*d.%0*d", 31, 0, 31, 0);
    {
        struct ctl_cli_req req;
        struct vsa_errmsg em;

        assert_int_equal(parse_line(line, &req, &em), 0);
        ctl_cli_req_release(&req);
    }
    snprintf(line, sizeof(line), "port show %0*d.%0*d", 31, 0, 32, 0);
    expect_usage(line, "is not a valid name");
    snprintf(line, sizeof(line), "fdb add s --vlan 1 --mac 02:00:00:00:00:01 "
             "--port %0*d.eth0", 31, 0);
    {
        struct ctl_cli_req req;
        struct vsa_errmsg em;

        assert_int_equal(parse_line(line, &req, &em), 0);
        ctl_cli_req_release(&req);
    }
}

static void test_help_requests(void **state)
{
    static const struct {
        const char *line;
        const char *group; /* expected ctl_cli_cmd_group() or help group */
        const char *name;  /* expected command name, NULL: no command */
    } cases[] = {
        {"--help", NULL, NULL},
        {"-h", NULL, NULL},
        {"help", NULL, NULL},
        {"--json --help switch list", NULL, NULL},
        {"help switch", "switch", NULL},
        {"switch --help", "switch", NULL},
        {"help switch add", "switch", "add"},
        {"switch add --help", "switch", "add"},
        {"switch add --type bogus -h", "switch", "add"},
        {"help stats", "", "stats"},
        {"capture --help", "", "capture"},
        {"help capture", "", "capture"},
        {"capture -h p1 -w x", "", "capture"},
        {"capture stop --help", "capture", "stop"},
        {"help capture stop", "capture", "stop"},
        {"capture list -h", "capture", "list"},
        {"help capture list", "capture", "list"},
        {"help config", "config", NULL},
        {"help vm", "vm", NULL},
        {"vm --help", "vm", NULL},
        {"help vm nic", "vm", NULL},
        {"vm nic --help", "vm", NULL},
        {"help vm nic add", "vm", "nic add"},
        {"vm nic del --help", "vm", "nic del"},
        {"help vm nic disconnect", "vm", "nic disconnect"},
        {"vm nic connect --help", "vm", "nic connect"},
        {"vm nic add vm1 --type legacy -h", "vm", "nic add"},
        {"help vm show", "vm", "show"},
        /* in option position: before, between or after the arguments,
         * also after an option's "=value" or a flag */
        {"switch del -h", "switch", "del"},
        {"switch del sw1 --help", "switch", "del"},
        {"port set -h p1 --access 10", "port", "set"},
        {"port set p1 --access 10 -h", "port", "set"},
        {"switch add s --mtu=-h --help", "switch", "add"},
        {"port set p1 --trunk 5 --native-tagged -h", "port", "set"},
        {"switch list --timeout 5 -h", "switch", "list"},
        /* "-h" stands for --learn-limit's value; "--help" asks for help */
        {"port set p1 --learn-limit -h --help", "port", "set"},
    };
    char *buf = NULL;
    size_t size = 0;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        struct ctl_cli_req req;
        struct vsa_errmsg em;
        FILE *f;

        if (parse_line(cases[i].line, &req, &em) != 0)
            fail_msg("'%s': %s", cases[i].line, em.msg);
        assert_int_equal(req.action, CTL_CLI_ACT_HELP);
        if (cases[i].name) {
            assert_non_null(req.cmd);
            assert_string_equal(ctl_cli_cmd_group(req.cmd), cases[i].group);
            assert_string_equal(ctl_cli_cmd_name(req.cmd), cases[i].name);
        } else if (cases[i].group) {
            assert_null(req.cmd);
            assert_string_equal(req.help_group, cases[i].group);
        } else {
            assert_null(req.cmd);
            assert_null(req.help_group);
        }
        f = open_memstream(&buf, &size);
        assert_non_null(f);
        ctl_cli_print_help(f, &req);
        fclose(f);
        assert_non_null(strstr(buf, "usage:"));
        if (cases[i].name)
            assert_non_null(strstr(buf, cases[i].name));
        free(buf);
        buf = NULL;
        ctl_cli_req_release(&req);
    }
}

/* Every option named in a command's help text is accepted by the parser
 * for that command (the usage text cannot drift from the table). */
/* -h/--help is help only where an option may stand: as the value of an
 * option that takes one, or after "--", it is not, so that a script's
 * mistake ("--name -h") is an error, not usage and exit 0. */
static void test_help_not_a_value(void **state)
{
    (void)state;
    expect_usage("vm nic add vm1 --switch lab --type synthetic --name -h",
                 "--name needs a value");
    expect_usage("vm nic add vm1 --switch lab --type synthetic --name "
                 "--help", "--name needs a value");
    expect_usage("port set p1 --access --help", "--access needs a value");
    expect_usage("switch add s --type -h", "--type needs a value");
    expect_usage("switch list --socket -h", "--socket needs a value");
    expect_usage("switch list --timeout --help", "--timeout needs a value");
    expect_usage("--timeout -h switch list", "--timeout needs a value");
    /* after "--" it is an argument: here a (valid) switch name */
    expect_params("switch del -- -h", "switch.del", "{\"name\":\"-h\"}");
    expect_usage("switch show sw1 -- --help",
                 "unexpected argument '--help'");
}

static void test_help_lists_real_options(void **state)
{
    static const char *const cmds[] = {"switch add", "port add", "port set",
                                       "fdb show", "fdb flush", "capture",
                                       "stats", "vm nic add"};
    (void)state;
    for (size_t i = 0; i < sizeof(cmds) / sizeof(*cmds); i++) {
        struct ctl_cli_req req;
        struct vsa_errmsg em;
        char line[64], *buf = NULL, *p;
        size_t size = 0;
        FILE *f;

        snprintf(line, sizeof(line), "help %s", cmds[i]);
        assert_int_equal(parse_line(line, &req, &em), 0);
        f = open_memstream(&buf, &size);
        ctl_cli_print_help(f, &req);
        fclose(f);
        p = strstr(buf, "Options:");
        assert_non_null(p);
        /* Each option line starts with two spaces and a dash. */
        while ((p = strstr(p, "\n  -")) != NULL) {
            char opt[32];
            struct ctl_cli_req r2;
            size_t n = strcspn(p + 3, " ,\n");

            assert_true(n + 1 < sizeof(opt));
            memcpy(opt, p + 3, n);
            opt[n] = '\0';
            snprintf(line, sizeof(line), "%s %s", cmds[i], opt);
            /* Whatever else is wrong, the option itself must be known. */
            if (parse_line(line, &r2, &em) == 0)
                ctl_cli_req_release(&r2);
            else if (strstr(em.msg, "unknown option"))
                fail_msg("help of '%s' lists '%s': %s", cmds[i], opt, em.msg);
            p += 3;
        }
        free(buf);
        ctl_cli_req_release(&req);
    }
}

static void test_capture_request(void **state)
{
    struct ctl_cli_req req;
    struct vsa_errmsg em;
    char cwd[PATH_MAX], want[PATH_MAX + 16];

    (void)state;
    assert_int_equal(parse_line("capture p1 -w out.pcap -c 5 --duration 3",
                                &req, &em), 0);
    assert_int_equal(req.action, CTL_CLI_ACT_CAPTURE);
    assert_string_equal(req.method, "capture.start");
    assert_int_equal(req.capture_count, 5);
    assert_int_equal(req.capture_duration_s, 3);
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    snprintf(want, sizeof(want), "%s/out.pcap", cwd);
    assert_string_equal(
        json_string_value(json_object_get(req.params, "file")), want);
    assert_null(json_object_get(req.params, "duration"));
    ctl_cli_req_release(&req);

    /* stats --clear switches the method and silences the output. */
    assert_int_equal(parse_line("stats p1 --clear", &req, &em), 0);
    assert_string_equal(req.method, "stats.clear");
    assert_int_equal(req.view, CTL_CLI_VIEW_NONE);
    ctl_cli_req_release(&req);

    /* Defaults of the global options. */
    assert_int_equal(parse_line("info", &req, &em), 0);
    assert_int_equal(req.timeout_ms, CTL_CLI_DEFAULT_TIMEOUT_MS);
    assert_false(req.json);
    ctl_cli_req_release(&req);
    assert_int_equal(parse_line("--timeout 0.25 --json info", &req, &em), 0);
    assert_int_equal(req.timeout_ms, 250);
    assert_true(req.json);
    ctl_cli_req_release(&req);
}

/* "capture" is a command and a group: "capture stop PORT" and "capture
 * list" are the group's, anything else after "capture" is the capture
 * command's (a port named "stop" is captured with "--" before it). */
static void test_capture_group(void **state)
{
    struct ctl_cli_req req;
    struct vsa_errmsg em;
    char cwd[PATH_MAX], want[PATH_MAX + 64];

    (void)state;
    expect_params("capture stop p1", "capture.stop", "{\"port\":\"p1\"}");
    expect_params("capture stop --json vm1.nic0", "capture.stop",
                  "{\"port\":\"vm1.nic0\"}");
    expect_params("capture list", "capture.list", "{}");
    assert_int_equal(parse_line("capture list", &req, &em), 0);
    assert_int_equal(req.action, CTL_CLI_ACT_RPC);
    assert_int_equal(req.view, CTL_CLI_VIEW_CAPTURE_LIST);
    ctl_cli_req_release(&req);
    assert_int_equal(parse_line("capture stop p1", &req, &em), 0);
    assert_int_equal(req.view, CTL_CLI_VIEW_CAPTURE_STOP);
    ctl_cli_req_release(&req);
    expect_usage("capture stop", "missing PORT");
    expect_usage("capture stop p1 p2", "unexpected argument 'p2'");
    expect_usage("capture stop p1 -w x", "unknown option '-w' for 'capture "
                                         "stop'");
    expect_usage("capture list p1", "unexpected argument 'p1'");
    expect_usage("capture", "missing PORT");

    /* its help names the group's commands and what ends a capture */
    {
        static const char *const says[] = {
            "usage: vesperctl capture PORT -w FILE",
            "vesperctl capture stop PORT",
            "vesperctl capture list",
            "SIGTERM or SIGHUP",
            "connection closes",
            "pseudo filesystem",
            "exits 1",
        };
        char *buf = NULL;
        size_t size = 0;
        FILE *f;

        assert_int_equal(parse_line("help capture", &req, &em), 0);
        f = open_memstream(&buf, &size);
        assert_non_null(f);
        ctl_cli_print_help(f, &req);
        fclose(f);
        for (size_t i = 0; i < sizeof(says) / sizeof(*says); i++)
            if (!strstr(buf, says[i]))
                fail_msg("help capture does not say '%s':\n%s", says[i], buf);
        free(buf);
        ctl_cli_req_release(&req);
    }

    /* a port named like a subcommand */
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    snprintf(want, sizeof(want), "{\"port\":\"stop\",\"file\":\"%s/x.pcap\"}",
             strcmp(cwd, "/") ? cwd : "");
    expect_params("capture -w x.pcap -- stop", "capture.start", want);
    assert_int_equal(parse_line("capture -w x.pcap -- list", &req, &em), 0);
    assert_int_equal(req.action, CTL_CLI_ACT_CAPTURE);
    assert_string_equal(
        json_string_value(json_object_get(req.params, "port")), "list");
    ctl_cli_req_release(&req);
}

/* README.md (its path is argv[1], from meson) */
static const char *readme_path;

/* The README's CLI reference gives the capture commands exactly as their
 * help does ("| `capture PORT -w FILE ...` |", '|' escaped as in a
 * Markdown table), so the two cannot drift apart. */
static void test_readme_capture_rows(void **state)
{
    static const char *const cmds[] = {"capture", "capture stop",
                                       "capture list"};
    char *readme = NULL;
    size_t size = 0;
    FILE *f;

    (void)state;
    if (!readme_path)
        skip(); /* run by hand without the path */
    f = fopen(readme_path, "r");
    if (!f)
        fail_msg("%s: %s", readme_path, strerror(errno));
    FILE *m = open_memstream(&readme, &size);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        fwrite(chunk, 1, n, m);
    fclose(f);
    fclose(m);
    for (size_t i = 0; i < sizeof(cmds) / sizeof(*cmds); i++) {
        struct ctl_cli_req req;
        struct vsa_errmsg em;
        char line[64], *help = NULL, row[512], *p;
        size_t hsize = 0, k = 0;

        snprintf(line, sizeof(line), "help %s", cmds[i]);
        assert_int_equal(parse_line(line, &req, &em), 0);
        f = open_memstream(&help, &hsize);
        ctl_cli_print_help(f, &req);
        fclose(f);
        ctl_cli_req_release(&req);
        /* "usage: vesperctl SYNOPSIS\n" -> "| `SYNOPSIS` |" */
        assert_true(strncmp(help, "usage: vesperctl ", 17) == 0);
        k = (size_t)snprintf(row, sizeof(row), "| `");
        for (p = help + 17; *p && *p != '\n' && k + 4 < sizeof(row); p++) {
            if (*p == '|')
                row[k++] = '\\';
            row[k++] = *p;
        }
        snprintf(row + k, sizeof(row) - k, "` |");
        if (!strstr(readme, row))
            fail_msg("README.md has no CLI row %s", row);
        free(help);
    }
    free(readme);
}

/* argc 0 / NULL argv / NULL em are handled. */
static void test_degenerate_calls(void **state)
{
    struct ctl_cli_req req;
    char *argv[] = {"vesperctl", "switch", "list", NULL};

    (void)state;
    assert_int_equal(vesperctl_parse(0, argv, &req, NULL), -EINVAL);
    assert_int_equal(vesperctl_parse(1, NULL, &req, NULL), -EINVAL);
    assert_int_equal(vesperctl_parse(3, argv, &req, NULL), 0);
    ctl_cli_req_release(&req);
    ctl_cli_req_release(&req); /* idempotent */
    ctl_cli_req_release(NULL);
}

/*
 * Random argv built from a vocabulary of real words, options and nasty
 * values; under ASan this finds leaks and overreads in the engine.  The
 * sweep is deterministic (fixed seed) so a failure reproduces.
 */
static void test_random_argv(void **state)
{
    static const char *const vocab[] = {
        "switch", "port", "fdb", "stats", "config", "capture", "info", "help",
        "add", "del", "set", "list", "show", "flush", "sw1", "p1", "--type",
        "external", "internal", "private", "--uplink", "eth0",
        "--uplink-devargs", "--management-os", "--host-ifname", "--address",
        "10.0.0.1/24", "--mtu", "1500", "--fdb-max", "--aging", "--switch",
        "--class", "dpdk", "--devargs", "--ifname", "--access", "--trunk",
        "--native", "--native-tagged", "--learn-limit", "--vlan", "--mac",
        "02:00:00:00:00:01", "--port", "--clear", "-w", "-c", "--direction",
        "rx", "--snaplen", "--duration", "--json", "--socket", "--timeout",
        "0", "4094", "4095", "1-10,20", "--", "-", "", "=", "--mtu=",
        "--trunk=1-", "\xff", "-h", "x.pcap", "18446744073709551616",
        "vm", "nic", "vm1", "eth0", "--name", "synthetic", "legacy",
        "stop",
    };
    uint32_t seed = 12345;

    (void)state;
    for (int iter = 0; iter < 20000; iter++) {
        char *argv[12];
        int argc = 1 + (int)(seed % 10);
        struct ctl_cli_req req;
        struct vsa_errmsg em;

        argv[0] = "vesperctl";
        for (int i = 1; i < argc; i++) {
            seed = seed * 1103515245u + 12345u;
            argv[i] = (char *)vocab[(seed >> 8) % (sizeof(vocab) /
                                                   sizeof(*vocab))];
        }
        argv[argc] = NULL;
        seed = seed * 1103515245u + 12345u;
        if (vesperctl_parse(argc, argv, &req, &em) == 0) {
            if (req.action != CTL_CLI_ACT_HELP) {
                assert_non_null(req.method);
                assert_true(json_is_object(req.params));
            }
            ctl_cli_req_release(&req);
        } else {
            assert_true(em.msg[0] != '\0');
            assert_null(req.params);
        }
    }
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uint_bounds),
        cmocka_unit_test(test_vid),
        cmocka_unit_test(test_vlan_set),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_cidr),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_engine_spellings),
        cmocka_unit_test(test_engine_errors),
        cmocka_unit_test(test_vm_commands),
        cmocka_unit_test(test_help_requests),
        cmocka_unit_test(test_help_not_a_value),
        cmocka_unit_test(test_help_lists_real_options),
        cmocka_unit_test(test_capture_request),
        cmocka_unit_test(test_capture_group),
        cmocka_unit_test(test_readme_capture_rows),
        cmocka_unit_test(test_degenerate_calls),
        cmocka_unit_test(test_random_argv),
    };

    if (argc > 1)
        readme_path = argv[1];
    return cmocka_run_group_tests(tests, NULL, NULL);
}
