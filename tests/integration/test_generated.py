"""The benchmark's generated captures (bench/gen_traffic.py) against the truth
they were built with: a fast answer must still be the right one, and the
generator writes the connections, servers, destinations and RTTs it made."""

import collections
import json
import pathlib
import subprocess
import sys

import pytest

from conftest import ROOT

GEN = ROOT / "bench" / "gen_traffic.py"


@pytest.fixture(scope="module", params=[[], ["--dense"]], ids=["10-packets", "dense"])
def heavy(request, tmp_path_factory):
    out = tmp_path_factory.mktemp("generated") / "heavy.pcap"
    subprocess.run([sys.executable, str(GEN), "mixed", str(out), "--packets", "30000", *request.param], check=True,
                   stdout=subprocess.DEVNULL)
    return out, json.loads(pathlib.Path(str(out) + ".truth.json").read_text())


def test_connection_heavy_capture_equals_its_truth(tshark, heavy):
    cap, truth = heavy
    rtt = tshark.stat_json("triage_rtt", cap)
    egress = tshark.stat_json("triage_egress", cap)
    unwanted = tshark.stat_json("triage_unwanted", cap)
    assert truth["ipv6_connections"] > 0 and truth["inbound_connections"] > 0
    assert rtt["summary"]["connections"] == rtt["summary"]["completed"] == truth["connections"]
    assert len(rtt["servers"]) == truth["servers"]
    # Server legs as generated (the client leg is 0.05 ms).
    legs = collections.Counter(round(c["server_leg_ms"], 6) for c in rtt["connections"])
    assert {str(k if k != int(k) else int(k)): v for k, v in legs.items()} == \
        {k: v for k, v in truth["rtt_ms"].items() if v}
    assert all(abs(c["client_leg_ms"] - 0.05) < 1e-9 for c in rtt["connections"])
    assert len(egress["destinations"]) == truth["destinations"]
    frames = {a["protocol"]: a["frames"] for a in unwanted["alerts"]}
    assert frames == {"telnet": truth["telnet_frames"], "ftp": truth["ftp_frames"]}


def test_flood_capture_equals_its_truth(tshark, tmp_path):
    out = tmp_path / "flood.pcap"
    subprocess.run([sys.executable, str(GEN), "flood", str(out), "--syns", "5000"], check=True,
                   stdout=subprocess.DEVNULL)
    truth = json.loads(pathlib.Path(str(out) + ".truth.json").read_text())
    rtt = tshark.stat_json("triage_rtt", out)
    assert rtt["summary"]["connections"] == rtt["summary"]["unanswered"] == truth["unanswered"]
