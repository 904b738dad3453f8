#include "model/Names.h"

#include <charconv>

namespace wsgw::model {

bool isValidAppName(std::string_view name)
{
    if (name.empty() || name.size() > 64)
        return false;
    for (char c : name)
    {
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
                  c == '-';
        if (!ok)
            return false;
    }
    return true;
}

std::optional<int64_t> parseMemberId(std::string_view text)
{
    if (text.empty() || text.size() > 19 || text.front() < '1' || text.front() > '9')
        return std::nullopt;
    int64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || value <= 0)
        return std::nullopt;
    return value;
}

} // namespace wsgw::model
