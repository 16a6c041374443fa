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
 * Atomic save: the document is validated, written to `<file>.tmp.<pid>` in
 * the same directory (mode 0640), fsync'ed, renamed over `file`, and then
 * the directory is fsync'ed so the rename itself is durable.  At every
 * instant `file` holds either the old or the new complete document; on any
 * failure the temporary file is removed and the old file is untouched.
 * Missing parent directories are created with mode 0750, each fsync'ed
 * into its parent.
 *
 * `file` is the path resolved (ctl_store_resolve): through a symbolic link
 * the save replaces the link's target, in the target's directory, and the
 * link stays.  vesperd resolves once, when it locks the file
 * (ctl_store_lock), and saves to that file (ctl_store_save_resolved), so
 * that a link changed meanwhile cannot make it write a file it has not
 * locked.  Messages name the path as the caller gave it.
 *
 * A process that dies between creating and renaming its temporary file
 * leaves it behind; ctl_store_lock removes such leftovers.
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
 * last rename wins, unless one of them takes the lock meanwhile: that
 * removes the other's temporary file and makes its save fail.
 */
#ifndef CTL_STORE_H
#define CTL_STORE_H

#include <stddef.h>

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

/* Validates `doc` and replaces the file at `path` (resolved now, its
 * missing directories created first) atomically.  Returns 0; -EINVAL
 * (invalid document, nothing written); -ENOMEM; or the -errno of the
 * failed step (named in `em` with the path).  The old file is intact on
 * any failure.  Returns 1 (with `em` saying so) when the new file is in
 * place but its directory could not be synced: it is what a restart
 * reads, only a crash of the machine could still bring the old one back,
 * so the caller goes on as saved and warns. */
int ctl_store_save(const char *path, const json_t *doc,
                   struct vsa_errmsg *em);

/* The same into `file`, `path` already resolved (ctl_store_lock,
 * ctl_store_resolve); `em` names `path`. */
int ctl_store_save_resolved(const char *path, const char *file,
                            const json_t *doc, struct vsa_errmsg *em);

/* Writes to `file` (`size` bytes) the absolute name of the file `path`
 * stands for, symbolic links followed (realpath(3)).  If it does not exist
 * yet: its resolved directory and its name; a dangling symbolic link
 * stands for its target, resolved the same way (the target's directory
 * must exist: vesperd creates no directory a link points into).  Creates
 * nothing.  Returns 0 or -errno (em names `path`: -ENOENT for a missing
 * directory, -ELOOP, -ENAMETOOLONG; -EISDIR for a missing name ending
 * in '/'). */
int ctl_store_resolve(const char *path, char *file, size_t size,
                      struct vsa_errmsg *em);

/* Locks the configuration at `path` for this process: creates its missing
 * directories as ctl_store_save would, resolves it into `file` (`size`
 * bytes; ctl_store_resolve), takes an exclusive flock(2) on
 * "<file>.lock" (created mode 0600), which the kernel drops when the
 * process ends, however it ends, and then removes the temporary files
 * "<file>.tmp.<digits>" that dead savers left (regular files and symbolic
 * links, never followed; best effort).  One daemon per configuration file:
 * two would each overwrite what the other saved.  On a read-only file
 * system (the lock file cannot be made: EROFS) the lock is taken on the
 * configuration file itself, opened read-only: such a vesperd runs its
 * configuration, and every change fails to save (EROFS, named).  Returns
 * the lock's file descriptor (keep it open), -EBUSY if another process
 * holds it (em names the path and the lock file), or another -errno. */
int ctl_store_lock(const char *path, char *file, size_t size,
                   struct vsa_errmsg *em);

#endif /* CTL_STORE_H */
