#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# (g) Capture: vesperctl capture writes a pcap that tshark reads: 10 frames
# of vm1's ping, echo requests with vm1's MAC as source; on the trunk uplink
# of an external switch the frames of an access-VLAN-10 port carry tag 10;
# a file vesperd cannot write is refused, the reason said once; files on
# /proc and /sys are refused and left alone; a full disk ends a capture
# with its error (exit 1) and a readable file; a vesperctl killed with
# SIGKILL leaves no capture behind, SIGTERM stops one cleanly, and
# `capture list` / `capture stop PORT` show and end one started elsewhere
# (whose vesperctl then says so); deleting the port of a running capture
# ends it, and its vesperctl says why; vesperd stopping under a capture
# leaves its vesperctl with the summary it knows (exit 3).
. "$(dirname "$0")/lib.sh"

# pcap_frames FILE: sets PCAP_N to the frames tshark reads from FILE; fails
# the test if tshark fails or says anything (a record cut short: "appears
# to have been cut short in the middle of a packet", exit 2), so a file
# counts only if it is whole.
pcap_frames() {
    local rc
    tshark -r "$1" >"$TMP/pcap-frames.out" 2>"$TMP/pcap-frames.err"
    rc=$?
    # as root tshark always says so
    sed -i '/^Running as user "root"/d' "$TMP/pcap-frames.err"
    if [ $rc -ne 0 ] || [ -s "$TMP/pcap-frames.err" ]; then
        cat "$TMP/pcap-frames.err"
        fail "tshark cannot read $1 whole (exit $rc)"
    fi
    PCAP_N=$(wc -l <"$TMP/pcap-frames.out")
}

U=vt$VT_ID-u
P=vt$VT_ID-p
PHYS=vt$VT_ID-phys
make_ns phys
must ip link add "$U" type veth peer name "$P" netns "$PHYS"
VT_LINKS+=("$U")
quiet_if "" "$U"
quiet_if "$PHYS" "$P"
must ip -n "$PHYS" link set "$P" up
must ip link set "$U" up
vlan_subif "$PHYS" "$P" "$P"10 10 "$NET_C.10/24"

vm_add 1 "$NET_A.1/24"
vm_add 2 "$NET_A.2/24"
vm_add 3 "$NET_C.1/24"
start_vesperd
ctl_ok switch add sw --type private
vm_attach 1 sw
vm_attach 2 sw
ctl_ok switch add ext --type external --uplink "$U"
ctl_ok port set ext.uplink --trunk 10
vm_attach 3 ext --access 10
assert_ping 1 "$NET_A.2" 2
assert_ping 3 "$NET_C.10" 2

# 1. ten frames of vm1's ping
bg "$TMP/ping1.log" vm 1 ping -n -i 0.1 "$NET_A.2"
out=$(timeout 30 "$VESPERCTL" --socket "$VT_SOCK" capture vm1 -c 10 -w "$TMP/cap.pcap" 2>&1)
rc=$?
echo "$out"
kill "$BG_PID"
[ $rc -eq 0 ] || fail "vesperctl capture vm1 failed ($rc)"
[ -s "$TMP/cap.pcap" ] || fail "no pcap written at $TMP/cap.pcap"
# one tshark pass (it is slow to start): frame, source, destination, ICMP type
tshark -r "$TMP/cap.pcap" -T fields -e frame.number -e eth.src -e eth.dst \
    -e icmp.type -e _ws.col.Info >"$TMP/cap.txt" 2>"$TMP/tshark.err"
cat "$TMP/cap.txt" "$TMP/tshark.err"
assert_eq "$(wc -l <"$TMP/cap.txt")" 10 "tshark -r reads 10 frames from cap.pcap"
req=$(awk -F'\t' -v m="$(mac_of 1)" '$2 == m && $4 == 8' "$TMP/cap.txt" | wc -l)
assert_gt "$req" 0 "capture holds ICMP echo requests from vm1's MAC ($req)"
rep=$(awk -F'\t' -v m="$(mac_of 1)" '$3 == m && $4 == 0' "$TMP/cap.txt" | wc -l)
log "echo replies to vm1 in the capture: $rep"

# 2. the trunk uplink: vm3's frames leave tagged with VLAN 10 (with the
# largest snaplen vesperctl takes: vesperd takes it too, and records up to
# 2048 bytes of a frame)
bg "$TMP/ping3.log" vm 3 ping -n -i 0.1 "$NET_C.10"
out=$(timeout 30 "$VESPERCTL" --socket "$VT_SOCK" capture ext.uplink -c 10 \
      --snaplen 262144 -w "$TMP/cap-uplink.pcap" 2>&1)
