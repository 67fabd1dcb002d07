"""Handshake RTT (-z triage_rtt) against tshark's own fields."""

import csv
import io
import subprocess
import sys

import pytest

from conftest import BROKEN, EXAMPLE, ROOT, all_shared_captures, shared_capture, tree_title
from tcp_frames import TCP_FIELDS, check_capture, check_summary, frames_of, nearest_rank

sys.path.insert(0, str(ROOT / "bench"))
from gen_traffic import Writer, tcp_frame  # noqa: E402  (the benchmark's pcap writer)

TCP_CAPTURES = [c for c in all_shared_captures() if c not in BROKEN]


def frames_for(tshark, capture):
    return frames_of(tshark.fields(capture, TCP_FIELDS, "tcp && !icmp && !icmpv6", occurrence="l"))


@pytest.mark.parametrize("capture", TCP_CAPTURES)
def test_rtt_matches_tshark_fields(tshark, capture):
    path = shared_capture(capture)
    doc = tshark.stat_json("triage_rtt", path)
    check_capture(doc, frames_for(tshark, path))
    check_summary(doc)


def test_rtt_example_capture(tshark):
    doc = tshark.stat_json("triage_rtt", EXAMPLE)
    assert check_capture(doc, frames_for(tshark, EXAMPLE)) >= 15, "clean streams compared with initial_rtt"
    check_summary(doc)
    by_port = {(c["server"], c["server_port"], c["outcome"]) for c in doc["connections"]}
    assert ("10.0.0.9", 8080, "refused") in by_port
    assert ("198.51.100.7", 22, "unanswered") in by_port
    # The generator scripted a client-side capture: the server leg is the network path.
    assert doc["summary"]["network_leg"]["server_leg"] == doc["summary"]["completed"]


def conn(doc, **match):
    found = [c for c in doc["connections"] if all(c[k] == v for k, v in match.items())]
    assert len(found) == 1, (match, found)
    return found[0]


def test_refused_syn_has_no_rtt_where_wireshark_reports_one(tshark):
    path = shared_capture("cs_tcp_refuseconnection.pcapng")
    doc = tshark.stat_json("triage_rtt", path)
    assert doc["summary"]["refused"] == 1
    c = doc["connections"][0]
    assert c["outcome"] == "refused" and c["rtt_ms"] is None and c["server_leg_ms"] is None
    assert doc["rtt_ms"]["count"] == 0


def test_retransmitted_syn_measures_from_last_syn(tshark):
    doc = tshark.stat_json("triage_rtt", EXAMPLE)
    c = conn(doc, server="203.0.113.10", syn_count=2)
    assert c["outcome"] == "completed" and c["retried"]
    assert abs(c["server_leg_ms"] - 150.0) < 0.001
    assert abs(c["connect_ms"] - 1150.05) < 0.001


def test_retransmitted_synack_is_not_added_to_rtt(tshark):
    doc = tshark.stat_json("triage_rtt", EXAMPLE)
    c = conn(doc, server="151.101.1.69", synack_count=2)
    assert abs(c["server_leg_ms"] - 85.0) < 0.001
    assert abs(c["client_leg_ms"] - 0.06) < 0.001
    assert abs(c["rtt_ms"] - 85.06) < 0.001
    ws = tshark.fields(EXAMPLE, ["tcp.analysis.initial_rtt"], f"tcp.stream=={c['stream']} && tcp.analysis.initial_rtt")
    assert float(ws[0]["tcp.analysis.initial_rtt"]) > 1.0, "Wireshark's value includes the SYN/ACK retry"


def test_ecn_syn_changes_nothing(tshark):
    doc = tshark.stat_json("triage_rtt", EXAMPLE)
    ecn = tshark.fields(EXAMPLE, ["tcp.stream"], "tcp.flags.syn==1 && tcp.flags.ack==0 && tcp.flags.cwr==1")
    c = conn(doc, stream=int(ecn[0]["tcp.stream"]))
    assert c["outcome"] == "completed" and abs(c["rtt_ms"] - 21.04) < 0.001


@pytest.mark.parametrize("capture", ["zeek_tcp-fast-open.pcap", "tcpdump_tfo-5c1fa7f9ae91.pcap"])
def test_tcp_fast_open_completes(tshark, capture):
    doc = tshark.stat_json("triage_rtt", shared_capture(capture))
    assert doc["summary"]["completed"] >= 1
    assert doc["summary"]["no_ack"] == 0


def test_tfo_data_on_syn_in_example(tshark):
    doc = tshark.stat_json("triage_rtt", EXAMPLE)
    tfo = tshark.fields(EXAMPLE, ["tcp.stream"], "tcp.flags.syn==1 && tcp.flags.ack==0 && tcp.len>0")
    c = conn(doc, stream=int(tfo[0]["tcp.stream"]))
    assert c["outcome"] == "completed" and abs(c["rtt_ms"] - 150.04) < 0.002


