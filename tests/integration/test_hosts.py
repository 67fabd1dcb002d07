"""triage-batch --hosts: the jobs of a ring on other machines through GNU
parallel over ssh (sshhosts.SshHosts: sshd instances on loopback, each with
its own user and key). The answer must equal the local run; a dead host's
jobs go elsewhere; with no host alive every capture is named as missing."""

import os
import pathlib
import shutil
import subprocess
import tempfile
import time

import pytest

from conftest import EXAMPLE, batch_env, cut_ring, json_documents
from sshhosts import SshHosts

BATCH = pathlib.Path(__file__).resolve().parents[2] / "tools" / "triage-batch"

pytestmark = [pytest.mark.no_sanitizer, pytest.mark.xdist_group("sshd")]


def need(*tools):
    missing = [t for t in tools if not shutil.which(t) and not os.path.exists(f"/usr/sbin/{t}")]
    if os.geteuid() != 0:
        missing.append("root (to add the hosts' users)")
    if missing:
        msg = f"multi-host tests need {', '.join(missing)}"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)


@pytest.fixture(scope="module")
def lab(tshark):
    need("sshd", "ssh", "parallel", "rsync")
    work = pathlib.Path(tempfile.mkdtemp(prefix="hosts-", dir=tshark.work))
    ring = cut_ring(work, EXAMPLE, 60)
    hosts = SshHosts(work, 2)
    try:
        local = subprocess.run([str(BATCH), "-j", "2", str(ring)], capture_output=True, text=True, timeout=300,
                               env=batch_env(tshark))
        assert local.returncode == 0, local.stderr
        yield hosts, ring, local.stdout, tshark
    finally:
        hosts.close()
        shutil.rmtree(work, ignore_errors=True)


def run_on(lab, logins, wait=None):
    hosts, ring, _, tshark = lab
    hostfile = hosts.work / "hosts.txt"
    hostfile.write_text("".join(line + "\n" for line in logins))
    env = dict(os.environ, TRIAGE_REMOTE_TSHARK=f"env WIRESHARK_PLUGIN_DIR={tshark.plugins} tshark")
    proc = subprocess.Popen([str(BATCH), "--hosts", str(hostfile), str(ring)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    if wait:
        wait()
    out, err = proc.communicate(timeout=600)
    return proc.returncode, out, err


def test_two_hosts_give_the_local_answer(lab):
    hosts, ring, local, _ = lab
    rc, out, err = run_on(lab, [hosts.login(0), hosts.login(1)])
    assert rc == 0, err
    assert json_documents(out) == json_documents(local)
    assert f"[{len(list(ring.iterdir()))}/" in err, "progress per file"
    for user in hosts.users:  # GNU parallel --cleanup leaves nothing behind
        home = pathlib.Path(f"/home/{user}")
        assert not [p for p in home.rglob("*.pcapng*") if p.is_file()], user


def test_dead_host_jobs_are_retried_elsewhere(lab):
    hosts, _, local, _ = lab
    rc, out, err = run_on(lab, [hosts.dead_login(), hosts.login(1)])
    assert rc == 0, err
    assert json_documents(out) == json_documents(local)


def test_host_dying_mid_run(lab):
    hosts, _, local, _ = lab

    def kill_first_host_once_busy():
        log = hosts.work / "sshd_0.log"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and "Accepted publickey" not in log.read_text():
            time.sleep(0.05)
        hosts.stop(0)  # no new logins, and its running jobs die with the user's processes
        subprocess.run(["pkill", "-KILL", "-u", hosts.users[0]], capture_output=True)

    try:
        rc, out, err = run_on(lab, [hosts.login(0, jobs=2), hosts.login(1)], wait=kill_first_host_once_busy)
    finally:
        hosts.restart(0)
    assert rc == 0, err
    assert json_documents(out) == json_documents(local)


def test_no_host_alive_names_every_capture(lab):
    hosts, ring, _, _ = lab
    rc, out, err = run_on(lab, [hosts.dead_login(), hosts.dead_login()])
    assert rc != 0
    names = sorted(p.name for p in ring.iterdir())
    for n in names:
        assert n in err
    assert "no capture could be read" in err or not out.strip()
