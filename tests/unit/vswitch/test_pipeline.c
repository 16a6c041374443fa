/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_pipeline.c — the datapath (vswitch/dp.c) end to end on real DPDK
 * virtual devices, no mocks.
 *
 * Objective: show, with golden output bytes and exact counters, that the
 * per-burst pipeline does what docs/datapath.md says: VLAN ingress and
 * egress tagging for every port mode and frame type (TESTS.md #16, with the
 * 802.1ad and 0x9100 TPIDs, which are *not* VLAN tags here); flooding
 * within a VLAN and a switch, never back to the ingress port; learning and
 * unicast, the `same_port` drop, a MAC move followed by the very next frame
 * and a storm of moves counted exactly while the control thread works the
 * FDB (TESTS.md #18); runt frames, every cut of golden frames (TESTS.md #14:
 * counted, never forwarded; padded frames unchanged); the per-port learn
 * limit without touching other ports' entries (TESTS.md #17); static FDB
 * entries from the configuration; rx/tx packet and byte counters after
 * tagging, multi-segment frames included; tx buffers overflowing within one
 * loop iteration; that a port leaving a VLAN loses its entries in it; and
 * that every mbuf returns to the pool (TESTS.md #25) after each phase.
 * Also: a device DPDK will not create (unknown driver name, an argument its
 * driver refuses, a PCI address without --pci) is refused with a message
 * naming that cause.
 *
 * How: the EAL runs in this process (no hugepages, lcore 1 is the one
 * datapath lcore).  Every port is a `net_pcap` vdev whose rx_pcap file the
 * test writes with libpcap before opening the port and whose tx_pcap file
 * it reads back after closing the port.  A port's input is consumed as soon
 * as a committed configuration names it, so where order matters a phase is
 * split into steps: each step opens a fresh sender port and commits the
 * configuration again (ports that stay keep their learned entries).  A phase
 * ends by committing the switch with no ports (the RCU grace period flushes
 * the lcore's tx buffers), closing the ports (flushing the pcap files) and
 * comparing every output file and counter with the golden data below.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmocka.h>
#include <pcap/pcap.h>

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_errno.h>
#include <rte_mempool.h>

#include "closefail_fs.h"
#include "common/vsa_log.h"
#include "common/vsa_tsan.h"
#include "vlan/vlan.h"
#include "vswitch/fdb.h"
#include "vswitch/fdb_private.h"
#include "vswitch/port_class.h"
#include "vswitch/vsw_private.h"
#include "vswitch/vswitch.h"

/* ---- frames -------------------------------------------------------------- */

#define FRAME_MAX 9018 /* the net_pcap PMD's snap length */
#define ETYPE_TEST 0x88b5 /* IEEE local experimental ethertype */
#define TPID_Q 0x8100u
#define TPID_AD 0x88a8u
#define TPID_9100 0x9100u
#define BCAST 0xffffffffffffull

/* A tag as (TPID << 16 | TCI). */
#define TAG(tpid, pcp, vid) \
    (((uint32_t)(tpid) << 16) | ((uint32_t)(pcp) << 13) | (uint32_t)(vid))
#define Q(pcp, vid) TAG(TPID_Q, pcp, vid)

struct frame {
    uint32_t len;
    uint8_t b[FRAME_MAX];
};

/* A list of frames, each stored at its own length. */
struct fref {
    uint32_t len;
    uint8_t *b;
};

struct flist {
    struct fref *v;
    uint32_t n, cap;
};

static void fl_add_raw(struct flist *l, const uint8_t *b, uint32_t len)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->v = realloc(l->v, sizeof(*l->v) * l->cap);
        assert_non_null(l->v);
    }
    l->v[l->n].b = malloc(len ? len : 1);
    assert_non_null(l->v[l->n].b);
    memcpy(l->v[l->n].b, b, len);
    l->v[l->n++].len = len;
}

static void fl_add(struct flist *l, const struct frame *f)
{
    fl_add_raw(l, f->b, f->len);
}

/* Empties the list (keeps nothing). */
static void fl_free(struct flist *l)
{
    for (uint32_t i = 0; i < l->n; i++)
        free(l->v[i].b);
    free(l->v);
    memset(l, 0, sizeof(*l));
}

static uint64_t fl_bytes(const struct flist *l)
{
    uint64_t b = 0;
    for (uint32_t i = 0; i < l->n; i++)
        b += l->v[i].len;
    return b;
}

static void put_mac(uint8_t *p, uint64_t mac)
{
    for (int i = 0; i < 6; i++)
        p[i] = (uint8_t)(mac >> (40 - 8 * i));
}

/* dst, src, the tags in order, ETYPE_TEST, then `plen` payload bytes that
 * depend only on `seed` (so a frame keeps its payload whatever tags the
 * switch adds or removes). */
static struct frame fr_build(uint64_t dst, uint64_t src, const uint32_t *tags,
                             unsigned ntags, unsigned plen, uint8_t seed)
{
    struct frame f;
    uint32_t o = 12;

    memset(&f, 0, sizeof(f));
    put_mac(f.b, dst);
    put_mac(f.b + 6, src);
    for (unsigned i = 0; i < ntags; i++) {
        f.b[o++] = (uint8_t)(tags[i] >> 24);
        f.b[o++] = (uint8_t)(tags[i] >> 16);
        f.b[o++] = (uint8_t)(tags[i] >> 8);
        f.b[o++] = (uint8_t)tags[i];
    }
    f.b[o++] = ETYPE_TEST >> 8;
    f.b[o++] = ETYPE_TEST & 0xff;
    for (unsigned i = 0; i < plen; i++)
        f.b[o++] = (uint8_t)(seed * 31 + i * 7 + 1);
    f.len = o;
    return f;
}

static struct frame fr_untagged(uint64_t dst, uint64_t src, unsigned plen,
                                uint8_t seed)
{
    return fr_build(dst, src, NULL, 0, plen, seed);
}

static struct frame fr_tagged(uint64_t dst, uint64_t src, uint32_t tag,
                              unsigned plen, uint8_t seed)
{
    return fr_build(dst, src, &tag, 1, plen, seed);
}

static struct frame fr_raw(const uint8_t *b, uint32_t len)
{
    struct frame f;

    memset(&f, 0, sizeof(f));
    memcpy(f.b, b, len);
    f.len = len;
    return f;
}

static void hexdump(const char *what, const struct fref *f)
{
    fprintf(stderr, "  %s (%u bytes):", what, f->len);
    for (uint32_t i = 0; i < f->len && i < 64; i++)
        fprintf(stderr, "%s%02x", i % 16 ? " " : "\n    ", f->b[i]);
    fprintf(stderr, "%s\n", f->len > 64 ? " ..." : "");
}

/* ---- pcap files ---------------------------------------------------------- */

static void pcap_write(const char *path, const struct flist *l)
{
    pcap_t *pd = pcap_open_dead(DLT_EN10MB, 65535);
    pcap_dumper_t *d;

    assert_non_null(pd);
    d = pcap_dump_open(pd, path);
    if (!d)
        fail_msg("pcap_dump_open %s: %s", path, pcap_geterr(pd));
    for (uint32_t i = 0; l && i < l->n; i++) {
        struct pcap_pkthdr h = { .caplen = l->v[i].len, .len = l->v[i].len };
        h.ts.tv_sec = 1;
        h.ts.tv_usec = (suseconds_t)i;
        pcap_dump((u_char *)d, &h, l->v[i].b);
    }
    pcap_dump_close(d);
    pcap_close(pd);
}

static void pcap_read(const char *path, struct flist *out)
{
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline(path, err);
    struct pcap_pkthdr *h;
    const u_char *data;
    int rc;

    if (!p)
        fail_msg("pcap_open_offline %s: %s", path, err);
    while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
        assert_true(h->caplen <= FRAME_MAX);
        assert_int_equal(h->caplen, h->len);
        fl_add_raw(out, data, h->caplen);
    }
    assert_int_equal(rc, PCAP_ERROR_BREAK); /* end of file, not an error */
    pcap_close(p);
}

/* ---- the harness --------------------------------------------------------- */

#define MAX_TP 12
#define MAX_STATIC 16
#define N_MBUFS 8191
#define WAIT_MS 5000

struct tport {
    char label[16];
    struct vlan_port_mode mode;
    uint32_t learn_limit;
    uint32_t switch_idx;          /* 0 = "sw0", 1 = "sw1" */
    struct vsw_port *p;           /* NULL once closed */
    uint16_t id;                  /* vsw port id while it was open */
    char in[256], out[256];
    char dev[32];                 /* its ethdev's name */
    bool ring;                    /* net_ring loopback: no files */
    struct flist sent;            /* what its rx_pcap held */
    struct flist got;             /* what its tx_pcap held at close */
    struct vsw_port_stats st;     /* counters at close */
    bool used;
};

struct tstatic {
    uint16_t vid;
    uint64_t mac;
    unsigned slot;    /* SLOT_ABSENT: a port with no device (port NULL) */
};

#define SLOT_ABSENT MAX_TP

static struct {
    struct vsw *sw;
    struct rte_mempool *pool;
    unsigned pool_baseline;
    /* learns refused so far because an FDB's writer lock was busy, both
     * switches (read by phase_end; see expect_drops) */
    uint64_t learn_busy;
    char dir[64];
    unsigned seq;
    struct tport tp[MAX_TP];
    struct tstatic statics[MAX_STATIC];
    unsigned n_statics;
    uint32_t sw0_fdb_max;           /* 0: 8192 */
} g;

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static struct vlan_port_mode m_access(uint16_t vid)
{
    struct vlan_port_mode m;

    vlan_port_mode_default(&m);
    m.access_vid = vid;
    return m;
}

static struct vlan_port_mode m_trunk(const char *allowed, uint16_t native,
                                     bool native_tagged)
{
    struct vlan_port_mode m;
    struct vsa_errmsg em;

    memset(&m, 0, sizeof(m));
    m.mode = VLAN_MODE_TRUNK;
    m.native_vid = native;
    m.native_tagged = native_tagged;
    assert_int_equal(vlan_set_parse(allowed, m.allowed, &em), 0);
    return m;
}

/* Writes the port's input file and opens it (the port carries nothing until
 * the next commit). */
static struct tport *tp_open(unsigned slot, const char *label,
                             struct vlan_port_mode mode, uint32_t learn_limit,
                             const struct flist *in)
{
    struct tport *t = &g.tp[slot];
    struct vsw_port_spec spec;
    struct vsa_errmsg em;
    char devargs[640];
    int rc;

    assert_true(slot < MAX_TP);
    assert_false(t->used);
    memset(t, 0, sizeof(*t));
    t->used = true;
    snprintf(t->label, sizeof(t->label), "%s", label);
    t->mode = mode;
    t->learn_limit = learn_limit;
    snprintf(t->in, sizeof(t->in), "%s/%u_%s_in.pcap", g.dir, g.seq, label);
    snprintf(t->out, sizeof(t->out), "%s/%u_%s_out.pcap", g.dir, g.seq, label);
    for (uint32_t i = 0; in && i < in->n; i++)
        fl_add_raw(&t->sent, in->v[i].b, in->v[i].len);
    pcap_write(t->in, &t->sent);
    snprintf(t->dev, sizeof(t->dev), "net_pcap_t%u", g.seq);
    snprintf(devargs, sizeof(devargs), "%s,rx_pcap=%s,tx_pcap=%s", t->dev,
             t->in, t->out);
    g.seq++;
    memset(&spec, 0, sizeof(spec));
    snprintf(spec.name, sizeof(spec.name), "%s", label);
    spec.cls = VSW_PORT_DPDK;
    spec.devargs = devargs;
    rc = vsw_port_open(g.sw, &spec, &t->p, &em);
    if (rc != 0)
        fail_msg("vsw_port_open(%s): %d %s", devargs, rc, em.msg);
    assert_true(vsw_port_link_up(t->p));
    t->id = vsw_port_id(t->p);
    return t;
}

static void add_static(uint16_t vid, uint64_t mac, unsigned slot)
{
    assert_true(g.n_statics < MAX_STATIC);
    g.statics[g.n_statics++] = (struct tstatic){ vid, mac, slot };
}

/* Publishes switches "sw0" and "sw1" with every open port (slot order) and
 * the static entries (all in sw0), or with no port at all. */
static int commit(bool with_ports)
{
    const struct vsw_cfg_switch swc[2] = {
        { .name = "sw0", .fdb_max = g.sw0_fdb_max ? g.sw0_fdb_max : 8192,
          .aging_s = 300 },
        { .name = "sw1", .fdb_max = 8192, .aging_s = 300 },
    };
    struct vsw_cfg_port cp[MAX_TP];
    struct vsw_cfg_static cs[MAX_STATIC];
    struct vsw_cfg cfg = { .switches = swc, .n_switches = 2,
                           .ports = cp, .statics = cs };
    struct vsa_errmsg em;
    int rc;

    memset(cp, 0, sizeof(cp));
    for (unsigned i = 0; with_ports && i < MAX_TP; i++) {
        struct tport *t = &g.tp[i];
        if (!t->used || !t->p)
            continue;
        cp[cfg.n_ports++] = (struct vsw_cfg_port){
            .port = t->p, .switch_idx = t->switch_idx, .vlan = t->mode,
            .learn_limit = t->learn_limit,
        };
    }
    for (unsigned i = 0; with_ports && i < g.n_statics; i++) {
        cs[cfg.n_statics++] = (struct vsw_cfg_static){
            .switch_idx = 0, .vid = g.statics[i].vid,
            .mac = vsa_mac_from_u64(g.statics[i].mac),
            .port = g.statics[i].slot == SLOT_ABSENT
                        ? NULL : g.tp[g.statics[i].slot].p,
        };
    }
    rc = vsw_commit(g.sw, &cfg, &em);
    if (rc != 0)
        print_error("vsw_commit: %d %s\n", rc, em.msg);
    return rc;
}

/* Waits until every open port has received what it was sent, and the
 * lcores have switched it. */
static void wait_all_rx(void)
{
    uint64_t deadline;

    deadline = now_ms() + WAIT_MS;
    for (;;) {
        bool done = true;
        for (unsigned i = 0; i < MAX_TP; i++) {
            struct tport *t = &g.tp[i];
            struct vsw_port_stats st;
            if (!t->used || !t->p)
                continue;
            vsw_get_port_stats(g.sw, t->p, &st);
            if (st.rx_packets > t->sent.n)
                fail_msg("port %s: rx %lu > %u frames sent", t->label,
                         (unsigned long)st.rx_packets, t->sent.n);
            if (st.rx_packets < t->sent.n) {
                done = false;
                if (now_ms() > deadline)
                    fail_msg("port %s: %lu of %u frames received after "
                             "%d ms", t->label, (unsigned long)st.rx_packets,
                             t->sent.n, WAIT_MS);
            }
        }
        if (done) {
            /* rx is counted before the burst is switched (learned, sent
             * on): once every lcore has passed a quiescent point after
             * it, that is done too, and the FDB can be read */
            vsw__rcu_synchronize(g.sw->qsbr);
            return;
        }
        usleep(500);
    }
}

/* Commits every open port and waits until each has received its whole
 * input file (forwarded or dropped: rx counts both). */
static void step(void)
{
    assert_int_equal(commit(true), 0);
    wait_all_rx();
}

/* Unpublishes and closes every port, reads the output files, then checks
 * what holds for every phase: rx counters equal the input files, tx
 * counters equal the output files (bytes after tagging), and every mbuf is
 * back in the pool. */
static void phase_end(void)
{
    assert_int_equal(commit(false), 0);
    /* after the commit's grace period: the lcore has finished counting */
    g.learn_busy = 0;
    for (unsigned i = 0; i < 2; i++) {
        struct vsw_fdb *fdb = vsw_switch_fdb(g.sw, i ? "sw1" : "sw0");
        struct vsw_fdb_stats fs;

        if (!fdb)
            continue;
        vsw_fdb_get_stats(fdb, &fs);
        g.learn_busy += fs.learn_busy;
    }
    for (unsigned i = 0; i < MAX_TP; i++) {
        struct tport *t = &g.tp[i];
        if (!t->used || !t->p)
            continue;
        vsw_get_port_stats(g.sw, t->p, &t->st);
        vsw_port_close(g.sw, t->p);
        t->p = NULL;
    }
    for (unsigned i = 0; i < MAX_TP; i++) {
        struct tport *t = &g.tp[i];
        if (!t->used)
            continue;
        if (!t->ring) /* a ring port was sent nothing (tp_open_ring) */
            pcap_read(t->out, &t->got);
        if (t->st.rx_packets != t->sent.n ||
            t->st.rx_bytes != fl_bytes(&t->sent))
            fail_msg("port %s: rx %lu frames / %lu bytes, sent %u / %lu",
                     t->label, (unsigned long)t->st.rx_packets,
                     (unsigned long)t->st.rx_bytes, t->sent.n,
                     (unsigned long)fl_bytes(&t->sent));
        if (t->st.tx_packets != t->got.n ||
            t->st.tx_bytes != fl_bytes(&t->got))
            fail_msg("port %s: tx %lu frames / %lu bytes, file has %u / %lu",
                     t->label, (unsigned long)t->st.tx_packets,
                     (unsigned long)t->st.tx_bytes, t->got.n,
                     (unsigned long)fl_bytes(&t->got));
    }
    if (rte_mempool_avail_count(g.pool) != g.pool_baseline)
        fail_msg("mbuf leak: %u of %u mbufs available after the phase",
                 rte_mempool_avail_count(g.pool), g.pool_baseline);
}

