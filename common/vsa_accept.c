/* SPDX-License-Identifier: BSD-3-Clause */
/* vsa_accept.c — see vsa_accept.h. */
#include "common/vsa_accept.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

static int reserve_fd = -1;
static bool reserve_wanted; /* vsa_accept_reserve() was called */

int vsa_accept_reserve(void)
{
    reserve_wanted = true;
    if (reserve_fd >= 0)
        return 0;
    reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    return reserve_fd >= 0 ? 0 : -errno;
}

int vsa_accept(int lfd, int flags, bool *shed)
{
    int fd;

    *shed = false;
    /* A reserve lost to another process at ENFILE (or never taken) is
     * taken again as soon as a descriptor is free. */
    if (reserve_fd < 0 && reserve_wanted)
        (void)vsa_accept_reserve();
    fd = accept4(lfd, NULL, NULL, flags);
    if (fd >= 0)
        return fd;
    if ((errno != EMFILE && errno != ENFILE) || reserve_fd < 0)
        return -errno;
    close(reserve_fd);
    reserve_fd = -1;
    fd = accept4(lfd, NULL, NULL, flags);
    if (fd < 0) {
        int err = errno;
        (void)vsa_accept_reserve();
        return -err;
    }
    *shed = true;
    return fd;
}

void vsa_accept_shed_done(int fd)
{
    close(fd);
    (void)vsa_accept_reserve();
}

long vsa_raise_nofile_limit(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return -errno;
    if (rl.rlim_cur < rl.rlim_max) {
        rlim_t want = rl.rlim_max;

        rl.rlim_cur = want;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
            return -errno;
    }
    return rl.rlim_cur == RLIM_INFINITY ? (long)0x7fffffff : (long)rl.rlim_cur;
}
