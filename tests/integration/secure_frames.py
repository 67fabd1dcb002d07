"""The TLS and QUIC handshakes of a capture as tshark's own dissectors see them
(the oracle for the "tls" and "quic" sections of -z triage_rtt,json): frame by
frame from tshark's tls.* and quic.* fields, with none of Triage's parsing."""

from decimal import Decimal

TLS_FIELDS = ["frame.number", "frame.time_epoch", "tcp.stream", "ip.src", "ipv6.src", "tcp.srcport",
              "tls.record.content_type", "tls.handshake.type", "tls.handshake.extensions_server_name",
              "tls.handshake.extensions.supported_version", "tls.handshake.version", "tcp.segment",
              "tcp.flags.reset", "tls.handshake.random", "tls.record.opaque_type"]
QUIC_FIELDS = ["frame.number", "frame.time_epoch", "ip.src", "ipv6.src", "ip.dst", "ipv6.dst", "udp.srcport",
               "udp.dstport",
               "quic.long.packet_type", "quic.version", "quic.dcid", "quic.scid", "quic.header_form"]
HELLO_RETRY = "cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c"


def values(row, field):
    v = row.get(field, "")
    return [x for x in v.split(",") if x != ""]


def ints(row, field):
    return [int(x, 0) for x in values(row, field)]


def source(row):
    return row["ip.src"].split(",")[-1] or row["ipv6.src"].split(",")[-1]


def ms(a, b):
    """Milliseconds from epoch time a to b, exact."""
    return (Decimal(b) - Decimal(a)) * 1000


def tls_handshakes(rows):
    """{tcp.stream: {...}} for streams whose first TLS handshake message is a ClientHello."""
    out = {}
    times = {int(r["frame.number"]): r["frame.time_epoch"] for r in rows}  # a record's segments come earlier
    for r in rows:
        if not r["tcp.stream"]:
            continue
        stream = int(r["tcp.stream"].split(",")[0])
        types = ints(r, "tls.handshake.type")
        src = (source(r), int(r["tcp.srcport"].split(",")[0]))
        h = out.get(stream)
        if h is None:
            if 1 not in types:
                continue
            segments = ints(r, "tcp.segment")
            first = min(segments) if segments else int(r["frame.number"])
            sni = values(r, "tls.handshake.extensions_server_name")
            out[stream] = h = {"client": src, "client_hello_frame": first, "hello_frame": first,
                               "ch_reassembled_in": int(r["frame.number"]), "sni": sni[0] if sni else None,
                               "server_hello_frame": None, "finished_frame": None, "version": None,
                               "alert_frame": None, "rst_frame": None, "times": times, "hello_retry": False}
        if h["finished_frame"] or h["alert_frame"] or h["rst_frame"]:
            continue
        from_client = src == h["client"]
        # TLS 1.3's encrypted records: tls.record.opaque_type (23 on the wire).
        content = ints(r, "tls.record.content_type") + ints(r, "tls.record.opaque_type")
        if r["tcp.flags.reset"] in ("1", "True"):
            h["rst_frame"] = int(r["frame.number"])
            continue
        if from_client and 1 in types and h["hello_retry"] and h["server_hello_frame"] is None:
            segments = ints(r, "tcp.segment")  # the second ClientHello, after a HelloRetryRequest
            h["hello_frame"] = min(segments) if segments else int(r["frame.number"])
        elif not from_client and 2 in types and h["server_hello_frame"] is None:
            if HELLO_RETRY in r["tls.handshake.random"].replace(":", ""):
                h["hello_retry"] = True
            else:
                # A ServerHello in a record that spans segments (with the
                # certificates) arrives with the segment that starts it.
                segments = ints(r, "tcp.segment")
                h["server_hello_frame"] = min(segments) if segments else int(r["frame.number"])
                sv = ints(r, "tls.handshake.extensions.supported_version")
                hv = ints(r, "tls.handshake.version")
                h["version"] = sv[-1] if sv else (hv[-1] if hv else None)
        elif 21 in content:
            h["alert_frame"] = int(r["frame.number"])
        elif from_client and h["server_hello_frame"] is not None:
            tls13 = h["version"] == 0x0304
            if (tls13 and 23 in content) or (not tls13 and (20 in content or 23 in content)):
                h["finished_frame"] = int(r["frame.number"])
    return out


def destination(row):
    return row["ip.dst"].split(",")[-1] or row["ipv6.dst"].split(",")[-1]


def quic_handshakes(rows):
    """{(client, client port, server, server port): the QUIC handshake points}, from the first client Initial."""
    out = {}
    for r in rows:
        form = values(r, "quic.header_form")
        if not form:
            continue
        types = ints(r, "quic.long.packet_type")
        frame = int(r["frame.number"])
        fwd = (source(r), int(r["udp.srcport"]), destination(r), int(r["udp.dstport"]))
        rev = (fwd[2], fwd[3], fwd[0], fwd[1])
        if fwd in out:
            h, from_client = out[fwd], True
        elif rev in out:
            h, from_client = out[rev], False
        else:
            if form[0] not in ("1", "True") or not types or types[0] != 0:
                continue
            out[fwd] = h = {"first_initial_frame": frame, "initial_frame": frame, "server_initial_frame": None,
                            "server_last_frame": None, "handshake_frame": None, "retry": False, "times": {}}
            from_client = True
        h["times"][frame] = r["frame.time_epoch"]
        if not from_client and 3 in types and h["server_initial_frame"] is None and not h["retry"]:
            h["retry"], h["initial_frame"] = True, None  # the client's next Initial starts the answered attempt
        elif from_client and 0 in types and h["initial_frame"] is None:
            h["initial_frame"] = frame
        elif not from_client:
            if h["handshake_frame"] is None:
                if h["server_initial_frame"] is None and 0 in types:
                    h["server_initial_frame"] = frame
                if h["server_initial_frame"] is not None:
                    h["server_last_frame"] = frame
        elif h["server_initial_frame"] is not None and h["handshake_frame"] is None and 2 in types:
            h["handshake_frame"] = frame
    return out
