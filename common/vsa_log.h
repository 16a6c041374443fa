/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vsa_log.h — logging for every module, with rate limiting for anything a
 * guest or the network can trigger.
 *
 * Usage, once per .c file:
 *     VSA_LOG_MODULE(vswitch_fdb);
 *     VSA_LOG(INFO, "switch %s created", name);
 *     static struct vsa_ratelimit rl = VSA_RATELIMIT_INIT(5, 10);  // 5 msgs / 10 s
 *     VSA_LOG_RL(&rl, WARN, "channel %u: bad ring index %u", id, idx);
 *
 * The fast path never logs: it counts.  Logs go to stderr with a level and a
 * module name; the level threshold is process-wide (vsa_log_set_level), and
 * tests can install a capture hook (vsa_log_set_hook) to assert on messages.
 *
 * Thread-safety: any thread may log; each message is one write(2).  A rate
 * limiter is a small lock-free token bucket and may be shared by threads.
 */
#ifndef VSA_LOG_H
#define VSA_LOG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/vsa_compiler.h"

enum vsa_log_level {
    VSA_LOG_ERR = 0,
    VSA_LOG_WARN = 1,
    VSA_LOG_INFO = 2,
    VSA_LOG_DEBUG = 3,
};

typedef void vsa_log_hook_fn(enum vsa_log_level level, const char *module,
                             const char *msg);

void vsa_log_set_level(enum vsa_log_level level);
enum vsa_log_level vsa_log_get_level(void);
/* Installs a hook that receives every emitted message (NULL removes it). */
void vsa_log_set_hook(vsa_log_hook_fn *hook);

void vsa_log_emit(enum vsa_log_level level, const char *module,
                  const char *fmt, ...) VSA_PRINTF(3, 4);

#define VSA_LOG_MODULE(name) \
    static const char vsa_log_module__[] VSA_UNUSED = #name

#define VSA_LOG(level, ...)                                                 \
    do {                                                                    \
        if (VSA_LOG_##level <= vsa_log_get_level())                         \
            vsa_log_emit(VSA_LOG_##level, vsa_log_module__, __VA_ARGS__);   \
    } while (0)

/* Token bucket: at most `burst` messages per `period_s` seconds. */
struct vsa_ratelimit {
    uint32_t burst;
    uint32_t period_s;
    _Atomic uint64_t window_start_ms;
    _Atomic uint32_t used;
    _Atomic uint64_t suppressed;
};

#define VSA_RATELIMIT_INIT(burst_, period_) \
    { .burst = (burst_), .period_s = (period_) }

/* Returns true if a message may be emitted now. */
bool vsa_ratelimit_allow(struct vsa_ratelimit *rl);

#define VSA_LOG_RL(rl, level, ...)                                          \
    do {                                                                    \
        if (VSA_LOG_##level <= vsa_log_get_level() &&                       \
            vsa_ratelimit_allow(rl))                                        \
            vsa_log_emit(VSA_LOG_##level, vsa_log_module__, __VA_ARGS__);   \
    } while (0)

#endif /* VSA_LOG_H */
