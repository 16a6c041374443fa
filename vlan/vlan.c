/* SPDX-License-Identifier: BSD-3-Clause */
#include "vlan/vlan.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void vlan_port_mode_default(struct vlan_port_mode *m)
{
    memset(m, 0, sizeof(*m));
    m->mode = VLAN_MODE_ACCESS;
    m->access_vid = VLAN_DEFAULT_VID;
}

static bool vid_valid(unsigned v)
{
    return v >= VLAN_VID_MIN && v <= VLAN_VID_MAX;
}

int vlan_port_mode_validate(const struct vlan_port_mode *m,
                            struct vsa_errmsg *em)
{
    switch (m->mode) {
    case VLAN_MODE_ACCESS:
        if (!vid_valid(m->access_vid))
            return vsa_errmsg_set(em, -EINVAL,
                                  "access VLAN %u is outside 1..4094",
                                  m->access_vid);
        return 0;
    case VLAN_MODE_TRUNK:
        if (m->native_vid != 0 && !vid_valid(m->native_vid))
            return vsa_errmsg_set(em, -EINVAL,
                                  "native VLAN %u is outside 1..4094",
                                  m->native_vid);
        if (vlan_bitmap_test(m->allowed, 0) ||
            vlan_bitmap_test(m->allowed, VLAN_VID_RESERVED))
            return vsa_errmsg_set(em, -EINVAL,
                                  "trunk allowed set contains VLAN 0 or 4095");
        if (m->native_tagged && m->native_vid == 0)
            return vsa_errmsg_set(em, -EINVAL,
                                  "native_tagged needs a native VLAN");
        return 0;
    }
    return vsa_errmsg_set(em, -EINVAL, "unknown VLAN mode %d", (int)m->mode);
}

void vlan_port_compile(const struct vlan_port_mode *m, struct vlan_port *out)
{
    memset(out, 0, sizeof(*out));
    if (m->mode == VLAN_MODE_ACCESS) {
        vlan_bitmap_set(out->member, m->access_vid);
        out->pvid = m->access_vid;
        out->untagged_vid = m->access_vid;
        out->accept_tagged = false;
        return;
    }
    memcpy(out->member, m->allowed, sizeof(out->member));
    out->member[0] &= ~1ull;                       /* never VID 0 */
    out->member[63] &= ~(1ull << 63);              /* never VID 4095 */
    if (m->native_vid) {
        vlan_bitmap_set(out->member, m->native_vid);
        out->pvid = m->native_vid;
        out->untagged_vid = m->native_tagged ? 0 : m->native_vid;
    }
    out->accept_tagged = true;
}

/* `s` as a message quotes it: whole up to `max` bytes, else cut there
 * with "...", so that what the message says after the quote is never
 * lost to the message's size (a set can be kilobytes long). */
static const char *quote_cut(const char *s, size_t max, char *buf,
                             size_t size)
{
    if (strlen(s) <= max)
        return s;
    snprintf(buf, size, "%.*s...", (int)max, s);
    return buf;
}

#define SET_QUOTE_MAX 64 /* bytes of the set a message quotes */
#define AT_QUOTE_MAX 16  /* ... and of the place where it went wrong */

int vlan_set_parse(const char *s, uint64_t bitmap[VLAN_BITMAP_WORDS],
                   struct vsa_errmsg *em)
{
    uint64_t bm[VLAN_BITMAP_WORDS] = { 0 };
    const char *p = s;
    char qs[SET_QUOTE_MAX + 4], qp[AT_QUOTE_MAX + 4];

    if (!s || !*s)
        return vsa_errmsg_set(em, -EINVAL, "empty VLAN set");
    while (*p) {
        char *end;
        unsigned long lo, hi;

        if (*p < '0' || *p > '9')
            return vsa_errmsg_set(
                em, -EINVAL, "bad VLAN set '%s' at '%s'",
                quote_cut(s, SET_QUOTE_MAX, qs, sizeof(qs)),
                quote_cut(p, AT_QUOTE_MAX, qp, sizeof(qp)));
        lo = strtoul(p, &end, 10);
        hi = lo;
        p = end;
        if (*p == '-') {
            p++;
            if (*p < '0' || *p > '9')
                return vsa_errmsg_set(
                    em, -EINVAL, "bad VLAN range at '%s' in '%s'",
                    quote_cut(p - 1, AT_QUOTE_MAX, qp, sizeof(qp)),
                    quote_cut(s, SET_QUOTE_MAX, qs, sizeof(qs)));
            hi = strtoul(p, &end, 10);
            p = end;
        }
        if (!vid_valid((unsigned)(lo > 65535 ? 65535 : lo)) ||
            !vid_valid((unsigned)(hi > 65535 ? 65535 : hi)) || hi < lo)
            return vsa_errmsg_set(em, -EINVAL,
                                  "VLAN set '%s': %lu-%lu is not a range "
                                  "inside 1..4094",
                                  quote_cut(s, SET_QUOTE_MAX, qs, sizeof(qs)),
                                  lo, hi);
        for (unsigned long v = lo; v <= hi; v++)
            vlan_bitmap_set(bm, (uint16_t)v);
        if (*p == ',') {
            p++;
            if (!*p)
                return vsa_errmsg_set(
                    em, -EINVAL, "VLAN set '%s' ends with ','",
                    quote_cut(s, SET_QUOTE_MAX, qs, sizeof(qs)));
        } else if (*p) {
            return vsa_errmsg_set(
                em, -EINVAL, "bad VLAN set '%s' at '%s'",
                quote_cut(s, SET_QUOTE_MAX, qs, sizeof(qs)),
                quote_cut(p, AT_QUOTE_MAX, qp, sizeof(qp)));
        }
    }
    memcpy(bitmap, bm, sizeof(bm));
    return 0;
}

size_t vlan_set_format(const uint64_t bitmap[VLAN_BITMAP_WORDS], char *buf,
                       size_t size)
{
    size_t len = 0;
    unsigned v = 0;

    if (size)
        buf[0] = '\0';
    while (v < 4096) {
        unsigned start;
        int n;

        if (!vlan_bitmap_test(bitmap, (uint16_t)v)) {
            v++;
            continue;
        }
        start = v;
        while (v + 1 < 4096 && vlan_bitmap_test(bitmap, (uint16_t)(v + 1)))
            v++;
        if (start == v)
            n = snprintf(len < size ? buf + len : NULL,
                         len < size ? size - len : 0, "%s%u",
                         len ? "," : "", start);
        else
            n = snprintf(len < size ? buf + len : NULL,
                         len < size ? size - len : 0, "%s%u-%u",
                         len ? "," : "", start, v);
        len += (size_t)n;
        v++;
    }
    return len;
}

const char *vlan_mode_name(enum vlan_mode m)
{
    return m == VLAN_MODE_TRUNK ? "trunk" : "access";
}

const char *vlan_verdict_name(enum vlan_verdict v)
{
    switch (v) {
    case VLAN_ADMIT: return "admit";
    case VLAN_DROP_UNTAGGED: return "vlan_untagged";
    case VLAN_DROP_TAGGED: return "vlan_tagged_on_access";
    case VLAN_DROP_NOT_MEMBER: return "vlan_not_allowed";
    case VLAN_DROP_RESERVED: return "vlan_reserved";
    }
    return "?";
}
