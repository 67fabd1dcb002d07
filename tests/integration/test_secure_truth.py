"""TLS and QUIC handshake latency against real stacks (netlab.Lab): OpenSSL
through Python's ssl module and ngtcp2's client and server (gtlsclient,
gtlsserver; aioquic's where the release has no ngtcp2 tools, as Debian
unstable), between two network namespaces through a relay with configured
delays, captured on the client's interface. Truth comes from construction
(the delays, which server refuses what), from the client's own timing of
its handshake, and from tshark's tls.*/quic.* fields of the same capture;
never from Triage's logic."""

import importlib.util
import json
import os
import shutil
import subprocess
import textwrap
import time
from decimal import Decimal

import pytest

from netlab import CLIENT6, DEAD4, SERVER4, SERVER6, Lab, connection_key
from secure_frames import QUIC_FIELDS, TLS_FIELDS, quic_handshakes, tls_handshakes
from test_kernel_truth import can_make_namespaces
from test_secure_handshake import check_tls

pytestmark = [pytest.mark.no_sanitizer, pytest.mark.xdist_group("netns")]

TO_SERVER, TO_CLIENT = 0.030, 0.020  # relay delays, seconds
PATH_MS = (TO_SERVER + TO_CLIENT) * 1e3
JITTER_MS = 15                        # what the Python relay may add
PORTS = {"tls": 443, "hrr": 4432, "silent": 4433, "reset": 4434}

SERVER = textwrap.dedent("""
    import socket, ssl, struct, sys, threading
    cert, key = sys.argv[1], sys.argv[2]
    def context(p256_only=False):
        c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        c.load_cert_chain(cert, key)
        if p256_only:
            c.set_ecdh_curve("prime256v1")  # a client's X25519 key share gets a HelloRetryRequest
        return c
    def serve(port, mode):
        s = socket.socket(socket.AF_INET6)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        s.bind(("::", port))
        s.listen(16)
        ctx = context(mode == "hrr")
        while True:
            c, _ = s.accept()
            try:
                if mode == "silent":
                    while c.recv(65536):  # all of the ClientHello (one or more segments), until the client
                        pass              # gives up: closing with unread data would send a RST
                elif mode == "reset":
                    c.recv(4096)
                    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                else:
                    t = ctx.wrap_socket(c, server_side=True)
                    t.recv(1)          # until the client closes
                    c = t
            except (OSError, ssl.SSLError):
                pass
            c.close()
    for port, mode in json.loads(sys.argv[3]).items():
        threading.Thread(target=serve, args=(int(port), mode), daemon=True).start()
    print("ready", flush=True)
    sys.stdin.read()
""").replace("import socket,", "import json, socket,")

CLIENT = textwrap.dedent("""
    import json, socket, ssl, sys, time
    other_ca = sys.argv[2]
    out = []
    for family, host, port, mode in json.loads(sys.argv[1]):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        if mode.startswith("verify_fail"):
            ctx.load_verify_locations(other_ca)  # not the server's issuer: the client refuses it
        else:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        if mode in ("tls12", "verify_fail12"):
            ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        s = socket.socket(socket.AF_INET6 if family == 6 else socket.AF_INET)
        s.settimeout(1.5)
        s.connect((host, port))
        sport = s.getsockname()[1]
        t = ctx.wrap_socket(s, server_hostname="server.test", do_handshake_on_connect=False)
        t0 = time.monotonic()
        try:
            t.do_handshake()
            result = "completed"
        except (ssl.SSLError, socket.timeout, TimeoutError, ConnectionError, OSError) as e:
            result = type(e).__name__
        took = time.monotonic() - t0
        out.append({"host": host, "port": port, "sport": sport, "mode": mode, "result": result, "ms": took * 1e3,
                    "version": t.version() if result == "completed" else None})
        try:
            t.close()
        except OSError:
            pass
        time.sleep(0.05)
    print(json.dumps(out))
""")

TLS_PLAN = [(4, SERVER4, 443, "tls13")] * 3 + [(6, SERVER6, 443, "tls13"), (4, SERVER4, 443, "tls12"),
                                                 (4, SERVER4, 443, "tls12"), (4, SERVER4, 4432, "hrr"),
                                                 (4, SERVER4, 443, "verify_fail"), (4, SERVER4, 443, "verify_fail12"),
                                                 (4, SERVER4, 4433, "silent"), (4, SERVER4, 4434, "reset")]
