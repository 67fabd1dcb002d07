#!/usr/bin/python3
"""Triage benchmark: time and peak memory of each statistic (JSON and tree
forms) against tshark dissecting the same capture with a tap that does
nothing, and against the built-in statistics a user would run today for the
same answers.

  bench/bench.py [--packets N] [--syns N] [--repeat R] [--instructions N] [--against REV] [--out bench/RESULTS.md]

Builds the plugin (build-bench/, RelWithDebInfo: as install.sh builds it), generates the captures once into
bench/data/ (reused when present: the connection-heavy capture of the targets, 10 packets a connection; a
connection-dense one, 6 packets a connection, judged by the same bounds for comparison; a SYN flood), merges
../shared/captures into one real-traffic capture, runs the configurations of a capture
interleaved (round r runs each configuration once, in an order that rotates
with r, with the no-op tap before the first and after each, all on one CPU, the
next round on the next CPU) R times (up to 4R times when the no-op run takes
under 2 s, so that a short capture is timed for about as long), and writes
Markdown tables (median, min-max, the paired ratio: each run's time over the
mean of the no-op runs just before and after it) and the targets, judged on the
paired ratios, met or missed and by how much. The SYN flood, the memory
target's capture, runs only the configurations that hold connections. With --instructions N, it also counts the
instructions of each configuration over the first N packets of the
connection-heavy and real captures (valgrind --tool=callgrind: the same count
on every run, whatever else the machine does, where times on a shared VM
spread by 10 % and more). With --against REV, it also builds the plugin at
git revision REV (build-bench-against/) and runs all three statistics with it,
JSON and tree, in the same interleaved rounds: a change's effect measured head
to head, where two separate runs differ by several per cent on a shared VM.
Sections of the output file from "## Profile" or "## Merge" on are kept.
Needs: tshark, mergecap, /usr/bin/time (valgrind).
"""

import argparse
import concurrent.futures
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
SHORT_RUN_S = 2.0  # a capture whose no-op run is shorter gets up to 4x the rounds


def sh(*args, **kw):
    return subprocess.run(args, check=True, **kw)


class Runner:
    def __init__(self, against_so=None):
        self.tmp = pathlib.Path(tempfile.mkdtemp(prefix="triage-bench-"))
        os.chmod(self.tmp, 0o755)
        abi = re.search(r"\(Wireshark\) (\d+\.\d+)", subprocess.run(["tshark", "--version"], capture_output=True,
                                                                       text=True).stdout).group(1)
        glob = next(l.split(":", 1)[1].strip() for l in subprocess.run(["tshark", "-G", "folders"],
                    capture_output=True, text=True).stdout.splitlines() if l.startswith("Global Plugins"))

        def plugin_tree(name, so):  # Wireshark's global plugins, with this triage.so
            tree = self.tmp / name
            shutil.copytree(glob, tree / abi, ignore=lambda d, n: [x for x in n if x == "triage.so"])
            (tree / abi / "epan").mkdir(parents=True, exist_ok=True)
            shutil.copy(so, tree / abi / "epan" / "triage.so")
            return tree

        self.plugins = plugin_tree("plugins", ROOT / "build-bench" / "triage.so")
        self.plugins_against = plugin_tree("plugins-against", against_so) if against_so else None
        self.home = self.tmp / "home"
        self.home.mkdir()
        if os.geteuid() == 0:
            for p in [self.tmp, *self.tmp.rglob("*")]:
                os.chown(p, NOBODY, NOBODY)

    def argv(self, args, against=False):
        env = ["env", f"HOME={self.home}", f"WIRESHARK_PLUGIN_DIR={self.plugins_against if against else self.plugins}"]
        pre = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"] if os.geteuid() == 0 else []
        return pre + env + ["tshark", *args]

    def measure(self, args, post=None, against=False, core=None):
        """(seconds, peak RSS in KiB, CPU seconds) of one tshark run (+ its post-processing), on CPU `core`
        alone when given (tshark dissects in one thread).

        The output goes to a file, as a user's `> report.json` would (a pipe
        read by this script would add the script's own reading to the time).
        The CPU time (user + system, GNU time) is tshark's alone: what other
        processes of the machine take from it does not count in it, where it
        does in the wall-clock time."""
        out = self.tmp / "out"
        t0 = time.perf_counter()
        with open(out, "wb") as f:
            pin = ["taskset", "-c", str(core)] if core is not None else []
            p = subprocess.run([*pin, "/usr/bin/time", "-f", "%M %U %S", *self.argv(args, against)], stdout=f,
                               stderr=subprocess.PIPE, text=True)
        if p.returncode != 0:
            raise RuntimeError(f"tshark {' '.join(args)}: {p.stderr[-500:]}")
        if post:
            post(out.read_text())
        elapsed = time.perf_counter() - t0
        out.unlink()
        rss, user, system = p.stderr.strip().splitlines()[-1].split()
        return elapsed, int(rss), float(user) + float(system)


    def instructions(self, args, name, against=False):
        """Instructions one tshark run executes (callgrind's total)."""
        cg = self.tmp / f"callgrind.{name}"
        argv = self.argv(args, against)
        at = argv.index("tshark")
        argv[at:at] = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={cg}"]
        p = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        m = re.search(r"Collected : (\d+)", p.stderr)
        if p.returncode != 0 or not m:
            raise RuntimeError(f"callgrind tshark {' '.join(args)}: {p.stderr[-500:]}")
        cg.unlink(missing_ok=True)
        return int(m.group(1))


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


