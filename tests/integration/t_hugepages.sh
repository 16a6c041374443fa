#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# (hugepages) vesperd uses the 2 MB hugepages when enough are free, and
# starts without them (--no-huge) when they turn out not to be enough.
#
#  * Another process holds all the free 2 MB pages but 260 (520 MB): more
#    than the 256 vesperd asks for before it chooses hugepages, fewer than
#    a pool of 250,000 mbufs needs.  vesperd says that the pool did not fit
#    and starts again, the same process (same pid) with --no-huge, and
#    answers: `info` says "hugepages: no", its datapath lcore on CPU 1.  (It
#    used to exit 1: `make run` stopped there.)
#    Nothing of the first image survives the exec: it holds as many epoll
#    sets and timerfds as a vesperd started with --no-huge (DPDK's own,
#    opened without close-on-exec, came along), no hugepage segment.
#  * Its locks came with it: a second vesperd on the same configuration is
#    refused.  SIGTERM stops it cleanly.
#  * With the pages given back, the same command runs on hugepages, and
#    does not start again.
. "$(dirname "$0")/lib.sh"

HP=/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages
if [ "${VT_NO_HUGE:-0}" = 1 ] || ! mountpoint -q /dev/hugepages ||
    [ "$(cat "$HP" 2>/dev/null || echo 0)" -lt 300 ]; then
    echo "SKIP: needs hugetlbfs at /dev/hugepages and 300 free 2 MB pages" \
        "(scripts/hugepages.sh)"
    exit 77
fi

# hold N: maps and touches N hugepages until killed (or 60 s).
hold_pages() {
    bg "$TMP/hold.log" python3 -c '
import mmap, sys, time
n = int(sys.argv[1])
m = mmap.mmap(-1, n << 21, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | 0x40000)
for i in range(n):
    m[i << 21] = 1
print("held", n, flush=True)
time.sleep(60)' "$1"
    HOLD_PID=$BG_PID
    wait_for "grep -q held $TMP/hold.log" 10 || {
        cat "$TMP/hold.log"
        fail "could not hold $1 hugepages"
    }
}

free=$(cat "$HP")
hold_pages $((free - 260))
log "holding $((free - 260)) of $free free 2 MB pages: $(cat "$HP") left"

start_vesperd --mbufs 250000
pid=$VT_VESPERD_PID
assert_contains "$(cat "$TMP/vesperd.log")" \
    "not enough memory on hugepages; starting again without them (--no-huge)" \
    "vesperd says why it starts again"
info=$(ctl info)
assert_match "$info" "hugepages: +no" "it runs without hugepages"
assert_eq "$(awk '/^pid:/ {print $2}' <<<"$info")" "$pid" "the same process"
# nothing of the first image's hugepages is held open across the exec
# (DPDK's segment memfds are not close-on-exec: they pinned the pages for
# the second image's whole life)
# its descriptors by kind (compared below with a vesperd started with
# --no-huge at once)
fds_of() {
    ls -l /proc/"$1"/fd 2>/dev/null | awk '{print $11}' | sed 's/[0-9]*\]$/]/' |
        sort | uniq -c | tr -s ' \n' ' '
}
# epoll sets and timerfds: the EAL's interrupt thread has one of each
polls_of() { ls -l /proc/"$1"/fd 2>/dev/null | grep -c 'anon_inode:\[eventpoll\]\|anon_inode:\[timerfd\]'; }
npoll_restarted=$(polls_of "$pid")
log "its descriptors: $(fds_of "$pid")"
assert_not_contains "$(ls -l /proc/"$pid"/fd 2>/dev/null)" "memfd:seg_" \
    "no hugepage segment memfd survived the restart"
# the EAL had pinned the first image to CPU 0; the datapath lcore of the
# second runs on CPU 1
assert_contains "$(cat /proc/"$pid"/task/*/status | grep '^Cpus_allowed_list')" \
    "Cpus_allowed_list:	1" "a thread pinned to CPU 1: the datapath lcore"
ctl_ok switch add lab --type private
ctl_ok port add p0 --switch lab --class dpdk --devargs net_null0,no-rx=1
assert_contains "$(ctl port list)" "p0" "and works"

out=$("$VESPERD" --config "$VT_CONFIG" --socket "$TMP/other.sock" \
    --vm-dir "$TMP/vm2" --cores 0,1 --no-huge 2>&1)
rc=$?
assert_eq "$rc" 1 "a second vesperd on its configuration exits 1"
assert_contains "$out" "refusing to start" "and is refused: the lock came along"

stop_vesperd
assert_eq "$VESPERD_STATUS" 0 "SIGTERM stops it cleanly"
# The first image's descriptors did not come along: the restarted vesperd
# has as many epoll sets and timerfds as one started with --no-huge at
# once (DPDK opens its interrupt thread's without close-on-exec: the
# first image's epoll set, timerfd and pipes came along)
mv "$VT_CONFIG" "$TMP/config.kept"
start_vesperd --mbufs 250000 --no-huge
npoll_fresh=$(polls_of "$VT_VESPERD_PID")
log "a fresh --no-huge vesperd's descriptors: $(fds_of "$VT_VESPERD_PID")"
stop_vesperd
mv "$TMP/config.kept" "$VT_CONFIG"
assert_eq "$npoll_restarted" "$npoll_fresh" "the restarted vesperd holds as many epoll sets and timerfds as a fresh --no-huge one"
kill "$HOLD_PID"
wait "$HOLD_PID" 2>/dev/null
log "pages given back: $(cat "$HP") free"

: >"$TMP/vesperd.log"
start_vesperd --mbufs 250000
assert_match "$(ctl info)" "hugepages: +yes" "with the pages free it runs on them"
assert_not_contains "$(cat "$TMP/vesperd.log")" "starting again" \
    "and does not start again"
assert_contains "$(ctl port list)" "p0" "the configuration is back"
stop_vesperd
assert_eq "$VESPERD_STATUS" 0 "stopped cleanly"
