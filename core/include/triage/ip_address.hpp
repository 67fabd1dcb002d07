// An IPv4 or IPv6 address as a small value type (no Wireshark types).
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace triage {

class IpAddress {
public:
    enum class Family : std::uint8_t { none = 0, v4 = 4, v6 = 6 };

    IpAddress() = default;
    static IpAddress v4(const std::uint8_t* bytes) {
        IpAddress a;
        a.family_ = Family::v4;
        std::memcpy(a.bytes_.data(), bytes, 4);
        return a;
    }
    static IpAddress v4(std::uint32_t host_order);
    static IpAddress v6(const std::uint8_t* bytes) {
        IpAddress a;
        a.family_ = Family::v6;
        std::memcpy(a.bytes_.data(), bytes, 16);
        return a;
    }
    // Parses dotted quad or RFC 4291 text; nullopt when it is neither.
    static std::optional<IpAddress> parse(std::string_view text);

    Family family() const { return family_; }
    bool is_v4() const { return family_ == Family::v4; }
    bool is_v6() const { return family_ == Family::v6; }
    bool empty() const { return family_ == Family::none; }
    int bit_length() const { return is_v4() ? 32 : is_v6() ? 128 : 0; }
    const std::uint8_t* bytes() const { return bytes_.data(); }

    std::string to_string() const;
    // The same text into `buf` (at least kTextChars), returning the end; the
    // bytes of `buf` past the end may be overwritten.
    static constexpr std::size_t kTextChars = 48;
    char* write(char* buf) const;

    // Inline, as two 64-bit words (the bytes past an IPv4 address are zero):
    // the trackers compare addresses on every frame, and a call to memcmp
    // for 16 bytes costs more than the compare.
    friend bool operator==(const IpAddress& a, const IpAddress& b) {
        return a.family_ == b.family_ && a.word(0) == b.word(0) && a.word(1) == b.word(1);
    }
    friend bool operator!=(const IpAddress& a, const IpAddress& b) { return !(a == b); }
    friend bool operator<(const IpAddress& a, const IpAddress& b) {
        if (a.family_ != b.family_) return a.family_ < b.family_;
        return a.bytes_ < b.bytes_;
    }
    // Both words multiplied and folded: every byte reaches every bit of the
    // result that FlatIndex's finaliser spreads.
    std::size_t hash() const {
        const std::uint64_t h =
            (word(0) ^ static_cast<std::uint64_t>(family_)) * 0x9E3779B97F4A7C15ull ^ word(1) * 0xC2B2AE3D27D4EB4Full;
        return static_cast<std::size_t>(h ^ h >> 31);
    }
    // Integers that sort as operator< does (family, then bytes): for sorting
    // large tables without chasing pointers.
    struct SortKey {
        std::uint64_t high = 0, low = 0;
        std::uint8_t family = 0;
        friend bool operator<(const SortKey& a, const SortKey& b) {
            if (a.family != b.family) return a.family < b.family;
            return a.high != b.high ? a.high < b.high : a.low < b.low;
        }
        friend bool operator==(const SortKey& a, const SortKey& b) {
            return a.family == b.family && a.high == b.high && a.low == b.low;
        }
    };
    SortKey sort_key() const {
        SortKey k;
        k.family = static_cast<std::uint8_t>(family_);
        for (int i = 0; i < 8; ++i) {
            k.high = k.high << 8 | bytes_[i];
            k.low = k.low << 8 | bytes_[8 + i];
        }
        return k;
    }

private:
    std::uint64_t word(int i) const {
        std::uint64_t w;
        std::memcpy(&w, bytes_.data() + 8 * i, 8);
        return w;
    }
    std::array<std::uint8_t, 16> bytes_{};
    Family family_ = Family::none;
};

// "tcp", "udp" or "other" for an IP protocol number.
inline const char* transport_name(std::uint8_t ip_proto) {
    return ip_proto == 6 ? "tcp" : ip_proto == 17 ? "udp" : "other";
}

struct IpAddressHash {
    std::size_t operator()(const IpAddress& a) const { return a.hash(); }
};

}  // namespace triage
