#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Hostile guest (issue 3, integration (e)): vm1 and vm2 run vesper-guest with
# synthetic NICs on a private switch and carry a 20 s iperf3 TCP stream
# (server in vm2) while a third VM "bad" is driven by hostile_guest, which
# attacks its own partition in every mode one after another (ring indices
# and descriptor lengths, bad GPADLs, 100,000 NVSP INITs, 10,000 unknown
# OIDs, garbage frames), reconnecting between modes.  The stream must finish
# with no error on one connection above 10 Mbit/s, every attack must show
# in bad's counters, and vesperd must stay alive with flat RSS and fds.
# Duplicate GPADL ids: each round's valid GPADL is created and both repeats
# of its id are refused (the answers hostile_guest read).
# Repeated INIT (issue: "gets its channel closed"): the second INIT closes
# bad's channel, which must be BROKEN with exactly one more violation close
# while the attacker still holds its connection, and only the first INIT
# may have been answered.
. "$(dirname "$0")/lib.sh"

need_guests hostile
IPERF_SECS=20

make_ns vm1
make_ns vm2
start_vesperd --vm-dir "$VMDIR"
ctl_ok switch add sw --type private
for v in vm1 vm2 bad; do ctl_ok vm add "$v"; done
ctl_ok vm nic add vm1 --switch sw --type synthetic --mac "$(mac_of 1)"
ctl_ok vm nic add vm2 --switch sw --type synthetic --mac "$(mac_of 2)"
ctl_ok vm nic add bad --switch sw --type synthetic --mac "$(mac_of 3)"

start_synth_guests 1 2
assert_ping 1 "$NET_A.2" 3

# ---- helpers -----------------------------------------------------------------
# sum_of JSON KEY: the sum of every numeric "KEY" anywhere in JSON.
sum_of() {
    jq --arg k "$2" '[.. | objects | .[$k]? | numbers] | add // 0' <<<"$1"
}
# bad_state: vm show bad + the port stats of bad.nic0, as one JSON array.
bad_state() {
    printf '[%s,%s]\n' "$(ctl_json vm show bad)" \
        "$(ctl_q --json stats bad.nic0 || echo null)"
}
vd_rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$VT_VESPERD_PID/status"; }
vd_fds() { ls "/proc/$VT_VESPERD_PID/fd" | wc -l; }

# run_mode MODE KEY...: runs hostile_guest in MODE; the sum of the counters
# KEY... of bad must have grown.
run_mode() {
    local mode=$1 before after b=0 a=0 k rc pid t0=$SECONDS
    shift
    before=$(bad_state)
    # init and oid hold the connection for 1.5 s after the attack: the
    # channel's datapath (VSP) counters are read then, as they go away with
    # the connection
    bg "$TMP/hostile-$mode.log" timeout 60 "$HOSTILE" \
        --partition "$VMDIR/bad.sock" --mode "$mode" --hold 1500
    pid=$BG_PID
    case $mode in
    init | oid)
        wait_for "grep -q 'attack done' '$TMP/hostile-$mode.log'" 40 ||
            { cat "$TMP/hostile-$mode.log"; fail "hostile_guest --mode $mode did not finish"; }
        after=$(bad_state)
        ;;
    esac
    wait "$pid"
    rc=$?
    tail -3 "$TMP/hostile-$mode.log"
    [ $rc -eq 0 ] || fail "hostile_guest --mode $mode exited $rc"
    vesperd_alive || fail "vesperd died during mode $mode"
    ctl --timeout 5 info >/dev/null || fail "vesperd does not answer after mode $mode"
    case $mode in init | oid) ;; *) after=$(bad_state) ;; esac
    for k in "$@"; do
        b=$((b + $(sum_of "$before" "$k")))
        a=$((a + $(sum_of "$after" "$k")))
    done
    echo "$after" >"$TMP/bad-after-$mode.json"
    MODE_BEFORE=$before MODE_AFTER=$after
    log "mode $mode ($((SECONDS - t0)) s): $* grew $b -> $a"
    case $mode in init | oid)
        log "bad's VSP counters: $(jq -c '[.. | objects | .vsp? | objects] | add' <<<"$after")" ;;
    esac
    assert_gt "$((a - b))" 0 "mode $mode: bad's counters ($*) grew"
}

# ---- the storm, during the iperf3 stream ---------------------------------------
iperf_server 2 "$NET_A.2" 5201
bg "$TMP/iperf-client.json" vm 1 timeout $((IPERF_SECS + 30)) iperf3 \
    -c "$NET_A.2" -p 5201 -t "$IPERF_SECS" -J
IPERF_CLIENT_PID=$BG_PID
T_STORM=$SECONDS

