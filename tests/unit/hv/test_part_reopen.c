/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_part_reopen.c — objective: closing and reopening a channel on one
 * partition connection costs the guest nothing (TESTS.md C9, guest side).
 *
 * The bug: hv_part_guest kept every signal fd it created until the
 * connection closed, and hv_part_guest_open_chan took its ring pages from
 * a bump allocator that never gave any back.  Each open/close cycle
 * therefore leaked two fds and 2 × ring_pages pages.  After 68 cycles the
 * fd table was full (-ENOSPC), and a small region ran out of pages
 * (-ENOMEM) after a few.  The fix closes the channel's fds in
 * hv_part_guest_close_chan.  The ring pages go back to the allocator when
 * the host's GPADL_TORNDOWN arrives, after which the host no longer
 * touches them.
 *  * two channels on a 24-page region (three ring sets of 8 pages): 1,000
 *    rounds of open A, open B, close A, open A, close B, close A, which
 *    uses the free list, the merging and the bump pointer.  The open fds
 *    of the process (host and guest share it) stay exactly flat after the
 *    first round.  After the last round the whole region can be allocated
 *    again from its base.  Without the fix the fourth open (round 2)
 *    already finds no pages;
 *  * 200 opens the host refuses (OPENCHANNEL_RESULT status 1): every
 *    failure hands back its fds and, once TORNDOWN arrives, its pages.
 *    Fds are flat (from the first refusal on) and the region is whole
 *    again at the end;
 *  * the host ends with no GPADL and as many closes as opens.
 *  * a NIC removed and added again 100 times while the guest stays
 *    connected (rescind, RELID_RELEASED, a new offer with a new relid,
 *    opened and closed): the host's signal-fd entry of each released
 *    channel is given back.  It was kept until the guest disconnected, so
 *    every cycle held two more fds and, once the 64 entries were used up,
 *    the new channel's SIGNAL_SETUP was refused ("too many") and it could
 *    not open.  Fds are flat from the first cycle on.
 * The host runs in the main thread, the guest in a helper thread (as a
 * separate process would); the guest reports failures through s->rc.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/vsa_log.h"
#include "hv/hv_part.h"
#include "tests/proc_self.h"

#define GPA 0x20000000ull
#define REGION_PAGES 24u
#define RING_PAGES 4u /* per direction: 8 pages per channel */
#define ROUNDS 1000u
#define REFUSED 200u
#define READDS 100u /* more than HV_VMBUS_MAX_CHANNELS signal entries */
#define TMO 5000

static char dir[64], sock_path[128];

struct host_side {
    atomic_uint opens, closes;
    atomic_bool refuse;
};

static int h_open(void *ctx, struct hv_chan *ch)
{
    struct host_side *hs = ctx;
    (void)ch;
    if (atomic_load(&hs->refuse))
        return -EPERM;
    atomic_fetch_add(&hs->opens, 1);
    return 0;
}

static void h_close(void *ctx, struct hv_chan *ch)
{
    struct host_side *hs = ctx;
    (void)ch;
    atomic_fetch_add(&hs->closes, 1);
}

static const struct hv_part_host_ops hops = { .chan_open = h_open,
                                              .chan_close = h_close };

struct script {
    struct host_side *hs;
    atomic_bool done;
    int rc;
    char why[160];
    unsigned fds_base, fds_max, fds_min;     /* rounds */
    unsigned rfds_base, rfds_max, rfds_min;  /* refused opens */
    /* re-add test: the guest asks the host (main thread) to rescind this
     * relid and offer the NIC again */
    atomic_uint readd_relid;
};

static int note_fail(struct script *s, int rc, const char *what, unsigned round)
{
    snprintf(s->why, sizeof(s->why), "%s in round %u: %s", what, round,
             strerror(rc < 0 ? -rc : EIO));
    return rc ? rc : -EIO;
}

static void note_fds(unsigned *min, unsigned *max)
{
    unsigned n = proc_self_fds();

    if (n > *max)
        *max = n;
    if (n < *min)
        *min = n;
}

/* Lets TORNDOWN messages still on their way arrive. */
static void settle(struct hv_part_guest *pg)
{
    while (hv_part_guest_poll(pg, 50) == 0)
        ;
}

/* The whole region, from its base: nothing of it is held any more. */
static int region_whole(struct hv_part_guest *pg)
{
    uint64_t gpa = 0;
    void *p = hv_part_guest_alloc_pages(pg, REGION_PAGES, &gpa);

    return p && gpa == GPA ? 0 : -ENOMEM;
}

/* Connect, the region, the VMBus handshake; the failure noted as `what`. */
static int guest_connect(struct script *s, struct hv_part_guest **pg,
                         const char *what)
{
    int rc = hv_part_guest_connect(sock_path, TMO, pg);

    if (rc)
        return note_fail(s, rc, what, 0);
    rc = hv_part_guest_add_memory(*pg, GPA, REGION_PAGES * 4096ull);
    if (!rc)
        rc = hv_part_guest_handshake(*pg, TMO);
    if (rc) {
        hv_part_guest_close(*pg);
        return note_fail(s, rc, what, 0);
    }
    return 0;
}

