/* SPDX-License-Identifier: BSD-3-Clause */
#include "hv/hv_part.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "hv/hv_part_wire.h"
#include "hv/hv_wire.h"

#define GUEST_MAX_REGIONS 8u
#define GUEST_MAX_FDS (2u * HV_VMBUS_MAX_CHANNELS + HV_PART_MAX_IRQS)
#define GUEST_MAX_FREE 32u                       /* free extents */
#define GUEST_MAX_RINGS (2u * HV_VMBUS_MAX_CHANNELS) /* ring GPADLs tracked */

/* Page allocation: a bump pointer per region plus a short list of freed
 * extents (merged with their neighbours, and given back to the bump
 * pointer when they reach it).  A request is served by the first region
 * that can serve it, free extents of that region first, so "the first
 * region with room" still holds for callers that rely on region order
 * (vesper-guest's low DMA region).  An extent that does not fit the list
 * is forgotten: a bounded leak, never a double use.
 *
 * Ring pages of a channel opened by hv_part_guest_open_chan are tracked by
 * their ring GPADL and freed only when the host's GPADL_TORNDOWN for it
 * arrives (g_event), whenever that is: the host sends it once nothing
 * references the pages any more (a teardown while the channel is open is
 * deferred), so pages are never reused while the host may touch them. */
struct guest_region {
    uint64_t gpa;
    uint64_t size;
    uint64_t used; /* bump allocator */
    uint8_t *ptr;
};

struct guest_extent {
    uint64_t gpa;
    uint64_t size;
};

enum ring_state { RING_FREE, RING_OPEN, RING_TEARING };

struct guest_ring {
    enum ring_state state;
    uint32_t relid;
    uint32_t gpadl;
    uint64_t gpa;
    uint64_t size;
};

struct hv_part_guest {
    int fd;
    struct hv_mem *mem;
    struct guest_region regions[GUEST_MAX_REGIONS];
    unsigned nregions;
    struct guest_extent free_ext[GUEST_MAX_FREE];
    unsigned nfree;
    struct guest_ring rings[GUEST_MAX_RINGS];
    int fds[GUEST_MAX_FDS]; /* signal fds we keep (eventfds, sockets) */
    unsigned nfds;
    struct hv_vmbus_guest *vmbus;
    bool io_done;
    struct hv_part_io io;
};

static void pages_free(struct hv_part_guest *pg, uint64_t gpa, uint64_t size);

/* The socket is blocking with SO_SNDTIMEO (set_send_timeout): a send that
 * the host does not take in time fails EAGAIN, reported -ECOMM so that no
 * caller mistakes it for "try again" or for a wait that timed out. */
static int g_part_send(struct hv_part_guest *pg, uint32_t kind,
                       const void *payload, size_t len, int fd)
{
    int rc = hv__part_send(pg->fd, kind, payload, len, fd);

    return rc == -EAGAIN ? -ECOMM : rc;
}

static int g_send_msg(void *ctx, const void *msg, size_t size)
{
    return g_part_send(ctx, HV_PART_CHAN_MSG, msg, size, -1);
}

/* The host let go of a GPADL: ring pages waiting for that are free. */
static void g_event(void *ctx, const struct hv_chan_msg *m)
{
    struct hv_part_guest *pg = ctx;

    if (m->type != HV_MSG_GPADL_TORNDOWN)
        return;
    for (unsigned i = 0; i < GUEST_MAX_RINGS; i++) {
        struct guest_ring *r = &pg->rings[i];
        if (r->state == RING_TEARING && r->gpadl == m->u.gpadl) {
            pages_free(pg, r->gpa, r->size);
            memset(r, 0, sizeof(*r));
            return;
        }
    }
}

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Bounds connect(2) and sendmsg(2): an AF_UNIX connect waits for room in
 * the listener's backlog, a send for room in the peer's queue, each for at
 * most SO_SNDTIMEO (0: forever; ms < 0 asks for that). */
