/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_vd_cores.c — objective: vesperd's --cores argument
 * (tools/vesperd/cores.c) takes lists and ranges in the operator's order
 * and refuses every mistake with one line that names it, before DPDK
 * (whose answer to a CPU that is not there was its whole usage text).
 * The CPUs a process may use are given as a set: here 0-3 and 8.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "tools/vesperd/cores.h"

static cpu_set_t allowed;

static int setup(void **state)
{
    (void)state;
    CPU_ZERO(&allowed);
    for (int c = 0; c < 4; c++)
        CPU_SET(c, &allowed);
    CPU_SET(8, &allowed);
    return 0;
}

static void expect_ok(const char *list, unsigned n, const unsigned *cpus,
                      const char *eal)
{
    struct vd_cores c;
    char err[256] = "";

    if (vd_cores_parse(list, &allowed, &c, err, sizeof(err)) != 0)
        fail_msg("'%s' refused: %s", list, err);
    assert_int_equal(c.n, n);
    for (unsigned i = 0; i < n; i++)
        assert_int_equal(c.cpu[i], cpus[i]);
    assert_string_equal(c.eal_list, eal);
}

static void expect_refused(const char *list, const char *msg)
{
    struct vd_cores c;
    char err[256] = "";

    assert_int_equal(vd_cores_parse(list, &allowed, &c, err, sizeof(err)),
                     -EINVAL);
    assert_string_equal(err, msg);
}

static void test_accepted(void **state)
{
    (void)state;
    expect_ok("0,1", 2, (const unsigned[]){ 0, 1 }, "0,1");
    expect_ok("0-3", 4, (const unsigned[]){ 0, 1, 2, 3 }, "0,1,2,3");
    expect_ok("1,0", 2, (const unsigned[]){ 1, 0 }, "1,0"); /* control 1 */
    expect_ok("0,2-3,8", 4, (const unsigned[]){ 0, 2, 3, 8 }, "0,2,3,8");
}

static void test_refused(void **state)
{
    (void)state;
    expect_refused("", "--cores '': empty (e.g. 0,1: control core 0, "
                   "datapath core 1)");
    expect_refused("0", "--cores 0: needs a control core and at least one "
                   "datapath core (e.g. 0,1)");
    expect_refused("0,7", "--cores 0,7: CPU 7 is not available (vesperd may "
                   "use CPUs 0-3,8)");
    expect_refused("0,1,1", "--cores 0,1,1: CPU 1 is named twice");
    expect_refused("0-2,2", "--cores 0-2,2: CPU 2 is named twice");
    expect_refused("3-1", "--cores 3-1: range 3-1 is reversed");
    for (const char *const *l = (const char *const[]){
             "x", "0,,1", "0,1x", ",0,1", "0,1,", "0-", "-1", "0 1",
             "0,+1", "0,99999999999999999999", NULL };
         *l; l++) {
        char msg[128];

        snprintf(msg, sizeof(msg), "--cores %s: not a list of CPU numbers "
                 "(e.g. 0,1 or 0,2-3)", *l);
        expect_refused(*l, msg);
    }
}

/* More CPUs than one control core and VD_CORES_MAX_DP datapath cores. */
static void test_too_many(void **state)
{
    struct vd_cores c;
    char err[256];
    (void)state;

    CPU_ZERO(&allowed);
    for (int c2 = 0; c2 < 64; c2++)
        CPU_SET(c2, &allowed);
    assert_int_equal(vd_cores_parse("0-16", &allowed, &c, err, sizeof(err)),
                     0);
    assert_int_equal(c.n, VD_CORES_MAX_DP + 1);
    assert_int_equal(vd_cores_parse("0-17", &allowed, &c, err, sizeof(err)),
                     -EINVAL);
    assert_string_equal(err, "--cores 0-17: more than 17 CPUs (one control "
                        "core and at most 16 datapath cores)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_accepted, setup),
        cmocka_unit_test_setup(test_refused, setup),
        cmocka_unit_test_setup(test_too_many, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
