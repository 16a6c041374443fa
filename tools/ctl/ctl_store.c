/* SPDX-License-Identifier: BSD-3-Clause */
#include "tools/ctl/ctl_store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/vsa_lockfile.h"
#include "tools/ctl/ctl_alloc.h"
#include "tools/ctl/ctl_config.h"
#include "tools/ctl/ctl_private.h"

static int read_file(const char *path, char **out, size_t *size,
                     struct vsa_errmsg *em);
static int make_dirs(char *dir, struct vsa_errmsg *em);
static int write_all(int fd, const char *p, size_t n);
static int sync_dir(const char *dir);
static void dir_of(const char *path, char *dir, size_t size);

int ctl_store_load(const char *path, json_t **doc, struct vsa_errmsg *em)
{
    struct ctl_config *cfg = NULL;
    struct vsa_errmsg vem;
    json_error_t jerr;
    json_t *d;
    char *buf = NULL;
    size_t size = 0;
    int rc;

    rc = read_file(path, &buf, &size, em);
    if (rc < 0)
        return rc;
    d = json_loadb(buf, size, JSON_REJECT_DUPLICATES, &jerr);
    ctl_free(buf);
    if (!d) {
        if (ctl__json_load_oom(&jerr))
            return vsa_errmsg_set(em, -ENOMEM, "%s: out of memory", path);
        return vsa_errmsg_set(em, -EINVAL,
                              "%s: damaged: not valid JSON (line %d, column "
                              "%d): %s", path, jerr.line, jerr.column,
                              jerr.text);
    }
    rc = ctl_config_parse(d, &cfg, &vem);
    if (rc < 0) {
        json_decref(d);
        if (rc == -ENOMEM)
            return vsa_errmsg_set(em, rc, "%s: out of memory", path);
        return vsa_errmsg_set(em, rc, "%s: invalid configuration: %s", path,
                              vem.msg);
    }
    ctl_config_free(cfg);
    *doc = d;
    return 0;
}

int ctl_store_save(const char *path, const json_t *doc,
                   struct vsa_errmsg *em)
{
    struct ctl_config *cfg = NULL;
    struct vsa_errmsg vem;
    char dir[PATH_MAX], tmp[PATH_MAX];
    const size_t flags = JSON_INDENT(2) | JSON_SORT_KEYS;
    size_t n;
    char *text;
    int fd, rc, err;

    rc = ctl_config_parse(doc, &cfg, &vem);
    if (rc < 0) {
        if (rc == -ENOMEM)
            return vsa_errmsg_set(em, rc, "%s: not saved: out of memory",
                                  path);
        return vsa_errmsg_set(em, rc, "%s: not saved: %s", path, vem.msg);
    }
    ctl_config_free(cfg);

    if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >=
        (int)sizeof(tmp))
        return vsa_errmsg_set(em, -ENAMETOOLONG, "%s: path too long", path);
    dir_of(path, dir, sizeof(dir));

    n = json_dumpb(doc, NULL, 0, flags);
    if (n == 0)
        return vsa_errmsg_set(em, -ENOMEM, "%s: not saved: out of memory",
                              path);
    text = ctl_malloc(n);
    if (!text)
        return vsa_errmsg_set(em, -ENOMEM, "%s: not saved: out of memory",
                              path);
    if (json_dumpb(doc, text, n, flags) != n) {
        ctl_free(text);
        return vsa_errmsg_set(em, -ENOMEM, "%s: not saved: out of memory",
                              path);
    }

    rc = make_dirs(dir, em);
    if (rc < 0)
        goto out_free_text;
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
              CTL_STORE_FILE_MODE);
    if (fd < 0) {
        err = errno;
        rc = vsa_errmsg_set(em, -err, "%s: cannot create %s: %s", path, tmp,
                            strerror(err));
        goto out_free_text;
    }
    if (fchmod(fd, CTL_STORE_FILE_MODE) < 0 ||
        (err = write_all(fd, text, n)) != 0 || fsync(fd) < 0) {
        err = errno;
        close(fd);
        rc = vsa_errmsg_set(em, -err, "%s: cannot write %s: %s", path, tmp,
                            strerror(err));
        goto out_unlink;
    }
    if (close(fd) < 0) {
        err = errno;
        rc = vsa_errmsg_set(em, -err, "%s: cannot write %s: %s", path, tmp,
                            strerror(err));
        goto out_unlink;
    }
    if (rename(tmp, path) < 0) {
        err = errno;
        rc = vsa_errmsg_set(em, -err, "%s: cannot rename %s over it: %s",
                            path, tmp, strerror(err));
        goto out_unlink;
    }
    ctl_free(text);
    /* The rename is done: from here on the new file is the file. */
    err = sync_dir(dir);
    if (err) {
        vsa_errmsg_set(em, -err, "%s: written, but syncing directory %s "
                       "failed: %s", path, dir, strerror(err));
        return 1;
    }
    return 0;

