/* SPDX-License-Identifier: BSD-3-Clause */
#include "tools/vesper-guest/loop.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/vsa_log.h"
#include "common/vsa_time.h"

VSA_LOG_MODULE(vg_agent);

#define ETH_P_8021Q_HI 0x81
#define ETH_P_8021Q_LO 0x00
#define HELD_RETRY_MS 10 /* re-try a held frame even without a wakeup */

static struct vsa_ratelimit agent_rl = VSA_RATELIMIT_INIT(10, 60);
/* Connection life lines: a host may make them come every second. */
static struct vsa_ratelimit conn_rl = VSA_RATELIMIT_INIT(10, 60);

/* ---- host → TAP ------------------------------------------------------------ */

static void port_rx(void *ctx, const void *frame, size_t len, uint16_t tci,
                    bool has_vlan)
{
    struct vg_port *p = ctx;
    struct vg_counters *c = &p->agent->cnt;
    uint8_t tag[4] = { ETH_P_8021Q_HI, ETH_P_8021Q_LO, (uint8_t)(tci >> 8),
                       (uint8_t)tci };
    struct iovec iov[3];
    size_t total = len;
    ssize_t n;
    int cnt = 1;

    iov[0].iov_base = (void *)frame;
    iov[0].iov_len = len;
    if (has_vlan) { /* the tag goes back into the frame, after the MACs */
        if (len < 12 || len + 4 > VG_AGENT_FRAME_BUF) {
            VG_CNT_INC(c, drop_rx_size);
            return;
        }
        iov[0].iov_len = 12;
        iov[1].iov_base = tag;
        iov[1].iov_len = 4;
        iov[2].iov_base = (uint8_t *)frame + 12;
        iov[2].iov_len = len - 12;
        cnt = 3;
        total += 4;
    }
    n = writev(p->tap.fd, iov, cnt);
    if (n == (ssize_t)total) {
        VG_CNT_INC(c, tap_tx);
    } else if (n < 0 && (errno == EAGAIN || errno == ENOBUFS)) {
        VG_CNT_INC(c, drop_rx_tap_busy);
    } else if (n < 0 && errno == EIO) {
        VG_CNT_INC(c, drop_rx_tap_down); /* the TAP is down: expected */
    } else {
        VG_CNT_INC(c, drop_rx_tap_error);
        VSA_LOG_RL(&agent_rl, WARN, "%s: TAP write: %s", p->tap.name,
                   n < 0 ? strerror(errno) : "short write");
    }
}

/* ---- per-kind dispatch --------------------------------------------------------------- */

static bool port_legacy(const struct vg_port *p)
{
    return p->kind == VG_NIC_LEGACY;
}

static bool port_ready(const struct vg_port *p)
{
    return port_legacy(p) ? vg_legacy_ready(&p->leg) : vg_nic_ready(&p->nic);
}

static bool port_link_up(const struct vg_port *p)
{
    return port_legacy(p) ? vg_legacy_link_up(&p->leg)
                          : vg_nic_link_up(&p->nic);
}

static int port_wait_fd(const struct vg_port *p)
{
    return port_legacy(p) ? vg_legacy_wait_fd(&p->leg)
                          : vg_nic_wait_fd(&p->nic);
}

/* Signal owed to the host / transmit poll demand.  0 or a legacy NIC's
 * transport error. */
static int port_flush(struct vg_port *p)
{
    if (port_legacy(p))
        return vg_legacy_flush(&p->leg);
    vg_nic_flush(&p->nic);
    return 0;
}

static int port_xmit(struct vg_port *p, const uint8_t *f, uint32_t len,
                     uint16_t tci, bool vlan)
{
    if (port_legacy(p))
        return vg_legacy_send(&p->leg, f, len);
    return vg_nic_send(&p->nic, f, len, tci, vlan);
}

static void port_carrier(struct vg_port *p)
{
    (void)vg_tap_set_carrier(&p->tap, port_link_up(p));
}

static void port_link(void *ctx, bool up)
{
    struct vg_port *p = ctx;

    VSA_LOG(INFO, "%s: link %s", p->name, up ? "up" : "down");
    port_carrier(p);
}

