/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_vlan.c — unit tests for vlan/vlan.c and the inlines of vlan/vlan.h.
 *
 * Objective: pin the 802.1Q admission and tagging rules down as a golden
 * table (TESTS.md item 16, in unit form).  Every port mode below is crossed
 * with every frame type; each cell states the ingress verdict and VLAN, and
 * for every admitted VLAN the egress action of every other port.  The
 * expected values are written out by hand as data; nothing here recomputes
 * them with the code under test.  Frames are real byte strings run through
 * vsw_parse_l2 first, so the table also covers the parser/VLAN hand-off
 * (0x88a8 and 0x9100 outer TPIDs are untagged frames of that ethertype).
 *
 * Also covered: vlan_port_mode_validate (bad VIDs, native_tagged without a
 * native VLAN, allowed sets containing 0/4095, unknown modes), compilation,
 * a full 0..4095 sweep per mode against the documented rules, and the VID
 * set text form (vlan_set_parse / vlan_set_format: round trips, canonical
 * output, truncation like snprintf, and a list of malformed strings that
 * must each fail with -EINVAL and a message).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vlan/vlan.h"
#include "vswitch/parse.h"

/* ------------------------------------------------------------------ */
/* Port modes of the matrix                                            */
/* ------------------------------------------------------------------ */

enum test_mode {
    M_ACCESS1,      /* access, VLAN 1 */
    M_ACCESS10,     /* access, VLAN 10 */
    M_ACCESS4094,   /* access, VLAN 4094 */
    M_TRUNK_10_20,  /* trunk, allowed {10,20}, no native */
    M_NATIVE1,      /* trunk, allowed {10,20}, native 1 sent untagged */
    M_NATIVE10_TAG, /* trunk, allowed {10,20}, native 10, native_tagged */
    M_TRUNK_ALL,    /* trunk, allowed 1-4094, no native */
    M_COUNT
};

static const char *const mode_names[M_COUNT] = {
    [M_ACCESS1] = "access vid 1",
    [M_ACCESS10] = "access vid 10",
    [M_ACCESS4094] = "access vid 4094",
    [M_TRUNK_10_20] = "trunk {10,20}",
    [M_NATIVE1] = "trunk {10,20} native 1",
    [M_NATIVE10_TAG] = "trunk {10,20} native 10 tagged",
    [M_TRUNK_ALL] = "trunk 1-4094",
};

static void set_allowed_range(struct vlan_port_mode *m, unsigned lo,
                              unsigned hi)
{
    for (unsigned v = lo; v <= hi; v++)
        vlan_bitmap_set(m->allowed, (uint16_t)v);
}

static void build_mode(enum test_mode which, struct vlan_port_mode *m)
{
    memset(m, 0, sizeof(*m));
    switch (which) {
    case M_ACCESS1:
        m->mode = VLAN_MODE_ACCESS;
        m->access_vid = 1;
        break;
    case M_ACCESS10:
        m->mode = VLAN_MODE_ACCESS;
        m->access_vid = 10;
        break;
    case M_ACCESS4094:
        m->mode = VLAN_MODE_ACCESS;
        m->access_vid = 4094;
        break;
    case M_TRUNK_10_20:
        m->mode = VLAN_MODE_TRUNK;
        set_allowed_range(m, 10, 10);
        set_allowed_range(m, 20, 20);
        break;
    case M_NATIVE1:
        m->mode = VLAN_MODE_TRUNK;
        set_allowed_range(m, 10, 10);
        set_allowed_range(m, 20, 20);
        m->native_vid = 1;
        break;
    case M_NATIVE10_TAG:
        m->mode = VLAN_MODE_TRUNK;
        set_allowed_range(m, 10, 10);
        set_allowed_range(m, 20, 20);
        m->native_vid = 10;
        m->native_tagged = true;
        break;
    case M_TRUNK_ALL:
        m->mode = VLAN_MODE_TRUNK;
        set_allowed_range(m, 1, 4094);
        break;
    case M_COUNT:
        break;
    }
}

static void compile_all(struct vlan_port ports[M_COUNT])
{
    for (int i = 0; i < M_COUNT; i++) {
        struct vlan_port_mode m;
        struct vsa_errmsg em = { { 0 } };

        build_mode((enum test_mode)i, &m);
        if (vlan_port_mode_validate(&m, &em) != 0)
            fail_msg("mode '%s' rejected: %s", mode_names[i], em.msg);
        vlan_port_compile(&m, &ports[i]);
    }
}

/* ------------------------------------------------------------------ */
/* Frame types of the matrix                                           */
/* ------------------------------------------------------------------ */

enum test_frame {
    F_UNTAGGED,  /* IPv4, no tag */
    F_PRIO,      /* 0x8100, PCP 5, VID 0 */
    F_VID1,
    F_VID10,
    F_VID20,
    F_VID30,
    F_VID4094,
    F_VID4095,
    F_DOUBLE,    /* 0x8100 VID 10, then 0x8100 VID 20 */
    F_STAG,      /* 0x88a8 VID 10 outer, 0x8100 VID 20 inner: not a C-tag */
    F_TPID9100,  /* 0x9100 VID 10: not a C-tag */
    F_PRIO_DOUBLE, /* priority tag, then 0x8100 VID 20 (double-tag hop) */
    F_COUNT
};

