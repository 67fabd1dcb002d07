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
ws::pref_bool g_use_builtin = TRUE;
gint g_allowlist_severity = static_cast<gint>(Severity::medium);
// Off by default, as in Wireshark: Triage changes no Wireshark-wide setting
// unless asked to.
ws::pref_bool g_utp_heuristic = FALSE;
// Counting window (triage-batch): frames outside it are dissected, not counted.
guint g_count_first = 0, g_count_last = 0;
guint g_max_ports = kMaxPortsPerDestination;

const enum_val_t kModeValues[] = {
    {"deny", "Alert on the listed protocols (deny-list)", static_cast<gint>(PolicyMode::deny)},
    {"allow", "Alert on any application protocol not listed (allow-list)", static_cast<gint>(PolicyMode::allow)},
    {nullptr, nullptr, 0}};
const enum_val_t kSeverityValues[] = {{"low", "Low", static_cast<gint>(Severity::low)},
                                      {"medium", "Medium", static_cast<gint>(Severity::medium)},
                                      {"high", "High", static_cast<gint>(Severity::high)},
                                      {"critical", "Critical", static_cast<gint>(Severity::critical)},
                                      {nullptr, nullptr, 0}};

int g_triage_tap = -1;
// Replaced (never modified) when a preference changes; sessions keep the
// snapshot they started with. Made on first use, not as a global: other
// files' globals (the GUI tables) are built while the plugin loads, in an
// order C++ leaves open.
std::shared_ptr<Settings>& settings_now() {
    static std::shared_ptr<Settings> s =
        std::make_shared<Settings>(Settings{EgressConfig::defaults(), {}, std::make_shared<CompiledPolicy>(), {}, {}});
    return s;
}

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

