/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * capture.c — packet capture of one port into a pcap file (libpcap).
 *
 * When a capture is on, the port's `capture` pointer is set; the lcore that
 * sees a frame (rx as received, tx after egress tagging, just before
 * tx_burst) copies up to `snaplen` bytes into an mbuf from a dedicated pool,
 * stamps it with the wall-clock time and enqueues it on the capture's
 * single-consumer ring.  The control thread drains the ring on every tick
 * and writes the records with pcap_dump.  When the capture is off the cost
 * on the fast path is one pointer load per burst (acquire, which pairs with
 * the store that publishes the initialised capture; a plain load on x86);
 * when the ring or the pool is exhausted the copy is skipped and counted
 * (capture_full), never waited for.  A capture of COUNT frames hands out
 * COUNT places (`taken`, reserved by compare-and-swap, so a frame refused
 * past the count leaves it as it was); a copy that fails gives its place
 * back to a later frame.
 *
 * Write errors: libpcap's writes go through stdio and report nothing, so
 * the stream's error flag is checked after every record and the flush on
 * every drain.  The first failure (a full disk, an I/O error, a file size
 * limit) ends the capture with that errno: the file is cut back to the
 * last good flush (whole records, so it stays a valid pcap), what stdio
 * still buffers is dropped, and the frames that did not reach the file are
 * counted (`lost`); vsw_capture_status reports the error and vesperctl
 * fails with it.  An error that only close(2) reports (NFS, where data is
 * written back at close) ends the capture the same way, as "closing FILE:
 * reason" (close_file): nothing is cut or counted lost then, as what the
 * server lacks is not known.
 *
 * Whole records only: the stream's buffer is the capture's own, larger
 * than any record, and a record that would not fit in what is left of it
 * flushes it first.  So every write(2) asks for whole records, and a file
 * whose writer crashed between writes (or a reader following it as it
 * grows) holds whole records only; stdio, left to itself, writes out a
 * full buffer wherever a record is cut.  A write the kernel completes in
 * part (a full disk: cut back as above; a SIGKILL in the middle of a
 * large write) can still end the file inside a record.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include <linux/magic.h>
#include <pcap/pcap.h>
#include <rte_malloc.h>
#include <rte_mbuf_dyn.h>
#include <rte_ring.h>

#include "common/vsa_log.h"
#include "vswitch/vsw_alloc.h"
#include "vswitch/vsw_private.h"

VSA_LOG_MODULE(vswitch_capture);

#define CAPTURE_RING_SIZE 4096
/* A record's header in the file: struct pcap_sf_pkthdr, four 32-bit
 * words (pcap/pcap.h's struct pcap_pkthdr is the in-memory one). */
#define CAPTURE_RECORD_HDR 16u

_Static_assert(VSW_CAPTURE_IOBUF >=
                   CAPTURE_RECORD_HDR + RTE_MBUF_DEFAULT_DATAROOM,
               "a capture record must fit in the file's buffer");

void (*vsw__capture_taken_hook)(struct vsw_capture *cap);
void (*vsw__capture_written_hook)(struct vsw_capture *cap);

struct capture_stamp {
    uint64_t ts_ns;
    uint64_t wire_len;
};