struct frame_spec {
    const char *name;
    uint16_t tpid[2];   /* 0 = no such tag */
    uint16_t tci[2];
    /* expected parse result */
    bool tagged;
    uint16_t tag_vid;
    uint8_t tag_pcp;
    bool inner_tagged;
    uint16_t ethertype;
    uint16_t l3_offset;
};

static const struct frame_spec frames[F_COUNT] = {
    [F_UNTAGGED] = { "untagged", { 0, 0 }, { 0, 0 },
                     false, 0, 0, false, 0x0800, 14 },
    [F_PRIO] = { "priority VID 0", { 0x8100, 0 }, { 0xa000, 0 },
                 true, 0, 5, false, 0x0800, 18 },
    [F_VID1] = { "VID 1", { 0x8100, 0 }, { 0x0001, 0 },
                 true, 1, 0, false, 0x0800, 18 },
    [F_VID10] = { "VID 10", { 0x8100, 0 }, { 0x200a, 0 },
                  true, 10, 1, false, 0x0800, 18 },
    [F_VID20] = { "VID 20", { 0x8100, 0 }, { 0x0014, 0 },
                  true, 20, 0, false, 0x0800, 18 },
    [F_VID30] = { "VID 30", { 0x8100, 0 }, { 0xe01e, 0 },
                  true, 30, 7, false, 0x0800, 18 },
    [F_VID4094] = { "VID 4094", { 0x8100, 0 }, { 0x0ffe, 0 },
                    true, 4094, 0, false, 0x0800, 18 },
    [F_VID4095] = { "VID 4095", { 0x8100, 0 }, { 0x0fff, 0 },
                    true, 4095, 0, false, 0x0800, 18 },
    [F_DOUBLE] = { "double 10/20", { 0x8100, 0x8100 }, { 0x000a, 0x0014 },
                   true, 10, 0, true, 0x8100, 18 },
    [F_STAG] = { "0x88a8 10 / 0x8100 20", { 0x88a8, 0x8100 },
                 { 0x000a, 0x0014 }, false, 0, 0, false, 0x88a8, 14 },
    [F_PRIO_DOUBLE] = { "priority 0 / VID 20", { 0x8100, 0x8100 },
                        { 0x0000, 0x0014 }, true, 0, 0, true, 0x8100, 18 },
    [F_TPID9100] = { "0x9100 10", { 0x9100, 0 }, { 0x000a, 0 },
                     false, 0, 0, false, 0x9100, 14 },
};

