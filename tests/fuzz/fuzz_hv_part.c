/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_hv_part.c — libFuzzer target for the partition socket as the host
 * reads it (hv_part_host.c, hv_part_wire.c): frames a guest sends on a
 * real SOCK_SEQPACKET connection, each with the file descriptors it
 * chooses, so the frame checks (length, kind, fds that must or must not
 * come) and the handlers (MEM_REGION, SIGNAL_SETUP, IRQ_SETUP, IO_TRAP,
 * CHAN_MSG into hv_vmbus_host) all run on what the fuzzer writes.
 *
 * Input: records {ctl u8, len u16 (little-endian), bytes[len]} until the
 * input ends; bytes[] is sent as one socket packet (a frame's kind, length
 * and payload, or anything else), len at most 300.  ctl % 8 attaches:
 *   0 nothing             4 one end of a SOCK_SEQPACKET socketpair
 *   1 a sealed memfd      5 one end of a SOCK_STREAM socketpair
 *   2 an unsealed memfd   6 the read end of a pipe
 *   3 an eventfd          7 a sealed memfd and an eventfd (two fds)
 * (memfds are 64 KiB).  ctl & 8 closes the connection after the record
 * and connects again.  After every record the host runs until it has
 * nothing more to do, and the guest's end is drained (IO_TRAP_DONE,
 * CHAN_MSG replies).  When the host dropped the guest, the next record
 * goes over a new connection.
 *
 * After each input the guest disconnects and the host must be back where
 * it started: not connected, no GPADL, as many open file descriptors and
 * memfd mappings as before the input (abort otherwise): a guest cannot
 * make the host leak what it sent.  (An empty packet reads as the guest
 * hanging up: a SOCK_SEQPACKET end of file.)
 *
 * Seeds (tests/fuzz/corpus/fuzz_hv_part/) hold a memory region, signal and
 * interrupt setups, a trapped access and a VMBus INITIATE_CONTACT.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/vsa_log.h"
#include "hv/hv_part.h"
#include "tests/proc_self.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_PACKET 300u
#define MEMFD_SIZE (64u << 10)

static struct hv_part_host *host;
static char sock_dir[32], sock_path[108];
static int guest = -1;

static void io_trap(void *ctx, struct hv_part_io *io)
{
    (void)ctx;
    if (!(io->flags & HV_PART_IO_WRITE))
        io->value = io->addr + 1;
}

static const struct hv_part_host_ops ops = { .io_trap = io_trap };

static void run_host(void)
{
    for (int i = 0; i < 8 && hv_part_host_run_once(host, 0) > 0; i++)
        ;
}

static void drain_guest(void)
{
    uint8_t buf[512];

    while (guest >= 0 && recv(guest, buf, sizeof(buf), MSG_DONTWAIT) > 0)
        ;
}

static void guest_connect(void)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };

    guest = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (guest < 0)
        abort();
    memcpy(sa.sun_path, sock_path, sizeof(sa.sun_path));
    if (connect(guest, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        abort();
    run_host(); /* accept, HELLO */
    if (!hv_part_host_connected(host))
        abort();
    drain_guest();
}

static void guest_close(void)
{
    if (guest < 0)
        return;
    close(guest);
    guest = -1;
    for (int i = 0; i < 16 && hv_part_host_connected(host); i++)
        hv_part_host_run_once(host, 10);
    if (hv_part_host_connected(host))
        abort();
}

static int make_memfd(bool sealed)
{
    int fd = memfd_create("fuzz-guest", MFD_CLOEXEC | MFD_ALLOW_SEALING);

    if (fd < 0 || ftruncate(fd, MEMFD_SIZE) < 0)
        abort();
    if (sealed && fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) < 0)
        abort();
    return fd;
}

/* The fds record kind k attaches (in fds[], count returned). */
static int make_fds(unsigned k, int *fds, int *extra)
{
    int sv[2], n = 0;

    *extra = -1;
    switch (k) {
    case 1: fds[n++] = make_memfd(true); break;
    case 2: fds[n++] = make_memfd(false); break;
    case 3: fds[n++] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); break;
    case 4:
    case 5:
        if (socketpair(AF_UNIX, (k == 4 ? SOCK_SEQPACKET : SOCK_STREAM) |
                                    SOCK_CLOEXEC, 0, sv) < 0)
            abort();
        fds[n++] = sv[0];
        *extra = sv[1]; /* the guest's end, closed after the send */
        break;
    case 6:
        if (pipe2(sv, O_CLOEXEC) < 0)
            abort();
        fds[n++] = sv[0];
        *extra = sv[1];
        break;
    case 7:
        fds[n++] = make_memfd(true);
        fds[n++] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        break;
    default: break;
    }
    for (int i = 0; i < n; i++)
        if (fds[i] < 0)
            abort();
    return n;
}

static void send_packet(const uint8_t *p, size_t len, const int *fds, int nfds)
{
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int) * 2)];
    } cbuf;
    struct iovec iov = { .iov_base = (void *)p, .iov_len = len };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

    if (nfds) {
        struct cmsghdr *c;

        memset(&cbuf, 0, sizeof(cbuf));
        mh.msg_control = cbuf.buf;
        mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
        c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
    }
    /* A full socket or a host that already hung up only ends the record. */
    (void)sendmsg(guest, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
}

/* At exit: the host unlinks its socket, then its directory goes. */
static void teardown(void)
{
    if (guest >= 0)
        close(guest);
    guest = -1;
    hv_part_host_destroy(host);
    host = NULL;
    rmdir(sock_dir);
}

static void setup(void)
{
    struct hv_vmbus_offer_cfg cfg = { .if_type = hv_guid_netvsc };

    vsa_log_set_level(VSA_LOG_ERR);
    snprintf(sock_dir, sizeof(sock_dir), "/tmp/fuzz-hv-part-XXXXXX");
    if (!mkdtemp(sock_dir))
        abort();
    snprintf(sock_path, sizeof(sock_path), "%s/vm.sock", sock_dir);
    if (hv_part_host_create(sock_path, &ops, NULL, &host) != 0 ||
        hv_vmbus_host_add_offer(hv_part_host_vmbus(host), &cfg, NULL) != 0)
        abort();
    atexit(teardown);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t off = 0;
    unsigned fds0, maps0;

    if (!host)
        setup();
    /* (counted per input: the caller may hold other fds in between) */
    fds0 = proc_self_fds();
    maps0 = proc_self_maps("memfd:fuzz-guest");
    while (off + 3 <= size) {
        unsigned ctl = data[off];
        size_t len = (size_t)data[off + 1] | (size_t)data[off + 2] << 8;
        int fds[2], nfds, extra;

        off += 3;
        if (len > MAX_PACKET)
            len = MAX_PACKET;
        if (len > size - off)
            len = size - off;
        if (guest < 0 || !hv_part_host_connected(host)) {
            guest_close();
            guest_connect();
        }
        nfds = make_fds(ctl % 8, fds, &extra);
        send_packet(data + off, len, fds, nfds);
        /* ours are copies now: the host holds its own */
        for (int i = 0; i < nfds; i++)
            close(fds[i]);
        if (extra >= 0)
            close(extra);
        off += len;
        run_host();
        drain_guest();
        if (ctl & 8)
            guest_close();
    }
    guest_close();
    if (hv_vmbus_host_gpadl_count(hv_part_host_vmbus(host)) != 0 ||
        proc_self_fds() != fds0 || proc_self_maps("memfd:fuzz-guest") != maps0)
        abort();
    return 0;
}
