/* SPDX-License-Identifier: BSD-3-Clause */
#include "tools/vesperctl/ctl_conn.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/vsa_time.h"

struct ctl_conn {
    int fd;
    uint32_t timeout_ms;
    json_int_t next_id;
    char *buf;   /* received bytes not yet consumed */
    size_t len;  /* bytes in buf */
    size_t size; /* allocated bytes of buf */
};

int ctl_conn_open(const char *path, uint32_t timeout_ms,
                  struct ctl_conn **out)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct timeval tv = {
        .tv_sec = timeout_ms / 1000,
        .tv_usec = (suseconds_t)(timeout_ms % 1000) * 1000,
    };
    struct ctl_conn *c;
    int fd, rc;

    *out = NULL;
    if (strlen(path) >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        rc = -errno;
        goto out_free;
    }
    /* A blocking AF_UNIX connect waits for backlog room up to SO_SNDTIMEO. */
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    while (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        if (errno == EINTR)
            continue;
        rc = errno == EAGAIN ? -ETIMEDOUT : -errno;
        goto out_close;
    }
    if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
        rc = -errno;
        goto out_close;
    }
    c->fd = fd;
    c->timeout_ms = timeout_ms;
    c->next_id = 1;
    *out = c;
    return 0;

out_close:
    close(fd);
out_free:
    free(c);
    return rc;
}

void ctl_conn_close(struct ctl_conn *c)
{
    if (!c)
        return;
    close(c->fd);
    free(c->buf);
    free(c);
}

/* Waits for `events` on the socket until deadline_ms.  0, or -ETIMEDOUT. */
static int wait_fd(const struct ctl_conn *c, short events,
                   uint64_t deadline_ms)
{
    for (;;) {
        uint64_t now = vsa_time_now_ms();
        struct pollfd pfd = {.fd = c->fd, .events = events};
        uint64_t left;
        int n;

        if (now >= deadline_ms)
            return -ETIMEDOUT;
        left = deadline_ms - now;
        n = poll(&pfd, 1, (int)(left > 1000000 ? 1000000 : left));
        if (n > 0)
            return 0;
        if (n < 0 && errno != EINTR)
            return -errno;
    }
}

static int send_all(struct ctl_conn *c, const char *data, size_t size,
                    uint64_t deadline_ms)
{
    while (size > 0) {
        ssize_t n = send(c->fd, data, size, MSG_NOSIGNAL);
        if (n > 0) {
            data += n;
            size -= (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int rc = wait_fd(c, POLLOUT, deadline_ms);
            if (rc < 0)
                return rc;
            continue;
        }
        return -ECONNRESET;
    }
    return 0;
}

/* Reads until buf holds a '\n'; returns its length (without the '\n'). */
static int recv_line(struct ctl_conn *c, uint64_t deadline_ms,
                     size_t *line_len)
{
    size_t scanned = 0;

    for (;;) {
        char *nl = c->len > scanned ? memchr(c->buf + scanned, '\n',
                                             c->len - scanned)
                                    : NULL;
        ssize_t n;

        if (nl) {
            *line_len = (size_t)(nl - c->buf);
            return 0;
        }
        scanned = c->len;
        if (c->len >= CTL_CONN_MAX_LINE)
            return -EMSGSIZE;
        if (c->size - c->len < 4096) {
            size_t size = c->size ? c->size * 2 : 65536;
            char *grown;

            if (size > CTL_CONN_MAX_LINE + 1)
                size = CTL_CONN_MAX_LINE + 1;
            grown = realloc(c->buf, size);
            if (!grown)
                return -ENOMEM;
            c->buf = grown;
            c->size = size;
        }
        n = recv(c->fd, c->buf + c->len, c->size - c->len, 0);
        if (n > 0) {
            c->len += (size_t)n;
            continue;
        }
        if (n == 0)
            return -ECONNRESET;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            int rc = wait_fd(c, POLLIN, deadline_ms);
            if (rc < 0)
                return rc;
            continue;
        }
        return -ECONNRESET;
    }
}

