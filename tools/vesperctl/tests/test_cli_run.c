/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_cli_run.c — the whole of vesperctl, in-process, against a fake
 * control socket (fake_server.c: a thread on a Unix socket in a temp dir
 * that records each request line and answers with a canned response).
 *
 * Objective: each command line sends exactly the JSON-RPC request that
 * docs/rpc.md defines (method, params, jsonrpc, id); daemon errors exit 1
 * with the daemon's message; usage errors exit 2, name the bad argument and
 * send nothing; --json prints valid JSON equal to the result; the human
 * tables look as docs/cli.md shows, and "show" lines come in their own
 * order (name first) although vesperd sends keys sorted; an unreachable,
 * silent, closing or babbling daemon gives exit 3 or 1 with a clear
 * message (a change that timed out may still have been applied: the
 * message says so); and the capture loop stops on done, on COUNT, on --duration and
 * on SIGINT.
 * The vm commands send vm.* requests and show vm list / vm show as tables
 * (the show view: partition fields, a channel table, non-zero counters,
 * and for legacy NICs a device table — index, state, RX/TX process state,
 * IRQ line, trapped accesses — with the device's and the port's non-zero
 * counters).
 * VLAN sets are never cut without saying so: port list's table shortens a
 * long trunk set to "...(+N more)", N the VLANs left out; port show and
 * --json give the longest set (the 2047 even VIDs) whole.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_server.h"
#include "tools/vesperctl/vesperctl.h"

#define MAX_ARGS 40

static struct fake_srv *srv;

struct run {
    int rc;
    char *out;
    char *err;
};

/* Runs "vesperctl [--socket S] <line>" (line split on spaces). */
static struct run run_with(const char *socket, const char *line)
{
    struct run r = {0};
    char *copy = strdup(line);
    char *argv[MAX_ARGS + 1];
    char *save = NULL;
    size_t out_size = 0, err_size = 0;
    FILE *out, *err;
    int argc = 0;

    assert_non_null(copy);
    argv[argc++] = "vesperctl";
    if (socket) {
        argv[argc++] = "--socket";
        argv[argc++] = (char *)socket;
    }
    for (char *t = strtok_r(copy, " ", &save); t && argc < MAX_ARGS;
         t = strtok_r(NULL, " ", &save))
        argv[argc++] = t;
    argv[argc] = NULL;
    out = open_memstream(&r.out, &out_size);
    err = open_memstream(&r.err, &err_size);
    assert_non_null(out);
    assert_non_null(err);
    r.rc = vesperctl_main(argc, argv, out, err);
    fclose(out);
    fclose(err);
    free(copy);
    return r;
}

static struct run run(const char *line)
{
    return run_with(fake_srv_path(srv), line);
}

static void run_free(struct run *r)
{
    free(r->out);
    free(r->err);
}

static int setup(void **state)
{
    (void)state;
    fake_srv_reset(srv);
    return 0;
}

/* --- requests --------------------------------------------------------- */

static const struct {
    const char *line;
    const char *method;
    const char *params;
} request_cases[] = {
    {"switch add sw1 --type private", "switch.add",
     "{\"name\":\"sw1\",\"type\":\"private\"}"},
    {"switch add ext0 --type external --uplink eth0 --fdb-max 4096 "
     "--aging 600", "switch.add",
     "{\"name\":\"ext0\",\"type\":\"external\",\"uplink\":\"eth0\","
     "\"fdb_max\":4096,\"aging_s\":600}"},
    {"switch add ext1 --type external --uplink-devargs 0000:03:00.0 "
     "--management-os --host-ifname ext1h --address 10.0.0.1/24 "
     "--address fd00::1/64 --mtu 1400", "switch.add",
     "{\"name\":\"ext1\",\"type\":\"external\","
     "\"uplink_devargs\":\"0000:03:00.0\",\"management_os\":true,"
     "\"host_ifname\":\"ext1h\",\"addresses\":[\"10.0.0.1/24\","
     "\"fd00::1/64\"],\"mtu\":1400}"},
    {"switch add int0 --type internal --address 192.168.5.1/24 --mtu 68",
     "switch.add",
     "{\"name\":\"int0\",\"type\":\"internal\","
     "\"addresses\":[\"192.168.5.1/24\"],\"mtu\":68}"},
    {"switch del sw1", "switch.del", "{\"name\":\"sw1\"}"},
    {"switch set sw1 --fdb-max 16 --aging 10", "switch.set",
     "{\"name\":\"sw1\",\"fdb_max\":16,\"aging_s\":10}"},
    {"switch set sw1 --aging=1000000", "switch.set",
     "{\"name\":\"sw1\",\"aging_s\":1000000}"},
    {"switch list", "switch.list", "{}"},
    {"switch show sw1", "switch.show", "{\"name\":\"sw1\"}"},
    {"port add p1 --switch sw1 --class dpdk --devargs net_ring0", "port.add",
     "{\"name\":\"p1\",\"switch\":\"sw1\",\"class\":\"dpdk\","
     "\"devargs\":\"net_ring0\"}"},
    {"port add p2 --switch sw1 --class dpdk --devargs "
     "net_af_packet0,iface=veth1 --access 10 --learn-limit 100", "port.add",
     "{\"name\":\"p2\",\"switch\":\"sw1\",\"class\":\"dpdk\","
     "\"devargs\":\"net_af_packet0,iface=veth1\","
     "\"vlan\":{\"mode\":\"access\",\"vid\":10},\"learn_limit\":100}"},
    {"port add p3 --switch sw1 --class dpdk --devargs net_tap0,iface=t0 "
     "--trunk 1-10,20 --native 5 --native-tagged", "port.add",
     "{\"name\":\"p3\",\"switch\":\"sw1\",\"class\":\"dpdk\","
     "\"devargs\":\"net_tap0,iface=t0\",\"vlan\":{\"mode\":\"trunk\","
     "\"allowed\":\"1-10,20\",\"native\":5,\"native_tagged\":true}}"},
    {"port add h1 --switch int0 --class internal --ifname h1 "
     "--address 10.1.0.1/16 --mtu 1400", "port.add",
     "{\"name\":\"h1\",\"switch\":\"int0\",\"class\":\"internal\","
     "\"ifname\":\"h1\",\"addresses\":[\"10.1.0.1/16\"],\"mtu\":1400}"},
    {"port add p4 --switch=sw1 --class=dpdk --devargs=net_null0 "
     "--trunk=100", "port.add",
     "{\"name\":\"p4\",\"switch\":\"sw1\",\"class\":\"dpdk\","
     "\"devargs\":\"net_null0\",\"vlan\":{\"mode\":\"trunk\","
     "\"allowed\":\"100\",\"native\":0,\"native_tagged\":false}}"},
    {"port del p1", "port.del", "{\"name\":\"p1\"}"},
    {"port set p1 --access 4094", "port.set",
     "{\"name\":\"p1\",\"vlan\":{\"mode\":\"access\",\"vid\":4094}}"},
    {"port set p1 --trunk 1-4094 --native 1", "port.set",
     "{\"name\":\"p1\",\"vlan\":{\"mode\":\"trunk\",\"allowed\":\"1-4094\","
     "\"native\":1,\"native_tagged\":false}}"},
    {"port set p1 --learn-limit 0", "port.set",
     "{\"name\":\"p1\",\"learn_limit\":0}"},
    {"port set sw1.uplink --access 1 --learn-limit 7", "port.set",
     "{\"name\":\"sw1.uplink\",\"vlan\":{\"mode\":\"access\",\"vid\":1},"
     "\"learn_limit\":7}"},
    {"port list", "port.list", "{}"},
    {"port list --switch sw1", "port.list", "{\"switch\":\"sw1\"}"},
    {"port show p1", "port.show", "{\"name\":\"p1\"}"},
    {"fdb show sw1", "fdb.show", "{\"switch\":\"sw1\"}"},
    {"fdb show sw1 --vlan 10 --port p1", "fdb.show",
     "{\"switch\":\"sw1\",\"vlan\":10,\"port\":\"p1\"}"},
    {"fdb add sw1 --vlan 10 --mac 02:00:00:00:00:01 --port p1", "fdb.add",
     "{\"switch\":\"sw1\",\"vlan\":10,\"mac\":\"02:00:00:00:00:01\","
     "\"port\":\"p1\"}"},
    {"fdb add sw1 --port p2 --mac 02-AB-CD-EF-00-01 --vlan 4094", "fdb.add",
     "{\"switch\":\"sw1\",\"vlan\":4094,\"mac\":\"02:ab:cd:ef:00:01\","
     "\"port\":\"p2\"}"},
    {"fdb del sw1 --vlan 10 --mac 02:00:00:00:00:01", "fdb.del",
     "{\"switch\":\"sw1\",\"vlan\":10,\"mac\":\"02:00:00:00:00:01\"}"},
    {"fdb del sw1 --vlan 1 --mac 01:00:5e:00:00:01", "fdb.del",
     "{\"switch\":\"sw1\",\"vlan\":1,\"mac\":\"01:00:5e:00:00:01\"}"},
    {"fdb flush sw1", "fdb.flush", "{\"switch\":\"sw1\"}"},
    {"fdb flush sw1 --port p1 --vlan 7", "fdb.flush",
     "{\"switch\":\"sw1\",\"port\":\"p1\",\"vlan\":7}"},
    {"stats", "stats.get", "{}"},
    {"stats p1", "stats.get", "{\"port\":\"p1\"}"},
    {"stats --clear", "stats.clear", "{}"},
    {"stats p1 --clear", "stats.clear", "{\"port\":\"p1\"}"},
    {"config show", "config.get", "{}"},
    {"info", "daemon.info", "{}"},
    {"--json switch list", "switch.list", "{}"},
    {"switch list --json --timeout 5", "switch.list", "{}"},
    {"capture p1 -w /tmp/x.pcap -c 10 --direction rx --snaplen 128",
     "capture.start",
     "{\"port\":\"p1\",\"file\":\"/tmp/x.pcap\",\"count\":10,"
     "\"direction\":\"rx\",\"snaplen\":128}"},
    {"capture p1 --write=/tmp/y.pcap --count=0 --direction both",
     "capture.start",
     "{\"port\":\"p1\",\"file\":\"/tmp/y.pcap\",\"count\":0,"
     "\"direction\":\"both\"}"},
    {"vm add vm1", "vm.add", "{\"name\":\"vm1\"}"},
    {"vm del vm1", "vm.del", "{\"name\":\"vm1\"}"},
    {"vm list", "vm.list", "{}"},
    {"vm show vm1", "vm.show", "{\"name\":\"vm1\"}"},
    {"vm nic add vm1 --switch sw1 --type synthetic", "vm.nic.add",
     "{\"vm\":\"vm1\",\"switch\":\"sw1\",\"type\":\"synthetic\"}"},
    {"vm nic add vm1 --switch sw1 --type synthetic --name eth0 "
     "--mac 02:00:00:00:aa:01 --access 20 --learn-limit 8", "vm.nic.add",
     "{\"vm\":\"vm1\",\"switch\":\"sw1\",\"type\":\"synthetic\","
     "\"name\":\"eth0\",\"mac\":\"02:00:00:00:aa:01\","
     "\"vlan\":{\"mode\":\"access\",\"vid\":20},\"learn_limit\":8}"},
    {"vm nic add vm1 --switch sw1 --type legacy --mac 02:00:00:00:21:40 "
     "--trunk 10,20", "vm.nic.add",
     "{\"vm\":\"vm1\",\"switch\":\"sw1\",\"type\":\"legacy\","
     "\"mac\":\"02:00:00:00:21:40\",\"vlan\":{\"mode\":\"trunk\","
     "\"allowed\":\"10,20\",\"native\":0,\"native_tagged\":false}}"},
    {"vm nic del vm1 eth0", "vm.nic.del",
     "{\"vm\":\"vm1\",\"name\":\"eth0\"}"},
    {"vm nic disconnect vm1 eth0", "vm.nic.set",
     "{\"vm\":\"vm1\",\"name\":\"eth0\",\"connected\":false}"},
    {"vm nic connect vm1 eth0", "vm.nic.set",
     "{\"vm\":\"vm1\",\"name\":\"eth0\",\"connected\":true}"},
    {"port set vm1.eth0 --access 30", "port.set",
     "{\"name\":\"vm1.eth0\",\"vlan\":{\"mode\":\"access\",\"vid\":30}}"},
};

