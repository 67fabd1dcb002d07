// An open-addressing index over records the caller keeps in its own
// container: the table holds 4-byte slots only (at most three quarters full,
// so 5 to 11 bytes per record), and asks the caller whether a record has the
// key it looks for, and for a record's hash when it grows. Per-frame lookups
// touch one small array instead of a node per entry. A slot holds a record
// index and, in the bits the indices do not need, a tag from the key's hash:
// a lookup reads only the records whose tag matches (16 tag bits while the
// indices fit in 16 bits: one in 65 536 of the others), not each record it
// probes past.
// Records<T> below is such a container.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <type_traits>
#include <vector>

#include "triage/huge_pages.hpp"
#include "triage/ip_address.hpp"

namespace triage {

class FlatIndex {
public:
    static constexpr std::uint32_t kNone = UINT32_MAX;

    // The index of the record for which `is_key(index)` holds, or kNone.
    // Only records whose slot tag matches the key's are asked: a probe past
    // another key's slot costs no access to its record.
    template <typename IsKey>
    std::uint32_t find(std::size_t hash, IsKey&& is_key) const {
        if (slots_.empty()) return kNone;
        const std::size_t mask = slots_.size() - 1;
        const std::uint64_t m = mix(hash);
        const std::uint32_t tag = tag_of(m);
        for (std::size_t i = m & mask;; i = (i + 1) & mask) {
            const std::uint32_t s = slots_[i];
            if (s == 0) return kNone;
            if ((s & ~index_mask_) == tag && is_key((s & index_mask_) - 1)) return (s & index_mask_) - 1;
        }
    }

    // Adds a record that find() does not know; `hash_of(index)` gives the
    // hash of any record already added (to move them when the table grows,
    // or when `index` needs more bits than the slots gave indices so far).
    template <typename HashOf>
    void insert(std::size_t hash, std::uint32_t index, HashOf&& hash_of) {
        const bool grow = (size_ + 1) * 4 > slots_.size() * 3;
        if (grow || index + 1 > index_mask_) {
            const std::size_t slots = grow ? (slots_.empty() ? 16 : slots_.size() * 2) : slots_.size();
            std::vector<std::uint32_t> old(slots, 0);
            old.swap(slots_);
            const std::uint32_t old_mask = index_mask_;
            index_mask_ = std::max(index_mask_, mask_for(std::uint64_t{index} + 1));
            for (std::uint32_t s : old)
                if (s) place(hash_of((s & old_mask) - 1), (s & old_mask) - 1);
        }
        place(hash, index);
        ++size_;
    }

