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

char* IpAddress::write(char* buf) const {
    if (is_v4()) {
        // Dotted quad by hand: report writers format one per connection.
        char* p = buf;
        for (int i = 0; i < 4; ++i) {
            if (i) *p++ = '.';
            p = std::to_chars(p, p + 3, bytes_[i]).ptr;
        }
        return p;
    }
    if (!is_v6()) return buf;
    // RFC 5952 text, exactly as glibc's inet_ntop writes it (the longest run
    // of two or more zero groups, the first of equals, becomes "::"; an
    // IPv4-compatible or -mapped address ends in a dotted quad).
    std::uint16_t w[8];
    for (int i = 0; i < 8; ++i) w[i] = static_cast<std::uint16_t>(bytes_[2 * i] << 8 | bytes_[2 * i + 1]);
    int best = -1, best_len = 0, cur = -1, cur_len = 0;
    for (int i = 0; i <= 8; ++i) {
        if (i < 8 && w[i] == 0) {
            if (cur < 0) cur = i, cur_len = 0;
            ++cur_len;
        } else if (cur >= 0) {
            if (cur_len > best_len) best = cur, best_len = cur_len;
            cur = -1;
        }
    }
    if (best_len < 2) best = -1;
    static constexpr char kHex[] = "0123456789abcdef";
    char* p = buf;
    for (int i = 0; i < 8; ++i) {
        if (best >= 0 && i >= best && i < best + best_len) {
            if (i == best) *p++ = ':';
            continue;
        }
        if (i) *p++ = ':';
        if (i == 6 && best == 0 && (best_len == 6 || (best_len == 5 && w[5] == 0xffff))) {
            for (int j = 12; j < 16; ++j) {
                if (j > 12) *p++ = '.';
                p = std::to_chars(p, p + 3, bytes_[j]).ptr;
            }
            return p;
        }
        bool lead = true;
        for (int shift = 12; shift >= 0; shift -= 4) {
            const int nibble = (w[i] >> shift) & 15;
            if (lead && nibble == 0 && shift) continue;
            lead = false;
            *p++ = kHex[nibble];
        }
    }
    if (best >= 0 && best + best_len == 8) *p++ = ':';
    return p;
}

std::string IpAddress::to_string() const {
    char buf[kTextChars];
    return std::string(buf, write(buf));
}

}  // namespace triage
