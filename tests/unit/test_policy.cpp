#include <gtest/gtest.h>

#include <map>

#include "triage/alert_tracker.hpp"
#include "triage/unwanted_policy.hpp"

using namespace triage;

namespace {

// A fake protocol registry standing in for Wireshark's.
const std::map<std::string, int> kIds{
    {"eth", 1},      {"ip", 2},         {"tcp", 3},     {"udp", 4},     {"telnet", 5},   {"http", 6},
    {"dns", 7},      {"bittorrent", 8}, {"data", 9},    {"tls", 10},    {"ftp", 11},     {"ftp-data", 12},
    {"portmap", 13}, {"irc", 14},       {"bt-dht", 15}, {"bt-utp", 16}, {"edonkey", 17}, {"gnutella", 18},
    {"rlogin", 19},  {"rsh", 20},       {"exec", 21},   {"tftp", 22},   {"mount", 23},   {"nfs", 24},
    {"snmp", 25},    {"x11", 26},       {"vnc", 27},    {"socks", 28},  {"smb2", 29}};

CompiledPolicy::Resolver resolver() {
    return {[](const std::string& n) {
                auto it = kIds.find(n);
                return it == kIds.end() ? -1 : it->second;
            },
            [](int id) {
                for (const auto& [n, i] : kIds)
                    if (i == id) return n;
                return std::string("?");
            }};
}

std::vector<std::string> names(CompiledPolicy& p, std::vector<int> layers, std::uint8_t transport = 6,
                               std::uint16_t sport = 40000, std::uint16_t dport = 80) {
    std::vector<std::uint32_t> hits;
    p.match(layers.data(), layers.size(), transport, sport, dport, &hits);
    std::vector<std::string> out;
    for (auto h : hits) out.push_back(p.rules()[h].protocol);
    return out;
}

}  // namespace

TEST(Policy, BuiltinsAllResolveInWireshark) {
    CompiledPolicy p;
    EXPECT_TRUE(p.compile(Policy{}, resolver()).empty());
    EXPECT_EQ(names(p, {1, 2, 3, 5}), std::vector<std::string>{"telnet"});
    EXPECT_TRUE(names(p, {1, 2, 3, 6}).empty());
}

TEST(Policy, UserEntryOverridesAndAllows) {
    Policy pol;
    PolicyEntry e;
    std::string err;
    ASSERT_TRUE(Policy::make_entry("Telnet", "allow", "lab", &e, &err));
    pol.entries.push_back(e);
    ASSERT_TRUE(Policy::make_entry("http", "medium", "", &e, &err));
    pol.entries.push_back(e);
    CompiledPolicy p;
    EXPECT_TRUE(p.compile(pol, resolver()).empty());
    EXPECT_TRUE(names(p, {1, 2, 3, 5}).empty());
    EXPECT_EQ(names(p, {1, 2, 3, 6}), std::vector<std::string>{"http"});
}

TEST(Policy, UnknownProtocolIsNamed) {
    Policy pol;
    PolicyEntry e;
    std::string err;
    ASSERT_TRUE(Policy::make_entry("nosuch", "high", "", &e, &err));
    pol.entries.push_back(e);
    CompiledPolicy p;
    const auto errors = p.compile(pol, resolver());
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].rfind("policy entry \"nosuch\": no such protocol", 0), 0u) << errors[0];
    EXPECT_FALSE(Policy::make_entry("a b", "high", "", &e, &err));
    EXPECT_FALSE(Policy::make_entry("ftp", "severe", "", &e, &err));
    EXPECT_EQ(err, "policy entry \"ftp\": severity must be allow, low, medium, high or critical, not \"severe\"");
}

TEST(Policy, AllowListAlertsOnOtherApplicationProtocols) {
    Policy pol;
    pol.mode = PolicyMode::allow;
    PolicyEntry e;
    std::string err;
    ASSERT_TRUE(Policy::make_entry("http", "allow", "", &e, &err));
    pol.entries.push_back(e);
    CompiledPolicy p;
    ASSERT_TRUE(p.compile(pol, resolver()).empty());
    EXPECT_TRUE(names(p, {1, 2, 3, 6}).empty());
    EXPECT_TRUE(names(p, {1, 2, 3, 9}).empty()) << "undissected data is not an application protocol";
    EXPECT_TRUE(names(p, {1, 2, 3}).empty());
    EXPECT_EQ(names(p, {1, 2, 4, 7}), std::vector<std::string>{"dns"});
    EXPECT_EQ(names(p, {1, 2, 4, 7}), std::vector<std::string>{"dns"}) << "the lazily made rule is reused";
}

