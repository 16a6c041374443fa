/* SPDX-License-Identifier: BSD-3-Clause */
#include "tools/ctl/ctl_store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/vsa_lockfile.h"
#include "tools/ctl/ctl_alloc.h"
#include "tools/ctl/ctl_config.h"
#include "tools/ctl/ctl_private.h"

/* Dangling symbolic links followed to the file's name at most (the
 * kernel's own limit, MAXSYMLINKS); a loop of existing links is realpath's
 * ELOOP. */
#define CTL_STORE_MAX_LINKS 40

static int read_file(const char *path, char **out, size_t *size,
                     struct vsa_errmsg *em);
static int render(const char *path, const json_t *doc, char **text,
                  size_t *n, struct vsa_errmsg *em);
static int write_file(const char *path, const char *file, const char *text,
                      size_t n, struct vsa_errmsg *em);
static int resolve_creating(const char *path, char *file, size_t size,
                            struct vsa_errmsg *em);
static int resolve_step(const char *path, char *name, char *file,
                        size_t size, struct vsa_errmsg *em);
static void remove_leftovers(const char *file);
static int make_dirs(char *dir, struct vsa_errmsg *em);
static int write_all(int fd, const char *p, size_t n);
static int sync_dir(const char *dir);
static void dir_of(const char *path, char *dir, size_t size);
static const char *base_of(const char *path);

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
    char file[PATH_MAX];
    size_t n;
    char *text;
    int rc;

    rc = render(path, doc, &text, &n, em);
    if (rc < 0)
        return rc;
    rc = resolve_creating(path, file, sizeof(file), em);
    if (rc == 0)
        rc = write_file(path, file, text, n, em);
    ctl_free(text);
    return rc;
}

int ctl_store_save_resolved(const char *path, const char *file,
                            const json_t *doc, struct vsa_errmsg *em)
{
    size_t n;
    char *text;
    int rc;

    rc = render(path, doc, &text, &n, em);
    if (rc < 0)
        return rc;
    rc = write_file(path, file, text, n, em);
    ctl_free(text);
    return rc;
}

int ctl_store_resolve(const char *path, char *file, size_t size,
                      struct vsa_errmsg *em)
{
    char name[PATH_MAX];
    int rc;

    if ((size_t)snprintf(name, sizeof(name), "%s", path) >= sizeof(name))
        return vsa_errmsg_set(em, -ENAMETOOLONG, "%s: path too long", path);
    for (unsigned links = 0;; links++) {
        rc = resolve_step(path, name, file, size, em);
        if (rc <= 0)
            return rc;
        if (links == CTL_STORE_MAX_LINKS)
            return vsa_errmsg_set(em, -ELOOP, "%s: too many symbolic links",
                                  path);
    }
}

/*
 * Static helpers
 */

/* Validates `doc` and dumps it as it is written: a new buffer in *text. */
static int render(const char *path, const json_t *doc, char **text,
                  size_t *n, struct vsa_errmsg *em)
{
    const size_t flags = JSON_INDENT(2) | JSON_SORT_KEYS;
    struct ctl_config *cfg = NULL;
    struct vsa_errmsg vem;
    int rc;

    rc = ctl_config_parse(doc, &cfg, &vem);
    if (rc < 0) {
        if (rc == -ENOMEM)
            return vsa_errmsg_set(em, rc, "%s: not saved: out of memory",
                                  path);
        return vsa_errmsg_set(em, rc, "%s: not saved: %s", path, vem.msg);
    }
    ctl_config_free(cfg);

    *n = json_dumpb(doc, NULL, 0, flags);
    if (*n == 0)
        return vsa_errmsg_set(em, -ENOMEM, "%s: not saved: out of memory",
                              path);
    *text = ctl_malloc(*n);
    if (!*text)
        return vsa_errmsg_set(em, -ENOMEM, "%s: not saved: out of memory",
                              path);
    if (json_dumpb(doc, *text, *n, flags) != *n) {
        ctl_free(*text);
        return vsa_errmsg_set(em, -ENOMEM, "%s: not saved: out of memory",
                              path);
    }
    return 0;
}

/* Creates the temporary file `tmp` afresh.  One already there can only be
 * left by a saver of our pid that died (savers in one process are
 * serialised): it goes, and O_EXCL | O_NOFOLLOW then make sure that what
 * is written is a new file of ours, never one behind a link.  Returns the
 * descriptor or -errno. */
