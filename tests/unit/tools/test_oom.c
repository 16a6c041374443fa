/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_oom.c — allocation-failure sweep over the ctl library.
 *
 * Objective: every allocation of ctl_config_parse, ctl_mutate (each method,
 * on a document with every kind of object, VMs included),
 * ctl_store_save/load,
 * ctl_rpc_parse, the line buffer and the JSON builders can fail and the
 * failure unwinds cleanly.  Both jansson's allocator (json_set_alloc_funcs)
 * and the ctl_alloc hook are replaced by a counting allocator that fails
 * the k-th call; for k = 1..N (until the operation no longer reaches a k-th
 * allocation) we assert -ENOMEM (or, where jansson's parser reports the
 * failure as a parse error, a clean -EINVAL), that every allocation was
 * released (live count back to its baseline; LSan checks the same under
 * build-ctl-asan), and that the caller's state did not change: input
 * documents are byte-identical, output pointers untouched, files on disk
 * unchanged.  The style is libuv's loop_init_oom (STYLE 3.8).
 */
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/unit/tools/tools_test.h"
#include "tools/ctl/ctl_alloc.h"
#include "tools/ctl/ctl_config.h"
#include "tools/ctl/ctl_jsonrpc.h"
#include "tools/ctl/ctl_mutate.h"
#include "tools/ctl/ctl_store.h"

static long fail_at;   /* 0: never fail */
static long calls;     /* allocations attempted since arming */
static long live;      /* allocations not yet freed */

static void *t_malloc(size_t size)
{
    void *p;

    calls++;
    if (fail_at && calls == fail_at)
        return NULL;
    p = malloc(size);
    if (p)
        live++;
    return p;
}

static void t_free(void *p)
{
    if (p) {
        live--;
        free(p);
    }
}

/* One scenario: run() performs the operation with allocations armed;
 * check() runs disarmed, asserts the outcome and frees outputs. */
struct scenario {
    const char *name;
    int (*run)(struct scenario *s);
    void (*check)(struct scenario *s, int rc);
    bool parse_error_ok;  /* jansson may report OOM as a parse error */
    int final_rc;         /* result once no allocation fails (0 or error) */
    /* inputs */
    json_t *doc;
    const char *method;
    json_t *params;
    const char *text;
    char path[256];
    char *before;         /* jdump(doc) or file bytes before */
    /* outputs */
    struct ctl_config *cfg;
    json_t *out, *out2;
    struct ctl_rpc_err e;
    struct vsa_errmsg em;
    struct ctl_linebuf lb;
};

static void sweep(struct scenario *s)
{
    long k, n_fail = 0, n_parse_err = 0, n_recovered = 0;

    for (k = 1;; k++) {
        long baseline = live;
        int rc;

        calls = 0;
        fail_at = k;
        rc = s->run(s);
        fail_at = 0;
        if (calls < k) {
            /* The operation made fewer than k allocations: it succeeded. */
            if (rc != s->final_rc)
                fail_msg("%s: k=%ld: rc %d without a failed allocation",
                         s->name, k, rc);
            s->check(s, rc);
            assert_int_equal(live, baseline);
            break;
        }
        if (rc == s->final_rc)
            n_recovered++;  /* a fallback path absorbed the failure */
        else if (rc == -EINVAL && s->parse_error_ok)
            n_parse_err++;
        else if (rc != -ENOMEM)
            fail_msg("%s: allocation %ld failed: rc %d (%s / %s)", s->name,
                     k, rc, s->em.msg, s->e.msg);
        s->check(s, rc);
        if (live != baseline)
            fail_msg("%s: allocation %ld failed: %ld allocations leaked",
                     s->name, k, live - baseline);
        n_fail++;
    }
    print_message("%-28s %4ld allocations failed one at a time: %ld "
                  "-ENOMEM, %ld -EINVAL, %ld recovered\n", s->name, n_fail,
                  n_fail - n_parse_err - n_recovered, n_parse_err,
                  n_recovered);
    assert_true(n_fail > 0);
}

static void assert_doc_unchanged(struct scenario *s)
{
    char *now = jdump(s->doc);

    assert_string_equal(now, s->before);
    t_free(now); /* from jansson's allocator, i.e. the hook */
}

/*
 * ctl_config_parse
 */

static int run_parse(struct scenario *s)
{
    s->cfg = NULL;
    return ctl_config_parse(s->doc, &s->cfg, &s->em);
}

static void check_parse(struct scenario *s, int rc)
{
    if (rc == 0) {
        assert_non_null(s->cfg);
        ctl_config_free(s->cfg);
    } else {
        assert_null(s->cfg);
        assert_string_equal(s->em.msg, "out of memory");
    }
    assert_doc_unchanged(s);
}

