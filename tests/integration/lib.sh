# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
#
# lib.sh — shared helpers for the integration tests (tests/integration/t_*.sh).
#
# A test script is run as `bash t_NAME.sh BUILD_DIR` (by run.sh, as root) and
# starts with `. "$(dirname "$0")/lib.sh"`.  Sourcing this file:
#   * finds vesperd and vesperctl in BUILD_DIR,
#   * reserves a short id ($VT_ID, two hex digits) so every network namespace,
#     veth and TAP the test makes is named vt$VT_ID-... (or vt${VT_ID}h for a
#     host vNIC) and collides neither with the host nor with a concurrent run,
#   * makes a private temp dir $TMP (config, socket, logs, captures),
#   * installs an EXIT trap that always cleans up: processes by pid, vesperd,
#     the namespaces and links it made, the id reservation.
#
# Addresses derive from the id too ($NET_A = 10.77.<n>, $NET_B = 10.78.<n>,
# $NET_C = 10.79.<n>, n = decimal id), so a TAP in the root namespace never
# shadows another run's route.  These are addresses of our own namespaces only.

set -u -o pipefail

# ---- locations -------------------------------------------------------------

VT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# Debian's python3 (a version-manager shim on PATH can take seconds a call)
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)
BUILD=${1:-${VT_BUILD:-}}
if [ -z "$BUILD" ] || [ ! -d "$BUILD" ]; then
    echo "usage: $0 BUILD_DIR" >&2
    exit 2
fi
BUILD=$(cd "$BUILD" && pwd)
VESPERD=$BUILD/tools/vesperd/vesperd
VESPERCTL=$BUILD/tools/vesperctl/vesperctl
VT_NAME=$(basename "$0" .sh)
VT_LOGDIR=${VT_LOGDIR:-$BUILD/integration-logs}
mkdir -p "$VT_LOGDIR"
case "$(basename "$BUILD")" in
    *asan*) VT_ASAN=1 ;;
    *) VT_ASAN=0 ;;
esac

# ---- logging and assertions ------------------------------------------------

VT_T0=$(date +%s.%N)
log() {
    printf '[%s] %s\n' "$(awk -v a="$(date +%s.%N)" -v b="$VT_T0" \
        'BEGIN { printf "%6.2f", a - b }')" "$*"
}

# fail MSG: the test fails here (the EXIT trap cleans up).
fail() {
    echo "FAIL: $*"
    VT_FAILED=1
    exit 1
}

ok() { log "ok: $*"; }

# soft ASSERTION...: an assertion whose failure is recorded but does not stop
# the test (so that the checks after it still run); the test fails at exit.
VT_SOFT=()
soft() {
    ( "$@" ) || VT_SOFT+=("$*")
}

# must CMD...: runs a set-up command; the test fails if it fails.
must() {
    local out rc
    out=$("$@" 2>&1)
    rc=$?
    if [ $rc -ne 0 ]; then
        echo "$out"
        fail "command failed (exit $rc): $*"
    fi
    [ -z "$out" ] || printf '%s\n' "$out"
    return 0
}

assert_eq() { # ACTUAL EXPECTED MSG
    [ "$1" = "$2" ] || fail "$3: expected '$2', got '$1'"
    ok "$3 ($1)"
}

assert_ne() { # ACTUAL UNEXPECTED MSG
    [ "$1" != "$2" ] || fail "$3: got '$1'"
    ok "$3"
}

assert_contains() { # HAYSTACK NEEDLE MSG  (fixed string)
    if ! grep -qF -- "$2" <<<"$1"; then
        printf '%s\n' "$1" | head -50
        fail "$3: '$2' not found in the output above"
    fi
    ok "$3"
}

assert_match() { # HAYSTACK ERE MSG  (extended regex, case-insensitive)
    if ! grep -qiE -- "$2" <<<"$1"; then
        printf '%s\n' "$1" | head -50
        fail "$3: /$2/ does not match the output above"
    fi
    ok "$3"
}