static void check_request(size_t i, const char *line, const char *method,
                          const char *params)
{
    json_t *req = fake_srv_request(srv, i);
    json_t *want = json_loads(params, 0, NULL);

    assert_non_null(want);
    if (!json_is_object(req))
        fail_msg("'%s': request %zu is not a JSON object", line, i);
    assert_string_equal(json_string_value(json_object_get(req, "jsonrpc")),
                        "2.0");
    assert_true(json_is_integer(json_object_get(req, "id")));
    if (strcmp(json_string_value(json_object_get(req, "method")), method))
        fail_msg("'%s': method %s, want %s", line,
                 json_string_value(json_object_get(req, "method")), method);
    if (!json_equal(json_object_get(req, "params"), want)) {
        char *got = json_dumps(json_object_get(req, "params"),
                               JSON_COMPACT | JSON_SORT_KEYS);
        fail_msg("'%s': params %s, want %s", line, got, params);
    }
    /* Nothing else in the request object. */
    assert_int_equal(json_object_size(req), 4);
    json_decref(want);
    json_decref(req);
}

/* Capture answers for the request table: done at once. */
static json_t *capture_done_at_once(const char *method, json_t *params,
                                    unsigned n_call, void *arg)
{
    (void)params;
    (void)n_call;
    (void)arg;
    if (method && !strcmp(method, "capture.start"))
        return json_pack("{s:{s:i}}", "result", "id", 1);
    if (method && !strcmp(method, "capture.status"))
        return json_pack("{s:{s:i, s:s, s:s, s:i, s:b}}", "result", "id", 1,
                         "port", "p1", "file", "/tmp/x.pcap", "captured", 0,
                         "done", 1);
    return NULL;
}

static void test_request_table(void **state)
{
    (void)state;
    assert_true(sizeof(request_cases) / sizeof(*request_cases) >= 25);
    for (size_t i = 0; i < sizeof(request_cases) / sizeof(*request_cases);
         i++) {
        struct run r;

        fake_srv_reset(srv);
        fake_srv_set_handler(srv, capture_done_at_once, NULL);
        r = run(request_cases[i].line);
        if (r.rc != 0)
            fail_msg("'%s': exit %d: %s", request_cases[i].line, r.rc, r.err);
        assert_true(fake_srv_n_requests(srv) >= 1);
        check_request(0, request_cases[i].line, request_cases[i].method,
                      request_cases[i].params);
        if (strcmp(request_cases[i].method, "capture.start"))
            assert_int_equal(fake_srv_n_requests(srv), 1);
        assert_string_equal(r.err, "");
        run_free(&r);
    }
}

/* capture -w relative: made absolute against the cwd. */
static void test_capture_relative_path(void **state)
{
    char cwd[PATH_MAX], want[PATH_MAX + 32];
    struct run r;

    (void)state;
    fake_srv_set_handler(srv, capture_done_at_once, NULL);
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    r = run("capture p1 -w rel.pcap");
    assert_int_equal(r.rc, 0);
    snprintf(want, sizeof(want), "{\"port\":\"p1\",\"file\":\"%s/rel.pcap\"}",
             cwd);
    check_request(0, "capture p1 -w rel.pcap", "capture.start", want);
    run_free(&r);
}

/* Request ids are unique per connection and answered in order. */
static void test_ids_increase(void **state)
{
    struct run r;
    json_t *a, *b;

    (void)state;
    fake_srv_set_handler(srv, capture_done_at_once, NULL);
    r = run("capture p1 -w /tmp/z.pcap");
    assert_int_equal(r.rc, 0);
    assert_int_equal(fake_srv_n_requests(srv), 2);
    a = fake_srv_request(srv, 0);
    b = fake_srv_request(srv, 1);
    assert_true(json_integer_value(json_object_get(a, "id")) <
                json_integer_value(json_object_get(b, "id")));
    json_decref(a);
    json_decref(b);
    run_free(&r);
}

/* --- errors ----------------------------------------------------------- */

static void test_daemon_error(void **state)
{
    struct run r;

    (void)state;
    fake_srv_set_reply(srv, "switch.del",
                       "{\"error\":{\"code\":-32001,"
                       "\"message\":\"switch 'nope' does not exist\"}}");
    r = run("switch del nope");
    assert_int_equal(r.rc, 1);
    assert_string_equal(r.err, "vesperctl: switch 'nope' does not exist\n");
    assert_string_equal(r.out, "");
    run_free(&r);

    /* Same with --json: errors never go to stdout. */
    r = run("--json switch del nope");
    assert_int_equal(r.rc, 1);
    assert_string_equal(r.err, "vesperctl: switch 'nope' does not exist\n");
    assert_string_equal(r.out, "");
    run_free(&r);

    /* An error without a message still says something. */
    fake_srv_set_reply(srv, "port.del", "{\"error\":{\"code\":-32004}}");
    r = run("port del p1");
    assert_int_equal(r.rc, 1);
    assert_string_equal(r.err, "vesperctl: vesperd error -32004\n");
    run_free(&r);

    /* An error answered with id null (the daemon could not read the id). */
    fake_srv_set_raw(srv, "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":"
                          "{\"code\":-32700,\"message\":\"parse error at "
                          "column 3\"}}");
    r = run("info");
    assert_int_equal(r.rc, 1);
    assert_string_equal(r.err, "vesperctl: parse error at column 3\n");
    run_free(&r);
}

