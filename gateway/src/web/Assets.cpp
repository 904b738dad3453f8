#include "web/Assets.h"

#include <cstddef>
#include <string>

namespace wsgw::web {

namespace embedded {
// Defined in the generated WebAssets.cpp (cmake/EmbedFiles.cmake).
extern const unsigned char wsgw_js[];
extern const std::size_t wsgw_js_size;
extern const char wsgw_js_sha256[];
extern const unsigned char dashboard_html[];
extern const std::size_t dashboard_html_size;
extern const char dashboard_html_sha256[];
} // namespace embedded

namespace {

/// A strong ETag from the file's digest: it changes exactly when the file does.
std::string etagOf(const char* sha256)
{
    return "\"" + std::string(sha256, 16) + "\"";
}

std::string_view bytesOf(const unsigned char* data, std::size_t size)
{
    return {reinterpret_cast<const char*>(data), size};
}

} // namespace

const Asset& clientLibrary()
{
    static const std::string etag = etagOf(embedded::wsgw_js_sha256);
    static const Asset asset{bytesOf(embedded::wsgw_js, embedded::wsgw_js_size), etag,
                             "text/javascript; charset=utf-8"};
    return asset;
}

const Asset& dashboard()
{
    static const std::string etag = etagOf(embedded::dashboard_html_sha256);
    static const Asset asset{bytesOf(embedded::dashboard_html, embedded::dashboard_html_size), etag,
                             "text/html; charset=utf-8"};
    return asset;
}

bool etagMatches(std::string_view header, std::string_view etag)
{
    auto trim = [](std::string_view s) {
        while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
            s.remove_prefix(1);
        while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
            s.remove_suffix(1);
        return s;
    };
    header = trim(header);
    if (header == "*")
        return true;
    while (!header.empty())
    {
        auto comma = header.find(',');
        auto tag = trim(header.substr(0, comma));
        if (tag.substr(0, 2) == "W/")
            tag.remove_prefix(2); // weak comparison: the opaque tags alone
        if (!tag.empty() && tag == etag)
            return true;
        if (comma == std::string_view::npos)
            break;
        header.remove_prefix(comma + 1);
    }
    return false;
}

} // namespace wsgw::web
