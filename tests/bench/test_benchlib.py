#!/usr/bin/python3
"""Tests of the benchmark harness's parsers and report (tests/bench/):
benchlib.py on output captured from real runs (testdata/: vesperctl --json
stats / switch show / port show / vm show of vesperd, ovs-appctl
dpctl/show -s of OVS-DPDK 3.1, a dpdk-testpmd --stats-period log,
vesper-guest bench lines, the guest paths' counter samples with the
witness port, of an unmodified vesperd and of one whose FDB lookups all
missed) and report.py's flood check, load and TSC handling on small
windows.tsv files (some of them rows of those real runs).

    python3 tests/bench/test_benchlib.py      (meson test bench-harness)

Standard library only; needs no root, no DPDK and no running daemon.
"""
import copy
import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "testdata")
sys.path.insert(0, HERE)
import benchlib  # noqa: E402


def run(cmd, *args, stdin=None, env=None):
    """benchlib.py CMD ARGS -> (exit status, stdout, stderr)."""
    r = subprocess.run([sys.executable, os.path.join(HERE, "benchlib.py"), cmd] + list(args),
                       input=stdin, capture_output=True, text=True, env=env)
    return r.returncode, r.stdout, r.stderr


def data(name):
    return os.path.join(DATA, name)


def load(name):
    with open(data(name)) as f:
        return json.load(f)


def blocks(text):
    """Sample blocks printed by a parser -> [(t, {port: (rx, tx)})] (strings kept)."""
    with tempfile.NamedTemporaryFile("w", suffix=".samples", delete=False) as f:
        f.write(text)
    try:
        return benchlib.read_samples(f.name)
    finally:
        os.unlink(f.name)


class Tmp(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)

    def path(self, name):
        return os.path.join(self.tmp.name, name)

    def write_json(self, name, doc):
        with open(self.path(name), "w") as f:
            json.dump(doc, f)
        return self.path(name)

    def write(self, name, text):
        with open(self.path(name), "w") as f:
            f.write(text)
        return self.path(name)


class VesperCounters(Tmp):
    def test_real_stats(self):
        rc, out, err = run("vesper-counters", "10", "12", data("vesper-stats.l2-1k.json"))
        self.assertEqual(rc, 0, err)
        b = blocks(out)
        self.assertEqual(len(b), 1)
        t, ports = b[0]
        self.assertEqual(t, 11.0)
        self.assertEqual(set(ports), {"p0", "p1", "witness"})
        doc = load("vesper-stats.l2-1k.json")
        for p in doc["ports"]:
            self.assertEqual(ports[p["name"]], (p["rx_packets"], p["tx_packets"]))

    def test_renamed_key_is_an_error_naming_it(self):
        doc = load("vesper-stats.l2-1k.json")
        bad = copy.deepcopy(doc)
        for p in bad["ports"]:
            p["tx_pkts"] = p.pop("tx_packets")
        s = self.path("s")
        with open(s, "w") as f:
            for t, d in (("10", doc), ("13", bad)):   # the key disappears between samples
                _, out, _ = run("vesper-counters", t, t, self.write_json("x.json", d))
                f.write(out)
            _, out, _ = run("vesper-counters", "16", "16", self.path("x.json"))
            f.write(out)
        self.assertIn("p0 ", open(s).read())
        rc, out, err = run("windows", s, "p0,p1", "p0,p1", "9", "3", "1")
        self.assertEqual(rc, 2)
        self.assertEqual(out, "")
        self.assertIn("ports[p0].tx_packets", err)
        # rx still reads: a column no figure needs may be missing
        rc, out, err = run("windows", s, "witness", "p0", "9", "3", "1")
        self.assertEqual(rc, 2)    # witness tx is missing too
        self.assertIn("ports[witness].tx_packets", err)

    def test_not_json_or_no_ports(self):
        rc, _, err = run("vesper-counters", "1", "2", self.write_json("x.json", {"result": {"nothing": 1}}))
        self.assertEqual(rc, 2)
        self.assertIn('no "ports"', err)

    def test_fdb(self):
        rc, out, _ = run("vesper-fdb", data("vesper-switch-show.l2-1k.json"))
        self.assertEqual((rc, out.strip()), (0, "1024"))
        doc = load("vesper-switch-show.l2-1k.json")
        doc["fdb_count"] = doc.pop("fdb_entries")
        rc, out, err = run("vesper-fdb", self.write_json("sw.json", doc))
        self.assertEqual((rc, out), (2, ""))
        self.assertIn("fdb_entries", err)
        rc, out, err = run("vesper-fdb", self.write("sw.json", "vesperctl: no answer\n"))
        self.assertEqual((rc, out), (2, ""))

    def test_port_link(self):
        rc, out, _ = run("vesper-port-link", data("vesper-port-show-witness.json"))
        self.assertEqual((rc, out.strip()), (0, "up"))
        doc = load("vesper-port-show-witness.json")
        del doc["link"]
        rc, out, err = run("vesper-port-link", self.write_json("p.json", doc))
        self.assertEqual((rc, out), (2, ""))
        self.assertIn('"link"', err)


