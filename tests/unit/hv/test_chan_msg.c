/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_chan_msg.c — objective: the VMBus control path (hv_chan_msg.c,
 * hv_vmbus_host.c, hv_vmbus_guest.c) follows spec vmbus.md §6-§8 exactly
 * and refuses everything else.
 *  * encode/decode round trip of every message type; every truncation and
 *    extension of every message is rejected (GPADL messages cut at a PFN
 *    boundary decode as FEWER PFNs, never as the same message, and the host
 *    then never completes that GPADL); field violations are -EBADMSG.
 *  * the full handshake driven by hv_vmbus_guest against hv_vmbus_host
 *    in-process over a SOCK_SEQPACKET socketpair: version negotiation with
 *    fallback, offers (netvsc class GUID), multi-message GPADL, open, data
 *    both ways over the rings, close, teardown, rescind (a device added
 *    again with the same instance is offered only once the guest released
 *    the rescinded offer), unload; iPXE's IC(3.0) → UNLOAD → IC(0.13)
 *    sequence; a rescinded channel released with its GPADLs still there
 *    leaves none of them behind.
 *  * a (connection state × message type) table: only the cells of the
 *    dispatch table are accepted, all others are counted and refused.
 *  * a guest request whose send fails leaves the guest's state as it was
 *    (GPADL not tearing, channel still open / still closed, rescinded
 *    offer kept, not UNLOADING), so it can be retried (bug: the state was
 *    changed before the send and never rolled back).
 *  * a violation closes that channel only; teardown of an in-use ring GPADL
 *    is deferred until close; 10^4 create/open/close/teardown cycles leave
 *    the GPADL count at its baseline (TESTS.md A.28).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "hv/hv_chan_msg.h"
#include "hv/hv_vmbus.h"
#include "hv_test_util.h"

/* ---- codec ---------------------------------------------------------------- */

static void sample(uint32_t type, struct hv_chan_msg *m)
{
    memset(m, 0, sizeof(*m));
    m->type = type;
    switch (type) {
    case HV_MSG_OFFERCHANNEL:
        m->u.offer.if_type = hv_guid_netvsc;
        for (int i = 0; i < 16; i++)
            m->u.offer.if_instance.b[i] = (uint8_t)(i + 1);
        m->u.offer.chn_flags = 0x204;
        m->u.offer.mmio_megabytes = 3;
        m->u.offer.user_def[0] = 9;
        m->u.offer.user_def[119] = 8;
        m->u.offer.sub_channel_index = 2;
        m->u.offer.child_relid = 5;
        m->u.offer.monitorid = 7;
        m->u.offer.monitor_allocated = 1;
        m->u.offer.dedicated_interrupt = 1;
        m->u.offer.connection_id = 21;
        break;
    case HV_MSG_RESCIND_CHANNELOFFER:
    case HV_MSG_CLOSECHANNEL:
    case HV_MSG_RELID_RELEASED:
        m->u.child_relid = 0xabcdef01;
        break;
    case HV_MSG_OPENCHANNEL:
        m->u.open = (struct hv_msg_open){ 1, 0x1234, 0xE1E10, 3, 4, { 0 } };
        m->u.open.user_data[5] = 0x55;
        break;
    case HV_MSG_OPENCHANNEL_RESULT:
        m->u.open_result = (struct hv_msg_open_result){ 1, 0x1234, 1 };
        break;
    case HV_MSG_GPADL_HEADER:
        m->u.gpadl_header.child_relid = 2;
        m->u.gpadl_header.gpadl = 0x18AE0001;
        m->u.gpadl_header.total_pfns = 30;
        m->u.gpadl_header.byte_count = 30 * 4096;
        m->u.gpadl_header.npfns = 26;
        for (unsigned i = 0; i < 26; i++)
            m->u.gpadl_header.pfns[i] = 0x100000000ull + i;
        break;
    case HV_MSG_GPADL_BODY:
        m->u.gpadl_body.msgnumber = 1;
        m->u.gpadl_body.gpadl = 0x18AE0001;
        m->u.gpadl_body.npfns = 4;
        for (unsigned i = 0; i < 4; i++)
            m->u.gpadl_body.pfns[i] = 0xfff00 + i;
        break;
    case HV_MSG_GPADL_CREATED:
        m->u.gpadl_created = (struct hv_msg_gpadl_created){ 2, 0xE1E10, 0 };
        break;
    case HV_MSG_GPADL_TEARDOWN:
        m->u.gpadl_teardown = (struct hv_msg_gpadl_teardown){ 2, 0xE1E10 };
        break;
    case HV_MSG_GPADL_TORNDOWN:
        m->u.gpadl = 0xE1E10;
        break;
    case HV_MSG_INITIATE_CONTACT:
        m->u.initiate = (struct hv_msg_initiate_contact){
            HV_VMBUS_VERSION_WIN10, 1, 0x1000, 0x2000, 0x3000 };
        break;
    case HV_MSG_VERSION_RESPONSE:
        m->u.version_response = (struct hv_msg_version_response){ 1, 2, 4 };
        break;
    default:
        break;
    }
}

static void test_roundtrip_all(void **state)
{
    static const size_t want[] = { 0, 196, 12, 8, 8, 148, 20, 12, 236, 48,
                                   20, 16, 12, 12, 40, 16, 8, 8 };
    (void)state;
    for (uint32_t t = 1; t <= HV_MSG_TYPE_MAX; t++) {
        struct hv_chan_msg m, d;
        uint8_t buf[HV_CHAN_MSG_MAX_SIZE + 8];
        int n;

        sample(t, &m);
        n = hv_chan_msg_encode(&m, buf, sizeof(buf));
        assert_int_equal(n, want[t]);
        assert_int_equal(buf[0], t);
        assert_int_equal(hv_chan_msg_decode(buf, (size_t)n, &d), 0);
        if (memcmp(&m, &d, sizeof(m)) != 0)
            fail_msg("round trip of %s differs", hv_chan_msg_type_name(t));
        assert_int_equal(hv_chan_msg_encode(&m, buf, (size_t)n - 1), -ENOSPC);
    }
    /* the netvsc class GUID on the wire (§8) */
    {
        static const uint8_t g[16] = { 0x63, 0x51, 0x61, 0xf8, 0x3e, 0xdf,
                                       0xc5, 0x46, 0x91, 0x3f, 0xf2, 0xd2,
                                       0xf9, 0x65, 0xed, 0x0e };
        struct hv_chan_msg m;
        uint8_t buf[256];
        sample(HV_MSG_OFFERCHANNEL, &m);
        assert_int_equal(hv_chan_msg_encode(&m, buf, sizeof(buf)), 196);
        assert_memory_equal(buf + 8, g, 16);
        assert_int_equal(buf[184], 5);  /* child_relid @184 */
        assert_int_equal(buf[180], 2);  /* sub_channel_index @180 */
        assert_int_equal(buf[192], 21); /* connection_id @192 */
    }
}

