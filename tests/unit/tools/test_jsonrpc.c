/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_jsonrpc.c — ctl_jsonrpc: line framing, request validation, response
 * building and parameter accessors of the control socket (docs/rpc.md).
 *
 * Objective: lines are reassembled across reads and split when a read holds
 * several; a line of exactly 1 MiB is accepted and one of 1 MiB + 1 is
 * rejected while the buffer stays bounded by 1 MiB + one read; every error
 * path of a request produces the documented code (-32700 naming the column;
 * -32600 for a batch, a scalar, missing/wrong jsonrpc, a method that is not
 * a string, params that are not an object, an id that is an object, unknown
 * members) and echoes the id when it is usable; the parameter accessors
 * report missing, wrongly typed, out-of-range and unknown parameters as
 * -32602 naming the parameter.
 */
#include <errno.h>

#include "tests/unit/tools/tools_test.h"
#include "tools/ctl/ctl_alloc.h"
#include "tools/ctl/ctl_jsonrpc.h"

#define READ_SIZE 4096

/* Appends every complete line of lb to `out`, each followed by '|'. */
static int drain(struct ctl_linebuf *lb, char *out, size_t size)
{
    const char *line;
    size_t len;
    int rc;

    while ((rc = ctl_linebuf_next(lb, &line, &len)) == 1) {
        size_t used = strlen(out);

        assert_int_equal(strlen(line), len);
        snprintf(out + used, size - used, "%s|", line);
    }
    return rc;
}

static void test_linebuf_split(void **state)
{
    struct ctl_linebuf lb;
    char out[256] = "";

    (void)state;
    ctl_linebuf_init(&lb);
    assert_int_equal(ctl_linebuf_partial(&lb), 0);
    assert_int_equal(ctl_linebuf_append(&lb, "{\"a\":", 5), 0);
    assert_int_equal(drain(&lb, out, sizeof(out)), 0);
    assert_string_equal(out, "");
    assert_int_equal(ctl_linebuf_partial(&lb), 5);
    assert_int_equal(ctl_linebuf_append(&lb, "1}", 2), 0);
    assert_int_equal(ctl_linebuf_append(&lb, "\nsecond", 7), 0);
    assert_int_equal(drain(&lb, out, sizeof(out)), 0);
    assert_string_equal(out, "{\"a\":1}|");
    assert_int_equal(ctl_linebuf_partial(&lb), 6); /* "second" */
    assert_int_equal(ctl_linebuf_append(&lb, "\n", 1), 0);
    assert_int_equal(drain(&lb, out, sizeof(out)), 0);
    assert_string_equal(out, "{\"a\":1}|second|");
    assert_int_equal(ctl_linebuf_partial(&lb), 0);
    assert_int_equal(ctl_linebuf_append(&lb, "", 0), 0);
    /* blanks after the last newline are no request */
    assert_int_equal(ctl_linebuf_append(&lb, " \t\r", 3), 0);
    assert_int_equal(ctl_linebuf_partial(&lb), 0);
    assert_int_equal(ctl_linebuf_append(&lb, "x", 1), 0);
    assert_int_equal(ctl_linebuf_partial(&lb), 4);
    ctl_linebuf_free(&lb);
}

static void test_linebuf_many(void **state)
{
    static const char input[] = "a\nbb\n\nccc\r\nd";
    struct ctl_linebuf lb;
    char out[256] = "";

    (void)state;
    ctl_linebuf_init(&lb);
    assert_int_equal(ctl_linebuf_append(&lb, input, sizeof(input) - 1), 0);
    assert_int_equal(drain(&lb, out, sizeof(out)), 0);
    assert_string_equal(out, "a|bb||ccc\r|");
    /* One byte at a time gives the same lines. */
    ctl_linebuf_free(&lb);
    ctl_linebuf_init(&lb);
    out[0] = '\0';
    for (size_t i = 0; i < sizeof(input) - 1; i++) {
        assert_int_equal(ctl_linebuf_append(&lb, input + i, 1), 0);
        assert_int_equal(drain(&lb, out, sizeof(out)), 0);
    }
    assert_string_equal(out, "a|bb||ccc\r|");
    /* The unterminated "d" is still held. */
    assert_int_equal(ctl_linebuf_append(&lb, "\n", 1), 0);
    assert_int_equal(drain(&lb, out, sizeof(out)), 0);
    assert_string_equal(out, "a|bb||ccc\r|d|");
    ctl_linebuf_free(&lb);
}

