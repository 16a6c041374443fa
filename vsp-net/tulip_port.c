/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tulip_port.c — the legacy (emulated DEC 21140A) NIC switch port (see
 * tulip_port.h).
 */
#include "vsp-net/tulip_port.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "common/vsa_log.h"
#include "common/vsa_tsan.h"
#include "hv/hv_mem.h"
#include "vsp-net/tulip.h"
#include "vsp-net/vm_port_queue.h"
#include "vswitch/port_class.h"
#include "vswitch/vsw_alloc.h"

VSA_LOG_MODULE(tulip_port);

#define DELIVER_BATCH 32
/* Frames longer than this cannot be anything the device accepts
 * (VSPN_TULIP_MAX_FRAME plus an 802.1Q tag): refused without copying. */
#define LIN_SIZE (VSPN_TULIP_MAX_FRAME + 4u)

/* The model's counters, in struct order (summed across device instances:
 * a guest reconnect replaces the device). */
#define TULIP_STATS(X)                                                       \
    X(csr_reads) X(csr_writes) X(cfg_reads) X(cfg_writes) X(bad_access)      \
    X(tx_frames) X(tx_bytes) X(tx_setup_frames) X(tx_dropped)                \
    X(rx_frames) X(rx_bytes) X(rx_filtered) X(rx_missed) X(rx_dropped)       \
    X(dma_errors) X(budget_exhausted) X(irqs) X(resets) X(tap_polls)         \
    X(desc_reads) X(gp_timer_expiries) X(rx_no_bus_master)
#define TULIP_STATS_COUNT_(n) +1
_Static_assert(sizeof(struct vspn_tulip_stats) ==
                   (0 TULIP_STATS(TULIP_STATS_COUNT_)) * sizeof(uint64_t),
               "struct vspn_tulip_stats changed: update TULIP_STATS");

/* Port counters: X(name, help).  Control thread only, except the two
 * atomics in struct tulip_port that the lcore bumps. */
#define TULIP_PORT_STATS(X)                                                  \
    X(io_traps, "trapped accesses that reached the port")                    \
    X(io_no_device, "accesses while no device exists (out of memory)")       \
    X(io_out_of_range, "accesses beyond configuration space or the BAR")     \
    X(io_not_decoded, "BAR accesses while the PCI command register turns "    \
                      "that space off")                                      \
    X(irqs_raised, "interrupt line raised (assertions and re-assertions)")   \
    X(guest_frames, "frames the guest transmitted into the switch")          \
    X(guest_runts, "guest frames shorter than an Ethernet header")           \
    X(guest_spoofed, "guest frames dropped: source MAC not the NIC's")      \
    X(guest_disconnected, "guest frames dropped: NIC disconnected")          \
    X(no_mbuf, "guest frames dropped: no mbuf")                              \
    X(to_switch_full, "guest frames dropped: ring to the switch full")       \
    X(rx_delivered, "frames delivered into a receive descriptor")            \
    X(rx_missed, "frames dropped: no descriptor owned by the device")        \
    X(rx_filtered, "frames refused by the address filter")                   \
    X(rx_invalid, "frames dropped: runt or oversize for the device")         \
    X(rx_stopped, "frames dropped: receive process stopped")                 \
    X(rx_dma_error, "frames dropped: DMA refused (bus error)")               \
    X(rx_no_bus_master, "frames dropped: PCI bus mastering off")             \
    X(rx_no_guest, "frames dropped: no guest attached")                      \
    X(rx_disconnected, "frames dropped: NIC disconnected")                   \
    X(poll_yields, "service calls that left transmit work for later")        \
    X(poll_parked, "loopback transmit work left until the guest's next "      \
                   "access: TULIP_PORT_TX_STREAK_MAX service calls in a "     \
                   "row did not finish it (descriptors loopback re-arms)")   \
    X(rx_yields, "service calls that left frames for later")                 \
    X(tap_timer_errors, "TAP timer could not be (dis)armed")                 \
    X(gp_timer_errors, "CSR11 timer could not be (dis)armed")                \
    X(device_resets, "devices replaced by a power-on one (guest gone)")

