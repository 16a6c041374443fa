/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_vsp_vsc.c — objective: the guest client (vsc.c) and the host VSP
 * (vsp.c) interoperate end to end in one process, connected through REAL
 * hv_ring rings over shared buffers and REAL hv_gpadl buffers in hv_mem
 * guest memory (a pump moves packets both ways), and the host keeps its
 * bounds when the guest misbehaves:
 *  * handshake in the Linux order (every NVSP version of the matrix, A.8)
 *    and in the iPXE minimal order; MAC, MTU, link, filter agree on both
 *    sides;
 *  * 1000 frames each way with content, length and VLAN checks, sections
 *    and the GPA fallback both used, every slot and section returned;
 *  * the packet filter for broadcast / multicast / unicast under directed,
 *    multicast list, all-multicast, promiscuous and 0 (1000-frame check);
 *  * MTU: frames over the negotiated MTU dropped and counted both ways;
 *  * link changes indicated to the guest, traffic dropped while down;
 *  * a guest that stops draining (A.26 flavour): the backlog stays within
 *    the receive slots, the excess is counted, host memory is flat, and
 *    traffic resumes when the guest drains again;
 *  * a guest that keeps exactly one receive slot free while the host has
 *    two frames for it (#26's second variant), 10,000 times: one frame is
 *    posted, the other counted h2g_no_section at once, nothing is queued
 *    in the host waiting for a second slot, host memory is flat;
 *  * repetition (A.28): INIT 100,000 times (refused versions: answered;
 *    after a negotiated version: the first closes the channel, the rest
 *    are dropped), buffer setup/revoke 20,000 times (reopen between),
 *    RNDIS control 100,000 times — allocations flat, no GPADL reference
 *    left;
 *  * buffer and section bounds (A.6): section indexes / sizes out of range,
 *    GPA ranges outside guest memory or too long, unknown / too small /
 *    overlapping buffers, GPADL teardown while the VSP still references it
 *    (deferred, no use-after-free), bogus and duplicate completions;
 *  * Linux's mixed section + GPA form, multi-packet sections and the
 *    max_pkts_per_msg bound, the completion queue when the ring is full;
 *  * the guest's queue of receive completions: a FAILURE (a transfer-page
 *    packet the guest refuses) that waits for room in a full guest→host
 *    ring goes out as FAILURE (the host counts guest_rx_nack).
 *    Regression test for: the queue kept only the trans_id and resent
 *    every deferred completion as SUCCESS;
 *  * the guest's batched sends (vspn_vsc_send_more): eight frames per
 *    message, as many as fit in a section, all delivered in order.
 * Live heap allocations are counted through -Wl,--wrap=malloc/calloc/free.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/vsa_log.h"
#include "vspn_harness.h"

/* ---- live allocation counter ------------------------------------------------ */

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t m);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);

static long live_allocs;

void *__wrap_malloc(size_t n)
{
    void *p = __real_malloc(n);
    if (p)
        __atomic_add_fetch(&live_allocs, 1, __ATOMIC_RELAXED);
    return p;
}

void *__wrap_calloc(size_t n, size_t m)
{
    void *p = __real_calloc(n, m);
    if (p)
        __atomic_add_fetch(&live_allocs, 1, __ATOMIC_RELAXED);
    return p;
}

void *__wrap_realloc(void *p, size_t n)
{
    void *q = __real_realloc(p, n);
    if (!p && q)
        __atomic_add_fetch(&live_allocs, 1, __ATOMIC_RELAXED);
    return q;
}

void __wrap_free(void *p)
{
    if (p)
        __atomic_sub_fetch(&live_allocs, 1, __ATOMIC_RELAXED);
    __real_free(p);
}

/* ---- helpers -------------------------------------------------------------------- */

static struct hp *P;
static struct hx H;

static uint64_t rng = 0x243F6A8885A308D3ull;

