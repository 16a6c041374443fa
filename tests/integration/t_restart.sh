#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# (d) Restart: after SIGTERM and a new start on the same file the
# configuration (switch, ports, static FDB entry, VLAN change) is back and
# traffic flows; after kill -9 (5 times, while a loop of configuration
# changes runs, under ping traffic) the file is valid and is the version
# of the last completed change or of the one in flight, the next vesperd
# removes the temp files of interrupted saves, and traffic flows again.
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

# 2. kill -9 while changes are being saved (under ping traffic), 5 rounds.
# In each round a loop of `port set vm1 --learn-limit N` (N new every call,
# so every version of the file differs) runs until vesperd is killed, a
# random 0-300 ms after the loop's first completed call.  The loop notes
# "call I N" before a call and, once it returned, checks that the file
# holds learn_limit N, notes its sha256 and keeps a copy.  After the kill
# the file must be valid JSON that vesperd --check accepts, and exactly
# the version the last completed call left, or (a call was in flight)
# that version with vm1's learn_limit the in-flight N.
# A save writes config.json.tmp.<pid> and renames it over the file: a kill
# during a save leaves that temp file, and the next vesperd removes it once
# it holds the lock; a stale one planted each round (a saver that died)
# must go too.
FILE1=$(sha256sum <"$VT_CONFIG")
[ "$FILE1" = "$FILE0" ] || log "NOTE: vesperd rewrote the config file while starting"
CFGDIR=$(dirname "$VT_CONFIG")
CFGBASE=$(basename "$VT_CONFIG")
LL0=$(jq -r '.ports[] | select(.name == "vm1") | .learn_limit // 0' "$VT_CONFIG")
bg "$TMP/ping-bg.log" vm 1 ping -n -i 0.01 -W 1 "$NET_A.2"
PING_PID=$BG_PID

# mutate_loop ROUND: the calls; stops at the first that fails (vesperd gone)
mutate_loop() {
    local r=$1 i n
    for ((i = 1; i < 500; i++)); do
        n=$((r * 500 + i))
        echo "call $i $n" >>"$TMP/mut$r.log"
        "$VESPERCTL" --socket "$VT_SOCK" --timeout 5 port set vm1 \
            --learn-limit "$n" >/dev/null 2>>"$TMP/mut$r.err" || break
        cp "$VT_CONFIG" "$TMP/mut$r.last.json"
        if ! jq -e --argjson n "$n" '.ports[] | select(.name == "vm1") |
                .learn_limit == $n' "$TMP/mut$r.last.json" >/dev/null; then
            echo "stale $i $n" >>"$TMP/mut$r.log"
            break
        fi
        echo "done $i $(sha256sum <"$TMP/mut$r.last.json" | cut -c1-64)" >>"$TMP/mut$r.log"
    done
    echo "stopped $i" >>"$TMP/mut$r.log"
}

midsave=0 between=0 old=0 new=0
for r in 1 2 3 4 5; do
    : >"$TMP/mut$r.log"
    mutate_loop "$r" &
    MUT_PID=$!
    VT_PIDS+=("$MUT_PID")
    wait_for "grep -qE '^(done|stale) ' '$TMP/mut$r.log'" 10 ||
        fail "round $r: no port set completed: $(cat "$TMP/mut$r.err")"
    sleep "0.$(printf '%03d' $((RANDOM % 301)))"
    kill9_vesperd
    wait_pid "$MUT_PID" 10 || fail "round $r: the port set loop did not stop after kill -9"
    stale=$(grep '^stale ' "$TMP/mut$r.log")
    [ -z "$stale" ] || fail "round $r: call ${stale#stale } returned, but the file does not hold its learn_limit"
    last_call=$(awk '$1 == "call" { i = $2; n = $3 } END { print i, n }' "$TMP/mut$r.log")
    read -r ci cn <<<"$last_call"
    last_done=$(awk '$1 == "done" { i = $2; h = $3 } END { print i, h }' "$TMP/mut$r.log")
    read -r di dh <<<"$last_done"
    tmps=$(find "$CFGDIR" -maxdepth 1 -name "$CFGBASE.tmp.*" -printf '%f ')
    others=$(find "$CFGDIR" -maxdepth 1 -name "$CFGBASE?*" ! -name "$CFGBASE.lock" \
        ! -name "$CFGBASE.tmp.*" -printf '%f ')
    log "round $r: killed after $di completed calls, last call $ci (N=$cn); temp files: ${tmps:-none}"
    [ -n "$tmps" ] && midsave=$((midsave + 1))
    assert_eq "$others" "" "round $r: nothing but the lock and a save's temp file beside the config"
    jq -e . "$VT_CONFIG" >/dev/null ||
        { cat "$VT_CONFIG"; echo; fail "round $r: config file is not valid JSON after kill -9"; }
    out=$("$VESPERD" --check --config "$VT_CONFIG" 2>&1)
    rc=$?
    [ $rc -eq 0 ] || { echo "$out"; fail "round $r: vesperd --check refuses the file after kill -9 (exit $rc)"; }
    ok "round $r: the file is valid JSON and vesperd --check accepts it"
    h=$(sha256sum <"$VT_CONFIG" | cut -c1-64)
    if [ "$h" = "$dh" ]; then
        if [ "$ci" = "$di" ]; then
            between=$((between + 1))
            ok "round $r: the file is the version of the last completed call ($di)"
        else
            old=$((old + 1))
            ok "round $r: the file is the version of the last completed call ($di), call $ci in flight"
        fi
    elif [ "$ci" != "$di" ] &&
        [ "$(jq -S --argjson n "$cn" '(.ports[] | select(.name == "vm1") | .learn_limit) = $n' \
            "$TMP/mut$r.last.json")" = "$(jq -S . "$VT_CONFIG")" ]; then
        new=$((new + 1))
        ok "round $r: the file is the version of the call in flight ($ci, learn_limit $cn)"
    else
        diff <(jq -S . "$TMP/mut$r.last.json") <(jq -S . "$VT_CONFIG")
        fail "round $r: the file is neither the version of the last completed call ($di) nor that of the call in flight ($ci, learn_limit $cn)"
    fi
    # a stale temp file of a saver that died
    echo '{"half": ' >"$VT_CONFIG.tmp.4194303"
    start_vesperd
    left=$(find "$CFGDIR" -maxdepth 1 -name "$CFGBASE.tmp.*" -printf '%f ')
    assert_eq "$left" "" "round $r: the restarted vesperd removed the temp files (${tmps:-none} and the planted one)"
