"""Wireshark (Qt) under Xvfb: Statistics ▸ Triage dialogs and the Triage preferences page.

Each dialog is opened through the menu with mouse clicks and keys, found by its window
title, and read back through its own Copy and Save as buttons; what it shows must equal
tshark's `-z <stat>,tree` on the same capture (whose numbers the other test files check
against tshark's own fields). The screenshots land in $TRIAGE_SCREENSHOTS (default
build/screenshots); the README's pictures in docs/screenshots are copies of them.
"""

import os
import pathlib

import pytest

from conftest import BUILD, EXAMPLE, dialog_name, ws_version
from gui import StatsDialog, parse_stats_tree, wireshark_session

pytestmark = [pytest.mark.no_sanitizer, pytest.mark.gui, pytest.mark.xdist_group("gui")]  # one Wireshark

SHOTS = pathlib.Path(os.environ.get("TRIAGE_SCREENSHOTS", BUILD / "screenshots"))
DIALOGS = [  # the Triage submenu, in its (alphabetical) order
    (0, "Handshake RTT", "triage_rtt"),
    (1, "Outbound Volume", "triage_egress"),
    (2, "Unwanted Protocols", "triage_unwanted"),
]


@pytest.fixture(scope="module")
def gui():
    with wireshark_session(EXAMPLE, SHOTS) as app:
        yield app


def cli_tree(tshark, stat, filter=None, opts=()):
    z = f"{stat},tree" + (f",{filter}" if filter else "")
    return parse_stats_tree(tshark.run("-r", tshark.capture(EXAMPLE), "-q", *opts, "-z", z).stdout)


def test_statistics_menu_holds_the_three_dialogs(gui):
    for index, title, _ in DIALOGS:
        wid = gui.open_triage(index, title, shot="gui-menu" if index == 0 else None)
        assert gui.title(wid) == f"Wireshark · {dialog_name(title)} · {EXAMPLE.name}"
        StatsDialog(gui, wid).close()


@pytest.mark.parametrize("index,title,stat", DIALOGS, ids=[d[2] for d in DIALOGS])
def test_dialog_shows_what_tshark_prints(gui, tshark, index, title, stat):
    dialog = StatsDialog(gui, gui.open_triage(index, title))
    try:
        gui.screenshot(f"gui-{stat}", dialog.wid)
        shown = parse_stats_tree(dialog.copy_text())
        expected = cli_tree(tshark, stat)
        assert len(shown) > 5
        assert shown == expected
    finally:
        dialog.close()


def test_display_filter_box_and_save_as(gui, tshark, tmp_path):
    flt = "tcp.port == 443"
    dialog = StatsDialog(gui, gui.open_triage(0, "Handshake RTT"))
    try:
        unfiltered = parse_stats_tree(dialog.copy_text())
        filtered = parse_stats_tree(dialog.apply_filter(flt))
        expected = cli_tree(tshark, "triage_rtt", flt)
        assert filtered == expected
        assert filtered != unfiltered
        assert int(filtered["Handshakes"][0]) < int(unfiltered["Handshakes"][0])
        # Save as… writes the filtered table (plain text) where the user types.
        out = gui.runner.work / "saved-rtt.txt"
        saved = dialog.save_as(out)
        assert parse_stats_tree(saved) == expected
    finally:
        dialog.close()


def test_postdissector_fields_in_the_main_window(gui, tshark):
    """The display filter bar takes triage.* fields; the packet details show the Triage subtree."""
    gui.click_in(gui.main, 600, 75)  # display filter bar
    gui.type("triage.unwanted")
    gui.keys("Return")
    gui.click_in(gui.main, 300, 119)  # first packet shown
    gui.click_in(gui.main, 300, 475)  # packet details
    gui.keys("End", "Right")  # the Triage subtree is the last one
    gui.clear_clipboard()
    gui.keys("ctrl+c")
    first = tshark.fields(EXAMPLE, ["triage.unwanted", "triage.unwanted.severity"], "triage.unwanted")[0]
    assert gui.clipboard().strip() == f"[Triage, {first['triage.unwanted']} ({first['triage.unwanted.severity']})]"
    gui.screenshot("gui-packet-details", gui.main)
    gui.click_in(gui.main, 600, 75)
    gui.keys("ctrl+a", "BackSpace", "Return")


def test_preferences_page_changes_apply_on_retap(gui, tshark):
    """Edit ▸ Preferences ▸ Protocols ▸ Triage: local networks and the policy table, then reopen the dialogs."""
    gui.open_menu("Edit")
    gui.keys("Up", "Return")  # Preferences… is the last entry
    prefs = gui.wait_window("Wireshark · Preferences")
    gui.place(prefs, 0, 0, 1100, 700)
    gui.click_in(prefs, 60, 20)  # the page tree; type-ahead finds the pages
    gui.type("Protocols")
    gui.keys("Right", "Down")  # expand (4.6 starts collapsed), then into the list
    gui.type("Triage")
    # Where Qt lays out the Triage page (the rows are shorter from 4.4 on).
    new_layout = ws_version() >= (4, 4)
    local_networks, edit_policy = ((540, 70), (415, 281)) if new_layout else ((540, 78), (430, 314))
    ok = (-310, -24) if new_layout else (-224, -24)  # 4.4 adds an Apply button
    gui.click_in(prefs, *local_networks)
    gui.keys("ctrl+a")
    gui.type("10.0.0.5/32")
    gui.click_in(prefs, *edit_policy)  # Unwanted protocols: Edit…
    table = gui.wait_window("^Triage unwanted protocols$")
    gui.click_in(table, 22, -54)  # +
    gui.type("dns")
    gui.keys("Tab")
    gui.type("high")
    gui.keys("Tab")
    gui.type("seen in the GUI test")
    gui.keys("Return")
    gui.screenshot("gui-policy-table", table)
    gui.click_in(table, 240, -24)  # OK
    gui.wait_gone(table)
    gui.screenshot("gui-preferences", prefs)
    gui.click_in(prefs, *ok)
    gui.wait_gone(prefs)

    saved = (gui.runner.config / "preferences").read_text()
    assert "\ntriage.local_networks: 10.0.0.5/32\n" in saved
    assert (gui.runner.config / "triage_unwanted_protocols").read_text().splitlines()[-1] == \
        '"dns","high","seen in the GUI test"'

    opts = ["-o", "triage.local_networks:10.0.0.5/32",
            "-o", 'uat:triage_unwanted_protocols:"dns","high","seen in the GUI test"']
    egress = StatsDialog(gui, gui.open_triage(1, "Outbound Volume"))
    try:
        shown = parse_stats_tree(egress.copy_text())
        assert shown == cli_tree(tshark, "triage_egress", opts=opts)
        assert shown != cli_tree(tshark, "triage_egress")
        assert any(k.startswith("Outbound bytes per destination/10.0.0.6 (external)") for k in shown)
    finally:
        egress.close()
    unwanted = StatsDialog(gui, gui.open_triage(2, "Unwanted Protocols"))
    try:
        shown = parse_stats_tree(unwanted.copy_text())
        assert shown == cli_tree(tshark, "triage_unwanted", opts=opts)
        assert any("dns" in k for k in shown)
    finally:
        unwanted.close()
