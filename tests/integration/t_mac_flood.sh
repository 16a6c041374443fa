#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# (f) MAC flood: 100,000 frames with random source MACs from port vm3
# (learn limit 1000, 50,000 frames/s) arrive (90 %, 80 % under ASan), leave
# vm1's and vm2's FDB entries in place, learn exactly 1000 MACs on vm3, count
# the refusals, are forwarded all the same, and vm1 <-> vm2 still talk.
# Then vm3 without a limit fills the table (fdb_max 2048): a static entry
# the operator adds to the full table is installed all the same (it was
# saved but not installed before).  Last, a table of 520,000 MACs: fdb show
# of all of it is refused with the count and the way out (one answer holds
# 450,000 rows), one VLAN of it comes back whole.
. "$(dirname "$0")/lib.sh"

for n in 1 2 3; do
    vm_add "$n" "$NET_A.$n/24"
done
start_vesperd
ctl_ok switch add sw --type private --fdb-max 2048
vm_attach 1 sw
vm_attach 2 sw
# vm3 with an af_packet ring of 8192 frames (the PMD's default is 512): at
# 50,000 frames/s that holds 160 ms of frames while the lcore is off the CPU
# (this machine's 2 cores are shared), 10 ms with 512
ctl_ok port add vm3 --switch sw --class dpdk \
    --devargs "$(vm_devargs 3),framecnt=8192" --learn-limit 1000
show=$(ctl_json port show vm3)
assert_eq "$(jq -r '.learn_limit' <<<"$show")" 1000 "vm3 has learn_limit 1000"

assert_ping 1 "$NET_A.2" 3
assert_ping 2 "$NET_A.1" 3
fdb_has sw "$(mac_of 1)" vm1 || fail "vm1's MAC not learned before the flood"
fdb_has sw "$(mac_of 2)" vm2 || fail "vm2's MAC not learned before the flood"
ok "vm1 and vm2 learned"

rx0=$(stat_of vm3 .rx_packets)
lr0=$(stat_of vm3 .drops.learn_refused)
out0=$(($(stat_of vm1 .tx_packets) + $(stat_of vm1 .drops.tx_full)))
# 100,000 broadcast frames at 50,000/s; macflood.py waits out a full socket
# buffer, so all of them leave vm3's veth, and the veth pair drops none:
# what vesperd misses is what its af_packet ring could not hold
out=$(vm 3 timeout 60 "$PY" "$VT_DIR/macflood.py" "vt$VT_ID-v3" 100000 \
    ff:ff:ff:ff:ff:ff 50000 2>&1)
rc=$?
echo "$out"
[ $rc -eq 0 ] || fail "macflood.py failed ($rc)"
assert_contains "$out" "sent 100000 frames" "macflood.py sent the 100,000 frames"
# until the count has not grown for 1 s (what the ring holds is still
# coming in; at most 10 s)
rx1=$(stat_of vm3 .rx_packets)
same=0
for ((i = 0; i < 40 && same < 4; i++)); do
    sleep 0.25
    r=$(stat_of vm3 .rx_packets)
    if [ "$r" = "$rx1" ]; then same=$((same + 1)); else same=0; fi
    rx1=$r
done
log "vm3 rx_packets: $rx0 -> $rx1"
# Measured (rx of 100,000): gcc build 100,000, also with two CPU hogs
# running; ASan build 98.9-100 %, 88-96 % with two CPU hogs (the first
# flood of a run; later ones 100 %).  Without the pacing and the larger
# ring it was 34-99 % in either build, by the load on the machine.  A switch
# that loses frames on the way in or cannot take 50,000 frames/s of refused
# learns fails the bound (an lcore that sleeps 10 ms per loop, at most
# 25,600 frames/s: 56 %).
if [ "$VT_ASAN" = 1 ]; then
    min_rx=80000
else
    min_rx=90000
fi
assert_gt "$((rx1 - rx0))" "$((min_rx - 1))" \
    "vesperd received at least $min_rx of the 100,000 flood frames on vm3"

n3=$(fdb_count sw vm3)
log "fdb entries on vm3: $n3"
# Exactly the limit: of the ~100,000 distinct sources (at least 80,000
# received) the FDB refuses a new one only for the port's limit
# (learn_limit), a full table (table_full: 1000 + vm1 + vm2 is far from
# fdb_max 2048), both of its buckets full with nothing movable (bucket_full:
# about 1002 entries in 4096 slots, and a refused source costs nothing of
# the limit: the next one is tried) or the lock busy (learn_busy: one frame
# skipped); nothing ages out (aging 300 s) or moves off vm3.  So vm3 reaches
# 1000, and stays there.
assert_eq "$n3" 1000 "vm3 learned exactly its limit of 1000 MACs"
fdb_has sw "$(mac_of 1)" vm1 || fail "vm1's MAC is gone from vm1 after the flood"
ok "vm1's MAC still on vm1"
fdb_has sw "$(mac_of 2)" vm2 || fail "vm2's MAC is gone from vm2 after the flood"
ok "vm2's MAC still on vm2"
ss=$(ctl_json switch show sw)
echo "$ss" | jq -c '.fdb_stats'
ll=$(jq -r '.fdb_stats.learn_limit // 0' <<<"$ss")
assert_gt "$ll" 0 "switch show fdb_stats.learn_limit counts refused learns"
# vm3 sends nothing else: every frame it sent was learned (n3 MACs) or
# refused (port at its limit), and forwarded all the same — flooded to vm1
# (and vm2); 10 frames of slack for anything vm3's own kernel sends
lr1=$(stat_of vm3 .drops.learn_refused)
log "vm3 drops.learn_refused: $lr0 -> $lr1"
assert_gt "$((lr1 - lr0))" "$((rx1 - rx0 - n3 - 10))" \
    "vm3 counts every flood frame it did not learn in drops.learn_refused"
