// Per-frame facts shared by the unwanted-protocol tap and postdissector.
#pragma once

#include <vector>

#include "plugins/prefs.hpp"
#include "plugins/ws.hpp"
#include "triage/alert_tracker.hpp"

namespace triage::tap {

// The IP protocol number of the frame's last transport layer (0: none).
inline std::uint8_t transport_of(const packet_info* pinfo) {
    return pinfo->ptype == PT_TCP ? 6 : pinfo->ptype == PT_UDP ? 17 : 0;
}

inline FrameInfo frame_info(const packet_info* pinfo) {
    FrameInfo f;
    f.frame = pinfo->num;
    f.time = ws::to_nanos(pinfo->abs_ts);
    f.src = ws::to_ip(pinfo->net_src);
    f.dst = ws::to_ip(pinfo->net_dst);
    f.transport = transport_of(pinfo);
    f.sport = static_cast<std::uint16_t>(pinfo->srcport);
    f.dport = static_cast<std::uint16_t>(pinfo->destport);
    f.frame_len = pinfo->fd->pkt_len;
    return f;
}

// Indices into prefs::policy().rules() of every rule the frame matches, each once.
// `extra_layer`: a protocol id known to be in the frame although not in
// pinfo->layers (an ONC-RPC program whose procedure has no body), or -1.
inline void unwanted_hits(const packet_info* pinfo, tvbuff_t* frame_tvb, std::vector<std::uint32_t>* hits,
                          int extra_layer = -1) {
    static thread_local std::vector<int> layers;
    static const int http_id = proto_get_id_by_filter_name("http");
    hits->clear();
    ws::layer_ids(pinfo, &layers);
    if (extra_layer >= 0) layers.push_back(extra_layer);
    CompiledPolicy& policy = prefs::policy();
    policy.match(layers.data(), layers.size(), transport_of(pinfo), static_cast<std::uint16_t>(pinfo->srcport),
                 static_cast<std::uint16_t>(pinfo->destport), hits);
    bool http = false;
    for (int id : layers) http = http || id == http_id;
    if (http && is_tracker_request(ws::frame_bytes(frame_tvb)))
        if (auto rule = policy.detector_rule(kTrackerDetector)) hits->push_back(*rule);  // a rule of its own
}

}  // namespace triage::tap