/* Checks one response line against request `id`. */
static int decode(const char *line, size_t size, json_int_t id,
                  json_t **result, struct vsa_errmsg *em)
{
    json_error_t jerr;
    json_t *resp = json_loadb(line, size, 0, &jerr);
    json_t *rid, *err, *res;
    int rc;

    if (!resp)
        return vsa_errmsg_set(em, -EBADMSG,
                              "invalid response from vesperd: %s (column %d)",
                              jerr.text, jerr.column);
    rid = json_object_get(resp, "id");
    err = json_object_get(resp, "error");
    res = json_object_get(resp, "result");
    if (!json_is_object(resp) ||
        !json_is_string(json_object_get(resp, "jsonrpc")) ||
        strcmp(json_string_value(json_object_get(resp, "jsonrpc")), "2.0")) {
        rc = vsa_errmsg_set(em, -EBADMSG, "invalid response from vesperd: "
                            "not a JSON-RPC 2.0 object");
    } else if (err && json_is_object(err)) {
        /* An error may carry id null (e.g. the request could not be read). */
        const char *msg = json_string_value(json_object_get(err, "message"));
        json_t *code = json_object_get(err, "code");

        if (msg && *msg)
            rc = vsa_errmsg_set(em, -EREMOTEIO, "%s", msg);
        else
            rc = vsa_errmsg_set(em, -EREMOTEIO,
                                "vesperd error %" JSON_INTEGER_FORMAT,
                                json_integer_value(code));
    } else if (!json_is_integer(rid) || json_integer_value(rid) != id) {
        rc = vsa_errmsg_set(em, -EBADMSG, "invalid response from vesperd: "
                            "id does not match the request");
    } else if (!res) {
        rc = vsa_errmsg_set(em, -EBADMSG, "invalid response from vesperd: "
                            "no result and no error");
    } else {
        *result = json_incref(res);
        rc = 0;
    }
    json_decref(resp);
    return rc;
}

int ctl_conn_call(struct ctl_conn *c, const char *method, json_t *params,
                  json_t **result, struct vsa_errmsg *em)
{
    uint64_t deadline = vsa_time_now_ms() + c->timeout_ms;
    json_int_t id = c->next_id++;
    json_t *req;
    char *text;
    size_t line_len, text_len;
    int rc;

    *result = NULL;
    if (params)
        req = json_pack("{s:s, s:I, s:s, s:O}", "jsonrpc", "2.0", "id", id,
                        "method", method, "params", params);
    else
        req = json_pack("{s:s, s:I, s:s, s:{}}", "jsonrpc", "2.0", "id", id,
                        "method", method, "params");
    if (!req)
        return vsa_errmsg_set(em, -ENOMEM, "out of memory");
    text = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    if (!text)
        return vsa_errmsg_set(em, -ENOMEM, "out of memory");
    text_len = strlen(text);
    text[text_len] = '\n'; /* json_dumps never emits a raw newline */
    rc = send_all(c, text, text_len + 1, deadline);
    free(text);
    /* A send that failed because vesperd hung up may still have its reason
     * waiting to be read (it refuses a client over its limit that way). */
    if (rc < 0 && rc != -ECONNRESET)
        goto fail;
    rc = recv_line(c, deadline, &line_len);
    if (rc < 0)
        goto fail;
    rc = decode(c->buf, line_len, id, result, em);
    memmove(c->buf, c->buf + line_len + 1, c->len - line_len - 1);
    c->len -= line_len + 1;
    return rc;

fail:
    if (rc == -ETIMEDOUT)
        return vsa_errmsg_set(em, rc, "no answer from vesperd within %u.%03u s",
                              c->timeout_ms / 1000, c->timeout_ms % 1000);
    if (rc == -EMSGSIZE)
        return vsa_errmsg_set(em, rc, "answer from vesperd is longer than "
                              "%u bytes", CTL_CONN_MAX_LINE);
    if (rc == -ENOMEM)
        return vsa_errmsg_set(em, rc, "out of memory");
    return vsa_errmsg_set(em, -ECONNRESET,
                          "vesperd closed the connection");
}
