/* SPDX-License-Identifier: BSD-3-Clause */
#include "tools/vesper-guest/tap.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/if_arp.h>
#include <linux/if_tun.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/vsa_log.h"

VSA_LOG_MODULE(vg_tap);

#define NETNS_DIR "/var/run/netns/"

#ifndef TUNSETCARRIER
#define TUNSETCARRIER _IOW('T', 226, int)
#endif

int vg_netns_enter(const char *ns)
{
    char path[sizeof(NETNS_DIR) + NAME_MAX];
    int fd, rc = 0;

    if (!ns || !*ns || strchr(ns, '/') ||
        snprintf(path, sizeof(path), NETNS_DIR "%s", ns) >= (int)sizeof(path))
        return -EINVAL;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (setns(fd, CLONE_NEWNET) < 0)
        rc = -errno;
    close(fd);
    return rc;
}

int vg_tap_create(struct vg_tap *t, const char *name)
{
    struct ifreq ifr;
    int fd, off = 0, rc;

    memset(t, 0, sizeof(*t));
    t->fd = -1;
    if (strlen(name) >= IF_NAMESIZE)
        return -ENAMETOOLONG;
    fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    memcpy(ifr.ifr_name, name, strlen(name));
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        rc = -errno;
        close(fd);
        return rc;
    }
    t->fd = fd;
    memcpy(t->name, ifr.ifr_name, IF_NAMESIZE - 1);
    /* No NIC behind it yet: carrier off until the handshake is done. */
    if (ioctl(fd, TUNSETCARRIER, &off) < 0) {
        t->carrier_unsupported = true;
        VSA_LOG(INFO, "%s: TUNSETCARRIER unsupported (%s); carrier stays on",
                t->name, strerror(errno));
    }
    return 0;
}

void vg_tap_inject(struct vg_tap *t, int fd, const char *name)
{
    int fl = fcntl(fd, F_GETFL);

    memset(t, 0, sizeof(*t));
    if (fl >= 0)
        (void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    t->fd = fd;
    t->injected = true;
    snprintf(t->name, sizeof(t->name), "%s", name ? name : "inj");
}

static int if_ioctl(int s, unsigned long req, struct ifreq *ifr)
{
    return ioctl(s, req, ifr) < 0 ? -errno : 0;
}

static int set_up(int s, const char *name, bool up)
{
    struct ifreq ifr;
    int rc;

    memset(&ifr, 0, sizeof(ifr));
    memcpy(ifr.ifr_name, name, strlen(name));
    rc = if_ioctl(s, SIOCGIFFLAGS, &ifr);
    if (rc)
        return rc;
    if (!!(ifr.ifr_flags & IFF_UP) == up)
        return 0;
    if (up)
        ifr.ifr_flags |= IFF_UP;
    else
        ifr.ifr_flags &= ~IFF_UP;
    return if_ioctl(s, SIOCSIFFLAGS, &ifr);
}

/* Through the TAP's own fd (the tun driver takes SIOC[GS]IFHWADDR there):
 * that works even if someone moved the interface to another namespace. */
static int set_mac(int tfd, int s, const char *name,
                   const struct vsa_mac *mac)
{
    struct ifreq ifr;
    int rc;

    memset(&ifr, 0, sizeof(ifr));
    memcpy(ifr.ifr_name, name, strlen(name));
    rc = if_ioctl(tfd, SIOCGIFHWADDR, &ifr);
    if (rc == 0 && memcmp(ifr.ifr_hwaddr.sa_data, mac->b, 6) == 0)
        return 0;
    ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
    memcpy(ifr.ifr_hwaddr.sa_data, mac->b, 6);
    rc = if_ioctl(tfd, SIOCSIFHWADDR, &ifr);
    if (rc == -EBUSY) { /* no live MAC change: down, set, up */
        rc = set_up(s, name, false);
        if (!rc)
            rc = if_ioctl(tfd, SIOCSIFHWADDR, &ifr);
    }
    return rc;
}

static int set_mtu(int s, const char *name, uint32_t mtu)
{
    struct ifreq ifr;
    int rc;

    memset(&ifr, 0, sizeof(ifr));
    memcpy(ifr.ifr_name, name, strlen(name));
    rc = if_ioctl(s, SIOCGIFMTU, &ifr);
    if (rc == 0 && (uint32_t)ifr.ifr_mtu == mtu)
        return 0;
    ifr.ifr_mtu = (int)mtu;
    return if_ioctl(s, SIOCSIFMTU, &ifr);
}

int vg_tap_configure(struct vg_tap *t, const struct vsa_mac *mac,
                     uint32_t mtu)
{
    char buf[VSA_MAC_STRLEN];
    int s, rc;

    if (!t->injected) {
        s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (s < 0)
            return -errno;
        rc = set_mac(t->fd, s, t->name, mac);
        if (!rc)
            rc = set_mtu(s, t->name, mtu);
        if (!rc)
            rc = set_up(s, t->name, true);
        close(s);
        if (rc == -ENODEV && !t->moved) {
            /* Moved to another namespace by its owner, who now also owns
             * its MTU and up/down state. */
            VSA_LOG(INFO, "%s: not in our namespace any more; MAC set, MTU "
                    "and up/down left to its owner", t->name);
            t->moved = true;
        }
        if (rc && rc != -ENODEV) {
            VSA_LOG(WARN, "%s: cannot set MAC %s / MTU %u / up: %s", t->name,
                    vsa_mac_format(mac, buf), mtu, strerror(-rc));
            return rc;
        }
    }
    if (!t->configured || memcmp(&t->mac, mac, sizeof(*mac)) ||
        t->mtu != mtu)
        VSA_LOG(INFO, "%s: MAC %s MTU %u", t->name, vsa_mac_format(mac, buf),
                mtu);
    t->mac = *mac;
    t->mtu = mtu;
    t->configured = true;
    return 0;
}

int vg_tap_set_carrier(struct vg_tap *t, bool on)
{
    int v = on ? 1 : 0;

    if (t->carrier == on)
        return 0;
    t->carrier = on;
    if (t->injected || t->carrier_unsupported)
        return 0;
    if (ioctl(t->fd, TUNSETCARRIER, &v) < 0) {
        if (errno == EINVAL || errno == ENOTTY) {
            t->carrier_unsupported = true;
            return 0;
        }
        return -errno;
    }
    return 0;
}

void vg_tap_close(struct vg_tap *t)
{
    if (t->fd >= 0)
        close(t->fd);
    t->fd = -1;
}
