/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * rpc.c — JSON-RPC method dispatch for vesperd (docs/rpc.md).
 *
 * Mutating methods are computed on a copy of the document by ctl_mutate()
 * (tools/ctl, pure and unit-tested) and then made real by vd_apply(); the
 * others read the running state (vswitch counters, FDBs, link state, VM
 * partitions).
 *
 * VM NICs are ports of class synthetic or legacy like any other (VLAN,
 * counters, FDB, capture); vm.show adds each NIC's port-side state:
 * "datapath" of a channel (synthetic, synth.c) or of a device (legacy,
 * legacy.c).
 *
 * Captures belong to the control connection that started them
 * (d->capture_owners): when it closes, they end (vd_rpc_conn_closed).
 * vesperctl holds one connection for a capture's whole life (capture.start,
 * capture.status every 100 ms, capture.stop), so a vesperctl that is killed
 * (SIGKILL, or a crash: no capture.stop) no longer leaves a capture
 * writing forever with its port busy.  Tying the capture to the connection
 * rather than to a lease the client must renew needs nothing from the
 * client and cannot expire under a slow but live one.  `capture.stop` by
 * port (vesperctl capture stop PORT) ends any running capture for the
 * operator; it stays listed, ended, for the connection that owns it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/vsa_alloc.h"
#include "common/vsa_log.h"
#include "tools/ctl/ctl_mutate.h"
#include "tools/vesperd/vesperd.h"
#include "vswitch/fdb.h"

VSA_LOG_MODULE(vesperd_rpc);

typedef json_t *vd_method_fn(struct vd *d, json_t *params,
                             struct ctl_rpc_err *e);

static json_t *err_set(struct ctl_rpc_err *e, int code, const char *fmt, ...)
    VSA_PRINTF(3, 4);

static json_t *err_set(struct ctl_rpc_err *e, int code, const char *fmt, ...)
{
    va_list ap;
    int n;

    e->code = code;
    va_start(ap, fmt);
    n = vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    va_end(ap);
    /* Echoed values are cut by quoted() already; should a message still
     * not fit, say so rather than end it mid-word. */
    if (n >= (int)sizeof(e->msg))
        memcpy(e->msg + sizeof(e->msg) - 4, "...", 4);
    return NULL;
}

/* Room for a value echoed in a message: QUOTE_MAX bytes and "...". */
#define QUOTE_MAX 64
#define QUOTE_SIZE (QUOTE_MAX + 4)

/* A client's string as a message quotes it: cut after at most QUOTE_MAX
 * bytes (not inside a UTF-8 character), with "..." to show that it was: a
 * name or path can be as long as the request line, and the message has
 * 512 bytes for all of it. */
static const char *quoted(const char *s, char buf[QUOTE_SIZE])
{
    size_t n = strnlen(s, QUOTE_MAX + 1);

    if (n <= QUOTE_MAX)
        return s;
    for (n = QUOTE_MAX; n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80; n--)
        ;
    memcpy(buf, s, n);
    memcpy(buf + n, "...", 4);
    return buf;
}

static json_t *ok_result(void)
{
    return json_pack("{s:b}", "ok", 1);
}

/* ---- helpers ------------------------------------------------------------ */

static const struct ctl_port *find_port(struct vd *d, const char *name,
                                        struct vsw_port **vp)
{
    int i = vd_port_index(d, name);
    if (i < 0)
        return NULL;
    if (vp)
        *vp = d->ports[i];
    return &d->cfg->ports[i];
}

/*
 * The port's VLAN mode in words, as port.list and port.show give it:
 * "access 10", "trunk 1-10,20 native 5 tagged".  The allowed set is
 * written whole, in a string of its own length: the 2047 even VIDs take
 * 9,682 bytes, the longest set there is, and a fixed buffer cut it without
 * a sign ("...151,153,15" read as a set ending in VLAN 15).  vesperctl
 * shortens it for its table, saying so.  NULL if out of memory.
 */
static json_t *vlan_summary(const struct vlan_port_mode *m)
{
    size_t len;
    char *set;
    json_t *j;

    if (m->mode == VLAN_MODE_ACCESS)
        return json_sprintf("access %u", m->access_vid);
    len = vlan_set_format(m->allowed, NULL, 0);
    set = vsa_malloc(len + 1);
    if (!set)
        return NULL;
    vlan_set_format(m->allowed, set, len + 1);
    if (m->native_vid)
        j = json_sprintf("trunk %s native %u%s", set[0] ? set : "-",
                         m->native_vid, m->native_tagged ? " tagged" : "");
    else
        j = json_sprintf("trunk %s", set[0] ? set : "-");
    vsa_free(set);
    return j;
}

static uint32_t switch_port_count(struct vd *d, uint32_t sidx)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < d->cfg->n_ports; i++)
        n += d->cfg->ports[i].switch_idx == sidx;
    return n;
}

static const char *known_only(json_t *params, const char *const *keys,
                              struct ctl_rpc_err *e)
{
    if (ctl_params_check_known(params, keys, e) < 0)
        return "bad";
    return NULL;
}

/* ---- switch ------------------------------------------------------------- */

static json_t *m_switch_list(struct vd *d, json_t *params,
                             struct ctl_rpc_err *e)
{
    static const char *const keys[] = { NULL };
    json_t *arr;

    if (known_only(params, keys, e))
        return NULL;
    arr = json_array();
    for (uint32_t i = 0; i < d->cfg->n_switches; i++) {
        const struct ctl_switch *s = &d->cfg->switches[i];
        struct vsw_fdb *fdb = vsw_switch_fdb(d->vsw, s->name);
        json_array_append_new(arr, json_pack("{s:s,s:s,s:I,s:I}",
            "name", s->name, "type", ctl_switch_type_name(s->type),
            "ports", (json_int_t)switch_port_count(d, i),
            "fdb_entries", (json_int_t)(fdb ? vsw_fdb_count(fdb) : 0)));
    }
    return json_pack("{s:o}", "switches", arr);
}

