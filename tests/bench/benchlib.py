#!/usr/bin/python3
"""Helpers for tests/bench/run.sh (plain python3, no third-party modules).

Counter samples.  Every engine's counters end up in one "samples" file:

    @ <unix time, seconds>
    <port> <rx packets> <tx packets>
    ...

one block per sample; a window is the difference between two blocks, with
the wall-clock time between them as its length.  A counter the answer did
not have is written as "?WHERE" (WHERE names the key) instead of a number:
the parsers never take a missing counter as 0, and `windows` stops with
that name when a figure needs it.

Sub-commands:

  tstamp LOG PIDFILE -- CMD...      run CMD, write its pid to PIDFILE and its
                                    stdout+stderr to LOG, each line prefixed
                                    with the time it was read ("<t> | line")
  testpmd-samples LOG               testpmd --stats-period log (tstamp'ed)
                                    -> samples on stdout (port = port id)
  ovs-counters T0 T1 FILE           `ovs-appctl dpctl/show -s` output -> one
                                    sample block at (T0+T1)/2
  vesper-counters T0 T1 FILE        `vesperctl --json stats` output -> one
                                    sample block at (T0+T1)/2
  vesper-fdb FILE                   `vesperctl --json switch show` -> fdb_entries
                                    (exit 2 naming the key when it is missing)
  vesper-drops FILE                 `vesperctl --json stats` -> non-zero drop counters
  vesper-port-link FILE             `vesperctl --json port show` -> its link (up/down)
  vesper-port-vlan FILE             `vesperctl --json port show` -> its vlan_summary
  windows SAMPLES OUT IN START SECS REPS
                                    REPS consecutive windows of about SECS s,
                                    the first one beginning at the first
                                    sample at or after START; OUT and IN are
                                    comma lists of ports whose TX resp. RX
                                    are summed.  Prints "rep mpps_out mpps_in dt".
                                    Exit 2 when a counter it needs is missing.
  vesper-config SCEN TRAFFIC FILE   write vesperd's configuration document
  static-fdb SET TRAFFIC            "vlan mac" of the B-side hosts of SET

Guest paths (synth-pair, legacy-pair):

  vesper-vm-counters T0 T1 [--witness STATS] FILE...
                                    `vesperctl --json vm show VM` outputs ->
                                    one sample block at (T0+T1)/2, one row per
                                    NIC (port VM.NIC).  Synthetic NIC: rx =
                                    frames the VSP took from the guest
                                    (g2h_frames), tx = frames it wrote into
                                    the guest's receive buffer (h2g_frames).
                                    Legacy NIC (emulated 21140A): rx = frames
                                    the device took from the guest's transmit
                                    ring (datapath.device.tx_frames), tx =
                                    frames it wrote into the guest's receive
                                    descriptors (datapath.rx_delivered); plus
                                    a row VM.NIC#traps with the trapped
                                    accesses to the device (`traps`) in both
                                    columns.  --witness: also the row
                                    "witness" (rx_packets, tx_packets) of a
                                    `vesperctl --json stats witness` answer,
                                    missing-counter tokens when it is
                                    unreadable or lacks the port
  vesper-vm-drops FILE...           non-zero drop counters of those NICs
  vesper-guest-result FILE          `vesper-guest bench` result line ->
                                    "tx_mpps rx_mpps seconds" (+ " traps_per_rx"
                                    when it drove a legacy NIC)
  vesper-guest-samples FILE         its --interval-ms progress lines -> samples:
                                    port A (tx = frames sent on NIC A), port B
                                    (rx = frames received on NIC B), port traps
                                    (its trapped accesses, both columns)
  tsc [HELPER]                      the TSC rate: "MHZ<tab>source", or
                                    "n/a<tab>why": the kernel log, else
                                    HELPER (tests/bench/tsc_hz) measures it;
                                    never /proc/cpuinfo "cpu MHz" (a core
                                    clock, not the TSC rate)
  proc-jiffies PID...               utime+stime (clock ticks) of those
                                    processes, summed (gone ones count 0)
  median-windows                    "rep out in dt" lines on stdin ->
                                    "median_out median_in total_dt"
"""
import json
import os
import signal
import subprocess
import sys
import time

