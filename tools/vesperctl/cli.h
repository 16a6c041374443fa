/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cli.h — vesperctl's command table and argument parser.
 *
 * The parser turns a command line into one JSON-RPC request (docs/rpc.md):
 * a method name and a params object, plus what vesperctl needs locally to
 * talk to vesperd (socket path, timeout) and to show the answer (a "view").
 * It never touches the network, the terminal or the environment, so the
 * same code runs in vesperctl, in its unit tests and under libFuzzer
 * (tests/fuzz/fuzz_ctl_cmd.c).  The one outside input it reads is the
 * current directory, to make `capture -w FILE` absolute.
 *
 * Design:
 *   - Commands are a static table (cli_cmds.c): words ("switch add", or
 *     three for "vm nic add"), the method, at most two positional
 *     arguments and a table of options.  A one-word command may share its
 *     word with a group ("capture PORT" and "capture stop PORT"): a word
 *     after it that names one of the group's commands selects that one,
 *     anything else the one-word command.  An
 *     option either maps to one params key ("--fdb-max" -> "fdb_max") or is
 *     kept aside for the command's finish hook, which applies the rules that
 *     span several options (--access vs --trunk, what --type external needs)
 *     and builds composite values such as the `vlan` object.
 *   - Values are checked locally where the rule is obvious and fixed by
 *     docs/config.md: integer ranges, VLAN IDs (1..4094), VLAN sets, MAC
 *     syntax, CIDRs, object and interface names.  vesperd checks everything
 *     again; the local check only gives a better message and exit code 2.
 *     Every message names the offending argument as the user spelled it.
 *   - Global options (--socket, --json, --timeout, --help) are accepted
 *     before the command and anywhere after it.  "--opt=value" and
 *     "--opt value" are both accepted; "--" ends the options.  -h/--help
 *     is help wherever an option may stand (and then wins over any other
 *     mistake), but not as an option's value ("--name -h": "needs a
 *     value") nor after "--".
 *
 * Limits: arguments are C strings of any length; values copied into params
 * must be valid UTF-8 (JSON).  Echoed values are cut at 64 bytes.
 *
 * Thread-safety: no shared mutable state; a request belongs to its caller.
 */
#ifndef CTL_CLI_H
#define CTL_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "common/vsa_errmsg.h"

#define CTL_CLI_DEFAULT_SOCKET "/run/vesper/vesperd.sock"
#define CTL_CLI_SOCKET_ENV "VESPER_SOCKET"
#define CTL_CLI_DEFAULT_TIMEOUT_MS 30000u
#define CTL_CLI_MAX_TIMEOUT_MS 86400000u /* one day */

#define CTL_CLI_NAME_MAX 31    /* switch, port, VM, NIC names (config.md) */
/* A port reference may also name an uplink port, "<switch>.uplink", or a
 * VM NIC's port, "<vm>.<nic>". */
#define CTL_CLI_PORT_REF_MAX (2 * CTL_CLI_NAME_MAX + 1)
#define CTL_CLI_IFNAME_MAX 15  /* kernel interface names (IFNAMSIZ - 1) */
#define CTL_CLI_VID_MIN 1
#define CTL_CLI_VID_MAX 4094
/* Bytes of a VLAN set string: more than any set takes written canonically
 * (the longest, the 2047 even VIDs, takes 9,682), so that every set vesperd
 * holds and prints can be given back. */
#define CTL_CLI_VLAN_SET_MAX 16384

/* Exit codes of vesperctl. */
enum ctl_cli_exit {
    CTL_EXIT_OK = 0,
    CTL_EXIT_FAIL = 1,        /* vesperd refused, or answered nonsense */
    CTL_EXIT_USAGE = 2,       /* bad command line */
    CTL_EXIT_UNREACHABLE = 3, /* cannot connect, connection lost, timeout */
};

enum ctl_cli_action {
    CTL_CLI_ACT_RPC,     /* send one request, show its result */
    CTL_CLI_ACT_CAPTURE, /* capture.start, poll capture.status, capture.stop */
    CTL_CLI_ACT_HELP,    /* print usage; no request */
};

