/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fake_server.h — a stand-in for vesperd's control socket, for vesperctl's
 * unit tests only.  A thread listens on a Unix socket in a fresh temporary
 * directory, records every request line it reads and answers each one:
 * with a canned reply for its method, from a handler, or by default with
 * {"result":{"ok":true}}.  Replies carry the request's id.
 *
 * Thread-safety: the recorded requests and the reply settings are guarded
 * by a mutex; settings may change between vesperctl runs.
 */
#ifndef VESPERCTL_FAKE_SERVER_H
#define VESPERCTL_FAKE_SERVER_H

#include <stddef.h>

#include <jansson.h>

struct fake_srv;

enum fake_srv_mode {
    FAKE_SRV_ANSWER, /* canned reply, handler, or {"ok":true} */
    FAKE_SRV_RAW,    /* send the raw line set by fake_srv_set_raw() */
    FAKE_SRV_CLOSE,  /* close the connection without answering */
    FAKE_SRV_SILENT, /* read and never answer */
};

/* Returns the reply for request number n_call (0-based, over the server's
 * life since the last reset): an object holding "result" or "error"
 * (ownership passes to the server), NULL for the default, or json_null()
 * to close the connection without answering (vesperd going away). */
typedef json_t *fake_srv_handler_fn(const char *method, json_t *params,
                                    unsigned n_call, void *arg);

struct fake_srv *fake_srv_start(void);
void fake_srv_stop(struct fake_srv *s);
const char *fake_srv_path(const struct fake_srv *s);

/* Forgets recorded requests, canned replies, the handler and the mode. */
void fake_srv_reset(struct fake_srv *s);
void fake_srv_set_mode(struct fake_srv *s, enum fake_srv_mode mode);
void fake_srv_set_raw(struct fake_srv *s, const char *line);
/* reply_json: '{"result": ...}' or '{"error": {...}}' for method. */
void fake_srv_set_reply(struct fake_srv *s, const char *method,
                        const char *reply_json);
void fake_srv_set_handler(struct fake_srv *s, fake_srv_handler_fn *fn,
                          void *arg);

/* Number of request lines read, and a copy of request i (decoded; a line
 * that is not JSON is recorded as a JSON string). */
size_t fake_srv_n_requests(struct fake_srv *s);
json_t *fake_srv_request(struct fake_srv *s, size_t i);

#endif /* VESPERCTL_FAKE_SERVER_H */
