/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * closefail_fs.c — a FUSE filesystem whose close(2) fails (closefail_fs.h).
 *
 * The server answers the kernel's requests (<linux/fuse.h>) one at a time:
 * node 1 is the root directory, node 2 the one file.  Requests it does not
 * know get ENOSYS, which the kernel takes as "not supported" (xattrs,
 * access); FORGET and INTERRUPT get no answer, as the protocol wants.
 */
#include "closefail_fs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <linux/fuse.h>

#define FILE_NODE 2
#define MAX_WRITE 65536
/* the kernel wants room for a whole write request */
#define BUF_SIZE (MAX_WRITE + 4096 * 4)

struct closefail_fs {
    int fd;                 /* /dev/fuse */
    int close_errno;
    char dir[PATH_MAX];
    pthread_t thread;
    _Atomic bool stop;
    bool exists;            /* the file has been created */
    char name[256];
    _Atomic uint64_t size;
    _Atomic unsigned failed_closes;
    /* aligned: the requests are read in place as the kernel's structs */
    _Alignas(8) unsigned char buf[BUF_SIZE];
};

static void reply(struct closefail_fs *fs, uint64_t unique, int err,
                  const void *body, size_t len)
{
    struct fuse_out_header h = {
        .len = (uint32_t)(sizeof(h) + (err ? 0 : len)),
        .error = -err,
        .unique = unique,
    };
    struct iovec iov[2] = {
        { &h, sizeof(h) },
        { (void *)body, err ? 0 : len },
    };

    /* the kernel drops a request whose answer cannot be written (it was
     * interrupted): nothing to do then */
    (void)!writev(fs->fd, iov, 2);
}

static void fill_attr(const struct closefail_fs *fs, uint64_t node,
                      struct fuse_attr *a)
{
    memset(a, 0, sizeof(*a));
    a->ino = node;
    a->blksize = 4096;
    if (node == FUSE_ROOT_ID) {
        a->mode = S_IFDIR | 0755;
        a->nlink = 2;
    } else {
        a->mode = S_IFREG | 0644;
        a->nlink = 1;
        a->size = atomic_load(&fs->size);
    }
}

static void on_entry(struct closefail_fs *fs, uint64_t unique)
{
    struct fuse_entry_out e;

    memset(&e, 0, sizeof(e));
    e.nodeid = FILE_NODE;
    e.generation = 1;
    fill_attr(fs, FILE_NODE, &e.attr);
    reply(fs, unique, 0, &e, sizeof(e));
}

static void on_create(struct closefail_fs *fs, uint64_t unique,
                      const char *name)
{
    struct {
        struct fuse_entry_out e;
        struct fuse_open_out o;
    } r;

    if (fs->exists && strcmp(name, fs->name) != 0) {
        reply(fs, unique, ENOSPC, NULL, 0); /* one file only */
        return;
    }
    fs->exists = true;
    snprintf(fs->name, sizeof(fs->name), "%s", name);
    memset(&r, 0, sizeof(r));
    r.e.nodeid = FILE_NODE;
    r.e.generation = 1;
    fill_attr(fs, FILE_NODE, &r.e.attr);
    r.o.fh = 1;
    reply(fs, unique, 0, &r, sizeof(r));
}