class VmCounters(Tmp):
    def sample(self, scen, t, a=None, b=None):
        fa = self.write_json("a.json", a) if a else data("vesper-vm-show.%s.vmA.json" % scen)
        fb = self.write_json("b.json", b) if b else data("vesper-vm-show.%s.vmB.json" % scen)
        rc, out, err = run("vesper-vm-counters", t, t, fa, fb)
        self.assertEqual(rc, 0, err)
        return out

    def test_synthetic(self):
        (_, ports), = blocks(self.sample("synth-pair", "5"))
        a = load("vesper-vm-show.synth-pair.vmA.json")["channels"][0]["datapath"]["vsp"]
        b = load("vesper-vm-show.synth-pair.vmB.json")["channels"][0]["datapath"]["vsp"]
        self.assertEqual(ports["vmA.nic0"][0], a["g2h_frames"])
        self.assertEqual(ports["vmB.nic0"][1], b["h2g_frames"])

    def test_legacy(self):
        (_, ports), = blocks(self.sample("legacy-pair", "5"))
        a = load("vesper-vm-show.legacy-pair.vmA.json")["devices"][0]
        b = load("vesper-vm-show.legacy-pair.vmB.json")["devices"][0]
        self.assertEqual(ports["vmA.nic0"][0], a["datapath"]["device"]["tx_frames"])
        self.assertEqual(ports["vmB.nic0"][1], b["datapath"]["rx_delivered"])
        self.assertEqual(ports["vmA.nic0#traps"], (a["traps"], a["traps"]))

    def windows_with(self, scen, mutate, outs, ins):
        b = load("vesper-vm-show.%s.vmB.json" % scen)
        mutate(b)
        s = self.write("s", self.sample(scen, "1") + self.sample(scen, "4", b=b))
        return run("windows", s, outs, ins, "0", "3", "1")

    def test_synthetic_renamed_h2g_frames(self):
        def ren(doc):
            vsp = doc["channels"][0]["datapath"]["vsp"]
            vsp["h2g_frms"] = vsp.pop("h2g_frames")
        rc, out, err = self.windows_with("synth-pair", ren, "vmB.nic0", "vmA.nic0")
        self.assertEqual((rc, out), (2, ""))
        self.assertIn("vmB.nic0.datapath.vsp.h2g_frames", err)

    def test_legacy_renamed_rx_delivered(self):
        def ren(doc):
            dp = doc["devices"][0]["datapath"]
            dp["rx_done"] = dp.pop("rx_delivered")
        rc, out, err = self.windows_with("legacy-pair", ren, "vmB.nic0", "vmA.nic0")
        self.assertEqual((rc, out), (2, ""))
        self.assertIn("vmB.nic0.datapath.rx_delivered", err)

    def test_legacy_renamed_traps(self):
        def ren(doc):
            doc["devices"][0]["trap_count"] = doc["devices"][0].pop("traps")
        rc, out, err = self.windows_with("legacy-pair", ren, "vmA.nic0#traps,vmB.nic0#traps", "vmA.nic0")
        self.assertEqual((rc, out), (2, ""))
        self.assertIn("vmB.nic0.devices[].traps", err)
        # the figure itself does not need the traps
        rc, out, err = self.windows_with("legacy-pair", ren, "vmB.nic0", "vmA.nic0")
        self.assertEqual(rc, 0, err)