static json_t *m_switch_show(struct vd *d, json_t *params,
                             struct ctl_rpc_err *e)
{
    static const char *const keys[] = { "name", NULL };
    const char *name;
    char qb[QUOTE_SIZE];
    int si;

    if (known_only(params, keys, e) ||
        ctl_param_string(params, "name", true, &name, e) < 0)
        return NULL;
    si = ctl_switch_find(d->cfg, name);
    if (si < 0)
        return err_set(e, CTL_RPC_NOT_FOUND, "switch \"%s\" does not exist",
                       quoted(name, qb));
    const struct ctl_switch *s = &d->cfg->switches[si];
    struct vsw_fdb *fdb = vsw_switch_fdb(d->vsw, s->name);
    json_t *ports = json_array();
    for (uint32_t i = 0; i < d->cfg->n_ports; i++)
        if (d->cfg->ports[i].switch_idx == (uint32_t)si)
            json_array_append_new(ports, json_string(d->cfg->ports[i].name));
    json_t *r = json_pack("{s:s,s:s,s:I,s:I,s:b,s:o,s:I}", "name", s->name,
        "type", ctl_switch_type_name(s->type),
        "fdb_max", (json_int_t)s->fdb_max, "aging_s", (json_int_t)s->aging_s,
        "management_os", s->management_os, "ports", ports,
        "fdb_entries", (json_int_t)(fdb ? vsw_fdb_count(fdb) : 0));
    if (fdb) {
        struct vsw_fdb_stats st;
        vsw_fdb_get_stats(fdb, &st);
        json_object_set_new(r, "fdb_stats", json_pack(
            "{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
            "learned", (json_int_t)st.learned, "moved", (json_int_t)st.moved,
            "refreshed", (json_int_t)st.refreshed,
            "aged", (json_int_t)st.aged,
            "learn_limit", (json_int_t)st.learn_limit,
            "table_full", (json_int_t)st.table_full,
            "bucket_full", (json_int_t)st.bucket_full,
            "displaced", (json_int_t)st.displaced,
            "learn_busy", (json_int_t)st.learn_busy,
            "static_conflict", (json_int_t)st.static_conflict,
            "static_evicted", (json_int_t)st.static_evicted));
    }
    return r;
}

/* ---- port --------------------------------------------------------------- */

static json_t *port_brief(struct vd *d, uint32_t i)
{
    const struct ctl_port *p = &d->cfg->ports[i];

    json_t *r = json_pack("{s:s,s:s,s:s,s:o,s:s}", "name", p->name,
                          "switch", d->cfg->switches[p->switch_idx].name,
                          "class", ctl_port_class_name(p->cls),
                          "vlan", vlan_summary(&p->vlan),
                          "link", d->ports[i] && vsw_port_link_up(d->ports[i])
                                      ? "up" : "down");

    if (r && d->ports[i])
        json_object_set_new(r, "link_mtu",
                            json_integer(vsw_port_mtu(d->ports[i])));
    return r;
}

static json_t *m_port_list(struct vd *d, json_t *params,
                           struct ctl_rpc_err *e)
{
    static const char *const keys[] = { "switch", NULL };
    const char *sw = NULL;
    char qb[QUOTE_SIZE];
    int si = -1;
    json_t *arr;

    if (known_only(params, keys, e) ||
        ctl_param_string(params, "switch", false, &sw, e) < 0)
        return NULL;
    if (sw) {
        si = ctl_switch_find(d->cfg, sw);
        if (si < 0)
            return err_set(e, CTL_RPC_NOT_FOUND,
                           "switch \"%s\" does not exist", quoted(sw, qb));
    }
    arr = json_array();
    for (uint32_t i = 0; i < d->cfg->n_ports; i++)
        if (si < 0 || d->cfg->ports[i].switch_idx == (uint32_t)si)
            json_array_append_new(arr, port_brief(d, i));
    return json_pack("{s:o}", "ports", arr);
}

/* The port's object as port.show starts it: a copy of its `ports` entry,
 * or for a VM NIC its `nics` entry renamed to the port, with "class",
 * "vm" and "nic" added. */
static json_t *doc_port(struct vd *d, const struct ctl_port *cp)
{
    json_t *ports = json_object_get(d->doc, "ports");
    json_t *vm, *r;
    size_t i;
    json_t *p;

    if (!ctl_port_is_vm_nic(cp)) {
        json_array_foreach(ports, i, p) {
            const char *n = json_string_value(json_object_get(p, "name"));
            if (n && strcmp(n, cp->name) == 0)
                return json_deep_copy(p);
        }
        return json_object();
    }
    vm = json_array_get(json_object_get(d->doc, "vms"), cp->vm_idx);
    r = json_deep_copy(json_array_get(json_object_get(vm, "nics"),
                                      cp->nic_idx));
    if (!r)
        return NULL;
    json_object_set_new(r, "name", json_string(cp->name));
    json_object_set_new(r, "class", json_string(ctl_port_class_name(cp->cls)));
    json_object_set_new(r, "vm", json_string(d->cfg->vms[cp->vm_idx].name));
    json_object_set_new(r, "nic", json_string(cp->nic));
    json_object_set_new(r, "connected", json_boolean(cp->connected));
    return r;
}

struct port_fdb_count {
    uint16_t port;
    json_int_t n;
};

