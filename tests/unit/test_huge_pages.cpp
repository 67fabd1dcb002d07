#include <gtest/gtest.h>

#include <cstdint>
#include <memory_resource>
#include <vector>

#include "triage/flat_index.hpp"
#include "triage/huge_pages.hpp"

using namespace triage;

namespace {
bool aligned_to(const void* p, std::size_t a) {
    return reinterpret_cast<std::uintptr_t>(p) % a == 0;
}

struct Rec {
    std::uint64_t a = 0;
    std::uint32_t b = 0, c = 7;
};
}  // namespace

TEST(HugePages, MapIsAlignedZeroedAndWritable) {
    for (std::size_t bytes : {std::size_t{1}, std::size_t{4096}, kHugePage, 3 * kHugePage + 12345}) {
        auto* p = static_cast<unsigned char*>(huge_map(bytes));
        ASSERT_NE(p, nullptr);
        EXPECT_TRUE(aligned_to(p, kHugePage));
        for (std::size_t i = 0; i < bytes; i += 4096) EXPECT_EQ(p[i], 0);
        p[0] = 1;
        p[bytes - 1] = 2;
        huge_unmap(p, bytes);
    }
    EXPECT_EQ(huge_round(1), kHugePage);
    EXPECT_EQ(huge_round(kHugePage), kHugePage);
    EXPECT_EQ(huge_round(kHugePage + 1), 2 * kHugePage);
}

TEST(HugePages, AllocatorSmallAndLargeVectors) {
    HugeVector<std::uint32_t> small(1000, 5), large(1 << 20, 9);  // 4 KB from new, 4 MiB mapped
    EXPECT_TRUE(aligned_to(large.data(), kHugePage));
    large.push_back(3);  // grows: copied into a new mapping, the old one unmapped
    EXPECT_EQ(large.size(), (1u << 20) + 1);
    EXPECT_EQ(large[12345], 9u);
    EXPECT_EQ(large.back(), 3u);
    EXPECT_EQ(small[999], 5u);
    HugeVector<std::uint32_t> moved = std::move(large);
    EXPECT_EQ(moved[0], 9u);
    HugeVector<std::uint32_t>().swap(moved);
    EXPECT_TRUE(moved.empty());
}

TEST(HugePages, ArenaHandsOutDistinctAlignedArrays) {
    HugeArena arena(3 * kHugePage);
    std::pmr::vector<std::uint64_t> a(&arena), b(&arena);
    a.reserve(100000);
    b.reserve(300000);  // does not fit beside a: a region of its own
    for (std::uint64_t i = 0; i < 100000; ++i) a.push_back(i);
    for (std::uint64_t i = 0; i < 300000; ++i) b.push_back(i * 3);
    std::pmr::vector<char> c(10, 'x', &arena);
    for (std::uint64_t i = 0; i < 100000; ++i) ASSERT_EQ(a[i], i);
    for (std::uint64_t i = 0; i < 300000; ++i) ASSERT_EQ(b[i], i * 3);
    EXPECT_TRUE(aligned_to(a.data(), alignof(std::uint64_t)));
    EXPECT_TRUE(aligned_to(b.data(), alignof(std::uint64_t)));
    EXPECT_EQ(c[9], 'x');
    void* big = arena.allocate(5 * kHugePage, 64);  // larger than a region
    EXPECT_TRUE(aligned_to(big, 64));
    static_cast<char*>(big)[5 * kHugePage - 1] = 1;
    HugeArena small(0);  // a small arena: small pages, still works
    std::pmr::vector<int> d({1, 2, 3}, &small);
    EXPECT_EQ(d[2], 3);
}

// A huge store keeps its first blocks in small pages and the rest in
// regions; either way values and references stay put.
TEST(HugePages, HugeRecordsKeepValuesAndReferences) {
    Records<Rec, true> r;
    constexpr std::size_t n = 200000;  // 49 blocks: 8 small, then regions
    const Rec* first = nullptr;
    const Rec* middle = nullptr;
    for (std::size_t i = 0; i < n; ++i) {
        Rec& x = r.push_back(Rec{i, static_cast<std::uint32_t>(i * 2)});
        if (i == 0) first = &x;
        if (i == 100000) middle = &x;
    }
    EXPECT_EQ(&r[0], first);
    EXPECT_EQ(&r[100000], middle);
    Records<Rec, true> moved = std::move(r);
    EXPECT_EQ(&moved[100000], middle);
    ASSERT_EQ(moved.size(), n);
    for (std::size_t i = 0; i < n; ++i) {
        ASSERT_EQ(moved[i].a, i);
        ASSERT_EQ(moved[i].b, i * 2);
        ASSERT_EQ(moved[i].c, 7u);
    }
}
