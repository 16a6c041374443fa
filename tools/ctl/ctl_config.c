/* SPDX-License-Identifier: BSD-3-Clause */
#include "tools/ctl/ctl_config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/vsa_addr.h"
#include "common/vsa_vdev.h"
#include "tools/ctl/ctl_alloc.h"
#include "tools/ctl/ctl_private.h"

/* The embedded default, exactly the example of docs/config.md. */
static const char ctl_default_doc[] =
    "{"
    " \"version\": 1,"
    " \"switches\": ["
    "  { \"name\": \"default\", \"type\": \"internal\", \"fdb_max\": 8192,"
    "    \"aging_s\": 300 }"
    " ],"
    " \"ports\": ["
    "  { \"name\": \"vesper0\", \"switch\": \"default\","
    "    \"class\": \"internal\", \"ifname\": \"vesper0\","
    "    \"addresses\": [\"192.168.100.1/24\"], \"mtu\": 1500,"
    "    \"vlan\": { \"mode\": \"access\", \"vid\": 1 }, \"learn_limit\": 0 }"
    " ],"
    " \"fdb_static\": []"
    "}";

/* Parse context: where we are (for messages) and the class of the fault. */
struct pctx {
    struct vsa_errmsg *em;
    enum ctl__fault fault;
    char where[160];           /* e.g. `ports[2] ("p1")`, "" at top level */
    const char *field_prefix;  /* "" or "vlan." */
    /* Name objects as an operator knows them (`port "p1"`), not by their
     * place in the document (`ports[2] ("p1")`): for a document ctl_mutate
     * built, whose indexes the RPC client or vesperctl user never saw. */
    bool by_name;
};

static const char *const top_keys[] = {
    "version", "switches", "ports", "vms", "fdb_static", NULL
};
static const char *const vm_keys[] = { "name", "nics", NULL };
static const char *const nic_keys[] = {
    "name", "type", "switch", "mac", "vlan", "learn_limit", "connected",
    "mac_spoofing", NULL
};
static const char *const switch_keys[] = {
    "name", "type", "fdb_max", "aging_s", "management_os", NULL
};
static const char *const port_keys[] = {
    "name", "switch", "class", "devargs", "ifname", "addresses", "mtu",
    "vlan", "learn_limit", NULL
};
static const char *const fdb_keys[] = {
    "switch", "vlan", "mac", "port", NULL
};
static const char *const vlan_access_keys[] = { "mode", "vid", NULL };
static const char *const vlan_trunk_keys[] = {
    "mode", "allowed", "native", "native_tagged", NULL
};

static int perr(struct pctx *c, enum ctl__fault fault, const char *fmt, ...)
    VSA_PRINTF(3, 4);
static int pnomem(struct pctx *c);
static bool in_list(const char *const *list, const char *key);
static int parse_top(struct pctx *c, const json_t *doc,
                     struct ctl_config **out);
static int parse_vlan(struct pctx *c, const json_t *v,
                      struct vlan_port_mode *out);

/*
 * Parsing
 */

int ctl_config_parse(const json_t *doc, struct ctl_config **out,
                     struct vsa_errmsg *em)
{
    enum ctl__fault fault;

    return ctl__config_parse(doc, out, em, &fault, false);
}

int ctl__config_parse(const json_t *doc, struct ctl_config **out,
                      struct vsa_errmsg *em, enum ctl__fault *fault,
                      bool by_name)
{
    struct pctx c = { .em = em, .fault = CTL__FAULT_NONE, .field_prefix = "",
                      .by_name = by_name };
    int rc;

    vsa_errmsg_clear(em);
    rc = parse_top(&c, doc, out);
    *fault = rc ? c.fault : CTL__FAULT_NONE;
    return rc;
}

void ctl_config_free(struct ctl_config *cfg)
{
    if (!cfg)
        return;
    if (cfg->ports)
        for (uint32_t i = 0; i < cfg->n_ports; i++)
            ctl_free(cfg->ports[i].addresses);
    ctl_free(cfg->switches);
    ctl_free(cfg->ports);
    ctl_free(cfg->vms);
    ctl_free(cfg->fdb_static);
    ctl_free(cfg);
}

json_t *ctl_default_config(void)
{
    return json_loads(ctl_default_doc, JSON_REJECT_DUPLICATES, NULL);
}

/*
 * VLAN objects
 */

int ctl_vlan_from_json(const json_t *v, struct vlan_port_mode *out,
                       struct vsa_errmsg *em)
{
    struct pctx c = { .em = em, .fault = CTL__FAULT_NONE, .field_prefix = "" };

    return parse_vlan(&c, v, out);
}

json_t *ctl_vlan_to_json(const struct vlan_port_mode *m)
{
    json_t *j;
    char *allowed;
    size_t len;

    if (m->mode == VLAN_MODE_ACCESS)
        return json_pack("{s:s, s:i}", "mode", "access", "vid",
                         (int)m->access_vid);
    len = vlan_set_format(m->allowed, NULL, 0);
    allowed = ctl_malloc(len + 1);
    if (!allowed)
        return NULL;
    vlan_set_format(m->allowed, allowed, len + 1);
    j = json_pack("{s:s, s:s, s:i, s:b}", "mode", "trunk", "allowed", allowed,
                  "native", (int)m->native_vid, "native_tagged",
                  (int)m->native_tagged);
    ctl_free(allowed);
    return j;
}

/*
 * Names and lookups
 */

const char *ctl_switch_type_name(enum ctl_switch_type type)
{
    switch (type) {
    case CTL_SWITCH_EXTERNAL: return "external";
    case CTL_SWITCH_INTERNAL: return "internal";
    case CTL_SWITCH_PRIVATE: return "private";
    }
    return "?";
}

const char *ctl_port_class_name(enum ctl_port_class cls)
{
    switch (cls) {
    case CTL_PORT_DPDK: return "dpdk";
    case CTL_PORT_INTERNAL: return "internal";
    case CTL_PORT_UPLINK: return "uplink";
    case CTL_PORT_SYNTHETIC: return "synthetic";
    case CTL_PORT_LEGACY: return "legacy";
    }
    return "?";
}

const char *ctl_nic_type_name(enum ctl_nic_type type)
{
    switch (type) {
    case CTL_NIC_SYNTHETIC: return "synthetic";
    case CTL_NIC_LEGACY: return "legacy";
    }
    return "?";
}

int ctl_switch_find(const struct ctl_config *cfg, const char *name)
{
    for (uint32_t i = 0; i < cfg->n_switches; i++)
        if (strcmp(cfg->switches[i].name, name) == 0)
            return (int)i;
    return -1;
}

int ctl_port_find(const struct ctl_config *cfg, const char *name)
{
    for (uint32_t i = 0; i < cfg->n_ports; i++)
        if (strcmp(cfg->ports[i].name, name) == 0)
            return (int)i;
    return -1;
}

int ctl_vm_find(const struct ctl_config *cfg, const char *name)
{
    for (uint32_t i = 0; i < cfg->n_vms; i++)
        if (strcmp(cfg->vms[i].name, name) == 0)
            return (int)i;
    return -1;
}

int ctl_vm_nic_find(const struct ctl_config *cfg, uint32_t vm_idx,
                    const char *nic)
{
    const struct ctl_vm *vm;

    if (vm_idx >= cfg->n_vms)
        return -1;
    vm = &cfg->vms[vm_idx];
    for (uint32_t i = vm->first_port; i < vm->first_port + vm->n_nics; i++)
        if (strcmp(cfg->ports[i].nic, nic) == 0)
            return (int)i;
    return -1;
}

/*
 * VM NIC identities
 */

