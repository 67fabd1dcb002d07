// libFuzzer target: the parsers of bytes from the wire (QUIC long headers, TLS
// records and hellos, payload location in a frame) and the TLS and QUIC
// trackers fed with segments and datagrams cut from the input: no read
// outside the bytes given, invariants hold, every output renders.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "triage/json_writer.hpp"
#include "triage/secure_handshake.hpp"

using namespace triage;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    QuicDatagram q;
    if (parse_quic(data, size, size, &q) && (q.count == 0 || q.count > QuicDatagram::kMax)) __builtin_trap();
    TlsRecordHeader r;
    if (tls_record_header(data, size, &r) && (r.length == 0 || r.type < 20 || r.type > 23)) __builtin_trap();
    if (client_hello_sni(data, size).size() > 255) __builtin_trap();
    ServerHelloInfo sh;
    parse_server_hello(data, size, &sh);
    std::size_t n = 0;
    if (size >= 4) {
        const std::uint16_t a = static_cast<std::uint16_t>(data[0] << 8 | data[1]);
        const std::uint16_t b = static_cast<std::uint16_t>(data[2] << 8 | data[3]);
        if (const std::uint8_t* p = find_tcp_payload(data, size, a, b, 0, 20, 100000, &n))
            if (p < data || p + n > data + size) __builtin_trap();
        if (const std::uint8_t* p = find_udp_payload(data, size, a, b, size, 0, &n))
            if (p < data || p + n > data + size) __builtin_trap();
    }

    // Segments and datagrams: [control byte, length byte, bytes...] repeated.
    TlsTracker tls;
    QuicTracker quic;
    const IpAddress c = *IpAddress::parse("192.0.2.1"), s = *IpAddress::parse("198.51.100.1");
    std::uint32_t seq[2] = {1, 1}, frame = 0;
    std::size_t i = 0;
    while (i + 2 <= size) {
        const std::uint8_t ctl = data[i];
        const std::size_t len = std::min<std::size_t>(data[i + 1] * 8u, size - i - 2);
        const std::uint8_t* body = data + i + 2;
        i += 2 + len;
        const bool from_client = ctl & 1;
        PayloadRef ref;
        ref.payload = body;
        ref.available = len;
        if (ctl & 2) {
            UdpDatagram d;
            d.frame = ++frame;
            d.time = static_cast<Nanos>(frame) * 1000 - (ctl & 0x80 ? 5000 : 0);
            d.src = from_client ? c : s;
            d.dst = from_client ? s : c;
            d.sport = from_client ? 50000 : 443;
            d.dport = from_client ? 443 : 50000;
            d.length = ctl & 4 ? 1200 : len;
            quic.add(d, ref);
        } else {
            TcpSegment t;
            t.stream = ctl >> 5;
            t.frame = ++frame;
            t.time = static_cast<Nanos>(frame) * 1000;
            t.src = from_client ? c : s;
            t.dst = from_client ? s : c;
            t.sport = from_client ? 40000 : 443;
            t.dport = from_client ? 443 : 40000;
            t.flags = ctl & 4 ? 0x04 : 0x18;
            t.seq = seq[from_client] - (ctl & 8 ? 100u : 0u);
            t.seglen = static_cast<std::uint32_t>(len) + (ctl & 16 ? 3000u : 0u);  // cut short by a snap length
            seq[from_client] += t.seglen;
            tls.add(t, ref);
        }
    }
    std::uint64_t sum = 0;
    for (const TlsHandshake& h : tls.handshakes()) {
        sum += !h.context;
        if (h.finished_seen && !h.server_hello_seen) __builtin_trap();
    }
    const TlsReport tr = tls.report();
    if (tr.connections != sum) __builtin_trap();
    std::uint64_t outcomes = 0;
    for (std::uint64_t o : tr.outcomes) outcomes += o;
    if (outcomes != tr.connections) __builtin_trap();
    const QuicReport qr = quic.report();
    outcomes = 0;
    for (std::uint64_t o : qr.outcomes) outcomes += o;
    if (outcomes != qr.connections || qr.connections != quic.handshakes().size()) __builtin_trap();
    for (std::size_t k = 0; k < kQuicOutcomeCount; ++k)
        if (quic.outcome_count(static_cast<QuicOutcome>(k)) != qr.outcomes[k]) __builtin_trap();
    for (std::size_t k = 0; k < kTlsOutcomeCount; ++k)
        if (tls.outcome_count(static_cast<TlsOutcome>(k)) != tr.outcomes[k]) __builtin_trap();
    JsonWriter w(2, [](std::string_view) {});
    w.begin_object();
    w.key("tls");
    write_tls_json(tls, w);
    w.key("quic");
    write_quic_json(quic, w);
    w.end_object();
    w.finish();
    tls_csv(tls, [](std::string_view) {});
    quic_csv(quic, [](std::string_view) {});
    return 0;
}
