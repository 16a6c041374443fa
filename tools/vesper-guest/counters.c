/* SPDX-License-Identifier: BSD-3-Clause */
#include "tools/vesper-guest/counters.h"

static const char *const names[] = {
#define N_(n, h) #n,
    VG_COUNTERS_FOREACH(N_)
#undef N_
};

static const char *const helps[] = {
#define H_(n, h) h,
    VG_COUNTERS_FOREACH(H_)
#undef H_
};

const char *vg_counters_name(unsigned id)
{
    return id < VG_COUNTERS_N ? names[id] : NULL;
}

const char *vg_counters_help(unsigned id)
{
    return id < VG_COUNTERS_N ? helps[id] : NULL;
}

uint64_t vg_counters_get(const struct vg_counters *c, unsigned id)
{
    const uint64_t *f = (const uint64_t *)(const void *)c;

    if (!c || id >= VG_COUNTERS_N)
        return 0;
    return __atomic_load_n(&f[id], __ATOMIC_RELAXED);
}

void vg_counters_print(const struct vg_counters *c, FILE *f,
                       const char *prefix, int all)
{
    for (unsigned i = 0; i < VG_COUNTERS_N; i++) {
        uint64_t v = vg_counters_get(c, i);

        if (v || all)
            fprintf(f, "  %s%s %llu\n", prefix ? prefix : "", names[i],
                    (unsigned long long)v);
    }
}
