#include "support/WsClient.h"

#include "protocol/ServerMessage.h"
#include "transport/Handshake.h"

#include <arpa/inet.h>
#include <cstring>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <random>
#include <stdexcept>
#include <sys/socket.h>
#include <unistd.h>

namespace wsgw::test {

namespace {

uint32_t randomMask()
{
    static thread_local std::mt19937 rng{std::random_device{}()};
    return rng();
}

} // namespace

WsClient::WsClient(int port, Options options)
{
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (::getaddrinfo(options.host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0 || !found)
        throw std::runtime_error("cannot resolve " + options.host);
    fd_ = ::socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (!options.source.empty())
    {
        sockaddr_in local{};
        local.sin_family = AF_INET;
        ::inet_pton(AF_INET, options.source.c_str(), &local.sin_addr);
        if (::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0)
            throw std::runtime_error("cannot bind to " + options.source);
    }
    if (options.receive_buffer > 0)
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &options.receive_buffer, sizeof(options.receive_buffer));
    int rc = ::connect(fd_, found->ai_addr, found->ai_addrlen);
    ::freeaddrinfo(found);
    if (rc != 0)
    {
        ::close(fd_);
        throw std::runtime_error("connect failed: " + std::string(std::strerror(errno)));
    }
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    std::string request = "GET " + options.path + " HTTP/1.1\r\nHost: " + options.host + ":" + std::to_string(port) +
                          "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
                          options.extra_headers + "\r\n";
    sendRaw(request);
    auto deadline = std::chrono::steady_clock::now() + options.timeout;
    size_t end = std::string::npos;
    while ((end = buffer_.find("\r\n\r\n")) == std::string::npos)
    {
        if (!fill(deadline))
        {
            ::close(fd_);
            throw std::runtime_error("no handshake response; got: " + buffer_);
        }
    }
    std::string head = buffer_.substr(0, end);
    buffer_.erase(0, end + 4);
    if (head.rfind("HTTP/1.1 101", 0) != 0 ||
        head.find(transport::computeAccept("dGhlIHNhbXBsZSBub25jZQ==")) == std::string::npos)
    {
        ::close(fd_);
        throw std::runtime_error("handshake refused: " + head.substr(0, head.find("\r\n")));
    }
}

WsClient::~WsClient()
{
    if (fd_ >= 0)
        ::close(fd_);
}

void WsClient::sendRaw(std::string_view bytes)
{
    size_t sent = 0;
    while (sent < bytes.size())
    {
        ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
        if (n <= 0)
            throw std::runtime_error("send failed: " + std::string(std::strerror(errno)));
        sent += static_cast<size_t>(n);
    }
}

void WsClient::sendFrame(transport::Opcode opcode, std::string_view payload, bool fin, uint8_t rsv)
{
    sendRaw(transport::makeClientFrame(opcode, payload, randomMask(), fin, rsv));
}

void WsClient::sendText(std::string_view text)
{
    sendFrame(transport::Opcode::Text, text);
}

void WsClient::shutdownWrite()
{
    ::shutdown(fd_, SHUT_WR);
}

bool WsClient::fill(std::chrono::steady_clock::time_point deadline)
{
    if (eof_)
        return false;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
        return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0)
        return false;
    char chunk[65536];
    ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
    if (n <= 0)
    {
        eof_ = true;
        return false;
    }
    buffer_.append(chunk, static_cast<size_t>(n));
    return true;
}

