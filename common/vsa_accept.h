/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vsa_accept.h — accept4() that never leaves a connection queued for want
 * of a file descriptor.
 *
 * A level-triggered listening socket stays readable while a connection
 * waits.  When accept4() fails with EMFILE or ENFILE the connection stays
 * queued, so the event loop wakes again at once, and again: the control
 * thread spins while every client times out.  As libuv and nginx do, one
 * descriptor is held in reserve (/dev/null).  At EMFILE/ENFILE it is
 * closed, the waiting connection taken into its place and handed back with
 * *shed set: the caller tells the peer why, if it can, and closes it with
 * vsa_accept_shed_done(), which takes the reserve again.  Each waiting
 * connection is so answered and gone, and the loop does not spin.
 *
 * Thread-safety: one reserve per process, used by one thread (vesperd's
 * control thread).  Without vsa_accept_reserve() vsa_accept() is accept4().
 */
#ifndef VSA_ACCEPT_H
#define VSA_ACCEPT_H

#include <stdbool.h>

/* Opens the reserve descriptor (idempotent).  0 or -errno; after a
 * failure, or when another process took the slot it freed at ENFILE, each
 * vsa_accept() tries again first. */
int vsa_accept_reserve(void);

/* accept4(lfd, NULL, NULL, flags): the new descriptor, or -errno (-EAGAIN:
 * nothing waiting).  *shed is true when the descriptor is the reserve's,
 * taken because the process or the system is out of descriptors: answer
 * the peer and close it with vsa_accept_shed_done() before anything else
 * opens a descriptor. */
int vsa_accept(int lfd, int flags, bool *shed);

/* Closes a shed connection and takes the reserve again. */
void vsa_accept_shed_done(int fd);

/* Raises the soft limit on open descriptors to the hard limit (a host
 * with many VMs holds several per VM NIC).  The soft limit after the call,
 * or -errno. */
long vsa_raise_nofile_limit(void);

#endif /* VSA_ACCEPT_H */
