#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <string>

#include "triage/stats.hpp"

using namespace triage;

TEST(NearestRank, MatchesDefinition) {
    std::vector<Nanos> v{15, 20, 35, 40, 50};  // the classic example
    EXPECT_EQ(nearest_rank(v, 5), 15);
    EXPECT_EQ(nearest_rank(v, 30), 20);
    EXPECT_EQ(nearest_rank(v, 40), 20);
    EXPECT_EQ(nearest_rank(v, 50), 35);
    EXPECT_EQ(nearest_rank(v, 100), 50);
}

TEST(Summarize, EmptyAndSingle) {
    std::vector<Nanos> none;
    EXPECT_EQ(summarize(none).count, 0u);
    std::vector<Nanos> one{7};
    const Summary s = summarize(one);
    EXPECT_EQ(s.count, 1u);
    EXPECT_EQ(s.min, 7);
    EXPECT_EQ(s.p99, 7);
    EXPECT_DOUBLE_EQ(s.mean, 7.0);
}

TEST(Summarize, SortsAndAverages) {
    std::vector<Nanos> v;
    for (int i = 100; i >= 1; --i) v.push_back(i * 1000);
    const Summary s = summarize(v);
    EXPECT_EQ(s.min, 1000);
    EXPECT_EQ(s.max, 100000);
    EXPECT_EQ(s.p50, 50000);
    EXPECT_EQ(s.p90, 90000);
    EXPECT_EQ(s.p95, 95000);
    EXPECT_EQ(s.p99, 99000);
    EXPECT_DOUBLE_EQ(s.mean, 50500.0);
}

// Percentiles of every size up to 1 000 against the definition, by search:
// the smallest sample that at least p % of the samples are at or below.
TEST(Summarize, PercentilesByDefinitionForEverySize) {
    for (std::size_t n = 1; n <= 1000; ++n) {
        std::vector<Nanos> v;
        for (std::size_t i = 0; i < n; ++i) v.push_back(static_cast<Nanos>(i + 1) * 10);
        const Summary s = summarize_sorted(v);
        const auto by_definition = [&](unsigned p) {
            for (std::size_t k = 0; k < n; ++k)
                if ((k + 1) * 100 >= p * n) return v[k];  // (k+1)/n >= p/100, in integers
            return v.back();
        };
        ASSERT_EQ(s.p50, by_definition(50)) << n;
        ASSERT_EQ(s.p90, by_definition(90)) << n;
        ASSERT_EQ(s.p95, by_definition(95)) << n;
        ASSERT_EQ(s.p99, by_definition(99)) << n;
        ASSERT_EQ(s.p90, nearest_rank(v, 90)) << n;
    }
}

// A sum past 64 bits: the mean is still exact (the summary falls back to a
// 128-bit sum), half to even as triage-merge rounds it.
TEST(Summarize, MeanOfSamplesWhoseSumOverflows64Bits) {
    const Nanos big = INT64_MAX / 2 + 1;  // 2^62
    std::vector<Nanos> v{big, big, big, big + 2};
    const Summary s = summarize_sorted(v);
    EXPECT_EQ(s.mean_ns, big + 0) << "(4 * 2^62 + 2) / 4 = 2^62 + 0.5: half to even, down";
    std::vector<Nanos> w{big + 1, big + 1, big + 1, big + 2};
    EXPECT_EQ(summarize_sorted(w).mean_ns, big + 1) << "2^62 + 1.25: rounds to nearest";
    std::vector<Nanos> neg{-big - 2, -big, -big, -big};
    EXPECT_EQ(summarize_sorted(neg).mean_ns, -big) << "-(2^62 + 0.5): half to even";
    std::vector<Nanos> odd{3, 4};
    EXPECT_EQ(summarize_sorted(odd).mean_ns, 4) << "3.5: half to even, up";
    std::vector<Nanos> even{4, 5};
    EXPECT_EQ(summarize_sorted(even).mean_ns, 4) << "4.5: half to even, down";
}