static const struct vg_nic_sink port_sink = {
    .rx = port_rx,
    .link = port_link,
};

/* ---- TAP → host ----------------------------------------------------------------- */

/* Counts a send that did not go out (and will not be retried). */
static void count_send_error(struct vg_counters *c, int rc)
{
    switch (rc) {
    case -EMSGSIZE:
        VG_CNT_INC(c, drop_tx_size);
        break;
    case -EINVAL:
        VG_CNT_INC(c, drop_tx_invalid);
        break;
    case -ENOTCONN:
        VG_CNT_INC(c, drop_tx_not_ready);
        break;
    default:
        VG_CNT_INC(c, drop_tx_error);
        break;
    }
}

/* Sends the frame at buf + off (its 802.1Q tag, if any, moved into the
 * PPI).  Returns true when the frame is held for lack of room. */
static bool port_send(struct vg_port *p, uint32_t off, uint32_t len)
{
    uint8_t *f = p->buf + off;
    uint16_t tci = 0;
    bool vlan = false;
    int rc;

    /* Synthetic NICs carry the tag out of band (PPI); the legacy NIC
     * sends the frame as it is. */
    if (!port_legacy(p) && len >= 18 && f[12] == ETH_P_8021Q_HI &&
        f[13] == ETH_P_8021Q_LO) {
        tci = (uint16_t)(f[14] << 8 | f[15]);
        memmove(f + 4, f, 12);
        off += 4;
        len -= 4;
        vlan = true;
    }
    rc = port_xmit(p, p->buf + off, len, tci, vlan);
    if (rc == 0)
        return false;
    if (rc == -EAGAIN) {
        VG_CNT_INC(&p->agent->cnt, tx_deferred);
        p->held = true;
        p->held_off = off;
        p->held_len = len;
        p->held_tci = tci;
        p->held_vlan = vlan;
        return true;
    }
    count_send_error(&p->agent->cnt, rc);
    return false;
}

static void port_retry_held(struct vg_port *p)
{
    int rc;

    if (!p->held)
        return;
    rc = port_xmit(p, p->buf + p->held_off, p->held_len, p->held_tci,
                   p->held_vlan);
    if (rc == -EAGAIN)
        return;
    p->held = false;
    if (rc)
        count_send_error(&p->agent->cnt, rc);
}

static void port_read_tap(struct vg_port *p)
{
    struct vg_counters *c = &p->agent->cnt;

    for (unsigned i = 0; i < VG_AGENT_TAP_BATCH && !p->held; i++) {
        ssize_t n = read(p->tap.fd, p->buf, sizeof(p->buf));

        if (n <= 0) {
            if (n < 0 && errno != EAGAIN && errno != EINTR)
                VSA_LOG_RL(&agent_rl, WARN, "%s: TAP read: %s", p->tap.name,
                           strerror(errno));
            return;
        }
        VG_CNT_INC(c, tap_rx);
        if (!port_ready(p)) {
            VG_CNT_INC(c, drop_tx_not_ready);
            continue;
        }
        (void)port_send(p, 0, (uint32_t)n);
    }
}

/* ---- NIC lifecycle ------------------------------------------------------------------ */

static void port_drop_held(struct vg_port *p)
{
    if (p->held)
        VG_CNT_INC(&p->agent->cnt, drop_tx_not_ready);
    p->held = false;
    p->more = false;
}

static int port_open_legacy(struct vg_port *p)
{
    struct vg_agent *a = p->agent;
    char mac[VSA_MAC_STRLEN];
    struct vsa_mac m;
    int rc;

    rc = vg_legacy_open(&p->leg);
    if (rc)
        return rc;
    VG_CNT_INC(&a->cnt, nic_ups);
    m = vg_legacy_mac(&p->leg);
    (void)vg_tap_configure(&p->tap, &m, VG_MTU_DEFAULT);
    port_carrier(p);
    VSA_LOG(INFO, "%s: up: DEC 21140A at PCI device %u, MAC %s, link %s",
            p->name, p->leg.index, vsa_mac_format(&m, mac),
            vg_legacy_link_up(&p->leg) ? "up" : "down");
    return 0;
}