static void expect_frames(const char *what, const struct flist *got,
                          const struct flist *exp)
{
    uint32_t n = got->n < exp->n ? got->n : exp->n;

    for (uint32_t i = 0; i < n; i++) {
        const struct fref *a = &got->v[i], *b = &exp->v[i];
        if (a->len != b->len || memcmp(a->b, b->b, a->len) != 0) {
            hexdump("got", a);
            hexdump("expected", b);
            fail_msg("%s: output frame %u differs", what, i);
        }
    }
    if (got->n != exp->n) {
        for (uint32_t i = n; i < got->n; i++)
            hexdump("extra", &got->v[i]);
        for (uint32_t i = n; i < exp->n; i++)
            hexdump("missing", &exp->v[i]);
        fail_msg("%s: %u output frames, expected %u", what, got->n, exp->n);
    }
}

/* Port `slot`'s whole output equals `exp`, byte for byte and in order. */
static void expect_out(unsigned slot, const struct flist *exp)
{
    char what[32];

    snprintf(what, sizeof(what), "port %s", g.tp[slot].label);
    expect_frames(what, &g.tp[slot].got, exp);
}

/* Every drop counter of the port, 0 unless listed as (reason, value, ...,
 * -1). */
static void expect_drops(unsigned slot, ...)
{
    const struct tport *t = &g.tp[slot];
    uint64_t want[VSW_DROP_MAX] = { 0 };
    va_list ap;
    int d;

    va_start(ap, slot);
    while ((d = va_arg(ap, int)) >= 0)
        want[d] = va_arg(ap, uint64_t);
    va_end(ap);
    for (d = 0; d < VSW_DROP_MAX; d++) {
        /* A learn that finds the FDB's writer lock held (by the commit
         * that published the ports, still at its FDB work while the lcore
         * already forwards) is skipped and counted by design (fdb.h,
         * learn_busy; the next frame learns).  Seen under TSan with two
         * suites in parallel; not what these tests check. */
        if (d == VSW_DROP_LEARN_REFUSED && t->st.drops[d] > want[d] &&
            t->st.drops[d] - want[d] <= g.learn_busy)
            continue;
        if (t->st.drops[d] != want[d])
            fail_msg("port %s: drop %s = %lu, expected %lu", t->label,
                     vsw_drop_name((enum vsw_drop)d),
                     (unsigned long)t->st.drops[d], (unsigned long)want[d]);
    }
}
#define DROPS_END (-1)
#define D(reason, n) VSW_DROP_##reason, (uint64_t)(n)

struct fdb_find {
    uint16_t vid;
    uint64_t mac;
    int port;         /* -1 = not found */
    bool is_static;
};

static int fdb_find_cb(const struct vsw_fdb_entry *e, void *arg)
{
    struct fdb_find *f = arg;
    if (e->vid == f->vid && e->mac == f->mac) {
        f->port = e->port;
        f->is_static = e->is_static;
        return 1;
    }
    return 0;
}

/* The port of (vid, mac) in the named switch's FDB, or -1. */
static int fdb_port_in(const char *sw, uint16_t vid, uint64_t mac,
                       bool *is_static)
{
    struct fdb_find f = { vid, mac, -1, false };
    struct vsw_fdb *fdb = vsw_switch_fdb(g.sw, sw);

    assert_non_null(fdb);
    vsw_fdb_walk(fdb, fdb_find_cb, &f);
    if (is_static)
        *is_static = f.is_static;
    return f.port;
}

static int fdb_port_of(uint16_t vid, uint64_t mac, bool *is_static)
{
    return fdb_port_in("sw0", vid, mac, is_static);
}

static void reset_ports(void)
{
    for (unsigned i = 0; i < MAX_TP; i++) {
        fl_free(&g.tp[i].sent);
        fl_free(&g.tp[i].got);
        memset(&g.tp[i], 0, sizeof(g.tp[i]));
    }
    g.n_statics = 0;
    g.sw0_fdb_max = 0;
}

static int test_setup(void **state)
{
    (void)state;
    reset_ports();
    return 0;
}

/* After a failed assertion ports may still be published: unpublish and
 * close them so the next test starts from a switch with no ports. */
static int test_teardown(void **state)
{
    bool open = false;

    (void)state;
    for (unsigned i = 0; i < MAX_TP; i++)
        open |= g.tp[i].used && g.tp[i].p;
    if (open) {
        commit(false);
        for (unsigned i = 0; i < MAX_TP; i++) {
            if (g.tp[i].used && g.tp[i].p)
                vsw_port_close(g.sw, g.tp[i].p);
            g.tp[i].p = NULL;
        }
    }
    reset_ports();
    return 0;
}

/* ---- VLAN matrix (TESTS.md #16) ------------------------------------------ */

enum vm_port { P_A, P_B, P_T, P_N, P_U, P_X, P_MAX };
enum vm_frame { F_UNTAG, F_PRIO, F_V10, F_V20, F_V30, F_V4095, F_QINQ, F_AD,
                F_9100, F_MAX };

static const char *const vm_port_name[P_MAX] = { "A", "B", "T", "N", "U",
                                                 "X" };

/* The input frames, sent by every port in this order, all to broadcast. */
static const struct {
    uint8_t ntags;
    uint32_t tags[2];
} vm_in[F_MAX] = {
    [F_UNTAG] = { 0, { 0 } },
    [F_PRIO] = { 1, { Q(5, 0) } },                  /* priority-tagged */
    [F_V10] = { 1, { Q(3, 10) } },
    [F_V20] = { 1, { Q(3, 20) } },
    [F_V30] = { 1, { Q(3, 30) } },
    [F_V4095] = { 1, { Q(3, 4095) } },
    [F_QINQ] = { 2, { Q(3, 10), Q(1, 20) } },       /* outer 10, inner 20 */
    [F_AD] = { 1, { TAG(TPID_AD, 3, 10) } },        /* 802.1ad: untagged */
    [F_9100] = { 1, { TAG(TPID_9100, 3, 10) } },    /* not a tag either */
};

/* Golden egress: for (ingress, frame) every port that emits it and the
 * exact tag stack it carries (the rest of the frame is unchanged).  Port
 * modes:  A access 10, B access 20, T trunk {10,20,30} native 1 untagged,
 * N trunk {10} native 10 tagged, U access 1, X trunk {40} no native. */
static const struct vm_golden {
    uint8_t in, f, out, ntags;
    uint32_t tags[2];
} vm_golden[] = {
    /* A, access 10: untagged and priority frames are VLAN 10 */
    { P_A, F_UNTAG, P_T, 1, { Q(0, 10) } },
    { P_A, F_UNTAG, P_N, 1, { Q(0, 10) } },
    { P_A, F_PRIO, P_T, 1, { Q(5, 10) } },          /* PCP kept on rewrite */
    { P_A, F_PRIO, P_N, 1, { Q(5, 10) } },
    { P_A, F_AD, P_T, 2, { Q(0, 10), TAG(TPID_AD, 3, 10) } },
    { P_A, F_AD, P_N, 2, { Q(0, 10), TAG(TPID_AD, 3, 10) } },
    { P_A, F_9100, P_T, 2, { Q(0, 10), TAG(TPID_9100, 3, 10) } },
    { P_A, F_9100, P_N, 2, { Q(0, 10), TAG(TPID_9100, 3, 10) } },
    /* B, access 20 */
    { P_B, F_UNTAG, P_T, 1, { Q(0, 20) } },
    { P_B, F_PRIO, P_T, 1, { Q(5, 20) } },
    { P_B, F_AD, P_T, 2, { Q(0, 20), TAG(TPID_AD, 3, 10) } },
    { P_B, F_9100, P_T, 2, { Q(0, 20), TAG(TPID_9100, 3, 10) } },
    /* T, trunk {10,20,30} native 1 untagged */
    { P_T, F_UNTAG, P_U, 0, { 0 } },
    { P_T, F_PRIO, P_U, 0, { 0 } },                 /* priority tag removed */
    { P_T, F_V10, P_A, 0, { 0 } },
    { P_T, F_V10, P_N, 1, { Q(3, 10) } },
    { P_T, F_V20, P_B, 0, { 0 } },
    { P_T, F_QINQ, P_A, 1, { Q(1, 20) } },          /* inner tag intact */
    { P_T, F_QINQ, P_N, 2, { Q(3, 10), Q(1, 20) } },
    { P_T, F_AD, P_U, 1, { TAG(TPID_AD, 3, 10) } },
    { P_T, F_9100, P_U, 1, { TAG(TPID_9100, 3, 10) } },
    /* N, trunk {10} native 10 tagged */
    { P_N, F_UNTAG, P_A, 0, { 0 } },
    { P_N, F_UNTAG, P_T, 1, { Q(0, 10) } },
    { P_N, F_PRIO, P_A, 0, { 0 } },
    { P_N, F_PRIO, P_T, 1, { Q(5, 10) } },
    { P_N, F_V10, P_A, 0, { 0 } },
    { P_N, F_V10, P_T, 1, { Q(3, 10) } },
    { P_N, F_QINQ, P_A, 1, { Q(1, 20) } },
    { P_N, F_QINQ, P_T, 2, { Q(3, 10), Q(1, 20) } },
    { P_N, F_AD, P_A, 1, { TAG(TPID_AD, 3, 10) } },
    { P_N, F_AD, P_T, 2, { Q(0, 10), TAG(TPID_AD, 3, 10) } },
    { P_N, F_9100, P_A, 1, { TAG(TPID_9100, 3, 10) } },
    { P_N, F_9100, P_T, 2, { Q(0, 10), TAG(TPID_9100, 3, 10) } },
    /* U, access 1 */
    { P_U, F_UNTAG, P_T, 0, { 0 } },
    { P_U, F_PRIO, P_T, 0, { 0 } },
    { P_U, F_AD, P_T, 1, { TAG(TPID_AD, 3, 10) } },
    { P_U, F_9100, P_T, 1, { TAG(TPID_9100, 3, 10) } },
    /* X, trunk {40} without a native VLAN: emits and receives nothing */
};

/* Golden ingress drops per port (all other counters 0). */
static const struct {
    uint64_t untagged, tagged_on_access, not_allowed, reserved, no_member;
} vm_drops[P_MAX] = {
    [P_A] = { .tagged_on_access = 4, .reserved = 1 },
    [P_B] = { .tagged_on_access = 4, .reserved = 1 },
    [P_T] = { .reserved = 1, .no_member = 1 },   /* VLAN 30: nobody else */
    [P_N] = { .not_allowed = 2, .reserved = 1 },
    [P_U] = { .tagged_on_access = 4, .reserved = 1 },
    [P_X] = { .untagged = 4, .not_allowed = 4, .reserved = 1 },
};

static uint64_t vm_src(unsigned in, unsigned f)
{
    return 0x020000000000ull | (uint64_t)(in + 1) << 8 | f;
}

static struct frame vm_frame(unsigned in, unsigned f, const uint32_t *tags,
                             unsigned ntags)
{
    return fr_build(BCAST, vm_src(in, f), tags, ntags, 46,
                    (uint8_t)(in * 16 + f));
}

static struct vlan_port_mode vm_mode(unsigned p)
{
    switch (p) {
    case P_A: return m_access(10);
    case P_B: return m_access(20);
    case P_T: return m_trunk("10,20,30", 1, false);
    case P_N: return m_trunk("10", 10, true);
    case P_U: return m_access(1);
    default: return m_trunk("40", 0, false);
    }
}

static void test_vlan_matrix(void **state)
{
    (void)state;
    for (unsigned in = 0; in < P_MAX; in++) {
        struct flist sent = { 0 };

        reset_ports();
        for (unsigned f = 0; f < F_MAX; f++) {
            struct frame fr = vm_frame(in, f, vm_in[f].tags, vm_in[f].ntags);
            fl_add(&sent, &fr);
        }
        for (unsigned p = 0; p < P_MAX; p++)
            tp_open(p, vm_port_name[p], vm_mode(p), 0,
                    p == in ? &sent : NULL);
        fl_free(&sent);
        step();
        phase_end();

        for (unsigned p = 0; p < P_MAX; p++) {
            struct flist exp = { 0 };
            for (unsigned f = 0; f < F_MAX; f++)
                for (size_t r = 0; r < sizeof(vm_golden) / sizeof(vm_golden[0]);
                     r++) {
                    const struct vm_golden *gr = &vm_golden[r];
                    if (gr->in == in && gr->f == f && gr->out == p) {
                        struct frame fr = vm_frame(in, f, gr->tags, gr->ntags);
                        fl_add(&exp, &fr);
                    }
                }
            expect_out(p, &exp);
            fl_free(&exp);
            if (p == in)
                expect_drops(p, D(VLAN_UNTAGGED, vm_drops[p].untagged),
                             D(VLAN_TAGGED, vm_drops[p].tagged_on_access),
                             D(VLAN_NOT_ALLOWED, vm_drops[p].not_allowed),
                             D(VLAN_RESERVED, vm_drops[p].reserved),
                             D(NO_MEMBER, vm_drops[p].no_member), DROPS_END);
            else
                expect_drops(p, DROPS_END);
        }

        /* Spot checks of the frame builder itself, byte for byte. */
        if (in == P_A) {
            static const uint8_t prio_on_t[18] = {
                0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00,
                0x01, 0x01, 0x81, 0x00, 0xa0, 0x0a, 0x88, 0xb5,
            };
            assert_int_equal(g.tp[P_T].got.n, 4);
            assert_int_equal(g.tp[P_T].got.v[1].len, 64);
            assert_memory_equal(g.tp[P_T].got.v[1].b, prio_on_t, 18);
        }
        if (in == P_N) {
            static const uint8_t qinq_on_a[18] = {
                0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00,
                0x04, 0x06, 0x81, 0x00, 0x20, 0x14, 0x88, 0xb5,
            };
            assert_int_equal(g.tp[P_A].got.n, 6);
            assert_int_equal(g.tp[P_A].got.v[3].len, 64);
            assert_memory_equal(g.tp[P_A].got.v[3].b, qinq_on_a, 18);
        }
    }
}

/* ---- learning, unicast, same_port, MAC move (TESTS.md #18) --------------- */

#define MAC(n) (0x020000000100ull + (n))
#define MCAST_SRC 0x01005e000001ull

