#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "triage/handshake_tracker.hpp"

using namespace triage;
using namespace triage::tcp_flags;

namespace {

const IpAddress C = *IpAddress::parse("10.0.0.5");
const IpAddress S = *IpAddress::parse("93.184.216.34");
constexpr Nanos MS = 1'000'000;

struct Feed {
    HandshakeTracker t;
    std::uint32_t frame = 0;
    HandshakeUpdate seg(std::uint32_t stream, bool from_client, std::uint16_t flags, std::uint32_t seq,
                        std::uint32_t ack, Nanos time, std::uint32_t len = 0, std::uint16_t cport = 40000) {
        TcpSegment s;
        s.stream = stream;
        s.frame = ++frame;
        s.time = time;
        s.src = from_client ? C : S;
        s.dst = from_client ? S : C;
        s.sport = from_client ? cport : 443;
        s.dport = from_client ? 443 : cport;
        s.flags = flags;
        s.seq = seq;
        s.ack = ack;
        s.seglen = len;
        return t.add(s);
    }
    Handshake only() {
        EXPECT_EQ(t.handshakes().size(), 1u);
        return t.handshakes().front();
    }
};

// Handshakes from C to several servers, each on a stream of its own: the SYN
// at `start`; unless unanswered, the SYN/ACK `server_leg` later; unless not
// acknowledged, the ACK `client_leg` after that.
struct Servers {
    HandshakeTracker t;
    std::uint32_t frame = 0, stream = 0;
    void handshake(const char* server, std::uint16_t port, Nanos start, Nanos server_leg, bool answered, bool acked,
                   Nanos client_leg) {
        TcpSegment s;
        s.stream = stream++;
        s.src = C;
        s.dst = *IpAddress::parse(server);
        s.sport = static_cast<std::uint16_t>(40000 + s.stream);
        s.dport = port;
        s.flags = syn;
        s.seq = 100;
        s.frame = ++frame;
        s.time = start;
        t.add(s);
        if (!answered) return;
        TcpSegment a = s;
        std::swap(a.src, a.dst);
        std::swap(a.sport, a.dport);
        a.flags = syn | ack;
        a.seq = 900;
        a.ack = 101;
        a.frame = ++frame;
        a.time = start + server_leg;
        t.add(a);
        if (!acked) return;
        TcpSegment c = s;
        c.flags = ack;
        c.seq = 101;
        c.ack = 901;
        c.frame = ++frame;
        c.time = start + server_leg + client_leg;
        t.add(c);
    }
};

}  // namespace

