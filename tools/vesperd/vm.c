/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vm.c — VMs (child partitions) of vesperd: partition sockets, offers of
 * synthetic NICs, their event loop and transactions.  See vm.h.
 */
#include "tools/vesperd/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/vsa_alloc.h"
#include "common/vsa_lockfile.h"
#include "common/vsa_log.h"
#include "common/vsa_time.h"

VSA_LOG_MODULE(vesperd_vm);

/* Everything a guest can trigger logs through these buckets: comings and
 * goings (info), and trouble (warn), so that one cannot starve the other.
 * Each VM has its own three (struct vd_vm); these hold all VMs together,
 * and a line needs a token from both (VSA_LOG_RL2), so that a VM that
 * floods silences only itself. */
static struct vsa_ratelimit info_rl =
    VSA_RATELIMIT_INIT_LABEL(VD_VM_LOG_INFO_ALL_BURST,
                             VD_VM_LOG_INFO_ALL_PERIOD_S, "all VMs");
static struct vsa_ratelimit warn_rl =
    VSA_RATELIMIT_INIT_LABEL(VD_VM_LOG_WARN_ALL_BURST,
                             VD_VM_LOG_WARN_PERIOD_S, "all VMs");
/* Signal storms have their own: a guest that storms on and off must not
 * silence the other warnings. */
static struct vsa_ratelimit storm_rl =
    VSA_RATELIMIT_INIT_LABEL(VD_VM_LOG_STORM_ALL_BURST,
                             VD_VM_LOG_STORM_PERIOD_S, "all VMs");

#define SUN_PATH_SIZE sizeof(((struct sockaddr_un *)0)->sun_path)
#define EVENTS_PER_RUN 64

/* What an epoll event points to. */
enum tag_kind {
    TAG_LISTEN, /* a partition's listen socket (struct vd_vm) */
    TAG_CONN,   /* its guest connection (struct vd_vm) */
    TAG_SIGNAL, /* a channel's guest→host eventfd (struct vd_vm_nic) */
    TAG_WORK,   /* our own eventfd: drains left over (struct vd_vm_host) */
    TAG_TIMER,  /* our timerfd: signal backoffs that end (struct vd_vm_host) */
    TAG_WATCH,  /* a glue's fd (struct vd_vm_watch) */
};

struct tag {
    enum tag_kind kind;
    void *obj;
};

struct vd_vm_nic {
    struct vd_vm *vm;
    struct tag sig_tag;
    char name[CTL_NAME_MAX];
    char port[CTL_PORT_NAME_MAX];
    char switch_name[CTL_NAME_MAX];
    struct vd_vm_nic_info info; /* points into this struct */
    uint32_t relid;      /* 0: not offered (yet) */
    /* A synthetic NIC's offer, allocated when the NIC is (a configuration
     * prepare), so that offering it at the commit cannot fail for lack of
     * memory; NULL once offered. */
    struct hv_vmbus_offer_mem *offer_mem;
    struct hv_chan *ch;  /* while open */
    int sig_fd;          /* guest→host eventfd in our epoll, -1 */
    bool upper;          /* the glue took the channel */
    bool pending;        /* an unhandled drain stopped at its budget */
    /* Signal storm damping (vm.h, "Signal storms"): */
    uint64_t sig_pkts;   /* the channel's pkts_read after the last signal */
    unsigned sig_idle;   /* signal wakeups in a row that found no work */
    unsigned backoff_ms; /* last backoff; 0: the channel is not suspect */
    bool sig_off;        /* signal fd unwatched until rearm_ms */
    uint64_t rearm_ms;   /* vsa_time_now_ms() when the backoff ends */
    uint64_t opens, closes, unhandled_pkts, unhandled_bytes;
    /* legacy NICs (info.type CTL_NIC_LEGACY): the emulated device */
    bool dev_up;         /* the device glue took it (dev_attach) */
    uint64_t traps;      /* trapped accesses to its device index */
    uint64_t traps_unhandled; /* ... while no glue held it (all-ones) */
    uint64_t dev_attaches, dev_detaches, dev_refused;
};

struct vd_vm {
    struct vd_vm_host *host;
    struct vd_vm *next;
    struct tag listen_tag, conn_tag;
    char name[CTL_NAME_MAX];
    char path[SUN_PATH_SIZE];
    struct hv_part_host *part;
    struct vd_vm_nic *nics[CTL_MAX_VM_NICS]; /* config order */
    unsigned n_nics;
    bool listening;          /* listen fd in our epoll */
    int conn_fd;             /* connection fd in our epoll, -1 */
    bool kick;               /* disconnect once the current call returns */
    uint64_t violations_base; /* vm_violations() when the guest came */
    uint64_t connects, disconnects, kicked, offer_retries;
    uint64_t io_absent;      /* trapped accesses to no device index */
    /* this VM's share of info_rl, warn_rl, storm_rl (VD_VM_LOG_*) */
    struct vsa_ratelimit info_rl, warn_rl, storm_rl;
    struct vsa_ratelimit vsp_rl;   /* its NICs' violations (vm.h) */
};

struct vd_vm_watch {
    struct tag tag;
    int fd;
    vd_vm_watch_fn *fn;
    void *arg;
    bool dead;               /* deleted during a batch: freed after it */
    struct vd_vm_watch *next; /* h->watches, then h->dead */
};

struct vd_vm_host {
    char dir[PATH_MAX];
    int epfd;
    int work_fd;
    struct tag work_tag;
    int timer_fd;            /* ends signal backoffs */
    struct tag timer_tag;
    uint64_t timer_ms;       /* when timer_fd fires; 0: disarmed */
    struct vd_vm *vms;       /* committed, config order */
    struct vd_vm_nic_ops ops;
    void *ops_ctx;
    unsigned upper_open;     /* channels the glue holds */
    struct vd_vm_dev_ops dev_ops;
    void *dev_ops_ctx;
    unsigned devs_up;        /* devices the glue holds */
    bool in_run;             /* inside vd_vm_run's event loop */
    struct vd_vm_watch *watches; /* live */
    struct vd_vm_watch *dead; /* watches to free when the batch ends */
    uint8_t pkt_buf[HV_RING_MAX_PKT_DEFAULT];
};

/* A prepared change: new VMs (sockets bound, in our epoll, not yet in
 * h->vms) and NICs new to existing VMs (allocated, not yet offered). */
struct vd_vm_txn {
    const struct ctl_config *cfg;
    struct vd_vm *created;
    struct vd_vm_nic **new_nics; /* [cfg NIC count], NULL = nothing */
    struct vd_vm **new_nic_vm;   /* the VM of new_nics[i] */
    uint32_t n_new;
};

static const struct hv_part_host_ops part_ops;
static void vm_after(struct vd_vm *vm);

/* ---- helpers -------------------------------------------------------------- */

static struct vd_vm *vm_find(const struct vd_vm_host *h, const char *name)
{
    for (struct vd_vm *vm = h->vms; vm; vm = vm->next)
        if (strcmp(vm->name, name) == 0)
            return vm;
    return NULL;
}

/* (vm_sync leaves NULL holes in vm->nics while it removes NICs.) */
static struct vd_vm_nic *nic_find(const struct vd_vm *vm, const char *name)
{
    for (unsigned i = 0; i < vm->n_nics; i++)
        if (vm->nics[i] && strcmp(vm->nics[i]->name, name) == 0)
            return vm->nics[i];
    return NULL;
}

