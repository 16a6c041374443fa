/* SPDX-License-Identifier: BSD-3-Clause */
#include "hv/hv_gpadl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/vsa_alloc.h"
#include "common/vsa_shm.h"

/*
 * Reference counting: `refcnt` includes one reference held by the table
 * while the GPADL is linked (live or dead list).  Only the control thread
 * takes new references (hv_gpadl_get/ref, through a linked GPADL), so once a
 * GPADL is unlinked its count can only go down; "refcnt == 1" on the dead
 * list therefore means "no user left" and is stable.
 */
struct hv_gpadl {
    struct hv_gpadl *next;
    uint32_t id;
    uint32_t relid;
    uint32_t npages;
    uint32_t nfilled;
    bool failed;
    unsigned refcnt; /* __atomic builtins */
    bool contig;
    struct hv_mem *mem;
    uint64_t *pfns;
    uint8_t **pages; /* host address of each page */
};

struct hv_gpadl_table {
    struct hv_gpadl *live;
    struct hv_gpadl *dead; /* torn down, waiting for the last user */
    unsigned count;        /* live + dead */
    hv_gpadl_freed_fn *freed;
    void *ctx;
};

static void gpadl_free(struct hv_gpadl *g)
{
    hv_mem_put(g->mem);
    vsa_free(g->pfns);
    vsa_free(g->pages);
    vsa_free(g);
}

int hv_gpadl_table_create(hv_gpadl_freed_fn *freed, void *ctx,
                          struct hv_gpadl_table **out)
{
    struct hv_gpadl_table *t = vsa_calloc(1, sizeof(*t));

    if (!t)
        return -ENOMEM;
    t->freed = freed;
    t->ctx = ctx;
    *out = t;
    return 0;
}

void hv_gpadl_table_destroy(struct hv_gpadl_table *t)
{
    if (!t)
        return;
    hv_gpadl_table_clear(t);
    vsa_free(t);
}

static bool id_in_list(const struct hv_gpadl *g, uint32_t id)
{
    for (; g; g = g->next)
        if (g->id == id)
            return true;
    return false;
}

int hv_gpadl_begin(struct hv_gpadl_table *t, struct hv_mem *mem,
                   uint32_t relid, uint32_t id, uint32_t npages,
                   struct hv_gpadl **out)
{
    struct hv_gpadl *g;

    if (npages == 0 || npages > HV_GPADL_MAX_PAGES || !mem)
        return -EINVAL;
    /* A dying GPADL keeps its id until TORNDOWN is sent, so that the
     * guest's view of ids stays unambiguous. */
    if (id_in_list(t->live, id) || id_in_list(t->dead, id))
        return -EEXIST;
    if (t->count >= HV_GPADL_MAX_TOTAL ||
        hv_gpadl_count_chan(t, relid) >= HV_GPADL_MAX_PER_CHAN)
        return -ENOSPC;
    g = vsa_calloc(1, sizeof(*g));
    if (!g)
        return -ENOMEM;
    g->pfns = vsa_calloc(npages, sizeof(*g->pfns));
    g->pages = vsa_calloc(npages, sizeof(*g->pages));
    if (!g->pfns || !g->pages) {
        vsa_free(g->pfns);
        vsa_free(g->pages);
        vsa_free(g);
        return -ENOMEM;
    }
    g->id = id;
    g->relid = relid;
    g->npages = npages;
    g->refcnt = 1;
    g->mem = hv_mem_get(mem);
    g->next = t->live;
    t->live = g;
    t->count++;
    *out = g;
    return 0;
}

int hv_gpadl_add_pfns(struct hv_gpadl *g, const uint64_t *pfns, uint32_t n)
{
    int rc = 0;

    if (g->nfilled == g->npages)
        return -EALREADY;
    if (n > g->npages - g->nfilled)
        return -E2BIG;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t pfn = pfns[i];
        uint8_t *p = NULL;

        if (pfn <= (HV_MEM_MAX_GPA >> HV_PAGE_SHIFT))
            p = hv_mem_ptr(g->mem, pfn << HV_PAGE_SHIFT, HV_PAGE_SIZE);
        if (!p) {
            g->failed = true;
            rc = -EFAULT;
        }
        g->pfns[g->nfilled] = pfn;
        g->pages[g->nfilled] = p;
        g->nfilled++;
    }
    if (g->nfilled == g->npages && !g->failed) {
        g->contig = true;
        for (uint32_t i = 1; i < g->npages; i++)
            if (g->pages[i] != g->pages[i - 1] + HV_PAGE_SIZE) {
                g->contig = false;
                break;
            }
    }
    return rc;
}