/* Feeds `n` bytes of 'x' in READ_SIZE chunks, then "\n" if `nl`. */
static int feed(struct ctl_linebuf *lb, size_t n, bool nl, size_t *peak)
{
    static char chunk[READ_SIZE];
    int rc = 0;

    memset(chunk, 'x', sizeof(chunk));
    while (n && rc == 0) {
        size_t k = n < READ_SIZE ? n : READ_SIZE;

        rc = ctl_linebuf_append(lb, chunk, k);
        n -= k;
        if (ctl_linebuf_footprint(lb) > *peak)
            *peak = ctl_linebuf_footprint(lb);
    }
    if (rc == 0 && nl)
        rc = ctl_linebuf_append(lb, "\n", 1);
    return rc;
}

static void test_linebuf_max(void **state)
{
    struct ctl_linebuf lb;
    const char *line;
    size_t len, peak = 0;

    (void)state;
    /* Exactly CTL_RPC_MAX_LINE bytes: accepted. */
    ctl_linebuf_init(&lb);
    assert_int_equal(feed(&lb, CTL_RPC_MAX_LINE, true, &peak), 0);
    assert_int_equal(ctl_linebuf_next(&lb, &line, &len), 1);
    assert_int_equal(len, CTL_RPC_MAX_LINE);
    assert_int_equal(ctl_linebuf_next(&lb, &line, &len), 0);
    /* A drained big buffer is given back. */
    assert_int_equal(ctl_linebuf_footprint(&lb), 0);
    ctl_linebuf_free(&lb);

    /* One more byte: refused, sticky, memory bounded. */
    ctl_linebuf_init(&lb);
    peak = 0;
    assert_int_equal(ctl_linebuf_append(&lb, "{}\n", 3), 0);
    assert_int_equal(feed(&lb, CTL_RPC_MAX_LINE + 1, false, &peak),
                     -EMSGSIZE);
    print_message("peak footprint %zu bytes for a %d-byte limit\n", peak,
                  CTL_RPC_MAX_LINE);
    assert_true(peak <= CTL_RPC_MAX_LINE + READ_SIZE + 1);
    /* The line completed before the overlong one still comes out first. */
    assert_int_equal(ctl_linebuf_next(&lb, &line, &len), 1);
    assert_string_equal(line, "{}");
    assert_int_equal(ctl_linebuf_next(&lb, &line, &len), -EMSGSIZE);
    assert_int_equal(ctl_linebuf_append(&lb, "more\n", 5), -EMSGSIZE);
    assert_int_equal(ctl_linebuf_next(&lb, &line, &len), -EMSGSIZE);
    ctl_linebuf_free(&lb);

    /* An overlong line that arrives whole, newline included, in one read. */
    {
        size_t n = CTL_RPC_MAX_LINE + 2;
        char *big = malloc(n);

        assert_non_null(big);
        memset(big, 'y', n);
        big[n - 1] = '\n';
        ctl_linebuf_init(&lb);
        assert_int_equal(ctl_linebuf_append(&lb, big, n), 0);
        assert_int_equal(ctl_linebuf_next(&lb, &line, &len), -EMSGSIZE);
        assert_int_equal(ctl_linebuf_append(&lb, "x\n", 2), -EMSGSIZE);
        ctl_linebuf_free(&lb);
        free(big);
    }
}

/* Parses `line`, expecting an error response with `code` and a message
 * containing `msg`; returns the response's id (borrowed text). */
static void expect_error(const char *line, int code, const char *msg,
                         const char *id_json)
{
    struct ctl_rpc_req req;
    json_t *resp = NULL, *err;
    char *id;
    int rc = ctl_rpc_parse(line, strlen(line), &req, &resp);

    if (rc != -EINVAL)
        fail_msg("\"%s\": rc %d", line, rc);
    assert_non_null(resp);
    assert_null(req.msg);
    assert_string_equal(json_string_value(json_object_get(resp, "jsonrpc")),
                        "2.0");
    err = json_object_get(resp, "error");
    assert_non_null(err);
    assert_int_equal(json_integer_value(json_object_get(err, "code")), code);
    assert_substr(json_string_value(json_object_get(err, "message")), msg);
    id = json_dumps(json_object_get(resp, "id"), JSON_ENCODE_ANY);
    assert_string_equal(id, id_json);
    free(id);
    json_decref(resp);
}

