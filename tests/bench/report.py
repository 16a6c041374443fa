#!/usr/bin/python3
"""Summarise the windows measured by tests/bench/run.sh.

    report.py WINDOWS.tsv OUTDIR [MODE SCENARIO...]

WINDOWS.tsv has one row per measured window:
    scenario  mode  engine  rep  mpps_out  mpps_in  dt_s  cpu_busy_pct  [other_busy_pct  [traps_per_pkt
    [witness_mpps  fdb_entries  fdb_expected]]]
(engine: vesper, ovs, testpmd; mode: hugepages or no-huge; cpu_busy_pct:
how busy all CPUs were while that engine was measured, empty when unknown;
other_busy_pct: the share of all CPUs used by processes other than the
engine's own, measured for guest paths, where the engine's own processes
poll on every CPU; traps_per_pkt: trapped register accesses per packet out,
legacy-pair only; witness_mpps: TX rate of the witness port, which only
floods reach, in the same window (Vesper and OVS, every scenario);
fdb_entries, fdb_expected: Vesper's FDB before the windows of that start
and what the traffic teaches (guest paths: 2, the NICs' MACs)).
For a guest path (synth-pair, legacy-pair) mpps_out is what the host
delivered into guest NIC B and mpps_in what it took from guest NIC A
(offered).  legacy-pair has no OVS or testpmd figure by design (OVS has no
emulated NIC).
OUTDIR/guest.tsv (optional) holds the guests' own counts:
    scenario  mode  engine  span  tx_mpps  rx_mpps  seconds  [traps_per_rx]

Prints a table and the target check, and writes
  OUTDIR/results.json         [{"scenario","vesper_mpps","ovs_mpps","testpmd_mpps",
                                 "vs_ovs","vs_testpmd","mode"}]  (medians);
                              every row adds "vesper_flooded_pct",
                              "ovs_flooded_pct" (Σ witness TX ÷ Σ figure TX
                              over the windows, %; for a guest path the
                              figure is what guest NIC B received),
                              "vesper_fdb_entries" (the smallest over the
                              starts), "vesper_fdb_expected", "vesper_check"
                              ("ok", "warn": FDB short or unknown, "fail":
                              flooded more than FLOOD_LIMIT_PCT, or null:
                              not measured) and "vesper_check_note";
                              guest-path rows add "kind": "guest",
                              "vesper_offered_mpps", "ovs_offered_mpps",
                              "vesper_loss_pct", "ovs_loss_pct",
                              "vesper_traps_per_pkt" (Σ trapped accesses ÷ Σ
                              received over the windows; null for synth-pair:
                              a synthetic NIC makes none) and "vs_synth_pair"
                              (vesper_mpps ÷ synth-pair's vesper_mpps in the
                              same mode; null for synth-pair itself or when it
                              was not measured); testpmd_mpps and vs_testpmd
                              are null (no such ceiling), and for legacy-pair
                              so are every ovs_* figure and vs_ovs
  OUTDIR/results-detail.json  per scenario and engine: every window, median,
                              min, max, cycles/packet (TSC Hz / median rate;
                              null when the TSC rate is unknown)
Every SCENARIO given gets a row (in MODE) even when nothing was measured
for it.  A missing figure is null, and so is a ratio that needs it.  The exit status
is 0 even when a target is missed (a benchmark is not a test), and 3 when
a Vesper figure failed its flood check (it measured flooding, not FDB
forwarding).

The TSC rate comes from the environment (BENCH_TSC_MHZ, BENCH_TSC_SOURCE:
run.sh sets them, see benchlib.py tsc), else from the kernel log; unknown,
cycles/packet is n/a.
"""
import csv
import json
import os
import statistics
import sys

import benchlib

