#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# (a) Internal switch, two VMs: ping both ways, iperf3 TCP for 5 s, and the
# FDB has each VM's MAC on its own port.
. "$(dirname "$0")/lib.sh"

vm_add 1 "$NET_A.1/24"
vm_add 2 "$NET_A.2/24"
start_vesperd
ctl_ok switch add sw --type internal --host-ifname "vt${VT_ID}h" \
    --address "$NET_A.254/24"
vm_attach 1 sw
vm_attach 2 sw

assert_ping 1 "$NET_A.2" 5
assert_ping 2 "$NET_A.1" 5

iperf_server 2 "$NET_A.2" 5201
out=$(vm 1 timeout 30 iperf3 -c "$NET_A.2" -p 5201 -t 5 -J 2>&1)
rc=$?
echo "$out" >"$TMP/iperf-client.json"
wait_pid "$IPERF_SERVER_PID" 10
src=$?
[ $rc -eq 0 ] || { echo "$out" | tail -20; fail "iperf3 client exited $rc"; }
err=$(jq -r '.error // empty' <<<"$out")
[ -z "$err" ] || fail "iperf3 reported an error: $err"
bps=$(jq -r '.end.sum_received.bits_per_second // 0' <<<"$out")
secs=$(jq -r '.end.sum_received.seconds // 0' <<<"$out")
retr=$(jq -r '.end.sum_sent.retransmits // "n/a"' <<<"$out")
log "iperf3: $(awk -v b="$bps" 'BEGIN { printf "%.1f", b / 1e6 }') Mbit/s over ${secs}s, $retr retransmits"
assert_gt "$secs" 4.5 "iperf3 ran the full 5 s"
assert_gt "$bps" 10000000 "iperf3 throughput above 10 Mbit/s"
assert_eq "$src" 0 "iperf3 server finished cleanly"

fdb=$(fdb_json sw)
echo "$fdb" | jq -c '.entries[]'
fdb_has sw "$(mac_of 1)" vm1 || fail "fdb: $(mac_of 1) not on port vm1"
ok "fdb: $(mac_of 1) on vm1"
fdb_has sw "$(mac_of 2)" vm2 || fail "fdb: $(mac_of 2) not on port vm2"
ok "fdb: $(mac_of 2) on vm2"
# and not on the wrong port
if fdb_has sw "$(mac_of 1)" vm2 || fdb_has sw "$(mac_of 2)" vm1; then
    fail "fdb: a VM MAC is on the other VM's port"
fi
# the human table names them too
table=$(ctl fdb show sw)
echo "$table"
assert_contains "$table" "$(mac_of 1)" "fdb show table lists vm1's MAC"
assert_contains "$table" "$(mac_of 2)" "fdb show table lists vm2's MAC"
