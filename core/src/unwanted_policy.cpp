#include "triage/unwanted_policy.hpp"

#include <algorithm>
#include <cctype>

namespace triage {

const char* to_string(Severity s) {
    switch (s) {
        case Severity::allow:
            return "allow";
        case Severity::low:
            return "low";
        case Severity::medium:
            return "medium";
        case Severity::high:
            return "high";
        case Severity::critical:
            return "critical";
    }
    return "?";
}

std::optional<Severity> parse_severity(std::string_view text) {
    std::string t;
    for (char c : text)
        if (!std::isspace(static_cast<unsigned char>(c)))
            t += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (Severity s : {Severity::allow, Severity::low, Severity::medium, Severity::high, Severity::critical})
        if (t == to_string(s)) return s;
    return std::nullopt;
}

const char* to_string(PortRule::Transport t) {
    switch (t) {
        case PortRule::Transport::tcp:
            return "tcp";
        case PortRule::Transport::udp:
            return "udp";
        case PortRule::Transport::any:
            return "any";
    }
    return "?";
}

namespace {

std::string trimmed(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return std::string(s);
}

bool parse_port(const std::string& s, std::uint16_t* out) {
    if (s.empty() || s.size() > 5 || s.find_first_not_of("0123456789") != std::string::npos) return false;
    const unsigned long v = std::stoul(s);
    if (v > 65535) return false;
    *out = static_cast<std::uint16_t>(v);
    return true;
}

bool valid_protocol_name(const std::string& p) {
    if (p.empty() || p.size() > 64) return false;
    for (char c : p)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) return false;
    return true;
}

}  // namespace

bool PortRule::parse(std::string_view transport, std::string_view ports, std::string_view label,
                     std::string_view severity, std::string_view reason, PortRule* out, std::string* error) {
    PortRule r;
    const std::string t = trimmed(transport), p = trimmed(ports), l = trimmed(label);
    const std::string what = "port rule \"" + t + " " + p + " " + l + "\"";
    if (t == "tcp")
        r.transport = Transport::tcp;
    else if (t == "udp")
        r.transport = Transport::udp;
    else if (t == "any" || t.empty())
        r.transport = Transport::any;
    else {
        *error = what + ": transport must be tcp, udp or any, not \"" + t + "\"";
        return false;
    }
    const auto dash = p.find('-');
    const std::string lo = trimmed(p.substr(0, dash));
    const std::string hi = dash == std::string::npos ? lo : trimmed(p.substr(dash + 1));
    if (!parse_port(lo, &r.low) || !parse_port(hi, &r.high) || r.low > r.high) {
        *error = what + ": ports must be a port or a range like 6881-6889 within 0-65535, not \"" + p + "\"";
        return false;
    }
    if (l.empty()) {
        *error = what + ": the label is empty";
        return false;
    }
    r.label = l;
    const auto sev = parse_severity(severity);
    if (!sev) {
        *error = what + ": severity must be allow, low, medium, high or critical, not \"" + trimmed(severity) + "\"";
        return false;
    }
    r.severity = *sev;
    r.reason = trimmed(reason);
    *out = r;
    return true;
}

std::string PortRule::ports_text() const {
    return low == high ? std::to_string(low) : std::to_string(low) + "-" + std::to_string(high);
}

bool is_tracker_request(std::string_view bytes) {
    for (std::size_t pos = bytes.find("GET /"); pos != std::string_view::npos; pos = bytes.find("GET /", pos + 1)) {
        std::string_view line = bytes.substr(pos + 4);
        const std::size_t eol = line.find_first_of("\r\n ");
        if (eol != std::string_view::npos) line = line.substr(0, eol);
        const std::size_t q = line.find('?');
        if (q == std::string_view::npos) continue;
        const std::string_view path = line.substr(0, q);
        auto ends_with = [&](std::string_view suffix) {
            return path.size() >= suffix.size() && path.substr(path.size() - suffix.size()) == suffix;
        };
        if (!ends_with("/announce") && !ends_with("/scrape") && !ends_with("/announce.php") &&
            !ends_with("/scrape.php"))
            continue;
        const std::string_view query = line.substr(q + 1);
        if (query.substr(0, 10) == "info_hash=" || query.find("&info_hash=") != std::string_view::npos) return true;
    }
    return false;
}

