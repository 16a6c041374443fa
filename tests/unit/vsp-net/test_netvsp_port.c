/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_netvsp_port.c — objective: the synthetic NIC switch port
 * (vsp-net/netvsp_port.c) serves the guest's channel on the lcore
 * (netvsp_port_poll, the port's rx_burst) and leaves to the control thread
 * (netvsp_port_service) only what belongs to it.
 *
 *  * Budget: a pass reads at most SERVICE_BUDGET (64) ring packets and
 *    handles every packet it read.  Regression test for a bug of the
 *    control-thread service: it read (and so consumed) a ring packet and
 *    only then checked its budget, so a guest that queued more than a
 *    budget's worth lost one packet per batch without being told.  Here
 *    the guest writes 300 NVSP INITs before the first pass, each with a
 *    version the host refuses, so each is answered (INIT_COMPLETE,
 *    FAILURE) and legal in WAIT_INIT: the first pass handles exactly 64,
 *    five passes all 300, the guest gets 300 completions with trans_ids
 *    1..300 in order, and no pass wakes the control thread.
 *  * Byte budget: a pass also stops reading once it copied
 *    SERVICE_BYTE_BUDGET (256 KiB) of the guest's data.  The guest queues
 *    64 sends of 64 KiB each (GPA-direct, 16 pages; 8 RNDIS packets of
 *    8 KiB frames, all over the MTU and dropped, so none counts against
 *    the burst): each pass copies at most the budget plus one send (4
 *    sends), counts a yield, and the 16 passes together handle all 64 and
 *    complete each with SUCCESS, in order.  Then 20 sends whose last page
 *    lies outside guest memory: refused (bad_gpa) after 60 KiB were
 *    copied, and charged for them.  Regression test for: a pass stopped
 *    only at 64 ring packets, so this guest made one pass copy 64 sends
 *    of 64 KiB (4 MiB; 8 MiB with 64 KiB ring packets) while the other
 *    ports of the lcore waited.
 *  * GPADL requests: a SEND_RECV_BUF is parked by the lcore (no further
 *    ring reads) and wakes the control thread, which looks the GPADL up;
 *    the next pass answers the guest: FAILURE for an id that is not a
 *    GPADL of the channel, SUCCESS (one section of receive slots) for one
 *    the guest built.
 *  * Violations: an unknown NVSP type found by a pass is posted to the
 *    control thread: the channel stays open and untouched (no more ring
 *    reads) until netvsp_port_service closes it (BROKEN).
 *  * Cancel requests: iPXE closes with a VMBus cancel request (0xa) for
 *    each transmit not completed yet; the pass counts and ignores it
 *    (cancel_ignored), the channel stays open, the send is completed once
 *    and traffic goes on.  Regression test for: the guest-to-host ring
 *    refused the type, so the channel was closed as a violation.
 *  * Connect / disconnect (netvsp_port_set_connected): the state is kept
 *    across channel attach and detach; a disconnected port's link stays
 *    down whatever the guest does, its VSP starts with the link down (so
 *    the guest reads OID_GEN_MEDIA_CONNECT_STATUS "disconnected"; the VSP
 *    side of that, and the MEDIA_(DIS)CONNECT indications, are in
 *    test_vsp_vsc.c, test_link) and the stats say so.
 *  * Detach with guest frames staged: one ring packet carries 8 frames, a
 *    pass asked for 1 hands 1 to the switch and keeps 7 staged; the
 *    detach frees them and counts them (rx_detached 7).  Regression test
 *    for: they were freed uncounted.
 *  * Channel open without memory (TESTS.md #29): the guest brings the NIC
 *    up as Linux's netvsc does (ring GPADL, OPENCHANNEL with the VSP
 *    attached by the open callback as vesperd's glue does, NVSP INIT,
 *    receive buffer GPADL and SEND_RECV_BUF, send buffer GPADL and
 *    SEND_SEND_BUF) while host allocation k fails, k = 1..N
 *    (tests/unit/vswitch/vsw_oom.h): the guest sees a failure status,
 *    closes and tears down, and then the channel, the host's GPADLs, the
 *    port and the switch are as before, nothing tracked is left (LSan in
 *    ASan builds), and no violation was counted (a host out of memory is
 *    not the guest's fault).  Regression test for: a GPADL refused for
 *    lack of memory counted bad_gpadl, and the GPADL_BODY messages the
 *    guest had already sent after its header counted again as bodies of
 *    an unknown GPADL.
 *  * Log lines per VM (bug: attach / detach were logged at INFO without
 *    any limit, two lines per open/close cycle of a guest, forever, and
 *    the VSP's violations shared one bucket for every guest): guest A's 20
 *    attach/detach cycles give NETVSP_PORT_LOG_ATTACH_BURST lines and guest
 *    B's attach is still logged; a violation is logged as "port VM.NIC:
 *    NVSP protocol violation" and the channel's closing as "vm VM: channel
 *    N closed".
 *  * No allocation on the lcore: a whole bring-up with 4 MiB buffers,
 *    counting the injection points of common/vsa_alloc.h by who reaches
 *    them: no pass of the lcore reaches one; the control thread's service
 *    prepares each buffer (the page-overlap sort's array, the receive
 *    buffer's three slot tables).  Regression test for: the lcore
 *    allocated, sorted and filled them while it handled the message.
 *
 * How: the EAL runs in this process (no hugepages, one datapath lcore that
 * never sees the port: it is opened but not published, so the test thread
 * plays the lcore), the switch port is real (netvsp_port_create), and the
 * channel is a real hv_vmbus_host channel opened by an in-process
 * hv_vmbus_guest over a socketpair, with its rings in a plain buffer
 * registered as guest memory.
 */
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
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
#include <rte_mbuf.h>

#include "common/vsa_log.h"
#include "common/vsa_time.h"
#include "hv/hv_mem.h"
#include "hv/hv_ring.h"
#include "hv/hv_vmbus.h"
#include "vsp-net/netvsp_port.h"
#include "vsp-net/nvsp.h"
#include "vsp-net/rndis.h"
#include "vsp-net/vsp.h"
#include "vswitch/vswitch.h"

#include "tests/unit/vsp-net/port_test_eal.h"
#include "tests/unit/vswitch/vsw_oom.h"
#include "tests/unit/common/logcap.h"

#define GMEM_GPA 0x40000000ull
#define GMEM_PAGES 64u
#define RING_PAGES 16u /* per direction: 15 data pages, 300 × 64 bytes fit */
#define NPKTS 300u
#define BUDGET 64u    /* SERVICE_BUDGET of netvsp_port.c */
#define BURST 32u
#define BUF_PAGE 32u  /* first guest page after the rings: receive buffer */
#define BUF_PAGES 16u
#define BAD_VERSION 0x30000u /* between v1 and v4: refused with FAILURE */
#define BYTE_BUDGET (256u * 1024u) /* SERVICE_BYTE_BUDGET of netvsp_port.c */
#define BIG_PAGE (BUF_PAGE + BUF_PAGES) /* 16 pages after the receive buffer */
#define BIG_PAGES 16u
#define BIG_SIZE (BIG_PAGES * 4096u) /* one send: 64 KiB */
#define NBIG 64u

static struct {
    struct vsw *sw;
} g;

/* ---- an in-process VMBus host + guest pair ------------------------------ */

struct pair {
    int sv[2]; /* [0] host end, [1] guest end */
    struct hv_mem *mem;
    uint8_t *gmem;
    uint32_t gmem_pages;
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

/* The host (with `ops`, context p) offers one netvsc channel and the guest,
 * with `pages` pages of memory, connects and sees it (READY); returns its
 * relid. */
static uint32_t pair_connect_pages(struct pair *p,
                                   const struct hv_vmbus_host_ops *ops,
                                   uint32_t pages)
{
    struct hv_vmbus_offer_cfg cfg = { .if_type = hv_guid_netvsc };
    size_t size = (size_t)pages * 4096;
    uint32_t relid;

    assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, p->sv), 0);
    p->gmem_pages = pages;
    p->gmem = aligned_alloc(4096, size);
    assert_non_null(p->gmem);
    memset(p->gmem, 0, size);
    assert_int_equal(hv_mem_create(&p->mem), 0);
    assert_int_equal(hv_mem_add_buffer(p->mem, p->gmem, GMEM_GPA, size), 0);
    assert_int_equal(hv_vmbus_host_create(ops, p, &p->h), 0);
    assert_int_equal(hv_vmbus_host_connect(p->h, p->mem), 0);
    assert_int_equal(hv_vmbus_host_add_offer(p->h, &cfg, &relid), 0);
    assert_int_equal(hv_vmbus_guest_create(&guest_ops, p, NULL, 0, &p->vg),
                     0);
    assert_int_equal(hv_vmbus_guest_connect(p->vg), 0);
    pump(p);
    assert_int_equal(hv_vmbus_guest_state(p->vg), HV_GUEST_READY);
    return relid;
}

static uint32_t pair_connect(struct pair *p,
                             const struct hv_vmbus_host_ops *ops)
{
    return pair_connect_pages(p, ops, GMEM_PAGES);
}

/* The guest's view of the rings at the start of its memory (control pages
 * initialised: a fresh channel). */
static void guest_rings(struct pair *p, struct hv_ring **out,
                        struct hv_ring **in)
{
    struct hv_ring_cfg oc = { .role = HV_RING_WRITER,
                              .dsize = (RING_PAGES - 1) * 4096 };
    struct hv_ring_cfg ic = { .role = HV_RING_READER,
                              .dsize = (RING_PAGES - 1) * 4096 };

    hv_ring_ctl_init(p->gmem);
    hv_ring_ctl_init(p->gmem + RING_PAGES * 4096);
    assert_int_equal(hv_ring_create_buf(&oc, p->gmem, out), 0);
    assert_int_equal(hv_ring_create_buf(&ic, p->gmem + RING_PAGES * 4096, in),
                     0);
}

/* The guest builds a GPADL of `npages` guest pages from `first_page` on;
 * returns its id, with the host's answer (0 = created) in *status. */
static uint32_t guest_gpadl(struct pair *p, uint32_t relid,
                            uint32_t first_page, uint32_t npages, int *status)
{
    uint64_t *pfns = calloc(npages, sizeof(*pfns));
    uint32_t id = hv_vmbus_guest_next_gpadl_id(p->vg);

    assert_non_null(pfns);
    assert_true(first_page + npages <= p->gmem_pages);
    for (uint32_t i = 0; i < npages; i++)
        pfns[i] = (GMEM_GPA >> 12) + first_page + i;
    assert_int_equal(hv_vmbus_guest_gpadl_create(p->vg, relid, id, pfns,
                                                 npages), 0);
    free(pfns);
    pump(p);
    *status = hv_vmbus_guest_gpadl_status(p->vg, id);
    return id;
}

/* Opens the netvsc channel; the guest's rings in *out / *in. */
static struct hv_chan *pair_open(struct pair *p, struct hv_ring **out,
                                 struct hv_ring **in)
{
    uint32_t relid = pair_connect(p, &host_ops), id;
    int status;

    guest_rings(p, out, in);
    id = guest_gpadl(p, relid, 0, 2 * RING_PAGES, &status);
    assert_int_equal(status, 0);
    assert_int_equal(hv_vmbus_guest_open(p->vg, relid, 1, id, RING_PAGES), 0);
    pump(p);
    assert_int_equal(hv_vmbus_guest_open_status(p->vg, relid), 0);
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

/* A port and a guest channel: the pair, the guest's ends of the rings, the
 * port (attached to the channel). */
struct rig {
    struct pair p;
    struct hv_chan *ch;
    struct hv_ring *gout, *gin;
    struct netvsp_port *np;
    struct vsw_port *port;
};

static void rig_up(struct rig *r, const char *name, uint8_t mac_last,
                   bool attach)
{
    struct vsa_mac mac = { { 0x02, 0, 0, 0, 0x42, mac_last } };
    struct vsa_errmsg em;

    memset(r, 0, sizeof(*r));
    r->ch = pair_open(&r->p, &r->gout, &r->gin);
    assert_non_null(r->ch);
    assert_int_equal(netvsp_port_create(g.sw, name, &mac, 1500, &r->np,
                                        &r->port, &em), 0);
    if (attach)
        assert_int_equal(netvsp_port_attach(r->np, r->ch, r->p.h, r->p.mem,
                                            NULL),
                         0);
}

static void rig_down(struct rig *r)
{
    netvsp_port_detach(r->np);
    vsw_port_close(g.sw, r->port);
    hv_ring_destroy(r->gout);
    hv_ring_destroy(r->gin);
    pair_free(&r->p);
}

/* json counter `name` of the port, or of its VSP (`vsp`; 0 when absent) */
static uint64_t stat_of(struct netvsp_port *np, bool vsp, const char *name)
{
    json_t *o = netvsp_port_stats_json(np);
    json_t *v;
    uint64_t r = 0;

    assert_non_null(o);
    v = json_object_get(vsp ? json_object_get(o, "vsp") : o, name);
    if (!vsp)
        assert_true(json_is_integer(v));
    if (json_is_integer(v))
        r = (uint64_t)json_integer_value(v);
    json_decref(o);
    return r;
}

static uint64_t vsp_stat(struct netvsp_port *np, const char *name)
{
    return stat_of(np, true, name);
}

static uint64_t port_stat(struct netvsp_port *np, const char *name)
{
    return stat_of(np, false, name);
}

static bool fd_wait(int fd, int ms)
{
    struct pollfd pf = { .fd = fd, .events = POLLIN };

    return poll(&pf, 1, ms) == 1 && (pf.revents & POLLIN);
}

static bool fd_readable(int fd)
{
    return fd_wait(fd, 0);
}

/* One lcore pass; the port is not published, so guest frames (none in
 * these tests) would come back here. */
static unsigned pass(struct netvsp_port *np)
{
    struct rte_mbuf *m[BURST];
    unsigned n = netvsp_port_poll(np, m, BURST);

    if (n)
        rte_pktmbuf_free_bulk(m, n);
    return n;
}

/* ---- the guest's side ---------------------------------------------------------- */

/* The guest writes NVSP message `m` with trans_id `tid`. */
static void guest_msg(struct hv_ring *gout, const struct vspn_nvsp_msg *m,
                      uint64_t tid, bool want_completion)
{
    uint8_t msg[VSPN_NVSP_ENCODE_MAX];
    bool sig = false;
    int n = vspn_nvsp_encode(m, msg, sizeof(msg));

    assert_true(n > 0);
    assert_int_equal(hv_ring_write_inband(gout,
                                          want_completion
                                              ? HV_PKT_FLAG_COMPLETION_REQUESTED
                                              : 0,
                                          tid, msg, (size_t)n, &sig), 0);
}

/* INIT for versions min..max (completion requested). */
static void guest_init(struct hv_ring *gout, uint64_t tid, uint32_t min,
                       uint32_t max)
{
    struct vspn_nvsp_msg m = { .type = VSPN_NVSP_INIT };

    m.u.init.min_ver = min;
    m.u.init.max_ver = max;
    guest_msg(gout, &m, tid, true);
}

/* A good INIT (v1..v6.1) and NDIS 6.30: the VSP then waits for buffers. */
static void guest_init_ndis(struct hv_ring *gout, uint64_t tid)
{
    struct vspn_nvsp_msg m = { .type = VSPN_NVSP_SEND_NDIS_VERSION };

    guest_init(gout, tid, VSPN_NVSP_VERSION_1, VSPN_NVSP_VERSION_61);
    m.u.ndis_ver.major = 6;
    m.u.ndis_ver.minor = 30;
    guest_msg(gout, &m, tid + 1, false);
}

/* SEND_RECV_BUF naming GPADL `gpadl`. */
static void guest_recv_buf(struct hv_ring *gout, uint64_t tid, uint32_t gpadl)
{
    struct vspn_nvsp_msg m = { .type = VSPN_NVSP_SEND_RECV_BUF };

    m.u.buf.gpadl = gpadl;
    m.u.buf.id = 0xcafe;
    guest_msg(gout, &m, tid, true);
}

/* SEND_RNDIS_PKT on `channel` with the RNDIS message `msg` copied to guest
 * page `page` and named by one GPA-direct range (how Linux sends control
 * messages). */
static void guest_rndis(struct pair *p, struct hv_ring *gout, uint64_t tid,
                        uint32_t channel, uint32_t page, const void *msg,
                        uint32_t len)
{
    struct vspn_nvsp_msg m = { .type = VSPN_NVSP_SEND_RNDIS_PKT };
    struct hv_ring_gpa_page gp = { .byte_count = len, .byte_offset = 0,
                                   .pfn = (GMEM_GPA >> 12) + page };
    uint8_t buf[VSPN_NVSP_ENCODE_MAX];
    bool sig = false;
    int n;

    assert_true(len <= 4096 && page < p->gmem_pages);
    memcpy(p->gmem + (size_t)page * 4096, msg, len);
    m.u.rndis_pkt.channel_type = channel;
    m.u.rndis_pkt.section_index = VSPN_NVSP_NO_SECTION;
    n = vspn_nvsp_encode(&m, buf, sizeof(buf));
    assert_true(n > 0);
    assert_int_equal(hv_ring_write_gpa(gout, HV_PKT_FLAG_COMPLETION_REQUESTED,
                                       tid, &gp, 1, buf, (size_t)n, &sig), 0);
}

/* 64 bytes whose NVSP type (1337) does not exist: a violation. */
static void guest_junk(struct hv_ring *gout, uint64_t tid)
{
    uint8_t junk[64] = { 0x39, 0x05 };
    bool sig = false;

    assert_int_equal(hv_ring_write_inband(gout, 0, tid, junk, sizeof(junk),
                                          &sig), 0);
}

/* The next packet the host wrote: a completion with trans_id `tid`,
 * decoded into *r.  With wait_ms, waits that long for the lcore. */
static void guest_reply(struct hv_ring *gin, uint64_t tid,
                        struct vspn_nvsp_msg *r, unsigned wait_ms)
{
    static uint8_t buf[4096];
    struct hv_ring_pkt pkt;

    for (unsigned i = 0;
         i < wait_ms && hv_ring_peek_pkt(gin, buf, sizeof(buf), &pkt) == -EAGAIN;
         i++)
        usleep(1000);
    assert_int_equal(hv_ring_read_pkt(gin, buf, sizeof(buf), &pkt), 0);
    (void)hv_ring_read_end(gin);
    assert_int_equal(pkt.type, HV_PKT_COMP);
    assert_true(pkt.trans_id == tid);
    assert_int_equal(vspn_nvsp_decode(pkt.data, pkt.data_size, r), 0);
}

/* The guest gives a real receive buffer (pages after the rings) as
 * trans_id `tid`; the lcore parks it, the control thread prepares it, the
 * next pass completes it with SUCCESS (the completion in *reply).  Returns
 * the buffer's GPADL. */
static uint32_t give_recv_buf(struct rig *r, uint64_t tid,
                              struct vspn_nvsp_msg *reply)
{
    struct vspn_nvsp_msg *m = reply;
    int status;
    uint32_t gpadl = guest_gpadl(&r->p, hv_chan_relid(r->ch), BUF_PAGE,
                                 BUF_PAGES, &status);

    assert_int_equal(status, 0);
    guest_recv_buf(r->gout, tid, gpadl);
    assert_int_equal(pass(r->np), 0);
    netvsp_port_fd_ack(r->np);
    assert_true(netvsp_port_service(r->np));
    assert_int_equal(pass(r->np), 0);
    guest_reply(r->gin, tid, m, 0);
    assert_int_equal(m->type, VSPN_NVSP_SEND_RECV_BUF_COMPLETE);
    assert_int_equal(m->u.recv_buf_complete.status, VSPN_NVSP_STATUS_SUCCESS);
    return gpadl;
}

/* Completions of the refused INITs tid0, tid0 + 1, ... as far as they
 * came; returns the next trans_id expected. */
static uint64_t guest_refused_inits(struct hv_ring *gin, uint64_t tid0)
{
    static uint8_t buf[4096];
    struct hv_ring_pkt pkt;

    while (hv_ring_read_pkt(gin, buf, sizeof(buf), &pkt) == 0) {
        struct vspn_nvsp_msg r;

        assert_int_equal(pkt.type, HV_PKT_COMP);
        assert_true(pkt.trans_id == tid0);
        assert_int_equal(vspn_nvsp_decode(pkt.data, pkt.data_size, &r), 0);
        assert_int_equal(r.type, VSPN_NVSP_INIT_COMPLETE);
        assert_int_equal(r.u.init_complete.status, VSPN_NVSP_STATUS_FAILURE);
        tid0++;
    }
    (void)hv_ring_read_end(gin);
    return tid0;
}

/* Publishes `port` (NULL: none) on switch sw0: the datapath lcore polls
 * it from then on. */
static void commit_port(struct vsw_port *port)
{
    static const struct vsw_cfg_switch sw = { .name = "sw0", .fdb_max = 1024,
                                              .aging_s = 300 };
    struct vsw_cfg_port cp = { .port = port,
                               .vlan = { .mode = VLAN_MODE_ACCESS,
                                         .access_vid = 1 } };
    struct vsw_cfg cfg = { .switches = &sw, .n_switches = 1,
                           .ports = &cp, .n_ports = port ? 1 : 0 };
    struct vsa_errmsg em;

    if (vsw_commit(g.sw, &cfg, &em) != 0)
        fail_msg("vsw_commit: %s", em.msg);
}

/* ---- the tests ---------------------------------------------------------------- */

static void test_service_budget_loses_nothing(void **state)
{
    struct rig r;
    (void)state;

    rig_up(&r, "vm.nic0", 0x01, true);
    /* the guest queues 300 packets before the host looks */
    for (uint64_t i = 1; i <= NPKTS; i++)
        guest_init(r.gout, i, BAD_VERSION, BAD_VERSION);
    assert_int_equal(vsp_stat(r.np, "pkts_in"), 0);

    /* one pass handles the budget's worth; the next passes the rest */
    assert_int_equal(pass(r.np), 0);
    assert_int_equal(vsp_stat(r.np, "pkts_in"), BUDGET);
    for (unsigned i = 0; i < 4; i++)
        assert_int_equal(pass(r.np), 0);
    assert_int_equal(vsp_stat(r.np, "pkts_in"), NPKTS);
    assert_int_equal(vsp_stat(r.np, "init_refused"), NPKTS);
    assert_int_equal(vsp_stat(r.np, "violations"), 0);
    /* nothing left: another pass changes nothing; nothing was for the
     * control thread */
    assert_int_equal(pass(r.np), 0);
    assert_int_equal(vsp_stat(r.np, "pkts_in"), NPKTS);
    assert_false(fd_readable(netvsp_port_fd(r.np)));
    assert_false(netvsp_port_service(r.np));

    /* every request answered, in order, no gap */
    assert_true(guest_refused_inits(r.gin, 1) == NPKTS + 1);
    assert_int_equal(hv_chan_state(r.ch), HV_CHAN_OPEN);
    rig_down(&r);
}

static void test_gpadl_request(void **state)
{
    struct vspn_nvsp_msg m;
    uint32_t gpadl, relid;
    struct rig r;
    (void)state;

    rig_up(&r, "vm.nic2", 0x03, true);
    relid = hv_chan_relid(r.ch);
    /* a receive buffer that is no GPADL of the channel, then an INIT the
     * pass must not read while the first waits */
    guest_init_ndis(r.gout, 1);
    guest_recv_buf(r.gout, 3, 0xdead);

    assert_int_equal(pass(r.np), 0);
    guest_reply(r.gin, 1, &m, 0);
    assert_int_equal(m.type, VSPN_NVSP_INIT_COMPLETE);
    assert_int_equal(m.u.init_complete.status, VSPN_NVSP_STATUS_SUCCESS);
    assert_int_equal(vsp_stat(r.np, "pkts_in"), 2); /* the third is parked */
    assert_true(fd_readable(netvsp_port_fd(r.np))); /* the control thread */
    assert_int_equal(port_stat(r.np, "gpadl_requests"), 1);
    assert_int_equal(pass(r.np), 0);                /* still waiting */
    assert_int_equal(vsp_stat(r.np, "pkts_in"), 2);

    netvsp_port_fd_ack(r.np);
    assert_true(netvsp_port_service(r.np)); /* looks 0xdead up: none */
    assert_false(netvsp_port_service(r.np));
    assert_int_equal(pass(r.np), 0);
    assert_int_equal(vsp_stat(r.np, "pkts_in"), 3);
    guest_reply(r.gin, 3, &m, 0);
    assert_int_equal(m.type, VSPN_NVSP_SEND_RECV_BUF_COMPLETE);
    assert_int_equal(m.u.recv_buf_complete.status, VSPN_NVSP_STATUS_FAILURE);

    /* a real receive buffer: pages after the rings */
    gpadl = give_recv_buf(&r, 4, &m);
    assert_int_equal(m.u.recv_buf_complete.num_sections, 1);
    assert_true(port_stat(r.np, "recv_slots") >= 4);
    assert_int_equal(port_stat(r.np, "gpadl_requests"), 2);
    assert_int_equal(vsp_stat(r.np, "violations"), 0);

    /* detach drops the VSP's reference: the guest can tear it down */
    netvsp_port_detach(r.np);
    assert_int_equal(hv_vmbus_guest_gpadl_teardown(r.p.vg, relid, gpadl), 0);
    pump(&r.p);
    assert_int_equal(hv_vmbus_host_gpadl_count(r.p.h), 1); /* the rings' */
    rig_down(&r);
}

static void test_violation_posted(void **state)
{
    struct rig r;
    (void)state;

    rig_up(&r, "vm.nic3", 0x04, true);
    /* an NVSP type that does not exist, then a good INIT */
    guest_junk(r.gout, 1);
    guest_init(r.gout, 2, VSPN_NVSP_VERSION_1, VSPN_NVSP_VERSION_61);

    assert_int_equal(pass(r.np), 0);
    assert_true(fd_readable(netvsp_port_fd(r.np)));
    assert_int_equal(vsp_stat(r.np, "violations"), 1);
    /* the lcore leaves the channel alone: the INIT stays unread */
    assert_int_equal(pass(r.np), 0);
    assert_int_equal(vsp_stat(r.np, "pkts_in"), 1);
    assert_int_equal(hv_chan_state(r.ch), HV_CHAN_OPEN);
    /* the control thread closes it */
    netvsp_port_fd_ack(r.np);
    assert_true(netvsp_port_service(r.np));
    assert_int_equal(hv_chan_state(r.ch), HV_CHAN_BROKEN);
    rig_down(&r);
}

/* The same protocol as above, served by the real datapath lcore while
 * this thread plays the control thread and the guest: it reads the stats
 * and flips the connection while the lcore works (ThreadSanitizer
 * checks the lock and the mailboxes in make test-tsan). */
static void test_lcore_serves(void **state)
{
    struct vspn_nvsp_msg m;
    uint64_t next_tid = 1;
    struct rig r;
    (void)state;

    rig_up(&r, "vm.nic5", 0x05, true);
    commit_port(r.port);

    for (uint64_t i = 1; i <= NPKTS; i++)
        guest_init(r.gout, i, BAD_VERSION, BAD_VERSION);
    for (unsigned spins = 0; next_tid <= NPKTS && spins < 50000; spins++) {
        json_t *o = netvsp_port_stats_json(r.np);

        assert_non_null(o);
        json_decref(o);
        netvsp_port_set_connected(r.np, spins & 1);
        next_tid = guest_refused_inits(r.gin, next_tid);
        usleep(100);
    }
    assert_true(next_tid == NPKTS + 1);
    netvsp_port_set_connected(r.np, true);
    assert_int_equal(vsp_stat(r.np, "init_refused"), NPKTS);

    /* a GPADL request: the lcore wakes us, we answer, it replies */
    guest_init_ndis(r.gout, 1001);
    guest_reply(r.gin, 1001, &m, 5000);
    assert_int_equal(m.u.init_complete.status, VSPN_NVSP_STATUS_SUCCESS);
    guest_recv_buf(r.gout, 1003, 0xdead);
    assert_true(fd_wait(netvsp_port_fd(r.np), 5000));
    netvsp_port_fd_ack(r.np);
    assert_true(netvsp_port_service(r.np));
    guest_reply(r.gin, 1003, &m, 5000);
    assert_int_equal(m.type, VSPN_NVSP_SEND_RECV_BUF_COMPLETE);
    assert_int_equal(m.u.recv_buf_complete.status, VSPN_NVSP_STATUS_FAILURE);

    /* a violation: posted by the lcore, the channel closed here */
    guest_junk(r.gout, 1004);
    assert_true(fd_wait(netvsp_port_fd(r.np), 5000));
    netvsp_port_fd_ack(r.np);
    assert_int_equal(hv_chan_state(r.ch), HV_CHAN_OPEN);
    assert_true(netvsp_port_service(r.np));
    assert_int_equal(hv_chan_state(r.ch), HV_CHAN_BROKEN);

    netvsp_port_detach(r.np);
    commit_port(NULL);
    rig_down(&r);
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
    struct rig r;
    (void)state;

    rig_up(&r, "vm.nic1", 0x02, false);
    assert_true(netvsp_port_connected(r.np));
    assert_true(port_connected(r.np));

    /* disconnected without a channel; the channel comes and goes */
    netvsp_port_set_connected(r.np, false);
    assert_false(netvsp_port_connected(r.np));
    assert_false(port_connected(r.np));
    assert_int_equal(netvsp_port_attach(r.np, r.ch, r.p.h, r.p.mem, NULL), 0);
    pass(r.np);
    assert_false(netvsp_port_connected(r.np));
    vsw_tick(g.sw);
    assert_false(vsw_port_link_up(r.port));
    netvsp_port_set_connected(r.np, false); /* no-op */
    /* connecting with the channel attached: the VSP's link goes up (the
     * port's link waits for the guest's receive buffer) */
    netvsp_port_set_connected(r.np, true);
    assert_true(netvsp_port_connected(r.np));
    pass(r.np); /* the lcore tells the VSP */
    assert_int_equal(vsp_stat(r.np, "link_indications"), 0); /* no RNDIS */
    netvsp_port_set_connected(r.np, false);
    netvsp_port_detach(r.np);
    assert_false(netvsp_port_connected(r.np));
    assert_int_equal(hv_chan_state(r.ch), HV_CHAN_OPEN);
    vsw_tick(g.sw);
    assert_false(vsw_port_link_up(r.port));
    rig_down(&r);
}

/* Frames the guest sent and the switch has not taken yet are dropped when
 * the channel detaches: counted, like every other drop. */
static void test_detach_counts_staged(void **state)
{
    struct vspn_nvsp_msg m;
    struct rte_mbuf *mb[1];
    uint8_t msg[1024];
    uint32_t len = 0;
    int n;
    struct rig r;
    (void)state;

    rig_up(&r, "vm.nic6", 0x06, true);
    /* NVSP, a receive buffer, RNDIS INITIALIZE: the guest may send */
    guest_init_ndis(r.gout, 1);
    assert_int_equal(pass(r.np), 0);
    guest_reply(r.gin, 1, &m, 0);
    assert_int_equal(m.u.init_complete.status, VSPN_NVSP_STATUS_SUCCESS);
    (void)give_recv_buf(&r, 3, &m);
    n = vspn_rndis_encode_init(msg, sizeof(msg), 1, 0x4000);
    assert_true(n > 0);
    guest_rndis(&r.p, r.gout, 4, VSPN_NVSP_CHANNEL_CONTROL,
                BUF_PAGE + BUF_PAGES, msg, (uint32_t)n);
    assert_int_equal(pass(r.np), 0);
    assert_int_equal(vsp_stat(r.np, "rndis_ctrl"), 1);

    /* one message of 8 broadcast frames; the switch takes one */
    for (unsigned i = 0; i < 8; i++) {
        uint8_t *f;

        n = vspn_rndis_packet_hdr(msg + len, sizeof(msg) - len, NULL, 60);
        assert_true(n > 0);
        f = msg + len + n;
        memset(f, 0, 60);
        memset(f, 0xff, 6);
        f[6] = 0x02;
        f[10] = 0x42; /* the NIC's MAC */
        f[11] = 0x06;
        f[12] = 0x08;
        f[14] = (uint8_t)i;
        len += (uint32_t)n + 60;
    }
    guest_rndis(&r.p, r.gout, 5, VSPN_NVSP_CHANNEL_DATA, BUF_PAGE + BUF_PAGES,
                msg, len);
    assert_int_equal(netvsp_port_poll(r.np, mb, 1), 1);
    rte_pktmbuf_free(mb[0]);
    assert_int_equal(vsp_stat(r.np, "g2h_frames"), 8);
    assert_int_equal(port_stat(r.np, "rx_detached"), 0);

    netvsp_port_detach(r.np);
    assert_int_equal(port_stat(r.np, "rx_detached"), 7);
    assert_int_equal(port_stat(r.np, "rx_disconnected"), 0);
    assert_int_equal(port_stat(r.np, "stage_full"), 0);
    rig_down(&r);
}

/* The port's link is up only while the guest can take frames: a receive
 * buffer alone is not enough (before RNDIS INITIALIZE the VSP drops what
 * the switch sends, h2g_not_ready), and RNDIS HALT takes it down again.
 * Regression test: the link went up with the receive buffer. */
static void test_link_follows_rndis(void **state)
{
    struct vspn_nvsp_msg m;
    uint8_t msg[64];
    int n;
    struct rig r;
    (void)state;

    rig_up(&r, "vm.nic9", 0x09, true);
    guest_init_ndis(r.gout, 1);
    assert_int_equal(pass(r.np), 0);
    guest_reply(r.gin, 1, &m, 0);
    (void)give_recv_buf(&r, 3, &m);
    vsw_tick(g.sw);
    assert_false(vsw_port_link_up(r.port));

    n = vspn_rndis_encode_init(msg, sizeof(msg), 1, 0x4000);
    assert_true(n > 0);
    guest_rndis(&r.p, r.gout, 4, VSPN_NVSP_CHANNEL_CONTROL,
                BUF_PAGE + BUF_PAGES, msg, (uint32_t)n);
    assert_int_equal(pass(r.np), 0);
    vsw_tick(g.sw);
    assert_true(vsw_port_link_up(r.port));

    n = vspn_rndis_encode_halt(msg, sizeof(msg), 2);
    assert_true(n > 0);
    guest_rndis(&r.p, r.gout, 5, VSPN_NVSP_CHANNEL_CONTROL,
                BUF_PAGE + BUF_PAGES, msg, (uint32_t)n);
    assert_int_equal(pass(r.np), 0);
    assert_int_equal(vsp_stat(r.np, "rndis_ctrl"), 2);
    vsw_tick(g.sw);
    assert_false(vsw_port_link_up(r.port));
    rig_down(&r);
}

/* NVSP, a receive buffer, RNDIS INITIALIZE: the guest may send frames.
 * What the host answered is read off the guest's ring. */
static void rndis_up(struct rig *r)
{
    static uint8_t buf[4096];
    struct vspn_nvsp_msg m;
    struct hv_ring_pkt pkt;
    uint8_t msg[64];
    int n;

    guest_init_ndis(r->gout, 1);
    assert_int_equal(pass(r->np), 0);
    guest_reply(r->gin, 1, &m, 0);
    assert_int_equal(m.u.init_complete.status, VSPN_NVSP_STATUS_SUCCESS);
    (void)give_recv_buf(r, 3, &m);
    n = vspn_rndis_encode_init(msg, sizeof(msg), 1, 0x4000);
    assert_true(n > 0);
    guest_rndis(&r->p, r->gout, 4, VSPN_NVSP_CHANNEL_CONTROL, BIG_PAGE, msg,
                (uint32_t)n);
    assert_int_equal(pass(r->np), 0);
    assert_int_equal(vsp_stat(r->np, "rndis_ctrl"), 1);
    while (hv_ring_read_pkt(r->gin, buf, sizeof(buf), &pkt) == 0)
        ;
    (void)hv_ring_read_end(r->gin);
}

/* One 64 KiB data send with trans_id `tid`: the 16 pages of BIG_PAGE as 16
 * GPA-direct ranges; with `bad_last` the last range names a page outside
 * guest memory, so the host copies 60 KiB and refuses the send (bad_gpa).
 * Returns the ring bytes it took (trailer included). */
static uint32_t guest_big_send(struct rig *r, uint64_t tid, bool bad_last)
{
    struct vspn_nvsp_msg m = { .type = VSPN_NVSP_SEND_RNDIS_PKT };
    struct hv_ring_gpa_page gp[BIG_PAGES];
    uint8_t buf[VSPN_NVSP_ENCODE_MAX];
    uint32_t before = hv_ring_own_index(r->gout);
    bool sig = false;
    int n;

    for (uint32_t i = 0; i < BIG_PAGES; i++)
        gp[i] = (struct hv_ring_gpa_page){
            .byte_count = 4096, .byte_offset = 0,
            .pfn = (GMEM_GPA >> 12) + BIG_PAGE + i };
    if (bad_last)
        gp[BIG_PAGES - 1].pfn = (GMEM_GPA >> 12) + GMEM_PAGES;
    m.u.rndis_pkt.channel_type = VSPN_NVSP_CHANNEL_DATA;
    m.u.rndis_pkt.section_index = VSPN_NVSP_NO_SECTION;
    n = vspn_nvsp_encode(&m, buf, sizeof(buf));
    assert_true(n > 0);
    assert_int_equal(hv_ring_write_gpa(r->gout,
                                       HV_PKT_FLAG_COMPLETION_REQUESTED, tid,
                                       gp, BIG_PAGES, buf, (size_t)n, &sig),
                     0);
    return hv_ring_bytes_readable(hv_ring_own_index(r->gout), before,
                                  (RING_PAGES - 1) * 4096);
}

/* Passes until `nsends` queued sends, each making the host copy `cost`
 * bytes (ring packet and gather), are handled; each pass must copy at
 * most the byte budget plus one send, and handle at least one.  Returns
 * the number of passes. */
static unsigned passes_bounded(struct rig *r, uint64_t nsends, uint32_t cost)
{
    uint64_t handled = 0, in0 = vsp_stat(r->np, "pkts_in");
    unsigned passes = 0;

    while (handled < nsends && passes < 2 * nsends) {
        uint64_t n;

        assert_int_equal(pass(r->np), 0); /* no frame got through */
        passes++;
        n = vsp_stat(r->np, "pkts_in") - in0 - handled;
        handled += n;
        if (n * cost > BYTE_BUDGET + cost)
            fail_msg("pass %u copied %" PRIu64 " bytes (%" PRIu64 " sends "
                     "of %u), more than the budget (%u) and one send",
                     passes, n * cost, n, cost, BYTE_BUDGET);
        assert_true(n >= 1); /* at least one packet per pass */
    }
    assert_true(handled == nsends);
    return passes;
}

/* A guest whose sends are large and all dropped: each pass copies at most
 * the byte budget plus one send, and every send is handled in the end.
 * Sends refused after most of their bytes were copied count the same. */
static void test_service_byte_budget(void **state)
{
    struct vspn_nvsp_msg m;
    uint8_t *big;
    uint64_t copied0;
    uint32_t cost = 0;
    unsigned passes;
    struct rig r;
    (void)state;

    rig_up(&r, "vm.nic7", 0x07, true);
    rndis_up(&r);
    copied0 = vsp_stat(r.np, "g2h_copied"); /* the RNDIS INITIALIZE */
    /* 8 RNDIS packets of 8 KiB back to back, each an 8148-byte broadcast
     * frame: over the MTU (1500), dropped */
    big = r.p.gmem + (size_t)BIG_PAGE * 4096;
    for (uint32_t off = 0; off < BIG_SIZE; off += BIG_SIZE / 8) {
        uint32_t flen = BIG_SIZE / 8 - VSPN_RNDIS_PACKET_SIZE;
        uint8_t *f = big + off + VSPN_RNDIS_PACKET_SIZE;

        assert_int_equal(vspn_rndis_packet_hdr(big + off, BIG_SIZE - off,
                                               NULL, flen),
                         VSPN_RNDIS_PACKET_SIZE);
        memset(f, 0, flen);
        memset(f, 0xff, 6);
        f[6] = 0x02;
        f[12] = 0x08;
    }
    for (uint64_t i = 0; i < NBIG; i++)
        cost = guest_big_send(&r, 100 + i, false) + BIG_SIZE;
    passes = passes_bounded(&r, NBIG, cost);
    /* 4 sends reach the budget: 16 passes, each stopped there */
    assert_int_equal(passes, NBIG / 4);
    assert_int_equal(port_stat(r.np, "byte_yields"), passes);
    assert_true(vsp_stat(r.np, "g2h_copied") - copied0 ==
                (uint64_t)NBIG * BIG_SIZE);
    assert_int_equal(vsp_stat(r.np, "g2h_oversize"), NBIG * 8);
    assert_int_equal(vsp_stat(r.np, "g2h_frames"), 0);
    for (uint64_t i = 0; i < NBIG; i++) {
        guest_reply(r.gin, 100 + i, &m, 0);
        assert_int_equal(m.type, VSPN_NVSP_SEND_RNDIS_PKT_COMPLETE);
        assert_int_equal(m.u.rndis_pkt_complete.status,
                         VSPN_NVSP_STATUS_SUCCESS);
    }

    /* refused at the last page: 60 KiB copied each, charged all the same
     * (5 sends reach the budget) */
    for (uint64_t i = 0; i < 20; i++)
        cost = guest_big_send(&r, 200 + i, true) + BIG_SIZE - 4096;
    passes = passes_bounded(&r, 20, cost);
    assert_int_equal(passes, 4);
    assert_int_equal(vsp_stat(r.np, "bad_gpa"), 20);
    assert_true(vsp_stat(r.np, "g2h_copied") - copied0 ==
                (uint64_t)NBIG * BIG_SIZE + 20ull * (BIG_SIZE - 4096));
    for (uint64_t i = 0; i < 20; i++) {
        guest_reply(r.gin, 200 + i, &m, 0);
        assert_int_equal(m.u.rndis_pkt_complete.status,
                         VSPN_NVSP_STATUS_FAILURE);
    }
    assert_int_equal(vsp_stat(r.np, "violations"), 0);
    assert_false(fd_readable(netvsp_port_fd(r.np)));
    assert_int_equal(hv_chan_state(r.ch), HV_CHAN_OPEN);
    rig_down(&r);
}

/* ---- TESTS.md #29: opening the channel with each host allocation failing -- */

#define SEND_PAGE (BUF_PAGE + BUF_PAGES) /* the send buffer after it */
#define SEND_PAGES 8u

/* The sweep's guest and port (the host ops' callbacks reach them here). */
static struct {
    struct pair p;
    uint32_t relid;
    struct hv_ring *gout, *gin;
    struct netvsp_port *np;
    struct vsw_port *port;
    uint32_t gpadls[3]; /* the GPADLs the host created in this attempt */
    unsigned n_gpadls;
    bool open;          /* the host opened the channel in this attempt */
    uint64_t recv_slots; /* after the successful attempt */
} ow;

/* vesperd's glue (tools/vesperd/synth.c): the VSP comes with the open. */
static int ow_chan_open(void *ctx, struct hv_chan *ch)
{
    struct pair *p = ctx;

    return netvsp_port_attach(ow.np, ch, p->h, p->mem, NULL);
}

static void ow_chan_close(void *ctx, struct hv_chan *ch)
{
    (void)ctx;
    (void)ch;
    netvsp_port_detach(ow.np);
}

static const struct hv_vmbus_host_ops ow_host_ops = {
    .send = host_send,
    .chan_open = ow_chan_open,
    .chan_close = ow_chan_close,
};

/* SEND_SEND_BUF naming GPADL `gpadl`. */
static void guest_send_buf(struct hv_ring *gout, uint64_t tid, uint32_t gpadl)
{
    struct vspn_nvsp_msg m = { .type = VSPN_NVSP_SEND_SEND_BUF };

    m.u.buf.gpadl = gpadl;
    m.u.buf.id = 0xbeef;
    guest_msg(gout, &m, tid, true);
}

/* A GPADL of the guest's pages; false if the host refused it. */
static bool ow_gpadl(uint32_t first_page, uint32_t npages, uint32_t *id)
{
    int status;

    *id = guest_gpadl(&ow.p, ow.relid, first_page, npages, &status);
    if (status != 0)
        return false;
    ow.gpadls[ow.n_gpadls++] = *id;
    return true;
}

/* One buffer message (its GPADL looked up by the control thread between
 * two lcore passes); the status of the completion of type `comp`. */
static uint32_t ow_buffer(bool recv, uint32_t gpadl, uint64_t tid)
{
    struct vspn_nvsp_msg m;

    if (recv)
        guest_recv_buf(ow.gout, tid, gpadl);
    else
        guest_send_buf(ow.gout, tid, gpadl);
    pass(ow.np);
    netvsp_port_fd_ack(ow.np);
    netvsp_port_service(ow.np);
    pass(ow.np);
    guest_reply(ow.gin, tid, &m, 0);
    if (recv) {
        assert_int_equal(m.type, VSPN_NVSP_SEND_RECV_BUF_COMPLETE);
        return m.u.recv_buf_complete.status;
    }
    assert_int_equal(m.type, VSPN_NVSP_SEND_SEND_BUF_COMPLETE);
    return m.u.send_buf_complete.status;
}

/* Not armed: a fresh view of the guest's rings for the attempt. */
static void ow_prepare(struct oom_op *o)
{
    (void)o;
    guest_rings(&ow.p, &ow.gout, &ow.gin);
}

/* Armed: what a Linux netvsc guest does to bring its NIC up, up to a
 * usable device.  -ENOMEM as soon as the host refuses a step. */
static int ow_run(struct oom_op *o)
{
    struct vspn_nvsp_msg m;
    uint32_t id;

    (void)o;
    if (!ow_gpadl(0, 2 * RING_PAGES, &id))
        return -ENOMEM;
    assert_int_equal(hv_vmbus_guest_open(ow.p.vg, ow.relid, 1, id,
                                         RING_PAGES), 0);
    pump(&ow.p);
    if (hv_vmbus_guest_open_status(ow.p.vg, ow.relid) != 0)
        return -ENOMEM;
    ow.open = true;
    guest_init_ndis(ow.gout, 1);
    pass(ow.np);
    guest_reply(ow.gin, 1, &m, 0);
    assert_int_equal(m.type, VSPN_NVSP_INIT_COMPLETE);
    assert_int_equal(m.u.init_complete.status, VSPN_NVSP_STATUS_SUCCESS);
    if (!ow_gpadl(BUF_PAGE, BUF_PAGES, &id) ||
        ow_buffer(true, id, 3) != VSPN_NVSP_STATUS_SUCCESS)
        return -ENOMEM;
    if (!ow_gpadl(SEND_PAGE, SEND_PAGES, &id) ||
        ow_buffer(false, id, 4) != VSPN_NVSP_STATUS_SUCCESS)
        return -ENOMEM;
    ow.recv_slots = port_stat(ow.np, "recv_slots");
    return 0;
}

/* Not armed, after every attempt: the guest closes what it opened and
 * tears its GPADLs down.  A host that ran out of memory refused steps, but
 * the guest broke no rule: no violation may have been counted. */
static void ow_after(struct oom_op *o)
{
    const struct hv_stats *hs = hv_vmbus_host_stats(ow.p.h);

    (void)o;
    if (ow.open)
        assert_int_equal(hv_vmbus_guest_close(ow.p.vg, ow.relid), 0);
    pump(&ow.p);
    for (unsigned i = 0; i < ow.n_gpadls; i++)
        assert_int_equal(hv_vmbus_guest_gpadl_teardown(ow.p.vg, ow.relid,
                                                       ow.gpadls[i]), 0);
    pump(&ow.p);
    ow.open = false;
    ow.n_gpadls = 0;
    hv_ring_destroy(ow.gout);
    hv_ring_destroy(ow.gin);
    ow.gout = ow.gin = NULL;
    assert_int_equal(hs->bad_gpadl + hs->bad_msg + hs->bad_state +
                         hs->chan_violation_closed,
                     0);
    assert_int_equal(vsp_stat(ow.np, "violations"), 0);
}

/* The channel, the host's GPADLs, the port's own state and the switch. */
static char *ow_dump(struct oom_op *o)
{
    struct oom_buf b = { 0 };
    json_t *st = netvsp_port_stats_json(ow.np);

    (void)o;
    assert_non_null(st);
    oom_printf(&b, "channel %s, %u GPADLs, attached %d, link %d\n",
               hv_chan_state_name(hv_chan_state(
                   hv_vmbus_host_chan(ow.p.h, ow.relid))),
               hv_vmbus_host_gpadl_count(ow.p.h),
               json_is_true(json_object_get(st, "attached")),
               vsw_port_link_up(ow.port));
    json_decref(st);
    oom_dump_vsw(&b, g.sw);
    return b.s;
}

static void ow_done(struct oom_op *o)
{
    (void)o;
    assert_true(ow.recv_slots >= VSPN_VSP_MIN_RECV_SLOTS);
}

/* One broadcast frame (60 bytes, `tag` in its payload) from
 * 02:00:00:00:42:<src_last> sent as data with trans_id `tid`, by
 * GPA-direct from BIG_PAGE (as iPXE sends). */
static void guest_frame_from(struct rig *r, uint64_t tid, uint8_t tag,
                             uint8_t src_last)
{
    uint8_t msg[256];
    uint8_t *f;
    int n = vspn_rndis_packet_hdr(msg, sizeof(msg), NULL, 60);

    assert_true(n > 0);
    f = msg + n;
    memset(f, 0, 60);
    memset(f, 0xff, 6);
    f[6] = 0x02;
    f[10] = 0x42;
    f[11] = src_last;
    f[12] = 0x08;
    f[14] = tag;
    guest_rndis(&r->p, r->gout, tid, VSPN_NVSP_CHANNEL_DATA, BIG_PAGE, msg,
                (uint32_t)n + 60);
}

/* The same from the MAC of a rig whose mac_last is 0x0c. */
static void guest_frame_send(struct rig *r, uint64_t tid, uint8_t tag)
{
    guest_frame_from(r, tid, tag, 0x0c);
}

/* A VMBus cancel request (0xa) for `tid`, as iPXE's vmbus_send_cancellation
 * writes it: the descriptor only, no flags. */
static void guest_cancel(struct hv_ring *gout, uint64_t tid)
{
    bool sig = false;

    assert_int_equal(hv_ring_write_pkt(gout, HV_PKT_CANCEL_REQUEST, 0, tid,
                                       NULL, 0, NULL, 0, &sig), 0);
}

/* The guest's data send completed with SUCCESS, trans_id `tid`. */
static void guest_send_done(struct rig *r, uint64_t tid)
{
    struct vspn_nvsp_msg m;

    guest_reply(r->gin, tid, &m, 0);
    assert_int_equal(m.type, VSPN_NVSP_SEND_RNDIS_PKT_COMPLETE);
    assert_int_equal(m.u.rndis_pkt_complete.status, VSPN_NVSP_STATUS_SUCCESS);
}

/* iPXE closes its NIC with a cancel request for each transmit whose
 * completion it has not seen yet (spec nvsp-rndis.md §6.3 step 6; the
 * completion may be written, or queued on the host).  The channel stays
 * open: the cancel is counted and ignored, the send's completion still
 * comes (once), the cancel gets none, and traffic goes on.  Regression
 * test for: the guest-to-host ring refused type 0xa, so the pass found a
 * ring violation and the control thread closed the channel (BROKEN,
 * "guest ring violation", bad_type). */
static void test_cancel_ignored(void **state)
{
    static uint8_t buf[4096];
    struct hv_ring_pkt pkt;
    const struct hv_stats *cs;
    uint64_t in0;
    struct rig r;
    (void)state;

    rig_up(&r, "vm.nic12", 0x0c, true);
    cs = hv_chan_stats(r.ch);
    rndis_up(&r);
    in0 = vsp_stat(r.np, "pkts_in");

    /* a send, then the cancel for it before its completion is read, then
     * one naming nothing the host knows */
    guest_frame_send(&r, 5, 1);
    guest_cancel(r.gout, 5);
    guest_cancel(r.gout, 4711);
    assert_int_equal(pass(r.np), 1); /* the frame */
    assert_int_equal(vsp_stat(r.np, "pkts_in") - in0, 3);
    assert_int_equal(vsp_stat(r.np, "cancel_ignored"), 2);
    assert_int_equal(vsp_stat(r.np, "bad_pkt_type"), 0);
    assert_int_equal(vsp_stat(r.np, "violations"), 0);
    assert_int_equal(hv_stats_get(cs, HV_STATS_ID_bad_type), 0);
    assert_int_equal(hv_stats_get(cs, HV_STATS_ID_ring_broken), 0);
    /* nothing for the control thread: the channel stays open */
    assert_false(fd_readable(netvsp_port_fd(r.np)));
    assert_false(netvsp_port_service(r.np));
    assert_int_equal(hv_chan_state(r.ch), HV_CHAN_OPEN);
    /* the send's completion, and no answer to either cancel */
    guest_send_done(&r, 5);
    assert_int_equal(hv_ring_read_pkt(r.gin, buf, sizeof(buf), &pkt),
                     -EAGAIN);

    /* traffic goes on */
    guest_frame_send(&r, 6, 2);
    assert_int_equal(pass(r.np), 1);
    guest_send_done(&r, 6);
    assert_int_equal(vsp_stat(r.np, "g2h_frames"), 2);
    assert_int_equal(vsp_stat(r.np, "cancel_ignored"), 2);
    assert_int_equal(vsp_stat(r.np, "violations"), 0);
    assert_int_equal(hv_chan_state(r.ch), HV_CHAN_OPEN);
    rig_down(&r);
}

/* MAC spoofing (Hyper-V's MacAddressSpoofing): off by default, a frame
 * whose source MAC is not the NIC's is dropped before the switch and
 * counted `spoofed` (the guest's send still completes); on, it passes.
 * Before, any source MAC passed, and a guest could take over another
 * station's FDB entry and its unicast traffic. */
static void test_mac_spoofing(void **state)
{
    struct rte_mbuf *mb[4];
    struct rig r;
    (void)state;

    rig_up(&r, "vm.nic13", 0x0c, true);
    rndis_up(&r);
    guest_frame_from(&r, 5, 1, 0x0d); /* another station's MAC */
    assert_int_equal(pass(r.np), 0);
    guest_send_done(&r, 5);
    assert_int_equal(port_stat(r.np, "spoofed"), 1);
    guest_frame_send(&r, 6, 2);       /* its own */
    assert_int_equal(netvsp_port_poll(r.np, mb, 4), 1);
    assert_int_equal(rte_pktmbuf_mtod(mb[0], uint8_t *)[11], 0x0c);
    rte_pktmbuf_free(mb[0]);
    guest_send_done(&r, 6);

    netvsp_port_set_mac_spoofing(r.np, true);
    guest_frame_from(&r, 7, 3, 0x0d);
    assert_int_equal(netvsp_port_poll(r.np, mb, 4), 1);
    assert_int_equal(rte_pktmbuf_mtod(mb[0], uint8_t *)[11], 0x0d);
    rte_pktmbuf_free(mb[0]);
    guest_send_done(&r, 7);
    assert_int_equal(port_stat(r.np, "spoofed"), 1);

    netvsp_port_set_mac_spoofing(r.np, false);
    guest_frame_from(&r, 8, 4, 0x0d);
    assert_int_equal(pass(r.np), 0);
    guest_send_done(&r, 8);
    assert_int_equal(port_stat(r.np, "spoofed"), 2);
    assert_int_equal(vsp_stat(r.np, "violations"), 0);
    rig_down(&r);
}

static void test_open_oom(void **state)
{
    struct vsa_mac mac = { { 0x02, 0, 0, 0, 0x42, 0x29 } };
    struct vsa_errmsg em;
    struct oom_op op = {
        .name = "synthetic NIC: channel open to buffers",
        .prepare = ow_prepare,
        .run = ow_run,
        .after = ow_after,
        .dump = ow_dump,
        .done = ow_done,
    };
    (void)state;

    memset(&ow, 0, sizeof(ow));
    ow.relid = pair_connect(&ow.p, &ow_host_ops);
    assert_int_equal(netvsp_port_create(g.sw, "vm.oom", &mac, 1500, &ow.np,
                                        &ow.port, &em), 0);
    oom_lsan_setup();
    oom_install();
    oom_sweep(&op);
    vsa_alloc_set_hook(NULL);
    /* the host refused for lack of memory, and said so */
    assert_true(hv_vmbus_host_stats(ow.p.h)->nomem > 0);
    vsw_port_close(g.sw, ow.port);
    pair_free(&ow.p);
}

/* ---- no allocation on the lcore ------------------------------------------- */

/* Injection points reached, split by who reached them: the lcore's pass
 * (test_pass_allocs.in_pass set around netvsp_port_poll) or anything else
 * (the control thread's service, the guest, the host's channel work). */
static struct {
    bool in_pass;
    unsigned lcore, control;
    char first_lcore[64];
} pa;

static bool pa_inject(void *arg, const char *what)
{
    (void)arg;
    if (pa.in_pass) {
        if (pa.lcore++ == 0)
            snprintf(pa.first_lcore, sizeof(pa.first_lcore), "%s", what);
    } else {
        pa.control++;
    }
    return false;
}

static unsigned pa_pass(struct netvsp_port *np)
{
    unsigned n;

    pa.in_pass = true;
    n = pass(np);
    pa.in_pass = false;
    return n;
}

/* The whole bring-up a Linux guest does, with 4 MiB buffers: no pass of
 * the lcore allocates; the buffers are prepared by the control thread's
 * service (the page-overlap check sorts the page numbers there, 2,048 for
 * the send buffer, and the receive buffer's slot tables are built
 * there).  Regression test for: SEND_RECV_BUF and
 * SEND_SEND_BUF were served on the lcore, which allocated, sorted and
 * filled the slot tables in the middle of the datapath's loop. */
static void test_buffers_prepared_off_lcore(void **state)
{
    /* (the largest, HV_GPADL_MAX_PAGES, would take some 600 GPADL_BODY
     * messages each: more than the socketpair holds before pump() runs) */
    const uint32_t pages = 1024;
    struct vsa_mac mac = { { 0x02, 0, 0, 0, 0x42, 0x2a } };
    struct vsa_alloc_hook hook = { .inject = pa_inject };
    struct vspn_nvsp_msg m;
    struct vsa_errmsg em;
    uint32_t ring, rbuf, sbuf;
    unsigned control_before;
    int status;
    (void)state;

    memset(&ow, 0, sizeof(ow));
    memset(&pa, 0, sizeof(pa));
    ow.relid = pair_connect_pages(&ow.p, &ow_host_ops, 2 * pages + 64);
    assert_int_equal(netvsp_port_create(g.sw, "vm.pa", &mac, 1500, &ow.np,
                                        &ow.port, &em), 0);
    guest_rings(&ow.p, &ow.gout, &ow.gin);
    vsa_alloc_set_hook(&hook);

    ring = guest_gpadl(&ow.p, ow.relid, 0, 2 * RING_PAGES, &status);
    assert_int_equal(status, 0);
    assert_int_equal(hv_vmbus_guest_open(ow.p.vg, ow.relid, 1, ring,
                                         RING_PAGES), 0);
    pump(&ow.p);
    assert_int_equal(hv_vmbus_guest_open_status(ow.p.vg, ow.relid), 0);
    guest_init_ndis(ow.gout, 1);
    pa_pass(ow.np);
    guest_reply(ow.gin, 1, &m, 0);
    assert_int_equal(m.u.init_complete.status, VSPN_NVSP_STATUS_SUCCESS);

    rbuf = guest_gpadl(&ow.p, ow.relid, 64, pages, &status);
    assert_int_equal(status, 0);
    sbuf = guest_gpadl(&ow.p, ow.relid, 64 + pages, pages, &status);
    assert_int_equal(status, 0);
    for (int recv = 1; recv >= 0; recv--) {
        uint64_t tid = recv ? 3 : 4;

        if (recv)
            guest_recv_buf(ow.gout, tid, rbuf);
        else
            guest_send_buf(ow.gout, tid, sbuf);
        pa_pass(ow.np); /* parks it */
        control_before = pa.control;
        netvsp_port_fd_ack(ow.np);
        assert_true(netvsp_port_service(ow.np));
        /* the overlap check's array, and for the receive buffer its three
         * slot tables, were allocated here */
        assert_int_equal(pa.control - control_before, recv ? 4 : 1);
        pa_pass(ow.np); /* answers it */
        guest_reply(ow.gin, tid, &m, 0);
        assert_int_equal(recv ? m.u.recv_buf_complete.status
                              : m.u.send_buf_complete.status,
                         VSPN_NVSP_STATUS_SUCCESS);
    }
    assert_int_equal(port_stat(ow.np, "recv_slots"),
                     (uint64_t)pages * 4096 / port_stat(ow.np,
                                                        "recv_slot_size"));
    if (pa.lcore)
        fail_msg("the lcore reached %u injection points, the first %s",
                 pa.lcore, pa.first_lcore);

    vsa_alloc_set_hook(NULL);
    assert_int_equal(hv_vmbus_guest_close(ow.p.vg, ow.relid), 0);
    pump(&ow.p);
    hv_ring_destroy(ow.gout);
    hv_ring_destroy(ow.gin);
    vsw_port_close(g.sw, ow.port);
    pair_free(&ow.p);
}

/* ---- group setup: EAL and the switch -------------------------------------- */

/* ---- log lines per VM ----------------------------------------------------- */


static void test_log_per_vm(void **state)
{
    struct rig a, b;
    (void)state;

    rig_up(&a, "vmA.eth0", 0x0a, false);
    rig_up(&b, "vmB.eth0", 0x0b, false);
    hv_vmbus_host_set_name(a.p.h, "vmA");
    /* a manual clock past every window the earlier tests opened (the port
     * is not published: the lcore never reads it) */
    vsa_time_manual_set(vsa_time_now_ms() + 3600u * 1000u);
    vsa_time_set_source(vsa_time_manual);
    n_logcap = 0;
    vsa_log_set_hook(logcap_hook);
    vsa_log_set_level(VSA_LOG_INFO); /* port_test_eal_up: WARN */

    /* A opens and closes its channel 20 times: only its own budget */
    for (int i = 0; i < 20; i++) {
        assert_int_equal(
            netvsp_port_attach(a.np, a.ch, a.p.h, a.p.mem, NULL), 0);
        netvsp_port_detach(a.np);
    }
    assert_int_equal(netvsp_port_attach(b.np, b.ch, b.p.h, b.p.mem, NULL), 0);
    assert_int_equal(logcap_count("port vmA.eth0: guest channel "),
                     NETVSP_PORT_LOG_ATTACH_BURST);
    assert_int_equal(logcap_count("port vmB.eth0: guest channel 1 attached"),
                     1);
    /* (the earlier tests may leave an "all ...: N ... suppressed") */
    assert_int_equal(logcap_count("port "), NETVSP_PORT_LOG_ATTACH_BURST + 1);

    /* a violation names the port, the channel's closing the VM */
    n_logcap = 0;
    assert_int_equal(netvsp_port_attach(a.np, a.ch, a.p.h, a.p.mem, NULL), 0);
    guest_junk(a.gout, 1);
    pass(a.np);
    netvsp_port_fd_ack(a.np);
    assert_true(netvsp_port_service(a.np));
    assert_int_equal(hv_chan_state(a.ch), HV_CHAN_BROKEN);
    assert_int_equal(logcap_count("port vmA.eth0: NVSP protocol violation: "),
                     1);
    assert_int_equal(logcap_count("vm vmA: channel 1 closed: "), 1);
    vsa_log_set_hook(NULL);
    vsa_log_set_level(VSA_LOG_WARN);
    vsa_time_set_source(NULL);
    rig_down(&a);
    rig_down(&b);
}

/* One NVSP violation on a fresh rig `name` whose attach names `vm_rl`. */
static void violate_once(const char *name, uint8_t mac_last,
                         struct vsa_ratelimit *vm_rl)
{
    struct rig r;

    rig_up(&r, name, mac_last, false);
    assert_int_equal(netvsp_port_attach(r.np, r.ch, r.p.h, r.p.mem, vm_rl),
                     0);
    guest_junk(r.gout, 1);
    pass(r.np);
    netvsp_port_fd_ack(r.np);
    assert_true(netvsp_port_service(r.np));
    assert_int_equal(hv_chan_state(r.ch), HV_CHAN_BROKEN);
    rig_down(&r);
}

/* The violation lines of all the NICs of one VM draw from the VM's budget
 * given at the attach: a VM with several NICs gets no more lines than one
 * with one, and cannot use up the budget of all VMs (vsp.c) that another
 * VM's line needs.  Before, each port had its own budget of
 * NETVSP_PORT_LOG_VSP_BURST, and 8 NICs of one VM drew 80 lines per
 * period from a shared 50. */
static void test_log_vm_budget(void **state)
{
    struct vsa_ratelimit vm_a, vm_b;

    (void)state;
    vsa_ratelimit_init(&vm_a, 4, 10, "vm vmA");
    vsa_ratelimit_init(&vm_b, 4, 10, "vm vmB");
    vsa_time_manual_set(vsa_time_now_ms() + 7200u * 1000u);
    vsa_time_set_source(vsa_time_manual);
    n_logcap = 0;
    vsa_log_set_hook(logcap_hook);

    for (int i = 0; i < 6; i++) {
        violate_once("vmA.eth0", 0x0c, &vm_a);
        violate_once("vmA.eth1", 0x0d, &vm_a);
    }
    violate_once("vmB.eth0", 0x0e, &vm_b);
    assert_int_equal(logcap_count("port vmA.eth0: NVSP protocol violation")
                         + logcap_count("port vmA.eth1: NVSP protocol "
                                        "violation"),
                     4);
    assert_int_equal(logcap_count("port vmB.eth0: NVSP protocol violation"),
                     1);
    vsa_log_set_hook(NULL);
    vsa_time_set_source(NULL);
}

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
        cmocka_unit_test(test_gpadl_request),
        cmocka_unit_test(test_violation_posted),
        cmocka_unit_test(test_lcore_serves),
        cmocka_unit_test(test_connected),
        cmocka_unit_test(test_link_follows_rndis),
        cmocka_unit_test(test_detach_counts_staged),
        cmocka_unit_test(test_service_byte_budget),
        cmocka_unit_test(test_cancel_ignored),
        cmocka_unit_test(test_mac_spoofing),
        cmocka_unit_test(test_open_oom),
        cmocka_unit_test(test_buffers_prepared_off_lcore),
        cmocka_unit_test(test_log_per_vm),
        cmocka_unit_test(test_log_vm_budget),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
