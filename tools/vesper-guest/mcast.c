/* SPDX-License-Identifier: BSD-3-Clause */
#include "tools/vesper-guest/mcast.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define PROC_MAX (256u * 1024u) /* bytes of the proc file we look at */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* One line; true when it names `ifname` with a 6-byte address. */
static bool parse_line(const char *line, size_t len, const char *ifname,
                       struct vsa_mac *m)
{
    char buf[160], name[IF_NAMESIZE + 1], addr[64];
    unsigned idx, users, gusers;

    if (len >= sizeof(buf))
        return false;
    memcpy(buf, line, len);
    buf[len] = '\0';
    if (sscanf(buf, "%u %16s %u %u %63s", &idx, name, &users, &gusers,
               addr) != 5)
        return false;
    if (strcmp(name, ifname) != 0 || strlen(addr) != 12)
        return false;
    for (unsigned i = 0; i < 6; i++) {
        int hi = hexval(addr[2 * i]), lo = hexval(addr[2 * i + 1]);

        if (hi < 0 || lo < 0)
            return false;
        m->b[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

unsigned vg_mcast_parse(const char *text, const char *ifname,
                        struct vg_tulip_rx_mode *out)
{
    const char *p = text;

    out->nmc = 0;
    while (p && *p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        struct vsa_mac m;
        bool dup = false;

        if (parse_line(p, len, ifname, &m) && vsa_mac_is_multicast(&m)) {
            uint32_t n = out->nmc < VG_TULIP_MC_MAX ? out->nmc
                                                    : VG_TULIP_MC_MAX;

            for (uint32_t i = 0; i < n && !dup; i++)
                dup = memcmp(&out->mc[i], &m, sizeof(m)) == 0;
            if (!dup) {
                if (out->nmc < VG_TULIP_MC_MAX)
                    out->mc[out->nmc] = m;
                out->nmc++;
            }
        }
        p = nl ? nl + 1 : NULL;
    }
    return out->nmc;
}

static int read_flags(const char *ifname, short *flags)
{
    struct ifreq ifr;
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc = 0;

    if (s < 0)
        return -errno;
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
    if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
        rc = -errno;
    else
        *flags = ifr.ifr_flags;
    close(s);
    return rc;
}

int vg_mcast_read(const char *ifname, struct vg_tulip_rx_mode *out)
{
    char *text;
    size_t used = 0;
    short flags = 0;
    int fd, rc;

    rc = read_flags(ifname, &flags);
    if (rc)
        return rc;
    fd = open(VG_MCAST_PROC, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    text = malloc(PROC_MAX + 1);
    if (!text) {
        close(fd);
        return -ENOMEM;
    }
    for (;;) { /* proc files come in pieces */
        ssize_t n = read(fd, text + used, PROC_MAX - used);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = -errno;
            break;
        }
        if (n == 0 || (used += (size_t)n) == PROC_MAX)
            break;
    }
    close(fd);
    if (rc == 0) {
        text[used] = '\0';
        (void)vg_mcast_parse(text, ifname, out);
        out->promisc = (flags & IFF_PROMISC) != 0;
        out->allmulti = (flags & IFF_ALLMULTI) != 0;
    }
    free(text);
    return rc;
}
