#include <gtest/gtest.h>

#include "triage/json_writer.hpp"

using namespace triage;

TEST(JsonWriter, CompactDocument) {
    JsonWriter w(0);
    w.begin_object();
    w.field("a", 1).field("b", "x\"y\n");
    w.key("list").begin_array().value(true).null().end_array();
    w.key("empty").begin_object().end_object();
    w.end_object();
    EXPECT_EQ(w.str(), R"({"a":1,"b":"x\"y\n","list":[true,null],"empty":{}})");
}

TEST(JsonWriter, ControlCharactersAreEscaped) {
    std::string out;
    JsonWriter::escape_to(out, std::string("\x01\x7f", 2));
    EXPECT_EQ(out, "\"\\u0001\\u007f\"");
}

TEST(JsonWriter, SummaryOfNothingIsNull) {
    JsonWriter w(0);
    w.begin_object().summary_ms("s", Summary{}).end_object();
    EXPECT_EQ(w.str(),
              R"({"s":{"count":0,"min":null,"mean":null,"p50":null,"p90":null,"p95":null,"p99":null,"max":null}})");
}

// A summary in a one-line container is built by JsonLine: the same text as
// the writer's own path, which writes it when the container is not compact.
TEST(JsonWriter, OneLineSummaryIsTheWritersText) {
    Summary s;
    s.count = 3;
    s.min = 500'000;
    s.mean_ns = -1'234'567;
    s.p50 = 2'000'001;
    s.p90 = s.p95 = s.p99 = 9'999'999'999;
    s.max = 10'000'000'000;
    JsonWriter generic(0);  // nothing compact: the writer's path, without spaces
    generic.begin_array().begin_object().summary_ms("s", s).end_object().end_array();
    JsonWriter line(2);
    line.set_compact_depth(1);  // the object is one line: JsonLine
    line.begin_array().begin_object().summary_ms("s", s).end_object().end_array();
    EXPECT_EQ(generic.str(), R"([{"s":{"count":3,"min":0.500000,"mean":-1.234567,"p50":2.000001,"p90":9999.999999,)"
                             R"("p95":9999.999999,"p99":9999.999999,"max":10000.000000}}])");
    EXPECT_EQ(line.str(), "[\n  " + generic.str().substr(1, generic.str().size() - 2) + "\n]");
}

// JsonLine copies a value equal to the one before it: the text is the
// writer's own, for summaries of no sample, one sample, and values that
// repeat, alternate and go negative.
TEST(JsonWriter, OneLineSummaryOfRepeatedValues) {
    const auto both = [](const Summary& s) {
        JsonWriter generic(0);
        generic.begin_array().begin_object().summary_ms("s", s).end_object().end_array();
        JsonWriter line(0);
        line.set_compact_depth(1);
        line.begin_array().begin_object().summary_ms("s", s).end_object().end_array();
        EXPECT_EQ(line.str(), generic.str());
        return generic.str();
    };
    Summary one;
    one.count = 1;
    one.min = one.mean_ns = one.p50 = one.p90 = one.p95 = one.p99 = one.max = 1'500'000;
    EXPECT_EQ(both(one), R"([{"s":{"count":1,"min":1.500000,"mean":1.500000,"p50":1.500000,"p90":1.500000,)"
                         R"("p95":1.500000,"p99":1.500000,"max":1.500000}}])");
    Summary alternating;
    alternating.count = 4;
    alternating.min = -7;
    alternating.mean_ns = 20'000'000;
    alternating.p50 = -7;
    alternating.p90 = alternating.p95 = 20'000'000;
    alternating.p99 = -7;
    alternating.max = 123'456'789'012;
    EXPECT_EQ(both(alternating), R"([{"s":{"count":4,"min":-0.000007,"mean":20.000000,"p50":-0.000007,)"
                                 R"("p90":20.000000,"p95":20.000000,"p99":-0.000007,"max":123456.789012}}])");
    both(Summary{});
}

TEST(JsonLine, NumbersAddressesAndNulls) {
    JsonLine l;
    l.lit("{\"a\":").address(*IpAddress::parse("2001:db8::1")).lit(",\"b\":").u64_or_null(false, 7);
    l.lit(",\"c\":").ms_or_null(true, 1).lit(",\"d\":").epoch_us(1'700'000'000'123'456'789).lit("}");
    EXPECT_EQ(l.view(), R"({"a":"2001:db8::1","b":null,"c":0.000001,"d":1700000000.123457})");
}

// A line built in place in the writer's buffer gives the text a line built
// apart and copied in gives, across the chunks a sink receives.
TEST(JsonLine, BuiltInPlaceAsCopied) {
    const auto write = [](bool in_place) {
        std::string out;
        std::size_t chunks = 0;
        JsonWriter w(2, [&](std::string_view c) {
            out.append(c);
            ++chunks;
        });
        w.set_compact_depth(2);
        w.begin_object();
        w.key("lines").begin_array();
        for (std::uint64_t i = 0; i < 3000; ++i) {
            const auto line = [&](JsonLine& l) {
                l.lit("{\"i\":").u64(i).lit(",\"a\":").address(IpAddress::v4(static_cast<std::uint32_t>(i * 7919)));
                w.raw_value(l.lit(",\"ms\":").ms(static_cast<Nanos>(i) * 1234567).lit("}"));
            };
            if (in_place) {
                JsonLine l(w);
                line(l);
            } else {
                JsonLine l;
                line(l);
            }
        }
        w.end_array();
        w.end_object();
        w.finish();
        EXPECT_GT(chunks, 1u);
        return out;
    };
    const std::string copied = write(false);
    EXPECT_EQ(write(true), copied);
    EXPECT_NE(copied.find("\n    {\"i\":2999,\"a\":\""), std::string::npos);
}