static bool nic_is_legacy(const struct vd_vm_nic *nic)
{
    return nic->info.type == CTL_NIC_LEGACY;
}

/* The NIC object stands for configured NIC p: same name and type (a
 * document that changes a NIC's type replaces the NIC). */
static bool nic_matches(const struct vd_vm_nic *nic, const struct ctl_port *p)
{
    return strcmp(nic->name, p->nic) == 0 && nic->info.type == p->nic_type;
}

/* The legacy NIC with device index `dev`, NULL if none. */
static struct vd_vm_nic *nic_by_dev(const struct vd_vm *vm, uint32_t dev)
{
    for (unsigned i = 0; i < vm->n_nics; i++)
        if (vm->nics[i] && nic_is_legacy(vm->nics[i]) &&
            vm->nics[i]->info.dev_index == dev)
            return vm->nics[i];
    return NULL;
}

/* Device indexes: legacy NICs are numbered 0, 1, ... in the VM's NIC
 * order, counting legacy NICs only (vm.h). */
static void vm_number_devices(struct vd_vm *vm)
{
    uint32_t next = 0;

    for (unsigned i = 0; i < vm->n_nics; i++)
        if (vm->nics[i])
            vm->nics[i]->info.dev_index =
                nic_is_legacy(vm->nics[i]) ? next++ : VD_VM_NO_DEV;
}

static struct vd_vm_nic *nic_by_relid(const struct vd_vm *vm, uint32_t relid)
{
    for (unsigned i = 0; relid && i < vm->n_nics; i++)
        if (vm->nics[i] && vm->nics[i]->relid == relid)
            return vm->nics[i];
    return NULL;
}

static struct hv_vmbus_host *vm_bus(const struct vd_vm *vm)
{
    return hv_part_host_vmbus(vm->part);
}

/* Refusals this partition has counted since it was created. */
static uint64_t vm_violations(const struct vd_vm *vm)
{
    const struct hv_stats *ps = hv_part_host_stats(vm->part);
    const struct hv_stats *vs = hv_vmbus_host_stats(vm_bus(vm));

    return ps->bad_frame + ps->bad_io + vs->bad_msg + vs->bad_state +
           vs->bad_gpadl + vs->chan_violation_closed;
}

static int ep_add(struct vd_vm_host *h, int fd, uint32_t events,
                  struct tag *tag)
{
    struct epoll_event ev = { .events = events, .data.ptr = tag };

