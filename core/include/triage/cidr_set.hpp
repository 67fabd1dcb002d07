// A list of IPv4/IPv6 networks in CIDR notation, with membership tests.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "triage/ip_address.hpp"

namespace triage {

struct Cidr {
    IpAddress network;  // host bits cleared
    int prefix = 0;
    bool contains(const IpAddress& a) const;
    std::string to_string() const;
};

class CidrSet {
public:
    // Parses a comma/space separated list ("10.0.0.0/8, fc00::/7, 192.0.2.1").
    // A bare address is a host route. On failure returns false and sets
    // `error` to a message that names the offending entry; the set is unchanged.
    bool parse(std::string_view list, std::string* error);
    static bool parse_one(std::string_view text, Cidr* out, std::string* error);

    bool contains(const IpAddress& a) const;
    const std::vector<Cidr>& networks() const { return nets_; }
    std::vector<std::string> to_strings() const;
    bool empty() const { return nets_.empty(); }

private:
    void index();
    std::vector<Cidr> nets_;
    // IPv4 networks as (network, mask) in host order: the per-packet test is
    // a few AND/compare instructions.
    std::vector<std::pair<std::uint32_t, std::uint32_t>> v4_;
};

// Private, shared, link-local, unique-local and loopback ranges.
extern const char* const kDefaultLocalNetworks;
// Cloud endpoints that are not billed egress (instance metadata, Azure wire server).
extern const char* const kDefaultPlatformEndpoints;

}  // namespace triage
