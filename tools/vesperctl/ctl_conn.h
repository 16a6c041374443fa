/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ctl_conn.h — vesperctl's side of the control socket (docs/rpc.md).
 *
 * One connection to vesperd's Unix socket; requests are sent one at a time
 * as one JSON-RPC 2.0 object per line, each answered by one line.  Request
 * ids count up from 1 and every response must carry the id just sent.
 *
 * Every wait (connect, send, receive) is bounded by the connection's
 * timeout, measured per request.  A response line may be up to
 * CTL_CONN_MAX_LINE bytes (a full FDB dump is large: 1M entries are ~100 MB).
 * SIGPIPE is never raised (MSG_NOSIGNAL); EINTR is retried, so a caller
 * that catches SIGINT sees its flag after the call returns.
 *
 * Thread-safety: a connection belongs to one thread.
 */
#ifndef CTL_CONN_H
#define CTL_CONN_H

#include <stdint.h>

#include <jansson.h>

#include "common/vsa_errmsg.h"

#define CTL_CONN_MAX_LINE (512u << 20)

struct ctl_conn;

/* Connects to the socket at path.  Returns 0, or -errno from socket(2) /
 * connect(2) (-ENAMETOOLONG for a path that does not fit sun_path,
 * -ETIMEDOUT if the daemon's backlog stayed full), or -ENOMEM. */
int ctl_conn_open(const char *path, uint32_t timeout_ms,
                  struct ctl_conn **out);

/* Closes and frees; NULL is accepted. */
void ctl_conn_close(struct ctl_conn *c);

/*
 * Sends {"jsonrpc":"2.0","id":N,"method":method,"params":params} and waits
 * for its response.  params is borrowed (NULL sends {}).
 * Returns:
 *   0            *result is the "result" member (new reference);
 *   -EREMOTEIO   vesperd answered with an error; em holds its message;
 *   -ETIMEDOUT   no complete answer within the timeout;
 *   -ECONNRESET  vesperd closed the connection (or it broke);
 *   -EBADMSG     the answer is not a JSON-RPC response to this request;
 *   -EMSGSIZE    the answer line exceeds CTL_CONN_MAX_LINE;
 *   -ENOMEM.
 * em always describes a failure.  After any failure but -EREMOTEIO the
 * connection must be closed.
 */
int ctl_conn_call(struct ctl_conn *c, const char *method, json_t *params,
                  json_t **result, struct vsa_errmsg *em);

#endif /* CTL_CONN_H */