static int port_open(struct vg_port *p)
{
    struct vg_agent *a = p->agent;
    char mac[VSA_MAC_STRLEN];
    struct vsa_mac m;
    int rc;

    if (port_legacy(p))
        return port_open_legacy(p);
    rc = vg_nic_open(&p->nic, a->timeout_ms);
    if (rc)
        return rc;
    VG_CNT_INC(&a->cnt, nic_ups);
    m = vg_nic_mac(&p->nic);
    (void)vg_tap_configure(&p->tap, &m, vg_nic_mtu(&p->nic));
    port_carrier(p);
    VSA_LOG(INFO, "%s: up on relid %u: NVSP %#x, MAC %s, MTU %u, link %s",
            p->name, p->nic.relid, vspn_vsc_nvsp_version(p->nic.vsc),
            vsa_mac_format(&m, mac), vg_nic_mtu(&p->nic),
            vspn_vsc_link_up(p->nic.vsc) ? "up" : "down");
    return 0;
}

static void port_close(struct vg_port *p, bool graceful)
{
    port_drop_held(p);
    if (port_legacy(p))
        vg_legacy_close(&p->leg, graceful);
    else
        vg_nic_close(&p->nic, graceful, p->agent->timeout_ms);
    (void)vg_tap_set_carrier(&p->tap, false);
}

/* Opens the NICs whose offer is there (synthetic) or whose device answers
 * (legacy, when its probe is due) and that are not open yet.  Returns 0 or
 * the first fatal error (anything but "not offered / not there yet"). */
static int open_offered(struct vg_agent *a)
{
    for (unsigned i = 0; i < a->nports; i++) {
        struct vg_port *p = &a->ports[i];
        int rc;

        if (port_legacy(p)) {
            if (vg_legacy_ready(&p->leg))
                continue;
            rc = port_open(p);
            if (rc && rc != -ENOENT && rc != -EAGAIN)
                return rc;
            continue;
        }
        if (p->nic.chan_open || !vg_nic_find_offer(&p->nic))
            continue;
        rc = port_open(p);
        if (rc && rc != -ENOENT && rc != -ENODEV) /* ENODEV: rescinded */
            return rc;
    }
    return 0;
}

/* Right after connecting: every legacy NIC's DMA area from the low region
 * (before anything else allocates; legacy.h). */