// summarize() selects its percentiles without sorting: the same summary as
// the sorted samples give, for random samples with many repeats, every size
// up to 500 and a large one.
TEST(Summarize, SelectionEqualsSorting) {
    std::uint64_t seed = 99;
    const auto next = [&seed] {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        return seed >> 33;
    };
    for (std::size_t n = 0; n <= 500; n += (n < 40 ? 1 : 7)) {
        for (int spread : {3, 1000000}) {
            std::vector<Nanos> v;
            for (std::size_t i = 0; i < n; ++i) v.push_back(static_cast<Nanos>(next() % spread) - spread / 3);
            std::vector<Nanos> sorted = v;
            std::sort(sorted.begin(), sorted.end());
            const Summary want = summarize_sorted(sorted), got = summarize(v);
            ASSERT_EQ(got.count, want.count) << n;
            if (n == 0) continue;
            EXPECT_EQ(got.min, want.min) << n;
            EXPECT_EQ(got.max, want.max) << n;
            EXPECT_EQ(got.p50, want.p50) << n;
            EXPECT_EQ(got.p90, want.p90) << n;
            EXPECT_EQ(got.p95, want.p95) << n;
            EXPECT_EQ(got.p99, want.p99) << n;
            EXPECT_EQ(got.mean_ns, want.mean_ns) << n;
            EXPECT_EQ(got.mean, want.mean) << n;
        }
    }
    std::vector<Nanos> big;
    for (int i = 0; i < 200000; ++i) big.push_back(static_cast<Nanos>(next() % 5000));
    std::vector<Nanos> sorted = big;
    std::sort(sorted.begin(), sorted.end());
    const Summary want = summarize_sorted(sorted), got = summarize(big);
    EXPECT_EQ(got.p50, want.p50);
    EXPECT_EQ(got.p90, want.p90);
    EXPECT_EQ(got.p95, want.p95);
    EXPECT_EQ(got.p99, want.p99);
}

TEST(LogHistogram, BucketsAreUpperInclusive) {
    LogHistogram h;
    EXPECT_EQ(h.upper(0), 100'000);
    h.add(100'000);         // exactly 0.1 ms: first bucket
    h.add(100'001);         // just above: second
    h.add(20'000'000'000);  // 20 s: overflow
    EXPECT_EQ(h.count(0), 1u);
    EXPECT_EQ(h.count(1), 1u);
    EXPECT_EQ(h.count(h.size() - 1), 1u);
    EXPECT_LT(h.upper(h.size() - 1), 0);
}

TEST(LogHistogram, LabelsSortAsText) {
    LogHistogram h;
    for (std::size_t i = 1; i < h.size(); ++i) EXPECT_LT(h.label(i - 1), h.label(i));
    EXPECT_EQ(h.label(0), "<=     0.1 ms");
}

TEST(Format, MillisecondsAreExact) {
    EXPECT_EQ(format_ms(20'040'000), "20.040000");
    EXPECT_EQ(format_ms(1), "0.000001");
    EXPECT_EQ(format_ms(-999'999'000), "-999.999000");
    EXPECT_EQ(format_epoch_us(1'700'000'000'123'456'789), "1700000000.123457");
}

TEST(Time, ClampedAndSaturated) {
    EXPECT_EQ(time_from(1, 5), 1'000'000'005);
    EXPECT_EQ(time_from(18446744073204LL, 0), kMaxTime);
    EXPECT_EQ(time_from(-18446744073204LL, 0), -kMaxTime);
    EXPECT_EQ(time_from(1, 1'000'000'000), 2'000'000'000) << "Wireshark's invalid nsecs = 1e9 is kept";
    EXPECT_EQ(saturating_add(INT64_MAX - 1, 5), INT64_MAX);
    EXPECT_EQ(saturating_add(INT64_MIN + 1, -5), INT64_MIN);
    EXPECT_EQ(saturating_add(kMaxTime, kMaxTime), 2 * kMaxTime);
}

// Against the C library's calendar (gmtime_r + strftime), over 1970..2100 and
// the microsecond rounding of format_epoch_us.
TEST(Format, UtcTimeMatchesGmtime) {
    std::uint64_t state = 0x9E3779B97F4A7C15ull;
    for (int i = 0; i < 20000; ++i) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        const std::int64_t secs = static_cast<std::int64_t>((state >> 20) % 4102444800ull);  // < 2100-01-01
        const std::int64_t nsec = static_cast<std::int64_t>((state >> 3) % 1'000'000'000ull);
        const Nanos ns = secs * 1'000'000'000 + nsec;
        const std::int64_t us = (ns + 500) / 1000;
        const std::time_t t = static_cast<std::time_t>(us / 1'000'000);
        std::tm tm{};
        ASSERT_NE(gmtime_r(&t, &tm), nullptr);
        char expected[64];
        const std::size_t n = std::strftime(expected, sizeof expected, "%Y-%m-%d %H:%M:%S", &tm);
        char frac[16];
        std::snprintf(frac, sizeof frac, ".%06lld", static_cast<long long>(us % 1'000'000));
        ASSERT_EQ(format_utc_us(ns), std::string(expected, n) + frac) << ns;
    }
    EXPECT_EQ(format_utc_us(0), "1970-01-01 00:00:00.000000");
    EXPECT_EQ(format_utc_us(951'782'400'000'000'000 - 1), "2000-02-29 00:00:00.000000");  // rounds up
}
