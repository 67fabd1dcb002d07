#include "triage/handshake_tracker.hpp"

#include <algorithm>
#include <climits>
#include <cstring>
#include <map>

#include "triage/flat_index.hpp"
#include "triage/json_writer.hpp"

namespace triage {

using namespace tcp_flags;

const char* to_string(Outcome o) {
    switch (o) {
        case Outcome::completed:
            return "completed";
        case Outcome::refused:
            return "refused";
        case Outcome::unanswered:
            return "unanswered";
        case Outcome::no_ack:
            return "no_ack";
        case Outcome::no_syn:
            return "no_syn";
    }
    return "?";
}

const char* to_string(NetworkLeg l) {
    switch (l) {
        case NetworkLeg::server_leg:
            return "server_leg";
        case NetworkLeg::client_leg:
            return "client_leg";
        case NetworkLeg::unclear:
            return "unclear";
    }
    return "?";
}

Outcome Handshake::outcome() const {
    if (!has_syn) return Outcome::no_syn;
    if (ack_seen) return Outcome::completed;
    if (refused) return Outcome::refused;
    if (synack_seen) return Outcome::no_ack;
    return Outcome::unanswered;
}

bool Handshake::negative_time() const {
    return (has_server_leg() && server_leg() < 0) || (has_client_leg() && client_leg() < 0) ||
           (has_connect() && connect() < 0);
}

NetworkLeg Handshake::network_leg() const {
    // One leg is the network path, the other the capturing host's own stack
    // turnaround; only call it when one is at least ten times the other.
    if (!has_rtt() || negative_time()) return NetworkLeg::unclear;
    const Nanos s = server_leg(), c = client_leg();
    // s >= 10c, written so that it cannot overflow (both are >= 0 here).
    if (c <= s / 10 && s > 0) return NetworkLeg::server_leg;
    if (s <= c / 10 && c > 0) return NetworkLeg::client_leg;
    return NetworkLeg::unclear;
}

namespace {
enum : std::uint8_t {
    kHasSyn = 1,
    kSynackSeen = 2,
    kAckSeen = 4,
    kRefused = 8,
    kContext = 16,
    kOneSyn = 32,     // syn_count 1 (else 0), when there is no Rare record
    kOneSynack = 64,  // synack_count 1 (else 0), idem
};
}  // namespace

std::uint32_t HandshakeTracker::pack_address(const IpAddress& a, std::uint8_t* family) {
    *family = a.is_v4() ? 1 : a.is_v6() ? 2 : 0;
    if (a.is_v4()) {
        std::uint32_t v;
        std::memcpy(&v, a.bytes(), 4);
        return v;
    }
    return a.is_v6() ? v6_.intern(a) : 0;
}

IpAddress HandshakeTracker::unpack_address(std::uint32_t value, unsigned family) const {
    if (family == 1) {
        std::uint8_t b[4];
        std::memcpy(b, &value, 4);
        return IpAddress::v4(b);
    }
    if (family == 2) return v6_[value];
    return IpAddress();
}

Handshake HandshakeTracker::unpack(const Packed& p) const {
    Handshake h;
    h.first_syn_time = p.first_syn_time;
    h.synack_time = p.synack_time;
    h.ack_time = p.ack_time;
    h.stream = p.stream;
    h.first_syn_frame = p.first_syn_frame;
    h.synack_frame = p.synack_frame;
    h.ack_frame = p.ack_frame;
    h.client_isn = p.client_isn;
    h.server_isn = p.server_isn;
    h.client_port = p.client_port;
    h.server_port = p.server_port;
    h.client = unpack_address(p.client, p.families & 3u);
    h.server = unpack_address(p.server, (p.families >> 2) & 3u);
    h.has_syn = p.flags & kHasSyn;
    h.synack_seen = p.flags & kSynackSeen;
    h.ack_seen = p.flags & kAckSeen;
    h.refused = p.flags & kRefused;
    h.context = p.flags & kContext;
    if (p.rare) {
        const Rare& r = rare_[p.rare - 1];
        h.syn_time = r.syn_time;
        h.syn_frame = r.syn_frame;
        h.last_synack_time = r.last_synack_time;
        h.last_synack_frame = r.last_synack_frame;
        h.rst_frame = r.rst_frame;
        h.syn_data = r.syn_data;
        h.syn_count = r.syn_count;
        h.synack_count = r.synack_count;
    } else {
        h.syn_time = h.first_syn_time;
        h.syn_frame = h.first_syn_frame;
        h.last_synack_time = h.synack_time;
        h.last_synack_frame = h.synack_frame;
        h.syn_count = (p.flags & kOneSyn) ? 1 : 0;
        h.synack_count = (p.flags & kOneSynack) ? 1 : 0;
    }
    return h;
}

void HandshakeTracker::store(std::uint32_t index, const Handshake& h) {
    Packed& p = records_[index];
    p.first_syn_time = h.first_syn_time;
    p.synack_time = h.synack_time;
    p.ack_time = h.ack_time;
    p.stream = h.stream;
    p.first_syn_frame = h.first_syn_frame;
    p.synack_frame = h.synack_frame;
    p.ack_frame = h.ack_frame;
    p.client_isn = h.client_isn;
    p.server_isn = h.server_isn;
    p.client_port = h.client_port;
    p.server_port = h.server_port;
    if (p.families == 0) {
        // A record's endpoints are set by start() and never change: packed
        // (IPv6 ones interned, a table lookup each) on its first store only.
        std::uint8_t cf = 0, sf = 0;
        p.client = pack_address(h.client, &cf);
        p.server = pack_address(h.server, &sf);
        p.families = static_cast<std::uint8_t>(cf | sf << 2);
    }
    p.flags = static_cast<std::uint8_t>((h.has_syn ? kHasSyn : 0) | (h.synack_seen ? kSynackSeen : 0) |
                                        (h.ack_seen ? kAckSeen : 0) | (h.refused ? kRefused : 0) |
                                        (h.context ? kContext : 0));
    const bool usual = h.syn_time == h.first_syn_time && h.syn_frame == h.first_syn_frame &&
                       h.last_synack_time == h.synack_time && h.last_synack_frame == h.synack_frame &&
                       h.rst_frame == 0 && h.syn_data == 0 && h.syn_count <= 1 && h.synack_count <= 1;
    if (usual && !p.rare) {
        p.flags |= static_cast<std::uint8_t>((h.syn_count ? kOneSyn : 0) | (h.synack_count ? kOneSynack : 0));
        return;
    }
    if (!p.rare) {
        rare_.push_back(Rare{});
        p.rare = static_cast<std::uint32_t>(rare_.size());
    }
    Rare& r = rare_[p.rare - 1];
    r.syn_time = h.syn_time;
    r.syn_frame = h.syn_frame;
    r.last_synack_time = h.last_synack_time;
    r.last_synack_frame = h.last_synack_frame;
    r.rst_frame = h.rst_frame;
    r.syn_data = h.syn_data;
    r.syn_count = h.syn_count;
    r.synack_count = h.synack_count;
}

std::uint32_t HandshakeTracker::current(std::uint32_t stream) const {
    if (stream < dense_.size() && dense_[stream]) return (dense_[stream] & ~kDone) - 1;
    if (sparse_.empty()) return kNoRecord;
    const auto it = sparse_.find(stream);
    return it == sparse_.end() ? kNoRecord : it->second;
}

void HandshakeTracker::set_current(std::uint32_t stream, std::uint32_t index) {
    if (stream >= dense_.size() && stream - dense_.size() < 65536) dense_.resize(std::size_t{stream} + 1, 0);
    if (stream < dense_.size() && index + 1 < kDone) {
        dense_[stream] = index + 1;
    } else {
        if (stream < dense_.size()) dense_[stream] = 0;  // an index too large for the vector's entries
        sparse_[stream] = index;
    }
}

void HandshakeTracker::mark_done(std::uint32_t stream, std::uint32_t index) {
    if (stream < dense_.size() && dense_[stream] == index + 1) dense_[stream] |= kDone;
}

std::uint32_t HandshakeTracker::start(const TcpSegment& seg, bool client_is_src, Handshake* out) {
    Handshake& h = *out;
    h = Handshake{};
    h.stream = seg.stream;
    h.client = client_is_src ? seg.src : seg.dst;
    h.server = client_is_src ? seg.dst : seg.src;
    h.client_port = client_is_src ? seg.sport : seg.dport;
    h.server_port = client_is_src ? seg.dport : seg.sport;
    h.context = !window_.contains(seg.frame);
    const auto index = static_cast<std::uint32_t>(records_.size());
    records_.push_back(Packed{});
    store(index, h);
    set_current(seg.stream, index);
    if (!h.context) ++outcome_counts_[static_cast<std::size_t>(Outcome::no_syn)];
    return index;
}

std::uint64_t HandshakeTracker::syn_key(const IpAddress& client, std::uint16_t client_port, const IpAddress& server,
                                        std::uint16_t server_port, std::uint32_t isn) {
    std::uint64_t k = client.hash();
    k = (k ^ server.hash()) * 1099511628211ull;
    k = (k ^ (std::uint64_t{client_port} << 16 | server_port)) * 1099511628211ull;
    return (k ^ isn) * 1099511628211ull;
}

namespace {
constexpr std::uint32_t kSlotEmpty = 0, kSlotRemoved = UINT32_MAX;

std::size_t power_of_two_at_least(std::size_t n) {
    std::size_t p = 1;
    while (p < n) p <<= 1;
    return p;
}
}  // namespace

void HandshakeTracker::rehash_unanswered(std::size_t slots) {
    HugeVector<std::uint32_t> old = std::move(unanswered_);
    unanswered_.assign(slots, kSlotEmpty);
    unanswered_live_ = unanswered_filled_ = 0;
    for (std::uint32_t s : old)
        if (s != kSlotEmpty && s != kSlotRemoved) note_unanswered(syn_key(at(s - 1)), s - 1);
}

void HandshakeTracker::note_unanswered(std::uint64_t key, std::uint32_t index) {
    // Linear probing stays short up to three quarters full; a rehash leaves it at most half full.
    if ((unanswered_filled_ + 1) * 4 > unanswered_.size() * 3)
        rehash_unanswered(std::max<std::size_t>(16, power_of_two_at_least((unanswered_live_ + 1) * 2)));
    const std::size_t mask = unanswered_.size() - 1;
    std::size_t free = SIZE_MAX;
    for (std::size_t i = key & mask;; i = (i + 1) & mask) {
        const std::uint32_t s = unanswered_[i];
        if (s == index + 1) return;  // already there
        if (s == kSlotRemoved && free == SIZE_MAX) free = i;
        if (s == kSlotEmpty) {
            if (free == SIZE_MAX) {
                free = i;
                ++unanswered_filled_;
            }
            break;
        }
    }
    unanswered_[free] = index + 1;
    ++unanswered_live_;
}

void HandshakeTracker::forget_unanswered(std::uint64_t key, std::uint32_t index) {
    if (unanswered_.empty()) return;
    const std::size_t mask = unanswered_.size() - 1;
    for (std::size_t i = key & mask; unanswered_[i] != kSlotEmpty; i = (i + 1) & mask) {
        if (unanswered_[i] == index + 1) {
            unanswered_[i] = kSlotRemoved;
            --unanswered_live_;
            return;
        }
    }
}

std::uint32_t HandshakeTracker::retried_elsewhere(const TcpSegment& seg) const {
    if (unanswered_live_ == 0) return kNoRecord;
    const std::size_t mask = unanswered_.size() - 1;
    for (std::size_t i = syn_key(seg.src, seg.sport, seg.dst, seg.dport, seg.seq) & mask; unanswered_[i] != kSlotEmpty;
         i = (i + 1) & mask) {
        const std::uint32_t s = unanswered_[i];
        if (s == kSlotRemoved) continue;
        const Packed& p = records_[s - 1];
        if (p.client_isn != seg.seq || p.client_port != seg.sport || p.server_port != seg.dport) continue;
        const Handshake h = unpack(p);
        if (h.outcome() == Outcome::unanswered && h.client == seg.src && h.server == seg.dst) return s - 1;
    }
    return kNoRecord;
}

HandshakeUpdate HandshakeTracker::add(const TcpSegment& in) {
    if (clamp_time(in.time) == in.time) return add_clamped(in);  // the usual case: no copy
    TcpSegment seg = in;
    seg.time = clamp_time(in.time);  // any two times can then be subtracted
    return add_clamped(seg);
}

HandshakeUpdate HandshakeTracker::add_clamped(const TcpSegment& seg) {
    anomalies_.frame_time(seg.frame, seg.time, window_.contains(seg.frame));
    // Most segments come after the handshake's ACK: without SYN they change
    // nothing (a RST or data after the ACK is the connection's business), so
    // the record is not even read (the stream's entry says so: 4 bytes a
    // stream, where the records take 72 bytes a handshake and are not in
    // the cache), nor the handshake's own (larger) function entered.
    const bool syn_flag = seg.flags & syn;
    if (!syn_flag && seg.stream < dense_.size() && (dense_[seg.stream] & kDone)) return HandshakeUpdate{};
    const std::uint32_t index = current(seg.stream);
    // The same for a stream whose entry does not say it (another stream's
    // segment completed the handshake, a stream kept in sparse_).
    if (index != kNoRecord && !syn_flag && (records_[index].flags & kAckSeen)) return HandshakeUpdate{};
    return add_to(seg, index);
}

[[gnu::noinline]] HandshakeUpdate HandshakeTracker::add_to(const TcpSegment& seg, std::uint32_t index) {
    HandshakeUpdate up;
    // The record is worked on unpacked and stored back at the end.
    Handshake work;
    Handshake* h = nullptr;
    if (index != kNoRecord) {
        work = at(index);
        h = &work;
    }
    const auto begin = [&](bool client_is_src) {
        index = start(seg, client_is_src, &work);
        h = &work;
        up.is_new = true;
    };
    const bool is_syn = seg.flags & syn, is_ack = seg.flags & ack, is_rst = seg.flags & rst;

    auto from_server = [&](const Handshake& r) {
        return seg.src == r.server && seg.sport == r.server_port &&
               !(seg.dst == r.server && seg.dport == r.server_port);
    };
    auto from_client = [&](const Handshake& r) { return seg.src == r.client && seg.sport == r.client_port; };

    bool changed = false;  // stored back only then (most segments change nothing)
    if (is_syn && !is_ack) {
        changed = true;
        // A SYN after a finished handshake, a refusal, or a SYN with a new ISN
        // after the SYN/ACK starts a new handshake on a reused port pair.
        bool fresh = !h || !h->has_syn || h->ack_seen || h->refused || (h->synack_seen && seg.seq != h->client_isn) ||
                     !from_client(*h);
        if (!h) {
            // A new tcp.stream for the same SYN (same ports, same ISN) while
            // nothing answered it: a retransmission, not a new handshake.
            if (const std::uint32_t same = retried_elsewhere(seg); same != kNoRecord) {
                index = same;
                work = at(index);
                h = &work;
                fresh = false;
                set_current(seg.stream, index);
            }
        }
        if (fresh) begin(true);
        up.before = h->outcome();
        if (h->syn_count == UINT32_MAX)
            anomalies_.add("counter_limit", seg.frame, "SYN count of a handshake saturated");
        else
            ++h->syn_count;
        if (!h->has_syn) {
            h->has_syn = true;
            h->first_syn_frame = seg.frame;
            h->first_syn_time = seg.time;
        }
        if (!h->synack_seen) {
            if (h->syn_count > 1 && h->client_isn != seg.seq) forget_unanswered(syn_key(*h), index);
            h->syn_frame = seg.frame;
            h->syn_time = seg.time;
            h->client_isn = seg.seq;
            h->syn_data = seg.seglen;
            store(index, *h);                     // the table's rehash reads keys from the records
            note_unanswered(syn_key(*h), index);  // a refused record never gets here: its SYN starts anew
            changed = false;                      // stored
        }
    } else if (is_syn && is_ack) {
        if (!h) begin(false);  // capture started after the SYN
        up.before = h->outcome();
        if (!from_server(*h)) return up;  // simultaneous open: not a client/server handshake
        changed = true;
        if (h->synack_count == UINT32_MAX)
            anomalies_.add("counter_limit", seg.frame, "SYN/ACK count of a handshake saturated");
        else
            ++h->synack_count;
        if (h->ack_seen) {
            // a late retransmission: changes nothing measured
        } else if (!h->synack_seen) {
            const std::uint32_t want = h->client_isn + 1;  // wraps like TCP
            const bool acks_syn = !h->has_syn || seg.ack == want || seg.ack == want + h->syn_data;
            if (acks_syn) {
                if (h->has_syn) forget_unanswered(syn_key(*h), index);
                h->synack_seen = true;
                h->synack_frame = h->last_synack_frame = seg.frame;
                h->synack_time = h->last_synack_time = seg.time;
                h->server_isn = seg.seq;
            }
        } else if (seg.seq == h->server_isn) {
            h->last_synack_frame = seg.frame;
            h->last_synack_time = seg.time;
        }
    } else if (is_rst) {
        if (!h) return up;
        up.before = h->outcome();
        if (h->has_syn && !h->synack_seen && !h->refused && from_server(*h)) {
            h->refused = true;
            forget_unanswered(syn_key(*h), index);
            h->rst_frame = seg.frame;
            changed = true;
        } else if (h->synack_seen && !h->ack_seen && !h->rst_frame) {
            h->rst_frame = seg.frame;
            changed = true;
        }
    } else if (is_ack) {
        // Mid-stream start: guess the server as the lower port.
        if (!h) begin(seg.sport > seg.dport || (seg.sport == seg.dport));
        up.before = h->outcome();
        if (h->synack_seen && !h->ack_seen && from_client(*h) && seg.ack == h->server_isn + 1) {
            h->ack_seen = true;
            changed = true;
            h->ack_frame = seg.frame;
            h->ack_time = seg.time;
            up.rtt_now_known = h->has_rtt() && !h->negative_time();
        }
    } else {
        if (!h) return up;
        up.before = h->outcome();
    }

    if (changed) store(index, *h);
    if (h->ack_seen) mark_done(seg.stream, index);
    if (h->context) return HandshakeUpdate{};  // none of this statistic's business
    last_ = *h;
    up.handshake = &last_;
    up.after = h->outcome();
    if (up.is_new) up.before = Outcome::no_syn;
    if (up.before != up.after || up.is_new) {
        // start() counted the record as no_syn; move it to where it is now.
        --outcome_counts_[static_cast<std::size_t>(up.before)];
        ++outcome_counts_[static_cast<std::size_t>(up.after)];
    }
    return up;
}

HandshakeReport HandshakeTracker::report() const {
    HandshakeReport r;
    // Fresh memory is dear (each page's first write is a fault, ~10 us for a
    // small page on the VMs captures are analysed on): the report writes
    // each array it needs once, in huge pages when large (huge_pages.hpp),
    // and no array twice. On 100 000 handshakes to 58 000 servers that is
    // ~12 MB. Each leg's samples are written once as the leg's population
    // (for the percentiles over all servers), then overwritten in place,
    // grouped by server, for the per-server ones.
    const std::size_t n = handshakes().size();
    using Counts = ServerReports::Counts;
    // Each arena sized for all it will hold (at most a server per
    // handshake): a region begun for a small remainder would map a huge page.
    r.servers.a_ = std::make_unique<ServerReports::Arrays>(
        n * (sizeof(Counts) + 3 * sizeof(Nanos) + 4 * sizeof(std::uint32_t)) + 4096);
    ServerReports::Arrays& servers = *r.servers.a_;
    struct Rank {  // a server's place in the report, as sorted (below)
        std::uint64_t high, low;
        std::uint32_t index;
    };
    HugeArena scratch(n * (sizeof(Nanos) + sizeof(std::uint32_t) + 1 + sizeof(Rank) + 4 * sizeof(std::uint32_t)) +
                      4096);
    // Per handshake: which legs it has (bit l: legs[l]; 0 for one not
    // counted) and, where it has any, its server's index (the key's, in the
    // order servers were first met). Both written only for a handshake with a
    // leg: the arena's memory comes zeroed (huge_map), and a page never
    // written is never mapped (a SYN flood's million unanswered handshakes
    // map none of it).
    auto* const server_of = static_cast<std::uint32_t*>(scratch.allocate(n * sizeof(std::uint32_t), 4));
    auto* const legs_of = static_cast<std::uint8_t*>(scratch.allocate(n, 1));
    // Every population has room for all handshakes from the start: a large
    // reservation costs address space only until it is written.
    auto* const conn = static_cast<Nanos*>(scratch.allocate(n * sizeof(Nanos), alignof(Nanos)));
    std::size_t conn_size = 0;
    std::array<std::pmr::vector<Nanos>*, 3> legs{};  // in ServerReports::Arrays::legs order: RTT, server, client
    for (std::size_t l = 0; l < legs.size(); ++l) {
        legs[l] = &servers.legs[l].values;
        legs[l]->reserve(n);
    }
    servers.counts.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        const Handshake h = at(i);
        if (h.context) continue;
        ++r.connections;
        const auto oi = static_cast<std::size_t>(h.outcome());
        ++r.outcomes[oi];
        if (h.has_syn) ++r.syn_seen;
        if (h.syn_count > 1) r.syn_retransmissions += h.syn_count - 1;
        if (h.synack_count > 1) r.synack_retransmissions += h.synack_count - 1;
        const std::uint32_t si = servers.keys.intern(ServerKey{h.server, h.server_port});
        if (si == servers.counts.size()) servers.counts.emplace_back();
        Counts& s = servers.counts[si];
        ++s.connections;
        ++s.outcomes[oi];
        if (h.retried()) {
            ++r.retried;
            ++s.retried;
        }
        if (h.negative_time()) {
            ++r.negative_time;
            continue;
        }
        std::uint8_t present = 0;
        if (h.has_rtt()) {
            legs[0]->push_back(h.rtt());
            present |= 1u;
            r.histogram.add(h.rtt());
            const auto leg = static_cast<std::size_t>(h.network_leg());
            ++r.network_leg[leg];
            ++s.network_leg[leg];
        }
        if (h.has_server_leg()) {
            legs[1]->push_back(h.server_leg());
            present |= 2u;
        }
        if (h.has_client_leg()) {
            legs[2]->push_back(h.client_leg());
            present |= 4u;
        }
        if (h.has_connect()) conn[conn_size++] = h.connect();
        if (present) {
            legs_of[i] = present;
            server_of[i] = si;
        }
    }
    r.rtt = summarize(legs[0]->data(), legs[0]->size());
    r.server_leg = summarize(legs[1]->data(), legs[1]->size());
    r.client_leg = summarize(legs[2]->data(), legs[2]->size());
    r.connect = summarize(conn, conn_size);
    // Most connections first; ties in address, then port order. Sorted as
    // indices. Each index carries its order's first 128 bits (the
    // connections, inverted; the address family; the address's first 88
    // bits), so that most comparisons are two integer compares; the rest (an
    // IPv6 address that shares those bits, or one address with two ports)
    // compare the keys themselves.
    const auto& keys = servers.keys;
    const std::size_t count = keys.size();
    std::pmr::vector<Rank> ranks(&scratch);
    ranks.reserve(count);
    for (std::uint32_t i = 0; i < count; ++i) {
        const IpAddress::SortKey a = keys[i].address.sort_key();
        ranks.push_back(
            Rank{std::uint64_t{~servers.counts[i].connections} << 32 | std::uint64_t{a.family} << 24 | a.high >> 40,
                 a.high << 24 | a.low >> 40, i});
    }
    std::sort(ranks.begin(), ranks.end(), [&keys](const Rank& a, const Rank& b) {
        if (a.high != b.high) return a.high < b.high;
        if (a.low != b.low) return a.low < b.low;
        return keys[a.index] < keys[b.index];  // the same connections: the address, then the port
    });
    std::pmr::vector<std::uint32_t> place(count, &scratch);  // a key's place in the report
    servers.order.reserve(count);
    for (std::uint32_t i = 0; i < count; ++i) {
        place[ranks[i].index] = i;
        servers.order.push_back(ranks[i].index);
    }
    // Each leg's samples grouped by server in report order (a counting sort
    // over the handshakes, which hold the values), then each server's few
    // values sorted: no sort of all samples at once.
    for (auto& leg : servers.legs) leg.start.assign(count + 1, 0);
    for (std::size_t i = 0; i < n; ++i) {  // one pass counts all three legs
        const std::uint8_t present = legs_of[i];
        if (present == 0) continue;
        const std::uint32_t p = place[server_of[i]] + 1;
        for (std::size_t l = 0; l < legs.size(); ++l)
            if (present >> l & 1u) ++servers.legs[l].start[p];
    }
    for (auto& leg : servers.legs)
        for (std::size_t i = 1; i < leg.start.size(); ++i) leg.start[i] += leg.start[i - 1];
    {
        std::array<std::pmr::vector<std::uint32_t>, 3> next{std::pmr::vector<std::uint32_t>(&scratch),
                                                            std::pmr::vector<std::uint32_t>(&scratch),
                                                            std::pmr::vector<std::uint32_t>(&scratch)};
        for (std::size_t l = 0; l < legs.size(); ++l)
            next[l].assign(servers.legs[l].start.begin(), servers.legs[l].start.end() - 1);
        for (std::size_t i = 0; i < n; ++i) {
            const std::uint8_t present = legs_of[i];
            if (present == 0) continue;
            const Handshake h = at(i);
            const std::uint32_t p = place[server_of[i]];
            if (present & 1u) (*legs[0])[next[0][p]++] = h.rtt();
            if (present & 2u) (*legs[1])[next[1][p]++] = h.server_leg();
            if (present & 4u) (*legs[2])[next[2][p]++] = h.client_leg();
        }
    }
    for (std::size_t l = 0; l < legs.size(); ++l) {
        const auto& start = servers.legs[l].start;
        Nanos* const values = legs[l]->data();
        for (std::size_t i = 0; i < count; ++i)
            if (start[i + 1] - start[i] > 1) std::sort(values + start[i], values + start[i + 1]);
    }
    return r;
}

