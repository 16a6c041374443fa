/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vm_port_queue.h — the mbuf queues of the legacy NIC switch port
 * (tulip_port.c; prefix vm_port_queue_): the port has an rte_ring per
 * direction between the lcores and vesperd's control thread (toward the
 * guest multi-producer: vm_port_queue_create_to_guest), and an eventfd of
 * its own that wakes the control thread when frames for the guest arrive
 * and no wake-up is pending (vm_port_queue_to_guest).
 * Header-only (the tx side runs on the lcore, inlined into tx_burst).
 * The synthetic NIC port (netvsp_port.c) no longer uses it: its channel is
 * served on the lcore, with no host queue (netvsp_port.h).
 */
#ifndef VM_PORT_QUEUE_H
#define VM_PORT_QUEUE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <unistd.h>

#include <rte_mbuf.h>
#include <rte_ring.h>

#include "common/vsa_tsan.h"
#include "vswitch/vsw_alloc.h"

/* The queue toward the guest.  The switch calls a port's tx_burst from
 * whichever datapath lcore forwards a frame to it, so with more than one
 * lcore there are several producers; the control thread is the one
 * consumer.  NULL on failure (rte_errno). */
static inline struct rte_ring *vm_port_queue_create_to_guest(const char *name,
                                                             unsigned size)
{
    return vsw__ring_create(name, size, SOCKET_ID_ANY, RING_F_SC_DEQ);
}

/* tx_burst of a VM NIC port (lcore): queues up to n frames for the guest,
 * wakes the control thread through `efd` unless a wake-up is pending
 * already (*wake), counts the frames that did not fit in *full.  Returns
 * the number queued; the pipeline counts the rest tx_full and frees them.
 *
 * The wake-up: the enqueue, a full fence, then the flag; the consumer
 * (vm_port_queue_woken) clears the flag, a full fence, then drains.  So
 * either the consumer's drain sees the frames or the producer sees the
 * flag clear (or set again by a producer that then wrote the eventfd)
 * and writes it.  Deciding by "was the queue empty before my enqueue", as
 * this did, lost a wake-up: the consumer could drain what made the queue
 * non-empty and go to sleep between that check and the enqueue, and the
 * frames then waited for the next timer tick. */
static inline uint16_t vm_port_queue_to_guest(struct rte_ring *r, int efd,
                                              _Atomic bool *wake,
                                              struct rte_mbuf **pkts,
                                              uint16_t n,
                                              _Atomic uint64_t *full)
{
    unsigned done;

    VSA_TSAN_RELEASE(r);
    done = rte_ring_mp_enqueue_burst(r, (void **)pkts, n, NULL);
    if (done) {
        atomic_thread_fence(memory_order_seq_cst);
        if (!atomic_load_explicit(wake, memory_order_relaxed) &&
            !atomic_exchange_explicit(wake, true, memory_order_relaxed)) {
            uint64_t one = 1;
            /* The port's own eventfd: a count only means "pending". */
            (void)!write(efd, &one, sizeof(one));
        }
    }
    if (done < n)
        atomic_fetch_add_explicit(full, n - done, memory_order_relaxed);
    return (uint16_t)done;
}

/* The consumer, after it read the eventfd and before it drains the queue:
 * from here on a producer's enqueue writes the eventfd again.  (After the
 * read: a producer that sets the flag after the clear writes the eventfd
 * after it too, so that write is not consumed by this turn.) */
static inline void vm_port_queue_woken(_Atomic bool *wake)
{
    atomic_store_explicit(wake, false, memory_order_relaxed);
    atomic_thread_fence(memory_order_seq_cst);
}

/* Frees a queue and every mbuf still in it.  NULL is a no-op. */
static inline void vm_port_queue_free(struct rte_ring *r)
{
    struct rte_mbuf *m;

    if (!r)
        return;
    while (rte_ring_dequeue(r, (void **)&m) == 0) {
        VSA_TSAN_ACQUIRE(r);
        rte_pktmbuf_free(m);
    }
    vsw__ring_free(r);
}

#endif /* VM_PORT_QUEUE_H */
