// The outbound queue (SPEC §5): what it costs is bounded by what it holds,
// whatever the client does.

#include "transport/OutboundQueue.h"

#include <gtest/gtest.h>

using wsgw::transport::Frame;
using wsgw::transport::OutboundQueue;

namespace {

Frame frame(const std::string& bytes)
{
    return std::make_shared<const std::string>(bytes);
}

std::string drain(OutboundQueue& queue, size_t max_bytes)
{
    iovec iov[64];
    int n = queue.fill(iov, 64);
    std::string out;
    for (int i = 0; i < n && out.size() < max_bytes; ++i)
        out.append(static_cast<const char*>(iov[i].iov_base), iov[i].iov_len);
    out.resize(std::min(out.size(), max_bytes));
    queue.consume(out.size());
    return out;
}

} // namespace

TEST(OutboundQueueTest, CostCountsBytesAndEntries)
{
    OutboundQueue queue;
    EXPECT_TRUE(queue.empty());
    queue.push(frame("abc"));
    queue.push(frame("de"));
    EXPECT_EQ(queue.bytes(), 5u);
    EXPECT_EQ(queue.cost(), 5u + 2 * OutboundQueue::kEntryOverhead);
    EXPECT_EQ(drain(queue, 4), "abcd");
    EXPECT_EQ(queue.bytes(), 1u);
    EXPECT_EQ(queue.cost(), 1u + OutboundQueue::kEntryOverhead);
    EXPECT_EQ(drain(queue, 10), "e");
    EXPECT_TRUE(queue.empty());
}

// RFC 6455 §5.5.3: a client that pings without reading gets a few pongs, then
// one for its latest ping; one that reads gets them all (Autobahn 2.10).
TEST(OutboundQueueTest, PongsWaitingUnwrittenAreCoalescedPastABound)
{
    OutboundQueue queue;
    queue.push(frame("push"));
    std::string expected = "push";
    for (size_t i = 0; i < 1000; ++i)
    {
        queue.pushPong(frame("p" + std::to_string(i) + ";"));
        if (i + 1 < OutboundQueue::kMaxDistinctPongs)
            expected += "p" + std::to_string(i) + ";";
    }
    expected += "p999;";
    EXPECT_EQ(queue.cost(), expected.size() + (OutboundQueue::kMaxDistinctPongs + 1) * OutboundQueue::kEntryOverhead);
    EXPECT_EQ(drain(queue, 10000), expected);

    // Written out: the next pongs are distinct again.
    for (int i = 0; i < 10; ++i)
        queue.pushPong(frame("q" + std::to_string(i)));
    EXPECT_EQ(drain(queue, 10000), "q0q1q2q3q4q5q6q7q8q9");
}

TEST(OutboundQueueTest, AStartedPongIsNotReplaced)
{
    OutboundQueue queue;
    for (size_t i = 0; i < OutboundQueue::kMaxDistinctPongs - 1; ++i)
        queue.pushPong(frame("x"));
    queue.pushPong(frame("pong1"));
    EXPECT_EQ(drain(queue, OutboundQueue::kMaxDistinctPongs + 1), std::string(15, 'x') + "po");
    queue.pushPong(frame("pong2"));
    EXPECT_EQ(drain(queue, 100), "ng1pong2");
}

TEST(OutboundQueueTest, DiscardKeepsAPartlyWrittenFrame)
{
    OutboundQueue queue;
    queue.push(frame("first"));
    queue.push(frame("second"));
    EXPECT_EQ(drain(queue, 2), "fi");
    queue.discardUnstarted();
    EXPECT_EQ(queue.bytes(), 3u);
    EXPECT_EQ(drain(queue, 100), "rst");
}

// Issue 9: a reader that keeps the queue just short of empty does not grow its storage for ever.
TEST(OutboundQueueTest, StorageStaysProportionalToWhatIsQueued)
{
    OutboundQueue queue;
    auto shared = frame(std::string(100, 'x'));
    queue.push(shared);
    for (int round = 0; round < 100000; ++round)
    {
        queue.push(shared);
        drain(queue, 100); // one frame out, one in: never empty
        ASSERT_EQ(queue.bytes(), 100u);
    }
    EXPECT_EQ(queue.cost(), 100u + OutboundQueue::kEntryOverhead);
    // The shared frame is referenced by the queue's live entry only (plus ours):
    // written entries were released, not kept in a growing prefix.
    EXPECT_EQ(shared.use_count(), 2);
}
