/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hv_test_util.h — helpers shared by the hv/ unit tests: a bounds-checking
 * ring accessor over a plain buffer (fails the test on any access outside
 * the control page or the data area) with per-field load counters.
 */
#ifndef HV_TEST_UTIL_H
#define HV_TEST_UTIL_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/vsa_shm.h"
#include "hv/hv_ring.h"

/* The counters are bumped by the racing "guest" thread too
 * (test_ring_doublefetch.c), hence relaxed atomics. */
static inline void tr_count(unsigned *c)
{
    __atomic_fetch_add(c, 1, __ATOMIC_RELAXED);
}

struct tring {
    uint8_t *mem;   /* control page + dsize */
    uint32_t dsize;
    unsigned loads[HV_RING_CTL_SIZE / 4]; /* per control field */
    unsigned stores[HV_RING_CTL_SIZE / 4];
    unsigned oob;  /* out-of-range accesses seen (must stay 0) */
    uint8_t *seen; /* per data byte: reads in the current operation */
    unsigned double_reads;
};

static inline uint32_t tr_ctl_load(void *ctx, uint32_t off)
{
    struct tring *t = ctx;
    if (off >= HV_RING_CTL_SIZE || (off & 3)) {
        tr_count(&t->oob);
        return 0;
    }
    tr_count(&t->loads[off / 4]);
    return __atomic_load_n((uint32_t *)(void *)(t->mem + off),
                           __ATOMIC_RELAXED);
}

static inline void tr_ctl_store(void *ctx, uint32_t off, uint32_t v)
{
    struct tring *t = ctx;
    if (off >= HV_RING_CTL_SIZE || (off & 3)) {
        tr_count(&t->oob);
        return;
    }
    tr_count(&t->stores[off / 4]);
    __atomic_store_n((uint32_t *)(void *)(t->mem + off), v, __ATOMIC_RELAXED);
}

static inline void tr_data_read(void *ctx, uint32_t off, void *dst,
                                uint32_t size)
{
    struct tring *t = ctx;
    if (off >= t->dsize || size > t->dsize - off) {
        tr_count(&t->oob);
        memset(dst, 0, size);
        return;
    }
    if (t->seen)
        for (uint32_t i = 0; i < size; i++)
            if (t->seen[off + i]++)
                t->double_reads++;
    vsa_shm_read(dst, t->mem + HV_RING_CTL_SIZE + off, size);
}

static inline void tr_data_write(void *ctx, uint32_t off, const void *src,
                                 uint32_t size)
{
    struct tring *t = ctx;
    if (off >= t->dsize || size > t->dsize - off) {
        tr_count(&t->oob);
        return;
    }
    vsa_shm_write(t->mem + HV_RING_CTL_SIZE + off, src, size);
}

static const struct hv_ring_ops tring_ops = {
    .ctl_load = tr_ctl_load,
    .ctl_store = tr_ctl_store,
    .data_read = tr_data_read,
    .data_write = tr_data_write,
};

static inline void tring_init(struct tring *t, uint32_t dsize)
{
    memset(t, 0, sizeof(*t));
    t->dsize = dsize;
    /* aligned_alloc needs a size that is a multiple of the alignment */
    t->mem = aligned_alloc(4096, (HV_RING_CTL_SIZE + (size_t)dsize + 8191) &
                                     ~(size_t)4095);
    memset(t->mem, 0, HV_RING_CTL_SIZE + (size_t)dsize);
}

static inline void tring_reset_counts(struct tring *t)
{
    memset(t->loads, 0, sizeof(t->loads));
    memset(t->stores, 0, sizeof(t->stores));
    if (t->seen)
        memset(t->seen, 0, t->dsize);
}

static inline void tring_free(struct tring *t)
{
    free(t->mem);
    free(t->seen);
    t->mem = NULL;
    t->seen = NULL;
}

static inline void ctl_set(uint8_t *mem, uint32_t off, uint32_t v)
{
    memcpy(mem + off, &v, 4);
}

static inline uint32_t ctl_get(const uint8_t *mem, uint32_t off)
{
    uint32_t v;
    memcpy(&v, mem + off, 4);
    return v;
}

/* Writes raw bytes into the data area at `pos` with wrap. */
static inline void data_put(uint8_t *mem, uint32_t dsize, uint32_t pos,
                            const void *src, uint32_t n)
{
    const uint8_t *s = src;
    for (uint32_t i = 0; i < n; i++)
        mem[HV_RING_CTL_SIZE + (pos + i) % dsize] = s[i];
}

#define VSA_TEST_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif /* HV_TEST_UTIL_H */
