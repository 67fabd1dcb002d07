"""The Triage table statistics (-z <stat>,table; the GUI's table dialogs) read back and checked
against the JSON form of the same run, cell by cell.

The JSON is the reference here because its numbers are checked against tshark's own fields
and kernel truth elsewhere; what these checks add is that the table shows the same
numbers, in the same units, with nothing hidden. Derived cells (retried handshakes per
server, network path, top source, distinct hosts) are computed here from the JSON's
per-connection lists, not taken from the code under test.
"""

import datetime
import re

PROBLEM_KINDS = ("error", "warning", "note", "anomaly ", "negative_time")


def ms3(value):
    """A JSON millisecond value as the table shows it (three decimals), or "-" for none."""
    return "-" if value is None else f"{value:.3f}"


def utc(epoch):
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")


def by_first(rows):
    out = {}
    for r in rows:
        assert r[0] not in out, f"duplicate row {r[0]}"
        out[r[0]] = r
    return out


def problems(rows):
    """The Problems table's rows: the kind first, the message last, "-" between."""
    found = [r for r in rows if r[0].startswith(PROBLEM_KINDS)]
    for r in found:
        assert set(r[1:-1]) == {"-"} and r[-1] != "-", r
    return found


def parse_cli(text):
    """tshark's printout of one table statistic: (header, rows). Each cell is printed as
    "value |"; only the last column (Filter) may hold " |" itself ("... || ...")."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Filter for statistics:"))
    header = [h.strip() for h in lines[start + 1].rstrip().removesuffix(" |").split(" |")]
    rows = []
    for line in lines[start + 2:]:
        if line.startswith("====="):
            break
        if not line.endswith(" |"):
            continue  # a table's title
        rows.append([c.strip() for c in line[:-2].split(" |", len(header) - 1)])
    return header, rows


def check_rtt(header, rows, js):
    assert header[:7] == ["Server", "Handshakes", "Completed", "Refused", "Unanswered", "No ACK", "Retried"]
    assert header[-2:] == ["Network path", "Filter"]
    col = {name: i for i, name in enumerate(header)}
    table = by_first(rows)
    path = {"server_leg": "server leg", "client_leg": "client leg"}  # null: the legs are too close to tell

    def check(row, counts, summaries, retried, legs):
        assert row[col["Handshakes"]] == str(counts["connections"])
        for name, key in [("Completed", "completed"), ("Refused", "refused"), ("Unanswered", "unanswered"),
                          ("No ACK", "no_ack")]:
            assert row[col[name]] == str(counts[key]), name
        assert row[col["Retried"]] == str(retried)
        for leg, key in [("RTT", "rtt_ms"), ("Server leg", "server_leg_ms"), ("Client leg", "client_leg_ms")]:
            for stat in ["p50", "p90", "p95", "p99", "max"]:
                assert row[col[f"{leg} {stat} (ms)"]] == ms3(summaries[key][stat]), (row[0], leg, stat)
        clear = sorted({path[leg] for leg in legs if leg})
        expected = clear[0] if len(clear) == 1 else "mixed" if clear else "unclear" if legs else "-"
        assert row[col["Network path"]] == expected, row[0]

    conns = js["connections"]
    measured = [c for c in conns if c["rtt_ms"] is not None and not c.get("anomaly")]
    s = js["summary"]
    check(table["All servers"], s, js, s["retried_handshakes"], [c["network_leg"] for c in measured])
    for srv in js["servers"]:
        addr = f"[{srv['server']}]" if ":" in srv["server"] else srv["server"]
        row = table[f"{addr}:{srv['server_port']}"]

        def mine(c):
            return c["server"] == srv["server"] and c["server_port"] == srv["server_port"]

        check(row, srv, srv, sum(c["retried"] for c in conns if mine(c)),
              [c["network_leg"] for c in measured if mine(c)])
    buckets = [r for r in rows if re.match(r"\d\d: ", r[0])]
    assert [int(r[1]) for r in buckets] == [b["count"] for b in js["histogram"]]
    assert [r[0] for r in buckets] == sorted(r[0] for r in buckets)  # bucket order is text order
    kinds = {r[0].removeprefix("anomaly ") for r in problems(rows)}
    assert kinds >= set(js.get("anomaly_counts", {}))
    assert len(rows) == 1 + len(js["servers"]) + len(js["histogram"]) + len(problems(rows))


def check_egress(header, rows, js):
    col = {name: i for i, name in enumerate(header)}
    table = by_first(rows)
    for d in js["destinations"]:
        row = table[d["address"]]
        assert row[col["Scope"]] == d["scope"]
        assert row[col["Frames"]] == str(d["frames"])
        assert row[col["Bytes"]] == str(d["frame_bytes"])
        assert abs(float(row[col["Share (%)"]]) - 100 * d["share"]) <= 0.005 + 1e-4
        cost = d.get("estimated_cost")
        assert row[col["Estimated cost"]] == (f"{cost:.6f}" if cost is not None else "-")
        assert row[col["Sources"]] == str(len(d["sources"]))
        top = max(d["sources"], key=lambda s: s["frame_bytes"])
        assert row[col["Top source"]] == top["address"]
        assert row[col["Top source bytes"]] == str(top["frame_bytes"])
        if d["ports"]:
            port = max(d["ports"], key=lambda p: p["frame_bytes"])
            assert row[col["Top port"]] == f"{port['transport']}/{port['port']}"
        else:
            assert row[col["Top port"]] == "-"
    for direction, volume in js["totals"].items():
        assert table[direction][col["Frames"]] == str(volume["frames"])
        assert table[direction][col["Bytes"]] == str(volume["frame_bytes"])
    assert len(rows) == len(js["destinations"]) + len(js["totals"]) + len(problems(rows))


def check_unwanted(header, rows, js):
    col = {name: i for i, name in enumerate(header)}
    table = by_first(rows)

    def endpoint(a):
        return "non-IP" if a is None else a

    for a in js["alerts"]:
        row = table[a["protocol"]]
        assert row[col["Severity"]] == a["severity"]
        assert row[col["Category"]] == a["category"]
        assert row[col["Frames"]] == str(a["frames"])
        assert row[col["Bytes"]] == str(a["bytes"])
        hosts = {endpoint(c["src"]) for c in a["conversations"]} | {endpoint(c["dst"]) for c in a["conversations"]}
        assert row[col["Hosts"]] == str(len(hosts))
        assert row[col["Conversations"]] == str(len(a["conversations"]))
        assert row[col["First seen (UTC)"]] == utc(a["first_time"])
        assert row[col["Last seen (UTC)"]] == utc(a["last_time"])
        assert row[col["Reason"]] == a["reason"]
        first = a["conversations"][0]
        assert row[col["Between"]].startswith(f"{endpoint(first['src'])} -> {endpoint(first['dst'])}")
        assert row[col["Filter"]] == f'triage.unwanted == "{a["protocol"]}"'
    assert len(rows) == len(js["alerts"]) + len(problems(rows))


def check_secure(header, rows, section, outcomes, legs, retried_col, first_cols):
    """The TLS or QUIC table against the "tls"/"quic" member of the Handshake RTT JSON."""
    col = {name: i for i, name in enumerate(header)}
    assert header[:len(first_cols)] == first_cols and header[-1] == "Filter"

    def check(row, counts, summaries, retried):
        assert row[col["Handshakes"]] == str(counts["connections"]), row[0]
        for name, key in outcomes:
            assert row[col[name]] == str(counts[key]), (row[0], name)
        assert row[col[retried_col]] == str(retried), row[0]
        for leg, key in legs:
            for stat in ["p50", "p90", "p95", "p99", "max"]:
                assert row[col[f"{leg} {stat} (ms)"]] == ms3(summaries[key][stat]), (row[0], leg, stat)

    s = section["summary"]
    all_rows = [r for r in rows if r[0] == "All servers"]
    assert len(all_rows) == 1
    check(all_rows[0], s, section, s["retried_handshakes"])
    conns = section["connections"]
    per = [r for r in rows if r[0] not in ("All servers",) and not re.match(r"\d\d: ", r[0])
           and not r[0].startswith(PROBLEM_KINDS)]
    assert len(per) == len(section["servers"])
    sni = col.get("SNI")
    by_key = {(r[0], r[sni] if sni is not None else None): r for r in per}  # any order (the GUI sorts)
    assert len(by_key) == len(per)
    for srv in section["servers"]:
        addr = f"[{srv['server']}]" if ":" in srv["server"] else srv["server"]
        row = by_key[(f"{addr}:{srv['server_port']}", (srv["sni"] or "-") if sni is not None else None)]

        def mine(c):
            return all(c[k] == srv[k] for k in ("server", "server_port", "sni") if k in srv)

        check(row, srv, srv, sum(c["retried"] for c in conns if mine(c)))
    buckets = [r for r in rows if re.match(r"\d\d: ", r[0])]
    assert [int(r[col["Handshakes"]]) for r in buckets] == [b["count"] for b in section["histogram"]]


def check_tls(header, rows, rtt_js):
    check_secure(header, rows, rtt_js["tls"],
                 [("Completed", "completed"), ("Alert", "alert"), ("Reset", "reset"),
                  ("No ServerHello", "no_server_hello"), ("No client Finished", "no_client_finished")],
                 [("Server leg", "server_leg_ms"), ("Handshake", "handshake_ms")], "HelloRetryRequest",
                 ["Server", "SNI", "Handshakes"])


def check_quic(header, rows, rtt_js):
    check_secure(header, rows, rtt_js["quic"],
                 [("Completed", "completed"), ("Unanswered", "unanswered"),
                  ("Version negotiation", "version_negotiation"), ("Retry", "retry"),
                  ("No client reply", "no_client_reply")],
                 [("RTT", "rtt_ms"), ("Server leg", "server_leg_ms"), ("Client leg", "client_leg_ms")], "Retried",
                 ["Server", "Handshakes"])
