// Unwanted protocols: listens to Triage's own tap, whose FrameRecord carries
// the policy rules that hit the frame (matched once, by the postdissector,
// which also marks them as triage.unwanted fields: -Y triage.unwanted selects
// exactly the frames counted here). Each session owns its settings snapshot.
//
// Counts must not depend on what else runs: some dissectors (HTTP in 4.0)
// dissect differently without a protocol tree, so a session whose policy is
// customised asks for one. The built-in deny-list's protocols dissect the same
// either way (tested on every capture, alone and with -Y, -V, io,phs), so the
// default policy runs without the cost of a tree. The tree form (and the GUI
// dialog) always has one.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "plugins/prefs.hpp"
#include "plugins/ws.hpp"
#include "tap/cli_forms.hpp"
#include "tap/table_stat.hpp"
#include "tap/taps.hpp"
#include "triage/frame_record.hpp"

namespace triage::tap {
namespace {

// The tree form's listener flags are read when a dialog or -z starts: they
// follow the policy, so the built-in deny-list costs no protocol tree there
// either.
void tree_flags_follow(const prefs::Settings& settings) {
    if (stats_tree_cfg* cfg = stats_tree_get_cfg_by_abbr("triage_unwanted"))
        cfg->flags = settings.policy->customised() ? TL_REQUIRES_PROTO_TREE : TL_REQUIRES_NOTHING;
}

// The record's hits, if they were matched against this session's policy.
const FrameRecord* record_for(const void* data, const prefs::Settings& settings, AnomalyLog* anomalies) {
    const auto* r = static_cast<const FrameRecord*>(data);
    if (!r) return nullptr;
    if (r->policy() != settings.policy.get()) {
        // The policy changed while this session ran without a retap: its
        // rule numbers mean something else. Say so rather than miscount.
        anomalies->add("policy_changed", r->frame, "the policy changed during the run; frame not counted");
        return nullptr;
    }
    return r;
}

void warn_policy(const char* stat, const prefs::Settings& settings) {
    for (const std::string& w : settings.policy_warnings) std::fprintf(stderr, "%s: warning: %s\n", stat, w.c_str());
}

struct Session {
    std::string form;
    std::shared_ptr<const prefs::Settings> settings;
    AlertTracker tracker;
};

void session_reset(void* p) {
    auto* s = static_cast<Session*>(p);
    s->settings = prefs::snapshot();
    s->tracker.clear();
}

// One frame into a tracker: its time always, its policy hits inside the
// counting window. True: the frame hit a rule.
bool feed(AlertTracker& tracker, const prefs::Settings& settings, const void* data) {
    const auto* raw = static_cast<const FrameRecord*>(data);
    if (!raw) return false;
    const bool counted = settings.window.contains(raw->frame);
    tracker.frame_time(raw->frame, raw->time, counted);
    if (!counted) return false;
    const FrameRecord* r = record_for(data, settings, &tracker.anomalies_mut());
    if (!r || r->hits().empty()) return false;
    const FrameInfo f = r->alert_frame();
    for (std::uint32_t rule : r->hits()) tracker.hit(rule, f);
    return true;
}

tap_packet_status session_packet(void* p, packet_info*, epan_dissect_t*, const void* data, tap_flags_t) {
    auto* s = static_cast<Session*>(p);
    return feed(s->tracker, *s->settings, data) ? TAP_PACKET_REDRAW : TAP_PACKET_DONT_REDRAW;
}

void session_draw(void* p) {
    auto* s = static_cast<Session*>(p);
    const prefs::Settings& cfg = *s->settings;
    std::vector<std::string> warnings = cfg.policy_warnings;
    warnings.insert(warnings.end(), cfg.policy_notes.begin(), cfg.policy_notes.end());
    const std::string out =
        unwanted_json(*cfg.policy, s->tracker, cfg.policy_errors, warnings, cfg.policy->customised());
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fflush(stdout);
    warn_policy("triage_unwanted", cfg);
    warn_anomalies("triage_unwanted", s->tracker.anomalies());
}

void session_finish(void* p) {
    delete static_cast<Session*>(p);
}

std::string start_session(const StatArg& arg) {
    auto settings = prefs::snapshot();
    if (!settings->window_error.empty()) return "triage_unwanted: " + settings->window_error;
    if (!settings->policy_errors.empty()) {
        std::string msg = "triage_unwanted: the policy has errors:";
        for (const std::string& e : settings->policy_errors) msg += "\n  " + e;
        return msg;
    }
    auto* s = new Session{arg.form, settings, {}};
    const guint flags = settings->policy->customised() ? TL_REQUIRES_PROTO_TREE : TL_REQUIRES_NOTHING;
    const std::string err = attach("triage", s, arg.filter, flags, ws::guard<session_reset>, ws::guard<session_packet>,
                                   ws::guard<session_draw>, ws::guard<session_finish>);
    if (!err.empty()) {
        delete s;
        return "triage_unwanted: " + err;
    }
    return {};
}

// ---- stats_tree -------------------------------------------------------------
constexpr const char* kAlerts = "Unwanted protocols (frames)";
constexpr const char* kErrors = "Policy errors";
constexpr const char* kWarnings = "Policy warnings";

// Created by tree_init, which Wireshark calls again on every retap.
// Host pairs listed per protocol (stats_tree's O(n^2) appends, see the
// other trees); the rest are summed in one node. The JSON form lists all.
constexpr std::size_t kTreeHostPairs = 500;
constexpr const char* kOtherPairs = "other host pairs (all: -z triage_unwanted,json)";

struct TreeState {
    std::shared_ptr<const prefs::Settings> settings;
    AnomalyLog anomalies;
    int alerts = 0;
    std::unordered_map<std::string, std::size_t> pairs;  // per protocol node name: pairs listed
    std::unordered_set<std::string> listed;              // "<protocol node>\n<pair>"
};
TreeStates<TreeState> g_trees;

void tree_init(stats_tree* st) {
    auto state = std::make_unique<TreeState>();
    state->settings = prefs::snapshot();
    state->alerts = stats_tree_create_node(st, kAlerts, 0, STAT_DT_INT, TRUE);
    for (auto [title, list] :
         {std::pair{kErrors, &state->settings->policy_errors}, std::pair{kWarnings, &state->settings->policy_warnings},
          std::pair{kWarnings, &state->settings->policy_notes}}) {
        if (list->empty()) continue;
        const int e = stats_tree_create_node(st, title, 0, STAT_DT_INT, TRUE);
        for (const std::string& msg : *list) stats_tree_create_node(st, msg.c_str(), e, STAT_DT_INT, FALSE);
    }
    g_trees.put(st, std::move(state));
}

void tree_cleanup(stats_tree* st) {
    g_trees.erase(st);
}

tap_packet_status tree_packet(stats_tree* st, packet_info*, epan_dissect_t*, const void* data, tap_flags_t) {
    TreeState* state = g_trees.find(st);
    if (!state) return TAP_PACKET_DONT_REDRAW;
    TreeState& s = *state;
    const auto* raw = static_cast<const FrameRecord*>(data);
    if (raw && !s.settings->window.contains(raw->frame)) return TAP_PACKET_DONT_REDRAW;
    const FrameRecord* r = record_for(data, *s.settings, &s.anomalies);
    if (!r || r->hits().empty()) return TAP_PACKET_DONT_REDRAW;
    const FrameInfo f = r->alert_frame();
    const auto& rules = s.settings->policy->rules();
    tick_stat_node(st, kAlerts, 0, TRUE);
    for (std::uint32_t h : r->hits()) {
        const Rule& rule = rules[h];
        const std::string name = rule.protocol + " [" + to_string(rule.severity) + "]";
        const int proto_node = tick_stat_node(st, name.c_str(), s.alerts, TRUE);
        increase_stat_node(st, "Bytes", proto_node, FALSE, static_cast<gint>(f.frame_len));
        const int hosts = tick_stat_node(st, "Hosts (frames)", proto_node, TRUE);
        const std::string pair = (f.src.empty() ? std::string("non-IP") : f.src.to_string()) + " -> " +
                                 (f.dst.empty() ? std::string("non-IP") : f.dst.to_string());
        const std::string key = name + "\n" + pair;
        bool listed = s.listed.count(key) > 0;
        if (!listed && s.pairs[name] < kTreeHostPairs) {
            s.listed.insert(key);
            ++s.pairs[name];
            listed = true;
        }
        tick_stat_node(st, listed ? pair.c_str() : kOtherPairs, hosts, FALSE);
    }
    return TAP_PACKET_REDRAW;
}

// ---- table (the GUI's sortable alerts, -z triage_unwanted,table) ------------------
constexpr const char* kTableAlerts = "Alerts";
constexpr const char* kTableProblems = "Problems";
constexpr std::size_t kPairsShown = 3;

std::vector<TableColumn> unwanted_columns() {
    return {{"Protocol", kLeft},        {"Severity", kLeft}, {"Category", kLeft},       {"Frames", kRight},
            {"Bytes", kRight},          {"Hosts", kRight},   {"Conversations", kRight}, {"First seen (UTC)", kLeft},
            {"Last seen (UTC)", kLeft}, {"Between", kLeft},  {"Reason", kLeft},         {"Filter", kLeft}};
}
enum UnwantedCol : std::size_t {
    kProto,
    kSeverity,
    kCategory,
    kFrames,
    kBytes,
    kHosts,
    kConvs,
    kFirst,
    kLast,
    kBetween,
    kReason,
    kFilter
};

std::string endpoint(const IpAddress& a) {
    return a.empty() ? std::string("non-IP") : a.to_string();
}

// "triage.unwanted" carries the rule's name in every frame it counts.
std::string alert_filter(const std::string& protocol) {
    std::string quoted;
    for (char c : protocol) {
        if (c == '"' || c == '\\') quoted += '\\';
        quoted += c;
    }
    return "triage.unwanted == \"" + quoted + "\"";
}

// A customised policy needs a protocol tree (see the top of this file); the
// dialog's listener asks for none, so a helper listener asks for it.
void want_tree(bool wanted) {
    static char key;
    static bool registered = false;
    if (wanted == registered) return;
    if (wanted) {
        GString* err =
            register_tap_listener("triage", &key, nullptr, TL_REQUIRES_PROTO_TREE, nullptr, nullptr, nullptr, nullptr);
        if (err) {
            g_string_free(err, TRUE);
            return;
        }
    } else {
        remove_tap_listener(&key);
    }
    registered = wanted;
}

class UnwantedTable final : public TableStat {
public:
    UnwantedTable()
        : TableStat("triage_unwanted,table", "Triage Unwanted Protocols", "triage", unwanted_columns(),
                    {kTableAlerts, kTableProblems}) {}
    std::shared_ptr<const prefs::Settings> settings;  // restart() takes it, before any frame
    AlertTracker tracker;

protected:
    void restart() override {
        settings = prefs::snapshot();
        tracker.clear();
    }
    void started() override { want_tree(settings->policy->customised()); }

