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
 * under the second one, which still switched on it.  The same went for
 * the devices under a NIC, whose offloads a binding turns off too (a
 * VLAN's link, a macvlan's, a bond's slaves: hostif.c): one vesperd's
 * release turned GRO back on under the other's.  So the first port of a
 * process to bind a NIC claims it, and each device under it, host-wide:
 * an exclusive flock on `<dir>/<netns inode>-<ifindex>` (an index is a
 * device of one network namespace only), held until the process gives
 * the NIC back.  A claim another process holds refuses the binding with
 * that process's pid, which the holder writes into the file.  The kernel
 * drops the lock when its holder ends, however it ends, so a crashed
 * vesperd's claims are gone with it (its crash journal record is what
 * recover looks at, claiming the NIC while it gives it back).
 *
 * The holder removes the file when it gives the claim up.  A process that
 * opened the file just before it was removed would lock a name no longer
 * there, so a lock counts only if the path still names the locked file
 * (checked after flock, tried again otherwise).  vesperd runs as root and
 * the directory is shared: it must be a directory of this user that no
 * one else may write, and a claim file a regular file of this user with
 * one link, before anything is written into it (a file planted there, a
 * hard link to another file, is refused, never truncated).
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

/* `dir` exists (made 0700 if not) and is this user's, closed to others. */
static int dir_ready(const char *dir, const char *ifname,
                     struct vsa_errmsg *em)
{
    struct stat st;
    int err;

    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        err = errno;
        return vsa_errmsg_set(em, -err, "cannot claim kernel NIC %s: cannot "
                              "create %s: %s", ifname, dir, strerror(err));
    }
    if (lstat(dir, &st) < 0) {
        err = errno;
        return vsa_errmsg_set(em, -err, "cannot claim kernel NIC %s: %s: %s",
                              ifname, dir, strerror(err));
    }
    if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
        (st.st_mode & 022))
        return vsa_errmsg_set(em, -EPERM, "cannot claim kernel NIC %s: %s "
                              "is not a directory of this user that only it "
                              "may write (mode %04o, owner %u)", ifname, dir,
                              (unsigned)(st.st_mode & 07777),
                              (unsigned)st.st_uid);
    return 0;
}

int vsw__nic_claim_take(const char *dir, int ifindex, const char *ifname,
                        struct vsa_errmsg *em)
{
    char path[PATH_MAX], pid[32];
    struct stat held, named;
    int fd = -1, err, len, rc;

    rc = dir_ready(dir, ifname, em);
    if (rc < 0)
        return rc;
    claim_path(path, sizeof(path), dir, ifindex);
    for (int tries = 0; tries < CLAIM_TRIES; tries++) {
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0) {
            err = errno;
            return vsa_errmsg_set(em, -err, "cannot claim kernel NIC %s: "
                                  "cannot open %s: %s", ifname, path,
                                  strerror(err));
        }
        if (fstat(fd, &held) < 0 || !S_ISREG(held.st_mode) ||
            held.st_nlink != 1 || held.st_uid != geteuid()) {
            close(fd);
            return vsa_errmsg_set(em, -EPERM, "cannot claim kernel NIC %s: "
                                  "%s is not a claim file (a regular file "
                                  "of this user with one link)", ifname,
                                  path);
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
        if (stat(path, &named) == 0 && held.st_dev == named.st_dev &&
            held.st_ino == named.st_ino)
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

int vsw__nic_claim_state(const char *dir, const struct vsw_hostif_state *s,
                         bool with_nic, struct vsw_nic_claims *c,
                         struct vsa_errmsg *em)
{
    unsigned n = 1 + (s->n_lower < VSW_HOSTIF_LOWER_MAX ? s->n_lower
                                                        : VSW_HOSTIF_LOWER_MAX);
    struct vsa_errmsg why;
    int rc;

    c->n = 0;
    for (unsigned i = with_nic ? 0 : 1; i < n; i++) {
        int ifindex = i == 0 ? s->ifindex : s->lower[i - 1].ifindex;
        const char *name = i == 0 ? s->ifname : s->lower[i - 1].ifname;

        rc = vsw__nic_claim_take(dir, ifindex, name, &why);
        if (rc < 0) {
            vsw__nic_claim_release_all(dir, c);
            if (i == 0)
                return vsa_errmsg_set(em, rc, "%s", why.msg);
            return vsa_errmsg_set(em, rc, "the device under kernel NIC %s: "
                                  "%s", s->ifname, why.msg);
        }
        c->ifindex[c->n] = ifindex;
        c->fd[c->n] = rc;
        c->n++;
    }
    return 0;
}

void vsw__nic_claim_release_all(const char *dir, struct vsw_nic_claims *c)
{
    for (unsigned i = 0; i < c->n; i++)
        vsw__nic_claim_release(dir, c->ifindex[i], c->fd[i]);
    c->n = 0;
}
