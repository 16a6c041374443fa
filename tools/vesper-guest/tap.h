/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tap.h — the guest's network interface (prefix vg_tap_): a Linux TAP
 * device that real programs use, and the network namespace it lives in.
 *
 * Owns: entering the namespace (/var/run/netns/NS, setns; the whole agent
 * then lives there), creating the TAP (IFF_TAP | IFF_NO_PI, non-blocking),
 * giving it the NIC's MAC (SIOCSIFHWADDR on the TAP fd itself, with a
 * down/up around it if the kernel refuses a live change) and MTU
 * (SIOCSIFMTU), bringing it up, and following the NIC's link with the TAP
 * carrier (TUNSETCARRIER; when the kernel lacks it the carrier simply
 * stays on and that is remembered).  If someone moves the TAP to another
 * namespace, MAC and carrier still follow the NIC (they go through the
 * fd); MTU and up/down are then left to whoever moved it.
 *
 * An injected fd (vg_tap_inject) replaces the device: frames are read
 * from and written to it as they would be to the TAP (one frame per
 * read/write, e.g. one end of a SOCK_SEQPACKET socketpair), and the
 * configuration calls only record what they would have set.  That is how
 * the unit tests run without root networking.
 *
 * Thread-safety: one thread.
 */
#ifndef VG_TAP_H
#define VG_TAP_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/vsa_mac.h"

struct vg_tap {
    int fd;
    char name[IF_NAMESIZE];
    bool injected;
    bool carrier_unsupported;
    bool moved; /* no longer in our namespace (someone moved it) */
    /* last applied (or, for an injected fd, requested) settings */
    bool configured;
    struct vsa_mac mac;
    uint32_t mtu;
    bool carrier;
};

/* Moves the calling thread into network namespace `ns`.  0 or -errno. */
int vg_netns_enter(const char *ns);

/* Creates TAP `name` in the current namespace, link down, carrier off.
 * 0 or -errno (-EPERM without CAP_NET_ADMIN, -EBUSY name in use). */
int vg_tap_create(struct vg_tap *t, const char *name);
/* Uses `fd` (made non-blocking) instead of a TAP device; it is closed by
 * vg_tap_close. */
void vg_tap_inject(struct vg_tap *t, int fd, const char *name);
/* MAC and MTU, then up.  Skips what is already in place.  0 or -errno. */
int vg_tap_configure(struct vg_tap *t, const struct vsa_mac *mac,
                     uint32_t mtu);
/* Carrier on/off.  0, or -errno (unsupported kernels return 0). */
int vg_tap_set_carrier(struct vg_tap *t, bool on);
void vg_tap_close(struct vg_tap *t);

#endif /* VG_TAP_H */
