#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# (cli) vesperctl against a real vesperd, for what its unit tests (a fake
# server) cannot show: vesperd's own results.  Only virtual DPDK devices
# (net_null, no-rx=1), no namespace, no traffic.
#
#  * VLAN sets are never cut short: a trunk of the 2047 even VIDs (9,682
#    bytes, the longest set there is) comes back whole in port list --json,
#    port show (vlan and vlan_summary) and config show, and port list's
#    table shortens it saying how many VLANs it leaves out.
#  * "show" lines come in docs/cli.md's order (name first) although vesperd
#    sends its results with sorted keys.
#  * Errors speak CLI terms and name objects, not RPC names or document
#    indexes: port del of a VM NIC or an uplink names the vesperctl command
#    (and the RPC method), a VLAN change that a static FDB entry forbids
#    names the entry and the ways out, a duplicate device names the port
#    that has it, fdb show --port tells a missing port from one on another
#    switch; a client's long name is cut in a message, saying so.
#  * A --timeout that expires (exit 3) says that the change may still have
#    been applied, and it is.
#  * A hand-written port (no vlan, no learn_limit, a device that is not
#    there): port show has every line, the defaults in effect, "mac: -",
#    and device_absent gives the whole reason, as the log does.
. "$(dirname "$0")/lib.sh"

# same ACTUAL EXPECTED MSG: assert_eq for long values (logs their length
# and the start of a difference, not 10 KB of VIDs).
same() {
    [ "$1" = "$2" ] ||
        fail "$3: got ${#1} bytes (${1:0:60}...), expected ${#2} (${2:0:60}...)"
    ok "$3 (${#1} bytes)"
}

# quiet ARGS...: a vesperctl call that must succeed, logged without its
# arguments' 10 KB.
quiet() {
    local out
    out=$(ctl "$@" 2>&1) || { echo "$out"; fail "vesperctl ${*:0:4} ... failed"; }
    log "vesperctl ${*:1:3} ... done"
}

start_vesperd --vm-dir "$TMP/vm"
ctl_ok switch add lab --type private

# --- the longest VLAN set
EVEN=$(seq -s, 2 2 4094)
assert_eq "${#EVEN}" 9682 "the 2047 even VIDs as a comma list (bytes)"
quiet port add p0 --switch lab --class dpdk --devargs net_null0,no-rx=1 \
    --trunk "$EVEN" --native 2 --native-tagged
list=$(ctl_json port list)
same "$(jq -r '.ports[] | select(.name == "p0") | .vlan' <<<"$list")" \
    "trunk $EVEN native 2 tagged" "port list --json carries the whole set"
show=$(ctl_json port show p0)
same "$(jq -r .vlan_summary <<<"$show")" "trunk $EVEN native 2 tagged" \
    "port show --json: vlan_summary is the whole set"
same "$(jq -r .vlan.allowed <<<"$show")" "$EVEN" \
    "port show --json: vlan.allowed is the whole set"
out=$(ctl port show p0) || fail "port show p0 failed"
same "$(grep '^vlan_summary:' <<<"$out" | sed 's/^vlan_summary: *//')" \
    "trunk $EVEN native 2 tagged" "port show: the vlan_summary line is whole"
same "$(grep '^vlan:' <<<"$out" | sed 's/^vlan: *//')" \
    "trunk $EVEN native 2 tagged" "port show: the vlan line is whole"
same "$(ctl config show | jq -r '.ports[0].vlan.allowed')" "$EVEN" \
    "config show: the whole set"
out=$(ctl port list) || fail "port list failed"
assert_contains "$out" \
    "trunk 2,4,6,8,10,12,14,16,18,20,22,24,...(+2035 more) native 2 tagged" \
    "port list's table shortens the set and says by how many VLANs"
# the example of the review: 200 odd VIDs, once shown as "...151,153,15"
quiet port set p0 --trunk "$(seq -s, 1 2 400)"
same "$(ctl_json port show p0 | jq -r .vlan_summary)" \
    "trunk $(seq -s, 1 2 400)" "port show --json: 200 odd VIDs, whole"
assert_contains "$(ctl port list)" \
    "trunk 1,3,5,7,9,11,13,15,17,19,21,23,...(+188 more)" \
    "port list: 200 odd VIDs shortened, saying so"

