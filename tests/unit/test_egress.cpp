#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "triage/counted_lists.hpp"
#include "triage/egress_tracker.hpp"
#include "triage/flat_index.hpp"

using namespace triage;

namespace {
EgressFrame frame(const char* src, const char* dst, std::uint32_t len, std::uint16_t dport = 443) {
    EgressFrame f;
    f.src = *IpAddress::parse(src);
    f.dst = *IpAddress::parse(dst);
    f.frame_len = len;
    f.ip_len = len - 14;
    f.transport = 6;
    f.dport = dport;
    f.payload = len - 54;
    return f;
}
}  // namespace

TEST(Egress, Classification) {
    EgressTracker t;
    auto ip = [](const char* s) { return *IpAddress::parse(s); };
    EXPECT_EQ(t.classify(ip("10.0.0.5"), ip("8.8.8.8")), Direction::outbound_external);
    EXPECT_EQ(t.classify(ip("10.0.0.5"), ip("10.0.0.6")), Direction::outbound_internal);
    EXPECT_EQ(t.classify(ip("10.0.0.5"), ip("169.254.169.254")), Direction::outbound_platform);
    EXPECT_EQ(t.classify(ip("10.0.0.5"), ip("168.63.129.16")), Direction::outbound_platform);
    EXPECT_EQ(t.classify(ip("8.8.8.8"), ip("10.0.0.5")), Direction::inbound);
    EXPECT_EQ(t.classify(ip("8.8.8.8"), ip("1.1.1.1")), Direction::other);
    EXPECT_EQ(t.classify(ip("fd00::5"), ip("2001:db8::1")), Direction::outbound_external);
}

TEST(Egress, SumsSortsAndSplitsBySource) {
    EgressTracker t;
    t.add(frame("10.0.0.5", "8.8.8.8", 100));
    t.add(frame("10.0.0.6", "8.8.8.8", 200, 53));
    t.add(frame("10.0.0.5", "1.1.1.1", 1000));
    t.add(frame("1.1.1.1", "10.0.0.5", 5000));
    const auto d = t.destinations();
    ASSERT_EQ(d.size(), 2u);
    EXPECT_EQ(d[0]->address.to_string(), "1.1.1.1");
    EXPECT_EQ(t.volume(*d[1]).frame_bytes, 300u);
    EXPECT_EQ(t.sources(*d[1]).size(), 2u);
    EXPECT_EQ(t.ports(*d[1]).size(), 2u);
    EXPECT_EQ(t.total(Direction::outbound_external).frames, 3u);
    EXPECT_EQ(t.total(Direction::inbound).frame_bytes, 5000u);
}

TEST(Egress, JsonHasCostOnlyWithAPrice) {
    EgressConfig cfg = EgressConfig::defaults();
    cfg.price_per_gb = 0.09;
    EgressTracker t(cfg);
    t.add(frame("10.0.0.5", "8.8.8.8", 1014));
    const std::string j = egress_json(
        t, [](const IpAddress&) { return std::string("dns.google"); }, 0);
    EXPECT_NE(j.find(R"("estimated_cost":0.000000)"), std::string::npos) << j;
    EXPECT_NE(j.find(R"("name":"dns.google")"), std::string::npos);
    EgressTracker plain;
    plain.add(frame("10.0.0.5", "8.8.8.8", 1014));
    EXPECT_EQ(egress_json(plain, nullptr, 0).find("estimated_cost"), std::string::npos);
}

TEST(Egress, PortsAreCapped) {
    EgressTracker t;
    for (int p = 1; p <= 30; ++p) t.add(frame("10.0.0.5", "8.8.8.8", 100 + p, static_cast<std::uint16_t>(p)));
    const std::string j = egress_json(t, nullptr, 0);
    EXPECT_NE(j.find(R"("ports_omitted":10)"), std::string::npos);
}