assert_not_contains() { # HAYSTACK NEEDLE MSG
    if grep -qF -- "$2" <<<"$1"; then
        printf '%s\n' "$1" | head -50
        fail "$3: '$2' found in the output above"
    fi
    ok "$3"
}

# is_num X: X is a number (integer or decimal, optional sign and exponent:
# what jq, awk and $((...)) print).  "null", "" or text is not: awk would
# read each of them as 0.
is_num() {
    [[ $1 =~ ^[-+]?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$ ]]
}

# vt_num_args A B MSG: fails the test unless A and B are both numbers.
vt_num_args() {
    is_num "$1" || fail "$3: '$1' is not a number"
    is_num "$2" || fail "$3: the bound '$2' is not a number"
}

# need_nums MSG X...: fails the test unless every X is a number.  For
# counters that go into $((...)), where "null" or "" would read as 0.
need_nums() {
    local msg=$1 x
    shift
    for x; do
        is_num "$x" || fail "$msg: '$x' is not a number"
    done
}

assert_gt() { # A B MSG  (numeric, A > B; decimals allowed)
    vt_num_args "$@"
    awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 > b + 0) }' ||
        fail "$3: expected > $2, got '$1'"
    ok "$3 ($1 > $2)"
}

assert_le() { # A B MSG  (numeric, A <= B; decimals allowed)
    vt_num_args "$@"
    awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 <= b + 0) }' ||
        fail "$3: expected <= $2, got '$1'"
    ok "$3 ($1 <= $2)"
}

# wait_for CMD TIMEOUT: evaluates CMD (a string) every 0.2 s until it
# succeeds; returns 1 after TIMEOUT seconds.
wait_for() {
    local cmd=$1 timeout=${2:-10}
    local end
    end=$(($(date +%s%N) + timeout * 1000000000))
    while :; do
        if eval "$cmd" >/dev/null 2>&1; then
            return 0
        fi
        [ "$(date +%s%N)" -lt "$end" ] || return 1
        sleep 0.2
    done
}

# ---- id reservation, temp dir, cleanup --------------------------------------

VT_IDS=/tmp/vesper-integ-ids
VT_PIDS=()       # background processes to kill at exit
VT_NETNS=()      # namespaces we made
VT_LINKS=()      # root-namespace links we made
VT_MOUNTS=()     # mounts we made (under $TMP), unmounted before it goes
VT_VESPERD_PID=
VT_FAILED=0
VT_ID=
TMP=             # set below; vt_cleanup removes it, so never from the caller

# vt_sweep PREFIX: removes namespaces and root links whose names belong to
# PREFIX (vtNN-*, vtNNh), killing processes inside those namespaces by pid.
vt_sweep() {
    local p=$1 ns l pid
    for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
        case "$ns" in
            "$p"-*)
                for pid in $(ip netns pids "$ns" 2>/dev/null); do
                    kill -9 "$pid" 2>/dev/null
                done
                ip netns del "$ns" 2>/dev/null
                ;;
        esac
    done
    for l in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' |
               sed 's/@.*//'); do
        case "$l" in
            "$p"-*|"$p"h) ip link del "$l" 2>/dev/null ;;
        esac
    done
}

vt_alloc_id() {
    local fd id d p try
    mkdir -p "$VT_IDS"
    exec {fd}>"$VT_IDS/.lock"
    flock "$fd"
    for try in $(seq 1 512); do
        id=$(printf '%02x' $(( (RANDOM + try) % 256 )))
        d=$VT_IDS/$id
        if [ -d "$d" ]; then
            p=$(cat "$d/pid" 2>/dev/null || true)
            if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then
                continue
            fi
            # stale reservation (its owner died): reclaim it
            vt_sweep "vt$id"
            rm -rf "$d"
        fi
        # also skip ids whose names are in use by something else
        if ip netns list 2>/dev/null | grep -q "^vt$id-" ||
           ip -o link show 2>/dev/null | grep -qE ": vt$id(-|h[:@])"; then
            continue
        fi
        mkdir "$d" && echo $$ > "$d/pid" && VT_ID=$id && break
    done
    flock -u "$fd"
    exec {fd}>&-
    [ -n "$VT_ID" ] || { echo "FAIL: no free test id" >&2; exit 1; }
}

