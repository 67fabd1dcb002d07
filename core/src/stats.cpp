#include "triage/stats.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>

namespace triage {

Nanos time_from(std::int64_t secs, std::int64_t nsecs) {
    constexpr std::int64_t kLimitSecs = kMaxTime / 1'000'000'000 - 1;
    if (secs > kLimitSecs) return kMaxTime;
    if (secs < -kLimitSecs) return -kMaxTime;
    if (nsecs > 10'000'000'000 || nsecs < -10'000'000'000) nsecs = 0;  // nonsense; Wireshark allows 1e9
    return secs * 1'000'000'000 + nsecs;
}

Nanos saturating_add(Nanos a, Nanos b) {
    Nanos r;
    if (__builtin_add_overflow(a, b, &r)) return a > 0 ? INT64_MAX : INT64_MIN;
    return r;
}

namespace {
Nanos nearest_rank(const Nanos* sorted, std::size_t size, double p) {
    if (size == 0) return 0;
    const double n = static_cast<double>(size);
    auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * n - 1e-9));
    rank = std::clamp<std::size_t>(rank, 1, size);
    return sorted[rank - 1];
}
}  // namespace

Nanos nearest_rank(const std::vector<Nanos>& sorted, double p) {
    return nearest_rank(sorted.data(), sorted.size(), p);
}

Summary summarize_sorted(const std::vector<Nanos>& samples) {
    return summarize_sorted(samples.data(), samples.size());
}

namespace {
// The nearest rank ceil(p/100 * n) of a whole percentile p, in integers: what
// nearest_rank() computes in doubles (its epsilon absorbs their rounding),
// without the floating-point work (a report takes four for each of every
// server's three legs, mostly of one or two samples).
std::size_t nearest_rank_index(std::size_t size, unsigned p) {
    return std::clamp<std::size_t>((size * p + 99) / 100, 1, size) - 1;
}
Nanos nearest_rank_whole(const Nanos* sorted, std::size_t size, unsigned p) {
    return sorted[nearest_rank_index(size, p)];
}

template <typename Sum>
void mean_of(Sum sum, std::size_t size, Summary* s) {
    const auto n = static_cast<Sum>(size);
    s->mean = static_cast<double>(static_cast<long double>(sum) / static_cast<long double>(n));
    // Floor division, then round half to even.
    Sum q = sum / n, r = sum % n;
    if (r < 0) {
        --q;
        r += n;
    }
    if (2 * r > n || (2 * r == n && (q & 1))) ++q;
    s->mean_ns = static_cast<Nanos>(q);
}

// Count and mean (exact) of samples in any order.
Summary count_and_mean(const Nanos* samples, std::size_t size) {
    Summary s;
    s.count = size;
    if (size == 0) return s;
    // The exact sum: in 64 bits when it fits (always, for real handshakes),
    // else in 128 (a million samples of 2^62 ns cannot overflow that). The
    // mean is the same either way: a 64-bit sum converts to long double
    // exactly.
    std::int64_t sum64 = 0;
    bool overflow = false;
    for (std::size_t i = 0; i < size; ++i) overflow |= __builtin_add_overflow(sum64, samples[i], &sum64);
    if (!overflow) {
        mean_of(sum64, size, &s);
    } else {
        __int128 sum = 0;
        for (std::size_t i = 0; i < size; ++i) sum += samples[i];
        mean_of(sum, size, &s);
    }
    return s;
}
}  // namespace

Summary summarize_sorted(const Nanos* samples, std::size_t size) {
    Summary s = count_and_mean(samples, size);
    if (size == 0) return s;
    s.min = samples[0];
    s.max = samples[size - 1];
    s.p50 = nearest_rank_whole(samples, size, 50);
    s.p90 = nearest_rank_whole(samples, size, 90);
    s.p95 = nearest_rank_whole(samples, size, 95);
    s.p99 = nearest_rank_whole(samples, size, 99);
    return s;
}

Summary summarize(std::vector<Nanos>& samples) {
    return summarize(samples.data(), samples.size());
}

Summary summarize(Nanos* const first, const std::size_t n) {
    // The four ranks by selection, each among the samples above the one
    // before (all of them no smaller than it): linear, where sorting a
    // whole population (every handshake's RTT) is n log n.
    Summary s = count_and_mean(first, n);
    if (n == 0) return s;
    const auto [lo, hi] = std::minmax_element(first, first + n);
    s.min = *lo;
    s.max = *hi;
    std::size_t from = 0;
    const auto select = [&](unsigned p) {
        const std::size_t k = nearest_rank_index(n, p);
        if (k >= from) {
            std::nth_element(first + from, first + k, first + n);
            from = k + 1;
        }
        return first[k];
    };
    s.p50 = select(50);
    s.p90 = select(90);
    s.p95 = select(95);
    s.p99 = select(99);
    return s;
}

