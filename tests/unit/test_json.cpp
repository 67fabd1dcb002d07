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