static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 11);
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static const uint8_t BCAST[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

/* A frame to `dst` of `len` bytes with seeded content. */
static void mkframe(uint8_t *f, const uint8_t *dst, uint32_t len,
                    uint32_t seed)
{
    memcpy(f, dst, 6);
    f[6] = 0x02;
    f[7] = 0x11;
    put32(f + 8, seed);
    f[12] = 0x08;
    f[13] = 0x00;
    for (uint32_t i = 14; i < len; i++)
        f[i] = (uint8_t)(seed * 31 + i * 7);
}

static struct hp *new_pair(const struct vspn_vsp_cfg *cfg,
                           enum vspn_vsc_mode mode)
{
    struct hp *p = calloc(1, sizeof(*p));

    assert_non_null(p);
    assert_int_equal(hp_init(p, cfg, mode), 0);
    return p;
}

static void free_pair(struct hp *p)
{
    hp_fini(p);
    free(p);
}

static void up(struct hp *p)
{
    assert_int_equal(vspn_vsc_start(p->vsc), 0);
    assert_true(hp_pump(p, 100) > 0);
    assert_int_equal(vspn_vsc_state(p->vsc), VSPN_VSC_READY);
}

/* ---- handshakes ----------------------------------------------------------------- */

static void test_handshake_linux(void **state)
{
    static const uint32_t vers[] = {
        VSPN_NVSP_VERSION_61, VSPN_NVSP_VERSION_6, VSPN_NVSP_VERSION_5,
        VSPN_NVSP_VERSION_4,  VSPN_NVSP_VERSION_2, VSPN_NVSP_VERSION_1,
    };
    (void)state;

    /* default list: the highest wins */
    P = new_pair(NULL, VSPN_VSC_LINUX);
    up(P);
    assert_int_equal(vspn_vsc_nvsp_version(P->vsc), VSPN_NVSP_VERSION_61);
    assert_int_equal(vspn_vsp_nvsp_version(P->h.vsp), VSPN_NVSP_VERSION_61);
    assert_int_equal(vspn_vsp_ndis_version(P->h.vsp), 0x0006001E);
    assert_int_equal(vspn_vsp_state(P->h.vsp), VSPN_VSP_READY);
    assert_int_equal(vspn_vsp_rndis_state(P->h.vsp), VSPN_RNDIS_INITIALIZED);
    assert_memory_equal(vspn_vsc_mac(P->vsc).b, P->h.cfg.mac.b, 6);
    assert_int_equal(vspn_vsc_mtu(P->vsc), 1500);
    assert_true(vspn_vsc_link_up(P->vsc));
    assert_int_equal(vspn_vsc_link_speed(P->vsc), 100000000);
    assert_int_equal(vspn_vsp_filter(P->h.vsp), 0x0D);
    assert_int_equal(vspn_vsc_filter(P->vsc), 0x0D);
    assert_int_equal(vspn_vsc_send_sections(P->vsc), HX_SEND_SIZE / 6144);
    assert_int_equal(vspn_vsp_send_sections(P->h.vsp), HX_SEND_SIZE / 6144);
    assert_int_equal(vspn_vsc_recv_slots(P->vsc), HX_RECV_SIZE / 1728);
    assert_int_equal(P->h.nclose, 0);
    assert_int_equal(vspn_vsp_recv_slots_free(P->h.vsp),
                     vspn_vsp_recv_slots(P->h.vsp));
    assert_int_equal(vspn_vsc_stats(P->vsc)->rx_bad_rndis, 0);
    assert_int_equal(vspn_vsc_stats(P->vsc)->host_invalid, 0);
    assert_int_equal(vspn_vsp_stats(P->h.vsp)->oid_unsupported, 0);
    free_pair(P);

    /* every version of the matrix, forced */
    for (size_t i = 0; i < sizeof(vers) / 4; i++) {
        P = new_pair(NULL, VSPN_VSC_LINUX);
        P->vcfg.versions = &vers[i];
        P->vcfg.nversions = 1;
        vspn_vsc_destroy(P->vsc);
        assert_int_equal(vspn_vsc_create(&P->vcfg, &hp_guest_ops, P,
                                         &P->vsc), 0);
        up(P);
        assert_int_equal(vspn_vsp_nvsp_version(P->h.vsp), vers[i]);
        assert_int_equal(vspn_vsp_ndis_version(P->h.vsp),
                         vers[i] >= VSPN_NVSP_VERSION_5 ? 0x6001E : 0x60001);
        assert_int_equal(P->h.nclose, 0);
        free_pair(P);
    }
    /* a version the host does not speak: the guest ends FAILED, cleanly */
    {
        static const uint32_t only[] = { 0x00030000 };
        P = new_pair(NULL, VSPN_VSC_LINUX);
        P->vcfg.versions = only;
        P->vcfg.nversions = 1;
        vspn_vsc_destroy(P->vsc);
        assert_int_equal(vspn_vsc_create(&P->vcfg, &hp_guest_ops, P,
                                         &P->vsc), 0);
        assert_int_equal(vspn_vsc_start(P->vsc), 0);
        hp_pump(P, 100);
        assert_int_equal(vspn_vsc_state(P->vsc), VSPN_VSC_FAILED);
        assert_int_equal(vspn_vsp_state(P->h.vsp), VSPN_VSP_WAIT_INIT);
        assert_int_equal(P->h.nclose, 0);
        free_pair(P);
    }
}

static void test_handshake_minimal(void **state)
{
    uint8_t f[128];
    (void)state;

    P = new_pair(NULL, VSPN_VSC_MINIMAL);
    up(P);
    assert_int_equal(vspn_vsc_nvsp_version(P->vsc), VSPN_NVSP_VERSION_1);
    assert_int_equal(vspn_vsp_state(P->h.vsp), VSPN_VSP_RXBUF);
    assert_false(vspn_vsp_has_send_buf(P->h.vsp));
    assert_int_equal(vspn_vsp_ndis_version(P->h.vsp), 0x60001);
    assert_memory_equal(vspn_vsc_mac(P->vsc).b, P->h.cfg.mac.b, 6);
    assert_int_equal(vspn_vsp_filter(P->h.vsp), 0x0D);
    /* frames both ways: GPA-direct out, 0xBEAD transfer pages in */
    mkframe(f, BCAST, 100, 1);
    assert_int_equal(vspn_vsc_send(P->vsc, f, 100, 0, false), 0);
    {
        struct vspn_frame fr = { f, 100, 0, false };
        assert_int_equal(vspn_vsp_deliver(P->h.vsp, &fr, 1), 1);
    }
    hp_pump(P, 100);
    assert_int_equal(P->host_rx, 1);
    assert_int_equal(P->guest_rx, 1);
    assert_int_equal(vspn_vsc_stats(P->vsc)->tx_gpa, 1);
    assert_int_equal(vspn_vsc_stats(P->vsc)->rx_bad_xfer, 0);
    assert_int_equal(vspn_vsp_recv_slots_free(P->h.vsp),
                     vspn_vsp_recv_slots(P->h.vsp));
    /* close like iPXE: revoke with completion requested */
    assert_int_equal(vspn_vsc_stop(P->vsc), 0);
    hp_pump(P, 100);
    assert_int_equal(vspn_vsp_state(P->h.vsp), VSPN_VSP_REVOKED);
    assert_int_equal(P->h.nclose, 0);
    assert_int_equal(hv_gpadl_teardown(P->h.gt, HX_RELID, HX_RECV_GPADL), 0);
    free_pair(P);
}

/* ---- data path ------------------------------------------------------------------ */

static void test_frames_both_ways(void **state)
{
    static uint8_t f[2048];
    static uint64_t sums[1000];
    static uint32_t lens[1000];
    static uint16_t tcis[1000];
    struct vspn_frame fr[32];
    static uint8_t fb[32][1600];
    long allocs;
    (void)state;

    P = new_pair(NULL, VSPN_VSC_LINUX);
    up(P);
    allocs = live_allocs;
    /* guest → host, pumped every 8 frames: sections */
    for (unsigned i = 0; i < 1000; i++) {
        uint32_t len = 60 + rnd() % (1514 - 60 + 1);
        bool vlan = (i % 5) == 0;

        mkframe(f, P->h.cfg.mac.b, len, i);
        lens[i] = len;
        sums[i] = hp_sum(f, len);
        tcis[i] = (uint16_t)(vlan ? ((i % 8) << 13 | (1 + i % 4094)) : 0);
        assert_int_equal(vspn_vsc_send(P->vsc, f, len, tcis[i], vlan), 0);
        if (i % 8 == 7)
            hp_pump(P, 100);
    }
    hp_pump(P, 100);
    assert_int_equal(P->host_rx, 1000);
    for (unsigned i = 0; i < 1000; i++) {
        assert_int_equal(P->host_frames[i].len, lens[i]);
        assert_true(P->host_frames[i].sum == sums[i]);
        assert_int_equal(P->host_frames[i].has_vlan, (i % 5) == 0);
        assert_int_equal(P->host_frames[i].tci, tcis[i]);
    }
    assert_int_equal(vspn_vsc_tx_inflight(P->vsc), 0);

    /* host → guest in bursts of 32: one transfer-page packet each */
    {
        uint64_t batches = vspn_vsp_stats(P->h.vsp)->h2g_batches;
        unsigned sent = 0;

        while (sent < 1000) {
            unsigned n = 1000 - sent < 32 ? 1000 - sent : 32;
            for (unsigned k = 0; k < n; k++) {
                unsigned i = sent + k;
                uint32_t len = 60 + rnd() % (1514 - 60 + 1);

                mkframe(fb[k], (i & 1) ? BCAST : P->h.cfg.mac.b, len,
                        i + 5000);
                lens[i] = len;
                sums[i] = hp_sum(fb[k], len);
                fr[k] = (struct vspn_frame){ fb[k], len,
                                             (uint16_t)(i % 4094 + 1),
                                             (i % 3) == 0 };
            }
            assert_int_equal(vspn_vsp_deliver(P->h.vsp, fr, n), n);
            sent += n;
            hp_pump(P, 100);
        }
        assert_int_equal(vspn_vsp_stats(P->h.vsp)->h2g_batches - batches,
                         (1000 + 31) / 32);
    }
    assert_int_equal(P->guest_rx, 1000);
    for (unsigned i = 0; i < 1000; i++) {
        assert_int_equal(P->guest_frames[i].len, lens[i]);
        assert_true(P->guest_frames[i].sum == sums[i]);
        assert_int_equal(P->guest_frames[i].has_vlan, (i % 3) == 0);
        if (i % 3 == 0)
            assert_int_equal(P->guest_frames[i].tci, i % 4094 + 1);
    }
    assert_int_equal(vspn_vsp_recv_slots_free(P->h.vsp),
                     vspn_vsp_recv_slots(P->h.vsp));
    assert_int_equal(live_allocs, allocs); /* no per-frame allocation */

    /* bursts without pumping: sections run out, GPA pages take over, then
     * -EAGAIN; everything accepted arrives */
    {
        unsigned ok = 0, before = P->host_rx;

        for (unsigned i = 0; i < 200; i++) {
            mkframe(f, BCAST, 1000, 9000 + i);
            int rc = vspn_vsc_send(P->vsc, f, 1000, 0, false);
            assert_true(rc == 0 || rc == -EAGAIN);
            ok += rc == 0;
        }
        assert_true(vspn_vsc_stats(P->vsc)->tx_sections >= 42);
        assert_true(vspn_vsc_stats(P->vsc)->tx_gpa > 0);
        assert_true(vspn_vsc_stats(P->vsc)->tx_busy > 0);
        hp_pump(P, 100);
        assert_int_equal(P->host_rx - before, ok);
        assert_int_equal(vspn_vsc_tx_inflight(P->vsc), 0);
    }
    assert_int_equal(P->h.nclose, 0);
    free_pair(P);
}

/* Host delivers `n` frames to `dst`; returns how many the guest got. */
static unsigned burst_to(const uint8_t *dst, unsigned n)
{
    static uint8_t fb[32][128];
    struct vspn_frame fr[32];
    unsigned before = P->guest_rx, left = n;

    while (left) {
        unsigned k = left < 32 ? left : 32;
        for (unsigned i = 0; i < k; i++) {
            mkframe(fb[i], dst, 64, i);
            fr[i] = (struct vspn_frame){ fb[i], 64, 0, false };
        }
        vspn_vsp_deliver(P->h.vsp, fr, k);
        hp_pump(P, 100);
        left -= k;
    }
    return P->guest_rx - before;
}

static void set_filter(uint32_t f)
{
    uint32_t st;

    assert_int_equal(vspn_vsc_set_filter(P->vsc, f), 0);
    hp_pump(P, 100);
    assert_int_equal(vspn_vsc_oid_result(P->vsc, &st, NULL, 0, NULL), 0);
    assert_int_equal(st, 0);
    assert_int_equal(vspn_vsp_filter(P->h.vsp), f);
}

static void test_filter(void **state)
{
    static const uint8_t mc_in[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };
    static const uint8_t mc_out[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x02 };
    static const uint8_t other[6] = { 0x00, 0x15, 0x5d, 0x99, 0x99, 0x99 };
    const uint8_t *mine;
    uint32_t st;
    (void)state;

    P = new_pair(NULL, VSPN_VSC_LINUX);
    up(P);
    mine = P->h.cfg.mac.b;
    /* Linux "up": directed | all-multicast | broadcast (0x0D) */
    assert_int_equal(burst_to(BCAST, 1000), 1000);
    assert_int_equal(burst_to(mc_in, 100), 100);
    assert_int_equal(burst_to(mc_out, 100), 100);
    assert_int_equal(burst_to(mine, 100), 100);
    assert_int_equal(burst_to(other, 100), 0);
    /* directed only */
    set_filter(VSPN_RNDIS_FILTER_DIRECTED);
    assert_int_equal(burst_to(BCAST, 1000), 0);
    assert_int_equal(burst_to(mc_in, 100), 0);
    assert_int_equal(burst_to(mine, 100), 100);
    /* multicast list */
    assert_int_equal(vspn_vsc_oid_request(P->vsc, VSPN_RNDIS_MSG_SET,
                                          VSPN_OID_802_3_MULTICAST_LIST,
                                          mc_in, 6), 0);
    hp_pump(P, 100);
    assert_int_equal(vspn_vsc_oid_result(P->vsc, &st, NULL, 0, NULL), 0);
    assert_int_equal(st, 0);
    set_filter(VSPN_RNDIS_FILTER_MULTICAST | VSPN_RNDIS_FILTER_BROADCAST);
    assert_int_equal(burst_to(mc_in, 100), 100);
    assert_int_equal(burst_to(mc_out, 100), 0);
    assert_int_equal(burst_to(BCAST, 1000), 1000);
    assert_int_equal(burst_to(mine, 100), 0);
    /* all-multicast */
    set_filter(VSPN_RNDIS_FILTER_ALL_MULTICAST);
    assert_int_equal(burst_to(mc_out, 100), 100);
    assert_int_equal(burst_to(BCAST, 100), 0);
    /* promiscuous */
    set_filter(VSPN_RNDIS_FILTER_PROMISCUOUS);
    assert_int_equal(burst_to(other, 100), 100);
    assert_int_equal(burst_to(BCAST, 100), 100);
    assert_int_equal(burst_to(mc_out, 100), 100);
    /* interface down: filter 0 */
    set_filter(0);
    assert_int_equal(burst_to(BCAST, 100), 0);
    assert_int_equal(burst_to(mine, 100), 0);
    assert_int_equal(vspn_vsp_stats(P->h.vsp)->h2g_filtered, 1700);
    /* a query through the guest: the current MAC */
    {
        uint8_t mac[8];
        uint32_t n;
        assert_int_equal(vspn_vsc_oid_request(P->vsc, VSPN_RNDIS_MSG_QUERY,
                                              VSPN_OID_802_3_CURRENT_ADDRESS,
                                              NULL, 0), 0);
        assert_int_equal(vspn_vsc_oid_request(P->vsc, VSPN_RNDIS_MSG_QUERY,
                                              VSPN_OID_GEN_LINK_SPEED, NULL,
                                              0), -EBUSY);
        hp_pump(P, 100);
        assert_int_equal(vspn_vsc_oid_result(P->vsc, &st, mac, 8, &n), 0);
        assert_int_equal(st, 0);
        assert_int_equal(n, 6);
        assert_memory_equal(mac, mine, 6);
    }
    assert_int_equal(P->h.nclose, 0);
    free_pair(P);
}

static void test_mtu(void **state)
{
    static uint8_t f[9300];
    struct vspn_frame fr;
    struct vspn_nvsp_msg m;
    uint8_t msg[9400];
    int h;
    (void)state;

    /* through the pair: the guest refuses, the host drops and counts */
    P = new_pair(NULL, VSPN_VSC_LINUX);
    up(P);
    mkframe(f, BCAST, 1515, 1); /* payload 1501 */
    assert_int_equal(vspn_vsc_send(P->vsc, f, 1515, 0, false), -EMSGSIZE);
    mkframe(f, BCAST, 1514, 1);
    assert_int_equal(vspn_vsc_send(P->vsc, f, 1514, 0, false), 0);
    fr = (struct vspn_frame){ f, 1515, 0, false };
    assert_int_equal(vspn_vsp_deliver(P->h.vsp, &fr, 1), 0);
    assert_int_equal(vspn_vsp_stats(P->h.vsp)->h2g_oversize, 1);
    /* an in-frame 802.1Q tag does not count */
    mkframe(f, BCAST, 1518, 2);
    f[12] = 0x81;
    f[13] = 0x00;
    fr = (struct vspn_frame){ f, 1518, 0, false };
    assert_int_equal(vspn_vsp_deliver(P->h.vsp, &fr, 1), 1);
    fr.len = 13;
    assert_int_equal(vspn_vsp_deliver(P->h.vsp, &fr, 1), 0);
    assert_int_equal(vspn_vsp_stats(P->h.vsp)->h2g_runt, 1);
    hp_pump(P, 100);
    assert_int_equal(P->host_rx, 1);
    assert_int_equal(P->guest_rx, 1);
    free_pair(P);

    /* host alone: a guest that negotiates MTU 1000 and sends more */
    assert_int_equal(hx_init(&H, NULL), 0);
    assert_int_equal(hx_handshake(&H, VSPN_NVSP_VERSION_5, 1), 0);
    memset(&m, 0, sizeof(m));
    m.type = VSPN_NVSP_SEND_NDIS_CONFIG;
    m.u.ndis_config.mtu = 1000 + 14;
    assert_int_equal(hx_nvsp(&H, &m, 0), 0);
    memset(&m, 0, sizeof(m));
    m.type = VSPN_NVSP_SEND_NDIS_VERSION;
    m.u.ndis_ver.major = 6;
    m.u.ndis_ver.minor = 30;
    assert_int_equal(hx_nvsp(&H, &m, 0), 0);
    memset(&m, 0, sizeof(m));
    m.type = VSPN_NVSP_SEND_RECV_BUF;
    m.u.buf.gpadl = HX_RECV_GPADL;
    m.u.buf.id = 0xCAFE;
    assert_int_equal(hx_nvsp(&H, &m, 1), 0);
    h = vspn_rndis_encode_init(msg, sizeof(msg), 1, 0x4000);
    assert_int_equal(hx_rndis_gpa(&H, msg, (uint32_t)h, 1), 0);
    assert_int_equal(vspn_vsp_mtu(H.vsp), 1000);
    mkframe(f, BCAST, 1015, 3);
    h = vspn_rndis_packet_hdr(msg, sizeof(msg), NULL, 1015);
    memcpy(msg + h, f, 1015);
    assert_int_equal(hx_rndis_gpa(&H, msg, (uint32_t)h + 1015, 0), 0);
    assert_int_equal(HX_STAT(&H, g2h_oversize), 1);
    assert_int_equal(H.nframes, 0);
    h = vspn_rndis_packet_hdr(msg, sizeof(msg), NULL, 1014);
    memcpy(msg + h, f, 1014);
    assert_int_equal(hx_rndis_gpa(&H, msg, (uint32_t)h + 1014, 0), 0);
    assert_int_equal(H.nframes, 1);
    /* NDIS_CONFIG with an absurd MTU is a violation */
    hx_fini(&H);
    assert_int_equal(hx_init(&H, NULL), 0);
    assert_int_equal(hx_handshake(&H, VSPN_NVSP_VERSION_5, 1), 0);
    memset(&m, 0, sizeof(m));
    m.type = VSPN_NVSP_SEND_NDIS_CONFIG;
    m.u.ndis_config.mtu = 20;
    assert_int_equal(hx_nvsp(&H, &m, 0), -EPROTO);
    assert_int_equal(H.nclose, 1);
    hx_fini(&H);
}

static void test_link(void **state)
{
    uint8_t f[64];
    struct vspn_frame fr = { f, 64, 0, false };
    (void)state;

    P = new_pair(NULL, VSPN_VSC_LINUX);
    up(P);
    mkframe(f, BCAST, 64, 1);
    vspn_vsp_set_link(P->h.vsp, false);
    hp_pump(P, 100);
    assert_false(vspn_vsc_link_up(P->vsc));
    assert_int_equal(P->link_changes, 1);
    assert_int_equal(vspn_vsp_deliver(P->h.vsp, &fr, 1), 0);
    assert_int_equal(vspn_vsp_stats(P->h.vsp)->h2g_link_down, 1);
    assert_int_equal(vspn_vsc_send(P->vsc, f, 64, 0, false), 0);
    hp_pump(P, 100);
    assert_int_equal(P->host_rx, 0);
    assert_int_equal(vspn_vsp_stats(P->h.vsp)->g2h_link_down, 1);
    vspn_vsp_set_link(P->h.vsp, false); /* no change, no indication */
    vspn_vsp_set_link(P->h.vsp, true);
    hp_pump(P, 100);
    assert_true(vspn_vsc_link_up(P->vsc));
    assert_int_equal(P->link_changes, 2);
    assert_int_equal(vspn_vsp_stats(P->h.vsp)->link_indications, 2);
    assert_int_equal(vspn_vsp_deliver(P->h.vsp, &fr, 1), 1);
    hp_pump(P, 100);
    assert_int_equal(P->guest_rx, 1);
    free_pair(P);

    /* A NIC disconnected before the guest comes (netvsp_port creates the
     * VSP link down): the guest reads OID_GEN_MEDIA_CONNECT_STATUS
     * "disconnected" while it initialises, no indication is queued, and
     * connecting later indicates MEDIA_CONNECT. */
    {
        struct vspn_vsp_cfg c;

        hx_default_cfg(&c);
        c.link_up = false;
        P = new_pair(&c, VSPN_VSC_LINUX);
    }
    up(P);
    assert_false(vspn_vsc_link_up(P->vsc));
    assert_int_equal(vspn_vsp_stats(P->h.vsp)->link_indications, 0);
    assert_int_equal(vspn_vsc_send(P->vsc, f, 64, 0, false), 0);
    hp_pump(P, 100);
    assert_int_equal(P->host_rx, 0);
    assert_int_equal(vspn_vsp_stats(P->h.vsp)->g2h_link_down, 1);
    vspn_vsp_set_link(P->h.vsp, true);
    hp_pump(P, 100);
    assert_true(vspn_vsc_link_up(P->vsc));
    assert_int_equal(vspn_vsp_stats(P->h.vsp)->link_indications, 1);
    free_pair(P);
}

/* ---- link indications behind a full receive buffer ------------------------------- */

/* What one control message posted to the guest was: its RNDIS type, and
 * for an INDICATE_STATUS its status. */
struct ctl_seen {
    uint32_t type;
    uint32_t status;
};

/* The guest holds every receive slot; `nkeep` KEEPALIVEs (and a QUERY of
 * MEDIA_CONNECT_STATUS first when `query`) wait for one, then the host's
 * link goes through `changes` (each a set_link value).  The guest then
 * returns its slots one by one; what the host posts into them is written
 * to seen[] (at most cap).  Returns how many messages came. */
static unsigned link_backlog(unsigned nkeep, bool query, const bool *changes,
                             unsigned nchanges, struct ctl_seen *seen,
                             unsigned cap)
{
    static uint64_t tids[1024];
    uint8_t b[128];
    unsigned nslots, nseen = 0;
    unsigned cursor = 0;
    int n;

    assert_int_equal(hx_init(&H, NULL), 0);
    assert_int_equal(hx_handshake(&H, VSPN_NVSP_VERSION_61, 6), 0);
    hx_ack_all(&H, &cursor);
    nslots = hx_fill_slots(&H, tids, 1024);
    assert_int_equal(nslots, vspn_vsp_recv_slots(H.vsp));
    if (query) {
        n = vspn_rndis_encode_oid(b, sizeof(b), VSPN_RNDIS_MSG_QUERY, 0x70,
                                  VSPN_OID_GEN_MEDIA_CONNECT_STATUS, NULL, 0);
        assert_int_equal(hx_rndis_gpa(&H, b, (uint32_t)n, 1), 0);
    }
    for (unsigned i = 0; i < nkeep; i++) {
        n = vspn_rndis_encode_keepalive(b, sizeof(b), 0x100 + i);
        assert_int_equal(hx_rndis_gpa(&H, b, (uint32_t)n, 1), 0);
    }
    for (unsigned i = 0; i < nchanges; i++)
        vspn_vsp_set_link(H.vsp, changes[i]);
    for (unsigned i = 0; i < nslots && vspn_vsp_queued(H.vsp) > 0; i++) {
        unsigned nx = H.nxfer;
        const uint8_t *m;
        uint32_t len;

        assert_int_equal(hx_ack(&H, tids[i]), 0);
        assert_true(H.nxfer <= nx + 1); /* one slot, one message */
        if (H.nxfer == nx)
            continue;
        m = hx_last_rndis(&H, &len);
        assert_non_null(m);
        assert_true(nseen < cap);
        seen[nseen].type = (uint32_t)m[0] | (uint32_t)m[1] << 8 |
                           (uint32_t)m[2] << 16 | (uint32_t)m[3] << 24;
        seen[nseen].status = seen[nseen].type == VSPN_RNDIS_MSG_INDICATE_STATUS
                                 ? ((uint32_t)m[8] | (uint32_t)m[9] << 8 |
                                    (uint32_t)m[10] << 16 |
                                    (uint32_t)m[11] << 24)
                                 : 0;
        nseen++;
    }
    assert_int_equal(vspn_vsp_queued(H.vsp), 0);
    assert_int_equal(HX_STAT(&H, ctrl_dropped), 0);
    assert_int_equal(H.nclose, 0);
    return nseen;
}

/* The link indications of a link_backlog() run, in order, into st[]. */
static unsigned indications(const struct ctl_seen *seen, unsigned n,
                            uint32_t *st)
{
    unsigned k = 0;

    for (unsigned i = 0; i < n; i++)
        if (seen[i].type == VSPN_RNDIS_MSG_INDICATE_STATUS)
            st[k++] = seen[i].status;
    return k;
}

/* A link change is never lost behind a full control queue, and flaps the
 * guest could not see yet collapse to what it must see: the current
 * state, and a bounce (down+up) as the pair, so that a Linux guest takes
 * its carrier down and up again (DHCP renews).  The indication follows
 * every message queued before the change (a MEDIA_CONNECT_STATUS answer
 * of the old state does not overtake it).  A guest VSC that drains late
 * sees the bounce too.
 * Regression test for: the guest held every receive slot, 16 KEEPALIVE
 * completions filled the control queue, and the MEDIA_DISCONNECT of a
 * link change was dropped (ctrl_dropped); the guest kept the link up
 * until the next change. */
static void test_link_backlog(void **state)
{
    static const bool down[] = { false };
    static const bool bounce[] = { false, true };
    static const bool down_up_down[] = { false, true, false };
    static const bool two_bounces[] = { false, true, false, true };
    struct ctl_seen seen[64];
    uint32_t st[8];
    unsigned n;
    (void)state;

    /* a full control queue: the link change still reaches the guest,
     * after the 16 replies queued before it */
    n = link_backlog(VSPN_VSP_CTRLQ_MAX, false, down, 1, seen, 64);
    assert_int_equal(n, VSPN_VSP_CTRLQ_MAX + 1);
    for (unsigned i = 0; i < VSPN_VSP_CTRLQ_MAX; i++)
        assert_int_equal(seen[i].type, VSPN_RNDIS_MSG_KEEPALIVE_CMPLT);
    assert_int_equal(seen[n - 1].type, VSPN_RNDIS_MSG_INDICATE_STATUS);
    assert_int_equal(seen[n - 1].status, VSPN_RNDIS_STATUS_MEDIA_DISCONNECT);
    assert_false(vspn_vsp_link(H.vsp));
    hx_fini(&H);

    /* a bounce behind a full queue: both halves, down first */
    n = link_backlog(VSPN_VSP_CTRLQ_MAX, false, bounce, 2, seen, 64);
    assert_int_equal(indications(seen, n, st), 2);
    assert_int_equal(st[0], VSPN_RNDIS_STATUS_MEDIA_DISCONNECT);
    assert_int_equal(st[1], VSPN_RNDIS_STATUS_MEDIA_CONNECT);
    assert_int_equal(HX_STAT(&H, link_indications), 2);
    hx_fini(&H);

    /* down, up, down: the guest only needs "down" */
    n = link_backlog(VSPN_VSP_CTRLQ_MAX, false, down_up_down, 3, seen, 64);
    assert_int_equal(indications(seen, n, st), 1);
    assert_int_equal(st[0], VSPN_RNDIS_STATUS_MEDIA_DISCONNECT);
    hx_fini(&H);

    /* two bounces with room in the queue: one bounce shown */
    n = link_backlog(0, false, two_bounces, 4, seen, 64);
    assert_int_equal(n, 2);
    assert_int_equal(indications(seen, n, st), 2);
    assert_int_equal(st[0], VSPN_RNDIS_STATUS_MEDIA_DISCONNECT);
    assert_int_equal(st[1], VSPN_RNDIS_STATUS_MEDIA_CONNECT);
    hx_fini(&H);

    /* the answer to a MEDIA_CONNECT_STATUS query asked before the change
     * goes first */
    n = link_backlog(3, true, down, 1, seen, 64);
    assert_int_equal(n, 5);
    assert_int_equal(seen[0].type, VSPN_RNDIS_MSG_QUERY_CMPLT);
    assert_int_equal(seen[4].type, VSPN_RNDIS_MSG_INDICATE_STATUS);
    assert_int_equal(seen[4].status, VSPN_RNDIS_STATUS_MEDIA_DISCONNECT);
    hx_fini(&H);

    /* end to end: a guest that drains only after a bounce sees it */
    {
        uint8_t f[64];
        struct vspn_frame fr = { f, 64, 0, false };

        P = new_pair(NULL, VSPN_VSC_LINUX);
        up(P);
        mkframe(f, BCAST, 64, 1);
        P->guest_drains = false;
        while (vspn_vsp_recv_slots_free(P->h.vsp) > 0)
            assert_int_equal(vspn_vsp_deliver(P->h.vsp, &fr, 1), 1);
        vspn_vsp_set_link(P->h.vsp, false);
        vspn_vsp_set_link(P->h.vsp, true);
        P->guest_drains = true;
        hp_pump(P, 1000);
        assert_int_equal(P->link_changes, 2);
        assert_true(vspn_vsc_link_up(P->vsc));
        assert_int_equal(vspn_vsp_queued(P->h.vsp), 0);
        free_pair(P);
    }
}

/* ---- bounds and backlog ------------------------------------------------------------ */

/* A pair brought up (P), n broadcast frames of 200 bytes in fb/fr for the
 * host to deliver, the receive slots in *slots; the VSP's counters. */
static const struct vspn_vsp_stats *backlog_pair(uint8_t (*fb)[256],
                                                 struct vspn_frame *fr,
                                                 unsigned n, uint32_t *slots)
{
    P = new_pair(NULL, VSPN_VSC_LINUX);
    up(P);
    *slots = vspn_vsp_recv_slots(P->h.vsp);
    for (unsigned i = 0; i < n; i++) {
        mkframe(fb[i], BCAST, 200, i);
        fr[i] = (struct vspn_frame){ fb[i], 200, 0, false };
    }
    return vspn_vsp_stats(P->h.vsp);
}

static void test_non_draining_guest(void **state)
{
    static uint8_t fb[32][256];
    struct vspn_frame fr[32];
    unsigned posted = 0;
    uint32_t slots;
    long allocs;
    const struct vspn_vsp_stats *st;
    (void)state;

    st = backlog_pair(fb, fr, 32, &slots);
    P->guest_drains = false;
    allocs = live_allocs;
    for (unsigned round = 0; round < 1000; round++) {
        posted += vspn_vsp_deliver(P->h.vsp, fr, 32);
        hp_pump(P, 2); /* the host keeps reading; the guest does not */
        assert_true(slots - vspn_vsp_recv_slots_free(P->h.vsp) <= slots);
    }
    /* bounded by the receive slots, the rest counted, memory flat */
    assert_true(posted <= slots);
    assert_int_equal(posted + st->h2g_no_section + st->h2g_ring_full,
                     32000);
    assert_true(st->h2g_no_section > 0);
    assert_int_equal(live_allocs, allocs);
    /* the guest drains again: everything posted arrives, slots return */
    P->guest_drains = true;
    hp_pump(P, 1000);
    assert_int_equal(P->guest_rx, posted);
    assert_int_equal(vspn_vsp_recv_slots_free(P->h.vsp), slots);
    assert_int_equal(burst_to(BCAST, 64), 64);
    assert_int_equal(P->h.nclose, 0);
    free_pair(P);
}

/* The guest hands back exactly one receive packet at a time (#26's "keeps
 * exactly one slot free while packets need two"): every frame fits one
 * slot, so the host posts what one slot holds and counts the rest at once;
 * it never waits for a second slot with frames queued, and nothing grows. */
static void guest_takes_one(void)
{
    struct vspn_pkt_scratch sc;
    struct hv_ring_pkt rp;
    struct vspn_pkt pk;

    assert_int_equal(hv_ring_read_pkt(P->h2g_r, P->pktbuf, sizeof(P->pktbuf),
                                      &rp), 0);
    (void)hv_ring_read_end(P->h2g_r);
    assert_int_equal(vspn_pkt_from_ring(&rp, &sc, &pk), 0);
    vspn_vsc_handle_pkt(P->vsc, &pk); /* receives it and completes it */
    vspn_vsc_poll(P->vsc);
}

static void test_one_slot_free(void **state)
{
    static uint8_t fb[2][256];
    struct vspn_frame fr[2];
    const struct vspn_vsp_stats *st;
    unsigned posted = 0, rx0;
    uint64_t refused0;
    uint32_t slots;
    long allocs;
    (void)state;

    st = backlog_pair(fb, fr, 2, &slots);
    /* fill every slot, one frame per transfer packet */
    P->guest_drains = false;
    while (vspn_vsp_recv_slots_free(P->h.vsp) > 0)
        posted += vspn_vsp_deliver(P->h.vsp, fr, 1);
    assert_int_equal(posted, slots);
    rx0 = P->guest_rx;
    refused0 = st->h2g_no_section;
    allocs = live_allocs;
    for (unsigned round = 0; round < 10000; round++) {
        guest_takes_one();
        hp_pump(P, 2); /* the host reads the completion: one slot free */
        assert_int_equal(vspn_vsp_recv_slots_free(P->h.vsp), 1);
        assert_int_equal(vspn_vsp_deliver(P->h.vsp, fr, 2), 1);
        assert_int_equal(vspn_vsp_recv_slots_free(P->h.vsp), 0);
        assert_int_equal(vspn_vsp_queued(P->h.vsp), 0);
    }
    assert_int_equal(P->guest_rx - rx0, 10000);
    assert_int_equal(st->h2g_no_section - refused0, 10000);
    assert_int_equal(live_allocs, allocs);
    /* the guest drains again: every slot comes back */
    P->guest_drains = true;
    hp_pump(P, 1000);
    assert_int_equal(vspn_vsp_recv_slots_free(P->h.vsp), slots);
    assert_int_equal(P->h.nclose, 0);
    free_pair(P);
}

static void test_repetition(void **state)
{
    uint8_t msg[64];
    long allocs = 0;
    unsigned cursor = 0;
    (void)state;

    assert_int_equal(hx_init(&H, NULL), 0);
    /* INIT 100,000 times with versions the host refuses (the guest's
     * fallback loop, legal in WAIT_INIT): answered, nothing grows */
    for (unsigned i = 0; i < 100000; i++) {
        if (i == 1000)
            allocs = live_allocs;
        assert_int_equal(hx_init_msg(&H, i & 1 ? 0x70000u : 0x30000u), 0);
        assert_int_not_equal(hx_last_status(&H, VSPN_NVSP_INIT_COMPLETE), 1);
    }
    assert_int_equal(live_allocs, allocs);
    assert_int_equal(H.ncomp, 100000);
    assert_int_equal(vspn_vsp_state(H.vsp), VSPN_VSP_WAIT_INIT);
    /* and 100,000 times once buffers exist: the first closes the channel
     * (INIT after a negotiated version), the rest are dropped; nothing
     * grows (the buffers are released at the close) */
    assert_int_equal(hx_handshake(&H, VSPN_NVSP_VERSION_61, 5), 0);
    hx_ack_all(&H, &cursor);
    allocs = live_allocs;
    for (unsigned i = 0; i < 100000; i++)
        assert_int_equal(hx_init_msg(&H, VSPN_NVSP_VERSION_61),
                         i == 0 ? -EPROTO : -EPIPE);
    assert_true(live_allocs <= allocs);
    assert_int_equal(vspn_vsp_state(H.vsp), VSPN_VSP_CLOSED);
    assert_int_equal(H.nclose, 1);
    assert_int_equal(HX_STAT(&H, after_close), 99999);
    /* the channel is reopened (reset) and set up again */
    vspn_vsp_reset(H.vsp);
    H.nclose = 0;
    assert_int_equal(hx_handshake(&H, VSPN_NVSP_VERSION_61, 5), 0);
    hx_ack_all(&H, &cursor);
    allocs = live_allocs;

    /* RNDIS control 100,000 times: SET filter / QUERY / KEEPALIVE */
    cursor = H.nout; /* only completions since the last ack */
    for (unsigned i = 0; i < 100000; i++) {
        uint8_t f[4];
        int n;

        put32(f, i & 1 ? 0x0D : 0x2F);
        switch (i % 3) {
        case 0:
            n = vspn_rndis_encode_oid(msg, sizeof(msg), VSPN_RNDIS_MSG_SET,
                                      i + 1,
                                      VSPN_OID_GEN_CURRENT_PACKET_FILTER, f,
                                      4);
            break;
        case 1:
            n = vspn_rndis_encode_oid(msg, sizeof(msg), VSPN_RNDIS_MSG_QUERY,
                                      i + 1, VSPN_OID_802_3_PERMANENT_ADDRESS,
                                      NULL, 0);
            break;
        default:
            n = vspn_rndis_encode_keepalive(msg, sizeof(msg), i + 1);
            break;
        }
        assert_int_equal(hx_rndis_gpa(&H, msg, (uint32_t)n, 1), 0);
        hx_ack_all(&H, &cursor);
    }
    assert_int_equal(live_allocs, allocs);
    assert_int_equal(vspn_vsp_recv_slots_free(H.vsp),
                     vspn_vsp_recv_slots(H.vsp));

    /* buffer setup and teardown 20,000 times */
    for (unsigned i = 0; i < 20000; i++) {
        struct vspn_nvsp_msg m = { .type = VSPN_NVSP_REVOKE_RECV_BUF };

        m.u.revoke.id = 0xCAFE;
        assert_int_equal(hx_nvsp(&H, &m, 0), 0);
        memset(&m, 0, sizeof(m));
        m.type = VSPN_NVSP_REVOKE_SEND_BUF;
        assert_int_equal(hx_nvsp(&H, &m, 0), 0);
        assert_int_equal(vspn_vsp_state(H.vsp), VSPN_VSP_REVOKED);
        if (i == 0)
            allocs = live_allocs;
        else
            assert_int_equal(live_allocs, allocs);
        /* a new INIT needs a reopened channel (INIT after a negotiated
         * version closes it) */
        vspn_vsp_reset(H.vsp);
        assert_int_equal(hx_handshake(&H, VSPN_NVSP_VERSION_61, 4), 0);
    }
    hx_ack_all(&H, &cursor);
    vspn_vsp_reset(H.vsp);
    assert_int_equal(live_allocs, allocs);
    /* no GPADL reference left behind */
    assert_int_equal(hv_gpadl_teardown(H.gt, HX_RELID, HX_RECV_GPADL), 0);
    assert_int_equal(hv_gpadl_teardown(H.gt, HX_RELID, HX_SEND_GPADL), 0);
    assert_int_equal(H.nclose, 0);
    hx_fini(&H);
}

static void test_section_bounds(void **state)
{
    uint8_t msg[256];
    uint32_t n, nsec;
    struct vspn_nvsp_msg m;
    uint64_t bad;
    (void)state;

    assert_int_equal(hx_init(&H, NULL), 0);
    assert_int_equal(hx_handshake(&H, VSPN_NVSP_VERSION_61, 6), 0);
    nsec = vspn_vsp_send_sections(H.vsp);
    assert_int_equal(nsec, HX_SEND_SIZE / 6144);
    n = (uint32_t)vspn_rndis_encode_keepalive(msg, sizeof(msg), 1);

    /* out of range: index = count, huge, size 0, size > section */
    static const struct {
        uint32_t idx, size;
    } bads[] = {
        { 0, 0 },          { 0, 6145 },       { 0, 0xFFFFFFFF },
        { 42, 12 },        { 43, 12 },        { 0xFFFFFFFE, 12 },
        { 0x80000000, 12 }, { 41, 6145 },
    };
    for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
        bad = HX_STAT(&H, bad_section);
        memset(&m, 0, sizeof(m));
        m.type = VSPN_NVSP_SEND_RNDIS_PKT;
        m.u.rndis_pkt.channel_type = 1;
        m.u.rndis_pkt.section_index = bads[i].idx;
        m.u.rndis_pkt.section_size = bads[i].size;
        assert_int_equal(hx_nvsp(&H, &m, 1), 0);
        assert_int_equal(hx_last_status(&H, 108), VSPN_NVSP_STATUS_FAILURE);
        assert_int_equal(HX_STAT(&H, bad_section), bad + 1);
    }
    /* the last section is fine */
    memset(msg + n, 0, sizeof(msg) - n);
    assert_int_equal(hx_rndis_section(&H, nsec - 1, 6144, msg, n, 1), 0);
    assert_int_equal(hx_last_status(&H, 108), VSPN_NVSP_STATUS_SUCCESS);
    /* in-band without a section carries no data */
    memset(&m, 0, sizeof(m));
    m.type = VSPN_NVSP_SEND_RNDIS_PKT;
    m.u.rndis_pkt.channel_type = 1;
    m.u.rndis_pkt.section_index = VSPN_NVSP_NO_SECTION;
    assert_int_equal(hx_nvsp(&H, &m, 1), 0);
    assert_int_equal(hx_last_status(&H, 108), VSPN_NVSP_STATUS_FAILURE);

    /* GPA ranges outside guest memory, past its end, too long in total */
    bad = HX_STAT(&H, bad_gpa);
    m.u.rndis_pkt.section_index = VSPN_NVSP_NO_SECTION;
    assert_int_equal(hx_gpa(&H, &m, HX_GSIZE - 8, 16, 7), 0); /* crosses end */
    assert_int_equal(hx_last_status(&H, 108), VSPN_NVSP_STATUS_FAILURE);
    {
        uint8_t pfn[8] = { 0, 0, 0, 0, 0, 0, 0, 0x01 }; /* 2^56 */
        struct hv_ring_gpa_range r = { 64, 0, 1, pfn };
        uint8_t buf[40];
        struct vspn_pkt p = { .type = HV_PKT_GPA_DIRECT, .flags = 1,
                              .trans_id = 8, .data = buf, .data_size = 40,
                              .gpa = &r, .gpa_cnt = 1 };

        vspn_nvsp_encode(&m, buf, sizeof(buf));
        assert_int_equal(vspn_vsp_handle_pkt(H.vsp, &p), 0);
        assert_int_equal(hx_last_status(&H, 108), VSPN_NVSP_STATUS_FAILURE);
        pfn[7] = 0;
        pfn[0] = 0x10; /* below guest memory */
        assert_int_equal(vspn_vsp_handle_pkt(H.vsp, &p), 0);
        r.byte_count = 70000; /* longer than any send (npfns lies too) */
        pfn[0] = (uint8_t)(HX_GBASE >> 12);
        pfn[1] = (uint8_t)(HX_GBASE >> 20);
        assert_int_equal(vspn_vsp_handle_pkt(H.vsp, &p), 0);
        r.byte_count = 8192; /* two pages but one PFN */
        assert_int_equal(vspn_vsp_handle_pkt(H.vsp, &p), 0);
        assert_int_equal(hx_last_status(&H, 108), VSPN_NVSP_STATUS_FAILURE);
        p.gpa_cnt = 0;
        assert_int_equal(vspn_vsp_handle_pkt(H.vsp, &p), 0);
    }
    assert_int_equal(HX_STAT(&H, bad_gpa), bad + 6);
    /* completions naming nothing in flight; a double completion */
    {
        uint8_t ack[8] = { 108, 0, 0, 0, 1, 0, 0, 0 };
        uint8_t f[64];
        struct vspn_frame fr = { f, 64, 0, false };
        struct hx_out *o;
        uint64_t bc = HX_STAT(&H, bad_completion), nack;

        assert_int_equal(hx_raw(&H, HV_PKT_COMP, 0, 0xFFFFFFFFFFull, ack, 8),
                         0);
        assert_int_equal(hx_raw(&H, HV_PKT_COMP, 0, 5, ack, 8), 0);
        mkframe(f, BCAST, 64, 1);
        assert_int_equal(vspn_vsp_deliver(H.vsp, &fr, 1), 1);
        o = hx_last(&H);
        assert_int_equal(o->kind, 'X');
        ack[0] = 2; /* wrong NVSP type in the completion */
        assert_int_equal(hx_raw(&H, HV_PKT_COMP, 0, o->tid, ack, 8), 0);
        ack[0] = 108;
        assert_int_equal(hx_raw(&H, HV_PKT_COMP, 0, o->tid, NULL, 0), 0);
        assert_int_equal(hx_raw(&H, HV_PKT_COMP, 0, o->tid, ack, 8), 0);
        assert_int_equal(HX_STAT(&H, bad_completion), bc + 4);
        assert_int_equal(HX_STAT(&H, xfer_completed), 1);
        /* a failure status naming nothing in flight is a bad completion
         * only, not a frame the guest refused (it used to count both) */
        nack = HX_STAT(&H, guest_rx_nack);
        ack[4] = 2; /* VSPN_NVSP_STATUS_FAILURE */
        assert_int_equal(hx_raw(&H, HV_PKT_COMP, 0, 5, ack, 8), 0);
        assert_int_equal(hx_raw(&H, HV_PKT_COMP, 0, o->tid, ack, 8), 0);
        assert_int_equal(HX_STAT(&H, bad_completion), bc + 6);
        assert_int_equal(HX_STAT(&H, guest_rx_nack), nack);
    }
    assert_int_equal(H.nclose, 0);
    hx_fini(&H);
}

