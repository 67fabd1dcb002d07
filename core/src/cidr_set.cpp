#include "triage/cidr_set.hpp"

#include <cstring>

namespace triage {

const char* const kDefaultLocalNetworks =
    "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,100.64.0.0/10,169.254.0.0/16,127.0.0.0/8,"
    "fc00::/7,fe80::/10,::1/128";

const char* const kDefaultPlatformEndpoints = "169.254.169.254/32,168.63.129.16/32,fd00:ec2::254/128";

namespace {

bool prefix_match(const IpAddress& net, int prefix, const IpAddress& a) {
    if (net.family() != a.family()) return false;
    const std::uint8_t* x = net.bytes();
    const std::uint8_t* y = a.bytes();
    const int full = prefix / 8;
    if (std::memcmp(x, y, full) != 0) return false;
    const int rest = prefix % 8;
    if (rest == 0) return true;
    const std::uint8_t mask = static_cast<std::uint8_t>(0xFF << (8 - rest));
    return (x[full] & mask) == (y[full] & mask);
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

}  // namespace

bool Cidr::contains(const IpAddress& a) const {
    return prefix_match(network, prefix, a);
}

std::string Cidr::to_string() const {
    return network.to_string() + "/" + std::to_string(prefix);
}

bool CidrSet::parse_one(std::string_view text, Cidr* out, std::string* error) {
    text = trim(text);
    const auto slash = text.find('/');
    const std::string_view addr_text = slash == std::string_view::npos ? text : text.substr(0, slash);
    auto addr = IpAddress::parse(addr_text);
    if (!addr) {
        if (error)
            *error = "invalid CIDR \"" + std::string(text) + "\": \"" + std::string(addr_text) +
                     "\" is not an IPv4 or IPv6 address";
        return false;
    }
    int prefix = addr->bit_length();
    if (slash != std::string_view::npos) {
        const std::string_view p = text.substr(slash + 1);
        if (p.empty() || p.size() > 3 || p.find_first_not_of("0123456789") != std::string_view::npos) {
            if (error) *error = "invalid CIDR \"" + std::string(text) + "\": prefix length must be a number";
            return false;
        }
        prefix = std::stoi(std::string(p));
        if (prefix > addr->bit_length()) {
            if (error)
                *error = "invalid CIDR \"" + std::string(text) + "\": prefix length " + std::to_string(prefix) +
                         " exceeds " + std::to_string(addr->bit_length());
            return false;
        }
    }
    // Clear host bits so that to_string() shows the network.
    std::uint8_t b[16];
    std::memcpy(b, addr->bytes(), 16);
    const int nbytes = addr->bit_length() / 8;
    for (int i = 0; i < nbytes; ++i) {
        const int bits_here = prefix - i * 8;
        if (bits_here >= 8) continue;
        b[i] = bits_here <= 0 ? 0 : static_cast<std::uint8_t>(b[i] & (0xFF << (8 - bits_here)));
    }
    out->network = addr->is_v4() ? IpAddress::v4(b) : IpAddress::v6(b);
    out->prefix = prefix;
    return true;
}

bool CidrSet::parse(std::string_view list, std::string* error) {
    std::vector<Cidr> nets;
    std::size_t pos = 0;
    while (pos <= list.size()) {
        std::size_t end = list.find_first_of(", ;\t\n", pos);
        if (end == std::string_view::npos) end = list.size();
        const std::string_view item = trim(list.substr(pos, end - pos));
        if (!item.empty()) {
            Cidr c;
            if (!parse_one(item, &c, error)) return false;
            nets.push_back(c);
        }
        pos = end + 1;
    }
    nets_ = std::move(nets);
    index();
    return true;
}

void CidrSet::index() {
    v4_.clear();
    for (const Cidr& c : nets_) {
        if (!c.network.is_v4()) continue;
        const std::uint8_t* b = c.network.bytes();
        const std::uint32_t net =
            std::uint32_t{b[0]} << 24 | std::uint32_t{b[1]} << 16 | std::uint32_t{b[2]} << 8 | b[3];
        const std::uint32_t mask = c.prefix == 0 ? 0 : ~std::uint32_t{0} << (32 - c.prefix);
        v4_.emplace_back(net, mask);
    }
}

bool CidrSet::contains(const IpAddress& a) const {
    if (a.is_v4()) {
        const std::uint8_t* b = a.bytes();
        const std::uint32_t v = std::uint32_t{b[0]} << 24 | std::uint32_t{b[1]} << 16 | std::uint32_t{b[2]} << 8 | b[3];
        for (const auto& [net, mask] : v4_)
            if ((v & mask) == net) return true;
        return false;
    }
    for (const auto& n : nets_)
        if (n.contains(a)) return true;
    return false;
}

std::vector<std::string> CidrSet::to_strings() const {
    std::vector<std::string> out;
    out.reserve(nets_.size());
    for (const auto& n : nets_) out.push_back(n.to_string());
    return out;
}

}  // namespace triage