rc=$?
echo "$out"
kill "$BG_PID"
[ $rc -eq 0 ] || fail "vesperctl capture ext.uplink failed ($rc)"
tshark -r "$TMP/cap-uplink.pcap" -T fields -e frame.number -e eth.src \
    -e vlan.id -e icmp.type -e _ws.col.Info >"$TMP/cap-uplink.txt" 2>"$TMP/tshark.err"
cat "$TMP/cap-uplink.txt" "$TMP/tshark.err"
assert_eq "$(wc -l <"$TMP/cap-uplink.txt")" 10 "tshark -r reads 10 frames from cap-uplink.pcap"
tagged=$(tshark -r "$TMP/cap-uplink.pcap" -Y 'vlan.id==10' 2>/dev/null | wc -l)
assert_gt "$tagged" 0 "tshark -Y vlan.id==10: the uplink capture shows 802.1Q tag 10 ($tagged frames)"
fromvm=$(awk -F'\t' -v m="$(mac_of 3)" '$2 == m && $3 == 10 && $4 == 8' "$TMP/cap-uplink.txt" | wc -l)
assert_gt "$fromvm" 0 "vm3's echo requests are tagged 10 on the uplink"
untagged=$(awk -F'\t' '$3 == ""' "$TMP/cap-uplink.txt" | wc -l)
assert_eq "$untagged" 0 "no untagged frames on the trunk uplink"

# 3. a file vesperd cannot write: refused, the reason named once
out=$(timeout 30 "$VESPERCTL" --socket "$VT_SOCK" capture vm1 -c 1 \
      -w "$TMP/no/such/dir/cap.pcap" 2>&1)
rc=$?
echo "$out"
assert_eq "$rc" 1 "capture to a missing directory is refused (exit 1)"
assert_eq "$out" "vesperctl: cannot write $TMP/no/such/dir/cap.pcap: No such file or directory" \
    "the message names the file and the reason once"

# 4. a file that is not a capture (vesperd's own configuration, here) is
# never overwritten: refused, the file unchanged; an earlier capture is
# written over; a symbolic link is refused
sum0=$(sha256sum <"$VT_CONFIG")
out=$(timeout 30 "$VESPERCTL" --socket "$VT_SOCK" capture vm1 -c 1 -w "$VT_CONFIG" 2>&1)
rc=$?
echo "$out"
assert_eq "$rc" 1 "capture onto the configuration file is refused (exit 1)"
assert_eq "$out" "vesperctl: $VT_CONFIG exists and is not a capture file; refusing to overwrite it" \
    "the message says why"
assert_eq "$(sha256sum <"$VT_CONFIG")" "$sum0" "the configuration file is unchanged"
ln -s "$VT_CONFIG" "$TMP/link.pcap"
out=$(timeout 30 "$VESPERCTL" --socket "$VT_SOCK" capture vm1 -c 1 -w "$TMP/link.pcap" 2>&1)
assert_eq "$out" "vesperctl: cannot write $TMP/link.pcap: it is a symbolic link" \
    "a symbolic link is refused"
# (the ping runs before the capture starts: any 2 frames on vm1 will do,
# and one of vm2's ARP probes may come first and end it at once)
bg "$TMP/ping1b.log" vm 1 ping -n -i 0.2 "$NET_A.2"
out=$(timeout 30 "$VESPERCTL" --socket "$VT_SOCK" capture vm1 -c 2 \
      -w "$TMP/cap-uplink.pcap" 2>&1)
rc=$?
echo "$out"
kill "$BG_PID"
assert_eq "$rc" 0 "a capture over an earlier one runs (exit 0)"
pcap_frames "$TMP/cap-uplink.pcap"
assert_eq "$PCAP_N" 2 "an earlier capture file is written over (2 frames now)"
vesperd_alive || fail "vesperd died"

