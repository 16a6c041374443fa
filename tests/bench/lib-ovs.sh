# OVS-DPDK 3.1 (userspace datapath, NORMAL action).  Sourced by run.sh.
#
# ovsdb-server and ovs-vswitchd-dpdk run from a private run directory and
# are stopped by pid.  dpdk-lcore-mask=0x1 (main lcore 0), pmd-cpu-mask=0x2
# (one PMD thread on core 1), dpdk-extra "--no-pci --file-prefix=P" (and
# "--no-huge -m 2048 --legacy-mem" without hugepages).  Bridge br0, netdev
# datapath, mac-table-size=131072, default NORMAL flow.
#
#   l2-1k / l2-64k : p0 = net_pcap0 (X.A), p1 = net_pcap1 (X.B); figure = TX p0 + TX p1.
#                    l2-64k pins the datapath flow limit (upcall/set-flow-limit
#                    200000; it starts near 10k and only grows slowly) and the
#                    windows start once all 65,536 megaflows are installed and
#                    upcalls have stopped (at most 60 s); min-revalidate-pps=1
#                    keeps the low-rate megaflows when flow dumps are slow.
#   vlan-access    : trunk p0 = net_pcap0 (vlan-1k.A, trunks=100-115) -> access
#                    ports a100..a115 = net_null0..15 (no-rx, tag 100..115); the
#                    512 B-side MACs are static FDB entries on their access port.
#                    Figure = sum TX a100..a115.
#   every scenario : a port "witness" (net_null, no-rx; in vlan-access a trunk
#                    of 100-115) that only floods reach, as in Vesper's switch;
#                    its TX is OVS's flooded share (info, README "Flooding").
# Counters: `ovs-appctl dpctl/show -s` (live datapath counters; the database
# statistics lag by up to 5 s), time-stamped around each call.

OVSD=/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk
OVS_SCHEMA=/usr/share/openvswitch/vswitch.ovsschema
OVS_RUN=""; OVSDB_PID=""; VSWITCHD_PID=""

ovs_vsctl() { ovs-vsctl --db="unix:$OVS_RUN/db.sock" --timeout=60 "$@"; }
ovs_appctl() { ovs-appctl -t "$OVS_RUN/ovs-vswitchd.ctl" --timeout=60 "$@"; }

ovs_stop() {
    if [ -n "$VSWITCHD_PID" ] && kill -0 "$VSWITCHD_PID" 2>/dev/null; then
        ovs_appctl exit >/dev/null 2>&1 &
        local apid=$! i
        for ((i = 0; i < 100; i++)); do kill -0 "$VSWITCHD_PID" 2>/dev/null || break; sleep 0.1; done
        stop_pid "$VSWITCHD_PID" 5 TERM
        stop_pid "$apid" 2 TERM
    fi
    [ -n "$VSWITCHD_PID" ] && untrack_pid "$VSWITCHD_PID"
    [ -n "$OVSDB_PID" ] && stop_pid "$OVSDB_PID" 5 TERM
    VSWITCHD_PID=""; OVSDB_PID=""
}

ovs_start() { # ovs_start FILE_PREFIX
    local prefix=$1 extra="--no-pci --file-prefix=$1"
    [ "$BENCH_HUGE" = 1 ] || extra="$extra --no-huge -m 2048 --legacy-mem"
    OVS_RUN=$(mktemp -d /tmp/vbench-ovs.XXXXXX); BENCH_TMPDIRS+=("$OVS_RUN")
    export OVS_RUNDIR=$OVS_RUN OVS_LOGDIR=$OVS_RUN OVS_DBDIR=$OVS_RUN OVS_SYSCONFDIR=$OVS_RUN
    ovsdb-tool create "$OVS_RUN/conf.db" "$OVS_SCHEMA" || return 1
    ovsdb-server "$OVS_RUN/conf.db" --remote="punix:$OVS_RUN/db.sock" \
        --unixctl="$OVS_RUN/ovsdb-server.ctl" --pidfile="$OVS_RUN/ovsdb-server.pid" \
        --log-file="$OVS_RUN/ovsdb-server.log" -vconsole:off --detach --no-chdir || return 1
    OVSDB_PID=$(cat "$OVS_RUN/ovsdb-server.pid"); track_pid "$OVSDB_PID"
    ovs_vsctl --no-wait init || return 1
    ovs_vsctl --no-wait set Open_vSwitch . other_config:dpdk-init=true \
        other_config:dpdk-lcore-mask=0x1 other_config:pmd-cpu-mask=0x2 \
        "other_config:dpdk-extra=$extra" || return 1
    say "  ovs: $OVSD (dpdk-lcore-mask=0x1 pmd-cpu-mask=0x2 dpdk-extra=\"$extra\")"
    "$OVSD" "unix:$OVS_RUN/db.sock" --unixctl="$OVS_RUN/ovs-vswitchd.ctl" \
        --pidfile="$OVS_RUN/ovs-vswitchd.pid" --log-file="$OVS_RUN/ovs-vswitchd.log" \
        -vconsole:off --detach --no-chdir || return 1
    VSWITCHD_PID=$(cat "$OVS_RUN/ovs-vswitchd.pid"); track_pid "$VSWITCHD_PID"
    ovs_vsctl add-br br0 -- set bridge br0 datapath_type=netdev \
        other_config:mac-table-size=131072 || return 1
    ovs-ofctl mod-port br0 br0 no-flood >/dev/null 2>&1 || true   # keep the bridge's tap out of floods
}

