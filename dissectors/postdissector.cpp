#include "dissectors/postdissector.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "plugins/prefs.hpp"
#include "plugins/ws.hpp"
#include "triage/frame_record.hpp"
#include "triage/id_filter.hpp"

namespace triage::dissectors {
namespace {

int hf_unwanted = -1, hf_severity = -1, hf_reason = -1, hf_category = -1;
gint ett_triage = -1;
expert_field ei_low = EI_INIT, ei_medium = EI_INIT, ei_high = EI_INIT, ei_critical = EI_INIT;

// What the producer reads on every frame besides the frame, in one cache
// line (between two frames the dissection evicts it, and each line read back
// is a miss): the tap ids of the dissectors whose public tap data it reads,
// looked up at handoff (they register before any plugin's handoff), Triage's
// own tap, and the policy in force.
struct alignas(64) Ids {
    int ip_tap = -1, ipv6_tap = -1, tcp_tap = -1, udp_tap = -1, rpc_tap = -1, expert_tap = -1;
    int triage_tap = -1;               // prefs::triage_tap(), registered before the handoff
    CompiledPolicy* policy = nullptr;  // prefs::on_change keeps it current
};
Ids g_ids;

// What the walk over a frame's layers does with a protocol id: only a few
// protocols have a kind, found in one load (IdKinds), set at handoff.
enum class Layer : std::uint8_t { other, self, ip4, ip6, tcp, udp, rpc, icmp, http };
constexpr std::size_t kLayerKinds = static_cast<std::size_t>(Layer::http) + 1;  // http: the last kind
IdKinds g_layers;

Layer layer_of(int id) {
    return static_cast<Layer>(g_layers.kind(id));
}

expert_field* expert_for(Severity s) {
    switch (s) {
        case Severity::low:
            return &ei_low;
        case Severity::medium:
            return &ei_medium;
        case Severity::critical:
            return &ei_critical;
        default:
            return &ei_high;
    }
}

template <typename T>
const T* tapped(int tap, std::uint32_t index = 0) {
    return tap <= 0 ? nullptr : static_cast<const T*>(fetch_tapped_data(tap, static_cast<int>(index)));
}

// Wireshark shows an ONC-RPC program's protocol (mount, nfs, portmap ...) on
// NULL procedure calls and empty replies without running the program's
// dissector, so pinfo->layers lacks it; the rpc tap data names the program.
int rpc_program(const rpc_call_info_value* call) {
    if (!call || !rpc_progs) return -1;
    const auto* prog =
        static_cast<const rpc_prog_info_value*>(g_hash_table_lookup(rpc_progs, GUINT_TO_POINTER(call->prog)));
    return prog ? prog->proto_id : -1;
}

// What the producer keeps of a frame while it is dissected: Wireshark's tap
// data can be fetched only then (not once the frame's taps run), so the
// pointers are kept, and each part of the record is built from them when a
// listener first asks (FrameRecord's loaders): a statistic pays only for what
// it reads.
//
// The frame's layers are walked once, here: their protocol ids (for the
// policy), which of the IP headers comes first, whether an ICMP error quotes
// the headers; and only the taps of protocols the frame has are searched.
struct LoadContext {
    const packet_info* pinfo = nullptr;
    tvbuff_t* tvb = nullptr;
    Nanos time = 0;  // the frame's (clamped)
    const ws_ip4* ip4 = nullptr;
    const ws_ip6* ip6 = nullptr;
    const rpc_call_info_value* rpc = nullptr;
    std::vector<const tcp_info_t*> tcp;
    std::vector<const e_udphdr*> udp;
    // Protocol ids, outermost first, without this postdissector; then the
    // protocol of an ONC-RPC call's program (rpc_program).
    std::vector<int> layers;
    bool ip6_first = false;  // an IPv6 header comes before any IPv4 header
    bool quoted = false;     // ICMP or ICMPv6 among the layers
    bool http = false;
    void fetch() {
        layers.clear();
        // How many layers of each kind, counted without a branch on the
        // kind (a switch here was an indirect jump that mispredicted on
        // most frames); an IPv6 header is first when no IPv4 header came
        // before it.
        std::array<std::uint32_t, kLayerKinds> seen{};
        bool ip6_before_ip4 = false;
        for (wmem_list_frame_t* f = wmem_list_head(pinfo->layers); f; f = wmem_list_frame_next(f)) {
            const int id = GPOINTER_TO_INT(wmem_list_frame_data(f));
            const Layer kind = layer_of(id);
            if (kind == Layer::self) continue;  // this postdissector, running now
            layers.push_back(id);
            ip6_before_ip4 |= kind == Layer::ip6 && seen[static_cast<std::size_t>(Layer::ip4)] == 0;
            ++seen[static_cast<std::size_t>(kind)];
        }
        const auto count = [&seen](Layer l) { return seen[static_cast<std::size_t>(l)]; };
        const bool has_ip4 = count(Layer::ip4) != 0, has_ip6 = count(Layer::ip6) != 0;
        const bool has_rpc = count(Layer::rpc) != 0;
        ip6_first = ip6_before_ip4;
        quoted = count(Layer::icmp) != 0;  // icmp and icmpv6
        http = count(Layer::http) != 0;
        ip4 = has_ip4 ? tapped<ws_ip4>(g_ids.ip_tap) : nullptr;
        ip6 = has_ip6 ? tapped<ws_ip6>(g_ids.ipv6_tap) : nullptr;
        rpc = has_rpc ? tapped<rpc_call_info_value>(g_ids.rpc_tap) : nullptr;
        if (const int prog = rpc_program(rpc); prog >= 0) layers.push_back(prog);
        tcp.clear();
        udp.clear();
        // A dissector queues its tap data at most once per layer it
        // dissects (udp and udplite both on the udp tap): no fetch past them.
        for (std::uint32_t i = 0, n = count(Layer::tcp); i < n; ++i) {
            const auto* th = tapped<tcp_info_t>(g_ids.tcp_tap, i);
            if (!th) break;
            tcp.push_back(th);
        }
        for (std::uint32_t i = 0, n = count(Layer::udp); i < n; ++i) {
            const auto* uh = tapped<e_udphdr>(g_ids.udp_tap, i);
            if (!uh) break;
            udp.push_back(uh);
        }
    }
};

void outer_ip(const LoadContext& c, FrameRecord* r) {
    const ws_ip4* ip4 = c.ip4;
    const ws_ip6* ip6 = c.ip6;
    if (ip4 && ip6) {
        // Both: the one whose protocol appears first among the frame's layers.
        if (c.ip6_first)
            ip4 = nullptr;
        else
            ip6 = nullptr;
    }
    if (ip4 && ip4->ip_ver == 4) {
        r->outer_src = ws::to_ip(ip4->ip_src);
        r->outer_dst = ws::to_ip(ip4->ip_dst);
        r->ip_len = ip4->ip_len;
        r->ip_proto = ip4->ip_proto;
    } else if (ip6 && ip6->ip6_ver == 6) {
        r->outer_src = ws::to_ip(ip6->ip6_src);
        r->outer_dst = ws::to_ip(ip6->ip6_dst);
        r->ip_len = ip6->ip6_len + 40u;
        r->ip_proto = ip6->ip6_nxt;
    } else {
        return;
    }
    // The first TCP/UDP header of the frame belongs to the outermost IP
    // header only if that header carries it directly (not IP-in-IP, not the
    // header an ICMP error quotes).
    if (r->ip_proto == 6) {
        if (const tcp_info_t* th = c.tcp.empty() ? nullptr : c.tcp.front()) {
            r->transport = 6;
            r->sport = th->th_sport;
            r->dport = th->th_dport;
            r->payload = th->th_have_seglen ? th->th_seglen : 0;
        }
    } else if (r->ip_proto == 17) {
        if (const e_udphdr* uh = c.udp.empty() ? nullptr : c.udp.front()) {
            r->transport = 17;
            r->sport = uh->uh_sport;
            r->dport = uh->uh_dport;
            r->payload = uh->uh_ulen >= 8 ? uh->uh_ulen - 8u : 0;
        }
    }
}

void policy_hits(const LoadContext& c, FrameRecord* r) {
    CompiledPolicy& policy = *g_ids.policy;
    r->matched_policy = &policy;
    policy.match(c.layers.data(), c.layers.size(), r->inner_transport, r->inner_sport, r->inner_dport, &r->matched);
    if (c.http && is_tracker_request(ws::frame_bytes(c.tvb)))
        if (auto rule = policy.detector_rule(kTrackerDetector)) r->matched.push_back(*rule);  // a rule of its own
}

void show_hits(const FrameRecord& r, tvbuff_t* tvb, packet_info* pinfo, proto_tree* tree) {
    const auto& rules = r.policy()->rules();
    if (!tree) {
        // -z expert without a tree still collects expert items.
        for (std::uint32_t h : r.hits()) {
            const Rule& rule = rules[h];
            expert_add_info_format(pinfo, nullptr, expert_for(rule.severity), "Unwanted protocol %s (%s): %s",
                                   rule.protocol.c_str(), to_string(rule.severity), rule.reason.c_str());
        }
        return;
    }
    proto_item* top = proto_tree_add_item(tree, prefs::proto_id(), tvb, 0, 0, ENC_NA);
    proto_item_set_generated(top);
    proto_tree* t = proto_item_add_subtree(top, ett_triage);
    for (std::uint32_t h : r.hits()) {
        const Rule& rule = rules[h];
        proto_item* pi = proto_tree_add_string(t, hf_unwanted, tvb, 0, 0, rule.protocol.c_str());
        proto_item_set_generated(pi);
        proto_item_set_generated(proto_tree_add_string(t, hf_severity, tvb, 0, 0, to_string(rule.severity)));
        proto_item_set_generated(proto_tree_add_string(t, hf_category, tvb, 0, 0, rule.category.c_str()));
        proto_item_set_generated(proto_tree_add_string(t, hf_reason, tvb, 0, 0, rule.reason.c_str()));
        expert_add_info_format(pinfo, pi, expert_for(rule.severity), "Unwanted protocol %s (%s): %s",
                               rule.protocol.c_str(), to_string(rule.severity), rule.reason.c_str());
        proto_item_append_text(top, ", %s (%s)", rule.protocol.c_str(), to_string(rule.severity));
    }
}

// The frame's TCP and UDP headers from their taps, for the trackers that
// read them (TcpSegment as the Handshake RTT statistic has always read the
// tcp tap), and its bytes.
void load_ip(const void* context, FrameRecord* r) {
    outer_ip(*static_cast<const LoadContext*>(context), r);
}

void load_inner_hosts(const void* context, FrameRecord* r) {
    const packet_info* pinfo = static_cast<const LoadContext*>(context)->pinfo;
    r->inner_src = ws::to_ip(pinfo->net_src);
    r->inner_dst = ws::to_ip(pinfo->net_dst);
}

void load_inner(const void* context, FrameRecord* r) {
    const auto* c = static_cast<const LoadContext*>(context);
    const packet_info* pinfo = c->pinfo;
    r->inner_transport = pinfo->ptype == PT_TCP ? 6 : pinfo->ptype == PT_UDP ? 17 : 0;
    r->inner_sport = static_cast<std::uint16_t>(pinfo->srcport);
    r->inner_dport = static_cast<std::uint16_t>(pinfo->destport);
    policy_hits(*c, r);
}

void load_transport(const void* context, FrameRecord::Transport* out) {
    const auto* c = static_cast<const LoadContext*>(context);
    const packet_info* pinfo = c->pinfo;
    const Nanos time = c->time;
    for (const tcp_info_t* th : c->tcp) {
        TcpSegment& seg = out->tcp.emplace_back();
        seg.stream = th->th_stream;
        seg.frame = pinfo->num;
        seg.time = time;
        seg.src = ws::to_ip(th->ip_src);
        seg.dst = ws::to_ip(th->ip_dst);
        seg.sport = th->th_sport;
        seg.dport = th->th_dport;
        seg.flags = th->th_flags;
        seg.seq = th->th_rawseq;
        seg.ack = th->th_rawack;
        seg.seglen = th->th_have_seglen ? th->th_seglen : 0;
        out->tcp_header_len.push_back(th->th_hlen);
    }
    for (const e_udphdr* uh : c->udp) {
        FrameRecord::Udp& u = out->udp.emplace_back();
        u.datagram.frame = pinfo->num;
        u.datagram.time = time;
        u.datagram.src = ws::to_ip(uh->ip_src);
        u.datagram.dst = ws::to_ip(uh->ip_dst);
        u.datagram.sport = uh->uh_sport;
        u.datagram.dport = uh->uh_dport;
        u.datagram.length = uh->uh_ulen >= 8 ? uh->uh_ulen - 8u : 0;
        u.checksum = uh->uh_sum;
    }
    // An ICMP error quotes the start of the packet it answers: its headers
    // are not traffic of their own (the TCP handshake tracker has always
    // seen them, and keeps doing so).
    out->quoted = c->quoted;
    const std::string_view bytes = ws::frame_bytes(c->tvb);
    out->bytes = reinterpret_cast<const std::uint8_t*>(bytes.data());
    out->captured = bytes.size();
}

// The record of the frame being dissected and what its loaders read: valid
// until the frame's taps have run (tap_push_tapped_queue, right after
// dissection); the next frame overwrites them. Not function-local statics: no
// guard to read on every frame.
FrameRecord g_record;
LoadContext g_load;

int dissect(tvbuff_t* tvb, packet_info* pinfo, proto_tree* tree, void*) {
    const bool listened = have_tap_listener(g_ids.triage_tap);
    if (g_ids.expert_tap <= 0) g_ids.expert_tap = find_tap_id("expert");  // registered after our handoff
    const bool expert = g_ids.expert_tap > 0 && have_tap_listener(g_ids.expert_tap);
    if (!listened && !tree && !expert) return 0;

    FrameRecord& r = g_record;
    LoadContext& load = g_load;
    r.frame = pinfo->num;
    r.time = ws::to_nanos(pinfo->abs_ts);
    r.frame_len = pinfo->fd->pkt_len;
    load.pinfo = pinfo;
    load.time = r.time;
    load.tvb = tvb;
    load.fetch();
    r.set_loaders({load_ip, load_inner, load_inner_hosts, load_transport}, &load);
    if (tree || expert) {
        const std::vector<std::uint32_t>& hits = r.hits();  // shown now, with the frame
        if (!hits.empty()) show_hits(r, tvb, pinfo, tree);
    }
    if (listened) tap_queue_packet(g_ids.triage_tap, pinfo, &r);
    return 0;
}

// A listener that does nothing, flagged as a dissector helper: while it is
// registered Wireshark keeps the frame's tap data (fetch_tapped_data) even
// when no statistic runs, so `-Y triage.unwanted` alone sees ONC-RPC programs
// exactly as the statistic does. It changes no dissection.
tap_packet_status helper_packet(void*, packet_info*, epan_dissect_t*, const void*, tap_flags_t) {
    return TAP_PACKET_DONT_REDRAW;
}

}  // namespace

void register_fields() {
    static hf_register_info hf[] = {
        {&hf_unwanted,
         {"Unwanted protocol", "triage.unwanted", FT_STRING, BASE_NONE, nullptr, 0x0,
          "Protocol (or port:<label>) that the Triage policy forbids", HFILL}},
        {&hf_severity,
         {"Severity", "triage.unwanted.severity", FT_STRING, BASE_NONE, nullptr, 0x0, "low, medium, high or critical",
          HFILL}},
        {&hf_category,
         {"Category", "triage.unwanted.category", FT_STRING, BASE_NONE, nullptr, 0x0,
          "Kind of risk, e.g. p2p, cleartext-login", HFILL}},
        {&hf_reason,
         {"Reason", "triage.unwanted.reason", FT_STRING, BASE_NONE, nullptr, 0x0, "Why the policy forbids it", HFILL}},
    };
    static gint* ett[] = {&ett_triage};
    static ei_register_info ei[] = {
        {&ei_low, {"triage.unwanted.low", PI_SECURITY, PI_NOTE, "Unwanted protocol (low severity)", EXPFILL}},
        {&ei_medium, {"triage.unwanted.medium", PI_SECURITY, PI_WARN, "Unwanted protocol (medium severity)", EXPFILL}},
        {&ei_high, {"triage.unwanted.high", PI_SECURITY, PI_WARN, "Unwanted protocol (high severity)", EXPFILL}},
        {&ei_critical,
         {"triage.unwanted.critical", PI_SECURITY, PI_ERROR, "Unwanted protocol (critical severity)", EXPFILL}},
    };
    proto_register_field_array(prefs::proto_id(), hf, G_N_ELEMENTS(hf));
    proto_register_subtree_array(ett, G_N_ELEMENTS(ett));
    expert_module_t* em = expert_register_protocol(prefs::proto_id());
    expert_register_field_array(em, ei, G_N_ELEMENTS(ei));
    prefs::on_change([](const prefs::Settings& s) { g_ids.policy = s.policy.get(); });
}

void register_handoff() {
    g_ids.triage_tap = prefs::triage_tap();
    g_ids.ip_tap = find_tap_id("ip");
    g_ids.ipv6_tap = find_tap_id("ipv6");
    g_ids.tcp_tap = find_tap_id("tcp");
    g_ids.udp_tap = find_tap_id("udp");
    g_ids.rpc_tap = find_tap_id("rpc");
    std::vector<std::pair<int, std::uint8_t>> kinds;
    const auto set_layer = [&kinds](int id, Layer l) {
        if (id >= 0) kinds.emplace_back(id, static_cast<std::uint8_t>(l));  // id < 0: a protocol this Wireshark lacks
    };
    const auto layer = [&set_layer](const char* filter_name, Layer l) {
        set_layer(proto_get_id_by_filter_name(filter_name), l);
    };
    layer("ip", Layer::ip4);
    layer("ipv6", Layer::ip6);
    layer("tcp", Layer::tcp);
    layer("udp", Layer::udp);
    layer("udplite", Layer::udp);
    layer("rpc", Layer::rpc);
    layer("icmp", Layer::icmp);
    layer("icmpv6", Layer::icmp);
    layer("http", Layer::http);
    set_layer(prefs::proto_id(), Layer::self);
    if (!g_layers.set(kinds)) g_warning("triage: the protocols the producer looks for could not be indexed");
    dissector_handle_t h = create_dissector_handle(ws::guard<dissect>, prefs::proto_id());
    register_postdissector(h);
}

void register_helper_listener() {
    static char key;
    GString* err = register_tap_listener("rpc", &key, nullptr, TL_IS_DISSECTOR_HELPER, nullptr,
                                         ws::guard<helper_packet>, nullptr, nullptr);
    if (err) g_string_free(err, TRUE);
}

}  // namespace triage::dissectors
