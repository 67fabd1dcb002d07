"""triage-merge: separate runs merged == one run over the mergecap'ed capture."""

import json
import os
import pathlib
import subprocess
import tempfile
from decimal import Decimal

import pytest

from conftest import ALL_JSON, ROOT, batch_env, by_kind, cut_ring, json_documents, readable, shared_capture

MERGE = ROOT / "tools" / "triage-merge"
BATCH = ROOT / "tools" / "triage-batch"
CAPTURES = ["cs_telnet.pcap", "zeek_irc-basic.pcap", "cs_http_espn.pcapng", "zeek_ftp_ipv6.pcap",
            "ndpi_nfsv3.pcap", "sv_rdp-003.pcap"]


def approx(a, b, where):
    if isinstance(a, dict):
        assert set(a) == set(b), where
        for k in a:
            approx(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            approx(x, y, f"{where}[{i}]")
    elif isinstance(a, (float, Decimal)) and not isinstance(a, bool):
        assert abs(Decimal(str(a)) - Decimal(str(b))) <= Decimal("0.000001"), f"{where}: {a} != {b}"
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def without(d, *keys):
    return {k: v for k, v in d.items() if k not in keys}


def conn_key(c):
    return (c["client"], c["client_port"], c["server"], c["server_port"], c["outcome"], c["syn_count"],
            c["synack_count"], str(c["rtt_ms"]), str(c["server_leg_ms"]), str(c["client_leg_ms"]),
            str(c["connect_ms"]))


@pytest.fixture(scope="module")
def merged_vs_single(tshark):
    paths = [tshark.capture(shared_capture(c)) for c in CAPTURES]
    outs = []
    for p in paths:
        out = os.path.join(tshark.work, os.path.basename(p) + ".json")
        with open(out, "w") as f:
            f.write(tshark.run("-r", p, "-q", *ALL_JSON).stdout)
        outs.append(out)
    merged = subprocess.run([str(MERGE), *outs], capture_output=True, text=True, check=True).stdout
    whole = os.path.join(tshark.captures, "all-merged.pcapng")
    subprocess.run(["mergecap", "-w", whole, *paths], check=True, capture_output=True)
    os.chmod(whole, 0o644)
    single = tshark.run("-r", whole, "-q", *ALL_JSON).stdout
    parse = lambda t: by_kind(json.loads("[" + ",".join(json.dumps(d) for d in json_documents(t)) + "]",
                                         parse_float=Decimal))
    return parse(merged), parse(single)


def test_rtt_merge_equals_single_run(merged_vs_single):
    m, s = merged_vs_single[0]["rtt"], merged_vs_single[1]["rtt"]
    for key in ("rtt_ms", "server_leg_ms", "client_leg_ms", "connect_ms", "histogram"):
        approx(m[key], s[key], key)
    approx(without(m["summary"], "negative_time"), without(s["summary"], "negative_time"), "summary")
    key = lambda srv: (srv["server"], srv["server_port"])
    approx(sorted(m["servers"], key=key), sorted(s["servers"], key=key), "servers")
    assert sorted(map(conn_key, m["connections"])) == sorted(map(conn_key, s["connections"]))
    assert m["summary"]["connections"] > 20


def test_unwanted_merge_equals_single_run(merged_vs_single):
    m, s = merged_vs_single[0]["unwanted"], merged_vs_single[1]["unwanted"]
    def strip(a):
        convs = sorted(json.dumps(without(c, "first_frame"), sort_keys=True, default=str) for c in a["conversations"])
        return dict(without(a, "first_frame"), conversations=convs)

    approx([strip(a) for a in m["alerts"]], [strip(a) for a in s["alerts"]], "alerts")
    assert {a["protocol"] for a in m["alerts"]} >= {"telnet", "irc", "ftp", "portmap"}


def test_egress_merge_equals_single_run(merged_vs_single):
    m, s = merged_vs_single[0]["egress"], merged_vs_single[1]["egress"]
    approx(m["totals"], s["totals"], "totals")
    approx(m["destinations"], s["destinations"], "destinations")


def test_batch_mode_on_a_directory(tshark):
    """triage-batch over a ring-buffer-like directory == the sum of the files."""
    ring = tshark.work / "ring"
    ring.mkdir()
    for c in CAPTURES[:3]:
        ring.joinpath(c).write_bytes(shared_capture(c).read_bytes())
        os.chmod(ring / c, 0o644)
    os.chmod(ring, 0o755)
    env = batch_env(tshark)
    p = subprocess.run([str(BATCH), "-j", "2", str(ring)], capture_output=True, text=True, env=env, timeout=300)
    assert p.returncode == 0, p.stderr
    assert "[3/3]" in p.stderr, "progress is shown"
    docs = by_kind(json_documents(p.stdout))
    assert set(docs) == {"rtt", "unwanted", "egress"}
    assert docs["rtt"]["summary"]["connections"] == sum(
        tshark.stat_json("triage_rtt", shared_capture(c))["summary"]["connections"] for c in CAPTURES[:3])


def test_merge_rejects_non_triage_json(tmp_path):
    bad = tmp_path / "x.json"
    bad.write_text('{"hello": 1}')
    p = subprocess.run([str(MERGE), str(bad)], capture_output=True, text=True)
    assert p.returncode != 0 and "not a Triage JSON document" in p.stderr


# ---- rings: triage-batch == one run over mergecap -a of the files -----------------------------------

def first_time(path):
    out = subprocess.run(["capinfos", "-M", "-T", "-r", "-a", "-S", str(path)], capture_output=True, text=True,
                         check=True).stdout
    return Decimal(out.split("\t")[1])


def normalized(x):
    """Everything but tcp.stream (per job) and the capture each record came from."""
    if isinstance(x, dict):
        return {k: normalized(v) for k, v in x.items() if k not in ("stream", "capture")}
    if isinstance(x, list):
        return [normalized(v) for v in x]
    return str(x) if isinstance(x, Decimal) else x


@pytest.fixture
def tmp_path(tshark, request):
    """A folder the unprivileged tshark can read (pytest's own are private to root)."""
    d = pathlib.Path(tempfile.mkdtemp(prefix="ring-", dir=tshark.work))
    os.chmod(d, 0o755)
    yield d
    subprocess.run(["rm", "-rf", str(d)])


def ring_vs_whole(tshark, source, packets, context, tmp_path):
    ring = cut_ring(tmp_path, source, packets, "cut.pcapng")
    files = sorted(ring.iterdir(), key=lambda p: (first_time(p), p.name))
    whole = tmp_path / f"whole-{packets}.pcapng"
    subprocess.run(["mergecap", "-F", "pcapng", "-a", "-w", str(whole), *map(str, files)], check=True)
    readable(whole)
    p = subprocess.run([str(BATCH), "-j", "2", "--context", str(context), str(ring)], capture_output=True, text=True,
                       env=batch_env(tshark), timeout=600)
    assert p.returncode == 0, p.stderr
    batch = by_kind(json_documents(p.stdout))
    single = by_kind(json_documents(tshark.run("-r", whole, "-q", *ALL_JSON).stdout))
    return batch, single, len(files)


# Cut inside handshakes and FTP sessions (the example has both), in files smaller than the context. Under
# ASan the rings of many files (a tshark start each) run in the plain passes only; the example cut in 37s,
# IPv6 and QUIC take the same merge and window code there.
@pytest.mark.parametrize("capture,packets,context", [
    pytest.param("EXAMPLE", 13, 50, marks=pytest.mark.plain_only), ("EXAMPLE", 37, 20),
    ("zeek_ftp_ipv6.pcap", 7, 100), pytest.param("cs_http_espn.pcapng", 113, 500, marks=pytest.mark.plain_only),
    pytest.param("ndpi_reddit.pcap", 97, 400, marks=pytest.mark.plain_only),
    ("zeek_quic_win11_firefox_google.pcap", 11, 20)])
def test_ring_equals_one_run_over_the_whole(tshark, tmp_path, capture, packets, context):
    from conftest import EXAMPLE
    source = EXAMPLE if capture == "EXAMPLE" else shared_capture(capture)
    batch, single, files = ring_vs_whole(tshark, source, packets, context, tmp_path)
    assert files > 1
    for k in ("rtt", "unwanted", "egress"):
        assert normalized(batch[k]) == normalized(single[k]), k
    rtt = single["rtt"]
    assert rtt["summary"]["connections"] + rtt["tls"]["summary"]["connections"] + \
        rtt["quic"]["summary"]["connections"] > 0


def test_ring_reports_handshakes_longer_than_the_context(tshark, tmp_path):
    """Frames 81-120 of the example hold two handshakes whose SYN is stamped before the frames
    ahead of it (the example's clock steps back). The ring's files are taken in time order, so
    in files of 2 the SYN's file comes several files before its SYN/ACK's: with a context of 10
    packets the job of the SYN/ACK cannot see the SYN. Reported, not bent."""
    from conftest import EXAMPLE
    part = tmp_path / "frames-81-120.pcap"
    subprocess.run(["editcap", "-r", str(EXAMPLE), str(part), "81-120"], check=True)
    readable(part)
    batch, single, _ = ring_vs_whole(tshark, part, 2, 10, tmp_path)
    assert batch["rtt"]["anomaly_counts"].get("beyond_context", 0) >= 1
    assert any(a["kind"] == "beyond_context" and "raise --context" in a["detail"] for a in batch["rtt"]["anomalies"])
    assert normalized(batch["egress"]) == normalized(single["egress"]), "per-frame statistics stay exact"


def test_ring_with_a_bad_file_names_it_and_merges_the_rest(tshark, tmp_path):
    from conftest import EXAMPLE
    ring = cut_ring(tmp_path, EXAMPLE, 100)
    files = sorted(ring.iterdir())
    broken = ring / "zz-truncated.pcap"
    data = files[1].read_bytes()
    broken.write_bytes(data[: len(data) - 7])  # cut inside its last packet
    (ring / "unreadable.pcap").write_bytes(b"not a capture at all")
    import struct  # an empty capture (a ring file just rotated): nothing to count, nothing missing
    (ring / "empty.pcap").write_bytes(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    readable(*ring.iterdir())
    p = subprocess.run([str(BATCH), "-j", "2", str(ring)], capture_output=True, text=True, env=batch_env(tshark),
                       timeout=600)
    assert p.returncode == 1
    assert "zz-truncated.pcap" in p.stderr and "unreadable.pcap" in p.stderr
    docs = by_kind(json_documents(p.stdout))
    assert set(docs) == {"rtt", "unwanted", "egress"}, "the rest is merged"
    for d in docs.values():
        assert sorted(m["capture"] for m in d["missing_captures"]) == ["unreadable.pcap", "zz-truncated.pcap"]
    assert docs["rtt"]["summary"]["connections"] > 0


def test_batch_keeps_options_with_spaces(tshark, tmp_path):
    """The README's uat: example has spaces and quotes: they reach tshark intact."""
    from conftest import EXAMPLE
    ring = cut_ring(tmp_path, EXAMPLE, 150)
    opt = 'uat:triage_unwanted_protocols:"dns","high","name lookups in the clear"'
    p = subprocess.run([str(BATCH), str(ring), "-o", opt], capture_output=True, text=True, env=batch_env(tshark),
                       timeout=600)
    assert p.returncode == 0, p.stderr
    alerts = {a["protocol"]: a for a in by_kind(json_documents(p.stdout))["unwanted"]["alerts"]}
    assert alerts["dns"]["reason"] == "name lookups in the clear"


def test_merge_refuses_runs_made_with_different_settings(tshark, tmp_path):
    from conftest import EXAMPLE
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(tshark.run("-r", EXAMPLE, "-q", "-z", "triage_egress,json").stdout)
    b.write_text(tshark.run("-r", EXAMPLE, "-q", "-o", "triage.local_networks:10.0.0.5/32",
                            "-z", "triage_egress,json").stdout)
    p = subprocess.run([str(MERGE), str(a), str(b)], capture_output=True, text=True)
    assert p.returncode != 0
    assert "b.json and " in p.stderr and "a.json" in p.stderr and "different egress settings" in p.stderr


def test_batch_removes_its_temporary_folder_when_killed(tshark, tmp_path):
    import signal
    import time
    from conftest import EXAMPLE
    ring = cut_ring(tmp_path, EXAMPLE, 20)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = batch_env(tshark, TMPDIR=str(tmp))
    proc = subprocess.Popen([str(BATCH), "-j", "1", str(ring)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not list(tmp.glob("triage-batch-*")):
        time.sleep(0.02)
    assert list(tmp.glob("triage-batch-*")), "the batch made its folder"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 128 + signal.SIGTERM
    assert not list(tmp.glob("triage-batch-*")), "removed on SIGTERM"