static void test_parse_ok(void **state)
{
    static const char l1[] =
        "{\"jsonrpc\":\"2.0\",\"method\":\"switch.list\",\"id\":1}";
    static const char l2[] =
        " {\"jsonrpc\":\"2.0\",\"method\":\"port.show\",\"params\":"
        "{\"name\":\"p1\"},\"id\":\"abc\"}\r";
    static const char l3[] = "{\"jsonrpc\":\"2.0\",\"method\":\"x\"}";
    static const char l4[] =
        "{\"jsonrpc\":\"2.0\",\"method\":\"x\",\"id\":null,\"params\":{}}";
    struct ctl_rpc_req req;
    json_t *resp = (json_t *)l1;

    (void)state;
    assert_int_equal(ctl_rpc_parse(l1, strlen(l1), &req, &resp), 0);
    assert_null(resp);
    assert_string_equal(req.method, "switch.list");
    assert_null(req.params);
    assert_int_equal(json_integer_value(req.id), 1);
    assert_false(ctl_rpc_is_notification(&req));
    ctl_rpc_req_release(&req);
    assert_null(req.msg);

    assert_int_equal(ctl_rpc_parse(l2, strlen(l2), &req, &resp), 0);
    assert_string_equal(req.method, "port.show");
    assert_string_equal(json_string_value(json_object_get(req.params, "name")),
                        "p1");
    assert_string_equal(json_string_value(req.id), "abc");
    ctl_rpc_req_release(&req);

    assert_int_equal(ctl_rpc_parse(l3, strlen(l3), &req, &resp), 0);
    assert_true(ctl_rpc_is_notification(&req));
    ctl_rpc_req_release(&req);

    assert_int_equal(ctl_rpc_parse(l4, strlen(l4), &req, &resp), 0);
    assert_false(ctl_rpc_is_notification(&req));
    assert_true(json_is_null(req.id));
    ctl_rpc_req_release(&req);

    /* Blank lines are not requests and get no answer. */
    assert_int_equal(ctl_rpc_parse(" \t\r", 3, &req, &resp), -ENODATA);
    assert_null(resp);
    assert_int_equal(ctl_rpc_parse("", 0, &req, &resp), -ENODATA);
}

static void test_parse_errors(void **state)
{
    (void)state;
    /* -32700 */
    expect_error("{\"jsonrpc\":\"2.0\",", CTL_RPC_PARSE_ERROR,
                 "parse error at line 1, column", "null");
    expect_error("{\"jsonrpc\" \"2.0\"}", CTL_RPC_PARSE_ERROR, "column 16",
                 "null");
    expect_error("hello", CTL_RPC_PARSE_ERROR, "parse error", "null");
    expect_error("{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"id\":1} x",
                 CTL_RPC_PARSE_ERROR, "end of file expected", "null");
    expect_error("{\"id\":1,\"id\":2}", CTL_RPC_PARSE_ERROR,
                 "duplicate object key", "null");
    expect_error("{\"jsonrpc\":\"2.0\",\"method\":\"\xff\"}",
                 CTL_RPC_PARSE_ERROR, "unable to decode byte", "null");
    /* -32600 */
    expect_error("[{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"id\":1}]",
                 CTL_RPC_INVALID_REQUEST, "batches (arrays) are not supported",
                 "null");
    expect_error("[]", CTL_RPC_INVALID_REQUEST, "batches", "null");
    expect_error("42", CTL_RPC_INVALID_REQUEST,
                 "expected a request object, got integer", "null");
    expect_error("{\"method\":\"a\",\"id\":7}", CTL_RPC_INVALID_REQUEST,
                 "missing \"jsonrpc\": \"2.0\"", "7");
    expect_error("{\"jsonrpc\":\"1.0\",\"method\":\"a\",\"id\":7}",
                 CTL_RPC_INVALID_REQUEST, "\"jsonrpc\" must be \"2.0\"", "7");
    expect_error("{\"jsonrpc\":2.0,\"method\":\"a\",\"id\":\"x\"}",
                 CTL_RPC_INVALID_REQUEST, "\"jsonrpc\" must be \"2.0\"",
                 "\"x\"");
    expect_error("{\"jsonrpc\":\"2.0\",\"id\":7}", CTL_RPC_INVALID_REQUEST,
                 "missing \"method\"", "7");
    expect_error("{\"jsonrpc\":\"2.0\",\"method\":5,\"id\":7}",
                 CTL_RPC_INVALID_REQUEST,
                 "\"method\" must be a string, got integer", "7");
    expect_error("{\"jsonrpc\":\"2.0\",\"method\":\"a\\u0000b\",\"id\":7}",
                 CTL_RPC_PARSE_ERROR, "\\u0000 is not allowed", "null");
    /* by position (an array) is a valid request (vesperd's method layer
     * refuses the parameters, -32602); an invalid one with an array is
     * still -32600 */
    {
        static const char line[] =
            "{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"params\":[1],\"id\":7}";
        struct ctl_rpc_req req;
        json_t *err = NULL;

        assert_int_equal(ctl_rpc_parse(line, sizeof(line) - 1, &req, &err), 0);
        assert_true(json_is_array(req.params));
        ctl_rpc_req_release(&req);
    }
    expect_error("{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"params\":[],"
                 "\"id\":{\"x\":1}}", CTL_RPC_INVALID_REQUEST,
                 "\"id\" must be", "null");
    expect_error("{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"params\":\"p\","
                 "\"id\":7}", CTL_RPC_INVALID_REQUEST,
                 "\"params\" must be an object, got string", "7");
    expect_error("{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"params\":null}",
                 CTL_RPC_INVALID_REQUEST,
                 "\"params\" must be an object, got null", "null");
    expect_error("{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"id\":{\"x\":1}}",
                 CTL_RPC_INVALID_REQUEST,
                 "\"id\" must be a number, string or null, got object",
                 "null");
    expect_error("{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"id\":[1]}",
                 CTL_RPC_INVALID_REQUEST, "got array", "null");
    expect_error("{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"id\":true}",
                 CTL_RPC_INVALID_REQUEST, "got boolean", "null");
    expect_error("{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"id\":3,"
                 "\"param\":{}}", CTL_RPC_INVALID_REQUEST,
                 "unknown member \"param\"", "3");
}

