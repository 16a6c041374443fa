/* SPDX-License-Identifier: BSD-3-Clause */
#include "tools/ctl/ctl_jsonrpc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tools/ctl/ctl_alloc.h"
#include "tools/ctl/ctl_private.h"

/* A drained buffer larger than this is released, so that one big request
 * does not pin a megabyte per idle connection. */
#define CTL_LINEBUF_KEEP 65536
#define CTL_LINEBUF_MIN 4096

static const char *const rpc_members[] = {
    "jsonrpc", "method", "params", "id", NULL
};

static int linebuf_reserve(struct ctl_linebuf *lb, size_t need);
static json_t *string_or_sanitized(const char *msg);

int ctl_rpc_err_set(struct ctl_rpc_err *e, int ret, int code,
                    const char *fmt, ...)
{
    va_list ap;

    if (!e)
        return ret;
    e->code = code;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    va_end(ap);
    return ret;
}

/*
 * Line buffer
 */

void ctl_linebuf_init(struct ctl_linebuf *lb)
{
    memset(lb, 0, sizeof(*lb));
}

void ctl_linebuf_free(struct ctl_linebuf *lb)
{
    ctl_free(lb->buf);
    memset(lb, 0, sizeof(*lb));
}

int ctl_linebuf_append(struct ctl_linebuf *lb, const void *data, size_t size)
{
    const char *d = data;
    const char *last_nl;
    size_t keep = size, tail;
    bool over = false;

    if (lb->overflow)
        return -EMSGSIZE;
    if (size == 0)
        return 0;
    if (lb->start) {
        memmove(lb->buf, lb->buf + lb->start, lb->size - lb->start);
        lb->size -= lb->start;
        lb->scan -= lb->start;
        lb->start = 0;
    }
    last_nl = memrchr(d, '\n', size);
    if (last_nl)
        tail = size - (size_t)(last_nl - d + 1);
    else
        tail = lb->tail + size;
    if (tail > CTL_RPC_MAX_LINE) {
        /* Keep the lines completed by this chunk; drop the overlong tail. */
        over = true;
        keep = last_nl ? (size_t)(last_nl - d + 1) : 0;
        tail = 0;
    }
    if (keep) {
        if (linebuf_reserve(lb, lb->size + keep + 1) < 0)
            return -ENOMEM;
        memcpy(lb->buf + lb->size, d, keep);
        lb->size += keep;
    }
    if (over) {
        /* An unterminated partial line already held belongs to the same
         * overlong line: drop it unless this chunk terminated it. */
        if (!last_nl)
            lb->size -= lb->tail;
        lb->overflow = true;
        lb->tail = 0;
        if (lb->scan > lb->size)
            lb->scan = lb->size;
        return -EMSGSIZE;
    }
    lb->tail = tail;
    return 0;
}

int ctl_linebuf_next(struct ctl_linebuf *lb, const char **line, size_t *len)
{
    if (lb->start < lb->size) {
        char *nl = memchr(lb->buf + lb->scan, '\n', lb->size - lb->scan);

        if (nl) {
            size_t end = (size_t)(nl - lb->buf);
            size_t n = end - lb->start;

            if (n > CTL_RPC_MAX_LINE) {
                /* A complete line that arrived in one read, too long. */
                lb->overflow = true;
                lb->start = lb->size = lb->scan = lb->tail = 0;
                return -EMSGSIZE;
            }
            *nl = '\0';
            *line = lb->buf + lb->start;
            *len = n;
            lb->start = end + 1;
            lb->scan = lb->start;
            return 1;
        }
        lb->scan = lb->size;
    }
    if (lb->start == lb->size) {
        lb->start = lb->size = lb->scan = lb->tail = 0;
        if (lb->cap > CTL_LINEBUF_KEEP) {
            ctl_free(lb->buf);
            lb->buf = NULL;
            lb->cap = 0;
        }
    }
    return lb->overflow ? -EMSGSIZE : 0;
}

