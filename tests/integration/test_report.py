"""triage-report: the HTML page it writes, rendered in headless Chromium.

The numbers drawn must be the ones tshark's JSON statistics print (whose own numbers
the other test files check against tshark's fields); the page must load with no
console message and no reference outside itself.
"""

import os
import pathlib
import re
import shlex
import shutil
import subprocess
import sys

import pytest

from conftest import BUILD, EXAMPLE, ROOT, by_kind, json_documents, shared_capture

REPORT = ROOT / "tools" / "triage-report"
SHOTS = pathlib.Path(os.environ.get("TRIAGE_SCREENSHOTS", BUILD / "screenshots"))
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars", "--enable-logging=stderr", "--v=0"]

pytestmark = [pytest.mark.no_sanitizer, pytest.mark.xdist_group("report")]  # Chromium and the report's own tshark runs, not the plugin under ASan


def chromium():
    exe = shutil.which("chromium")
    if not exe:
        msg = "chromium missing: run ./run-tests.sh (installs Debian's chromium)"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    return exe


def run_report(tshark, inputs, *args, extra=(), check=True):
    env = dict(os.environ, TRIAGE_TSHARK=shlex.join(tshark.argv([])))
    argv = [sys.executable, str(REPORT), *args, *map(str, inputs)]
    if extra:
        argv += ["--", *extra]
    p = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=600)
    if check and p.returncode != 0:
        raise AssertionError(f"triage-report exited {p.returncode}:\n{p.stderr}")
    return p


