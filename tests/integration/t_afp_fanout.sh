#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# (p) Another process's packet fanout group neither stops a kernel NIC from
# binding nor takes part of its traffic (tools/vesperd/afp_fanout.c).
# DPDK's af_packet PMD asks for the fanout group (vesperd's pid ^ the NIC's
# ifindex) & 0xffff; a group of that id that another process holds
#   - on another NIC made the bind fail ("could not set PACKET_FANOUT");
#   - on the same NIC, of the same kind, took vesperd's socket in, and the
#     kernel gave each flow to one of the two: about half of the flows
#     never reached the switch.
# vesperd's sockets now join no group: each gets every frame of its NIC.  And a port that asks
# for more than one receive queue (qpairs=2) is refused: vesperd polls one.
. "$(dirname "$0")/lib.sh"

vm_add 1 "$NET_A.1/24"
vm_add 2 "$NET_A.2/24"
vm_add 3 "$NET_A.3/24"
start_vesperd
ctl_ok switch add sw --type private
vm_attach 1 sw

ifindex() { cat "/sys/class/net/$1/ifindex"; }
# hold IFACE ID MODE: a fanout group held by another process; waits until
# it is in place
hold() {
    local log=$TMP/hold-$1.log
    bg "$log" "$PY" "$VT_DIR/fanout_hold.py" "$@"
    HOLD_PID=$BG_PID
    wait_for "grep -qx ready '$log'" 5 || { cat "$log"; fail "fanout_hold.py $* did not start"; }
    log "another process holds fanout group $2 (mode $3) on $1, pid $HOLD_PID"
}
pmd_id() { echo $(((VT_VESPERD_PID ^ $(ifindex "$1")) & 0xffff)); }

# ---- a group of the PMD's id on another NIC --------------------------------
h2=vt$VT_ID-h2
hold "vt$VT_ID-h1" "$(pmd_id "$h2")" 0x0 # hash fanout, no flags
vm_attach 2 sw
assert_ping 2 "$NET_A.1" 3
assert_not_contains "$(cat "$TMP/vesperd.log")" "could not set PACKET_FANOUT" \
    "the PMD's fanout request did not fail the bind"

# ---- a group of the PMD's id and kind on the same NIC ----------------------
# (hash fanout with defrag and rollover: exactly what the PMD asks for, so
# its own request would join this group)
h3=vt$VT_ID-h3
hold "$h3" "$(pmd_id "$h3")" 0x90000000
vm_attach 3 sw
# 400 UDP flows (one datagram from each of 400 source ports): in a shared
# group the kernel splits them by flow hash; vm1's MAC is written into vm3's
# neighbour table, so that no ARP is needed (its reply could be the half
# that went astray)
must vm 3 ip neigh replace "$NET_A.1" lladdr "$(mac_of 1)" dev "vt$VT_ID-v3"
rx0=$(stat_of vm3 .rx_packets)
vm_udp_flows 3 "$NET_A.1"
# the count settles: 400 (a few more if vm3 sent something else too)
got() { echo $(($(stat_of vm3 .rx_packets) - rx0)); }
wait_for '[ "$(got)" -ge 400 ]' 5
n=$(got)
log "vm3's port took $n frames of vm3's 400 datagrams"
assert_gt "$n" 399 "every one of the 400 flows reached the switch"
assert_ping 3 "$NET_A.1" 3
kill -TERM "$HOLD_PID"
wait_pid "$HOLD_PID" 5
held=$(sed -n 's/^received \([0-9][0-9]*\)$/\1/p' "$TMP/hold-$h3.log")
log "the other process's group received ${held:-?} frames"
# a group of its own: it saw every frame on the NIC too, vesperd's included
assert_gt "$held" 399 "the other process's group still had all 400 flows"

# ---- more than one receive queue is refused --------------------------------
# vesperd polls one receive queue per port: with qpairs=2 the PMD's fanout
# group handed about half of the flows to a second socket nobody read (208
# of these 400); in no group, each socket would copy every frame
out=$(ctl port add vm9 --switch sw --class dpdk \
    --devargs "net_af_packet_vt9,iface=vt$VT_ID-h3,qpairs=2" 2>&1) &&
    fail "a port with qpairs=2 was added: $out"
log "port add with qpairs=2: $out"
assert_contains "$out" "asks for qpairs=2: vesperd polls one receive queue per port" \
    "qpairs=2 is refused, saying why"
assert_eq "$(ctl_q --json port list | jq '[.ports[] | select(.name == "vm9")] | length')" 0 \
    "nothing was added"
