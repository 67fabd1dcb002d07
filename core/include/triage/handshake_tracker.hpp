// Per-connection TCP handshake tracking: server leg, client leg, RTT, connect
// time and outcome, one record per handshake (a stream can hold several when
// its ports are reused).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <memory_resource>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "triage/flat_index.hpp"
#include "triage/huge_pages.hpp"
#include "triage/ip_address.hpp"
#include "triage/stats.hpp"
#include "triage/time_anomalies.hpp"

namespace triage {

namespace tcp_flags {
constexpr std::uint16_t fin = 0x01, syn = 0x02, rst = 0x04, ack = 0x10;
}

// What the tcp tap tells about one segment.
struct TcpSegment {
    std::uint32_t stream = 0;
    std::uint32_t frame = 0;
    Nanos time = 0;  // epoch nanoseconds
    IpAddress src, dst;
    std::uint16_t sport = 0, dport = 0;
    std::uint16_t flags = 0;
    std::uint32_t seq = 0, ack = 0;  // raw (absolute) numbers
    std::uint32_t seglen = 0;
};

enum class Outcome : std::uint8_t { completed, refused, unanswered, no_ack, no_syn };
constexpr std::size_t kOutcomeCount = 5;
const char* to_string(Outcome o);

enum class NetworkLeg : std::uint8_t { unclear, server_leg, client_leg };
const char* to_string(NetworkLeg l);

struct Handshake {
    // Ordered by size to keep the record small: one is held per connection.
    Nanos first_syn_time = 0, syn_time = 0;  // first SYN; last SYN before the first SYN/ACK
    Nanos synack_time = 0, last_synack_time = 0;
    Nanos ack_time = 0;
    std::uint32_t stream = 0;
    std::uint32_t first_syn_frame = 0, syn_frame = 0;
    std::uint32_t synack_frame = 0, last_synack_frame = 0;  // first accepted SYN/ACK; last one before the ACK
    std::uint32_t ack_frame = 0, rst_frame = 0;
    std::uint32_t client_isn = 0, syn_data = 0, server_isn = 0;
    std::uint32_t syn_count = 0, synack_count = 0;
    std::uint16_t client_port = 0, server_port = 0;
    IpAddress client, server;
    bool has_syn : 1, synack_seen : 1, ack_seen : 1, refused : 1;
    bool context : 1;  // started outside the counting window: tracked, not counted

