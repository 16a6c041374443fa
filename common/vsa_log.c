/* SPDX-License-Identifier: BSD-3-Clause */
#include "common/vsa_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/vsa_time.h"

static _Atomic int log_level = VSA_LOG_INFO;
static vsa_log_hook_fn *_Atomic log_hook;

static const char *const level_names[] = { "ERR", "WARN", "INFO", "DEBUG" };

void vsa_log_set_level(enum vsa_log_level level)
{
    atomic_store(&log_level, (int)level);
}

enum vsa_log_level vsa_log_get_level(void)
{
    return (enum vsa_log_level)atomic_load_explicit(&log_level,
                                                    memory_order_relaxed);
}

void vsa_log_set_hook(vsa_log_hook_fn *hook)
{
    atomic_store(&log_hook, hook);
}

void vsa_log_emit(enum vsa_log_level level, const char *module,
                  const char *fmt, ...)
{
    char msg[1024];
    char line[1200];
    va_list ap;
    vsa_log_hook_fn *hook;
    struct timespec ts;
    struct tm tm;
    int n;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    hook = atomic_load(&log_hook);
    if (hook) {
        hook(level, module, msg);
        return;
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = snprintf(line, sizeof(line),
                 "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s %s: %s\n",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                 tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
                 level_names[level & 3], module, msg);
    if (n > (int)sizeof(line) - 1)
        n = (int)sizeof(line) - 1;
    if (write(STDERR_FILENO, line, (size_t)n) < 0) {
        /* nothing sensible to do if stderr is gone */
    }
}

bool vsa_ratelimit_allow(struct vsa_ratelimit *rl)
{
    uint64_t now = vsa_time_now_ms();
    uint64_t start = atomic_load_explicit(&rl->window_start_ms,
                                          memory_order_relaxed);

    /* now < start: the window opened at clock 0 (stored as 1) or another
     * thread opened it with a later reading; we are inside it. */
    if (start == 0 ||
        (now >= start && now - start >= (uint64_t)rl->period_s * 1000u)) {
        if (atomic_compare_exchange_strong(&rl->window_start_ms, &start,
                                           now ? now : 1)) {
            uint64_t lost = atomic_exchange(&rl->suppressed, 0);
            atomic_store(&rl->used, 0);
            if (lost)
                vsa_log_emit(VSA_LOG_WARN, "ratelimit",
                             "%llu similar messages suppressed",
                             (unsigned long long)lost);
        }
    }
    if (atomic_fetch_add(&rl->used, 1) < rl->burst)
        return true;
    atomic_fetch_add(&rl->suppressed, 1);
    return false;
}
