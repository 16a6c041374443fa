/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vsa_lockfile.h — one process per resource, by an exclusive flock(2) on a
 * lock file.
 *
 * vesperd holds one for its configuration file, its VM socket directory
 * and its NIC state directory (the control socket's), so that a second
 * vesperd given any of them refuses to start instead of sharing them.  The
 * kernel drops such a lock when its holder ends, however it ends (kill -9
 * included), so a stale lock file means nothing and is never removed.
 *
 * Thread-safety: none needed (a file descriptor per call).
 */
#ifndef VSA_LOCKFILE_H
#define VSA_LOCKFILE_H

#include <stdbool.h>

#include "common/vsa_errmsg.h"

/* Opens `path` (created mode 0600 if missing; close-on-exec, a symbolic
 * link refused) and locks it exclusively without waiting.  Returns the
 * descriptor, which the caller keeps open as long as it holds the
 * resource; -EBUSY if another open file holds the lock (em untouched: the
 * caller says what the lock stands for); another -errno with em naming
 * the step that failed. */
int vsa_lockfile_take(const char *path, struct vsa_errmsg *em);

/* True if `path` exists and another open file holds its lock.  Creates
 * nothing and holds nothing when it returns (the probe takes the lock for
 * an instant when it is free), so that a process can be refused before
 * it changes anything; the answer may be stale at once, vsa_lockfile_take
 * is the one that counts. */
bool vsa_lockfile_busy(const char *path);

#endif /* VSA_LOCKFILE_H */
