/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_store.c — ctl_store: persistence of the configuration document.
 *
 * Objective: save + load returns the same document; the file is written
 * with mode 0640 (directories created 0750), sorted and indented, and no
 * temporary file is left behind; a damaged file is never accepted, not even
 * partially: the file truncated at EVERY byte offset, with trailing
 * garbage, with duplicate keys or with a valid JSON but invalid
 * configuration is refused with a message naming the path; a missing file
 * is -ENOENT; a save that cannot write (read-only directory, invalid
 * document) fails cleanly and leaves the old file byte-identical.  A path
 * that is a symbolic link (dangling too) is saved through: the target is
 * replaced, the link stays, and the lock is the target's whichever name
 * takes it.  Taking the lock removes the temporary files dead savers left
 * (never what a leftover link points to), and a leftover of the saver's
 * own temporary name does not stop the save.  Every directory a save
 * creates is fsync'ed into its parent (seen through fsync() below).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/unit/tools/tools_test.h"
#include "tools/ctl/ctl_config.h"
#include "tools/ctl/ctl_store.h"

static char tmpdir[64];

/* The files fsync()ed since the test last cleared n_synced: this
 * definition takes the place of the C library's for ctl_store too (linked
 * in statically), records and then syncs. */
static struct {
    dev_t dev;
    ino_t ino;
} synced[256];
static unsigned n_synced;

int fsync(int fd)
{
    struct stat st;

    if (fstat(fd, &st) == 0 && n_synced < VSA_ARRAY_LEN(synced)) {
        synced[n_synced].dev = st.st_dev;
        synced[n_synced].ino = st.st_ino;
        n_synced++;
    }
    return (int)syscall(SYS_fsync, fd);
}

static bool was_synced(const char *path)
{
    struct stat st;

    assert_int_equal(stat(path, &st), 0);
    for (unsigned i = 0; i < n_synced; i++)
        if (synced[i].dev == st.st_dev && synced[i].ino == st.st_ino)
            return true;
    return false;
}

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/ctl_store_test.XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    chmod(tmpdir, 0755);
    return 0;
}

