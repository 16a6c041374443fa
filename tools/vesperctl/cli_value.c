/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cli_value.c — checks of single argument values (numbers, VLANs, names,
 * addresses).  Pure functions over C strings; no allocation.
 */
#include "tools/vesperctl/cli.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <string.h>

#include "common/vsa_addr.h"

/* Values are quoted in messages cut at this many bytes. */
#define QUOTE_MAX 64

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) ||
           c == '_' || c == '.' || c == '-';
}

int ctl_cli_parse_uint(const char *s, uint64_t min, uint64_t max,
                       uint64_t *out, struct vsa_errmsg *em)
{
    uint64_t v = 0;
    bool overflow = false;

    if (!s || !*s)
        return vsa_errmsg_set(em, -EINVAL, "'' is not a number");
    /* A negative number is a number, only not one allowed here. */
    if (s[0] == '-' && s[1] && strspn(s + 1, "0123456789") == strlen(s + 1))
        return vsa_errmsg_set(em, -ERANGE,
                              "%.*s is out of range (%" PRIu64 "..%" PRIu64 ")",
                              QUOTE_MAX, s, min, max);
    for (const char *p = s; *p; p++) {
        if (!is_digit(*p))
            return vsa_errmsg_set(em, -EINVAL, "'%.*s' is not a number",
                                  QUOTE_MAX, s);
        uint64_t d = (uint64_t)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            overflow = true;
        else
            v = v * 10 + d;
    }
    if (overflow || v < min || v > max)
        return vsa_errmsg_set(em, -ERANGE,
                              "%.*s is out of range (%" PRIu64 "..%" PRIu64 ")",
                              QUOTE_MAX, s, min, max);
    if (out)
        *out = v;
    return 0;
}

int ctl_cli_parse_vid(const char *s, uint16_t *out, struct vsa_errmsg *em)
{
    uint64_t v;
    int rc = ctl_cli_parse_uint(s, CTL_CLI_VID_MIN, CTL_CLI_VID_MAX, &v, NULL);

    if (rc == -EINVAL)
        return vsa_errmsg_set(em, rc, "'%.*s' is not a VLAN ID (1..4094)",
                              QUOTE_MAX, s ? s : "");
    if (rc < 0)
        return vsa_errmsg_set(em, rc, "VLAN %.*s is out of range (1..4094)",
                              QUOTE_MAX, s);
    if (out)
        *out = (uint16_t)v;
    return 0;
}

/* Reads one VLAN ID at *p and advances past it.  Returns 0 or -EINVAL. */
static int vlan_set_number(const char **p, const char *set, uint32_t *out,
                           struct vsa_errmsg *em)
{
    const char *start = *p;
    uint32_t v = 0;

    while (is_digit(**p)) {
        if (v <= CTL_CLI_VID_MAX) /* saturate: any larger value is bad */
            v = v * 10 + (uint32_t)(**p - '0');
        (*p)++;
    }
    if (*p == start)
        return vsa_errmsg_set(em, -EINVAL,
                              "'%.*s' is not a VLAN set (e.g. 1-10,20)",
                              QUOTE_MAX, set);
    if (v < CTL_CLI_VID_MIN || v > CTL_CLI_VID_MAX)
        return vsa_errmsg_set(em, -EINVAL,
                              "VLAN %.*s in '%.*s' is out of range (1..4094)",
                              (int)(*p - start > QUOTE_MAX ? QUOTE_MAX
                                                           : *p - start),
                              start, QUOTE_MAX, set);
    *out = v;
    return 0;
}

int ctl_cli_check_vlan_set(const char *s, struct vsa_errmsg *em)
{
    const char *p = s;

    if (!s || !*s)
        return vsa_errmsg_set(em, -EINVAL, "empty VLAN set");
    if (strlen(s) > CTL_CLI_VLAN_SET_MAX)
        return vsa_errmsg_set(em, -EINVAL,
                              "VLAN set is longer than %d bytes",
                              CTL_CLI_VLAN_SET_MAX);
    for (;;) {
        uint32_t lo, hi;
        int rc = vlan_set_number(&p, s, &lo, em);
        if (rc < 0)
            return rc;
        hi = lo;
        if (*p == '-') {
            p++;
            rc = vlan_set_number(&p, s, &hi, em);
            if (rc < 0)
                return rc;
            if (lo > hi)
                return vsa_errmsg_set(em, -EINVAL,
                                      "range %" PRIu32 "-%" PRIu32
                                      " in '%.*s' is reversed",
                                      lo, hi, QUOTE_MAX, s);
        }
        if (*p == '\0')
            return 0;
        if (*p != ',')
            return vsa_errmsg_set(em, -EINVAL,
                                  "'%.*s' is not a VLAN set (e.g. 1-10,20)",
                                  QUOTE_MAX, s);
        p++;
    }
}

