/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * guest_host.h — an in-process HOST for the vesper-guest tests, made only
 * of hv/'s host side (hv_part_host: partition socket, VMBus, GPADLs,
 * rings, eventfds) and vsp-net's vspn_vsp, on a real SOCK_SEQPACKET
 * socket in a temporary directory.  No vesperd, no DPDK.
 *
 * It runs on its own thread, as vesperd would in its own process: poll on
 * the listen / connection sockets, each open channel's guest→host
 * eventfd and a command eventfd; every open channel is drained with the
 * ring rules (mask while draining, read_end → signal, unmask re-check) and
 * fed to its VSP.  Frames the guest sends are recorded and then either
 * echoed back to the same NIC with the MACs swapped (GH_ECHO) or
 * forwarded to the other NIC unchanged (GH_SWITCH, for the bench).
 * Commands (restart the partition socket, rescind / re-offer NIC 0) are
 * executed on the host thread; with flap_ms set the host restarts its
 * partition socket flap_ms after every time NIC 0 came up (filter set), a
 * host whose connections all die young; a snapshot of what the VSPs negotiated is
 * published under a mutex after every round (gh_snap).
 *
 * Optionally (gh_start_ex with a MAC) the partition also has a legacy NIC:
 * the DEC 21140A model (vsp-net/tulip.h) as PCI device 0 behind IO traps,
 * its interrupt on line 0, DMA into the guest's memory, and every frame
 * the guest transmits on it echoed back with the MACs swapped (host
 * thread; counted in tulip_tx under mu).
 */
#ifndef GUEST_HOST_H
#define GUEST_HOST_H

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "hv/hv_chan_msg.h"
#include "hv/hv_part.h"
#include "hv/hv_vmbus.h"
#include "vsp-net/tulip.h"
#include "vsp-net/vsp.h"

#define GH_MAX_NICS 2
#define GH_MAX_REC 512
#define GH_REC_BYTES 2048
#define GH_FWDQ 128
#define GH_TULIP_ECHO 64

enum gh_mode { GH_ECHO, GH_SWITCH };
enum gh_cmd {
    GH_CMD_NONE,
    GH_CMD_RESTART,
    GH_CMD_RESCIND0,
    GH_CMD_READD0,
    GH_CMD_RESCIND1,
};

struct gh_rec {
    uint32_t len;
    uint16_t tci;
    bool vlan;
    uint8_t data[GH_REC_BYTES];
};

struct gh_nic {
    struct gh_host *h;
    unsigned idx;
    uint32_t relid;
    struct vsa_mac mac;
    struct hv_chan *ch;
    struct vspn_vsp *vsp;
    bool violated;
    char why[128];
};

/* Published after every host round (read with gh_snap). */
struct gh_state {
    uint64_t gen;
    bool connected;
    unsigned gpadls;
    unsigned opens, closes, violations, rescinded;
    unsigned chans; /* channels the host still knows (offered or not) */
    struct {
        bool open;
        enum vspn_vsp_state state;
        uint32_t nvsp;
        bool send_buf;
        uint32_t filter;
        uint64_t g2h, h2g, h2g_drops;
    } nic[GH_MAX_NICS];
    unsigned nrx; /* frames received from the guest (all NICs) */
};

struct gh_host {
    char dir[64];
    char path[128];
    enum gh_mode mode;
    unsigned nnics;
    struct hv_part_host *part;
    struct gh_nic nics[GH_MAX_NICS];
    pthread_t thr;
    atomic_bool stop;
    int cmd_fd;
    _Atomic int cmd;
    _Atomic int flap_ms;   /* > 0: restart that long after NIC 0 is up */
    uint64_t up_since_ms;  /* host thread: when NIC 0 came up, or 0 */
    pthread_mutex_t mu;
    struct gh_state st;          /* under mu */
    struct gh_rec rx[GH_MAX_REC]; /* under mu, guest→host frames in order */
    unsigned nrx;                 /* under mu */
    /* host thread only */
    struct { unsigned to; uint32_t len; uint16_t tci; bool vlan;
             uint8_t data[GH_REC_BYTES]; } fwd[GH_FWDQ];
    unsigned nfwd;
    unsigned opens, closes, violations, rescinded;
    uint8_t pkt[HV_RING_MAX_PKT_DEFAULT];
    struct vspn_pkt_scratch sc;
    /* legacy NIC (optional; host thread, created before it starts) */
    struct vspn_tulip *tulip;
    unsigned tulip_tx;            /* under mu */
    unsigned tulip_echo_n;
    uint32_t tulip_echo_len[GH_TULIP_ECHO];
    uint8_t tulip_echo[GH_TULIP_ECHO][VSPN_TULIP_MAX_FRAME];
};