static void test_learning(void **state)
{
    struct vsw_fdb *fdb = vsw_switch_fdb(g.sw, "sw0");
    struct vsw_fdb_stats st0, st1;
    struct frame a, b, c, d, e, f, gg, h, i, mc, zs;
    struct flist in = { 0 }, exp = { 0 };

    (void)state;
    assert_non_null(fdb);
    vsw_fdb_get_stats(fdb, &st0);

    /* Step 1: P1 broadcasts from M1: flooded to every other port. */
    a = fr_untagged(BCAST, MAC(1), 46, 1);
    fl_add(&in, &a);
    tp_open(0, "P1", m_access(1), 0, &in);
    tp_open(1, "P2", m_access(1), 0, NULL);
    tp_open(2, "P3", m_access(1), 0, NULL);
    tp_open(3, "P4", m_access(1), 0, NULL);
    step();
    assert_int_equal(fdb_port_of(1, MAC(1), NULL), g.tp[0].id);

    /* Step 2: P5 sends to M1 (learned: P1 only) and to an unknown MAC
     * (flooded to P1..P4); a frame with a multicast or an all-zero source
     * (net_null sends those) is forwarded but its source is never
     * learned. */
    fl_free(&in);
    b = fr_untagged(MAC(1), MAC(5), 46, 2);
    c = fr_untagged(MAC(99), MAC(5), 46, 3);
    mc = fr_untagged(MAC(1), MCAST_SRC, 46, 10);
    zs = fr_untagged(MAC(1), 0, 46, 11);
    fl_add(&in, &b);
    fl_add(&in, &c);
    fl_add(&in, &mc);
    fl_add(&in, &zs);
    tp_open(4, "P5", m_access(1), 0, &in);
    step();
    assert_int_equal(fdb_port_of(1, MCAST_SRC, NULL), -1);
    assert_int_equal(fdb_port_of(1, 0, NULL), -1);

    /* Step 3: P6 broadcasts from M6, then sends to M6 from the same port:
     * the second frame is dropped as same_port. */
    fl_free(&in);
    d = fr_untagged(BCAST, MAC(6), 46, 4);
    e = fr_untagged(MAC(6), MAC(61), 46, 5);
    fl_add(&in, &d);
    fl_add(&in, &e);
    tp_open(5, "P6", m_access(1), 0, &in);
    step();

    /* Step 4: M1 moves to P7; the very next frame (to M1, from P7) follows
     * the move and is dropped as same_port instead of going to P1. */
    fl_free(&in);
    f = fr_untagged(BCAST, MAC(1), 46, 6);
    gg = fr_untagged(MAC(1), MAC(7), 46, 7);
    fl_add(&in, &f);
    fl_add(&in, &gg);
    tp_open(6, "P7", m_access(1), 0, &in);
    step();
    assert_int_equal(fdb_port_of(1, MAC(1), NULL), g.tp[6].id);

    /* Step 5: P8 sends to M1 (now P7 only) and to M5 (P5, unchanged). */
    fl_free(&in);
    h = fr_untagged(MAC(1), MAC(8), 46, 8);
    i = fr_untagged(MAC(5), MAC(8), 46, 9);
    fl_add(&in, &h);
    fl_add(&in, &i);
    tp_open(7, "P8", m_access(1), 0, &in);
    step();
    fl_free(&in);

    vsw_fdb_get_stats(fdb, &st1);
    assert_int_equal(st1.moved - st0.moved, 1);
    /* new: M1, M5, M6, M61, M7, M8 (M1 on P7 is a move) */
    assert_int_equal(st1.learned - st0.learned, 6);
    phase_end();
    /* The switch (and its FDB) survived the port closes; their entries
     * did not. */
    assert_ptr_equal(vsw_switch_fdb(g.sw, "sw0"), fdb);
    assert_int_equal(fdb_port_of(1, MAC(1), NULL), -1);

    /* Golden outputs. */
    {
        const struct frame *p1[] = { &b, &c, &mc, &zs, &d, &f };
        const struct frame *p2[] = { &a, &c, &d, &f };
        const struct frame *p5[] = { &d, &f, &i };
        const struct frame *p6[] = { &f };
        const struct frame *p7[] = { &h };

        for (unsigned k = 0; k < 6; k++)
            fl_add(&exp, p1[k]);
        expect_out(0, &exp);
        fl_free(&exp);
        for (unsigned k = 0; k < 4; k++)
            fl_add(&exp, p2[k]);
        expect_out(1, &exp);
        expect_out(2, &exp);
        expect_out(3, &exp);
        fl_free(&exp);
        for (unsigned k = 0; k < 3; k++)
            fl_add(&exp, p5[k]);
        expect_out(4, &exp);
        fl_free(&exp);
        fl_add(&exp, p6[0]);
        expect_out(5, &exp);
        fl_free(&exp);
        fl_add(&exp, p7[0]);
        expect_out(6, &exp);
        fl_free(&exp);
        expect_out(7, &exp);
        fl_free(&exp);
    }
    for (unsigned k = 0; k < 8; k++) {
        if (k == 5 || k == 6)
            expect_drops(k, D(SAME_PORT, 1), DROPS_END);
        else
            expect_drops(k, DROPS_END);
    }
}

static struct tport *tp_open_ring(unsigned slot, const char *label,
                                  struct vlan_port_mode mode,
                                  const struct flist *in);
static void ring_put(unsigned slot, uint16_t pid, struct rte_mbuf *m);

/* Whether a set of static entries fits depends on the table's hash seed,
 * drawn anew for every table: a configuration accepted on one table must
 * not be refused when a commit makes another (at every start, or with
 * another fdb_max).  Sixteen statics in an fdb_max of 16 (8 buckets of 4):
 * the test finds a seed they do not fit under and one they do, and the
 * seed hook hands the new table the bad one first.  vswitch used to refuse
 * the commit ("no room for static FDB entry"); it now tries other seeds. */
static uint64_t seeds[2];
static unsigned n_seed_draws;

static uint64_t seed_hook(void)
{
    return seeds[n_seed_draws++ == 0 ? 0 : 1];
}

static bool keep_none(const struct vsw_fdb_entry *e, const void *arg)
{
    (void)e;
    (void)arg;
    return true;
}

/* MAX_STATIC keys in want[] and a seed of a table of 16 entries that has
 * no room for them all, and one that has. */
static void find_seeds(struct vsw_fdb_static_key want[MAX_STATIC],
                       uint64_t *bad_seed, uint64_t *good_seed)
{
    uint32_t bad;

    *bad_seed = *good_seed = 0;
    for (unsigned i = 0; i < MAX_STATIC; i++)
        want[i] = (struct vsw_fdb_static_key){ 1, MAC(0x300 + i) };
    for (uint64_t seed = 1; seed < 100000 && !(*bad_seed && *good_seed);
         seed++) {
        struct vsw_fdb *f;

        assert_int_equal(vsw_fdb_create(&(struct vsw_fdb_params){
                             .max_entries = 16, .aging_s = 300,
                             .seed = seed }, &f), 0);
        if (vsw_fdb_statics_fit(f, want, MAX_STATIC, keep_none, NULL,
                                &bad) == 0)
            *good_seed = *good_seed ? *good_seed : seed;
        else
            *bad_seed = *bad_seed ? *bad_seed : seed;
        vsw_fdb_destroy(f);
    }
    assert_true(*bad_seed && *good_seed);
}

/* Every key of want[] is a static entry of sw0 on the port in `slot`. */
static void expect_static_on(const struct vsw_fdb_static_key *want,
                             unsigned slot)
{
    bool is_static;

    for (unsigned i = 0; i < MAX_STATIC; i++) {
        assert_int_equal(fdb_port_of(want[i].vid, want[i].mac, &is_static),
                         g.tp[slot].id);
        assert_true(is_static);
    }
}

static void test_statics_fit_any_seed(void **state)
{
    struct vsw_fdb_static_key want[MAX_STATIC];
    uint64_t bad_seed, good_seed;

    (void)state;
    find_seeds(want, &bad_seed, &good_seed);

    tp_open(0, "S", m_access(1), 0, NULL);
    for (unsigned i = 0; i < MAX_STATIC; i++)
        add_static(1, want[i].mac, 0);
    g.sw0_fdb_max = 16; /* a new table for sw0 */
    seeds[0] = bad_seed;
    seeds[1] = good_seed;
    n_seed_draws = 0;
    vsw__fdb_seed_hook = seed_hook;
    assert_int_equal(commit(true), 0);
    vsw__fdb_seed_hook = NULL;
    assert_int_equal(n_seed_draws, 2); /* the bad draw, then the good */
    expect_static_on(want, 0);
    assert_int_equal(vsw_fdb_count(vsw_switch_fdb(g.sw, "sw0")), MAX_STATIC);
    phase_end();
}

/* Static entries of a port with no device yet (vesperd keeps such a port
 * configured and opens it when it can) are passed with no port: they are
 * not added, but the room check counts them.  vesperd used to leave them
 * out of the commit, so a set with no room was accepted, and the commit
 * that opened the port later was refused every time vesperd tried it. */
static void test_statics_absent_port_counted(void **state)
{
    struct vsw_fdb_static_key want[MAX_STATIC];
    uint64_t bad_seed, good_seed;

    (void)state;
    find_seeds(want, &bad_seed, &good_seed);
    tp_open(0, "S", m_access(1), 0, NULL);

    /* a table of 16 with the seed that has no room for the 16: kept by the
     * next commits, which therefore cannot try another seed (32 first: a
     * test before may have left sw0 a table of 16) */
    g.sw0_fdb_max = 32;
    assert_int_equal(commit(true), 0);
    g.sw0_fdb_max = 16;
    seeds[0] = seeds[1] = bad_seed;
    n_seed_draws = 0;
    vsw__fdb_seed_hook = seed_hook;
    assert_int_equal(commit(true), 0);
    vsw__fdb_seed_hook = NULL;
    for (unsigned i = 0; i < MAX_STATIC; i++)
        add_static(1, want[i].mac, SLOT_ABSENT);
    assert_int_equal(commit(true), -ENOSPC);
    assert_int_equal(vsw_fdb_count(vsw_switch_fdb(g.sw, "sw0")), 0);

    /* with room: accepted and not added; on the port, added */
    g.sw0_fdb_max = 32; /* a new table... */
    g.n_statics = 0;
    assert_int_equal(commit(true), 0);
    g.sw0_fdb_max = 16; /* ...and one of 16 with the seed that has room */
    seeds[0] = seeds[1] = good_seed;
    n_seed_draws = 0;
    vsw__fdb_seed_hook = seed_hook;
    for (unsigned i = 0; i < MAX_STATIC; i++)
        add_static(1, want[i].mac, SLOT_ABSENT);
    assert_int_equal(commit(true), 0);
    vsw__fdb_seed_hook = NULL;
    assert_int_equal(n_seed_draws, 1);
    assert_int_equal(vsw_fdb_count(vsw_switch_fdb(g.sw, "sw0")), 0);
    for (unsigned i = 0; i < MAX_STATIC; i++)
        g.statics[i].slot = 0;
    assert_int_equal(commit(true), 0);
    expect_static_on(want, 0);
    /* back to no device: the entries leave the table */
    for (unsigned i = 0; i < MAX_STATIC; i++)
        g.statics[i].slot = SLOT_ABSENT;
    assert_int_equal(commit(true), 0);
    assert_int_equal(vsw_fdb_count(vsw_switch_fdb(g.sw, "sw0")), 0);
    phase_end();
}

/* Another fdb_max gives sw0 a new FDB: the learned entries come along
 * (same port), the counters go on, the static entry is there; shrunk to
 * fewer slots than there are entries, what fits is kept, and a frame to a
 * kept MAC still goes to its port alone. */
static void test_fdb_resize_keeps_entries(void **state)
{
    struct flist none = { 0 };
    struct frame fr[8];
    struct vsw_fdb *fdb0, *fdb1;
    struct vsw_fdb_stats stb, st0, st1;
    bool is_static = false;
    unsigned kept = 0;
    uint64_t deadline;
    uint16_t pid;

    (void)state;
    fdb0 = vsw_switch_fdb(g.sw, "sw0");
    vsw_fdb_get_stats(fdb0, &stb);
    tp_open_ring(0, "P", m_access(1), &none);
    tp_open(1, "Q", m_access(1), 0, NULL);
    add_static(1, MAC(0xbb), 1);
    step();
    /* The frames come after the commit: frames published with it may find
     * the FDB's writer lock held by its FDB work and go unlearned (by
     * design: learn_busy; seen under TSan), and this test needs all 8
     * entries.  Learned counts after the burst's learning, so wait for
     * it rather than a commit, whose static entry would take the lock. */
    assert_int_equal(rte_eth_dev_get_port_by_name(g.tp[0].dev, &pid), 0);
    for (unsigned i = 0; i < 8; i++) {
        struct rte_mbuf *m = rte_pktmbuf_alloc(g.pool);

        fr[i] = fr_untagged(BCAST, MAC(0xa0 + i), 46, (uint16_t)(1 + i));
        assert_non_null(m);
        memcpy(rte_pktmbuf_append(m, (uint16_t)fr[i].len), fr[i].b,
               fr[i].len);
        ring_put(0, pid, m);
    }
    wait_all_rx();
    deadline = now_ms() + WAIT_MS;
    do {
        vsw_fdb_get_stats(fdb0, &st0);
    } while (st0.learned - stb.learned < 8 && now_ms() < deadline);
    assert_int_equal(st0.learned - stb.learned, 8);

    g.sw0_fdb_max = 16384;
    step();
    fdb1 = vsw_switch_fdb(g.sw, "sw0");
    assert_ptr_not_equal(fdb1, fdb0);       /* a new table */
    for (unsigned i = 0; i < 8; i++)
        assert_int_equal(fdb_port_of(1, MAC(0xa0 + i), NULL), g.tp[0].id);
    assert_int_equal(fdb_port_of(1, MAC(0xbb), &is_static), g.tp[1].id);
    assert_true(is_static);
    vsw_fdb_get_stats(fdb1, &st1);
    assert_int_equal(st1.learned, st0.learned);
    assert_int_equal(st1.refreshed, st0.refreshed);
    assert_int_equal(st1.table_full, st0.table_full);
    assert_int_equal(vsw_fdb_count(fdb1), 9);

    /* 4 entries in all: the static one and 3 learned */
    g.sw0_fdb_max = 4;
    step();
    assert_int_equal(vsw_fdb_count(vsw_switch_fdb(g.sw, "sw0")), 4);
    assert_int_equal(fdb_port_of(1, MAC(0xbb), NULL), g.tp[1].id);
    for (unsigned i = 0; i < 8; i++)
        kept += fdb_port_of(1, MAC(0xa0 + i), NULL) == (int)g.tp[0].id;
    assert_int_equal(kept, 3);
    phase_end();
}

/* What vswitch WARNs while a log hook counts (module vswitch only). */
static unsigned n_inherit_warns;

static void count_inherit_warns(enum vsa_log_level level, const char *module,
                                const char *msg)
{
    if (level == VSA_LOG_WARN && strcmp(module, "vswitch") == 0 &&
        strstr(msg, "learned entr"))
        n_inherit_warns++;
}

/* A commit that changes fdb_max and makes a learned MAC static on another
 * port: the MAC is static there, the other learned ones come along, and
 * vesperd's log has no WARN of entries left out for want of room.
 * Regression test: the overridden entry was counted lost, and the WARN
 * said the FDB had room for 16384 entries, 3 kept, 1 not. */
static void test_fdb_resize_static_not_lost(void **state)
{
    struct flist in = { 0 };
    struct frame fr[4];
    bool is_static = false;

    (void)state;
    for (unsigned i = 0; i < 4; i++) {
        fr[i] = fr_untagged(BCAST, MAC(0xc0 + i), 46, (uint16_t)(1 + i));
        fl_add(&in, &fr[i]);
    }
    tp_open(0, "P", m_access(1), 0, &in);
    tp_open(1, "Q", m_access(1), 0, NULL);
    step();
    assert_int_equal(fdb_port_of(1, MAC(0xc0), NULL), g.tp[0].id);

    g.sw0_fdb_max = 16384;
    add_static(1, MAC(0xc0), 1);
    n_inherit_warns = 0;
    vsa_log_set_hook(count_inherit_warns);
    step();
    vsa_log_set_hook(NULL);
    assert_int_equal(fdb_port_of(1, MAC(0xc0), &is_static), g.tp[1].id);
    assert_true(is_static);
    for (unsigned i = 1; i < 4; i++)
        assert_int_equal(fdb_port_of(1, MAC(0xc0 + i), NULL), g.tp[0].id);
    assert_int_equal(n_inherit_warns, 0);

    /* 2 entries: the static one and 1 learned; 2 left out, WARNed */
    g.sw0_fdb_max = 2;
    vsa_log_set_hook(count_inherit_warns);
    step();
    vsa_log_set_hook(NULL);
    assert_int_equal(vsw_fdb_count(vsw_switch_fdb(g.sw, "sw0")), 2);
    assert_int_equal(n_inherit_warns, 1);
    phase_end();
    fl_free(&in);
}

/* ---- bug: entries kept for a VLAN the port left -------------------------- */

/* Bug (found by this suite): vsw_commit() kept the learned entries of a
 * port in a VLAN that the new configuration removes from the port, so
 * unicast to those stations was dropped on that port as `no_member`
 * instead of being flooded, until the entries aged out (300 s). */
static void test_vlan_leave_flushes(void **state)
{
    struct flist in = { 0 }, e = { 0 };
    struct frame a, b, c;

    (void)state;
    /* Step 1: P (trunk {10,20}) broadcasts in VLAN 10 and 20 from MH. */
    a = fr_tagged(BCAST, MAC(0x91), Q(0, 10), 46, 1);
    b = fr_tagged(BCAST, MAC(0x91), Q(0, 20), 46, 2);
    fl_add(&in, &a);
    fl_add(&in, &b);
    tp_open(0, "P", m_trunk("10,20", 0, false), 0, &in);
    tp_open(1, "Q", m_access(10), 0, NULL);
    tp_open(2, "R", m_trunk("20", 0, false), 0, NULL);
    step();
    assert_int_equal(fdb_port_of(10, MAC(0x91), NULL), g.tp[0].id);
    assert_int_equal(fdb_port_of(20, MAC(0x91), NULL), g.tp[0].id);

    /* Step 2: P leaves VLAN 10 (keeps 20): its VLAN 10 entry goes, the
     * VLAN 20 one stays.  Step 3: S in VLAN 10 sends to MH: no entry, so
     * the frame floods to Q.  (S comes in a commit of its own: a frame
     * that arrives while the commit that removes the VLAN is still
     * flushing may meet the old entry.) */
    g.tp[0].mode = m_trunk("20", 0, false);
    step();
    assert_int_equal(fdb_port_of(10, MAC(0x91), NULL), -1);
    assert_int_equal(fdb_port_of(20, MAC(0x91), NULL), g.tp[0].id);
    fl_free(&in);
    c = fr_untagged(MAC(0x91), MAC(0x92), 46, 3);
    fl_add(&in, &c);
    tp_open(3, "S", m_access(10), 0, &in);
    step();
    assert_int_equal(fdb_port_of(10, MAC(0x91), NULL), -1);
    assert_int_equal(fdb_port_of(20, MAC(0x91), NULL), g.tp[0].id);
    phase_end();
    fl_free(&in);

    expect_out(0, &e);                      /* P: nothing */
    a = fr_untagged(BCAST, MAC(0x91), 46, 1);   /* Q (access 10) untagged */
    fl_add(&e, &a);
    fl_add(&e, &c);                         /* flooded, not dropped on P */
    expect_out(1, &e);
    fl_free(&e);
    fl_add(&e, &b);                         /* R: VLAN 20 tagged */
    expect_out(2, &e);
    fl_free(&e);
    expect_out(3, &e);
    for (unsigned k = 0; k < 4; k++)
        expect_drops(k, DROPS_END);
}

