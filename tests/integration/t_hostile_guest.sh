#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Hostile guest (issue 3, integration (e)): vm1 and vm2 run vesper-guest with
# synthetic NICs on a private switch and carry a 20 s iperf3 TCP stream
# (server in vm2) while a third VM "bad" is driven by hostile_guest, which
# attacks its own partition in every mode one after another (ring indices
# and descriptor lengths, bad GPADLs, 100,000 NVSP INITs, 10,000 unknown
# OIDs, garbage frames), reconnecting between modes.  The stream must finish
# with no error on one connection above 10 Mbit/s, every kind of attack
# must show in its own counter of bad's (exactly where the attack is
# deterministic; each mode's comment below names them), and vesperd must
# stay alive with flat RSS and fds.
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
# bad_state: vm show bad + the port stats of bad.nic0, as one JSON array.
bad_state() {
    printf '[%s,%s]\n' "$(ctl_json vm show bad)" \
        "$(ctl_q --json stats bad.nic0 || echo null)"
}
vd_rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$VT_VESPERD_PID/status"; }
vd_fds() { ls "/proc/$VT_VESPERD_PID/fd" | wc -l; }

# run_mode MODE: runs hostile_guest in MODE; bad_state before and after in
# MODE_BEFORE and MODE_AFTER (the counters that changed are logged).
run_mode() {
    local mode=$1 before after rc pid t0=$SECONDS
    before=$(bad_state)
    # init and oid hold the connection after the attack until the
    # release file exists: the channel's datapath (VSP) counters are read
    # then, as they go away with the connection (a fixed 1.5 s hold could
    # end before a slow ASan vesperctl had read them)
    bg "$TMP/hostile-$mode.log" timeout 60 "$HOSTILE" \
        --partition "$VMDIR/bad.sock" --mode "$mode" --hold 30000 \
        --release "$TMP/release-$mode"
    pid=$BG_PID
    case $mode in
    init | oid)
        wait_for "grep -q 'attack done' '$TMP/hostile-$mode.log'" 40 ||
            { cat "$TMP/hostile-$mode.log"; fail "hostile_guest --mode $mode did not finish"; }
        after=$(bad_state)
        ;;
    esac
    touch "$TMP/release-$mode"
    wait "$pid"
    rc=$?
    tail -3 "$TMP/hostile-$mode.log"
    [ $rc -eq 0 ] || fail "hostile_guest --mode $mode exited $rc"
    vesperd_alive || fail "vesperd died during mode $mode"
    ctl --timeout 5 info >/dev/null || fail "vesperd does not answer after mode $mode"
    case $mode in init | oid) ;; *) after=$(bad_state) ;; esac
    echo "$after" >"$TMP/bad-after-$mode.json"
    MODE_BEFORE=$before MODE_AFTER=$after
    log "mode $mode ($((SECONDS - t0)) s): counters that changed: $(jq -nc \
        --argjson b "$before" --argjson a "$after" '
        def flat: [paths(numbers) as $p | {key: ($p | map(tostring) | join(".")), value: getpath($p)}] | from_entries;
        ($b | flat) as $fb | ($a | flat) as $fa
        | [$fa | to_entries[] | select(.value != ($fb[.key] // 0)) | "\(.key) \($fb[.key] // 0)->\(.value)"]')"
}

# grew PATH: how much the counter at jq PATH of bad_state (.[0] is vm show
# bad) grew over the last run_mode; one absent before counts from 0, one
# absent after prints "absent" (no number: the assertion fails).
grew() {
    jq -nr --argjson b "$MODE_BEFORE" --argjson a "$MODE_AFTER" \
        "(\$a | $1) as \$x | if (\$x | type) == \"number\"
         then \$x - ((\$b | $1) // 0) else \"absent\" end"
}
CH=.[0].channels[0].counters    # bad's channel: its rings and signals
PT=.[0].counters                # bad's partition: socket, VMBus messages

# mode ring: 7 variants, each on a fresh connection, each must break the
# ring and close the channel, and count as its own kind (hv_ring.c):
# write_index beyond the data area, unaligned, 0xFFFFFFF8, and the
# host->guest ring's read_index out of range are bad_index; a descriptor
# whose len8 claims 512 KiB is bad_len; offset8 > len8 is bad_desc; the
# data area of random bytes (hostile_guest's fixed seed) is bad_len.
check_ring() {
    assert_eq "$(grew "$CH.ring_broken")" 7 "mode ring: each of the 7 variants broke bad's ring (ring_broken)"
    assert_eq "$(grew "$CH.chan_violation_closed")" 7 \
        "mode ring: each closed bad's channel (chan_violation_closed)"
    assert_eq "$(grew "$CH.bad_index")" 4 \
        "mode ring: write_index out of range, unaligned, 0xFFFFFFF8 and the host->guest read_index out of range (bad_index)"
    assert_eq "$(grew "$CH.bad_len")" 2 "mode ring: len8 of 512 KiB and the random data area (bad_len)"
    assert_eq "$(grew "$CH.bad_desc")" 1 "mode ring: offset8 > len8 (bad_desc)"
    assert_eq "$(grew "$CH.bad_type")" 0 "mode ring: no variant counted as a bad type"
}

# ---- the storm, during the iperf3 stream ---------------------------------------
mbufs0=$(mbufs_in_use) # traffic idle
log "mbufs in use before the storm: $mbufs0"
iperf_server 2 "$NET_A.2" 5201
bg "$TMP/iperf-client.json" vm 1 timeout $((IPERF_SECS + 30)) iperf3 \
    -c "$NET_A.2" -p 5201 -t "$IPERF_SECS" -J
IPERF_CLIENT_PID=$BG_PID
T_STORM=$SECONDS

# warm-up: one ring attack, then the baseline of vesperd's RSS and fds
run_mode ring
check_ring
RSS0=$(vd_rss)
FDS0=$(vd_fds)
log "baseline after warm-up: VmRSS $RSS0 kB, $FDS0 fds"

run_mode ring
check_ring

# mode gpadl: 20 rounds of raw GPADL messages on one connection, each round
# (hv_vmbus_host.c): PFNs outside guest memory, PFN 2^40 - 1 and 0 (each
# refused when complete), a byte_count that is not its page count (range
# shape), a body for a GPADL that does not exist, a teardown of an id that
# never existed, two headers repeating a created GPADL's id: 7 bad_gpadl;
# a header for an unknown channel: bad_state; a range count of 7 (one
# range is all there is), trailing junk (read as PFNs beyond the announced
# total), a truncated header: 3 bad_msg (hv_chan_msg.c); one valid GPADL:
# gpadl_created.  (The header that announces 2000 pages, carries 2
# and gets a body of 28 is a GPADL still being built, not a violation: it
# has no counter; it goes with the connection.)
run_mode gpadl
assert_eq "$(grew "$PT.bad_gpadl")" 140 \
    "mode gpadl: PFNs outside memory (2), range shape, unknown body, unknown teardown, duplicate id (2), per round (bad_gpadl)"
assert_eq "$(grew "$PT.bad_state")" 20 "mode gpadl: a header for an unknown channel, per round (bad_state)"
assert_eq "$(grew "$PT.bad_msg")" 60 \
    "mode gpadl: range count 7, trailing junk, truncated, per round (bad_msg)"
assert_eq "$(grew "$PT.gpadl_created")" 20 "mode gpadl: each round's valid GPADL created (gpadl_created)"
# each round's duplicated id: the host created the first header and refused
# every repeat (hostile_guest read its GPADL_CREATED answers)
gres=$(grep '^result: gpadl' "$TMP/hostile-gpadl.log")
num_of() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<"$gres"; }
assert_eq "$(num_of created)" 20 "mode gpadl: each round's valid GPADL was created"
assert_eq "$(num_of duplicates)" 40 "mode gpadl: two duplicate headers per round sent"
assert_eq "$(num_of duplicates_refused)" 40 "mode gpadl: every duplicate GPADL id refused"

# mode init: the second INIT closes bad's channel.  Its own counter, the
# VSP's init_repeated, goes with the closed channel before it can be read:
# the channel's violation close and vesperd's log line naming the INIT
# stand for it.
VLOG_LINES=$(wc -l <"$TMP/vesperd.log")
run_mode init
# the channel's own view, read while hostile_guest held the connection
ch_after() { jq -r ".[0].channels[0].$1" <<<"$MODE_AFTER"; }
assert_eq "$(ch_after state)" broken "mode init: bad's channel was closed"
assert_eq "$(ch_after opened)" false "mode init: bad's channel is not open"
assert_eq "$(grew "$CH.chan_violation_closed")" 1 "mode init: one violation close of bad's channel"
assert_eq "$(grew ".[0].channels[0].closes")" 1 "mode init: bad's channel closed once"
answers=$(sed -n 's/^result: init .*answers=\([0-9]*\).*/\1/p' "$TMP/hostile-init.log")
assert_eq "$answers" 1 "mode init: only the first INIT was answered"
tail -n +"$((VLOG_LINES + 1))" "$TMP/vesperd.log" |
    grep -q 'port bad.nic0: NVSP protocol violation: INIT after version' ||
    fail "mode init: vesperd's log does not name the repeated INIT"
ok "mode init: vesperd logged the repeated INIT as the violation"

# mode oid: 10,000 RNDIS QUERYs of random OIDs, each answered NOT SUPPORTED
# (oid_unsupported of the channel's VSP, read while the connection held)
run_mode oid
queried=$(sed -n 's/^result: oid queried=\([0-9]*\).*/\1/p' "$TMP/hostile-oid.log")
assert_eq "$queried" 10000 "mode oid: 10,000 OIDs queried"
assert_eq "$(grew ".[0].channels[0].datapath.vsp.oid_unsupported")" 10000 \
    "mode oid: each unknown OID counted (oid_unsupported)"

# mode garbage: random bytes as partition-socket frames (bad_frame), a third
# of them with a plausible header; those of kind CHAN_MSG carry a channel
# message that does not decode (bad_msg)
run_mode garbage
assert_gt "$(grew "$PT.bad_frame")" 0 "mode garbage: malformed partition frames counted (bad_frame)"
assert_gt "$(grew "$PT.bad_msg")" 0 "mode garbage: channel messages that do not decode counted (bad_msg)"
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
assert_mbufs_back "$mbufs0" "the storm and the iperf3 stream"
ok "hostile guest contained"
