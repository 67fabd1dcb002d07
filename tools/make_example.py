#!/usr/bin/env python3
"""Generates examples/triage-example.pcap: a cloud VM (10.0.0.5) capture
with handshakes at known RTTs, failed handshakes of every kind, unwanted
protocols and outbound traffic to external, internal and platform
destinations. Deterministic: the same file every run."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pcapgen import (CWR, ECE, PcapWriter, TcpConn, dns_answer, dns_query,  # noqa: E402
                     portmap_getport, quic_client_initial, quic_long, tls_alert, tls_client_finished,
                     tls_client_hello, tls_records, tls_server_flight, tls_server_hello, udp)

VM, VM6 = "10.0.0.5", "fd00::5"
T0 = 1700000000.0


def build(path):
    w = PcapWriter(path)
    t = T0
    port = iter(range(40000, 60000))

    # DNS: lets Wireshark name the web server (name resolution from the capture).
    udp(w, t, VM, 53000, "10.0.0.2", 53, dns_query(1, "www.example.com"))
    udp(w, t + 0.002, "10.0.0.2", 53, VM, 53000, dns_answer(1, "www.example.com", "93.184.216.34"))
    t += 0.01

    # Clean handshakes from the client side: the server leg is the network path.
    for server, sport, rtt, n in (("93.184.216.34", 443, 0.020, 6), ("151.101.1.69", 443, 0.085, 4),
                                  ("203.0.113.10", 80, 0.150, 2)):
        for i in range(n):
            c = TcpConn(w, VM, next(port), server, sport, cisn=1000 + i, sisn=900000 + i)
            leg = rtt * (1 + 0.05 * i)
            t2 = c.handshake(t, leg, 0.00004)
            t2 = c.client_data(t2 + 0.0001, tls_records(1203, b"U"))  # TLS-looking upload
            t2 = c.server_data(t2 + leg, tls_records(4003, b"D"))
            c.close(t2 + 0.001)
            t += 0.05

    # Large upload to one external host (the egress bill).
    c = TcpConn(w, VM, next(port), "93.184.216.34", 443, cisn=777, sisn=888)
    t2 = c.handshake(t, 0.020, 0.00004)
    t2 = c.client_data(t2 + 0.0001, b"X" * 200000)
    c.close(t2 + 0.01)
    t += 0.5

    # Refused: SYN answered by RST+ACK.
    c = TcpConn(w, VM, next(port), "10.0.0.9", 8080)
    c.syn(t)
    c.rst(t + 0.0003)
    t += 0.05

    # Unanswered, retransmitted SYNs.
    c = TcpConn(w, VM, next(port), "198.51.100.7", 22)
    for k, dt in enumerate((0, 1, 3)):
        c.syn(t + dt)
    t += 4

    # Retransmitted SYN, then answered: the server leg starts at the last SYN.
    c = TcpConn(w, VM, next(port), "203.0.113.10", 80, cisn=4242, sisn=2424)
    c.syn(t)
    c.syn(t + 1.0)
    c.synack(t + 1.0 + 0.150)
    c.ack(t + 1.0 + 0.150 + 0.00005)
    c.close(t + 1.3)
    t += 1.5

    # Retransmitted SYN/ACK: the client leg ends at the ACK of the last one.
    c = TcpConn(w, VM, next(port), "151.101.1.69", 443, cisn=31337, sisn=73313)
    c.syn(t)
    c.synack(t + 0.085)
    c.synack(t + 1.085)
    c.ack(t + 1.085 + 0.00006)
    c.close(t + 1.2)
    t += 1.5

    # ECN-setup SYN (ECE+CWR) changes nothing.
    c = TcpConn(w, VM, next(port), "93.184.216.34", 443, cisn=5555, sisn=6666)
    c.syn(t, extra_flags=ECE | CWR)
    c.synack(t + 0.021, extra_flags=ECE)
    c.ack(t + 0.021 + 0.00004)
    c.close(t + 0.1)
    t += 0.2

    # TCP Fast Open: data on the SYN, acknowledged by the SYN/ACK.
    c = TcpConn(w, VM, next(port), "203.0.113.10", 80, cisn=90000, sisn=91000)
    req = b"GET / HTTP/1.1\r\nHost: fast.example\r\n\r\n"
    c.syn(t, data=req)
    c.synack(t + 0.150, acked_data=len(req))
    c.ack(t + 0.150 + 0.00004, acked_data=len(req))
    c.close(t + 0.3)
    t += 0.4

    # SYN/ACK never acknowledged (client reset instead).
    c = TcpConn(w, VM, next(port), "151.101.1.69", 443, cisn=123, sisn=456)
    c.syn(t)
    c.synack(t + 0.085)
    c.rst(t + 0.0851, from_server=False)
    t += 0.2

    # IPv6.
    c = TcpConn(w, VM6, next(port), "2001:db8::80", 443, cisn=11, sisn=22)
    t2 = c.handshake(t, 0.030, 0.00003)
    t2 = c.client_data(t2 + 0.0001, tls_records(3003, b"6"))
    c.close(t2 + 0.001)
    t += 0.2

    # Unwanted: telnet.
    c = TcpConn(w, VM, next(port), "203.0.113.23", 23, cisn=100, sisn=200)
    t2 = c.handshake(t, 0.040, 0.00004)
    t2 = c.server_data(t2 + 0.04, b"\xff\xfd\x18\xff\xfd\x20")
    t2 = c.server_data(t2 + 0.1, b"login: ")
    t2 = c.client_data(t2 + 1.0, b"root\r\n")
    t2 = c.server_data(t2 + 0.04, b"Password: ")
    t2 = c.client_data(t2 + 1.0, b"hunter2\r\n")
    c.close(t2 + 0.5)
    t += 4

    # Unwanted: FTP control.
    c = TcpConn(w, VM, next(port), "203.0.113.21", 21, cisn=300, sisn=400)
    t2 = c.handshake(t, 0.045, 0.00004)
    t2 = c.server_data(t2 + 0.05, b"220 ftp.example FTP server ready\r\n")
    t2 = c.client_data(t2 + 0.5, b"USER anonymous\r\n")
    t2 = c.server_data(t2 + 0.05, b"331 Password required\r\n")
    t2 = c.client_data(t2 + 0.5, b"PASS guest@\r\n")
    t2 = c.server_data(t2 + 0.05, b"230 Logged in\r\n")
    c.close(t2 + 0.2)
    t += 2

    # Unwanted: BitTorrent tracker announce over plain HTTP.
    c = TcpConn(w, VM, next(port), "203.0.113.50", 80, cisn=500, sisn=600)
    t2 = c.handshake(t, 0.060, 0.00004)
    t2 = c.client_data(t2 + 0.001, b"GET /announce?info_hash=%12%34%56%78%9a%bc%de%f0%12%34%56%78%9a%bc%de%f0%12%34%56%78"
                                   b"&peer_id=-TR2940-abcdefghijkl&port=51413&uploaded=0&downloaded=0&left=0 HTTP/1.1\r\n"
                                   b"Host: tracker.example\r\nUser-Agent: Transmission/2.94\r\n\r\n")
    t2 = c.server_data(t2 + 0.06, b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nde")
    c.close(t2 + 0.1)
    t += 0.5

    # Unwanted: RPC portmap GETPORT (UDP 111) to an internal host.
    udp(w, t, VM, 876, "10.0.0.20", 111, portmap_getport(0x1234, 100003, 3))
    t += 0.1

    # Platform endpoint: instance metadata (not billed egress).
    c = TcpConn(w, VM, next(port), "169.254.169.254", 80, cisn=700, sisn=800)
    t2 = c.handshake(t, 0.0005, 0.00003)
    t2 = c.client_data(t2 + 0.0001, b"GET /metadata/instance?api-version=2021-02-01 HTTP/1.1\r\nHost: 169.254.169.254\r\n"
                                    b"Metadata: true\r\n\r\n")
    t2 = c.server_data(t2 + 0.001, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
    c.close(t2 + 0.01)
    t += 0.2

    # Internal: database traffic to a neighbour VM (server-side leg short).
    c = TcpConn(w, VM, next(port), "10.0.0.6", 5432, cisn=900, sisn=950)
    t2 = c.handshake(t, 0.0008, 0.00003)
    t2 = c.client_data(t2 + 0.0001, b"Q" * 20000)
    c.close(t2 + 0.01)
    t += 0.2

    # Inbound download from an external host (not egress).
    c = TcpConn(w, VM, next(port), "151.101.1.69", 443, cisn=1234, sisn=4321)
    t2 = c.handshake(t, 0.085, 0.00004)
    t2 = c.server_data(t2 + 0.09, tls_records(100003, b"Z"))
    c.close(t2 + 0.01)
    t += 0.3

    # TLS handshakes (appended last: the frames above keep their numbers). The server
    # leg is the path plus the server's work (2 ms), TLS 1.2 takes a second round trip.
    for server, rtt, version, sni in (("93.184.216.34", 0.020, 0x0304, "www.example.com"),
                                      ("93.184.216.34", 0.022, 0x0304, "www.example.com"),
                                      ("151.101.1.69", 0.085, 0x0303, "cdn.example.net")):
        c = TcpConn(w, VM, next(port), server, 443, cisn=60000 + int(rtt * 1000), sisn=70000)
        t2 = c.handshake(t, rtt, 0.00004)
        t2 = c.client_data(t2 + 0.0001, tls_client_hello(sni))
        t2 = c.server_data(t2 + rtt + 0.002, tls_server_hello(version) + tls_server_flight(version))
        t2 = c.client_data(t2 + 0.0005, tls_client_finished(version))
        if version != 0x0304:
            t2 = c.server_data(t2 + rtt, tls_server_flight(0x0304, 40)[:6] + tls_records(45, b"F"))
        t2 = c.client_data(t2 + 0.0002, tls_records(300, b"R"))
        c.close(t2 + 0.01)
        t += 0.2
    # A server that refuses the handshake with an alert.
    c = TcpConn(w, VM, next(port), "203.0.113.10", 443, cisn=61000, sisn=71000)
    t2 = c.handshake(t, 0.150, 0.00004)
    t2 = c.client_data(t2 + 0.0001, tls_client_hello("old.example.org"))
    t2 = c.server_data(t2 + 0.151, tls_alert(70))  # protocol_version
    c.close(t2 + 0.001)
    t += 0.4

    # QUIC: a completed handshake (the server's first flight in two datagrams) and an unanswered one.
    odcid, ccid, scid = bytes.fromhex("8394c8f03e515708"), bytes.fromhex("c0ffee01"), bytes.fromhex("5e7e0001a2b3c4d5")
    udp(w, t, VM, 50443, "142.250.1.100", 443, quic_client_initial(odcid, ccid))
    udp(w, t + 0.031, "142.250.1.100", 443, VM, 50443,
        quic_long(0, ccid, scid, 120) + quic_long(2, ccid, scid, 1000))
    udp(w, t + 0.0312, "142.250.1.100", 443, VM, 50443, quic_long(2, ccid, scid, 900))
    udp(w, t + 0.0335, VM, 50443, "142.250.1.100", 443, quic_long(0, scid, ccid, 40) + quic_long(2, scid, ccid, 60))
    udp(w, t + 0.034, VM, 50443, "142.250.1.100", 443, b"\x43" + scid + b"\x00" * 60)
    t += 0.5
    udp(w, t, VM, 50444, "198.51.100.99", 443, quic_client_initial(bytes.fromhex("0123456789abcdef"), ccid))
    udp(w, t + 1.0, VM, 50444, "198.51.100.99", 443, quic_client_initial(bytes.fromhex("0123456789abcdef"), ccid))
    w.close()
    return w.count


if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "examples",
                                                             "triage-example.pcap")
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    n = build(out)
    print(f"wrote {n} frames to {out}")