DECODE = [arg for p in (4432, 4433, 4434) for arg in ("-d", f"tcp.port=={p},tls")]


def quic_stack():
    """ngtcp2's gtlsserver/gtlsclient where installed, else aioquic (Debian
    unstable has no ngtcp2 tools), else None."""
    if shutil.which("gtlsserver") and shutil.which("gtlsclient"):
        return "ngtcp2"
    return "aioquic" if importlib.util.find_spec("aioquic") else None


def need_lab(tool):
    if tool == "quic":
        if os.environ.get("TRIAGE_NO_QUIC_LAB"):
            pytest.skip(os.environ["TRIAGE_NO_QUIC_LAB"])  # said by test-chroot.sh: the release lacks the packages
        tool = "gtlsserver" if quic_stack() != "aioquic" else "python3"
    if not can_make_namespaces() or not shutil.which(tool):
        msg = f"needs root, iproute2, /dev/net/tun, dumpcap and {tool} (run ./run-tests.sh as root)"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)


def certificates(work):
    for name in ("server", "other"):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-keyout", str(work / f"{name}.key"), "-out", str(work / f"{name}.pem"), "-days", "2",
                        "-subj", f"/CN={name}.test", "-addext", f"subjectAltName=DNS:{name}.test"],
                       check=True, capture_output=True, timeout=60)
    for f in work.iterdir():
        os.chmod(f, 0o644)


