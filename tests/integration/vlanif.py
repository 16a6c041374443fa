#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""A user-space stand-in for a Linux 802.1Q sub-interface, for kernels built
without CONFIG_VLAN_8021Q (`ip link add ... type vlan` fails there).

  vlanif.py PARENT NAME VID

Creates TAP device NAME (in the current network namespace) and relays:
  PARENT -> NAME: frames tagged VID (the tag is taken off)
  NAME -> PARENT: every frame, with an 802.1Q tag VID pushed
so that the kernel's IP stack on NAME talks VLAN VID over PARENT, as it
would over `ip link add link PARENT name NAME type vlan id VID`.  Runs until
killed; prints "ready" once NAME exists.

On receive the kernel moves the tag into packet metadata
(PACKET_AUXDATA), so the VID is read from there, or from the frame when a
tag is still inline.
"""
import fcntl
import os
import select
import socket
import struct
import sys

TUNSETIFF = 0x400454CA
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000
SOL_PACKET = 263
PACKET_AUXDATA = 8
TP_STATUS_VLAN_VALID = 1 << 4
PACKET_OUTGOING = 4
ETH_P_ALL = 0x0003


def main():
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    parent, name, vid = sys.argv[1], sys.argv[2], int(sys.argv[3])
    tap = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(tap, TUNSETIFF,
                struct.pack("16sH", name.encode(), IFF_TAP | IFF_NO_PI))
    raw = socket.socket(socket.AF_PACKET, socket.SOCK_RAW,
                        socket.htons(ETH_P_ALL))
    raw.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
    raw.bind((parent, ETH_P_ALL))
    tag = struct.pack("!HH", 0x8100, vid & 0x0FFF)
    print("ready", flush=True)
    aux_len = socket.CMSG_SPACE(32)
    while True:
        r, _, _ = select.select([tap, raw], [], [])
        if tap in r:
            frame = os.read(tap, 65536)
            if len(frame) >= 14:
                try:
                    raw.send(frame[:12] + tag + frame[12:])
                except OSError:
                    pass
        if raw in r:
            data, anc, _, addr = raw.recvmsg(65536, aux_len)
            if addr[2] == PACKET_OUTGOING or len(data) < 14:
                continue
            fvid = None
            for level, typ, cdata in anc:
                if level == SOL_PACKET and typ == PACKET_AUXDATA:
                    # struct tpacket_auxdata: u32 status, len, snaplen;
                    # u16 mac, net, vlan_tci, vlan_tpid
                    status, _, _, _, _, tci, _ = struct.unpack(
                        "IIIHHHH", cdata[:20])
                    if status & TP_STATUS_VLAN_VALID:
                        fvid = tci & 0x0FFF
            if fvid is None:
                if struct.unpack("!H", data[12:14])[0] == 0x8100:
                    fvid = struct.unpack("!H", data[14:16])[0] & 0x0FFF
                    data = data[:12] + data[16:]
                else:
                    continue  # untagged: not ours
            if fvid == vid:
                try:
                    os.write(tap, data)
                except OSError:
                    pass


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(0)
