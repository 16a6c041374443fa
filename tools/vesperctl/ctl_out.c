/* SPDX-License-Identifier: BSD-3-Clause */
#include "tools/vesperctl/ctl_out.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/vsa_compiler.h"
#include "tools/vesperctl/ctl_table.h"

/* Room for any scalar cell: a 20-digit integer, a MAC, a %g real. */
#define CELL_SIZE 64

static int print_json(FILE *out, const json_t *v)
{
    if (json_dumpf(v, out, JSON_INDENT(2) | JSON_ENCODE_ANY) < 0)
        return -ENOMEM;
    fputc('\n', out);
    return 0;
}

/* A scalar as text: strings as they are, numbers in decimal, bools as
 * yes/no, null or missing as "-".  Returns buf or the string's own text. */
static const char *scalar(const json_t *v, char *buf, size_t size)
{
    switch (v ? json_typeof(v) : JSON_NULL) {
    case JSON_STRING:
        return json_string_value(v);
    case JSON_INTEGER:
        snprintf(buf, size, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return buf;
    case JSON_REAL:
        snprintf(buf, size, "%g", json_real_value(v));
        return buf;
    case JSON_TRUE:
        return "yes";
    case JSON_FALSE:
        return "no";
    case JSON_NULL:
        return "-";
    default:
        return "?";
    }
}

/* A port's vlan object as port.list words it: "access 10",
 * "trunk 1-10,20 native 5 tagged".  Written whole, not through a buffer:
 * the allowed set of a trunk takes up to 9.7 KB.  False (nothing printed)
 * if vlan is not a vlan object. */
static bool print_vlan(FILE *out, const json_t *vlan)
{
    const char *mode = json_string_value(json_object_get(vlan, "mode"));
    const char *allowed;
    json_int_t native;

    if (mode && !strcmp(mode, "access")) {
        fprintf(out, "access %" JSON_INTEGER_FORMAT,
                json_integer_value(json_object_get(vlan, "vid")));
        return true;
    }
    if (!mode || strcmp(mode, "trunk"))
        return false;
    allowed = json_string_value(json_object_get(vlan, "allowed"));
    native = json_integer_value(json_object_get(vlan, "native"));
    fprintf(out, "trunk %s", allowed ? allowed : "1-4094");
    if (native > 0)
        fprintf(out, " native %" JSON_INTEGER_FORMAT "%s", native,
                json_is_true(json_object_get(vlan, "native_tagged"))
                    ? " tagged" : "");
    return true;
}

/* An object whose members are all scalars (counters, flags). */
static bool is_flat(const json_t *obj)
{
    const char *key;
    json_t *v;

    json_object_foreach((json_t *)obj, key, v)
        if (json_is_object(v) || json_is_array(v))
            return false;
    return json_object_size(obj) > 0;
}

/*
 * The order of a "show" command's "key: value" lines.  vesperd sends its
 * results with sorted keys (server.c), which would put a port's name after
 * its mac; these lists give the order people read them in (what an object
 * is, then its settings, then its state), and any member not listed
 * follows in the order it came, so nothing vesperd adds is lost.
 */
static const char *const switch_show_order[] = {
    "name", "type", "fdb_max", "aging_s", "management_os", "ports",
    "fdb_entries", "fdb_stats", NULL,
};
static const char *const port_show_order[] = {
    "name", "switch", "class", "vm", "nic", "type", "devargs", "ifname",
    "addresses", "mtu", "mac", "vlan", "vlan_summary", "learn_limit",
    "connected", "link", "link_mtu", "device_absent", "id", "fdb_entries",
    NULL,
};
static const char *const info_order[] = {
    "version", "pid", "config", "socket", "vm_dir", "lcores", "hugepages",
    "netlink_overflows", "mbufs", "capture_mbufs", NULL,
};
/* info's packet pools: how many are out, of how many. */
static const char *const pool_order[] = {"in_use", "size", NULL};
static const char *const vm_nic_add_order[] = {"name", "port", "mac", NULL};
/* switch show's fdb_stats, as fdb.h's struct vsw_fdb_stats and rpc.md
 * list them: what learning did, then why it was refused. */
static const char *const fdb_stats_order[] = {
    "learned", "moved", "refreshed", "aged", "learn_limit", "table_full",
    "bucket_full", "displaced", "learn_busy", "static_conflict",
    "static_evicted", NULL,
};

static const struct {
    const char *method; /* or, for a member object, its key */
    const char *const *order;
} field_orders[] = {
    {"switch.show", switch_show_order},
    {"port.show", port_show_order},
    {"daemon.info", info_order},
    {"vm.nic.add", vm_nic_add_order},
    {"fdb_stats", fdb_stats_order},
    {"mbufs", pool_order},
    {"capture_mbufs", pool_order},
};

static const char *const *field_order(const char *name)
{
    for (size_t i = 0; name && i < VSA_ARRAY_LEN(field_orders); i++)
        if (!strcmp(field_orders[i].method, name))
            return field_orders[i].order;
    return NULL;
}

/* obj's keys in the order `order` (may be NULL) lists them, then the
 * others as they come.  Returns a malloc'd array of json_object_size(obj)
 * keys (free it), or NULL if out of memory. */
static const char **ordered_keys(const json_t *obj, const char *const *order)
{
    size_t n = 0, size = json_object_size(obj);
    const char **keys = malloc((size ? size : 1) * sizeof(*keys));
    const char *key;
    json_t *v;

    if (!keys)
        return NULL;
    for (const char *const *k = order; k && *k; k++)
        if (json_object_get(obj, *k))
            keys[n++] = *k;
    json_object_foreach((json_t *)obj, key, v) {
        bool listed = false;

        for (const char *const *k = order; k && *k && !listed; k++)
            listed = !strcmp(*k, key);
        if (!listed)
            keys[n++] = key;
    }
    return keys;
}

/* "learned=1 moved=0 ..." in the order of `order`, then the others. */
static int print_pairs(FILE *out, const json_t *obj,
                       const char *const *order)
{
    const char **keys = ordered_keys(obj, order);
    char buf[CELL_SIZE];

    if (!keys)
        return -ENOMEM;
    for (size_t i = 0; i < json_object_size(obj); i++)
        fprintf(out, "%s%s=%s", i ? " " : "", keys[i],
                scalar(json_object_get(obj, keys[i]), buf, sizeof(buf)));
    free(keys);
    return 0;
}

/* One value of a "key: value" list; a flat object's members in `order`. */
static int print_field_value(FILE *out, const json_t *v,
                             const char *const *order)
{
    char buf[CELL_SIZE];
    size_t i;
    json_t *e;

    if (json_is_array(v)) {
        if (json_array_size(v) == 0) {
            fputs("-", out);
            return 0;
        }
        json_array_foreach(v, i, e) {
            if (i > 0)
                fputs(", ", out);
            if (json_is_array(e) || json_is_object(e))
                json_dumpf(e, out, JSON_COMPACT);
            else
                fputs(scalar(e, buf, sizeof(buf)), out);
        }
        return 0;
    }
    if (json_is_object(v)) {
        if (print_vlan(out, v))
            return 0;
        if (is_flat(v))
            return print_pairs(out, v, order);
        json_dumpf(v, out, JSON_COMPACT);
        return 0;
    }
    fputs(scalar(v, buf, sizeof(buf)), out);
    return 0;
}

/* "key: value" lines in the order field_order() gives for the method;
 * "ok" (of a mutation that reports what it made) is implied by the exit
 * status and not printed. */
static int view_fields(FILE *out, const char *method, const json_t *result)
{
    const char **keys = ordered_keys(result, field_order(method));
    size_t n = json_object_size(result);
    int width = 0, rc = 0;

    if (!keys)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        int len = (int)strlen(keys[i]);
        if (len > width && strcmp(keys[i], "ok"))
            width = len;
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (!strcmp(keys[i], "ok"))
            continue;
        fprintf(out, "%s:%*s", keys[i], width + 2 - (int)strlen(keys[i]), "");
        rc = print_field_value(out, json_object_get(result, keys[i]),
                               field_order(keys[i]));
        fputc('\n', out);
    }
    free(keys);
    return rc;
}

