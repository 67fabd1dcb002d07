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


# ---- TLS and QUIC handshakes (plaintext parts as on the wire; the encrypted parts are filler) ----
def _tls_record(ctype: int, body: bytes, version=0x0303) -> bytes:
    return struct.pack("!BHH", ctype, version, len(body)) + body


def _handshake(htype: int, body: bytes) -> bytes:
    return bytes([htype]) + len(body).to_bytes(3, "big") + body


def _ext(etype: int, data: bytes) -> bytes:
    return struct.pack("!HH", etype, len(data)) + data


def tls_client_hello(sni: str, seed=1) -> bytes:
    """A TLS record holding a ClientHello offering TLS 1.3 and 1.2, with SNI and an X25519 key share."""
    name = sni.encode()
    exts = (_ext(0, struct.pack("!HBH", len(name) + 3, 0, len(name)) + name)
            + _ext(10, b"\x00\x04\x00\x1d\x00\x17")                       # supported_groups
            + _ext(13, b"\x00\x04\x04\x03\x08\x04")                       # signature_algorithms
            + _ext(43, b"\x04\x03\x04\x03\x03")                           # supported_versions: 1.3, 1.2
            + _ext(51, struct.pack("!HHH", 36, 0x1d, 32) + bytes([seed]) * 32))  # key_share
    body = (b"\x03\x03" + bytes([seed]) * 32 + b"\x20" + bytes([seed + 1]) * 32
            + b"\x00\x06\x13\x01\x13\x02\xc0\x2f" + b"\x01\x00" + struct.pack("!H", len(exts)) + exts)
    return _tls_record(22, _handshake(1, body), 0x0301)


def tls_server_hello(version=0x0304, seed=2) -> bytes:
    """A ServerHello record: TLS 1.3 (supported_versions, key_share) or TLS 1.2 (cipher ECDHE-RSA-AES128-GCM)."""
    if version == 0x0304:
        exts = _ext(43, b"\x03\x04") + _ext(51, struct.pack("!HH", 0x1d, 32) + bytes([seed]) * 32)
        suite = b"\x13\x01"
    else:
        exts, suite = _ext(0xff01, b"\x00"), b"\xc0\x2f"
    body = b"\x03\x03" + bytes([seed]) * 32 + b"\x20" + bytes([seed + 1]) * 32 + suite + b"\x00" + \
        struct.pack("!H", len(exts)) + exts
    return _tls_record(22, _handshake(2, body))


EXAMPLE_CERT = bytes.fromhex(
    "308201a63082014ba003020102021458e07e82ae2ac9f4ba672d4d67ecf023de14cdae300a06082a8648ce3d04030230"
    "1a3118301606035504030c0f63646e2e6578616d706c652e6e6574301e170d3236313132373138353231355a170d3336"
    "313132343138353231355a301a3118301606035504030c0f63646e2e6578616d706c652e6e65743059301306072a8648"
    "ce3d020106082a8648ce3d0301070342000499f7cf022e7a6f702d3e080f112ec2c620c61252e9192c8973fd5e0b3ead"
    "3cc74e637c2ef1f2631ee03ed31be5340bd18a54946c3f72f9973706b5a6cad8e254a36f306d301d0603551d0e041604"
    "145c60a341ddefe01307acea3963cfcd9b3e02be28301f0603551d230418301680145c60a341ddefe01307acea3963cf"
    "cd9b3e02be28300f0603551d130101ff040530030101ff301a0603551d1104133011820f63646e2e6578616d706c652e"
    "6e6574300a06082a8648ce3d04030203490030460221008d8b33e215e6c46308874bf5e71bdd5689331bf15c24cf867a"
    "bf4ac7a460a1cb022100f24d10b6feca83b3d137182e2880119315f43c75784de255d5303f159d8d6358")  # a self-signed P-256 certificate for cdn.example.net


def tls_server_flight(version=0x0304, size=2500) -> bytes:
    """What follows the ServerHello: TLS 1.3 ChangeCipherSpec and encrypted handshake; TLS 1.2
    Certificate and ServerHelloDone in plaintext."""
    if version == 0x0304:
        return _tls_record(20, b"\x01") + _tls_record(23, b"\x5a" * size)
    cert = EXAMPLE_CERT
    certificates = len(cert).to_bytes(3, "big") + cert
    return _tls_record(22, _handshake(11, len(certificates).to_bytes(3, "big") + certificates)
                       ) + _tls_record(22, _handshake(14, b""))


def tls_client_finished(version=0x0304) -> bytes:
    """TLS 1.3: ChangeCipherSpec and the encrypted Finished (53 bytes); TLS 1.2: ClientKeyExchange,
    ChangeCipherSpec, encrypted Finished."""
    if version == 0x0304:
        return _tls_record(20, b"\x01") + _tls_record(23, b"\x6b" * 53)
    return (_tls_record(22, _handshake(16, b"\x41" + b"\x04" * 65)) + _tls_record(20, b"\x01")
            + _tls_record(22, b"\x7c" * 40))


def tls_alert(description=40) -> bytes:
    return _tls_record(21, bytes([2, description]))


def quic_long(ptype: int, dcid: bytes, scid: bytes, body: int, token=b"", version=1) -> bytes:
    """A QUIC v1 long-header packet (0 Initial, 1 0-RTT, 2 Handshake) with `body` bytes of
    packet number and protected payload (filler)."""
    out = bytes([0xc3 | ptype << 4]) + struct.pack("!I", version) + bytes([len(dcid)]) + dcid + \
        bytes([len(scid)]) + scid
    if ptype == 0:
        out += bytes([len(token)]) + token
    return out + struct.pack("!H", 0x4000 | body) + b"\x5a" * body


def quic_client_initial(dcid: bytes, scid: bytes, size=1200, version=1) -> bytes:
    """A client's first Initial, its body sized so that the datagram holds `size` bytes (RFC 9000 14.1)."""
    header = len(quic_long(0, dcid, scid, 0, version=version))
    return quic_long(0, dcid, scid, size - header, version=version)