# --- show commands: docs/cli.md's order, not vesperd's sorted keys
assert_eq "$(ctl switch show lab | cut -d: -f1 | tr '\n' ' ')" \
    "name type fdb_max aging_s management_os ports fdb_entries fdb_stats " \
    "switch show: its lines in docs/cli.md's order"
assert_eq "$(ctl port show p0 | cut -d: -f1 | tr '\n' ' ')" \
    "name switch class devargs mac vlan vlan_summary learn_limit link link_mtu id fdb_entries " \
    "port show: its lines in docs/cli.md's order"
assert_eq "$(ctl info | cut -d: -f1 | tr '\n' ' ')" \
    "version pid config socket vm_dir lcores hugepages netlink_overflows mbufs capture_mbufs " \
    "info: its lines in docs/cli.md's order"
assert_match "$(ctl info | grep '^mbufs:')" '^mbufs: +in_use=[0-9]+ size=[1-9][0-9]*$' \
    "info: the packet pool's use, in_use then size"
assert_match "$(ctl switch show lab | grep '^fdb_stats:')" \
    '^fdb_stats: +learned=[0-9]+ moved=[0-9]+ refreshed=[0-9]+ aged=[0-9]+ learn_limit=' \
    "switch show: fdb_stats in rpc.md's order"

# --- errors in CLI terms
# expect_err DESC EXIT TEXT ARGS...: vesperctl ARGS exits EXIT and its
# message contains TEXT (fixed string).
expect_err() {
    local desc=$1 want_rc=$2 text=$3 out rc
    shift 3
    out=$(ctl "$@" 2>&1)
    rc=$?
    assert_eq "$rc" "$want_rc" "$desc: exit status"
    assert_contains "$out" "$text" "$desc: the message"
}
ctl_ok switch add ext1 --type external --uplink-devargs net_null1,no-rx=1
ctl_ok vm add vm1
ctl_ok vm nic add vm1 --switch lab --type synthetic --name n0
ctl_ok port add p1 --switch lab --class dpdk --devargs net_null2,no-rx=1 --access 10
ctl_ok fdb add lab --vlan 10 --mac 02:00:00:00:00:10 --port p1
expect_err "port del of a VM NIC" 1 \
    "port \"vm1.n0\" is NIC \"n0\" of VM \"vm1\": delete the NIC instead ('vesperctl vm nic del vm1 n0', RPC vm.nic.del)" \
    port del vm1.n0
expect_err "port del of an uplink" 1 \
    "port \"ext1.uplink\" is the uplink of switch \"ext1\" and goes only with it ('vesperctl switch del ext1', RPC switch.del)" \
    port del ext1.uplink
expect_err "port set leaving a static entry's VLAN" 1 \
    "static FDB entry 02:00:00:00:00:10 in VLAN 10 on port \"p1\" needs the port in VLAN 10: delete the entry first ('vesperctl fdb del lab --vlan 10 --mac 02:00:00:00:00:10', RPC fdb.del) or keep VLAN 10" \
    port set p1 --access 11
expect_err "a second port on the same device" 1 \
    "port \"p2\": devargs: device \"net_null2\" is already used by port \"p1\"" \
    port add p2 --switch lab --class dpdk --devargs net_null2,no-rx=1
expect_err "a net_null port that would receive recycled buffers" 1 \
    "port \"p3\": devargs: \"net_null3\" would receive frames: DPDK's net_null makes them at full speed out of recycled packet buffers, which can hold other switches' traffic; add no-rx=1 for a port that only discards, or copy=1 for zero-filled test frames" \
    port add p3 --switch lab --class dpdk --devargs net_null3
# what a port holds outside vesperd, named in devargs: a kernel interface
# (the host vNIC's TAP here: a second TAP port on it would take that vNIC
# down when it closes) or a vhost-user socket
hostif="vt${VT_ID}i"
ctl_ok switch add in1 --type internal --host-ifname "$hostif"
hostport=$(ctl config show | jq -r '[.ports[] | select(.class == "internal")][0].name')
expect_err "a TAP port on the host vNIC's interface" 1 \
    "port \"p3\": devargs: interface \"$hostif\" is already used by port \"$hostport\"" \
    port add p3 --switch lab --class dpdk --devargs "net_tap9,iface=$hostif"
