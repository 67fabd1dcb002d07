"""Checks Handshake RTT records against the frames they name, read from
tshark's own per-packet fields.

There is no handshake state machine here: the plugin says "frame 268 is the
SYN, 270 the SYN/ACK that answers it, 271 the ACK, the server leg is their
time difference, and this record holds 2 of the stream's SYNs", and each claim
is checked against what tshark shows of those frames (flags, direction,
sequence numbers, times, tcp.stream). Coverage is checked by counting: every
SYN and SYN/ACK of a stream belongs to exactly one record of that stream, and
every stream that carries a handshake flag has a record. Wireshark's own
tcp.analysis.initial_rtt is a second, independent value for clean streams.
"""

import math
from dataclasses import dataclass

TCP_FIELDS = ["frame.number", "frame.time_epoch", "tcp.stream", "tcp.flags", "tcp.seq_raw", "tcp.ack_raw", "tcp.len",
              "ip.src", "ip.dst", "ipv6.src", "ipv6.dst", "tcp.srcport", "tcp.dstport", "tcp.analysis.initial_rtt"]
US = 1000  # 1 microsecond in ns
SYN, RST, ACK = 0x02, 0x04, 0x10


def epoch_ns(text: str) -> int:
    """tshark prints secs '.' nsecs with %09u; an invalid nsecs >= 10^9 prints
    more digits, and must still be read as nanoseconds, as Wireshark holds it."""
    secs, _, frac = text.partition(".")
    if frac.startswith("("):  # 4.4+: "1418145370.(1000000000 nanoseconds)"
        return int(secs) * 1_000_000_000 + int(frac[1:].split()[0])
    if len(frac) < 9:
        frac = frac.ljust(9, "0")
    return int(secs) * 1_000_000_000 + int(frac)


def ms_to_ns(v) -> int:
    return round(float(v) * 1_000_000)


def nearest_rank(sorted_values, p):
    n = len(sorted_values)
    rank = max(1, min(n, math.ceil(p / 100 * n - 1e-9)))
    return sorted_values[rank - 1]


@dataclass
class Frame:
    number: int
    t: int  # epoch ns
    stream: int
    flags: int
    seq: int
    ack: int
    length: int
    src: str
    dst: str
    sport: int
    dport: int
    initial_rtt: int | None

    @property
    def is_syn(self):
        return self.flags & (SYN | ACK) == SYN

    @property
    def is_synack(self):
        return self.flags & (SYN | ACK) == SYN | ACK

    def goes(self, src, sport, dst, dport):
        return (self.src, self.sport, self.dst, self.dport) == (src, sport, dst, dport)


def frames_of(rows):
    """Frame number -> Frame, for every TCP frame tshark shows (outside ICMP errors)."""
    out = {}
    for r in rows:
        if not r["tcp.stream"]:
            continue
        f = Frame(int(r["frame.number"]), epoch_ns(r["frame.time_epoch"]), int(r["tcp.stream"]),
                  int(r["tcp.flags"], 16), int(r["tcp.seq_raw"]), int(r["tcp.ack_raw"] or 0), int(r["tcp.len"] or 0),
                  r["ip.src"] or r["ipv6.src"], r["ip.dst"] or r["ipv6.dst"], int(r["tcp.srcport"]),
                  int(r["tcp.dstport"]),
                  epoch_ns(r["tcp.analysis.initial_rtt"]) if r["tcp.analysis.initial_rtt"] else None)
        out[f.number] = f
    return out


def wireshark_initial_rtts(frames):
    """tcp.analysis.initial_rtt per stream, as Wireshark reports it."""
    rtts = {}
    for f in frames.values():
        if f.initial_rtt is not None:
            rtts.setdefault(f.stream, f.initial_rtt)
    return rtts


def _near(got_ms, want_ns, what):
    assert got_ms is not None, f"{what}: null, want {want_ns} ns"
    assert abs(ms_to_ns(got_ms) - want_ns) <= US, f"{what}: {got_ms} ms vs {want_ns} ns from the frames"


def acknowledgements(frames):
    """(kind, src, sport, dst, dport, ack number) -> frame numbers of every SYN/ACK and pure ACK."""
    out = {}
    for f in frames.values():
        kind = "synack" if f.is_synack else "ack" if f.flags & (SYN | RST | ACK) == ACK else None
        if kind:
            out.setdefault((kind, f.src, f.sport, f.dst, f.dport, f.ack), []).append(f.number)
    return out


