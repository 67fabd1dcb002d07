// Preferences: Edit > Preferences > Protocols > Triage, `-o triage.*`, and the
// UAT tables "triage_unwanted_protocols" and "triage_port_rules".
#include "plugins/prefs.hpp"

#include <cstring>

#include "plugins/ws.hpp"
#include "triage/args.hpp"

namespace triage::prefs {
namespace {

int g_proto = -1;

// Preference storage (Wireshark owns the strings).
const char* g_local_networks = kDefaultLocalNetworks;
const char* g_platform_endpoints = kDefaultPlatformEndpoints;
const char* g_price = "0";
gint g_mode = static_cast<gint>(PolicyMode::deny);
gboolean g_use_builtin = TRUE;
gint g_allowlist_severity = static_cast<gint>(Severity::medium);
gboolean g_utp_heuristic = TRUE;

const enum_val_t kModeValues[] = {
    {"deny", "Alert on the listed protocols (deny-list)", static_cast<gint>(PolicyMode::deny)},
    {"allow", "Alert on any application protocol not listed (allow-list)", static_cast<gint>(PolicyMode::allow)},
    {nullptr, nullptr, 0}};
const enum_val_t kSeverityValues[] = {{"low", "Low", static_cast<gint>(Severity::low)},
                                      {"medium", "Medium", static_cast<gint>(Severity::medium)},
                                      {"high", "High", static_cast<gint>(Severity::high)},
                                      {"critical", "Critical", static_cast<gint>(Severity::critical)},
                                      {nullptr, nullptr, 0}};

EgressConfig g_egress = EgressConfig::defaults();
std::vector<std::string> g_egress_errors;
CompiledPolicy g_policy;
std::vector<std::string> g_policy_errors;
unsigned g_generation = 0;

// ---- UAT: unwanted protocols -------------------------------------------
struct ProtoRec {
    char* protocol;
    char* severity;
    char* reason;
};
ProtoRec* g_proto_recs = nullptr;
guint g_n_proto_recs = 0;

UAT_CSTRING_CB_DEF(triage_proto, protocol, ProtoRec)
UAT_CSTRING_CB_DEF(triage_proto, severity, ProtoRec)
UAT_CSTRING_CB_DEF(triage_proto, reason, ProtoRec)

void* proto_rec_copy(void* dst, const void* src, size_t) {
    auto* d = static_cast<ProtoRec*>(dst);
    const auto* s = static_cast<const ProtoRec*>(src);
    d->protocol = g_strdup(s->protocol);
    d->severity = g_strdup(s->severity);
    d->reason = g_strdup(s->reason);
    return d;
}

void proto_rec_free(void* r) {
    auto* p = static_cast<ProtoRec*>(r);
    g_free(p->protocol);
    g_free(p->severity);
    g_free(p->reason);
}

gboolean proto_rec_update(void* r, char** err) {
    const auto* p = static_cast<const ProtoRec*>(r);
    PolicyEntry e;
    std::string msg;
    if (!Policy::make_entry(p->protocol ? p->protocol : "", p->severity ? p->severity : "", p->reason ? p->reason : "",
                            &e, &msg)) {
        *err = g_strdup(msg.c_str());
        return FALSE;
    }
    if (e.protocol != kTrackerDetector && proto_get_id_by_filter_name(e.protocol.c_str()) < 0) {
        *err = g_strdup_printf(
            "policy entry \"%s\": no such protocol in Wireshark (use a filter name from "
            "tshark -G protocols, or %s)",
            e.protocol.c_str(), kTrackerDetector);
        return FALSE;
    }
    return TRUE;
}

// ---- UAT: port rules ----------------------------------------------------
struct PortRec {
    char* transport;
    char* ports;
    char* label;
    char* severity;
    char* reason;
};
PortRec* g_port_recs = nullptr;
guint g_n_port_recs = 0;

UAT_CSTRING_CB_DEF(triage_port, transport, PortRec)
UAT_CSTRING_CB_DEF(triage_port, ports, PortRec)
UAT_CSTRING_CB_DEF(triage_port, label, PortRec)
UAT_CSTRING_CB_DEF(triage_port, severity, PortRec)
UAT_CSTRING_CB_DEF(triage_port, reason, PortRec)

void* port_rec_copy(void* dst, const void* src, size_t) {
    auto* d = static_cast<PortRec*>(dst);
    const auto* s = static_cast<const PortRec*>(src);
    d->transport = g_strdup(s->transport);
    d->ports = g_strdup(s->ports);
    d->label = g_strdup(s->label);
    d->severity = g_strdup(s->severity);
    d->reason = g_strdup(s->reason);
    return d;
}

void port_rec_free(void* r) {
    auto* p = static_cast<PortRec*>(r);
    g_free(p->transport);
    g_free(p->ports);
    g_free(p->label);
    g_free(p->severity);
    g_free(p->reason);
}

const char* s_or_empty(const char* s) {
    return s ? s : "";
}

bool port_rule_of(const PortRec* p, PortRule* out, std::string* msg) {
    return PortRule::parse(s_or_empty(p->transport), s_or_empty(p->ports), s_or_empty(p->label),
                           s_or_empty(p->severity), s_or_empty(p->reason), out, msg);
}

gboolean port_rec_update(void* r, char** err) {
    PortRule rule;
    std::string msg;
    if (!port_rule_of(static_cast<const PortRec*>(r), &rule, &msg)) {
        *err = g_strdup(msg.c_str());
        return FALSE;
    }
    return TRUE;
}

// ---- Compilation ----------------------------------------------------------
void report_all(const std::vector<std::string>& errors) {
    for (const std::string& e : errors) report_failure("Triage: %s", e.c_str());
}

void compile_policy() {
    Policy p;
    p.mode = static_cast<PolicyMode>(g_mode);
    p.use_defaults = g_use_builtin;
    p.allowlist_severity = static_cast<Severity>(g_allowlist_severity);
    g_policy_errors.clear();
    for (guint i = 0; i < g_n_proto_recs; ++i) {
        const ProtoRec& r = g_proto_recs[i];
        PolicyEntry e;
        std::string msg;
        if (Policy::make_entry(s_or_empty(r.protocol), s_or_empty(r.severity), s_or_empty(r.reason), &e, &msg))
            p.entries.push_back(e);
        else
            g_policy_errors.push_back(msg);
    }
    for (guint i = 0; i < g_n_port_recs; ++i) {
        PortRule rule;
        std::string msg;
        if (port_rule_of(&g_port_recs[i], &rule, &msg))
            p.port_rules.push_back(rule);
        else
            g_policy_errors.push_back(msg);
    }
    CompiledPolicy::Resolver resolver{[](const std::string& name) { return proto_get_id_by_filter_name(name.c_str()); },
                                      [](int id) {
                                          const char* n = proto_get_protocol_filter_name(id);
                                          return std::string(n ? n : "?");
                                      }};
    for (std::string& e : g_policy.compile(p, resolver)) g_policy_errors.push_back(std::move(e));
    ++g_generation;
}

void compile_egress() {
    g_egress_errors.clear();
    EgressConfig cfg = EgressConfig::defaults();
    std::string err;
    if (!cfg.local_networks.parse(s_or_empty(g_local_networks), &err))
        g_egress_errors.push_back("triage.local_networks: " + err);
    if (!cfg.platform_endpoints.parse(s_or_empty(g_platform_endpoints), &err))
        g_egress_errors.push_back("triage.platform_endpoints: " + err);
    if (!parse_price(s_or_empty(g_price), &cfg.price_per_gb, &err)) {
        g_egress_errors.push_back(err);
        cfg.price_per_gb = 0;
    }
    g_egress = std::move(cfg);
}

// Wireshark ships the BitTorrent-over-uTP heuristic disabled; without it uTP
// is only "data". Enable it when the policy alerts on bt-utp (preference).
void enable_utp_heuristic() {
    if (!g_utp_heuristic || g_mode != static_cast<gint>(PolicyMode::deny)) return;
    bool wanted = false;
    for (const PolicyEntry& e : g_policy.entries_in_force())
        wanted = wanted || (e.protocol == "bt-utp" && e.severity != Severity::allow);
    if (!wanted) return;
    if (heur_dtbl_entry_t* h = find_heur_dissector_by_unique_short_name("bt_utp_udp")) h->enabled = TRUE;
}

void apply_prefs() {
    compile_egress();
    compile_policy();
    enable_utp_heuristic();
    report_all(g_egress_errors);
    report_all(g_policy_errors);
}

void uat_changed() {
    compile_policy();
    enable_utp_heuristic();
    report_all(g_policy_errors);
}

}  // namespace

int proto_id() {
    return g_proto;
}
const EgressConfig& egress_config() {
    return g_egress;
}
const std::vector<std::string>& egress_errors() {
    return g_egress_errors;
}
CompiledPolicy& policy() {
    return g_policy;
}
const std::vector<std::string>& policy_errors() {
    return g_policy_errors;
}
unsigned policy_generation() {
    return g_generation;
}

void register_protocol() {
    g_proto = proto_register_protocol("Triage", "Triage", "triage");
    module_t* m = prefs_register_protocol(g_proto, apply_prefs);

    prefs_register_static_text_preference(m, "egress_heading", "Outbound volume (-z triage_egress)",
                                          "Settings of the Outbound Volume statistic");
    prefs_register_string_preference(
        m, "local_networks", "Local networks",
        "Comma-separated IPv4/IPv6 CIDRs of your own networks. Traffic from them to anywhere else is outbound "
        "external (billed egress). Default: RFC 1918, 100.64.0.0/10, 169.254.0.0/16, loopback, fc00::/7, fe80::/10.",
        &g_local_networks);
    prefs_register_string_preference(
        m, "platform_endpoints", "Cloud platform endpoints",
        "Comma-separated CIDRs of cloud platform endpoints that are not billed egress (scope \"platform\"). "
        "Default: 169.254.169.254 (instance metadata), 168.63.129.16 (Azure wire server), fd00:ec2::254.",
        &g_platform_endpoints);
    prefs_register_string_preference(m, "egress_price_per_gb", "Egress price per GB",
                                     "Price of one GB (10^9 IP bytes) of external egress; 0 hides the estimated cost",
                                     &g_price);

    prefs_register_static_text_preference(m, "unwanted_heading", "Unwanted protocols (-z triage_unwanted)",
                                          "Settings of the Unwanted Protocols alerts");
    prefs_register_enum_preference(m, "unwanted_mode", "Policy mode",
                                   "deny: alert on the protocols in the policy; allow: alert on every application "
                                   "protocol that the policy table does not list",
                                   &g_mode, kModeValues, FALSE);
    prefs_register_bool_preference(m, "unwanted_builtin", "Use the built-in deny-list",
                                   "Start from Triage's built-in list of commonly unwanted protocols (deny mode); "
                                   "table entries override it, severity \"allow\" removes an entry",
                                   &g_use_builtin);
    prefs_register_bool_preference(m, "utp_heuristic", "Detect BitTorrent over uTP",
                                   "Enable Wireshark's BitTorrent uTP heuristic (off by default in Wireshark) while "
                                   "the policy alerts on bt-utp",
                                   &g_utp_heuristic);
    prefs_register_enum_preference(m, "allowlist_severity", "Allow-list alert severity",
                                   "Severity of alerts for protocols outside the allow-list", &g_allowlist_severity,
                                   kSeverityValues, FALSE);

    static uat_field_t proto_fields[] = {
        UAT_FLD_CSTRING(triage_proto, protocol, "Protocol", "Wireshark filter name, e.g. telnet, bittorrent, ftp"),
        UAT_FLD_CSTRING(triage_proto, severity, "Severity", "allow, low, medium, high or critical"),
        UAT_FLD_CSTRING(triage_proto, reason, "Reason", "Why it is unwanted (shown in alerts)"), UAT_END_FIELDS};
    uat_t* proto_uat = uat_new("Triage unwanted protocols", sizeof(ProtoRec), "triage_unwanted_protocols", TRUE,
                               &g_proto_recs, &g_n_proto_recs, UAT_AFFECTS_DISSECTION, nullptr, proto_rec_copy,
                               proto_rec_update, proto_rec_free, uat_changed, nullptr, proto_fields);
    prefs_register_uat_preference(m, "unwanted_protocols", "Unwanted protocols",
                                  "Protocols the policy forbids (deny mode) or allows (allow mode)", proto_uat);

    static uat_field_t port_fields[] = {
        UAT_FLD_CSTRING(triage_port, transport, "Transport", "tcp, udp or any"),
        UAT_FLD_CSTRING(triage_port, ports, "Ports", "A port or a range, e.g. 6881-6889"),
        UAT_FLD_CSTRING(triage_port, label, "Label", "Name shown in alerts as port:<label>"),
        UAT_FLD_CSTRING(triage_port, severity, "Severity", "allow, low, medium, high or critical"),
        UAT_FLD_CSTRING(triage_port, reason, "Reason", "Why it is unwanted"),
        UAT_END_FIELDS};
    uat_t* port_uat = uat_new("Triage port rules", sizeof(PortRec), "triage_port_rules", TRUE, &g_port_recs,
                              &g_n_port_recs, UAT_AFFECTS_DISSECTION, nullptr, port_rec_copy, port_rec_update,
                              port_rec_free, uat_changed, nullptr, port_fields);
    prefs_register_uat_preference(m, "port_rules", "Port rules",
                                  "Ports to alert on when Wireshark does not identify the protocol", port_uat);
}

void register_handoff() {
    // Prefs may never be applied when no preference is set: compile once here.
    compile_egress();
    compile_policy();
    enable_utp_heuristic();
}

}  // namespace triage::prefs