static void test_truncations(void **state)
{
    (void)state;
    for (uint32_t t = 1; t <= HV_MSG_TYPE_MAX; t++) {
        struct hv_chan_msg m, d;
        uint8_t buf[HV_CHAN_MSG_MAX_SIZE + 16];
        int n;

        sample(t, &m);
        n = hv_chan_msg_encode(&m, buf, sizeof(buf));
        for (size_t len = 0; len < (size_t)n; len++) {
            int rc = hv_chan_msg_decode(buf, len, &d);
            if (rc == 0) {
                /* only a GPADL message cut at a PFN boundary decodes, and
                 * then as fewer PFNs than were sent */
                if (t == HV_MSG_GPADL_HEADER)
                    assert_true(d.u.gpadl_header.npfns <
                                m.u.gpadl_header.npfns);
                else if (t == HV_MSG_GPADL_BODY)
                    assert_true(d.u.gpadl_body.npfns < m.u.gpadl_body.npfns);
                else
                    fail_msg("%s truncated to %zu accepted",
                             hv_chan_msg_type_name(t), len);
            } else {
                assert_int_equal(rc, -EBADMSG);
            }
        }
        /* extension by 1..8 bytes */
        memset(buf + n, 0, 16);
        for (size_t extra = 1; extra <= 8; extra++) {
            int rc = hv_chan_msg_decode(buf, (size_t)n + extra, &d);
            /* a GPADL_BODY one PFN longer is a valid, different body */
            if (rc == 0 && !(t == HV_MSG_GPADL_BODY && extra == 8))
                fail_msg("%s extended by %zu accepted",
                         hv_chan_msg_type_name(t), extra);
        }
    }
}

static void put32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

static void test_field_violations(void **state)
{
    struct hv_chan_msg m, d;
    uint8_t buf[256];
    int n;
    (void)state;

    memset(buf, 0, sizeof(buf));
    assert_int_equal(hv_chan_msg_decode(NULL, 8, &d), -EBADMSG);
    for (uint32_t t = 0; t < 64; t++) {
        put32(buf, t);
        if (t == 0 || t > HV_MSG_TYPE_MAX)
            for (size_t len = 8; len <= 240; len += 4)
                assert_int_equal(hv_chan_msg_decode(buf, len, &d), -EBADMSG);
    }
    put32(buf, 0xffffffff);
    assert_int_equal(hv_chan_msg_decode(buf, 8, &d), -EBADMSG);
    /* > 240 bytes */
    put32(buf, HV_MSG_GPADL_BODY);
    assert_int_equal(hv_chan_msg_decode(buf, 248, &d), -EBADMSG);
    /* GPADL_HEADER: rangecount 2, odd range_buflen, more PFNs than total */
    sample(HV_MSG_GPADL_HEADER, &m);
    n = hv_chan_msg_encode(&m, buf, sizeof(buf));
    assert_int_equal(hv_chan_msg_decode(buf, (size_t)n, &d), 0);
    buf[18] = 2;
    assert_int_equal(hv_chan_msg_decode(buf, (size_t)n, &d), -EBADMSG);
    buf[18] = 0;
    assert_int_equal(hv_chan_msg_decode(buf, (size_t)n, &d), -EBADMSG);
    buf[18] = 1;
    buf[16] = (uint8_t)(buf[16] + 1);
    assert_int_equal(hv_chan_msg_decode(buf, (size_t)n, &d), -EBADMSG);
    buf[16] = 8 + 8 * 10; /* total 10 < 26 carried */
    buf[17] = 0;
    assert_int_equal(hv_chan_msg_decode(buf, (size_t)n, &d), -EBADMSG);
    buf[16] = 8; /* total 0 */
    assert_int_equal(hv_chan_msg_decode(buf, 28, &d), -EBADMSG);
    /* offer with relid 0 / U32_MAX */
    sample(HV_MSG_OFFERCHANNEL, &m);
    n = hv_chan_msg_encode(&m, buf, sizeof(buf));
    put32(buf + 184, 0);
    assert_int_equal(hv_chan_msg_decode(buf, (size_t)n, &d), -EBADMSG);
    put32(buf + 184, 0xffffffff);
    assert_int_equal(hv_chan_msg_decode(buf, (size_t)n, &d), -EBADMSG);
    /* encoder refuses inconsistent structs */
    m.type = HV_MSG_GPADL_BODY;
    m.u.gpadl_body.npfns = 29;
    assert_int_equal(hv_chan_msg_encode(&m, buf, sizeof(buf)), -EINVAL);
    m.type = 99;
    assert_int_equal(hv_chan_msg_encode(&m, buf, sizeof(buf)), -EINVAL);
}

/* ---- host + guest over a socketpair --------------------------------------- */

#define GMEM_GPA 0x40000000ull
#define GMEM_PAGES 256u

struct pair {
    int sv[2]; /* [0] host end, [1] guest end */
    struct hv_mem *mem;
    uint8_t *gmem;
    struct hv_vmbus_host *h;
    struct hv_vmbus_guest *g;
    unsigned opens, closes;
    int refuse_open;
    unsigned torndown;
    int fail_send; /* guest sends fail with this (negative) when set */
};

static int host_send(void *ctx, const void *msg, size_t size)
{
    struct pair *p = ctx;
    return send(p->sv[0], msg, size, 0) == (ssize_t)size ? 0 : -EIO;
}

static int guest_send(void *ctx, const void *msg, size_t size)
{
    struct pair *p = ctx;
    if (p->fail_send)
        return p->fail_send;
    return send(p->sv[1], msg, size, 0) == (ssize_t)size ? 0 : -EIO;
}

static int up_open(void *ctx, struct hv_chan *ch)
{
    struct pair *p = ctx;
    (void)ch;
    p->opens++;
    return p->refuse_open;
}

static void up_close(void *ctx, struct hv_chan *ch)
{
    struct pair *p = ctx;
    (void)ch;
    p->closes++;
}

static void guest_event(void *ctx, const struct hv_chan_msg *m)
{
    struct pair *p = ctx;
    if (m->type == HV_MSG_GPADL_TORNDOWN)
        p->torndown++;
}