ip link show "$hostif" | grep -q "[<,]UP[,>]" || fail "the host vNIC $hostif went down"
ctl_ok switch del in1
# a host vNIC name that a kernel interface (a veth here) already has
ip link add "vt$VT_ID-x" type veth peer name "vt$VT_ID-y" || fail "veth"
expect_err "a host vNIC named like an existing veth" 1 \
    "interface vt$VT_ID-x already exists on this host" \
    switch add in2 --type internal --host-ifname "vt$VT_ID-x"
ip link del "vt$VT_ID-x"
# ... or a multi-queue TAP (QEMU's, another vesperd's host vNIC): net_tap
# joined it instead of failing, so the kernel split its traffic between
# the two, and closing our port set it down under its owner
ip tuntap add mode tap multi_queue name "vt$VT_ID-t" || fail "tuntap"
ip link set "vt$VT_ID-t" up
expect_err "a host vNIC named like someone else's multi-queue TAP" 1 \
    "interface vt$VT_ID-t already exists on this host" \
    switch add in3 --type internal --host-ifname "vt$VT_ID-t"
ip link show "vt$VT_ID-t" | grep -q "[<,]UP[,>]" || fail "the other TAP vt$VT_ID-t went down"
assert_not_contains "$(ip -d link show "vt$VT_ID-t")" "numqueues 2" \
    "vesperd did not join the other TAP"
ip link del "vt$VT_ID-t"
ctl_ok port add v1 --switch lab --class dpdk --devargs "net_vhost5,iface=$TMP/v.sock"
expect_err "a second vhost-user port on one socket" 1 \
    "port \"v2\": devargs: vhost-user socket \"$TMP/v.sock\" is already used by port \"v1\" (in its devargs)" \
    port add v2 --switch lab --class dpdk --devargs "net_vhost6,iface=$TMP/v.sock"
ctl_ok port del v1
expect_err "switch del with a port and a VM NIC attached" 1 \
    "switch \"lab\" still has ports attached (p0, p1, vm1.n0); delete them first: a port with 'vesperctl port del PORT' (RPC port.del), a VM NIC with 'vesperctl vm nic del VM NIC' (RPC vm.nic.del) or its VM with 'vesperctl vm del VM'" \
    switch del lab
# port show's fdb_entries counts static entries too, as switch show's does
assert_eq "$(ctl_json port show p1 | jq .fdb_entries)" \
    "$(ctl_json fdb show lab | jq '[.entries[] | select(.port == "p1")] | length')" \
    "port show p1: fdb_entries counts its static entry, as fdb show lists it"
# fdb show lists entries by VLAN, then MAC, not in the table's hash order
for e in "10 02:00:00:00:00:30 p1" "301 02:00:00:00:00:01 p0" \
         "10 02:00:00:00:00:05 p1" "3 0a:00:00:00:00:01 p0" \
         "10 02:00:00:00:00:20 p1" "3 02:00:00:00:00:ff p0"; do
    read -r v m p <<<"$e"
    quiet fdb add lab --vlan "$v" --mac "$m" --port "$p"
done
assert_eq "$(ctl_json fdb show lab | jq -r '[.entries[] | "\(.vlan)/\(.mac)"] | join(" ")')" \
    "3/02:00:00:00:00:ff 3/0a:00:00:00:00:01 10/02:00:00:00:00:05 10/02:00:00:00:00:10 10/02:00:00:00:00:20 10/02:00:00:00:00:30 301/02:00:00:00:00:01" \
    "fdb show: entries by VLAN, then MAC"
assert_eq "$(ctl fdb show lab --vlan 10 | awk 'NR > 1 { print $2 }' | tr '\n' ' ')" \
    "02:00:00:00:00:05 02:00:00:00:00:10 02:00:00:00:00:20 02:00:00:00:00:30 " \
    "fdb show --vlan 10: its table in MAC order"
for e in "10 02:00:00:00:00:30" "301 02:00:00:00:00:01" "10 02:00:00:00:00:05" \
         "3 0a:00:00:00:00:01" "10 02:00:00:00:00:20" "3 02:00:00:00:00:ff"; do
    read -r v m <<<"$e"
    quiet fdb del lab --vlan "$v" --mac "$m"
