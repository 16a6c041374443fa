#!/bin/bash
# Vesper benchmark: Vesper, dpdk-testpmd (io) and OVS-DPDK 3.1 (NORMAL) on the
# same generated traffic, the same virtual devices and the same core layout
# (main lcore 0, one forwarding lcore 1, --no-pci, a private --file-prefix
# per process), in one run; and the guest paths: synth-pair (one guest
# thread drives two synthetic NICs through vesperd, against testpmd
# virtio_user through OVS-DPDK vhost-user) and legacy-pair (the same with two
# emulated DEC 21140A NICs; Vesper only: OVS has no emulated NIC).  See
# tests/bench/README.md.
#
#   tests/bench/run.sh [BUILD_DIR] [SCENARIO...]
#   tests/bench/run.sh                       # all scenarios, 3 x 10 s windows
#   tests/bench/run.sh l2-1k vlan-access     # selected scenarios
#   tests/bench/run.sh synth-pair legacy-pair # the guest paths only
#   tests/bench/run.sh build-release         # Vesper from another build dir
#   REPS=1 SECS=3 tests/bench/run.sh         # quick run (one start each)
#   STARTS=1 tests/bench/run.sh              # the 3 windows from one start
#   ENGINES="testpmd ovs" tests/bench/run.sh # peers only
#   NO_HUGE=1 tests/bench/run.sh             # force the --no-huge fallback
#
# BUILD_DIR (an argument, else $BUILD, else build/) holds vesperd,
# vesperctl and vesper-guest; results go to BUILD_DIR/bench/: results.json (medians),
# results-detail.json, windows.tsv, run.log, logs/.  Exit status: 0 when
# every engine gave figures for every scenario, whether or not the targets
# are met (a benchmark is not a test); 1 when a figure is missing or failed
# its check; 2 on a set-up error.  A Vesper figure (a switching scenario's
# or a guest path's) that measured flooding rather than FDB forwarding
# (more than 1 % of its frames reached the witness port, README
# "Flooding") is a failed check: exit 1.
set -u -o pipefail
export LC_ALL=C

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH_DIR/../.." && pwd)"
BUILD=${BUILD:-$ROOT/build}
REPS=${REPS:-3}
# Switching scenarios: every engine is started STARTS times and measures
# REPS / STARTS windows per start (default: one window from each of three
# starts).  Where an engine's memory lands differs from one start to the
# next, and so does its rate: testpmd drew 41.8, 61.3 and 58.1 Mpps on
# l2-64k in three starts of the same binary, Vesper 15-28 Mpps; the median
# over starts is not one draw.  The rate also drifts within a start, over
# tens of seconds (one Vesper start gave 22.4, 23.0 and then 33.1 Mpps in
# three 3 s windows): the starts take turns across the engines (below).
# Guest paths always use one start.
STARTS=${STARTS:-$REPS}
SECS=${SECS:-10}
WARM=${WARM:-5}
ENGINES=${ENGINES:-testpmd ovs vesper}
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3   # helpers need only the standard library
ALL_SCENARIOS=(l2-1k l2-64k vlan-access synth-pair legacy-pair)

source "$BENCH_DIR/lib-common.sh"
source "$BENCH_DIR/lib-testpmd.sh"
source "$BENCH_DIR/lib-ovs.sh"
source "$BENCH_DIR/lib-vesper.sh"
source "$BENCH_DIR/lib-guest.sh"

has_engine() { case " $ENGINES " in *" $1 "*) return 0 ;; esac; return 1; }
usage() { awk 'NR > 1 && /^#/ {sub(/^# ?/, ""); print; next} NR > 1 {exit}' "$0"; exit "${1:-0}"; }

