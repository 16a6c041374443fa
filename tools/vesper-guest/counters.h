/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * counters.h — what the guest agent counts (prefix vg_counters_).
 *
 * Owns: the agent's counter set (X-macro: name + help), increment macros
 * and the text dump printed on SIGUSR1 and at exit with -v.  The data path
 * never logs; every frame that is not delivered is counted under the
 * reason it was dropped (drop_*).  The netvsc client's own counters
 * (vspn_vsc_stats) are kept per NIC by nic.c and printed next to these.
 *
 * Thread-safety: one writer (the agent's thread).  Increments are relaxed
 * atomic stores so another thread (a test) may read them with
 * vg_counters_get without a data race.
 */
#ifndef VG_COUNTERS_H
#define VG_COUNTERS_H

#include <stdint.h>
#include <stdio.h>

#define VG_COUNTERS_FOREACH(X)                                                \
    X(tap_rx, "frames read from the TAP")                                     \
    X(tap_tx, "frames written to the TAP")                                    \
    X(tx_frames, "frames handed to a NIC (synthetic or legacy)")              \
    X(rx_frames, "frames received from a NIC (synthetic or legacy)")          \
    X(tx_deferred, "sends held back: ring, section or bounce slot busy")      \
    X(drop_tx_not_ready, "TAP frames dropped: NIC not up (reconnecting)")     \
    X(drop_tx_size, "TAP frames dropped: runt or over the MTU")               \
    X(drop_tx_invalid, "TAP frames dropped: refused by the NIC (VLAN 4095)")  \
    X(drop_tx_error, "TAP frames dropped: other send errors")                 \
    X(drop_rx_tap_busy, "host frames dropped: TAP would block")               \
    X(drop_rx_tap_down, "host frames dropped: TAP administratively down")     \
    X(drop_rx_tap_error, "host frames dropped: TAP write failed")             \
    X(drop_rx_size, "host frames dropped: too large to re-tag")               \
    X(host_signals, "signals sent to the host (eventfd writes)")              \
    X(host_signal_errors, "signal writes that failed (EAGAIN: retried)")      \
    X(host_wakeups, "signals (legacy: interrupts) received from the host")    \
    X(missed_signals, "ring work found by a timeout, not a signal")           \
    X(ring_errors, "host-to-guest ring violations (channel reset)")           \
    X(bad_packets, "host packets with malformed range headers")               \
    X(connects, "partition connections made (NICs opened)")                   \
    X(nic_ups, "NIC handshakes completed (READY)")                            \
    X(connect_failures, "connection or handshake attempts that failed")       \
    X(host_lost, "times the host went away")                                  \
    X(rescinds, "NIC offers rescinded by the host")                           \
    X(removals, "legacy NICs whose PCI device went away or was replaced")     \
    X(link_changes, "link status indications (legacy: PHY link changes)")

struct vg_counters {
#define VG_COUNTERS_FIELD_(n, h) uint64_t n;
    VG_COUNTERS_FOREACH(VG_COUNTERS_FIELD_)
#undef VG_COUNTERS_FIELD_
};

enum vg_counters_id {
#define VG_COUNTERS_ID_(n, h) VG_COUNTERS_ID_##n,
    VG_COUNTERS_FOREACH(VG_COUNTERS_ID_)
#undef VG_COUNTERS_ID_
    VG_COUNTERS_N
};

#define VG_CNT_ADD(c, name, v)                                                \
    __atomic_store_n(&(c)->name,                                              \
                     __atomic_load_n(&(c)->name, __ATOMIC_RELAXED) +          \
                         (uint64_t)(v),                                       \
                     __ATOMIC_RELAXED)
#define VG_CNT_INC(c, name) VG_CNT_ADD(c, name, 1)

const char *vg_counters_name(unsigned id);
const char *vg_counters_help(unsigned id);
uint64_t vg_counters_get(const struct vg_counters *c, unsigned id);
#define VG_CNT_GET(c, name) vg_counters_get((c), VG_COUNTERS_ID_##name)

/* "  <prefix><name> <value>" per line; zero counters are skipped unless
 * `all`. */
void vg_counters_print(const struct vg_counters *c, FILE *f,
                       const char *prefix, int all);

#endif /* VG_COUNTERS_H */
