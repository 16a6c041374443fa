#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# (g) Capture: vesperctl capture writes a pcap that tshark reads: 10 frames
# of vm1's ping, echo requests with vm1's MAC as source; on the trunk uplink
# of an external switch the frames of an access-VLAN-10 port carry tag 10;
# a file vesperd cannot write is refused, the reason said once.
. "$(dirname "$0")/lib.sh"

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
bg "$TMP/recap.out" timeout 30 "$VESPERCTL" --socket "$VT_SOCK" capture vm1 -c 2 \
    -w "$TMP/cap-uplink.pcap"
RECAP_PID=$BG_PID
sleep 1
vm 1 ping -n -c 3 -i 0.2 "$NET_A.2" >/dev/null || true
wait_pid "$RECAP_PID" 20 || fail "the capture over an earlier one did not finish"
assert_eq "$(tshark -r "$TMP/cap-uplink.pcap" 2>/dev/null | wc -l)" 2 \
    "an earlier capture file is written over (2 frames now)"
vesperd_alive || fail "vesperd died"
