/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * main.c — vesper-guest's entry point: arguments, signals (a signalfd for
 * SIGINT / SIGTERM / SIGUSR1, SIGPIPE ignored), the network namespace,
 * then the agent (loop.h) or the benchmark (bench.h).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "common/vsa_log.h"
#include "tools/vesper-guest/args.h"
#include "tools/vesper-guest/bench.h"
#include "tools/vesper-guest/loop.h"
#include "tools/vesper-guest/tap.h"

VSA_LOG_MODULE(vesper_guest);

static int open_signals(void)
{
    sigset_t set;

    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGUSR1);
    if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
        return -errno;
    return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

int main(int argc, char **argv)
{
    static struct vg_agent agent; /* large: frame buffers per port */
    struct vg_opts o;
    char err[256];
    int sig_fd, rc;

    if (vg_args_parse(argc, argv, &o, err, sizeof(err))) {
        fprintf(stderr, "vesper-guest: %s\n", err);
        vg_args_usage(stderr);
        return 2;
    }
    if (o.cmd == VG_CMD_HELP) {
        vg_args_usage(stdout);
        return 0;
    }
    if (o.verbose)
        vsa_log_set_level(VSA_LOG_DEBUG);
    sig_fd = open_signals();
    if (sig_fd < 0) {
        fprintf(stderr, "vesper-guest: signalfd: %s\n", strerror(-sig_fd));
        return 1;
    }
    if (o.netns) {
        rc = vg_netns_enter(o.netns);
        if (rc) {
            fprintf(stderr, "vesper-guest: netns %s: %s\n", o.netns,
                    strerror(-rc));
            return 1;
        }
    }
    if (o.cmd == VG_CMD_BENCH)
        return vg_bench_run(&o, sig_fd, stdout);

    rc = vg_agent_init(&agent, &o, NULL, sig_fd);
    if (rc) {
        fprintf(stderr, "vesper-guest: %s\n", strerror(-rc));
        return 1;
    }
    rc = vg_agent_run(&agent);
    vg_agent_fini(&agent);
    close(sig_fd);
    return rc;
}
