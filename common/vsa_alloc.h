/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vsa_alloc.h — the allocation hook of the switch's control paths: failure
 * injection and live counts for the allocation-failure sweep (TESTS.md #29,
 * STYLE 3.8; libuv's loop_init_oom, SQLite's OOM tests).
 *
 * Design
 * ------
 * Every place where a control operation of vswitch/ (switch creation,
 * commits, FDB creation, port open, capture start, the libnl host glue),
 * of vesperd's configuration apply (tools/vesperd/apply.c) and of the VM
 * side (the partitions and NIC glue of tools/vesperd/vm.c, synth.c,
 * legacy.c; hv/'s partitions, VMBus channels, GPADLs, rings and guest
 * memory; vsp-net/'s VSP, 21140 model and port classes) obtains a
 * resource is an *injection point*: a heap allocation (malloc, calloc,
 * strdup, aligned_alloc here; rte_zmalloc, rte_ring_create,
 * rte_pktmbuf_pool_create in vswitch/vsw_alloc.h), or a library call that
 * allocates behind our back and can fail for lack of memory (rte_dev_probe,
 * rte_eth_dev_configure and the queue setups, the libnl socket and
 * objects).  Each point first asks vsa_alloc_fail(); a test hook answers
 * "fail this one" for the k-th point it sees, and the sweep runs the
 * operation for k = 1..N until the operation no longer reaches a k-th
 * point.  Points that return memory also report it through
 * vsa_alloc_track() (+1 when obtained, -1 when released), so the hook can
 * count live allocations, including rte_malloc memory, which LSan does not
 * see.  The tracked kinds are released with their matching wrapper
 * (vsa_free, vsw__free, vsw__ring_free, vsw__mempool_free); a release of
 * untracked memory through a wrapper would unbalance the count, which is
 * what the sweep checks.
 *
 * Cost: with no hook installed (vesperd never installs one) a point costs a
 * load of one pointer and a predicted branch, on control paths only.  The
 * datapath (vswitch/dp.c, the rx/tx of port classes, capture copies) never
 * calls any of this: it does not allocate outside its packet pools.
 *
 * Thread-safety: the hook is process-global and read without
 * synchronisation; install or remove it only while no other thread runs a
 * control operation (tests do it from their main thread, between
 * operations).  The functions below are as thread-safe as the hook (and
 * the C library without one).
 */
#ifndef VSA_ALLOC_H
#define VSA_ALLOC_H

#include <stdbool.h>
#include <stddef.h>

#include "common/vsa_compiler.h"

struct vsa_alloc_hook {
    /* Before each injection point: true makes this one fail.  `what`
     * names the call ("rte_zmalloc", "rte_eth_dev_configure", ...). */
    bool (*inject)(void *arg, const char *what);
    /* A tracked allocation `p` was obtained (+1) or released (-1).  May be
     * NULL. */
    void (*track)(void *arg, const void *p, int delta);
    void *arg;
};

/* Installs `hook` (copied); NULL removes it.  See Thread-safety. */
void vsa_alloc_set_hook(const struct vsa_alloc_hook *hook);

/* Internal: the installed hook, NULL when none. */
extern const struct vsa_alloc_hook *vsa_alloc__hook;

/* True if the injection point `what` must fail now (never without a
 * hook). */
static inline bool vsa_alloc_fail(const char *what)
{
    const struct vsa_alloc_hook *h = vsa_alloc__hook;

    return VSA_UNLIKELY(h != NULL) && h->inject && h->inject(h->arg, what);
}

/* Reports a tracked allocation obtained (delta +1) or released (-1); p NULL
 * is ignored. */
static inline void vsa_alloc_track(const void *p, int delta)
{
    const struct vsa_alloc_hook *h = vsa_alloc__hook;

    if (VSA_UNLIKELY(h != NULL) && h->track && p)
        h->track(h->arg, p, delta);
}

/* The C library's allocators as injection points, tracked.  Same contracts
 * as malloc/calloc/aligned_alloc/strdup (calloc checks n * size for
 * overflow); memory from them goes back with vsa_free(). */
void *vsa_malloc(size_t size);
void *vsa_calloc(size_t n, size_t size);
void *vsa_aligned_alloc(size_t align, size_t size);
char *vsa_strdup(const char *s);
/* Releases memory from the functions above; NULL is a no-op. */
void vsa_free(void *p);

#endif /* VSA_ALLOC_H */
