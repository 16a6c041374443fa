#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Kernel NIC state: what vesperd changes on a kernel NIC it binds (sets it up
# and promiscuous, switches its IPv6 off: net.ipv6.conf.IF.disable_ipv6,
# keeps the host's IPv4 off it: net.ipv4.conf.IF.arp_ignore and rp_filter
# 1, and its receive offloads that merge frames: GRO, LRO, hardware GRO) is given
# back when it lets go of the NIC, and a failed bind changes nothing.
# Each NIC is a veth in the root namespace (where vesperd runs), GRO on
# (`ethtool -K IF gro on`: a physical NIC's default; LRO and hardware GRO
# are fixed off on a veth), its peer up in a namespace of the test; its
# state is read with `ip -j -d link show` (flags UP and PROMISC, the
# promiscuity count), from the sysctl and with `ethtool -k`
# (generic-receive-offload), so every "as before" below includes GRO on.
#  (a) a NIC down, not promiscuous, IPv6 on with an address set by hand,
#      GRO on: as the uplink of an external switch (switch add --uplink) it
#      is up, promiscuous, IPv6 off (the address gone), GRO off; after
#      switch del exactly as before, the address back.  The same for a
#      dpdk port with net_af_packet devargs (port add / port del).
#  (b) a NIC already up and promiscuous, IPv6 off, GRO off, arp_ignore 2
#      (stricter than vesperd's 1: kept while bound) and rp_filter 2
#      (loose: 1 while bound), is so again after switch del; one up but not promiscuous, IPv6 on, GRO on, goes back
#      to just that.
#  (c) failed binds leave the NIC as it was: a dpdk port whose af_packet
#      device the PMD refuses (qpairs=0) after vesperd set the NIC up and
#      promiscuous and turned its GRO off; a switch add whose host vNIC cannot be created (its name
#      is taken by a veth) after its uplink was opened, set up and isolated
#      (the transaction closes the uplink again).
#  (d) vesperd stopping (SIGTERM) gives a bound NIC back too.
#  (e) vesperd killed with SIGKILL while it holds a NIC: the NIC stays
#      changed (the process is gone), but its state before the binding is
#      on disk beside the socket (vesperd.nics/nic-IFINDEX; GRO on:
#      rx-gro=1), and the next
#      vesperd gives it back before it replays its configuration: with the
#      same configuration the NIC is bound again and a later switch del
#      gives back the state before the FIRST binding; with a configuration
#      without the NIC it is given back at start-up, its IPv6 address
#      set by hand and its GRO too.  The record is gone
#      once the NIC is given back, and a second vesperd on the same socket
#      is refused (it would take the first one's records for leftovers).
#  (f) two vesperds (two sockets): a NIC one of them holds is refused to the
#      other, naming the holder's pid (/run/vesper/nic-claims), and the
#      other's stop leaves it bound; its claim is gone with its release.
. "$(dirname "$0")/lib.sh"

PHYS=vt$VT_ID-phys

# nic NAME: veth vt$VT_ID-NAME, down, IPv6 on, GRO on, arp_ignore and
# rp_filter 0; its peer up in $PHYS.
nic() {
    local ifc=vt$VT_ID-$1
    must ip link add "$ifc" type veth peer name "${ifc}p" netns "$PHYS"
    VT_LINKS+=("$ifc")
    must ip -n "$PHYS" link set "${ifc}p" up
    if [ -e "/proc/sys/net/ipv6/conf/$ifc/disable_ipv6" ]; then
        must sysctl -qw "net.ipv6.conf.$ifc.disable_ipv6=0"
    fi
    must ethtool -K "$ifc" gro on
    must sysctl -qw "net.ipv4.conf.$ifc.arp_ignore=0" \
        "net.ipv4.conf.$ifc.rp_filter=0"
}