static int guest_run(struct script *s)
{
    struct hv_part_guest *pg;
    struct hv_part_guest_chan a, b;
    uint32_t ra, rb;
    int rc;

    if ((rc = guest_connect(s, &pg, "connect, memory or handshake")))
        return rc;
    ra = hv_vmbus_guest_offer_at(hv_part_guest_vmbus(pg), 0)->offer.child_relid;
    rb = hv_vmbus_guest_offer_at(hv_part_guest_vmbus(pg), 1)->offer.child_relid;
    s->fds_min = UINT32_MAX;
    for (unsigned i = 0; i < ROUNDS && !rc; i++) {
        if ((rc = hv_part_guest_open_chan(pg, ra, RING_PAGES, &a, TMO)))
            rc = note_fail(s, rc, "open A", i);
        else if ((rc = hv_part_guest_open_chan(pg, rb, RING_PAGES, &b, TMO)))
            rc = note_fail(s, rc, "open B", i);
        else if ((rc = hv_part_guest_close_chan(pg, &a, TMO)))
            rc = note_fail(s, rc, "close A", i);
        else if ((rc = hv_part_guest_open_chan(pg, ra, RING_PAGES, &a, TMO)))
            rc = note_fail(s, rc, "reopen A", i);
        else if ((rc = hv_part_guest_close_chan(pg, &b, TMO)))
            rc = note_fail(s, rc, "close B", i);
        else if ((rc = hv_part_guest_close_chan(pg, &a, TMO)))
            rc = note_fail(s, rc, "close A again", i);
        if (i == 0)
            s->fds_base = proc_self_fds();
        else
            note_fds(&s->fds_min, &s->fds_max);
    }
    if (!rc && (rc = region_whole(pg)) != 0)
        rc = note_fail(s, rc, "whole region after the rounds", ROUNDS);
    hv_part_guest_close(pg);
    if (rc)
        return rc;

    /* opens the host refuses, on a fresh connection */
    if ((rc = guest_connect(s, &pg, "reconnect")))
        return rc;
    atomic_store(&s->hs->refuse, true);
    s->rfds_min = UINT32_MAX;
    for (unsigned i = 0; i < REFUSED && !rc; i++) {
        rc = hv_part_guest_open_chan(pg, ra, RING_PAGES, &a, TMO);
        if (rc != -EIO) {
            rc = note_fail(s, rc, "refused open", i);
            break;
        }
        rc = 0;
        if (a.to_host_fd != -1 || a.from_host_fd != -1 || a.out || a.in)
            rc = note_fail(s, -EBADF, "refused open left state", i);
        if (i == 0)
            s->rfds_base = proc_self_fds();
        else
            note_fds(&s->rfds_min, &s->rfds_max);
    }
    atomic_store(&s->hs->refuse, false);
    settle(pg);
    if (!rc && (rc = region_whole(pg)) != 0)
        rc = note_fail(s, rc, "whole region after refusals", REFUSED);
    hv_part_guest_close(pg);
    return rc;
}

/* The netvsc offer that is not rescinded, waiting for it; RELID_RELEASED
 * for `released` once its rescind has arrived (0: none to wait for). */
static uint32_t wait_new_offer(struct hv_part_guest *pg, uint32_t released)
{
    struct hv_vmbus_guest *g = hv_part_guest_vmbus(pg);
    uint32_t relid = 0;

    for (int ms = 0; ms < TMO; ms++) {
        for (unsigned i = 0; released && i < hv_vmbus_guest_offer_count(g);
             i++) {
            const struct hv_vmbus_guest_offer *o = hv_vmbus_guest_offer_at(g, i);

            if (o->offer.child_relid == released && o->rescinded) {
                if (hv_vmbus_guest_relid_released(g, released) != 0)
                    return 0;
                released = 0;
            }
        }
        relid = hv_vmbus_guest_find_offer(g, &hv_guid_netvsc, 0);
        if (relid && !released)
            return relid;
        (void)hv_part_guest_poll(pg, 1);
    }
    return 0;
}

static int guest_readd(struct script *s)
{
    struct hv_part_guest *pg;
    struct hv_part_guest_chan a;
    uint32_t relid = 0;
    int rc;

    if ((rc = guest_connect(s, &pg, "connect")))
        return rc;
    s->fds_min = UINT32_MAX;
    s->fds_max = 0;
    for (unsigned i = 0; i < READDS && !rc; i++) {
        uint32_t old = relid;

        relid = wait_new_offer(pg, old);
        if (!relid || relid == old)
            rc = note_fail(s, -ETIMEDOUT, "new offer", i);
        else if ((rc = hv_part_guest_open_chan(pg, relid, RING_PAGES, &a,
                                               TMO)))
            rc = note_fail(s, rc, "open", i);
        else if ((rc = hv_part_guest_close_chan(pg, &a, TMO)))
            rc = note_fail(s, rc, "close", i);
        if (rc)
            break;
        settle(pg);
        if (i == 0)
            s->fds_base = proc_self_fds();
        else
            note_fds(&s->fds_min, &s->fds_max);
        atomic_store(&s->readd_relid, relid); /* host: rescind, offer anew */
    }
    hv_part_guest_close(pg);
    return rc;
}