size_t ctl_linebuf_partial(const struct ctl_linebuf *lb)
{
    const char *p;

    if (!lb->tail)
        return 0; /* also: no buffer at all */
    p = lb->buf + lb->size - lb->tail;
    for (size_t i = 0; i < lb->tail; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
            return lb->tail;
    return 0;
}

size_t ctl_linebuf_footprint(const struct ctl_linebuf *lb)
{
    return lb->cap;
}

/*
 * Requests and responses
 */

int ctl_rpc_parse(const char *line, size_t len, struct ctl_rpc_req *req,
                  json_t **err_resp)
{
    json_t *msg, *id, *jsonrpc, *method, *params, *v;
    json_t *resp_id = NULL;
    json_error_t jerr;
    const char *key;
    char sbuf[64];
    size_t i;

    memset(req, 0, sizeof(*req));
    *err_resp = NULL;
    for (i = 0; i < len; i++)
        if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r' &&
            line[i] != '\n')
            break;
    if (i == len)
        return -ENODATA;

    msg = json_loadb(line, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES,
                     &jerr);
    if (!msg) {
        if (ctl__json_load_oom(&jerr))
            return -ENOMEM;
        *err_resp = ctl_rpc_error(NULL, CTL_RPC_PARSE_ERROR,
                                  "parse error at line %d, column %d: %s",
                                  jerr.line, jerr.column, jerr.text);
        return *err_resp ? -EINVAL : -ENOMEM;
    }
    if (json_is_array(msg)) {
        *err_resp = ctl_rpc_error(NULL, CTL_RPC_INVALID_REQUEST,
                                  "invalid request: batches (arrays) are not "
                                  "supported");
        goto out_invalid;
    }
    if (!json_is_object(msg)) {
        *err_resp = ctl_rpc_error(NULL, CTL_RPC_INVALID_REQUEST,
                                  "invalid request: expected a request "
                                  "object, got %s", ctl__json_type_name(msg));
        goto out_invalid;
    }
    id = json_object_get(msg, "id");
    if (!id || json_is_string(id) || json_is_number(id) || json_is_null(id))
        resp_id = id;
    jsonrpc = json_object_get(msg, "jsonrpc");
    method = json_object_get(msg, "method");
    params = json_object_get(msg, "params");

    if (!jsonrpc) {
        *err_resp = ctl_rpc_error(resp_id, CTL_RPC_INVALID_REQUEST,
                                  "invalid request: missing \"jsonrpc\": "
                                  "\"2.0\"");
        goto out_invalid;
    }
    if (!json_is_string(jsonrpc) ||
        strcmp(json_string_value(jsonrpc), "2.0") != 0) {
        *err_resp = ctl_rpc_error(resp_id, CTL_RPC_INVALID_REQUEST,
                                  "invalid request: \"jsonrpc\" must be "
                                  "\"2.0\"");
        goto out_invalid;
    }
    if (!method) {
        *err_resp = ctl_rpc_error(resp_id, CTL_RPC_INVALID_REQUEST,
                                  "invalid request: missing \"method\"");
        goto out_invalid;
    }
    if (!json_is_string(method) ||
        strlen(json_string_value(method)) != json_string_length(method)) {
        *err_resp = ctl_rpc_error(resp_id, CTL_RPC_INVALID_REQUEST,
                                  "invalid request: \"method\" must be a "
                                  "string, got %s",
                                  ctl__json_type_name(method));
        goto out_invalid;
    }
    /* By position (an array) is a valid request (JSON-RPC 2.0 §4.2):
     * vesperd refuses its parameters with -32602 (and, a notification,
     * without an answer). */
    if (params && !json_is_object(params) && !json_is_array(params)) {
        *err_resp = ctl_rpc_error(resp_id, CTL_RPC_INVALID_REQUEST,
                                  "invalid request: \"params\" must be an "
                                  "object, got %s",
                                  ctl__json_type_name(params));
        goto out_invalid;
    }
    if (id && !resp_id) {
        *err_resp = ctl_rpc_error(NULL, CTL_RPC_INVALID_REQUEST,
                                  "invalid request: \"id\" must be a number, "
                                  "string or null, got %s",
                                  ctl__json_type_name(id));
        goto out_invalid;
    }
    json_object_foreach(msg, key, v) {
        const char *const *m = rpc_members;

        while (*m && strcmp(*m, key) != 0)
            m++;
        if (!*m) {
            *err_resp = ctl_rpc_error(resp_id, CTL_RPC_INVALID_REQUEST,
                                      "invalid request: unknown member "
                                      "\"%s\"",
                                      ctl__safe_str(key, sbuf, sizeof(sbuf)));
            goto out_invalid;
        }
    }
    req->msg = msg;
    req->method = json_string_value(method);
    req->params = params;
    req->id = id;
    return 0;

out_invalid:
    json_decref(msg);
    return *err_resp ? -EINVAL : -ENOMEM;
}

