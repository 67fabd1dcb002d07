// Outbound volume: listens to Triage's own tap, whose FrameRecord carries the
// outermost IP header and transport of each frame, and feeds the core
// EgressTracker. Each session owns its settings snapshot and its tracker.
#include <algorithm>
#include <array>
#include <climits>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>

#include "plugins/prefs.hpp"
#include "plugins/ws.hpp"
#include "tap/cli_forms.hpp"
#include "tap/table_stat.hpp"
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

// One frame into a tracker: counted inside the counting window, else only
// noted as context. True: the frame was counted.
bool feed(EgressTracker& tracker, const prefs::Settings& settings, const void* data) {
    const FrameRecord* r = record_of(data);
    if (!r) return false;
    if (!settings.window.contains(r->frame)) {
        tracker.context(r->egress());
        return false;
    }
    tracker.add(r->egress());
    return true;
}

tap_packet_status session_packet(void* p, packet_info*, epan_dissect_t*, const void* data, tap_flags_t) {
    auto* s = static_cast<Session*>(p);
    return feed(s->tracker, *s->settings, data) ? TAP_PACKET_REDRAW : TAP_PACKET_DONT_REDRAW;
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
// Wireshark's stats_tree appends a child by walking its siblings (O(n^2) for
// n children) and tshark prints every node: the tree lists the first
// destinations it meets, and the first sources and ports of each, in full;
// one "other" node under each parent sums the rest. JSON and CSV list all.
constexpr std::size_t kTreeDestinations = 500, kTreeSources = 50, kTreePorts = 20;
constexpr const char* kOtherDestinations = "Other destinations (all: -z triage_egress,json)";
constexpr const char* kOtherSources = "from other sources";
constexpr const char* kOtherPorts = "other ports";

struct TreeState {
    std::shared_ptr<const prefs::Settings> settings;
    EgressTracker tracker;
    int directions = 0, destinations = 0;
    bool clamped = false;
    // The nodes set on every outbound frame, set through their pointers.
    std::array<ws::TreeCounter, kDirectionCount> direction_nodes;
    ws::TreeCounter all_directions, all_destinations, other_destinations;
    struct DestNode {
        std::string name;
        ws::TreeCounter node, other_sources, other_ports;
        int id = 0;
        std::size_t sources = 0, ports = 0;  // named children
        std::uint64_t bytes = 0;             // the destination's (it has a node from its first frame)
        std::uint64_t named_source_bytes = 0, port_bytes = 0, named_port_bytes = 0;
    };
    std::unordered_map<const Destination*, DestNode> dests;  // at most kTreeDestinations
    // Named source and port entries: a source's tracker entry, a port's with bit 32 set.
    struct Child {
        std::string name;
        ws::TreeCounter node;
    };
    std::unordered_map<std::uint64_t, Child> children;
    std::uint64_t named_dest_bytes = 0;
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
    EgressConfig cfg = state->settings->egress;
    cfg.max_destinations = kTreeDestinations;  // the tree names no more: it keeps no more
    state->tracker = EgressTracker(std::move(cfg));
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
    s.direction_nodes[static_cast<std::size_t>(d)].set(st, to_string(d), s.directions, FALSE,
                                                       s.clamp(s.tracker.total(d).frame_bytes));
    std::uint64_t all = 0, outbound = 0;
    for (std::size_t i = 0; i < kDirectionCount; ++i) {
        const auto dir = static_cast<Direction>(i);
        all += s.tracker.total(dir).frame_bytes;
        if (dir != Direction::inbound && dir != Direction::other) outbound += s.tracker.total(dir).frame_bytes;
    }
    s.all_directions.set(st, kDirections, 0, TRUE, s.clamp(all));
    if (d != Direction::inbound && d != Direction::other)
        s.all_destinations.set(st, kDestinations, 0, TRUE, s.clamp(outbound));
    if (s.clamped)
        stats_tree_manip_node_int(MN_SET, st, "Counter limit reached: use -z triage_egress,json for exact bytes", 0,
                                  FALSE, INT_MAX);
    if (d == Direction::inbound || d == Direction::other) return TAP_PACKET_REDRAW;
    // Null past the first kTreeDestinations: the tracker keeps no more (tree_init).
    const Destination* dest = up.destination;
    auto node = dest ? s.dests.find(dest) : s.dests.end();
    if (node == s.dests.end()) {
        if (!dest) {
            s.other_destinations.set(st, kOtherDestinations, s.destinations, FALSE,
                                     s.clamp(outbound - s.named_dest_bytes));
            return TAP_PACKET_REDRAW;
        }
        node = s.dests.emplace(dest, TreeState::DestNode{}).first;
        node->second.name = dest->address.to_string() + " (" + scope_name(dest->direction) + ")";
    }
    TreeState::DestNode& dn = node->second;
    s.named_dest_bytes += f->frame_len;
    dn.bytes += f->frame_len;
    dn.id = dn.node.set(st, dn.name.c_str(), s.destinations, TRUE, s.clamp(dn.bytes));
    // A child of the destination: named while there is room, else summed in `other`.
    const auto child = [&](std::uint64_t entry, std::size_t* named, std::size_t limit, auto make_name,
                           std::uint64_t* named_bytes, std::uint64_t bytes, std::uint64_t all_bytes, const char* other,
                           ws::TreeCounter* other_node) {
        auto c = s.children.find(entry);
        if (c == s.children.end() && *named < limit) {
            c = s.children.emplace(entry, TreeState::Child{make_name(), {}}).first;
            ++*named;
        }
        if (c == s.children.end()) {
            other_node->set(st, other, dn.id, FALSE, s.clamp(all_bytes - *named_bytes));
            return;
        }
        *named_bytes += f->frame_len;
        c->second.node.set(st, c->second.name.c_str(), dn.id, FALSE, s.clamp(bytes));
    };
    child(
        up.source, &dn.sources, kTreeSources, [&] { return "from " + f->src.to_string(); }, &dn.named_source_bytes,
        s.tracker.source(up.source).frame_bytes, dn.bytes, kOtherSources, &dn.other_sources);
    if (up.port != EgressUpdate::kNone) {
        const PortVolume port = s.tracker.port(up.port);
        dn.port_bytes += f->frame_len;
        child(
            std::uint64_t{1} << 32 | up.port, &dn.ports, kTreePorts,
            [&] { return std::string(port.transport == 6 ? "tcp" : "udp") + " port " + std::to_string(port.port); },
            &dn.named_port_bytes, port.frame_bytes, dn.port_bytes, kOtherPorts, &dn.other_ports);
    }
    return TAP_PACKET_REDRAW;
}

// ---- table (the GUI's sortable destinations, -z triage_egress,table) ---------------
constexpr const char* kTableDestinations = "Destinations";
constexpr const char* kTableTotals = "Totals by direction";
constexpr const char* kTableProblems = "Problems";

std::vector<TableColumn> egress_columns() {
    return {{"Destination", kLeft},       {"Scope", kLeft},           {"Frames", kRight},  {"Bytes", kRight},
            {"Share (%)", kRight},        {"Estimated cost", kRight}, {"Sources", kRight}, {"Top source", kLeft},
            {"Top source bytes", kRight}, {"Top port", kLeft},        {"Filter", kLeft}};
}
enum EgressCol : std::size_t {
    kDest,
    kScope,
    kFrames,
    kBytes,
    kShare,
    kCost,
    kSources,
    kTopSource,
    kTopBytes,
    kTopPort,
    kFilter
};
constexpr std::size_t kBytesWidth = 15;

std::string share_percent(std::uint64_t part, std::uint64_t all) {
    return format_double(all ? 100.0 * static_cast<double>(part) / static_cast<double>(all) : 0.0, 2);
}

class EgressTable final : public TableStat {
public:
    EgressTable()
        : TableStat("triage_egress,table", "Triage Outbound Volume", "triage", egress_columns(),
                    {kTableDestinations, kTableTotals, kTableProblems}) {}
    std::shared_ptr<const prefs::Settings> settings;  // restart() takes it, before any frame
    EgressTracker tracker;

protected:
    void restart() override {
        settings = prefs::snapshot();
        tracker = EgressTracker(settings->egress);
    }

    void fill() override {
        const EgressConfig& cfg = tracker.config();
        const bool priced = cfg.price_per_gb > 0;
        const std::vector<std::string> locals = cfg.local_networks.to_strings();
        std::uint64_t outbound = 0;
        for (Direction d : {Direction::outbound_external, Direction::outbound_internal, Direction::outbound_platform})
            outbound += tracker.total(d).frame_bytes;
        TableRows& dest = rows(0);
        for (const Destination* d : tracker.destinations()) {
            const std::string address = d->address.to_string();
            const std::size_t r = dest.row(address + "\n" + scope_name(d->direction));
            dest.text(r, kDest, address);
            dest.text(r, kScope, scope_name(d->direction));
            const Volume volume = tracker.volume(*d);
            dest.count(r, kFrames, volume.frames);
            dest.number(r, kBytes, std::to_string(volume.frame_bytes), kBytesWidth);
            dest.number(r, kShare, share_percent(volume.frame_bytes, outbound));
            dest.number(r, kCost,
                        priced && d->direction == Direction::outbound_external
                            ? format_double(cost(cfg, volume.ip_bytes), 6)
                            : std::string());
            // The first of the largest (sources in address order, ports in port order).
            const std::vector<SourceVolume> sources = tracker.sources(*d);
            const auto top = std::max_element(sources.begin(), sources.end(), [](const auto& a, const auto& b) {
                return a.volume.frame_bytes < b.volume.frame_bytes;
            });
            const bool has_top = top != sources.end();
            dest.count(r, kSources, sources.size());
            dest.text(r, kTopSource, has_top ? top->address.to_string() : std::string());
            dest.number(r, kTopBytes, has_top ? std::to_string(top->volume.frame_bytes) : std::string(), kBytesWidth);
            const std::vector<PortVolume> ports = tracker.ports(*d);
            const auto port = std::max_element(
                ports.begin(), ports.end(), [](const auto& a, const auto& b) { return a.frame_bytes < b.frame_bytes; });
            dest.text(r, kTopPort,
                      port != ports.end()
                          ? std::string(port->transport == 6 ? "tcp/" : "udp/") + std::to_string(port->port)
                          : "");
            dest.text(r, kFilter, destination_filter(d->address, locals));
        }
        TableRows& totals = rows(1);
        for (std::size_t i = 0; i < kDirectionCount; ++i) {
            const auto d = static_cast<Direction>(i);
            const bool out = d != Direction::inbound && d != Direction::other;
            const std::size_t r = totals.row(to_string(d));
            totals.text(r, kDest, to_string(d));
            totals.text(r, kScope, out ? scope_name(d) : "");
            totals.count(r, kFrames, tracker.total(d).frames);
            totals.number(r, kBytes, std::to_string(tracker.total(d).frame_bytes), kBytesWidth);
            totals.number(r, kShare, out ? share_percent(tracker.total(d).frame_bytes, outbound) : std::string());
            totals.number(r, kCost,
                          priced && d == Direction::outbound_external
                              ? format_double(cost(cfg, tracker.total(d).ip_bytes), 6)
                              : std::string());
            for (std::size_t c = kSources; c <= kFilter; ++c) totals.empty(r, c);
        }
        std::vector<Problem> problems = own_problems();
        if (!settings->window_error.empty()) problems.push_back({"error", settings->window_error});
        for (const std::string& e : settings->egress_errors) problems.push_back({"error (default used)", e});
        write_problems(rows(2), std::move(problems), tracker.anomalies());
    }
};

EgressTable g_table;

tap_packet_status table_packet(void* listener, packet_info*, epan_dissect_t* edt, const void* data, tap_flags_t) {
    if (g_table.take(listener, edt)) feed(g_table.tracker, *g_table.settings, data);
    return TAP_PACKET_DONT_REDRAW;
}

CliStat g_cli{"triage_egress", "Triage Outbound Volume", {"tree", "json", "csv", "table"}, start_session};

}  // namespace

void register_egress() {
    stats_tree_register_plugin("triage", "triage_egress", TRIAGE_MENU("Outbound Volume"), TL_REQUIRES_NOTHING,
                               ws::guard<tree_packet>, ws::guard<tree_init>, ws::guard<tree_cleanup>);
    register_cli(&g_cli);
    g_table.register_ui(ws::guard<table_packet>);
}

}  // namespace triage::tap
