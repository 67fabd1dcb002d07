"""Outbound volume (-z triage_egress) against per-packet sums of tshark's fields."""

import collections
import csv
import io
import ipaddress

import pytest

from conftest import BROKEN, EXAMPLE, all_shared_captures, shared_capture, tree_title

LOCAL = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16", "127.0.0.0/8",
         "fc00::/7", "fe80::/10", "::1/128"]
PLATFORM = ["169.254.169.254/32", "168.63.129.16/32", "fd00:ec2::254/128"]
FIELDS = ["frame.len", "frame.protocols", "ip.src", "ip.dst", "ip.len", "ip.proto", "ipv6.src", "ipv6.dst",
          "ipv6.plen", "ipv6.nxt", "tcp.len", "udp.length", "tcp.dstport", "udp.dstport"]
CAPTURES = [c for c in all_shared_captures() if c not in BROKEN]


def nets(cidrs):
    return [ipaddress.ip_network(c) for c in cidrs]


def member(addr, networks):
    a = ipaddress.ip_address(addr)
    return any(a.version == n.version and a in n for n in networks)


def classify(src, dst, local, platform):
    src_local = member(src, local) or member(src, platform)
    if member(dst, platform):
        return "outbound_platform" if src_local else "other"
    dst_local = member(dst, local)
    if src_local:
        return "outbound_internal" if dst_local else "outbound_external"
    return "inbound" if dst_local else "other"


def oracle(tshark, capture, local=LOCAL, platform=PLATFORM, display_filter=None):
    """Per direction and per destination sums, from the outermost IP header."""
    totals = collections.defaultdict(lambda: [0, 0, 0, 0])
    dests = collections.defaultdict(lambda: [0, 0, 0, 0])
    sources = collections.defaultdict(lambda: [0, 0, 0, 0])
    local, platform = nets(local), nets(platform)
    for r in tshark.fields(capture, FIELDS, display_filter):
        layers = r["frame.protocols"].split(":")
        ips = [p for p in layers if p in ("ip", "ipv6")]
        if not ips:
            continue
        if ips[0] == "ip":
            if not r["ip.src"]:
                continue
            src, dst, ip_len, proto = r["ip.src"], r["ip.dst"], int(r["ip.len"]), int(r["ip.proto"] or 0)
        else:
            if not r["ipv6.src"]:
                continue
            src, dst, ip_len, proto = r["ipv6.src"], r["ipv6.dst"], int(r["ipv6.plen"]) + 40, int(r["ipv6.nxt"] or 0)
        payload = 0
        if proto not in (1, 58):
            # the outer transport: the first of tcp/udp in the layer list
            transports = [p for p in layers if p in ("tcp", "udp")]
            if transports and transports[0] == "tcp" and r["tcp.len"]:
                payload = int(r["tcp.len"])
            elif transports and transports[0] == "udp" and r["udp.length"]:
                payload = max(0, int(r["udp.length"]) - 8)
        d = classify(src, dst, local, platform)
        row = [1, int(r["frame.len"]), ip_len, payload]
        for acc in [totals[d]] + ([dests[dst], sources[(dst, src)]] if d.startswith("outbound") else []):
            for i, v in enumerate(row):
                acc[i] += v
    return totals, dests, sources


def check(doc, totals, dests, sources):
    for d in ("outbound_external", "outbound_internal", "outbound_platform", "inbound", "other"):
        t = doc["totals"][d]
        assert [t["frames"], t["frame_bytes"], t["ip_bytes"], t["payload_bytes"]] == totals.get(d, [0, 0, 0, 0]), d
    got = {str(ipaddress.ip_address(x["address"])): x for x in doc["destinations"]}
    want = {str(ipaddress.ip_address(a)): v for a, v in dests.items()}
    assert set(got) == set(want)
    for addr, d in got.items():
        assert [d["frames"], d["frame_bytes"], d["ip_bytes"], d["payload_bytes"]] == want[addr], addr
        for s in d["sources"]:
            key = next(k for k in sources if str(ipaddress.ip_address(k[0])) == addr
                       and ipaddress.ip_address(k[1]) == ipaddress.ip_address(s["address"]))
            assert [s["frames"], s["frame_bytes"], s["ip_bytes"], s["payload_bytes"]] == sources[key]
    sizes = [d["frame_bytes"] for d in doc["destinations"]]
    assert sizes == sorted(sizes, reverse=True), "largest first"


