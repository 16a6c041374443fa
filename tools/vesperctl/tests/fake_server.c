/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fake_server.c — see fake_server.h.  Tests only: vesperctl itself never
 * links this.
 */
#include "fake_server.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

struct fake_srv {
    char dir[64];
    char path[108];
    int listen_fd;
    int stop_pipe[2];
    pthread_t thread;
    pthread_mutex_t lock;
    /* Guarded by lock: */
    json_t *requests; /* array */
    json_t *replies;  /* method -> reply object */
    enum fake_srv_mode mode;
    char *raw;
    fake_srv_handler_fn *handler;
    void *handler_arg;
};

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Answers one line; returns -1 to drop the connection. */
static int answer(struct fake_srv *s, int fd, const char *line, size_t n)
{
    json_t *req = json_loadb(line, n, 0, NULL);
    json_t *reply = NULL;
    enum fake_srv_mode mode;
    char *raw = NULL, *text;
    int rc;

    pthread_mutex_lock(&s->lock);
    unsigned n_call = (unsigned)json_array_size(s->requests);
    /* A private copy: the recorded tree is never shared with this thread
     * (jansson reference counts are not a synchronisation point). */
    json_array_append_new(s->requests,
                          req ? json_deep_copy(req) : json_stringn(line, n));
    mode = s->mode;
    if (s->raw)
        raw = strdup(s->raw);
    if (mode == FAKE_SRV_ANSWER) {
        const char *method =
            json_string_value(json_object_get(req, "method"));
        if (s->handler)
            reply = s->handler(method, json_object_get(req, "params"), n_call,
                               s->handler_arg);
        if (reply && json_is_null(reply)) { /* the handler hangs up */
            json_decref(reply);
            reply = NULL;
            mode = FAKE_SRV_CLOSE;
        } else if (!reply && method) {
            reply = json_deep_copy(json_object_get(s->replies, method));
        }
        if (!reply && mode == FAKE_SRV_ANSWER)
            reply = json_pack("{s:{s:b}}", "result", "ok", 1);
    }
    pthread_mutex_unlock(&s->lock);

    switch (mode) {
    case FAKE_SRV_CLOSE:
        rc = -1;
        break;
    case FAKE_SRV_SILENT:
        rc = 0;
        break;
    case FAKE_SRV_RAW:
        rc = write_all(fd, raw ? raw : "", raw ? strlen(raw) : 0);
        if (rc == 0)
            rc = write_all(fd, "\n", 1);
        break;
    default:
        json_object_set_new(reply, "jsonrpc", json_string("2.0"));
        json_object_set(reply, "id",
                        json_object_get(req, "id") ? json_object_get(req, "id")
                                                   : json_null());
        text = json_dumps(reply, JSON_COMPACT);
        rc = text ? write_all(fd, text, strlen(text)) : -1;
        if (rc == 0)
            rc = write_all(fd, "\n", 1);
        free(text);
        break;
    }
    json_decref(reply);
    json_decref(req);
    free(raw);
    return rc;
}

static void serve(struct fake_srv *s, int fd)
{
    char *buf = NULL;
    size_t len = 0, size = 0;

    for (;;) {
        struct pollfd p[2] = {{.fd = fd, .events = POLLIN},
                              {.fd = s->stop_pipe[0], .events = POLLIN}};
        ssize_t n;
        char *nl;

        if (poll(p, 2, -1) < 0 && errno != EINTR)
            break;
        if (p[1].revents)
            break;
        if (!p[0].revents)
            continue;
        if (size - len < 4096) {
            size = size ? size * 2 : 8192;
            buf = realloc(buf, size);
            if (!buf)
                break;
        }
        n = recv(fd, buf + len, size - len, 0);
        if (n <= 0)
            break;
        len += (size_t)n;
        while ((nl = memchr(buf, '\n', len)) != NULL) {
            size_t line = (size_t)(nl - buf);
            if (answer(s, fd, buf, line) < 0)
                goto out;
            memmove(buf, nl + 1, len - line - 1);
            len -= line + 1;
        }
    }
out:
    free(buf);
    close(fd);
}

