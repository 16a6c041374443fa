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
