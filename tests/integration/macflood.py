#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Sends COUNT Ethernet frames with random unicast source MACs on IFACE
(AF_PACKET SOCK_RAW; run it inside the namespace that owns IFACE).

  macflood.py IFACE [COUNT] [DST-MAC] [RATE]

Frames: DST-MAC (default broadcast), a random locally administered unicast
source, EtherType 0x88b5 (IEEE local experimental), 46 bytes of zeros.
RATE (frames per second, default 0: as fast as the socket takes them) paces
the sending.  Prints "sent N frames, U distinct sources".
"""
import os
import socket
import struct
import sys
import time


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    iface = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 100000
    dst = bytes.fromhex((sys.argv[3] if len(sys.argv) > 3
                         else "ff:ff:ff:ff:ff:ff").replace(":", ""))
    rate = float(sys.argv[4]) if len(sys.argv) > 4 else 0
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    rnd = os.urandom(6 * count)
    payload = bytes(46)
    ethertype = struct.pack("!H", 0x88B5)
    seen = set()
    sent = 0
    t0 = time.time()
    for i in range(count):
        if rate and i % 100 == 0:  # pace by the hundred
            ahead = t0 + i / rate - time.time()
            if ahead > 0:
                time.sleep(ahead)
        src = bytearray(rnd[6 * i:6 * i + 6])
        src[0] = (src[0] & 0xFC) | 0x02  # unicast, locally administered
        src = bytes(src)
        seen.add(src)
        frame = dst + src + ethertype + payload
        while True:
            try:
                s.send(frame)
                break
            except BlockingIOError:
                time.sleep(0.001)
            except OSError as e:
                if e.errno == 105:  # ENOBUFS: let the queue drain
                    time.sleep(0.001)
                    continue
                raise
        sent += 1
    print(f"sent {sent} frames, {len(seen)} distinct sources, "
          f"{time.time() - t0:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
