#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# (r) dpdk ports on vhost-user (net_vhost, vesperd the server): a DPDK guest
# (dpdk-testpmd with two virtio_user NICs, A and B, on the two sockets)
# connects; both ports come up and learn the guest's MACs; the frames the
# guest sends from A to B's MAC cross the switch and arrive on B.  The guest
# goes away: both ports go down and their FDB entries are flushed.  A guest
# that connects again gets the same.
. "$(dirname "$0")/lib.sh"

# virtio_user shares the guest's memory with the backend through hugepage
# files: without hugepages (DPDK 22.11) the pair connects but stalls.
# Measured: vesperd takes about 50 pages of 2 MB, the guest about 25 more.
free_pages() { cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages 2>/dev/null || echo 0; }
free=$(free_pages)
if [ "${VT_NO_HUGE:-0}" = 1 ] || ! mountpoint -q /dev/hugepages || [ "$free" -lt 128 ]; then
    log "SKIP: the virtio_user guest needs 2 MB hugepages ($free free)"
    exit 77
fi

MAC_A=02:76:$VT_ID:00:00:0a
MAC_B=02:76:$VT_ID:00:00:0b
start_vesperd
ctl_ok switch add sw --type private
ctl_ok port add vA --switch sw --class dpdk --devargs "net_vhost_vt$VT_ID.a,iface=$TMP/vA.sock"
ctl_ok port add vB --switch sw --class dpdk --devargs "net_vhost_vt$VT_ID.b,iface=$TMP/vB.sock"
# what vesperd and its ports left for the guest (another process may have
# taken pages)
free=$(free_pages)
if [ "$free" -lt 48 ]; then
    log "SKIP: $free 2 MB hugepages left for the guest once vesperd started (48 wanted)"
    exit 77
fi
assert_eq "$(port_link vA) $(port_link vB)" "down down" "no guest yet: both ports down"

# guest ROUND: testpmd streams net_null -> A (to B's MAC) and B -> net_null
# (what arrives on B is counted); --tx-first: B first sends one burst to its
# own MAC, so that the switch learns B
guest() {
    bg "$TMP/guest$1.log" dpdk-testpmd --lcores 0@0,1@0 --main-lcore 0 --no-pci \
        --file-prefix "$VT_PREFIX-guest" --single-file-segments \
        --vdev "net_virtio_user0,path=$TMP/vA.sock,queues=1,mac=$MAC_A" \
        --vdev "net_virtio_user1,path=$TMP/vB.sock,queues=1,mac=$MAC_B" \
        --vdev "net_null0,size=64,copy=1" -- \
        --nb-cores=1 --forward-mode=mac --port-topology=chained --portlist=2,0,1 \
        "--eth-peer=0,$MAC_B" "--eth-peer=1,$MAC_B" --eth-peer=2,02:00:00:00:00:0c \
        --tx-first --stats-period=1 --total-num-mbufs=16384
    GUEST_PID=$BG_PID
}
# guest_rx ROUND: the frames the guest received on B (its closing stats)
guest_rx() {
    awk '/Forward statistics for port 1/ {f = 1} f && /RX-packets:/ {print $2; exit}' "$TMP/guest$1.log"
}

for round in 1 2; do
    rxA0=$(stat_of vA .rx_packets)
    txB0=$(stat_of vB .tx_packets)
    guest $round
    wait_for '[ "$(port_link vA) $(port_link vB)" = "up up" ]' 15 ||
        { tail -20 "$TMP/guest$round.log"; fail "round $round: the ports did not come up (vA $(port_link vA), vB $(port_link vB))"; }
    ok "round $round: the guest connected, both ports up"
    wait_for "fdb_has sw $MAC_A vA && fdb_has sw $MAC_B vB" 5 ||
        { ctl fdb show sw; fail "round $round: the guest's MACs not learned on their ports"; }
    ok "round $round: $MAC_A learned on vA, $MAC_B on vB"
    sleep 2
    kill -INT "$GUEST_PID"
    wait_pid "$GUEST_PID" 15 || fail "round $round: the guest did not exit"
    rxA=$(($(stat_of vA .rx_packets) - rxA0))
    txB=$(($(stat_of vB .tx_packets) - txB0))
    got=$(guest_rx $round)
    log "round $round: vA took $rxA frames, vB sent $txB, the guest received ${got:-?} on B"
    log "round $round: drops $(ctl_q --json stats | jq -c '[.ports[] | {(.name): (.drops | with_entries(select(.value > 0)))}] | add')"
    assert_gt "$rxA" 100000 "round $round: frames from the guest's NIC A reached the switch"
    assert_gt "$txB" $((rxA * 9 / 10)) "round $round: nine in ten or more went out on vB"
    # what the guest had not read when it stopped stays in B's ring
    assert_gt "$got" $((txB * 99 / 100)) "round $round: the guest received on B what vB sent"
    wait_for '[ "$(port_link vA) $(port_link vB)" = "down down" ]' 5 ||
        fail "round $round: the guest is gone, the ports still $(port_link vA) $(port_link vB)"
    wait_for '[ "$(fdb_count sw vA)" = 0 ] && [ "$(fdb_count sw vB)" = 0 ]' 5 ||
        { ctl fdb show sw; fail "round $round: the ports' FDB entries not flushed"; }
    ok "round $round: the guest gone, both ports down and their FDB entries flushed"
done
