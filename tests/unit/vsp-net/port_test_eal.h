/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * port_test_eal.h — EAL and switch bring-up shared by the VM NIC port
 * tests (test_netvsp_port.c, test_tulip_port.c): a --no-huge EAL with a
 * private --file-prefix, lcore 1 as the one datapath lcore, and a vswitch;
 * teardown removes the EAL's runtime files.  Header-only, test code.
 */
#ifndef PORT_TEST_EAL_H
#define PORT_TEST_EAL_H

#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>

#include "common/vsa_log.h"
#include "vswitch/vswitch.h"

/* Brings up the EAL (`name` is argv[0] and, with the pid, the file
 * prefix) and a switch with 2047 mbufs into *sw.  0 or -1 (printed). */
static inline int port_test_eal_up(const char *name, struct vsw **sw)
{
    char prefix[64];
    char *argv[] = {
        (char *)name, "--no-huge", "-m", "256", "--no-pci",
        "--file-prefix", prefix, "-l", "0,1", "--main-lcore", "0",
        "--log-level", "lib.eal:error", NULL,
    };
    struct vsw_params prm = { .n_mbufs = 2047, .n_dp_lcores = 1 };
    struct vsa_errmsg em;

    vsa_log_set_level(VSA_LOG_WARN);
    snprintf(prefix, sizeof(prefix), "vt_%s%d", name, (int)getpid());
    if (rte_eal_init((int)(sizeof(argv) / sizeof(argv[0])) - 1, argv) < 0) {
        fprintf(stderr, "rte_eal_init failed: %s\n", rte_strerror(rte_errno));
        return -1;
    }
    if (vsw_create(&prm, sw, &em) != 0) {
        fprintf(stderr, "vsw_create: %s\n", em.msg);
        return -1;
    }
    return 0;
}

static inline int port_test_rm_entry(const char *path, const struct stat *sb,
                                     int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

/* Destroys the switch, cleans up the EAL and removes its runtime files
 * (--file-prefix), which would otherwise stay in /var/run/dpdk. */
static inline void port_test_eal_down(struct vsw **sw)
{
    char runtime[PATH_MAX];

    vsw_destroy(*sw);
    *sw = NULL;
    snprintf(runtime, sizeof(runtime), "%s", rte_eal_get_runtime_dir());
    rte_eal_cleanup();
    if (runtime[0])
        nftw(runtime, port_test_rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

#endif /* PORT_TEST_EAL_H */
