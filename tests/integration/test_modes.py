"""Correct everywhere: the same counts in every dissection mode, numbers that
do not depend on the locale, settings taken per session, no global side
effects, bounded warnings. Oracles: tshark's own fields and filters, and the
C locale's output."""

import json
import re

import pytest

from conftest import EXAMPLE, json_documents, shared_capture

ALERTING = ["cs_telnet.pcap", "ndpi_bittorrent.pcap", "ndpi_nfsv3.pcap", "zeek_rpc-portmap-sadmind.pcap",
            "cs_ftp-uploadfailed.pcap", "zeek_irc-basic.pcap", "zeek_smb2.pcap", "zeek_bittorrent_tracker.pcap"]
HTTP_POLICY = ("-o", 'uat:triage_unwanted_protocols:"http","high","cleartext web"')
# Wireshark 4.0 dissects HTTP bodies differently without a protocol tree: the
# case that made the counts depend on the mode.
MODE_CASES = [(c, ()) for c in ALERTING] + [("pcpp_example.pcap", HTTP_POLICY), ("cs_http_espn.pcapng", HTTP_POLICY),
                                            ("<example>", ())]


def path_of(capture):
    return EXAMPLE if capture == "<example>" else shared_capture(capture)


def last_unwanted_doc(text):
    """The unwanted JSON document at the end of tshark's output (after packets)."""
    i = text.rindex('{\n  "policy"')
    return json.JSONDecoder().raw_decode(text[i:])[0]


def alert_counts(doc):
    return {a["protocol"]: (a["frames"], a["bytes"]) for a in doc["alerts"]}


@pytest.mark.parametrize("capture,opts", MODE_CASES, ids=[f"{c}{'+http' if o else ''}" for c, o in MODE_CASES])
def test_unwanted_counts_are_the_same_in_every_mode(tshark, capture, opts):
    path = tshark.capture(path_of(capture))
    z = ("-z", "triage_unwanted,json")
    doc = tshark.stat_json("triage_unwanted", path_of(capture), opts=opts)
    alone = alert_counts(doc)
    # A customised policy is counted with a protocol tree; the built-in one needs none.
    assert doc["dissection"] == ("protocol tree" if opts else "no protocol tree (built-in policy)")
    with_filter = last_unwanted_doc(tshark.run("-r", path, "-q", "-Y", "triage.unwanted", *opts, *z).stdout)
    verbose = last_unwanted_doc(tshark.run("-r", path, "-V", *opts, *z).stdout)
    with_phs = last_unwanted_doc(tshark.run("-r", path, "-q", *opts, "-z", "io,phs", *z).stdout)
    assert alert_counts(with_filter) == alone
    assert alert_counts(verbose) == alone
    assert alert_counts(with_phs) == alone
    if capture in ALERTING or opts:
        assert alone, "the capture must raise an alert for this test to mean anything"


@pytest.mark.parametrize("capture,opts", MODE_CASES, ids=[f"{c}{'+http' if o else ''}" for c, o in MODE_CASES])
def test_triage_unwanted_filter_selects_exactly_the_counted_frames(tshark, capture, opts):
    """-Y triage.unwanted and the statistic, in one run and in separate runs."""
    path = path_of(capture)
    doc = tshark.stat_json("triage_unwanted", path, opts=opts)
    rows = tshark.fields(path, ["frame.number", "frame.len", "triage.unwanted"], "triage.unwanted", opts=opts,
                         occurrence="a")
    per_protocol = {}
    for r in rows:
        for proto in r["triage.unwanted"].split(","):
            frames, size = per_protocol.get(proto, (0, 0))
            per_protocol[proto] = (frames + 1, size + int(r["frame.len"]))
    assert per_protocol == alert_counts(doc)
    frames_with_alerts = {int(r["frame.number"]) for r in rows}
    firsts = {a["first_frame"] for a in doc["alerts"]}
    assert firsts <= frames_with_alerts


# ---- locale ------------------------------------------------------------------
DE = ("LC_ALL=de_DE.UTF-8",)
ALL_FORMS = ("-z", "triage_rtt,json", "-z", "triage_rtt,csv", "-z", "triage_egress,json", "-z", "triage_egress,csv",
             "-z", "triage_unwanted,json")