SWITCH = "bench"
# The witness port of every scenario (tests/bench/README.md, Flooding): a
# net_null sink in the same VLANs as the traffic (in the guest paths: as the
# VM NICs), to which the switch sends only what it floods.  Its TX over the
# windows ÷ the figure's TX is the share of frames flooded instead of
# forwarded by an FDB hit.
WITNESS = "witness"


def die(msg):
    sys.stderr.write("benchlib: %s\n" % msg)
    sys.exit(2)


# ---------------------------------------------------------------- tstamp
def cmd_tstamp(args):
    if len(args) < 4 or args[2] != "--":
        die("usage: tstamp LOG PIDFILE -- CMD...")
    log, pidfile, cmd = args[0], args[1], args[3:]
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL)
    with open(pidfile + ".tmp", "w") as f:
        f.write("%d\n" % child.pid)
    os.replace(pidfile + ".tmp", pidfile)

    def forward(sig, _frame):
        try:
            child.send_signal(sig)
        except ProcessLookupError:
            pass
    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGTERM, forward)
    with open(log, "w") as out:
        for line in iter(child.stdout.readline, b""):
            out.write("%.6f | %s" % (time.time(), line.decode("utf-8", "replace")))
            out.flush()
    return child.wait()


# ---------------------------------------------------------------- samples
def cmd_testpmd_samples(args):
    """Each 'Port statistics' block printed by --stats-period becomes one
    sample, stamped with the time its header line was read."""
    cur = None
    port = None
    blocks = []
    with open(args[0], errors="replace") as f:
        for raw in f:
            t, _, line = raw.partition(" | ")
            if "Port statistics" in line:
                cur = {"t": float(t), "ports": {}}
                blocks.append(cur)
                continue
            if cur is None:
                continue
            w = line.split()
            if "NIC statistics for port" in line:
                port = w[w.index("port") + 1]
                cur["ports"][port] = [missing("port%s.RX-packets" % port),
                                      missing("port%s.TX-packets" % port)]
            elif port is not None and w[:1] == ["RX-packets:"] and w[1:2] and w[1].isdigit():
                cur["ports"][port][0] = int(w[1])
            elif port is not None and w[:1] == ["TX-packets:"] and w[1:2] and w[1].isdigit():
                cur["ports"][port][1] = int(w[1])
            elif "Telling cores to stop" in line:
                cur = None
    for b in blocks:
        print_block(b["t"], b["ports"])


def print_block(t, ports):
    print("@ %.6f" % t)
    for name, (rx, tx) in ports.items():
        print("%s %s %s" % (name, rx, tx))


# A counter an answer lacks is never taken as 0: a renamed key would
# otherwise read as a port that forwarded nothing, i.e. 0.000 Mpps that
# passes for a figure.  A sample carries it as the token "?WHERE" (WHERE
# names the key) in its column, and `windows` stops with that name when a
# figure needs it; a column no figure uses may be missing.
MISSING = "?"


def missing(what):
    """The token for a missing counter: "?" + what, blanks made "_" (a
    sample row is three blank-separated fields)."""
    return MISSING + "_".join(str(what).split())


def counter(obj, key, where):
    """obj[key] as an int, or the missing-counter token naming where.key."""
    v = obj.get(key) if isinstance(obj, dict) else None
    if isinstance(v, bool) or not isinstance(v, int):
        if isinstance(v, str) and v.isdigit():
            return int(v)
        return missing((where + "." if where else "") + key)
    return v


def cmd_ovs_counters(args):
    t = (float(args[0]) + float(args[1])) / 2
    ports = {}
    name = None
    with open(args[2]) as f:
        for line in f:
            w = line.split()
            if len(w) >= 3 and w[0] == "port" and w[1].endswith(":"):
                name = w[2]
                # "packets:?" (a counter the port does not have) or no line: missing
                ports[name] = [missing("%s.RX.packets" % name), missing("%s.TX.packets" % name)]
            elif name and len(w) >= 2 and w[0] in ("RX", "TX") and w[1].startswith("packets:"):
                v = w[1].split(":")[1]
                if v.isdigit():
                    ports[name][0 if w[0] == "RX" else 1] = int(v)
    print_block(t, ports)


