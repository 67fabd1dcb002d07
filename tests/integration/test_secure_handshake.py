"""TLS and QUIC handshake latency (the "tls" and "quic" sections of -z triage_rtt,json)
against tshark's own tls.* and quic.* fields, frame by frame."""

from decimal import Decimal

import pytest

from conftest import BROKEN, all_shared_captures, shared_capture
from secure_frames import QUIC_FIELDS, TLS_FIELDS, ms, quic_handshakes, tls_handshakes

CAPTURES = [c for c in all_shared_captures() if c not in BROKEN]


def exact(value, expected):
    return value is not None and Decimal(str(value)) == expected


def check_tls(doc, truth):
    got = {c["stream"]: c for c in doc["tls"]["connections"]}
    compared = 0
    for stream, t in truth.items():
        c = got.get(stream)
        assert c is not None, f"tcp.stream {stream}: a ClientHello tshark sees, missing from the report"
        assert c["client_hello_frame"] == t["client_hello_frame"], (stream, c, t)
        assert c["sni"] == t["sni"], (stream, c["sni"], t["sni"])
        # Where tshark's TLS dissector shows no ServerHello (its TCP analysis
        # saw the segments as out of order, say), it has no word on the rest.
        if t["server_hello_frame"] is None:
            continue
        assert c["server_hello_frame"] == t["server_hello_frame"], (stream, c, t)
        assert c["finished_frame"] == t["finished_frame"], (stream, c, t)
        times = t["times"]
        if t["server_hello_frame"]:
            assert c["hello_frame"] == t["hello_frame"] and c["retried"] == t["hello_retry"], (stream, c, t)
            expected = ms(times[t["hello_frame"]], times[t["server_hello_frame"]])
            assert exact(c["server_leg_ms"], expected), (stream, c["server_leg_ms"], expected)
        if t["finished_frame"]:
            expected = ms(times[t["client_hello_frame"]], times[t["finished_frame"]])
            assert exact(c["handshake_ms"], expected), (stream, c["handshake_ms"], expected)
            assert c["outcome"] == "completed"
            compared += 1
    return compared


@pytest.mark.parametrize("capture", CAPTURES)
def test_tls_matches_tshark_fields(tshark, capture):
    path = shared_capture(capture)
    doc = tshark.stat_json("triage_rtt", path)
    rows = tshark.fields(path, TLS_FIELDS, "tcp", occurrence="a")
    truth = tls_handshakes(rows)
    check_tls(doc, truth)
    s = doc["tls"]["summary"]
    assert s["connections"] == len(doc["tls"]["connections"])
    assert sum(s[k] for k in ("completed", "alert", "reset", "no_server_hello", "no_client_finished")) == \
        s["connections"]


def check_quic(doc, truth):
    """Every handshake tshark's fields show (from a client Initial), with the same frames and exact
    legs; the client leg where tshark shows the client's Handshake packet (Wireshark 4.4 and later
    do not dissect a coalesced packet whose fixed bit the peer greases, RFC 9287). Returns how many
    server legs and how many client legs were compared."""
    got = {(c["client"], c["client_port"], c["server"], c["server_port"]): c for c in doc["quic"]["connections"]}
    server_legs = client_legs = 0
    for key, t in truth.items():
        c = got.get(key)
        assert c is not None, f"{key}: a QUIC handshake tshark sees, missing from the report"
        for k in ("first_initial_frame", "initial_frame", "server_initial_frame"):
            assert c[k] == t[k], (key, k, c, t)
        assert c["retried"] == t["retry"], (key, c, t)
        times = t["times"]
        if t["server_initial_frame"]:
            assert exact(c["server_leg_ms"], ms(times[t["initial_frame"]], times[t["server_initial_frame"]])), (c, t)
            server_legs += 1
        if t["handshake_frame"]:
            for k in ("server_last_frame", "handshake_frame"):
                assert c[k] == t[k], (key, k, c, t)
            sleg = ms(times[t["initial_frame"]], times[t["server_initial_frame"]])
            cleg = ms(times[t["server_last_frame"]], times[t["handshake_frame"]])
            assert exact(c["client_leg_ms"], cleg), (c, cleg)
            assert exact(c["rtt_ms"], sleg + cleg)
            assert c["outcome"] == "completed"
            client_legs += 1
    return server_legs, client_legs


@pytest.mark.parametrize("capture", CAPTURES)
def test_quic_matches_tshark_fields(tshark, capture):
    path = shared_capture(capture)
    doc = tshark.stat_json("triage_rtt", path)
    rows = tshark.fields(path, QUIC_FIELDS, "quic", occurrence="a")
    truth = quic_handshakes(rows)
    got = {(c["client"], c["client_port"], c["server"], c["server_port"]) for c in doc["quic"]["connections"]}
    assert got == set(truth)
    check_quic(doc, truth)