class GuestWitness(Tmp):
    """The guest paths' witness port (README "Flooding"): sampled with the
    VM NICs (vesper-vm-counters --witness) and cut into the same windows."""

    def sample(self, t, witness, scen="synth-pair"):
        rc, out, err = run("vesper-vm-counters", t, t, "--witness", witness,
                           data("vesper-vm-show.%s.vmA.json" % scen), data("vesper-vm-show.%s.vmB.json" % scen))
        self.assertEqual(rc, 0, err)
        return out

    def test_real_answer(self):
        (_, ports), = blocks(self.sample("5", data("vesper-stats-witness.synth-pair.json")))
        w = load("vesper-stats-witness.synth-pair.json")["ports"][0]
        # the two learning broadcasts of the warm-up, and nothing since
        self.assertEqual(ports[benchlib.WITNESS], (w["rx_packets"], w["tx_packets"]))
        self.assertEqual(ports[benchlib.WITNESS], (0, 2))
        self.assertIn("vmB.nic0", ports)
        for scen in ("synth-pair", "legacy-pair"):   # both NIC kinds keep their rows
            (_, ports), = blocks(self.sample("5", data("vesper-stats-witness.synth-pair.json"), scen))
            self.assertLessEqual({benchlib.WITNESS, "vmA.nic0", "vmB.nic0"}, set(ports))

    def test_unreadable_or_absent_is_missing_not_zero(self):
        w = load("vesper-stats-witness.synth-pair.json")
        renamed = copy.deepcopy(w)
        renamed["ports"][0]["tx_pkts"] = renamed["ports"][0].pop("tx_packets")
        other = copy.deepcopy(w)
        other["ports"][0]["name"] = "sink"
        for bad, named in ((self.write("w1.txt", "vesperctl: port \"witness\" does not exist\n"), "unreadable"),
                           (self.write("w2.txt", ""), "unreadable"),
                           (self.write_json("w3.json", other), "ports[witness](absent)"),
                           (self.write_json("w4.json", renamed), "ports[witness].tx_packets")):
            s = self.write("s", self.sample("1", data("vesper-stats-witness.synth-pair.json")) + self.sample("4", bad))
            rc, out, err = run("windows", s, benchlib.WITNESS, "vmA.nic0", "0", "3", "1")
            self.assertEqual((rc, out), (2, ""), named)
            self.assertIn(named, err)
            # the NICs' counters of the same sample still give the figure
            rc, out, err = run("windows", s, "vmB.nic0", "vmA.nic0", "0", "3", "1")
            self.assertEqual(rc, 0, err)

    def windows(self, name):
        """(received on B, witness TX) in Mpps over the one window of a real run's samples."""
        s = data(name)
        t0 = str(benchlib.read_samples(s)[0][0])
        res = []
        for outs in ("vmB.nic0", benchlib.WITNESS):
            rc, out, err = run("windows", s, outs, "vmA.nic0", t0, "3", "1")
            self.assertEqual(rc, 0, err)
            res.append(float(out.split()[1]))
        return res

    def test_real_runs(self):
        # unmodified vesperd: the witness saw the warm-up's two broadcasts
        # before the windows and nothing in them
        rx, wit = self.windows("vesper-vm-samples.synth-pair.txt")
        self.assertGreater(rx, 1.0)
        self.assertEqual(wit, 0.0)
        # every lookup missed (vswitch/dp.c forward_frames taking
        # VSW_FDB_PORT_NONE): B still received every frame, and so did the
        # witness; a little more than B, whose refusals (synthetic: no
        # receive section; legacy: no descriptor) are not in its count
        for name in ("vesper-vm-samples.synth-pair-flooded.txt", "vesper-vm-samples.legacy-pair-flooded.txt"):
            rx, wit = self.windows(name)
            self.assertGreater(rx, 0.5)
            self.assertGreater(100 * wit / rx, 99.0, name)
            self.assertLess(100 * wit / rx, 105.0, name)

    def test_ovs_guest_dpctl(self):
        rc, out, err = run("ovs-counters", "1", "3", data("ovs-dpctl-show.synth-pair.txt"))
        self.assertEqual(rc, 0, err)
        (_, ports), = blocks(out)
        # testpmd's --tx-first burst on A (dst B, not yet learnt) was flooded
        self.assertEqual(ports["witness"], (0, 32))
        self.assertEqual(ports["vA"][0], 42659488)
        self.assertEqual(ports["vB"][1], 42650848)

    def test_witness_in_the_nics_vlan(self):
        # the configuration's witness and a NIC as `vm nic add` made it
        # (no --access/--trunk), as vesperd reported them after the windows
        rc, wv, err = run("vesper-port-vlan", data("vesper-port-show-witness.json"))
        self.assertEqual(rc, 0, err)
        rc, nv, err = run("vesper-port-vlan", data("vesper-port-show-vmA.nic0.json"))
        self.assertEqual(rc, 0, err)
        self.assertEqual((wv.strip(), nv.strip()), ("access 1", "access 1"))
        nic = load("vesper-port-show-vmA.nic0.json")
        for scen in ("synth-pair", "legacy-pair"):
            doc = benchlib.vesper_config(scen, self.tmp.name)
            w, = doc["ports"]
            self.assertEqual(w["name"], benchlib.WITNESS)
            self.assertEqual(w["devargs"], "net_null0,no-rx=1")
            self.assertEqual(w["vlan"], nic["vlan"])
            self.assertEqual(w["switch"], nic["switch"])
        del nic["vlan_summary"]
        rc, out, err = run("vesper-port-vlan", self.write_json("p.json", nic))
        self.assertEqual((rc, out), (2, ""))
        self.assertIn("vlan_summary", err)


