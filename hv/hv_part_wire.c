/* SPDX-License-Identifier: BSD-3-Clause */
#include "hv/hv_part_wire.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "hv/hv_wire.h"

int hv__part_send(int sock, uint32_t kind, const void *payload, size_t len,
                  int fd)
{
    uint8_t hdr[HV_PART_FRAME_HDR];
    struct iovec iov[2];
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int))];
    } cbuf;
    struct msghdr mh = { 0 };
    ssize_t n;

    if (len > HV_PART_MAX_PAYLOAD)
        return -EMSGSIZE;
    hv__put32(hdr, kind);
    hv__put32(hdr + 4, (uint32_t)len);
    iov[0] = (struct iovec){ .iov_base = hdr, .iov_len = sizeof(hdr) };
    iov[1] = (struct iovec){ .iov_base = (void *)(uintptr_t)payload,
                             .iov_len = len };
    mh.msg_iov = iov;
    mh.msg_iovlen = len ? 2 : 1;
    if (fd >= 0) {
        struct cmsghdr *c;
        memset(&cbuf, 0, sizeof(cbuf));
        mh.msg_control = cbuf.buf;
        mh.msg_controllen = sizeof(cbuf.buf);
        c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof(int));
    }
    do {
        n = sendmsg(sock, &mh, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    return (size_t)n == sizeof(hdr) + len ? 0 : -EIO;
}

static bool kind_carries_fd(uint32_t kind)
{
    return kind == HV_PART_MEM_REGION || kind == HV_PART_SIGNAL_SETUP ||
           kind == HV_PART_IRQ_SETUP;
}

void hv__part_fd_discard(int fd)
{
    static const struct linger abortive = { .l_onoff = 1, .l_linger = 0 };
    int type;
    socklen_t len = sizeof(type);

    if (fd < 0)
        return;
    /* SO_TYPE answers ENOTSOCK for anything else without calling into the
     * file's filesystem, and setting the linger never waits. */
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0)
        (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &abortive,
                         sizeof(abortive));
    close(fd);
}

void hv__part_conn_close(int sock)
{
    uint8_t buf[HV_PART_FRAME_HDR + HV_PART_MAX_PAYLOAD];
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int) * HV__PART_MAX_RECV_FDS) +
                 CMSG_SPACE(sizeof(struct timeval))];
    } cbuf;
    int one = 1;
    bool stamped;

    if (sock < 0)
        return;
    /* Nothing more can be queued after this (the guest's send fails with
     * EPIPE), so the drain below finds every descriptor still in flight. */
    (void)shutdown(sock, SHUT_RD);
    /* A shut socket reads an empty queue as 0 bytes, like an empty
     * message; with SO_TIMESTAMP every message read, empty or not, carries
     * a timestamp, so a read with no control data is the end. */
    stamped = setsockopt(sock, SOL_SOCKET, SO_TIMESTAMP, &one,
                         sizeof(one)) == 0;
    for (unsigned round = 0, empty = 0; round < HV__PART_DRAIN_MAX;
         round++) {
        struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
        struct msghdr mh = { 0 };
        ssize_t n;

        mh.msg_iov = &iov;
        mh.msg_iovlen = 1;
        mh.msg_control = cbuf.buf;
        mh.msg_controllen = sizeof(cbuf.buf);
        n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) /* EAGAIN: the queue is empty */
            break;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c;
             c = CMSG_NXTHDR(&mh, c)) {
            size_t k;

            if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
                continue;
            k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            for (size_t i = 0; i < k; i++) {
                int fd;
                memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
                hv__part_fd_discard(fd);
            }
        }
        if (n == 0 && mh.msg_controllen == 0 && (stamped || ++empty == 8))
            break;
        if (n > 0 || mh.msg_controllen > 0)
            empty = 0;
    }
    close(sock);
}

int hv__part_recv(int sock, struct hv__part_frame *f)
{
    uint8_t buf[HV_PART_FRAME_HDR + HV_PART_MAX_PAYLOAD];
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int) * HV__PART_MAX_RECV_FDS)];
    } cbuf;
    struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
    struct msghdr mh = { 0 };
    int fds[8], nfds = 0;
    bool bad = false;
    ssize_t n;

    f->fd = -1;
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = cbuf.buf;
    mh.msg_controllen = sizeof(cbuf.buf);
    do {
        n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK ? -EAGAIN : -errno;
    /* Collect every fd first so that none can leak on any error path. */
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
        size_t k;
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) {
            bad = true;
            continue;
        }
        k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < k; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
            if (nfds < 8)
                fds[nfds++] = fd;
            else
                hv__part_fd_discard(fd);
        }
    }
    if (n == 0 && nfds == 0)
        return -ECONNRESET;
    if ((mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
        (size_t)n < HV_PART_FRAME_HDR)
        bad = true;
    if (!bad) {
        f->kind = hv__le32(buf);
        f->len = hv__le32(buf + 4);
        if ((size_t)n != HV_PART_FRAME_HDR + (size_t)f->len)
            bad = true;
        else if (kind_carries_fd(f->kind) ? nfds != 1 : nfds != 0)
            bad = true;
    }
    if (bad) {
        for (int i = 0; i < nfds; i++)
            hv__part_fd_discard(fds[i]);
        return -EBADMSG;
    }
    memcpy(f->payload, buf + HV_PART_FRAME_HDR, f->len);
    f->fd = nfds ? fds[0] : -1;
    return 0;
}

void hv__part_io_put(uint8_t *p, const struct hv_part_io *io)
{
    hv__put32(p, io->dev);
    hv__put32(p + 4, io->flags);
    hv__put64(p + 8, io->addr);
    hv__put32(p + 16, io->size);
    hv__put32(p + 20, 0);
    hv__put64(p + 24, io->value);
}

void hv__part_io_get(const uint8_t *p, struct hv_part_io *io)
{
    io->dev = hv__le32(p);
    io->flags = hv__le32(p + 4);
    io->addr = hv__le64(p + 8);
    io->size = hv__le32(p + 16);
    io->value = hv__le64(p + 24);
}