static inline struct vsa_mac gh_mac(unsigned i)
{
    return (struct vsa_mac){ { 0x00, 0x15, 0x5d, 0x42, 0x00, (uint8_t)(i + 1) } };
}

/* ---- VSP ops (host thread) ---------------------------------------------- */

static inline int gh_wrc(int rc, bool sig)
{
    return rc < 0 ? rc : (sig ? 1 : 0);
}

static inline int gh_comp(void *ctx, uint64_t tid, const void *msg,
                          size_t size)
{
    struct gh_nic *n = ctx;
    bool sig = false;
    int rc = hv_ring_write_comp(hv_chan_out_ring(n->ch), tid, msg, size, &sig);

    return gh_wrc(rc, sig);
}

static inline int gh_xfer(void *ctx, uint64_t tid, uint16_t pageset,
                          const struct hv_ring_xfer_range *r, uint32_t nr,
                          const void *msg, size_t size)
{
    struct gh_nic *n = ctx;
    bool sig = false;
    int rc = hv_ring_write_xfer(hv_chan_out_ring(n->ch),
                                HV_PKT_FLAG_COMPLETION_REQUESTED, tid, pageset,
                                r, nr, msg, size, &sig);

    return gh_wrc(rc, sig);
}

static inline void gh_signal(void *ctx)
{
    struct gh_nic *n = ctx;

    (void)hv_chan_notify_guest(n->ch);
}

static inline void gh_buf(void *ctx, uint32_t id, bool recv,
                          struct vspn_buf *out)
{
    struct gh_nic *n = ctx;

    vspn_vsp_buf_prepare(n->vsp, recv,
                         hv_vmbus_host_gpadl_get(hv_part_host_vmbus(n->h->part),
                                                 n->relid, id),
                         out);
}

static inline void gh_close(void *ctx, const char *why)
{
    struct gh_nic *n = ctx;

    n->violated = true; /* acted on after handle_pkt returns */
    snprintf(n->why, sizeof(n->why), "%s", why);
}

static inline void gh_rx(void *ctx, const void *f, size_t len, uint16_t tci,
                         bool vlan)
{
    struct gh_nic *n = ctx;
    struct gh_host *h = n->h;
    size_t k = len < GH_REC_BYTES ? len : GH_REC_BYTES;

    pthread_mutex_lock(&h->mu);
    if (h->nrx < GH_MAX_REC) {
        struct gh_rec *r = &h->rx[h->nrx];

        r->len = (uint32_t)len;
        r->tci = tci;
        r->vlan = vlan;
        memcpy(r->data, f, k);
    }
    h->nrx++;
    pthread_mutex_unlock(&h->mu);

    if (h->nfwd < GH_FWDQ && len <= GH_REC_BYTES) {
        __typeof__(h->fwd[0]) *q = &h->fwd[h->nfwd++];

        memcpy(q->data, f, len);
        q->len = (uint32_t)len;
        q->tci = tci;
        q->vlan = vlan;
        if (h->mode == GH_ECHO) {
            q->to = n->idx;
            memcpy(q->data, (const uint8_t *)f + 6, 6);
            memcpy(q->data + 6, f, 6);
        } else {
            q->to = h->nnics > 1 ? 1 - n->idx : n->idx;
        }
    }
}

static const struct vspn_vsp_ops gh_vsp_ops = {
    .send_completion = gh_comp,
    .send_xfer_page = gh_xfer,
    .signal = gh_signal,
    .buf_get = gh_buf,
    .close = gh_close,
    .rx_frame = gh_rx,
};

/* ---- partition ops ---------------------------------------------------------- */

static inline struct gh_nic *gh_by_relid(struct gh_host *h, uint32_t relid)
{
    for (unsigned i = 0; i < h->nnics; i++)
        if (h->nics[i].relid == relid)
            return &h->nics[i];
    return NULL;
}

