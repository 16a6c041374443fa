/* SPDX-License-Identifier: BSD-3-Clause */
#include "tools/vesper-guest/nic.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/vsa_log.h"
#include "common/vsa_time.h"
#include "hv/hv_vmbus.h"

VSA_LOG_MODULE(vg_nic);

#define QUIESCE_MS 100        /* after vspn_vsc_stop: let the host answer */
#define WAIT_SLICE_MS 100     /* longest blind wait during bring-up */

static struct vsa_ratelimit nic_rl = VSA_RATELIMIT_INIT(5, 60);

/* ---- memory --------------------------------------------------------------- */

static uint32_t bounce_slot_size(uint32_t mtu)
{
    /* RNDIS_PACKET header + PPIs + Ethernet header + tag stay far below
     * 1 KiB; the VSC rounds its slots up to whole pages. */
    return (mtu + 1024u + HV_PAGE_SIZE - 1) & ~(HV_PAGE_SIZE - 1);
}

uint64_t vg_nic_mem_size(enum vspn_vsc_mode mode, uint32_t mtu)
{
    uint64_t rings = 2ull * VG_NIC_RING_PAGES * HV_PAGE_SIZE;

    return VG_NIC_RECV_BUF_SIZE +
           (mode == VSPN_VSC_LINUX ? VG_NIC_SEND_BUF_SIZE : 0) +
           (uint64_t)VG_NIC_BOUNCE_SLOTS * bounce_slot_size(mtu) +
           rings * (1 + VG_NIC_REOPENS);
}

static int carve(struct hv_part_guest *pg, struct vspn_vsc_buf *b,
                 uint32_t size)
{
    memset(b, 0, sizeof(*b));
    if (!size)
        return 0;
    b->mem = hv_part_guest_alloc_pages(pg, size / HV_PAGE_SIZE, &b->gpa);
    if (!b->mem)
        return -ENOMEM;
    b->size = size;
    return 0;
}

/* Buffers are carved once per partition connection and reused by every
 * channel opened on it. */
static int ensure_memory(struct vg_nic *n)
{
    struct hv_part_guest *pg = n->part->pg;
    int rc;

    if (n->mem_owner == pg)
        return 0;
    n->mem_owner = NULL;
    rc = carve(pg, &n->recv_buf, VG_NIC_RECV_BUF_SIZE);
    if (!rc)
        rc = carve(pg, &n->send_buf, n->mode == VSPN_VSC_LINUX
                                         ? VG_NIC_SEND_BUF_SIZE : 0);
    if (!rc)
        rc = carve(pg, &n->tx_pages,
                   VG_NIC_BOUNCE_SLOTS * bounce_slot_size(n->mtu));
    if (rc)
        return rc;
    n->mem_owner = pg;
    return 0;
}

/* ---- VSC ops: the guest→host ring and the host signal ---------------------- */

/* The VSC's convention: 1 = written and the host must be signalled. */
static int ring_rc(int rc, bool sig)
{
    return rc < 0 ? rc : (sig ? 1 : 0);
}

static int op_inband(void *ctx, uint16_t flags, uint64_t tid, const void *msg,
                     size_t size)
{
    struct vg_nic *n = ctx;
    bool sig = false;
    int rc;

    if (!n->ch.out)
        return -ENOTCONN;
    rc = hv_ring_write_inband(n->ch.out, flags, tid, msg, size, &sig);
    return ring_rc(rc, sig);
}

static int op_gpa(void *ctx, uint16_t flags, uint64_t tid,
                  const struct hv_ring_gpa_page *pages, uint32_t np,
                  const void *msg, size_t size)
{
    struct vg_nic *n = ctx;
    bool sig = false;
    int rc;

    if (!n->ch.out)
        return -ENOTCONN;
    rc = hv_ring_write_gpa(n->ch.out, flags, tid, pages, np, msg, size, &sig);
    return ring_rc(rc, sig);
}

