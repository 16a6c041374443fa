# Guest paths (scenarios synth-pair and legacy-pair).  Sourced by run.sh,
# after lib-ovs.sh and lib-vesper.sh, whose start/stop helpers it reuses.
#
# synth-pair: synthetic NICs, Vesper against OVS-DPDK (below).  legacy-pair:
# the same shape with two emulated DEC 21140A ("legacy") NICs, Vesper only —
# OVS has no emulated NIC, and testpmd's virtio_user is not one either —
# reported next to synth-pair (legacy ÷ synthetic) with the trapped register
# accesses per received packet (see run_vesper_guest).
#
# The shape, the same for both engines: ONE guest process drives two NICs
# from one polling thread: NIC A sends 64-byte frames to NIC B's MAC as fast
# as its ring lets it, NIC B counts what arrives; the switch between them
# learnt both MACs.  Core layout (2 CPUs), identical for both engines:
#
#   CPU 1  the datapath: vesperd's datapath lcore (--cores 0,1) |
#          OVS's one PMD thread (pmd-cpu-mask=0x2)
#   CPU 0  the guest: `vesper-guest bench` (taskset -c 0) | dpdk-testpmd
#          (--lcores 0@0,1@0: main and forwarding lcore both on CPU 0), and
#          the switch's control side: vesperd's control thread (EAL main
#          lcore 0) | ovs-vswitchd's main thread (dpdk-lcore-mask=0x1) and
#          ovsdb-server.
#
# Vesper serves a synthetic NIC's VMBus channel (ring reads, NVSP/RNDIS,
# copies into the guest's receive buffer) on the DATAPATH lcore that polls
# the port (vsp-net/netvsp_port.h), as OVS does its vhost-user work on the
# PMD: both on CPU 1.  vesperd's control thread keeps only the channels'
# control work (GPADL lookups, violations); the host masks the guest's ring
# interrupts, so the guest does not signal it for new frames.  In
# legacy-pair the control thread still runs the device model on CPU 0
# (below).  See README.md.
#
#   vesper : vesperd --config (a private switch "bench" only) --vm-dir RUN/vm
#            ...; vesperctl vm add vmA / vm nic add vmA --switch bench --type
#            synthetic --name nic0 --mac 02:00:00:00:00:0a, the same for vmB
#            (…:0b); taskset -c 0 vesper-guest bench --partition vmA.sock
#            --partition2 vmB.sock --nic synthetic:0 --nic synthetic:0
#            --size 64 --seconds LONG --interval-ms 250 (stopped with SIGINT
#            after the windows, it then prints its result line).
#            Counters: `vesperctl --json vm show vmA|vmB`: offered = vmA.nic0
#            g2h_frames (frames the host took from guest A), received =
#            vmB.nic0 h2g_frames (frames written into guest B's receive
#            buffer).  The switch also has the port "witness" (below).
#   ovs    : bridge br0 (netdev), vA / vB = dpdkvhostuserclient
#            (vhost-server-path RUN/vA.sock, RUN/vB.sock), default NORMAL flow;
#            guest = dpdk-testpmd with --vdev net_virtio_user0 (A, server=1,
#            mac …:0a), net_virtio_user1 (B, …:0b) and net_null0 (size=64,
#            copy=1: the frame source), --forward-mode=mac
#            --port-topology=chained --portlist=2,0,1: streams null -> A
#            (dst = B's MAC), A -> B (nothing arrives on A) and B -> null
#            (B's frames are counted and freed).  --tx-first makes B send one
#            burst to its own MAC first, so OVS learns B (and drops those:
#            same port).  Counters: `ovs-appctl dpctl/show -s`: offered = vA
#            RX packets, received = vB TX packets (enqueued into B's virtio
#            ring).  testpmd's own port counters (A TX, B RX) are cut into
#            the same windows as a guest-side cross-check.  br0 also has
#            the port "witness" (ofport 3, added before vA and vB).
#   testpmd: not applicable (in the OVS run testpmd is the guest); no figure.
#
# legacy-pair, Vesper only: the same daemon and core layout; `vm nic add
# --type legacy` for vmA and vmB (each VM's legacy device 0); the guest is
# `vesper-guest bench ... --nic legacy:0 --nic legacy:0` (the driver's poll
# mode: descriptors reaped and frames received by their OWN bits, one CSR1
# transmit poll demand per burst of 30, CSR2 only after the receiver ran
# dry; every register access is a trapped I/O round trip to vesperd's
# control thread, which runs the device model on CPU 0 beside the guest).
# Counters: `vm show`: offered = vmA.nic0 datapath.device.tx_frames (frames
# the device took from guest A's transmit ring), received = vmB.nic0
# datapath.rx_delivered (frames written into guest B's receive
# descriptors), trapped accesses = devices[].traps of both VMs; per window
# traps ÷ received = traps_per_pkt.  OVS: not run (no figure, not missing).
#
# Both Vesper runs also take the guest's own windows: vesper-guest prints a
# line of cumulative counters every GUEST_INTERVAL_MS (--interval-ms), stamped
# with the wall clock, cut into windows like the host's samples.
#
# Flooding (README "Flooding"): with two NICs on the switch, a flood of A's
# frames reaches B exactly as an FDB hit does, so a broken lookup would
# still give a figure.  Every run's switch therefore has a third port,
# "witness" (net_null0,no-rx=1 in the NICs' VLAN: access 1, the default of
# vm nic add), that only floods reach: Vesper's from the configuration
# (benchlib.py vesper-config), OVS's added to br0 before vA and vB.  Its TX
# is sampled with the NICs' counters (vesperctl --json stats witness;
# dpctl/show -s) and flooded % = Σ witness TX ÷ Σ received on B over the
# windows; report.py fails a Vesper figure above 1 % (OVS: a warning).
# Vesper's witness must be up and in NIC A's VLAN after the windows, else
# there is no figure.