static const struct {
    const char *line;
    const char *needle; /* must appear in the message */
} usage_cases[] = {
    {"port set p1 --access 0", "--access: VLAN 0 is out of range"},
    {"port set p1 --access 4095", "VLAN 4095"},
    {"port set p1 --access 5000", "VLAN 5000"},
    {"fdb show sw1 --vlan 0", "--vlan"},
    {"fdb add sw1 --vlan 10 --mac 02:00:00:00:00 --port p1",
     "--mac: '02:00:00:00:00' is not a MAC address"},
    {"fdb add sw1 --vlan 10 --mac 02:00:00:00:00:0g --port p1", "--mac"},
    {"fdb add sw1 --vlan 10 --mac 01:00:5e:00:00:01 --port p1",
     "--mac: 01:00:5e:00:00:01 is not a unicast"},
    {"port set p1 --trunk 1-5000", "--trunk: VLAN 5000"},
    {"port set p1 --trunk 10-5", "--trunk: range 10-5"},
    {"port set p1 --trunk 1,,2", "--trunk: '1,,2' is not a VLAN set"},
    {"port set p1 --trunk 0-10", "--trunk: VLAN 0"},
    {"switch list --bogus", "unknown option '--bogus' for 'switch list'"},
    {"--frob switch list", "unknown option '--frob'"},
    {"switch set sw1 --fdb-max", "--fdb-max needs a value"},
    {"switch set sw1 --fdb-max --aging 20", "--fdb-max needs a value"},
    {"port set p1 --access 10 --trunk 1-10",
     "--access and --trunk are mutually exclusive"},
    {"port add p1 --switch s --class dpdk --devargs x --access 2 "
     "--trunk 3", "mutually exclusive"},
    {"port set p1 --native 5", "--native: only with --trunk"},
    {"switch add sw1", "missing --type"},
    {"switch add sw1 --type bogus", "--type: 'bogus' is not one of"},
    {"switch add sw1 --type private --uplink eth0",
     "--uplink: only for --type external"},
    {"switch add sw1 --type external", "--type external needs --uplink"},
    {"switch add sw1 --type internal --mtu 50",
     "--mtu: 50 is out of range (68..1500)"},
    {"switch add sw1 --type internal --mtu 1501",
     "--mtu: 1501 is out of range (68..1500)"},
    {"switch add sw1 --type internal --mtu 9000",
     "--mtu: 9000 is out of range (68..1500)"},
    {"switch add sw/1 --type private", "NAME: 'sw/1' is not a valid name"},
    {"switch add aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa --type private", "NAME"},
    {"switch add sw1 --type internal --address 10.0.0.1",
     "--address: '10.0.0.1'"},
    {"switch add sw1 --type internal --address 10.0.0.1/33", "--address"},
    {"switch set sw1", "nothing to change"},
    {"port add p1 --switch s --class dpdk", "--devargs"},
    {"port add p1 --switch s --class internal --ifname x --devargs y",
     "--devargs: only for --class dpdk"},
    {"frobnicate", "unknown command 'frobnicate'"},
    {"switch", "switch: missing command"},
    {"switch add sw1 --type private extra", "unexpected argument 'extra'"},
    {"capture p1", "missing -w"},
    {"capture p1 -w x.pcap --direction up", "--direction: 'up'"},
    {"--timeout 0 switch list", "--timeout"},
    {"--timeout abc switch list", "--timeout: 'abc'"},
    {"stats p1 p2", "unexpected argument 'p2'"},
    {"", "missing command"},
    {"vm nic add vm1 --switch sw1 --type e1000",
     "--type: 'e1000' is not one of synthetic, legacy"},
    {"vm nic add vm1 --type synthetic", "missing --switch"},
    {"vm nic del vm1", "missing NIC"},
    {"vm nic frob", "vm nic: unknown command 'frob' (add, del, connect, "
     "disconnect, set)"},
    {"vm nic disconnect vm1", "missing NIC"},
    {"vm frob", "vm: unknown command 'frob'"},
};

static void test_usage_errors(void **state)
{
    (void)state;
    assert_true(sizeof(usage_cases) / sizeof(*usage_cases) >= 15);
    for (size_t i = 0; i < sizeof(usage_cases) / sizeof(*usage_cases); i++) {
        struct run r = run(usage_cases[i].line);

        if (r.rc != 2)
            fail_msg("'%s': exit %d, want 2 (%s)", usage_cases[i].line, r.rc,
                     r.err);
        if (strncmp(r.err, "vesperctl: ", 11) ||
            !strstr(r.err, usage_cases[i].needle))
            fail_msg("'%s': stderr '%s' lacks '%s'", usage_cases[i].line,
                     r.err, usage_cases[i].needle);
        assert_non_null(strstr(r.err, "\nTry 'vesperctl "));
        assert_string_equal(r.out, "");
        assert_int_equal(fake_srv_n_requests(srv), 0);
        run_free(&r);
    }
}

static void test_unreachable(void **state)
{
    char path[PATH_MAX], want[PATH_MAX + 128];
    struct run r;

    (void)state;
    snprintf(path, sizeof(path), "%s.missing", fake_srv_path(srv));
    r = run_with(path, "switch list");
    assert_int_equal(r.rc, 3);
    snprintf(want, sizeof(want),
             "vesperctl: cannot connect to %s: No such file or directory "
             "(is vesperd running?)\n", path);
    assert_string_equal(r.err, want);
    assert_string_equal(r.out, "");
    run_free(&r);

    /* $VESPER_SOCKET replaces the default; --socket beats it. */
    setenv("VESPER_SOCKET", path, 1);
    r = run_with(NULL, "info");
    assert_int_equal(r.rc, 3);
    assert_string_equal(r.err, want);
    run_free(&r);
    setenv("VESPER_SOCKET", fake_srv_path(srv), 1);
    r = run_with(NULL, "info");
    assert_int_equal(r.rc, 0);
    run_free(&r);
    r = run_with(path, "info");
    assert_int_equal(r.rc, 3);
    run_free(&r);
    /* too long for a socket address: a usage error, as --socket's (bug:
     * "cannot connect ...: File name too long (is vesperd running?)",
     * exit 3) */
    memset(want, 'x', 120);
    want[0] = '/';
    want[120] = '\0';
    setenv("VESPER_SOCKET", want, 1);
    r = run_with(NULL, "info");
    assert_int_equal(r.rc, 2);
    assert_string_equal(r.err, "vesperctl: $VESPER_SOCKET: path is longer "
                               "than 107 bytes\n");
    run_free(&r);
    unsetenv("VESPER_SOCKET");

    /* A path that is not a socket. */
    r = run_with("/", "info");
    assert_int_equal(r.rc, 3);
    assert_non_null(strstr(r.err, "cannot connect to /: "));
    run_free(&r);
}

static void test_broken_daemon(void **state)
{
    struct run r;

    (void)state;
    /* Silent: the timeout fires. */
    fake_srv_set_mode(srv, FAKE_SRV_SILENT);
    r = run("--timeout 0.2 switch list");
    assert_int_equal(r.rc, 3);
    assert_string_equal(r.err,
                        "vesperctl: no answer from vesperd within 0.200 s\n");
    run_free(&r);
    /* A change vesperd reads late is made all the same: exit 3 does not
     * mean "not done", and the message says so. */
    r = run("--timeout 0.2 switch add tmo --type private");
    assert_int_equal(r.rc, 3);
    assert_string_equal(r.err,
                        "vesperctl: no answer from vesperd within 0.200 s; "
                        "the request may still have been applied: check "
                        "with 'vesperctl config show'\n");
    run_free(&r);
    r = run("--timeout 0.2 fdb flush sw1");
    assert_int_equal(r.rc, 3);
    assert_string_equal(r.err,
                        "vesperctl: no answer from vesperd within 0.200 s; "
                        "the request may still have been applied\n");
    run_free(&r);

    /* Closes without answering. */
    fake_srv_set_mode(srv, FAKE_SRV_CLOSE);
    r = run("switch list");
    assert_int_equal(r.rc, 3);
    assert_string_equal(r.err, "vesperctl: vesperd closed the connection\n");
    run_free(&r);

    /* Answers garbage. */
    fake_srv_set_raw(srv, "this is not json");
    r = run("switch list");
    assert_int_equal(r.rc, 1);
    assert_non_null(strstr(r.err, "vesperctl: invalid response from vesperd"));
    run_free(&r);

    /* Answers another request's id. */
    fake_srv_set_raw(srv, "{\"jsonrpc\":\"2.0\",\"id\":999,\"result\":{}}");
    r = run("switch list");
    assert_int_equal(r.rc, 1);
    assert_non_null(strstr(r.err, "id does not match"));
    run_free(&r);

    /* Not JSON-RPC 2.0. */
    fake_srv_set_raw(srv, "{\"id\":1,\"result\":{}}");
    r = run("switch list");
    assert_int_equal(r.rc, 1);
    assert_non_null(strstr(r.err, "not a JSON-RPC 2.0"));
    run_free(&r);

    /* Neither result nor error. */
    fake_srv_set_raw(srv, "{\"jsonrpc\":\"2.0\",\"id\":1}");
    r = run("switch list");
    assert_int_equal(r.rc, 1);
    assert_non_null(strstr(r.err, "no result and no error"));
    run_free(&r);
}

/* --- output ----------------------------------------------------------- */

static const char switch_list_result[] =
    "{\"result\":{\"switches\":["
    "{\"name\":\"default\",\"type\":\"internal\",\"ports\":1,"
    "\"fdb_entries\":3},"
    "{\"name\":\"ext-uplink0\",\"type\":\"external\",\"ports\":12,"
    "\"fdb_entries\":10240}]}}";

