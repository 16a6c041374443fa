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

# ---- IPv4 fragments --------------------------------------------------------
# A datagram larger than the MTU leaves the VM as fragments, and a switch
# forwards them as they are: 3 pings of 3000 bytes without DF are 3 x 3
# frames each way (and a UDP flow of 4000-byte datagrams, iperf3 -u).
got=$(vm 1 ping -n -c 3 -i 0.2 -W 1 -M dont -s 3000 "$NET_A.2" 2>&1 |
      sed -n 's/.* \([0-9][0-9]*\) received.*/\1/p')
assert_eq "${got:-?}" 3 "ping -s 3000 -M dont (IPv4 fragments) vm1 -> vm2"
iperf_server 2 "$NET_A.2" 5202
# (stderr aside: iperf3 warns that 4000-byte blocks will be fragmented;
# 5 Mbit/s: the server's default 208 KiB socket buffer then holds 300 ms,
# a stall a loaded 2-core machine can have; at 20 Mbit/s it held 80 ms)
out=$(vm 1 timeout 20 iperf3 -c "$NET_A.2" -p 5202 -u -b 5M -l 4000 -t 2 -J 2>"$TMP/iperf-udp.err")
wait_pid "$IPERF_SERVER_PID" 10
lost=$(jq -r '.end.sum.lost_percent // "?"' <<<"$out")
got=$(jq -r '.end.sum.packets // 0' <<<"$out")
log "iperf3 -u -l 4000: $got datagrams, ${lost}% lost"
assert_gt "$got" 100 "iperf3 -u -l 4000: datagrams sent"
assert_eq "$(awk -v l="$lost" 'BEGIN { print (l != "?" && l < 5) ? "yes" : "no" }')" yes \
    "iperf3 -u -l 4000 (fragmented datagrams): under 5% lost (${lost}%)"

# ---- frames longer than the output port's MTU -------------------------------
# vm1's veth goes to MTU 9000 (both ends: the root end is what af_packet
# binds, and a veth delivers nothing longer than the receiving end's MTU).
# Its port's MTU stays 1500 (the cap; docs/datapath.md "Frame size"), and
# so is vm2's and the host vNIC's.  A ping of 3000 bytes (a 3042-byte frame,
# cut by af_packet to the 1982 its ring slot holds) and one of 1600 (1642)
# reach nobody: each request is dropped on the output port as `oversize`,
# one count per frame, and nothing else is dropped for it; then the
# largest frame an MTU of 1500 allows (ping -s 1472: 1514 bytes) and a
# normal ping go through.  Before, those frames were sent on to the device:
# af_packet's kernel dropped them without a word (counted tx_packets), the
# TAP refused them and the rest of their tx burst (tx_full).
TAP=vt${VT_ID}h
# port show/list tell the MTU the switch sends a port frames up to
assert_eq "$(ctl_json port show vm1 | jq -r .link_mtu)" 1500 \
    "port show vm1: link_mtu before"
must ip link set "vt$VT_ID-h1" mtu 9000
must ip -n "vt$VT_ID-vm1" link set "vt$VT_ID-v1" mtu 9000

drops_of() { # PORT -> "oversize tx_full link_down no_mbuf"
    ctl_q --json stats "$1" | jq -r --arg p "$1" \
        '.ports[] | select(.name == $p) | .drops |
         "\(.oversize) \(.tx_full) \(.link_down) \(.no_mbuf)"'
}

# big_ping DEST SIZE OUTPORT: 3 pings of SIZE bytes, DF set, none answered;
# OUTPORT's oversize grows by 3, its other drops not at all.
big_ping() {
    local dst=$1 size=$2 out=$3 d0 d1 got
    d0=$(drops_of "$out")
    got=$(vm 1 ping -n -c 3 -i 0.2 -W 1 -M do -s "$size" "$dst" 2>&1 |
          sed -n 's/.* \([0-9][0-9]*\) received.*/\1/p')
    # the lcore counts before the reply could have come: nothing pending
    d1=$(drops_of "$out")
    log "ping -s $size $dst: ${got:-?} answered; $out drops (oversize tx_full link_down no_mbuf): $d0 -> $d1"
    assert_eq "${got:-?}" 0 "ping -s $size -M do to $dst: no answer"
    read -r o0 f0 l0 m0 <<<"$d0"
    read -r o1 f1 l1 m1 <<<"$d1"
    assert_eq "$((o1 - o0))" 3 "$out counted each of the 3 requests as oversize"
    assert_eq "$((f1 - f0)):$((l1 - l0)):$((m1 - m0))" 0:0:0 \
        "$out dropped them for no other reason"
}

big_ping "$NET_A.2" 3000 vm2
big_ping "$NET_A.2" 1600 vm2
# vm1 reaches the host vNIC's MAC (the root namespace, which has the
# address, could answer vm1's ARP itself on vm1's veth end)
must ip -n "vt$VT_ID-vm1" neigh replace "$NET_A.254" \
    lladdr "$(cat "/sys/class/net/$TAP/address")" dev "vt$VT_ID-v1" nud permanent
big_ping "$NET_A.254" 1600 "$TAP"
got=$(vm_ping 1 "$NET_A.2" 3)
assert_eq "$got" 3 "vm1 -> vm2 with normal pings after the oversize ones"
got=$(vm 1 ping -n -c 3 -i 0.2 -W 1 -M do -s 1472 "$NET_A.2" 2>&1 |
      sed -n 's/.* \([0-9][0-9]*\) received.*/\1/p')
assert_eq "$got" 3 "ping -s 1472 -M do (1514-byte frames, MTU 1500) goes through"

# vm2's NIC goes to MTU 1400: vesperd hears it (netlink) and vm2's port
# takes it; a 1442-byte frame is oversize there, one of 1414 passes
must ip link set "vt$VT_ID-h2" mtu 1400
must ip -n "vt$VT_ID-vm2" link set "vt$VT_ID-v2" mtu 1400
wait_for "grep -q 'port vm2: MTU 1400 (was 1500)' '$TMP/vesperd.log'" 5 ||
    fail "vesperd did not log vm2's new MTU: $(grep -i mtu "$TMP/vesperd.log" | tail -3)"
ok "vm2's port follows its NIC's MTU (1400)"
assert_eq "$(ctl_json port show vm2 | jq -r .link_mtu)" 1400 \
    "port show vm2: link_mtu 1400"
assert_eq "$(ctl_json port show vm1 | jq -r .link_mtu)" 1500 \
    "port show vm1: link_mtu 1500 (its NIC's 9000, capped)"
assert_eq "$(ctl port list | awk '$1 == "vm2" { print $NF }')" 1400 \
    "port list: vm2's MTU column"
big_ping "$NET_A.2" 1400 vm2
got=$(vm 1 ping -n -c 3 -i 0.2 -W 1 -M do -s 1372 "$NET_A.2" 2>&1 |
      sed -n 's/.* \([0-9][0-9]*\) received.*/\1/p')
assert_eq "$got" 3 "ping -s 1372 (1414-byte frames) to vm2 at MTU 1400 goes through"