struct tulip_port_stats {
#define TP_FIELD_(n, h) uint64_t n;
    TULIP_PORT_STATS(TP_FIELD_)
#undef TP_FIELD_
};

struct tulip_port {
    /* lcore-facing */
    struct rte_ring *to_switch;     /* guest frames → rx_burst */
    struct rte_ring *to_guest;      /* tx_burst → guest */
    int efd;                        /* work queued (lcore) or left over */
    _Atomic bool efd_pending;       /* vm_port_queue_to_guest's flag */
    _Atomic bool link;
    /* false: the NIC is disconnected (tulip_port_set_connected); rx_burst
     * then frees what is still queued from the guest, counted. */
    _Atomic bool connected;
    _Atomic bool mac_spoofing;      /* tulip_port_set_mac_spoofing */
    _Atomic uint64_t to_guest_full; /* switch frames dropped: ring full */
    _Atomic uint64_t to_switch_disconnected; /* guest frames freed by
                                              * rx_burst: disconnected */

    /* control thread */
    int tfd;                        /* timerfd: the device's TAP polls */
    int gfd;                        /* timerfd: the device's CSR11 timer */
    int pfd;                        /* epoll of efd, tfd, gfd: tulip_port_fd */
    uint64_t tap_armed_ns;          /* tfd's interval, 0 = disarmed */
    uint64_t gpt_armed_ns;          /* gfd's period, 0 = disarmed */
    uint32_t gpt_armed_starts;      /* ... for this start of the timer */
    bool gpt_armed_cont;            /* ... and it repeats */
    /* Service calls in a row that left transmit work, with no guest
     * access between them; at TULIP_PORT_TX_STREAK_MAX the port stops
     * waking itself for it (parked) until the guest's next access. */
    unsigned tx_streak;
    bool tx_parked;
    struct rte_mempool *pool;
    char name[VSW_NAME_MAX];
    struct vsa_mac mac;
    struct vspn_tulip *dev;         /* NULL only after ENOMEM */
    struct hv_mem *mem;             /* guest memory: attached */
    tulip_port_irq_fn *irq;
    void *irq_arg;
    struct vspn_tulip_stats base;   /* counters of replaced devices */
    struct tulip_port_stats st;
    struct vsa_ratelimit attach_rl; /* this guest's attach / detach lines */
    uint8_t lin[LIN_SIZE];          /* a non-contiguous mbuf, linearised */
};

/* attach / detach lines of all ports together, on top of each port's */
static struct vsa_ratelimit attach_all_rl =
    VSA_RATELIMIT_INIT_LABEL(TULIP_PORT_LOG_ATTACH_ALL_BURST,
                             TULIP_PORT_LOG_ATTACH_PERIOD_S,
                             "all legacy ports");

/* ---- lcore side ---------------------------------------------------------- */

static uint16_t tp_rx(void *priv, uint16_t lcore_idx, struct rte_mbuf **pkts,
                      uint16_t n)
{
    struct tulip_port *tp = priv;
    unsigned got;

    (void)lcore_idx;
    got = rte_ring_sc_dequeue_burst(tp->to_switch, (void **)pkts, n, NULL);
    VSA_TSAN_ACQUIRE(tp->to_switch);
    if (got && !atomic_load_explicit(&tp->connected, memory_order_relaxed)) {
        /* Queued before the NIC was disconnected: never reaches the
         * switch. */
        rte_pktmbuf_free_bulk(pkts, got);
        atomic_fetch_add_explicit(&tp->to_switch_disconnected, got,
                                  memory_order_relaxed);
        got = 0;
    }
    return (uint16_t)got;
}

static uint16_t tp_tx(void *priv, uint16_t lcore_idx, struct rte_mbuf **pkts,
                      uint16_t n)
{
    struct tulip_port *tp = priv;

    (void)lcore_idx;
    return vm_port_queue_to_guest(tp->to_guest, tp->efd, &tp->efd_pending,
                                  pkts, n, &tp->to_guest_full);
}

static bool tp_link(void *priv)
{
    struct tulip_port *tp = priv;

    return atomic_load(&tp->link);
}

