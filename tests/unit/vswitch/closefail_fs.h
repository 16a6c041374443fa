/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * closefail_fs.h — for tests only: a real filesystem (FUSE, spoken on
 * /dev/fuse by a thread of the test, no libfuse) whose close(2) fails.
 *
 * NFS can report a failed write only when the file is closed: the kernel
 * calls the filesystem's flush on close(2), NFS writes the data back
 * there, and its error (a full disk or quota on the server, an I/O error)
 * is close's.  FUSE passes close(2) to its server the same way
 * (FUSE_FLUSH), so a server that answers it with an error gives the same
 * close(2) failure on a machine without NFS.  Everything else succeeds:
 * the filesystem holds one regular file, made by open(O_CREAT) under any
 * name in its root, whose writes are counted (not kept).
 */
#ifndef VSW_TEST_CLOSEFAIL_FS_H
#define VSW_TEST_CLOSEFAIL_FS_H

#include <stdint.h>

struct closefail_fs;

/* Mounts the filesystem on `dir` (an existing directory) in the caller's
 * mount namespace; every close(2) of its file fails with close_errno.
 * 0, or -errno: -ENOENT or -ENODEV when there is no FUSE here. */
int closefail_fs_mount(const char *dir, int close_errno,
                       struct closefail_fs **out);
/* The size of the file: the bytes written at the highest offset. */
uint64_t closefail_fs_size(struct closefail_fs *fs);
/* How many closes failed. */
unsigned closefail_fs_failed_closes(struct closefail_fs *fs);
/* Unmounts it (lazily) and stops its thread; the file must be closed. */
void closefail_fs_unmount(struct closefail_fs *fs);

#endif /* VSW_TEST_CLOSEFAIL_FS_H */