static int set_send_timeout(int fd, int ms)
{
    struct timeval tv = { 0 };

    if (ms >= 0) {
        ms = ms ? ms : 1; /* 0 would mean forever */
        tv.tv_sec = ms / 1000;
        tv.tv_usec = (ms % 1000) * 1000;
    }
    return setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0
               ? -errno : 0;
}

static int wait_readable(int fd, int timeout_ms)
{
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    int n;

    do {
        n = poll(&pfd, 1, timeout_ms);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    return n == 0 ? -ETIMEDOUT : 0;
}

int hv_part_guest_connect(const char *path, int timeout_ms,
                          struct hv_part_guest **out)
{
    static const struct hv_vmbus_guest_ops ops = { .send = g_send_msg,
                                                   .event = g_event };
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    uint64_t deadline = now_ms() + (uint64_t)(timeout_ms < 0 ? 0 : timeout_ms);
    struct hv__part_frame f;
    struct hv_part_guest *pg;
    int rc, left;

    if (!path || strlen(path) >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    strcpy(sa.sun_path, path);
    pg = calloc(1, sizeof(*pg));
    if (!pg)
        return -ENOMEM;
    pg->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (pg->fd < 0) {
        rc = -errno;
        free(pg);
        return rc;
    }
    rc = set_send_timeout(pg->fd, timeout_ms);
    if (rc)
        goto out_close;
    if (connect(pg->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        /* EAGAIN: the backlog stayed full until the deadline */
        rc = errno == EAGAIN ? -ETIMEDOUT : -errno;
        goto out_close;
    }
    rc = set_send_timeout(pg->fd, HV_PART_GUEST_SEND_TIMEOUT_MS);
    if (rc)
        goto out_close;
    rc = hv_mem_create(&pg->mem);
    if (rc)
        goto out_close;
    rc = hv_vmbus_guest_create(&ops, pg, NULL, 0, &pg->vmbus);
    if (rc)
        goto out_mem;
    left = timeout_ms;
    if (timeout_ms >= 0) {
        uint64_t now = now_ms();
        left = now < deadline ? (int)(deadline - now) : 0;
    }
    rc = wait_readable(pg->fd, left);
    if (rc == 0)
        rc = hv__part_recv(pg->fd, &f);
    if (rc == 0) /* HELLO and REFUSED carry none: anything else is refused */
        hv__part_fd_discard(f.fd);
    if (rc == 0 && f.kind == HV_PART_REFUSED)
        rc = f.len == 4 && hv__le32(f.payload) == HV_PART_REFUSED_NOMEM
                 ? -ENOMEM
                 : -EBUSY;
    else if (rc == 0 && (f.kind != HV_PART_HELLO || f.len != 8 ||
                         hv__le32(f.payload) != HV_PART_PROTO_VERSION))
        rc = -EPROTO;
    else if (rc == -ECONNRESET)
        rc = -EBUSY; /* host closed without a word: treat as refused */
    if (rc)
        goto out_vmbus;
    *out = pg;
    return 0;

out_vmbus:
    hv_vmbus_guest_destroy(pg->vmbus);
out_mem:
    hv_mem_put(pg->mem);
out_close:
    close(pg->fd);
    free(pg);
    return rc;
}

void hv_part_guest_close(struct hv_part_guest *pg)
{
    if (!pg)
        return;
    close(pg->fd);
    for (unsigned i = 0; i < pg->nfds; i++)
        close(pg->fds[i]);
    hv_vmbus_guest_destroy(pg->vmbus);
    hv_mem_put(pg->mem);
    for (unsigned i = 0; i < pg->nregions; i++)
        munmap(pg->regions[i].ptr, (size_t)pg->regions[i].size);
    free(pg);
}

int hv_part_guest_fd(const struct hv_part_guest *pg)
{
    return pg->fd;
}

int hv_part_guest_add_memory(struct hv_part_guest *pg, uint64_t gpa,
                             uint64_t size)
{
    uint8_t payload[16];
    void *p;
    int fd, rc;

    if (pg->nregions >= GUEST_MAX_REGIONS)
        return -ENOSPC;
    if (size == 0 || size % HV_PAGE_SIZE || size > SIZE_MAX)
        return -EINVAL;
    rc = hv_mem_check_region(pg->mem, gpa, size);
    if (rc)
        return rc;
    fd = memfd_create("vesper-guest", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0)
        return -errno;
    if (ftruncate(fd, (off_t)size) < 0 ||
        fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
        rc = -errno;
        close(fd);
        return rc;
    }
    p = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        rc = -errno;
        close(fd);
        return rc;
    }
    hv__put64(payload, gpa);
    hv__put64(payload + 8, size);
    rc = g_part_send(pg, HV_PART_MEM_REGION, payload, sizeof(payload), fd);
    close(fd); /* the mapping (ours and the host's) keeps the file */
    /* Registered only once the host has it: hv_mem cannot forget a region,
     * and one left behind a failed send would point at unmapped memory.
     * Checked above, and nothing else adds regions: this cannot fail. */
    if (rc == 0)
        rc = hv_mem_add_buffer(pg->mem, p, gpa, size);
    if (rc) {
        munmap(p, (size_t)size);
        return rc;
    }
    pg->regions[pg->nregions++] = (struct guest_region){
        .gpa = gpa, .size = size, .ptr = p };
    return 0;
}

struct hv_mem *hv_part_guest_mem(struct hv_part_guest *pg)
{
    return pg->mem;
}

static bool in_region(const struct guest_region *r, uint64_t gpa,
                      uint64_t size)
{
    return gpa >= r->gpa && size <= r->size && gpa - r->gpa <= r->size - size;
}

static struct guest_region *region_of(struct hv_part_guest *pg, uint64_t gpa,
                                      uint64_t size)
{
    for (unsigned i = 0; i < pg->nregions; i++)
        if (in_region(&pg->regions[i], gpa, size))
            return &pg->regions[i];
    return NULL;
}

static void free_ext_del(struct hv_part_guest *pg, unsigned i)
{
    pg->free_ext[i] = pg->free_ext[--pg->nfree];
}

/* Gives [gpa, gpa + size) back: merged with free neighbours of the same
 * region, returned to the bump pointer when it ends there. */
static void pages_free(struct hv_part_guest *pg, uint64_t gpa, uint64_t size)
{
    struct guest_region *r = region_of(pg, gpa, size);
    bool merged = true;

    if (!r || !size || gpa + size - r->gpa > r->used)
        return; /* not something we handed out */
    while (merged) {
        merged = false;
        for (unsigned i = 0; i < pg->nfree; i++) {
            struct guest_extent *e = &pg->free_ext[i];
            if (!in_region(r, e->gpa, e->size))
                continue;
            if (e->gpa + e->size == gpa) {
                gpa = e->gpa;
                size += e->size;
            } else if (gpa + size == e->gpa) {
                size += e->size;
            } else {
                continue;
            }
            free_ext_del(pg, i);
            merged = true;
            break;
        }
    }
    if (gpa + size == r->gpa + r->used) {
        r->used -= size;
        return;
    }
    if (pg->nfree < GUEST_MAX_FREE)
        pg->free_ext[pg->nfree++] = (struct guest_extent){ gpa, size };
}

void *hv_part_guest_alloc_pages(struct hv_part_guest *pg, uint32_t npages,
                                uint64_t *gpa)
{
    uint64_t size = (uint64_t)npages * HV_PAGE_SIZE;

    for (unsigned i = 0; i < pg->nregions && npages; i++) {
        struct guest_region *r = &pg->regions[i];
        uint64_t at = UINT64_MAX;

        for (unsigned k = 0; k < pg->nfree; k++) {
            struct guest_extent *e = &pg->free_ext[k];
            if (e->size >= size && in_region(r, e->gpa, e->size)) {
                at = e->gpa;
                e->gpa += size;
                e->size -= size;
                if (e->size == 0)
                    free_ext_del(pg, k);
                break;
            }
        }
        if (at == UINT64_MAX && r->size - r->used >= size) {
            at = r->gpa + r->used;
            r->used += size;
        }
        if (at != UINT64_MAX) {
            uint8_t *p = r->ptr + (at - r->gpa);
            *gpa = at;
            memset(p, 0, (size_t)size);
            return p;
        }
    }
    return NULL;
}

int hv_part_guest_send(struct hv_part_guest *pg, uint32_t kind,
                       const void *payload, size_t len)
{
    return g_part_send(pg, kind, payload, len, -1);
}

static int keep_fd(struct hv_part_guest *pg, int fd)
{
    if (pg->nfds >= GUEST_MAX_FDS) {
        close(fd);
        return -ENOSPC;
    }
    pg->fds[pg->nfds++] = fd;
    return 0;
}

/* Closes a kept fd and forgets it; sets *fd to -1.  Not ours: untouched. */
static void drop_fd(struct hv_part_guest *pg, int *fd)
{
    for (unsigned i = 0; *fd >= 0 && i < pg->nfds; i++)
        if (pg->fds[i] == *fd) {
            close(*fd);
            pg->fds[i] = pg->fds[--pg->nfds];
            *fd = -1;
            return;
        }
}

/* Sends `fd` with a {a, b} frame of `kind`; `keep` is the fd we keep (the
 * same eventfd, or the other end of a socketpair), dropped on failure. */
static int send_fd(struct hv_part_guest *pg, uint32_t kind, uint32_t a,
                   uint32_t b, int fd, int keep, int *out)
{
    uint8_t payload[8];
    int rc = keep_fd(pg, keep);

    if (rc) {
        if (fd != keep)
            close(fd);
        return rc;
    }
    hv__put32(payload, a);
    hv__put32(payload + 4, b);
    rc = g_part_send(pg, kind, payload, sizeof(payload), fd);
    if (fd != keep)
        close(fd); /* the host has its own copy now */
    if (rc) {
        drop_fd(pg, &keep);
        return rc;
    }
    *out = keep;
    return 0;
}

static int send_efd(struct hv_part_guest *pg, uint32_t kind, uint32_t a,
                    uint32_t b, int *out)
{
    int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

    if (fd < 0)
        return -errno;
    return send_fd(pg, kind, a, b, fd, fd, out);
}

int hv_part_guest_setup_signals(struct hv_part_guest *pg, uint32_t relid,
                                int *to_host_fd, int *from_host_fd)
{
    int sv[2], rc;

    *to_host_fd = *from_host_fd = -1;
    rc = send_efd(pg, HV_PART_SIGNAL_SETUP, relid, HV_PART_SIGNAL_TO_HOST,
                  to_host_fd);
    if (rc)
        return rc;
    /* Host→guest: a socketpair, never an eventfd (hv_vmbus.h, Signals).
     * The host gets sv[1]; we read 8-byte signals from sv[0]. */
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0,
                   sv) < 0) {
        rc = -errno;
        drop_fd(pg, to_host_fd);
        return rc;
    }
    rc = send_fd(pg, HV_PART_SIGNAL_SETUP, relid, HV_PART_SIGNAL_TO_GUEST,
                 sv[1], sv[0], from_host_fd);
    if (rc)
        drop_fd(pg, to_host_fd);
    return rc;
}

