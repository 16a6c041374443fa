/* SPDX-License-Identifier: BSD-3-Clause */
#include "common/vsa_alloc.h"

#include <stdlib.h>
#include <string.h>

const struct vsa_alloc_hook *vsa_alloc__hook;

void vsa_alloc_set_hook(const struct vsa_alloc_hook *hook)
{
    static struct vsa_alloc_hook copy;

    if (!hook) {
        vsa_alloc__hook = NULL;
        return;
    }
    copy = *hook;
    vsa_alloc__hook = &copy;
}

void *vsa_malloc(size_t size)
{
    void *p;

    if (vsa_alloc_fail("malloc"))
        return NULL;
    p = malloc(size);
    vsa_alloc_track(p, 1);
    return p;
}

void *vsa_calloc(size_t n, size_t size)
{
    void *p;

    if (vsa_alloc_fail("calloc"))
        return NULL;
    p = calloc(n, size);
    vsa_alloc_track(p, 1);
    return p;
}

void *vsa_aligned_alloc(size_t align, size_t size)
{
    void *p;

    if (vsa_alloc_fail("aligned_alloc"))
        return NULL;
    p = aligned_alloc(align, size);
    vsa_alloc_track(p, 1);
    return p;
}

char *vsa_strdup(const char *s)
{
    char *p;

    if (vsa_alloc_fail("strdup"))
        return NULL;
    p = strdup(s);
    vsa_alloc_track(p, 1);
    return p;
}

void vsa_free(void *p)
{
    if (!p)
        return;
    vsa_alloc_track(p, -1);
    free(p);
}