# 5. kernel pseudo filesystems: refused, nothing written.  /proc/self/comm
# is vesperd's own main thread name (it used to become the pcap magic);
# /proc/version (read-only, a failed write that passed for a capture); a
# sysfs attribute.
comm0=$(cat "/proc/$VT_VESPERD_PID/comm")
for f in /proc/self/comm /proc/version /sys/class/net/lo/tx_queue_len; do
    case $f in /proc/*) fs=procfs ;; *) fs=sysfs ;; esac
    [ "$f" = /proc/self/comm ] && before=$comm0 || before=$(cat "$f")
    out=$(timeout 30 "$VESPERCTL" --socket "$VT_SOCK" capture vm1 -c 1 -w "$f" 2>&1)
    rc=$?
    echo "$out"
    assert_eq "$rc" 1 "capture onto $f is refused (exit 1)"
    assert_eq "$out" "vesperctl: cannot write $f: it is on $fs, a kernel pseudo filesystem where a write is a command, not data; capture to a file on a disk or tmpfs" \
        "the message names $f and $fs"
    [ "$f" = /proc/self/comm ] && after=$(cat "/proc/$VT_VESPERD_PID/comm") || after=$(cat "$f")
    assert_eq "$after" "$before" "$f is unchanged"
done

# 6. a full disk: a real tmpfs of 64 KiB.  Full: the start is refused, and
# the new file it had created is removed.  One
# page left: 1 KB pings fill it; the capture ends with the error, vesperctl
# says it and exits 1, vesperd logs it once, and the file holds whole
# frames (tshark reads what vesperctl says is there).
SMALL=$TMP/small
mkdir "$SMALL"
must mount -t tmpfs -o size=64k,mode=0700 tmpfs "$SMALL"
VT_MOUNTS+=("$SMALL")
dd if=/dev/zero of="$SMALL/filler" bs=4k 2>/dev/null
out=$(timeout 30 "$VESPERCTL" --socket "$VT_SOCK" capture vm1 -w "$SMALL/cap.pcap" 2>&1)
rc=$?
echo "$out"
assert_eq "$rc" 1 "capture onto a full tmpfs is refused (exit 1)"
assert_eq "$out" "vesperctl: cannot write $SMALL/cap.pcap: No space left on device" \
    "the message says why"
# (the file was new: the refused start removes it; it used to stay, empty)
[ ! -e "$SMALL/cap.pcap" ] || fail "the refused start left $SMALL/cap.pcap behind"
ok "the refused start leaves no file behind"
# room for a few drains' worth of frames (a drain of 1,000-byte pings
# is about 4 KiB), so that some are in the file when the disk fills
truncate -s -16384 "$SMALL/filler"
bg "$TMP/ping-big.log" vm 1 ping -n -s 1000 -i 0.05 "$NET_A.2"
PING_PID=$BG_PID
out=$(timeout 30 "$VESPERCTL" --socket "$VT_SOCK" capture vm1 -w "$SMALL/cap.pcap" 2>&1)
rc=$?
echo "$out"
kill "$PING_PID"
assert_eq "$rc" 1 "a capture whose disk fills up fails (exit 1)"
assert_match "$out" "^vesperctl: writing $SMALL/cap.pcap: No space left on device \(capture [0-9]+ ended; [0-9]+ frames are in the file\)$" \
    "vesperctl prints the write error and what the file holds"
n=$(sed -E 's/.*ended; ([0-9]+) frames.*/\1/' <<<"$out")
assert_gt "$n" 0 "the full disk took some frames ($n)"
pcap_frames "$SMALL/cap.pcap"
assert_eq "$PCAP_N" "$n" "tshark reads the $n frames, a valid pcap"
assert_eq "$(grep -c "writing $SMALL/cap.pcap: No space left on device" "$TMP/vesperd.log")" 1 \
    "vesperd logs the error once"
must umount "$SMALL"
VT_MOUNTS=()

# 7. vesperctl killed with SIGKILL mid-capture (no capture.stop): vesperd
# stops the capture when the connection closes; the file stops growing and
# the port can be captured again.  (It used to run on, the port "already
# being captured", with no way to stop it.)
bg "$TMP/ping-k.log" vm 1 ping -n -i 0.02 "$NET_A.2"
PING_PID=$BG_PID
bg "$TMP/cap-k.out" "$VESPERCTL" --socket "$VT_SOCK" capture vm1 -w "$TMP/k.pcap"
CAP_PID=$BG_PID
wait_for '[ "$(stat -c %s "$TMP/k.pcap" 2>/dev/null || echo 0)" -gt 1000 ]' 20 ||
    fail "the capture to k.pcap did not grow"
out=$(ctl capture list 2>&1)
echo "$out"
assert_match "$out" "^ *[0-9]+  vm1 +both +[0-9]+  running  $TMP/k.pcap$" \
    "capture list shows the running capture: port, direction, frames, state, file"
kill -9 "$CAP_PID"
wait "$CAP_PID" 2>/dev/null
wait_for '! ctl capture list | grep -qF "$TMP/k.pcap"' 5 ||
    fail "the capture of the killed vesperctl is still listed"
