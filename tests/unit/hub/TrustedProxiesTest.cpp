// hub::TrustedProxies: the http.trusted_proxies list and the client address
// rule of SPEC §5 (right-most X-Forwarded-For entry that is not a trusted
// proxy; nothing left of an untrusted or unparsable entry is believed).

#include "hub/TrustedProxies.h"

#include "config/Settings.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>

using wsgw::hub::TrustedProxies;

namespace {

in6_addr ip(const std::string& text)
{
    auto parsed = TrustedProxies::parseAddress(text);
    if (!parsed)
        throw std::invalid_argument("test address " + text);
    return *parsed;
}

std::string text(const in6_addr& address)
{
    char out[INET6_ADDRSTRLEN] = {};
    if (IN6_IS_ADDR_V4MAPPED(&address))
        ::inet_ntop(AF_INET, &address.s6_addr[12], out, sizeof(out));
    else
        ::inet_ntop(AF_INET6, &address, out, sizeof(out));
    return out;
}

/// The error message parse() throws for LIST, or "" if it parses.
std::string parseError(const std::string& list)
{
    try
    {
        TrustedProxies::parse(list);
        return {};
    }
    catch (const wsgw::config::Error& e)
    {
        return e.what();
    }
}

} // namespace

TEST(TrustedProxiesTest, ParsesAddressesAsForwardedForCarriesThem)
{
    EXPECT_EQ(text(ip("203.0.113.7")), "203.0.113.7");
    EXPECT_EQ(text(ip(" 203.0.113.7\t")), "203.0.113.7");
    EXPECT_EQ(text(ip("203.0.113.7:4711")), "203.0.113.7");
    EXPECT_EQ(text(ip("2001:db8::7")), "2001:db8::7");
    EXPECT_EQ(text(ip("[2001:db8::7]")), "2001:db8::7");
    EXPECT_EQ(text(ip("[2001:db8::7]:443")), "2001:db8::7");
    // IPv4 is v4-mapped, so the textual mapped form is the same address.
    const in6_addr v4 = ip("203.0.113.7");
    EXPECT_TRUE(IN6_IS_ADDR_V4MAPPED(&v4));
    EXPECT_EQ(text(ip("::ffff:203.0.113.7")), "203.0.113.7");
    for (const char* bad :
         {"", " ", "unknown", "proxy.example", "203.0.113", "203.0.113.7.1", "203.0.113.256", "203.0.113.07",
          "203.0.113.7:", "203.0.113.7:65536", "203.0.113.7:http", "[2001:db8::7", "[2001:db8::7]443", "[203.0.113.7]",
          "2001:db8::7:443:1:2:3:4:5", "fe80::1%eth0", "_hidden", "203.0.113.7/32"})
        EXPECT_FALSE(TrustedProxies::parseAddress(bad)) << "'" << bad << "'";
}

TEST(TrustedProxiesTest, ParsesCidrLists)
{
    EXPECT_TRUE(TrustedProxies::parse("").empty());
    EXPECT_TRUE(TrustedProxies::parse("  \t ").empty());
    auto trusted = TrustedProxies::parse(" 10.0.0.0/8\t192.0.2.7 2001:db8::/32  ::1 172.16.0.0/12 ");
    EXPECT_FALSE(trusted.empty());
    for (const char* inside :
         {"10.0.0.1", "10.255.255.255", "192.0.2.7", "2001:db8::1", "2001:db8:ffff::1", "::1", "172.31.0.1"})
        EXPECT_TRUE(trusted.contains(ip(inside))) << inside;
    for (const char* outside : {"11.0.0.1", "192.0.2.8", "2001:db9::1", "::2", "172.32.0.1", "::ffff:0:0"})
        EXPECT_FALSE(trusted.contains(ip(outside))) << outside;
    // An IPv4 network never contains an IPv6 address, and the other way round.
    EXPECT_FALSE(TrustedProxies::parse("0.0.0.0/0").contains(ip("2001:db8::1")));
    EXPECT_TRUE(TrustedProxies::parse("0.0.0.0/0").contains(ip("198.51.100.1")));
    EXPECT_FALSE(TrustedProxies::parse("2001:db8::/32").contains(ip("32.1.13.184")));
    EXPECT_TRUE(TrustedProxies::parse("::/0").contains(ip("198.51.100.1")));
    // Prefixes that are not whole bytes.
    auto odd = TrustedProxies::parse("198.51.100.128/25 2001:db8:8000::/33");
    EXPECT_TRUE(odd.contains(ip("198.51.100.200")));
    EXPECT_FALSE(odd.contains(ip("198.51.100.127")));
    EXPECT_TRUE(odd.contains(ip("2001:db8:8000::1")));
    EXPECT_FALSE(odd.contains(ip("2001:db8:7fff::1")));
}