/* "k=v ..." of the non-zero integers of obj; "-" if none. */
static void print_nonzero(FILE *out, const json_t *obj)
{
    const char *key;
    json_t *v;
    bool any = false;

    json_object_foreach((json_t *)obj, key, v) {
        json_int_t n = json_integer_value(v);
        size_t len = strlen(key);

        if (!json_is_integer(v) || n == 0)
            continue;
        /* NVSP and NDIS versions are major << 16 | minor (6.30, not 393246) */
        if (len > 8 && !strcmp(key + len - 8, "_version") && n > 0 &&
            n <= 0xffffffff)
            fprintf(out, "%s%s=%u.%u", any ? " " : "", key,
                    (unsigned)(n >> 16), (unsigned)(n & 0xffff));
        else
            fprintf(out, "%s%s=%" JSON_INTEGER_FORMAT, any ? " " : "", key,
                    n);
        any = true;
    }
    if (!any)
        fputs("-", out);
}

/* Adds one row of up to 8 scalars taken from obj's keys. */
static int add_row_keys(struct ctl_table *t, const json_t *obj,
                        const char *const *keys)
{
    char bufs[12][CELL_SIZE];
    const char *cells[12];

    for (size_t c = 0; c < t->n_cols && c < 12; c++)
        cells[c] = scalar(json_object_get(obj, keys[c]), bufs[c],
                          sizeof(bufs[c]));
    return ctl_table_add_row(t, cells);
}

