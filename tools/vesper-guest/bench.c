/* SPDX-License-Identifier: BSD-3-Clause */
#include "tools/vesper-guest/bench.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "common/vsa_log.h"
#include "common/vsa_time.h"
#include "tools/vesper-guest/counters.h"
#include "tools/vesper-guest/legacy.h"
#include "tools/vesper-guest/nic.h"
#include "tools/vesper-guest/part.h"

VSA_LOG_MODULE(vg_bench);

#define WARMUP_MS 200
#define DRAIN_BUDGET 256u
/* Loop rounds between clock reads.  A synthetic round is ring memory
 * only; a legacy round costs at least one trapped access (a socket round
 * trip), so the clock is read more often there. */
#define CHECK_EVERY 256u
#define CHECK_EVERY_LEGACY 8u
#define HOUSEKEEPING_MS 10u /* signals, partition sockets, legacy ticks */
#define LEGACY_OPEN_POLL_MS 50u
/* A burst the legacy ring takes whole: the driver keeps two of its
 * VG_TULIP_TX_RING descriptors for a setup frame and kicks the device
 * itself (one more CSR1) when a send finds the rest in flight. */
#define LEGACY_BURST (VG_TULIP_TX_RING - 2u)

struct bnic {
    enum vg_nic_kind kind;
    struct vg_nic nic;    /* synthetic */
    struct vg_legacy leg; /* legacy */
    char name[8];
};

struct bench {
    struct vg_part parts[2];
    unsigned nparts;
    struct bnic nics[2];
    struct vg_counters cnt;
    struct vsa_mac rx_mac;
    uint64_t rx;
    uint64_t rx_other;
};

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void b_rx(void *ctx, const void *frame, size_t len, uint16_t tci,
                 bool has_vlan)
{
    struct bench *b = ctx;
    const uint8_t *f = frame;

    (void)tci;
    (void)has_vlan;
    if (len >= 14 && memcmp(f, b->rx_mac.b, 6) == 0 &&
        (f[12] << 8 | f[13]) == VG_BENCH_ETHERTYPE)
        b->rx++;
    else
        b->rx_other++;
}

static void b_rx_ignore(void *ctx, const void *frame, size_t len,
                        uint16_t tci, bool has_vlan)
{
    (void)ctx;
    (void)frame;
    (void)len;
    (void)tci;
    (void)has_vlan;
}

static const struct vg_nic_sink rx_sink = { .rx = b_rx };
static const struct vg_nic_sink tx_sink = { .rx = b_rx_ignore };

/* No TAP: the legacy NIC's filter is its own MAC and broadcast. */
static int b_rx_mode(void *ctx, const char *ifname,
                     struct vg_tulip_rx_mode *out)
{
    (void)ctx;
    (void)ifname;
    out->promisc = false;
    out->allmulti = false;
    out->nmc = 0;
    return 0;
}

/* ---- one NIC of either kind --------------------------------------------------- */

static bool bn_legacy(const struct bnic *n)
{
    return n->kind == VG_NIC_LEGACY;
}

static int bn_send(struct bnic *n, const void *f, size_t len)
{
    if (bn_legacy(n))
        return vg_legacy_send(&n->leg, f, len);
    return vg_nic_send(&n->nic, f, len, 0, false);
}

/* Host signal (synthetic) / transmit poll demand (legacy). */
static int bn_flush(struct bnic *n)
{
    if (bn_legacy(n))
        return vg_legacy_flush(&n->leg);
    vg_nic_flush(&n->nic);
    return 0;
}

/* What the host left for us: ring (synthetic), descriptors (legacy). */
static int bn_poll(struct bnic *n)
{
    bool more;
    int got;

    if (bn_legacy(n)) {
        got = vg_legacy_poll(&n->leg);
        return got < 0 ? got : 0;
    }
    got = vg_nic_drain(&n->nic, DRAIN_BUDGET, &more);
    return got < 0 ? -EPROTO : 0;
}

static struct vsa_mac bn_mac(const struct bnic *n)
{
    return bn_legacy(n) ? vg_legacy_mac(&n->leg) : vg_nic_mac(&n->nic);
}

static uint64_t bn_traps(const struct bnic *n)
{
    return bn_legacy(n) ? vg_legacy_stat(&n->leg, VG_TULIP_STATS_ID_traps)
                        : 0;
}

