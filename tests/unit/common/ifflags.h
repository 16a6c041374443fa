/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ifflags.h — reads and changes a kernel interface's flags (SIOCGIFFLAGS /
 * SIOCSIFFLAGS) for unit tests that run as root in their own network
 * namespace; a failed call fails the test.  Static functions: include once
 * per test program.
 *
 *     ifflags_change("veth0", IFF_UP, 0);       up
 *     ifflags_change("veth0", 0, IFF_UP);       down
 *     assert_true(ifflags_get("veth0") & IFF_PROMISC);
 */
#ifndef TESTS_IFFLAGS_H
#define TESTS_IFFLAGS_H

#include <net/if.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

static inline int ifflags__req(const char *name, struct ifreq *ifr)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    assert_true(fd >= 0);
    memset(ifr, 0, sizeof(*ifr));
    snprintf(ifr->ifr_name, sizeof(ifr->ifr_name), "%s", name);
    assert_int_equal(ioctl(fd, SIOCGIFFLAGS, ifr), 0);
    return fd;
}

static inline short ifflags_get(const char *name)
{
    struct ifreq ifr;

    close(ifflags__req(name, &ifr));
    return ifr.ifr_flags;
}

/* Sets the flags in `set`, then clears those in `clear`. */
static inline void ifflags_change(const char *name, short set, short clear)
{
    struct ifreq ifr;
    int fd = ifflags__req(name, &ifr);

    ifr.ifr_flags = (short)((ifr.ifr_flags | set) & ~clear);
    assert_int_equal(ioctl(fd, SIOCSIFFLAGS, &ifr), 0);
    close(fd);
}

#endif