static void test_buffer_setup_bounds(void **state)
{
    struct vspn_nvsp_msg m;
    (void)state;

    assert_int_equal(hx_init(&H, NULL), 0);
    /* extra GPADLs: one page (too small), part of the receive area
     * (overlap), a buffer with a repeated page */
    assert_int_equal(hx_make_gpadl(H.gt, H.mem, 0x100, HX_SPARE_OFF, 4096),
                     0);
    assert_int_equal(hx_make_gpadl(H.gt, H.mem, 0x101, HX_RECV_OFF + 65536,
                                   65536), 0);
    {
        struct hv_gpadl *g;
        uint64_t pfns[4] = { (HX_GBASE + HX_SPARE_OFF) >> 12,
                             ((HX_GBASE + HX_SPARE_OFF) >> 12) + 1,
                             (HX_GBASE + HX_SPARE_OFF) >> 12,
                             ((HX_GBASE + HX_SPARE_OFF) >> 12) + 2 };
        assert_int_equal(hv_gpadl_begin(H.gt, H.mem, HX_RELID, 0x102, 4, &g),
                         0);
        assert_int_equal(hv_gpadl_add_pfns(g, pfns, 4), 0);
    }
    assert_int_equal(hx_handshake(&H, VSPN_NVSP_VERSION_61, 2), 0);

    static const uint32_t bad_recv[] = { 0x999, 0x100, 0x102 };
    for (size_t i = 0; i < 3; i++) {
        memset(&m, 0, sizeof(m));
        m.type = VSPN_NVSP_SEND_RECV_BUF;
        m.u.buf.gpadl = bad_recv[i];
        m.u.buf.id = 0xCAFE;
        assert_int_equal(hx_nvsp(&H, &m, 1), 0);
        assert_int_equal(hx_last_status(&H, 102), VSPN_NVSP_STATUS_FAILURE);
        assert_int_equal(vspn_vsp_state(H.vsp), VSPN_VSP_NDIS);
    }
    assert_int_equal(HX_STAT(&H, bad_gpadl), 2);
    assert_int_equal(HX_STAT(&H, buf_overlap), 1);
    assert_int_equal(hx_handshake(&H, VSPN_NVSP_VERSION_61, 0), 0);
    memset(&m, 0, sizeof(m));
    m.type = VSPN_NVSP_SEND_RECV_BUF;
    m.u.buf.gpadl = HX_RECV_GPADL;
    m.u.buf.id = 0xCAFE;
    assert_int_equal(hx_nvsp(&H, &m, 1), 0);
    assert_int_equal(hx_last_status(&H, 102), 1);

    /* send buffer: the receive GPADL itself, one overlapping it, unknown,
     * smaller than one section */
    static const uint32_t bad_send[] = { HX_RECV_GPADL, 0x101, 0x998, 0x100 };
    for (size_t i = 0; i < 4; i++) {
        memset(&m, 0, sizeof(m));
        m.type = VSPN_NVSP_SEND_SEND_BUF;
        m.u.buf.gpadl = bad_send[i];
        assert_int_equal(hx_nvsp(&H, &m, 1), 0);
        assert_int_equal(hx_last_status(&H, 105), VSPN_NVSP_STATUS_FAILURE);
        assert_int_equal(vspn_vsp_state(H.vsp), VSPN_VSP_RXBUF);
    }
    assert_int_equal(HX_STAT(&H, buf_overlap), 3);
    assert_int_equal(HX_STAT(&H, bad_gpadl), 4);

    /* GPADL teardown while the VSP references it: deferred, the VSP keeps
     * working on live memory, the release happens at REVOKE */
    assert_int_equal(hx_handshake(&H, VSPN_NVSP_VERSION_61, 0), 0);
    {
        uint8_t msg[64], f[64];
        struct vspn_frame fr = { f, 64, 0, false };
        unsigned before = hv_gpadl_count(H.gt);
        int n = vspn_rndis_encode_init(msg, sizeof(msg), 1, 0x4000);
        uint8_t filt[4] = { 0x08, 0, 0, 0 };

        assert_int_equal(hx_rndis_gpa(&H, msg, (uint32_t)n, 1), 0);
        n = vspn_rndis_encode_oid(msg, sizeof(msg), VSPN_RNDIS_MSG_SET, 2,
                                  VSPN_OID_GEN_CURRENT_PACKET_FILTER, filt, 4);
        assert_int_equal(hx_rndis_gpa(&H, msg, (uint32_t)n, 1), 0);
        assert_int_equal(hv_gpadl_teardown(H.gt, HX_RELID, HX_RECV_GPADL), 1);
        assert_int_equal(hv_gpadl_table_reap(H.gt), 0);
        mkframe(f, BCAST, 64, 9);
        assert_int_equal(vspn_vsp_deliver(H.vsp, &fr, 1), 1);
        memset(&m, 0, sizeof(m));
        m.type = VSPN_NVSP_REVOKE_RECV_BUF;
        m.u.revoke.id = 0xCAFE;
        assert_int_equal(hx_nvsp(&H, &m, 0), 0);
        assert_int_equal(hv_gpadl_table_reap(H.gt), 1);
        assert_int_equal(hv_gpadl_count(H.gt), before - 1);
        assert_int_equal(vspn_vsp_deliver(H.vsp, &fr, 1), 0);
    }
    hx_fini(&H);
    /* a revoke naming another id is a violation */
    assert_int_equal(hx_init(&H, NULL), 0);
    assert_int_equal(hx_handshake(&H, VSPN_NVSP_VERSION_61, 4), 0);
    memset(&m, 0, sizeof(m));
    m.type = VSPN_NVSP_REVOKE_RECV_BUF;
    m.u.revoke.id = 0xBEEF;
    assert_int_equal(hx_nvsp(&H, &m, 0), -EPROTO);
    assert_int_equal(H.nclose, 1);
    assert_non_null(strstr(H.close_reason, "id"));
    assert_false(vspn_vsp_has_recv_buf(H.vsp)); /* released at close */
    assert_int_equal(hv_gpadl_teardown(H.gt, HX_RELID, HX_RECV_GPADL), 0);
    hx_fini(&H);
}

