/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_ctl_cmd.c — libFuzzer target for vesperctl's argument parser
 * (tools/vesperctl/cli.h), without the network part.
 *
 * Input: the bytes are split into arguments at every NUL or '\n' byte and
 * passed as argv[1..] (argv[0] = "vesperctl"), at most 64 of them.
 *
 * Objective: no crash, leak or sanitizer report for any command line, and
 * the result is consistent downstream: a parsed request has a method and
 * an object of params that survives a JSON round trip, a VLAN ID in it is
 * 1..4094, a MAC is canonical; a usage error has a message; help and hints
 * print.  Link with vesperctl_dep (tools/vesperctl/meson.build).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "tools/vesperctl/cli.h"

#define MAX_ARGS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_vid(const json_t *v)
{
    if (v && (!json_is_integer(v) || json_integer_value(v) < 1 ||
              json_integer_value(v) > 4094))
        abort();
}

static void check_request(const struct ctl_cli_req *req)
{
    const json_t *p = req->params;
    const json_t *vlan = json_object_get(p, "vlan");
    const char *mac = json_string_value(json_object_get(p, "mac"));
    json_t *back;
    char *text;

    if (!req->method || !json_is_object(p))
        abort();
    /* The request as it would go on the wire, and back. */
    text = json_dumps(p, JSON_COMPACT | JSON_SORT_KEYS);
    if (!text)
        abort();
    back = json_loads(text, 0, NULL);
    if (!back || !json_equal(back, p))
        abort();
    json_decref(back);
    free(text);

    if (json_is_integer(vlan)) {
        check_vid(vlan); /* fdb.* */
    } else if (vlan) {
        const char *mode = json_string_value(json_object_get(vlan, "mode"));
        if (!mode)
            abort();
        if (!strcmp(mode, "access"))
            check_vid(json_object_get(vlan, "vid"));
    }
    if (mac) {
        if (strlen(mac) != 17)
            abort();
        for (int i = 0; i < 17; i++)
            if (i % 3 == 2 ? mac[i] != ':'
                           : !strchr("0123456789abcdef", mac[i]))
                abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *argv[MAX_ARGS + 2];
    struct ctl_cli_req req;
    struct vsa_errmsg em;
    char *buf = malloc(size + 1);
    char *out = NULL;
    size_t out_size = 0;
    FILE *f;
    int argc = 0;
    int rc;

    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    argv[argc++] = "vesperctl";
    if (size > 0) {
        char *start = buf;
        for (size_t i = 0; i < size && argc < MAX_ARGS + 1; i++) {
            if (buf[i] == '\0' || buf[i] == '\n') {
                buf[i] = '\0';
                argv[argc++] = start;
                start = buf + i + 1;
            }
        }
        if (argc < MAX_ARGS + 1 && start <= buf + size)
            argv[argc++] = start;
    }
    argv[argc] = NULL;

    rc = vesperctl_parse(argc, argv, &req, &em);
    f = open_memstream(&out, &out_size);
    if (rc == 0) {
        if (req.action == CTL_CLI_ACT_HELP) {
            if (f)
                ctl_cli_print_help(f, &req);
        } else {
            check_request(&req);
        }
        ctl_cli_req_release(&req);
    } else {
        if (em.msg[0] == '\0' || strnlen(em.msg, sizeof(em.msg)) ==
                                     sizeof(em.msg))
            abort();
        if (f)
            ctl_cli_print_hint(f, &req);
    }
    if (f)
        fclose(f);
    free(out);
    free(buf);
    return 0;
}