static int op_comp(void *ctx, uint64_t tid, const void *msg, size_t size)
{
    struct vg_nic *n = ctx;
    bool sig = false;
    int rc;

    if (!n->ch.out)
        return -ENOTCONN;
    rc = hv_ring_write_comp(n->ch.out, tid, msg, size, &sig);
    return ring_rc(rc, sig);
}

static void op_signal(void *ctx)
{
    ((struct vg_nic *)ctx)->sig_pending = true;
}

static void op_rx(void *ctx, const void *frame, size_t len, uint16_t tci,
                  bool has_vlan)
{
    struct vg_nic *n = ctx;

    VG_CNT_INC(n->cnt, rx_frames);
    n->sink->rx(n->sink_ctx, frame, len, tci, has_vlan);
}

static void op_link(void *ctx, bool up)
{
    struct vg_nic *n = ctx;

    VG_CNT_INC(n->cnt, link_changes);
    if (n->sink->link)
        n->sink->link(n->sink_ctx, up);
}

static void op_state(void *ctx, enum vspn_vsc_state st)
{
    struct vg_nic *n = ctx;

    VSA_LOG(DEBUG, "%s: netvsc state %s", n->name ? n->name : "nic",
            vspn_vsc_state_name(st));
}

static const struct vspn_vsc_ops vsc_ops = {
    .send_inband = op_inband,
    .send_gpa = op_gpa,
    .send_completion = op_comp,
    .signal = op_signal,
    .rx_frame = op_rx,
    .link_change = op_link,
    .state_change = op_state,
};

/* ---- offers ----------------------------------------------------------------- */

static const struct hv_vmbus_guest_offer *offer_of(const struct vg_nic *n,
                                                   uint32_t relid)
{
    const struct hv_vmbus_guest *vb = hv_part_guest_vmbus(n->part->pg);

    for (unsigned i = 0; i < hv_vmbus_guest_offer_count(vb); i++) {
        const struct hv_vmbus_guest_offer *o = hv_vmbus_guest_offer_at(vb, i);

        if (o->offer.child_relid == relid)
            return o;
    }
    return NULL;
}

uint32_t vg_nic_find_offer(const struct vg_nic *n)
{
    const struct hv_vmbus_guest *vb;
    unsigned k = 0;

    if (!n->part->pg)
        return 0;
    vb = hv_part_guest_vmbus(n->part->pg);
    for (unsigned i = 0; i < hv_vmbus_guest_offer_count(vb); i++) {
        const struct hv_vmbus_guest_offer *o = hv_vmbus_guest_offer_at(vb, i);

        if (o->rescinded || o->offer.sub_channel_index != 0 ||
            !hv_guid_equal(&o->offer.if_type, &hv_guid_netvsc))
            continue;
        /* Once known, the NIC is its instance GUID: a reordered or
         * shrunk offer list must not hand us another NIC's channel. */
        if (n->have_instance) {
            if (hv_guid_equal(&o->offer.if_instance, &n->instance))
                return o->offer.child_relid;
            continue;
        }
        if (k++ == n->index)
            return o->offer.child_relid;
    }
    return 0;
}

bool vg_nic_rescinded(const struct vg_nic *n)
{
    const struct hv_vmbus_guest_offer *o;

    if (!n->chan_open || !n->part->pg)
        return false;
    o = offer_of(n, n->relid);
    return !o || o->rescinded;
}

/* ---- bring-up ------------------------------------------------------------------ */

/* Created or being created: the host knows it and wants a teardown.  (A
 * GPADL the host refused is not its business any more.) */
static bool gpadl_live(const struct vg_nic *n, uint32_t id)
{
    int st = hv_vmbus_guest_gpadl_status(hv_part_guest_vmbus(n->part->pg),
                                         id);

    return st == 0 || st == -EINPROGRESS;
}

