"""Wireshark (Qt) under Xvfb: the Triage menu's table dialogs and its HTML report entry.

Each table is opened from the Triage menu with the mouse, read back with its Copy button
and compared, cell by cell, with tshark's JSON on the same capture (whose numbers the other
test files check against tshark's own fields). Sorting is checked by clicking column
headers; the way to the packets by applying a row's filter in the main window and reading
the displayed count off Statistics ▸ Capture File Properties, against tshark -Y. The report
entry runs the real triage-report; xdg-open is a stand-in that records what it was asked
to open. Screenshots land in $TRIAGE_SCREENSHOTS (default build/screenshots).
"""

import datetime
import json
import os
import pathlib
import re
import shutil
import tempfile
import time

import pytest

from conftest import EXAMPLE, ROOT, Tshark
from gui import TableDialog, Wireshark, Xvfb, have_gui_tools

pytestmark = [pytest.mark.no_sanitizer, pytest.mark.gui, pytest.mark.xdist_group("gui")]  # one Wireshark at a time

SHOTS = pathlib.Path(os.environ.get("TRIAGE_SCREENSHOTS", ROOT / "build" / "screenshots"))
PRICE = "0.07"  # given on Wireshark's command line only: the report must get it from the running Wireshark
TABLES = [(0, "Handshake RTT", "triage_rtt"), (1, "Outbound Volume", "triage_egress"),
          (2, "Unwanted Protocols", "triage_unwanted")]


class Gui:
    def __init__(self, app, bin_dir, tshark):
        self.app, self.bin, self.tshark = app, bin_dir, tshark


@pytest.fixture(scope="module")
def gui():
    if not have_gui_tools():
        msg = "Wireshark GUI test tools missing (wireshark-qt xvfb xdotool imagemagick xclip): run ./run-tests.sh"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    work = pathlib.Path(tempfile.mkdtemp(prefix="triage-gui-tables-"))
    os.chmod(work, 0o755)
    runner = Tshark(work)
    # A PATH of our own: the real triage-report (a link the tests remove and restore),
    # a recording xdg-open, and the system's programs; no /usr/local (an installed Triage).
    bin_dir = work / "bin"
    bin_dir.mkdir()
    (bin_dir / "xdg-open").write_text('#!/bin/sh\nprintf "%s\\n" "$@" >> "$HOME/xdg-open.log"\n')
    (bin_dir / "xdg-open").chmod(0o755)
    (bin_dir / "triage-report").symlink_to(ROOT / "tools" / "triage-report")
    xvfb = Xvfb()
    app = None
    try:
        app = Wireshark(runner, EXAMPLE, xvfb.display, SHOTS, args=["-o", f"triage.egress_price_per_gb:{PRICE}"],
                        env=[f"PATH={bin_dir}:/usr/bin:/bin"])
        yield Gui(app, bin_dir, runner)
    finally:
        if app:
            app.close()
        xvfb.close()
        shutil.rmtree(work, ignore_errors=True)


def cli_json(g, stat):
    out = g.tshark.run("-r", g.tshark.capture(EXAMPLE), "-q", "-o", f"triage.egress_price_per_gb:{PRICE}",
                       "-z", f"{stat},json").stdout
    return json.loads(out)


def open_table(g, index):
    _, title, _ = TABLES[index]
    return TableDialog(g.app, g.app.open_table(index, title))


def ms3(value):
    """A JSON millisecond value as the table shows it (three decimals), or "-" for none."""
    if value is None:
        return "-"
    return f"{value:.3f}"


def utc(epoch):
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")


def by_first(rows):
    out = {}
    for r in rows:
        assert r[0] not in out, f"duplicate row {r[0]}"
        out[r[0]] = r
    return out


def test_triage_menu_holds_the_tables_and_the_report(gui):
    app = gui.app
    app.open_menu("Triage")
    app.screenshot("gui-triage-menu")
    app.keys("Escape")
    for index, title, _ in TABLES:
        wid = app.open_table(index, title)
        assert app.title(wid) == f"Wireshark · Triage {title} · {EXAMPLE.name}"
        TableDialog(app, wid).close()


