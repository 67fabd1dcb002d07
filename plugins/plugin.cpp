// Plugin entry: what Wireshark looks up in triage.so, and the order in which
// the protocol (preferences, fields, postdissector) and the taps register.
#include "dissectors/postdissector.hpp"
#include "plugins/menu.hpp"
#include "plugins/prefs.hpp"
#include "plugins/ws.hpp"
#include "tap/table_stat.hpp"
#include "tap/taps.hpp"

// C++ gives const globals internal linkage: these need extern "C" and the
// single-declaration form to be exported (see docs/wireshark-4.0-plugin-facts).
extern "C" WS_DLL_PUBLIC_DEF const char plugin_version[] = TRIAGE_VERSION;
extern "C" WS_DLL_PUBLIC_DEF const int plugin_want_major = TRIAGE_WS_MAJOR;
extern "C" WS_DLL_PUBLIC_DEF const int plugin_want_minor = TRIAGE_WS_MINOR;

extern "C" {
WS_DLL_PUBLIC void plugin_register(void);
#if TRIAGE_WS_AT_LEAST(4, 2)
// What `tshark -G plugins` shows as the plugin's type (4.2+).
WS_DLL_PUBLIC uint32_t plugin_describe(void);
uint32_t plugin_describe(void) {
    return WS_PLUGIN_DESC_DISSECTOR | WS_PLUGIN_DESC_TAP_LISTENER;
}
#endif
}

namespace triage::ws {
void report_internal_error(const char* what) {
    static int reported = 0;
    if (reported++ < 5) std::fprintf(stderr, "triage: internal error (statistic stopped): %s\n", what);
}

bool TreeNode::by_name() {
    static const bool set = g_getenv("TRIAGE_STATS_TREE_BY_NAME") != nullptr;
    return set;
}
}  // namespace triage::ws

namespace {

void register_protoinfo() {
    triage::prefs::register_protocol();
    triage::dissectors::register_fields();
}

void register_handoff() {
    triage::prefs::register_handoff();
    triage::dissectors::register_handoff();
    triage::menu::register_menu(triage::prefs::proto_id());
}

// An epan plugin only to hear when a dissection context is cleaned up: the
// table statistics write their rows then (see tap/table_stat.hpp).
void no_op() {}
void no_op_edt(epan_dissect_t*) {}
void dissection_ended(epan_dissect_t* edt) {
    triage::tap::finish_tables(edt);
}

void register_tap_listeners() {
    triage::dissectors::register_helper_listener();
    triage::tap::register_rtt();
    triage::tap::register_unwanted();
    triage::tap::register_egress();
    triage::tap::register_null();
}

}  // namespace

void plugin_register(void) {
    static proto_plugin proto;
    proto.register_protoinfo = register_protoinfo;
    proto.register_handoff = register_handoff;
    proto_register_plugin(&proto);

    static tap_plugin taps;
    taps.register_tap_listener = register_tap_listeners;
    tap_register_plugin(&taps);

    // Wireshark calls each of these unconditionally (4.0): none may be null.
    static epan_plugin hooks;
    hooks.init = no_op;
    hooks.post_init = no_op;
    hooks.dissect_init = no_op_edt;
    hooks.dissect_cleanup = triage::ws::guard<dissection_ended>;
    hooks.cleanup = no_op;
    epan_register_plugin(&hooks);
}
