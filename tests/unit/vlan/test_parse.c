/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_parse.c — unit tests for vsw_parse_l2 (vswitch/parse.h), the L2
 * parse every VLAN decision starts from.
 *
 * Objective (TESTS.md items 11, 14, 15 in unit form):
 *   - golden frames (untagged IPv4, 802.1Q, double 802.1Q, 0x88a8 outer,
 *     0x9100 outer, ARP, IPv6, priority-tagged, VID 4095, padded runt-size
 *     frames) parse to the fields written out here;
 *   - every truncation of every golden frame returns -1 exactly when it is
 *     shorter than the L2 header the frame announces (14 bytes, 18 with an
 *     outer 0x8100 tag), and otherwise the very same fields;
 *   - reads never go past `len`: each cut is parsed from an exact-size heap
 *     copy (ASan reports any overrun), and also from a buffer whose bytes
 *     past `len` are filled with two different patterns, which must not
 *     change the result (this catches overreads without a sanitizer);
 *   - split-point sweep: a frame split at k into [0,k) and [k,len) is
 *     parsed from its first segment only (the pipeline's rule: the L2
 *     header must be linear in the first segment, else a runt), so it
 *     must give the unsplit result for k >= header length and -1 below;
 *   - a differential check against a byte-by-byte reference parser written
 *     here from the 802.1Q layout, on random and tag-biased frames.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vswitch/parse.h"

struct golden {
    const char *name;
    const uint8_t *bytes;
    uint32_t len;
    uint32_t hdr_len;     /* L2 header the frame announces */
    struct vsw_l2 want;
};

#define MACS                                                   \
    0x00, 0x11, 0x22, 0x33, 0x44, 0x55,  /* dst */             \
    0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee   /* src */
#define DST_U64 0x001122334455ull
#define SRC_U64 0x02aabbccddeeull

#define IPV4_UDP                                                         \
    0x45, 0x00, 0x00, 0x20, 0x12, 0x34, 0x40, 0x00, 0x40, 0x11, 0x00,    \
    0x00, 10, 0, 0, 1, 10, 0, 0, 2,                                      \
    0x04, 0xd2, 0x00, 0x35, 0x00, 0x0c, 0x00, 0x00,                      \
    'v', 's', 'p', 'r'

static const uint8_t f_ipv4[] = { MACS, 0x08, 0x00, IPV4_UDP };

static const uint8_t f_vlan[] = { MACS, 0x81, 0x00, 0x60, 0x64, /* PCP 3 VID 100 */
                                  0x08, 0x00, IPV4_UDP };

static const uint8_t f_qinq8100[] = { MACS, 0x81, 0x00, 0x00, 0x0a,
                                      0x81, 0x00, 0x00, 0x14,
                                      0x08, 0x00, IPV4_UDP };

static const uint8_t f_88a8[] = { MACS, 0x88, 0xa8, 0xe0, 0x0a,
                                  0x81, 0x00, 0x00, 0x14,
                                  0x08, 0x00, IPV4_UDP };

static const uint8_t f_9100[] = { MACS, 0x91, 0x00, 0x00, 0x0a,
                                  0x08, 0x00, IPV4_UDP };

static const uint8_t f_arp[] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee,
    0x08, 0x06,
    0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01,
    0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 10, 0, 0, 1,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 10, 0, 0, 2,
    /* padding to the 60-byte minimum */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

static const uint8_t f_ipv6[] = {
    0x33, 0x33, 0x00, 0x00, 0x00, 0x01, 0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee,
    0x86, 0xdd,
    0x60, 0x00, 0x00, 0x00, 0x00, 0x08, 0x3a, 0xff,
    0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
    0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
    0x80, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, /* ICMPv6 echo */
};

static const uint8_t f_prio_ipv6[] = {
    MACS, 0x81, 0x00, 0xe0, 0x00, /* PCP 7, VID 0 */
    0x86, 0xdd,
    0x60, 0x00, 0x00, 0x00, 0x00, 0x00, 0x3b, 0x40,
    0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
    0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2,
};

static const uint8_t f_vid4095[] = { MACS, 0x81, 0x00, 0x1f, 0xff, /* CFI set */
                                     0x08, 0x00, IPV4_UDP };

/* Header only, no payload: the shortest frames that parse. */
static const uint8_t f_bare[] = { MACS, 0x08, 0x00 };
static const uint8_t f_bare_tag[] = { MACS, 0x81, 0x00, 0x0f, 0xfe, 0x08,
                                      0x06 };
