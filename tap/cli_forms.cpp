#include "tap/cli_forms.hpp"

#include <cstdio>
#include <cstdlib>
#include <deque>

namespace triage::tap {

namespace {

struct Registration {
    CliStat* stat;
    std::string cli;
    stat_tap_ui ui;
};

std::deque<Registration>& registrations() {
    static std::deque<Registration> regs;  // stable addresses: Wireshark keeps &ui
    return regs;
}

ws::stat_tap_init_result on_arg(const char* arg, void* userdata) {
    auto* stat = static_cast<CliStat*>(userdata);
    StatArg parsed;
    std::string error;
    if (!parse_stat_arg(arg, stat->stat, stat->forms, &parsed, &error)) fail(error);
    if (parsed.form == "tree" || parsed.form == "table") {
        // Only reached for near-misses such as "triage_rtt,tree2": the real
        // tree and table forms are claimed by their own registrations.
        fail("triage: invalid -z argument \"" + std::string(arg) +
             "\". Valid forms: " + usage_line(stat->stat, stat->forms));
    }
    error = stat->start(parsed);
    if (!error.empty()) fail(error);
    TRIAGE_STAT_TAP_INIT_OK;
}

}  // namespace

void fail(const std::string& message) {
    std::fflush(stdout);
    std::fprintf(stderr, "%s\n", message.c_str());
    std::exit(1);
}

void warn_anomalies(const char* stat, const AnomalyLog& log) {
    for (const char* kind : {"time_backwards", "time_jump", "time_out_of_range", "counter_limit"}) {
        const std::uint64_t n = log.count(kind);
        if (n == 0) continue;
        const Anomaly* first = nullptr;
        for (const Anomaly& a : log.listed())
            if (a.kind == kind && !first) first = &a;
        std::fprintf(stderr, "%s: warning: %llu %s anomal%s (first at frame %u: %s); see \"anomalies\"\n", stat,
                     static_cast<unsigned long long>(n), kind, n == 1 ? "y" : "ies", first ? first->frame : 0,
                     first ? first->detail.c_str() : "");
    }
}

std::string attach(const char* tap, void* data, const std::string& filter, guint flags, tap_reset_cb reset,
                   tap_packet_cb packet, tap_draw_cb draw, tap_finish_cb finish) {
    GString* err =
        register_tap_listener(tap, data, filter.empty() ? nullptr : filter.c_str(), flags, reset, packet, draw, finish);
    if (!err) return {};
    std::string msg = err->str;
    g_string_free(err, TRUE);
    return msg;
}

void register_cli(CliStat* stat) {
    // Wireshark matches -z arguments by prefix, longest registered name first
    // (it walks its sorted list backwards), so the bare "<stat>" entry only
    // sees arguments that no specific form claimed.
    std::vector<std::string> clis;
    for (const std::string& f : stat->forms)
        if (f != "tree" && f != "table") clis.push_back(stat->stat + "," + f);
    clis.push_back(stat->stat);
    for (const std::string& cli : clis) {
        registrations().push_back(Registration{stat, cli, {}});
        Registration& r = registrations().back();
        r.ui.group = REGISTER_STAT_GROUP_GENERIC;
        r.ui.title = stat->title.c_str();
        r.ui.cli_string = r.cli.c_str();
        r.ui.tap_init_cb = ws::guard<on_arg>;
        r.ui.nparams = 0;
        r.ui.params = nullptr;
        register_stat_tap_ui(&r.ui, stat);
    }
}

}  // namespace triage::tap