out_unlink:
    unlink(tmp);
out_free_text:
    ctl_free(text);
    return rc;
}

/*
 * Static helpers
 */

static int read_file(const char *path, char **out, size_t *size,
                     struct vsa_errmsg *em)
{
    struct stat st;
    size_t n = 0;
    char *buf;
    int fd, err;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        err = errno;
        if (err == ENOENT)
            return vsa_errmsg_set(em, -ENOENT, "%s: no such file", path);
        return vsa_errmsg_set(em, -err, "%s: cannot open: %s", path,
                              strerror(err));
    }
    if (fstat(fd, &st) < 0) {
        err = errno;
        close(fd);
        return vsa_errmsg_set(em, -err, "%s: cannot stat: %s", path,
                              strerror(err));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return vsa_errmsg_set(em, -EINVAL, "%s: not a regular file", path);
    }
    if ((uint64_t)st.st_size > CTL_STORE_MAX_SIZE) {
        close(fd);
        return vsa_errmsg_set(em, -EFBIG, "%s: %lld bytes, at most %u", path,
                              (long long)st.st_size, CTL_STORE_MAX_SIZE);
    }
    buf = ctl_malloc((size_t)st.st_size + 1);
    if (!buf) {
        close(fd);
        return vsa_errmsg_set(em, -ENOMEM, "%s: out of memory", path);
    }
    while (n < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + n, (size_t)st.st_size - n);

        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            err = errno;
            close(fd);
            ctl_free(buf);
            return vsa_errmsg_set(em, -err, "%s: cannot read: %s", path,
                                  strerror(err));
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    buf[n] = '\0';
    *out = buf;
    *size = n;
    return 0;
}

/* dirname() without modifying `path`; "." for a bare file name. */
static void dir_of(const char *path, char *dir, size_t size)
{
    const char *slash = strrchr(path, '/');

    if (!slash) {
        snprintf(dir, size, ".");
        return;
    }
    if (slash == path) {
        snprintf(dir, size, "/");
        return;
    }
    snprintf(dir, size, "%.*s", (int)(slash - path), path);
}

/* mkdir -p with mode 0750 for the components it creates. */
static int make_dirs(char *dir, struct vsa_errmsg *em)
{
    struct stat st;
    size_t len = strlen(dir);

    if (stat(dir, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return 0;
        return vsa_errmsg_set(em, -ENOTDIR, "%s: not a directory", dir);
    }
    for (size_t i = 1; i <= len; i++) {
        char saved = dir[i];
        int err;

        if (dir[i] != '/' && dir[i] != '\0')
            continue;
        dir[i] = '\0';
        if (mkdir(dir, CTL_STORE_DIR_MODE) == 0) {
            /* The umask may have narrowed the mode. */
            if (chmod(dir, CTL_STORE_DIR_MODE) < 0) {
                err = errno;
                vsa_errmsg_set(em, -err, "cannot chmod %s: %s", dir,
                               strerror(err));
                dir[i] = saved;
                return -err;
            }
        } else if (errno != EEXIST) {
            err = errno;
            vsa_errmsg_set(em, -err, "cannot create directory %s: %s", dir,
                           strerror(err));
            dir[i] = saved;
            return -err;
        }
        dir[i] = saved;
    }
    return 0;
}

/* Returns 0 or sets errno and returns -1. */
static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);

        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Makes a rename in `dir` durable.  Returns 0 or a positive errno;
 * filesystems that cannot sync directories (EINVAL) are accepted. */
static int sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int err = 0;

    if (fd < 0)
        return errno;
    if (fsync(fd) < 0 && errno != EINVAL)
        err = errno;
    close(fd);
    return err;
}

int ctl_store_lock(const char *path, struct vsa_errmsg *em)
{
    char dir[PATH_MAX], lock[PATH_MAX], real[PATH_MAX];
    int fd, rc;

    /* the file itself, whatever path names it (a symbolic link, ./) */
    if (realpath(path, real))
        path = real;
    if ((size_t)snprintf(lock, sizeof(lock), "%s.lock", path) >= sizeof(lock))
        return vsa_errmsg_set(em, -ENAMETOOLONG, "%s: path too long", path);
    dir_of(path, dir, sizeof(dir));
    rc = make_dirs(dir, em);
    if (rc < 0)
        return rc;
    fd = vsa_lockfile_take(lock, em);
    if (fd == -EBUSY)
        return vsa_errmsg_set(em, -EBUSY, "another vesperd is running with "
                              "the configuration %s (it holds %s)", path,
                              lock);
    return fd;
}