static inline int gh_chan_open(void *ctx, struct hv_chan *ch)
{
    struct gh_host *h = ctx;
    struct gh_nic *n = gh_by_relid(h, hv_chan_relid(ch));
    struct vspn_vsp_cfg cfg;

    if (!n)
        return -ENOENT;
    memset(&cfg, 0, sizeof(cfg));
    cfg.mac = n->mac;
    cfg.mtu = 1500;
    cfg.link_up = true;
    cfg.mem = hv_part_host_mem(h->part);
    cfg.name = "gh";
    n->ch = ch;
    n->violated = false;
    if (vspn_vsp_create(&cfg, &gh_vsp_ops, n, &n->vsp)) {
        n->ch = NULL;
        return -ENOMEM;
    }
    h->opens++;
    return 0;
}

static inline void gh_chan_close(void *ctx, struct hv_chan *ch)
{
    struct gh_host *h = ctx;
    struct gh_nic *n = gh_by_relid(h, hv_chan_relid(ch));

    if (!n || n->ch != ch)
        return;
    if (getenv("VG_TEST_DEBUG")) {
        const struct hv_stats *hs = hv_chan_stats(ch);
        fprintf(stderr, "guest_host: chan %u: signals sent %llu suppressed "
                "%llu received %llu writer_wakeups %llu\n", n->relid,
                (unsigned long long)hs->signals_sent,
                (unsigned long long)hs->signals_suppressed,
                (unsigned long long)hs->signals_received,
                (unsigned long long)hs->writer_wakeups);
    }
    vspn_vsp_destroy(n->vsp);
    n->vsp = NULL;
    n->ch = NULL;
    h->closes++;
}

/* ---- the legacy NIC (host thread) ---------------------------------------- */

static inline int gh_tulip_dma_read(void *ctx, uint64_t gpa, void *buf,
                                    size_t len)
{
    struct gh_host *h = ctx;
    struct hv_mem *m = h->part ? hv_part_host_mem(h->part) : NULL;

    return m ? hv_mem_read(m, gpa, buf, len) : -EFAULT;
}

static inline int gh_tulip_dma_write(void *ctx, uint64_t gpa,
                                     const void *buf, size_t len)
{
    struct gh_host *h = ctx;
    struct hv_mem *m = h->part ? hv_part_host_mem(h->part) : NULL;

    return m ? hv_mem_write(m, gpa, buf, len) : -EFAULT;
}

static inline void gh_tulip_tx(void *ctx, const uint8_t *f, uint32_t len)
{
    struct gh_host *h = ctx;
    uint8_t *e;

    pthread_mutex_lock(&h->mu);
    h->tulip_tx++;
    pthread_mutex_unlock(&h->mu);
    if (h->tulip_echo_n >= GH_TULIP_ECHO || len > VSPN_TULIP_MAX_FRAME)
        return;
    e = h->tulip_echo[h->tulip_echo_n];
    memcpy(e, f + 6, 6);
    memcpy(e + 6, f, 6);
    memcpy(e + 12, f + 12, len - 12);
    h->tulip_echo_len[h->tulip_echo_n++] = len;
}

static inline void gh_tulip_irq(void *ctx, bool asserted)
{
    struct gh_host *h = ctx;

    if (asserted && h->part)
        (void)hv_part_host_raise_irq(h->part, 0);
}

static const struct vspn_tulip_ops gh_tulip_ops = {
    .dma = { .read = gh_tulip_dma_read, .write = gh_tulip_dma_write },
    .tx_frame = gh_tulip_tx,
    .irq = gh_tulip_irq,
};

static inline void gh_io_trap(void *ctx, struct hv_part_io *io)
{
    struct gh_host *h = ctx;
    uint32_t off = (uint32_t)io->addr, v = (uint32_t)io->value;

    if (!h->tulip || io->dev != 0)
        return; /* nobody claims it: all-ones */
    if (io->flags & HV_PART_IO_CONFIG) {
        if (io->flags & HV_PART_IO_WRITE)
            vspn_tulip_cfg_write(h->tulip, off, io->size, v);
        else
            io->value = vspn_tulip_cfg_read(h->tulip, off, io->size);
    } else if (io->flags & HV_PART_IO_WRITE) {
        vspn_tulip_csr_write(h->tulip, off, io->size, v);
    } else {
        io->value = vspn_tulip_csr_read(h->tulip, off, io->size);
    }
}