static void tp_free(struct tulip_port *tp)
{
    vm_port_queue_free(tp->to_switch);
    vm_port_queue_free(tp->to_guest);
    if (tp->pfd >= 0)
        close(tp->pfd);
    if (tp->tfd >= 0)
        close(tp->tfd);
    if (tp->gfd >= 0)
        close(tp->gfd);
    if (tp->efd >= 0)
        close(tp->efd);
    vspn_tulip_destroy(tp->dev);
    vsw__free(tp);
}

static void tp_close(void *priv)
{
    struct tulip_port *tp = priv;

    tulip_port_detach(tp);
    tp_free(tp);
}

static const struct vsw_port_plugin legacy_class = {
    .name = "legacy",
    .rx_burst = tp_rx,
    .tx_burst = tp_tx,
    .link_get = tp_link,
    .close = tp_close,
};

/* ---- device ops (control thread, inside a vspn_tulip_* call) ------------ */

/* DMA is the guest's memory only while the guest lets the device master
 * the bus.  The model does no DMA without bus mastering (tulip.h); this is
 * the backstop, which would show as a bus error. */
static bool dma_ok(const struct tulip_port *tp)
{
    return tp->mem && (vspn_tulip_pci_command(tp->dev) &
                       VSPN_TULIP_PCI_CMD_BM);
}

static int dma_read(void *ctx, uint64_t gpa, void *buf, size_t len)
{
    struct tulip_port *tp = ctx;

    if (!dma_ok(tp))
        return -EFAULT; /* no guest, or no bus master (dma_ok): a bus error */
    return hv_mem_read(tp->mem, gpa, buf, len) ? -EFAULT : 0;
}

static int dma_write(void *ctx, uint64_t gpa, const void *buf, size_t len)
{
    struct tulip_port *tp = ctx;

    if (!dma_ok(tp))
        return -EFAULT;
    return hv_mem_write(tp->mem, gpa, buf, len) ? -EFAULT : 0;
}

/* A frame the guest transmitted: into an mbuf and onto the ring to the
 * lcore (the port's VLAN mode then judges it like any other frame). */
static void dev_tx_frame(void *ctx, const uint8_t *frame, uint32_t len)
{
    struct tulip_port *tp = ctx;
    struct rte_mbuf *m;
    char *p;

    if (!atomic_load_explicit(&tp->connected, memory_order_relaxed)) {
        /* The device transmitted (the guest's descriptor is done), but
         * there is no medium: the frame is lost, as on a pulled cable. */
        tp->st.guest_disconnected++;
        return;
    }
    if (len < 14) {
        tp->st.guest_runts++;
        return;
    }
    /* frame is the model's copy: read once here */
    if (memcmp(frame + 6, tp->mac.b, 6) != 0 &&
        !atomic_load_explicit(&tp->mac_spoofing, memory_order_relaxed)) {
        tp->st.guest_spoofed++;
        return;
    }
    m = rte_pktmbuf_alloc(tp->pool);
    if (!m) {
        tp->st.no_mbuf++;
        return;
    }
    /* len <= VSPN_TULIP_MAX_FRAME (the model's bound) < the data room;
     * append refuses anything that does not fit all the same. */
    p = len <= UINT16_MAX ? rte_pktmbuf_append(m, (uint16_t)len) : NULL;
    if (!p) {
        tp->st.no_mbuf++;
        rte_pktmbuf_free(m);
        return;
    }
    memcpy(p, frame, len);
    VSA_TSAN_RELEASE(tp->to_switch);
    if (rte_ring_sp_enqueue(tp->to_switch, m) != 0) {
        tp->st.to_switch_full++;
        rte_pktmbuf_free(m);
        return;
    }
    tp->st.guest_frames++;
}

static void dev_irq(void *ctx, bool asserted)
{
    struct tulip_port *tp = ctx;

    /* An eventfd has no "deassert": the guest re-reads CSR5 when woken. */
    if (!asserted || !tp->irq)
        return;
    tp->st.irqs_raised++;
    tp->irq(tp->irq_arg);
}

static const struct vspn_tulip_ops dev_ops = {
    .dma = { .read = dma_read, .write = dma_write },
    .tx_frame = dev_tx_frame,
    .irq = dev_irq,
};