int hv_part_guest_setup_irq(struct hv_part_guest *pg, uint32_t line, int *fd)
{
    int sv[2];

    *fd = -1;
    /* A socketpair, never an eventfd (hv_part.h, Emulated devices), like
     * the host→guest channel signal: the host gets sv[1]; we read one
     * 8-byte message per interrupt from sv[0]. */
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0,
                   sv) < 0)
        return -errno;
    return send_fd(pg, HV_PART_IRQ_SETUP, line, 0, sv[1], sv[0], fd);
}

int hv_part_guest_poll(struct hv_part_guest *pg, int timeout_ms)
{
    struct hv__part_frame f;
    int rc = wait_readable(pg->fd, timeout_ms);

    if (rc)
        return rc;
    rc = hv__part_recv(pg->fd, &f);
    if (rc == -EAGAIN)
        return 0;
    if (rc)
        return rc == -EBADMSG ? -EPROTO : rc;
    /* No frame the host sends us carries an fd; one that does is dropped
     * without waiting on it (hv_part_wire.h). */
    hv__part_fd_discard(f.fd);
    switch (f.kind) {
    case HV_PART_CHAN_MSG:
        rc = hv_vmbus_guest_handle_msg(pg->vmbus, f.payload, f.len);
        /* A message malformed or out of place (-EBADMSG, -EPROTO) is
         * dropped: the connection is fine, and a waiter (pump_until) would
         * give up on it.  Anything else is a failed version negotiation
         * (-EPROTONOSUPPORT) or the error of the send that answered the
         * message (REQUESTOFFERS, INITIATE_CONTACT): the caller's. */
        return rc == -EBADMSG || rc == -EPROTO ? 0 : rc;
    case HV_PART_IO_TRAP_DONE:
        if (f.len != HV__PART_IO_SIZE)
            return -EPROTO;
        hv__part_io_get(f.payload, &pg->io);
        pg->io_done = true;
        return 0;
    default:
        return -EPROTO;
    }
}