void ctl_rpc_req_release(struct ctl_rpc_req *req)
{
    json_decref(req->msg);
    memset(req, 0, sizeof(*req));
}

json_t *ctl_rpc_result(json_t *id, json_t *result)
{
    json_t *r = json_object();

    if (!r || json_object_set_new(r, "jsonrpc", json_string("2.0")) ||
        json_object_set_new(r, "id", id ? json_incref(id) : json_null())) {
        json_decref(r);
        json_decref(result);
        return NULL;
    }
    if (json_object_set_new(r, "result", result)) {
        json_decref(r);
        return NULL;
    }
    return r;
}

json_t *ctl_rpc_error(json_t *id, int code, const char *fmt, ...)
{
    char msg[1024];
    json_t *r, *err;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    err = json_object();
    if (!err || json_object_set_new(err, "code", json_integer(code)) ||
        json_object_set_new(err, "message", string_or_sanitized(msg))) {
        json_decref(err);
        return NULL;
    }
    r = json_object();
    if (!r || json_object_set_new(r, "jsonrpc", json_string("2.0")) ||
        json_object_set_new(r, "id", id ? json_incref(id) : json_null())) {
        json_decref(r);
        json_decref(err);
        return NULL;
    }
    if (json_object_set_new(r, "error", err)) {
        json_decref(r);
        return NULL;
    }
    return r;
}

json_t *ctl_rpc_error_from(json_t *id, const struct ctl_rpc_err *e)
{
    return ctl_rpc_error(id, e->code, "%s", e->msg);
}

char *ctl_rpc_encode(const json_t *resp, size_t *len)
{
    size_t n = json_dumpb(resp, NULL, 0, JSON_COMPACT);
    char *s;

    if (n == 0)
        return NULL;
    s = ctl_malloc(n + 2);
    if (!s)
        return NULL;
    if (json_dumpb(resp, s, n, JSON_COMPACT) != n) {
        ctl_free(s);
        return NULL;
    }
    s[n] = '\n';
    s[n + 1] = '\0';
    if (len)
        *len = n + 1;
    return s;
}

/*
 * Parameter accessors
 */

static int param_get(json_t *params, const char *key, bool required,
                     json_t **out, struct ctl_rpc_err *e)
{
    json_t *v = json_is_object(params) ? json_object_get(params, key) : NULL;

    if (!v) {
        if (required)
            return ctl_rpc_err_set(e, -EINVAL, CTL_RPC_INVALID_PARAMS,
                                   "missing parameter \"%s\"", key);
        return 0;
    }
    *out = v;
    return 1;
}

static int param_type(const char *key, const char *want, const json_t *v,
                      struct ctl_rpc_err *e)
{
    return ctl_rpc_err_set(e, -EINVAL, CTL_RPC_INVALID_PARAMS,
                           "parameter \"%s\": expected %s, got %s", key, want,
                           ctl__json_type_name(v));
}

int ctl_param_string(json_t *params, const char *key, bool required,
                     const char **out, struct ctl_rpc_err *e)
{
    json_t *v = NULL;
    int rc = param_get(params, key, required, &v, e);

    if (rc <= 0)
        return rc;
    if (!json_is_string(v))
        return param_type(key, "a string", v, e);
    if (strlen(json_string_value(v)) != json_string_length(v))
        return ctl_rpc_err_set(e, -EINVAL, CTL_RPC_INVALID_PARAMS,
                               "parameter \"%s\": contains a NUL byte", key);
    *out = json_string_value(v);
    return 1;
}

