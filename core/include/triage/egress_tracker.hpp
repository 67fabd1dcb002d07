// Outbound volume per destination: classifies each frame by its outermost IP
// header against the local networks and platform endpoints, and sums volumes.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "triage/cidr_set.hpp"
#include "triage/counted_lists.hpp"
#include "triage/flat_index.hpp"
#include "triage/ip_address.hpp"
#include "triage/stats.hpp"
#include "triage/time_anomalies.hpp"

namespace triage {

struct Volume {
    std::uint64_t frames = 0, frame_bytes = 0, ip_bytes = 0, payload_bytes = 0;
    void add(std::uint64_t frame_len, std::uint64_t ip_len, std::uint64_t payload) {
        ++frames;
        frame_bytes += frame_len;
        ip_bytes += ip_len;
        payload_bytes += payload;
    }
    Volume& operator+=(const Volume& o) {
        frames += o.frames;
        frame_bytes += o.frame_bytes;
        ip_bytes += o.ip_bytes;
        payload_bytes += o.payload_bytes;
        return *this;
    }
};

enum class Direction : std::uint8_t { outbound_external, outbound_internal, outbound_platform, inbound, other };
constexpr std::size_t kDirectionCount = 5;
const char* to_string(Direction d);
const char* scope_name(Direction d);  // "external" | "internal" | "platform" | ...

struct EgressFrame {
    std::uint32_t frame = 0;
    Nanos time = 0;
    IpAddress src, dst;           // outermost IP header
    std::uint32_t frame_len = 0;  // on-wire length
    std::uint32_t ip_len = 0;     // IPv4 total length / IPv6 payload length + 40
    std::uint8_t transport = 0;   // 6 tcp, 17 udp, 0 other
    std::uint16_t dport = 0;
    std::uint32_t payload = 0;  // TCP segment data / UDP payload
};

struct PortVolume {
    std::uint8_t transport = 0;
    std::uint16_t port = 0;
    std::uint64_t frames = 0, frame_bytes = 0;
};

struct SourceVolume {
    IpAddress address;
    Volume volume;
};

// An outbound destination. Its volume is the sum of its sources' volumes
// (EgressTracker::volume); its sources and ports are short lists in the
// tracker's shared stores. 48 bytes: times kept as two 32-bit halves.
class Destination {
public:
    IpAddress address;
    Direction direction = Direction::outbound_external;
    Nanos first_time() const { return first_.get(); }
    Nanos last_time() const { return last_.get(); }

private:
    friend class EgressTracker;
    struct Time {  // a Nanos aligned on 4 bytes
        std::uint32_t low = 0, high = 0;
        Nanos get() const { return static_cast<Nanos>(std::uint64_t{high} << 32 | low); }
        void set(Nanos t) {
            low = static_cast<std::uint32_t>(static_cast<std::uint64_t>(t));
            high = static_cast<std::uint32_t>(static_cast<std::uint64_t>(t) >> 32);
        }
    };
    std::uint8_t source_count_ = 0, port_count_ = 0;  // list lengths, as CountedLists counts them
    std::uint16_t source_keys_ = 0, port_keys_ = 0;   // which keys the lists may hold (CountedLists::locate)
    std::uint32_t sources_ = FlatIndex::kNone, ports_ = FlatIndex::kNone;
    Time first_, last_;
};

// What one frame changed, for incremental views (the GUI tree).
struct EgressUpdate {
    static constexpr std::uint32_t kNone = FlatIndex::kNone;
    Direction direction = Direction::other;
    const Destination* destination = nullptr;  // null: not outbound, or past max_destinations
    std::uint32_t source = kNone;              // the (destination, source) entry: EgressTracker::source()
    std::uint32_t port = kNone;                // the (destination, port) entry, kNone for neither TCP nor UDP
};

constexpr std::size_t kMaxPortsPerDestination = 20;

struct EgressConfig {
    CidrSet local_networks;
    CidrSet platform_endpoints;
    double price_per_gb = 0.0;  // 0: no cost column
    // Ports listed per destination (the rest is counted in ports_omitted); 0: all.
    std::size_t max_ports = kMaxPortsPerDestination;
    // Destinations kept in detail (volume, sources, ports), the first ones
    // met; frames to any later one count in the totals only (its update has
    // no destination). 0: all. For a view that names only the first few (the
    // GUI tree), so that it holds nothing it never shows.
    std::size_t max_destinations = 0;
    static EgressConfig defaults();
};

class EgressTracker {
public:
    explicit EgressTracker(EgressConfig cfg = EgressConfig::defaults()) : cfg_(std::move(cfg)) {}
    Direction classify(const IpAddress& src, const IpAddress& dst) const;
    EgressUpdate add(EgressFrame f);  // by value: built in place by the caller, not copied
    // A frame outside the counting window: only its time is noted (for anomalies).
    void context(const EgressFrame& f) { anomalies_.frame_time(f.frame, f.time, false); }
    const Volume& total(Direction d) const { return totals_[static_cast<std::size_t>(d)]; }
    // Outbound destinations, most frame bytes first.
    std::vector<const Destination*> destinations() const;
    Volume volume(const Destination& d) const;
    // An update's entries: a source's volume to its destination, a port's.
    Volume source(std::uint32_t entry) const;
    PortVolume port(std::uint32_t entry) const;

