#!/usr/bin/python3
"""Write the benchmark traffic for tests/bench/run.sh (deterministic).

    /usr/bin/python3 tests/bench/gen_traffic.py OUTDIR [SET...]

SET is one of l2-1k, l2-64k, vlan-1k (default: all three).  Re-running gives
byte-identical files (fixed seed, fixed timestamps).  Needs Debian's
python3-scapy, so call /usr/bin/python3.

Every set has n hosts h = 0..n-1 and n frames: host h sends one 64-byte
(without FCS) Ether/IPv4/UDP frame to its partner h XOR n/2.  The frames of
hosts 0..n/2-1 go to SET.A.pcap, those of hosts n/2..n-1 to SET.B.pcap; put A
on one switch port and B on another, then every destination is learned on
the other port and every frame is known unicast once the table is warm.
Frame order inside a file is a fixed pseudo-random permutation, so
consecutive frames have no locality.

  l2-1k    1,024 hosts, untagged
  l2-64k   65,536 hosts, untagged
  vlan-1k  1,024 hosts, 802.1Q tagged (68 bytes): VLAN 100 + (h mod 512) mod 16,
           i.e. 16 VLANs 100..115, both partners of a pair in the same VLAN

Host h: MAC 02:00:hh:hh:hh:hh (h as 32-bit big endian, locally administered),
IPv4 198.18.0.0/15 + h (RFC 2544 range), UDP 10000 + h mod 50000 -> 9.

Beside each SET.{A,B}.pcap a manifest SET.hosts.tsv lists
"host side vlan mac" (vlan 0 = untagged); run.sh builds static FDB entries
from it, so the generator is the one place that defines the traffic.  These
frames only ever travel between DPDK virtual devices inside one process.
"""
import os
import random
import struct
import sys

from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Dot1Q, Ether
from scapy.utils import RawPcapWriter

SEED = 20240501
FRAME = 64            # bytes on the wire without FCS, untagged
SETS = {              # name: (hosts, number of VLANs or 0)
    "l2-1k": (1024, 0),
    "l2-64k": (65536, 0),
    "vlan-1k": (1024, 16),
}


def mac_of(h):
    return "02:00:" + ":".join("%02x" % ((h >> s) & 0xFF) for s in (24, 16, 8, 0))


def ip_of(h):
    return "198.%d.%d.%d" % (18 + (h >> 16), (h >> 8) & 0xFF, h & 0xFF)


def vlan_of(h, nhosts, nvlans):
    return 100 + (h % (nhosts // 2)) % nvlans if nvlans else 0


def frame(src, dst, vlan, seq):
    """Raw bytes of one frame from host src to host dst."""
    pad = FRAME - 14 - 20 - 8 - 4
    l2 = Ether(src=mac_of(src), dst=mac_of(dst))
    if vlan:
        l2 = l2 / Dot1Q(vlan=vlan)
    pkt = (l2 / IP(src=ip_of(src), dst=ip_of(dst), ttl=64, id=seq & 0xFFFF)
           / UDP(sport=10000 + src % 50000, dport=9)
           / (struct.pack("!I", seq) + bytes(pad)))
    raw = bytes(pkt)
    if len(raw) != FRAME + (4 if vlan else 0):
        raise SystemExit("frame length %d for host %d" % (len(raw), src))
    return raw


def write_pcap(path, frames):
    tmp = path + ".tmp"
    out = RawPcapWriter(tmp, linktype=1, snaplen=65535)
    out.write_header(None)
    for i, raw in enumerate(frames):
        out.write_packet(raw, sec=1700000000 + i // 1000000, usec=i % 1000000)
    out.close()
    os.replace(tmp, path)


def make_set(outdir, name):
    nhosts, nvlans = SETS[name]
    half = nhosts // 2
    order = list(range(nhosts))
    random.Random(SEED + nhosts + nvlans).shuffle(order)
    sides = {"A": [], "B": []}
    for seq, h in enumerate(order):
        sides["A" if h < half else "B"].append(
            frame(h, h ^ half, vlan_of(h, nhosts, nvlans), seq))
    for side, frames in sides.items():
        write_pcap(os.path.join(outdir, "%s.%s.pcap" % (name, side)), frames)
    tmp = os.path.join(outdir, name + ".hosts.tsv.tmp")
    with open(tmp, "w") as f:
        f.write("host\tside\tvlan\tmac\n")
        for h in range(nhosts):
            f.write("%d\t%s\t%d\t%s\n" % (h, "A" if h < half else "B",
                                          vlan_of(h, nhosts, nvlans), mac_of(h)))
    os.replace(tmp, os.path.join(outdir, name + ".hosts.tsv"))
    print("gen_traffic: %-8s %6d hosts, %5d + %5d frames -> %s/%s.{A,B}.pcap"
          % (name, nhosts, len(sides["A"]), len(sides["B"]), outdir, name))


def main(argv):
    if len(argv) < 2:
        raise SystemExit(__doc__)
    outdir = argv[1]
    names = argv[2:] or list(SETS)
    for n in names:
        if n not in SETS:
            raise SystemExit("gen_traffic: unknown set %r (known: %s)" % (n, ", ".join(SETS)))
    os.makedirs(outdir, exist_ok=True)
    for n in names:
        make_set(outdir, n)


if __name__ == "__main__":
    main(sys.argv)
