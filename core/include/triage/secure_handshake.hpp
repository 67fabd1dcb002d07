// Handshake latency beyond TCP: TLS over TCP and QUIC, read from the bytes of
// the segments and datagrams themselves (TLS record headers and the
// unencrypted hello messages, QUIC long headers): nothing is decrypted and no
// protocol tree is needed.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "triage/handshake_tracker.hpp"
#include "triage/ip_address.hpp"
#include "triage/stats.hpp"
#include "triage/time_anomalies.hpp"

namespace triage {

class JsonWriter;

// ---- locating a transport payload in a frame ---------------------------------
// The first byte of the payload of the TCP header (ports and raw sequence
// number) or UDP header (ports, length, checksum) given, found in the frame's
// bytes; null when not there. `available` is what the frame holds of it
// (less than the payload when the capture was cut short).
const std::uint8_t* find_tcp_payload(const std::uint8_t* frame, std::size_t captured, std::uint16_t sport,
                                     std::uint16_t dport, std::uint32_t raw_seq, std::uint8_t header_len,
                                     std::uint32_t seglen, std::size_t* available);
const std::uint8_t* find_udp_payload(const std::uint8_t* frame, std::size_t captured, std::uint16_t sport,
                                     std::uint16_t dport, std::uint32_t udp_len, std::uint16_t checksum,
                                     std::size_t* available);

// ---- QUIC (RFC 8999 invariants, RFC 9000 v1, RFC 9369 v2) ----------------------
struct ConnectionId {
    std::uint8_t len = 0;
    std::array<std::uint8_t, 20> bytes{};
    friend bool operator==(const ConnectionId& a, const ConnectionId& b) {
        return a.len == b.len && std::memcmp(a.bytes.data(), b.bytes.data(), a.len) == 0;
    }
    friend bool operator!=(const ConnectionId& a, const ConnectionId& b) { return !(a == b); }
    std::string hex() const;
};

enum class QuicPacketType : std::uint8_t { initial, zero_rtt, handshake, retry, version_negotiation, short_header };
const char* to_string(QuicPacketType t);

struct QuicPacket {
    QuicPacketType type = QuicPacketType::short_header;
    std::uint32_t version = 0;
    ConnectionId dcid, scid;  // empty for a short header (its DCID length is not on the wire)
};

struct QuicDatagram {
    static constexpr std::size_t kMax = 8;
    std::size_t count = 0;
    std::array<QuicPacket, kMax> packets;
    std::size_t udp_payload = 0;  // the datagram's UDP payload length
};

// A known QUIC version: 1, 2 or an IETF draft (0xff0000xx).
bool known_quic_version(std::uint32_t v);
// The packets of one UDP payload: coalesced long-header packets, then at most
// one short-header packet. False when the first is not a long-header packet
// of a known version (or a Version Negotiation), or is malformed.
bool parse_quic(const std::uint8_t* p, std::size_t n, std::size_t udp_payload, QuicDatagram* out);
// "1", "2", "draft-29", "0x51303530".
std::string quic_version_name(std::uint32_t v);

// ---- TLS (RFC 5246, RFC 8446) ---------------------------------------------------
struct TlsRecordHeader {
    std::uint8_t type = 0;  // 20 change_cipher_spec, 21 alert, 22 handshake, 23 application_data
    std::uint16_t version = 0;
    std::uint16_t length = 0;
};
// A plausible TLS record header at `p` (5 bytes).
bool tls_record_header(const std::uint8_t* p, std::size_t n, TlsRecordHeader* out);
// The server_name (host_name) of a ClientHello handshake message (from its
// type byte on); "" when absent or not within the `n` bytes given.
std::string client_hello_sni(const std::uint8_t* p, std::size_t n);
struct ServerHelloInfo {
    std::uint16_t version = 0;  // supported_versions when present, else the legacy version
    bool hello_retry = false;   // a TLS 1.3 HelloRetryRequest
};
// Of a ServerHello handshake message (from its type byte on).
bool parse_server_hello(const std::uint8_t* p, std::size_t n, ServerHelloInfo* out);
// "TLS 1.3", "TLS 1.2", ... "SSL 3.0", "0x7f1c".
std::string tls_version_name(std::uint16_t v);

// Where a segment's or datagram's payload is: given, or to be found in the
// frame's bytes (only when a tracker needs it) from the header it knows.
struct PayloadRef {
    const std::uint8_t* payload = nullptr;  // given: `available` bytes of it
    std::size_t available = 0;
    const std::uint8_t* frame = nullptr;  // else: the frame's captured bytes
    std::size_t captured = 0;
    std::uint8_t header_len = 0;  // the TCP header's length
    std::uint16_t checksum = 0;   // the UDP header's checksum field
};

enum class TlsOutcome : std::uint8_t { completed, alert, reset, no_server_hello, no_client_finished };
constexpr std::size_t kTlsOutcomeCount = 5;
const char* to_string(TlsOutcome o);

struct TlsHandshake {
    std::uint32_t stream = 0;
    IpAddress client, server;
    std::uint16_t client_port = 0, server_port = 0;
    std::string sni;
    std::uint16_t version = 0;  // negotiated (ServerHello); 0: not seen
    // first ClientHello; the last ClientHello before the ServerHello (the
    // second after a HelloRetryRequest); ServerHello; the client's Finished
    // (its first record after the ServerHello that is encrypted: TLS 1.3's
    // first application-data record, TLS 1.2's ChangeCipherSpec).
    Nanos client_hello_time = 0, hello_time = 0, server_hello_time = 0, finished_time = 0;
    std::uint32_t client_hello_frame = 0, hello_frame = 0, server_hello_frame = 0, finished_frame = 0;
    std::uint32_t alert_frame = 0, rst_frame = 0;
    std::uint8_t alert_description = 0;  // 255: encrypted (TLS 1.3)
    std::uint8_t client_hellos = 0;
    bool server_hello_seen = false, finished_seen = false, hello_retry = false, alert_seen = false, reset_seen = false,
         context = false;
    // Where the next record header of each direction starts (raw sequence
    // number), while the handshake is followed.
    std::uint32_t next_seq[2] = {0, 0};
    bool next_known[2] = {false, false};

