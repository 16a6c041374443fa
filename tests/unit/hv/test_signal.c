/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_signal.c — objective: signalling the guest never blocks or kills
 * the thread that services a channel, whatever the guest did to the fd it
 * shares with the host; every signal that does not go out is counted.
 *
 * The bug: hv_chan_notify_guest wrote 1 to a guest-supplied eventfd.  The
 * guest shares that file, so it could clear O_NONBLOCK and pre-load the
 * counter to its maximum (0xfffffffffffffffe).  The next write() then
 * sleeps until the guest reads, which a hostile guest never does, and the
 * control thread stalls with every VM on it.  pwritev2(RWF_NOWAIT) does not
 * help: eventfds refuse it with EOPNOTSUPP.  The fix makes host→guest
 * signals one end of an AF_UNIX SOCK_SEQPACKET socketpair, sent with
 * MSG_DONTWAIT | MSG_NOSIGNAL.  The transport refuses any other fd for
 * that direction.
 *  * an eventfd pre-loaded to the max with O_NONBLOCK cleared, put on a
 *    channel directly (past the transport's check): notify returns at
 *    once (-ENOTSOCK) and counts signals_dropped, 1,000 times.  With the
 *    old eventfd write this test blocks and the SIGALRM watchdog fails it;
 *  * a guest that keeps the host's end too, clears O_NONBLOCK on it,
 *    shrinks its buffer and never reads: 100,000 notifies return, and
 *    sent + dropped = 100,000; what was sent arrives as 8-byte messages
 *    of value 1, and signalling works again once the guest has read;
 *  * a guest that closed its end: -ECONNRESET/-EPIPE, counted, and no
 *    SIGPIPE (it is left at its default action, which would kill us);
 *  * hv_chan_signal_fd_check over a table of fd kinds;
 *  * hv_chan_in_signal_fd_check: only an eventfd for dir 0;
 *  * end to end over the partition socket: SIGNAL_SETUP dir 0 with a
 *    pipe is a bad frame; dir 1 with an
 *    eventfd, a datagram socketpair or an unconnected socket is a bad
 *    frame and the open is refused; with a proper
 *    socketpair the open succeeds, the guest receives the host's signal,
 *    and a guest that blocks and fills the queue cannot stall the host.
 * A SIGALRM watchdog turns any blocking call into a test failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/vsa_log.h"
#include "hv/hv_part.h"
#include "hv/hv_part_wire.h"
#include "hv/hv_wire.h"

#define GPA 0x10000000ull
#define TMO 5000
#define EFD_MAX 0xfffffffffffffffeull

/* ---- watchdog ----------------------------------------------------------- */

static void on_alarm(int sig)
{
    static const char msg[] = "test_signal: the host blocked on a guest "
                              "signal fd\n";
    (void)sig;
    (void)!write(2, msg, sizeof(msg) - 1);
    _exit(1);
}

static void watchdog(unsigned s)
{
    signal(SIGALRM, on_alarm);
    alarm(s);
}

/* ---- a channel without a transport ----------------------------------------- */

static int no_send(void *ctx, const void *msg, size_t size)
{
    (void)ctx, (void)msg, (void)size;
    return 0;
}

static const struct hv_vmbus_host_ops bare_ops = { .send = no_send };

static struct hv_chan *bare_chan(struct hv_vmbus_host **h)
{
    struct hv_vmbus_offer_cfg cfg = { .if_type = hv_guid_netvsc };
    uint32_t relid;

    assert_int_equal(hv_vmbus_host_create(&bare_ops, NULL, h), 0);
    assert_int_equal(hv_vmbus_host_add_offer(*h, &cfg, &relid), 0);
    return hv_vmbus_host_chan(*h, relid);
}

static void set_blocking(int fd)
{
    int fl = fcntl(fd, F_GETFL);

    assert_true(fl >= 0);
    assert_int_equal(fcntl(fd, F_SETFL, fl & ~O_NONBLOCK), 0);
}

/* The old hazard: an eventfd at its maximum, blocking.  Never written. */
static void test_eventfd_preloaded(void **state)
{
    struct hv_vmbus_host *h;
    struct hv_chan *ch = bare_chan(&h);
    uint64_t v = EFD_MAX;
    int efd = eventfd(0, EFD_CLOEXEC);
    (void)state;

    assert_true(efd >= 0);
    assert_int_equal(write(efd, &v, 8), 8); /* the guest pre-loads */
    set_blocking(efd);
    assert_int_equal(hv_chan_signal_fd_check(efd), -ENOTSOCK);
    hv_chan_set_signal_fds(ch, -1, efd);
    watchdog(5);
    for (unsigned i = 0; i < 1000; i++)
        assert_int_equal(hv_chan_notify_guest(ch), -ENOTSOCK);
    alarm(0);
    assert_int_equal(hv_chan_stats(ch)->signals_dropped, 1000);
    assert_int_equal(hv_chan_stats(ch)->signals_sent, 0);
    /* untouched: still at the maximum */
    assert_int_equal(fcntl(efd, F_SETFL, O_NONBLOCK), 0);
    assert_int_equal(read(efd, &v, 8), 8);
    assert_true(v == EFD_MAX);
    hv_chan_set_signal_fds(ch, -1, -1);
    close(efd);
    hv_vmbus_host_destroy(h);
}

/* A guest that keeps a copy of the host's end, makes it blocking, shrinks
 * its buffer and never reads. */
static void test_full_queue(void **state)
{
    struct hv_vmbus_host *h;
    struct hv_chan *ch = bare_chan(&h);
    const struct hv_stats *st = hv_chan_stats(ch);
    int sv[2], one = 1;
    unsigned got = 0;
    uint64_t v;
    (void)state;

    assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
    assert_int_equal(hv_chan_signal_fd_check(sv[1]), 0);
    set_blocking(sv[1]);
    assert_int_equal(setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &one,
                                sizeof(one)), 0);
    hv_chan_set_signal_fds(ch, -1, sv[1]);
    watchdog(5);
    for (unsigned i = 0; i < 100000; i++)
        assert_int_equal(hv_chan_notify_guest(ch), 0);
    alarm(0);
    assert_int_equal(st->signals_sent + st->signals_dropped, 100000);
    assert_true(st->signals_dropped > 0);
    assert_true(st->signals_sent > 0);
    /* the guest reads what was sent: 8-byte messages of value 1 */
    while (recv(sv[0], &v, sizeof(v), MSG_DONTWAIT) == (ssize_t)sizeof(v)) {
        assert_true(v == 1);
        got++;
    }
    assert_int_equal(got, st->signals_sent);
    /* room again: signals go out */
    assert_int_equal(hv_chan_notify_guest(ch), 0);
    assert_int_equal(st->signals_sent, got + 1);
    assert_int_equal(recv(sv[0], &v, sizeof(v), MSG_DONTWAIT), 8);
    hv_chan_set_signal_fds(ch, -1, -1);
    close(sv[0]);
    close(sv[1]);
    hv_vmbus_host_destroy(h);
}

