/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vsa_time.h — the time source, injectable for tests (like OVS time/warp).
 *
 * Every timer-driven behaviour (FDB aging, sweeps, later NAT timeouts and
 * keepalives) reads time through vsa_time_now_ms() so that unit tests can
 * replace the clock with vsa_time_set_source() and advance it at will.
 *
 * Thread-safety: vsa_time_now_ms() may be called from any thread.  The source
 * is a process-wide function pointer; set it only before threads start (or in
 * single-threaded tests).
 */
#ifndef VSA_TIME_H
#define VSA_TIME_H

#include <stdint.h>

typedef uint64_t vsa_time_source_fn(void);

/* Monotonic milliseconds from the current source (CLOCK_MONOTONIC by default). */
uint64_t vsa_time_now_ms(void);

/* Replaces the source; NULL restores the monotonic clock. */
void vsa_time_set_source(vsa_time_source_fn *fn);

/* A manual clock for tests: vsa_time_set_source(vsa_time_manual) then
 * vsa_time_manual_set()/vsa_time_manual_advance(). */
uint64_t vsa_time_manual(void);
void vsa_time_manual_set(uint64_t ms);
void vsa_time_manual_advance(uint64_t ms);

#endif /* VSA_TIME_H */
