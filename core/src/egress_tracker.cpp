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

// The size the memory target counts on (bench/RESULTS.md): no padding.
static_assert(sizeof(Destination) == 48,
              "Destination: address, scope, two list lengths, key masks and heads, two times");

namespace {
std::uint32_t port_key(std::uint8_t transport, std::uint16_t port) {
    return std::uint32_t{transport} << 16 | port;
}
Volume as_volume(const CountedLists<4>::Counts& c) {
    Volume v;
    v.frames = c[0];
    v.frame_bytes = c[1];
    v.ip_bytes = c[2];
    v.payload_bytes = c[3];
    return v;
}
}  // namespace

EgressUpdate EgressTracker::add(EgressFrame f) {
    f.time = clamp_time(f.time);
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
        c = Last{f.src, f.dst, f.transport, f.dport, d, true};
        if (const std::uint32_t di = locate_destination(f, d); di != FlatIndex::kNone) {
            Destination& n = dests_[di];
            c.dest_record = &n;
            c.source = sources_.locate(&n, n.sources_, n.source_count_, hosts_.intern(f.src), &n.source_keys_);
            c.source_entry = &sources_.ref(c.source);
            if (f.transport != 0) {
                c.port = ports_.locate(&n, n.ports_, n.port_count_, port_key(f.transport, f.dport), &n.port_keys_);
                c.port_entry = &ports_.ref(c.port);
            }
        }
    }
    if (!c.dest_record) return up;  // past max_destinations: in the totals only
    Destination& dest = *c.dest_record;
    if (f.time < dest.first_.get()) dest.first_.set(f.time);
    if (f.time > dest.last_.get()) dest.last_.set(f.time);
    up.destination = &dest;
    sources_.add(*c.source_entry, {1, f.frame_len, f.ip_len, f.payload});
    up.source = c.source;
    if (c.port != FlatIndex::kNone) {
        ports_.add(*c.port_entry, {1, f.frame_len});
        up.port = c.port;
    }
    return up;
}

std::uint32_t EgressTracker::locate_destination(const EgressFrame& f, Direction d) {
    const std::size_t dh = f.dst.hash();
    std::uint32_t di = dest_index_.find(dh, [&](std::uint32_t k) { return dests_[k].address == f.dst; });
    if (di == FlatIndex::kNone) {
        if (cfg_.max_destinations && dests_.size() >= cfg_.max_destinations) return FlatIndex::kNone;
        di = static_cast<std::uint32_t>(dests_.size());
        Destination n;
        n.address = f.dst;
        n.direction = d;
        n.first_.set(f.time);
        n.last_.set(f.time);
        dests_.push_back(n);
        dest_index_.insert(dh, di, [this](std::uint32_t k) { return dests_[k].address.hash(); });
    }
    return di;
}

Volume EgressTracker::volume(const Destination& d) const {
    Volume v;
    sources_.for_each(d.sources_, [&](std::uint32_t e) { v += source(e); });
    return v;
}

Volume EgressTracker::source(std::uint32_t entry) const {
    return as_volume(sources_.counts(entry));
}

PortVolume EgressTracker::port(std::uint32_t entry) const {
    const std::uint32_t key = ports_.key(entry);
    PortVolume p;
    p.transport = static_cast<std::uint8_t>(key >> 16);
    p.port = static_cast<std::uint16_t>(key);
    p.frames = ports_.count(entry, 0);
    p.frame_bytes = ports_.count(entry, 1);
    return p;
}

std::vector<const Destination*> EgressTracker::destinations() const {
    // Indices sorted by (bytes, address), each destination's bytes summed
    // once and the start of its address kept as an integer that sorts as the
    // address does (its family, then its first three bytes): most comparisons
    // read two small arrays, the records only on a tie of both. 16 bytes per
    // destination beside the records while sorting, 12 after.
    const auto n = static_cast<std::uint32_t>(dests_.size());
    std::vector<std::uint64_t> bytes(n);
    std::vector<std::uint32_t> prefix(n), order(n);
    for (std::uint32_t i = 0; i < n; ++i) {
        order[i] = i;
        sources_.for_each(dests_[i].sources_, [&](std::uint32_t e) { bytes[i] += sources_.count(e, 1); });
        const IpAddress::SortKey k = dests_[i].address.sort_key();
        prefix[i] = std::uint32_t{k.family} << 24 | static_cast<std::uint32_t>(k.high >> 40);
    }
    std::sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) {
        if (bytes[a] != bytes[b]) return bytes[a] > bytes[b];
        if (prefix[a] != prefix[b]) return prefix[a] < prefix[b];
        return dests_[a].address < dests_[b].address;
    });
    std::vector<std::uint64_t>().swap(bytes);
    std::vector<std::uint32_t>().swap(prefix);
    std::vector<const Destination*> out;
    out.reserve(n);
    for (std::uint32_t i : order) out.push_back(&dests_[i]);
    return out;
}

