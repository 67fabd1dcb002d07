"""Drives the real Wireshark (Qt) under Xvfb the way a person would: mouse and keys.

Wireshark runs as the same unprivileged user as the tshark tests (nobody, when the
suite runs as root), with its own HOME and the freshly built plugin. There is no
window manager, so keyboard shortcuts to the menu bar do not reach the window: menus
are opened by clicking their label. The label positions are read off the screen
(ink columns of the menu bar), not hard-coded, so a different font still works.
Dialog buttons are clicked at positions relative to the dialog, which is first given
a fixed size.
"""

import contextlib
import os
import pathlib
import re
import shutil
import subprocess
import tempfile
import time

from conftest import NOBODY, dialog_name

SCREEN = (1280, 900)
MENUS = ["File", "Edit", "View", "Go", "Capture", "Analyze", "Statistics", "Telephony", "Wireless", "Tools",
         "Help", "Triage"]  # "Triage": the plugin's own menu (the table dialogs and the HTML report)


class GuiError(AssertionError):
    pass


class Xvfb:
    def __init__(self):
        r, w = os.pipe()
        self.proc = subprocess.Popen(["Xvfb", "-displayfd", str(w), "-screen", "0", f"{SCREEN[0]}x{SCREEN[1]}x24",
                                      "-nolisten", "tcp", "-noreset"], pass_fds=(w,), stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        os.close(w)
        with os.fdopen(r) as f:
            number = f.readline().strip()
        if not number:
            raise GuiError("Xvfb did not start")
        self.display = f":{number}"

    def close(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


class Wireshark:
    """One Wireshark window on an Xvfb display, opened on a capture."""

    def __init__(self, runner, capture, display, shots_dir, args=(), env=()):
        self.runner = runner  # a conftest.Tshark: HOME, plugin folder, unprivileged user
        self.display = display
        self.shots = pathlib.Path(shots_dir)
        self.shots.mkdir(parents=True, exist_ok=True)
        self.env = dict(os.environ, DISPLAY=display)
        runtime = runner.work / "xdg-runtime"
        runtime.mkdir(mode=0o700, exist_ok=True)
        if runner.root:
            os.chown(runtime, NOBODY, NOBODY)
        self.log = open(runner.work / "wireshark.log", "w")
        argv = runner.argv([*args, "-r", runner.capture(capture)], program="wireshark",
                           extra_env=[f"DISPLAY={display}", f"XDG_RUNTIME_DIR={runtime}", *env])
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT, cwd=runner.work)
        self.main = self.wait_window(re.escape(pathlib.Path(capture).name) + "$", timeout=60)
        self.xdo("windowmove", self.main, "0", "0")
        self.xdo("windowsize", self.main, str(SCREEN[0]), str(SCREEN[1] - 40))
        time.sleep(1.0)

    # ---- X primitives -------------------------------------------------------------------------
    def xdo(self, *args, check=True):
        p = subprocess.run(["xdotool", *args], env=self.env, capture_output=True, text=True, timeout=30)
        if check and p.returncode != 0:
            raise GuiError(f"xdotool {' '.join(args)}: {p.stderr}")
        return p.stdout

    def windows(self, pattern):
        """Visible windows whose title matches the regular expression."""
        out = self.xdo("search", "--onlyvisible", "--name", pattern, check=False)
        return [w for w in out.split() if w]

    def title(self, wid):
        return self.xdo("getwindowname", wid).strip()

    def geometry(self, wid):
        out = self.xdo("getwindowgeometry", "--shell", wid)
        g = dict(line.split("=", 1) for line in out.split())
        return int(g["X"]), int(g["Y"]), int(g["WIDTH"]), int(g["HEIGHT"])

    def wait_window(self, pattern, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise GuiError(f"wireshark exited ({self.proc.returncode}); log: {self.log_text()}")
            found = self.windows(pattern)
            if found:
                return found[-1]
            time.sleep(0.3)
        self.screenshot("failure-" + re.sub(r"\W+", "_", pattern)[:40])
        raise GuiError(f"no window titled /{pattern}/ after {timeout} s; visible: {self.visible_titles()}")

    def wait_gone(self, wid, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if wid not in self.all_windows():
                return
            time.sleep(0.2)
        raise GuiError(f"window {self.title(wid)!r} did not close")

    def wait_new_window(self, before, timeout=20):
        """A window that was not among `before` (titled or not, e.g. a message box)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            new = [w for w in self.all_windows() if w not in before]
            if new:
                return new[-1]
            time.sleep(0.3)
        raise GuiError(f"no new window after {timeout} s")

    def all_windows(self):
        """Every visible window, titled or not (a message box may have no title)."""
        out = self.xdo("search", "--onlyvisible", "--name", "", check=False)
        return [w for w in out.split() if w]

    def visible_titles(self):
        return [self.title(w) for w in self.windows(".")]

    def click(self, x, y):
        self.xdo("mousemove", str(x), str(y), "click", "1")
        time.sleep(0.4)

    def click_in(self, wid, dx, dy):
        """Click at an offset inside a window; negative offsets count from the right/bottom edge."""
        x, y, w, h = self.geometry(wid)
        self.click(x + (dx if dx >= 0 else w + dx), y + (dy if dy >= 0 else h + dy))

    def keys(self, *keys, pause=0.35):
        for k in keys:
            self.xdo("key", k)
            time.sleep(pause)

    def type(self, text):
        self.xdo("type", "--delay", "25", text)
        time.sleep(0.3)

    def place(self, wid, x, y, w, h):
        self.xdo("windowmove", wid, str(x), str(y))
        self.xdo("windowsize", wid, str(w), str(h))
        time.sleep(0.8)

    def screen_gray(self, x, y, w, h):
        raw = subprocess.run(["import", "-display", self.display, "-window", "root", "-crop", f"{w}x{h}+{x}+{y}",
                              "-depth", "8", "gray:-"], capture_output=True, timeout=30).stdout
        if len(raw) != w * h:
            raise GuiError(f"screen grab returned {len(raw)} bytes, expected {w * h}")
        return raw

    def screenshot(self, name, wid=None):
        """PNG of the screen, or of one window's rectangle, into the screenshot folder."""
        path = self.shots / f"{name}.png"
        crop = []
        if wid is not None:
            x, y, w, h = self.geometry(wid)
            crop = ["-crop", f"{w}x{h}+{x}+{y}", "+repage"]
        subprocess.run(["import", "-display", self.display, "-window", "root", *crop, "-colors", "256",
                        f"png8:{path}"], check=True, timeout=30)
        return path

    def clipboard(self):
        return subprocess.run(["xclip", "-o", "-selection", "clipboard"], env=self.env, capture_output=True,
                              text=True, timeout=10).stdout

    def clear_clipboard(self):
        subprocess.run(["xclip", "-i", "-selection", "clipboard"], input="", env=self.env, text=True, timeout=10)

    def log_text(self):
        self.log.flush()
        return (self.runner.work / "wireshark.log").read_text()[-2000:]

    # ---- Wireshark-level actions --------------------------------------------------------------
    def menu_labels(self):
        """x centre of each menu bar label, found from the ink columns of the menu bar."""
        x0, y0, w, _ = self.geometry(self.main)
        h = 18
        raw = self.screen_gray(x0, y0 + 1, w, h)
        ink = [any(raw[r * w + c] < 110 for r in range(h)) for c in range(w)]
        words, start, gap = [], None, 0
        for c, dark in enumerate(ink + [False] * 12):
            if dark:
                if start is None:
                    start = c
                gap, end = 0, c
            elif start is not None:
                gap += 1
                if gap >= 9:  # wider than any gap inside a word, narrower than between labels
                    words.append((start + end) // 2 + x0)
                    start = None
        if len(words) < len(MENUS):
            raise GuiError(f"found {len(words)} menu labels, expected {len(MENUS)}")
        return dict(zip(MENUS, words)), y0 + 10

    def open_menu(self, name, timeout=10):
        """Clicks a menu bar label and returns once its menu is up (a new window), so that keys
        typed next reach the menu; a busy machine may be slow to show it (keys sent before then
        went to the packet list). Clicks once more if no menu appeared within half the time."""
        labels, y = self.menu_labels()
        before = set(self.all_windows())
        for _ in range(2):
            self.click(labels[name], y)
            with contextlib.suppress(GuiError):
                menu = self.wait_new_window(before, timeout / 2)
                time.sleep(0.2)  # the menu takes the keyboard once shown
                return menu
        self.screenshot("failure-menu-" + name)
        raise GuiError(f"the {name} menu did not open after two clicks")

    def open_submenu(self, menu, timeout=10):
        """Right on a menu's highlighted entry: returns once its submenu is up (as open_menu)."""
        before = set(self.all_windows()) | {menu}
        self.keys("Right")
        try:
            self.wait_new_window(before, timeout)
        except GuiError:
            self.screenshot("failure-submenu")
            raise GuiError("the submenu did not open") from None
        time.sleep(0.2)

    def open_triage(self, item_index, title, shot=None):
        """Statistics ▸ Triage ▸ (item_index-th entry): the Triage submenu is the last entry."""
        before = set(self.windows("."))
        menu = self.open_menu("Statistics")
        self.keys("Up")
        self.open_submenu(menu)
        self.keys(*["Down"] * item_index)
        if shot:
            self.screenshot(shot)
        self.keys("Return")
        wid = self.wait_window(re.escape(f"Wireshark · {dialog_name(title)} · "))
        if wid in before:
            raise GuiError(f"{title}: no new window opened")
        return wid

    def open_table(self, item_index, title):
        """Triage (the plugin's menu) ▸ item_index-th entry: a table statistic's dialog."""
        before = set(self.windows("."))
        self.open_menu("Triage")
        self.keys(*["Down"] * (item_index + 1), "Return")
        wid = self.wait_window(re.escape(f"Wireshark · Triage {title} · "))
        if wid in before:
            raise GuiError(f"{title}: no new window opened")
        return wid

    def apply_display_filter(self, expression):
        """Types a display filter into the main window's filter bar and applies it."""
        self.click_in(self.main, 600, 75)
        self.keys("ctrl+a", "BackSpace")
        if expression:
            self.type(expression)
        self.keys("Return")
        time.sleep(1.5)

    def displayed(self):
        """(packets, bytes) the main window displays, read off Statistics ▸ Capture File Properties."""
        self.open_menu("Statistics")
        self.keys("Down", "Return")  # the first entry
        wid = self.wait_window("Capture File Properties")
        try:
            self.place(wid, 100, 40, 850, 760)
            deadline = time.time() + 10
            text = ""
            while time.time() < deadline and "Displayed" not in text:
                self.clear_clipboard()
                self.click_in(wid, -173, -24)  # Copy To Clipboard
                time.sleep(0.5)
                text = self.clipboard()
            lines = [line.strip() for line in text.splitlines()]
            start = lines.index("Measurement")
            # Measurement / Captured / Displayed / Marked, then four values per row.
            values = dict((lines[i], lines[i + 2]) for i in range(start + 4, len(lines) - 3, 4) if lines[i])
            first = lambda v: int(v.split()[0]) if v[:1].isdigit() else 0  # noqa: E731
            return first(values["Packets"]), first(values["Bytes"])
        finally:
            self.keys("Escape")
            self.wait_gone(wid)

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class StatsDialog:
    """A Statistics ▸ Triage dialog (Wireshark's stats_tree dialog), resized to a known layout."""

    # Offsets from the bottom-right corner of a dialog of this size, as laid out by Qt.
    SIZE = (980, 560)
    POS = (150, 120)
    COPY = (-236, -24)
    SAVE_AS = (-144, -24)
    APPLY = (-52, -55)
    FILTER = (400, -55)
    CLOSE = (-52, -24)

    def __init__(self, gui: Wireshark, wid):
        self.gui, self.wid = gui, wid
        gui.place(wid, *self.POS, *self.SIZE)

    def copy_text(self):
        self.gui.clear_clipboard()
        self.gui.click_in(self.wid, *self.COPY)
        deadline = time.time() + 10
        while time.time() < deadline:
            text = self.gui.clipboard()
            if text.strip():
                return text
            time.sleep(0.3)
        raise GuiError("Copy put nothing on the clipboard")

    def apply_filter(self, expression):
        """Type a display filter, press Apply; returns once the table (read with Copy) has changed."""
        before = self.copy_text()
        self.gui.click_in(self.wid, *self.FILTER)
        self.gui.keys("ctrl+a", "BackSpace")
        self.gui.type(expression)
        self.gui.click_in(self.wid, *self.APPLY)
        deadline = time.time() + 30
        while time.time() < deadline:
            after = self.copy_text()
            if after != before:
                return after
            time.sleep(0.5)
        raise GuiError(f"the table did not change after applying {expression!r}")

    def save_as(self, path):
        self.gui.click_in(self.wid, *self.SAVE_AS)
        dialog = self.gui.wait_window("Save Statistics As")
        # The file-name box has the focus in Qt's own file dialog.
        self.gui.type(str(path))
        self.gui.keys("Return")
        self.gui.wait_gone(dialog)
        deadline = time.time() + 10
        while time.time() < deadline and not pathlib.Path(path).exists():
            time.sleep(0.3)
        return pathlib.Path(path).read_text()

    def close(self):
        self.gui.click_in(self.wid, *self.CLOSE)
        self.gui.wait_gone(self.wid)


class TableDialog(StatsDialog):
    """A Triage table dialog (Wireshark's table statistics): sortable columns, read back with Copy."""

    SIZE = (1240, 700)
    POS = (20, 80)

    def header_sections(self):
        """x ranges (relative to the dialog) of the column headers, from the lines Qt draws between them."""
        x, y, w, _ = self.gui.geometry(self.wid)
        for top in range(8, 60, 2):  # the header's place differs a little between Qt styles
            band = self.gui.screen_gray(x, y + top, w, 10)
            column_max = [max(band[r * w + c] for r in range(10)) for c in range(w)]
            lines = [c for c in range(w) if column_max[c] < 225]
            merged = [c for i, c in enumerate(lines) if i == 0 or c - lines[i - 1] > 3]
            if len(merged) >= 6:
                return list(zip(merged, merged[1:])), top + 5
        raise GuiError("no column header found")

    def sort_by(self, column):
        """Clicks the header of the column-th column (0-based)."""
        sections, dy = self.header_sections()
        left, right = sections[column]
        self.gui.click_in(self.wid, (left + right) // 2, dy)
        time.sleep(0.5)

    def rows(self):
        return parse_table(self.copy_text())


def parse_table(text):
    """A table dialog's Copy text as (header, rows): columns are separated by two or more spaces,
    and no cell is blank or holds two spaces in a row (the statistic writes "-" for nothing)."""
    lines = text.splitlines()
    ruler = next(i for i, line in enumerate(lines) if line.startswith("---"))
    header = re.split(r" {2,}", lines[ruler - 1].strip())
    rows = [re.split(r" {2,}", line.strip()) for line in lines[ruler + 1:]
            if line.strip() and not line.startswith(("---", "==="))]
    return header, rows


def parse_stats_tree(text):
    """Rows of a stats_tree text dump as {path: (count, average, min, max)}; order-free, since the GUI sorts.

    Rate and burst columns are left out: they depend on the capture duration only.
    """
    rows, stack, name_width = {}, [], None
    for line in text.splitlines():
        if line.startswith("Topic / Item"):
            name_width = line.index("Count")
            continue
        if name_width is None or not line.strip() or line[0] in "-=":
            continue
        name, values = line[:name_width].rstrip(), line[name_width:].split()
        indent = len(name) - len(name.lstrip(" "))
        stack = stack[:indent] + [name.strip()]
        path = "/".join(stack)
        if path in rows:
            raise ValueError(f"duplicate row {path}")
        # count, average, min, max where the row has them; rate and burst columns depend on timing only
        rows[path] = tuple(values[:4]) if len(values) >= 8 else tuple(values[:1])
    if name_width is None:
        raise ValueError("no stats_tree table in the text")
    return rows


@contextlib.contextmanager
def wireshark_session(capture, shots_dir, args=(), env=(), prepare=None):
    """A Wireshark on its own Xvfb display, as the unprivileged test user, with a fresh HOME;
    `prepare(runner)` runs before it starts and may return more VAR=value settings for it.
    Skips (fails under CI) without the GUI tools."""
    import pytest
    from conftest import Tshark

    if not have_gui_tools():
        msg = "Wireshark GUI test tools missing (wireshark-qt xvfb xdotool imagemagick xclip): run ./run-tests.sh"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    work = pathlib.Path(tempfile.mkdtemp(prefix="triage-gui-"))
    os.chmod(work, 0o755)
    xvfb = Xvfb()
    app = None
    try:
        runner = Tshark(work)
        more = (prepare(runner) or []) if prepare else []
        app = Wireshark(runner, capture, xvfb.display, shots_dir, args=args, env=[*env, *more])
        yield app
    finally:
        if app:
            app.close()
        xvfb.close()
        shutil.rmtree(work, ignore_errors=True)


def have_gui_tools():
    return all(shutil.which(t) for t in ("wireshark", "Xvfb", "xdotool", "import", "xclip"))
