#include "protocol/PushRequest.h"

#include "protocol/Json.h"
#include "model/Names.h"

#include <Poco/JSON/Array.h>

namespace wsgw::protocol {

namespace {

DecodedPush decodeItem(const Poco::Dynamic::Var& var)
{
    DecodedPush out;
    auto object = asObject(var);
    if (!object)
    {
        out.error = "a push must be a JSON object with app, text and optional member_id";
        return out;
    }
    switch (getString(*object, "app", out.push.app))
    {
    case FieldState::Absent:
        out.error = "missing field 'app'";
        return out;
    case FieldState::WrongType:
        out.error = "field 'app' must be a string";
        return out;
    case FieldState::Ok:
        break;
    }
    if (!model::isValidAppName(out.push.app))
    {
        out.error = "invalid app name: use 1 to 64 characters of A-Z a-z 0-9 _ . -";
        return out;
    }
    switch (getString(*object, "text", out.push.text))
    {
    case FieldState::Absent:
        out.error = "missing field 'text'";
        return out;
    case FieldState::WrongType:
        out.error = "field 'text' must be a string";
        return out;
    case FieldState::Ok:
        break;
    }
    if (getInt64(*object, "member_id", out.push.member_id) == FieldState::WrongType)
    {
        out.error = "field 'member_id' must be an integer within int64";
        return out;
    }
    out.ok = true;
    return out;
}

} // namespace

PushBody decodePushBody(std::string_view body)
{
    PushBody out;
    auto var = parseJson(body);
    if (!var)
    {
        out.error = "body is not valid JSON (UTF-8, nesting up to " + std::to_string(kMaxJsonDepth) + ")";
        return out;
    }
    if (var->type() == typeid(Poco::JSON::Array::Ptr))
    {
        auto array = var->extract<Poco::JSON::Array::Ptr>();
        if (array->size() == 0)
        {
            out.error = "empty batch: send at least one push";
            return out;
        }
        out.batch = true;
        out.items.reserve(array->size());
        for (size_t i = 0; i < array->size(); ++i)
            out.items.push_back(decodeItem(array->get(static_cast<unsigned>(i))));
    }
    else
    {
        out.items.push_back(decodeItem(*var));
    }
    out.ok = true;
    return out;
}

} // namespace wsgw::protocol
