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
# the 2 MB pool itself (/proc/sys/vm/nr_hugepages and HugePages_* are the
# default size's, 1 GB on a kernel booted with default_hugepagesz=1G)
pool=/sys/kernel/mm/hugepages/hugepages-2048kB
have=$(cat "$pool/nr_hugepages" 2>/dev/null || echo 0)
[ "$have" -lt "$want" ] && { echo "$want" > "$pool/nr_hugepages"; } 2>/dev/null
if ! mountpoint -q /dev/hugepages 2>/dev/null; then
    mkdir -p /dev/hugepages && mount -t hugetlbfs -o pagesize=2M nodev /dev/hugepages 2>/dev/null
fi
free=$(cat "$pool/free_hugepages" 2>/dev/null || echo 0)
if mountpoint -q /dev/hugepages 2>/dev/null && [ "${free:-0}" -ge 256 ]; then
    echo "hugepages: $free free 2 MB pages at /dev/hugepages"
else
    echo "hugepages: not available; vesperd will use --no-huge -m 1024"
fi
exit 0
