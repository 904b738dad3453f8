#include "store/Snapshot.h"

namespace wsgw::store {

std::string_view toString(Visibility visibility)
{
    switch (visibility)
    {
    case Visibility::Public:
        return "public";
    case Visibility::Members:
        return "members";
    case Visibility::Private:
        return "private";
    }
    return "public";
}

std::optional<Visibility> parseVisibility(std::string_view text)
{
    if (text == "public")
        return Visibility::Public;
    if (text == "members")
        return Visibility::Members;
    if (text == "private")
        return Visibility::Private;
    return std::nullopt;
}

const Snapshot::App* Snapshot::findApp(std::string_view name) const
{
    auto it = apps.find(std::string(name));
    return it == apps.end() ? nullptr : &it->second;
}

std::optional<int64_t> Snapshot::matchToken(int64_t member, const Digest& token_hash) const
{
    auto it = members.find(member);
    if (it == members.end())
        return std::nullopt;
    std::optional<int64_t> match;
    for (const auto& token : it->second)
    {
        if (constantTimeEquals(token.hash, token_hash))
            match = token.id;
    }
    return match;
}

bool Snapshot::hasToken(int64_t member, int64_t token_id) const
{
    auto it = members.find(member);
    if (it == members.end())
        return false;
    for (const auto& token : it->second)
    {
        if (token.id == token_id)
            return true;
    }
    return false;
}

} // namespace wsgw::store
