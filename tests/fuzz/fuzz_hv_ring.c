/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_hv_ring.c — libFuzzer target for the VMBus ring reader and writer
 * (hv/hv_ring.c): untrusted ring page contents and indices.
 *
 * Input layout:
 *   [0]      ring size selector (dsize ∈ 32, 64, 128, 256, 4096, 8192)
 *   [1]      flags: bit 0 host type set (INBAND|GPA|CANCEL|COMP) instead
 *                   of the default four (INBAND|XFER|GPA|COMP), bit 1 also
 *                   run the writer, bit 2 place the ring
 *                   in a GPADL with scattered pages (page-wise copies),
 *                   bit 3 the writer holds its packets and commits them
 *                   (hv_ring_write_hold/commit), the reader draining
 *                   halfway, bit 4 the reader drains without holding the
 *                   interrupt mask (read index stored per packet)
 *   [2..21]  write_index, read_index, interrupt_mask, pending_send_sz,
 *            feature_bits (u32 LE each)
 *   [22..]   data area contents (the rest is zero)
 * The reader drains until empty or broken, and every packet is pushed
 * through the type helpers (transfer-page ranges, GPA-direct ranges and
 * PFNs) and its payload is summed, so ASan sees every byte it hands out.
 *
 * The ring's own accesses are bounded too: a flat ring is a heap block of
 * exactly its control page and data area, allocated per input, so a byte
 * read or written past either end lands in ASan's redzone; in the GPADL
 * layout the pages of guest memory that are not the ring's (0, 2 and 5)
 * are poisoned.  (The ring used to sit at the start of a 24 KiB block:
 * anything up to 16 KiB past its data area was never reported.)
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/vsa_log.h"
#include "hv/hv_gpadl.h"
#include "hv/hv_mem.h"
#include "hv/hv_ring.h"

#if defined(__SANITIZE_ADDRESS__)
#define FUZZ_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FUZZ_ASAN 1
#endif
#endif
#ifdef FUZZ_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint32_t dsizes[] = { 32, 64, 128, 256, 4096, 8192 };

static uint64_t sink;

static void consume_pkt(const struct hv_ring_pkt *p)
{
    uint16_t id;
    uint32_t n;
    struct hv_ring_xfer_range x;
    struct hv_ring_gpa_iter it;
    struct hv_ring_gpa_range g;

    for (uint32_t i = 0; i < p->hdr_size; i++)
        sink += p->hdr[i];
    for (uint32_t i = 0; i < p->data_size; i++)
        sink += p->data[i];
    sink += p->trans_id + p->flags;
    if (hv_ring_pkt_xfer(p, &id, &n) == 0)
        for (uint32_t i = 0; i < n; i++)
            if (hv_ring_pkt_xfer_range(p, i, &x) == 0)
                sink += x.byte_count + x.byte_offset;
    if (hv_ring_gpa_iter_init(&it, p) == 0)
        while (hv_ring_gpa_iter_next(&it, &g) == 1)
            for (uint32_t i = 0; i < g.npfns; i++)
                sink += hv_ring_gpa_pfn(&g, i);
}

static bool drain_unmasked;

