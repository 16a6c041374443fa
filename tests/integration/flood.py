#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Sends frames of SIZE bytes to DST-MAC on IFACE at RATE frames a second
for SECS seconds (AF_PACKET SOCK_RAW; run it inside the namespace that owns
IFACE).

  flood.py IFACE DST-MAC RATE SECS [SIZE]

Frames: DST-MAC, IFACE's own MAC as source, EtherType 0x88b5 (IEEE local
experimental), zero payload; SIZE (default 1000) counts the Ethernet header.
The rate is kept per 10 ms slice (a burst of RATE/100 frames, then sleep).
Prints "sent N frames in T s (R/s)".
"""
import socket
import struct
import sys
import time


def main():
    if len(sys.argv) < 5:
        print(__doc__, file=sys.stderr)
        return 2
    iface, dst = sys.argv[1], bytes.fromhex(sys.argv[2].replace(":", ""))
    rate, secs = int(sys.argv[3]), float(sys.argv[4])
    size = int(sys.argv[5]) if len(sys.argv) > 5 else 1000
    with open("/sys/class/net/%s/address" % iface) as f:
        src = bytes.fromhex(f.read().strip().replace(":", ""))
    frame = dst + src + struct.pack("!H", 0x88B5) + bytes(max(size - 14, 46))
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    burst = max(rate // 100, 1)
    sent = 0
    t0 = time.monotonic()
    end = t0 + secs
    slot = t0
    while True:
        now = time.monotonic()
        if now >= end:
            break
        for _ in range(burst):
            try:
                s.send(frame)
                sent += 1
            except OSError:
                pass  # ENOBUFS: the qdisc is full; the rate is a ceiling
        slot += 0.01
        delay = slot - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        else:
            slot = time.monotonic()
    t = time.monotonic() - t0
    print("sent %d frames in %.1f s (%.0f/s)" % (sent, t, sent / t))
    return 0


if __name__ == "__main__":
    sys.exit(main())