static const char port_list_result[] =
    "{\"result\":{\"ports\":["
    "{\"name\":\"vesper0\",\"switch\":\"default\",\"class\":\"internal\","
    "\"vlan\":\"access 1\",\"link\":\"up\",\"link_mtu\":1500},"
    "{\"name\":\"ext0.uplink\",\"switch\":\"ext0\",\"class\":\"uplink\","
    "\"vlan\":\"trunk 1-10 native 1\",\"link\":\"down\"}]}}";

static const char fdb_result[] =
    "{\"result\":{\"entries\":["
    "{\"vlan\":1,\"mac\":\"02:00:00:00:00:01\",\"port\":\"vesper0\","
    "\"static\":true,\"age_s\":0},"
    "{\"vlan\":100,\"mac\":\"52:54:00:12:34:56\",\"port\":\"vm1\","
    "\"static\":false,\"age_s\":17}]}}";

static const char stats_result[] =
    "{\"result\":{\"ports\":[{\"name\":\"vm1\",\"rx_packets\":1200,"
    "\"rx_bytes\":151234,\"tx_packets\":1100,\"tx_bytes\":140000,"
    "\"drops\":{\"vlan_untagged\":0,\"vlan_tagged_on_access\":0,"
    "\"vlan_not_allowed\":3,\"vlan_reserved\":0,\"runt\":0,\"same_port\":2,"
    "\"no_member\":0,\"tx_full\":0,\"link_down\":0,\"no_mbuf\":0,"
    "\"open_drained\":4,\"learn_refused\":9,\"capture_full\":0,"
    "\"rx_missed\":0,\"rx_no_mbuf\":0,\"rx_errors\":0}}]}}";

/* As vesperd sends it: keys sorted (show views print them in their own
 * order). */
static const char info_result[] =
    "{\"result\":{\"config\":\"/var/lib/vesper/config.json\","
    "\"hugepages\":false,\"lcores\":\"0,1\",\"pid\":4242,"
    "\"socket\":\"/run/vesper/vesperd.sock\",\"version\":\"0.1.0\"}}";

static const char port_show_result[] =
    "{\"result\":{\"class\":\"dpdk\",\"devargs\":\"net_tap0,iface=t0\","
    "\"fdb_entries\":4,\"id\":3,\"learn_limit\":0,\"link\":\"up\","
    "\"mac\":\"02:00:00:00:00:09\",\"name\":\"vm1\",\"switch\":\"sw1\","
    "\"vlan\":{\"allowed\":\"1-10,20\",\"mode\":\"trunk\",\"native\":5,"
    "\"native_tagged\":true},"
    "\"vlan_summary\":\"trunk 1-10,20 native 5 tagged\"}}";

static const char vm_list_result[] =
    "{\"result\":{\"vms\":["
    "{\"name\":\"vm1\",\"nics\":2,\"state\":\"connected\"},"
    "{\"name\":\"web-02\",\"nics\":0,\"state\":\"waiting\"}]}}";

/* As vesperd sends it: keys sorted. */
static const char vm_show_result[] =
    "{\"result\":{\"channels\":["
    "{\"closes\":0,\"connected\":true,"
    "\"counters\":{\"bad_index\":0,\"pkts_read\":3,"
    "\"bytes_read\":120},\"handler\":\"none\","
    "\"instance\":\"0f2a5e36-1b7c-8d40-9a11-22c3d4e5f607\","
    "\"mac\":\"02:00:00:00:aa:01\",\"nic\":\"eth0\",\"offered\":true,"
    "\"opened\":true,\"opens\":1,\"port\":\"vm1.eth0\",\"relid\":1,"
    "\"state\":\"open\",\"switch\":\"sw1\",\"unhandled_bytes\":120,"
    "\"unhandled_packets\":3},"
    "{\"closes\":0,\"connected\":false,\"handler\":\"-\","
    "\"instance\":\"7a0b1c2d-3e4f-8a5b-8c6d-7e8f90a1b2c3\","
    "\"mac\":\"42:d0:38:c4:cd:ab\",\"nic\":\"eth1\",\"offered\":false,"
    "\"opened\":false,\"opens\":0,\"port\":\"vm1.eth1\",\"relid\":0,"
    "\"state\":\"not offered\",\"switch\":\"sw1\",\"unhandled_bytes\":0,"
    "\"unhandled_packets\":0}],"
    "\"connects\":1,\"counters\":{\"bad_frame\":0,\"msgs_in\":7,"
    "\"msgs_out\":9},\"disconnects\":0,\"gpadls\":1,"
    "\"guest_connected\":true,\"kicked\":0,\"name\":\"vm1\","
    "\"refused\":0,\"socket\":\"/run/vesper/vm/vm1.sock\","
    "\"state\":\"connected\",\"violations\":0,\"vmbus_state\":\"ready\","
    "\"vmbus_version\":\"5.3\"}}";

/* A VM with a synthetic NIC (its port's and VSP's counters under
 * "datapath") and two legacy NICs (one attached, one whose guest is gone),
 * as vesperd sends it (keys sorted). */
static const char vm_show_legacy_result[] =
    "{\"result\":{\"channels\":["
    "{\"closes\":0,\"connected\":true,\"counters\":{\"bad_index\":0},"
    "\"datapath\":{\"attached\":true,\"byte_yields\":2,"
    "\"connected\":true,\"gpadl_requests\":2,\"guest_refused\":0,"
    "\"mtu\":1500,\"ndis_version\":393246,\"no_mbuf\":0,"
    "\"nvsp_version\":393217,\"recv_slot_size\":1514,"
    "\"recv_slots\":1024,\"recv_slots_in_flight\":0,\"rx_detached\":0,"
    "\"rx_disconnected\":0,\"stage_full\":0,"
    "\"vsp\":{\"g2h_frames\":40,\"h2g_frames\":38,\"pkts_in\":52}},"
    "\"handler\":\"synthetic\","
    "\"mac\":\"02:00:00:00:aa:05\",\"nic\":\"eth0\",\"offered\":true,"
    "\"opened\":true,\"opens\":1,\"port\":\"vm2.eth0\",\"relid\":1,"
    "\"state\":\"open\",\"switch\":\"sw1\",\"unhandled_packets\":0}],"
    "\"counters\":{\"bad_io\":0,\"io_traps\":240,\"irqs_raised\":3},"
    "\"devices\":["
    "{\"attaches\":1,\"connected\":true,\"datapath\":{\"attached\":true,"
    "\"csrs\":{\"csr5\":6684672,\"csr6\":33693698,\"csr7\":125935},"
    "\"device\":{\"cfg_reads\":18,\"csr_reads\":150,\"csr_writes\":60,"
    "\"rx_frames\":2,\"tx_frames\":0},"
    "\"io_traps\":228,\"irq_asserted\":false,\"link\":true,"
    "\"rx_delivered\":2,\"rx_missed\":0,\"rx_state\":\"running\","
    "\"tx_state\":\"suspended\"},"
    "\"detaches\":0,\"device\":0,\"mac\":\"02:00:00:00:21:40\","
    "\"nic\":\"eth1\",\"port\":\"vm2.eth1\",\"refused\":0,"
    "\"state\":\"attached\",\"switch\":\"sw1\",\"traps\":228,"
    "\"traps_unhandled\":0,\"type\":\"legacy\"},"
    "{\"attaches\":0,\"connected\":false,\"detaches\":0,\"device\":1,"
    "\"mac\":\"02:00:00:00:21:41\",\"nic\":\"eth2\",\"port\":\"vm2.eth2\","
    "\"refused\":0,\"state\":\"waiting\",\"switch\":\"sw1\",\"traps\":0,"
    "\"traps_unhandled\":0,\"type\":\"legacy\"}],"
    "\"io_absent\":12,\"name\":\"vm2\",\"state\":\"connected\","
    "\"violations\":0}}";

static void expect_output(const char *method, const char *reply,
                          const char *line, const char *want)
{
    struct run r;

    fake_srv_reset(srv);
    fake_srv_set_reply(srv, method, reply);
    r = run(line);
    if (r.rc != 0)
        fail_msg("'%s': exit %d: %s", line, r.rc, r.err);
    if (strcmp(r.out, want))
        fail_msg("'%s' printed:\n%s\nwant:\n%s", line, r.out, want);
    run_free(&r);
}

