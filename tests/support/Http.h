#pragma once
/// Plain HTTP/1.1 requests to the gateway on loopback, for tests. Test support.

#include <map>
#include <string>

namespace wsgw::test {

struct HttpResult
{
    int status = 0;
    std::string body;
    std::map<std::string, std::string> headers;
};

/// Sends one request and reads the whole response. Throws on connection failure.
HttpResult httpRequest(int port, const std::string& method, const std::string& path, const std::string& body = {},
                       const std::map<std::string, std::string>& headers = {});

/// A TCP connection to 127.0.0.1:PORT; the caller closes the fd.
int connectTcp(int port);

/// Sends REQUEST as raw bytes and returns everything the server answers until
/// it closes the connection or TIMEOUT passes (for malformed requests that an
/// HTTP client library would refuse to send).
std::string rawRequest(int port, const std::string& request, int timeout_ms = 5000);

/// POST /push with `Authorization: Bearer KEY` (omitted when KEY is empty).
HttpResult push(int port, const std::string& body, const std::string& key);

/// The value of `wsgw_NAME` in GET /metrics on STAT_PORT, or "absent".
std::string metricValue(int stat_port, const std::string& name);

} // namespace wsgw::test