struct hv_vmbus_guest *hv_part_guest_vmbus(struct hv_part_guest *pg)
{
    return pg->vmbus;
}

/* Pumps frames until `done(pg, arg)` is non-zero or the deadline passes. */
static int pump_until(struct hv_part_guest *pg, int timeout_ms,
                      int (*done)(struct hv_part_guest *, const void *),
                      const void *arg)
{
    uint64_t deadline = now_ms() + (uint64_t)(timeout_ms < 0 ? 0 : timeout_ms);
    int rc;

    while ((rc = done(pg, arg)) == 0) {
        uint64_t now = now_ms();
        if (now >= deadline)
            return -ETIMEDOUT;
        rc = hv_part_guest_poll(pg, (int)(deadline - now));
        if (rc && rc != -ETIMEDOUT)
            return rc;
    }
    return rc > 0 ? 0 : rc;
}

static int handshake_done(struct hv_part_guest *pg, const void *arg)
{
    (void)arg;
    switch (hv_vmbus_guest_state(pg->vmbus)) {
    case HV_GUEST_READY:
        return 1;
    case HV_GUEST_FAILED:
        return -EPROTONOSUPPORT;
    default:
        return 0;
    }
}

int hv_part_guest_handshake(struct hv_part_guest *pg, int timeout_ms)
{
    int rc = hv_vmbus_guest_connect(pg->vmbus);

    return rc ? rc : pump_until(pg, timeout_ms, handshake_done, NULL);
}

