/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hv_gpadl.h — GPADLs (guest physical address descriptor lists): a guest-
 * chosen 32-bit id plus a list of 4096-byte guest pages that together form
 * one buffer (ring pair, NVSP receive buffer, send buffer).
 *
 * Design
 * ------
 * A GPADL is announced by GPADL_HEADER (total page count and the first PFNs)
 * and completed by GPADL_BODY messages (spec vmbus.md §6.4).  The table
 * builds it incrementally: hv_gpadl_begin() with the announced page count,
 * hv_gpadl_add_pfns() per message, complete when exactly that many PFNs have
 * arrived.  Each PFN is resolved through hv_mem when it arrives; an invalid
 * PFN marks the GPADL failed (the remaining PFNs are still counted so that
 * the guest's later GPADL_BODY messages are not "unknown"), and the owner
 * answers GPADL_CREATED with a failure status once the count is reached.
 *
 * Pages of one GPADL need not be contiguous in guest memory, nor in the host
 * mapping.  hv_gpadl_read/write copy across page boundaries;
 * hv_gpadl_ptr returns a direct pointer when the pages covering the
 * requested range are contiguous in the host mapping (always true for a
 * range inside one page; true for the whole GPADL when the guest allocated
 * it from consecutive pages of one region, which is the common case).
 *
 * Limits (documented, enforced):
 *  * HV_GPADL_MAX_PAGES pages per GPADL (64 MiB).  The wire format caps the
 *    total lower anyway (range_buflen is a u16: ≤ 8190 PFNs ≈ 32 MiB);
 *  * HV_GPADL_MAX_PER_CHAN GPADLs per channel, HV_GPADL_MAX_TOTAL per table
 *    (per partition), counting GPADLs still under construction or waiting
 *    for a deferred teardown;
 *  * ids are unique per table: a duplicate id is refused (-EEXIST) and the
 *    existing GPADL is left untouched.
 *
 * Lifetime and teardown: the table owns GPADLs.  Users that keep a pointer
 * beyond one control-thread call (an open ring, the NVSP receive buffer)
 * take a reference with hv_gpadl_get() and drop it with hv_gpadl_put().
 * hv_gpadl_teardown() unlinks the id at once (no new lookups succeed) but
 * frees the GPADL only when no reference is left: immediately if unused,
 * otherwise later, from hv_gpadl_table_reap(), which the control thread runs
 * after every message and timer tick.  The `freed` callback fires exactly
 * once per torn-down GPADL at the moment it is really released: the owner
 * sends GPADL_TORNDOWN from it.  Each GPADL holds a reference on the hv_mem
 * it was resolved in.
 *
 * Thread-safety
 * -------------
 * The table (begin, add_pfns, teardown, lookup, get, reap, clear) is owned
 * by the control thread.  hv_gpadl_put() and the accessors (read, write,
 * ptr, size, id) may be called from any thread by a holder of a reference;
 * the page list of a complete GPADL is immutable.  The memory behind it is
 * shared with the guest and can change at any time: copy, then validate.
 */
#ifndef HV_GPADL_H
#define HV_GPADL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv/hv_mem.h"

#define HV_GPADL_MAX_PAGES 16384u /* 64 MiB */
#define HV_GPADL_MAX_PER_CHAN 64u
#define HV_GPADL_MAX_TOTAL 1024u

struct hv_gpadl;
struct hv_gpadl_table;

/* Called (control thread) when a torn-down GPADL is finally released. */
typedef void hv_gpadl_freed_fn(void *ctx, uint32_t relid, uint32_t id);

/* Lifecycle.  create: 0 or -ENOMEM.  destroy releases every GPADL that has
 * no reference left; GPADLs still referenced are orphaned and freed by their
 * last hv_gpadl_put() (no callback). */
int hv_gpadl_table_create(hv_gpadl_freed_fn *freed, void *ctx,
                          struct hv_gpadl_table **out);
void hv_gpadl_table_destroy(struct hv_gpadl_table *t);

/* Starts GPADL `id` of channel `relid` with `npages` pages resolved in
 * `mem`.  Returns 0, -EINVAL (npages 0 or > HV_GPADL_MAX_PAGES), -EEXIST
 * (id in use, including GPADLs being torn down), -ENOSPC (per-channel or
 * total limit), -ENOMEM. */
int hv_gpadl_begin(struct hv_gpadl_table *t, struct hv_mem *mem,
                   uint32_t relid, uint32_t id, uint32_t npages,
                   struct hv_gpadl **out);

/* Appends `n` PFNs.  Returns 0; -EFAULT if one is not guest memory (the
 * GPADL is marked failed, the PFNs are still counted); -E2BIG if that would
 * exceed the announced count (nothing appended).  -EALREADY if complete. */
int hv_gpadl_add_pfns(struct hv_gpadl *g, const uint64_t *pfns, uint32_t n);

/* True once every announced PFN arrived. */
bool hv_gpadl_complete(const struct hv_gpadl *g);
/* True if a PFN was invalid (creation must be answered with a failure). */
bool hv_gpadl_failed(const struct hv_gpadl *g);

/* Removes a GPADL that is not referenced (failed or aborted creation)
 * without calling the freed callback.  -EBUSY if referenced. */
int hv_gpadl_discard(struct hv_gpadl_table *t, struct hv_gpadl *g);

/* Any GPADL with this id that is not being torn down (complete or not). */
struct hv_gpadl *hv_gpadl_lookup(const struct hv_gpadl_table *t, uint32_t id);

/* Takes a reference on complete, valid GPADL `id` of channel `relid`;
 * NULL if missing, incomplete, failed, being torn down, or owned by another
 * channel. */
struct hv_gpadl *hv_gpadl_get(struct hv_gpadl_table *t, uint32_t relid,
                              uint32_t id);
/* Takes another reference on a GPADL the caller already holds. */
struct hv_gpadl *hv_gpadl_ref(struct hv_gpadl *g);
/* Drops a reference (any thread). */
void hv_gpadl_put(struct hv_gpadl *g);

/* Guest asked to tear down `id` of channel `relid`.  Returns 0 (released
 * now; freed callback already called), 1 (deferred: still referenced; the
 * callback runs from a later hv_gpadl_table_reap()), -ENOENT (unknown or
 * already being torn down), -EPERM (belongs to another channel). */
int hv_gpadl_teardown(struct hv_gpadl_table *t, uint32_t relid, uint32_t id);

/* Releases torn-down GPADLs whose last reference is gone (calls freed).
 * Returns how many were released. */
unsigned hv_gpadl_table_reap(struct hv_gpadl_table *t);

/* Connection reset: tears down every GPADL silently (no callbacks), those
 * still referenced are freed by their last put. */
void hv_gpadl_table_clear(struct hv_gpadl_table *t);

/* The guest released channel `relid` (RELID_RELEASED after a rescind):
 * drops every live GPADL of it silently (no callbacks), as
 * hv_gpadl_table_clear does for all, so that GPADLs the guest never tore
 * down do not stay behind under a relid nobody can name any more; those
 * still referenced are freed by their last put.  Deferred teardowns of the
 * channel stay and are reaped as before (the guest asked for their
 * TORNDOWN).  Returns how many were dropped. */
unsigned hv_gpadl_table_drop_chan(struct hv_gpadl_table *t, uint32_t relid);

/* Introspection: live GPADLs (incl. under construction and deferred). */
unsigned hv_gpadl_count(const struct hv_gpadl_table *t);
unsigned hv_gpadl_count_chan(const struct hv_gpadl_table *t, uint32_t relid);

/* Accessors (holder of a reference, any thread). */
uint32_t hv_gpadl_id(const struct hv_gpadl *g);
uint32_t hv_gpadl_relid(const struct hv_gpadl *g);
uint32_t hv_gpadl_npages(const struct hv_gpadl *g);
uint64_t hv_gpadl_size(const struct hv_gpadl *g);
uint64_t hv_gpadl_pfn(const struct hv_gpadl *g, uint32_t idx);
/* True if all pages are contiguous in one host mapping. */
bool hv_gpadl_contiguous(const struct hv_gpadl *g);

/* Copies [off, off+size) out of / into the GPADL across page boundaries.
 * 0 or -EFAULT (range outside the GPADL or GPADL incomplete/failed). */
int hv_gpadl_read(const struct hv_gpadl *g, uint64_t off, void *buf,
                  size_t size);
int hv_gpadl_write(const struct hv_gpadl *g, uint64_t off, const void *buf,
                   size_t size);
/* Direct host pointer for [off, off+size) when those pages are contiguous
 * in the host mapping; NULL otherwise (or out of range, or size 0). */
void *hv_gpadl_ptr(const struct hv_gpadl *g, uint64_t off, uint64_t size);

#endif /* HV_GPADL_H */
