#include "triage/json_writer.hpp"

#include <cstdio>

namespace triage {

void JsonWriter::newline() {
    if (indent_ <= 0 || (!first_.empty() && first_.back().compact)) return;
    out_ += '\n';
    out_.append(first_.size() * static_cast<std::size_t>(indent_), ' ');
}

void JsonWriter::before_value() {
    if (after_key_) {
        after_key_ = false;
        return;
    }
    if (!first_.empty()) {
        if (!first_.back().first) out_ += ',';
        first_.back().first = false;
        newline();
    }
}

void JsonWriter::open(char c) {
    before_value();
    out_ += c;
    first_.push_back(Level{true, first_.size() >= compact_depth_});
}

void JsonWriter::close(char c) {
    const Level level = first_.back();
    first_.pop_back();
    if (!level.first && !level.compact) newline();
    out_ += c;
    if (sink_ && out_.size() >= (1u << 16)) {
        sink_(out_);
        out_.clear();
    }
}

JsonWriter& JsonWriter::begin_object() {
    open('{');
    return *this;
}

JsonWriter& JsonWriter::end_object() {
    close('}');
    if (first_.empty() && indent_ > 0) out_ += '\n';
    return *this;
}

JsonWriter& JsonWriter::begin_array() {
    open('[');
    return *this;
}

JsonWriter& JsonWriter::end_array() {
    close(']');
    return *this;
}

void JsonWriter::finish() {
    if (sink_ && !out_.empty()) sink_(out_);
    out_.clear();
}

JsonWriter& JsonWriter::key(std::string_view k) {
    before_value();
    escape_to(out_, k);
    out_ += indent_ > 0 && !(first_.back().compact) ? ": " : ":";
    after_key_ = true;
    return *this;
}

void JsonWriter::escape_to(std::string& out, std::string_view s) {
    out += '"';
    for (unsigned char c : s) {
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                if (c < 0x20 || c == 0x7f) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\u%04x", c);
                    out += buf;
                } else {
                    out += static_cast<char>(c);
                }
        }
    }
    out += '"';
}

JsonWriter& JsonWriter::value(std::string_view s) {
    before_value();
    escape_to(out_, s);
    return *this;
}

JsonWriter& JsonWriter::value(std::uint64_t v) {
    before_value();
    out_ += std::to_string(v);
    return *this;
}

JsonWriter& JsonWriter::value(std::int64_t v) {
    before_value();
    out_ += std::to_string(v);
    return *this;
}

JsonWriter& JsonWriter::value(bool b) {
    before_value();
    out_ += b ? "true" : "false";
    return *this;
}

JsonWriter& JsonWriter::null() {
    before_value();
    out_ += "null";
    return *this;
}

JsonWriter& JsonWriter::raw_number(std::string_view digits) {
    before_value();
    out_.append(digits);
    return *this;
}

JsonWriter& JsonWriter::summary_ms(std::string_view k, const Summary& s) {
    key(k).begin_object();
    field("count", static_cast<std::uint64_t>(s.count));
    const bool any = s.count > 0;
    field_ms_or_null("min", any, s.min);
    key("mean");
    if (any)
        raw_number(format_double(s.mean / 1e6, 6));
    else
        null();
    field_ms_or_null("p50", any, s.p50);
    field_ms_or_null("p90", any, s.p90);
    field_ms_or_null("p95", any, s.p95);
    field_ms_or_null("p99", any, s.p99);
    field_ms_or_null("max", any, s.max);
    return end_object();
}

}  // namespace triage
