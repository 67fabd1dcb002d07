#include "triage/egress_tracker.hpp"

#include <algorithm>

#include "triage/json_writer.hpp"

namespace triage {

const char* to_string(Direction d) {
    switch (d) {
        case Direction::outbound_external:
            return "outbound_external";
        case Direction::outbound_internal:
            return "outbound_internal";
        case Direction::outbound_platform:
            return "outbound_platform";
        case Direction::inbound:
            return "inbound";
        case Direction::other:
            return "other";
    }
    return "?";
}

const char* scope_name(Direction d) {
    switch (d) {
        case Direction::outbound_external:
            return "external";
        case Direction::outbound_internal:
            return "internal";
        case Direction::outbound_platform:
            return "platform";
        case Direction::inbound:
            return "inbound";
        case Direction::other:
            return "other";
    }
    return "?";
}

EgressConfig EgressConfig::defaults() {
    EgressConfig c;
    std::string err;
    c.local_networks.parse(kDefaultLocalNetworks, &err);
    c.platform_endpoints.parse(kDefaultPlatformEndpoints, &err);
    return c;
}

Direction EgressTracker::classify(const IpAddress& src, const IpAddress& dst) const {
    const bool src_local = cfg_.local_networks.contains(src) || cfg_.platform_endpoints.contains(src);
    if (cfg_.platform_endpoints.contains(dst)) return src_local ? Direction::outbound_platform : Direction::other;
    const bool dst_local = cfg_.local_networks.contains(dst);
    if (src_local) return dst_local ? Direction::outbound_internal : Direction::outbound_external;
    return dst_local ? Direction::inbound : Direction::other;
}

namespace {
std::size_t pair_hash(std::uint32_t destination, std::uint32_t other) {
    return (std::size_t{destination} << 32) ^ other;
}
std::uint32_t port_key(std::uint8_t transport, std::uint16_t port) {
    return std::uint32_t{transport} << 16 | port;
}
}  // namespace

EgressUpdate EgressTracker::add(const EgressFrame& in) {
    EgressFrame f = in;
    f.time = clamp_time(in.time);
    anomalies_.frame_time(f.frame, f.time);
    EgressUpdate up;
    // Consecutive frames of one flow find their records without a lookup,
    // and frames between the same two hosts their direction without
    // matching the networks again.
    Last& c = last_;
    const bool same_hosts = c.valid && c.dst == f.dst && c.src == f.src;
    Direction d;
    if (same_hosts)
        d = c.direction;
    else if (last_other_.valid && last_other_.src == f.src && last_other_.dst == f.dst)
        d = last_other_.direction;
    else
        d = classify(f.src, f.dst);
    up.direction = d;
    totals_[static_cast<std::size_t>(d)].add(f.frame_len, f.ip_len, f.payload);
    if (d == Direction::inbound || d == Direction::other) {
        last_other_ = LastOther{f.src, f.dst, d, true};
        return up;
    }
    if (!(same_hosts && c.transport == f.transport && c.dport == f.dport)) {
        c = Last{f.src, f.dst, f.transport, f.dport, locate_destination(f, d), 0, FlatIndex::kNone, d, true};
        c.pair = locate_pair(c.dest, hosts_.intern(f.src));
        if (f.transport != 0) c.port = locate_port(c.dest, f.transport, f.dport);
    }
    Destination& dest = dests_[c.dest];
    dest.volume.add(f.frame_len, f.ip_len, f.payload);
    dest.first_time = std::min(dest.first_time, f.time);
    dest.last_time = std::max(dest.last_time, f.time);
    up.destination = &dest;
    pairs_[c.pair].volume.add(f.frame_len, f.ip_len, f.payload);
    up.source = &pairs_[c.pair].volume;
    if (c.port != FlatIndex::kNone) {
        PortVolume& p = ports_[c.port];
        ++p.frames;
        p.frame_bytes += f.frame_len;
        up.port = &p;
    }
    return up;
}

std::uint32_t EgressTracker::locate_destination(const EgressFrame& f, Direction d) {
    const std::size_t dh = f.dst.hash();
    std::uint32_t di = dest_index_.find(dh, [&](std::uint32_t k) { return dests_[k].address == f.dst; });
    if (di == FlatIndex::kNone) {
        di = static_cast<std::uint32_t>(dests_.size());
        Destination n;
        n.address = f.dst;
        n.direction = d;
        n.index = di;
        n.first_time = n.last_time = f.time;
        dests_.push_back(n);
        dest_index_.insert(dh, di, [this](std::uint32_t k) { return dests_[k].address.hash(); });
    }
    return di;
}

std::uint32_t EgressTracker::locate_pair(std::uint32_t di, std::uint32_t host) {
    const std::size_t ph = pair_hash(di, host);
    std::uint32_t pi =
        pair_index_.find(ph, [&](std::uint32_t k) { return pairs_[k].destination == di && pairs_[k].host == host; });
    if (pi == FlatIndex::kNone) {
        pi = static_cast<std::uint32_t>(pairs_.size());
        pairs_.push_back(Pair{di, host, {}});
        pair_index_.insert(ph, pi,
                           [this](std::uint32_t k) { return pair_hash(pairs_[k].destination, pairs_[k].host); });
    }
    return pi;
}

std::uint32_t EgressTracker::locate_port(std::uint32_t di, std::uint8_t transport, std::uint16_t port) {
    const std::uint32_t key = port_key(transport, port);
    const std::size_t h = pair_hash(di, key);
    std::uint32_t i = port_index_.find(h, [&](std::uint32_t k) {
        return ports_[k].destination == di && port_key(ports_[k].transport, ports_[k].port) == key;
    });
    if (i == FlatIndex::kNone) {
        i = static_cast<std::uint32_t>(ports_.size());
        PortVolume n;
        n.transport = transport;
        n.port = port;
        n.destination = di;
        ports_.push_back(n);
        port_index_.insert(h, i, [this](std::uint32_t k) {
            return pair_hash(ports_[k].destination, port_key(ports_[k].transport, ports_[k].port));
        });
    }
    return i;
}

std::vector<const Destination*> EgressTracker::destinations() const {
    // Sorted as integers (bytes, address) rather than through the pointers.
    struct Rank {
        std::uint64_t bytes;
        IpAddress::SortKey address;
        const Destination* d;
    };
    std::vector<Rank> ranks;
    ranks.reserve(dests_.size());
    dests_.for_each([&ranks](const Destination& d) {
        ranks.push_back(Rank{d.volume.frame_bytes, d.address.sort_key(), &d});
    });
    std::sort(ranks.begin(), ranks.end(), [](const Rank& a, const Rank& b) {
        return a.bytes != b.bytes ? a.bytes > b.bytes : a.address < b.address;
    });
    std::vector<const Destination*> out;
    out.reserve(ranks.size());
    for (const Rank& r : ranks) out.push_back(r.d);
    return out;
}

namespace {
// Groups record indices by destination (a counting sort), each group ordered by `less`.
template <typename Records, typename Less>
void group(const Records& records, std::size_t destinations, std::vector<std::uint32_t>* start,
           std::vector<std::uint32_t>* order, Less less) {
    start->assign(destinations + 1, 0);
    records.for_each([start](const auto& r) { ++(*start)[r.destination + 1]; });
    for (std::size_t i = 0; i < destinations; ++i) (*start)[i + 1] += (*start)[i];
    order->resize(records.size());
    std::vector<std::uint32_t> next(start->begin(), start->end() - 1);
    for (std::uint32_t i = 0; i < records.size(); ++i) (*order)[next[records[i].destination]++] = i;
    for (std::size_t d = 0; d < destinations; ++d)
        std::sort(order->begin() + (*start)[d], order->begin() + (*start)[d + 1], less);
}
}  // namespace

EgressTracker::Breakdown EgressTracker::breakdown() const {
    Breakdown b;
    b.t_ = this;
    group(pairs_, dests_.size(), &b.source_start_, &b.sources_,
          [this](std::uint32_t x, std::uint32_t y) { return hosts_[pairs_[x].host] < hosts_[pairs_[y].host]; });
    group(ports_, dests_.size(), &b.port_start_, &b.ports_, [this](std::uint32_t x, std::uint32_t y) {
        return port_key(ports_[x].transport, ports_[x].port) < port_key(ports_[y].transport, ports_[y].port);
    });
    return b;
}

std::vector<SourceVolume> EgressTracker::Breakdown::sources(const Destination& d) const {
    std::vector<SourceVolume> out;
    for (std::uint32_t i = source_start_[d.index]; i < source_start_[d.index + 1]; ++i) {
        const Pair& p = t_->pairs_[sources_[i]];
        out.push_back(SourceVolume{t_->hosts_[p.host], p.volume});
    }
    return out;
}

std::vector<PortVolume> EgressTracker::Breakdown::ports(const Destination& d) const {
    std::vector<PortVolume> out;
    for (std::uint32_t i = port_start_[d.index]; i < port_start_[d.index + 1]; ++i)
        out.push_back(t_->ports_[ports_[i]]);
    return out;
}

namespace {

void volume_fields(JsonWriter& w, const Volume& v) {
    w.field("frames", v.frames);
    w.field("frame_bytes", v.frame_bytes);
    w.field("ip_bytes", v.ip_bytes);
    w.field("payload_bytes", v.payload_bytes);
}

std::vector<PortVolume> top_ports(std::vector<PortVolume> ports, std::size_t max, std::size_t* omitted) {
    std::stable_sort(ports.begin(), ports.end(),
                     [](const PortVolume& a, const PortVolume& b) { return a.frame_bytes > b.frame_bytes; });
    *omitted = max && ports.size() > max ? ports.size() - max : 0;
    if (*omitted) ports.resize(max);
    return ports;
}

}  // namespace

double cost(const EgressConfig& c, std::uint64_t ip_bytes) {
    return c.price_per_gb * static_cast<double>(ip_bytes) / 1e9;
}

namespace {
void write_egress_json(const EgressTracker& t, const NameResolver& names, JsonWriter& w);
}  // namespace

std::string egress_json(const EgressTracker& t, const NameResolver& names, int indent) {
    JsonWriter w(indent);
    w.set_compact_depth(4);  // as the streamed form: sources and ports are written as one-line values
    write_egress_json(t, names, w);
    return w.take();
}

void egress_json(const EgressTracker& t, const NameResolver& names, const TextSink& sink) {
    JsonWriter w(2, sink);
    w.set_compact_depth(4);  // sources and ports: one line each
    write_egress_json(t, names, w);
    w.finish();
}

namespace {
void write_egress_json(const EgressTracker& t, const NameResolver& names, JsonWriter& w) {
    const EgressConfig& cfg = t.config();
    const bool priced = cfg.price_per_gb > 0;
    std::uint64_t outbound_bytes = 0;
    for (Direction d : {Direction::outbound_external, Direction::outbound_internal, Direction::outbound_platform})
        outbound_bytes += t.total(d).frame_bytes;

    w.begin_object();
    w.key("local_networks").begin_array();
    for (const auto& s : cfg.local_networks.to_strings()) w.value(s);
    w.end_array();
    w.key("platform_endpoints").begin_array();
    for (const auto& s : cfg.platform_endpoints.to_strings()) w.value(s);
    w.end_array();
    w.key("price_per_gb");
    if (priced)
        w.raw_number(format_double(cfg.price_per_gb, 6));
    else
        w.null();
    w.key("totals").begin_object();
    for (std::size_t i = 0; i < kDirectionCount; ++i) {
        const auto d = static_cast<Direction>(i);
        w.plain_key(to_string(d)).begin_object();
        volume_fields(w, t.total(d));
        if (priced && d == Direction::outbound_external)
            w.key("estimated_cost").raw_number(format_double(cost(cfg, t.total(d).ip_bytes), 6));
        w.end_object();
    }
    w.end_object();
    w.key("destinations").begin_array();
    const EgressTracker::Breakdown detail = t.breakdown();
    for (const Destination* d : t.destinations()) {
        w.begin_object();
        w.field("address", d->address);
        const std::string name = names ? names(d->address) : std::string();
        w.key("name");
        if (name.empty())
            w.null();
        else
            w.value(name);
        w.plain_field("scope", scope_name(d->direction));
        volume_fields(w, d->volume);
        w.key("share").raw_number(
            format_double(outbound_bytes ? static_cast<double>(d->volume.frame_bytes) / outbound_bytes : 0.0, 6));
        if (priced) {
            w.key("estimated_cost");
            if (d->direction == Direction::outbound_external)
                w.raw_number(format_double(cost(cfg, d->volume.ip_bytes), 6));
            else
                w.null();
        }
        w.key("first_time").epoch_us(d->first_time);
        w.key("last_time").epoch_us(d->last_time);
        std::vector<SourceVolume> srcs = detail.sources(*d);
        std::stable_sort(srcs.begin(), srcs.end(), [](const SourceVolume& a, const SourceVolume& b) {
            return a.volume.frame_bytes > b.volume.frame_bytes;
        });
        w.key("sources").begin_array();
        for (const SourceVolume& src : srcs) {  // one line each, built at once
            JsonLine l;
            l.lit("{\"address\":").address(src.address);
            l.lit(",\"frames\":").u64(src.volume.frames);
            l.lit(",\"frame_bytes\":").u64(src.volume.frame_bytes);
            l.lit(",\"ip_bytes\":").u64(src.volume.ip_bytes);
            l.lit(",\"payload_bytes\":").u64(src.volume.payload_bytes);
            w.raw_value(l.lit("}"));
        }
        w.end_array();
        std::size_t omitted = 0;
        w.key("ports").begin_array();
        for (const PortVolume& p : top_ports(detail.ports(*d), cfg.max_ports, &omitted)) {
            JsonLine l;
            l.lit("{\"transport\":").plain(transport_name(p.transport));
            l.lit(",\"port\":").u64(p.port);
            l.lit(",\"frames\":").u64(p.frames);
            l.lit(",\"frame_bytes\":").u64(p.frame_bytes);
            w.raw_value(l.lit("}"));
        }
        w.end_array();
        w.field("ports_omitted", static_cast<std::uint64_t>(omitted));
        w.end_object();
    }
    w.end_array();
    t.anomalies().write(w);
    w.end_object();
}
}  // namespace

std::string egress_csv(const EgressTracker& t, const NameResolver& names) {
    std::string out;
    egress_csv(t, names, [&out](std::string_view chunk) { out.append(chunk); });
    return out;
}

void egress_csv(const EgressTracker& t, const NameResolver& names, const TextSink& sink) {
    const bool priced = t.config().price_per_gb > 0;
    std::string out =
        "destination,name,scope,source,frames,frame_bytes,ip_bytes,payload_bytes,destination_frames,"
        "destination_frame_bytes,destination_ip_bytes,first_time,last_time";
    out += priced ? ",estimated_cost\n" : "\n";
    const EgressTracker::Breakdown detail = t.breakdown();
    for (const Destination* d : t.destinations()) {
        std::string name = names ? names(d->address) : std::string();
        if (name.find_first_of(",\"\n") != std::string::npos) {
            std::string q = "\"";
            for (char c : name) q += c == '"' ? std::string("\"\"") : std::string(1, c);
            name = q + "\"";
        }
        for (const auto& [src, v] : detail.sources(*d)) {
            out += d->address.to_string() + ',' + name + ',' + scope_name(d->direction) + ',' + src.to_string() + ',' +
                   std::to_string(v.frames) + ',' + std::to_string(v.frame_bytes) + ',' + std::to_string(v.ip_bytes) +
                   ',' + std::to_string(v.payload_bytes) + ',' + std::to_string(d->volume.frames) + ',' +
                   std::to_string(d->volume.frame_bytes) + ',' + std::to_string(d->volume.ip_bytes) + ',' +
                   format_epoch_us(d->first_time) + ',' + format_epoch_us(d->last_time);
            if (priced)
                out +=
                    ',' + (d->direction == Direction::outbound_external ? format_double(cost(t.config(), v.ip_bytes), 6)
                                                                        : std::string());
            out += '\n';
        }
        if (out.size() >= (1u << 16)) {
            sink(out);
            out.clear();
        }
    }
    sink(out);
}

}  // namespace triage