/* Writes the frame (dst, src, tags, IPv4 ethertype, 46 payload bytes). */
static size_t build_frame(const struct frame_spec *f, uint8_t *buf,
                          size_t size)
{
    static const uint8_t dst[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
    static const uint8_t src[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x02 };
    size_t n = 0;

    assert_true(size >= 12 + 8 + 2 + 46);
    memcpy(buf, dst, 6);
    memcpy(buf + 6, src, 6);
    n = 12;
    for (int i = 0; i < 2 && f->tpid[i]; i++) {
        buf[n++] = (uint8_t)(f->tpid[i] >> 8);
        buf[n++] = (uint8_t)f->tpid[i];
        buf[n++] = (uint8_t)(f->tci[i] >> 8);
        buf[n++] = (uint8_t)f->tci[i];
    }
    buf[n++] = 0x08;
    buf[n++] = 0x00;
    memset(buf + n, 0x45, 46);
    return n + 46;
}

/* ------------------------------------------------------------------ */
/* The golden tables                                                    */
/* ------------------------------------------------------------------ */

struct ingress_cell {
    enum vlan_verdict verdict;
    uint16_t vid;       /* when admitted */
};

#define AD(v) { VLAN_ADMIT, (v) }
#define DU { VLAN_DROP_UNTAGGED, 0 }
#define DT { VLAN_DROP_TAGGED, 0 }
#define NM { VLAN_DROP_NOT_MEMBER, 0 }
#define RS { VLAN_DROP_RESERVED, 0 }

/* Columns: untagged, prio, 1, 10, 20, 30, 4094, 4095, double, 88a8, 9100,
 * prio + 20 (a trunk takes it into its native VLAN, as a priority-tagged
 * frame) */
static const struct ingress_cell ingress_golden[M_COUNT][F_COUNT] = {
    [M_ACCESS1] =
        { AD(1), AD(1), DT, DT, DT, DT, DT, RS, DT, AD(1), AD(1), DT },
    [M_ACCESS10] =
        { AD(10), AD(10), DT, DT, DT, DT, DT, RS, DT, AD(10), AD(10), DT },
    [M_ACCESS4094] =
        { AD(4094), AD(4094), DT, DT, DT, DT, DT, RS, DT, AD(4094),
          AD(4094), DT },
    [M_TRUNK_10_20] =
        { DU, DU, NM, AD(10), AD(20), NM, NM, RS, AD(10), DU, DU, DU },
    [M_NATIVE1] =
        { AD(1), AD(1), AD(1), AD(10), AD(20), NM, NM, RS, AD(10), AD(1),
          AD(1), AD(1) },
    [M_NATIVE10_TAG] =
        { AD(10), AD(10), NM, AD(10), AD(20), NM, NM, RS, AD(10), AD(10),
          AD(10), AD(10) },
    [M_TRUNK_ALL] =
        { DU, DU, AD(1), AD(10), AD(20), AD(30), AD(4094), RS, AD(10), DU,
          DU, DU },
};

#undef AD
#undef DU
#undef DT
#undef NM
#undef RS

/* Every VLAN that some cell above admits. */
static const uint16_t egress_vids[] = { 1, 10, 20, 30, 4094 };
#define N_EGRESS_VIDS (sizeof(egress_vids) / sizeof(egress_vids[0]))

#define SK VLAN_EGRESS_SKIP
#define UN VLAN_EGRESS_UNTAGGED
#define TG VLAN_EGRESS_TAGGED

/* Columns: VLAN 1, 10, 20, 30, 4094. */
static const enum vlan_egress egress_golden[M_COUNT][N_EGRESS_VIDS] = {
    [M_ACCESS1] = { UN, SK, SK, SK, SK },
    [M_ACCESS10] = { SK, UN, SK, SK, SK },
    [M_ACCESS4094] = { SK, SK, SK, SK, UN },
    [M_TRUNK_10_20] = { SK, TG, TG, SK, SK },
    [M_NATIVE1] = { UN, TG, TG, SK, SK },
    [M_NATIVE10_TAG] = { SK, TG, TG, SK, SK },
    [M_TRUNK_ALL] = { TG, TG, TG, TG, TG },
};

#undef SK
#undef UN
#undef TG

static int egress_index(uint16_t vid)
{
    for (size_t i = 0; i < N_EGRESS_VIDS; i++)
        if (egress_vids[i] == vid)
            return (int)i;
    return -1;
}

static const char *egress_name(enum vlan_egress e)
{
    switch (e) {
    case VLAN_EGRESS_SKIP: return "skip";
    case VLAN_EGRESS_UNTAGGED: return "untagged";
    case VLAN_EGRESS_TAGGED: return "tagged";
    }
    return "?";
}

/* ------------------------------------------------------------------ */
/* Matrix tests                                                         */
/* ------------------------------------------------------------------ */

static void test_frame_parse_columns(void **state)
{
    (void)state;
    for (int f = 0; f < F_COUNT; f++) {
        uint8_t buf[128];
        size_t len = build_frame(&frames[f], buf, sizeof(buf));
        struct vsw_l2 l2 = { 0 };

        if (vsw_parse_l2(buf, (uint32_t)len, &l2) != 0)
            fail_msg("frame '%s' did not parse", frames[f].name);
        if (l2.tagged != frames[f].tagged ||
            l2.tag_vid != frames[f].tag_vid ||
            l2.tag_pcp != frames[f].tag_pcp ||
            l2.inner_tagged != frames[f].inner_tagged ||
            l2.ethertype != frames[f].ethertype ||
            l2.l3_offset != frames[f].l3_offset)
            fail_msg("frame '%s': parsed tagged=%d vid=%u pcp=%u inner=%d "
                     "et=0x%04x l3=%u", frames[f].name, l2.tagged,
                     l2.tag_vid, l2.tag_pcp, l2.inner_tagged, l2.ethertype,
                     l2.l3_offset);
        assert_true(l2.dst == 0x020000000001ull);
        assert_true(l2.src == 0x020000000002ull);
    }
}

static void test_ingress_egress_matrix(void **state)
{
    struct vlan_port ports[M_COUNT];
    unsigned cells = 0, egress_checks = 0;

    (void)state;
    compile_all(ports);
    for (int m = 0; m < M_COUNT; m++) {
        for (int f = 0; f < F_COUNT; f++) {
            const struct ingress_cell *want = &ingress_golden[m][f];
            uint8_t buf[128];
            size_t len = build_frame(&frames[f], buf, sizeof(buf));
            struct vsw_l2 l2 = { 0 };
            uint16_t vid = 0xdead;
            enum vlan_verdict got;
            int ei;

            assert_int_equal(vsw_parse_l2(buf, (uint32_t)len, &l2), 0);
            got = vlan_port_ingress(&ports[m], l2.tagged, l2.tag_vid,
                                    l2.inner_tagged, &vid);
            cells++;
            if (got != want->verdict)
                fail_msg("[%s] x [%s]: verdict %s, want %s", mode_names[m],
                         frames[f].name, vlan_verdict_name(got),
                         vlan_verdict_name(want->verdict));
            if (got != VLAN_ADMIT)
                continue;
            if (vid != want->vid)
                fail_msg("[%s] x [%s]: admitted to VLAN %u, want %u",
                         mode_names[m], frames[f].name, vid, want->vid);
            ei = egress_index(vid);
            if (ei < 0)
                fail_msg("[%s] x [%s]: VLAN %u missing from egress table",
                         mode_names[m], frames[f].name, vid);
            /* The ingress port itself carries the VLAN it admitted to. */
            if (vlan_port_egress(&ports[m], vid) == VLAN_EGRESS_SKIP)
                fail_msg("[%s]: admitted VLAN %u but is not a member",
                         mode_names[m], vid);
            for (int o = 0; o < M_COUNT; o++) {
                enum vlan_egress e;

                if (o == m)
                    continue;
                e = vlan_port_egress(&ports[o], vid);
                egress_checks++;
                if (e != egress_golden[o][ei])
                    fail_msg("[%s] x [%s] -> VLAN %u out of [%s]: %s, "
                             "want %s", mode_names[m], frames[f].name, vid,
                             mode_names[o], egress_name(e),
                             egress_name(egress_golden[o][ei]));
            }
        }
    }
    assert_int_equal(cells, M_COUNT * F_COUNT);
    print_message("  %u ingress cells, %u egress checks\n", cells,
                  egress_checks);
}

/* The egress table on its own, including the ingress port itself. */
static void test_egress_table(void **state)
{
    struct vlan_port ports[M_COUNT];

    (void)state;
    compile_all(ports);
    for (int m = 0; m < M_COUNT; m++) {
        for (size_t i = 0; i < N_EGRESS_VIDS; i++) {
            enum vlan_egress e = vlan_port_egress(&ports[m], egress_vids[i]);
            if (e != egress_golden[m][i])
                fail_msg("[%s] VLAN %u: %s, want %s", mode_names[m],
                         egress_vids[i], egress_name(e),
                         egress_name(egress_golden[m][i]));
        }
        /* VLAN 0 and 4095 are never carried. */
        assert_int_equal(vlan_port_egress(&ports[m], 0), VLAN_EGRESS_SKIP);
        assert_int_equal(vlan_port_egress(&ports[m], 4095),
                         VLAN_EGRESS_SKIP);
    }
}

/* ------------------------------------------------------------------ */
/* Compiled form and full 0..4095 sweep                                 */
/* ------------------------------------------------------------------ */

struct vid_range {
    uint16_t lo, hi;
};

/* What each mode compiles to, written out: members, pvid, untagged VLAN,
 * whether tags are accepted. */
struct compiled_golden {
    struct vid_range members[3];
    int n_members;
    uint16_t pvid;
    uint16_t untagged_vid;
    bool accept_tagged;
};

static const struct compiled_golden compiled_golden[M_COUNT] = {
    [M_ACCESS1] = { { { 1, 1 } }, 1, 1, 1, false },
    [M_ACCESS10] = { { { 10, 10 } }, 1, 10, 10, false },
    [M_ACCESS4094] = { { { 4094, 4094 } }, 1, 4094, 4094, false },
    [M_TRUNK_10_20] = { { { 10, 10 }, { 20, 20 } }, 2, 0, 0, true },
    [M_NATIVE1] = { { { 1, 1 }, { 10, 10 }, { 20, 20 } }, 3, 1, 1, true },
    [M_NATIVE10_TAG] = { { { 10, 10 }, { 20, 20 } }, 2, 10, 0, true },
    [M_TRUNK_ALL] = { { { 1, 4094 } }, 1, 0, 0, true },
};

static bool golden_member(const struct compiled_golden *g, unsigned vid)
{
    for (int i = 0; i < g->n_members; i++)
        if (vid >= g->members[i].lo && vid <= g->members[i].hi)
            return true;
    return false;
}

static void test_compile_golden(void **state)
{
    struct vlan_port ports[M_COUNT];

    (void)state;
    compile_all(ports);
    for (int m = 0; m < M_COUNT; m++) {
        const struct compiled_golden *g = &compiled_golden[m];

        if (ports[m].pvid != g->pvid ||
            ports[m].untagged_vid != g->untagged_vid ||
            ports[m].accept_tagged != g->accept_tagged)
            fail_msg("[%s]: pvid %u untagged %u accept_tagged %d",
                     mode_names[m], ports[m].pvid, ports[m].untagged_vid,
                     ports[m].accept_tagged);
        for (unsigned v = 0; v < 4096; v++)
            if (vlan_bitmap_test(ports[m].member, (uint16_t)v) !=
                golden_member(g, v))
                fail_msg("[%s]: membership of VLAN %u is wrong",
                         mode_names[m], v);
    }
}

/*
 * Every tag value 0..4095 on every mode, against the rules of vlan.h:
 * VID 0 goes to pvid, 4095 is reserved, access ports take no tags, trunks
 * take member VLANs.  Egress: members only, untagged only for the
 * untagged VLAN.  Membership comes from compiled_golden (data), not from
 * the port under test.
 */
static void test_full_vid_sweep(void **state)
{
    struct vlan_port ports[M_COUNT];

    (void)state;
    compile_all(ports);
    for (int m = 0; m < M_COUNT; m++) {
        const struct compiled_golden *g = &compiled_golden[m];

        for (unsigned v = 0; v < 4096; v++) {
            enum vlan_verdict want, got;
            enum vlan_egress want_e, got_e;
            uint16_t vid = 0;

            if (v == 0)
                want = g->pvid ? VLAN_ADMIT : VLAN_DROP_UNTAGGED;
            else if (v == 4095)
                want = VLAN_DROP_RESERVED;
            else if (!g->accept_tagged)
                want = VLAN_DROP_TAGGED;
            else if (golden_member(g, v))
                want = VLAN_ADMIT;
            else
                want = VLAN_DROP_NOT_MEMBER;
            got = vlan_port_ingress(&ports[m], true, (uint16_t)v, false, &vid);
            if (got != want)
                fail_msg("[%s] tag %u: %s, want %s", mode_names[m], v,
                         vlan_verdict_name(got), vlan_verdict_name(want));
            if (got == VLAN_ADMIT && vid != (v ? v : g->pvid))
                fail_msg("[%s] tag %u: admitted to %u", mode_names[m], v, vid);

            if (!golden_member(g, v))
                want_e = VLAN_EGRESS_SKIP;
            else if (v == g->untagged_vid)
                want_e = VLAN_EGRESS_UNTAGGED;
            else
                want_e = VLAN_EGRESS_TAGGED;
            got_e = vlan_port_egress(&ports[m], (uint16_t)v);
            if (got_e != want_e)
                fail_msg("[%s] egress VLAN %u: %s, want %s", mode_names[m],
                         v, egress_name(got_e), egress_name(want_e));
        }
        /* Untagged frames: the `tag_vid` argument is ignored. */
        for (unsigned v = 0; v < 4096; v += 7) {
            uint16_t vid = 0;
            enum vlan_verdict got =
                vlan_port_ingress(&ports[m], false, (uint16_t)v, false, &vid);
            assert_int_equal(got, g->pvid ? VLAN_ADMIT : VLAN_DROP_UNTAGGED);
            if (got == VLAN_ADMIT)
                assert_int_equal(vid, g->pvid);
        }
    }
}

/* A trunk compiled from an (invalid) allowed set holding 0 and 4095 still
 * never carries them; an access port ignores every trunk field. */
static void test_compile_strips_reserved(void **state)
{
    struct vlan_port_mode m;
    struct vlan_port p;

    (void)state;
    memset(&m, 0, sizeof(m));
    m.mode = VLAN_MODE_TRUNK;
    memset(m.allowed, 0xff, sizeof(m.allowed));
    vlan_port_compile(&m, &p);
    assert_false(vlan_bitmap_test(p.member, 0));
    assert_false(vlan_bitmap_test(p.member, 4095));
    assert_true(vlan_bitmap_test(p.member, 1));
    assert_true(vlan_bitmap_test(p.member, 4094));
    assert_int_equal(p.pvid, 0);
    assert_int_equal(p.untagged_vid, 0);

    memset(&m, 0, sizeof(m));
    m.mode = VLAN_MODE_ACCESS;
    m.access_vid = 300;
    m.native_vid = 7;
    m.native_tagged = true;
    memset(m.allowed, 0xff, sizeof(m.allowed));
    assert_int_equal(vlan_port_mode_validate(&m, NULL), 0);
    vlan_port_compile(&m, &p);
    for (unsigned v = 0; v < 4096; v++)
        assert_int_equal(vlan_bitmap_test(p.member, (uint16_t)v), v == 300);
    assert_int_equal(p.pvid, 300);
    assert_int_equal(p.untagged_vid, 300);
    assert_false(p.accept_tagged);

    /* Native VLAN outside the allowed set is still carried. */
    memset(&m, 0, sizeof(m));
    m.mode = VLAN_MODE_TRUNK;
    m.native_vid = 99;
    vlan_port_compile(&m, &p);
    for (unsigned v = 0; v < 4096; v++)
        assert_int_equal(vlan_bitmap_test(p.member, (uint16_t)v), v == 99);
    assert_int_equal(p.pvid, 99);
    assert_int_equal(p.untagged_vid, 99);
    assert_true(p.accept_tagged);
}

static void test_mode_default(void **state)
{
    struct vlan_port_mode m;
    struct vlan_port p;

    (void)state;
    memset(&m, 0xa5, sizeof(m));
    vlan_port_mode_default(&m);
    assert_int_equal(m.mode, VLAN_MODE_ACCESS);
    assert_int_equal(m.access_vid, VLAN_DEFAULT_VID);
    assert_int_equal(m.native_vid, 0);
    assert_false(m.native_tagged);
    for (int i = 0; i < VLAN_BITMAP_WORDS; i++)
        assert_true(m.allowed[i] == 0);
    assert_int_equal(vlan_port_mode_validate(&m, NULL), 0);
    vlan_port_compile(&m, &p);
    assert_int_equal(p.pvid, 1);
    assert_int_equal(p.untagged_vid, 1);
}

/* ------------------------------------------------------------------ */
/* vlan_port_mode_validate                                              */
/* ------------------------------------------------------------------ */

struct validate_case {
    const char *name;
    int mode;               /* enum vlan_mode, or a bad value */
    uint16_t access_vid;
    uint16_t native_vid;
    bool native_tagged;
    uint16_t allowed_lo, allowed_hi; /* 0/0 = empty; inclusive range */
    int extra_allowed;      /* -1 = none, else one more VID to set */
    int rc;
    const char *msg_has;    /* substring of the message on failure */
};

static const struct validate_case validate_cases[] = {
    { "access 1", VLAN_MODE_ACCESS, 1, 0, false, 0, 0, -1, 0, NULL },
    { "access 4094", VLAN_MODE_ACCESS, 4094, 0, false, 0, 0, -1, 0, NULL },
    { "access 0", VLAN_MODE_ACCESS, 0, 0, false, 0, 0, -1, -EINVAL,
      "access VLAN 0" },
    { "access 4095", VLAN_MODE_ACCESS, 4095, 0, false, 0, 0, -1, -EINVAL,
      "access VLAN 4095" },
    { "access 5000", VLAN_MODE_ACCESS, 5000, 0, false, 0, 0, -1, -EINVAL,
      "access VLAN 5000" },
    { "access 65535", VLAN_MODE_ACCESS, 65535, 0, false, 0, 0, -1, -EINVAL,
      "65535" },
    { "trunk empty", VLAN_MODE_TRUNK, 0, 0, false, 0, 0, -1, 0, NULL },
    { "trunk 1-4094", VLAN_MODE_TRUNK, 0, 0, false, 1, 4094, -1, 0, NULL },
    { "trunk native 1", VLAN_MODE_TRUNK, 0, 1, false, 10, 20, -1, 0, NULL },
    { "trunk native 4094 tagged", VLAN_MODE_TRUNK, 0, 4094, true, 0, 0, -1,
      0, NULL },
    { "trunk native 4095", VLAN_MODE_TRUNK, 0, 4095, false, 0, 0, -1,
      -EINVAL, "native VLAN 4095" },
    { "trunk native 5000", VLAN_MODE_TRUNK, 0, 5000, false, 0, 0, -1,
      -EINVAL, "native VLAN 5000" },
    { "trunk native_tagged, no native", VLAN_MODE_TRUNK, 0, 0, true, 10, 10,
      -1, -EINVAL, "native_tagged" },
    { "trunk allowed has 0", VLAN_MODE_TRUNK, 0, 0, false, 10, 20, 0,
      -EINVAL, "0 or 4095" },
    { "trunk allowed has 4095", VLAN_MODE_TRUNK, 0, 0, false, 10, 20, 4095,
      -EINVAL, "0 or 4095" },
    { "trunk allowed 0 only", VLAN_MODE_TRUNK, 0, 5, false, 0, 0, 0,
      -EINVAL, "0 or 4095" },
    /* access mode ignores the trunk fields entirely */
    { "access with trunk junk", VLAN_MODE_ACCESS, 7, 5000, true, 0, 0, 4095,
      0, NULL },
    { "unknown mode 2", 2, 1, 0, false, 0, 0, -1, -EINVAL, "unknown" },
    { "unknown mode -1", -1, 1, 0, false, 0, 0, -1, -EINVAL, "unknown" },
};

static void test_mode_validate(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(validate_cases) / sizeof(validate_cases[0]);
         i++) {
        const struct validate_case *c = &validate_cases[i];
        struct vlan_port_mode m;
        struct vsa_errmsg em;
        int rc;

        memset(&m, 0, sizeof(m));
        m.mode = (enum vlan_mode)c->mode;
        m.access_vid = c->access_vid;
        m.native_vid = c->native_vid;
        m.native_tagged = c->native_tagged;
        if (c->allowed_lo)
            set_allowed_range(&m, c->allowed_lo, c->allowed_hi);
        if (c->extra_allowed >= 0)
            vlan_bitmap_set(m.allowed, (uint16_t)c->extra_allowed);
        memset(&em, 0, sizeof(em));
        rc = vlan_port_mode_validate(&m, &em);
        if (rc != c->rc)
            fail_msg("%s: rc %d, want %d (%s)", c->name, rc, c->rc, em.msg);
        if (c->rc) {
            if (!em.msg[0] || !strstr(em.msg, c->msg_has))
                fail_msg("%s: message '%s' lacks '%s'", c->name, em.msg,
                         c->msg_has);
        }
        /* A NULL errmsg is always accepted. */
        assert_int_equal(vlan_port_mode_validate(&m, NULL), c->rc);
    }
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(vlan_mode_name(VLAN_MODE_ACCESS), "access");
    assert_string_equal(vlan_mode_name(VLAN_MODE_TRUNK), "trunk");
    assert_string_equal(vlan_verdict_name(VLAN_ADMIT), "admit");
    assert_string_equal(vlan_verdict_name(VLAN_DROP_UNTAGGED),
                        "vlan_untagged");
    assert_string_equal(vlan_verdict_name(VLAN_DROP_TAGGED),
                        "vlan_tagged_on_access");
    assert_string_equal(vlan_verdict_name(VLAN_DROP_NOT_MEMBER),
                        "vlan_not_allowed");
    assert_string_equal(vlan_verdict_name(VLAN_DROP_RESERVED),
                        "vlan_reserved");
    assert_string_equal(vlan_verdict_name((enum vlan_verdict)99), "?");
}