# The whole file is read before main runs, so editing it during a run is safe.
main() {
    case "${1:-}" in -h|--help) usage 0 ;; esac
    # An argument naming a directory is the build directory (make bench passes it).
    SCENARIOS=()
    local a
    for a in "$@"; do
        if [ -d "$a" ]; then BUILD=$a; else SCENARIOS+=("$a"); fi
    done
    [ ${#SCENARIOS[@]} -gt 0 ] || SCENARIOS=("${ALL_SCENARIOS[@]}")
    [ -d "$BUILD" ] && BUILD=$(cd "$BUILD" && pwd)
    OUT=${BENCH_OUT:-$BUILD/bench}
    mkdir -p "$OUT" 2>/dev/null; OUT=$(cd "$OUT" 2>/dev/null && pwd || echo "$OUT")
    TRAFFIC=$OUT/traffic
    LOGS=$OUT/logs
    WINDOWS=$OUT/windows.tsv
    VESPERD=${VESPERD:-$BUILD/tools/vesperd/vesperd}
    VESPERCTL=${VESPERCTL:-$BUILD/tools/vesperctl/vesperctl}
    VESPER_GUEST=${VESPER_GUEST:-$BUILD/tools/vesper-guest/vesper-guest}
    GUEST_TSV=$OUT/guest.tsv
    for s in "${SCENARIOS[@]}"; do
        case " ${ALL_SCENARIOS[*]} " in *" $s "*) ;; *) warn "unknown scenario '$s' (known: ${ALL_SCENARIOS[*]})"; exit 2 ;; esac
    done
    for e in $ENGINES; do
        case "$e" in testpmd|ovs|vesper) ;; *) warn "unknown engine '$e' in ENGINES (known: testpmd ovs vesper)"; exit 2 ;; esac
    done
    for v in REPS SECS WARM STARTS; do
        [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || { warn "$v must be a positive integer (got '${!v}')"; exit 2; }
    done
    (( REPS % STARTS == 0 )) || { warn "REPS ($REPS) must be a multiple of STARTS ($STARTS)"; exit 2; }
    TOTAL_REPS=$REPS
    [ "$(id -u)" = 0 ] || { warn "must run as root (hugepages, DPDK)"; exit 2; }

    # Guest paths need vesper-guest, and synth-pair dpdk-testpmd (the guest
    # of its OVS run; legacy-pair has no OVS run).
    local want_guest=0 want_pcap=0 want_vhost=0
    for s in "${SCENARIOS[@]}"; do
        if is_guest_scenario "$s"; then want_guest=1; else want_pcap=1; fi
        [ "$s" = synth-pair ] && want_vhost=1
    done
    NEED_TESTPMD=0
    [ "$want_vhost" = 1 ] && has_engine ovs && NEED_TESTPMD=1

    # Vesper first: a missing daemon is a set-up error, found before anything runs.
    if has_engine vesper && ! vesper_check; then exit 2; fi
    if has_engine vesper && [ "$want_guest" = 1 ] && ! vesper_guest_check; then exit 2; fi

    mkdir -p "$OUT" "$LOGS" "$TRAFFIC" || exit 2
    # a run that fails before its report leaves no earlier run's figures
    rm -f "$OUT/results.json" "$OUT/results-detail.json"
    RUNTMP=$(mktemp -d /tmp/vbench.XXXXXX) || exit 2
    BENCH_TMPDIRS+=("$RUNTMP")
    trap 'bench_cleanup' EXIT
    trap 'warn "interrupted"; exit 130' INT TERM HUP

    ensure_packages || exit 2

    # Traffic: regenerate when missing or when the generator changed (guest
    # paths generate their frames in the guest and need none).
    gen_stamp=$(sha256sum "$BENCH_DIR/gen_traffic.py" | cut -d' ' -f1)
    need_gen=0
    if [ "$want_pcap" = 1 ]; then
        for f in l2-1k.A l2-1k.B l2-64k.A l2-64k.B vlan-1k.A vlan-1k.B; do [ -s "$TRAFFIC/$f.pcap" ] || need_gen=1; done
        for f in l2-1k l2-64k vlan-1k; do [ -s "$TRAFFIC/$f.hosts.tsv" ] || need_gen=1; done
        [ "$(cat "$TRAFFIC/.generator" 2>/dev/null)" = "$gen_stamp" ] || need_gen=1
    fi
    if [ "$need_gen" = 1 ]; then
        say "generating traffic into $TRAFFIC (scapy, about 30 s)"
        /usr/bin/python3 "$BENCH_DIR/gen_traffic.py" "$TRAFFIC" || { warn "traffic generation failed"; exit 2; }
        echo "$gen_stamp" > "$TRAFFIC/.generator"
    fi

    setup_hugepages
    # The TSC rate for cycles/packet (report.py): the kernel log, else
    # measured by tests/bench/tsc_hz; n/a when neither (never "cpu MHz")
    IFS=$'\t' read -r BENCH_TSC_MHZ BENCH_TSC_SOURCE < <("$PY" "$BENCH_DIR/benchlib.py" tsc "$BUILD/tests/bench/tsc_hz")
    export BENCH_TSC_MHZ BENCH_TSC_SOURCE
    printf 'scenario\tmode\tengine\trep\tmpps_out\tmpps_in\tdt_s\tcpu_busy_pct\tother_busy_pct\ttraps_per_pkt\twitness_mpps\tfdb_entries\tfdb_expected\n' > "$WINDOWS"
    printf 'scenario\tmode\tengine\tspan\ttx_mpps\trx_mpps\tseconds\ttraps_per_rx\n' > "$GUEST_TSV"

    # Everything printed from here on also goes to run.log.  No pipeline around
    # the engine functions: their pids must stay visible to the EXIT trap.
    exec > >(tee "$OUT/run.log") 2>&1

    buildinfo="unknown"
    if [ -f "$BUILD/meson-info/intro-buildoptions.json" ]; then
        buildinfo=$("$PY" - "$BUILD/meson-info/intro-buildoptions.json" <<'EOF'
import json, sys
o = {x["name"]: x["value"] for x in json.load(open(sys.argv[1]))}
print("buildtype=%s native=%s b_sanitize=%s" % (o.get("buildtype"), o.get("native", "?"), o.get("b_sanitize")))
EOF
    )
    fi
    say "# Vesper bench $(date -u +%FT%TZ)  mode=$BENCH_MODE  reps=$REPS x ${SECS}s ($STARTS start(s) per engine)  warm=${WARM}s  engines=[$ENGINES]"
    say "# cpu: $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo), $(nproc) cores, loadavg $(cut -d' ' -f1-3 /proc/loadavg)"
    say "# tsc: ${BENCH_TSC_MHZ:-n/a} MHz, ${BENCH_TSC_SOURCE:-unknown}"
    has_engine vesper && say "# vesper build: $buildinfo ($VESPERD)"
    has_engine vesper && [ "$want_guest" = 1 ] && say "# vesper guest: $VESPER_GUEST"
    has_engine testpmd && say "# $(dpkg-query -W -f='dpdk ${Version}' dpdk 2>/dev/null)"
    has_engine ovs && say "# $("$OVSD" --version 2>/dev/null | head -1)"
    case "$buildinfo" in *"b_sanitize=none"*|unknown) ;; *) has_engine vesper && say "# WARNING: the Vesper build is instrumented ($buildinfo); figures are not representative" ;; esac
    [ "$BENCH_MODE" = hugepages ] || say "# NOTE: no hugepages (NO_HUGE=1 or none free), every engine runs with --no-huge (about 30 % slower; compare like with like)"

    failed=()
    for scen in "${SCENARIOS[@]}"; do
        say ""
        say "== $scen ($BENCH_MODE)"
        rm -f "$LOGS/$scen".*   # an earlier run's logs of this scenario
        starts=$STARTS
        is_guest_scenario "$scen" && starts=1
        # what the engine functions measure per start (take_windows,
        # add_windows); REP_BASE numbers the windows across starts
        REPS=$((TOTAL_REPS / starts))
        # Starts go round the engines (testpmd, ovs, vesper, testpmd, ...),
        # not one engine's starts in a row: the machine's speed drifts over
        # minutes (other guests on the host), and taking turns spreads that
        # over every engine instead of handing one engine a slow stretch.
        unset eng_failed; declare -A eng_failed=()
        for ((start_no = 1; start_no <= starts; start_no++)); do
            REP_BASE=$(( (start_no - 1) * REPS ))
            for eng in testpmd ovs vesper; do
                has_engine "$eng" || continue
                [ -n "${eng_failed[$eng]:-}" ] && continue
                fn="run_$eng"
                is_guest_scenario "$scen" && fn="run_${eng}_guest"
                [ "$starts" -gt 1 ] && say "  -- $eng: start $start_no of $starts"
                rc=0; "$fn" "$scen" || rc=1
                # keep each start's logs: SCEN.ENGINE.* -> SCEN.ENGINE.*.sN
                if [ "$starts" -gt 1 ]; then
                    for f in "$LOGS/$scen".*; do
                        [[ -f "$f" && ! "$f" =~ \.s[0-9]+$ ]] && mv -f "$f" "$f.s$start_no"
                    done
                fi
                if [ "$rc" != 0 ]; then failed+=("$eng/$scen"); eng_failed[$eng]=1; fi
            done
        done
        REPS=$TOTAL_REPS REP_BASE=0
    done

    say ""
    local report_rc=0
    BENCH_WINDOWS_EXPECTED=$TOTAL_REPS \
        "$PY" "$BENCH_DIR/report.py" "$WINDOWS" "$OUT" "$BENCH_MODE" "${SCENARIOS[@]}" || report_rc=$?

    # Nothing of ours may stay in hugetlbfs.
    left=()
    for p in "${BENCH_DPDK_PREFIXES[@]}"; do
        for f in /dev/hugepages/"$p"map_*; do [ -e "$f" ] && left+=("$f"); done
    done
    [ ${#left[@]} -eq 0 ] || warn "hugepage files left behind: ${left[*]}"

    rc=0
    if [ ${#failed[@]} -gt 0 ]; then
        say "missing figures: ${failed[*]} (logs in $LOGS)"
        rc=1
    fi
    # 3: a Vesper figure failed the flood check (report.py printed which)
    if [ "$report_rc" = 3 ]; then
        say "failed checks: Vesper flooded instead of forwarding (see 'Forwarding check' above)"
        rc=1
    elif [ "$report_rc" != 0 ]; then
        warn "report.py failed (status $report_rc)"
        rc=1
    fi
    exit "$rc"
}

main "$@"
