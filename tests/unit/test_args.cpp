#include <gtest/gtest.h>

#include "triage/args.hpp"

using namespace triage;

const std::vector<std::string> kForms{"tree", "json", "csv"};

TEST(StatArg, FormAndFilterWithCommas) {
    StatArg a;
    std::string err;
    ASSERT_TRUE(parse_stat_arg("triage_rtt,json,ip.addr in {10.0.0.1, 10.0.0.2}", "triage_rtt", kForms, &a, &err));
    EXPECT_EQ(a.form, "json");
    EXPECT_EQ(a.filter, "ip.addr in {10.0.0.1, 10.0.0.2}");
    ASSERT_TRUE(parse_stat_arg("triage_rtt,csv", "triage_rtt", kForms, &a, &err));
    EXPECT_EQ(a.filter, "");
}

TEST(StatArg, UnknownFormsNameTheValidOnes) {
    StatArg a;
    std::string err;
    EXPECT_FALSE(parse_stat_arg("triage_rtt,xml", "triage_rtt", kForms, &a, &err));
    EXPECT_EQ(err,
              "triage: invalid -z argument \"triage_rtt,xml\": unknown output form \"xml\". Valid forms: "
              "-z triage_rtt,tree[,filter] | -z triage_rtt,json[,filter] | -z triage_rtt,csv[,filter]");
    EXPECT_FALSE(parse_stat_arg("triage_rtt", "triage_rtt", kForms, &a, &err));
    EXPECT_NE(err.find("missing the output form"), std::string::npos);
    EXPECT_FALSE(parse_stat_arg("triage_rttx,json", "triage_rtt", kForms, &a, &err));
    EXPECT_FALSE(parse_stat_arg("triage_rtt,", "triage_rtt", kForms, &a, &err));
}

TEST(Price, ParsesAndRejects) {
    double v = -1;
    std::string err;
    EXPECT_TRUE(parse_price("0.087", &v, &err));
    EXPECT_DOUBLE_EQ(v, 0.087);
    EXPECT_TRUE(parse_price("", &v, &err));
    EXPECT_EQ(v, 0);
    EXPECT_FALSE(parse_price("-0.1", &v, &err));
    EXPECT_EQ(err, "triage.egress_price_per_gb: \"-0.1\" is negative; use 0 to hide the cost");
    EXPECT_FALSE(parse_price("1e999", &v, &err));
    EXPECT_FALSE(parse_price("nan", &v, &err));
    EXPECT_FALSE(parse_price("0.1$", &v, &err));
}