def test_rtt_table_equals_the_json(gui):
    js = cli_json(gui, "triage_rtt")
    dialog = open_table(gui, 0)
    try:
        gui.app.screenshot("gui-table-triage_rtt", dialog.wid)
        header, rows = dialog.rows()
    finally:
        dialog.close()
    assert header[:7] == ["Server", "Handshakes", "Completed", "Refused", "Unanswered", "No ACK", "Retried"]
    assert header[-2:] == ["Network path", "Filter"]
    col = {name: i for i, name in enumerate(header)}
    table = by_first(rows)

    def check(row, counts, summaries, retried, legs):
        assert row[col["Handshakes"]] == str(counts["connections"])
        for name, key in [("Completed", "completed"), ("Refused", "refused"), ("Unanswered", "unanswered"),
                          ("No ACK", "no_ack")]:
            assert row[col[name]] == str(counts[key]), name
        assert row[col["Retried"]] == str(retried)
        for leg, key in [("RTT", "rtt_ms"), ("Server leg", "server_leg_ms"), ("Client leg", "client_leg_ms")]:
            for stat in ["p50", "p90", "p95", "p99", "max"]:
                assert row[col[f"{leg} {stat} (ms)"]] == ms3(summaries[key][stat]), (leg, stat)
        path = {"server_leg": "server leg", "client_leg": "client leg", "unclear": "unclear"}
        used = sorted({path[l] for l in legs})
        assert row[col["Network path"]] == (used[0] if len(used) == 1 else "mixed" if used else "-")

    conns = [c for c in js["connections"]]
    s = js["summary"]
    check(table["All servers"], {**s, "connections": s["connections"]}, js, s["retried_handshakes"],
          [c["network_leg"] for c in conns if c["rtt_ms"] is not None])
    assert len(js["servers"]) > 5
    for srv in js["servers"]:
        addr = f"[{srv['server']}]" if ":" in srv["server"] else srv["server"]
        row = table[f"{addr}:{srv['server_port']}"]
        mine = [c for c in conns if c["server"] == srv["server"] and c["server_port"] == srv["server_port"]]
        check(row, srv, srv, sum(c["retried"] for c in mine),
              [c["network_leg"] for c in mine if c["rtt_ms"] is not None])
    buckets = [r for r in rows if re.match(r"\d\d: ", r[0])]
    assert [int(r[1]) for r in buckets] == [b["count"] for b in js["histogram"]]
    assert [r[0] for r in buckets] == sorted(r[0] for r in buckets)  # shown in bucket order
    assert len(rows) == 1 + len(js["servers"]) + len(js["histogram"])


def test_egress_table_equals_the_json(gui):
    js = cli_json(gui, "triage_egress")
    dialog = open_table(gui, 1)
    try:
        gui.app.screenshot("gui-table-triage_egress", dialog.wid)
        header, rows = dialog.rows()
    finally:
        dialog.close()
    col = {name: i for i, name in enumerate(header)}
    table = by_first(rows)
    assert len(js["destinations"]) > 5
    for d in js["destinations"]:
        row = table[d["address"]]
        assert row[col["Scope"]] == d["scope"]
        assert row[col["Frames"]] == str(d["frames"])
        assert row[col["Bytes"]] == str(d["frame_bytes"])
        assert abs(float(row[col["Share (%)"]]) - 100 * d["share"]) <= 0.005 + 1e-4
        cost = d.get("estimated_cost")
        assert row[col["Estimated cost"]] == (f"{cost:.6f}" if cost is not None else "-")
        assert row[col["Sources"]] == str(len(d["sources"]))
        top = max(d["sources"], key=lambda s: s["frame_bytes"])
        assert row[col["Top source"]] == top["address"]
        assert row[col["Top source bytes"]] == str(top["frame_bytes"])
        port = max(d["ports"], key=lambda p: p["frame_bytes"])
        assert row[col["Top port"]] == f"{port['transport']}/{port['port']}"
    for direction, volume in js["totals"].items():
        assert table[direction][col["Frames"]] == str(volume["frames"])
        assert table[direction][col["Bytes"]] == str(volume["frame_bytes"])
    assert len(rows) == len(js["destinations"]) + len(js["totals"])


def test_unwanted_table_equals_the_json(gui):
    js = cli_json(gui, "triage_unwanted")
    dialog = open_table(gui, 2)
    try:
        gui.app.screenshot("gui-table-triage_unwanted", dialog.wid)
        header, rows = dialog.rows()
    finally:
        dialog.close()
    col = {name: i for i, name in enumerate(header)}
    table = by_first(rows)
    assert len(js["alerts"]) >= 3
    for a in js["alerts"]:
        row = table[a["protocol"]]
        assert row[col["Severity"]] == a["severity"]
        assert row[col["Category"]] == a["category"]
        assert row[col["Frames"]] == str(a["frames"])
        assert row[col["Bytes"]] == str(a["bytes"])
        hosts = {c["src"] for c in a["conversations"]} | {c["dst"] for c in a["conversations"]}
        assert row[col["Hosts"]] == str(len(hosts))
        assert row[col["Conversations"]] == str(len(a["conversations"]))
        assert row[col["First seen (UTC)"]] == utc(a["first_time"])
        assert row[col["Last seen (UTC)"]] == utc(a["last_time"])
        assert row[col["Reason"]] == a["reason"]
        first = a["conversations"][0]
        assert row[col["Between"]].startswith(f"{first['src']} -> {first['dst']}")
    notes = [r[0] for r in rows if r[0].startswith(("error: ", "warning: ", "note: "))]
    assert len(rows) == len(js["alerts"]) + len(notes)


