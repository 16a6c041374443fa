/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ctl_private.h — helpers shared by the files of tools/ctl/ only.
 *
 * ctl_mutate must tell the RPC client which class of rule a rejected
 * document broke (-32001 dangling reference, -32002 duplicate, -32003
 * configuration rule, -32602 bad value).  The public parser reports only
 * -EINVAL and a message; ctl__config_parse() also returns the class.
 */
#ifndef CTL_PRIVATE_H
#define CTL_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "common/vsa_errmsg.h"
#include "tools/ctl/ctl_config.h"

enum ctl__fault {
    CTL__FAULT_NONE = 0,
    CTL__FAULT_NOMEM,       /* allocation failed */
    CTL__FAULT_VALUE,       /* wrong type, out of range, unknown key */
    CTL__FAULT_REFERENCE,   /* names a switch or port that does not exist */
    CTL__FAULT_DUPLICATE,   /* name, devargs, ifname, static entry taken */
    CTL__FAULT_RULE,        /* membership, VLAN, learn limit, size limits */
};

/* ctl_config_parse() that also reports the class of the fault.  With
 * by_name, messages name objects as an operator knows them (`port "p1"`,
 * `NIC "eth0" of VM "vm1"`, `static FDB entry MAC in VLAN V on switch
 * "s"`) rather than by their place in the document (`ports[3] ("p1")`,
 * `fdb_static[1]`): for a document ctl_mutate built, which its client
 * never saw. */
int ctl__config_parse(const json_t *doc, struct ctl_config **out,
                      struct vsa_errmsg *em, enum ctl__fault *fault,
                      bool by_name);

/* "object", "array", "string", "integer", "real", "boolean", "null". */
const char *ctl__json_type_name(const json_t *v);

/* True if a failed json_load*() ran out of memory.  jansson 2.14 reports
 * some allocation failures of its parser with json_error_out_of_memory and
 * others with no message at all (every real syntax error has one). */
static inline bool ctl__json_load_oom(const json_error_t *err)
{
    return json_error_code(err) == json_error_out_of_memory ||
           err->text[0] == '\0';
}

/* Operator-supplied text echoed in a message: at most ~40 bytes, bytes
 * outside printable ASCII (and '"') replaced by '?'.  Returns buf. */
const char *ctl__safe_str(const char *s, char *buf, size_t size);

#endif /* CTL_PRIVATE_H */
