/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_rcu_churn.c — configuration commits under traffic (TESTS.md #30/#31
 * flavour), on real DPDK virtual devices.
 *
 * Objective: show that the RCU publication in vsw_commit() lets the control
 * thread add, remove and re-mode ports while an lcore forwards at full
 * speed, without a crash or use-after-free (run under ASan/UBSan), without
 * disturbing ports the changes do not touch, and without leaking an mbuf:
 *
 *   - a forwarding pair PA <-> PB (`net_pcap` with infinite_rx replaying a
 *     small file of unicast frames to the other side plus one broadcast)
 *     and two permanent `net_null,no-rx=1` sinks stay configured for the
 *     whole run;
 *   - for at least 3 s the control thread makes 500 commits, each one
 *     opening a `net_null` port into the switch, removing one (then closing
 *     it), or changing one's VLAN mode; broadcasts keep flooding into the
 *     churned ports, so their tx buffers are live when they go;
 *   - in every 100 ms slice both PA's and PB's tx counters increase.  A
 *     slice in which the lcore thread got less than 20 ms of CPU (this is
 *     a shared 2-core machine: another process busy-polling core 1 takes
 *     it away, see /proc/<tid>/schedstat) proves nothing either way and is
 *     not judged; an lcore that spins without forwarding still fails.  The
 *     run lasts until 30 slices were judged (capped at 20 s);
 *   - a removed port shows no drop (nothing was sent to it after its
 *     device stopped);
 *   - at the end every frame PA received was sent on PB exactly once and
 *     vice versa (unicast, broadcast or flood, nothing lost), no drop
 *     counter of the pair or the sinks moved, closing the ports emptied
 *     the FDB, and the pool's available count is back to its value before
 *     the first port was opened (the infinite_rx replay buffers come from
 *     the same pool and are returned when the pcap ports close).
 *
 * Note: DPDK here is the distribution build, without ASan support in
 * rte_malloc, so ASan sees the test's and libpcap's heap but not the
 * snapshots and port structures (rte_zmalloc); the no-loss and mempool
 * checks are what catches a port or snapshot used after its grace period
 * in that memory.
 */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <pcap/pcap.h>

#include <rte_eal.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_errno.h>
#include <rte_mempool.h>

#include "common/vsa_log.h"
#include "vlan/vlan.h"
#include "vswitch/fdb.h"
#include "vswitch/vswitch.h"

#define N_MBUFS 8191
#define N_COMMITS 500
#define RUN_MS 3000
#define SLICE_MS 100
#define N_CHURN 8
#define N_MODES 6
#define MIN_RUN_NS 20000000ull   /* lcore CPU time for a slice to count */
#define CAP_MS 20000

#define MAC_A 0x0200000a0001ull
#define MAC_B 0x0200000b0001ull
#define BCAST 0xffffffffffffull

static struct {
    struct vsw *sw;
    struct rte_mempool *pool;
    unsigned pool_baseline;
    char dir[64];
} g;

struct cport {
    struct vsw_port *p;
    unsigned mode;               /* index into modes[] */
};

static struct vlan_port_mode modes[N_MODES];
static pid_t lcore_tid;          /* the datapath lcore's thread */

static int record_tid(void *arg)
{
    (void)arg;
    lcore_tid = gettid();
    return 0;
}

/* CPU time the lcore thread has run, in ns (0 if unknown). */
static uint64_t lcore_run_ns(void)
{
    char path[64];
    unsigned long long run = 0;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/self/task/%d/schedstat",
             (int)lcore_tid);
    f = fopen(path, "r");
    if (!f)
        return 0;
    if (fscanf(f, "%llu", &run) != 1)
        run = 0;
    fclose(f);
    return run;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t rng_state = 0x2545f4914f6cdd1dull;

static uint32_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 11);
}

static void make_modes(void)
{
    static const struct {
        enum vlan_mode mode;
        uint16_t vid;       /* access VID or trunk native */
        bool native_tagged;
        const char *allowed;
    } m[N_MODES] = {
        { VLAN_MODE_ACCESS, 1, false, NULL },
        { VLAN_MODE_ACCESS, 2, false, NULL },
        { VLAN_MODE_TRUNK, 1, false, "1,2,3" },
        { VLAN_MODE_TRUNK, 1, true, "1" },
        { VLAN_MODE_TRUNK, 0, false, "2-4094" },
        { VLAN_MODE_TRUNK, 1, false, "1-4094" },
    };
    struct vsa_errmsg em;

    for (unsigned i = 0; i < N_MODES; i++) {
        vlan_port_mode_default(&modes[i]);
        modes[i].mode = m[i].mode;
        if (m[i].mode == VLAN_MODE_ACCESS) {
            modes[i].access_vid = m[i].vid;
            continue;
        }
        modes[i].native_vid = m[i].vid;
        modes[i].native_tagged = m[i].native_tagged;
        assert_int_equal(vlan_set_parse(m[i].allowed, modes[i].allowed, &em),
                         0);
    }
}

