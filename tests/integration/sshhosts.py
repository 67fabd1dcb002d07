"""Test hosts for multi-machine runs: sshd instances on loopback ports, each
with its own unprivileged user, host key and client key (authorised for that
user only). Everything is removed by PID and name when the test ends."""

import os
import pathlib
import pwd
import shutil
import socket
import subprocess
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SshHosts:
    def __init__(self, work: pathlib.Path, count: int):
        self.work, self.procs, self.users, self.ports, self.hostkeys, self.keys = work, [], [], [], [], []
        os.makedirs("/run/sshd", exist_ok=True)  # sshd's privilege separation folder
        for i in range(count):
            user = f"triage-h{i + 1}-{os.getpid() % 10000}"
            subprocess.run(["useradd", "-m", "-s", "/bin/bash", user], check=True)
            subprocess.run(["usermod", "-p", "*", user], check=True)  # no password, not locked
            self.users.append(user)
            home = pathlib.Path(pwd.getpwnam(user).pw_dir)
            key = work / f"client_key_{i}"
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
            self.keys.append(key)
            ssh = home / ".ssh"
            ssh.mkdir(mode=0o700)
            (ssh / "authorized_keys").write_text((work / f"client_key_{i}.pub").read_text())
            subprocess.run(["chown", "-R", f"{user}:{user}", str(ssh)], check=True)
            hostkey = work / f"host_key_{i}"
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(hostkey)], check=True)
            port = free_port()
            self.ports.append(port)
            self.hostkeys.append(hostkey)
            self.procs.append(self._sshd(i))
        for port in self.ports:
            self._wait(port)

    def _sshd(self, i):
        sshd = shutil.which("sshd") or "/usr/sbin/sshd"
        return subprocess.Popen(
            [sshd, "-D", "-e", "-f", "/dev/null", "-p", str(self.ports[i]), "-o", "ListenAddress=127.0.0.1",
             "-o", f"HostKey={self.hostkeys[i]}", "-o", "AuthorizedKeysFile=.ssh/authorized_keys",
             "-o", "PidFile=none", "-o", "UsePAM=no", "-o", "PasswordAuthentication=no",
             "-o", "KbdInteractiveAuthentication=no", "-o", "MaxStartups=50", "-o", "MaxSessions=50"],
            stdout=subprocess.DEVNULL, stderr=open(self.work / f"sshd_{i}.log", "w"))

    @staticmethod
    def _wait(port):  # bounded wait for sshd to listen
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"sshd on port {port} did not start")
                time.sleep(0.1)

    def restart(self, i):
        self.stop(i)
        self.procs[i] = self._sshd(i)
        self._wait(self.ports[i])

    def ssh(self, port, key):
        return (f"ssh -p {port} -i {key} -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null "
                f"-o BatchMode=yes -o LogLevel=ERROR -o ConnectTimeout=5")

    def login(self, i, jobs=1):
        return f"{jobs}/{self.ssh(self.ports[i], self.keys[i])} {self.users[i]}@127.0.0.1"

    def dead_login(self, jobs=1):
        return f"{jobs}/{self.ssh(free_port(), self.keys[0])} nobody@127.0.0.1"  # nothing listens there

    def stop(self, i):
        p = self.procs[i]
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def close(self):
        for i in range(len(self.procs)):
            self.stop(i)
        for user in self.users:
            subprocess.run(["pkill", "-KILL", "-u", user], capture_output=True)
            subprocess.run(["userdel", "-r", user], capture_output=True)
