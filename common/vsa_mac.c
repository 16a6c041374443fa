/* SPDX-License-Identifier: BSD-3-Clause */
#include "common/vsa_mac.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

int vsa_mac_parse(const char *s, struct vsa_mac *out)
{
    struct vsa_mac m;
    char sep = 0; /* the first separator; the others must match it */

    if (!s)
        return -EINVAL;
    for (int i = 0; i < 6; i++) {
        int hi = hexval(s[0]);
        int lo = hi < 0 ? -1 : hexval(s[1]);
        if (hi < 0 || lo < 0)
            return -EINVAL;
        m.b[i] = (uint8_t)(hi << 4 | lo);
        s += 2;
        if (i < 5) {
            if (*s != ':' && *s != '-')
                return -EINVAL;
            if (sep == 0)
                sep = *s;
            else if (*s != sep)
                return -EINVAL;
            s++;
        }
    }
    if (*s != '\0')
        return -EINVAL;
    *out = m;
    return 0;
}

char *vsa_mac_format(const struct vsa_mac *m, char *buf)
{
    snprintf(buf, VSA_MAC_STRLEN, "%02x:%02x:%02x:%02x:%02x:%02x",
             m->b[0], m->b[1], m->b[2], m->b[3], m->b[4], m->b[5]);
    return buf;
}