def render(page, tmp_path, screenshot=None, height=2400):
    """The DOM after scripts ran, and Chromium's console lines."""
    base = [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'chromium'}"]
    p = subprocess.run([*base, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120)
    console = [l for l in p.stderr.splitlines() if ":CONSOLE" in l]
    if screenshot:
        raw = tmp_path / "shot.png"
        subprocess.run([*base, f"--window-size=1200,{height}", f"--screenshot={raw}", page.as_uri()],
                       capture_output=True, timeout=120, check=True)
        subprocess.run(["convert", raw, "-colors", "256", f"png8:{screenshot}"], check=True, timeout=60)
    return p.stdout, console


def stats(tshark, capture, opts=()):
    p = tshark.run("-r", tshark.capture(capture), "-q", *opts, "-z", "triage_rtt,json", "-z", "triage_unwanted,json",
                   "-z", "triage_egress,json")
    return by_kind(json_documents(p.stdout))


def svg(dom, svg_id):
    m = re.search(rf'<svg id="{svg_id}"[^>]*>(.*?)</svg>', dom, re.S)
    assert m, f"chart {svg_id} missing"
    return m.group(0)


@pytest.fixture(scope="module")
def example_report(tshark, tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "example.html"
    p = run_report(tshark, [tshark.capture(EXAMPLE)], "-o", str(out))
    return out, p


@pytest.fixture(scope="module")
def example_rendered(example_report, tmp_path_factory):
    """The example page's DOM and console lines in Chromium; its screenshot for the README."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    shot = SHOTS / "report.png"
    dom, console = render(example_report[0], tmp_path_factory.mktemp("chromium"), screenshot=shot)
    return dom, console, shot


def test_example_report_renders_without_console_messages(example_rendered):
    dom, console, shot = example_rendered
    assert console == []
    root = re.search(r"<html[^>]*>", dom).group(0)
    assert 'data-ready="1"' in root, "the page's script did not run to the end"
    assert "data-js-errors" not in root
    assert shot.stat().st_size > 50_000


def test_charts_have_one_bar_per_value(example_rendered, tshark):
    dom = example_rendered[0]
    truth = stats(tshark, EXAMPLE)
    rtt, egress, unwanted = truth["rtt"], truth["egress"], truth["unwanted"]

    hist = svg(dom, "rtt-histogram")
    counts = [int(c) for c in re.findall(r'<rect class="bar" data-count="(\d+)"', hist)]
    assert counts == [b["count"] for b in rtt["histogram"]]
    assert sum(counts) == rtt["summary"]["completed"]

    servers = re.findall(r'<g class="server-bar" data-server="([^"]+)" data-port="(\d+)"', svg(dom, "server-percentiles"))
    answered = [(s["server"], str(s["server_port"])) for s in rtt["servers"] if s["rtt_ms"]["count"] > 0]
    assert sorted(servers) == sorted(answered)

    bars = re.findall(r'<rect class="egress-bar \w+" data-address="([^"]+)" data-scope="(\w+)" data-bytes="(\d+)"',
                      svg(dom, "egress-bars"))
    expected = sorted(((d["address"], d["scope"], str(d["frame_bytes"])) for d in egress["destinations"]),
                      key=lambda t: (-int(t[2]), t[0]))
    assert bars == expected
    assert {b[1] for b in bars} >= {"internal", "external"}

    spans = re.findall(r'<g class="alert-span" data-protocol="([^"]+)"', svg(dom, "alert-timeline"))
    assert sorted(spans) == sorted(a["protocol"] for a in unwanted["alerts"])
    for a in unwanted["alerts"]:
        for c in a["conversations"]:
            assert f'{c["src"]}:{c["src_port"]} → {c["dst"]}:{c["dst_port"]}' in dom

    outcomes = dict(re.findall(r'<rect class="segment" data-name="(\w+)" data-value="(\d+)"', svg(dom, "outcomes")))
    assert outcomes == {k: str(v) for k, v in rtt["summary"].items()
                        if k in ("completed", "refused", "unanswered", "no_ack", "no_syn") and v > 0}


def test_tls_and_quic_charts(example_rendered, tshark):
    """A chart per handshake kind: TLS and QUIC histograms, per-server bars and outcomes, as the JSON says."""
    dom = example_rendered[0]
    rtt = stats(tshark, EXAMPLE)["rtt"]
    for which, key in (("tls", "handshake_ms"), ("quic", "rtt_ms")):
        sec = rtt[which]
        assert sec["summary"]["completed"] > 0, f"the example holds {which} handshakes"
        counts = [int(c) for c in re.findall(r'<rect class="bar" data-count="(\d+)"', svg(dom, f"{which}-histogram"))]
        assert counts == [b["count"] for b in sec["histogram"]]
        assert sum(counts) == sec["summary"]["completed"]
        bars = re.findall(r'<g class="server-bar" data-server="([^"]+)" data-port="(\d+)"',
                          svg(dom, f"{which}-server-percentiles"))
        assert sorted(bars) == sorted((s["server"], str(s["server_port"])) for s in sec["servers"]
                                      if s[key]["count"] > 0)
        outcomes = dict(re.findall(r'<rect class="segment" data-name="(\w+)" data-value="(\d+)"',
                                   svg(dom, f"{which}-outcomes")))
        assert outcomes == {k: str(v) for k, v in sec["summary"].items()
                            if k in ("completed", "alert", "reset", "no_server_hello", "no_client_finished",
                                     "unanswered", "version_negotiation", "retry", "no_client_reply") and v > 0}


def test_page_is_self_contained(example_report):
    text = example_report[0].read_text()
    assert not re.search(r'(src|href)\s*=\s*["\']?\s*(https?:|//|file:)', text, re.I)
    assert not re.search(r"url\(|@import|<link\b|<img\b|<iframe\b", text, re.I)


def test_progress_on_stderr(example_report):
    _, p = example_report
    assert re.search(r"^\[1/1\] triage-example\.pcap +done +[\d.]+ s$", p.stderr, re.M)


def test_top_limits_the_charts(tshark, tmp_path):
    out = tmp_path / "top.html"
    run_report(tshark, [tshark.capture(EXAMPLE)], "-q", "--top", "3", "-o", str(out))
    text = out.read_text()
    assert 'id="egress-bars" class="chart" viewBox="0 0 780 74" role="img" aria-label="Outbound bytes per destination" ' \
           'data-bars="3"' in text
    assert len(re.findall(r'class="server-bar"', svg(text, "server-percentiles"))) == 3
    assert len(re.findall(r'class="server-bar"', svg(text, "tls-server-percentiles"))) <= 3


def test_several_captures_are_merged(tshark, tmp_path):
    other = shared_capture("cs_http_espn.pcapng")
    out = tmp_path / "two.html"
    run_report(tshark, [tshark.capture(EXAMPLE), tshark.capture(other)], "-q", "-o", str(out))
    a, b = stats(tshark, EXAMPLE), stats(tshark, other)
    text = out.read_text()
    total = a["rtt"]["summary"]["connections"] + b["rtt"]["summary"]["connections"]
    assert f"<b>{total}</b><span>handshakes</span>" in text
    dests = {d["address"] for d in a["egress"]["destinations"]} | {d["address"] for d in b["egress"]["destinations"]}
    assert f'data-bars="{min(25, len(dests))}"' in svg(text, "egress-bars")


def test_saved_json_gives_the_same_charts(tshark, tmp_path, example_report):
    saved = tmp_path / "saved.json"
    saved.write_text(tshark.run("-r", tshark.capture(EXAMPLE), "-q", "-z", "triage_rtt,json", "-z",
                                "triage_unwanted,json", "-z", "triage_egress,json").stdout)
    out = tmp_path / "from-json.html"
    run_report(tshark, [saved], "-q", "-o", str(out))
    charts = lambda t: re.findall(r"<svg.*?</svg>", t, re.S)
    assert charts(out.read_text()) == charts(example_report[0].read_text())


def test_tshark_options_after_double_dash(tshark, tmp_path):
    out = tmp_path / "opts.html"
    run_report(tshark, [tshark.capture(EXAMPLE)], "-q", "-o", str(out), extra=["-o", "triage.local_networks:10.0.0.5/32"])
    assert 'data-address="10.0.0.6" data-scope="external"' in out.read_text()


def test_bad_inputs(tshark, tmp_path):
    p = run_report(tshark, [tmp_path / "missing.pcap"], check=False)
    assert p.returncode == 2 and "no such file" in p.stderr
    junk = pathlib.Path(tshark.captures) / "junk.pcap"  # where the unprivileged tshark can read it
    junk.write_bytes(b"this is not a capture\n" * 10)
    os.chmod(junk, 0o644)
    p = run_report(tshark, [junk], "-o", str(tmp_path / "x.html"), check=False)
    assert p.returncode == 1 and "no Triage results" in p.stderr
    assert "isn't a capture file" in p.stderr and "junk.pcap" in p.stderr
    # A capture cut mid-packet still gives a report, with tshark's message on it.
    cut = pathlib.Path(tshark.captures) / "cut.pcap"
    cut.write_bytes(EXAMPLE.read_bytes()[:200_000])
    os.chmod(cut, 0o644)
    out = tmp_path / "cut.html"
    p = run_report(tshark, [cut], "-q", "-o", str(out), check=False)
    assert p.returncode == 0, p.stderr
    text = out.read_text()
    assert "cut short in the middle of a packet" in text
    assert 'id="rtt-histogram"' in text
