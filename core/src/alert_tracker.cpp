#include "triage/alert_tracker.hpp"

#include <algorithm>
#include <tuple>

#include "triage/json_writer.hpp"

namespace triage {

void AlertTracker::hit(std::uint32_t rule, const FrameInfo& in) {
    FrameInfo f = in;
    f.time = clamp_time(in.time);
    if (!have_last_ || f.frame != last_frame_) {
        have_last_ = true;
        last_frame_ = f.frame;
        rules_this_frame_.clear();
    }
    if (std::find(rules_this_frame_.begin(), rules_this_frame_.end(), rule) != rules_this_frame_.end()) return;
    rules_this_frame_.push_back(rule);

    Acc& acc = by_rule_[rule];
    Alert& a = acc.alert;
    if (a.frames == 0) {
        a.rule = rule;
        a.first_frame = f.frame;
        a.first_time = a.last_time = f.time;
    }
    ++a.frames;
    a.bytes += f.frame_len;
    a.first_time = std::min(a.first_time, f.time);
    a.last_time = std::max(a.last_time, f.time);

    // One conversation per endpoint pair, oriented as its first frame was.
    const bool fwd = std::tie(f.src, f.sport) < std::tie(f.dst, f.dport);
    const ConvKey key = fwd ? ConvKey{f.src, f.dst, f.sport, f.dport, f.transport}
                            : ConvKey{f.dst, f.src, f.dport, f.sport, f.transport};
    auto [it, inserted] = acc.conv_index.emplace(key, a.conversations.size());
    if (inserted) {
        AlertConversation c;
        c.src = f.src;
        c.dst = f.dst;
        c.transport = f.transport;
        c.src_port = f.sport;
        c.dst_port = f.dport;
        c.first_frame = f.frame;
        a.conversations.push_back(c);
    }
    AlertConversation& c = a.conversations[it->second];
    ++c.frames;
    c.bytes += f.frame_len;
}

std::vector<Alert> AlertTracker::alerts(const std::vector<Rule>& rules) const {
    std::vector<Alert> out;
    for (const auto& [rule, acc] : by_rule_) {
        Alert a = acc.alert;
        std::stable_sort(a.conversations.begin(), a.conversations.end(),
                         [](const AlertConversation& x, const AlertConversation& y) { return x.bytes > y.bytes; });
        out.push_back(std::move(a));
    }
    std::stable_sort(out.begin(), out.end(), [&](const Alert& x, const Alert& y) {
        const Severity sx = rules[x.rule].severity, sy = rules[y.rule].severity;
        if (sx != sy) return sx > sy;
        return x.bytes > y.bytes;
    });
    return out;
}

std::string unwanted_json(const CompiledPolicy& policy, const AlertTracker& t, const std::vector<std::string>& errors,
                          const std::vector<std::string>& warnings, bool with_tree, int indent) {
    JsonWriter w(indent);
    w.begin_object();
    w.key("policy").begin_object();
    w.field("mode", policy.policy().mode == PolicyMode::deny ? "deny" : "allow");
    w.field("use_defaults", policy.policy().use_defaults);
    w.key("entries").begin_array();
    for (const PolicyEntry& e : policy.entries_in_force()) {
        w.begin_object();
        w.field("protocol", e.protocol);
        w.plain_field("severity", to_string(e.severity));
        w.field("category", e.category);
        w.field("reason", e.reason);
        w.field("builtin", e.builtin);
        w.end_object();
    }
    w.end_array();
    w.key("port_rules").begin_array();
    for (const PortRule& p : policy.policy().port_rules) {
        w.begin_object();
        w.plain_field("transport", to_string(p.transport));
        w.field("ports", p.ports_text());
        w.field("label", p.label);
        w.plain_field("severity", to_string(p.severity));
        w.field("reason", p.reason);
        w.end_object();
    }
    w.end_array();
    w.key("errors").begin_array();
    for (const std::string& e : errors) w.value(e);
    w.end_array();
    w.key("warnings").begin_array();
    for (const std::string& e : warnings) w.value(e);
    w.end_array();
    w.end_object();
    // How the frames were dissected: with a protocol tree (as the GUI and -Y
    // show them) for a customised policy; the built-in one counts the same
    // either way. Whatever else runs does not change it.
    w.field("dissection", with_tree ? "protocol tree" : "no protocol tree (built-in policy)");

    w.key("alerts").begin_array();
    const auto& rules = policy.rules();
    for (const Alert& a : t.alerts(rules)) {
        const Rule& r = rules[a.rule];
        w.begin_object();
        w.field("protocol", r.protocol);
        w.field("category", r.category);
        w.plain_field("severity", to_string(r.severity));
        w.field("reason", r.reason);
        w.field("frames", a.frames);
        w.field("bytes", a.bytes);
        w.field("first_frame", a.first_frame);
        w.key("first_time").epoch_us(a.first_time);
        w.key("last_time").epoch_us(a.last_time);
        w.key("conversations").begin_array();
        for (const AlertConversation& c : a.conversations) {
            w.begin_object();
            w.key("src");
            if (c.src.empty())
                w.null();
            else
                w.value(c.src);
            w.key("dst");
            if (c.dst.empty())
                w.null();
            else
                w.value(c.dst);
            w.field("transport", transport_name(c.transport));
            w.field("src_port", static_cast<unsigned>(c.src_port));
            w.field("dst_port", static_cast<unsigned>(c.dst_port));
            w.field("frames", c.frames);
            w.field("bytes", c.bytes);
            w.field("first_frame", c.first_frame);
            w.end_object();
        }
        w.end_array();
        w.end_object();
    }
    w.end_array();
    t.anomalies().write(w);
    w.end_object();
    return w.take();
}

}  // namespace triage
