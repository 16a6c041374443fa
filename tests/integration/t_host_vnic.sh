#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# (c) The host vNIC (a TAP in the root namespace) of an internal switch
# reaches the VMs: the host pings both, and a VM fetches a file from an HTTP
# server the host runs on the vNIC's address.
. "$(dirname "$0")/lib.sh"

TAP=vt${VT_ID}h
vm_add 1 "$NET_A.1/24"
vm_add 2 "$NET_A.2/24"
start_vesperd
ctl_ok switch add sw --type internal --host-ifname "$TAP" \
    --address "$NET_A.254/24"
VT_LINKS+=("$TAP")   # vesperd removes it; this is only a safety net
vm_attach 1 sw
vm_attach 2 sw

wait_for "ip -o link show dev $TAP" 5 || fail "host vNIC $TAP does not exist"
ip link show dev "$TAP"
addrs=$(ip -o -4 addr show dev "$TAP")
assert_contains "$addrs" "$NET_A.254/24" "vesperd set $NET_A.254/24 on $TAP"
wait_for "ip -o link show dev $TAP | grep -q 'state UP\\|LOWER_UP'" 5 ||
    fail "$TAP is not up: $(ip -o link show dev "$TAP")"
sysctl -qw "net.ipv6.conf.$TAP.disable_ipv6=1" 2>/dev/null
ports=$(ctl_json port list --switch sw)
jq -e --arg t "$TAP" '.ports[] | select(.name == $t and .class == "internal")' \
    <<<"$ports" >/dev/null || fail "no internal port named $TAP on sw: $ports"

host_ping() { # DEST COUNT -> received
    ping -n -I "$TAP" -c "$2" -i 0.2 -W 1 "$1" 2>&1 |
        sed -n 's/.* \([0-9]*\) received.*/\1/p'
}
for n in 1 2; do
    wait_for "ping -n -I $TAP -c 1 -W 1 $NET_A.$n" 10 ||
        fail "host cannot reach vm$n ($NET_A.$n) over $TAP"
    got=$(host_ping "$NET_A.$n" 5)
    assert_eq "$got" 5 "host -> vm$n over $TAP: 5/5 pings"
done

# The host's IPv4 stack keeps off the veth end vesperd binds (arp_ignore,
# rp_filter: vsw__hostif_isolate): it used to answer vm1's ARP for the
# vNIC's address there too, with that veth's MAC, and take in what vm1
# then sent to it, past the switch (and past the vNIC's MTU).
TAP_MAC=$(cat "/sys/class/net/$TAP/address")
H1=vt${VT_ID}-h1
H1_MAC=$(cat "/sys/class/net/$H1/address")
assert_eq "$(sysctl -n "net.ipv4.conf.$H1.arp_ignore" \
             "net.ipv4.conf.$H1.rp_filter" | tr '\n' ' ')" "1 1 " \
    "$H1 bound: arp_ignore and rp_filter raised"
arp=$(vm 1 arping -c 2 -W 0.5 -i "vt${VT_ID}-v1" "$NET_A.254" 2>&1)
log "arping $NET_A.254 from vm1: $arp"
assert_contains "$arp" "from $TAP_MAC ($NET_A.254)" \
    "vm1's ARP for $NET_A.254 answered by $TAP ($TAP_MAC)"
assert_not_contains "$arp" "$H1_MAC" \
    "vm1's ARP for $NET_A.254 not answered on $H1 ($H1_MAC)"
must vm 1 ip neigh replace "$NET_A.254" lladdr "$H1_MAC" nud permanent \
    dev "vt${VT_ID}-v1"
got=$(vm_ping 1 "$NET_A.254" 2)
must vm 1 ip neigh del "$NET_A.254" dev "vt${VT_ID}-v1"
assert_eq "$got" 0 "pings to $NET_A.254 sent to $H1's MAC: not taken in"
assert_ping 1 "$NET_A.254" 3

