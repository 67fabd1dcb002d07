// Registration of the tshark-only output forms of a Triage statistic
// ("-z <stat>,json[,filter]", "-z <stat>,csv[,filter]") and of a catch-all
// "-z <stat>" that rejects unknown forms with a usage line. The "tree" form
// comes from the stats_tree registration.
#pragma once

#include <functional>
#include <map>
#include <memory>
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

// The state of each open tree of one statistic: a 4.0 stats_tree has no
// user-data pointer, and the GUI can have several dialogs open at once.
template <typename State>
class TreeStates {
public:
    void put(stats_tree* st, std::unique_ptr<State> state) { map_[st] = std::move(state); }
    State* find(stats_tree* st) {
        const auto it = map_.find(st);
        return it == map_.end() ? nullptr : it->second.get();
    }
    void erase(stats_tree* st) { map_.erase(st); }

private:
    std::map<stats_tree*, std::unique_ptr<State>> map_;
};

// Registers a tap listener; returns an error message (empty on success).
std::string attach(const char* tap, void* data, const std::string& filter, guint flags, tap_reset_cb reset,
                   tap_packet_cb packet, tap_draw_cb draw, tap_finish_cb finish);

}  // namespace triage::tap