std::optional<WsMessage> WsClient::receive(std::chrono::milliseconds timeout)
{
    auto deadline = std::chrono::steady_clock::now() + timeout;
    // Server frames are unmasked and, from wsgw, never fragmented: parse them directly.
    while (true)
    {
        if (buffer_.size() >= 2)
        {
            auto b0 = static_cast<uint8_t>(buffer_[0]);
            auto b1 = static_cast<uint8_t>(buffer_[1]);
            if (b1 & 0x80)
                throw std::runtime_error("server sent a masked frame");
            uint64_t length = b1 & 0x7f;
            size_t header = 2;
            if (length == 126 && buffer_.size() >= 4)
            {
                length = (uint64_t{static_cast<uint8_t>(buffer_[2])} << 8) | static_cast<uint8_t>(buffer_[3]);
                header = 4;
            }
            else if (length == 127 && buffer_.size() >= 10)
            {
                length = 0;
                for (int i = 0; i < 8; ++i)
                    length = (length << 8) | static_cast<uint8_t>(buffer_[2 + static_cast<size_t>(i)]);
                header = 10;
            }
            bool header_complete =
                !((b1 & 0x7f) == 126 && buffer_.size() < 4) && !((b1 & 0x7f) == 127 && buffer_.size() < 10);
            if (header_complete && buffer_.size() >= header + length)
            {
                if (!(b0 & 0x80))
                    throw std::runtime_error("server sent a fragmented frame");
                WsMessage message;
                std::string payload = buffer_.substr(header, length);
                buffer_.erase(0, header + length);
                switch (b0 & 0x0f)
                {
                case 1:
                    message.kind = WsMessage::Kind::Text;
                    break;
                case 2:
                    message.kind = WsMessage::Kind::Binary;
                    break;
                case 8:
                    message.kind = WsMessage::Kind::Close;
                    if (payload.size() >= 2)
                    {
                        message.close_code = static_cast<uint16_t>((static_cast<uint8_t>(payload[0]) << 8) |
                                                                   static_cast<uint8_t>(payload[1]));
                        payload.erase(0, 2);
                    }
                    else
                        message.close_code = 1005;
                    break;
                case 9:
                    message.kind = WsMessage::Kind::Ping;
                    break;
                case 10:
                    message.kind = WsMessage::Kind::Pong;
                    break;
                default:
                    throw std::runtime_error("server sent opcode " + std::to_string(b0 & 0x0f));
                }
                message.payload = std::move(payload);
                return message;
            }
        }
        if (!fill(deadline))
            return std::nullopt;
    }
}

std::string WsClient::receiveText(std::chrono::milliseconds timeout)
{
    auto message = receive(timeout);
    if (!message)
        throw std::runtime_error("no message within " + std::to_string(timeout.count()) + " ms");
    if (message->kind != WsMessage::Kind::Text)
        throw std::runtime_error("expected a text message, got kind " +
                                 std::to_string(static_cast<int>(message->kind)) + " code " +
                                 std::to_string(message->close_code));
    return message->payload;
}

std::optional<uint16_t> WsClient::receiveClose(std::chrono::milliseconds timeout)
{
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true)
    {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0)
            return std::nullopt;
        auto message = receive(left);
        if (!message)
            return std::nullopt;
        if (message->kind == WsMessage::Kind::Close)
            return message->close_code;
    }
}

bool WsClient::waitForEof(std::chrono::milliseconds timeout)
{
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!eof_)
    {
        buffer_.clear();
        if (!fill(deadline) && !eof_)
            return false;
    }
    return true;
}

std::string WsClient::auth(int64_t member_id, std::string_view token)
{
    std::string message = "{\"member_id\":" + std::to_string(member_id) + ",\"token\":\"" + std::string(token) + "\"}";
    sendText(message);
    return receiveText();
}

std::string WsClient::fence()
{
    sendText(R"({"app":"fence.","action":"unsubscribe"})");
    return receiveText();
}

std::string fenceReply()
{
    return reply(200, "unsubscribe fence. success");
}

std::string WsClient::subscribe(std::string_view app)
{
    sendText("{\"app\":\"" + std::string(app) + "\"}");
    return receiveText();
}

std::string reply(int code, std::string_view message)
{
    return protocol::serverMessage(
        "gateway", -1, "{\"code\":" + std::to_string(code) + ",\"message\":\"" + std::string(message) + "\"}");
}

} // namespace wsgw::test
