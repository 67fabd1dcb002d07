"""Wireshark (Qt) under Xvfb: the Triage menu's table dialogs and its HTML report entry.

Each table is opened from the Triage menu with the mouse, read back with its Copy button
and compared, cell by cell, with tshark's JSON on the same capture (whose numbers the other
test files check against tshark's own fields). Sorting is checked by clicking column
headers; the way to the packets by applying a row's filter in the main window and reading
the displayed count off Statistics ▸ Capture File Properties, against tshark -Y. The report
entry runs the real triage-report; xdg-open is a stand-in that records what it was asked
to open. Screenshots land in $TRIAGE_SCREENSHOTS (default build/screenshots).
"""

import json
import os
import pathlib
import time

import pytest

from conftest import EXAMPLE, ROOT
from gui import TableDialog, wireshark_session
from tables import PROBLEM_KINDS, by_first, check_egress, check_quic, check_rtt, check_tls, check_unwanted

pytestmark = [pytest.mark.no_sanitizer, pytest.mark.gui, pytest.mark.xdist_group("gui")]  # one Wireshark at a time

SHOTS = pathlib.Path(os.environ.get("TRIAGE_SCREENSHOTS", ROOT / "build" / "screenshots"))
PRICE = "0.07"  # given on Wireshark's command line only: the report must get it from the running Wireshark
TABLES = [(0, "Handshake RTT", "triage_rtt"), (1, "Outbound Volume", "triage_egress"),
          (2, "Unwanted Protocols", "triage_unwanted"), (3, "TLS Handshakes", "triage_tls"),
          (4, "QUIC Handshakes", "triage_quic")]


class Gui:
    def __init__(self, app):
        self.app, self.tshark = app, app.runner
        self.bin = app.runner.work / "bin"


def stand_ins(runner):
    """A PATH of the test's own: the real triage-report (a link the tests replace), a recording
    xdg-open, and the system's programs; no /usr/local (an installed Triage)."""
    bin_dir = runner.work / "bin"
    bin_dir.mkdir()
    (bin_dir / "xdg-open").write_text('#!/bin/sh\nprintf "%s\\n" "$@" >> "$HOME/xdg-open.log"\n')
    (bin_dir / "xdg-open").chmod(0o755)
    (bin_dir / "triage-report").symlink_to(ROOT / "tools" / "triage-report")
    return [f"PATH={bin_dir}:/usr/bin:/bin"]


@pytest.fixture(scope="module")
def gui():
    with wireshark_session(EXAMPLE, SHOTS, args=["-o", f"triage.egress_price_per_gb:{PRICE}"],
                           prepare=stand_ins) as app:
        yield Gui(app)


def cli_json(g, stat):
    out = g.tshark.run("-r", g.tshark.capture(EXAMPLE), "-q", "-o", f"triage.egress_price_per_gb:{PRICE}",
                       "-z", f"{stat},json").stdout
    return json.loads(out)


def open_table(g, index):
    _, title, _ = TABLES[index]
    return TableDialog(g.app, g.app.open_table(index, title))


def test_triage_menu_holds_the_tables_and_the_report(gui):
    app = gui.app
    app.open_menu("Triage")
    app.screenshot("gui-triage-menu")
    app.keys("Escape")
    for index, title, _ in TABLES:
        wid = app.open_table(index, title)
        assert app.title(wid) == f"Wireshark · Triage {title} · {EXAMPLE.name}"
        TableDialog(app, wid).close()


@pytest.mark.parametrize("index,stat,check", [(0, "triage_rtt", check_rtt), (1, "triage_egress", check_egress),
                                              (2, "triage_unwanted", check_unwanted), (3, "triage_rtt", check_tls),
                                              (4, "triage_rtt", check_quic)],
                         ids=["triage_rtt", "triage_egress", "triage_unwanted", "triage_tls", "triage_quic"])
def test_table_equals_the_json(gui, index, stat, check):
    js = cli_json(gui, stat)  # TLS and QUIC: the "tls"/"quic" members of the Handshake RTT JSON
    dialog = open_table(gui, index)
    try:
        gui.app.screenshot(f"gui-table-{TABLES[index][2]}", dialog.wid)
        header, rows = dialog.rows()
    finally:
        dialog.close()
    check(header, rows, js)


def test_columns_sort_by_value_when_clicked(gui):
    dialog = open_table(gui, 1)
    try:
        header, rows = dialog.rows()
        col = {name: i for i, name in enumerate(header)}
        destinations = [r for r in rows if not r[0].startswith(("outbound_", *PROBLEM_KINDS))
                        and r[0] not in ("inbound", "other")]

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
        servers = [int(r[col["Handshakes"]]) for r in rows
                   if len(r) == len(header) and r[0] != "All servers" and r[0][-1].isdigit()]
        assert servers == sorted(servers, reverse=True) and servers[0] > servers[-1]
    finally:
        rtt.close()


def test_two_dialogs_of_one_table(gui):
    """Wireshark shares a statistic's tables between its open dialogs: a second dialog's run
    must leave the first one showing its own rows (and Wireshark running)."""
    first = open_table(gui, 0)
    second = None
    try:
        before = first.copy_text()
        second = TableDialog(gui.app, gui.app.open_table(0, TABLES[0][1]))
        gui.app.place(second.wid, 40, 40, 700, 420)  # clear of the first one's buttons
        filtered = second.apply_filter("tcp.port == 443")
        assert filtered != before
        assert first.copy_text().splitlines()[2:] == before.splitlines()[2:]
    finally:
        if second:
            second.close()
        first.close()
    assert gui.app.proc.poll() is None


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


def expect_report_message(gui, shot):
    """Triage ▸ HTML Report of This Capture gives a message box (screenshot `shot`, closed with OK)
    and asks xdg-open for nothing."""
    log = gui.tshark.home / "xdg-open.log"
    if log.exists():
        log.unlink()
    before = set(gui.app.all_windows())
    menu = gui.app.open_menu("Triage")
    gui.app.keys("Up", "Return")
    box = gui.app.wait_new_window(before | {menu})  # Qt may show the next menu in the same window
    gui.app.screenshot(shot, box)
    gui.app.click_in(box, -50, -24)  # OK
    gui.app.wait_gone(box)
    assert not log.exists()


def test_report_entry_without_the_tool_says_so(gui):
    link = gui.bin / "triage-report"
    link.unlink()
    try:
        expect_report_message(gui, "gui-report-no-tool")
    finally:
        link.symlink_to(ROOT / "tools" / "triage-report")


def test_report_entry_shows_a_failing_report(gui):
    """triage-report exits with an error: a message box (its stderr is in it), nothing opened."""
    link = gui.bin / "triage-report"
    link.unlink()
    link.write_text("#!/bin/sh\necho 'triage-report: cannot read the capture' >&2\nexit 3\n")
    link.chmod(0o755)
    try:
        expect_report_message(gui, "gui-report-failed")
        assert not (gui.tshark.home / ".cache" / "triage" / f"{EXAMPLE.name}.errors").exists()  # cleaned up
    finally:
        link.unlink()
        link.symlink_to(ROOT / "tools" / "triage-report")


def test_report_entry_with_no_file_open_says_so(gui):
    """Last in this module: it closes the capture."""
    gui.app.click_in(gui.app.main, 300, 150)  # the packet list has the focus
    gui.app.keys("ctrl+w")  # File ▸ Close
    gui.app.wait_window("^The Wireshark Network Analyzer$")
    expect_report_message(gui, "gui-report-no-file")
