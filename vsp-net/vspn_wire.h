/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vspn_wire.h — private little-endian load/store helpers of vsp-net/.
 * Every NVSP and RNDIS field is little-endian (spec nvsp-rndis.md, top);
 * these work at any alignment and on any host byte order.  vsp-net
 * internal only: not part of the public API.
 */
#ifndef VSPN_WIRE_H
#define VSPN_WIRE_H

#include <stdint.h>

static inline uint16_t vspn__le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t vspn__le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static inline uint64_t vspn__le64(const uint8_t *p)
{
    return (uint64_t)vspn__le32(p) | ((uint64_t)vspn__le32(p + 4) << 32);
}

static inline void vspn__put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void vspn__put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static inline void vspn__put64(uint8_t *p, uint64_t v)
{
    vspn__put32(p, (uint32_t)v);
    vspn__put32(p + 4, (uint32_t)(v >> 32));
}

#endif /* VSPN_WIRE_H */
