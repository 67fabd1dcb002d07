// Short lists of counted entries, one list per owner (a destination's sources,
// a destination's ports), in one shared store.
//
// Sized for owners with a few entries each: an entry is a 32-bit key, a link
// to the next entry of its list and N 32-bit counters (8 + 4N bytes); no
// index per entry. A list is searched in order while it has at most kShort
// entries; a longer one (a port scan, a resolver every host talks to) gets
// its own index, so a lookup never walks more than kShort entries.
//
// Counters stay exact past 32 bits: the first add that would overflow one of
// an entry's counters moves all of them to a 64-bit side table.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "triage/flat_index.hpp"

namespace triage {

template <std::size_t N>
class CountedLists {
    static_assert(N >= 2, "the side-table index takes the second counter");

public:
    static constexpr std::uint32_t kNone = FlatIndex::kNone;
    static constexpr std::uint8_t kShort = 8;
    using Counts = std::array<std::uint64_t, N>;
    using Increments = std::array<std::uint32_t, N>;

    // The entry with `key` in the list that starts at `head` and has `length`
    // entries (counted up to kShort + 1; both kept by the list's owner), added
    // with zero counts if it has none. `owner` names the list, stable for its
    // life: the key of its index once it is long.
    //
    // `maybe`, if given (also kept by the owner, 0 for an empty list), has a
    // bit set for each key in the list (one of 16, by a hash of the key): a
    // short list whose bit for `key` is clear cannot hold it, and is not
    // walked. Each entry walked is a memory access at random in the store,
    // and a list is walked to its end whenever its owner meets a new key.
    std::uint32_t locate(const void* owner, std::uint32_t& head, std::uint8_t& length, std::uint32_t key,
                         std::uint16_t* maybe = nullptr) {
        const auto bit = static_cast<std::uint16_t>(1u << ((key * 0x9E3779B1u) >> 28));
        if (length <= kShort) {
            if (!maybe || (*maybe & bit))
                for (std::uint32_t i = head; i != kNone; i = entries_[i].next)
                    if (entries_[i].key == key) return i;
        } else {
            const std::uint32_t i = long_[owner].find(key, [&](std::uint32_t k) { return entries_[k].key == key; });
            if (i != kNone) return i;
        }
        const auto added = static_cast<std::uint32_t>(entries_.size());
        entries_.push_back(Entry{head, key, {}});
        head = added;
        if (maybe) *maybe |= bit;
        if (length <= kShort) ++length;
        if (length <= kShort) return added;
        FlatIndex& index = long_[owner];
        const auto key_of = [this](std::uint32_t k) { return entries_[k].key; };
        if (index.size() == 0)  // just became long: index the whole list
            for (std::uint32_t i = head; i != kNone; i = entries_[i].next) index.insert(entries_[i].key, i, key_of);
        else
            index.insert(key, added, key_of);
        return added;
    }

    struct Entry {
        std::uint32_t next, key;
        std::array<std::uint32_t, N> count;
    };
    // An entry's place in the store, stable for the store's life (entries
    // live in fixed blocks): a caller that adds to one entry frame after frame
    // keeps it and skips the lookup of its block.
    Entry& ref(std::uint32_t entry) { return entries_[entry]; }

    void add(std::uint32_t entry, const Increments& by) { add(entries_[entry], by); }
    void add(Entry& e, const Increments& by) {
        if (e.count[0] == kWide) {
            Counts& w = wide_[e.count[1]];
            for (std::size_t i = 0; i < N; ++i) w[i] += by[i];
            return;
        }
        bool fits = true;
        for (std::size_t i = 0; i < N; ++i) fits &= std::uint64_t{e.count[i]} + by[i] < kWide;
        if (fits) {
            for (std::size_t i = 0; i < N; ++i) e.count[i] += by[i];
            return;
        }
        Counts w;
        for (std::size_t i = 0; i < N; ++i) w[i] = std::uint64_t{e.count[i]} + by[i];
        e.count[0] = kWide;
        e.count[1] = static_cast<std::uint32_t>(wide_.size());
        wide_.push_back(w);
    }

    Counts counts(std::uint32_t entry) const {
        const Entry& e = entries_[entry];
        if (e.count[0] == kWide) return wide_[e.count[1]];
        Counts c;
        for (std::size_t i = 0; i < N; ++i) c[i] = e.count[i];
        return c;
    }
    std::uint64_t count(std::uint32_t entry, std::size_t i) const {
        const Entry& e = entries_[entry];
        return e.count[0] == kWide ? wide_[e.count[1]][i] : e.count[i];
    }
    std::uint32_t key(std::uint32_t entry) const { return entries_[entry].key; }

    // f(entry) for each entry of the list starting at `head`, newest first.
    template <typename F>
    void for_each(std::uint32_t head, F&& f) const {
        for (std::uint32_t i = head; i != kNone; i = entries_[i].next) f(i);
    }
    std::size_t size() const { return entries_.size(); }

private:
    static constexpr std::uint32_t kWide = UINT32_MAX;  // count[0]: the counts are in wide_[count[1]]
    Records<Entry> entries_;
    std::vector<Counts> wide_;
    std::unordered_map<const void*, FlatIndex> long_;
};

}  // namespace triage