def test_columns_sort_by_value_when_clicked(gui):
    dialog = open_table(gui, 1)
    try:
        header, rows = dialog.rows()
        col = {name: i for i, name in enumerate(header)}
        destinations = [r for r in rows if "." in r[0] or ":" in r[0]]

        def bytes_in_order():
            _, now = dialog.rows()
            return [int(r[col["Bytes"]]) for r in now if r[0] in {d[0] for d in destinations}]

        dialog.sort_by(col["Bytes"])
        ascending = bytes_in_order()
        gui.app.screenshot("gui-table-sorted", dialog.wid)
        dialog.sort_by(col["Bytes"])
        descending = bytes_in_order()
        assert ascending == sorted(ascending) and descending == sorted(descending, reverse=True)
        assert ascending != descending  # as text "9 < 10" would fail: the cells sort as numbers
        assert sorted(ascending) == sorted(int(d[col["Bytes"]]) for d in destinations)
    finally:
        dialog.close()
    rtt = open_table(gui, 0)
    try:
        header, _ = rtt.rows()
        col = {name: i for i, name in enumerate(header)}
        rtt.sort_by(col["Handshakes"])
        rtt.sort_by(col["Handshakes"])  # descending: the busiest server first
        _, rows = rtt.rows()
        servers = [int(r[col["Handshakes"]]) for r in rows if r[0].endswith(tuple("0123456789")) and ":" in r[0]]
        assert servers == sorted(servers, reverse=True) and servers[0] > servers[-1]
    finally:
        rtt.close()


@pytest.mark.parametrize("index,key,frames_oracle", [
    (2, "telnet", "telnet"),                    # an alert: as many frames as Wireshark's own telnet filter
    (1, "93.184.216.34", None),                 # a destination: its frames in the table
    (0, "151.101.1.69:443", "ip.addr == 151.101.1.69 && tcp.port == 443"),  # a server
], ids=["alert", "destination", "server"])
def test_row_filter_shows_the_rows_packets(gui, index, key, frames_oracle):
    dialog = open_table(gui, index)
    try:
        header, rows = dialog.rows()
    finally:
        dialog.close()
    col = {name: i for i, name in enumerate(header)}
    row = by_first(rows)[key]
    expression = row[col["Filter"]]
    app = gui.app
    try:
        app.apply_display_filter(expression)
        if index == 2:
            app.screenshot("gui-row-filter-applied", app.main)
        packets, _ = app.displayed()
    finally:
        app.apply_display_filter("")
    cli = gui.tshark.run("-r", gui.tshark.capture(EXAMPLE), "-Y", expression, "-T", "fields", "-e", "frame.number")
    assert packets == len(cli.stdout.split()) > 0
    if "Frames" in col:
        assert packets == int(row[col["Frames"]])
    if frames_oracle:
        own = gui.tshark.run("-r", gui.tshark.capture(EXAMPLE), "-Y", frames_oracle, "-T", "fields",
                             "-e", "frame.number")
        assert packets == len(own.stdout.split())


def wait_for(path, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if path.exists() and path.stat().st_size:
            return path.read_text()
        time.sleep(0.5)
    raise AssertionError(f"{path} not written within {timeout} s")


def test_report_entry_writes_the_page_and_opens_it(gui):
    log = gui.tshark.home / "xdg-open.log"
    if log.exists():
        log.unlink()
    gui.app.open_menu("Triage")
    gui.app.keys("Up", "Return")  # the last entry: HTML Report of This Capture
    opened = wait_for(log).split()
    assert len(opened) == 1
    page = pathlib.Path(opened[0])
    assert page.parent == gui.tshark.home / ".cache" / "triage"
    html = page.read_text()
    assert html.startswith("<!DOCTYPE html>")
    assert EXAMPLE.name in html and "telnet" in html
    assert f"est. egress cost at {PRICE}/GB" in html  # the running Wireshark's preference reached tshark


def test_report_entry_without_the_tool_says_so(gui):
    link = gui.bin / "triage-report"
    log = gui.tshark.home / "xdg-open.log"
    if log.exists():
        log.unlink()
    link.unlink()
    try:
        before = set(gui.app.all_windows())
        gui.app.open_menu("Triage")
        gui.app.keys("Up", "Return")
        deadline = time.time() + 20
        new = []
        while time.time() < deadline and not new:
            new = [w for w in gui.app.all_windows() if w not in before]
            time.sleep(0.3)
        assert new, "no message box"
        box = new[-1]
        gui.app.screenshot("gui-report-no-tool", box)
        gui.app.click_in(box, -50, -24)  # OK
        gui.app.wait_gone(box)
        assert not log.exists()  # nothing was opened
    finally:
        link.symlink_to(ROOT / "tools" / "triage-report")