TREES = ("-z", "triage_rtt,tree", "-z", "triage_egress,tree", "-z", "triage_unwanted,tree")
PRICE = ("-o", "triage.egress_price_per_gb:0.087")


def tree_labels(text):
    """Each stats_tree row's label and count: Triage's own text. (The rate
    and average columns are Wireshark's, printed in the user's locale.)"""
    out = []
    for line in text.splitlines():
        m = re.match(r"^(\s*\S.*?)\s{2,}(\d+)\s", line)
        if m:
            out.append((m.group(1), m.group(2)))
    return out


# Under ASan the example alone: a locale changes no memory behaviour, and the larger captures' forms run in
# the sanitizer pass through other tests.
@pytest.mark.parametrize("capture", ["<example>"] + [pytest.param(c, marks=pytest.mark.plain_only) for c in (
    "pcpp_example.pcap", "ndpi_reddit.pcap", "cs_telnet.pcap", "tcpdump_timestamp_invalid_micro.pcap",
    "ndpi_sites.pcapng")])
def test_every_output_is_the_same_in_a_comma_decimal_locale(tshark, capture):
    path = tshark.capture(path_of(capture))
    c = tshark.run("-r", path, "-q", *PRICE, *ALL_FORMS)
    de = tshark.run("-r", path, "-q", *PRICE, *ALL_FORMS, env=DE)
    assert de.stdout == c.stdout
    assert de.stderr == c.stderr
    json_forms = [a for a in ALL_FORMS if a.endswith(",json")]
    z = [x for f in json_forms for x in ("-z", f)]
    assert len(json_documents(tshark.run("-r", path, "-q", *PRICE, *z, env=DE).stdout)) == 3  # valid JSON
    ct = tshark.run("-r", path, "-q", *PRICE, *TREES)
    dt = tshark.run("-r", path, "-q", *PRICE, *TREES, env=DE)
    assert tree_labels(dt.stdout) == tree_labels(ct.stdout)


def test_the_locale_is_really_in_force(tshark):
    """Proves the test above can fail: Wireshark's own rate column follows it."""
    de = tshark.run("-r", tshark.capture(EXAMPLE), "-q", "-z", "triage_egress,tree", env=DE).stdout
    assert re.search(r"\s\d+,\d{4}\s", de), de


def test_price_preference_is_parsed_the_same_in_every_locale(tshark):
    for env in ((), DE):
        doc = tshark.stat_json("triage_egress", EXAMPLE, opts=PRICE) if not env else json.loads(
            tshark.run("-r", tshark.capture(EXAMPLE), "-q", *PRICE, "-z", "triage_egress,json", env=env).stdout)
        assert doc["price_per_gb"] == 0.087
    p = tshark.run("-r", tshark.capture(EXAMPLE), "-q", "-o", "triage.egress_price_per_gb:0,087", "-z",
                   "triage_egress,json", env=DE, check=False)
    assert p.returncode != 0 and '"0,087" is not a number' in p.stderr


# ---- settings per session ------------------------------------------------------
def test_preferences_change_the_result_between_runs(tshark):
    base = tshark.stat_json("triage_egress", EXAMPLE)
    narrowed = tshark.stat_json("triage_egress", EXAMPLE, opts=("-o", "triage.local_networks:10.0.0.5/32"))
    assert base["totals"] != narrowed["totals"]
    assert narrowed["local_networks"] == ["10.0.0.5/32"]
    doc = tshark.stat_json("triage_unwanted", shared_capture("cs_telnet.pcap"),
                           opts=("-o", 'uat:triage_unwanted_protocols:"telnet","allow","lab"'))
    assert doc["alerts"] == []


# ---- no global side effects ------------------------------------------------------
def heuristic_enabled(tshark, table, protocol, opts=()):
    out = tshark.run("-G", "heuristic-decodes", *opts).stdout
    for line in out.splitlines():
        cols = line.split("\t")
        if len(cols) >= 3 and (cols[0], cols[1]) == (table, protocol):
            return cols[2].strip() == "T"
    name = f"{table} {protocol}"
    raise AssertionError(f"{name} not in tshark -G heuristic-decodes")


