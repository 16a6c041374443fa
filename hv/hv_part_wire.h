/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hv_part_wire.h — private framing helpers of the partition socket
 * (hv_part_host.c, hv_part_guest.c).  Not part of the public API.
 */
#ifndef HV_PART_WIRE_H
#define HV_PART_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv/hv_part.h"

struct hv__part_frame {
    uint32_t kind;
    uint32_t len; /* payload bytes */
    uint8_t payload[HV_PART_MAX_PAYLOAD];
    int fd;       /* received fd or -1 */
};

/* Sends one frame, with `fd` as SCM_RIGHTS if fd >= 0.  0 or -errno. */
int hv__part_send(int sock, uint32_t kind, const void *payload, size_t len,
                  int fd);

/* Descriptors a guest passes are closed by the host, and the last close
 * of a file runs its release code, which the guest can make wait: a TCP
 * socket with SO_LINGER set and a send queue its peer never reads blocks
 * close() for as long as the linger time the guest chose (confirmed: a
 * MEM_REGION frame held vesperd's control thread, which serves every VM,
 * for the full 30 s).  Hence:
 *   - hv__part_recv takes up to HV__PART_MAX_RECV_FDS descriptors
 *     (SCM_MAX_FD, the most one message can carry): descriptors that do
 *     not fit the control buffer would be dropped by the kernel inside
 *     recvmsg, on this thread, before we could defuse them;
 *   - every guest descriptor is closed with hv__part_fd_discard: a socket
 *     is set to an abortive close (linger 0: reset, no wait) first;
 *   - the connection is closed with hv__part_conn_close: its receive side
 *     is shut first, then every descriptor still queued in it is received
 *     and discarded, so none is released in the kernel by the close.  A
 *     shut socket reads its empty queue as 0 bytes, as it reads an empty
 *     message; SO_TIMESTAMP tells them apart (every message read carries
 *     a timestamp).  The drain reads at most HV__PART_DRAIN_MAX messages,
 *     about as many as the guest's send buffer lets it queue (an empty
 *     message takes 768 bytes of it, and SO_SNDBUF stops at twice
 *     net.core.wmem_max: 554 messages with Debian's default 212,992, 10,923
 *     with 4 MiB); each read costs about what the guest's send cost, and
 *     descriptors queued beyond the cap are still released by the close;
 * Files whose close waits on another process in other ways (a FUSE file's
 * flush) are not covered: the type checks refuse them, but the close of a
 * refused one still happens here. */
#define HV__PART_MAX_RECV_FDS 253
#define HV__PART_DRAIN_MAX 16384
void hv__part_fd_discard(int fd);
void hv__part_conn_close(int sock);

/* Receives one frame.  Returns 0, -ECONNRESET (peer closed), -EAGAIN,
 * -EBADMSG (truncated, length mismatch, extra or missing fds: every
 * received fd is closed), or -errno. */
int hv__part_recv(int sock, struct hv__part_frame *f);

/* Encoding of struct hv_part_io (32 bytes). */
#define HV__PART_IO_SIZE 32u
void hv__part_io_put(uint8_t *p, const struct hv_part_io *io);
void hv__part_io_get(const uint8_t *p, struct hv_part_io *io);

#endif /* HV_PART_WIRE_H */
