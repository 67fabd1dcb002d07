"""Hostile and live input: mutated captures, valgrind, live capture on lo."""

import json
import os
import random
import shutil
import socket
import struct
import subprocess
import threading
import time

import pytest

from conftest import (ALL_JSON, EXAMPLE, NOBODY, all_shared_captures, json_documents, open_error_exit,
                      read_error_exit, shared_capture)

MUTATIONS = int(os.environ.get("TRIAGE_MUTATIONS", "1"))
# Each pass of run-tests.sh starts at another seed, so the passes test different mutants.
FIRST_MUTATION = int(os.environ.get("TRIAGE_FIRST_MUTATION", "0"))


def shuffle_times(src, dst, rng):
    """Rewrites every record timestamp of a libpcap file at random."""
    data = bytearray(open(src, "rb").read())
    magic = struct.unpack_from("<I", data, 0)[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    off = 24
    while off + 16 <= len(data):
        incl = struct.unpack_from(endian + "I", data, off + 8)[0]
        struct.pack_into(endian + "II", data, off, rng.randrange(0, 2**32), rng.randrange(0, 2**32))
        off += 16 + incl
    open(dst, "wb").write(bytes(data))


def mutants(tshark, capture, n):
    """(name, path) of n mutants of each kind, reproducible (fixed seeds)."""
    src = tshark.capture(capture)
    base = os.path.join(tshark.captures, "mut-" + os.path.basename(capture).replace(".gz", ""))
    size = os.path.getsize(src)
    out = []
    for k in range(FIRST_MUTATION, FIRST_MUTATION + n):
        rng = random.Random(f"{capture}/{k}")
        corrupt = f"{base}.E{k}.pcapng"
        subprocess.run(["editcap", "-E", "0.03", "--seed", str(rng.randrange(1 << 30)), src, corrupt],
                       check=True, capture_output=True)
        cut = f"{base}.cut{k}"
        with open(src, "rb") as f:
            open(cut, "wb").write(f.read(rng.randrange(24, max(25, size))))
        plain = f"{base}.plain{k}.pcap"
        subprocess.run(["editcap", "-F", "pcap", src, plain], capture_output=True)
        times = f"{base}.t{k}.pcap"
        if os.path.exists(plain) and os.path.getsize(plain) >= 24:
            shuffle_times(plain, times, rng)
            out.append(("timestamps", times))
        out += [("editcap -E", corrupt), ("truncated", cut)]
    for _, p in out:
        os.chmod(p, 0o644)
        if tshark.root:
            os.chown(p, NOBODY, NOBODY)
    return out


@pytest.mark.parametrize("capture", all_shared_captures())
def test_mutated_captures_never_crash(tshark, capture):
    for kind, path in mutants(tshark, shared_capture(capture), MUTATIONS):
        p = tshark.run("-r", path, "-q", *ALL_JSON, check=False, timeout=120)
        why = f"{kind} {path}: exit {p.returncode}\n{p.stderr[-2000:]}"
        docs = json_documents(p.stdout)
        if not docs:
            # A file cut inside its header never gets to the statistics: tshark
            # says why and exits with its "cannot open" status (2 in 4.0, 3 later).
            assert p.returncode == open_error_exit() and ("cut short" in p.stderr or "isn't a capture file" in p.stderr
                                                          or "damaged or corrupt" in p.stderr), why
            continue
        # Opened, then cut short or damaged while reading: the statistics still print.
        assert p.returncode in (0, read_error_exit()), why
        assert len(docs) == 3, f"{kind} {path}: {len(docs)} JSON documents"
        rtt = next(d for d in docs if "connections" in d)
        assert rtt["summary"]["connections"] == len(rtt["connections"])


@pytest.mark.no_sanitizer
def test_valgrind_memcheck_is_clean(tshark):
    if not shutil.which("valgrind"):
        pytest.fail("valgrind is not installed (run-tests.sh installs it)")
    path = tshark.capture(shared_capture("cs_http_espn.pcapng"))
    # Triage alone: other plugins (4.6's Falco bridge, libsinsp) have valgrind findings of their own.
    only = tshark.work / "valgrind-plugins" / tshark.plugin.parent.parent.name / "epan"
    only.mkdir(parents=True, exist_ok=True)
    shutil.copy(tshark.plugin, only / "triage.so")
    for d in (only.parent.parent, only.parent, only, only / "triage.so"):
        os.chmod(d, 0o755)
    argv = tshark.argv(["-r", path, "-q", *ALL_JSON], extra_env=(f"WIRESHARK_PLUGIN_DIR={only.parent.parent}",))
    i = argv.index("tshark")
    argv[i:i] = ["valgrind", "--error-exitcode=99", "--leak-check=no", "-q"]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=600, cwd=tshark.work)
    assert p.returncode == 0, p.stderr[-4000:]
    assert len(json_documents(p.stdout)) == 3


@pytest.mark.no_sanitizer
def test_live_capture_on_loopback(tshark):
    """Handshakes made while tshark captures on lo are measured live."""
    if not tshark.root:
        pytest.skip("needs root to grant the capture capability to the test user")
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    port = server.getsockname()[1]
    n = 5

    def serve():
        for _ in range(n):
            c, _ = server.accept()
            c.recv(100)
            c.close()

    caps = ["--inh-caps", "+net_raw,+net_admin", "--ambient-caps", "+net_raw,+net_admin"]
    argv = tshark.argv(["-i", "lo", "-f", f"tcp port {port}", "-a", "duration:6", "-q", "-z", "triage_rtt,json"])
    argv[1:1] = caps
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tshark.work)
    try:
        deadline = time.time() + 10
        started = False
        while time.time() < deadline:
            line = proc.stderr.readline()
            if "Capturing on" in line or "Capture started" in line:
                started = True
                break
            if not line and proc.poll() is not None:
                break
        assert started, "tshark did not start capturing"
        time.sleep(0.5)
        threading.Thread(target=serve, daemon=True).start()
        ports = []
        for _ in range(n):
            c = socket.create_connection(("127.0.0.1", port))
            ports.append(c.getsockname()[1])
            c.send(b"hello")
            c.close()
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        server.close()
    doc = json.loads(out)
    done = [c for c in doc["connections"] if c["outcome"] == "completed"]
    assert sorted(c["client_port"] for c in done) == sorted(ports)
    assert all(c["server_port"] == port and c["rtt_ms"] >= 0 for c in done)
    assert doc["rtt_ms"]["count"] == n


def test_example_capture_all_statistics_under_one_run(tshark):
    p = tshark.run("-r", tshark.capture(EXAMPLE), "-q", *ALL_JSON)
    assert len(json_documents(p.stdout)) == 3
