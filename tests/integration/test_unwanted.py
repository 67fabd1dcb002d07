"""Unwanted-protocol alerts (-z triage_unwanted) against tshark's own filters."""

import collections
import json

import pytest

from conftest import BROKEN, EXAMPLE, all_shared_captures, shared_capture, tree_title

UTP = ("--enable-heuristic", "bt_utp_udp")  # off by default in Wireshark; statistic and oracle get the same
TRACKER_FILTER = ('http.request.method == "GET" && '
                  'http.request.uri matches "/(announce|scrape)(\\\\.php)?\\\\?(.*&)?info_hash="')
BROWSING = ["cs_http_espn.pcapng", "pcpp_example.pcap", "sv_tls-subjectaltname.pcap", "ndpi_reddit.pcap",
            "cs_http_ip4and6.pcapng", "ndpi_sites.pcapng", "ndpi_alexa-app.pcapng", "pcpp_example2.pcap",
            "zeek_quic_win11_firefox_google.pcap", "zeek_http-vlan-0.pcap", "pcpp_sll.pcap"]
CAPTURES = [c for c in all_shared_captures() if c not in BROKEN]


def oracle_filter(protocol):
    """Frames that show the protocol in the tree or in frame.protocols (the
    dissectors that ran: a truncated X11 frame has no x11 item, an RPC NULL
    call no program dissector, yet both carry the protocol)."""
    if protocol == "bt-tracker":
        return TRACKER_FILTER
    return f'{protocol} || frame.protocols matches "(^|:){protocol}(:|$)"'


ISSUE_CAPTURES = {"ndpi_bittorrent.pcap": "bittorrent", "cs_telnet.pcap": "telnet", "cs_ftp-crack.pcap": "ftp",
                  "cs_ftp-uploadfailed.pcap": "ftp-data", "zeek_ftp_ipv6.pcap": "ftp", "ndpi_nfsv3.pcap": "portmap",
                  "zeek_rpc-portmap-sadmind.pcap": "portmap", "zeek_irc-basic.pcap": "irc"}


def frames_bytes(tshark, capture, display_filter):
    rows = tshark.fields(capture, ["frame.len"], display_filter, opts=UTP)
    return len(rows), sum(int(r["frame.len"]) for r in rows)


def builtin_protocols(doc):
    return {e["protocol"] for e in doc["policy"]["entries"] if e["severity"] != "allow"}


@pytest.mark.parametrize("capture", CAPTURES + ["<example>"])
def test_alerts_equal_tshark_filters(tshark, capture):
    path = EXAMPLE if capture == "<example>" else shared_capture(capture)
    doc = tshark.stat_json("triage_unwanted", path, opts=UTP)
    alerts = {a["protocol"]: a for a in doc["alerts"]}
    # Every policy protocol that tshark finds in the capture is alerted ...
    layers = collections.Counter()
    for r in tshark.fields(path, ["frame.protocols"], opts=UTP):
        layers.update(set(r["frame.protocols"].split(":")))
    expected = {p for p in builtin_protocols(doc) if layers.get(p)}
    if "http" in layers and tshark.count(path, TRACKER_FILTER):
        expected.add("bt-tracker")
    assert set(alerts) == expected
    # ... with the frames and bytes that tshark's own display filter selects.
    for proto, a in alerts.items():
        frames, size = frames_bytes(tshark, path, oracle_filter(proto))
        assert (a["frames"], a["bytes"]) == (frames, size), proto
        if ISSUE_CAPTURES.get(capture) == proto:
            assert a["frames"] == tshark.count(path, proto), f"{proto}: tshark -Y {proto}"
        assert sum(c["frames"] for c in a["conversations"]) == a["frames"], proto
        assert sum(c["bytes"] for c in a["conversations"]) == a["bytes"], proto
        assert a["first_time"] <= a["last_time"]


def test_expected_protocols_are_found(tshark):
    found = {}
    for capture, proto in [("ndpi_bittorrent.pcap", "bittorrent"), ("ndpi_bittorrent_utp.pcap", "bt-utp"),
                           ("ndpi_bittorrent_utp.pcap", "bt-dht"), ("zeek_bittorrent_tracker.pcap", "bt-tracker"),
                           ("cs_telnet.pcap", "telnet"), ("cs_ftp-crack.pcap", "ftp"),
                           ("cs_ftp-uploadfailed.pcap", "ftp-data"), ("ndpi_nfsv3.pcap", "portmap"),
                           ("zeek_rpc-portmap-sadmind.pcap", "portmap"), ("zeek_irc-basic.pcap", "irc"),
                           ("zeek_smb2.pcap", "smb2")]:
        # The uTP heuristic only on request: Triage's own preference turns it on.
        doc = tshark.stat_json("triage_unwanted", shared_capture(capture), opts=("-o", "triage.utp_heuristic:TRUE"))
        found[(capture, proto)] = any(a["protocol"] == proto for a in doc["alerts"])
    assert all(found.values()), [k for k, v in found.items() if not v]


