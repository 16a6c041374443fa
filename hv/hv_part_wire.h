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

/* Receives one frame.  Returns 0, -ECONNRESET (peer closed), -EAGAIN,
 * -EBADMSG (truncated, length mismatch, extra or missing fds: every
 * received fd is closed), or -errno. */
int hv__part_recv(int sock, struct hv__part_frame *f);

/* Encoding of struct hv_part_io (32 bytes). */
#define HV__PART_IO_SIZE 32u
void hv__part_io_put(uint8_t *p, const struct hv_part_io *io);
void hv__part_io_get(const uint8_t *p, struct hv_part_io *io);

#endif /* HV_PART_WIRE_H */
