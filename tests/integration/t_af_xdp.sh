#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# (q) A kernel NIC bound with net_af_xdp (a dpdk port, devargs
# net_af_xdp,iface=NIC): a VM behind it pings and all of 400 UDP flows reach
# the switch; the XDP program is gone after port del.  A NIC with more than
# one receive queue is refused, saying how to give it one (net_af_xdp reads
# one queue, and the kernel handed the flows on the others to the host,
# past the switch: 89 of 400 on a veth of 4 queues), and is left as it was;
# with its queues set to one (ethtool -L) the same port add binds it.
. "$(dirname "$0")/lib.sh"

vm_add 1 "$NET_A.1/24"
vm_add 2 "$NET_A.2/24"
# vm3: a veth of 4 receive and transmit queues on both ends
ns3=vt$VT_ID-vm3 h3=vt$VT_ID-h3 v3=vt$VT_ID-v3
make_ns vm3
must ip link add "$h3" numrxqueues 4 numtxqueues 4 type veth peer name "$v3" \
    numrxqueues 4 numtxqueues 4 netns "$ns3"
VT_LINKS+=("$h3")
quiet_if "" "$h3"
quiet_if "$ns3" "$v3"
must ip -n "$ns3" link set "$v3" address "$(mac_of 3)"
must ip -n "$ns3" addr add "$NET_A.3/24" dev "$v3"
must ip link set "$h3" up
must ip -n "$ns3" link set "$v3" up

start_vesperd
ctl_ok switch add sw --type private
vm_attach 1 sw

# udp_flows N: 400 UDP datagrams from VM N to vm1, each from its own source
# port (a flow of its own for the NIC's RSS), vm1's MAC written into VM N's
# neighbour table; prints how many the port vmN took
udp_flows() {
    local n=$1 rx0 got
    must vm "$n" ip neigh replace "$NET_A.1" lladdr "$(mac_of 1)" dev "vt$VT_ID-v$n"
    rx0=$(stat_of "vm$n" .rx_packets)
    vm_udp_flows "$n" "$NET_A.1"
    wait_for "[ \$((\$(stat_of vm$n .rx_packets) - $rx0)) -ge 400 ]" 5
    echo $(($(stat_of "vm$n" .rx_packets) - rx0))
}

# ---- one receive queue: bound, traffic flows ------------------------------
h2=vt$VT_ID-h2
ctl_ok port add vm2 --switch sw --class dpdk --devargs "net_af_xdp_vt2,iface=$h2"
assert_contains "$(ip link show "$h2")" "prog/xdp" "an XDP program on $h2 while bound"
assert_ping 2 "$NET_A.1" 3
assert_ping 1 "$NET_A.2" 3
n=$(udp_flows 2)
log "vm2's port took $n frames of its 400 datagrams"
assert_gt "$n" 399 "all 400 flows reached the switch through net_af_xdp"
ctl_ok port del vm2
assert_not_contains "$(ip link show "$h2")" "prog/xdp" "no XDP program on $h2 after port del"

# ---- four receive queues: refused, the NIC left as it was -----------------
nic_state() { ip -j -d link show "$1" | jq -c '.[0] | {flags, promiscuity, xdp}'; }
before=$(nic_state "$h3")
out=$(ctl port add vm3 --switch sw --class dpdk --devargs "net_af_xdp_vt3,iface=$h3" 2>&1) &&
    fail "a net_af_xdp port on a NIC of 4 receive queues was added: $out"
log "port add on 4 queues: $out"
assert_contains "$out" "$h3 has 4 receive queues and net_af_xdp reads one" \
    "refused, naming the NIC and its queues"
assert_contains "$out" "ethtool -L $h3 combined 1" "the message says how to give it one"
assert_eq "$(ctl_q --json port list | jq '[.ports[] | select(.name == "vm3")] | length')" 0 \
    "nothing was added"
assert_eq "$(nic_state "$h3")" "$before" "$h3 as it was"

# ---- the same NIC with one receive queue ----------------------------------
# (a veth's XDP also wants no more transmit queues on its peer than it has
# receive queues)
must ethtool -L "$h3" rx 1 tx 1
must vm 3 ethtool -L "$v3" rx 1 tx 1
ctl_ok port add vm3 --switch sw --class dpdk --devargs "net_af_xdp_vt3,iface=$h3"
assert_ping 3 "$NET_A.1" 3
n=$(udp_flows 3)
log "vm3's port took $n frames of its 400 datagrams"
assert_gt "$n" 399 "all 400 flows reached the switch once $h3 has one queue"
