#pragma once
/// A small blocking WebSocket client for tests: real TCP on loopback, masked
/// frames, raw access for sending broken frames, and reads with deadlines.
/// Test support; one thread per client.

#include "transport/FrameWriter.h"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace wsgw::test {

struct WsMessage
{
    enum class Kind
    {
        Text,
        Binary,
        Ping,
        Pong,
        Close,
    };
    Kind kind = Kind::Text;
    std::string payload;     ///< for Close: the reason
    uint16_t close_code = 0; ///< for Close
};

class WsClient
{
public:
    struct Options
    {
        std::string host = "127.0.0.1";
        std::string source; ///< local address to connect from (e.g. 127.0.0.2: another loopback "peer")
        std::string path = "/ws";
        int receive_buffer = 0;    ///< SO_RCVBUF before connecting; 0 = default
        std::string extra_headers; ///< raw "Name: value\r\n" lines
        std::chrono::milliseconds timeout{5000};

        static Options at(std::string host_name, std::string request_path = "/ws")
        {
            Options options;
            options.host = std::move(host_name);
            options.path = std::move(request_path);
            return options;
        }

        static Options from(std::string source_address)
        {
            Options options;
            options.source = std::move(source_address);
            return options;
        }
    };

    /// Connects and completes the handshake; throws std::runtime_error with the
    /// server's status line if it is not 101.
    explicit WsClient(int port, Options options);
    explicit WsClient(int port) : WsClient(port, Options{}) {}
    ~WsClient();
    WsClient(const WsClient&) = delete;
    WsClient& operator=(const WsClient&) = delete;

    void sendText(std::string_view text);
    void sendFrame(transport::Opcode opcode, std::string_view payload, bool fin = true, uint8_t rsv = 0);
    /// Sends bytes as they are (broken frames, partial frames).
    void sendRaw(std::string_view bytes);

    /// The next message, or nullopt on timeout or when the connection ended.
    std::optional<WsMessage> receive(std::chrono::milliseconds timeout = std::chrono::seconds(5));
    /// The next text message's payload; throws std::runtime_error if something else comes or nothing.
    std::string receiveText(std::chrono::milliseconds timeout = std::chrono::seconds(5));
    /// Reads until a close frame and returns its code, skipping other messages;
    /// nullopt if the connection ends or TIMEOUT passes without one.
    std::optional<uint16_t> receiveClose(std::chrono::milliseconds timeout = std::chrono::seconds(5));
    /// True once the server closed TCP (EOF) within TIMEOUT, reading and dropping anything before.
    bool waitForEof(std::chrono::milliseconds timeout = std::chrono::seconds(5));

    /// auth + its reply text: {"member_id":ID,"token":TOKEN}.
    std::string auth(int64_t member_id, std::string_view token);
    /// {"app":APP} + its reply text.
    std::string subscribe(std::string_view app);
    /// A fence instead of a wait: sends an unsubscribe for an app it never
    /// subscribed to and returns the next text. Everything the gateway queued
    /// for this connection earlier arrives before that reply, so
    /// `EXPECT_EQ(c.fence(), kFenceReply)` shows nothing else was queued.
    std::string fence();

    int fd() const noexcept { return fd_; }
    void shutdownWrite();

private:
    bool fill(std::chrono::steady_clock::time_point deadline);

    int fd_ = -1;
    std::string buffer_; ///< received, not yet parsed
    bool eof_ = false;
};

/// The reply text a gateway reply should carry, e.g. reply(200, "hello stranger").
std::string reply(int code, std::string_view message);

/// What WsClient::fence() returns when nothing else was queued before it.
std::string fenceReply();

} // namespace wsgw::test
