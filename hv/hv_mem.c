/* SPDX-License-Identifier: BSD-3-Clause */
#include "hv/hv_mem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include "common/vsa_alloc.h"
#include "common/vsa_shm.h"

struct hv_mem_region {
    uint64_t gpa;
    uint64_t size;
    uint8_t *host;
    bool mapped; /* true: we own an mmap of `size` bytes */
};

struct hv_mem {
    unsigned refcnt; /* __atomic builtins */
    unsigned n;
    struct hv_mem_region regions[HV_MEM_MAX_REGIONS];
};

int hv_mem_create(struct hv_mem **out)
{
    struct hv_mem *m = vsa_calloc(1, sizeof(*m));

    if (!m)
        return -ENOMEM;
    m->refcnt = 1;
    *out = m;
    return 0;
}

struct hv_mem *hv_mem_get(struct hv_mem *mem)
{
    if (mem)
        __atomic_fetch_add(&mem->refcnt, 1, __ATOMIC_RELAXED);
    return mem;
}

void hv_mem_put(struct hv_mem *mem)
{
    if (!mem || __atomic_sub_fetch(&mem->refcnt, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    for (unsigned i = 0; i < mem->n; i++)
        if (mem->regions[i].mapped)
            munmap(mem->regions[i].host, (size_t)mem->regions[i].size);
    vsa_free(mem);
}

static int check_new_region(const struct hv_mem *m, uint64_t gpa,
                            uint64_t size)
{
    if (size == 0 || size > HV_MEM_MAX_REGION || (gpa % HV_PAGE_SIZE) != 0 ||
        (size % HV_PAGE_SIZE) != 0 || gpa > HV_MEM_MAX_GPA ||
        size > HV_MEM_MAX_GPA - gpa)
        return -EINVAL;
    if (m->n >= HV_MEM_MAX_REGIONS)
        return -ENOSPC;
    for (unsigned i = 0; i < m->n; i++) {
        const struct hv_mem_region *r = &m->regions[i];
        if (gpa < r->gpa + r->size && r->gpa < gpa + size)
            return -EEXIST;
    }
    return 0;
}

int hv_mem_add_fd(struct hv_mem *mem, int fd, uint64_t gpa, uint64_t size)
{
    struct statfs sfs;
    struct stat st;
    void *p;
    int seals, rc;

    rc = check_new_region(mem, gpa, size);
    if (rc)
        return rc;
    if (size > SIZE_MAX)
        return -EINVAL;
    /* Without F_SEAL_SHRINK the guest could ftruncate the file under us and
     * turn any later access into SIGBUS. */
    seals = fcntl(fd, F_GET_SEALS);
    if (seals < 0 || !(seals & F_SEAL_SHRINK))
        return -EINVAL;
    /* Only a shmem memfd.  A hugetlbfs one (MFD_HUGETLB) also takes seals,
     * but the guest can punch its pages out (fallocate) and, with the
     * pool empty, turn a host access into SIGBUS; and its mapping is
     * rounded up to the huge page, so munmap(size) would fail and leak it
     * with the pages it holds. */
    if (fstatfs(fd, &sfs) < 0)
        return -errno;
    if (sfs.f_type != TMPFS_MAGIC)
        return -EMEDIUMTYPE;
    if (fstat(fd, &st) < 0)
        return -errno;
    if (st.st_size < 0 || (uint64_t)st.st_size < size)
        return -EINVAL;
    /* An injection point (common/vsa_alloc.h): the mapping is the
     * partition's largest use of host address space. */
    if (vsa_alloc_fail("mmap"))
        return -ENOMEM;
    p = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        return -errno;
    mem->regions[mem->n] = (struct hv_mem_region){
        .gpa = gpa, .size = size, .host = p, .mapped = true };
    /* Publish after the entry is written (readers load n with acquire). */
    __atomic_store_n(&mem->n, mem->n + 1, __ATOMIC_RELEASE);
    return 0;
}

int hv_mem_add_buffer(struct hv_mem *mem, void *buf, uint64_t gpa,
                      uint64_t size)
{
    int rc;

    if (!buf)
        return -EINVAL;
    rc = check_new_region(mem, gpa, size);
    if (rc)
        return rc;
    mem->regions[mem->n] = (struct hv_mem_region){
        .gpa = gpa, .size = size, .host = buf, .mapped = false };
    __atomic_store_n(&mem->n, mem->n + 1, __ATOMIC_RELEASE);
    return 0;
}

int hv_mem_check_region(const struct hv_mem *mem, uint64_t gpa,
                        uint64_t size)
{
    return check_new_region(mem, gpa, size);
}

void *hv_mem_ptr(const struct hv_mem *mem, uint64_t gpa, uint64_t size)
{
    unsigned n;

    if (!mem || size == 0)
        return NULL;
    n = __atomic_load_n(&mem->n, __ATOMIC_ACQUIRE);
    for (unsigned i = 0; i < n; i++) {
        const struct hv_mem_region *r = &mem->regions[i];
        /* Overflow-safe: gpa >= base, and (gpa - base) + size <= rsize is
         * rewritten so that no sum can wrap. */
        if (gpa >= r->gpa && size <= r->size && gpa - r->gpa <= r->size - size)
            return r->host + (gpa - r->gpa);
    }
    return NULL;
}

int hv_mem_read(const struct hv_mem *mem, uint64_t gpa, void *buf,
                size_t size)
{
    const void *p;

    if (size == 0)
        return 0;
    p = hv_mem_ptr(mem, gpa, size);
    if (!p)
        return -EFAULT;
    vsa_shm_read(buf, p, size);
    return 0;
}

int hv_mem_write(const struct hv_mem *mem, uint64_t gpa, const void *buf,
                 size_t size)
{
    void *p;

    if (size == 0)
        return 0;
    p = hv_mem_ptr(mem, gpa, size);
    if (!p)
        return -EFAULT;
    vsa_shm_write(p, buf, size);
    return 0;
}

bool hv_mem_pfn_valid(const struct hv_mem *mem, uint64_t pfn)
{
    if (pfn > (HV_MEM_MAX_GPA >> HV_PAGE_SHIFT))
        return false;
    return hv_mem_ptr(mem, pfn << HV_PAGE_SHIFT, HV_PAGE_SIZE) != NULL;
}

unsigned hv_mem_region_count(const struct hv_mem *mem)
{
    return mem ? mem->n : 0;
}

uint64_t hv_mem_total_size(const struct hv_mem *mem)
{
    uint64_t t = 0;

    for (unsigned i = 0; mem && i < mem->n; i++)
        t += mem->regions[i].size;
    return t;
}
