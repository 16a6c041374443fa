/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_vlan.c — libFuzzer target: a port mode, a VLAN-set string, a frame.
 *
 * Objective (TESTS.md items 13 and 16): whatever the operator configures
 * and whatever arrives on the wire, the VLAN decisions stay consistent with
 * the compiled membership, and the VID-set text form round-trips.
 *
 * Input layout (missing bytes read as 0):
 *   [0]      flags: bit0 trunk, bit1 native VLAN present, bit2
 *            native_tagged, bit3 allowed = every bit (0 and 4095 too),
 *            bit4 raw VIDs (else folded into 1..4094), bit5 raw mode value
 *            from bits 6-7 (exercises unknown modes)
 *   [1..2]   access VID, big endian
 *   [3..4]   native VID, big endian
 *   [5]      allowed: first bitmap byte to write (x 2, so all 512 reach)
 *   [6]      allowed: n, then n bytes copied into the bitmap from there
 *   [..]     string length L (one byte), then L bytes for vlan_set_parse
 *   [rest]   a frame: parsed, then ingress/egress on the compiled port
 *
 * Checks:
 *   - vlan_port_mode_validate agrees with the rules of vlan.h, computed
 *     here independently, and explains every rejection;
 *   - the compiled port over all 4096 VIDs: VID 0 and 4095 never members,
 *     access = exactly its VLAN, trunk = allowed plus native; ingress of
 *     every tag value and egress of every VLAN follow from membership (an
 *     admitted VID is a member; UNTAGGED only for untagged_vid);
 *   - vlan_set_parse agrees with a reference grammar written here, and
 *     parse(format(x)) == x, format is canonical (a fixed point), and
 *     truncated formatting behaves like snprintf;
 *   - the frame: parse, ingress, and egress of an admitted VLAN on a few
 *     fixed ports.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vlan/vlan.h"
#include "vswitch/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                          \
    do {                                                                  \
        if (!(c)) {                                                       \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__,        \
                    __LINE__, #c);                                        \
            abort();                                                      \
        }                                                                 \
    } while (0)

struct reader {
    const uint8_t *p;
    size_t left;
};

static uint8_t rd8(struct reader *r)
{
    if (!r->left)
        return 0;
    r->left--;
    return *r->p++;
}

static uint16_t rd16(struct reader *r)
{
    uint16_t hi = rd8(r);
    return (uint16_t)(hi << 8 | rd8(r));
}

static bool vid_ok(unsigned v)
{
    return v >= 1 && v <= 4094;
}

/* ------------------------------------------------------------------ */
/* Fixed egress ports                                                   */
/* ------------------------------------------------------------------ */

#define N_FIXED 4

static struct vlan_port fixed[N_FIXED];
static bool fixed_ready;

static void setup_fixed(void)
{
    for (int i = 0; i < N_FIXED; i++) {
        struct vlan_port_mode m;

        vlan_port_mode_default(&m);
        if (i == 1)
            m.access_vid = 4094;
        if (i >= 2) {
            m.mode = VLAN_MODE_TRUNK;
            for (unsigned v = (i == 2 ? 1 : 100); v <= (i == 2 ? 4094 : 200);
                 v++)
                vlan_bitmap_set(m.allowed, (uint16_t)v);
            if (i == 3)
                m.native_vid = 150;
        }
        CHECK(vlan_port_mode_validate(&m, NULL) == 0);
        vlan_port_compile(&m, &fixed[i]);
    }
    fixed_ready = true;
}

static void check_egress(const struct vlan_port *p, uint16_t vid)
{
    enum vlan_egress e = vlan_port_egress(p, vid);

    if (!vlan_bitmap_test(p->member, vid))
        CHECK(e == VLAN_EGRESS_SKIP);
    else if (vid == p->untagged_vid)
        CHECK(e == VLAN_EGRESS_UNTAGGED);
    else
        CHECK(e == VLAN_EGRESS_TAGGED);
}

/* ------------------------------------------------------------------ */
/* Port mode                                                            */
/* ------------------------------------------------------------------ */

static void read_mode(struct reader *r, struct vlan_port_mode *m)
{
    uint8_t flags = rd8(r);
    uint16_t access = rd16(r), native = rd16(r);
    size_t at = (size_t)rd8(r) * 2, n = rd8(r);
    uint8_t *bm = (uint8_t *)m->allowed;

    memset(m, 0, sizeof(*m));
    m->mode = (flags & 1) ? VLAN_MODE_TRUNK : VLAN_MODE_ACCESS;
    if (flags & 0x20)
        m->mode = (enum vlan_mode)(flags >> 6);
    if (!(flags & 0x10)) {
        access = (uint16_t)(access % 4094 + 1);
        native = (uint16_t)(native % 4094 + 1);
    }
    m->access_vid = access;
    m->native_vid = (flags & 2) ? native : 0;
    m->native_tagged = (flags & 4) != 0;
    if (flags & 8)
        memset(m->allowed, 0xff, sizeof(m->allowed));
    /* little-endian words: byte b of the bitmap holds VIDs 8b..8b+7 */
    for (size_t i = 0; i < n; i++) {
        uint8_t b = rd8(r);
        if (at + i < sizeof(m->allowed))
            bm[at + i] = b;
    }
}

