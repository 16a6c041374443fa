/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vsa_errmsg.h — a human-readable reason for a failed control operation.
 *
 * Control-plane functions return 0 or a negative errno; any of them that can
 * be reached from the CLI also takes an optional `struct vsa_errmsg *` and
 * fills it with a sentence naming what is wrong ("port 'p1': VLAN 4095 is
 * reserved"), the way the kernel's extack does.  NULL is always accepted.
 *
 * Thread-safety: an errmsg belongs to the caller; no shared state.
 */
#ifndef VSA_ERRMSG_H
#define VSA_ERRMSG_H

#include <stddef.h>

#include "common/vsa_compiler.h"

#define VSA_ERRMSG_SIZE 512

struct vsa_errmsg {
    char msg[VSA_ERRMSG_SIZE];
};

/* Sets the message (if em is not NULL) and returns `err` unchanged, so that
 * callers can write `return vsa_errmsg_set(em, -EINVAL, "bad %s", x);`. */
int vsa_errmsg_set(struct vsa_errmsg *em, int err, const char *fmt, ...)
    VSA_PRINTF(3, 4);

/* Prefixes the existing message with "<prefix>: ". */
void vsa_errmsg_prefix(struct vsa_errmsg *em, const char *fmt, ...)
    VSA_PRINTF(2, 3);

/* Appends "<suffix>" to the existing message (cut at the size). */
void vsa_errmsg_append(struct vsa_errmsg *em, const char *fmt, ...)
    VSA_PRINTF(2, 3);

/* Clears the message. */
static inline void vsa_errmsg_clear(struct vsa_errmsg *em)
{
    if (em)
        em->msg[0] = '\0';
}

#endif /* VSA_ERRMSG_H */