void vsw__capture_copy(struct vsw *sw, struct vsw_lcore *lc,
                       struct vsw_capture *cap, struct rte_mbuf *m,
                       uint16_t port_id)
{
    struct rte_mbuf *c;
    struct capture_stamp *st;
    struct timespec ts;
    uint64_t n;

    if (cap->limit) {
        /* Reserve a place only while one is free: with an add-then-check,
         * a frame refused past the limit left `taken` one too high, and a
         * place a failed copy gave back then never came free again (two
         * lcores: the capture stopped one frame short, forever). */
        n = atomic_load_explicit(&cap->taken, memory_order_relaxed);
        do {
            if (n >= cap->limit)
                return;
        } while (!atomic_compare_exchange_weak_explicit(
            &cap->taken, &n, n + 1, memory_order_relaxed,
            memory_order_relaxed));
        if (unlikely(vsw__capture_taken_hook != NULL))
            vsw__capture_taken_hook(cap);
    } else {
        atomic_fetch_add_explicit(&cap->taken, 1, memory_order_relaxed);
    }
    c = rte_pktmbuf_copy(m, sw->capture_pool, 0, cap->snaplen);
    if (unlikely(c == NULL)) {
        vsw__ctr_add(&lc->counters[port_id].drops[VSW_DROP_CAPTURE_FULL], 1);
        goto give_back;
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    st = RTE_MBUF_DYNFIELD(c, sw->capture_ts_offset, struct capture_stamp *);
    st->ts_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
    st->wire_len = m->pkt_len;
    VSA_TSAN_RELEASE(cap->ring);
    if (unlikely(rte_ring_mp_enqueue(cap->ring, c) != 0)) {
        vsw__ctr_add(&lc->counters[port_id].drops[VSW_DROP_CAPTURE_FULL], 1);
        rte_pktmbuf_free(c);
        goto give_back;
    }
    return;
give_back:
    /* A count of COUNT means COUNT frames in the file: a frame that was
     * not copied gives its place to a later one (the capture finishes
     * when `written` reaches the limit). */
    if (cap->limit)
        atomic_fetch_sub_explicit(&cap->taken, 1, memory_order_relaxed);
}

/* A write into the capture's file failed with `err`; the capture ends
 * with it (the caller finishes it).  What stdio still buffers is dropped,
 * never written after the cut, and the file is cut back to the last good
 * flush: whole records, so a reader gets those frames and no torn one.
 * The frames counted as written since that flush are lost. */
static void write_failed(struct vsw_capture *cap, int err)
{
    FILE *fp = pcap_dump_file((pcap_dumper_t *)cap->dumper);

    if (cap->err)
        return;
    cap->err = err > 0 ? err : EIO;
    __fpurge(fp);
    /* best effort: the error stands whether or not the cut works */
    (void)!ftruncate(fileno(fp), (off_t)cap->synced_off);
    cap->lost += cap->written - cap->synced;
    cap->written = cap->synced;
    VSA_LOG(WARN, "capture %d of port %s: writing %s: %s; the capture ends "
            "with %" PRIu64 " frames in the file", cap->id,
            cap->port_name, cap->file,
            strerror(cap->err), cap->written);
}

/* Flushes stdio's buffer into the file and notes what the file now holds;
 * a failure ends the capture. */
static void flush_file(struct vsw_capture *cap)
{
    pcap_dumper_t *pd = (pcap_dumper_t *)cap->dumper;
    FILE *fp = pcap_dump_file(pd);
    off_t off;

    errno = 0;
    if (pcap_dump_flush(pd) != 0 || ferror(fp)) {
        write_failed(cap, errno);
        return;
    }
    off = ftello(fp);
    if (off >= 0) {
        cap->synced = cap->written;
        cap->synced_off = (int64_t)off;
    }
}

/* The capture has its count of frames in the file (0: no count). */
static bool count_reached(const struct vsw_capture *cap)
{
    return cap->limit && cap->written >= cap->limit;
}

static void write_record(struct vsw *sw, struct vsw_capture *cap,
                         struct rte_mbuf *c)
{
    struct capture_stamp *st =
        RTE_MBUF_DYNFIELD(c, sw->capture_ts_offset, struct capture_stamp *);
    struct pcap_pkthdr h;
    uint8_t buf[RTE_MBUF_DEFAULT_BUF_SIZE];
    const uint8_t *data;
    FILE *fp;

    if (count_reached(cap))
        return;
    h.ts.tv_sec = (time_t)(st->ts_ns / 1000000000ull);
    h.ts.tv_usec = (suseconds_t)((st->ts_ns % 1000000000ull) / 1000u);
    h.caplen = c->pkt_len;
    h.len = (bpf_u_int32)st->wire_len;
    if (h.caplen > sizeof(buf))
        h.caplen = sizeof(buf);
    data = rte_pktmbuf_read(c, 0, h.caplen, buf);
    if (!data)
        return;
    fp = pcap_dump_file((pcap_dumper_t *)cap->dumper);
    /* no record cut between two write(2)s (see the top of the file) */
    if (__fpending(fp) + CAPTURE_RECORD_HDR + h.caplen > sizeof(cap->iobuf))
        flush_file(cap);
    if (!cap->err) {
        errno = 0;
        pcap_dump((u_char *)cap->dumper, &h, data);
        if (ferror(fp))
            write_failed(cap, errno);
    }
    if (cap->err) {
        cap->lost++; /* this frame */
        return;
    }
    cap->written++;
    if (unlikely(vsw__capture_written_hook != NULL))
        vsw__capture_written_hook(cap);
}

static void drain_one(struct vsw *sw, struct vsw_capture *cap)
{
    struct rte_mbuf *batch[64];
    unsigned n;

    while ((n = rte_ring_sc_dequeue_burst(cap->ring, (void **)batch, 64,
                                          NULL)) > 0) {
        VSA_TSAN_ACQUIRE(cap->ring);
        for (unsigned i = 0; i < n; i++) {
            if (cap->err)
                cap->lost++; /* the file failed: nothing more goes in */
            else if (!cap->done)
                write_record(sw, cap, batch[i]);
            rte_pktmbuf_free(batch[i]);
        }
    }
    if (cap->dumper && !cap->err)
        flush_file(cap);
}

/* Detaches the capture from its port and waits until no lcore can still
 * be copying into it. */
static void detach(struct vsw *sw, struct vsw_capture *cap)
{
    if (!cap->port)
        return;
    atomic_store(&cap->port->capture, NULL);
    vsw__rcu_synchronize(sw->qsbr);
    cap->port = NULL;
}

/* Closes the capture's file.  Not with pcap_dump_close(): it returns
 * nothing, and close(2) can fail where nothing failed before (NFS writes
 * the data back when the file is closed, and reports a full disk, a quota
 * or a server error only there).  libpcap's dumper is the stdio stream
 * itself: pcap_dump_file() is documented to return it, and in libpcap
 * 1.10 pcap_dump_close() is nothing but fclose() of it.  So fclose() of
 * the stream is the same close with its result, and a failure ends the
 * capture with that error (if no write error came first): the frames
 * counted were written, but the file may not hold them all. */
static void close_file(struct vsw_capture *cap)
{
    FILE *fp = pcap_dump_file((pcap_dumper_t *)cap->dumper);
    int err;

    cap->dumper = NULL;
    errno = 0;
    if (fclose(fp) == 0 || cap->err)
        return;
    err = errno;
    cap->err = err > 0 ? err : EIO;
    cap->err_closing = true;
    VSA_LOG(WARN, "capture %d of port %s: closing %s: %s; its %" PRIu64
            " frames may not all be in the file", cap->id, cap->port_name,
            cap->file, strerror(cap->err), cap->written);
}

/* Ends the capture: detached, drained, its file closed.  `why` is the
 * cause its caller saw; a write error in the last drain or in the close,
 * or the count reached by the last drain, comes first (they ended it as
 * much). */
static void finish(struct vsw *sw, struct vsw_capture *cap,
                   enum vsw_capture_ended why)
{
    detach(sw, cap);
    drain_one(sw, cap);
    if (cap->dumper)
        close_file(cap);
    if (cap->pcap) {
        pcap_close((pcap_t *)cap->pcap);
        cap->pcap = NULL;
    }
    if (cap->err)
        why = VSW_CAPTURE_ENDED_ERROR;
    else if (count_reached(cap))
        why = VSW_CAPTURE_ENDED_COUNT;
    cap->ended = (uint8_t)why;
    cap->done = true;
}

/* Ends the capture if its file failed or holds its count of frames. */
static void finish_if_over(struct vsw *sw, struct vsw_capture *cap)
{
    if (cap->err)
        finish(sw, cap, VSW_CAPTURE_ENDED_ERROR);
    else if (count_reached(cap))
        finish(sw, cap, VSW_CAPTURE_ENDED_COUNT);
}

void vsw__capture_drain(struct vsw *sw)
{
    for (int i = 0; i < VSW_MAX_CAPTURES; i++) {
        struct vsw_capture *cap = sw->captures[i];
        if (!cap || cap->done)
            continue;
        drain_one(sw, cap);
        finish_if_over(sw, cap);
    }
}

void vsw__capture_port_closing(struct vsw *sw, struct vsw_port *p)
{
    for (int i = 0; i < VSW_MAX_CAPTURES; i++) {
        struct vsw_capture *cap = sw->captures[i];

        if (!cap || cap->port != p)
            continue;
        finish(sw, cap, VSW_CAPTURE_ENDED_PORT_CLOSED);
        VSA_LOG(INFO, "capture %d of port %s ended: the port was closed "
                "(%" PRIu64 " frames in %s)", cap->id, cap->port_name,
                cap->written, cap->file);
    }
}

/* Kernel pseudo filesystems: their "regular files" are interfaces, where
 * a write is a command to the kernel, not data (/proc/self/comm renames
 * the thread, /proc/sys/kernel/hostname the host, /proc/sysrq-trigger
 * acts at once).  Most show a size of 0, so the "new or empty" rule alone
 * would let a capture write its pcap header into them.  By statfs f_type
 * (<linux/magic.h>; the few the header lacks are the kernel's own values,
 * from the file named). */
#ifndef CONFIGFS_MAGIC
#define CONFIGFS_MAGIC 0x62656570u      /* fs/configfs/mount.c */
#endif
#ifndef FUSECTL_SUPER_MAGIC
#define FUSECTL_SUPER_MAGIC 0x65735543u /* fs/fuse/control.c */
#endif
#ifndef MQUEUE_MAGIC
#define MQUEUE_MAGIC 0x19800202u        /* ipc/mqueue.c */
#endif
#ifndef RPCAUTH_GSSMAGIC
#define RPCAUTH_GSSMAGIC 0x67596969u    /* net/sunrpc/rpc_pipe.c */
#endif

static const struct {
    unsigned long magic;
    const char *name;
} pseudo_fs[] = {
    { PROC_SUPER_MAGIC, "procfs" },
    { SYSFS_MAGIC, "sysfs" },
    { DEBUGFS_MAGIC, "debugfs" },
    { TRACEFS_MAGIC, "tracefs" },
    { SECURITYFS_MAGIC, "securityfs" },
    { CGROUP_SUPER_MAGIC, "cgroup" },
    { CGROUP2_SUPER_MAGIC, "cgroup2" },
    { BPF_FS_MAGIC, "bpf" },
    { CONFIGFS_MAGIC, "configfs" },
    { EFIVARFS_MAGIC, "efivarfs" },
    { PSTOREFS_MAGIC, "pstore" },
    { SELINUX_MAGIC, "selinuxfs" },
    { SMACK_MAGIC, "smackfs" },
    { AAFS_MAGIC, "apparmorfs" },
    { DEVPTS_SUPER_MAGIC, "devpts" },
    { FUSECTL_SUPER_MAGIC, "fusectl" },
    { BINFMTFS_MAGIC, "binfmt_misc" },
    { NSFS_MAGIC, "nsfs" },
    { RDTGROUP_SUPER_MAGIC, "resctrl" },
    { MQUEUE_MAGIC, "mqueue" },
    { RPCAUTH_GSSMAGIC, "rpc_pipefs" },
    { BINDERFS_SUPER_MAGIC, "binderfs" },
    { USBDEVICE_SUPER_MAGIC, "usbfs" },
    { XENFS_SUPER_MAGIC, "xenfs" },
    { OPENPROM_SUPER_MAGIC, "openpromfs" },
};

/* The name of the pseudo filesystem of statfs type f_type, or NULL. */
static const char *pseudo_fs_name(unsigned long f_type)
{
    for (size_t i = 0; i < sizeof(pseudo_fs) / sizeof(pseudo_fs[0]); i++)
        if (f_type == pseudo_fs[i].magic)
            return pseudo_fs[i].name;
    return NULL;
}

/* The pseudo filesystem fd is on, or NULL (also when fstatfs fails: the
 * file passed fstat, and an unknown filesystem is not refused). */
static const char *pseudo_fs_of(int fd)
{
    struct statfs sfs;

    if (fstatfs(fd, &sfs) != 0)
        return NULL;
    return pseudo_fs_name((unsigned long)sfs.f_type);
}

/* The pseudo filesystem `file` is on, or would be created on (its
 * directory's), before anything opens it: an open there can act already
 * (O_CREAT in mqueue makes a queue, some debugfs files act on open).
 * NULL if not, or if that cannot be told yet (fstatfs checks again). */
static const char *pseudo_fs_of_path(const char *file, bool exists)
{
    char dir[PATH_MAX];
    const char *slash;
    struct statfs sfs;

    if (exists)
        return statfs(file, &sfs) == 0
                   ? pseudo_fs_name((unsigned long)sfs.f_type)
                   : NULL;
    slash = strrchr(file, '/');
    if (!slash || (size_t)(slash - file) >= sizeof(dir))
        return NULL;
    if (slash == file)
        snprintf(dir, sizeof(dir), "/");
    else
        snprintf(dir, sizeof(dir), "%.*s", (int)(slash - file), file);
    return statfs(dir, &sfs) == 0 ? pseudo_fs_name((unsigned long)sfs.f_type)
                                  : NULL;
}

static int pseudo_fs_refused(const char *file, const char *fs,
                             struct vsa_errmsg *em)
{
    return vsa_errmsg_set(em, -EINVAL, "cannot write %s: it is on %s, a "
                          "kernel pseudo filesystem where a write is a "
                          "command, not data; capture to a file on a disk or "
                          "tmpfs", file, fs);
}

/* Opens `file`, creating it if it does not exist, after the checks that
 * must come before any open.  Opening can itself act: a FIFO's open wakes
 * the reader waiting on it, a tape device rewinds, a terminal can become
 * vesperd's controlling tty.  So an existing path that is not a regular
 * file is refused before any open, and the open cannot block or take a
 * tty (open_capture_file checks again what was opened).  A path that did
 * not exist is created with O_EXCL, so *created is true only for a file
 * this open made (one that appeared since lstat is looked at again as an
 * existing one).  An fd, or -errno with the reason in em. */
static int open_path(const char *file, bool *created, struct vsa_errmsg *em)
{
    const char *fs;
    struct stat pre;
    bool exists;
    int fd, err;

    *created = false;
    for (int tries = 0;; tries++) {
        exists = lstat(file, &pre) == 0;
        if (exists && !S_ISREG(pre.st_mode))
            return vsa_errmsg_set(em, -EINVAL, "cannot write %s: %s", file,
                                  S_ISLNK(pre.st_mode)
                                      ? "it is a symbolic link"
                                      : "not a regular file");
        fs = pseudo_fs_of_path(file, exists);
        if (fs)
            return pseudo_fs_refused(file, fs, em);
        fd = open(file, O_RDWR | O_CREAT | (exists ? 0 : O_EXCL) |
                            O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY,
                  0644);
        if (fd >= 0) {
            *created = !exists;
            return fd;
        }
        err = errno;
        if (err != EEXIST || exists || tries > 0)
            break;
    }
    return vsa_errmsg_set(em, -err, "cannot write %s: %s", file,
                          err == ELOOP ? "it is a symbolic link"
                                       : strerror(err));
}

/* Removes the file a failed start created, if `file` still names it (the
 * same device and inode, by lstat: never a file put in its place since).
 * An existing capture file that the start truncated stays, empty: its
 * frames are gone already, and the file was there before. */
static void remove_created(const char *file, const struct stat *st)
{
    struct stat now;

    if (lstat(file, &now) == 0 && S_ISREG(now.st_mode) &&
        now.st_dev == st->st_dev && now.st_ino == st->st_ino &&
        unlink(file) != 0)
        VSA_LOG(WARN, "cannot remove %s, created for a capture that did "
                "not start: %s", file, strerror(errno));
}

/* Checks what open_path opened (fd, its identity in *st): a regular file
 * not on a pseudo filesystem and not written by a running capture, new or
 * empty or a capture already; then truncates it.  0, or -errno with the
 * reason in em. */
static int check_opened(const struct vsw *sw, const char *file, int fd,
                        const struct stat *st, struct vsa_errmsg *em)
{
    static const uint32_t magics[] = {
        0xa1b2c3d4u, 0xd4c3b2a1u, 0xa1b23c4du, 0x4d3cb2a1u, /* pcap */
        0x0a0d0d0au,                                          /* pcapng */
    };
    uint32_t magic = 0;
    bool known = false;
    const char *fs;

    if (!S_ISREG(st->st_mode))
        return vsa_errmsg_set(em, -EINVAL, "cannot write %s: not a regular "
                              "file", file);
    fs = pseudo_fs_of(fd);
    if (fs)
        return pseudo_fs_refused(file, fs, em);
    for (int i = 0; i < VSW_MAX_CAPTURES; i++) {
        const struct vsw_capture *c = sw->captures[i];

        if (c && !c->done && c->file_dev == (uint64_t)st->st_dev &&
            c->file_ino == (uint64_t)st->st_ino)
            return vsa_errmsg_set(em, -EBUSY, "cannot write %s: capture %d "
                                  "is writing it", file, c->id);
    }
    if (st->st_size > 0) {
        if (pread(fd, &magic, sizeof(magic), 0) == (ssize_t)sizeof(magic))
            for (size_t i = 0; i < sizeof(magics) / sizeof(magics[0]); i++)
                known |= magic == magics[i];
        if (!known)
            return vsa_errmsg_set(em, -EEXIST, "%s exists and is not a "
                                  "capture file; refusing to overwrite it",
                                  file);
    }
    if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0 ||
        ftruncate(fd, 0) != 0) {
        int err = errno;

        return vsa_errmsg_set(em, -err, "cannot write %s: %s", file,
                              strerror(err));
    }
    return 0;
}

