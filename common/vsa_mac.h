/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vsa_mac.h — Ethernet MAC address value type, parsing and formatting.
 */
#ifndef VSA_MAC_H
#define VSA_MAC_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

struct vsa_mac {
    uint8_t b[6];
};

#define VSA_MAC_STRLEN 18 /* "xx:xx:xx:xx:xx:xx" + NUL */

/* Parses "xx:xx:xx:xx:xx:xx" or "xx-xx-xx-xx-xx-xx" (one separator
 * throughout, hex digits in either case).  Returns 0 or -EINVAL. */
int vsa_mac_parse(const char *s, struct vsa_mac *out);

/* Formats into buf (at least VSA_MAC_STRLEN bytes); returns buf. */
char *vsa_mac_format(const struct vsa_mac *m, char *buf);

static inline bool vsa_mac_is_multicast(const struct vsa_mac *m)
{
    return (m->b[0] & 1) != 0;
}

static inline bool vsa_mac_is_zero(const struct vsa_mac *m)
{
    static const uint8_t z[6];
    return memcmp(m->b, z, 6) == 0;
}

/* Packs a MAC into the low 48 bits of a u64 (network byte order, b[0]
 * most significant), the form the FDB keys use. */
static inline uint64_t vsa_mac_to_u64(const struct vsa_mac *m)
{
    return ((uint64_t)m->b[0] << 40) | ((uint64_t)m->b[1] << 32) |
           ((uint64_t)m->b[2] << 24) | ((uint64_t)m->b[3] << 16) |
           ((uint64_t)m->b[4] << 8) | (uint64_t)m->b[5];
}

static inline struct vsa_mac vsa_mac_from_u64(uint64_t v)
{
    struct vsa_mac m;
    for (int i = 5; i >= 0; i--) {
        m.b[i] = (uint8_t)(v & 0xff);
        v >>= 8;
    }
    return m;
}

#endif /* VSA_MAC_H */