static void test_parse_oom(void **state)
{
    struct scenario s = { .name = "ctl_config_parse", .run = run_parse,
                          .check = check_parse };

    (void)state;
    s.doc = jq(TT_RICH_DOC);
    s.before = jdump(s.doc);
    sweep(&s);
    t_free(s.before);
    json_decref(s.doc);

    s.name = "ctl_config_parse (vms)";
    s.doc = jq(TT_VM_DOC);
    s.before = jdump(s.doc);
    sweep(&s);
    t_free(s.before);
    json_decref(s.doc);
}

/*
 * ctl_mutate
 */

static int run_mutate(struct scenario *s)
{
    memset(&s->e, 0, sizeof(s->e));
    return ctl_mutate(s->doc, s->method, s->params, &s->out, &s->out2,
                      &s->e);
}

static void check_mutate(struct scenario *s, int rc)
{
    if (rc == 0) {
        assert_non_null(s->out);
        assert_non_null(s->out2);
        json_decref(s->out);
        json_decref(s->out2);
    } else {
        assert_null(s->out);
        assert_null(s->out2);
        assert_int_equal(s->e.code, CTL_RPC_SYSTEM);
        assert_string_equal(s->e.msg, "out of memory");
    }
    assert_doc_unchanged(s);
}

static void test_mutate_oom(void **state)
{
    static const struct {
        const char *method, *params;
    } cases[] = {
        { "switch.add", "{'name':'wan','type':'external','uplink':'eth9',"
                        "'management_os':true,'addresses':['10.9.0.1/24']}" },
        { "switch.add", "{'name':'lab','type':'internal'}" },
        { "switch.add", "{'name':'pv','type':'private'}" },
        { "switch.del", "{'name':'ext'}" },
        { "switch.set", "{'name':'priv','fdb_max':2048,'aging_s':20}" },
        { "port.add", "{'name':'p3','switch':'priv','class':'dpdk',"
                      "'devargs':'net_null3,no-rx=1','vlan':{'mode':'trunk',"
                      "'allowed':'1-10,20','native':20}}" },
        { "port.del", "{'name':'p2'}" },
        { "port.set", "{'name':'p1','vlan':{'mode':'trunk'},"
                      "'learn_limit':3}" },
        { "fdb.add", "{'switch':'priv','vlan':1,'mac':'02:00:00:00:00:09',"
                     "'port':'p1'}" },
        { "fdb.del", "{'switch':'priv','vlan':20,"
                     "'mac':'02:00:00:00:00:01'}" },
        /* on TT_VM_DOC from here on */
        { "vm.add", "{'name':'vm3'}" },
        { "vm.del", "{'name':'vm1'}" },
        { "vm.nic.add", "{'vm':'vm2','switch':'priv','type':'synthetic'}" },
        { "vm.nic.add", "{'vm':'vm1','name':'lan','switch':'ext',"
                        "'type':'synthetic','mac':'02:00:00:00:bb:01',"
                        "'vlan':{'mode':'trunk','allowed':'10-20',"
                        "'native':10},'learn_limit':8}" },
        { "vm.nic.del", "{'vm':'vm1','name':'eth0'}" },
        { "vm.nic.set", "{'vm':'vm1','name':'eth0','connected':false}" },
        { "port.set", "{'name':'vm1.eth1','vlan':{'mode':'access',"
                      "'vid':12}}" },
    };

    (void)state;
    for (size_t i = 0; i < VSA_ARRAY_LEN(cases); i++) {
        struct scenario s = { .name = cases[i].method, .run = run_mutate,
                              .check = check_mutate };

        s.doc = jq(strncmp(cases[i].method, "vm.", 3) &&
                           !strstr(cases[i].params, "vm1.")
                       ? TT_RICH_DOC : TT_VM_DOC);
        s.params = jq(cases[i].params);
        s.method = cases[i].method;
        s.before = jdump(s.doc);
        sweep(&s);
        t_free(s.before);
        json_decref(s.params);
        json_decref(s.doc);
    }
}

/*
 * ctl_store
 */

static char *file_bytes(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = calloc(1, 65536);

    assert_non_null(f);
    assert_non_null(buf);
    assert_true(fread(buf, 1, 65535, f) > 0);
    fclose(f);
    return buf;
}

static int run_save(struct scenario *s)
{
    return ctl_store_save(s->path, s->doc, &s->em);
}

static void check_save(struct scenario *s, int rc)
{
    char *now = file_bytes(s->path);

    if (rc == 0) {
        json_t *loaded = json_loads(now, 0, NULL);

        assert_true(json_equal(loaded, s->doc));
        json_decref(loaded);
    } else {
        assert_string_equal(now, s->before);
    }
    free(now);
}

static int run_load(struct scenario *s)
{
    s->out = NULL;
    return ctl_store_load(s->path, &s->out, &s->em);
}

static void check_load(struct scenario *s, int rc)
{
    if (rc == 0) {
        assert_true(json_equal(s->out, s->doc));
        json_decref(s->out);
    } else {
        assert_null(s->out);
    }
}