/* ---- bug: learning on a port whose link is down ------------------------ */

/* Opens a net_ring port (its one ring loops tx back to rx) and queues `in`
 * on it from this thread: the port's rx returns them once it is published.
 * Unlike net_pcap, net_ring can set its link down.  Nothing may be sent to
 * such a port (it would come back in). */
static struct tport *tp_open_ring(unsigned slot, const char *label,
                                  struct vlan_port_mode mode,
                                  const struct flist *in)
{
    struct tport *t = &g.tp[slot];
    struct vsw_port_spec spec;
    struct vsa_errmsg em;
    uint16_t pid;
    int rc;

    assert_true(slot < MAX_TP);
    assert_false(t->used);
    memset(t, 0, sizeof(*t));
    t->used = true;
    t->ring = true;
    snprintf(t->label, sizeof(t->label), "%s", label);
    t->mode = mode;
    snprintf(t->dev, sizeof(t->dev), "net_ring_t%u", g.seq++);
    memset(&spec, 0, sizeof(spec));
    snprintf(spec.name, sizeof(spec.name), "%s", label);
    spec.cls = VSW_PORT_DPDK;
    spec.devargs = t->dev;
    rc = vsw_port_open(g.sw, &spec, &t->p, &em);
    if (rc != 0)
        fail_msg("vsw_port_open(%s): %d %s", t->dev, rc, em.msg);
    t->id = vsw_port_id(t->p);
    assert_int_equal(rte_eth_dev_get_port_by_name(t->dev, &pid), 0);
    for (uint32_t i = 0; i < in->n; i++) {
        struct rte_mbuf *m = rte_pktmbuf_alloc(g.pool);
        assert_non_null(m);
        memcpy(rte_pktmbuf_append(m, (uint16_t)in->v[i].len), in->v[i].b,
               in->v[i].len);
        assert_int_equal(rte_eth_tx_burst(pid, 0, &m, 1), 1);
        fl_add_raw(&t->sent, in->v[i].b, in->v[i].len);
    }
    return t;
}

/* Sets the link of slot's ethdev and lets the switch notice (vsw_tick). */
static void tp_link(unsigned slot, bool up)
{
    uint16_t pid;

    assert_int_equal(rte_eth_dev_get_port_by_name(g.tp[slot].dev, &pid), 0);
    assert_int_equal(up ? rte_eth_dev_set_link_up(pid)
                        : rte_eth_dev_set_link_down(pid), 0);
    vsw_tick(g.sw);
    assert_true(vsw_port_link_up(g.tp[slot].p) == up);
}

/* Bug (found by review): the link-down flush ran once, and the lcores went
 * on learning from frames still queued on the port, so an entry for a
 * station on a port whose link was down could be learned right after the
 * flush and then sent that station's unicast into `link_down` drops
 * instead of flooding it, until the entry aged out.  Now every tick
 * removes what a down port learned. */
static void test_down_port_keeps_no_entries(void **state)
{
    struct flist in = { 0 }, e = { 0 };
    struct frame a, b;

    (void)state;
    a = fr_untagged(BCAST, MAC(0xa1), 46, 1);
    b = fr_untagged(MAC(0xa2), MAC(0xa1), 46, 2);
    fl_add(&in, &a);
    fl_add(&in, &b);
    tp_open_ring(0, "D", m_access(1), &in);
    tp_open(1, "U", m_access(1), 0, NULL);
    tp_link(0, false);
    step();
    /* rx is counted before the burst learns: a commit's grace period
     * makes sure the lcore has finished it */
    assert_int_equal(commit(true), 0);
    vsw_tick(g.sw);
    assert_int_equal(fdb_port_of(1, MAC(0xa1), NULL), -1);
    tp_link(0, true);
    phase_end();
    fl_free(&in);

    fl_add(&e, &a);                 /* both flooded to U */
    fl_add(&e, &b);
    expect_out(1, &e);
    fl_free(&e);
    expect_out(0, &e);
    expect_drops(0, DROPS_END);
    expect_drops(1, DROPS_END);
}

/* A flood with nowhere to go because every other member of the VLAN is
 * down was counted `no_member`, as if the VLAN had no other port; it is
 * `link_down`, on the ingress port.  A port of another VLAN changes
 * nothing. */
static void test_flood_members_down(void **state)
{
    struct flist in = { 0 }, none = { 0 };
    struct frame a, b;

    (void)state;
    a = fr_untagged(BCAST, MAC(0xb1), 46, 1);
    b = fr_untagged(MAC(0xb2), MAC(0xb1), 46, 2);   /* unknown unicast */
    fl_add(&in, &a);
    fl_add(&in, &b);
    tp_open_ring(0, "D", m_access(1), &in);
    tp_open_ring(1, "U", m_access(1), &none);
    tp_open(2, "V", m_access(2), 0, NULL);
    tp_link(1, false);
    step();
    tp_link(1, true);
    phase_end();
    fl_free(&in);

    expect_out(2, &none);
    expect_drops(0, D(LINK_DOWN, 2), DROPS_END);
    expect_drops(1, DROPS_END);
    expect_drops(2, DROPS_END);
}

/* ---- MAC flap storm (TESTS.md #18) ----------------------------------------- */

#define STORM_N 60000                  /* frames, alternately from A and B */
#define STORM_DST 0x020000330001ull    /* static on C */
#define STORM_MAC 0x020000330002ull    /* the station that flaps */
#define STORM_OTHER 0x020000330003ull  /* the control thread's static */

struct storm_ctl {
    struct vsw_fdb *fdb;
    uint16_t port;                     /* where STORM_OTHER goes */
    _Atomic bool stop;
    _Atomic uint64_t rounds;
    _Atomic int err;                   /* first failed call's return */
};

/* The control thread's part: what vesperd's control thread does all the
 * time (tick: link poll, sweep; walk: `fdb show`) plus static entries
 * added and removed, which take the FDB's writer lock.  No assertion here:
 * cmocka asserts only on the main thread. */
static int fdb_count_cb(const struct vsw_fdb_entry *e, void *arg)
{
    (void)e;
    (*(uint32_t *)arg)++;
    return 0;
}

static void *storm_control(void *arg)
{
    struct storm_ctl *c = arg;

    while (!atomic_load(&c->stop)) {
        uint32_t n = 0;
        int rc = vsw_fdb_add_static(c->fdb, 1, STORM_OTHER, c->port);
        if (rc == 0)
            rc = vsw_fdb_del(c->fdb, 1, STORM_OTHER);
        if (rc != 0 && atomic_load(&c->err) == 0)
            atomic_store(&c->err, rc);
        vsw_tick(g.sw);
        vsw_fdb_walk(c->fdb, fdb_count_cb, &n);
        atomic_fetch_add(&c->rounds, 1);
    }
    return NULL;
}

/* Puts m on slot's net_ring port (its rx side), spinning while the ring is
 * full, and records it as sent. */
static void ring_put(unsigned slot, uint16_t pid, struct rte_mbuf *m)
{
    uint64_t deadline = now_ms() + WAIT_MS;

    fl_add_raw(&g.tp[slot].sent, rte_pktmbuf_mtod(m, uint8_t *),
               m->data_len);
    VSA_TSAN_RELEASE(g.tp[slot].p); /* the port's rx acquires (port_dpdk.c) */
    while (rte_eth_tx_burst(pid, 0, &m, 1) == 0)
        if (now_ms() > deadline)
            fail_msg("ring port %s full for %d ms", g.tp[slot].label,
                     WAIT_MS);
}

/* An mbuf from pool holding f, with the frame's number in its payload's
 * first 4 bytes. */
static struct rte_mbuf *storm_mbuf(struct rte_mempool *pool,
                                   const struct frame *f, uint32_t number)
{
    struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
    uint8_t *p;

    assert_non_null(m);
    p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)f->len);
    assert_non_null(p);
    memcpy(p, f->b, f->len);
    p[14] = (uint8_t)(number >> 24);
    p[15] = (uint8_t)(number >> 16);
    p[16] = (uint8_t)(number >> 8);
    p[17] = (uint8_t)number;
    return m;
}

/* One station's frames alternate between ports A and B as fast as the test
 * can put them on the two rings, while a control thread works the FDB.
 * Every frame goes to C (a static entry), so C's output is the order in
 * which the lcore processed them, and the exact number of moves follows
 * from it: every frame from the other port than the one before.  The move
 * counter must equal that, nothing may be lost or refused, and the station
 * ends on the port of the last frame. */
static void test_move_storm(void **state)
{
    struct vsw_fdb *fdb = vsw_switch_fdb(g.sw, "sw0");
    struct flist none = { 0 }, exp = { 0 };
    struct vsw_fdb_stats st0, st1;
    struct storm_ctl ctl = { 0 };
    struct rte_mempool *pool;
    static struct rte_mbuf *storm[STORM_N + 1];
    uint16_t pid[2];
    uint64_t moves = 0, t0, t1;
    int last = 0, final_port;
    pthread_t th;
    struct frame f;

    (void)state;
    assert_non_null(fdb);
    /* Every frame is built before the storm, in a pool of its own: the
     * test thread then only enqueues, and never reuses an mbuf the lcore
     * has freed (a hand-over through the pool's ring TSan cannot see). */
    pool = rte_pktmbuf_pool_create("storm", STORM_N + 1, 0, 0,
                                   RTE_PKTMBUF_HEADROOM + 128,
                                   SOCKET_ID_ANY);
    assert_non_null(pool);
    f = fr_untagged(STORM_DST, STORM_MAC, 46, 0);
    for (uint32_t i = 0; i <= STORM_N; i++)
        storm[i] = storm_mbuf(pool, &f, i);
    tp_open_ring(0, "A", m_access(1), &none);
    tp_open_ring(1, "B", m_access(1), &none);
    tp_open(2, "C", m_access(1), 0, NULL);
    add_static(1, STORM_DST, 2);
    for (unsigned k = 0; k < 2; k++)
        assert_int_equal(
            rte_eth_dev_get_port_by_name(g.tp[k].dev, &pid[k]), 0);
    step();
    /* Learned on A first, so that every later frame is a hit or a move. */
    ring_put(0, pid[0], storm[0]);
    wait_all_rx();
    assert_int_equal(fdb_port_of(1, STORM_MAC, NULL), g.tp[0].id);
    vsw_fdb_get_stats(fdb, &st0);

    ctl.fdb = fdb;
    ctl.port = g.tp[2].id;
    assert_int_equal(pthread_create(&th, NULL, storm_control, &ctl), 0);
    t0 = now_ms();
    for (uint32_t i = 1; i <= STORM_N; i++) /* odd numbers from B */
        ring_put(i & 1, pid[i & 1], storm[i]);
    /* stopped before this thread calls into the switch again: both are
     * control threads, and vesperd has one */
    atomic_store(&ctl.stop, true);
    pthread_join(th, NULL);
    wait_all_rx();
    t1 = now_ms();
    assert_int_equal(atomic_load(&ctl.err), 0);
    assert_true(atomic_load(&ctl.rounds) > 0);
    vsw_fdb_get_stats(fdb, &st1);
    final_port = fdb_port_of(1, STORM_MAC, NULL);
    phase_end();
    assert_int_equal(rte_mempool_avail_count(pool), STORM_N + 1);
    rte_mempool_free(pool);

    /* C got every frame once, each port's in its order. */
    assert_int_equal(g.tp[2].got.n, STORM_N + 1);
    {
        uint32_t next[2] = { 2, 1 };

        for (uint32_t k = 0; k < g.tp[2].got.n; k++) {
            const struct fref *r = &g.tp[2].got.v[k];
            uint32_t i;
            int from;

            assert_int_equal(r->len, f.len);
            i = (uint32_t)r->b[14] << 24 | (uint32_t)r->b[15] << 16 |
                (uint32_t)r->b[16] << 8 | r->b[17];
            if (k == 0) { /* the learning frame */
                assert_int_equal(i, 0);
                continue;
            }
            from = (int)(i & 1);
            if (i != next[from])
                fail_msg("C's frame %u is number %u, expected %u from %s",
                         k, i, next[from], from ? "B" : "A");
            next[from] += 2;
            moves += from != last;
            last = from;
        }
    }
    print_message("move storm: %u frames in %lu ms, %lu moves, %lu control "
                  "rounds\n", STORM_N, (unsigned long)(t1 - t0),
                  (unsigned long)moves,
                  (unsigned long)atomic_load(&ctl.rounds));
    /* the lcore takes at most a burst from a port before polling the
     * other, so the station moved at least once per two bursts */
    assert_true(moves >= STORM_N / (2 * VSW_BURST));
    assert_int_equal(st1.moved - st0.moved, moves);
    assert_int_equal(final_port, g.tp[last].id);
    assert_int_equal(st1.learned - st0.learned, 0);
    assert_int_equal(st1.learn_busy - st0.learn_busy, 0);
    assert_int_equal(st1.static_conflict - st0.static_conflict, 0);
    expect_out(0, &exp);
    expect_out(1, &exp);
    for (unsigned k = 0; k < 3; k++)
        expect_drops(k, DROPS_END);
}

/* ---- two switches, same VLAN --------------------------------------------- */

static void test_switch_isolation(void **state)
{
    struct flist in = { 0 }, e = { 0 };
    struct frame a, b, c;

    (void)state;
    /* Step 1: A1 (sw0) broadcasts from MA: only sw0's ports see it. */
    a = fr_untagged(BCAST, MAC(0x71), 46, 1);
    fl_add(&in, &a);
    tp_open(0, "A1", m_access(1), 0, &in);
    tp_open(1, "A2", m_access(1), 0, NULL);
    tp_open(2, "B1", m_access(1), 0, NULL);
    g.tp[2].switch_idx = 1;
    step();
    assert_int_equal(fdb_port_in("sw0", 1, MAC(0x71), NULL), g.tp[0].id);
    assert_int_equal(fdb_port_in("sw1", 1, MAC(0x71), NULL), -1);

    /* Step 2: B2 (sw1) sends to MA, known only in sw0: flooded in sw1,
     * never to A1; then a broadcast, also only to B1. */
    fl_free(&in);
    b = fr_untagged(MAC(0x71), MAC(0x72), 46, 2);
    c = fr_untagged(BCAST, MAC(0x72), 46, 3);
    fl_add(&in, &b);
    fl_add(&in, &c);
    tp_open(3, "B2", m_access(1), 0, &in);
    g.tp[3].switch_idx = 1;
    step();
    assert_int_equal(fdb_port_in("sw1", 1, MAC(0x72), NULL), g.tp[3].id);
    assert_int_equal(fdb_port_in("sw0", 1, MAC(0x72), NULL), -1);
    phase_end();
    fl_free(&in);

    expect_out(0, &e);
    fl_add(&e, &a);
    expect_out(1, &e);
    fl_free(&e);
    fl_add(&e, &b);
    fl_add(&e, &c);
    expect_out(2, &e);
    fl_free(&e);
    expect_out(3, &e);
    for (unsigned k = 0; k < 4; k++)
        expect_drops(k, DROPS_END);
}

/* ---- runts (TESTS.md #14) ------------------------------------------------ */

