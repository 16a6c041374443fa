#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# soak.sh BUILD_DIR — the soak of TESTS.md #32, part 3: vesperd under
# steady traffic with periodic churn for SOAK_SECS (default 600; the 24 h
# of TESTS.md is SOAK_SECS=86400), sampled every SAMPLE_SECS (default 10).
# Not part of `make test` (it is long by design): `make soak`.
#
# Topology, in namespaces of its own (tests/integration/lib.sh): a private
# switch with vm1 and vm2 (vesper-guest, synthetic NICs), vm3 and vm4
# (veth ports bound with net_af_packet), vm6 (vesper-guest, synthetic,
# its NIC churned), vm7 and vm8 (veth ports: the flood's source and the
# latency probe).  Traffic for the whole run: iperf3 TCP vm3 -> vm4 (as
# fast as it goes: the switch's rate on this machine) and iperf3 TCP
# vm1 -> vm2, in runs of 60 s; a veth port floods vm6's MAC with 2,000
# frames/s.  Each period, one churn step in turn: port vm5 (a veth) added
# and deleted; vm6's NIC deleted and added again; `port set vm3
# --learn-limit N`; a switch added and deleted; a capture of 200 frames
# on vm4; `fdb flush`.  Each sample: vesperd's RSS and fds, the packet
# pool's mbufs in use, the switch's FDB entries, the ports, and the p99
# round trip of 100 pings vm8 -> vm7 (0.01 s apart, under the load).
#
# Pass (checked at the end; every sample is in soak.tsv):
#  * vesperd alive and answering; every guest agent alive;
#  * RSS flat: the mean of the last quarter of the samples at most 5 % or
#    4 MiB (the larger) over the mean of the second quarter (the first is
#    warm-up: pools and tables filling);
#  * fds: the last sample within 4 of the second quarter's first;
#  * FDB entries never above 16 (there are 8 MACs, vm1..vm8), the ports
#    back to the same set after each churn step;
#  * the packet pool back at its idle baseline once the traffic stopped;
#  * counters: vm3's and vm4's rx/tx packet counters never went back;
#  * p99 latency stable: the median p99 of the last quarter at most 2x
#    (and 2 ms) over that of the second quarter;
#  * traffic flowed: the switch sent vm4 (vm3's stream) and vm2.nic0
#    (vm1's) at least 1,000 frames a second each over the run;
#  * no sanitizer report (lib.sh scans the logs, as for the tests).
# A sample whose readings did not all come back (a vesperctl call timed
# out under the load) is logged and skipped.  A summary line per
# criterion in the log; soak.tsv (every sample) and, when every criterion
# is met, soak-result.json in BUILD_DIR/soak-logs.
export VT_LOGDIR=${1:-build}/soak-logs
. "$(dirname "$0")/../integration/lib.sh"

SOAK_SECS=${SOAK_SECS:-600}
SAMPLE_SECS=${SAMPLE_SECS:-10}
is_num "$SOAK_SECS" && is_num "$SAMPLE_SECS" || fail "SOAK_SECS and SAMPLE_SECS are seconds"
[ "$SOAK_SECS" -ge $((SAMPLE_SECS * 8)) ] ||
    fail "SOAK_SECS ($SOAK_SECS) must give at least 8 samples of $SAMPLE_SECS s"
need_guests
RESULT=$VT_LOGDIR/soak-result.json
TSV=$VT_LOGDIR/soak.tsv
rm -f "$RESULT"

# ---- topology ---------------------------------------------------------------
make_ns vm1
make_ns vm2
make_ns vm6
vm_add 3 "$NET_A.3/24"
vm_add 4 "$NET_A.4/24"
vm_add 5 "$NET_A.5/24"
vm_add 7 "$NET_A.7/24" # the flood's source
vm_add 8 "$NET_A.8/24" # the latency probe (pings vm7)
start_vesperd --vm-dir "$VMDIR"
ctl_ok switch add sw --type private
for n in 1 2 6; do
    ctl_ok vm add "vm$n"
    ctl_ok vm nic add "vm$n" --switch sw --type synthetic --mac "$(mac_of "$n")" --name nic0
