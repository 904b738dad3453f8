#pragma once
/// The static files the gateway serves, built into the binary from gateway/web/
/// (cmake/EmbedFiles.cmake): the browser client wsgw.js on the public port and
/// the dashboard page on the stat port. Any thread: immutable.

#include <string_view>

namespace wsgw::web {

struct Asset
{
    std::string_view body;
    std::string_view etag;         ///< strong validator, quoted: "\"<16 hex digits of its SHA-256>\""
    std::string_view content_type; ///< the Content-Type header value
};

/// gateway/web/wsgw.js, served as GET /wsgw.js on the public port.
const Asset& clientLibrary();

/// gateway/web/dashboard.html, served as GET / on the stat port.
const Asset& dashboard();

/// True if an If-None-Match header value HEADER matches ETAG (RFC 9110 §13.1.2:
/// `*`, or a comma-separated list of entity tags compared weakly, so `W/"x"`
/// matches `"x"`). False for an empty or malformed header.
bool etagMatches(std::string_view header, std::string_view etag);

} // namespace wsgw::web