@pytest.mark.no_sanitizer
def test_utp_heuristic_is_left_as_wireshark_ships_it(tshark):
    assert not heuristic_enabled(tshark, "udp", "bt-utp")
    path = shared_capture("ndpi_bittorrent_utp.pcap")
    protocols = {p for r in tshark.fields(path, ["frame.protocols"]) for p in r["frame.protocols"].split(":")}
    assert "bt-utp" not in protocols, "Triage changed the dissection of a user who did not ask"
    doc = tshark.stat_json("triage_unwanted", path)
    assert "bt-utp" not in alert_counts(doc)
    assert any("bt-utp" in w and "heuristic is off" in w for w in doc["policy"]["warnings"])


def test_utp_heuristic_on_request(tshark):
    path = shared_capture("ndpi_bittorrent_utp.pcap")
    on = ("-o", "triage.utp_heuristic:TRUE")
    protocols = {p for r in tshark.fields(path, ["frame.protocols"], opts=on) for p in r["frame.protocols"].split(":")}
    assert "bt-utp" in protocols
    assert "bt-utp" in alert_counts(tshark.stat_json("triage_unwanted", path, opts=on))
    # Turning Triage's preference off never disables what the user enabled.
    user = ("--enable-heuristic", "bt_utp_udp", "-o", "triage.utp_heuristic:FALSE")
    assert "bt-utp" in alert_counts(tshark.stat_json("triage_unwanted", path, opts=user))


def test_policy_entry_naming_a_disabled_protocol_is_warned(tshark):
    path = shared_capture("zeek_irc-basic.pcap")
    p = tshark.run("-r", tshark.capture(path), "-q", "--disable-protocol", "irc", "-o",
                   'uat:triage_unwanted_protocols:"irc","high","chat"', "-z", "triage_unwanted,json")
    doc = json.loads(p.stdout)
    assert doc["alerts"] == []
    assert any('"irc"' in w and "disabled" in w for w in doc["policy"]["warnings"])
    assert 'triage_unwanted: warning: policy entry "irc": the protocol is disabled' in p.stderr


# ---- bounded warnings ------------------------------------------------------------
def test_one_warning_line_per_kind(tshark, tmp_path):
    """Hundreds of negative-time handshakes give one stderr line, details in JSON."""
    from test_robustness import shuffle_times
    import random
    src = tshark.capture(shared_capture("cs_ftp-crack.pcap"))
    dst = tmp_path / "shuffled.pcap"
    shuffle_times(src, dst, random.Random(7))
    path = tshark.capture(dst)
    p = tshark.run("-r", path, "-q", "-z", "triage_rtt,json", "-z", "triage_egress,json", "-z", "triage_unwanted,json")
    docs = json_documents(p.stdout)
    rtt = next(d for d in docs if "connections" in d)
    assert rtt["summary"]["negative_time"] > 10
    lines = [l for l in p.stderr.splitlines() if l.strip()]
    kinds = [re.sub(r"\d+", "N", l.split(" (first")[0]) for l in lines]
    assert len(kinds) == len(set(kinds)), p.stderr
    assert len(lines) <= 12, p.stderr


# ---- the triage tap ----------------------------------------------------------------
def test_lua_listener_on_the_triage_tap(tshark, tmp_path):
    """The README's Lua example: a listener on the `triage` tap sees each frame
    the filter selects, with its triage.unwanted field."""
    script = tmp_path / "listen.lua"
    script.write_text('local tap = Listener.new("triage", "triage.unwanted")\n'
                      'local unwanted = Field.new("triage.unwanted")\n'
                      'function tap.packet(pinfo) print(pinfo.number, unwanted()) end\n')
    path = shared_capture("cs_telnet.pcap")
    out = tshark.run("-r", tshark.capture(path), "-q", "-X", f"lua_script:{tshark.capture(script)}").stdout.split("\n")
    rows = [l.split("\t") for l in out if l.strip()]
    want = [r["frame.number"] for r in tshark.fields(path, ["frame.number"], "telnet")]
    assert [r[0] for r in rows] == want and {r[1] for r in rows} == {"telnet"}
