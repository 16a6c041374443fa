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
 * document) fails cleanly and leaves the old file byte-identical.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/unit/tools/tools_test.h"
#include "tools/ctl/ctl_config.h"
#include "tools/ctl/ctl_store.h"

static char tmpdir[64];

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
    };

    return cmocka_run_group_tests_name("tools-store", tests, NULL, NULL);
}
