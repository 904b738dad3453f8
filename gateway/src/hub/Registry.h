#pragma once
/// One loop's index of its connections: app -> subscribers and member -> its
/// connections, for fan-out. Loop thread only; no locks. Each loop has its own
/// Registry and a push is posted to every loop, so a loop never looks at
/// another loop's connections.

#include "hub/ClusterLink.h"
#include "hub/Subscriber.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace wsgw::hub {

class Registry
{
public:
    /// Told of every subscription that starts (true) or ends (false), after the
    /// change, with the app's name (SPEC §7 events). Must not call back into the registry.
    using Observer = std::function<void(Subscriber& s, const std::string& app, bool subscribed)>;

    Registry() = default;
    Registry(const Registry&) = delete;
    Registry& operator=(const Registry&) = delete;

    void setObserver(Observer observer) { observer_ = std::move(observer); }
    /// SPEC §9: LINK (null when alone) hears when an app gets its first
    /// subscriber on this registry and when it loses its last. Startup only.
    void setClusterLink(ClusterLink* link) noexcept { link_ = link; }

    /// Subscribes S to APP. Returns false if it was subscribed already
    /// (SPEC §1: subscribing twice is not an error and delivers once).
    bool subscribe(Subscriber& s, std::string_view app);
    /// Returns false if S was not subscribed to APP.
    bool unsubscribe(Subscriber& s, std::string_view app);
    /// Removes S from every app and from the member index (connection closing).
    /// Idempotent: a closing connection is removed when its close begins and
    /// again when it is reaped, and the second call changes nothing.
    void removeAll(Subscriber& s);

    /// Adds S (now auth == Member) to the member index under its member_id.
    /// Returns false, changing nothing, if it is indexed under that id already
    /// or the id is not a member id (<= 0); indexed under another id, it moves.
    bool addMember(Subscriber& s);

    /// The app's local subscribers, or null if none.
    const AppSubscribers* find(std::string_view app) const;

    /// Calls F(Subscriber&) for every local recipient of a push to APP:
    /// every subscriber when MEMBER <= 0, else only MEMBER's connections
    /// subscribed to APP. O(recipients), or O(member's connections x their
    /// subscriptions) for a targeted push. F must not change subscriptions.
    template <typename F>
    size_t forEachRecipient(std::string_view app, int64_t member, F&& f);

    /// Every app with local subscribers (stat collection).
    template <typename F>
    void forEachApp(F&& f) const
    {
        for (const auto& [name, entry] : apps_)
            f(*entry);
    }

    size_t appCount() const noexcept { return apps_.size(); }

private:
    struct Hash
    {
        using is_transparent = void;
        size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
    };
    using AppMap = std::unordered_map<std::string, std::unique_ptr<AppSubscribers>, Hash, std::equal_to<>>;

    /// Takes S out of the member index if it is in it: O(1) swap-remove.
    void removeMember(Subscriber& s);
    void detach(Subscriber& s, size_t entry_position);

    Observer observer_;

    AppMap apps_;
    std::unordered_map<int64_t, std::vector<Subscriber*>> members_;
    ClusterLink* link_ = nullptr;
};

template <typename F>
size_t Registry::forEachRecipient(std::string_view app, int64_t member, F&& f)
{
    auto it = apps_.find(app);
    if (it == apps_.end())
        return 0;
    AppSubscribers* entry = it->second.get();
    if (member <= 0)
    {
        for (Subscriber* s : entry->subscribers)
            f(*s);
        return entry->subscribers.size();
    }
    auto m = members_.find(member);
    if (m == members_.end())
        return 0;
    size_t count = 0;
    for (Subscriber* s : m->second)
    {
        for (const auto& sub : s->subscriptions)
        {
            if (sub.app == entry)
            {
                f(*s);
                ++count;
                break;
            }
        }
    }
    return count;
}

} // namespace wsgw::hub
