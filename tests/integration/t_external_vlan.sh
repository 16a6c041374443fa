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
# Then (4.) the uplink's NIC gets an altname: a second switch or a dpdk port
# on it by that name is refused and changes nothing; another NIC bound by
# its altname alone has IPv6 off on its name.  Then (5.) an uplink on a
# VLAN sub-interface (a passthru macvlan without 802.1Q) of a veth with GRO
# on: GRO off on the veth while bound, TCP into a VM at a sane rate, GRO
# on again after switch del.
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

# 4. The uplink's NIC by an altname (ip link property add ... altname): a
# second switch, or a dpdk port, binding it under that name is refused
# (one NIC, one port: the configuration's own check compares strings only),
# naming the altname, the NIC and the port holding it, and nothing of it is
# applied.  A NIC bound by an altname alone is bound under its name: IPv6
# off on the name, given back at switch del.
ALT=vt$VT_ID-ualt
must ip link property add dev "$U" altname "$ALT"
cfg0=$(ctl_json config show)
out=$(ctl switch add ext2 --type external --uplink "$ALT" 2>&1)
rc=$?
log "switch add ext2 --uplink $ALT -> exit $rc: $out"
assert_eq "$rc" 1 "a second switch on $U by its altname is refused"
assert_contains "$out" "interface $ALT is an altname of kernel NIC $U (ifindex " \
    "the refusal names the altname and the NIC"
assert_contains "$out" "which port ext.uplink binds already" \
    "the refusal names the port holding $U"
out=$(ctl port add p2 --switch ext --class dpdk \
    --devargs "net_af_packet_vt$VT_ID,iface=$ALT" 2>&1)
rc=$?
log "port add p2 (af_packet on $ALT) -> exit $rc: $out"
assert_eq "$rc" 1 "a dpdk port on $U by its altname is refused"
assert_contains "$out" "which port ext.uplink binds already" \
    "the refusal names the port holding $U"
[ "$(ctl_json config show)" = "$cfg0" ] ||
    fail "a refused change changed the configuration: $(ctl_json config show)"
ok "the configuration is as before"
assert_eq "$(ctl_json port list | jq -r '[.ports[].name] | sort | join(" ")')" \
    "ext.uplink vm1" "no port of the refused changes exists"
assert_ping 1 "$NET_C.10" 3

U2=vt$VT_ID-w
ALT2=vt$VT_ID-walt
must ip link add "$U2" type veth peer name "$U2"p
VT_LINKS+=("$U2")
must ip link property add dev "$U2" altname "$ALT2"
v6=/proc/sys/net/ipv6/conf/$U2/disable_ipv6
[ -e "$v6" ] && must sysctl -qw "net.ipv6.conf.$U2.disable_ipv6=0"
ctl_ok switch add ext3 --type external --uplink "$ALT2"
if [ -e "$v6" ]; then
    assert_eq "$(cat "$v6")" 1 "bound by its altname, $U2 has IPv6 off"
fi
sleep 1.2   # a carrier poll: the port's NIC is not "now named" $U2
if grep -q "is now named" "$TMP/vesperd.log"; then
    grep "is now named" "$TMP/vesperd.log"
    fail "vesperd logged a rename of a NIC bound by its altname"
fi
ok "no rename logged for $U2 bound as $ALT2"
ctl_ok switch del ext3
if [ -e "$v6" ]; then
    assert_eq "$(cat "$v6")" 0 "switch del: $U2 has IPv6 on again"
fi

# 5. An uplink on a device whose frames another device receives (and
# merges, with GRO on: a physical NIC's default): a VLAN sub-interface
# (where the kernel has 802.1Q; else a passthru macvlan, the same kind of
# link) on a veth with GRO on.  Binding turns GRO off on the veth under it
# too (the record says it was on), TCP from the physical side into a VM
# runs at a sane rate (0.26 Mbit/s with the veth's GRO left on: merged
# frames cut short at the af_packet ring slot), and switch del turns the
# veth's GRO back on.
L=vt$VT_ID-l          # the device under the uplink (root namespace)
PL=vt$VT_ID-pl        # its peer in the physical namespace
must ip link add "$L" type veth peer name "$PL" netns "$PHYS"
VT_LINKS+=("$L")
quiet_if "" "$L"
quiet_if "$PHYS" "$PL"
must ethtool -K "$L" gro on
must ip link set "$L" up
must ip -n "$PHYS" link set "$PL" up
if ip link add link "$L" name "$L.7" type vlan id 7 2>/dev/null; then
    UL=$L.7
    vlan_subif "$PHYS" "$PL" "${PL}7" 7 "$NET_A.10/24"
else
    log "no kernel 802.1Q: the uplink is a passthru macvlan on $L"
    UL=vt$VT_ID-ml
    must ip link add link "$L" name "$UL" type macvlan mode passthru
    must ip -n "$PHYS" addr add "$NET_A.10/24" dev "$PL"
fi
VT_LINKS+=("$UL")
quiet_if "" "$UL"
gro_of() { ethtool -k "$1" | sed -n 's/^generic-receive-offload: \([a-z]*\).*/\1/p'; }
assert_eq "$(gro_of "$L")" on "$L (under $UL) has GRO on before the binding"
vm_add 2 "$NET_A.2/24"
ctl_ok switch add ext5 --type external --uplink "$UL"
vm_attach 2 ext5
assert_eq "$(gro_of "$L")" off "bound: GRO off on $L, under the uplink $UL"
grep -qx "lower=$(cat "/sys/class/net/$L/ifindex") $L rx-gro=1 rx-lro=0 rx-gro-hw=0" \
    "${VT_SOCK%.sock}.nics/nic-$(cat "/sys/class/net/$UL/ifindex")" ||
    fail "the record of $UL does not say $L had GRO on: $(cat "${VT_SOCK%.sock}".nics/nic-* 2>&1)"
ok "the record of $UL says $L had GRO on"
assert_contains "$(cat "$TMP/vesperd.log")" "'$UL': receive offloads off on the devices under it while it is bound: $L (GRO)" \
    "vesperd names $L as the device under $UL whose GRO went off"
assert_ping 2 "$NET_A.10" 3
iperf_server 2 "$NET_A.2" 5201
out=$(phys timeout 30 iperf3 -c "$NET_A.2" -p 5201 -t 3 -J 2>&1)
rc=$?
[ $rc -eq 0 ] || { echo "$out" | tail -20; fail "iperf3 from the physical side exited $rc"; }
bps=$(jq -r '.end.sum_received.bits_per_second // 0' <<<"$out")
log "iperf3 $NET_A.10 -> vm2 through $UL: $(awk -v b="$bps" 'BEGIN { printf "%.1f", b / 1e6 }') Mbit/s"
# a floor, not a benchmark: GRO left on under the uplink gives 0.26 Mbit/s
assert_gt "$bps" 50000000 "TCP into vm2 through $UL above 50 Mbit/s"
ctl_ok port del vm2
ctl_ok switch del ext5
assert_eq "$(gro_of "$L")" on "switch del: GRO on again on $L"
