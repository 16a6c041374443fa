#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# (e) Port churn under load: iperf3 TCP vm1 -> vm2 for 20 s while ports vm3
# and vm4 (another VM pair) are added and removed 10 times.  The iperf3 run
# must complete on its one connection, without error, above 10 Mbit/s.
. "$(dirname "$0")/lib.sh"

for n in 1 2 3 4; do
    vm_add "$n" "$NET_A.$n/24"
done
start_vesperd
ctl_ok switch add sw --type private
vm_attach 1 sw
vm_attach 2 sw
assert_ping 1 "$NET_A.2" 3

moved0=$(ctl_json switch show sw | jq '.fdb_stats.moved // 0')
mbufs0=$(mbufs_in_use)
log "mbufs in use before the churn: $mbufs0"
iperf_server 2 "$NET_A.2" 5201
bg "$TMP/iperf-client.json" vm 1 timeout 45 iperf3 -c "$NET_A.2" -p 5201 \
    -t 20 -i 1 -J
CLIENT_PID=$BG_PID
sleep 1

churn_fail=
for i in $(seq 1 10); do
    t0=$(date +%s%N)
    for n in 3 4; do
        if ! out=$(ctl port add "vm$n" --switch sw --class dpdk \
                   --devargs "$(vm_devargs "$n")" 2>&1); then
            churn_fail="round $i: port add vm$n: $out"
            break 2
        fi
    done
    if [ "$i" = 1 ] || [ "$i" = 10 ]; then
        # the churned ports really forward (vm3 <-> vm4)
        if ! wait_for "vm 3 ping -n -c 1 -W 1 $NET_A.4" 5; then
            churn_fail="round $i: vm3 cannot reach vm4 through the new ports"
            break
        fi
        log "round $i: vm3 <-> vm4 forward"
    fi
    pl=$(ctl --json port list --switch sw 2>&1)
    n_ports=$(jq '.ports | length' <<<"$pl" 2>/dev/null)
    if [ "$n_ports" != 4 ]; then
        churn_fail="round $i: expected 4 ports on sw, port list: $pl"
        break
    fi
    sleep 0.2
    for n in 3 4; do
        if ! out=$(ctl port del "vm$n" 2>&1); then
            churn_fail="round $i: port del vm$n: $out"
            break 2
        fi
    done
    n_ports=$(ctl --json port list --switch sw 2>&1 | jq '.ports | length' 2>/dev/null)
    if [ "$n_ports" != 2 ]; then
        churn_fail="round $i: expected 2 ports on sw after del, got '$n_ports'"
        break
    fi
    vesperd_alive || { churn_fail="round $i: vesperd died"; break; }
    # spread 10 rounds over ~15 s of the 20 s run
    el=$((($(date +%s%N) - t0) / 1000000))
    [ "$el" -lt 1500 ] && sleep "$(awk -v m="$el" 'BEGIN { printf "%.3f", (1500 - m) / 1000 }')"
    log "round $i done (${el} ms of vesperctl work, ended $(date +%s.%N | cut -c1-14))"
done

churn_end=$(date +%s)
wait_pid "$CLIENT_PID" 40
crc=$?
wait_pid "$IPERF_SERVER_PID" 10
src=$?
[ -z "$churn_fail" ] || fail "port churn: $churn_fail"
ok "10 rounds of port add/del of vm3 and vm4"
out=$(cat "$TMP/iperf-client.json")
err=$(jq -r '.error // empty' <<<"$out" 2>/dev/null)
[ -z "$err" ] || fail "iperf3 reported an error: $err"
assert_eq "$crc" 0 "iperf3 client completed"
assert_eq "$src" 0 "iperf3 server completed"
conns=$(jq '.start.connected | length' <<<"$out")
assert_eq "$conns" 1 "iperf3 used one TCP connection (no reconnect)"
secs=$(jq -r '.end.sum_received.seconds // 0' <<<"$out")
bps=$(jq -r '.end.sum_received.bits_per_second // 0' <<<"$out")
retr=$(jq -r '.end.sum_sent.retransmits // empty' <<<"$out")
minint=$(jq -r '[.intervals[].sum.bits_per_second] | min' <<<"$out")
log "iperf3: $(awk -v b="$bps" 'BEGIN { printf "%.1f", b / 1e6 }') Mbit/s over ${secs}s, retransmits $retr, slowest 1-s interval $(awk -v b="$minint" 'BEGIN { printf "%.1f", b / 1e6 }') Mbit/s"
for p in vm1 vm2; do
    log "$p stats: $(ctl --json stats "$p" | jq -c '.ports[0] | {rx_packets, tx_packets, drops: (.drops | with_entries(select(.value > 0)))}')"
done
log "per-second Mbit/s: $(jq -r '[.intervals[].sum.bits_per_second / 1e6 | floor] | map(tostring) | join(" ")' <<<"$out")"
log "iperf3 start: $(jq -r '.start.timestamp.timesecs' <<<"$out") (epoch s)"
assert_gt "$secs" 19 "iperf3 ran the full 20 s"
iperf_end=$(( $(jq -r '.start.timestamp.timesecs' <<<"$out") + 21 ))
[ "$churn_end" -le "$iperf_end" ] ||
    log "NOTE: the churn outlasted the iperf3 run by $((churn_end - iperf_end)) s"
[ -n "$retr" ] || fail "iperf3 reported no retransmit count"
ok "retransmits reported: $retr"
assert_gt "$bps" 10000000 "throughput above 10 Mbit/s under churn"
# not asserted (the contract here is completion and > 10 Mbit/s), but shown:
# stalls of the unaffected pair and MAC moves caused by the churn
zero=$(jq '[.intervals[] | select(.sum.bits_per_second < 1e6)] | length' <<<"$out")
moved1=$(ctl_json switch show sw | jq '.fdb_stats.moved // 0')
[ "$zero" -eq 0 ] ||
    log "NOTE: $zero one-second intervals under 1 Mbit/s: vm1 -> vm2 stalled during the churn"
[ "$moved1" -eq "$moved0" ] ||
    log "NOTE: fdb_stats.moved rose by $((moved1 - moved0)) during the churn (vm1/vm2 MACs seen on the churned ports?)"
# the pair still talks
assert_ping 1 "$NET_A.2" 5
# the churned ports' frames, and whatever was in flight when they went,
# went back to the pool
assert_mbufs_back "$mbufs0" "10 rounds of port add/del under traffic"
