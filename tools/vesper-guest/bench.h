/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench.h — `vesper-guest bench` (prefix vg_bench_): packets per second
 * through the host between two NICs driven by ONE thread.
 *
 * Owns: bringing up the two NICs (one partition, or two with
 * --partition2), each synthetic (netvsc, nic.h) or legacy (the emulated
 * DEC 21140A, legacy.h), and putting both in poll mode:
 *   - synthetic: host→guest interrupt masks kept set, the host never needs
 *     to wake us; the rings are drained after every burst;
 *   - legacy: the driver's poll mode (tulip_drv.h): CSR7 enables only the
 *     abnormal interrupts, transmit descriptors are reaped and frames
 *     received by looking at the descriptors' OWN bits in guest memory,
 *     one transmit poll demand (CSR1) per burst, and the interrupt path
 *     (CSR5, and CSR2 after a refill) runs only when the device raised its
 *     line for something abnormal — in practice RU, the receive ring ran
 *     dry.  The driver's housekeeping (vg_legacy_tick: the PHY link every
 *     3 s, like Linux's media timer) runs as in the agent; the receive
 *     filter is the SROM MAC and broadcast (no TAP, no multicast list).
 * Then a short warm-up in which each NIC sends one broadcast so the switch
 * learns both MACs, then the timed window: NIC0 sends `size`-byte frames
 * (dst = NIC1's MAC, src = NIC0's, EtherType 0x88B5, a sequence number
 * after the header) as fast as its ring allows, in bursts of
 * VG_BENCH_BURST whose host signal / poll demand is written once; both
 * NICs are polled after every burst; NIC1 counts what arrives.
 *
 * Output (`out`, one JSON object per line, flushed):
 *   - with --interval-ms N, every N ms and on SIGUSR1, a progress line of
 *     counters cumulative since the window opened:
 *       {"t":UNIX_TIME,"seconds":S,"tx_frames":N,"rx_frames":N,"traps":N}
 *     (t: CLOCK_REALTIME with microseconds, for cutting windows; traps:
 *     trapped register accesses of the legacy NICs, 0 without one);
 *   - at the end the result:
 *       {"tx_pps":…,"rx_pps":…,"seconds":…,"tx_frames":…,"rx_frames":…,
 *        "size":…}
 *     plus "traps" and "traps_per_rx" (trapped accesses in the window,
 *     both NICs, ÷ frames received) when a legacy NIC is driven;
 * then a clean teardown.  SIGINT/SIGTERM (sig_fd) end the window early.
 *
 * Thread-safety: single-threaded by design (that is what it measures).
 */
#ifndef VG_BENCH_H
#define VG_BENCH_H

#include <stdio.h>

#include "tools/vesper-guest/args.h"

#define VG_BENCH_ETHERTYPE 0x88B5u /* IEEE local experimental */
#define VG_BENCH_BURST 32u

/* Runs the benchmark of `o` (o->cmd == VG_CMD_BENCH); the JSON lines go
 * to `out`, counters to stderr with -v.  Returns the exit status. */
int vg_bench_run(const struct vg_opts *o, int sig_fd, FILE *out);

#endif /* VG_BENCH_H */