    std::size_t size() const { return size_; }
    void clear() {
        slots_.clear();
        size_ = 0;
        index_mask_ = 0;
    }

private:
    static std::uint64_t mix(std::size_t h) {
        // The finaliser of MurmurHash3: every input bit reaches the low bits
        // the mask keeps.
        std::uint64_t x = h;
        x ^= x >> 33;
        x *= 0xff51afd7ed558ccdull;
        x ^= x >> 33;
        return x;
    }
    // The key's tag: hash bits the slot position does not use, in the slot
    // bits the record indices do not use (none once they need all 32).
    std::uint32_t tag_of(std::uint64_t m) const { return static_cast<std::uint32_t>(m >> 32) & ~index_mask_; }
    // The smallest all-ones mask that holds n.
    static std::uint32_t mask_for(std::uint64_t n) {
        std::uint64_t m = 0xFFFF;  // no rebuild for the first 65535 records
        while (m < n) m = m << 1 | 1;
        return static_cast<std::uint32_t>(std::min<std::uint64_t>(m, UINT32_MAX));
    }
    void place(std::size_t hash, std::uint32_t index) {
        const std::size_t mask = slots_.size() - 1;
        const std::uint64_t m = mix(hash);
        std::size_t i = m & mask;
        while (slots_[i] != 0) i = (i + 1) & mask;
        slots_[i] = tag_of(m) | (index + 1);
    }
    // 0: empty; else the key's tag | record index + 1
    std::vector<std::uint32_t> slots_;
    std::uint32_t index_mask_ = 0;
    std::size_t size_ = 0;
};

// Records in fixed blocks of 4096: growing never copies them (no peak of
// twice the memory, references stay valid) and indexing is a shift and a
// mask (std::deque's is a division). A store that grows large (`Huge`, for
// one record per connection) takes its blocks after the first kSmallBlocks
// from regions of 8 MiB in huge pages (huge_pages.hpp), several blocks to a
// region: only the region being filled has memory mapped and not yet
// written, at most 2 MiB.
template <typename T, bool Huge = false>
class Records {
public:
    static constexpr std::size_t kShift = 12, kBlock = std::size_t{1} << kShift;
    static constexpr std::size_t kSmallBlocks = 8;
    T& operator[](std::size_t i) { return blocks_[i >> kShift][i & (kBlock - 1)]; }
    const T& operator[](std::size_t i) const { return blocks_[i >> kShift][i & (kBlock - 1)]; }
    std::size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    T& push_back(T value) {
        if ((size_ & (kBlock - 1)) == 0) add_block();
        T& slot = (*this)[size_++];
        slot = std::move(value);
        return slot;
    }
    template <typename F>
    void for_each(F&& f) const {
        for (std::size_t i = 0; i < size_; ++i) f((*this)[i]);
    }

private:
    static constexpr std::size_t kBlockBytes = kBlock * sizeof(T);
    static constexpr std::size_t kRegionBytes = huge_round(std::max<std::size_t>(std::size_t{8} << 20, kBlockBytes));
    static constexpr std::size_t kRegionBlocks = kRegionBytes / kBlockBytes;
    void add_block() {
        if constexpr (Huge) {
            static_assert(std::is_trivially_destructible_v<T>, "a region is unmapped without destructors");
            if (blocks_.size() >= kSmallBlocks) {
                if (region_left_ == 0) {
                    regions_.emplace_back(kRegionBytes);
                    region_left_ = kRegionBlocks;
                }
                T* block = static_cast<T*>(regions_.back().get()) + (kRegionBlocks - region_left_) * kBlock;
                --region_left_;
                std::uninitialized_value_construct_n(block, kBlock);
                blocks_.push_back(block);
                return;
            }
        }
        owned_.push_back(std::make_unique<T[]>(kBlock));
        blocks_.push_back(owned_.back().get());
    }
    std::vector<T*> blocks_;
    std::vector<std::unique_ptr<T[]>> owned_;
    std::vector<HugeRegion> regions_;  // Huge only
    std::size_t region_left_ = 0;      // blocks not yet taken from the last region
    std::size_t size_ = 0;
};

// Keys stored once each and known by a 4-byte index (0, 1, ... in the order
// first met), found through a FlatIndex: 4-byte slots beside the keys.
template <typename Key, typename Hash>
class KeyTable {
public:
    static constexpr std::uint32_t kNone = FlatIndex::kNone;
    // The key's index, or kNone when it is not stored.
    std::uint32_t find(const Key& key) const { return find(key, Hash{}(key)); }
    // The key's index, the key stored first if need be.
    std::uint32_t intern(const Key& key) {
        const std::size_t h = Hash{}(key);
        std::uint32_t i = find(key, h);
        if (i == kNone) {
            i = static_cast<std::uint32_t>(keys_.size());
            keys_.push_back(key);
            index_.insert(h, i, [this](std::uint32_t k) { return Hash{}(keys_[k]); });
        }
        return i;
    }
    const Key& operator[](std::uint32_t i) const { return keys_[i]; }
    std::size_t size() const { return keys_.size(); }

private:
    std::uint32_t find(const Key& key, std::size_t h) const {
        return index_.find(h, [&](std::uint32_t k) { return keys_[k] == key; });
    }
    Records<Key> keys_;
    FlatIndex index_;
};

// Addresses stored once each and known by a 4-byte index.
using AddressTable = KeyTable<IpAddress, IpAddressHash>;

}  // namespace triage
