#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Signal storm (TESTS.md #27): vm1 and vm2 run vesper-guest with synthetic
# NICs on a private switch; a third VM "bad" is hostile_guest --mode signal:
# it opens its NIC properly, then writes its guest->host signal eventfd in a
# tight loop (several 100,000 signals a second) with nothing in its ring.
# Asserted:
#  * vesperd's control thread (its main thread, which takes every guest
#    signal) spends at most CPU_BUDGET % of one core over CPU_SECS s
#    of the storm, with only a light ping (5/s) beside it;
#  * the storming channel shows storm_backoffs and signals_idle, vm1's and
#    vm2's channels no backoff (well-behaved guests never back off, under
#    iperf3 either);
#  * during the storm vm1 -> vm2 pings are answered (>= 90 %) and iperf3
#    runs on one connection above 10 Mbit/s and at 0.4 of its baseline or
#    more; vesperd stays alive.
#
# Figures on the shared 2-core test VM (control-thread CPU = utime + stime
# of /proc/PID/task/PID/stat): without the damping 40-41 % of a core
# (the guest wrote 280,000-320,000 signals/s, the host woke 36,000
# times/s) and the test fails; with it 0.5-1.0 % (one backoff per 4 ms;
# the guest wrote 600,000-700,000 signals/s), 0.8-1.0 % under ASan.
# CPU_BUDGET is TESTS.md's 5 %: five times what the damped storm costs, an
# eighth of the undamped.  iperf3 vm1 -> vm2 is logged without and during
# the storm: damped 0.86-0.91 of the baseline (ASan 0.79-0.87), undamped
# 0.77.  The damping cannot be told from that (the storming process itself
# keeps one of the two cores busy), but a collapse of the good channels
# can: during the storm iperf3 must keep at least 0.4 of its baseline.
. "$(dirname "$0")/lib.sh"

need_guests hostile
CPU_BUDGET=5      # % of one core, control thread, during the storm
CPU_SECS=4        # measurement window
STORM_MS=14000    # settle 1 s + CPU window + iperf3 5 s + margin

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
# The control thread is vesperd's main thread (task id = pid); the others
# are EAL threads and the datapath lcores (rte-worker-N).
for t in /proc/$VT_VESPERD_PID/task/*; do
    log "vesperd thread ${t##*/}: $(cat "$t/comm")"
done
# chan_stat VM COUNTER: a counter of the VM's (only) channel.
chan_stat() {
    ctl_q --json vm show "$1" | jq -r ".channels[0].counters.$2"
}
# iperf_run PORT SECS: iperf3 vm1 -> vm2; sets IPERF_BPS to the bits/s
# received (fails the test on an error, a second connection or no rate).
# Called in the test's own shell, not in $(...): a fail in a subshell only
# ended the subshell (a failed baseline read as 0.0 Mbit/s), and the
# server's pid (bg) was lost to the cleanup.
iperf_run() {
    local port=$1 secs=$2 out rc
    iperf_server 2 "$NET_A.2" "$port"
    out=$(vm 1 timeout $((secs + 20)) iperf3 -c "$NET_A.2" -p "$port" \
        -t "$secs" -J 2>&1)
    rc=$?
    [ $rc -eq 0 ] || { tail -20 <<<"$out"; fail "iperf3 client exited $rc"; }
    [ -z "$(jq -r '.error // empty' <<<"$out")" ] ||
        fail "iperf3 reported an error: $(jq -r '.error' <<<"$out")"
    [ "$(jq '.start.connected | length' <<<"$out")" = 1 ] ||
        fail "iperf3 used more than one connection"
    IPERF_BPS=$(jq -r '.end.sum_received.bits_per_second' <<<"$out")
    assert_gt "$IPERF_BPS" 0 "iperf3 vm1 -> vm2 on port $port received data (bits/s)"
}
mbit() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1e6 }'; }

