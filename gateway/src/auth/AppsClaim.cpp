#include "auth/AppsClaim.h"

#include "model/Names.h"

#include <algorithm>

namespace wsgw::auth {

std::optional<std::vector<std::string>> appsClaim(const protocol::JsonField& field)
{
    std::vector<std::string> apps;
    if (field.type == protocol::JsonField::Type::Absent)
        return apps;
    if (field.type != protocol::JsonField::Type::Array)
        return std::nullopt;
    protocol::FlatJson array(field.raw);
    if (!array.enterArray())
        return std::nullopt;
    protocol::JsonField item("");
    while (array.nextElement())
    {
        if (!array.readValue(item) || item.type != protocol::JsonField::Type::String ||
            !model::isValidAppName(item.string))
            return std::nullopt;
        apps.push_back(std::move(item.string));
    }
    if (array.failed())
        return std::nullopt;
    std::sort(apps.begin(), apps.end());
    apps.erase(std::unique(apps.begin(), apps.end()), apps.end());
    return apps;
}

} // namespace wsgw::auth
