/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench.h — `vesper-guest bench` (prefix vg_bench_): packets per second
 * through the host between two synthetic NICs driven by ONE thread.
 *
 * Owns: bringing up the two NICs (one partition, or two with
 * --partition2), putting both in poll mode (host→guest interrupt masks
 * kept set: the host never needs to wake us), a short warm-up in which
 * each NIC sends one broadcast so the switch learns both MACs, then the
 * timed window: NIC0 sends `size`-byte frames (dst = NIC1's MAC, src =
 * NIC0's, EtherType 0x88B5) as fast as its ring, send sections and bounce
 * slots allow, in bursts whose host signal is written once; both rings are
 * drained after every burst; NIC1 counts what arrives.  The result is one
 * JSON line: {"tx_pps":…,"rx_pps":…,"seconds":…} (plus the raw counts),
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

/* Runs the benchmark of `o` (o->cmd == VG_CMD_BENCH); the JSON line goes
 * to `out`, counters to stderr with -v.  Returns the exit status. */
int vg_bench_run(const struct vg_opts *o, int sig_fd, FILE *out);

#endif /* VG_BENCH_H */
