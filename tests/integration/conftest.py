"""pytest harness: runs the real tshark with the freshly built triage.so.

Wireshark ignores personal plugins when the real uid is 0, so as root every
tshark runs as `nobody` (setpriv) with a temporary HOME; captures are copied
where that user can read them. The plugin folder is WIRESHARK_PLUGIN_DIR, a
copy of the system plugins with the fresh triage.so instead of any installed
one (Wireshark prefers the system folder when a plugin is in both).
"""

import copy
import json
import os
import pathlib
import re
import shutil
import subprocess
import tempfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("TRIAGE_BUILD_DIR", ROOT / "build"))
CAPTURES = pathlib.Path(os.environ.get("TRIAGE_CAPTURES", ROOT.parent / "shared" / "captures"))
EXAMPLE = ROOT / "examples" / "triage-example.pcap"
NOBODY = 65534
# Set by run-tests.sh for the sanitizer pass: the ASan runtime to preload.
SANITIZER_PRELOAD = os.environ.get("TRIAGE_SANITIZER_PRELOAD", "")
ALL_JSON = ("-z", "triage_rtt,json", "-z", "triage_unwanted,json", "-z", "triage_egress,json")
ALL_KINDS = {"triage_rtt": "rtt", "triage_unwanted": "unwanted", "triage_egress": "egress"}


def ws_abi():
    out = subprocess.run(["tshark", "--version"], capture_output=True, text=True).stdout
    m = re.search(r"\(Wireshark\) (\d+)\.(\d+)", out)
    return f"{m.group(1)}.{m.group(2)}"


def ws_version():
    """(major, minor) of the tshark under test."""
    return tuple(int(x) for x in ws_abi().split("."))


def tree_title(name):
    """The heading tshark prints over a Triage stats_tree: 4.4 made the name a
    menu path ("Triage//X") and prints it as "Triage / X"."""
    return f"Triage / {name}:" if ws_version() >= (4, 4) else f"Triage/{name}:"


def dialog_name(name):
    """A Triage dialog's name in its window title: 4.4+ shows the menu path."""
    return f"Triage / {name}" if ws_version() >= (4, 4) else name


def read_error_exit():
    """tshark's exit status for a capture it could not read to the end (cut
    short, damaged): 2 up to 4.4, 14 from 4.6 (WS_EXIT_... codes)."""
    return 14 if ws_version() >= (4, 6) else 2


def open_error_exit():
    """tshark's exit status for a capture it could not even open (cut inside
    its file header): 2 in 4.0, WS_EXIT_INVALID_FILE (3) in 4.4 and 4.6."""
    return 3 if ws_version() >= (4, 2) else 2