/* 802.3 length field instead of an ethertype: not interpreted here. */
static const uint8_t f_8023[] = { MACS, 0x00, 0x2e, 0xaa, 0xaa, 0x03, 0, 0, 0,
                                  0x08, 0x00 };

#define G(arr) arr, (uint32_t)sizeof(arr)

static const struct golden goldens[] = {
    { "untagged IPv4", G(f_ipv4), 14,
      { DST_U64, SRC_U64, 0x0800, 0, 0, false, false, 14 } },
    { "802.1Q VID 100 PCP 3", G(f_vlan), 18,
      { DST_U64, SRC_U64, 0x0800, 100, 3, true, false, 18 } },
    { "double 0x8100 10/20", G(f_qinq8100), 18,
      { DST_U64, SRC_U64, 0x8100, 10, 0, true, true, 18 } },
    { "0x88a8 outer", G(f_88a8), 14,
      { DST_U64, SRC_U64, 0x88a8, 0, 0, false, false, 14 } },
    { "0x9100 outer", G(f_9100), 14,
      { DST_U64, SRC_U64, 0x9100, 0, 0, false, false, 14 } },
    { "ARP broadcast, padded", G(f_arp), 14,
      { 0xffffffffffffull, SRC_U64, 0x0806, 0, 0, false, false, 14 } },
    { "IPv6 multicast", G(f_ipv6), 14,
      { 0x333300000001ull, SRC_U64, 0x86dd, 0, 0, false, false, 14 } },
    { "priority-tagged IPv6", G(f_prio_ipv6), 18,
      { DST_U64, SRC_U64, 0x86dd, 0, 7, true, false, 18 } },
    { "VID 4095", G(f_vid4095), 18,
      { DST_U64, SRC_U64, 0x0800, 4095, 0, true, false, 18 } },
    { "bare header", G(f_bare), 14,
      { DST_U64, SRC_U64, 0x0800, 0, 0, false, false, 14 } },
    { "bare tagged header", G(f_bare_tag), 18,
      { DST_U64, SRC_U64, 0x0806, 4094, 0, true, false, 18 } },
    { "802.3 length", G(f_8023), 14,
      { DST_U64, SRC_U64, 0x002e, 0, 0, false, false, 14 } },
};

#define N_GOLDENS (sizeof(goldens) / sizeof(goldens[0]))

static bool l2_equal(const struct vsw_l2 *a, const struct vsw_l2 *b)
{
    return a->dst == b->dst && a->src == b->src &&
           a->ethertype == b->ethertype && a->tag_vid == b->tag_vid &&
           a->tag_pcp == b->tag_pcp && a->tagged == b->tagged &&
           a->inner_tagged == b->inner_tagged &&
           a->l3_offset == b->l3_offset;
}

static void check_l2(const char *what, uint32_t cut, const struct vsw_l2 *got,
                     const struct vsw_l2 *want)
{
    if (!l2_equal(got, want))
        fail_msg("%s (len %u): got dst %012llx src %012llx et %04x vid %u "
                 "pcp %u tagged %d inner %d l3 %u; want dst %012llx src "
                 "%012llx et %04x vid %u pcp %u tagged %d inner %d l3 %u",
                 what, cut, (unsigned long long)got->dst,
                 (unsigned long long)got->src, got->ethertype, got->tag_vid,
                 got->tag_pcp, got->tagged, got->inner_tagged, got->l3_offset,
                 (unsigned long long)want->dst,
                 (unsigned long long)want->src, want->ethertype,
                 want->tag_vid, want->tag_pcp, want->tagged,
                 want->inner_tagged, want->l3_offset);
}

/* Parses `len` bytes from an exact-size heap copy, so that ASan flags any
 * read past the end. */
static int parse_exact(const uint8_t *bytes, uint32_t len, struct vsw_l2 *out)
{
    uint8_t *copy = malloc(len ? len : 1);
    uint8_t *p;
    int rc;

    assert_non_null(copy);
    /* len 0: point one past a 1-byte block, so any read is an overrun */
    p = len ? copy : copy + 1;
    if (len)
        memcpy(p, bytes, len);
    rc = vsw_parse_l2(p, len, out);
    free(copy);
    return rc;
}