ws::uat_bool proto_rec_update(void* r, char** err) {
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

ws::uat_bool port_rec_update(void* r, char** err) {
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

void compile_policy(Settings* out) {
    Policy p;
    p.mode = static_cast<PolicyMode>(g_mode);
    p.use_defaults = g_use_builtin;
    p.allowlist_severity = static_cast<Severity>(g_allowlist_severity);
    for (guint i = 0; i < g_n_proto_recs; ++i) {
        const ProtoRec& r = g_proto_recs[i];
        PolicyEntry e;
        std::string msg;
        if (Policy::make_entry(s_or_empty(r.protocol), s_or_empty(r.severity), s_or_empty(r.reason), &e, &msg))
            p.entries.push_back(e);
        else
            out->policy_errors.push_back(msg);
    }
    for (guint i = 0; i < g_n_port_recs; ++i) {
        PortRule rule;
        std::string msg;
        if (port_rule_of(&g_port_recs[i], &rule, &msg))
            p.port_rules.push_back(rule);
        else
            out->policy_errors.push_back(msg);
    }
    CompiledPolicy::Resolver resolver{[](const std::string& name) { return proto_get_id_by_filter_name(name.c_str()); },
                                      [](int id) {
                                          const char* n = proto_get_protocol_filter_name(id);
                                          return std::string(n ? n : "?");
                                      }};
    out->policy = std::make_shared<CompiledPolicy>();
    for (std::string& e : out->policy->compile(p, resolver)) out->policy_errors.push_back(std::move(e));
}

void compile_egress(Settings* out) {
    EgressConfig cfg = EgressConfig::defaults();
    std::string err;
    if (!cfg.local_networks.parse(s_or_empty(g_local_networks), &err))
        out->egress_errors.push_back("triage.local_networks: " + err);
    if (!cfg.platform_endpoints.parse(s_or_empty(g_platform_endpoints), &err))
        out->egress_errors.push_back("triage.platform_endpoints: " + err);
    if (!parse_price(s_or_empty(g_price), &cfg.price_per_gb, &err)) {
        out->egress_errors.push_back(err);
        cfg.price_per_gb = 0;
    }
    cfg.max_ports = g_max_ports;
    out->egress = std::move(cfg);
    out->window = FrameWindow{g_count_first, g_count_last};
    out->window_error.clear();
    if (g_count_last && g_count_last < g_count_first)
        out->window_error = "triage.count_last_frame (" + std::to_string(g_count_last) +
                            ") is before triage.count_first_frame (" + std::to_string(g_count_first) + ")";
}

constexpr const char* kUtpHeuristic = "bt_utp_udp";

bool policy_wants_utp(const CompiledPolicy& policy) {
    if (policy.policy().mode != PolicyMode::deny) return false;
    for (const PolicyEntry& e : policy.entries_in_force())
        if (e.protocol == "bt-utp" && e.severity != Severity::allow) return true;
    return false;
}

// Wireshark ships the BitTorrent-over-uTP heuristic disabled (false
// positives); without it uTP is only "data". Triage turns it on only while
// the user's triage.utp_heuristic preference asks for it and the policy
// alerts on bt-utp, and puts back what was there when that stops.
void apply_utp_heuristic(const CompiledPolicy& policy) {
    static bool changed = false, previous = false;
    heur_dtbl_entry_t* h = find_heur_dissector_by_unique_short_name(kUtpHeuristic);
    if (!h) return;
    const bool want = g_utp_heuristic && policy_wants_utp(policy);
    if (want && !changed) {
        previous = h->enabled;
        changed = true;
        h->enabled = TRUE;
    } else if (!want && changed) {
        h->enabled = previous;
        changed = false;
    }
}

std::vector<void (*)(const Settings&)>& hooks() {
    static std::vector<void (*)(const Settings&)> h;
    return h;
}

void recompile(bool egress, bool policy) {
    auto next = std::make_shared<Settings>(*settings_now());
    if (egress) {
        next->egress_errors.clear();
        compile_egress(next.get());
    }
    if (policy) {
        next->policy_errors.clear();
        compile_policy(next.get());
    }
    settings_now() = std::move(next);
    apply_utp_heuristic(*settings_now()->policy);
    for (auto hook : hooks()) hook(*settings_now());
}

void apply_prefs() {
    recompile(true, true);
    report_all(settings_now()->egress_errors);
    report_all(settings_now()->policy_errors);
}

void uat_changed() {
    recompile(false, true);
    report_all(settings_now()->policy_errors);
}

// Entries that can never alert as Wireshark is set up now: user entries in
// `warnings`, built-in ones in `notes`.
void policy_warnings(const CompiledPolicy& policy, std::vector<std::string>* warnings,
                     std::vector<std::string>* notes) {
    if (policy.policy().mode != PolicyMode::deny) return;
    for (const PolicyEntry& e : policy.entries_in_force()) {
        if (e.severity == Severity::allow) continue;
        std::vector<std::string>* out = e.builtin ? notes : warnings;
        const int id = proto_get_id_by_filter_name(e.protocol.c_str());
        if (id >= 0 && !proto_is_protocol_enabled(find_protocol_by_id(id)))
            out->push_back("policy entry \"" + e.protocol +
                           "\": the protocol is disabled in Wireshark (Analyze > Enabled Protocols, or "
                           "--enable-protocol " +
                           e.protocol + "), so it can never alert");
        if (e.protocol == "bt-utp") {
            heur_dtbl_entry_t* h = find_heur_dissector_by_unique_short_name(kUtpHeuristic);
            if (h && !h->enabled)
                out->push_back(
                    "policy entry \"bt-utp\": Wireshark's BitTorrent-over-uTP heuristic is off, so uTP is seen only "
                    "as data; turn it on with -o triage.utp_heuristic:TRUE or --enable-heuristic bt_utp_udp");
        }
    }
}

}  // namespace

int proto_id() {
    return g_proto;
}
int triage_tap() {
    return g_triage_tap;
}
std::shared_ptr<const Settings> snapshot() {
    auto s = std::make_shared<Settings>(*settings_now());
    s->policy_warnings.clear();
    s->policy_notes.clear();
    policy_warnings(*s->policy, &s->policy_warnings, &s->policy_notes);
    return s;
}

void register_protocol() {
    g_proto = proto_register_protocol("Triage", "Triage", "triage");
    module_t* m = prefs_register_protocol(g_proto, ws::guard<apply_prefs>);
    g_triage_tap = register_tap("triage");

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
                                   "Turn on Wireshark's BitTorrent-over-uTP heuristic (bt_utp_udp, off by default in "
                                   "Wireshark because of false positives) while the policy alerts on bt-utp; turning "
                                   "this off puts back the heuristic's previous state",
                                   &g_utp_heuristic);
    prefs_register_enum_preference(m, "allowlist_severity", "Allow-list alert severity",
                                   "Severity of alerts for protocols outside the allow-list", &g_allowlist_severity,
                                   kSeverityValues, FALSE);

    static uat_field_t proto_fields[] = {
        UAT_FLD_CSTRING(triage_proto, protocol, "Protocol", "Wireshark filter name, e.g. telnet, bittorrent, ftp"),
        UAT_FLD_CSTRING(triage_proto, severity, "Severity", "allow, low, medium, high or critical"),
        UAT_FLD_CSTRING(triage_proto, reason, "Reason", "Why it is unwanted (shown in alerts)"), UAT_END_FIELDS};
    uat_t* proto_uat =
        uat_new("Triage unwanted protocols", sizeof(ProtoRec), "triage_unwanted_protocols", TRUE, &g_proto_recs,
                &g_n_proto_recs, UAT_AFFECTS_DISSECTION, nullptr, proto_rec_copy, ws::guard<proto_rec_update>,
                proto_rec_free, ws::guard<uat_changed>, nullptr, proto_fields);
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
                              &g_n_port_recs, UAT_AFFECTS_DISSECTION, nullptr, port_rec_copy,
                              ws::guard<port_rec_update>, port_rec_free, ws::guard<uat_changed>, nullptr, port_fields);
    prefs_register_uat_preference(m, "port_rules", "Port rules",
                                  "Ports to alert on when Wireshark does not identify the protocol", port_uat);

    prefs_register_static_text_preference(m, "output_heading", "Output and batch jobs",
                                          "How much the JSON lists; the counting window triage-batch sets");
    prefs_register_uint_preference(m, "egress_max_ports", "Ports listed per destination",
                                   "How many destination ports each destination lists, most bytes first (the rest "
                                   "are counted in ports_omitted); 0 lists all",
                                   10, &g_max_ports);
    prefs_register_uint_preference(m, "count_first_frame", "First counted frame",
                                   "Frames before this one are context: dissected and tracked (a handshake or an FTP "
                                   "session that began there is recognised), never counted; 0 or 1: from the start. "
                                   "triage-batch sets it for the tail of the previous file it prepends",
                                   10, &g_count_first);
    prefs_register_uint_preference(m, "count_last_frame", "Last counted frame",
                                   "Frames after this one are context (they can complete a counted handshake), never "
                                   "counted; 0: to the end. triage-batch sets it for the head of the next file it "
                                   "appends",
                                   10, &g_count_last);
}

void on_change(void (*hook)(const Settings&)) {
    hooks().push_back(hook);
    if (settings_now()) hook(*settings_now());
}

void register_handoff() {
    // Prefs may never be applied when no preference is set: compile once here.
    recompile(true, true);
}

}  // namespace triage::prefs