TEST(Handshake, CleanHandshake) {
    Feed f;
    f.seg(0, true, syn, 100, 0, 0);
    f.seg(0, false, syn | ack, 900, 101, 20 * MS);
    const auto up = f.seg(0, true, ack, 101, 901, 20 * MS + 40'000);
    EXPECT_TRUE(up.rtt_now_known);
    const Handshake& h = f.only();
    EXPECT_EQ(h.outcome(), Outcome::completed);
    EXPECT_EQ(h.server_leg(), 20 * MS);
    EXPECT_EQ(h.client_leg(), 40'000);
    EXPECT_EQ(h.rtt(), 20 * MS + 40'000);
    EXPECT_EQ(h.connect(), h.rtt());
    EXPECT_EQ(h.network_leg(), NetworkLeg::server_leg);
    EXPECT_EQ(f.t.outcome_count(Outcome::completed), 1u);
    EXPECT_EQ(f.t.outcome_count(Outcome::no_syn), 0u);
}

TEST(Handshake, RstAckRefusesWithoutRtt) {
    Feed f;
    f.seg(0, true, syn, 100, 0, 0);
    f.seg(0, false, rst | ack, 0, 101, 300'000);
    const Handshake& h = f.only();
    EXPECT_EQ(h.outcome(), Outcome::refused);
    EXPECT_FALSE(h.has_rtt());
    EXPECT_FALSE(h.has_server_leg());
}

TEST(Handshake, RetransmittedSynMeasuresFromLastSyn) {
    Feed f;
    f.seg(0, true, syn, 100, 0, 0);
    f.seg(0, true, syn, 100, 0, 1000 * MS);
    f.seg(0, false, syn | ack, 900, 101, 1150 * MS);
    f.seg(0, true, ack, 101, 901, 1150 * MS + 50'000);
    const Handshake& h = f.only();
    EXPECT_EQ(h.syn_count, 2u);
    EXPECT_TRUE(h.retried());
    EXPECT_EQ(h.server_leg(), 150 * MS);
    EXPECT_EQ(h.connect(), 1150 * MS + 50'000);
    EXPECT_EQ(f.t.report().syn_retransmissions, 1u);
}

TEST(Handshake, RetransmittedSynAckEndsClientLegAtLastOne) {
    Feed f;
    f.seg(0, true, syn, 100, 0, 0);
    f.seg(0, false, syn | ack, 900, 101, 85 * MS);
    f.seg(0, false, syn | ack, 900, 101, 1085 * MS);
    f.seg(0, true, ack, 101, 901, 1085 * MS + 60'000);
    const Handshake& h = f.only();
    EXPECT_EQ(h.server_leg(), 85 * MS);
    EXPECT_EQ(h.client_leg(), 60'000);
    EXPECT_EQ(h.synack_count, 2u);
}

TEST(Handshake, UnansweredAndNoAck) {
    Feed f;
    f.seg(0, true, syn, 1, 0, 0);
    f.seg(1, true, syn, 5, 0, 0, 0, 40001);
    f.seg(1, false, syn | ack, 7, 6, MS, 0, 40001);
    f.seg(1, true, rst, 6, 0, MS + 1, 0, 40001);
    EXPECT_EQ(f.t.handshakes()[0].outcome(), Outcome::unanswered);
    EXPECT_EQ(f.t.handshakes()[1].outcome(), Outcome::no_ack);
    const HandshakeReport r = f.t.report();
    EXPECT_EQ(r.outcomes[static_cast<int>(Outcome::unanswered)], 1u);
    EXPECT_EQ(r.server_leg.count, 1u);
    EXPECT_EQ(r.rtt.count, 0u);
}

TEST(Handshake, FastOpenSynAckMayAckTheData) {
    Feed f;
    f.seg(0, true, syn, 100, 0, 0, 38);
    f.seg(0, false, syn | ack, 900, 139, 150 * MS);
    f.seg(0, true, ack, 139, 901, 150 * MS + 40'000);
    EXPECT_EQ(f.only().outcome(), Outcome::completed);
}

TEST(Handshake, EcnBitsChangeNothing) {
    Feed f;
    f.seg(0, true, syn | 0x40 | 0x80, 100, 0, 0);
    f.seg(0, false, syn | ack | 0x40, 900, 101, 21 * MS);
    f.seg(0, true, ack, 101, 901, 21 * MS + 40'000);
    EXPECT_EQ(f.only().outcome(), Outcome::completed);
}

TEST(Handshake, SynAckNotAckingTheSynIsNotAccepted) {
    Feed f;
    f.seg(0, true, syn, 100, 0, 0);
    f.seg(0, false, syn | ack, 900, 555, MS);
    EXPECT_EQ(f.only().outcome(), Outcome::unanswered);
    EXPECT_EQ(f.only().synack_count, 1u);
}

TEST(Handshake, PortReuseStartsANewRecord) {
    Feed f;
    for (int round = 0; round < 2; ++round) {
        f.seg(7, true, syn, 100, 0, round * 10 * MS);
        f.seg(7, false, syn | ack, 900, 101, round * 10 * MS + MS);
        f.seg(7, true, ack, 101, 901, round * 10 * MS + 2 * MS);
    }
    ASSERT_EQ(f.t.handshakes().size(), 2u);
    EXPECT_EQ(f.t.handshakes()[1].syn_count, 1u);
    EXPECT_EQ(f.t.report().syn_retransmissions, 0u);
}

TEST(Handshake, MidStreamStartIsNoSyn) {
    Feed f;
    f.seg(3, false, syn | ack, 900, 101, 0);
    f.seg(3, true, ack, 101, 901, 649'000);
    const Handshake& h = f.only();
    EXPECT_EQ(h.outcome(), Outcome::no_syn);
    EXPECT_TRUE(h.has_client_leg());
    EXPECT_FALSE(h.has_rtt());
    Feed g;
    g.seg(4, true, ack, 1, 1, 0);
    EXPECT_EQ(g.only().outcome(), Outcome::no_syn);
    EXPECT_EQ(g.only().server_port, 443) << "the lower port is taken as the server";
}

TEST(Handshake, NegativeTimeIsAnAnomalyOutsideStatistics) {
    Feed f;
    f.seg(0, true, syn, 100, 0, 0);
    f.seg(0, false, syn | ack, 900, 101, 1000 * MS);
    f.seg(0, true, ack, 101, 901, 1);
    const Handshake& h = f.only();
    EXPECT_TRUE(h.negative_time());
    EXPECT_EQ(h.network_leg(), NetworkLeg::unclear);
    const HandshakeReport r = f.t.report();
    EXPECT_EQ(r.negative_time, 1u);
    EXPECT_EQ(r.rtt.count, 0u);
    EXPECT_EQ(r.server_leg.count, 0u);
}

// The negative-time handshakes the warning names are the ones the report
// counts: a context handshake (outside the window) is neither.
TEST(Handshake, NegativeTimeOnlyInsideTheWindow) {
    Feed f;
    f.t.set_window(FrameWindow{4, 6});
    f.seg(0, true, syn, 100, 0, 0);                             // frame 1: context
    f.seg(0, false, syn | ack, 900, 101, 1000 * MS);            // 2
    f.seg(0, true, ack, 101, 901, 1);                           // 3: negative, context
    f.seg(1, true, syn, 300, 0, 0, 0, 40001);                   // 4: counted
    f.seg(1, false, syn | ack, 700, 301, 1000 * MS, 0, 40001);  // 5
    f.seg(1, true, ack, 301, 701, 1, 0, 40001);                 // 6: negative, counted
    std::vector<std::uint32_t> streams;
    f.t.for_each_negative_time([&](const Handshake& h) { streams.push_back(h.stream); });
    EXPECT_EQ(streams, std::vector<std::uint32_t>{1});
    EXPECT_EQ(f.t.report().negative_time, 1u);
}

TEST(Handshake, SequenceNumbersWrap) {
    Feed f;
    f.seg(0, true, syn, 0xFFFFFFFF, 0, 0);
    f.seg(0, false, syn | ack, 0xFFFFFFFF, 0, MS);
    f.seg(0, true, ack, 0, 0, 2 * MS);
    EXPECT_EQ(f.only().outcome(), Outcome::completed);
}

TEST(Handshake, ServerSideCaptureMarksClientLeg) {
    Feed f;
    f.seg(0, true, syn, 1, 0, 0);
    f.seg(0, false, syn | ack, 9, 2, 30'000);
    f.seg(0, true, ack, 2, 10, 30'000 + 40 * MS);
    EXPECT_EQ(f.only().network_leg(), NetworkLeg::client_leg);
}

TEST(Handshake, ServerReportCountsRetriesAndNetworkLegs) {
    Feed f;
    f.seg(0, true, syn, 100, 0, 0);  // retried, server leg 150 ms: the network path
    f.seg(0, true, syn, 100, 0, 1000 * MS);
    f.seg(0, false, syn | ack, 900, 101, 1150 * MS);
    f.seg(0, true, ack, 101, 901, 1150 * MS + 50'000);
    f.seg(1, true, syn, 1, 0, 2000 * MS, 0, 40001);  // client leg 40 ms: the network path
    f.seg(1, false, syn | ack, 9, 2, 2000 * MS + 30'000, 0, 40001);
    f.seg(1, true, ack, 2, 10, 2040 * MS + 30'000, 0, 40001);
    f.seg(2, true, syn, 5, 0, 3000 * MS, 0, 40002);  // unanswered: no leg
    const HandshakeReport r = f.t.report();
    ASSERT_EQ(r.servers.size(), 1u);
    const ServerReport& s = r.servers[0];
    EXPECT_EQ(s.connections, 3u);
    EXPECT_EQ(s.retried, 1u);
    EXPECT_EQ(s.retried, r.retried);
    EXPECT_EQ(s.network_leg[static_cast<std::size_t>(NetworkLeg::server_leg)], 1u);
    EXPECT_EQ(s.network_leg[static_cast<std::size_t>(NetworkLeg::client_leg)], 1u);
    EXPECT_EQ(s.network_leg[static_cast<std::size_t>(NetworkLeg::unclear)], 0u);
    EXPECT_EQ(s.network_leg, r.network_leg);
}

TEST(Handshake, ServersInReportOrderEachWithItsOwnSamples) {
    // Three servers met interleaved; the report lists them most connections
    // first, and each server's summaries come from its own handshakes only.
    Servers f;
    const auto handshake = [&f](const char* server, Nanos start, Nanos server_leg, bool answered) {
        f.handshake(server, 443, start, server_leg, answered, answered, 50'000);
    };
    handshake("198.51.100.2", 0, 5 * MS, true);
    handshake("198.51.100.1", 1000 * MS, 10 * MS, true);
    handshake("198.51.100.3", 2000 * MS, 0, false);
    handshake("198.51.100.1", 3000 * MS, 30 * MS, true);
    handshake("198.51.100.2", 4000 * MS, 7 * MS, true);
    handshake("198.51.100.1", 5000 * MS, 20 * MS, true);
    const HandshakeReport r = f.t.report();
    ASSERT_EQ(r.servers.size(), 3u);
    const ServerReport a = r.servers[0], b = r.servers[1], c = r.servers[2];
    EXPECT_EQ(a.key.address, *IpAddress::parse("198.51.100.1"));
    EXPECT_EQ(a.connections, 3u);
    EXPECT_EQ(a.server_leg.count, 3u);
    EXPECT_EQ(a.server_leg.min, 10 * MS);
    EXPECT_EQ(a.server_leg.p50, 20 * MS);  // nearest rank: the 2nd of 3
    EXPECT_EQ(a.server_leg.max, 30 * MS);
    EXPECT_EQ(a.rtt.p50, 20 * MS + 50'000);
    EXPECT_EQ(a.client_leg.max, 50'000);
    EXPECT_EQ(b.key.address, *IpAddress::parse("198.51.100.2"));
    EXPECT_EQ(b.connections, 2u);
    EXPECT_EQ(b.server_leg.min, 5 * MS);
    EXPECT_EQ(b.server_leg.max, 7 * MS);
    EXPECT_EQ(b.server_leg.p50, 5 * MS);  // the 1st of 2
    EXPECT_EQ(c.key.address, *IpAddress::parse("198.51.100.3"));
    EXPECT_EQ(c.outcomes[static_cast<std::size_t>(Outcome::unanswered)], 1u);
    EXPECT_EQ(c.rtt.count, 0u);
    EXPECT_EQ(c.server_leg.count, 0u);
    std::size_t i = 0;  // iterating gives what indexing gives
    for (const ServerReport& s : r.servers) {
        EXPECT_EQ(s.key, r.servers[i].key);
        EXPECT_EQ(s.rtt.p50, r.servers[i].rtt.p50);
        ++i;
    }
    EXPECT_EQ(i, 3u);
}

TEST(Handshake, EachLegGroupedByServerFromTheHandshakesThatHaveIt) {
    // Handshakes of one server with different legs: a SYN/ACK never
    // acknowledged has a server leg only; one whose ACK comes before its
    // SYN/ACK (negative time) has none in any statistic. Another server, met
    // first, has fewer connections and is reported second.
    Servers f;
    const auto handshake = [&f](const char* server, Nanos start, Nanos server_leg, bool acked, Nanos client_leg) {
        f.handshake(server, 80, start, server_leg, true, acked, client_leg);
    };
    handshake("198.51.100.7", 0, 4 * MS, true, 1 * MS);
    handshake("198.51.100.8", 1000 * MS, 9 * MS, false, 0);  // server leg only
    handshake("198.51.100.8", 2000 * MS, 3 * MS, true, 2 * MS);
    handshake("198.51.100.8", 3000 * MS, 6 * MS, true, -8 * MS);  // negative time: in no statistic
    handshake("198.51.100.8", 4000 * MS, 5 * MS, true, 1 * MS);
    const HandshakeReport r = f.t.report();
    EXPECT_EQ(r.negative_time, 1u);
    EXPECT_EQ(r.server_leg.count, 4u);
    EXPECT_EQ(r.client_leg.count, 3u);
    EXPECT_EQ(r.rtt.count, 3u);
    ASSERT_EQ(r.servers.size(), 2u);
    const ServerReport a = r.servers[0], b = r.servers[1];
    EXPECT_EQ(a.key.address, *IpAddress::parse("198.51.100.8"));
    EXPECT_EQ(a.connections, 4u);
    EXPECT_EQ(a.server_leg.count, 3u);  // 9, 3, 5 ms
    EXPECT_EQ(a.server_leg.min, 3 * MS);
    EXPECT_EQ(a.server_leg.p50, 5 * MS);
    EXPECT_EQ(a.server_leg.max, 9 * MS);
    EXPECT_EQ(a.client_leg.count, 2u);  // 2, 1 ms
    EXPECT_EQ(a.client_leg.min, 1 * MS);
    EXPECT_EQ(a.client_leg.max, 2 * MS);
    EXPECT_EQ(a.rtt.count, 2u);  // 5, 6 ms
    EXPECT_EQ(a.rtt.min, 5 * MS);
    EXPECT_EQ(a.rtt.max, 6 * MS);
    EXPECT_EQ(b.key.address, *IpAddress::parse("198.51.100.7"));
    EXPECT_EQ(b.server_leg.count, 1u);
    EXPECT_EQ(b.server_leg.p99, 4 * MS);
    EXPECT_EQ(b.client_leg.p50, 1 * MS);
    EXPECT_EQ(b.rtt.max, 5 * MS);
}

TEST(Handshake, JsonAndCsvAreProduced) {
    Feed f;
    f.seg(0, true, syn, 100, 0, 0);
    f.seg(0, false, syn | ack, 900, 101, 20 * MS);
    f.seg(0, true, ack, 101, 901, 20 * MS + 40'000);
    const std::string j = handshake_json(f.t, 0);
    EXPECT_NE(j.find(R"("rtt_ms":20.040000)"), std::string::npos) << j;
    EXPECT_NE(j.find(R"("outcome":"completed")"), std::string::npos);
    const std::string c = handshake_csv(f.t);
    EXPECT_NE(c.find("\n0,10.0.0.5,40000,93.184.216.34,443,1,1,2,2,3,1,1,20.000000,0.040000,20.040000,20.040000,server_"
                     "leg,completed,\n"),
              std::string::npos)
        << c;
}

TEST(Handshake, SameAddressOnBothEndsIsTellByPorts) {
    HandshakeTracker t;
    const IpAddress lo = *IpAddress::parse("::1");
    auto seg = [&](std::uint32_t frame, bool from_client, std::uint16_t flags, std::uint32_t seq, std::uint32_t ack,
                   Nanos time) {
        TcpSegment s;
        s.frame = frame;
        s.time = time;
        s.src = s.dst = lo;
        s.sport = from_client ? 50000 : 8080;
        s.dport = from_client ? 8080 : 50000;
        s.flags = flags;
        s.seq = seq;
        s.ack = ack;
        t.add(s);
    };
    seg(1, true, syn, 10, 0, 0);
    seg(2, false, syn | ack, 20, 11, 30'000);
    seg(3, true, ack, 11, 21, 40'000);
    ASSERT_EQ(t.handshakes().size(), 1u);
    EXPECT_EQ(t.handshakes()[0].outcome(), Outcome::completed);
    EXPECT_EQ(t.handshakes()[0].server_port, 8080);
    EXPECT_EQ(t.handshakes()[0].rtt(), 40'000);
}

TEST(Handshake, ExtremeTimesNeverOverflow) {
    Feed f;
    f.seg(0, true, syn, 100, 0, INT64_MIN);
    f.seg(0, false, syn | ack, 900, 101, INT64_MAX);
    f.seg(0, true, ack, 101, 901, INT64_MIN);
    const Handshake& h = f.only();
    EXPECT_EQ(h.server_leg(), 2 * kMaxTime);
    EXPECT_TRUE(h.negative_time());
    EXPECT_EQ(f.t.anomalies().count("time_out_of_range"), 3u);
}

TEST(Handshake, HugeLegsClassifyWithoutOverflow) {
    Feed f;
    f.seg(0, true, syn, 100, 0, -kMaxTime);
    f.seg(0, false, syn | ack, 900, 101, kMaxTime - 10);
    f.seg(0, true, ack, 101, 901, kMaxTime);
    EXPECT_EQ(f.only().network_leg(), NetworkLeg::server_leg);
    const std::string j = handshake_json(f.t, 0);
    EXPECT_NE(j.find("\"network_leg\":\"server_leg\""), std::string::npos);
}

// Wireshark 4.4+ can give a SYN retransmitted after seconds a new tcp.stream.
TEST(Handshake, RetransmittedSynInANewStreamIsTheSameHandshake) {
    Feed f;
    f.seg(0, true, syn, 100, 0, 0);
    f.seg(2, true, syn, 100, 0, 3000 * MS);  // same ports and ISN, new stream
    f.seg(2, false, syn | ack, 900, 101, 3020 * MS);
    f.seg(2, true, ack, 101, 901, 3020 * MS + 40'000);
    const Handshake& h = f.only();
    EXPECT_EQ(h.outcome(), Outcome::completed);
    EXPECT_EQ(h.syn_count, 2u);
    EXPECT_EQ(h.first_syn_frame, 1u);
    EXPECT_EQ(h.syn_frame, 2u);
    EXPECT_EQ(h.server_leg(), 20 * MS);
    EXPECT_EQ(h.connect(), 3020 * MS + 40'000);
    EXPECT_EQ(f.t.outcome_count(Outcome::unanswered), 0u);
}

TEST(Handshake, SynWithAnotherIsnInANewStreamIsANewHandshake) {
    Feed f;
    f.seg(0, true, syn, 100, 0, 0);
    f.seg(1, true, syn, 5000, 0, 3000 * MS);
    EXPECT_EQ(f.t.handshakes().size(), 2u);
    // Once answered, the same ISN again on a new stream is a new handshake too.
    f.seg(1, false, syn | ack, 900, 5001, 3020 * MS);
    f.seg(3, true, syn, 5000, 0, 9000 * MS);
    EXPECT_EQ(f.t.handshakes().size(), 3u);
}

TEST(Handshake, ContextFramesAreTrackedNotCounted) {
    Feed f;
    f.t.set_window(FrameWindow{3, 5});
    f.seg(0, true, syn, 100, 0, 0);                           // frame 1: context
    f.seg(0, false, syn | ack, 900, 101, 20 * MS);            // 2
    f.seg(1, true, syn, 300, 0, 25 * MS, 0, 40001);           // 3: counted
    f.seg(0, true, ack, 101, 901, 30 * MS);                   // 4: completes the context one
    f.seg(1, false, syn | ack, 700, 301, 45 * MS, 0, 40001);  // 5
    f.seg(1, true, ack, 301, 701, 46 * MS, 0, 40001);         // 6: context, completes the counted one
    f.seg(2, true, syn, 500, 0, 50 * MS, 0, 40002);           // 7: context
    const HandshakeReport r = f.t.report();
    EXPECT_EQ(r.connections, 1u);
    EXPECT_EQ(r.outcomes[static_cast<std::size_t>(Outcome::completed)], 1u);
    EXPECT_EQ(r.rtt.count, 1u);
    EXPECT_EQ(r.rtt.min, 20 * MS + MS);
    EXPECT_EQ(f.t.outcome_count(Outcome::completed), 1u);
    EXPECT_EQ(f.t.outcome_count(Outcome::unanswered), 0u);
    const std::string json = handshake_json(f.t);
    EXPECT_NE(json.find("\"window\""), std::string::npos);
    EXPECT_NE(json.find("\"context_connections\""), std::string::npos);
}

// The unanswered-SYN table through growth and removals: 5000 handshakes,
// half answered (removed), then every SYN again in a new stream.
TEST(Handshake, RetriesInNewStreamsAtScale) {
    Feed f;
    constexpr std::uint32_t n = 5000;
    for (std::uint32_t i = 0; i < n; ++i)
        f.seg(i, true, syn, 1000 + i, 0, i * MS, 0, static_cast<std::uint16_t>(10000 + i));
    for (std::uint32_t i = 0; i < n; i += 2)
        f.seg(i, false, syn | ack, 900, 1001 + i, (n + i) * MS, 0, static_cast<std::uint16_t>(10000 + i));
    for (std::uint32_t i = 0; i < n; ++i)
        f.seg(n + i, true, syn, 1000 + i, 0, (3 * n + i) * MS, 0, static_cast<std::uint16_t>(10000 + i));
    // Answered ones start a new handshake (an ISN seen after its SYN/ACK on a
    // new stream); unanswered ones are the same handshake retried.
    EXPECT_EQ(f.t.handshakes().size(), n + n / 2);
    std::size_t retried = 0;
    for (const Handshake& h : f.t.handshakes()) retried += h.syn_count == 2;
    EXPECT_EQ(retried, n / 2);
    EXPECT_EQ(f.t.outcome_count(Outcome::no_ack), n / 2);
    EXPECT_EQ(f.t.outcome_count(Outcome::unanswered), n / 2 + n / 2);
}

// The streamed JSON reaches its sink in chunks of ~64 KiB as it is written:
// a report of many connections is never held whole (the list of connections
// is one JSON array, written line by line).
TEST(Handshake, JsonIsStreamedInChunks) {
    Feed f;
    constexpr std::uint32_t kConnections = 5000;  // ~2.3 MB of JSON
    for (std::uint32_t i = 0; i < kConnections; ++i) {
        const auto port = static_cast<std::uint16_t>(10000 + i);
        const Nanos t0 = i * MS;
        f.seg(i, true, syn, 100, 0, t0, 0, port);
        f.seg(i, false, syn | ack, 900, 101, t0 + 20 * MS, 0, port);
        f.seg(i, true, ack, 101, 901, t0 + 21 * MS, 0, port);
    }
    std::vector<std::size_t> chunks;
    std::string all;
    handshake_json(f.t, [&](std::string_view c) {
        chunks.push_back(c.size());
        all.append(c);
    });
    EXPECT_GT(all.size(), 2'000'000u);
    EXPECT_GT(chunks.size(), 20u);
    EXPECT_LE(*std::max_element(chunks.begin(), chunks.end()), std::size_t{70'000});
    EXPECT_EQ(all, handshake_json(f.t));  // the string form: the same text
}

// Servers with as many connections come in address order (IPv4 before IPv6,
// byte by byte, past the first three bytes), then port order: checked
// against a plain sort of the expected (connections, address, port).
TEST(Handshake, ServersOfEqualCountsInAddressThenPortOrder) {
    HandshakeTracker t;
    std::uint32_t frame = 0, stream = 0;
    struct Want {
        std::uint32_t connections;
        IpAddress address;
        std::uint16_t port;
    };
    std::vector<Want> want;
    const struct {
        const char* address;
        std::uint16_t port;
        std::uint32_t connections;
    } servers[] = {{"203.0.113.9", 443, 2},  {"203.0.113.10", 22, 2}, {"203.0.112.1", 443, 1},  {"2001:db8::2", 22, 2},
                   {"2001:db8::1", 443, 2},  {"9.9.9.9", 22, 1},      {"2001:db8:1::", 443, 2}, {"203.0.113.9", 22, 2},
                   {"198.51.100.7", 443, 1}, {"2001:db8::1", 22, 2}};
    for (const auto& server : servers) {
        for (std::uint32_t k = 0; k < server.connections; ++k) {
            TcpSegment s;
            s.stream = stream++;
            s.src = C;
            s.dst = *IpAddress::parse(server.address);
            s.sport = static_cast<std::uint16_t>(40000 + s.stream);
            s.dport = server.port;
            s.flags = syn;
            s.seq = 100;
            s.frame = ++frame;
            s.time = frame * MS;
            t.add(s);
        }
        want.push_back({server.connections, *IpAddress::parse(server.address), server.port});
    }
    std::sort(want.begin(), want.end(), [](const Want& a, const Want& b) {
        if (a.connections != b.connections) return a.connections > b.connections;
        if (!(a.address == b.address)) return a.address < b.address;
        return a.port < b.port;
    });
    const HandshakeReport r = t.report();
    ASSERT_EQ(r.servers.size(), want.size());
    for (std::size_t i = 0; i < want.size(); ++i) {
        EXPECT_EQ(r.servers[i].key.address.to_string(), want[i].address.to_string()) << i;
        EXPECT_EQ(r.servers[i].key.port, want[i].port) << i;
        EXPECT_EQ(r.servers[i].connections, want[i].connections) << i;
    }
}

// After its ACK, a stream's segments without SYN change nothing, whichever
// of the handshake's streams they come on; a SYN still does.
TEST(Handshake, AfterTheAckOnlyASynChangesAnything) {
    Feed f;
    f.seg(0, true, syn, 100, 0, 0);
    f.seg(2, true, syn, 100, 0, 3000 * MS);  // retried in a new stream: the same handshake
    f.seg(2, false, syn | ack, 900, 101, 3020 * MS);
    EXPECT_TRUE(f.seg(2, true, ack, 101, 901, 3021 * MS).rtt_now_known);
    for (std::uint32_t stream : {0u, 2u}) {
        EXPECT_EQ(f.seg(stream, true, ack, 101, 901, 3022 * MS, 100).handshake, nullptr);
        EXPECT_EQ(f.seg(stream, false, ack | fin, 901, 201, 3023 * MS).handshake, nullptr);
        EXPECT_EQ(f.seg(stream, true, rst, 201, 0, 3024 * MS).handshake, nullptr);
    }
    EXPECT_EQ(f.only().outcome(), Outcome::completed);
    EXPECT_EQ(f.only().rst_frame, 0u);
    // A late SYN/ACK is counted; a SYN with a new ISN starts a new handshake,
    // whose own segments are then followed again until its ACK.
    EXPECT_NE(f.seg(2, false, syn | ack, 900, 101, 3030 * MS).handshake, nullptr);
    EXPECT_EQ(f.t.handshakes()[0].synack_count, 2u);
    EXPECT_TRUE(f.seg(2, true, syn, 7000, 0, 4000 * MS).is_new);
    f.seg(2, false, syn | ack, 300, 7001, 4010 * MS);
    EXPECT_NE(f.seg(2, false, rst, 301, 0, 4011 * MS).handshake, nullptr);  // before the ACK: counted
    ASSERT_EQ(f.t.handshakes().size(), 2u);
    EXPECT_EQ(f.t.handshakes()[1].rst_frame, f.frame);
    EXPECT_EQ(f.t.handshakes()[1].outcome(), Outcome::no_ack);
}

// A stream numbered far beyond the others is kept apart; once the streams
// between are seen, its segments still find its handshake.
TEST(Handshake, FarStreamIsFoundAfterTheOthersCatchUp) {
    Feed f;
    f.seg(200000, true, syn, 100, 0, 0);
    for (std::uint32_t stream : {60000u, 120000u, 180000u, 200001u})
        f.seg(stream, true, syn, stream, 0, MS, 0, static_cast<std::uint16_t>(stream % 50000 + 1));
    f.seg(200000, false, syn | ack, 900, 101, 20 * MS);
    EXPECT_TRUE(f.seg(200000, true, ack, 101, 901, 21 * MS).rtt_now_known);
    EXPECT_EQ(f.seg(200000, true, ack, 101, 901, 22 * MS, 10).handshake, nullptr);
    EXPECT_EQ(f.t.handshakes().size(), 5u);
    EXPECT_EQ(f.t.handshakes()[0].outcome(), Outcome::completed);
    EXPECT_EQ(f.t.outcome_count(Outcome::completed), 1u);
    EXPECT_EQ(f.t.outcome_count(Outcome::no_syn), 0u);
}

TEST(Handshake, EmptyReport) {
    HandshakeTracker t;
    const HandshakeReport r = t.report();
    EXPECT_EQ(r.connections, 0u);
    EXPECT_TRUE(r.servers.empty());
    EXPECT_EQ(r.rtt.count, 0u);
}