static int create_tmp(const char *tmp)
{
    int fd;

    unlink(tmp); /* a failure shows in the open's error */
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
              CTL_STORE_FILE_MODE);
    return fd < 0 ? -errno : fd;
}

/* Replaces `file` (resolved: the file itself) by `text` atomically;
 * messages name `path`, the name the caller was given. */
static int write_file(const char *path, const char *file, const char *text,
                      size_t n, struct vsa_errmsg *em)
{
    char dir[PATH_MAX], tmp[PATH_MAX];
    int fd, rc, err;

    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", file,
                         (long)getpid()) >= sizeof(tmp))
        return vsa_errmsg_set(em, -ENAMETOOLONG, "%s: path too long", path);
    dir_of(file, dir, sizeof(dir));
    rc = make_dirs(dir, em);
    if (rc < 0)
        return rc;
    fd = create_tmp(tmp);
    if (fd < 0)
        return vsa_errmsg_set(em, fd, "%s: cannot create %s: %s", path, tmp,
                              strerror(-fd));
    if (fchmod(fd, CTL_STORE_FILE_MODE) < 0 ||
        write_all(fd, text, n) != 0 || fsync(fd) < 0) {
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
    if (rename(tmp, file) < 0) {
        err = errno;
        rc = vsa_errmsg_set(em, -err, "%s: cannot rename %s over it: %s",
                            path, tmp, strerror(err));
        goto out_unlink;
    }
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
    return rc;
}

/* ctl_store_resolve after creating the directory `path` names, so that
 * a path whose directory is missing (the first start) resolves. */
static int resolve_creating(const char *path, char *file, size_t size,
                            struct vsa_errmsg *em)
{
    char dir[PATH_MAX];
    int rc;

    dir_of(path, dir, sizeof(dir));
    rc = make_dirs(dir, em);
    if (rc < 0)
        return rc;
    return ctl_store_resolve(path, file, size, em);
}

/* One step of ctl_store_resolve on `name` (first the caller's `path`):
 * 0 with the file's name in `file`; 1 with `name` replaced by the target
 * of the dangling symbolic link it was; or -errno. */
static int resolve_step(const char *path, char *name, char *file,
                        size_t size, struct vsa_errmsg *em)
{
    char real[PATH_MAX], dir[PATH_MAX], target[PATH_MAX];
    const char *base = base_of(name);
    struct stat st;
    ssize_t len;
    int err;

    if (realpath(name, real)) {
        if ((size_t)snprintf(file, size, "%s", real) >= size)
            return vsa_errmsg_set(em, -ENAMETOOLONG, "%s: path too long",
                                  path);
        return 0;
    }
    err = errno;
    if (err != ENOENT)
        return vsa_errmsg_set(em, -err, "%s: cannot resolve: %s", path,
                              strerror(err));
    dir_of(name, dir, sizeof(dir));
    if (lstat(name, &st) == 0 && S_ISLNK(st.st_mode)) {
        /* dangling: the file it names, to be created (relative to the
         * link's directory) */
        len = readlink(name, target, sizeof(target));
        if (len < 0) {
            err = errno;
            return vsa_errmsg_set(em, -err, "%s: cannot read the symbolic "
                                  "link %s: %s", path, name, strerror(err));
        }
        if ((size_t)len >= sizeof(target) ||
            (size_t)snprintf(real, sizeof(real), "%s%s%.*s",
                             target[0] == '/' ? "" : dir,
                             target[0] == '/' ? "" : "/", (int)len,
                             target) >= sizeof(real))
            return vsa_errmsg_set(em, -ENAMETOOLONG, "%s: path too long",
                                  path);
        memcpy(name, real, strlen(real) + 1);
        return 1;
    }
    /* no such file (yet): that name in its directory, resolved */
    if (!*base || !strcmp(base, ".") || !strcmp(base, ".."))
        return vsa_errmsg_set(em, -EISDIR, "%s: not a file name", path);
    if (!realpath(dir, real)) {
        err = errno;
        if (strcmp(name, path))
            return vsa_errmsg_set(em, -err, "%s: a symbolic link to %s, "
                                  "whose directory cannot be resolved: %s",
                                  path, name, strerror(err));
        return vsa_errmsg_set(em, -err, "%s: cannot resolve directory %s: "
                              "%s", path, dir, strerror(err));
    }
    if ((size_t)snprintf(file, size, "%s/%s", strcmp(real, "/") ? real : "",
                         base) >= size)
        return vsa_errmsg_set(em, -ENAMETOOLONG, "%s: path too long", path);
    return 0;
}