static void put_mac(uint8_t *p, uint64_t mac)
{
    for (int i = 0; i < 6; i++)
        p[i] = (uint8_t)(mac >> (40 - 8 * i));
}

/* Three 64-byte unicast frames src -> dst and one broadcast from src. */
static void write_input(const char *path, uint64_t src, uint64_t dst)
{
    pcap_t *pd = pcap_open_dead(DLT_EN10MB, 65535);
    pcap_dumper_t *d;
    uint8_t b[64];

    assert_non_null(pd);
    d = pcap_dump_open(pd, path);
    if (!d)
        fail_msg("pcap_dump_open %s: %s", path, pcap_geterr(pd));
    for (int i = 0; i < 4; i++) {
        struct pcap_pkthdr h = { .caplen = sizeof(b), .len = sizeof(b) };
        memset(b, i, sizeof(b));
        put_mac(b, i == 3 ? BCAST : dst);
        put_mac(b + 6, src);
        b[12] = 0x88;
        b[13] = 0xb5;
        pcap_dump((u_char *)d, &h, b);
    }
    pcap_dump_close(d);
    pcap_close(pd);
}

static struct vsw_port *open_port(const char *name, const char *devargs)
{
    struct vsw_port_spec spec;
    struct vsw_port *p = NULL;
    struct vsa_errmsg em;
    int rc;

    memset(&spec, 0, sizeof(spec));
    snprintf(spec.name, sizeof(spec.name), "%s", name);
    spec.cls = VSW_PORT_DPDK;
    spec.devargs = devargs;
    rc = vsw_port_open(g.sw, &spec, &p, &em);
    if (rc != 0)
        fail_msg("vsw_port_open(%s): %d %s", devargs, rc, em.msg);
    return p;
}

/* The fixed ports (access 1) and every open churn port, in switch sw0. */
static void commit(struct vsw_port *const *fixed, unsigned n_fixed,
                   const struct cport *churn)
{
    static const struct vsw_cfg_switch swc = {
        .name = "sw0", .fdb_max = 1024, .aging_s = 300,
    };
    struct vsw_cfg_port cp[4 + N_CHURN];
    struct vsw_cfg cfg = { .switches = &swc, .n_switches = 1, .ports = cp };
    struct vsa_errmsg em;
    int rc;

    memset(cp, 0, sizeof(cp));
    for (unsigned i = 0; i < n_fixed; i++) {
        cp[cfg.n_ports].port = fixed[i];
        cp[cfg.n_ports++].vlan = modes[0];
    }
    for (unsigned i = 0; churn && i < N_CHURN; i++) {
        if (!churn[i].p)
            continue;
        cp[cfg.n_ports].port = churn[i].p;
        cp[cfg.n_ports++].vlan = modes[churn[i].mode];
    }
    rc = vsw_commit(g.sw, &cfg, &em);
    if (rc != 0)
        fail_msg("vsw_commit: %d %s", rc, em.msg);
}

static void expect_no_drops(struct vsw_port *p, const char *what)
{
    struct vsw_port_stats st;

    vsw_get_port_stats(g.sw, p, &st);
    for (int d = 0; d < VSW_DROP_MAX; d++)
        if (st.drops[d] != 0)
            fail_msg("%s: %lu drops '%s'", what, (unsigned long)st.drops[d],
                     vsw_drop_name((enum vsw_drop)d));
}