# nic_state NAME: "up|down promisc|nopromisc promiscuity=N disable_ipv6=V
# gro=on|off arp_ignore=A rp_filter=R" (V "none" on a host without IPv6;
# gro: ethtool -k's generic-receive-offload).
nic_state() {
    local ifc=vt$VT_ID-$1 j v g a
    j=$(ip -j -d link show dev "$ifc" 2>/dev/null) || { echo absent; return; }
    v=$(cat "/proc/sys/net/ipv6/conf/$ifc/disable_ipv6" 2>/dev/null || echo none)
    a="arp_ignore=$(sysctl -n "net.ipv4.conf.$ifc.arp_ignore" 2>/dev/null)"
    a+=" rp_filter=$(sysctl -n "net.ipv4.conf.$ifc.rp_filter" 2>/dev/null)"
    g=$(ethtool -k "$ifc" 2>/dev/null |
        sed -n 's/^generic-receive-offload: \([a-z]*\).*/\1/p')
    jq -r --arg v "$v" --arg g "${g:-unknown}" --arg a "$a" '.[0] |
        (if any(.flags[]; . == "UP") then "up" else "down" end) + " " +
        (if any(.flags[]; . == "PROMISC") then "promisc" else "nopromisc" end) +
        " promiscuity=\(.promiscuity) disable_ipv6=\($v) gro=\($g) \($a)"' \
        <<<"$j"
}

# ipv6_off: what disable_ipv6 reads while vesperd holds a NIC.
ipv6_off=1
[ -d /proc/sys/net/ipv6/conf ] || ipv6_off=none

# v6_of NAME: vt$VT_ID-NAME's global IPv6 addresses, sorted ("" if none).
v6_of() {
    ip -j -6 addr show dev "vt$VT_ID-$1" scope global 2>/dev/null |
        jq -r '[.[0].addr_info[]? | "\(.local)/\(.prefixlen)"] | sort | join(" ")'
}

# assert_bound NAME WHAT [V4]: up, promiscuous, IPv6 off, GRO off, the
# host's IPv4 kept off it: V4, by default "arp_ignore=1 rp_filter=1" (an
# arp_ignore of 2 or 8 the operator set stays).
assert_bound() {
    local s v4=${3:-arp_ignore=1 rp_filter=1}
    s=$(nic_state "$1")
    [[ "$s" =~ ^up\ promisc\ promiscuity=[1-9][0-9]*\ disable_ipv6=$ipv6_off\ gro=off\ $v4$ ]] ||
        fail "$2: vt$VT_ID-$1 is '$s', expected up, promiscuous, disable_ipv6=$ipv6_off, gro=off, $v4"
    ok "$2: vt$VT_ID-$1 $s"
}

# refused WHAT ARGS...: a vesperctl call that vesperd must refuse (exit 1);
# its message in $REFUSED.
refused() {
    local what=$1 rc
    shift
    REFUSED=$(ctl "$@" 2>&1)
    rc=$?
    log "vesperctl $* -> exit $rc: $REFUSED"
    assert_eq "$rc" 1 "$what is refused"
}

make_ns phys
for n in a b c d e; do nic "$n"; done
start_vesperd

# ---- (a) a NIC down, not promiscuous, IPv6 on ------------------------------
before=$(nic_state a)
[[ "$before" == "down nopromisc promiscuity=0 "*" gro=on arp_ignore=0 rp_filter=0" ]] ||
    fail "vt$VT_ID-a is not down, non-promiscuous, GRO on to begin with: $before"
# an IPv6 address set by hand, which disable_ipv6 drops while bound
v6_before=""
if [ "$ipv6_off" = 1 ]; then
    must ip -6 addr add 2001:db8:77::1/64 dev "vt$VT_ID-a" nodad
    v6_before=$(v6_of a)
    assert_eq "$v6_before" "2001:db8:77::1/64" "vt$VT_ID-a has its IPv6 address"
fi
log "vt$VT_ID-a before: $before${v6_before:+, $v6_before}"
ctl_ok switch add ext --type external --uplink "vt$VT_ID-a"
assert_bound a "uplink of ext"
assert_eq "$(v6_of a)" "" "bound: vt$VT_ID-a has no global IPv6 address"
ctl_ok switch del ext
assert_eq "$(nic_state a)" "$before" "switch del: vt$VT_ID-a as before"
assert_eq "$(v6_of a)" "$v6_before" "switch del: vt$VT_ID-a's IPv6 address is back"

ctl_ok switch add lab --type private
ctl_ok port add p1 --switch lab --class dpdk \
    --devargs "net_af_packet_vt$VT_ID,iface=vt$VT_ID-a"
assert_bound a "dpdk port p1 (net_af_packet)"
ctl_ok port del p1
assert_eq "$(nic_state a)" "$before" "port del: vt$VT_ID-a as before"

