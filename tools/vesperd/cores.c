/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cores.c — vesperd's --cores argument (see cores.h).
 */
#include "tools/vesperd/cores.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The CPUs of `set` as a list with ranges ("0-1,4"). */
static void set_to_list(const cpu_set_t *set, char *buf, size_t len)
{
    size_t used = 0;

    buf[0] = '\0';
    for (int c = 0; c < CPU_SETSIZE && used + 1 < len; c++) {
        int last = c;
        int n;

        if (!CPU_ISSET(c, set))
            continue;
        while (last + 1 < CPU_SETSIZE && CPU_ISSET(last + 1, set))
            last++;
        n = last > c ? snprintf(buf + used, len - used, "%s%d-%d",
                                used ? "," : "", c, last)
                     : snprintf(buf + used, len - used, "%s%d",
                                used ? "," : "", c);
        if (n < 0 || (size_t)n >= len - used)
            break;
        used += (size_t)n;
        c = last;
    }
}

/* One decimal CPU number at *p; advances *p.  -1 if there is none or it is
 * not below CPU_SETSIZE. */
static long cpu_number(const char **p)
{
    char *end;
    long v;

    if (**p < '0' || **p > '9')
        return -1;
    errno = 0;
    v = strtol(*p, &end, 10);
    if (errno || v >= CPU_SETSIZE)
        return -1;
    *p = end;
    return v;
}

static int fault(char *err, size_t errlen, const char *list, const char *fmt,
                 long a, long b)
{
    char what[160];

    snprintf(what, sizeof(what), fmt, a, b);
    snprintf(err, errlen, "--cores %s: %s", list, what);
    return -EINVAL;
}

int vd_cores_parse(const char *list, const cpu_set_t *allowed,
                   struct vd_cores *out, char *err, size_t errlen)
{
    const char *p = list;
    cpu_set_t seen;
    size_t used = 0;

    memset(out, 0, sizeof(*out));
    CPU_ZERO(&seen);
    if (*p == '\0')
        return fault(err, errlen, "''", "empty (e.g. 0,1: control core 0, "
                     "datapath core 1)", 0, 0);
    for (;;) {
        long lo = cpu_number(&p), hi;

        if (lo < 0)
            return fault(err, errlen, list, "not a list of CPU numbers "
                         "(e.g. 0,1 or 0,2-3)", 0, 0);
        hi = lo;
        if (*p == '-') {
            p++;
            hi = cpu_number(&p);
            if (hi < 0)
                return fault(err, errlen, list, "not a list of CPU numbers "
                             "(e.g. 0,1 or 0,2-3)", 0, 0);
            if (hi < lo)
                return fault(err, errlen, list, "range %ld-%ld is reversed",
                             lo, hi);
        }
        for (long c = lo; c <= hi; c++) {
            if (!CPU_ISSET((int)c, allowed)) {
                char cpus[128];
                char what[200];

                set_to_list(allowed, cpus, sizeof(cpus));
                snprintf(what, sizeof(what), "CPU %ld is not available "
                         "(vesperd may use CPUs %s)", c, cpus);
                snprintf(err, errlen, "--cores %s: %s", list, what);
                return -EINVAL;
            }
            if (CPU_ISSET((int)c, &seen))
                return fault(err, errlen, list, "CPU %ld is named twice",
                             c, 0);
            if (out->n == VD_CORES_MAX_DP + 1)
                return fault(err, errlen, list, "more than %ld CPUs (one "
                             "control core and at most %ld datapath cores)",
                             (long)VD_CORES_MAX_DP + 1, (long)VD_CORES_MAX_DP);
            CPU_SET((int)c, &seen);
            out->cpu[out->n++] = (unsigned)c;
            used += (size_t)snprintf(out->eal_list + used,
                                     sizeof(out->eal_list) - used, "%s%ld",
                                     used ? "," : "", c);
        }
        if (*p == '\0')
            break;
        if (*p != ',')
            return fault(err, errlen, list, "not a list of CPU numbers "
                         "(e.g. 0,1 or 0,2-3)", 0, 0);
        p++;
    }
    if (out->n < 2)
        return fault(err, errlen, list, "needs a control core and at least "
                     "one datapath core (e.g. 0,1)", 0, 0);
    return 0;
}