/* Linux "cp_partial": header + PPI in a section, frame bytes in pages. */
static void test_mixed_form(void **state)
{
    uint8_t hdr[128], f[1500];
    struct vspn_rndis_ppi pi = { .has_vlan = true, .vlan_tci = 77 };
    struct vspn_nvsp_msg m = { .type = VSPN_NVSP_SEND_RNDIS_PKT };
    int h;
    (void)state;

    assert_int_equal(hx_init(&H, NULL), 0);
    assert_int_equal(hx_handshake(&H, VSPN_NVSP_VERSION_61, 6), 0);
    mkframe(f, BCAST, 1400, 4);
    h = vspn_rndis_packet_hdr(hdr, sizeof(hdr), &pi, 1400);
    memcpy(H.gmem + HX_SEND_OFF + 3 * 6144, hdr, (size_t)h);
    memcpy(H.gmem + HX_SCRATCH_OFF + 1000, f, 1400); /* crosses a page */
    m.u.rndis_pkt.channel_type = 0;
    m.u.rndis_pkt.section_index = 3;
    m.u.rndis_pkt.section_size = (uint32_t)h;
    assert_int_equal(hx_gpa(&H, &m, HX_SCRATCH_OFF + 1000, 1400, 9), 0);
    assert_int_equal(hx_last_status(&H, 108), VSPN_NVSP_STATUS_SUCCESS);
    assert_int_equal(H.nframes, 1);
    assert_int_equal(H.frame_len, 1400);
    assert_memory_equal(H.frame, f, 1400);
    assert_int_equal(H.frame_tci, 77);
    hx_fini(&H);
}

