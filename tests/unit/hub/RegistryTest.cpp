// hub::Registry on its own: subscribe/unsubscribe/removeAll, the member index
// under every removal order (issue 9 item 1: a second removal of one
// connection took out another connection of the same member), and the
// recipient counts a push reports.

#include "hub/Registry.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <set>
#include <vector>

using wsgw::hub::Registry;
using wsgw::hub::Subscriber;

namespace {

Subscriber member(int64_t id)
{
    Subscriber s;
    s.auth = Subscriber::Auth::Member;
    s.member_id = id;
    return s;
}

Subscriber anonymous()
{
    Subscriber s;
    s.auth = Subscriber::Auth::Anonymous;
    return s;
}

/// The subscribers forEachRecipient visits, and checks that its count matches them.
std::set<const Subscriber*> recipients(Registry& registry, std::string_view app, int64_t member_id)
{
    std::set<const Subscriber*> seen;
    size_t visits = 0;
    size_t count = registry.forEachRecipient(app, member_id, [&](Subscriber& s) {
        seen.insert(&s);
        ++visits;
    });
    EXPECT_EQ(count, visits) << app << " member " << member_id;
    EXPECT_EQ(seen.size(), visits) << "a recipient was visited twice";
    return seen;
}

} // namespace

// SPEC §1: subscribing twice is not an error and delivers once.
TEST(RegistryTest, SubscribeTwiceDeliversOnce)
{
    Registry registry;
    Subscriber s = anonymous();
    EXPECT_TRUE(registry.subscribe(s, "match"));
    EXPECT_FALSE(registry.subscribe(s, "match"));
    EXPECT_EQ(registry.forEachRecipient("match", -1, [](Subscriber&) {}), 1u);
    ASSERT_NE(registry.find("match"), nullptr);
    EXPECT_EQ(registry.find("match")->subscribers.size(), 1u);
    registry.removeAll(s);
}

TEST(RegistryTest, UnsubscribeIsFalseWhenNotSubscribedAndDropsEmptyApps)
{
    Registry registry;
    Subscriber a = anonymous();
    Subscriber b = anonymous();
    EXPECT_FALSE(registry.unsubscribe(a, "match"));
    registry.subscribe(a, "match");
    registry.subscribe(b, "match");
    registry.subscribe(a, "im");
    EXPECT_EQ(registry.appCount(), 2u);
    EXPECT_TRUE(registry.unsubscribe(a, "match"));
    EXPECT_FALSE(registry.unsubscribe(a, "match"));
    EXPECT_EQ(recipients(registry, "match", -1), std::set<const Subscriber*>{&b});
    EXPECT_TRUE(a.isSubscribedTo("im"));
    EXPECT_FALSE(a.isSubscribedTo("match"));
    EXPECT_TRUE(registry.unsubscribe(a, "im"));
    // An app nobody subscribes to any more costs nothing.
    EXPECT_EQ(registry.find("im"), nullptr);
    EXPECT_EQ(registry.appCount(), 1u);
    registry.removeAll(b);
    EXPECT_EQ(registry.appCount(), 0u);
}

TEST(RegistryTest, RemoveAllLeavesEveryAppAndTheMemberIndex)
{
    Registry registry;
    Subscriber s = member(7);
    Subscriber other = member(8);
    registry.addMember(s);
    registry.addMember(other);
    for (const char* app : {"a", "b", "c"})
    {
        registry.subscribe(s, app);
        registry.subscribe(other, app);
    }
    registry.removeAll(s);
    EXPECT_TRUE(s.subscriptions.empty());
    EXPECT_FALSE(s.inMemberIndex());
    for (const char* app : {"a", "b", "c"})
    {
        EXPECT_EQ(recipients(registry, app, -1), std::set<const Subscriber*>{&other}) << app;
        EXPECT_TRUE(recipients(registry, app, 7).empty()) << app;
        EXPECT_EQ(recipients(registry, app, 8), std::set<const Subscriber*>{&other}) << app;
    }
    registry.removeAll(other);
    EXPECT_EQ(registry.appCount(), 0u);
}

// Issue 9 item 1: a closing connection is removed when its close begins and
// again when it is reaped. The second removal must change nothing, whatever
// order a member's connections go in.
TEST(RegistryTest, MemberConnectionsRemovedTwiceInEveryOrder)
{
    std::array<int, 3> order{0, 1, 2};
    do
    {
        SCOPED_TRACE(::testing::Message() << "order " << order[0] << order[1] << order[2]);
        Registry registry;
        std::array<Subscriber, 3> connections{member(4242), member(4242), member(4242)};
        Subscriber bystander = member(7);
        for (auto& c : connections)
        {
            registry.addMember(c);
            registry.subscribe(c, "match");
        }
        registry.addMember(bystander);
        registry.subscribe(bystander, "match");

        std::set<const Subscriber*> live{&connections[0], &connections[1], &connections[2]};
        ASSERT_EQ(recipients(registry, "match", 4242), live);
        for (int i : order)
        {
            Subscriber& closing = connections[static_cast<size_t>(i)];
            registry.removeAll(closing); // the close begins
            registry.removeAll(closing); // the connection is reaped
            live.erase(&closing);
            EXPECT_EQ(recipients(registry, "match", 4242), live) << "after removing " << i;
            EXPECT_EQ(recipients(registry, "match", 7), std::set<const Subscriber*>{&bystander});
            EXPECT_EQ(recipients(registry, "match", -1).size(), live.size() + 1);
        }
    } while (std::next_permutation(order.begin(), order.end()));
}