static int gpadl_done(struct hv_part_guest *pg, const void *arg)
{
    int st = hv_vmbus_guest_gpadl_status(pg->vmbus, *(const uint32_t *)arg);

    return st == -EINPROGRESS ? 0 : st == 0 ? 1 : st;
}

int hv_part_guest_gpadl_sync(struct hv_part_guest *pg, uint32_t relid,
                             uint64_t gpa, uint32_t npages, uint32_t *id,
                             int timeout_ms)
{
    uint64_t *pfns;
    int rc;

    if (npages == 0 || npages > HV_GPADL_MAX_PAGES)
        return -EINVAL;
    pfns = malloc(npages * sizeof(*pfns));
    if (!pfns)
        return -ENOMEM;
    for (uint32_t i = 0; i < npages; i++)
        pfns[i] = (gpa >> HV_PAGE_SHIFT) + i;
    *id = hv_vmbus_guest_next_gpadl_id(pg->vmbus);
    rc = hv_vmbus_guest_gpadl_create(pg->vmbus, relid, *id, pfns, npages);
    free(pfns);
    return rc ? rc : pump_until(pg, timeout_ms, gpadl_done, id);
}

static int open_done(struct hv_part_guest *pg, const void *arg)
{
    int st = hv_vmbus_guest_open_status(pg->vmbus, *(const uint32_t *)arg);

    return st == -EINPROGRESS ? 0 : st == 0 ? 1 : st;
}

