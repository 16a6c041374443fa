/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vsa_tsan.h — orderings ThreadSanitizer cannot see, stated to it.
 *
 * DPDK on x86-64 orders a ring's slots with compiler barriers and plain
 * loads and stores (RTE_USE_C11_MEM_MODEL is off), and rte_rcu_qsbr's
 * synchronize lives in an uninstrumented library.  To TSan, an mbuf handed
 * over through an rte_ring, or memory freed after a grace period, then
 * looks like a data race.  The hand-over points say what DPDK guarantees:
 * VSA_TSAN_RELEASE(obj) before the producer publishes (enqueue, quiescent
 * state), VSA_TSAN_ACQUIRE(obj) after the consumer has taken (dequeue,
 * grace period).  Both compile to nothing without -fsanitize=thread.
 */
#ifndef VSA_TSAN_H
#define VSA_TSAN_H

#if defined(__SANITIZE_THREAD__)
#define VSA_TSAN_ON 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define VSA_TSAN_ON 1
#endif
#endif

#ifdef VSA_TSAN_ON
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
#define VSA_TSAN_ACQUIRE(obj) __tsan_acquire((void *)(obj))
#define VSA_TSAN_RELEASE(obj) __tsan_release((void *)(obj))
#else
#define VSA_TSAN_ACQUIRE(obj) ((void)(obj))
#define VSA_TSAN_RELEASE(obj) ((void)(obj))
#endif

#endif /* VSA_TSAN_H */