class OvsCounters(Tmp):
    def test_real(self):
        rc, out, err = run("ovs-counters", "1", "3", data("ovs-dpctl-show.l2-1k.txt"))
        self.assertEqual(rc, 0, err)
        (t, ports), = blocks(out)
        self.assertEqual(t, 2.0)
        self.assertEqual(ports["p0"], (12109824, 12078366))
        self.assertEqual(ports["p1"], (12078624, 12078176))
        self.assertEqual(ports["witness"], (0, 32279))

    def test_unknown_counter_is_missing(self):
        text = open(data("ovs-dpctl-show.l2-1k.txt")).read()
        bad = text.replace("TX packets:12078366", "TX packets:?")
        s = self.path("s")
        with open(s, "w") as f:
            for t, txt in (("1", text), ("4", bad)):
                f.write(run("ovs-counters", t, t, self.write("d.txt", txt))[1])
        rc, out, err = run("windows", s, "p0,p1", "p0,p1", "0", "3", "1")
        self.assertEqual((rc, out), (2, ""))
        self.assertIn("p0.TX.packets", err)
        # a line left out entirely reads the same
        bad = text.replace("    TX packets:12078176 errors:0 dropped:0 aborted:? carrier:?\n", "")
        self.assertNotEqual(bad, text)
        (_, ports), = blocks(run("ovs-counters", "1", "1", self.write("d.txt", bad))[1])
        self.assertEqual(ports["p1"][1], "?p1.TX.packets")


class TestpmdSamples(Tmp):
    def test_real(self):
        rc, out, err = run("testpmd-samples", data("testpmd.vlan-access.log"))
        self.assertEqual(rc, 0, err)
        b = blocks(out)
        self.assertEqual(len(b), 4)
        self.assertEqual(b[1][1]["1"], (0, 31228384))
        rc, out, err = run("windows", self.write("s", out), "1", "0", "1795515156", "2", "1")
        self.assertEqual(rc, 0, err)
        rep, mout, _min, dt = out.split()
        self.assertAlmostEqual(float(mout), (60847712 - 31228384) / (1795515158.059604 - 1795515156.056287) / 1e6,
                               places=3)

    def test_missing_tx_line(self):
        lines = open(data("testpmd.vlan-access.log")).read().splitlines(True)
        # drop port 1's TX-packets line of the third block
        idx = [i for i, l in enumerate(lines) if "TX-packets: 60847712" in l]
        self.assertEqual(len(idx), 1)
        del lines[idx[0]]
        rc, out, _ = run("testpmd-samples", self.write("t.log", "".join(lines)))
        self.assertEqual(rc, 0)
        rc, out, err = run("windows", self.write("s", out), "1", "0", "1795515156", "2", "1")
        self.assertEqual((rc, out), (2, ""))
        self.assertIn("port1.TX-packets", err)


class GuestLines(Tmp):
    def test_samples_and_result(self):
        for scen in ("synth-pair", "legacy-pair"):
            rc, out, err = run("vesper-guest-samples", data("vesper-guest.%s.json" % scen))
            self.assertEqual(rc, 0, err)
            b = blocks(out)
            self.assertEqual(len(b), 8)
            s = self.write("s", out)
            rc, out, err = run("windows", s, "A", "B", str(b[0][0]), "1", "1")
            self.assertEqual(rc, 0, err)
            # A has no rx and B no tx in the guest's count: never read as 0
            rc, _, err = run("windows", s, "B", "A", str(b[0][0]), "1", "1")
            self.assertEqual(rc, 2)
            rc, out, err = run("vesper-guest-result", data("vesper-guest.%s.json" % scen))
            self.assertEqual(rc, 0, err)
            self.assertEqual(len(out.split()), 4 if scen == "legacy-pair" else 3)

    def test_progress_line_without_rx_frames(self):
        lines = open(data("vesper-guest.synth-pair.json")).read().splitlines()
        docs = [json.loads(x) for x in lines]
        for d in docs:
            d.pop("rx_frames", None)
        p = self.write("g.json", "\n".join(json.dumps(d) for d in docs) + "\n")
        rc, out, _ = run("vesper-guest-samples", p)
        self.assertEqual(rc, 0)
        t0 = blocks(out)[0][0]
        rc, out, err = run("windows", self.write("s", out), "A", "B", str(t0), "1", "1")
        self.assertEqual((rc, out), (2, ""))
        self.assertIn("progress_line.rx_frames", err)
        rc, out, err = run("vesper-guest-result", p)   # the result line has no rx_frames either,
        self.assertEqual(rc, 0, err)                   # but rx_pps is what it reads