static void test_tables(void **state)
{
    (void)state;
    expect_output("switch.list", switch_list_result, "switch list",
                  "NAME         TYPE      PORTS    FDB\n"
                  "default      internal      1      3\n"
                  "ext-uplink0  external     12  10240\n");
    expect_output("port.list", port_list_result, "port list",
                  "NAME         SWITCH   CLASS     VLAN                 LINK"
                  "   MTU\n"
                  "vesper0      default  internal  access 1             up  "
                  "  1500\n"
                  "ext0.uplink  ext0     uplink    trunk 1-10 native 1  down"
                  "     -\n");
    expect_output("fdb.show", fdb_result, "fdb show sw1",
                  "VLAN  MAC                PORT     TYPE     AGE\n"
                  "   1  02:00:00:00:00:01  vesper0  static     -\n"
                  " 100  52:54:00:12:34:56  vm1      learned   17\n");
    expect_output("fdb.show", "{\"result\":{\"entries\":[]}}", "fdb show sw1",
                  "VLAN  MAC  PORT  TYPE  AGE\n");
    /* DROPS = 3 + 2 + 4 (open_drained frames are lost too); learn_refused
     * counts events, not lost frames. */
    expect_output("stats.get", stats_result, "stats",
                  "PORT  RX-PKTS  RX-BYTES  TX-PKTS  TX-BYTES  DROPS\n"
                  "vm1      1200    151234     1100    140000      9\n");
    expect_output("stats.get", stats_result, "stats vm1",
                  "PORT  RX-PKTS  RX-BYTES  TX-PKTS  TX-BYTES  DROPS\n"
                  "vm1      1200    151234     1100    140000      9\n"
                  "\n"
                  "DROP-REASON       COUNT\n"
                  "vlan_not_allowed      3\n"
                  "same_port             2\n"
                  "open_drained          4\n"
                  "learn_refused         9\n");
    expect_output("fdb.flush", "{\"result\":{\"ok\":true,\"flushed\":42}}",
                  "fdb flush sw1", "flushed 42 entries\n");
    expect_output("fdb.flush", "{\"result\":{\"ok\":true,\"flushed\":1}}",
                  "fdb flush sw1", "flushed 1 entry\n");
    expect_output("daemon.info", info_result, "info",
                  "version:    0.1.0\n"
                  "pid:        4242\n"
                  "config:     /var/lib/vesper/config.json\n"
                  "socket:     /run/vesper/vesperd.sock\n"
                  "lcores:     0,1\n"
                  "hugepages:  no\n");
    expect_output("port.show", port_show_result, "port show vm1",
                  "name:          vm1\n"
                  "switch:        sw1\n"
                  "class:         dpdk\n"
                  "devargs:       net_tap0,iface=t0\n"
                  "mac:           02:00:00:00:00:09\n"
                  "vlan:          trunk 1-10,20 native 5 tagged\n"
                  "vlan_summary:  trunk 1-10,20 native 5 tagged\n"
                  "learn_limit:   0\n"
                  "link:          up\n"
                  "id:            3\n"
                  "fdb_entries:   4\n");
    /* Members rpc.md does not list are shown too: flat objects as
     * key=value pairs, deeper ones as compact JSON. */
    expect_output("switch.show",
                  "{\"result\":{\"deep\":{\"a\":[1]},"
                  "\"fdb_stats\":{\"aged\":1,\"learned\":4,\"zz_new\":2},"
                  "\"management_os\":false,\"name\":\"sw1\",\"ports\":[],"
                  "\"type\":\"private\"}}",
                  "switch show sw1",
                  "name:           sw1\n"
                  "type:           private\n"
                  "management_os:  no\n"
                  "ports:          -\n"
                  "fdb_stats:      learned=4 aged=1 zz_new=2\n"
                  "deep:           {\"a\":[1]}\n");
    /* vesperd's whole switch.show, keys sorted as it sends them: lines in
     * docs/cli.md's order. */
    expect_output("switch.show",
                  "{\"result\":{\"aging_s\":300,\"fdb_entries\":3,"
                  "\"fdb_max\":8192,\"fdb_stats\":{\"aged\":13,"
                  "\"bucket_full\":0,\"displaced\":0,\"learn_busy\":0,"
                  "\"learn_limit\":0,\"learned\":131,\"moved\":2,"
                  "\"refreshed\":90412,\"static_conflict\":0,"
                  "\"static_evicted\":0,\"table_full\":0},"
                  "\"management_os\":true,\"name\":\"ext0\","
                  "\"ports\":[\"ext0.uplink\",\"ext0-host\"],"
                  "\"type\":\"external\"}}",
                  "switch show ext0",
                  "name:           ext0\n"
                  "type:           external\n"
                  "fdb_max:        8192\n"
                  "aging_s:        300\n"
                  "management_os:  yes\n"
                  "ports:          ext0.uplink, ext0-host\n"
                  "fdb_entries:    3\n"
                  "fdb_stats:      learned=131 moved=2 refreshed=90412 aged=13 "
                  "learn_limit=0 table_full=0 bucket_full=0 displaced=0 "
                  "learn_busy=0 static_conflict=0 static_evicted=0\n");
    /* Mutating commands are silent on success. */
    expect_output("switch.add", "{\"result\":{\"ok\":true}}",
                  "switch add s --type private", "");
    /* A result of an unexpected shape is shown as JSON, not lost. */
    expect_output("switch.list", "{\"result\":{\"weird\":1}}", "switch list",
                  "{\n  \"weird\": 1\n}\n");
}

static void test_vm_tables(void **state)
{
    (void)state;
    /* What vesperd chose, keys sorted as it sends them; printed name,
     * port, mac as docs/cli.md shows. */
    expect_output("vm.nic.add",
                  "{\"result\":{\"mac\":\"b2:34:33:db:14:00\","
                  "\"name\":\"nic0\",\"ok\":true,\"port\":\"vm1.nic0\"}}",
                  "vm nic add vm1 --switch lab --type synthetic",
                  "name:  nic0\n"
                  "port:  vm1.nic0\n"
                  "mac:   b2:34:33:db:14:00\n");
    expect_output("vm.list", vm_list_result, "vm list",
                  "NAME    STATE      NICS\n"
                  "vm1     connected     2\n"
                  "web-02  waiting       0\n");
    expect_output("vm.list", "{\"result\":{\"vms\":[]}}", "vm list",
                  "NAME  STATE  NICS\n");
    expect_output("vm.show", vm_show_result, "vm show vm1",
                  "name:             vm1\n"
                  "state:            connected\n"
                  "socket:           /run/vesper/vm/vm1.sock\n"
                  "guest_connected:  yes\n"
                  "vmbus_state:      ready\n"
                  "vmbus_version:    5.3\n"
                  "gpadls:           1\n"
                  "connects:         1\n"
                  "disconnects:      0\n"
                  "refused:          0\n"
                  "kicked:           0\n"
                  "violations:       0\n"
                  "counters:         msgs_in=7 msgs_out=9\n"
                  "\n"
                  "NIC   PORT      MAC                RELID  STATE        "
                  "CONNECTED  OFFERED  OPENED  UNHANDLED\n"
                  "eth0  vm1.eth0  02:00:00:00:aa:01      1  open         "
                  "yes        yes      yes             3\n"
                  "eth1  vm1.eth1  42:d0:38:c4:cd:ab      0  not offered  "
                  "no         no       no              0\n"
                  "\n"
                  "eth0 counters: pkts_read=3 bytes_read=120\n");
    /* a VM without NICs: no table */
    expect_output("vm.show",
                  "{\"result\":{\"channels\":[],\"name\":\"v\","
                  "\"state\":\"waiting\"}}", "vm show v",
                  "name:   v\n"
                  "state:  waiting\n");
    /* vm add and vm nic add tell what they made */
    expect_output("vm.add", "{\"result\":{\"ok\":true,"
                  "\"socket\":\"/run/vesper/vm/vm1.sock\"}}", "vm add vm1",
                  "socket:  /run/vesper/vm/vm1.sock\n");
    expect_output("vm.nic.add", "{\"result\":{\"ok\":true,\"name\":\"nic0\","
                  "\"port\":\"vm1.nic0\",\"mac\":\"b2:34:33:db:14:00\"}}",
                  "vm nic add vm1 --switch sw1 --type synthetic",
                  "name:  nic0\n"
                  "port:  vm1.nic0\n"
                  "mac:   b2:34:33:db:14:00\n");
    expect_output("vm.nic.del", "{\"result\":{\"ok\":true,"
                  "\"removed_fdb_static\":0}}", "vm nic del vm1 nic0", "");
    expect_output("vm.nic.set", "{\"result\":{\"ok\":true}}",
                  "vm nic disconnect vm1 nic0", "");
    expect_output("vm.nic.set", "{\"result\":{\"ok\":true}}",
                  "vm nic connect vm1 nic0", "");
    expect_output("vm.del", "{\"result\":{\"ok\":true,"
                  "\"removed_ports\":[],\"removed_fdb_static\":0}}",
                  "vm del vm1", "");
    /* legacy NICs: a device table after the channels, then the device
     * model's and the port's non-zero counters (the CSR values are not
     * counters and stay in --json) */
    expect_output("vm.show", vm_show_legacy_result, "vm show vm2",
                  "name:        vm2\n"
                  "state:       connected\n"
                  "violations:  0\n"
                  "io_absent:   12\n"
                  "counters:    io_traps=240 irqs_raised=3\n"
                  "\n"
                  "NIC   PORT      MAC                RELID  STATE  "
                  "CONNECTED  OFFERED  OPENED  UNHANDLED\n"
                  "eth0  vm2.eth0  02:00:00:00:aa:05      1  open   "
                  "yes        yes      yes             0\n"
                  "\n"
                  "eth0 port: byte_yields=2 gpadl_requests=2 mtu=1500 "
                  "ndis_version=6.30 nvsp_version=6.1 recv_slot_size=1514 "
                  "recv_slots=1024\n"
                  "eth0 vsp: g2h_frames=40 h2g_frames=38 pkts_in=52\n"
                  "\n"
                  "DEV  NIC   PORT      MAC                STATE     "
                  "CONNECTED  RX       TX         IRQ  TRAPS\n"
                  "  0  eth1  vm2.eth1  02:00:00:00:21:40  attached  "
                  "yes        running  suspended  no     228\n"
                  "  1  eth2  vm2.eth2  02:00:00:00:21:41  waiting   "
                  "no         -        -          -        0\n"
                  "\n"
                  "eth1 device: cfg_reads=18 csr_reads=150 csr_writes=60 "
                  "rx_frames=2\n"
                  "eth1 port: io_traps=228 rx_delivered=2\n");
    /* devices only: no channel table */
    expect_output("vm.show",
                  "{\"result\":{\"channels\":[],\"name\":\"v\","
                  "\"devices\":[{\"device\":0,\"nic\":\"e\","
                  "\"port\":\"v.e\",\"mac\":\"02:00:00:00:00:01\","
                  "\"state\":\"unhandled\",\"traps\":3,"
                  "\"connected\":true}]}}",
                  "vm show v",
                  "name:  v\n"
                  "\n"
                  "DEV  NIC  PORT  MAC                STATE      CONNECTED  "
                  "RX  TX  IRQ  TRAPS\n"
                  "  0  e    v.e   02:00:00:00:00:01  unhandled  yes        "
                  "-   -   -        3\n");
    /* not the expected shape: JSON */
    expect_output("vm.show", "{\"result\":{\"name\":\"v\"}}", "vm show v",
                  "{\n  \"name\": \"v\"\n}\n");
}