    Handshake() : has_syn(false), synack_seen(false), ack_seen(false), refused(false), context(false) {}
    Outcome outcome() const;
    bool has_server_leg() const { return has_syn && synack_seen; }
    bool has_client_leg() const { return synack_seen && ack_seen; }
    bool has_rtt() const { return has_server_leg() && has_client_leg(); }
    bool has_connect() const { return has_syn && ack_seen; }
    Nanos server_leg() const { return synack_time - syn_time; }
    Nanos client_leg() const { return ack_time - last_synack_time; }
    Nanos rtt() const { return saturating_add(server_leg(), client_leg()); }
    Nanos connect() const { return ack_time - first_syn_time; }
    bool retried() const { return syn_count > 1 || synack_count > 1; }
    // A leg or the connect time is negative: timestamps went backwards. Such a
    // handshake is reported as an anomaly and kept out of every statistic.
    bool negative_time() const;
    NetworkLeg network_leg() const;
};

// What one segment changed, for incremental consumers such as a stats_tree.
struct HandshakeUpdate {
    // null: the segment changed no handshake (none of its own, or one whose
    // ACK was seen already and the segment has no SYN)
    const Handshake* handshake = nullptr;
    bool is_new = false;
    Outcome before = Outcome::no_syn, after = Outcome::no_syn;
    bool rtt_now_known = false;  // this segment completed a measurable handshake
};

struct ServerKey {
    IpAddress address;
    std::uint16_t port = 0;
    bool operator<(const ServerKey& o) const { return address != o.address ? address < o.address : port < o.port; }
    bool operator==(const ServerKey& o) const { return address == o.address && port == o.port; }
};

struct ServerKeyHash {
    std::size_t operator()(const ServerKey& k) const { return k.address.hash() * 31 + k.port; }
};

struct ServerReport {
    ServerKey key;
    std::uint64_t connections = 0;
    std::array<std::uint64_t, kOutcomeCount> outcomes{};
    std::uint64_t retried = 0;                   // handshakes with a retransmitted SYN or SYN/ACK
    std::array<std::uint64_t, 3> network_leg{};  // as HandshakeReport's, this server's handshakes
    Summary rtt, server_leg, client_leg;
};

// An iterator over elements built when read: source->at(index), by value.
template <typename Source, typename Value>
class BuiltIterator {
public:
    BuiltIterator(const Source* source, std::size_t i) : source_(source), i_(i) {}
    Value operator*() const { return source_->at(i_); }
    BuiltIterator& operator++() {
        ++i_;
        return *this;
    }
    bool operator!=(const BuiltIterator& o) const { return i_ != o.i_; }
    bool operator==(const BuiltIterator& o) const { return i_ == o.i_; }

private:
    const Source* source_;
    std::size_t i_;
};

// A report's servers, most connections first, each ServerReport built when
// it is read: the report keeps each server's key and 32-bit counts and its
// samples sorted (about 100 bytes a server and 8 a sample), not ~320-byte
// ServerReports for every server at once, so a report of many servers is
// streamed (the JSON form writes each as it is built).
class ServerReports {
public:
    using iterator = BuiltIterator<ServerReports, ServerReport>;
    std::size_t size() const { return a_ ? a_->order.size() : 0; }
    bool empty() const { return size() == 0; }
    ServerReport at(std::size_t i) const;
    ServerReport operator[](std::size_t i) const { return at(i); }
    iterator begin() const { return iterator(this, 0); }
    iterator end() const { return iterator(this, size()); }

private:
    friend class HandshakeTracker;
    struct Counts {  // exact in 32 bits: records are numbered in 32 bits
        std::uint32_t connections = 0, retried = 0;
        std::array<std::uint32_t, kOutcomeCount> outcomes{};
        std::array<std::uint32_t, 3> network_leg{};
    };
    // One leg's samples, grouped by server in report order, each group sorted:
    // server i's are values[start[i]] .. values[start[i + 1] - 1].
    struct Leg {
        explicit Leg(HugeArena* arena) : start(arena), values(arena) {}
        std::pmr::vector<std::uint32_t> start;
        std::pmr::vector<Nanos> values;
    };
    // The arrays, in one arena in huge pages (huge_pages.hpp). Keys and
    // counts stay where report() counted them (in the order servers were
    // first met); `order` lists them in report order, which the legs follow.
    struct Arrays {
        explicit Arrays(std::size_t bytes) : arena(bytes) {}
        HugeArena arena;  // first: outlives the arrays in it
        KeyTable<ServerKey, ServerKeyHash> keys;
        std::pmr::vector<Counts> counts{&arena};                         // by the key's index
        std::pmr::vector<std::uint32_t> order{&arena};                   // report place -> key's index
        std::array<Leg, 3> legs{Leg(&arena), Leg(&arena), Leg(&arena)};  // RTT, server leg, client leg
    };
    std::unique_ptr<Arrays> a_;  // none until report() fills them
};

struct HandshakeReport {
    std::uint64_t connections = 0, syn_seen = 0, syn_retransmissions = 0, synack_retransmissions = 0, retried = 0,
                  negative_time = 0;
    std::array<std::uint64_t, kOutcomeCount> outcomes{};
    std::array<std::uint64_t, 3> network_leg{};  // indexed by NetworkLeg, completed handshakes only
    Summary rtt, server_leg, client_leg, connect;
    LogHistogram histogram;
    ServerReports servers;  // most connections first
};

class HandshakeTracker {
public:
    // The handshakes in order of their first segment. Records are kept
    // packed (see Packed below); this view unpacks one per access.
    class View {
    public:
        using iterator = BuiltIterator<HandshakeTracker, Handshake>;
        std::size_t size() const { return t_->records_.size(); }
        Handshake operator[](std::size_t i) const { return t_->at(i); }
        Handshake front() const { return t_->at(0); }
        iterator begin() const { return iterator(t_, 0); }
        iterator end() const { return iterator(t_, size()); }

    private:
        friend class HandshakeTracker;
        explicit View(const HandshakeTracker* t) : t_(t) {}
        const HandshakeTracker* t_;
    };