static void test_commit_churn(void **state)
{
    char path_a[128], path_b[128], devargs[640];
    struct vsw_port *pa, *pb, *fixed[4];
    struct cport churn[N_CHURN];
    struct vsw_port_stats sa, sb;
    uint64_t last_a, last_b, last_run, t0, next_slice, deadline;
    unsigned commits = 0, slices = 0, starved = 0;
    unsigned opened = 0, closed = 0, remoded = 0;
    unsigned seq = 0;

    (void)state;
    memset(churn, 0, sizeof(churn));
    make_modes();
    snprintf(path_a, sizeof(path_a), "%s/a.pcap", g.dir);
    snprintf(path_b, sizeof(path_b), "%s/b.pcap", g.dir);
    write_input(path_a, MAC_A, MAC_B);
    write_input(path_b, MAC_B, MAC_A);

    snprintf(devargs, sizeof(devargs), "net_pcap_ra,rx_pcap=%s,infinite_rx=1",
             path_a);
    pa = open_port("PA", devargs);
    snprintf(devargs, sizeof(devargs), "net_pcap_rb,rx_pcap=%s,infinite_rx=1",
             path_b);
    pb = open_port("PB", devargs);
    fixed[0] = pa;
    fixed[1] = pb;
    fixed[2] = open_port("SINK0", "net_null_rs0,no-rx=1");
    fixed[3] = open_port("SINK1", "net_null_rs1,no-rx=1");
    commit(fixed, 4, churn);

    /* Traffic flows both ways before the churn starts. */
    deadline = now_ms() + 2000;
    do {
        usleep(1000);
        vsw_get_port_stats(g.sw, pa, &sa);
        vsw_get_port_stats(g.sw, pb, &sb);
        if (now_ms() > deadline)
            fail_msg("no traffic: PA tx %lu, PB tx %lu",
                     (unsigned long)sa.tx_packets,
                     (unsigned long)sb.tx_packets);
    } while (sa.tx_packets == 0 || sb.tx_packets == 0);
    last_a = sa.tx_packets;
    last_b = sb.tx_packets;
    last_run = lcore_run_ns();
    assert_true(last_run > 0);

    t0 = now_ms();
    next_slice = t0 + SLICE_MS;
    while (commits < N_COMMITS || slices < RUN_MS / SLICE_MS) {
        uint64_t now = now_ms();

        if (now >= next_slice) {
            /* One check per window of at least SLICE_MS, however late the
             * control thread is. */
            uint64_t run = lcore_run_ns();

            vsw_get_port_stats(g.sw, pa, &sa);
            vsw_get_port_stats(g.sw, pb, &sb);
            if (run - last_run < MIN_RUN_NS) {
                starved++;
            } else {
                if (sa.tx_packets <= last_a || sb.tx_packets <= last_b)
                    fail_msg("slice %u (%lu ms, %u commits, lcore ran %lu "
                             "ms): PA tx %lu -> %lu, PB tx %lu -> %lu",
                             slices, (unsigned long)(now - t0), commits,
                             (unsigned long)((run - last_run) / 1000000),
                             (unsigned long)last_a,
                             (unsigned long)sa.tx_packets,
                             (unsigned long)last_b,
                             (unsigned long)sb.tx_packets);
                slices++;
            }
            if (now - t0 > CAP_MS)
                fail_msg("only %u of %d slices judged in %d ms (%u with the "
                         "lcore preempted): machine overloaded?", slices,
                         RUN_MS / SLICE_MS, CAP_MS, starved);
            last_a = sa.tx_packets;
            last_b = sb.tx_packets;
            last_run = run;
            next_slice = now + SLICE_MS;
            continue;
        }
        if (commits >= N_COMMITS ||
            now < t0 + (uint64_t)commits * RUN_MS / N_COMMITS) {
            usleep(200);
            continue;
        }

        unsigned slot = rng() % N_CHURN, action = rng() % 3;
        struct vsw_port *gone = NULL;

        if (!churn[slot].p)
            action = 0;
        switch (action) {
        case 0: /* open (or, if the slot is taken, re-mode) */
            if (!churn[slot].p) {
                char name[16];
                snprintf(name, sizeof(name), "C%u", seq);
                snprintf(devargs, sizeof(devargs), "net_null_c%u,no-rx=1",
                         seq++);
                churn[slot].p = open_port(name, devargs);
                opened++;
            } else {
                remoded++;
            }
            churn[slot].mode = rng() % N_MODES;
            break;
        case 1: /* remove from the switch, close after the commit */
            gone = churn[slot].p;
            churn[slot].p = NULL;
            break;
        default: /* change the VLAN mode */
            churn[slot].mode = (churn[slot].mode + 1 + rng() % (N_MODES - 1)) %
                               N_MODES;
            remoded++;
            break;
        }
        commit(fixed, 4, churn);
        commits++;
        if (gone) {
            /* nothing a port receives from the switch is ever dropped */
            expect_no_drops(gone, "churned port");
            vsw_port_close(g.sw, gone);
            closed++;
        }
    }
    print_message("%u commits (%u opens, %u closes, %u mode changes) in "
                  "%lu ms, %u slices judged, %u with the lcore preempted\n",
                  commits, opened, closed, remoded,
                  (unsigned long)(now_ms() - t0), slices, starved);
    assert_true(slices >= RUN_MS / SLICE_MS);
    assert_true(opened > 50 && closed > 50 && remoded > 50);

    /* Stop: unpublish everything (the grace period flushes the lcore's tx
     * buffers), then read the final counters. */
    commit(NULL, 0, NULL);
    vsw_get_port_stats(g.sw, pa, &sa);
    vsw_get_port_stats(g.sw, pb, &sb);
    print_message("PA rx %lu tx %lu, PB rx %lu tx %lu\n",
                  (unsigned long)sa.rx_packets, (unsigned long)sa.tx_packets,
                  (unsigned long)sb.rx_packets, (unsigned long)sb.tx_packets);
    assert_int_equal(sb.tx_packets, sa.rx_packets);
    assert_int_equal(sa.tx_packets, sb.rx_packets);
    assert_int_equal(sb.tx_bytes, sa.rx_bytes);
    assert_int_equal(sa.tx_bytes, sb.rx_bytes);
    expect_no_drops(pa, "PA");
    expect_no_drops(pb, "PB");
    expect_no_drops(fixed[2], "SINK0");
    expect_no_drops(fixed[3], "SINK1");

    for (unsigned i = 0; i < N_CHURN; i++)
        if (churn[i].p)
            vsw_port_close(g.sw, churn[i].p);
    for (unsigned i = 0; i < 4; i++)
        vsw_port_close(g.sw, fixed[i]);
    /* closing the ports flushed what they had learned */
    assert_int_equal(vsw_fdb_count(vsw_switch_fdb(g.sw, "sw0")), 0);
    if (rte_mempool_avail_count(g.pool) != g.pool_baseline)
        fail_msg("mbuf leak: %u of %u mbufs available after closing all",
                 rte_mempool_avail_count(g.pool), g.pool_baseline);
}