/* Several RNDIS_PACKETs in one section (aligned), and the 8-packet bound. */
static void test_multi_packet_section(void **state)
{
    uint8_t sec[6144], f[200];
    uint32_t off = 0, n_ok = 0;
    (void)state;

    assert_int_equal(hx_init(&H, NULL), 0);
    assert_int_equal(hx_handshake(&H, VSPN_NVSP_VERSION_61, 6), 0);
    memset(sec, 0, sizeof(sec));
    for (unsigned i = 0; i < 9; i++) {
        uint32_t len = 60 + i * 7;
        int h = vspn_rndis_packet_hdr(sec + off, sizeof(sec) - off, NULL, len);
        uint32_t total = (uint32_t)h + len;

        mkframe(f, BCAST, len, i);
        memcpy(sec + off + h, f, len);
        if (i < 8) {
            /* pad all but the last to 8 bytes by enlarging msg_len */
            total = (total + 7u) & ~7u;
            put32(sec + off + 4, total);
        }
        off += total;
        if (i == 2)
            n_ok = off;
    }
    assert_int_equal(hx_rndis_section(&H, 5, 6144, sec, n_ok, 0), 0);
    assert_int_equal(hx_last_status(&H, 108), VSPN_NVSP_STATUS_SUCCESS);
    assert_int_equal(H.nframes, 3);
    assert_int_equal(H.frame_len, 60 + 2 * 7);
    /* nine packets: the send is refused, none of its frames taken */
    assert_int_equal(hx_rndis_section(&H, 6, 6144, sec, off, 0), 0);
    assert_int_equal(hx_last_status(&H, 108),
                     VSPN_NVSP_STATUS_INVALID_RNDIS_PKT);
    assert_int_equal(H.nframes, 3);
    assert_int_equal(HX_STAT(&H, rndis_too_many), 1);
    hx_fini(&H);
}

