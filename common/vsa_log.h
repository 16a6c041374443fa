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
 * Rate limits per VM
 * ------------------
 * One bucket per file is not enough for what a guest can trigger: one
 * misbehaving VM would spend it and another VM's first real problem would
 * never be logged.  Such messages therefore go through two buckets: the
 * VM's own (a struct vsa_ratelimit embedded in the object that stands for
 * the guest: a partition, a port; set up with vsa_ratelimit_init and a
 * label naming it) AND the file's process-wide one, which caps what a
 * thousand VMs can write together:
 *     static struct vsa_ratelimit all_rl =
 *         VSA_RATELIMIT_INIT_LABEL(50, 10, "all VMs");
 *     vsa_ratelimit_init(&p->log_rl, 10, 10, "vm vm1");
 *     VSA_LOG_RL2(&p->log_rl, &all_rl, WARN, "vm %s: bad frame", p->name);
 * The VM's bucket is asked first, so a VM over its own budget does not draw
 * on the shared one (vsa_ratelimit_allow_pair).
 *
 * Every bucket counts what it suppressed and, on the first call after its
 * window ends, reports it in one WARN line: "N similar messages suppressed",
 * prefixed with the bucket's label when it has one ("vm vm1: 12 similar
 * messages suppressed").  A VM bucket's report is one more line its guest
 * caused, so it too needs the shared bucket; when that is empty the N
 * messages are added to the shared bucket's own count instead.
 *
 * Thread-safety: any thread may log; each message is one write(2).  A rate
 * limiter is a small lock-free token bucket and may be shared by threads.
 * Its label is written only by vsa_ratelimit_init / _set_label, which must
 * not run while another thread draws from the bucket.
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

/* Room for a label: "port " and a 63-character port name. */
#define VSA_RATELIMIT_LABEL_SIZE 72

/* Token bucket: at most `burst` messages per `period_s` seconds. */
struct vsa_ratelimit {
    uint32_t burst;
    uint32_t period_s;
    /* Whose messages these are ("vm vm1", "port vm1.eth0", "all VMs"), for
     * the suppression report; "" for none. */
    char label[VSA_RATELIMIT_LABEL_SIZE];
    _Atomic uint64_t window_start_ms;
    _Atomic uint32_t used;
    _Atomic uint64_t suppressed;
};

#define VSA_RATELIMIT_INIT(burst_, period_) \
    { .burst = (burst_), .period_s = (period_) }
#define VSA_RATELIMIT_INIT_LABEL(burst_, period_, label_) \
    { .burst = (burst_), .period_s = (period_), .label = label_ }

/* (Re)initialises a bucket embedded in an object: full, nothing
 * suppressed, `label` copied (truncated to VSA_RATELIMIT_LABEL_SIZE - 1
 * characters; NULL: none). */
void vsa_ratelimit_init(struct vsa_ratelimit *rl, uint32_t burst,
                        uint32_t period_s, const char *label);
/* Replaces the label only (NULL: none); the budget is kept. */
void vsa_ratelimit_set_label(struct vsa_ratelimit *rl, const char *label);

/* Returns true if a message may be emitted now. */
bool vsa_ratelimit_allow(struct vsa_ratelimit *rl);
/* Returns true if a message may be emitted now by both buckets: `own`
 * (one VM's) is asked first and, only if it allows, `all` (process-wide),
 * so a VM over its own budget never draws on the shared one.  A message
 * `all` refuses still spent its token in `own`.  `own`'s suppression
 * report is emitted only if `all` allows it, under `module` (NULL:
 * "ratelimit"); otherwise its count moves to `all`'s report.  Either
 * bucket may be NULL (then only the other one counts; both NULL: true). */
bool vsa_ratelimit_allow_pair(struct vsa_ratelimit *own,
                              struct vsa_ratelimit *all, const char *module);

/* The "N similar messages suppressed" report goes under the caller's
 * module, so that it says whose messages were lost. */
#define VSA_LOG_RL(rl, level, ...)                                          \
    do {                                                                    \
        if (VSA_LOG_##level <= vsa_log_get_level() &&                       \
            vsa_ratelimit_allow_pair(rl, NULL, vsa_log_module__))           \
            vsa_log_emit(VSA_LOG_##level, vsa_log_module__, __VA_ARGS__);   \
    } while (0)

/* A message a guest can trigger: needs a token from its VM's bucket
 * `own_rl` AND from the process-wide `all_rl` (vsa_ratelimit_allow_pair). */
#define VSA_LOG_RL2(own_rl, all_rl, level, ...)                             \
    do {                                                                    \
        if (VSA_LOG_##level <= vsa_log_get_level() &&                       \
            vsa_ratelimit_allow_pair(own_rl, all_rl, vsa_log_module__))     \
            vsa_log_emit(VSA_LOG_##level, vsa_log_module__, __VA_ARGS__);   \
    } while (0)

#endif /* VSA_LOG_H */