/* Delivers every queued message in both directions until quiet. */
static void pump(struct pair *p)
{
    uint8_t buf[512];
    bool moved = true;

    while (moved) {
        ssize_t n;
        moved = false;
        while ((n = recv(p->sv[0], buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
            hv_vmbus_host_handle_msg(p->h, buf, (size_t)n);
            moved = true;
        }
        while ((n = recv(p->sv[1], buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
            hv_vmbus_guest_handle_msg(p->g, buf, (size_t)n);
            moved = true;
        }
    }
}

static const struct hv_vmbus_host_ops host_ops = {
    .send = host_send, .chan_open = up_open, .chan_close = up_close };
static const struct hv_vmbus_guest_ops guest_ops = {
    .send = guest_send, .event = guest_event };

static struct pair *pair_new(const uint32_t *versions, unsigned nv)
{
    struct pair *p = calloc(1, sizeof(*p));
    assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, p->sv), 0);
    p->gmem = aligned_alloc(4096, GMEM_PAGES * 4096);
    memset(p->gmem, 0, GMEM_PAGES * 4096);
    assert_int_equal(hv_mem_create(&p->mem), 0);
    assert_int_equal(hv_mem_add_buffer(p->mem, p->gmem, GMEM_GPA,
                                       GMEM_PAGES * 4096), 0);
    assert_int_equal(hv_vmbus_host_create(&host_ops, p, &p->h), 0);
    assert_int_equal(hv_vmbus_host_connect(p->h, p->mem), 0);
    assert_int_equal(hv_vmbus_guest_create(&guest_ops, p, versions, nv, &p->g),
                     0);
    return p;
}

static void pair_free(struct pair *p)
{
    hv_vmbus_guest_destroy(p->g);
    hv_vmbus_host_destroy(p->h);
    hv_mem_put(p->mem);
    free(p->gmem);
    close(p->sv[0]);
    close(p->sv[1]);
    free(p);
}

static uint32_t add_netvsc(struct pair *p, uint8_t inst)
{
    struct hv_vmbus_offer_cfg cfg = { .if_type = hv_guid_netvsc,
                                      .chn_flags = 0 };
    uint32_t relid;
    cfg.if_instance.b[0] = inst;
    assert_int_equal(hv_vmbus_host_add_offer(p->h, &cfg, &relid), 0);
    return relid;
}

/* guest-side view of an opened channel */
struct gchan {
    uint32_t relid, gpadl;
    uint8_t *ring; /* page 0 = guest→host ring */
    struct hv_ring *out, *in;
};

static int guest_open(struct pair *p, uint32_t relid, uint32_t page0,
                      uint32_t pages_each, struct gchan *gc)
{
    uint64_t pfns[64];
    uint32_t npages = 2 * pages_each;
    struct hv_ring_cfg oc = { .role = HV_RING_WRITER,
                              .dsize = (pages_each - 1) * 4096 };
    struct hv_ring_cfg ic = { .role = HV_RING_READER,
                              .dsize = (pages_each - 1) * 4096 };
    int st;

    gc->relid = relid;
    gc->ring = p->gmem + (size_t)page0 * 4096;
    hv_ring_ctl_init(gc->ring);
    hv_ring_ctl_init(gc->ring + (size_t)pages_each * 4096);
    for (uint32_t i = 0; i < npages; i++)
        pfns[i] = (GMEM_GPA >> 12) + page0 + i;
    gc->gpadl = hv_vmbus_guest_next_gpadl_id(p->g);
    assert_int_equal(hv_vmbus_guest_gpadl_create(p->g, relid, gc->gpadl, pfns,
                                                 npages), 0);
    pump(p);
    st = hv_vmbus_guest_gpadl_status(p->g, gc->gpadl);
    if (st)
        return st;
    assert_int_equal(hv_vmbus_guest_open(p->g, relid, 0x77, gc->gpadl,
                                         pages_each), 0);
    pump(p);
    st = hv_vmbus_guest_open_status(p->g, relid);
    if (st)
        return st;
    assert_int_equal(hv_ring_create_buf(&oc, gc->ring, &gc->out), 0);
    assert_int_equal(hv_ring_create_buf(&ic, gc->ring +
                                        (size_t)pages_each * 4096, &gc->in), 0);
    return 0;
}

static void guest_close(struct pair *p, struct gchan *gc)
{
    hv_ring_destroy(gc->out);
    hv_ring_destroy(gc->in);
    gc->out = gc->in = NULL;
    assert_int_equal(hv_vmbus_guest_close(p->g, gc->relid), 0);
    assert_int_equal(hv_vmbus_guest_gpadl_teardown(p->g, gc->relid,
                                                   gc->gpadl), 0);
    pump(p);
    assert_int_equal(hv_vmbus_guest_gpadl_status(p->g, gc->gpadl), -ENOENT);
}

static void test_full_handshake(void **state)
{
    struct pair *p = pair_new(NULL, 0);
    uint32_t r1, r2;
    struct gchan gc = { 0 };
    uint8_t buf[512];
    struct hv_ring_pkt pkt;
    struct hv_chan *ch;
    bool sig;
    (void)state;

    r1 = add_netvsc(p, 1);
    r2 = add_netvsc(p, 2);
    assert_int_equal(r1, 1);
    assert_int_equal(hv_vmbus_guest_connect(p->g), 0);
    pump(p);
    assert_int_equal(hv_vmbus_guest_state(p->g), HV_GUEST_READY);
    assert_int_equal(hv_vmbus_guest_version(p->g), HV_VMBUS_VERSION_WIN10_V5_3);
    assert_int_equal(hv_vmbus_host_state(p->h), HV_VMBUS_READY);
    assert_int_equal(hv_vmbus_guest_offer_count(p->g), 2);
    assert_int_equal(hv_vmbus_guest_find_offer(p->g, &hv_guid_netvsc, 0), r1);

    /* 40 pages: GPADL_HEADER (26 PFNs) + one GPADL_BODY (14) */
    assert_int_equal(guest_open(p, r1, 0, 20, &gc), 0);
    assert_int_equal(p->opens, 1);
    ch = hv_vmbus_host_chan(p->h, r1);
    assert_int_equal(hv_chan_state(ch), HV_CHAN_OPEN);
    assert_int_equal(hv_ring_dsize(hv_chan_in_ring(ch)), 19 * 4096);
    /* host ORed feat_pending_send_sz into the ring it writes */
    assert_int_equal(ctl_get(gc.ring + 20 * 4096, HV_RING_OFF_FEATURES) & 1, 1);

    /* guest → host */
    assert_int_equal(hv_ring_write_inband(gc.out, 1, 42, "hello", 5, &sig), 0);
    assert_true(sig);
    assert_int_equal(hv_ring_read_pkt(hv_chan_in_ring(ch), buf, sizeof(buf),
                                      &pkt), 0);
    assert_int_equal(pkt.trans_id, 42);
    assert_memory_equal(pkt.data, "hello", 5);
    /* host → guest completion */
    assert_int_equal(hv_ring_write_comp(hv_chan_out_ring(ch), 42, NULL, 0,
                                        &sig), 0);
    assert_true(sig);
    assert_int_equal(hv_ring_read_pkt(gc.in, buf, sizeof(buf), &pkt), 0);
    assert_int_equal(pkt.type, HV_PKT_COMP);
    assert_int_equal(pkt.trans_id, 42);
    /* the guest→host ring refuses transfer-page packets (host accepts
     * INBAND, GPA-direct and COMP only) */
    {
        struct hv_ring_xfer_range rg = { 1, 0 };
        assert_int_equal(hv_ring_write_xfer(gc.out, 0, 1, 0xCAFE, &rg, 1,
                                            NULL, 0, NULL), 0);
        assert_int_equal(hv_ring_read_pkt(hv_chan_in_ring(ch), buf,
                                          sizeof(buf), &pkt), -EPROTO);
        assert_int_equal(hv_vmbus_host_check_rings(p->h), 1);
        assert_int_equal(hv_chan_state(ch), HV_CHAN_BROKEN);
        assert_int_equal(p->closes, 1);
    }
    guest_close(p, &gc);
    assert_int_equal(hv_chan_state(ch), HV_CHAN_OFFERED);
    assert_int_equal(hv_vmbus_host_gpadl_count(p->h), 0);

    /* rescind of the second offer, then RELID_RELEASED */
    assert_int_equal(hv_vmbus_host_rescind(p->h, r2), 0);
    pump(p);
    assert_true(hv_vmbus_guest_offer_at(p->g, 1)->rescinded);
    /* the same device added again (vm nic del + add under one name: the
     * same instance GUID) before the guest released the old offer: no
     * second offer of it until the guest has */
    {
        uint64_t msgs = hv_vmbus_host_stats(p->h)->msgs_out;
        uint32_t again = add_netvsc(p, 2);

        pump(p);
        assert_int_equal(hv_vmbus_guest_offer_count(p->g), 2);
        assert_int_equal(hv_vmbus_host_stats(p->h)->msgs_out, msgs);
        assert_int_equal(hv_chan_state(hv_vmbus_host_chan(p->h, again)),
                         HV_CHAN_IDLE);
        assert_int_equal(hv_vmbus_guest_relid_released(p->g, r2), 0);
        pump(p);
        assert_null(hv_vmbus_host_chan(p->h, r2));
        assert_int_equal(hv_chan_state(hv_vmbus_host_chan(p->h, again)),
                         HV_CHAN_OFFERED);
        assert_int_equal(hv_vmbus_guest_offer_count(p->g), 2);
        assert_int_equal(hv_vmbus_guest_offer_at(p->g, 1)->offer.child_relid,
                         again);
        assert_false(hv_vmbus_guest_offer_at(p->g, 1)->rescinded);
        /* gone again, released: as before */
        assert_int_equal(hv_vmbus_host_rescind(p->h, again), 0);
        pump(p);
        /* added and removed again while held back: forgotten at once, and
         * the release of the rescinded one offers nothing */
        {
            uint32_t held = add_netvsc(p, 2);

            pump(p);
            assert_int_equal(hv_chan_state(hv_vmbus_host_chan(p->h, held)),
                             HV_CHAN_IDLE);
            assert_int_equal(hv_vmbus_host_rescind(p->h, held), 0);
            assert_null(hv_vmbus_host_chan(p->h, held));
            msgs = hv_vmbus_host_stats(p->h)->msgs_out;
        }
        assert_int_equal(hv_vmbus_guest_relid_released(p->g, again), 0);
        pump(p);
        assert_null(hv_vmbus_host_chan(p->h, again));
        assert_int_equal(hv_vmbus_host_stats(p->h)->msgs_out, msgs);
        assert_int_equal(hv_vmbus_guest_offer_count(p->g), 1);
    }
    /* a live offer after ALLOFFERS_DELIVERED reaches the guest */
    add_netvsc(p, 3);
    pump(p);
    assert_int_equal(hv_vmbus_guest_offer_count(p->g), 2);
    /* unload */
    assert_int_equal(hv_vmbus_guest_unload(p->g), 0);
    pump(p);
    assert_int_equal(hv_vmbus_guest_state(p->g), HV_GUEST_IDLE);
    assert_int_equal(hv_vmbus_host_state(p->h), HV_VMBUS_CONNECTED);
    assert_int_equal(hv_vmbus_host_stats(p->h)->bad_msg, 0);
    pair_free(p);
}

static void test_version_fallback_and_ipxe(void **state)
{
    const uint32_t vs[] = { 0x00060000, 0x00070001, HV_VMBUS_VERSION_WIN8_1 };
    const uint32_t v30[] = { HV_VMBUS_VERSION_WIN8_1 };
    const uint32_t v013[] = { HV_VMBUS_VERSION_WS2008 };
    const uint32_t none[] = { 0x00060000 };
    struct pair *p = pair_new(vs, 3);
    (void)state;

    add_netvsc(p, 1);
    assert_int_equal(hv_vmbus_guest_connect(p->g), 0);
    pump(p);
    assert_int_equal(hv_vmbus_guest_state(p->g), HV_GUEST_READY);
    assert_int_equal(hv_vmbus_host_version(p->h), HV_VMBUS_VERSION_WIN8_1);
    hv_vmbus_guest_destroy(p->g);

    /* iPXE: IC(3.0), UNLOAD, IC(0.13) */
    assert_int_equal(hv_vmbus_guest_create(&guest_ops, p, v30, 1, &p->g), 0);
    assert_int_equal(hv_vmbus_guest_connect(p->g), 0);
    pump(p);
    assert_int_equal(hv_vmbus_guest_unload(p->g), 0);
    pump(p);
    assert_int_equal(hv_vmbus_guest_state(p->g), HV_GUEST_IDLE);
    hv_vmbus_guest_destroy(p->g);
    assert_int_equal(hv_vmbus_guest_create(&guest_ops, p, v013, 1, &p->g), 0);
    assert_int_equal(hv_vmbus_guest_connect(p->g), 0);
    pump(p);
    assert_int_equal(hv_vmbus_guest_state(p->g), HV_GUEST_READY);
    assert_int_equal(hv_vmbus_host_version(p->h), HV_VMBUS_VERSION_WS2008);
    assert_int_equal(hv_vmbus_guest_offer_count(p->g), 1);
    hv_vmbus_guest_destroy(p->g);

    /* nothing acceptable */
    assert_int_equal(hv_vmbus_guest_create(&guest_ops, p, none, 1, &p->g), 0);
    assert_int_equal(hv_vmbus_guest_connect(p->g), 0);
    pump(p);
    assert_int_equal(hv_vmbus_guest_state(p->g), HV_GUEST_FAILED);
    assert_int_equal(hv_vmbus_host_state(p->h), HV_VMBUS_CONNECTED);
    pair_free(p);
}

/* ---- state × message table ---------------------------------------------- */

struct cap {
    unsigned n;
};

static int cap_send(void *ctx, const void *msg, size_t size)
{
    (void)msg;
    (void)size;
    ((struct cap *)ctx)->n++;
    return 0;
}

static int hmsg(struct hv_vmbus_host *h, const struct hv_chan_msg *m)
{
    uint8_t buf[HV_CHAN_MSG_MAX_SIZE];
    int n = hv_chan_msg_encode(m, buf, sizeof(buf));
    assert_true(n > 0);
    return hv_vmbus_host_handle_msg(h, buf, (size_t)n);
}

/* A message of `type` that would be valid in the right state. */
static void good_msg(uint32_t type, struct hv_chan_msg *m)
{
    memset(m, 0, sizeof(*m));
    m->type = type;
    switch (type) {
    case HV_MSG_INITIATE_CONTACT:
        m->u.initiate.version = HV_VMBUS_VERSION_WIN10;
        break;
    case HV_MSG_GPADL_HEADER:
        m->u.gpadl_header = (struct hv_msg_gpadl_header){
            .child_relid = 1, .gpadl = 0x200, .byte_count = 4096,
            .total_pfns = 1, .npfns = 1 };
        m->u.gpadl_header.pfns[0] = (GMEM_GPA >> 12) + 100;
        break;
    case HV_MSG_GPADL_BODY:
        m->u.gpadl_body.gpadl = 0x300; /* a GPADL waiting for its body */
        m->u.gpadl_body.npfns = 1;
        m->u.gpadl_body.pfns[0] = (GMEM_GPA >> 12) + 101;
        break;
    case HV_MSG_GPADL_TEARDOWN:
        m->u.gpadl_teardown = (struct hv_msg_gpadl_teardown){ 1, 0x100 };
        break;
    case HV_MSG_OPENCHANNEL:
        m->u.open = (struct hv_msg_open){ .child_relid = 1, .openid = 9,
                                          .ring_gpadl = 0x100,
                                          .downstream_offset = 2 };
        break;
    case HV_MSG_CLOSECHANNEL:
    case HV_MSG_RELID_RELEASED:
    case HV_MSG_RESCIND_CHANNELOFFER:
        m->u.child_relid = 1;
        break;
    case HV_MSG_OFFERCHANNEL:
        sample(type, m);
        break;
    default:
        break;
    }
}

enum tstate { T_CONNECTED, T_VERSIONED, T_READY, T_OPEN, T_NSTATES };

/* Builds a host in state `s`: channel 1 offered with a complete 4-page
 * ring GPADL 0x100 and a pending 2-page GPADL 0x300 (1 PFN missing). */
static struct hv_vmbus_host *host_in(enum tstate s, struct hv_mem *mem,
                                     struct cap *cap)
{
    static const struct hv_vmbus_host_ops ops = { .send = cap_send };
    struct hv_vmbus_offer_cfg cfg = { .if_type = hv_guid_netvsc };
    struct hv_vmbus_host *h;
    struct hv_chan_msg m;

    assert_int_equal(hv_vmbus_host_create(&ops, cap, &h), 0);
    assert_int_equal(hv_vmbus_host_add_offer(h, &cfg, NULL), 0);
    assert_int_equal(hv_vmbus_host_connect(h, mem), 0);
    if (s == T_CONNECTED)
        return h;
    good_msg(HV_MSG_INITIATE_CONTACT, &m);
    assert_int_equal(hmsg(h, &m), 0);
    if (s == T_VERSIONED)
        return h;
    good_msg(HV_MSG_REQUESTOFFERS, &m);
    assert_int_equal(hmsg(h, &m), 0);
    m.type = HV_MSG_GPADL_HEADER;
    m.u.gpadl_header = (struct hv_msg_gpadl_header){
        .child_relid = 1, .gpadl = 0x100, .byte_count = 4 * 4096,
        .total_pfns = 4, .npfns = 4 };
    for (unsigned i = 0; i < 4; i++)
        m.u.gpadl_header.pfns[i] = (GMEM_GPA >> 12) + i;
    assert_int_equal(hmsg(h, &m), 0);
    m.u.gpadl_header.gpadl = 0x300;
    m.u.gpadl_header.byte_count = 2 * 4096;
    m.u.gpadl_header.total_pfns = 2;
    m.u.gpadl_header.npfns = 1;
    m.u.gpadl_header.pfns[0] = (GMEM_GPA >> 12) + 10;
    assert_int_equal(hmsg(h, &m), 0);
    if (s == T_READY)
        return h;
    good_msg(HV_MSG_OPENCHANNEL, &m);
    assert_int_equal(hmsg(h, &m), 0);
    assert_int_equal(hv_chan_state(hv_vmbus_host_chan(h, 1)), HV_CHAN_OPEN);
    return h;
}

static void test_state_table(void **state)
{
    /* 1 = accepted (0), 0 = refused (-EPROTO).  Columns: message types
     * 1..17.  Host→guest types (1,2,4,6,10,12,15,17) are never accepted. */
    static const int8_t table[T_NSTATES][HV_MSG_TYPE_MAX + 1] = {
        /*            1  2  3  4  5  6  7  8  9 10 11 12 13 14 15 16 17 */
        [T_CONNECTED] = { -1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0 },
        [T_VERSIONED] = { -1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0 },
        [T_READY] =     { -1, 0, 0, 0, 0, 1, 0, 0, 1, 1, 0, 1, 0, 0, 1, 0, 1, 0 },
        [T_OPEN] =      { -1, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 1, 0, 0, 1, 0, 1, 0 },
    };
    uint8_t *gmem = aligned_alloc(4096, 256 * 4096);
    struct hv_mem *mem;
    unsigned cells = 0;
    (void)state;

    memset(gmem, 0, 256 * 4096);
    assert_int_equal(hv_mem_create(&mem), 0);
    assert_int_equal(hv_mem_add_buffer(mem, gmem, GMEM_GPA, 256 * 4096), 0);
    for (unsigned s = 0; s < T_NSTATES; s++)
        for (uint32_t t = 1; t <= HV_MSG_TYPE_MAX; t++) {
            struct cap cap = { 0 };
            struct hv_vmbus_host *h = host_in((enum tstate)s, mem, &cap);
            struct hv_chan_msg m;
            uint64_t before = hv_vmbus_host_stats(h)->bad_state;
            int rc;

            good_msg(t, &m);
            rc = hmsg(h, &m);
            if (table[s][t] == 1 && rc != 0)
                fail_msg("state %u msg %s: refused (%d)", s,
                         hv_chan_msg_type_name(t), rc);
            if (table[s][t] == 0) {
                if (rc != -EPROTO)
                    fail_msg("state %u msg %s: accepted", s,
                             hv_chan_msg_type_name(t));
                assert_true(hv_vmbus_host_stats(h)->bad_state +
                            hv_vmbus_host_stats(h)->bad_gpadl > before);
            }
            /* the connection always survives */
            assert_int_not_equal(hv_vmbus_host_state(h), HV_VMBUS_DISCONNECTED);
            /* a refused message naming the open channel closed it */
            if (s == T_OPEN && table[s][t] == 0 &&
                (t == HV_MSG_OPENCHANNEL || t == HV_MSG_RELID_RELEASED))
                assert_int_equal(hv_chan_state(hv_vmbus_host_chan(h, 1)),
                                 HV_CHAN_BROKEN);
            hv_vmbus_host_destroy(h);
            cells++;
        }
    assert_int_equal(cells, T_NSTATES * HV_MSG_TYPE_MAX);
    hv_mem_put(mem);
    free(gmem);
}

/* Truncating a single-message GPADL at a PFN boundary never completes it,
 * a bad PFN/shape/duplicate is answered with status 1, counts are exact. */
static void test_gpadl_messages(void **state)
{
    struct pair *p = pair_new(NULL, 0);
    uint32_t r1 = add_netvsc(p, 1);
    uint64_t pfns[60];
    struct hv_chan_msg m;
    uint8_t buf[256];
    int n;
    (void)state;

    assert_int_equal(hv_vmbus_guest_connect(p->g), 0);
    pump(p);
    for (unsigned i = 0; i < 60; i++)
        pfns[i] = (GMEM_GPA >> 12) + i;
    /* valid 60 pages: header 26 + bodies 28 + 6 */
    assert_int_equal(hv_vmbus_guest_gpadl_create(p->g, r1, 0x10, pfns, 60), 0);
    pump(p);
    assert_int_equal(hv_vmbus_guest_gpadl_status(p->g, 0x10), 0);
    /* duplicate id → status 1, original untouched */
    assert_int_equal(hv_vmbus_guest_gpadl_create(p->g, r1, 0x11, pfns, 2), 0);
    pump(p);
    m.type = HV_MSG_GPADL_HEADER;
    m.u.gpadl_header = (struct hv_msg_gpadl_header){
        .child_relid = r1, .gpadl = 0x10, .byte_count = 4096,
        .total_pfns = 1, .npfns = 1 };
    m.u.gpadl_header.pfns[0] = pfns[0];
    assert_int_equal(hmsg(p->h, &m), -EPROTO);
    assert_int_equal(hv_vmbus_host_gpadl_count(p->h), 2);
    /* PFN outside guest memory → status 1 once the count is reached */
    pfns[5] = 0x12345678;
    assert_int_equal(hv_vmbus_guest_gpadl_create(p->g, r1, 0x12, pfns, 30), 0);
    pump(p);
    assert_int_equal(hv_vmbus_guest_gpadl_status(p->g, 0x12), -EIO);
    assert_int_equal(hv_vmbus_host_gpadl_count(p->h), 2);
    /* wrong shape: byte_offset != 0 */
    m.u.gpadl_header.gpadl = 0x13;
    m.u.gpadl_header.byte_offset = 8;
    assert_int_equal(hmsg(p->h, &m), -EPROTO);
    /* header count 2, then a body with 2 more PFNs than announced */
    m.u.gpadl_header = (struct hv_msg_gpadl_header){
        .child_relid = r1, .gpadl = 0x14, .byte_count = 2 * 4096,
        .total_pfns = 2, .npfns = 1 };
    m.u.gpadl_header.pfns[0] = (GMEM_GPA >> 12);
    assert_int_equal(hmsg(p->h, &m), 0);
    m.type = HV_MSG_GPADL_BODY;
    m.u.gpadl_body = (struct hv_msg_gpadl_body){ .gpadl = 0x14, .npfns = 2 };
    assert_int_equal(hmsg(p->h, &m), -EPROTO);
    assert_null(hv_vmbus_host_gpadl_get(p->h, r1, 0x14));
    /* truncated single-message header: never completes */
    m.type = HV_MSG_GPADL_HEADER;
    m.u.gpadl_header = (struct hv_msg_gpadl_header){
        .child_relid = r1, .gpadl = 0x15, .byte_count = 3 * 4096,
        .total_pfns = 3, .npfns = 3 };
    n = hv_chan_msg_encode(&m, buf, sizeof(buf));
    assert_int_equal(hv_vmbus_host_handle_msg(p->h, buf, (size_t)n - 8), 0);
    assert_null(hv_vmbus_host_gpadl_get(p->h, r1, 0x15));
    assert_true(hv_vmbus_host_stats(p->h)->bad_gpadl >= 4);
    pair_free(p);
}

/* Discards what the host sent the guest (tests that talk to the host with
 * raw messages). */
static void drain_guest(struct pair *p)
{
    uint8_t buf[512];

    while (recv(p->sv[1], buf, sizeof(buf), MSG_DONTWAIT) > 0)
        ;
}

/* GPADL_HEADER `id` on `relid`: `total` pages announced, `npfns` sent. */
static int raw_gpadl(struct pair *p, uint32_t relid, uint32_t id,
                     uint32_t total, uint32_t npfns)
{
    struct hv_chan_msg m = { .type = HV_MSG_GPADL_HEADER };

    m.u.gpadl_header = (struct hv_msg_gpadl_header){
        .child_relid = relid, .gpadl = id, .byte_count = total * 4096,
        .total_pfns = total, .npfns = npfns };
    for (uint32_t i = 0; i < npfns; i++)
        m.u.gpadl_header.pfns[i] = (GMEM_GPA >> 12) + 200 + i;
    return hmsg(p->h, &m);
}

/* A guest that releases a rescinded channel without tearing its GPADLs
 * down leaves none behind: they are dropped (gpadl_orphaned, no TORNDOWN),
 * the other channel's stay, and 20 hot-remove cycles of a NIC with 64
 * GPADLs each (1,280 > HV_GPADL_MAX_TOTAL) all succeed with the same ids
 * (bug: they stayed until the VM disconnected, so the second cycle's ids
 * were refused as duplicates and the partition's table filled up). */
static void test_released_channel_gpadls(void **state)
{
    struct pair *p = pair_new(NULL, 0);
    uint32_t keep = add_netvsc(p, 1);
    struct gchan gc = { 0 };
    struct hv_chan_msg m = { .type = HV_MSG_RELID_RELEASED };
    const struct hv_stats *st = hv_vmbus_host_stats(p->h);
    struct hv_gpadl *kg;
    (void)state;

    assert_int_equal(hv_vmbus_guest_connect(p->g), 0);
    pump(p);
    assert_int_equal(raw_gpadl(p, keep, 0x7000, 1, 1), 0);
    drain_guest(p);
    /* rescinded while open: the ring GPADL goes with the channel */
    {
        uint32_t r = add_netvsc(p, 2);

        pump(p);
        assert_int_equal(guest_open(p, r, 0, 4, &gc), 0);
        assert_int_equal(hv_vmbus_host_gpadl_count(p->h), 2);
        assert_int_equal(hv_vmbus_host_rescind(p->h, r), 0);
        pump(p);
        assert_int_equal(hv_vmbus_guest_relid_released(p->g, r), 0);
        pump(p);
        assert_null(hv_vmbus_host_chan(p->h, r));
        assert_int_equal(hv_vmbus_host_gpadl_count(p->h), 1);
        assert_int_equal(st->gpadl_orphaned, 1);
        hv_ring_destroy(gc.out);
        hv_ring_destroy(gc.in);
    }
    for (unsigned cycle = 0; cycle < 20; cycle++) {
        uint32_t r = add_netvsc(p, 3);

        for (uint32_t i = 0; i < 63; i++)
            assert_int_equal(raw_gpadl(p, r, 0x1000 + i, 1, 1), 0);
        /* and one still waiting for its body */
        assert_int_equal(raw_gpadl(p, r, 0x1000 + 63, 2, 1), 0);
        assert_int_equal(hv_vmbus_host_gpadl_count(p->h), 1 + 64);
        assert_int_equal(hv_vmbus_host_rescind(p->h, r), 0);
        m.u.child_relid = r;
        assert_int_equal(hmsg(p->h, &m), 0);
        drain_guest(p);
        assert_null(hv_vmbus_host_chan(p->h, r));
        assert_int_equal(hv_vmbus_host_gpadl_count(p->h), 1);
    }
    assert_int_equal(st->gpadl_orphaned, 1 + 20 * 64);
    assert_int_equal(st->gpadl_torndown, 0);
    assert_int_equal(st->bad_gpadl, 0);
    assert_int_equal(st->msgs_lost, 0);
    kg = hv_vmbus_host_gpadl_get(p->h, keep, 0x7000);
    assert_non_null(kg);
    hv_gpadl_put(kg);
    pair_free(p);
}

/* A violation closes that channel only; teardown of the ring GPADL of an
 * open channel is deferred until close; 10^4 cycles keep counts flat. */
static void test_isolation_and_repetition(void **state)
{
    struct pair *p = pair_new(NULL, 0);
    uint32_t r1 = add_netvsc(p, 1), r2 = add_netvsc(p, 2);
    struct gchan a = { 0 }, b = { 0 };
    uint8_t buf[256];
    struct hv_ring_pkt pkt;
    struct hv_chan *c1, *c2;
    (void)state;

    assert_int_equal(hv_vmbus_guest_connect(p->g), 0);
    pump(p);
    assert_int_equal(guest_open(p, r1, 0, 2, &a), 0);
    assert_int_equal(guest_open(p, r2, 8, 2, &b), 0);
    c1 = hv_vmbus_host_chan(p->h, r1);
    c2 = hv_vmbus_host_chan(p->h, r2);
    /* hostile: out-of-range write_index on channel 1 */
    ctl_set(a.ring, HV_RING_OFF_WRITE_INDEX, 0x7fffffff);
    assert_int_equal(hv_ring_read_pkt(hv_chan_in_ring(c1), buf, sizeof(buf),
                                      &pkt), -EPROTO);
    assert_int_equal(hv_vmbus_host_check_rings(p->h), 1);
    assert_int_equal(hv_chan_state(c1), HV_CHAN_BROKEN);
    assert_int_equal(hv_chan_stats(c1)->bad_index, 1);
    assert_int_equal(hv_chan_stats(c1)->chan_violation_closed, 1);
    /* channel 2 unaffected */
    assert_int_equal(hv_chan_state(c2), HV_CHAN_OPEN);
    assert_int_equal(hv_ring_write_inband(b.out, 0, 5, "x", 1, NULL), 0);
    assert_int_equal(hv_ring_read_pkt(hv_chan_in_ring(c2), buf, sizeof(buf),
                                      &pkt), 0);
    /* reopen of a broken channel is refused until the guest closes it */
    assert_int_equal(hv_vmbus_guest_open(p->g, r1, 1, a.gpadl, 2), 0);
    pump(p);
    assert_int_equal(hv_chan_state(c1), HV_CHAN_BROKEN);
    hv_ring_destroy(a.out);
    hv_ring_destroy(a.in);
    a.out = a.in = NULL;
    ctl_set(a.ring, HV_RING_OFF_WRITE_INDEX, 0);
    /* deferred teardown: ring GPADL of the open channel 2 */
    p->torndown = 0;
    assert_int_equal(hv_vmbus_guest_gpadl_teardown(p->g, r2, b.gpadl), 0);
    pump(p);
    assert_int_equal(p->torndown, 0);
    assert_int_equal(hv_chan_state(c2), HV_CHAN_OPEN);
    assert_int_equal(hv_vmbus_guest_close(p->g, r2), 0);
    pump(p);
    assert_int_equal(p->torndown, 1);
    hv_ring_destroy(b.out);
    hv_ring_destroy(b.in);
    b.out = b.in = NULL;
    /* close the broken channel, tear its GPADL down: baseline */
    assert_int_equal(hv_vmbus_guest_close(p->g, r1), 0);
    assert_int_equal(hv_vmbus_guest_gpadl_teardown(p->g, r1, a.gpadl), 0);
    pump(p);
    assert_int_equal(hv_vmbus_host_gpadl_count(p->h), 0);

    /* TESTS.md A.28: 10^4 cycles, counts stay flat */
    for (unsigned i = 0; i < 10000; i++) {
        struct gchan c = { 0 };
        assert_int_equal(guest_open(p, r1, 16, 2, &c), 0);
        guest_close(p, &c);
        assert_int_equal(hv_vmbus_host_gpadl_count(p->h), 0);
    }
    assert_int_equal(p->opens, p->closes);
    pair_free(p);
}

/* TESTS.md A.27 (hv part): a guest signalling in a tight loop with no
 * work costs the host one wakeup: the eventfd coalesces, one ack drains
 * everything, and the channel's counters show one received signal. */
static void test_signal_storm_coalesces(void **state)
{
    struct pair *p = pair_new(NULL, 0);
    uint32_t r1 = add_netvsc(p, 1);
    struct gchan gc = { 0 };
    struct hv_chan *ch;
    int in = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    int sv[2], out;
    uint64_t one = 1, v;
    uint8_t buf[64];
    struct hv_ring_pkt pkt;
    (void)state;

    assert_int_equal(hv_vmbus_guest_connect(p->g), 0);
    pump(p);
    assert_int_equal(guest_open(p, r1, 0, 2, &gc), 0);
    ch = hv_vmbus_host_chan(p->h, r1);
    /* host→guest is a socketpair (hv_vmbus.h, Signals): out is the
     * guest's end */
    assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0,
                                sv), 0);
    out = sv[0];
    hv_chan_set_signal_fds(ch, in, sv[1]);
    for (unsigned i = 0; i < 100000; i++)
        assert_int_equal(write(in, &one, 8), 8);
    assert_int_equal(hv_chan_ack_signal(ch), 100000);
    assert_int_equal(hv_chan_ack_signal(ch), 0);
    assert_int_equal(hv_chan_stats(ch)->signals_received, 1);
    /* no work was pending: the ring is empty and stays sane */
    assert_int_equal(hv_ring_read_pkt(hv_chan_in_ring(ch), buf, sizeof(buf),
                                      &pkt), -EAGAIN);
    assert_int_equal(hv_chan_notify_guest(ch), 0);
    assert_int_equal(read(out, &v, 8), 8);
    assert_int_equal(v, 1);
    assert_int_equal(hv_chan_stats(ch)->signals_sent, 1);
    guest_close(p, &gc);
    hv_chan_set_signal_fds(ch, -1, -1);
    close(in);
    close(out);
    close(sv[1]);
    pair_free(p);
}

