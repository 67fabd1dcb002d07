// Outbound volume: listens to Triage's own tap, whose FrameRecord carries the
// outermost IP header and transport of each frame, and feeds the core
// EgressTracker. Each session owns its settings snapshot and its tracker.
#include <climits>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <string>

#include "plugins/prefs.hpp"
#include "plugins/ws.hpp"
#include "tap/cli_forms.hpp"
#include "tap/taps.hpp"
#include "triage/egress_tracker.hpp"
#include "triage/frame_record.hpp"

namespace triage::tap {
namespace {

std::string resolve_name(const IpAddress& a) {
    if (!gbl_resolv_flags.network_name) return {};
    const char* name = nullptr;
    if (a.is_v4()) {
        guint32 v4;
        std::memcpy(&v4, a.bytes(), 4);
        name = get_hostname(v4);
    } else if (a.is_v6()) {
        ws_in6_addr v6;
        std::memcpy(&v6, a.bytes(), 16);
        name = get_hostname6(&v6);
    }
    if (!name || a.to_string() == name) return {};
    return name;
}

// ---- json / csv (tshark) -------------------------------------------------------
const FrameRecord* record_of(const void* data) {
    const auto* r = static_cast<const FrameRecord*>(data);
    return r && r->has_ip() ? r : nullptr;
}

struct Session {
    std::string form;
    std::shared_ptr<const prefs::Settings> settings;
    EgressTracker tracker;
};

void session_reset(void* p) {
    auto* s = static_cast<Session*>(p);
    s->settings = prefs::snapshot();
    s->tracker = EgressTracker(s->settings->egress);
}

tap_packet_status session_packet(void* p, packet_info*, epan_dissect_t*, const void* data, tap_flags_t) {
    const FrameRecord* r = record_of(data);
    if (!r) return TAP_PACKET_DONT_REDRAW;
    auto* s = static_cast<Session*>(p);
    if (!s->settings->window.contains(r->frame)) {
        s->tracker.context(r->egress());
        return TAP_PACKET_DONT_REDRAW;
    }
    s->tracker.add(r->egress());
    return TAP_PACKET_REDRAW;
}

void session_draw(void* p) {
    auto* s = static_cast<Session*>(p);
    const auto to_stdout = [](std::string_view chunk) { std::fwrite(chunk.data(), 1, chunk.size(), stdout); };
    if (s->form == "json")
        egress_json(s->tracker, resolve_name, to_stdout);
    else
        egress_csv(s->tracker, resolve_name, to_stdout);
    std::fflush(stdout);
    warn_anomalies("triage_egress", s->tracker.anomalies());
}

void session_finish(void* p) {
    delete static_cast<Session*>(p);
}

std::string start_session(const StatArg& arg) {
    auto settings = prefs::snapshot();
    if (!settings->window_error.empty()) return "triage_egress: " + settings->window_error;
    if (!settings->egress_errors.empty()) {
        std::string msg = "triage_egress: invalid preferences:";
        for (const std::string& e : settings->egress_errors) msg += "\n  " + e;
        return msg;
    }
    auto* s = new Session{arg.form, settings, EgressTracker(settings->egress)};
    const std::string err = attach("triage", s, arg.filter, TL_REQUIRES_NOTHING, ws::guard<session_reset>,
                                   ws::guard<session_packet>, ws::guard<session_draw>, ws::guard<session_finish>);
    if (!err.empty()) {
        delete s;
        return "triage_egress: " + err;
    }
    return {};
}

// ---- stats_tree -------------------------------------------------------------------
constexpr const char* kDirections = "Bytes by direction";
constexpr const char* kDestinations = "Outbound bytes per destination";
constexpr const char* kErrors = "Preference errors (defaults used)";

// Created by tree_init, which Wireshark calls again on every retap: a
// retap starts from a clean state and fresh settings.
struct TreeState {
    std::shared_ptr<const prefs::Settings> settings;
    EgressTracker tracker;
    int directions = 0, destinations = 0;
    bool clamped = false;
    // stats_tree counters are gint: stop at the limit, and say so in the tree.
    gint clamp(std::uint64_t v) {
        if (v <= INT_MAX) return static_cast<gint>(v);
        clamped = true;
        return INT_MAX;
    }
};
TreeStates<TreeState> g_trees;

void tree_init(stats_tree* st) {
    auto state = std::make_unique<TreeState>();
    state->settings = prefs::snapshot();
    state->tracker = EgressTracker(state->settings->egress);
    state->directions = stats_tree_create_node(st, kDirections, 0, STAT_DT_INT, TRUE);
    for (std::size_t i = 0; i < kDirectionCount; ++i)
        stats_tree_create_node(st, to_string(static_cast<Direction>(i)), state->directions, STAT_DT_INT, FALSE);
    state->destinations = stats_tree_create_node(st, kDestinations, 0, STAT_DT_INT, TRUE);
    if (!state->settings->egress_errors.empty()) {
        const int e = stats_tree_create_node(st, kErrors, 0, STAT_DT_INT, TRUE);
        for (const std::string& msg : state->settings->egress_errors)
            stats_tree_create_node(st, msg.c_str(), e, STAT_DT_INT, FALSE);
    }
    g_trees.put(st, std::move(state));
}

void tree_cleanup(stats_tree* st) {
    g_trees.erase(st);
}

tap_packet_status tree_packet(stats_tree* st, packet_info*, epan_dissect_t*, const void* data, tap_flags_t) {
    TreeState* state = g_trees.find(st);
    const FrameRecord* r = record_of(data);
    if (!state || !r) return TAP_PACKET_DONT_REDRAW;
    TreeState& s = *state;
    const EgressFrame frame = r->egress();
    const EgressFrame* f = &frame;
    if (!s.settings->window.contains(r->frame)) {
        s.tracker.context(frame);
        return TAP_PACKET_DONT_REDRAW;
    }
    const EgressUpdate up = s.tracker.add(frame);
    const Direction d = up.direction;
    stats_tree_manip_node_int(MN_SET, st, to_string(d), s.directions, FALSE, s.clamp(s.tracker.total(d).frame_bytes));
    std::uint64_t all = 0, outbound = 0;
    for (std::size_t i = 0; i < kDirectionCount; ++i) {
        const auto dir = static_cast<Direction>(i);
        all += s.tracker.total(dir).frame_bytes;
        if (dir != Direction::inbound && dir != Direction::other) outbound += s.tracker.total(dir).frame_bytes;
    }
    stats_tree_manip_node_int(MN_SET, st, kDirections, 0, TRUE, s.clamp(all));
    stats_tree_manip_node_int(MN_SET, st, kDestinations, 0, TRUE, s.clamp(outbound));
    if (s.clamped)
        stats_tree_manip_node_int(MN_SET, st, "Counter limit reached: use -z triage_egress,json for exact bytes", 0,
                                  FALSE, INT_MAX);
    const Destination* dest = up.destination;
    if (!dest) return TAP_PACKET_REDRAW;
    const std::string dname = dest->address.to_string() + " (" + scope_name(dest->direction) + ")";
    const int dnode =
        stats_tree_manip_node_int(MN_SET, st, dname.c_str(), s.destinations, TRUE, s.clamp(dest->volume.frame_bytes));
    const std::string sname = "from " + f->src.to_string();
    stats_tree_manip_node_int(MN_SET, st, sname.c_str(), dnode, FALSE, s.clamp(up.source->frame_bytes));
    if (const PortVolume* port = up.port) {
        const std::string pname =
            std::string(port->transport == 6 ? "tcp" : "udp") + " port " + std::to_string(port->port);
        stats_tree_manip_node_int(MN_SET, st, pname.c_str(), dnode, FALSE, s.clamp(port->frame_bytes));
    }
    return TAP_PACKET_REDRAW;
}

CliStat g_cli{"triage_egress", "Triage Outbound Volume", {"tree", "json", "csv"}, start_session};

}  // namespace

void register_egress() {
    stats_tree_register_plugin("triage", "triage_egress", TRIAGE_MENU("Outbound Volume"), TL_REQUIRES_NOTHING,
                               ws::guard<tree_packet>, ws::guard<tree_init>, ws::guard<tree_cleanup>);
    register_cli(&g_cli);
}

}  // namespace triage::tap
