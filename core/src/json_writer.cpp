#include "triage/json_writer.hpp"

#include <algorithm>
#include <charconv>

namespace triage {

void JsonWriter::grow(std::size_t n) {
    const std::size_t cap = std::max<std::size_t>({cap_ * 2, size_ + n, 1u << 12});
    std::unique_ptr<char[]> bigger(new char[cap]);
    if (size_) std::memcpy(bigger.get(), buf_.get(), size_);
    buf_ = std::move(bigger);
    cap_ = cap;
}

void JsonWriter::newline() {
    if (indent_ <= 0 || (!first_.empty() && first_.back().compact)) return;
    line_break(0);
}

void JsonWriter::line_break(std::size_t comma) {
    // At once (a report writes a line per connection, server, source and
    // port): two fixed 8-byte copies for up to 16 spaces.
    const std::size_t spaces = first_.size() * static_cast<std::size_t>(indent_);
    const std::size_t n = comma + 1 + spaces;
    if (cap_ - size_ < n + 16) grow(n + 16);
    char* p = buf_.get() + size_;
    *p = ',';
    p[comma] = '\n';
    if (spaces <= 16) {  // past the end is free buffer
        std::memcpy(p + comma + 1, "        ", 8);
        std::memcpy(p + comma + 9, "        ", 8);
    } else {
        std::memset(p + comma + 1, ' ', spaces);
    }
    size_ += n;
}

void JsonWriter::before_value_slow() {
    if (after_key_) {
        after_key_ = false;
        return;
    }
    if (first_.empty()) return;
    Level& level = first_.back();
    const std::size_t comma = level.first ? 0 : 1;
    level.first = false;
    if (indent_ <= 0 || level.compact) {
        if (comma) put(',');
        return;
    }
    line_break(comma);
}

void JsonWriter::open(char c) {
    before_value();
    put(c);
    first_.push_back(Level{true, first_.size() >= compact_depth_});
}

void JsonWriter::close(char c) {
    const Level level = first_.back();
    first_.pop_back();
    if (!level.first && !level.compact) newline();
    put(c);
    flush_if_full();
}

void JsonWriter::flush_if_full() {
    if (sink_ && size_ >= kChunk) {
        sink_(std::string_view(buf_.get(), size_));
        size_ = 0;
    }
}

JsonWriter& JsonWriter::raw_value(const JsonLine& line) {
    if (line.in_place_ == this) {
        size_ = static_cast<std::size_t>(line.p_ - buf_.get());
        flush_if_full();
        return *this;
    }
    raw_number(line.view());
    flush_if_full();  // a long list of lines is streamed as it is written
    return *this;
}

JsonWriter& JsonWriter::begin_object() {
    open('{');
    return *this;
}

JsonWriter& JsonWriter::end_object() {
    close('}');
    if (first_.empty() && indent_ > 0) put('\n');
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
    if (sink_ && size_) sink_(std::string_view(buf_.get(), size_));
    size_ = 0;
}

JsonWriter& JsonWriter::key(std::string_view k) {
    before_value();
    escaped(k);
    put(indent_ > 0 && !(first_.back().compact) ? std::string_view(": ") : std::string_view(":"));
    after_key_ = true;
    return *this;
}

namespace {
bool needs_escape(unsigned char c) {
    return c < 0x20 || c == 0x7f || c == '"' || c == '\\';
}
}  // namespace

void JsonWriter::escape_to(std::string& out, std::string_view s) {
    out += '"';
    std::size_t plain = 0;  // the run of characters that need no escape, appended at once
    for (std::size_t i = 0; i < s.size(); ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (!needs_escape(c)) continue;
        out.append(s.data() + plain, i - plain);
        plain = i + 1;
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
            default: {
                static constexpr char kHex[] = "0123456789abcdef";
                const char u[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
                out.append(u, sizeof u);
            }
        }
    }
    out.append(s.data() + plain, s.size() - plain);
    out += '"';
}

void JsonWriter::escaped(std::string_view s) {
    // Most strings need no escape: one copy.
    bool plain = true;
    for (char c : s) plain = plain && !needs_escape(static_cast<unsigned char>(c));
    if (!plain) {
        std::string out;
        escape_to(out, s);
        put(out);
        return;
    }
    put_quoted(s);
}

JsonWriter& JsonWriter::value(std::string_view s) {
    before_value();
    escaped(s);
    return *this;
}

JsonWriter& JsonWriter::value(const IpAddress& a) {
    before_value();
    char buf[IpAddress::kTextChars + 2];
    buf[0] = '"';
    char* end = a.write(buf + 1);  // digits, dots and colons: nothing to escape
    *end++ = '"';
    put(buf, static_cast<std::size_t>(end - buf));
    return *this;
}

JsonWriter& JsonWriter::value(bool b) {
    before_value();
    put(b ? std::string_view("true") : std::string_view("false"));
    return *this;
}

JsonWriter& JsonWriter::raw_number(std::string_view digits) {
    before_value();
    put(digits);
    return *this;
}

JsonLine& JsonLine::summary_ms(const Summary& s) {
    const bool any = s.count > 0;
    lit("{\"count\":").u64(s.count);
    // A value equal to the one before is copied from its text: a summary of
    // one sample (most servers') holds one value seven times, and the upper
    // percentiles of a few samples are the maximum.
    const char* last = nullptr;
    std::size_t last_size = 0;
    Nanos last_value = 0;
    const auto value = [&](Nanos v) {
        if (!any) {
            null();
        } else if (last && v == last_value) {
            std::memcpy(p_, last, last_size);
            p_ += last_size;
        } else {
            last = p_;
            ms(v);
            last_size = static_cast<std::size_t>(p_ - last);
            last_value = v;
        }
    };
    lit(",\"min\":");
    value(s.min);
    lit(",\"mean\":");
    value(s.mean_ns);
    lit(",\"p50\":");
    value(s.p50);
    lit(",\"p90\":");
    value(s.p90);
    lit(",\"p95\":");
    value(s.p95);
    lit(",\"p99\":");
    value(s.p99);
    lit(",\"max\":");
    value(s.max);
    return lit("}");
}

JsonWriter& JsonWriter::summary_ms_value(const Summary& s) {
    if (opens_compact()) {  // the same text, built at once
        JsonLine line(*this);
        return raw_value(line.summary_ms(s));
    }
    begin_object();
    field("count", static_cast<std::uint64_t>(s.count));
    const bool any = s.count > 0;
    field_ms_or_null("min", any, s.min);
    key("mean");
    if (any)
        ms(s.mean_ns);
    else
        null();
    field_ms_or_null("p50", any, s.p50);
    field_ms_or_null("p90", any, s.p90);
    field_ms_or_null("p95", any, s.p95);
    field_ms_or_null("p99", any, s.p99);
    field_ms_or_null("max", any, s.max);
    return end_object();
}

JsonWriter& JsonWriter::histogram_value(const LogHistogram& h) {
    begin_array();
    for (std::size_t i = 0; i < h.size(); ++i) {
        begin_object();
        key("upper_ms");
        if (h.upper(i) < 0)
            null();
        else
            ms(h.upper(i));
        field("count", h.count(i));
        end_object();
    }
    return end_array();
}

}  // namespace triage