class VesperConfig(Tmp):
    def manifest(self):
        """A vlan-1k manifest as gen_traffic.py writes it (no scapy needed)."""
        rows = ["host\tside\tvlan\tmac"]
        n = 1024
        for h in range(n):
            rows.append("%d\t%s\t%d\t02:00:%02x:%02x:%02x:%02x" % (
                h, "A" if h < n // 2 else "B", 100 + (h % (n // 2)) % 16,
                (h >> 24) & 255, (h >> 16) & 255, (h >> 8) & 255, h & 255))
        self.write("vlan-1k.hosts.tsv", "\n".join(rows) + "\n")

    def test_witness_in_every_vlan(self):
        self.manifest()
        doc = benchlib.vesper_config("vlan-access", self.tmp.name)
        w = [p for p in doc["ports"] if p["name"] == benchlib.WITNESS]
        self.assertEqual(len(w), 1)
        self.assertIn("no-rx=1", w[0]["devargs"])
        self.assertEqual(w[0]["vlan"], {"mode": "trunk", "allowed": "100-115"})
        vlans = {v for _h, _s, v, _m in benchlib.read_hosts(self.tmp.name, "vlan-1k")}
        lo, hi = (int(x) for x in w[0]["vlan"]["allowed"].split("-"))
        self.assertTrue(all(lo <= v <= hi for v in vlans))
        # vdev names are unique within the process
        devs = [p["devargs"].split(",")[0] for p in doc["ports"]]
        self.assertEqual(len(devs), len(set(devs)))

    def test_witness_l2(self):
        for scen in ("l2-1k", "l2-64k"):
            doc = benchlib.vesper_config(scen, self.tmp.name)
            by = {p["name"]: p for p in doc["ports"]}
            self.assertEqual(set(by), {"p0", "p1", benchlib.WITNESS})
            self.assertEqual(by[benchlib.WITNESS]["vlan"], by["p0"]["vlan"])
            self.assertEqual(by[benchlib.WITNESS]["switch"], by["p0"]["switch"])


class Tsc(unittest.TestCase):
    def test_kernel_log(self):
        f = benchlib.tsc_from_kernel_log
        self.assertEqual(f("[    0.000261] tsc: Detected 2096.015 MHz processor\n")[0], 2096.015)
        both = ("[    0.000001] tsc: Detected 2400.000 MHz processor\n"
                "[    0.000002] tsc: Detected 2095.999 MHz TSC\n")
        self.assertEqual(f(both)[0], 2095.999)
        refined = both + "[    1.5] tsc: Refined TSC clocksource calibration: 2096.063 MHz\n"
        self.assertEqual(f(refined)[0], 2096.063)
        self.assertEqual(f("[    0.1] cpu MHz: 2600\n"), (None, None))

    def test_helper_and_unknown(self):
        with tempfile.TemporaryDirectory() as d:
            # a PATH without dmesg/journalctl: only the helper can tell
            fake = os.path.join(d, "tsc_hz")
            with open(fake, "w") as f:
                f.write("#!/bin/sh\necho 2096.015\n")
            os.chmod(fake, 0o755)
            env = dict(os.environ, PATH=d)
            rc, out, _ = run("tsc", fake, env=env)
            self.assertEqual(rc, 0)
            mhz, src = out.rstrip("\n").split("\t")
            self.assertEqual(mhz, "2096.015")
            self.assertIn("measured", src)
            rc, out, _ = run("tsc", os.path.join(d, "none"), env=env)
            mhz, src = out.rstrip("\n").split("\t")
            self.assertEqual(mhz, "n/a")
            self.assertIn("unknown", src)