@pytest.fixture(scope="module")
def tls_run(tmp_path_factory, tshark):
    need_lab("openssl")
    work = tmp_path_factory.mktemp("tlslab")
    os.chmod(work, 0o755)
    certificates(work)
    pcap = work / "tls-client-side.pcapng"
    modes = {str(PORTS[m]): m for m in ("tls", "hrr", "silent", "reset")}
    with Lab(TO_SERVER, TO_CLIENT) as lab:
        server = lab.start(lab.server_ns, ["python3", "-c", SERVER, str(work / "server.pem"), str(work / "server.key"),
                                           json.dumps(modes)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert server.stdout.readline().strip() == "ready"
        cap = lab.capture(lab.client_ns, lab.tun_c, pcap)
        client = lab.run(lab.client_ns, ["python3", "-c", CLIENT, json.dumps(TLS_PLAN), str(work / "other.pem")],
                         timeout=120)
        time.sleep(0.3)
        lab.stop(cap)
    os.chmod(pcap, 0o644)
    doc = tshark.stat_json("triage_rtt", pcap, opts=DECODE)
    rows = tshark.fields(pcap, TLS_FIELDS, "tcp", opts=DECODE, occurrence="a")
    return json.loads(client.stdout), doc, rows


def by_connection(doc, results):
    """Each client result with its record (netlab.connection_key)."""
    conns = {connection_key(c["server"], c["server_port"], c["client_port"]): c for c in doc["tls"]["connections"]}
    return [(r, conns.get(connection_key(r["host"], r["port"], r["sport"]))) for r in results]


def shown(r, c):
    """A failed check's message: which connection, and what its record says, short enough that pytest prints it
    whole (a repr of both dicts is cut after 240 characters, before the record's addresses)."""
    keys = ("server", "server_port", "client_port", "stream", "outcome", "client_hello_frame", "server_hello_frame",
            "finished_frame", "server_leg_ms", "handshake_ms")
    return f"client: {json.dumps(r)}; record: {json.dumps({k: c.get(k) for k in keys})}"


def test_tls_every_handshake_is_one_record(tls_run):
    results, doc, _ = tls_run
    assert doc["tls"]["summary"]["connections"] == len(results)
    assert all(c is not None for _, c in by_connection(doc, results))


def test_tls_outcomes_by_construction(tls_run):
    results, doc, _ = tls_run
    expected = {"tls13": "completed", "tls12": "completed", "hrr": "completed", "verify_fail": "alert",
                "verify_fail12": "alert", "silent": "no_server_hello", "reset": "reset"}
    for r, c in by_connection(doc, results):
        assert c["outcome"] == expected[r["mode"]], shown(r, c)
        if r["result"] == "completed":
            assert c["version"] == r["version"].replace("v", " "), shown(r, c)  # "TLSv1.3" -> "TLS 1.3"
            assert c["sni"] == "server.test"
    hrr = [c for r, c in by_connection(doc, results) if r["mode"] == "hrr"]
    assert hrr and all(c["retried"] and c["client_hellos"] == 2 for c in hrr)
    assert doc["tls"]["summary"]["retried_handshakes"] == len(hrr)
    assert doc["tls"]["summary"]["versions"] == {"TLS 1.2": 3, "TLS 1.3": 6}


def test_tls_legs_against_the_path_and_the_clients_clock(tls_run):
    results, doc, _ = tls_run
    for r, c in by_connection(doc, results):
        if c["server_leg_ms"] is not None:
            assert PATH_MS <= c["server_leg_ms"] <= PATH_MS + JITTER_MS + 20, shown(r, c)
        if r["result"] == "completed":
            # The client's own clock around do_handshake() ends when it sent its
            # Finished (TLS 1.3: one path round trip, two after a
            # HelloRetryRequest), or, TLS 1.2, one round trip later, when the
            # server's Finished came back.
            after_finished = PATH_MS if r["mode"] == "tls12" else 0
            assert c["handshake_ms"] <= r["ms"] - after_finished + 1, shown(r, c)
            assert c["handshake_ms"] >= r["ms"] - after_finished - (5 + (JITTER_MS if after_finished else 0)), shown(r, c)
            flights = 2 if r["mode"] == "hrr" else 1
            assert c["handshake_ms"] >= flights * PATH_MS, shown(r, c)


def test_tls_exact_against_tshark_fields(tls_run):
    _, doc, rows = tls_run
    truth = tls_handshakes(rows)
    assert len(truth) == len(doc["tls"]["connections"])
    assert check_tls(doc, truth) >= 7


# ---- QUIC ---------------------------------------------------------------------------
QUIC_PLAN = [  # (name, server index, host, extra client options)
    ("plain", 0, SERVER4, []), ("plain", 0, SERVER4, []), ("ipv6", 0, SERVER6, []),
    ("retry", 1, SERVER4, []), ("vn", 0, SERVER4, ["-v", "0x1a2a3a4a"]), ("dead", 0, DEAD4, ["--timeout=1s"])]


# aioquic's server and client (the same plan: Retry on port 4443, a client
# that offers only an unknown version, a dead address).
AIOQUIC_SERVER = textwrap.dedent("""
    import asyncio, sys
    from aioquic.asyncio import serve
    from aioquic.quic.configuration import QuicConfiguration
    cert, key, addr4, addr6 = sys.argv[1:5]
    async def main():
        for host, port, retry in ((addr4, 443, False), (addr6, 443, False), (addr4, 4443, True)):
            c = QuicConfiguration(is_client=False, alpn_protocols=["hq-interop"])
            c.load_cert_chain(cert, key)
            await serve(host, port, configuration=c, retry=retry)
        print("ready", flush=True)
        await asyncio.Event().wait()
    asyncio.run(main())
""")

AIOQUIC_CLIENT = textwrap.dedent("""
    import asyncio, ssl, sys
    from aioquic.asyncio import connect
    from aioquic.quic.configuration import QuicConfiguration
    host, port, name = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    c = QuicConfiguration(is_client=True, alpn_protocols=["hq-interop"], verify_mode=ssl.CERT_NONE,
                          server_name="server.test")
    if name == "vn":
        c.supported_versions = [0x1a2a3a4a]  # no version in common: the server's Version Negotiation ends it
    async def main():
        async with connect(host, port, configuration=c) as client:
            await client.ping()
    try:
        asyncio.run(asyncio.wait_for(main(), 1.0 if name == "dead" else 3.0))
    except Exception as e:
        print(type(e).__name__, e, file=sys.stderr)
        sys.exit(1)
""")


@pytest.fixture(scope="module")
def quic_run(tmp_path_factory, tshark):
    need_lab("quic")
    stack = quic_stack()
    work = tmp_path_factory.mktemp("quiclab")
    os.chmod(work, 0o755)
    certificates(work)
    (work / "index.html").write_text("hello\n")
    pcap = work / "quic-client-side.pcapng"
    ran = []
    with Lab(TO_SERVER, TO_CLIENT) as lab:
        if stack == "ngtcp2":
            # (gtlsserver binds one address family: one server per address.)
            for addr, port, extra in ((SERVER4, 443, []), (SERVER6, 443, []), (SERVER4, 4443, ["-V"])):
                lab.start(lab.server_ns, ["gtlsserver", "-q", *extra, "-d", str(work), addr, str(port),
                                          str(work / "server.key"), str(work / "server.pem")],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.5)
        else:
            servers = lab.start(lab.server_ns, ["python3", "-c", AIOQUIC_SERVER, str(work / "server.pem"),
                                                str(work / "server.key"), SERVER4, SERVER6],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            assert servers.stdout.readline().strip() == "ready"
        cap = lab.capture(lab.client_ns, lab.tun_c, pcap)
        for name, server, host, extra in QUIC_PLAN:
            port = (443, 4443)[server]
            h = f"[{host}]" if ":" in host else host
            if stack == "ngtcp2":
                client = ["gtlsclient", "-q", "--exit-on-all-streams-close", "--handshake-timeout=2s", *extra, host,
                          str(port), f"https://{h}:{port}/index.html"]
            else:
                client = ["python3", "-c", AIOQUIC_CLIENT, host, str(port), name]
            p = subprocess.run(["ip", "netns", "exec", lab.client_ns, "timeout", "10", *client],
                               capture_output=True, text=True, timeout=30)
            ran.append((name, host, port, p.returncode, p.stderr[-300:]))
            time.sleep(0.1)
        time.sleep(0.3)
        lab.stop(cap)
    os.chmod(pcap, 0o644)
    opts = ["-d", "udp.port==4443,quic"]
    doc = tshark.stat_json("triage_rtt", pcap, opts=opts)
    rows = tshark.fields(pcap, QUIC_FIELDS, "quic", opts=opts, occurrence="a")
    return ran, doc, rows


def quic_by(doc, server, port):
    return [c for c in doc["quic"]["connections"] if c["server"] == server and c["server_port"] == port]


def test_quic_outcomes_by_construction(quic_run):
    ran, doc, _ = quic_run
    assert [r[3] for r in ran if r[0] in ("plain", "ipv6", "retry")] == [0, 0, 0, 0], ran
    s = doc["quic"]["summary"]
    assert s["connections"] == len(QUIC_PLAN), (ran, doc["quic"]["connections"])
    assert s["completed"] == 4 and s["version_negotiation"] == 1 and s["unanswered"] == 1, s
    retry = quic_by(doc, SERVER4, 4443)
    assert len(retry) == 1 and retry[0]["retried"] and retry[0]["retry_frame"] and retry[0]["outcome"] == "completed"
    assert s["retried_handshakes"] == 1
    vn = [c for c in doc["quic"]["connections"] if c["outcome"] == "version_negotiation"]
    assert vn[0]["version"] == "0x1a2a3a4a" and vn[0]["version_negotiation_frame"]
    assert quic_by(doc, DEAD4, 443)[0]["outcome"] == "unanswered"
    assert len(quic_by(doc, CLIENT6.replace("1::1", "2::1"), 443)) == 1  # SERVER6


def test_quic_legs_against_the_path(quic_run):
    _, doc, _ = quic_run
    for c in doc["quic"]["connections"]:
        if c["outcome"] != "completed":
            continue
        # Client-side capture: the server leg holds the path both ways, the client leg only the client.
        assert PATH_MS <= c["server_leg_ms"] <= PATH_MS + JITTER_MS + 20, c
        assert c["client_leg_ms"] < 10, c
        assert Decimal(str(c["rtt_ms"])) == Decimal(str(c["server_leg_ms"])) + Decimal(str(c["client_leg_ms"]))


def test_quic_exact_against_tshark_fields(quic_run):
    _, doc, rows = quic_run
    from test_secure_handshake import check_quic
    server_legs, _ = check_quic(doc, quic_handshakes(rows))
    assert server_legs >= 4  # plain twice, IPv6, Retry; client legs where this tshark shows them