/* Echoes what the guest sent, outside the model's own callbacks. */
static inline void gh_tulip_flush(struct gh_host *h)
{
    for (unsigned i = 0; i < h->tulip_echo_n; i++)
        (void)vspn_tulip_receive(h->tulip, h->tulip_echo[i],
                                 h->tulip_echo_len[i]);
    h->tulip_echo_n = 0;
}

static const struct hv_part_host_ops gh_part_ops = {
    .chan_open = gh_chan_open,
    .chan_close = gh_chan_close,
    .io_trap = gh_io_trap,
};

static inline int gh_offer(struct gh_host *h, unsigned i)
{
    struct hv_vmbus_offer_cfg oc;

    memset(&oc, 0, sizeof(oc));
    oc.if_type = hv_guid_netvsc;
    oc.if_instance.b[0] = 0xA0;
    oc.if_instance.b[15] = (uint8_t)(i + 1);
    return hv_vmbus_host_add_offer(hv_part_host_vmbus(h->part), &oc,
                                   &h->nics[i].relid);
}

static inline int gh_create_part(struct gh_host *h)
{
    int rc = hv_part_host_create(h->path, &gh_part_ops, h, &h->part);

    for (unsigned i = 0; rc == 0 && i < h->nnics; i++)
        rc = gh_offer(h, i);
    return rc;
}

/* ---- host thread --------------------------------------------------------------- */

static inline void gh_flush_fwd(struct gh_host *h)
{
    for (unsigned i = 0; i < h->nfwd; i++) {
        struct gh_nic *t = &h->nics[h->fwd[i].to];
        struct vspn_frame fr = { .data = h->fwd[i].data,
                                 .len = h->fwd[i].len,
                                 .vlan_tci = h->fwd[i].tci,
                                 .has_vlan = h->fwd[i].vlan };

        if (t->vsp)
            (void)vspn_vsp_deliver(t->vsp, &fr, 1);
    }
    h->nfwd = 0;
}

static inline void gh_service(struct gh_host *h, struct gh_nic *n)
{
    struct hv_ring *in;

    (void)hv_chan_ack_signal(n->ch);
    for (int round = 0; round < 8 && n->vsp; round++) {
        struct hv_ring_pkt rp;
        struct vspn_pkt pk;
        unsigned got = 0;

        in = hv_chan_in_ring(n->ch);
        hv_ring_mask_intr(in);
        while (got < 256 && !vspn_vsp_busy(n->vsp) &&
               hv_ring_read_pkt(in, h->pkt, sizeof(h->pkt), &rp) == 0) {
            got++;
            if (vspn_pkt_from_ring(&rp, &h->sc, &pk) == 0)
                (void)vspn_vsp_handle_pkt(n->vsp, &pk);
            gh_flush_fwd(h);
            if (n->violated) {
                h->violations++;
                fprintf(stderr, "guest_host: violation: %s\n", n->why);
                hv_chan_violation(n->ch, n->why); /* closes: vsp gone */
                return;
            }
        }
        if (hv_ring_broken(in)) {
            h->violations++;
            hv_vmbus_host_check_rings(hv_part_host_vmbus(h->part));
            return;
        }
        if (hv_ring_read_end(in))
            (void)hv_chan_notify_guest(n->ch);
        (void)vspn_vsp_poll(n->vsp);
        if (!hv_ring_unmask_intr(in) && got < 256)
            break;
    }
}

static inline void gh_command(struct gh_host *h, int cmd)
{
    switch (cmd) {
    case GH_CMD_RESTART:
        hv_part_host_destroy(h->part);
        h->part = NULL;
        if (gh_create_part(h))
            fprintf(stderr, "guest_host: restart failed\n");
        break;
    case GH_CMD_RESCIND0:
        if (hv_vmbus_host_rescind(hv_part_host_vmbus(h->part),
                                  h->nics[0].relid) == 0)
            h->rescinded++;
        break;
    case GH_CMD_RESCIND1:
        if (h->nnics > 1 &&
            hv_vmbus_host_rescind(hv_part_host_vmbus(h->part),
                                  h->nics[1].relid) == 0)
            h->rescinded++;
        break;
    case GH_CMD_READD0:
        (void)gh_offer(h, 0);
        break;
    default:
        break;
    }
}