/* Opens `file` for a capture: a new file, or an existing regular file that
 * is empty or already a capture (pcap or pcapng magic), truncated.
 * Anything else is refused, so that a typo cannot turn vesperd (root)
 * into a tool that truncates its own configuration or any other file; a
 * symbolic link as the last component too (O_NOFOLLOW), a file on a
 * kernel pseudo filesystem (pseudo_fs[]: nothing is written to it, not
 * even the truncation), and a file a running capture writes (by device
 * and inode, whatever the path).  0 with *out, the file's identity in *st
 * and whether this call created it in *created (the caller removes it if
 * the start fails after all); or -errno with the reason in em, and a file
 * it created removed. */
static int open_capture_file(const struct vsw *sw, const char *file,
                             FILE **out, struct stat *st, bool *created,
                             struct vsa_errmsg *em)
{
    int fd, rc, err;

    fd = open_path(file, created, em);
    if (fd < 0)
        return fd;
    if (fstat(fd, st) != 0) {
        err = errno;
        close(fd);
        /* not removed: which file the path names is not known */
        return vsa_errmsg_set(em, -err, "cannot write %s: %s", file,
                              strerror(err));
    }
    rc = check_opened(sw, file, fd, st, em);
    if (rc == 0 && !(*out = fdopen(fd, "wb"))) {
        err = errno;
        rc = vsa_errmsg_set(em, -err, "cannot write %s: %s", file,
                            strerror(err));
    }
    if (rc < 0) {
        close(fd);
        if (*created)
            remove_created(file, st);
    }
    return rc;
}

