"""Independent oracles computed from tshark's own per-packet fields."""

import math

TCP_FIELDS = ["frame.number", "frame.time_epoch", "tcp.stream", "tcp.flags", "tcp.seq_raw", "tcp.ack_raw", "tcp.len",
              "ip.src", "ip.dst", "ipv6.src", "ipv6.dst", "tcp.srcport", "tcp.dstport", "tcp.analysis.initial_rtt"]


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


class Handshake:
    def __init__(self, stream, client, cport, server, sport):
        self.stream, self.client, self.cport, self.server, self.sport = stream, client, cport, server, sport
        self.syns = []         # (frame, t_ns) of every SYN
        self.last_syn = None   # last SYN before the accepted SYN/ACK
        self.isn = None
        self.syn_len = 0
        self.synacks = 0
        self.first_synack = None
        self.last_synack = None
        self.server_isn = None
        self.ack = None
        self.refused = False

    @property
    def outcome(self):
        if not self.syns:
            return "no_syn"
        if self.ack:
            return "completed"
        if self.refused:
            return "refused"
        if self.first_synack:
            return "no_ack"
        return "unanswered"

    def legs(self):
        """(server_leg, client_leg, connect) in ns, None where undefined."""
        s = self.first_synack[1] - self.last_syn[1] if self.syns and self.first_synack else None
        c = self.ack[1] - self.last_synack[1] if self.first_synack and self.ack else None
        conn = self.ack[1] - self.syns[0][1] if self.syns and self.ack else None
        return s, c, conn


def handshakes(rows):
    """Handshakes per the rules of the Handshake RTT issue, from tshark rows."""
    streams = {}
    out = []
    for r in rows:
        if not r["tcp.stream"]:
            continue
        stream = int(r["tcp.stream"])
        frame, t = int(r["frame.number"]), epoch_ns(r["frame.time_epoch"])
        flags = int(r["tcp.flags"], 16)
        syn, ack, rst = bool(flags & 2), bool(flags & 0x10), bool(flags & 4)
        seq, acknum = int(r["tcp.seq_raw"]), int(r["tcp.ack_raw"] or 0)
        src = r["ip.src"] or r["ipv6.src"]
        dst = r["ip.dst"] or r["ipv6.dst"]
        sp, dp = int(r["tcp.srcport"]), int(r["tcp.dstport"])
        seglen = int(r["tcp.len"] or 0)
        cur = streams.get(stream)

        def new(client_is_src):
            h = Handshake(stream, src if client_is_src else dst, sp if client_is_src else dp,
                          dst if client_is_src else src, dp if client_is_src else sp)
            streams[stream] = h
            out.append(h)
            return h

        from_client = cur is not None and (src, sp) == (cur.client, cur.cport)
        from_server = cur is not None and (src, sp) == (cur.server, cur.sport) and (dst, dp) != (cur.server, cur.sport)
        if syn and not ack:
            if (cur is None or not cur.syns or cur.ack or cur.refused or not from_client
                    or (cur.first_synack and seq != cur.isn)):
                cur = new(True)
            cur.syns.append((frame, t))
            if not cur.first_synack:
                cur.last_syn, cur.isn, cur.syn_len = (frame, t), seq, seglen
        elif syn and ack:
            if cur is None:
                cur = new(False)
                from_server = True
            if not from_server:
                continue
            cur.synacks += 1
            if cur.ack:
                continue
            if not cur.first_synack:
                want = (cur.isn + 1) % 2**32 if cur.syns else None
                if not cur.syns or acknum in (want, (want + cur.syn_len) % 2**32):
                    cur.first_synack = cur.last_synack = (frame, t)
                    cur.server_isn = seq
            elif seq == cur.server_isn:
                cur.last_synack = (frame, t)
        elif rst:
            if cur is not None and cur.syns and not cur.first_synack and not cur.refused and from_server:
                cur.refused = True
        elif ack:
            if cur is None:
                cur = new(sp > dp or sp == dp)
                from_client = (src, sp) == (cur.client, cur.cport)
            if cur.first_synack and not cur.ack and from_client and acknum == (cur.server_isn + 1) % 2**32:
                cur.ack = (frame, t)
    return out


def initial_rtts(rows):
    """tcp.analysis.initial_rtt per stream, in ns, as Wireshark reports it."""
    rtts = {}
    for r in rows:
        if r["tcp.analysis.initial_rtt"] and r["tcp.stream"]:
            rtts.setdefault(int(r["tcp.stream"]), epoch_ns(r["tcp.analysis.initial_rtt"]))
    return rtts


def nearest_rank(sorted_values, p):
    n = len(sorted_values)
    rank = max(1, min(n, math.ceil(p / 100 * n - 1e-9)))
    return sorted_values[rank - 1]
