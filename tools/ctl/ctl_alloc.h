/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ctl_alloc.h — the allocation hook of the control library.
 *
 * Design
 * ------
 * Every heap allocation the ctl library makes itself (configuration structs,
 * address lists, line buffers) goes through ctl_malloc()/ctl_free(), which
 * call a process-wide pair of functions (malloc/free by default).  Tests
 * replace the pair, together with jansson's own pair (json_set_alloc_funcs),
 * with a counting allocator that fails the k-th call, and sweep k = 1..N to
 * prove that every failure path unwinds to -ENOMEM without a leak and
 * without touching the caller's state (STYLE 3.8, the libuv loop_init_oom
 * pattern).  There is deliberately no realloc hook: callers that grow a
 * buffer know its old size and copy.
 *
 * Memory obtained from ctl_malloc() must be released with ctl_free(), and
 * the hooks must not be changed while such memory is alive unless the new
 * free function can release it (the test allocator wraps malloc/free, so it
 * can).
 *
 * Thread-safety: the hook is process-global; set it before threads start.
 * The allocation functions themselves are as thread-safe as the hook.
 */
#ifndef CTL_ALLOC_H
#define CTL_ALLOC_H

#include <stddef.h>

typedef void *ctl_malloc_fn(size_t size);
typedef void ctl_free_fn(void *ptr);

/* Installs the allocation pair; NULL for either restores malloc/free. */
void ctl_alloc_set_funcs(ctl_malloc_fn *malloc_fn, ctl_free_fn *free_fn);

/* malloc through the hook; NULL on failure (size 0 allocates 1 byte). */
void *ctl_malloc(size_t size);

/* Zeroed array allocation; NULL on failure or if n * size overflows. */
void *ctl_calloc(size_t n, size_t size);

/* Copies a NUL-terminated string; NULL on failure. */
char *ctl_strdup(const char *s);

/* Releases memory from ctl_malloc()/ctl_calloc()/ctl_strdup(); NULL is a
 * no-op. */
void ctl_free(void *ptr);

#endif /* CTL_ALLOC_H */