static void test_responses(void **state)
{
    json_t *id = json_integer(9), *r;
    char *line, *text;
    size_t len;

    (void)state;
    r = ctl_rpc_result(id, json_pack("{s:b}", "ok", 1));
    assert_non_null(r);
    text = jdump(r);
    assert_string_equal(text, "{\"id\":9,\"jsonrpc\":\"2.0\",\"result\":"
                              "{\"ok\":true}}");
    free(text);
    line = ctl_rpc_encode(r, &len);
    assert_non_null(line);
    assert_int_equal(strlen(line), len);
    assert_int_equal(line[len - 1], '\n');
    assert_null(memchr(line, '\n', len - 1));
    assert_string_equal(line,
                        "{\"jsonrpc\":\"2.0\",\"id\":9,\"result\":{\"ok\":true}}\n");
    ctl_free(line);
    json_decref(r);

    r = ctl_rpc_error(NULL, CTL_RPC_METHOD_NOT_FOUND, "unknown method \"%s\"",
                      "x.y");
    text = jdump(r);
    assert_string_equal(text, "{\"error\":{\"code\":-32601,\"message\":"
                              "\"unknown method \\\"x.y\\\"\"},\"id\":null,"
                              "\"jsonrpc\":\"2.0\"}");
    free(text);
    json_decref(r);

    /* A message with bytes that are not UTF-8 still makes a response. */
    r = ctl_rpc_error(id, CTL_RPC_PARSE_ERROR, "near '%s'", "\xff\xfe");
    assert_non_null(r);
    assert_substr(json_string_value(json_object_get(
                      json_object_get(r, "error"), "message")), "near '?" "?'");
    json_decref(r);

    {
        struct ctl_rpc_err e;

        assert_int_equal(ctl_rpc_err_set(&e, -EINVAL, CTL_RPC_RULE, "r%d", 1),
                         -EINVAL);
        r = ctl_rpc_error_from(id, &e);
        text = jdump(r);
        assert_string_equal(text, "{\"error\":{\"code\":-32003,\"message\":"
                                  "\"r1\"},\"id\":9,\"jsonrpc\":\"2.0\"}");
        free(text);
        json_decref(r);
        assert_int_equal(ctl_rpc_err_set(NULL, -5, 1, "x"), -5);
    }
    json_decref(id);
}

static void expect_param_error(int rc, const struct ctl_rpc_err *e,
                               const char *msg)
{
    assert_int_equal(rc, -EINVAL);
    assert_int_equal(e->code, CTL_RPC_INVALID_PARAMS);
    assert_substr(e->msg, msg);
}

