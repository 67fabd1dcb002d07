#!/usr/bin/python3
"""Triage benchmark: time and peak memory of each statistic against tshark
dissecting the same capture with a tap that does nothing, and against the
built-in statistics a user would run today for the same answers.

  bench/bench.py [--packets N] [--syns N] [--repeat R] [--out bench/RESULTS.md]

Builds the plugin (build-bench/, Release), generates the captures once into
bench/data/ (reused when present), runs every configuration R times, and
writes a Markdown table. Needs: tshark, mergecap, /usr/bin/time (package time).
"""

import argparse
import json
import os
import pathlib
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / "data"
SHARED = ROOT.parent / "shared" / "captures"
NOBODY = 65534


def sh(*args, **kw):
    return subprocess.run(args, check=True, **kw)


class Runner:
    def __init__(self):
        self.tmp = pathlib.Path(tempfile.mkdtemp(prefix="triage-bench-"))
        os.chmod(self.tmp, 0o755)
        abi = re.search(r"\(Wireshark\) (\d+\.\d+)", subprocess.run(["tshark", "--version"], capture_output=True,
                                                                       text=True).stdout).group(1)
        glob = next(l.split(":", 1)[1].strip() for l in subprocess.run(["tshark", "-G", "folders"],
                    capture_output=True, text=True).stdout.splitlines() if l.startswith("Global Plugins"))
        self.plugins = self.tmp / "plugins"
        shutil.copytree(glob, self.plugins / abi, ignore=lambda d, n: [x for x in n if x == "triage.so"])
        (self.plugins / abi / "epan").mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / "build-bench" / "triage.so", self.plugins / abi / "epan" / "triage.so")
        self.home = self.tmp / "home"
        self.home.mkdir()
        if os.geteuid() == 0:
            for p in [self.tmp, *self.tmp.rglob("*")]:
                os.chown(p, NOBODY, NOBODY)

    def argv(self, args):
        env = ["env", f"HOME={self.home}", f"WIRESHARK_PLUGIN_DIR={self.plugins}"]
        pre = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"] if os.geteuid() == 0 else []
        return pre + env + ["tshark", *args]

    def measure(self, args, post=None):
        """(seconds, peak RSS in KiB) of one tshark run (+ its post-processing)."""
        t0 = time.perf_counter()
        p = subprocess.run(["/usr/bin/time", "-f", "%M", *self.argv(args)], capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError(f"tshark {' '.join(args)}: {p.stderr[-500:]}")
        if post:
            post(p.stdout)
        return time.perf_counter() - t0, int(p.stderr.strip().splitlines()[-1])


def initial_rtt_post(out):
    """What a user does today: initial_rtt per stream, then percentiles."""
    per_stream = {}
    for line in out.splitlines():
        s, _, v = line.partition("\t")
        if v and s not in per_stream:
            per_stream[s] = float(v)
    vals = sorted(per_stream.values())
    if vals:
        statistics.quantiles(vals, n=100)


CONFIGS = [
    ("baseline: no-op tap (`-z triage_null`)", ["-z", "triage_null"], None, "base"),
    ("`-z io,stat,0`", ["-z", "io,stat,0"], None, None),
    ("`triage_rtt,json`", ["-z", "triage_rtt,json"], None, "rtt"),
    ("`triage_unwanted,json`", ["-z", "triage_unwanted,json"], None, "unwanted"),
    ("`triage_egress,json`", ["-z", "triage_egress,json"], None, "egress"),
    ("all three Triage statistics", ["-z", "triage_rtt,json", "-z", "triage_unwanted,json", "-z",
                                     "triage_egress,json"], None, "all"),
    ("built-in for RTT: `-T fields -e tcp.analysis.initial_rtt` + percentiles",
     ["-T", "fields", "-e", "tcp.stream", "-e", "tcp.analysis.initial_rtt", "-Y", "tcp.analysis.initial_rtt"],
     initial_rtt_post, "builtin_rtt"),
    ("built-in for protocols: `-z io,phs`", ["-z", "io,phs"], None, "builtin_unwanted"),
    ("built-in for volume: `-z conv,ip`", ["-z", "conv,ip"], None, "builtin_egress"),
    ("built-in for volume: `-z endpoints,ip`", ["-z", "endpoints,ip"], None, None),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--packets", type=int, default=1_000_000, help="packets of the mixed capture")
    ap.add_argument("--syns", type=int, default=1_000_000, help="SYNs of the SYN-flood capture")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", default=str(ROOT / "bench" / "RESULTS.md"))
    a = ap.parse_args()

    sh("cmake", "-S", str(ROOT), "-B", str(ROOT / "build-bench"), "-DCMAKE_BUILD_TYPE=Release",
       "-DTRIAGE_BUILD_TESTS=OFF", stdout=subprocess.DEVNULL)
    sh("cmake", "--build", str(ROOT / "build-bench"), "-j", str(os.cpu_count()), stdout=subprocess.DEVNULL)
    DATA.mkdir(exist_ok=True)
    os.chmod(DATA, 0o755)
    gen = ROOT / "bench" / "gen_traffic.py"
    captures = []
    mixed = DATA / f"mixed-{a.packets}.pcap"
    if not mixed.exists():
        sh(sys.executable, str(gen), "mixed", str(mixed), "--packets", str(a.packets), stdout=subprocess.DEVNULL)
    captures.append(("mixed", mixed))
    flood = DATA / f"flood-{a.syns}.pcap"
    if not flood.exists():
        sh(sys.executable, str(gen), "flood", str(flood), "--syns", str(a.syns), stdout=subprocess.DEVNULL)
    captures.append(("SYN flood", flood))
    if SHARED.is_dir():
        real = DATA / "shared-merged.pcapng"
        if not real.exists():
            files = sorted(str(p) for p in SHARED.iterdir() if re.search(r"\.(pcap|pcapng)$", p.name)
                           and p.name not in ("tcpdump_empty.pcap", "ndpi_fuzz-2021-10-13.pcap"))
            sh("mergecap", "-a", "-w", str(real), *files)
        captures.append(("real captures (mergecap -a)", real))
    for _, p in captures:
        os.chmod(p, 0o644)

    r = Runner()
    lines = [f"# Triage benchmark", "",
             f"Measured {time.strftime('%Y-%m-%d')} on {os.cpu_count()} cores, tshark "
             f"{subprocess.run(['tshark', '--version'], capture_output=True, text=True).stdout.split()[2]}, "
             f"median of {a.repeat} runs (min–max in brackets). Ratios are to the no-op tap on the same capture "
             "(the cost of Wireshark's dissection alone). Command: `bench/run.sh "
             f"--packets {a.packets} --syns {a.syns} --repeat {a.repeat}`.", ""]
    summary = {}
    for cname, cap in captures:
        truth_file = pathlib.Path(str(cap) + ".truth.json")
        truth = json.loads(truth_file.read_text()) if truth_file.exists() else {}
        frames = truth.get("packets") or sum(1 for _ in subprocess.run(
            ["capinfos", "-c", "-M", str(cap)], capture_output=True, text=True).stdout.splitlines())
        lines += [f"## {cname}: `{cap.name}`" + (f" ({truth.get('packets')} packets)" if truth else ""), "",
                  "| configuration | time (s) | ratio | peak RSS (MiB) | RSS over baseline (MiB) |",
                  "|---|---|---|---|---|"]
        res = {}
        for label, args, post, key in CONFIGS:
            runs = [r.measure(["-r", str(cap), "-q", *args], post) for _ in range(a.repeat)]
            secs = [x[0] for x in runs]
            rss = max(x[1] for x in runs)
            res[key or label] = (statistics.median(secs), min(secs), max(secs), rss)
            print(f"{cname}: {label}: {statistics.median(secs):.2f} s, {rss / 1024:.0f} MiB", file=sys.stderr)
        base = res["base"]
        for label, _, _, key in CONFIGS:
            med, lo, hi, rss = res[key or label]
            lines.append(f"| {label} | {med:.2f} [{lo:.2f}–{hi:.2f}] | {med / base[0]:.3f} | {rss / 1024:.1f} | "
                         f"{(rss - base[3]) / 1024:+.1f} |")
        lines.append("")
        summary[cname] = (res, truth)

    # Targets
    lines += ["## Targets", ""]
    res, truth = summary["mixed"]
    all_ratio = res["all"][0] / res["base"][0]
    lines.append(f"* All three statistics together: **{all_ratio:.3f}×** the no-op tap on the mixed capture "
                 f"(target ≤ 1.10×: {'met' if all_ratio <= 1.10 else 'missed by %.1f%%' % ((all_ratio - 1.10) * 100)}).")
    for key, builtin in (("rtt", "builtin_rtt"), ("unwanted", "builtin_unwanted"), ("egress", "builtin_egress")):
        t, b = res[key][0], res[builtin][0]
        lines.append(f"* `triage_{key}` {t:.2f} s vs the built-in route {b:.2f} s: "
                     f"{'faster' if t < b else 'slower'} ({t / b:.2f}×).")
    fres, ftruth = summary["SYN flood"]
    per_conn = (fres["rtt"][3] - fres["base"][3]) * 1024 / ftruth["connections"]
    lines.append(f"* Memory per TCP connection (SYN flood, {ftruth['connections']} unanswered SYNs): "
                 f"**{per_conn:.0f} bytes** over the baseline (target ≤ 100: "
                 f"{'met' if per_conn <= 100 else 'missed by %.0f bytes' % (per_conn - 100)}).")
    per_conn_mixed = (res["rtt"][3] - res["base"][3]) * 1024 / truth["connections"]
    lines.append(f"* Memory per TCP connection (mixed, {truth['connections']} completed handshakes): "
                 f"**{per_conn_mixed:.0f} bytes**.")
    per_dest = (res["egress"][3] - res["base"][3]) * 1024 / truth["destinations"]
    lines.append(f"* Memory per destination (mixed, {truth['destinations']} destinations): "
                 f"**{per_dest:.0f} bytes** over the baseline (target ≤ 100: "
                 f"{'met' if per_dest <= 100 else 'missed by %.0f bytes' % (per_dest - 100)}).")
    lines.append("")
    pathlib.Path(a.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    shutil.rmtree(r.tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
