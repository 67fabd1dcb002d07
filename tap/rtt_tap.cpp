// Handshake RTT: the tcp tap feeds the core HandshakeTracker.
#include <array>
#include <cstdio>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "plugins/prefs.hpp"
#include "plugins/ws.hpp"
#include "tap/cli_forms.hpp"
#include "tap/table_stat.hpp"
#include "tap/taps.hpp"
#include "triage/flat_index.hpp"
#include "triage/frame_record.hpp"
#include "triage/handshake_tracker.hpp"
#include "triage/json_writer.hpp"
#include "triage/secure_handshake.hpp"

namespace triage::tap {
namespace {

// The three trackers of one statistic's run, fed from the producer's record:
// TCP from every TCP header of the frame, TLS from the same segments' bytes,
// QUIC from every UDP datagram's.
struct Trackers {
    HandshakeTracker tcp;
    TlsTracker tls;
    QuicTracker quic;
    void clear() {
        tcp.clear();
        tls.clear();
        quic.clear();
    }
    void set_window(const FrameWindow& w) {
        tcp.set_window(w);
        tls.set_window(w);
        quic.set_window(w);
    }
    void reset(const FrameWindow& w) {
        clear();
        set_window(w);
    }
};

struct NoUpdate {
    template <typename... A>
    void operator()(const A&...) const {}
};

template <typename OnTcp = NoUpdate, typename OnTls = NoUpdate, typename OnQuic = NoUpdate>
bool feed(Trackers& t, const void* data, OnTcp on_tcp = {}, OnTls on_tls = {}, OnQuic on_quic = {}) {
    const auto* r = static_cast<const FrameRecord*>(data);
    if (!r) return false;
    const FrameRecord::Transport& x = r->transport_headers();
    for (std::size_t i = 0; i < x.tcp.size(); ++i) {
        on_tcp(t.tcp.add(x.tcp[i]), x.tcp[i]);
        if (!x.quoted) on_tls(t.tls.add(x.tcp[i], r->tcp_payload(i)));
    }
    if (!x.quoted)
        for (std::size_t i = 0; i < x.udp.size(); ++i) on_quic(t.quic.add(x.udp[i].datagram, r->udp_payload(i)));
    return !x.tcp.empty() || !x.udp.empty();
}

// The "tls" and "quic" members of the JSON, after the TCP ones.
std::function<void(JsonWriter&)> secure_members(const Trackers& t) {
    return [&t](JsonWriter& w) {
        w.set_compact_depth(3);  // one line per TLS/QUIC connection and server
        w.key("tls");
        write_tls_json(t.tls, w);
        w.key("quic");
        write_quic_json(t.quic, w);
    };
}

// ---- json / csv (tshark) ---------------------------------------------------
struct Session {
    std::string form;
    FrameWindow window;
    Trackers t;
};

void session_reset(void* p) {
    auto* s = static_cast<Session*>(p);
    s->t.reset(s->window);
}

tap_packet_status session_packet(void* p, packet_info*, epan_dissect_t*, const void* data, tap_flags_t) {
    return feed(static_cast<Session*>(p)->t, data) ? TAP_PACKET_REDRAW : TAP_PACKET_DONT_REDRAW;
}

void session_draw(void* p) {
    auto* s = static_cast<Session*>(p);
    const auto to_stdout = [](std::string_view chunk) { std::fwrite(chunk.data(), 1, chunk.size(), stdout); };
    bool any_negative = true;  // unknown: the CSV forms make no report
    if (s->form == "json")
        any_negative = handshake_json(s->t.tcp, to_stdout, secure_members(s->t)) > 0;
    else if (s->form == "tls_csv")
        tls_csv(s->t.tls, to_stdout);
    else if (s->form == "quic_csv")
        quic_csv(s->t.quic, to_stdout);
    else
        handshake_csv(s->t.tcp, to_stdout);
    std::fflush(stdout);
    // One line for all handshakes with negative times (the ones the JSON
    // counts in negative_time and lists in "anomalies"): a pass over every
    // handshake, unless the JSON report already counted none.
    std::uint64_t negative = 0;
    Handshake first;
    if (any_negative)
        s->t.tcp.for_each_negative_time([&](const Handshake& h) {
            if (negative++ == 0) first = h;
        });
    if (negative)
        std::fprintf(stderr,
                     "triage_rtt: warning: timestamps go backwards in %llu handshake%s (first: tcp.stream %u, "
                     "frames %u..%u); reported as anomalies, not in the statistics\n",
                     static_cast<unsigned long long>(negative), negative == 1 ? "" : "s", first.stream,
                     first.first_syn_frame, first.ack_frame);
    warn_anomalies("triage_rtt", s->t.tcp.anomalies());
}

void session_finish(void* p) {
    delete static_cast<Session*>(p);
}

std::string start_session(const StatArg& arg) {
    const auto settings = prefs::snapshot();
    if (!settings->window_error.empty()) return "triage_rtt: " + settings->window_error;
    auto* s = new Session{arg.form, settings->window, {}};
    s->t.reset(s->window);
    std::string err = attach("triage", s, arg.filter, TL_REQUIRES_NOTHING, ws::guard<session_reset>,
                             ws::guard<session_packet>, ws::guard<session_draw>, ws::guard<session_finish>);
    if (!err.empty()) {
        delete s;
        return "triage_rtt: " + err;
    }
    return {};
}

// ---- stats_tree (GUI dialog and -z triage_rtt,tree) ------------------------
constexpr const char* kHandshakes = "Handshakes";
constexpr const char* kHistogram = "RTT histogram (connections)";
constexpr const char* kRtt = "RTT (ms)";
constexpr const char* kServerLeg = "Server leg: SYN to SYN-ACK (ms)";
constexpr const char* kClientLeg = "Client leg: SYN-ACK to ACK (ms)";
constexpr const char* kServers = "Servers";
constexpr const char* kRetries = "SYN retransmissions";
const LogHistogram kBuckets;  // only its bucket bounds and labels are used

// A histogram's node and its buckets' nodes, ticked through their pointers
// (the buckets' labels formatted once, not per handshake).
struct HistogramNodes {
    ws::TreeNode all;
    std::vector<ws::TreeNode> buckets = std::vector<ws::TreeNode>(kBuckets.size());
    void tick(stats_tree* st, const char* name, int id, Nanos v) {
        static const std::vector<std::string> labels = [] {
            std::vector<std::string> l;
            for (std::size_t i = 0; i < kBuckets.size(); ++i) l.push_back(kBuckets.label(i));
            return l;
        }();
        all.increase(st, name, 0, TRUE);
        const std::size_t b = kBuckets.bucket_of(v);
        buckets[b].increase(st, labels[b].c_str(), id, FALSE);
    }
};
constexpr const char* kAnomalies = "Anomalies: negative time";

// Wireshark's stats_tree appends a child by walking its siblings, so a node
// with n children costs O(n^2); and tshark prints every node. The tree lists
// the first kTreeServers servers it meets, in full, and sums the rest in one
// node; the JSON and CSV forms list every server.
constexpr std::size_t kTreeServers = 500;
constexpr const char* kOtherServers = "Other servers (all servers: -z triage_rtt,json)";

// TLS and QUIC: counts per outcome, the legs' averages, a histogram (all
// servers: the JSON form).
constexpr const char* kTls = "TLS handshakes";
constexpr const char* kTlsServerLeg = "TLS server leg: ClientHello to ServerHello (ms)";
constexpr const char* kTlsHandshake = "TLS handshake: ClientHello to client Finished (ms)";
constexpr const char* kTlsHistogram = "TLS handshake histogram (connections)";
constexpr const char* kTlsRetried = "TLS HelloRetryRequest";
constexpr const char* kQuic = "QUIC handshakes";
constexpr const char* kQuicRtt = "QUIC RTT (ms)";
constexpr const char* kQuicServerLeg = "QUIC server leg: client Initial to server Initial (ms)";
constexpr const char* kQuicClientLeg = "QUIC client leg: server flight to client Handshake (ms)";
constexpr const char* kQuicHistogram = "QUIC RTT histogram (connections)";
constexpr const char* kQuicRetried = "QUIC Retry";
constexpr const char* kQuicZeroRtt = "QUIC 0-RTT (completed handshakes)";

struct TreeState {
    Trackers t;
    int handshakes = 0, histogram = 0, servers = 0;
    int tls = 0, tls_histogram = 0, quic = 0, quic_histogram = 0;
    // Per server node (and the "other servers" node): handshakes in each
    // outcome; a zero count gets no node.
    struct ServerNode {
        std::string name;
        int id = 0;
        std::array<gint, kOutcomeCount> count{};
        std::array<ws::TreeCounter, kOutcomeCount> outcome_nodes;
        ws::TreeNode handshakes, rtt, server_leg;  // its count under "Servers", its averages
    };
    // The outcome nodes under "Handshakes", "TLS ..." and "QUIC ...".
    std::array<ws::TreeCounter, kOutcomeCount> tcp_outcomes;
    std::array<ws::TreeCounter, kTlsOutcomeCount> tls_outcomes;
    std::array<ws::TreeCounter, kQuicOutcomeCount> quic_outcomes;
    // The nodes ticked or averaged into on every handshake.
    ws::TreeNode tcp_new, tls_new, quic_new, server_handshakes, retries, anomalies;
    ws::TreeNode rtt, server_leg, client_leg, tls_server_leg, tls_retried, tls_handshake;
    ws::TreeNode quic_retried, quic_zero_rtt, quic_rtt, quic_server_leg, quic_client_leg;
    HistogramNodes histogram_nodes, tls_histogram_nodes, quic_histogram_nodes;
    // Every TCP update looks its server up (most miss: past the first
    // kTreeServers): an open-addressing index over the nodes' keys, where a
    // miss reads one 4-byte slot, not a chain of hash-table nodes.
    KeyTable<ServerKey, ServerKeyHash> keys;  // a server's index in nodes
    std::vector<ServerNode> nodes;
    ServerNode other;
};
TreeStates<TreeState> g_trees;

void tree_init(stats_tree* st) {
    auto state = std::make_unique<TreeState>();
    state->t.reset(prefs::snapshot()->window);
    state->handshakes = stats_tree_create_node(st, kHandshakes, 0, STAT_DT_INT, TRUE);
    for (std::size_t i = 0; i < kOutcomeCount; ++i)
        stats_tree_create_node(st, to_string(static_cast<Outcome>(i)), state->handshakes, STAT_DT_INT, FALSE);
    stats_tree_create_node(st, kRetries, 0, STAT_DT_INT, FALSE);
    stats_tree_create_node(st, kRtt, 0, STAT_DT_FLOAT, FALSE);
    stats_tree_create_node(st, kServerLeg, 0, STAT_DT_FLOAT, FALSE);
    stats_tree_create_node(st, kClientLeg, 0, STAT_DT_FLOAT, FALSE);
    state->histogram = stats_tree_create_node(st, kHistogram, 0, STAT_DT_INT, TRUE);
    for (std::size_t i = 0; i < kBuckets.size(); ++i)
        stats_tree_create_node(st, kBuckets.label(i).c_str(), state->histogram, STAT_DT_INT, FALSE);
    state->servers = stats_tree_create_node(st, kServers, 0, STAT_DT_INT, TRUE);
    state->other.name = kOtherServers;
    state->other.id = -1;
    state->tls = stats_tree_create_node(st, kTls, 0, STAT_DT_INT, TRUE);
    for (std::size_t i = 0; i < kTlsOutcomeCount; ++i)
        stats_tree_create_node(st, to_string(static_cast<TlsOutcome>(i)), state->tls, STAT_DT_INT, FALSE);
    stats_tree_create_node(st, kTlsRetried, 0, STAT_DT_INT, FALSE);
    stats_tree_create_node(st, kTlsServerLeg, 0, STAT_DT_FLOAT, FALSE);
    stats_tree_create_node(st, kTlsHandshake, 0, STAT_DT_FLOAT, FALSE);
    state->tls_histogram = stats_tree_create_node(st, kTlsHistogram, 0, STAT_DT_INT, TRUE);
    for (std::size_t i = 0; i < kBuckets.size(); ++i)
        stats_tree_create_node(st, kBuckets.label(i).c_str(), state->tls_histogram, STAT_DT_INT, FALSE);
    state->quic = stats_tree_create_node(st, kQuic, 0, STAT_DT_INT, TRUE);
    for (std::size_t i = 0; i < kQuicOutcomeCount; ++i)
        stats_tree_create_node(st, to_string(static_cast<QuicOutcome>(i)), state->quic, STAT_DT_INT, FALSE);
    stats_tree_create_node(st, kQuicRetried, 0, STAT_DT_INT, FALSE);
    stats_tree_create_node(st, kQuicZeroRtt, 0, STAT_DT_INT, FALSE);
    stats_tree_create_node(st, kQuicRtt, 0, STAT_DT_FLOAT, FALSE);
    stats_tree_create_node(st, kQuicServerLeg, 0, STAT_DT_FLOAT, FALSE);
    stats_tree_create_node(st, kQuicClientLeg, 0, STAT_DT_FLOAT, FALSE);
    state->quic_histogram = stats_tree_create_node(st, kQuicHistogram, 0, STAT_DT_INT, TRUE);
    for (std::size_t i = 0; i < kBuckets.size(); ++i)
        stats_tree_create_node(st, kBuckets.label(i).c_str(), state->quic_histogram, STAT_DT_INT, FALSE);
    g_trees.put(st, std::move(state));
}

void tree_cleanup(stats_tree* st) {
    g_trees.erase(st);
}

double ms(Nanos ns) {
    return static_cast<double>(ns) / 1e6;
}

// The node of the handshake's server: its own among the first kTreeServers,
// else the shared one; created (and named) once.
TreeState::ServerNode& server_node(stats_tree* st, TreeState& s, const Handshake& h) {
    const ServerKey key{h.server, h.server_port};
    if (const std::uint32_t i = s.keys.find(key); i != s.keys.kNone) return s.nodes[i];
    if (s.nodes.size() >= kTreeServers) {
        if (s.other.id < 0) s.other.id = stats_tree_create_node(st, kOtherServers, s.servers, STAT_DT_INT, TRUE);
        return s.other;
    }
    s.keys.intern(key);  // index nodes.size()
    TreeState::ServerNode& n = s.nodes.emplace_back();
    n.name = h.server.to_string() + " port " + std::to_string(h.server_port);
    n.id = stats_tree_create_node(st, n.name.c_str(), s.servers, STAT_DT_INT, TRUE);
    return n;
}

// The outcome counts of a TCP, TLS or QUIC update (a handshake moves from
// one to another). A new handshake is counted by its tracker in its outcome
// now only, so only `after` changed then (no node is set for a value that
// cannot have changed).
template <typename Update, typename Tracker, std::size_t N>
void tree_outcomes(stats_tree* st, const char* name, int parent, const Update& up, const Tracker& t, ws::TreeNode& all,
                   std::array<ws::TreeCounter, N>& nodes) {
    if (up.is_new) all.increase(st, name, 0, TRUE);
    if (up.before == up.after && !up.is_new) return;
    if (!up.is_new)
        nodes[static_cast<std::size_t>(up.before)].set(st, to_string(up.before), parent, FALSE,
                                                       static_cast<gint>(t.outcome_count(up.before)));
    nodes[static_cast<std::size_t>(up.after)].set(st, to_string(up.after), parent, FALSE,
                                                  static_cast<gint>(t.outcome_count(up.after)));
}

void tree_tcp(stats_tree* st, TreeState& s, const HandshakeUpdate& up, const TcpSegment& seg) {
    if (!up.handshake) return;
    const Handshake& h = *up.handshake;
    TreeState::ServerNode& server = server_node(st, s, h);
    tree_outcomes(st, kHandshakes, s.handshakes, up, s.t.tcp, s.tcp_new, s.tcp_outcomes);
    if (up.is_new) {
        s.server_handshakes.increase(st, kServers, 0, TRUE);
        server.handshakes.increase(st, server.name.c_str(), s.servers, TRUE);
    }
    if (up.before != up.after || up.is_new) {
        const auto b = static_cast<std::size_t>(up.before), a = static_cast<std::size_t>(up.after);
        if (!up.is_new) --server.count[b];
        ++server.count[a];
        if (!up.is_new && server.outcome_nodes[b].made())
            server.outcome_nodes[b].set(st, to_string(up.before), server.id, FALSE, server.count[b]);
        server.outcome_nodes[a].set(st, to_string(up.after), server.id, FALSE, server.count[a]);
    }
    if (h.syn_count > 1 && (seg.flags & (tcp_flags::syn | tcp_flags::ack)) == tcp_flags::syn && !up.is_new)
        s.retries.increase(st, kRetries, 0, FALSE);
    if (up.rtt_now_known) {
        s.rtt.average(st, kRtt, 0, FALSE, ms(h.rtt()));
        s.server_leg.average(st, kServerLeg, 0, FALSE, ms(h.server_leg()));
        s.client_leg.average(st, kClientLeg, 0, FALSE, ms(h.client_leg()));
        s.histogram_nodes.tick(st, kHistogram, s.histogram, h.rtt());
        server.rtt.average(st, kRtt, server.id, FALSE, ms(h.rtt()));
        server.server_leg.average(st, kServerLeg, server.id, FALSE, ms(h.server_leg()));
    } else if (h.ack_seen && up.before != up.after && h.negative_time()) {
        s.anomalies.increase(st, kAnomalies, 0, FALSE);
    }
}

void tree_tls(stats_tree* st, TreeState& s, const TlsUpdate& up) {
    if (!up.handshake || up.handshake->context) return;
    const TlsHandshake& h = *up.handshake;
    tree_outcomes(st, kTls, s.tls, up, s.t.tls, s.tls_new, s.tls_outcomes);
    if (h.negative_time()) return;
    if (up.before == TlsOutcome::no_server_hello && h.server_hello_seen) {
        s.tls_server_leg.average(st, kTlsServerLeg, 0, FALSE, ms(h.server_leg()));
        if (h.retried()) s.tls_retried.increase(st, kTlsRetried, 0, FALSE);
    }
    if (up.measured_now) {
        s.tls_handshake.average(st, kTlsHandshake, 0, FALSE, ms(h.handshake()));
        s.tls_histogram_nodes.tick(st, kTlsHistogram, s.tls_histogram, h.handshake());
    }
}

void tree_quic(stats_tree* st, TreeState& s, const QuicUpdate& up) {
    if (!up.handshake || up.handshake->context) return;
    const QuicHandshake& h = *up.handshake;
    tree_outcomes(st, kQuic, s.quic, up, s.t.quic, s.quic_new, s.quic_outcomes);
    if (up.before != up.after && up.after == QuicOutcome::retry) s.quic_retried.increase(st, kQuicRetried, 0, FALSE);
    if (up.measured_now && !h.negative_time()) {
        if (h.zero_rtt) s.quic_zero_rtt.increase(st, kQuicZeroRtt, 0, FALSE);
        s.quic_rtt.average(st, kQuicRtt, 0, FALSE, ms(h.rtt()));
        s.quic_server_leg.average(st, kQuicServerLeg, 0, FALSE, ms(h.server_leg()));
        s.quic_client_leg.average(st, kQuicClientLeg, 0, FALSE, ms(h.client_leg()));
        s.quic_histogram_nodes.tick(st, kQuicHistogram, s.quic_histogram, h.rtt());
    }
}

tap_packet_status tree_packet(stats_tree* st, packet_info*, epan_dissect_t*, const void* data, tap_flags_t) {
    TreeState* state = g_trees.find(st);
    if (!state) return TAP_PACKET_DONT_REDRAW;
    TreeState& s = *state;
    const bool any = feed(
        s.t, data, [&](const HandshakeUpdate& up, const TcpSegment& seg) { tree_tcp(st, s, up, seg); },
        [&](const TlsUpdate& up) { tree_tls(st, s, up); }, [&](const QuicUpdate& up) { tree_quic(st, s, up); });
    return any ? TAP_PACKET_REDRAW : TAP_PACKET_DONT_REDRAW;
}

// ---- table (the GUI's sortable percentiles, -z triage_rtt,table) ----------------
// Three tables: all servers in one row, a row per server (address, port), and
// the histogram in bucket order (its labels sort as text). Percentiles are
// nearest-rank over every handshake, as in the JSON, shown in milliseconds.
constexpr const char* kStats[] = {"p50", "p90", "p95", "p99", "max"};

// "03: <= 0.5 ms": numbered, so that the rows sort as text in bucket order.
std::string bucket_label(const LogHistogram& h, std::size_t i) {
    std::string n = std::to_string(i + 1);
    if (n.size() < 2) n.insert(0, 1, '0');
    const bool last = i + 1 == h.size();
    const Nanos upper = last ? h.upper(i - 1) : h.upper(i);
    return n + (last ? ": > " : ": <= ") + format_double(static_cast<double>(upper) / 1e6, 1) + " ms";
}

// What the TCP, TLS and QUIC tables share: columns `head`, then p50..max of
// each leg, then `tail` and the Filter; the cells of the legs and counts; the
// histogram rows; a tracker restarted with each run's settings, and Problems.
std::vector<TableColumn> leg_columns(std::vector<TableColumn> head, std::initializer_list<const char*> legs,
                                     std::initializer_list<TableColumn> tail = {}) {
    static std::deque<std::string> names;  // Wireshark keeps the pointers
    for (const char* leg : legs)
        for (const char* stat : kStats) {
            names.push_back(std::string(leg) + " " + stat + " (ms)");
            head.push_back({names.back().c_str(), kRight});
        }
    head.insert(head.end(), tail);
    head.push_back({"Filter", kLeft});
    return head;
}

void write_legs(TableRows& t, std::size_t row, std::size_t col, std::initializer_list<const Summary*> legs) {
    for (const Summary* s : legs)
        for (Nanos v : {s->p50, s->p90, s->p95, s->p99, s->max}) {
            t.number(row, col, s->count ? ms3(v) : std::string());
            ++col;
        }
}

template <std::size_t N>
void write_counts(TableRows& t, std::size_t row, std::size_t col, std::uint64_t connections,
                  const std::array<std::uint64_t, N>& outcomes, std::uint64_t retried) {
    t.count(row, col, connections);
    for (std::size_t i = 0; i < N; ++i) t.count(row, col + 1 + i, outcomes[i]);
    t.count(row, col + 1 + N, retried);
}

void write_histogram(TableRows& hist, const LogHistogram& h, std::size_t count_col, std::size_t columns) {
    for (std::size_t i = 0; i < h.size(); ++i) {
        const std::string label = bucket_label(h, i);
        const std::size_t row = hist.row(label);
        hist.text(row, 0, label);
        for (std::size_t c = 1; c < columns; ++c) hist.empty(row, c);
        hist.count(row, count_col, h.count(i));
    }
}

template <typename Tracker>
class HandshakeTable : public TableStat {
public:
    using TableStat::TableStat;
    Tracker tracker;

protected:
    std::string window_error;
    void restart() override {
        const auto settings = prefs::snapshot();
        tracker.clear();
        tracker.set_window(settings->window);
        window_error = settings->window_error;
    }
    void problems(std::uint64_t negative_time, const AnomalyLog& anomalies = AnomalyLog()) {
        std::vector<Problem> p = own_problems();
        if (!window_error.empty()) p.push_back({"error", window_error});
        if (negative_time)
            p.push_back({"negative_time", std::to_string(negative_time) +
                                              " handshakes whose timestamps go backwards (not in the statistics)"});
        write_problems(rows(3), std::move(p), anomalies);
    }
};

std::vector<TableColumn> rtt_columns() {
    return leg_columns({{"Server", kLeft},
                        {"Handshakes", kRight},
                        {"Completed", kRight},
                        {"Refused", kRight},
                        {"Unanswered", kRight},
                        {"No ACK", kRight},
                        {"Retried", kRight}},
                       {"RTT", "Server leg", "Client leg"}, {{"Network path", kLeft}});
}

constexpr std::size_t kColHandshakes = 1, kColRetried = 6, kColFirstLeg = 7, kColPath = 22, kColFilter = 23;
constexpr const char* kOverall = "All servers";
constexpr const char* kPerServer = "Per server (address:port)";
constexpr const char* kHistogramTable = "RTT histogram (completed handshakes)";
constexpr const char* kProblems = "Problems";

std::string server_name(const ServerKey& k) {
    const std::string a = k.address.to_string();
    return (k.address.is_v6() ? "[" + a + "]" : a) + ":" + std::to_string(k.port);
}

// Which leg crosses the network, as the handshakes of a row say.
std::string network_path(const std::array<std::uint64_t, 3>& legs) {
    const std::uint64_t server = legs[static_cast<std::size_t>(NetworkLeg::server_leg)];
    const std::uint64_t client = legs[static_cast<std::size_t>(NetworkLeg::client_leg)];
    if (server && client) return "mixed";
    if (server) return "server leg";
    if (client) return "client leg";
    return legs[static_cast<std::size_t>(NetworkLeg::unclear)] ? "unclear" : "";
}

class RttTable final : public HandshakeTable<Trackers> {
public:
    RttTable()
        : HandshakeTable("triage_rtt,table", "Triage Handshake RTT", "triage", rtt_columns(),
                         {kOverall, kPerServer, kHistogramTable, kProblems}) {}

protected:
    void fill() override {
        const HandshakeReport rep = tracker.tcp.report();
        TableRows& all = rows(0);
        const std::size_t r = all.row(kOverall);
        all.text(r, 0, kOverall);
        write(all, r, rep.connections, rep.outcomes, rep.retried, {&rep.rtt, &rep.server_leg, &rep.client_leg});
        all.text(r, kColPath, network_path(rep.network_leg));
        all.text(r, kColFilter, "tcp.flags.syn == 1");
        TableRows& per = rows(1);
        for (const ServerReport& s : rep.servers) {
            const std::string name = server_name(s.key);
            const std::size_t row = per.row(name);
            per.text(row, 0, name);
            write(per, row, s.connections, s.outcomes, s.retried, {&s.rtt, &s.server_leg, &s.client_leg});
            per.text(row, kColPath, network_path(s.network_leg));
            per.text(row, kColFilter, server_filter(s.key.address, s.key.port));
        }
        write_histogram(rows(2), rep.histogram, kColHandshakes, kColFilter + 1);
        problems(rep.negative_time, tracker.tcp.anomalies());
    }

private:
    static void write(TableRows& t, std::size_t row, std::uint64_t connections,
                      const std::array<std::uint64_t, kOutcomeCount>& outcomes, std::uint64_t retried,
                      std::initializer_list<const Summary*> legs) {
        t.count(row, kColHandshakes, connections);
        const Outcome order[] = {Outcome::completed, Outcome::refused, Outcome::unanswered, Outcome::no_ack};
        for (std::size_t i = 0; i < 4; ++i)
            t.count(row, kColHandshakes + 1 + i, outcomes[static_cast<std::size_t>(order[i])]);
        t.count(row, kColRetried, retried);
        write_legs(t, row, kColFirstLeg, legs);
    }
};

RttTable g_table;

tap_packet_status table_packet(void* listener, packet_info*, epan_dissect_t* edt, const void* data, tap_flags_t) {
    if (g_table.take(listener, edt)) feed(g_table.tracker, data);
    return TAP_PACKET_DONT_REDRAW;
}

// ---- TLS and QUIC tables (-z triage_tls,table, -z triage_quic,table) -------------------
// The same shape as the TCP table, with each protocol's outcomes and legs.
// TLS: Server, SNI, Handshakes, 5 outcomes, Retried, 2 legs x 5, Filter.
constexpr std::size_t kTlsColumns = 2 + 1 + kTlsOutcomeCount + 1 + 10 + 1;

class TlsTable final : public HandshakeTable<TlsTracker> {
public:
    TlsTable()
        : HandshakeTable("triage_tls,table", "Triage TLS Handshakes", "triage",
                         leg_columns({{"Server", kLeft},
                                      {"SNI", kLeft},
                                      {"Handshakes", kRight},
                                      {"Completed", kRight},
                                      {"Alert", kRight},
                                      {"Reset", kRight},
                                      {"No ServerHello", kRight},
                                      {"No client Finished", kRight},
                                      {"HelloRetryRequest", kRight}},
                                     {"Server leg", "Handshake"}),
                         {kOverall, "Per server (address:port, SNI)", "Handshake time histogram (completed handshakes)",
                          kProblems}) {}

protected:
    void fill() override {
        const TlsReport rep = tracker.report();
        TableRows& all = rows(0);
        const std::size_t r = all.row(kOverall);
        all.text(r, 0, kOverall);
        all.empty(r, 1);
        write_counts(all, r, 2, rep.connections, rep.outcomes, rep.retried);
        write_legs(all, r, 9, {&rep.server_leg, &rep.handshake});
        all.text(r, kTlsColumns - 1, "tls.handshake.type == 1");
        TableRows& per = rows(1);
        for (const TlsServerReport& s : rep.servers) {
            const std::string name = server_name({s.address, s.port});
            const std::size_t row = per.row(name + "\n" + s.sni);
            per.text(row, 0, name);
            per.text(row, 1, s.sni);
            write_counts(per, row, 2, s.connections, s.outcomes, s.retried);
            write_legs(per, row, 9, {&s.server_leg, &s.handshake});
            per.text(row, kTlsColumns - 1, server_filter(s.address, s.port));
        }
        write_histogram(rows(2), rep.histogram, 2, kTlsColumns);
        problems(rep.negative_time);
    }
};

// QUIC: Server, Handshakes, 5 outcomes, Retried, 3 legs x 5, Filter.
constexpr std::size_t kQuicColumns = 1 + 1 + kQuicOutcomeCount + 1 + 15 + 1;

class QuicTable final : public HandshakeTable<QuicTracker> {
public:
    QuicTable()
        : HandshakeTable("triage_quic,table", "Triage QUIC Handshakes", "triage",
                         leg_columns({{"Server", kLeft},
                                      {"Handshakes", kRight},
                                      {"Completed", kRight},
                                      {"Unanswered", kRight},
                                      {"Version negotiation", kRight},
                                      {"Retry", kRight},
                                      {"No client reply", kRight},
                                      {"Retried", kRight}},
                                     {"RTT", "Server leg", "Client leg"}),
                         {kOverall, kPerServer, "RTT histogram (completed handshakes)", kProblems}) {}

protected:
    void fill() override {
        const QuicReport rep = tracker.report();
        TableRows& all = rows(0);
        const std::size_t r = all.row(kOverall);
        all.text(r, 0, kOverall);
        write_counts(all, r, 1, rep.connections, rep.outcomes, rep.retried);
        write_legs(all, r, 8, {&rep.rtt, &rep.server_leg, &rep.client_leg});
        all.text(r, kQuicColumns - 1, "quic.long.packet_type == 0");
        TableRows& per = rows(1);
        for (const QuicServerReport& s : rep.servers) {
            const std::string name = server_name({s.address, s.port});
            const std::size_t row = per.row(name);
            per.text(row, 0, name);
            write_counts(per, row, 1, s.connections, s.outcomes, s.retried);
            write_legs(per, row, 8, {&s.rtt, &s.server_leg, &s.client_leg});
            per.text(row, kQuicColumns - 1, quic_filter(s.address, s.port));
        }
        write_histogram(rows(2), rep.histogram, 1, kQuicColumns);
        problems(rep.negative_time);
    }

private:
    static std::string quic_filter(const IpAddress& server, std::uint16_t port) {
        const std::string ip = server.is_v6() ? "ipv6" : "ip";
        const std::string a = server.to_string(), p = std::to_string(port);
        return "(" + ip + ".src == " + a + " && udp.srcport == " + p + ") || (" + ip + ".dst == " + a +
               " && udp.dstport == " + p + ")";
    }
};

TlsTable g_tls_table;
QuicTable g_quic_table;

tap_packet_status tls_table_packet(void* listener, packet_info*, epan_dissect_t* edt, const void* data, tap_flags_t) {
    const auto* r = static_cast<const FrameRecord*>(data);
    if (!r || !g_tls_table.take(listener, edt)) return TAP_PACKET_DONT_REDRAW;
    const FrameRecord::Transport& x = r->transport_headers();
    if (!x.quoted)
        for (std::size_t i = 0; i < x.tcp.size(); ++i) g_tls_table.tracker.add(x.tcp[i], r->tcp_payload(i));
    return TAP_PACKET_DONT_REDRAW;
}

tap_packet_status quic_table_packet(void* listener, packet_info*, epan_dissect_t* edt, const void* data, tap_flags_t) {
    const auto* r = static_cast<const FrameRecord*>(data);
    if (!r || !g_quic_table.take(listener, edt)) return TAP_PACKET_DONT_REDRAW;
    const FrameRecord::Transport& x = r->transport_headers();
    if (!x.quoted)
        for (std::size_t i = 0; i < x.udp.size(); ++i) g_quic_table.tracker.add(x.udp[i].datagram, r->udp_payload(i));
    return TAP_PACKET_DONT_REDRAW;
}

CliStat g_cli{
    "triage_rtt", "Triage Handshake RTT", {"tree", "json", "csv", "tls_csv", "quic_csv", "table"}, start_session};

}  // namespace

void register_rtt() {
    stats_tree_register_plugin("triage", "triage_rtt", TRIAGE_MENU("Handshake RTT"),
                               TL_REQUIRES_NOTHING | (ST_SORT_COL_NAME << ST_FLG_SRTCOL_SHIFT), ws::guard<tree_packet>,
                               ws::guard<tree_init>, ws::guard<tree_cleanup>);
    register_cli(&g_cli);
    g_table.register_ui(ws::guard<table_packet>);
    g_tls_table.register_ui(ws::guard<tls_table_packet>);
    g_quic_table.register_ui(ws::guard<quic_table_packet>);
}

}  // namespace triage::tap
