#include "triage/time_anomalies.hpp"

#include "triage/json_writer.hpp"

namespace triage {

void AnomalyLog::frame_time_slow(std::uint32_t frame, Nanos t, bool counted) {
    t = clamp_time(t);
    if (!counted) {
        have_last_ = true;
        last_ = t;
        last_frame_ = frame;
        return;
    }
    if ((t >= kMaxTime || t <= -kMaxTime) && !(have_last_ && frame == last_frame_))
        add("time_out_of_range", frame, "timestamp outside the years 1824-2116; clamped");
    if (have_last_ && frame != last_frame_) {
        if (t < last_)
            add("time_backwards", frame,
                "timestamp " + format_double((last_ - t) / 1e9, 6) + " s earlier than frame " +
                    std::to_string(last_frame_));
        else if (t - last_ > kJump)
            add("time_jump", frame,
                "timestamp " + format_double((t - last_) / 1e9, 6) + " s after frame " + std::to_string(last_frame_) +
                    " (merged or mis-stamped capture?)");
    }
    have_last_ = true;
    last_ = t;
    last_frame_ = frame;
}

void AnomalyLog::add(std::string kind, std::uint32_t frame, std::string detail) {
    ++total_;
    bool found = false;
    for (auto& [k, n] : counts_)
        if (k == kind) {
            ++n;
            found = true;
        }
    if (!found) counts_.emplace_back(kind, 1);
    if (listed_.size() < kKept) listed_.push_back(Anomaly{std::move(kind), frame, std::move(detail)});
}

std::uint64_t AnomalyLog::count(const std::string& kind) const {
    for (const auto& [k, n] : counts_)
        if (k == kind) return n;
    return 0;
}

void AnomalyLog::write(JsonWriter& w) const {
    w.key("anomaly_counts").begin_object();
    for (const auto& [k, n] : counts_) w.field(k, n);
    w.end_object();
    w.key("anomalies").begin_array();
    for (const Anomaly& a : listed_) {
        w.begin_object();
        w.field("kind", a.kind);
        w.field("frame", a.frame);
        w.field("detail", a.detail);
        w.end_object();
    }
    w.end_array();
}

}  // namespace triage
