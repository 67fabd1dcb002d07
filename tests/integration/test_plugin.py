"""The plugin as Wireshark sees it: loading, -z forms, preferences, bad input."""

import json

import pytest

from conftest import EXAMPLE, read_error_exit, shared_capture, tree_title

STATS = {"triage_rtt": ["tree", "json", "csv", "tls_csv", "quic_csv", "table"], "triage_unwanted": ["tree", "json", "table"],
         "triage_egress": ["tree", "json", "csv", "table"]}


@pytest.mark.no_sanitizer
def test_plugin_is_listed_with_version(tshark):
    out = tshark.run("-G", "plugins").stdout
    lines = [l for l in out.splitlines() if l.startswith("triage.so")]
    assert len(lines) == 1
    assert lines[0].split()[1] == "0.1.0"
    # plugin_describe() (4.2+) makes the type known; tshark names the first of
    # its flags. 4.0 calls every epan plugin a dissector.
    assert lines[0].split("\t")[2].strip() == "dissector"
    assert lines[0].split()[-1] == str(tshark.plugin), "the freshly built plugin, not an installed one"


@pytest.mark.no_sanitizer
def test_z_help_lists_every_form(tshark):
    p = tshark.run("-z", "help", check=False)
    listed = {l.strip() for l in (p.stdout + p.stderr).splitlines()}
    for stat, forms in STATS.items():
        for form in forms:
            assert f"{stat},{form}" in listed


@pytest.mark.parametrize("arg,message", [
    ("triage_rtt,foo", 'unknown output form "foo"'),
    ("triage_rtt", "missing the output form"),
    ("triage_rtt,jsonx", 'unknown output form "jsonx"'),
    ("triage_unwanted,csv", 'unknown output form "csv"'),
    ("triage_egress,", "missing the output form"),
])
def test_unknown_z_form_prints_usage(tshark, arg, message):
    p = tshark.run("-r", tshark.capture(EXAMPLE), "-q", "-z", arg, check=False)
    stat = arg.split(",")[0]
    assert p.returncode != 0
    assert message in p.stderr
    assert "Valid forms: " + " | ".join(f"-z {stat},{f}[,filter]" for f in STATS[stat]) in p.stderr


@pytest.mark.parametrize("stat", ["triage_rtt", "triage_unwanted", "triage_egress"])
@pytest.mark.parametrize("form", ["json", "table"])
def test_broken_display_filter(tshark, stat, form):
    p = tshark.run("-r", tshark.capture(EXAMPLE), "-q", "-z", f"{stat},{form},ip.addr===", check=False)
    assert p.returncode != 0 and 'Filter "ip.addr===" is invalid' in p.stderr


def test_all_three_in_one_run(tshark):
    p = tshark.run("-r", tshark.capture(EXAMPLE), "-q", "-z", "triage_rtt,tree", "-z", "triage_unwanted,tree",
                   "-z", "triage_egress,tree")
    for title in (tree_title(n) for n in ("Handshake RTT", "Unwanted Protocols", "Outbound Volume")):
        assert title in p.stdout


@pytest.mark.no_sanitizer
def test_preferences_are_registered(tshark):
    out = tshark.run("-G", "defaultprefs").stdout
    for pref in ("local_networks", "platform_endpoints", "egress_price_per_gb", "unwanted_mode", "unwanted_builtin",
                 "utp_heuristic", "allowlist_severity"):
        assert f"#triage.{pref}:" in out, pref


def test_unknown_preference_is_rejected(tshark):
    p = tshark.run("-r", tshark.capture(EXAMPLE), "-q", "-o", "triage.no_such_pref:1", "-z", "triage_rtt,json",
                   check=False)
    assert p.returncode != 0 and "triage.no_such_pref" in p.stderr


@pytest.mark.parametrize("capture", ["tcpdump_empty.pcap", "ndpi_fuzz-2021-10-13.pcap"])
def test_broken_captures_give_valid_empty_results(tshark, capture):
    path = shared_capture(capture)
    for stat in STATS:
        p = tshark.run("-r", tshark.capture(path), "-q", "-z", f"{stat},json", check=False)
        assert p.returncode in (0, read_error_exit()), p.stderr  # tshark's own "cut short" read error
        assert p.returncode < 128, "no crash"
        doc = json.loads(p.stdout)
        assert doc
        if p.returncode == read_error_exit():
            assert "cut short in the middle of a packet" in p.stderr


def test_non_ip_capture(tshark):
    path = shared_capture("ark_80211http.pcap")
    for stat in STATS:
        json.loads(tshark.run("-r", tshark.capture(path), "-q", "-z", f"{stat},json").stdout)