/* Bytes after the last RNDIS_PACKET of a data send: fewer than an RNDIS
 * header (8) cannot start a message and are ignored (at most the padding
 * to the host's 8-byte alignment); 8 or more are decoded as the next
 * message.  A send with a malformed message forwards none of its frames,
 * so INVALID_RNDIS_PKT never reports frames the switch already got.
 * Regression test for: a section holding one packet and 4 trailing bytes
 * forwarded the frame and then completed INVALID_RNDIS_PKT. */
static void test_section_tail(void **state)
{
    uint8_t sec[6144], f[200];
    uint32_t len1, len2, total;
    uint64_t bad;
    unsigned frames;
    int h;
    (void)state;

    assert_int_equal(hx_init(&H, NULL), 0);
    assert_int_equal(hx_handshake(&H, VSPN_NVSP_VERSION_61, 6), 0);
    memset(sec, 0xEE, sizeof(sec));
    h = vspn_rndis_packet_hdr(sec, sizeof(sec), NULL, 60);
    assert_true(h > 0);
    mkframe(f, BCAST, 60, 1);
    memcpy(sec + h, f, 60);
    len1 = (uint32_t)h + 60;
    bad = HX_STAT(&H, rndis_bad_msg);
    /* 1 .. 7 trailing bytes, in a section and by GPA-direct: ignored */
    for (uint32_t t = 0; t < VSPN_RNDIS_HDR_SIZE; t++) {
        frames = H.nframes;
        assert_int_equal(hx_rndis_section(&H, 2, 6144, sec, len1 + t, 0), 0);
        assert_int_equal(hx_last_status(&H, 108), VSPN_NVSP_STATUS_SUCCESS);
        assert_int_equal(H.nframes, frames + 1);
        assert_int_equal(hx_rndis_gpa(&H, sec, len1 + t, 0), 0);
        assert_int_equal(hx_last_status(&H, 108), VSPN_NVSP_STATUS_SUCCESS);
        assert_int_equal(H.nframes, frames + 2);
    }
    assert_int_equal(HX_STAT(&H, rndis_bad_msg), bad);
    /* 8 trailing bytes are a message header: malformed, nothing taken */
    frames = H.nframes;
    assert_int_equal(hx_rndis_section(&H, 2, 6144, sec,
                                      len1 + VSPN_RNDIS_HDR_SIZE, 0), 0);
    assert_int_equal(hx_last_status(&H, 108),
                     VSPN_NVSP_STATUS_INVALID_RNDIS_PKT);
    assert_int_equal(H.nframes, frames);
    assert_int_equal(HX_STAT(&H, rndis_bad_msg), bad + 1);
    /* a good packet, then one whose MessageLength runs past the send */
    len1 = (len1 + 7u) & ~7u;
    put32(sec + 4, len1);
    h = vspn_rndis_packet_hdr(sec + len1, sizeof(sec) - len1, NULL, 60);
    memcpy(sec + len1 + h, f, 60);
    len2 = (uint32_t)h + 60;
    total = len1 + len2;
    assert_int_equal(hx_rndis_section(&H, 3, 6144, sec, total, 0), 0);
    assert_int_equal(hx_last_status(&H, 108), VSPN_NVSP_STATUS_SUCCESS);
    assert_int_equal(H.nframes, frames + 2);
    put32(sec + len1 + 4, len2 + 8);
    assert_int_equal(hx_rndis_section(&H, 3, 6144, sec, total, 0), 0);
    assert_int_equal(hx_last_status(&H, 108),
                     VSPN_NVSP_STATUS_INVALID_RNDIS_PKT);
    assert_int_equal(H.nframes, frames + 2);
    assert_int_equal(HX_STAT(&H, rndis_bad_msg), bad + 2);
    /* a send of fewer bytes than a header holds no message */
    assert_int_equal(hx_rndis_section(&H, 3, 6144, sec, 4, 0), 0);
    assert_int_equal(hx_last_status(&H, 108),
                     VSPN_NVSP_STATUS_INVALID_RNDIS_PKT);
    assert_int_equal(H.nframes, frames + 2);
    assert_int_equal(H.nclose, 0);
    hx_fini(&H);
}