/* Whether `name` is "<base>.tmp.<digits>": a save's temporary file. */
static bool is_leftover(const char *name, const char *base)
{
    size_t n = strlen(base);

    if (strncmp(name, base, n) || strncmp(name + n, ".tmp.", 5))
        return false;
    name += n + 5;
    if (!*name)
        return false;
    for (; *name; name++)
        if (*name < '0' || *name > '9')
            return false;
    return true;
}

/* Removes the temporary files of saves of `file` whose process died
 * between creating and renaming them (one per crash, otherwise never
 * removed).  Called with the lock held: no live saver owns one.  Regular
 * files and symbolic links only, never followed.  Best effort: one that
 * stays costs only its space. */
static void remove_leftovers(const char *file)
{
    const char *base = base_of(file);
    char dir[PATH_MAX];
    struct dirent *e;
    struct stat st;
    DIR *d;

    dir_of(file, dir, sizeof(dir));
    d = opendir(dir);
    if (!d)
        return;
    while ((e = readdir(d)) != NULL) {
        if (!is_leftover(e->d_name, base) ||
            fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        if (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode))
            unlinkat(dirfd(d), e->d_name, 0);
    }
    closedir(d);
}

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

/* The last component of `path` ("" if it ends with a slash). */
static const char *base_of(const char *path)
{
    const char *slash = strrchr(path, '/');

    return slash ? slash + 1 : path;
}

/* Finishes a directory make_dirs created: its mode (the umask may have
 * narrowed it), and its entry made durable in its parent, or a crash soon
 * after could lose it and the file saved in it. */
static int new_dir(const char *dir, struct vsa_errmsg *em)
{
    char parent[PATH_MAX];
    int err;

    if (chmod(dir, CTL_STORE_DIR_MODE) < 0) {
        err = errno;
        return vsa_errmsg_set(em, -err, "cannot chmod %s: %s", dir,
                              strerror(err));
    }
    dir_of(dir, parent, sizeof(parent));
    err = sync_dir(parent);
    if (err)
        return vsa_errmsg_set(em, -err, "created directory %s, but syncing "
                              "%s failed: %s", dir, parent, strerror(err));
    return 0;
}

/* mkdir -p with mode 0750 for the components it creates, each synced into
 * its parent. */
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
        int rc = 0, err;

        if (dir[i] != '/' && dir[i] != '\0')
            continue;
        dir[i] = '\0';
        if (mkdir(dir, CTL_STORE_DIR_MODE) == 0) {
            rc = new_dir(dir, em);
        } else if (errno != EEXIST) {
            err = errno;
            rc = vsa_errmsg_set(em, -err, "cannot create directory %s: %s",
                                dir, strerror(err));
        }
        dir[i] = saved;
        if (rc < 0)
            return rc;
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

int ctl_store_lock(const char *path, char *file, size_t size,
                   struct vsa_errmsg *em)
{
    char lock[PATH_MAX];
    int fd, rc;

    rc = resolve_creating(path, file, size, em);
    if (rc < 0)
        return rc;
    if ((size_t)snprintf(lock, sizeof(lock), "%s.lock", file) >= sizeof(lock))
        return vsa_errmsg_set(em, -ENAMETOOLONG, "%s: path too long", path);
    fd = vsa_lockfile_take(lock, em);
    if (fd == -EROFS) {
        /* A read-only file system: nothing to save to, nothing left
         * over to remove, and no lock file to make.  The file itself,
         * read-only, takes the lock (flock needs no write access); every
         * vesperd on this file comes here alike. */
        fd = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
            return vsa_errmsg_set(em, -EROFS, "cannot lock the "
                                  "configuration %s: %s is on a read-only "
                                  "file system and %s cannot be opened: %s",
                                  path, lock, file, strerror(errno));
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
            int err = errno;

            close(fd);
            if (err == EWOULDBLOCK)
                return vsa_errmsg_set(em, -EBUSY, "another vesperd is "
                                      "running with the configuration %s "
                                      "(it holds %s, on a read-only file "
                                      "system)", path, file);
            return vsa_errmsg_set(em, -err, "cannot lock %s: %s", file,
                                  strerror(err));
        }
        return fd;
    }
    if (fd == -EBUSY)
        return vsa_errmsg_set(em, -EBUSY, "another vesperd is running with "
                              "the configuration %s (it holds %s)", path,
                              lock);
    if (fd >= 0)
        remove_leftovers(file);
    return fd;
}