static void test_peer_closed(void **state)
{
    struct hv_vmbus_host *h;
    struct hv_chan *ch = bare_chan(&h);
    int sv[2], rc;
    (void)state;

    signal(SIGPIPE, SIG_DFL); /* a SIGPIPE would end the test run */
    assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
    hv_chan_set_signal_fds(ch, -1, sv[1]);
    assert_int_equal(hv_chan_notify_guest(ch), 0);
    close(sv[0]);
    for (unsigned i = 0; i < 10; i++) {
        rc = hv_chan_notify_guest(ch);
        assert_true(rc == -ECONNRESET || rc == -EPIPE);
    }
    assert_int_equal(hv_chan_stats(ch)->signals_sent, 1);
    assert_int_equal(hv_chan_stats(ch)->signals_dropped, 10);
    hv_chan_set_signal_fds(ch, -1, -1);
    assert_int_equal(hv_chan_notify_guest(ch), -ENOTCONN);
    close(sv[1]);
    hv_vmbus_host_destroy(h);
}

/* ---- hv_chan_in_signal_fd_check -------------------------------------------- */

/* Only an eventfd may be a channel's guest→host signal fd: a pipe or a
 * socket full of data would keep the control thread's epoll readable with
 * nothing hv_chan_ack_signal (preadv2 RWF_NOWAIT) can drain; other anon
 * inodes (timerfd) and files are refused too. */
