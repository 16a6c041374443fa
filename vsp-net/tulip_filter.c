/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tulip_filter.c — the 21140A address filter (§5): setup frames in the
 * four FT1:FT0 modes (perfect 16 addresses, hash with one perfect
 * address, inverse, hash-only), the 512-bit hash table indexed by the low
 * nine bits of the Ethernet CRC of the destination, and the receive
 * decision with CSR6 PR/PM/RA.
 *
 * The 21140 broadcast erratum (§5, §12): broadcast is not accepted by
 * itself; it passes only when the table holds ff:ff:ff:ff:ff:ff (perfect
 * modes) or hash bit 255 is set, or PM/PR/RA let everything of its kind
 * through.  Until the first setup frame the table is empty and only
 * PR/PM/RA pass frames.
 */
#include "vsp-net/tulip_private.h"

#include <string.h>

/* CRC-32 (reflected polynomial 0xEDB88320), four bits at a time. */
static const uint32_t crc_nibble[16] = {
    0x00000000u, 0x1db71064u, 0x3b6e20c8u, 0x26d930acu,
    0x76dc4190u, 0x6b6b51f4u, 0x4db26158u, 0x5005713cu,
    0xedb88320u, 0xf00f9344u, 0xd6d6a3e8u, 0xcb61b38cu,
    0x9b64c2b0u, 0x86d3d2d4u, 0xa00ae278u, 0xbdbdf21cu,
};

uint32_t vspn__tulip_crc32(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;

    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        c = (c >> 4) ^ crc_nibble[c & 15u];
        c = (c >> 4) ^ crc_nibble[c & 15u];
    }
    return ~c;
}

unsigned vspn__tulip_hash_index(const uint8_t *dst)
{
    return (unsigned)(~vspn__tulip_crc32(dst, 6) & (VSPN_TULIP_HASH_BITS - 1u));
}

void vspn__tulip_filter_reset(struct vspn_tulip *t)
{
    t->filter_valid = false;
    t->filter_mode = VSPN_TULIP_FILTER_PERFECT;
    memset(t->perfect, 0, sizeof(t->perfect));
    memset(t->hash, 0, sizeof(t->hash));
    t->csr[6] &= ~(VSPN_TULIP_CSR6_HP | VSPN_TULIP_CSR6_HO |
                   VSPN_TULIP_CSR6_IF);
}

/* One address in the setup-frame layout: low 16 bits of three
 * consecutive longwords, little-endian (upper halves ignored). */
static void setup_addr(const uint8_t *buf, unsigned at, uint8_t *out)
{
    out[0] = buf[at];
    out[1] = buf[at + 1];
    out[2] = buf[at + 4];
    out[3] = buf[at + 5];
    out[4] = buf[at + 8];
    out[5] = buf[at + 9];
}

void vspn__tulip_setup_frame(struct vspn_tulip *t, const uint8_t *buf,
                             unsigned mode)
{
    uint32_t bits = 0;

    memset(t->perfect, 0, sizeof(t->perfect));
    memset(t->hash, 0, sizeof(t->hash));
    t->filter_mode = (uint8_t)(mode & 3u);
    switch (t->filter_mode) {
    case VSPN_TULIP_FILTER_PERFECT:
    case VSPN_TULIP_FILTER_INVERSE:
        for (unsigned n = 0; n < VSPN_TULIP_PERFECT_LEN; n++)
            setup_addr(buf, 12u * n, t->perfect[n]);
        if (t->filter_mode == VSPN_TULIP_FILTER_INVERSE)
            bits = VSPN_TULIP_CSR6_IF;
        break;
    default:
        /* Hash table: bit i in longword i >> 4, bit i & 15 of its low
         * half, i.e. byte i >> 3 of the packed low halves. */
        for (unsigned lw = 0; lw < VSPN_TULIP_HASH_BITS / 16u; lw++) {
            t->hash[2 * lw] = buf[4 * lw];
            t->hash[2 * lw + 1] = buf[4 * lw + 1];
        }
        if (t->filter_mode == VSPN_TULIP_FILTER_HASH) {
            setup_addr(buf, 156, t->perfect[0]); /* longwords 39-41 */
            bits = VSPN_TULIP_CSR6_HP;
        } else {
            bits = VSPN_TULIP_CSR6_HP | VSPN_TULIP_CSR6_HO;
        }
        break;
    }
    t->csr[6] = (t->csr[6] & ~(VSPN_TULIP_CSR6_HP | VSPN_TULIP_CSR6_HO |
                               VSPN_TULIP_CSR6_IF)) | bits;
    t->filter_valid = true;
}

static bool in_perfect(const struct vspn_tulip *t, const uint8_t *dst,
                       unsigned len)
{
    for (unsigned n = 0; n < len; n++)
        if (memcmp(t->perfect[n], dst, 6) == 0)
            return true;
    return false;
}

static bool in_hash(const struct vspn_tulip *t, const uint8_t *dst)
{
    unsigned i = vspn__tulip_hash_index(dst);

    return (((unsigned)t->hash[i >> 3] >> (i & 7u)) & 1u) != 0;
}

bool vspn__tulip_filter_match(const struct vspn_tulip *t, const uint8_t *dst)
{
    if (!t->filter_valid)
        return false;
    switch (t->filter_mode) {
    case VSPN_TULIP_FILTER_PERFECT:
        return in_perfect(t, dst, VSPN_TULIP_PERFECT_LEN);
    case VSPN_TULIP_FILTER_INVERSE:
        return !in_perfect(t, dst, VSPN_TULIP_PERFECT_LEN);
    case VSPN_TULIP_FILTER_HASH:
        /* multicast through the table, unicast against one address */
        return (dst[0] & 1u) ? in_hash(t, dst) : in_perfect(t, dst, 1);
    default:
        return in_hash(t, dst);
    }
}

bool vspn_tulip_filter_pass(const struct vspn_tulip *t, const uint8_t *dst)
{
    uint32_t csr6 = t->csr[6];

    if (csr6 & (VSPN_TULIP_CSR6_PR | VSPN_TULIP_CSR6_RA))
        return true;
    if ((csr6 & VSPN_TULIP_CSR6_PM) && (dst[0] & 1u))
        return true;
    return vspn__tulip_filter_match(t, dst);
}