def check_record(c, frames, acks_by):
    """Every frame a record names is what the record says it is, and what it
    says never happened (an answer, an acknowledgement) is nowhere in the capture."""
    where = f"stream {c['stream']} ({c['client']}:{c['client_port']} -> {c['server']}:{c['server_port']})"
    client, cport, server, sport = c["client"], c["client_port"], c["server"], c["server_port"]

    def frame(key, *, syn=False, synack=False, pure_ack=False, rst=False, to_server):
        n = c[key]
        if n is None:
            return None
        f = frames.get(n)
        assert f is not None, f"{where}: {key} {n} is not a TCP frame"
        # Wireshark 4.4+ may put a SYN retransmitted seconds later in a new
        # tcp.stream: a record's frames share its ports, its first one its stream.
        named.append(f)
        if to_server is None:  # either way between the two endpoints
            assert f.goes(client, cport, server, sport) or f.goes(server, sport, client, cport), \
                f"{where}: {key} {n} is not between client and server"
        elif to_server:
            assert f.goes(client, cport, server, sport), f"{where}: {key} {n} does not go client -> server"
        else:
            assert f.goes(server, sport, client, cport), f"{where}: {key} {n} does not go server -> client"
        if syn:
            assert f.is_syn, f"{where}: {key} {n} is not a SYN"
        if synack:
            assert f.is_synack, f"{where}: {key} {n} is not a SYN/ACK"
        if pure_ack:
            assert f.flags & (SYN | RST | ACK) == ACK, f"{where}: {key} {n} is not an ACK without SYN/RST"
        if rst:
            assert f.flags & RST, f"{where}: {key} {n} is not a RST"
        return f

    named = []
    first = frame("first_syn_frame", syn=True, to_server=True)
    syn = frame("syn_frame", syn=True, to_server=True)
    synack = frame("synack_frame", synack=True, to_server=False)
    last_synack = frame("last_synack_frame", synack=True, to_server=False)
    ack = frame("ack_frame", pure_ack=True, to_server=True)
    # The RST that refused the SYN (from the server), or that ended a handshake after the SYN/ACK (either side).
    rst = frame("rst_frame", rst=True, to_server=None)

    if named:
        start = min(named, key=lambda f: f.number)
        assert start.stream == c["stream"], f"{where}: its first frame {start.number} is in tcp.stream {start.stream}"
    assert (first is None) == (syn is None), where
    if first:
        assert first.number <= syn.number, where
        assert first.seq == syn.seq, f"{where}: the SYNs of one handshake share the client's ISN"
    if synack:
        assert last_synack is not None and synack.number <= last_synack.number, where
        assert last_synack.seq == synack.seq, f"{where}: a retransmitted SYN/ACK has the same ISN"
        if syn:
            assert synack.number > syn.number, where
            # It acknowledges the SYN: ISN + 1, or + the SYN's data too (TCP Fast Open).
            assert synack.ack in ((syn.seq + 1) % 2**32, (syn.seq + 1 + syn.length) % 2**32), \
                f"{where}: SYN/ACK {synack.number} does not acknowledge SYN {syn.number}"
    else:
        assert last_synack is None, where
    if ack:
        assert synack is not None, where
        assert ack.number > last_synack.number, where
        assert ack.ack == (synack.seq + 1) % 2**32, f"{where}: ACK {ack.number} does not acknowledge the SYN/ACK"
    if rst:
        assert rst.number > (synack or syn).number, where
        if not synack:
            assert syn is not None and rst.goes(server, sport, client, cport), f"{where}: a refusal comes from the server"

    # What a record says was never answered was never answered, anywhere in the capture.
    if syn and not synack:
        answers = [n for a in {(syn.seq + 1) % 2**32, (syn.seq + 1 + syn.length) % 2**32}
                   for n in acks_by.get(("synack", server, sport, client, cport, a), ())]
        assert not answers, f"{where}: {c['outcome']}, but SYN/ACK frames {answers} answer SYN {syn.number}"
    if synack and not ack:
        acks = [n for n in acks_by.get(("ack", client, cport, server, sport, (synack.seq + 1) % 2**32), ())
                if n > synack.number]
        assert not acks, f"{where}: no_ack, but frames {acks} acknowledge SYN/ACK {synack.number}"

    # Outcome from the frames named.
    if first is None:
        want = "no_syn"
    elif ack:
        want = "completed"
    elif synack:
        want = "no_ack"
    elif rst:
        want = "refused"
    else:
        want = "unanswered"
    assert c["outcome"] == want, f"{where}: outcome {c['outcome']}, frames say {want}"

    # Legs are time differences between the frames named.
    legs = {
        "server_leg_ms": synack.t - syn.t if syn and synack else None,
        "client_leg_ms": ack.t - last_synack.t if ack else None,
        "connect_ms": ack.t - first.t if ack and first else None,
    }
    legs["rtt_ms"] = (legs["server_leg_ms"] + legs["client_leg_ms"]
                      if legs["server_leg_ms"] is not None and legs["client_leg_ms"] is not None else None)
    for key, want_ns in legs.items():
        if want_ns is None:
            assert c[key] is None, f"{where}: {key} {c[key]}, want null"
        else:
            _near(c[key], want_ns, f"{where} {key}")
    negative = any(v is not None and v < 0 for v in legs.values())
    assert (c["anomaly"] == "negative_time") == negative, where
    assert c["retried"] == (c["syn_count"] > 1 or c["synack_count"] > 1), where
    return negative


