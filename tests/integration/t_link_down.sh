#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# (i) Link down: when vm1's veth goes down (carrier loss on the host end that
# vesperd binds), vm1's FDB entries are flushed within 2 s and the port is
# reported down; after it comes back up, ping works again.
. "$(dirname "$0")/lib.sh"

vm_add 1 "$NET_A.1/24"
vm_add 2 "$NET_A.2/24"
start_vesperd
ctl_ok switch add sw --type private
vm_attach 1 sw
vm_attach 2 sw
assert_ping 1 "$NET_A.2" 3
fdb_has sw "$(mac_of 1)" vm1 || fail "vm1's MAC not learned"
fdb_has sw "$(mac_of 2)" vm2 || fail "vm2's MAC not learned"
ok "vm1 and vm2 learned"
assert_eq "$(port_link vm1)" up "vm1 link up"

must ip -n "vt$VT_ID-vm1" link set "vt$VT_ID-v1" down
t0=$(date +%s%N)
ip -o link show "vt$VT_ID-h1"
if ! wait_for "[ \"\$(fdb_count sw vm1)\" = 0 ]" 2; then
    fdb_json sw
    fail "vm1's FDB entries still there 2 s after its link went down"
fi
ms=$((($(date +%s%N) - t0) / 1000000))
ok "vm1's FDB entries flushed ${ms} ms after link down"
fdb_has sw "$(mac_of 2)" vm2 || fail "vm2's entry was flushed too"
ok "vm2's entry kept"
wait_for "[ \"\$(port_link vm1)\" = down ]" 2 ||
    fail "port vm1 still reported link $(port_link vm1) 2 s after carrier loss"
ok "port list reports vm1 down"
assert_eq "$(port_link vm2)" up "vm2 still up"

must ip -n "vt$VT_ID-vm1" link set "vt$VT_ID-v1" up
wait_for "[ \"\$(port_link vm1)\" = up ]" 5 ||
    fail "port vm1 not reported up 5 s after the link came back"
ok "port list reports vm1 up again"
assert_ping 1 "$NET_A.2" 5
assert_ping 2 "$NET_A.1" 5
fdb_has sw "$(mac_of 1)" vm1 || fail "vm1's MAC not learned again after link up"
ok "vm1's MAC learned again"