/* The rules of vlan.h, restated. */
static bool ref_valid(const struct vlan_port_mode *m)
{
    if (m->mode == VLAN_MODE_ACCESS)
        return vid_ok(m->access_vid);
    if (m->mode != VLAN_MODE_TRUNK)
        return false;
    if (m->native_vid && !vid_ok(m->native_vid))
        return false;
    if (vlan_bitmap_test(m->allowed, 0) || vlan_bitmap_test(m->allowed, 4095))
        return false;
    return !(m->native_tagged && !m->native_vid);
}

static void check_port(const struct vlan_port_mode *m,
                       const struct vlan_port *p)
{
    bool access = m->mode == VLAN_MODE_ACCESS;

    if (access) {
        CHECK(p->pvid == m->access_vid);
        CHECK(p->untagged_vid == m->access_vid);
        CHECK(!p->accept_tagged);
    } else {
        CHECK(p->pvid == m->native_vid);
        CHECK(p->untagged_vid == (m->native_tagged ? 0 : m->native_vid));
        CHECK(p->accept_tagged);
    }
    for (unsigned v = 0; v < 4096; v++) {
        bool member = vlan_bitmap_test(p->member, (uint16_t)v);
        bool want;
        enum vlan_verdict verdict;
        uint16_t vid = 0;

        if (access)
            want = v == m->access_vid;
        else
            want = vid_ok(v) && (vlan_bitmap_test(m->allowed, (uint16_t)v) ||
                                 v == m->native_vid);
        CHECK(member == want);
        CHECK(!member || vid_ok(v));

        /* ingress of a frame tagged with v */
        verdict = vlan_port_ingress(p, true, (uint16_t)v, false, &vid);
        if (v == 0) {
            CHECK(verdict == (p->pvid ? VLAN_ADMIT : VLAN_DROP_UNTAGGED));
        } else if (v == 4095) {
            CHECK(verdict == VLAN_DROP_RESERVED);
        } else if (!p->accept_tagged) {
            CHECK(verdict == VLAN_DROP_TAGGED);
        } else {
            CHECK(verdict == (member ? VLAN_ADMIT : VLAN_DROP_NOT_MEMBER));
        }
        if (verdict == VLAN_ADMIT) {
            CHECK(vid_ok(vid));
            CHECK(vlan_bitmap_test(p->member, vid));
            CHECK(vid == (v ? v : p->pvid));
        }

        /* egress of VLAN v */
        check_egress(p, (uint16_t)v);
        if (vlan_port_egress(p, (uint16_t)v) == VLAN_EGRESS_UNTAGGED)
            CHECK(v == p->untagged_vid);
    }
    /* the untagged VLAN, if any, is carried */
    if (p->untagged_vid)
        CHECK(vlan_bitmap_test(p->member, p->untagged_vid));
    if (p->pvid)
        CHECK(vlan_bitmap_test(p->member, p->pvid));
}

/* ------------------------------------------------------------------ */
/* VLAN set text                                                        */
/* ------------------------------------------------------------------ */

/* Reference grammar: elem (',' elem)*, elem = num | num '-' num, num =
 * one or more decimal digits with a value in 1..4094, lo <= hi. */
static int ref_num(const char **pp, unsigned long *out)
{
    const char *p = *pp;
    unsigned long v = 0;

    if (*p < '0' || *p > '9')
        return -1;
    while (*p >= '0' && *p <= '9') {
        if (v < 1000000)
            v = v * 10 + (unsigned long)(*p - '0');
        p++;
    }
    *pp = p;
    *out = v;
    return 0;
}

static int ref_set_parse(const char *s, uint64_t bm[VLAN_BITMAP_WORDS])
{
    const char *p = s;

    memset(bm, 0, VLAN_BITMAP_WORDS * sizeof(uint64_t));
    if (!*p)
        return -1;
    for (;;) {
        unsigned long lo, hi;

        if (ref_num(&p, &lo))
            return -1;
        hi = lo;
        if (*p == '-') {
            p++;
            if (ref_num(&p, &hi))
                return -1;
        }
        if (!vid_ok((unsigned)(lo > 5000 ? 5000 : lo)) ||
            !vid_ok((unsigned)(hi > 5000 ? 5000 : hi)) || hi < lo)
            return -1;
        for (unsigned long v = lo; v <= hi; v++)
            vlan_bitmap_set(bm, (uint16_t)v);
        if (!*p)
            return 0;
        if (*p != ',')
            return -1;
        p++;
    }
}

