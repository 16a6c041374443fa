/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_gpadl.c — objective (TESTS.md A.6 for the hv/ layer): guest memory
 * and GPADLs are bounds checked and their lifetime is safe.
 *  * hv_mem: alignment, overflow (gpa + len wrapping 64 bits), ranges that
 *    straddle two regions or leave a region, overlap, unsealed memfds.
 *  * GPADL: PFN outside memory, count 0, count > limit, more PFNs than
 *    announced, duplicate ids, per-channel limit, teardown while referenced
 *    is deferred (callback only after the last put + reap, no use after
 *    free under ASan), GPADL count returns to baseline; a released
 *    channel's GPADLs are dropped silently (other channels' and deferred
 *    teardowns stay, a holder's reference stays usable).
 *  * Cross-page copies over pages scattered across two regions, the
 *    contiguous fast path, and a ring running over a scattered GPADL.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "hv/hv_gpadl.h"
#include "hv/hv_mem.h"
#include "hv/hv_ring.h"
#include "tests/proc_self.h"

#define R1_GPA 0x100000ull
#define R1_PAGES 16u
#define R2_GPA 0x200000ull
#define R2_PAGES 8u

struct fx {
    uint8_t *r1, *r2;
    struct hv_mem *mem;
    struct hv_gpadl_table *t;
    unsigned freed;
    uint32_t last_freed;
};

static void on_freed(void *ctx, uint32_t relid, uint32_t id)
{
    struct fx *f = ctx;
    (void)relid;
    f->freed++;
    f->last_freed = id;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    f->r1 = aligned_alloc(4096, R1_PAGES * 4096);
    f->r2 = aligned_alloc(4096, R2_PAGES * 4096);
    memset(f->r1, 0, R1_PAGES * 4096);
    memset(f->r2, 0, R2_PAGES * 4096);
    assert_int_equal(hv_mem_create(&f->mem), 0);
    assert_int_equal(hv_mem_add_buffer(f->mem, f->r1, R1_GPA, R1_PAGES * 4096), 0);
    assert_int_equal(hv_mem_add_buffer(f->mem, f->r2, R2_GPA, R2_PAGES * 4096), 0);
    assert_int_equal(hv_gpadl_table_create(on_freed, f, &f->t), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    hv_gpadl_table_destroy(f->t);
    hv_mem_put(f->mem);
    free(f->r1);
    free(f->r2);
    free(f);
    return 0;
}

static void test_mem_bounds(void **state)
{
    struct fx *f = *state;
    uint8_t b[16];
    uint8_t *extra = aligned_alloc(4096, 8192);

    assert_non_null(hv_mem_ptr(f->mem, R1_GPA, 1));
    assert_ptr_equal(hv_mem_ptr(f->mem, R1_GPA + 5, 3), f->r1 + 5);
    assert_non_null(hv_mem_ptr(f->mem, R1_GPA, R1_PAGES * 4096));
    assert_null(hv_mem_ptr(f->mem, R1_GPA, R1_PAGES * 4096 + 1));
    assert_null(hv_mem_ptr(f->mem, R1_GPA - 1, 2));
    assert_null(hv_mem_ptr(f->mem, R1_GPA + R1_PAGES * 4096 - 1, 2));
    assert_null(hv_mem_ptr(f->mem, R1_GPA, 0));
    assert_null(hv_mem_ptr(f->mem, UINT64_MAX - 10, 20)); /* wraps */
    assert_null(hv_mem_ptr(f->mem, R1_GPA + 8, UINT64_MAX));
    assert_null(hv_mem_ptr(f->mem, 0, 4096));
    assert_int_equal(hv_mem_read(f->mem, R2_GPA + R2_PAGES * 4096 - 8, b, 16),
                     -EFAULT);
    assert_int_equal(hv_mem_write(f->mem, R2_GPA, b, 16), 0);
    assert_true(hv_mem_pfn_valid(f->mem, R1_GPA >> 12));
    assert_false(hv_mem_pfn_valid(f->mem, (R1_GPA >> 12) + R1_PAGES));
    assert_false(hv_mem_pfn_valid(f->mem, UINT64_MAX));
    assert_false(hv_mem_pfn_valid(f->mem, UINT64_MAX >> 12));
    /* region rules */
    assert_int_equal(hv_mem_add_buffer(f->mem, extra, 0x100, 4096), -EINVAL);
    assert_int_equal(hv_mem_add_buffer(f->mem, extra, 0x300000, 100), -EINVAL);
    assert_int_equal(hv_mem_add_buffer(f->mem, extra, 0, 0), -EINVAL);
    assert_int_equal(hv_mem_add_buffer(f->mem, extra, R1_GPA + 4096, 4096),
                     -EEXIST);
    assert_int_equal(hv_mem_add_buffer(f->mem, extra, R1_GPA - 4096, 8192),
                     -EEXIST);
    assert_int_equal(hv_mem_add_buffer(f->mem, extra, UINT64_MAX - 4095, 4096),
                     -EINVAL);
    assert_int_equal(hv_mem_add_buffer(f->mem, extra, HV_MEM_MAX_GPA - 4096,
                                       8192), -EINVAL);
    assert_int_equal(hv_mem_region_count(f->mem), 2);
    free(extra);
}

static void test_mem_memfd(void **state)
{
    struct hv_mem *m;
    int fd = memfd_create("t", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    uint8_t *p;
    (void)state;

    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, 8192), 0);
    assert_int_equal(hv_mem_create(&m), 0);
    /* not sealed against shrinking → refused (SIGBUS protection) */
    assert_int_equal(hv_mem_add_fd(m, fd, 0, 8192), -EINVAL);
    assert_int_equal(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK), 0);
    assert_int_equal(hv_mem_add_fd(m, fd, 0, 16384), -EINVAL); /* too big */
    assert_int_equal(hv_mem_add_fd(m, fd, 0, 8192), 0);
    p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    memcpy(p + 4100, "guest", 6);
    assert_string_equal((char *)hv_mem_ptr(m, 4100, 6), "guest");
    munmap(p, 8192);
    hv_mem_put(m);
}

