/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cli_private.h — the command table's types, shared by cli_cmds.c (the
 * table and its finish hooks) and cli_parse.c (the engine and the usage
 * printer).  Not for use outside tools/vesperctl/cli_*.c.
 */
#ifndef CTL_CLI_PRIVATE_H
#define CTL_CLI_PRIVATE_H

#include <stdint.h>

#include <jansson.h>

#include "common/vsa_errmsg.h"
#include "tools/vesperctl/cli.h"

/* What a value must look like, and how it goes into JSON. */
enum ctl_cli_type {
    CTL_CLI_T_FLAG,     /* no value; true */
    CTL_CLI_T_STRING,   /* non-empty UTF-8 string */
    CTL_CLI_T_NAME,     /* switch or new port name: 1..31 of [A-Za-z0-9_.-] */
    CTL_CLI_T_PORT,     /* reference to a port: same charset, 1..63 */
    CTL_CLI_T_HOSTIF,   /* host vNIC: a port name that is also a TAP name */
    CTL_CLI_T_IFNAME,   /* kernel interface name */
    CTL_CLI_T_UINT,     /* integer in [min, max] */
    CTL_CLI_T_VID,      /* VLAN ID 1..4094 */
    CTL_CLI_T_MAC,      /* MAC address, sent as lower-case xx:xx:... */
    CTL_CLI_T_UMAC,     /* unicast MAC address */
    CTL_CLI_T_VLAN_SET, /* "1-10,20" */
    CTL_CLI_T_CIDR,     /* address/prefix */
    CTL_CLI_T_CHOICE,   /* one of choices[] */
    CTL_CLI_T_PATH,     /* file name, made absolute against the cwd */
};

#define CTL_CLI_F_REQUIRED 0x1u /* the option must be given */
#define CTL_CLI_F_REPEAT   0x2u /* may repeat; params key holds an array */

struct ctl_cli_opt {
    const char *name;           /* "--mtu" or "-w"; NULL ends a table */
    const char *alias;          /* another spelling ("--write") or NULL */
    enum ctl_cli_type type;
    const char *key;            /* params key; NULL: kept for finish() */
    uint64_t min, max;          /* CTL_CLI_T_UINT */
    const char *const *choices; /* CTL_CLI_T_CHOICE, NULL-terminated */
    unsigned flags;             /* CTL_CLI_F_* */
    const char *metavar;        /* "N"; NULL for flags */
    const char *help;           /* one line */
};

struct ctl_cli_pos {
    const char *metavar; /* "NAME"; NULL: the command takes none */
    enum ctl_cli_type type;
    const char *key;     /* params key */
    bool optional;
};

/*
 * Applies the rules that span options.  `params` already holds every keyed
 * option and the positional; `aside` maps the primary name of each unkeyed
 * option ("--access") to its value.  May change req->method/view and fill
 * req->capture_*.  Returns 0, -EINVAL (em set) or -ENOMEM.
 */
typedef int ctl_cli_finish_fn(struct ctl_cli_req *req, json_t *params,
                              json_t *aside, struct vsa_errmsg *em);

struct ctl_cli_cmd {
    const char *group;    /* "switch"; NULL for a one-word command */
    const char *name;     /* "add", or the word itself ("stats"); in a
                           * group it may be two words ("nic add") */
    const char *method;
    enum ctl_cli_action action;
    enum ctl_cli_view view;
    const char *synopsis; /* arguments after the words, for usage */
    const char *summary;  /* one line, for usage */
    struct ctl_cli_pos pos;
    const struct ctl_cli_opt *opts; /* NULL or ended by a NULL name */
    ctl_cli_finish_fn *finish;      /* NULL: nothing to check */
    struct ctl_cli_pos pos2;        /* a second positional ("VM NIC") */
};

extern const struct ctl_cli_cmd ctl_cli__cmds[];
extern const size_t ctl_cli__n_cmds;

#endif /* CTL_CLI_PRIVATE_H */
