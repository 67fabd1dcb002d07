// Order statistics over durations: nearest-rank percentiles and a log-spaced histogram.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace triage {

using Nanos = std::int64_t;  // a duration or an epoch time in nanoseconds

// Epoch times are held within +-kMaxTime (years 1824..2116) so that any
// difference of two fits in Nanos; a capture stamped outside is clamped (and
// reported as an anomaly), never overflowed.
constexpr Nanos kMaxTime = (Nanos{1} << 62) - 1;
Nanos time_from(std::int64_t secs, std::int64_t nsecs);
inline Nanos clamp_time(Nanos t) {
    return t > kMaxTime ? kMaxTime : t < -kMaxTime ? -kMaxTime : t;
}
Nanos saturating_add(Nanos a, Nanos b);

// The frames a statistic counts (the rest is context: dissected and tracked,
// not counted), for a batch job that reads the tail of the previous file and
// the head of the next around its own. 0 leaves that side open.
struct FrameWindow {
    std::uint32_t first = 0, last = 0;
    bool limited() const { return first != 0 || last != 0; }
    bool contains(std::uint32_t frame) const { return frame >= first && (last == 0 || frame <= last); }
};

struct Summary {
    std::size_t count = 0;
    Nanos min = 0, max = 0, p50 = 0, p90 = 0, p95 = 0, p99 = 0;
    double mean = 0.0;  // nanoseconds
    // The mean rounded to whole nanoseconds (half to even) from the exact
    // sum, as triage-merge computes it: what the reports print.
    Nanos mean_ns = 0;
};

// Nearest-rank percentile (rank = ceil(p/100 * n)) of sorted samples; p in (0, 100].
Nanos nearest_rank(const std::vector<Nanos>& sorted, double p);
// Summary of the samples (reordered in place, not sorted).
Summary summarize(std::vector<Nanos>& samples);
Summary summarize(Nanos* samples, std::size_t size);
// The same of samples already sorted.
Summary summarize_sorted(const std::vector<Nanos>& sorted);
Summary summarize_sorted(const Nanos* sorted, std::size_t size);

// Histogram with 1-2-5 log-spaced upper bounds from 0.1 ms to 10 s, plus an
// overflow bucket (upper bound < 0 means "no bound").
class LogHistogram {
public:
    LogHistogram();
    void add(Nanos value);
    std::size_t size() const { return uppers_.size() + 1; }
    Nanos upper(std::size_t i) const { return i < uppers_.size() ? uppers_[i] : -1; }
    std::uint64_t count(std::size_t i) const { return counts_[i]; }
    std::size_t bucket_of(Nanos value) const;
    // Fixed-width label such as "<=     0.5 ms" or ">  10000.0 ms".
    std::string label(std::size_t i) const;

private:
    std::vector<Nanos> uppers_;
    std::vector<std::uint64_t> counts_;
};

// "12.345678" — milliseconds with nanosecond digits, exact for integers.
std::string format_ms(Nanos ns);
// "1234567890.123456" — epoch seconds with microseconds.
std::string format_epoch_us(Nanos ns);
// The same into `buf` (at least kNumberChars), returning the end: no
// allocation, no printf (report writers call these per connection).
constexpr std::size_t kNumberChars = 32;
char* write_ms(char* buf, Nanos ns);
char* write_epoch_us(char* buf, Nanos ns);
std::string format_double(double v, int decimals);
// "2023-11-14 22:13:20.010000" — UTC calendar time with microseconds (rounded
// as format_epoch_us); text order is time order from year 0 to 9999.
std::string format_utc_us(Nanos ns);

}  // namespace triage