/* How a result is shown without --json. */
enum ctl_cli_view {
    CTL_CLI_VIEW_NONE,        /* mutating commands: silent on success */
    CTL_CLI_VIEW_FIELDS,      /* "key: value" lines (show, info) */
    CTL_CLI_VIEW_SWITCH_LIST, /* NAME TYPE PORTS FDB */
    CTL_CLI_VIEW_PORT_LIST,   /* NAME SWITCH CLASS VLAN LINK */
    CTL_CLI_VIEW_FDB,         /* VLAN MAC PORT TYPE AGE */
    CTL_CLI_VIEW_FLUSHED,     /* "flushed N entries" */
    CTL_CLI_VIEW_STATS,       /* per-port counters (+ drop reasons) */
    CTL_CLI_VIEW_CONFIG,      /* result.config as indented JSON, always */
    CTL_CLI_VIEW_CAPTURE,     /* "captured N frames to FILE" */
    CTL_CLI_VIEW_CAPTURE_STOP, /* "stopped capture N of PORT: ..." */
    CTL_CLI_VIEW_CAPTURE_LIST, /* ID PORT DIRECTION FRAMES STATE FILE */
    CTL_CLI_VIEW_VM_LIST,     /* NAME STATE NICS */
    CTL_CLI_VIEW_VM_SHOW,     /* fields, a channel table, counters */
};

struct ctl_cli_cmd; /* an entry of the command table (opaque) */

/* The outcome of vesperctl_parse(). */
struct ctl_cli_req {
    enum ctl_cli_action action;
    const struct ctl_cli_cmd *cmd; /* NULL: global or group help */
    const char *help_group;        /* help for every command of a group */
    const char *method;            /* JSON-RPC method (static string) */
    json_t *params;                /* owned params object; NULL for help */
    enum ctl_cli_view view;
    const char *socket_path;       /* --socket (into argv); NULL: default */
    bool json;                     /* --json */
    uint32_t timeout_ms;           /* --timeout, per request */
    bool timeout_given;            /* --timeout was given (once only) */
    uint64_t capture_count;        /* capture -c; 0 = until stopped */
    uint32_t capture_duration_s;   /* capture --duration; 0 = none */
};

/*
 * Parses argv (argv[0] is the program name and is ignored) into *req.
 * Returns 0 (req->action says what to do; release with ctl_cli_req_release),
 * -EINVAL for a usage error (em names the bad argument; req->cmd is set when
 * the command was recognised, for the hint) or -ENOMEM.  On error req holds
 * no resources.
 */
int vesperctl_parse(int argc, char **argv, struct ctl_cli_req *req,
                    struct vsa_errmsg *em);

/* Frees what a successful vesperctl_parse() left in req.  Idempotent. */
void ctl_cli_req_release(struct ctl_cli_req *req);

/* Prints the usage text that req asks for (global, group or command). */
void ctl_cli_print_help(FILE *f, const struct ctl_cli_req *req);

/* Prints "Try 'vesperctl help CMD'." for a usage error. */
void ctl_cli_print_hint(FILE *f, const struct ctl_cli_req *req);

/* "switch add", "stats"; "" for NULL. */
const char *ctl_cli_cmd_group(const struct ctl_cli_cmd *cmd);
const char *ctl_cli_cmd_name(const struct ctl_cli_cmd *cmd);

/*
 * Value checks, shared by the parser and its tests.  Each returns 0 or
 * -EINVAL and then fills em with a reason that quotes the value (the caller
 * prefixes the option name).
 */

/* Decimal digits only (no sign, no spaces), min <= value <= max.
 * -EINVAL: not a number; -ERANGE: out of range (a negative number too). */
int ctl_cli_parse_uint(const char *s, uint64_t min, uint64_t max,
                       uint64_t *out, struct vsa_errmsg *em);

/* A VLAN ID, 1..4094.  -EINVAL or -ERANGE as above. */
int ctl_cli_parse_vid(const char *s, uint16_t *out, struct vsa_errmsg *em);

/* A VLAN set: comma-separated IDs and ranges ("1-10,20"), each in 1..4094,
 * low <= high, no spaces, at most CTL_CLI_VLAN_SET_MAX bytes. */
int ctl_cli_check_vlan_set(const char *s, struct vsa_errmsg *em);

/* 1..max_len characters of [A-Za-z0-9_.-]. */
int ctl_cli_check_name(const char *s, size_t max_len, struct vsa_errmsg *em);

/* A kernel interface name: 1..15 printable ASCII bytes, none of '/', ':'
 * or space, not "." or "..". */
int ctl_cli_check_ifname(const char *s, struct vsa_errmsg *em);

/* An IPv4 or IPv6 address with a prefix length ("10.0.0.1/24"). */
int ctl_cli_check_cidr(const char *s, struct vsa_errmsg *em);

/* True if s is well-formed UTF-8 (JSON strings must be). */
bool ctl_cli_utf8_ok(const char *s);

#endif /* CTL_CLI_H */
