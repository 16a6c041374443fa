# Vesper (vesperd).  Sourced by run.sh.
#
#   vesperd --config CFG --socket SOCK --cores 0,1 --mbufs 163840
#           --file-prefix P [--no-huge]
# runs in the foreground: control on lcore 0, datapath on lcore 1.  CFG is
# written by benchlib.py vesper-config into build/bench/vesper/SCEN.json (a
# private switch "bench" with dpdk-class ports on the same vdevs as the
# peers) and copied into a private run directory, because vesperd persists
# its configuration there.  Counters: `vesperctl --json stats` (tx_packets
# per port), time-stamped around each call.  Warm-up: WARM seconds, then
# until `vesperctl --json switch show bench` reports at least the expected
# fdb_entries (at most 30 s more).  Every switching scenario has a port
# "witness" (net_null, no-rx) in the traffic's VLANs: its TX is what the
# switch flooded (README "Flooding").

VESPER_MBUFS=${VESPER_MBUFS:-163840}

vesper_check() {
    local ok=0
    if [ ! -x "$VESPERD" ]; then
        warn "vesperd not found (or not executable) at $VESPERD"; ok=1
    fi
    if [ ! -x "$VESPERCTL" ]; then
        warn "vesperctl not found (or not executable) at $VESPERCTL"; ok=1
    fi
    if [ "$ok" != 0 ]; then
        warn "build Vesper first (meson setup build && meson compile -C build), point VESPERD=/VESPERCTL= at the binaries,"
        warn "or measure the peers only: ENGINES=\"testpmd ovs\" $0"
    fi
    return "$ok"
}

vctl() { "$VESPERCTL" --socket "$VESPER_SOCK" --json "$@"; }

vesper_sample() { # vesper_sample OUTFILE
    local t0 t1
    t0=$(now); vctl stats > "$RUNTMP/vesper.stats" 2>>"$RUNTMP/vesper.ctl.err"; t1=$(now)
    "$PY" "$BENCH_DIR/benchlib.py" vesper-counters "$t0" "$t1" "$RUNTMP/vesper.stats" >> "$1"
}

# fdb_entries of switch bench; nothing when unknown (vesperctl failed, or
# the answer lacks the key: the reason goes to $RUNTMP/vesper.fdb.err)
vesper_fdb_entries() {
    vctl switch show bench > "$RUNTMP/vesper.sw" 2>"$RUNTMP/vesper.fdb.err" || return 0
    "$PY" "$BENCH_DIR/benchlib.py" vesper-fdb "$RUNTMP/vesper.sw" 2>"$RUNTMP/vesper.fdb.err"
    return 0
}