static void test_params(void **state)
{
    json_t *p = jq("{'s':'str','n':5,'neg':-1,'r':1.5,'b':true,'o':{},"
                   "'a':[1],'z':null}");
    static const char *const known[] = { "s", "n", "neg", "r", "b", "o", "a",
                                         "z", NULL };
    static const char *const fewer[] = { "s", "n", NULL };
    struct ctl_rpc_err e;
    const char *s = "unchanged";
    uint64_t u = 77;
    bool b = false;
    json_t *j = NULL;

    (void)state;
    /* strings */
    assert_int_equal(ctl_param_string(p, "s", true, &s, &e), 1);
    assert_string_equal(s, "str");
    s = "unchanged";
    assert_int_equal(ctl_param_string(p, "missing", false, &s, &e), 0);
    assert_string_equal(s, "unchanged");
    expect_param_error(ctl_param_string(p, "missing", true, &s, &e), &e,
                       "missing parameter \"missing\"");
    expect_param_error(ctl_param_string(p, "n", true, &s, &e), &e,
                       "parameter \"n\": expected a string, got integer");
    expect_param_error(ctl_param_string(p, "z", false, &s, &e), &e,
                       "parameter \"z\": expected a string, got null");
    assert_int_equal(ctl_param_string(NULL, "s", false, &s, &e), 0);
    expect_param_error(ctl_param_string(NULL, "s", true, &s, &e), &e,
                       "missing parameter \"s\"");
    /* unsigned integers, at and beyond the bounds */
    assert_int_equal(ctl_param_uint(p, "n", true, 5, 5, &u, &e), 1);
    assert_int_equal(u, 5);
    u = 77;
    expect_param_error(ctl_param_uint(p, "n", true, 6, 10, &u, &e), &e,
                       "parameter \"n\": 5 is outside 6..10");
    expect_param_error(ctl_param_uint(p, "n", true, 0, 4, &u, &e), &e,
                       "parameter \"n\": 5 is outside 0..4");
    expect_param_error(ctl_param_uint(p, "neg", true, 0, 4, &u, &e), &e,
                       "parameter \"neg\": -1 is outside 0..4");
    expect_param_error(ctl_param_uint(p, "r", true, 0, 4, &u, &e), &e,
                       "parameter \"r\": expected an integer, got real");
    expect_param_error(ctl_param_uint(p, "s", true, 0, 4, &u, &e), &e,
                       "expected an integer, got string");
    expect_param_error(ctl_param_uint(p, "x", true, 0, 4, &u, &e), &e,
                       "missing parameter \"x\"");
    assert_int_equal(u, 77);
    assert_int_equal(ctl_param_uint(p, "x", false, 0, 4, &u, &e), 0);
    /* booleans, objects, arrays */
    assert_int_equal(ctl_param_bool(p, "b", true, &b, &e), 1);
    assert_true(b);
    expect_param_error(ctl_param_bool(p, "n", true, &b, &e), &e,
                       "parameter \"n\": expected a boolean, got integer");
    assert_int_equal(ctl_param_bool(p, "x", false, &b, &e), 0);
    assert_int_equal(ctl_param_object(p, "o", true, &j, &e), 1);
    assert_true(json_is_object(j));
    expect_param_error(ctl_param_object(p, "a", true, &j, &e), &e,
                       "parameter \"a\": expected an object, got array");
    expect_param_error(ctl_param_object(p, "x", true, &j, &e), &e,
                       "missing parameter \"x\"");
    assert_int_equal(ctl_param_array(p, "a", true, &j, &e), 1);
    assert_true(json_is_array(j));
    expect_param_error(ctl_param_array(p, "o", true, &j, &e), &e,
                       "parameter \"o\": expected an array, got object");
    assert_int_equal(ctl_param_array(p, "x", false, &j, &e), 0);
    /* known keys */
    assert_int_equal(ctl_params_check_known(p, known, &e), 0);
    expect_param_error(ctl_params_check_known(p, fewer, &e), &e,
                       "unknown parameter \"");
    assert_int_equal(ctl_params_check_known(NULL, fewer, &e), 0);
    json_decref(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_linebuf_split),
        cmocka_unit_test(test_linebuf_many),
        cmocka_unit_test(test_linebuf_max),
        cmocka_unit_test(test_parse_ok),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_responses),
        cmocka_unit_test(test_params),
    };

    return cmocka_run_group_tests_name("tools-jsonrpc", tests, NULL, NULL);
}
