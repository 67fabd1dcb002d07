// Triage's postdissector: the single producer of per-frame facts. It runs
// after every dissector of a frame, builds one FrameRecord (outermost IP
// header and transport, innermost endpoints, policy hits) from the public tap
// data of the ip/ipv6/tcp/udp/rpc dissectors, queues it on the `triage` tap,
// and marks policy hits with triage.unwanted* fields and expert items.
#pragma once

namespace triage::dissectors {

void register_fields();           // fields, expert info, the rpc helper (proto_register phase)
void register_handoff();          // the postdissector (handoff phase)
void register_helper_listener();  // tap listener phase

}  // namespace triage::dissectors