ovs_port() { # ovs_port NAME OFPORT DEVARGS [extra ovs-vsctl args for the port]
    local name=$1 ofport=$2 devargs=$3; shift 3
    ovs_vsctl add-port br0 "$name" -- set Interface "$name" type=dpdk ofport_request="$ofport" \
        "options:dpdk-devargs=\"$devargs\"" "$@"
}

ovs_sample() { # ovs_sample OUTFILE: append one counter sample
    local t0 t1
    t0=$(now); ovs_appctl dpctl/show -s > "$RUNTMP/ovs.dpctl"; t1=$(now)
    "$PY" "$BENCH_DIR/benchlib.py" ovs-counters "$t0" "$t1" "$RUNTMP/ovs.dpctl" >> "$1"
}

pmd_field() { # pmd_field PATTERN: last field of that line of the PMD thread's stats
    ovs_appctl dpif-netdev/pmd-stats-show | awk -v pat="$1" '/pmd thread/ {on = 1} /main thread/ {on = 0} on && index($0, pat) {print $NF; exit}'
}

run_ovs() {
    local scen=$1 outs ins expect_flows=0
    local log="$LOGS/$scen.ovs.log"
    new_prefix ovs; local prefix=$DPDK_PREFIX
    : > "$log"
    if ! ovs_start "$prefix" >> "$log" 2>&1; then
        warn "ovs/$scen: OVS did not start (see $log and $OVS_RUN)"
        cat "$OVS_RUN/ovs-vswitchd.log" >> "$log" 2>/dev/null
        ovs_stop; dpdk_prefix_clean "$prefix"; return 1
    fi
    local t0; t0=$(now)
    local setup_ok=1
    {
        case "$scen" in
            l2-1k|l2-64k)
                # the witness, as in Vesper's switch (README "Flooding"); first,
                # so that it is in the bridge when the learning floods happen
                ovs_port witness 3 "net_null0,no-rx=1" || setup_ok=0
                ovs_port p0 1 "net_pcap0,rx_pcap=$TRAFFIC/$scen.A.pcap,infinite_rx=1" || setup_ok=0
                ovs_port p1 2 "net_pcap1,rx_pcap=$TRAFFIC/$scen.B.pcap,infinite_rx=1" || setup_ok=0
                outs=p0,p1; ins=p0,p1
                if [ "$scen" = l2-64k ]; then
                    ovs_appctl upcall/set-flow-limit 200000
                    # Each of the 65,536 megaflows sees only a few packets per second;
                    # when a flow dump takes longer than 250 ms (CPU contention) the
                    # revalidator would evict flows under 5 pps and OVS would fall into
                    # an upcall spiral that flatters Vesper.  Keep them.
                    ovs_vsctl set Open_vSwitch . other_config:min-revalidate-pps=1
                    expect_flows=65536
                fi ;;
            vlan-access)
                # the witness, in every VLAN of the traffic (README "Flooding")
                ovs_port witness 2 "net_null16,no-rx=1" -- set port witness vlan_mode=trunk trunks=100-115 || setup_ok=0
                ovs_port p0 1 "net_pcap0,rx_pcap=$TRAFFIC/vlan-1k.A.pcap,infinite_rx=1" \
                    -- set port p0 vlan_mode=trunk trunks=100-115 || setup_ok=0
                local v outs=""
                for v in $(seq 100 115); do
                    ovs_port "a$v" $((v - 90)) "net_null$((v - 100)),no-rx=1" -- set port "a$v" tag="$v" || setup_ok=0
                    outs="$outs${outs:+,}a$v"
                done
                ins=p0
                local vlan mac n=0
                while read -r vlan mac; do
                    ovs_appctl fdb/add br0 "a$vlan" "$vlan" "$mac" >/dev/null || setup_ok=0
                    n=$((n + 1))
                done < <("$PY" "$BENCH_DIR/benchlib.py" static-fdb vlan-1k "$TRAFFIC")
                echo "static fdb entries added: $n" ;;
            *) echo "unknown scenario $scen"; setup_ok=0 ;;
        esac
    } >> "$log" 2>&1
    if [ "$setup_ok" != 1 ] || ! kill -0 "$VSWITCHD_PID" 2>/dev/null; then
        warn "ovs/$scen: port set-up failed (see $log)"
        cat "$OVS_RUN/ovs-vswitchd.log" >> "$log" 2>/dev/null
        ovs_stop; dpdk_prefix_clean "$prefix"; return 1
    fi
    # warm-up: learning, flow set-up
    sleep_alive "$VSWITCHD_PID" "$WARM"
    if [ "$expect_flows" -gt 0 ]; then
        # wait (at most 60 s) until every megaflow is installed and upcalls have stopped,
        # so the windows measure the steady state and not the learning phase
        local w n u0 u1
        for ((w = 0; w < 30; w++)); do
            n=$(ovs_appctl upcall/show | sed -n 's/.*(current \([0-9]*\)).*/\1/p' | head -1)
            u0=$(pmd_field "miss with success upcall")
            sleep 2
            u1=$(pmd_field "miss with success upcall")
            [ "${n:-0}" -ge "$expect_flows" ] && [ "$u0" = "$u1" ] && break
        done
        say "  ovs: settled after $(awk -v a="$t0" -v b="$(now)" 'BEGIN {printf "%.0f", b - a}') s: datapath flows=${n:-?} (want $expect_flows)"
    fi
    { echo "## before windows"; ovs_appctl upcall/show; ovs_appctl fdb/stats-show br0 | head -3
      ovs_appctl dpif-netdev/pmd-rxq-show; } >> "$log" 2>&1
    local samples="$LOGS/$scen.ovs.samples" j0 j1 ok=1
    : > "$samples"
    ovs_appctl dpif-netdev/pmd-stats-clear >/dev/null
    j0=$(cpu_jiffies)
    local start; start=$(now)
    take_windows ovs_sample "$samples"
    j1=$(cpu_jiffies)
    kill -0 "$VSWITCHD_PID" 2>/dev/null || ok=0
    { echo "## after windows"; ovs_appctl dpctl/show -s; ovs_appctl dpif-netdev/pmd-stats-show; ovs_appctl upcall/show
      ovs_appctl fdb/stats-show br0 | head -3; ovs_appctl dpctl/dump-flows | head -5; } >> "$log" 2>&1
    local cyc; cyc=$(ovs_appctl dpif-netdev/pmd-stats-show | awk '/pmd thread/ {on = 1} /main thread/ {on = 0} on && /avg cycles per packet:/ {print $5; exit}')
    local upc; upc=$(pmd_field "miss with success upcall")
    ovs_stop
    cat "$OVS_RUN/ovs-vswitchd.log" >> "$log" 2>/dev/null
    dpdk_prefix_clean "$prefix"
    rm -rf "$OVS_RUN"
    unset OVS_RUNDIR OVS_LOGDIR OVS_DBDIR OVS_SYSCONFDIR
    if [ "$ok" != 1 ]; then warn "ovs/$scen: ovs-vswitchd died during the windows (see $log)"; return 1; fi
    AW_WITNESS=witness add_windows ovs "$scen" "$samples" "$outs" "$ins" "$start" "$(busy_pct "$j0" "$j1")" || return 1
    say "  ovs: PMD cycles/pkt ${cyc:-?} and upcalls ${upc:-?} in the windows, $(load_note "$j0" "$j1")"
    [ "${upc:-0}" -gt 1000 ] 2>/dev/null && warn "ovs/$scen: ${upc} upcalls during the windows: flows were evicted and reinstalled, not a steady state"
    return 0
}
