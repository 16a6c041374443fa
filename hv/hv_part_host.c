/* SPDX-License-Identifier: BSD-3-Clause */
#include "hv/hv_part.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/vsa_accept.h"
#include "common/vsa_alloc.h"
#include "common/vsa_log.h"
#include "hv/hv_part_wire.h"
#include "hv/hv_wire.h"

VSA_LOG_MODULE(hv_part_host);

struct sig_pair {
    uint32_t relid;
    int fd[2]; /* [HV_PART_SIGNAL_TO_HOST], [HV_PART_SIGNAL_TO_GUEST] */
    bool used;
};

struct hv_part_host {
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    char name[HV_VMBUS_NAME_SIZE]; /* the VM's, in log lines; path */
    int lfd;
    int cfd;
    struct hv_part_host_ops ops;
    void *ctx;
    struct hv_vmbus_host *vmbus;
    struct hv_mem *mem;
    struct sig_pair sigs[HV_VMBUS_MAX_CHANNELS];
    int irq_fds[HV_PART_MAX_IRQS]; /* socketpair ends, -1 */
    struct hv_stats stats;
    uint64_t accepted;
    uint64_t refused;
    int unsent; /* -errno of a channel message not sent: the connection
                   ends at the next hv_part_host_on_conn (drop_unsent) */
    /* This VM's budget for the lines its guest triggers. */
    struct vsa_ratelimit log_rl;
};

/* The budget of all partitions together, on top of each one's own. */
static struct vsa_ratelimit part_rl =
    VSA_RATELIMIT_INIT_LABEL(HV_PART_LOG_ALL_BURST, HV_PART_LOG_PERIOD_S,
                             "all VMs");

static struct sig_pair *sig_find(struct hv_part_host *p, uint32_t relid)
{
    for (unsigned i = 0; i < HV_VMBUS_MAX_CHANNELS; i++)
        if (p->sigs[i].used && p->sigs[i].relid == relid)
            return &p->sigs[i];
    return NULL;
}

static void sig_release(struct sig_pair *s)
{
    for (unsigned d = 0; d < 2; d++)
        if (s->fd[d] >= 0)
            hv__part_fd_discard(s->fd[d]);
    s->used = false;
}

/* A free entry for a new relid.  Entries of channels that are gone (a
 * rescinded NIC the guest released) are given back here: relids are not
 * reused while the guest stays, so they would otherwise hold their fds
 * and, after HV_VMBUS_MAX_CHANNELS NIC re-adds, leave no entry for a new
 * channel.  NULL if every entry belongs to a live channel. */
static struct sig_pair *sig_new(struct hv_part_host *p, uint32_t relid)
{
    struct sig_pair *s = NULL;

    for (unsigned i = 0; i < HV_VMBUS_MAX_CHANNELS; i++) {
        struct sig_pair *e = &p->sigs[i];

        if (e->used && !hv_vmbus_host_chan(p->vmbus, e->relid))
            sig_release(e);
        if (!e->used && !s)
            s = e;
    }
    if (s)
        *s = (struct sig_pair){ .relid = relid, .fd = { -1, -1 },
                                .used = true };
    return s;
}

/* ---- hv_vmbus_host callbacks ------------------------------------------- */

/* Channel messages are counted by hv_vmbus_host (msgs_in, msgs_out,
 * msgs_lost), whose counters vm show adds to ours.  One that cannot be
 * sent is lost for good (VMBus does not resend), so the guest's view of
 * the bus and ours would differ from then on: the connection ends.  Not
 * here, inside hv_vmbus_host's call: the shutdown wakes the owner's poll
 * on the connection, and hv_part_host_on_conn drops the guest
 * (drop_unsent). */
static int vm_send(void *ctx, const void *msg, size_t size)
{
    struct hv_part_host *p = ctx;
    int rc;

    if (p->cfd < 0)
        return -ENOTCONN;
    rc = hv__part_send(p->cfd, HV_PART_CHAN_MSG, msg, size, -1);
    if (rc && !p->unsent) {
        p->unsent = rc;
        (void)shutdown(p->cfd, SHUT_RDWR);
    }
    return rc;
}