/* Prints result[list_key] (an array of objects) as a table of keys. */
static int view_list(FILE *out, const json_t *result, const char *list_key,
                     size_t n_cols, const char *const *headers,
                     const char *align, const char *const *keys)
{
    const json_t *list = json_object_get(result, list_key);
    struct ctl_table t;
    size_t i;
    json_t *e;
    int rc = 0;

    if (!json_is_array(list))
        return print_json(out, result);
    ctl_table_init(&t, n_cols, headers, align);
    json_array_foreach(list, i, e) {
        rc = add_row_keys(&t, e, keys);
        if (rc < 0)
            break;
    }
    if (rc == 0)
        ctl_table_print(&t, out);
    ctl_table_free(&t);
    return rc;
}

static int view_switch_list(FILE *out, const json_t *result)
{
    static const char *const headers[] = {"NAME", "TYPE", "PORTS", "FDB"};
    static const char *const keys[] = {"name", "type", "ports",
                                       "fdb_entries"};

    return view_list(out, result, "switches", 4, headers, "llrr", keys);
}

/* Most characters of a trunk's VLAN set in port list's table. */
#define VLAN_CELL_SET_MAX 32

/* VLAN IDs in a set ("1-10,20": 11), or -1 if it is not one. */
static long vlan_set_count(const char *set, size_t len)
{
    const char *p = set, *end = set + len;
    long n = 0;

    while (p < end) {
        unsigned long lo, hi;
        char *q;

        if (*p < '0' || *p > '9') /* strtoul would take a sign or space */
            return -1;
        lo = hi = strtoul(p, &q, 10);
        p = q;
        if (p < end && *p == '-') {
            if (p[1] < '0' || p[1] > '9')
                return -1;
            hi = strtoul(p + 1, &q, 10);
            p = q;
        }
        if (p > end || hi < lo || hi > 4094)
            return -1;
        n += (long)(hi - lo + 1);
        if (p < end && *p++ != ',')
            return -1;
    }
    return n;
}

/*
 * port list's VLAN cell: vesperd's words for the port's mode ("trunk SET
 * native N tagged"), a SET longer than VLAN_CELL_SET_MAX cut after its last
 * whole element that fits, with ",...(+N more)" where N counts the VLAN
 * IDs left out: a set can take 9.7 KB, and the table pads every row to its
 * widest cell.  `port show` and --json give the set whole.  Returns buf,
 * or `text` itself when it is short enough or not a trunk as expected
 * (whole, never cut without saying so).
 */
static const char *vlan_cell(const char *text, char *buf, size_t size)
{
    const char *set, *rest;
    size_t len, keep;
    long more;
    int n;

    if (!text || strncmp(text, "trunk ", 6) != 0)
        return text;
    set = text + 6;
    len = strcspn(set, " ");
    rest = set + len;
    if (len <= VLAN_CELL_SET_MAX)
        return text;
    for (keep = VLAN_CELL_SET_MAX; keep > 0 && set[keep] != ','; keep--)
        ;
    more = vlan_set_count(set + keep + (keep > 0), len - keep - (keep > 0));
    if (keep == 0 || more <= 0)
        return text;
    n = snprintf(buf, size, "trunk %.*s,...(+%ld more)%s", (int)keep, set,
                 more, rest);
    return n > 0 && (size_t)n < size ? buf : text;
}

