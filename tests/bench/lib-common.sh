# Helpers for tests/bench/run.sh.  Sourced, not run.
#
# Every process the benchmark starts is recorded by pid and stopped by pid
# (never by name); every DPDK --file-prefix it uses is recorded so its
# hugepage files and runtime directory can be removed once its process is gone.

BENCH_PIDS=()       # pids still to stop on exit
DPDK_PREFIX=""      # set by new_prefix
BENCH_DPDK_PREFIXES=() # DPDK file prefixes used by this run
BENCH_TMPDIRS=()    # private run directories

say() { printf '%s\n' "$*"; }
warn() { printf 'run.sh: %s\n' "$*" >&2; }

now() { printf '%s' "$EPOCHREALTIME"; }   # LC_ALL=C: always a '.' decimal point

track_pid() { BENCH_PIDS+=("$1"); }
untrack_pid() {
    local p keep=()
    for p in "${BENCH_PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
    BENCH_PIDS=("${keep[@]}")
}

# stop_pid PID [GRACE_S] [SIGNAL]: signal, wait up to GRACE_S, then TERM, then KILL.
stop_pid() {
    local pid=$1 grace=${2:-10} sig=${3:-INT} i
    if kill -0 "$pid" 2>/dev/null; then
        kill -"$sig" "$pid" 2>/dev/null
        for ((i = 0; i < grace * 10; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null
            for ((i = 0; i < 30; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
        fi
    fi
    wait "$pid" 2>/dev/null   # reap it when it is our child; harmless otherwise
    untrack_pid "$pid"
    return 0
}

# Remove what DPDK leaves behind for one file prefix: hugepage files and the
# runtime directory.  Only call this once the process using the prefix is gone.
dpdk_prefix_clean() {
    local p=$1 d
    for d in /dev/hugepages "${HUGE_DIR:-/dev/hugepages}"; do
        [ -d "$d" ] && rm -f "$d/${p}"map_* 2>/dev/null
    done
    rm -rf "/var/run/dpdk/$p" 2>/dev/null
    return 0
}

new_prefix() { # new_prefix NAME: sets DPDK_PREFIX to a file prefix private to this run
    DPDK_PREFIX="vbench_$1_$$"     # (a variable, not output: $(...) would lose the record)
    case " ${BENCH_DPDK_PREFIXES[*]} " in *" $DPDK_PREFIX "*) ;; *) BENCH_DPDK_PREFIXES+=("$DPDK_PREFIX") ;; esac
}

bench_cleanup() {
    local i p d
    for ((i = ${#BENCH_PIDS[@]} - 1; i >= 0; i--)); do
        stop_pid "${BENCH_PIDS[$i]}" 5 TERM
    done
    for p in "${BENCH_DPDK_PREFIXES[@]}"; do dpdk_prefix_clean "$p"; done
    for d in "${BENCH_TMPDIRS[@]}"; do [ -d "$d" ] && rm -rf "$d"; done
    BENCH_TMPDIRS=()
}

# Packages: install what the selected engines need and is missing.
# (dpdk-testpmd itself is in Debian's dpdk-dev; ovs-vsctl in openvswitch-switch.)
ensure_packages() {
    local want=() missing=() p
    want+=(python3-scapy)
    case " $ENGINES " in *" testpmd "*) want+=(dpdk dpdk-dev) ;; esac
    case " $ENGINES " in *" ovs "*) want+=(openvswitch-switch-dpdk openvswitch-switch openvswitch-common) ;; esac
    # guest paths: in the OVS run the guest is dpdk-testpmd (virtio_user)
    [ "${NEED_TESTPMD:-0}" = 1 ] && want+=(dpdk dpdk-dev)
    for p in "${want[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    say "installing missing packages: ${missing[*]}"
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"; }; then
        warn "could not install: ${missing[*]}"
        return 1
    fi
    { has_engine testpmd || [ "${NEED_TESTPMD:-0}" = 1 ]; } && ! command -v dpdk-testpmd >/dev/null && { warn "dpdk-testpmd not found"; return 1; }
    has_engine ovs && [ ! -x "$OVSD" ] && { warn "$OVSD not found"; return 1; }
    return 0
}

# Hugepages as in the reference harness: reserve 1024 x 2 MB and mount
# hugetlbfs at /dev/hugepages; use them when mounted and >= 512 are free,
# otherwise every engine runs with --no-huge.  Sets BENCH_HUGE=1/0, BENCH_MODE.
setup_hugepages() {
    BENCH_HUGE=0
    if [ "${NO_HUGE:-0}" != 1 ]; then
        local pages=1024 have
        have=$(cat /proc/sys/vm/nr_hugepages 2>/dev/null || echo 0)
        [ "$have" -lt "$pages" ] && { echo "$pages" > /proc/sys/vm/nr_hugepages; } 2>/dev/null
        if ! mountpoint -q /dev/hugepages 2>/dev/null; then
            mkdir -p /dev/hugepages 2>/dev/null && mount -t hugetlbfs -o pagesize=2M nodev /dev/hugepages 2>/dev/null
        fi
        local free; free=$(awk '/^HugePages_Free/ {print $2}' /proc/meminfo)
        if mountpoint -q /dev/hugepages 2>/dev/null && [ "${free:-0}" -ge 512 ]; then
            BENCH_HUGE=1
        fi
    fi
    if [ "$BENCH_HUGE" = 1 ]; then BENCH_MODE=hugepages; else BENCH_MODE=no-huge; fi
}

hugepages_free() { awk '/^HugePages_Free/ {print $2}' /proc/meminfo; }

# cpu jiffies (all CPUs) -> "steal total idle+iowait"
cpu_jiffies() { awk '/^cpu / {t = 0; for (i = 2; i <= NF; i++) t += $i; print $9, t, $5 + $6}' /proc/stat; }
# load_note "J0" "J1": steal and how busy the machine was.  A polling
# forwarding core alone is 100/ncpu %; more means other load competed.
load_note() {
    echo "$1 $2" | awk -v n="$(nproc)" '{d = $5 - $2; if (!d) d = 1
        printf "steal %.1f%%, cpu busy %.0f%% of %d cores (the polling core alone: %.0f%%)",
               100 * ($4 - $1) / d, 100 * (1 - ($6 - $3) / d), n, 100 / n}'
}

# busy_pct "J0" "J1": how busy all CPUs were, in %; nothing when unknown
# (a sample missing, or no time between them): never a made-up 0
busy_pct() { echo "$1 $2" | awk 'NF == 6 {d = $5 - $2; if (d > 0) printf "%.0f", 100 * (1 - ($6 - $3) / d)}'; }

# proc_jiffies PID...: CPU time (clock ticks, the unit of /proc/stat) used so far by those processes
proc_jiffies() { "$PY" "$BENCH_DIR/benchlib.py" proc-jiffies "$@"; }
# other_pct "J0" "J1" P0 P1: % of all CPUs that processes other than ours
# (whose CPU time went from P0 to P1 ticks) kept busy between J0 and J1.
# This is the contention measure for rows where our own processes poll on
# every core (guest paths: cpu busy is 100 % by design).
other_pct() {   # (nothing when unknown)
    echo "$1 $2 $3 $4" | awk 'NF == 8 {d = $5 - $2; b = d - ($6 - $3); o = b - ($8 - $7); if (o < 0) o = 0
        if (d > 0) printf "%.0f", 100 * o / d}'
}

# add_windows ENGINE SCENARIO SAMPLES OUTS INS START BUSY [OTHER] [TRAPS]: turn samples into rows of windows.tsv
# (BUSY: cpu_busy_pct, empty when unknown; OTHER: other_busy_pct, only
# measured for guest paths; TRAPS: comma list of the sample rows counting
# trapped accesses (legacy-pair), whose delta over each window divided by
# the window's OUT packets is its traps_per_pkt).
# The Vesper and OVS runs (switching scenarios and guest paths) also pass,
# as variables set for the call:
#   AW_WITNESS   the witness port (README "Flooding"): its TX rate over the
#                same windows goes into witness_mpps; without its counters
#                there is no figure (forwarding cannot be told from flooding)
#   AW_FDB, AW_FDB_WANT  the FDB entries before the windows and how many the
#                traffic teaches (Vesper; AW_FDB empty when unreadable; 2 in
#                the guest paths: the two NICs' MACs)
add_windows() {
    local engine=$1 scen=$2 samples=$3 outs=$4 ins=$5 start=$6 busy=$7 other=${8:-} traps=${9:-} rep wrep mout min dt
    local rows trows="" wrows="" tr tpp wit lo="out" li="in" witness=${AW_WITNESS:-}
    is_guest_scenario "$scen" && { lo="rx B"; li="offered A"; }
    if ! rows=$("$PY" "$BENCH_DIR/benchlib.py" windows "$samples" "$outs" "$ins" "$start" "$SECS" "$REPS"); then
        warn "$engine/$scen: no figures (see $samples)"
        return 1
    fi
    # the same windows (same samples, same cut), the trap counters as "out"
    if [ -n "$traps" ] && ! trows=$("$PY" "$BENCH_DIR/benchlib.py" windows "$samples" "$traps" "$ins" "$start" "$SECS" "$REPS"); then
        warn "$engine/$scen: no trap counters (see $samples)"
        trows=""
    fi
    # and the witness port's TX: what the switch flooded
    if [ -n "$witness" ] && ! wrows=$("$PY" "$BENCH_DIR/benchlib.py" windows "$samples" "$witness" "$ins" "$start" "$SECS" "$REPS"); then
        warn "$engine/$scen: no counters for the witness port $witness (see $samples): cannot tell forwarding from flooding, no figure"
        return 1
    fi
    while read -r rep mout min dt; do
        tpp="" wit=""
        if [ -n "$trows" ]; then
            tr=$(awk -v r="$rep" '$1 == r {print $2}' <<< "$trows")
            tpp=$(awk -v t="$tr" -v m="$mout" 'BEGIN {if (t != "" && m > 0) printf "%.4f", t / m}')
        fi
        [ -n "$wrows" ] && wit=$(awk -v r="$rep" '$1 == r {print $2}' <<< "$wrows")
        # numbered after the windows of earlier starts (run.sh, STARTS)
        wrep=$((rep + ${REP_BASE:-0}))
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$scen" "$BENCH_MODE" "$engine" "$wrep" "$mout" "$min" "$dt" \
            "$busy" "$other" "$tpp" "$wit" "${AW_FDB:-}" "${AW_FDB_WANT:-}" >> "$WINDOWS"
        printf '  %-8s %-12s window %d: %8.3f Mpps %s  %8.3f Mpps %s  (%.2f s)%s%s\n' "$engine" "$scen" "$wrep" "$mout" "$lo" "$min" "$li" "$dt" \
            "${tpp:+  $tpp trapped accesses/pkt}" "${wit:+  flooded $(awk -v w="$wit" -v m="$mout" 'BEGIN {printf "%.2f %%", (m > 0) ? 100 * w / m : 0}') (witness $wit Mpps)}"
    done <<< "$rows"
}

# sleep_alive PID SECONDS: sleep (no forks but sleep), return 1 early if PID dies
now_us() { local t=$EPOCHREALTIME; printf '%s' "${t/./}"; }
sleep_alive() {
    local pid=$1 end
    end=$(( $(now_us) + ${2%.*} * 1000000 ))
    while [ "$(now_us)" -lt "$end" ]; do
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.5
    done
    kill -0 "$pid" 2>/dev/null
}

# sleep_until_us T: sleep until the wall-clock time T (microseconds since the epoch)
sleep_until_us() {
    local left=$(( $1 - $(now_us) ))
    [ "$left" -gt 0 ] && sleep "$((left / 1000000)).$(printf '%06d' $((left % 1000000)))"
    return 0
}

# take_windows SAMPLER FILE: REPS+1 samples, SECS apart by the wall clock,
# so the time a sample itself takes does not stretch the windows.
take_windows() {
    local sampler=$1 file=$2 rep t0
    t0=$(now_us)
    "$sampler" "$file"
    for ((rep = 1; rep <= REPS; rep++)); do
        sleep_until_us $((t0 + rep * SECS * 1000000))
        "$sampler" "$file"
    done
}