static int port_fdb_count_cb(const struct vsw_fdb_entry *en, void *arg)
{
    struct port_fdb_count *c = arg;

    if (en->port == c->port)
        c->n++;
    return 0;
}

/* The port's entries in its switch's MAC table, learned and static, as
 * switch.show's fdb_entries counts the switch's (vsw_fdb_port_count counts
 * only the learned ones, which the learn limit bounds). */
static json_int_t port_fdb_entries(struct vsw_fdb *fdb, uint16_t port)
{
    struct port_fdb_count c = { port, 0 };

    vsw_fdb_walk(fdb, port_fdb_count_cb, &c);
    return c.n;
}

static json_t *m_port_show(struct vd *d, json_t *params,
                           struct ctl_rpc_err *e)
{
    static const char *const keys[] = { "name", NULL };
    const char *name;
    struct vsw_port *vp;
    const struct ctl_port *cp;
    char mac[VSA_MAC_STRLEN], qb[QUOTE_SIZE];

    if (known_only(params, keys, e) ||
        ctl_param_string(params, "name", true, &name, e) < 0)
        return NULL;
    cp = find_port(d, name, &vp);
    if (!cp)
        return err_set(e, CTL_RPC_NOT_FOUND, "port \"%s\" does not exist",
                       quoted(name, qb));
    json_t *r = doc_port(d, cp);
    if (!r)
        return NULL;
    struct vsa_mac m = vp ? vsw_port_mac(vp) : cp->mac;
    struct vsw_fdb *fdb = vsw_switch_fdb(d->vsw,
                                         d->cfg->switches[cp->switch_idx].name);
    /* A hand-written port may leave out vlan and learn_limit (they have
     * defaults, config.md): show the values in effect, so that port show
     * has every line its documentation lists. */
    if (!json_object_get(r, "vlan")) {
        json_t *v = ctl_vlan_to_json(&cp->vlan);

        if (!v || json_object_set_new(r, "vlan", v) < 0) {
            json_decref(r);
            return NULL;
        }
    }
    if (!json_object_get(r, "learn_limit"))
        json_object_set_new(r, "learn_limit",
                            json_integer((json_int_t)cp->learn_limit));
    json_object_set_new(r, "vlan_summary", vlan_summary(&cp->vlan));
    if (vp)
        json_object_set_new(r, "id", json_integer(vsw_port_id(vp)));
    json_object_set_new(r, "link", json_string(vp && vsw_port_link_up(vp)
                                                   ? "up" : "down"));
    /* the MTU the switch sends the port frames up to (vsw_port_mtu) */
    if (vp)
        json_object_set_new(r, "link_mtu", json_integer(vsw_port_mtu(vp)));
    {
        int i = vd_port_index(d, cp->name);
        if (!vp && i >= 0 && d->absent && d->absent[i][0])
            json_object_set_new(r, "device_absent",
                                json_string(d->absent[i]));
    }
    /* no device and no configured MAC (a dpdk port whose device is
     * absent): null ("-"), not 00:00:00:00:00:00 */
    json_object_set_new(r, "mac", vsa_mac_is_zero(&m) ? json_null()
                        : json_string(vsa_mac_format(&m, mac)));
    json_object_set_new(r, "fdb_entries",
        json_integer(fdb && vp ? port_fdb_entries(fdb, vsw_port_id(vp))
                               : 0));
    return r;
}

/* ---- fdb ---------------------------------------------------------------- */

/* fdb.show collects the entries it lists, then sorts them by VLAN and MAC
 * (the table's own order is its hash's: the same MAC would appear
 * anywhere from one call to the next). */
struct fdb_row {
    uint64_t key;                  /* VLAN << 48 | MAC: the sort order */
    uint32_t age_s;
    uint16_t port;
    bool is_static;
};

struct fdb_walk {
    struct fdb_row *rows;
    size_t n, cap;
    bool nomem;
    uint16_t vid;
    int port_id;
    uint32_t now;
};

static int fdb_walk_cb(const struct vsw_fdb_entry *en, void *arg)
{
    struct fdb_walk *w = arg;

    if (w->vid && en->vid != w->vid)
        return 0;
    if (w->port_id >= 0 && en->port != w->port_id)
        return 0;
    if (w->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 256;
        struct fdb_row *r = vsa_malloc(cap * sizeof(*r));

        if (!r) {
            w->nomem = true;
            return 1; /* stops the walk */
        }
        if (w->n)
            memcpy(r, w->rows, w->n * sizeof(*r));
        vsa_free(w->rows);
        w->rows = r;
        w->cap = cap;
    }
    w->rows[w->n++] = (struct fdb_row){
        .key = (uint64_t)en->vid << 48 | en->mac,
        .age_s = en->is_static || w->now < en->last_seen_s
                     ? 0 : w->now - en->last_seen_s,
        .port = en->port,
        .is_static = en->is_static,
    };
    return 0;
}

static int fdb_row_cmp(const void *a, const void *b)
{
    uint64_t x = ((const struct fdb_row *)a)->key;
    uint64_t y = ((const struct fdb_row *)b)->key;

    return x < y ? -1 : x > y;
}