static void test_in_fd_check(void **state)
{
    int p[2], sv[2], fd;
    (void)state;

    assert_int_equal(hv_chan_in_signal_fd_check(-1), -EBADF);
    fd = eventfd(0, EFD_NONBLOCK);
    assert_int_equal(hv_chan_in_signal_fd_check(fd), 0);
    close(fd);
    fd = eventfd(5, 0); /* blocking, pre-loaded: still an eventfd */
    assert_int_equal(hv_chan_in_signal_fd_check(fd), 0);
    close(fd);
    assert_int_equal(pipe(p), 0);
    assert_int_equal(hv_chan_in_signal_fd_check(p[0]), -EINVAL);
    assert_int_equal(hv_chan_in_signal_fd_check(p[1]), -EINVAL);
    close(p[0]);
    close(p[1]);
    assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
    assert_int_equal(hv_chan_in_signal_fd_check(sv[0]), -EINVAL);
    close(sv[0]);
    close(sv[1]);
    fd = open("/proc/self/status", O_RDONLY);
    assert_int_equal(hv_chan_in_signal_fd_check(fd), -EINVAL);
    close(fd);
    fd = timerfd_create(CLOCK_MONOTONIC, 0);
    assert_true(fd >= 0);
    assert_int_equal(hv_chan_in_signal_fd_check(fd), -EINVAL);
    close(fd);
}

/* ---- hv_chan_signal_fd_check ---------------------------------------------- */

