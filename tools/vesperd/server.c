/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * server.c — the control socket: a Unix stream socket (mode 0660), up to
 * MAX_CLIENTS clients, one JSON-RPC request per line (tools/ctl/ctl_jsonrpc.h
 * does the framing and the 1 MiB limit).  Sockets are non-blocking; each
 * client has an output buffer drained on EPOLLOUT, so a client that does not
 * read its answers stalls only itself.  A client whose output exceeds 64 MiB
 * unread is disconnected; what was written is dropped from the front of the
 * buffer before more is queued, and a drained buffer over OUT_KEEP is freed,
 * so a client that reads its answers is never cut off however much it asked
 * for over time, nor keeps memory for a backlog it once had.
 *
 * Turns: the control thread serves every VM and the timer too, so a client
 * gets one read (64 KiB) and at most LINES_PER_TURN requests per wakeup.
 * A client with requests left over ("backlog") is not read from (the
 * socket pushes back on it) and gets its next turn through kick_fd, an
 * eventfd in the same epoll set, after whatever else was ready.  New
 * connections are accepted ACCEPTS_PER_TURN per wakeup too: with every slot
 * taken each one costs a reap and a refusal, and clients that connect and
 * close without end must not keep the thread in the accept loop.  Out of
 * file descriptors, a waiting client is taken into the reserve descriptor,
 * told so and closed (vsa_accept.h), instead of staying queued on a
 * listening socket that would then wake the loop without end.
 *
 * The socket is bound under umask 0117, so it is never more open than 0660,
 * not even between bind() and a chmod() (a client connected then would keep
 * its connection).
 *
 * Connections are numbered (conn, from 1, never reused: an fd is) and the
 * number goes with each request to vd_rpc_handle; when a client hangs up
 * or is disconnected, vd_rpc_conn_closed ends what it owned (the captures
 * it started, rpc.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/vsa_accept.h"
#include "common/vsa_log.h"
#include "tools/vesperd/vesperd.h"

VSA_LOG_MODULE(vesperd_server);

#define MAX_CLIENTS 64
/* requests served per client per wakeup: a mutating one persists the
 * configuration (fsync), so a turn stays a few fsyncs long at most */
#define LINES_PER_TURN 8
#define ACCEPTS_PER_TURN 16
/* an output buffer larger than this is freed once drained */
#define OUT_KEEP (256u << 10)

struct client {
    int fd;
    uint64_t conn;    /* this connection's number (0: slot free) */
    struct ctl_linebuf in;
    char *out;
    size_t out_len, out_off, out_cap;
    bool closing;     /* close once the output is written */
    bool kill;        /* close now (output over VD_MAX_OUTPUT) */
    bool backlog;     /* requests may be left in `in`: serve before reading */
    bool overflow;    /* the line being read passed 1 MiB: answer, hang up */
};

static int listen_fd = -1;
static int kick_fd = -1; /* eventfd: clients with a backlog */
static struct client clients[MAX_CLIENTS];
static uint64_t next_conn = 1;

/* `hangup`: the client went (or was sent) away while vesperd runs, so what
 * it owned ends; not at shutdown, where vsw_destroy() ends everything. */
static void client_close(struct vd *d, struct client *c, bool hangup)
{
    if (hangup)
        vd_rpc_conn_closed(d, c->conn);
    epoll_ctl(d->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    ctl_linebuf_free(&c->in);
    free(c->out);
    memset(c, 0, sizeof(*c));
    c->fd = -1;
}

/* EPOLLIN only while we want input: not with a backlog (kick_fd brings
 * the next turn) nor while closing (the input would stay readable and wake
 * the loop for nothing); EPOLLOUT while output waits. */
static void update_events(struct vd *d, struct client *c)
{
    struct epoll_event ev = { .events = 0, .data.fd = c->fd };

    if (!c->backlog && !c->closing)
        ev.events |= EPOLLIN;
    if (c->out_len > c->out_off)
        ev.events |= EPOLLOUT;
    epoll_ctl(d->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

static void kick(void)
{
    uint64_t one = 1;

    (void)!write(kick_fd, &one, sizeof(one));
}

static bool flush_out(struct client *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR)
                return true;
            return false;
        }
        c->out_off += (size_t)n;
    }
    c->out_off = c->out_len = 0;
    if (c->out_cap > OUT_KEEP) {
        free(c->out);
        c->out = NULL;
        c->out_cap = 0;
    }
    return true;
}

static bool queue_json(struct client *c, json_t *resp)
{
    /* sorted keys: the same answer before and after a restart */
    char *s = json_dumps(resp, JSON_COMPACT | JSON_SORT_KEYS);
    size_t n = s ? strlen(s) : 0;

    if (n + 1 > VD_MAX_OUTPUT) {
        /* One answer larger than a client may have unread would cut the
         * client off unanswered, however fast it reads: it gets an error
         * naming the size instead (the methods bound their answers, e.g.
         * fdb.show's rows; this is the backstop). */
        json_t *err = ctl_rpc_error(json_object_get(resp, "id"),
                                    CTL_RPC_SYSTEM, "the answer is %zu "
                                    "bytes, more than the %u MiB one answer "
                                    "may have: ask for less", n,
                                    VD_MAX_OUTPUT >> 20);
        free(s);
        s = err ? json_dumps(err, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        n = s ? strlen(s) : 0;
        json_decref(err);
    }
    json_decref(resp);
    if (!s)
        return false;
    /* only what is unread counts */
    if (c->out_len - c->out_off + n + 1 > VD_MAX_OUTPUT) {
        free(s);
        return false;
    }
    /* Full: drop what was written from the front when it is at least as
     * much as what stays (each byte is moved a bounded number of times),
     * or when the buffer would grow past twice VD_MAX_OUTPUT; else grow,
     * to at most that.  So a client's buffer stays within twice the
     * unread limit (it could reach four times: written bytes just short
     * of the unread ones, kept, and the capacity doubled over both). */
    if (c->out_len + n + 1 > c->out_cap && c->out_off &&
        (c->out_off >= c->out_len - c->out_off ||
         c->out_len + n + 1 > 2 * (size_t)VD_MAX_OUTPUT)) {
        memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
        c->out_len -= c->out_off;
        c->out_off = 0;
    }
    if (c->out_len + n + 1 > c->out_cap) {
        size_t need = c->out_len + n + 1, cap = need * 2;
        char *nb;

        if (cap > 2 * (size_t)VD_MAX_OUTPUT)
            cap = need > 2 * (size_t)VD_MAX_OUTPUT ? need
                                                    : 2 * (size_t)VD_MAX_OUTPUT;
        nb = realloc(c->out, cap);
        if (!nb) {
            free(s);
            return false;
        }
        c->out = nb;
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, s, n);
    c->out[c->out_len + n] = '\n';
    c->out_len += n + 1;
    free(s);
    return true;
}

int vd_server_open(struct vd *d, struct vsa_errmsg *em)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    struct epoll_event ev = { .events = EPOLLIN };
    char dir[sizeof(sa.sun_path)];
    char *slash;
    mode_t old_mask;
    int bound;

    for (int i = 0; i < MAX_CLIENTS; i++)
        clients[i].fd = -1;
    if (strlen(d->socket_path) >= sizeof(sa.sun_path))
        return vsa_errmsg_set(em, -EINVAL, "socket path too long: %s",
                              d->socket_path);
    snprintf(dir, sizeof(dir), "%s", d->socket_path);
    slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        mkdir(dir, 0755);
    }
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", d->socket_path);
    listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (listen_fd < 0)
        return vsa_errmsg_set(em, -errno, "socket: %s", strerror(errno));
    unlink(d->socket_path);
    old_mask = umask(0117); /* the socket file is created 0660 */
    bound = bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa));
    umask(old_mask);
    if (bound < 0 || listen(listen_fd, 16) < 0) {
        int err = errno;
        close(listen_fd);
        listen_fd = -1;
        return vsa_errmsg_set(em, -err, "cannot listen on %s: %s",
                              d->socket_path, strerror(err));
    }
    ev.data.fd = listen_fd;
    if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, listen_fd, &ev) < 0) {
        int err = errno;
        close(listen_fd);
        listen_fd = -1;
        return vsa_errmsg_set(em, -err, "control socket: epoll_ctl: %s",
                              strerror(err));
    }
    kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    ev.data.fd = kick_fd;
    if (kick_fd < 0 || epoll_ctl(d->epfd, EPOLL_CTL_ADD, kick_fd, &ev) < 0) {
        int err = errno;
        if (kick_fd >= 0)
            close(kick_fd);
        kick_fd = -1;
        close(listen_fd);
        listen_fd = -1;
        return vsa_errmsg_set(em, -err, "control socket: eventfd: %s",
                              strerror(err));
    }
    return 0;
}