    // Frames outside `w` are context: handshakes they start are tracked (so
    // that the stream's later segments find them) but never counted or listed.
    void set_window(FrameWindow w) { window_ = w; }
    const FrameWindow& window() const { return window_; }
    // The update's handshake stays valid until the next add().
    HandshakeUpdate add(const TcpSegment& seg);
    View handshakes() const { return View(this); }
    Handshake at(std::size_t i) const { return unpack(records_[i]); }
    std::uint64_t outcome_count(Outcome o) const { return outcome_counts_[static_cast<std::size_t>(o)]; }
    HandshakeReport report() const;
    // Capture-level anomalies seen so far (timestamps, counter limits); the
    // negative-time handshakes are added when reporting.
    const AnomalyLog& anomalies() const { return anomalies_; }
    // f(handshake) for each counted handshake (not context) whose times go
    // backwards: the ones the report counts in negative_time and lists as
    // anomalies instead of in any statistic. A pass over every handshake.
    template <typename F>
    void for_each_negative_time(F&& f) const {
        for (const Handshake& h : handshakes())
            if (!h.context && h.negative_time()) f(h);
    }
    void clear() { *this = HandshakeTracker(); }

private:
    static constexpr std::uint32_t kNoRecord = UINT32_MAX;
    HandshakeUpdate add_clamped(const TcpSegment& seg);  // seg.time within kMaxTime
    // A segment that may change its handshake: `index` is its stream's
    // record (kNoRecord: none yet).
    HandshakeUpdate add_to(const TcpSegment& seg, std::uint32_t index);
    // A handshake as stored: 72 bytes. The fields that differ from their
    // usual value only when a SYN or SYN/ACK was retransmitted, a RST came,
    // or the SYN carried data (TCP Fast Open) live in a Rare record of their
    // own; IPv4 addresses are stored inline, IPv6 ones interned.
    struct Packed {
        Nanos first_syn_time = 0, synack_time = 0, ack_time = 0;
        std::uint32_t stream = 0, first_syn_frame = 0, synack_frame = 0, ack_frame = 0;
        std::uint32_t client_isn = 0, server_isn = 0;
        std::uint32_t client = 0, server = 0;  // IPv4 bytes, or an index into v6_
        std::uint32_t rare = 0;                // 0: none; else 1 + index into rare_
        std::uint16_t client_port = 0, server_port = 0;
        std::uint8_t flags = 0;     // kHasSyn ...
        std::uint8_t families = 0;  // client's in bits 0-1, server's in bits 2-3: 0 none, 1 IPv4, 2 IPv6
    };
    struct Rare {
        Nanos syn_time = 0, last_synack_time = 0;
        std::uint32_t syn_frame = 0, last_synack_frame = 0, rst_frame = 0, syn_data = 0;
        std::uint32_t syn_count = 0, synack_count = 0;
    };
    Handshake unpack(const Packed& p) const;
    void store(std::uint32_t index, const Handshake& h);
    std::uint32_t pack_address(const IpAddress& a, std::uint8_t* family);
    IpAddress unpack_address(std::uint32_t value, unsigned family) const;

    AnomalyLog anomalies_;
    // A new record for the segment's stream; *out is set to it (as stored).
    std::uint32_t start(const TcpSegment& seg, bool client_is_src, Handshake* out);
    // Handshakes whose SYN nothing has answered yet, by client/server/ISN:
    // Wireshark 4.4+ can give a retransmitted SYN a new tcp.stream, and it is
    // still the same handshake retried.
    static std::uint64_t syn_key(const IpAddress& client, std::uint16_t client_port, const IpAddress& server,
                                 std::uint16_t server_port, std::uint32_t isn);
    static std::uint64_t syn_key(const Handshake& h) {
        return syn_key(h.client, h.client_port, h.server, h.server_port, h.client_isn);
    }
    void note_unanswered(std::uint64_t key, std::uint32_t index);
    void forget_unanswered(std::uint64_t key, std::uint32_t index);
    std::uint32_t retried_elsewhere(const TcpSegment& seg) const;
    void rehash_unanswered(std::size_t slots);
    // Open addressing over record indices (slot = index + 1; the key is
    // recomputed from the record): 4 bytes a slot, half to three quarters of
    // them in use, so 5 to 8 bytes per unanswered handshake.
    HugeVector<std::uint32_t> unanswered_;
    std::size_t unanswered_live_ = 0, unanswered_filled_ = 0;  // filled: live + removed markers
    std::uint32_t current(std::uint32_t stream) const;         // kNoRecord: none
    void set_current(std::uint32_t stream, std::uint32_t index);
    // The stream's handshake `index` has its ACK: the stream's later
    // segments without SYN are skipped on its dense_ entry alone.
    void mark_done(std::uint32_t stream, std::uint32_t index);
    Records<Packed, true> records_;  // one a connection: in huge pages once large
    Records<Rare> rare_;
    AddressTable v6_;
    Handshake last_;  // the handshake of the last update
    // tcp.stream -> 1 + index of its latest record, | kDone once that
    // handshake's ACK was seen (0: none). Wireshark numbers streams densely
    // from 0, so a vector; far jumps (hostile input), and indices too large
    // for the entries, go to the map.
    static constexpr std::uint32_t kDone = 0x80000000u;
    HugeVector<std::uint32_t> dense_;
    std::unordered_map<std::uint32_t, std::uint32_t> sparse_;
    std::array<std::uint64_t, kOutcomeCount> outcome_counts_{};
    FrameWindow window_;
};

std::string handshake_json(const HandshakeTracker& t, int indent = 2);
std::string handshake_csv(const HandshakeTracker& t);
// Streaming forms: the text goes to `sink` in chunks.
void handshake_json(const HandshakeTracker& t, const std::function<void(std::string_view)>& sink);
void handshake_csv(const HandshakeTracker& t, const std::function<void(std::string_view)>& sink);
// With more members written by `extra` before the object closes. Returns the
// report's negative_time count (the handshakes it lists as anomalies), so
// that a caller's warning about them makes no pass of its own when it is 0.
class JsonWriter;
std::uint64_t handshake_json(const HandshakeTracker& t, const std::function<void(std::string_view)>& sink,
                             const std::function<void(JsonWriter&)>& extra);

}  // namespace triage