static void test_golden_frames(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_GOLDENS; i++) {
        const struct golden *g = &goldens[i];
        struct vsw_l2 got = { 0 };

        memset(&got, 0xa5, sizeof(got));
        if (parse_exact(g->bytes, g->len, &got) != 0)
            fail_msg("%s: did not parse", g->name);
        check_l2(g->name, g->len, &got, &g->want);
        assert_true(g->want.l3_offset <= g->len);
        assert_int_equal(g->want.l3_offset, g->hdr_len);
    }
}

/* Every cut 0..len of every golden frame, from an exact-size copy. */
static void test_truncations(void **state)
{
    unsigned cuts = 0;

    (void)state;
    for (size_t i = 0; i < N_GOLDENS; i++) {
        const struct golden *g = &goldens[i];

        for (uint32_t cut = 0; cut <= g->len; cut++) {
            struct vsw_l2 got = { 0 };
            int rc;

            memset(&got, 0xa5, sizeof(got));
            rc = parse_exact(g->bytes, cut, &got);
            cuts++;
            if (cut < g->hdr_len) {
                if (rc != -1)
                    fail_msg("%s cut at %u: rc %d, want -1 (header is %u)",
                             g->name, cut, rc, g->hdr_len);
            } else {
                if (rc != 0)
                    fail_msg("%s cut at %u: rc %d, want 0", g->name, cut, rc);
                check_l2(g->name, cut, &got, &g->want);
            }
        }
    }
    print_message("  %u cuts\n", cuts);
}

/*
 * Overread check that works without a sanitizer: the cut frame sits at the
 * start of a larger buffer whose tail is filled with 0x00 and then with
 * 0xff/0x81 patterns; bytes past `len` must not change the outcome.  The
 * tail patterns include 0x81 0x00 so that a parser peeking past the end
 * for a tag would see one.
 */
static void test_tail_does_not_matter(void **state)
{
    static const uint8_t patterns[][2] = { { 0x00, 0x00 }, { 0xff, 0xff },
                                           { 0x81, 0x00 } };

    (void)state;
    for (size_t i = 0; i < N_GOLDENS; i++) {
        const struct golden *g = &goldens[i];

        for (uint32_t cut = 0; cut <= g->len; cut++) {
            struct vsw_l2 first = { 0 };
            int first_rc = 0;

            for (size_t pi = 0; pi < 3; pi++) {
                uint8_t buf[256];
                struct vsw_l2 got = { 0 };
                int rc;

                for (size_t k = 0; k < sizeof(buf); k += 2) {
                    buf[k] = patterns[pi][0];
                    buf[k + 1] = patterns[pi][1];
                }
                memcpy(buf, g->bytes, cut);
                memset(&got, 0, sizeof(got));
                rc = vsw_parse_l2(buf, cut, &got);
                if (pi == 0) {
                    first = got;
                    first_rc = rc;
                    continue;
                }
                if (rc != first_rc)
                    fail_msg("%s cut %u: result depends on bytes past len",
                             g->name, cut);
                if (rc == 0)
                    check_l2("tail pattern", cut, &got, &first);
            }
        }
    }
}

/*
 * Split-point sweep: a frame whose first segment is [0,k), in an
 * exact-size allocation (ASan sees a read past it).  Only the first
 * segment is handed to the parser (dp.c parses m->data_len: headers must
 * be linear there), so the rest of the frame is not needed here; the
 * documented rule is a runt drop (-1) when the first segment is shorter
 * than the header, the unsplit result otherwise.  k = 1 is the
 * all-1-byte segmentation: always a runt.
 */
static void test_split_points(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_GOLDENS; i++) {
        const struct golden *g = &goldens[i];

        for (uint32_t k = 1; k < g->len; k++) {
            uint8_t *seg0 = malloc(k);
            struct vsw_l2 got = { 0 };
            int rc;

            assert_non_null(seg0);
            memcpy(seg0, g->bytes, k);
            rc = vsw_parse_l2(seg0, k, &got);
            if (k < g->hdr_len) {
                if (rc != -1)
                    fail_msg("%s split at %u: parsed a split header",
                             g->name, k);
            } else {
                assert_int_equal(rc, 0);
                check_l2(g->name, k, &got, &g->want);
                /* the L3 header starts inside the first segment or at
                 * its end, never before the tags it parsed */
                assert_true(got.l3_offset <= k);
            }
            free(seg0);
        }
    }
}

/* ------------------------------------------------------------------ */
/* Differential test against a reference written from the layout       */
/* ------------------------------------------------------------------ */

/* Byte-at-a-time reference: dst[0..5] src[6..11], then either an
 * ethertype at [12..13] or 0x8100 + TCI [14..15] + ethertype [16..17]. */