static inline void gh_publish(struct gh_host *h)
{
    struct hv_vmbus_host *vb = h->part ? hv_part_host_vmbus(h->part) : NULL;

    pthread_mutex_lock(&h->mu);
    h->st.gen++;
    h->st.connected = h->part && hv_part_host_connected(h->part);
    h->st.gpadls = vb ? hv_vmbus_host_gpadl_count(vb) : 0;
    h->st.opens = h->opens;
    h->st.closes = h->closes;
    h->st.violations = h->violations;
    h->st.rescinded = h->rescinded;
    h->st.chans = 0;
    while (vb && hv_vmbus_host_chan_at(vb, h->st.chans))
        h->st.chans++;
    h->st.nrx = h->nrx;
    for (unsigned i = 0; i < h->nnics; i++) {
        struct gh_nic *n = &h->nics[i];
        const struct vspn_vsp_stats *s = n->vsp ? vspn_vsp_stats(n->vsp)
                                                : NULL;

        h->st.nic[i].open = n->vsp != NULL;
        if (!n->vsp)
            continue;
        h->st.nic[i].state = vspn_vsp_state(n->vsp);
        h->st.nic[i].nvsp = vspn_vsp_nvsp_version(n->vsp);
        h->st.nic[i].send_buf = vspn_vsp_has_send_buf(n->vsp);
        h->st.nic[i].filter = vspn_vsp_filter(n->vsp);
        h->st.nic[i].g2h = s->g2h_frames;
        h->st.nic[i].h2g = s->h2g_frames;
        h->st.nic[i].h2g_drops = s->h2g_no_section + s->h2g_ring_full +
                                 s->h2g_filtered + s->h2g_not_ready;
    }
    pthread_mutex_unlock(&h->mu);
}

static inline void gh_flap(struct gh_host *h)
{
    struct timespec ts;
    uint64_t now;
    int ms = atomic_load(&h->flap_ms);

    if (ms <= 0 || !h->nics[0].vsp || vspn_vsp_filter(h->nics[0].vsp) == 0) {
        h->up_since_ms = 0;
        return;
    }
    clock_gettime(CLOCK_MONOTONIC, &ts);
    now = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
    if (h->up_since_ms == 0)
        h->up_since_ms = now;
    else if (now - h->up_since_ms >= (uint64_t)ms) {
        h->up_since_ms = 0;
        gh_command(h, GH_CMD_RESTART);
    }
}

static inline void *gh_thread(void *arg)
{
    struct gh_host *h = arg;

    while (!atomic_load(&h->stop)) {
        struct pollfd pf[3 + GH_MAX_NICS];
        unsigned np = 0;
        int cfd = hv_part_host_conn_fd(h->part);
        uint64_t v;

        pf[np++] = (struct pollfd){ .fd = h->cmd_fd, .events = POLLIN };
        pf[np++] = (struct pollfd){ .fd = hv_part_host_listen_fd(h->part),
                                    .events = POLLIN };
        if (cfd >= 0)
            pf[np++] = (struct pollfd){ .fd = cfd, .events = POLLIN };
        for (unsigned i = 0; i < h->nnics; i++) {
            if (h->nics[i].ch && hv_chan_in_signal_fd(h->nics[i].ch) >= 0) {
                pf[np++] = (struct pollfd){
                    .fd = hv_chan_in_signal_fd(h->nics[i].ch),
                    .events = POLLIN };
            }
        }
        (void)poll(pf, np, 5);
        if (pf[0].revents & POLLIN) {
            if (read(h->cmd_fd, &v, sizeof(v)) == (ssize_t)sizeof(v))
                gh_command(h, atomic_exchange(&h->cmd, GH_CMD_NONE));
            gh_publish(h);
            continue;
        }
        if (cfd >= 0 && (pf[2].revents & (POLLIN | POLLHUP | POLLERR)))
            for (int k = 0; k < 64 && hv_part_host_conn_fd(h->part) >= 0;
                 k++) {
                struct pollfd one = { .fd = hv_part_host_conn_fd(h->part),
                                      .events = POLLIN };

                if (poll(&one, 1, 0) <= 0)
                    break;
                if (hv_part_host_on_conn(h->part))
                    break;
                if (h->tulip)
                    gh_tulip_flush(h);
            }
        if (pf[1].revents & POLLIN)
            (void)hv_part_host_on_listen(h->part);
        hv_vmbus_host_reap(hv_part_host_vmbus(h->part));
        for (unsigned i = 0; i < h->nnics; i++)
            if (h->nics[i].ch && h->nics[i].vsp)
                gh_service(h, &h->nics[i]);
        gh_flap(h);
        gh_publish(h);
    }
    return NULL;
}

