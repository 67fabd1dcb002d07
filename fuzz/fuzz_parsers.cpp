// libFuzzer target: every parser of user input in the core (CIDR lists,
// policy/UAT entries, port rules, -z arguments, prices, the tracker detector).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "triage/args.hpp"
#include "triage/cidr_set.hpp"
#include "triage/unwanted_policy.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    std::string err;

    triage::CidrSet set;
    if (set.parse(in, &err)) {
        for (const auto& c : set.networks()) {
            triage::Cidr again;
            std::string e2;
            // What we print must parse back to itself.
            if (!triage::CidrSet::parse_one(c.to_string(), &again, &e2) || again.to_string() != c.to_string())
                __builtin_trap();
        }
    } else if (err.empty()) {
        __builtin_trap();  // a failure always says why
    }

    // Split the input into up to five fields, as a UAT line would be.
    std::string_view f[5];
    std::size_t pos = 0;
    for (int i = 0; i < 5; ++i) {
        const std::size_t c = in.find(',', pos);
        f[i] = in.substr(std::min(pos, in.size()), c == std::string_view::npos ? std::string_view::npos : c - pos);
        pos = c == std::string_view::npos ? in.size() : c + 1;
    }
    triage::PolicyEntry e;
    if (!triage::Policy::make_entry(f[0], f[1], f[2], &e, &err) && err.empty()) __builtin_trap();
    triage::PortRule r;
    if (triage::PortRule::parse(f[0], f[1], f[2], f[3], f[4], &r, &err)) {
        if (r.low > r.high) __builtin_trap();
    }

    triage::StatArg a;
    triage::parse_stat_arg(in, "triage_rtt", {"tree", "json", "csv"}, &a, &err);
    double price = 0;
    if (triage::parse_price(in, &price, &err) && !(price >= 0)) __builtin_trap();
    triage::is_tracker_request(in);
    return 0;
}