static int view_port_list(FILE *out, const json_t *result)
{
    static const char *const headers[] = {"NAME", "SWITCH", "CLASS", "VLAN",
                                          "LINK", "MTU"};
    static const char *const keys[] = {"name", "switch", "class", "vlan",
                                       "link", "link_mtu"};
    const json_t *list = json_object_get(result, "ports");
    struct ctl_table t;
    size_t i;
    json_t *e;
    int rc = 0;

    if (!json_is_array(list))
        return print_json(out, result);
    ctl_table_init(&t, 6, headers, "lllllr");
    json_array_foreach(list, i, e) {
        char bufs[6][CELL_SIZE], vlan[128];
        const char *cells[6];

        for (size_t c = 0; c < 6; c++)
            cells[c] = scalar(json_object_get(e, keys[c]), bufs[c],
                              sizeof(bufs[c]));
        cells[3] = vlan_cell(cells[3], vlan, sizeof(vlan));
        rc = ctl_table_add_row(&t, cells);
        if (rc < 0)
            break;
    }
    if (rc == 0)
        ctl_table_print(&t, out);
    ctl_table_free(&t);
    return rc;
}

static int view_vm_list(FILE *out, const json_t *result)
{
    static const char *const headers[] = {"NAME", "STATE", "NICS"};
    static const char *const keys[] = {"name", "state", "nics"};

    return view_list(out, result, "vms", 3, headers, "llr", keys);
}

/* One "key: value" line of vm.show (objects: their non-zero members). */
static void vm_show_line(FILE *out, int width, const char *key,
                         const json_t *v)
{
    fprintf(out, "%s:%*s", key, width + 2 - (int)strlen(key), "");
    if (json_is_object(v))
        print_nonzero(out, v);
    else
        print_field_value(out, v, NULL);
    fputc('\n', out);
}

/* True if obj has a non-zero integer member. */
static bool any_nonzero(const json_t *obj)
{
    const char *k;
    json_t *n;

    json_object_foreach((json_t *)obj, k, n)
        if (json_is_integer(n) && json_integer_value(n) != 0)
            return true;
    return false;
}

/* "NIC LABEL: k=v ..." with obj's non-zero integer members, after a blank
 * line before the first such line; nothing when all are zero. */
static void nic_counters_line(FILE *out, bool *first, const json_t *nic,
                              const char *label, const json_t *obj)
{
    const char *name = json_string_value(json_object_get(nic, "nic"));

    if (!any_nonzero(obj))
        return;
    fprintf(out, "%s%s %s: ", *first ? "\n" : "", name ? name : "?", label);
    *first = false;
    print_nonzero(out, obj);
    fputc('\n', out);
}

/* vm.show's legacy NICs: one row per device (its index, state, the
 * device's receive/transmit process states and interrupt line from the
 * port side, trapped accesses), then the non-zero counters of the device
 * model and of the port. */
static int view_vm_devices(FILE *out, const json_t *devs)
{
    static const char *const headers[] = {"DEV", "NIC", "PORT", "MAC",
                                          "STATE", "CONNECTED", "RX", "TX",
                                          "IRQ", "TRAPS"};
    static const char *const keys[] = {"device", "nic", "port", "mac",
                                       "state", "connected"};
    char bufs[10][CELL_SIZE];
    const char *cells[10];
    struct ctl_table t;
    bool first = true;
    size_t i;
    json_t *e;
    int rc = 0;

    fputc('\n', out);
    ctl_table_init(&t, 10, headers, "rllllllllr");
    json_array_foreach(devs, i, e) {
        const json_t *dp = json_object_get(e, "datapath");

        for (size_t c = 0; c < 6; c++)
            cells[c] = scalar(json_object_get(e, keys[c]), bufs[c],
                              sizeof(bufs[c]));
        cells[6] = scalar(json_object_get(dp, "rx_state"), bufs[6],
                          sizeof(bufs[6]));
        cells[7] = scalar(json_object_get(dp, "tx_state"), bufs[7],
                          sizeof(bufs[7]));
        cells[8] = scalar(json_object_get(dp, "irq_asserted"), bufs[8],
                          sizeof(bufs[8]));
        cells[9] = scalar(json_object_get(e, "traps"), bufs[9],
                          sizeof(bufs[9]));
        rc = ctl_table_add_row(&t, cells);
        if (rc < 0)
            break;
    }
    if (rc == 0)
        ctl_table_print(&t, out);
    ctl_table_free(&t);
    json_array_foreach(devs, i, e) {
        const json_t *dp = json_object_get(e, "datapath");

        nic_counters_line(out, &first, e, "device",
                          json_object_get(dp, "device"));
        nic_counters_line(out, &first, e, "port", dp);
    }
    return rc;
}

