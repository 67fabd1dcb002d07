#pragma once

namespace triage::dissectors {

void register_unwanted_fields();   // fields and expert info (proto_register phase)
void register_unwanted_handoff();  // the postdissector (handoff phase)

}  // namespace triage::dissectors