/* A hugetlbfs memfd, sealed and big enough, is refused before any mapping
 * (its huge pages can be punched out from under the host: SIGBUS; and its
 * mapping could not be unmapped by size).  Any other file is too. */
static void test_mem_memfd_hugetlb(void **state)
{
    struct hv_mem *m;
    int fd = memfd_create("t", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB);
    unsigned maps;
    (void)state;

    assert_int_equal(hv_mem_create(&m), 0);
    if (fd < 0) {
        /* a kernel without hugetlbfs: nothing to refuse */
        assert_true(errno == EINVAL || errno == ENOENT || errno == ENOSYS);
    } else {
        assert_int_equal(ftruncate(fd, 2u << 20), 0);
        assert_int_equal(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK), 0);
        maps = proc_self_maps("memfd:t");
        assert_int_equal(hv_mem_add_fd(m, fd, 0, 4096), -EMEDIUMTYPE);
        assert_int_equal(hv_mem_add_fd(m, fd, 0, 2u << 20), -EMEDIUMTYPE);
        assert_int_equal(proc_self_maps("memfd:t"), maps);
        close(fd);
    }
    /* not a memfd at all (F_GET_SEALS fails): refused as before */
    fd = open("/dev/zero", O_RDWR | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(hv_mem_add_fd(m, fd, 0, 4096), -EINVAL);
    close(fd);
    assert_int_equal(hv_mem_region_count(m), 0);
    hv_mem_put(m);
}