    TlsOutcome outcome() const;
    bool has_server_leg() const { return server_hello_seen; }
    bool has_handshake() const { return finished_seen; }
    Nanos server_leg() const { return server_hello_time - hello_time; }
    Nanos handshake() const { return finished_time - client_hello_time; }
    bool retried() const { return hello_retry; }
    bool negative_time() const;
};

struct TlsServerReport {
    IpAddress address;
    std::uint16_t port = 0;
    std::string sni;
    std::uint64_t connections = 0, retried = 0;
    std::array<std::uint64_t, kTlsOutcomeCount> outcomes{};
    Summary server_leg, handshake;
};

struct TlsReport {
    std::uint64_t connections = 0, retried = 0, negative_time = 0;
    std::array<std::uint64_t, kTlsOutcomeCount> outcomes{};
    std::map<std::string, std::uint64_t> versions;  // completed or not, as the ServerHello said
    Summary server_leg, handshake;
    LogHistogram histogram;                // of handshake times
    std::vector<TlsServerReport> servers;  // most connections first
};

struct TlsUpdate {
    const TlsHandshake* handshake = nullptr;
    bool is_new = false;
    TlsOutcome before = TlsOutcome::no_server_hello, after = TlsOutcome::no_server_hello;
    bool measured_now = false;  // the handshake time became known with this segment
};

class TlsTracker {
public:
    void set_window(FrameWindow w) { window_ = w; }
    const FrameWindow& window() const { return window_; }
    // Follows the segment's stream; a stream is TLS when one of its first
    // data segments starts with a ClientHello (on any port).
    TlsUpdate add(const TcpSegment& seg, const PayloadRef& bytes);
    const std::vector<TlsHandshake>& handshakes() const { return records_; }
    std::uint64_t outcome_count(TlsOutcome o) const { return outcomes_[static_cast<std::size_t>(o)]; }
    TlsReport report() const;
    void clear() { *this = TlsTracker(); }

private:
    struct Located;
    // A segment with data (or a RST) on a stream that may be TLS; `sl` is its slot().
    TlsUpdate add_to(const TcpSegment& seg, const PayloadRef& bytes, std::uint32_t* sl);
    void walk(TlsHandshake& h, int dir, const Located& s, std::size_t offset);
    std::vector<TlsHandshake> records_;
    // tcp.stream -> 1 + its latest record; 0 unknown; above kProbing: not
    // TLS so far, (value - kProbing) data segments seen. A ClientHello may
    // follow a few plaintext exchanges (STARTTLS, MySQL, PostgreSQL): the
    // first kProbeSegments data segments are looked at; kNotTls after, or as
    // soon as one is a TLS application data record (a stream whose
    // handshake came before the capture).
    static constexpr std::uint32_t kNotTls = UINT32_MAX;
    static constexpr std::uint32_t kProbeSegments = 8;
    static constexpr std::uint32_t kProbing = kNotTls - kProbeSegments;
    std::vector<std::uint32_t> streams_;
    std::unordered_map<std::uint32_t, std::uint32_t> far_streams_;
    std::uint32_t* slot(std::uint32_t stream);
    std::array<std::uint64_t, kTlsOutcomeCount> outcomes_{};
    FrameWindow window_;
};

// A UDP datagram as the QUIC tracker reads it.
struct UdpDatagram {
    std::uint32_t frame = 0;
    Nanos time = 0;
    IpAddress src, dst;
    std::uint16_t sport = 0, dport = 0;
    std::size_t length = 0;  // the UDP payload's length on the wire
};

enum class QuicOutcome : std::uint8_t { completed, unanswered, version_negotiation, retry, no_client_reply };
constexpr std::size_t kQuicOutcomeCount = 5;
const char* to_string(QuicOutcome o);

struct QuicHandshake {
    IpAddress client, server;
    std::uint16_t client_port = 0, server_port = 0;
    std::uint32_t version = 0;
    ConnectionId original_dcid, client_cid, server_cid, retry_cid;
    // the client's first Initial; the first Initial of the attempt the server
    // answered (after a Retry, the one that carries its token); the server's
    // first Initial; the server's last datagram before the client's first
    // Handshake packet; that Handshake packet; Retry; Version Negotiation.
    Nanos first_initial_time = 0, initial_time = 0, server_initial_time = 0, server_last_time = 0, handshake_time = 0;
    std::uint32_t first_initial_frame = 0, initial_frame = 0, server_initial_frame = 0, server_last_frame = 0,
                  handshake_frame = 0, retry_frame = 0, vn_frame = 0;
    std::uint32_t client_initials = 0;  // datagrams carrying a client Initial
    bool server_initial_seen = false, handshake_seen = false, retry_seen = false, vn_seen = false, zero_rtt = false,
         context = false;

