#include "triage/ip_address.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace triage {

IpAddress IpAddress::v4(const std::uint8_t* bytes) {
    IpAddress a;
    a.family_ = Family::v4;
    std::memcpy(a.bytes_.data(), bytes, 4);
    return a;
}

IpAddress IpAddress::v4(std::uint32_t host_order) {
    const std::uint8_t b[4] = {static_cast<std::uint8_t>(host_order >> 24), static_cast<std::uint8_t>(host_order >> 16),
                               static_cast<std::uint8_t>(host_order >> 8), static_cast<std::uint8_t>(host_order)};
    return v4(b);
}

IpAddress IpAddress::v6(const std::uint8_t* bytes) {
    IpAddress a;
    a.family_ = Family::v6;
    std::memcpy(a.bytes_.data(), bytes, 16);
    return a;
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
    *buf = '\0';
    if (is_v6()) inet_ntop(AF_INET6, bytes_.data(), buf, kTextChars);
    return buf + std::strlen(buf);
}

std::string IpAddress::to_string() const {
    char buf[kTextChars];
    return std::string(buf, write(buf));
}

std::size_t IpAddress::hash() const {
    // FNV-1a over the significant bytes: cheap and good enough for host tables.
    std::size_t h = 1469598103934665603ull ^ static_cast<std::size_t>(family_);
    const int n = is_v4() ? 4 : 16;
    for (int i = 0; i < n; ++i) {
        h ^= bytes_[i];
        h *= 1099511628211ull;
    }
    return h;
}

}  // namespace triage
