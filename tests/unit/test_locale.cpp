// Numbers are written and read the same whatever LC_NUMERIC says: tshark and
// Wireshark call setlocale(LC_ALL, ""), and a comma-decimal locale must not
// turn "0.087" into an error or 62.5 into "62,500000".
#include <gtest/gtest.h>

#include <clocale>
#include <string>

#include "triage/args.hpp"
#include "triage/stats.hpp"

namespace triage {
namespace {

class CommaLocale : public ::testing::Test {
protected:
    void SetUp() override {
        if (!std::setlocale(LC_ALL, "de_DE.UTF-8")) GTEST_SKIP() << "de_DE.UTF-8 not generated (run-tests.sh does)";
        char buf[16];
        std::snprintf(buf, sizeof buf, "%.1f", 1.5);
        ASSERT_EQ(std::string(buf), "1,5") << "the locale is not in force";
    }
    void TearDown() override { std::setlocale(LC_ALL, "C"); }
};

TEST_F(CommaLocale, FormatsWithAPoint) {
    EXPECT_EQ(format_double(62.34425, 6), "62.344250");
    EXPECT_EQ(format_double(0.087, 6), "0.087000");
    EXPECT_EQ(format_ms(62344250), "62.344250");
    const LogHistogram h;
    EXPECT_EQ(h.label(0), "<=     0.1 ms");
}

TEST_F(CommaLocale, ParsesWithAPoint) {
    double v = 0;
    std::string err;
    ASSERT_TRUE(parse_price("0.087", &v, &err)) << err;
    EXPECT_DOUBLE_EQ(v, 0.087);
    EXPECT_FALSE(parse_price("0,087", &v, &err));
    EXPECT_NE(err.find("\"0,087\" is not a number"), std::string::npos);
}

}  // namespace
}  // namespace triage
