// Registration of the tshark-only output forms of a Triage statistic
// ("-z <stat>,json[,filter]", "-z <stat>,csv[,filter]") and of a catch-all
// "-z <stat>" that rejects unknown forms with a usage line. The "tree" form
// comes from the stats_tree registration.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "plugins/ws.hpp"
#include "triage/args.hpp"
#include "triage/time_anomalies.hpp"

namespace triage::tap {

struct CliStat {
    std::string stat;                // "triage_rtt"
    std::string title;               // "Triage Handshake RTT"
    std::vector<std::string> forms;  // every form, "tree" included, for the usage line
    // Starts a json/csv session for a parsed argument; returns an error
    // message (empty on success).
    std::function<std::string(const StatArg&)> start;
};

// `stat` must outlive the process (Wireshark keeps pointers into it).
void register_cli(CliStat* stat);

// Exits tshark with a message, as tshark's own statistics do on bad arguments.
[[noreturn]] void fail(const std::string& message);

// One stderr line per kind of anomaly, so that a script reading only stdout
// still leaves a trace in its logs.
void warn_anomalies(const char* stat, const AnomalyLog& log);

// Registers a tap listener; returns an error message (empty on success).
std::string attach(const char* tap, void* data, const std::string& filter, guint flags, tap_reset_cb reset,
                   tap_packet_cb packet, tap_draw_cb draw, tap_finish_cb finish);

}  // namespace triage::tap