bool vd_server_owns(const struct vd *d, int fd)
{
    (void)d;
    if (fd == listen_fd || fd == kick_fd)
        return true;
    for (int i = 0; i < MAX_CLIENTS; i++)
        if (clients[i].fd == fd)
            return true;
    return false;
}

/* All MAX_CLIENTS slots are taken: tell the new client why (one line, id
 * null, before it even asked; vesperctl reads it after a failed send too),
 * then close.  The line is small enough for an empty socket buffer, and
 * the socket is non-blocking, so a client that is not reading cannot
 * stall us here. */
static void send_refusal(int fd, json_t *e)
{
    char *s = e ? json_dumps(e, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

    json_decref(e);
    if (s) {
        size_t n = strlen(s);
        s[n] = '\n'; /* json_dumps never emits a raw newline */
        (void)!send(fd, s, n + 1, MSG_NOSIGNAL | MSG_DONTWAIT);
        free(s);
    }
}

static void refuse_client(int fd)
{
    static struct vsa_ratelimit rl = VSA_RATELIMIT_INIT(5, 60);

    send_refusal(fd, ctl_rpc_error(NULL, CTL_RPC_SYSTEM,
                                   "too many control clients: all %d "
                                   "connections to vesperd are in use; close "
                                   "one (an idle script or watcher) and retry",
                                   MAX_CLIENTS));
    close(fd);
    VSA_LOG_RL(&rl, WARN, "too many control clients (%d); refused one",
               MAX_CLIENTS);
}

/* The client's fd could not be watched (epoll_ctl: out of memory, or the
 * user's max_user_watches reached): told so and closed. */
static void refuse_unwatched(int fd, int err)
{
    static struct vsa_ratelimit rl = VSA_RATELIMIT_INIT(5, 60);

    send_refusal(fd, ctl_rpc_error(NULL, CTL_RPC_SYSTEM,
                                   "vesperd cannot watch the connection: "
                                   "%s; see its log", strerror(err)));
    close(fd);
    VSA_LOG_RL(&rl, WARN, "a control client refused: epoll_ctl: %s "
               "(fs.epoll.max_user_watches?)", strerror(err));
}

/* vesperd is out of file descriptors: fd is the reserve's (vsa_accept.h).
 * The client is told so and closed, so that it is not left queued. */
static void shed_client(int fd)
{
    static struct vsa_ratelimit rl = VSA_RATELIMIT_INIT(5, 60);

    send_refusal(fd, ctl_rpc_error(NULL, CTL_RPC_SYSTEM,
                                   "vesperd is out of file descriptors: "
                                   "connection refused; see its log"));
    vsa_accept_shed_done(fd);
    VSA_LOG_RL(&rl, WARN, "out of file descriptors (RLIMIT_NOFILE or the "
               "system's limit): refused a control client; close captures "
               "or VMs, or raise the limit");
}

/* The first free slot, or NULL. */
static struct client *free_slot(void)
{
    for (int i = 0; i < MAX_CLIENTS; i++)
        if (clients[i].fd < 0)
            return &clients[i];
    return NULL;
}

/* Every slot is taken: closes the clients that have hung up and left
 * nothing to serve, whose hangup this loop has not handled yet (a client
 * that just closed must not cost the next one its connection). */
static void reap_hungup(struct vd *d)
{
    struct pollfd pfd[MAX_CLIENTS];

    for (int i = 0; i < MAX_CLIENTS; i++)
        pfd[i] = (struct pollfd){ .fd = clients[i].fd };
    if (poll(pfd, MAX_CLIENTS, 0) <= 0)
        return;
    for (int i = 0; i < MAX_CLIENTS; i++) {
        struct client *c = &clients[i];
        int unread = 0;

        if (c->fd >= 0 && (pfd[i].revents & POLLHUP) && !c->backlog &&
            ioctl(c->fd, FIONREAD, &unread) == 0 && unread == 0)
            client_close(d, c, true);
    }
}

/* At most ACCEPTS_PER_TURN; the listening socket stays readable (level
 * triggered) while more wait, so they come in the next turns. */
static void accept_clients(struct vd *d)
{
    for (int i = 0; i < ACCEPTS_PER_TURN; i++) {
        bool shed;
        int fd = vsa_accept(listen_fd, SOCK_NONBLOCK | SOCK_CLOEXEC, &shed);
        struct client *c;

        if (fd < 0)
            return;
        if (shed) {
            shed_client(fd);
            continue;
        }
        c = free_slot();
        if (!c) {
            reap_hungup(d);
            c = free_slot();
        }
        if (!c) {
            refuse_client(fd);
            continue;
        }
        struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };
        if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
            /* never served: told why and closed, not left in a slot */
            refuse_unwatched(fd, errno);
            continue;
        }
        memset(c, 0, sizeof(*c));
        c->fd = fd;
        c->conn = next_conn++;
        ctl_linebuf_init(&c->in);
    }
}