# ---- (b) a NIC already up and promiscuous (IPv6 off, GRO off, arp_ignore
# and rp_filter 2); one up only
must ip link set "vt$VT_ID-b" up promisc on
[ "$ipv6_off" = none ] || must sysctl -qw "net.ipv6.conf.vt$VT_ID-b.disable_ipv6=1"
must ethtool -K "vt$VT_ID-b" gro off
must sysctl -qw "net.ipv4.conf.vt$VT_ID-b.arp_ignore=2" \
    "net.ipv4.conf.vt$VT_ID-b.rp_filter=2"
before_b=$(nic_state b)
[[ "$before_b" == "up promisc promiscuity=1 "*" gro=off arp_ignore=2 rp_filter=2" ]] ||
    fail "vt$VT_ID-b is not up, promiscuous, GRO off to begin with: $before_b"
must ip link set "vt$VT_ID-c" up
before_c=$(nic_state c)
[[ "$before_c" == "up nopromisc promiscuity=0 "*" gro=on arp_ignore=0 rp_filter=0" ]] ||
    fail "vt$VT_ID-c is not up, non-promiscuous, GRO on to begin with: $before_c"
ctl_ok switch add extb --type external --uplink "vt$VT_ID-b"
ctl_ok switch add extc --type external --uplink "vt$VT_ID-c"
assert_bound b "uplink of extb" "arp_ignore=2 rp_filter=1"
assert_bound c "uplink of extc"
ctl_ok switch del extb
ctl_ok switch del extc
assert_eq "$(nic_state b)" "$before_b" "switch del: vt$VT_ID-b still up and promiscuous, GRO off"
assert_eq "$(nic_state c)" "$before_c" "switch del: vt$VT_ID-c up, not promiscuous, GRO on again"

# ---- (c) failed binds ------------------------------------------------------
before_d=$(nic_state d)
before_e=$(nic_state e)
[[ "$before_d" == "down nopromisc promiscuity=0 "*" gro=on arp_ignore=0 rp_filter=0" ]] ||
    fail "vt$VT_ID-d is not down, non-promiscuous, GRO on to begin with: $before_d"
# the af_packet PMD refuses qpairs=0 when the device is probed, after
# vesperd set the NIC up and promiscuous
refused "a dpdk port with a refused af_packet device" port add bad --switch lab \
    --class dpdk --devargs "net_af_packet_vt$VT_ID,iface=vt$VT_ID-d,qpairs=0"
assert_contains "$REFUSED" "could not be created" "the open failed at the af_packet device"
assert_eq "$(nic_state d)" "$before_d" "failed port add: vt$VT_ID-d as before"
assert_not_contains "$(ctl port list)" bad "no port 'bad'"

# the uplink (first in the transaction) is opened, set up and isolated; the
# host vNIC's TAP cannot take the name of an existing veth: all undone
refused "a switch whose host vNIC cannot be created" switch add extd \
    --type external --uplink "vt$VT_ID-d" --management-os \
    --host-ifname "vt$VT_ID-e"
grep -q "port extd.uplink opened" "$TMP/vesperd.log" ||
    fail "the uplink of extd was not opened before the transaction failed"
ok "the uplink of extd was opened before the transaction failed"
assert_eq "$(nic_state d)" "$before_d" "failed switch add: vt$VT_ID-d as before"
assert_eq "$(nic_state e)" "$before_e" "failed switch add: vt$VT_ID-e as before"
assert_not_contains "$(ctl switch list)" extd "no switch 'extd'"

# ---- (d) vesperd stops ------------------------------------------------------
ctl_ok switch add ext --type external --uplink "vt$VT_ID-a"
assert_bound a "uplink of ext (before vesperd stops)"
stop_vesperd
assert_eq "$VESPERD_STATUS" 0 "vesperd exit status"
assert_eq "$(nic_state a)" "$before" "vesperd stopped: vt$VT_ID-a as before"

# ---- (e) vesperd killed (SIGKILL) while it holds a NIC ------------------------
# What the NIC was before is also on disk (beside the socket:
# vesperd.nics/nic-IFINDEX) for as long as a port holds it; the next vesperd
# gives such NICs back before it replays its configuration.
NICDIR=${VT_SOCK%.sock}.nics
entries() { find "$NICDIR" -name 'nic-*' 2>/dev/null | wc -l; }
assert_eq "$(entries)" 0 "no NIC recorded once vesperd stopped cleanly"
start_vesperd # the configuration still has ext on vt-a: bound again
assert_bound a "uplink of ext after the restart"
assert_eq "$(entries)" 1 "vt$VT_ID-a recorded while held"
grep -q "^ifname=vt$VT_ID-a$" "$NICDIR/nic-$(cat /sys/class/net/vt$VT_ID-a/ifindex)" ||
    fail "the record is not vt$VT_ID-a's: $(cat "$NICDIR"/nic-* 2>&1)"
