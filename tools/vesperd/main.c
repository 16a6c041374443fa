/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * main.c — vesperd: arguments, EAL start, configuration replay, and the
 * control thread's epoll loop.
 *
 *   vesperd [--config PATH] [--socket PATH] [--vm-dir DIR] [--cores LIST]
 *           [--mbufs N] [--no-huge] [--pci] [--file-prefix P]
 *           [--log-level L] [-- EAL-ARGS...]
 *
 * --cores: the first core runs the control thread, the others the datapath
 * (default "0,1").  Hugepages are used when hugetlbfs is mounted at
 * /dev/hugepages with free 2 MB pages (then DPDK runs --in-memory),
 * otherwise DPDK gets --no-huge -m 1024 (slower, same behaviour).  When
 * DPDK cannot start on the hugepages, or the packet pool does not fit in
 * what is free of them (other processes hold pages too), vesperd starts
 * itself again with --no-huge (restart_without_hugepages).
 *
 * --vm-dir: where the VM partition sockets live (<DIR>/<VM>.sock, default
 * /run/vesper/vm); the VM module (vm.c) has an epoll set of its own, which
 * the control loop polls as one fd.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <sched.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>

#include "common/vsa_accept.h"
#include "common/vsa_alloc.h"
#include "common/vsa_log.h"
#include "tools/ctl/ctl_store.h"
#include "tools/vesperd/cores.h"
#include "tools/vesperd/vesperd.h"

VSA_LOG_MODULE(vesperd);

#define HUGETLBFS_MAGIC_ 0x958458f6

static void usage(FILE *f)
{
    fprintf(f,
        "usage: vesperd [options] [-- EAL-ARGS...]\n"
        "  --config PATH      desired-state document (default %s)\n"
        "  --socket PATH      control socket (default %s)\n"
        "  --vm-dir DIR       VM partition sockets (default %s)\n"
        "  --cores LIST       control core, then datapath cores (default 0,1)\n"
        "  --mbufs N          packet pool size (default 32767)\n"
        "  --no-huge          do not use hugepages even if mounted\n"
        "  --pci              scan the PCI bus (off by default)\n"
        "  --file-prefix P    DPDK runtime file prefix (no-huge mode)\n"
        "  --log-level L      err|warn|info|debug (default info)\n"
        "  --check            validate the configuration file and exit\n"
        "  -h, --help         this text\n",
        VD_DEFAULT_CONFIG, VD_DEFAULT_SOCKET, VD_DEFAULT_VM_DIR);
}

static bool hugepages_usable(void)
{
    struct statfs sfs;
    FILE *f;
    long free_pages = 0;

    if (statfs("/dev/hugepages", &sfs) < 0 ||
        (unsigned long)sfs.f_type != HUGETLBFS_MAGIC_)
        return false;
    /* the 2 MB pool's own count (HugePages_Free in /proc/meminfo is the
     * default size's, which a kernel may boot with at 1 GB) */
    f = fopen("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages",
              "r");
    if (!f)
        return false;
    if (fscanf(f, "%ld", &free_pages) != 1)
        free_pages = 0;
    fclose(f);
    return free_pages >= 256;
}

/* Where the switch records the kernel NICs it binds until it gives them
 * back (vsw_params.nic_journal_dir): beside the control socket, which
 * names one vesperd, "<socket minus .sock>.nics" (default
 * /run/vesper/vesperd.nics, a tmpfs).  The socket's directory is created
 * if missing.  NULL if the path is too long. */
static const char *nic_state_dir(const char *socket_path)
{
    static char dir[256];
    size_t n = strlen(socket_path);
    char *slash;

    if (n >= 5 && strcmp(socket_path + n - 5, ".sock") == 0)
        n -= 5;
    if (n + sizeof(".nics") > sizeof(dir))
        return NULL;
    memcpy(dir, socket_path, n);
    memcpy(dir + n, ".nics", sizeof(".nics"));
    slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        mkdir(dir, 0755);
        *slash = '/';
    }
    return dir;
}

