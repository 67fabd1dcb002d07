"""triage-merge: separate runs merged == one run over the mergecap'ed capture."""

import json
import os
import subprocess
from decimal import Decimal

import pytest

from conftest import ROOT, by_kind, json_documents, shared_capture

MERGE = ROOT / "tools" / "triage-merge"
BATCH = ROOT / "tools" / "triage-batch"
CAPTURES = ["cs_telnet.pcap", "zeek_irc-basic.pcap", "cs_http_espn.pcapng", "zeek_ftp_ipv6.pcap",
            "ndpi_nfsv3.pcap", "sv_rdp-003.pcap"]
ALL = ("-z", "triage_rtt,json", "-z", "triage_unwanted,json", "-z", "triage_egress,json")


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
            f.write(tshark.run("-r", p, "-q", *ALL).stdout)
        outs.append(out)
    merged = subprocess.run([str(MERGE), *outs], capture_output=True, text=True, check=True).stdout
    whole = os.path.join(tshark.captures, "all-merged.pcapng")
    subprocess.run(["mergecap", "-w", whole, *paths], check=True, capture_output=True)
    os.chmod(whole, 0o644)
    single = tshark.run("-r", whole, "-q", *ALL).stdout
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
    env = dict(os.environ, TRIAGE_TSHARK=" ".join(tshark.argv([])))
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