bool hv_gpadl_complete(const struct hv_gpadl *g)
{
    return g->nfilled == g->npages;
}

bool hv_gpadl_failed(const struct hv_gpadl *g)
{
    return g->failed;
}

static bool unlink_from(struct hv_gpadl **head, struct hv_gpadl *g)
{
    for (struct hv_gpadl **pp = head; *pp; pp = &(*pp)->next)
        if (*pp == g) {
            *pp = g->next;
            g->next = NULL;
            return true;
        }
    return false;
}

int hv_gpadl_discard(struct hv_gpadl_table *t, struct hv_gpadl *g)
{
    if (__atomic_load_n(&g->refcnt, __ATOMIC_ACQUIRE) != 1)
        return -EBUSY;
    if (!unlink_from(&t->live, g))
        return -ENOENT;
    t->count--;
    gpadl_free(g);
    return 0;
}

struct hv_gpadl *hv_gpadl_lookup(const struct hv_gpadl_table *t, uint32_t id)
{
    for (struct hv_gpadl *g = t->live; g; g = g->next)
        if (g->id == id)
            return g;
    return NULL;
}

struct hv_gpadl *hv_gpadl_get(struct hv_gpadl_table *t, uint32_t relid,
                              uint32_t id)
{
    struct hv_gpadl *g = hv_gpadl_lookup(t, id);

    if (!g || g->relid != relid || !hv_gpadl_complete(g) || g->failed)
        return NULL;
    return hv_gpadl_ref(g);
}

struct hv_gpadl *hv_gpadl_ref(struct hv_gpadl *g)
{
    __atomic_fetch_add(&g->refcnt, 1, __ATOMIC_RELAXED);
    return g;
}

void hv_gpadl_put(struct hv_gpadl *g)
{
    if (g && __atomic_sub_fetch(&g->refcnt, 1, __ATOMIC_ACQ_REL) == 0)
        gpadl_free(g); /* only reachable once the table let go */
}

int hv_gpadl_teardown(struct hv_gpadl_table *t, uint32_t relid, uint32_t id)
{
    struct hv_gpadl *g = hv_gpadl_lookup(t, id);

    if (!g)
        return -ENOENT;
    if (g->relid != relid)
        return -EPERM;
    unlink_from(&t->live, g);
    if (__atomic_load_n(&g->refcnt, __ATOMIC_ACQUIRE) == 1) {
        t->count--;
        if (t->freed)
            t->freed(t->ctx, relid, id);
        gpadl_free(g);
        return 0;
    }
    g->next = t->dead;
    t->dead = g;
    return 1;
}

unsigned hv_gpadl_table_reap(struct hv_gpadl_table *t)
{
    unsigned n = 0;
    struct hv_gpadl **pp = &t->dead;

    while (*pp) {
        struct hv_gpadl *g = *pp;
        if (__atomic_load_n(&g->refcnt, __ATOMIC_ACQUIRE) != 1) {
            pp = &g->next;
            continue;
        }
        *pp = g->next;
        t->count--;
        if (t->freed)
            t->freed(t->ctx, g->relid, g->id);
        gpadl_free(g);
        n++;
    }
    return n;
}

static void drop_list(struct hv_gpadl **head)
{
    while (*head) {
        struct hv_gpadl *g = *head;
        *head = g->next;
        g->next = NULL;
        hv_gpadl_put(g); /* table reference; users keep theirs */
    }
}

void hv_gpadl_table_clear(struct hv_gpadl_table *t)
{
    drop_list(&t->live);
    drop_list(&t->dead);
    t->count = 0;
}