def test_port_reuse_gives_one_record_per_handshake(tshark):
    path = shared_capture("cs_ftp-crack.pcap")
    doc = tshark.stat_json("triage_rtt", path)
    streams = [c["stream"] for c in doc["connections"]]
    assert len(streams) > len(set(streams)), "reused streams hold several handshakes"
    # tshark flags the reused SYNs as retransmissions; they are new handshakes, not retries.
    assert doc["summary"]["syn_retransmissions"] < 700


def test_capture_starting_mid_handshake(tshark):
    doc = tshark.stat_json("triage_rtt", shared_capture("zeek_missing-syn.pcap"))
    assert doc["summary"]["no_syn"] == 1 and doc["summary"]["syn_seen"] == 0
    assert doc["rtt_ms"]["count"] == 0


def test_syn_scan_counts_unanswered(tshark):
    doc = tshark.stat_json("triage_rtt", shared_capture("cs_synscan.pcapng"))
    s = doc["summary"]
    assert s["unanswered"] + s["refused"] + s["no_ack"] + s["completed"] == s["syn_seen"]
    assert s["refused"] + s["unanswered"] > 900


def test_negative_time_is_reported_not_hidden(tshark):
    path = shared_capture("tcpdump_timestamp_invalid_micro.pcap")
    p = tshark.run("-r", tshark.capture(path), "-q", "-z", "triage_rtt,json")
    import json
    doc = json.loads(p.stdout)
    assert doc["summary"]["negative_time"] == 1
    kinds = [a["kind"] for a in doc["anomalies"]]
    assert "negative_time" in kinds and "time_backwards" in kinds
    assert doc["anomaly_counts"] == {"time_backwards": 1, "negative_time": 1}
    assert doc["rtt_ms"]["count"] == 0, "a negative leg never enters the statistics"
    assert "timestamps go backwards in 1 handshake (first: tcp.stream" in p.stderr
    assert "1 time_backwards anomaly (first at frame 3" in p.stderr
    # The CSV form makes no report: its warning counts the handshakes itself.
    csv_run = tshark.run("-r", tshark.capture(path), "-q", "-z", "triage_rtt,csv")
    assert "timestamps go backwards in 1 handshake (first: tcp.stream" in csv_run.stderr


@pytest.mark.parametrize("stat", ["triage_rtt", "triage_unwanted", "triage_egress"])
def test_timestamp_jumps_are_reported(tshark, stat):
    """A merged capture whose timestamps span years: reported, not hidden."""
    path = shared_capture("ndpi_sites.pcapng")
    doc = tshark.stat_json(stat, path)
    times = [int(r["frame.number"]) for r in tshark.fields(path, ["frame.number"])]
    assert doc["anomaly_counts"].get("time_jump", 0) > 0
    assert all(a["frame"] in times for a in doc["anomalies"])


def test_display_filter_restricts_connections(tshark):
    doc = tshark.stat_json("triage_rtt", EXAMPLE, filter="ip.addr==203.0.113.10")
    assert doc["connections"] and {c["server"] for c in doc["connections"]} == {"203.0.113.10"}


def test_per_server_summary(tshark):
    doc = tshark.stat_json("triage_rtt", EXAMPLE)
    servers = doc["servers"]
    assert servers == sorted(servers, key=lambda s: -s["connections"])
    for s in servers:
        mine = [c for c in doc["connections"] if (c["server"], c["server_port"]) == (s["server"], s["server_port"])]
        assert s["connections"] == len(mine)
        rtts = sorted(c["rtt_ms"] for c in mine if c["rtt_ms"] is not None and c["anomaly"] is None)
        assert s["rtt_ms"]["count"] == len(rtts)
        if rtts:
            assert s["rtt_ms"]["p50"] == nearest_rank(rtts, 50)


def test_csv_has_one_row_per_connection(tshark):
    p = tshark.run("-r", tshark.capture(EXAMPLE), "-q", "-z", "triage_rtt,csv")
    rows = list(csv.DictReader(io.StringIO(p.stdout)))
    doc = tshark.stat_json("triage_rtt", EXAMPLE)
    assert len(rows) == len(doc["connections"])
    for r, c in zip(rows, doc["connections"]):
        assert int(r["stream"]) == c["stream"] and r["outcome"] == c["outcome"]
        assert (r["rtt_ms"] == "") == (c["rtt_ms"] is None)