static void test_runts(void **state)
{
    /* A 42-byte ARP request padded with zeros to the 60-byte minimum. */
    static const uint8_t arp_padded[60] = {
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x03,
        0x01, 0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01,
        0x02, 0x00, 0x00, 0x00, 0x03, 0x01, 0xc0, 0xa8, 0x00, 0x01, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0xa8, 0x00, 0x02,
        /* 18 bytes of padding, zero */
    };
    /* The same tagged with VLAN 5, padded to 64. */
    static const uint8_t arp_v5_padded[64] = {
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x03,
        0x01, 0x81, 0x00, 0x00, 0x05, 0x08, 0x06, 0x00, 0x01, 0x08, 0x00,
        0x06, 0x04, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x03, 0x01, 0xc0,
        0xa8, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0xa8,
        0x00, 0x02,
    };
    const uint32_t q5 = Q(0, 5), qq[2] = { Q(2, 5), Q(1, 7) };
    struct flist in = { 0 }, exp_r = { 0 }, exp_r5 = { 0 };
    struct frame full_u, full_t, full_qq, fr;
    unsigned runts = 0;

    (void)state;
    /* Truncation sweep: golden frames (untagged 60 bytes, tagged VLAN 5 64
     * bytes, double-tagged outer 5 / inner 7 68 bytes) cut at every length,
     * interleaved so that bursts mix runts and good frames.  A cut shorter
     * than the L2 header it announces (14 bytes, 18 with an 802.1Q tag) is a
     * runt; anything longer is forwarded byte for byte (an inner tag is
     * payload, even when cut). */
    full_u = fr_untagged(BCAST, MAC(0x31), 46, 0x31);
    full_t = fr_tagged(BCAST, MAC(0x32), q5, 46, 0x32);
    full_qq = fr_build(BCAST, MAC(0x33), qq, 2, 46, 0x33);
    assert_int_equal(full_u.len, 60);
    assert_int_equal(full_t.len, 64);
    assert_int_equal(full_qq.len, 68);
    for (uint32_t len = 0; len <= full_qq.len; len++) {
        if (len <= full_u.len) {
            fr = fr_raw(full_u.b, len);
            fl_add(&in, &fr);
            if (len < 14)
                runts++;
            else
                fl_add(&exp_r, &fr);
        }
        if (len <= full_t.len) {
            fr = fr_raw(full_t.b, len);
            fl_add(&in, &fr);
            if (len < 18)
                runts++;
            else
                fl_add(&exp_r5, &fr);
        }
        fr = fr_raw(full_qq.b, len);
        fl_add(&in, &fr);
        if (len < 18)
            runts++;
        else
            fl_add(&exp_r5, &fr);
    }
    assert_int_equal(runts, 14 + 18 + 18);
    /* Padded minimum-size frames: forwarded unchanged, padding included. */
    fr = fr_raw(arp_padded, sizeof(arp_padded));
    fl_add(&in, &fr);
    fl_add(&exp_r, &fr);
    fr = fr_raw(arp_v5_padded, sizeof(arp_v5_padded));
    fl_add(&in, &fr);
    fl_add(&exp_r5, &fr);

    tp_open(0, "S", m_trunk("5", 1, false), 0, &in);
    tp_open(1, "R", m_access(1), 0, NULL);
    tp_open(2, "R5", m_trunk("5", 0, false), 0, NULL);
    step();
    phase_end();
    fl_free(&in);

    expect_out(1, &exp_r);
    expect_out(2, &exp_r5);
    fl_free(&in);
    expect_out(0, &in);
    expect_drops(0, D(RUNT, 50), DROPS_END);
    expect_drops(1, DROPS_END);
    expect_drops(2, DROPS_END);
    fl_free(&exp_r);
    fl_free(&exp_r5);
}

/* ---- learn limit (TESTS.md #17 flavour) ---------------------------------- */

#define LL_N 5000
#define LL_LIMIT 100
#define LL_OTHER 50
#define MO1(i) (0x020000110000ull + (i))
#define MO2(i) (0x020000120000ull + (i))
#define ML(i) (0x020000130000ull + (i))
#define MQ 0x020000140001ull

static void test_learn_limit(void **state)
{
    struct vsw_fdb *fdb = vsw_switch_fdb(g.sw, "sw0");
    struct vsw_fdb_stats st0, st1;
    struct flist in1 = { 0 }, in2 = { 0 }, inl = { 0 }, inq = { 0 };
    struct flist e1 = { 0 }, e2 = { 0 }, el = { 0 }, none = { 0 };
    struct frame fr, flood;

    (void)state;
    assert_non_null(fdb);
    vsw_fdb_get_stats(fdb, &st0);

    /* Step 1: O1 and O2 each learn 50 stations (broadcasts: each one's
     * frames reach the other). */
    for (unsigned i = 0; i < LL_OTHER; i++) {
        fr = fr_untagged(BCAST, MO1(i), 46, (uint8_t)i);
        fl_add(&in1, &fr);
        fl_add(&e2, &fr);
        fr = fr_untagged(BCAST, MO2(i), 46, (uint8_t)i);
        fl_add(&in2, &fr);
        fl_add(&e1, &fr);
    }
    tp_open(0, "O1", m_access(1), 0, &in1);
    tp_open(1, "O2", m_access(1), 0, &in2);
    step();
    assert_int_equal(vsw_fdb_port_count(fdb, g.tp[0].id), LL_OTHER);
    assert_int_equal(vsw_fdb_port_count(fdb, g.tp[1].id), LL_OTHER);

    /* Step 2: L (limit 100) sources 5,000 distinct MACs, all to a station
     * of O1 (a known unicast: only O1 gets them). */
    for (unsigned i = 0; i < LL_N; i++) {
        fr = fr_untagged(MO1(0), ML(i), 46, (uint8_t)i);
        fl_add(&inl, &fr);
        fl_add(&e1, &fr);
    }
    tp_open(2, "L", m_access(1), LL_LIMIT, &inl);
    step();
    assert_int_equal(vsw_fdb_port_count(fdb, g.tp[2].id), LL_LIMIT);
    assert_int_equal(vsw_fdb_port_count(fdb, g.tp[0].id), LL_OTHER);
    assert_int_equal(vsw_fdb_port_count(fdb, g.tp[1].id), LL_OTHER);
    for (unsigned i = 0; i < LL_OTHER; i++) {
        assert_int_equal(fdb_port_of(1, MO1(i), NULL), g.tp[0].id);
        assert_int_equal(fdb_port_of(1, MO2(i), NULL), g.tp[1].id);
    }
    vsw_fdb_get_stats(fdb, &st1);
    assert_int_equal(st1.learn_limit - st0.learn_limit, LL_N - LL_LIMIT);

    /* Step 3: Q sends to every station of O1 and O2 (unicast, no flood:
     * their entries are intact), to the 100 stations L learned (L only),
     * and to the 101st (never learned: flooded). */
    for (unsigned i = 0; i < LL_OTHER; i++) {
        fr = fr_untagged(MO1(i), MQ, 46, (uint8_t)(i + 1));
        fl_add(&inq, &fr);
        fl_add(&e1, &fr);
        fr = fr_untagged(MO2(i), MQ, 46, (uint8_t)(i + 2));
        fl_add(&inq, &fr);
        fl_add(&e2, &fr);
    }
    for (unsigned i = 0; i < LL_LIMIT; i++) {
        fr = fr_untagged(ML(i), MQ, 46, (uint8_t)(i + 3));
        fl_add(&inq, &fr);
        fl_add(&el, &fr);
    }
    flood = fr_untagged(ML(LL_LIMIT), MQ, 46, 4);
    fl_add(&inq, &flood);
    fl_add(&e1, &flood);
    fl_add(&e2, &flood);
    fl_add(&el, &flood);
    tp_open(3, "Q", m_access(1), 0, &inq);
    step();
    phase_end();

    expect_out(0, &e1);
    expect_out(1, &e2);
    expect_out(2, &el);
    expect_out(3, &none);
    expect_drops(0, DROPS_END);
    expect_drops(1, DROPS_END);
    expect_drops(2, D(LEARN_REFUSED, LL_N - LL_LIMIT), DROPS_END);
    expect_drops(3, DROPS_END);
    fl_free(&in1);
    fl_free(&in2);
    fl_free(&inl);
    fl_free(&inq);
    fl_free(&e1);
    fl_free(&e2);
    fl_free(&el);
}

/* ---- static entries ------------------------------------------------------ */

#define MS 0x020000220001ull
#define MS2 0x020000220002ull

static void test_static(void **state)
{
    struct vsw_fdb *fdb = vsw_switch_fdb(g.sw, "sw0");
    struct vsw_fdb_stats st0, st1;
    struct flist in = { 0 }, e = { 0 };
    struct frame a, b, b_untagged, c, d, x;
    bool is_static = false;

    (void)state;
    assert_non_null(fdb);
    vsw_fdb_get_stats(fdb, &st0);
    a = fr_untagged(MS, MAC(0x41), 46, 1);          /* VLAN 1: static */
    b = fr_tagged(MS, MAC(0x41), Q(0, 2), 46, 2);   /* VLAN 2: unknown */
    b_untagged = fr_untagged(MS, MAC(0x41), 46, 2);
    c = fr_untagged(BCAST, MS, 46, 3);              /* static MAC as source */
    d = fr_untagged(MS, MAC(0x42), 46, 4);          /* still to S1 */
    x = fr_untagged(MS2, MAC(0x42), 46, 5);         /* static on S5, VLAN 1 */
    fl_add(&in, &a);
    fl_add(&in, &b);
    fl_add(&in, &c);
    fl_add(&in, &d);
    fl_add(&in, &x);

    tp_open(0, "S1", m_access(1), 0, NULL);
    tp_open(1, "S2", m_access(1), 0, NULL);
    tp_open(2, "S4", m_trunk("1,2", 1, false), 0, NULL);
    tp_open(3, "S5", m_access(2), 0, NULL);
    tp_open(4, "S3", m_trunk("2", 1, false), 0, &in);
    add_static(1, MS, 0);
    /* A static entry on a port that does not carry the VLAN: the frame is
     * neither sent there nor flooded, and counted on that port. */
    add_static(1, MS2, 3);
    step();
    assert_int_equal(fdb_port_of(1, MS, &is_static), g.tp[0].id);
    assert_true(is_static);
    assert_int_equal(fdb_port_of(2, MS, NULL), -1);
    vsw_fdb_get_stats(fdb, &st1);
    assert_int_equal(st1.static_conflict - st0.static_conflict, 1);
    phase_end();
    fl_free(&in);

    fl_add(&e, &a);
    fl_add(&e, &c);
    fl_add(&e, &d);
    expect_out(0, &e);                              /* S1: a, c, d */
    fl_free(&e);
    fl_add(&e, &c);
    expect_out(1, &e);                              /* S2: only the flood */
    fl_free(&e);
    fl_add(&e, &b);
    fl_add(&e, &c);
    expect_out(2, &e);                              /* S4: VLAN 2 tagged */
    fl_free(&e);
    fl_add(&e, &b_untagged);
    expect_out(3, &e);                              /* S5: access 2 */
    fl_free(&e);
    expect_out(4, &e);
    fl_free(&e);
    for (unsigned k = 0; k < 3; k++)
        expect_drops(k, DROPS_END);
    expect_drops(3, D(NO_MEMBER, 1), DROPS_END);
    expect_drops(4, D(LEARN_REFUSED, 1), DROPS_END);
}

/* ---- counters ------------------------------------------------------------ */

static void test_counters(void **state)
{
    static const unsigned plen1[4] = { 46, 86, 1500, 3986 };
    static const unsigned plen5[3] = { 46, 50, 3986 };
    struct flist in = { 0 }, e_untag = { 0 }, e_tag = { 0 };
    struct frame fr;

    (void)state;
    /* Step 1: C1 (access 1) sends 60, 100, 1514 and 4000 bytes (the last
     * arrives as a multi-segment mbuf, and is longer than any port's MTU:
     * counted oversize on each member, sent nowhere) to broadcast. */
    for (unsigned k = 0; k < 4; k++) {
        fr = fr_untagged(BCAST, MAC(0x51), plen1[k], (uint8_t)k);
        fl_add(&in, &fr);
        if (k == 3)
            continue;
        fl_add(&e_untag, &fr);
        fr = fr_tagged(BCAST, MAC(0x51), Q(0, 1), plen1[k], (uint8_t)k);
        fl_add(&e_tag, &fr);
    }
    tp_open(0, "C1", m_access(1), 0, &in);
    tp_open(1, "C2", m_access(1), 0, NULL);
    tp_open(2, "C3", m_trunk("1", 0, false), 0, NULL);  /* tags VLAN 1 */
    tp_open(3, "C4", m_access(2), 0, NULL);
    step();
    /* Step 2: C5 (trunk {1}) sends 64, 68 and 4004 bytes tagged VLAN 1
     * (the last one oversize again). */
    fl_free(&in);
    for (unsigned k = 0; k < 3; k++) {
        fr = fr_tagged(BCAST, MAC(0x55), Q(2, 1), plen5[k], (uint8_t)(k + 9));
        fl_add(&in, &fr);
        if (k < 2)
            fl_add(&e_tag, &fr);
    }
    tp_open(4, "C5", m_trunk("1", 0, false), 0, &in);
    step();
    phase_end();
    fl_free(&in);

    /* C2 and C1 (access) get C5's frames untagged, C3 everything tagged. */
    for (unsigned k = 0; k < 2; k++) {
        fr = fr_untagged(BCAST, MAC(0x55), plen5[k], (uint8_t)(k + 9));
        fl_add(&in, &fr);
        fl_add(&e_untag, &fr);
    }
    expect_out(0, &in);
    expect_out(1, &e_untag);
    expect_out(2, &e_tag);
    fl_free(&in);
    fl_free(&e_untag);
    fl_free(&e_tag);

    /* Exact values, written out. */
    static const struct {
        uint64_t rx_p, rx_b, tx_p, tx_b, oversize;
    } want[5] = {
        { 4, 60 + 100 + 1514 + 4000, 2, 60 + 64, 1 },                /* C1 */
        { 0, 0, 5, 60 + 100 + 1514 + 60 + 64, 2 },                  /* C2 */
        { 0, 0, 5, 64 + 104 + 1518 + 64 + 68, 2 },                  /* C3 */
        { 0, 0, 0, 0, 0 },                                          /* C4 */
        { 3, 64 + 68 + 4004, 0, 0, 0 },                             /* C5 */
    };
    for (unsigned k = 0; k < 5; k++) {
        const struct vsw_port_stats *s = &g.tp[k].st;
        if (s->rx_packets != want[k].rx_p || s->rx_bytes != want[k].rx_b ||
            s->tx_packets != want[k].tx_p || s->tx_bytes != want[k].tx_b)
            fail_msg("port %s: rx %lu/%lu tx %lu/%lu, expected rx %lu/%lu "
                     "tx %lu/%lu", g.tp[k].label,
                     (unsigned long)s->rx_packets, (unsigned long)s->rx_bytes,
                     (unsigned long)s->tx_packets, (unsigned long)s->tx_bytes,
                     (unsigned long)want[k].rx_p, (unsigned long)want[k].rx_b,
                     (unsigned long)want[k].tx_p, (unsigned long)want[k].tx_b);
        expect_drops(k, D(OVERSIZE, want[k].oversize), DROPS_END);
    }
    /* C3's copy of the 1514-byte frame carries the pushed tag: 1518 bytes,
     * what an MTU of 1500 allows a tagged frame. */
    assert_int_equal(g.tp[2].got.v[2].len, 1518);
    assert_int_equal(g.tp[2].got.v[2].b[12], 0x81);
    assert_int_equal(g.tp[2].got.v[2].b[15], 0x01);
}

/* ---- fan-in: more than a tx buffer per loop iteration -------------------- */

#define FI_SENDERS 4
#define FI_FRAMES 96   /* three bursts each */

/* The frames of `src` in port `slot`'s output, in order, equal `exp`. */
static void expect_from(unsigned slot, uint64_t src, const struct flist *exp)
{
    const struct tport *t = &g.tp[slot];
    struct flist sub = { 0 };
    uint8_t mac[6];

    char what[64];

    put_mac(mac, src);
    for (uint32_t i = 0; i < t->got.n; i++)
        if (t->got.v[i].len >= 12 && memcmp(t->got.v[i].b + 6, mac, 6) == 0)
            fl_add_raw(&sub, t->got.v[i].b, t->got.v[i].len);
    snprintf(what, sizeof(what), "port %s, frames from %012lx", t->label,
             (unsigned long)src);
    expect_frames(what, &sub, exp);
    fl_free(&sub);
}

