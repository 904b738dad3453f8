#pragma once
/// Strict reading of untrusted JSON (client messages, push bodies) on top of
/// Poco::JSON: a depth limit, and field getters that check the parsed type and
/// range instead of converting ("123" is not a number, 1e3 is not an integer,
/// 18446744073709551617 is not 1). Never throws. Any thread.

#include <Poco/Dynamic/Var.h>
#include <Poco/JSON/Object.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace wsgw::protocol {

/// Deepest nesting accepted in client messages and push bodies.
inline constexpr size_t kMaxJsonDepth = 16;

/// Parses TEXT; nullopt if it is not one complete JSON value within kMaxJsonDepth.
std::optional<Poco::Dynamic::Var> parseJson(std::string_view text);

/// What a field holds, as far as the protocol cares.
enum class FieldState
{
    Absent,    ///< no such key (or null)
    Ok,        ///< present with the expected type and range
    WrongType, ///< present but not of the expected type or out of range
};

/// An integer field in [-(2^63-1), 2^63-1]. Doubles, strings, booleans and
/// numbers beyond int64 are WrongType.
FieldState getInt64(const Poco::JSON::Object& object, const std::string& key, int64_t& out);

/// A string field.
FieldState getString(const Poco::JSON::Object& object, const std::string& key, std::string& out);

/// The object inside VAR, or null if VAR is not an object.
Poco::JSON::Object::Ptr asObject(const Poco::Dynamic::Var& var);

/// TEXT parsed as a JSON object, or null if it is not JSON or not an object.
Poco::JSON::Object::Ptr parseObject(std::string_view text);

} // namespace wsgw::protocol