/* ------------------------------------------------------------------ */
/* VID sets in text form                                                */
/* ------------------------------------------------------------------ */

struct set_case {
    const char *in;
    const char *canonical;          /* vlan_set_format output */
    struct vid_range ranges[4];     /* expected members */
    int n_ranges;
};

static const struct set_case set_cases[] = {
    { "1", "1", { { 1, 1 } }, 1 },
    { "4094", "4094", { { 4094, 4094 } }, 1 },
    { "1-4094", "1-4094", { { 1, 4094 } }, 1 },
    { "2-4093", "2-4093", { { 2, 4093 } }, 1 },
    { "1-10,20,30-32", "1-10,20,30-32", { { 1, 10 }, { 20, 20 }, { 30, 32 } },
      3 },
    { "10-11", "10-11", { { 10, 11 } }, 1 },
    { "7-7", "7", { { 7, 7 } }, 1 },
    { "1,2,3", "1-3", { { 1, 3 } }, 1 },
    { "5,1", "1,5", { { 1, 1 }, { 5, 5 } }, 2 },
    { "1-5,3-8", "1-8", { { 1, 8 } }, 1 },
    { "1,1,1", "1", { { 1, 1 } }, 1 },
    { "007", "7", { { 7, 7 } }, 1 },
    { "1,4094", "1,4094", { { 1, 1 }, { 4094, 4094 } }, 2 },
    { "100-200,4000-4094,1", "1,100-200,4000-4094",
      { { 1, 1 }, { 100, 200 }, { 4000, 4094 } }, 3 },
};