/* Answers one request (n bytes in fs->buf). */
static void serve(struct closefail_fs *fs, size_t n)
{
    const struct fuse_in_header *in = (const void *)fs->buf;
    const void *arg = fs->buf + sizeof(*in);

    if (n < sizeof(*in))
        return;
    switch (in->opcode) {
    case FUSE_INIT: {
        const struct fuse_init_in *ii = arg;
        struct fuse_init_out o;

        memset(&o, 0, sizeof(o));
        o.major = FUSE_KERNEL_VERSION;
        o.minor = ii->minor < FUSE_KERNEL_MINOR_VERSION
                      ? ii->minor
                      : FUSE_KERNEL_MINOR_VERSION;
        o.max_readahead = ii->max_readahead;
        o.max_write = MAX_WRITE;
        o.max_background = 1;
        o.congestion_threshold = 1;
        reply(fs, in->unique, 0, &o, sizeof(o));
        break;
    }
    case FUSE_LOOKUP:
        if (in->nodeid == FUSE_ROOT_ID && fs->exists &&
            strcmp((const char *)arg, fs->name) == 0)
            on_entry(fs, in->unique);
        else
            reply(fs, in->unique, ENOENT, NULL, 0);
        break;
    case FUSE_CREATE:
        on_create(fs, in->unique,
                  (const char *)arg + sizeof(struct fuse_create_in));
        break;
    case FUSE_GETATTR:
    case FUSE_SETATTR: {
        const struct fuse_setattr_in *si = arg;
        struct fuse_attr_out o;

        if (in->opcode == FUSE_SETATTR && (si->valid & FATTR_SIZE))
            atomic_store(&fs->size, si->size);
        memset(&o, 0, sizeof(o));
        fill_attr(fs, in->nodeid, &o.attr);
        reply(fs, in->unique, 0, &o, sizeof(o));
        break;
    }
    case FUSE_OPEN: {
        struct fuse_open_out o = { .fh = 1 };

        reply(fs, in->unique, 0, &o, sizeof(o));
        break;
    }
    case FUSE_WRITE: {
        const struct fuse_write_in *wi = arg;
        struct fuse_write_out o = { .size = wi->size };

        if (wi->offset + wi->size > atomic_load(&fs->size))
            atomic_store(&fs->size, wi->offset + wi->size);
        reply(fs, in->unique, 0, &o, sizeof(o));
        break;
    }
    case FUSE_STATFS: {
        struct fuse_statfs_out o;

        memset(&o, 0, sizeof(o));
        o.st.blocks = o.st.bfree = o.st.bavail = 1u << 20;
        o.st.files = o.st.ffree = 16;
        o.st.bsize = o.st.frsize = 4096;
        o.st.namelen = 255;
        reply(fs, in->unique, 0, &o, sizeof(o));
        break;
    }
    case FUSE_FLUSH: /* close(2) */
        atomic_fetch_add(&fs->failed_closes, 1);
        reply(fs, in->unique, fs->close_errno, NULL, 0);
        break;
    case FUSE_RELEASE:
    case FUSE_RELEASEDIR:
        reply(fs, in->unique, 0, NULL, 0);
        break;
    case FUSE_FORGET:
    case FUSE_BATCH_FORGET:
    case FUSE_INTERRUPT:
        break; /* no answer */
    default:
        reply(fs, in->unique, ENOSYS, NULL, 0);
        break;
    }
}

static void *server(void *arg)
{
    struct closefail_fs *fs = arg;

    while (!atomic_load(&fs->stop)) {
        struct pollfd p = { .fd = fs->fd, .events = POLLIN };
        ssize_t n;

        if (poll(&p, 1, 100) <= 0)
            continue;
        n = read(fs->fd, fs->buf, sizeof(fs->buf));
        if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == ENOENT))
            continue; /* ENOENT: a request interrupted before we read it */
        if (n < 0)
            break; /* ENODEV: unmounted */
        serve(fs, (size_t)n);
    }
    return NULL;
}

int closefail_fs_mount(const char *dir, int close_errno,
                       struct closefail_fs **out)
{
    struct closefail_fs *fs = calloc(1, sizeof(*fs));
    char opts[128];
    int err;

    if (!fs)
        return -ENOMEM;
    fs->close_errno = close_errno;
    snprintf(fs->dir, sizeof(fs->dir), "%s", dir);
    fs->fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
    if (fs->fd < 0) {
        err = errno;
        free(fs);
        return -err;
    }
    snprintf(opts, sizeof(opts), "fd=%d,rootmode=40000,user_id=0,group_id=0",
             fs->fd);
    if (mount("closefail", dir, "fuse.closefail", MS_NOSUID | MS_NODEV,
              opts) != 0) {
        err = errno;
        close(fs->fd);
        free(fs);
        return -err;
    }
    err = pthread_create(&fs->thread, NULL, server, fs);
    if (err) {
        umount2(dir, MNT_DETACH);
        close(fs->fd);
        free(fs);
        return -err;
    }
    *out = fs;
    return 0;
}

uint64_t closefail_fs_size(struct closefail_fs *fs)
{
    return atomic_load(&fs->size);
}

unsigned closefail_fs_failed_closes(struct closefail_fs *fs)
{
    return atomic_load(&fs->failed_closes);
}

void closefail_fs_unmount(struct closefail_fs *fs)
{
    umount2(fs->dir, MNT_DETACH);
    atomic_store(&fs->stop, true);
    pthread_join(fs->thread, NULL);
    close(fs->fd);
    free(fs);
}