ALL_JSON = ["-z", "triage_rtt,json", "-z", "triage_unwanted,json", "-z", "triage_egress,json"]
ALL_TREE = ["-z", "triage_rtt,tree", "-z", "triage_unwanted,tree", "-z", "triage_egress,tree"]
# The SYN flood is the capture of the memory target per connection: only the
# configurations that hold connections run on it.
NOT_FLOOD = {"heavy", "dense", "real"}
# (label, tshark arguments, post-processing, key, captures it runs on: None = all)
CONFIGS = [
    ("baseline: no-op tap (`-z triage_null`)", ["-z", "triage_null"], None, "base", None),
    ("`triage_rtt,json`", ["-z", "triage_rtt,json"], None, "rtt", None),
    ("`triage_unwanted,json`", ["-z", "triage_unwanted,json"], None, "unwanted", NOT_FLOOD),
    ("`triage_egress,json`", ["-z", "triage_egress,json"], None, "egress", NOT_FLOOD),
    ("all three, JSON", ALL_JSON, None, "all", None),
    ("`triage_rtt,tree`", ["-z", "triage_rtt,tree"], None, "rtt_tree", None),
    ("`triage_unwanted,tree`", ["-z", "triage_unwanted,tree"], None, "unwanted_tree", NOT_FLOOD),
    ("`triage_egress,tree`", ["-z", "triage_egress,tree"], None, "egress_tree", NOT_FLOOD),
    ("all three, tree", ALL_TREE, None, "all_tree", None),
    ("built-in for RTT: `-T fields -e tcp.analysis.initial_rtt` + percentiles",
     ["-T", "fields", "-e", "tcp.stream", "-e", "tcp.analysis.initial_rtt", "-Y", "tcp.analysis.initial_rtt"],
     initial_rtt_post, "builtin_rtt", {"heavy"}),
    ("built-in for protocols: `-z io,phs`", ["-z", "io,phs"], None, "builtin_unwanted", {"heavy"}),
    ("built-in for volume: `-z conv,ip`", ["-z", "conv,ip"], None, "builtin_egress", {"heavy"}),
]
SINGLE = ("rtt", "unwanted", "egress")
NAMES = {"heavy": "connection-heavy", "dense": "connection-dense", "flood": "SYN flood", "real": "real captures"}
TIME_ALL, TIME_EACH, BYTES_PER_CONN, BYTES_PER_DEST = 1.10, 1.05, 100, 200
# The CPUs runs are pinned to, a round at a time (none without taskset).
CORES = sorted(os.sched_getaffinity(0)) if shutil.which("taskset") else []
AGAINST = "@against"  # the key suffix of a configuration run with the plugin built at --against REV


