#pragma once
/// Compact JSON output with keys in the order written: the server frames of
/// SPEC §1, HTTP reply bodies, /stat JSON and wsgw-admin --json. Any thread
/// (one writer per thread).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace wsgw::protocol {

/// Appends TEXT as a JSON string literal (quotes included). Escapes '"', '\\'
/// and control characters; other bytes, UTF-8 included, are copied as they are,
/// so the caller must pass valid UTF-8 to produce valid JSON.
void appendJsonString(std::string& out, std::string_view text);

/// Builds one JSON value. Commas and nesting are tracked; misuse (a value
/// where a key is due) is a programming error caught by tests, not checked.
class JsonWriter
{
public:
    JsonWriter& beginObject();
    JsonWriter& endObject();
    JsonWriter& beginArray();
    JsonWriter& endArray();
    JsonWriter& key(std::string_view name);
    JsonWriter& value(std::string_view text);
    JsonWriter& value(const char* text) { return value(std::string_view(text)); }
    JsonWriter& value(int64_t number);
    JsonWriter& value(uint64_t number);
    JsonWriter& value(int number) { return value(static_cast<int64_t>(number)); }
    JsonWriter& value(bool flag);
    JsonWriter& null();
    /// Inserts already-serialised JSON as a value.
    JsonWriter& raw(std::string_view json);

    const std::string& str() const noexcept { return out_; }
    std::string take() { return std::move(out_); }

private:
    void separate();

    std::string out_;
    std::vector<bool> first_; ///< per open container: no element written yet
    bool after_key_ = false;
};

} // namespace wsgw::protocol