out1=$(($(stat_of vm1 .tx_packets) + $(stat_of vm1 .drops.tx_full)))
assert_gt "$((out1 - out0))" "$((rx1 - rx0 - 1))" \
    "every flood frame vesperd received went to vm1 (tx_packets + drops.tx_full)"
assert_ping 1 "$NET_A.2" 5
assert_ping 2 "$NET_A.1" 5

# the table full of learned entries takes a static entry
ctl_ok port set vm3 --learn-limit 0
vm 3 timeout 60 "$PY" "$VT_DIR/macflood.py" "vt$VT_ID-v3" 20000 >/dev/null 2>&1 ||
    fail "macflood.py failed"
sleep 1
ss=$(ctl_json switch show sw)
log "after the second flood: $(jq -c '{fdb_entries, table_full: .fdb_stats.table_full}' <<<"$ss")"
assert_gt "$(jq -r '.fdb_stats.table_full' <<<"$ss")" 0 "the table filled up (table_full counts refused learns)"
assert_le "$(jq -r '.fdb_entries' <<<"$ss")" 2048 "the full table holds at most fdb_max (2048) entries"
ctl_ok fdb add sw --vlan 1 --mac 02:00:00:ee:00:01 --port vm1
fdb_has sw 02:00:00:ee:00:01 vm1 || fail "the static entry added to the full table is not in fdb show"
ok "a static entry added to a full table is installed"
assert_eq "$(ctl_json config show | jq -r '[(.config // .).fdb_static[] | select(.mac == "02:00:00:ee:00:01")] | length')" 1 \
    "and stored"
assert_ping 1 "$NET_A.2" 3
vesperd_alive || fail "vesperd died"

# A table too large for one answer: 520,000 MACs (20,000 in VLAN 10,
# 500,000 in VLAN 20) read from a pcap file into a port of a switch with
# room for 1,048,576.  fdb show of the whole table is refused, naming the count and
# the way out (one VLAN or one port at a time), instead of an answer over
# the 64 MiB a client may have unread, which would cut vesperctl off
# unanswered; VLAN 10's 20,000 entries come back whole.
"$PY" - "$TMP/huge.pcap" <<'PYEOF' || fail "cannot write the pcap file"
import struct, sys
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    # VLAN 10's 20,000 twice: a learn that finds the table's writer lock
    # busy (learn_busy) is made by the second frame
    for i in list(range(520000)) + list(range(20000)):
        vid = 10 if i < 20000 else 20
        frame = (b"\xff" * 6 + b"\x02\x00" + struct.pack(">I", i) +
                 struct.pack(">HH", 0x8100, vid) + b"\x08\x00" + bytes(46))
        f.write(struct.pack("<IIII", 0, 0, len(frame), len(frame)) + frame)
PYEOF
ctl_ok switch add huge --type private --fdb-max 1048576
ctl_ok port add hp --switch huge --class dpdk \
    --devargs "net_pcap_huge0,rx_pcap=$TMP/huge.pcap" --trunk 10,20
# the whole file read, then what was learned (a few learns find the
# table's writer lock busy and are refused: learn_busy)
for ((i = 0; i < 120; i++)); do
    [ "$(stat_of hp .rx_packets)" = 540000 ] && break
    sleep 0.5
done
assert_eq "$(stat_of hp .rx_packets)" 540000 "port hp read the 540,000 frames of the pcap file"
n=$(ctl_json switch show huge | jq -r '.fdb_entries')
log "switch huge: $n entries learned from the pcap file"
assert_gt "$n" 450000 "switch huge learned more entries than one answer carries"
out=$(ctl fdb show huge 2>&1)
rc=$?
assert_eq "$rc" 1 "fdb show of the whole table exits 1 (refused, not a lost connection: 3)"
assert_match "$out" "$n entries match, more than the 450000 one answer carries.*--vlan" \
    "fdb show names the count, the limit and the way out"
v10=$(ctl_json fdb show huge --vlan 10 | jq '.entries | length')
log "fdb show huge --vlan 10: $v10 entries"
assert_eq "$v10" 20000 "one VLAN's entries come back whole (VLAN 10: 20,000)"
ctl_ok switch list
ctl_ok port del hp
ctl_ok switch del huge
vesperd_alive || fail "vesperd died"