static void check_set_string(const char *s, uint8_t trunc)
{
    static char text[16384], text2[16384];
    uint64_t bm[VLAN_BITMAP_WORDS], ref[VLAN_BITMAP_WORDS];
    uint64_t back[VLAN_BITMAP_WORDS];
    struct vsa_errmsg em;
    size_t n, n2;
    int rc;

    memset(bm, 0x5a, sizeof(bm));
    memset(&em, 0, sizeof(em));
    rc = vlan_set_parse(s, bm, &em);
    CHECK(rc == 0 || rc == -EINVAL);
    CHECK((rc == 0) == (ref_set_parse(s, ref) == 0));
    if (rc != 0) {
        CHECK(em.msg[0] != '\0');
        CHECK(strnlen(em.msg, sizeof(em.msg)) < sizeof(em.msg));
        for (int i = 0; i < VLAN_BITMAP_WORDS; i++)
            CHECK(bm[i] == 0x5a5a5a5a5a5a5a5aull);
        return;
    }
    CHECK(memcmp(bm, ref, sizeof(bm)) == 0);
    CHECK(!vlan_bitmap_test(bm, 0) && !vlan_bitmap_test(bm, 4095));

    n = vlan_set_format(bm, text, sizeof(text));
    CHECK(n > 0 && n < sizeof(text) && n == strlen(text));
    CHECK(vlan_set_parse(text, back, NULL) == 0);
    CHECK(memcmp(back, bm, sizeof(bm)) == 0);
    n2 = vlan_set_format(back, text2, sizeof(text2));
    CHECK(n2 == n && strcmp(text, text2) == 0);

    /* truncated into an exact-size heap buffer */
    {
        size_t size = (size_t)trunc % (n + 2);
        char *buf = malloc(size ? size : 1);

        CHECK(buf != NULL);
        CHECK(vlan_set_format(bm, size ? buf : NULL, size) == n);
        if (size) {
            size_t keep = size - 1 < n ? size - 1 : n;
            CHECK(strlen(buf) == keep && memcmp(buf, text, keep) == 0);
        }
        free(buf);
    }
}

/* ------------------------------------------------------------------ */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct reader r = { data, size };
    struct vlan_port_mode m;
    struct vlan_port port;
    struct vsa_errmsg em;
    struct vsw_l2 l2;
    char set_text[256];
    size_t set_len;
    uint8_t trunc;
    int rc;

    if (!fixed_ready)
        setup_fixed();

    read_mode(&r, &m);
    memset(&em, 0, sizeof(em));
    rc = vlan_port_mode_validate(&m, &em);
    CHECK(rc == (ref_valid(&m) ? 0 : -EINVAL));
    CHECK(vlan_port_mode_validate(&m, NULL) == rc);
    if (rc != 0) {
        CHECK(em.msg[0] != '\0');
        vlan_port_mode_default(&m);      /* carry on with a valid port */
    }
    vlan_port_compile(&m, &port);
    check_port(&m, &port);
    CHECK(strcmp(vlan_mode_name(m.mode), "?") != 0);

    set_len = rd8(&r);
    trunc = rd8(&r);
    for (size_t i = 0; i < set_len; i++)
        set_text[i] = (char)rd8(&r);
    set_text[set_len] = '\0';
    check_set_string(set_text, trunc);

    /* the rest is a frame */
    if (vsw_parse_l2(r.p, (uint32_t)(r.left > UINT32_MAX ? UINT32_MAX
                                                         : r.left),
                     &l2) == 0) {
        uint16_t vid = 0;
        enum vlan_verdict v =
            vlan_port_ingress(&port, l2.tagged, l2.tag_vid, l2.inner_tagged,
                              &vid);

        CHECK(strcmp(vlan_verdict_name(v), "?") != 0);
        if (v == VLAN_ADMIT) {
            CHECK(vid_ok(vid));
            CHECK(vlan_bitmap_test(port.member, vid));
            CHECK(vlan_port_egress(&port, vid) != VLAN_EGRESS_SKIP);
            for (int i = 0; i < N_FIXED; i++)
                check_egress(&fixed[i], vid);
        } else if (v == VLAN_DROP_RESERVED) {
            CHECK(l2.tagged && l2.tag_vid == 4095);
        }
    }
    return 0;
}