    return epoll_ctl(h->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

static void ep_del(struct vd_vm_host *h, int fd)
{
    (void)epoll_ctl(h->epfd, EPOLL_CTL_DEL, fd, NULL);
}

static void wake_work(struct vd_vm_host *h)
{
    uint64_t one = 1;

    /* Our own eventfd (not shared): a full counter only means "pending". */
    (void)!write(h->work_fd, &one, sizeof(one));
}

static int mkdir_p(const char *dir)
{
    char buf[PATH_MAX];
    size_t len = strlen(dir);

    if (len == 0 || len >= sizeof(buf))
        return -ENAMETOOLONG;
    memcpy(buf, dir, len + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(buf, 0755) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

/* ---- NICs ----------------------------------------------------------------- */

static void nic_set_cfg(struct vd_vm_nic *nic, const struct ctl_config *cfg,
                        const struct ctl_port *p)
{
    snprintf(nic->switch_name, sizeof(nic->switch_name), "%s",
             cfg->switches[p->switch_idx].name);
    nic->info.mac = p->mac;
}

static struct vd_vm_nic *nic_new(const char *vm, const struct ctl_config *cfg,
                                 const struct ctl_port *p)
{
    struct vd_vm_nic *nic = vsa_calloc(1, sizeof(*nic));

    if (!nic)
        return NULL;
    if (p->nic_type != CTL_NIC_LEGACY) {
        nic->offer_mem = hv_vmbus_offer_mem_alloc();
        if (!nic->offer_mem) {
            vsa_free(nic);
            return NULL;
        }
    }
    snprintf(nic->name, sizeof(nic->name), "%s", p->nic);
    snprintf(nic->port, sizeof(nic->port), "%s", p->name);
    nic->sig_fd = -1;
    nic->sig_tag = (struct tag){ .kind = TAG_SIGNAL, .obj = nic };
    nic->info.type = p->nic_type;
    nic->info.dev_index = VD_VM_NO_DEV;
    nic_set_cfg(nic, cfg, p);
    vd_vm_instance_guid(vm, p->nic, &nic->info.instance);
    return nic;
}

/* Binds nic to vm (the info strings point at both) and, for a synthetic
 * NIC, offers it. */
static int nic_attach(struct vd_vm *vm, struct vd_vm_nic *nic)
{
    struct hv_vmbus_offer_cfg oc = {
        .if_type = hv_guid_netvsc,
        .if_instance = nic->info.instance,
        .chn_flags = HV_OFFER_FLAG_SERVER_SUPPORTS_TRANSFER_PAGES |
                     HV_OFFER_FLAG_SERVER_SUPPORTS_GPADLS,
    };
    int rc;

    nic->vm = vm;
    nic->info.vm = vm->name;
    nic->info.nic = nic->name;
    nic->info.port = nic->port;
    nic->info.switch_name = nic->switch_name;
    nic->info.part = vm->part;
    nic->info.vsp_rl = &vm->vsp_rl;
    if (nic_is_legacy(nic))
        return 0; /* an emulated PCI device: nothing on the VMBus */
    rc = hv_vmbus_host_add_offer_mem(vm_bus(vm), &oc, &nic->offer_mem,
                                     &nic->relid);
    if (rc)
        nic->relid = 0; /* vd_vm_tick retries */
    return rc;
}

/* A legacy NIC's device goes to the glue (the guest is connected). */
static void nic_dev_up(struct vd_vm_host *h, struct vd_vm_nic *nic)
{
    int rc;

    if (nic->dev_up || !nic_is_legacy(nic) || !h->dev_ops.dev_attach)
        return;
    rc = h->dev_ops.dev_attach(h->dev_ops_ctx, &nic->info);
    if (rc) {
        nic->dev_refused++;
        VSA_LOG_RL2(&nic->vm->warn_rl, &warn_rl, WARN, "vm %s: nic %s: "
                    "device %u not attached (%s): it reads as absent",
                    nic->vm->name, nic->name, nic->info.dev_index,
                    strerror(rc < 0 ? -rc : rc));
        return;
    }
    nic->dev_up = true;
    nic->dev_attaches++;
    h->devs_up++;
}

/* ... and back (guest gone, NIC or VM removed, vesperd stopping). */
static void nic_dev_down(struct vd_vm_host *h, struct vd_vm_nic *nic)
{
    if (!nic->dev_up)
        return;
    h->dev_ops.dev_detach(h->dev_ops_ctx, &nic->info);
    nic->dev_up = false;
    nic->dev_detaches++;
    h->devs_up--;
}

/* Frees a NIC that is not offered and has no device up. */
static void nic_free(struct vd_vm_nic *nic)
{
    if (!nic)
        return;
    hv_vmbus_offer_mem_free(nic->offer_mem);
    vsa_free(nic);
}

/* Withdraws nic's offer (closing its channel first) or detaches its
 * device, and frees it. */
static void nic_destroy(struct vd_vm_nic *nic)
{
    if (nic->relid)
        (void)hv_vmbus_host_rescind(vm_bus(nic->vm), nic->relid);
    if (nic->vm)
        nic_dev_down(nic->vm->host, nic);
    nic_free(nic);
}

/* Stops servicing nic's channel (hv_part_host closes its fds after us). */
static void nic_chan_down(struct vd_vm_host *h, struct vd_vm_nic *nic)
{
    struct hv_chan *ch = nic->ch;

    if (!ch)
        return;
    /* Before the fd is closed: the guest holds the same file, so closing
     * our descriptor would not take it out of the epoll set. */
    if (nic->sig_fd >= 0)
        ep_del(h, nic->sig_fd);
    nic->sig_fd = -1;
    if (nic->upper) {
        h->ops.channel_closed(h->ops_ctx, &nic->info, ch);
        h->upper_open--;
    }
    nic->upper = false;
    nic->pending = false;
    nic->sig_off = false;
    nic->sig_idle = 0;
    nic->backoff_ms = 0;
    nic->ch = NULL;
    nic->closes++;
}

/* Unhandled channel: consume what the guest wrote, count it, no reply.
 * Returns the number of packets consumed. */
static unsigned nic_drain(struct vd_vm_host *h, struct vd_vm_nic *nic)
{
    struct hv_ring *in = nic->ch ? hv_chan_in_ring(nic->ch) : NULL;
    struct hv_ring_pkt pkt;
    unsigned n = 0;
    int rc = 0;

    nic->pending = false;
    if (!in)
        return 0;
    while (n < VD_VM_DRAIN_BUDGET &&
           (rc = hv_ring_read_pkt(in, h->pkt_buf, sizeof(h->pkt_buf),
                                  &pkt)) == 0) {
        nic->unhandled_pkts++;
        nic->unhandled_bytes += (uint64_t)pkt.len8 * 8u;
        n++;
    }
    /* A writer waiting for room (pending_send_sz) gets its wakeup; the
     * signal cannot block this thread (hv_vmbus.h, Signals). */
    if (hv_ring_read_end(in))
        (void)hv_chan_notify_guest(nic->ch);
    if (rc == 0 && n == VD_VM_DRAIN_BUDGET) {
        nic->pending = true;
        wake_work(h);
    } else if (rc == -ENOBUFS) {
        /* Cannot happen: max_pkt is the default and the buffer that big. */
        hv_chan_violation(nic->ch, "packet larger than the drain buffer");
    }
    /* -EPROTO: the ring is broken; vm_after() closes the channel. */
    return n;
}

/* ---- signal storms (vm.h, "Signal storms") ---------------------------------- */

static uint64_t chan_pkts_read(struct hv_chan *ch)
{
    return hv_stats_get(hv_chan_stats(ch), HV_STATS_ID_pkts_read);
}

/* Makes timer_fd fire no earlier than `at_ms` (vsa_time_now_ms), unless
 * it fires before that already. */
static void timer_arm(struct vd_vm_host *h, uint64_t at_ms)
{
    struct itimerspec its = { { 0, 0 }, { 0, 0 } };
    uint64_t now = vsa_time_now_ms();
    uint64_t d = at_ms > now ? at_ms - now : 0;

    if (h->timer_ms && h->timer_ms <= at_ms)
        return;
    /* Relative to the monotonic clock that vsa_time_now_ms truncates to
     * milliseconds: fires at now + d ms or later, so at_ms has passed. */
    its.it_value.tv_sec = (time_t)(d / 1000u);
    its.it_value.tv_nsec = (long)(d % 1000u) * 1000000L;
    if (d == 0)
        its.it_value.tv_nsec = 1; /* all-zero would disarm */
    if (timerfd_settime(h->timer_fd, 0, &its, NULL) == 0)
        h->timer_ms = at_ms;
}

/* Services nic's channel for a guest signal (or at the end of a backoff).
 * True if the signal found work: the glue says so (guest packets handled,
 * output that waited for ring space moved on), or the guest's ring gave
 * packets since the previous signal (a service on another wakeup, the
 * glue's queue fd or the tick, may have read the packets this signal
 * announced).  True too when the channel closed meanwhile. */
static bool sig_service(struct vd_vm_host *h, struct vd_vm_nic *nic)
{
    bool work;
    uint64_t r;

    if (nic->upper)
        work = h->ops.channel_signal(h->ops_ctx, &nic->info, nic->ch);
    else
        work = nic_drain(h, nic) > 0;
    if (!nic->ch)
        return true; /* closed (violation): nothing to damp */
    r = chan_pkts_read(nic->ch);
    work |= r != nic->sig_pkts;
    nic->sig_pkts = r;
    return work;
}

static void sig_calm(struct vd_vm_nic *nic)
{
    nic->sig_idle = 0;
    nic->backoff_ms = 0;
}

/* Stops watching nic's signal fd for the next backoff (the first one
 * VD_VM_STORM_BACKOFF_MIN_MS, each one after it twice as long, up to
 * VD_VM_STORM_BACKOFF_MAX_MS).  The registration stays (events 0), so
 * re-watching cannot fail for want of memory. */
static void sig_backoff(struct vd_vm_host *h, struct vd_vm_nic *nic)
{
    struct epoll_event ev = { .events = 0, .data.ptr = &nic->sig_tag };
    bool first = nic->backoff_ms == 0;

    if (!nic->sig_off) {
        if (epoll_ctl(h->epfd, EPOLL_CTL_MOD, nic->sig_fd, &ev) < 0)
            return; /* cannot happen; then the storm is served */
        nic->sig_off = true;
    }
    nic->backoff_ms = first ? VD_VM_STORM_BACKOFF_MIN_MS
                            : nic->backoff_ms * 2u;
    if (nic->backoff_ms > VD_VM_STORM_BACKOFF_MAX_MS)
        nic->backoff_ms = VD_VM_STORM_BACKOFF_MAX_MS;
    nic->sig_idle = 0;
    nic->rearm_ms = vsa_time_now_ms() + nic->backoff_ms;
    HV_STAT_INC(hv_chan_stats(nic->ch), storm_backoffs);
    if (first)
        VSA_LOG_RL2(&nic->vm->storm_rl, &storm_rl, WARN, "vm %s: nic %s: "
                    "%u guest signals in a row found no work (signal storm): "
                    "the channel's signals are ignored for up to %u ms at a "
                    "time; its ring is still polled", nic->vm->name,
                    nic->name, VD_VM_STORM_IDLE_MAX,
                    VD_VM_STORM_BACKOFF_MAX_MS);
    timer_arm(h, nic->rearm_ms);
}

/* A signal wakeup found nothing to do. */
static void sig_idle(struct vd_vm_host *h, struct vd_vm_nic *nic)
{
    HV_STAT_INC(hv_chan_stats(nic->ch), signals_idle);
    /* Suspect (backed off before, no work since): the next idle wakeup
     * backs off again, for longer. */
    if (++nic->sig_idle >= (nic->backoff_ms ? 1u : VD_VM_STORM_IDLE_MAX))
        sig_backoff(h, nic);
}

/* nic's backoff is over: poll its ring once (a signal that came during
 * the backoff may have carried work), then watch its signals again,
 * unless the guest kept signalling and there is still nothing to do. */
static void sig_rearm(struct vd_vm_host *h, struct vd_vm_nic *nic)
{
    struct epoll_event ev = { .events = EPOLLIN | EPOLLET,
                              .data.ptr = &nic->sig_tag };
    uint64_t signals;
    bool work;

    /* Signals that came during the backoff: drained before the service
     * and the re-watch, so that only later ones make the fd report. */
    signals = hv_chan_ack_signal(nic->ch);
    work = sig_service(h, nic);
    if (!nic->ch || !nic->sig_off)
        return; /* closed meanwhile */
    if (!work && signals) {
        HV_STAT_INC(hv_chan_stats(nic->ch), signals_idle);
        sig_backoff(h, nic);
        return;
    }
    /* Work (a real signal), or a guest that went quiet: watched again.
     * An edge-triggered fd whose counter is non-zero reports at once. */
    if (epoll_ctl(h->epfd, EPOLL_CTL_MOD, nic->sig_fd, &ev) < 0)
        VSA_LOG_RL2(&nic->vm->warn_rl, &warn_rl, WARN, "vm %s: nic %s: "
                    "cannot watch the channel's signal again: %s",
                    nic->vm->name, nic->name, strerror(errno));
    nic->sig_off = false;
    sig_calm(nic);
}

/* Ends the backoffs that are due; arms the timer for the next one. */
static void timer_run(struct vd_vm_host *h)
{
    struct itimerspec off = { { 0, 0 }, { 0, 0 } };
    uint64_t now = vsa_time_now_ms(), next = 0, v;

    (void)!read(h->timer_fd, &v, sizeof(v));
    h->timer_ms = 0;
    for (struct vd_vm *vm = h->vms; vm; vm = vm->next) {
        for (unsigned i = 0; i < vm->n_nics; i++) {
            struct vd_vm_nic *nic = vm->nics[i];

            if (!nic || !nic->sig_off)
                continue;
            if (nic->rearm_ms <= now) {
                sig_rearm(h, nic);
                vm_after(vm);
            }
            if (nic->sig_off && (!next || nic->rearm_ms < next))
                next = nic->rearm_ms;
        }
    }
    if (next) {
        timer_arm(h, next);
    } else {
        (void)timerfd_settime(h->timer_fd, 0, &off, NULL);
        /* a sig_rearm above may have armed it: timer_arm would otherwise
         * take the disarmed timer for one due then, and arm none */
        h->timer_ms = 0;
    }
}

/* ---- hv_part_host callbacks (control thread, inside hv_part_host_*) ------- */

static int p_chan_open(void *ctx, struct hv_chan *ch)
{
    struct vd_vm *vm = ctx;
    struct vd_vm_host *h = vm->host;
    struct vd_vm_nic *nic = nic_by_relid(vm, hv_chan_relid(ch));
    bool watch;
    int rc;

    if (!nic)
        return -ENOENT;
    nic->ch = ch;
    nic->opens++;
    if (h->ops.channel_opened) {
        rc = h->ops.channel_opened(h->ops_ctx, &nic->info, ch);
        if (rc) {
            nic->ch = NULL;
            return rc < 0 ? rc : -EPERM;
        }
        nic->upper = true;
        h->upper_open++;
    }
    watch = !nic->upper || h->ops.channel_signal;
    if (watch) {
        /* Edge-triggered: the eventfd is drained with RWF_NOWAIT and may
         * not drain at all if the guest plays with it; an already
         * signalled fd reports once at once. */
        rc = ep_add(h, hv_chan_in_signal_fd(ch), EPOLLIN | EPOLLET,
                    &nic->sig_tag);
        if (rc) {
            VSA_LOG_RL2(&vm->warn_rl, &warn_rl, WARN, "vm %s: nic %s: "
                        "cannot watch the channel's signal: %s", vm->name,
                        nic->name, strerror(-rc));
            nic_chan_down(h, nic);
            return rc;
        }
        nic->sig_fd = hv_chan_in_signal_fd(ch);
    }
    /* The channel's counters outlive a close: damping starts afresh. */
    nic->sig_pkts = chan_pkts_read(ch);
    nic->sig_off = false;
    sig_calm(nic);
    VSA_LOG_RL2(&vm->info_rl, &info_rl, INFO, "vm %s: nic %s: channel %u "
                "open%s", vm->name, nic->name, hv_chan_relid(ch),
                nic->upper ? "" : " (no handler: packets are dropped)");
    return 0;
}

static void p_chan_close(void *ctx, struct hv_chan *ch)
{
    struct vd_vm *vm = ctx;
    struct vd_vm_nic *nic = nic_by_relid(vm, hv_chan_relid(ch));

    if (nic && nic->ch == ch)
        nic_chan_down(vm->host, nic);
}

static void p_guest_up(void *ctx)
{
    struct vd_vm *vm = ctx;
    int fd = hv_part_host_conn_fd(vm->part);
    int rc;

    vm->connects++;
    vm->violations_base = vm_violations(vm);
    rc = ep_add(vm->host, fd, EPOLLIN, &vm->conn_tag);
    if (rc) {
        VSA_LOG_RL2(&vm->warn_rl, &warn_rl, WARN, "vm %s: cannot watch the "
                    "guest connection: %s", vm->name, strerror(-rc));
        vm->kick = true; /* after hv_part_host_on_listen returns */
        return;
    }
    vm->conn_fd = fd;
    /* The guest's memory exists from now on (its regions follow). */
    for (unsigned i = 0; i < vm->n_nics; i++)
        nic_dev_up(vm->host, vm->nics[i]);
    VSA_LOG_RL2(&vm->info_rl, &info_rl, INFO, "vm %s: guest connected",
                vm->name);
}

static void p_guest_down(void *ctx)
{
    struct vd_vm *vm = ctx;

    for (unsigned i = 0; i < vm->n_nics; i++)
        if (vm->nics[i])
            nic_dev_down(vm->host, vm->nics[i]);
    /* hv_part_host closed the connection already; it was ours alone, so
     * that took it out of the epoll set. */
    vm->conn_fd = -1;
    vm->disconnects++;
    VSA_LOG_RL2(&vm->info_rl, &info_rl, INFO, "vm %s: guest disconnected; "
                "waiting for it", vm->name);
}

/* A trapped access (hv/ validated size and flags; a read's value is
 * all-ones of its size): dispatched to the device with that index, or
 * left as it is — reads all-ones, writes dropped — as a PCI bus does for
 * an index that does not exist. */
static void p_io_trap(void *ctx, struct hv_part_io *io)
{
    struct vd_vm *vm = ctx;
    struct vd_vm_host *h = vm->host;
    struct vd_vm_nic *nic = nic_by_dev(vm, io->dev);

    if (!nic) {
        vm->io_absent++;
        return;
    }
    nic->traps++;
    if (!nic->dev_up) {
        nic->traps_unhandled++;
        return;
    }
    h->dev_ops.dev_io(h->dev_ops_ctx, &nic->info, io);
}

static const struct hv_part_host_ops part_ops = {
    .chan_open = p_chan_open,
    .chan_close = p_chan_close,
    .io_trap = p_io_trap,
    .guest_up = p_guest_up,
    .guest_down = p_guest_down,
};

/* ---- partitions ----------------------------------------------------------- */

/* A new, unlinked VM with its socket bound and listening, its NICs
 * offered (invisible: no guest yet) and its listen fd in our epoll. */
static int vm_create(struct vd_vm_host *h, const struct ctl_config *cfg,
                     const struct ctl_vm *cv, struct vd_vm **out,
                     struct vsa_errmsg *em)
{
    struct vd_vm *vm = vsa_calloc(1, sizeof(*vm));
    char label[VSA_RATELIMIT_LABEL_SIZE];
    int rc;

    if (!vm)
        return vsa_errmsg_set(em, -ENOMEM, "out of memory");
    vm->host = h;
    vm->conn_fd = -1;
    vm->listen_tag = (struct tag){ .kind = TAG_LISTEN, .obj = vm };
    vm->conn_tag = (struct tag){ .kind = TAG_CONN, .obj = vm };
    snprintf(vm->name, sizeof(vm->name), "%s", cv->name);
    snprintf(label, sizeof(label), "vm %s", cv->name);
    vsa_ratelimit_init(&vm->info_rl, VD_VM_LOG_INFO_BURST,
                       VD_VM_LOG_INFO_PERIOD_S, label);
    vsa_ratelimit_init(&vm->warn_rl, VD_VM_LOG_WARN_BURST,
                       VD_VM_LOG_WARN_PERIOD_S, label);
    vsa_ratelimit_init(&vm->storm_rl, VD_VM_LOG_STORM_BURST,
                       VD_VM_LOG_STORM_PERIOD_S, label);
    vsa_ratelimit_init(&vm->vsp_rl, VD_VM_LOG_VSP_BURST,
                       VD_VM_LOG_VSP_PERIOD_S, label);
    rc = vd_vm_socket_path(h, cv->name, vm->path, sizeof(vm->path));
    if (rc) {
        vsa_errmsg_set(em, rc, "VM \"%s\": socket path %s/%s.sock is too "
                       "long (%zu bytes at most)", cv->name, h->dir,
                       cv->name, SUN_PATH_SIZE - 1);
        goto out_free;
    }
    rc = mkdir_p(h->dir);
    if (rc == 0)
        rc = hv_part_host_create(vm->path, &part_ops, vm, &vm->part);
    if (rc) {
        vsa_errmsg_set(em, rc, "VM \"%s\": cannot create its partition "
                       "socket %s: %s", cv->name, vm->path, strerror(-rc));
        goto out_free;
    }
    hv_part_host_set_name(vm->part, vm->name); /* hv/'s lines: "vm NAME:" */
    for (uint32_t k = 0; k < cv->n_nics; k++) {
        const struct ctl_port *p = &cfg->ports[cv->first_port + k];
        struct vd_vm_nic *nic = nic_new(vm->name, cfg, p);

        if (!nic) {
            rc = vsa_errmsg_set(em, -ENOMEM, "out of memory");
            goto out_part;
        }
        vm->nics[vm->n_nics++] = nic;
        rc = nic_attach(vm, nic);
        if (rc) {
            vsa_errmsg_set(em, rc, "VM \"%s\": NIC \"%s\": cannot add its "
                           "channel offer: %s", vm->name, nic->name,
                           strerror(-rc));
            goto out_part;
        }
    }
    vm_number_devices(vm);
    rc = ep_add(h, hv_part_host_listen_fd(vm->part), EPOLLIN,
                &vm->listen_tag);
    if (rc) {
        vsa_errmsg_set(em, rc, "VM \"%s\": epoll: %s", vm->name,
                       strerror(-rc));
        goto out_part;
    }
    vm->listening = true;
    *out = vm;
    return 0;

out_part:
    hv_part_host_destroy(vm->part);
    for (unsigned i = 0; i < vm->n_nics; i++)
        nic_free(vm->nics[i]);
out_free:
    vsa_free(vm);
    return rc;
}

/* Disconnects the guest (closing channels), unlinks the socket, frees. */
static void vm_destroy(struct vd_vm_host *h, struct vd_vm *vm)
{
    if (vm->listening)
        ep_del(h, hv_part_host_listen_fd(vm->part));
    if (vm->conn_fd >= 0)
        ep_del(h, vm->conn_fd);
    /* Calls p_chan_close for open channels and p_guest_down. */
    hv_part_host_destroy(vm->part);
    for (unsigned i = 0; i < vm->n_nics; i++)
        nic_free(vm->nics[i]);
    vsa_free(vm);
}

/* After any guest activity: close channels with broken rings, enforce the
 * violation limit, carry out a deferred kick. */
static void vm_after(struct vd_vm *vm)
{
    uint64_t v;

    if (!hv_part_host_connected(vm->part))
        return;
    hv_vmbus_host_check_rings(vm_bus(vm));
    v = vm_violations(vm) - vm->violations_base;
    if (v > VD_VM_MAX_VIOLATIONS && !vm->kick) {
        VSA_LOG_RL2(&vm->warn_rl, &warn_rl, WARN, "vm %s: guest "
                    "disconnected after %llu protocol violations", vm->name,
                    (unsigned long long)v);
        vm->kick = true;
        vm->kicked++;
    }
    if (vm->kick) {
        vm->kick = false;
        hv_part_host_kick(vm->part);
    }
}

/* ---- public: lifecycle ---------------------------------------------------- */

int vd_vm_dir_lock(const char *vm_dir, struct vsa_errmsg *em)
{
    char lock[PATH_MAX];
    int fd, rc;

    if ((size_t)snprintf(lock, sizeof(lock), "%s/.lock", vm_dir) >=
        sizeof(lock))
        return vsa_errmsg_set(em, -ENAMETOOLONG, "%s: path too long",
                              vm_dir);
    rc = mkdir_p(vm_dir);
    if (rc)
        return vsa_errmsg_set(em, rc, "cannot create the VM socket "
                              "directory %s: %s", vm_dir, strerror(-rc));
    fd = vsa_lockfile_take(lock, em);
    if (fd == -EBUSY)
        return vsa_errmsg_set(em, -EBUSY, "another vesperd is running with "
                              "the VM socket directory %s (it holds %s; give "
                              "this one another --vm-dir)", vm_dir, lock);
    return fd;
}

int vd_vm_host_create(const char *vm_dir, struct vd_vm_host **out,
                      struct vsa_errmsg *em)
{
    struct vd_vm_host *h;
    int rc;

    if (!vm_dir || !*vm_dir || strlen(vm_dir) >= sizeof(h->dir))
        return vsa_errmsg_set(em, -ENAMETOOLONG, "VM directory: bad path");
    h = vsa_calloc(1, sizeof(*h));
    if (!h)
        return vsa_errmsg_set(em, -ENOMEM, "out of memory");
    snprintf(h->dir, sizeof(h->dir), "%s", vm_dir);
    h->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (h->epfd < 0) {
        rc = vsa_errmsg_set(em, -errno, "epoll_create1: %s", strerror(errno));
        goto out_free;
    }
    h->work_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (h->work_fd < 0) {
        rc = vsa_errmsg_set(em, -errno, "eventfd: %s", strerror(errno));
        goto out_ep;
    }
    h->work_tag = (struct tag){ .kind = TAG_WORK, .obj = h };
    rc = ep_add(h, h->work_fd, EPOLLIN, &h->work_tag);
    if (rc) {
        vsa_errmsg_set(em, rc, "epoll: %s", strerror(-rc));
        goto out_work;
    }
    h->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (h->timer_fd < 0) {
        rc = vsa_errmsg_set(em, -errno, "timerfd: %s", strerror(errno));
        goto out_work;
    }
    h->timer_tag = (struct tag){ .kind = TAG_TIMER, .obj = h };
    rc = ep_add(h, h->timer_fd, EPOLLIN, &h->timer_tag);
    if (rc) {
        vsa_errmsg_set(em, rc, "epoll: %s", strerror(-rc));
        goto out_timer;
    }
    *out = h;
    return 0;

out_timer:
    close(h->timer_fd);
out_work:
    close(h->work_fd);
out_ep:
    close(h->epfd);
out_free:
    vsa_free(h);
    return rc;
}

void vd_vm_host_destroy(struct vd_vm_host *h)
{
    if (!h)
        return;
    while (h->vms) {
        struct vd_vm *vm = h->vms;

        h->vms = vm->next;
        vm_destroy(h, vm);
    }
    /* Watches a glue forgot (their fds are its business). */
    while (h->watches)
        vd_vm_watch_del(h, h->watches);
    close(h->timer_fd);
    close(h->work_fd);
    close(h->epfd);
    vsa_free(h);
}

int vd_vm_host_set_nic_ops(struct vd_vm_host *h,
                           const struct vd_vm_nic_ops *ops, void *ctx)
{
    for (struct vd_vm *vm = h->vms; vm; vm = vm->next)
        for (unsigned i = 0; i < vm->n_nics; i++)
            if (vm->nics[i]->ch)
                return -EBUSY;
    if (ops && ops->channel_opened && !ops->channel_closed)
        return -EINVAL;
    memset(&h->ops, 0, sizeof(h->ops));
    if (ops)
        h->ops = *ops;
    h->ops_ctx = ctx;
    return 0;
}

int vd_vm_host_set_dev_ops(struct vd_vm_host *h,
                           const struct vd_vm_dev_ops *ops, void *ctx)
{
    if (h->devs_up)
        return -EBUSY;
    if (ops && (!ops->dev_attach || !ops->dev_detach || !ops->dev_io))
        return -EINVAL;
    memset(&h->dev_ops, 0, sizeof(h->dev_ops));
    if (ops)
        h->dev_ops = *ops;
    h->dev_ops_ctx = ctx;
    return 0;
}

const char *vd_vm_host_dir(const struct vd_vm_host *h)
{
    return h->dir;
}

/* ---- public: event loop --------------------------------------------------- */

int vd_vm_fd(const struct vd_vm_host *h)
{
    return h->epfd;
}

static void on_signal(struct vd_vm_host *h, struct vd_vm_nic *nic)
{
    /* Stale: the channel closed, or its signals were put on hold,
     * earlier in this batch. */
    if (nic->sig_fd < 0 || !nic->ch || nic->sig_off)
        return;
    (void)hv_chan_ack_signal(nic->ch);
    if (sig_service(h, nic)) {
        sig_calm(nic);
    } else if (nic->ch) {
        sig_idle(h, nic);
    }
    vm_after(nic->vm);
}

static void on_work(struct vd_vm_host *h)
{
    uint64_t v;

    (void)!read(h->work_fd, &v, sizeof(v));
    for (struct vd_vm *vm = h->vms; vm; vm = vm->next) {
        for (unsigned i = 0; i < vm->n_nics; i++)
            if (vm->nics[i]->pending)
                nic_drain(h, vm->nics[i]);
        vm_after(vm);
    }
}

int vd_vm_run(struct vd_vm_host *h, int timeout_ms)
{
    struct epoll_event evs[EVENTS_PER_RUN];
    int n = epoll_wait(h->epfd, evs, EVENTS_PER_RUN, timeout_ms);

    if (n < 0)
        return errno == EINTR ? 0 : -errno;
    h->in_run = true;
    for (int i = 0; i < n; i++) {
        struct tag *t = evs[i].data.ptr;
        struct vd_vm *vm = t->obj;

        switch (t->kind) {
        case TAG_LISTEN:
            (void)hv_part_host_on_listen(vm->part);
            vm_after(vm);
            break;
        case TAG_CONN:
            /* One frame per event, level-triggered: a chatty guest gets
             * its turn with everyone else's. */
            if (hv_part_host_connected(vm->part) &&
                hv_part_host_conn_fd(vm->part) == vm->conn_fd)
                (void)hv_part_host_on_conn(vm->part);
            vm_after(vm);
            break;
        case TAG_SIGNAL:
            on_signal(h, t->obj);
            break;
        case TAG_WORK:
            on_work(h);
            break;
        case TAG_TIMER:
            timer_run(h);
            break;
        case TAG_WATCH: {
            struct vd_vm_watch *w = t->obj;

            if (!w->dead)
                w->fn(w->arg);
            break;
        }
        }
    }
    h->in_run = false;
    while (h->dead) {
        struct vd_vm_watch *w = h->dead;

        h->dead = w->next;
        vsa_free(w);
    }
    return n;
}

int vd_vm_watch_add(struct vd_vm_host *h, int fd, vd_vm_watch_fn *fn,
                    void *arg, struct vd_vm_watch **out)
{
    struct vd_vm_watch *w = vsa_calloc(1, sizeof(*w));
    int rc;

    if (!w)
        return -ENOMEM;
    w->tag = (struct tag){ .kind = TAG_WATCH, .obj = w };
    w->fd = fd;
    w->fn = fn;
    w->arg = arg;
    rc = ep_add(h, fd, EPOLLIN, &w->tag);
    if (rc) {
        vsa_free(w);
        return rc;
    }
    w->next = h->watches;
    h->watches = w;
    *out = w;
    return 0;
}

void vd_vm_watch_del(struct vd_vm_host *h, struct vd_vm_watch *w)
{
    if (!w || w->dead)
        return;
    for (struct vd_vm_watch **pp = &h->watches; *pp; pp = &(*pp)->next)
        if (*pp == w) {
            *pp = w->next;
            break;
        }
    ep_del(h, w->fd);
    w->dead = true;
    if (!h->in_run) {
        vsa_free(w);
        return;
    }
    /* A later event of this batch may still point at it. */
    w->next = h->dead;
    h->dead = w;
}

void vd_vm_tick(struct vd_vm_host *h)
{
    /* Normally timer_fd ends the backoffs; this is the safety net (and
     * what a test with a manual clock calls). */
    timer_run(h);
    for (struct vd_vm *vm = h->vms; vm; vm = vm->next) {
        for (unsigned i = 0; i < vm->n_nics; i++)
            if (!nic_is_legacy(vm->nics[i]) && vm->nics[i]->relid == 0 &&
                nic_attach(vm, vm->nics[i]) == 0)
                vm->offer_retries++;
        if (!hv_part_host_connected(vm->part))
            continue;
        vm_after(vm);
        hv_vmbus_host_reap(vm_bus(vm));
    }
}

/* ---- public: transactions ------------------------------------------------- */

static void txn_free(struct vd_vm_txn *txn)
{
    for (uint32_t i = 0; i < txn->n_new; i++)
        nic_free(txn->new_nics[i]);
    vsa_free(txn->new_nics);
    vsa_free(txn->new_nic_vm);
    vsa_free(txn);
}

int vd_vm_prepare(struct vd_vm_host *h, const struct ctl_config *cfg,
                  struct vd_vm_txn **out, struct vsa_errmsg *em)
{
    uint32_t n_nics = cfg->n_ports - cfg->n_doc_ports;
    struct vd_vm_txn *txn = vsa_calloc(1, sizeof(*txn));
    struct vd_vm **tail;
    int rc;

    if (!txn)
        return vsa_errmsg_set(em, -ENOMEM, "out of memory");
    txn->cfg = cfg;
    txn->new_nics = vsa_calloc(n_nics + 1, sizeof(*txn->new_nics));
    txn->new_nic_vm = vsa_calloc(n_nics + 1, sizeof(*txn->new_nic_vm));
    if (!txn->new_nics || !txn->new_nic_vm) {
        rc = vsa_errmsg_set(em, -ENOMEM, "out of memory");
        goto out_abort;
    }
    tail = &txn->created;
    for (uint32_t v = 0; v < cfg->n_vms; v++) {
        const struct ctl_vm *cv = &cfg->vms[v];
        struct vd_vm *vm = vm_find(h, cv->name);

        if (!vm) {
            rc = vm_create(h, cfg, cv, tail, em);
            if (rc)
                goto out_abort;
            tail = &(*tail)->next;
            continue;
        }
        for (uint32_t k = 0; k < cv->n_nics; k++) {
            const struct ctl_port *p = &cfg->ports[cv->first_port + k];
            struct vd_vm_nic *nic;

            nic = nic_find(vm, p->nic);
            if (nic && nic_matches(nic, p))
                continue;
            nic = nic_new(vm->name, cfg, p);
            if (!nic) {
                rc = vsa_errmsg_set(em, -ENOMEM, "out of memory");
                goto out_abort;
            }
            txn->new_nic_vm[txn->n_new] = vm;
            txn->new_nics[txn->n_new++] = nic;
        }
    }
    *out = txn;
    return 0;

out_abort:
    vd_vm_abort(h, txn);
    return rc;
}

/* Brings a kept VM's NICs in line with cv: removed ones rescinded, new
 * ones (from txn) offered, all in config order. */
static void vm_sync(struct vd_vm_host *h, struct vd_vm *vm,
                    const struct ctl_config *cfg, const struct ctl_vm *cv,
                    struct vd_vm_txn *txn)
{
    struct vd_vm_nic *order[CTL_MAX_VM_NICS];
    bool up = hv_part_host_connected(vm->part);
    unsigned n = 0;

    for (unsigned i = 0; i < vm->n_nics; i++) {
        struct vd_vm_nic *nic = vm->nics[i];
        int pi = ctl_vm_nic_find(cfg, (uint32_t)(cv - cfg->vms), nic->name);

        if (pi < 0 || !nic_matches(nic, &cfg->ports[pi])) {
            VSA_LOG(INFO, "vm %s: nic %s removed%s", vm->name, nic->name,
                    nic->relid && up ? "; offer rescinded"
                    : nic->dev_up ? "; device detached" : "");
            nic_destroy(nic);
            vm->nics[i] = NULL;
        }
    }
    for (uint32_t k = 0; k < cv->n_nics; k++) {
        const struct ctl_port *p = &cfg->ports[cv->first_port + k];
        struct vd_vm_nic *nic = NULL;

        for (unsigned i = 0; !nic && i < vm->n_nics; i++)
            if (vm->nics[i] && nic_matches(vm->nics[i], p))
                nic = vm->nics[i];
        for (uint32_t i = 0; !nic && i < txn->n_new; i++)
            if (txn->new_nic_vm[i] == vm && txn->new_nics[i] &&
                nic_matches(txn->new_nics[i], p)) {
                nic = txn->new_nics[i];
                txn->new_nics[i] = NULL;
                if (nic_attach(vm, nic) != 0)
                    VSA_LOG(WARN, "vm %s: nic %s: offer postponed (out of "
                            "memory)", vm->name, nic->name);
                else
                    VSA_LOG(INFO, "vm %s: nic %s added%s", vm->name,
                            nic->name, !up ? ""
                            : nic_is_legacy(nic) ? "; device attached"
                            : "; offered to the guest");
            }
        if (!nic)
            continue; /* cannot happen: prepare allocated every new NIC */
        nic_set_cfg(nic, cfg, p);
        order[n++] = nic;
    }
    memcpy(vm->nics, order, n * sizeof(order[0]));
    vm->n_nics = n;
    /* Removing a legacy NIC renumbers the legacy NICs after it (vm.h). */
    vm_number_devices(vm);
    if (up)
        for (unsigned i = 0; i < vm->n_nics; i++)
            nic_dev_up(h, vm->nics[i]);
}

void vd_vm_commit(struct vd_vm_host *h, struct vd_vm_txn *txn)
{
    const struct ctl_config *cfg = txn->cfg;
    struct vd_vm *kept = NULL, **kept_tail = &kept, *created = txn->created;
    struct vd_vm *vms = NULL, **tail = &vms;

    /* VMs that left go first (their guests are told nothing more). */
    while (h->vms) {
        struct vd_vm *vm = h->vms;
        int v = ctl_vm_find(cfg, vm->name);

        h->vms = vm->next;
        vm->next = NULL;
        if (v < 0) {
            VSA_LOG(INFO, "vm %s removed; socket %s closed", vm->name,
                    vm->path);
            vm_destroy(h, vm);
            continue;
        }
        vm_sync(h, vm, cfg, &cfg->vms[v], txn);
        *kept_tail = vm;
        kept_tail = &vm->next;
    }
    /* Rebuild the list in config order from kept and created VMs. */
    for (uint32_t v = 0; v < cfg->n_vms; v++) {
        const char *name = cfg->vms[v].name;
        struct vd_vm **pp = &kept, *vm;

        while (*pp && strcmp((*pp)->name, name) != 0)
            pp = &(*pp)->next;
        if (!*pp) {
            pp = &created;
            while (*pp && strcmp((*pp)->name, name) != 0)
                pp = &(*pp)->next;
            if (*pp)
                VSA_LOG(INFO, "vm %s: partition socket %s, %u NIC(s)", name,
                        (*pp)->path, (*pp)->n_nics);
        }
        vm = *pp;
        if (!vm)
            continue; /* cannot happen: prepare created every new VM */
        *pp = vm->next;
        vm->next = NULL;
        *tail = vm;
        tail = &vm->next;
    }
    h->vms = vms;
    txn->created = NULL;
    txn_free(txn);
}

void vd_vm_abort(struct vd_vm_host *h, struct vd_vm_txn *txn)
{
    while (txn->created) {
        struct vd_vm *vm = txn->created;

        txn->created = vm->next;
        vm_destroy(h, vm);
    }
    txn_free(txn);
}

/* ---- public: introspection ------------------------------------------------ */

static const char *vm_state(const struct vd_vm *vm)
{
    return hv_part_host_connected(vm->part) ? "connected" : "waiting";
}

json_t *vd_vm_list_json(const struct vd_vm_host *h)
{
    json_t *arr = json_array(), *r;

    if (!arr)
        return NULL;
    for (const struct vd_vm *vm = h->vms; vm; vm = vm->next)
        if (json_array_append_new(arr, json_pack("{s:s,s:s,s:I}", "name",
                                                 vm->name, "state",
                                                 vm_state(vm), "nics",
                                                 (json_int_t)vm->n_nics))) {
            json_decref(arr);
            return NULL;
        }
    r = json_pack("{s:o}", "vms", arr);
    return r;
}

static json_t *stats_json(const struct hv_stats *s)
{
    json_t *o = json_object();

    for (unsigned i = 0; o && i < HV_STATS_N; i++)
        if (json_object_set_new(o, hv_stats_name(i),
                                json_integer((json_int_t)hv_stats_get(s, i)))) {
            json_decref(o);
            return NULL;
        }
    return o;
}

static json_t *nic_json(struct vd_vm *vm, struct vd_vm_nic *nic)
{
    struct hv_chan *ch = nic->relid
        ? hv_vmbus_host_chan(vm_bus(vm), nic->relid) : NULL;
    enum hv_chan_state st = ch ? hv_chan_state(ch) : HV_CHAN_IDLE;
    bool ready = hv_vmbus_host_state(vm_bus(vm)) == HV_VMBUS_READY;
    char mac[VSA_MAC_STRLEN], guid[VD_VM_GUID_STRLEN];
    const char *handler = "none";

    if (nic->ch && nic->upper)
        handler = "synthetic";
    else if (!nic->ch)
        handler = "-";
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:s,s:b,s:b,s:s,s:I,s:I,"
                     "s:I,s:I,s:o*}",
        "nic", nic->name, "port", nic->port, "switch", nic->switch_name,
        "mac", vsa_mac_format(&nic->info.mac, mac),
        "instance", vd_vm_guid_format(&nic->info.instance, guid),
        "relid", (json_int_t)nic->relid,
        "state", nic->relid ? hv_chan_state_name(st) : "not offered",
        "offered", ready && ch && st != HV_CHAN_IDLE,
        "opened", st == HV_CHAN_OPEN,
        "handler", handler,
        "opens", (json_int_t)nic->opens,
        "closes", (json_int_t)nic->closes,
        "unhandled_packets", (json_int_t)nic->unhandled_pkts,
        "unhandled_bytes", (json_int_t)nic->unhandled_bytes,
        "counters", ch ? stats_json(hv_chan_stats(ch)) : NULL);
}

static const char *dev_state(const struct vd_vm *vm,
                             const struct vd_vm_nic *nic)
{
    if (!hv_part_host_connected(vm->part))
        return "waiting";
    return nic->dev_up ? "attached" : "unhandled";
}

static json_t *dev_json(struct vd_vm *vm, struct vd_vm_nic *nic)
{
    char mac[VSA_MAC_STRLEN];

    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:s,s:I,s:I,s:I,s:I,s:I}",
        "nic", nic->name, "port", nic->port, "switch", nic->switch_name,
        "mac", vsa_mac_format(&nic->info.mac, mac),
        "type", "legacy",
        "device", (json_int_t)nic->info.dev_index,
        "state", dev_state(vm, nic),
        "traps", (json_int_t)nic->traps,
        "traps_unhandled", (json_int_t)nic->traps_unhandled,
        "attaches", (json_int_t)nic->dev_attaches,
        "detaches", (json_int_t)nic->dev_detaches,
        "refused", (json_int_t)nic->dev_refused);
}

int vd_vm_show_json(struct vd_vm_host *h, const char *name, json_t **out)
{
    struct vd_vm *vm = vm_find(h, name);
    struct hv_vmbus_host *bus;
    struct hv_stats total = { 0 };
    char ver[16] = "-";
    uint32_t v;
    json_t *r, *chans, *devs;

    if (!vm)
        return -ENOENT;
    bus = vm_bus(vm);
    v = hv_vmbus_host_version(bus);
    if (v)
        snprintf(ver, sizeof(ver), "%u.%u", v >> 16, v & 0xffffu);
    hv_stats_add(&total, hv_part_host_stats(vm->part));
    hv_stats_add(&total, hv_vmbus_host_stats(bus));
    chans = json_array();
    devs = json_array();
    if (!chans || !devs) {
        json_decref(chans);
        json_decref(devs);
        return -ENOMEM;
    }
    for (unsigned i = 0; i < vm->n_nics; i++) {
        struct vd_vm_nic *nic = vm->nics[i];

        if (json_array_append_new(nic_is_legacy(nic) ? devs : chans,
                                  nic_is_legacy(nic) ? dev_json(vm, nic)
                                                     : nic_json(vm, nic))) {
            json_decref(chans);
            json_decref(devs);
            return -ENOMEM;
        }
    }
    r = json_pack("{s:s,s:s,s:s,s:b,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,"
                  "s:o*,s:o,s:o}",
        "name", vm->name, "socket", vm->path, "state", vm_state(vm),
        "guest_connected", hv_part_host_connected(vm->part),
        "vmbus_state", hv_vmbus_state_name(hv_vmbus_host_state(bus)),
        "vmbus_version", ver,
        "gpadls", (json_int_t)hv_vmbus_host_gpadl_count(bus),
        "connects", (json_int_t)vm->connects,
        "disconnects", (json_int_t)vm->disconnects,
        "refused", (json_int_t)hv_part_host_refused(vm->part),
        "kicked", (json_int_t)vm->kicked,
        "violations", (json_int_t)vm_violations(vm),
        "io_absent", (json_int_t)vm->io_absent,
        "counters", stats_json(&total),
        "channels", chans,
        "devices", devs);
    if (!r)
        return -ENOMEM;
    *out = r;
    return 0;
}

int vd_vm_socket_path(const struct vd_vm_host *h, const char *name,
                      char *buf, size_t size)
{
    int n = snprintf(buf, size, "%s/%s.sock", h->dir, name);

    if (n < 0 || (size_t)n >= size || (size_t)n >= SUN_PATH_SIZE)
        return -ENAMETOOLONG;
    return 0;
}

struct hv_part_host *vd_vm_part(struct vd_vm_host *h, const char *name)
{
    struct vd_vm *vm = vm_find(h, name);

