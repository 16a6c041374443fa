/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ctl_main.c — vesperctl_main(): parse, connect, call, print; and the
 * capture loop (capture.start, capture.status every 100 ms, capture.stop).
 *
 * The capture loop runs on the one connection vesperctl_main opened, from
 * capture.start to the end: vesperd ties the capture to that connection
 * and ends it when the connection closes, so a vesperctl killed without a
 * chance to call capture.stop (SIGKILL, a crash) does not leave it
 * running.  SIGINT, SIGTERM and SIGHUP (Ctrl-C, kill, a closed terminal)
 * end the loop with capture.stop and the usual summary.
 */
#include "tools/vesperctl/vesperctl.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/vsa_errmsg.h"
#include "common/vsa_time.h"
#include "tools/vesperctl/cli.h"
#include "tools/vesperctl/ctl_conn.h"
#include "tools/vesperctl/ctl_out.h"

#define PROG "vesperctl"
#define CAPTURE_POLL_MS 100

static volatile sig_atomic_t ctl_main__interrupted;

/* The signals that end a capture cleanly. */
static const int capture_signals[] = {SIGINT, SIGTERM, SIGHUP};
#define N_CAPTURE_SIGNALS (sizeof(capture_signals) / sizeof(capture_signals[0]))

static void on_sigint(int sig)
{
    (void)sig;
    ctl_main__interrupted = 1;
}

/* Maps a failed ctl_conn_call() to an exit code and reports it. */
static int call_failed(FILE *err, int rc, const struct vsa_errmsg *em)
{
    fprintf(err, "%s: %s\n", PROG, em->msg);
    if (rc == -ETIMEDOUT || rc == -ECONNRESET)
        return CTL_EXIT_UNREACHABLE;
    return CTL_EXIT_FAIL;
}

/*
 * What a request that timed out may have done.  vesperd does not drop a
 * request it has read when its client stops waiting: a change that
 * arrives late is made all the same (an exit status of 3, "unreachable",
 * does not mean "not done").  Reads need no warning.  Returns the sentence
 * to add to the timeout message, or "".
 */
static const char *timeout_hint(const char *method)
{
    static const char *const reads[] = {
        "switch.list", "switch.show", "port.list", "port.show", "fdb.show",
        "stats.get", "config.get", "daemon.info", "vm.list", "vm.show",
        "capture.status", "capture.list",
    };
    static const char *const unpersisted[] = {"fdb.flush", "stats.clear"};

    for (size_t i = 0; i < sizeof(reads) / sizeof(*reads); i++)
        if (!strcmp(method, reads[i]))
            return "";
    if (!strncmp(method, "capture.", 8)) /* start, stop: not in the config */
        return "; the request may still have been applied: check with "
               "'vesperctl capture list'";
    for (size_t i = 0; i < sizeof(unpersisted) / sizeof(*unpersisted); i++)
        if (!strcmp(method, unpersisted[i]))
            return "; the request may still have been applied";
    return "; the request may still have been applied: check with "
           "'vesperctl config show'";
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000,
                          .tv_nsec = (long)(ms % 1000) * 1000000L};

    /* An interrupted sleep ends early: the caller checks the flag. */
    (void)nanosleep(&ts, NULL);
}

/* A capture as capture.status or capture.stop reports it. */
struct capture_state {
    json_int_t captured; /* frames in the file */
    bool done;
    char ended[16];      /* why it ended (docs/rpc.md), or "" */
    char error[768];     /* the reason a write error ended it, or "" */
};

/* Copies the string `key` of res, if it is one, into buf. */
static void copy_string(const json_t *res, const char *key, char *buf,
                        size_t size)
{
    const char *v = json_string_value(json_object_get(res, key));

    if (v)
        snprintf(buf, size, "%s", v);
}

/* Calls method with {"id": id}; its result's "captured", "done", "ended"
 * and "error" go to *st ("ended" and "error" only when present: a write
 * error a status reported stays). */
static int capture_call(struct ctl_conn *c, const char *method, json_int_t id,
                        struct capture_state *st, struct vsa_errmsg *em)
{
    json_t *params = json_pack("{s:I}", "id", id);
    json_t *res = NULL;
    int rc;

