#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Holds a packet fanout group on IFACE, as another process on the host
would (a second DPDK application, a capture tool), and reads what the
kernel gives it.

  fanout_hold.py IFACE ID MODE

A SOCK_RAW packet socket for every protocol (ETH_P_ALL), bound to IFACE,
joins fanout group ID (0..65535) with MODE (hex, bits 16..31 of the
PACKET_FANOUT argument: type and flags, e.g. 0x10000000 for
PACKET_FANOUT_HASH with PACKET_FANOUT_FLAG_ROLLOVER, 0x90000000 with
PACKET_FANOUT_FLAG_DEFRAG as well).  Prints "ready"
once it is in the group, then reads frames until SIGTERM or SIGINT and
prints "received N".
"""
import select
import signal
import socket
import struct
import sys

SOL_PACKET = 263
PACKET_FANOUT = 18
ETH_P_ALL = 0x0003

stop = False


def on_signal(_sig, _frame):
    global stop
    stop = True


def main():
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    iface, gid, mode = sys.argv[1], int(sys.argv[2]), int(sys.argv[3], 16)
    if not 0 <= gid <= 0xFFFF or mode & 0xFFFF:
        print("fanout_hold: bad ID or MODE", file=sys.stderr)
        return 2
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW,
                      socket.htons(ETH_P_ALL))
    # room for a burst while this process is not scheduled: 400 small
    # frames take more than the default 212 KiB of receive buffer (past
    # net.core.rmem_max: SO_RCVBUFFORCE, 33, as root)
    try:
        s.setsockopt(socket.SOL_SOCKET, 33, 8 << 20)
    except OSError:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    s.bind((iface, ETH_P_ALL))
    # as the C int the kernel reads (a mode with bit 31 set, such as
    # DEFRAG, does not fit Python's signed int argument)
    s.setsockopt(SOL_PACKET, PACKET_FANOUT, struct.pack("=I", gid | mode))
    s.setblocking(False)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    print("ready", flush=True)
    n = 0
    while not stop:
        try:
            r, _, _ = select.select([s], [], [], 0.1)
        except InterruptedError:
            continue
        while r:
            try:
                s.recv(65536)
                n += 1
            except BlockingIOError:
                break
    while True:  # what arrived before the stop and is not read yet
        try:
            s.recv(65536)
            n += 1
        except BlockingIOError:
            break
    print("received %d" % n, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