def stats_ports(doc, path):
    """{port: [rx_packets, tx_packets]} of a `vesperctl --json stats [PORT]`
    answer (a missing counter as its token); exit 2 when it has no ports."""
    if isinstance(doc, dict) and "result" in doc and isinstance(doc["result"], dict):   # raw JSON-RPC answer
        doc = doc["result"]
    if not isinstance(doc, dict) or not isinstance(doc.get("ports"), list):
        die("%s: no \"ports\" array in the stats answer" % path)
    ports = {}
    for p in doc["ports"]:
        name = p.get("name") if isinstance(p, dict) else None
        if not isinstance(name, str):
            die("%s: a port without a \"name\" in the stats answer" % path)
        ports[name] = [counter(p, "rx_packets", "ports[%s]" % name),
                       counter(p, "tx_packets", "ports[%s]" % name)]
    return ports


def cmd_vesper_counters(args):
    t = (float(args[0]) + float(args[1])) / 2
    with open(args[2]) as f:
        doc = json.load(f)
    print_block(t, stats_ports(doc, args[2]))


def load_answer(path):
    """A vesperctl --json answer from path: its "result" if it is wrapped in
    one; exit 2 naming the file when it cannot be read or parsed."""
    try:
        with open(path) as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        die("%s: %s" % (path, e))
    if isinstance(doc, dict) and isinstance(doc.get("result"), dict):
        doc = doc["result"]
    return doc


def cmd_vesper_port_link(args):
    """"link" of a `vesperctl --json port show` answer ("up"/"down"); exit 2
    naming the key when it is missing."""
    doc = load_answer(args[0])
    if not isinstance(doc, dict) or not isinstance(doc.get("link"), str):
        die("%s: no \"link\" in the port show answer" % args[0])
    print(doc["link"])


def cmd_vesper_port_vlan(args):
    """"vlan_summary" of a `vesperctl --json port show` answer (e.g.
    "access 1"); exit 2 naming the key when it is missing."""
    doc = load_answer(args[0])
    if not isinstance(doc, dict) or not isinstance(doc.get("vlan_summary"), str):
        die("%s: no \"vlan_summary\" in the port show answer" % args[0])
    print(doc["vlan_summary"])


def cmd_vesper_drops(args):
    """Non-zero drop counters (summed over ports) of a `vesperctl --json stats` answer."""
    try:
        with open(args[0]) as f:
            doc = json.load(f)
        if "result" in doc and isinstance(doc["result"], dict):
            doc = doc["result"]
        tot = {}
        for p in doc.get("ports", []):
            for k, v in (p.get("drops") or {}).items():
                if isinstance(v, int) and v:
                    tot[k] = tot.get(k, 0) + v
        print(" ".join("%s=%d" % kv for kv in sorted(tot.items())) or "none")
    except (OSError, ValueError, TypeError, AttributeError):
        print("unknown")


def _vm_show(path):
    with open(path) as f:
        doc = json.load(f)
    if "result" in doc and isinstance(doc["result"], dict):   # raw JSON-RPC answer
        doc = doc["result"]
    return doc


def _vm_nics(doc):
    """(port name, datapath dict, vsp dict, channel counters) per NIC of a `vm show`."""
    for ch in doc.get("channels") or []:
        port = ch.get("port") or "%s.%s" % (doc.get("name", "?"), ch.get("nic", "?"))
        dp = ch.get("datapath") or {}
        yield port, dp, dp.get("vsp") or {}, ch.get("counters") or {}


def _vm_devices(doc):
    """(port name, device entry, datapath dict, model counters) per legacy NIC of a `vm show`."""
    for dv in doc.get("devices") or []:
        port = dv.get("port") or "%s.%s" % (doc.get("name", "?"), dv.get("nic", "?"))
        dp = dv.get("datapath") or {}
        yield port, dv, dp, dp.get("device") or {}