static int carve_legacy(struct vg_agent *a)
{
    for (unsigned i = 0; i < a->nports; i++) {
        int rc;

        if (!port_legacy(&a->ports[i]))
            continue;
        rc = vg_legacy_carve(&a->ports[i].leg);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- public ------------------------------------------------------------------------- */

int vg_agent_init(struct vg_agent *a, const struct vg_opts *o,
                  const int *tap_fds, int sig_fd)
{
    int rc;

    memset(a, 0, sizeof(*a));
    a->opts = *o;
    a->part.path = o->partition;
    a->sig_fd = sig_fd;
    a->retry_ms = VG_AGENT_RETRY_MS;
    a->timeout_ms = VG_PART_TIMEOUT_MS;
    a->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (a->stop_fd < 0)
        return -errno;
    for (unsigned i = 0; i < o->nnics; i++) {
        struct vg_port *p = &a->ports[i];

        p->agent = a;
        p->tap.fd = -1;
        p->kind = o->nics[i].kind;
        snprintf(p->name, sizeof(p->name), "%s:%u",
                 port_legacy(p) ? "legacy" : "synthetic", o->nics[i].index);
        p->leg.part = &a->part;
        p->leg.index = o->nics[i].index;
        p->leg.sink = &port_sink;
        p->leg.sink_ctx = p;
        p->leg.cnt = &a->cnt;
        p->leg.name = p->name;
        p->leg.ifname = o->nics[i].tap;
        p->leg.timeout_ms = a->timeout_ms;
        p->leg.tx_autopoll = o->tx_autopoll;
        vg_legacy_init(&p->leg);
        p->nic.part = &a->part;
        p->nic.index = o->nics[i].index;
        p->nic.mode = o->mode;
        p->nic.mtu = o->mtu;
        p->nic.sink = &port_sink;
        p->nic.sink_ctx = p;
        p->nic.cnt = &a->cnt;
        p->nic.name = p->name;
        p->nic.ch.to_host_fd = p->nic.ch.from_host_fd = -1;
        a->nports++;
        if (tap_fds) {
            vg_tap_inject(&p->tap, tap_fds[i], o->nics[i].tap);
            continue;
        }
        rc = vg_tap_create(&p->tap, o->nics[i].tap);
        if (rc) {
            VSA_LOG(ERR, "TAP %s: %s", o->nics[i].tap, strerror(-rc));
            vg_agent_fini(a);
            return rc;
        }
    }
    return 0;
}

void vg_agent_fini(struct vg_agent *a)
{
    vg_agent_disconnect(a, false);
    for (unsigned i = 0; i < a->nports; i++)
        vg_tap_close(&a->ports[i].tap);
    if (a->stop_fd >= 0)
        close(a->stop_fd);
    a->stop_fd = -1;
    a->nports = 0;
}

int vg_agent_connect(struct vg_agent *a)
{
    uint64_t mem = 0, low = 0;
    int rc;

    for (unsigned i = 0; i < a->nports; i++) {
        if (port_legacy(&a->ports[i]))
            low += VG_LEGACY_MEM_SIZE;
        else
            mem += vg_nic_mem_size(a->opts.mode, a->opts.mtu);
    }
    a->part.low_size = low;
    rc = vg_part_connect(&a->part, mem, a->timeout_ms);
    if (rc == 0)
        rc = carve_legacy(a);
    if (rc == 0)
        rc = open_offered(a);
    if (rc) {
        VG_CNT_INC(&a->cnt, connect_failures);
        /* No goodbye to a host that is gone or stopped reading (-ECOMM:
         * each send of it would wait out its deadline again). */
        vg_agent_disconnect(a, rc != -ECONNRESET && rc != -ETIMEDOUT &&
                                   rc != -ECOMM);
        if (!a->retry_quiet)
            VSA_LOG(WARN, "%s: %s; retrying every %u ms", a->part.path,
                    strerror(-rc), a->retry_ms);
        a->retry_quiet = true;
        return rc;
    }
    VG_CNT_INC(&a->cnt, connects);
    a->connected_ms = vsa_time_now_ms();
    if (a->was_connected)
        VSA_LOG_RL(&conn_rl, INFO, "%s: connected again", a->part.path);
    else if (a->retry_quiet)
        VSA_LOG_RL(&conn_rl, INFO, "%s: connected", a->part.path);
    a->retry_quiet = false;
    a->was_connected = true;
    for (unsigned i = 0; i < a->nports; i++)
        if (!port_legacy(&a->ports[i]) && !a->ports[i].nic.chan_open)
            VSA_LOG_RL(&conn_rl, WARN, "%s: not offered by the host yet; "
                       "waiting", a->ports[i].name);
    return 0;
}

void vg_agent_disconnect(struct vg_agent *a, bool graceful)
{
    for (unsigned i = 0; i < a->nports; i++)
        port_close(&a->ports[i], graceful);
    vg_part_close(&a->part, graceful, a->timeout_ms);
    /* Whatever was carved from that connection's memory is gone with it.
     * (The next connection's hv_part_guest may well be allocated at the
     * same address, so "same owner pointer" must not survive a close.) */
    for (unsigned i = 0; i < a->nports; i++) {
        if (port_legacy(&a->ports[i]))
            vg_legacy_reset_connection(&a->ports[i].leg);
        else
            a->ports[i].nic.mem_owner = NULL;
    }
}

bool vg_agent_connected(const struct vg_agent *a)
{
    return vg_part_connected(&a->part);
}

static void host_lost(struct vg_agent *a, const char *why)
{
    uint64_t now = vsa_time_now_ms();

    VG_CNT_INC(&a->cnt, host_lost);
    /* A connection that dies young (a host that breaks the ring at every
     * channel open) must not become a reconnect loop, each round a new
     * memory region and a full handshake: back off, doubling. */
    if (now - a->connected_ms >= VG_AGENT_STABLE_MS)
        a->backoff_ms = 0;
    else if (a->backoff_ms == 0)
        a->backoff_ms = a->retry_ms;
    else
        a->backoff_ms = a->backoff_ms >= VG_AGENT_BACKOFF_MAX_MS / 2
                            ? VG_AGENT_BACKOFF_MAX_MS
                            : 2 * a->backoff_ms;
    VSA_LOG_RL(&conn_rl, WARN, "%s: %s; carrier off, reconnecting in %u ms",
               a->part.path, why, a->backoff_ms);
    vg_agent_disconnect(a, false);
    /* then every retry_ms while attempts fail */
    a->next_try_ms = vsa_time_now_ms() + a->backoff_ms;
}

/* Offers the host withdrew that none of our NICs had open: tell the host
 * it may forget them (RELID_RELEASED), as any guest would.  0 or the
 * error of a send that failed (the offer is kept). */
static int release_rescinded(struct vg_agent *a)
{
    struct hv_vmbus_guest *vb = hv_part_guest_vmbus(a->part.pg);
    unsigned i = 0;
    int rc;

    while (i < hv_vmbus_guest_offer_count(vb)) {
        const struct hv_vmbus_guest_offer *o = hv_vmbus_guest_offer_at(vb, i);
        uint32_t relid = o->offer.child_relid;
        bool ours = false;

        for (unsigned k = 0; k < a->nports; k++)
            ours |= !port_legacy(&a->ports[k]) && a->ports[k].nic.chan_open &&
                    a->ports[k].nic.relid == relid;
        if (!o->rescinded || ours) {
            i++;
            continue;
        }
        /* The offer leaves the list (the last one takes its place). */
        rc = hv_vmbus_guest_relid_released(vb, relid);
        if (rc)
            return rc;
    }
    return 0;
}

/* Acts on the VMBus state the partition's channel messages changed:
 * rescinds, released offers, NICs offered meanwhile. */
static void after_channel_msgs(struct vg_agent *a)
{
    int rc;

    for (unsigned i = 0; i < a->nports; i++) {
        struct vg_port *p = &a->ports[i];

        if (!port_legacy(p) && vg_nic_rescinded(&p->nic)) {
            VG_CNT_INC(&a->cnt, rescinds);
            VSA_LOG(WARN, "%s: rescinded by the host; carrier off",
                    p->name);
            port_close(p, true);
        }
    }
    if (release_rescinded(a)) {
        host_lost(a, "host went away");
        return;
    }
    rc = open_offered(a);
    if (rc == -ECONNRESET)
        host_lost(a, "host went away");
    else if (rc)
        host_lost(a, "NIC bring-up failed");
}

/* Partition socket readable: channel messages (late offers, rescinds). */
static void on_partition(struct vg_agent *a)
{
    if (vg_part_pump(&a->part)) {
        host_lost(a, "host went away");
        return;
    }
    after_channel_msgs(a);
}

/* True when the agent drives both kinds: a legacy NIC's trapped accesses
 * wait for IO_TRAP_DONE and dispatch any channel message that arrives
 * meanwhile (hv_part_guest_io), so the socket may never look readable for
 * those. */
static bool mixed_kinds(const struct vg_agent *a)
{
    bool legacy = false, synthetic = false;

    for (unsigned i = 0; i < a->nports; i++) {
        legacy |= port_legacy(&a->ports[i]);
        synthetic |= !port_legacy(&a->ports[i]);
    }
    return legacy && synthetic;
}

static void on_control(struct vg_agent *a, int fd)
{
    struct signalfd_siginfo si;
    uint64_t v;

    if (fd == a->stop_fd) {
        if (read(fd, &v, sizeof(v)) == (ssize_t)sizeof(v))
            a->stopping = true;
        return;
    }
    while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        if (si.ssi_signo == SIGUSR1)
            vg_agent_print(a, stderr);
        else
            a->stopping = true;
    }
}

/* A synthetic NIC's host ring after a wakeup (or with work left).  false
 * when the host was lost meanwhile. */
static bool service_synthetic(struct vg_agent *a, struct vg_port *p,
                              bool woken, bool timed_out, int wait)
{
    int got;

    if (!(p->nic.chan_open && vg_nic_wait_fd(&p->nic) >= 0 &&
          (woken || p->more || timed_out || p->held)))
        return true;
    if (woken)
        vg_nic_ack(&p->nic);
    got = vg_nic_drain(&p->nic, VG_NIC_BATCH, &p->more);
    if (got < 0) {
        host_lost(a, "host-to-guest ring broken");
        return false;
    }
    /* Work that only a long idle timeout found was never signalled: a host
     * (or ring rule) bug worth counting. */
    if (got > 0 && timed_out && !woken && wait >= VG_AGENT_HOUSEKEEPING_MS)
        VG_CNT_INC(&a->cnt, missed_signals);
    return true;
}

/* Legacy NICs' timers (multicast list, link) and probes that are due;
 * lowers *wait to the next deadline.  false when the host was lost. */
static bool legacy_housekeeping(struct vg_agent *a, int *wait)
{
    uint64_t now = vsa_time_now_ms();
    bool probe = false;
    int rc;

    for (unsigned i = 0; i < a->nports; i++) {
        struct vg_port *p = &a->ports[i];

        if (!port_legacy(p))
            continue;
        if (!vg_legacy_ready(&p->leg)) {
            probe |= !p->leg.refused && now >= p->leg.next_probe_ms;
            (void)vg_legacy_tick(&p->leg, now, wait);
            continue;
        }
        rc = vg_legacy_tick(&p->leg, now, wait);
        if (rc == -ENXIO) { /* hot removal: probe until it is back */
            port_close(p, false);
            vg_legacy_removed(&p->leg, now);
            continue;
        }
        if (rc) {
            host_lost(a, "legacy NIC register access failed");
            return false;
        }
    }
    if (probe && open_offered(a)) {
        host_lost(a, "NIC bring-up failed");
        return false;
    }
    return true;
}

int vg_agent_poll(struct vg_agent *a, int max_wait_ms)
{
    struct pollfd pf[3 + 2 * VG_MAX_NICS];
    int tap_idx[VG_MAX_NICS], nic_idx[VG_MAX_NICS], part_idx = -1;
    unsigned n = 0, nctl;
    uint64_t now = vsa_time_now_ms();
    int wait = max_wait_ms, rc;
    bool timed_out;

    if (!vg_part_connected(&a->part) && now >= a->next_try_ms &&
        !a->stopping) {
        if (vg_agent_connect(a))
            a->next_try_ms = vsa_time_now_ms() + a->retry_ms;
        now = vsa_time_now_ms();
    }
    if (vg_part_connected(&a->part))
        (void)legacy_housekeeping(a, &wait);
    if (a->sig_fd >= 0)
        pf[n++] = (struct pollfd){ .fd = a->sig_fd, .events = POLLIN };
    pf[n++] = (struct pollfd){ .fd = a->stop_fd, .events = POLLIN };
    nctl = n;
    /* Flushes first: one may lose the host, and no fd of the connection
     * it closed may be polled (its number may be reused meanwhile). */
    for (unsigned i = 0; i < a->nports; i++)
        if (port_flush(&a->ports[i]) && vg_part_connected(&a->part))
            host_lost(a, "legacy NIC register access failed");
    for (unsigned i = 0; i < a->nports; i++) {
        struct vg_port *p = &a->ports[i];

        tap_idx[i] = nic_idx[i] = -1;
        if (!p->held) {
            tap_idx[i] = (int)n;
            pf[n++] = (struct pollfd){ .fd = p->tap.fd, .events = POLLIN };
        } else if (wait < 0 || wait > HELD_RETRY_MS) {
            wait = HELD_RETRY_MS;
        }
        if (port_wait_fd(p) >= 0) {
            nic_idx[i] = (int)n;
            pf[n++] = (struct pollfd){ .fd = port_wait_fd(p),
                                       .events = POLLIN };
        }
        if (p->more)
            wait = 0;
    }
    if (vg_part_connected(&a->part)) {
        part_idx = (int)n;
        pf[n++] = (struct pollfd){ .fd = vg_part_fd(&a->part),
                                   .events = POLLIN };
    } else if (wait < 0 || now + (uint64_t)wait > a->next_try_ms) {
        wait = a->next_try_ms > now ? (int)(a->next_try_ms - now) : 0;
    }
    if (vg_part_connected(&a->part) &&
        (wait < 0 || wait > VG_AGENT_HOUSEKEEPING_MS))
        wait = VG_AGENT_HOUSEKEEPING_MS;

    rc = poll(pf, n, wait);
    if (rc < 0)
        return errno == EINTR ? 0 : -errno;
    timed_out = rc == 0;

    for (unsigned i = 0; i < nctl; i++)
        if (pf[i].revents & POLLIN)
            on_control(a, pf[i].fd);
    if (part_idx >= 0 && vg_part_connected(&a->part) &&
        (pf[part_idx].revents & (POLLIN | POLLHUP | POLLERR)))
        on_partition(a);

    for (unsigned i = 0; i < a->nports; i++) {
        struct vg_port *p = &a->ports[i];
        bool woken = nic_idx[i] >= 0 && (pf[nic_idx[i]].revents & POLLIN);

        if (!vg_part_connected(&a->part))
            break; /* host_lost dropped everything meanwhile */
        if (!port_legacy(p)) {
            if (!service_synthetic(a, p, woken, timed_out, wait))
                break;
        } else if (woken) {
            int lrc = vg_legacy_service(&p->leg);

            if (lrc == -ENXIO) { /* removed with an interrupt pending */
                port_close(p, false);
                vg_legacy_removed(&p->leg, vsa_time_now_ms());
            } else if (lrc) {
                host_lost(a, "legacy NIC register access failed");
                break;
            }
        }
        port_retry_held(p);
        if (tap_idx[i] >= 0 && (pf[tap_idx[i]].revents & POLLIN))
            port_read_tap(p);
        if (port_flush(p)) {
            host_lost(a, "legacy NIC register access failed");
            break;
        }
    }
    if (vg_part_connected(&a->part) && mixed_kinds(a))
        after_channel_msgs(a);
    /* Not connected: TAP frames have nowhere to go. */
    if (!vg_part_connected(&a->part))
        for (unsigned i = 0; i < a->nports; i++)
            if (tap_idx[i] >= 0 && (pf[tap_idx[i]].revents & POLLIN))
                port_read_tap(&a->ports[i]);
    return 0;
}

int vg_agent_run(struct vg_agent *a)
{
    int rc = 0;

    while (!a->stopping) {
        rc = vg_agent_poll(a, -1);
        if (rc < 0) {
            VSA_LOG(ERR, "poll: %s", strerror(-rc));
            break;
        }
    }
    if (vg_part_connected(&a->part))
        VSA_LOG(INFO, "%s: stopping: closing the NICs", a->part.path);
    vg_agent_disconnect(a, true);
    if (a->opts.verbose)
        vg_agent_print(a, stderr);
    return rc < 0 ? 1 : 0;
}

void vg_agent_stop(struct vg_agent *a)
{
    uint64_t one = 1;

    if (write(a->stop_fd, &one, sizeof(one)) < 0) {
        /* the counter is already non-zero: the stop is pending anyway */
    }
}

void vg_agent_print(const struct vg_agent *a, FILE *f)
{
    fprintf(f, "vesper-guest %s: %s\n", a->part.path,
            vg_part_connected(&a->part) ? "connected" : "not connected");
    vg_counters_print(&a->cnt, f, "", 0);
    for (unsigned i = 0; i < a->nports; i++) {
        if (port_legacy(&a->ports[i]))
            vg_legacy_print(&a->ports[i].leg, f);
        else
            vg_nic_print(&a->ports[i].nic, f);
    }
    fflush(f);
}