// The same, with the second removal of each connection late: after the
// others have gone or while new connections of the member arrive.
TEST(RegistryTest, LateSecondRemovalDoesNotTouchNewConnections)
{
    std::array<int, 3> order{0, 1, 2};
    do
    {
        SCOPED_TRACE(::testing::Message() << "order " << order[0] << order[1] << order[2]);
        Registry registry;
        std::array<Subscriber, 3> connections{member(4242), member(4242), member(4242)};
        for (auto& c : connections)
        {
            registry.addMember(c);
            registry.subscribe(c, "match");
        }
        std::set<const Subscriber*> live{&connections[0], &connections[1], &connections[2]};
        for (int i : order)
        {
            registry.removeAll(connections[static_cast<size_t>(i)]);
            live.erase(&connections[static_cast<size_t>(i)]);
        }
        EXPECT_TRUE(recipients(registry, "match", 4242).empty());
        // The member reconnects; the old connections are reaped only now.
        Subscriber fresh = member(4242);
        registry.addMember(fresh);
        registry.subscribe(fresh, "match");
        for (int i : order)
        {
            registry.removeAll(connections[static_cast<size_t>(i)]);
            EXPECT_EQ(recipients(registry, "match", 4242), std::set<const Subscriber*>{&fresh});
        }
        registry.removeAll(fresh);
        EXPECT_EQ(registry.appCount(), 0u);
    } while (std::next_permutation(order.begin(), order.end()));
}

TEST(RegistryTest, AddMemberTwiceIndexesOnce)
{
    Registry registry;
    Subscriber s = member(9);
    EXPECT_TRUE(registry.addMember(s));
    EXPECT_FALSE(registry.addMember(s));
    registry.subscribe(s, "match");
    EXPECT_EQ(recipients(registry, "match", 9), std::set<const Subscriber*>{&s});
    registry.removeAll(s);
    EXPECT_TRUE(recipients(registry, "match", 9).empty());
    // A member id <= 0 is never indexed (such pushes are broadcasts).
    Subscriber odd = member(0);
    EXPECT_FALSE(registry.addMember(odd));
    EXPECT_FALSE(odd.inMemberIndex());
}

// Indexed under one id and then given another: the entry moves, and removal
// still finds the list it is in.
TEST(RegistryTest, AddMemberUnderAnotherIdMovesTheEntry)
{
    Registry registry;
    Subscriber s = member(1);
    Subscriber other = member(1);
    registry.addMember(s);
    registry.addMember(other);
    registry.subscribe(s, "match");
    registry.subscribe(other, "match");
    s.member_id = 2;
    EXPECT_TRUE(registry.addMember(s));
    EXPECT_EQ(recipients(registry, "match", 1), std::set<const Subscriber*>{&other});
    EXPECT_EQ(recipients(registry, "match", 2), std::set<const Subscriber*>{&s});
    registry.removeAll(s);
    registry.removeAll(s);
    EXPECT_EQ(recipients(registry, "match", 1), std::set<const Subscriber*>{&other});
    EXPECT_TRUE(recipients(registry, "match", 2).empty());
    registry.removeAll(other);
}

// SPEC §1 push: member_id N > 0 reaches only N's connections subscribed to the
// app; -1, 0 or absent reaches every subscriber.
TEST(RegistryTest, ForEachRecipientCounts)
{
    Registry registry;
    Subscriber a1 = member(1);
    Subscriber a2 = member(1);
    Subscriber a3 = member(1); // member 1, but not subscribed to match
    Subscriber b = member(2);
    Subscriber stranger = anonymous();
    for (Subscriber* s : {&a1, &a2, &a3, &b})
        registry.addMember(*s);
    for (Subscriber* s : {&a1, &a2, &b, &stranger})
        registry.subscribe(*s, "match");
    registry.subscribe(a3, "im");

    EXPECT_EQ(recipients(registry, "match", -1).size(), 4u);
    EXPECT_EQ(recipients(registry, "match", 0).size(), 4u);
    EXPECT_EQ(recipients(registry, "match", 1), (std::set<const Subscriber*>{&a1, &a2}));
    EXPECT_EQ(recipients(registry, "match", 2), std::set<const Subscriber*>{&b});
    EXPECT_TRUE(recipients(registry, "match", 3).empty());
    EXPECT_EQ(recipients(registry, "im", 1), std::set<const Subscriber*>{&a3});
    EXPECT_TRUE(recipients(registry, "im", 2).empty());
    EXPECT_TRUE(recipients(registry, "nosuch", -1).empty());
    EXPECT_TRUE(recipients(registry, "nosuch", 1).empty());

    // An anonymous connection is never in the member index; removing it twice is harmless.
    registry.removeAll(stranger);
    registry.removeAll(stranger);
    EXPECT_EQ(recipients(registry, "match", -1).size(), 3u);
    EXPECT_EQ(recipients(registry, "match", 1).size(), 2u);
    for (Subscriber* s : {&a1, &a2, &a3, &b})
        registry.removeAll(*s);
    EXPECT_EQ(registry.appCount(), 0u);
}