static void bitmap_from_ranges(const struct vid_range *r, int n,
                               uint64_t bm[VLAN_BITMAP_WORDS])
{
    memset(bm, 0, VLAN_BITMAP_WORDS * sizeof(uint64_t));
    for (int i = 0; i < n; i++)
        for (unsigned v = r[i].lo; v <= r[i].hi; v++)
            vlan_bitmap_set(bm, (uint16_t)v);
}

static void test_set_round_trip(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(set_cases) / sizeof(set_cases[0]); i++) {
        const struct set_case *c = &set_cases[i];
        uint64_t want[VLAN_BITMAP_WORDS], got[VLAN_BITMAP_WORDS];
        uint64_t again[VLAN_BITMAP_WORDS];
        struct vsa_errmsg em = { { 0 } };
        char buf[16384];
        size_t n;
        int rc;

        bitmap_from_ranges(c->ranges, c->n_ranges, want);
        memset(got, 0xff, sizeof(got));   /* parse replaces, not merges */
        rc = vlan_set_parse(c->in, got, &em);
        if (rc != 0)
            fail_msg("'%s': rc %d (%s)", c->in, rc, em.msg);
        if (memcmp(got, want, sizeof(want)) != 0)
            fail_msg("'%s': wrong members", c->in);
        n = vlan_set_format(got, buf, sizeof(buf));
        assert_int_equal(n, strlen(buf));
        if (strcmp(buf, c->canonical) != 0)
            fail_msg("'%s' formats as '%s', want '%s'", c->in, buf,
                     c->canonical);
        assert_int_equal(vlan_set_parse(buf, again, NULL), 0);
        assert_memory_equal(again, want, sizeof(want));
    }
}

