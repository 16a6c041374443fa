/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * replay_main.c — runs every file of the given directories (or files)
 * through LLVMFuzzerTestOneInput, the way `meson test` replays the fuzz
 * corpus and the kept crashers (tests/fuzz/regress/<target>/).
 *
 * Objective: a crasher found once stays fixed; a seed corpus keeps working.
 * Exit 0 when every input ran; a crash or sanitizer report fails the test,
 * and so do no argument and a directory that holds no input (files whose
 * names start with '.' are not inputs).
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf;
    long n;

    if (!f) {
        perror(path);
        return -1;
    }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc(n > 0 ? (size_t)n : 1);
    if (!buf || (n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n)) {
        fclose(f);
        free(buf);
        fprintf(stderr, "%s: read failed\n", path);
        return -1;
    }
    fclose(f);
    LLVMFuzzerTestOneInput(buf, (size_t)n);
    free(buf);
    return 0;
}

static int run_path(const char *path, unsigned *count)
{
    struct stat st;
    DIR *d;
    struct dirent *e;
    unsigned before = *count;
    int rc = 0;

    if (stat(path, &st) < 0) {
        perror(path);
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        (*count)++;
        return run_file(path);
    }
    d = opendir(path);
    if (!d) {
        perror(path);
        return -1;
    }
    while ((e = readdir(d)) != NULL) {
        char p[4096];
        if (e->d_name[0] == '.')
            continue;
        snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
        if (run_path(p, count) < 0)
            rc = -1;
    }
    closedir(d);
    if (*count == before) {
        /* a corpus emptied by mistake would otherwise replay nothing
         * and pass */
        fprintf(stderr, "%s: no input in this directory\n", path);
        return -1;
    }
    return rc;
}

int main(int argc, char **argv)
{
    unsigned count = 0;
    int rc = 0;

    if (argc < 2) {
        fprintf(stderr, "usage: %s DIR|FILE...\n", argv[0]);
        return 2;
    }
    for (int i = 1; i < argc; i++)
        if (run_path(argv[i], &count) < 0)
            rc = 1;
    /* An empty input always runs too, so a target is never untested. */
    LLVMFuzzerTestOneInput((const uint8_t *)"", 0);
    printf("replayed %u inputs\n", count + 1);
    return rc;
}