LogHistogram::LogHistogram() {
    // 0.1 ms .. 10 s in a 1-2-5 series.
    for (Nanos decade = 100'000; decade <= 10'000'000'000; decade *= 10)
        for (int m : {1, 2, 5})
            if (decade * m <= 10'000'000'000) uppers_.push_back(decade * m);
    counts_.assign(uppers_.size() + 1, 0);
}

std::size_t LogHistogram::bucket_of(Nanos value) const {
    return static_cast<std::size_t>(std::lower_bound(uppers_.begin(), uppers_.end(), value) - uppers_.begin());
}

void LogHistogram::add(Nanos value) {
    ++counts_[bucket_of(value)];
}

std::string LogHistogram::label(std::size_t i) const {
    // Fixed width so that sorting the labels as text sorts them by value.
    // Locale-independent (tshark calls setlocale): never printf("%f").
    const Nanos upper = i < uppers_.size() ? uppers_[i] : uppers_.back();
    std::string number = format_double(static_cast<double>(upper) / 1e6, 1);
    if (number.size() < 7) number.insert(0, 7 - number.size(), ' ');
    return (i < uppers_.size() ? "<= " : ">  ") + number + " ms";
}

namespace {
// "<sign><whole>.<6 digits of frac>"; a and unit in the same scale.
char* write_fixed6(char* buf, bool neg, unsigned long long whole, unsigned long long frac) {
    char* p = buf;
    if (neg) *p++ = '-';
    p = std::to_chars(p, p + 24, whole).ptr;
    *p++ = '.';
    // Two digits at a time (a report writes millions of these).
    static constexpr char kPairs[] =
        "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
        "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
        "8081828384858687888990919293949596979899";
    const auto f = static_cast<std::uint32_t>(frac);  // < 10^6
    std::memcpy(p, kPairs + 2 * (f / 10000), 2);
    std::memcpy(p + 2, kPairs + 2 * (f / 100 % 100), 2);
    std::memcpy(p + 4, kPairs + 2 * (f % 100), 2);
    return p + 6;
}

unsigned long long magnitude(Nanos ns) {
    return ns < 0 ? 0ull - static_cast<unsigned long long>(ns) : static_cast<unsigned long long>(ns);
}
}  // namespace

char* write_ms(char* buf, Nanos ns) {
    const unsigned long long a = magnitude(ns);
    return write_fixed6(buf, ns < 0, a / 1'000'000ull, a % 1'000'000ull);
}

char* write_epoch_us(char* buf, Nanos ns) {
    const unsigned long long us = (magnitude(ns) + 500) / 1000;
    return write_fixed6(buf, ns < 0, us / 1'000'000ull, us % 1'000'000ull);
}

std::string format_ms(Nanos ns) {
    char buf[kNumberChars];
    return std::string(buf, write_ms(buf, ns));
}

std::string format_epoch_us(Nanos ns) {
    char buf[kNumberChars];
    return std::string(buf, write_epoch_us(buf, ns));
}

std::string format_utc_us(Nanos ns) {
    const long long us = static_cast<long long>((magnitude(ns) + 500) / 1000) * (ns < 0 ? -1 : 1);
    long long secs = us / 1'000'000, frac = us % 1'000'000;
    if (frac < 0) {
        frac += 1'000'000;
        --secs;
    }
    long long days = secs / 86400, rem = secs % 86400;
    if (rem < 0) {
        rem += 86400;
        --days;
    }
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    const long long z = days + 719468;
    const long long era = (z >= 0 ? z : z - 146096) / 146097;
    const long long doe = z - era * 146097;
    const long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const long long mp = (5 * doy + 2) / 153;
    const long long day = doy - (153 * mp + 2) / 5 + 1;
    const long long month = mp < 10 ? mp + 3 : mp - 9;
    const long long year = yoe + era * 400 + (month <= 2 ? 1 : 0);
    char buf[64];
    char* p = buf;
    const auto put = [&p](long long v, int width) {
        char digits[24];
        const auto r = std::to_chars(digits, digits + sizeof digits, v < 0 ? -v : v);
        if (v < 0) *p++ = '-';
        for (int pad = width - static_cast<int>(r.ptr - digits); pad > 0; --pad) *p++ = '0';
        for (const char* d = digits; d != r.ptr; ++d) *p++ = *d;
    };
    put(year, 4);
    *p++ = '-';
    put(month, 2);
    *p++ = '-';
    put(day, 2);
    *p++ = ' ';
    put(rem / 3600, 2);
    *p++ = ':';
    put(rem / 60 % 60, 2);
    *p++ = ':';
    put(rem % 60, 2);
    *p++ = '.';
    put(frac, 6);
    return std::string(buf, p);
}

std::string format_double(double v, int decimals) {
    if (!std::isfinite(v)) return "0";
    // std::to_chars ignores the C locale, unlike printf("%f") under LC_NUMERIC=de_DE.
    char buf[400];
    const auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, decimals);
    if (r.ec != std::errc()) return "0";
    return std::string(buf, r.ptr);
}

}  // namespace triage
