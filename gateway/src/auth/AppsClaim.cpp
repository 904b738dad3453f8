#include "auth/AppsClaim.h"

#include "model/Names.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <algorithm>

namespace wsgw::auth {

std::optional<std::vector<std::string>> appsClaim(const Poco::JSON::Object& object)
{
    std::vector<std::string> apps;
    if (!object.has("apps"))
        return apps;
    auto array = object.getArray("apps");
    if (!array)
        return std::nullopt;
    for (size_t i = 0; i < array->size(); ++i)
    {
        const auto item = array->get(static_cast<unsigned>(i));
        if (!item.isString())
            return std::nullopt;
        auto name = item.extract<std::string>();
        if (!model::isValidAppName(name))
            return std::nullopt;
        apps.push_back(std::move(name));
    }
    std::sort(apps.begin(), apps.end());
    apps.erase(std::unique(apps.begin(), apps.end()), apps.end());
    return apps;
}

} // namespace wsgw::auth
