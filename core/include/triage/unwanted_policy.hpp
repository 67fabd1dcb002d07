// The unwanted-protocol policy: which protocols (by Wireshark filter name) or
// ports raise an alert, with what severity and why, and its compiled form that
// matches the list of protocols that dissected a frame.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "triage/id_filter.hpp"

namespace triage {

enum class Severity : std::uint8_t { allow = 0, low, medium, high, critical };
const char* to_string(Severity s);
std::optional<Severity> parse_severity(std::string_view text);

enum class PolicyMode : std::uint8_t { deny, allow };

// Protocols Triage detects itself where Wireshark has no dissector of that name.
constexpr const char* kTrackerDetector = "bt-tracker";  // HTTP GET /announce?info_hash=...

// True when the bytes hold an HTTP request line of a BitTorrent tracker:
// "GET <path>/announce?...info_hash=..." (or /scrape). Wireshark dissects
// these only as HTTP.
bool is_tracker_request(std::string_view bytes);

struct PolicyEntry {
    std::string protocol;  // Wireshark filter name, or a Triage detector name
    Severity severity = Severity::high;
    std::string category;
    std::string reason;
    bool builtin = false;
};

struct PortRule {
    enum class Transport : std::uint8_t { any = 0, tcp = 6, udp = 17 };
    Transport transport = Transport::any;
    std::uint16_t low = 0, high = 0;
    std::string label;
    Severity severity = Severity::medium;
    std::string reason;
    static bool parse(std::string_view transport, std::string_view ports, std::string_view label,
                      std::string_view severity, std::string_view reason, PortRule* out, std::string* error);
    std::string ports_text() const;
};

const char* to_string(PortRule::Transport t);

// One alert class: what a hit reports.
struct Rule {
    std::string protocol;  // protocol filter name, or "port:<label>" for port rules
    std::string category;
    std::string reason;
    Severity severity = Severity::high;
};

struct Policy {
    PolicyMode mode = PolicyMode::deny;
    bool use_defaults = true;
    Severity allowlist_severity = Severity::medium;  // for protocols outside an allow-list
    std::vector<PolicyEntry> entries;                // user entries, in order
    std::vector<PortRule> port_rules;

    static const std::vector<PolicyEntry>& builtin();
    // Validates one user entry (protocol syntax, severity); the error names it.
    static bool make_entry(std::string_view protocol, std::string_view severity, std::string_view reason,
                           PolicyEntry* out, std::string* error);
    // Defaults (when used) overridden by user entries of the same protocol.
    std::vector<PolicyEntry> effective_entries() const;
};

// The policy turned into per-protocol-id lookups. Protocol ids come from the
// adapter's resolver; the core never sees Wireshark.
class CompiledPolicy {
public:
    struct Resolver {
        std::function<int(const std::string&)> id_of;  // filter name -> id, or -1 if unknown
        std::function<std::string(int)> name_of;       // id -> filter name
    };

    // Compiles; every entry whose protocol is unknown gives an error naming it
    // (the entry is skipped, the rest still applies).
    std::vector<std::string> compile(const Policy& policy, const Resolver& resolver);

    // Protocols that dissected a frame, in order; transport 6/17/0 and the
    // frame's last transport ports. Appends the index into rules() of every
    // rule that matches, each once.
    void match(const int* layers, std::size_t n, std::uint8_t transport, std::uint16_t sport, std::uint16_t dport,
               std::vector<std::uint32_t>* hits);
    // The rule of a Triage detector (e.g. kTrackerDetector), if it alerts.
    std::optional<std::uint32_t> detector_rule(const std::string& name);

    const std::vector<Rule>& rules() const { return rules_; }
    const Policy& policy() const { return policy_; }
    // Anything but the built-in deny-list: an allow-list, own entries or
    // port rules (the unwanted statistic then asks for a protocol tree).
    bool customised() const {
        return policy_.mode != PolicyMode::deny || !policy_.use_defaults || !policy_.entries.empty() ||
               !policy_.port_rules.empty();
    }
    std::vector<PolicyEntry> entries_in_force() const { return entries_; }

private:
    static constexpr std::int32_t kNone = -1, kAllowed = -2;
    // What the policy says of one protocol id, in 4 bytes: a frame's layer
    // costs one memory access, not one per fact. (Protocol ids are field
    // ids: this array has a slot for each of Wireshark's ~200k fields.)
    struct Slot {
        std::int32_t rule : 30;       // rule index, kNone or kAllowed
        std::uint32_t transport : 1;  // tcp, udp, sctp, dccp
        std::uint32_t ignored : 1;    // not an application protocol (data, tls, malformed ...)
        Slot() : rule(kNone), transport(0), ignored(0) {}
    };
    static_assert(sizeof(Slot) == 4);
    Slot& slot(int id);
    Policy policy_;
    Resolver resolver_;
    std::vector<PolicyEntry> entries_;
    std::vector<Rule> rules_;
    std::vector<Slot> by_id_;  // by proto id
    IdFilter has_rule_;        // ids whose slot has a rule: most layers have none
    std::vector<std::pair<std::string, std::int32_t>> detectors_;
    std::vector<std::uint32_t> port_rule_index_;  // rules_ index per policy_.port_rules entry
};

}  // namespace triage
