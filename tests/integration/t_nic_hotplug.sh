#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Hot removal of a synthetic NIC mid-burst (TESTS.md #30).  vm1, vm2 and
# vm3 run vesper-guest with one synthetic NIC each on a private switch; vm4
# is a veth port.  For the whole test vm1 pings vm2 100 times a second
# (the unaffected pair, at a rate it carries without loss), while vm4
# floods vm3's MAC with 5,000 frames a second and vm3 pings vm4.  ROUNDS
# times, mid-flood, vm3's NIC is removed (`vm nic del`: its channel closed
# and rescinded, its port, FDB entries and GPADLs gone) and added again (a
# new offer, which the running guest opens).  Asserted:
#  * each removal: the port and its FDB entries are gone at once, the VM
#    shows no channel, and the guest saw the rescind and carries on;
#  * each addition: the guest opens the new offer, the port comes up and
#    vm3 reaches vm4 again;
#  * the unaffected pair: every one of vm1's pings to vm2 comes back;
#  * afterwards vesperd and every guest are alive, the partition holds no
#    more GPADLs than before, and the packet pool is back at its baseline.
. "$(dirname "$0")/lib.sh"

need_guests
ROUNDS=5
ROUND_S=3
SECS=$((ROUNDS * ROUND_S + 4))

make_ns vm1
make_ns vm2
make_ns vm3
vm_add 4 "$NET_A.4/24"
start_vesperd --vm-dir "$VMDIR"
ctl_ok switch add sw --type private
for n in 1 2 3; do
    ctl_ok vm add "vm$n"
    ctl_ok vm nic add "vm$n" --switch sw --type synthetic --mac "$(mac_of "$n")"
done
vm_attach 4 sw
start_synth_guests 1 2 3
GUEST3_PID=
for p in "${VT_PIDS[@]}"; do
    grep -q "vm3.sock" "/proc/$p/cmdline" 2>/dev/null && GUEST3_PID=$p
done
[ -n "$GUEST3_PID" ] || fail "vm3's guest agent not found"
up3() { [ "$(port_link vm3.nic0)" = up ]; }
wait_for '[ "$(port_link vm1.nic0) $(port_link vm2.nic0)" = "up up" ] && up3' 20 ||
    fail "the synthetic ports did not come up"
assert_ping 1 "$NET_A.2" 3
assert_ping 3 "$NET_A.4" 3
mbufs0=$(mbufs_in_use) # traffic idle
gpadls0=$(ctl_json vm show vm3 | jq -e '.gpadls') || fail "vm show vm3 has no gpadls"
log "baseline: $mbufs0 mbufs in use, vm3 holds $gpadls0 GPADLs"

# ---- traffic: the unaffected pair, and the burst around vm3 ------------------
PINGS=$(((SECS - 2) * 100))
bg "$TMP/ping12.log" vm 1 ping -n -i 0.01 -c "$PINGS" -W 1 "$NET_A.2"
PING_PID=$BG_PID
bg "$TMP/flood.log" vm 4 "$PY" "$VT_DIR/flood.py" "vt$VT_ID-v4" "$(mac_of 3)" \
    5000 $((SECS - 2))
FLOOD_PID=$BG_PID
bg "$TMP/ping34.log" vm 3 ping -n -i 0.01 -w $((SECS - 2)) "$NET_A.4"
sleep 1

# ---- ROUNDS of removal and addition mid-burst --------------------------------
for round in $(seq 1 "$ROUNDS"); do
    t0=$SECONDS
    rx0=$(stat_of vm3.nic0 .tx_packets)
    sleep 1
    # the burst reaches vm3's port right up to its removal
    assert_gt "$(($(stat_of vm3.nic0 .tx_packets) - rx0))" 100 \
        "round $round: the flood reaches vm3's port"
    ctl_ok vm nic del vm3 nic0
    assert_eq "$(ctl_q --json port list | jq '[.ports[] | select(.name == "vm3.nic0")] | length')" 0 \
        "round $round: port vm3.nic0 is gone"
    assert_eq "$(ctl_q --json fdb show sw | jq '[.entries[] | select(.port == "vm3.nic0")] | length')" 0 \
        "round $round: no FDB entry names vm3.nic0"
    assert_eq "$(ctl_json vm show vm3 | jq '.channels | length')" 0 \
        "round $round: vm3 shows no channel"
    wait_for "[ \"\$(grep -c 'rescinded by the host' '$TMP/guest3.log')\" = $round ]" 5 ||
        fail "round $round: vm3's guest did not see the rescind: $(tail -5 "$TMP/guest3.log")"
    kill -0 "$GUEST3_PID" 2>/dev/null || fail "round $round: vm3's guest died on the rescind"
    ok "round $round: NIC removed under the burst; the guest saw the rescind"
    sleep 0.5
    ctl_ok vm nic add vm3 --switch sw --type synthetic --mac "$(mac_of 3)"
    wait_for up3 10 || fail "round $round: vm3.nic0 not up 10 s after vm nic add: $(tail -5 "$TMP/guest3.log")"
    wait_for "vm 3 ping -n -c 1 -W 1 $NET_A.4" 5 ||
        fail "round $round: vm3 does not reach vm4 through its new NIC"
    ok "round $round: NIC added again; the guest opened it, vm3 reaches vm4"
    while [ $((SECONDS - t0)) -lt "$ROUND_S" ]; do sleep 0.2; done
done

# ---- the unaffected pair -----------------------------------------------------
wait_pid "$PING_PID" 20
got=$(sed -n 's/.* \([0-9][0-9]*\) received.*/\1/p' "$TMP/ping12.log")
log "vm1 -> vm2 pings: ${got:-?} of $PINGS answered"
assert_eq "$got" "$PINGS" "vm1 -> vm2: every ping answered while vm3's NIC came and went"
wait_pid "$FLOOD_PID" 20
log "flood: $(cat "$TMP/flood.log"); vm3 -> vm4: $(grep -E 'packets transmitted' "$TMP/ping34.log")"

# ---- nothing left behind -----------------------------------------------------
vesperd_alive || fail "vesperd died"
for p in "${VT_PIDS[@]}"; do
    if grep -q -- "--partition" "/proc/$p/cmdline" 2>/dev/null; then
        kill -0 "$p" || fail "a guest agent died"
    fi
done
kill -0 "$GUEST3_PID" 2>/dev/null || fail "vm3's guest died"
show=$(ctl_json vm show vm3)
log "vm3: $(jq -c '{gpadls, connects, disconnects, violations, gpadl_created: .counters.gpadl_created, gpadl_torndown: .counters.gpadl_torndown}' <<<"$show")"
assert_eq "$(jq '.connects' <<<"$show")" 1 "vm3's guest stayed connected through the rounds"
assert_eq "$(jq '.violations' <<<"$show")" 0 "no protocol violation"
wait_for "[ \"\$(ctl_json vm show vm3 | jq '.gpadls')\" -le $gpadls0 ]" 5 ||
    fail "vm3 holds $(ctl_json vm show vm3 | jq '.gpadls') GPADLs, $gpadls0 before the rounds: the removed NICs' buffers were not torn down"
ok "vm3's removed NICs left no GPADL behind"
assert_ping 3 "$NET_A.4" 3
assert_ping 1 "$NET_A.2" 3
assert_mbufs_back "$mbufs0" "$ROUNDS hot removals under a burst"