/* ---- helpers ------------------------------------------------------------- */

static void self_wake(struct tulip_port *tp)
{
    uint64_t one = 1;

    (void)!write(tp->efd, &one, sizeof(one));
}

static int dev_new(struct tulip_port *tp)
{
    /* The PHY's link: down until a guest attaches (and while the NIC is
     * disconnected). */
    struct vspn_tulip_config cfg = { .mac = tp->mac, .link_up = false };

    return vspn_tulip_create(&cfg, &dev_ops, tp, &tp->dev);
}

static void stats_add(struct vspn_tulip_stats *dst,
                      const struct vspn_tulip_stats *src)
{
#define TS_ADD_(n) dst->n += src->n;
    TULIP_STATS(TS_ADD_)
#undef TS_ADD_
}

/* CSR5 RS (bits 19:17): 0 = stopped. */
static bool rx_running(const struct vspn_tulip *dev)
{
    return ((vspn_tulip_csr(dev, 5) >> 17) & 7u) != 0;
}

/* Arms the TAP timer with the device's period (at least
 * TULIP_PORT_TAP_MIN_NS), or disarms it when the device has nothing to
 * poll for; the timerfd is only touched when the period changes. */
static void tap_sync(struct tulip_port *tp)
{
    uint64_t ns = tp->mem && tp->dev ? vspn_tulip_tap_period_ns(tp->dev) : 0;
    struct itimerspec its = { 0 };

    if (ns != 0 && ns < TULIP_PORT_TAP_MIN_NS)
        ns = TULIP_PORT_TAP_MIN_NS;
    if (ns == tp->tap_armed_ns)
        return;
    its.it_interval.tv_sec = (time_t)(ns / 1000000000u);
    its.it_interval.tv_nsec = (long)(ns % 1000000000u);
    its.it_value = its.it_interval;
    if (timerfd_settime(tp->tfd, 0, &its, NULL) != 0) {
        tp->st.tap_timer_errors++;
        return;
    }
    tp->tap_armed_ns = ns;
}

static struct timespec ns_ts(uint64_t ns)
{
    return (struct timespec){ .tv_sec = (time_t)(ns / 1000000000u),
                              .tv_nsec = (long)(ns % 1000000000u) };
}

/* Arms the CSR11 timer for the device's period from now (at least
 * TULIP_PORT_GPT_MIN_NS), one-shot or repeating as the device says, when
 * the guest (re)started it; disarms it when the device's timer stopped.
 * An idle timer costs nothing: the timerfd is only touched when the
 * guest writes CSR11 or resets, or after an expiry. */
static void gpt_sync(struct tulip_port *tp)
{
    uint32_t starts = 0;
    bool cont = false;
    uint64_t ns = tp->mem && tp->dev
                      ? vspn_tulip_gp_timer_ns(tp->dev, &starts, &cont) : 0;
    struct itimerspec its = { 0 };

    if (ns != 0 && ns < TULIP_PORT_GPT_MIN_NS)
        ns = TULIP_PORT_GPT_MIN_NS;
    if (ns == tp->gpt_armed_ns &&
        (ns == 0 || (starts == tp->gpt_armed_starts &&
                     cont == tp->gpt_armed_cont)))
        return;
    its.it_value = ns_ts(ns);
    if (cont)
        its.it_interval = its.it_value;
    if (timerfd_settime(tp->gfd, 0, &its, NULL) != 0) {
        tp->st.gp_timer_errors++;
        return;
    }
    tp->gpt_armed_ns = ns;
    tp->gpt_armed_starts = starts;
    tp->gpt_armed_cont = cont;
}

/* After anything the guest or the switch did: link, leftover work, the
 * TAP and CSR11 timers. */
static void after(struct tulip_port *tp)
{
    atomic_store(&tp->link, tp->mem && tp->dev && rx_running(tp->dev) &&
                                atomic_load(&tp->connected));
    if (tp->dev && vspn_tulip_pending(tp->dev)) {
        if (tp->tx_streak < TULIP_PORT_TX_STREAK_MAX) {
            self_wake(tp);
        } else if (!tp->tx_parked) {
            /* Work that does not end by itself: in loopback the frames
             * can give the device back its own descriptors.  A 21140
             * would loop too, but here it is the control thread's time
             * with no guest exit to pay for it. */
            tp->tx_parked = true;
            tp->st.poll_parked++;
        }
    }
    tap_sync(tp);
    gpt_sync(tp);
}