def build_plugin(src, build):
    """The plugin in `src` (a source tree) built into `build` as install.sh builds it (RelWithDebInfo, -O2):
    what a user runs is what is measured."""
    sh("cmake", "-S", str(src), "-B", str(build), "-DCMAKE_BUILD_TYPE=RelWithDebInfo", "-DTRIAGE_BUILD_TESTS=OFF",
       stdout=subprocess.DEVNULL)
    sh("cmake", "--build", str(build), "-j", str(os.cpu_count()), stdout=subprocess.DEVNULL)


def against_configs(rev):
    """All three statistics, JSON and tree, with the plugin built at `rev`."""
    return [(f"all three, JSON, at {rev}", ALL_JSON, None, "all" + AGAINST, None),
            (f"all three, tree, at {rev}", ALL_TREE, None, "all_tree" + AGAINST, None)]


def build_against(rev):
    """Builds the plugin at git revision `rev` (as build_plugin does) and returns (its triage.so, rev's short hash)."""
    short = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", rev], check=True, capture_output=True,
                           text=True).stdout.strip()
    src = pathlib.Path(tempfile.mkdtemp(prefix="triage-against-"))
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(src)], input=archive, check=True)
    build = ROOT / "build-bench-against"
    shutil.rmtree(build, ignore_errors=True)
    build_plugin(src, build)
    shutil.rmtree(src, ignore_errors=True)
    return build / "triage.so", short


def rss_over(res, key):
    """Peak RSS over the baseline's, in bytes (medians)."""
    return (res[key]["rss"] - res["base"]["rss"]) * 1024


def verdict(value, target, unit="×", fmt="{:.3f}"):
    """'**1.234×** (target ≤ 1.100×: missed by 12.2 %)'; memory misses in bytes."""
    show = lambda x: fmt.format(x) + unit
    if value <= target:
        return f"**{show(value)}** (target ≤ {show(target)}: met)"
    miss = f"{(value / target - 1) * 100:.1f} %" if unit == "×" else show(value - target)
    return f"**{show(value)}** (target ≤ {show(target)}: **missed** by {miss})"


