/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * args.h — the command line of vesper-guest (prefix vg_args_).
 *
 * Owns: turning argv into a `struct vg_opts`, range-checked, with a
 * one-line error message for the user.  Nothing here touches the system.
 *
 *   vesper-guest --partition PATH --nic synthetic[:INDEX]|legacy[:INDEX]
 *                --tap NAME [--nic ... --tap NAME ...] [--netns NS]
 *                [--handshake linux|minimal] [--mtu N] [--tx-autopoll TAP]
 *                [-v]
 *   vesper-guest bench --partition PATH [--partition2 PATH2]
 *                --nic KIND:I --nic KIND:J [--seconds S] [--size BYTES]
 *                [--interval-ms N] [--handshake linux|minimal] [--mtu N]
 *                [--tx-autopoll TAP] [-v]
 *
 * Agent mode pairs the k-th --nic with the k-th --tap.  synthetic:INDEX is
 * the INDEX-th synthetic NIC offer (0-63); legacy:INDEX the emulated DEC
 * 21140A that is PCI device INDEX of the partition (0-7: its interrupt line
 * is INDEX too, and there are HV_PART_MAX_IRQS lines).  Both kinds may be
 * mixed in one agent.  --handshake and --mtu concern synthetic NICs only
 * (a legacy NIC's MTU is 1500).  In bench mode the
 * first --nic is the sender and the second the receiver; with --partition2
 * the receiver is a NIC of that second partition (two VMs).  Bench NICs
 * are synthetic or legacy (KIND), mixed freely; with a legacy NIC --size
 * is at most 1514 (MTU 1500).  --interval-ms N (bench only, 10-3600000)
 * prints a progress line of cumulative counters every N ms.
 * --tx-autopoll TAP (0-7, legacy NICs; at least one --nic must be legacy)
 * has their drivers set CSR0 TAP and never write CSR1.
 *
 * Thread-safety: vg_args_parse uses getopt_long (global state); call it
 * from one thread.
 */
#ifndef VG_ARGS_H
#define VG_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "vsp-net/vsc.h"

#define VG_MAX_NICS 4u
#define VG_MAX_NIC_INDEX 63u
#define VG_MAX_LEGACY_INDEX 7u /* HV_PART_MAX_IRQS - 1 */
#define VG_MTU_DEFAULT 1500u
#define VG_BENCH_SECONDS_DEFAULT 5.0
#define VG_BENCH_SECONDS_MAX 86400.0
#define VG_BENCH_SIZE_DEFAULT 64u
#define VG_BENCH_SIZE_MIN 60u /* Ethernet minimum without the FCS */
#define VG_BENCH_INTERVAL_MIN_MS 10u
#define VG_BENCH_INTERVAL_MAX_MS 3600000u
#define VG_TX_AUTOPOLL_MAX 7u /* CSR0 TAP codes */

enum vg_cmd {
    VG_CMD_RUN,
    VG_CMD_BENCH,
    VG_CMD_HELP,
};

enum vg_nic_kind {
    VG_NIC_SYNTHETIC, /* netvsc over VMBus (nic.h) */
    VG_NIC_LEGACY,    /* emulated DEC 21140A (legacy.h) */
};

struct vg_nic_arg {
    enum vg_nic_kind kind;
    unsigned index;     /* synthetic: INDEX-th offer; legacy: PCI device */
    unsigned partition; /* 0: --partition, 1: --partition2 (bench only) */
    const char *tap;    /* agent mode: TAP interface name */
};

struct vg_opts {
    enum vg_cmd cmd;
    const char *partition;
    const char *partition2; /* bench only; NULL: same partition */
    struct vg_nic_arg nics[VG_MAX_NICS];
    unsigned nnics;
    const char *netns;      /* NULL: stay in the current namespace */
    enum vspn_vsc_mode mode;
    uint32_t mtu;
    bool verbose;
    double seconds;         /* bench */
    uint32_t size;          /* bench frame size, bytes */
    uint32_t interval_ms;   /* bench progress lines; 0: none */
    uint32_t tx_autopoll;   /* legacy NICs: CSR0 TAP code; 0: CSR1 kicks */
};

/* Parses argv (argv[1] may be "bench").  Returns 0, or -EINVAL with a
 * message in err.  Strings in *o point into argv. */
int vg_args_parse(int argc, char **argv, struct vg_opts *o, char *err,
                  size_t errsz);
void vg_args_usage(FILE *f);

#endif /* VG_ARGS_H */