static void test_fd_check(void **state)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    char dir[] = "/tmp/hv-signal-XXXXXX";
    int p[2], sv[2], lfd, cfd, afd, fd;
    (void)state;

    assert_int_equal(hv_chan_signal_fd_check(-1), -ENOTSOCK);
    fd = eventfd(0, 0);
    assert_int_equal(hv_chan_signal_fd_check(fd), -ENOTSOCK);
    close(fd);
    assert_int_equal(pipe(p), 0);
    assert_int_equal(hv_chan_signal_fd_check(p[1]), -ENOTSOCK);
    close(p[0]);
    close(p[1]);
    fd = open("/proc/self/status", O_RDONLY);
    assert_int_equal(hv_chan_signal_fd_check(fd), -ENOTSOCK);
    close(fd);
    /* a datagram pair could be re-connected to any socket later */
    assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
    assert_int_equal(hv_chan_signal_fd_check(sv[1]), -EPROTOTYPE);
    close(sv[0]);
    close(sv[1]);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(hv_chan_signal_fd_check(sv[1]), -EPROTOTYPE);
    close(sv[0]);
    close(sv[1]);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(hv_chan_signal_fd_check(fd), -EPROTOTYPE);
    close(fd);
    fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    assert_int_equal(hv_chan_signal_fd_check(fd), -ENOTCONN);
    close(fd);
    /* connected to a named listener (a partition socket, say) */
    assert_non_null(mkdtemp(dir));
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/l.sock", dir);
    lfd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(lfd, 1), 0);
    cfd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    assert_int_equal(connect(cfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    afd = accept(lfd, NULL, NULL);
    assert_true(afd >= 0);
    assert_int_equal(hv_chan_signal_fd_check(cfd), -EPERM);
    assert_int_equal(hv_chan_signal_fd_check(lfd), -ENOTCONN);
    close(afd);
    close(cfd);
    close(lfd);
    unlink(sa.sun_path);
    rmdir(dir);
    /* the one accepted shape */
    assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
    assert_int_equal(hv_chan_signal_fd_check(sv[0]), 0);
    assert_int_equal(hv_chan_signal_fd_check(sv[1]), 0);
    close(sv[0]);
    close(sv[1]);
}

/* ---- end to end over the partition socket ---------------------------------- */

static char dir[64], sock_path[128];

struct host_side {
    _Atomic(struct hv_chan *) open_ch;
};

static int h_open(void *ctx, struct hv_chan *ch)
{
    struct host_side *hs = ctx;
    atomic_store(&hs->open_ch, ch);
    return 0;
}

static void h_close(void *ctx, struct hv_chan *ch)
{
    struct host_side *hs = ctx;
    (void)ch;
    atomic_store(&hs->open_ch, NULL);
}

static const struct hv_part_host_ops hops = { .chan_open = h_open,
                                              .chan_close = h_close };

struct script {
    atomic_int phase;
    atomic_bool done, release;
    int rc;
    const char *where;
    int bad_open_rc[3];
};

static int fail_at(struct script *s, int rc, const char *where)
{
    s->where = where;
    return rc ? rc : -1;
}

/* SIGNAL_SETUP for `relid` with `fd` (not closed). */
static int sig_setup(struct hv_part_guest *pg, uint32_t relid, uint32_t dir_,
                     int fd)
{
    uint8_t b[8];

    hv__put32(b, relid);
    hv__put32(b + 4, dir_);
    return hv__part_send(hv_part_guest_fd(pg), HV_PART_SIGNAL_SETUP, b, 8,
                         fd);
}

static int open_status(struct hv_part_guest *pg, uint32_t relid)
{
    struct hv_vmbus_guest *g = hv_part_guest_vmbus(pg);
    int st;

    for (int i = 0; i < 500; i++) {
        st = hv_vmbus_guest_open_status(g, relid);
        if (st != -EINPROGRESS)
            return st;
        int rc = hv_part_guest_poll(pg, 10);
        if (rc && rc != -ETIMEDOUT)
            return rc;
    }
    return -ETIMEDOUT;
}

static void *guest_main(void *arg)
{
    struct script *s = arg;
    struct hv_part_guest *pg = NULL;
    struct hv_vmbus_guest *g;
    uint32_t relid, id;
    uint64_t gpa, v;
    int efd_in, bad[3], sv[2], rc;
    uint8_t *mem;

    rc = hv_part_guest_connect(sock_path, TMO, &pg);
    if (!rc)
        rc = hv_part_guest_add_memory(pg, GPA, 16 * 4096);
    if (!rc)
        rc = hv_part_guest_handshake(pg, TMO);
    if (rc) {
        s->rc = fail_at(s, rc, "connect");
        goto out;
    }
    g = hv_part_guest_vmbus(pg);
    relid = hv_vmbus_guest_find_offer(g, &hv_guid_netvsc, 0);
    mem = hv_part_guest_alloc_pages(pg, 8, &gpa);
    hv_ring_ctl_init(mem);
    hv_ring_ctl_init(mem + 4 * 4096);
    rc = hv_part_guest_gpadl_sync(pg, relid, gpa, 8, &id, TMO);
    /* dir 0 with a pipe: refused (a bad frame), the eventfd after it is
     * taken */
    if (!rc && pipe(sv) == 0) {
        rc = sig_setup(pg, relid, 0, sv[0]);
        close(sv[0]);
        close(sv[1]);
    }
    efd_in = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (rc || efd_in < 0 || sig_setup(pg, relid, 0, efd_in)) {
        s->rc = fail_at(s, rc, "gpadl / dir 0");
        goto out;
    }
    /* dir 1 with what the host must refuse; each time the open fails.
     * (No cmocka asserts in this thread: failures go through s->rc.) */
    bad[0] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) < 0) {
        s->rc = fail_at(s, -errno, "dgram pair");
        goto out;
    }
    bad[1] = sv[1];
    close(sv[0]);
    bad[2] = socket(AF_UNIX, SOCK_SEQPACKET, 0); /* not connected */
    for (unsigned i = 0; i < 3; i++) {
        if (sig_setup(pg, relid, 1, bad[i]) ||
            hv_vmbus_guest_open(g, relid, 1 + i, id, 4)) {
            s->rc = fail_at(s, -EIO, "bad dir 1 send");
            goto out;
        }
        s->bad_open_rc[i] = open_status(pg, relid);
        close(bad[i]);
    }
    atomic_store(&s->phase, 1);
    /* now a proper socketpair: the open succeeds */
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv) < 0) {
        s->rc = fail_at(s, -errno, "seqpacket pair");
        goto out;
    }
    if (sig_setup(pg, relid, 1, sv[1]) ||
        hv_vmbus_guest_open(g, relid, 9, id, 4) ||
        (rc = open_status(pg, relid)) != 0) {
        s->rc = fail_at(s, rc, "good open");
        goto out;
    }
    atomic_store(&s->phase, 2);
    /* the host signals once: 8 bytes, value 1 */
    for (int i = 0; i < 5000; i++) {
        if (recv(sv[0], &v, 8, MSG_DONTWAIT) == 8)
            break;
        usleep(1000);
        v = 0;
    }
    if (v != 1) {
        s->rc = fail_at(s, -EIO, "host signal");
        goto out;
    }
    /* turn hostile: the host's end blocking, and never read again */
    if (fcntl(sv[1], F_SETFL, 0) < 0) {
        s->rc = fail_at(s, -errno, "fcntl");
        goto out;
    }
    atomic_store(&s->phase, 3);
    while (!atomic_load(&s->release))
        usleep(200);
    close(sv[0]);
    close(sv[1]);
    close(efd_in);
    s->rc = 0;