def system_plugin_dir():
    """Wireshark's global plugin folder (…/plugins/<abi>), from tshark -G folders."""
    out = subprocess.run(["tshark", "-G", "folders"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "Global Plugins":
            return value.strip()
    return ""


def unprivileged(argv):
    """argv run as nobody when the suite runs as root (Wireshark ignores personal plugins for root)."""
    if os.geteuid() == 0:
        return ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", *argv]
    return list(argv)


def json_documents(text):
    """The concatenated JSON documents of several -z ...,json statistics."""
    dec, docs, i = json.JSONDecoder(), [], 0
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            return docs
        doc, i = dec.raw_decode(text, i)
        docs.append(doc)


def by_kind(docs):
    """{"rtt"|"unwanted"|"egress": document}"""
    out = {}
    for d in docs:
        k = "rtt" if "connections" in d else "unwanted" if "alerts" in d else "egress"
        out[k] = d
    return out


class Tshark:
    def __init__(self, workdir: pathlib.Path):
        self.work = workdir
        self.home = workdir / "home"
        self.config = self.home / ".config" / "wireshark"
        self.config.mkdir(parents=True)
        self.plugins = workdir / "plugins"
        system = pathlib.Path(system_plugin_dir())
        if system.is_dir():
            shutil.copytree(system, self.plugins / ws_abi(), symlinks=True,
                            ignore=lambda d, names: [n for n in names if n == "triage.so"])
        plugdir = self.plugins / ws_abi() / "epan"
        plugdir.mkdir(parents=True, exist_ok=True)
        so = BUILD / "triage.so"
        if not so.exists():
            raise RuntimeError(f"{so} not built: run cmake --build first")
        self.plugin = plugdir / "triage.so"
        shutil.copy(so, self.plugin)
        self.captures = workdir / "captures"
        self.captures.mkdir()
        self.root = os.geteuid() == 0
        if self.root:
            for p in [workdir, *workdir.rglob("*")]:
                os.chown(p, NOBODY, NOBODY)
        os.chmod(workdir, 0o755)
        # One run of all three JSON statistics per capture and configuration serves every test that
        # asks for one of them with the defaults (tests of a capture share a worker: see
        # pytest_collection_modifyitems). Each tshark start costs about half a second.
        self._all_json = {}
        self._config_generation = 0
        self._copies = {}  # source capture -> its copy in self.captures

    def capture(self, path) -> str:
        """A copy of the capture that the tshark user can read: one per source
        file, so that two files of the same name (in different folders) are two
        captures, not the first one twice."""
        path = pathlib.Path(path).resolve()
        if path.parent == self.captures.resolve():
            return str(path)  # written here already
        dst = self._copies.get(path)
        if dst is None:
            dst = self.captures / path.name
            n = 1
            while dst.exists():
                dst = self.captures / f"{path.stem}-{n}{path.suffix}"
                n += 1
            shutil.copy(path, dst)
            os.chmod(dst, 0o644)
            self._copies[path] = dst
        return str(dst)

    def write_config(self, name: str, text: str) -> pathlib.Path:
        p = self.config / name
        self._config_generation += 1
        p.write_text(text)
        if self.root:
            os.chown(p, NOBODY, NOBODY)
        return p

    def remove_config(self, name: str):
        self._config_generation += 1
        (self.config / name).unlink(missing_ok=True)

    def argv(self, args, program="tshark", extra_env=()):
        env = ["env", f"HOME={self.home}", f"WIRESHARK_PLUGIN_DIR={self.plugins}", "LC_ALL=C.UTF-8", *extra_env]
        if SANITIZER_PRELOAD:
            # tshark is not instrumented: the sanitizer runtime must come first.
            # strict_init_order: a global whose constructor reads a global of
            # another file fails every run, not only when the linker happens
            # to order them badly (an -flto build crashed on load so).
            env += [f"LD_PRELOAD={SANITIZER_PRELOAD}",
                    "ASAN_OPTIONS=detect_leaks=0:halt_on_error=1:exitcode=86:check_initialization_order=1:"
                    "strict_init_order=1",
                    "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1"]
        return unprivileged([*env, program, *args])

    def run(self, *args, check=True, timeout=300, env=()):
        """tshark with args; `env`: extra VAR=value settings (e.g. LC_ALL=de_DE.UTF-8)."""
        p = subprocess.run(self.argv([str(a) for a in args], extra_env=env), capture_output=True, text=True,
                           timeout=timeout, cwd=self.work)
        for marker in ("ERROR: AddressSanitizer", "runtime error:", "triage: internal error"):
            if marker in p.stderr:
                raise AssertionError(f"tshark {' '.join(map(str, args))}: {marker}\n{p.stderr}")
        if check and p.returncode != 0:
            raise AssertionError(f"tshark {' '.join(map(str, args))} exited {p.returncode}:\n{p.stderr}")
        return p

    def stat_json(self, stat, capture, filter=None, opts=()):
        if stat in ALL_KINDS and not filter and not opts:
            return copy.deepcopy(self.all_json(capture)[ALL_KINDS[stat]])
        z = f"{stat},json" + (f",{filter}" if filter else "")
        p = self.run("-r", self.capture(capture), "-q", *opts, "-z", z)
        return json.loads(p.stdout)

    def all_json(self, capture):
        """{"rtt"|"unwanted"|"egress": document} of one run of the three JSON statistics (cached)."""
        key = (str(capture), self._config_generation)
        if key not in self._all_json:
            p = self.run("-r", self.capture(capture), "-q", *ALL_JSON)
            self._all_json[key] = by_kind(json_documents(p.stdout))
        return self._all_json[key]

    def fields(self, capture, fields, display_filter=None, opts=(), occurrence="f"):
        """Rows of tshark's own fields (the independent oracle)."""
        args = ["-r", self.capture(capture), "-T", "fields", "-E", "separator=\t", "-E", f"occurrence={occurrence}"]
        if display_filter:
            args += ["-Y", display_filter]
        for f in fields:
            args += ["-e", f]
        p = self.run(*args, *opts)
        rows = []
        for line in p.stdout.splitlines():
            cols = line.split("\t")
            cols += [""] * (len(fields) - len(cols))
            rows.append(dict(zip(fields, cols)))
        return rows

    def count(self, capture, display_filter, opts=()):
        p = self.run("-r", self.capture(capture), "-Y", display_filter, "-T", "fields", "-e", "frame.number", *opts)
        return len(p.stdout.split())


def pytest_configure(config):
    config.addinivalue_line("markers", "gui: drives Wireshark (Qt) under Xvfb")
    config.addinivalue_line("markers", "no_sanitizer: not run with the ASan runtime preloaded (tshark hangs in "
                                       "-z help, -G plugins/defaultprefs and live capture; valgrind cannot share it)")
    config.addinivalue_line("markers", "plain_only: run in the plain passes (4.0, 4.4, 4.6) only: under ASan it "
                                       "would take code paths other tests already take there, at several times "
                                       "the cost (the suite's time budget)")


@pytest.hookimpl(tryfirst=True)  # before xdist's own, which reads the xdist_group marks
def pytest_collection_modifyitems(config, items):
    # The tests of one capture run on one worker, where Tshark.all_json's cache serves them all.
    for item in items:
        capture = getattr(item, "callspec", None) and item.callspec.params.get("capture")
        if isinstance(capture, str) and not item.get_closest_marker("xdist_group"):
            item.add_marker(pytest.mark.xdist_group(f"capture-{capture}"))
    if not SANITIZER_PRELOAD:
        return
    skip = pytest.mark.skip(reason="hangs or conflicts with an LD_PRELOADed ASan runtime (with or without Triage); "
                                   "covered by the plain pass")
    plain = pytest.mark.skip(reason="plain passes only: the sanitizer pass covers the same code paths through "
                                    "lighter cases")
    for item in items:
        if "no_sanitizer" in item.keywords:
            item.add_marker(skip)
        elif "plain_only" in item.keywords:
            item.add_marker(plain)


@pytest.fixture(scope="session")
def tshark():
    work = pathlib.Path(tempfile.mkdtemp(prefix="triage-test-"))
    try:
        yield Tshark(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def shared_capture(name):
    """A capture from ../shared/captures: fail under CI when missing, else skip."""
    p = CAPTURES / name
    if not p.exists():
        msg = f"capture {p} is missing (../shared/captures beside the project)"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    return p


def all_shared_captures():
    if not CAPTURES.is_dir():
        if os.environ.get("CI"):
            raise RuntimeError(f"{CAPTURES} is missing")
        return []
    return sorted(p.name for p in CAPTURES.iterdir() if re.search(r"\.(pcap|pcapng|gz)$", p.name))


BROKEN = {"tcpdump_empty.pcap", "ndpi_fuzz-2021-10-13.pcap"}


def readable(*paths):
    """Folders and files the unprivileged tshark may open (pytest's own are private to root)."""
    for p in paths:
        os.chmod(p, 0o755 if pathlib.Path(p).is_dir() else 0o644)


def cut_ring(folder, source, packets, name="cut.pcap"):
    """`source` cut every `packets` packets (editcap -c) into folder/ring, as a capture ring."""
    ring = pathlib.Path(folder) / "ring"
    ring.mkdir()
    subprocess.run(["editcap", "-c", str(packets), str(source), str(ring / name)], check=True)
    readable(folder, ring, *ring.iterdir())
    return ring


def batch_env(tshark, **extra):
    """The environment for tools/triage-batch: its tshark is the tests' (unprivileged, the fresh plugin)."""
    return dict(os.environ, TRIAGE_TSHARK=" ".join(tshark.argv([])), **extra)
