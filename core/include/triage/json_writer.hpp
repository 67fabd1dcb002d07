// A small streaming JSON writer: commas and escaping handled, nothing buffered
// beyond the output string.
#pragma once

#include <charconv>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "triage/ip_address.hpp"
#include "triage/stats.hpp"

namespace triage {

class JsonWriter;

// The text of one compact JSON value built in place, for the records of long
// lists (a connection, a summary): literal fragments and numbers are copied
// into a fixed buffer, then written by JsonWriter::raw_value() at once,
// without the writer's per-token bookkeeping. Only for values of bounded size
// whose strings need no escape (addresses, names from the code).
class JsonLine {
public:
    static constexpr std::size_t kCapacity = 2048;
    JsonLine() = default;
    // Built in place at the end of `w`'s output, after the separator `w`
    // writes before a value, so that raw_value() only counts it in: no
    // copy. Nothing else may be written to `w` until then.
    explicit JsonLine(JsonWriter& w);
    JsonLine(const JsonLine&) = delete;
    JsonLine& operator=(const JsonLine&) = delete;
    template <std::size_t N>
    JsonLine& lit(const char (&s)[N]) {
        std::memcpy(p_, s, N - 1);
        p_ += N - 1;
        return *this;
    }
    JsonLine& u64(std::uint64_t v) {
        p_ = std::to_chars(p_, end(), v).ptr;
        return *this;
    }
    JsonLine& ms(Nanos ns) {
        p_ = write_ms(p_, ns);
        return *this;
    }
    JsonLine& epoch_us(Nanos ns) {
        p_ = write_epoch_us(p_, ns);
        return *this;
    }
    JsonLine& null() { return lit("null"); }
    JsonLine& boolean(bool b) { return b ? lit("true") : lit("false"); }
    JsonLine& ms_or_null(bool present, Nanos ns) { return present ? ms(ns) : null(); }
    JsonLine& u64_or_null(bool present, std::uint64_t v) { return present ? u64(v) : null(); }
    JsonLine& address(const IpAddress& a) {
        *p_++ = '"';
        p_ = a.write(p_);
        *p_++ = '"';
        return *this;
    }
    // A string with nothing to escape, in quotes.
    JsonLine& plain(std::string_view s) {
        *p_++ = '"';
        std::memcpy(p_, s.data(), s.size());
        p_ += s.size();
        *p_++ = '"';
        return *this;
    }
    JsonLine& summary_ms(const Summary& s);
    std::string_view view() const { return {start_, static_cast<std::size_t>(p_ - start_)}; }

private:
    friend class JsonWriter;
    char* end() { return start_ + kCapacity; }
    char buf_[kCapacity];
    char* start_ = buf_;
    char* p_ = buf_;
    const JsonWriter* in_place_ = nullptr;  // the writer whose buffer holds the text
};

class JsonWriter {
public:
    // Output goes to a string (take()) or, with a sink, out in chunks as it
    // is written (finish() flushes the rest): a report of a million
    // connections is never held in memory whole.
    using Sink = std::function<void(std::string_view)>;
    explicit JsonWriter(int indent = 2, Sink sink = nullptr) : sink_(std::move(sink)), indent_(indent) {}
    // Containers opened deeper than `depth` are written on one line (for
    // long lists of small records).
    void set_compact_depth(std::size_t depth) { compact_depth_ = depth; }
    void finish();

    JsonWriter& begin_object();
    JsonWriter& end_object();
    JsonWriter& begin_array();
    JsonWriter& end_array();
    JsonWriter& key(std::string_view k);
    // A key written in the code (a string literal): nothing in it to escape.
    template <std::size_t N>
    JsonWriter& key(const char (&literal)[N]) {
        return plain_key(std::string_view(literal));
    }

