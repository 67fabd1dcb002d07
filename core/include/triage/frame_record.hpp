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

// The parts of the record are built when a listener first reads them (the
// producer's loaders; each at most once per frame), so that a statistic pays
// only for what it uses: read them through has_ip()/egress(), alert_frame()/
// hits() and transport_headers(), never through the fields directly.
struct FrameRecord {
    std::uint32_t frame = 0;
    Nanos time = 0;               // epoch nanoseconds (clamped)
    std::uint32_t frame_len = 0;  // on-wire length

    // Every TCP and UDP header of the frame (tunnels carry several), in
    // dissection order, and the frame's captured bytes (valid while the
    // frame's taps run), for the TLS and QUIC trackers.
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

    struct Loaders {
        void (*ip)(const void* context, FrameRecord* r) = nullptr;           // the outer_* fields
        void (*inner)(const void* context, FrameRecord* r) = nullptr;        // inner_{transport,sport,dport}, matched
        void (*inner_hosts)(const void* context, FrameRecord* r) = nullptr;  // inner_src, inner_dst
        void (*transport)(const void* context, Transport* out) = nullptr;
    };
    // A new frame: every part to be loaded again, from `context`.
    void set_loaders(Loaders l, const void* context) {
        loaders_ = l;
        context_ = context;
        ip_loaded_ = inner_loaded_ = inner_hosts_loaded_ = transport_loaded_ = false;
    }

    bool has_ip() const { return !ip().outer_src.empty(); }
    EgressFrame egress() const {
        const FrameRecord& r = ip();
        EgressFrame f;
        f.frame = frame;
        f.time = time;
        f.src = r.outer_src;
        f.dst = r.outer_dst;
        f.frame_len = frame_len;
        f.ip_len = r.ip_len;
        f.transport = r.transport;
        f.dport = r.dport;
        f.payload = r.payload;
        return f;
    }
    FrameInfo alert_frame() const {
        const FrameRecord& r = inner_hosts();
        inner();
        FrameInfo f;
        f.frame = frame;
        f.time = time;
        f.src = r.inner_src;
        f.dst = r.inner_dst;
        f.transport = r.inner_transport;
        f.sport = r.inner_sport;
        f.dport = r.inner_dport;
        f.frame_len = frame_len;
        return f;
    }
    // Policy rules that hit this frame, indices into policy()->rules(), each once.
    const std::vector<std::uint32_t>& hits() const { return inner().matched; }
    const CompiledPolicy* policy() const { return inner().matched_policy; }
    const Transport& transport_headers() const {
        if (!transport_loaded_) {
            transport_.tcp.clear();
            transport_.tcp_header_len.clear();
            transport_.udp.clear();
            transport_.bytes = nullptr;
            transport_.captured = 0;
            transport_.quoted = false;
            if (loaders_.transport) loaders_.transport(context_, &transport_);
            transport_loaded_ = true;
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

    // Filled by the loaders.
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
    const CompiledPolicy* matched_policy = nullptr;
    std::vector<std::uint32_t> matched;

private:
    const FrameRecord& ip() const {
        if (!ip_loaded_) {
            auto* self = const_cast<FrameRecord*>(this);  // the record is the producer's, mutable while loading
            self->outer_src = self->outer_dst = IpAddress();
            self->ip_len = self->payload = 0;
            self->ip_proto = self->transport = 0;
            self->sport = self->dport = 0;
            if (loaders_.ip) loaders_.ip(context_, self);
            ip_loaded_ = true;
        }
        return *this;
    }
    const FrameRecord& inner() const {
        if (!inner_loaded_) {
            auto* self = const_cast<FrameRecord*>(this);
            self->inner_transport = 0;
            self->inner_sport = self->inner_dport = 0;
            self->matched.clear();
            self->matched_policy = nullptr;
            if (loaders_.inner) loaders_.inner(context_, self);
            inner_loaded_ = true;
        }
        return *this;
    }
    // Only for a frame a statistic reports (a policy hit), not for every frame.
    const FrameRecord& inner_hosts() const {
        if (!inner_hosts_loaded_) {
            auto* self = const_cast<FrameRecord*>(this);
            self->inner_src = self->inner_dst = IpAddress();
            if (loaders_.inner_hosts) loaders_.inner_hosts(context_, self);
            inner_hosts_loaded_ = true;
        }
        return *this;
    }
    Loaders loaders_;
    const void* context_ = nullptr;
    mutable bool ip_loaded_ = false, inner_loaded_ = false, inner_hosts_loaded_ = false, transport_loaded_ = false;
    mutable Transport transport_;
};

}  // namespace triage