static void test_fanin(void **state)
{
    struct flist in[FI_SENDERS];
    uint32_t total;

    (void)state;
    /* Four senders broadcast 96 frames each at once: in one loop iteration
     * the sink D gets 4 x 32 frames and every sender 3 x 32, more than the
     * 64 a tx buffer holds, so buffers are flushed mid-iteration (each time
     * a burst has filled one, dp.c flush_full).  Frames from one sender
     * must come out complete and in order. */
    memset(in, 0, sizeof(in));
    for (unsigned s = 0; s < FI_SENDERS; s++) {
        char label[8];
        for (unsigned k = 0; k < FI_FRAMES; k++) {
            struct frame fr = fr_untagged(BCAST, MAC(0x60 + s), 46 + k,
                                          (uint8_t)k);
            fl_add(&in[s], &fr);
        }
        snprintf(label, sizeof(label), "F%u", s + 1);
        tp_open(s, label, m_access(1), 0, &in[s]);
    }
    tp_open(FI_SENDERS, "D", m_access(1), 0, NULL);
    step();
    phase_end();

    total = 0;
    for (unsigned s = 0; s < FI_SENDERS; s++) {
        expect_from(FI_SENDERS, MAC(0x60 + s), &in[s]);
        for (unsigned o = 0; o < FI_SENDERS; o++)
            expect_from(o, MAC(0x60 + s), o == s ? &(struct flist){ 0 }
                                                  : &in[s]);
        total += in[s].n;
        assert_int_equal(g.tp[s].got.n, (FI_SENDERS - 1) * FI_FRAMES);
        expect_drops(s, DROPS_END);
    }
    assert_int_equal(g.tp[FI_SENDERS].got.n, total);
    expect_drops(FI_SENDERS, DROPS_END);
    for (unsigned s = 0; s < FI_SENDERS; s++)
        fl_free(&in[s]);
}

/* ---- mempool (TESTS.md #25 flavour) -------------------------------------- */

/* n copies of m into the capture as an lcore makes them, then a drain. */
static void capture_copies(struct vsw_capture *cap, struct rte_mbuf *m,
                           uint16_t port_id, int n)
{
    for (int i = 0; i < n; i++)
        vsw__capture_copy(g.sw, g.sw->lcores[0], cap, m, port_id);
    vsw_tick(g.sw);
}

/* A capture of COUNT frames ends with COUNT frames in its file even when
 * copies were lost on the way (ring full: more than 4095 frames between
 * two drains): a lost copy gives its place to a later frame.  It used to
 * stay running forever, `vesperctl capture -c` with it.  And a second
 * capture onto the file of a running one is refused (both would write it
 * at their own offsets).  The copies are made by calling the lcore's copy
 * function from here, so the loss is exact. */
static void test_capture_count_after_losses(void **state)
{
    struct tport *t;
    struct vsw_capture *cap;
    struct vsw_capture_info ci;
    struct vsw_port_stats st;
    struct vsa_errmsg em;
    struct flist got = { 0 };
    struct frame f = fr_untagged(BCAST, MAC(0x77), 46, 1);
    struct rte_mbuf *m;
    char file[PATH_MAX], other[PATH_MAX];
    int id;

    (void)state;
    t = tp_open(0, "C1", m_access(1), 0, NULL);
    tp_open(1, "C2", m_access(1), 0, NULL);
    assert_int_equal(commit(true), 0);
    snprintf(file, sizeof(file), "%s/count.pcap", g.dir);
    id = vsw_capture_start(g.sw, t->p, file, 5000, VSW_CAPTURE_RX, 0, &em);
    assert_true(id >= 0);
    cap = atomic_load(&t->p->capture);
    assert_non_null(cap);
    m = rte_pktmbuf_alloc(g.pool);
    assert_non_null(m);
    memcpy(rte_pktmbuf_append(m, (uint16_t)f.len), f.b, f.len);

    /* 5000 copies, then the drain: the ring took 4095 */
    capture_copies(cap, m, t->id, 5000);
    assert_int_equal(vsw_capture_status(g.sw, id, &ci), 0);
    assert_false(ci.done);
    assert_int_equal(ci.captured, 4095);
    vsw_get_port_stats(g.sw, t->p, &st);
    assert_int_equal(st.drops[VSW_DROP_CAPTURE_FULL], 5000 - 4095);

    /* the same file, by another name: refused while this one runs */
    snprintf(other, sizeof(other), "%s/./count.pcap", g.dir);
    assert_int_equal(vsw_capture_start(g.sw, g.tp[1].p, other, 1,
                                       VSW_CAPTURE_TX, 0, &em), -EBUSY);
    assert_non_null(strstr(em.msg, "is writing it"));

    /* the frames after the drain fill the places the lost ones left */
    capture_copies(cap, m, t->id, 2000);
    assert_int_equal(vsw_capture_status(g.sw, id, &ci), 0);
    assert_true(ci.done);
    assert_int_equal(ci.captured, 5000);
    assert_int_equal(vsw_capture_stop(g.sw, id, &ci), 0);
    pcap_read(file, &got);
    assert_int_equal(got.n, 5000);
    fl_free(&got);
    rte_pktmbuf_free(m);
    phase_end();
}

/* The capture file ends on a record boundary after every write(2), so a
 * file whose writer crashed holds whole records only (tcpdump read such a
 * file as "truncated dump file").  stdio used to write its full buffer out
 * wherever that cut a record.  After each record written, the hook walks
 * the records the file on disk holds (from the last boundary it checked)
 * and the walk must end exactly at the file's size.  2,000 frames of three
 * lengths, 1.3 MB: many buffers' worth within one drain. */
static struct {
    int fd;
    off_t checked;          /* a record boundary, checked */
    unsigned checks, grew;
} whole;

static void whole_records_hook(struct vsw_capture *cap)
{
    struct stat st;
    uint32_t rh[4];
    off_t off = whole.checked;

    (void)cap;
    assert_int_equal(fstat(whole.fd, &st), 0);
    whole.checks++;
    if (st.st_size == whole.checked)
        return;
    while (off + (off_t)sizeof(rh) <= st.st_size) {
        assert_int_equal(pread(whole.fd, rh, sizeof(rh), off),
                         (ssize_t)sizeof(rh));
        off += (off_t)sizeof(rh) + rh[2]; /* caplen */
    }
    if (off != st.st_size)
        fail_msg("the file's %jd bytes end inside a record (it ends at "
                 "%jd)", (intmax_t)st.st_size, (intmax_t)off);
    whole.checked = off;
    whole.grew++;
}

static void test_capture_whole_records(void **state)
{
    static const unsigned plens[] = { 46, 319, 1500 };
    struct tport *t;
    struct vsw_capture *cap;
    struct vsw_capture_info ci;
    struct vsa_errmsg em;
    struct flist got = { 0 };
    struct rte_mbuf *m[3];
    char file[PATH_MAX];
    int id;

    (void)state;
    t = tp_open(0, "W1", m_access(1), 0, NULL);
    assert_int_equal(commit(true), 0);
    snprintf(file, sizeof(file), "%s/whole.pcap", g.dir);
    id = vsw_capture_start(g.sw, t->p, file, 0, VSW_CAPTURE_RX, 0, &em);
    assert_true(id >= 0);
    cap = atomic_load(&t->p->capture);
    assert_non_null(cap);
    for (unsigned i = 0; i < 3; i++) {
        struct frame f = fr_untagged(BCAST, MAC(0x78), plens[i], (uint8_t)i);

        m[i] = rte_pktmbuf_alloc(g.pool);
        assert_non_null(m[i]);
        memcpy(rte_pktmbuf_append(m[i], (uint16_t)f.len), f.b, f.len);
    }
    whole.fd = open(file, O_RDONLY);
    assert_true(whole.fd >= 0);
    whole.checked = 24; /* the file header, written at the start */
    vsw__capture_written_hook = whole_records_hook;
    for (unsigned i = 0; i < 2000; i++)
        vsw__capture_copy(g.sw, g.sw->lcores[0], cap, m[i % 3], t->id);
    vsw_tick(g.sw);
    vsw__capture_written_hook = NULL;
    close(whole.fd);
    assert_int_equal(whole.checks, 2000);
    assert_true(whole.grew >= 15); /* written out within the drain */
    assert_int_equal(vsw_capture_stop(g.sw, id, &ci), 0);
    assert_int_equal(ci.captured, 2000);
    pcap_read(file, &got);
    assert_int_equal(got.n, 2000);
    fl_free(&got);
    for (unsigned i = 0; i < 3; i++)
        rte_pktmbuf_free(m[i]);
    phase_end();
}

/* Two lcores and the last place of a counted capture: lcore A has taken
 * it, lcore B's frame comes past the limit and is refused, then A's copy
 * fails (the capture pool is empty) and A gives the place back.  The next
 * frame must get it.  With add-then-check, B's refusal left `taken` one
 * over, the give-back only brought it down to the limit, and the capture
 * stayed one frame short forever (`vesperctl capture -c` never ended).
 * The hook runs "B" and empties the pool while A holds the place. */
static struct {
    struct rte_mbuf *m;
    uint16_t port_id;
    struct rte_mbuf *held[16384];
    unsigned n_held;
    bool fired;
} race;

static void race_hook(struct vsw_capture *cap)
{
    struct rte_mbuf *c;

    if (race.fired || atomic_load(&cap->taken) != cap->limit)
        return;
    race.fired = true;
    /* lcore B: refused, the capture has its count in places */
    vsw__capture_copy(g.sw, g.sw->lcores[0], cap, race.m, race.port_id);
    /* lcore A's copy will find no mbuf */
    while (race.n_held < 16384 &&
           (c = rte_pktmbuf_alloc(g.sw->capture_pool)) != NULL)
        race.held[race.n_held++] = c;
}

static void test_capture_count_race(void **state)
{
    struct tport *t;
    struct vsw_capture *cap;
    struct vsw_capture_info ci;
    struct vsa_errmsg em;
    struct flist got = { 0 };
    struct frame f = fr_untagged(BCAST, MAC(0x78), 46, 2);
    char file[PATH_MAX];
    int id;

    (void)state;
    t = tp_open(0, "R1", m_access(1), 0, NULL);
    assert_int_equal(commit(true), 0);
    /* a path the capture could not keep whole is refused */
    memset(file, 'a', sizeof(file));
    file[0] = '/';
    file[VSW_CAPTURE_FILE_MAX] = '\0';
    assert_int_equal(vsw_capture_start(g.sw, t->p, file, 3, VSW_CAPTURE_RX,
                                       0, &em), -ENAMETOOLONG);
    assert_non_null(strstr(em.msg, "the path is longer than 511 bytes"));
    snprintf(file, sizeof(file), "%s/race.pcap", g.dir);
    id = vsw_capture_start(g.sw, t->p, file, 3, VSW_CAPTURE_RX, 0, &em);
    assert_true(id >= 0);
    cap = atomic_load(&t->p->capture);
    assert_non_null(cap);
    memset(&race, 0, sizeof(race));
    race.m = rte_pktmbuf_alloc(g.pool);
    assert_non_null(race.m);
    memcpy(rte_pktmbuf_append(race.m, (uint16_t)f.len), f.b, f.len);
    race.port_id = t->id;

    vsw__capture_taken_hook = race_hook;
    capture_copies(cap, race.m, t->id, 3); /* the third: A, B, A fails */
    vsw__capture_taken_hook = NULL;
    assert_true(race.fired);
    assert_true(race.n_held > 0);
    rte_pktmbuf_free_bulk(race.held, race.n_held);
    assert_int_equal(vsw_capture_status(g.sw, id, &ci), 0);
    assert_false(ci.done);
    assert_int_equal(ci.captured, 2);

    /* the place A gave back goes to the next frame */
    capture_copies(cap, race.m, t->id, 1);
    assert_int_equal(vsw_capture_status(g.sw, id, &ci), 0);
    assert_int_equal(ci.captured, 3);
    assert_true(ci.done);
    assert_int_equal(vsw_capture_stop(g.sw, id, &ci), 0);
    pcap_read(file, &got);
    assert_int_equal(got.n, 3);
    fl_free(&got);
    rte_pktmbuf_free(race.m);
    phase_end();
}

/* Why a capture ended, as vsw_capture_info.ended tells it (vesperctl
 * used to see only `done` and print the same summary whatever ended it):
 *   - COUNT frames in the file: count;
 *   - vsw_capture_end on a running capture (capture.stop by port, from
 *     another client): stopped, and vsw_capture_stop then reports the same;
 *   - its port closed under it (port.del): port_closed;
 *   - the first cause stays: a capture that has its count keeps `count`
 *     through vsw_capture_end and the close of its port.
 * Running, it is VSW_CAPTURE_RUNNING. */
static void test_capture_ended(void **state)
{
    static const char *const labels[] = { "EC", "ES", "EP" };
    struct frame f = fr_untagged(BCAST, MAC(0x79), 46, 3);
    struct vsw_capture_info ci;
    struct vsa_errmsg em;
    struct rte_mbuf *m;
    int id[3];

    (void)state;
    for (unsigned i = 0; i < 3; i++) {
        char file[PATH_MAX];
        struct tport *t = tp_open(i, labels[i], m_access(1), 0, NULL);

        snprintf(file, sizeof(file), "%s/ended_%s.pcap", g.dir, labels[i]);
        id[i] = vsw_capture_start(g.sw, t->p, file, i == 0 ? 3 : 0,
                                  VSW_CAPTURE_RX, 0, &em);
        if (id[i] < 0)
            fail_msg("capture start %s: %s", labels[i], em.msg);
        assert_int_equal(vsw_capture_status(g.sw, id[i], &ci), 0);
        assert_false(ci.done);
        assert_int_equal(ci.ended, VSW_CAPTURE_RUNNING);
    }
    assert_int_equal(commit(true), 0);
    m = rte_pktmbuf_alloc(g.pool);
    assert_non_null(m);
    memcpy(rte_pktmbuf_append(m, (uint16_t)f.len), f.b, f.len);

    /* count: 3 frames of 5 copied, the capture ends with the drain */
    capture_copies(atomic_load(&g.tp[0].p->capture), m, g.tp[0].id, 5);
    rte_pktmbuf_free(m);
    assert_int_equal(vsw_capture_status(g.sw, id[0], &ci), 0);
    assert_true(ci.done);
    assert_int_equal(ci.captured, 3);
    assert_int_equal(ci.ended, VSW_CAPTURE_ENDED_COUNT);
    assert_int_equal(vsw_capture_end(g.sw, id[0], &ci), 0);
    assert_int_equal(ci.ended, VSW_CAPTURE_ENDED_COUNT);

    /* stopped: ended by vsw_capture_end, kept until vsw_capture_stop */
    assert_int_equal(vsw_capture_end(g.sw, id[1], &ci), 0);
    assert_true(ci.done);
    assert_int_equal(ci.ended, VSW_CAPTURE_ENDED_STOPPED);
    assert_int_equal(vsw_capture_status(g.sw, id[1], &ci), 0);
    assert_int_equal(ci.ended, VSW_CAPTURE_ENDED_STOPPED);

    /* port_closed: phase_end closes every port; the ended ones keep
     * their reason */
    phase_end();
    assert_int_equal(vsw_capture_status(g.sw, id[2], &ci), 0);
    assert_true(ci.done);
    assert_int_equal(ci.ended, VSW_CAPTURE_ENDED_PORT_CLOSED);
    assert_string_equal(ci.port, "EP");
    assert_int_equal(vsw_capture_status(g.sw, id[0], &ci), 0);
    assert_int_equal(ci.ended, VSW_CAPTURE_ENDED_COUNT);
    assert_int_equal(vsw_capture_status(g.sw, id[1], &ci), 0);
    assert_int_equal(ci.ended, VSW_CAPTURE_ENDED_STOPPED);
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(vsw_capture_stop(g.sw, id[i], &ci), 0);
        assert_int_not_equal(ci.ended, VSW_CAPTURE_RUNNING);
    }
    assert_int_equal(ci.ended, VSW_CAPTURE_ENDED_PORT_CLOSED);
}

/* The bytes of a (small) file, or "" if it cannot be read. */
static void slurp(const char *path, char *buf, size_t size)
{
    FILE *f = fopen(path, "rb");
    size_t n = 0;

    if (f) {
        n = fread(buf, 1, size - 1, f);
        fclose(f);
    }
    buf[n] = '\0';
}

/* A file on a kernel pseudo filesystem is refused, whatever its size, and
 * nothing is written to it: /proc/self/comm (size 0, so it passed the
 * "new or empty" rule, and vesperd wrote the pcap header into it, renaming
 * its own main thread; /proc/sys/kernel/hostname and /proc/sysrq-trigger
 * are the same kind of file) and a sysfs attribute.  The message names the
 * file and the filesystem. */
