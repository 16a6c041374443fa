/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vesperctl.h — the whole vesperctl program as a function, so that unit
 * tests run it in-process against a fake socket server.
 *
 * Flow: parse (cli.h) -> connect to --socket, $VESPER_SOCKET or
 * /run/vesper/vesperd.sock -> one request (or the capture loop) -> print the
 * result on `out`, errors on `err` as "vesperctl: <message>".
 *
 * Exit codes (enum ctl_cli_exit): 0 done; 1 vesperd answered with an error
 * or with something that is not a response; 2 usage error; 3 vesperd is
 * unreachable (cannot connect, the connection broke, or no answer within
 * --timeout).
 *
 * `capture` installs a SIGINT, SIGTERM and SIGHUP handler while it runs
 * (and restores the old ones): each stops the capture cleanly with
 * capture.stop.  It keeps its one connection to the end; vesperd ends the
 * capture if that connection closes first (vesperctl killed).
 *
 * Thread-safety: one call at a time per process (the SIGINT flag is
 * process-wide); everything else is local to the call.
 */
#ifndef VESPERCTL_H
#define VESPERCTL_H

#include <stdio.h>

/* Runs vesperctl with argv (argv[0] is the program name); returns the exit
 * code. */
int vesperctl_main(int argc, char **argv, FILE *out, FILE *err);

#endif /* VESPERCTL_H */