@pytest.mark.parametrize("capture", CAPTURES + ["<example>"])
def test_volumes_equal_per_packet_sums(tshark, capture):
    path = EXAMPLE if capture == "<example>" else shared_capture(capture)
    doc = tshark.stat_json("triage_egress", path)
    check(doc, *oracle(tshark, path))


def test_download_counts_as_inbound(tshark):
    doc = tshark.stat_json("triage_egress", shared_capture("pcpp_sll.pcap"))
    t = doc["totals"]
    assert t["inbound"]["frame_bytes"] > 10 * t["outbound_external"]["frame_bytes"]
    ex = tshark.stat_json("triage_egress", EXAMPLE)
    big = ex["destinations"][0]
    assert big["address"] == "93.184.216.34" and big["scope"] == "external"
    assert ex["totals"]["inbound"]["payload_bytes"] > 100000  # the 100 kB download


def test_example_scopes_and_platform(tshark):
    doc = tshark.stat_json("triage_egress", EXAMPLE)
    scope = {d["address"]: d["scope"] for d in doc["destinations"]}
    assert scope["169.254.169.254"] == "platform"
    assert scope["10.0.0.6"] == "internal"
    assert scope["203.0.113.23"] == "external"
    assert doc["totals"]["outbound_platform"]["frames"] == sum(
        d["frames"] for d in doc["destinations"] if d["scope"] == "platform")
    top = doc["destinations"][0]
    assert top["ports"][0] == {"transport": "tcp", "port": 443, "frames": top["ports"][0]["frames"],
                               "frame_bytes": top["ports"][0]["frame_bytes"]}
    assert abs(sum(d["share"] for d in doc["destinations"]) - 1.0) < 1e-3


def test_destination_name_from_captured_dns(tshark):
    doc = tshark.stat_json("triage_egress", EXAMPLE, opts=("-N", "dn"))
    names = {d["address"]: d["name"] for d in doc["destinations"]}
    assert names["93.184.216.34"] == "www.example.com"
    plain = tshark.stat_json("triage_egress", EXAMPLE, opts=("-n",))
    assert all(d["name"] is None for d in plain["destinations"])


def test_custom_local_networks(tshark):
    path = shared_capture("pcpp_sll.pcap")
    local = ["10.0.0.8/32"]
    doc = tshark.stat_json("triage_egress", path, opts=("-o", "triage.local_networks:" + ",".join(local)))
    assert doc["local_networks"] == local
    check(doc, *oracle(tshark, path, local=local))


def test_platform_endpoints_can_be_extended(tshark):
    doc = tshark.stat_json("triage_egress", EXAMPLE,
                           opts=("-o", "triage.platform_endpoints:169.254.169.254,203.0.113.23"))
    scope = {d["address"]: d["scope"] for d in doc["destinations"]}
    assert scope["203.0.113.23"] == "platform"


def test_price_adds_estimated_cost(tshark):
    doc = tshark.stat_json("triage_egress", EXAMPLE, opts=("-o", "triage.egress_price_per_gb:0.09"))
    ext = doc["totals"]["outbound_external"]
    assert abs(ext["estimated_cost"] - ext["ip_bytes"] * 0.09 / 1e9) < 1e-6
    for d in doc["destinations"]:
        assert (d["estimated_cost"] is None) == (d["scope"] != "external")
    assert "estimated_cost" not in tshark.stat_json("triage_egress", EXAMPLE)["totals"]["outbound_external"]