int vsw_capture_start(struct vsw *sw, struct vsw_port *port,
                      const char *file, uint64_t count,
                      enum vsw_capture_dir dir, uint32_t snaplen,
                      struct vsa_errmsg *em)
{
    struct vsw_capture *cap;
    char ringname[RTE_RING_NAMESIZE];
    int slot = -1, rc;
    struct stat fst;
    bool created = false;
    FILE *fp = NULL;

    if (atomic_load(&port->capture))
        return vsa_errmsg_set(em, -EBUSY, "port %s is already being "
                              "captured", port->name);
    /* kept whole: status, list and error messages name it */
    if (strlen(file) >= VSW_CAPTURE_FILE_MAX)
        return vsa_errmsg_set(em, -ENAMETOOLONG, "capture file: the path is "
                              "longer than %d bytes (%.48s...)",
                              VSW_CAPTURE_FILE_MAX - 1, file);
    for (int i = 0; i < VSW_MAX_CAPTURES; i++) {
        if (!sw->captures[i]) {
            slot = i;
            break;
        }
        /* if none is free, reuse the oldest finished one (lowest id) */
        if (sw->captures[i]->done &&
            (slot < 0 || sw->captures[i]->id < sw->captures[slot]->id))
            slot = i;
    }
    if (slot < 0)
        return vsa_errmsg_set(em, -EBUSY, "%d captures are running already",
                              VSW_MAX_CAPTURES);
    if (snaplen == 0 || snaplen > RTE_MBUF_DEFAULT_DATAROOM)
        snaplen = RTE_MBUF_DEFAULT_DATAROOM;
    cap = vsw__zmalloc("vsw_capture", sizeof(*cap), 0);
    if (!cap)
        return vsa_errmsg_set(em, -ENOMEM, "out of memory");
    /* The id is taken only by a capture that starts (the ring is named
     * after it and goes with a failed one). */
    cap->id = sw->next_capture_id;
    snprintf(ringname, sizeof(ringname), "vsw_cap%d", cap->id);
    cap->ring = vsw__ring_create(ringname, CAPTURE_RING_SIZE, SOCKET_ID_ANY,
                                 RING_F_SC_DEQ);
    if (cap->ring && !vsa_alloc_fail("pcap_open_dead"))
        cap->pcap = pcap_open_dead(DLT_EN10MB, (int)snaplen);
    if (!cap->ring || !cap->pcap) {
        rc = vsa_errmsg_set(em, -ENOMEM, "out of memory");
        goto out_free;
    }
    rc = open_capture_file(sw, file, &fp, &fst, &created, em);
    if (rc < 0)
        goto out_free;
    cap->file_dev = (uint64_t)fst.st_dev;
    cap->file_ino = (uint64_t)fst.st_ino;
    /* before any write: the buffer write_record counts on */
    (void)setvbuf(fp, cap->iobuf, _IOFBF, sizeof(cap->iobuf));
    cap->dumper = pcap_dump_fopen((pcap_t *)cap->pcap, fp);
    if (!cap->dumper) {
        rc = vsa_errmsg_set(em, -EIO, "cannot write %s: %s", file,
                            pcap_geterr((pcap_t *)cap->pcap));
        fclose(fp);
        goto out_remove;
    }
    /* The file header, written now: a file that cannot take even that
     * (a full disk) is refused here rather than failing on the first
     * drain. */
    errno = 0;
    if (pcap_dump_flush((pcap_dumper_t *)cap->dumper) != 0 || ferror(fp)) {
        int err = errno > 0 ? errno : EIO;

        rc = vsa_errmsg_set(em, -err, "cannot write %s: %s", file,
                            strerror(err));
        __fpurge(fp);
        pcap_dump_close((pcap_dumper_t *)cap->dumper);
        goto out_remove;
    }
    cap->synced_off = (int64_t)ftello(fp);
    sw->next_capture_id++;
    cap->port = port;
    cap->dir = (uint8_t)dir;
    cap->snaplen = snaplen;
    cap->limit = count;
    snprintf(cap->file, sizeof(cap->file), "%s", file);
    snprintf(cap->port_name, sizeof(cap->port_name), "%s", port->name);
    if (sw->captures[slot]) {
        vsw__ring_free(sw->captures[slot]->ring);
        vsw__free(sw->captures[slot]);
    }
    sw->captures[slot] = cap;
    atomic_store(&port->capture, cap);
    VSA_LOG(INFO, "capture %d of port %s to %s started", cap->id, port->name,
            file);
    return cap->id;

out_remove:
    /* refused, nothing left behind: a file the start created goes (an
     * existing capture file stays, truncated: remove_created) */
    if (created)
        remove_created(file, &fst);
out_free:
    if (cap->pcap)
        pcap_close((pcap_t *)cap->pcap);
    vsw__ring_free(cap->ring);
    vsw__free(cap);
    return rc;
}

