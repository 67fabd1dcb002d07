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

void EgressTracker::add(const EgressFrame& in) {
    EgressFrame f = in;
    f.time = clamp_time(in.time);
    anomalies_.frame_time(f.frame, f.time);
    const Direction d = classify(f.src, f.dst);
    totals_[static_cast<std::size_t>(d)].add(f.frame_len, f.ip_len, f.payload);
    if (d == Direction::inbound || d == Direction::other) return;
    auto [it, inserted] = dests_.try_emplace(f.dst);
    Destination& dest = it->second;
    if (inserted) {
        dest.address = f.dst;
        dest.direction = d;
        dest.first_time = dest.last_time = f.time;
    }
    dest.volume.add(f.frame_len, f.ip_len, f.payload);
    dest.first_time = std::min(dest.first_time, f.time);
    dest.last_time = std::max(dest.last_time, f.time);
    dest.sources[f.src].add(f.frame_len, f.ip_len, f.payload);
    if (f.transport != 0) {
        PortVolume& p = dest.ports[{f.transport, f.dport}];
        p.transport = f.transport;
        p.port = f.dport;
        ++p.frames;
        p.frame_bytes += f.frame_len;
    }
}

std::vector<const Destination*> EgressTracker::destinations() const {
    std::vector<const Destination*> out;
    out.reserve(dests_.size());
    for (const auto& [addr, d] : dests_) out.push_back(&d);
    std::sort(out.begin(), out.end(), [](const Destination* a, const Destination* b) {
        if (a->volume.frame_bytes != b->volume.frame_bytes) return a->volume.frame_bytes > b->volume.frame_bytes;
        return a->address < b->address;
    });
    return out;
}

namespace {

void volume_fields(JsonWriter& w, const Volume& v) {
    w.field("frames", v.frames);
    w.field("frame_bytes", v.frame_bytes);
    w.field("ip_bytes", v.ip_bytes);
    w.field("payload_bytes", v.payload_bytes);
}

std::vector<PortVolume> top_ports(const Destination& d, std::size_t max, std::size_t* omitted) {
    std::vector<PortVolume> ports;
    for (const auto& [k, p] : d.ports) ports.push_back(p);
    std::stable_sort(ports.begin(), ports.end(),
                     [](const PortVolume& a, const PortVolume& b) { return a.frame_bytes > b.frame_bytes; });
    *omitted = max && ports.size() > max ? ports.size() - max : 0;
    if (*omitted) ports.resize(max);
    return ports;
}

double cost(const EgressConfig& c, std::uint64_t ip_bytes) {
    return c.price_per_gb * static_cast<double>(ip_bytes) / 1e9;
}

}  // namespace

namespace {
void write_egress_json(const EgressTracker& t, const NameResolver& names, JsonWriter& w);
}  // namespace

std::string egress_json(const EgressTracker& t, const NameResolver& names, int indent) {
    JsonWriter w(indent);
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
        w.key(to_string(d)).begin_object();
        volume_fields(w, t.total(d));
        if (priced && d == Direction::outbound_external)
            w.key("estimated_cost").raw_number(format_double(cost(cfg, t.total(d).ip_bytes), 6));
        w.end_object();
    }
    w.end_object();
    w.key("destinations").begin_array();
    for (const Destination* d : t.destinations()) {
        w.begin_object();
        w.field("address", d->address.to_string());
        const std::string name = names ? names(d->address) : std::string();
        w.key("name");
        if (name.empty())
            w.null();
        else
            w.value(name);
        w.field("scope", scope_name(d->direction));
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
        w.key("first_time").raw_number(format_epoch_us(d->first_time));
        w.key("last_time").raw_number(format_epoch_us(d->last_time));
        std::vector<std::pair<IpAddress, Volume>> srcs(d->sources.begin(), d->sources.end());
        std::stable_sort(srcs.begin(), srcs.end(),
                         [](const auto& a, const auto& b) { return a.second.frame_bytes > b.second.frame_bytes; });
        w.key("sources").begin_array();
        for (const auto& [addr, v] : srcs) {
            w.begin_object();
            w.field("address", addr.to_string());
            volume_fields(w, v);
            w.end_object();
        }
        w.end_array();
        std::size_t omitted = 0;
        w.key("ports").begin_array();
        for (const PortVolume& p : top_ports(*d, cfg.max_ports, &omitted)) {
            w.begin_object();
            w.field("transport", transport_name(p.transport));
            w.field("port", static_cast<unsigned>(p.port));
            w.field("frames", p.frames);
            w.field("frame_bytes", p.frame_bytes);
            w.end_object();
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
        for (const auto& [src, v] : d->sources) {
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