vt_cleanup() {
    local rc=$? pid ns l
    trap - EXIT INT TERM
    set +e
    [ "$VT_FAILED" = 1 ] && rc=1
    if [ ${#VT_SOFT[@]} -gt 0 ]; then
        rc=1
        for l in "${VT_SOFT[@]}"; do
            echo "FAIL (the test went on after it): $l"
        done
    fi
    for pid in "${VT_PIDS[@]}"; do
        kill "$pid" 2>/dev/null
    done
    stop_vesperd >/dev/null 2>&1
    sleep 0.2
    for pid in "${VT_PIDS[@]}"; do
        kill -9 "$pid" 2>/dev/null
    done
    for ns in "${VT_NETNS[@]}"; do
        for pid in $(ip netns pids "$ns" 2>/dev/null); do
            kill -9 "$pid" 2>/dev/null
        done
        ip netns del "$ns" 2>/dev/null
    done
    for l in "${VT_LINKS[@]}"; do
        ip link del "$l" 2>/dev/null
    done
    [ -n "$VT_ID" ] && vt_sweep "vt$VT_ID"
    # DPDK runtime files of our --file-prefix (no-huge mode), and those of a
    # DPDK guest a test ran (--file-prefix $VT_PREFIX-guest: its hugepage
    # files too, if it was killed)
    if [ -n "${VT_PREFIX:-}" ]; then
        rm -rf "/var/run/dpdk/$VT_PREFIX" "/var/run/dpdk/$VT_PREFIX-guest"
        rm -f "/dev/hugepages/$VT_PREFIX-guest"*
    fi
    # a sanitizer report fails the test whatever else passed: from vesperd,
    # or from any other program of ours whose output went to a file here
    # (vesperctl, vesper-guest, hostile_guest: their exit status alone can
    # read as an expected refusal); under ASan every vesperctl's stderr is
    # in vesperctl-stderr.log (the wrapper below)
    local f
    for f in "${TMP:-/nonexistent}"/*.log "${TMP:-/nonexistent}"/*.out \
             "${TMP:-/nonexistent}"/*.err; do
        [ -f "$f" ] || continue
        if grep -qE 'ERROR: (Address|Leak|Thread|Memory)Sanitizer|runtime error:' "$f"; then
            echo "FAIL: sanitizer report in ${f#"$TMP"/}:"
            grep -m5 -E 'ERROR: [A-Za-z]+Sanitizer|runtime error:|SUMMARY:' "$f"
            rc=1
        fi
    done
    if [ -n "${TMP:-}" ] && [ -d "$TMP" ]; then
        if [ -f "$TMP/vesperd.log" ]; then
            cp "$TMP/vesperd.log" "$VT_LOGDIR/$VT_NAME.vesperd.log"
        fi
        if [ "$rc" -ne 0 ]; then
            rm -rf "$VT_LOGDIR/$VT_NAME.tmp"
            cp -r "$TMP" "$VT_LOGDIR/$VT_NAME.tmp" 2>/dev/null
        fi
        for l in "${VT_MOUNTS[@]}"; do
            umount -l "$l" 2>/dev/null
        done
        rm -rf "$TMP"
    fi
    [ -n "$VT_ID" ] && rm -rf "${VT_IDS:?}/$VT_ID"
    if [ "$rc" -eq 0 ]; then
        log "$VT_NAME: PASS"
    else
        log "$VT_NAME: FAIL (exit $rc)"
    fi
    exit "$rc"
}

if [ "$(id -u)" -ne 0 ]; then
    echo "SKIP: needs root (network namespaces)"
    exit 77
fi
for f in "$VESPERD" "$VESPERCTL"; do
    [ -x "$f" ] || { echo "FAIL: $f is missing (build first)"; exit 1; }
done
trap vt_cleanup EXIT
trap 'VT_FAILED=1; echo "FAIL: interrupted (timeout?)"; exit 1' INT TERM
vt_alloc_id
VT_IDN=$((16#$VT_ID))
NET_A=10.77.$VT_IDN
NET_B=10.78.$VT_IDN
NET_C=10.79.$VT_IDN
TMP=$(mktemp -d "/tmp/vesper-integ.$VT_NAME.XXXXXX")
VT_PREFIX=vt$$
log "$VT_NAME: build $BUILD, id $VT_ID, tmp $TMP"
# Under ASan + UBSan, $VESPERCTL is a wrapper that runs vesperctl with its
# stderr also appended to $TMP/vesperctl-stderr.log, which vt_cleanup scans
# for sanitizer reports: however a test runs it and wherever its stderr goes
# (a variable, /dev/null, a file), and whatever its exit status (an
# expected refusal's exit 1 hides a report otherwise).  The wrapper execs
# vesperctl, so a background one's pid is vesperctl's own.  (log_path in
# ASAN_OPTIONS would not do: GCC's UBSan writes to stderr regardless.)
# The tee runs beside vesperctl and can write a moment after vesperctl has
# exited: a test that reads a file vesperctl's stderr was redirected to, as
# soon as vesperctl is gone, runs $VESPERCTL_BIN instead (the file is
# scanned all the same: *.err, *.out, *.log).
VESPERCTL_BIN=$VESPERCTL
if [ "$VT_ASAN" = 1 ]; then
    mkdir -p "$TMP/bin"
    printf '#!/bin/bash\nexec 2> >(tee -a %q >&2)\nexec %q "$@"\n' \
        "$TMP/vesperctl-stderr.log" "$VESPERCTL" >"$TMP/bin/vesperctl"
    chmod +x "$TMP/bin/vesperctl"
    VESPERCTL=$TMP/bin/vesperctl
fi

# mac_of N: the fixed MAC of VM N.
mac_of() { printf '02:76:%s:00:00:%02x' "$VT_ID" "$1"; }

# ---- processes ---------------------------------------------------------------

# bg LOGFILE CMD...: starts CMD (an external command, or "vm N CMD...") in the
# background, output to LOGFILE; the pid is in $BG_PID and is killed at exit.
bg() {
    local logf=$1
    shift
    # a function would run in a subshell whose pid is not the command's:
    # spell "vm N CMD" out so that $BG_PID is the command itself
    if [ "$1" = vm ]; then
        set -- ip netns exec "vt$VT_ID-vm$2" "${@:3}"
    fi
    "$@" >"$logf" 2>&1 &
    BG_PID=$!
    VT_PIDS+=("$BG_PID")
}

# wait_pid PID TIMEOUT: waits for a background child; returns its status,
# or 124 (and kills it) after TIMEOUT seconds.
wait_pid() {
    local pid=$1 timeout=$2 i
    for ((i = 0; i < timeout * 10; i++)); do
        if ! kill -0 "$pid" 2>/dev/null; then
            wait "$pid"
            return $?
        fi
        sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 124
}

# ---- vesperd -------------------------------------------------------------------

VT_CONFIG=$TMP/config.json
VT_SOCK=$TMP/vesperd.sock

ctl() {
    "$VESPERCTL" --socket "$VT_SOCK" "$@"
}

# ctl_q ARGS...: vesperctl for a helper that reads a value (stat_of,
# fdb_count, ...): stdout as is, stderr and a non-zero exit appended to
# $VT_CTL_ERR (scanned for sanitizer reports at exit, kept with the logs of
# a failed test).  The caller judges the value: an empty one is no number.
VT_CTL_ERR=$TMP/vesperctl-helpers.log
ctl_q() {
    local rc
    "$VESPERCTL" --socket "$VT_SOCK" "$@" 2>>"$VT_CTL_ERR"
    rc=$?
    [ $rc -eq 0 ] || echo "[$(date +%T.%N)] vesperctl $*: exit $rc" >>"$VT_CTL_ERR"
    return $rc
}

# ctl_json ARGS...: vesperctl --json; fails the test if the call fails.
ctl_json() {
    local out
    if ! out=$("$VESPERCTL" --socket "$VT_SOCK" --json "$@" 2>&1); then
        echo "$out"
        fail "vesperctl $* failed"
    fi
    printf '%s\n' "$out"
}

# ctl_ok ARGS...: a vesperctl call that must succeed.
ctl_ok() {
    local out
    if ! out=$("$VESPERCTL" --socket "$VT_SOCK" "$@" 2>&1); then
        echo "$out"
        fail "vesperctl $* failed"
    fi
    log "vesperctl $*${out:+: $(head -c 300 <<<"$out")}"
}

# An empty configuration, so that vesperd does not create its embedded
# default (a TAP named vesper0 with 192.168.100.1) on the host.
write_empty_config() {
    printf '{\n  "version": 1,\n  "switches": [],\n  "ports": [],\n  "fdb_static": []\n}\n' \
        >"$VT_CONFIG"
}

# start_vesperd [EXTRA-ARGS...]: starts vesperd on $VT_CONFIG and waits (at
# most 30 s) until it answers.  Writes an empty config first if none exists.
start_vesperd() {
    # a private --vm-dir unless the test names one (the last one counts):
    # the default /run/vesper/vm is held by any other vesperd running here
    local args=(--config "$VT_CONFIG" --socket "$VT_SOCK" --cores 0,1
                --file-prefix "$VT_PREFIX" --vm-dir "$TMP/vm")
    [ -f "$VT_CONFIG" ] || write_empty_config
    [ "${VT_NO_HUGE:-0}" = 1 ] && args+=(--no-huge)
    echo "---- start $(date +%T.%N) ----" >>"$TMP/vesperd.log"
    if [ "$VT_ASAN" = 1 ]; then
        ASAN_OPTIONS=${VT_VESPERD_ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1} \
            "$VESPERD" "${args[@]}" "$@" >>"$TMP/vesperd.log" 2>&1 &
    else
        "$VESPERD" "${args[@]}" "$@" >>"$TMP/vesperd.log" 2>&1 &
    fi
    VT_VESPERD_PID=$!
    log "vesperd started, pid $VT_VESPERD_PID"
    local i
    for ((i = 0; i < 150; i++)); do
        if ! kill -0 "$VT_VESPERD_PID" 2>/dev/null; then
            wait "$VT_VESPERD_PID"
            local rc=$?
            VT_VESPERD_PID=
            tail -30 "$TMP/vesperd.log"
            fail "vesperd exited during start-up (status $rc)"
        fi
        if ctl --timeout 2 info >/dev/null 2>&1; then
            log "vesperd answers after $((i / 5)).$((i % 5 * 2)) s"
            return 0
        fi
        sleep 0.2
    done
    tail -30 "$TMP/vesperd.log"
    fail "vesperd did not answer within 30 s"
}

# stop_vesperd: SIGTERM, wait up to 15 s, then SIGKILL.  Sets
# $VESPERD_STATUS to its exit status.
stop_vesperd() { # [SIGNAL] (default TERM)
    local pid=$VT_VESPERD_PID i sig=${1:-TERM}
    VESPERD_STATUS=
    [ -n "$pid" ] || return 0
    kill -"$sig" "$pid" 2>/dev/null
    for ((i = 0; i < 150; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "vesperd did not stop within 15 s of SIG$sig; SIGKILL"
        kill -9 "$pid" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null
    VESPERD_STATUS=$?
    VT_VESPERD_PID=
    log "vesperd stopped (status $VESPERD_STATUS)"
}

# kill9_vesperd: SIGKILL and reap.
kill9_vesperd() {
    local pid=$VT_VESPERD_PID
    [ -n "$pid" ] || return 0
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    VT_VESPERD_PID=
    log "vesperd killed with SIGKILL"
}

vesperd_alive() {
    [ -n "$VT_VESPERD_PID" ] && kill -0 "$VT_VESPERD_PID" 2>/dev/null
}

# ---- namespaces and veths -----------------------------------------------------

# quiet_if [NS] IF: no IPv6 (no DAD, RS, MLD noise) and no TX checksum
# offload (af_packet would forward frames with partial checksums).
quiet_if() {
    local ns=$1 dev=$2 pre=()
    [ -n "$ns" ] && pre=(ip netns exec "$ns")
    "${pre[@]}" sysctl -qw "net.ipv6.conf.$dev.disable_ipv6=1" >/dev/null 2>&1
    "${pre[@]}" ethtool -K "$dev" tx off >/dev/null 2>&1 ||
        "${pre[@]}" ethtool -K "$dev" tx-checksumming off >/dev/null 2>&1 ||
        log "warning: could not turn off tx checksum offload on $dev"
}

# make_ns NAME: a namespace vt$VT_ID-NAME with lo up and IPv6 off.
make_ns() {
    local ns=vt$VT_ID-$1
    must ip netns add "$ns"
    VT_NETNS+=("$ns")
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
        net.ipv6.conf.default.disable_ipv6=1 >/dev/null 2>&1
    must ip -n "$ns" link set lo up
}

# vm_add N CIDR: "VM" N: namespace vt$ID-vmN, veth vt$ID-vN inside (MAC
# mac_of N, address CIDR), its peer vt$ID-hN in the root namespace, up.
vm_add() {
    local n=$1 cidr=$2
    local ns=vt$VT_ID-vm$n h=vt$VT_ID-h$n v=vt$VT_ID-v$n
    make_ns "vm$n"
    must ip link add "$h" type veth peer name "$v" netns "$ns"
    VT_LINKS+=("$h")
    quiet_if "" "$h"
    quiet_if "$ns" "$v"
    must ip -n "$ns" link set "$v" address "$(mac_of "$n")"
    [ -n "$cidr" ] && must ip -n "$ns" addr add "$cidr" dev "$v"
    must ip link set "$h" up
    must ip -n "$ns" link set "$v" up
}

# vm N CMD...: runs CMD in VM N's namespace.
vm() {
    local n=$1
    shift
    ip netns exec "vt$VT_ID-vm$n" "$@"
}

# vm_devargs N: the devargs binding VM N's root-namespace veth end.
vm_devargs() {
    echo "net_af_packet_vt$1,iface=vt$VT_ID-h$1"
}

# vm_attach N SWITCH [PORT-OPTIONS...]: port vmN on SWITCH.
vm_attach() {
    local n=$1 sw=$2
    shift 2
    ctl_ok port add "vm$n" --switch "$sw" --class dpdk \
        --devargs "$(vm_devargs "$n")" "$@"
}

# ---- traffic -----------------------------------------------------------------

# vm_ping N DEST COUNT: pings COUNT times (0.2 s apart); prints the
# number received.
vm_ping() {
    local n=$1 dst=$2 count=${3:-5} out
    out=$(vm "$n" ping -n -c "$count" -i 0.2 -W 1 "$dst" 2>&1)
    sed -n 's/.* \([0-9][0-9]*\) received.*/\1/p' <<<"$out" | head -1 |
        grep . || echo 0
}

# assert_ping N DEST [COUNT]: VM N pings DEST: first waits (10 s at most)
# until one ping is answered, then COUNT pings must all be answered.
assert_ping() {
    local n=$1 dst=$2 count=${3:-5} got
    if ! wait_for "vm $n ping -n -c 1 -W 1 $dst" 10; then
        fail "vm$n cannot reach $dst at all within 10 s"
    fi
    got=$(vm_ping "$n" "$dst" "$count")
    [ "$got" = "$count" ] ||
        fail "vm$n -> $dst: $got of $count pings answered (expected 0% loss)"
    ok "vm$n -> $dst: $count/$count pings answered"
}

# assert_no_ping N DEST: VM N must not reach DEST (3 pings, none answered).
assert_no_ping() {
    local got
    got=$(vm_ping "$1" "$2" 3)
    [ "$got" = 0 ] || fail "vm$1 -> $2: $got of 3 pings answered (expected none)"
    ok "vm$1 -> $2 unreachable, as expected"
}

# vm_udp_flows N DEST: VM N sends 400 UDP datagrams to DEST port 9, each
# from its own source port 20000..20399 (a flow of its own for a NIC's RSS
# or a fanout group's flow hash); fails the test if the sender fails.
vm_udp_flows() {
    vm "$1" "$PY" - "$2" <<'PYEOF' || fail "vm$1: the UDP sender failed"
import socket, sys
for port in range(20000, 20400):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("", port))
    s.sendto(b"vesper", (sys.argv[1], 9))
    s.close()
PYEOF
}

# iperf_server N ADDR PORT: a one-off iperf3 server in VM N, bound to ADDR;
# waits until it listens.
iperf_server() {
    local n=$1 addr=$2 port=$3
    bg "$TMP/iperf-server-$port.log" vm "$n" iperf3 -s -1 -B "$addr" -p "$port"
    IPERF_SERVER_PID=$BG_PID
    wait_for "vm $n ss -Hltn 'sport = :$port' | grep -q LISTEN" 10 ||
        fail "iperf3 server on $addr:$port did not start"
}

# fdb_json SWITCH [ARGS...]: fdb show as JSON.
fdb_json() {
    ctl_json fdb show "$@"
}

# fdb_has SWITCH MAC PORT: is MAC learned on PORT (any VLAN)?
fdb_has() {
    local out
    out=$(ctl_q --json fdb show "$1") || return 1
    jq -e --arg m "$2" --arg p "$3" \
        '[.entries[] | select((.mac | ascii_downcase) == $m and .port == $p)] | length > 0' \
        <<<"$out" >/dev/null
}

# fdb_count SWITCH PORT: entries pointing to PORT.
fdb_count() {
    ctl_q --json fdb show "$1" --port "$2" | jq '.entries | length'
}

# mbufs_in_use: packet-pool mbufs outside the pool and its caches (info);
# the least of three readings 0.1 s apart, so that a frame in flight at
# one reading does not count.
mbufs_in_use() {
    local i v min=
    for i in 1 2 3; do
        v=$(ctl_q --json info | jq -e '.mbufs.in_use') || return 1
        [ -z "$min" ] || [ "$v" -lt "$min" ] && min=$v
        [ "$i" = 3 ] || sleep 0.1
    done
    echo "$min"
}

# assert_mbufs_back BASELINE WHAT: once traffic is idle the packet pool
# returns to BASELINE mbufs in use or fewer (within 5 s): nothing WHAT did
# kept one (TESTS.md #30: in-flight mbufs are freed, the mempool back to
# baseline).  A leak only raises the count.
assert_mbufs_back() {
    local base=$1 what=$2 now
    is_num "$base" || fail "mbufs in use at the baseline unreadable: '$base'"
    if ! wait_for "[ \"\$(mbufs_in_use)\" -le $base ]" 5; then
        now=$(mbufs_in_use)
        fail "$what: $now mbufs in use 5 s after traffic stopped, $base at the baseline"
    fi
    ok "$what: mbufs in use back to the baseline ($base) or below"
}

# tap_hold NAME: a process holding TAP device NAME open (the device goes
# when the process does), its pid in TAP_PID.
tap_hold() {
    "$PY" -c '
import fcntl, os, struct, sys, time
fd = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(fd, 0x400454ca, struct.pack("16sH", sys.argv[1].encode(), 0x1002))
time.sleep(3600)' "$1" &
    TAP_PID=$!
    VT_PIDS+=("$TAP_PID")
    wait_for "ip link show $1 >/dev/null 2>&1" 3 || fail "TAP $1 not made"
}

# port_link PORT: "up" or "down" from port list.
port_link() {
    ctl_q --json port list |
        jq -r --arg p "$1" '.ports[] | select(.name == $p) | .link'
}

# stat_of PORT JQ-PATH: one counter of stats.get (e.g. .rx_packets,
# .drops.vlan_untagged).
stat_of() {
    ctl_q --json stats "$1" |
        jq -r --arg p "$1" ".ports[] | select(.name == \$p) | $2"
}

# vlan_subif NS PARENT NAME VID CIDR: an 802.1Q sub-interface NAME of PARENT
# in namespace NS, addressed CIDR and up.  Where the kernel has no 802.1Q
# support (CONFIG_VLAN_8021Q unset: "Unknown device type"), a TAP relayed by
# vlanif.py stands in for it, with the parent's MAC like a real one.
vlan_subif() {
    local ns=$1 parent=$2 name=$3 vid=$4 cidr=$5 mac
    if ip -n "$ns" link add link "$parent" name "$name" type vlan id "$vid" \
            2>"$TMP/vlan-add.err"; then
        log "$name: kernel 802.1Q sub-interface of $parent, VID $vid"
    else
        log "no kernel 802.1Q ($(cat "$TMP/vlan-add.err")): $name is a TAP relayed by vlanif.py"
        bg "$TMP/vlanif-$name.log" ip netns exec "$ns" "$PY" "$VT_DIR/vlanif.py" \
            "$parent" "$name" "$vid"
        wait_for "grep -q ready '$TMP/vlanif-$name.log'" 10 ||
            fail "vlanif.py did not start: $(cat "$TMP/vlanif-$name.log")"
        mac=$(ip netns exec "$ns" cat "/sys/class/net/$parent/address")
        must ip -n "$ns" link set "$name" address "$mac"
    fi
    quiet_if "$ns" "$name"
    must ip -n "$ns" addr add "$cidr" dev "$name"
    must ip -n "$ns" link set "$name" up
}

# start_synth_guests N... — for each VM n (namespace made by make_ns vm$n,
# synthetic NIC of MAC mac_of n on the partition $VMDIR/vm$n.sock): a TAP
# eth0 with $NET_A.n/24 in the namespace, driven by $GUEST (vesper-guest,
# its pid in GUEST_PID[n]); then waits until each TAP carries its NIC's MAC
# and sets it up.
GUEST_PID=()
start_synth_guests() {
    local n
    for n in "$@"; do
        must ip -n "vt$VT_ID-vm$n" tuntap add dev eth0 mode tap
        must ip -n "vt$VT_ID-vm$n" addr add "$NET_A.$n/24" dev eth0
        bg "$TMP/guest$n.log" "$GUEST" --partition "$VMDIR/vm$n.sock" \
            --nic synthetic --tap eth0 --netns "vt$VT_ID-vm$n"
        GUEST_PID[n]=$BG_PID
    done
    for n in "$@"; do
        wait_for "vm $n ip link show eth0 | grep -q '$(mac_of "$n")'" 20 ||
            { cat "$TMP/guest$n.log"; fail "vm$n: TAP did not get its MAC"; }
        vm "$n" ip link set eth0 up
    done
}

# need_guests [hostile]: GUEST (vesper-guest of $BUILD), with `hostile` also
# HOSTILE (hostile_guest), and VMDIR ($TMP/vm, vesperd's --vm-dir); fails
# the test if one is not built.
need_guests() {
    GUEST=$BUILD/tools/vesper-guest/vesper-guest
    [ -x "$GUEST" ] || fail "vesper-guest not built at $GUEST"
    if [ "${1:-}" = hostile ]; then
        HOSTILE=$BUILD/tests/integration/hostile_guest
        [ -x "$HOSTILE" ] || fail "hostile_guest not built at $HOSTILE"
    fi
    VMDIR=$TMP/vm
}

# ctl_cpu SECS: vesperd's control thread (its main thread, task id = pid,
# which takes the guests' signals and runs the legacy NICs' devices; the
# datapath lcores serve the synthetic NICs' channels) over the next SECS s,
# in % of one core, from its utime + stime in /proc.
ctl_cpu() {
    local a b stat="/proc/$VT_VESPERD_PID/task/$VT_VESPERD_PID/stat"
    a=$(awk '{ print $14 + $15 }' "$stat")
    sleep "$1"
    b=$(awk '{ print $14 + $15 }' "$stat")
    awk -v a="$a" -v b="$b" -v s="$1" -v c="$(getconf CLK_TCK)" \
        'BEGIN { printf "%.1f", (b - a) * 100 / c / s }'
}
