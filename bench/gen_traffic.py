#!/usr/bin/env python3
"""Writes large, valid benchmark captures fast (packet templates patched in
place; checksums left 0, which Wireshark does not verify by default), with
the ground truth beside them (<capture>.truth.json).

  gen_traffic.py mixed OUT.pcap --packets N     connection-heavy: handshakes at known RTTs from local
                                                hosts to many destinations (IPv4 and IPv6) and from
                                                external clients to local servers, telnet/FTP
                                                (unwanted) and DNS (allowed) mixed in; 10 packets a
                                                connection (the server answers in two segments, each
                                                acknowledged): ~100 000 handshakes to ~50 000 servers
                                                and ~30 000 destinations in 1 M packets, the shape the
                                                performance targets name
  gen_traffic.py mixed OUT.pcap --dense         the same with 6 packets a connection (request, no
                                                answer): 1.6 times the connections in as many packets
  gen_traffic.py flood OUT.pcap --syns N        unanswered SYNs from random sources to one server
"""

import argparse
import ipaddress
import json
import random
import struct

RTTS_MS = [0.5, 2, 10, 25, 80, 150]  # server legs; the client leg is 0.05 ms


class Writer:
    def __init__(self, path):
        self.f = open(path, "wb", buffering=1 << 20)
        self.f.write(struct.pack("<IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, 65535, 1))  # nanosecond pcap
        self.n = 0

    def write(self, t_ns, frame):
        self.f.write(struct.pack("<IIII", t_ns // 1_000_000_000, t_ns % 1_000_000_000, len(frame), len(frame)))
        self.f.write(frame)
        self.n += 1

    def close(self):
        self.f.close()


ETH = bytes.fromhex("020000000002020000000001") + b"\x08\x00"
ETH6 = bytes.fromhex("020000000002020000000001") + b"\x86\xdd"


def tcp_frame(src, dst, sport, dport, seq, ack, flags, payload=b""):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 0x50, flags, 65535, 0, 0)
    if len(src) == 16:
        ip6 = struct.pack("!IHBB16s16s", 6 << 28, 20 + len(payload), 6, 64, src, dst)
        return ETH6 + ip6 + tcp + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40 + len(payload), 0, 0x4000, 64, 6, 0, src, dst)
    return ETH + ip + tcp + payload


def udp_frame(src, dst, sport, dport, payload):
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 28 + len(payload), 0, 0x4000, 64, 17, 0, src, dst)
    return ETH + ip + struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def dns_query(qid):
    return struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + b"\x07example\x03com\x00" + struct.pack("!HH", 1, 1)


def mixed(path, packets, dense=False, seed=1):
    rng = random.Random(seed)
    w = Writer(path)
    t = 1_700_000_000 * 10**9
    truth = {"connections": 0, "completed": 0, "rtt_ms": {str(r): 0 for r in RTTS_MS}, "telnet_frames": 0,
             "ftp_frames": 0, "ipv6_connections": 0, "inbound_connections": 0}
    servers, destinations = set(), set()
    clients4 = [ipaddress.ip_address(f"10.0.{i // 250}.{i % 250 + 1}").packed for i in range(500)]
    clients6 = [ipaddress.ip_address(f"fd00::{i + 1:x}").packed for i in range(100)]
    local_servers = clients4[:50]
    n_dest = max(10, packets // (30 if dense else 36))
    dests4 = [ipaddress.ip_address(0x0B000000 + rng.randrange(1 << 24)).packed for _ in range(n_dest)]
    dests6 = [ipaddress.ip_address((0x20010DB8 << 96) + rng.randrange(1 << 64)).packed for _ in range(n_dest // 4)]
    port = 32768  # clients use Linux's ephemeral range: no well-known port (X11 is 6000-6063) by chance
    while w.n < packets:
        kind = rng.random()
        port = port + 1 if port < 60999 else 32768
        if kind < 0.05:  # DNS (allowed)
            c = rng.choice(clients4)
            w.write(t, udp_frame(c, b"\x0a\x00\x00\x02", port, 53, dns_query(port)))
            destinations.add(b"\x0a\x00\x00\x02")
            t += 20_000
            continue
        unwanted = kind < 0.10
        if unwanted:
            c, d = rng.choice(clients4), rng.choice(dests4)
            dport = 23 if kind < 0.075 else 21
        elif kind < 0.25:  # inbound: an external client to a local server
            c, d = rng.choice(dests4), rng.choice(local_servers)
            dport = rng.choice((443, 22))
            truth["inbound_connections"] += 1
        elif kind < 0.40:  # IPv6
            c, d = rng.choice(clients6), rng.choice(dests6)
            dport = rng.choice((443, 8443))
            truth["ipv6_connections"] += 1
        else:
            c, d = rng.choice(clients4), rng.choice(dests4)
            dport = rng.choice((443, 8443))
        rtt = rng.choice(RTTS_MS)
        leg = int(rtt * 1e6)
        isn, sisn = rng.randrange(1 << 32), rng.randrange(1 << 32)
        w.write(t, tcp_frame(c, d, port, dport, isn, 0, 0x02))
        w.write(t + leg, tcp_frame(d, c, dport, port, sisn, isn + 1, 0x12))
        w.write(t + leg + 50_000, tcp_frame(c, d, port, dport, isn + 1, sisn + 1, 0x10))
        payload = b"USER anonymous\r\n" if dport == 21 else b"\xff\xfb\x18" if dport == 23 else b"\x17\x03\x03\x00\x10" + b"A" * 16
        w.write(t + leg + 100_000, tcp_frame(c, d, port, dport, isn + 1, sisn + 1, 0x18, payload))
        cseq, sseq = isn + 1 + len(payload), sisn + 1
        if not dense and not unwanted:
            # The server's answer: two segments, each acknowledged by the client.
            for i in range(2):
                reply = b"\x17\x03\x03\x00\x20" + b"B" * 32
                w.write(t + 2 * leg + 100_000 + i * 20_000, tcp_frame(d, c, dport, port, sseq, cseq, 0x18, reply))
                sseq += len(reply)
                w.write(t + 2 * leg + 110_000 + i * 20_000, tcp_frame(c, d, port, dport, cseq, sseq, 0x10))
        fin = 2 * leg + (100_000 if dense else 150_000)
        w.write(t + fin, tcp_frame(d, c, dport, port, sseq, cseq, 0x11))
        w.write(t + fin + (50_000 if dense else 10_000), tcp_frame(c, d, port, dport, cseq, sseq + 1, 0x11))
        truth["connections"] += 1
        truth["completed"] += 1
        truth["rtt_ms"][str(rtt)] += 1
        servers.add((d, dport))
        # Outbound volume: whatever a local host sends, to whom it sends it.
        destinations.add(c if d in local_servers else d)
        if dport == 23:
            truth["telnet_frames"] += 1
        elif dport == 21:
            truth["ftp_frames"] += 1
        t += 2 * leg + 200_000 + rng.randrange(100_000)
    w.close()
    truth["servers"] = len(servers)
    truth["destinations"] = len(destinations)
    truth["packets"] = w.n
    return truth


def flood(path, syns, seed=2):
    rng = random.Random(seed)
    w = Writer(path)
    t = 1_700_000_000 * 10**9
    server = ipaddress.ip_address("10.0.0.80").packed
    for _ in range(syns):
        src = struct.pack("!I", rng.randrange(0x01000000, 0xDF000000))
        w.write(t, tcp_frame(src, server, rng.randrange(1024, 65536), 80, rng.randrange(1 << 32), 0, 0x02))
        t += 1000
    w.close()
    return {"packets": w.n, "connections": syns, "unanswered": syns}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("kind", choices=["mixed", "flood"])
    ap.add_argument("out")
    ap.add_argument("--packets", type=int, default=1_000_000)
    ap.add_argument("--syns", type=int, default=1_000_000)
    ap.add_argument("--dense", action="store_true", help="mixed: 6 packets a connection, not 10")
    a = ap.parse_args()
    truth = mixed(a.out, a.packets, a.dense) if a.kind == "mixed" else flood(a.out, a.syns)
    with open(a.out + ".truth.json", "w") as f:
        json.dump(truth, f, indent=2)
    print(json.dumps(truth))


if __name__ == "__main__":
    main()
