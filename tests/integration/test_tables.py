"""The table statistics as tshark prints them (-z <stat>,table[,filter]): the numbers of the
JSON form, on every capture, in any locale, filtered, beside other statistics."""

import pytest

from conftest import BROKEN, EXAMPLE, all_shared_captures, by_kind, json_documents, shared_capture
from tables import check_egress, check_quic, check_rtt, check_tls, check_unwanted, parse_cli

CAPTURES = [c for c in all_shared_captures() if c not in BROKEN]
TITLES = {"Triage Handshake RTT": "rtt", "Triage Outbound Volume": "egress", "Triage Unwanted Protocols": "unwanted",
          "Triage TLS Handshakes": "tls", "Triage QUIC Handshakes": "quic"}
CHECKS = {"rtt": check_rtt, "egress": check_egress, "unwanted": check_unwanted, "tls": check_tls,
          "quic": check_quic}
ALL_TABLES = ["-z", "triage_rtt,table", "-z", "triage_egress,table", "-z", "triage_unwanted,table",
              "-z", "triage_tls,table", "-z", "triage_quic,table"]
ALL_JSON = ["-z", "triage_rtt,json", "-z", "triage_egress,json", "-z", "triage_unwanted,json"]


def tables_of(text):
    """{"rtt"|"egress"|"unwanted": (header, rows)} from tshark's printout of the table statistics."""
    out = {}
    for block in text.split("=" * 101):
        lines = block.strip().splitlines()
        if lines and lines[0].rstrip(":") in TITLES:
            out[TITLES[lines[0].rstrip(":")]] = parse_cli(block)
    return out


def check_all(tshark, capture, opts=(), filter=None):
    suffix = f",{filter}" if filter else ""
    cap = tshark.capture(capture)
    tables = tables_of(tshark.run("-r", cap, "-q", *opts, *[a + suffix if "," in a else a for a in ALL_TABLES]).stdout)
    if opts or filter:
        docs = by_kind(json_documents(tshark.run("-r", cap, "-q", *opts,
                                                 *[a + suffix if "," in a else a for a in ALL_JSON]).stdout))
    else:
        docs = tshark.all_json(capture)
    assert set(tables) == set(CHECKS)
    for kind, check in CHECKS.items():
        check(*tables[kind], docs["rtt" if kind in ("tls", "quic") else kind])
    return tables, docs


@pytest.mark.parametrize("capture", CAPTURES)
def test_tables_show_the_json_numbers(tshark, capture):
    check_all(tshark, shared_capture(capture))


def test_example_tables(tshark):
    tables, docs = check_all(tshark, EXAMPLE, opts=["-o", "triage.egress_price_per_gb:0.09"])
    header, rows = tables["rtt"]
    assert len(rows) > 20 and len(docs["rtt"]["servers"]) > 5
    # Every server's filter selects its packets: as many as tshark counts with a filter of its own.
    col = header.index("Filter")
    for srv in docs["rtt"]["servers"][:4]:
        addr = f"[{srv['server']}]" if ":" in srv["server"] else srv["server"]
        row = next(r for r in rows if r[0] == f"{addr}:{srv['server_port']}")
        ip = "ipv6" if ":" in srv["server"] else "ip"
        own = f"{ip}.addr == {srv['server']} && tcp.port == {srv['server_port']}"
        assert tshark.count(EXAMPLE, row[col]) == tshark.count(EXAMPLE, own) > 0
    header, rows = tables["egress"]
    for d in docs["egress"]["destinations"]:
        row = next(r for r in rows if r[0] == d["address"])
        assert tshark.count(EXAMPLE, row[header.index("Filter")]) == d["frames"]
    header, rows = tables["unwanted"]
    for a in docs["unwanted"]["alerts"]:
        row = next(r for r in rows if r[0] == a["protocol"])
        assert tshark.count(EXAMPLE, row[header.index("Filter")]) == a["frames"]


def test_display_filter_argument(tshark):
    tables, docs = check_all(tshark, EXAMPLE, filter="tcp.port == 443")
    assert docs["rtt"]["summary"]["connections"] < 27


def test_locale_does_not_change_the_tables(tshark):
    cap = tshark.capture(EXAMPLE)
    plain = tshark.run("-r", cap, "-q", *ALL_TABLES).stdout
    german = tshark.run("-r", cap, "-q", *ALL_TABLES, env=("LC_ALL=de_DE.UTF-8",)).stdout
    assert german == plain
    assert "40.040" in plain


def test_two_pass_and_beside_the_json(tshark):
    cap = tshark.capture(EXAMPLE)
    one = tshark.run("-r", cap, "-q", *ALL_TABLES).stdout
    assert tshark.run("-r", cap, "-q", "-2", *ALL_TABLES).stdout == one
    mixed = tshark.run("-r", cap, "-q", "-z", "triage_rtt,table", "-z", "triage_rtt,json").stdout
    table_part = mixed[mixed.index("=" * 101):]
    assert tables_of(table_part)["rtt"] == tables_of(one)["rtt"]


def test_impossible_window_is_a_problem_row(tshark):
    p = tshark.run("-r", tshark.capture(EXAMPLE), "-q", "-o", "triage.count_first_frame:10",
                   "-o", "triage.count_last_frame:5", *ALL_TABLES)
    for kind, (_, rows) in tables_of(p.stdout).items():
        errors = [r for r in rows if r[0] == "error"]
        assert [r[-1] for r in errors] == ["triage.count_last_frame (5) is before triage.count_first_frame (10)"], kind


@pytest.mark.parametrize("capture", ["pcpp_example.pcap", "cs_http_espn.pcapng"])
def test_customised_policy_counts_as_the_json(tshark, capture):
    """A customised policy needs a protocol tree (HTTP dissects differently without one in 4.0):
    the table's listener asks for none, so the statistic asks for it beside."""
    policy = ("-o", 'uat:triage_unwanted_protocols:"http","high","cleartext web"')
    tables, docs = check_all(tshark, shared_capture(capture), opts=policy)
    http = [r for r in tables["unwanted"][1] if r[0] == "http"]
    assert http and int(http[0][3]) == tshark.count(shared_capture(capture), 'triage.unwanted == "http"', policy) > 0


def test_same_table_twice_in_one_run_says_so(tshark):
    """Wireshark shares a table statistic's rows between its listeners: two -z triage_rtt,table
    in one run cannot print two different tables. Both print the rows of one, and say so."""
    p = tshark.run("-r", tshark.capture(EXAMPLE), "-q", "-z", "triage_rtt,table",
                   "-z", "triage_rtt,table,tcp.port == 443")
    assert "-z triage_rtt,table was asked for twice in one run" in p.stderr
    blocks = [b for b in p.stdout.split("=" * 101) if "Triage Handshake RTT:" in b]
    assert len(blocks) == 2
    whole = tshark.stat_json("triage_rtt", EXAMPLE)
    filtered = tshark.stat_json("triage_rtt", EXAMPLE, filter="tcp.port == 443")
    printed = []
    for block in blocks:
        header, rows = parse_cli(block)
        errors = [r for r in rows if r[0] == "error"]
        assert len(errors) == 1 and "asked for twice" in errors[0][-1]
        printed.append((header, [r for r in rows if r[0] != "error"]))
    assert printed[0] == printed[1]
    # One listener's rows, whole: the one that got the first packet.
    header, rows = parse_cli(blocks[0])
    try:
        check_rtt(header, rows, whole)
    except AssertionError:
        check_rtt(header, rows, filtered)