    // A destination's sources (in address order) and ports (in transport,
    // port order), from its lists, for a report.
    std::vector<SourceVolume> sources(const Destination& d) const;
    std::vector<PortVolume> ports(const Destination& d) const;
    // The same into `out` (its storage reused: a report of many destinations).
    void sources(const Destination& d, std::vector<SourceVolume>* out) const;
    void ports(const Destination& d, std::vector<PortVolume>* out) const;
    const EgressConfig& config() const { return cfg_; }
    const AnomalyLog& anomalies() const { return anomalies_; }
    void clear() { *this = EgressTracker(cfg_); }

private:
    // What every frame reads and writes comes first, together (the last
    // frames' flows, their records, the totals, the time check): between two
    // frames Wireshark's dissection pushes all of it out of the cache, and
    // each cache line read back is a miss.
    //
    // The records of the last outbound frame's flow: consecutive frames of
    // one flow find them without a lookup, as direct references (the stores
    // never move a record).
    struct Last {
        IpAddress src, dst;
        std::uint8_t transport = 0;
        std::uint16_t dport = 0;
        Direction direction = Direction::other;
        bool valid = false;
        std::uint32_t source = 0, port = FlatIndex::kNone;  // the entries, for EgressUpdate
        Destination* dest_record = nullptr;                 // null: past max_destinations
        CountedLists<4>::Entry* source_entry = nullptr;
        CountedLists<2>::Entry* port_entry = nullptr;
    };
    Last last_;
    // The hosts of the last frame that was not outbound.
    struct LastOther {
        IpAddress src, dst;
        Direction direction = Direction::other;
        bool valid = false;
    };
    LastOther last_other_;
    AnomalyLog anomalies_;
    std::array<Volume, kDirectionCount> totals_{};
    EgressConfig cfg_;
    // Destinations in blocks (no copy of them all when they grow), found
    // through an open-addressing index; sources (interned hosts) and ports
    // in per-destination lists.
    Records<Destination> dests_;
    FlatIndex dest_index_;
    AddressTable hosts_;
    CountedLists<4> sources_;  // key: host; counts: a Volume's
    CountedLists<2> ports_;    // key: transport << 16 | port; counts: frames, frame bytes
    std::uint32_t locate_destination(const EgressFrame& f, Direction d);
};

// The estimated egress cost of `ip_bytes` at the configured price per GB (10^9 bytes).
double cost(const EgressConfig& c, std::uint64_t ip_bytes);

using NameResolver = std::function<std::string(const IpAddress&)>;  // "" when unknown

std::string egress_json(const EgressTracker& t, const NameResolver& names, int indent = 2);
std::string egress_csv(const EgressTracker& t, const NameResolver& names);
// Streaming forms: the text goes to `sink` in chunks; one line per source and port.
using TextSink = std::function<void(std::string_view)>;
void egress_json(const EgressTracker& t, const NameResolver& names, const TextSink& sink);
void egress_csv(const EgressTracker& t, const NameResolver& names, const TextSink& sink);

}  // namespace triage
