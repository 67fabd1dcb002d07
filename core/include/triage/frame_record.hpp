// What Triage's single producer (the postdissector) knows about one frame, as
// it is queued on Triage's own `triage` tap: every statistic reads its
// per-frame facts from here, never from another listener.
#pragma once

#include <cstdint>
#include <vector>

#include "triage/alert_tracker.hpp"
#include "triage/egress_tracker.hpp"
#include "triage/handshake_tracker.hpp"
#include "triage/ip_address.hpp"
#include "triage/secure_handshake.hpp"
#include "triage/stats.hpp"

namespace triage {

class CompiledPolicy;

struct FrameRecord {
    std::uint32_t frame = 0;
    Nanos time = 0;               // epoch nanoseconds (clamped)
    std::uint32_t frame_len = 0;  // on-wire length

    // The outermost IP header and the transport it carries directly (what
    // crosses the link, and is billed). Empty `outer_src`: no IP header.
    IpAddress outer_src, outer_dst;
    std::uint32_t ip_len = 0;    // IPv4 total length / IPv6 payload length + 40
    std::uint8_t ip_proto = 0;   // IPv4 protocol / IPv6 next header of the outermost header
    std::uint8_t transport = 0;  // 6 tcp, 17 udp, 0 none (of the outermost header)
    std::uint16_t sport = 0, dport = 0;
    std::uint32_t payload = 0;  // TCP segment data / UDP payload

    // The endpoints of the innermost protocol (Wireshark's pinfo addresses and
    // ports): who speaks the application protocol, for alerts.
    IpAddress inner_src, inner_dst;
    std::uint8_t inner_transport = 0;
    std::uint16_t inner_sport = 0, inner_dport = 0;

    // Policy rules that hit this frame, indices into policy->rules(), each once.
    const CompiledPolicy* policy = nullptr;
    std::vector<std::uint32_t> hits;

    bool has_ip() const { return !outer_src.empty(); }

    // Every TCP and UDP header of the frame (tunnels carry several), in
    // dissection order, and the frame's captured bytes: loaded on first use
    // (only the Handshake RTT statistic reads them), valid while the frame's
    // taps run.
    struct Udp {
        UdpDatagram datagram;
        std::uint16_t checksum = 0;
    };
    struct Transport {
        std::vector<TcpSegment> tcp;
        std::vector<std::uint8_t> tcp_header_len;  // parallel to tcp
        std::vector<Udp> udp;
        const std::uint8_t* bytes = nullptr;
        std::size_t captured = 0;
        bool quoted = false;  // an ICMP error: the headers are those it quotes
    };
    using Loader = void (*)(const void* context, Transport* out);
    void set_transport_loader(Loader load, const void* context) {
        load_ = load;
        load_context_ = context;
        loaded_ = false;
    }
    const Transport& transport_headers() const {
        if (!loaded_) {
            transport_.tcp.clear();
            transport_.tcp_header_len.clear();
            transport_.udp.clear();
            transport_.bytes = nullptr;
            transport_.captured = 0;
            transport_.quoted = false;
            if (load_) load_(load_context_, &transport_);
            loaded_ = true;
        }
        return transport_;
    }
    PayloadRef tcp_payload(std::size_t i) const {
        PayloadRef r;
        r.frame = transport_.bytes;
        r.captured = transport_.captured;
        r.header_len = transport_.tcp_header_len[i];
        return r;
    }
    PayloadRef udp_payload(std::size_t i) const {
        PayloadRef r;
        r.frame = transport_.bytes;
        r.captured = transport_.captured;
        r.checksum = transport_.udp[i].checksum;
        return r;
    }

    EgressFrame egress() const {
        EgressFrame f;
        f.frame = frame;
        f.time = time;
        f.src = outer_src;
        f.dst = outer_dst;
        f.frame_len = frame_len;
        f.ip_len = ip_len;
        f.transport = transport;
        f.dport = dport;
        f.payload = payload;
        return f;
    }

    FrameInfo alert_frame() const {
        FrameInfo f;
        f.frame = frame;
        f.time = time;
        f.src = inner_src;
        f.dst = inner_dst;
        f.transport = inner_transport;
        f.sport = inner_sport;
        f.dport = inner_dport;
        f.frame_len = frame_len;
        return f;
    }

private:
    Loader load_ = nullptr;
    const void* load_context_ = nullptr;
    mutable bool loaded_ = false;
    mutable Transport transport_;
};

}  // namespace triage