static void test_set_format_full_and_empty(void **state)
{
    uint64_t bm[VLAN_BITMAP_WORDS];
    char buf[64];

    (void)state;
    memset(bm, 0, sizeof(bm));
    for (unsigned v = 1; v <= 4094; v++)
        vlan_bitmap_set(bm, (uint16_t)v);
    assert_int_equal(vlan_set_format(bm, buf, sizeof(buf)), 6);
    assert_string_equal(buf, "1-4094");

    memset(bm, 0, sizeof(bm));
    memset(buf, 'x', sizeof(buf));
    assert_int_equal(vlan_set_format(bm, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "");
    /* size 0: nothing written, length still reported */
    for (unsigned v = 1; v <= 4094; v++)
        vlan_bitmap_set(bm, (uint16_t)v);
    buf[0] = 'x';
    assert_int_equal(vlan_set_format(bm, buf, 0), 6);
    assert_int_equal(buf[0], 'x');
    assert_int_equal(vlan_set_format(bm, NULL, 0), 6);
}

/* Truncation behaves like snprintf: the full length is returned, the buffer
 * holds the longest prefix that fits and is NUL-terminated, and no byte
 * past `size` is written. */
static void test_set_format_truncation(void **state)
{
    static const char *const sets[] = { "1-10,20,30-32", "1,3,5,7,9",
                                        "4094", "1-4094", "100-200,4000" };

    (void)state;
    for (size_t s = 0; s < sizeof(sets) / sizeof(sets[0]); s++) {
        uint64_t bm[VLAN_BITMAP_WORDS];
        char full[256];
        size_t full_len;

        assert_int_equal(vlan_set_parse(sets[s], bm, NULL), 0);
        full_len = vlan_set_format(bm, full, sizeof(full));
        assert_int_equal(full_len, strlen(full));
        for (size_t size = 0; size <= full_len + 2; size++) {
            char *buf = malloc(size ? size : 1);   /* exact size for ASan */
            size_t n;

            assert_non_null(buf);
            n = vlan_set_format(bm, size ? buf : NULL, size);
            if (n != full_len)
                fail_msg("'%s' size %zu: returned %zu, want %zu", sets[s],
                         size, n, full_len);
            if (size) {
                size_t keep = size - 1 < full_len ? size - 1 : full_len;
                assert_int_equal(strlen(buf), keep);
                assert_memory_equal(buf, full, keep);
            }
            free(buf);
        }
    }
}

/* xorshift64*: a fixed-seed generator so failures reproduce. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

static void test_set_random_round_trip(void **state)
{
    static char buf[16384];
    size_t longest = 0;

    (void)state;
    for (int iter = 0; iter < 2000; iter++) {
        uint64_t bm[VLAN_BITMAP_WORDS], back[VLAN_BITMAP_WORDS];
        struct vsa_errmsg em = { { 0 } };
        unsigned density = (unsigned)(rng() % 101);   /* percent */
        size_t n;
        int rc;

        memset(bm, 0, sizeof(bm));
        if (iter == 0) {           /* every other VLAN: "1,3,...,4093" */
            for (unsigned v = 1; v <= 4094; v += 2)
                vlan_bitmap_set(bm, (uint16_t)v);
        } else if (iter == 1) {    /* pairs: "1-2,4-5,...,4093-4094" */
            for (unsigned v = 1; v <= 4094; v += 3) {
                vlan_bitmap_set(bm, (uint16_t)v);
                vlan_bitmap_set(bm, (uint16_t)(v + 1));
            }
        } else {
            for (unsigned v = 1; v <= 4094; v++)
                if (rng() % 100 < density)
                    vlan_bitmap_set(bm, (uint16_t)v);
        }
        n = vlan_set_format(bm, buf, sizeof(buf));
        assert_true(n < sizeof(buf));
        assert_int_equal(n, strlen(buf));
        if (iter == 0)
            assert_int_equal(n, 9679);  /* 2047 numbers, 2046 commas */
        if (iter == 1)
            assert_int_equal(n, 12911); /* 1365 pairs, the longest form */
        if (n > longest)
            longest = n;
        if (n == 0)
            continue;   /* the empty set has no text form */
        rc = vlan_set_parse(buf, back, &em);
        if (rc != 0)
            fail_msg("iteration %d: '%.60s...' does not parse: %s", iter, buf,
                     em.msg);
        assert_memory_equal(back, bm, sizeof(bm));
    }
    print_message("  longest text form: %zu bytes\n", longest);
}