/* vspn_vsc_send_more: the frames of a burst share a send section, up to
 * max_pkts_per_msg (8) per NVSP message and as many as fit in the section,
 * each packet on the host's alignment; the host takes every frame, in
 * order and intact; a stop sends what was accepted before its HALT. */
static void test_send_more_batches(void **state)
{
    static uint8_t f[2048];
    static uint64_t sums[1000];
    static uint32_t lens[1000];
    static uint16_t tcis[1000];
    const struct vspn_vsp_stats *hs;
    uint64_t msgs;
    unsigned sent = 0;
    (void)state;

    P = new_pair(NULL, VSPN_VSC_LINUX);
    up(P);
    hs = vspn_vsp_stats(P->h.vsp);

    /* 64 minimum-size frames, one flush: 8 messages of 8 */
    msgs = hs->pkts_in;
    for (unsigned i = 0; i < 64; i++) {
        mkframe(f, P->h.cfg.mac.b, 60, i);
        assert_int_equal(vspn_vsc_send_more(P->vsc, f, 60, 0, false), 0);
    }
    assert_int_equal(hs->pkts_in - msgs, 0); /* nothing pumped yet */
    assert_int_equal(vspn_vsc_send_flush(P->vsc), 0);
    hp_pump(P, 100);
    assert_int_equal(P->host_rx, 64);
    assert_int_equal(hs->pkts_in - msgs, 8);
    assert_int_equal(vspn_vsc_tx_inflight(P->vsc), 0);

    /* full-size frames: three fit in a 6144-byte section */
    msgs = hs->pkts_in;
    for (unsigned i = 0; i < 9; i++) {
        mkframe(f, P->h.cfg.mac.b, 1514, i);
        assert_int_equal(vspn_vsc_send_more(P->vsc, f, 1514, 0, false), 0);
    }
    assert_int_equal(vspn_vsc_send_flush(P->vsc), 0);
    hp_pump(P, 100);
    assert_int_equal(P->host_rx, 64 + 9);
    assert_int_equal(hs->pkts_in - msgs, 3);
    assert_int_equal(P->host_frames[64 + 8].len, 1514);

    /* 1000 frames of every length, some tagged, bursts of 1..20 */
    P->host_rx = 0;
    msgs = hs->pkts_in;
    while (sent < 1000) {
        unsigned burst = 1 + rnd() % 20;

        for (unsigned k = 0; k < burst && sent < 1000; k++, sent++) {
            uint32_t len = 60 + rnd() % (1514 - 60 + 1);
            bool vlan = (sent % 3) == 0;

            mkframe(f, P->h.cfg.mac.b, len, sent);
            lens[sent] = len;
            sums[sent] = hp_sum(f, len);
            tcis[sent] = (uint16_t)(vlan ? (1 + sent % 4094) : 0);
            assert_int_equal(vspn_vsc_send_more(P->vsc, f, len, tcis[sent],
                                                vlan),
                             0);
        }
        assert_int_equal(vspn_vsc_send_flush(P->vsc), 0);
        hp_pump(P, 100);
    }
    assert_int_equal(P->host_rx, 1000);
    for (unsigned i = 0; i < 1000; i++) {
        assert_int_equal(P->host_frames[i].len, lens[i]);
        assert_true(P->host_frames[i].sum == sums[i]);
        assert_int_equal(P->host_frames[i].has_vlan, (i % 3) == 0);
        assert_int_equal(P->host_frames[i].tci, tcis[i]);
    }
    assert_true(hs->pkts_in - msgs < 1000); /* batched */
    assert_int_equal(hs->rndis_bad_msg, 0);
    assert_int_equal(hs->rndis_too_many, 0);
    assert_int_equal(vspn_vsc_stats(P->vsc)->tx_failed, 0);
    assert_int_equal(vspn_vsc_tx_inflight(P->vsc), 0);

    /* accepted frames go out before the HALT of a stop */
    P->host_rx = 0;
    for (unsigned i = 0; i < 3; i++) {
        mkframe(f, P->h.cfg.mac.b, 100, i);
        assert_int_equal(vspn_vsc_send_more(P->vsc, f, 100, 0, false), 0);
    }
    assert_int_equal(vspn_vsc_stop(P->vsc), 0);
    hp_pump(P, 100);
    assert_int_equal(P->host_rx, 3);
    assert_int_equal(vspn_vsc_send_flush(P->vsc), 0); /* nothing left */
    free_pair(P);
}