def endpoints(a, aport, b, bport):
    return tuple(sorted([(a, aport), (b, bport)]))


def check_coverage(doc, frames):
    """Every SYN and SYN/ACK between two endpoints is counted by exactly one
    record of theirs; every stream with a handshake flag or an ACK has a
    record or holds frames one names."""
    conns = doc["connections"]
    per_pair, per_stream, named_streams = {}, {}, set()
    for c in conns:
        per_pair.setdefault(endpoints(c["client"], c["client_port"], c["server"], c["server_port"]), []).append(c)
        per_stream.setdefault(c["stream"], []).append(c)
        for key in ("first_syn_frame", "syn_frame", "synack_frame", "last_synack_frame", "ack_frame", "rst_frame"):
            if c[key] is not None:
                named_streams.add(frames[c[key]].stream)
    syns, synacks, streams = {}, {}, set()
    for f in frames.values():
        if f.flags & (SYN | ACK):
            streams.add(f.stream)
        pair = endpoints(f.src, f.sport, f.dst, f.dport)
        if f.is_syn:
            syns[pair] = syns.get(pair, 0) + 1
        elif f.is_synack:
            synacks[pair] = synacks.get(pair, 0) + 1
    assert streams == set(per_stream) | (named_streams & streams), "a record for every stream"
    assert set(per_stream) <= streams, "no record for a stream without handshake flags or ACKs"
    for pair in set(syns) | set(per_pair):
        cs = per_pair.get(pair, [])
        assert sum(c["syn_count"] for c in cs) == syns.get(pair, 0), f"{pair}: SYN frames"
        # A SYN/ACK sent by a record's client (simultaneous open) is no answer.
        assert sum(c["synack_count"] for c in cs) <= synacks.get(pair, 0), f"{pair}: SYN/ACK frames"
    for stream, cs in per_stream.items():
        starts = [c["first_syn_frame"] or c["synack_frame"] or 0 for c in cs]
        assert starts == sorted(starts), f"stream {stream}: records in capture order"


def check_capture(doc, frames):
    """All the record and coverage checks, and Wireshark's initial_rtt on clean streams."""
    acks_by = acknowledgements(frames)
    negative = {id(c) for c in doc["connections"] if check_record(c, frames, acks_by)}
    check_coverage(doc, frames)
    ws_rtt = wireshark_initial_rtts(frames)
    per_stream = {}
    for c in doc["connections"]:
        per_stream[c["stream"]] = per_stream.get(c["stream"], 0) + 1
    compared = 0
    for c in doc["connections"]:
        clean = (c["outcome"] == "completed" and c["syn_count"] == 1 and c["synack_count"] == 1
                 and per_stream[c["stream"]] == 1 and id(c) not in negative)
        if clean and c["stream"] in ws_rtt:
            _near(c["rtt_ms"], ws_rtt[c["stream"]], f"stream {c['stream']} rtt vs tcp.analysis.initial_rtt")
            compared += 1
    return compared


def check_summary(doc):
    """The summary, percentiles and histogram aggregate the (checked) records."""
    conns = doc["connections"]
    summary = doc["summary"]
    assert summary["connections"] == len(conns)
    for outcome in ("completed", "refused", "unanswered", "no_ack", "no_syn"):
        assert summary[outcome] == sum(1 for c in conns if c["outcome"] == outcome), outcome
    assert summary["syn_seen"] == sum(1 for c in conns if c["first_syn_frame"] is not None)
    assert summary["syn_retransmissions"] == sum(max(0, c["syn_count"] - 1) for c in conns)
    assert summary["negative_time"] == sum(1 for c in conns if c["anomaly"] == "negative_time")
    rtts = sorted(ms_to_ns(c["rtt_ms"]) for c in conns if c["rtt_ms"] is not None and c["anomaly"] is None)
    assert doc["rtt_ms"]["count"] == len(rtts)
    if rtts:
        for p in (50, 90, 95, 99):
            assert abs(ms_to_ns(doc["rtt_ms"][f"p{p}"]) - nearest_rank(rtts, p)) <= US, f"p{p}"
        assert abs(ms_to_ns(doc["rtt_ms"]["min"]) - rtts[0]) <= US
        assert abs(ms_to_ns(doc["rtt_ms"]["max"]) - rtts[-1]) <= US
        assert abs(ms_to_ns(doc["rtt_ms"]["mean"]) - sum(rtts) / len(rtts)) <= US
    assert sum(b["count"] for b in doc["histogram"]) == len(rtts)
    lower = -1
    for b in doc["histogram"]:
        upper = ms_to_ns(b["upper_ms"]) if b["upper_ms"] is not None else float("inf")
        assert b["count"] == sum(1 for r in rtts if lower < r <= upper), b
        lower = upper