GUEST_CPU=0
GUEST_INTERVAL_MS=250
MAC_A=02:00:00:00:00:0a
MAC_B=02:00:00:00:00:0b

is_guest_scenario() { case "$1" in synth-pair|legacy-pair) return 0 ;; esac; return 1; }

# the NIC type of a guest scenario (vesperctl vm nic add --type, vesper-guest --nic)
guest_nic_type() { case "$1" in legacy-pair) echo legacy ;; *) echo synthetic ;; esac; }

vesper_guest_check() {
    if [ ! -x "$VESPER_GUEST" ]; then
        warn "vesper-guest not found (or not executable) at $VESPER_GUEST (needed by synth-pair and legacy-pair)"
        warn "build Vesper first (meson compile -C build), point VESPER_GUEST= at the binary, or leave the guest paths out"
        return 1
    fi
    return 0
}

# guest_row ENGINE SOURCE TX_MPPS RX_MPPS SECONDS [TRAPS_PER_RX]: one line of guest.tsv
guest_row() {
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$scen" "$BENCH_MODE" "$1" "$2" "$3" "$4" "$5" "${6:-}" >> "$GUEST_TSV"
}

run_testpmd_guest() {
    say "  testpmd: n/a for $1 (a guest path: in the OVS run dpdk-testpmd is the guest)"
    return 0
}

vesper_vm_sample() { # vesper_vm_sample OUTFILE
    local t0 t1
    t0=$(now)
    {
        vctl vm show vmA > "$RUNTMP/vmA.json"
        vctl vm show vmB > "$RUNTMP/vmB.json"
        # the witness right after B, whose received frames it is compared
        # with (an unreadable answer is a missing counter, never 0: benchlib.py)
        vctl stats witness > "$RUNTMP/witness.json"
    } 2>>"$RUNTMP/vesper.ctl.err"
    t1=$(now)
    "$PY" "$BENCH_DIR/benchlib.py" vesper-vm-counters "$t0" "$t1" --witness "$RUNTMP/witness.json" \
        "$RUNTMP/vmA.json" "$RUNTMP/vmB.json" >> "$1"
}