static int vm_chan_open(void *ctx, struct hv_chan *ch)
{
    struct hv_part_host *p = ctx;
    struct sig_pair *s = sig_find(p, hv_chan_relid(ch));

    /* Both directions must be wired before a channel can run. */
    if (!s || s->fd[HV_PART_SIGNAL_TO_HOST] < 0 ||
        s->fd[HV_PART_SIGNAL_TO_GUEST] < 0) {
        VSA_LOG_RL2(&p->log_rl, &part_rl, WARN, "vm %s: channel %u: open "
                    "without signal fds", p->name, hv_chan_relid(ch));
        return -ENOTCONN;
    }
    hv_chan_set_signal_fds(ch, s->fd[HV_PART_SIGNAL_TO_HOST],
                           s->fd[HV_PART_SIGNAL_TO_GUEST]);
    if (p->ops.chan_open && p->ops.chan_open(p->ctx, ch) != 0) {
        hv_chan_set_signal_fds(ch, -1, -1);
        return -EPERM;
    }
    return 0;
}

static void vm_chan_close(void *ctx, struct hv_chan *ch)
{
    struct hv_part_host *p = ctx;

    if (p->ops.chan_close)
        p->ops.chan_close(p->ctx, ch);
    hv_chan_set_signal_fds(ch, -1, -1);
}

static const struct hv_vmbus_host_ops vm_ops = {
    .send = vm_send,
    .chan_open = vm_chan_open,
    .chan_close = vm_chan_close,
};

/* ---- connection lifecycle ------------------------------------------------- */

/* The connection goes; ops->guest_down is told if ops->guest_up was
 * (`was_up`: not when the HELLO could not even be sent). */
static void guest_drop(struct hv_part_host *p, bool was_up)
{
    if (p->cfd < 0)
        return;
    hv_vmbus_host_disconnect(p->vmbus); /* closes channels, drops GPADLs */
    hv_mem_put(p->mem);                 /* unmapped with the last GPADL */
    p->mem = NULL;
    for (unsigned i = 0; i < HV_VMBUS_MAX_CHANNELS; i++)
        if (p->sigs[i].used)
            sig_release(&p->sigs[i]);
    for (unsigned i = 0; i < HV_PART_MAX_IRQS; i++) {
        if (p->irq_fds[i] >= 0)
            hv__part_fd_discard(p->irq_fds[i]);
        p->irq_fds[i] = -1;
    }
    hv__part_conn_close(p->cfd);
    p->cfd = -1;
    p->unsent = 0;
    if (was_up && p->ops.guest_down)
        p->ops.guest_down(p->ctx);
}

static void guest_down(struct hv_part_host *p)
{
    guest_drop(p, true);
}

