#pragma once
/// Checks of an HTTP request's framing that Poco 1.11 does not make, applied
/// before any body is read: no Content-Length together with
/// Transfer-Encoding, one well-formed Content-Length, no transfer coding but
/// chunked (SPEC §5; request-smuggling shapes). Pure; any thread.

#include <Poco/Net/HTTPRequest.h>

#include <optional>
#include <string>

namespace wsgw::transport {

struct Rejection
{
    int status;          ///< 400, 501
    std::string message; ///< what is wrong, for the JSON body
};

/// nullopt when the request's framing is acceptable.
std::optional<Rejection> checkFraming(const Poco::Net::HTTPRequest& request);

} // namespace wsgw::transport
