/* SPDX-License-Identifier: BSD-3-Clause */
#include "tools/ctl/ctl_alloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static ctl_malloc_fn *ctl_malloc_hook = malloc;
static ctl_free_fn *ctl_free_hook = free;

void ctl_alloc_set_funcs(ctl_malloc_fn *malloc_fn, ctl_free_fn *free_fn)
{
    if (!malloc_fn || !free_fn) {
        ctl_malloc_hook = malloc;
        ctl_free_hook = free;
        return;
    }
    ctl_malloc_hook = malloc_fn;
    ctl_free_hook = free_fn;
}

void *ctl_malloc(size_t size)
{
    return ctl_malloc_hook(size ? size : 1);
}

void *ctl_calloc(size_t n, size_t size)
{
    size_t total;
    void *p;

    if (size && n > SIZE_MAX / size)
        return NULL;
    total = n * size;
    p = ctl_malloc(total);
    if (p)
        memset(p, 0, total ? total : 1);
    return p;
}

char *ctl_strdup(const char *s)
{
    size_t size = strlen(s) + 1;
    char *p = ctl_malloc(size);

    if (p)
        memcpy(p, s, size);
    return p;
}

void ctl_free(void *ptr)
{
    if (ptr)
        ctl_free_hook(ptr);
}