    void fill() override {
        const auto& rules = settings->policy->rules();
        TableRows& alerts = rows(0);
        for (const Alert& a : tracker.alerts(rules)) {
            const Rule& rule = rules[a.rule];
            const std::size_t r = alerts.row(rule.protocol);
            alerts.text(r, kProto, rule.protocol);
            alerts.text(r, kSeverity, to_string(rule.severity));
            alerts.text(r, kCategory, rule.category);
            alerts.count(r, kFrames, a.frames);
            alerts.number(r, kBytes, std::to_string(a.bytes), 15);
            std::set<std::string> hosts, pairs;
            std::string between;
            for (const AlertConversation& c : a.conversations) {
                hosts.insert(endpoint(c.src));
                hosts.insert(endpoint(c.dst));
                const std::string pair = endpoint(c.src) + " -> " + endpoint(c.dst);
                if (pairs.insert(pair).second && pairs.size() <= kPairsShown)
                    between += (between.empty() ? "" : ", ") + pair;
            }
            if (pairs.size() > kPairsShown) between += " (+" + std::to_string(pairs.size() - kPairsShown) + " more)";
            alerts.count(r, kHosts, hosts.size());
            alerts.count(r, kConvs, a.conversations.size());
            alerts.text(r, kFirst, format_utc_us(a.first_time));
            alerts.text(r, kLast, format_utc_us(a.last_time));
            alerts.text(r, kBetween, between);
            alerts.text(r, kReason, rule.reason);
            alerts.text(r, kFilter, alert_filter(rule.protocol));
        }
        std::vector<Problem> problems = own_problems();
        if (!settings->window_error.empty()) problems.push_back({"error", settings->window_error});
        for (auto [kind, list] :
             {std::pair{"error", &settings->policy_errors}, std::pair{"warning", &settings->policy_warnings},
              std::pair{"note", &settings->policy_notes}})
            for (const std::string& msg : *list) problems.push_back({kind, msg});
        write_problems(rows(1), std::move(problems), tracker.anomalies());
    }
};

UnwantedTable g_table;

tap_packet_status table_packet(void* listener, packet_info*, epan_dissect_t* edt, const void* data, tap_flags_t) {
    if (g_table.take(listener, edt)) feed(g_table.tracker, *g_table.settings, data);
    return TAP_PACKET_DONT_REDRAW;
}

CliStat g_cli{"triage_unwanted", "Triage Unwanted Protocols", {"tree", "json", "table"}, start_session};

}  // namespace

void register_unwanted() {
    stats_tree_register_plugin("triage", "triage_unwanted", TRIAGE_MENU("Unwanted Protocols"), TL_REQUIRES_PROTO_TREE,
                               ws::guard<tree_packet>, ws::guard<tree_init>, ws::guard<tree_cleanup>);
    prefs::on_change(tree_flags_follow);
    register_cli(&g_cli);
    g_table.register_ui(ws::guard<table_packet>);
}

}  // namespace triage::tap
