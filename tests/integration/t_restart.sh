#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# (d) Restart: after SIGTERM and a new start on the same file the
# configuration (switch, ports, static FDB entry, VLAN change) is back and
# traffic flows; after kill -9 under ping traffic the file is intact and
# valid, and traffic flows again after a restart.
. "$(dirname "$0")/lib.sh"

STATIC_MAC=02:76:$VT_ID:00:00:99
vm_add 1 "$NET_A.1/24"
vm_add 2 "$NET_A.2/24"
start_vesperd
ctl_ok switch add sw --type private --aging 120
vm_attach 1 sw
vm_attach 2 sw
assert_ping 1 "$NET_A.2" 3
# the VLAN change: both VMs move to access VLAN 20
ctl_ok port set vm1 --access 20
ctl_ok port set vm2 --access 20
ctl_ok fdb add sw --vlan 20 --mac "$STATIC_MAC" --port vm2
assert_ping 1 "$NET_A.2" 3

check_state() { # WHEN
    local cfg pl fdb
    cfg=$(ctl config show) || fail "$1: config show failed"
    if [ "$cfg" = "$CFG0" ]; then
        ok "$1: config show is byte-identical"
    else
        # the same document (key order aside) is what must come back
        if [ "$(jq -S . <<<"$cfg")" != "$(jq -S . <<<"$CFG0")" ]; then
            diff <(jq -S . <<<"$CFG0") <(jq -S . <<<"$cfg")
            fail "$1: config show differs from before the restart"
        fi
        ok "$1: config show is the same document"
        log "NOTE: $1: config show is not byte-identical (object key order changed):"
        diff <(echo "$CFG0") <(echo "$cfg") | head -8
    fi
    pl=$(ctl_json port list)
    for p in vm1 vm2; do
        assert_eq "$(jq -r --arg p $p '.ports[] | select(.name == $p) | .vlan' <<<"$pl")" \
            "access 20" "$1: port $p is back in access 20"
    done
    wait_for "[ \"\$(port_link vm1)\" = up ] && [ \"\$(port_link vm2)\" = up ]" 10 ||
        fail "$1: ports vm1/vm2 are not link up: $(ctl port list)"
    fdb=$(fdb_json sw)
    jq -e --arg m "$STATIC_MAC" \
        '.entries[] | select((.mac | ascii_downcase) == $m and .port == "vm2" and .vlan == 20 and .static == true)' \
        <<<"$fdb" >/dev/null || { echo "$fdb"; fail "$1: static FDB entry $STATIC_MAC is gone"; }
    ok "$1: static FDB entry $STATIC_MAC (VLAN 20, vm2) is back"
    assert_ping 1 "$NET_A.2" 5
    assert_ping 2 "$NET_A.1" 5
}

CFG0=$(ctl config show) || fail "config show failed"
echo "$CFG0"
jq -e '.switches | length == 1' <<<"$CFG0" >/dev/null ||
    jq -e '.config.switches | length == 1' <<<"$CFG0" >/dev/null ||
    fail "config show does not contain the switch"
FILE0=$(sha256sum <"$VT_CONFIG")

# 1. SIGTERM and start again
stop_vesperd
soft assert_eq "$VESPERD_STATUS" 0 "vesperd exits 0 on SIGTERM (status 143 = killed by the signal)"
assert_eq "$(sha256sum <"$VT_CONFIG")" "$FILE0" "config file unchanged by the shutdown"
start_vesperd
check_state "after SIGTERM + restart"

# 1b. SIGHUP (the terminal of `make run` gone) stops it as cleanly
stop_vesperd HUP
assert_eq "$VESPERD_STATUS" 0 "vesperd exits 0 on SIGHUP (status 129 = killed by the signal)"
[ -e "$VT_SOCK" ] && fail "control socket $VT_SOCK left behind after SIGHUP"
start_vesperd
check_state "after SIGHUP + restart"

# 2. kill -9 under traffic
FILE1=$(sha256sum <"$VT_CONFIG")
[ "$FILE1" = "$FILE0" ] || log "NOTE: vesperd rewrote the config file while starting"
bg "$TMP/ping-bg.log" vm 1 ping -n -i 0.01 -W 1 "$NET_A.2"
PING_PID=$BG_PID
sleep 1
kill9_vesperd
kill -INT "$PING_PID" 2>/dev/null
wait_pid "$PING_PID" 5
tail -3 "$TMP/ping-bg.log"
jq -e . "$VT_CONFIG" >/dev/null || { cat "$VT_CONFIG"; fail "config file is not valid JSON after kill -9"; }
ok "config file is valid JSON after kill -9"
out=$("$VESPERD" --check --config "$VT_CONFIG" 2>&1)
rc=$?
echo "$out"
assert_eq "$rc" 0 "vesperd --check accepts the file after kill -9"
assert_eq "$(sha256sum <"$VT_CONFIG")" "$FILE1" "config file is the last committed version"
[ "$(jq -S . "$VT_CONFIG")" = "$(jq -S . <<<"$CFG0")" ] ||
    fail "config file after kill -9 is not the configuration that was committed"
ok "config file after kill -9 holds the committed configuration"
# a save writes config.json.tmp.<pid> and renames it over the file: nothing
# of the kind may be left beside it (config.json.lock, the one-vesperd lock,
# stays: an empty file that only its holder's flock gives meaning to)
leftovers=$(find "$(dirname "$VT_CONFIG")" -maxdepth 1 \
    -name "$(basename "$VT_CONFIG")?*" ! -name "$(basename "$VT_CONFIG").lock" \
    -printf '%f ')
assert_eq "$leftovers" "" "no temp file beside the config after kill -9"
start_vesperd
check_state "after kill -9 + restart"

# 3. a NIC missing at start: vesperd starts without that port's device, says
# why in port show, runs the rest, and binds the NIC once it is back
u0="vt$VT_ID-u0"
tap_hold "$u0"
ctl_ok switch add ext --type external --uplink "$u0"
wait_for "[ \"\$(port_link ext.uplink)\" = up ]" 3 || fail "ext.uplink not up on $u0"
stop_vesperd
kill "$TAP_PID"
wait_for "! ip link show $u0 >/dev/null 2>&1" 3 || fail "TAP $u0 still there"
start_vesperd
why=$(ctl --json port show ext.uplink | jq -r '.device_absent // empty')
[ -n "$why" ] || fail "port show ext.uplink does not say why it has no device"
ok "vesperd started without $u0; port show ext.uplink: $why"
assert_eq "$(port_link ext.uplink)" down "ext.uplink is down while $u0 is missing"
assert_ping 1 "$NET_A.2" 5
ok "vm1 and vm2 still talk with ext.uplink's NIC missing"
ctl_ok switch add s2 --type private
ok "a change is taken while ext.uplink's device is absent"
tap_hold "$u0"
must ip link set "$u0" up
wait_for "[ \"\$(port_link ext.uplink)\" = up ]" 12 ||
    fail "ext.uplink not up 12 s after $u0 came back (retried every 5 s)"
assert_eq "$(ctl --json port show ext.uplink | jq -r '.device_absent // "none"')" none \
    "port show ext.uplink: device found"
ok "ext.uplink bound to $u0 once it came back"