/* The rows as fdb.show's "entries", each port by its name. */
static json_t *fdb_rows_json(struct vd *d, struct fdb_walk *w)
{
    const char *names[VSW_FDB_MAX_PORTS] = {0};
    json_t *arr = json_array();

    if (!arr)
        return NULL;
    for (uint32_t i = 0; i < d->cfg->n_ports; i++)
        if (d->ports[i] && vsw_port_id(d->ports[i]) < VSW_FDB_MAX_PORTS)
            names[vsw_port_id(d->ports[i])] = d->cfg->ports[i].name;
    if (w->n > 1) /* rows is NULL when there are none */
        qsort(w->rows, w->n, sizeof(*w->rows), fdb_row_cmp);
    for (size_t i = 0; i < w->n; i++) {
        const struct fdb_row *r = &w->rows[i];
        struct vsa_mac m = vsa_mac_from_u64(r->key & 0xffffffffffffULL);
        char mac[VSA_MAC_STRLEN];
        const char *pname = r->port < VSW_FDB_MAX_PORTS && names[r->port]
                                ? names[r->port] : "?";

        /* the lockless walk reports an entry that an lcore moves during
         * it twice (vsw_fdb_walk): one row per (VLAN, MAC) */
        if (i > 0 && r->key == w->rows[i - 1].key)
            continue;
        if (json_array_append_new(arr, json_pack("{s:i,s:s,s:s,s:b,s:I}",
                "vlan", (int)(r->key >> 48), "mac", vsa_mac_format(&m, mac),
                "port", pname, "static", r->is_static,
                "age_s", (json_int_t)r->age_s)) < 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

static int fdb_switch(struct vd *d, json_t *params, struct vsw_fdb **fdb,
                      int *si, struct ctl_rpc_err *e)
{
    const char *sw;
    char qb[QUOTE_SIZE];

    if (ctl_param_string(params, "switch", true, &sw, e) < 0)
        return -1;
    *si = ctl_switch_find(d->cfg, sw);
    if (*si < 0) {
        err_set(e, CTL_RPC_NOT_FOUND, "switch \"%s\" does not exist",
                quoted(sw, qb));
        return -1;
    }
    *fdb = vsw_switch_fdb(d->vsw, sw);
    return *fdb ? 0 : -1;
}

/* *port_id: -1 no filter, the vswitch port id, or FDB_NO_PORT for a port
 * without a datapath (nothing can match). */
#define FDB_NO_PORT (-2)

static int fdb_port_filter(struct vd *d, json_t *params, int si, int *port_id,
                           struct ctl_rpc_err *e)
{
    const char *pname = NULL;
    struct vsw_port *vp;
    const struct ctl_port *cp;
    char qb[QUOTE_SIZE];

    *port_id = -1;
    if (ctl_param_string(params, "port", false, &pname, e) < 0)
        return -1;
    if (!pname)
        return 0;
    /* A name that exists nowhere is a typo, not a port elsewhere: say
     * which, as port.show and fdb.add do. */
    cp = find_port(d, pname, &vp);
    if (!cp) {
        err_set(e, CTL_RPC_NOT_FOUND, "port \"%s\" does not exist",
                quoted(pname, qb));
        return -1;
    }
    if (cp->switch_idx != (uint32_t)si) {
        err_set(e, CTL_RPC_RULE, "port \"%s\" is on switch \"%s\", not "
                "\"%s\"", cp->name, d->cfg->switches[cp->switch_idx].name,
                d->cfg->switches[si].name);
        return -1;
    }
    *port_id = vp ? vsw_port_id(vp) : FDB_NO_PORT;
    return 0;
}

/* Rows one fdb.show answer carries, so that it stays under the output a
 * client may have unread.  A row is at most 84 bytes and the port's name
 * (a VM NIC's "VM.NIC": up to 63), with the largest VLAN and age:
 * {"age_s":4294967295,"mac":"02:00:00:00:00:01","port":"","static":false,
 * "vlan":4094}, plus its comma.  A larger table is shown a VLAN or a port
 * at a time. */
#define FDB_SHOW_ROW_MAX (84u + CTL_PORT_NAME_MAX - 1)
#define FDB_SHOW_MAX_ROWS 450000u
_Static_assert((uint64_t)FDB_SHOW_MAX_ROWS * FDB_SHOW_ROW_MAX + 4096 <=
                   VD_MAX_OUTPUT,
               "an fdb.show answer can pass VD_MAX_OUTPUT");

static json_t *m_fdb_show(struct vd *d, json_t *params, struct ctl_rpc_err *e)
{
    static const char *const keys[] = { "switch", "vlan", "port", NULL };
    struct fdb_walk w = { .port_id = -1 };
    struct vsw_fdb *fdb;
    json_t *arr;
    uint64_t vid = 0;
    int si;

    if (known_only(params, keys, e) || fdb_switch(d, params, &fdb, &si, e) ||
        ctl_param_uint(params, "vlan", false, 1, 4094, &vid, e) < 0 ||
        fdb_port_filter(d, params, si, &w.port_id, e) < 0)
        return NULL;
    w.vid = (uint16_t)vid;
    w.now = vsw_now_s(d->vsw);
    if (w.port_id != FDB_NO_PORT)
        vsw_fdb_walk(fdb, fdb_walk_cb, &w);
    if (!w.nomem && w.n > FDB_SHOW_MAX_ROWS) {
        /* counted before the duplicates of a move during the walk go:
         * close enough for a limit this far from a table's usual size */
        err_set(e, CTL_RPC_SYSTEM, "switch \"%s\": %zu entries match, more "
                "than the %u one answer carries; ask for one VLAN or one "
                "port at a time (vlan, port; vesperctl fdb show %s --vlan V "
                "or --port P)", d->cfg->switches[si].name, w.n,
                FDB_SHOW_MAX_ROWS, d->cfg->switches[si].name);
        vsa_free(w.rows);
        return NULL;
    }
    arr = w.nomem ? NULL : fdb_rows_json(d, &w);
    vsa_free(w.rows);
    return arr ? json_pack("{s:o}", "entries", arr) : NULL;
}

static json_t *m_fdb_flush(struct vd *d, json_t *params,
                           struct ctl_rpc_err *e)
{
    static const char *const keys[] = { "switch", "vlan", "port", NULL };
    struct vsw_fdb *fdb;
    uint64_t vid = 0;
    int si, port_id;
    uint32_t n;

    if (known_only(params, keys, e) || fdb_switch(d, params, &fdb, &si, e) ||
        ctl_param_uint(params, "vlan", false, 1, 4094, &vid, e) < 0 ||
        fdb_port_filter(d, params, si, &port_id, e) < 0)
        return NULL;
    if (port_id == FDB_NO_PORT)
        return json_pack("{s:b,s:I}", "ok", 1, "flushed", (json_int_t)0);
    n = vsw_fdb_flush_all(fdb, port_id < 0 ? VSW_FDB_PORT_NONE
                                           : (uint16_t)port_id,
                          (uint16_t)vid, false);
    return json_pack("{s:b,s:I}", "ok", 1, "flushed", (json_int_t)n);
}

/* fdb.del of a learned entry (static ones go through ctl_mutate). */
static json_t *fdb_del_learned(struct vd *d, json_t *params,
                               struct ctl_rpc_err *e)
{
    struct vsw_fdb *fdb;
    const char *macs;
    struct vsa_mac mac;
    char mbuf[VSA_MAC_STRLEN], qb[QUOTE_SIZE];
    uint64_t vid;
    int si;

    if (fdb_switch(d, params, &fdb, &si, e) ||
        ctl_param_uint(params, "vlan", true, 1, 4094, &vid, e) < 0 ||
        ctl_param_string(params, "mac", true, &macs, e) < 0)
        return NULL;
    if (vsa_mac_parse(macs, &mac) < 0)
        return err_set(e, CTL_RPC_INVALID_PARAMS, "mac: '%s' is not a MAC "
                       "address", quoted(macs, qb));
    if (vsw_fdb_del(fdb, (uint16_t)vid, vsa_mac_to_u64(&mac)) < 0)
        return err_set(e, CTL_RPC_NOT_FOUND, "no FDB entry for %s in VLAN %u "
                       "on switch '%s'", vsa_mac_format(&mac, mbuf),
                       (unsigned)vid,
                       d->cfg->switches[si].name);
    return ok_result();
}

/* ---- stats -------------------------------------------------------------- */

static json_t *port_stats(struct vd *d, uint32_t i)
{
    struct vsw_port_stats st;
    json_t *drops = json_object();

    memset(&st, 0, sizeof(st));
    if (d->ports[i])
        vsw_get_port_stats(d->vsw, d->ports[i], &st);
    for (int r = 0; r < VSW_DROP_MAX; r++)
        json_object_set_new(drops, vsw_drop_name((enum vsw_drop)r),
                            json_integer((json_int_t)st.drops[r]));
    return json_pack("{s:s,s:I,s:I,s:I,s:I,s:o}", "name", d->cfg->ports[i].name,
                     "rx_packets", (json_int_t)st.rx_packets,
                     "rx_bytes", (json_int_t)st.rx_bytes,
                     "tx_packets", (json_int_t)st.tx_packets,
                     "tx_bytes", (json_int_t)st.tx_bytes, "drops", drops);
}

static json_t *stats_common(struct vd *d, json_t *params, bool clear,
                            struct ctl_rpc_err *e)
{
    static const char *const keys[] = { "port", NULL };
    const char *pname = NULL;
    char qb[QUOTE_SIZE];
    json_t *arr;
    int only = -1;

    if (known_only(params, keys, e) ||
        ctl_param_string(params, "port", false, &pname, e) < 0)
        return NULL;
    if (pname) {
        only = vd_port_index(d, pname);
        if (only < 0)
            return err_set(e, CTL_RPC_NOT_FOUND, "port \"%s\" does not exist",
                           quoted(pname, qb));
    }
    arr = json_array();
    for (uint32_t i = 0; i < d->cfg->n_ports; i++) {
        if (only >= 0 && (uint32_t)only != i)
            continue;
        if (clear) {
            if (d->ports[i])
                vsw_clear_port_stats(d->vsw, d->ports[i]);
        }
        else
            json_array_append_new(arr, port_stats(d, i));
    }
    if (clear) {
        json_decref(arr);
        return ok_result();
    }
    return json_pack("{s:o}", "ports", arr);
}

static json_t *m_stats_get(struct vd *d, json_t *p, struct ctl_rpc_err *e)
{
    return stats_common(d, p, false, e);
}

static json_t *m_stats_clear(struct vd *d, json_t *p, struct ctl_rpc_err *e)
{
    return stats_common(d, p, true, e);
}

/* ---- config, daemon ----------------------------------------------------- */

static json_t *m_config_get(struct vd *d, json_t *params,
                            struct ctl_rpc_err *e)
{
    static const char *const keys[] = { NULL };
    if (known_only(params, keys, e))
        return NULL;
    return json_pack("{s:O}", "config", d->doc);
}

static json_t *m_daemon_info(struct vd *d, json_t *params,
                             struct ctl_rpc_err *e)
{
    static const char *const keys[] = { NULL };
    struct vsw_pool_usage pu;

    if (known_only(params, keys, e))
        return NULL;
    vsw_get_pool_usage(d->vsw, &pu);
    return json_pack("{s:s,s:i,s:s,s:s,s:s,s:s,s:b,s:I,"
                     "s:{s:I,s:I},s:{s:I,s:I}}", "version",
                     VD_VERSION, "pid", (int)getpid(), "config",
                     d->config_path, "socket", d->socket_path, "vm_dir",
                     d->vm_dir, "lcores", d->lcores, "hugepages",
                     d->hugepages, "netlink_overflows",
                     (json_int_t)vd_nlmon_overflows(),
                     "mbufs", "in_use", (json_int_t)pu.in_use,
                     "size", (json_int_t)pu.size,
                     "capture_mbufs", "in_use",
                     (json_int_t)pu.capture_in_use, "size",
                     (json_int_t)pu.capture_size);
}

/* ---- capture ------------------------------------------------------------ */

/* Frees the owner entry of capture `id`. */
static void owners_forget(struct vd *d, int id)
{
    for (int i = 0; i < VSW_MAX_CAPTURES; i++)
        if (d->capture_owners[i].id == id)
            d->capture_owners[i].id = 0;
}

/* The owner entry of capture `id`, or NULL. */
static const struct vd_capture_owner *owner_of(const struct vd *d, int id)
{
    for (int i = 0; i < VSW_MAX_CAPTURES; i++)
        if (d->capture_owners[i].id == id)
            return &d->capture_owners[i];
    return NULL;
}

/* Frees the owner entries of captures vswitch no longer holds. */
static void owners_prune(struct vd *d)
{
    int ids[VSW_MAX_CAPTURES];
    int n = vsw_capture_ids(d->vsw, ids, VSW_MAX_CAPTURES);

    for (int i = 0; i < VSW_MAX_CAPTURES; i++) {
        bool kept = false;

        for (int j = 0; j < n && j < VSW_MAX_CAPTURES; j++)
            kept |= ids[j] == d->capture_owners[i].id;
        if (!kept)
            d->capture_owners[i].id = 0;
    }
}

static const char *capture_dir_name(enum vsw_capture_dir dir)
{
    return dir == VSW_CAPTURE_RX ? "rx" : dir == VSW_CAPTURE_TX ? "tx"
                                                                : "both";
}

/* The "ended" word of a capture that has ended (docs/rpc.md), or NULL. */
static const char *capture_ended_name(enum vsw_capture_ended e)
{
    switch (e) {
    case VSW_CAPTURE_ENDED_COUNT:
        return "count";
    case VSW_CAPTURE_ENDED_STOPPED:
        return "stopped";
    case VSW_CAPTURE_ENDED_PORT_CLOSED:
        return "port_closed";
    case VSW_CAPTURE_ENDED_ERROR:
        return "error";
    case VSW_CAPTURE_RUNNING:
        break;
    }
    return NULL;
}

/* {"id","port","file","direction","captured","done"}, "ended" (why) once
 * it has ended, and "error" and "lost" for a capture a write error ended. */
static json_t *capture_info_json(int id, const struct vsw_capture_info *ci)
{
    const char *ended = capture_ended_name(ci->ended);
    json_t *r = json_pack("{s:i,s:s,s:s,s:s,s:I,s:b}", "id", id, "port",
                          ci->port, "file", ci->file, "direction",
                          capture_dir_name(ci->dir), "captured",
                          (json_int_t)ci->captured, "done", ci->done);

    if (r && ended &&
        json_object_set_new(r, "ended", json_string(ended)) < 0) {
        json_decref(r);
        return NULL;
    }
    if (r && ci->error[0] &&
        (json_object_set_new(r, "error", json_string(ci->error)) < 0 ||
         json_object_set_new(r, "lost", json_integer((json_int_t)ci->lost)) <
             0)) {
        json_decref(r);
        return NULL;
    }
    return r;
}

static json_t *m_capture_start(struct vd *d, json_t *params,
                               struct ctl_rpc_err *e)
{
    static const char *const keys[] = { "port", "file", "count", "direction",
                                        "snaplen", NULL };
    const char *pname, *file, *dir = "both";
    uint64_t count = 0, snaplen = 0;
    enum vsw_capture_dir cd;
    struct vsw_port *vp;
    struct vsa_errmsg em = { "" };
    char qb[QUOTE_SIZE];
    int id;

    if (known_only(params, keys, e) ||
        ctl_param_string(params, "port", true, &pname, e) < 0 ||
        ctl_param_string(params, "file", true, &file, e) < 0 ||
        ctl_param_uint(params, "count", false, 0, UINT32_MAX, &count, e) < 0 ||
        ctl_param_uint(params, "snaplen", false, 0, 262144, &snaplen, e) < 0 ||
        ctl_param_string(params, "direction", false, &dir, e) < 0)
        return NULL;
    if (!dir)
        dir = "both";
    if (strcmp(dir, "rx") == 0)
        cd = VSW_CAPTURE_RX;
    else if (strcmp(dir, "tx") == 0)
        cd = VSW_CAPTURE_TX;
    else if (strcmp(dir, "both") == 0)
        cd = VSW_CAPTURE_BOTH;
    else
        return err_set(e, CTL_RPC_INVALID_PARAMS,
                       "direction: '%s' is not rx, tx or both",
                       quoted(dir, qb));
    if (file[0] != '/')
        return err_set(e, CTL_RPC_INVALID_PARAMS,
                       "file: '%s' is not an absolute path",
                       quoted(file, qb));
    if (strlen(file) >= VSW_CAPTURE_FILE_MAX)
        return err_set(e, CTL_RPC_INVALID_PARAMS, "file: the path is longer "
                       "than %d bytes", VSW_CAPTURE_FILE_MAX - 1);
    if (!find_port(d, pname, &vp))
        return err_set(e, CTL_RPC_NOT_FOUND, "port \"%s\" does not exist",
                       quoted(pname, qb));
    if (!vp) {
        int i = vd_port_index(d, pname);

        /* a configured port whose device is not there (yet) */
        if (i >= 0 && d->absent && d->absent[i][0])
            return err_set(e, CTL_RPC_RULE, "%s; nothing to capture",
                           d->absent[i]);
        /* not reached: a VM NIC's port opens with its configuration,
         * guest or no guest */
        return err_set(e, CTL_RPC_RULE, "port '%s' has no device; nothing "
                       "to capture", quoted(pname, qb));
    }
    id = vsw_capture_start(d->vsw, vp, file, count, cd, (uint32_t)snaplen,
                           &em);
    if (id < 0)
        return err_set(e, id == -EBUSY ? CTL_RPC_RULE : CTL_RPC_SYSTEM, "%s",
                       em.msg);
    /* Free the owner entries of captures vswitch has forgotten (the start
     * may just have reused the slot of an ended one): vswitch holds at
     * most VSW_MAX_CAPTURES, this one among them, so it gets an entry. */
    owners_prune(d);
    for (int i = 0; i < VSW_MAX_CAPTURES; i++) {
        if (d->capture_owners[i].id == 0) {
            d->capture_owners[i].id = id;
            d->capture_owners[i].conn = d->rpc_conn;
            break;
        }
    }
    return json_pack("{s:i}", "id", id);
}

static json_t *m_capture_status(struct vd *d, json_t *params,
                                struct ctl_rpc_err *e)
{
    static const char *const keys[] = { "id", NULL };
    struct vsw_capture_info ci;
    uint64_t id;

    if (known_only(params, keys, e) ||
        ctl_param_uint(params, "id", true, 1, INT32_MAX, &id, e) < 0)
        return NULL;
    if (vsw_capture_status(d->vsw, (int)id, &ci) < 0)
        return err_set(e, CTL_RPC_NOT_FOUND, "capture %d does not exist",
                       (int)id);
    return capture_info_json((int)id, &ci);
}

/* By "id" (its owner only: the capture ends and is forgotten) or by
 * "port" (anyone, vesperctl capture stop: the port's running capture ends
 * and stays, ended, for its owner to see). */
static json_t *m_capture_stop(struct vd *d, json_t *params,
                              struct ctl_rpc_err *e)
{
    static const char *const keys[] = { "id", "port", NULL };
    struct vsw_capture_info ci;
    const char *pname = NULL;
    struct vsw_port *vp;
    uint64_t id = 0;
    char qb[QUOTE_SIZE];
    int rc;

    if (known_only(params, keys, e) ||
        ctl_param_uint(params, "id", false, 1, INT32_MAX, &id, e) < 0 ||
        ctl_param_string(params, "port", false, &pname, e) < 0)
        return NULL;
    if ((id != 0) == (pname != NULL))
        return err_set(e, CTL_RPC_INVALID_PARAMS,
                       "give exactly one of id and port");
    if (pname) {
        if (!find_port(d, pname, &vp))
            return err_set(e, CTL_RPC_NOT_FOUND, "port \"%s\" does not exist",
                           quoted(pname, qb));
        rc = vp ? vsw_capture_of_port(d->vsw, vp) : -ENOENT;
        if (rc < 0)
            return err_set(e, CTL_RPC_NOT_FOUND, "port \"%s\" is not being "
                           "captured", quoted(pname, qb));
        id = (uint64_t)rc;
        rc = vsw_capture_end(d->vsw, (int)id, &ci);
    } else {
        const struct vd_capture_owner *o = owner_of(d, (int)id);

        /* forgetting it would take it from under its owner, whose next
         * capture.status would then find no capture */
        if (o && o->conn != d->rpc_conn && vsw_capture_status(d->vsw,
                                                              (int)id, &ci) == 0)
            return err_set(e, CTL_RPC_RULE, "capture %d belongs to another "
                           "connection; stop it by its port: 'vesperctl "
                           "capture stop %s' (RPC capture.stop with port)",
                           (int)id, ci.port);
        rc = vsw_capture_stop(d->vsw, (int)id, &ci);
        owners_forget(d, (int)id);
    }
    if (rc < 0)
        return err_set(e, CTL_RPC_NOT_FOUND, "capture %d does not exist",
                       (int)id);
    if (pname)
        VSA_LOG(INFO, "capture %d of port %s stopped by capture.stop "
                "(%" PRIu64 " frames in %s)", (int)id, ci.port, ci.captured,
                ci.file);
    json_t *r = capture_info_json((int)id, &ci);
    if (r && json_object_set_new(r, "ok", json_true()) < 0) {
        json_decref(r);
        r = NULL;
    }
    return r;
}

static json_t *m_capture_list(struct vd *d, json_t *params,
                              struct ctl_rpc_err *e)
{
    static const char *const keys[] = { NULL };
    int ids[VSW_MAX_CAPTURES], n;
    json_t *list;

    if (known_only(params, keys, e))
        return NULL;
    n = vsw_capture_ids(d->vsw, ids, VSW_MAX_CAPTURES);
    list = json_array();
    for (int i = 0; list && i < n && i < VSW_MAX_CAPTURES; i++) {
        struct vsw_capture_info ci;

        if (vsw_capture_status(d->vsw, ids[i], &ci) < 0)
            continue;
        if (json_array_append_new(list, capture_info_json(ids[i], &ci)) <
            0) {
            json_decref(list);
            list = NULL;
        }
    }
    return list ? json_pack("{s:o}", "captures", list) : NULL;
}

void vd_rpc_conn_closed(struct vd *d, uint64_t conn)
{
    for (int i = 0; i < VSW_MAX_CAPTURES; i++) {
        struct vd_capture_owner *o = &d->capture_owners[i];
        struct vsw_capture_info ci;
        bool running;

        if (o->id == 0 || o->conn != conn)
            continue;
        if (vsw_capture_status(d->vsw, o->id, &ci) == 0) {
            running = !ci.done;
            vsw_capture_stop(d->vsw, o->id, &ci);
            if (running)
                VSA_LOG(INFO, "capture %d of port %s stopped: the client "
                        "that started it went away (%" PRIu64 " frames in "
                        "%s)", o->id, ci.port, ci.captured, ci.file);
        }
        o->id = 0;
    }
}

/* ---- vm ------------------------------------------------------------------ */

static json_t *m_vm_list(struct vd *d, json_t *params, struct ctl_rpc_err *e)
{
    static const char *const keys[] = { NULL };

    if (known_only(params, keys, e))
        return NULL;
    return vd_vm_list_json(d->vms);
}

/* A VM NIC's `connected` setting (the virtual cable), from the config. */
static void set_nic_connected(struct vd *d, json_t *nic, const char *port)
{
    const struct ctl_port *cp = port ? find_port(d, port, NULL) : NULL;

    if (cp)
        json_object_set_new(nic, "connected", json_boolean(cp->connected));
}

static json_t *m_vm_show(struct vd *d, json_t *params, struct ctl_rpc_err *e)
{
    static const char *const keys[] = { "name", NULL };
    const char *name;
    char qb[QUOTE_SIZE];
    json_t *r = NULL;
    int rc;

    if (known_only(params, keys, e) ||
        ctl_param_string(params, "name", true, &name, e) < 0)
        return NULL;
    rc = vd_vm_show_json(d->vms, name, &r);
    if (rc == -ENOENT)
        return err_set(e, CTL_RPC_NOT_FOUND, "VM \"%s\" does not exist",
                       quoted(name, qb));
    if (rc)
        return NULL;
    /* each NIC's switch-port side: VSP versions and the glue's counters */
    size_t i;
    json_t *nic;
    json_array_foreach(json_object_get(r, "channels"), i, nic) {
        const char *port = json_string_value(json_object_get(nic, "port"));
        json_t *st = port ? vd_synth_stats_json(port) : NULL;
        if (st)
            json_object_set_new(nic, "datapath", st);
        set_nic_connected(d, nic, port);
    }
    /* each legacy NIC's device: CSR5 process states, irq, counters */
    json_array_foreach(json_object_get(r, "devices"), i, nic) {
        const char *port = json_string_value(json_object_get(nic, "port"));
        json_t *st = port ? vd_legacy_stats_json(port) : NULL;
        if (st)
            json_object_set_new(nic, "datapath", st);
        set_nic_connected(d, nic, port);
    }
    return r;
}

/* ---- dispatch ----------------------------------------------------------- */

static const struct {
    const char *name;
    vd_method_fn *fn;
} methods[] = {
    { "switch.list", m_switch_list },
    { "switch.show", m_switch_show },
    { "port.list", m_port_list },
    { "port.show", m_port_show },
    { "fdb.show", m_fdb_show },
    { "fdb.flush", m_fdb_flush },
    { "stats.get", m_stats_get },
    { "stats.clear", m_stats_clear },
    { "config.get", m_config_get },
    { "capture.start", m_capture_start },
    { "capture.status", m_capture_status },
    { "capture.stop", m_capture_stop },
    { "capture.list", m_capture_list },
    { "daemon.info", m_daemon_info },
    { "vm.list", m_vm_list },
    { "vm.show", m_vm_show },
};

static json_t *mutate(struct vd *d, const char *method, json_t *params,
                      struct ctl_rpc_err *e)
{
    json_t *newdoc = NULL, *result = NULL;

    if (ctl_mutate(d->doc, method, params, &newdoc, &result, e) < 0) {
        if (strcmp(method, "fdb.del") == 0 && e->code == CTL_RPC_NOT_FOUND) {
            e->code = 0;
            return fdb_del_learned(d, params, e);
        }
        return NULL;
    }
    if (vd_apply(d, newdoc, true, e) < 0) {
        json_decref(newdoc);
        json_decref(result);
        return NULL;
    }
    json_decref(newdoc);
    if (!result)
        result = ok_result();
    if (strcmp(method, "vm.add") == 0) {
        char path[256];
        const char *name = json_string_value(json_object_get(params, "name"));

        if (name && vd_vm_socket_path(d->vms, name, path, sizeof(path)) == 0)
            json_object_set_new(result, "socket", json_string(path));
    }
    return result;
}

json_t *vd_rpc_handle(struct vd *d, const struct ctl_rpc_req *req,
                      uint64_t conn)
{
    struct ctl_rpc_err e = { 0, "" };
    json_t *params = req->params;
    json_t *result = NULL;
    bool found = false;
    json_t *empty = NULL;
    char qb[QUOTE_SIZE];

    if (!params)
        params = empty = json_object();
    d->rpc_conn = conn;
    if (json_is_array(params)) {
        /* by position: a valid request, parameters vesperd does not take */
        found = true;
        err_set(&e, CTL_RPC_INVALID_PARAMS, "invalid params: given by "
                "position (an array); vesperd takes them by name, in an "
                "object");
    } else if (ctl_method_is_mutating(req->method)) {
        found = true;
        result = mutate(d, req->method, params, &e);
    } else {
        for (size_t i = 0; i < VSA_ARRAY_LEN(methods); i++) {
            if (strcmp(methods[i].name, req->method) == 0) {
                found = true;
                result = methods[i].fn(d, params, &e);
                break;
            }
        }
    }
    json_decref(empty);
    if (!found) {
        err_set(&e, CTL_RPC_METHOD_NOT_FOUND, "unknown method '%s'",
                quoted(req->method, qb));
    }
    if (!result && e.code == 0) {
        e.code = CTL_RPC_SYSTEM;
        snprintf(e.msg, sizeof(e.msg), "out of memory");
    }
    if (ctl_rpc_is_notification(req)) {
        json_decref(result);
        return NULL;
    }
    if (!result)
        return ctl_rpc_error(req->id, e.code, "%s", e.msg);
    return ctl_rpc_result(req->id, result);
}