    if (!params)
        return vsa_errmsg_set(em, -ENOMEM, "out of memory");
    rc = ctl_conn_call(c, method, params, &res, em);
    json_decref(params);
    if (rc < 0)
        return rc;
    if (!json_is_integer(json_object_get(res, "captured")))
        rc = vsa_errmsg_set(em, -EBADMSG, "invalid response from vesperd: "
                            "%s without \"captured\"", method);
    else
        st->captured = json_integer_value(json_object_get(res, "captured"));
    st->done = json_is_true(json_object_get(res, "done"));
    copy_string(res, "ended", st->ended, sizeof(st->ended));
    copy_string(res, "error", st->error, sizeof(st->error));
    json_decref(res);
    return rc;
}

/* A line on stderr when the capture ended for a reason its user did not
 * choose and that leaves no error (a write error is said apart): another
 * client stopped it (capture.stop by port), or its port was deleted.  A
 * "stopped" in the result of vesperctl's own capture.stop (stopped_here)
 * is that stop.  The summary and exit 0 follow, as after Ctrl-C: the file
 * is a good capture, only shorter than asked. */
static void say_why_ended(FILE *err, json_int_t id, const char *port,
                          const struct capture_state *st, bool stopped_here)
{
    if (!strcmp(st->ended, "port_closed"))
        fprintf(err, "%s: capture %" JSON_INTEGER_FORMAT " of port %s "
                "ended: the port was deleted\n", PROG, id, port);
    else if (!strcmp(st->ended, "stopped") && !stopped_here)
        fprintf(err, "%s: capture %" JSON_INTEGER_FORMAT " of port %s was "
                "stopped elsewhere (capture stop %s)\n", PROG, id, port,
                port);
}

/* capture.status or capture.stop failed: the reason; and if vesperd is
 * gone (it stopped or crashed: the connection closed) or stopped
 * answering, what is known of the capture from the last status.  A
 * vesperd that stops closes the file as a valid pcap with at least those
 * frames (it may have written more after that status); one that crashed
 * may not have flushed the last of them.  Returns call_failed's exit
 * code: the capture did not end as asked. */
static int capture_lost(FILE *err, int rc, const struct vsa_errmsg *em,
                        json_int_t id, const char *port, const char *file,
                        const struct capture_state *st)
{
    int exit_code = call_failed(err, rc, em);

    if (exit_code != CTL_EXIT_UNREACHABLE) /* vesperd answered: an error */
        return exit_code;
    fprintf(err, "%s: capture %" JSON_INTEGER_FORMAT " of port %s to %s: "
            "at least %" JSON_INTEGER_FORMAT " frames if vesperd stopped "
            "(its last count; after a crash the last of them may be "
            "missing)\n", PROG,
            id, port, file, st->captured);
    return exit_code;
}

static int run_capture(struct ctl_conn *c, const struct ctl_cli_req *req,
                       FILE *out, FILE *err)
{
    const char *port = json_string_value(json_object_get(req->params, "port"));
    const char *file = json_string_value(json_object_get(req->params, "file"));
    struct sigaction sa = {.sa_handler = on_sigint};
    struct sigaction old_sa[N_CAPTURE_SIGNALS];
    uint64_t deadline = 0;
    struct vsa_errmsg em = {{0}};
    struct capture_state st = {0};
    json_t *res = NULL;
    json_int_t id;
    bool stopped_here;
    int rc, exit_code;

    /* No SA_RESTART: Ctrl-C must cut the 100 ms sleep short. */
    sigemptyset(&sa.sa_mask);
    ctl_main__interrupted = 0;
    /* A signal this process inherited as ignored stays ignored: under
     * nohup (SIGHUP) or as a background job of a script (SIGINT) the
     * caller asked for the capture to survive it. */
    for (size_t i = 0; i < N_CAPTURE_SIGNALS; i++) {
        sigaction(capture_signals[i], NULL, &old_sa[i]);
        if (old_sa[i].sa_handler != SIG_IGN)
            sigaction(capture_signals[i], &sa, NULL);
    }

    rc = ctl_conn_call(c, req->method, req->params, &res, &em);
    if (rc < 0) {
        exit_code = call_failed(err, rc, &em);
        goto out;
    }
    if (!json_is_integer(json_object_get(res, "id"))) {
        json_decref(res);
        fprintf(err, "%s: invalid response from vesperd: capture.start "
                     "without \"id\"\n", PROG);
        exit_code = CTL_EXIT_FAIL;
        goto out;
    }
    id = json_integer_value(json_object_get(res, "id"));
    json_decref(res);
    if (req->capture_duration_s)
        deadline = vsa_time_now_ms() + (uint64_t)req->capture_duration_s * 1000;

    for (;;) {
        if (!ctl_main__interrupted)
            sleep_ms(CAPTURE_POLL_MS);
        if (ctl_main__interrupted ||
            (deadline && vsa_time_now_ms() >= deadline))
            break;
        rc = capture_call(c, "capture.status", id, &st, &em);
        if (rc < 0) {
            exit_code = capture_lost(err, rc, &em, id, port ? port : "",
                                     file ? file : "", &st);
            goto out;
        }
        if (st.done)
            break;
        if (req->capture_count &&
            (uint64_t)st.captured >= req->capture_count)
            break;
    }
    stopped_here = !st.done;
    if (stopped_here) {
        rc = capture_call(c, "capture.stop", id, &st, &em);
        if (rc < 0) {
            exit_code = capture_lost(err, rc, &em, id, port ? port : "",
                                     file ? file : "", &st);
            goto out;
        }
    }
    if (st.error[0]) {
        /* A write error ended it: the file holds only part of it. */
        fprintf(err, "%s: %s (capture %" JSON_INTEGER_FORMAT " ended; %"
                JSON_INTEGER_FORMAT " frames are in the file)\n", PROG,
                st.error, id, st.captured);
        exit_code = CTL_EXIT_FAIL;
        goto out;
    }
    say_why_ended(err, id, port ? port : "", &st, stopped_here);
    rc = ctl_out_capture(out, req->json, id, port ? port : "",
                         file ? file : "", st.captured, st.ended);
    exit_code = rc < 0 ? CTL_EXIT_FAIL : CTL_EXIT_OK;
out:
    for (size_t i = 0; i < N_CAPTURE_SIGNALS; i++)
        sigaction(capture_signals[i], &old_sa[i], NULL);
    return exit_code;
}