const std::vector<PolicyEntry>& Policy::builtin() {
    static const std::vector<PolicyEntry> list = [] {
        struct Row {
            const char* p;
            Severity s;
            const char* c;
            const char* r;
        };
        const Row rows[] = {
            {"bittorrent", Severity::high, "p2p",
             "BitTorrent peer-wire file sharing: copyright, malware and bandwidth risk"},
            {"bt-dht", Severity::high, "p2p", "BitTorrent DHT peer discovery"},
            {"bt-utp", Severity::high, "p2p", "BitTorrent over uTP (UDP)"},
            {kTrackerDetector, Severity::high, "p2p", "BitTorrent tracker announce/scrape over HTTP"},
            {"edonkey", Severity::high, "p2p", "eDonkey/eMule file sharing"},
            {"gnutella", Severity::high, "p2p", "Gnutella file sharing"},
            {"telnet", Severity::critical, "cleartext-login",
             "Telnet carries logins and sessions in clear text; use SSH"},
            {"rlogin", Severity::critical, "cleartext-login", "rlogin: clear-text, host-trust based login; use SSH"},
            {"rsh", Severity::critical, "cleartext-login", "rsh: clear-text remote shell; use SSH"},
            {"exec", Severity::critical, "cleartext-login",
             "rexec: clear-text remote execution with password; use SSH"},
            {"ftp", Severity::high, "cleartext-file-transfer",
             "FTP sends credentials and files in clear text; use SFTP or FTPS"},
            {"ftp-data", Severity::high, "cleartext-file-transfer", "FTP data connection (clear-text file transfer)"},
            {"tftp", Severity::high, "cleartext-file-transfer", "TFTP: unauthenticated file transfer"},
            {"portmap", Severity::high, "rpc-exposure",
             "RPC portmapper/rpcbind (port 111): maps RPC services, a DDoS reflector"},
            {"mount", Severity::medium, "rpc-exposure", "NFS MOUNT protocol: file systems exported over the network"},
            {"nfs", Severity::medium, "file-sharing", "NFS file access: should not cross the VM's network boundary"},
            {"irc", Severity::medium, "chat", "IRC: chat protocol, a common botnet command-and-control channel"},
            {"snmp", Severity::medium, "cleartext-management", "SNMP v1/v2c community strings travel in clear text"},
            {"x11", Severity::medium, "remote-display", "X11 over the network: clear-text display and keystrokes"},
            {"vnc", Severity::medium, "remote-desktop", "VNC: weak authentication, often unencrypted"},
            {"socks", Severity::medium, "proxy", "SOCKS proxy: may tunnel traffic around policy"},
            {"smb2", Severity::low, "file-sharing", "SMB file sharing: should not cross the VM's network boundary"},
        };
        std::vector<PolicyEntry> v;
        for (const Row& r : rows) v.push_back(PolicyEntry{r.p, r.s, r.c, r.r, true});
        return v;
    }();
    return list;
}