ServerReport ServerReports::at(std::size_t i) const {
    ServerReport s;
    const std::uint32_t k = a_->order[i];
    s.key = a_->keys[k];
    const Counts& c = a_->counts[k];
    s.connections = c.connections;
    s.retried = c.retried;
    std::copy(c.outcomes.begin(), c.outcomes.end(), s.outcomes.begin());
    std::copy(c.network_leg.begin(), c.network_leg.end(), s.network_leg.begin());
    Summary ServerReport::*const summaries[] = {&ServerReport::rtt, &ServerReport::server_leg,
                                                &ServerReport::client_leg};
    for (std::size_t l = 0; l < a_->legs.size(); ++l) {
        const Leg& leg = a_->legs[l];
        if (const std::size_t m = leg.start[i + 1] - leg.start[i]; m > 0)
            s.*summaries[l] = summarize_sorted(leg.values.data() + leg.start[i], m);
    }
    return s;
}

namespace {
// Returns the report's negative_time count.
std::uint64_t write_handshake_json(const HandshakeTracker& t, JsonWriter& w,
                                   const std::function<void(JsonWriter&)>& extra);
}  // namespace

std::string handshake_json(const HandshakeTracker& t, int indent) {
    JsonWriter w(indent);
    w.set_compact_depth(2);  // as the streamed form: connections are written as one-line values
    write_handshake_json(t, w, nullptr);
    return w.take();
}