# HTTP from a VM to the host
mkdir -p "$TMP/www"
content=$(head -c 3000 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf '%s\n' "$content" >"$TMP/www/file.txt"
port=$((18000 + VT_IDN))
bg "$TMP/http.log" "$PY" -m http.server "$port" --bind "$NET_A.254" \
    --directory "$TMP/www"
wait_for "ss -Hltn 'sport = :$port' | grep -q LISTEN" 10 ||
    fail "http server did not start: $(cat "$TMP/http.log")"
got=$(vm 1 curl -sS --max-time 15 "http://$NET_A.254:$port/file.txt")
rc=$?
[ $rc -eq 0 ] || fail "vm1: curl http://$NET_A.254:$port/file.txt failed ($rc)"
assert_eq "$(printf '%s' "$got" | sha256sum)" \
    "$(printf '%s' "$content" | sha256sum)" "vm1 fetched the file from the host intact"
got=$(vm 2 curl -sS --max-time 15 "http://$NET_A.254:$port/file.txt")
assert_eq "$(printf '%s' "$got" | sha256sum)" \
    "$(printf '%s' "$content" | sha256sum)" "vm2 fetched the file from the host intact"

# ---- port set changes the host vNIC's addresses and MTU in place ----------
# The TAP and the port stay (no switch del); the kernel gets the new
# address set (the old one goes) and MTU, the switch the new MTU, and the
# document the new values.
# an MTU-only change leaves the addresses alone, so the routes through
# them stay (deleting the TAP's last IPv4 address would take them along,
# and adding it back does not restore them)
RT=198.51.100.$((VT_IDN % 250 + 1))/32
must ip route add "$RT" via "$NET_A.1" dev "$TAP"
ctl_ok port set "$TAP" --mtu 1450
assert_eq "$(cat "/sys/class/net/$TAP/mtu")" 1450 "port set --mtu: $TAP's MTU is 1450"
assert_contains "$(ip route show "$RT")" "via $NET_A.1" \
    "port set --mtu: the route through $TAP is still there"
ctl_ok port set "$TAP" --address "$NET_A.253/24" --mtu 1400
addrs=$(ip -o -4 addr show dev "$TAP")
assert_contains "$addrs" "$NET_A.253/24" "port set: $TAP has $NET_A.253/24"
assert_not_contains "$addrs" "$NET_A.254/" "port set: $NET_A.254 is gone from $TAP"
assert_eq "$(cat "/sys/class/net/$TAP/mtu")" 1400 "port set: $TAP's MTU is 1400"
assert_eq "$(ctl_json port show "$TAP" | jq -c '[.addresses, .mtu, .link_mtu]')" \
    "[[\"$NET_A.253/24\"],1400,1400]" "port show: the new addresses, mtu and link_mtu"
assert_eq "$(ctl_json config show | jq -c --arg t "$TAP" \
             '.ports[] | select(.name == $t) | [.addresses, .mtu]')" \
    "[[\"$NET_A.253/24\"],1400]" "config show: the new addresses and mtu are stored"
got=$(vm_ping 1 "$NET_A.253" 3)
assert_eq "$got" 3 "vm1 -> the host's new address $NET_A.253"
# a frame of 1414 bytes reaches the TAP, one of 1415 is oversize there
tap_oversize() {
    ctl_json stats "$TAP" | jq --arg p "$TAP" '.ports[] | select(.name == $p) | .drops.oversize'
}
o0=$(tap_oversize)
got=$(vm 1 ping -n -c 3 -i 0.2 -W 1 -M do -s 1372 "$NET_A.253" 2>&1 |
      sed -n 's/.* \([0-9][0-9]*\) received.*/\1/p')
assert_eq "$got" 3 "ping -s 1372 (1414-byte frames) to the host vNIC at MTU 1400"
got=$(vm 1 ping -n -c 3 -i 0.2 -W 1 -M do -s 1373 "$NET_A.253" 2>&1 |
      sed -n 's/.* \([0-9][0-9]*\) received.*/\1/p')
assert_eq "${got:-?}" 0 "ping -s 1373 (1415-byte frames): no answer"
assert_eq "$(( $(tap_oversize) - o0 ))" 3 "$TAP counted the 3 as oversize"

# a change the kernel refuses changes nothing: IPv6 is off on the TAP
# (disable_ipv6 above), so its IPv6 address fails, and the IPv4 address
# and the MTU given with it are not applied either; a route through the TAP
# stays too (removing .253, its last IPv4 address, took the route along,
# and the undo only put the address back)
must ip route add "$RT" via "$NET_A.1" dev "$TAP"
out=$(ctl port set "$TAP" --address "$NET_A.252/24" --address fd00:77::1/64 --mtu 1300 2>&1); rc=$?
log "port set with an address the kernel refuses: exit $rc: $out"
assert_eq "$rc" 1 "port set refused by the kernel: exit status"
addrs=$(ip -o -4 addr show dev "$TAP")
assert_contains "$addrs" "$NET_A.253/24" "refused port set: $NET_A.253 still on $TAP"
assert_not_contains "$addrs" "$NET_A.252/" "refused port set: $NET_A.252 not on $TAP"
assert_eq "$(cat "/sys/class/net/$TAP/mtu")" 1400 "refused port set: $TAP's MTU still 1400"
assert_contains "$(ip route show "$RT")" "via $NET_A.1" \
    "refused port set: the route through $TAP is still there"
must ip route del "$RT"
assert_eq "$(ctl_json port show "$TAP" | jq -c '[.addresses, .mtu, .link_mtu]')" \
    "[[\"$NET_A.253/24\"],1400,1400]" "refused port set: port show unchanged"

# an address kept while the primary of its subnet goes stays (the kernel
# deletes a primary's secondaries with it unless they are promoted)
ctl_ok port set "$TAP" --address "$NET_A.253/24" --address "$NET_A.252/24"
ctl_ok port set "$TAP" --address "$NET_A.252/24"
addrs=$(ip -o -4 addr show dev "$TAP")
assert_contains "$addrs" "$NET_A.252/24" \
    "port set: $NET_A.252, kept, is still on $TAP after its primary $NET_A.253 went"
assert_not_contains "$addrs" "$NET_A.253/" "port set: $NET_A.253 is gone from $TAP"
assert_eq "$(vm_ping 1 "$NET_A.252" 3)" 3 "vm1 -> the kept address $NET_A.252"

# addresses vesperd would not manage, and IPv6 below MTU 1280, are refused
# before anything is sent
out=$(ctl port set "$TAP" --address fe80::5/64 2>&1); rc=$?
assert_eq "$rc" 2 "port set --address fe80::5/64: exit status"
assert_contains "$out" "'fe80::5/64' is a link-local address" "port set --address fe80::5/64: the message"
out=$(ctl port set "$TAP" --address fd00:77::1/64 --mtu 1200 2>&1); rc=$?
assert_eq "$rc" 1 "port set of an IPv6 address at MTU 1200: exit status"
assert_contains "$out" "\"fd00:77::1/64\" is IPv6, which needs mtu 1280 or more (mtu is 1200)" \
    "port set of an IPv6 address at MTU 1200: the message"
assert_eq "$(ip -o -4 addr show dev "$TAP" | grep -c "$NET_A.252/24")" 1 \
    "refused port set: $NET_A.252 still on $TAP"

ctl_ok port set "$TAP" --no-addresses
assert_eq "$(ip -o -4 addr show dev "$TAP")" "" "port set --no-addresses: none left on $TAP"
out=$(ctl port set vm1 --mtu 1400 2>&1); rc=$?
assert_eq "$rc" 1 "port set --mtu of a dpdk port: exit status"
assert_contains "$out" "only for a host vNIC (class internal); port \"vm1\" is class dpdk" \
    "port set --mtu of a dpdk port: the message"
