// libFuzzer target: the per-packet state machines (handshakes, outbound
// volume, alerts) fed with arbitrary event sequences: out-of-order and
// out-of-range times, port reuse, stream index jumps, huge counts. Invariants
// are checked and every output is rendered.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "triage/alert_tracker.hpp"
#include "triage/egress_tracker.hpp"
#include "triage/handshake_tracker.hpp"

using namespace triage;

namespace {

struct Reader {
    const std::uint8_t* p;
    std::size_t n;
    template <typename T>
    T get() {
        T v{};
        const std::size_t k = n < sizeof v ? n : sizeof v;
        std::memcpy(&v, p, k);
        p += k;
        n -= k;
        return v;
    }
};

IpAddress addr(std::uint8_t sel) {
    static const char* pool[] = {"10.0.0.1", "10.0.0.2",    "8.8.8.8", "169.254.169.254",
                                 "fd00::1",  "2001:db8::1", "::1",     "0.0.0.0"};
    return *IpAddress::parse(pool[sel % 8]);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    Reader in{data, size};
    HandshakeTracker hs;
    EgressTracker eg;
    AlertTracker al;
    std::vector<Rule> rules{{"telnet", "c", "r", Severity::critical}, {"ftp", "c", "r", Severity::low}};
    std::uint32_t frame = 0;
    while (in.n >= 8) {
        const auto kind = in.get<std::uint8_t>();
        const auto sel = in.get<std::uint8_t>();
        frame += in.get<std::uint8_t>() % 3;  // repeats and gaps
        const Nanos t = in.get<std::int64_t>();
        if (kind % 3 == 0) {
            TcpSegment s;
            s.stream = in.get<std::uint8_t>() % 4 == 0 ? in.get<std::uint32_t>() : sel % 4;
            s.frame = frame;
            s.time = t;
            s.src = addr(sel);
            s.dst = addr(sel >> 3);
            s.sport = (sel & 1) ? 443 : 40000;
            s.dport = (sel & 1) ? 40000 : 443;
            s.flags = in.get<std::uint8_t>();
            s.seq = in.get<std::uint8_t>();
            s.ack = in.get<std::uint8_t>();
            s.seglen = in.get<std::uint16_t>();
            const HandshakeUpdate up = hs.add(s);
            // A segment updates its stream's handshake, or one whose SYN was
            // retried into this new stream (Wireshark 4.4+), which keeps its first stream.
            if (up.handshake && up.handshake->stream != s.stream && up.handshake->syn_count < 2) __builtin_trap();
        } else if (kind % 3 == 1) {
            EgressFrame f;
            f.frame = frame;
            f.time = t;
            f.src = addr(sel);
            f.dst = addr(sel >> 3);
            f.frame_len = in.get<std::uint32_t>();
            f.ip_len = in.get<std::uint32_t>();
            f.transport = in.get<std::uint8_t>() % 2 ? 6 : 17;
            f.dport = in.get<std::uint16_t>();
            f.payload = in.get<std::uint32_t>();
            eg.add(f);
        } else {
            FrameInfo f;
            f.frame = frame;
            f.time = t;
            f.src = addr(sel);
            f.dst = addr(sel >> 3);
            f.frame_len = in.get<std::uint32_t>();
            al.frame_time(frame, t);
            al.hit(sel % 2, f);
        }
    }
    // Invariants: every handshake is in exactly one outcome.
    std::uint64_t total = 0;
    for (std::size_t o = 0; o < kOutcomeCount; ++o) total += hs.outcome_count(static_cast<Outcome>(o));
    if (total != hs.handshakes().size()) __builtin_trap();
    const HandshakeReport r = hs.report();
    if (r.connections != hs.handshakes().size() || r.rtt.count > r.connections) __builtin_trap();
    if (r.rtt.count && (r.rtt.min > r.rtt.p50 || r.rtt.p50 > r.rtt.p99 || r.rtt.p99 > r.rtt.max)) __builtin_trap();
    std::uint64_t server_connections = 0, server_rtts = 0;
    for (const ServerReport& s : r.servers) {  // each server's samples are its own, in most-connections-first order
        server_connections += s.connections;
        server_rtts += s.rtt.count;
        if (s.rtt.count > s.connections || (s.rtt.count && (s.rtt.min > s.rtt.p50 || s.rtt.p50 > s.rtt.max)))
            __builtin_trap();
    }
    if (server_connections != r.connections || server_rtts != r.rtt.count) __builtin_trap();
    std::uint64_t bytes = 0;
    for (const Destination* d : eg.destinations()) bytes += eg.volume(*d).frame_bytes;
    std::uint64_t outbound = 0;
    for (Direction d : {Direction::outbound_external, Direction::outbound_internal, Direction::outbound_platform})
        outbound += eg.total(d).frame_bytes;
    if (bytes != outbound) __builtin_trap();
    handshake_json(hs);
    handshake_csv(hs);
    egress_json(eg, nullptr);
    egress_csv(eg, nullptr);
    al.alerts(rules);
    return 0;
}
