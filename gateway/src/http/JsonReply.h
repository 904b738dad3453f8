#pragma once
/// Sends a small JSON body on an HTTP response: every reply of /push and the
/// error replies of both ports say what went wrong. Pool threads.

#include <Poco/Net/HTTPServerResponse.h>

#include <string>
#include <string_view>

namespace wsgw::http {

/// `{"code":STATUS,"message":MESSAGE}` with STATUS as the HTTP status.
std::string errorBody(int status, std::string_view message);

/// Sends BODY (JSON) with STATUS.
void sendJson(Poco::Net::HTTPServerResponse& response, int status, const std::string& body);

/// Sends errorBody(STATUS, MESSAGE).
void sendError(Poco::Net::HTTPServerResponse& response, int status, std::string_view message);

} // namespace wsgw::http
