#include "hub/Registry.h"

namespace wsgw::hub {

bool Registry::subscribe(Subscriber& s, std::string_view app)
{
    auto it = apps_.find(app);
    if (it == apps_.end())
    {
        auto entry = std::make_unique<AppSubscribers>();
        entry->name = std::string(app);
        it = apps_.emplace(entry->name, std::move(entry)).first;
        if (link_)
            link_->appActive(app);
    }
    AppSubscribers* entry = it->second.get();
    for (const auto& sub : s.subscriptions)
    {
        if (sub.app == entry)
            return false;
    }
    s.subscriptions.push_back({entry, static_cast<uint32_t>(entry->subscribers.size())});
    entry->subscribers.push_back(&s);
    if (observer_)
        observer_(s, entry->name, true);
    return true;
}

void Registry::detach(Subscriber& s, size_t entry_position)
{
    auto [entry, index] = s.subscriptions[entry_position];
    // Swap-remove from the app's list, then fix the index the moved subscriber keeps.
    Subscriber* moved = entry->subscribers.back();
    entry->subscribers[index] = moved;
    entry->subscribers.pop_back();
    if (moved != &s)
    {
        for (auto& sub : moved->subscriptions)
        {
            if (sub.app == entry)
            {
                sub.index = index;
                break;
            }
        }
    }
    s.subscriptions[entry_position] = s.subscriptions.back();
    s.subscriptions.pop_back();
    if (observer_)
        observer_(s, entry->name, false);
    // Drop empty entries so that app names nobody uses any more cost nothing.
    if (entry->subscribers.empty())
    {
        if (link_)
            link_->appIdle(entry->name);
        apps_.erase(apps_.find(std::string_view(entry->name)));
    }
}

bool Registry::unsubscribe(Subscriber& s, std::string_view app)
{
    for (size_t i = 0; i < s.subscriptions.size(); ++i)
    {
        if (s.subscriptions[i].app->name == app)
        {
            detach(s, i);
            return true;
        }
    }
    return false;
}

void Registry::removeAll(Subscriber& s)
{
    while (!s.subscriptions.empty())
        detach(s, s.subscriptions.size() - 1);
    s.subscriptions.shrink_to_fit();
    // Not keyed on isMember(): what counts is whether S is in the index, which
    // is true once at most, so a second removal cannot take out another connection.
    removeMember(s);
}

bool Registry::addMember(Subscriber& s)
{
    if (s.member_id <= 0 || s.indexed_member == s.member_id)
        return false;
    removeMember(s);
    auto& list = members_[s.member_id];
    s.member_index = static_cast<uint32_t>(list.size());
    s.indexed_member = s.member_id;
    list.push_back(&s);
    return true;
}

void Registry::removeMember(Subscriber& s)
{
    if (!s.inMemberIndex())
        return;
    auto it = members_.find(s.indexed_member);
    s.indexed_member = 0;
    if (it == members_.end())
        return;
    auto& list = it->second;
    // Swap-remove, then fix the position the moved connection keeps.
    Subscriber* moved = list.back();
    list[s.member_index] = moved;
    moved->member_index = s.member_index;
    list.pop_back();
    if (list.empty())
        members_.erase(it);
}

const AppSubscribers* Registry::find(std::string_view app) const
{
    auto it = apps_.find(app);
    return it == apps_.end() ? nullptr : it->second.get();
}

} // namespace wsgw::hub
