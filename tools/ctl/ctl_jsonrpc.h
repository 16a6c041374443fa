/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ctl_jsonrpc.h — JSON-RPC 2.0 framing for the control socket
 * (docs/rpc.md): line buffers, request validation, responses and typed
 * parameter accessors.
 *
 * Design
 * ------
 * The wire format is one JSON-RPC 2.0 request object per `\n`-terminated
 * line and one response per line, in order.  A server connection owns a
 * `struct ctl_linebuf`: it appends what read(2) returned and then takes out
 * every complete line before reading again.  The buffer never holds more
 * than one partial line of at most CTL_RPC_MAX_LINE bytes plus one read, so
 * a client cannot make the daemon allocate more than ~1 MiB + the read size
 * per connection; a line longer than CTL_RPC_MAX_LINE (not counting the
 * `\n`) puts the buffer in a sticky error state (-EMSGSIZE) in which the
 * caller answers -32600 and closes the connection.  Lines that were complete
 * before the overlong one are still returned first, so responses keep their
 * order.
 *
 * ctl_rpc_parse() turns one line into a `struct ctl_rpc_req` or into the
 * error response to send:
 *   -32700  the line is not JSON (message: jansson's reason, line, column);
 *   -32600  not a request object: batches (arrays) and scalars, a missing or
 *           wrong `jsonrpc`, a `method` that is not a string, `params` that
 *           is neither an object nor an array, an `id` that is not a
 *           number, string or null, unknown members.
 * `params` by position (an array) is a valid request: it is parsed, and
 * the method layer refuses it with -32602 (no answer to a notification).
 * A request without `id` is a notification: the caller runs it and sends no
 * response (error responses to malformed requests are always sent, with the
 * id when it could be read, else null, as JSON-RPC 2.0 §5 says).  Duplicate
 * keys are rejected as a parse error rather than silently resolved.
 *
 * Parameters are read through ctl_param_*() accessors, which produce the
 * -32602 "invalid params" errors naming the parameter; the method layer
 * (ctl_mutate, vesperd) adds -32601/-32001..-32004.
 *
 * Ownership: ctl_rpc_req owns the parsed message; method/params/id borrow
 * from it until ctl_rpc_req_release().  ctl_rpc_result() steals `result`;
 * ids are always borrowed (the response takes its own reference).
 *
 * Thread-safety: no global state beyond the ctl_alloc / jansson allocator
 * hooks; a linebuf belongs to one connection.
 */
#ifndef CTL_JSONRPC_H
#define CTL_JSONRPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/vsa_compiler.h"

#define CTL_RPC_MAX_LINE 1048576 /* bytes, not counting the '\n' */

/* JSON-RPC 2.0 error codes, then Vesper's application codes. */
#define CTL_RPC_PARSE_ERROR -32700
#define CTL_RPC_INVALID_REQUEST -32600
#define CTL_RPC_METHOD_NOT_FOUND -32601
#define CTL_RPC_INVALID_PARAMS -32602
#define CTL_RPC_NOT_FOUND -32001   /* the named object does not exist */
#define CTL_RPC_EXISTS -32002      /* the object exists already */
#define CTL_RPC_RULE -32003        /* breaks a configuration rule */
#define CTL_RPC_SYSTEM -32004      /* the system refused */

/* An RPC-level error: code and operator message. */
struct ctl_rpc_err {
    int code;
    char msg[512];
};

/* Fills `e` (if not NULL) and returns `ret`, so that a method can write
 * `return ctl_rpc_err_set(e, -EINVAL, CTL_RPC_NOT_FOUND, "...")`. */
int ctl_rpc_err_set(struct ctl_rpc_err *e, int ret, int code,
                    const char *fmt, ...) VSA_PRINTF(4, 5);

/*
 * Line buffer
 */

struct ctl_linebuf {
    char *buf;
    size_t size;     /* bytes held */
    size_t cap;      /* bytes allocated */
    size_t start;    /* first byte not yet returned */
    size_t scan;     /* [start, scan) holds no '\n' */
    size_t tail;     /* bytes after the last '\n' (the partial line) */
    bool overflow;   /* a line exceeded CTL_RPC_MAX_LINE: sticky */
};

void ctl_linebuf_init(struct ctl_linebuf *lb);
void ctl_linebuf_free(struct ctl_linebuf *lb);

/* Appends bytes read from the socket.  Returns 0, -ENOMEM, or -EMSGSIZE
 * when the incomplete tail would exceed CTL_RPC_MAX_LINE (the complete
 * lines before it are kept; the rest is discarded, as is everything
 * appended afterwards). */
int ctl_linebuf_append(struct ctl_linebuf *lb, const void *data, size_t size);

/* Takes out the next complete line.  Returns 1 with *line (NUL-terminated,
 * without the '\n', valid until the next call on `lb`) and *len; 0 if no
 * complete line is buffered; -EMSGSIZE once an overlong line is reached. */
int ctl_linebuf_next(struct ctl_linebuf *lb, const char **line, size_t *len);

/* Bytes of an unterminated last line held, 0 when it is empty or only
 * blanks (at the end of the input: a request without its newline). */
size_t ctl_linebuf_partial(const struct ctl_linebuf *lb);

/* Bytes currently allocated (to check the memory bound). */
size_t ctl_linebuf_footprint(const struct ctl_linebuf *lb);

/*
 * Requests and responses
 */

struct ctl_rpc_req {
    json_t *msg;          /* the whole request (owned) */
    const char *method;   /* borrowed from msg */
    json_t *params;       /* borrowed; an object or an array; NULL when
                             absent */
    json_t *id;           /* borrowed; NULL for a notification */
};

/* Parses and validates one line.  Returns 0 (req filled, release with
 * ctl_rpc_req_release); -EINVAL with *err_resp set to the error response to
 * send; -ENODATA for a blank line (nothing to answer, *err_resp NULL);
 * -ENOMEM (*err_resp NULL, or an error response if one could be built). */
int ctl_rpc_parse(const char *line, size_t len, struct ctl_rpc_req *req,
                  json_t **err_resp);

/* Drops the request's reference to its message. */
void ctl_rpc_req_release(struct ctl_rpc_req *req);

/* True for a request without id (no response is sent). */
static inline bool ctl_rpc_is_notification(const struct ctl_rpc_req *req)
{
    return req->id == NULL;
}

/* {"jsonrpc":"2.0","id":id,"result":result}.  Steals `result`; id NULL
 * means null.  Returns NULL on allocation failure. */
json_t *ctl_rpc_result(json_t *id, json_t *result);

/* {"jsonrpc":"2.0","id":id,"error":{"code":code,"message":...}}.  Returns
 * NULL on allocation failure. */
json_t *ctl_rpc_error(json_t *id, int code, const char *fmt, ...)
    VSA_PRINTF(3, 4);

/* The same, from a struct ctl_rpc_err. */
json_t *ctl_rpc_error_from(json_t *id, const struct ctl_rpc_err *e);

/* Encodes a response as one compact line ending in '\n' (NUL-terminated;
 * *len excludes the NUL; free with ctl_free()).  Returns NULL on allocation
 * failure. */
char *ctl_rpc_encode(const json_t *resp, size_t *len);

/*
 * Parameter accessors.  `params` may be NULL (no parameters).  Each returns
 * 1 (present, *out set), 0 (absent and optional, *out untouched) or -EINVAL
 * with `e` set to -32602 and a message naming the parameter.
 */

int ctl_param_string(json_t *params, const char *key, bool required,
                     const char **out, struct ctl_rpc_err *e);
int ctl_param_uint(json_t *params, const char *key, bool required,
                   uint64_t min, uint64_t max, uint64_t *out,
                   struct ctl_rpc_err *e);
int ctl_param_bool(json_t *params, const char *key, bool required,
                   bool *out, struct ctl_rpc_err *e);
int ctl_param_object(json_t *params, const char *key, bool required,
                     json_t **out, struct ctl_rpc_err *e);
int ctl_param_array(json_t *params, const char *key, bool required,
                    json_t **out, struct ctl_rpc_err *e);

/* Rejects any key of `params` not in the NULL-terminated `known` list.
 * Returns 0 or -EINVAL (-32602 "unknown parameter"). */
int ctl_params_check_known(json_t *params, const char *const *known,
                           struct ctl_rpc_err *e);

#endif /* CTL_JSONRPC_H */