static int make_gpadl(struct vg_nic *n, const struct vspn_vsc_buf *b,
                      uint32_t *id, int timeout_ms)
{
    int rc = hv_part_guest_gpadl_sync(n->part->pg, n->relid, b->gpa,
                                      b->size / HV_PAGE_SIZE, id, timeout_ms);

    if (rc == 0)
        return 0;
    /* An id was assigned even if the host refused or did not answer: the
     * close path tears it down if the host knows it. */
    return rc == -EIO ? -EPROTO : rc;
}

static int wait_ready(struct vg_nic *n, int timeout_ms)
{
    uint64_t deadline = vsa_time_now_ms() + (uint64_t)timeout_ms;

    for (;;) {
        struct pollfd pf[2] = {
            { .fd = n->ch.from_host_fd, .events = POLLIN },
            { .fd = vg_part_fd(n->part), .events = POLLIN },
        };
        enum vspn_vsc_state st = vspn_vsc_state(n->vsc);
        uint64_t now = vsa_time_now_ms(), left;
        bool more;
        int rc;

        if (st == VSPN_VSC_READY)
            return 0;
        if (st == VSPN_VSC_FAILED)
            return -EPROTO;
        if (vg_nic_rescinded(n))
            return -ENODEV;
        if (now >= deadline)
            return -ETIMEDOUT;
        left = deadline - now;
        vg_nic_flush(n);
        rc = poll(pf, 2, (int)(left < WAIT_SLICE_MS ? left : WAIT_SLICE_MS));
        if (rc < 0 && errno != EINTR)
            return -errno;
        if (pf[0].revents & POLLIN)
            vg_nic_ack(n);
        do {
            rc = vg_nic_drain(n, VG_NIC_BATCH, &more);
            if (rc < 0)
                return rc;
        } while (more);
        if (pf[1].revents && vg_part_pump(n->part))
            return -ECONNRESET;
    }
}

int vg_nic_open(struct vg_nic *n, int timeout_ms)
{
    const struct hv_vmbus_guest_offer *o;
    struct vspn_vsc_cfg cfg;
    int rc;

    if (!n->part->pg)
        return -ENOTCONN;
    if (n->chan_open)
        return -EALREADY;
    rc = ensure_memory(n);
    if (rc)
        return rc;
    n->relid = vg_nic_find_offer(n);
    if (!n->relid)
        return -ENOENT;
    n->ch.to_host_fd = n->ch.from_host_fd = -1;

    /* iPXE (spec §6.3): the receive buffer's GPADL exists before the
     * channel is opened. */
    if (n->mode == VSPN_VSC_MINIMAL) {
        rc = make_gpadl(n, &n->recv_buf, &n->recv_gpadl, timeout_ms);
        if (rc)
            goto fail;
    }
    rc = hv_part_guest_open_chan(n->part->pg, n->relid, VG_NIC_RING_PAGES,
                                 &n->ch, timeout_ms);
    if (rc) {
        n->ch.out = n->ch.in = NULL;
        n->ch.to_host_fd = n->ch.from_host_fd = -1;
        if (rc == -EIO)
            rc = -EPROTO;
        goto fail; /* open_chan gave its ring GPADL back itself */
    }
    n->chan_open = true;
    VSA_LOG(DEBUG, "%s: channel %u open", n->name ? n->name : "nic",
            n->relid);
    if (n->mode == VSPN_VSC_LINUX) {
        rc = make_gpadl(n, &n->recv_buf, &n->recv_gpadl, timeout_ms);
        if (!rc)
            rc = make_gpadl(n, &n->send_buf, &n->send_gpadl, timeout_ms);
        if (rc)
            goto fail;
    }

    memset(&cfg, 0, sizeof(cfg));
    cfg.mode = n->mode;
    cfg.recv_buf = n->recv_buf;
    cfg.recv_buf.gpadl = n->recv_gpadl;
    if (n->mode == VSPN_VSC_LINUX) {
        cfg.send_buf = n->send_buf;
        cfg.send_buf.gpadl = n->send_gpadl;
    }
    cfg.tx_pages = n->tx_pages;
    cfg.mtu = n->mtu;
    VSA_LOG(DEBUG, "%s: buffers: receive GPADL %#x, send GPADL %#x",
            n->name ? n->name : "nic", n->recv_gpadl, n->send_gpadl);
    rc = vspn_vsc_create(&cfg, &vsc_ops, n, &n->vsc);
    if (rc)
        goto fail;
    if (n->poll_mode)
        hv_ring_mask_intr(n->ch.in);
    rc = vspn_vsc_start(n->vsc);
    if (!rc)
        rc = wait_ready(n, timeout_ms);
    if (rc)
        goto fail;

    o = offer_of(n, n->relid);
    if (o) {
        n->instance = o->offer.if_instance;
        n->have_instance = true;
    }
    return 0;

fail:
    VSA_LOG_RL(&nic_rl, WARN, "%s: bring-up failed: %s (VSC state %s)",
               n->name ? n->name : "nic", strerror(-rc),
               n->vsc ? vspn_vsc_state_name(vspn_vsc_state(n->vsc)) : "-");
    /* A host that is gone or stopped answering gets no goodbye: the
     * caller drops the connection and starts over. */
    vg_nic_close(n, rc != -ECONNRESET && rc != -ETIMEDOUT, timeout_ms);
    return rc;
}