    QuicOutcome outcome() const;
    bool has_server_leg() const { return server_initial_seen; }
    bool has_client_leg() const { return handshake_seen && server_initial_seen; }
    bool has_rtt() const { return has_client_leg(); }
    Nanos server_leg() const { return server_initial_time - initial_time; }
    Nanos client_leg() const { return handshake_time - server_last_time; }
    Nanos rtt() const { return saturating_add(server_leg(), client_leg()); }
    Nanos connect() const { return handshake_time - first_initial_time; }
    bool retried() const { return retry_seen; }
    bool negative_time() const;
};

struct QuicServerReport {
    IpAddress address;
    std::uint16_t port = 0;
    std::uint64_t connections = 0, retried = 0;
    std::array<std::uint64_t, kQuicOutcomeCount> outcomes{};
    Summary rtt, server_leg, client_leg;
};

struct QuicReport {
    std::uint64_t connections = 0, retried = 0, zero_rtt = 0, negative_time = 0;
    std::array<std::uint64_t, kQuicOutcomeCount> outcomes{};
    std::map<std::string, std::uint64_t> versions;
    Summary rtt, server_leg, client_leg, connect;
    LogHistogram histogram;  // of RTTs
    std::vector<QuicServerReport> servers;
};

struct QuicUpdate {
    const QuicHandshake* handshake = nullptr;
    bool is_new = false;
    QuicOutcome before = QuicOutcome::unanswered, after = QuicOutcome::unanswered;
    bool measured_now = false;
};

class QuicTracker {
public:
    void set_window(FrameWindow w) { window_ = w; }
    const FrameWindow& window() const { return window_; }
    // Parses the datagram (when it may be QUIC) and follows the handshakes.
    QuicUpdate add(const UdpDatagram& d, const PayloadRef& bytes);
    const std::vector<QuicHandshake>& handshakes() const { return records_; }
    std::uint64_t outcome_count(QuicOutcome o) const { return outcomes_[static_cast<std::size_t>(o)]; }
    QuicReport report() const;
    void clear() { *this = QuicTracker(); }

private:
    struct Flow {  // client address and port, server address and port
        IpAddress client, server;
        std::uint16_t client_port, server_port;
        friend bool operator==(const Flow& a, const Flow& b) {
            return a.client_port == b.client_port && a.server_port == b.server_port && a.client == b.client &&
                   a.server == b.server;
        }
    };
    struct FlowHash {
        std::size_t operator()(const Flow& f) const {
            return (f.client.hash() * 31 + f.server.hash()) * 65599 + (std::size_t{f.client_port} << 16) +
                   f.server_port;
        }
    };
    std::vector<QuicHandshake> records_;
    std::unordered_map<Flow, std::vector<std::uint32_t>, FlowHash> flows_;
    // Client long headers of versions this tracker cannot read: a handshake
    // only if the server answers with a Version Negotiation naming their
    // connection IDs. The last kCandidates are kept.
    struct Candidate {
        Flow flow;
        std::uint32_t version = 0, frame = 0;
        Nanos time = 0;
        ConnectionId dcid, scid;
    };
    static constexpr std::size_t kCandidates = 64;
    std::vector<Candidate> candidates_;
    std::size_t next_candidate_ = 0;
    QuicHandshake& start(const Flow& flow, std::uint32_t version, const ConnectionId& dcid, const ConnectionId& scid,
                         std::uint32_t frame, Nanos time);
    std::size_t waiting_ = 0;  // handshakes whose client Handshake packet is still to come
    std::array<std::uint64_t, kQuicOutcomeCount> outcomes_{};
    FrameWindow window_;
};

// The "tls" and "quic" members of the Handshake RTT JSON: the same shape as
// its TCP part (summary, percentiles, histogram, servers, connections), and
// for a limited window the handshakes begun before it ("context_connections").
void write_tls_json(const TlsTracker& t, JsonWriter& w);
void write_quic_json(const QuicTracker& t, JsonWriter& w);
// One line per handshake, with a header line.
void tls_csv(const TlsTracker& t, const std::function<void(std::string_view)>& sink);
void quic_csv(const QuicTracker& t, const std::function<void(std::string_view)>& sink);

}  // namespace triage