/* The host→guest ring refuses writes: completions wait in the queue,
 * vspn_vsp_busy() tells the glue to stop reading, poll flushes in order. */
static void test_completion_queue(void **state)
{
    (void)state;

    assert_int_equal(hx_init(&H, NULL), 0);
    H.send_rc = -EAGAIN;
    /* refused versions: INIT stays legal (WAIT_INIT), each is answered */
    for (unsigned i = 0; i < 10; i++)
        assert_int_equal(hx_init_msg(&H, 0x30000u), 0);
    assert_true(vspn_vsp_busy(H.vsp));
    assert_int_equal(HX_STAT(&H, comp_deferred), 10);
    assert_int_equal(H.nout, 0);
    assert_int_equal(vspn_vsp_poll(H.vsp), 10);
    H.send_rc = 0;
    assert_int_equal(vspn_vsp_poll(H.vsp), 0);
    assert_false(vspn_vsp_busy(H.vsp));
    assert_int_equal(H.ncomp, 10);
    for (unsigned i = 0; i < 10; i++)
        assert_true(H.out[i].tid == 1000 + i); /* in order */
    assert_true(H.nsignal > 0);
    /* overflow: counted, bounded */
    H.send_rc = -EAGAIN;
    for (unsigned i = 0; i < VSPN_VSP_COMPQ_MAX + 50; i++)
        hx_init_msg(&H, 0x30000u);
    assert_int_equal(HX_STAT(&H, comp_dropped), 50);
    H.send_rc = 0;
    assert_int_equal(vspn_vsp_poll(H.vsp), 0);
    assert_int_equal(H.ncomp, 10 + VSPN_VSP_COMPQ_MAX);
    hx_fini(&H);
}

/* The guest refuses a transfer-page packet (foreign pageset id) while its
 * ring to the host is full: the FAILURE waits in its queue and reaches the
 * host as FAILURE, completing the slot. */
static void test_deferred_failure_ack(void **state)
{
    const struct vspn_vsp_stats *hs;
    const struct vspn_vsc_stats *gs;
    struct vspn_pkt_scratch sc;
    struct hv_ring_pkt rp;
    struct vspn_pkt pk;
    struct vspn_frame fr;
    uint8_t f[60], filler[8] = { 0 };
    uint64_t nacks, completed;
    unsigned fillers = 0;
    bool sig;
    (void)state;

    P = new_pair(NULL, VSPN_VSC_LINUX);
    up(P);
    hs = vspn_vsp_stats(P->h.vsp);
    gs = vspn_vsc_stats(P->vsc);
    nacks = hs->guest_rx_nack;
    completed = hs->xfer_completed;

    /* one frame for the guest; the guest→host ring then full */
    mkframe(f, BCAST, sizeof(f), 1);
    fr = (struct vspn_frame){ .data = f, .len = sizeof(f) };
    assert_int_equal(vspn_vsp_deliver(P->h.vsp, &fr, 1), 1);
    while (hv_ring_write_comp(P->g2h_w, 0, filler, sizeof(filler), &sig) == 0)
        fillers++;
    assert_true(fillers > 0);

    /* the guest reads the packet with a pageset id not its own */
    assert_int_equal(hv_ring_read_pkt(P->h2g_r, P->pktbuf, sizeof(P->pktbuf),
                                      &rp), 0);
    (void)hv_ring_read_end(P->h2g_r);
    assert_int_equal(vspn_pkt_from_ring(&rp, &sc, &pk), 0);
    assert_int_equal(pk.type, HV_PKT_XFER_PAGES);
    pk.xfer_pageset ^= 0x5a5a;
    assert_int_equal(vspn_vsc_handle_pkt(P->vsc, &pk), 0);
    assert_int_equal(gs->rx_bad_xfer, 1);
    assert_int_equal(gs->comp_deferred, 1);
    assert_int_equal(vspn_vsc_poll(P->vsc), 1); /* still no room */

    /* the fillers leave the ring (not the host's business); the queued
     * completion goes out and the host handles it */
    while (hv_ring_read_pkt(P->g2h_r, P->pktbuf, sizeof(P->pktbuf), &rp) == 0)
        ;
    (void)hv_ring_read_end(P->g2h_r);
    assert_int_equal(vspn_vsc_poll(P->vsc), 0);
    assert_true(hp_pump(P, 100) > 0);
    assert_int_equal(hs->guest_rx_nack - nacks, 1);
    assert_int_equal(hs->xfer_completed - completed, 1);
    assert_int_equal(hs->bad_completion, 0);
    assert_int_equal(gs->comp_dropped, 0);
    free_pair(P);
}

static void test_teardown_order(void **state)
{
    (void)state;

    P = new_pair(NULL, VSPN_VSC_LINUX);
    up(P);
    assert_int_equal(vspn_vsc_stop(P->vsc), 0);
    hp_pump(P, 100);
    assert_int_equal(vspn_vsp_state(P->h.vsp), VSPN_VSP_REVOKED);
    assert_int_equal(vspn_vsp_rndis_state(P->h.vsp), VSPN_RNDIS_HALTED);
    assert_false(vspn_vsp_has_recv_buf(P->h.vsp));
    assert_false(vspn_vsp_has_send_buf(P->h.vsp));
    assert_int_equal(hv_gpadl_teardown(P->h.gt, HX_RELID, HX_RECV_GPADL), 0);
    assert_int_equal(hv_gpadl_teardown(P->h.gt, HX_RELID, HX_SEND_GPADL), 0);
    assert_int_equal(P->h.nclose, 0);
    free_pair(P);

    /* destroy with buffers attached releases them (receive, then send) */
    P = new_pair(NULL, VSPN_VSC_LINUX);
    up(P);
    vspn_vsp_destroy(P->h.vsp);
    P->h.vsp = NULL;
    assert_int_equal(hv_gpadl_teardown(P->h.gt, HX_RELID, HX_RECV_GPADL), 0);
    assert_int_equal(hv_gpadl_teardown(P->h.gt, HX_RELID, HX_SEND_GPADL), 0);
    free_pair(P);
}

static void test_create_args(void **state)
{
    struct vspn_vsp_cfg c;
    struct vspn_vsp *v;
    struct vspn_vsp_ops o = hx_ops;
    (void)state;

    hx_default_cfg(&c);
    assert_int_equal(vspn_vsp_create(NULL, &o, NULL, &v), -EINVAL);
    c.mtu = 67;
    assert_int_equal(vspn_vsp_create(&c, &o, NULL, &v), -EINVAL);
    c.mtu = VSPN_VSP_MTU_MAX + 1;
    assert_int_equal(vspn_vsp_create(&c, &o, NULL, &v), -EINVAL);
    c.mtu = 1500;
    c.recv_section_size = 1000; /* cannot hold a full frame */
    assert_int_equal(vspn_vsp_create(&c, &o, NULL, &v), -EINVAL);
    c.recv_section_size = 0;
    c.send_section_size = 60;
    assert_int_equal(vspn_vsp_create(&c, &o, NULL, &v), -EINVAL);
    c.send_section_size = 0;
    o.close = NULL;
    assert_int_equal(vspn_vsp_create(&c, &o, NULL, &v), -EINVAL);
    o = hx_ops;
    assert_int_equal(vspn_vsp_create(&c, &o, NULL, &v), 0);
    vspn_vsp_destroy(v);
    /* stats names are complete */
    for (unsigned i = 0; i < VSPN_VSP_STATS_N; i++) {
        assert_non_null(vspn_vsp_stats_name(i));
        assert_non_null(vspn_vsp_stats_help(i));
    }
    assert_null(vspn_vsp_stats_name(VSPN_VSP_STATS_N));
    for (unsigned i = 0; i < VSPN_VSC_STATS_N; i++)
        assert_non_null(vspn_vsc_stats_name(i));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handshake_linux),
        cmocka_unit_test(test_handshake_minimal),
        cmocka_unit_test(test_frames_both_ways),
        cmocka_unit_test(test_filter),
        cmocka_unit_test(test_mtu),
        cmocka_unit_test(test_link),
        cmocka_unit_test(test_link_backlog),
        cmocka_unit_test(test_non_draining_guest),
        cmocka_unit_test(test_one_slot_free),
        cmocka_unit_test(test_repetition),
        cmocka_unit_test(test_section_bounds),
        cmocka_unit_test(test_buffer_setup_bounds),
        cmocka_unit_test(test_mixed_form),
        cmocka_unit_test(test_multi_packet_section),
        cmocka_unit_test(test_section_tail),
        cmocka_unit_test(test_send_more_batches),
        cmocka_unit_test(test_completion_queue),
        cmocka_unit_test(test_deferred_failure_ack),
        cmocka_unit_test(test_teardown_order),
        cmocka_unit_test(test_create_args),
    };
    vsa_log_set_level(VSA_LOG_ERR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