ENGINES = ("vesper", "ovs", "testpmd")
ORDER = ("l2-1k", "l2-64k", "vlan-access", "synth-pair", "legacy-pair")
GUEST = {"synth-pair", "legacy-pair"}   # guest paths: figure = received on guest NIC B
NO_OVS = {"legacy-pair"}  # OVS has no emulated NIC: no peer figure by design
# scenario: (Vesper / OVS-DPDK, Vesper / testpmd io, where the testpmd bar comes from)
TARGETS = {
    "l2-1k": (3.0, 0.75, "issue 2 §7"),
    "l2-64k": (8.0, 0.65, "issue 2 §7"),
    "vlan-access": (4.0, 0.65, "BENCH.md"),
}
LABEL = {
    "l2-1k": "L2 learning A<->B, 1,024 MACs",
    "l2-64k": "L2 learning A<->B, 65,536 MACs",
    "vlan-access": "VLAN trunk -> 16 access ports",
    "synth-pair": "guest NIC A -> guest NIC B, one guest thread",
    "legacy-pair": "emulated 21140A A -> B, one guest thread",
}
OTHER_LOAD_WARN = 10.0   # % of all CPUs used by other processes (guest paths)
# A Vesper figure (switching scenario or guest path) fails when more than
# this share of the frames it counts in the windows were flooded (reached
# the witness port), not forwarded by an FDB hit.  After the warm-up every
# destination is known: a correct switch floods nothing (0.00 %), a broken
# lookup floods everything (100 %).
FLOOD_LIMIT_PCT = 1.0
EXIT_CHECK_FAILED = 3


def tsc_mhz():
    """(MHz, source) of the TSC or (None, why): BENCH_TSC_MHZ and
    BENCH_TSC_SOURCE (run.sh), else the kernel log (benchlib.tsc_mhz)."""
    env = os.environ.get("BENCH_TSC_MHZ")
    if env is not None:
        try:
            v = float(env)
            if v > 0:
                return v, os.environ.get("BENCH_TSC_SOURCE") or "BENCH_TSC_MHZ"
        except ValueError:
            pass
        return None, os.environ.get("BENCH_TSC_SOURCE") or "TSC rate unknown"
    return benchlib.tsc_mhz()


def opt_float(r, k):
    """A number of the row, or None when the column is missing or empty."""
    v = r.get(k)
    return None if v in (None, "") else float(v)


def rnd(x, n=3):
    return None if x is None else round(x, n)


def busy_of(vals):
    """The highest known cpu_busy_pct of the windows, None when none is known."""
    known = [v for v in vals or [] if v is not None]
    return max(known) if known else None


def flooded_pct(w):
    """100 × Σ witness TX ÷ Σ figure TX over the windows [(witness, out, dt)]."""
    out = sum(x[1] * x[2] for x in w)
    return 100.0 * sum(x[0] * x[2] for x in w) / out if out > 0 else None


def flood_check(res, scen, mode, d, wit, fdb):
    """Adds to a scenario's row the flooded shares, Vesper's FDB and the
    verdict on Vesper's figure (README "Flooding").  Switching scenarios
    and guest paths alike: in a guest path the figure is what the host put
    into guest NIC B, and the FDB should hold the two NICs' MACs."""
    for e in ("vesper", "ovs"):
        w = wit.get((scen, mode, e))
        res[e + "_flooded_pct"] = rnd(flooded_pct(w), 2) if w else None
    f = fdb.get((scen, mode, "vesper"), [])
    ent = [x[0] for x in f]
    res["vesper_fdb_entries"] = None if not f or None in ent else int(min(ent))
    res["vesper_fdb_expected"] = int(max(x[1] for x in f)) if f else None
    fl, n, want = res["vesper_flooded_pct"], res["vesper_fdb_entries"], res["vesper_fdb_expected"]
    notes = []
    if not d["vesper"]:
        check = None
    elif fl is None:
        check = None
        notes.append("no witness counters: forwarding not checked")
    elif fl > FLOOD_LIMIT_PCT:
        check = "fail"
        notes.append("Vesper flooded %.2f %% of the frames %s (limit %.0f %%): its FDB lookups missed, "
                     "the figure measures flooding, not forwarding"
                     % (fl, "it put into guest NIC B" if scen in GUEST else "it sent", FLOOD_LIMIT_PCT))
    else:
        check = "ok"
    if d["vesper"] and want is not None:
        if n is None:
            notes.append("FDB size before the windows unknown")
        elif n < want:
            notes.append("FDB held %d of %d entries before the windows" % (n, want))
        if (n is None or n < want) and check == "ok":
            check = "warn"
    res["vesper_check"] = check
    res["vesper_check_note"] = "; ".join(notes) or None