static void test_json_output(void **state)
{
    static const struct {
        const char *method;
        const char *reply;
        const char *line;
    } cases[] = {
        {"switch.list", switch_list_result, "--json switch list"},
        {"port.list", port_list_result, "port list --json"},
        {"fdb.show", fdb_result, "--json fdb show sw1"},
        {"stats.get", stats_result, "--json stats vm1"},
        {"daemon.info", info_result, "--json info"},
        {"port.show", port_show_result, "--json port show vm1"},
        {"vm.list", vm_list_result, "--json vm list"},
        {"vm.show", vm_show_result, "vm show vm1 --json"},
        {"switch.add", "{\"result\":{\"ok\":true}}",
         "--json switch add s --type private"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        json_t *reply = json_loads(cases[i].reply, 0, NULL);
        json_error_t e;
        json_t *got;
        struct run r;

        fake_srv_reset(srv);
        fake_srv_set_reply(srv, cases[i].method, cases[i].reply);
        r = run(cases[i].line);
        assert_int_equal(r.rc, 0);
        got = json_loads(r.out, 0, &e);
        if (!got)
            fail_msg("'%s': not JSON (%s): %s", cases[i].line, e.text, r.out);
        assert_true(json_equal(got, json_object_get(reply, "result")));
        /* Indented, one value per line. */
        assert_non_null(strchr(r.out, '\n'));
        json_decref(got);
        json_decref(reply);
        run_free(&r);
    }
}

/* A comma list of the VIDs from..4094 in steps of 2 (the 2047 even VIDs,
 * 9,682 bytes, are the longest set there is). */
static char *vid_list(unsigned from, unsigned to)
{
    char *s = calloc(1, 10 * 2048);

    assert_non_null(s);
    for (unsigned v = from; v <= to; v += 2)
        sprintf(s + strlen(s), "%s%u", v > from ? "," : "", v);
    return s;
}

/* The longest VLAN sets: port list's table says how many VLANs it leaves
 * out instead of cutting the set ("...151,153,15" read as a set ending in
 * VLAN 15); --json, and port show's vlan and vlan_summary lines, carry the
 * set whole. */
static void test_long_vlan_sets(void **state)
{
    char *even = vid_list(2, 4094), *odd = vid_list(1, 399);
    char *reply, *want;
    json_t *got, *res;
    struct run r;

    (void)state;
    assert_int_equal(strlen(even), 9682);
    assert_true(asprintf(&reply,
        "{\"result\":{\"ports\":["
        "{\"name\":\"p0\",\"switch\":\"lab\",\"class\":\"dpdk\","
        "\"vlan\":\"trunk %s native 2 tagged\",\"link\":\"up\"},"
        "{\"name\":\"p1\",\"switch\":\"lab\",\"class\":\"dpdk\","
        "\"vlan\":\"trunk %s\",\"link\":\"down\"},"
        "{\"name\":\"p2\",\"switch\":\"lab\",\"class\":\"dpdk\","
        "\"vlan\":\"trunk 1-10,20-30,40-50,60-70,80-90,100-110,120-130\","
        "\"link\":\"up\"},"
        "{\"name\":\"p3\",\"switch\":\"lab\",\"class\":\"dpdk\","
        "\"vlan\":\"trunk 1-4094 native 1\",\"link\":\"up\"}]}}",
        even, odd) > 0);
    expect_output("port.list", reply, "port list",
        "NAME  SWITCH  CLASS  VLAN                                       "
        "                            LINK  MTU\n"
        "p0    lab     dpdk   trunk "
        "2,4,6,8,10,12,14,16,18,20,22,24,...(+2035 more) native 2 tagged  up  "
        "    -\n"
        "p1    lab     dpdk   trunk "
        "1,3,5,7,9,11,13,15,17,19,21,23,...(+188 more)                    down"
        "    -\n"
        "p2    lab     dpdk   trunk 1-10,20-30,40-50,60-70,80-90,...(+22 "
        "more)                       up      -\n"
        "p3    lab     dpdk   trunk 1-4094 native 1                      "
        "                            up      -\n");
    fake_srv_reset(srv);
    fake_srv_set_reply(srv, "port.list", reply);
    r = run("--json port list");
    assert_int_equal(r.rc, 0);
    got = json_loads(r.out, 0, NULL);
    res = json_loads(reply, 0, NULL);
    assert_non_null(got);
    assert_true(json_equal(got, json_object_get(res, "result")));
    json_decref(got);
    json_decref(res);
    run_free(&r);
    free(reply);

    assert_true(asprintf(&reply,
        "{\"result\":{\"name\":\"p0\",\"vlan\":{\"mode\":\"trunk\","
        "\"allowed\":\"%s\",\"native\":2,\"native_tagged\":true},"
        "\"vlan_summary\":\"trunk %s native 2 tagged\"}}", even, even) > 0);
    assert_true(asprintf(&want,
        "name:          p0\n"
        "vlan:          trunk %s native 2 tagged\n"
        "vlan_summary:  trunk %s native 2 tagged\n", even, even) > 0);
    expect_output("port.show", reply, "port show p0", want);
    free(want);
    free(reply);
    free(even);
    free(odd);
}

static void test_config_show(void **state)
{
    static const char doc[] =
        "{\"version\":1,\"switches\":[{\"name\":\"default\","
        "\"type\":\"internal\",\"fdb_max\":8192,\"aging_s\":300}],"
        "\"ports\":[],\"fdb_static\":[]}";
    char reply[512];
    json_t *want = json_loads(doc, 0, NULL), *got;

    (void)state;
    snprintf(reply, sizeof(reply), "{\"result\":{\"config\":%s}}", doc);
    for (int json = 0; json < 2; json++) {
        struct run r;

        fake_srv_reset(srv);
        fake_srv_set_reply(srv, "config.get", reply);
        r = run(json ? "--json config show" : "config show");
        assert_int_equal(r.rc, 0);
        got = json_loads(r.out, 0, NULL);
        assert_non_null(got);
        assert_true(json_equal(got, want)); /* the document itself */
        assert_non_null(strstr(r.out, "\n  \"switches\": ["));
        json_decref(got);
        run_free(&r);
    }
    json_decref(want);
}

static void test_help_exit(void **state)
{
    static const char *const lines[] = {"--help", "help", "help switch add",
                                        "switch add --help", "port --help",
                                        "capture -h", "switch del -h"};

    (void)state;
    for (size_t i = 0; i < sizeof(lines) / sizeof(*lines); i++) {
        struct run r = run(lines[i]);
        assert_int_equal(r.rc, 0);
        assert_non_null(strstr(r.out, "usage:"));
        assert_string_equal(r.err, "");
        run_free(&r);
    }
    assert_int_equal(fake_srv_n_requests(srv), 0);

    /* "-h" as an option's value is not help: exit 2, nothing sent. */
    {
        struct run r = run("vm nic add vm1 --switch lab --type synthetic "
                           "--name -h");

        assert_int_equal(r.rc, 2);
        assert_string_equal(r.out, "");
        assert_string_equal(r.err, "vesperctl: --name needs a value\n"
                                   "Try 'vesperctl help vm nic add'.\n");
        run_free(&r);
    }
    assert_int_equal(fake_srv_n_requests(srv), 0);
}

/* --- capture ---------------------------------------------------------- */

struct capture_script {
    unsigned done_after;   /* status call that reports done (0: never) */
    unsigned sigint_on;    /* status call that raises `sig` (0: never) */
    int sig;               /* 0: SIGINT */
    unsigned statuses;     /* status calls seen */
    json_int_t stop_count; /* "captured" in capture.stop */
    const char *error;     /* "error" of the status that reports done */
    const char *ended;     /* "ended" of the status that reports done */
    const char *stop_ended; /* "ended" of capture.stop (NULL: "stopped") */
    unsigned close_on;     /* status call that hangs up instead (0: never) */
};

static json_t *capture_handler(const char *method, json_t *params,
                               unsigned n_call, void *arg)
{
    struct capture_script *cs = arg;

    (void)n_call;
    if (!method)
        return NULL;
    if (!strcmp(method, "capture.start"))
        return json_pack("{s:{s:i}}", "result", "id", 7);
    if (json_integer_value(json_object_get(params, "id")) != 7)
        return json_pack("{s:{s:i, s:s}}", "error", "code", -32001,
                         "message", "capture 7 expected");
    if (!strcmp(method, "capture.status")) {
        bool done = cs->done_after && cs->statuses + 1 >= cs->done_after;
        json_t *r;

        if (cs->close_on && cs->statuses + 1 == cs->close_on)
            return json_null(); /* vesperd went away */
        cs->statuses++;
        if (cs->sigint_on && cs->statuses == cs->sigint_on)
            raise(cs->sig ? cs->sig : SIGINT);
        r = json_pack("{s:{s:i, s:s, s:s, s:i, s:b}}", "result", "id", 7,
                      "port", "p1", "file", "/tmp/c.pcap", "captured",
                      (int)cs->statuses, "done", done);
        if (done && cs->error)
            json_object_set_new(json_object_get(r, "result"), "error",
                                json_string(cs->error));
        if (done && cs->ended)
            json_object_set_new(json_object_get(r, "result"), "ended",
                                json_string(cs->ended));
        return r;
    }
    if (!strcmp(method, "capture.stop"))
        return json_pack("{s:{s:b, s:I, s:b, s:s}}", "result", "ok", 1,
                         "captured", cs->stop_count, "done", 1, "ended",
                         cs->stop_ended ? cs->stop_ended : "stopped");
    return NULL;
}

static const char *method_of(size_t i)
{
    static char buf[64];
    json_t *req = fake_srv_request(srv, i);

    snprintf(buf, sizeof(buf), "%s",
             json_string_value(json_object_get(req, "method")));
    json_decref(req);
    return buf;
}

static void test_capture_until_done(void **state)
{
    struct capture_script cs = {.done_after = 3};
    struct run r;
    size_t n;

    (void)state;
    fake_srv_set_handler(srv, capture_handler, &cs);
    r = run("capture p1 -w /tmp/c.pcap");
    if (r.rc != 0)
        fail_msg("exit %d: %s", r.rc, r.err);
    assert_string_equal(r.out, "captured 3 frames to /tmp/c.pcap\n");
    n = fake_srv_n_requests(srv);
    assert_int_equal(n, 4); /* start + 3 status, no stop */
    assert_string_equal(method_of(0), "capture.start");
    assert_string_equal(method_of(3), "capture.status");
    run_free(&r);

    fake_srv_reset(srv);
    cs = (struct capture_script){.done_after = 2};
    fake_srv_set_handler(srv, capture_handler, &cs);
    r = run("--json capture p1 -w /tmp/c.pcap");
    assert_int_equal(r.rc, 0);
    json_t *got = json_loads(r.out, 0, NULL);
    json_t *want = json_pack("{s:i, s:s, s:s, s:i}", "id", 7, "port", "p1",
                             "file", "/tmp/c.pcap", "captured", 2);
    assert_true(json_equal(got, want));
    json_decref(got);
    json_decref(want);
    run_free(&r);
}

/* vesperd stops under a running capture: vesperctl said only "vesperd
 * closed the connection" (exit 3) and lost the summary.  It now adds what
 * the last status said: the capture, its port and file, and at least that
 * many frames; exit 3 still. */
static void test_capture_vesperd_gone(void **state)
{
    struct capture_script cs = {.close_on = 4};
    struct run r;

    (void)state;
    fake_srv_set_handler(srv, capture_handler, &cs);
    r = run("capture p1 -w /tmp/c.pcap");
    assert_int_equal(r.rc, 3);
    assert_string_equal(r.out, "");
    assert_string_equal(r.err,
                        "vesperctl: vesperd closed the connection\n"
                        "vesperctl: capture 7 of port p1 to /tmp/c.pcap: at "
                        "least 3 frames if vesperd stopped (its last count; "
                        "after a crash the last of them may be missing)\n");
    run_free(&r);
    /* before any status: at least 0, still the capture and its file */
    fake_srv_reset(srv);
    cs = (struct capture_script){.close_on = 1};
    fake_srv_set_handler(srv, capture_handler, &cs);
    r = run("--json capture p1 -w /tmp/c.pcap");
    assert_int_equal(r.rc, 3);
    assert_non_null(strstr(r.err, "capture 7 of port p1 to /tmp/c.pcap: at "
                                  "least 0 frames"));
    run_free(&r);
}

static void test_capture_count(void **state)
{
    struct capture_script cs = {.stop_count = 2};
    struct run r;

    (void)state;
    /* The daemon never says done; COUNT 2 is reached on the 2nd status. */
    fake_srv_set_handler(srv, capture_handler, &cs);
    r = run("capture p1 -w /tmp/c.pcap -c 2");
    assert_int_equal(r.rc, 0);
    assert_string_equal(r.out, "captured 2 frames to /tmp/c.pcap\n");
    assert_int_equal(fake_srv_n_requests(srv), 4);
    assert_string_equal(method_of(3), "capture.stop");
    run_free(&r);
}

/* Ctrl-C, and SIGTERM (kill) and SIGHUP (a closed terminal) the same way:
 * capture.stop, the summary, exit 0 (SIGTERM and SIGHUP used to kill
 * vesperctl, and with it this test, leaving the capture running). */
static void test_capture_sigint(void **state)
{
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};

    (void)state;
    for (size_t i = 0; i < sizeof(sigs) / sizeof(*sigs); i++) {
        struct capture_script cs = {.sigint_on = 2, .sig = sigs[i],
                                    .stop_count = 5};
        struct sigaction sa, before;
        struct run r;

        /* as started (SIG_DFL, or SIG_IGN under nohup or in a background
         * job): a test of the stop needs the signal handled */
        sigaction(sigs[i], NULL, &before);
        signal(sigs[i], SIG_DFL);

        fake_srv_reset(srv);
        fake_srv_set_handler(srv, capture_handler, &cs);
        r = run("capture p1 -w /tmp/c.pcap");
        assert_int_equal(r.rc, 0);
        assert_string_equal(r.out, "captured 5 frames to /tmp/c.pcap\n");
        assert_string_equal(r.err, ""); /* its own stop: nothing to say */
        assert_int_equal(fake_srv_n_requests(srv), 4);
        assert_string_equal(method_of(3), "capture.stop");
        run_free(&r);
        /* The old disposition is back. */
        sigaction(sigs[i], NULL, &sa);
        assert_true(sa.sa_handler == SIG_DFL);
        sigaction(sigs[i], &before, NULL);
    }
}

