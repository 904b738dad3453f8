#include "support/Http.h"

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>

namespace wsgw::test {

HttpResult httpRequest(int port, const std::string& method, const std::string& path, const std::string& body,
                       const std::map<std::string, std::string>& headers)
{
    Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(port));
    session.setTimeout(Poco::Timespan(10, 0));
    Poco::Net::HTTPRequest request(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
    for (const auto& [name, value] : headers)
        request.set(name, value);
    if (!body.empty() || method == "POST")
    {
        request.setContentType("application/json");
        request.setContentLength(static_cast<std::streamsize>(body.size()));
    }
    session.sendRequest(request) << body;
    Poco::Net::HTTPResponse response;
    auto& in = session.receiveResponse(response);
    HttpResult result;
    result.status = static_cast<int>(response.getStatus());
    Poco::StreamCopier::copyToString(in, result.body);
    for (const auto& [name, value] : response)
        result.headers[name] = value;
    return result;
}

HttpResult push(int port, const std::string& body, const std::string& key)
{
    std::map<std::string, std::string> headers;
    if (!key.empty())
        headers["Authorization"] = "Bearer " + key;
    return httpRequest(port, "POST", "/push", body, headers);
}

} // namespace wsgw::test