static void *server_thread(void *arg)
{
    struct fake_srv *s = arg;

    for (;;) {
        struct pollfd p[2] = {{.fd = s->listen_fd, .events = POLLIN},
                              {.fd = s->stop_pipe[0], .events = POLLIN}};
        int fd;

        if (poll(p, 2, -1) < 0 && errno != EINTR)
            break;
        if (p[1].revents)
            break;
        if (!p[0].revents)
            continue;
        fd = accept(s->listen_fd, NULL, NULL);
        if (fd >= 0)
            serve(s, fd);
    }
    return NULL;
}

struct fake_srv *fake_srv_start(void)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct fake_srv *s = calloc(1, sizeof(*s));

    if (!s)
        return NULL;
    snprintf(s->dir, sizeof(s->dir), "/tmp/vesperctl-test.XXXXXX");
    if (!mkdtemp(s->dir))
        goto fail;
    snprintf(s->path, sizeof(s->path), "%s/vesperd.sock", s->dir);
    memcpy(sa.sun_path, s->path, strlen(s->path) + 1);
    s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s->listen_fd < 0 ||
        bind(s->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        listen(s->listen_fd, 8) < 0 || pipe(s->stop_pipe) < 0)
        goto fail;
    pthread_mutex_init(&s->lock, NULL);
    s->requests = json_array();
    s->replies = json_object();
    if (pthread_create(&s->thread, NULL, server_thread, s) != 0)
        goto fail;
    return s;
fail:
    perror("fake_srv_start");
    abort();
}

void fake_srv_stop(struct fake_srv *s)
{
    if (!s)
        return;
    if (write(s->stop_pipe[1], "x", 1) != 1)
        abort();
    pthread_join(s->thread, NULL);
    close(s->listen_fd);
    close(s->stop_pipe[0]);
    close(s->stop_pipe[1]);
    unlink(s->path);
    rmdir(s->dir);
    json_decref(s->requests);
    json_decref(s->replies);
    free(s->raw);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

const char *fake_srv_path(const struct fake_srv *s)
{
    return s->path;
}

void fake_srv_reset(struct fake_srv *s)
{
    pthread_mutex_lock(&s->lock);
    json_array_clear(s->requests);
    json_object_clear(s->replies);
    s->mode = FAKE_SRV_ANSWER;
    free(s->raw);
    s->raw = NULL;
    s->handler = NULL;
    s->handler_arg = NULL;
    pthread_mutex_unlock(&s->lock);
}

void fake_srv_set_mode(struct fake_srv *s, enum fake_srv_mode mode)
{
    pthread_mutex_lock(&s->lock);
    s->mode = mode;
    pthread_mutex_unlock(&s->lock);
}

void fake_srv_set_raw(struct fake_srv *s, const char *line)
{
    pthread_mutex_lock(&s->lock);
    free(s->raw);
    s->raw = strdup(line);
    s->mode = FAKE_SRV_RAW;
    pthread_mutex_unlock(&s->lock);
}

void fake_srv_set_reply(struct fake_srv *s, const char *method,
                        const char *reply_json)
{
    json_error_t e;
    json_t *r = json_loads(reply_json, 0, &e);

    if (!r) {
        fprintf(stderr, "bad canned reply for %s: %s\n", method, e.text);
        abort();
    }
    pthread_mutex_lock(&s->lock);
    json_object_set_new(s->replies, method, r);
    pthread_mutex_unlock(&s->lock);
}

void fake_srv_set_handler(struct fake_srv *s, fake_srv_handler_fn *fn,
                          void *arg)
{
    pthread_mutex_lock(&s->lock);
    s->handler = fn;
    s->handler_arg = arg;
    pthread_mutex_unlock(&s->lock);
}

size_t fake_srv_n_requests(struct fake_srv *s)
{
    size_t n;

    pthread_mutex_lock(&s->lock);
    n = json_array_size(s->requests);
    pthread_mutex_unlock(&s->lock);
    return n;
}

json_t *fake_srv_request(struct fake_srv *s, size_t i)
{
    json_t *r;

    pthread_mutex_lock(&s->lock);
    r = json_deep_copy(json_array_get(s->requests, i));
    pthread_mutex_unlock(&s->lock);
    return r;
}