void handshake_json(const HandshakeTracker& t, const std::function<void(std::string_view)>& sink) {
    handshake_json(t, sink, nullptr);
}

std::uint64_t handshake_json(const HandshakeTracker& t, const std::function<void(std::string_view)>& sink,
                             const std::function<void(JsonWriter&)>& extra) {
    JsonWriter w(2, sink);
    w.set_compact_depth(2);  // one line per connection, server and anomaly
    const std::uint64_t negative_time = write_handshake_json(t, w, extra);
    w.finish();
    return negative_time;
}

namespace {
void write_connection(JsonWriter& w, const Handshake& h) {
    JsonLine l(w);  // one line per connection: built at once, in place (a report lists millions)
    l.lit("{\"stream\":").u64(h.stream);
    l.lit(",\"client\":").address(h.client);
    l.lit(",\"client_port\":").u64(h.client_port);
    l.lit(",\"server\":").address(h.server);
    l.lit(",\"server_port\":").u64(h.server_port);
    l.lit(",\"start_time\":");
    if (h.has_syn)
        l.epoch_us(h.first_syn_time);
    else if (h.synack_seen)
        l.epoch_us(h.synack_time);
    else
        l.null();
    l.lit(",\"first_syn_frame\":").u64_or_null(h.has_syn, h.first_syn_frame);
    l.lit(",\"syn_frame\":").u64_or_null(h.has_syn, h.syn_frame);
    l.lit(",\"synack_frame\":").u64_or_null(h.synack_seen, h.synack_frame);
    l.lit(",\"last_synack_frame\":").u64_or_null(h.synack_seen, h.last_synack_frame);
    l.lit(",\"ack_frame\":").u64_or_null(h.ack_seen, h.ack_frame);
    l.lit(",\"rst_frame\":").u64_or_null(h.rst_frame != 0, h.rst_frame);
    l.lit(",\"syn_count\":").u64(h.syn_count);
    l.lit(",\"synack_count\":").u64(h.synack_count);
    l.lit(",\"retried\":").boolean(h.retried());
    l.lit(",\"server_leg_ms\":").ms_or_null(h.has_server_leg(), h.server_leg());
    l.lit(",\"client_leg_ms\":").ms_or_null(h.has_client_leg(), h.client_leg());
    l.lit(",\"rtt_ms\":").ms_or_null(h.has_rtt(), h.rtt());
    l.lit(",\"connect_ms\":").ms_or_null(h.has_connect(), h.connect());
    l.lit(",\"network_leg\":");
    const NetworkLeg nl = h.network_leg();
    if (nl == NetworkLeg::unclear)
        l.null();
    else
        l.plain(to_string(nl));
    l.lit(",\"outcome\":").plain(to_string(h.outcome()));
    l.lit(",\"anomaly\":");
    if (h.negative_time())
        l.plain("negative_time");
    else
        l.null();
    w.raw_value(l.lit("}"));
}

// A context handshake that began before the counting window (not after it).
bool started_before(const Handshake& h, const FrameWindow& win) {
    if (h.has_syn) return h.first_syn_frame < win.first;
    return h.synack_seen && h.synack_frame < win.first;
}

std::uint64_t write_handshake_json(const HandshakeTracker& t, JsonWriter& w,
                                   const std::function<void(JsonWriter&)>& extra) {
    const HandshakeReport r = t.report();
    w.begin_object();
    w.key("summary").begin_object();
    w.field("connections", r.connections);
    w.field("syn_seen", r.syn_seen);
    for (std::size_t i = 0; i < kOutcomeCount; ++i)
        w.plain_key(to_string(static_cast<Outcome>(i))).value(r.outcomes[i]);
    w.field("syn_retransmissions", r.syn_retransmissions);
    w.field("synack_retransmissions", r.synack_retransmissions);
    w.field("retried_handshakes", r.retried);
    w.field("negative_time", r.negative_time);
    w.key("network_leg").begin_object();
    for (std::size_t i = 0; i < 3; ++i) w.plain_key(to_string(static_cast<NetworkLeg>(i))).value(r.network_leg[i]);
    w.end_object();
    w.end_object();
    w.summary_ms("rtt_ms", r.rtt);
    w.summary_ms("server_leg_ms", r.server_leg);
    w.summary_ms("client_leg_ms", r.client_leg);
    w.summary_ms("connect_ms", r.connect);
    w.key("histogram").histogram_value(r.histogram);
    w.key("servers").begin_array();
    for (const ServerReport& s : r.servers) {  // one line each, built at once, in place
        JsonLine l(w);
        l.lit("{\"server\":").address(s.key.address);
        l.lit(",\"server_port\":").u64(s.key.port);
        l.lit(",\"connections\":").u64(s.connections);
        for (std::size_t i = 0; i < kOutcomeCount; ++i)
            l.lit(",").plain(to_string(static_cast<Outcome>(i))).lit(":").u64(s.outcomes[i]);
        l.lit(",\"rtt_ms\":").summary_ms(s.rtt);
        l.lit(",\"server_leg_ms\":").summary_ms(s.server_leg);
        l.lit(",\"client_leg_ms\":").summary_ms(s.client_leg);
        w.raw_value(l.lit("}"));
    }
    w.end_array();
    AnomalyLog anomalies = t.anomalies();
    if (r.negative_time > 0) {  // counted by the report: a pass over every handshake only then
        t.for_each_negative_time([&anomalies](const Handshake& h) {
            anomalies.add("negative_time", h.ack_seen ? h.ack_frame : h.synack_frame,
                          "tcp.stream " + std::to_string(h.stream) +
                              ": timestamps go backwards inside the handshake; its times are kept out of every "
                              "statistic");
        });
    }
    anomalies.write(w);
    w.key("connections").begin_array();
    for (const Handshake& h : t.handshakes())
        if (!h.context) write_connection(w, h);
    w.end_array();
    if (const FrameWindow& win = t.window(); win.limited()) {
        // For triage-merge: which frames this run counted, and the handshakes
        // that started in the context before them (the previous file's), as
        // this run saw them, so that a handshake longer than the context is
        // completed or reported.
        w.key("window").begin_object();
        w.field("first_frame", win.first);
        w.key("last_frame");
        if (win.last)
            w.value(win.last);
        else
            w.null();
        w.end_object();
        w.key("context_connections").begin_array();
        for (const Handshake& h : t.handshakes())
            if (h.context && started_before(h, win)) write_connection(w, h);
        w.end_array();
    }
    if (extra) extra(w);
    w.end_object();
    return r.negative_time;
}
}  // namespace