/* ---- teardown ------------------------------------------------------------------- */

static void wait_gpadl_gone(struct vg_nic *n, uint32_t id, int timeout_ms)
{
    struct hv_vmbus_guest *vb = hv_part_guest_vmbus(n->part->pg);
    uint64_t deadline = vsa_time_now_ms() + (uint64_t)timeout_ms;

    while (hv_vmbus_guest_gpadl_status(vb, id) != -ENOENT) {
        uint64_t now = vsa_time_now_ms();
        int rc;

        if (now >= deadline)
            return;
        rc = hv_part_guest_poll(n->part->pg, (int)(deadline - now));
        if (rc && rc != -ETIMEDOUT && rc != -EPROTO)
            return;
    }
}

static void gpadl_release(struct vg_nic *n, uint32_t *id, int timeout_ms)
{
    struct hv_vmbus_guest *vb = hv_part_guest_vmbus(n->part->pg);

    if (*id && gpadl_live(n, *id) &&
        hv_vmbus_guest_gpadl_teardown(vb, n->relid, *id) == 0)
        wait_gpadl_gone(n, *id, timeout_ms);
    *id = 0;
}

/* After vspn_vsc_stop: give the host a moment to take HALT / REVOKE and
 * answer (iPXE waits for its REVOKE_RECV_BUF completion). */
static void quiesce(struct vg_nic *n)
{
    uint64_t deadline = vsa_time_now_ms() + QUIESCE_MS;

    while (vsa_time_now_ms() < deadline) {
        struct pollfd pf = { .fd = n->ch.from_host_fd, .events = POLLIN };
        bool more;

        vg_nic_flush(n);
        if (poll(&pf, 1, 20) <= 0)
            return;
        vg_nic_ack(n);
        do {
            if (vg_nic_drain(n, VG_NIC_BATCH, &more) < 0)
                return;
        } while (more);
    }
}

