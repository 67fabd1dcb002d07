// -z triage_null: a frame tap that does nothing, the benchmark baseline
// (the cost of dissection alone; -z io,stat,0 does work of its own).
#include "plugins/ws.hpp"
#include "tap/cli_forms.hpp"
#include "tap/taps.hpp"

namespace triage::tap {
namespace {

tap_packet_status noop(void*, packet_info*, epan_dissect_t*, const void*, tap_flags_t) {
    return TAP_PACKET_DONT_REDRAW;
}

ws::stat_tap_init_result start(const char*, void*) {
    static char key;
    const std::string err = attach("frame", &key, "", TL_REQUIRES_NOTHING, nullptr, noop, nullptr, nullptr);
    if (!err.empty()) fail("triage_null: " + err);
    TRIAGE_STAT_TAP_INIT_OK;
}

stat_tap_ui g_ui{REGISTER_STAT_GROUP_GENERIC, "Triage benchmark baseline", "triage_null", start, 0, nullptr};

}  // namespace

void register_null() {
    register_stat_tap_ui(&g_ui, nullptr);
}

}  // namespace triage::tap
