// TLS and QUIC handshakes from hand-built bytes (RFC 8446 / RFC 9000 layouts).
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "triage/json_writer.hpp"
#include "triage/secure_handshake.hpp"

using namespace triage;
using Bytes = std::vector<std::uint8_t>;

namespace {
constexpr Nanos kMs = 1'000'000;

void put16(Bytes& b, unsigned v) {
    b.push_back(static_cast<std::uint8_t>(v >> 8));
    b.push_back(static_cast<std::uint8_t>(v));
}
void put24(Bytes& b, unsigned v) {
    b.push_back(static_cast<std::uint8_t>(v >> 16));
    put16(b, v & 0xffff);
}
void put32(Bytes& b, std::uint32_t v) {
    put16(b, v >> 16);
    put16(b, v & 0xffff);
}
Bytes cat(std::initializer_list<Bytes> parts) {
    Bytes out;
    for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

// ---- TLS --------------------------------------------------------------------------
Bytes record(std::uint8_t type, const Bytes& body, unsigned version = 0x0303) {
    Bytes r{type};
    put16(r, version);
    put16(r, static_cast<unsigned>(body.size()));
    return cat({r, body});
}
Bytes handshake(std::uint8_t type, const Bytes& body) {
    Bytes h{type};
    put24(h, static_cast<unsigned>(body.size()));
    return cat({h, body});
}
Bytes extension(unsigned type, const Bytes& data) {
    Bytes e;
    put16(e, type);
    put16(e, static_cast<unsigned>(data.size()));
    return cat({e, data});
}
Bytes client_hello(const std::string& sni) {
    Bytes b;
    put16(b, 0x0303);
    b.insert(b.end(), 32, 0x11);  // random
    b.push_back(0);               // session id
    put16(b, 2);
    put16(b, 0x1301);  // one cipher suite
    b.push_back(1);
    b.push_back(0);  // compression
    Bytes exts = extension(0x000a, {0, 2, 0, 0x1d});
    if (!sni.empty()) {
        Bytes name{0};
        put16(name, static_cast<unsigned>(sni.size()));
        name.insert(name.end(), sni.begin(), sni.end());
        Bytes list;
        put16(list, static_cast<unsigned>(name.size()));
        exts = cat({exts, extension(0, cat({list, name}))});
    }
    put16(b, static_cast<unsigned>(exts.size()));
    return handshake(1, cat({b, exts}));
}
Bytes server_hello(unsigned selected, bool hello_retry = false) {
    static const std::uint8_t hrr[32] = {0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c,
                                         0x02, 0x1e, 0x65, 0xb8, 0x91, 0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb,
                                         0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c};
    Bytes b;
    put16(b, 0x0303);
    if (hello_retry)
        b.insert(b.end(), hrr, hrr + 32);
    else
        b.insert(b.end(), 32, 0x22);
    b.push_back(0);
    put16(b, 0x1301);
    b.push_back(0);
    Bytes exts;
    if (selected) {
        Bytes v;
        put16(v, selected);
        exts = extension(43, v);
    }
    put16(b, static_cast<unsigned>(exts.size()));
    return handshake(2, cat({b, exts}));
}

struct Conn {
    TlsTracker t;
    std::uint32_t cseq = 1000, sseq = 5000, frame = 0;
    IpAddress client = *IpAddress::parse("192.0.2.1"), server = *IpAddress::parse("198.51.100.1");
    TlsUpdate send(bool from_client, const Bytes& payload, Nanos at, std::uint16_t flags = 0x18) {
        TcpSegment s;
        s.stream = 7;
        s.frame = ++frame;
        s.time = at;
        s.src = from_client ? client : server;
        s.dst = from_client ? server : client;
        s.sport = from_client ? 40000 : 443;
        s.dport = from_client ? 443 : 40000;
        s.flags = flags;
        std::uint32_t& seq = from_client ? cseq : sseq;
        s.seq = seq;
        s.seglen = static_cast<std::uint32_t>(payload.size());
        seq += s.seglen;
        PayloadRef ref;
        ref.payload = payload.data();
        ref.available = payload.size();
        return t.add(s, ref);
    }
};
}  // namespace

TEST(Tls, RecordHeaderAndHellos) {
    TlsRecordHeader h;
    const Bytes ch = record(22, client_hello("example.test"), 0x0301);
    ASSERT_TRUE(tls_record_header(ch.data(), ch.size(), &h));
    EXPECT_EQ(h.type, 22);
    EXPECT_EQ(h.version, 0x0301);
    EXPECT_FALSE(tls_record_header(reinterpret_cast<const std::uint8_t*>("GET / HTTP/1.1"), 14, &h));
    EXPECT_EQ(client_hello_sni(ch.data() + 5, ch.size() - 5), "example.test");
    EXPECT_EQ(client_hello_sni(ch.data() + 5, 40), "");  // cut before the extension: none, no over-read
    const Bytes no_sni = client_hello("");
    EXPECT_EQ(client_hello_sni(no_sni.data(), no_sni.size()), "");
    ServerHelloInfo sh;
    const Bytes s13 = server_hello(0x0304);
    ASSERT_TRUE(parse_server_hello(s13.data(), s13.size(), &sh));
    EXPECT_EQ(sh.version, 0x0304);
    EXPECT_FALSE(sh.hello_retry);
    const Bytes s12 = server_hello(0);
    ASSERT_TRUE(parse_server_hello(s12.data(), s12.size(), &sh));
    EXPECT_EQ(sh.version, 0x0303);
    const Bytes retry = server_hello(0x0304, true);
    ASSERT_TRUE(parse_server_hello(retry.data(), retry.size(), &sh));
    EXPECT_TRUE(sh.hello_retry);
    EXPECT_EQ(tls_version_name(0x0304), "TLS 1.3");
    EXPECT_EQ(tls_version_name(0xfb1a), "0xfb1a");
}

TEST(Tls, Tls13HandshakeLegs) {
    Conn c;
    c.send(true, {}, 0, 0x02);  // SYN: no data, nothing happens
    auto up = c.send(true, record(22, client_hello("a.test"), 0x0301), 10 * kMs);
    ASSERT_TRUE(up.is_new);
    c.send(false, cat({record(22, server_hello(0x0304)), record(20, {1}), record(23, Bytes(900, 7))}), 40 * kMs);
    c.send(false, record(23, Bytes(1200, 8)), 41 * kMs);
    up = c.send(true, cat({record(20, {1}), record(23, Bytes(53, 9))}), 45 * kMs);
    EXPECT_TRUE(up.measured_now);
    const TlsHandshake& h = c.t.handshakes().at(0);
    EXPECT_EQ(h.outcome(), TlsOutcome::completed);
    EXPECT_EQ(h.sni, "a.test");
    EXPECT_EQ(h.version, 0x0304);
    EXPECT_EQ(h.server_leg(), 30 * kMs);
    EXPECT_EQ(h.handshake(), 35 * kMs);
    EXPECT_EQ(h.finished_frame, 5u);
    EXPECT_EQ(c.t.outcome_count(TlsOutcome::completed), 1u);
}

TEST(Tls, Tls12RecordsSpanningSegments) {
    Conn c;
    c.send(true, record(22, client_hello("b.test")), 0);
    // SH + certificate in one 3000-byte record over three segments, then ServerHelloDone.
    const Bytes flight =
        cat({record(22, cat({server_hello(0), handshake(11, Bytes(2900, 1))})), record(22, handshake(14, {}))});
    c.send(false, Bytes(flight.begin(), flight.begin() + 1400), 20 * kMs);
    c.send(false, Bytes(flight.begin() + 1400, flight.begin() + 2800), 21 * kMs);
    // A client ACK-only segment, then a retransmitted old server segment: ignored.
    c.send(true, {}, 22 * kMs, 0x10);
    c.send(false, Bytes(flight.begin() + 2800, flight.end()), 23 * kMs);
    c.sseq -= 1400;
    c.send(false, Bytes(flight.begin() + 1400, flight.begin() + 2800), 24 * kMs);
    c.sseq += 1400;
    EXPECT_EQ(c.t.handshakes().at(0).outcome(), TlsOutcome::no_client_finished);
    c.send(true, cat({record(22, handshake(16, Bytes(66, 2))), record(20, {1}), record(22, Bytes(40, 3))}), 50 * kMs);
    const TlsHandshake& h = c.t.handshakes().at(0);
    EXPECT_EQ(h.outcome(), TlsOutcome::completed);
    EXPECT_EQ(h.version, 0x0303);
    EXPECT_EQ(h.server_leg(), 20 * kMs);
    EXPECT_EQ(h.handshake(), 50 * kMs);
}

TEST(Tls, HelloRetryRequestMeasuresTheSecondAttempt) {
    Conn c;
    c.send(true, record(22, client_hello("c.test"), 0x0301), 0);
    c.send(false, cat({record(22, server_hello(0x0304, true)), record(20, {1})}), 30 * kMs);
    c.send(true, cat({record(20, {1}), record(22, client_hello("c.test"))}), 31 * kMs);
    c.send(false, record(22, server_hello(0x0304)), 62 * kMs);
    c.send(true, record(23, Bytes(53, 1)), 70 * kMs);
    const TlsHandshake& h = c.t.handshakes().at(0);
    EXPECT_TRUE(h.retried());
    EXPECT_EQ(h.client_hellos, 2);
    EXPECT_EQ(h.server_leg(), 31 * kMs);  // the second ClientHello to the real ServerHello
    EXPECT_EQ(h.handshake(), 70 * kMs);   // from the first ClientHello
    EXPECT_EQ(h.outcome(), TlsOutcome::completed);
}

TEST(Tls, FailuresAreCountedNotMeasured) {
    {  // a plaintext alert from the server
        Conn c;
        c.send(true, record(22, client_hello("d.test")), 0);
        c.send(false, record(21, {2, 40}), 5 * kMs);
        EXPECT_EQ(c.t.handshakes().at(0).outcome(), TlsOutcome::alert);
        EXPECT_EQ(c.t.handshakes().at(0).alert_description, 40);
    }
    {  // TLS 1.3: the client's first encrypted record is 19 bytes, an alert
        Conn c;
        c.send(true, record(22, client_hello("e.test")), 0);
        c.send(false, cat({record(22, server_hello(0x0304)), record(23, Bytes(500, 1))}), 5 * kMs);
        c.send(true, cat({record(20, {1}), record(23, Bytes(19, 1))}), 6 * kMs);
        EXPECT_EQ(c.t.handshakes().at(0).outcome(), TlsOutcome::alert);
        EXPECT_EQ(c.t.handshakes().at(0).alert_description, 255);
    }
    {  // reset before the ServerHello; then nothing more changes it
        Conn c;
        c.send(true, record(22, client_hello("f.test")), 0);
        c.send(false, {}, 5 * kMs, 0x14);
        c.send(false, record(22, server_hello(0x0304)), 6 * kMs);
        EXPECT_EQ(c.t.handshakes().at(0).outcome(), TlsOutcome::reset);
        EXPECT_FALSE(c.t.handshakes().at(0).has_server_leg());
    }
    {  // no answer
        Conn c;
        c.send(true, record(22, client_hello("g.test")), 0);
        EXPECT_EQ(c.t.handshakes().at(0).outcome(), TlsOutcome::no_server_hello);
        const TlsReport r = c.t.report();
        EXPECT_EQ(r.connections, 1u);
        EXPECT_EQ(r.handshake.count, 0u);
    }
}

TEST(Tls, NotTlsAfterEightPlaintextSegmentsButStartTlsBefore) {
    Conn c;
    const Bytes text{'2', '2', '0', ' ', 'h', 'i', '\r', '\n'};
    for (int i = 0; i < 3; ++i) c.send(i % 2 == 0, text, i * kMs);
    c.send(true, record(22, client_hello("smtp.test")), 10 * kMs);  // after STARTTLS
    ASSERT_EQ(c.t.handshakes().size(), 1u);
    Conn d;
    for (int i = 0; i < 8; ++i) d.send(i % 2 == 0, text, i * kMs);
    d.send(true, record(22, client_hello("late.test")), 10 * kMs);
    EXPECT_TRUE(d.t.handshakes().empty());
}

// A stream whose data starts with TLS application data had its handshake
// before the capture: it is not probed further, so a later record that looks
// like a ClientHello (as encrypted bytes may) starts no handshake. Plaintext
// first (STARTTLS) is still probed.
TEST(Tls, ApplicationDataFirstIsAStreamAlreadyPastItsHandshake) {
    Conn c;
    c.send(true, record(23, Bytes(32, 0xab)), 0);
    c.send(true, record(22, client_hello("late.test")), kMs);
    EXPECT_TRUE(c.t.handshakes().empty());
    Conn d;
    d.send(false, Bytes{'2', '2', '0', ' ', 'h', 'i', '\r', '\n'}, 0);
    d.send(true, record(22, client_hello("starttls.test")), kMs);
    EXPECT_EQ(d.t.handshakes().size(), 1u);
}

TEST(Tls, PayloadFoundInTheFrame) {
    // Ethernet + IPv4 + TCP (ports 40000 -> 443, seq 0x01020304, 32-byte header) + payload.
    Bytes frame(14, 0);
    frame.insert(frame.end(), {0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 6, 0, 0, 192, 0, 2, 1, 198, 51, 100, 1});
    Bytes tcp;
    put16(tcp, 40000);
    put16(tcp, 443);
    put32(tcp, 0x01020304);
    tcp.resize(32, 0);
    const Bytes payload = record(22, client_hello("frame.test"));
    frame = cat({frame, tcp, payload, Bytes(4, 0xee)});  // a trailer after the payload
    std::size_t n = 0;
    const std::uint8_t* p = find_tcp_payload(frame.data(), frame.size(), 40000, 443, 0x01020304, 32,
                                             static_cast<std::uint32_t>(payload.size()), &n);
    ASSERT_EQ(p, frame.data() + 14 + 20 + 32);
    EXPECT_EQ(n, payload.size());
    EXPECT_EQ(find_tcp_payload(frame.data(), frame.size(), 40000, 443, 0x01020305, 32, 10, &n), nullptr);
    // Cut short by the snap length: what there is.
    EXPECT_NE(find_tcp_payload(frame.data(), 14 + 20 + 32 + 10, 40000, 443, 0x01020304, 32, 500, &n), nullptr);
    EXPECT_EQ(n, 10u);
}

// ---- QUIC -------------------------------------------------------------------------
namespace {
Bytes cid(std::uint8_t seed, std::size_t len) {
    Bytes b{static_cast<std::uint8_t>(len)};
    for (std::size_t i = 0; i < len; ++i) b.push_back(static_cast<std::uint8_t>(seed + i));
    return b;
}
// A long-header packet: first byte, version, DCID, SCID, [token], length, body.
Bytes long_packet(std::uint8_t first, std::uint32_t version, const Bytes& dcid, const Bytes& scid, std::size_t body,
                  bool initial) {
    Bytes b{first};
    put32(b, version);
    b = cat({b, dcid, scid});
    if (initial) b.push_back(0);  // no token
    put16(b, 0x4000 | static_cast<unsigned>(body));
    b.insert(b.end(), body, 0x5a);
    return b;
}
Bytes padded(Bytes b, std::size_t to = 1200) {
    if (b.size() < to) b.resize(to, 0);
    return b;
}

struct Quic {
    QuicTracker t;
    std::uint32_t frame = 0;
    IpAddress client = *IpAddress::parse("2001:db8:1::1"), server = *IpAddress::parse("2001:db8:2::1");
    QuicUpdate send(bool from_client, const Bytes& payload, Nanos at) {
        UdpDatagram d;
        d.frame = ++frame;
        d.time = at;
        d.src = from_client ? client : server;
        d.dst = from_client ? server : client;
        d.sport = from_client ? 50000 : 443;
        d.dport = from_client ? 443 : 50000;
        d.length = payload.size();
        PayloadRef ref;
        ref.payload = payload.data();
        ref.available = payload.size();
        return t.add(d, ref);
    }
};
const Bytes kOdcid = cid(0x10, 8), kClient = cid(0x30, 4), kServer = cid(0x50, 8);
}  // namespace

TEST(Quic, ParsesCoalescedPackets) {
    const Bytes dg = cat({long_packet(0xc3, 1, kOdcid, kClient, 300, true),
                          long_packet(0xe3, 1, kOdcid, kClient, 100, false), Bytes{0x43, 1, 2, 3}});
    QuicDatagram q;
    ASSERT_TRUE(parse_quic(dg.data(), dg.size(), dg.size(), &q));
    ASSERT_EQ(q.count, 3u);
    EXPECT_EQ(q.packets[0].type, QuicPacketType::initial);
    EXPECT_EQ(q.packets[0].dcid.hex(), "1011121314151617");
    EXPECT_EQ(q.packets[0].scid.hex(), "30313233");
    EXPECT_EQ(q.packets[1].type, QuicPacketType::handshake);
    EXPECT_EQ(q.packets[2].type, QuicPacketType::short_header);
    // Version 2 numbers its types differently: 0b01 is Initial.
    const Bytes v2 = long_packet(0xd0, 0x6b3343cf, kOdcid, kClient, 50, true);
    ASSERT_TRUE(parse_quic(v2.data(), v2.size(), v2.size(), &q));
    EXPECT_EQ(q.packets[0].type, QuicPacketType::initial);
    // Zero padding after the packets is not a packet; an unknown version is not parsed.
    const Bytes pad = padded(long_packet(0xc3, 1, kOdcid, kClient, 300, true));
    ASSERT_TRUE(parse_quic(pad.data(), pad.size(), pad.size(), &q));
    EXPECT_EQ(q.count, 1u);
    const Bytes unknown = long_packet(0xc3, 0x1a2a3a4a, kOdcid, kClient, 50, true);
    EXPECT_FALSE(parse_quic(unknown.data(), unknown.size(), unknown.size(), &q));
    // Cut anywhere: never more than the bytes given.
    for (std::size_t n = 0; n < dg.size(); ++n) parse_quic(dg.data(), n, dg.size(), &q);
}

TEST(Quic, HandshakeLegsByConnectionId) {
    Quic x;
    ASSERT_TRUE(x.send(true, padded(long_packet(0xc3, 1, kOdcid, kClient, 1100, true)), 0).is_new);
    x.send(false,
           cat({long_packet(0xc3, 1, kClient, kServer, 100, true), long_packet(0xe3, 1, kClient, kServer, 900, false)}),
           30 * kMs);
    x.send(false, long_packet(0xe3, 1, kClient, kServer, 1100, false), 31 * kMs);
    x.send(false, Bytes{0x41, 9, 9, 9}, 32 * kMs);  // 0.5-RTT data in a short header
    const auto up = x.send(true, long_packet(0xe3, 1, kServer, kClient, 60, false), 35 * kMs);
    EXPECT_TRUE(up.measured_now);
    x.send(false, Bytes{0x41, 9, 9, 9}, 40 * kMs);  // after: changes nothing
    const QuicHandshake& h = x.t.handshakes().at(0);
    EXPECT_EQ(h.outcome(), QuicOutcome::completed);
    EXPECT_EQ(h.server_leg(), 30 * kMs);
    EXPECT_EQ(h.server_last_frame, 4u);
    EXPECT_EQ(h.client_leg(), 3 * kMs);
    EXPECT_EQ(h.rtt(), 33 * kMs);
    EXPECT_EQ(h.connect(), 35 * kMs);
    EXPECT_EQ(h.server_cid.hex(), "5051525354555657");
}

TEST(Quic, RetryVersionNegotiationAndSmallDatagrams) {
    {  // Retry: the server leg is measured from the Initial that carries the token
        Quic x;
        x.send(true, padded(long_packet(0xc3, 1, kOdcid, kClient, 1100, true)), 0);
        Bytes retry{0xf0};
        put32(retry, 1);
        retry = cat({retry, kClient, cid(0x70, 8), Bytes(40, 1)});
        x.send(false, retry, 10 * kMs);
        EXPECT_EQ(x.t.handshakes().at(0).outcome(), QuicOutcome::retry);
        x.send(true, padded(long_packet(0xc3, 1, cid(0x70, 8), kClient, 1100, true)), 11 * kMs);
        x.send(false, long_packet(0xc3, 1, kClient, kServer, 100, true), 31 * kMs);
        x.send(true, long_packet(0xe3, 1, kServer, kClient, 60, false), 33 * kMs);
        const QuicHandshake& h = x.t.handshakes().at(0);
        EXPECT_TRUE(h.retried());
        EXPECT_EQ(h.outcome(), QuicOutcome::completed);
        EXPECT_EQ(h.server_leg(), 20 * kMs);
        EXPECT_EQ(h.connect(), 33 * kMs);
        EXPECT_EQ(x.t.handshakes().size(), 1u);
    }
    {  // a version the server does not speak (nor this tracker): a handshake once the VN names it
        Quic x;
        x.send(true, padded(long_packet(0xc3, 0x1a2a3a4a, kOdcid, kClient, 1100, true)), 0);
        EXPECT_TRUE(x.t.handshakes().empty());
        Bytes vn{0x80};
        put32(vn, 0);
        vn = cat({vn, kClient, kOdcid});
        put32(vn, 1);
        x.send(false, vn, 5 * kMs);
        ASSERT_EQ(x.t.handshakes().size(), 1u);
        EXPECT_EQ(x.t.handshakes().at(0).outcome(), QuicOutcome::version_negotiation);
        EXPECT_EQ(x.t.report().outcomes[static_cast<std::size_t>(QuicOutcome::version_negotiation)], 1u);
    }
    {  // an Initial in a datagram under 1200 bytes does not start a handshake; 0-RTT is noted
        Quic x;
        x.send(true, long_packet(0xc3, 1, kOdcid, kClient, 300, true), 0);
        EXPECT_TRUE(x.t.handshakes().empty());
        x.send(true,
               padded(cat({long_packet(0xc3, 1, kOdcid, kClient, 300, true),
                           long_packet(0xd3, 1, kOdcid, kClient, 300, false)})),
               1 * kMs);
        ASSERT_EQ(x.t.handshakes().size(), 1u);
        EXPECT_TRUE(x.t.handshakes().at(0).zero_rtt);
        EXPECT_EQ(x.t.handshakes().at(0).outcome(), QuicOutcome::unanswered);
    }
}

TEST(SecureJson, SectionsAreWellFormed) {
    Conn c;
    c.send(true, record(22, client_hello("json\"test")), 0);
    c.send(false, record(22, server_hello(0x0304)), 1 * kMs);
    c.send(true, record(23, Bytes(53, 1)), 2 * kMs);
    JsonWriter w(2);
    write_tls_json(c.t, w);
    const std::string s = w.str();
    EXPECT_NE(s.find("\"sni\": \"json\\\"test\""), std::string::npos) << s;
    EXPECT_NE(s.find("\"TLS 1.3\": 1"), std::string::npos) << s;
    EXPECT_NE(s.find("\"handshake_ms\": 2.0"), std::string::npos) << s;
    std::string csv;
    tls_csv(c.t, [&csv](std::string_view chunk) { csv.append(chunk); });
    EXPECT_NE(csv.find(",\"json\"\"test\",TLS 1.3,"), std::string::npos) << csv;
}
