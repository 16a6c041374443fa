/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tsc_hz — the TSC's rate, measured: TSC ticks over about 0.5 s of
 * CLOCK_MONOTONIC_RAW (the way DPDK's EAL estimates it when the CPU does
 * not state it).  Prints the rate in MHz with three decimals.
 *
 * tests/bench/run.sh uses it for cycles/packet (TSC Hz ÷ rate) when the
 * kernel's boot log no longer holds the rate it calibrated (the ring
 * buffer is overwritten on a busy machine).  Each end of the interval
 * is the tightest of 64 rdtsc/clock_gettime/rdtsc brackets, so a
 * preemption between the two reads does not skew it.
 */
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <x86intrin.h>

static void sample(uint64_t *tsc, uint64_t *ns)
{
    uint64_t best = UINT64_MAX;

    for (int i = 0; i < 64; i++) {
        struct timespec ts;
        uint64_t t0 = __rdtsc();

        clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
        uint64_t t1 = __rdtsc();
        if (t1 - t0 < best) {
            best = t1 - t0;
            *tsc = t0 + (t1 - t0) / 2;
            *ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
        }
    }
}

int main(void)
{
    struct timespec half = { 0, 500000000 };
    uint64_t ta, na, tb, nb;

    sample(&ta, &na);
    nanosleep(&half, NULL);
    sample(&tb, &nb);
    if (nb <= na || tb <= ta) {
        fprintf(stderr, "tsc_hz: the TSC or the clock did not advance\n");
        return 1;
    }
    printf("%.3f\n", (double)(tb - ta) * 1000.0 / (double)(nb - na));
    return 0;
}
