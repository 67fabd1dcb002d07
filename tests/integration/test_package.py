"""The Debian package (`cmake --build build --target deb`): metadata, contents, and a real dpkg -i.

Installing needs root (as in CI); whatever Triage plugin the system folder held before
is put back afterwards.
"""

import json
import os
import pathlib
import shutil
import subprocess
import tempfile

import pytest

from conftest import BUILD, EXAMPLE, NOBODY, system_plugin_dir, unprivileged

pytestmark = [pytest.mark.no_sanitizer, pytest.mark.xdist_group("package")]  # the plain build, packaged once

PACKAGE = "wireshark-triage"


def sh(*argv, check=True, **kw):
    p = subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=600, **kw)
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, argv))} exited {p.returncode}:\n{p.stdout}\n{p.stderr}")
    return p


def project_version():
    for line in (BUILD / "CMakeCache.txt").read_text().splitlines():
        if line.startswith("CMAKE_PROJECT_VERSION:"):
            return line.split("=", 1)[1]
    raise AssertionError("no CMAKE_PROJECT_VERSION in the build cache")


def libwireshark_package():
    so = sh("sh", "-c", "ldconfig -p | awk '/libwireshark\\.so\\.[0-9]+ / {print $NF; exit}'").stdout.strip()
    owner = sh("dpkg-query", "-S", os.path.realpath(so)).stdout
    return owner.split(":")[0]


@pytest.fixture(scope="module")
def deb():
    if not shutil.which("dpkg-deb"):
        pytest.skip("not a Debian system")
    sh("cmake", "--build", BUILD, "--target", "deb")
    debs = sorted((BUILD / "package").glob(f"{PACKAGE}_*.deb"), key=lambda p: p.stat().st_mtime)
    assert debs, "cpack wrote no package"
    return debs[-1]


def test_metadata_names_the_wireshark_abi(deb):
    fields = sh("dpkg-deb", "-f", deb).stdout
    meta = dict(l.split(": ", 1) for l in fields.splitlines() if ": " in l and not l.startswith(" "))
    assert meta["Package"] == PACKAGE
    assert meta["Version"] == project_version()
    assert meta["Architecture"] == sh("dpkg", "--print-architecture").stdout.strip()
    ws = sh("tshark", "--version").stdout.split()[2]  # "TShark (Wireshark) 4.0.17 ..."
    major, minor = ws.split(".")[:2]
    lib = libwireshark_package()
    deps = [d.strip() for d in meta["Depends"].split(",")]
    assert f"{lib} (>= {major}.{minor})" in deps
    assert f"{lib} (<< {major}.{int(minor) + 1}~)" in deps
    assert "python3" in deps
    assert any(d.startswith("libc6 ") for d in deps), "shared-library dependencies (dpkg-shlibdeps) missing"


def test_contents(deb):
    listing = sh("dpkg-deb", "-c", deb).stdout
    paths = {l.split()[-1].lstrip(".") for l in listing.splitlines()}
    plugin = f"{system_plugin_dir()}/epan/triage.so"
    assert plugin in paths
    for tool in ("triage-report", "triage-merge", "triage-batch"):
        assert f"/usr/bin/{tool}" in paths
    assert f"/usr/share/doc/{PACKAGE}/README.md" in paths
    # stripped: no debug sections in the packaged plugin
    with tempfile.TemporaryDirectory() as d:
        sh("dpkg-deb", "-x", deb, d)
        sections = sh("readelf", "-S", d + plugin).stdout
        assert ".debug_info" not in sections


def as_nobody(argv, home):
    return unprivileged(["env", f"HOME={home}", *argv])


@pytest.mark.skipif(os.geteuid() != 0, reason="dpkg -i needs root (CI runs as root)")
def test_dpkg_install_then_tshark_uses_it(deb, tshark, tmp_path):
    plugin = pathlib.Path(system_plugin_dir()) / "epan" / "triage.so"
    backup = tmp_path / "previous-triage.so"
    had_package = sh("dpkg-query", "-W", "-f=${Status}", PACKAGE, check=False).stdout.startswith("install ok")
    if had_package:
        pytest.skip(f"{PACKAGE} is installed on this machine: dpkg -r {PACKAGE} first (the test installs and removes it)")
    if plugin.exists():
        shutil.copy2(plugin, backup)
    home = tmp_path / "home"
    home.mkdir()
    os.chmod(tmp_path, 0o755)
    os.chown(home, NOBODY, NOBODY)
    capture = tshark.capture(EXAMPLE)
    try:
        sh("dpkg", "-i", deb, env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
        assert str(plugin) in sh("dpkg", "-L", PACKAGE).stdout.split()
        # An ordinary user's tshark, no WIRESHARK_PLUGIN_DIR: the system folder.
        listed = [l for l in sh(*as_nobody(["tshark", "-G", "plugins"], home)).stdout.splitlines()
                  if l.startswith("triage.so")]
        assert len(listed) == 1 and listed[0].split()[1] == project_version() and listed[0].split()[-1] == str(plugin)
        out = sh(*as_nobody(["tshark", "-r", capture, "-q", "-z", "triage_rtt,json"], home)).stdout
        assert json.loads(out)["summary"] == tshark.stat_json("triage_rtt", EXAMPLE)["summary"]
        # The packaged report tool, with the packaged plugin.
        report = tmp_path / "r.html"
        sh("/usr/bin/triage-report", "-q", "-o", report, capture)
        assert 'id="rtt-histogram"' in report.read_text()
        sh("dpkg", "-r", PACKAGE)
        assert not plugin.exists()
        assert not pathlib.Path("/usr/bin/triage-report").exists()
    finally:
        if sh("dpkg-query", "-W", "-f=${Status}", PACKAGE, check=False).stdout.startswith("install ok"):
            sh("dpkg", "-r", PACKAGE, check=False)
        if backup.exists():
            plugin.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(backup, plugin)