done
vm_attach 3 sw
vm_attach 4 sw
vm_attach 7 sw
vm_attach 8 sw
start_synth_guests 1 2 6
ports_up() {
    local p
    for p in vm1.nic0 vm2.nic0 vm6.nic0 vm3 vm4 vm7 vm8; do
        [ "$(port_link "$p")" = up ] || return 1
    done
}
wait_for ports_up 30 || fail "the ports did not come up: $(ctl port list)"
assert_ping 1 "$NET_A.2" 3
assert_ping 3 "$NET_A.4" 3
assert_ping 6 "$NET_A.7" 3
assert_ping 8 "$NET_A.7" 3
PORTS0=$(ctl_q --json port list | jq -c '[.ports[].name] | sort')
MBUFS0=$(mbufs_in_use)
log "idle baseline: $MBUFS0 mbufs in use; ports $PORTS0"

# ---- traffic ------------------------------------------------------------------
# iperf3 in runs of 60 s (a TCP stream of hours is one long connection;
# runs also make new flows)
iperf_loop() { # CLIENT SERVER-ADDR PORT LOG  (TERM: stops, client too)
    local c=$1 addr=$2 port=$3 logf=$4 child=
    trap '[ -n "$child" ] && kill -TERM "$child" 2>/dev/null; exit 0' TERM
    while :; do
        ip netns exec "vt$VT_ID-vm$c" iperf3 -c "$addr" -p "$port" -t 60 \
            >"$logf" 2>&1 &
        child=$!
        wait "$child" || sleep 1
    done
}
for s in "2 $NET_A.2 5201" "4 $NET_A.4 5202"; do
    read -r n addr port <<<"$s"
    bg "$TMP/iperf-server-$port.log" vm "$n" iperf3 -s -B "$addr" -p "$port"
    wait_for "vm $n ss -Hltn 'sport = :$port' | grep -q LISTEN" 10 ||
        fail "iperf3 server on $addr:$port did not start"
done
LOOPS=()
iperf_loop 1 "$NET_A.2" 5201 "$TMP/iperf12.log" &
LOOPS+=("$!")
iperf_loop 3 "$NET_A.4" 5202 "$TMP/iperf34.log" &
LOOPS+=("$!")
VT_PIDS+=("${LOOPS[@]}")
bg "$TMP/flood.log" vm 7 "$PY" "$VT_DIR/flood.py" "vt$VT_ID-v7" "$(mac_of 6)" \
    2000 "$((SOAK_SECS + 60))"
FLOOD_PID=$BG_PID

# ---- churn --------------------------------------------------------------------
CHURN_STEPS=(vm5_port vm6_nic learn_limit switch capture fdb_flush)
churn() { # STEP
    case "$1" in
    vm5_port)
        ctl_ok port add vm5 --switch sw --class dpdk --devargs "$(vm_devargs 5)"
        wait_for "[ \"\$(port_link vm5)\" = up ]" 10 || fail "churn: vm5 did not come up"
        wait_for "vm 5 ping -n -c 1 -W 1 $NET_A.3" 10 || fail "churn: vm5 does not reach vm3"
        ctl_ok port del vm5 ;;
    vm6_nic)
        ctl_ok vm nic del vm6 nic0
        sleep 0.5
        ctl_ok vm nic add vm6 --switch sw --type synthetic --mac "$(mac_of 6)" --name nic0
        wait_for "[ \"\$(port_link vm6.nic0)\" = up ]" 15 ||
            fail "churn: vm6's NIC did not come back: $(tail -3 "$TMP/guest6.log")"
        relearn_vm6 ;;
    learn_limit)
        ctl_ok port set vm3 --learn-limit $((64 + SAMPLE_N % 64)) ;;
    switch)
        ctl_ok switch add soak-tmp --type private
        ctl_ok switch del soak-tmp ;;
    capture)
        rm -f "$TMP/soak.pcap"
        ctl capture vm4 -c 200 --duration 5 -w "$TMP/soak.pcap" >/dev/null ||
            fail "churn: capture on vm4 failed"
        rm -f "$TMP/soak.pcap" ;;
    fdb_flush)
        ctl_ok fdb flush sw
        relearn_vm6 ;;
    esac
}
# vm6 only receives (the flood): once its MAC is forgotten the flood goes
# to every port until vm6 sends again, so it does
relearn_vm6() {
    wait_for "vm 6 ping -n -c 1 -W 1 $NET_A.7" 10 || fail "churn: vm6 does not reach vm7"
}

