// IdKinds: the kind of every id, against a plain map of the ids that were set.
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "triage/id_filter.hpp"

using triage::IdKinds;

TEST(IdKinds, EmptyKnowsNoId) {
    IdKinds k;
    for (int id : {0, 1, 63, 64, 1000, 0xFFFFFE, 0xFFFFFF, -1, -1000}) EXPECT_EQ(k.kind(id), 0) << id;
}

TEST(IdKinds, EveryIdSetHasItsKindAndNoOtherIdHasOne) {
    std::mt19937 rng(7);
    for (int round = 0; round < 200; ++round) {
        const std::size_t n = 1 + round % IdKinds::kMax;
        std::map<int, std::uint8_t> truth;
        std::vector<std::pair<int, std::uint8_t>> kinds;
        while (truth.size() < n) {
            // Wireshark's protocol ids: small, dense; some rounds far apart.
            const int id = static_cast<int>(round % 2 ? rng() % 300000 : rng() % 64);
            const auto kind = static_cast<std::uint8_t>(1 + rng() % 255);
            truth[id] = kind;
            kinds.emplace_back(id, kind);
        }
        IdKinds k;
        ASSERT_TRUE(k.set(kinds)) << "round " << round;
        for (const auto& [id, kind] : truth) EXPECT_EQ(k.kind(id), kind) << "round " << round << " id " << id;
        for (int id = -3; id < 300000; id += round % 2 ? 7 : 1) {
            if (truth.count(id)) continue;
            ASSERT_EQ(k.kind(id), 0) << "round " << round << " id " << id;
        }
    }
}

TEST(IdKinds, AnIdGivenTwiceKeepsTheLastKind) {
    IdKinds k;
    ASSERT_TRUE(k.set({{5, 1}, {9, 2}, {5, 3}}));
    EXPECT_EQ(k.kind(5), 3);
    EXPECT_EQ(k.kind(9), 2);
}

TEST(IdKinds, RefusesWhatItCannotHoldAndIsThenEmpty) {
    IdKinds k;
    ASSERT_TRUE(k.set({{1, 1}}));
    std::vector<std::pair<int, std::uint8_t>> many;
    for (int i = 0; i <= static_cast<int>(IdKinds::kMax); ++i) many.emplace_back(i * 3, 1);
    EXPECT_FALSE(k.set(many));
    EXPECT_EQ(k.kind(1), 0);
    EXPECT_EQ(k.kind(3), 0);
    EXPECT_FALSE(k.set({{-1, 1}}));
    EXPECT_FALSE(k.set({{0xFFFFFF, 1}}));
    EXPECT_TRUE(k.set({{0xFFFFFE, 4}}));
    EXPECT_EQ(k.kind(0xFFFFFE), 4);
    EXPECT_EQ(k.kind(0xFFFFFF), 0);
}