// The JSON lists a destination's sources and ports by frame bytes, most
// first, and equal ones in address / (transport, port) order, whatever order
// the frames came in; the ports past max_ports are the smallest.
TEST(Egress, JsonListsByBytesThenKey) {
    EgressConfig cfg = EgressConfig::defaults();
    cfg.max_ports = 3;
    EgressTracker t(cfg);
    t.add(frame("10.0.0.9", "8.8.8.8", 100, 53));
    t.add(frame("10.0.0.7", "8.8.8.8", 100, 25));
    t.add(frame("10.0.0.8", "8.8.8.8", 300, 80));
    t.add(frame("10.0.0.9", "8.8.8.8", 100, 22));  // 10.0.0.9: 200 bytes
    t.add(frame("10.0.0.6", "8.8.8.8", 100, 22));
    const std::string j = egress_json(t, nullptr, 0);
    const auto at = [&j](const std::string& s) { return j.find(s); };
    const auto src = [](const char* a) { return std::string(R"({"address":")") + a + '"'; };
    const auto port = [](int p) { return R"("port":)" + std::to_string(p) + ","; };
    ASSERT_NE(at(src("10.0.0.7")), std::string::npos) << j;
    EXPECT_LT(at(src("10.0.0.8")), at(src("10.0.0.9"))) << j;  // 300 bytes before 200
    EXPECT_LT(at(src("10.0.0.9")), at(src("10.0.0.6"))) << j;  // 200 before 100
    EXPECT_LT(at(src("10.0.0.6")), at(src("10.0.0.7"))) << j;  // 100 each: by address
    ASSERT_NE(at(port(80)), std::string::npos) << j;
    EXPECT_LT(at(port(80)), at(port(22))) << j;  // 300 bytes, then 200
    EXPECT_LT(at(port(22)), at(port(25))) << j;
    EXPECT_EQ(at(port(53)), std::string::npos) << j;  // 100 bytes as port 25, after it: omitted
    EXPECT_NE(at(R"("ports_omitted":1)"), std::string::npos) << j;
}

TEST(Egress, CsvQuotesNames) {
    EgressTracker t;
    t.add(frame("10.0.0.5", "8.8.8.8", 100));
    const std::string c = egress_csv(t, [](const IpAddress&) { return std::string("a,b"); });
    EXPECT_NE(c.find("8.8.8.8,\"a,b\",external,10.0.0.5,1,100,86,46"), std::string::npos) << c;
}

// One destination with many sources: its list of sources is streamed in
// chunks of ~64 KiB as it is written, never held whole.
TEST(Egress, JsonIsStreamedInChunks) {
    EgressTracker t;
    for (int i = 0; i < 20000; ++i) {
        const std::string src =
            "10." + std::to_string(i / 65536) + "." + std::to_string(i / 256 % 256) + "." + std::to_string(i % 256);
        t.add(frame(src.c_str(), "8.8.8.8", 100 + i % 50));
    }
    std::vector<std::size_t> chunks;
    std::string all;
    egress_json(t, nullptr, [&](std::string_view c) {
        chunks.push_back(c.size());
        all.append(c);
    });
    EXPECT_GT(all.size(), 1'500'000u);
    EXPECT_GT(chunks.size(), 15u);
    EXPECT_LE(*std::max_element(chunks.begin(), chunks.end()), std::size_t{70'000});
    EXPECT_EQ(all, egress_json(t, nullptr));  // the string form: the same text
}

// Per-source and per-port counters are 32-bit until one would overflow, then
// 64-bit: a source sending more than 4 GiB to one destination stays exact.
TEST(Egress, CountersStayExactPast32Bits) {
    EgressTracker t;
    const int n = 70'000;  // 70 000 frames of 65 535 bytes: 4 587 450 000 bytes
    for (int i = 0; i < n; ++i) t.add(frame("10.0.0.5", "8.8.8.8", 65'535));
    t.add(frame("10.0.0.6", "8.8.8.8", 100));
    const auto d = t.destinations();
    ASSERT_EQ(d.size(), 1u);
    const Volume v = t.volume(*d[0]);
    EXPECT_EQ(v.frames, n + 1u);
    EXPECT_EQ(v.frame_bytes, 4'587'450'100u);
    EXPECT_EQ(v.ip_bytes, 4'587'450'100u - 14u * (n + 1));
    const auto sources = t.sources(*d[0]);
    ASSERT_EQ(sources.size(), 2u);
    EXPECT_EQ(sources[0].volume.frame_bytes, 4'587'450'000u);
    EXPECT_EQ(sources[0].volume.payload_bytes, std::uint64_t{65'535 - 54} * n);
    EXPECT_EQ(sources[1].volume.frame_bytes, 100u);
    const auto ports = t.ports(*d[0]);
    ASSERT_EQ(ports.size(), 1u);
    EXPECT_EQ(ports[0].frames, n + 1u);
    EXPECT_EQ(ports[0].frame_bytes, 4'587'450'100u);
    EXPECT_NE(egress_json(t, nullptr, 0).find(R"("frame_bytes":4587450000)"), std::string::npos);
}

// Lists are searched in order while short and through their own index once
// long; either way every key keeps its one entry, whatever the other lists do.
TEST(CountedLists, ShortAndLongListsFindTheirEntries) {
    CountedLists<2> lists;
    struct Owner {
        std::uint32_t head = CountedLists<2>::kNone;
        std::uint8_t length = 0;
    } a, b, c;
    std::vector<std::uint32_t> in_a, in_c;
    for (std::uint32_t k = 0; k < 3000; ++k) {
        in_a.push_back(lists.locate(&a, a.head, a.length, k * 7919));
        if (k < 5) in_c.push_back(lists.locate(&c, c.head, c.length, k * 7919));
        lists.locate(&b, b.head, b.length, k);
    }
    EXPECT_EQ(lists.size(), 6005u);
    EXPECT_EQ(a.length, CountedLists<2>::kShort + 1);
    EXPECT_EQ(c.length, 5u);
    for (std::uint32_t k = 0; k < 3000; ++k) {
        ASSERT_EQ(lists.locate(&a, a.head, a.length, k * 7919), in_a[k]);
        lists.add(in_a[k], {1, k});
    }
    for (std::uint32_t k = 0; k < 5; ++k) EXPECT_EQ(lists.locate(&c, c.head, c.length, k * 7919), in_c[k]);
    EXPECT_EQ(lists.size(), 6005u);  // nothing added by finding
    std::uint64_t n = 0, sum = 0;
    lists.for_each(a.head, [&](std::uint32_t e) {
        n += lists.count(e, 0);
        sum += lists.count(e, 1);
    });
    EXPECT_EQ(n, 3000u);
    EXPECT_EQ(sum, 2999u * 3000u / 2);
}

// With a key mask, a short list is walked only when the key's bit is set:
// keys whose bits collide are still told apart, each keeps its one entry, and
// a list keeps finding its entries once it is long (the mask then unused).
TEST(CountedLists, AKeyMaskSkipsOnlyListsThatCannotHoldTheKey) {
    CountedLists<2> lists;
    std::uint32_t head = CountedLists<2>::kNone;
    std::uint8_t length = 0;
    std::uint16_t mask = 0;
    std::vector<std::uint32_t> entries;
    for (std::uint32_t k = 0; k < 40; ++k) {  // 40 keys over 16 bits: bits collide
        entries.push_back(lists.locate(&head, head, length, k, &mask));
        for (std::uint32_t j = 0; j <= k; ++j) {
            ASSERT_EQ(lists.locate(&head, head, length, j, &mask), entries[j]) << k;
        }
        if (k < CountedLists<2>::kShort) {
            EXPECT_NE(mask, 0u);
        }
    }
    EXPECT_EQ(lists.size(), 40u);
    // A second list with an empty mask never matches the first list's keys.
    std::uint32_t head2 = CountedLists<2>::kNone;
    std::uint8_t length2 = 0;
    std::uint16_t mask2 = 0;
    EXPECT_NE(lists.locate(&head2, head2, length2, 3, &mask2), entries[3]);
    EXPECT_EQ(lists.size(), 41u);
}

TEST(CountedLists, AnOverflowMovesAllCountersTo64Bits) {
    CountedLists<2> lists;
    std::uint32_t head = CountedLists<2>::kNone;
    std::uint8_t length = 0;
    const std::uint32_t e = lists.locate(&head, head, length, 1), other = lists.locate(&head, head, length, 2);
    lists.add(e, {1, 4'000'000'000u});
    lists.add(other, {1, 5});
    lists.add(e, {1, 4'000'000'000u});  // 8e9: past 2^32
    lists.add(e, {1, 1});
    EXPECT_EQ(lists.counts(e), (CountedLists<2>::Counts{3, 8'000'000'001u}));
    EXPECT_EQ(lists.counts(other), (CountedLists<2>::Counts{1, 5}));
    EXPECT_EQ(lists.key(e), 1u);
}

// A view that names only the first destinations keeps only those: later ones
// count in the totals, and their updates carry no destination.
TEST(Egress, MaxDestinationsKeepsTheFirstInDetail) {
    EgressConfig cfg = EgressConfig::defaults();
    cfg.max_destinations = 2;
    EgressTracker t(cfg);
    EXPECT_NE(t.add(frame("10.0.0.5", "8.8.8.8", 100)).destination, nullptr);
    EXPECT_NE(t.add(frame("10.0.0.5", "1.1.1.1", 200)).destination, nullptr);
    const EgressUpdate later = t.add(frame("10.0.0.5", "9.9.9.9", 400));
    EXPECT_EQ(later.direction, Direction::outbound_external);
    EXPECT_EQ(later.destination, nullptr);
    EXPECT_EQ(later.source, EgressUpdate::kNone);
    EXPECT_EQ(t.add(frame("10.0.0.6", "9.9.9.9", 800)).destination, nullptr);
    const EgressUpdate again = t.add(frame("10.0.0.6", "8.8.8.8", 50));
    ASSERT_NE(again.destination, nullptr);
    EXPECT_EQ(again.destination->address.to_string(), "8.8.8.8");
    EXPECT_EQ(t.source(again.source).frame_bytes, 50u);
    EXPECT_EQ(t.total(Direction::outbound_external).frame_bytes, 1550u);
    const auto d = t.destinations();
    ASSERT_EQ(d.size(), 2u);
    EXPECT_EQ(t.volume(*d[0]).frame_bytes, 200u);
    EXPECT_EQ(t.volume(*d[1]).frame_bytes, 150u);
}

// The index's slots hold a tag of the key's hash beside the record index.
// Records far past the slot count (a long list's entries in a shared store),
// keys with equal hashes (equal tags) and keys whose tags differ must all be
// found, before and after the table grows and its indices widen; a std::map
// says where each key is.
TEST(FlatIndex, FindsEveryRecordWhateverItsIndexOrHash) {
    struct Rec {
        std::uint64_t key;
        std::size_t hash;
    };
    std::map<std::uint32_t, Rec> recs;  // by record index
    std::map<std::uint64_t, std::uint32_t> where;
    FlatIndex index;
    const auto hash_of = [&](std::uint32_t i) { return recs.at(i).hash; };
    const auto lookup = [&](const Rec& r) {
        return index.find(r.hash, [&](std::uint32_t i) { return recs.at(i).key == r.key; });
    };
    std::uint32_t next_index = 0;
    for (std::uint64_t k = 0; k < 5000; ++k) {
        // every 5th key shares hash 7; the indices jump past 2^16 and 2^24
        next_index = k == 100 ? 70'000 : k == 2000 ? 20'000'000 : next_index + 1;
        recs[next_index] = Rec{k * 0x9E3779B97F4A7C15ull, k % 5 == 0 ? 7 : k * 2654435761u};
        ASSERT_EQ(lookup(recs[next_index]), FlatIndex::kNone) << k;
        index.insert(recs[next_index].hash, next_index, hash_of);
        where[recs[next_index].key] = next_index;
        if (k % 97 == 0) {
            for (const auto& [key, i] : where) ASSERT_EQ(lookup(recs[i]), i) << k << " " << key;
        }
    }
    for (const auto& [key, i] : where) EXPECT_EQ(lookup(recs[i]), i);
    EXPECT_EQ(index.size(), 5000u);
    EXPECT_EQ(lookup(Rec{1, 7}), FlatIndex::kNone);  // a key never added, on the crowded hash
}

// Destinations come most frame bytes first, ties in address order (IPv4
// before IPv6, then byte by byte): checked against a plain sort of the
// expected (bytes, address) pairs, with many ties that share their first
// bytes, so that the order is decided past the first three.
TEST(Egress, DestinationsByBytesThenAddress) {
    EgressTracker t;
    std::vector<std::pair<std::uint64_t, IpAddress>> expected;
    const char* const addresses[] = {"203.0.113.9",    "203.0.113.10", "203.0.113.1",   "203.0.114.1",
                                     "198.51.100.7",   "2001:db8::2",  "2001:db8::1",   "2001:db9::1",
                                     "2001:db8:0:1::", "9.9.9.9",      "203.0.112.255", "2001:db8::1:0"};
    std::uint32_t i = 0;
    for (const char* a : addresses) {
        const std::uint32_t len = 100 + 100 * (i++ % 3);  // three sizes: ties in each
        t.add(frame("10.0.0.5", a, len));
        expected.emplace_back(len, *IpAddress::parse(a));
    }
    std::sort(expected.begin(), expected.end(), [](const auto& a, const auto& b) {
        return a.first != b.first ? a.first > b.first : a.second < b.second;
    });
    const auto d = t.destinations();
    ASSERT_EQ(d.size(), expected.size());
    for (std::size_t k = 0; k < d.size(); ++k) {
        EXPECT_EQ(d[k]->address.to_string(), expected[k].second.to_string()) << k;
        EXPECT_EQ(t.volume(*d[k]).frame_bytes, expected[k].first) << k;
    }
}

// A destination's object exactly, in both layouts (indented as tshark writes
// it, and compact), with a name that needs escaping and a price.
TEST(Egress, DestinationObjectText) {
    EgressConfig cfg = EgressConfig::defaults();
    cfg.price_per_gb = 0.09;
    EgressTracker t(cfg);
    t.add(frame("10.0.0.5", "8.8.8.8", 1014));
    const auto names = [](const IpAddress&) { return std::string("dns \"google\""); };
    const std::string indented = egress_json(t, names, 2);
    const char* const want_indented = R"(
    {
      "address": "8.8.8.8",
      "name": "dns \"google\"",
      "scope": "external",
      "frames": 1,
      "frame_bytes": 1014,
      "ip_bytes": 1000,
      "payload_bytes": 960,
      "share": 1.000000,
      "estimated_cost": 0.000000,
      "first_time": 0.000000,
      "last_time": 0.000000,
      "sources": [
        {"address":"10.0.0.5","frames":1,"frame_bytes":1014,"ip_bytes":1000,"payload_bytes":960}
      ],
      "ports": [
        {"transport":"tcp","port":443,"frames":1,"frame_bytes":1014}
      ],
      "ports_omitted": 0
    }
)";
    EXPECT_NE(indented.find(want_indented), std::string::npos) << indented;
    const std::string compact = egress_json(t, names, 0);
    const char* const want_compact =
        R"({"address":"8.8.8.8","name":"dns \"google\"","scope":"external","frames":1,"frame_bytes":1014,)"
        R"("ip_bytes":1000,"payload_bytes":960,"share":1.000000,"estimated_cost":0.000000,"first_time":0.000000,)"
        R"("last_time":0.000000,"sources":[{"address":"10.0.0.5","frames":1,"frame_bytes":1014,"ip_bytes":1000,)"
        R"("payload_bytes":960}],"ports":[{"transport":"tcp","port":443,"frames":1,"frame_bytes":1014}],)"
        R"("ports_omitted":0})";
    EXPECT_NE(compact.find(want_compact), std::string::npos) << compact;
}

// Many flows interleaved, each frame's flow told apart by source,
// destination, transport and port alone (what the tracker keeps of the last
// flows to skip their look-ups must not let one pass for another): every
// volume as the frames sum up, and every update names the frame's own
// destination.
TEST(Egress, InterleavedFlowsAddUpExactly) {
    EgressTracker t;
    struct Key {
        std::string src, dst;
        std::uint8_t transport;
        std::uint16_t port;
    };
    // Groups of flows that differ in one part each (source, destination,
    // transport or port), fed one after the other: the second must not pass
    // for the first.
    std::vector<Key> flows;
    for (int i = 0; i < 12000; ++i) {
        const std::string src = "10.0." + std::to_string(i % 7) + "." + std::to_string(i % 250 + 1);
        const std::string dst =
            i % 5 == 0 ? "2001:db8::" + std::to_string(i % 900 + 1) : "198.51.100." + std::to_string(i % 200 + 1);
        const auto port = static_cast<std::uint16_t>(400 + i % 13);
        flows.push_back({src, dst, 6, port});
        flows.push_back({src, dst, 17, port});
        flows.push_back({src, dst, 6, static_cast<std::uint16_t>(port + 1000)});
        flows.push_back({src, "203.0.113." + std::to_string(i % 100 + 1), 6, port});
        flows.push_back({"10.1.0." + std::to_string(i % 200 + 1), dst, 6, port});
        if (i % 11 == 0) flows.push_back({src, dst, 0, 0});
    }
    std::map<std::string, std::uint64_t> by_dst, by_pair;
    std::map<std::string, std::uint64_t> by_port;  // "dst transport port"
    for (int round = 0; round < 3; ++round) {
        for (std::size_t i = 0; i < flows.size(); ++i) {
            const Key& k = flows[round == 1 ? flows.size() - 1 - i : i];
            EgressFrame f = frame(k.src.c_str(), k.dst.c_str(), static_cast<std::uint32_t>(60 + i % 1000), k.port);
            f.transport = k.transport;
            const EgressUpdate up = t.add(f);
            ASSERT_NE(up.destination, nullptr);
            EXPECT_EQ(up.destination->address, f.dst);
            const std::uint64_t len = f.frame_len;
            by_dst[k.dst] += len;
            by_pair[k.dst + " " + k.src] += len;
            if (k.transport) by_port[k.dst + " " + std::to_string(k.transport) + " " + std::to_string(k.port)] += len;
        }
        // Inbound and other frames between them: in the totals only.
        EXPECT_EQ(t.add(frame("198.51.100.7", "10.0.0.1", 100)).destination, nullptr);
        EXPECT_EQ(t.add(frame("198.51.100.7", "203.0.113.9", 100)).destination, nullptr);
    }
    EXPECT_EQ(t.total(Direction::inbound).frames, 3u);
    EXPECT_EQ(t.total(Direction::other).frames, 3u);
    std::uint64_t frames = 0;
    const auto dests = t.destinations();
    ASSERT_EQ(dests.size(), by_dst.size());
    for (const Destination* d : dests) {
        const std::string dst = d->address.to_string();
        EXPECT_EQ(t.volume(*d).frame_bytes, by_dst[dst]) << dst;
        for (const SourceVolume& s : t.sources(*d)) {
            EXPECT_EQ(s.volume.frame_bytes, by_pair[dst + " " + s.address.to_string()]) << dst;
            frames += s.volume.frames;
        }
        for (const PortVolume& p : t.ports(*d)) {
            if (p.transport == 0) continue;
            EXPECT_EQ(p.frame_bytes, by_port[dst + " " + std::to_string(p.transport) + " " + std::to_string(p.port)]);
        }
    }
    EXPECT_EQ(frames, 3 * flows.size());
}
