// Outbound volume: helper listeners on ip/ipv6/tcp/udp (no filter) collect the
// outermost IP header and transport of each frame; the statistic's own frame
// listener (with the user's filter) commits the frame to the core tracker.
// The frame tap is queued after every dissector has run, so the helpers have
// seen the frame by then.
#include <climits>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <tuple>

#include "plugins/prefs.hpp"
#include "plugins/ws.hpp"
#include "tap/cli_forms.hpp"
#include "tap/taps.hpp"
#include "triage/egress_tracker.hpp"

namespace triage::tap {
namespace {

// ---- per-frame collector ------------------------------------------------------
struct Collector {
    std::uint32_t frame = 0;
    bool have_ip = false, have_transport = false;
    std::uint8_t ip_proto = 0;
    EgressFrame f;
    int users = 0;
};
Collector g_collector;

void collector_reset(void*) {
    g_collector.frame = 0;
    g_collector.have_ip = false;
}

tap_packet_status on_ip(void*, packet_info* pinfo, epan_dissect_t*, const void* data, tap_flags_t) {
    Collector& c = g_collector;
    if (c.have_ip && c.frame == pinfo->num) return TAP_PACKET_DONT_REDRAW;  // inner header of a tunnel
    const auto* ip4 = static_cast<const ws_ip4*>(data);
    if (!ip4 || ip4->ip_ver != 4) return TAP_PACKET_DONT_REDRAW;
    c.frame = pinfo->num;
    c.have_ip = true;
    c.have_transport = false;
    c.ip_proto = ip4->ip_proto;
    c.f = EgressFrame{};
    c.f.src = ws::to_ip(ip4->ip_src);
    c.f.dst = ws::to_ip(ip4->ip_dst);
    c.f.ip_len = ip4->ip_len;
    return TAP_PACKET_DONT_REDRAW;
}

tap_packet_status on_ipv6(void*, packet_info* pinfo, epan_dissect_t*, const void* data, tap_flags_t) {
    Collector& c = g_collector;
    if (c.have_ip && c.frame == pinfo->num) return TAP_PACKET_DONT_REDRAW;
    const auto* ip6 = static_cast<const ws_ip6*>(data);
    if (!ip6 || ip6->ip6_ver != 6) return TAP_PACKET_DONT_REDRAW;
    c.frame = pinfo->num;
    c.have_ip = true;
    c.have_transport = false;
    c.ip_proto = ip6->ip6_nxt;
    c.f = EgressFrame{};
    c.f.src = ws::to_ip(ip6->ip6_src);
    c.f.dst = ws::to_ip(ip6->ip6_dst);
    c.f.ip_len = ip6->ip6_len + 40;
    return TAP_PACKET_DONT_REDRAW;
}

bool transport_belongs_to_outer(const Collector& c, const packet_info* pinfo) {
    // ICMP errors quote a transport header of another packet: not this frame's.
    return c.have_ip && c.frame == pinfo->num && !c.have_transport && c.ip_proto != 1 && c.ip_proto != 58;
}

tap_packet_status on_tcp(void*, packet_info* pinfo, epan_dissect_t*, const void* data, tap_flags_t) {
    Collector& c = g_collector;
    const auto* th = static_cast<const tcp_info_t*>(data);
    if (!th || !transport_belongs_to_outer(c, pinfo)) return TAP_PACKET_DONT_REDRAW;
    c.have_transport = true;
    c.f.transport = 6;
    c.f.dport = th->th_dport;
    c.f.payload = th->th_have_seglen ? th->th_seglen : 0;
    return TAP_PACKET_DONT_REDRAW;
}

tap_packet_status on_udp(void*, packet_info* pinfo, epan_dissect_t*, const void* data, tap_flags_t) {
    Collector& c = g_collector;
    const auto* uh = static_cast<const e_udphdr*>(data);
    if (!uh || !transport_belongs_to_outer(c, pinfo)) return TAP_PACKET_DONT_REDRAW;
    c.have_transport = true;
    c.f.transport = 17;
    c.f.dport = uh->uh_dport;
    c.f.payload = uh->uh_ulen >= 8 ? uh->uh_ulen - 8 : 0;
    return TAP_PACKET_DONT_REDRAW;
}

std::string collector_acquire() {
    if (g_collector.users++ > 0) return {};
    std::string err;
    // Distinct tapdata pointers: Wireshark identifies a listener by tap + data.
    static char k_ip, k_ip6, k_tcp, k_udp;
    for (auto [tap, data, cb] : {std::make_tuple("ip", static_cast<void*>(&k_ip), ws::guard<on_ip>),
                                 std::make_tuple("ipv6", static_cast<void*>(&k_ip6), ws::guard<on_ipv6>),
                                 std::make_tuple("tcp", static_cast<void*>(&k_tcp), ws::guard<on_tcp>),
                                 std::make_tuple("udp", static_cast<void*>(&k_udp), ws::guard<on_udp>)}) {
        err = attach(tap, data, "", TL_REQUIRES_NOTHING, ws::guard<collector_reset>, cb, nullptr, nullptr);
        if (!err.empty()) return err;
    }
    return {};
}

// The frame the collector describes, if it is `pinfo`'s frame and carries IP.
const EgressFrame* collected(const packet_info* pinfo) {
    Collector& c = g_collector;
    if (!c.have_ip || c.frame != pinfo->num) return nullptr;
    c.f.frame = pinfo->num;
    c.f.time = ws::to_nanos(pinfo->abs_ts);
    c.f.frame_len = pinfo->fd->pkt_len;
    return &c.f;
}

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
struct Session {
    std::string form;
    EgressTracker tracker;
};

void session_reset(void* p) {
    static_cast<Session*>(p)->tracker.clear();
}

tap_packet_status session_packet(void* p, packet_info* pinfo, epan_dissect_t*, const void*, tap_flags_t) {
    const EgressFrame* f = collected(pinfo);
    if (!f) return TAP_PACKET_DONT_REDRAW;
    static_cast<Session*>(p)->tracker.add(*f);
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
    if (!prefs::egress_errors().empty()) {
        std::string msg = "triage_egress: invalid preferences:";
        for (const std::string& e : prefs::egress_errors()) msg += "\n  " + e;
        return msg;
    }
    std::string err = collector_acquire();
    if (!err.empty()) return "triage_egress: " + err;
    auto* s = new Session{arg.form, EgressTracker(prefs::egress_config())};
    err = attach("frame", s, arg.filter, TL_REQUIRES_NOTHING, ws::guard<session_reset>, ws::guard<session_packet>,
                 ws::guard<session_draw>, ws::guard<session_finish>);
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

struct TreeState {
    EgressTracker tracker;
    int directions = 0, destinations = 0;
};
TreeStates<TreeState> g_trees;

// stats_tree counters are gint: stop at the limit, and say so in the tree.
bool g_clamped = false;
gint clamp(std::uint64_t v) {
    if (v <= INT_MAX) return static_cast<gint>(v);
    g_clamped = true;
    return INT_MAX;
}

void tree_init(stats_tree* st) {
    auto state = std::make_unique<TreeState>();
    state->tracker = EgressTracker(prefs::egress_config());
    collector_acquire();
    state->directions = stats_tree_create_node(st, kDirections, 0, STAT_DT_INT, TRUE);
    for (std::size_t i = 0; i < kDirectionCount; ++i)
        stats_tree_create_node(st, to_string(static_cast<Direction>(i)), state->directions, STAT_DT_INT, FALSE);
    state->destinations = stats_tree_create_node(st, kDestinations, 0, STAT_DT_INT, TRUE);
    if (!prefs::egress_errors().empty()) {
        const int e = stats_tree_create_node(st, kErrors, 0, STAT_DT_INT, TRUE);
        for (const std::string& msg : prefs::egress_errors())
            stats_tree_create_node(st, msg.c_str(), e, STAT_DT_INT, FALSE);
    }
    g_trees.put(st, std::move(state));
}

void tree_cleanup(stats_tree* st) {
    g_trees.erase(st);
}

tap_packet_status tree_packet(stats_tree* st, packet_info* pinfo, epan_dissect_t*, const void*, tap_flags_t) {
    TreeState* state = g_trees.find(st);
    const EgressFrame* f = collected(pinfo);
    if (!state || !f) return TAP_PACKET_DONT_REDRAW;
    TreeState& s = *state;
    s.tracker.add(*f);
    const Direction d = s.tracker.classify(f->src, f->dst);
    stats_tree_manip_node_int(MN_SET, st, to_string(d), s.directions, FALSE, clamp(s.tracker.total(d).frame_bytes));
    std::uint64_t all = 0, outbound = 0;
    for (std::size_t i = 0; i < kDirectionCount; ++i) {
        const auto dir = static_cast<Direction>(i);
        all += s.tracker.total(dir).frame_bytes;
        if (dir != Direction::inbound && dir != Direction::other) outbound += s.tracker.total(dir).frame_bytes;
    }
    stats_tree_manip_node_int(MN_SET, st, kDirections, 0, TRUE, clamp(all));
    stats_tree_manip_node_int(MN_SET, st, kDestinations, 0, TRUE, clamp(outbound));
    if (g_clamped)
        stats_tree_manip_node_int(MN_SET, st, "Counter limit reached: use -z triage_egress,json for exact bytes", 0,
                                  FALSE, INT_MAX);
    if (d == Direction::inbound || d == Direction::other) return TAP_PACKET_REDRAW;
    const Destination* dest = s.tracker.find(f->dst);
    if (!dest) return TAP_PACKET_REDRAW;
    const std::string dname = dest->address.to_string() + " (" + scope_name(dest->direction) + ")";
    const int dnode =
        stats_tree_manip_node_int(MN_SET, st, dname.c_str(), s.destinations, TRUE, clamp(dest->volume.frame_bytes));
    if (auto src = dest->sources.find(f->src); src != dest->sources.end()) {
        const std::string sname = "from " + f->src.to_string();
        stats_tree_manip_node_int(MN_SET, st, sname.c_str(), dnode, FALSE, clamp(src->second.frame_bytes));
    }
    if (auto port = dest->ports.find({f->transport, f->dport}); f->transport && port != dest->ports.end()) {
        const std::string pname = std::string(f->transport == 6 ? "tcp" : "udp") + " port " + std::to_string(f->dport);
        stats_tree_manip_node_int(MN_SET, st, pname.c_str(), dnode, FALSE, clamp(port->second.frame_bytes));
    }
    return TAP_PACKET_REDRAW;
}

CliStat g_cli{"triage_egress", "Triage Outbound Volume", {"tree", "json", "csv"}, start_session};

}  // namespace

void register_egress() {
    stats_tree_register_plugin("frame", "triage_egress", "Triage/Outbound Volume", TL_REQUIRES_NOTHING,
                               ws::guard<tree_packet>, ws::guard<tree_init>, ws::guard<tree_cleanup>);
    register_cli(&g_cli);
}

}  // namespace triage::tap