/* tulip_port_fd: one fd for vesperd to watch, readable when the eventfd
 * or either timer is. */
static int pfd_open(struct tulip_port *tp)
{
    struct epoll_event ev = { .events = EPOLLIN };

    tp->pfd = epoll_create1(EPOLL_CLOEXEC);
    if (tp->pfd < 0)
        return -errno;
    ev.data.fd = tp->efd;
    if (epoll_ctl(tp->pfd, EPOLL_CTL_ADD, tp->efd, &ev) != 0)
        return -errno;
    ev.data.fd = tp->tfd;
    if (epoll_ctl(tp->pfd, EPOLL_CTL_ADD, tp->tfd, &ev) != 0)
        return -errno;
    ev.data.fd = tp->gfd;
    if (epoll_ctl(tp->pfd, EPOLL_CTL_ADD, tp->gfd, &ev) != 0)
        return -errno;
    return 0;
}

/* ---- control thread ------------------------------------------------------ */

int tulip_port_create(struct vsw *sw, const char *name,
                      const struct vsa_mac *mac, struct tulip_port **out,
                      struct vsw_port **port, struct vsa_errmsg *em)
{
    static _Atomic unsigned seq;
    struct tulip_port *tp;
    char rname[RTE_RING_NAMESIZE];
    char label[VSA_RATELIMIT_LABEL_SIZE];
    unsigned id = atomic_fetch_add(&seq, 1);
    int rc;

    tp = vsw__zmalloc("tulip_port", sizeof(*tp), RTE_CACHE_LINE_SIZE);
    if (!tp)
        return vsa_errmsg_set(em, -ENOMEM, "out of memory");
    tp->efd = tp->tfd = tp->gfd = tp->pfd = -1;
    tp->pool = vsw_pktmbuf_pool(sw);
    tp->mac = *mac;
    atomic_store(&tp->connected, true);
    snprintf(tp->name, sizeof(tp->name), "%s", name);
    snprintf(label, sizeof(label), "port %s", name);
    vsa_ratelimit_init(&tp->attach_rl, TULIP_PORT_LOG_ATTACH_BURST,
                       TULIP_PORT_LOG_ATTACH_PERIOD_S, label);
    snprintf(rname, sizeof(rname), "tulip_in%u", id);
    tp->to_switch = vsw__ring_create(rname, TULIP_PORT_RING_SIZE,
                                     SOCKET_ID_ANY,
                                     RING_F_SP_ENQ | RING_F_SC_DEQ);
    snprintf(rname, sizeof(rname), "tulip_out%u", id);
    tp->to_guest = vm_port_queue_create_to_guest(rname, TULIP_PORT_RING_SIZE);
    tp->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (!tp->to_switch || !tp->to_guest || tp->efd < 0) {
        rc = vsa_errmsg_set(em, -ENOMEM, "port %s: out of memory", name);
        goto out_free;
    }
    tp->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    tp->gfd = tp->tfd < 0 ? -1 : timerfd_create(CLOCK_MONOTONIC,
                                                TFD_NONBLOCK | TFD_CLOEXEC);
    rc = tp->gfd < 0 ? -errno : pfd_open(tp);
    if (rc < 0) {
        rc = vsa_errmsg_set(em, rc, "port %s: cannot set up its wakeups: %s",
                            name, strerror(-rc));
        goto out_free;
    }
    rc = dev_new(tp);
    if (rc < 0) {
        rc = vsa_errmsg_set(em, rc, "port %s: cannot create the 21140 "
                            "device: %s", name, strerror(-rc));
        goto out_free;
    }
    rc = vsw_port_open_class(sw, name, &legacy_class, tp, mac, port, em);
    if (rc < 0)
        goto out_free;
    *out = tp;
    return 0;

out_free:
    tp_free(tp);
    return rc;
}