static void test_capture_pseudo_files(void **state)
{
    static const struct {
        const char *file, *fs;
    } cases[] = {
        { "/proc/self/comm", "procfs" },
        { "/sys/class/net/lo/tx_queue_len", "sysfs" },
    };
    struct vsa_errmsg em;
    struct tport *t;

    (void)state;
    t = tp_open(0, "PS", m_access(1), 0, NULL);
    assert_int_equal(commit(true), 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char before[256], after[256];
        int id;

        slurp(cases[i].file, before, sizeof(before));
        assert_true(before[0] != '\0');
        id = vsw_capture_start(g.sw, t->p, cases[i].file, 1,
                               VSW_CAPTURE_BOTH, 0, &em);
        if (id >= 0) {
            /* started (the defect): stopping it writes the file, so the
             * check below shows what a capture does to it */
            struct vsw_capture_info ci;

            vsw_capture_stop(g.sw, id, &ci);
        }
        slurp(cases[i].file, after, sizeof(after));
        assert_string_equal(after, before);
        assert_int_equal(id, -EINVAL);
        if (!strstr(em.msg, cases[i].file) || !strstr(em.msg, cases[i].fs) ||
            !strstr(em.msg, "pseudo filesystem"))
            fail_msg("%s: message \"%s\" does not name the file and %s",
                     cases[i].file, em.msg, cases[i].fs);
        assert_null(atomic_load(&t->p->capture));
    }
    /* A new file in a pseudo filesystem: refused before an open could
     * create it (in mqueue, O_CREAT makes a message queue that stays). */
    {
        char mq[PATH_MAX], file[PATH_MAX + 16];
        int id;

        snprintf(mq, sizeof(mq), "%s/mq", g.dir);
        snprintf(file, sizeof(file), "%s/cap.pcap", mq);
        assert_int_equal(mkdir(mq, 0700), 0);
        if (unshare(CLONE_NEWNS) != 0 ||
            mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
            mount("mqueue", mq, "mqueue", 0, NULL) != 0)
            fail_msg("an mqueue mount of our own at %s: %s", mq,
                     strerror(errno));
        id = vsw_capture_start(g.sw, t->p, file, 1, VSW_CAPTURE_BOTH, 0,
                               &em);
        if (id >= 0) {
            struct vsw_capture_info ci;

            vsw_capture_stop(g.sw, id, &ci);
        }
        assert_int_equal(access(file, F_OK), -1); /* no queue made */
        assert_int_equal(umount2(mq, MNT_DETACH), 0);
        assert_int_equal(id, -EINVAL);
        if (!strstr(em.msg, "mqueue"))
            fail_msg("message \"%s\" does not name mqueue", em.msg);
    }
    phase_end();
}

/* A reader blocked in open(2) on a FIFO, until a writer opens it. */
static _Atomic pid_t fifo_reader_tid;

static void *fifo_reader(void *arg)
{
    const char *path = arg;
    int fd;

    atomic_store(&fifo_reader_tid, (pid_t)syscall(SYS_gettid));
    fd = open(path, O_RDONLY);
    if (fd >= 0)
        close(fd);
    return NULL;
}

/* Waits (at most WAIT_MS) until the reader thread sleeps in openat(2), as
 * /proc/self/task/TID/syscall shows it. */
static void wait_reader_in_open(void)
{
    uint64_t deadline = now_ms() + WAIT_MS;

    for (;;) {
        char path[64], buf[64] = "";
        pid_t tid = atomic_load(&fifo_reader_tid);
        FILE *f;

        if (tid) {
            snprintf(path, sizeof(path), "/proc/self/task/%d/syscall",
                     (int)tid);
            f = fopen(path, "r");
            if (f) {
                if (!fgets(buf, sizeof(buf), f))
                    buf[0] = '\0';
                fclose(f);
            }
            if (atoi(buf) == SYS_openat)
                return;
        }
        if (now_ms() > deadline)
            fail_msg("the FIFO reader is not in openat after %d ms (%s)",
                     WAIT_MS, buf);
        usleep(1000);
    }
}

/* Found by review: the capture file was opened (O_RDWR, blocking, able to
 * take a terminal) before it was checked to be a regular file, so naming
 * a FIFO woke the process waiting to read it, and a device node got an
 * open with whatever that does (a tape rewinds, a tty can become the
 * controlling terminal).  Now a path that exists and is not a regular
 * file is refused before anything opens it. */
