// Triage's protocol registration (the "triage" preferences module, UATs) and
// the settings they hold, validated and compiled for the producer and taps.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "triage/egress_tracker.hpp"
#include "triage/unwanted_policy.hpp"

namespace triage::prefs {

int proto_id();
// Triage's own tap ("triage"): one FrameRecord per frame, queued by the postdissector.
int triage_tap();

// Settings as they were when taken; never changed afterwards (a preference
// change makes a new object). The compiled policy is shared with the producer,
// which may append allow-list rules to it while dissecting.
struct Settings {
    EgressConfig egress;                       // defaults where a preference is invalid
    std::vector<std::string> egress_errors;    // invalid egress preferences
    std::shared_ptr<CompiledPolicy> policy;    // never null
    std::vector<std::string> policy_errors;    // invalid policy entries (skipped)
    std::vector<std::string> policy_warnings;  // user entries that cannot match as things stand (stderr too)
    std::vector<std::string> policy_notes;     // built-in entries that cannot match (in the output only)
    FrameWindow window;                        // the frames counted (batch jobs); the rest is context
    std::string window_error;                  // an impossible window (no statistic starts)
};

// A snapshot for a statistic session: the settings in force plus warnings
// about Wireshark's state now (disabled protocols, heuristics that are off).
std::shared_ptr<const Settings> snapshot();

// Calls `hook` with the settings in force now and after every change.
void on_change(void (*hook)(const Settings&));

void register_protocol();  // proto_register_* phase
void register_handoff();   // proto_reg_handoff_* phase

}  // namespace triage::prefs