/* vm.show: the partition as "key: value" lines in a fixed order (then any
 * other member the daemon adds), the counters as their non-zero members;
 * then one row per channel; then, per channel, the non-zero members of its
 * counters, of its synthetic NIC's port and of that port's VSP; then the
 * legacy NICs' devices (view_vm_devices). */
static int view_vm_show(FILE *out, const json_t *result)
{
    static const char *const order[] = {
        "name", "state", "socket", "guest_connected", "vmbus_state",
        "vmbus_version", "gpadls", "connects", "disconnects", "refused",
        "kicked", "violations", "io_absent", "counters", NULL,
    };
    static const char *const headers[] = {"NIC", "PORT", "MAC", "RELID",
                                          "STATE", "CONNECTED", "OFFERED",
                                          "OPENED", "UNHANDLED"};
    static const char *const keys[] = {"nic", "port", "mac", "relid",
                                       "state", "connected", "offered",
                                       "opened", "unhandled_packets"};
    const json_t *chans = json_object_get(result, "channels");
    const json_t *devs = json_object_get(result, "devices");
    struct ctl_table t;
    const char *key;
    bool first = true;
    json_t *v, *e;
    size_t i;
    int width = 0, rc = 0;

    if (!json_is_array(chans))
        return print_json(out, result);
    json_object_foreach((json_t *)result, key, v)
        if ((int)strlen(key) > width && !json_is_array(v))
            width = (int)strlen(key);
    for (const char *const *k = order; *k; k++)
        if ((v = json_object_get(result, *k)) != NULL)
            vm_show_line(out, width, *k, v);
    json_object_foreach((json_t *)result, key, v) {
        bool known = false;

        for (const char *const *k = order; *k && !known; k++)
            known = !strcmp(*k, key);
        if (!known && !json_is_array(v))
            vm_show_line(out, width, key, v);
    }
    if (json_array_size(chans) == 0)
        return json_array_size(devs) ? view_vm_devices(out, devs) : 0;
    fputc('\n', out);
    ctl_table_init(&t, 9, headers, "lllrllllr");
    json_array_foreach(chans, i, e) {
        rc = add_row_keys(&t, e, keys);
        if (rc < 0)
            break;
    }
    if (rc == 0)
        ctl_table_print(&t, out);
    ctl_table_free(&t);
    /* per channel: the channel's counters, then its synthetic NIC's port
     * (versions, receive slots, the glue's counters) and VSP counters */
    json_array_foreach(chans, i, e) {
        const json_t *dp = json_object_get(e, "datapath");

        nic_counters_line(out, &first, e, "counters",
                          json_object_get(e, "counters"));
        nic_counters_line(out, &first, e, "port", dp);
        nic_counters_line(out, &first, e, "vsp", json_object_get(dp, "vsp"));
    }
    if (rc == 0 && json_array_size(devs))
        rc = view_vm_devices(out, devs);
    return rc;
}

static int view_fdb(FILE *out, const json_t *result)
{
    static const char *const headers[] = {"VLAN", "MAC", "PORT", "TYPE",
                                          "AGE"};
    const json_t *list = json_object_get(result, "entries");
    struct ctl_table t;
    size_t i;
    json_t *e;
    int rc = 0;

    if (!json_is_array(list))
        return print_json(out, result);
    ctl_table_init(&t, 5, headers, "rlllr");
    json_array_foreach(list, i, e) {
        char vlan[CELL_SIZE], mac[CELL_SIZE], port[CELL_SIZE], age[CELL_SIZE];
        bool is_static = json_is_true(json_object_get(e, "static"));
        const char *cells[5] = {
            scalar(json_object_get(e, "vlan"), vlan, sizeof(vlan)),
            scalar(json_object_get(e, "mac"), mac, sizeof(mac)),
            scalar(json_object_get(e, "port"), port, sizeof(port)),
            is_static ? "static" : "learned",
            /* A static entry never ages. */
            is_static ? "-"
                      : scalar(json_object_get(e, "age_s"), age, sizeof(age)),
        };
        rc = ctl_table_add_row(&t, cells);
        if (rc < 0)
            break;
    }
    if (rc == 0)
        ctl_table_print(&t, out);
    ctl_table_free(&t);
    return rc;
}

