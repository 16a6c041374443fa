/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_netvsp_port.c — objective: the synthetic NIC switch port
 * (vsp-net/netvsp_port.c) handles every packet the guest puts on its ring,
 * whatever the service budget.
 *
 * Regression test for the bug fixed in netvsp_port_service().  It read (and
 * so consumed) a ring packet and only then checked SERVICE_BUDGET (256).
 * When the budget had run out it broke out of the loop and the packet it
 * had just read was lost.  A guest that queued more than 256 packets
 * before one service call lost packet 257 of every batch without being
 * told.  Here the guest writes 300 NVSP INITs before the first service
 * call, each with a version the host refuses, so each is answered
 * (INIT_COMPLETE, FAILURE) and legal in WAIT_INIT.  The test checks:
 *  * the first service call handles exactly the budget (256) and wakes its
 *    own fd for the rest; the next call handles the other 44;
 *  * the VSP counted 300 packets (pkts_in) and 300 refused INITs;
 *  * the guest receives 300 completions with trans_ids 1..300 in order,
 *    with no gap.
 * With the bug, packet 257 goes missing: pkts_in is 299 and trans_id 257
 * never comes back.
 *
 * Connect / disconnect (netvsp_port_set_connected): the state is kept
 * across channel attach and detach; a disconnected port's link stays down
 * whatever the guest does, its VSP starts with the link down (so the guest
 * reads OID_GEN_MEDIA_CONNECT_STATUS "disconnected"; the VSP side of that,
 * and the MEDIA_(DIS)CONNECT indications, are in test_vsp_vsc.c, test_link)
 * and the stats say so.
 *
 * How: the EAL runs in this process (no hugepages, one datapath lcore that
 * never sees the port: it is opened but not published), the switch port is
 * real (netvsp_port_create), and the channel is a real hv_vmbus_host
 * channel opened by an in-process hv_vmbus_guest over a socketpair, with
 * its rings in a plain buffer registered as guest memory.
 */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include <rte_eal.h>
#include <rte_errno.h>

#include "common/vsa_log.h"
#include "hv/hv_mem.h"
#include "hv/hv_ring.h"
#include "hv/hv_vmbus.h"
#include "vsp-net/netvsp_port.h"
#include "vsp-net/nvsp.h"
#include "vswitch/vswitch.h"

#include "tests/unit/vsp-net/port_test_eal.h"

#define GMEM_GPA 0x40000000ull
#define GMEM_PAGES 64u
#define RING_PAGES 16u /* per direction: 15 data pages, 300 × 64 bytes fit */
#define NPKTS 300u
#define BUDGET 256u   /* SERVICE_BUDGET of netvsp_port.c */
#define BAD_VERSION 0x30000u /* between v1 and v4: refused with FAILURE */

static struct {
    struct vsw *sw;
} g;

/* ---- an in-process VMBus host + guest pair ------------------------------ */

struct pair {
    int sv[2]; /* [0] host end, [1] guest end */
    struct hv_mem *mem;
    uint8_t *gmem;
    struct hv_vmbus_host *h;
    struct hv_vmbus_guest *vg;
};

static int host_send(void *ctx, const void *msg, size_t size)
{
    struct pair *p = ctx;
    return send(p->sv[0], msg, size, 0) == (ssize_t)size ? 0 : -EIO;
}

static int guest_send(void *ctx, const void *msg, size_t size)
{
    struct pair *p = ctx;
    return send(p->sv[1], msg, size, 0) == (ssize_t)size ? 0 : -EIO;
}

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
            hv_vmbus_guest_handle_msg(p->vg, buf, (size_t)n);
            moved = true;
        }
    }
}

static const struct hv_vmbus_host_ops host_ops = { .send = host_send };
static const struct hv_vmbus_guest_ops guest_ops = { .send = guest_send };

/* Opens the netvsc channel; the guest's rings in *out / *in. */
static struct hv_chan *pair_open(struct pair *p, struct hv_ring **out,
                                 struct hv_ring **in)
{
    struct hv_vmbus_offer_cfg cfg = { .if_type = hv_guid_netvsc };
    struct hv_ring_cfg oc = { .role = HV_RING_WRITER,
                              .dsize = (RING_PAGES - 1) * 4096 };
    struct hv_ring_cfg ic = { .role = HV_RING_READER,
                              .dsize = (RING_PAGES - 1) * 4096 };
    uint64_t pfns[2 * RING_PAGES];
    uint32_t relid, id;

    assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, p->sv), 0);
    p->gmem = aligned_alloc(4096, GMEM_PAGES * 4096);
    assert_non_null(p->gmem);
    memset(p->gmem, 0, GMEM_PAGES * 4096);
    assert_int_equal(hv_mem_create(&p->mem), 0);
    assert_int_equal(hv_mem_add_buffer(p->mem, p->gmem, GMEM_GPA,
                                       GMEM_PAGES * 4096), 0);
    assert_int_equal(hv_vmbus_host_create(&host_ops, p, &p->h), 0);
    assert_int_equal(hv_vmbus_host_connect(p->h, p->mem), 0);
    assert_int_equal(hv_vmbus_host_add_offer(p->h, &cfg, &relid), 0);
    assert_int_equal(hv_vmbus_guest_create(&guest_ops, p, NULL, 0, &p->vg),
                     0);
    assert_int_equal(hv_vmbus_guest_connect(p->vg), 0);
    pump(p);
    assert_int_equal(hv_vmbus_guest_state(p->vg), HV_GUEST_READY);

    hv_ring_ctl_init(p->gmem);
    hv_ring_ctl_init(p->gmem + RING_PAGES * 4096);
    for (uint32_t i = 0; i < 2 * RING_PAGES; i++)
        pfns[i] = (GMEM_GPA >> 12) + i;
    id = hv_vmbus_guest_next_gpadl_id(p->vg);
    assert_int_equal(hv_vmbus_guest_gpadl_create(p->vg, relid, id, pfns,
                                                 2 * RING_PAGES), 0);
    pump(p);
    assert_int_equal(hv_vmbus_guest_gpadl_status(p->vg, id), 0);
    assert_int_equal(hv_vmbus_guest_open(p->vg, relid, 1, id, RING_PAGES), 0);
    pump(p);
    assert_int_equal(hv_vmbus_guest_open_status(p->vg, relid), 0);
    assert_int_equal(hv_ring_create_buf(&oc, p->gmem, out), 0);
    assert_int_equal(hv_ring_create_buf(&ic, p->gmem + RING_PAGES * 4096, in),
                     0);
    return hv_vmbus_host_chan(p->h, relid);
}

static void pair_free(struct pair *p)
{
    hv_vmbus_guest_destroy(p->vg);
    hv_vmbus_host_destroy(p->h);
    hv_mem_put(p->mem);
    free(p->gmem);
    close(p->sv[0]);
    close(p->sv[1]);
}

/* ---- helpers -------------------------------------------------------------- */

/* VSP counter `name` of the attached channel (0 when absent). */
static uint64_t vsp_stat(struct netvsp_port *np, const char *name)
{
    json_t *o = netvsp_port_stats_json(np);
    json_t *v;
    uint64_t r = 0;

    assert_non_null(o);
    v = json_object_get(json_object_get(o, "vsp"), name);
    if (json_is_integer(v))
        r = (uint64_t)json_integer_value(v);
    json_decref(o);
    return r;
}

static bool fd_readable(int fd)
{
    struct pollfd pf = { .fd = fd, .events = POLLIN };

    return poll(&pf, 1, 0) == 1 && (pf.revents & POLLIN);
}

/* ---- the test ---------------------------------------------------------------- */