std::string handshake_csv(const HandshakeTracker& t) {
    std::string out;
    handshake_csv(t, [&out](std::string_view chunk) { out.append(chunk); });
    return out;
}

void handshake_csv(const HandshakeTracker& t, const std::function<void(std::string_view)>& sink) {
    std::string out =
        "stream,client,client_port,server,server_port,first_syn_frame,syn_frame,synack_frame,last_synack_frame,"
        "ack_frame,syn_count,synack_count,server_leg_ms,client_leg_ms,rtt_ms,connect_ms,network_leg,outcome,"
        "anomaly\n";
    auto num = [](bool present, std::uint32_t v) { return present ? std::to_string(v) : std::string(); };
    auto ms = [](bool present, Nanos v) { return present ? format_ms(v) : std::string(); };
    for (const Handshake& h : t.handshakes()) {
        if (h.context) continue;
        const NetworkLeg nl = h.network_leg();
        out += std::to_string(h.stream) + ',' + h.client.to_string() + ',' + std::to_string(h.client_port) + ',' +
               h.server.to_string() + ',' + std::to_string(h.server_port) + ',' + num(h.has_syn, h.first_syn_frame) +
               ',' + num(h.has_syn, h.syn_frame) + ',' + num(h.synack_seen, h.synack_frame) + ',' +
               num(h.synack_seen, h.last_synack_frame) + ',' + num(h.ack_seen, h.ack_frame) + ',' +
               std::to_string(h.syn_count) + ',' + std::to_string(h.synack_count) + ',' +
               ms(h.has_server_leg(), h.server_leg()) + ',' + ms(h.has_client_leg(), h.client_leg()) + ',' +
               ms(h.has_rtt(), h.rtt()) + ',' + ms(h.has_connect(), h.connect()) + ',' +
               (nl == NetworkLeg::unclear ? "" : to_string(nl)) + ',' + to_string(h.outcome()) + ',' +
               (h.negative_time() ? "negative_time" : "") + '\n';
        if (out.size() >= (1u << 16)) {
            sink(out);
            out.clear();
        }
    }
    sink(out);
}

}  // namespace triage