# warm-up: one ring attack, then the baseline of vesperd's RSS and fds
run_mode ring ring_broken bad_index bad_len bad_desc chan_violation_closed
RSS0=$(vd_rss)
FDS0=$(vd_fds)
log "baseline after warm-up: VmRSS $RSS0 kB, $FDS0 fds"

run_mode ring ring_broken bad_index bad_len bad_desc chan_violation_closed
# every one of the 7 ring variants broke the ring and closed the channel
rb() { jq '.[0].channels[0].counters.ring_broken' <<<"$1"; }
assert_eq "$(($(rb "$MODE_AFTER") - $(rb "$MODE_BEFORE")))" 7 \
    "each of the 7 ring attacks broke bad's ring"
run_mode gpadl bad_gpadl
# each round's duplicated id: the host created the first header and refused
# every repeat (hostile_guest read its GPADL_CREATED answers)
gres=$(grep '^result: gpadl' "$TMP/hostile-gpadl.log")
num_of() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<"$gres"; }
assert_eq "$(num_of created)" 20 "mode gpadl: each round's valid GPADL was created"
assert_eq "$(num_of duplicates)" 40 "mode gpadl: two duplicate headers per round sent"
assert_eq "$(num_of duplicates_refused)" 40 "mode gpadl: every duplicate GPADL id refused"
run_mode init chan_violation_closed
# the channel's own view, read while hostile_guest held the connection
ch_after() { jq -r ".[0].channels[0].$1" <<<"$MODE_AFTER"; }
ch_before() { jq -r ".[0].channels[0].$1" <<<"$MODE_BEFORE"; }
assert_eq "$(ch_after state)" broken "mode init: bad's channel was closed"
assert_eq "$(ch_after opened)" false "mode init: bad's channel is not open"
assert_eq "$(($(ch_after counters.chan_violation_closed) - \
    $(ch_before counters.chan_violation_closed)))" 1 \
    "mode init: one violation close of bad's channel"
assert_eq "$(($(ch_after closes) - $(ch_before closes)))" 1 \
    "mode init: bad's channel closed once"
answers=$(sed -n 's/^result: init .*answers=\([0-9]*\).*/\1/p' "$TMP/hostile-init.log")
assert_eq "$answers" 1 "mode init: only the first INIT was answered"
run_mode oid oid_unsupported
run_mode garbage bad_frame
log "storm done in $((SECONDS - T_STORM)) s"

# ---- the stream survived --------------------------------------------------------
wait "$IPERF_CLIENT_PID"
rc=$?
out=$(cat "$TMP/iperf-client.json")
[ $rc -eq 0 ] || { tail -20 <<<"$out"; fail "iperf3 client exited $rc"; }
err=$(jq -r '.error // empty' <<<"$out")
[ -z "$err" ] || fail "iperf3 reported an error: $err"
assert_eq "$(jq '.start.connected | length' <<<"$out")" 1 "iperf3 used one connection"
bps=$(jq -r '.end.sum_received.bits_per_second // 0' <<<"$out")
secs=$(jq -r '.end.sum_received.seconds // 0' <<<"$out")
log "iperf3 vm1 -> vm2 during the storm: $(awk -v b="$bps" 'BEGIN { printf "%.1f", b / 1e6 }') Mbit/s over $secs s"
assert_gt "$bps" 10000000 "iperf3 throughput above 10 Mbit/s"
assert_gt "$secs" $((IPERF_SECS - 2)) "iperf3 ran its full $IPERF_SECS s"

# ---- vesperd is alive, answers, and its resources are flat ----------------------
vesperd_alive || fail "vesperd died"
show=$(ctl_json vm show bad)
log "bad: $(jq -c '{state, violations, counters: (.counters | with_entries(select(.value != 0))), channel: (.channels[0] | {state, opens, closes})}' <<<"$show")"
assert_gt "$(jq '.violations' <<<"$show")" 0 "vm show bad reports violations"
assert_eq "$(jq -r '.channels[0].opened' <<<"$show")" false "bad's channel is not open"
assert_eq "$(jq -r '.channels[0].opened' <<<"$(ctl_json vm show vm1)")" true "vm1's channel is still open"
assert_ping 1 "$NET_A.2" 3
RSS1=$(vd_rss)
FDS1=$(vd_fds)
log "after the storm: VmRSS $RSS1 kB (baseline $RSS0), $FDS1 fds (baseline $FDS0)"
assert_le "$RSS1" "$((RSS0 + RSS0 / 10))" "vesperd RSS within +10% of the baseline"
assert_le "$FDS1" "$((FDS0 + 8))" "vesperd fds within +8 of the baseline"
ok "hostile guest contained"