int ctl_cli_check_name(const char *s, size_t max_len, struct vsa_errmsg *em)
{
    size_t n = 0;

    if (s)
        while (s[n] && is_name_char(s[n]) && n <= max_len)
            n++;
    if (!s || n == 0 || n > max_len || s[n] != '\0')
        return vsa_errmsg_set(em, -EINVAL,
                              "'%.*s' is not a valid name "
                              "(1..%zu characters of A-Z a-z 0-9 _ . -)",
                              QUOTE_MAX, s ? s : "", max_len);
    return 0;
}

int ctl_cli_check_ifname(const char *s, struct vsa_errmsg *em)
{
    size_t n = 0;

    if (s)
        while (s[n] > ' ' && s[n] < 0x7f && s[n] != '/' && s[n] != ':' &&
               n <= CTL_CLI_IFNAME_MAX)
            n++;
    if (!s || n == 0 || n > CTL_CLI_IFNAME_MAX || s[n] != '\0' ||
        !strcmp(s, ".") || !strcmp(s, ".."))
        return vsa_errmsg_set(em, -EINVAL,
                              "'%.*s' is not a valid interface name "
                              "(1..%d characters, no '/', ':' or space)",
                              QUOTE_MAX, s ? s : "", CTL_CLI_IFNAME_MAX);
    return 0;
}

int ctl_cli_check_cidr(const char *s, struct vsa_errmsg *em)
{
    char addr[INET6_ADDRSTRLEN + 1];
    const char *slash = s ? strrchr(s, '/') : NULL;
    unsigned char bin[sizeof(struct in6_addr)];
    const char *why;
    uint64_t plen;
    size_t alen;
    int family;

    if (!slash || slash == s)
        goto bad;
    alen = (size_t)(slash - s);
    if (alen >= sizeof(addr))
        goto bad;
    memcpy(addr, s, alen);
    addr[alen] = '\0';
    if (inet_pton(AF_INET, addr, bin) == 1)
        family = AF_INET;
    else if (inet_pton(AF_INET6, addr, bin) == 1)
        family = AF_INET6;
    else
        goto bad;
    /* at most 3 digits, as vesperd's check (ctl_config.c cidr_parse) */
    if (strlen(slash + 1) > 3 ||
        ctl_cli_parse_uint(slash + 1, 0, family == AF_INET ? 32 : 128, &plen,
                           NULL) < 0)
        return vsa_errmsg_set(em, -EINVAL,
                              "'%.*s': prefix length must be 0..%d",
                              QUOTE_MAX, s, family == AF_INET ? 32 : 128);
    why = vsa_addr_unusable(family, bin, (unsigned)plen);
    if (why)
        return vsa_errmsg_set(em, -EINVAL, "'%.*s' is %s; a host vNIC takes "
                              "unicast IPv4 and global IPv6 addresses",
                              QUOTE_MAX, s, why);
    return 0;
bad:
    return vsa_errmsg_set(em, -EINVAL,
                          "'%.*s' is not an address/prefix "
                          "(e.g. 192.168.1.1/24 or fd00::1/64)",
                          QUOTE_MAX, s ? s : "");
}

bool ctl_cli_utf8_ok(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    while (*p) {
        uint32_t cp;
        int extra;

        if (*p < 0x80) {
            p++;
            continue;
        } else if ((*p & 0xe0) == 0xc0) {
            cp = *p & 0x1fu;
            extra = 1;
        } else if ((*p & 0xf0) == 0xe0) {
            cp = *p & 0x0fu;
            extra = 2;
        } else if ((*p & 0xf8) == 0xf0) {
            cp = *p & 0x07u;
            extra = 3;
        } else {
            return false;
        }
        p++;
        for (int i = 0; i < extra; i++, p++) {
            if ((*p & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (*p & 0x3fu);
        }
        /* Overlong forms, surrogates and values past U+10FFFF. */
        if ((extra == 1 && cp < 0x80) || (extra == 2 && cp < 0x800) ||
            (extra == 3 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return false;
    }
    return true;
}
