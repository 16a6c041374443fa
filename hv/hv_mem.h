/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hv_mem.h — guest memory as the host sees it: a small set of regions, each
 * a guest-owned memfd mapped MAP_SHARED, reached only through bounds-checked
 * accessors.
 *
 * Design
 * ------
 * A guest ("child partition") owns its memory.  It creates memfds, seals them
 * against shrinking, and hands them to the host over the partition socket
 * with SCM_RIGHTS together with a {gpa base, size} pair (docs/vmbus-
 * transport.md).  A guest physical address (GPA) is region base + offset;
 * pages are 4096 bytes and a PFN is GPA >> 12.  Everything the guest later
 * names — GPADL PFNs, GPA-direct page ranges, descriptor addresses of the
 * emulated NIC — is resolved through this table and nowhere else.
 *
 * Rules enforced when a region is added:
 *  * base and size are multiples of 4096, size > 0, size ≤ HV_MEM_MAX_REGION,
 *    base + size ≤ HV_MEM_MAX_GPA (no wrap), no overlap with another region,
 *    at most HV_MEM_MAX_REGIONS regions;
 *  * for an fd: it must be a shmem memfd (tmpfs; a hugetlbfs memfd is
 *    refused: the guest could punch its huge pages out and turn a host
 *    access into SIGBUS once the pool is empty, and its mapping would be
 *    rounded up to the huge page size), carry F_SEAL_SHRINK (otherwise the
 *    guest could truncate the file and turn a later host access into
 *    SIGBUS), and its size must cover `size`.  The fd is not kept: the
 *    mapping holds the file.
 *
 * Every accessor takes [gpa, gpa + size) and succeeds only if that range
 * lies entirely inside ONE region; the arithmetic cannot overflow (the check
 * is done as `gpa - base <= region_size - size`).  A range that spans two
 * adjacent regions is refused on purpose: host pointers of two mappings are
 * not contiguous.
 *
 * Lifetime: an hv_mem is reference counted.  The partition holds one
 * reference per connected guest; every GPADL built on it holds another, so a
 * guest that disconnects while the datapath still references a GPADL cannot
 * make the host touch unmapped memory: the mappings go away with the last
 * reference (hv_mem_put).
 *
 * Limits: HV_MEM_MAX_REGIONS regions of at most HV_MEM_MAX_REGION bytes.
 *
 * Thread-safety
 * -------------
 * Regions are added only by the control thread.  The table is append-only:
 * an entry is fully written before the region count is published with a
 * release store, and readers load the count with acquire, so the accessors
 * may be called from any thread without locks while regions are added (a
 * reader sees the old or the new set, never a half-written entry).  Entries
 * never change or disappear until the last reference is dropped.
 * The contents of guest memory can change at any time (the guest is a
 * concurrent, untrusted writer): callers copy what they parse (hv_mem_read)
 * and validate the copy.  hv_mem_get/put are atomic and may be called from
 * any thread.
 */
#ifndef HV_MEM_H
#define HV_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HV_PAGE_SIZE 4096u
#define HV_PAGE_SHIFT 12
#define HV_MEM_MAX_REGIONS 16
#define HV_MEM_MAX_REGION (16ull << 30)  /* 16 GiB per region */
#define HV_MEM_MAX_GPA (1ull << 52)      /* 52-bit guest physical space */

struct hv_mem;

/* Lifecycle.  hv_mem_create returns 0 or -ENOMEM; the new object has one
 * reference.  hv_mem_put drops one and unmaps everything at zero. */
int hv_mem_create(struct hv_mem **out);
struct hv_mem *hv_mem_get(struct hv_mem *mem);
void hv_mem_put(struct hv_mem *mem);

/* Maps `size` bytes of memfd `fd` MAP_SHARED at guest address `gpa`.  The
 * caller keeps (and closes) fd.  Returns 0, -EINVAL (alignment, size, range,
 * not sealed against shrink, file too small), -EMEDIUMTYPE (not a shmem
 * memfd), -EEXIST (overlap), -ENOSPC (too many regions), or the -errno of
 * fstatfs or mmap. */
int hv_mem_add_fd(struct hv_mem *mem, int fd, uint64_t gpa, uint64_t size);

/* Registers an existing buffer (not owned, not unmapped) as guest memory at
 * `gpa`: the guest side describes its own memory this way, tests and fuzzers
 * use plain buffers.  Same rules and errors as hv_mem_add_fd; the buffer
 * needs no alignment. */
int hv_mem_add_buffer(struct hv_mem *mem, void *buf, uint64_t gpa,
                      uint64_t size);

/* Whether a region [gpa, gpa+size) could be added now: 0 or the error
 * hv_mem_add_buffer would return.  For a caller that must commit elsewhere
 * first (the guest tells the host before it registers the region). */
int hv_mem_check_region(const struct hv_mem *mem, uint64_t gpa,
                        uint64_t size);

/* Host pointer for [gpa, gpa+size) or NULL unless the range lies entirely
 * inside one region.  size 0 is refused. */
void *hv_mem_ptr(const struct hv_mem *mem, uint64_t gpa, uint64_t size);

/* Copy out of / into guest memory.  0 or -EFAULT (range not inside one
 * region). */
int hv_mem_read(const struct hv_mem *mem, uint64_t gpa, void *buf,
                size_t size);
int hv_mem_write(const struct hv_mem *mem, uint64_t gpa, const void *buf,
                 size_t size);

/* True if the 4096-byte page `pfn` is guest memory. */
bool hv_mem_pfn_valid(const struct hv_mem *mem, uint64_t pfn);

/* Introspection. */
unsigned hv_mem_region_count(const struct hv_mem *mem);
uint64_t hv_mem_total_size(const struct hv_mem *mem);

#endif /* HV_MEM_H */