def instruction_table(r, captures, packets):
    """Markdown: each configuration's instructions over the no-op tap's, per capture."""
    configs = [c for c in CONFIGS if not c[3].startswith("builtin_")]  # Triage's own, not the built-in routes
    jobs = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        for key, _, cap in captures:
            for _, args, _, k, _ in configs:
                jobs[key, k] = pool.submit(r.instructions, ["-r", str(cap), "-q", "-c", str(packets), *args],
                                           f"{key}.{k}", k.endswith(AGAINST))
        count = {jk: f.result() for jk, f in jobs.items()}
    lines = ["## Instructions (callgrind)", "",
             f"Instructions executed over the first {packets} packets of each capture (`valgrind --tool=callgrind`, "
             "the whole run: start-up, dissection, statistics and report), and how many more than with the no-op "
             "tap. Unlike times, these counts repeat exactly from run to run (within ~0.5 %: Wireshark's own "
             "hash tables depend on where memory lands); they do not show memory stalls, which the times do.", "",
             "| configuration | " + " | ".join(f"{name} (M)" for _, name, _ in captures) + " |",
             "|---|" + "---|" * len(captures)]
    for label, _, _, k, _ in configs:
        cells = []
        for key, _, _ in captures:
            n, base = count[key, k], count[key, "base"]
            cells.append(f"{n / 1e6:.0f}" if k == "base" else f"{n / 1e6:.0f} (+{(n - base) / base * 100:.1f} %)")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines + [""]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--packets", type=int, default=1_000_000, help="packets of the connection-heavy and connection-dense captures")
    ap.add_argument("--syns", type=int, default=1_000_000, help="SYNs of the SYN-flood capture")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--instructions", type=int, default=0, metavar="N",
                    help="also count instructions over the first N packets (callgrind); 0: do not")
    ap.add_argument("--against", metavar="REV",
                    help="also run all three statistics with the plugin built at git revision REV, interleaved")
    ap.add_argument("--out", default=str(ROOT / "bench" / "RESULTS.md"))
    a = ap.parse_args()

    build_plugin(ROOT, ROOT / "build-bench")
    DATA.mkdir(exist_ok=True)
    os.chmod(DATA, 0o755)
    gen = ROOT / "bench" / "gen_traffic.py"
    captures = []
    # The connection-heavy capture of the targets (10 packets a connection:
    # ~100 000 handshakes in 1 M packets), and a denser one (6 packets a
    # connection: 1.6 times the handshakes, servers and destinations in as
    # many packets), measured beside it and named apart.
    for key, title, extra, stem in (("heavy", NAMES["heavy"], [], "heavy10"),
                                    ("dense", f"{NAMES['dense']} (6 packets a connection)", ["--dense"], "dense")):
        path = DATA / f"{stem}-{a.packets}.pcap"
        if not path.exists():
            sh(sys.executable, str(gen), "mixed", str(path), "--packets", str(a.packets), *extra,
               stdout=subprocess.DEVNULL)
        captures.append((key, title, path))
    flood = DATA / f"flood-{a.syns}.pcap"
    if not flood.exists():
        sh(sys.executable, str(gen), "flood", str(flood), "--syns", str(a.syns), stdout=subprocess.DEVNULL)
    captures.append(("flood", NAMES["flood"], flood))
    if SHARED.is_dir():
        real = DATA / "shared-merged.pcapng"
        if not real.exists():
            files = sorted(str(p) for p in SHARED.iterdir() if re.search(r"\.(pcap|pcapng)$", p.name)
                           and p.name not in ("tcpdump_empty.pcap", "ndpi_fuzz-2021-10-13.pcap"))
            sh("mergecap", "-a", "-w", str(real), *files)
        captures.append(("real", f"{NAMES['real']} (mergecap -a of ../shared/captures)", real))
    for _, _, p in captures:
        os.chmod(p, 0o644)

    against_so = None
    if a.against:
        against_so, rev = build_against(a.against)
        CONFIGS.extend(against_configs(rev))
    r = Runner(against_so)
    version = subprocess.run(["tshark", "--version"], capture_output=True, text=True).stdout.split()[2]
    lines = ["# Triage benchmark", "",
             f"Measured {time.strftime('%Y-%m-%d')} on {os.cpu_count()} cores, tshark {version}, the plugin built "
             "as `./install.sh` builds it (RelWithDebInfo: -O2). Each capture's "
             f"configurations ran interleaved, {a.repeat} rounds, more for a capture whose runs take under "
             f"{SHORT_RUN_S:g} s (each round runs every configuration once, in "
             "an order that rotates from round to round, and the no-op tap before the first and after each"
             + (f", all of a round's runs on one CPU, the next round's on the next ({len(CORES)} CPUs, `taskset`)"
                if CORES else "")
             + "); the table gives the median and, in brackets, the fastest and slowest run, so the machine's "
             "noise is visible. The ratio is a "
             "configuration's median over the no-op tap's (the cost of Wireshark's dissection alone); the paired "
             "ratio is the median over the rounds of its time over the mean of the two no-op runs just before and "
             "just after it, on the same CPU, in brackets the lowest and highest round: a drift of the host's speed "
             "over the seconds of a run moves all three, and cancels. The targets are judged on the paired "
             "ratios, of the wall-clock time and of tshark's CPU time (user + system: what other processes take "
             "from it does not count); peak RSS is the "
             f"median of GNU time's maximum resident set size. Command: `bench/run.sh --packets {a.packets} "
             f"--syns {a.syns} --repeat {a.repeat}" + (f" --instructions {a.instructions}" if a.instructions else "")
             + (f" --against {a.against}" if a.against else "") + "`.", ""]
    summary = {}
    for key, cname, cap in captures:
        truth_file = pathlib.Path(str(cap) + ".truth.json")
        truth = json.loads(truth_file.read_text()) if truth_file.exists() else {}
        configs = [c for c in CONFIGS if c[4] is None or key in c[4]]
        runs = {c[3]: [] for c in configs}
        # A capture whose runs are short (the real captures: ~0.5 s) gets more
        # rounds, up to 4x, so that each configuration is timed for about as
        # long as on the large captures: a run of half a second moves by
        # tens of per cent with whatever else the host does.
        rounds, rnd = a.repeat, 0
        # Each configuration's runs over the no-op tap's: (wall-clock, CPU
        # time) over the mean of the no-op runs just before and after it.
        pairs = {c[3]: [] for c in configs}
        base_cfg = next(c for c in configs if c[3] == "base")
        others = [c for c in configs if c[3] != "base"]
        while rnd < rounds:
            order = others[rnd % len(others):] + others[:rnd % len(others)]
            # A round's runs on one core, the next round's on the next: the
            # cores of a VM can differ in speed by a third (another guest on
            # the host's core), and a run moved between them mid-way is
            # neither's.
            core = CORES[rnd % len(CORES)] if CORES else None

            def run(c):
                _, args, post, k, _ = c
                x = r.measure(["-r", str(cap), "-q", *args], post, k.endswith(AGAINST), core)
                runs[k].append(x)
                return x

            # The no-op tap runs before the round's first configuration and
            # after each one, so that every configuration's run is bracketed
            # by two no-op runs: the host's speed drifts, and on a shared VM
            # switches, within minutes, and a round takes several.
            before = run(base_cfg)
            for c in order:
                x = run(c)
                after = run(base_cfg)
                pairs[c[3]].append((x[0] / ((before[0] + after[0]) / 2), x[2] / ((before[2] + after[2]) / 2)))
                before = after
            if rnd == 0:
                rounds = a.repeat * max(1, min(4, int(SHORT_RUN_S / runs["base"][0][0])))
            rnd += 1
            print(f"{cname}: round {rnd}/{rounds} done", file=sys.stderr)
        res = {}
        for label, _, _, k, _ in configs:
            secs = [x[0] for x in runs[k]]
            cpu = [x[2] for x in runs[k]]
            # Each run's time over the no-op tap's runs around it (same core,
            # seconds apart): what the host does meanwhile moves all three.
            pair = [p[0] for p in pairs[k]] or [1.0]
            cpu_pair = [p[1] for p in pairs[k]] or [1.0]
            res[k] = {"med": statistics.median(secs), "lo": min(secs), "hi": max(secs),
                      "rss": statistics.median(x[1] for x in runs[k]),
                      "cpu": statistics.median(cpu), "cpu_lo": min(cpu), "cpu_hi": max(cpu),
                      "pair": statistics.median(pair), "pair_lo": min(pair), "pair_hi": max(pair),
                      "cpu_pair": statistics.median(cpu_pair)}
        base = res["base"]
        desc = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in truth.items() if k != "rtt_ms")
        lines += [f"## {cname}: `{cap.name}`" + (f" ({desc})" if desc else ""), "",
                  f"{rounds} rounds" + (f" ({rounds // a.repeat}x --repeat: its runs are short)" if rounds > a.repeat
                                        else "") + ".", "",
                  "| configuration | time (s) | ratio | paired ratio | CPU time (s) | CPU ratio | paired CPU ratio | "
                  "peak RSS (MiB) | RSS over baseline (MiB) |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for label, _, _, k, _ in configs:
            x = res[k]
            lines.append(f"| {label} | {x['med']:.2f} [{x['lo']:.2f}–{x['hi']:.2f}] | {x['med'] / base['med']:.3f} | "
                         f"{x['pair']:.3f} [{x['pair_lo']:.3f}–{x['pair_hi']:.3f}] | "
                         f"{x['cpu']:.2f} [{x['cpu_lo']:.2f}–{x['cpu_hi']:.2f}] | {x['cpu'] / base['cpu']:.3f} | "
                         f"{x['cpu_pair']:.3f} | {x['rss'] / 1024:.1f} | {(x['rss'] - base['rss']) / 1024:+.1f} |")
        spread = (base["hi"] - base["lo"]) / base["med"] * 100
        cpu_spread = (base["cpu_hi"] - base["cpu_lo"]) / base["cpu"] * 100
        lines += ["", f"Noise: the baseline's runs spread over {spread:.1f} % of its median wall-clock time, "
                  f"{cpu_spread:.1f} % of its median CPU time.", ""]
        summary[key] = (res, truth)

    if a.instructions:
        lines += instruction_table(r, [(k, n, c) for k, n, c in captures if k in ("heavy", "real")], a.instructions)
    lines += ["## Targets", "",
              "The targets are set on the connection-heavy and the real captures; the connection-dense capture "
              "(beyond what the targets name) is judged by the same bounds, for comparison.", ""]
    for key in ("heavy", "real", "dense"):
        if key not in summary:
            continue
        res, _ = summary[key]
        name = NAMES[key]
        for measure, what in (("pair", "wall-clock"), ("cpu_pair", "CPU time")):
            ratio = lambda k: res[k][measure]
            lines.append(f"* {name}, {what}, all three JSON: {verdict(ratio('all'), TIME_ALL)}")
            lines.append(f"* {name}, {what}, all three tree: {verdict(ratio('all_tree'), TIME_ALL)}")
            for form in ("", "_tree"):
                each = ", ".join(f"`triage_{k}{',tree' if form else ',json'}` {verdict(ratio(k + form), TIME_EACH)}"
                                 for k in SINGLE)
                lines.append(f"* {name}, {what}, each alone: {each}")
            if a.against:
                lines.append(f"* {name}, {what}, head to head with the plugin at {rev} (same rounds): all three "
                             f"JSON {ratio('all' + AGAINST):.3f}× then, {ratio('all'):.3f}× now; all three tree "
                             f"{ratio('all_tree' + AGAINST):.3f}× then, {ratio('all_tree'):.3f}× now")
    if "flood" in summary:
        res, truth = summary["flood"]
        for k in ("rtt", "rtt_tree"):
            per = rss_over(res, k) / truth["connections"]
            lines.append(f"* Memory per TCP connection, SYN flood ({truth['connections']} unanswered SYNs from "
                         f"distinct sources), `triage_{k.replace('_tree', ',tree') if 'tree' in k else 'rtt,json'}`: "
                         f"{verdict(per, BYTES_PER_CONN, ' B', '{:.0f}')}")
    for key in ("heavy", "dense"):
        res, truth = summary[key]
        name = NAMES[key]
        for k in ("egress", "egress_tree"):
            per = rss_over(res, k) / truth["destinations"]
            lines.append(f"* Memory per destination, {name} ({truth['destinations']} destinations), "
                         f"`triage_egress,{'tree' if 'tree' in k else 'json'}`: "
                         f"{verdict(per, BYTES_PER_DEST, ' B', '{:.0f}')}")
        per = rss_over(res, "rtt") / truth["connections"]
        lines.append(f"* Memory per completed connection, {name} ({truth['connections']} handshakes, "
                     f"{truth.get('servers', '?')} servers), `triage_rtt,json`: **{per:.0f} B** (no target).")
    res, truth = summary["heavy"]
    for k, builtin in (("rtt", "builtin_rtt"), ("unwanted", "builtin_unwanted"), ("egress", "builtin_egress")):
        t, b = res[k]["med"], res[builtin]["med"]
        lines.append(f"* `triage_{k}` {t:.2f} s vs the built-in route {b:.2f} s: {t / b:.2f}×.")
    lines.append("")

    out = pathlib.Path(a.out)
    kept = ""
    if out.exists():
        old = out.read_text()
        m = re.search(r"^## (Profile|Merge)", old, re.M)
        kept = old[m.start():] if m else ""
    out.write_text("\n".join(lines) + "\n" + kept)
    print("\n".join(lines))
    shutil.rmtree(r.tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
