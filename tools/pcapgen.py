#!/usr/bin/env python3
"""Writes valid, dissectable Ethernet pcap files from scripted TCP/UDP
exchanges (Python standard library only). Used for the project's example
capture and the benchmark captures; nothing here is copied from elsewhere."""

import ipaddress
import struct

ETH_SRC = bytes.fromhex("020000000001")
ETH_DST = bytes.fromhex("020000000002")

FIN, SYN, RST, PSH, ACK, ECE, CWR = 0x01, 0x02, 0x04, 0x08, 0x10, 0x40, 0x80


def _csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


class PcapWriter:
    def __init__(self, path, snaplen=65535):
        self.f = open(path, "wb")
        self.snaplen = snaplen
        self.count = 0
        self.f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snaplen, 1))

    def write(self, t: float, frame: bytes):
        sec = int(t)
        usec = int(round((t - sec) * 1e6))
        if usec >= 1000000:
            sec, usec = sec + 1, usec - 1000000
        cap = frame[: self.snaplen]
        self.f.write(struct.pack("<IIII", sec, usec, len(cap), len(frame)))
        self.f.write(cap)
        self.count += 1

    def close(self):
        self.f.close()


def ip_packet(src: str, dst: str, proto: int, payload: bytes, ttl=64) -> bytes:
    s, d = ipaddress.ip_address(src), ipaddress.ip_address(dst)
    if s.version == 4:
        hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0, 0x4000, ttl, proto, 0, s.packed, d.packed)
        hdr = hdr[:10] + struct.pack("!H", _csum(hdr)) + hdr[12:]
        return hdr + payload
    return struct.pack("!IHBB16s16s", 0x60000000, len(payload), proto, ttl, s.packed, d.packed) + payload


def _pseudo(src: str, dst: str, proto: int, length: int) -> bytes:
    s, d = ipaddress.ip_address(src), ipaddress.ip_address(dst)
    if s.version == 4:
        return struct.pack("!4s4sBBH", s.packed, d.packed, 0, proto, length)
    return struct.pack("!16s16sIxxxB", s.packed, d.packed, length, proto)


def tcp_segment(src, dst, sport, dport, seq, ack, flags, payload=b"", window=65535, options=b"") -> bytes:
    if len(options) % 4:
        options += b"\x01" * (4 - len(options) % 4)
    off = (20 + len(options)) // 4
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, off << 4, flags, window, 0, 0)
    seg = hdr + options + payload
    c = _csum(_pseudo(src, dst, 6, len(seg)) + seg)
    return seg[:16] + struct.pack("!H", c) + seg[18:]


def udp_datagram(src, dst, sport, dport, payload: bytes) -> bytes:
    seg = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    c = _csum(_pseudo(src, dst, 17, len(seg)) + seg) or 0xFFFF
    return seg[:6] + struct.pack("!H", c) + seg[8:]


def ether(ip: bytes, v6=False) -> bytes:
    return ETH_DST + ETH_SRC + struct.pack("!H", 0x86DD if v6 else 0x0800) + ip


def is_v6(addr: str) -> bool:
    return ipaddress.ip_address(addr).version == 6


class TcpConn:
    """One TCP connection; each method writes the frames it describes."""

    MSS_OPT = b"\x02\x04\x05\xb4"

    def __init__(self, w: PcapWriter, client, cport, server, sport, cisn=1000, sisn=5000):
        self.w, self.c, self.cp, self.s, self.sp = w, client, cport, server, sport
        self.cseq, self.sseq = cisn, sisn
        self.cisn, self.sisn = cisn, sisn

    def _send(self, t, from_client, flags, payload=b"", seq=None, ack=None, options=b""):
        if from_client:
            src, dst, sp, dp = self.c, self.s, self.cp, self.sp
            seq = self.cseq if seq is None else seq
            ack = self.sseq if ack is None else ack
        else:
            src, dst, sp, dp = self.s, self.c, self.sp, self.cp
            seq = self.sseq if seq is None else seq
            ack = self.cseq if ack is None else ack
        seg = tcp_segment(src, dst, sp, dp, seq, ack if flags & ACK else 0, flags, payload, options=options)
        self.w.write(t, ether(ip_packet(src, dst, 6, seg), is_v6(src)))

    def syn(self, t, data=b"", extra_flags=0):
        self._send(t, True, SYN | extra_flags, data, seq=self.cisn, ack=0, options=self.MSS_OPT)

    def synack(self, t, acked_data=0, extra_flags=0):
        self._send(t, False, SYN | ACK | extra_flags, seq=self.sisn, ack=self.cisn + 1 + acked_data,
                   options=self.MSS_OPT)

    def ack(self, t, acked_data=0):
        self.cseq = self.cisn + 1 + acked_data
        self.sseq = self.sisn + 1
        self._send(t, True, ACK)

    def rst(self, t, from_server=True):
        if from_server:
            self._send(t, False, RST | ACK, seq=0, ack=self.cisn + 1)
        else:
            self._send(t, True, RST, seq=self.cisn + 1, ack=0)

    def handshake(self, t, server_leg, client_leg):
        self.syn(t)
        self.synack(t + server_leg)
        self.ack(t + server_leg + client_leg)
        return t + server_leg + client_leg

    def client_data(self, t, payload: bytes, mss=1448):
        return self._data(t, True, payload, mss)

    def server_data(self, t, payload: bytes, mss=1448):
        return self._data(t, False, payload, mss)

    def _data(self, t, from_client, payload, mss):
        """PSH/ACK segments of at most mss bytes, 0.1 ms apart; returns the time after the last."""
        for i in range(0, len(payload), mss):
            chunk = payload[i:i + mss]
            self._send(t, from_client, PSH | ACK, chunk)
            if from_client:
                self.cseq += len(chunk)
            else:
                self.sseq += len(chunk)
            t += 0.0001
        return t

    def close(self, t):
        self._send(t, True, FIN | ACK)
        self.cseq += 1
        self._send(t + 0.0001, False, FIN | ACK)
        self.sseq += 1
        self._send(t + 0.0002, True, ACK)
        return t + 0.0002


def udp(w: PcapWriter, t, src, sport, dst, dport, payload: bytes):
    w.write(t, ether(ip_packet(src, dst, 17, udp_datagram(src, dst, sport, dport, payload)), is_v6(src)))


def dns_query(qid: int, name: str) -> bytes:
    q = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    return struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + q + struct.pack("!HH", 1, 1)


def dns_answer(qid: int, name: str, addr: str) -> bytes:
    q = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    ans = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 300, 4) + ipaddress.ip_address(addr).packed
    return struct.pack("!HHHHHH", qid, 0x8180, 1, 1, 0, 0) + q + struct.pack("!HH", 1, 1) + ans


def tls_records(n: int, fill=b"A") -> bytes:
    """n bytes of TLS 1.2 application-data records (opaque payload)."""
    out = b""
    while n > 5:
        body = min(n - 5, 16384)
        out += struct.pack("!BHH", 0x17, 0x0303, body) + fill * body
        n -= body + 5
    return out + fill * n if not out else out


def portmap_getport(xid: int, prog: int, vers: int) -> bytes:
    """ONC-RPC call: PMAPPROC_GETPORT (100000 v2 proc 3), AUTH_NULL."""
    return struct.pack("!IIIIIIIIIIIIII", xid, 0, 2, 100000, 2, 3, 0, 0, 0, 0, prog, vers, 17, 0)
