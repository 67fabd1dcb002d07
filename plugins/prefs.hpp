// Triage's protocol registration (the "triage" preferences module, UATs) and
// the settings they hold, validated and compiled for the taps.
#pragma once

#include <string>
#include <vector>

#include "triage/egress_tracker.hpp"
#include "triage/unwanted_policy.hpp"

namespace triage::prefs {

int proto_id();

// Egress settings in force (defaults where a preference is invalid).
const EgressConfig& egress_config();
// Messages about invalid egress preferences (empty when all are valid).
const std::vector<std::string>& egress_errors();

// The compiled unwanted-protocol policy; match() may extend it (allow-list mode).
CompiledPolicy& policy();
const std::vector<std::string>& policy_errors();
// Bumped whenever the policy is recompiled: rule indices from an older
// generation are meaningless.
unsigned policy_generation();

void register_protocol();  // proto_register_* phase
void register_handoff();   // proto_reg_handoff_* phase

}  // namespace triage::prefs