def witness_row(path):
    """[rx, tx] of the witness port from a `vesperctl --json stats witness`
    answer in path.  An answer that cannot be read or lacks the port gives
    missing-counter tokens, not an error: the VM NICs' counters of the same
    sample stay usable, and the witness's window (add_windows) stops naming
    it, so there is no figure (forwarding cannot be told from flooding)."""
    where = "ports[%s]" % WITNESS
    try:
        with open(path) as f:
            doc = json.load(f)
    except (OSError, ValueError):
        return [missing("stats-answer(unreadable)." + where)] * 2
    if isinstance(doc, dict) and isinstance(doc.get("result"), dict):
        doc = doc["result"]
    ps = [p for p in (doc.get("ports") if isinstance(doc, dict) else None) or []
          if isinstance(p, dict) and p.get("name") == WITNESS]
    if not ps:
        return [missing(where + "(absent)")] * 2
    return [counter(ps[0], "rx_packets", where), counter(ps[0], "tx_packets", where)]


def cmd_vesper_vm_counters(args):
    t = (float(args[0]) + float(args[1])) / 2
    ports = {}
    args = args[2:]
    if args[:1] == ["--witness"]:
        # the guest paths' witness port (README "Flooding"), sampled with
        # the NICs so that it is cut into the same windows
        if len(args) < 2:
            die("usage: vesper-vm-counters T0 T1 [--witness STATS] FILE...")
        ports[WITNESS] = witness_row(args[1])
        args = args[2:]
    for path in args:
        doc = _vm_show(path)
        for port, _dp, vsp, _c in _vm_nics(doc):
            # vsp leaves zero counters out, so an absent key is either 0 or a
            # renamed counter; after the warm-up both NICs have sent and
            # received (the guest's broadcasts), so a figure that needs it
            # stops on it (windows) rather than reading 0
            where = port + ".datapath.vsp"
            ports[port] = [counter(vsp, "g2h_frames", where), counter(vsp, "h2g_frames", where)]
        for port, dv, dp, dev in _vm_devices(doc):
            ports[port] = [counter(dev, "tx_frames", port + ".datapath.device"),
                           counter(dp, "rx_delivered", port + ".datapath")]
            traps = counter(dv, "traps", port + ".devices[]")
            ports[port + "#traps"] = [traps, traps]
    if not [p for p in ports if p != WITNESS]:
        die("no NIC counters in %s" % " ".join(args))
    print_block(t, ports)


# synthetic NICs: the port's datapath counters that are frames lost on the way
# (a key the answer lacks is skipped)
VM_DROP_KEYS_DP = ("no_mbuf", "stage_full", "guest_refused")
# legacy NICs: datapath counters that are frames lost on the way
VM_DROP_KEYS_DEV = ("guest_runts", "no_mbuf", "to_switch_full", "rx_missed", "rx_filtered",
                    "rx_invalid", "rx_stopped", "rx_dma_error", "rx_no_guest", "to_guest_full",
                    "device_resets")


def cmd_vesper_vm_drops(args):
    out = []
    try:
        for path in args:
            for port, dp, vsp, ch in _vm_nics(_vm_show(path)):
                d = {k: dp[k] for k in VM_DROP_KEYS_DP if isinstance(dp.get(k), int) and dp[k]}
                for k, v in vsp.items():
                    if (k.startswith(("g2h_", "h2g_")) and not k.endswith(("_frames", "_bytes", "_batches"))
                            or k in ("violations", "comp_dropped", "ctrl_dropped", "guest_rx_nack")) \
                            and isinstance(v, int) and v:
                        d["vsp." + k] = v
                if isinstance(ch.get("ring_full"), int) and ch["ring_full"]:
                    d["ring_full"] = ch["ring_full"]
                if d:
                    out.append("%s: %s" % (port, " ".join("%s=%d" % kv for kv in sorted(d.items()))))
            for port, _dv, dp, dev in _vm_devices(_vm_show(path)):
                d = {k: dp[k] for k in VM_DROP_KEYS_DEV if isinstance(dp.get(k), int) and dp[k]}
                for k in ("tx_dropped", "rx_dropped", "dma_errors"):
                    if isinstance(dev.get(k), int) and dev[k]:
                        d["device." + k] = dev[k]
                if d:
                    out.append("%s: %s" % (port, " ".join("%s=%d" % kv for kv in sorted(d.items()))))
        print("; ".join(out) or "none")
    except (OSError, ValueError, TypeError, AttributeError):
        print("unknown")