/* Hugepages were free when vesperd looked, but DPDK could not start on
 * them or the packet pool did not fit (`why`): the process replaces itself
 * with the same command line plus --no-huge, so the pid, the terminal and
 * every option stay, and the retry happens once (--no-huge is never
 * retried).  What vesperd holds open is close-on-exec, the locks among it;
 * DPDK's descriptors are not all so (the hugepage segments' memfds, which
 * rte_eal_cleanup leaves open in --in-memory mode, would pin their pages
 * for the new image's whole life), so every descriptor past stderr is
 * made close-on-exec here.
 * The EAL pinned this thread to the control lcore's CPU: `cpus`, the set
 * vesperd started with, is given back first, or the new image would see
 * one CPU.  Returns only if the exec fails. */
/* close_range's CLOSE_RANGE_CLOEXEC is Linux 5.11: before it, every
 * descriptor /proc lists past stderr, one by one (best effort). */
static void cloexec_by_proc(void)
{
    DIR *dir = opendir("/proc/self/fd");
    struct dirent *e;

    if (!dir)
        return;
    while ((e = readdir(dir)) != NULL) {
        int fd = atoi(e->d_name);

        if (fd > 2 && fd != dirfd(dir))
            (void)fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) | FD_CLOEXEC);
    }
    closedir(dir);
}

static int restart_without_hugepages(int argc, char **argv,
                                     const cpu_set_t *cpus, const char *why)
{
    char *nargv[argc + 2];

    fprintf(stderr, "vesperd: %s on hugepages; starting again without "
            "them (--no-huge)\n", why);
    fflush(NULL);
    nargv[0] = argv[0];
    nargv[1] = (char *)"--no-huge";
    for (int i = 1; i < argc; i++)
        nargv[i + 1] = argv[i];
    nargv[argc + 1] = NULL;
    if (sched_setaffinity(0, sizeof(*cpus), cpus) != 0) {
        fprintf(stderr, "vesperd: cannot start again: restoring the CPU "
                "set: %s\n", strerror(errno));
        return 1;
    }
    if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0)
        cloexec_by_proc();
    execv("/proc/self/exe", nargv);
    fprintf(stderr, "vesperd: cannot start again: %s\n", strerror(errno));
    return 1;
}

static volatile sig_atomic_t stop_now;

