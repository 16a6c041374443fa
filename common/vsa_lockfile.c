/* SPDX-License-Identifier: BSD-3-Clause */
#include "common/vsa_lockfile.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

int vsa_lockfile_take(const char *path, struct vsa_errmsg *em)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    int err;

    if (fd < 0) {
        err = errno;
        return vsa_errmsg_set(em, -err, "cannot open %s: %s", path,
                              strerror(err));
    }
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        err = errno;
        close(fd);
        if (err == EWOULDBLOCK)
            return -EBUSY;
        return vsa_errmsg_set(em, -err, "cannot lock %s: %s", path,
                              strerror(err));
    }
    return fd;
}

bool vsa_lockfile_busy(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    bool busy;

    if (fd < 0)
        return false;
    busy = flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK;
    close(fd);
    return busy;
}
