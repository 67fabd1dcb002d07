// A set of protocol ids as one cache line of bits (an id's bit is its value
// modulo 512): "not in the set" is certain, "maybe" needs the exact table.
// A frame's few layers then read one line that stays hot, not one line of a
// table of every id per layer (tables indexed by id have a slot for each of
// Wireshark's ~200k fields, and the frame's dissection evicts them).
#pragma once

#include <array>
#include <cstdint>

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

}  // namespace triage
