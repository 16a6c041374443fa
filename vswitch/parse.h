/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * parse.h — Ethernet / 802.1Q header parse over a byte buffer.
 *
 * The pipeline parses each frame once (DESIGN §3 step 1) into a small
 * `struct vsw_l2` and every later stage reads that.  The parser works on a
 * plain (pointer, length) pair so it is unit-tested and fuzzed without
 * DPDK; the pipeline passes the first segment of the mbuf, and frames whose
 * L2 header is not linear in the first segment are dropped as runts.
 *
 * Only TPID 0x8100 counts as a VLAN tag (see vlan/vlan.h); an inner tag of a
 * double-tagged frame is reported through `inner_tagged` but stays payload.
 *
 * Thread-safety: pure function.
 */
#ifndef VSW_PARSE_H
#define VSW_PARSE_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define VSW_ETH_HLEN 14
#define VSW_VLAN_HLEN 4
#define VSW_ETHERTYPE_VLAN 0x8100

struct vsw_l2 {
    uint64_t dst;          /* destination MAC, low 48 bits (see vsa_mac.h) */
    uint64_t src;          /* source MAC */
    uint16_t ethertype;    /* after the outer 802.1Q tag, if any */
    uint16_t tag_vid;      /* 0..4095, valid if tagged */
    uint8_t tag_pcp;       /* priority of the outer tag */
    bool tagged;           /* outer TPID 0x8100 present */
    bool inner_tagged;     /* a second 0x8100 tag follows */
    uint16_t l3_offset;    /* bytes from the frame start to the L3 header */
};

static inline uint64_t vsw_load_mac(const uint8_t *p)
{
    return ((uint64_t)p[0] << 40) | ((uint64_t)p[1] << 32) |
           ((uint64_t)p[2] << 24) | ((uint64_t)p[3] << 16) |
           ((uint64_t)p[4] << 8) | (uint64_t)p[5];
}

/* The MAC at p, reading 8 bytes (p[6], p[7] are ignored): one load and a
 * byte swap.  Only for MACs inside a checked 14-byte Ethernet header, where
 * both the destination (bytes 0..7) and the source (bytes 6..13) have 8
 * readable bytes.  A whole-word load also avoids the store-forwarding stall
 * of assembling 6 bytes through memory. */
static inline uint64_t vsw__load_mac_in_hdr(const uint8_t *p)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    return __builtin_bswap64(v) >> 16;
#else
    return vsw_load_mac(p);
#endif
}

/* Parses the L2 header.  Returns 0, or -1 when the frame is too short for
 * the headers it announces (a runt). */
static inline int vsw_parse_l2(const uint8_t *p, uint32_t len,
                               struct vsw_l2 *out)
{
    uint16_t et;

    if (len < VSW_ETH_HLEN)
        return -1;
    out->dst = vsw__load_mac_in_hdr(p);
    out->src = vsw__load_mac_in_hdr(p + 6);
    et = (uint16_t)(p[12] << 8 | p[13]);
    out->tagged = false;
    out->inner_tagged = false;
    out->tag_vid = 0;
    out->tag_pcp = 0;
    out->l3_offset = VSW_ETH_HLEN;
    if (et == VSW_ETHERTYPE_VLAN) {
        uint16_t tci;

        if (len < VSW_ETH_HLEN + VSW_VLAN_HLEN)
            return -1;
        tci = (uint16_t)(p[14] << 8 | p[15]);
        out->tagged = true;
        out->tag_vid = tci & 0x0fff;
        out->tag_pcp = (uint8_t)(tci >> 13);
        et = (uint16_t)(p[16] << 8 | p[17]);
        out->l3_offset = VSW_ETH_HLEN + VSW_VLAN_HLEN;
        out->inner_tagged = et == VSW_ETHERTYPE_VLAN;
    }
    out->ethertype = et;
    return 0;
}

#endif /* VSW_PARSE_H */