run_vesper() {
    local scen=$1 outs ins expect
    case "$scen" in
        l2-1k) outs=p0,p1; ins=p0,p1; expect=1024 ;;
        l2-64k) outs=p0,p1; ins=p0,p1; expect=65536 ;;
        vlan-access) outs=$(seq -s, -f 'a%g' 100 115); ins=p0; expect=1024 ;;  # 512 learned + 512 static
        *) warn "vesper: unknown scenario $scen"; return 1 ;;
    esac
    local cfg="$OUT/vesper/$scen.json"
    mkdir -p "$OUT/vesper"
    "$PY" "$BENCH_DIR/benchlib.py" vesper-config "$scen" "$TRAFFIC" "$cfg" || return 1
    local run; run=$(mktemp -d /tmp/vbench-vesper.XXXXXX); BENCH_TMPDIRS+=("$run")
    cp "$cfg" "$run/config.json"
    VESPER_SOCK="$run/vesperd.sock"
    new_prefix vsp; local prefix=$DPDK_PREFIX
    # shellcheck disable=SC2054  # commas belong to the arguments
    local cmd=("$VESPERD" --config "$run/config.json" --socket "$VESPER_SOCK" --cores 0,1
               --vm-dir "$run/vm" --mbufs "$VESPER_MBUFS" --file-prefix "$prefix")
    [ "$BENCH_HUGE" = 1 ] || cmd+=(--no-huge)
    # (vesperd itself adds --no-pci, and --in-memory with hugepages or
    # --no-huge -m 1024 --file-prefix P without; EAL extras would go after "--")
    { echo "# $scen: vesperd as run.sh started it; --config was a private copy of $cfg"
      echo "${cmd[*]}"; } > "$OUT/vesper/$scen.cmd"
    say "  vesper: ${cmd[*]}"
    local log="$LOGS/$scen.vesperd.log"
    local t0; t0=$(now)
    "${cmd[@]}" > "$log" 2>&1 < /dev/null &
    local pid=$!; track_pid "$pid"
    # control socket up and answering (at most 60 s)
    local i up=0
    for ((i = 0; i < 120; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        if [ -S "$VESPER_SOCK" ] && vctl stats > /dev/null 2>&1; then up=1; break; fi
        sleep 0.5
    done
    if [ "$up" != 1 ]; then
        if kill -0 "$pid" 2>/dev/null; then
            warn "vesper/$scen: vesperd (pid $pid) did not answer on $VESPER_SOCK within 60 s; last lines of $log:"
        else
            local st=0; wait "$pid" 2>/dev/null || st=$?
            warn "vesper/$scen: vesperd exited during start-up (status $st); last lines of $log:"
        fi
        tail -n 20 "$log" >&2
        stop_pid "$pid" 10 INT; dpdk_prefix_clean "$prefix"; rm -rf "$run"
        return 1
    fi
    # vesperd starts itself again with --no-huge when its pool does not
    # fit in the free hugepages: a figure of the other mode than the row's
    # (about 30 % apart) is no figure of this run
    if [ "$BENCH_MODE" = hugepages ] &&
       grep -q 'starting again without\|no hugepages (--no-huge)' "$log"; then
        warn "vesper/$scen: vesperd fell back to --no-huge (not enough free hugepages?); not measured in mode $BENCH_MODE:"
        grep 'starting again without\|no hugepages' "$log" | head -2 >&2
        stop_pid "$pid" 10 INT; dpdk_prefix_clean "$prefix"; rm -rf "$run"
        return 1
    fi
    # warm-up: WARM s, then until the FDB holds what the traffic teaches (at most 30 s more)
    sleep_alive "$pid" "$WARM"
    local n=0 deadline=$(( $(now_us) + 30000000 ))
    while :; do
        n=$(vesper_fdb_entries)
        [ "${n:-0}" -ge "$expect" ] && break
        kill -0 "$pid" 2>/dev/null || break
        [ "$(now_us)" -lt "$deadline" ] || break
        sleep 0.5
    done
    say "  vesper: warm after $(awk -v a="$t0" -v b="$(now)" 'BEGIN {printf "%.0f", b - a}') s: fdb_entries=${n:-?} (want $expect)"
    # Not a failure by itself: what a short FDB costs is flooding, and the
    # witness measures that directly (report.py fails the row above 1 %).
    # The shortfall is in the table and results.json (vesper_fdb_entries).
    if [ -z "$n" ]; then
        warn "vesper/$scen: FDB size unknown ($(tr '\n' ' ' < "$RUNTMP/vesper.fdb.err" 2>/dev/null)); measuring anyway, the flood check decides"
    elif [ "$n" -lt "$expect" ]; then
        warn "vesper/$scen: FDB holds $n of $expect entries; measuring anyway, the flood check decides"
    fi
    { echo "## before windows"; vctl switch show bench; } >> "$RUNTMP/vesper.state" 2>&1
    local samples="$LOGS/$scen.vesper.samples" j0 j1 ok=1
    : > "$samples"
    j0=$(cpu_jiffies)
    local start; start=$(now)
    take_windows vesper_sample "$samples"
    j1=$(cpu_jiffies)
    kill -0 "$pid" 2>/dev/null || ok=0
    # a flood skips a member whose link is down: a witness that is down
    # would see nothing and the flood check would pass whatever happened
    local wlink=""
    vctl port show witness > "$RUNTMP/vesper.witness" 2>>"$RUNTMP/vesper.ctl.err" &&
        wlink=$("$PY" "$BENCH_DIR/benchlib.py" vesper-port-link "$RUNTMP/vesper.witness")
    { echo "## after windows"; vctl stats; vctl switch show bench; cat "$RUNTMP/vesper.witness"; } >> "$RUNTMP/vesper.state" 2>&1
    stop_pid "$pid" 20 INT
    dpdk_prefix_clean "$prefix"
    { echo; echo "## vesperctl"; cat "$RUNTMP/vesper.state" "$RUNTMP/vesper.ctl.err" 2>/dev/null; } >> "$log"
    rm -f "$RUNTMP/vesper.state" "$RUNTMP/vesper.ctl.err" "$RUNTMP/vesper.fdb.err" "$RUNTMP/vesper.witness"
    rm -rf "$run"
    if [ "$ok" != 1 ]; then warn "vesper/$scen: vesperd died during the windows (see $log)"; return 1; fi
    if [ "$wlink" != up ]; then
        warn "vesper/$scen: the witness port's link is '${wlink:-unknown}' after the windows, not up: floods skip it, so forwarding cannot be told from flooding; no figure (see $log)"
        return 1
    fi
    AW_WITNESS=witness AW_FDB=$n AW_FDB_WANT=$expect \
        add_windows vesper "$scen" "$samples" "$outs" "$ins" "$start" "$(busy_pct "$j0" "$j1")" || return 1
    say "  vesper: drops since start: $("$PY" "$BENCH_DIR/benchlib.py" vesper-drops "$RUNTMP/vesper.stats"); $(load_note "$j0" "$j1")"
}
