/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_jsonrpc.c — libFuzzer target for the control socket's front door
 * (tools/ctl/ctl_jsonrpc.c): the line buffer a connection reads into and
 * the JSON-RPC 2.0 request check, as vesperd's server uses them.
 *
 * Input: the first byte picks the read size (1..256 bytes per append, as
 * read(2) may cut a stream anywhere); the rest is the byte stream a client
 * writes.  Every complete line is taken out and parsed.
 *
 * Objective: no crash, leak or sanitizer report, and consistent results:
 *   - the buffer never holds more than one partial line of at most
 *     CTL_RPC_MAX_LINE bytes plus one read (the memory bound of a
 *     connection);
 *   - the lines taken out, each with its '\n', are the stream's bytes in
 *     order, up to where an overlong line stops it; a line has no '\n'
 *     and its length is what strlen says unless it holds a NUL;
 *   - a parsed request has a string method, an object, an array or no
 *     params and a
 *     number, string, null or no id, and serialises; an error response is
 *     an object with jsonrpc "2.0", an id and an error with an integer
 *     code of -32700 or -32600 and a message, and serialises; a blank line
 *     gives neither.
 * Seeds (tests/fuzz/corpus/fuzz_jsonrpc/): requests of every method shape,
 * a notification, a batch, bad JSON, duplicate keys, a line split by
 * reads.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "tools/ctl/ctl_jsonrpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_request(const struct ctl_rpc_req *req)
{
    char *s;

    if (!req->method || !json_is_object(req->msg))
        abort();
    if (req->params && !json_is_object(req->params) &&
        !json_is_array(req->params))
        abort();
    if (req->id && !json_is_integer(req->id) && !json_is_real(req->id) &&
        !json_is_string(req->id) && !json_is_null(req->id))
        abort();
    s = json_dumps(req->msg, JSON_COMPACT);
    if (!s)
        abort();
    free(s);
}

static void check_error(json_t *resp)
{
    json_t *err = json_object_get(resp, "error");
    json_t *code = json_object_get(err, "code");
    char *s;

    if (!json_is_object(resp) ||
        !json_is_string(json_object_get(resp, "jsonrpc")) ||
        strcmp(json_string_value(json_object_get(resp, "jsonrpc")), "2.0") ||
        !json_object_get(resp, "id") || !json_is_object(err) ||
        !json_is_integer(code) ||
        !json_is_string(json_object_get(err, "message")))
        abort();
    if (json_integer_value(code) != CTL_RPC_PARSE_ERROR &&
        json_integer_value(code) != CTL_RPC_INVALID_REQUEST)
        abort();
    s = json_dumps(resp, JSON_COMPACT);
    if (!s)
        abort();
    free(s);
}

static void parse_line(const char *line, size_t len)
{
    struct ctl_rpc_req req;
    json_t *err = NULL;
    int rc = ctl_rpc_parse(line, len, &req, &err);

    if (rc == 0) {
        if (err)
            abort();
        check_request(&req);
        ctl_rpc_req_release(&req);
    } else if (rc == -EINVAL) {
        if (!err)
            abort();
        check_error(err);
        json_decref(err);
    } else if (rc == -ENODATA) {
        if (err)
            abort();
    } else if (rc == -ENOMEM) {
        json_decref(err);
    } else {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ctl_linebuf lb;
    size_t chunk, off = 0, out = 0;
    bool stopped = false;

    if (size < 1)
        return 0;
    chunk = (size_t)data[0] + 1;
    data++;
    size--;
    ctl_linebuf_init(&lb);
    while (off < size && !stopped) {
        size_t n = size - off < chunk ? size - off : chunk;
        const char *line;
        size_t len;
        int rc = ctl_linebuf_append(&lb, data + off, n);

        if (rc == -ENOMEM)
            abort(); /* no allocation hook here: cannot happen */
        off += n;
        if (ctl_linebuf_footprint(&lb) > 2 * (size_t)CTL_RPC_MAX_LINE + 2 * chunk)
            abort();
        while ((rc = ctl_linebuf_next(&lb, &line, &len)) == 1) {
            /* the stream's bytes, in order, '\n' after each line */
            if (out + len >= size || memcmp(line, data + out, len) != 0 ||
                data[out + len] != '\n' || line[len] != '\0' ||
                memchr(line, '\n', len))
                abort();
            if (!memchr(line, '\0', len) && strlen(line) != len)
                abort();
            out += len + 1;
            parse_line(line, len);
        }
        if (rc == -EMSGSIZE)
            stopped = true; /* the server answers -32600 and closes */
        else if (rc != 0)
            abort();
    }
    ctl_linebuf_free(&lb);
    return 0;
}