unsigned hv_gpadl_table_drop_chan(struct hv_gpadl_table *t, uint32_t relid)
{
    struct hv_gpadl **pp = &t->live;
    unsigned n = 0;

    while (*pp) {
        struct hv_gpadl *g = *pp;
        if (g->relid != relid) {
            pp = &g->next;
            continue;
        }
        *pp = g->next;
        g->next = NULL;
        t->count--;
        hv_gpadl_put(g); /* table reference; users keep theirs */
        n++;
    }
    return n;
}

unsigned hv_gpadl_count(const struct hv_gpadl_table *t)
{
    return t->count;
}

unsigned hv_gpadl_count_chan(const struct hv_gpadl_table *t, uint32_t relid)
{
    unsigned n = 0;

    for (const struct hv_gpadl *g = t->live; g; g = g->next)
        n += g->relid == relid;
    for (const struct hv_gpadl *g = t->dead; g; g = g->next)
        n += g->relid == relid;
    return n;
}

uint32_t hv_gpadl_id(const struct hv_gpadl *g)
{
    return g->id;
}

uint32_t hv_gpadl_relid(const struct hv_gpadl *g)
{
    return g->relid;
}

uint32_t hv_gpadl_npages(const struct hv_gpadl *g)
{
    return g->npages;
}

uint64_t hv_gpadl_size(const struct hv_gpadl *g)
{
    return (uint64_t)g->npages * HV_PAGE_SIZE;
}

uint64_t hv_gpadl_pfn(const struct hv_gpadl *g, uint32_t idx)
{
    return idx < g->nfilled ? g->pfns[idx] : 0;
}

bool hv_gpadl_contiguous(const struct hv_gpadl *g)
{
    return g->contig;
}

static bool range_ok(const struct hv_gpadl *g, uint64_t off, uint64_t size)
{
    uint64_t total = hv_gpadl_size(g);

    return hv_gpadl_complete(g) && !g->failed && off <= total &&
           size <= total - off;
}

int hv_gpadl_read(const struct hv_gpadl *g, uint64_t off, void *buf,
                  size_t size)
{
    uint8_t *dst = buf;

    if (!range_ok(g, off, size))
        return -EFAULT;
    while (size) {
        uint32_t in = (uint32_t)(off & (HV_PAGE_SIZE - 1));
        size_t chunk = HV_PAGE_SIZE - in;

        if (chunk > size)
            chunk = size;
        /* The guest's CPU wrote these lines: ask for them all before the
         * copy walks them one by one (see vsa_shm_prefetch). */
        vsa_shm_prefetch(g->pages[off >> HV_PAGE_SHIFT] + in, chunk);
        vsa_shm_read(dst, g->pages[off >> HV_PAGE_SHIFT] + in, chunk);
        dst += chunk;
        off += chunk;
        size -= chunk;
    }
    return 0;
}

int hv_gpadl_write(const struct hv_gpadl *g, uint64_t off, const void *buf,
                   size_t size)
{
    const uint8_t *src = buf;

    if (!range_ok(g, off, size))
        return -EFAULT;
    while (size) {
        uint32_t in = (uint32_t)(off & (HV_PAGE_SIZE - 1));
        size_t chunk = HV_PAGE_SIZE - in;

        if (chunk > size)
            chunk = size;
        vsa_shm_write(g->pages[off >> HV_PAGE_SHIFT] + in, src, chunk);
        src += chunk;
        off += chunk;
        size -= chunk;
    }
    return 0;
}

void *hv_gpadl_ptr(const struct hv_gpadl *g, uint64_t off, uint64_t size)
{
    uint64_t first, last;

    if (size == 0 || !range_ok(g, off, size))
        return NULL;
    first = off >> HV_PAGE_SHIFT;
    last = (off + size - 1) >> HV_PAGE_SHIFT;
    if (!g->contig)
        for (uint64_t i = first; i < last; i++)
            if (g->pages[i + 1] != g->pages[i] + HV_PAGE_SIZE)
                return NULL;
    return g->pages[first] + (off & (HV_PAGE_SIZE - 1));
}