def _guest_lines(path):
    """The JSON lines `vesper-guest bench` printed (progress and result)."""
    try:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line.startswith("{"):
                    try:
                        yield json.loads(line)
                    except ValueError:
                        pass
    except OSError:
        pass


def cmd_vesper_guest_result(args):
    """The result line of `vesper-guest bench` -> "tx_mpps rx_mpps seconds [traps_per_rx]"."""
    doc = None
    for d in _guest_lines(args[0]):
        if "rx_pps" in d:
            doc = d
    if not doc:
        die("%s: no result line" % args[0])
    for k in ("tx_pps", "rx_pps", "seconds"):
        if not isinstance(doc.get(k), (int, float)):
            die("%s: result line without \"%s\"" % (args[0], k))
    out = "%.4f %.4f %.3f" % (doc["tx_pps"] / 1e6, doc["rx_pps"] / 1e6, doc["seconds"])
    if "traps_per_rx" in doc:
        out += " %.4f" % doc["traps_per_rx"]
    print(out)


def cmd_vesper_guest_samples(args):
    """--interval-ms progress lines ({"t","tx_frames","rx_frames","traps"}) -> samples."""
    n = 0
    for d in _guest_lines(args[0]):
        if "t" not in d or "rx_pps" in d:
            continue
        traps = counter(d, "traps", "progress_line")
        # A has no rx and B no tx column in the guest's count
        print_block(float(d["t"]), {"A": [missing("A.rx(not-counted)"), counter(d, "tx_frames", "progress_line")],
                                    "B": [counter(d, "rx_frames", "progress_line"), missing("B.tx(not-counted)")],
                                    "traps": [traps, traps]})
        n += 1
    if not n:
        die("%s: no progress lines" % args[0])


# ---------------------------------------------------------------- TSC rate
def tsc_from_kernel_log(text):
    """The TSC rate (MHz) the kernel settled on, from its boot log, and the
    line it came from; (None, None) when the log does not say.  The kernel
    prints "tsc: Detected N MHz processor" (cpu_khz), then "tsc: Detected N
    MHz TSC" only when the TSC runs at another rate, and "tsc: Refined TSC
    clocksource calibration: N MHz" when it recalibrated: the last of these
    that applies is the TSC's rate."""
    import re
    found = {}
    for line in text.splitlines():
        for kind, pat in (("refined", r"tsc: Refined TSC clocksource calibration: ([0-9.]+) MHz"),
                          ("tsc", r"tsc: Detected ([0-9.]+) MHz TSC"),
                          ("processor", r"tsc: Detected ([0-9.]+) MHz processor")):
            m = re.search(pat, line)
            if m:
                found[kind] = (float(m.group(1)), line.split("]", 1)[-1].strip())
    for kind in ("refined", "tsc", "processor"):
        if kind in found:
            return found[kind]
    return None, None


def tsc_mhz(helper=None):
    """(MHz, source) of the TSC, or (None, why not).  Only a real TSC rate:
    the kernel's boot log (dmesg, else journalctl -k), where it states the
    rate it calibrated or read from CPUID; else, when given, the helper
    tests/bench/tsc_hz (built with the tree), which measures TSC ticks
    against CLOCK_MONOTONIC_RAW.  /proc/cpuinfo "cpu MHz" is the core clock
    (it changes with frequency scaling), not the TSC rate, so it is not
    used."""
    tried = []
    for cmd in (["dmesg"], ["journalctl", "-k", "-b", "--no-pager", "-q"]):
        try:
            r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               timeout=10, check=False)
        except (OSError, subprocess.SubprocessError):
            tried.append(cmd[0] + " unavailable")
            continue
        mhz, line = tsc_from_kernel_log(r.stdout.decode("utf-8", "replace"))
        if mhz:
            return mhz, "kernel log (%s): %s" % (cmd[0], line)
        tried.append(cmd[0] + (" has no tsc line" if r.returncode == 0 else " failed"))
    if helper:
        try:
            r = subprocess.run([helper], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               timeout=10, check=False)
            v = float(r.stdout.decode().strip()) if r.returncode == 0 else 0.0
            if v > 0:
                return v, "measured by %s (TSC ticks over 0.5 s of CLOCK_MONOTONIC_RAW)" % helper
            tried.append("%s failed" % helper)
        except (OSError, ValueError, subprocess.SubprocessError):
            tried.append("%s unavailable" % helper)
    return None, "TSC rate unknown (%s)" % ", ".join(tried)


