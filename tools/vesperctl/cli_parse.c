/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cli_parse.c — the argument parser engine and the usage printer for the
 * command table in cli_cmds.c.
 */
#include "tools/vesperctl/cli.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/vsa_mac.h"
#include "tools/vesperctl/cli_private.h"

#define QUOTE_MAX 64
#define PROG "vesperctl"

/* Column where option help starts in usage text. */
#define HELP_COL 26

static bool streq(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

static bool is_help(const char *a)
{
    return streq(a, "--help") || streq(a, "-h");
}

/*
 * Does argument `arg` spell option `name`, as "name" or "name=value"?
 * The "=" form is for long options only.  *inline_val gets the value.
 */
static bool spells(const char *arg, const char *name, const char **inline_val)
{
    size_t n;

    if (!name)
        return false;
    n = strlen(name);
    if (strncmp(arg, name, n) != 0)
        return false;
    if (arg[n] == '\0') {
        *inline_val = NULL;
        return true;
    }
    if (arg[n] == '=' && name[1] == '-') {
        *inline_val = arg + n + 1;
        return true;
    }
    return false;
}

/* --- global options -------------------------------------------------- */

/* Parses "--timeout" seconds: digits with at most 3 decimals, > 0. */
static int parse_timeout(const char *s, uint32_t *ms, struct vsa_errmsg *em)
{
    uint64_t whole = 0, frac = 0;
    unsigned frac_digits = 0;
    const char *p = s;
    bool digits = false, negative = *p == '-';

    if (negative) /* a number, out of range */
        p++;
    for (; *p >= '0' && *p <= '9'; p++, digits = true)
        if (whole <= CTL_CLI_MAX_TIMEOUT_MS)
            whole = whole * 10 + (uint64_t)(*p - '0');
    if (*p == '.') {
        for (p++; *p >= '0' && *p <= '9'; p++, digits = true)
            if (frac_digits < 3) {
                frac = frac * 10 + (uint64_t)(*p - '0');
                frac_digits++;
            }
    }
    for (; frac_digits < 3; frac_digits++)
        frac *= 10;
    if (!digits || *p != '\0')
        return vsa_errmsg_set(em, -EINVAL,
                              "--timeout: '%.*s' is not a number of seconds",
                              QUOTE_MAX, s);
    whole = whole * 1000 + frac;
    if (negative || whole == 0 || whole > CTL_CLI_MAX_TIMEOUT_MS)
        return vsa_errmsg_set(em, -EINVAL,
                              "--timeout: %.*s is out of range (0.001..%u)",
                              QUOTE_MAX, s, CTL_CLI_MAX_TIMEOUT_MS / 1000);
    *ms = (uint32_t)whole;
    return 0;
}

static bool is_global_option(const char *arg)
{
    const char *v;

    return spells(arg, "--socket", &v) || spells(arg, "--json", &v) ||
           spells(arg, "--timeout", &v) || is_help(arg);
}

/* Is `arg` an option of cmd (or a global one)?  Used to tell a missing
 * value ("--mtu --aging 20") from a value that starts with '-'. */
static bool is_known_option(const struct ctl_cli_cmd *cmd, const char *arg)
{
    const char *v;

    if (arg[0] != '-' || arg[1] == '\0')
        return false;
    if (is_global_option(arg))
        return true;
    for (const struct ctl_cli_opt *o = cmd ? cmd->opts : NULL; o && o->name;
         o++)
        if (spells(arg, o->name, &v) || spells(arg, o->alias, &v))
            return true;
    return false;
}

/* Takes the value of the option at argv[*i] ("--x=v" or "--x v"). */
static int take_value(int argc, char **argv, int *i,
                      const struct ctl_cli_cmd *cmd, const char *spelled,
                      const char *inline_val, const char **out,
                      struct vsa_errmsg *em)
{
    if (inline_val) {
        *out = inline_val;
        return 0;
    }
    if (*i + 1 >= argc || is_known_option(cmd, argv[*i + 1]))
        return vsa_errmsg_set(em, -EINVAL, "%s needs a value", spelled);
    (*i)++;
    *out = argv[*i];
    return 0;
}

/*
 * Handles argv[*i] if it is a global option.  Returns 1 if handled, 0 if
 * it is not a global option, 2 for --help, or -EINVAL.
 */
static int parse_global(int argc, char **argv, int *i,
                        const struct ctl_cli_cmd *cmd,
                        struct ctl_cli_req *req, struct vsa_errmsg *em)
{
    const char *arg = argv[*i];
    const char *v;
    int rc;

    if (is_help(arg))
        return 2;
    if (spells(arg, "--json", &v)) {
        if (v)
            return vsa_errmsg_set(em, -EINVAL, "--json takes no value");
        if (req->json) /* as a command's flags given twice are */
            return vsa_errmsg_set(em, -EINVAL, "--json given twice");
        req->json = true;
        return 1;
    }
    /* given twice: refused like a command's options, as the last one
     * would win silently (an alias's --socket overridden by another) */
    if (spells(arg, "--socket", &v)) {
        if (req->socket_path)
            return vsa_errmsg_set(em, -EINVAL, "--socket given twice");
        rc = take_value(argc, argv, i, cmd, "--socket", v, &v, em);
        if (rc < 0)
            return rc;
        if (!*v)
            return vsa_errmsg_set(em, -EINVAL, "--socket: empty path");
        /* sockaddr_un.sun_path is 108 bytes with its NUL. */
        if (strlen(v) > 107)
            return vsa_errmsg_set(em, -EINVAL,
                                  "--socket: path is longer than 107 bytes");
        req->socket_path = v;
        return 1;
    }
    if (spells(arg, "--timeout", &v)) {
        if (req->timeout_given)
            return vsa_errmsg_set(em, -EINVAL, "--timeout given twice");
        rc = take_value(argc, argv, i, cmd, "--timeout", v, &v, em);
        if (rc < 0)
            return rc;
        rc = parse_timeout(v, &req->timeout_ms, em);
        req->timeout_given = true;
        return rc < 0 ? rc : 1;
    }
    return 0;
}

/* --- values ---------------------------------------------------------- */

static int make_string(const char *s, json_t **out, struct vsa_errmsg *em)
{
    if (!ctl_cli_utf8_ok(s))
        return vsa_errmsg_set(em, -EINVAL, "value is not valid UTF-8");
    *out = json_string(s);
    if (!*out)
        return vsa_errmsg_set(em, -ENOMEM, "out of memory");
    return 0;
}

static int make_path(const char *s, json_t **out, struct vsa_errmsg *em)
{
    char cwd[PATH_MAX];
    char *abs;
    int rc;

    if (!*s)
        return vsa_errmsg_set(em, -EINVAL, "empty file name");
    if (s[0] == '/')
        return make_string(s, out, em);
    if (!getcwd(cwd, sizeof(cwd)))
        return vsa_errmsg_set(em, -EINVAL, "cannot make '%.*s' absolute: %s",
                              QUOTE_MAX, s, strerror(errno));
    if (asprintf(&abs, "%s%s%s", cwd, streq(cwd, "/") ? "" : "/", s) < 0)
        return vsa_errmsg_set(em, -ENOMEM, "out of memory");
    if (strlen(abs) >= PATH_MAX)
        rc = vsa_errmsg_set(em, -EINVAL, "'%.*s': path is too long",
                            QUOTE_MAX, s);
    else
        rc = make_string(abs, out, em);
    free(abs);
    return rc;
}

/*
 * Checks value s of the given type and stores it as JSON in *out (new
 * reference).  Returns 0, -EINVAL (reason in em) or -ENOMEM.
 */
static int convert(enum ctl_cli_type type, uint64_t min, uint64_t max,
                   const char *const *choices, const char *s, json_t **out,
                   struct vsa_errmsg *em)
{
    struct vsa_mac mac;
    char buf[VSA_MAC_STRLEN];
    uint64_t u;
    uint16_t vid;
    int rc;

    *out = NULL;
    switch (type) {
    case CTL_CLI_T_FLAG:
        *out = json_true();
        break;
    case CTL_CLI_T_STRING:
        if (!*s)
            return vsa_errmsg_set(em, -EINVAL, "empty value");
        return make_string(s, out, em);
    case CTL_CLI_T_NAME:
        rc = ctl_cli_check_name(s, CTL_CLI_NAME_MAX, em);
        return rc < 0 ? rc : make_string(s, out, em);
    case CTL_CLI_T_PORT:
        rc = ctl_cli_check_name(s, CTL_CLI_PORT_REF_MAX, em);
        return rc < 0 ? rc : make_string(s, out, em);
    case CTL_CLI_T_HOSTIF:
        /* Both a TAP name and the host vNIC's port name. */
        rc = ctl_cli_check_name(s, CTL_CLI_IFNAME_MAX, em);
        if (rc == 0)
            rc = ctl_cli_check_ifname(s, em);
        return rc < 0 ? rc : make_string(s, out, em);
    case CTL_CLI_T_IFNAME:
        rc = ctl_cli_check_ifname(s, em);
        return rc < 0 ? rc : make_string(s, out, em);
    case CTL_CLI_T_UINT:
        if (ctl_cli_parse_uint(s, min, max, &u, em) < 0)
            return -EINVAL;
        *out = json_integer((json_int_t)u);
        break;
    case CTL_CLI_T_VID:
        if (ctl_cli_parse_vid(s, &vid, em) < 0)
            return -EINVAL;
        *out = json_integer(vid);
        break;
    case CTL_CLI_T_MAC:
    case CTL_CLI_T_UMAC:
        if (vsa_mac_parse(s, &mac) < 0)
            return vsa_errmsg_set(em, -EINVAL, "'%.*s' is not a MAC address "
                                  "(xx:xx:xx:xx:xx:xx)", QUOTE_MAX, s);
        if (type == CTL_CLI_T_UMAC &&
            (vsa_mac_is_multicast(&mac) || vsa_mac_is_zero(&mac)))
            return vsa_errmsg_set(em, -EINVAL,
                                  "%s is not a unicast MAC address",
                                  vsa_mac_format(&mac, buf));
        *out = json_string(vsa_mac_format(&mac, buf));
        break;
    case CTL_CLI_T_VLAN_SET:
        rc = ctl_cli_check_vlan_set(s, em);
        return rc < 0 ? rc : make_string(s, out, em);
    case CTL_CLI_T_CIDR:
        rc = ctl_cli_check_cidr(s, em);
        return rc < 0 ? rc : make_string(s, out, em);
    case CTL_CLI_T_CHOICE:
        for (const char *const *c = choices; c && *c; c++) {
            if (streq(*c, s)) {
                *out = json_string(*c);
                break;
            }
        }
        if (*out)
            break;
        vsa_errmsg_set(em, -EINVAL, "'%.*s' is not one of", QUOTE_MAX, s);
        for (const char *const *c = choices; c && *c; c++) {
            size_t n = strlen(em->msg);
            snprintf(em->msg + n, sizeof(em->msg) - n, "%s %s",
                     c == choices ? "" : ",", *c);
        }
        return -EINVAL;
    case CTL_CLI_T_PATH:
        return make_path(s, out, em);
    default:
        return vsa_errmsg_set(em, -EINVAL, "unsupported value type");
    }
    if (!*out)
        return vsa_errmsg_set(em, -ENOMEM, "out of memory");
    return 0;
}

/* Stores the value of option o (spelled as `spelled`) into params/aside. */
static int store_option(const struct ctl_cli_opt *o, const char *spelled,
                        const char *value, json_t *params, json_t *aside,
                        struct vsa_errmsg *em)
{
    json_t *target = o->key ? params : aside;
    const char *key = o->key ? o->key : o->name;
    json_t *old = json_object_get(target, key);
    json_t *v;
    int rc;

    if (old && !(o->flags & CTL_CLI_F_REPEAT))
        return vsa_errmsg_set(em, -EINVAL, "%s given twice", spelled);
    rc = convert(o->type, o->min, o->max, o->choices, value ? value : "",
                 &v, em);
    if (rc < 0) {
        if (rc != -ENOMEM)
            vsa_errmsg_prefix(em, "%s", spelled);
        return rc;
    }
    if (o->flags & CTL_CLI_F_REPEAT) {
        if (!old) {
            old = json_array();
            if (!old || json_object_set_new(target, key, old) < 0) {
                json_decref(v);
                return vsa_errmsg_set(em, -ENOMEM, "out of memory");
            }
        }
        if (json_array_append_new(old, v) < 0)
            return vsa_errmsg_set(em, -ENOMEM, "out of memory");
        return 0;
    }
    if (json_object_set_new(target, key, v) < 0)
        return vsa_errmsg_set(em, -ENOMEM, "out of memory");
    return 0;
}

static const struct ctl_cli_opt *find_option(const struct ctl_cli_cmd *cmd,
                                             const char *arg,
                                             const char **inline_val)
{
    for (const struct ctl_cli_opt *o = cmd->opts; o && o->name; o++)
        if (spells(arg, o->name, inline_val) ||
            spells(arg, o->alias, inline_val))
            return o;
    return NULL;
}

/*
 * Does the command line ask for help: -h or --help where an option may
 * stand, anywhere after the command's words?  The arguments are walked as
 * parse_command() reads them but without checking any value, so that help
 * wins over any other mistake on the line ("switch add --type bogus -h"),
 * while "-h" as the value of an option that takes one ("--name -h", an
 * error there: "--name needs a value") or after "--" (a name) is not a
 * request for help: a script's mistake must not pass as success.
 */
static bool help_requested(const struct ctl_cli_cmd *cmd, int argc,
                           char **argv, int i)
{
    for (; i < argc; i++) {
        const char *arg = argv[i], *v;
        const struct ctl_cli_opt *o;

        if (streq(arg, "--"))
            return false;
        if (arg[0] != '-' || arg[1] == '\0')
            continue; /* a positional */
        if (is_help(arg))
            return true;
        if (spells(arg, "--socket", &v) || spells(arg, "--timeout", &v)) {
            i += !v; /* the next argument is its value, whatever it is */
            continue;
        }
        o = find_option(cmd, arg, &v);
        if (o && o->type != CTL_CLI_T_FLAG && !v)
            i++;
    }
    return false;
}

/* "switch add" or "stats" into buf. */
static const char *full_name(const struct ctl_cli_cmd *cmd, char *buf,
                             size_t size)
{
    snprintf(buf, size, "%s%s%s", cmd->group ? cmd->group : "",
             cmd->group ? " " : "", cmd->name);
    return buf;
}

/* --- command lines ---------------------------------------------------- */

static int parse_command(const struct ctl_cli_cmd *cmd, int argc, char **argv,
                         int i, struct ctl_cli_req *req,
                         struct vsa_errmsg *em)
{
    json_t *params = NULL, *aside = NULL;
    bool pos_seen = false, pos2_seen = false, options_done = false;
    char name[64];
    int rc;

    req->cmd = cmd;
    req->method = cmd->method;
    req->action = cmd->action;
    req->view = cmd->view;
    if (help_requested(cmd, argc, argv, i)) {
        req->action = CTL_CLI_ACT_HELP;
        return 0;
    }

    params = json_object();
    aside = json_object();
    if (!params || !aside) {
        rc = vsa_errmsg_set(em, -ENOMEM, "out of memory");
        goto out_free;
    }
    for (; i < argc; i++) {
        const char *arg = argv[i];

        if (!options_done && arg[0] == '-' && arg[1] != '\0') {
            const struct ctl_cli_opt *o;
            const char *inline_val = NULL, *value = NULL;
            char spelled[64];

            if (streq(arg, "--")) {
                options_done = true;
                continue;
            }
            rc = parse_global(argc, argv, &i, cmd, req, em);
            if (rc < 0)
                goto out_free;
            if (rc > 0)
                continue;
            o = find_option(cmd, arg, &inline_val);
            if (!o) {
                rc = vsa_errmsg_set(em, -EINVAL,
                                    "unknown option '%.*s' for '%s'",
                                    QUOTE_MAX, arg,
                                    full_name(cmd, name, sizeof(name)));
                goto out_free;
            }
            /* The option as typed, without "=value". */
            snprintf(spelled, sizeof(spelled), "%.*s",
                     (int)(inline_val ? (size_t)(inline_val - 1 - arg)
                                      : strlen(arg)),
                     arg);
            if (o->type == CTL_CLI_T_FLAG) {
                if (inline_val) {
                    rc = vsa_errmsg_set(em, -EINVAL, "%s takes no value",
                                        spelled);
                    goto out_free;
                }
            } else {
                rc = take_value(argc, argv, &i, cmd, spelled, inline_val,
                                &value, em);
                if (rc < 0)
                    goto out_free;
            }
            rc = store_option(o, spelled, value, params, aside, em);
            if (rc < 0)
                goto out_free;
            continue;
        }

        const struct ctl_cli_pos *pos = !pos_seen ? &cmd->pos : &cmd->pos2;
        if (!pos->metavar || (pos_seen && pos2_seen)) {
            rc = vsa_errmsg_set(em, -EINVAL, "unexpected argument '%.*s'",
                                QUOTE_MAX, arg);
            goto out_free;
        }
        json_t *v;
        rc = convert(pos->type, 0, 0, NULL, arg, &v, em);
        if (rc < 0) {
            if (rc != -ENOMEM)
                vsa_errmsg_prefix(em, "%s", pos->metavar);
            goto out_free;
        }
        if (json_object_set_new(params, pos->key, v) < 0) {
            rc = vsa_errmsg_set(em, -ENOMEM, "out of memory");
            goto out_free;
        }
        if (pos_seen)
            pos2_seen = true;
        pos_seen = true;
    }

    if (cmd->pos.metavar && !cmd->pos.optional && !pos_seen) {
        rc = vsa_errmsg_set(em, -EINVAL, "missing %s", cmd->pos.metavar);
        goto out_free;
    }
    if (cmd->pos2.metavar && !cmd->pos2.optional && !pos2_seen) {
        rc = vsa_errmsg_set(em, -EINVAL, "missing %s", cmd->pos2.metavar);
        goto out_free;
    }
    for (const struct ctl_cli_opt *o = cmd->opts; o && o->name; o++) {
        if ((o->flags & CTL_CLI_F_REQUIRED) &&
            !json_object_get(o->key ? params : aside,
                             o->key ? o->key : o->name)) {
            rc = vsa_errmsg_set(em, -EINVAL, "missing %s %s", o->name,
                                o->metavar ? o->metavar : "");
            goto out_free;
        }
    }
    if (cmd->finish) {
        rc = cmd->finish(req, params, aside, em);
        if (rc < 0)
            goto out_free;
    }
    json_decref(aside);
    req->params = params;
    return 0;

out_free:
    json_decref(aside);
    json_decref(params);
    return rc;
}

static bool is_group(const char *word)
{
    for (size_t k = 0; k < ctl_cli__n_cmds; k++)
        if (streq(ctl_cli__cmds[k].group, word))
            return true;
    return false;
}

/* Does name ("add" or "nic add") spell argv[i..]?  *n_words out. */
static bool name_matches(const char *name, int argc, char **argv, int i,
                         int *n_words)
{
    const char *w = name;

    *n_words = 0;
    for (;;) {
        size_t len = strcspn(w, " ");

        if (i >= argc || strlen(argv[i]) != len ||
            strncmp(argv[i], w, len) != 0)
            return false;
        (*n_words)++;
        i++;
        if (w[len] == '\0')
            return true;
        w += len + 1;
    }
}

/* True if `word` is the first word of a two-word command of `group`
 * ("nic" of "vm nic add"). */
static bool is_subgroup(const char *group, const char *word)
{
    size_t n = strlen(word);

    for (size_t k = 0; k < ctl_cli__n_cmds; k++)
        if (streq(ctl_cli__cmds[k].group, group) &&
            strncmp(ctl_cli__cmds[k].name, word, n) == 0 &&
            ctl_cli__cmds[k].name[n] == ' ')
            return true;
    return false;
}

/* Lists a group's commands ("add, del, set") into em after its message;
 * with `sub`, only that subgroup's last words ("add, del"). */
static void append_group_names(struct vsa_errmsg *em, const char *group,
                               const char *sub)
{
    size_t sub_len = sub ? strlen(sub) : 0;
    bool first = true;

    for (size_t k = 0; k < ctl_cli__n_cmds; k++) {
        const char *name = ctl_cli__cmds[k].name;
        size_t n = strlen(em->msg);

        if (!streq(ctl_cli__cmds[k].group, group))
            continue;
        if (sub) {
            if (strncmp(name, sub, sub_len) != 0 || name[sub_len] != ' ')
                continue;
            name += sub_len + 1;
        }
        snprintf(em->msg + n, sizeof(em->msg) - n, "%s%s",
                 first ? " (" : ", ", name);
        first = false;
    }
    size_t n = strlen(em->msg);
    snprintf(em->msg + n, sizeof(em->msg) - n, ")");
}

/* The one-word command spelled `word` (group NULL), or NULL. */
static const struct ctl_cli_cmd *find_single(const char *word)
{
    for (size_t k = 0; k < ctl_cli__n_cmds; k++)
        if (!ctl_cli__cmds[k].group && streq(ctl_cli__cmds[k].name, word))
            return &ctl_cli__cmds[k];
    return NULL;
}

/*
 * Finds the command named by argv[*i] (and argv[*i + 1] for a group) and
 * advances *i past its words.  A bare group followed by --help (or nothing,
 * when `for_help`) sets req->help_group and returns NULL with rc 0.  A
 * group that is also a one-word command ("capture") gives that command
 * unless the next words name one of the group's.
 */
static const struct ctl_cli_cmd *lookup(int argc, char **argv, int *i,
                                        bool for_help,
                                        struct ctl_cli_req *req, int *rc,
                                        struct vsa_errmsg *em)
{
    const char *word = argv[*i];

    *rc = 0;
    if (is_group(word)) {
        const char *sub = *i + 1 < argc ? argv[*i + 1] : NULL;
        const char *sub2 = *i + 2 < argc ? argv[*i + 2] : NULL;
        int n_words;

        for (size_t k = 0; k < ctl_cli__n_cmds; k++) {
            if (streq(ctl_cli__cmds[k].group, word)) {
                if (name_matches(ctl_cli__cmds[k].name, argc, argv, *i + 1,
                                 &n_words)) {
                    *i += 1 + n_words;
                    return &ctl_cli__cmds[k];
                }
                req->help_group = ctl_cli__cmds[k].group;
            }
        }
        if (find_single(word)) {
            req->help_group = NULL;
            (*i)++;
            return find_single(word);
        }
        if ((!sub && for_help) || (sub && is_help(sub))) {
            req->action = CTL_CLI_ACT_HELP;
            return NULL;
        }
        if (sub && is_subgroup(word, sub)) {
            /* "vm nic", "vm nic --help": the group's usage */
            if ((!sub2 && for_help) || (sub2 && is_help(sub2))) {
                req->action = CTL_CLI_ACT_HELP;
                return NULL;
            }
            req->help_group = NULL;
            if (!sub2)
                *rc = vsa_errmsg_set(em, -EINVAL, "%.*s %.*s: missing "
                                     "command", QUOTE_MAX, word, QUOTE_MAX,
                                     sub);
            else
                *rc = vsa_errmsg_set(em, -EINVAL, "%.*s %.*s: unknown "
                                     "command '%.*s'", QUOTE_MAX, word,
                                     QUOTE_MAX, sub, QUOTE_MAX, sub2);
            append_group_names(em, word, sub);
            return NULL;
        }
        req->help_group = NULL;
        if (!sub)
            *rc = vsa_errmsg_set(em, -EINVAL, "%.*s: missing command",
                                 QUOTE_MAX, word);
        else
            *rc = vsa_errmsg_set(em, -EINVAL,
                                 "%.*s: unknown command '%.*s'", QUOTE_MAX,
                                 word, QUOTE_MAX, sub);
        append_group_names(em, word, NULL);
        return NULL;
    }
    if (find_single(word)) {
        (*i)++;
        return find_single(word);
    }
    *rc = vsa_errmsg_set(em, -EINVAL, "unknown command '%.*s'", QUOTE_MAX,
                         word);
    return NULL;
}

/* "help [GROUP [COMMAND] | COMMAND]". */
static int parse_help(int argc, char **argv, int i, struct ctl_cli_req *req,
                      struct vsa_errmsg *em)
{
    const struct ctl_cli_cmd *cmd;
    int rc;

    req->action = CTL_CLI_ACT_HELP;
    if (i >= argc)
        return 0;
    cmd = lookup(argc, argv, &i, true, req, &rc, em);
    if (rc < 0) {
        req->action = CTL_CLI_ACT_RPC;
        return rc;
    }
    if (!cmd)
        return 0;
    req->cmd = cmd;
    req->action = CTL_CLI_ACT_HELP;
    if (i < argc) {
        req->action = CTL_CLI_ACT_RPC;
        return vsa_errmsg_set(em, -EINVAL, "help: unexpected argument '%.*s'",
                              QUOTE_MAX, argv[i]);
    }
    return 0;
}

int vesperctl_parse(int argc, char **argv, struct ctl_cli_req *req,
                    struct vsa_errmsg *em)
{
    const struct ctl_cli_cmd *cmd;
    struct vsa_errmsg local;
    int i = 1;
    int rc;

    if (!em)
        em = &local; /* the helpers below always fill a message */
    memset(req, 0, sizeof(*req));
    req->timeout_ms = CTL_CLI_DEFAULT_TIMEOUT_MS;
    vsa_errmsg_clear(em);
    if (!argv || argc < 1)
        return vsa_errmsg_set(em, -EINVAL, "missing command");

    while (i < argc && argv[i][0] == '-' && argv[i][1] != '\0') {
        if (streq(argv[i], "--")) {
            i++;
            break;
        }
        rc = parse_global(argc, argv, &i, NULL, req, em);
        if (rc < 0)
            return rc;
        if (rc == 2) {
            req->action = CTL_CLI_ACT_HELP;
            return 0;
        }
        if (rc == 0)
            return vsa_errmsg_set(em, -EINVAL, "unknown option '%.*s'",
                                  QUOTE_MAX, argv[i]);
        i++;
    }
    if (i >= argc)
        return vsa_errmsg_set(em, -EINVAL, "missing command");
    if (streq(argv[i], "help"))
        return parse_help(argc, argv, i + 1, req, em);
    cmd = lookup(argc, argv, &i, false, req, &rc, em);
    if (!cmd)
        return rc;
    rc = parse_command(cmd, argc, argv, i, req, em);
    if (rc < 0) {
        req->action = CTL_CLI_ACT_RPC;
        req->params = NULL;
    }
    return rc;
}

void ctl_cli_req_release(struct ctl_cli_req *req)
{
    if (!req)
        return;
    json_decref(req->params);
    req->params = NULL;
}

const char *ctl_cli_cmd_group(const struct ctl_cli_cmd *cmd)
{
    return cmd && cmd->group ? cmd->group : "";
}

const char *ctl_cli_cmd_name(const struct ctl_cli_cmd *cmd)
{
    return cmd ? cmd->name : "";
}

/* --- usage ------------------------------------------------------------ */

/* "  --name, --alias METAVAR" then the help from column HELP_COL (on a line
 * of its own when the spelling reaches it).  Printed directly, not through
 * a buffer that could cut a long spelling. */
static void print_option(FILE *f, const char *name, const char *alias,
                         const char *metavar, const char *help)
{
    int n = fprintf(f, "  %s%s%s%s%s", name, alias ? ", " : "",
                    alias ? alias : "", metavar ? " " : "",
                    metavar ? metavar : "");

    if (n < 0)
        return;
    if (n >= HELP_COL)
        fprintf(f, "\n%*s%s\n", HELP_COL, "", help);
    else
        fprintf(f, "%*s%s\n", HELP_COL - n, "", help);
}

static void print_synopsis(FILE *f, const struct ctl_cli_cmd *cmd,
                           const char *lead)
{
    char name[64];

    fprintf(f, "%s%s %s%s%s\n", lead, PROG,
            full_name(cmd, name, sizeof(name)), *cmd->synopsis ? " " : "",
            cmd->synopsis);
}

static void print_command_help(FILE *f, const struct ctl_cli_cmd *cmd)
{
    print_synopsis(f, cmd, "usage: ");
    fprintf(f, "\n%c%s.\nJSON-RPC: %s",
            toupper((unsigned char)cmd->summary[0]), cmd->summary + 1,
            cmd->method);
    if (!strcmp(cmd->name, "stats"))
        fprintf(f, " (stats.clear with --clear)");
    if (cmd->action == CTL_CLI_ACT_CAPTURE)
        fprintf(f, ", then capture.status every 100 ms, capture.stop\n"
                   "\n"
                   "Ctrl-C, SIGTERM or SIGHUP stop the capture and print the "
                   "summary; if\nvesperctl dies, vesperd stops the capture "
                   "when its connection closes.\nFILE must be new, empty or "
                   "an earlier capture, and not on /proc, /sys or\nanother "
                   "kernel pseudo filesystem.  A write error (a full disk) "
                   "ends the\ncapture: vesperctl prints it and exits 1.");
    fprintf(f, "\n");
    if (cmd->opts && cmd->opts[0].name) {
        fprintf(f, "\nOptions:\n");
        for (const struct ctl_cli_opt *o = cmd->opts; o->name; o++)
            print_option(f, o->name, o->alias, o->metavar, o->help);
    }
    if (!cmd->group && is_group(cmd->name)) {
        /* "capture": the group's commands too */
        fprintf(f, "\nAlso:\n");
        for (size_t k = 0; k < ctl_cli__n_cmds; k++)
            if (streq(ctl_cli__cmds[k].group, cmd->name)) {
                print_synopsis(f, &ctl_cli__cmds[k], "  ");
                fprintf(f, "      %s\n", ctl_cli__cmds[k].summary);
            }
    }
    fprintf(f, "\nGlobal options (--socket, --json, --timeout) may be given "
               "too; see '%s --help'.\n", PROG);
}

static void print_global_help(FILE *f)
{
    fprintf(f,
            "usage: %s [--socket PATH] [--json] [--timeout SEC] COMMAND ...\n"
            "\n"
            "Configure and inspect vesperd over its JSON-RPC control socket.\n"
            "\n"
            "Global options:\n", PROG);
    print_option(f, "--socket", NULL, "PATH",
                 "control socket (default: $" CTL_CLI_SOCKET_ENV ",");
    fprintf(f, "%*s%s\n", HELP_COL, "", "else " CTL_CLI_DEFAULT_SOCKET ")");
    print_option(f, "--json", NULL, NULL,
                 "print the daemon's result as indented JSON");
    print_option(f, "--timeout", NULL, "SEC",
                 "seconds to wait for each answer (default 30)");
    print_option(f, "-h", "--help", NULL, "show this help");
    fprintf(f, "\nCommands:\n");
    for (size_t k = 0; k < ctl_cli__n_cmds; k++) {
        char name[64];
        print_option(f, full_name(&ctl_cli__cmds[k], name, sizeof(name)),
                     NULL, NULL, ctl_cli__cmds[k].summary);
    }
    fprintf(f,
            "\n'%s help COMMAND' or '%s COMMAND --help' shows a command's "
            "arguments.\n"
            "Exit status: 0 done, 1 vesperd refused, 2 usage error, "
            "3 vesperd unreachable.\n", PROG, PROG);
}

void ctl_cli_print_help(FILE *f, const struct ctl_cli_req *req)
{
    if (req && req->cmd) {
        print_command_help(f, req->cmd);
    } else if (req && req->help_group) {
        fprintf(f, "usage:\n");
        for (size_t k = 0; k < ctl_cli__n_cmds; k++)
            if (streq(ctl_cli__cmds[k].group, req->help_group))
                print_synopsis(f, &ctl_cli__cmds[k], "  ");
        fprintf(f, "\n'%s help %s COMMAND' shows a command's options.\n",
                PROG, req->help_group);
    } else {
        print_global_help(f);
    }
}

void ctl_cli_print_hint(FILE *f, const struct ctl_cli_req *req)
{
    char name[64];

    if (req && req->cmd)
        fprintf(f, "Try '%s help %s'.\n", PROG,
                full_name(req->cmd, name, sizeof(name)));
    else
        fprintf(f, "Try '%s --help'.\n", PROG);
}