static const char *const bad_sets[] = {
    "",
    ",",
    "1-",
    "5-3",
    "0",
    "4095",
    "1,,2",
    "a",
    "1-4095",
    "99999999999",
    " 1",
    "1,",
    "1 ",
    "-1",
    "-",
    "1-2-3",
    "1--2",
    "1;2",
    "0-5",
    "4094-4095",
    "+1",
    "0x10",
    "1,a",
    "1,-2",
    "1-+2",
    "1- 2",
    "1.5",
    "10-1",
    "1\t",
    ",1",
    "65536",               /* would alias VLAN 0 if narrowed to 16 bits */
    "65537",               /* ... VLAN 1 */
    "1-65537",
    "4294967297",          /* 2^32 + 1: VLAN 1 if narrowed to 32 bits */
    "18446744073709551617",/* past ULONG_MAX */
    "1-18446744073709551615",
};

static void test_set_parse_bad(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad_sets) / sizeof(bad_sets[0]); i++) {
        const char *s = bad_sets[i];
        uint64_t bm[VLAN_BITMAP_WORDS], saved[VLAN_BITMAP_WORDS];
        struct vsa_errmsg em;
        int rc;

        memset(bm, 0x5a, sizeof(bm));
        memcpy(saved, bm, sizeof(bm));
        memset(&em, 0, sizeof(em));
        rc = vlan_set_parse(s, bm, &em);
        if (rc != -EINVAL)
            fail_msg("'%s': rc %d, want -EINVAL", s, rc);
        if (!em.msg[0])
            fail_msg("'%s': no message", s);
        /* The message names the bad input (the empty set has none). */
        if (*s && !strstr(em.msg, s))
            fail_msg("'%s': message '%s' does not quote it", s, em.msg);
        /* A failed parse leaves the output untouched. */
        assert_memory_equal(bm, saved, sizeof(bm));
        assert_int_equal(vlan_set_parse(s, bm, NULL), -EINVAL);
    }
    assert_true(sizeof(bad_sets) / sizeof(bad_sets[0]) >= 15);
    {
        uint64_t bm[VLAN_BITMAP_WORDS];
        struct vsa_errmsg em = { { 0 } };
        assert_int_equal(vlan_set_parse(NULL, bm, &em), -EINVAL);
        assert_true(em.msg[0] != '\0');
    }
}

