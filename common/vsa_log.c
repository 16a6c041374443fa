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

void vsa_ratelimit_init(struct vsa_ratelimit *rl, uint32_t burst,
                        uint32_t period_s, const char *label)
{
    rl->burst = burst;
    rl->period_s = period_s;
    atomic_store(&rl->window_start_ms, 0);
    atomic_store(&rl->used, 0);
    atomic_store(&rl->suppressed, 0);
    vsa_ratelimit_set_label(rl, label);
}

void vsa_ratelimit_set_label(struct vsa_ratelimit *rl, const char *label)
{
    snprintf(rl->label, sizeof(rl->label), "%s", label ? label : "");
}

/* One token from `rl`.  *lost: how many messages the window that this
 * call closed had suppressed (0: no window closed, or nothing lost). */
static bool rl_take(struct vsa_ratelimit *rl, uint64_t *lost)
{
    uint64_t now = vsa_time_now_ms();
    uint64_t start = atomic_load_explicit(&rl->window_start_ms,
                                          memory_order_relaxed);

    *lost = 0;
    /* now < start: the window opened at clock 0 (stored as 1) or another
     * thread opened it with a later reading; we are inside it. */
    if (start == 0 ||
        (now >= start && now - start >= (uint64_t)rl->period_s * 1000u)) {
        if (atomic_compare_exchange_strong(&rl->window_start_ms, &start,
                                           now ? now : 1)) {
            *lost = atomic_exchange(&rl->suppressed, 0);
            atomic_store(&rl->used, 0);
        }
    }
    if (atomic_fetch_add(&rl->used, 1) < rl->burst)
        return true;
    atomic_fetch_add(&rl->suppressed, 1);
    return false;
}

static void rl_report(const struct vsa_ratelimit *rl, const char *module,
                      uint64_t lost)
{
    if (rl->label[0])
        vsa_log_emit(VSA_LOG_WARN, module, "%s: %llu similar messages "
                     "suppressed", rl->label, (unsigned long long)lost);
    else
        vsa_log_emit(VSA_LOG_WARN, module, "%llu similar messages "
                     "suppressed", (unsigned long long)lost);
}

/* One token from `rl`, reporting what its closed window suppressed. */
static bool rl_take_report(struct vsa_ratelimit *rl, const char *module)
{
    uint64_t lost;
    bool ok = rl_take(rl, &lost);

    if (lost)
        rl_report(rl, module, lost);
    return ok;
}

bool vsa_ratelimit_allow(struct vsa_ratelimit *rl)
{
    return rl_take_report(rl, "ratelimit");
}

bool vsa_ratelimit_allow_pair(struct vsa_ratelimit *own,
                              struct vsa_ratelimit *all, const char *module)
{
    uint64_t lost, all_lost;
    bool ok;

    if (!module)
        module = "ratelimit";
    if (!own || !all) {
        struct vsa_ratelimit *rl = own ? own : all;

        return rl ? rl_take_report(rl, module) : true;
    }
    ok = rl_take(own, &lost);
    if (lost) {
        /* The VM's report is a line its guest caused, too. */
        bool report = rl_take(all, &all_lost);

        if (all_lost)
            rl_report(all, module, all_lost);
        if (report)
            rl_report(own, module, lost);
        else /* that take counted 1 for the report: count its content */
            atomic_fetch_add(&all->suppressed, lost - 1);
    }
    return ok && rl_take_report(all, module);
}