bool Policy::make_entry(std::string_view protocol, std::string_view severity, std::string_view reason, PolicyEntry* out,
                        std::string* error) {
    PolicyEntry e;
    e.protocol = trimmed(protocol);
    std::transform(e.protocol.begin(), e.protocol.end(), e.protocol.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (!valid_protocol_name(e.protocol)) {
        *error = "policy entry \"" + trimmed(protocol) + "\": not a protocol filter name (letters, digits, - _ .)";
        return false;
    }
    const auto sev = parse_severity(severity);
    if (!sev) {
        *error = "policy entry \"" + e.protocol + "\": severity must be allow, low, medium, high or critical, not \"" +
                 trimmed(severity) + "\"";
        return false;
    }
    e.severity = *sev;
    e.reason = trimmed(reason);
    e.category = "policy";
    *out = e;
    return true;
}

std::vector<PolicyEntry> Policy::effective_entries() const {
    std::vector<PolicyEntry> out;
    if (use_defaults && mode == PolicyMode::deny) out = builtin();
    for (const PolicyEntry& e : entries) {
        auto it = std::find_if(out.begin(), out.end(), [&](const PolicyEntry& x) { return x.protocol == e.protocol; });
        PolicyEntry merged = e;
        if (it != out.end()) {
            if (merged.reason.empty()) merged.reason = it->reason;
            merged.category = it->category;
            *it = merged;
        } else {
            out.push_back(merged);
        }
    }
    return out;
}

CompiledPolicy::Slot& CompiledPolicy::slot(int id) {
    if (static_cast<std::size_t>(id) >= by_id_.size()) by_id_.resize(static_cast<std::size_t>(id) + 1);
    return by_id_[static_cast<std::size_t>(id)];
}

std::vector<std::string> CompiledPolicy::compile(const Policy& policy, const Resolver& resolver) {
    std::vector<std::string> errors;
    policy_ = policy;
    resolver_ = resolver;
    entries_.clear();
    rules_.clear();
    by_id_.clear();
    has_rule_.clear();
    detectors_.clear();
    port_rule_index_.clear();

    for (const char* t : {"tcp", "udp", "sctp", "dccp"})
        if (const int id = resolver.id_of(t); id >= 0) slot(id).transport = 1;
    // Not application protocols: undissected payload, and layers of TCP/TLS plumbing.
    for (const char* t : {"data", "tls", "ssl", "dtls", "malformed", "_ws.malformed", "_ws.short"})
        if (const int id = resolver.id_of(t); id >= 0) slot(id).ignored = 1;

    for (const PolicyEntry& e : policy.effective_entries()) {
        const bool detector = e.protocol == kTrackerDetector;
        const int id = detector ? -1 : resolver.id_of(e.protocol);
        if (!detector && id < 0) {
            errors.push_back("policy entry \"" + e.protocol +
                             "\": no such protocol in Wireshark (use a filter name from tshark -G protocols" +
                             std::string(", or ") + kTrackerDetector + ")");
            continue;
        }
        entries_.push_back(e);
        std::int32_t value = kAllowed;
        if (e.severity != Severity::allow && policy.mode == PolicyMode::deny) {
            rules_.push_back(Rule{e.protocol, e.category, e.reason, e.severity});
            value = static_cast<std::int32_t>(rules_.size() - 1);
        } else if (e.severity != Severity::allow) {
            // In allow-list mode every entry names an allowed protocol.
            value = kAllowed;
        }
        if (detector) {
            detectors_.emplace_back(e.protocol, value);
        } else {
            slot(id).rule = value;
            if (value >= 0) has_rule_.add(id);
        }
    }
    for (const PortRule& p : policy.port_rules) {
        rules_.push_back(Rule{
            "port:" + p.label, "port-rule",
            p.reason.empty() ? std::string(to_string(p.transport)) + " port " + p.ports_text() : p.reason, p.severity});
        port_rule_index_.push_back(static_cast<std::uint32_t>(rules_.size() - 1));
    }
    return errors;
}

void CompiledPolicy::match(const int* layers, std::size_t n, std::uint8_t transport, std::uint16_t sport,
                           std::uint16_t dport, std::vector<std::uint32_t>* hits) {
    // Each rule once per frame, however many layers carry its protocol
    // (tunnels, an RPC program named twice).
    const auto hit = [hits](std::uint32_t rule) {
        if (std::find(hits->begin(), hits->end(), rule) == hits->end()) hits->push_back(rule);
    };
    if (policy_.mode == PolicyMode::deny && policy_.port_rules.empty()) {
        // A deny-list without port rules (the default) looks at each
        // protocol's rule only: which layers are application protocols
        // matters to the allow-list and the port rules alone.
        for (std::size_t i = 0; i < n; ++i) {
            if (!has_rule_.maybe(layers[i])) continue;
            const auto uid = static_cast<std::size_t>(layers[i]);  // a negative id: past the end
            if (uid < by_id_.size() && by_id_[uid].rule >= 0) hit(static_cast<std::uint32_t>(by_id_[uid].rule));
        }
        return;
    }
    bool above_transport = false, app_seen = false;
    for (std::size_t i = 0; i < n; ++i) {
        const int id = layers[i];
        if (id < 0) continue;
        const auto uid = static_cast<std::size_t>(id);
        const Slot s = uid < by_id_.size() ? by_id_[uid] : Slot{};
        const bool is_transport = s.transport != 0, ignored = s.ignored != 0;
        const std::int32_t v = s.rule;
        if (above_transport && !is_transport && !ignored) app_seen = true;
        if (v >= 0) {
            hit(static_cast<std::uint32_t>(v));
        } else if (v == kNone && policy_.mode == PolicyMode::allow && above_transport && !is_transport && !ignored) {
            const std::string name = resolver_.name_of ? resolver_.name_of(id) : std::to_string(id);
            rules_.push_back(
                Rule{name, "not-allowed", "application protocol not in the allow-list", policy_.allowlist_severity});
            slot(id).rule = static_cast<std::int32_t>(rules_.size() - 1);
            has_rule_.add(id);
            hit(static_cast<std::uint32_t>(rules_.size() - 1));
        }
        if (is_transport) above_transport = true;
    }
    // Port rules are for traffic that Wireshark did not identify.
    if (app_seen || transport == 0) return;
    for (std::size_t i = 0; i < policy_.port_rules.size(); ++i) {
        const PortRule& p = policy_.port_rules[i];
        if (p.severity == Severity::allow) continue;
        if (p.transport != PortRule::Transport::any && static_cast<std::uint8_t>(p.transport) != transport) continue;
        if ((sport >= p.low && sport <= p.high) || (dport >= p.low && dport <= p.high)) hit(port_rule_index_[i]);
    }
}

std::optional<std::uint32_t> CompiledPolicy::detector_rule(const std::string& name) {
    for (const auto& [n, v] : detectors_)
        if (n == name) return v >= 0 ? std::optional<std::uint32_t>(static_cast<std::uint32_t>(v)) : std::nullopt;
    if (policy_.mode == PolicyMode::allow) {
        rules_.push_back(
            Rule{name, "not-allowed", "application protocol not in the allow-list", policy_.allowlist_severity});
        detectors_.emplace_back(name, static_cast<std::int32_t>(rules_.size() - 1));
        return static_cast<std::uint32_t>(rules_.size() - 1);
    }
    return std::nullopt;
}

}  // namespace triage
