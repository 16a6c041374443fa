/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * part.h — the agent's child partition (prefix vg_part_): one connection
 * to a host partition socket, the guest memory shared over it, and the
 * VMBus connection negotiated on it.
 *
 * Owns: connect (wait for HELLO), one sealed memfd region of guest memory
 * (sized by the caller for its NICs) at VG_PART_GPA_BASE — preceded, when
 * the caller asks for it (low_size), by a region below 4 GiB for devices
 * that can only address 32 bits (the legacy NIC) — VMBus version
 * negotiation and the offer list (hv_part_guest_handshake), pumping the
 * socket while the agent runs, and the clean goodbye (UNLOAD, wait for
 * UNLOAD_RESPONSE, close).  Channels are nic.c's business.
 *
 * A connection lives until the host goes away or the agent stops; then
 * everything that belonged to it (memory, eventfds, GPADL ids, offers) is
 * dropped with it and the next connection starts from scratch, which is
 * what makes a vesperd restart harmless: the agent just connects again.
 *
 * Thread-safety: one thread (the agent's or the bench's).
 */
#ifndef VG_PART_H
#define VG_PART_H

#include <stdbool.h>
#include <stdint.h>

#include "hv/hv_part.h"

#define VG_PART_GPA_BASE 0x100000000ull /* 4 GiB: above any legacy hole */
/* The low region for 32-bit DMA (legacy NICs): 16 MiB, below 4 GiB. */
#define VG_PART_LOW_GPA 0x01000000ull
#define VG_PART_LOW_MAX (0x100000000ull - VG_PART_LOW_GPA)
#define VG_PART_TIMEOUT_MS 5000

struct vg_part {
    const char *path;
    struct hv_part_guest *pg; /* NULL: not connected */
    /* Bytes of low memory (VG_PART_LOW_GPA, below 4 GiB) to share before
     * the main region; 0: none.  Set by the caller; the first allocations
     * of the connection come from it until it is full (legacy.h). */
    uint64_t low_size;
};

/* Connects to p->path, shares `mem_size` bytes of memory and negotiates
 * VMBus (offers received).  0, or -errno (-ENOENT / -ECONNREFUSED: no
 * host yet, -EBUSY: another guest is connected, -ETIMEDOUT, -EPROTO). */
int vg_part_connect(struct vg_part *p, uint64_t mem_size, int timeout_ms);
/* unload: send UNLOAD and wait up to timeout_ms for the answer first
 * (clean exit); otherwise just drop the connection (host gone). */
void vg_part_close(struct vg_part *p, bool unload, int timeout_ms);
bool vg_part_connected(const struct vg_part *p);
int vg_part_fd(const struct vg_part *p);
/* Processes the frames already queued on the socket (at most 64 per call;
 * never blocks).  0, or -ECONNRESET when the host went away (the caller
 * closes). */
int vg_part_pump(struct vg_part *p);

#endif /* VG_PART_H */