int tulip_port_attach(struct tulip_port *tp, struct hv_mem *mem,
                      tulip_port_irq_fn *irq, void *arg)
{
    if (tp->mem)
        return -EBUSY;
    if (!mem || !irq)
        return -EINVAL;
    if (!tp->dev && dev_new(tp) < 0)
        return -ENOMEM;
    tp->mem = hv_mem_get(mem);
    tp->irq = irq;
    tp->irq_arg = arg;
    vspn_tulip_set_link(tp->dev, atomic_load(&tp->connected));
    after(tp);
    VSA_LOG_RL2(&tp->attach_rl, &attach_all_rl, INFO, "port %s: guest "
                "attached", tp->name);
    return 0;
}

void tulip_port_detach(struct tulip_port *tp)
{
    struct rte_mbuf *m;

    if (!tp->mem)
        return;
    atomic_store(&tp->link, false);
    /* Power-on state for the next guest; the old device's counters stay
     * in the sums. */
    if (tp->dev) {
        stats_add(&tp->base, vspn_tulip_stats(tp->dev));
        vspn_tulip_destroy(tp->dev);
        tp->dev = NULL;
        tp->st.device_resets++;
    }
    if (dev_new(tp) < 0)
        VSA_LOG_RL2(&tp->attach_rl, &attach_all_rl, WARN, "port %s: no "
                    "device until the guest returns (out of memory)",
                    tp->name);
    hv_mem_put(tp->mem);
    tp->mem = NULL;
    tp->irq = NULL;
    tp->irq_arg = NULL;
    /* frames queued for a guest that is gone */
    while (rte_ring_sc_dequeue(tp->to_guest, (void **)&m) == 0) {
        VSA_TSAN_ACQUIRE(tp->to_guest);
        tp->st.rx_no_guest++;
        rte_pktmbuf_free(m);
    }
    tap_sync(tp); /* no guest: both timers disarmed */
    gpt_sync(tp);
    VSA_LOG_RL2(&tp->attach_rl, &attach_all_rl, INFO, "port %s: guest "
                "detached; device reset", tp->name);
}

bool tulip_port_attached(const struct tulip_port *tp)
{
    return tp->mem != NULL;
}

void tulip_port_io(struct tulip_port *tp, struct hv_part_io *io)
{
    bool wr = (io->flags & HV_PART_IO_WRITE) != 0;
    uint32_t size = io->size;

    tp->st.io_traps++;
    tp->tx_streak = 0; /* the guest is here: leftover work goes on */
    tp->tx_parked = false;
    if (!tp->dev) {
        tp->st.io_no_device++;
        return;
    }
    if (io->flags & HV_PART_IO_CONFIG) {
        /* Checked on the u64: a truncation must not alias a register. */
        if (io->addr >= VSPN_TULIP_CFG_SIZE) {
            tp->st.io_out_of_range++;
            return;
        }
        if (wr)
            vspn_tulip_cfg_write(tp->dev, (uint32_t)io->addr, size,
                                 (uint32_t)io->value);
        else
            io->value = vspn_tulip_cfg_read(tp->dev, (uint32_t)io->addr,
                                            size);
    } else {
        if (io->addr >= VSPN_TULIP_BAR_SIZE) {
            tp->st.io_out_of_range++;
            return;
        }
        /* PCI command bits 0/1: with its space's decode off the device
         * does not answer (the read stays all-ones, the write is lost) */
        if (!(vspn_tulip_pci_command(tp->dev) &
              ((io->flags & HV_PART_IO_MEM) ? VSPN_TULIP_PCI_CMD_MEM
                                            : VSPN_TULIP_PCI_CMD_IO))) {
            tp->st.io_not_decoded++;
            return;
        }
        if (wr)
            vspn_tulip_csr_write(tp->dev, (uint32_t)io->addr, size,
                                 (uint32_t)io->value);
        else
            io->value = vspn_tulip_csr_read(tp->dev, (uint32_t)io->addr,
                                            size);
    }
    after(tp);
}