static struct vsw_capture *find_capture(struct vsw *sw, int id, int *slot)
{
    for (int i = 0; i < VSW_MAX_CAPTURES; i++) {
        if (sw->captures[i] && sw->captures[i]->id == id) {
            if (slot)
                *slot = i;
            return sw->captures[i];
        }
    }
    return NULL;
}

static void fill_info(const struct vsw_capture *cap, uint16_t port_id,
                      struct vsw_capture_info *out)
{
    if (!out)
        return;
    out->port_id = port_id;
    snprintf(out->port, sizeof(out->port), "%s", cap->port_name);
    snprintf(out->file, sizeof(out->file), "%s", cap->file);
    out->captured = cap->written;
    out->done = cap->done;
    out->ended = (enum vsw_capture_ended)cap->ended;
    out->dir = (enum vsw_capture_dir)cap->dir;
    out->lost = cap->lost;
    out->error[0] = '\0';
    if (cap->err)
        snprintf(out->error, sizeof(out->error), "%s %s: %s",
                 cap->err_closing ? "closing" : "writing", cap->file,
                 strerror(cap->err));
}

int vsw_capture_status(struct vsw *sw, int id, struct vsw_capture_info *out)
{
    struct vsw_capture *cap = find_capture(sw, id, NULL);

    if (!cap)
        return -ENOENT;
    if (!cap->done) {
        drain_one(sw, cap);
        finish_if_over(sw, cap);
    }
    fill_info(cap, cap->port ? cap->port->id : 0xffff, out);
    return 0;
}