int ctl_param_uint(json_t *params, const char *key, bool required,
                   uint64_t min, uint64_t max, uint64_t *out,
                   struct ctl_rpc_err *e)
{
    json_t *v = NULL;
    int rc = param_get(params, key, required, &v, e);
    json_int_t n;

    if (rc <= 0)
        return rc;
    if (!json_is_integer(v))
        return param_type(key, "an integer", v, e);
    n = json_integer_value(v);
    if (n < 0 || (uint64_t)n < min || (uint64_t)n > max)
        return ctl_rpc_err_set(e, -EINVAL, CTL_RPC_INVALID_PARAMS,
                               "parameter \"%s\": %lld is outside %llu..%llu",
                               key, (long long)n, (unsigned long long)min,
                               (unsigned long long)max);
    *out = (uint64_t)n;
    return 1;
}

int ctl_param_bool(json_t *params, const char *key, bool required,
                   bool *out, struct ctl_rpc_err *e)
{
    json_t *v = NULL;
    int rc = param_get(params, key, required, &v, e);

    if (rc <= 0)
        return rc;
    if (!json_is_boolean(v))
        return param_type(key, "a boolean", v, e);
    *out = json_is_true(v);
    return 1;
}

int ctl_param_object(json_t *params, const char *key, bool required,
                     json_t **out, struct ctl_rpc_err *e)
{
    json_t *v = NULL;
    int rc = param_get(params, key, required, &v, e);

    if (rc <= 0)
        return rc;
    if (!json_is_object(v))
        return param_type(key, "an object", v, e);
    *out = v;
    return 1;
}

int ctl_param_array(json_t *params, const char *key, bool required,
                    json_t **out, struct ctl_rpc_err *e)
{
    json_t *v = NULL;
    int rc = param_get(params, key, required, &v, e);

    if (rc <= 0)
        return rc;
    if (!json_is_array(v))
        return param_type(key, "an array", v, e);
    *out = v;
    return 1;
}

int ctl_params_check_known(json_t *params, const char *const *known,
                           struct ctl_rpc_err *e)
{
    const char *key;
    json_t *v;
    char sbuf[64];

    if (!json_is_object(params))
        return 0;
    json_object_foreach(params, key, v) {
        const char *const *k = known;

        while (*k && strcmp(*k, key) != 0)
            k++;
        if (!*k)
            return ctl_rpc_err_set(e, -EINVAL, CTL_RPC_INVALID_PARAMS,
                                   "unknown parameter \"%s\"",
                                   ctl__safe_str(key, sbuf, sizeof(sbuf)));
    }
    return 0;
}

/*
 * Static helpers
 */

static int linebuf_reserve(struct ctl_linebuf *lb, size_t need)
{
    size_t newcap;
    char *nb;

    if (need <= lb->cap)
        return 0;
    newcap = lb->cap ? lb->cap * 2 : CTL_LINEBUF_MIN;
    if (newcap < need)
        newcap = need;
    /* Doubling must not push a connection past the documented bound. */
    if (newcap > CTL_RPC_MAX_LINE + 1)
        newcap = need > CTL_RPC_MAX_LINE + 1 ? need : CTL_RPC_MAX_LINE + 1;
    nb = ctl_malloc(newcap);
    if (!nb)
        return -ENOMEM;
    if (lb->size)
        memcpy(nb, lb->buf, lb->size);
    ctl_free(lb->buf);
    lb->buf = nb;
    lb->cap = newcap;
    return 0;
}

/* jansson refuses strings that are not UTF-8; messages may quote bytes of a
 * bad request (jansson's own error text does), so retry with those bytes
 * replaced. */
static json_t *string_or_sanitized(const char *msg)
{
    char clean[1024];
    size_t i;
    json_t *s = json_string(msg);

    if (s)
        return s;
    for (i = 0; msg[i] && i + 1 < sizeof(clean); i++)
        clean[i] = (msg[i] >= 0x20 && msg[i] < 0x7f) ? msg[i] : '?';
    clean[i] = '\0';
    return json_string(clean);
}