static int rm_entry(const char *path, const struct stat *sb, int flag,
                    struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static int group_setup(void **state)
{
    char prefix[64];
    char *argv[] = {
        "test_rcu_churn", "--no-huge", "-m", "512", "--no-pci",
        "--file-prefix", prefix, "-l", "0,1", "--main-lcore", "0",
        "--log-level", "lib.eal:error", NULL,
    };
    struct vsw_params p = { .n_mbufs = N_MBUFS, .n_dp_lcores = 1 };
    struct vsa_errmsg em;

    (void)state;
    vsa_log_set_level(VSA_LOG_WARN);
    snprintf(prefix, sizeof(prefix), "vt_rcu%d", (int)getpid());
    if (rte_eal_init((int)(sizeof(argv) / sizeof(argv[0])) - 1, argv) < 0) {
        fprintf(stderr, "rte_eal_init failed: %s\n", rte_strerror(rte_errno));
        return -1;
    }
    /* Learn the worker thread's id (vsw_create launches the datapath loop
     * on that same thread). */
    if (rte_eal_remote_launch(record_tid, NULL, rte_get_next_lcore(-1, 1, 0))
            != 0 ||
        rte_eal_wait_lcore(rte_get_next_lcore(-1, 1, 0)) != 0)
        return -1;
    if (vsw_create(&p, &g.sw, &em) != 0) {
        fprintf(stderr, "vsw_create: %s\n", em.msg);
        return -1;
    }
    g.pool = rte_mempool_lookup("vsw_pool");
    if (!g.pool)
        return -1;
    g.pool_baseline = rte_mempool_avail_count(g.pool);
    snprintf(g.dir, sizeof(g.dir), "/tmp/vt_rcu_XXXXXX");
    if (!mkdtemp(g.dir))
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    char runtime[PATH_MAX];

    (void)state;
    vsw_destroy(g.sw);   /* also closes whatever a failed test left open */
    /* the EAL's runtime files (--file-prefix) would stay in /var/run/dpdk */
    snprintf(runtime, sizeof(runtime), "%s", rte_eal_get_runtime_dir());
    rte_eal_cleanup();
    if (runtime[0])
        nftw(runtime, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    if (g.dir[0])
        nftw(g.dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_commit_churn),
    };
    return cmocka_run_group_tests_name("vswitch-rcu-churn", tests,
                                       group_setup, group_teardown);
}
