#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Writes the seed corpora of fuzz_pkt_parse and fuzz_vlan.

Objective: start both fuzzers from small golden frames (untagged IPv4,
802.1Q, double 802.1Q, 0x88a8 outer, ARP, IPv6, priority-tagged, VID 4094
and 4095, runts one byte short of their header) and, for fuzz_vlan, from
port modes covering access, trunk, native, native_tagged and invalid modes.
The input layout of fuzz_vlan is documented at the top of fuzz_vlan.c.

Usage: tests/unit/vlan/gen_fuzz_seeds.py   (from anywhere; rewrites the
files in tests/fuzz/corpus/fuzz_pkt_parse/ and tests/fuzz/corpus/fuzz_vlan/)
"""
import os
import struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..',
                    'fuzz', 'corpus')

DST = bytes.fromhex('001122334455')
SRC = bytes.fromhex('02aabbccddee')
IPV4_UDP = bytes.fromhex('4500002012344000401100000a0000010a000002'
                         '04d20035000c0000') + b'vspr'
IPV6_ICMP = (bytes.fromhex('6000000000083aff') + bytes.fromhex('fe80' + '00' * 13 + '01')
             + bytes.fromhex('ff02' + '00' * 13 + '01')
             + bytes.fromhex('8000000000010001'))
ARP = (bytes.fromhex('0001080006040001') + SRC + bytes([10, 0, 0, 1])
       + b'\0' * 6 + bytes([10, 0, 0, 2]))


def tag(tpid, pcp, vid):
    return struct.pack('>HH', tpid, (pcp << 13) | vid)


def eth(*tags, ethertype=0x0800, payload=IPV4_UDP, dst=DST):
    return dst + SRC + b''.join(tags) + struct.pack('>H', ethertype) + payload


FRAMES = {
    'ipv4': eth(),
    'vlan10_pcp3': eth(tag(0x8100, 3, 10)),
    'vlan1': eth(tag(0x8100, 0, 1)),
    'vlan20': eth(tag(0x8100, 0, 20)),
    'vlan4094': eth(tag(0x8100, 0, 4094)),
    'vlan4095': eth(tag(0x8100, 0, 4095)),
    'prio_vid0': eth(tag(0x8100, 5, 0)),
    'double_10_20': eth(tag(0x8100, 0, 10), tag(0x8100, 0, 20)),
    'stag_88a8': eth(tag(0x88a8, 0, 100), tag(0x8100, 0, 20)),
    'tpid_9100': eth(tag(0x9100, 0, 10)),
    'arp_padded': eth(ethertype=0x0806, payload=ARP + b'\0' * 18,
                      dst=b'\xff' * 6),
    'ipv6': eth(ethertype=0x86dd, payload=IPV6_ICMP,
                dst=bytes.fromhex('333300000001')),
    'bare_header': eth(payload=b''),
    'bare_tagged': eth(tag(0x8100, 0, 4094), ethertype=0x0806, payload=b''),
    'runt13': eth(payload=b'')[:13],
    'runt_tagged17': eth(tag(0x8100, 0, 10), payload=b'')[:17],
}


def vlan_input(flags, access, native, at, allowed, setstr, trunc, frame):
    """fuzz_vlan layout: flags, access, native, allowed offset/len/bytes,
    set string length, truncation byte, set string, frame."""
    s = setstr.encode()
    return (bytes([flags]) + struct.pack('>HH', access, native)
            + bytes([at // 2, len(allowed)]) + bytes(allowed)
            + bytes([len(s), trunc]) + s + frame)


def bitmap_bytes(vids):
    top = max(vids) // 8 + 1
    b = bytearray(top)
    for v in vids:
        b[v // 8] |= 1 << (v % 8)
    return b


RAW = 0x10
TRUNK = 0x01
NATIVE = 0x02
NATIVE_TAGGED = 0x04
ALL = 0x08

VLAN_SEEDS = {
    'access10_tagged10': vlan_input(RAW, 10, 0, 0, b'', '1-10,20,30-32', 7,
                                    FRAMES['vlan10_pcp3']),
    'access4094_untagged': vlan_input(RAW, 4094, 0, 0, b'', '4094', 3,
                                      FRAMES['ipv4']),
    'trunk_10_20': vlan_input(RAW | TRUNK, 0, 0, 0, bitmap_bytes([10, 20]),
                              '10,20', 4, FRAMES['vlan20']),
    'trunk_native1': vlan_input(RAW | TRUNK | NATIVE, 0, 1, 0,
                                bitmap_bytes([10, 20]), '1,10,20', 0,
                                FRAMES['ipv4']),
    'trunk_native10_tagged': vlan_input(RAW | TRUNK | NATIVE | NATIVE_TAGGED,
                                        0, 10, 0, bitmap_bytes([10, 20]),
                                        '1-4094', 2,
                                        FRAMES['double_10_20']),
    'trunk_high': vlan_input(RAW | TRUNK, 0, 0, 510, [0, 0x40], '4000-4094', 9,
                             FRAMES['vlan4094']),
    'trunk_all_invalid': vlan_input(RAW | TRUNK | ALL, 0, 0, 0, b'', '0', 0,
                                    FRAMES['vlan4095']),
    'access0_invalid': vlan_input(RAW, 0, 0, 0, b'', '1,,2', 0,
                                  FRAMES['prio_vid0']),
    'native_tagged_no_native': vlan_input(RAW | TRUNK | NATIVE_TAGGED, 0, 0,
                                          0, b'', '5-3', 0, FRAMES['ipv6']),
    'unknown_mode': vlan_input(0x20 | 0xc0, 1, 0, 0, b'', '', 0,
                               FRAMES['stag_88a8']),
    'folded_vids': vlan_input(TRUNK | NATIVE, 0xffff, 0x1234, 0, b'\xff' * 8,
                              '1-5,3-8,100', 5, FRAMES['vlan1']),
}


def write(dirname, seeds):
    d = os.path.join(ROOT, dirname)
    os.makedirs(d, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(d, name), 'wb') as f:
            f.write(data)


if __name__ == '__main__':
    write('fuzz_pkt_parse', FRAMES)
    write('fuzz_vlan', VLAN_SEEDS)
