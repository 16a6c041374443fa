#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Hot removal of VM NICs mid-burst (TESTS.md #30).  vm1, vm2 and vm3 run
# vesper-guest with one synthetic NIC each, vm5 with one legacy (DEC
# 21140A) NIC, all on a private switch; vm4 is a veth port.  For the whole
# test vm1 pings vm2 100 times a second (the unaffected pair, at a rate it
# carries without loss), while vm4 floods vm3's MAC (5,000 frames a second)
# and vm5's (1,000), and vm3 and vm5 ping vm4.  ROUNDS times, mid-flood,
# vm3's and vm5's NICs are removed (`vm nic del`: the synthetic NIC's
# channel closed and rescinded, the legacy NIC's device detached; their
# ports, FDB entries and GPADLs gone) and added again (a new offer, which
# the running guest opens; a new device, which the guest finds at its next
# link poll and probes).  Asserted:
#  * each removal: the ports and their FDB entries are gone at once, the
#    VMs show no channel or device, vm3's guest saw the rescind and carries
#    on;
#  * each addition: the guests bring the new NICs up (vm5's guest logs the
#    device it had gone or replaced), the ports come up, and vm3 and vm5
#    reach vm4 again;
#  * the unaffected pair: every one of vm1's pings to vm2 comes back;
#  * afterwards vesperd and every guest are alive, each guest connected
#    once, no violation, vm3's partition holds no more GPADLs than before,
#    and the packet pool is back at its baseline.
. "$(dirname "$0")/lib.sh"

need_guests
ROUNDS=5
ROUND_S=4
# the background traffic runs until the rounds are done (then it is
# stopped); this bounds it if the test dies first
SECS=$((ROUNDS * 20))
SYN=3 LEG=5 # the VMs whose NICs come and go

make_ns vm1
make_ns vm2
make_ns vm3
make_ns vm5
vm_add 4 "$NET_A.4/24"
start_vesperd --vm-dir "$VMDIR"
ctl_ok switch add sw --type private
nic_add() { # N TYPE
    ctl_ok vm nic add "vm$1" --switch sw --type "$2" --mac "$(mac_of "$1")"
}
for n in 1 2 $SYN $LEG; do
    ctl_ok vm add "vm$n"
done
for n in 1 2 $SYN; do
    nic_add "$n" synthetic
done
nic_add $LEG legacy
vm_attach 4 sw
start_synth_guests 1 2 $SYN
must ip -n "vt$VT_ID-vm$LEG" tuntap add dev eth0 mode tap
must ip -n "vt$VT_ID-vm$LEG" addr add "$NET_A.$LEG/24" dev eth0
bg "$TMP/guest$LEG.log" "$GUEST" --partition "$VMDIR/vm$LEG.sock" \
    --nic legacy --tap eth0 --netns "vt$VT_ID-vm$LEG"
GUEST_PID[LEG]=$BG_PID
wait_for "vm $LEG ip link show eth0 | grep -q '$(mac_of $LEG)'" 20 ||
    { cat "$TMP/guest$LEG.log"; fail "vm$LEG: TAP did not get its MAC"; }
vm $LEG ip link set eth0 up
up_all() {
    local n
    for n in 1 2 $SYN $LEG; do
        [ "$(port_link "vm$n.nic0")" = up ] || return 1
    done
}
wait_for up_all 20 || fail "the VM ports did not come up"
assert_ping 1 "$NET_A.2" 3
assert_ping $SYN "$NET_A.4" 3
assert_ping $LEG "$NET_A.4" 3
mbufs0=$(mbufs_in_use) # traffic idle
show=$(ctl_json vm show vm$SYN)
gpadls0=$(jq -e '.gpadls' <<<"$show") || fail "vm show vm$SYN has no gpadls"
created0=$(jq -e '.counters.gpadl_created' <<<"$show") || fail "no gpadl_created"
torn0=$(jq -e '.counters.gpadl_torndown' <<<"$show") || fail "no gpadl_torndown"
log "baseline: $mbufs0 mbufs in use, vm$SYN holds $gpadls0 GPADLs"