TEST(Policy, PortRulesOnlyForUnidentifiedTraffic) {
    Policy pol;
    PortRule r;
    std::string err;
    ASSERT_TRUE(PortRule::parse("tcp", "6881-6889", "bt-ports", "high", "", &r, &err)) << err;
    pol.port_rules.push_back(r);
    CompiledPolicy p;
    ASSERT_TRUE(p.compile(pol, resolver()).empty());
    EXPECT_EQ(names(p, {1, 2, 3}, 6, 6885, 40000), std::vector<std::string>{"port:bt-ports"});
    EXPECT_EQ(names(p, {1, 2, 3, 9}, 6, 40000, 6881), std::vector<std::string>{"port:bt-ports"});
    EXPECT_TRUE(names(p, {1, 2, 4}, 17, 40000, 6881).empty()) << "udp does not match a tcp rule";
    EXPECT_EQ(names(p, {1, 2, 3, 8}, 6, 40000, 6881), std::vector<std::string>{"bittorrent"});
    EXPECT_FALSE(PortRule::parse("tcp", "9-8", "x", "high", "", &r, &err));
    EXPECT_FALSE(PortRule::parse("tcp", "65536", "x", "high", "", &r, &err));
    EXPECT_FALSE(PortRule::parse("icmp", "1", "x", "high", "", &r, &err));
    EXPECT_FALSE(PortRule::parse("tcp", "1", "", "high", "", &r, &err));
}

TEST(Policy, TrackerRequestDetector) {
    EXPECT_TRUE(is_tracker_request("GET /announce?info_hash=%12&peer_id=x HTTP/1.1\r\n"));
    EXPECT_TRUE(is_tracker_request("xxGET /t/scrape.php?a=1&info_hash=abc HTTP/1.0\r\n"));
    EXPECT_FALSE(is_tracker_request("GET /announce HTTP/1.1\r\n"));
    EXPECT_FALSE(is_tracker_request("GET /index.html?info_hash=1 HTTP/1.1\r\n"));
    EXPECT_FALSE(is_tracker_request("GET /announce?x=1 HTTP/1.1\r\nReferer: /announce?info_hash=1\r\n"));
    EXPECT_FALSE(is_tracker_request(""));
    CompiledPolicy p;
    p.compile(Policy{}, resolver());
    EXPECT_TRUE(p.detector_rule(kTrackerDetector));
}

namespace {
// A telnet frame (10.0.0.1:40000 to 10.0.0.2:23, 100 bytes) and the rule the
// default policy matches it with.
FrameInfo telnet_frame() {
    FrameInfo f;
    f.src = *IpAddress::parse("10.0.0.1");
    f.dst = *IpAddress::parse("10.0.0.2");
    f.transport = 6;
    f.sport = 40000;
    f.dport = 23;
    f.frame_len = 100;
    return f;
}

std::uint32_t telnet_rule(CompiledPolicy& p) {
    std::vector<std::uint32_t> hits;
    const int layers[] = {1, 2, 3, 5};
    p.match(layers, 4, 6, 40000, 23, &hits);
    EXPECT_EQ(hits.size(), 1u);
    return hits.empty() ? 0 : hits[0];
}
}  // namespace

TEST(AlertTracker, AggregatesPerRuleAndConversation) {
    CompiledPolicy p;
    p.compile(Policy{}, resolver());
    AlertTracker t;
    FrameInfo f = telnet_frame();
    const std::uint32_t rule = telnet_rule(p);
    for (std::uint32_t frame = 1; frame <= 3; ++frame) {
        f.frame = frame;
        f.time = frame * 1000;
        std::swap(f.src, f.dst);
        std::swap(f.sport, f.dport);
        t.hit(rule, f);
        t.hit(rule, f);  // same frame twice: once
    }
    const auto alerts = t.alerts(p.rules());
    ASSERT_EQ(alerts.size(), 1u);
    EXPECT_EQ(alerts[0].frames, 3u);
    EXPECT_EQ(alerts[0].bytes, 300u);
    ASSERT_EQ(alerts[0].conversations.size(), 1u) << "both directions are one conversation";
    EXPECT_EQ(alerts[0].conversations[0].first_frame, 1u);
    const std::string j = unwanted_json(p, t, {}, {}, true, 0);
    EXPECT_NE(j.find(R"("protocol":"telnet","category":"cleartext-login","severity":"critical")"), std::string::npos);
}

