// Aggregates unwanted-protocol hits into alerts: per rule, frames, bytes,
// times and the conversations involved.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "triage/ip_address.hpp"
#include "triage/stats.hpp"
#include "triage/time_anomalies.hpp"
#include "triage/unwanted_policy.hpp"

namespace triage {

struct FrameInfo {
    std::uint32_t frame = 0;
    Nanos time = 0;
    IpAddress src, dst;          // empty when the frame has no IP layer
    std::uint8_t transport = 0;  // 6 tcp, 17 udp, 0 other
    std::uint16_t sport = 0, dport = 0;
    std::uint32_t frame_len = 0;
};

struct AlertConversation {
    IpAddress src, dst;
    std::uint8_t transport = 0;
    std::uint16_t src_port = 0, dst_port = 0;
    std::uint64_t frames = 0, bytes = 0;
    std::uint32_t first_frame = 0;
};

struct Alert {
    std::uint32_t rule = 0;
    std::uint64_t frames = 0, bytes = 0;
    std::uint32_t first_frame = 0;
    Nanos first_time = 0, last_time = 0;
    std::vector<AlertConversation> conversations;
};

class AlertTracker {
public:
    // Records that `rule` matched this frame; a second hit of the same rule in
    // the same frame is ignored.
    void hit(std::uint32_t rule, const FrameInfo& f);
    // Alerts ordered most severe first, then most bytes.
    std::vector<Alert> alerts(const std::vector<Rule>& rules) const;
    // Every frame the statistic sees, for timestamp anomalies.
    void frame_time(std::uint32_t frame, Nanos t, bool counted = true) { anomalies_.frame_time(frame, t, counted); }
    const AnomalyLog& anomalies() const { return anomalies_; }
    AnomalyLog& anomalies_mut() { return anomalies_; }
    void clear() { *this = AlertTracker(); }

private:
    AnomalyLog anomalies_;
    // A conversation's endpoints in a fixed orientation (the lower address
    // and port first), hashed: a hit looks its conversation up in constant
    // time, not through a tree of address comparisons.
    struct ConvKey {
        IpAddress a, b;
        std::uint16_t a_port = 0, b_port = 0;
        std::uint8_t transport = 0;
        friend bool operator==(const ConvKey& x, const ConvKey& y) {
            return x.a == y.a && x.b == y.b && x.a_port == y.a_port && x.b_port == y.b_port &&
                   x.transport == y.transport;
        }
    };
    struct ConvKeyHash {
        std::size_t operator()(const ConvKey& k) const {
            const std::uint64_t ports = std::uint64_t{k.a_port} << 24 | std::uint64_t{k.b_port} << 8 | k.transport;
            return k.a.hash() ^ (k.b.hash() * 0x9E3779B97F4A7C15ull) ^ (ports * 0xC2B2AE3D27D4EB4Full);
        }
    };
    struct Acc {
        Alert alert;
        std::unordered_map<ConvKey, std::size_t, ConvKeyHash> conv_index;
    };
    std::map<std::uint32_t, Acc> by_rule_;
    std::uint32_t last_frame_ = 0;
    bool have_last_ = false;
    std::vector<std::uint32_t> rules_this_frame_;
};

// `errors`: invalid policy entries (skipped); `warnings`: entries that cannot
// alert as Wireshark is set up (a disabled protocol, a heuristic that is off).
// `with_tree`: the frames were dissected with a protocol tree (said in the output).
std::string unwanted_json(const CompiledPolicy& policy, const AlertTracker& t, const std::vector<std::string>& errors,
                          const std::vector<std::string>& warnings = {}, bool with_tree = true, int indent = 2);

}  // namespace triage