static void test_gpadl_bounds(void **state)
{
    struct fx *f = *state;
    struct hv_gpadl *g, *g2;
    uint64_t pfns[4] = { R1_GPA >> 12, (R1_GPA >> 12) + 1, 0x999999, 5 };

    assert_int_equal(hv_gpadl_begin(f->t, f->mem, 1, 10, 0, &g), -EINVAL);
    assert_int_equal(hv_gpadl_begin(f->t, f->mem, 1, 10,
                                    HV_GPADL_MAX_PAGES + 1, &g), -EINVAL);
    assert_int_equal(hv_gpadl_begin(f->t, f->mem, 1, 10, 3, &g), 0);
    assert_int_equal(hv_gpadl_begin(f->t, f->mem, 2, 10, 3, &g2), -EEXIST);
    assert_int_equal(hv_gpadl_add_pfns(g, pfns, 4), -E2BIG);
    assert_int_equal(hv_gpadl_add_pfns(g, pfns, 2), 0);
    assert_false(hv_gpadl_complete(g));
    assert_null(hv_gpadl_get(f->t, 1, 10)); /* incomplete */
    assert_int_equal(hv_gpadl_add_pfns(g, &pfns[2], 1), -EFAULT);
    assert_true(hv_gpadl_complete(g));
    assert_true(hv_gpadl_failed(g));
    assert_null(hv_gpadl_get(f->t, 1, 10)); /* failed */
    assert_int_equal(hv_gpadl_read(g, 0, pfns, 8), -EFAULT);
    assert_int_equal(hv_gpadl_add_pfns(g, pfns, 1), -EALREADY);
    assert_int_equal(hv_gpadl_discard(f->t, g), 0);
    assert_int_equal(hv_gpadl_count(f->t), 0);

    /* PFN whose GPA would overflow 64 bits */
    pfns[0] = UINT64_MAX;
    assert_int_equal(hv_gpadl_begin(f->t, f->mem, 1, 11, 1, &g), 0);
    assert_int_equal(hv_gpadl_add_pfns(g, pfns, 1), -EFAULT);
    assert_int_equal(hv_gpadl_discard(f->t, g), 0);

    /* per-channel limit */
    for (uint32_t i = 0; i < HV_GPADL_MAX_PER_CHAN; i++)
        assert_int_equal(hv_gpadl_begin(f->t, f->mem, 3, 100 + i, 1, &g), 0);
    assert_int_equal(hv_gpadl_begin(f->t, f->mem, 3, 999, 1, &g), -ENOSPC);
    assert_int_equal(hv_gpadl_begin(f->t, f->mem, 4, 999, 1, &g), 0);
    assert_int_equal(hv_gpadl_count_chan(f->t, 3), HV_GPADL_MAX_PER_CHAN);
    hv_gpadl_table_clear(f->t);
    assert_int_equal(hv_gpadl_count(f->t), 0);
    assert_int_equal(f->freed, 0); /* clear is silent */
}

static void test_gpadl_deferred_teardown(void **state)
{
    struct fx *f = *state;
    struct hv_gpadl *g, *ref;
    uint64_t pfns[2] = { R1_GPA >> 12, (R1_GPA >> 12) + 1 };
    uint8_t b[8] = "inflight";

    assert_int_equal(hv_gpadl_begin(f->t, f->mem, 7, 0xE1E10, 2, &g), 0);
    assert_int_equal(hv_gpadl_add_pfns(g, pfns, 2), 0);
    assert_null(hv_gpadl_get(f->t, 8, 0xE1E10)); /* other channel */
    ref = hv_gpadl_get(f->t, 7, 0xE1E10);
    assert_non_null(ref);
    assert_int_equal(hv_gpadl_teardown(f->t, 8, 0xE1E10), -EPERM);
    assert_int_equal(hv_gpadl_teardown(f->t, 7, 0xE1E10), 1); /* deferred */
    assert_int_equal(hv_gpadl_teardown(f->t, 7, 0xE1E10), -ENOENT);
    assert_null(hv_gpadl_lookup(f->t, 0xE1E10));
    assert_null(hv_gpadl_get(f->t, 7, 0xE1E10));
    /* the id stays reserved until really released */
    assert_int_equal(hv_gpadl_begin(f->t, f->mem, 7, 0xE1E10, 1, &g), -EEXIST);
    assert_int_equal(hv_gpadl_table_reap(f->t), 0);
    assert_int_equal(f->freed, 0);
    /* the holder still uses it safely (ASan would flag a UAF) */
    assert_int_equal(hv_gpadl_write(ref, 4090, b, 8), 0);
    assert_memory_equal(f->r1 + 4090, b, 8);
    hv_gpadl_put(ref);
    assert_int_equal(f->freed, 0); /* released by reap, not by put */
    assert_int_equal(hv_gpadl_table_reap(f->t), 1);
    assert_int_equal(f->freed, 1);
    assert_int_equal(f->last_freed, 0xE1E10);
    assert_int_equal(hv_gpadl_count(f->t), 0);

    /* unreferenced: released at once, callback immediately */
    assert_int_equal(hv_gpadl_begin(f->t, f->mem, 7, 0xE1E11, 1, &g), 0);
    assert_int_equal(hv_gpadl_add_pfns(g, pfns, 1), 0);
    assert_int_equal(hv_gpadl_teardown(f->t, 7, 0xE1E11), 0);
    assert_int_equal(f->freed, 2);

    /* a reference outliving the table (connection reset) and the memory */
    assert_int_equal(hv_gpadl_begin(f->t, f->mem, 7, 0xE1E12, 1, &g), 0);
    assert_int_equal(hv_gpadl_add_pfns(g, pfns, 1), 0);
    ref = hv_gpadl_get(f->t, 7, 0xE1E12);
    hv_gpadl_table_clear(f->t);
    assert_int_equal(hv_gpadl_read(ref, 0, b, 8), 0);
    hv_gpadl_put(ref);
    assert_int_equal(f->freed, 2);
}