# ---- baseline ----------------------------------------------------------------
log "control thread idle: $(ctl_cpu 2) % of a core"
iperf_run 5201 5
BPS0=$IPERF_BPS
log "iperf3 vm1 -> vm2 without the storm: $(mbit "$BPS0") Mbit/s"

# ---- the storm ---------------------------------------------------------------
B_BACKOFFS=$(chan_stat bad storm_backoffs)
bg "$TMP/hostile-signal.log" timeout 60 "$HOSTILE" \
    --partition "$VMDIR/bad.sock" --mode signal --duration "$STORM_MS" \
    --hold 500
HPID=$BG_PID
wait_for "grep -q 'storm started' '$TMP/hostile-signal.log'" 20 ||
    { cat "$TMP/hostile-signal.log"; fail "hostile_guest did not start its storm"; }
T_STORM=$SECONDS
sleep 1
bg "$TMP/ping.log" vm 1 ping -n -c $((CPU_SECS * 5)) -i 0.2 -W 1 "$NET_A.2"
PING_PID=$BG_PID
CPU=$(ctl_cpu "$CPU_SECS")
log "control thread during the storm: $CPU % of a core (budget $CPU_BUDGET %)"
wait_pid "$PING_PID" 10
cat "$TMP/ping.log"
got=$(sed -n 's/.* \([0-9][0-9]*\) received.*/\1/p' "$TMP/ping.log")
# one ping lost to this busy machine is not the storm's doing (undamped
# storms answered them all too): 90 %
assert_le "$((CPU_SECS * 5 * 9 / 10))" "${got:-0}" \
    "vm1 -> vm2: pings answered during the storm (of $((CPU_SECS * 5)))"
iperf_run 5202 5
BPS1=$IPERF_BPS
log "iperf3 vm1 -> vm2 during the storm: $(mbit "$BPS1") Mbit/s (without: $(mbit "$BPS0"))"
[ $((SECONDS - T_STORM)) -lt $((STORM_MS / 1000)) ] ||
    log "warning: the storm may have ended before iperf3 did"
wait_pid "$HPID" 30
rc=$?
cat "$TMP/hostile-signal.log"
[ $rc -eq 0 ] || fail "hostile_guest --mode signal exited $rc"

# ---- verdict ---------------------------------------------------------------------
assert_le "$CPU" "$CPU_BUDGET" "control thread CPU during the storm (% of a core)"
rate=$(sed -n 's/^result: signal .*(\([0-9]*\)\/s).*/\1/p' "$TMP/hostile-signal.log")
assert_gt "${rate:-0}" 100000 "the guest signalled more than 100,000 times a second"
backoffs=$(chan_stat bad storm_backoffs)
idle=$(chan_stat bad signals_idle)
log "bad's channel: storm_backoffs $B_BACKOFFS -> $backoffs, signals_idle $idle, signals_received $(chan_stat bad signals_received)"
assert_gt "$((backoffs - B_BACKOFFS))" 100 "bad's channel backed off (storm_backoffs)"
assert_gt "$idle" 0 "bad's idle signal wakeups are counted (signals_idle)"
for v in vm1 vm2; do
    log "$v's channel: signals_received $(chan_stat $v signals_received), signals_idle $(chan_stat $v signals_idle), pkts_read $(chan_stat $v pkts_read)"
    assert_eq "$(chan_stat $v storm_backoffs)" 0 "$v's channel never backed off"
done
assert_gt "$BPS1" 10000000 "iperf3 during the storm above 10 Mbit/s"
assert_le 0.4 "$(awk -v a="$BPS1" -v b="$BPS0" 'BEGIN { printf "%.3f", a / b }')" \
    "iperf3 during the storm, as a fraction of its baseline"
vesperd_alive || fail "vesperd died"
ctl --timeout 5 info >/dev/null || fail "vesperd does not answer"
assert_eq "$(jq -r '.channels[0].opened' <<<"$(ctl_json vm show vm1)")" true \
    "vm1's channel is still open"
assert_ping 1 "$NET_A.2" 3
ok "signal storm contained"
