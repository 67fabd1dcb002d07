"""Handshake RTT against real kernel TCP stacks (netlab.Lab): traffic between
two network namespaces through a relay with configured delays, captured with
dumpcap on the client's interface. Truth comes from construction (the
delays, the relay's drop rules) and the client's own timings, never from
Triage's logic."""

import json
import os
import shutil
import subprocess
import textwrap
import time

import pytest

from netlab import CLIENT6, DEAD4, SERVER4, SERVER6, Lab, connection_key

pytestmark = [pytest.mark.no_sanitizer, pytest.mark.xdist_group("netns")]

TO_SERVER, TO_CLIENT = 0.030, 0.020  # relay delays, seconds
JITTER = 0.015                         # what the Python relay may add
MS = 1e3

SERVER = textwrap.dedent("""
    import socket, sys, threading
    def serve(port):
        s = socket.socket(socket.AF_INET6)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        s.bind(("::", port))
        s.listen(64)
        while True:
            c, _ = s.accept()
            # Wait for the client to reset the connection: a FIN of ours racing
            # its RST would make the port-reuse scenario depend on timing.
            try:
                c.recv(1)
            except OSError:
                pass
            c.close()
    for p in (8080, 8081):  # one thread per port, one connection at a time
        threading.Thread(target=serve, args=(p,), daemon=True).start()
    print("ready", flush=True)
    sys.stdin.read()
""")

CLIENT = textwrap.dedent("""
    import json, socket, struct, sys, time
    out = []
    for family, host, port, timeout, sport in json.loads(sys.argv[1]):
        s = socket.socket(socket.AF_INET6 if family == 6 else socket.AF_INET)
        s.settimeout(timeout)
        if sport:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("", sport))
        t0 = time.monotonic()
        try:
            s.connect((host, port))
            result = "connected"
        except ConnectionRefusedError:
            result = "refused"
        except (socket.timeout, TimeoutError):
            result = "timeout"
        took = time.monotonic() - t0
        out.append({"host": host, "port": port, "sport": s.getsockname()[1], "result": result, "seconds": took})
        # Close with RST (no TIME_WAIT), so that a source port can be reused at once.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
        time.sleep(0.05)
    print(json.dumps(out))
""")


def can_make_namespaces():
    return os.geteuid() == 0 and shutil.which("ip") and os.path.exists("/dev/net/tun") and shutil.which("dumpcap")