def cmd_tsc(args):
    mhz, src = tsc_mhz(args[0] if args else None)
    print("%s\t%s" % ("%.3f" % mhz if mhz else "n/a", src))


def cmd_proc_jiffies(args):
    tot = 0
    for pid in args:
        try:
            with open("/proc/%s/stat" % pid) as f:
                rest = f.read().rpartition(")")[2].split()
            tot += int(rest[11]) + int(rest[12])     # fields 14, 15: utime, stime
        except (OSError, ValueError, IndexError):
            pass
    print(tot)


def cmd_median_windows(_args):
    import statistics
    outs, ins, dt = [], [], 0.0
    for line in sys.stdin:
        w = line.split()
        if len(w) == 4:
            outs.append(float(w[1]))
            ins.append(float(w[2]))
            dt += float(w[3])
    if not outs:
        die("no windows")
    print("%.4f %.4f %.3f" % (statistics.median(outs), statistics.median(ins), dt))


def cmd_vesper_fdb(args):
    """fdb_entries of a `switch show` answer; an error (exit 2, nothing on
    stdout) when the answer is unreadable or lacks the key: never 0."""
    doc = load_answer(args[0])
    v = counter(doc, "fdb_entries", "")
    if not isinstance(v, int):
        die("%s: no counter %s" % (args[0], v[1:]))
    print(v)


def read_samples(path):
    out = []
    with open(path) as f:
        for line in f:
            w = line.split()
            if not w:
                continue
            if w[0] == "@":
                out.append((float(w[1]), {}))
            elif out and len(w) == 3:
                out[-1][1][w[0]] = tuple(int(x) if x.lstrip("-").isdigit() else x for x in w[1:3])
    return out


def cmd_windows(args):
    path, outs, ins = args[0], args[1].split(","), args[2].split(",")
    start, secs, reps = float(args[3]), float(args[4]), int(args[5])
    samples = sorted(read_samples(path), key=lambda s: s[0])
    i = next((k for k, s in enumerate(samples) if s[0] >= start), None)
    if i is None:
        die("%s: no sample after the warm-up" % path)
    for rep in range(1, reps + 1):
        t0, c0 = samples[i]
        j = next((k for k in range(i + 1, len(samples))
                  if samples[k][0] >= t0 + secs - 0.25), None)
        if j is None and len(samples) > i + 1 and samples[-1][0] - t0 >= secs / 2:
            # the last sample of a fixed-grid sampler (take_windows) comes
            # early when the one before it was slow to answer (a loaded
            # machine): its window is shorter, and its rate still exact
            j = len(samples) - 1
        if j is None:
            die("%s: window %d incomplete (%d samples)" % (path, rep, len(samples)))
        t1, c1 = samples[j]
        dt = t1 - t0

        def rate(names, col):
            tot = 0
            for n in names:
                if n not in c0 or n not in c1:
                    die("%s: no counters for port %s" % (path, n))
                for c in (c0, c1):
                    if not isinstance(c[n][col], int):
                        die("%s: port %s: counter %s is missing from the answer (renamed?); "
                            "no figure without it" % (path, n, c[n][col][1:]))
                tot += c1[n][col] - c0[n][col]
            return tot / dt / 1e6
        print("%d %.4f %.4f %.3f" % (rep, rate(outs, 1), rate(ins, 0), dt))
        i = j


# ---------------------------------------------------------------- configs
def read_hosts(traffic, name):
    with open(os.path.join(traffic, name + ".hosts.tsv")) as f:
        next(f)
        for line in f:
            h, side, vlan, mac = line.split()
            yield int(h), side, int(vlan), mac


def vlan_access_ports():
    return ["a%d" % v for v in range(100, 116)]


def cmd_static_fdb(args):
    for _h, side, vlan, mac in read_hosts(args[1], args[0]):
        if side == "B":
            print(vlan, mac)


