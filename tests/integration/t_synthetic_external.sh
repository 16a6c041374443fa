#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Synthetic NICs on an external switch (issue 3, integration (b) and (c)):
# a VM whose NIC is a synthetic NIC (vesper-guest) reaches a host in the
# "physical network" namespace behind the uplink; with the NIC in access
# VLAN 20 and the uplink a trunk allowing 20, the wire carries 802.1Q tag 20
# and a VLAN 20 sub-interface on the physical side talks to the VM.
. "$(dirname "$0")/lib.sh"

need_guests
U=vt$VT_ID-u
P=vt$VT_ID-p
PHYS=vt$VT_ID-phys
make_ns phys
must ip link add "$U" type veth peer name "$P" netns "$PHYS"
VT_LINKS+=("$U")
quiet_if "" "$U"
quiet_if "$PHYS" "$P"
must ip -n "$PHYS" addr add "$NET_B.10/24" dev "$P"
must ip -n "$PHYS" link set "$P" up
must ip link set "$U" up
phys() { ip netns exec "$PHYS" "$@"; }

make_ns vm1
start_vesperd --vm-dir "$VMDIR"
ctl_ok switch add ext --type external --uplink "$U"
ctl_ok vm add vm1
ctl_ok vm nic add vm1 --switch ext --type synthetic --mac "$(mac_of 1)" --access 1
must ip -n "vt$VT_ID-vm1" tuntap add dev eth0 mode tap
must ip -n "vt$VT_ID-vm1" addr add "$NET_B.1/24" dev eth0
bg "$TMP/guest1.log" "$GUEST" --partition "$VMDIR/vm1.sock" \
    --nic synthetic --tap eth0 --netns "vt$VT_ID-vm1" -v
wait_for "vm 1 ip link show eth0 | grep -q '$(mac_of 1)'" 20 ||
    { cat "$TMP/guest1.log"; fail "vm1: TAP did not get its MAC"; }
vm 1 ip link set eth0 up
wait_for "[ \"\$(port_link vm1.nic0)\" = up ]" 20 || fail "vm1.nic0 did not come up"

# (b) the synthetic VM reaches the physical host, untagged (VLAN 1)
assert_ping 1 "$NET_B.10" 5

# (c) access VLAN 20 on the NIC, trunk 20 on the uplink
ctl_ok port set vm1.nic0 --access 20
ctl_ok port set ext.uplink --trunk 20
vlan_subif "$PHYS" "$P" "$P"20 20 "$NET_C.10/24"
must ip -n "vt$VT_ID-vm1" addr flush dev eth0
must ip -n "vt$VT_ID-vm1" addr add "$NET_C.1/24" dev eth0
vm 1 ip neigh flush all
phys ip neigh flush all

bg "$TMP/tcpdump.txt" ip netns exec "$PHYS" timeout 30 tcpdump -e -nn -l -c 6 -i "$P" vlan 20
TCPDUMP_PID=$BG_PID
wait_for "grep -q 'listening on' '$TMP/tcpdump.txt'" 10 ||
    fail "tcpdump did not start: $(cat "$TMP/tcpdump.txt")"
assert_ping 1 "$NET_C.10" 5
wait_pid "$TCPDUMP_PID" 15
dump=$(cat "$TMP/tcpdump.txt")
echo "$dump"
fromvm=$(grep -F "$(mac_of 1) >" <<<"$dump" | grep -c "vlan 20")
assert_gt "$fromvm" 0 "frames from the synthetic NIC carry 802.1Q tag 20 on the wire"
got=$(phys ping -n -c 3 -i 0.2 -W 1 "$NET_C.1" | sed -n 's/.* \([0-9]*\) received.*/\1/p')
assert_eq "$got" 3 "the VLAN 20 sub-interface pings the synthetic VM"
