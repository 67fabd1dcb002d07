#include "triage/ip_address.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace triage {

IpAddress IpAddress::v4(std::uint32_t host_order) {
    const std::uint8_t b[4] = {static_cast<std::uint8_t>(host_order >> 24), static_cast<std::uint8_t>(host_order >> 16),
                               static_cast<std::uint8_t>(host_order >> 8), static_cast<std::uint8_t>(host_order)};
    return v4(b);
}

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
    if (text.empty() || text.size() > 63) return std::nullopt;
    const std::string s(text);
    std::uint8_t buf[16];
    if (s.find(':') == std::string::npos) {
        if (inet_pton(AF_INET, s.c_str(), buf) == 1) return v4(buf);
        return std::nullopt;
    }
    if (inet_pton(AF_INET6, s.c_str(), buf) == 1) return v6(buf);
    return std::nullopt;
}

namespace {
// Each octet's decimal text (up to three digits, then its length), built at
// compile time: a dotted quad is four 4-byte copies, not four conversions.
struct Octets {
    char text[256][4];
    constexpr Octets() : text() {
        for (int v = 0; v < 256; ++v) {
            int n = 0;
            if (v >= 100) text[v][n++] = static_cast<char>('0' + v / 100);
            if (v >= 10) text[v][n++] = static_cast<char>('0' + v / 10 % 10);
            text[v][n++] = static_cast<char>('0' + v % 10);
            text[v][3] = static_cast<char>(n);
        }
    }
};
constexpr Octets kOctets;

// A 16-bit group in hex without leading zeros: two pairs of digits, then the
// significant ones.
constexpr char kHexPairs[] =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
    "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
    "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
    "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
    "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
    "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
    "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
    "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";

// Writes 4 bytes, returns the end of the digits (up to 3 bytes before).
char* write_group(char* p, std::uint16_t w) {
    char digits[8] = {};  // 4 digits, then what the copy below reads past them
    std::memcpy(digits, kHexPairs + 2 * (w >> 8), 2);
    std::memcpy(digits + 2, kHexPairs + 2 * (w & 0xff), 2);
    const int n = w >= 0x1000 ? 4 : w >= 0x100 ? 3 : w >= 0x10 ? 2 : 1;
    std::memcpy(p, digits + 4 - n, 4);  // the digits, then what the next write covers
    return p + n;
}

// For each set of zero groups (bit i: group i is 0), the longest run of two
// or more of them, the first of equals: its start in the low nibble, its
// length in the high one (0: none).
struct ZeroRuns {
    std::uint8_t run[256];
    constexpr ZeroRuns() : run() {
        for (int m = 0; m < 256; ++m) {
            int best = 0, best_len = 0;
            for (int i = 0; i < 8;) {
                if (!(m >> i & 1)) {
                    ++i;
                    continue;
                }
                int j = i;
                while (j < 8 && (m >> j & 1)) ++j;
                if (j - i > best_len) best = i, best_len = j - i;
                i = j;
            }
            run[m] = best_len >= 2 ? static_cast<std::uint8_t>(best_len << 4 | best) : 0;
        }
    }
};
constexpr ZeroRuns kZeroRuns;

// A dotted quad of bytes[0..3]; writes up to 16 bytes (one past the text).
char* write_quad(char* p, const std::uint8_t* bytes) {
    for (int i = 0; i < 4; ++i) {
        const char* o = kOctets.text[bytes[i]];
        std::memcpy(p, o, 4);  // the digits, then a length byte the next write covers
        p += o[3];
        *p++ = '.';
    }
    return p - 1;
}
}  // namespace

char* IpAddress::write(char* buf) const {
    if (is_v4()) return write_quad(buf, bytes_.data());
    if (!is_v6()) return buf;
    // RFC 5952 text, exactly as glibc's inet_ntop writes it (the longest run
    // of two or more zero groups, the first of equals, becomes "::"; an
    // IPv4-compatible or -mapped address ends in a dotted quad).
    std::uint16_t w[8];
    unsigned zeros = 0;
    for (int i = 0; i < 8; ++i) {
        w[i] = static_cast<std::uint16_t>(bytes_[2 * i] << 8 | bytes_[2 * i + 1]);
        zeros |= (w[i] == 0 ? 1u : 0u) << i;
    }
    const std::uint8_t run = kZeroRuns.run[zeros];
    const int best = run ? run & 15 : -1, best_len = run >> 4;
    char* p = buf;
    if (best == 0 && (best_len == 6 || (best_len == 5 && w[5] == 0xffff))) {
        // ::a.b.c.d or ::ffff:a.b.c.d
        *p++ = ':';
        *p++ = ':';
        if (best_len == 5) {
            std::memcpy(p, "ffff:", 5);
            p += 5;
        }
        return write_quad(p, bytes_.data() + 12);
    }
    for (int i = 0; i < 8; ++i) {
        if (i == best) {
            *p++ = ':';
            if (best + best_len == 8) *p++ = ':';
            i += best_len - 1;
            continue;
        }
        if (i) *p++ = ':';
        p = write_group(p, w[i]);
    }
    return p;
}

std::string IpAddress::to_string() const {
    char buf[kTextChars];
    return std::string(buf, write(buf));
}

}  // namespace triage