static void rm_rf(const char *path)
{
    struct stat st;

    if (lstat(path, &st) < 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *e;

        chmod(path, 0755);
        while (d && (e = readdir(d)) != NULL) {
            char p[512];

            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
            rm_rf(p);
        }
        if (d)
            closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

static int teardown(void **state)
{
    (void)state;
    rm_rf(tmpdir);
    return 0;
}

static char *read_all(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *size = (size_t)n;
    return buf;
}

static void write_bytes(const char *path, const char *buf, size_t n)
{
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    if (n)
        assert_int_equal(fwrite(buf, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

/* Number of directory entries other than `keep`. */
static int count_others(const char *dir, const char *keep)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    assert_non_null(d);
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
            strcmp(e->d_name, keep))
            n++;
    closedir(d);
    return n;
}

static void test_round_trip(void **state)
{
    char path[256];
    struct vsa_errmsg em;
    json_t *doc = jq(TT_RICH_DOC), *loaded = NULL;
    struct stat st;
    char *text;
    size_t size;

    (void)state;
    snprintf(path, sizeof(path), "%s/config.json", tmpdir);
    assert_int_equal(ctl_store_save(path, doc, &em), 0);
    assert_int_equal(ctl_store_load(path, &loaded, &em), 0);
    assert_true(json_equal(doc, loaded));
    json_decref(loaded);

    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0640);
    assert_int_equal(count_others(tmpdir, "config.json"), 0);

    /* Sorted keys, 2-space indentation, no trailing newline. */
    text = read_all(path, &size);
    assert_true(strncmp(text, "{\n  \"fdb_static\": [\n", 20) == 0);
    assert_true(strstr(text, "\"ports\"") < strstr(text, "\"switches\""));
    assert_true(strstr(text, "\"switches\"") < strstr(text, "\"version\""));
    assert_int_equal(text[size - 1], '}');
    free(text);

    /* Saving again replaces the file, still no temporary left. */
    json_object_set_new(json_array_get(json_object_get(doc, "switches"), 0),
                        "aging_s", json_integer(42));
    assert_int_equal(ctl_store_save(path, doc, &em), 0);
    assert_int_equal(ctl_store_load(path, &loaded, &em), 0);
    assert_true(json_equal(doc, loaded));
    assert_int_equal(count_others(tmpdir, "config.json"), 0);
    json_decref(loaded);
    json_decref(doc);
}

/* The default document saves into a directory tree that does not exist. */
static void test_creates_dirs(void **state)
{
    char path[512], dir[256];
    struct vsa_errmsg em;
    json_t *doc = ctl_default_config(), *loaded = NULL;
    struct stat st;
    mode_t old = umask(077);

    (void)state;
    snprintf(dir, sizeof(dir), "%s/var/lib/vesper", tmpdir);
    snprintf(path, sizeof(path), "%s/config.json", dir);
    assert_int_equal(ctl_store_save(path, doc, &em), 0);
    umask(old);
    assert_int_equal(stat(dir, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0750);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0640);
    assert_int_equal(ctl_store_load(path, &loaded, &em), 0);
    assert_true(json_equal(doc, loaded));
    json_decref(loaded);
    json_decref(doc);
}

static void test_missing(void **state)
{
    char path[256];
    struct vsa_errmsg em;
    json_t *sentinel = (json_t *)&em, *doc = sentinel;

    (void)state;
    snprintf(path, sizeof(path), "%s/nope.json", tmpdir);
    assert_int_equal(ctl_store_load(path, &doc, &em), -ENOENT);
    assert_ptr_equal(doc, sentinel);
    assert_substr(em.msg, path);
    assert_int_equal(ctl_store_load(tmpdir, &doc, &em), -EINVAL);
    assert_substr(em.msg, "not a regular file");
}

/* Every proper prefix of a saved file is refused, naming the path. */
static void test_truncation(void **state)
{
    char path[256], cut[256];
    struct vsa_errmsg em;
    json_t *doc = jq(TT_RICH_DOC);
    char *text;
    size_t size;

    (void)state;
    snprintf(path, sizeof(path), "%s/config.json", tmpdir);
    snprintf(cut, sizeof(cut), "%s/cut.json", tmpdir);
    assert_int_equal(ctl_store_save(path, doc, &em), 0);
    text = read_all(path, &size);
    assert_true(size > 500);
    for (size_t k = 0; k < size; k++) {
        json_t *sentinel = (json_t *)text, *loaded = sentinel;
        int rc;

        write_bytes(cut, text, k);
        rc = ctl_store_load(cut, &loaded, &em);
        if (rc != -EINVAL)
            fail_msg("truncated at %zu of %zu: rc %d", k, size, rc);
        assert_ptr_equal(loaded, sentinel);
        assert_substr(em.msg, cut);
        assert_substr(em.msg, "damaged");
    }
    free(text);
    json_decref(doc);
}

static void test_damage(void **state)
{
    static const struct {
        const char *text;
        const char *msg;
    } cases[] = {
        { "{\"version\":1}x", "line 1, column" },
        { "{\"version\":1}{}", "end of file expected" },
        { "{\"version\":1,\"version\":1}", "duplicate object key" },
        { "{\"version\":1,\"ports\":[],\"switches\":\"a\xff\"}",
          "unable to decode byte" },
        { "[1]", "invalid configuration: the configuration must be a JSON "
                 "object" },
        { "{\"version\":1,\"switches\":[{\"name\":\"s\",\"type\":\"internal\"}]}",
          "invalid configuration: switches[0] (\"s\"): an internal switch "
          "needs exactly one internal port" },
        { "", "damaged" },
        { "\n\n  ", "line 3" },
    };
    char path[256];
    struct vsa_errmsg em;

    (void)state;
    snprintf(path, sizeof(path), "%s/bad.json", tmpdir);
    for (size_t i = 0; i < VSA_ARRAY_LEN(cases); i++) {
        json_t *doc = NULL;

        write_bytes(path, cases[i].text, strlen(cases[i].text));
        assert_int_equal(ctl_store_load(path, &doc, &em), -EINVAL);
        assert_null(doc);
        assert_substr(em.msg, path);
        assert_substr(em.msg, cases[i].msg);
    }
}

/* An invalid document is never written. */
static void test_save_invalid(void **state)
{
    char path[256];
    struct vsa_errmsg em;
    json_t *good = ctl_default_config();
    json_t *bad = jq("{'version':1,'switches':[{'name':'s','type':'x'}]}");
    char *before, *after;
    size_t n1, n2;

    (void)state;
    snprintf(path, sizeof(path), "%s/config.json", tmpdir);
    assert_int_equal(ctl_store_save(path, good, &em), 0);
    before = read_all(path, &n1);
    assert_int_equal(ctl_store_save(path, bad, &em), -EINVAL);
    assert_substr(em.msg, path);
    assert_substr(em.msg, "not saved: switches[0] (\"s\"): type");
    after = read_all(path, &n2);
    assert_int_equal(n1, n2);
    assert_memory_equal(before, after, n1);
    assert_int_equal(count_others(tmpdir, "config.json"), 0);
    free(before);
    free(after);
    json_decref(good);
    json_decref(bad);
}

/* Runs a save into `path` where the directory is read-only; as root the
 * save runs in a child that dropped to an unprivileged user (root ignores
 * directory permissions).  Returns the save's result. */
static int save_unprivileged(const char *path, const json_t *doc,
                             char *msg, size_t msg_size)
{
    struct vsa_errmsg em = { "" };
    struct passwd *pw;
    int pfd[2], status, rc;
    pid_t pid;

    if (geteuid() != 0) {
        rc = ctl_store_save(path, doc, &em);
        snprintf(msg, msg_size, "%s", em.msg);
        return rc;
    }
    pw = getpwnam("nobody");
    assert_non_null(pw);
    assert_int_equal(pipe(pfd), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        ssize_t w;

        close(pfd[0]);
        if (setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0)
            _exit(100);
        rc = ctl_store_save(path, doc, &em);
        w = write(pfd[1], em.msg, strlen(em.msg) + 1);
        (void)w;
        _exit(rc < 0 ? -rc : rc > 0 ? 200 + rc : 0);
    }
    close(pfd[1]);
    memset(msg, 0, msg_size);
    while (read(pfd[0], msg, msg_size - 1) > 0)
        ;
    close(pfd[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_not_equal(WEXITSTATUS(status), 100);
    if (WEXITSTATUS(status) >= 200)
        return WEXITSTATUS(status) - 200;
    return -WEXITSTATUS(status);
}

static void test_save_readonly_dir(void **state)
{
    char dir[256], path[512], msg[VSA_ERRMSG_SIZE];
    struct vsa_errmsg em;
    json_t *good = ctl_default_config(), *other = jq(TT_RICH_DOC);
    json_t *loaded = NULL;
    char *before, *after;
    size_t n1, n2;
    int rc;

    (void)state;
    snprintf(dir, sizeof(dir), "%s/ro", tmpdir);
    snprintf(path, sizeof(path), "%s/config.json", dir);
    assert_int_equal(mkdir(dir, 0755), 0);
    assert_int_equal(ctl_store_save(path, good, &em), 0);
    chmod(path, 0644);
    before = read_all(path, &n1);
    assert_int_equal(chmod(dir, 0555), 0);

    rc = save_unprivileged(path, other, msg, sizeof(msg));
    assert_int_equal(rc, -EACCES);
    assert_substr(msg, path);
    assert_substr(msg, "cannot create");

    after = read_all(path, &n2);
    assert_int_equal(n1, n2);
    assert_memory_equal(before, after, n1);
    assert_int_equal(count_others(dir, "config.json"), 0);
    assert_int_equal(ctl_store_load(path, &loaded, &em), 0);
    assert_true(json_equal(good, loaded));
    chmod(dir, 0755);
    free(before);
    free(after);
    json_decref(loaded);
    json_decref(good);
    json_decref(other);
}

/* The rename went through but the directory cannot be synced (here: it
 * cannot be opened for reading, mode 0333 for an unprivileged user):
 * the new file is the file, and the save says 1, "written, but ...", not a
 * failure after which the caller would roll back to a state the file no
 * longer holds. */
static void test_save_dir_sync_fails(void **state)
{
    char dir[256], path[512], msg[VSA_ERRMSG_SIZE];
    struct vsa_errmsg em;
    json_t *good = ctl_default_config(), *other = jq(TT_RICH_DOC);
    json_t *loaded = NULL;
    struct stat st;
    int rc;

    (void)state;
    if (geteuid() != 0) { /* cannot make a directory we cannot read */
        json_decref(good);
        json_decref(other);
        skip();
    }
    assert_int_equal(stat(tmpdir, &st), 0);
    assert_int_equal(chmod(tmpdir, 0711), 0); /* nobody may pass */
    snprintf(dir, sizeof(dir), "%s/wx", tmpdir);
    snprintf(path, sizeof(path), "%s/config.json", dir);
    assert_int_equal(mkdir(dir, 0755), 0);
    assert_int_equal(ctl_store_save(path, good, &em), 0);
    assert_int_equal(chmod(dir, 0333), 0);

    rc = save_unprivileged(path, other, msg, sizeof(msg));
    assert_int_equal(chmod(dir, 0755), 0);
    assert_int_equal(chmod(tmpdir, st.st_mode & 07777), 0);
    assert_int_equal(rc, 1);
    assert_substr(msg, "written, but syncing directory");
    assert_int_equal(ctl_store_load(path, &loaded, &em), 0);
    assert_true(json_equal(other, loaded)); /* the new document */
    assert_int_equal(count_others(dir, "config.json"), 0);
    json_decref(loaded);
    json_decref(good);
    json_decref(other);
}

/* A parent path that is a file, not a directory. */
static void test_save_bad_parent(void **state)
{
    char file[256], path[512];
    struct vsa_errmsg em;
    json_t *doc = ctl_default_config();

    (void)state;
    snprintf(file, sizeof(file), "%s/plain", tmpdir);
    write_bytes(file, "x", 1);
    snprintf(path, sizeof(path), "%s/config.json", file);
    assert_int_equal(ctl_store_save(path, doc, &em), -ENOTDIR);
    assert_substr(em.msg, "not a directory");
    snprintf(path, sizeof(path), "%s/sub/config.json", file);
    assert_int_equal(ctl_store_save(path, doc, &em), -ENOTDIR);
    json_decref(doc);
}

/* Two directories, <tmpdir>/etc and <tmpdir>/var, and in var the link
 * cfg.json -> ../etc/config.json (relative: resolved from var); `target`
 * holds `doc` unless doc is NULL. */
static void make_link(char *target, char *link, size_t size, const json_t *doc)
{
    char dir[256];
    struct vsa_errmsg em;

    snprintf(dir, sizeof(dir), "%s/etc", tmpdir);
    assert_int_equal(mkdir(dir, 0755), 0);
    snprintf(target, size, "%s/config.json", dir);
    snprintf(dir, sizeof(dir), "%s/var", tmpdir);
    assert_int_equal(mkdir(dir, 0755), 0);
    snprintf(link, size, "%s/cfg.json", dir);
    if (doc)
        assert_int_equal(ctl_store_save(target, doc, &em), 0);
    assert_int_equal(symlink("../etc/config.json", link), 0);
}

static void assert_still_link(const char *link, const char *to)
{
    char buf[256];
    struct stat st;
    ssize_t n;

    assert_int_equal(lstat(link, &st), 0);
    if (!S_ISLNK(st.st_mode))
        fail_msg("%s is no longer a symbolic link: the save replaced it",
                 link);
    n = readlink(link, buf, sizeof(buf) - 1);
    assert_true(n > 0);
    buf[n] = '\0';
    assert_string_equal(buf, to);
}

/* Saving through a symbolic link replaces its target (in the target's
 * directory) and keeps the link; no temporary file is left in either. */
static void test_save_through_symlink(void **state)
{
    char target[512], link[512], dir[256];
    struct vsa_errmsg em;
    json_t *good = ctl_default_config(), *other = jq(TT_RICH_DOC);
    json_t *loaded = NULL;

    (void)state;
    make_link(target, link, sizeof(target), good);
    assert_int_equal(ctl_store_save(link, other, &em), 0);
    assert_still_link(link, "../etc/config.json");
    assert_int_equal(ctl_store_load(target, &loaded, &em), 0);
    if (!json_equal(other, loaded))
        fail_msg("%s still holds the old document", target);
    json_decref(loaded);
    snprintf(dir, sizeof(dir), "%s/etc", tmpdir);
    assert_int_equal(count_others(dir, "config.json"), 0);
    snprintf(dir, sizeof(dir), "%s/var", tmpdir);
    assert_int_equal(count_others(dir, "cfg.json"), 0);
    json_decref(good);
    json_decref(other);
}

/* vesperd's sequence through a link: the lock resolves it (into the
 * target), the saves go there, and a second daemon given the link or the
 * target is still refused afterwards. */
static void test_lock_through_symlink(void **state)
{
    char target[512], link[512], file[PATH_MAX], real[PATH_MAX];
    struct vsa_errmsg em;
    json_t *good = ctl_default_config(), *other = jq(TT_RICH_DOC);
    int fd, rc;

    (void)state;
    make_link(target, link, sizeof(target), good);
    fd = ctl_store_lock(link, file, sizeof(file), &em);
    assert_true(fd >= 0);
    assert_non_null(realpath(target, real));
    assert_string_equal(file, real);
    assert_int_equal(ctl_store_save(link, other, &em), 0);
    rc = ctl_store_lock(link, file, sizeof(file), &em);
    if (rc != -EBUSY)
        fail_msg("a second lock through %s after a save: %d, not -EBUSY",
                 link, rc);
    assert_substr(em.msg, link);
    assert_substr(em.msg, "another vesperd");
    assert_int_equal(ctl_store_lock(target, file, sizeof(file), &em),
                     -EBUSY);
    assert_still_link(link, "../etc/config.json");
    close(fd);
    json_decref(good);
    json_decref(other);
}

/* ctl_store_resolve, and saves through what it resolves: a file not there
 * yet, relative too; a dangling link (a chain of two) stands for its
 * target, which a save creates; a dangling link into a missing directory,
 * a missing directory and a name ending in '/' are errors naming the
 * path. */
static void test_resolve(void **state)
{
    char target[512], link[512], link2[512], path[512], cwd[PATH_MAX];
    char file[PATH_MAX], real[PATH_MAX], want[PATH_MAX + 32];
    struct vsa_errmsg em;
    json_t *doc = ctl_default_config(), *loaded = NULL;

    (void)state;
    make_link(target, link, sizeof(target), NULL); /* dangling */
    assert_non_null(realpath(tmpdir, real));

    /* the link's target, not there yet: its directory resolved */
    assert_int_equal(ctl_store_resolve(link, file, sizeof(file), &em), 0);
    snprintf(want, sizeof(want), "%s/etc/config.json", real);
    assert_string_equal(file, want);
    /* a link to that link */
    snprintf(link2, sizeof(link2), "%s/l2.json", tmpdir);
    assert_int_equal(symlink(link, link2), 0);
    assert_int_equal(ctl_store_resolve(link2, file, sizeof(file), &em), 0);
    assert_string_equal(file, want);
    /* the save creates the target and keeps both links */
    assert_int_equal(ctl_store_save(link2, doc, &em), 0);
    assert_still_link(link, "../etc/config.json");
    assert_still_link(link2, link);
    assert_int_equal(ctl_store_load(target, &loaded, &em), 0);
    assert_true(json_equal(doc, loaded));
    json_decref(loaded);
    /* now it exists */
    assert_int_equal(ctl_store_resolve(link, file, sizeof(file), &em), 0);
    assert_string_equal(file, want);
    /* ctl_store_save_resolved writes `file`, names the path */
    assert_int_equal(ctl_store_save_resolved(link, file, doc, &em), 0);
    assert_still_link(link, "../etc/config.json");
    json_object_set_new(doc, "version", json_integer(99));
    assert_int_equal(ctl_store_save_resolved(link, file, doc, &em), -EINVAL);
    assert_substr(em.msg, link);
    json_object_set_new(doc, "version", json_integer(1));

    /* relative, not there yet */
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_int_equal(chdir(tmpdir), 0);
    assert_int_equal(ctl_store_resolve("new.json", file, sizeof(file), &em),
                     0);
    assert_int_equal(chdir(cwd), 0);
    snprintf(want, sizeof(want), "%s/new.json", real);
    assert_string_equal(file, want);

    /* errors */
    snprintf(path, sizeof(path), "%s/nodir/config.json", tmpdir);
    assert_int_equal(ctl_store_resolve(path, file, sizeof(file), &em),
                     -ENOENT);
    assert_substr(em.msg, path);
    assert_substr(em.msg, "cannot resolve directory");
    snprintf(path, sizeof(path), "%s/var/lost.json", tmpdir);
    assert_int_equal(symlink("../gone/config.json", path), 0);
    assert_int_equal(ctl_store_resolve(path, file, sizeof(file), &em),
                     -ENOENT);
    assert_substr(em.msg, path);
    assert_substr(em.msg, "a symbolic link to");
    assert_int_equal(ctl_store_save(path, doc, &em), -ENOENT);
    assert_substr(em.msg, path);
    snprintf(path, sizeof(path), "%s/nodir/", tmpdir);
    assert_int_equal(ctl_store_resolve(path, file, sizeof(file), &em),
                     -EISDIR);
    assert_substr(em.msg, "not a file name");
    json_decref(doc);
}

/* Taking the lock removes "<name>.tmp.<digits>" regular files and links
 * (not what a link points to) in the file's directory; nothing else. */
static void test_lock_removes_leftovers(void **state)
{
    static const char *const gone[] = {
        "config.json.tmp.123", "config.json.tmp.456", "config.json.tmp.789",
    };
    static const char *const kept[] = {
        "config.json.tmp.12x", "config.json.tmp.", "config.json.tmp.77",
        "other.json.tmp.5", "config.json.tmp.1.x", "victim",
    };
    char path[512], p[512], file[PATH_MAX];
    struct vsa_errmsg em;
    json_t *doc = ctl_default_config(), *loaded = NULL;
    char *text;
    size_t size;
    int fd;

    (void)state;
    snprintf(path, sizeof(path), "%s/config.json", tmpdir);
    assert_int_equal(ctl_store_save(path, doc, &em), 0);
    snprintf(p, sizeof(p), "%s/victim", tmpdir);
    write_bytes(p, "keep", 4);
    snprintf(p, sizeof(p), "%s/config.json.tmp.123", tmpdir);
    write_bytes(p, "{\"vers", 6);
    snprintf(p, sizeof(p), "%s/config.json.tmp.456", tmpdir);
    assert_int_equal(symlink("victim", p), 0);
    snprintf(p, sizeof(p), "%s/config.json.tmp.789", tmpdir);
    assert_int_equal(symlink("nowhere", p), 0);
    for (size_t i = 0; i < 5; i++) {
        snprintf(p, sizeof(p), "%s/%s", tmpdir, kept[i]);
        if (i == 2)
            assert_int_equal(mkdir(p, 0755), 0);
        else
            write_bytes(p, "x", 1);
    }

    fd = ctl_store_lock(path, file, sizeof(file), &em);
    assert_true(fd >= 0);
    for (size_t i = 0; i < VSA_ARRAY_LEN(gone); i++) {
        struct stat st;

        snprintf(p, sizeof(p), "%s/%s", tmpdir, gone[i]);
        if (lstat(p, &st) == 0)
            fail_msg("leftover %s is still there after the lock", p);
    }
    for (size_t i = 0; i < VSA_ARRAY_LEN(kept); i++) {
        struct stat st;

        snprintf(p, sizeof(p), "%s/%s", tmpdir, kept[i]);
        if (lstat(p, &st) != 0)
            fail_msg("%s was removed", p);
    }
    snprintf(p, sizeof(p), "%s/victim", tmpdir);
    text = read_all(p, &size);
    assert_int_equal(size, 4);
    assert_memory_equal(text, "keep", 4);
    free(text);
    assert_int_equal(ctl_store_load(path, &loaded, &em), 0);
    assert_true(json_equal(doc, loaded));
    json_decref(loaded);
    close(fd);
    json_decref(doc);
}

/* A leftover with the saver's own temporary name (a dead process of the
 * same pid): a symbolic link (never written through) or a file. */
static void test_save_over_leftover(void **state)
{
    char path[512], tmp[600], victim[512];
    struct vsa_errmsg em;
    json_t *doc = ctl_default_config(), *loaded = NULL;
    char *text;
    size_t size;
    int rc;

    (void)state;
    snprintf(path, sizeof(path), "%s/config.json", tmpdir);
    snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
    snprintf(victim, sizeof(victim), "%s/victim", tmpdir);
    write_bytes(victim, "keep", 4);
    assert_int_equal(symlink(victim, tmp), 0);
    rc = ctl_store_save(path, doc, &em);
    if (rc != 0)
        fail_msg("save over a leftover link: rc %d: %s", rc, em.msg);
    text = read_all(victim, &size);
    assert_int_equal(size, 4);
    assert_memory_equal(text, "keep", 4);
    free(text);
    write_bytes(tmp, "junk", 4);
    assert_int_equal(ctl_store_save(path, doc, &em), 0);
    assert_int_equal(ctl_store_load(path, &loaded, &em), 0);
    assert_true(json_equal(doc, loaded));
    json_decref(loaded);
    assert_int_equal(count_others(tmpdir, "config.json"), 1); /* victim */
    json_decref(doc);
}

/* Every directory a save (or the lock) creates is synced into its parent,
 * and the last one after the rename. */
static void test_new_dirs_synced(void **state)
{
    char path[512], p[512], file[PATH_MAX];
    static const char *const dirs[] = { "", "/a", "/a/b", "/a/b/c" };
    struct vsa_errmsg em;
    json_t *doc = ctl_default_config();
    int fd;

    (void)state;
    snprintf(path, sizeof(path), "%s/a/b/c/config.json", tmpdir);
    n_synced = 0;
    assert_int_equal(ctl_store_save(path, doc, &em), 0);
    for (size_t i = 0; i < VSA_ARRAY_LEN(dirs); i++) {
        snprintf(p, sizeof(p), "%s%s", tmpdir, dirs[i]);
        if (!was_synced(p))
            fail_msg("%s was not synced after the save created %s", p,
                     path);
    }

    snprintf(path, sizeof(path), "%s/x/y/config.json", tmpdir);
    n_synced = 0;
    fd = ctl_store_lock(path, file, sizeof(file), &em);
    assert_true(fd >= 0);
    assert_true(was_synced(tmpdir));
    snprintf(p, sizeof(p), "%s/x", tmpdir);
    assert_true(was_synced(p));
    close(fd);
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_creates_dirs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_save_invalid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_save_readonly_dir, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_save_dir_sync_fails, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_save_bad_parent, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_save_through_symlink, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_lock_through_symlink, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_resolve, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lock_removes_leftovers, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_save_over_leftover, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_new_dirs_synced, setup,
                                        teardown),
    };

    return cmocka_run_group_tests_name("tools-store", tests, NULL, NULL);
}
