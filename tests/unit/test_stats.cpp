#include <gtest/gtest.h>

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
