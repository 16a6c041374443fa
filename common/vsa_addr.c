/* SPDX-License-Identifier: BSD-3-Clause */
#include "common/vsa_addr.h"

#include <string.h>
#include <sys/socket.h>

static const char *ipv4_unusable(const uint8_t *a)
{
    if (a[0] == 0)
        return "in 0.0.0.0/8 (this network)";
    if (a[0] == 127)
        return "a loopback address";
    if (a[0] >= 224 && a[0] <= 239)
        return "a multicast address";
    if (a[0] >= 240)
        return "in 240.0.0.0/4 (reserved, or the broadcast address)";
    return NULL;
}

static const char *ipv6_unusable(const uint8_t *a)
{
    static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                        0xff, 0xff };
    static const uint8_t zero[15];

    if (memcmp(a, zero, 15) == 0 && (a[15] == 0 || a[15] == 1))
        return a[15] ? "the loopback address" : "the unspecified address";
    if (memcmp(a, mapped, sizeof(mapped)) == 0)
        return "an IPv4-mapped address";
    if (a[0] == 0xff)
        return "a multicast address";
    if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
        return "a link-local address (the kernel gives the interface its "
               "own)";
    if (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0)
        return "a site-local address (deprecated)";
    return NULL;
}

const char *vsa_addr_unusable(int family, const uint8_t *addr,
                              unsigned prefix)
{
    if (family != AF_INET && family != AF_INET6)
        return "not IPv4 or IPv6";
    if (prefix == 0)
        return "on a /0 prefix (every destination)";
    return family == AF_INET ? ipv4_unusable(addr) : ipv6_unusable(addr);
}
