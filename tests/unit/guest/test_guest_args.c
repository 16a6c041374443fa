/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_guest_args.c — objective: vesper-guest's command line is parsed
 * exactly as documented (tools/vesper-guest/args.h): defaults, the
 * --nic/--tap pairing, synthetic[:INDEX] and legacy[:INDEX] (mixed in one
 * agent, each kind with its own index range), --handshake, --mtu and bench's
 * options and their ranges (bench NICs of either kind, --interval-ms, a
 * legacy NIC's frame size bound by its MTU of 1500); every malformed line
 * is refused with a message and nothing half-parsed is used.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tools/vesper-guest/args.h"

static int parse(struct vg_opts *o, char *err, const char *const *argv)
{
    char *v[32];
    int n = 0;

    v[n++] = (char *)"vesper-guest";
    while (*argv && n < 31)
        v[n++] = (char *)*argv++;
    v[n] = NULL;
    err[0] = '\0';
    return vg_args_parse(n, v, o, err, 256);
}

#define PARSE(o, err, ...)                                                    \
    parse((o), (err), (const char *const[]){ __VA_ARGS__, NULL })

static void test_run_defaults(void **state)
{
    struct vg_opts o;
    char err[256];

    (void)state;
    assert_int_equal(PARSE(&o, err, "--partition", "/run/vesper/vm/a.sock",
                           "--nic", "synthetic", "--tap", "eth0"), 0);
    assert_int_equal(o.cmd, VG_CMD_RUN);
    assert_string_equal(o.partition, "/run/vesper/vm/a.sock");
    assert_int_equal(o.nnics, 1);
    assert_int_equal(o.nics[0].index, 0);
    assert_string_equal(o.nics[0].tap, "eth0");
    assert_int_equal(o.mode, VSPN_VSC_LINUX);
    assert_int_equal(o.mtu, 1500);
    assert_null(o.netns);
    assert_false(o.verbose);
}

static void test_run_full(void **state)
{
    struct vg_opts o;
    char err[256];

    (void)state;
    assert_int_equal(PARSE(&o, err, "--partition=/p.sock", "--nic",
                           "synthetic:2", "--tap", "t2", "--nic",
                           "synthetic:0", "--tap", "t0", "--netns", "vm1",
                           "--handshake", "minimal", "--mtu", "9000", "-v"),
                     0);
    assert_int_equal(o.nnics, 2);
    assert_int_equal(o.nics[0].index, 2);
    assert_string_equal(o.nics[0].tap, "t2");
    assert_int_equal(o.nics[1].index, 0);
    assert_string_equal(o.nics[1].tap, "t0");
    assert_string_equal(o.netns, "vm1");
    assert_int_equal(o.mode, VSPN_VSC_MINIMAL);
    assert_int_equal(o.mtu, 9000);
    assert_true(o.verbose);
}

static void test_bench(void **state)
{
    struct vg_opts o;
    char err[256];

    (void)state;
    assert_int_equal(PARSE(&o, err, "bench", "--partition", "/a", "--nic",
                           "synthetic:0", "--nic", "synthetic:1"), 0);
    assert_int_equal(o.cmd, VG_CMD_BENCH);
    assert_int_equal(o.size, 64);
    assert_true(o.seconds == VG_BENCH_SECONDS_DEFAULT);
    assert_int_equal(o.nics[1].partition, 0);
    assert_int_equal(PARSE(&o, err, "bench", "--partition", "/a",
                           "--partition2", "/b", "--nic", "synthetic:0",
                           "--nic", "synthetic:0", "--seconds", "2.5",
                           "--size", "1514"), 0);
    assert_int_equal(o.nics[0].partition, 0);
    assert_int_equal(o.nics[1].partition, 1);
    assert_true(o.seconds == 2.5);
    assert_int_equal(o.size, 1514);
    assert_int_equal(o.interval_ms, 0);
}

static void test_bench_legacy(void **state)
{
    struct vg_opts o;
    char err[256];

    (void)state;
    /* two VMs, a legacy NIC each, progress lines every 250 ms */
    assert_int_equal(PARSE(&o, err, "bench", "--partition", "/a",
                           "--partition2", "/b", "--nic", "legacy",
                           "--nic", "legacy", "--interval-ms", "250"), 0);
    assert_int_equal(o.cmd, VG_CMD_BENCH);
    assert_int_equal(o.nics[0].kind, VG_NIC_LEGACY);
    assert_int_equal(o.nics[0].index, 0);
    assert_int_equal(o.nics[0].partition, 0);
    assert_int_equal(o.nics[1].kind, VG_NIC_LEGACY);
    assert_int_equal(o.nics[1].partition, 1);
    assert_int_equal(o.interval_ms, 250);
    assert_int_equal(o.size, 64);
    /* one VM, two legacy NICs; the kinds mixed; the same index in both
     * kinds is two NICs */
    assert_int_equal(PARSE(&o, err, "bench", "--partition", "/a", "--nic",
                           "legacy:0", "--nic", "legacy:1", "--size",
                           "1514"), 0);
    assert_int_equal(o.nics[1].index, 1);
    assert_int_equal(o.nics[1].partition, 0);
    assert_int_equal(PARSE(&o, err, "bench", "--partition", "/a", "--nic",
                           "synthetic:0", "--nic", "legacy:0"), 0);
    assert_int_equal(o.nics[0].kind, VG_NIC_SYNTHETIC);
    assert_int_equal(o.nics[1].kind, VG_NIC_LEGACY);
    /* --interval-ms at its bounds, synthetic bench too */
    assert_int_equal(PARSE(&o, err, "bench", "--partition", "/a", "--nic",
                           "synthetic:0", "--nic", "synthetic:1",
                           "--interval-ms", "10"), 0);
    assert_int_equal(o.interval_ms, 10);
    assert_int_equal(PARSE(&o, err, "bench", "--partition", "/a", "--nic",
                           "synthetic:0", "--nic", "synthetic:1",
                           "--interval-ms=3600000"), 0);
    assert_int_equal(o.interval_ms, 3600000);
    /* a big --mtu lifts the synthetic bound, not the legacy one */
    assert_int_equal(PARSE(&o, err, "bench", "--partition", "/a", "--nic",
                           "synthetic:0", "--nic", "synthetic:1", "--mtu",
                           "9000", "--size", "9014"), 0);
    assert_int_equal(PARSE(&o, err, "bench", "--partition", "/a", "--nic",
                           "synthetic:0", "--nic", "legacy:0", "--mtu",
                           "9000", "--size", "1515"), -EINVAL);
    assert_non_null(strstr(err, "legacy:0"));
}

static void test_legacy(void **state)
{
    struct vg_opts o;
    char err[256];

    (void)state;
    assert_int_equal(PARSE(&o, err, "--partition", "/p", "--nic", "legacy",
                           "--tap", "eth0"), 0);
    assert_int_equal(o.nnics, 1);
    assert_int_equal(o.nics[0].kind, VG_NIC_LEGACY);
    assert_int_equal(o.nics[0].index, 0);
    assert_string_equal(o.nics[0].tap, "eth0");
    /* mixed, and the same index in both kinds is two different NICs */
    assert_int_equal(PARSE(&o, err, "--partition", "/p", "--nic",
                           "synthetic:1", "--tap", "s1", "--nic", "legacy:7",
                           "--tap", "l7", "--nic", "legacy:1", "--tap", "l1",
                           "--nic", "synthetic", "--tap", "s0"), 0);
    assert_int_equal(o.nnics, 4);
    assert_int_equal(o.nics[0].kind, VG_NIC_SYNTHETIC);
    assert_int_equal(o.nics[0].index, 1);
    assert_int_equal(o.nics[1].kind, VG_NIC_LEGACY);
    assert_int_equal(o.nics[1].index, 7);
    assert_string_equal(o.nics[1].tap, "l7");
    assert_int_equal(o.nics[2].kind, VG_NIC_LEGACY);
    assert_int_equal(o.nics[2].index, 1);
    assert_int_equal(o.nics[3].kind, VG_NIC_SYNTHETIC);
    assert_int_equal(o.nics[3].index, 0);
    assert_int_equal(o.tx_autopoll, 0);
    /* --tx-autopoll: a CSR0 TAP code for the legacy NICs, in either mode */
    assert_int_equal(PARSE(&o, err, "--partition", "/p", "--nic", "legacy",
                           "--tap", "eth0", "--tx-autopoll", "1"), 0);
    assert_int_equal(o.tx_autopoll, 1);
    assert_int_equal(PARSE(&o, err, "bench", "--partition", "/p", "--nic",
                           "synthetic", "--nic", "legacy", "--tx-autopoll",
                           "7"), 0);
    assert_int_equal(o.tx_autopoll, 7);
    assert_int_equal(PARSE(&o, err, "--partition", "/p", "--nic", "synthetic",
                           "--tap", "s0", "--tx-autopoll", "1"), -EINVAL);
    assert_non_null(strstr(err, "--tx-autopoll is for legacy NICs"));
}

static void test_help(void **state)
{
    struct vg_opts o;
    char err[256];

    (void)state;
    assert_int_equal(PARSE(&o, err, "--help"), 0);
    assert_int_equal(o.cmd, VG_CMD_HELP);
}

static void test_refused(void **state)
{
    static const char *const bad[][16] = {
        { "--nic", "synthetic", "--tap", "t" },               /* no partition */
        { "--partition", "/p", "--tap", "t" },                /* no nic */
        { "--partition", "/p", "--nic", "synthetic" },        /* no tap */
        { "--partition", "/p", "--nic", "emulated", "--tap", "t" },
        { "--partition", "/p", "--nic", "synthetic:", "--tap", "t" },
        { "--partition", "/p", "--nic", "synthetic:64", "--tap", "t" },
        { "--partition", "/p", "--nic", "synthetic:-1", "--tap", "t" },
        { "--partition", "/p", "--nic", "synthetic:1x", "--tap", "t" },
        { "--partition", "/p", "--nic", "synthetic", "--tap",
          "a-very-long-ifname" },
        { "--partition", "/p", "--nic", "synthetic", "--tap", "a/b" },
        { "--partition", "/p", "--nic", "synthetic", "--tap", "t",
          "--handshake", "dpdk" },
        { "--partition", "/p", "--nic", "synthetic", "--tap", "t", "--mtu",
          "67" },
        { "--partition", "/p", "--nic", "synthetic", "--tap", "t", "--mtu",
          "9217" },
        { "--partition", "/p", "--nic", "synthetic", "--tap", "t", "--netns",
          "../x" },
        { "--partition", "/p", "--nic", "synthetic", "--tap", "t", "--nic",
          "synthetic", "--tap", "u" },                        /* same nic */
        { "--partition", "/p", "--nic", "synthetic:0", "--tap", "t", "--nic",
          "synthetic:1", "--tap", "t" },                      /* same tap */
        { "--partition", "/p", "--nic", "synthetic", "--tap", "t",
          "--partition2", "/q" },
        { "--partition", "/p", "--nic", "synthetic", "--tap", "t", "extra" },
        { "--partition", "/p", "--nic", "legacy:8", "--tap", "t" }, /* 8 irqs */
        { "--partition", "/p", "--nic", "legacy:", "--tap", "t" },
        { "--partition", "/p", "--nic", "legacyx", "--tap", "t" },
        { "--partition", "/p", "--nic", "legacy:0", "--tap", "t", "--nic",
          "legacy", "--tap", "u" },                           /* same nic */
        { "bench", "--partition", "/p", "--nic", "legacy:0", "--nic",
          "legacy" },                                         /* same nic */
        { "bench", "--partition", "/p", "--nic", "legacy:0", "--nic",
          "legacy:1", "--size", "1515" },                     /* legacy MTU */
        { "bench", "--partition", "/p", "--nic", "legacy:0", "--nic",
          "legacy:1", "--mtu", "9000", "--size", "2000" },
        { "bench", "--partition", "/p", "--nic", "legacy:0", "--nic",
          "legacy:1", "--interval-ms", "9" },
        { "bench", "--partition", "/p", "--nic", "legacy:0", "--nic",
          "legacy:1", "--interval-ms", "3600001" },
        { "bench", "--partition", "/p", "--nic", "legacy:0", "--nic",
          "legacy:1", "--interval-ms", "1s" },
        { "bench", "--partition", "/p", "--nic", "legacy:0", "--nic",
          "legacy:1", "--interval-ms", "-5" },
        { "bench", "--partition", "/p", "--nic", "legacy:0", "--nic",
          "legacy:1", "--interval-ms" },
        { "--partition", "/p", "--nic", "legacy", "--tap", "t",
          "--interval-ms", "100" },                           /* bench only */
        { "--partition", "/p", "--nic", "legacy", "--tap", "t",
          "--tx-autopoll", "8" },                             /* TAP 0-7 */
        { "--partition", "/p", "--nic", "legacy", "--tap", "t",
          "--tx-autopoll", "-1" },
        { "--partition", "/p", "--nic", "synthetic", "--tap", "t",
          "--tx-autopoll", "1" },                             /* no legacy */
        { "--partition", "/p", "--nic", "synthetic", "--tap", "t", "--bogus" },
        { "--partition", "/p", "--nic", "synthetic", "--tap", "t", "--mtu" },
        { "bench", "--partition", "/p", "--nic", "synthetic:0" },
        { "bench", "--partition", "/p", "--nic", "synthetic:0", "--nic",
          "synthetic:0" },
        { "bench", "--partition", "/p", "--nic", "synthetic:0", "--nic",
          "synthetic:1", "--tap", "t" },
        { "bench", "--partition", "/p", "--nic", "synthetic:0", "--nic",
          "synthetic:1", "--seconds", "0" },
        { "bench", "--partition", "/p", "--nic", "synthetic:0", "--nic",
          "synthetic:1", "--seconds", "abc" },
        { "bench", "--partition", "/p", "--nic", "synthetic:0", "--nic",
          "synthetic:1", "--size", "59" },
        { "bench", "--partition", "/p", "--nic", "synthetic:0", "--nic",
          "synthetic:1", "--size", "1515" },                  /* > MTU + 14 */
    };
    struct vg_opts o;
    char err[256];

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = parse(&o, err, bad[i]);

        if (rc != -EINVAL)
            fail_msg("case %zu accepted", i);
        if (!err[0])
            fail_msg("case %zu: no message", i);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_run_defaults),
        cmocka_unit_test(test_run_full),
        cmocka_unit_test(test_bench),
        cmocka_unit_test(test_bench_legacy),
        cmocka_unit_test(test_legacy),
        cmocka_unit_test(test_help),
        cmocka_unit_test(test_refused),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
