/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vsa_shm.h — copies out of and into memory that another party may be
 * writing at the same moment: a guest's rings, GPADL pages and RAM.
 *
 * The host never trusts guest memory in place: it copies a message out
 * once, then validates the copy, then uses it (TESTS.md A.3).  A plain
 * memcpy is not enough for the "once": the guest can write while we copy,
 * and to C11 that is a data race, so the compiler may assume the bytes
 * do not change and read them again (e.g. re-load a length it had already
 * checked).  These copies load each byte exactly once, with relaxed atomic
 * loads, and store with relaxed atomic stores; torn values are possible
 * (the guest's problem, caught by validation), double fetches are not.
 * ThreadSanitizer sees atomics and reports nothing for a racing guest
 * thread that uses them too (tests/unit/hv/test_ring_doublefetch.c).
 *
 * Cost: the bulk goes in naturally aligned 8-byte words, each a plain mov
 * on x86-64; about one word per cycle, against memcpy's 32-byte vectors.
 * These copies are on the guest-channel paths, never in the switch's
 * per-frame loop.
 *
 * Thread-safety: any thread; the private side (dst of a read, src of a
 * write) must not be shared.
 */
#ifndef VSA_SHM_H
#define VSA_SHM_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Copies n bytes of shared memory at `shared` into private `dst`. */
static inline void vsa_shm_read(void *dst, const void *shared, size_t n)
{
    uint8_t *d = dst;
    const uint8_t *s = shared;

    for (; n && ((uintptr_t)s & 7); n--)
        *d++ = __atomic_load_n(s++, __ATOMIC_RELAXED);
    for (; n >= 8; n -= 8, s += 8, d += 8) {
        uint64_t w = __atomic_load_n((const uint64_t *)(const void *)s,
                                     __ATOMIC_RELAXED);
        memcpy(d, &w, sizeof(w));
    }
    for (; n; n--)
        *d++ = __atomic_load_n(s++, __ATOMIC_RELAXED);
}

/* Copies n bytes of private `src` into shared memory at `shared`. */
static inline void vsa_shm_write(void *shared, const void *src, size_t n)
{
    uint8_t *d = shared;
    const uint8_t *s = src;

    for (; n && ((uintptr_t)d & 7); n--)
        __atomic_store_n(d++, *s++, __ATOMIC_RELAXED);
    for (; n >= 8; n -= 8, s += 8, d += 8) {
        uint64_t w;

        memcpy(&w, s, sizeof(w));
        __atomic_store_n((uint64_t *)(void *)d, w, __ATOMIC_RELAXED);
    }
    for (; n; n--)
        __atomic_store_n(d++, *s++, __ATOMIC_RELAXED);
}

/* Asks for the cache lines of [shared, shared + n) ahead of a read.
 * Memory the other party wrote last sits in its CPU's cache; a copy that
 * walks it waits for each line in turn, while prefetches issued for a
 * whole batch first overlap those transfers.  A hint: no fault, no
 * effect on correctness. */
static inline void vsa_shm_prefetch(const void *shared, size_t n)
{
    const char *p = shared;

    for (size_t i = 0; i < n; i += 64)
        __builtin_prefetch(p + i, 0, 3);
}

/* The same ahead of a write: the lines come exclusive (x86 PREFETCHW,
 * which the baseline x86-64 target does not let the compiler emit), so
 * the stores need no second round trip to invalidate the other CPU's
 * copy. */
static inline void vsa_shm_prefetch_write(void *shared, size_t n)
{
    char *p = shared;

    for (size_t i = 0; i < n; i += 64) {
#if defined(__x86_64__)
        __asm__ volatile("prefetchw %0" : : "m"(p[i]));
#else
        __builtin_prefetch(p + i, 1, 3);
#endif
    }
}

#endif /* VSA_SHM_H */