int vesperctl_main(int argc, char **argv, FILE *out, FILE *err)
{
    struct ctl_cli_req req;
    struct vsa_errmsg em = {{0}};
    struct ctl_conn *conn = NULL;
    const char *path;
    json_t *result = NULL;
    int rc, exit_code;

    rc = vesperctl_parse(argc, argv, &req, &em);
    if (rc < 0) {
        fprintf(err, "%s: %s\n", PROG, em.msg);
        if (rc != -EINVAL)
            return CTL_EXIT_FAIL;
        ctl_cli_print_hint(err, &req);
        return CTL_EXIT_USAGE;
    }
    if (req.action == CTL_CLI_ACT_HELP) {
        ctl_cli_print_help(out, &req);
        ctl_cli_req_release(&req);
        return CTL_EXIT_OK;
    }

    path = req.socket_path;
    if (!path) {
        path = getenv(CTL_CLI_SOCKET_ENV);
        if (!path || !*path)
            path = CTL_CLI_DEFAULT_SOCKET;
        /* as --socket: a usage error, not "is vesperd running?" */
        if (strlen(path) > 107) {
            fprintf(err, "%s: $%s: path is longer than 107 bytes\n", PROG,
                    CTL_CLI_SOCKET_ENV);
            ctl_cli_req_release(&req);
            return CTL_EXIT_USAGE;
        }
    }
    rc = ctl_conn_open(path, req.timeout_ms, &conn);
    if (rc < 0) {
        fprintf(err, "%s: cannot connect to %s: %s (is vesperd running?)\n",
                PROG, path, strerror(-rc));
        ctl_cli_req_release(&req);
        return CTL_EXIT_UNREACHABLE;
    }

    if (req.action == CTL_CLI_ACT_CAPTURE) {
        exit_code = run_capture(conn, &req, out, err);
    } else {
        rc = ctl_conn_call(conn, req.method, req.params, &result, &em);
        if (rc == -ETIMEDOUT) {
            size_t n = strlen(em.msg); /* ~40 bytes of 512: room left */

            snprintf(em.msg + n, sizeof(em.msg) - n, "%s",
                     timeout_hint(req.method));
        }
        if (rc < 0) {
            exit_code = call_failed(err, rc, &em);
        } else {
            rc = ctl_out_result(out, &req, result);
            if (rc < 0)
                fprintf(err, "%s: cannot print the result: %s\n", PROG,
                        strerror(-rc));
            exit_code = rc < 0 ? CTL_EXIT_FAIL : CTL_EXIT_OK;
        }
    }
    json_decref(result);
    ctl_conn_close(conn);
    ctl_cli_req_release(&req);
    return exit_code;
}
