#!/bin/bash
# Mounts hugetlbfs at /dev/hugepages and reserves 2 MB pages (default 1024,
# at most half of MemAvailable).
# Never fails: without hugepages vesperd falls back to --no-huge -m 1024.
want=${1:-1024}
# never more than half of the memory available now: the pages stay reserved
# after vesperd exits, and what runs next (the sanitizer builds and tests of
# `make test`) needs the rest
avail_kb=$(awk '/MemAvailable/ {print $2}' /proc/meminfo)
cap=$(( ${avail_kb:-0} / 2 / 2048 ))
[ "$want" -gt "$cap" ] && want=$cap
have=$(cat /proc/sys/vm/nr_hugepages 2>/dev/null || echo 0)
[ "$have" -lt "$want" ] && { echo "$want" > /proc/sys/vm/nr_hugepages; } 2>/dev/null
if ! mountpoint -q /dev/hugepages 2>/dev/null; then
    mkdir -p /dev/hugepages && mount -t hugetlbfs -o pagesize=2M nodev /dev/hugepages 2>/dev/null
fi
free=$(awk '/HugePages_Free/ {print $2}' /proc/meminfo)
if mountpoint -q /dev/hugepages 2>/dev/null && [ "${free:-0}" -ge 256 ]; then
    echo "hugepages: $free free 2 MB pages at /dev/hugepages"
else
    echo "hugepages: not available; vesperd will use --no-huge -m 1024"
fi
exit 0
