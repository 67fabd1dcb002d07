// Unwanted protocols: the frame tap (queued after every dissector of the frame
// has run, so pinfo->layers is complete) feeds the core AlertTracker.
#include <cstdio>
#include <map>
#include <memory>
#include <string>

#include "plugins/prefs.hpp"
#include "plugins/ws.hpp"
#include "tap/cli_forms.hpp"
#include "tap/frame_facts.hpp"
#include "tap/taps.hpp"

namespace triage::tap {
namespace {

// ---- ONC-RPC program per frame ------------------------------------------------
// Wireshark shows an RPC program's protocol (mount, nfs, portmap ...) on NULL
// procedure calls and empty replies without running the program's dissector,
// so pinfo->layers lacks it; the rpc tap names the program of every message.
struct RpcProgram {
    std::uint32_t frame = 0;
    int proto = -1;
    int users = 0;
};
RpcProgram g_rpc;

void rpc_reset(void*) {
    g_rpc.frame = 0;
    g_rpc.proto = -1;
}

tap_packet_status on_rpc(void*, packet_info* pinfo, epan_dissect_t*, const void* data, tap_flags_t) {
    const auto* call = static_cast<const rpc_call_info_value*>(data);
    if (!call || !rpc_progs) return TAP_PACKET_DONT_REDRAW;
    const auto* prog =
        static_cast<const rpc_prog_info_value*>(g_hash_table_lookup(rpc_progs, GUINT_TO_POINTER(call->prog)));
    g_rpc.frame = pinfo->num;
    g_rpc.proto = prog ? prog->proto_id : -1;
    return TAP_PACKET_DONT_REDRAW;
}

std::string rpc_acquire() {
    if (g_rpc.users++ > 0) return {};
    static char key;
    return attach("rpc", &key, "", TL_REQUIRES_NOTHING, ws::guard<rpc_reset>, ws::guard<on_rpc>, nullptr, nullptr);
}

int rpc_program_of(const packet_info* pinfo) {
    return g_rpc.frame == pinfo->num ? g_rpc.proto : -1;
}

struct Session {
    std::string form;
    AlertTracker tracker;
    std::vector<std::uint32_t> hits;
};

void session_reset(void* p) {
    static_cast<Session*>(p)->tracker.clear();
}

tap_packet_status session_packet(void* p, packet_info* pinfo, epan_dissect_t* edt, const void*, tap_flags_t) {
    auto* s = static_cast<Session*>(p);
    s->tracker.frame_time(pinfo->num, ws::to_nanos(pinfo->abs_ts));
    unwanted_hits(pinfo, edt ? edt->tvb : nullptr, &s->hits, rpc_program_of(pinfo));
    if (s->hits.empty()) return TAP_PACKET_DONT_REDRAW;
    const FrameInfo f = frame_info(pinfo);
    for (std::uint32_t rule : s->hits) s->tracker.hit(rule, f);
    return TAP_PACKET_REDRAW;
}

void session_draw(void* p) {
    auto* s = static_cast<Session*>(p);
    const std::string out = unwanted_json(prefs::policy(), s->tracker, prefs::policy_errors());
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fflush(stdout);
    warn_anomalies("triage_unwanted", s->tracker.anomalies());
}

void session_finish(void* p) {
    delete static_cast<Session*>(p);
}

std::string start_session(const StatArg& arg) {
    if (!prefs::policy_errors().empty()) {
        std::string msg = "triage_unwanted: the policy has errors:";
        for (const std::string& e : prefs::policy_errors()) msg += "\n  " + e;
        return msg;
    }
    std::string err = rpc_acquire();
    if (!err.empty()) return "triage_unwanted: " + err;
    auto* s = new Session{arg.form, {}, {}};
    err = attach("frame", s, arg.filter, TL_REQUIRES_NOTHING, ws::guard<session_reset>, ws::guard<session_packet>,
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

struct TreeState {
    int alerts = 0;
    std::vector<std::uint32_t> hits;
};
TreeStates<TreeState> g_trees;

void tree_init(stats_tree* st) {
    auto state = std::make_unique<TreeState>();
    rpc_acquire();
    state->alerts = stats_tree_create_node(st, kAlerts, 0, STAT_DT_INT, TRUE);
    if (!prefs::policy_errors().empty()) {
        const int e = stats_tree_create_node(st, kErrors, 0, STAT_DT_INT, TRUE);
        for (const std::string& msg : prefs::policy_errors())
            stats_tree_create_node(st, msg.c_str(), e, STAT_DT_INT, FALSE);
    }
    g_trees.put(st, std::move(state));
}

void tree_cleanup(stats_tree* st) {
    g_trees.erase(st);
}

tap_packet_status tree_packet(stats_tree* st, packet_info* pinfo, epan_dissect_t* edt, const void*, tap_flags_t) {
    TreeState* state = g_trees.find(st);
    if (!state) return TAP_PACKET_DONT_REDRAW;
    TreeState& s = *state;
    unwanted_hits(pinfo, edt ? edt->tvb : nullptr, &s.hits, rpc_program_of(pinfo));
    if (s.hits.empty()) return TAP_PACKET_DONT_REDRAW;
    const FrameInfo f = frame_info(pinfo);
    const auto& rules = prefs::policy().rules();
    tick_stat_node(st, kAlerts, 0, TRUE);
    for (std::uint32_t h : s.hits) {
        const Rule& r = rules[h];
        const std::string name = r.protocol + " [" + to_string(r.severity) + "]";
        const int proto_node = tick_stat_node(st, name.c_str(), s.alerts, TRUE);
        increase_stat_node(st, "Bytes", proto_node, FALSE, static_cast<gint>(f.frame_len));
        const int hosts = tick_stat_node(st, "Hosts (frames)", proto_node, TRUE);
        const std::string pair = (f.src.empty() ? std::string("non-IP") : f.src.to_string()) + " -> " +
                                 (f.dst.empty() ? std::string("non-IP") : f.dst.to_string());
        tick_stat_node(st, pair.c_str(), hosts, FALSE);
    }
    return TAP_PACKET_REDRAW;
}

CliStat g_cli{"triage_unwanted", "Triage Unwanted Protocols", {"tree", "json"}, start_session};

}  // namespace

void register_unwanted() {
    stats_tree_register_plugin("frame", "triage_unwanted", "Triage/Unwanted Protocols", TL_REQUIRES_NOTHING,
                               ws::guard<tree_packet>, ws::guard<tree_init>, ws::guard<tree_cleanup>);
    register_cli(&g_cli);
}

}  // namespace triage::tap