static void *guest_readd_main(void *arg)
{
    struct script *s = arg;

    s->rc = guest_readd(s);
    atomic_store(&s->done, true);
    return NULL;
}

static void *guest_main(void *arg)
{
    struct script *s = arg;

    s->rc = guest_run(s);
    atomic_store(&s->done, true);
    return NULL;
}

/* The guest thread ended well, and the fds were flat after its first
 * `what` on. */
static void guest_ok_fds_flat(struct script *s, pthread_t t, const char *what)
{
    pthread_join(t, NULL);
    if (s->rc)
        fprintf(stderr, "guest: %s\n", s->why);
    assert_int_equal(s->rc, 0);
    print_message("fds: %u after %s 1, %u..%u afterwards\n", s->fds_base,
                  what, s->fds_min, s->fds_max);
    assert_int_equal(s->fds_min, s->fds_base);
    assert_int_equal(s->fds_max, s->fds_base);
}

static void test_reopen_flat(void **state)
{
    struct host_side hs = { 0 };
    struct hv_vmbus_offer_cfg cfg = { .if_type = hv_guid_netvsc };
    struct hv_part_host *h;
    struct script s;
    pthread_t t;
    (void)state;

    strcpy(dir, "/tmp/hv-reopen-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(sock_path, sizeof(sock_path), "%s/vm.sock", dir);
    assert_int_equal(hv_part_host_create(sock_path, &hops, &hs, &h), 0);
    for (uint8_t i = 0; i < 2; i++) {
        cfg.if_instance.b[0] = i;
        assert_int_equal(hv_vmbus_host_add_offer(hv_part_host_vmbus(h), &cfg,
                                                 NULL), 0);
    }
    memset(&s, 0, sizeof(s));
    s.hs = &hs;
    assert_int_equal(pthread_create(&t, NULL, guest_main, &s), 0);
    for (unsigned i = 0; i < 10000000 && !atomic_load(&s.done); i++)
        hv_part_host_run_once(h, 1);
    guest_ok_fds_flat(&s, t, "round");
    print_message("fds: %u after refusal 1, %u..%u afterwards\n",
                  s.rfds_base, s.rfds_min, s.rfds_max);
    assert_int_equal(s.rfds_min, s.rfds_base);
    assert_int_equal(s.rfds_max, s.rfds_base);
    for (int i = 0; i < 200 && hv_part_host_connected(h); i++)
        hv_part_host_run_once(h, 1);
    assert_int_equal(atomic_load(&hs.opens), 3 * ROUNDS);
    assert_int_equal(atomic_load(&hs.closes), 3 * ROUNDS);
    assert_int_equal(hv_vmbus_host_gpadl_count(hv_part_host_vmbus(h)), 0);
    hv_part_host_destroy(h);
    rmdir(dir);
}

static void test_readd_flat(void **state)
{
    struct host_side hs = { 0 };
    struct hv_vmbus_offer_cfg cfg = { .if_type = hv_guid_netvsc };
    struct hv_vmbus_host *vm;
    struct hv_part_host *h;
    struct script s;
    pthread_t t;
    unsigned readds = 0;
    (void)state;

    strcpy(dir, "/tmp/hv-readd-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(sock_path, sizeof(sock_path), "%s/vm.sock", dir);
    assert_int_equal(hv_part_host_create(sock_path, &hops, &hs, &h), 0);
    vm = hv_part_host_vmbus(h);
    assert_int_equal(hv_vmbus_host_add_offer(vm, &cfg, NULL), 0);
    memset(&s, 0, sizeof(s));
    s.hs = &hs;
    assert_int_equal(pthread_create(&t, NULL, guest_readd_main, &s), 0);
    for (unsigned i = 0; i < 10000000 && !atomic_load(&s.done); i++) {
        uint32_t relid = atomic_exchange(&s.readd_relid, 0);

        if (relid) { /* the NIC removed and added again (vm nic del/add) */
            readds++;
            cfg.if_instance.b[0] = (uint8_t)readds;
            cfg.if_instance.b[1] = (uint8_t)(readds >> 8);
            assert_int_equal(hv_vmbus_host_rescind(vm, relid), 0);
            assert_int_equal(hv_vmbus_host_add_offer(vm, &cfg, NULL), 0);
        }
        hv_part_host_run_once(h, 1);
    }
    guest_ok_fds_flat(&s, t, "re-add");
    assert_int_equal(atomic_load(&hs.opens), READDS);
    hv_part_host_destroy(h);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reopen_flat),
        cmocka_unit_test(test_readd_flat),
    };
    vsa_log_set_level(VSA_LOG_ERR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