@pytest.fixture(scope="module")
def run(tmp_path_factory, tshark):
    """Runs the scenario once: (client results, Triage's JSON, relay log)."""
    if not can_make_namespaces():
        msg = "needs root, iproute2, /dev/net/tun and dumpcap (run ./run-tests.sh as root)"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    work = tmp_path_factory.mktemp("netlab")
    pcap = work / "client-side.pcapng"
    plan = [(4, SERVER4, 8080, 5, 0)] * 5 + [(6, SERVER6, 8080, 5, 0)] * 3 + [
        (4, SERVER4, 9, 5, 0),          # closed port: refused
        (4, DEAD4, 80, 1.5, 0),         # nobody there: unanswered (the kernel retries the SYN at 1 s)
        (4, SERVER4, 8081, 5, 0),       # first SYN dropped by the relay: retried, then completed
        (4, SERVER4, 8080, 5, 40001),   # the same source port twice: two handshakes
        (4, SERVER4, 8080, 5, 40001),
    ]
    dropped = []

    def drop_first_syn_to_8081(direction, t):
        _, _, _, sport, dport, flags = t
        if direction == "c2s" and dport == 8081 and flags & 0x12 == 0x02 and not dropped:
            dropped.append(sport)
            return True
        return False

    with Lab(TO_SERVER, TO_CLIENT) as lab:
        lab.drop_rules.append(drop_first_syn_to_8081)
        server = lab.start(lab.server_ns, ["python3", "-c", SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                           text=True)
        assert server.stdout.readline().strip() == "ready"
        cap = lab.capture(lab.client_ns, lab.tun_c, pcap)
        client = lab.run(lab.client_ns, ["python3", "-c", CLIENT, json.dumps(plan)], timeout=60)
        time.sleep(0.3)
        lab.stop(cap)
        results = json.loads(client.stdout)
        log = list(lab.log)
    doc = tshark.stat_json("triage_rtt", pcap)
    return results, doc, log


def conns(doc, **match):
    return [c for c in doc["connections"] if all(c[k] == v for k, v in match.items())]


def test_every_handshake_is_one_record(run):
    results, doc, _ = run
    assert len(doc["connections"]) == len(results)
    s = doc["summary"]
    assert s["completed"] == sum(r["result"] == "connected" for r in results) == 11
    assert s["refused"] == sum(r["result"] == "refused" for r in results) == 1
    assert s["unanswered"] == sum(r["result"] == "timeout" for r in results) == 1


def test_completed_legs_equal_the_configured_delays(run):
    results, doc, _ = run
    for c in conns(doc, outcome="completed"):
        assert TO_SERVER + TO_CLIENT <= c["server_leg_ms"] / MS <= TO_SERVER + TO_CLIENT + JITTER, c
        assert 0 <= c["client_leg_ms"] / MS < 0.005, c
        assert c["network_leg"] == "server_leg"
    assert doc["rtt_ms"]["count"] == 11
    assert TO_SERVER + TO_CLIENT <= doc["rtt_ms"]["p50"] / MS <= TO_SERVER + TO_CLIENT + JITTER


def test_connect_time_equals_what_the_client_measured(run):
    results, doc, _ = run
    by_key = {}  # a list each: the port-reuse scenario makes two connections with one key
    for c in conns(doc, outcome="completed"):
        by_key.setdefault(connection_key(c["server"], c["server_port"], c["client_port"]), []).append(c)
    for r in results:
        if r["result"] != "connected":
            continue
        c = by_key[connection_key(r["host"], r["port"], r["sport"])].pop(0)
        # The client's connect() spans the wire's SYN .. ACK, plus its own scheduling.
        assert -0.001 <= r["seconds"] - c["connect_ms"] / MS < JITTER, (c, r)


def test_ipv6_handshakes(run):
    _, doc, _ = run
    v6 = conns(doc, server=SERVER6)
    assert len(v6) == 3 and all(c["outcome"] == "completed" and c["client"] == CLIENT6 for c in v6)
    assert len(conns(doc, server=SERVER4, server_port=8080)) == 7


def test_refused_and_unanswered(run):
    _, doc, log = run
    (refused,) = conns(doc, server_port=9)
    assert refused["outcome"] == "refused" and refused["rtt_ms"] is None
    (dead,) = conns(doc, server=DEAD4)
    assert dead["outcome"] == "unanswered" and dead["syn_count"] >= 2 and dead["rtt_ms"] is None
    syns_to_dead = [e for e in log if e[2] and e[2][4] == 80 and e[1] == "c2s"]
    assert dead["syn_count"] == len(syns_to_dead)


def test_retransmitted_syn_measures_from_the_last_syn(run):
    results, doc, log = run
    (c,) = conns(doc, server_port=8081)
    assert c["outcome"] == "completed" and c["syn_count"] == 2 and c["retried"]
    assert TO_SERVER + TO_CLIENT <= c["server_leg_ms"] / MS <= TO_SERVER + TO_CLIENT + JITTER
    (r,) = [r for r in results if r["port"] == 8081]
    assert c["connect_ms"] / MS > 0.9 and -0.001 <= r["seconds"] - c["connect_ms"] / MS < JITTER
    assert doc["summary"]["syn_retransmissions"] >= 2  # this one and the unanswered one's


def test_source_port_reuse_gives_two_handshakes(run):
    _, doc, _ = run
    reused = conns(doc, client_port=40001)
    assert len(reused) == 2 and all(c["outcome"] == "completed" for c in reused)
    assert reused[0]["first_syn_frame"] != reused[1]["first_syn_frame"]
