/* SPDX-License-Identifier: BSD-3-Clause */
#include "hv/hv_stats.h"

static const char *const stat_names[] = {
#define HV_STATS_NAME_(n, h) #n,
    HV_STATS_FOREACH(HV_STATS_NAME_)
#undef HV_STATS_NAME_
};

static const char *const stat_help[] = {
#define HV_STATS_HELP_(n, h) h,
    HV_STATS_FOREACH(HV_STATS_HELP_)
#undef HV_STATS_HELP_
};

const char *hv_stats_name(unsigned id)
{
    return id < HV_STATS_N ? stat_names[id] : NULL;
}

const char *hv_stats_help(unsigned id)
{
    return id < HV_STATS_N ? stat_help[id] : NULL;
}

uint64_t hv_stats_get(const struct hv_stats *s, unsigned id)
{
    const uint64_t *v = (const uint64_t *)(const void *)s;

    if (!s || id >= HV_STATS_N)
        return 0;
    return __atomic_load_n(&v[id], __ATOMIC_RELAXED);
}

void hv_stats_add(struct hv_stats *dst, const struct hv_stats *src)
{
    uint64_t *d = (uint64_t *)(void *)dst;

    for (unsigned i = 0; i < HV_STATS_N; i++)
        d[i] += hv_stats_get(src, i);
}