grep -qx "rx-gro=1" "$NICDIR/nic-$(cat /sys/class/net/vt$VT_ID-a/ifindex)" ||
    fail "the record does not say GRO was on: $(cat "$NICDIR"/nic-* 2>&1)"
ok "the record says GRO was on"
kill9_vesperd
assert_bound a "SIGKILL: nothing given back by the dead process"
# (e1) the same configuration: given back, then bound again, so that the
# record is the state before the first binding, not the crashed one
start_vesperd
grep -q "NIC vt$VT_ID-a given back as it was before" "$TMP/vesperd.log" ||
    fail "the restarted vesperd did not give vt$VT_ID-a back"
ok "the restarted vesperd gave vt$VT_ID-a back before binding it again"
assert_bound a "uplink of ext after the restart that followed SIGKILL"
ctl_ok switch del ext
assert_eq "$(nic_state a)" "$before" "SIGKILL, restart, switch del: vt$VT_ID-a as before"
assert_eq "$(entries)" 0 "record removed once vt$VT_ID-a was given back"
# (e2) killed again; the next vesperd's configuration does not have the
# NIC any more: given back at start-up
ctl_ok switch add ext --type external --uplink "vt$VT_ID-a"
assert_bound a "uplink of ext (before the second SIGKILL)"
kill9_vesperd
VT_CONFIG=$TMP/other.json
start_vesperd
assert_eq "$(nic_state a)" "$before" "SIGKILL, vesperd without the switch: vt$VT_ID-a as before"
assert_eq "$(v6_of a)" "$v6_before" "SIGKILL, vesperd without the switch: vt$VT_ID-a's IPv6 address is back"
assert_eq "$(entries)" 0 "no record left"
# (e3) a second vesperd on the same socket is refused before it touches
# anything: its start-up would take the first one's records for leftovers
out=$(timeout 60 "$VESPERD" --config "$TMP/third.json" --socket "$VT_SOCK" \
    --vm-dir "$TMP/third-vm" --cores 0,1 --file-prefix "${VT_PREFIX}x" $([ "${VT_NO_HUGE:-0}" = 1 ] && echo --no-huge) 2>&1)
rc=$?
left=()
for f in "/var/run/dpdk/${VT_PREFIX}x" "$TMP/third-vm/.lock" "$TMP/third.json.lock"; do
    [ -e "$f" ] && left+=("$f")
done
rm -rf "/var/run/dpdk/${VT_PREFIX}x" # its EAL's runtime files (no-huge mode)
log "second vesperd on $VT_SOCK -> exit $rc: $(tail -1 <<<"$out")"
assert_eq "$rc" 1 "a second vesperd on the same socket exits 1"
assert_contains "$out" "another vesperd is running with the NIC state directory" "it says why"
# before it changes anything (README): it left its VM directory's and its
# configuration's lock files and DPDK's runtime directory behind, and
# logged that it would start from the default configuration
assert_eq "${left[*]}" "" "the refused vesperd leaves no lock file or DPDK runtime directory"
assert_not_contains "$out" "starting from the default configuration" \
    "the refused vesperd does not say it would start from the defaults"
vesperd_alive || fail "the first vesperd died"
ctl_ok info
# (e4) nor on the same configuration file with another socket and VM
# directory (both would save into it), (e5) nor on the same VM socket
# directory (each would replace the other's partition sockets)
second_vesperd() { # CONFIG SOCKET VMDIR
    out=$(timeout 60 "$VESPERD" --config "$1" --socket "$2" --vm-dir "$3" \
        --cores 0,1 --file-prefix "${VT_PREFIX}x" \
        $([ "${VT_NO_HUGE:-0}" = 1 ] && echo --no-huge) 2>&1)
    rc=$?
    rm -rf "/var/run/dpdk/${VT_PREFIX}x"
    log "second vesperd ($1, $2, $3) -> exit $rc: $(tail -1 <<<"$out")"
}
cfg_before=$(cat "$VT_CONFIG")
second_vesperd "$VT_CONFIG" "$TMP/second.sock" "$TMP/second-vm"
assert_eq "$rc" 1 "a second vesperd on the same configuration exits 1"
assert_contains "$out" "another vesperd is running with the configuration $VT_CONFIG" "it names the file"
assert_eq "$(cat "$VT_CONFIG")" "$cfg_before" "the configuration file is untouched"
[ -e "$TMP/second.sock" ] && fail "the refused vesperd made its socket"
second_vesperd "$TMP/third.json" "$TMP/second.sock" "$TMP/vm" # the first one's
assert_eq "$rc" 1 "a second vesperd on the same VM socket directory exits 1"
assert_contains "$out" "with the VM socket directory $TMP/vm" "it names the directory"
vesperd_alive || fail "the first vesperd died"
ctl_ok info
ok "kernel NICs given back after SIGKILL"