def test_display_filter(tshark):
    doc = tshark.stat_json("triage_egress", EXAMPLE, filter="udp")
    check(doc, *oracle(tshark, EXAMPLE, display_filter="udp"))
    assert all(p["transport"] == "udp" for d in doc["destinations"] for p in d["ports"])


@pytest.mark.parametrize("pref,value,message", [
    ("local_networks", "10.0.0.0/33", 'invalid CIDR "10.0.0.0/33": prefix length 33 exceeds 32'),
    ("local_networks", "10.0.0.0/8,bogus", 'invalid CIDR "bogus": "bogus" is not an IPv4 or IPv6 address'),
    ("local_networks", "fc00::/x", 'invalid CIDR "fc00::/x": prefix length must be a number'),
    ("platform_endpoints", "300.1.1.1", 'invalid CIDR "300.1.1.1"'),
    ("egress_price_per_gb", "-1", 'triage.egress_price_per_gb: "-1" is negative'),
    ("egress_price_per_gb", "cheap", 'triage.egress_price_per_gb: "cheap" is not a number'),
])
def test_bad_preferences_give_clear_messages(tshark, pref, value, message):
    p = tshark.run("-r", tshark.capture(EXAMPLE), "-q", "-o", f"triage.{pref}:{value}", "-z", "triage_egress,json",
                   check=False)
    assert p.returncode != 0 and p.stdout == ""
    assert message in p.stderr


def test_csv_rows_per_destination_and_source(tshark):
    p = tshark.run("-r", tshark.capture(EXAMPLE), "-q", "-z", "triage_egress,csv")
    rows = list(csv.DictReader(io.StringIO(p.stdout)))
    doc = tshark.stat_json("triage_egress", EXAMPLE)
    assert len(rows) == sum(len(d["sources"]) for d in doc["destinations"])
    by_dest = collections.Counter()
    for r in rows:
        by_dest[r["destination"]] += int(r["frame_bytes"])
    for d in doc["destinations"]:
        assert by_dest[d["address"]] == d["frame_bytes"]


def test_tree_form_names_20_ports_per_destination_and_sums_the_rest(tshark):
    """The tree names a destination's first 20 ports (stats_tree's O(n)
    appends) and sums the others in "other ports"; the JSON with every port
    listed (triage.egress_max_ports:0) gives the same totals."""
    from gui import parse_stats_tree
    cap = shared_capture("pcpp_example.pcap")
    rows = parse_stats_tree(tshark.run("-r", tshark.capture(cap), "-q", "-z", "triage_egress,tree").stdout)
    doc = tshark.stat_json("triage_egress", cap, opts=("-o", "triage.egress_max_ports:0"))
    checked = 0
    for d in doc["destinations"]:
        node = f"Outbound bytes per destination/{d['address']} ({d['scope']})"
        ports = {p.rsplit("/", 1)[1]: int(v[0]) for p, v in rows.items()
                 if p.startswith(node + "/") and (" port " in p or p.endswith("/other ports"))}
        assert sum(ports.values()) == sum(p["frame_bytes"] for p in d["ports"]), node
        named = [p for p in ports if p != "other ports"]
        assert len(named) <= 20
        by_name = {f"{p['transport']} port {p['port']}": p["frame_bytes"] for p in d["ports"]}
        assert all(by_name[p] == ports[p] for p in named)
        checked += "other ports" in ports
    assert checked >= 1


def test_tree_form(tshark):
    p = tshark.run("-r", tshark.capture(EXAMPLE), "-q", "-z", "triage_egress,tree")
    doc = tshark.stat_json("triage_egress", EXAMPLE)
    assert tree_title("Outbound Volume") in p.stdout
    for d in ("outbound_external", "outbound_internal", "inbound"):
        row = [l for l in p.stdout.splitlines() if l.strip().startswith(d + " ")][0]
        assert int(row.split()[1]) == doc["totals"][d]["frame_bytes"], d
    assert "93.184.216.34 (external)" in p.stdout
