/* SPDX-License-Identifier: BSD-3-Clause */
#include "common/vsa_errmsg.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int vsa_errmsg_set(struct vsa_errmsg *em, int err, const char *fmt, ...)
{
    if (em) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(em->msg, sizeof(em->msg), fmt, ap);
        va_end(ap);
    }
    return err;
}

void vsa_errmsg_prefix(struct vsa_errmsg *em, const char *fmt, ...)
{
    char prefix[VSA_ERRMSG_SIZE];
    char both[2 * VSA_ERRMSG_SIZE + 2];
    va_list ap;

    if (!em)
        return;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    snprintf(both, sizeof(both), "%s: %s", prefix, em->msg);
    snprintf(em->msg, sizeof(em->msg), "%.*s", (int)sizeof(em->msg) - 1,
             both);
}

void vsa_errmsg_append(struct vsa_errmsg *em, const char *fmt, ...)
{
    size_t len;
    va_list ap;

    if (!em)
        return;
    len = strnlen(em->msg, sizeof(em->msg) - 1);
    va_start(ap, fmt);
    vsnprintf(em->msg + len, sizeof(em->msg) - len, fmt, ap);
    va_end(ap);
}
