/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * proc_self.h — what this process holds, read from /proc/self: its open
 * file descriptors, and its mappings of a named file.  For the leak checks
 * of the tests and fuzz targets that pass fds and memfds to the host
 * (hv/ partitions, vesperd's VM module): after a guest has gone, the host
 * must hold no more of either than before.
 */
#ifndef TESTS_PROC_SELF_H
#define TESTS_PROC_SELF_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Open file descriptors (the directory's own fd included, as at every
 * call). */
static inline unsigned proc_self_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    unsigned n = 0;

    if (!d)
        abort();
    while ((e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* Mappings whose line in /proc/self/maps contains `name` (a memfd shows as
 * "memfd:NAME (deleted)"). */
static inline unsigned proc_self_maps(const char *name)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    unsigned n = 0;

    if (!f)
        abort();
    while (fgets(line, sizeof(line), f))
        n += strstr(line, name) != NULL;
    fclose(f);
    return n;
}

#endif /* TESTS_PROC_SELF_H */