// A conversation is its two endpoints and its transport, in either
// direction: any one of them different is another conversation.
TEST(AlertTracker, ConversationsDifferInAnyEndpointOrTransport) {
    CompiledPolicy p;
    p.compile(Policy{}, resolver());
    const std::uint32_t rule = telnet_rule(p);
    AlertTracker t;
    const FrameInfo base = telnet_frame();
    std::vector<FrameInfo> frames(8, base);
    frames[1].sport = 40001;                               // another client port
    frames[7].dport = 2323;                                // another server port
    frames[2].transport = 17;                              // another transport
    frames[3].dst = *IpAddress::parse("10.0.0.3");         // another server
    frames[4].src = *IpAddress::parse("::ffff:10.0.0.1");  // the same bytes as IPv6
    std::swap(frames[5].sport, frames[5].dport);           // ports swapped, hosts not
    std::swap(frames[6].src, frames[6].dst);               // the first one, answered
    std::swap(frames[6].sport, frames[6].dport);
    std::uint32_t n = 0;
    for (FrameInfo& f : frames) {
        f.frame = ++n;
        f.time = n * 1000;
        t.hit(rule, f);
    }
    const auto alerts = t.alerts(p.rules());
    ASSERT_EQ(alerts.size(), 1u);
    ASSERT_EQ(alerts[0].conversations.size(), 7u);
    std::vector<std::uint64_t> frames_of;
    for (const AlertConversation& c : alerts[0].conversations) frames_of.push_back(c.frames);
    EXPECT_EQ(frames_of, (std::vector<std::uint64_t>{2, 1, 1, 1, 1, 1, 1})) << "most bytes first";
    EXPECT_EQ(alerts[0].conversations[0].first_frame, 1u);
    EXPECT_EQ(alerts[0].conversations[0].src, base.src) << "oriented as its first frame was";
}

TEST(Policy, EachRuleOncePerFrame) {
    CompiledPolicy p;
    p.compile(Policy{}, resolver());
    // Telnet seen twice (a tunnel), portmap twice (RPC program named by the tap too).
    EXPECT_EQ(names(p, {1, 2, 3, 5, 2, 3, 5}), std::vector<std::string>{"telnet"});
    EXPECT_EQ(names(p, {1, 2, 4, 13, 13}), std::vector<std::string>{"portmap"});
}

TEST(Policy, IdsThatShareAFilterBitStayApart) {
    // Layers are first looked up in a one-line filter (an id's bit is its
    // value modulo 512); an id sharing a rule's bit must still be read from
    // the exact table. Here telnet is id 600 and eth id 88 (600 - 512).
    std::map<std::string, int> ids = kIds;
    ids["telnet"] = 600;
    const CompiledPolicy::Resolver far{[&ids](const std::string& n) {
                                           auto it = ids.find(n);
                                           return it == ids.end() ? -1 : it->second;
                                       },
                                       [](int id) { return std::to_string(id); }};
    CompiledPolicy p;
    ASSERT_TRUE(p.compile(Policy{}, far).empty());
    EXPECT_TRUE(names(p, {88, 2, 3}).empty());
    EXPECT_EQ(names(p, {88, 2, 3, 600}), std::vector<std::string>{"telnet"});
    EXPECT_TRUE(names(p, {88, 2, 3, 600 + 512}).empty()) << "past the table: no rule";
    EXPECT_EQ(names(p, {1, 2, 3, 11}), std::vector<std::string>{"ftp"});
    // Rules of a new policy only: the filter is rebuilt.
    Policy pol;
    PolicyEntry e;
    std::string err;
    ASSERT_TRUE(Policy::make_entry("telnet", "allow", "lab", &e, &err));
    pol.entries.push_back(e);
    ASSERT_TRUE(p.compile(pol, far).empty());
    EXPECT_TRUE(names(p, {88, 2, 3, 600}).empty());
    EXPECT_EQ(names(p, {1, 2, 3, 11}), std::vector<std::string>{"ftp"});
}