/* Review: SIGHUP was caught even when vesperctl was started with it
 * ignored, so `nohup vesperctl capture ... &` stopped at logout.  A
 * signal inherited as ignored stays ignored: the SIGHUP raised at the
 * second status does nothing, the capture runs until vesperd reports it
 * done (4th status), and the disposition is still SIG_IGN afterwards. */
static void test_capture_nohup(void **state)
{
    struct capture_script cs = {.sigint_on = 2, .sig = SIGHUP,
                                .done_after = 4};
    struct sigaction before, sa;
    struct run r;

    (void)state;
    sigaction(SIGHUP, NULL, &before);
    signal(SIGHUP, SIG_IGN);
    fake_srv_reset(srv);
    fake_srv_set_handler(srv, capture_handler, &cs);
    r = run("capture p1 -w /tmp/c.pcap");
    assert_int_equal(r.rc, 0);
    assert_string_equal(r.out, "captured 4 frames to /tmp/c.pcap\n");
    assert_int_equal(cs.statuses, 4);
    run_free(&r);
    sigaction(SIGHUP, NULL, &sa);
    assert_true(sa.sa_handler == SIG_IGN);
    sigaction(SIGHUP, &before, NULL);
}

/* Why the capture ended, when vesperctl did not end it (it used to print
 * the same summary whatever happened, so a capture stopped from another
 * shell, or cut short by the deletion of its port, looked like a normal
 * finish): a line on stderr, then the summary, exit 0.  Ended by its count
 * it says nothing; --json carries "ended" in every case. */
