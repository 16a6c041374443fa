/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vsa_addr.h — which IP addresses an interface of ours may be given.
 *
 * A host vNIC's configured addresses are the IPv4 and global IPv6
 * addresses of its TAP: the ones vesperd adds, keeps and removes
 * (vswitch/hostif.c replaces exactly that set).  Any other kind is
 * refused where it enters, in the configuration (tools/ctl/ctl_config.c)
 * and in vesperctl's argument check, with the same words:
 *   - IPv4 0.0.0.0/8 (this network), 127/8 (loopback), 224/4 (multicast),
 *     240/4 (reserved, with the broadcast 255.255.255.255);
 *   - IPv6 :: (unspecified), ::1 (loopback), ::ffff:0:0/96 (IPv4-mapped),
 *     fe80::/10 (link-local: the kernel gives the TAP its own), fec0::/10
 *     (site-local, deprecated), ff00::/8 (multicast);
 *   - a prefix length of 0 (the address would claim every destination).
 * The kernel refuses some of these and silently keeps others it never
 * lets vesperd replace; both break the all-or-nothing change.
 */
#ifndef VSA_ADDR_H
#define VSA_ADDR_H

#include <stdint.h>

/* The least MTU a link with IPv6 has (RFC 8200 §5); below it the kernel
 * takes the interface's IPv6 addresses away. */
#define VSA_IPV6_MIN_MTU 1280

/* NULL if the address (family AF_INET: 4 bytes, AF_INET6: 16, network
 * order) with that prefix length may be configured, else why not, to
 * follow "<address> is " ("a multicast address", ...). */
const char *vsa_addr_unusable(int family, const uint8_t *addr,
                              unsigned prefix);

#endif /* VSA_ADDR_H */