static int ref_parse(const uint8_t *p, uint32_t len, struct vsw_l2 *out)
{
    uint32_t need = 14;
    uint16_t type;

    if (len >= 14 && p[12] == 0x81 && p[13] == 0x00)
        need = 18;
    if (len < need)
        return -1;
    memset(out, 0, sizeof(*out));
    for (int i = 0; i < 6; i++) {
        out->dst = out->dst * 256 + p[i];
        out->src = out->src * 256 + p[6 + i];
    }
    type = (uint16_t)(p[12] * 256 + p[13]);
    out->l3_offset = 14;
    if (need == 18) {
        out->tagged = true;
        out->tag_pcp = (uint8_t)(p[14] >> 5);
        out->tag_vid = (uint16_t)((p[14] & 0x0f) * 256 + p[15]);
        type = (uint16_t)(p[16] * 256 + p[17]);
        out->inner_tagged = p[16] == 0x81 && p[17] == 0x00;
        out->l3_offset = 18;
    }
    out->ethertype = type;
    return 0;
}

static uint64_t rng_state = 0x243f6a8885a308d3ull;

static uint64_t rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

static void test_differential_random(void **state)
{
    unsigned parsed = 0, tagged = 0, inner = 0;

    (void)state;
    for (int iter = 0; iter < 200000; iter++) {
        uint32_t len = (uint32_t)(rng() % 40);
        uint8_t bytes[40];
        struct vsw_l2 got = { 0 }, want = { 0 };
        int rc, ref_rc;

        for (uint32_t k = 0; k < sizeof(bytes); k++)
            bytes[k] = (uint8_t)rng();
        /* bias towards tags so every branch is exercised */
        switch (rng() % 4) {
        case 0:
            bytes[12] = 0x81, bytes[13] = 0x00;
            break;
        case 1:
            bytes[12] = 0x81, bytes[13] = 0x00;
            bytes[16] = 0x81, bytes[17] = 0x00;
            break;
        case 2:
            bytes[12] = 0x88, bytes[13] = 0xa8;
            break;
        default:
            break;
        }
        memset(&got, 0, sizeof(got));
        rc = parse_exact(bytes, len, &got);
        ref_rc = ref_parse(bytes, len, &want);
        if (rc != ref_rc)
            fail_msg("iteration %d len %u: rc %d, reference %d", iter, len,
                     rc, ref_rc);
        if (rc == 0) {
            check_l2("random", len, &got, &want);
            parsed++;
            tagged += got.tagged;
            inner += got.inner_tagged;
        }
    }
    /* the generator really reached every branch */
    assert_true(parsed > 10000);
    assert_true(tagged > 1000);
    assert_true(inner > 1000);
}

/* Every value of the TCI: VID = low 12 bits, PCP = top 3, DEI ignored. */
static void test_all_tci_values(void **state)
{
    uint8_t f[18] = { MACS, 0x81, 0x00, 0, 0, 0x08, 0x00 };

    (void)state;
    for (unsigned tci = 0; tci <= 0xffff; tci++) {
        struct vsw_l2 got = { 0 };

        f[14] = (uint8_t)(tci >> 8);
        f[15] = (uint8_t)tci;
        assert_int_equal(vsw_parse_l2(f, sizeof(f), &got), 0);
        if (got.tag_vid != (tci & 0xfff) || got.tag_pcp != tci >> 13 ||
            !got.tagged || got.ethertype != 0x0800)
            fail_msg("TCI 0x%04x: vid %u pcp %u", tci, got.tag_vid,
                     got.tag_pcp);
    }
}

/* Lengths far past any real frame are fine (uint32_t, no narrowing). */
static void test_large_len(void **state)
{
    static uint8_t big[70000];
    struct vsw_l2 got = { 0 };
    static const uint32_t lens[] = { 65535, 65536, 65537, 69999, 70000 };

    (void)state;
    memcpy(big, f_vlan, sizeof(f_vlan));
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        assert_int_equal(vsw_parse_l2(big, lens[i], &got), 0);
        check_l2("large", lens[i], &got, &goldens[1].want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_frames),
        cmocka_unit_test(test_truncations),
        cmocka_unit_test(test_tail_does_not_matter),
        cmocka_unit_test(test_split_points),
        cmocka_unit_test(test_differential_random),
        cmocka_unit_test(test_all_tci_values),
        cmocka_unit_test(test_large_len),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