@pytest.mark.parametrize("capture", BROWSING)
def test_plain_browsing_raises_no_alert(tshark, capture):
    doc = tshark.stat_json("triage_unwanted", shared_capture(capture))
    assert doc["alerts"] == []


def test_alerts_sorted_most_severe_first(tshark):
    doc = tshark.stat_json("triage_unwanted", EXAMPLE)
    rank = {"low": 1, "medium": 2, "high": 3, "critical": 4}
    keys = [(-rank[a["severity"]], -a["bytes"]) for a in doc["alerts"]]
    assert keys == sorted(keys)
    assert doc["alerts"][0]["protocol"] == "telnet"


def test_conversation_endpoints(tshark):
    doc = tshark.stat_json("triage_unwanted", shared_capture("cs_telnet.pcap"))
    (a,) = doc["alerts"]
    (c,) = a["conversations"]
    assert {c["src"], c["dst"]} == {"192.168.0.1", "192.168.0.2"} and 23 in (c["src_port"], c["dst_port"])
    assert c["transport"] == "tcp"
    first = tshark.fields(shared_capture("cs_telnet.pcap"), ["frame.number"], "telnet")[0]["frame.number"]
    assert a["first_frame"] == int(first) == c["first_frame"]


def test_postdissector_fields_and_expert_info(tshark):
    path = shared_capture("cs_telnet.pcap")
    assert tshark.count(path, "triage.unwanted") == tshark.count(path, "telnet")
    assert tshark.count(path, 'triage.unwanted == "telnet" && triage.unwanted.severity == "critical"') == \
        tshark.count(path, "telnet")
    p = tshark.run("-r", tshark.capture(path), "-q", "-z", "expert,note")
    assert "Unwanted protocol telnet" in p.stdout
    assert tshark.count(EXAMPLE, 'triage.unwanted == "bt-tracker"') == tshark.count(EXAMPLE, TRACKER_FILTER) == 1


def test_fields_are_registered(tshark):
    out = tshark.run("-G", "fields").stdout
    for f in ("triage.unwanted", "triage.unwanted.severity", "triage.unwanted.reason", "triage.unwanted.category"):
        assert f"\t{f}\t" in out, f


def test_uat_file_allows_a_protocol(tshark):
    path = shared_capture("cs_telnet.pcap")
    tshark.write_config("triage_unwanted_protocols", '"telnet","allow","lab network"\n')
    try:
        doc = tshark.stat_json("triage_unwanted", path)
    finally:
        tshark.remove_config("triage_unwanted_protocols")
    assert doc["alerts"] == []
    assert any(e["protocol"] == "telnet" and e["severity"] == "allow" for e in doc["policy"]["entries"])


def test_o_uat_adds_a_protocol(tshark):
    path = shared_capture("cs_http_espn.pcapng")
    opts = ("-o", 'uat:triage_unwanted_protocols:"http","medium","no plain HTTP"')
    # With a display filter (so a protocol tree, as -Y builds) the count is -Y's.
    doc = tshark.stat_json("triage_unwanted", path, filter="tcp", opts=opts)
    (a,) = doc["alerts"]
    assert a["protocol"] == "http" and a["severity"] == "medium" and a["reason"] == "no plain HTTP"
    assert a["frames"] == tshark.count(path, "http")
    # Without a tree Wireshark 4.0 does not reassemble HTTP bodies: every body
    # segment is dissected as HTTP and counted (README, "Counting").
    plain = tshark.stat_json("triage_unwanted", path, opts=opts)["alerts"][0]
    assert plain["frames"] >= a["frames"]
    assert tshark.count(path, "triage.unwanted", opts=opts) == a["frames"]


def test_builtin_list_can_be_switched_off(tshark):
    doc = tshark.stat_json("triage_unwanted", shared_capture("cs_telnet.pcap"),
                           opts=("-o", "triage.unwanted_builtin:FALSE"))
    assert doc["alerts"] == [] and doc["policy"]["entries"] == []


def test_allow_list_mode(tshark):
    path = shared_capture("cs_http_espn.pcapng")
    doc = tshark.stat_json("triage_unwanted", path,
                           opts=("-o", "triage.unwanted_mode:allow",
                                 "-o", 'uat:triage_unwanted_protocols:"http","allow",""'))
    protos = {a["protocol"] for a in doc["alerts"]}
    assert "http" not in protos and "dns" in protos
    dns = next(a for a in doc["alerts"] if a["protocol"] == "dns")
    assert dns["frames"] == tshark.count(path, "dns") and dns["category"] == "not-allowed"