int vsw_capture_stop(struct vsw *sw, int id, struct vsw_capture_info *out)
{
    int slot;
    struct vsw_capture *cap = find_capture(sw, id, &slot);

    if (!cap)
        return -ENOENT;
    vsw_capture_end(sw, id, out);
    vsw__ring_free(cap->ring);
    vsw__free(cap);
    sw->captures[slot] = NULL;
    return 0;
}

int vsw_capture_end(struct vsw *sw, int id, struct vsw_capture_info *out)
{
    struct vsw_capture *cap = find_capture(sw, id, NULL);
    uint16_t port_id;

    if (!cap)
        return -ENOENT;
    port_id = cap->port ? cap->port->id : 0xffff;
    if (!cap->done)
        finish(sw, cap, VSW_CAPTURE_ENDED_STOPPED);
    fill_info(cap, port_id, out);
    return 0;
}

int vsw_capture_of_port(const struct vsw *sw, const struct vsw_port *port)
{
    for (int i = 0; i < VSW_MAX_CAPTURES; i++) {
        const struct vsw_capture *cap = sw->captures[i];

        if (cap && !cap->done && cap->port == port)
            return cap->id;
    }
    return -ENOENT;
}

int vsw_capture_ids(const struct vsw *sw, int *ids, int max)
{
    int all[VSW_MAX_CAPTURES];
    int n = 0;

    for (int i = 0; i < VSW_MAX_CAPTURES; i++) {
        const struct vsw_capture *cap = sw->captures[i];
        int j;

        if (!cap)
            continue;
        for (j = n; j > 0 && all[j - 1] > cap->id; j--)
            all[j] = all[j - 1]; /* insertion sort: 16 at most */
        all[j] = cap->id;
        n++;
    }
    for (int i = 0; i < n && i < max; i++)
        ids[i] = all[i];
    return n;
}