static void test_gpadl_cross_page(void **state)
{
    struct fx *f = *state;
    struct hv_gpadl *g, *c;
    /* pages: r1[3], r2[0], r1[0], r2[7] — scattered across two regions */
    uint64_t pfns[4] = { (R1_GPA >> 12) + 3, R2_GPA >> 12, R1_GPA >> 12,
                         (R2_GPA >> 12) + 7 };
    uint64_t cp[4] = { (R1_GPA >> 12) + 4, (R1_GPA >> 12) + 5,
                       (R1_GPA >> 12) + 6, (R1_GPA >> 12) + 7 };
    uint8_t src[3 * 4096], dst[3 * 4096];

    for (size_t i = 0; i < sizeof(src); i++)
        src[i] = (uint8_t)(i * 7 + 3);
    assert_int_equal(hv_gpadl_begin(f->t, f->mem, 1, 50, 4, &g), 0);
    assert_int_equal(hv_gpadl_add_pfns(g, pfns, 4), 0);
    assert_false(hv_gpadl_contiguous(g));
    assert_int_equal(hv_gpadl_size(g), 4 * 4096);
    assert_int_equal(hv_gpadl_write(g, 100, src, sizeof(src)), 0);
    /* byte 100 lives in r1 page 3; byte 4096 in r2 page 0; ... */
    assert_int_equal(f->r1[3 * 4096 + 100], src[0]);
    assert_int_equal(f->r2[0], src[4096 - 100]);
    assert_int_equal(f->r1[0], src[2 * 4096 - 100]);
    assert_int_equal(f->r2[7 * 4096], src[3 * 4096 - 100]);
    assert_int_equal(hv_gpadl_read(g, 100, dst, sizeof(dst)), 0);
    assert_memory_equal(src, dst, sizeof(dst));
    /* bounds */
    assert_int_equal(hv_gpadl_read(g, 4 * 4096 - 1, dst, 2), -EFAULT);
    assert_int_equal(hv_gpadl_read(g, UINT64_MAX, dst, 2), -EFAULT);
    assert_int_equal(hv_gpadl_read(g, 0, dst, 0), 0);
    /* fast path only where pages are contiguous */
    assert_non_null(hv_gpadl_ptr(g, 4096, 4096));
    assert_null(hv_gpadl_ptr(g, 4000, 200));
    assert_null(hv_gpadl_ptr(g, 0, 0));

    assert_int_equal(hv_gpadl_begin(f->t, f->mem, 1, 51, 4, &c), 0);
    assert_int_equal(hv_gpadl_add_pfns(c, cp, 4), 0);
    assert_true(hv_gpadl_contiguous(c));
    assert_ptr_equal(hv_gpadl_ptr(c, 4000, 200), f->r1 + 4 * 4096 + 4000);
    assert_null(hv_gpadl_ptr(c, 4000, 4 * 4096));
    hv_gpadl_table_clear(f->t);
}

/* A ring pair over a GPADL whose data pages are scattered: the GPADL
 * backend copies page-wise and the data round-trips across the wrap. */
static void test_ring_over_scattered_gpadl(void **state)
{
    struct fx *f = *state;
    struct hv_gpadl *g;
    uint64_t pfns[3] = { (R1_GPA >> 12) + 10, (R2_GPA >> 12) + 2,
                         (R1_GPA >> 12) + 12 };
    struct hv_ring_cfg wc = { .role = HV_RING_WRITER, .dsize = 8192 };
    struct hv_ring_cfg rc = { .role = HV_RING_READER, .dsize = 8192 };
    struct hv_ring *w, *r;
    uint8_t msg[1000], buf[2048];
    struct hv_ring_pkt p;

    assert_int_equal(hv_gpadl_begin(f->t, f->mem, 1, 60, 3, &g), 0);
    assert_int_equal(hv_gpadl_add_pfns(g, pfns, 3), 0);
    assert_int_equal(hv_ring_create_gpadl(&wc, g, 1, &w), -EINVAL); /* no fit */
    assert_int_equal(hv_ring_create_gpadl(&wc, g, 0, &w), 0);
    assert_int_equal(hv_ring_create_gpadl(&rc, g, 0, &r), 0);
    for (unsigned i = 0; i < 100; i++) {
        memset(msg, (int)i, sizeof(msg));
        assert_int_equal(hv_ring_write_inband(w, 0, i, msg, 100 + i * 7, NULL), 0);
        assert_int_equal(hv_ring_read_pkt(r, buf, sizeof(buf), &p), 0);
        assert_int_equal(p.trans_id, i);
        assert_int_equal(p.data[0], (uint8_t)i);
        assert_int_equal(p.data[99 + i * 7], (uint8_t)i);
    }
    /* the rings hold references: teardown is deferred until destroy */
    assert_int_equal(hv_gpadl_teardown(f->t, 1, 60), 1);
    hv_ring_destroy(w);
    hv_ring_destroy(r);
    assert_int_equal(hv_gpadl_table_reap(f->t), 1);
    assert_int_equal(hv_gpadl_count(f->t), 0);
}