done
expect_err "fdb show of a port that does not exist" 1 \
    "port \"nope\" does not exist" fdb show lab --port nope
expect_err "fdb flush of a port on another switch" 1 \
    "port \"ext1.uplink\" is on switch \"ext1\", not \"lab\"" \
    fdb flush lab --port ext1.uplink
long=$(printf 'x%.0s' $(seq 1 300))
resp=$("$PY" "$VT_DIR/rpc.py" "$VT_SOCK" call port.show "{\"name\":\"$long\"}")
msg=$(jq -r .error.message <<<"$resp")
assert_eq "$msg" "port \"$(printf 'x%.0s' $(seq 1 64))...\" does not exist" \
    "a 300-byte name is cut at 64 bytes in the message, with '...'"

# --- -h as an option's value is not help
expect_err "--name -h" 2 "--name needs a value" \
    vm nic add vm1 --switch lab --type synthetic --name -h
out=$(ctl switch del -h) || fail "switch del -h exits $?"
assert_contains "$out" "usage: vesperctl switch del NAME" "switch del -h is help"

# --- a timeout is not "not done": vesperd stopped (SIGSTOP) while the
# request waits, so it times out for sure, and is applied once vesperd runs
# again
kill -STOP "$VT_VESPERD_PID"
out=$(ctl --timeout 0.3 switch add tmo --type private 2>&1)
rc=$?
kill -CONT "$VT_VESPERD_PID"
assert_eq "$rc" 3 "a change that timed out exits 3"
assert_contains "$out" \
    "; the request may still have been applied: check with 'vesperctl config show'" \
    "a change that timed out says it may still have been applied"
wait_for "ctl switch show tmo" 5 || fail "the switch whose switch add timed out was not created"
ok "the switch whose switch add timed out (exit $rc) exists"

# --- a hand-written port: no vlan, no learn_limit, a device that is absent
stop_vesperd
cat >"$VT_CONFIG" <<'JSON'
{ "version": 1,
  "switches": [ { "name": "hw", "type": "private" } ],
  "ports": [ { "name": "hand", "switch": "hw", "class": "dpdk",
               "devargs": "net_bogus0" } ],
  "fdb_static": [] }
JSON
start_vesperd --vm-dir "$TMP/vm"
show=$(ctl_json port show hand)
why=$(jq -r '.device_absent // empty' <<<"$show")
want="device 'net_bogus0' could not be created: no DPDK driver or bus knows that name (a virtual device is net_<driver><n>, e.g. net_af_packet0,iface=eth1; a PCI device is its address, bound to vfio-pci)"
# the reason whole (it was cut at 191 bytes, "...is its address, ")
assert_contains "$why" "$want" "port show --json: device_absent is the whole reason"
out=$(ctl port show hand) || fail "port show hand failed"
assert_contains "$out" "$want" "port show: the device_absent line is whole"
assert_contains "$(cat "$TMP/vesperd.log")" "$want" "the log gives the whole reason"
# a capture of it is refused naming the absent device (it said the port
# was "a VM NIC without a datapath yet")
cout=$(ctl capture hand -c 1 -w "$TMP/hand.pcap" 2>&1)
assert_eq "$?" 1 "capture of a port without a device exits 1"
assert_contains "$cout" "port hand: device 'net_bogus0' could not be created: no DPDK driver or bus knows that name" \
    "capture of a port without a device names the absent device"
# every documented line, defaults for what the file leaves out
assert_eq "$(cut -d: -f1 <<<"$out" | tr '\n' ' ')" \
    "name switch class devargs mac vlan vlan_summary learn_limit link device_absent fdb_entries " \
    "port show of a hand-written port: vlan and learn_limit lines are there"
assert_eq "$(grep -E '^(vlan|learn_limit|mac):' <<<"$out" | tr -s ' ' | tr '\n' '|')" \
    "mac: -|vlan: access 1|learn_limit: 0|" \
    "port show: the default VLAN and learn limit; no fake MAC for a port without a device"
assert_eq "$(jq -c '[.vlan, .learn_limit, .mac]' <<<"$show")" \
    '[{"mode":"access","vid":1},0,null]' "port show --json: the same"
