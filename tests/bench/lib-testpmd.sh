# dpdk-testpmd (io forwarding), the harness ceiling.  Sourced by run.sh.
#
# One testpmd per scenario: main lcore 0, one forwarding lcore 1, --no-pci,
# a private --file-prefix, --stats-period=1.  Its output is time-stamped line
# by line (benchlib.py tstamp), every "Port statistics" block becomes one
# counter sample, and the windows are differences of cumulative TX-packets
# between blocks SECS apart (wall-clock), like the other engines.
#
#   l2-1k / l2-64k : net_pcap0 (X.A) <-> net_pcap1 (X.B), io both ways; a
#                    pcap port without tx_pcap drops what it sends (and
#                    counts it).  Figure = TX port 0 + TX port 1.
#   vlan-access    : net_pcap0 (vlan-1k.A) -> net_null0 (no-rx), one way.
#                    Figure = TX port 1.

run_testpmd() {
    local scen=$1 vdevs outs ins
    case "$scen" in
        l2-1k|l2-64k)
            vdevs=(--vdev "net_pcap0,rx_pcap=$TRAFFIC/$scen.A.pcap,infinite_rx=1"
                   --vdev "net_pcap1,rx_pcap=$TRAFFIC/$scen.B.pcap,infinite_rx=1")
            outs=0,1; ins=0,1 ;;
        vlan-access)
            vdevs=(--vdev "net_pcap0,rx_pcap=$TRAFFIC/vlan-1k.A.pcap,infinite_rx=1"
                   --vdev "net_null0,no-rx=1")
            outs=1; ins=0 ;;
        *) warn "testpmd: unknown scenario $scen"; return 1 ;;
    esac
    new_prefix tpmd; local prefix=$DPDK_PREFIX
    local mem=(--file-prefix="$prefix")
    [ "$BENCH_HUGE" = 1 ] || mem+=(--no-huge -m 1024)
    local log="$LOGS/$scen.testpmd.log" pidfile="$RUNTMP/testpmd.pid"
    # shellcheck disable=SC2054  # commas belong to the arguments
    local cmd=(dpdk-testpmd -l 0,1 --main-lcore 0 --no-pci "${mem[@]}" "${vdevs[@]}" --
               --nb-cores=1 --forward-mode=io --stats-period=1 --auto-start
               --record-core-cycles --total-num-mbufs=163840)
    say "  testpmd: ${cmd[*]}"
    rm -f "$pidfile"
    local t0; t0=$(now)
    "$PY" "$BENCH_DIR/benchlib.py" tstamp "$log" "$pidfile" -- stdbuf -oL "${cmd[@]}" &
    local wpid=$!; track_pid "$wpid"
    local i tpid=""
    for ((i = 0; i < 50; i++)); do [ -s "$pidfile" ] && break; sleep 0.1; done
    [ -s "$pidfile" ] && { tpid=$(cat "$pidfile"); track_pid "$tpid"; }
    local j0 j1 ok=1
    j0=$(cpu_jiffies)
    # warm-up (EAL init, pcap load), then REPS windows of SECS.  testpmd prints a
    # stats block every 1-2 s (its timer-Hz estimate decides), and a window ends
    # on the first block at least SECS after its start, so leave slack for that.
    if [ -z "$tpid" ] || ! sleep_alive "$tpid" $((WARM + REPS * (SECS + 2) + 3)); then
        warn "testpmd/$scen: dpdk-testpmd exited early; last lines of $log:"
        tail -n 15 "$log" >&2
        ok=0
    fi
    j1=$(cpu_jiffies)
    [ -n "$tpid" ] && stop_pid "$tpid" 20 INT
    stop_pid "$wpid" 5 TERM
    dpdk_prefix_clean "$prefix"
    [ "$ok" = 1 ] || return 1
    local samples="$LOGS/$scen.testpmd.samples"
    "$PY" "$BENCH_DIR/benchlib.py" testpmd-samples "$log" > "$samples"
    local start; start=$(awk -v a="$t0" -v w="$WARM" 'BEGIN {printf "%.6f", a + w}')
    add_windows testpmd "$scen" "$samples" "$outs" "$ins" "$start" "$(busy_pct "$j0" "$j1")" || return 1
    say "  testpmd: $(grep -o 'CPU cycles/packet=[0-9.]*' "$log" | tail -1) (busy, whole run), $(load_note "$j0" "$j1")"
}