static void test_capture_ended(void **state)
{
    static const struct {
        const char *ended, *err;
    } cases[] = {
        {"stopped", "vesperctl: capture 7 of port p1 was stopped elsewhere "
                    "(capture stop p1)\n"},
        {"port_closed", "vesperctl: capture 7 of port p1 ended: the port "
                        "was deleted\n"},
        {"count", ""},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        struct capture_script cs = {.done_after = 2,
                                    .ended = cases[i].ended};
        json_t *got, *want;
        struct run r;

        fake_srv_reset(srv);
        fake_srv_set_handler(srv, capture_handler, &cs);
        r = run("capture p1 -w /tmp/c.pcap");
        assert_int_equal(r.rc, 0);
        assert_string_equal(r.err, cases[i].err);
        assert_string_equal(r.out, "captured 2 frames to /tmp/c.pcap\n");
        assert_int_equal(fake_srv_n_requests(srv), 3); /* no stop */
        run_free(&r);

        fake_srv_reset(srv);
        cs = (struct capture_script){.done_after = 2,
                                     .ended = cases[i].ended};
        fake_srv_set_handler(srv, capture_handler, &cs);
        r = run("--json capture p1 -w /tmp/c.pcap");
        assert_int_equal(r.rc, 0);
        assert_string_equal(r.err, cases[i].err);
        got = json_loads(r.out, 0, NULL);
        want = json_pack("{s:i, s:s, s:s, s:i, s:s}", "id", 7, "port", "p1",
                         "file", "/tmp/c.pcap", "captured", 2, "ended",
                         cases[i].ended);
        if (!json_equal(got, want))
            fail_msg("--json printed %s", r.out);
        json_decref(got);
        json_decref(want);
        run_free(&r);
    }

    /* The port deleted just before vesperctl's own stop (--duration):
     * the stop's result says so. */
    {
        struct capture_script cs = {.stop_count = 4,
                                    .stop_ended = "port_closed"};
        struct run r;

        fake_srv_reset(srv);
        fake_srv_set_handler(srv, capture_handler, &cs);
        r = run("capture p1 -w /tmp/c.pcap --duration 1");
        assert_int_equal(r.rc, 0);
        assert_string_equal(r.err, "vesperctl: capture 7 of port p1 ended: "
                                   "the port was deleted\n");
        assert_string_equal(r.out, "captured 4 frames to /tmp/c.pcap\n");
        run_free(&r);
    }
}

/* capture stop PORT and capture list as an operator reads them. */
static void test_capture_stop_list(void **state)
{
    (void)state;
    expect_output("capture.stop",
                  "{\"result\":{\"id\":7,\"port\":\"vm1\",\"file\":"
                  "\"/tmp/a.pcap\",\"direction\":\"both\",\"captured\":120,"
                  "\"done\":true,\"ok\":true}}",
                  "capture stop vm1",
                  "stopped capture 7 of vm1: 120 frames in /tmp/a.pcap\n");
    expect_output("capture.list",
                  "{\"result\":{\"captures\":["
                  "{\"id\":3,\"port\":\"ext0.uplink\",\"file\":"
                  "\"/tmp/up.pcap\",\"direction\":\"rx\",\"captured\":5231,"
                  "\"done\":false},"
                  "{\"id\":7,\"port\":\"vm1\",\"file\":\"/tmp/a.pcap\","
                  "\"direction\":\"both\",\"captured\":100,\"done\":true},"
                  "{\"id\":8,\"port\":\"p2\",\"file\":\"/tmp/b.pcap\","
                  "\"direction\":\"rx\",\"captured\":10,\"done\":true,"
                  "\"ended\":\"count\"},"
                  "{\"id\":10,\"port\":\"p3\",\"file\":\"/tmp/c.pcap\","
                  "\"direction\":\"rx\",\"captured\":11,\"done\":true,"
                  "\"ended\":\"stopped\"},"
                  "{\"id\":11,\"port\":\"p4\",\"file\":\"/tmp/d.pcap\","
                  "\"direction\":\"rx\",\"captured\":12,\"done\":true,"
                  "\"ended\":\"port_closed\"},"
                  "{\"id\":9,\"port\":\"vm2\",\"file\":\"/mnt/small/b.pcap\","
                  "\"direction\":\"tx\",\"captured\":20,\"done\":true,"
                  "\"error\":\"writing /mnt/small/b.pcap: No space left on "
                  "device\",\"ended\":\"error\",\"lost\":100}]}}",
                  "capture list",
                  "ID  PORT         DIRECTION  FRAMES  STATE         FILE\n"
                  " 3  ext0.uplink  rx           5231  running       "
                  "/tmp/up.pcap\n"
                  " 7  vm1          both          100  done          "
                  "/tmp/a.pcap\n"
                  " 8  p2           rx             10  done          "
                  "/tmp/b.pcap\n"
                  "10  p3           rx             11  stopped       "
                  "/tmp/c.pcap\n"
                  "11  p4           rx             12  port deleted  "
                  "/tmp/d.pcap\n"
                  " 9  vm2          tx             20  failed        "
                  "/mnt/small/b.pcap\n"
                  "capture 9: writing /mnt/small/b.pcap: No space left on "
                  "device\n");
    expect_output("capture.list", "{\"result\":{\"captures\":[]}}",
                  "capture list",
                  "ID  PORT  DIRECTION  FRAMES  STATE  FILE\n");
}

static void test_capture_duration(void **state)
{
    struct capture_script cs = {.stop_count = 11};
    struct run r;
    size_t n;

    (void)state;
    fake_srv_set_handler(srv, capture_handler, &cs);
    r = run("capture p1 -w /tmp/c.pcap --duration 1");
    assert_int_equal(r.rc, 0);
    assert_string_equal(r.out, "captured 11 frames to /tmp/c.pcap\n");
    n = fake_srv_n_requests(srv);
    /* About 10 polls in 1 s at 100 ms; allow a slow machine. */
    assert_true(n >= 4 && n <= 13);
    assert_string_equal(method_of(n - 1), "capture.stop");
    run_free(&r);
}

/* A capture a write error ended: the daemon's reason on stderr, what the
 * file holds, exit 1 (it used to print "captured N frames" and exit 0). */
static void test_capture_write_error(void **state)
{
    struct capture_script cs = {
        .done_after = 2,
        .error = "writing /tmp/c.pcap: No space left on device"};
    struct run r;

    (void)state;
    fake_srv_set_handler(srv, capture_handler, &cs);
    r = run("capture p1 -w /tmp/c.pcap -c 10");
    assert_int_equal(r.rc, 1);
    assert_string_equal(r.out, "");
    assert_string_equal(r.err, "vesperctl: writing /tmp/c.pcap: No space "
                               "left on device (capture 7 ended; 2 frames "
                               "are in the file)\n");
    assert_int_equal(fake_srv_n_requests(srv), 3); /* no stop: it ended */
    run_free(&r);
}

static void test_capture_errors(void **state)
{
    struct run r;

    (void)state;
    fake_srv_set_reply(srv, "capture.start",
                       "{\"error\":{\"code\":-32001,"
                       "\"message\":\"port 'p9' does not exist\"}}");
    r = run("capture p9 -w /tmp/c.pcap");
    assert_int_equal(r.rc, 1);
    assert_string_equal(r.err, "vesperctl: port 'p9' does not exist\n");
    assert_int_equal(fake_srv_n_requests(srv), 1);
    run_free(&r);

    fake_srv_reset(srv);
    fake_srv_set_reply(srv, "capture.start", "{\"result\":{\"ok\":true}}");
    r = run("capture p1 -w /tmp/c.pcap");
    assert_int_equal(r.rc, 1);
    assert_non_null(strstr(r.err, "capture.start without \"id\""));
    run_free(&r);

    fake_srv_reset(srv);
    fake_srv_set_reply(srv, "capture.start", "{\"result\":{\"id\":3}}");
    fake_srv_set_reply(srv, "capture.status",
                       "{\"error\":{\"code\":-32001,"
                       "\"message\":\"capture 3 does not exist\"}}");
    r = run("capture p1 -w /tmp/c.pcap");
    assert_int_equal(r.rc, 1);
    assert_string_equal(r.err, "vesperctl: capture 3 does not exist\n");
    run_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_request_table, setup),
        cmocka_unit_test_setup(test_capture_relative_path, setup),
        cmocka_unit_test_setup(test_ids_increase, setup),
        cmocka_unit_test_setup(test_daemon_error, setup),
        cmocka_unit_test_setup(test_usage_errors, setup),
        cmocka_unit_test_setup(test_unreachable, setup),
        cmocka_unit_test_setup(test_broken_daemon, setup),
        cmocka_unit_test_setup(test_tables, setup),
        cmocka_unit_test_setup(test_vm_tables, setup),
        cmocka_unit_test_setup(test_json_output, setup),
        cmocka_unit_test_setup(test_long_vlan_sets, setup),
        cmocka_unit_test_setup(test_config_show, setup),
        cmocka_unit_test_setup(test_help_exit, setup),
        cmocka_unit_test_setup(test_capture_until_done, setup),
        cmocka_unit_test_setup(test_capture_vesperd_gone, setup),
        cmocka_unit_test_setup(test_capture_count, setup),
        cmocka_unit_test_setup(test_capture_sigint, setup),
        cmocka_unit_test_setup(test_capture_nohup, setup),
        cmocka_unit_test_setup(test_capture_stop_list, setup),
        cmocka_unit_test_setup(test_capture_duration, setup),
        cmocka_unit_test_setup(test_capture_errors, setup),
        cmocka_unit_test_setup(test_capture_write_error, setup),
        cmocka_unit_test_setup(test_capture_ended, setup),
    };
    int rc;

    srv = fake_srv_start();
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    fake_srv_stop(srv);
    return rc;
}