static void handle_line(struct vd *d, struct client *c, const char *line,
                        size_t len)
{
    struct ctl_rpc_req req;
    json_t *err = NULL, *resp;

    if (ctl_rpc_parse(line, len, &req, &err) < 0) {
        if (err && !queue_json(c, err))
            c->kill = true;
        return;
    }
    resp = vd_rpc_handle(d, &req, c->conn);
    ctl_rpc_req_release(&req);
    if (resp && !queue_json(c, resp))
        c->kill = true;
}

static void oversize(struct client *c)
{
    /* over 1 MiB without a newline: answer and hang up */
    if (!queue_json(c, ctl_rpc_error(NULL, CTL_RPC_INVALID_REQUEST,
                    "request exceeds %u bytes", (unsigned)CTL_RPC_MAX_LINE)))
        c->kill = true;
    c->closing = true;
}

/* Serves at most LINES_PER_TURN buffered requests; a backlog if the turn
 * ended with (possibly) more.  The requests before an oversized one are
 * answered first. */
static void serve_lines(struct vd *d, struct client *c)
{
    const char *line;
    size_t len;
    int lrc = 0;

    c->backlog = false;
    for (int i = 0; !c->kill && !c->closing; i++) {
        if (i == LINES_PER_TURN) {
            c->backlog = true;
            return;
        }
        lrc = ctl_linebuf_next(&c->in, &line, &len);
        if (lrc <= 0)
            break;
        handle_line(d, c, line, len);
    }
    if (!c->kill && !c->closing && (lrc == -EMSGSIZE || c->overflow))
        oversize(c);
}

