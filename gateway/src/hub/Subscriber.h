#pragma once
/// The subscription side of one WebSocket connection: who it is (auth state,
/// member id) and which apps it subscribed to. Embedded in transport's
/// Connection; owned and touched by that connection's loop thread only.

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace wsgw::hub {

struct AppSubscribers;

/// Private apps one session may subscribe to beyond the stored grants (the
/// JWT `apps` claim, SPEC §6): sorted, unique, immutable once made, shared.
using SessionGrants = std::vector<std::string>;

struct Subscriber
{
    enum class Auth : uint8_t
    {
        Pending,   ///< no auth message yet (SPEC §1: within the auth window)
        Anonymous, ///< member_id < 0, or a member whose token did not match
        Member,    ///< authenticated member
    };

    Auth auth = Auth::Pending;
    int64_t member_id = -1;
    /// The store row of the token used; a replaced token ends the session. 0 for a
    /// JWT session, which has no row (SPEC §6: its member need not be stored).
    int64_t token_id = 0;
    /// Loop clock (ms) at which a JWT session ends with "token expired"; 0 = never.
    int64_t expires_ms = 0;
    /// The JWT's private-app grants for this session; null when it has none.
    std::shared_ptr<const SessionGrants> grants;
    /// The member id this connection is indexed under in the registry's member
    /// index, 0 when it is not in it. Recorded so that removal happens once,
    /// however often it is asked for, and finds the right list.
    int64_t indexed_member = 0;
    uint32_t member_index = 0; ///< position in the registry's list for indexed_member

    struct Entry
    {
        AppSubscribers* app;
        uint32_t index; ///< position in app->subscribers
    };
    std::vector<Entry> subscriptions; ///< few per connection: linear scans are cheapest

    bool isMember() const noexcept { return auth == Auth::Member; }
    /// Logged in with a stored token (not a JWT): the session lives as long as that token's row.
    bool hasStoredToken() const noexcept { return isMember() && token_id != 0; }
    /// Whether this session's own grants name APP. O(log grants).
    bool sessionGrants(std::string_view app) const
    {
        return grants && std::binary_search(grants->begin(), grants->end(), app);
    }
    bool inMemberIndex() const noexcept { return indexed_member > 0; }

    /// O(subscriptions of this connection).
    bool isSubscribedTo(std::string_view app) const;
};

/// The local subscribers of one app on one loop.
struct AppSubscribers
{
    std::string name;
    std::vector<Subscriber*> subscribers;
};

inline bool Subscriber::isSubscribedTo(std::string_view app) const
{
    for (const auto& sub : subscriptions)
    {
        if (sub.app->name == app)
            return true;
    }
    return false;
}

} // namespace wsgw::hub