static void test_store_oom(void **state)
{
    char dir[] = "/tmp/ctl_oom_test.XXXXXX";
    struct scenario s = { .name = "ctl_store_save", .run = run_save,
                          .check = check_save };
    json_t *old = ctl_default_config();

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(s.path, sizeof(s.path), "%s/config.json", dir);
    assert_int_equal(ctl_store_save(s.path, old, &s.em), 0);
    s.before = file_bytes(s.path);
    s.doc = jq(TT_RICH_DOC);
    sweep(&s);
    free(s.before);

    s.name = "ctl_store_load";
    s.run = run_load;
    s.check = check_load;
    s.parse_error_ok = true;
    sweep(&s);

    json_decref(s.doc);
    json_decref(old);
    unlink(s.path);
    rmdir(dir);
}

/*
 * JSON-RPC framing and builders
 */

static int run_rpc_parse(struct scenario *s)
{
    struct ctl_rpc_req req;
    int rc;

    s->out = NULL;
    rc = ctl_rpc_parse(s->text, strlen(s->text), &req, &s->out);
    if (rc == 0)
        ctl_rpc_req_release(&req);
    return rc;
}

static void check_rpc_parse(struct scenario *s, int rc)
{
    if (rc == -EINVAL)
        assert_non_null(s->out);
    json_decref(s->out);
}

static int run_rpc_build(struct scenario *s)
{
    json_t *id = json_integer(5);
    json_t *r, *e;
    char *line;
    int rc = -ENOMEM;

    (void)s;
    if (!id)
        return -ENOMEM;
    r = ctl_rpc_result(id, json_pack("{s:b,s:[s]}", "ok", 1, "ports", "p"));
    e = ctl_rpc_error(id, CTL_RPC_RULE, "rule %d", 1);
    line = r ? ctl_rpc_encode(r, NULL) : NULL;
    if (r && e && line)
        rc = 0;
    ctl_free(line);
    json_decref(r);
    json_decref(e);
    json_decref(id);
    return rc;
}

static void check_nothing(struct scenario *s, int rc)
{
    (void)s;
    (void)rc;
}

static int run_linebuf(struct scenario *s)
{
    static char chunk[10000];
    const char *line;
    size_t len;
    int rc;

    memset(chunk, 'a', sizeof(chunk));
    chunk[5000] = '\n';
    ctl_linebuf_init(&s->lb);
    rc = ctl_linebuf_append(&s->lb, "x\n", 2);
    if (rc == 0)
        rc = ctl_linebuf_append(&s->lb, chunk, sizeof(chunk));
    if (rc == 0)
        rc = ctl_linebuf_append(&s->lb, chunk, sizeof(chunk));
    while (rc == 0 && ctl_linebuf_next(&s->lb, &line, &len) == 1)
        ;
    ctl_linebuf_free(&s->lb);
    return rc;
}

static int run_vlan_json(struct scenario *s)
{
    struct vlan_port_mode m;
    json_t *a, *t, *d;
    int rc = -ENOMEM;

    (void)s;
    vlan_port_mode_default(&m);
    a = ctl_vlan_to_json(&m);
    m.mode = VLAN_MODE_TRUNK;
    vlan_set_parse("1-10,12,14,4000-4094", m.allowed, NULL);
    t = ctl_vlan_to_json(&m);
    d = ctl_default_config();
    if (a && t && d)
        rc = 0;
    json_decref(a);
    json_decref(t);
    json_decref(d);
    return rc;
}

static void test_rpc_oom(void **state)
{
    struct scenario s = { .name = "ctl_rpc_parse (valid)",
                          .run = run_rpc_parse, .check = check_rpc_parse,
                          .parse_error_ok = true };

    (void)state;
    s.text = "{\"jsonrpc\":\"2.0\",\"method\":\"port.add\",\"id\":\"x\","
             "\"params\":{\"name\":\"p\",\"vlan\":{\"mode\":\"trunk\"}}}";
    sweep(&s);
    s.name = "ctl_rpc_parse (invalid)";
    s.final_rc = -EINVAL;
    s.text = "{\"jsonrpc\":\"2.0\",\"method\":5,\"id\":7}";
    sweep(&s);
    s.name = "ctl_rpc_parse (not JSON)";
    s.text = "{\"jsonrpc\":";
    sweep(&s);

    s.name = "ctl_rpc_result/error/encode";
    s.final_rc = 0;
    s.run = run_rpc_build;
    s.check = check_nothing;
    s.parse_error_ok = false;
    sweep(&s);

    s.name = "ctl_linebuf";
    s.run = run_linebuf;
    sweep(&s);

    s.name = "ctl_vlan_to_json/default";
    s.run = run_vlan_json;
    sweep(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_oom),
        cmocka_unit_test(test_mutate_oom),
        cmocka_unit_test(test_store_oom),
        cmocka_unit_test(test_rpc_oom),
    };

    /* Before any allocation, so that every block goes through the hook. */
    json_set_alloc_funcs(t_malloc, t_free);
    ctl_alloc_set_funcs(t_malloc, t_free);
    return cmocka_run_group_tests_name("tools-oom", tests, NULL, NULL);
}