static uint64_t traps(const struct bench *b)
{
    return bn_traps(&b->nics[0]) + bn_traps(&b->nics[1]);
}

/* Stop asked for (SIGINT / SIGTERM); *usr1 set on SIGUSR1. */
static bool stop_requested(int sig_fd, bool *usr1)
{
    struct signalfd_siginfo si;
    bool stop = false;

    if (sig_fd < 0)
        return false;
    while (read(sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        if (si.ssi_signo == SIGUSR1)
            *usr1 = true;
        else
            stop = true;
    }
    return stop;
}

/* ---- bring-up ------------------------------------------------------------------ */

/* The device answers once vesperd attached it; a refused probe (bad
 * SROM) is final. */
static int legacy_open_wait(struct bnic *n)
{
    uint64_t deadline = vsa_time_now_ms() + VG_PART_TIMEOUT_MS;
    struct vg_part *p = n->leg.part;
    int rc;

    for (;;) {
        rc = vg_legacy_open(&n->leg);
        if (rc == 0 || (rc != -ENOENT && rc != -EAGAIN) || n->leg.refused)
            break;
        if (vsa_time_now_ms() >= deadline) {
            rc = -ETIMEDOUT;
            break;
        }
        if (vg_part_pump(p))
            return -ECONNRESET;
        usleep(LEGACY_OPEN_POLL_MS * 1000u);
    }
    if (rc)
        VSA_LOG(ERR, "%s (legacy:%u): %s", n->name, n->leg.index,
                rc == -ENOENT || rc == -ETIMEDOUT ? "no such device"
                : n->leg.refused                  ? "refused (see above)"
                                                  : strerror(-rc));
    return rc == -EAGAIN ? -ENODEV : rc;
}

static int bench_open(struct bench *b, const struct vg_opts *o)
{
    int rc;

    b->nparts = o->partition2 ? 2 : 1;
    b->parts[0].path = o->partition;
    b->parts[1].path = o->partition2;
    for (unsigned i = 0; i < 2; i++) {
        struct bnic *bn = &b->nics[i];
        struct vg_part *part = &b->parts[o->nics[i].partition];
        const struct vg_nic_sink *sink = i == 0 ? &tx_sink : &rx_sink;

        bn->kind = o->nics[i].kind;
        snprintf(bn->name, sizeof(bn->name), "nic%u", i);
        if (bn_legacy(bn)) {
            struct vg_legacy *l = &bn->leg;

            l->part = part;
            l->index = o->nics[i].index;
            l->sink = sink;
            l->sink_ctx = b;
            l->cnt = &b->cnt;
            l->name = bn->name;
            l->ifname = bn->name;
            l->read_rx_mode = b_rx_mode;
            l->poll_mode = true;
            l->tx_autopoll = o->tx_autopoll;
            vg_legacy_init(l);
            continue;
        }
        bn->nic.part = part;
        bn->nic.index = o->nics[i].index;
        bn->nic.mode = o->mode;
        bn->nic.mtu = o->mtu;
        bn->nic.sink = sink;
        bn->nic.sink_ctx = b;
        bn->nic.cnt = &b->cnt;
        bn->nic.name = bn->name;
        bn->nic.ch.to_host_fd = bn->nic.ch.from_host_fd = -1;
    }
    for (unsigned p = 0; p < b->nparts; p++) {
        uint64_t mem = 0, low = 0;

        for (unsigned i = 0; i < 2; i++) {
            if (o->nics[i].partition != p)
                continue;
            if (bn_legacy(&b->nics[i]))
                low += VG_LEGACY_MEM_SIZE;
            else
                mem += vg_nic_mem_size(o->mode, o->mtu);
        }
        b->parts[p].low_size = low;
        rc = vg_part_connect(&b->parts[p], mem, VG_PART_TIMEOUT_MS);
        if (rc) {
            VSA_LOG(ERR, "%s: %s", b->parts[p].path, strerror(-rc));
            return rc;
        }
        /* Legacy DMA areas first, from the low region (legacy.h). */
        for (unsigned i = 0; i < 2; i++) {
            if (o->nics[i].partition != p || !bn_legacy(&b->nics[i]))
                continue;
            rc = vg_legacy_carve(&b->nics[i].leg);
            if (rc)
                return rc;
        }
    }
    for (unsigned i = 0; i < 2; i++) {
        struct bnic *bn = &b->nics[i];

        if (bn_legacy(bn)) {
            rc = legacy_open_wait(bn);
            if (rc)
                return rc;
            continue;
        }
        rc = vg_nic_open(&bn->nic, VG_PART_TIMEOUT_MS);
        if (rc) {
            VSA_LOG(ERR, "%s (synthetic:%u): %s", bn->name, bn->nic.index,
                    rc == -ENOENT ? "not offered" : strerror(-rc));
            return rc;
        }
        vg_nic_set_poll_mode(&bn->nic, true);
    }
    b->rx_mac = bn_mac(&b->nics[1]);
    return 0;
}

static void bench_close(struct bench *b, bool graceful)
{
    for (unsigned i = 0; i < 2; i++) {
        struct bnic *bn = &b->nics[i];

        if (bn_legacy(bn))
            vg_legacy_close(&bn->leg, graceful);
        else if (bn->nic.part)
            vg_nic_close(&bn->nic, graceful, VG_PART_TIMEOUT_MS);
    }
    for (unsigned p = 0; p < b->nparts; p++)
        vg_part_close(&b->parts[p], graceful, VG_PART_TIMEOUT_MS);
}

/* One broadcast from each NIC, then both NICs polled for a while: the
 * switch has learnt both MACs before the window opens. */
static int warm_up(struct bench *b)
{
    uint8_t f[64];
    uint64_t end = now_ns() + (uint64_t)WARMUP_MS * 1000000u;
    int rc;

    for (unsigned i = 0; i < 2; i++) {
        struct vsa_mac m = bn_mac(&b->nics[i]);

        memset(f, 0, sizeof(f));
        memset(f, 0xff, 6);
        memcpy(f + 6, m.b, 6);
        f[12] = (uint8_t)(VG_BENCH_ETHERTYPE >> 8);
        f[13] = (uint8_t)VG_BENCH_ETHERTYPE;
        (void)bn_send(&b->nics[i], f, sizeof(f));
        rc = bn_flush(&b->nics[i]);
        if (rc)
            return rc;
    }
    while (now_ns() < end) {
        for (unsigned i = 0; i < 2; i++) {
            rc = bn_poll(&b->nics[i]);
            if (rc)
                return rc;
        }
        usleep(1000);
    }
    return 0;
}

/* Partition sockets (channel messages, a host that went away), rescinds,
 * and the legacy NICs' housekeeping. */
static int housekeeping(struct bench *b)
{
    for (unsigned p = 0; p < b->nparts; p++)
        if (vg_part_pump(&b->parts[p]))
            return -ECONNRESET;
    for (unsigned i = 0; i < 2; i++) {
        struct bnic *bn = &b->nics[i];
        int wait = -1, rc;

        if (!bn_legacy(bn)) {
            if (vg_nic_rescinded(&bn->nic))
                return -ENODEV;
            continue;
        }
        rc = vg_legacy_tick(&bn->leg, vsa_time_now_ms(), &wait);
        if (rc)
            return rc;
    }
    return 0;
}

struct window {
    uint64_t t0;     /* CLOCK_MONOTONIC, ns */
    uint64_t tx;     /* frames sent on NIC0 */
    uint64_t rx0;    /* b->rx when the window opened */
    uint64_t traps0; /* traps() when the window opened */
};

/* A progress line: counters cumulative since the window opened. */
static void progress(const struct bench *b, const struct window *w,
                     uint64_t now, FILE *out)
{
    struct timespec rt;

    clock_gettime(CLOCK_REALTIME, &rt);
    fprintf(out, "{\"t\":%lld.%06ld,\"seconds\":%.3f,\"tx_frames\":%llu,"
            "\"rx_frames\":%llu,\"traps\":%llu}\n",
            (long long)rt.tv_sec, rt.tv_nsec / 1000,
            (double)(now - w->t0) / 1e9, (unsigned long long)w->tx,
            (unsigned long long)(b->rx - w->rx0),
            (unsigned long long)(traps(b) - w->traps0));
    fflush(out);
}

int vg_bench_run(const struct vg_opts *o, int sig_fd, FILE *out)
{
    struct bench *b = calloc(1, sizeof(*b));
    uint8_t frame[VSPN_VSP_MTU_MAX + VSPN_ETH_HLEN];
    uint64_t t1, deadline, rounds = 0, next_house, next_progress = 0;
    uint64_t interval_ns = (uint64_t)o->interval_ms * 1000000u;
    bool legacy = o->nics[0].kind == VG_NIC_LEGACY ||
                  o->nics[1].kind == VG_NIC_LEGACY;
    unsigned burst = VG_BENCH_BURST, check_every = CHECK_EVERY;
    struct window w = { 0 };
    struct vsa_mac src;
    double secs;
    int rc;

    if (!b)
        return 1;
    rc = bench_open(b, o);
    if (!rc)
        rc = warm_up(b);
    if (rc) {
        bench_close(b, rc != -ECONNRESET && rc != -ETIMEDOUT);
        free(b);
        return 1;
    }
    if (legacy) {
        check_every = CHECK_EVERY_LEGACY;
        if (o->nics[0].kind == VG_NIC_LEGACY)
            burst = LEGACY_BURST;
    }
    src = bn_mac(&b->nics[0]);
    memset(frame, 0, sizeof(frame));
    memcpy(frame, b->rx_mac.b, 6);
    memcpy(frame + 6, src.b, 6);
    frame[12] = (uint8_t)(VG_BENCH_ETHERTYPE >> 8);
    frame[13] = (uint8_t)VG_BENCH_ETHERTYPE;

    w.rx0 = b->rx;
    w.traps0 = traps(b);
    w.t0 = now_ns();
    deadline = w.t0 + (uint64_t)(o->seconds * 1e9);
    next_house = w.t0 + (uint64_t)HOUSEKEEPING_MS * 1000000u;
    if (interval_ns)
        next_progress = w.t0 + interval_ns;
    for (;;) {
        for (unsigned k = 0; k < burst; k++) {
            int s = bn_send(&b->nics[0], frame, o->size);

            if (s == -EAGAIN)
                break;
            if (s) {
                rc = s;
                break;
            }
            memcpy(frame + 14, &w.tx, sizeof(w.tx)); /* a sequence number */
            w.tx++;
        }
        if (!rc)
            rc = bn_flush(&b->nics[0]);
        if (!rc)
            rc = bn_poll(&b->nics[0]);
        if (!rc)
            rc = bn_poll(&b->nics[1]);
        if (rc)
            break;
        if (++rounds % check_every == 0) {
            bool usr1 = false;

            t1 = now_ns();
            if (t1 >= deadline)
                break;
            if (t1 >= next_house) {
                next_house = t1 + (uint64_t)HOUSEKEEPING_MS * 1000000u;
                if (stop_requested(sig_fd, &usr1))
                    break;
                rc = housekeeping(b);
                if (rc)
                    break;
            }
            if (usr1 || (interval_ns && t1 >= next_progress)) {
                progress(b, &w, t1, out);
                while (interval_ns && next_progress <= t1)
                    next_progress += interval_ns;
            }
        }
    }
    t1 = now_ns();
    secs = (double)(t1 - w.t0) / 1e9;
    if (rc)
        VSA_LOG(ERR, "bench stopped: %s", strerror(-rc));
    fprintf(out, "{\"tx_pps\":%.0f,\"rx_pps\":%.0f,\"seconds\":%.3f,"
            "\"tx_frames\":%llu,\"rx_frames\":%llu,\"size\":%u",
            secs > 0 ? (double)w.tx / secs : 0.0,
            secs > 0 ? (double)(b->rx - w.rx0) / secs : 0.0, secs,
            (unsigned long long)w.tx, (unsigned long long)(b->rx - w.rx0),
            o->size);
    if (legacy) {
        uint64_t n = traps(b) - w.traps0;

        fprintf(out, ",\"traps\":%llu,\"traps_per_rx\":%.4f",
                (unsigned long long)n,
                b->rx > w.rx0 ? (double)n / (double)(b->rx - w.rx0) : 0.0);
    }
    fputs("}\n", out);
    fflush(out);
    if (o->verbose) {
        fprintf(stderr, "vesper-guest bench counters (other frames received "
                "%llu):\n", (unsigned long long)b->rx_other);
        vg_counters_print(&b->cnt, stderr, "", 0);
        for (unsigned i = 0; i < 2; i++) {
            if (bn_legacy(&b->nics[i]))
                vg_legacy_print(&b->nics[i].leg, stderr);
            else
                vg_nic_print(&b->nics[i].nic, stderr);
        }
    }
    bench_close(b, rc != -ECONNRESET && rc != -ETIMEDOUT);
    free(b);
    return rc ? 1 : 0;
}