/* One read of at most 64 KiB, then its requests. */
static void read_client(struct vd *d, struct client *c)
{
    char buf[65536];
    ssize_t n = read(c->fd, buf, sizeof(buf));
    int arc;

    if (n == 0) {
        /* End of input: a last request without its newline is told so,
         * not dropped without a word. */
        size_t part = ctl_linebuf_partial(&c->in);

        if (part && !queue_json(c, ctl_rpc_error(NULL,
                CTL_RPC_INVALID_REQUEST, "request not terminated by a "
                "newline: the last %zu bytes before the end of the input "
                "were not read as a request", part)))
            c->kill = true;
        c->closing = true;
        return;
    }
    if (n < 0) {
        if (errno != EAGAIN && errno != EINTR)
            c->closing = true;
        return;
    }
    arc = ctl_linebuf_append(&c->in, buf, (size_t)n);
    if (arc == -EMSGSIZE)
        c->overflow = true;
    else if (arc < 0)
        c->kill = true; /* out of memory */
    serve_lines(d, c);
}

/* After a turn: write what can be written, close, or watch again. */
static void after_turn(struct vd *d, struct client *c)
{
    if (c->kill || !flush_out(c) ||
        (c->closing && c->out_len == c->out_off)) {
        client_close(d, c, true);
        return;
    }
    if (c->backlog)
        kick();
    update_events(d, c);
}

/* kick_fd: one more turn for each client with a backlog. */
static void serve_backlogs(struct vd *d)
{
    uint64_t junk;

    (void)!read(kick_fd, &junk, sizeof(junk));
    for (int i = 0; i < MAX_CLIENTS; i++) {
        struct client *c = &clients[i];

        if (c->fd < 0 || !c->backlog)
            continue;
        serve_lines(d, c);
        after_turn(d, c);
    }
}

void vd_server_event(struct vd *d, int fd, uint32_t events)
{
    struct client *c = NULL;

    if (fd == listen_fd) {
        accept_clients(d);
        return;
    }
    if (fd == kick_fd) {
        serve_backlogs(d);
        return;
    }
    for (int i = 0; i < MAX_CLIENTS; i++)
        if (clients[i].fd == fd)
            c = &clients[i];
    if (!c)
        return;
    if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !c->closing &&
        !c->backlog)
        read_client(d, c);
    after_turn(d, c);
}

void vd_server_close(struct vd *d)
{
    for (int i = 0; i < MAX_CLIENTS; i++)
        if (clients[i].fd >= 0)
            client_close(d, &clients[i], false);
    if (listen_fd >= 0) {
        close(listen_fd);
        unlink(d->socket_path);
        listen_fd = -1;
    }
    if (kick_fd >= 0) {
        close(kick_fd);
        kick_fd = -1;
    }
}