/* Adds fd to the epoll set for input: 0 or -1 (errno set). */
static int watch(int epfd, int fd)
{
    struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

    return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

/* Whether the directory `dir` is the one `file` is in (both resolved when
 * they exist, else as written, trailing slashes aside). */
static bool same_dir(const char *dir, const char *file)
{
    char fdir[PATH_MAX], a[PATH_MAX], b[PATH_MAX];
    const char *slash = strrchr(file, '/');
    size_t n;

    if (!slash)
        snprintf(fdir, sizeof(fdir), ".");
    else
        snprintf(fdir, sizeof(fdir), "%.*s", slash == file ? 1 :
                 (int)(slash - file), file);
    if (realpath(dir, a) && realpath(fdir, b))
        return strcmp(a, b) == 0;
    snprintf(a, sizeof(a), "%s", dir);
    n = strlen(a);
    while (n > 1 && a[n - 1] == '/')
        a[--n] = '\0';
    return strcmp(a, fdir) == 0;
}

int main(int argc, char **argv)
{
    static struct vd d;
    static char config_file[PATH_MAX];
    const char *cores = "0,1", *prefix = NULL, *level = "info";
    unsigned long mbufs = 32767;
    bool no_huge = false, pci = false, check_only = false, is_default;
    char *eal_argv[64];
    int eal_argc = 0, extra_start = argc;
    char main_lcore[16], mem_prefix[64], cores_err[256];
    struct vd_cores cl;
    cpu_set_t allowed;
    struct vsa_errmsg em = { "" };
    struct vsw_params vp = { 0 };
    json_t *doc = NULL;
    int rc, tfd = -1, sfd = -1, exit_code = 0;
    sigset_t mask;

    int orig_argc = argc;

    d.config_path = VD_DEFAULT_CONFIG;
    d.socket_path = VD_DEFAULT_SOCKET;
    d.vm_dir = VD_DEFAULT_VM_DIR;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            extra_start = i + 1;
            argc = i;
            break;
        }
    }
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "socket", required_argument, NULL, 's' },
        { "vm-dir", required_argument, NULL, 'V' },
        { "cores", required_argument, NULL, 'l' },
        { "mbufs", required_argument, NULL, 'm' },
        { "no-huge", no_argument, NULL, 'H' },
        { "pci", no_argument, NULL, 'P' },
        { "file-prefix", required_argument, NULL, 'f' },
        { "log-level", required_argument, NULL, 'L' },
        { "check", no_argument, NULL, 'C' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int opt;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        char *end;
        switch (opt) {
        case 'c': d.config_path = optarg; break;
        case 's': d.socket_path = optarg; break;
        case 'V': d.vm_dir = optarg; break;
        case 'l': cores = optarg; break;
        case 'm':
            mbufs = strtoul(optarg, &end, 10);
            if (*end || mbufs < 1024 || mbufs > 4000000) {
                fprintf(stderr, "vesperd: --mbufs: '%s' is not in "
                        "1024..4000000\n", optarg);
                return 2;
            }
            break;
        case 'H': no_huge = true; break;
        case 'P': pci = true; break;
        case 'f': prefix = optarg; break;
        case 'L': level = optarg; break;
        case 'C': check_only = true; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "vesperd: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    /* "" would be a file in the working directory, or for the socket an
     * abstract name no client can reach */
    if (!d.config_path[0] || !d.socket_path[0] || !d.vm_dir[0]) {
        fprintf(stderr, "vesperd: --%s: the path is empty\n",
                !d.config_path[0] ? "config"
                : !d.socket_path[0] ? "socket" : "vm-dir");
        return 2;
    }
    /* A VM's socket is <vm-dir>/<name>.sock: in the control socket's
     * directory, a VM named like it would replace it. */
    if (same_dir(d.vm_dir, d.socket_path)) {
        fprintf(stderr, "vesperd: --vm-dir %s is the directory of the "
                "control socket %s: a VM named after it would replace it "
                "(a VM's socket is VM-DIR/NAME.sock); give the VMs a "
                "directory of their own\n", d.vm_dir, d.socket_path);
        return 2;
    }
    if (strcmp(level, "err") == 0) vsa_log_set_level(VSA_LOG_ERR);
    else if (strcmp(level, "warn") == 0) vsa_log_set_level(VSA_LOG_WARN);
    else if (strcmp(level, "info") == 0) vsa_log_set_level(VSA_LOG_INFO);
    else if (strcmp(level, "debug") == 0) vsa_log_set_level(VSA_LOG_DEBUG);
    else {
        fprintf(stderr, "vesperd: --log-level: '%s' is not err, warn, info "
                "or debug\n", level);
        return 2;
    }

    /* The configuration is checked before DPDK starts: a damaged file
     * must stop us without touching anything. */
    rc = ctl_store_load(d.config_path, &doc, &em);
    if (check_only) {
        /* --check validates the file it is given: a missing one (a typo)
         * is not valid, though vesperd would start on the defaults.  em
         * names the file first ("PATH: no such file", "PATH: damaged:
         * ...", "PATH: invalid configuration: ..."). */
        if (rc < 0) {
            fprintf(stderr, "%s\n", em.msg);
            return 1;
        }
        printf("%s: valid\n", d.config_path);
        json_decref(doc);
        return 0;
    }
    if (rc < 0 && rc != -ENOENT) {
        fprintf(stderr, "vesperd: refusing to start: %s\n", em.msg);
        return 1;
    }
    /* --cores is checked here (not for --check, which only reads the
     * file, whatever CPUs it runs on): the EAL would answer a CPU that is
     * not there with its whole usage text. */
    if (sched_getaffinity(0, sizeof(allowed), &allowed) < 0) {
        fprintf(stderr, "vesperd: cannot read the CPUs it may use: %s\n",
                strerror(errno));
        json_decref(doc);
        return 1;
    }
    if (vd_cores_parse(cores, &allowed, &cl, cores_err,
                       sizeof(cores_err)) < 0) {
        fprintf(stderr, "vesperd: %s\n", cores_err);
        json_decref(doc);
        return 2;
    }
    /* One vesperd per control socket, configuration file and VM socket
     * directory: refused before DPDK starts or anything is touched.  The
     * socket's lock (in its NIC state directory) is taken by vsw_create,
     * after the EAL, which leaves runtime files behind, so it is only
     * looked at here, first, creating nothing: a second vesperd on the
     * same socket is refused before it takes (and creates) the others.
     * The descriptors of the other two stay open for the process's life. */
    vp.nic_journal_dir = nic_state_dir(d.socket_path);
    if (!vp.nic_journal_dir) {
        fprintf(stderr, "vesperd: socket path too long: %s\n", d.socket_path);
        json_decref(doc);
        return 1;
    }
    if (vsw_nic_journal_check(vp.nic_journal_dir, &em) < 0 ||
        ctl_store_lock(d.config_path, config_file, sizeof(config_file),
                       &em) < 0 ||
        vd_vm_dir_lock(d.vm_dir, &em) < 0) {
        fprintf(stderr, "vesperd: refusing to start: %s\n", em.msg);
        json_decref(doc);
        return 1;
    }
    d.config_file = config_file;
    if (strcmp(d.config_path, config_file))
        VSA_LOG(INFO, "configuration %s: the file %s", d.config_path,
                config_file);
    is_default = rc == -ENOENT;
    if (is_default) {
        doc = ctl_default_config();
        VSA_LOG(INFO, "%s does not exist; starting from the default "
                "configuration", d.config_path);
    }

    /* Block the signals that stop vesperd before DPDK starts its threads,
     * so that every thread inherits the mask and the signals reach our
     * signalfd (and a clean shutdown: kernel NICs given back, socket
     * removed) instead of killing the process in some EAL thread.  SIGHUP
     * too: `make run` in a terminal that goes away. */
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGHUP);
    sigaddset(&mask, SIGQUIT);
    pthread_sigmask(SIG_BLOCK, &mask, NULL);
    /* A write past a file size limit (ulimit -f, systemd's LimitFSIZE=)
     * fails with EFBIG instead of killing vesperd with SIGXFSZ: a capture
     * that reaches it ends with that error, and DPDK's own memory files
     * (their ftruncate counts too) make the EAL fail with a message. */
    signal(SIGXFSZ, SIG_IGN);

    /* EAL arguments */
    d.hugepages = !no_huge && hugepages_usable();
    snprintf(d.lcores, sizeof(d.lcores), "%s", cl.eal_list);
    snprintf(main_lcore, sizeof(main_lcore), "%u", cl.cpu[0]);
    eal_argv[eal_argc++] = argv[0];
    eal_argv[eal_argc++] = "-l";
    eal_argv[eal_argc++] = cl.eal_list;
    eal_argv[eal_argc++] = "--main-lcore";
    eal_argv[eal_argc++] = main_lcore;
    if (!pci)
        eal_argv[eal_argc++] = "--no-pci";
    if (d.hugepages) {
        eal_argv[eal_argc++] = "--in-memory";
    } else {
        snprintf(mem_prefix, sizeof(mem_prefix), "%s",
                 prefix ? prefix : "vesper");
        eal_argv[eal_argc++] = "--no-huge";
        eal_argv[eal_argc++] = "-m";
        eal_argv[eal_argc++] = "1024";
        eal_argv[eal_argc++] = "--file-prefix";
        eal_argv[eal_argc++] = mem_prefix;
    }
    eal_argv[eal_argc++] = "--log-level";
    eal_argv[eal_argc++] = "lib.eal:warning";
    /* net_tap reports missing optional kernel features (multiq qdisc, rte
     * flow) and the absent secondary processes of --in-memory at error
     * level; vesperd reports a TAP that really fails itself. */
    eal_argv[eal_argc++] = "--log-level";
    eal_argv[eal_argc++] = "pmd.net.tap:critical";
    eal_argv[eal_argc++] = "--no-telemetry";
    for (int i = extra_start; i < orig_argc; i++) {
        if (eal_argc >= (int)VSA_ARRAY_LEN(eal_argv) - 1) {
            fprintf(stderr, "vesperd: too many EAL arguments\n");
            return 2;
        }
        eal_argv[eal_argc++] = argv[i];
    }
    eal_argv[eal_argc] = NULL;
    /* A host with many VMs holds several descriptors per VM NIC: the soft
     * limit (often 1024) goes up to the hard one.  The reserve descriptor
     * keeps an exhausted table from making the control loop spin on a
     * waiting connection (vsa_accept.h). */
    (void)vsa_raise_nofile_limit();
    (void)vsa_accept_reserve();
    if (rte_eal_init(eal_argc, eal_argv) < 0) {
        int err = rte_errno;

        if (err == 0 && !d.hugepages)
            /* what a second process on the same runtime files gets */
            fprintf(stderr, "vesperd: DPDK EAL initialisation failed, "
                    "without a reason: is another DPDK process (another "
                    "vesperd?) using the file prefix '%s'? give this one "
                    "--file-prefix NAME\n", mem_prefix);
        else
            fprintf(stderr, "vesperd: DPDK EAL initialisation failed: %s\n",
                    rte_strerror(err));
        /* not for arguments it refused: --no-huge would not change that */
        if (d.hugepages && err != EINVAL && err != EALREADY)
            return restart_without_hugepages(orig_argc, argv, &allowed,
                                             "DPDK could not start");
        return 1;
    }

    vp.n_mbufs = (uint32_t)mbufs;
    vp.n_dp_lcores = cl.n - 1;
    /* its parent made here (the claims directory itself by the first
     * claim): a binding that cannot claim its NIC is refused, saying why */
    (void)mkdir(VD_NIC_CLAIM_PARENT, 0755);
    vp.nic_claim_dir = VD_NIC_CLAIM_DIR;
    rc = vsw_create(&vp, &d.vsw, &em);
    if (rc < 0) {
        fprintf(stderr, "vesperd: %s\n", em.msg);
        rte_eal_cleanup();
        if (rc == -ENOMEM && d.hugepages)
            return restart_without_hugepages(orig_argc, argv, &allowed,
                                             "not enough memory");
        return 1;
    }

    if (vd_vm_host_create(d.vm_dir, &d.vms, &em) < 0) {
        fprintf(stderr, "vesperd: VM partitions: %s\n", em.msg);
        json_decref(doc);
        vsw_destroy(d.vsw);
        rte_eal_cleanup();
        return 1;
    }
    vd_synth_init(&d);
    vd_legacy_init(&d);
    struct ctl_rpc_err e = { 0, "" };
    if (vd_apply_start(&d, doc, is_default, &e) < 0) {
        fprintf(stderr, "vesperd: refusing to start: %s: %s\n",
                d.config_path, e.msg);
        json_decref(doc);
        vd_vm_host_destroy(d.vms);
        vsw_destroy(d.vsw);
        rte_eal_cleanup();
        return 1;
    }
    json_decref(doc);

    d.epfd = epoll_create1(EPOLL_CLOEXEC);
    if (d.epfd < 0) {
        fprintf(stderr, "vesperd: cannot create the event loop: "
                "epoll_create1: %s\n", strerror(errno));
        vd_vm_host_destroy(d.vms);
        vsw_destroy(d.vsw);
        rte_eal_cleanup();
        return 1;
    }
    if (vd_server_open(&d, &em) < 0) {
        fprintf(stderr, "vesperd: %s\n", em.msg);
        vd_vm_host_destroy(d.vms);
        vsw_destroy(d.vsw);
        close(d.epfd);
        rte_eal_cleanup();
        return 1;
    }
    if (vd_nlmon_open(&d) == 0 && watch(d.epfd, vd_nlmon_fd()) == 0) {
        /* link events arrive */
    } else {
        VSA_LOG(WARN, "netlink link monitor unavailable; polling only");
    }
    signal(SIGPIPE, SIG_IGN);
    /* The loop's own descriptors: without any of them vesperd would spin
     * (no epoll), never tick, or not stop on SIGTERM (signals blocked). */
    tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    struct itimerspec its = { .it_interval = { 0, 100000000 },
                              .it_value = { 0, 100000000 } };
    if (tfd < 0 || timerfd_settime(tfd, 0, &its, NULL) != 0 ||
        watch(d.epfd, tfd) < 0 || sfd < 0 || watch(d.epfd, sfd) < 0 ||
        watch(d.epfd, vd_vm_fd(d.vms)) < 0) {
        fprintf(stderr, "vesperd: cannot set up the event loop (timer, "
                "signals, VM events): %s\n", strerror(errno));
        exit_code = 1;
        stop_now = 1;
    }

    VSA_LOG(INFO, "vesperd %s ready: %u switch(es), %u port(s), %u VM(s); "
            "control socket %s; config %s; VM sockets in %s; %s", VD_VERSION,
            d.cfg->n_switches, d.cfg->n_ports, d.cfg->n_vms, d.socket_path,
            d.config_path, d.vm_dir,
            d.hugepages ? "hugepages" : "no hugepages (--no-huge)");

    unsigned retry_ticks = 0;
    while (!stop_now) {
        struct epoll_event evs[32];
        int n = epoll_wait(d.epfd, evs, 32, 1000);

        if (n < 0 && errno != EINTR) {
            /* nothing can be served any more: stop, giving NICs back */
            VSA_LOG(ERR, "epoll_wait: %s; stopping", strerror(errno));
            exit_code = 1;
            break;
        }
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == tfd) {
                uint64_t ticks;
                if (read(tfd, &ticks, sizeof(ticks)) > 0) {
                    vsw_tick(d.vsw);
                    vd_vm_tick(d.vms);
                    vd_synth_tick(&d);
                    vd_legacy_tick(&d);
                    retry_ticks += ticks; /* expirations merged */
                    if (retry_ticks >= VD_RETRY_S * 10) {
                        retry_ticks = 0;
                        vd_apply_retry(&d);
                    }
                }
            } else if (fd == sfd) {
                struct signalfd_siginfo si;
                if (read(sfd, &si, sizeof(si)) > 0)
                    stop_now = 1;
            } else if (fd == vd_vm_fd(d.vms)) {
                vd_vm_run(d.vms, 0);
            } else if (fd == vd_nlmon_fd()) {
                vd_nlmon_event(&d);
            } else if (vd_server_owns(&d, fd)) {
                vd_server_event(&d, fd, evs[i].events);
            }
        }
    }
    VSA_LOG(INFO, "stopping");
    vd_server_close(&d);
    vd_nlmon_close();
    /* Before the switch: closing channels calls the port glue. */
    vd_vm_host_destroy(d.vms);
    vsw_destroy(d.vsw);         /* closes every port, synthetic ones too */
    vd_synth_forget();
    vd_legacy_forget();
    ctl_config_free(d.cfg);
    vsa_free(d.ports);
    vsa_free(d.absent);
    json_decref(d.doc);
    if (tfd >= 0)
        close(tfd);
    if (sfd >= 0)
        close(sfd);
    close(d.epfd);
    rte_eal_cleanup();
    return exit_code;
}