/* ---- test-thread API -------------------------------------------------------------- */

/* Starts a host with `nnics` NIC offers on `path` (NULL: vm.sock in a
 * fresh temporary directory) and, with legacy_mac, a legacy NIC as PCI
 * device 0. */
static inline int gh_start_ex(struct gh_host *h, unsigned nnics,
                              enum gh_mode mode, const char *path,
                              const struct vsa_mac *legacy_mac)
{
    memset(h, 0, sizeof(*h));
    if (path) {
        snprintf(h->path, sizeof(h->path), "%s", path);
    } else {
        strcpy(h->dir, "/tmp/vg-test-XXXXXX");
        if (!mkdtemp(h->dir))
            return -errno;
        snprintf(h->path, sizeof(h->path), "%s/vm.sock", h->dir);
    }
    h->nnics = nnics;
    h->mode = mode;
    for (unsigned i = 0; i < nnics; i++) {
        h->nics[i].h = h;
        h->nics[i].idx = i;
        h->nics[i].mac = gh_mac(i);
    }
    pthread_mutex_init(&h->mu, NULL);
    if (legacy_mac) {
        struct vspn_tulip_config tc = { .mac = *legacy_mac, .link_up = true };

        if (vspn_tulip_create(&tc, &gh_tulip_ops, h, &h->tulip))
            return -ENOMEM;
    }
    h->cmd_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (h->cmd_fd < 0 || gh_create_part(h))
        return -EIO;
    return pthread_create(&h->thr, NULL, gh_thread, h) ? -EAGAIN : 0;
}

static inline int gh_start_at(struct gh_host *h, unsigned nnics,
                              enum gh_mode mode, const char *path)
{
    return gh_start_ex(h, nnics, mode, path, NULL);
}

static inline int gh_start(struct gh_host *h, unsigned nnics,
                           enum gh_mode mode)
{
    return gh_start_at(h, nnics, mode, NULL);
}

static inline void gh_stop(struct gh_host *h)
{
    atomic_store(&h->stop, true);
    pthread_join(h->thr, NULL);
}

/* After gh_stop. */
static inline void gh_destroy(struct gh_host *h)
{
    hv_part_host_destroy(h->part);
    vspn_tulip_destroy(h->tulip);
    close(h->cmd_fd);
    if (h->dir[0])
        rmdir(h->dir);
    pthread_mutex_destroy(&h->mu);
}

static inline void gh_snap(struct gh_host *h, struct gh_state *out)
{
    pthread_mutex_lock(&h->mu);
    *out = h->st;
    pthread_mutex_unlock(&h->mu);
}

/* Waits until the host published two more rounds (a fresh snapshot). */
static inline void gh_sync(struct gh_host *h, struct gh_state *out)
{
    struct gh_state s;
    uint64_t g;

    gh_snap(h, &s);
    g = s.gen;
    do {
        usleep(1000);
        gh_snap(h, &s);
    } while (s.gen < g + 2);
    if (out)
        *out = s;
}

static inline void gh_command_async(struct gh_host *h, enum gh_cmd c)
{
    uint64_t one = 1;

    atomic_store(&h->cmd, c);
    if (write(h->cmd_fd, &one, sizeof(one)) != (ssize_t)sizeof(one))
        fprintf(stderr, "guest_host: command not sent\n");
}

/* Copy of the i-th frame the host received; false if not there yet. */
static inline bool gh_rec_get(struct gh_host *h, unsigned i, struct gh_rec *r)
{
    bool ok;

    pthread_mutex_lock(&h->mu);
    ok = i < h->nrx && i < GH_MAX_REC;
    if (ok)
        *r = h->rx[i];
    pthread_mutex_unlock(&h->mu);
    return ok;
}

#endif /* GUEST_HOST_H */