HEADER = ("scenario\tmode\tengine\trep\tmpps_out\tmpps_in\tdt_s\tcpu_busy_pct\tother_busy_pct"
          "\ttraps_per_pkt\twitness_mpps\tfdb_entries\tfdb_expected\n")


class Report(Tmp):
    def report(self, rows, scens=("l2-1k", "vlan-access"), tsc="2096.015", mode="no-huge",
               expected=""):
        self.write("windows.tsv", HEADER + "".join("\t".join(r) + "\n" for r in rows))
        env = dict(os.environ, BENCH_TSC_MHZ=tsc, BENCH_TSC_SOURCE="test",
                   BENCH_WINDOWS_EXPECTED=expected)
        r = subprocess.run([sys.executable, os.path.join(HERE, "report.py"), self.path("windows.tsv"),
                            self.tmp.name, mode] + list(scens), capture_output=True, text=True, env=env)
        with open(self.path("results.json")) as f:
            res = {x["scenario"]: x for x in json.load(f)}
        with open(self.path("results-detail.json")) as f:
            det = {x["scenario"]: x for x in json.load(f)}
        return r.returncode, r.stdout, res, det

    @staticmethod
    def row(scen, eng, rep, out, busy="55", wit="", fdb="", want=""):
        return [scen, "no-huge", eng, str(rep), out, out, "10.0", busy, "", "", wit, fdb, want]

    def peers(self, scen):
        return [self.row(scen, "testpmd", 1, "40.0"), self.row(scen, "ovs", 1, "10.0", wit="0.0")]

    def test_short_engine_no_figure(self):
        # one engine with fewer windows than run.sh asked for (a start of it
        # failed): no figure and no ratio for it, rather than a median of
        # one window beside three
        rows = ([self.row("l2-1k", "testpmd", i, "40.0") for i in (1, 2, 3)] +
                [self.row("l2-1k", "ovs", 1, "10.0", wit="0.0")] +
                [self.row("l2-1k", "vesper", i, "35.0", wit="0.0000", fdb="1024", want="1024")
                 for i in (1, 2, 3)])
        _, _, res, _ = self.report(rows, ("l2-1k",), expected="3")
        r = res["l2-1k"]
        self.assertIsNone(r["ovs_mpps"])
        self.assertIsNone(r["vs_ovs"])
        self.assertEqual(r["vesper_mpps"], 35.0)
        self.assertEqual(r["vs_testpmd"], 0.875)

    def test_forwarding_passes(self):
        rows = self.peers("l2-1k") + [self.row("l2-1k", "vesper", i, "35.0", wit="0.0000", fdb="1024", want="1024")
                                      for i in (1, 2, 3)]
        rc, out, res, det = self.report(rows, ("l2-1k",))
        self.assertEqual(rc, 0, out)
        r = res["l2-1k"]
        self.assertEqual((r["vesper_check"], r["vesper_flooded_pct"], r["ovs_flooded_pct"]), ("ok", 0.0, 0.0))
        self.assertEqual((r["vesper_fdb_entries"], r["vesper_fdb_expected"]), (1024, 1024))
        self.assertIn("PASS  l2-1k", out)
        self.assertNotIn("  FAIL  ", out)
        self.assertNotIn("\nFAIL:", out)
        self.assertEqual(det["l2-1k"]["vesper"]["cycles_per_packet"], round(2096.015 / 35.0, 1))

    def test_flooding_fails(self):
        # what a broken lookup gives: every frame also reaches the witness
        rows = self.peers("l2-1k") + [self.row("l2-1k", "vesper", 1, "35.0", wit="35.0", fdb="1024", want="1024")]
        rows += [self.row("vlan-access", "vesper", 1, "20.0", wit="0.1", fdb="1024", want="1024")]  # 0.5 %: ok
        rc, out, res, _ = self.report(rows)
        self.assertEqual(rc, 3, out)
        self.assertEqual(res["l2-1k"]["vesper_check"], "fail")
        self.assertEqual(res["l2-1k"]["vesper_flooded_pct"], 100.0)
        self.assertIn("flooded 100.00 %", res["l2-1k"]["vesper_check_note"])
        self.assertEqual(res["vlan-access"]["vesper_check"], "ok")
        self.assertEqual(res["vlan-access"]["vesper_flooded_pct"], 0.5)
        self.assertIn("FAIL  l2-1k", out)
        self.assertNotIn("PASS  l2-1k", out)
        self.assertIn("FAIL: Vesper's figure measured flooding", out)

    def test_flood_share_is_over_all_windows(self):
        # Σ witness ÷ Σ out, not the mean of the windows' shares
        rows = [self.row("l2-1k", "vesper", 1, "10.0", wit="0.0", fdb="1024", want="1024"),
                self.row("l2-1k", "vesper", 2, "10.0", wit="0.3", fdb="1024", want="1024")]
        rc, _, res, _ = self.report(rows, ("l2-1k",))
        self.assertEqual((rc, res["l2-1k"]["vesper_flooded_pct"], res["l2-1k"]["vesper_check"]), (3, 1.5, "fail"))

    def test_short_fdb_warns(self):
        rows = [self.row("l2-1k", "vesper", 1, "30.0", wit="0.0", fdb="1024", want="1024"),
                self.row("l2-1k", "vesper", 2, "30.0", wit="0.0", fdb="1000", want="1024"),
                self.row("vlan-access", "vesper", 1, "20.0", wit="0.0", fdb="", want="1024")]
        rc, out, res, _ = self.report(rows)
        self.assertEqual(rc, 0, out)
        self.assertEqual((res["l2-1k"]["vesper_check"], res["l2-1k"]["vesper_fdb_entries"]), ("warn", 1000))
        self.assertIn("1000 of 1024", res["l2-1k"]["vesper_check_note"])
        self.assertEqual((res["vlan-access"]["vesper_check"], res["vlan-access"]["vesper_fdb_entries"]), ("warn", None))
        self.assertIn("1000 / 1024 !", out)
        self.assertIn("? / 1024 !", out)

    def test_unknown_busy_is_not_zero(self):
        rows = [self.row("l2-1k", "testpmd", 1, "40.0", busy=""),
                self.row("l2-1k", "vesper", 1, "30.0", busy="52", wit="0", fdb="1024", want="1024")]
        rc, out, _, det = self.report(rows, ("l2-1k",))
        self.assertEqual(rc, 0, out)
        self.assertIsNone(det["l2-1k"]["testpmd"]["cpu_busy_pct"])
        self.assertFalse(det["l2-1k"]["testpmd"]["cpu_busy_known"])
        self.assertTrue(det["l2-1k"]["vesper"]["cpu_busy_known"])
        self.assertIn("52 ? (testpmd unknown)", out)
        self.assertIn("rows marked ?", out)

    def test_busy_is_the_busiest_window(self):
        rows = [self.row("l2-1k", "vesper", 1, "30.0", busy="90", wit="0", fdb="1024", want="1024"),
                self.row("l2-1k", "vesper", 2, "30.0", busy="51", wit="0", fdb="1024", want="1024")]
        _, out, _, det = self.report(rows, ("l2-1k",))
        self.assertEqual(det["l2-1k"]["vesper"]["cpu_busy_pct"], 90.0)
        self.assertIn("| 90 ! |", out)

    # Guest paths: rows of windows.tsv as run.sh wrote them in real runs
    # (REPS=1 SECS=3, hugepages): the unmodified tree, and vswitch/dp.c's
    # lookup replaced by VSW_FDB_PORT_NONE.
    GUEST_OK = [
        "synth-pair\thugepages\tovs\t1\t6.2352\t6.2364\t3.010\t100\t7\t\t0.0000\t\t",
        "synth-pair\thugepages\tvesper\t1\t4.5842\t4.5905\t3.040\t100\t8\t\t0.0000\t2\t2",
        "legacy-pair\thugepages\tvesper\t1\t0.6094\t0.6726\t3.045\t100\t7\t0.0372\t0.0000\t2\t2",
    ]
    GUEST_FLOODED = [
        "synth-pair\thugepages\tvesper\t1\t3.9863\t3.9976\t3.019\t100\t7\t\t3.9908\t2\t2",
        "legacy-pair\thugepages\tvesper\t1\t0.6075\t0.6292\t3.040\t100\t7\t0.0349\t0.6202\t2\t2",
    ]

    def guest(self, lines, scens=("synth-pair", "legacy-pair")):
        return self.report([x.split("\t") for x in lines], scens, mode="hugepages")

    def test_guest_forwarding_passes(self):
        rc, out, res, det = self.guest(self.GUEST_OK)
        self.assertEqual(rc, 0, out)
        s, l = res["synth-pair"], res["legacy-pair"]
        self.assertEqual((s["vesper_flooded_pct"], s["ovs_flooded_pct"], s["vesper_check"]), (0.0, 0.0, "ok"))
        self.assertIsNone(s["vesper_check_note"])
        self.assertEqual((s["vesper_fdb_entries"], s["vesper_fdb_expected"]), (2, 2))
        # legacy-pair has no OVS run: n/a, not a figure
        self.assertEqual((l["vesper_flooded_pct"], l["ovs_flooded_pct"], l["vesper_check"]), (0.0, None, "ok"))
        # the guest keys are all still there
        self.assertEqual((s["kind"], s["vesper_mpps"], s["ovs_mpps"], l["vesper_traps_per_pkt"]),
                         ("guest", 4.584, 6.235, 0.0372))
        self.assertEqual(det["synth-pair"]["vesper"]["witness_mpps_windows"], [0.0])
        self.assertIn("| 0.00 / 0.00 | 2 / 2 |", out)
        self.assertIn("| 0.00 / n/a | 2 / 2 |", out)
        self.assertIn("ok    synth-pair", out)
        self.assertIn("info  synth-pair", out)
        self.assertIn("info  legacy-pair", out)
        self.assertNotIn("  FAIL  ", out)
        self.assertNotIn(" FAIL |", out)
        self.assertNotIn("\nFAIL:", out)

    def test_guest_flooding_fails(self):
        rc, out, res, det = self.guest(self.GUEST_FLOODED)
        self.assertEqual(rc, 3, out)
        s, l = res["synth-pair"], res["legacy-pair"]
        self.assertEqual((s["vesper_check"], s["vesper_flooded_pct"]), ("fail", 100.11))
        self.assertEqual((l["vesper_check"], l["vesper_flooded_pct"]), ("fail", 102.09))
        self.assertIn("guest NIC B", s["vesper_check_note"])
        self.assertEqual(det["synth-pair"]["vesper"]["flooded_pct"], 100.11)
        # the figures are still reported, marked
        self.assertEqual(s["vesper_mpps"], 3.986)
        self.assertIn("| 100.11 / — FAIL |", out)
        self.assertIn("| 102.09 / n/a FAIL |", out)
        self.assertIn("FAIL  synth-pair   hugepages Vesper÷OVS-DPDK", out)
        self.assertIn("FAIL  legacy-pair  hugepages legacy÷synthetic", out)
        self.assertNotIn("info  ", out)
        self.assertIn("FAIL: Vesper's figure measured flooding, not FDB forwarding, in: "
                      "synth-pair/hugepages legacy-pair/hugepages", out)

    def test_guest_flood_fails_beside_switching_rows(self):
        # one flooded guest row fails the run; the switching row keeps its keys and verdict
        rows = [self.row("l2-1k", "vesper", 1, "35.0", wit="0.0", fdb="1024", want="1024")]
        rows = [r[:1] + ["hugepages"] + r[2:] for r in rows]
        rows += [x.split("\t") for x in self.GUEST_OK[:1] + self.GUEST_FLOODED[:1]]
        rc, out, res, _ = self.report(rows, ("l2-1k", "synth-pair"), mode="hugepages")
        self.assertEqual(rc, 3, out)
        self.assertEqual(res["l2-1k"]["vesper_check"], "ok")
        self.assertNotIn("kind", res["l2-1k"])
        self.assertEqual(res["synth-pair"]["vesper_check"], "fail")
        self.assertEqual(res["synth-pair"]["ovs_flooded_pct"], 0.0)

    def test_guest_ovs_flooding_only_warns(self):
        ovs = self.GUEST_OK[0].split("\t")
        ovs[10] = "6.2352"   # OVS flooded every frame: its figure, not Vesper's, is in doubt
        rc, out, res, _ = self.guest(["\t".join(ovs)] + self.GUEST_OK[1:2], ("synth-pair",))
        self.assertEqual(rc, 0, out)
        self.assertEqual((res["synth-pair"]["ovs_flooded_pct"], res["synth-pair"]["vesper_check"]), (100.0, "ok"))
        self.assertIn("WARNING: OVS flooded 100.00 % in synth-pair", out)

    def test_unknown_tsc(self):
        rows = [self.row("l2-1k", "vesper", 1, "30.0", wit="0", fdb="1024", want="1024")]
        _, out, _, det = self.report(rows, ("l2-1k",), tsc="n/a")
        self.assertIsNone(det["l2-1k"]["tsc_mhz"])
        self.assertIsNone(det["l2-1k"]["vesper"]["cycles_per_packet"])
        self.assertIn("n/a / — / —", out)
        self.assertIn("cycles/pkt n/a", out)
        self.assertNotIn("2600", out)


if __name__ == "__main__":
    unittest.main(verbosity=1)
