// A small streaming JSON writer: commas and escaping handled, nothing buffered
// beyond the output string.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "triage/stats.hpp"

namespace triage {

class JsonWriter {
public:
    explicit JsonWriter(int indent = 2) : indent_(indent) {}

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
    std::string out_;
    std::vector<bool> first_;  // per open container: no element written yet
    bool after_key_ = false;
    int indent_;
};

}  // namespace triage
