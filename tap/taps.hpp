// Registration entry points of the three Triage statistics.
#pragma once

namespace triage::tap {

void register_rtt();       // Statistics > Triage > Handshake RTT, -z triage_rtt,...
void register_unwanted();  // Statistics > Triage > Unwanted Protocols, -z triage_unwanted,...
void register_egress();    // Statistics > Triage > Outbound Volume, -z triage_egress,...
void register_null();      // -z triage_null: the benchmark baseline (a tap that does nothing)

}  // namespace triage::tap