def vesper_config(scen, traffic):
    def pcap(idx, fname):
        return "net_pcap%d,rx_pcap=%s,infinite_rx=1" % (idx, os.path.join(traffic, fname))
    if scen in ("l2-1k", "l2-64k"):
        fdb_max = 131072 if scen == "l2-64k" else 8192
        access1 = {"mode": "access", "vid": 1}
        ports = [
            {"name": "p0", "switch": SWITCH, "class": "dpdk",
             "devargs": pcap(0, scen + ".A.pcap"), "vlan": access1},
            {"name": "p1", "switch": SWITCH, "class": "dpdk",
             "devargs": pcap(1, scen + ".B.pcap"), "vlan": access1},
            # the witness: a flood reaches it, a lookup hit never does
            {"name": WITNESS, "switch": SWITCH, "class": "dpdk",
             "devargs": "net_null0,no-rx=1", "vlan": access1},
        ]
        static = []
    elif scen == "vlan-access":
        fdb_max = 8192
        ports = [{"name": "p0", "switch": SWITCH, "class": "dpdk",
                  "devargs": pcap(0, "vlan-1k.A.pcap"),
                  "vlan": {"mode": "trunk", "allowed": "100-115"}}]
        for i, name in enumerate(vlan_access_ports()):
            ports.append({"name": name, "switch": SWITCH, "class": "dpdk",
                          "devargs": "net_null%d,no-rx=1" % i,
                          "vlan": {"mode": "access", "vid": 100 + i}})
        # the witness, a member of every VLAN of the traffic: a flood in
        # any of them reaches it, a lookup hit never does
        ports.append({"name": WITNESS, "switch": SWITCH, "class": "dpdk",
                      "devargs": "net_null16,no-rx=1",
                      "vlan": {"mode": "trunk", "allowed": "100-115"}})
        static = [{"switch": SWITCH, "vlan": vlan, "mac": mac, "port": "a%d" % vlan}
                  for _h, side, vlan, mac in read_hosts(traffic, "vlan-1k") if side == "B"]
    elif scen in ("synth-pair", "legacy-pair"):
        # the switch and the witness: run.sh adds the two VMs and their
        # synthetic (legacy) NICs with vesperctl (vm add / vm nic add) once
        # vesperd is up.  With two NICs a flood from A reaches B exactly as
        # a lookup hit does; the witness, in the NICs' VLAN (vm nic add
        # without --access/--trunk gives access VLAN 1, checked after the
        # windows), gets a copy of every flooded frame and nothing else.
        fdb_max = 8192
        ports = [{"name": WITNESS, "switch": SWITCH, "class": "dpdk",
                  "devargs": "net_null0,no-rx=1", "vlan": {"mode": "access", "vid": 1}}]
        static = []
    else:
        die("no vesper configuration for scenario %r" % scen)
    return {
        "version": 1,
        "switches": [{"name": SWITCH, "type": "private", "fdb_max": fdb_max, "aging_s": 300}],
        "ports": ports,
        "fdb_static": static,
    }


def cmd_vesper_config(args):
    scen, traffic, path = args
    doc = vesper_config(scen, os.path.abspath(traffic))
    with open(path + ".tmp", "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    os.replace(path + ".tmp", path)


CMDS = {
    "tstamp": cmd_tstamp,
    "testpmd-samples": cmd_testpmd_samples,
    "ovs-counters": cmd_ovs_counters,
    "vesper-counters": cmd_vesper_counters,
    "vesper-fdb": cmd_vesper_fdb,
    "vesper-drops": cmd_vesper_drops,
    "vesper-port-link": cmd_vesper_port_link,
    "vesper-port-vlan": cmd_vesper_port_vlan,
    "windows": cmd_windows,
    "vesper-config": cmd_vesper_config,
    "static-fdb": cmd_static_fdb,
    "vesper-vm-counters": cmd_vesper_vm_counters,
    "vesper-vm-drops": cmd_vesper_vm_drops,
    "vesper-guest-result": cmd_vesper_guest_result,
    "vesper-guest-samples": cmd_vesper_guest_samples,
    "proc-jiffies": cmd_proc_jiffies,
    "tsc": cmd_tsc,
    "median-windows": cmd_median_windows,
}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in CMDS:
        die("usage: benchlib.py {%s} ..." % ",".join(CMDS))
    sys.exit(CMDS[sys.argv[1]](sys.argv[2:]) or 0)
