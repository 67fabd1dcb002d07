#include "triage/secure_handshake.hpp"

#include <algorithm>
#include <tuple>

#include "triage/json_writer.hpp"

namespace triage {

namespace {
std::uint16_t be16(const std::uint8_t* p) {
    return static_cast<std::uint16_t>(p[0] << 8 | p[1]);
}
std::uint32_t be24(const std::uint8_t* p) {
    return std::uint32_t{p[0]} << 16 | std::uint32_t{p[1]} << 8 | p[2];
}
std::uint32_t be32(const std::uint8_t* p) {
    return std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 | p[3];
}
const std::uint8_t* find(const std::uint8_t* hay, std::size_t n, const std::uint8_t (&needle)[8]) {
    if (n < 8) return nullptr;
    const std::uint8_t* end = hay + n - 7;
    for (const std::uint8_t* p = hay; p < end; ++p) {
        p = static_cast<const std::uint8_t*>(std::memchr(p, needle[0], static_cast<std::size_t>(end - p)));
        if (!p) return nullptr;
        if (std::memcmp(p, needle, 8) == 0) return p;
    }
    return nullptr;
}
// Signed distance from sequence number b to a (a - b), modulo 2^32.
std::int64_t seq_diff(std::uint32_t a, std::uint32_t b) {
    return static_cast<std::int32_t>(a - b);
}
}  // namespace

const std::uint8_t* find_tcp_payload(const std::uint8_t* frame, std::size_t captured, std::uint16_t sport,
                                     std::uint16_t dport, std::uint32_t raw_seq, std::uint8_t header_len,
                                     std::uint32_t seglen, std::size_t* available) {
    *available = 0;
    if (!frame || header_len < 20) return nullptr;
    const std::uint8_t needle[8] = {static_cast<std::uint8_t>(sport >> 8),    static_cast<std::uint8_t>(sport),
                                    static_cast<std::uint8_t>(dport >> 8),    static_cast<std::uint8_t>(dport),
                                    static_cast<std::uint8_t>(raw_seq >> 24), static_cast<std::uint8_t>(raw_seq >> 16),
                                    static_cast<std::uint8_t>(raw_seq >> 8),  static_cast<std::uint8_t>(raw_seq)};
    const std::uint8_t* h = find(frame, captured, needle);
    if (!h || static_cast<std::size_t>(h - frame) + header_len > captured) return nullptr;
    const std::uint8_t* p = h + header_len;
    *available = std::min<std::size_t>(seglen, captured - static_cast<std::size_t>(p - frame));
    return p;
}

const std::uint8_t* find_udp_payload(const std::uint8_t* frame, std::size_t captured, std::uint16_t sport,
                                     std::uint16_t dport, std::uint32_t udp_len, std::uint16_t checksum,
                                     std::size_t* available) {
    *available = 0;
    if (!frame || udp_len < 8 || udp_len > 0xffff) return nullptr;
    const std::uint8_t needle[8] = {static_cast<std::uint8_t>(sport >> 8),    static_cast<std::uint8_t>(sport),
                                    static_cast<std::uint8_t>(dport >> 8),    static_cast<std::uint8_t>(dport),
                                    static_cast<std::uint8_t>(udp_len >> 8),  static_cast<std::uint8_t>(udp_len),
                                    static_cast<std::uint8_t>(checksum >> 8), static_cast<std::uint8_t>(checksum)};
    const std::uint8_t* h = find(frame, captured, needle);
    if (!h) return nullptr;
    const std::uint8_t* p = h + 8;
    *available = std::min<std::size_t>(udp_len - 8, captured - static_cast<std::size_t>(p - frame));
    return p;
}

// ---- QUIC --------------------------------------------------------------------------
std::string ConnectionId::hex() const {
    static const char digits[] = "0123456789abcdef";
    std::string s;
    s.reserve(len * 2u);
    for (std::size_t i = 0; i < len; ++i) {
        s += digits[bytes[i] >> 4];
        s += digits[bytes[i] & 15];
    }
    return s;
}

const char* to_string(QuicPacketType t) {
    switch (t) {
        case QuicPacketType::initial:
            return "initial";
        case QuicPacketType::zero_rtt:
            return "0-rtt";
        case QuicPacketType::handshake:
            return "handshake";
        case QuicPacketType::retry:
            return "retry";
        case QuicPacketType::version_negotiation:
            return "version_negotiation";
        case QuicPacketType::short_header:
            return "short_header";
    }
    return "?";
}

namespace {
constexpr std::uint32_t kQuicV2 = 0x6b3343cf;

// A variable-length integer (RFC 9000 section 16); false when cut short.
bool varint(const std::uint8_t* p, std::size_t n, std::size_t* pos, std::uint64_t* v) {
    if (*pos >= n) return false;
    const std::size_t len = std::size_t{1} << (p[*pos] >> 6);
    if (n - *pos < len) return false;
    std::uint64_t x = p[*pos] & 0x3f;
    for (std::size_t i = 1; i < len; ++i) x = x << 8 | p[*pos + i];
    *pos += len;
    *v = x;
    return true;
}

bool read_cid(const std::uint8_t* p, std::size_t n, std::size_t* pos, ConnectionId* cid) {
    if (*pos >= n) return false;
    const std::size_t len = p[(*pos)++];
    if (len > cid->bytes.size() || n - *pos < len) return false;
    cid->len = static_cast<std::uint8_t>(len);
    std::memcpy(cid->bytes.data(), p + *pos, len);
    *pos += len;
    return true;
}

QuicPacketType long_type(std::uint32_t version, unsigned bits) {
    static constexpr QuicPacketType v1[] = {QuicPacketType::initial, QuicPacketType::zero_rtt,
                                            QuicPacketType::handshake, QuicPacketType::retry};
    static constexpr QuicPacketType v2[] = {QuicPacketType::retry, QuicPacketType::initial, QuicPacketType::zero_rtt,
                                            QuicPacketType::handshake};
    return version == kQuicV2 ? v2[bits & 3] : v1[bits & 3];
}
}  // namespace

bool known_quic_version(std::uint32_t v) {
    return v == 1 || v == kQuicV2 || (v & 0xffffff00u) == 0xff000000u;
}

std::string quic_version_name(std::uint32_t v) {
    if (v == 1) return "1";
    if (v == kQuicV2) return "2";
    if ((v & 0xffffff00u) == 0xff000000u) return "draft-" + std::to_string(v & 0xff);
    static const char digits[] = "0123456789abcdef";
    std::string s = "0x";
    for (int shift = 28; shift >= 0; shift -= 4) s += digits[(v >> shift) & 15];
    return s;
}

namespace {
// The version-independent part of a long header (RFC 8999): version, DCID, SCID.
bool quic_invariants(const std::uint8_t* p, std::size_t n, QuicPacket* q) {
    if (n < 7 || !(p[0] & 0x80)) return false;
    std::size_t pos = 5;
    q->version = be32(p + 1);
    return read_cid(p, n, &pos, &q->dcid) && read_cid(p, n, &pos, &q->scid);
}
}  // namespace

bool parse_quic(const std::uint8_t* p, std::size_t n, std::size_t udp_payload, QuicDatagram* out) {
    out->count = 0;
    out->udp_payload = udp_payload;
    std::size_t off = 0;
    while (off < n && out->count < QuicDatagram::kMax) {
        const std::uint8_t b0 = p[off];
        if (!(b0 & 0x80)) {
            // A short header (1-RTT) packet takes the rest of the datagram;
            // zero bytes after coalesced packets are padding, not a packet.
            if (out->count > 0 && (b0 & 0x40)) out->packets[out->count++].type = QuicPacketType::short_header;
            break;
        }
        QuicPacket q;
        std::size_t pos = off + 1;
        if (n - pos < 4) break;
        q.version = be32(p + pos);
        pos += 4;
        if (!read_cid(p, n, &pos, &q.dcid) || !read_cid(p, n, &pos, &q.scid)) break;
        if (q.version == 0) {
            q.type = QuicPacketType::version_negotiation;  // the rest lists versions
            out->packets[out->count++] = q;
            break;
        }
        if (!known_quic_version(q.version)) break;
        q.type = long_type(q.version, b0 >> 4);
        if (q.type == QuicPacketType::retry) {  // token and integrity tag: the rest
            out->packets[out->count++] = q;
            break;
        }
        std::uint64_t token = 0, length = 0;
        if (q.type == QuicPacketType::initial) {
            if (!varint(p, n, &pos, &token) || token > n - pos) break;
            pos += static_cast<std::size_t>(token);
        }
        if (!varint(p, n, &pos, &length)) break;
        out->packets[out->count++] = q;
        if (length > n - pos) break;  // cut short by the capture
        off = pos + static_cast<std::size_t>(length);
    }
    return out->count > 0;
}

// ---- TLS ---------------------------------------------------------------------------
bool tls_record_header(const std::uint8_t* p, std::size_t n, TlsRecordHeader* out) {
    if (n < 5) return false;
    if (p[0] < 20 || p[0] > 23 || p[1] != 3 || p[2] > 4) return false;
    const std::uint16_t len = be16(p + 3);
    if (len == 0 || len > 16384 + 2048) return false;
    out->type = p[0];
    out->version = be16(p + 1);
    out->length = len;
    return true;
}

std::string tls_version_name(std::uint16_t v) {
    switch (v) {
        case 0x0300:
            return "SSL 3.0";
        case 0x0301:
            return "TLS 1.0";
        case 0x0302:
            return "TLS 1.1";
        case 0x0303:
            return "TLS 1.2";
        case 0x0304:
            return "TLS 1.3";
        default:
            break;
    }
    static const char digits[] = "0123456789abcdef";
    std::string s = "0x";
    for (int shift = 12; shift >= 0; shift -= 4) s += digits[(v >> shift) & 15];
    return s;
}

namespace {
// The extensions block of a hello message (from its type byte on), after
// `fixed` bytes of body that precede the session id; false when cut short.
bool hello_extensions(const std::uint8_t* p, std::size_t n, bool client, std::size_t* pos, std::size_t* end) {
    std::size_t i = 4 + 2 + 32;  // type, length, legacy_version, random
    if (n < i + 1) return false;
    i += 1 + p[i];  // session id
    if (client) {
        if (n < i + 2) return false;
        i += 2 + be16(p + i);  // cipher suites
        if (n < i + 1) return false;
        i += 1 + p[i];  // compression methods
    } else {
        i += 2 + 1;  // cipher suite, compression method
    }
    if (n < i + 2) return false;
    const std::size_t len = be16(p + i);
    i += 2;
    *pos = i;
    *end = std::min(n, i + len);
    const std::size_t message_end = 4 + std::size_t{be24(p + 1)};
    *end = std::min(*end, message_end);
    return true;
}
}  // namespace

std::string client_hello_sni(const std::uint8_t* p, std::size_t n) {
    std::size_t i = 0, end = 0;
    if (n < 4 || p[0] != 1 || !hello_extensions(p, n, true, &i, &end)) return {};
    while (i + 4 <= end) {
        const std::uint16_t type = be16(p + i), len = be16(p + i + 2);
        i += 4;
        if (type == 0) {
            // server_name_list: (type, length, name)...
            if (len < 5 || i + 5 > end || p[i + 2] != 0) return {};
            const std::size_t name_len = be16(p + i + 3);
            if (i + 5 + name_len > end || name_len == 0 || name_len > 255) return {};
            std::string name(reinterpret_cast<const char*>(p + i + 5), name_len);
            for (char& c : name)
                if (static_cast<unsigned char>(c) < 0x21 || static_cast<unsigned char>(c) > 0x7e) c = '?';
            return name;
        }
        i += len;
    }
    return {};
}

bool parse_server_hello(const std::uint8_t* p, std::size_t n, ServerHelloInfo* out) {
    static constexpr std::uint8_t kHelloRetry[32] = {0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c,
                                                     0x02, 0x1e, 0x65, 0xb8, 0x91, 0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb,
                                                     0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c};
    if (n < 6 || p[0] != 2) return false;
    out->version = be16(p + 4);
    out->hello_retry = n >= 38 && std::memcmp(p + 6, kHelloRetry, 32) == 0;
    std::size_t i = 0, end = 0;
    if (!hello_extensions(p, n, false, &i, &end)) return true;
    while (i + 4 <= end) {
        const std::uint16_t type = be16(p + i), len = be16(p + i + 2);
        i += 4;
        if (type == 43 && len == 2 && i + 2 <= end) {  // supported_versions: the selected one
            out->version = be16(p + i);
            break;
        }
        i += len;
    }
    return true;
}

const char* to_string(TlsOutcome o) {
    switch (o) {
        case TlsOutcome::completed:
            return "completed";
        case TlsOutcome::alert:
            return "alert";
        case TlsOutcome::reset:
            return "reset";
        case TlsOutcome::no_server_hello:
            return "no_server_hello";
        case TlsOutcome::no_client_finished:
            return "no_client_finished";
    }
    return "?";
}

TlsOutcome TlsHandshake::outcome() const {
    if (finished_seen) return TlsOutcome::completed;
    if (alert_seen) return TlsOutcome::alert;
    if (reset_seen) return TlsOutcome::reset;
    return server_hello_seen ? TlsOutcome::no_client_finished : TlsOutcome::no_server_hello;
}

bool TlsHandshake::negative_time() const {
    return (has_server_leg() && server_leg() < 0) || (has_handshake() && handshake() < 0);
}

std::uint32_t* TlsTracker::slot(std::uint32_t stream) {
    // Wireshark numbers streams densely from 0: a vector, and a map for far jumps.
    if (stream < streams_.size()) return &streams_[stream];
    if (stream < streams_.size() + 65536) {
        streams_.resize(std::max<std::size_t>(stream + 1, streams_.size() * 2), 0);
        return &streams_[stream];
    }
    return &far_streams_[stream];
}

namespace {
bool finished(const TlsHandshake& h) {
    return h.finished_seen || h.alert_seen || h.reset_seen;
}
}  // namespace

struct TlsTracker::Located : TcpSegment {
    const std::uint8_t* payload = nullptr;
    std::size_t available = 0;
};

void TlsTracker::walk(TlsHandshake& h, int dir, const Located& s, std::size_t offset) {
    const std::uint8_t* p = s.payload;
    while (!finished(h) && offset < s.seglen) {
        TlsRecordHeader r;
        if (!p || offset + 5 > s.available || !tls_record_header(p + offset, s.available - offset, &r)) {
            // Not at a record boundary after all (or cut short): resynchronise
            // on a later segment that starts with a record.
            if (!p || offset + 5 <= s.available) h.next_known[dir] = false;
            return;
        }
        const std::uint8_t* body = p + offset + 5;
        const std::size_t body_n = std::min<std::size_t>(r.length, s.available - offset - 5);
        if (dir == 1) {
            if (r.type == 22 && body_n >= 1 && body[0] == 2 && !h.server_hello_seen) {
                ServerHelloInfo sh;
                if (parse_server_hello(body, body_n, &sh)) {
                    if (sh.hello_retry) {
                        h.hello_retry = true;
                    } else {
                        h.server_hello_seen = true;
                        h.server_hello_time = s.time;
                        h.server_hello_frame = s.frame;
                        h.version = sh.version;
                    }
                }
            } else if (r.type == 21) {
                h.alert_seen = true;
                h.alert_frame = s.frame;
                h.alert_description = body_n >= 2 ? body[1] : 0;
            }
        } else if (r.type == 22 && body_n >= 1 && body[0] == 1 && h.hello_retry && !h.server_hello_seen) {
            ++h.client_hellos;  // the second ClientHello, after a HelloRetryRequest
            h.hello_time = s.time;
            h.hello_frame = s.frame;
        } else if (r.type == 21) {
            h.alert_seen = true;
            h.alert_frame = s.frame;
            h.alert_description = body_n >= 2 ? body[1] : 0;
        } else if (h.server_hello_seen) {
            const bool tls13 = h.version == 0x0304;
            // TLS 1.3: the client's first encrypted record is its Finished,
            // unless it is an alert (2 bytes + content type + 16-byte tag).
            // Earlier versions: the ChangeCipherSpec right before Finished.
            if (tls13 && r.type == 23 && r.length == 19) {
                h.alert_seen = true;
                h.alert_frame = s.frame;
                h.alert_description = 255;
            } else if ((tls13 && r.type == 23) || (!tls13 && (r.type == 20 || r.type == 23))) {
                h.finished_seen = true;
                h.finished_time = s.time;
                h.finished_frame = s.frame;
            }
        }
        offset += 5 + std::size_t{r.length};
        h.next_seq[dir] = s.seq + static_cast<std::uint32_t>(offset);
        h.next_known[dir] = true;
    }
}

TlsUpdate TlsTracker::add(const TcpSegment& seg, const PayloadRef& bytes) {
    // Most segments: no data, or a stream known not to be TLS; decided
    // before the (larger) function that reads the payload is entered.
    if (seg.seglen == 0 && !(seg.flags & tcp_flags::rst)) return TlsUpdate{};
    std::uint32_t* sl = slot(seg.stream);
    if (*sl == kNotTls) return TlsUpdate{};
    return add_to(seg, bytes, sl);
}

[[gnu::noinline]] TlsUpdate TlsTracker::add_to(const TcpSegment& seg, const PayloadRef& bytes, std::uint32_t* sl) {
    TlsUpdate up;
    Located s;
    static_cast<TcpSegment&>(s) = seg;
    s.payload = bytes.payload;
    s.available = bytes.available;
    if (!s.payload && seg.seglen > 0)
        s.payload = find_tcp_payload(bytes.frame, bytes.captured, seg.sport, seg.dport, seg.seq, bytes.header_len,
                                     seg.seglen, &s.available);
    TlsHandshake* h = (*sl && *sl < kProbing) ? &records_[*sl - 1] : nullptr;
    const bool counted = window_.contains(s.frame);
    const auto count = [&](const TlsHandshake& x, TlsOutcome o, int delta) {
        if (!x.context) outcomes_[static_cast<std::size_t>(o)] += static_cast<std::uint64_t>(delta);
    };
    if (h && !finished(*h)) {
        const int dir = (s.src == h->client && s.sport == h->client_port) ? 0 : 1;
        up.handshake = h;
        up.before = h->outcome();
        const bool had_time = h->finished_seen;
        if (s.flags & tcp_flags::rst) {
            h->reset_seen = true;
            h->rst_frame = s.frame;
        } else if (s.seglen > 0) {
            std::size_t offset = 0;
            bool go = true;
            if (h->next_known[dir]) {
                const std::int64_t d = seq_diff(h->next_seq[dir], s.seq);
                if (d >= static_cast<std::int64_t>(s.seglen)) {
                    go = false;  // inside a record that goes on, or a retransmission
                } else if (d >= 0) {
                    offset = static_cast<std::size_t>(d);
                } else if (d + static_cast<std::int64_t>(s.seglen) <= 0) {
                    go = false;  // all before the boundary: a retransmission
                }
                // else: a gap (a segment not captured): try a record at its start
            }
            if (go) walk(*h, dir, s, offset);
        }
        up.after = h->outcome();
        up.measured_now = !had_time && h->finished_seen;
        if (up.after != up.before) {
            count(*h, up.before, -1);
            count(*h, up.after, 1);
        }
        return up;
    }
    if (s.seglen == 0) return up;
    // A new handshake: a segment that starts with a ClientHello.
    TlsRecordHeader r;
    if (!s.payload || s.available < 6) {
        return up;  // bytes not there: decide on a later segment
    }
    const bool record = tls_record_header(s.payload, s.available, &r);
    if (!record || r.type != 22 || s.payload[5] != 1) {
        // Application data: the stream's handshake, if it had one, is over
        // (it came before the capture); no ClientHello can follow in the
        // clear. Anything else: looked at again on the next data segments.
        if (!h) {
            if (record && r.type == 23)
                *sl = kNotTls;
            else
                *sl = *sl == 0 ? kProbing + 1 : *sl + 1;  // kNotTls after kProbeSegments
        }
        return up;
    }
    records_.emplace_back();
    TlsHandshake& n = records_.back();
    *sl = static_cast<std::uint32_t>(records_.size());
    n.stream = s.stream;
    n.client = s.src;
    n.server = s.dst;
    n.client_port = s.sport;
    n.server_port = s.dport;
    n.client_hello_time = n.hello_time = s.time;
    n.client_hello_frame = n.hello_frame = s.frame;
    n.client_hellos = 1;
    n.context = !counted;
    n.sni = client_hello_sni(s.payload + 5, std::min<std::size_t>(r.length, s.available - 5));
    n.next_seq[0] = s.seq + 5u + r.length;
    n.next_known[0] = true;
    if (5u + r.length < s.seglen) walk(n, 0, s, 5u + r.length);
    up.handshake = &n;
    up.is_new = true;
    up.after = n.outcome();
    count(n, up.after, 1);
    return up;
}

namespace {
// What TLS and QUIC reports share: counted records (context ones left out),
// outcome counts, retries and negative times, per-server accumulators keyed
// by `Key` (sorted by most connections, then key), and the legs' samples,
// summarised over all and per server.
template <typename Key, typename Report, typename Server, std::size_t Legs>
class ReportBuilder {
public:
    ReportBuilder(Report* r, std::array<Summary Report::*, Legs> totals, std::array<Summary Server::*, Legs> per)
        : r_(r), totals_(totals), per_(per) {}
    // Counts a record; returns its server, or null when its times are
    // negative (counted, not measured).
    template <typename Rec, typename Init>
    Server* count(const Rec& h, const Key& key, Init init) {
        ++r_->connections;
        const auto oi = static_cast<std::size_t>(h.outcome());
        ++r_->outcomes[oi];
        auto [it, fresh] = servers_.try_emplace(key);
        Server& s = it->second;
        if (fresh) init(s);
        ++s.connections;
        ++s.outcomes[oi];
        if (h.retried()) {
            ++r_->retried;
            ++s.retried;
        }
        if (h.negative_time()) {
            ++r_->negative_time;
            return nullptr;
        }
        key_ = &it->first;
        return &s;
    }
    // A leg's sample of the record count() returned a server for.
    void sample(std::size_t leg, Nanos v) {
        all_[leg].push_back(v);
        by_[leg][*key_].push_back(v);
    }
    void finish(std::vector<Server>* out) {
        for (std::size_t i = 0; i < Legs; ++i) {
            r_->*totals_[i] = summarize(all_[i]);
            for (auto& [k, v] : by_[i]) servers_[k].*per_[i] = summarize(v);
        }
        for (auto& kv : servers_) out->push_back(std::move(kv.second));
        std::stable_sort(out->begin(), out->end(),
                         [](const Server& a, const Server& b) { return a.connections > b.connections; });
    }

private:
    Report* r_;
    std::array<Summary Report::*, Legs> totals_;
    std::array<Summary Server::*, Legs> per_;
    std::map<Key, Server> servers_;
    std::array<std::vector<Nanos>, Legs> all_;
    std::array<std::map<Key, std::vector<Nanos>>, Legs> by_;
    const Key* key_ = nullptr;
};

using TlsKey = std::tuple<IpAddress::SortKey, std::uint16_t, std::string>;
using QuicKey = std::pair<IpAddress::SortKey, std::uint16_t>;
}  // namespace

TlsReport TlsTracker::report() const {
    TlsReport r;
    ReportBuilder<TlsKey, TlsReport, TlsServerReport, 2> b(&r, {&TlsReport::server_leg, &TlsReport::handshake},
                                                           {&TlsServerReport::server_leg, &TlsServerReport::handshake});
    for (const TlsHandshake& h : records_) {
        if (h.context) continue;
        if (h.server_hello_seen) ++r.versions[tls_version_name(h.version)];
        TlsServerReport* s = b.count(h, TlsKey{h.server.sort_key(), h.server_port, h.sni}, [&h](TlsServerReport& n) {
            n.address = h.server;
            n.port = h.server_port;
            n.sni = h.sni;
        });
        if (!s) continue;
        if (h.has_server_leg()) b.sample(0, h.server_leg());
        if (h.has_handshake()) {
            b.sample(1, h.handshake());
            r.histogram.add(h.handshake());
        }
    }
    b.finish(&r.servers);
    return r;
}

// ---- QUIC tracker -----------------------------------------------------------------
const char* to_string(QuicOutcome o) {
    switch (o) {
        case QuicOutcome::completed:
            return "completed";
        case QuicOutcome::unanswered:
            return "unanswered";
        case QuicOutcome::version_negotiation:
            return "version_negotiation";
        case QuicOutcome::retry:
            return "retry";
        case QuicOutcome::no_client_reply:
            return "no_client_reply";
    }
    return "?";
}

QuicOutcome QuicHandshake::outcome() const {
    if (handshake_seen) return QuicOutcome::completed;
    if (server_initial_seen) return QuicOutcome::no_client_reply;
    if (retry_seen) return QuicOutcome::retry;
    if (vn_seen) return QuicOutcome::version_negotiation;
    return QuicOutcome::unanswered;
}

bool QuicHandshake::negative_time() const {
    return (has_server_leg() && server_leg() < 0) || (has_client_leg() && (client_leg() < 0 || connect() < 0));
}

QuicUpdate QuicTracker::add(const UdpDatagram& d, const PayloadRef& bytes) {
    QuicUpdate up;
    const std::uint8_t* payload = bytes.payload;
    std::size_t available = bytes.available;
    if (!payload)
        payload = find_udp_payload(bytes.frame, bytes.captured, d.sport, d.dport,
                                   static_cast<std::uint32_t>(d.length + 8), bytes.checksum, &available);
    if (!payload || available == 0) return up;
    const bool long_header = payload[0] & 0x80;
    if (!long_header && waiting_ == 0) return up;
    const Flow as_server{d.dst, d.src, d.dport, d.sport};
    const Flow as_client{d.src, d.dst, d.sport, d.dport};
    QuicDatagram q;
    if (long_header) {
        if (!parse_quic(payload, available, d.length, &q)) {
            QuicPacket c;
            if ((payload[0] & 0x40) && d.length >= 1200 && quic_invariants(payload, available, &c) && c.version != 0 &&
                c.dcid.len >= 8) {
                Candidate cand{as_client, c.version, d.frame, d.time, c.dcid, c.scid};
                if (candidates_.size() < kCandidates)
                    candidates_.push_back(cand);
                else
                    candidates_[next_candidate_++ % kCandidates] = cand;
            }
            return up;
        }
    } else {
        q.count = 1;
        q.packets[0].type = QuicPacketType::short_header;
    }
    const QuicPacket& first = q.packets[0];
    QuicHandshake* h = nullptr;
    bool from_server = false;
    // The server's side: its packets go to the client's connection ID (a
    // short header's cannot be read: the flow's latest handshake).
    if (const auto it = flows_.find(as_server); it != flows_.end()) {
        for (auto i = it->second.rbegin(); i != it->second.rend() && !h; ++i) {
            QuicHandshake& c = records_[*i];
            if (first.type == QuicPacketType::short_header || c.client_cid == first.dcid) h = &c;
        }
        from_server = h != nullptr;
    }
    if (!h) {
        if (const auto it = flows_.find(as_client); it != flows_.end()) {
            for (auto i = it->second.rbegin(); i != it->second.rend() && !h; ++i) {
                QuicHandshake& c = records_[*i];
                if (first.type == QuicPacketType::short_header) break;
                if (c.original_dcid == first.dcid || (c.retry_seen && c.retry_cid == first.dcid) ||
                    (c.server_initial_seen && c.server_cid == first.dcid))
                    h = &c;
            }
        }
    }
    if (!h && first.type == QuicPacketType::version_negotiation) {
        // The answer to a client of a version this tracker cannot read?
        for (const Candidate& c : candidates_)
            if (c.flow == as_server && c.dcid == first.scid && c.scid == first.dcid) {
                h = &start(c.flow, c.version, c.dcid, c.scid, c.frame, c.time);
                from_server = true;
                up.is_new = true;
                break;
            }
    }
    if (!h) {
        // A new handshake: a client Initial with the fixed bit, in a datagram
        // of at least 1200 bytes (RFC 9000 sections 17.2 and 14.1).
        if (first.type != QuicPacketType::initial || d.length < 1200 || !(payload[0] & 0x40)) return up;
        QuicHandshake& n = start(as_client, first.version, first.dcid, first.scid, d.frame, d.time);
        for (std::size_t i = 1; i < q.count; ++i)
            if (q.packets[i].type == QuicPacketType::zero_rtt) n.zero_rtt = true;
        up.handshake = &n;
        up.is_new = true;
        up.after = n.outcome();
        if (!n.context) ++outcomes_[static_cast<std::size_t>(up.after)];
        return up;
    }
    if (up.is_new && !h->context) ++outcomes_[static_cast<std::size_t>(h->outcome())];
    up.handshake = h;
    up.before = h->outcome();
    const bool had_rtt = h->handshake_seen;
    if (from_server) {
        for (std::size_t i = 0; i < q.count; ++i) {
            const QuicPacket& p = q.packets[i];
            if (p.type == QuicPacketType::version_negotiation && !h->server_initial_seen && !h->vn_seen) {
                h->vn_seen = true;
                h->vn_frame = d.frame;
            } else if (p.type == QuicPacketType::retry && !h->server_initial_seen && !h->retry_seen) {
                h->retry_seen = true;
                h->retry_cid = p.scid;
                h->retry_frame = d.frame;
            } else if (p.type == QuicPacketType::initial && !h->server_initial_seen) {
                h->server_initial_seen = true;
                h->server_initial_time = d.time;
                h->server_initial_frame = d.frame;
                h->server_cid = p.scid;
                if (p.version) h->version = p.version;
            }
        }
        if (h->server_initial_seen && !h->handshake_seen) {
            h->server_last_time = d.time;
            h->server_last_frame = d.frame;
        }
    } else {
        bool initial = false;
        for (std::size_t i = 0; i < q.count; ++i) {
            const QuicPacket& p = q.packets[i];
            if (p.type == QuicPacketType::initial) {
                initial = true;
                // The first Initial after a Retry (to the Retry's connection
                // ID) starts the attempt the server answers.
                if (h->retry_seen && p.dcid == h->retry_cid && h->initial_frame < h->retry_frame) {
                    h->initial_time = d.time;
                    h->initial_frame = d.frame;
                }
            } else if (p.type == QuicPacketType::zero_rtt) {
                h->zero_rtt = true;
            } else if (p.type == QuicPacketType::handshake && !h->handshake_seen && h->server_initial_seen) {
                h->handshake_seen = true;
                h->handshake_time = d.time;
                h->handshake_frame = d.frame;
                --waiting_;
            }
        }
        if (initial) ++h->client_initials;
    }
    up.after = h->outcome();
    up.measured_now = !had_rtt && h->handshake_seen;
    if (up.after != up.before && !h->context) {
        --outcomes_[static_cast<std::size_t>(up.before)];
        ++outcomes_[static_cast<std::size_t>(up.after)];
    }
    return up;
}

QuicHandshake& QuicTracker::start(const Flow& flow, std::uint32_t version, const ConnectionId& dcid,
                                  const ConnectionId& scid, std::uint32_t frame, Nanos time) {
    records_.emplace_back();
    QuicHandshake& n = records_.back();
    n.client = flow.client;
    n.server = flow.server;
    n.client_port = flow.client_port;
    n.server_port = flow.server_port;
    n.version = version;
    n.original_dcid = dcid;
    n.client_cid = scid;
    n.first_initial_time = n.initial_time = time;
    n.first_initial_frame = n.initial_frame = frame;
    n.client_initials = 1;
    n.context = !window_.contains(frame);
    flows_[flow].push_back(static_cast<std::uint32_t>(records_.size() - 1));
    ++waiting_;
    return n;
}

QuicReport QuicTracker::report() const {
    QuicReport r;
    ReportBuilder<QuicKey, QuicReport, QuicServerReport, 3> b(
        &r, {&QuicReport::rtt, &QuicReport::server_leg, &QuicReport::client_leg},
        {&QuicServerReport::rtt, &QuicServerReport::server_leg, &QuicServerReport::client_leg});
    std::vector<Nanos> connect;
    for (const QuicHandshake& h : records_) {
        if (h.context) continue;
        ++r.versions[quic_version_name(h.version)];
        if (h.zero_rtt) ++r.zero_rtt;
        QuicServerReport* s = b.count(h, QuicKey{h.server.sort_key(), h.server_port}, [&h](QuicServerReport& n) {
            n.address = h.server;
            n.port = h.server_port;
        });
        if (!s) continue;
        if (h.has_server_leg()) b.sample(1, h.server_leg());
        if (h.has_client_leg()) {
            b.sample(2, h.client_leg());
            b.sample(0, h.rtt());
            connect.push_back(h.connect());
            r.histogram.add(h.rtt());
        }
    }
    b.finish(&r.servers);
    r.connect = summarize(connect);
    return r;
}

// ---- JSON and CSV -----------------------------------------------------------------
namespace {
void tls_connection(JsonWriter& w, const TlsHandshake& h) {
    w.begin_object();
    w.field("stream", h.stream);
    w.field("client", h.client);
    w.field("client_port", static_cast<unsigned>(h.client_port));
    w.field("server", h.server);
    w.field("server_port", static_cast<unsigned>(h.server_port));
    w.key("sni");
    if (h.sni.empty())
        w.null();
    else
        w.value(h.sni);
    w.key("version");
    if (h.server_hello_seen)
        w.value(tls_version_name(h.version));
    else
        w.null();
    w.key("start_time").epoch_us(h.client_hello_time);
    w.field("client_hello_frame", h.client_hello_frame);
    w.field("hello_frame", h.hello_frame);
    w.field_or_null("server_hello_frame", h.server_hello_seen, h.server_hello_frame);
    w.field_or_null("finished_frame", h.finished_seen, h.finished_frame);
    w.field_or_null("alert_frame", h.alert_seen, h.alert_frame);
    w.key("alert");
    if (!h.alert_seen)
        w.null();
    else if (h.alert_description == 255)
        w.plain_value("encrypted");
    else
        w.value(static_cast<unsigned>(h.alert_description));
    w.field_or_null("rst_frame", h.reset_seen, h.rst_frame);
    w.field("client_hellos", static_cast<unsigned>(h.client_hellos));
    w.field("retried", h.retried());
    w.field_ms_or_null("server_leg_ms", h.has_server_leg(), h.server_leg());
    w.field_ms_or_null("handshake_ms", h.has_handshake(), h.handshake());
    w.plain_field("outcome", to_string(h.outcome()));
    w.key("anomaly");
    if (h.negative_time())
        w.plain_value("negative_time");
    else
        w.null();
    w.end_object();
}

void quic_connection(JsonWriter& w, const QuicHandshake& h) {
    w.begin_object();
    w.field("client", h.client);
    w.field("client_port", static_cast<unsigned>(h.client_port));
    w.field("server", h.server);
    w.field("server_port", static_cast<unsigned>(h.server_port));
    w.field("version", quic_version_name(h.version));
    w.field("original_dcid", h.original_dcid.hex());
    w.field("client_cid", h.client_cid.hex());
    w.key("server_cid");
    if (h.server_initial_seen)
        w.value(h.server_cid.hex());
    else
        w.null();
    w.key("start_time").epoch_us(h.first_initial_time);
    w.field("first_initial_frame", h.first_initial_frame);
    w.field("initial_frame", h.initial_frame);
    w.field_or_null("server_initial_frame", h.server_initial_seen, h.server_initial_frame);
    w.field_or_null("server_last_frame", h.server_initial_seen, h.server_last_frame);
    w.field_or_null("handshake_frame", h.handshake_seen, h.handshake_frame);
    w.field_or_null("retry_frame", h.retry_seen, h.retry_frame);
    w.field_or_null("version_negotiation_frame", h.vn_seen, h.vn_frame);
    w.field("client_initials", h.client_initials);
    w.field("zero_rtt", h.zero_rtt);
    w.field("retried", h.retried());
    w.field_ms_or_null("server_leg_ms", h.has_server_leg(), h.server_leg());
    w.field_ms_or_null("client_leg_ms", h.has_client_leg(), h.client_leg());
    w.field_ms_or_null("rtt_ms", h.has_rtt(), h.rtt());
    w.field_ms_or_null("connect_ms", h.has_rtt(), h.connect());
    w.plain_field("outcome", to_string(h.outcome()));
    w.key("anomaly");
    if (h.negative_time())
        w.plain_value("negative_time");
    else
        w.null();
    w.end_object();
}

// "connections" (the counted ones), and in a windowed run "window" and the
// handshakes begun in the context before it ("context_connections", for
// triage-merge); then closes the section.
template <typename Rec, typename Write>
void connections_json(JsonWriter& w, const std::vector<Rec>& records, const FrameWindow& win, std::uint32_t Rec::*start,
                      Write write) {
    w.key("connections").begin_array();
    for (const Rec& h : records)
        if (!h.context) write(w, h);
    w.end_array();
    if (win.limited()) {
        w.key("window").begin_object();
        w.field("first_frame", win.first);
        w.key("last_frame");
        if (win.last)
            w.value(win.last);
        else
            w.null();
        w.end_object();
        w.key("context_connections").begin_array();
        for (const Rec& h : records)
            if (h.context && h.*start < win.first) write(w, h);
        w.end_array();
    }
    w.end_object();
}
}  // namespace

void write_tls_json(const TlsTracker& t, JsonWriter& w) {
    const TlsReport r = t.report();
    w.begin_object();
    w.key("summary").begin_object();
    w.field("connections", r.connections);
    for (std::size_t i = 0; i < kTlsOutcomeCount; ++i)
        w.plain_key(to_string(static_cast<TlsOutcome>(i))).value(r.outcomes[i]);
    w.field("retried_handshakes", r.retried);
    w.field("negative_time", r.negative_time);
    w.key("versions").begin_object();
    for (const auto& [name, n] : r.versions) w.field(name, n);
    w.end_object();
    w.end_object();
    w.summary_ms("server_leg_ms", r.server_leg);
    w.summary_ms("handshake_ms", r.handshake);
    w.key("histogram").histogram_value(r.histogram);
    w.key("servers").begin_array();
    for (const TlsServerReport& s : r.servers) {
        w.begin_object();
        w.field("server", s.address);
        w.field("server_port", static_cast<unsigned>(s.port));
        w.key("sni");
        if (s.sni.empty())
            w.null();
        else
            w.value(s.sni);
        w.field("connections", s.connections);
        for (std::size_t i = 0; i < kTlsOutcomeCount; ++i)
            w.plain_key(to_string(static_cast<TlsOutcome>(i))).value(s.outcomes[i]);
        w.field("retried", s.retried);
        w.summary_ms("server_leg_ms", s.server_leg);
        w.summary_ms("handshake_ms", s.handshake);
        w.end_object();
    }
    w.end_array();
    connections_json(w, t.handshakes(), t.window(), &TlsHandshake::client_hello_frame, tls_connection);
}

void write_quic_json(const QuicTracker& t, JsonWriter& w) {
    const QuicReport r = t.report();
    w.begin_object();
    w.key("summary").begin_object();
    w.field("connections", r.connections);
    for (std::size_t i = 0; i < kQuicOutcomeCount; ++i)
        w.plain_key(to_string(static_cast<QuicOutcome>(i))).value(r.outcomes[i]);
    w.field("retried_handshakes", r.retried);
    w.field("zero_rtt", r.zero_rtt);
    w.field("negative_time", r.negative_time);
    w.key("versions").begin_object();
    for (const auto& [name, n] : r.versions) w.field(name, n);
    w.end_object();
    w.end_object();
    w.summary_ms("rtt_ms", r.rtt);
    w.summary_ms("server_leg_ms", r.server_leg);
    w.summary_ms("client_leg_ms", r.client_leg);
    w.summary_ms("connect_ms", r.connect);
    w.key("histogram").histogram_value(r.histogram);
    w.key("servers").begin_array();
    for (const QuicServerReport& s : r.servers) {
        w.begin_object();
        w.field("server", s.address);
        w.field("server_port", static_cast<unsigned>(s.port));
        w.field("connections", s.connections);
        for (std::size_t i = 0; i < kQuicOutcomeCount; ++i)
            w.plain_key(to_string(static_cast<QuicOutcome>(i))).value(s.outcomes[i]);
        w.field("retried", s.retried);
        w.summary_ms("rtt_ms", s.rtt);
        w.summary_ms("server_leg_ms", s.server_leg);
        w.summary_ms("client_leg_ms", s.client_leg);
        w.end_object();
    }
    w.end_array();
    connections_json(w, t.handshakes(), t.window(), &QuicHandshake::first_initial_frame, quic_connection);
}

namespace {
std::string num(std::uint32_t v) {
    return v ? std::to_string(v) : std::string();
}
std::string ms_or_empty(bool present, Nanos v) {
    return present ? format_ms(v) : std::string();
}
// A CSV field: quoted when it holds a comma, a quote or a line break.
std::string csv_text(const std::string& s) {
    if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
    std::string q = "\"";
    for (char c : s) {
        if (c == '"') q += '"';
        q += c;
    }
    return q + '"';
}
template <typename Rec, typename Line>
void csv_lines(const std::vector<Rec>& records, std::string header, const std::function<void(std::string_view)>& sink,
               Line line) {
    std::string out = std::move(header);
    for (const Rec& h : records) {
        if (h.context) continue;
        out += line(h);
        out += '\n';
        if (out.size() >= (1u << 16)) {
            sink(out);
            out.clear();
        }
    }
    sink(out);
}
}  // namespace

void tls_csv(const TlsTracker& t, const std::function<void(std::string_view)>& sink) {
    csv_lines(t.handshakes(),
              "stream,client,client_port,server,server_port,sni,version,client_hello_frame,hello_frame,"
              "server_hello_frame,finished_frame,alert_frame,rst_frame,client_hellos,server_leg_ms,handshake_ms,"
              "outcome,anomaly\n",
              sink, [](const TlsHandshake& h) {
                  return std::to_string(h.stream) + ',' + h.client.to_string() + ',' + std::to_string(h.client_port) +
                         ',' + h.server.to_string() + ',' + std::to_string(h.server_port) + ',' + csv_text(h.sni) +
                         ',' + (h.server_hello_seen ? tls_version_name(h.version) : std::string()) + ',' +
                         num(h.client_hello_frame) + ',' + num(h.hello_frame) + ',' +
                         num(h.server_hello_seen ? h.server_hello_frame : 0) + ',' +
                         num(h.finished_seen ? h.finished_frame : 0) + ',' + num(h.alert_seen ? h.alert_frame : 0) +
                         ',' + num(h.reset_seen ? h.rst_frame : 0) + ',' + std::to_string(h.client_hellos) + ',' +
                         ms_or_empty(h.has_server_leg(), h.server_leg()) + ',' +
                         ms_or_empty(h.has_handshake(), h.handshake()) + ',' + to_string(h.outcome()) + ',' +
                         (h.negative_time() ? "negative_time" : "");
              });
}

void quic_csv(const QuicTracker& t, const std::function<void(std::string_view)>& sink) {
    csv_lines(t.handshakes(),
              "client,client_port,server,server_port,version,original_dcid,first_initial_frame,initial_frame,"
              "server_initial_frame,server_last_frame,handshake_frame,retry_frame,version_negotiation_frame,"
              "zero_rtt,server_leg_ms,client_leg_ms,rtt_ms,connect_ms,outcome,anomaly\n",
              sink, [](const QuicHandshake& h) {
                  return h.client.to_string() + ',' + std::to_string(h.client_port) + ',' + h.server.to_string() + ',' +
                         std::to_string(h.server_port) + ',' + quic_version_name(h.version) + ',' +
                         h.original_dcid.hex() + ',' + num(h.first_initial_frame) + ',' + num(h.initial_frame) + ',' +
                         num(h.server_initial_seen ? h.server_initial_frame : 0) + ',' +
                         num(h.server_initial_seen ? h.server_last_frame : 0) + ',' +
                         num(h.handshake_seen ? h.handshake_frame : 0) + ',' + num(h.retry_seen ? h.retry_frame : 0) +
                         ',' + num(h.vn_seen ? h.vn_frame : 0) + ',' + (h.zero_rtt ? "true" : "false") + ',' +
                         ms_or_empty(h.has_server_leg(), h.server_leg()) + ',' +
                         ms_or_empty(h.has_client_leg(), h.client_leg()) + ',' + ms_or_empty(h.has_rtt(), h.rtt()) +
                         ',' + ms_or_empty(h.has_rtt(), h.connect()) + ',' + to_string(h.outcome()) + ',' +
                         (h.negative_time() ? "negative_time" : "");
              });
}

}  // namespace triage