/* One frame for the guest (the mbuf stays the caller's). */
static void deliver(struct tulip_port *tp, struct rte_mbuf *m)
{
    const uint8_t *d;
    int rc;

    if (!tp->mem || !tp->dev) {
        tp->st.rx_no_guest++;
        return;
    }
    if (!atomic_load_explicit(&tp->connected, memory_order_relaxed)) {
        tp->st.rx_disconnected++;
        return;
    }
    if (m->pkt_len > LIN_SIZE) {
        tp->st.rx_invalid++;
        return;
    }
    d = rte_pktmbuf_read(m, 0, m->pkt_len, tp->lin);
    if (!d) {
        tp->st.rx_invalid++;
        return;
    }
    rc = vspn_tulip_receive(tp->dev, d, m->pkt_len);
    switch (rc) {
    case 0: tp->st.rx_delivered++; break;
    case -EAGAIN: tp->st.rx_missed++; break;
    case -EPERM: tp->st.rx_filtered++; break;
    case -ENETDOWN: tp->st.rx_stopped++; break;
    case -EFAULT: tp->st.rx_dma_error++; break;
    case -EACCES: tp->st.rx_no_bus_master++; break;
    default: tp->st.rx_invalid++; break;
    }
}

void tulip_port_service(struct tulip_port *tp)
{
    struct rte_mbuf *ms[DELIVER_BATCH];
    unsigned polls = TULIP_PORT_POLL_BUDGET;
    unsigned budget = TULIP_PORT_RX_BUDGET;
    uint64_t junk, reads0;

    (void)!read(tp->efd, &junk, sizeof(junk));
    vm_port_queue_woken(&tp->efd_pending); /* before the drain below */
    /* The TAP period passed (once or more: one poll does). */
    if (read(tp->tfd, &junk, sizeof(junk)) == (ssize_t)sizeof(junk) &&
        junk > 0 && tp->dev && tp->mem)
        vspn_tulip_tap(tp->dev);
    /* The CSR11 period passed (more than once: GTE is one status bit).
     * Only read while armed: a guest without the timer pays nothing. */
    if (tp->gpt_armed_ns != 0 &&
        read(tp->gfd, &junk, sizeof(junk)) == (ssize_t)sizeof(junk) &&
        junk > 0) {
        if (!tp->gpt_armed_cont)
            tp->gpt_armed_ns = 0; /* a one-shot timerfd disarmed itself */
        if (tp->dev && tp->mem)
            vspn_tulip_gp_timer_expire(tp->dev);
    }
    /* Transmit work a poll demand left over.  The budget is checked
     * before a poll is made: each poll is up to VSPN_TULIP_TX_BUDGET
     * descriptors of work. */
    while (tp->dev && vspn_tulip_pending(tp->dev)) {
        if (polls == 0) {
            tp->st.poll_yields++;
            /* Only loopback can make work without end and without the
             * guest: off it, a guest that keeps its ring full without
             * touching the device (a polled driver) sends real frames,
             * and the switch takes them as from any other port. */
            if (vspn_tulip_loopback(tp->dev))
                tp->tx_streak++;
            else
                tp->tx_streak = 0;
            break; /* after() wakes us again, up to a streak */
        }
        polls--;
        (void)vspn_tulip_poll(tp->dev);
    }
    if (!tp->dev || !vspn_tulip_pending(tp->dev)) {
        tp->tx_streak = 0;
        tp->tx_parked = false;
    }
    /* Frames for the guest: never take more than the budgets left, in
     * frames and in descriptor fetches (a guest whose receive list holds
     * 64 tiny buffers per frame makes each frame cost 64). */
    reads0 = tp->dev ? vspn_tulip_stats(tp->dev)->desc_reads : 0;
    while (budget > 0) {
        uint64_t used = (tp->dev ? vspn_tulip_stats(tp->dev)->desc_reads
                                 : reads0) - reads0;
        unsigned want = budget < DELIVER_BATCH ? budget : DELIVER_BATCH;
        unsigned n, fit;

        if (used >= TULIP_PORT_RX_DESC_BUDGET)
            break;
        /* frames that fit at VSPN_TULIP_MAX_CHAIN fetches each, + 1 */
        fit = (unsigned)(TULIP_PORT_RX_DESC_BUDGET - used) /
                  VSPN_TULIP_MAX_CHAIN + 1;
        if (want > fit)
            want = fit;
        n = rte_ring_sc_dequeue_burst(tp->to_guest, (void **)ms, want, NULL);
        if (n == 0)
            break;
        VSA_TSAN_ACQUIRE(tp->to_guest);
        budget -= n;
        for (unsigned i = 0; i < n; i++)
            deliver(tp, ms[i]);
        rte_pktmbuf_free_bulk(ms, n);
    }
    if (!rte_ring_empty(tp->to_guest)) { /* a budget ran out */
        tp->st.rx_yields++;
        self_wake(tp);
    }
    after(tp);
}

