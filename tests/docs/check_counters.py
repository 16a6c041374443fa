#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""check_counters.py SRC_ROOT — every counter and drop reason the code
names in its X-macro lists (hv/, VSP, VSC, switch drops, the legacy
NIC's device and port counters) is documented in docs/ (as `name`), so
that an operator who reads one in `vm show`, `stats` or `port show` can
look it up.  Fails listing the names no document mentions."""
import pathlib
import re
import sys

root = pathlib.Path(sys.argv[1])
# (header, macro, regex of one entry's name)
LISTS = [
    ("hv/hv_stats.h", "HV_STATS_FOREACH", r"X\((\w+),"),
    ("vsp-net/vsp.h", "VSPN_VSP_STATS_FOREACH", r"X\((\w+),"),
    ("vsp-net/vsc.h", "VSPN_VSC_STATS_FOREACH", r"X\((\w+),"),
    ("vswitch/vswitch.h", "VSW_DROP_REASONS", r'XX\(\w+, "(\w+)",'),
    ("vsp-net/tulip_port.c", "TULIP_STATS", r"X\((\w+)\)"),
    ("vsp-net/tulip_port.c", "TULIP_PORT_STATS", r"X\((\w+),"),
]


def macro_body(text, macro):
    m = re.search(r"#define " + macro + r"\(\w+\)((?:.*\\\n)*.*\n)", text)
    if not m:
        sys.exit(f"{macro}: not found")
    return m.group(1)


docs = "".join(p.read_text() for p in sorted((root / "docs").glob("*.md")))
missing = []
total = 0
for header, macro, entry in LISTS:
    names = re.findall(entry, macro_body((root / header).read_text(), macro))
    if not names:
        sys.exit(f"{header}: {macro} has no entries")
    total += len(names)
    missing += [f"{header}: {n}" for n in names if f"`{n}`" not in docs]
if missing:
    print("counters no document in docs/ names (as `name`):")
    print("\n".join("  " + m for m in missing))
    sys.exit(1)
print(f"{total} counters and drop reasons, each documented")
