/* SPDX-License-Identifier: BSD-3-Clause */
#include "common/vsa_time.h"

#include <stdatomic.h>
#include <time.h>

static uint64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static vsa_time_source_fn *source = monotonic_ms;
static _Atomic uint64_t manual_ms;

uint64_t vsa_time_now_ms(void)
{
    return source();
}

void vsa_time_set_source(vsa_time_source_fn *fn)
{
    source = fn ? fn : monotonic_ms;
}

uint64_t vsa_time_manual(void)
{
    return atomic_load_explicit(&manual_ms, memory_order_relaxed);
}

void vsa_time_manual_set(uint64_t ms)
{
    atomic_store_explicit(&manual_ms, ms, memory_order_relaxed);
}

void vsa_time_manual_advance(uint64_t ms)
{
    atomic_fetch_add_explicit(&manual_ms, ms, memory_order_relaxed);
}
