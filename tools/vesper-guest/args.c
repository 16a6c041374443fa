/* SPDX-License-Identifier: BSD-3-Clause */
#include "tools/vesper-guest/args.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "common/vsa_compiler.h"
#include "vsp-net/vsp.h"

#define NIC_SYNTHETIC "synthetic"
#define NIC_LEGACY "legacy"

enum {
    OPT_PARTITION = 256,
    OPT_PARTITION2,
    OPT_NIC,
    OPT_TAP,
    OPT_NETNS,
    OPT_HANDSHAKE,
    OPT_MTU,
    OPT_SECONDS,
    OPT_SIZE,
    OPT_INTERVAL,
    OPT_TX_AUTOPOLL,
};

static const struct option long_opts[] = {
    { "partition", required_argument, NULL, OPT_PARTITION },
    { "partition2", required_argument, NULL, OPT_PARTITION2 },
    { "nic", required_argument, NULL, OPT_NIC },
    { "tap", required_argument, NULL, OPT_TAP },
    { "netns", required_argument, NULL, OPT_NETNS },
    { "handshake", required_argument, NULL, OPT_HANDSHAKE },
    { "mtu", required_argument, NULL, OPT_MTU },
    { "seconds", required_argument, NULL, OPT_SECONDS },
    { "size", required_argument, NULL, OPT_SIZE },
    { "interval-ms", required_argument, NULL, OPT_INTERVAL },
    { "tx-autopoll", required_argument, NULL, OPT_TX_AUTOPOLL },
    { "verbose", no_argument, NULL, 'v' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
};

static int fail(char *err, size_t errsz, const char *fmt, ...)
    VSA_PRINTF(3, 4);

static int fail(char *err, size_t errsz, const char *fmt, ...)
{
    va_list ap;

    if (err && errsz) {
        va_start(ap, fmt);
        vsnprintf(err, errsz, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

static int parse_u32(const char *s, uint32_t lo, uint32_t hi, uint32_t *out)
{
    char *end;
    unsigned long v;

    if (!s || !*s || *s == '-' || *s == '+')
        return -EINVAL;
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return -EINVAL;
    *out = (uint32_t)v;
    return 0;
}

/* "CLASS" or "CLASS:INDEX" for CLASS synthetic or legacy. */
static int parse_nic(const char *s, struct vg_nic_arg *nic)
{
    static const struct {
        const char *name;
        enum vg_nic_kind kind;
        uint32_t max;
    } classes[] = {
        { NIC_SYNTHETIC, VG_NIC_SYNTHETIC, VG_MAX_NIC_INDEX },
        { NIC_LEGACY, VG_NIC_LEGACY, VG_MAX_LEGACY_INDEX },
    };

    for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++) {
        size_t n = strlen(classes[i].name);
        uint32_t v = 0;

        if (strncmp(s, classes[i].name, n) != 0)
            continue;
        if (s[n] != '\0' &&
            (s[n] != ':' || parse_u32(s + n + 1, 0, classes[i].max, &v)))
            return -EINVAL;
        nic->kind = classes[i].kind;
        nic->index = v;
        return 0;
    }
    return -EINVAL;
}

static const char *kind_name(enum vg_nic_kind k)
{
    return k == VG_NIC_LEGACY ? NIC_LEGACY : NIC_SYNTHETIC;
}

static bool path_ok(const char *p)
{
    return p && *p && strlen(p) < sizeof(((struct sockaddr_un *)0)->sun_path);
}

static bool ifname_ok(const char *n)
{
    size_t len = n ? strlen(n) : 0;

    if (len == 0 || len >= 16 || strcmp(n, ".") == 0 || strcmp(n, "..") == 0)
        return false;
    for (size_t i = 0; i < len; i++)
        if (n[i] == '/' || n[i] == ':' || n[i] <= ' ' || n[i] == 0x7f)
            return false;
    return true;
}

int vg_args_parse(int argc, char **argv, struct vg_opts *o, char *err,
                  size_t errsz)
{
    const char *taps[VG_MAX_NICS];
    unsigned ntaps = 0;
    int c;

    memset(o, 0, sizeof(*o));
    o->cmd = VG_CMD_RUN;
    o->mode = VSPN_VSC_LINUX;
    o->mtu = VG_MTU_DEFAULT;
    o->seconds = VG_BENCH_SECONDS_DEFAULT;
    o->size = VG_BENCH_SIZE_DEFAULT;
    if (argc >= 2 && strcmp(argv[1], "bench") == 0) {
        o->cmd = VG_CMD_BENCH;
        argv++;
        argc--;
    }
    optind = 0; /* glibc: full re-initialisation (repeated calls, tests) */
    opterr = 0;
    while ((c = getopt_long(argc, argv, "vh", long_opts, NULL)) != -1) {
        switch (c) {
        case OPT_PARTITION:
            if (!path_ok(optarg))
                return fail(err, errsz, "--partition: bad socket path");
            o->partition = optarg;
            break;
        case OPT_PARTITION2:
            if (!path_ok(optarg))
                return fail(err, errsz, "--partition2: bad socket path");
            o->partition2 = optarg;
            break;
        case OPT_NIC:
            if (o->nnics >= VG_MAX_NICS)
                return fail(err, errsz, "at most %u --nic", VG_MAX_NICS);
            if (parse_nic(optarg, &o->nics[o->nnics]))
                return fail(err, errsz,
                            "--nic: expected synthetic[:INDEX] (INDEX 0-%u) "
                            "or legacy[:INDEX] (INDEX 0-%u), got '%s'",
                            VG_MAX_NIC_INDEX, VG_MAX_LEGACY_INDEX, optarg);
            o->nnics++;
            break;
        case OPT_TAP:
            if (ntaps >= VG_MAX_NICS)
                return fail(err, errsz, "at most %u --tap", VG_MAX_NICS);
            if (!ifname_ok(optarg))
                return fail(err, errsz, "--tap: bad interface name '%s'",
                            optarg);
            taps[ntaps++] = optarg;
            break;
        case OPT_NETNS:
            if (!optarg[0] || strchr(optarg, '/') || strcmp(optarg, ".") == 0 ||
                strcmp(optarg, "..") == 0 || strlen(optarg) > NAME_MAX)
                return fail(err, errsz, "--netns: bad namespace name");
            o->netns = optarg;
            break;
        case OPT_HANDSHAKE:
            if (strcmp(optarg, "linux") == 0)
                o->mode = VSPN_VSC_LINUX;
            else if (strcmp(optarg, "minimal") == 0)
                o->mode = VSPN_VSC_MINIMAL;
            else
                return fail(err, errsz,
                            "--handshake: expected linux or minimal");
            break;
        case OPT_MTU:
            if (parse_u32(optarg, VSPN_VSP_MTU_MIN, VSPN_VSP_MTU_MAX, &o->mtu))
                return fail(err, errsz, "--mtu: expected %u-%u",
                            VSPN_VSP_MTU_MIN, VSPN_VSP_MTU_MAX);
            break;
        case OPT_SECONDS: {
            char *end;

            errno = 0;
            o->seconds = strtod(optarg, &end);
            if (errno || *end || end == optarg || !(o->seconds > 0) ||
                o->seconds > VG_BENCH_SECONDS_MAX)
                return fail(err, errsz, "--seconds: expected a number in "
                            "(0, %.0f]", VG_BENCH_SECONDS_MAX);
            break;
        }
        case OPT_SIZE:
            if (parse_u32(optarg, VG_BENCH_SIZE_MIN,
                          VSPN_VSP_MTU_MAX + VSPN_ETH_HLEN, &o->size))
                return fail(err, errsz, "--size: expected %u-%u",
                            VG_BENCH_SIZE_MIN,
                            VSPN_VSP_MTU_MAX + VSPN_ETH_HLEN);
            break;
        case OPT_INTERVAL:
            if (parse_u32(optarg, VG_BENCH_INTERVAL_MIN_MS,
                          VG_BENCH_INTERVAL_MAX_MS, &o->interval_ms))
                return fail(err, errsz, "--interval-ms: expected %u-%u",
                            VG_BENCH_INTERVAL_MIN_MS,
                            VG_BENCH_INTERVAL_MAX_MS);
            break;
        case OPT_TX_AUTOPOLL:
            if (parse_u32(optarg, 0, VG_TX_AUTOPOLL_MAX, &o->tx_autopoll))
                return fail(err, errsz, "--tx-autopoll: expected 0-%u",
                            VG_TX_AUTOPOLL_MAX);
            break;
        case 'v':
            o->verbose = true;
            break;
        case 'h':
            o->cmd = VG_CMD_HELP;
            return 0;
        default:
            if (optopt)
                return fail(err, errsz, "option -%c: unknown or missing "
                            "value", optopt);
            return fail(err, errsz, "unknown option or missing value: %s",
                        argv[optind - 1]);
        }
    }
    if (optind < argc)
        return fail(err, errsz, "unexpected argument '%s'", argv[optind]);
    if (!o->partition)
        return fail(err, errsz, "--partition PATH is required");
    if (o->nnics == 0)
        return fail(err, errsz, "--nic synthetic[:INDEX] or "
                    "legacy[:INDEX] is required");
    if (o->tx_autopoll) {
        bool legacy = false;

        for (unsigned i = 0; i < o->nnics; i++)
            legacy |= o->nics[i].kind == VG_NIC_LEGACY;
        if (!legacy)
            return fail(err, errsz, "--tx-autopoll is for legacy NICs, and "
                        "no --nic is legacy");
    }

    if (o->cmd == VG_CMD_BENCH) {
        if (o->nnics != 2)
            return fail(err, errsz, "bench needs exactly two --nic");
        if (ntaps)
            return fail(err, errsz, "bench takes no --tap");
        o->nics[1].partition = o->partition2 ? 1 : 0;
        if (!o->partition2 && o->nics[0].kind == o->nics[1].kind &&
            o->nics[0].index == o->nics[1].index)
            return fail(err, errsz, "bench: the two --nic must differ");
        for (unsigned i = 0; i < 2; i++) {
            uint32_t mtu = o->nics[i].kind == VG_NIC_LEGACY ? VG_MTU_DEFAULT
                                                            : o->mtu;

            if (o->size > mtu + VSPN_ETH_HLEN)
                return fail(err, errsz, "--size %u is over the MTU of %s:%u "
                            "(%u) + 14", o->size,
                            kind_name(o->nics[i].kind), o->nics[i].index,
                            mtu);
        }
        return 0;
    }
    if (o->partition2)
        return fail(err, errsz, "--partition2 is for bench only");
    if (o->interval_ms)
        return fail(err, errsz, "--interval-ms is for bench only");
    if (ntaps != o->nnics)
        return fail(err, errsz, "each --nic needs its --tap (%u --nic, %u "
                    "--tap)", o->nnics, ntaps);
    for (unsigned i = 0; i < o->nnics; i++) {
        o->nics[i].tap = taps[i];
        for (unsigned j = 0; j < i; j++) {
            if (o->nics[j].kind == o->nics[i].kind &&
                o->nics[j].index == o->nics[i].index)
                return fail(err, errsz, "%s:%u given twice",
                            kind_name(o->nics[i].kind), o->nics[i].index);
            if (strcmp(o->nics[j].tap, taps[i]) == 0)
                return fail(err, errsz, "--tap %s given twice", taps[i]);
        }
    }
    return 0;
}

void vg_args_usage(FILE *f)
{
    fputs(
"usage: vesper-guest --partition PATH --nic synthetic[:INDEX]|legacy[:INDEX]\n"
"                    --tap NAME [--nic ... --tap NAME ...] [--netns NS]\n"
"                    [--handshake linux|minimal] [--mtu N] [--tx-autopoll TAP]\n"
"                    [-v]\n"
"       vesper-guest bench --partition PATH [--partition2 PATH2]\n"
"                    --nic KIND:I --nic KIND:J [--seconds S] [--size BYTES]\n"
"                    [--interval-ms N] [--handshake linux|minimal] [--mtu N]\n"
"                    [--tx-autopoll TAP] [-v]\n"
"\n"
"Guest agent of a Vesper child partition: joins the partition socket PATH,\n"
"brings up each NIC and presents it as TAP interface NAME (in network\n"
"namespace NS when given).  The k-th --nic pairs with the k-th --tap.\n"
"  synthetic:I  the I-th synthetic NIC offer (NVSP + RNDIS over VMBus), 0-63\n"
"  legacy:I     the emulated DEC 21140A at PCI device I (0-7), driven like\n"
"               Linux's tulip driver through trapped register accesses; the\n"
"               TAP takes the SROM's MAC, MTU 1500, and its multicast list\n"
"               and promisc/allmulti flags become the NIC's address filter\n"
"  INDEX defaults to 0.\n"
"  --handshake  linux (default, spec 6.1) or minimal (iPXE, spec 6.3)\n"
"  --mtu        MTU asked of the host for synthetic NICs (default 1500)\n"
"  --tx-autopoll  legacy NICs: CSR0 TAP code 1-7 (1 = every 200 us); the\n"
"               device polls the transmit list itself and the driver never\n"
"               writes CSR1 (default 0: one CSR1 per batch, as Linux)\n"
"  -v           log more; print counters at exit (always on SIGUSR1)\n"
"bench: drives two NICs (KIND synthetic or legacy) from one thread in poll\n"
"mode (first sends, second receives; --partition2: the second is in that\n"
"partition) and prints {\"tx_pps\":..,\"rx_pps\":..,\"seconds\":..} (with a\n"
"legacy NIC also \"traps\" and \"traps_per_rx\": trapped register accesses);\n"
"--interval-ms N adds a line of cumulative counters every N ms\n"
"({\"t\":UNIX_TIME,\"tx_frames\":..,\"rx_frames\":..,\"traps\":..}; also on SIGUSR1).\n",
          f);
}
