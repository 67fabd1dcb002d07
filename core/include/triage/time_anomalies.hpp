// Notices what would otherwise silently bend the numbers: frame timestamps
// that go backwards or jump far ahead, and counters that reached their limit.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "triage/stats.hpp"

namespace triage {

class JsonWriter;

struct Anomaly {
    std::string kind;  // "time_backwards" | "time_jump" | "counter_limit" | ...
    std::uint32_t frame = 0;
    std::string detail;
};

class AnomalyLog {
public:
    static constexpr Nanos kJump = 24LL * 3600 * 1'000'000'000;  // a day between consecutive frames
    static constexpr std::size_t kKept = 20;                     // listed; all are counted

    // Called with every frame a statistic sees, in capture order; a frame
    // outside the counting window is compared with, never reported.
    void frame_time(std::uint32_t frame, Nanos t, bool counted = true) {
        // Inline for the usual frame: counted, after the last one, within a
        // day of it and within the years kept.
        if (counted && have_last_ && t < kMaxTime && t > -kMaxTime &&
            (frame == last_frame_ || (t >= last_ && t - last_ <= kJump))) {
            last_ = t;
            last_frame_ = frame;
            return;
        }
        frame_time_slow(frame, t, counted);
    }
    void add(std::string kind, std::uint32_t frame, std::string detail);
    const std::vector<Anomaly>& listed() const { return listed_; }
    std::uint64_t count(const std::string& kind) const;
    std::uint64_t total() const { return total_; }
    // Each kind seen, with its count, in order of first appearance.
    const std::vector<std::pair<std::string, std::uint64_t>>& counts() const { return counts_; }
    // "anomalies": [{kind, frame, detail}...] plus "anomaly_counts".
    void write(JsonWriter& w) const;
    void clear() { *this = AnomalyLog(); }

private:
    void frame_time_slow(std::uint32_t frame, Nanos t, bool counted);
    // What frame_time() reads for every frame first, in one 16-byte piece.
    bool have_last_ = false;
    std::uint32_t last_frame_ = 0;
    Nanos last_ = 0;
    std::vector<Anomaly> listed_;
    std::vector<std::pair<std::string, std::uint64_t>> counts_;
    std::uint64_t total_ = 0;
};

}  // namespace triage