    JsonWriter& value(std::string_view s);
    JsonWriter& value(const char* s) { return value(std::string_view(s)); }
    JsonWriter& value(const std::string& s) { return value(std::string_view(s)); }
    JsonWriter& value(std::uint64_t v) {
        before_value();
        char buf[24];
        return put_until(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
    }
    JsonWriter& value(std::int64_t v) {
        before_value();
        char buf[24];
        return put_until(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
    }
    JsonWriter& value(int v) { return value(static_cast<std::int64_t>(v)); }
    JsonWriter& value(unsigned v) { return value(static_cast<std::uint64_t>(v)); }
    JsonWriter& value(bool b);
    JsonWriter& value(const IpAddress& a);
    JsonWriter& null() {
        before_value();
        put("null", 4);
        return *this;
    }
    // A string known to need no escape (a name from the code, such as an enum's).
    JsonWriter& plain_value(std::string_view s) {
        before_value();
        put_quoted(s);
        return *this;
    }
    template <std::size_t N>
    JsonWriter& plain_field(const char (&k)[N], std::string_view v) {
        plain_key(std::string_view(k));
        return plain_value(v);
    }
    // A number written as-is (already formatted, e.g. by format_ms()).
    JsonWriter& raw_number(std::string_view digits);
    // A compact value built by JsonLine (its text as-is; if built in place,
    // where it is).
    JsonWriter& raw_value(const JsonLine& line);
    // True when a container opened now is written on one line.
    bool opens_compact() const { return first_.size() >= compact_depth_; }

    template <typename T>
    JsonWriter& field(std::string_view k, const T& v) {
        key(k);
        return value(v);
    }
    template <std::size_t N, typename T>
    JsonWriter& field(const char (&k)[N], const T& v) {
        key(k);
        return value(v);
    }
    // Milliseconds ("12.345678") and epoch seconds ("1234567890.123456").
    JsonWriter& ms(Nanos ns) {
        before_value();
        char buf[kNumberChars];
        return put_until(buf, write_ms(buf, ns));
    }
    JsonWriter& epoch_us(Nanos ns) {
        before_value();
        char buf[kNumberChars];
        return put_until(buf, write_epoch_us(buf, ns));
    }
    template <std::size_t N>
    JsonWriter& field_ms(const char (&k)[N], Nanos ns) {
        key(k);
        return ms(ns);
    }
    template <std::size_t N>
    JsonWriter& field_ms_or_null(const char (&k)[N], bool present, Nanos ns) {
        key(k);
        return present ? ms(ns) : null();
    }
    // A frame number, or null when `present` is false.
    JsonWriter& field_or_null(std::string_view k, bool present, std::uint32_t v) {
        plain_key(k);
        return present ? value(v) : null();
    }
    // [{upper_ms, count}...] of a histogram; the last bucket's bound is null.
    JsonWriter& histogram_value(const LogHistogram& h);
    // {count,min,mean,p50,p90,p95,p99,max} in milliseconds; nulls when empty.
    template <std::size_t N>
    JsonWriter& summary_ms(const char (&k)[N], const Summary& s) {
        plain_key(std::string_view(k));
        return summary_ms_value(s);
    }
    JsonWriter& summary_ms_value(const Summary& s);
    // A key known to need no escape (a name from the code, such as an enum's).
    JsonWriter& plain_key(std::string_view k) {
        // Inside an object: a comma unless first, a newline unless compact.
        Level& level = first_.back();
        if (after_key_ || level.first || !level.compact) {
            before_value_slow();
        } else {
            put(',');
        }
        const bool spaced = indent_ > 0 && !level.compact;
        const std::size_t n = k.size() + (spaced ? 4 : 3);
        if (cap_ - size_ < n) grow(n);
        char* p = buf_.get() + size_;
        *p++ = '"';
        std::memcpy(p, k.data(), k.size());
        p += k.size();
        *p++ = '"';
        *p++ = ':';
        if (spaced) *p = ' ';
        size_ += n;
        after_key_ = true;
        return *this;
    }

    std::string str() const { return std::string(buf_.get(), size_); }
    std::string take() {
        std::string s = str();
        size_ = 0;
        return s;
    }

    static void escape_to(std::string& out, std::string_view s);

private:
    friend class JsonLine;
    // Room for a JsonLine at the end of the output, after the separator
    // before a value.
    char* line_begin() {
        before_value();
        if (cap_ - size_ < JsonLine::kCapacity) grow(JsonLine::kCapacity);
        return buf_.get() + size_;
    }
    // The output buffer: appends are inline copies (a report writes millions
    // of short tokens); it grows out of line.
    void put(const char* p, std::size_t n) {
        if (cap_ - size_ < n) grow(n);
        std::memcpy(buf_.get() + size_, p, n);
        size_ += n;
    }
    void put(std::string_view s) { put(s.data(), s.size()); }
    JsonWriter& put_until(const char* begin, const char* end) {
        put(begin, static_cast<std::size_t>(end - begin));
        return *this;
    }
    // "s", with nothing in s to escape: one copy.
    void put_quoted(std::string_view s) {
        const std::size_t n = s.size() + 2;
        if (cap_ - size_ < n) grow(n);
        char* p = buf_.get() + size_;
        *p = '"';
        std::memcpy(p + 1, s.data(), s.size());
        p[n - 1] = '"';
        size_ += n;
    }
    void put(char c) {
        if (cap_ == size_) grow(1);
        buf_[size_++] = c;
    }
    void grow(std::size_t n);
    // With a sink: hands the buffer over once it holds a chunk (64 KiB), so
    // that a report is never held in memory whole.
    static constexpr std::size_t kChunk = std::size_t{1} << 16;
    void flush_if_full();
    void escaped(std::string_view s);
    void before_value() {
        if (after_key_) {
            after_key_ = false;
            return;
        }
        before_value_slow();
    }
    void before_value_slow();
    void newline();
    // The comma (if `comma` is 1), the newline and the indentation of the
    // current depth, for a container that is neither compact nor unindented.
    void line_break(std::size_t comma);
    void open(char c);
    void close(char c);
    struct Level {
        bool first = true;  // no element written yet
        bool compact = false;
    };
    Sink sink_;
    std::unique_ptr<char[]> buf_;
    std::size_t size_ = 0, cap_ = 0;
    std::vector<Level> first_;  // per open container
    std::size_t compact_depth_ = SIZE_MAX;
    bool after_key_ = false;
    int indent_;
};

inline JsonLine::JsonLine(JsonWriter& w) : start_(w.line_begin()), p_(start_), in_place_(&w) {}

}  // namespace triage