static void drain(struct hv_ring *r)
{
    uint8_t buf[16384];
    struct hv_ring_pkt p;

    if (!drain_unmasked)
        hv_ring_mask_intr(r);
    for (int i = 0; i < 512; i++) {
        int rc = hv_ring_read_pkt(r, buf, (i & 1) ? sizeof(buf) : 256, &p);
        if (rc == -ENOBUFS)
            rc = hv_ring_read_pkt(r, buf, sizeof(buf), &p);
        if (rc)
            break;
        consume_pkt(&p);
    }
    sink += hv_ring_read_end(r);
    sink += hv_ring_unmask_intr(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t *mem; /* GPADL layout: guest pages 0..5, ring on 4, 1, 3 */
    struct hv_ring_cfg rcfg = { .role = HV_RING_READER };
    struct hv_ring_cfg wcfg = { .role = HV_RING_WRITER };
    struct hv_stats st = { 0 };
    struct hv_mem *hmem = NULL;
    struct hv_gpadl_table *t = NULL;
    struct hv_gpadl *g = NULL;
    struct hv_ring *r = NULL, *w = NULL;
    uint8_t *ring = NULL;
    uint32_t dsize;
    uint8_t flags;

    if (!mem) {
        vsa_log_set_level(VSA_LOG_ERR);
        mem = aligned_alloc(4096, 4096 * 6);
    }
    if (size < 22)
        return 0;
    dsize = dsizes[data[0] % 6];
    flags = data[1];
    drain_unmasked = (flags & 16) != 0;
    rcfg.dsize = wcfg.dsize = dsize;
    rcfg.stats = wcfg.stats = &st;
    if (flags & 1)
        rcfg.accept_types = HV_PKT_TYPE_BIT(HV_PKT_INBAND) |
                            HV_PKT_TYPE_BIT(HV_PKT_GPA_DIRECT) |
                            HV_PKT_TYPE_BIT(HV_PKT_CANCEL_REQUEST) |
                            HV_PKT_TYPE_BIT(HV_PKT_COMP);

    if ((flags & 4) && dsize == 8192) {
        /* pages: ctl at page 4, data at pages 1 and 3 (not contiguous) */
        uint64_t pfns[3] = { 4, 1, 3 };

        UNPOISON(mem, 6 * 4096);
        memset(mem, 0, 6 * 4096);
        POISON(mem, 4096);
        POISON(mem + 2 * 4096, 4096);
        POISON(mem + 5 * 4096, 4096);
        if (hv_mem_create(&hmem) || hv_mem_add_buffer(hmem, mem, 0, 6 * 4096) ||
            hv_gpadl_table_create(NULL, NULL, &t) ||
            hv_gpadl_begin(t, hmem, 1, 1, 3, &g) ||
            hv_gpadl_add_pfns(g, pfns, 3))
            goto out;
        /* write, read, mask, pending at 0x0..0xF; feature_bits at 0x40 */
        memcpy(mem + 4 * 4096, data + 2, 16);
        memcpy(mem + 4 * 4096 + HV_RING_OFF_FEATURES, data + 18, 4);
        {
            size_t n = size - 22 < 8192 ? size - 22 : 8192;
            uint8_t tmp[8192] = { 0 };
            memcpy(tmp, data + 22, n);
            (void)hv_gpadl_write(g, 4096, tmp, 8192);
        }
        if (hv_ring_create_gpadl(&rcfg, g, 0, &r) == 0)
            drain(r);
        if ((flags & 2) && hv_ring_create_gpadl(&wcfg, g, 0, &w) == 0) {
            uint8_t payload[300] = { 0 };
            hv_ring_write_inband(w, 1, 5, payload, data[2] % 300, NULL);
            if (!r && hv_ring_create_gpadl(&rcfg, g, 0, &r) != 0)
                r = NULL;
            if (r)
                drain(r);
        }
        goto out;
    }

    ring = calloc(1, HV_RING_CTL_SIZE + dsize);
    if (!ring)
        abort();
    memcpy(ring + HV_RING_OFF_WRITE_INDEX, data + 2, 4);
    memcpy(ring + HV_RING_OFF_READ_INDEX, data + 6, 4);
    memcpy(ring + HV_RING_OFF_INTR_MASK, data + 10, 4);
    memcpy(ring + HV_RING_OFF_PENDING_SEND, data + 14, 4);
    memcpy(ring + HV_RING_OFF_FEATURES, data + 18, 4);
    memcpy(ring + HV_RING_CTL_SIZE, data + 22,
           size - 22 < dsize ? size - 22 : dsize);
    if (hv_ring_create_buf(&rcfg, ring, &r) == 0)
        drain(r);
    if (flags & 2) {
        if (hv_ring_create_buf(&wcfg, ring, &w) == 0) {
            struct hv_ring_xfer_range xr[2] = { { data[3], data[4] },
                                                { 7, 9 } };
            struct hv_ring_gpa_page gp[2] = { { 4096, 0, data[5] },
                                              { 1, 4095, 2 } };
            uint8_t payload[512] = { 0 };
            bool sig;
            if (flags & 8)
                hv_ring_write_hold(w);
            for (int i = 0; i < 8; i++) {
                int rc;
                if ((flags & 8) && i == 4) {
                    sink += hv_ring_write_commit(w);
                    if (r)
                        drain(r);
                    hv_ring_write_hold(w);
                }
                switch ((data[6 + (i & 7)] + i) % 4) {
                case 0:
                    rc = hv_ring_write_inband(w, 1, (uint64_t)i, payload,
                                              data[7 + (i & 7)] % 512u, &sig);
                    break;
                case 1:
                    rc = hv_ring_write_xfer(w, 0, (uint64_t)i, 0xCAFE, xr, 2,
                                            payload, 40, &sig);
                    break;
                case 2:
                    rc = hv_ring_write_gpa(w, 1, (uint64_t)i, gp, 2, payload,
                                           8, &sig);
                    break;
                default:
                    rc = hv_ring_write_comp(w, (uint64_t)i, NULL, 0, &sig);
                    break;
                }
                if (rc)
                    break;
            }
            if (flags & 8)
                sink += hv_ring_write_commit(w);
            if (r)
                drain(r);
        }
    }
out:
    hv_ring_destroy(r);
    hv_ring_destroy(w);
    if (t)
        hv_gpadl_table_destroy(t);
    hv_mem_put(hmem);
    free(ring);
    return 0;
}