/* A very long input still yields a bounded message that says what is
 * wrong: the set is quoted cut at 64 bytes with "...", so the place that
 * went wrong is in the message (bug: the whole set was quoted, and the
 * message ended inside it, 512 bytes on, never saying what was wrong). */
static void test_set_parse_long_input(void **state)
{
    size_t len = 3 * VSA_ERRMSG_SIZE;
    char *s = malloc(len + 1);
    uint64_t bm[VLAN_BITMAP_WORDS];
    struct vsa_errmsg em;

    (void)state;
    assert_non_null(s);
    for (size_t i = 0; i < len; i += 2) {
        s[i] = '1';
        s[i + 1] = ',';
    }
    s[len - 1] = 'x';
    s[len] = '\0';
    memset(&em, 0, sizeof(em));
    assert_int_equal(vlan_set_parse(s, bm, &em), -EINVAL);
    print_message("%s\n", em.msg);
    assert_true(strlen(em.msg) < 128);
    assert_non_null(strstr(em.msg, "...' at 'x'"));
    /* a range out of bounds at the end of a long set: named */
    memcpy(s + len - 5, ",5000", 6); /* "1,1,...,1,5000" */
    assert_int_equal(vlan_set_parse(s, bm, &em), -EINVAL);
    print_message("%s\n", em.msg);
    assert_non_null(strstr(em.msg, "...': 5000-5000 is not a range inside"));
    memcpy(s + len - 4, "1,1", 3);

    /* The same with a valid tail parses: "1,1,...,1,11". */
    s[len - 1] = '1';
    assert_int_equal(vlan_set_parse(s, bm, &em), 0);
    for (unsigned v = 0; v < 4096; v++)
        assert_int_equal(vlan_bitmap_test(bm, (uint16_t)v),
                         v == 1 || v == 11);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frame_parse_columns),
        cmocka_unit_test(test_ingress_egress_matrix),
        cmocka_unit_test(test_egress_table),
        cmocka_unit_test(test_compile_golden),
        cmocka_unit_test(test_full_vid_sweep),
        cmocka_unit_test(test_compile_strips_reserved),
        cmocka_unit_test(test_mode_default),
        cmocka_unit_test(test_mode_validate),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_set_round_trip),
        cmocka_unit_test(test_set_format_full_and_empty),
        cmocka_unit_test(test_set_format_truncation),
        cmocka_unit_test(test_set_random_round_trip),
        cmocka_unit_test(test_set_parse_bad),
        cmocka_unit_test(test_set_parse_long_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