size1=$(stat -c %s "$TMP/k.pcap")
sleep 1
size2=$(stat -c %s "$TMP/k.pcap")
assert_eq "$size2" "$size1" "k.pcap stops growing once its vesperctl is killed"
assert_contains "$(cat "$TMP/vesperd.log")" "stopped: the client that started it went away" \
    "vesperd logs why it stopped the capture"
tshark -r "$TMP/k.pcap" >/dev/null 2>&1 || fail "k.pcap is not a readable pcap"
out=$(timeout 30 "$VESPERCTL" --socket "$VT_SOCK" capture vm1 -c 3 -w "$TMP/k2.pcap" 2>&1)
rc=$?
echo "$out"
assert_eq "$rc" 0 "vm1 can be captured again"
assert_eq "$out" "captured 3 frames to $TMP/k2.pcap" "the new capture has its 3 frames"

# 8. SIGTERM: vesperctl stops the capture (capture.stop) and prints the summary
bg "$TMP/cap-t.out" "$VESPERCTL" --socket "$VT_SOCK" capture vm1 -w "$TMP/t.pcap"
CAP_PID=$BG_PID
wait_for 'ctl capture list | grep -qF "$TMP/t.pcap"' 10 || fail "capture to t.pcap did not start"
kill -TERM "$CAP_PID"
wait_pid "$CAP_PID" 10
rc=$?
assert_eq "$rc" 0 "vesperctl ends on SIGTERM with exit 0"
assert_match "$(cat "$TMP/cap-t.out")" "^captured [0-9]+ frames? to $TMP/t.pcap$" \
    "and prints the summary"
assert_eq "$(ctl capture list | grep -cF "$TMP/t.pcap")" 0 "no capture is left"

# (Here and in 11 and 12 the stderr file is read as soon as vesperctl
# ends: $VESPERCTL_BIN, not the ASan wrapper whose tee may still be
# writing; lib.sh.)
# 9. capture stop PORT: the operator ends a capture another vesperctl runs;
# that vesperctl sees it end, says on stderr that it was stopped elsewhere
# (it used to look like a normal end) and prints its summary (exit 0)
bg "$TMP/cap-s.out" sh -c 'exec "$0" --socket "$1" capture vm1 -w "$2" 2>"$3"' \
    "$VESPERCTL_BIN" "$VT_SOCK" "$TMP/s.pcap" "$TMP/cap-s.err"
CAP_PID=$BG_PID
wait_for 'ctl capture list | grep -qF "$TMP/s.pcap"' 10 || fail "capture to s.pcap did not start"
sleep 0.5
# by id, from a connection that does not own it: refused, pointing to the port
cid=$(ctl --json capture list | jq -r --arg f "$TMP/s.pcap" '.captures[] | select(.file == $f) | .id')
out=$("$PY" "$VT_DIR/rpc.py" "$VT_SOCK" call capture.stop "{\"id\": $cid}")
assert_eq "$(jq -r '.error.code' <<<"$out")" -32003 "capture.stop by id from another connection is refused"
assert_match "$(jq -r '.error.message' <<<"$out")" \
    "^capture $cid belongs to another connection; stop it by its port: 'vesperctl capture stop vm1'" \
    "and the refusal names the way to stop it"
kill -0 "$CAP_PID" 2>/dev/null || fail "the capturing vesperctl ended on the refused stop"
out=$(ctl capture stop vm1 2>&1)
rc=$?
echo "$out"
assert_eq "$rc" 0 "capture stop vm1 succeeds"
assert_match "$out" "^stopped capture [0-9]+ of vm1: [0-9]+ frames? in $TMP/s.pcap$" \
    "capture stop says what it stopped"
stopped=$(sed -E 's/.*: ([0-9]+) frames in.*/\1/' <<<"$out")
wait_pid "$CAP_PID" 10
rc=$?
assert_eq "$rc" 0 "the capturing vesperctl ends (exit 0)"
assert_eq "$(cat "$TMP/cap-s.out")" \
    "captured $stopped frame$([ "$stopped" = 1 ] || echo s) to $TMP/s.pcap" \
    "it prints the frames the stopped capture wrote"
assert_match "$(cat "$TMP/cap-s.err")" \
    "^vesperctl: capture [0-9]+ of port vm1 was stopped elsewhere \(capture stop vm1\)$" \
    "and says on stderr that it was stopped elsewhere"