/* Bug (review): hv_vmbus_guest changed its state before the send and
 * kept it when the send failed: a GPADL stayed "tearing" (a retry was
 * refused -ENOENT, its status read -EINPROGRESS forever), a channel read
 * closed while the host still had it open, an open read in progress with
 * no OPENCHANNEL sent, a rescinded offer was forgotten before the host
 * heard RELID_RELEASED, and the connection stayed UNLOADING. */
static void test_send_failure_rolls_back(void **state)
{
    struct pair *p = pair_new(NULL, 0);
    struct gchan gc = { 0 };
    uint32_t r1, r2;
    (void)state;

    r1 = add_netvsc(p, 1);
    r2 = add_netvsc(p, 2);
    assert_int_equal(hv_vmbus_guest_connect(p->g), 0);
    pump(p);
    assert_int_equal(hv_vmbus_guest_state(p->g), HV_GUEST_READY);
    assert_int_equal(guest_open(p, r1, 0, 4, &gc), 0);

    p->fail_send = -EPIPE;
    /* GPADL teardown */
    assert_int_equal(hv_vmbus_guest_gpadl_teardown(p->g, r1, gc.gpadl),
                     -EPIPE);
    assert_int_equal(hv_vmbus_guest_gpadl_status(p->g, gc.gpadl), 0);
    /* CLOSECHANNEL */
    assert_int_equal(hv_vmbus_guest_close(p->g, r1), -EPIPE);
    assert_int_equal(hv_vmbus_guest_open_status(p->g, r1), 0);
    /* OPENCHANNEL (of the other offer) */
    assert_int_equal(hv_vmbus_guest_open(p->g, r2, 0x78, gc.gpadl, 4),
                     -EPIPE);
    assert_int_equal(hv_vmbus_guest_open_status(p->g, r2), -ENOENT);
    /* RELID_RELEASED of a rescinded offer */
    p->fail_send = 0;
    assert_int_equal(hv_vmbus_host_rescind(p->h, r2), 0);
    pump(p);
    p->fail_send = -EPIPE;
    assert_int_equal(hv_vmbus_guest_relid_released(p->g, r2), -EPIPE);
    assert_int_equal(hv_vmbus_guest_offer_count(p->g), 2);
    /* UNLOAD */
    assert_int_equal(hv_vmbus_guest_unload(p->g), -EPIPE);
    assert_int_equal(hv_vmbus_guest_state(p->g), HV_GUEST_READY);

    /* each one succeeds when retried */
    p->fail_send = 0;
    assert_int_equal(hv_vmbus_guest_relid_released(p->g, r2), 0);
    assert_int_equal(hv_vmbus_guest_offer_count(p->g), 1);
    guest_close(p, &gc);
    assert_int_equal(hv_vmbus_guest_unload(p->g), 0);
    pump(p);
    assert_int_equal(hv_vmbus_guest_state(p->g), HV_GUEST_IDLE);
    assert_int_equal(hv_vmbus_host_stats(p->h)->bad_msg, 0);
    pair_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_all),
        cmocka_unit_test(test_truncations),
        cmocka_unit_test(test_field_violations),
        cmocka_unit_test(test_full_handshake),
        cmocka_unit_test(test_version_fallback_and_ipxe),
        cmocka_unit_test(test_state_table),
        cmocka_unit_test(test_gpadl_messages),
        cmocka_unit_test(test_released_channel_gpadls),
        cmocka_unit_test(test_isolation_and_repetition),
        cmocka_unit_test(test_signal_storm_coalesces),
        cmocka_unit_test(test_send_failure_rolls_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