// A bad entry is a configuration error at start (exit 78) that names the key and the entry.
TEST(TrustedProxiesTest, BadCidrIsAConfigurationErrorNamingKeyAndEntry)
{
    for (const char* bad : {"10.0.0.0/33", "10.0.0.0/", "/8", "10.0.0.0/8x", "10.0.0.0/-1", "10.0.0.0/+8",
                            "10.0.0.0/08", "2001:db8::/129", "proxy.example", "10.0.0.300/8", "10.0.0.0/8/8",
                            "[2001:db8::1]", "203.0.113.7:80", "fe80::1%eth0/64"})
    {
        std::string message = parseError(std::string("127.0.0.1/32 ") + bad);
        EXPECT_NE(message.find("http.trusted_proxies"), std::string::npos) << bad << ": " << message;
        EXPECT_NE(message.find(std::string("'") + bad + "'"), std::string::npos) << bad << ": " << message;
    }
    EXPECT_NE(parseError("127.0.0.1/32,10.0.0.0/8").find("separate entries with spaces"), std::string::npos);
    EXPECT_NE(parseError("10.1.2.3/8").find("host bits set (the network is 10.0.0.0/8)"), std::string::npos)
        << parseError("10.1.2.3/8");
    EXPECT_NE(parseError("2001:db8::1/32").find("the network is 2001:db8::/32"), std::string::npos);
    EXPECT_EQ(parseError("0.0.0.0/0 ::/0 10.0.0.0/8 192.0.2.7/32 ::1/128"), "");
}

TEST(TrustedProxiesTest, UntrustedPeerIsTheClientWhateverItSends)
{
    auto trusted = TrustedProxies::parse("10.0.0.0/8");
    EXPECT_EQ(text(trusted.resolve(ip("198.51.100.1"), {"203.0.113.7"})), "198.51.100.1");
    EXPECT_EQ(text(TrustedProxies().resolve(ip("10.0.0.1"), {"203.0.113.7"})), "10.0.0.1");
}

TEST(TrustedProxiesTest, RightMostUntrustedEntryIsTheClient)
{
    auto trusted = TrustedProxies::parse("10.0.0.0/8 2001:db8:1::/48");
    const in6_addr proxy = ip("10.0.0.1");
    struct Case
    {
        std::vector<std::string> headers;
        const char* client;
    };
    const Case cases[] = {
        {{}, "10.0.0.1"},                                           // no header: the proxy itself
        {{""}, "10.0.0.1"},                                         // an empty header says nothing
        {{"203.0.113.7"}, "203.0.113.7"},                           // one proxy
        {{"203.0.113.7, 10.0.0.2"}, "203.0.113.7"},                 // two proxies
        {{"198.51.100.1, 203.0.113.7, 10.0.0.2"}, "203.0.113.7"},   // the client's own entry is not believed
        {{"198.51.100.1, 203.0.113.7"}, "203.0.113.7"},             // spoofing left of the real client
        {{"198.51.100.1", "203.0.113.7, 10.0.0.2"}, "203.0.113.7"}, // headers are joined in order
        {{"203.0.113.7", "10.0.0.2"}, "203.0.113.7"},
        {{"203.0.113.7", "198.51.100.1"}, "198.51.100.1"}, // the last header's last entry comes first
        {{"10.0.0.3, 10.0.0.2"}, "10.0.0.3"},              // all trusted: the left-most hop
        {{"203.0.113.7,, 10.0.0.2 ,"}, "203.0.113.7"},     // empty list elements are skipped
        {{"[2001:db8::7]:443, 2001:db8:1::5"}, "2001:db8::7"},
        {{"203.0.113.7:5555"}, "203.0.113.7"},
        {{"::ffff:203.0.113.7"}, "203.0.113.7"},
        // Unparsable entries: the walk stops at the last trusted hop, nothing left of it is believed.
        {{"203.0.113.7, unknown"}, "10.0.0.1"},
        {{"unknown, 10.0.0.2"}, "10.0.0.2"},
        {{"203.0.113.7, garbage, 10.0.0.2"}, "10.0.0.2"},
        {{"203.0.113.7", "garbage"}, "10.0.0.1"},
        {{"garbage", "203.0.113.7"}, "203.0.113.7"}, // garbage left of the client is never read
    };
    for (const auto& c : cases)
    {
        std::string joined;
        for (const auto& h : c.headers)
            joined += "[" + h + "]";
        EXPECT_EQ(text(trusted.resolve(proxy, c.headers)), c.client) << joined;
    }
}
