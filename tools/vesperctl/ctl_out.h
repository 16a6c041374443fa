/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ctl_out.h — how vesperctl shows a result (docs/cli.md has samples).
 *
 * With --json the result object is printed as indented JSON, unchanged.
 * Otherwise each command's view (enum ctl_cli_view) picks a table or a
 * "key: value" list; a result whose shape the view does not recognise is
 * printed as JSON rather than dropped.  `config show` always prints the
 * document itself as indented JSON.
 *
 * Drop totals: the DROPS column of `stats` sums the drop reasons that lose
 * frames; learn_limit, fdb_full and capture_full count events on frames
 * that were forwarded (docs/rpc.md), so they are listed per port but not
 * added up.
 *
 * Thread-safety: none needed; all state is on the stack.
 */
#ifndef CTL_OUT_H
#define CTL_OUT_H

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

#include "tools/vesperctl/cli.h"

/* Prints result as req asks.  Returns 0 or -ENOMEM. */
int ctl_out_result(FILE *out, const struct ctl_cli_req *req, json_t *result);

/* Prints the end of a capture: "captured N frames to FILE", or with json
 * {"id","port","file","captured"} and "ended" (why it ended, as vesperd
 * said it; left out if `ended` is NULL or ""). */
int ctl_out_capture(FILE *out, bool json, json_int_t id, const char *port,
                    const char *file, json_int_t captured, const char *ended);

/* True for the drop reasons that count events, not lost frames. */
bool ctl_out_drop_is_event(const char *reason);

#endif /* CTL_OUT_H */