# ---- (f) two vesperds (two sockets): one NIC, one vesperd -------------------
# A second vesperd with its own socket, configuration and VM directory runs
# beside the first.  It cannot bind the NIC the first one holds: its
# switch add is refused naming the first one's pid, and its stop gives
# nothing back under the first one (both used to bind the NIC, and the
# second one's release undid the first one's settings under it).
ctl_ok switch add ext --type external --uplink "vt$VT_ID-a"
assert_bound a "uplink of ext, held by the first vesperd"
write_empty_config_to() { printf '{\n  "version": 1,\n  "switches": [],\n  "ports": [],\n  "fdb_static": []\n}\n' >"$1"; }
write_empty_config_to "$TMP/fourth.json"
asan_env=()
[ "$VT_ASAN" = 1 ] &&
    asan_env=("ASAN_OPTIONS=${VT_VESPERD_ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1}")
env "${asan_env[@]}" "$VESPERD" --config "$TMP/fourth.json" --socket "$TMP/fourth.sock" \
    --vm-dir "$TMP/fourth-vm" --cores 0,1 --file-prefix "${VT_PREFIX}y" \
    $([ "${VT_NO_HUGE:-0}" = 1 ] && echo --no-huge) >>"$TMP/vesperd-fourth.log" 2>&1 &
pid4=$!
VT_PIDS+=("$pid4")
ctl4() { "$VESPERCTL" --socket "$TMP/fourth.sock" "$@"; }
wait_for "ctl4 --timeout 2 info" 30 || {
    tail -20 "$TMP/vesperd-fourth.log"
    fail "the second vesperd did not answer within 30 s"
}
out=$(ctl4 switch add ext4 --type external --uplink "vt$VT_ID-a" 2>&1)
rc=$?
log "second vesperd: switch add ext4 --uplink vt$VT_ID-a -> exit $rc: $out"
assert_eq "$rc" 1 "the second vesperd's binding of the first one's NIC is refused"
assert_contains "$out" "kernel NIC vt$VT_ID-a (ifindex $(cat /sys/class/net/vt$VT_ID-a/ifindex)) is bound by another vesperd (pid $VT_VESPERD_PID)" \
    "it names the NIC and the vesperd holding it"
assert_not_contains "$(ctl4 switch list)" ext4 "no switch 'ext4' in the second vesperd"
assert_bound a "after the second vesperd's refused binding"
# a NIC nobody holds: the second one binds it, the first one cannot
ctl4 switch add ext4 --type external --uplink "vt$VT_ID-b" >/dev/null ||
    fail "the second vesperd cannot bind the free vt$VT_ID-b"
refused "a NIC the second vesperd holds" switch add extb --type external --uplink "vt$VT_ID-b"
assert_contains "$REFUSED" "is bound by another vesperd (pid $pid4)" "the first one is told who holds it"
kill -TERM "$pid4"
wait "$pid4"
rc=$?
assert_eq "$rc" 0 "the second vesperd stops cleanly"
rm -rf "/var/run/dpdk/${VT_PREFIX}y" # its EAL's runtime files (no-huge mode)
assert_bound a "the second vesperd stopped: the first one's NIC is still bound"
assert_eq "$(nic_state b)" "$before_b" "the second vesperd stopped: vt$VT_ID-b as before"
ctl_ok switch del ext
assert_eq "$(nic_state a)" "$before" "switch del in the first vesperd: vt$VT_ID-a as before"
[ -e "/run/vesper/nic-claims/$(stat -Lc %i /proc/self/ns/net)-$(cat /sys/class/net/vt$VT_ID-a/ifindex)" ] &&
    fail "the claim of vt$VT_ID-a is left after its release"
ok "one vesperd per kernel NIC"