run_vesper_guest() {
    local scen=$1
    local type; type=$(guest_nic_type "$scen")
    local cfg="$OUT/vesper/$scen.json" cmdfile="$OUT/vesper/$scen.cmd"
    mkdir -p "$OUT/vesper"
    "$PY" "$BENCH_DIR/benchlib.py" vesper-config "$scen" "$TRAFFIC" "$cfg" || return 1
    local run; run=$(mktemp -d /tmp/vbench-vesper.XXXXXX); BENCH_TMPDIRS+=("$run")
    cp "$cfg" "$run/config.json"
    VESPER_SOCK="$run/vesperd.sock"
    new_prefix vsp; local prefix=$DPDK_PREFIX
    # shellcheck disable=SC2054  # commas belong to the arguments
    local cmd=("$VESPERD" --config "$run/config.json" --socket "$VESPER_SOCK" --vm-dir "$run/vm"
               --cores 0,1 --mbufs "$VESPER_MBUFS" --file-prefix "$prefix")
    [ "$BENCH_HUGE" = 1 ] || cmd+=(--no-huge)
    # the guest runs until it is stopped with SIGINT after the windows
    local gsecs=$((WARM + 30 + REPS * SECS + 120))
    local gcmd=(taskset -c "$GUEST_CPU" "$VESPER_GUEST" bench --partition "$run/vm/vmA.sock"
                --partition2 "$run/vm/vmB.sock" --nic "$type:0" --nic "$type:0"
                --size 64 --seconds "$gsecs" --interval-ms "$GUEST_INTERVAL_MS" -v)
    { echo "# $scen: as run.sh ran it; --config was a private copy of $cfg, RUN=$run"
      echo "${cmd[*]}"
      echo "vesperctl --socket $VESPER_SOCK vm add vmA"
      echo "vesperctl --socket $VESPER_SOCK vm nic add vmA --switch bench --type $type --name nic0 --mac $MAC_A"
      echo "vesperctl --socket $VESPER_SOCK vm add vmB"
      echo "vesperctl --socket $VESPER_SOCK vm nic add vmB --switch bench --type $type --name nic0 --mac $MAC_B"
      echo "${gcmd[*]}"; } > "$cmdfile"
    say "  vesper: ${cmd[*]}"
    say "  vesper: guest on CPU $GUEST_CPU: ${gcmd[*]}"
    local log="$LOGS/$scen.vesperd.log" glog="$LOGS/$scen.vesper-guest.log" gout="$LOGS/$scen.vesper-guest.json"
    local t0; t0=$(now)
    "${cmd[@]}" > "$log" 2>&1 < /dev/null &
    local pid=$!; track_pid "$pid"
    local i up=0
    for ((i = 0; i < 120; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        if [ -S "$VESPER_SOCK" ] && vctl stats > /dev/null 2>&1; then up=1; break; fi
        sleep 0.5
    done
    local setup_ok=$up
    [ -z "${VESPER_CTRL_CPU:-}" ] || taskset -p -c "$VESPER_CTRL_CPU" "$pid" > /dev/null
    if [ "$up" = 1 ]; then
        { vctl vm add vmA && vctl vm nic add vmA --switch bench --type "$type" --name nic0 --mac "$MAC_A" &&
          vctl vm add vmB && vctl vm nic add vmB --switch bench --type "$type" --name nic0 --mac "$MAC_B"
        } >> "$RUNTMP/vesper.state" 2>&1 || setup_ok=0
    fi
    if [ "$setup_ok" != 1 ]; then
        warn "vesper/$scen: vesperd did not start or refused the VMs; last lines of $log:"
        tail -n 20 "$log" "$RUNTMP/vesper.state" >&2
        stop_pid "$pid" 10 INT; dpdk_prefix_clean "$prefix"; rm -rf "$run" "$RUNTMP/vesper.state"
        return 1
    fi
    "${gcmd[@]}" > "$gout" 2> "$glog" < /dev/null &
    local gpid=$!; track_pid "$gpid"
    # warm-up: WARM s, then until the switch has learnt both MACs (at most 30 s more)
    local n=0 deadline
    sleep_alive "$gpid" "$WARM"
    deadline=$(( $(now_us) + 30000000 ))
    while kill -0 "$gpid" 2>/dev/null; do
        n=$(vesper_fdb_entries)
        [ "${n:-0}" -ge 2 ] && break
        [ "$(now_us)" -lt "$deadline" ] || break
        sleep 0.5
    done
    if ! kill -0 "$gpid" 2>/dev/null || ! kill -0 "$pid" 2>/dev/null; then
        warn "vesper/$scen: the guest or vesperd exited during the warm-up; last lines of $glog and $log:"
        tail -n 15 "$glog" "$log" >&2
        stop_pid "$gpid" 10 INT; stop_pid "$pid" 20 INT; dpdk_prefix_clean "$prefix"; rm -rf "$run"
        return 1
    fi
    say "  vesper: warm after $(awk -v a="$t0" -v b="$(now)" 'BEGIN {printf "%.0f", b - a}') s: fdb_entries=${n:-?} (want 2)"
    [ "${n:-0}" -ge 2 ] || warn "vesper/$scen: the switch did not learn both MACs; measuring anyway"
    { echo "## before windows"; vctl switch show bench; vctl fdb show bench; } >> "$RUNTMP/vesper.state" 2>&1
    local samples="$LOGS/$scen.vesper.samples" j0 j1 p0 p1 ok=1
    : > "$samples"
    j0=$(cpu_jiffies); p0=$(proc_jiffies "$pid" "$gpid")
    local start; start=$(now)
    take_windows vesper_vm_sample "$samples"
    j1=$(cpu_jiffies); p1=$(proc_jiffies "$pid" "$gpid")
    kill -0 "$pid" 2>/dev/null && kill -0 "$gpid" 2>/dev/null || ok=0
    # the guest prints its JSON line when stopped
    stop_pid "$gpid" 15 INT
    # A flood skips a member whose link is down or that is not in the
    # frame's VLAN: a witness that is down, or in another VLAN than NIC A
    # (whose frames would flood), would see nothing and the flood check
    # would pass whatever happened.
    local wlink="" wvlan="" avlan=""
    vctl port show witness > "$RUNTMP/vesper.witness" 2>>"$RUNTMP/vesper.ctl.err" &&
        wlink=$("$PY" "$BENCH_DIR/benchlib.py" vesper-port-link "$RUNTMP/vesper.witness") &&
        wvlan=$("$PY" "$BENCH_DIR/benchlib.py" vesper-port-vlan "$RUNTMP/vesper.witness")
    vctl port show vmA.nic0 > "$RUNTMP/vesper.nicA" 2>>"$RUNTMP/vesper.ctl.err" &&
        avlan=$("$PY" "$BENCH_DIR/benchlib.py" vesper-port-vlan "$RUNTMP/vesper.nicA")
    { echo "## after windows"; vctl stats; vctl vm show vmA; vctl vm show vmB
      cat "$RUNTMP/vesper.witness" "$RUNTMP/vesper.nicA"; } >> "$RUNTMP/vesper.state" 2>&1
    # the last sample of the windows (the guest attached), as vesperd answered
    { echo "## last sample of the windows: vm show vmA, vm show vmB, stats witness"
      cat "$RUNTMP/vmA.json" "$RUNTMP/vmB.json" "$RUNTMP/witness.json"; } >> "$RUNTMP/vesper.state" 2>&1
    local drops; drops=$("$PY" "$BENCH_DIR/benchlib.py" vesper-vm-drops "$RUNTMP/vmA.json" "$RUNTMP/vmB.json")
    stop_pid "$pid" 20 INT
    dpdk_prefix_clean "$prefix"
    { echo; echo "## vesperctl"; cat "$RUNTMP/vesper.state" "$RUNTMP/vesper.ctl.err" 2>/dev/null; } >> "$log"
    rm -f "$RUNTMP/vesper.state" "$RUNTMP/vesper.ctl.err" "$RUNTMP/vmA.json" "$RUNTMP/vmB.json" \
        "$RUNTMP/witness.json" "$RUNTMP/vesper.witness" "$RUNTMP/vesper.nicA"
    rm -rf "$run"
    if [ "$ok" != 1 ]; then warn "vesper/$scen: vesperd or the guest died during the windows (see $log, $glog)"; return 1; fi
    if [ "$wlink" != up ]; then
        warn "vesper/$scen: the witness port's link is '${wlink:-unknown}' after the windows, not up: floods skip it, so forwarding cannot be told from flooding; no figure (see $log)"
        return 1
    fi
    if [ -z "$wvlan" ] || [ "$wvlan" != "$avlan" ]; then
        warn "vesper/$scen: the witness port is '${wvlan:-unknown}', NIC A '${avlan:-unknown}': floods from A would not reach it, so forwarding cannot be told from flooding; no figure (see $log)"
        return 1
    fi
    local traps=""
    [ "$type" = legacy ] && traps="vmA.nic0#traps,vmB.nic0#traps"
    # flooded % = Σ witness TX ÷ Σ received on B (report.py); the FDB
    # should hold the two MACs (the warm-up waited for them)
    AW_WITNESS=witness AW_FDB=$n AW_FDB_WANT=2 \
        add_windows vesper "$scen" "$samples" vmB.nic0 vmA.nic0 "$start" "$(busy_pct "$j0" "$j1")" \
        "$(other_pct "$j0" "$j1" "$p0" "$p1")" "$traps" || return 1
    # The guest's own count: its --interval-ms lines cut into the same
    # windows (sent on A, received on B, and for legacy NICs the trapped
    # accesses it made); without them, its whole-run result line.
    local g gs="$LOGS/$scen.vesper-guest.samples" gw gt tpr=""
    if "$PY" "$BENCH_DIR/benchlib.py" vesper-guest-samples "$gout" > "$gs" 2>/dev/null &&
       gw=$("$PY" "$BENCH_DIR/benchlib.py" windows "$gs" A B "$start" "$SECS" "$REPS" 2>/dev/null) &&
       g=$("$PY" "$BENCH_DIR/benchlib.py" median-windows <<< "$gw" 2>/dev/null); then
        if [ "$type" = legacy ] &&
           gt=$("$PY" "$BENCH_DIR/benchlib.py" windows "$gs" traps B "$start" "$SECS" "$REPS" 2>/dev/null); then
            # Σ traps ÷ Σ received over the windows
            tpr=$(paste -d' ' <(echo "$gw") <(echo "$gt") | awk '{r += $3 * $4; t += $6 * $8} END {if (r > 0) printf "%.4f", t / r}')
        fi
        # shellcheck disable=SC2086
        guest_row vesper windows $g $tpr
        say "  vesper: guest's own count (vesper-guest bench, median of the windows): $(echo "$g" | awk '{printf "%.3f Mpps sent on A, %.3f Mpps received on B", $1, $2}')${tpr:+, $tpr trapped accesses per received packet}"
    elif g=$("$PY" "$BENCH_DIR/benchlib.py" vesper-guest-result "$gout" 2>/dev/null); then
        # shellcheck disable=SC2086
        guest_row vesper whole-run $g
        say "  vesper: guest's own count (vesper-guest bench, whole run incl. warm-up): $(echo "$g" | awk '{printf "%.3f Mpps sent on A, %.3f Mpps received on B over %.0f s", $1, $2, $3}')"
    else
        warn "vesper/$scen: no result line from vesper-guest (see $glog)"
    fi
    say "  vesper: $type NIC drops since start: $drops"
    say "  vesper: $(load_note "$j0" "$j1"), other processes $(other_pct "$j0" "$j1" "$p0" "$p1")%"
}

run_ovs_guest() {
    local scen=$1
    if [ "$scen" = legacy-pair ]; then
        say "  ovs: n/a for $scen (OVS-DPDK has no emulated NIC: its guests use virtio/vhost-user)"
        return 0
    fi
    local log="$LOGS/$scen.ovs.log" tlog="$LOGS/$scen.testpmd-guest.log"
    if [ "$BENCH_HUGE" != 1 ]; then
        # virtio_user shares the guest's memory with OVS through hugepage
        # files; with --no-huge (DPDK 22.11) the pair connects but stalls.
        warn "ovs/$scen: needs hugepages (testpmd virtio_user does not run with --no-huge); no figure"
        return 1
    fi
    new_prefix ovs; local prefix=$DPDK_PREFIX
    : > "$log"
    if ! ovs_start "$prefix" >> "$log" 2>&1; then
        warn "ovs/$scen: OVS did not start (see $log and $OVS_RUN)"
        cat "$OVS_RUN/ovs-vswitchd.log" >> "$log" 2>/dev/null
        ovs_stop; dpdk_prefix_clean "$prefix"; return 1
    fi
    local setup_ok=1
    {
        # the witness, as in Vesper's switch (README "Flooding"); first, so
        # that it is in the bridge when the learning floods happen
        ovs_port witness 3 "net_null0,no-rx=1" || setup_ok=0
        ovs_vsctl add-port br0 vA -- set Interface vA type=dpdkvhostuserclient ofport_request=1 \
            "options:vhost-server-path=$OVS_RUN/vA.sock" || setup_ok=0
        ovs_vsctl add-port br0 vB -- set Interface vB type=dpdkvhostuserclient ofport_request=2 \
            "options:vhost-server-path=$OVS_RUN/vB.sock" || setup_ok=0
    } >> "$log" 2>&1
    if [ "$setup_ok" != 1 ]; then
        warn "ovs/$scen: port set-up failed (see $log)"
        ovs_stop; cat "$OVS_RUN/ovs-vswitchd.log" >> "$log" 2>/dev/null; dpdk_prefix_clean "$prefix"; return 1
    fi
    new_prefix tpmdg; local gprefix=$DPDK_PREFIX
    # shellcheck disable=SC2054  # commas belong to the arguments
    local gcmd=(dpdk-testpmd --lcores "0@$GUEST_CPU,1@$GUEST_CPU" --main-lcore 0 --no-pci
                --file-prefix="$gprefix" --single-file-segments
                --vdev "net_virtio_user0,path=$OVS_RUN/vA.sock,server=1,queues=1,mac=$MAC_A"
                --vdev "net_virtio_user1,path=$OVS_RUN/vB.sock,server=1,queues=1,mac=$MAC_B"
                --vdev "net_null0,size=64,copy=1" --
                --nb-cores=1 --forward-mode=mac --port-topology=chained --portlist=2,0,1
                "--eth-peer=0,$MAC_B" "--eth-peer=1,$MAC_B" --eth-peer=2,02:00:00:00:00:0c
                --tx-first --stats-period=1 --total-num-mbufs=32768)
    say "  ovs: $OVSD (dpdk-lcore-mask=0x1 pmd-cpu-mask=0x2), br0: vA, vB dpdkvhostuserclient, witness net_null0,no-rx=1"
    say "  ovs: guest on CPU $GUEST_CPU: ${gcmd[*]}"
    local pidfile="$RUNTMP/testpmd-guest.pid"
    rm -f "$pidfile"
    local t0; t0=$(now)
    "$PY" "$BENCH_DIR/benchlib.py" tstamp "$tlog" "$pidfile" -- stdbuf -oL "${gcmd[@]}" &
    local wpid=$!; track_pid "$wpid"
    local i tpid=""
    for ((i = 0; i < 50; i++)); do [ -s "$pidfile" ] && break; sleep 0.1; done
    [ -s "$pidfile" ] && { tpid=$(cat "$pidfile"); track_pid "$tpid"; }
    # warm-up: WARM s, then until OVS has learnt both MACs and A's frames flow (at most 30 s more)
    local n=0 deadline fdb=""
    [ -n "$tpid" ] && sleep_alive "$tpid" "$WARM"
    deadline=$(( $(now_us) + 30000000 ))
    while [ -n "$tpid" ] && kill -0 "$tpid" 2>/dev/null; do
        fdb=$(ovs_appctl fdb/show br0 2>/dev/null)
        n=0
        case "$fdb" in *"$MAC_A"*) n=$((n + 1)) ;; esac
        case "$fdb" in *"$MAC_B"*) n=$((n + 1)) ;; esac
        [ "$n" -ge 2 ] && break
        [ "$(now_us)" -lt "$deadline" ] || break
        sleep 0.5
    done
    if [ -z "$tpid" ] || ! kill -0 "$tpid" 2>/dev/null || ! kill -0 "$VSWITCHD_PID" 2>/dev/null; then
        warn "ovs/$scen: dpdk-testpmd (the guest) or ovs-vswitchd exited during the warm-up; last lines of $tlog:"
        tail -n 15 "$tlog" >&2
        [ -n "$tpid" ] && stop_pid "$tpid" 10 INT
        stop_pid "$wpid" 5 TERM
        ovs_stop; cat "$OVS_RUN/ovs-vswitchd.log" >> "$log" 2>/dev/null
        dpdk_prefix_clean "$gprefix"; dpdk_prefix_clean "$prefix"; rm -rf "$OVS_RUN"
        unset OVS_RUNDIR OVS_LOGDIR OVS_DBDIR OVS_SYSCONFDIR
        return 1
    fi
    say "  ovs: warm after $(awk -v a="$t0" -v b="$(now)" 'BEGIN {printf "%.0f", b - a}') s: MACs learnt=$n (want 2)"
    [ "$n" -ge 2 ] || warn "ovs/$scen: OVS did not learn both MACs; measuring anyway"
    { echo "## before windows"; echo "$fdb"; ovs_appctl dpif-netdev/pmd-rxq-show; } >> "$log" 2>&1
    local samples="$LOGS/$scen.ovs.samples" j0 j1 p0 p1 ok=1
    : > "$samples"
    ovs_appctl dpif-netdev/pmd-stats-clear >/dev/null
    j0=$(cpu_jiffies); p0=$(proc_jiffies "$VSWITCHD_PID" "$OVSDB_PID" "$tpid" "$wpid")
    local start; start=$(now)
    take_windows ovs_sample "$samples"
    j1=$(cpu_jiffies); p1=$(proc_jiffies "$VSWITCHD_PID" "$OVSDB_PID" "$tpid" "$wpid")
    kill -0 "$VSWITCHD_PID" 2>/dev/null && kill -0 "$tpid" 2>/dev/null || ok=0
    { echo "## after windows"; ovs_appctl dpif-netdev/pmd-stats-show; ovs_appctl fdb/show br0
      ovs_appctl dpctl/dump-flows; ovs_vsctl get Interface vB statistics
      echo "## last sample of the windows: dpctl/show -s"; cat "$RUNTMP/ovs.dpctl"; } >> "$log" 2>&1
    local cyc; cyc=$(ovs_appctl dpif-netdev/pmd-stats-show | awk '/pmd thread/ {on = 1} /main thread/ {on = 0} on && /avg cycles per packet:/ {print $5; exit}')
    # testpmd prints a stats block every 1-2 s and the guest-side windows end
    # on the first block at least SECS after their start: leave it that long
    sleep_alive "$tpid" 3
    local drops; drops=$(awk '/port [0-9]+: v[AB] / {p = $3} p && /dropped:/ {for (i = 1; i <= NF; i++) if ($i ~ /^dropped:[1-9]/) {printf "%s%s %s %s", sep, p, $1, $i; sep = "; "}}' "$RUNTMP/ovs.dpctl")
    stop_pid "$tpid" 20 INT
    stop_pid "$wpid" 5 TERM
    ovs_stop
    cat "$OVS_RUN/ovs-vswitchd.log" >> "$log" 2>/dev/null
    dpdk_prefix_clean "$gprefix"
    dpdk_prefix_clean "$prefix"
    rm -rf "$OVS_RUN"
    unset OVS_RUNDIR OVS_LOGDIR OVS_DBDIR OVS_SYSCONFDIR
    if [ "$ok" != 1 ]; then warn "ovs/$scen: ovs-vswitchd or the guest died during the windows (see $log, $tlog)"; return 1; fi
    # flooded % = Σ witness TX ÷ Σ received on B (report.py; info for OVS)
    AW_WITNESS=witness add_windows ovs "$scen" "$samples" vB vA "$start" "$(busy_pct "$j0" "$j1")" \
        "$(other_pct "$j0" "$j1" "$p0" "$p1")" || return 1
    # the guest's own view, cut into the same windows: TX port 0 (A), RX port 1 (B)
    local gs="$LOGS/$scen.testpmd-guest.samples" g
    "$PY" "$BENCH_DIR/benchlib.py" testpmd-samples "$tlog" > "$gs"
    if g=$("$PY" "$BENCH_DIR/benchlib.py" windows "$gs" 0 1 "$start" "$SECS" "$REPS" 2>/dev/null |
           "$PY" "$BENCH_DIR/benchlib.py" median-windows 2>/dev/null); then
        # shellcheck disable=SC2086
        guest_row ovs windows $g
        say "  ovs: guest's own count (testpmd, median of the windows): $(echo "$g" | awk '{printf "%.3f Mpps sent on A, %.3f Mpps received on B", $1, $2}')"
    else
        warn "ovs/$scen: testpmd's stats blocks did not cover the windows (see $tlog)"
    fi
    say "  ovs: PMD cycles/pkt ${cyc:-?} in the windows; vhost drops since start: ${drops:-none}"
    say "  ovs: $(load_note "$j0" "$j1"), other processes $(other_pct "$j0" "$j1" "$p0" "$p1")%"
    return 0
}