static void test_service_budget_loses_nothing(void **state)
{
    static uint8_t buf[4096];
    struct vsa_mac mac = { { 0x02, 0, 0, 0, 0x42, 0x01 } };
    struct vsa_errmsg em;
    struct netvsp_port *np;
    struct vsw_port *port;
    struct hv_ring *gout, *gin;
    struct hv_ring_pkt pkt;
    struct pair p;
    struct hv_chan *ch;
    uint8_t msg[VSPN_NVSP_ENCODE_MAX];
    struct vspn_nvsp_msg m = { .type = VSPN_NVSP_INIT };
    uint64_t expect_tid = 1;
    unsigned answers = 0;
    int n;
    (void)state;

    memset(&p, 0, sizeof(p));
    ch = pair_open(&p, &gout, &gin);
    assert_non_null(ch);
    assert_int_equal(netvsp_port_create(g.sw, "vm.nic0", &mac, 1500, &np,
                                        &port, &em), 0);
    assert_int_equal(netvsp_port_attach(np, ch, p.h, p.mem), 0);

    /* the guest queues 300 packets before the host looks */
    m.u.init.min_ver = m.u.init.max_ver = BAD_VERSION;
    n = vspn_nvsp_encode(&m, msg, sizeof(msg));
    assert_true(n > 0);
    for (uint64_t i = 1; i <= NPKTS; i++) {
        bool sig = false;
        assert_int_equal(hv_ring_write_inband(gout,
                                              HV_PKT_FLAG_COMPLETION_REQUESTED,
                                              i, msg, (size_t)n, &sig), 0);
    }
    assert_false(fd_readable(netvsp_port_fd(np)));
    assert_int_equal(vsp_stat(np, "pkts_in"), 0);

    /* one wakeup (the guest's signal): the budget's worth is handled */
    netvsp_port_service(np);
    assert_int_equal(vsp_stat(np, "pkts_in"), BUDGET);
    assert_true(fd_readable(netvsp_port_fd(np))); /* more to do: self-wake */
    /* the self-wakeup (acked, as vesperd does): the rest, and no further
     * wakeup */
    netvsp_port_fd_ack(np);
    netvsp_port_service(np);
    assert_int_equal(vsp_stat(np, "pkts_in"), NPKTS);
    assert_false(fd_readable(netvsp_port_fd(np)));
    assert_int_equal(vsp_stat(np, "init_refused"), NPKTS);
    assert_int_equal(vsp_stat(np, "violations"), 0);
    /* nothing left: another call changes nothing */
    netvsp_port_service(np);
    assert_int_equal(vsp_stat(np, "pkts_in"), NPKTS);

    /* every request answered, in order, no gap */
    while (hv_ring_read_pkt(gin, buf, sizeof(buf), &pkt) == 0) {
        struct vspn_nvsp_msg r;

        assert_int_equal(pkt.type, HV_PKT_COMP);
        assert_true(pkt.trans_id == expect_tid);
        assert_int_equal(vspn_nvsp_decode(pkt.data, pkt.data_size, &r), 0);
        assert_int_equal(r.type, VSPN_NVSP_INIT_COMPLETE);
        assert_int_equal(r.u.init_complete.status, VSPN_NVSP_STATUS_FAILURE);
        expect_tid++;
        answers++;
    }
    (void)hv_ring_read_end(gin);
    assert_int_equal(answers, NPKTS);
    assert_int_equal(hv_chan_state(ch), HV_CHAN_OPEN);

    netvsp_port_detach(np);
    vsw_port_close(g.sw, port);
    hv_ring_destroy(gout);
    hv_ring_destroy(gin);
    pair_free(&p);
}

static bool port_connected(struct netvsp_port *np)
{
    json_t *o = netvsp_port_stats_json(np);
    bool r;

    assert_non_null(o);
    r = json_is_true(json_object_get(o, "connected"));
    assert_non_null(json_object_get(o, "rx_disconnected"));
    json_decref(o);
    return r;
}

static void test_connected(void **state)
{
    struct vsa_mac mac = { { 0x02, 0, 0, 0, 0x42, 0x02 } };
    struct vsa_errmsg em;
    struct netvsp_port *np;
    struct vsw_port *port;
    struct hv_ring *gout, *gin;
    struct pair p;
    struct hv_chan *ch;
    (void)state;

    memset(&p, 0, sizeof(p));
    ch = pair_open(&p, &gout, &gin);
    assert_non_null(ch);
    assert_int_equal(netvsp_port_create(g.sw, "vm.nic1", &mac, 1500, &np,
                                        &port, &em), 0);
    assert_true(netvsp_port_connected(np));
    assert_true(port_connected(np));

    /* disconnected without a channel; the channel comes and goes */
    netvsp_port_set_connected(np, false);
    assert_false(netvsp_port_connected(np));
    assert_false(port_connected(np));
    assert_int_equal(netvsp_port_attach(np, ch, p.h, p.mem), 0);
    netvsp_port_service(np);
    assert_false(netvsp_port_connected(np));
    vsw_tick(g.sw);
    assert_false(vsw_port_link_up(port));
    netvsp_port_set_connected(np, false); /* no-op */
    /* connecting with the channel attached: the VSP's link goes up (the
     * port's link waits for the guest's receive buffer) */
    netvsp_port_set_connected(np, true);
    assert_true(netvsp_port_connected(np));
    assert_int_equal(vsp_stat(np, "link_indications"), 0); /* no RNDIS */
    netvsp_port_set_connected(np, false);
    netvsp_port_detach(np);
    assert_false(netvsp_port_connected(np));
    assert_int_equal(hv_chan_state(ch), HV_CHAN_OPEN);
    vsw_tick(g.sw);
    assert_false(vsw_port_link_up(port));

    vsw_port_close(g.sw, port);
    hv_ring_destroy(gout);
    hv_ring_destroy(gin);
    pair_free(&p);
}

/* ---- group setup: EAL and the switch -------------------------------------- */

static int group_setup(void **state)
{
    (void)state;
    return port_test_eal_up("netvsp_port", &g.sw);
}

static int group_teardown(void **state)
{
    (void)state;
    port_test_eal_down(&g.sw);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_service_budget_loses_nothing),
        cmocka_unit_test(test_connected),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
