// A small streaming JSON writer: commas and escaping handled, nothing buffered
// beyond the output string.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "triage/stats.hpp"

namespace triage {

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

    JsonWriter& value(std::string_view s);
    JsonWriter& value(const char* s) { return value(std::string_view(s)); }
    JsonWriter& value(const std::string& s) { return value(std::string_view(s)); }
    JsonWriter& value(std::uint64_t v);
    JsonWriter& value(std::int64_t v);
    JsonWriter& value(int v) { return value(static_cast<std::int64_t>(v)); }
    JsonWriter& value(unsigned v) { return value(static_cast<std::uint64_t>(v)); }
    JsonWriter& value(bool b);
    JsonWriter& null();
    // A number written as-is (already formatted, e.g. by format_ms()).
    JsonWriter& raw_number(std::string_view digits);

    template <typename T>
    JsonWriter& field(std::string_view k, const T& v) {
        key(k);
        return value(v);
    }
    JsonWriter& field_ms(std::string_view k, Nanos ns) {
        key(k);
        return raw_number(format_ms(ns));
    }
    JsonWriter& field_ms_or_null(std::string_view k, bool present, Nanos ns) {
        key(k);
        return present ? raw_number(format_ms(ns)) : null();
    }
    // {count,min,mean,p50,p90,p95,p99,max} in milliseconds; nulls when empty.
    JsonWriter& summary_ms(std::string_view k, const Summary& s);

    const std::string& str() const { return out_; }
    std::string take() { return std::move(out_); }

    static void escape_to(std::string& out, std::string_view s);

private:
    void before_value();
    void newline();
    void open(char c);
    void close(char c);
    struct Level {
        bool first = true;  // no element written yet
        bool compact = false;
    };
    Sink sink_;
    std::string out_;
    std::vector<Level> first_;  // per open container
    std::size_t compact_depth_ = SIZE_MAX;
    bool after_key_ = false;
    int indent_;
};

}  // namespace triage
