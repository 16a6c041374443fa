/* SPDX-License-Identifier: BSD-3-Clause */
#include "tools/vesper-guest/bench.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "common/vsa_log.h"
#include "tools/vesper-guest/counters.h"
#include "tools/vesper-guest/nic.h"
#include "tools/vesper-guest/part.h"

VSA_LOG_MODULE(vg_bench);

#define WARMUP_MS 200
#define DRAIN_BUDGET 256u
#define CHECK_EVERY 256u /* loop rounds between clock / signal checks */

struct bench {
    struct vg_part parts[2];
    unsigned nparts;
    struct vg_nic nics[2];
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

static int drain(struct bench *b, struct vg_nic *n)
{
    bool more;
    int got = vg_nic_drain(n, DRAIN_BUDGET, &more);

    (void)b;
    return got < 0 ? got : 0;
}

static bool stop_requested(int sig_fd)
{
    struct signalfd_siginfo si;
    bool stop = false;

    if (sig_fd < 0)
        return false;
    while (read(sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
        if (si.ssi_signo != SIGUSR1)
            stop = true;
    return stop;
}

static int bench_open(struct bench *b, const struct vg_opts *o)
{
    int rc;

    b->nparts = o->partition2 ? 2 : 1;
    b->parts[0].path = o->partition;
    b->parts[1].path = o->partition2;
    for (unsigned i = 0; i < 2; i++) {
        struct vg_nic *n = &b->nics[i];

        n->part = &b->parts[o->nics[i].partition];
        n->index = o->nics[i].index;
        n->mode = o->mode;
        n->mtu = o->mtu;
        n->sink = i == 0 ? &tx_sink : &rx_sink;
        n->sink_ctx = b;
        n->cnt = &b->cnt;
        n->name = i == 0 ? "nic0" : "nic1";
        n->ch.to_host_fd = n->ch.from_host_fd = -1;
    }
    for (unsigned p = 0; p < b->nparts; p++) {
        unsigned nn = 0;

        for (unsigned i = 0; i < 2; i++)
            nn += o->nics[i].partition == p;
        rc = vg_part_connect(&b->parts[p],
                             nn * vg_nic_mem_size(o->mode, o->mtu),
                             VG_PART_TIMEOUT_MS);
        if (rc) {
            VSA_LOG(ERR, "%s: %s", b->parts[p].path, strerror(-rc));
            return rc;
        }
    }
    for (unsigned i = 0; i < 2; i++) {
        rc = vg_nic_open(&b->nics[i], VG_PART_TIMEOUT_MS);
        if (rc) {
            VSA_LOG(ERR, "%s (synthetic:%u): %s", b->nics[i].name,
                    b->nics[i].index,
                    rc == -ENOENT ? "not offered" : strerror(-rc));
            return rc;
        }
        vg_nic_set_poll_mode(&b->nics[i], true);
    }
    b->rx_mac = vg_nic_mac(&b->nics[1]);
    return 0;
}

static void bench_close(struct bench *b, bool graceful)
{
    for (unsigned i = 0; i < 2; i++)
        if (b->nics[i].part)
            vg_nic_close(&b->nics[i], graceful, VG_PART_TIMEOUT_MS);
    for (unsigned p = 0; p < b->nparts; p++)
        vg_part_close(&b->parts[p], graceful, VG_PART_TIMEOUT_MS);
}

/* One broadcast from each NIC, then both rings drained for a while: the
 * switch has learnt both MACs before the window opens. */
static int warm_up(struct bench *b)
{
    uint8_t f[64];
    uint64_t end = now_ns() + (uint64_t)WARMUP_MS * 1000000u;

    for (unsigned i = 0; i < 2; i++) {
        struct vsa_mac m = vg_nic_mac(&b->nics[i]);

        memset(f, 0, sizeof(f));
        memset(f, 0xff, 6);
        memcpy(f + 6, m.b, 6);
        f[12] = (uint8_t)(VG_BENCH_ETHERTYPE >> 8);
        f[13] = (uint8_t)VG_BENCH_ETHERTYPE;
        (void)vg_nic_send(&b->nics[i], f, sizeof(f), 0, false);
        vg_nic_flush(&b->nics[i]);
    }
    while (now_ns() < end) {
        for (unsigned i = 0; i < 2; i++)
            if (drain(b, &b->nics[i]))
                return -EPROTO;
        usleep(1000);
    }
    return 0;
}

static int pump_parts(struct bench *b)
{
    for (unsigned p = 0; p < b->nparts; p++)
        if (vg_part_pump(&b->parts[p]))
            return -ECONNRESET;
    for (unsigned i = 0; i < 2; i++)
        if (vg_nic_rescinded(&b->nics[i]))
            return -ENODEV;
    return 0;
}

int vg_bench_run(const struct vg_opts *o, int sig_fd, FILE *out)
{
    struct bench *b = calloc(1, sizeof(*b));
    uint8_t frame[VSPN_VSP_MTU_MAX + VSPN_ETH_HLEN];
    uint64_t tx = 0, rx0, t0, t1, deadline, rounds = 0;
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
    src = vg_nic_mac(&b->nics[0]);
    memset(frame, 0, sizeof(frame));
    memcpy(frame, b->rx_mac.b, 6);
    memcpy(frame + 6, src.b, 6);
    frame[12] = (uint8_t)(VG_BENCH_ETHERTYPE >> 8);
    frame[13] = (uint8_t)VG_BENCH_ETHERTYPE;

    rx0 = b->rx;
    t0 = now_ns();
    deadline = t0 + (uint64_t)(o->seconds * 1e9);
    t1 = t0;
    for (;;) {
        for (unsigned k = 0; k < VG_BENCH_BURST; k++) {
            int s = vg_nic_send(&b->nics[0], frame, o->size, 0, false);

            if (s == -EAGAIN)
                break;
            if (s) {
                rc = s;
                break;
            }
            memcpy(frame + 14, &tx, sizeof(tx)); /* a sequence number */
            tx++;
        }
        vg_nic_flush(&b->nics[0]);
        if (rc || drain(b, &b->nics[0]) || drain(b, &b->nics[1])) {
            rc = rc ? rc : -EPROTO;
            break;
        }
        if (++rounds % CHECK_EVERY == 0) {
            t1 = now_ns();
            if (t1 >= deadline || stop_requested(sig_fd))
                break;
            rc = pump_parts(b);
            if (rc)
                break;
        }
    }
    t1 = now_ns();
    secs = (double)(t1 - t0) / 1e9;
    if (rc)
        VSA_LOG(ERR, "bench stopped: %s", strerror(-rc));
    fprintf(out, "{\"tx_pps\":%.0f,\"rx_pps\":%.0f,\"seconds\":%.3f,"
            "\"tx_frames\":%llu,\"rx_frames\":%llu,\"size\":%u}\n",
            secs > 0 ? (double)tx / secs : 0.0,
            secs > 0 ? (double)(b->rx - rx0) / secs : 0.0, secs,
            (unsigned long long)tx, (unsigned long long)(b->rx - rx0),
            o->size);
    fflush(out);
    if (o->verbose) {
        fprintf(stderr, "vesper-guest bench counters (other frames received "
                "%llu):\n", (unsigned long long)b->rx_other);
        vg_counters_print(&b->cnt, stderr, "", 0);
        for (unsigned i = 0; i < 2; i++)
            vg_nic_print(&b->nics[i], stderr);
    }
    bench_close(b, rc != -ECONNRESET);
    free(b);
    return rc ? 1 : 0;
}