int hv_part_host_create(const char *path, const struct hv_part_host_ops *ops,
                        void *ctx, struct hv_part_host **out)
{
    struct hv_part_host *p;
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int rc;

    if (!path || strlen(path) >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    p = vsa_calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    strcpy(p->path, path);
    strcpy(sa.sun_path, path);
    p->cfd = -1;
    for (unsigned i = 0; i < HV_PART_MAX_IRQS; i++)
        p->irq_fds[i] = -1;
    if (ops)
        p->ops = *ops;
    p->ctx = ctx;
    vsa_ratelimit_init(&p->log_rl, HV_PART_LOG_VM_BURST, HV_PART_LOG_PERIOD_S,
                       NULL);
    rc = hv_vmbus_host_create(&vm_ops, p, &p->vmbus);
    if (rc)
        goto out_free;
    hv_part_host_set_name(p, path);
    p->lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (p->lfd < 0) {
        rc = -errno;
        goto out_vmbus;
    }
    unlink(path); /* a stale socket from a previous run */
    if (bind(p->lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        chmod(path, 0660) < 0 || listen(p->lfd, 4) < 0) {
        rc = -errno;
        goto out_close;
    }
    *out = p;
    return 0;

out_close:
    close(p->lfd);
    unlink(path);
out_vmbus:
    hv_vmbus_host_destroy(p->vmbus);
out_free:
    vsa_free(p);
    return rc;
}

void hv_part_host_set_name(struct hv_part_host *p, const char *name)
{
    char label[VSA_RATELIMIT_LABEL_SIZE];

    snprintf(p->name, sizeof(p->name), "%s", name ? name : p->path);
    snprintf(label, sizeof(label), "vm %.*s", (int)sizeof(label) - 4,
             p->name);
    vsa_ratelimit_set_label(&p->log_rl, label);
    hv_vmbus_host_set_name(p->vmbus, p->name);
}

const char *hv_part_host_name(const struct hv_part_host *p)
{
    return p->name;
}

void hv_part_host_destroy(struct hv_part_host *p)
{
    if (!p)
        return;
    guest_down(p);
    hv_vmbus_host_destroy(p->vmbus);
    close(p->lfd);
    unlink(p->path);
    vsa_free(p);
}

int hv_part_host_listen_fd(const struct hv_part_host *p)
{
    return p->lfd;
}

int hv_part_host_conn_fd(const struct hv_part_host *p)
{
    return p->cfd;
}

int hv_part_host_on_listen(struct hv_part_host *p)
{
    uint8_t hello[8];
    bool shed;
    int fd = vsa_accept(p->lfd, SOCK_CLOEXEC | SOCK_NONBLOCK, &shed);
    int rc;

    if (fd < 0)
        return fd == -EAGAIN ? 0 : fd;
    if (shed) {
        /* Out of descriptors: said to the guest (as for memory), and the
         * connection does not stay queued to wake the loop without end. */
        uint8_t why[4];
        hv__put32(why, HV_PART_REFUSED_NOMEM);
        (void)hv__part_send(fd, HV_PART_REFUSED, why, sizeof(why), -1);
        vsa_accept_shed_done(fd);
        p->refused++;
        HV_STAT_INC(&p->stats, nomem);
        VSA_LOG_RL2(&p->log_rl, &part_rl, WARN, "vm %s: guest refused: "
                    "vesperd is out of file descriptors", p->name);
        return -EMFILE;
    }
    if (p->cfd >= 0) {
        uint8_t why[4];
        hv__put32(why, HV_PART_REFUSED_BUSY);
        (void)hv__part_send(fd, HV_PART_REFUSED, why, sizeof(why), -1);
        hv__part_conn_close(fd); /* it may have sent descriptors already */
        p->refused++;
        VSA_LOG_RL2(&p->log_rl, &part_rl, WARN, "vm %s: second guest refused",
                    p->name);
        return 0;
    }
    rc = hv_mem_create(&p->mem);
    if (rc) {
        /* Said to the guest, so that it does not wait for a HELLO. */
        uint8_t why[4];
        hv__put32(why, HV_PART_REFUSED_NOMEM);
        (void)hv__part_send(fd, HV_PART_REFUSED, why, sizeof(why), -1);
        hv__part_conn_close(fd); /* it may have sent descriptors already */
        p->refused++;
        HV_STAT_INC(&p->stats, nomem);
        VSA_LOG_RL2(&p->log_rl, &part_rl, WARN, "vm %s: guest refused: out "
                    "of host memory", p->name);
        return rc;
    }
    p->cfd = fd;
    hv_vmbus_host_connect(p->vmbus, p->mem);
    hv__put32(hello, HV_PART_PROTO_VERSION);
    hv__put32(hello + 4, 0);
    rc = hv__part_send(fd, HV_PART_HELLO, hello, sizeof(hello), -1);
    if (rc) {
        guest_drop(p, false); /* gone before it was up: no guest_down */
        return rc;
    }
    p->accepted++;
    if (p->ops.guest_up)
        p->ops.guest_up(p->ctx);
    return 0;
}

static int bad_frame(struct hv_part_host *p, struct hv__part_frame *f,
                     const char *why)
{
    HV_STAT_INC(&p->stats, bad_frame);
    VSA_LOG_RL2(&p->log_rl, &part_rl, WARN, "vm %s: frame kind %u refused: "
                "%s", p->name, f->kind, why);
    hv__part_fd_discard(f->fd);
    f->fd = -1;
    return 0;
}

static int on_mem_region(struct hv_part_host *p, struct hv__part_frame *f)
{
    uint64_t gpa, size;
    int rc;

    if (f->len != 16)
        return bad_frame(p, f, "length");
    gpa = hv__le64(f->payload);
    size = hv__le64(f->payload + 8);
    rc = hv_mem_add_fd(p->mem, f->fd, gpa, size);
    hv__part_fd_discard(f->fd);
    if (rc) {
        /* Without its memory the guest cannot run: disconnected either
         * way, but a host out of memory is not the guest's fault. */
        if (rc == -ENOMEM)
            HV_STAT_INC(&p->stats, nomem);
        else
            HV_STAT_INC(&p->stats, bad_frame);
        VSA_LOG_RL2(&p->log_rl, &part_rl, WARN, "vm %s: memory region "
                    "%#llx+%#llx refused (%s); disconnecting", p->name,
                    (unsigned long long)gpa, (unsigned long long)size,
                    rc == -ENOMEM ? "out of host memory" : strerror(-rc));
        guest_down(p);
        return -ECONNRESET;
    }
    return 0;
}

static int on_signal_setup(struct hv_part_host *p, struct hv__part_frame *f)
{
    uint32_t relid, dir;
    struct sig_pair *s;
    struct hv_chan *ch;

    if (f->len != 8)
        return bad_frame(p, f, "length");
    relid = hv__le32(f->payload);
    dir = hv__le32(f->payload + 4);
    ch = hv_vmbus_host_chan(p->vmbus, relid);
    if (dir > HV_PART_SIGNAL_TO_GUEST || !ch)
        return bad_frame(p, f, "direction or channel");
    if (hv_chan_state(ch) == HV_CHAN_OPEN)
        return bad_frame(p, f, "channel open");
    /* Host→guest: a socketpair end we can signal without ever blocking
     * (hv_vmbus.h, Signals); an eventfd is refused. */
    if (dir == HV_PART_SIGNAL_TO_GUEST && hv_chan_signal_fd_check(f->fd))
        return bad_frame(p, f, "host-to-guest signal fd not a socketpair");
    /* Guest→host: an eventfd, which hv_chan_ack_signal can always drain. */
    if (dir == HV_PART_SIGNAL_TO_HOST && hv_chan_in_signal_fd_check(f->fd))
        return bad_frame(p, f, "guest-to-host signal fd not an eventfd");
    s = sig_find(p, relid);
    if (!s)
        s = sig_new(p, relid);
    if (!s)
        return bad_frame(p, f, "too many");
    if (s->fd[dir] >= 0)
        hv__part_fd_discard(s->fd[dir]);
    s->fd[dir] = f->fd;
    f->fd = -1;
    return 0;
}

static int on_irq_setup(struct hv_part_host *p, struct hv__part_frame *f)
{
    uint32_t line;

    if (f->len != 8)
        return bad_frame(p, f, "length");
    line = hv__le32(f->payload);
    if (line >= HV_PART_MAX_IRQS)
        return bad_frame(p, f, "line");
    /* As for the host→guest channel signals (hv_vmbus.h, Signals): a
     * socketpair end, which send(MSG_DONTWAIT) can never block on.  An
     * eventfd, a pipe, another socket or a file could. */
    if (hv_chan_signal_fd_check(f->fd))
        return bad_frame(p, f, "interrupt fd not a socketpair end");
    if (p->irq_fds[line] >= 0)
        hv__part_fd_discard(p->irq_fds[line]);
    p->irq_fds[line] = f->fd;
    f->fd = -1;
    return 0;
}

/* All-ones of `size` bytes (size 1, 2 or 4). */
static uint64_t io_mask(uint32_t size)
{
    return size == 4 ? 0xffffffffull : size == 2 ? 0xffffull : 0xffull;
}

static bool io_valid(const struct hv_part_io *io)
{
    if (io->size != 1 && io->size != 2 && io->size != 4)
        return false;
    if (io->flags & ~HV_PART_IO_FLAGS)
        return false;
    /* configuration space has no BAR */
    return (io->flags & (HV_PART_IO_CONFIG | HV_PART_IO_MEM)) !=
           (HV_PART_IO_CONFIG | HV_PART_IO_MEM);
}

static int on_io_trap(struct hv_part_host *p, struct hv__part_frame *f)
{
    struct hv_part_io io;
    uint8_t out[HV__PART_IO_SIZE];
    int rc;

    if (f->len != HV__PART_IO_SIZE)
        return bad_frame(p, f, "length");
    hv__part_io_get(f->payload, &io);
    HV_STAT_INC(&p->stats, io_traps);
    if (!io_valid(&io)) {
        /* Answered all the same: the guest is waiting for it. */
        HV_STAT_INC(&p->stats, bad_io);
        VSA_LOG_RL2(&p->log_rl, &part_rl, WARN, "vm %s: device %u: access "
                    "refused (size %u, flags %#x)", p->name, io.dev, io.size,
                    io.flags);
        if (!(io.flags & HV_PART_IO_WRITE))
            io.value = ~0ull;
    } else if (io.flags & HV_PART_IO_WRITE) {
        io.value &= io_mask(io.size);
        if (p->ops.io_trap)
            p->ops.io_trap(p->ctx, &io);
    } else {
        io.value = io_mask(io.size); /* reads of nothing float high */
        if (p->ops.io_trap)
            p->ops.io_trap(p->ctx, &io);
        io.value &= io_mask(io.size);
    }
    /* io_trap may have kicked the guest (hv_part_host_kick). */
    if (p->cfd < 0)
        return -ECONNRESET;
    hv__part_io_put(out, &io);
    rc = hv__part_send(p->cfd, HV_PART_IO_TRAP_DONE, out, sizeof(out), -1);
    if (rc == -EAGAIN || rc == -ENOBUFS) {
        /* A guest that does not read its answers only starves itself. */
        HV_STAT_INC(&p->stats, io_unanswered);
        return 0;
    }
    return rc;
}

/* A channel message could not be sent (vm_send): -ECONNRESET, the guest
 * dropped.  -EAGAIN is a full socket: its answers are not read. */
static int drop_unsent(struct hv_part_host *p)
{
    VSA_LOG_RL2(&p->log_rl, &part_rl, WARN, "vm %s: channel message not "
                "sent (%s); disconnecting the guest", p->name,
                p->unsent == -EAGAIN ? "the guest does not read its socket"
                                     : strerror(-p->unsent));
    guest_down(p);
    return -ECONNRESET;
}

int hv_part_host_on_conn(struct hv_part_host *p)
{
    struct hv__part_frame f;
    int rc;

    if (p->cfd < 0)
        return -ENOTCONN;
    if (p->unsent)
        return drop_unsent(p);
    rc = hv__part_recv(p->cfd, &f);
    if (rc == -EAGAIN)
        return 0;
    if (rc == -EBADMSG) {
        HV_STAT_INC(&p->stats, bad_frame);
        VSA_LOG_RL2(&p->log_rl, &part_rl, WARN, "vm %s: malformed frame",
                    p->name);
        return 0;
    }
    if (rc) {
        guest_down(p);
        return -ECONNRESET;
    }
    switch (f.kind) {
    case HV_PART_CHAN_MSG:
        (void)hv_vmbus_host_handle_msg(p->vmbus, f.payload, f.len);
        return p->unsent ? drop_unsent(p) : 0;
    case HV_PART_MEM_REGION:
        return on_mem_region(p, &f);
    case HV_PART_SIGNAL_SETUP:
        return on_signal_setup(p, &f);
    case HV_PART_IRQ_SETUP:
        return on_irq_setup(p, &f);
    case HV_PART_IO_TRAP:
        return on_io_trap(p, &f);
    default:
        return bad_frame(p, &f, "kind");
    }
}

int hv_part_host_run_once(struct hv_part_host *p, int timeout_ms)
{
    struct pollfd pfd[2] = {
        { .fd = p->lfd, .events = POLLIN },
        { .fd = p->cfd, .events = POLLIN },
    };
    int n, handled = 0;

    n = poll(pfd, p->cfd >= 0 ? 2 : 1, timeout_ms);
    if (n < 0)
        return errno == EINTR ? 0 : -errno;
    if (p->cfd >= 0 && (pfd[1].revents & (POLLIN | POLLHUP | POLLERR))) {
        (void)hv_part_host_on_conn(p);
        handled++;
    }
    if (pfd[0].revents & POLLIN) {
        (void)hv_part_host_on_listen(p);
        handled++;
    }
    return handled;
}

void hv_part_host_kick(struct hv_part_host *p)
{
    guest_down(p);
}

bool hv_part_host_connected(const struct hv_part_host *p)
{
    return p->cfd >= 0;
}

struct hv_vmbus_host *hv_part_host_vmbus(struct hv_part_host *p)
{
    return p->vmbus;
}

struct hv_mem *hv_part_host_mem(struct hv_part_host *p)
{
    return p->mem;
}

int hv_part_host_irq_fd(const struct hv_part_host *p, uint32_t line)
{
    return line < HV_PART_MAX_IRQS ? p->irq_fds[line] : -1;
}

int hv_part_host_raise_irq(struct hv_part_host *p, uint32_t line)
{
    static const uint64_t one = 1;
    ssize_t n;
    int err;

    if (line >= HV_PART_MAX_IRQS)
        return -EINVAL;
    if (p->irq_fds[line] < 0) {
        HV_STAT_INC(&p->stats, irqs_no_fd);
        return -ENOTCONN;
    }
    /* Per-call flags: nothing the guest does to the shared socket (clear
     * O_NONBLOCK, shrink the buffer, stop reading, close its end) can make
     * this block or raise SIGPIPE. */
    n = send(p->irq_fds[line], &one, sizeof(one), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n == (ssize_t)sizeof(one)) {
        HV_STAT_INC(&p->stats, irqs_raised);
        return 0;
    }
    err = n < 0 ? errno : EIO;
    if (err == EAGAIN || err == EWOULDBLOCK) {
        /* queue full: the unread interrupts wake the guest anyway */
        HV_STAT_INC(&p->stats, irqs_coalesced);
        return 0;
    }
    HV_STAT_INC(&p->stats, irqs_failed);
    VSA_LOG_RL2(&p->log_rl, &part_rl, WARN, "vm %s: interrupt line %u: "
                "send: %s", p->name, line, strerror(err));
    return -err;
}

const struct hv_stats *hv_part_host_stats(const struct hv_part_host *p)
{
    return &p->stats;
}

uint64_t hv_part_host_accepted(const struct hv_part_host *p)
{
    return p->accepted;
}

uint64_t hv_part_host_refused(const struct hv_part_host *p)
{
    return p->refused;
}