static uint64_t fnv1a(uint64_t h, const void *data, size_t size)
{
    const uint8_t *p = data;

    for (size_t i = 0; i < size; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

uint64_t ctl_vm_nic_hash(const char *vm, const char *nic, uint32_t salt)
{
    uint8_t sb[4] = { (uint8_t)salt, (uint8_t)(salt >> 8),
                      (uint8_t)(salt >> 16), (uint8_t)(salt >> 24) };
    uint64_t h = 0xcbf29ce484222325ull;

    /* The NUL separators keep ("ab","c") and ("a","bc") apart. */
    h = fnv1a(h, vm, strlen(vm) + 1);
    h = fnv1a(h, nic, strlen(nic) + 1);
    h = fnv1a(h, sb, sizeof(sb));
    /* FNV's low bits mix poorly; a 64-bit finalizer spreads them. */
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

void ctl_vm_nic_mac(const char *vm, const char *nic, uint32_t salt,
                    struct vsa_mac *out)
{
    uint64_t h = ctl_vm_nic_hash(vm, nic, salt);

    /* bit 0 of the first byte clear (unicast), bit 1 set (local). */
    out->b[0] = (uint8_t)(((h >> 40) & 0xfc) | 0x02);
    for (int i = 1; i < 6; i++)
        out->b[i] = (uint8_t)(h >> (8 * (5 - i)));
}

static bool name_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == '-';
}

bool ctl_name_is_valid(const char *s)
{
    size_t len = 0;

    for (; s[len]; len++)
        if (len >= CTL_NAME_MAX - 1 || !name_char(s[len]))
            return false;
    return len > 0;
}

bool ctl_ifname_is_valid(const char *s)
{
    size_t len = 0;

    for (; s[len]; len++)
        if (len >= CTL_IFNAME_MAX - 1 || !name_char(s[len]))
            return false;
    return len > 0 && strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

const char *ctl__json_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "object";
    case JSON_ARRAY: return "array";
    case JSON_STRING: return "string";
    case JSON_INTEGER: return "integer";
    case JSON_REAL: return "real";
    case JSON_TRUE:
    case JSON_FALSE: return "boolean";
    case JSON_NULL: return "null";
    }
    return "?";
}

/*
 * Static helpers: messages
 */

static int perr(struct pctx *c, enum ctl__fault fault, const char *fmt, ...)
{
    char msg[VSA_ERRMSG_SIZE];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    c->fault = fault;
    if (c->where[0])
        vsa_errmsg_set(c->em, -EINVAL, "%s: %s", c->where, msg);
    else
        vsa_errmsg_set(c->em, -EINVAL, "%s", msg);
    return -EINVAL;
}

static int pnomem(struct pctx *c)
{
    c->fault = CTL__FAULT_NOMEM;
    vsa_errmsg_set(c->em, -ENOMEM, "out of memory");
    return -ENOMEM;
}

const char *ctl__safe_str(const char *s, char *buf, size_t size)
{
    size_t i = 0;

    for (; s[i] && i + 4 < size && i < 40; i++)
        buf[i] = (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"') ? s[i] : '?';
    if (s[i]) {
        memcpy(buf + i, "...", 3);
        i += 3;
    }
    buf[i] = '\0';
    return buf;
}

/* Object i of document array `array` ("switches", "ports", "vms") named
 * `name` in a message: `ports[2] ("p1")`, or `port "p1"` by_name.  A name
 * not (yet) known valid is left out. */
static const char *obj_ref(const struct pctx *c, const char *array,
                           uint32_t i, const char *name, char *buf,
                           size_t size)
{
    static const char *const words[][2] = {
        { "switches", "switch" }, { "ports", "port" }, { "vms", "VM" },
    };
    bool named = name && ctl_name_is_valid(name);

    for (size_t k = 0; c->by_name && named && k < VSA_ARRAY_LEN(words); k++)
        if (strcmp(array, words[k][0]) == 0) {
            snprintf(buf, size, "%s \"%s\"", words[k][1], name);
            return buf;
        }
    if (named)
        snprintf(buf, size, "%s[%u] (\"%s\")", array, i, name);
    else
        snprintf(buf, size, "%s[%u]", array, i);
    return buf;
}

static void set_where(struct pctx *c, const char *array, uint32_t i,
                      const char *name)
{
    obj_ref(c, array, i, name, c->where, sizeof(c->where));
}

/* What a second object of the same name is told: which one it repeats
 * (`duplicate of ports[1]`), or by_name, where c->where names it already,
 * that it exists. */
static int perr_dup_name(struct pctx *c, const char *array, uint32_t j)
{
    if (c->by_name)
        return perr(c, CTL__FAULT_DUPLICATE, "exists already");
    return perr(c, CTL__FAULT_DUPLICATE, "name: duplicate of %s[%u]", array,
                j);
}

static bool in_list(const char *const *list, const char *key)
{
    for (; *list; list++)
        if (strcmp(*list, key) == 0)
            return true;
    return false;
}

/*
 * Static helpers: typed fields.  Each returns 1 (present, *out set),
 * 0 (absent and optional) or -EINVAL.
 */

static int check_keys(struct pctx *c, const json_t *obj,
                      const char *const *known)
{
    const char *key;
    json_t *v;
    char sbuf[64];

    json_object_foreach((json_t *)obj, key, v) {
        if (!in_list(known, key))
            return perr(c, CTL__FAULT_VALUE, "unknown key \"%s%s\"",
                        c->field_prefix,
                        ctl__safe_str(key, sbuf, sizeof(sbuf)));
    }
    return 0;
}

static int get_field(struct pctx *c, const json_t *obj, const char *key,
                     bool required, const json_t **out)
{
    const json_t *v = json_object_get(obj, key);

    if (!v) {
        if (required)
            return perr(c, CTL__FAULT_VALUE, "%s%s: missing",
                        c->field_prefix, key);
        return 0;
    }
    *out = v;
    return 1;
}

static int wrong_type(struct pctx *c, const char *key, const char *want,
                      const json_t *v)
{
    return perr(c, CTL__FAULT_VALUE, "%s%s: expected %s, got %s",
                c->field_prefix, key, want, ctl__json_type_name(v));
}

static int get_string(struct pctx *c, const json_t *obj, const char *key,
                      bool required, const char **out)
{
    const json_t *v = NULL;
    int rc = get_field(c, obj, key, required, &v);

    if (rc <= 0)
        return rc;
    if (!json_is_string(v))
        return wrong_type(c, key, "a string", v);
    if (strlen(json_string_value(v)) != json_string_length(v))
        return perr(c, CTL__FAULT_VALUE, "%s%s: contains a NUL byte",
                    c->field_prefix, key);
    *out = json_string_value(v);
    return 1;
}

static int get_uint(struct pctx *c, const json_t *obj, const char *key,
                    bool required, uint64_t min, uint64_t max, uint64_t *out)
{
    const json_t *v = NULL;
    int rc = get_field(c, obj, key, required, &v);
    json_int_t n;

    if (rc <= 0)
        return rc;
    if (!json_is_integer(v))
        return wrong_type(c, key, "an integer", v);
    n = json_integer_value(v);
    if (n < 0 || (uint64_t)n < min || (uint64_t)n > max)
        return perr(c, CTL__FAULT_VALUE, "%s%s: %lld is outside %llu..%llu",
                    c->field_prefix, key, (long long)n,
                    (unsigned long long)min, (unsigned long long)max);
    *out = (uint64_t)n;
    return 1;
}

static int get_bool(struct pctx *c, const json_t *obj, const char *key,
                    bool required, bool *out)
{
    const json_t *v = NULL;
    int rc = get_field(c, obj, key, required, &v);

    if (rc <= 0)
        return rc;
    if (!json_is_boolean(v))
        return wrong_type(c, key, "a boolean", v);
    *out = json_is_true(v);
    return 1;
}

static int get_array(struct pctx *c, const json_t *obj, const char *key,
                     bool required, const json_t **out)
{
    const json_t *v = NULL;
    int rc = get_field(c, obj, key, required, &v);

    if (rc <= 0)
        return rc;
    if (!json_is_array(v))
        return wrong_type(c, key, "an array", v);
    *out = v;
    return 1;
}

static int get_name(struct pctx *c, const json_t *obj, const char **out)
{
    char sbuf[64];
    int rc = get_string(c, obj, "name", true, out);

    if (rc < 0)
        return rc;
    if (!ctl_name_is_valid(*out))
        return perr(c, CTL__FAULT_VALUE,
                    "name: \"%s\" is not a valid name (1..31 characters of "
                    "A-Z a-z 0-9 _ . -)",
                    ctl__safe_str(*out, sbuf, sizeof(sbuf)));
    return 0;
}

/*
 * Static helpers: VLAN objects
 */

static int parse_vlan(struct pctx *c, const json_t *v,
                      struct vlan_port_mode *out)
{
    const char *saved_prefix = c->field_prefix;
    const char *const *other_keys;
    struct vlan_port_mode m;
    struct vsa_errmsg vem;
    const char *mode, *key, *allowed = "1-4094";
    char sbuf[64];
    uint64_t n;
    json_t *item;
    bool b;
    int rc;

    if (!json_is_object(v))
        return perr(c, CTL__FAULT_VALUE, "vlan: expected an object, got %s",
                    ctl__json_type_name(v));
    c->field_prefix = "vlan.";
    vlan_port_mode_default(&m);
    rc = get_string(c, v, "mode", true, &mode);
    if (rc < 0)
        goto out;
    if (strcmp(mode, "access") == 0) {
        m.mode = VLAN_MODE_ACCESS;
        other_keys = vlan_trunk_keys;
    } else if (strcmp(mode, "trunk") == 0) {
        m.mode = VLAN_MODE_TRUNK;
        other_keys = vlan_access_keys;
    } else {
        rc = perr(c, CTL__FAULT_VALUE,
                  "vlan.mode: \"%s\" is not \"access\" or \"trunk\"",
                  ctl__safe_str(mode, sbuf, sizeof(sbuf)));
        goto out;
    }
    json_object_foreach((json_t *)v, key, item) {
        if (in_list(m.mode == VLAN_MODE_ACCESS ? vlan_access_keys
                                               : vlan_trunk_keys, key))
            continue;
        if (in_list(other_keys, key))
            rc = perr(c, CTL__FAULT_VALUE, "vlan.%s: not valid in %s mode",
                      key, mode);
        else
            rc = perr(c, CTL__FAULT_VALUE, "unknown key \"vlan.%s\"",
                      ctl__safe_str(key, sbuf, sizeof(sbuf)));
        goto out;
    }
    if (m.mode == VLAN_MODE_ACCESS) {
        rc = get_uint(c, v, "vid", true, VLAN_VID_MIN, VLAN_VID_MAX, &n);
        if (rc < 0)
            goto out;
        m.access_vid = (uint16_t)n;
    } else {
        rc = get_string(c, v, "allowed", false, &allowed);
        if (rc < 0)
            goto out;
        if (vlan_set_parse(allowed, m.allowed, &vem) < 0) {
            rc = perr(c, CTL__FAULT_VALUE, "vlan.allowed: %s", vem.msg);
            goto out;
        }
        rc = get_uint(c, v, "native", false, 0, VLAN_VID_MAX, &n);
        if (rc < 0)
            goto out;
        if (rc > 0)
            m.native_vid = (uint16_t)n;
        rc = get_bool(c, v, "native_tagged", false, &b);
        if (rc < 0)
            goto out;
        if (rc > 0)
            m.native_tagged = b;
        if (m.native_tagged && m.native_vid == 0) {
            rc = perr(c, CTL__FAULT_VALUE,
                      "vlan.native_tagged: needs a native VLAN");
            goto out;
        }
    }
    if (vlan_port_mode_validate(&m, &vem) < 0) {
        rc = perr(c, CTL__FAULT_VALUE, "vlan: %s", vem.msg);
        goto out;
    }
    *out = m;
    rc = 0;
out:
    c->field_prefix = saved_prefix;
    return rc;
}

/*
 * Static helpers: switches
 */

static int parse_switch(struct pctx *c, struct ctl_config *cfg,
                        const json_t *v, uint32_t i)
{
    struct ctl_switch *sw = &cfg->switches[i];
    const char *name, *type;
    char sbuf[64];
    uint64_t n;
    int rc;

    set_where(c, "switches", i, NULL);
    if (!json_is_object(v))
        return perr(c, CTL__FAULT_VALUE, "expected an object, got %s",
                    ctl__json_type_name(v));
    if ((rc = get_name(c, v, &name)) < 0)
        return rc;
    set_where(c, "switches", i, name);
    if ((rc = check_keys(c, v, switch_keys)) < 0)
        return rc;
    snprintf(sw->name, sizeof(sw->name), "%s", name);
    for (uint32_t j = 0; j < i; j++)
        if (strcmp(cfg->switches[j].name, name) == 0)
            return perr_dup_name(c, "switches", j);

    if ((rc = get_string(c, v, "type", true, &type)) < 0)
        return rc;
    if (strcmp(type, "external") == 0)
        sw->type = CTL_SWITCH_EXTERNAL;
    else if (strcmp(type, "internal") == 0)
        sw->type = CTL_SWITCH_INTERNAL;
    else if (strcmp(type, "private") == 0)
        sw->type = CTL_SWITCH_PRIVATE;
    else
        return perr(c, CTL__FAULT_VALUE,
                    "type: \"%s\" is not \"external\", \"internal\" or "
                    "\"private\"", ctl__safe_str(type, sbuf, sizeof(sbuf)));

    n = CTL_FDB_MAX_DEFAULT;
    if ((rc = get_uint(c, v, "fdb_max", false, CTL_FDB_MAX_MIN,
                       CTL_FDB_MAX_MAX, &n)) < 0)
        return rc;
    sw->fdb_max = (uint32_t)n;
    n = CTL_AGING_DEFAULT;
    if ((rc = get_uint(c, v, "aging_s", false, CTL_AGING_MIN, CTL_AGING_MAX,
                       &n)) < 0)
        return rc;
    sw->aging_s = (uint32_t)n;
    sw->management_os = false;
    if ((rc = get_bool(c, v, "management_os", false, &sw->management_os)) < 0)
        return rc;
    if (sw->management_os && sw->type != CTL_SWITCH_EXTERNAL)
        return perr(c, CTL__FAULT_VALUE,
                    "management_os: only an external switch has a "
                    "management OS vNIC (this one is %s)",
                    ctl_switch_type_name(sw->type));
    return 0;
}

/*
 * Static helpers: ports
 */

struct cidr {
    int family;
    uint8_t addr[16];
    unsigned prefix;
};

/* Returns 0, -1 (not address/prefix) or -2 (prefix out of range). */
static int cidr_parse(const char *s, struct cidr *out)
{
    char buf[INET6_ADDRSTRLEN + 1];
    const char *slash = strchr(s, '/');
    const char *p;
    size_t alen;

    memset(out, 0, sizeof(*out));
    if (!slash)
        return -1;
    alen = (size_t)(slash - s);
    if (alen == 0 || alen >= sizeof(buf))
        return -1;
    memcpy(buf, s, alen);
    buf[alen] = '\0';
    p = slash + 1;
    if (!*p || strlen(p) > 3)
        return -1;
    for (const char *q = p; *q; q++)
        if (*q < '0' || *q > '9')
            return -1;
    out->prefix = (unsigned)atoi(p);
    if (inet_pton(AF_INET, buf, out->addr) == 1) {
        out->family = AF_INET;
        return out->prefix <= 32 ? 0 : -2;
    }
    if (inet_pton(AF_INET6, buf, out->addr) == 1) {
        out->family = AF_INET6;
        return out->prefix <= 128 ? 0 : -2;
    }
    return -1;
}

static int parse_addresses(struct pctx *c, struct ctl_port *port,
                           const json_t *arr)
{
    struct cidr cidrs[CTL_MAX_ADDRESSES];
    size_t n = json_array_size(arr), size;
    const char *why;
    char sbuf[64];
    char *strs;

    if (n > CTL_MAX_ADDRESSES)
        return perr(c, CTL__FAULT_RULE, "addresses: %zu entries, at most %d",
                    n, CTL_MAX_ADDRESSES);
    size = n * sizeof(char *);
    for (size_t i = 0; i < n; i++) {
        const json_t *a = json_array_get(arr, i);
        const char *s;
        int rc;

        if (!json_is_string(a))
            return perr(c, CTL__FAULT_VALUE,
                        "addresses[%zu]: expected a string, got %s", i,
                        ctl__json_type_name(a));
        s = json_string_value(a);
        if (strlen(s) != json_string_length(a))
            return perr(c, CTL__FAULT_VALUE,
                        "addresses[%zu]: contains a NUL byte", i);
        rc = cidr_parse(s, &cidrs[i]);
        if (rc == -1)
            return perr(c, CTL__FAULT_VALUE,
                        "addresses[%zu]: \"%s\" is not an IPv4 or IPv6 CIDR "
                        "(address/prefix)", i,
                        ctl__safe_str(s, sbuf, sizeof(sbuf)));
        if (rc == -2)
            return perr(c, CTL__FAULT_VALUE,
                        "addresses[%zu]: prefix /%u is outside 0..%d for %s",
                        i, cidrs[i].prefix,
                        cidrs[i].family == AF_INET ? 32 : 128,
                        cidrs[i].family == AF_INET ? "IPv4" : "IPv6");
        why = vsa_addr_unusable(cidrs[i].family, cidrs[i].addr,
                                cidrs[i].prefix);
        if (why)
            return perr(c, CTL__FAULT_VALUE,
                        "addresses[%zu]: \"%s\" is %s; a host vNIC takes "
                        "unicast IPv4 and global IPv6 addresses", i,
                        ctl__safe_str(s, sbuf, sizeof(sbuf)), why);
        if (cidrs[i].family == AF_INET6 && port->mtu < VSA_IPV6_MIN_MTU)
            return perr(c, CTL__FAULT_RULE,
                        "addresses[%zu]: \"%s\" is IPv6, which needs mtu "
                        "%d or more (mtu is %u)", i,
                        ctl__safe_str(s, sbuf, sizeof(sbuf)),
                        VSA_IPV6_MIN_MTU, port->mtu);
        for (size_t j = 0; j < i; j++)
            if (cidrs[j].family == cidrs[i].family &&
                memcmp(cidrs[j].addr, cidrs[i].addr, 16) == 0)
                return perr(c, CTL__FAULT_DUPLICATE,
                            "addresses[%zu]: \"%s\" repeats the address of "
                            "addresses[%zu]", i,
                            ctl__safe_str(s, sbuf, sizeof(sbuf)), j);
        size += strlen(s) + 1;
    }
    if (n == 0)
        return 0;
    /* One block: the pointer array, then the strings. */
    port->addresses = ctl_malloc(size);
    if (!port->addresses)
        return pnomem(c);
    strs = (char *)(port->addresses + n);
    for (size_t i = 0; i < n; i++) {
        const char *s = json_string_value(json_array_get(arr, i));
        size_t len = strlen(s) + 1;

        memcpy(strs, s, len);
        port->addresses[i] = strs;
        strs += len;
    }
    port->n_addresses = (uint32_t)n;
    return 0;
}

static bool devname_char(char ch)
{
    return name_char(ch) || ch == ':';
}

static size_t devname_len(const char *devargs)
{
    const char *comma = strchr(devargs, ',');

    return comma ? (size_t)(comma - devargs) : strlen(devargs);
}

/* DPDK gives a virtual device to the driver whose name begins it. */
static bool devname_is(const char *devargs, const char *driver)
{
    return strncmp(devargs, driver, strlen(driver)) == 0;
}

/* Whether devargs s has the argument key=1 (after the device name, as
 * DPDK's kvargs split them). */
static bool devargs_has_one(const char *s, const char *key)
{
    size_t kl = strlen(key);

    for (const char *a = strchr(s, ','); a; a = strchr(a, ',')) {
        a++;
        if (strncmp(a, key, kl) == 0 && a[kl] == '=' && a[kl + 1] == '1' &&
            (a[kl + 2] == ',' || a[kl + 2] == '\0'))
            return true;
    }
    return false;
}

/* The value of devargs argument `key` (after the device name), its length
 * in *vlen; the n-th such argument (from 0), NULL if there are fewer. */
static const char *devargs_value(const char *s, const char *key, int n,
                                 size_t *vlen)
{
    size_t kl = strlen(key);

    for (const char *a = strchr(s, ','); a; a = strchr(a, ',')) {
        a++;
        if (strncmp(a, key, kl) == 0 && a[kl] == '=' && n-- == 0) {
            *vlen = strcspn(a + kl + 1, ",");
            return a + kl + 1;
        }
    }
    return NULL;
}

/* Whether devargs value v (vlen bytes) is a plain decimal 0 or 1 ("0",
 * "1", "001").  The PMDs read these numbers each their own way (atoi,
 * strtol base 10, strtoul base 0 with a 16-bit cast: net_vhost takes
 * queues=0x2 and queues=-65534 as 2), so anything else is refused rather
 * than guessed: one reading of it could be more than one queue. */
static bool devargs_at_most_one(const char *v, size_t vlen)
{
    if (vlen == 0)
        return false;
    for (size_t i = 0; i < vlen; i++)
        if (v[i] != '0' && !(v[i] == '1' && i + 1 == vlen))
            return false;
    return true;
}

/* Drivers that make a device's receive queues from an argument of its
 * devargs.  vesperd configures and polls one receive queue per port
 * (vsw__ethdev_open), so whatever the kernel or the guest handed to the
 * other queues would never be read: af_xdp's kernel sockets spread the
 * NIC's flows over theirs, af_packet's did too in the PMD's fanout group
 * (measured: a port with qpairs=2 took 208 of 400 UDP flows, the rest
 * lost without a counter; vesperd no longer lets the PMD make that group,
 * tools/vesperd/afp_fanout.c, so each of its sockets would now copy every
 * frame), a multiqueue vhost-user guest sends on all of its. */
static const struct {
    const char *driver, *key, *who;
} rx_queue_args[] = {
    { "net_af_packet", "qpairs", "the kernel" },
    { "net_af_xdp", "queue_count", "the kernel" },
    { "net_vhost", "queues", "the guest" },
};

/* One receive queue per port: see rx_queue_args; net_pcap makes one per
 * receive source it is given. */
static int check_devargs_queues(struct pctx *c, const char *s)
{
    static const char *const pcap_rx[] = { "rx_pcap", "rx_iface",
                                           "rx_iface_in", "iface" };
    char sbuf[64];
    const char *v;
    size_t vlen;
    int n = 0;

    for (size_t k = 0; k < VSA_ARRAY_LEN(rx_queue_args); k++) {
        if (!devname_is(s, rx_queue_args[k].driver))
            continue;
        for (int i = 0;
             (v = devargs_value(s, rx_queue_args[k].key, i, &vlen)); i++)
            if (!devargs_at_most_one(v, vlen)) /* 0: the PMD refuses */
                return perr(c, CTL__FAULT_VALUE,
                            "devargs: \"%s\" asks for %s=%.*s: vesperd "
                            "polls one receive queue per port, so the "
                            "frames %s hands to the other queues would "
                            "never be read; leave %s out (one queue is the "
                            "default) or write %s=1",
                            ctl__safe_str(s, sbuf, sizeof(sbuf)),
                            rx_queue_args[k].key,
                            (int)(vlen < 20 ? vlen : 20), v,
                            rx_queue_args[k].who, rx_queue_args[k].key,
                            rx_queue_args[k].key);
    }
    if (!devname_is(s, "net_pcap"))
        return 0;
    for (size_t k = 0; k < VSA_ARRAY_LEN(pcap_rx); k++)
        for (int i = 0; devargs_value(s, pcap_rx[k], i, &vlen); i++)
            n++;
    if (n > 1)
        return perr(c, CTL__FAULT_VALUE,
                    "devargs: \"%s\" gives net_pcap %d receive sources "
                    "(rx_pcap, rx_iface, rx_iface_in, iface), one receive "
                    "queue each: vesperd polls one receive queue per port, "
                    "so all but the first would never be read; give each "
                    "port one",
                    ctl__safe_str(s, sbuf, sizeof(sbuf)), n);
    return 0;
}

/* One iface= for the drivers that bind or make one kernel interface or
 * vhost-user socket by it.  Given twice, net_af_xdp (like net_tap and
 * net_vhost) uses the last one, while vesperd checks, isolates and
 * follows the first as the port's NIC: the other would be bound with none
 * of that.  (net_pcap's are counted as receive sources above.) */
static int check_devargs_iface_once(struct pctx *c, const char *s)
{
    static const char *const one_iface[] = {
        "net_af_packet", "net_af_xdp", "net_tap", "net_tun", "net_vhost",
    };
    char sbuf[64];
    size_t vlen;

    for (size_t k = 0; k < VSA_ARRAY_LEN(one_iface); k++)
        if (devname_is(s, one_iface[k]) &&
            devargs_value(s, "iface", 1, &vlen))
            return perr(c, CTL__FAULT_VALUE,
                        "devargs: \"%s\" gives iface= more than once: a "
                        "%s device has one; give it once",
                        ctl__safe_str(s, sbuf, sizeof(sbuf)), one_iface[k]);
    return 0;
}

static int check_devargs(struct pctx *c, const char *s)
{
    size_t len = strlen(s), dlen = devname_len(s);
    char sbuf[64];
    int rc;

    if (len == 0 || len >= CTL_DEVARGS_MAX)
        return perr(c, CTL__FAULT_VALUE,
                    "devargs: length %zu is outside 1..%d", len,
                    CTL_DEVARGS_MAX - 1);
    for (size_t i = 0; i < len; i++)
        if (s[i] <= 0x20 || s[i] >= 0x7f)
            return perr(c, CTL__FAULT_VALUE,
                        "devargs: \"%s\" contains a space, control or "
                        "non-ASCII character",
                        ctl__safe_str(s, sbuf, sizeof(sbuf)));
    if (dlen == 0)
        return perr(c, CTL__FAULT_VALUE,
                    "devargs: \"%s\" has no device name before the first ','",
                    ctl__safe_str(s, sbuf, sizeof(sbuf)));
    for (size_t i = 0; i < dlen; i++)
        if (!devname_char(s[i]))
            return perr(c, CTL__FAULT_VALUE,
                        "devargs: device name of \"%s\" has characters "
                        "outside A-Z a-z 0-9 _ . : -",
                        ctl__safe_str(s, sbuf, sizeof(sbuf)));
    if (strncmp(s, VSA_VDEV_TAP_PREFIX, strlen(VSA_VDEV_TAP_PREFIX)) == 0 ||
        strncmp(s, VSA_VDEV_AF_PACKET_PREFIX,
                strlen(VSA_VDEV_AF_PACKET_PREFIX)) == 0)
        return perr(c, CTL__FAULT_VALUE,
                    "devargs: device names " VSA_VDEV_TAP_PREFIX "… and "
                    VSA_VDEV_AF_PACKET_PREFIX "… are reserved for the "
                    "devices vesperd makes (internal ports, uplinks by "
                    "interface name); \"%.*s\" is one: choose another name",
                    (int)(dlen < 40 ? dlen : 40), s);
    /* DPDK takes eth_af_packet, eth_pcap, ... as old aliases of net_...;
     * vesperd tells a kernel-bound device (af_packet, af_xdp: set up,
     * isolated, its carrier followed, given back on close) by its net_
     * name, so the alias would bind the NIC without any of that. */
    if (strncmp(s, "eth_", 4) == 0)
        return perr(c, CTL__FAULT_VALUE,
                    "devargs: \"%.*s\" is DPDK's old alias of a net_ device; "
                    "write net_%.*s",
                    (int)(dlen < 40 ? dlen : 40), s,
                    (int)(dlen < 40 ? dlen - 4 : 36), s + 4);
    /* DPDK's net_null receives without end: each frame is a pool buffer
     * given the length of a packet and nothing written into it, so it
     * carries whatever frame that buffer last held, perhaps another
     * switch's (isolation), flooded here at full speed.  copy=1 fills
     * them with zeros; no-rx=1 makes the port a sink. */
    if (devname_is(s, "net_null") && !devargs_has_one(s, "no-rx") &&
        !devargs_has_one(s, "copy"))
        return perr(c, CTL__FAULT_VALUE,
                    "devargs: \"%s\" would receive frames: DPDK's net_null "
                    "makes them at full speed out of recycled packet "
                    "buffers, which can hold other switches' traffic; add "
                    "no-rx=1 for a port that only discards, or copy=1 for "
                    "zero-filled test frames",
                    ctl__safe_str(s, sbuf, sizeof(sbuf)));
    if ((rc = check_devargs_iface_once(c, s)) < 0)
        return rc;
    return check_devargs_queues(c, s);
}

static int parse_port_class(struct pctx *c, const json_t *v,
                            struct ctl_port *port)
{
    const char *cls;
    char sbuf[64];
    int rc;

    if ((rc = get_string(c, v, "class", true, &cls)) < 0)
        return rc;
    if (strcmp(cls, "dpdk") == 0)
        port->cls = CTL_PORT_DPDK;
    else if (strcmp(cls, "internal") == 0)
        port->cls = CTL_PORT_INTERNAL;
    else if (strcmp(cls, "uplink") == 0)
        port->cls = CTL_PORT_UPLINK;
    else if (strcmp(cls, "synthetic") == 0 || strcmp(cls, "legacy") == 0)
        return perr(c, CTL__FAULT_VALUE,
                    "class: %s ports are VM NICs; they are configured in "
                    "vms[].nics[]", cls);
    else
        return perr(c, CTL__FAULT_VALUE,
                    "class: \"%s\" is not \"dpdk\", \"internal\" or "
                    "\"uplink\"", ctl__safe_str(cls, sbuf, sizeof(sbuf)));
    return 0;
}

/* Per-class presence rules of devargs / ifname / addresses / mtu. */
/* The `vlan` and `learn_limit` of a switch port (document port or VM NIC). */
static int parse_port_policy(struct pctx *c, const json_t *v,
                             struct ctl_port *port,
                             const struct ctl_switch *sw)
{
    const json_t *vlan = NULL;
    uint64_t n = 0;
    int rc;

    vlan_port_mode_default(&port->vlan);
    if ((rc = get_field(c, v, "vlan", false, &vlan)) < 0)
        return rc;
    if (rc > 0 && (rc = parse_vlan(c, vlan, &port->vlan)) < 0)
        return rc;

    if ((rc = get_uint(c, v, "learn_limit", false, 0, CTL_FDB_MAX_MAX,
                       &n)) < 0)
        return rc;
    port->learn_limit = (uint32_t)n;
    if (port->learn_limit > sw->fdb_max)
        return perr(c, CTL__FAULT_RULE,
                    "learn_limit: %u exceeds fdb_max %u of switch \"%s\"",
                    port->learn_limit, sw->fdb_max, sw->name);
    return 0;
}

static int parse_port_endpoints(struct pctx *c, const json_t *v,
                                struct ctl_port *port)
{
    const char *devargs = NULL, *ifname = NULL;
    const json_t *addrs = NULL;
    const char *cname = ctl_port_class_name(port->cls);
    char sbuf[64];
    uint64_t n;
    int has_dev, has_if, has_addrs, has_mtu, rc;

    if ((has_dev = get_string(c, v, "devargs", false, &devargs)) < 0)
        return has_dev;
    if ((has_if = get_string(c, v, "ifname", false, &ifname)) < 0)
        return has_if;
    if ((has_addrs = get_array(c, v, "addresses", false, &addrs)) < 0)
        return has_addrs;
    n = CTL_MTU_DEFAULT;
    if ((has_mtu = get_uint(c, v, "mtu", false, CTL_MTU_MIN, CTL_MTU_MAX,
                            &n)) < 0)
        return has_mtu;

    switch (port->cls) {
    case CTL_PORT_DPDK:
        if (!has_dev)
            return perr(c, CTL__FAULT_VALUE,
                        "devargs: missing (required for class dpdk)");
        if (has_if)
            return perr(c, CTL__FAULT_VALUE,
                        "ifname: not allowed for class dpdk");
        break;
    case CTL_PORT_UPLINK:
        if (has_dev == has_if)
            return perr(c, CTL__FAULT_VALUE,
                        "an uplink port needs exactly one of devargs and "
                        "ifname");
        break;
    case CTL_PORT_INTERNAL:
        if (!has_if)
            return perr(c, CTL__FAULT_VALUE,
                        "ifname: missing (required for class internal: the "
                        "TAP name)");
        if (has_dev)
            return perr(c, CTL__FAULT_VALUE,
                        "devargs: not allowed for class internal");
        break;
    case CTL_PORT_SYNTHETIC: /* refused by parse_port_class */
    case CTL_PORT_LEGACY:
        break;
    }
    if (port->cls != CTL_PORT_INTERNAL && has_addrs)
        return perr(c, CTL__FAULT_VALUE,
                    "addresses: only internal ports have addresses (class "
                    "is %s)", cname);
    if (port->cls != CTL_PORT_INTERNAL && has_mtu)
        return perr(c, CTL__FAULT_VALUE,
                    "mtu: only internal ports have an MTU (class is %s)",
                    cname);

    if (has_dev) {
        if ((rc = check_devargs(c, devargs)) < 0)
            return rc;
        snprintf(port->devargs, sizeof(port->devargs), "%s", devargs);
    }
    if (has_if) {
        if (!ctl_ifname_is_valid(ifname))
            return perr(c, CTL__FAULT_VALUE,
                        "ifname: \"%s\" is not a valid interface name (1..15 "
                        "characters of A-Z a-z 0-9 _ . -)",
                        ctl__safe_str(ifname, sbuf, sizeof(sbuf)));
        snprintf(port->ifname, sizeof(port->ifname), "%s", ifname);
    }
    port->mtu = port->cls == CTL_PORT_INTERNAL ? (uint32_t)n : 0;
    if (has_addrs)
        return parse_addresses(c, port, addrs);
    return 0;
}

/* Class against switch type (the per-port half of the membership rules). */
static int check_port_on_switch(struct pctx *c, const struct ctl_port *port,
                                const struct ctl_switch *sw)
{
    if (port->cls == CTL_PORT_UPLINK && sw->type != CTL_SWITCH_EXTERNAL)
        return perr(c, CTL__FAULT_RULE,
                    "class uplink is allowed on external switches only; "
                    "switch \"%s\" is %s", sw->name,
                    ctl_switch_type_name(sw->type));
    if (port->cls == CTL_PORT_INTERNAL && sw->type == CTL_SWITCH_PRIVATE)
        return perr(c, CTL__FAULT_RULE,
                    "class internal is not allowed on private switch \"%s\"",
                    sw->name);
    if (port->cls == CTL_PORT_INTERNAL && sw->type == CTL_SWITCH_EXTERNAL &&
        !sw->management_os)
        return perr(c, CTL__FAULT_RULE,
                    "class internal on external switch \"%s\" needs "
                    "management_os: true (its one internal port, the host "
                    "vNIC, comes with the switch: switch add "
                    "--management-os)", sw->name);
    return 0;
}

/* What a port holds outside vesperd: the kernel interfaces it binds or
 * creates (its ifname; iface= of an af_packet, af_xdp, TAP or TUN device;
 * iface=, rx_iface=, rx_iface_in= and tx_iface= of a pcap device) and the
 * vhost-user sockets it serves (iface= of net_vhost).  Two ports on one
 * interface forward each other's frames twice, or across switches; with a
 * TAP, the second port attaches to the first one's host vNIC and closing
 * it takes that vNIC down.  Values point into the port (not copied). */
#define PORT_HOLDS_MAX 8

struct port_hold {
    const char *what;  /* "interface" or "vhost-user socket" */
    const char *field; /* "ifname" or "devargs" */
    const char *val;
    size_t len;
};

static unsigned port_holds(const struct ctl_port *p,
                           struct port_hold out[PORT_HOLDS_MAX])
{
    static const char *const if_drivers[] = {
        "net_af_packet", "net_af_xdp", "net_tap", "net_tun", "net_pcap",
    };
    static const char *const pcap_keys[] = {
        "iface=", "rx_iface=", "rx_iface_in=", "tx_iface=",
    };
    const char *what = NULL;
    unsigned n = 0, nkeys = 1;

    if (p->ifname[0])
        out[n++] = (struct port_hold){ "interface", "ifname", p->ifname,
                                       strlen(p->ifname) };
    if (!p->devargs[0])
        return n;
    for (size_t k = 0; k < VSA_ARRAY_LEN(if_drivers) && !what; k++)
        if (devname_is(p->devargs, if_drivers[k]))
            what = "interface";
    if (devname_is(p->devargs, "net_pcap"))
        nkeys = VSA_ARRAY_LEN(pcap_keys);
    if (!what && devname_is(p->devargs, "net_vhost"))
        what = "vhost-user socket";
    if (!what)
        return n;
    /* key=value pairs after the device name, as DPDK's kvargs split them */
    for (const char *a = strchr(p->devargs, ','); a && n < PORT_HOLDS_MAX;
         a = strchr(a, ',')) {
        a++;
        for (unsigned k = 0; k < nkeys; k++) {
            size_t kl = strlen(pcap_keys[k]);

            if (strncmp(a, pcap_keys[k], kl) == 0 && a[kl] != ',' &&
                a[kl] != '\0') {
                out[n++] = (struct port_hold){ what, "devargs", a + kl,
                                               strcspn(a + kl, ",") };
                break;
            }
        }
    }
    return n;
}

/* Uniqueness of name, devargs device name and what the port holds
 * (port_holds) against ports[0..i). */
static int check_port_unique(struct pctx *c, const struct ctl_config *cfg,
                             uint32_t i)
{
    const struct ctl_port *p = &cfg->ports[i];
    size_t dlen = p->devargs[0] ? devname_len(p->devargs) : 0;
    struct port_hold ph[PORT_HOLDS_MAX], qh[PORT_HOLDS_MAX];
    unsigned np = port_holds(p, ph);
    char ref[CTL_NAME_MAX + 32], sbuf[64];

    for (uint32_t j = 0; j < i; j++) {
        const struct ctl_port *q = &cfg->ports[j];
        unsigned nq;

        if (strcmp(q->name, p->name) == 0)
            return perr_dup_name(c, "ports", j);
        if (dlen && q->devargs[0] && devname_len(q->devargs) == dlen &&
            strncasecmp(q->devargs, p->devargs, dlen) == 0)
            return perr(c, CTL__FAULT_DUPLICATE,
                        "devargs: device \"%.*s\" is already used by %s",
                        (int)dlen, p->devargs,
                        obj_ref(c, "ports", j, q->name, ref, sizeof(ref)));
        nq = np ? port_holds(q, qh) : 0;
        for (unsigned a = 0; a < np; a++)
            for (unsigned b = 0; b < nq; b++) {
                if (strcmp(ph[a].what, qh[b].what) != 0 ||
                    ph[a].len != qh[b].len ||
                    memcmp(ph[a].val, qh[b].val, ph[a].len) != 0)
                    continue;
                snprintf(sbuf, sizeof(sbuf), "%.*s",
                         (int)(ph[a].len < 60 ? ph[a].len : 60), ph[a].val);
                /* "ifname: \"X\" ...", "devargs: interface \"X\" ..." */
                return perr(c, CTL__FAULT_DUPLICATE,
                            "%s: %s%s\"%s\" is already used by %s%s",
                            ph[a].field,
                            ph[a].field[0] == 'd' ? ph[a].what : "",
                            ph[a].field[0] == 'd' ? " " : "", sbuf,
                            obj_ref(c, "ports", j, q->name, ref,
                                    sizeof(ref)),
                            strcmp(qh[b].field, "devargs") == 0
                                ? " (in its devargs)" : "");
            }
    }
    return 0;
}

static int parse_port(struct pctx *c, struct ctl_config *cfg,
                      const json_t *v, uint32_t i)
{
    struct ctl_port *port = &cfg->ports[i];
    const struct ctl_switch *sw;
    const char *name, *swname;
    char sbuf[64];
    int idx, rc;

    set_where(c, "ports", i, NULL);
    if (!json_is_object(v))
        return perr(c, CTL__FAULT_VALUE, "expected an object, got %s",
                    ctl__json_type_name(v));
    if ((rc = get_name(c, v, &name)) < 0)
        return rc;
    set_where(c, "ports", i, name);
    if ((rc = check_keys(c, v, port_keys)) < 0)
        return rc;
    snprintf(port->name, sizeof(port->name), "%s", name);
    port->vm_idx = CTL_NO_VM;

    if ((rc = get_string(c, v, "switch", true, &swname)) < 0)
        return rc;
    idx = ctl_switch_find(cfg, swname);
    if (idx < 0)
        return perr(c, CTL__FAULT_REFERENCE, "switch: no switch named \"%s\"",
                    ctl__safe_str(swname, sbuf, sizeof(sbuf)));
    port->switch_idx = (uint32_t)idx;
    sw = &cfg->switches[idx];

    if ((rc = parse_port_class(c, v, port)) < 0)
        return rc;
    if ((rc = parse_port_endpoints(c, v, port)) < 0)
        return rc;

    if ((rc = parse_port_policy(c, v, port, sw)) < 0)
        return rc;

    if ((rc = check_port_on_switch(c, port, sw)) < 0)
        return rc;
    return check_port_unique(c, cfg, i);
}

/* The per-switch half of the membership rules (counts). */
static int check_membership(struct pctx *c, const struct ctl_config *cfg)
{
    for (uint32_t s = 0; s < cfg->n_switches; s++) {
        const struct ctl_switch *sw = &cfg->switches[s];
        uint32_t n_uplink = 0, n_internal = 0;

        for (uint32_t p = 0; p < cfg->n_ports; p++) {
            if (cfg->ports[p].switch_idx != s)
                continue;
            n_uplink += cfg->ports[p].cls == CTL_PORT_UPLINK;
            n_internal += cfg->ports[p].cls == CTL_PORT_INTERNAL;
        }
        set_where(c, "switches", s, sw->name);
        if (sw->type == CTL_SWITCH_EXTERNAL && n_uplink != 1)
            return perr(c, CTL__FAULT_RULE,
                        "an external switch needs exactly one uplink port, "
                        "it has %u", n_uplink);
        if (sw->type == CTL_SWITCH_EXTERNAL && sw->management_os &&
            n_internal != 1)
            return perr(c, CTL__FAULT_RULE,
                        "management_os needs exactly one internal port (the "
                        "host vNIC), it has %u", n_internal);
        if (sw->type == CTL_SWITCH_INTERNAL && n_internal != 1)
            return perr(c, CTL__FAULT_RULE,
                        "an internal switch needs exactly one internal port "
                        "(the host vNIC), it has %u", n_internal);
    }
    return 0;
}

/*
 * Static helpers: VMs and their NICs
 */

/* NIC k of VM i in a message: `vms[i] ("vm").nics[k] ("nic")`, or
 * by_name `NIC "nic" of VM "vm"`.  A name not (yet) known valid is left
 * out.  (vm is a valid name: its VM was parsed first.) */
static const char *nic_ref(const struct pctx *c, uint32_t i, const char *vm,
                           uint32_t k, const char *nic, char *buf,
                           size_t size)
{
    bool named = nic && ctl_name_is_valid(nic);

    if (c->by_name && named)
        snprintf(buf, size, "NIC \"%s\" of VM \"%s\"", nic, vm);
    else if (named)
        snprintf(buf, size, "vms[%u] (\"%s\").nics[%u] (\"%s\")", i, vm, k,
                 nic);
    else
        snprintf(buf, size, "vms[%u] (\"%s\").nics[%u]", i, vm, k);
    return buf;
}

static void set_nic_where(struct pctx *c, uint32_t i, const char *vm,
                          uint32_t k, const char *nic)
{
    nic_ref(c, i, vm, k, nic, c->where, sizeof(c->where));
}

/* How port p is named in a message: `ports[3] ("p1")` for a configured
 * port, `vms[0] ("vm1").nics[1] ("eth0")` for a VM NIC; by_name `port
 * "p1"`, `NIC "eth0" of VM "vm1"`. */
static const char *port_ref(const struct pctx *c,
                            const struct ctl_config *cfg, uint32_t p,
                            char *buf, size_t size)
{
    const struct ctl_port *q = &cfg->ports[p];

    if (!ctl_port_is_vm_nic(q))
        return obj_ref(c, "ports", p, q->name, buf, size);
    return nic_ref(c, q->vm_idx, cfg->vms[q->vm_idx].name, q->nic_idx,
                   q->nic, buf, size);
}

static int parse_nic_type(struct pctx *c, const json_t *v,
                          struct ctl_port *port)
{
    const char *type;
    char sbuf[64];
    int rc;

    if ((rc = get_string(c, v, "type", true, &type)) < 0)
        return rc;
    if (strcmp(type, "synthetic") == 0) {
        port->nic_type = CTL_NIC_SYNTHETIC;
        port->cls = CTL_PORT_SYNTHETIC;
        return 0;
    }
    if (strcmp(type, "legacy") == 0) {
        port->nic_type = CTL_NIC_LEGACY;
        port->cls = CTL_PORT_LEGACY;
        return 0;
    }
    return perr(c, CTL__FAULT_VALUE,
                "type: \"%s\" is not \"synthetic\" or \"legacy\"",
                ctl__safe_str(type, sbuf, sizeof(sbuf)));
}

/* The NIC's MAC: as configured (unicast, non-zero) or derived. */
static int parse_nic_mac(struct pctx *c, const json_t *v,
                         const struct ctl_vm *vm, struct ctl_port *port,
                         bool *derived)
{
    const char *mac;
    char sbuf[64], mbuf[VSA_MAC_STRLEN];
    int rc;

    if ((rc = get_string(c, v, "mac", false, &mac)) < 0)
        return rc;
    *derived = rc == 0;
    if (*derived) {
        ctl_vm_nic_mac(vm->name, port->nic, 0, &port->mac);
        return 0;
    }
    if (vsa_mac_parse(mac, &port->mac) < 0)
        return perr(c, CTL__FAULT_VALUE,
                    "mac: \"%s\" is not a MAC address (xx:xx:xx:xx:xx:xx)",
                    ctl__safe_str(mac, sbuf, sizeof(sbuf)));
    if (vsa_mac_is_multicast(&port->mac))
        return perr(c, CTL__FAULT_VALUE,
                    "mac: %s is a multicast address; a NIC needs a unicast "
                    "one", vsa_mac_format(&port->mac, mbuf));
    if (vsa_mac_is_zero(&port->mac))
        return perr(c, CTL__FAULT_VALUE,
                    "mac: 00:00:00:00:00:00 is not a station address");
    return 0;
}

/* NIC k of VM vi, stored as port pi. */
static int parse_nic(struct pctx *c, struct ctl_config *cfg, uint32_t vi,
                     const json_t *v, uint32_t k, uint32_t pi)
{
    struct ctl_port *port = &cfg->ports[pi];
    const struct ctl_vm *vm = &cfg->vms[vi];
    const struct ctl_switch *sw;
    const char *name, *swname;
    char sbuf[64], mbuf[VSA_MAC_STRLEN], ref[160];
    bool derived;
    int idx, rc;

    set_nic_where(c, vi, vm->name, k, NULL);
    if (!json_is_object(v))
        return perr(c, CTL__FAULT_VALUE, "expected an object, got %s",
                    ctl__json_type_name(v));
    if ((rc = get_name(c, v, &name)) < 0)
        return rc;
    set_nic_where(c, vi, vm->name, k, name);
    if ((rc = check_keys(c, v, nic_keys)) < 0)
        return rc;
    for (uint32_t j = vm->first_port; j < pi; j++)
        if (strcmp(cfg->ports[j].nic, name) == 0)
            return perr_dup_name(c, "nics", cfg->ports[j].nic_idx);
    port->cls = CTL_PORT_SYNTHETIC;
    port->vm_idx = vi;
    port->nic_idx = k;
    snprintf(port->nic, sizeof(port->nic), "%s", name);
    snprintf(port->name, sizeof(port->name), "%s.%s", vm->name, name);

    if ((rc = parse_nic_type(c, v, port)) < 0)
        return rc;
    if ((rc = get_string(c, v, "switch", true, &swname)) < 0)
        return rc;
    idx = ctl_switch_find(cfg, swname);
    if (idx < 0)
        return perr(c, CTL__FAULT_REFERENCE, "switch: no switch named \"%s\"",
                    ctl__safe_str(swname, sbuf, sizeof(sbuf)));
    port->switch_idx = (uint32_t)idx;
    sw = &cfg->switches[idx];
    if ((rc = parse_nic_mac(c, v, vm, port, &derived)) < 0)
        return rc;

    if ((rc = parse_port_policy(c, v, port, sw)) < 0)
        return rc;
    port->connected = true;
    if ((rc = get_bool(c, v, "connected", false, &port->connected)) < 0)
        return rc;
    if ((rc = get_bool(c, v, "mac_spoofing", false, &port->mac_spoofing)) <
        0)
        return rc;

    /* Host-wide: the port name among all ports, the MAC among NICs. */
    for (uint32_t j = 0; j < pi; j++) {
        const struct ctl_port *q = &cfg->ports[j];

        if (strcmp(q->name, port->name) == 0)
            return perr(c, CTL__FAULT_DUPLICATE,
                        "port name \"%s\" is already used by %s", port->name,
                        port_ref(c, cfg, j, ref, sizeof(ref)));
        if (ctl_port_is_vm_nic(q) &&
            memcmp(&q->mac, &port->mac, sizeof(q->mac)) == 0)
            return perr(c, CTL__FAULT_DUPLICATE,
                        "mac: %s%s is already used by %s%s",
                        derived ? "the derived address " : "",
                        vsa_mac_format(&port->mac, mbuf),
                        port_ref(c, cfg, j, ref, sizeof(ref)),
                        derived ? "; set \"mac\" explicitly" : "");
    }
    return 0;
}

/* VM i; its NICs become ports[*next_port ...]. */
static int parse_vm(struct pctx *c, struct ctl_config *cfg, const json_t *v,
                    uint32_t i, uint32_t *next_port)
{
    struct ctl_vm *vm = &cfg->vms[i];
    const json_t *nics = NULL;
    const char *name;
    int rc;

    set_where(c, "vms", i, NULL);
    if (!json_is_object(v))
        return perr(c, CTL__FAULT_VALUE, "expected an object, got %s",
                    ctl__json_type_name(v));
    if ((rc = get_name(c, v, &name)) < 0)
        return rc;
    set_where(c, "vms", i, name);
    if ((rc = check_keys(c, v, vm_keys)) < 0)
        return rc;
    for (uint32_t j = 0; j < i; j++)
        if (strcmp(cfg->vms[j].name, name) == 0)
            return perr_dup_name(c, "vms", j);
    snprintf(vm->name, sizeof(vm->name), "%s", name);
    if ((rc = get_array(c, v, "nics", false, &nics)) < 0)
        return rc;
    if (json_array_size(nics) > CTL_MAX_VM_NICS && c->by_name)
        return perr(c, CTL__FAULT_RULE, "%zu NICs, at most %d",
                    json_array_size(nics), CTL_MAX_VM_NICS);
    if (json_array_size(nics) > CTL_MAX_VM_NICS)
        return perr(c, CTL__FAULT_RULE, "nics: %zu entries, at most %d",
                    json_array_size(nics), CTL_MAX_VM_NICS);
    vm->first_port = *next_port;
    for (uint32_t k = 0; k < json_array_size(nics); k++) {
        cfg->n_ports = *next_port + 1;
        if ((rc = parse_nic(c, cfg, i, json_array_get(nics, k),
                            k, *next_port)) < 0)
            return rc;
        vm->n_nics = k + 1;
        (*next_port)++;
    }
    return 0;
}

/*
 * Static helpers: static FDB entries
 */

/* Entry i (switch, VLAN and MAC parsed) in c->where: `fdb_static[i]`, or
 * by_name `static FDB entry 02:00:00:00:00:01 in VLAN 10 on switch "s"`. */
static void set_fdb_where(struct pctx *c, const struct ctl_config *cfg,
                          uint32_t i)
{
    const struct ctl_fdb_static *e = &cfg->fdb_static[i];
    char mbuf[VSA_MAC_STRLEN];

    if (c->by_name)
        snprintf(c->where, sizeof(c->where),
                 "static FDB entry %s in VLAN %u on switch \"%s\"",
                 vsa_mac_format(&e->mac, mbuf), e->vid,
                 cfg->switches[e->switch_idx].name);
    else
        set_where(c, "fdb_static", i, NULL);
}

static int parse_fdb(struct pctx *c, struct ctl_config *cfg, const json_t *v,
                     uint32_t i)
{
    struct ctl_fdb_static *e = &cfg->fdb_static[i];
    const struct ctl_port *port;
    const char *swname, *mac, *pname;
    struct vlan_port compiled;
    char sbuf[64], mbuf[VSA_MAC_STRLEN];
    uint64_t n;
    int idx, rc;

    set_where(c, "fdb_static", i, NULL);
    if (!json_is_object(v))
        return perr(c, CTL__FAULT_VALUE, "expected an object, got %s",
                    ctl__json_type_name(v));
    if ((rc = check_keys(c, v, fdb_keys)) < 0)
        return rc;
    if ((rc = get_string(c, v, "switch", true, &swname)) < 0)
        return rc;
    if ((rc = get_uint(c, v, "vlan", true, VLAN_VID_MIN, VLAN_VID_MAX,
                       &n)) < 0)
        return rc;
    e->vid = (uint16_t)n;
    if ((rc = get_string(c, v, "mac", true, &mac)) < 0)
        return rc;
    if ((rc = get_string(c, v, "port", true, &pname)) < 0)
        return rc;
    if (vsa_mac_parse(mac, &e->mac) < 0)
        return perr(c, CTL__FAULT_VALUE,
                    "mac: \"%s\" is not a MAC address (xx:xx:xx:xx:xx:xx)",
                    ctl__safe_str(mac, sbuf, sizeof(sbuf)));
    if (vsa_mac_is_multicast(&e->mac))
        return perr(c, CTL__FAULT_VALUE,
                    "mac: %s is a multicast address; static entries must be "
                    "unicast", vsa_mac_format(&e->mac, mbuf));
    if (vsa_mac_is_zero(&e->mac))
        return perr(c, CTL__FAULT_VALUE,
                    "mac: 00:00:00:00:00:00 is not a station address");

    idx = ctl_switch_find(cfg, swname);
    if (idx < 0)
        return perr(c, CTL__FAULT_REFERENCE, "switch: no switch named \"%s\"",
                    ctl__safe_str(swname, sbuf, sizeof(sbuf)));
    e->switch_idx = (uint32_t)idx;
    idx = ctl_port_find(cfg, pname);
    if (idx < 0)
        return perr(c, CTL__FAULT_REFERENCE, "port: no port named \"%s\"",
                    ctl__safe_str(pname, sbuf, sizeof(sbuf)));
    e->port_idx = (uint32_t)idx;
    port = &cfg->ports[idx];
    set_fdb_where(c, cfg, i);
    if (port->switch_idx != e->switch_idx)
        return perr(c, CTL__FAULT_RULE,
                    "port: \"%s\" is on switch \"%s\", not \"%s\"",
                    port->name, cfg->switches[port->switch_idx].name,
                    cfg->switches[e->switch_idx].name);
    vlan_port_compile(&port->vlan, &compiled);
    if (!vlan_bitmap_test(compiled.member, e->vid))
        return perr(c, CTL__FAULT_RULE,
                    "port \"%s\" is not a member of VLAN %u", port->name,
                    e->vid);
    return 0;
}

struct fdb_key {
    uint64_t hi;    /* switch_idx << 16 | vid */
    uint64_t mac;
    uint32_t idx;
};

static int fdb_key_cmp(const void *a, const void *b)
{
    const struct fdb_key *x = a, *y = b;

    if (x->hi != y->hi)
        return x->hi < y->hi ? -1 : 1;
    if (x->mac != y->mac)
        return x->mac < y->mac ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* (switch, vlan, mac) uniqueness in O(n log n). */
static int check_fdb_unique(struct pctx *c, const struct ctl_config *cfg)
{
    struct fdb_key *keys;
    uint32_t n = cfg->n_fdb_static, dup = UINT32_MAX, orig = 0;

    if (n < 2)
        return 0;
    keys = ctl_calloc(n, sizeof(*keys));
    if (!keys)
        return pnomem(c);
    for (uint32_t i = 0; i < n; i++) {
        const struct ctl_fdb_static *e = &cfg->fdb_static[i];

        keys[i].hi = (uint64_t)e->switch_idx << 16 | e->vid;
        keys[i].mac = vsa_mac_to_u64(&e->mac);
        keys[i].idx = i;
    }
    qsort(keys, n, sizeof(*keys), fdb_key_cmp);
    /* Report the lowest-indexed entry that repeats an earlier one. */
    for (uint32_t i = 1; i < n; i++)
        if (keys[i].hi == keys[i - 1].hi && keys[i].mac == keys[i - 1].mac &&
            keys[i].idx < dup) {
            uint32_t first = i - 1;

            while (first > 0 && keys[first - 1].hi == keys[i].hi &&
                   keys[first - 1].mac == keys[i].mac)
                first--;
            dup = keys[i].idx;
            orig = keys[first].idx;
        }
    ctl_free(keys);
    if (dup == UINT32_MAX)
        return 0;
    set_fdb_where(c, cfg, dup);
    if (c->by_name)
        return perr(c, CTL__FAULT_DUPLICATE, "exists already");
    return perr(c, CTL__FAULT_DUPLICATE,
                "duplicate of fdb_static[%u] (same switch, vlan and mac)",
                orig);
}

/* Static entries per switch within its fdb_max: the FDB takes them in
 * before learned ones, but it holds fdb_max entries. */
static int check_fdb_count(struct pctx *c, const struct ctl_config *cfg)
{
    for (uint32_t s = 0; s < cfg->n_switches; s++) {
        uint32_t n = 0;

        for (uint32_t i = 0; i < cfg->n_fdb_static; i++)
            n += cfg->fdb_static[i].switch_idx == s;
        if (n > cfg->switches[s].fdb_max) {
            set_where(c, "switches", s, cfg->switches[s].name);
            return perr(c, CTL__FAULT_RULE,
                        "fdb_max: %u static FDB entries on this switch, more "
                        "than its fdb_max of %u", n,
                        cfg->switches[s].fdb_max);
        }
    }
    return 0;
}

/*
 * Static helpers: the document
 */

static int parse_top(struct pctx *c, const json_t *doc,
                     struct ctl_config **out)
{
    const json_t *switches = NULL, *ports = NULL, *vms = NULL, *fdb = NULL;
    struct ctl_config *cfg;
    uint64_t version = 0;
    size_t n_nics = 0;
    uint32_t next_port;
    int rc;

    c->where[0] = '\0';
    if (!doc || !json_is_object(doc))
        return perr(c, CTL__FAULT_VALUE,
                    "the configuration must be a JSON object, got %s",
                    doc ? ctl__json_type_name(doc) : "nothing");
    if ((rc = check_keys(c, doc, top_keys)) < 0)
        return rc;
    if ((rc = get_uint(c, doc, "version", true, 0, UINT32_MAX,
                       &version)) < 0)
        return rc;
    if (version != CTL_CONFIG_VERSION)
        return perr(c, CTL__FAULT_VALUE,
                    "version: %llu is not supported (expected %d)",
                    (unsigned long long)version, CTL_CONFIG_VERSION);
    if ((rc = get_array(c, doc, "switches", false, &switches)) < 0 ||
        (rc = get_array(c, doc, "ports", false, &ports)) < 0 ||
        (rc = get_array(c, doc, "vms", false, &vms)) < 0 ||
        (rc = get_array(c, doc, "fdb_static", false, &fdb)) < 0)
        return rc;
    if (json_array_size(switches) > CTL_MAX_SWITCHES)
        return perr(c, CTL__FAULT_RULE, "switches: %zu entries, at most %d",
                    json_array_size(switches), CTL_MAX_SWITCHES);
    if (json_array_size(ports) > CTL_MAX_PORTS)
        return perr(c, CTL__FAULT_RULE, "ports: %zu entries, at most %d",
                    json_array_size(ports), CTL_MAX_PORTS);
    if (json_array_size(fdb) > CTL_MAX_FDB_STATIC)
        return perr(c, CTL__FAULT_RULE, "fdb_static: %zu entries, at most %d",
                    json_array_size(fdb), CTL_MAX_FDB_STATIC);
    if (json_array_size(vms) > CTL_MAX_VMS)
        return perr(c, CTL__FAULT_RULE, "vms: %zu entries, at most %d",
                    json_array_size(vms), CTL_MAX_VMS);
    /* Every NIC is a switch port too; a malformed `nics` counts 0 here
     * and is reported when its VM is parsed. */
    for (size_t i = 0; i < json_array_size(vms); i++)
        n_nics += json_array_size(
            json_object_get(json_array_get(vms, i), "nics"));
    if (json_array_size(ports) + n_nics > CTL_MAX_PORTS)
        return perr(c, CTL__FAULT_RULE,
                    "ports: %zu ports and %zu VM NICs, at most %d switch "
                    "ports in all", json_array_size(ports), n_nics,
                    CTL_MAX_PORTS);

    cfg = ctl_calloc(1, sizeof(*cfg));
    if (!cfg)
        return pnomem(c);
    cfg->version = (uint32_t)version;
    cfg->switches = ctl_calloc(json_array_size(switches),
                               sizeof(*cfg->switches));
    cfg->ports = ctl_calloc(json_array_size(ports) + n_nics,
                            sizeof(*cfg->ports));
    cfg->vms = ctl_calloc(json_array_size(vms), sizeof(*cfg->vms));
    cfg->fdb_static = ctl_calloc(json_array_size(fdb),
                                 sizeof(*cfg->fdb_static));
    if (!cfg->switches || !cfg->ports || !cfg->vms || !cfg->fdb_static) {
        rc = pnomem(c);
        goto out_free;
    }

    for (uint32_t i = 0; i < json_array_size(switches); i++) {
        if ((rc = parse_switch(c, cfg, json_array_get(switches, i), i)) < 0)
            goto out_free;
        cfg->n_switches = i + 1;
    }
    for (uint32_t i = 0; i < json_array_size(ports); i++) {
        /* Counted before parsing so that a port's address block is freed
         * with the config if a later check of the same port fails. */
        cfg->n_ports = i + 1;
        if ((rc = parse_port(c, cfg, json_array_get(ports, i), i)) < 0)
            goto out_free;
    }
    cfg->n_doc_ports = cfg->n_ports;
    next_port = cfg->n_ports;
    for (uint32_t i = 0; i < json_array_size(vms); i++) {
        cfg->n_vms = i + 1;
        if ((rc = parse_vm(c, cfg, json_array_get(vms, i), i,
                           &next_port)) < 0)
            goto out_free;
    }
    if ((rc = check_membership(c, cfg)) < 0)
        goto out_free;
    for (uint32_t i = 0; i < json_array_size(fdb); i++) {
        if ((rc = parse_fdb(c, cfg, json_array_get(fdb, i), i)) < 0)
            goto out_free;
        cfg->n_fdb_static = i + 1;
    }
    if ((rc = check_fdb_unique(c, cfg)) < 0 ||
        (rc = check_fdb_count(c, cfg)) < 0)
        goto out_free;
    *out = cfg;
    return 0;

out_free:
    ctl_config_free(cfg);
    return rc;
}