static void test_capture_not_opened(void **state)
{
    char fifo[PATH_MAX];
    struct vsa_errmsg em;
    struct tport *t;
    pthread_t th;
    int id, fd;

    (void)state;
    t = tp_open(0, "FO", m_access(1), 0, NULL);
    assert_int_equal(commit(true), 0);
    snprintf(fifo, sizeof(fifo), "%s/capture.fifo", g.dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    atomic_store(&fifo_reader_tid, 0);
    assert_int_equal(pthread_create(&th, NULL, fifo_reader, fifo), 0);
    wait_reader_in_open();
    id = vsw_capture_start(g.sw, t->p, fifo, 1, VSW_CAPTURE_BOTH, 0, &em);
    assert_int_equal(id, -EINVAL);
    assert_non_null(strstr(em.msg, "not a regular file"));
    usleep(100 * 1000);
    /* still blocked: nothing opened the FIFO for writing */
    assert_int_equal(pthread_tryjoin_np(th, NULL), EBUSY);
    fd = open(fifo, O_WRONLY | O_NONBLOCK);
    assert_true(fd >= 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    close(fd);
    unlink(fifo);

    id = vsw_capture_start(g.sw, t->p, "/dev/null", 1, VSW_CAPTURE_BOTH, 0,
                           &em);
    assert_int_equal(id, -EINVAL);
    assert_non_null(strstr(em.msg, "not a regular file"));
    assert_null(atomic_load(&t->p->capture));
    phase_end();
}

/* Fills the filesystem `path` is in with the file `path`, then gives back
 * `room` bytes of it (rounded by the filesystem to its pages). */
static void fill_fs(const char *path, size_t room)
{
    static const char zeros[4096];
    FILE *f = fopen(path, "wb");
    long n = 0;
    size_t w;

    assert_non_null(f);
    setvbuf(f, NULL, _IONBF, 0);
    while ((w = fwrite(zeros, 1, sizeof(zeros), f)) == sizeof(zeros))
        n += (long)w;
    n += (long)w;
    assert_int_equal(errno, ENOSPC);
    fclose(f);
    assert_int_equal(truncate(path, n > (long)room ? n - (long)room : 0), 0);
}

/* A write that fails is not a good capture (it was reported as one: every
 * pcap_dump/pcap_dump_flush result was ignored).  On a real tmpfs of 64 KiB
 * (mounted in a mount namespace of this thread, gone with the process):
 *   - with no room at all, the start is refused with the reason: the pcap
 *     header could not be written; the file the start created is removed
 *     (it stayed, empty), a file that was there before stays;
 *   - with one page left, 20 frames go in, then a burst of 100 fills the
 *     page: the capture ends (done, its port free to capture again) with
 *     "writing FILE: No space left on device", the 100 counted lost, and
 *     the file cut back to the 20 frames of the last good flush, a valid
 *     pcap that reads back (no torn record). */
static void test_capture_write_error(void **state)
{
    struct frame f = fr_untagged(BCAST, MAC(0x78), 46, 2);
    struct vsw_capture_info ci;
    struct vsa_errmsg em;
    struct flist got = { 0 };
    struct rte_mbuf *m;
    struct tport *t;
    char mnt[PATH_MAX], file[PATH_MAX + 16], filler[PATH_MAX + 16];
    char want[PATH_MAX + 64];
    int id, fd;

    (void)state;
    snprintf(mnt, sizeof(mnt), "%s/small", g.dir);
    assert_int_equal(mkdir(mnt, 0700), 0);
    if (unshare(CLONE_NEWNS) != 0 ||
        mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
        mount("tmpfs", mnt, "tmpfs", 0, "size=64k,mode=0700") != 0)
        fail_msg("a tmpfs of our own at %s: %s", mnt, strerror(errno));
    snprintf(file, sizeof(file), "%s/cap.pcap", mnt);
    snprintf(filler, sizeof(filler), "%s/filler", mnt);
    snprintf(want, sizeof(want), "writing %s: %s", file, strerror(ENOSPC));
    t = tp_open(0, "WE", m_access(1), 0, NULL);
    assert_int_equal(commit(true), 0);

    /* no room: the header cannot be written */
    fill_fs(filler, 0);
    id = vsw_capture_start(g.sw, t->p, file, 0, VSW_CAPTURE_RX, 0, &em);
    if (id >= 0) {
        vsw_capture_stop(g.sw, id, &ci);
        fail_msg("capture %d started on a full filesystem", id);
    }
    assert_int_equal(id, -ENOSPC);
    assert_non_null(strstr(em.msg, file));
    assert_non_null(strstr(em.msg, strerror(ENOSPC)));
    assert_null(atomic_load(&t->p->capture));
    /* the file it created for that is gone (an empty one stayed) */
    if (access(file, F_OK) == 0)
        fail_msg("%s, created by the refused start, is still there", file);
    assert_int_equal(errno, ENOENT);
    /* a file that was there before stays, even empty (it takes no room) */
    fd = open(file, O_WRONLY | O_CREAT | O_EXCL, 0644);
    assert_true(fd >= 0);
    close(fd);
    id = vsw_capture_start(g.sw, t->p, file, 0, VSW_CAPTURE_RX, 0, &em);
    assert_int_equal(id, -ENOSPC);
    assert_int_equal(access(file, F_OK), 0);
    assert_int_equal(unlink(file), 0);

    /* one page: 20 frames fit, 120 do not */
    assert_int_equal(unlink(filler), 0);
    fill_fs(filler, 4096);
    id = vsw_capture_start(g.sw, t->p, file, 0, VSW_CAPTURE_RX, 0, &em);
    if (id < 0)
        fail_msg("capture start: %s", em.msg);
    m = rte_pktmbuf_alloc(g.pool);
    assert_non_null(m);
    memcpy(rte_pktmbuf_append(m, (uint16_t)f.len), f.b, f.len);
    capture_copies(atomic_load(&t->p->capture), m, t->id, 20);
    assert_int_equal(vsw_capture_status(g.sw, id, &ci), 0);
    assert_false(ci.done);
    assert_int_equal(ci.captured, 20);
    assert_string_equal(ci.error, "");
    capture_copies(atomic_load(&t->p->capture), m, t->id, 100);
    rte_pktmbuf_free(m);
    assert_int_equal(vsw_capture_status(g.sw, id, &ci), 0);
    assert_string_equal(ci.error, want);
    assert_true(ci.done);
    assert_int_equal(ci.captured, 20);
    assert_int_equal(ci.lost, 100);
    assert_string_equal(ci.port, "WE");
    assert_null(atomic_load(&t->p->capture));
    pcap_read(file, &got);
    assert_int_equal(got.n, 20);
    for (uint32_t i = 0; i < got.n; i++) {
        assert_int_equal(got.v[i].len, f.len);
        assert_memory_equal(got.v[i].b, f.b, f.len);
    }
    fl_free(&got);
    /* stop reports the same end; the port can be captured again */
    assert_int_equal(vsw_capture_stop(g.sw, id, &ci), 0);
    assert_string_equal(ci.error, want);
    assert_int_equal(unlink(filler), 0);
    id = vsw_capture_start(g.sw, t->p, file, 0, VSW_CAPTURE_RX, 0, &em);
    assert_true(id > 0);
    assert_int_equal(vsw_capture_stop(g.sw, id, &ci), 0);
    assert_string_equal(ci.error, "");
    assert_int_equal(umount2(mnt, MNT_DETACH), 0);
    phase_end();
}

/* An error that only close(2) reports ends the capture with it (it was
 * not seen: pcap_dump_close returns nothing).  NFS reports that way the
 * data it could not write back; closefail_fs is a real filesystem (FUSE)
 * whose close fails the same way, mounted in a mount namespace of this
 * thread.  Five frames are written (the header and the records reach the
 * filesystem); ending the capture closes the file, the close fails with
 * EIO, and the capture is an error: "closing FILE: reason", the five
 * frames written, none counted lost. */
static void test_capture_close_error(void **state)
{
    struct frame f = fr_untagged(BCAST, MAC(0x7a), 46, 4);
    struct closefail_fs *fs;
    struct vsw_capture_info ci;
    struct vsa_errmsg em;
    struct rte_mbuf *m;
    struct tport *t;
    char mnt[PATH_MAX], file[PATH_MAX + 16], want[PATH_MAX + 64];
    int id, rc;

    (void)state;
    snprintf(mnt, sizeof(mnt), "%s/closefail", g.dir);
    assert_int_equal(mkdir(mnt, 0700), 0);
    if (unshare(CLONE_NEWNS) != 0 ||
        mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        fail_msg("a mount namespace of our own: %s", strerror(errno));
    rc = closefail_fs_mount(mnt, EIO, &fs);
    if (rc == -ENOENT || rc == -ENODEV)
        skip(); /* no FUSE on this machine */
    if (rc < 0)
        fail_msg("closefail_fs at %s: %s", mnt, strerror(-rc));
    snprintf(file, sizeof(file), "%s/cap.pcap", mnt);
    snprintf(want, sizeof(want), "closing %s: %s", file, strerror(EIO));
    t = tp_open(0, "CE", m_access(1), 0, NULL);
    assert_int_equal(commit(true), 0);
    id = vsw_capture_start(g.sw, t->p, file, 0, VSW_CAPTURE_RX, 0, &em);
    if (id < 0)
        fail_msg("capture start: %s", em.msg);
    m = rte_pktmbuf_alloc(g.pool);
    assert_non_null(m);
    memcpy(rte_pktmbuf_append(m, (uint16_t)f.len), f.b, f.len);
    capture_copies(atomic_load(&t->p->capture), m, t->id, 5);
    rte_pktmbuf_free(m);
    assert_int_equal(vsw_capture_status(g.sw, id, &ci), 0);
    assert_false(ci.done);
    assert_int_equal(ci.captured, 5);
    /* pcap header 24 bytes, each record 16 + the frame */
    assert_int_equal(closefail_fs_size(fs), 24 + 5 * (16 + f.len));
    assert_int_equal(closefail_fs_failed_closes(fs), 0);

    assert_int_equal(vsw_capture_end(g.sw, id, &ci), 0);
    assert_int_equal(closefail_fs_failed_closes(fs), 1);
    assert_true(ci.done);
    assert_int_equal(ci.ended, VSW_CAPTURE_ENDED_ERROR);
    assert_string_equal(ci.error, want);
    assert_int_equal(ci.captured, 5);
    assert_int_equal(ci.lost, 0);
    assert_int_equal(vsw_capture_stop(g.sw, id, &ci), 0);
    assert_string_equal(ci.error, want);
    closefail_fs_unmount(fs);
    phase_end();
}

/* ---- a device's own drops, an empty pool (TESTS.md #25) ---------------- */

/* Frames a device drops itself (here: no mbuf to receive into, the pool
 * empty) are counted per port as `rx_no_mbuf`, from the device's counters
 * (they never reach the switch's own); once buffers are back, forwarding
 * goes on and no mbuf is lost. */
static void test_device_drops_counted(void **state)
{
    struct flist in = { 0 }, in2 = { 0 }, e = { 0 };
    struct vsw_port_stats st;
    struct rte_mbuf **held;
    unsigned n_held = 0, lc;
    uint64_t deadline, seen;
    struct frame a;

    (void)state;
    for (unsigned k = 0; k < 4; k++) {
        a = fr_untagged(BCAST, MAC(0xb0), 46, (uint8_t)k);
        fl_add(&in, &a);
    }
    tp_open(0, "X", m_access(1), 0, &in);
    tp_open(1, "U", m_access(1), 0, NULL);
    /* Empty the pool: every lcore's cache back into it (no port is
     * published yet, so no lcore touches its cache now), then take all. */
    RTE_LCORE_FOREACH(lc) {
        struct rte_mempool_cache *c = rte_mempool_default_cache(g.pool, lc);
        if (c)
            rte_mempool_cache_flush(c, g.pool);
    }
    held = calloc(g.pool->size, sizeof(*held));
    assert_non_null(held);
    while (n_held < g.pool->size &&
           (held[n_held] = rte_pktmbuf_alloc(g.pool)) != NULL)
        n_held++;
    assert_int_equal(rte_mempool_avail_count(g.pool), 0);

    assert_int_equal(commit(true), 0);
    deadline = now_ms() + WAIT_MS;
    do {
        usleep(1000);
        vsw_get_port_stats(g.sw, g.tp[0].p, &st);
    } while (st.drops[VSW_DROP_RX_NO_MBUF] == 0 && now_ms() < deadline);
    seen = st.drops[VSW_DROP_RX_NO_MBUF];
    if (seen == 0)
        fail_msg("no rx_no_mbuf counted on X with the pool empty");
    assert_int_equal(st.rx_packets, 0);
    {
        struct rte_eth_stats es;
        uint16_t pid;
        assert_int_equal(rte_eth_dev_get_port_by_name(g.tp[0].dev, &pid), 0);
        assert_int_equal(rte_eth_stats_get(pid, &es), 0);
        assert_true(es.rx_nombuf >= seen);
    }

    /* The pcap device drops each frame it read and had no buffer for:
     * all four, one per poll, each counted. */
    deadline = now_ms() + WAIT_MS;
    while (st.drops[VSW_DROP_RX_NO_MBUF] < in.n && now_ms() < deadline) {
        usleep(1000);
        vsw_get_port_stats(g.sw, g.tp[0].p, &st);
    }
    assert_int_equal(st.drops[VSW_DROP_RX_NO_MBUF], in.n);
    assert_int_equal(st.rx_packets, 0);
    fl_free(&g.tp[0].sent); /* phase_end: X received nothing */

    /* Buffers back: a new port forwards, and no mbuf is lost. */
    rte_pktmbuf_free_bulk(held, n_held);
    free(held);
    a = fr_untagged(BCAST, MAC(0xb1), 46, 9);
    fl_add(&in2, &a);
    tp_open(2, "Y", m_access(1), 0, &in2);
    step();
    phase_end();
    fl_add(&e, &a);
    expect_out(1, &e);
    expect_drops(0, D(RX_NO_MBUF, in.n), DROPS_END);
    fl_free(&in);
    fl_free(&in2);
    fl_free(&e);
}

/* ---- MTU: oversize frames dropped on the output port ---------------------- */

/* Bug (found by review): no port had an MTU in the switch.  A frame longer
 * than its output port could send was handed to the device, which refused
 * it in its own way: net_tap refused one over its MTU + 22 and returned
 * the rest of the tx burst with it (counted tx_full), net_af_packet's
 * kernel dropped it silently (counted tx_packets), the VM NICs dropped it
 * in counters of their own.  Now every port has an MTU (1500 for every
 * ethdev here, rte_eth_dev_get_mtu), and the switch drops a frame longer
 * than MTU + 14 (+ 4 if it leaves tagged) on the output port as
 * `oversize`, before it is tagged or queued; the frames around it go out.
 *
 * A (access 10) sends B (access 10) 1514, 1515 and 1514 bytes in one burst
 * (good, oversize, good) and T (trunk {10}, so tagged) 1514 (out with its
 * tag, 1518) and 1515 (1519 tagged); then TS (trunk {10}) sends tagged
 * frames of 1518 and 1519 bytes to B (out untagged: 1514 and 1515) and to
 * T2 (trunk {10}: out as they are). */
static void test_mtu_unicast(void **state)
{
    const uint64_t mb = MAC(0x61), mt = MAC(0x62), mt2 = MAC(0x63);
    const uint64_t ma = MAC(0x64), mts = MAC(0x65);
    struct flist in = { 0 }, e = { 0 };
    struct frame a1, a2, a3, a4, a5, t1, t2, t3, t4, f;

    (void)state;
    a1 = fr_untagged(mb, ma, 1500, 1);
    a2 = fr_untagged(mb, ma, 1501, 2);
    a3 = fr_untagged(mb, ma, 1500, 3);
    a4 = fr_untagged(mt, ma, 1500, 4);
    a5 = fr_untagged(mt, ma, 1501, 5);
    assert_int_equal(a1.len, 1514);
    assert_int_equal(a2.len, 1515);
    fl_add(&in, &a1);
    fl_add(&in, &a2);
    fl_add(&in, &a3);
    fl_add(&in, &a4);
    fl_add(&in, &a5);
    tp_open(0, "A", m_access(10), 0, &in);
    tp_open(1, "B", m_access(10), 0, NULL);
    tp_open(2, "T", m_trunk("10", 0, false), 0, NULL);
    tp_open(3, "T2", m_trunk("10", 0, false), 0, NULL);
    add_static(10, mb, 1);
    add_static(10, mt, 2);
    add_static(10, mt2, 3);
    for (unsigned k = 0; k < 4; k++)
        assert_int_equal(vsw_port_mtu(g.tp[k].p), 1500);
    step();
    fl_free(&in);
    t1 = fr_tagged(mb, mts, Q(0, 10), 1500, 6);
    t2 = fr_tagged(mt2, mts, Q(0, 10), 1500, 7);
    t3 = fr_tagged(mb, mts, Q(0, 10), 1501, 8);
    t4 = fr_tagged(mt2, mts, Q(0, 10), 1501, 9);
    assert_int_equal(t1.len, 1518);
    assert_int_equal(t3.len, 1519);
    fl_add(&in, &t1);
    fl_add(&in, &t2);
    fl_add(&in, &t3);
    fl_add(&in, &t4);
    tp_open(4, "TS", m_trunk("10", 0, false), 0, &in);
    step();
    phase_end();
    fl_free(&in);

    fl_add(&e, &a1);                                /* B: both good ones */
    fl_add(&e, &a3);
    f = fr_untagged(mb, mts, 1500, 6);              /* t1 untagged: 1514 */
    fl_add(&e, &f);
    expect_out(1, &e);
    fl_free(&e);
    f = fr_tagged(mt, ma, Q(0, 10), 1500, 4);       /* a4 tagged: 1518 */
    fl_add(&e, &f);
    expect_out(2, &e);
    fl_free(&e);
    fl_add(&e, &t2);                                /* 1518, as it came */
    expect_out(3, &e);
    fl_free(&e);
    expect_drops(0, DROPS_END);
    expect_drops(1, D(OVERSIZE, 2), DROPS_END);     /* a2, t3 */
    expect_drops(2, D(OVERSIZE, 1), DROPS_END);     /* a5 */
    expect_drops(3, D(OVERSIZE, 1), DROPS_END);     /* t4 */
    expect_drops(4, DROPS_END);
}

/* A port of a plugged-in class (port_class.h) whose MTU the test sets: it
 * keeps a copy of what the switch sends it (on the lcore, into a fixed
 * array) and hands the copies to its tport when it is closed. */
#define MC_FRAMES 32

struct mtu_cls {
    _Atomic uint32_t mtu;
    struct tport *t;
    unsigned n;                       /* lcore */
    uint32_t len[MC_FRAMES];
    uint8_t b[MC_FRAMES][2048];
};

static struct mtu_cls mcls;

static uint16_t mc_rx(void *priv, uint16_t lcore_idx, struct rte_mbuf **pkts,
                      uint16_t n)
{
    (void)priv;
    (void)lcore_idx;
    (void)pkts;
    (void)n;
    return 0;
}

static uint16_t mc_tx(void *priv, uint16_t lcore_idx, struct rte_mbuf **pkts,
                      uint16_t n)
{
    struct mtu_cls *c = priv;

    (void)lcore_idx;
    for (uint16_t i = 0; i < n; i++) {
        struct rte_mbuf *m = pkts[i];

        if (c->n < MC_FRAMES && m->pkt_len <= sizeof(c->b[0])) {
            const void *d = rte_pktmbuf_read(m, 0, m->pkt_len, c->b[c->n]);

            if (d != c->b[c->n])
                memcpy(c->b[c->n], d, m->pkt_len);
            c->len[c->n++] = m->pkt_len;
        }
        rte_pktmbuf_free(m);
    }
    return n;
}

static bool mc_link(void *priv)
{
    (void)priv;
    return true;
}

static uint32_t mc_mtu(void *priv)
{
    struct mtu_cls *c = priv;

    return atomic_load(&c->mtu);
}

/* Control thread, after the lcores let go of the port. */
static void mc_close(void *priv)
{
    struct mtu_cls *c = priv;

    for (unsigned i = 0; i < c->n; i++)
        fl_add_raw(&c->t->got, c->b[i], c->len[i]);
    c->n = 0;
}

static const struct vsw_port_plugin mtu_class = {
    .name = "test-mtu",
    .rx_burst = mc_rx,
    .tx_burst = mc_tx,
    .link_get = mc_link,
    .mtu_get = mc_mtu,
    .close = mc_close,
};

/* Opens the test's class port (one at a time) with MTU mtu. */
static struct tport *tp_open_class(unsigned slot, const char *label,
                                   struct vlan_port_mode mode, uint32_t mtu)
{
    struct tport *t = &g.tp[slot];
    struct vsa_mac mac = vsa_mac_from_u64(MAC(0x70 + slot));
    struct vsa_errmsg em;
    int rc;

    assert_true(slot < MAX_TP);
    assert_false(t->used);
    memset(t, 0, sizeof(*t));
    t->used = true;
    t->ring = true; /* no files: mc_close fills `got` */
    snprintf(t->label, sizeof(t->label), "%s", label);
    t->mode = mode;
    memset(&mcls, 0, sizeof(mcls));
    atomic_store(&mcls.mtu, mtu);
    mcls.t = t;
    rc = vsw_port_open_class(g.sw, label, &mtu_class, &mcls, &mac, &t->p,
                             &em);
    if (rc != 0)
        fail_msg("vsw_port_open_class(%s): %d %s", label, rc, em.msg);
    t->id = vsw_port_id(t->p);
    return t;
}

/* A flood with one member of a smaller MTU (S, 1000) loses only that
 * member's copy of a frame too long for it, counted on S; a frame too
 * long for every member is counted on each of them, not on the ingress
 * port.  W (access 1) sends to broadcast 60, 1014 (S's longest), 1015,
 * 1514 and 1515 bytes; B (access 1) and C (trunk {1}, tagged) have an MTU
 * of 1500. */
static void test_mtu_flood(void **state)
{
    static const unsigned plen[5] = { 46, 1000, 1001, 1500, 1501 };
    struct flist in = { 0 }, eb = { 0 }, ec = { 0 }, es = { 0 };
    struct frame fr;

    (void)state;
    for (unsigned k = 0; k < 5; k++) {
        fr = fr_untagged(BCAST, MAC(0x66), plen[k], (uint8_t)k);
        fl_add(&in, &fr);
        if (k < 4)
            fl_add(&eb, &fr);
        if (k < 2)
            fl_add(&es, &fr);
        fr = fr_tagged(BCAST, MAC(0x66), Q(0, 1), plen[k], (uint8_t)k);
        if (k < 4)
            fl_add(&ec, &fr);
    }
    tp_open(0, "W", m_access(1), 0, &in);
    tp_open(1, "B", m_access(1), 0, NULL);
    tp_open(2, "C", m_trunk("1", 0, false), 0, NULL);
    tp_open_class(3, "S", m_access(1), 1000);
    assert_int_equal(vsw_port_mtu(g.tp[3].p), 1000);
    step();
    phase_end();
    fl_free(&in);

    expect_out(1, &eb);
    expect_out(2, &ec);
    expect_out(3, &es);
    expect_drops(0, DROPS_END);
    expect_drops(1, D(OVERSIZE, 1), DROPS_END);
    expect_drops(2, D(OVERSIZE, 1), DROPS_END);
    expect_drops(3, D(OVERSIZE, 3), DROPS_END);
    fl_free(&eb);
    fl_free(&ec);
    fl_free(&es);
}

/* A port's MTU changes while it is published (a VM NIC's negotiated MTU,
 * asked once a second by vsw_tick): the lcores get the new one with a new
 * snapshot, without a commit.  R (net_ring, access 1) sends S (class,
 * access 1) a 1114-byte frame while S's MTU is 1000 (oversize), then again
 * after it became 1200 (out); 9000 is capped at 1500. */
static void test_mtu_follows_class(void **state)
{
    struct flist none = { 0 }, e = { 0 };
    struct frame fr = fr_untagged(BCAST, MAC(0x67), 1100, 1);
    uint16_t pid;

    (void)state;
    tp_open_ring(0, "R", m_access(1), &none);
    tp_open_class(1, "S", m_access(1), 1000);
    assert_int_equal(rte_eth_dev_get_port_by_name(g.tp[0].dev, &pid), 0);
    assert_int_equal(vsw_port_mtu(g.tp[0].p), 1500);
    step();
    ring_put(0, pid, storm_mbuf(g.pool, &fr, 0));
    wait_all_rx();
    atomic_store(&mcls.mtu, 1200);
    for (int i = 0; i < 10; i++) /* one of them asks the class */
        vsw_tick(g.sw);
    assert_int_equal(vsw_port_mtu(g.tp[1].p), 1200);
    ring_put(0, pid, storm_mbuf(g.pool, &fr, 1));
    wait_all_rx();
    atomic_store(&mcls.mtu, 9000);
    for (int i = 0; i < 10; i++)
        vsw_tick(g.sw);
    assert_int_equal(vsw_port_mtu(g.tp[1].p), 1500);
    phase_end();

    fl_add_raw(&e, g.tp[0].sent.v[1].b, g.tp[0].sent.v[1].len);
    expect_out(1, &e);
    expect_drops(0, DROPS_END);
    expect_drops(1, D(OVERSIZE, 1), DROPS_END);
    fl_free(&e);
}

static void test_mempool(void **state)
{
    (void)state;
    /* Every phase above already checked this after its ports closed; this
     * is the final word after all of them, looked up by name. */
    assert_ptr_equal(rte_mempool_lookup("vsw_pool"), g.pool);
    assert_int_equal(rte_mempool_avail_count(g.pool), g.pool_baseline);
    assert_int_equal(rte_mempool_in_use_count(g.pool), 0);
    assert_int_equal(g.pool_baseline, N_MBUFS);
}

/* ---- group setup: EAL and the switch ------------------------------------- */

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
        "test_pipeline", "--no-huge", "-m", "512", "--no-pci",
        "--file-prefix", prefix, "-l", "0,1", "--main-lcore", "0",
        "--log-level", "lib.eal:error", NULL,
    };
    struct vsw_params p = { .n_mbufs = N_MBUFS, .n_dp_lcores = 1 };
    struct vsa_errmsg em;

    (void)state;
    vsa_log_set_level(VSA_LOG_WARN);
    snprintf(prefix, sizeof(prefix), "vt_pipe%d", (int)getpid());
    if (rte_eal_init((int)(sizeof(argv) / sizeof(argv[0])) - 1, argv) < 0) {
        fprintf(stderr, "rte_eal_init failed: %s\n", rte_strerror(rte_errno));
        return -1;
    }
    if (vsw_create(&p, &g.sw, &em) != 0) {
        fprintf(stderr, "vsw_create: %s\n", em.msg);
        return -1;
    }
    g.pool = rte_mempool_lookup("vsw_pool");
    if (!g.pool)
        return -1;
    g.pool_baseline = rte_mempool_avail_count(g.pool);
    snprintf(g.dir, sizeof(g.dir), "/tmp/vt_pipe_XXXXXX");
    if (!mkdtemp(g.dir))
        return -1;
    /* The switch exists before the first test: FDB checks need it. */
    if (commit(false) != 0)
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    char runtime[PATH_MAX];

    (void)state;
    vsw_destroy(g.sw);
    g.sw = NULL;
    /* the EAL's runtime files (--file-prefix) would stay in /var/run/dpdk */
    snprintf(runtime, sizeof(runtime), "%s", rte_eal_get_runtime_dir());
    rte_eal_cleanup();
    if (runtime[0])
        nftw(runtime, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    if (g.dir[0])
        nftw(g.dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    return 0;
}

/* ---- refused devices: the operator's message ------------------------------ */

/* A device DPDK will not create is refused with -ENODEV and a message that
 * names the likely cause, not DPDK's bare errno (which was "Bad address"
 * for a driver name nobody knows); nothing is left open. */
static void test_open_refused(void **state)
{
    static const struct {
        const char *devargs, *says;
    } cases[] = {
        { "net_bogus0", "no DPDK driver or bus knows that name" },
        { "net_null7,no_such_arg=1", "its driver refused it" },
        { "0000:00:1f.0", "a PCI device needs vesperd started with --pci" },
    };
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct vsw_port_spec spec = { .cls = VSW_PORT_DPDK,
                                      .devargs = cases[i].devargs };
        struct vsw_port *p = NULL;
        struct vsa_errmsg em;
        int rc;

        snprintf(spec.name, sizeof(spec.name), "refused%zu", i);
        rc = vsw_port_open(g.sw, &spec, &p, &em);
        assert_int_equal(rc, -ENODEV);
        assert_null(p);
        if (!strstr(em.msg, cases[i].says) ||
            !strstr(em.msg, cases[i].devargs))
            fail_msg("%s: message \"%s\" does not say \"%s\"",
                     cases[i].devargs, em.msg, cases[i].says);
        assert_int_equal(rte_eth_dev_count_avail(), 0);
    }
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, test_setup, test_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_vlan_matrix),
        T(test_learning),
        T(test_switch_isolation),
        T(test_vlan_leave_flushes),
        T(test_fdb_resize_keeps_entries),
        T(test_statics_fit_any_seed),
        T(test_statics_absent_port_counted),
        T(test_fdb_resize_static_not_lost),
        T(test_down_port_keeps_no_entries),
        T(test_flood_members_down),
        T(test_move_storm),
        T(test_runts),
        T(test_learn_limit),
        T(test_static),
        T(test_counters),
        T(test_fanin),
        T(test_capture_count_after_losses),
        T(test_capture_count_race),
        T(test_capture_whole_records),
        T(test_capture_ended),
        T(test_capture_pseudo_files),
        T(test_capture_not_opened),
        T(test_capture_write_error),
        T(test_capture_close_error),
        T(test_open_refused),
        T(test_device_drops_counted),
        T(test_mtu_unicast),
        T(test_mtu_flood),
        T(test_mtu_follows_class),
        T(test_mempool),   /* last: after every phase */
    };
    return cmocka_run_group_tests_name("vswitch-pipeline", tests, group_setup,
                                       group_teardown);
}
