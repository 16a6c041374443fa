/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vsw_alloc.h — the DPDK allocations of vswitch/'s control paths as
 * injection points of the allocation hook (common/vsa_alloc.h).  Private
 * to vswitch/ and to the port classes that plug into it (vsp-net/'s
 * netvsp_port.c, tulip_port.c, vm_port_queue.h; DPDK types allowed);
 * never included by the datapath (dp.c), which allocates only mbufs from
 * its pools.
 *
 * Memory and rings and pools from these wrappers are tracked and must go
 * back through the matching release below.  VSW__INJECT() makes a driver
 * call that allocates inside DPDK (device probe, configure, queue setup,
 * start) an injection point: it returns -ENOMEM instead of calling it when
 * the hook says so.
 */
#ifndef VSW_ALLOC_H
#define VSW_ALLOC_H

#include <errno.h>

#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "common/vsa_alloc.h"

/* `call` (an int-returning DPDK function), or -ENOMEM without calling it
 * if the hook fails this point. */
#define VSW__INJECT(what, call) (vsa_alloc_fail(what) ? -ENOMEM : (call))

static inline void *vsw__zmalloc(const char *type, size_t size,
                                 unsigned align)
{
    void *p;

    if (vsa_alloc_fail("rte_zmalloc"))
        return NULL;
    p = rte_zmalloc(type, size, align);
    vsa_alloc_track(p, 1);
    return p;
}

static inline void *vsw__zmalloc_socket(const char *type, size_t size,
                                        unsigned align, int socket)
{
    void *p;

    if (vsa_alloc_fail("rte_zmalloc_socket"))
        return NULL;
    p = rte_zmalloc_socket(type, size, align, socket);
    vsa_alloc_track(p, 1);
    return p;
}

/* Releases memory from vsw__zmalloc*(); NULL is a no-op. */
static inline void vsw__free(void *p)
{
    if (!p)
        return;
    vsa_alloc_track(p, -1);
    rte_free(p);
}

static inline struct rte_ring *vsw__ring_create(const char *name,
                                                unsigned count, int socket,
                                                unsigned flags)
{
    struct rte_ring *r;

    if (vsa_alloc_fail("rte_ring_create")) {
        rte_errno = ENOMEM;
        return NULL;
    }
    r = rte_ring_create(name, count, socket, flags);
    vsa_alloc_track(r, 1);
    return r;
}

static inline void vsw__ring_free(struct rte_ring *r)
{
    if (!r)
        return;
    vsa_alloc_track(r, -1);
    rte_ring_free(r);
}

static inline struct rte_mempool *
vsw__pktmbuf_pool_create(const char *name, unsigned n, unsigned cache,
                         uint16_t priv_size, uint16_t data_room, int socket)
{
    struct rte_mempool *mp;

    if (vsa_alloc_fail("rte_pktmbuf_pool_create")) {
        rte_errno = ENOMEM;
        return NULL;
    }
    mp = rte_pktmbuf_pool_create(name, n, cache, priv_size, data_room,
                                 socket);
    vsa_alloc_track(mp, 1);
    return mp;
}

static inline void vsw__mempool_free(struct rte_mempool *mp)
{
    if (!mp)
        return;
    vsa_alloc_track(mp, -1);
    rte_mempool_free(mp);
}

#endif /* VSW_ALLOC_H */