def main():
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    tsv, outdir = sys.argv[1], sys.argv[2]
    wanted = [(s, sys.argv[3]) for s in sys.argv[4:]] if len(sys.argv) > 3 else []
    rows = []
    if os.path.exists(tsv):
        with open(tsv) as f:
            rows = [r for r in csv.DictReader(f, delimiter="\t")]
    mhz, mhz_source = tsc_mhz()

    scen_order = list(wanted)
    data = {k: {e: [] for e in ENGINES} for k in wanted}
    ins = {}     # (scenario, mode, engine) -> [(mpps_in, mpps_out, dt)]
    tpp = {}     # (scenario, mode, engine) -> [(traps_per_pkt, mpps_out, dt)]
    busy = {}    # (scenario, mode, engine) -> [cpu_busy_pct or None per window]
    other = {}   # ... -> [other_busy_pct per window that has one]
    wit = {}     # ... -> [(witness_mpps, mpps_out, dt)]
    fdb = {}     # ... -> [(fdb_entries or None, fdb_expected)]
    ncpu = os.cpu_count() or 2
    for r in rows:
        key = (r["scenario"], r["mode"])
        if key not in data:
            data[key] = {e: [] for e in ENGINES}
            scen_order.append(key)
        try:
            data[key][r["engine"]].append(float(r["mpps_out"]))
            ins.setdefault(key + (r["engine"],), []).append(
                (float(r["mpps_in"]), float(r["mpps_out"]), float(r["dt_s"])))
            # unknown stays unknown (None): a 0 would hide contention
            busy.setdefault(key + (r["engine"],), []).append(opt_float(r, "cpu_busy_pct"))
            if opt_float(r, "other_busy_pct") is not None:
                other.setdefault(key + (r["engine"],), []).append(float(r["other_busy_pct"]))
            if opt_float(r, "witness_mpps") is not None:
                wit.setdefault(key + (r["engine"],), []).append(
                    (float(r["witness_mpps"]), float(r["mpps_out"]), float(r["dt_s"])))
            if opt_float(r, "fdb_expected") is not None:
                fdb.setdefault(key + (r["engine"],), []).append(
                    (opt_float(r, "fdb_entries"), float(r["fdb_expected"])))
            if r.get("traps_per_pkt") not in (None, ""):
                tpp.setdefault(key + (r["engine"],), []).append(
                    (float(r["traps_per_pkt"]), float(r["mpps_out"]), float(r["dt_s"])))
        except (KeyError, ValueError):
            pass
    guest_own = {}   # (scenario, mode, engine) -> guest.tsv row
    gpath = os.path.join(outdir, "guest.tsv")
    if os.path.exists(gpath):
        with open(gpath) as f:
            for r in csv.DictReader(f, delimiter="\t"):
                try:
                    own = {
                        "span": r["span"], "tx_mpps": round(float(r["tx_mpps"]), 4),
                        "rx_mpps": round(float(r["rx_mpps"]), 4),
                        "seconds": round(float(r["seconds"]), 2)}
                    if r.get("traps_per_rx") not in (None, ""):
                        own["traps_per_rx"] = round(float(r["traps_per_rx"]), 4)
                    guest_own[(r["scenario"], r["mode"], r["engine"])] = own
                except (KeyError, ValueError):
                    pass
    scen_order.sort(key=lambda k: (ORDER.index(k[0]) if k[0] in ORDER else 99, k[1]))

    # An engine with fewer windows than every engine should have (a start
    # of it failed; run.sh skips its later starts) has no figure: a median
    # of one or two windows beside another engine's of three is no ratio
    # of one run.  run.sh says how many (unset: whatever there is).
    expected = int(os.environ.get("BENCH_WINDOWS_EXPECTED", "0") or 0)
    results, detail = [], []
    for scen, mode in scen_order:
        d = data[(scen, mode)]
        short = [e for e in ENGINES if d[e] and len(d[e]) < expected]
        for e in short:
            print("%s (%s): %s has %d of %d windows: no figure" %
                  (scen, mode, e, len(d[e]), expected), file=sys.stderr)
        med = {e: (statistics.median(d[e]) if d[e] and e not in short else None)
               for e in ENGINES}

        def ratio(a, b):
            return None if a is None or not b else a / b
        res = {
            "scenario": scen,
            "vesper_mpps": rnd(med["vesper"]),
            "ovs_mpps": rnd(med["ovs"]),
            "testpmd_mpps": rnd(med["testpmd"]),
            "vs_ovs": rnd(ratio(med["vesper"], med["ovs"])),
            "vs_testpmd": rnd(ratio(med["vesper"], med["testpmd"])),
            "mode": mode,
        }
        det = {"scenario": scen, "mode": mode, "tsc_mhz": mhz, "tsc_source": mhz_source}
        if scen in GUEST:
            res["kind"] = det["kind"] = "guest"
            for e in ("vesper", "ovs"):
                w = ins.get((scen, mode, e), [])
                offered = statistics.median([x[0] for x in w]) if w else None
                sent = sum(x[0] * x[2] for x in w)
                got = sum(x[1] * x[2] for x in w)
                res[e + "_offered_mpps"] = rnd(offered)
                res[e + "_loss_pct"] = rnd(100.0 * (1 - got / sent), 2) if sent > 0 else None
            # Σ traps ÷ Σ received over the windows (each window: its
            # traps/pkt × its packets)
            t = tpp.get((scen, mode, "vesper"), [])
            pk = sum(x[1] * x[2] for x in t)
            res["vesper_traps_per_pkt"] = rnd(sum(x[0] * x[1] * x[2] for x in t) / pk, 4) if pk > 0 else None
            res["vs_synth_pair"] = None
        flood_check(res, scen, mode, d, wit, fdb)
        results.append(res)
        for e in ENGINES:
            w = d[e]
            det[e] = None if not w else {
                "windows_mpps": [round(x, 4) for x in w],
                "median": rnd(med[e], 4), "min": rnd(min(w), 4), "max": rnd(max(w), 4),
                "cycles_per_packet": rnd(mhz / med[e], 1) if med[e] and mhz else None,
                "cpu_busy_pct": busy_of(busy.get((scen, mode, e))),
                "cpu_busy_known": None not in busy.get((scen, mode, e), [None]),
            }
            if det[e] is not None and (scen, mode, e) in wit:
                det[e]["witness_mpps_windows"] = [round(x[0], 4) for x in wit[(scen, mode, e)]]
                det[e]["flooded_pct"] = res.get(e + "_flooded_pct")
            if det[e] is not None and scen in GUEST:
                det[e]["offered_windows_mpps"] = [round(x[0], 4) for x in ins.get((scen, mode, e), [])]
                det[e]["offered_median"] = res.get(e + "_offered_mpps")
                det[e]["loss_pct"] = res.get(e + "_loss_pct")
                det[e]["other_busy_pct"] = max(other[(scen, mode, e)]) if (scen, mode, e) in other else None
                det[e]["guest_own"] = guest_own.get((scen, mode, e))
                if (scen, mode, e) in tpp:
                    det[e]["traps_per_pkt_windows"] = [round(x[0], 4) for x in tpp[(scen, mode, e)]]
                    det[e]["traps_per_pkt"] = res.get("vesper_traps_per_pkt")
        detail.append(det)

    # legacy ÷ synthetic: the emulated NIC against the synthetic one, same run and mode
    synth = {r["mode"]: r["vesper_mpps"] for r in results if r["scenario"] == "synth-pair"}
    for r in results:
        if r["scenario"] == "legacy-pair" and r["vesper_mpps"] is not None and synth.get(r["mode"]):
            r["vs_synth_pair"] = rnd(r["vesper_mpps"] / synth[r["mode"]], 4)

    os.makedirs(outdir, exist_ok=True)
    for name, doc in (("results.json", results), ("results-detail.json", detail)):
        tmp = os.path.join(outdir, name + ".tmp")
        with open(tmp, "w") as f:
            json.dump(doc, f, indent=2)
            f.write("\n")
        os.replace(tmp, os.path.join(outdir, name))

    def fig(e, det):
        x = det[e]
        if x is None:
            return "n/a" if (e == "testpmd" and det["scenario"] in GUEST) or \
                (e == "ovs" and det["scenario"] in NO_OVS) else "—"
        if len(x["windows_mpps"]) > 1:
            return "%.2f (%.2f–%.2f)" % (x["median"], x["min"], x["max"])
        return "%.2f" % x["median"]

    def rat(x):
        return "—" if x is None else "%.2f×" % x

    def cyc(e, det):
        x = det[e]
        if x is not None and x["cycles_per_packet"] is None and not mhz:
            return "n/a"    # TSC rate unknown
        return "—" if x is None or x["cycles_per_packet"] is None else "%.0f" % x["cycles_per_packet"]

    # One polling core keeps 100/ncpu % of the machine busy; clearly more
    # means something else competed for the cores while we measured.
    quiet = 100.0 / ncpu + 12

    def load(det):
        measured = [e for e in ENGINES if det[e] is not None]
        vals = [det[e]["cpu_busy_pct"] for e in measured if det[e]["cpu_busy_pct"] is not None]
        # an engine whose load was not measured (in some window): "?", never 0
        unknown = [e for e in measured if not det[e]["cpu_busy_known"]]
        if unknown:
            return "%s ? (%s unknown)" % ("%.0f" % max(vals) if vals else "", "/".join(unknown))
        if not vals:
            return "—"
        if det["scenario"] in GUEST:
            # guest and datapath both poll: every CPU is busy by design, so
            # what tells of competition is the share other processes took
            oth = [det[e].get("other_busy_pct") for e in ENGINES if det[e] is not None]
            oth = [x for x in oth if x is not None]
            if not oth:
                return "%.0f" % max(vals)
            return "%.0f (others %.0f)%s" % (max(vals), max(oth), " !" if max(oth) > OTHER_LOAD_WARN else "")
        return "%.0f%s" % (max(vals), " !" if max(vals) > quiet else "")

    def flooded(res):
        def one(e):
            x = res.get(e + "_flooded_pct")
            if x is None and e == "ovs" and res["scenario"] in NO_OVS:
                return "n/a"
            return "—" if x is None else "%.2f" % x
        return "%s / %s%s" % (one("vesper"), one("ovs"), " FAIL" if res.get("vesper_check") == "fail" else "")

    def fdbcol(res):
        if res.get("vesper_fdb_expected") is None:
            return "—"
        n, want = res["vesper_fdb_entries"], res["vesper_fdb_expected"]
        if n is None:
            return "? / %d !" % want
        return "%d / %d%s" % (n, want, " !" if n < want else "")

    noisy = unknown_load = False
    print()
    print("| scenario | mode | Vesper Mpps | OVS-DPDK Mpps | testpmd io Mpps | Vesper÷OVS | Vesper÷testpmd"
          " | cycles/pkt V / O / T | cpu busy % | flooded % V / O | Vesper FDB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for res, det in zip(results, detail):
        ld = load(det)
        noisy = noisy or ld.endswith("!")
        unknown_load = unknown_load or "?" in ld
        print("| %s | %s | %s | %s | %s | %s | %s | %s / %s / %s | %s | %s | %s |" % (
            res["scenario"], res["mode"], fig("vesper", det), fig("ovs", det), fig("testpmd", det),
            rat(res["vs_ovs"]), rat(res["vs_testpmd"]),
            cyc("vesper", det), cyc("ovs", det), cyc("testpmd", det), ld, flooded(res), fdbcol(res)))
    if mhz:
        print("\nMpps: median (min–max) of the windows; cycles/pkt = TSC %.3f MHz ÷ median rate, one forwarding core"
              " (TSC rate: %s)." % (mhz, mhz_source))
    else:
        print("\nMpps: median (min–max) of the windows; cycles/pkt n/a: %s." % mhz_source)
    print("cpu busy %%: the busiest engine's measurement, all %d CPUs; the polling core alone is %.0f %%." % (ncpu, 100.0 / ncpu))
    gres = [(res, det) for res, det in zip(results, detail) if res["scenario"] in GUEST]
    if gres:
        print("Guest paths: the guest and the datapath each poll a CPU (100 %% busy by design); \"others\" is the share"
              " of all CPUs taken by other processes (! above %.0f %%)." % OTHER_LOAD_WARN)
    if noisy:
        print("WARNING: rows marked ! ran while other processes used the CPUs; their figures and ratios are not reliable.")
    if unknown_load:
        print("WARNING: rows marked ? have no CPU load for some engine: whether other processes competed is unknown.")
    if results:
        print("flooded %%: Σ TX of the witness port (a sink in the traffic's VLANs that only floods reach) ÷ Σ TX of the"
              " figure's ports over the windows (guest paths: ÷ Σ received on guest NIC B); a Vesper figure above"
              " %.0f %% FAILs (it measured flooding, not FDB forwarding).  Vesper FDB: entries before the windows /"
              " what the traffic teaches (guest paths: the two NICs' MACs; ! short)." % FLOOD_LIMIT_PCT)
    if gres:
        def g(x, fmt="%.3f"):
            return "—" if x is None else fmt % x

        def own(det, e):
            x = det[e] and det[e].get("guest_own")
            if not x:
                return "—"
            tr = (", %.4f traps/pkt" % x["traps_per_rx"]) if x.get("traps_per_rx") is not None else ""
            return "%.3f / %.3f (%s%s)" % (x["tx_mpps"], x["rx_mpps"],
                                          "windows" if x["span"] == "windows" else "whole run", tr)
        print("\nGuest paths (Mpps; received = what the host put into guest NIC B, offered = what it took from guest NIC A;")
        print("traps/pkt = trapped register accesses of both emulated NICs ÷ packets received, from vesperd's counters):")
        print("| scenario | mode | engine | received | offered | loss % | traps/pkt | ÷ synth-pair | guest's own count sent / received |")
        print("|---|---|---|---|---|---|---|---|---|")
        for res, det in gres:
            legacy = res["scenario"] in NO_OVS
            engines = (("vesper", "Vesper (vesper-guest, 21140A, trapped I/O)" if legacy else "Vesper (vesper-guest, VMBus)"),
                       ("ovs", "OVS-DPDK (testpmd virtio_user, vhost-user)"))
            for e, name in engines:
                if e == "ovs" and legacy:
                    print("| %s | %s | OVS-DPDK | n/a | n/a | n/a | n/a | n/a | n/a (OVS has no emulated NIC) |" % (
                        res["scenario"], res["mode"]))
                    continue
                tr = g(res.get("vesper_traps_per_pkt"), "%.4f") if e == "vesper" and legacy else "n/a"
                vs = g(res.get("vs_synth_pair"), "%.3f×") if e == "vesper" and legacy else "—"
                print("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                    res["scenario"], res["mode"], name, g(res[e + "_mpps"]), g(res.get(e + "_offered_mpps")),
                    g(res.get(e + "_loss_pct"), "%.2f"), tr, vs, own(det, e)))
        print("Vesper÷OVS for guest paths compares the received figures; there is no testpmd ceiling for them.")
        if any(res["scenario"] == "legacy-pair" for res, _det in gres):
            print("legacy-pair: the same shape with emulated DEC 21140A NICs (every register access a trapped I/O round trip")
            print("to vesperd's control thread); ÷ synth-pair = legacy received ÷ synthetic received, Vesper, this run.")

    failed = []
    if results:
        print("\nForwarding check (every scenario; Vesper fails above %.0f %% flooded):" % FLOOD_LIMIT_PCT)
        for res in results:
            chk = res.get("vesper_check")
            fl, ofl = res.get("vesper_flooded_pct"), res.get("ovs_flooded_pct")
            fdbs = "—" if res.get("vesper_fdb_expected") is None else "%s/%d" % (
                "?" if res["vesper_fdb_entries"] is None else res["vesper_fdb_entries"], res["vesper_fdb_expected"])
            oflt = "—" if ofl is None else "%.2f %%" % ofl
            if ofl is None and res["scenario"] in NO_OVS:
                oflt = "n/a"
            print("  %-4s  %-12s %-9s Vesper flooded %s, FDB %s; OVS flooded %s%s" % (
                {"ok": "ok", "warn": "warn", "fail": "FAIL"}.get(chk, "n/a"), res["scenario"], res["mode"],
                "—" if fl is None else "%.2f %%" % fl, fdbs, oflt,
                "  (%s)" % res["vesper_check_note"] if res.get("vesper_check_note") else ""))
            if chk == "fail":
                failed.append(res["scenario"] + "/" + res["mode"])
            if ofl is not None and ofl > FLOOD_LIMIT_PCT:
                print("        WARNING: OVS flooded %.2f %% in %s: its figure includes flood copies, and the ratio"
                      " flatters Vesper" % (ofl, res["scenario"]))
        print("  (a warn does not fail: a short FDB costs flooding, and the flooded share above is what decides)")

    print("\nTarget check (ratios in this run; a MISS does not fail the run, a FAIL does):")
    for res in results:
        t = TARGETS.get(res["scenario"])
        if t is None:
            # no target, but a flooded figure is no figure: FAIL, not info
            verdict, why = "info", "no target (BENCH.md sets none for guest paths)"
            if res.get("vesper_check") == "fail":
                verdict, why = "FAIL", "Vesper flooded %.2f %%: not FDB forwarding" % res["vesper_flooded_pct"]
            if res["scenario"] in NO_OVS:
                v, tr = res.get("vs_synth_pair"), res.get("vesper_traps_per_pkt")
                print("  %s  %-12s %-9s %-18s %6s  %s traps/pkt; %s" % (
                    verdict, res["scenario"], res["mode"], "legacy÷synthetic", "—" if v is None else "%.3f" % v,
                    "—" if tr is None else "%.4f" % tr, why))
            elif res["scenario"] in GUEST:
                v = res["vs_ovs"]
                print("  %s  %-12s %-9s %-18s %6s  %s" % (
                    verdict, res["scenario"], res["mode"], "Vesper÷OVS-DPDK", "—" if v is None else "%.2f" % v, why))
            continue
        for key, bar, what in (("vs_ovs", t[0], "Vesper÷OVS-DPDK"), ("vs_testpmd", t[1], "Vesper÷testpmd io")):
            v = res[key]
            verdict = "n/a " if v is None else ("PASS" if v >= bar else "MISS")
            src = t[2] if key == "vs_testpmd" else "issue 2 §7"
            if v is not None and res.get("vesper_check") == "fail":
                verdict, src = "FAIL", "Vesper flooded %.2f %%: not FDB forwarding" % res["vesper_flooded_pct"]
            print("  %s  %-12s %-9s %-18s %6s  target ≥ %.2f  (%s)" % (
                verdict, res["scenario"], res["mode"], what,
                "—" if v is None else "%.2f" % v, bar, src))
    print("\nwrote %s" % os.path.join(outdir, "results.json"))
    if failed:
        print("FAIL: Vesper's figure measured flooding, not FDB forwarding, in: %s" % " ".join(failed))
        return EXIT_CHECK_FAILED
    return 0


if __name__ == "__main__":
    sys.exit(main())