    return vm ? vm->part : NULL;
}

struct hv_chan *vd_vm_nic_chan(struct vd_vm_host *h, const char *vm,
                               const char *nic)
{
    struct vd_vm *v = vm_find(h, vm);
    struct vd_vm_nic *n = v ? nic_find(v, nic) : NULL;

    return n ? n->ch : NULL;
}

uint64_t vd_vm_nic_unhandled(const struct vd_vm_host *h, const char *vm,
                             const char *nic)
{
    struct vd_vm *v = vm_find(h, vm);
    struct vd_vm_nic *n = v ? nic_find(v, nic) : NULL;

    return n ? n->unhandled_pkts : 0;
}

void vd_vm_instance_guid(const char *vm, const char *nic,
                         struct hv_guid *out)
{
    uint64_t a = ctl_vm_nic_hash(vm, nic, 0x80000000u);
    uint64_t b = ctl_vm_nic_hash(vm, nic, 0x80000001u);

    for (int i = 0; i < 8; i++) {
        out->b[i] = (uint8_t)(a >> (8 * i));
        out->b[8 + i] = (uint8_t)(b >> (8 * i));
    }
    /* time_hi_and_version is the little-endian u16 at bytes 6-7: version
     * 8 in its top nibble; the variant (10xx) leads byte 8. */
    out->b[7] = (uint8_t)((out->b[7] & 0x0fu) | 0x80u);
    out->b[8] = (uint8_t)((out->b[8] & 0x3fu) | 0x80u);
}

char *vd_vm_guid_format(const struct hv_guid *g, char *buf)
{
    const uint8_t *b = g->b;

    snprintf(buf, VD_VM_GUID_STRLEN,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
             "%02x%02x%02x%02x%02x%02x",
             b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6], b[8], b[9],
             b[10], b[11], b[12], b[13], b[14], b[15]);
    return buf;
}