def test_port_rule_for_unidentified_traffic(tshark):
    path = shared_capture("cs_synscan.pcapng")
    doc = tshark.stat_json("triage_unwanted", path,
                           opts=("-o", 'uat:triage_port_rules:"tcp","1-1024","low-ports","medium","scan of low ports"'))
    (a,) = doc["alerts"]
    assert a["protocol"] == "port:low-ports"
    rows = tshark.fields(path, ["frame.protocols", "tcp.srcport", "tcp.dstport"], "tcp && !icmp")
    want = sum(1 for r in rows if r["frame.protocols"].endswith(":tcp")
               and (int(r["tcp.srcport"]) <= 1024 or int(r["tcp.dstport"]) <= 1024))
    assert a["frames"] == want


@pytest.mark.parametrize("record,message", [
    ('"nosuchproto","high","x"', 'policy entry "nosuchproto": no such protocol in Wireshark'),
    ('"telnet","bogus","x"', 'policy entry "telnet": severity must be allow, low, medium, high or critical, not "bogus"'),
    ('"tel net","high","x"', 'policy entry "tel net": not a protocol filter name'),
])
def test_bad_policy_entry_is_named(tshark, record, message):
    p = tshark.run("-r", tshark.capture(EXAMPLE), "-q", "-o", f"uat:triage_unwanted_protocols:{record}",
                   "-z", "triage_unwanted,json", check=False)
    assert p.returncode != 0
    assert message in p.stderr


def test_bad_policy_file_entry_is_named(tshark):
    tshark.write_config("triage_unwanted_protocols", '"telnet","high","ok"\n"nosuchproto","high","x"\n')
    try:
        p = tshark.run("-r", tshark.capture(EXAMPLE), "-q", "-z", "triage_unwanted,json", check=False)
    finally:
        tshark.remove_config("triage_unwanted_protocols")
    assert 'policy entry "nosuchproto": no such protocol' in p.stderr


@pytest.mark.parametrize("record,message", [
    ('"tcp","70000","big","high",""', "ports must be a port or a range"),
    ('"sctp","80","x","high",""', "transport must be tcp, udp or any"),
    ('"tcp","90-80","x","high",""', "ports must be a port or a range"),
])
def test_bad_port_rule_is_named(tshark, record, message):
    p = tshark.run("-r", tshark.capture(EXAMPLE), "-q", "-o", f"uat:triage_port_rules:{record}",
                   "-z", "triage_unwanted,json", check=False)
    assert p.returncode != 0 and message in p.stderr


def test_tree_form(tshark):
    p = tshark.run("-r", tshark.capture(EXAMPLE), "-q", "-z", "triage_unwanted,tree")
    assert tree_title("Unwanted Protocols") in p.stdout
    row = [l for l in p.stdout.splitlines() if l.strip().startswith("telnet [critical]")][0]
    assert int(row.split()[2]) == tshark.count(EXAMPLE, "telnet")


def test_tree_form_follows_the_policy_dissection(tshark):
    """The tree form asks for a protocol tree only for a customised policy
    (its listener flags follow the policy), and counts as the JSON form and
    -Y do either way."""
    cap = tshark.capture(EXAMPLE)
    for extra in ((), ("-o", 'uat:triage_unwanted_protocols:"dns","high","name lookups in the clear"')):
        tree = tshark.run("-r", cap, "-q", *extra, "-z", "triage_unwanted,tree").stdout
        doc = json.loads(tshark.run("-r", cap, "-q", *extra, "-z", "triage_unwanted,json").stdout)
        assert doc["dissection"] == ("protocol tree" if extra else "no protocol tree (built-in policy)")
        for alert in doc["alerts"]:
            row = [l for l in tree.splitlines() if l.strip().startswith(f"{alert['protocol']} [")][0]
            assert int(row.split()[2]) == alert["frames"]
            if alert["protocol"] != "bt-tracker":  # a detector, not a protocol filter
                assert alert["frames"] == tshark.count(cap, alert["protocol"])
        assert ("dns" in {a["protocol"] for a in doc["alerts"]}) == bool(extra)


@pytest.mark.parametrize("line", ['telnet,high\n', '"telnet","high"\n'])
def test_malformed_policy_file_line_is_named(tshark, line):
    """Wireshark's UAT reader names the file, the line and the missing field;
    the statistic still runs (with the built-in policy)."""
    tshark.write_config("triage_unwanted_protocols", line)
    try:
        p = tshark.run("-r", tshark.capture(shared_capture("cs_telnet.pcap")), "-q", "-z", "triage_unwanted,json")
    finally:
        tshark.remove_config("triage_unwanted_protocols")
    assert "Error loading table 'Triage unwanted protocols': triage_unwanted_protocols:1: expecting field reason" \
        in p.stderr
    import json
    assert [a["protocol"] for a in json.loads(p.stdout)["alerts"]] == ["telnet"]