/* A released channel's live GPADLs are dropped silently, other channels'
 * stay, a deferred teardown of that channel stays for reap, and a holder's
 * reference stays usable until its put (ASan would flag a UAF). */
static void test_gpadl_drop_chan(void **state)
{
    struct fx *f = *state;
    struct hv_gpadl *g, *ref;
    uint64_t pfns[2] = { R1_GPA >> 12, (R1_GPA >> 12) + 1 };
    uint8_t b[8] = "released";

    /* channel 5: complete and referenced, complete, under construction,
     * torn down but deferred; channel 6: one complete */
    assert_int_equal(hv_gpadl_begin(f->t, f->mem, 5, 0x50, 2, &g), 0);
    assert_int_equal(hv_gpadl_add_pfns(g, pfns, 2), 0);
    ref = hv_gpadl_get(f->t, 5, 0x50);
    assert_non_null(ref);
    assert_int_equal(hv_gpadl_begin(f->t, f->mem, 5, 0x51, 1, &g), 0);
    assert_int_equal(hv_gpadl_add_pfns(g, pfns, 1), 0);
    assert_int_equal(hv_gpadl_begin(f->t, f->mem, 5, 0x52, 2, &g), 0);
    assert_int_equal(hv_gpadl_add_pfns(g, pfns, 1), 0);
    assert_int_equal(hv_gpadl_begin(f->t, f->mem, 5, 0x53, 1, &g), 0);
    assert_int_equal(hv_gpadl_add_pfns(g, pfns, 1), 0);
    {
        struct hv_gpadl *held = hv_gpadl_get(f->t, 5, 0x53);
        assert_int_equal(hv_gpadl_teardown(f->t, 5, 0x53), 1);
        assert_int_equal(hv_gpadl_begin(f->t, f->mem, 6, 0x60, 1, &g), 0);
        assert_int_equal(hv_gpadl_add_pfns(g, pfns, 1), 0);
        assert_int_equal(hv_gpadl_count(f->t), 5);

        assert_int_equal(hv_gpadl_table_drop_chan(f->t, 5), 3);
        assert_int_equal(hv_gpadl_count(f->t), 2);
        assert_int_equal(hv_gpadl_count_chan(f->t, 5), 1); /* the deferred */
        assert_int_equal(f->freed, 0);                     /* silent */
        assert_null(hv_gpadl_lookup(f->t, 0x50));
        assert_null(hv_gpadl_lookup(f->t, 0x51));
        assert_null(hv_gpadl_lookup(f->t, 0x52));
        assert_non_null(hv_gpadl_get(f->t, 6, 0x60));
        hv_gpadl_put(hv_gpadl_lookup(f->t, 0x60));
        /* the ids are free again */
        assert_int_equal(hv_gpadl_begin(f->t, f->mem, 7, 0x51, 1, &g), 0);
        assert_int_equal(hv_gpadl_discard(f->t, g), 0);
        /* the holder of 0x50 still uses it */
        assert_int_equal(hv_gpadl_write(ref, 4092, b, 8), 0);
        assert_memory_equal(f->r1 + 4092, b, 8);
        hv_gpadl_put(ref);
        /* nothing left of channel 5 but the deferred one, reaped as before */
        assert_int_equal(hv_gpadl_table_drop_chan(f->t, 5), 0);
        hv_gpadl_put(held);
        assert_int_equal(hv_gpadl_table_reap(f->t), 1);
        assert_int_equal(f->freed, 1);
        assert_int_equal(f->last_freed, 0x53);
        assert_int_equal(hv_gpadl_count(f->t), 1);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_mem_bounds, setup, teardown),
        cmocka_unit_test(test_mem_memfd),
        cmocka_unit_test(test_mem_memfd_hugetlb),
        cmocka_unit_test_setup_teardown(test_gpadl_bounds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gpadl_deferred_teardown, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_gpadl_drop_chan, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gpadl_cross_page, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ring_over_scattered_gpadl, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
