#include "protocol/Json.h"

#include <Poco/Exception.h>
#include <Poco/JSON/Parser.h>

#include <limits>

namespace wsgw::protocol {

std::optional<Poco::Dynamic::Var> parseJson(std::string_view text)
{
    try
    {
        Poco::JSON::Parser parser;
        parser.setDepth(kMaxJsonDepth);
        return parser.parse(std::string(text));
    }
    catch (const Poco::Exception&)
    {
        return std::nullopt;
    }
    catch (const std::exception&)
    {
        return std::nullopt;
    }
}

Poco::JSON::Object::Ptr asObject(const Poco::Dynamic::Var& var)
{
    if (var.type() != typeid(Poco::JSON::Object::Ptr))
        return nullptr;
    return var.extract<Poco::JSON::Object::Ptr>();
}

Poco::JSON::Object::Ptr parseObject(std::string_view text)
{
    auto var = parseJson(text);
    return var ? asObject(*var) : nullptr;
}

FieldState getInt64(const Poco::JSON::Object& object, const std::string& key, int64_t& out)
{
    if (!object.has(key))
        return FieldState::Absent;
    const auto& value = object.get(key);
    if (value.isEmpty())
        return FieldState::Absent;
    // Poco parses integers that fit int64 as Int64 and larger ones as (wrapped)
    // UInt64, and clamps negative overflow to INT64_MIN: only Int64 above the
    // clamp value is a number the sender really wrote.
    if (value.type() != typeid(Poco::Int64))
        return FieldState::WrongType;
    auto number = value.extract<Poco::Int64>();
    if (number == std::numeric_limits<Poco::Int64>::min())
        return FieldState::WrongType;
    out = number;
    return FieldState::Ok;
}

FieldState getString(const Poco::JSON::Object& object, const std::string& key, std::string& out)
{
    if (!object.has(key))
        return FieldState::Absent;
    const auto& value = object.get(key);
    if (value.isEmpty())
        return FieldState::Absent;
    if (value.type() != typeid(std::string))
        return FieldState::WrongType;
    out = value.extract<std::string>();
    return FieldState::Ok;
}

} // namespace wsgw::protocol