# ---- traffic: the unaffected pair, and the bursts around vm3 and vm5 --------
PINGERS=() FLOODERS=()
bg "$TMP/ping12.log" vm 1 ping -n -i 0.01 -w "$SECS" "$NET_A.2"
PINGERS+=("$BG_PID")
bg "$TMP/ping${SYN}4.log" vm $SYN ping -n -i 0.01 -w "$SECS" "$NET_A.4"
PINGERS+=("$BG_PID")
bg "$TMP/ping${LEG}4.log" vm $LEG ping -n -i 0.05 -w "$SECS" "$NET_A.4"
PINGERS+=("$BG_PID")
bg "$TMP/flood$SYN.log" vm 4 "$PY" "$VT_DIR/flood.py" "vt$VT_ID-v4" \
    "$(mac_of $SYN)" 5000 "$SECS"
FLOODERS+=("$BG_PID")
bg "$TMP/flood$LEG.log" vm 4 "$PY" "$VT_DIR/flood.py" "vt$VT_ID-v4" \
    "$(mac_of $LEG)" 1000 "$SECS"
FLOODERS+=("$BG_PID")
sleep 1

# ---- ROUNDS of removal and addition mid-burst --------------------------------
for round in $(seq 1 "$ROUNDS"); do
    t0=$SECONDS
    tx0=$(stat_of vm$SYN.nic0 .tx_packets)
    tl0=$(stat_of vm$LEG.nic0 .tx_packets)
    sleep 1
    # the bursts reach both ports right up to their removal
    assert_gt "$(($(stat_of vm$SYN.nic0 .tx_packets) - tx0))" 100 \
        "round $round: the flood reaches vm$SYN's port"
    assert_gt "$(($(stat_of vm$LEG.nic0 .tx_packets) - tl0))" 20 \
        "round $round: the flood reaches vm$LEG's port"
    ctl_ok vm nic del vm$SYN nic0
    ctl_ok vm nic del vm$LEG nic0
    assert_eq "$(ctl_q --json port list | jq "[.ports[] | select(.name == \"vm$SYN.nic0\" or .name == \"vm$LEG.nic0\")] | length")" 0 \
        "round $round: ports vm$SYN.nic0 and vm$LEG.nic0 are gone"
    assert_eq "$(ctl_q --json fdb show sw | jq "[.entries[] | select(.port == \"vm$SYN.nic0\" or .port == \"vm$LEG.nic0\")] | length")" 0 \
        "round $round: no FDB entry names them"
    assert_eq "$(ctl_json vm show vm$SYN | jq '.channels | length')" 0 \
        "round $round: vm$SYN shows no channel"
    assert_eq "$(ctl_json vm show vm$LEG | jq '.devices | length')" 0 \
        "round $round: vm$LEG shows no device"
    wait_for "[ \"\$(grep -c 'rescinded by the host' '$TMP/guest$SYN.log')\" = $round ]" 5 ||
        fail "round $round: vm$SYN's guest did not see the rescind: $(tail -5 "$TMP/guest$SYN.log")"
    ok "round $round: NICs removed under the bursts; vm$SYN's guest saw the rescind"
    sleep 0.5
    nic_add $SYN synthetic
    nic_add $LEG legacy
    # vm5's guest finds its device replaced at its next link poll (3 s)
    # and probes it a second later
    wait_for "[ \"\$(grep -c 'went away or was replaced' '$TMP/guest$LEG.log')\" = $round ]" 8 ||
        fail "round $round: vm$LEG's guest did not notice its device go: $(tail -5 "$TMP/guest$LEG.log")"
    wait_for up_all 10 ||
        fail "round $round: vm$SYN.nic0 $(port_link vm$SYN.nic0), vm$LEG.nic0 $(port_link vm$LEG.nic0) 10 s after vm nic add"
    for n in $SYN $LEG; do
        wait_for "vm $n ping -n -c 1 -W 1 $NET_A.4" 5 ||
            fail "round $round: vm$n does not reach vm4 through its new NIC"
    done
    ok "round $round: NICs added again; the guests brought them up, vm$SYN and vm$LEG reach vm4"
    while [ $((SECONDS - t0)) -lt "$ROUND_S" ]; do sleep 0.2; done
done

# ---- the unaffected pair -----------------------------------------------------
# the traffic stops (ping prints its summary on SIGINT; the one request
# then in flight counts as sent and not answered)
for p in "${PINGERS[@]}"; do
    kill -INT "$p" 2>/dev/null
done
for p in "${FLOODERS[@]}"; do
    kill -TERM "$p" 2>/dev/null
done
for p in "${PINGERS[@]}" "${FLOODERS[@]}"; do
    wait_pid "$p" 10
done
sum=$(grep -E 'packets transmitted' "$TMP/ping12.log")
sent=$(sed -n 's/^\([0-9][0-9]*\) packets transmitted.*/\1/p' <<<"$sum")
got=$(sed -n 's/.* \([0-9][0-9]*\) received.*/\1/p' <<<"$sum")
# the requests in flight when it stopped (one every 10 ms, each answered
# within the largest round trip seen) count as sent and not answered
rtt_max=$(sed -n 's|^rtt .* = [0-9.]*/[0-9.]*/\([0-9.]*\)/.*|\1|p' "$TMP/ping12.log")
in_flight=$(awk -v m="${rtt_max:-0}" 'BEGIN { printf "%d", m / 10 + 1 }')
log "vm1 -> vm2 pings: ${got:-?} of ${sent:-?} answered (largest round trip ${rtt_max:-?} ms: up to $in_flight in flight at the stop)"
assert_gt "$sent" $((ROUNDS * ROUND_S * 50)) "vm1 pinged vm2 through the rounds"
assert_le "$((sent - got))" "$in_flight" "vm1 -> vm2: every ping answered while the other NICs came and went (but those in flight when stopped)"
for n in $SYN $LEG; do
    log "vm$n -> vm4: $(grep -E 'packets transmitted' "$TMP/ping${n}4.log")"
done

# ---- nothing left behind -----------------------------------------------------
vesperd_alive || fail "vesperd died"
for n in 1 2 $SYN $LEG; do
    kill -0 "${GUEST_PID[n]}" 2>/dev/null || fail "vm$n's guest agent died"
    show=$(ctl_json vm show "vm$n")
    assert_eq "$(jq '.connects' <<<"$show")" 1 "vm$n's guest stayed connected (one connection)"
    assert_eq "$(jq '.violations' <<<"$show")" 0 "vm$n: no protocol violation"
done
show=$(ctl_json vm show vm$SYN)
log "vm$SYN: $(jq -c '{gpadls, gpadl_created: .counters.gpadl_created, gpadl_torndown: .counters.gpadl_torndown}' <<<"$show")"
wait_for "[ \"\$(ctl_json vm show vm$SYN | jq '.gpadls')\" -le $gpadls0 ]" 5 ||
    fail "vm$SYN holds $(ctl_json vm show vm$SYN | jq '.gpadls') GPADLs, $gpadls0 before the rounds: the removed NICs' buffers were not torn down"
show=$(ctl_json vm show vm$SYN)
created=$(($(jq '.counters.gpadl_created' <<<"$show") - created0))
torn=$(($(jq '.counters.gpadl_torndown' <<<"$show") - torn0))
# each re-added NIC made its three GPADLs (ring, receive and send
# buffers); each removed one (the NIC there before the rounds, then each
# round's but the last, which stays) tore its three down
assert_eq "$created" $((ROUNDS * 3)) "each re-added NIC made its 3 GPADLs"
assert_eq "$torn" $((ROUNDS * 3)) "each removed NIC tore its 3 GPADLs down"
ok "vm$SYN's removed NICs left no GPADL behind"
assert_ping $SYN "$NET_A.4" 3
assert_ping $LEG "$NET_A.4" 3
assert_ping 1 "$NET_A.2" 3
assert_mbufs_back "$mbufs0" "$ROUNDS hot removals under bursts"
