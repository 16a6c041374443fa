/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * loop.h — the guest agent proper (prefix vg_agent_): one partition, its
 * NICs — synthetic (nic.h) and legacy (legacy.h, the emulated DEC 21140A),
 * mixed freely — one TAP per NIC, and the poll loop that moves frames
 * between them.
 *
 * Owns
 * ----
 *  * the poll set: every TAP fd, every NIC's host→guest eventfd (a legacy
 *    NIC's: its interrupt line), the partition socket, and the control fds
 *    (a signalfd from main, and an eventfd that vg_agent_stop writes);
 *  * the data path, in batches: a host wakeup drains up to VG_NIC_BATCH
 *    ring packets per NIC per round (more work → the next poll does not
 *    sleep); a readable TAP gives up to VG_AGENT_TAP_BATCH frames, each
 *    sent with vspn_vsc_send; the host signal those sends may owe is
 *    written once per batch;
 *  * back-pressure: when the NIC cannot take a frame (-EAGAIN: ring full,
 *    no send section or bounce slot) that frame is held and the TAP is not
 *    read again until it went out: completions or the host's pending-send
 *    wakeup (vmbus.md §5.2) free the room.  Frames are never dropped for
 *    lack of room; the kernel's TAP queue absorbs bursts;
 *  * legacy NICs: frames are queued on the TX ring per TAP batch with one
 *    transmit poll demand per batch (back-pressure as above when the ring
 *    is full); the interrupt eventfd wakes vg_legacy_service; a timer
 *    drives the multicast-list poll (200 ms) and the PHY link poll (3 s);
 *    a device not present yet is probed again every second; a bad SROM is
 *    refused until the next connection.  802.1Q tags stay in the frame;
 *  * 802.1Q (synthetic NICs): a tagged frame read from the TAP leaves
 *    with its tag in the RNDIS 802.1Q PPI (as Linux netvsc sends it); a
 *    frame the host delivers with that PPI is written to the TAP with the
 *    tag back in the frame;
 *  * carrier: on only while the NIC is READY and the host says the link
 *    is up (RNDIS media connect indications; for a legacy NIC the PHY's
 *    link status);
 *  * the connection's life: connect, open every NIC that is offered (a
 *    NIC offered later is opened when its offer arrives; a rescinded one
 *    is closed and RELID_RELEASED, carrier off), and when the host goes
 *    away (socket EOF, vesperd restart) or a NIC fails, drop everything of
 *    that connection but the TAPs and reconnect, redoing the whole
 *    handshake: at once after a connection that lived VG_AGENT_STABLE_MS,
 *    else after a wait doubling from retry_ms to VG_AGENT_BACKOFF_MAX_MS
 *    (a host that breaks every connection it accepts); a failed attempt
 *    is retried every retry_ms (1 s) forever;
 *  * clean exit (SIGINT, SIGTERM, vg_agent_stop): NVSP/RNDIS teardown,
 *    CLOSECHANNEL, GPADL teardowns, UNLOAD; then exit status 0;
 *  * counters, printed on SIGUSR1 and at exit with -v.
 *
 * Thread-safety: all of it runs on the thread that calls vg_agent_run or
 * vg_agent_poll, except vg_agent_stop (any thread) and reading counters
 * (vg_counters_get).
 */
#ifndef VG_LOOP_H
#define VG_LOOP_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "tools/vesper-guest/args.h"
#include "tools/vesper-guest/counters.h"
#include "tools/vesper-guest/legacy.h"
#include "tools/vesper-guest/nic.h"
#include "tools/vesper-guest/part.h"
#include "tools/vesper-guest/tap.h"

#define VG_AGENT_RETRY_MS 1000u
/* A connection that dies younger than VG_AGENT_STABLE_MS makes the next
 * attempt wait, doubling from retry_ms up to VG_AGENT_BACKOFF_MAX_MS; one
 * that lived longer is retried at once. */
#define VG_AGENT_STABLE_MS 5000u
#define VG_AGENT_BACKOFF_MAX_MS 30000u
#define VG_AGENT_TAP_BATCH 64u
#define VG_AGENT_HOUSEKEEPING_MS 1000
#define VG_AGENT_FRAME_BUF 65536u

struct vg_agent;

struct vg_port {
    struct vg_agent *agent;
    enum vg_nic_kind kind;
    struct vg_nic nic;     /* VG_NIC_SYNTHETIC */
    struct vg_legacy leg;  /* VG_NIC_LEGACY */
    struct vg_tap tap;
    char name[24];
    bool more;         /* host ring not drained: come back at once */
    bool held;         /* a TAP frame waits for room in the NIC */
    uint32_t held_off; /* ... at buf + held_off */
    uint32_t held_len;
    uint16_t held_tci;
    bool held_vlan;
    uint8_t buf[VG_AGENT_FRAME_BUF]; /* TAP reads */
};

struct vg_agent {
    struct vg_opts opts;
    struct vg_part part;
    struct vg_port ports[VG_MAX_NICS];
    unsigned nports;
    int sig_fd;             /* signalfd (SIGINT, SIGTERM, SIGUSR1) or -1 */
    int stop_fd;            /* eventfd written by vg_agent_stop */
    unsigned retry_ms;      /* reconnect period */
    int timeout_ms;         /* per blocking handshake step */
    uint64_t next_try_ms;
    uint64_t connected_ms;  /* when the current connection was made */
    unsigned backoff_ms;    /* wait after a short-lived connection, or 0 */
    bool stopping;
    bool retry_quiet;       /* the first failure was logged already */
    bool was_connected;
    struct vg_counters cnt;
};

/* Sets the agent up from `o`: creates the TAPs (or uses tap_fds[i] when
 * tap_fds is given: tests), nothing is connected yet.  sig_fd may be -1.
 * 0 or -errno (the TAP that failed is logged). */
int vg_agent_init(struct vg_agent *a, const struct vg_opts *o,
                  const int *tap_fds, int sig_fd);
/* Disconnects without a goodbye if still connected, closes the TAPs. */
void vg_agent_fini(struct vg_agent *a);

/* One connection attempt: partition, memory, VMBus, every offered NIC up
 * (TAP MAC/MTU/carrier set).  0 (NICs not offered yet are opened when
 * their offer arrives), or -errno (nothing left connected). */
int vg_agent_connect(struct vg_agent *a);
/* graceful: NIC teardown and UNLOAD; otherwise just drop (host gone). */
void vg_agent_disconnect(struct vg_agent *a, bool graceful);
bool vg_agent_connected(const struct vg_agent *a);
/* One round of the loop: (re)connects when due, waits up to max_wait_ms
 * for an event, services it.  0, or -errno on a fatal poll error. */
int vg_agent_poll(struct vg_agent *a, int max_wait_ms);
/* Runs until stopped (signal or vg_agent_stop), then disconnects
 * cleanly.  Returns the process exit status. */
int vg_agent_run(struct vg_agent *a);
/* Asks a running agent to stop (async-signal-safe, any thread). */
void vg_agent_stop(struct vg_agent *a);
void vg_agent_print(const struct vg_agent *a, FILE *f);

#endif /* VG_LOOP_H */
