#pragma once
/// Reads HTTP/1.1 requests from the bytes of one connection as they arrive
/// (SPEC §5): the header block is checked by us and parsed by Poco's
/// HTTPRequest, the body is framed by Content-Length or chunked coding and
/// refused before it is read when it is too large. No I/O; one instance per
/// HTTP connection, used by its loop thread only.

#include <Poco/Net/HTTPRequest.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace wsgw::transport {

struct HttpLimits
{
    size_t max_header_bytes = 16384;     ///< request line + headers + the blank line; larger = 431
    size_t max_body_bytes = 1024 * 1024; ///< decoded body; larger = 413, refused before it is read
};

/// Why a request was refused: the status and a message for the JSON body.
/// The connection is closed after the reply.
struct HttpError
{
    int status = 400;
    std::string message;
};

enum class HttpReadStatus : uint8_t
{
    NeedMore, ///< no complete request yet; keep the bytes and call again when more arrive
    Request,  ///< request() and body() hold a whole request; consumed() bytes belong to it
    Error,    ///< error() says why; nothing more is read from this connection
};

class HttpRequestReader
{
public:
    /// LIMITS is kept by pointer and must outlive the reader.
    explicit HttpRequestReader(const HttpLimits* limits) : limits_(limits) {}

    /// Looks at INPUT, every byte received and not yet consumed (the same
    /// prefix each call, longer as bytes arrive). The framing decision never
    /// depends on how INPUT was split across calls. O(new bytes) per call, but
    /// a header block is re-scanned from its start until it is complete.
    HttpReadStatus read(std::string_view input);

    /// After Request: the request (method, URI, version, headers).
    const Poco::Net::HTTPRequest& request() const noexcept { return request_; }
    /// After Request: the body, chunked coding removed.
    const std::string& body() const noexcept { return body_; }
    /// After Request: how many bytes of INPUT the request used (header block and body).
    size_t consumed() const noexcept { return consumed_; }
    /// After Request: whether the connection may carry another request (HTTP/1.1
    /// without "Connection: close", or HTTP/1.0 with "Connection: keep-alive").
    bool keepAlive() const noexcept { return keep_alive_; }
    /// After Error.
    const HttpError& error() const noexcept { return error_; }

    /// True while part of a request has been seen (its header block or body is
    /// incomplete): the request deadline runs. Only meaningful between read() calls.
    bool started() const noexcept { return stage_ != Stage::Header || pending_; }
    /// True once the header block of the current request is complete.
    bool headerComplete() const noexcept { return stage_ != Stage::Header; }

    /// Forgets the request that read() returned, so the next read() starts on
    /// the bytes after consumed(). Call after the caller dropped those bytes.
    void next();

private:
    enum class Stage : uint8_t
    {
        Header,
        FixedBody,
        ChunkedBody,
        Done,
        Failed,
    };

    HttpReadStatus fail(int status, std::string message);
    HttpReadStatus readHeader(std::string_view input);
    HttpReadStatus readChunked(std::string_view input);

    const HttpLimits* limits_;
    Poco::Net::HTTPRequest request_;
    std::string body_;
    HttpError error_;
    Stage stage_ = Stage::Header;
    bool pending_ = false; ///< bytes of a header block seen
    bool keep_alive_ = false;
    size_t header_size_ = 0;    ///< bytes of the header block, blank line included
    uint64_t body_length_ = 0;  ///< Content-Length
    size_t chunk_position_ = 0; ///< chunked: offset in INPUT of the next chunk-size line
    size_t consumed_ = 0;
};

} // namespace wsgw::transport
