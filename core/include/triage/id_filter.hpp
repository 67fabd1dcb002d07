// A set of protocol ids as one cache line of bits (an id's bit is its value
// modulo 512): "not in the set" is certain, "maybe" needs the exact table.
// A frame's few layers then read one line that stays hot, not one line of a
// table of every id per layer (tables indexed by id have a slot for each of
// Wireshark's ~200k fields, and the frame's dissection evicts them).
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace triage {

class IdFilter {
public:
    void add(int id) {
        const std::uint32_t b = bit(id);
        words_[b >> 6] |= std::uint64_t{1} << (b & 63);
    }
    bool maybe(int id) const {
        const std::uint32_t b = bit(id);
        return (words_[b >> 6] >> (b & 63)) & 1u;
    }
    void clear() { words_ = {}; }

private:
    static std::uint32_t bit(int id) { return static_cast<std::uint32_t>(id) & 511u; }
    alignas(64) std::array<std::uint64_t, 8> words_{};
};

// A few ids, each with a small kind (1 to 255; 0: none), read in one load:
// a slot per id, chosen by a multiplier picked when the ids are set so that
// no two share one, holds the id and its kind. A frame's walk over its layers
// then costs one multiply, one load and one compare per layer, in one line
// that stays hot, where a table indexed by every protocol id (~200k) costs a
// miss for each layer that has a kind.
class IdKinds {
public:
    static constexpr std::size_t kMax = 12;  // ids with a kind
    // Replaces the set. False (and the set empty) for more than kMax ids, an
    // id outside 0..2^24-1, or (in practice never) no multiplier found.
    bool set(const std::vector<std::pair<int, std::uint8_t>>& kinds) {
        slots_.fill(kEmpty);
        mul_ = 1;
        std::vector<std::pair<std::uint32_t, std::uint8_t>> ids;  // distinct ids, the last kind given to each
        for (const auto& [id, kind] : kinds) {
            if (id < 0 || static_cast<std::uint32_t>(id) >= kEmpty) return false;
            const auto u = static_cast<std::uint32_t>(id);
            const auto known = std::find_if(ids.begin(), ids.end(), [u](const auto& e) { return e.first == u; });
            if (known != ids.end())
                known->second = kind;
            else
                ids.emplace_back(u, kind);
        }
        if (ids.size() > kMax) return false;
        std::uint32_t mul = 0x9E3779B1u;
        for (int attempt = 0; attempt < 1 << 16; ++attempt, mul += 0x6C8E9CF6u) {  // odd multipliers
            std::array<bool, kSlots> used{};
            bool distinct = true;
            for (const auto& e : ids) {
                const std::size_t s = slot(e.first, mul);
                distinct &= !used[s];
                used[s] = true;
            }
            if (!distinct) continue;
            mul_ = mul;
            for (const auto& [id, kind] : ids) slots_[slot(id, mul)] = id | std::uint32_t{kind} << 24;
            return true;
        }
        return false;
    }
    std::uint8_t kind(int id) const {
        const std::uint32_t e = slots_[slot(static_cast<std::uint32_t>(id), mul_)];
        return (e & kEmpty) == static_cast<std::uint32_t>(id) ? static_cast<std::uint8_t>(e >> 24) : 0;
    }

private:
    static constexpr std::size_t kSlots = 16;          // one line; 12 ids in it: a multiplier in ~320 attempts
    static constexpr std::uint32_t kEmpty = 0xFFFFFF;  // no id (ids are below it), kind 0
    static std::size_t slot(std::uint32_t id, std::uint32_t mul) { return (id * mul) >> 28; }
    alignas(64) std::array<std::uint32_t, kSlots> slots_ = filled();
    std::uint32_t mul_ = 1;
    static std::array<std::uint32_t, kSlots> filled() {
        std::array<std::uint32_t, kSlots> a{};
        a.fill(kEmpty);
        return a;
    }
};

}  // namespace triage
