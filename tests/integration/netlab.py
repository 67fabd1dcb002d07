"""A two-host network made of real kernel TCP stacks, for truth that shares no
logic with Triage: a client and a server network namespace joined by two TUN
devices, with a userspace relay between them that delays (and can drop)
packets by rules the test sets. The relay logs when it forwarded what.

Addresses are TEST-NET / documentation ranges, only inside the namespaces the
lab makes; everything is removed on close (namespaces, relay thread, capture
process by PID).
"""

import fcntl
import heapq
import os
import select
import signal
import struct
import subprocess
import threading
import time
import uuid
from ipaddress import ip_address

TUNSETIFF = 0x400454CA
IFF_TUN, IFF_NO_PI = 0x0001, 0x1000

CLIENT4, SERVER4, DEAD4 = "192.0.2.1", "198.51.100.1", "198.51.100.99"
CLIENT6, SERVER6 = "2001:db8:1::1", "2001:db8:2::1"


def connection_key(server, server_port, client_port):
    """What tells the lab's connections apart, for matching a client's own results with the records of a
    report: the server's address (in any textual form), its port and the client's port. The client port alone
    does not: the kernel picks each destination's client ports from an offset of its own, so connections to
    two servers or two ports may share one."""
    return ip_address(server), server_port, client_port


def sh(*argv, check=True):
    return subprocess.run(argv, check=check, capture_output=True, text=True, timeout=30)


def open_tun(name):
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def tcp_of(pkt):
    """(version, src, dst, sport, dport, flags) of an IP packet carrying TCP, else None."""
    if not pkt:
        return None
    v = pkt[0] >> 4
    if v == 4 and len(pkt) >= 20 and pkt[9] == 6:
        ihl = (pkt[0] & 15) * 4
        src, dst = pkt[12:16], pkt[16:20]
    elif v == 6 and len(pkt) >= 40 and pkt[6] == 6:
        ihl, src, dst = 40, pkt[8:24], pkt[24:40]
    else:
        return None
    if len(pkt) < ihl + 14:
        return None
    sport, dport = struct.unpack_from("!HH", pkt, ihl)
    return v, bytes(src), bytes(dst), sport, dport, pkt[ihl + 13]


class Lab:
    """with Lab(delay_to_server=0.03, delay_to_client=0.02) as lab: ..."""

    def __init__(self, delay_to_server, delay_to_client):
        tag = uuid.uuid4().hex[:6]
        self.client_ns, self.server_ns = f"triage-c-{tag}", f"triage-s-{tag}"
        self.tun_c, self.tun_s = f"trc{tag}", f"trs{tag}"
        self.delay = {"c2s": delay_to_server, "s2c": delay_to_client}
        self.drop_rules = []  # callables (direction, tcp tuple) -> bool
        self.log = []         # (time, direction, tcp tuple, dropped)
        self._stop = threading.Event()
        self._queue, self._cv = [], threading.Condition()
        self._threads, self._procs = [], []

    # ---- set-up / tear-down --------------------------------------------------
    def __enter__(self):
        try:
            self._setup()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()

    def _setup(self):
        self.fd_c, self.fd_s = open_tun(self.tun_c), open_tun(self.tun_s)
        for ns, tun, mine4, peer4, mine6, peer6 in (
                (self.client_ns, self.tun_c, CLIENT4, "198.51.100.0/24", CLIENT6, "2001:db8:2::/64"),
                (self.server_ns, self.tun_s, SERVER4, "192.0.2.0/24", SERVER6, "2001:db8:1::/64")):
            sh("ip", "netns", "add", ns)
            sh("ip", "link", "set", tun, "netns", ns)
            ex = ("ip", "netns", "exec", ns)
            sh(*ex, "ip", "link", "set", "lo", "up")
            sh(*ex, "sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=0")
            sh(*ex, "ip", "addr", "add", mine4 + "/32", "dev", tun)
            sh(*ex, "ip", "-6", "addr", "add", mine6 + "/128", "dev", tun, "nodad")
            sh(*ex, "ip", "link", "set", tun, "up")
            sh(*ex, "ip", "route", "add", peer4, "dev", tun)
            sh(*ex, "ip", "-6", "route", "add", peer6, "dev", tun)
        for fn in (self._reader(self.fd_c, "c2s"), self._reader(self.fd_s, "s2c"), self._sender):
            t = threading.Thread(target=fn, daemon=True)
            t.start()
            self._threads.append(t)

    def close(self):
        self._stop.set()
        with self._cv:
            self._cv.notify_all()
        for t in self._threads:
            t.join(timeout=5)
        for p in self._procs:
            if p.poll() is None:
                os.kill(p.pid, signal.SIGTERM)
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.kill(p.pid, signal.SIGKILL)
                    p.wait(timeout=5)
        for fd in ("fd_c", "fd_s"):
            if hasattr(self, fd):
                os.close(getattr(self, fd))
        for ns in (self.client_ns, self.server_ns):
            sh("ip", "netns", "del", ns, check=False)

    # ---- the relay -----------------------------------------------------------
    def _reader(self, fd, direction):
        def run():
            while not self._stop.is_set():
                r, _, _ = select.select([fd], [], [], 0.1)
                if not r:
                    continue
                pkt = os.read(fd, 65536)
                now = time.monotonic()
                t = tcp_of(pkt)
                dropped = t is not None and any(rule(direction, t) for rule in self.drop_rules)
                self.log.append((time.time(), direction, t, dropped))
                if dropped:
                    continue
                with self._cv:
                    heapq.heappush(self._queue, (now + self.delay[direction], id(pkt), direction, pkt))
                    self._cv.notify()
        return run

    def _sender(self):
        while not self._stop.is_set():
            with self._cv:
                while not self._queue and not self._stop.is_set():
                    self._cv.wait(0.1)
                if self._stop.is_set():
                    return
                due, _, direction, pkt = self._queue[0]
                wait = due - time.monotonic()
                if wait > 0:
                    self._cv.wait(wait)
                    continue
                heapq.heappop(self._queue)
            os.write(self.fd_s if direction == "c2s" else self.fd_c, pkt)

    # ---- programs in the namespaces -------------------------------------------
    def start(self, ns, argv, **kw):
        """A process in a namespace, stopped (by PID) on close."""
        p = subprocess.Popen(["ip", "netns", "exec", ns, *argv], **kw)
        self._procs.append(p)
        return p

    def run(self, ns, argv, timeout=60):
        return subprocess.run(["ip", "netns", "exec", ns, *argv], capture_output=True, text=True, timeout=timeout,
                              check=True)

    def capture(self, ns, iface, path):
        """dumpcap on an interface of a namespace; returns once it captures."""
        p = self.start(ns, ["dumpcap", "-q", "-i", iface, "-w", str(path)], stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 15
        while time.time() < deadline:
            line = p.stderr.readline()
            # "Capturing on …" comes before dumpcap opens the interface; "File: …"
            # after it has (and created the file): only then is nothing missed.
            if line.startswith("File:"):
                return p
            if not line and p.poll() is not None:
                break
        raise RuntimeError(f"dumpcap did not start: {p.stderr.read() if p.poll() is not None else ''}")

    @staticmethod
    def stop(p):
        os.kill(p.pid, signal.SIGINT)
        p.wait(timeout=15)
