#include "support/Http.h"

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>

#include <arpa/inet.h>
#include <chrono>
#include <netinet/in.h>
#include <poll.h>
#include <stdexcept>
#include <sys/socket.h>
#include <unistd.h>

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

int connectTcp(int port)
{
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0)
    {
        ::close(fd);
        throw std::runtime_error("cannot connect to port " + std::to_string(port));
    }
    return fd;
}

std::string rawRequest(int port, const std::string& request, int timeout_ms)
{
    int fd = connectTcp(port);
    ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
    std::string response;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (true)
    {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        pollfd p{fd, POLLIN, 0};
        if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0)
            break;
        char chunk[4096];
        ssize_t n = ::recv(fd, chunk, sizeof(chunk), 0);
        if (n <= 0)
            break;
        response.append(chunk, static_cast<size_t>(n));
    }
    ::close(fd);
    return response;
}

HttpResult push(int port, const std::string& body, const std::string& key)
{
    std::map<std::string, std::string> headers;
    if (!key.empty())
        headers["Authorization"] = "Bearer " + key;
    return httpRequest(port, "POST", "/push", body, headers);
}

std::string metricValue(int stat_port, const std::string& name)
{
    auto body = httpRequest(stat_port, "GET", "/metrics").body;
    auto at = body.find("\nwsgw_" + name + " ");
    if (at == std::string::npos)
        return "absent";
    at += name.size() + 7;
    return body.substr(at, body.find('\n', at) - at);
}

} // namespace wsgw::test
