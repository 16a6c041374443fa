#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# (b) External switch on a veth whose peer is in a "physical network"
# namespace: a VM in access VLAN 1 reaches the host there; then with the VM
# in access VLAN 10 and the uplink a trunk allowing 10, the wire carries
# 802.1Q tag 10, a Linux VLAN sub-interface talks to the VM, and untagged
# traffic from the physical side no longer reaches it.
# The uplink's veth is a port of a Linux bridge when the switch binds it;
# it leaves the bridge (nomaster), joins it again and the bridge is deleted:
# the kernel tells of each departure with an RTM_DELLINK of the bridge's
# (AF_BRIDGE, the veth's ifindex), which is no deletion of the veth: the
# uplink stays up, says nothing of a NIC gone, and carries traffic.
. "$(dirname "$0")/lib.sh"

U=vt$VT_ID-u          # uplink, root namespace (bound by vesperd)
P=vt$VT_ID-p          # its peer in the physical namespace
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
BR=vt$VT_ID-br        # a Linux bridge $U is a port of (left down: silent)
must ip link add "$BR" type bridge
VT_LINKS+=("$BR")
must ip link set "$U" master "$BR"

vm_add 1 "$NET_B.1/24"
start_vesperd
ctl_ok switch add ext --type external --uplink "$U"
vm_attach 1 ext --access 1
ports=$(ctl_json port list)
jq -e '.ports[] | select(.name == "ext.uplink")' <<<"$ports" >/dev/null ||
    fail "switch add --uplink did not create port ext.uplink"

# 1. access VLAN 1 <-> untagged physical network
assert_ping 1 "$NET_B.10" 5

# uplink_stays_up WHAT: after WHAT, the uplink's link is up (port show),
# no line says its NIC is gone, and vm1 reaches the physical network.
uplink_stays_up() {
    sleep 0.5   # the event is read at once; the poll (1 s) is no cover
    assert_eq "$(ctl_json port show ext.uplink | jq -r .link)" up \
        "ext.uplink link after $1"
    if grep -q "kernel NIC $U .*is gone" "$TMP/vesperd.log"; then
        grep "is gone" "$TMP/vesperd.log"
        fail "vesperd took $1 for $U's deletion"
    fi
    assert_ping 1 "$NET_B.10" 3
}
must ip link set "$U" nomaster
uplink_stays_up "ip link set $U nomaster"
must ip link set "$U" master "$BR"
must ip link del "$BR"
uplink_stays_up "ip link del $BR (of which $U was a port)"

# 2. VM in access VLAN 10, uplink trunk allowing 10 (no native VLAN)
ctl_ok port set vm1 --access 10
ctl_ok port set ext.uplink --trunk 10
pl=$(ctl_json port list)
assert_match "$(jq -r '.ports[] | select(.name == "vm1") | .vlan' <<<"$pl")" \
    '^access 10$' "vm1 is access 10"
assert_match "$(jq -r '.ports[] | select(.name == "ext.uplink") | .vlan' <<<"$pl")" \
    '^trunk 10$' "ext.uplink is trunk 10"

vlan_subif "$PHYS" "$P" "$P"10 10 "$NET_C.10/24"
# the VM moves into 10.79/24; it keeps an address in the untagged subnet
# too, so that step 3 can show untagged frames no longer reach it
must ip -n "vt$VT_ID-vm1" addr del "$NET_B.1/24" dev "vt$VT_ID-v1"
must ip -n "vt$VT_ID-vm1" addr add "$NET_C.1/24" dev "vt$VT_ID-v1"
must ip -n "vt$VT_ID-vm1" addr add "$NET_B.1/24" dev "vt$VT_ID-v1"
vm 1 ip neigh flush all
phys ip neigh flush all

# tcpdump on the physical wire, then ping over VLAN 10
bg "$TMP/tcpdump.txt" ip netns exec "$PHYS" timeout 30 tcpdump -e -nn -l -c 8 -i "$P" vlan 10
TCPDUMP_PID=$BG_PID
wait_for "grep -q 'listening on' '$TMP/tcpdump.txt'" 10 ||
    fail "tcpdump did not start: $(cat "$TMP/tcpdump.txt")"
assert_ping 1 "$NET_C.10" 5
wait_pid "$TCPDUMP_PID" 15
dump=$(cat "$TMP/tcpdump.txt")
echo "$dump"
assert_contains "$dump" "vlan 10" "tcpdump -e on the physical wire shows 'vlan 10'"
# frames from the VM (tagged by vesperd) carry the tag on the wire
fromvm=$(grep -F "$(mac_of 1) >" <<<"$dump" | grep -c "vlan 10")
assert_gt "$fromvm" 0 "frames sourced by vm1 carry 802.1Q tag 10 on the wire"
assert_match "$dump" "$NET_C\\.1 > $NET_C\\.10: ICMP echo request" \
    "tagged echo requests from the VM on the wire"

# the sub-interface side can reach the VM too
got=$(phys ping -n -c 3 -i 0.2 -W 1 "$NET_C.1" | sed -n 's/.* \([0-9]*\) received.*/\1/p')
assert_eq "$got" 3 "VLAN 10 sub-interface pings the VM"

# 3. untagged traffic from the physical side no longer reaches the VM
drops0=$(stat_of ext.uplink '.drops.vlan_untagged')
phys ip neigh flush all
got=$(phys ping -n -c 3 -i 0.2 -W 1 -I "$P" "$NET_B.1" | sed -n 's/.* \([0-9]*\) received.*/\1/p')
assert_eq "$got" 0 "untagged pings from the physical side do not reach the VM"
drops1=$(stat_of ext.uplink '.drops.vlan_untagged')
log "ext.uplink drops.vlan_untagged: $drops0 -> $drops1"
assert_gt "$drops1" "${drops0:-0}" "ext.uplink counts the untagged frames it dropped"
# while tagged traffic still does
assert_ping 1 "$NET_C.10" 3