def test_tree_form_lists_the_first_500_servers_and_sums_the_rest(tshark):
    """stats_tree appends children in O(n) each, so the tree names at most
    500 servers (the first seen) and sums the others in one node; every
    server's figures equal the JSON's."""
    from gui import parse_stats_tree
    cap = shared_capture("cs_synscan.pcapng")
    rows = parse_stats_tree(tshark.run("-r", tshark.capture(cap), "-q", "-z", "triage_rtt,tree").stdout)
    doc = tshark.stat_json("triage_rtt", cap)
    json_servers = {f"{s['server']} port {s['server_port']}": s["connections"] for s in doc["servers"]}
    assert len(json_servers) > 500
    servers = {p.split("/")[1]: int(v[0]) for p, v in rows.items() if p.count("/") == 1 and p.startswith("Servers/")}
    other = [n for n in servers if n.startswith("Other servers")]
    assert len(servers) == 501 and len(other) == 1
    named = {n: c for n, c in servers.items() if n not in other}
    assert all(json_servers[n] == c for n, c in named.items())
    assert servers[other[0]] == sum(c for n, c in json_servers.items() if n not in named)
    assert int(rows["Servers"][0]) == doc["summary"]["connections"] == sum(servers.values())


def test_tree_form_lists_outcomes_and_servers(tshark):
    p = tshark.run("-r", tshark.capture(EXAMPLE), "-q", "-z", "triage_rtt,tree")
    doc = tshark.stat_json("triage_rtt", EXAMPLE)
    lines = {l.split()[0] if not l.startswith(" ") else l.strip().rsplit("  ", 1)[0]: l for l in p.stdout.splitlines() if l.strip()}
    assert tree_title("Handshake RTT") in p.stdout
    for outcome in ("completed", "refused", "unanswered", "no_ack"):
        row = [l for l in p.stdout.splitlines() if l.strip().startswith(outcome + " ")][0]
        assert int(row.split()[1]) == doc["summary"][outcome], outcome
    assert "203.0.113.10 port 80" in p.stdout
    assert lines


# Captures whose handshakes come many to a burst bucket (a SYN scan), one to
# a bucket (TLS, QUIC), with timestamps going backwards (an invalid one; two
# copies of the example appended), so that each way a node's burst buckets
# change is taken.
TREE_CAPTURES = ["cs_synscan.pcapng", "sv_tls-subjectaltname.pcap", "zeek_quic_win11_firefox_google.pcap",
                 "tcpdump_timestamp_invalid_micro.pcap", "ndpi_sites.pcapng", "example twice", "backwards in a bucket"]


def backwards_in_a_bucket(path):
    """Handshakes whose times go backwards inside one 5 ms burst bucket (each
    new one 0.4 ms before the one written before it, past the burst window of
    the first frame), then one far later."""
    w = Writer(str(path))
    t0 = 1_700_000_000 * 10**9
    client, server = bytes([192, 0, 2, 1]), bytes([198, 51, 100, 1])
    w.write(t0, tcp_frame(client, server, 40000, 80, 1, 0, 0x02))  # the capture's first frame: time 0
    for i, at_us in enumerate([214_000, 213_600, 213_200, 212_800, 900_000]):
        t, port = t0 + at_us * 1000, 40001 + i
        w.write(t, tcp_frame(client, server, port, 80, 100, 0, 0x02))
        w.write(t + 100_000, tcp_frame(server, client, 80, port, 500, 101, 0x12))
        w.write(t + 150_000, tcp_frame(client, server, port, 80, 101, 501, 0x10))
    w.close()


BURST_PREFS = {"default": (), "fine": ("-o", "statistics.st_burst_resolution:1", "-o",
                                       "statistics.st_burst_windowlen:3"),
               "off": ("-o", "statistics.st_enable_burstinfo:FALSE")}


@pytest.mark.parametrize("prefs", BURST_PREFS, ids=list(BURST_PREFS))
@pytest.mark.parametrize("capture", TREE_CAPTURES)
def test_tree_nodes_updated_through_pointers_equal_wiresharks_own_updates(tshark, tmp_path, capture, prefs):
    """The tree ticks and averages its nodes through their pointers, burst
    rate included (ws::TreeNode); Wireshark's own functions, called by name
    for every update (TRIAGE_STATS_TREE_BY_NAME), are the oracle: the whole
    printed tree, burst rate and start columns included, byte for byte."""
    if capture == "example twice":
        path = tmp_path / "example-twice.pcap"
        subprocess.run(["mergecap", "-a", "-F", "pcap", "-w", str(path), str(EXAMPLE), str(EXAMPLE)], check=True,
                       capture_output=True)
    elif capture == "backwards in a bucket":
        path = tmp_path / "backwards-in-a-bucket.pcap"
        backwards_in_a_bucket(path)
    else:
        path = shared_capture(capture)
    args = ("-r", tshark.capture(path), "-q", *BURST_PREFS[prefs], "-z", "triage_rtt,tree")
    ours = tshark.run(*args).stdout
    wiresharks = tshark.run(*args, env=("TRIAGE_STATS_TREE_BY_NAME=1",)).stdout
    assert "Burst" in ours and "Handshakes" in ours
    assert ours == wiresharks
