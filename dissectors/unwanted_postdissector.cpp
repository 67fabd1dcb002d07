// Postdissector: marks every frame that the unwanted-protocol policy matches
// with triage.unwanted* fields and a Security expert item, so that
// `-Y triage.unwanted`, coloring rules and Expert Information work.
#include "dissectors/unwanted_postdissector.hpp"

#include <vector>

#include "plugins/prefs.hpp"
#include "plugins/ws.hpp"
#include "tap/frame_facts.hpp"

namespace triage::dissectors {
namespace {

int hf_unwanted = -1, hf_severity = -1, hf_reason = -1, hf_category = -1;
gint ett_triage = -1;
expert_field ei_low = EI_INIT, ei_medium = EI_INIT, ei_high = EI_INIT, ei_critical = EI_INIT;

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

int g_expert_tap = -1;

int dissect(tvbuff_t* tvb, packet_info* pinfo, proto_tree* tree, void*) {
    // Nothing to show without a tree, unless an expert listener (-z expert)
    // collects expert items: the statistics taps do their own matching.
    if (g_expert_tap <= 0) g_expert_tap = find_tap_id("expert");  // registered after our handoff
    if (!tree && !(g_expert_tap > 0 && have_tap_listener(g_expert_tap))) return 0;
    static thread_local std::vector<std::uint32_t> hits;
    tap::unwanted_hits(pinfo, tvb, &hits);
    if (hits.empty()) return 0;
    const auto& rules = prefs::policy().rules();
    if (!tree) {
        for (std::uint32_t h : hits) {
            const Rule& r = rules[h];
            expert_add_info_format(pinfo, nullptr, expert_for(r.severity), "Unwanted protocol %s (%s): %s",
                                   r.protocol.c_str(), to_string(r.severity), r.reason.c_str());
        }
        return 0;
    }
    proto_item* top = proto_tree_add_item(tree, prefs::proto_id(), tvb, 0, 0, ENC_NA);
    proto_item_set_generated(top);
    proto_tree* t = proto_item_add_subtree(top, ett_triage);
    for (std::uint32_t h : hits) {
        const Rule& r = rules[h];
        proto_item* pi = proto_tree_add_string(t, hf_unwanted, tvb, 0, 0, r.protocol.c_str());
        proto_item_set_generated(pi);
        proto_item_set_generated(proto_tree_add_string(t, hf_severity, tvb, 0, 0, to_string(r.severity)));
        proto_item_set_generated(proto_tree_add_string(t, hf_category, tvb, 0, 0, r.category.c_str()));
        proto_item_set_generated(proto_tree_add_string(t, hf_reason, tvb, 0, 0, r.reason.c_str()));
        expert_add_info_format(pinfo, pi, expert_for(r.severity), "Unwanted protocol %s (%s): %s", r.protocol.c_str(),
                               to_string(r.severity), r.reason.c_str());
        proto_item_append_text(top, ", %s (%s)", r.protocol.c_str(), to_string(r.severity));
    }
    return 0;
}

}  // namespace

void register_unwanted_fields() {
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
}

void register_unwanted_handoff() {
    dissector_handle_t h = create_dissector_handle(ws::guard<dissect>, prefs::proto_id());
    register_postdissector(h);
}

}  // namespace triage::dissectors