# ---- samples ------------------------------------------------------------------
vd_rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$VT_VESPERD_PID/status"; }
vd_fds() { ls "/proc/$VT_VESPERD_PID/fd" | wc -l; }
# p99 of 100 pings vm8 -> vm7 in ms (the 99th of the sorted RTTs; a lost
# ping counts as 1000 ms, so two lost make the p99 1000).  Neither veth
# carries a TCP stream: the round trip measures the switch under the
# load of the others, not a queue the probe shares with iperf3.
ping_p99() {
    vm 8 ping -n -c 100 -i 0.01 -W 1 "$NET_A.7" 2>/dev/null |
        sed -n 's/.*time=\([0-9.]*\) ms.*/\1/p' | sort -n |
        awk '{ r[NR] = $1 } END { for (i = NR + 1; i <= 100; i++) r[i] = 1000;
              printf "%.3f", r[99] }'
}
counter() { # PORT FIELD
    stat_of "$1" ".$2"
}

printf 't_s\trss_kb\tfds\tmbufs\tfdb\tports_ok\tp99_ms\tstep\tvm3_rx\tvm3_tx\tvm4_rx\tvm4_tx\tvm2_tx\n' >"$TSV"
T_START=$SECONDS
SAMPLE_N=0
prev=
while [ $((SECONDS - T_START)) -lt "$SOAK_SECS" ]; do
    t0=$SECONDS
    step=${CHURN_STEPS[SAMPLE_N % ${#CHURN_STEPS[@]}]}
    churn "$step"
    vesperd_alive || fail "vesperd died (sample $SAMPLE_N, after churn step $step)"
    ports=$(ctl_q --json port list | jq -c '[.ports[].name] | sort')
    ports_ok=$([ "$ports" = "$PORTS0" ] && echo 1 || echo 0)
    fdb=$(ctl_q --json switch show sw | jq '.fdb_entries')
    cur="$(counter vm3 rx_packets)	$(counter vm3 tx_packets)	$(counter vm4 rx_packets)	$(counter vm4 tx_packets)	$(counter vm2.nic0 tx_packets)"
    row="$((SECONDS - T_START))	$(vd_rss)	$(vd_fds)	$(ctl_q --json info | jq '.mbufs.in_use')	$fdb	$ports_ok	$(ping_p99)	$step	$cur"
    # 13 fields, each a number but the step's name
    if ! awk -F'\t' 'NF != 13 { exit 1 }
            { for (i = 1; i <= NF; i++) if (i != 8 && $i !~ /^[0-9]+(\.[0-9]+)?$/) exit 1 }' \
            <<<"$row"; then
        log "sample $SAMPLE_N skipped, a reading did not come back: $row"
        SAMPLE_N=$((SAMPLE_N + 1))
        continue
    fi
    echo "$row" >>"$TSV"
    log "sample $SAMPLE_N: $row"
    if [ -n "$prev" ]; then
        paste <(tr '\t' '\n' <<<"$prev") <(tr '\t' '\n' <<<"$cur") |
            awk '$2 < $1 { exit 1 }' || fail "a packet counter went back: $prev -> $cur"
    fi
    prev=$cur
    SAMPLE_N=$((SAMPLE_N + 1))
    while [ $((SECONDS - t0)) -lt "$SAMPLE_SECS" ]; do sleep 0.5; done
done

# ---- stop the traffic, then the verdict ---------------------------------------
for p in "${LOOPS[@]}" "$FLOOD_PID"; do
    kill -TERM "$p" 2>/dev/null
done
for p in "${LOOPS[@]}" "$FLOOD_PID"; do
    wait_pid "$p" 10
done
sleep 1
for n in 1 2 6; do
    kill -0 "${GUEST_PID[n]}" 2>/dev/null || fail "vm$n's guest agent died"
done
vesperd_alive || fail "vesperd died"

# quarters of the samples: q2 = the second (after warm-up), q4 = the last
verdict=$("$PY" - "$TSV" <<'PYEOF'
import csv, json, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
n = len(rows)
q = max(n // 4, 1)
q2, q4 = rows[q:2 * q], rows[n - q:]
mean = lambda rs, k: statistics.mean(float(r[k]) for r in rs)
med = lambda rs, k: statistics.median(float(r[k]) for r in rs)
out = {
    "samples": n,
    "rss_kb_q2": round(mean(q2, "rss_kb")), "rss_kb_q4": round(mean(q4, "rss_kb")),
    "rss_kb_max": max(int(r["rss_kb"]) for r in rows),
    "fds_q2_first": int(q2[0]["fds"]), "fds_last": int(rows[-1]["fds"]),
    "mbufs_max": max(int(r["mbufs"]) for r in rows),
    "fdb_max": max(int(r["fdb"]) for r in rows),
    "ports_ok": all(r["ports_ok"] == "1" for r in rows),
    "p99_ms_q2": med(q2, "p99_ms"), "p99_ms_q4": med(q4, "p99_ms"),
    "p99_ms_max": max(float(r["p99_ms"]) for r in rows),
    # frames the switch sent a second to vm4 (vm3's iperf3 stream) and to
    # vm2's synthetic NIC (vm1's)
    "vm4_tx_pps": round((int(rows[-1]["vm4_tx"]) - int(rows[0]["vm4_tx"])) /
                        max(float(rows[-1]["t_s"]) - float(rows[0]["t_s"]), 1)),
    "vm2_tx_pps": round((int(rows[-1]["vm2_tx"]) - int(rows[0]["vm2_tx"])) /
                        max(float(rows[-1]["t_s"]) - float(rows[0]["t_s"]), 1)),
}
print(json.dumps(out))
PYEOF
) || fail "the samples in $TSV could not be read"
get() { jq -r ".$1" <<<"$verdict"; }
log "verdict inputs: $verdict"
rss2=$(get rss_kb_q2) rss4=$(get rss_kb_q4)
allow=$((rss2 / 20 > 4096 ? rss2 / 20 : 4096))
assert_le "$rss4" "$((rss2 + allow))" "RSS flat: last quarter's mean within +$allow kB of the second quarter's"
assert_le "$(get fds_last)" "$(($(get fds_q2_first) + 4))" "fds flat"
assert_le "$(get fdb_max)" 16 "FDB entries bounded (8 MACs)"
assert_gt "$(get vm4_tx_pps)" 999 "vm3's iperf3 stream through the switch to vm4 (frames/s)"
assert_gt "$(get vm2_tx_pps)" 999 "vm1's iperf3 stream through the switch to vm2's synthetic NIC (frames/s)"
assert_eq "$(get ports_ok)" true "the ports back to the same set after every churn step"
p2=$(get p99_ms_q2) p4=$(get p99_ms_q4)
assert_le "$p4" "$(awk -v a="$p2" 'BEGIN { b = a * 2; if (b < a + 2) b = a + 2; printf "%.3f", b }')" \
    "p99 latency stable: last quarter's median p99 ($p4 ms) within 2x (and +2 ms) of the second quarter's ($p2 ms)"
assert_mbufs_back "$MBUFS0" "$SOAK_SECS s of traffic and churn"
ok "soak: $SOAK_SECS s, $SAMPLE_N samples, every criterion met"
jq --argjson s "$SOAK_SECS" '. + {soak_secs: $s, pass: true}' <<<"$verdict" >"$RESULT"
log "result: $RESULT"
