#include "protocol/PushRequest.h"

#include "model/Names.h"
#include "protocol/FlatJson.h"

namespace wsgw::protocol {

namespace {

/// Reads the value at JSON's cursor as one push. An invalid value leaves JSON
/// failed (the whole body is bad); a valid non-object is a bad item.
DecodedPush decodeItem(FlatJson& json)
{
    DecodedPush out;
    if (!json.atObject())
    {
        json.skipValue();
        out.error = "a push must be a JSON object with app, text and optional member_id";
        return out;
    }
    JsonField fields[] = {JsonField("app"), JsonField("text"), JsonField("member_id")};
    if (!json.readObject(fields))
        return out;
    switch (fields[0].takeString(out.push.app))
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
    switch (fields[1].takeString(out.push.text))
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
    // Absent (or null) keeps the default -1, a broadcast.
    if (fields[2].getInt64(out.push.member_id) == FieldState::WrongType)
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
    FlatJson json(body);
    // One pass: items are decoded as they are read; if the body turns out not to be
    // valid JSON after all, they are dropped and the whole body is refused.
    if (json.atArray())
    {
        out.batch = json.enterArray();
        while (json.nextElement())
            out.items.push_back(decodeItem(json));
    }
    else
    {
        out.items.push_back(decodeItem(json));
    }
    if (!json.atEnd())
    {
        PushBody invalid;
        invalid.error = "body is not valid JSON (UTF-8, nesting up to " + std::to_string(kMaxJsonDepth) + ")";
        return invalid;
    }
    if (out.items.empty())
    {
        out.batch = false;
        out.error = "empty batch: send at least one push";
        return out;
    }
    out.ok = true;
    return out;
}

} // namespace wsgw::protocol
