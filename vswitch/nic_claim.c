/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nic_claim.c — one vesperd per kernel NIC on the host (prefix
 * vsw__nic_claim_).
 *
 * Within a process a kernel NIC is bound by one port only (vswitch.c,
 * nic_taken).  Two vesperds (different control sockets, so different
 * crash journals) did not see each other: both bound the NIC, the second
 * recorded the first one's changes (promiscuous, up, IPv6 off, GRO off)
 * as the state "before", and the first one's release gave the NIC back
 * under the second one, which still switched on it.  So the first port of
 * a process to bind a NIC also claims it host-wide: an exclusive flock on
 * `<dir>/<netns inode>-<ifindex>` (an index is a NIC of one network
 * namespace only), held until the process gives the NIC back.  A claim
 * another process holds refuses the binding with that process's pid,
 * which the holder writes into the file.  The kernel drops the lock when
 * its holder ends, however it ends, so a crashed vesperd's claim is gone
 * with it (its crash journal record is what recover looks at).
 *
 * The holder removes the file when it gives the NIC back.  A process that
 * opened the file just before it was removed would lock a name no longer
 * there, so a lock counts only if the path still names the locked file
 * (checked after flock, tried again otherwise).
 *
 * Control thread only, like the rest of the port lifecycle.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/vsa_log.h"
#include "vswitch/vsw_private.h"

VSA_LOG_MODULE(vswitch_nic_claim);

/* Tries of a take whose file was removed between its open and its lock
 * (each such race needs the holder to give the NIC back meanwhile). */
#define CLAIM_TRIES 8

/* The claim file of `ifindex` in this thread's network namespace. */
static void claim_path(char *buf, size_t size, const char *dir, int ifindex)
{
    struct stat ns;
    unsigned long long ino = 0;

    if (stat("/proc/thread-self/ns/net", &ns) == 0)
        ino = (unsigned long long)ns.st_ino;
    snprintf(buf, size, "%s/%llu-%d", dir, ino, ifindex);
}

/* The holder's pid as it wrote it (0 if unreadable). */
static long holder_pid(int fd)
{
    char buf[32];
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    long pid = 0;

    if (n > 0) {
        buf[n] = '\0';
        if (sscanf(buf, "%ld", &pid) != 1)
            pid = 0;
    }
    return pid;
}

static int busy(const char *ifname, int ifindex, long pid,
                struct vsa_errmsg *em)
{
    if (pid > 0)
        return vsa_errmsg_set(em, -EBUSY, "kernel NIC %s (ifindex %d) is "
                              "bound by another vesperd (pid %ld); a kernel "
                              "NIC can be bound by one vesperd only",
                              ifname, ifindex, pid);
    return vsa_errmsg_set(em, -EBUSY, "kernel NIC %s (ifindex %d) is bound "
                          "by another vesperd; a kernel NIC can be bound by "
                          "one vesperd only", ifname, ifindex);
}

int vsw__nic_claim_take(const char *dir, int ifindex, const char *ifname,
                        struct vsa_errmsg *em)
{
    char path[PATH_MAX], pid[32];
    struct stat held, named;
    int fd = -1, err, len;

    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        err = errno;
        return vsa_errmsg_set(em, -err, "cannot claim kernel NIC %s: cannot "
                              "create %s: %s", ifname, dir, strerror(err));
    }
    claim_path(path, sizeof(path), dir, ifindex);
    for (int tries = 0; tries < CLAIM_TRIES; tries++) {
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0) {
            err = errno;
            return vsa_errmsg_set(em, -err, "cannot claim kernel NIC %s: "
                                  "cannot open %s: %s", ifname, path,
                                  strerror(err));
        }
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
            long who;

            err = errno;
            who = holder_pid(fd);
            close(fd);
            if (err == EWOULDBLOCK)
                return busy(ifname, ifindex, who, em);
            return vsa_errmsg_set(em, -err, "cannot claim kernel NIC %s: "
                                  "cannot lock %s: %s", ifname, path,
                                  strerror(err));
        }
        if (fstat(fd, &held) == 0 && stat(path, &named) == 0 &&
            held.st_dev == named.st_dev && held.st_ino == named.st_ino)
            break;
        close(fd); /* removed by its holder meanwhile: again */
        fd = -1;
    }
    if (fd < 0)
        return vsa_errmsg_set(em, -EAGAIN, "cannot claim kernel NIC %s: %s "
                              "kept being given back and taken", ifname,
                              path);
    len = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
    /* best effort: only the refusal's message reads it */
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)len, 0) != len)
        VSA_LOG(WARN, "claim of kernel NIC %s: cannot write %s: %s", ifname,
                path, strerror(errno));
    return fd;
}

void vsw__nic_claim_release(const char *dir, int ifindex, int fd)
{
    char path[PATH_MAX];
    struct stat held, named;

    if (fd < 0)
        return;
    claim_path(path, sizeof(path), dir, ifindex);
    /* removed while still locked, and only if it is this claim's file */
    if (fstat(fd, &held) == 0 && stat(path, &named) == 0 &&
        held.st_dev == named.st_dev && held.st_ino == named.st_ino)
        unlink(path);
    close(fd);
}

long vsw__nic_claim_holder(const char *dir, int ifindex)
{
    char path[PATH_MAX];
    long pid = 0;
    int fd;

    claim_path(path, sizeof(path), dir, ifindex);
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return 0;
    /* a shared lock conflicts with the holder's only */
    if (flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK) {
        pid = holder_pid(fd);
        if (pid <= 0)
            pid = -1;
    }
    close(fd);
    return pid;
}