bool ctl_out_drop_is_event(const char *reason)
{
    static const char *const events[] = {"learn_refused",
                                         "capture_full"};

    for (size_t i = 0; i < VSA_ARRAY_LEN(events); i++)
        if (!strcmp(reason, events[i]))
            return true;
    return false;
}

static uint64_t drops_total(const json_t *drops)
{
    const char *reason;
    json_t *v;
    uint64_t sum = 0;

    json_object_foreach((json_t *)drops, reason, v) {
        json_int_t n = json_integer_value(v);
        if (n <= 0 || ctl_out_drop_is_event(reason))
            continue;
        sum = sum + (uint64_t)n < sum ? UINT64_MAX : sum + (uint64_t)n;
    }
    return sum;
}

static int view_stats(FILE *out, const struct ctl_cli_req *req,
                      const json_t *result)
{
    static const char *const headers[] = {"PORT", "RX-PKTS", "RX-BYTES",
                                          "TX-PKTS", "TX-BYTES", "DROPS"};
    static const char *const keys[] = {"name", "rx_packets", "rx_bytes",
                                       "tx_packets", "tx_bytes"};
    static const char *const reason_headers[] = {"DROP-REASON", "COUNT"};
    const json_t *ports = json_object_get(result, "ports");
    struct ctl_table t;
    size_t i;
    json_t *e;
    int rc = 0;

    if (!json_is_array(ports))
        return print_json(out, result);
    ctl_table_init(&t, 6, headers, "lrrrrr");
    json_array_foreach(ports, i, e) {
        char bufs[6][CELL_SIZE];
        const char *cells[6];

        for (size_t c = 0; c < 5; c++)
            cells[c] = scalar(json_object_get(e, keys[c]), bufs[c],
                              CELL_SIZE);
        snprintf(bufs[5], CELL_SIZE, "%" PRIu64,
                 drops_total(json_object_get(e, "drops")));
        cells[5] = bufs[5];
        rc = ctl_table_add_row(&t, cells);
        if (rc < 0)
            break;
    }
    if (rc == 0)
        ctl_table_print(&t, out);
    ctl_table_free(&t);
    if (rc < 0 || !json_object_get(req->params, "port"))
        return rc;

    /* One port asked for: every non-zero reason, events included. */
    json_array_foreach(ports, i, e) {
        const json_t *drops = json_object_get(e, "drops");
        const char *reason;
        json_t *v;

        ctl_table_init(&t, 2, reason_headers, "lr");
        json_object_foreach((json_t *)drops, reason, v) {
            char buf[CELL_SIZE];
            const char *cells[2] = {reason, scalar(v, buf, sizeof(buf))};

            if (json_is_integer(v) && json_integer_value(v) == 0)
                continue;
            rc = ctl_table_add_row(&t, cells);
            if (rc < 0)
                break;
        }
        if (rc == 0 && t.n_rows > 0) {
            fputc('\n', out);
            ctl_table_print(&t, out);
        }
        ctl_table_free(&t);
        if (rc < 0)
            break;
    }
    return rc;
}

/* A capture's state: running; done (its count reached, or a vesperd that
 * does not say why it ended); stopped (capture.stop); port deleted; or
 * failed (a write error). */
static const char *capture_state(const json_t *c)
{
    const char *ended = json_string_value(json_object_get(c, "ended"));

    if (json_object_get(c, "error"))
        return "failed";
    if (!json_is_true(json_object_get(c, "done")))
        return "running";
    if (ended && !strcmp(ended, "stopped"))
        return "stopped";
    if (ended && !strcmp(ended, "port_closed"))
        return "port deleted";
    return "done";
}