void vg_nic_close(struct vg_nic *n, bool graceful, int timeout_ms)
{
    struct hv_part_guest *pg = n->part->pg;
    bool rescinded = vg_nic_rescinded(n);

    if (!pg)
        graceful = false;
    if (n->vsc) {
        if (graceful && n->chan_open && !rescinded &&
            vspn_vsc_state(n->vsc) != VSPN_VSC_FAILED) {
            (void)vspn_vsc_stop(n->vsc);
            quiesce(n);
        }
        for (unsigned i = 0; i < VSPN_VSC_STATS_N; i++)
            n->vsc_totals[i] += vspn_vsc_stats_get(vspn_vsc_stats(n->vsc), i);
        vspn_vsc_destroy(n->vsc);
        n->vsc = NULL;
    }
    if (n->chan_open) {
        if (graceful) {
            (void)hv_part_guest_close_chan(pg, &n->ch, timeout_ms);
        } else {
            hv_ring_destroy(n->ch.out);
            hv_ring_destroy(n->ch.in);
        }
        n->chan_open = false;
    }
    if (graceful) {
        gpadl_release(n, &n->recv_gpadl, timeout_ms);
        gpadl_release(n, &n->send_gpadl, timeout_ms);
        if (rescinded)
            (void)hv_vmbus_guest_relid_released(hv_part_guest_vmbus(pg),
                                                n->relid);
    }
    memset(&n->ch, 0, sizeof(n->ch));
    n->ch.to_host_fd = n->ch.from_host_fd = -1;
    n->recv_gpadl = n->send_gpadl = 0;
    n->relid = 0;
    n->sig_pending = false;
    if (!pg)
        n->mem_owner = NULL;
}

/* ---- data path ---------------------------------------------------------------------- */

bool vg_nic_ready(const struct vg_nic *n)
{
    return n->vsc && vspn_vsc_ready(n->vsc);
}

int vg_nic_wait_fd(const struct vg_nic *n)
{
    return n->chan_open ? n->ch.from_host_fd : -1;
}

void vg_nic_ack(struct vg_nic *n)
{
    uint64_t v;
    struct iovec iov = { .iov_base = &v, .iov_len = sizeof(v) };
    ssize_t r;

    if (n->ch.from_host_fd < 0)
        return;
    /* The host shares this eventfd's file description and could clear
     * O_NONBLOCK on it; RWF_NOWAIT keeps this read from blocking anyway. */
    r = preadv2(n->ch.from_host_fd, &iov, 1, -1, RWF_NOWAIT);
    if (r < 0 && errno == EOPNOTSUPP)
        r = read(n->ch.from_host_fd, &v, sizeof(v));
    if (r == (ssize_t)sizeof(v))
        VG_CNT_INC(n->cnt, host_wakeups);
}

void vg_nic_set_poll_mode(struct vg_nic *n, bool on)
{
    n->poll_mode = on;
    if (n->ch.in) {
        if (on)
            hv_ring_mask_intr(n->ch.in);
        else
            (void)hv_ring_unmask_intr(n->ch.in);
    }
}

int vg_nic_drain(struct vg_nic *n, unsigned budget, bool *more)
{
    struct hv_ring_pkt rp;
    struct vspn_pkt pk;
    unsigned done = 0;
    int rc = 0;

    *more = false;
    if (!n->ch.in || !n->vsc)
        return 0;
    /* §5.3: no signals from the host while we drain anyway. */
    if (!n->poll_mode)
        hv_ring_mask_intr(n->ch.in);
    /* Completions go out with one store of the write index, in the
     * vg_nic_flush at the end. */
    if (n->ch.out)
        hv_ring_write_hold(n->ch.out);
    while (done < budget) {
        rc = hv_ring_read_pkt(n->ch.in, n->pkt, sizeof(n->pkt), &rp);
        if (rc)
            break;
        done++;
        if (vspn_pkt_from_ring(&rp, &n->scratch, &pk) != 0) {
            VG_CNT_INC(n->cnt, bad_packets);
            continue;
        }
        (void)vspn_vsc_handle_pkt(n->vsc, &pk);
    }
    if (rc && rc != -EAGAIN) {
        /* -EPROTO: the host broke the ring; nothing more will be read. */
        VG_CNT_INC(n->cnt, ring_errors);
        VSA_LOG_RL(&nic_rl, WARN, "%s: host-to-guest ring error %d",
                   n->name ? n->name : "nic", rc);
        return -EPROTO;
    }
    /* §5.2: a host blocked on a full ring is woken once we freed enough. */
    if (hv_ring_read_end(n->ch.in))
        n->sig_pending = true;
    (void)vspn_vsc_poll(n->vsc); /* completions deferred on a full ring */
    if (done == budget)
        *more = true; /* stay masked: the caller comes back at once */
    else if (!n->poll_mode)
        *more = hv_ring_unmask_intr(n->ch.in);
    vg_nic_flush(n);
    return (int)done;
}

