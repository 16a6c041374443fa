/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ctl_store.h — persistence of the configuration document.
 *
 * Design
 * ------
 * The file holds the document and nothing else (no wrapper, no checksum):
 * indented JSON with sorted keys, so that it diffs well and an operator can
 * read it.  The writer ends the file with the document's closing brace, no
 * newline, so every proper prefix of a written file is an incomplete JSON
 * text: a truncated file can never parse.
 *
 * Damage detection on load is therefore (1) a strict JSON parse (trailing
 * bytes after the document, duplicate keys and invalid UTF-8 are errors)
 * and (2) the full ctl_config_parse() validation.  A damaged file is never
 * partially accepted: vesperd refuses to start and prints the path and the
 * fault (JSON line/column or the validation message).  A missing file is
 * not damage: load returns -ENOENT and the caller starts from
 * ctl_default_config() and persists it.
 *
 * Atomic save: the document is validated, written to `<path>.tmp.<pid>` in
 * the same directory (mode 0640), fsync'ed, renamed over `path`, and then
 * the directory is fsync'ed so the rename itself is durable.  At every
 * instant `path` holds either the old or the new complete document; on any
 * failure the temporary file is removed and the old file is untouched.
 * Missing parent directories are created with mode 0750.
 *
 * XXX: jansson 2.14's parser reports some of its allocation failures as
 * syntax errors ("string or '}' expected"), so under memory exhaustion a
 * sound file can be reported as damaged (-EINVAL).  The failure is still
 * clean (nothing is accepted, nothing leaks), only the diagnosis is wrong;
 * the ones jansson does flag are returned as -ENOMEM.
 *
 * Limits: a file larger than CTL_STORE_MAX_SIZE is refused (-EFBIG) before
 * it is read.
 *
 * Thread-safety: no shared state.  Two savers of the same path in one
 * process must be serialised by the caller (they would share a temporary
 * name); savers in different processes are safe (pid in the name) and the
 * last rename wins.
 */
#ifndef CTL_STORE_H
#define CTL_STORE_H

#include <jansson.h>

#include "common/vsa_errmsg.h"

#define CTL_STORE_MAX_SIZE (64u << 20) /* bytes */
#define CTL_STORE_FILE_MODE 0640
#define CTL_STORE_DIR_MODE 0750

/* Reads and validates the document at `path`.  Returns 0 with a new
 * reference in *doc; -ENOENT if the file does not exist; -EINVAL if it is
 * damaged or invalid (`em` names the path and the fault); -EFBIG; -ENOMEM;
 * another -errno if it cannot be read.  *doc is untouched on failure. */
int ctl_store_load(const char *path, json_t **doc, struct vsa_errmsg *em);

/* Validates `doc` and replaces the file at `path` atomically.  Returns 0;
 * -EINVAL (invalid document, nothing written); -ENOMEM; or the -errno of
 * the failed step (named in `em` with the path).  The old file is intact on
 * any failure.  Returns 1 (with `em` saying so) when the new file is in
 * place but its directory could not be synced: it is what a restart
 * reads, only a crash of the machine could still bring the old one back,
 * so the caller goes on as saved and warns. */
int ctl_store_save(const char *path, const json_t *doc,
                   struct vsa_errmsg *em);

/* Locks the configuration at `path` for this process: an exclusive
 * flock(2) on "<path>.lock" (the path resolved if the file exists; created
 * mode 0600, its directory as ctl_store_save would), which the kernel
 * drops when the process ends, however it ends.  One daemon per configuration file: two would each
 * overwrite what the other saved.  Returns the lock's file descriptor (keep
 * it open), -EBUSY if another process holds it (em names the file), or
 * another -errno. */
int ctl_store_lock(const char *path, struct vsa_errmsg *em);

#endif /* CTL_STORE_H */
