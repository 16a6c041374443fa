/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hv_stats.h — named counters of the hv/ layer, per channel and per
 * partition.
 *
 * Design
 * ------
 * Everything a guest does wrong is counted, never logged per event (the log
 * lines that do exist are rate limited).  The counter list is an X-macro
 * (HV_STATS_FOREACH), in the manner of VPP's foreach_*_error lists, so that
 * the struct, the names and the help strings cannot drift apart and the CLI
 * can print them generically (hv_stats_name / hv_stats_help / hv_stats_get).
 *
 * Each hv_chan owns one struct hv_stats (ring and signalling counters of that
 * channel); each hv_vmbus_host owns one for partition-level events
 * (malformed control messages, frames, GPADL rejections that cannot be
 * attributed to a channel), and each hv_part_host one for its socket
 * (bad frames) and its emulated devices (trapped accesses, interrupt
 * lines).  hv_stats_add() aggregates.
 *
 * Thread-safety
 * -------------
 * Single writer per struct: a channel's counters are bumped by the thread
 * that services that channel's rings; the partition counters by the control
 * thread.  Increments are relaxed atomic load+store (no lock prefix), reads
 * from any thread are relaxed atomic loads, so a reader may see a value that
 * is a few events old but never a torn one.
 */
#ifndef HV_STATS_H
#define HV_STATS_H

#include <stddef.h>
#include <stdint.h>

/* X(name, help) */
#define HV_STATS_FOREACH(X)                                                   \
    X(ring_broken, "rings marked broken after a peer violation")             \
    X(bad_index, "ring index out of range or not 8-byte aligned")             \
    X(bad_desc, "packet descriptor invalid (offset8, len8, header)")          \
    X(bad_len, "packet longer than readable bytes or the size limit")         \
    X(bad_type, "packet type not accepted")                                   \
    X(bad_gpadl, "GPADL request rejected (PFN, count, id, limit)")            \
    X(bad_msg, "malformed channel message")                                   \
    X(bad_state, "channel message not allowed in the current state")          \
    X(bad_frame, "malformed partition-socket frame")                          \
    X(nomem, "guest requests refused for lack of host memory or file "    \
             "descriptors (no violation)")                                  \
    X(chan_violation_closed, "channels closed because of a violation")        \
    X(pkts_read, "packets read from rings")                                   \
    X(pkts_written, "packets written to rings")                               \
    X(bytes_read, "ring bytes consumed (packets + trailers)")                 \
    X(bytes_written, "ring bytes produced (packets + trailers)")              \
    X(ring_full, "writes refused because the ring was full")                  \
    X(signals_sent, "signals sent to the peer")                               \
    X(signals_suppressed, "signals not needed by the signalling rules")       \
    X(signals_received, "signal wakeups received from the peer")              \
    X(signals_dropped, "signals to the guest not sent (queue full, bad fd)")  \
    X(signals_idle, "guest signal wakeups that found no work")               \
    X(storm_backoffs, "guest signals ignored for a backoff (signal storm)")   \
    X(writer_wakeups, "space-available signals decided (pending_send_sz)")    \
    X(gpadl_created, "GPADLs created")                                        \
    X(gpadl_torndown, "GPADLs torn down")                                     \
    X(gpadl_deferred, "GPADL teardowns deferred while referenced")            \
    X(gpadl_orphaned, "GPADLs a released channel left, dropped by the host")  \
    X(msgs_in, "channel messages received")                                   \
    X(msgs_out, "channel messages sent")                                      \
    X(msgs_lost, "channel messages the transport could not send")             \
    X(io_traps, "emulated-device accesses trapped (IO_TRAP)")                 \
    X(bad_io, "IO_TRAP refused: size not 1, 2 or 4, or bad flags")            \
    X(io_unanswered, "IO_TRAP_DONE replies the guest socket had no room for") \
    X(irqs_raised, "interrupt messages sent to the guest")                    \
    X(irqs_coalesced, "interrupts not sent: the line's socket queue is full") \
    X(irqs_no_fd, "interrupts of a line without a registered socket")         \
    X(irqs_failed, "interrupts not sent: the guest closed its end, or error")

struct hv_stats {
#define HV_STATS_FIELD_(n, h) uint64_t n;
    HV_STATS_FOREACH(HV_STATS_FIELD_)
#undef HV_STATS_FIELD_
};

enum hv_stats_id {
#define HV_STATS_ID_(n, h) HV_STATS_ID_##n,
    HV_STATS_FOREACH(HV_STATS_ID_)
#undef HV_STATS_ID_
    HV_STATS_N
};

/* Adds `v` to counter `name` of `s` (s may be NULL). Single writer. */
#define HV_STAT_ADD(s, name, v)                                               \
    do {                                                                      \
        struct hv_stats *hv_s__ = (s);                                        \
        if (hv_s__)                                                           \
            __atomic_store_n(&hv_s__->name,                                   \
                             __atomic_load_n(&hv_s__->name, __ATOMIC_RELAXED) \
                                 + (uint64_t)(v),                             \
                             __ATOMIC_RELAXED);                               \
    } while (0)
#define HV_STAT_INC(s, name) HV_STAT_ADD(s, name, 1)

/* Name and help text of counter `id` (NULL if out of range). */
const char *hv_stats_name(unsigned id);
const char *hv_stats_help(unsigned id);
/* Value of counter `id` (0 if out of range). */
uint64_t hv_stats_get(const struct hv_stats *s, unsigned id);
/* dst += src, counter by counter. */
void hv_stats_add(struct hv_stats *dst, const struct hv_stats *src);

#endif /* HV_STATS_H */