pcap_frames "$TMP/s.pcap"
assert_eq "$PCAP_N" "$stopped" "s.pcap holds them"
out=$(ctl capture stop vm1 2>&1)
rc=$?
assert_eq "$rc" 1 "capture stop of a port nobody captures fails (exit 1)"
assert_eq "$out" "vesperctl: port \"vm1\" is not being captured" "and says so"
# (the ended capture is listed, done, until its vesperctl's connection
# closes; vesperd may see that close just after this list request)
wait_for '[ "$(ctl capture list)" = "ID  PORT  DIRECTION  FRAMES  STATE  FILE" ]' 5 ||
    fail "capture list is not empty at the end: $(ctl capture list)"
ok "capture list is empty at the end"

# 10. every capture slot taken by an ended capture whose client is still
# connected (16 connections, one 1-frame capture each): a 17th start reuses
# the oldest slot, and it too ends when its connection closes
out=$("$PY" "$VT_DIR/rpc.py" "$VT_SOCK" owners vm1 "$TMP" 16 2>&1)
rc=$?
echo "$out"
assert_eq "$rc" 0 "a capture in a reused slot ends with its connection"
assert_match "$out" "^gone [0-9]+$" "rpc.py saw it end"

# 11. the port deleted under a running capture (vm2, which vm1's ping
# reaches): the capture ends with it, the file is closed as a valid pcap,
# and its vesperctl says why on stderr, "ended":"port_closed" in its --json
# summary, exit 0 (it used to print an ordinary summary)
bg "$TMP/cap-d.out" sh -c 'exec "$0" --socket "$1" --json capture vm2 -w "$2" 2>"$3"' \
    "$VESPERCTL_BIN" "$VT_SOCK" "$TMP/d.pcap" "$TMP/cap-d.err"
CAP_PID=$BG_PID
wait_for '[ "$(stat -c %s "$TMP/d.pcap" 2>/dev/null || echo 0)" -gt 1000 ]' 20 ||
    fail "the capture to d.pcap did not grow"
ctl_ok port del vm2
wait_pid "$CAP_PID" 10
rc=$?
cat "$TMP/cap-d.out" "$TMP/cap-d.err"
assert_eq "$rc" 0 "the capture of a deleted port ends (exit 0)"
assert_match "$(cat "$TMP/cap-d.err")" \
    "^vesperctl: capture [0-9]+ of port vm2 ended: the port was deleted$" \
    "vesperctl says on stderr that the port was deleted"
assert_eq "$(jq -r .ended "$TMP/cap-d.out")" port_closed \
    "its --json summary says \"ended\": \"port_closed\""
n=$(jq -r .captured "$TMP/cap-d.out")
assert_gt "$n" 0 "the capture of vm2 has frames ($n)"
pcap_frames "$TMP/d.pcap"
assert_eq "$PCAP_N" "$n" "d.pcap holds the $n frames, a valid pcap"
assert_contains "$(cat "$TMP/vesperd.log")" "of port vm2 ended: the port was closed" \
    "vesperd logs why the capture ended"
vesperd_alive || fail "vesperd died"

# 12. vesperd stops under a running capture (of vm1, whose ping now finds
# no vm2 and ARPs): vesperctl says the connection closed, then the summary
# it has from the last status (it printed only the first line), exit 3;
# vesperd closed the file as a valid pcap with at least those frames
bg "$TMP/cap-e.out" sh -c 'exec "$0" --socket "$1" capture vm1 -w "$2" 2>"$3"' \
    "$VESPERCTL_BIN" "$VT_SOCK" "$TMP/e.pcap" "$TMP/cap-e.err"
CAP_PID=$BG_PID
wait_for '[ "$(stat -c %s "$TMP/e.pcap" 2>/dev/null || echo 0)" -gt 200 ]' 20 ||
    fail "the capture to e.pcap did not grow"
sleep 1 # a status (vesperctl asks every 100 ms) that counts them
stop_vesperd
wait_pid "$CAP_PID" 10
rc=$?
cat "$TMP/cap-e.out" "$TMP/cap-e.err"
assert_eq "$rc" 3 "the capture whose vesperd stopped exits 3"
err=$(cat "$TMP/cap-e.err")
assert_contains "$err" "vesperctl: vesperd closed the connection" \
    "vesperctl says vesperd closed the connection"
assert_match "$err" \
    "^vesperctl: capture [0-9]+ of port vm1 to $TMP/e.pcap: at least [0-9]+ frames if vesperd stopped \\(its last count" \
    "and then the capture, its file and the frames it knows of"
n=$(sed -n 's/.* at least \([0-9]*\) frames.*/\1/p' <<<"$err")
assert_gt "$n" 0 "vesperctl knew of frames ($n)"
pcap_frames "$TMP/e.pcap"
assert_le "$n" "$PCAP_N" "e.pcap, a valid pcap, holds at least the $n frames"
kill "$PING_PID"