static struct guest_ring *ring_find(struct hv_part_guest *pg,
                                    enum ring_state st, uint32_t relid)
{
    for (unsigned i = 0; i < GUEST_MAX_RINGS; i++)
        if (pg->rings[i].state == st &&
            (st == RING_FREE || pg->rings[i].relid == relid))
            return &pg->rings[i];
    return NULL;
}

/* Tears the ring GPADL down; its pages are freed when TORNDOWN arrives
 * (g_event).  Without a record to wait in, the pages stay allocated. */
static int ring_release(struct hv_part_guest *pg, uint32_t relid,
                        uint32_t gpadl, uint64_t gpa, uint64_t size)
{
    struct guest_ring *r = ring_find(pg, RING_OPEN, relid);
    int rc;

    if (r && r->gpadl != gpadl)
        r = NULL;
    if (!r)
        r = ring_find(pg, RING_FREE, 0);
    rc = hv_vmbus_guest_gpadl_teardown(pg->vmbus, relid, gpadl);
    if (!r)
        return rc;
    if (rc == 0)
        *r = (struct guest_ring){ .state = RING_TEARING, .relid = relid,
                                  .gpadl = gpadl, .gpa = gpa, .size = size };
    else
        memset(r, 0, sizeof(*r));
    return rc;
}