int vg_nic_send(struct vg_nic *n, const void *frame, size_t len,
                uint16_t vlan_tci, bool has_vlan)
{
    int rc;

    if (!n->vsc)
        return -ENOTCONN;
    /* What this writes to the ring is published by vg_nic_flush. */
    if (n->ch.out)
        hv_ring_write_hold(n->ch.out);
    rc = vspn_vsc_send_more(n->vsc, frame, len, vlan_tci, has_vlan);
    if (rc == 0)
        VG_CNT_INC(n->cnt, tx_frames);
    return rc;
}

void vg_nic_flush(struct vg_nic *n)
{
    uint64_t one = 1;

    /* A full ring keeps the batch open: the host's completions wake us,
     * and the next flush sends it. */
    if (n->vsc)
        (void)vspn_vsc_send_flush(n->vsc);
    /* One store of the write index for what send and drain wrote. */
    if (n->ch.out && hv_ring_write_commit(n->ch.out))
        n->sig_pending = true;
    if (!n->sig_pending)
        return;
    if (n->ch.to_host_fd < 0) {
        n->sig_pending = false;
        return;
    }
    if (write(n->ch.to_host_fd, &one, sizeof(one)) == (ssize_t)sizeof(one)) {
        n->sig_pending = false;
        VG_CNT_INC(n->cnt, host_signals);
        return;
    }
    VG_CNT_INC(n->cnt, host_signal_errors);
    /* EAGAIN: the eventfd's counter would overflow (the host, which
     * shares it, filled it): still owed, the next flush tries again.
     * Anything else will not get better by retrying. */
    if (errno != EAGAIN)
        n->sig_pending = false;
}

/* ---- introspection ---------------------------------------------------------------------- */

struct vsa_mac vg_nic_mac(const struct vg_nic *n)
{
    struct vsa_mac zero = { { 0 } };

    return n->vsc ? vspn_vsc_mac(n->vsc) : zero;
}

uint32_t vg_nic_mtu(const struct vg_nic *n)
{
    return n->vsc ? vspn_vsc_mtu(n->vsc) : n->mtu;
}

bool vg_nic_link_up(const struct vg_nic *n)
{
    return vg_nic_ready(n) && vspn_vsc_link_up(n->vsc);
}

uint64_t vg_nic_vsc_stat(const struct vg_nic *n, unsigned id)
{
    uint64_t v;

    if (id >= VSPN_VSC_STATS_N)
        return 0;
    v = n->vsc_totals[id];
    if (n->vsc)
        v += vspn_vsc_stats_get(vspn_vsc_stats(n->vsc), id);
    return v;
}

void vg_nic_print(const struct vg_nic *n, FILE *f)
{
    char mac[VSA_MAC_STRLEN];
    struct vsa_mac m = vg_nic_mac(n);
    const char *nm = n->name ? n->name : "nic";

    fprintf(f, "  %s: synthetic:%u relid %u state %s nvsp %#x mac %s mtu %u "
            "link %s\n", nm, n->index, n->relid,
            n->vsc ? vspn_vsc_state_name(vspn_vsc_state(n->vsc)) : "CLOSED",
            n->vsc ? vspn_vsc_nvsp_version(n->vsc) : 0,
            vsa_mac_format(&m, mac), vg_nic_mtu(n),
            vg_nic_link_up(n) ? "up" : "down");
    for (unsigned i = 0; i < VSPN_VSC_STATS_N; i++) {
        uint64_t v = vg_nic_vsc_stat(n, i);

        if (v)
            fprintf(f, "  %s.vsc.%s %llu\n", nm, vspn_vsc_stats_name(i),
                    (unsigned long long)v);
    }
}