/* capture.list: a table, then the reason of each failed capture. */
static int view_capture_list(FILE *out, const json_t *result)
{
    static const char *const headers[] = {"ID", "PORT", "DIRECTION",
                                          "FRAMES", "STATE", "FILE"};
    const json_t *list = json_object_get(result, "captures");
    struct ctl_table t;
    size_t i;
    json_t *c;
    int rc = 0;

    if (!json_is_array(list))
        return print_json(out, result);
    ctl_table_init(&t, 6, headers, "rllrll");
    json_array_foreach(list, i, c) {
        char id[CELL_SIZE], frames[CELL_SIZE];
        const char *cells[6] = {
            scalar(json_object_get(c, "id"), id, sizeof(id)),
            json_string_value(json_object_get(c, "port")),
            json_string_value(json_object_get(c, "direction")),
            scalar(json_object_get(c, "captured"), frames, sizeof(frames)),
            capture_state(c),
            json_string_value(json_object_get(c, "file")),
        };

        rc = ctl_table_add_row(&t, cells);
        if (rc < 0)
            break;
    }
    if (rc == 0)
        ctl_table_print(&t, out);
    ctl_table_free(&t);
    json_array_foreach(list, i, c) {
        const char *error = json_string_value(json_object_get(c, "error"));

        if (rc == 0 && error)
            fprintf(out, "capture %" JSON_INTEGER_FORMAT ": %s\n",
                    json_integer_value(json_object_get(c, "id")), error);
    }
    return rc;
}

/* capture.stop by port: what the stopped capture left. */
static int view_capture_stop(FILE *out, const json_t *result)
{
    const char *port = json_string_value(json_object_get(result, "port"));
    const char *file = json_string_value(json_object_get(result, "file"));
    const char *error = json_string_value(json_object_get(result, "error"));

    if (!port || !file ||
        !json_is_integer(json_object_get(result, "captured")))
        return print_json(out, result);
    json_int_t n = json_integer_value(json_object_get(result, "captured"));

    fprintf(out, "stopped capture %" JSON_INTEGER_FORMAT " of %s: %"
            JSON_INTEGER_FORMAT " frame%s in %s\n",
            json_integer_value(json_object_get(result, "id")), port, n,
            n == 1 ? "" : "s", file);
    if (error)
        fprintf(out, "error: %s\n", error);
    return 0;
}

int ctl_out_result(FILE *out, const struct ctl_cli_req *req, json_t *result)
{
    if (req->view == CTL_CLI_VIEW_CONFIG) {
        json_t *doc = json_object_get(result, "config");
        return print_json(out, doc ? doc : result);
    }
    if (req->json)
        return print_json(out, result);
    if (!json_is_object(result))
        return print_json(out, result);
    switch (req->view) {
    case CTL_CLI_VIEW_NONE:
        return 0;
    case CTL_CLI_VIEW_FIELDS:
        return view_fields(out, req->method, result);
    case CTL_CLI_VIEW_SWITCH_LIST:
        return view_switch_list(out, result);
    case CTL_CLI_VIEW_PORT_LIST:
        return view_port_list(out, result);
    case CTL_CLI_VIEW_FDB:
        return view_fdb(out, result);
    case CTL_CLI_VIEW_FLUSHED: {
        json_int_t n = json_integer_value(json_object_get(result, "flushed"));

        fprintf(out, "flushed %" JSON_INTEGER_FORMAT " entr%s\n", n,
                n == 1 ? "y" : "ies");
        return 0;
    }
    case CTL_CLI_VIEW_STATS:
        return view_stats(out, req, result);
    case CTL_CLI_VIEW_VM_LIST:
        return view_vm_list(out, result);
    case CTL_CLI_VIEW_VM_SHOW:
        return view_vm_show(out, result);
    case CTL_CLI_VIEW_CAPTURE_STOP:
        return view_capture_stop(out, result);
    case CTL_CLI_VIEW_CAPTURE_LIST:
        return view_capture_list(out, result);
    default:
        return print_json(out, result);
    }
}

int ctl_out_capture(FILE *out, bool json, json_int_t id, const char *port,
                    const char *file, json_int_t captured, const char *ended)
{
    json_t *o;
    int rc;

    if (!json) {
        fprintf(out, "captured %" JSON_INTEGER_FORMAT " frame%s to %s\n",
                captured, captured == 1 ? "" : "s", file);
        return 0;
    }
    o = json_pack("{s:I, s:s, s:s, s:I}", "id", id, "port", port, "file",
                  file, "captured", captured);
    if (o && ended && ended[0] &&
        json_object_set_new(o, "ended", json_string(ended)) < 0) {
        json_decref(o);
        o = NULL;
    }
    if (!o)
        return -ENOMEM;
    rc = print_json(out, o);
    json_decref(o);
    return rc;
}