int hv_part_guest_open_chan(struct hv_part_guest *pg, uint32_t relid,
                            uint32_t ring_pages, struct hv_part_guest_chan *ch,
                            int timeout_ms)
{
    struct hv_ring_cfg out_cfg = { .role = HV_RING_WRITER };
    struct hv_ring_cfg in_cfg = { .role = HV_RING_READER };
    struct guest_ring *r;
    uint64_t gpa, size;
    uint8_t *mem;
    int rc;

    if (ring_pages < 2 || ring_pages > HV_GPADL_MAX_PAGES / 2)
        return -EINVAL;
    memset(ch, 0, sizeof(*ch));
    ch->relid = relid;
    ch->to_host_fd = ch->from_host_fd = -1;
    size = 2ull * ring_pages * HV_PAGE_SIZE;
    mem = hv_part_guest_alloc_pages(pg, 2 * ring_pages, &gpa);
    if (!mem)
        return -ENOMEM;
    hv_ring_ctl_init(mem);
    hv_ring_ctl_init(mem + (size_t)ring_pages * HV_PAGE_SIZE);
    rc = hv_part_guest_gpadl_sync(pg, relid, gpa, 2 * ring_pages,
                                  &ch->ring_gpadl, timeout_ms);
    if (rc) {
        /* Refused: the host holds nothing.  Otherwise (no answer) it may
         * still create the GPADL: the pages stay allocated. */
        if (rc == -EIO)
            pages_free(pg, gpa, size);
        return rc;
    }
    rc = hv_part_guest_setup_signals(pg, relid, &ch->to_host_fd,
                                     &ch->from_host_fd);
    if (rc)
        goto out_gpadl;
    out_cfg.dsize = in_cfg.dsize = (ring_pages - 1) * HV_PAGE_SIZE;
    rc = hv_ring_create_buf(&out_cfg, mem, &ch->out);
    if (rc)
        goto out_rings;
    rc = hv_ring_create_buf(&in_cfg, mem + (size_t)ring_pages * HV_PAGE_SIZE,
                            &ch->in);
    if (rc)
        goto out_rings;
    rc = hv_vmbus_guest_open(pg->vmbus, relid, relid ^ 0x5a5a0000u,
                             ch->ring_gpadl, ring_pages);
    if (rc == 0)
        rc = pump_until(pg, timeout_ms, open_done, &relid);
    if (rc == 0) {
        /* A record still open for this relid is one whose close failed
         * (CLOSECHANNEL not sent); the host let this open through, so it
         * no longer uses that ring GPADL: tear it down (its pages go back
         * at TORNDOWN) rather than overwrite the record and leak them. */
        r = ring_find(pg, RING_OPEN, relid);
        if (r)
            (void)ring_release(pg, relid, r->gpadl, r->gpa, r->size);
        /* Remembered for close: the pages go back after TORNDOWN. */
        r = ring_find(pg, RING_FREE, 0);
        if (r)
            *r = (struct guest_ring){ .state = RING_OPEN, .relid = relid,
                                      .gpadl = ch->ring_gpadl, .gpa = gpa,
                                      .size = size };
        return 0;
    }
out_rings:
    hv_ring_destroy(ch->out);
    hv_ring_destroy(ch->in);
    ch->out = ch->in = NULL;
    drop_fd(pg, &ch->to_host_fd);
    drop_fd(pg, &ch->from_host_fd);
out_gpadl:
    /* The ring GPADL exists: give it back (a host that did open the
     * channel after all defers the teardown until the channel closes, and
     * only then are the pages freed). */
    (void)ring_release(pg, relid, ch->ring_gpadl, gpa, size);
    return rc;
}

static int torndown_done(struct hv_part_guest *pg, const void *arg)
{
    return hv_vmbus_guest_gpadl_status(pg->vmbus, *(const uint32_t *)arg) ==
                   -ENOENT
               ? 1
               : 0;
}

int hv_part_guest_close_chan(struct hv_part_guest *pg,
                             struct hv_part_guest_chan *ch, int timeout_ms)
{
    struct guest_ring *r = ring_find(pg, RING_OPEN, ch->relid);
    int rc = hv_vmbus_guest_close(pg->vmbus, ch->relid);

    hv_ring_destroy(ch->out);
    hv_ring_destroy(ch->in);
    ch->out = ch->in = NULL;
    /* Ours only: the host keeps its copies until it gets new ones. */
    drop_fd(pg, &ch->to_host_fd);
    drop_fd(pg, &ch->from_host_fd);
    if (r && r->gpadl != ch->ring_gpadl)
        r = NULL;
    if (rc == 0)
        rc = r ? ring_release(pg, ch->relid, ch->ring_gpadl, r->gpa, r->size)
               : hv_vmbus_guest_gpadl_teardown(pg->vmbus, ch->relid,
                                               ch->ring_gpadl);
    if (rc == 0)
        rc = pump_until(pg, timeout_ms, torndown_done, &ch->ring_gpadl);
    return rc;
}

static int io_done(struct hv_part_guest *pg, const void *arg)
{
    (void)arg;
    return pg->io_done ? 1 : 0;
}

int hv_part_guest_io(struct hv_part_guest *pg, struct hv_part_io *io,
                     int timeout_ms)
{
    uint8_t payload[HV__PART_IO_SIZE];
    int rc;

    hv__part_io_put(payload, io);
    pg->io_done = false;
    rc = g_part_send(pg, HV_PART_IO_TRAP, payload, sizeof(payload), -1);
    if (rc == 0)
        rc = pump_until(pg, timeout_ms, io_done, NULL);
    if (rc == 0)
        *io = pg->io;
    return rc;
}