out:
    hv_part_guest_close(pg);
    atomic_store(&s->done, true);
    return NULL;
}

static void pump_phase(struct hv_part_host *h, struct script *s, int phase)
{
    for (int i = 0; i < 20000 && atomic_load(&s->phase) < phase &&
                    !atomic_load(&s->done); i++)
        hv_part_host_run_once(h, 1);
    if (atomic_load(&s->phase) < phase)
        fprintf(stderr, "guest stopped at %s (%d)\n",
                s->where ? s->where : "?", s->rc);
    assert_true(atomic_load(&s->phase) >= phase);
}

static void test_part_end_to_end(void **state)
{
    struct host_side hs = { NULL };
    struct hv_vmbus_offer_cfg cfg = { .if_type = hv_guid_netvsc };
    struct script s;
    struct hv_part_host *h;
    struct hv_chan *ch;
    uint64_t bad0;
    pthread_t t;
    (void)state;

    strcpy(dir, "/tmp/hv-signal-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(sock_path, sizeof(sock_path), "%s/vm.sock", dir);
    assert_int_equal(hv_part_host_create(sock_path, &hops, &hs, &h), 0);
    assert_int_equal(hv_vmbus_host_add_offer(hv_part_host_vmbus(h), &cfg,
                                             NULL), 0);
    memset(&s, 0, sizeof(s));
    assert_int_equal(pthread_create(&t, NULL, guest_main, &s), 0);
    bad0 = hv_part_host_stats(h)->bad_frame;
    pump_phase(h, &s, 1);
    /* four refused fds (a dir 0 pipe, three for dir 1), three refused
     * opens */
    assert_int_equal(hv_part_host_stats(h)->bad_frame, bad0 + 4);
    for (unsigned i = 0; i < 3; i++)
        assert_int_equal(s.bad_open_rc[i], -EIO);
    assert_null(atomic_load(&hs.open_ch));
    pump_phase(h, &s, 2);
    ch = atomic_load(&hs.open_ch);
    assert_non_null(ch);
    assert_int_equal(hv_chan_state(ch), HV_CHAN_OPEN);
    assert_int_equal(hv_chan_notify_guest(ch), 0);
    assert_int_equal(hv_chan_stats(ch)->signals_sent, 1);
    pump_phase(h, &s, 3);
    /* the guest made the host's end blocking and does not read */
    watchdog(5);
    for (unsigned i = 0; i < 20000; i++)
        assert_int_equal(hv_chan_notify_guest(ch), 0);
    alarm(0);
    assert_true(hv_chan_stats(ch)->signals_dropped > 0);
    assert_int_equal(hv_chan_stats(ch)->signals_sent +
                         hv_chan_stats(ch)->signals_dropped, 20001);
    atomic_store(&s.release, true);
    for (int i = 0; i < 20000 && !atomic_load(&s.done); i++)
        hv_part_host_run_once(h, 1);
    pthread_join(t, NULL);
    assert_int_equal(s.rc, 0);
    hv_part_host_destroy(h);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eventfd_preloaded),
        cmocka_unit_test(test_full_queue),
        cmocka_unit_test(test_peer_closed),
        cmocka_unit_test(test_fd_check),
        cmocka_unit_test(test_in_fd_check),
        cmocka_unit_test(test_part_end_to_end),
    };
    vsa_log_set_level(VSA_LOG_ERR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
