/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * logcap.h — captures log lines for unit tests that assert on them (one
 * copy per test program: static storage, include once).
 *
 *     n_logcap = 0;
 *     vsa_log_set_hook(logcap_hook);
 *     ...
 *     assert_int_equal(logcap_count("vm vm1: "), 1);
 *     vsa_log_set_hook(NULL);
 *
 * Lines past LOGCAP_MAX are counted in n_logcap but not kept; the
 * counting helpers fail the test then.
 */
#ifndef TESTS_LOGCAP_H
#define TESTS_LOGCAP_H

#include <stdio.h>
#include <string.h>

#include "common/vsa_log.h"

#define LOGCAP_MAX 512

static struct {
    enum vsa_log_level level;
    char module[32];
    char msg[256];
} logcap[LOGCAP_MAX];
static unsigned n_logcap;

static void logcap_hook(enum vsa_log_level level, const char *module,
                        const char *msg)
{
    if (n_logcap < LOGCAP_MAX) {
        logcap[n_logcap].level = level;
        snprintf(logcap[n_logcap].module, sizeof(logcap[n_logcap].module),
                 "%s", module);
        snprintf(logcap[n_logcap].msg, sizeof(logcap[n_logcap].msg), "%s",
                 msg);
    }
    n_logcap++;
}

/* Captured lines that start with `prefix`. */
static inline unsigned logcap_count(const char *prefix)
{
    unsigned n = 0;

    assert_true(n_logcap <= LOGCAP_MAX);
    for (unsigned i = 0; i < n_logcap; i++)
        if (strncmp(logcap[i].msg, prefix, strlen(prefix)) == 0)
            n++;
    return n;
}

#endif /* TESTS_LOGCAP_H */
