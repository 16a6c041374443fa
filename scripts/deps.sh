#!/bin/bash
# Installs the Debian 12 packages Vesper needs to build, run, test and
# benchmark; installs only what is missing.  Run as root.
set -eu
# libsystemd-dev: the static DPDK link of vesperd pulls libpcap -> dbus-1 ->
# libsystemd (pkg-config --static)
PKGS=(build-essential meson ninja-build pkg-config clang lld llvm
      libclang-rt-14-dev dpdk dpdk-dev libdpdk-dev libjansson-dev
      libsystemd-dev
      libnl-3-dev libnl-route-3-dev libpcap-dev libcmocka-dev
      iproute2 iputils-ping arping iperf3 tcpdump tshark curl jq ethtool
      python3 python3-scapy procps psmisc kmod)
[ "${1:-}" = --bench ] && PKGS+=(openvswitch-switch-dpdk)
missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "deps: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # tshark asks whether non-root users may capture; answer no
    echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
    # A dpkg run cut short before (a machine reused) blocks every install
    # until it is finished; a lock held at boot (apt-daily, unattended-
    # upgrades) is waited for; a network blip gets two more tries.
    dpkg --configure -a || true
    for try in 1 2 3; do
        if apt-get -o DPkg::Lock::Timeout=600 update -q &&
           apt-get -o DPkg::Lock::Timeout=600 install -y -q \
               --no-install-recommends "${missing[@]}"; then
            break
        fi
        [ "$try" = 3 ] && { echo "deps: apt-get failed 3 times" >&2; exit 1; }
        echo "deps: apt-get failed; trying again in 10 s" >&2
        sleep 10
    done
fi
