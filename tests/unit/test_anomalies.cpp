#include <gtest/gtest.h>

#include "triage/json_writer.hpp"
#include "triage/time_anomalies.hpp"

using namespace triage;

TEST(AnomalyLog, BackwardsAndJumps) {
    AnomalyLog log;
    log.frame_time(1, 1'000'000'000);
    log.frame_time(2, 2'000'000'000);
    log.frame_time(3, 1'500'000'000);                          // backwards
    log.frame_time(3, 1'400'000'000);                          // same frame again (several taps): ignored
    log.frame_time(4, 1'500'000'000 + AnomalyLog::kJump + 1);  // jump
    EXPECT_EQ(log.count("time_backwards"), 1u);
    EXPECT_EQ(log.count("time_jump"), 1u);
    ASSERT_EQ(log.listed().size(), 2u);
    EXPECT_EQ(log.listed()[0].frame, 3u);
    EXPECT_EQ(log.listed()[0].detail, "timestamp 0.500000 s earlier than frame 2");
}

TEST(AnomalyLog, KeepsCountingPastTheListLimit) {
    AnomalyLog log;
    for (std::uint32_t i = 0; i < 100; ++i) log.add("counter_limit", i, "x");
    EXPECT_EQ(log.listed().size(), AnomalyLog::kKept);
    EXPECT_EQ(log.count("counter_limit"), 100u);
    JsonWriter w(0);
    w.begin_object();
    log.write(w);
    w.end_object();
    EXPECT_EQ(w.str().rfind(R"({"anomaly_counts":{"counter_limit":100},"anomalies":[)", 0), 0u);
}
