#!/usr/bin/python3
"""Merge benchmark: triage-merge over many partial Handshake RTT results, as
a fleet of batch jobs would leave them. Writes FILES partial JSON documents
in the plugin's own layout (one connection per line) holding N connections in
all, for each N given, then times `triage-merge` on them and reads its peak
memory (GNU time). Memory must grow with what the statistics remember, not
with the text, and time linearly with the input.

  bench/merge_bench.py --connections 1000000 3000000 10000000 [--files 100]
"""

import argparse
import pathlib
import random
import shutil
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[1]
MERGE = ROOT / "tools" / "triage-merge"
SKELETON_HEAD = """{
  "summary": {"connections": %(n)d},
  "rtt_ms": {},
  "server_leg_ms": {},
  "client_leg_ms": {},
  "connect_ms": {},
  "histogram": [],
  "servers": [],
  "anomaly_counts": {},
  "anomalies": [],
  "connections": [
"""


def write_partials(folder, total, files, seed=1):
    """FILES documents; connections to 50 000 servers, a tenth of them failed."""
    rnd = random.Random(seed)
    per = total // files
    stream = 0
    for f in range(files):
        n = per + (1 if f < total % files else 0)
        with open(folder / f"part-{f:05d}.json", "w") as out:
            out.write(SKELETON_HEAD % {"n": n})
            lines = []
            for i in range(n):
                server = rnd.randrange(50_000)
                srv = f"198.51.{100 + server // 256 % 2}.{server % 256}" if server < 512 else \
                    f"2001:db8::{server:x}"
                sleg = rnd.randrange(100_000, 300_000_000)
                cleg = rnd.randrange(10_000, 500_000)
                failed = rnd.random() < 0.1
                legs = ('"server_leg_ms":null,"client_leg_ms":null,"rtt_ms":null,"connect_ms":null,'
                        '"network_leg":null,"outcome":"unanswered"') if failed else (
                    f'"server_leg_ms":{sleg / 1e6:.6f},"client_leg_ms":{cleg / 1e6:.6f},'
                    f'"rtt_ms":{(sleg + cleg) / 1e6:.6f},"connect_ms":{(sleg + cleg) / 1e6:.6f},'
                    f'"network_leg":"server_leg","outcome":"completed"')
                frame = 3 * i + 1
                lines.append(
                    f'    {{"stream":{stream},"client":"10.{f % 256}.{i // 256 % 256}.{i % 256}",'
                    f'"client_port":{1024 + i % 60000},"server":"{srv}","server_port":443,'
                    f'"start_time":1700000000.{i % 1000000:06d},"first_syn_frame":{frame},"syn_frame":{frame},'
                    f'"synack_frame":{"null" if failed else frame + 1},'
                    f'"last_synack_frame":{"null" if failed else frame + 1},'
                    f'"ack_frame":{"null" if failed else frame + 2},"rst_frame":null,"syn_count":1,'
                    f'"synack_count":{0 if failed else 1},"retried":false,{legs},"anomaly":null}}')
                stream += 1
                if len(lines) == 10000:
                    out.write(",\n".join(lines) + ",\n")
                    lines = []
            out.write(",\n".join(lines) + "\n  ]\n}\n" if lines else "  ]\n}\n")


def measure(folder):
    files = sorted(str(p) for p in folder.iterdir())
    p = subprocess.run(["/usr/bin/time", "-f", "%e %M", str(MERGE), *files], stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        sys.exit(f"triage-merge failed: {p.stderr}")
    secs, kib = p.stderr.strip().splitlines()[-1].split()
    return float(secs), int(kib) * 1024


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--connections", type=int, nargs="+", default=[1_000_000, 3_000_000, 10_000_000])
    ap.add_argument("--files", type=int, default=100)
    ap.add_argument("--out", help="append the table to this file")
    args = ap.parse_args()
    rows = ["| connections | files | input (MB) | time (s) | s per million | peak RSS (MiB) | bytes per connection |",
            "|---|---|---|---|---|---|---|"]
    for n in args.connections:
        folder = pathlib.Path(tempfile.mkdtemp(prefix="merge-bench-"))
        try:
            write_partials(folder, n, args.files)
            size = sum(p.stat().st_size for p in folder.iterdir())
            secs, rss = measure(folder)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        rows.append(f"| {n} | {args.files} | {size / 1e6:.0f} | {secs:.1f} | {secs / (n / 1e6):.1f} | "
                    f"{rss / 2**20:.0f} | {rss / n:.0f} |")
        print(rows[-1], flush=True)
    text = "\n".join(rows) + "\n"
    print(text)
    if args.out:
        with open(args.out, "a") as f:
            f.write(text)


if __name__ == "__main__":
    main()