void tulip_port_set_mac_spoofing(struct tulip_port *tp, bool allow)
{
    atomic_store(&tp->mac_spoofing, allow);
}

void tulip_port_set_connected(struct tulip_port *tp, bool connected)
{
    if (atomic_load(&tp->connected) == connected)
        return;
    atomic_store(&tp->connected, connected);
    VSA_LOG(INFO, "port %s: NIC %s", tp->name,
            connected ? "connected" : "disconnected");
    /* The PHY's link of an attached device follows at once; a device
     * without a guest gets it at attach (and a replaced one too). */
    if (tp->dev && tp->mem)
        vspn_tulip_set_link(tp->dev, connected);
    after(tp);
}

bool tulip_port_connected(const struct tulip_port *tp)
{
    return atomic_load(&tp->connected);
}

int tulip_port_fd(const struct tulip_port *tp)
{
    return tp->pfd;
}

static int jset_u64(json_t *o, const char *k, uint64_t v)
{
    return json_object_set_new(o, k, json_integer((json_int_t)v));
}

json_t *tulip_port_stats_json(const struct tulip_port *tp)
{
    json_t *o = json_object(), *dev = json_object();
    struct vspn_tulip_stats sum = tp->base;
    int bad = !o || !dev;

    if (tp->dev)
        stats_add(&sum, vspn_tulip_stats(tp->dev));
    if (!bad)
        bad |= json_object_set_new(o, "attached", json_boolean(tp->mem));
    if (!bad)
        bad |= json_object_set_new(o, "link",
                                   json_boolean(atomic_load(&tp->link)));
    if (!bad)
        bad |= json_object_set_new(o, "connected",
                                   json_boolean(atomic_load(&tp->connected)));
    if (!bad)
        bad |= json_object_set_new(
            o, "mac_spoofing", json_boolean(atomic_load(&tp->mac_spoofing)));
    if (!bad && tp->dev) {
        bad |= json_object_set_new(o, "rx_state",
                                   json_string(vspn_tulip_rx_state(tp->dev)));
        bad |= json_object_set_new(o, "tx_state",
                                   json_string(vspn_tulip_tx_state(tp->dev)));
        bad |= json_object_set_new(
            o, "irq_asserted", json_boolean(vspn_tulip_irq_asserted(tp->dev)));
        /* raw, for debugging; an object so that `vm show` does not list
         * register values among the counters */
        bad |= json_object_set_new(o, "csrs", json_pack("{s:I,s:I,s:I}",
            "csr5", (json_int_t)vspn_tulip_csr(tp->dev, 5),
            "csr6", (json_int_t)vspn_tulip_csr(tp->dev, 6),
            "csr7", (json_int_t)vspn_tulip_csr(tp->dev, 7)));
    }
#define TP_JSON_(n, h) if (!bad) bad |= jset_u64(o, #n, tp->st.n);
    TULIP_PORT_STATS(TP_JSON_)
#undef TP_JSON_
    if (!bad)
        bad |= jset_u64(o, "to_guest_full", atomic_load(&tp->to_guest_full));
    if (!bad)
        bad |= jset_u64(o, "to_switch_disconnected",
                        atomic_load(&tp->to_switch_disconnected));
#define TS_JSON_(n) if (!bad) bad |= jset_u64(dev, #n, sum.n);
    TULIP_STATS(TS_JSON_)
#undef TS_JSON_
    if (!bad) {
        bad |= json_object_set_new(o, "device", dev);
        dev = NULL;
    }
    json_decref(dev);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}
