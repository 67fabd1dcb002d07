#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <random>

#include "triage/cidr_set.hpp"

using namespace triage;

IpAddress ip(const char* s) {
    return *IpAddress::parse(s);
}

TEST(IpAddress, ParsesAndPrints) {
    EXPECT_EQ(ip("10.1.2.3").to_string(), "10.1.2.3");
    EXPECT_EQ(ip("2001:DB8::1").to_string(), "2001:db8::1");
    EXPECT_FALSE(IpAddress::parse("300.1.1.1"));
    EXPECT_FALSE(IpAddress::parse(""));
    EXPECT_FALSE(IpAddress::parse("1.2.3"));
    EXPECT_NE(ip("::ffff:10.0.0.1"), ip("10.0.0.1"));
}

// The report writers format addresses by hand; glibc's inet_ntop is the oracle.
TEST(IpAddress, PrintsAsInetNtop) {
    std::mt19937_64 rng(7);
    const auto check = [](const std::uint8_t* b, bool v6) {
        char want[INET6_ADDRSTRLEN];
        inet_ntop(v6 ? AF_INET6 : AF_INET, b, want, sizeof want);
        EXPECT_EQ((v6 ? IpAddress::v6(b) : IpAddress::v4(b)).to_string(), want);
    };
    for (int n = 0; n < 200000; ++n) {
        std::uint8_t b[16];
        const std::uint64_t r = rng(), mask = rng(), shape = rng();
        for (int i = 0; i < 16; ++i) {
            // Mostly zero groups, runs of them, small values, ::ffff:, so every rule is met.
            const bool zero = (mask >> (i / 2 * 4)) & 1 || (shape & 3) == 0;
            b[i] = zero ? 0 : static_cast<std::uint8_t>(r >> (i * 4 % 64) & ((shape >> 2) & 1 ? 0x0f : 0xff));
        }
        if ((shape & 15) == 5) b[10] = b[11] = 0xff;
        check(b, true);
        check(b, false);
    }
    for (const char* text : {"::", "::1", "1::", "::ffff:1.2.3.4", "::1.2.3.4", "::0.0.1.0", "1:0:0:1:0:0:0:1",
                             "1:0:0:2::3", "2001:db8::", "fe80::1:0:0:1", "0:0:1::", "::ffff:0:1.2.3.4"}) {
        const auto a = IpAddress::parse(text);
        ASSERT_TRUE(a) << text;
        check(a->bytes(), true);
    }
}

TEST(IpAddress, SortKeyOrdersAsTheAddresses) {
    std::mt19937_64 rng(11);
    std::vector<IpAddress> all = {IpAddress()};
    for (int n = 0; n < 2000; ++n) {
        std::uint8_t b[16];
        for (auto& x : b) x = static_cast<std::uint8_t>(rng() % 3 ? rng() : 0);
        all.push_back(n % 2 ? IpAddress::v4(b) : IpAddress::v6(b));
    }
    for (std::size_t i = 0; i < all.size(); ++i)
        for (std::size_t j = i % 7; j < all.size(); j += 7) {
            EXPECT_EQ(all[i] < all[j], all[i].sort_key() < all[j].sort_key());
            EXPECT_EQ(all[i] == all[j], all[i].sort_key() == all[j].sort_key());
        }
}

TEST(CidrSet, DefaultsCoverPrivateRanges) {
    CidrSet s;
    std::string err;
    ASSERT_TRUE(s.parse(kDefaultLocalNetworks, &err)) << err;
    for (const char* a : {"10.0.0.5", "172.31.255.255", "192.168.1.1", "100.64.0.1", "169.254.169.254", "127.0.0.1",
                          "fd00::5", "fe80::1", "::1"})
        EXPECT_TRUE(s.contains(ip(a))) << a;
    for (const char* a : {"8.8.8.8", "172.32.0.1", "100.128.0.1", "2001:db8::1", "11.0.0.1"})
        EXPECT_FALSE(s.contains(ip(a))) << a;
}

TEST(CidrSet, HostBitsAreCleared) {
    Cidr c;
    std::string err;
    ASSERT_TRUE(CidrSet::parse_one("10.1.2.3/8", &c, &err));
    EXPECT_EQ(c.to_string(), "10.0.0.0/8");
    ASSERT_TRUE(CidrSet::parse_one("2001:db8::1/33", &c, &err));
    EXPECT_EQ(c.to_string(), "2001:db8::/33");
    ASSERT_TRUE(CidrSet::parse_one("192.0.2.7", &c, &err));
    EXPECT_EQ(c.to_string(), "192.0.2.7/32");
}

TEST(CidrSet, OddPrefixes) {
    CidrSet s;
    std::string err;
    ASSERT_TRUE(s.parse("192.168.1.128/25, 0.0.0.0/0", &err));
    EXPECT_TRUE(s.contains(ip("1.2.3.4")));
    CidrSet t;
    ASSERT_TRUE(t.parse("192.168.1.128/25", &err));
    EXPECT_TRUE(t.contains(ip("192.168.1.200")));
    EXPECT_FALSE(t.contains(ip("192.168.1.100")));
    EXPECT_FALSE(t.contains(ip("::")));
}

TEST(CidrSet, ErrorsNameTheEntry) {
    CidrSet s;
    std::string err;
    ASSERT_TRUE(s.parse("10.0.0.0/8", &err));
    EXPECT_FALSE(s.parse("10.0.0.0/8, 10.0.0.0/33", &err));
    EXPECT_EQ(err, "invalid CIDR \"10.0.0.0/33\": prefix length 33 exceeds 32");
    EXPECT_EQ(s.networks().size(), 1u) << "a failed parse leaves the set unchanged";
    EXPECT_FALSE(s.parse("nonsense", &err));
    EXPECT_EQ(err, "invalid CIDR \"nonsense\": \"nonsense\" is not an IPv4 or IPv6 address");
    EXPECT_FALSE(s.parse("fc00::/abc", &err));
    EXPECT_EQ(err, "invalid CIDR \"fc00::/abc\": prefix length must be a number");
    EXPECT_FALSE(s.parse("10.0.0.0/", &err));
    EXPECT_TRUE(s.parse("", &err));
    EXPECT_TRUE(s.empty());
}