std::vector<SourceVolume> EgressTracker::sources(const Destination& d) const {
    std::vector<SourceVolume> out;
    sources(d, &out);
    return out;
}

void EgressTracker::sources(const Destination& d, std::vector<SourceVolume>* out) const {
    out->clear();
    sources_.for_each(d.sources_, [&](std::uint32_t e) {
        out->push_back(SourceVolume{hosts_[sources_.key(e)], source(e)});
    });
    std::sort(out->begin(), out->end(),
              [](const SourceVolume& a, const SourceVolume& b) { return a.address < b.address; });
}

std::vector<PortVolume> EgressTracker::ports(const Destination& d) const {
    std::vector<PortVolume> out;
    ports(d, &out);
    return out;
}

void EgressTracker::ports(const Destination& d, std::vector<PortVolume>* out) const {
    out->clear();
    ports_.for_each(d.ports_, [&](std::uint32_t e) { out->push_back(port(e)); });
    std::sort(out->begin(), out->end(), [](const PortVolume& a, const PortVolume& b) {
        return port_key(a.transport, a.port) < port_key(b.transport, b.port);
    });
}

namespace {

void volume_fields(JsonWriter& w, const Volume& v) {
    w.field("frames", v.frames);
    w.field("frame_bytes", v.frame_bytes);
    w.field("ip_bytes", v.ip_bytes);
    w.field("payload_bytes", v.payload_bytes);
}

// A destination's volume from its sources, as a report reads them once
// (EgressTracker::volume walks the list again: each entry a memory access at
// random).
Volume sum_of(const std::vector<SourceVolume>& sources) {
    Volume v;
    for (const SourceVolume& s : sources) v += s.volume;
    return v;
}

// The `max` ports with the most frame bytes (ties: in transport, port
// order), in that order; how many more there were in `omitted`.
void top_ports(std::vector<PortVolume>* ports, std::size_t max, std::size_t* omitted) {
    std::sort(ports->begin(), ports->end(), [](const PortVolume& a, const PortVolume& b) {
        if (a.frame_bytes != b.frame_bytes) return a.frame_bytes > b.frame_bytes;
        return port_key(a.transport, a.port) < port_key(b.transport, b.port);
    });
    *omitted = max && ports->size() > max ? ports->size() - max : 0;
    if (*omitted) ports->resize(max);
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
    // Reused from one destination to the next: no allocation per destination.
    std::vector<SourceVolume> srcs;
    std::vector<PortVolume> ports;
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
        t.sources(*d, &srcs);
        const Volume dv = sum_of(srcs);
        volume_fields(w, dv);
        w.key("share").raw_number(
            format_double(outbound_bytes ? static_cast<double>(dv.frame_bytes) / outbound_bytes : 0.0, 6));
        if (priced) {
            w.key("estimated_cost");
            if (d->direction == Direction::outbound_external)
                w.raw_number(format_double(cost(cfg, dv.ip_bytes), 6));
            else
                w.null();
        }
        w.key("first_time").epoch_us(d->first_time());
        w.key("last_time").epoch_us(d->last_time());
        // Most frame bytes first; ties in address order (the addresses differ).
        std::sort(srcs.begin(), srcs.end(), [](const SourceVolume& a, const SourceVolume& b) {
            if (a.volume.frame_bytes != b.volume.frame_bytes) return a.volume.frame_bytes > b.volume.frame_bytes;
            return a.address < b.address;
        });
        w.key("sources").begin_array();
        for (const SourceVolume& src : srcs) {  // one line each, built at once, in place
            JsonLine l(w);
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
        t.ports(*d, &ports);
        top_ports(&ports, cfg.max_ports, &omitted);
        for (const PortVolume& p : ports) {
            JsonLine l(w);  // one line each, in place
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
    for (const Destination* d : t.destinations()) {
        std::string name = names ? names(d->address) : std::string();
        if (name.find_first_of(",\"\n") != std::string::npos) {
            std::string q = "\"";
            for (char c : name) q += c == '"' ? std::string("\"\"") : std::string(1, c);
            name = q + "\"";
        }
        const std::vector<SourceVolume> srcs = t.sources(*d);
        const Volume dv = sum_of(srcs);
        for (const auto& [src, v] : srcs) {
            out += d->address.to_string() + ',' + name + ',' + scope_name(d->direction) + ',' + src.to_string() + ',' +
                   std::to_string(v.frames) + ',' + std::to_string(v.frame_bytes) + ',' + std::to_string(v.ip_bytes) +
                   ',' + std::to_string(v.payload_bytes) + ',' + std::to_string(dv.frames) + ',' +
                   std::to_string(dv.frame_bytes) + ',' + std::to_string(dv.ip_bytes) + ',' +
                   format_epoch_us(d->first_time()) + ',' + format_epoch_us(d->last_time());
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