done
log "kill -9 landed: between calls $between, during a call (file before it) $old, (file after it) $new; with a save's temp file left $midsave of 5"
kill -INT "$PING_PID" 2>/dev/null
wait_pid "$PING_PID" 5
tail -3 "$TMP/ping-bg.log"
# back to the committed configuration, then the state must be as before
ctl_ok port set vm1 --learn-limit "$LL0"
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

# 4. the file on a full disk: vesperd starts on it (a file that is there is
# only read at start; vesperd used to write it again at every start, so a
# full disk refused a valid configuration: no switching at all), traffic
# flows, a change is refused naming the fault with nothing applied, and the
# file is as it was
stop_vesperd
SMALL=$TMP/small
mkdir "$SMALL"
must mount -t tmpfs -o size=64k,mode=0700 tmpfs "$SMALL"
VT_MOUNTS+=("$SMALL")
cp "$VT_CONFIG" "$SMALL/config.json" || fail "cannot copy the config file"
dd if=/dev/zero of="$SMALL/filler" bs=4k 2>/dev/null
sha_full=$(sha256sum <"$SMALL/config.json")
ino_full=$(stat -c %i "$SMALL/config.json")
VT_CONFIG_DISK=$VT_CONFIG
VT_CONFIG=$SMALL/config.json
start_vesperd
ok "vesperd started on a configuration file on a full disk"
assert_ping 1 "$NET_A.2" 3
switches=$(ctl_json switch list | jq -c '[.switches[].name]')
out=$(ctl switch add s3 --type private 2>&1)
rc=$?
assert_eq "$rc" 1 "a change that cannot be saved is refused (exit 1)"
assert_contains "$out" "No space left on device" "the refusal names the fault"
assert_eq "$(ctl_json switch list | jq -c '[.switches[].name]')" "$switches" \
    "the refused change applied nothing"
assert_eq "$(sha256sum <"$SMALL/config.json")" "$sha_full" "the file is as it was"
assert_eq "$(stat -c %i "$SMALL/config.json")" "$ino_full" "the file was not replaced"
stop_vesperd
VT_CONFIG=$VT_CONFIG_DISK

# 5. the file on a read-only file system (a configuration baked into an
# image): vesperd starts on it (its lock is then the file itself, as no
# lock file can be made beside it; it used to refuse to start), traffic
# flows, a change is refused naming the fault, and a second vesperd on the
# same file is still refused
RO=$TMP/ro
mkdir "$RO"
cp "$VT_CONFIG" "$RO/config.json" || fail "cannot copy the config file"
sha_ro=$(sha256sum <"$RO/config.json")
must mount --bind "$RO" "$RO"
VT_MOUNTS+=("$RO")
must mount -o remount,bind,ro "$RO"
touch "$RO/x" 2>/dev/null && fail "$RO is not read-only"
VT_CONFIG=$RO/config.json
start_vesperd
ok "vesperd started on a configuration file on a read-only file system"
assert_ping 1 "$NET_A.2" 3
out=$(ctl switch add s3 --type private 2>&1)
rc=$?
assert_eq "$rc" 1 "a change that cannot be saved is refused (exit 1)"
assert_contains "$out" "Read-only file system" "the refusal names the fault"
assert_eq "$(sha256sum <"$RO/config.json")" "$sha_ro" "the file is as it was"
out=$(timeout 60 "$VESPERD" --config "$RO/config.json" --socket "$TMP/ro2.sock" \
    --vm-dir "$TMP/ro2-vm" --cores 0,1 --file-prefix "${VT_PREFIX}r" \
    $([ "${VT_NO_HUGE:-0}" = 1 ] && echo --no-huge) 2>&1)
rc=$?
rm -rf "/var/run/dpdk/${VT_PREFIX}r"
log "second vesperd on $RO/config.json -> exit $rc: $(tail -1 <<<"$out")"
assert_eq "$rc" 1 "a second vesperd on the read-only file exits 1"
assert_contains "$out" "another vesperd is running with the configuration $RO/config.json (it holds $RO/config.json, on a read-only file system)" \
    "it says so"
vesperd_alive || fail "the first vesperd died"
stop_vesperd
VT_CONFIG=$VT_CONFIG_DISK
