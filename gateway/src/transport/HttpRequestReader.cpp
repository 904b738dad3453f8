#include "transport/HttpRequestReader.h"

#include "transport/HttpFraming.h"

#include <Poco/Exception.h>
#include <Poco/MemoryStream.h>

#include <charconv>

namespace wsgw::transport {

namespace {

/// RFC 7230 §3.2.6 tchar: what a header field name may consist of.
bool isTokenChar(char c)
{
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
        return true;
    switch (c)
    {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
        return true;
    default:
        return false;
    }
}

/// Checks the header lines Poco's lenient reader would accept in a dangerous
/// way: a name followed by whitespace before the colon (a proxy may read a
/// different header than we do), folded lines, lines without a colon (Poco
/// skips them), and control characters. BLOCK ends with the blank line's CRLF.
std::string checkHeaderLines(std::string_view block)
{
    size_t line_start = block.find("\r\n");
    if (line_start == std::string_view::npos)
        return "malformed request line";
    line_start += 2;
    size_t number = 1;
    // Poco's own field limits, checked here so that passing them is a 431, not a 400.
    constexpr size_t kMaxFields = 100;
    constexpr size_t kMaxName = 256;
    constexpr size_t kMaxValue = 8192;
    while (line_start + 2 <= block.size())
    {
        size_t end = block.find("\r\n", line_start);
        std::string_view line = block.substr(line_start, end - line_start);
        line_start = end + 2;
        if (line.empty())
            break; // the blank line that ends the block
        ++number;
        if (line.front() == ' ' || line.front() == '\t')
            return "folded header line " + std::to_string(number) + " (obsolete line folding is not accepted)";
        size_t colon = line.find(':');
        if (colon == std::string_view::npos)
            return "header line " + std::to_string(number) + " has no colon";
        if (colon == 0)
            return "header line " + std::to_string(number) + " has an empty name";
        if (number - 1 > kMaxFields || colon > kMaxName || line.size() - colon - 1 > kMaxValue)
            return "431";
        for (size_t i = 0; i < colon; ++i)
        {
            if (!isTokenChar(line[i]))
            {
                if (line[i] == ' ' || line[i] == '\t')
                    return "whitespace before the colon in header line " + std::to_string(number);
                return "invalid character in the name of header line " + std::to_string(number);
            }
        }
        for (size_t i = colon + 1; i < line.size(); ++i)
        {
            auto c = static_cast<unsigned char>(line[i]);
            if ((c < 0x20 && c != '\t') || c == 0x7f)
                return "control character in header line " + std::to_string(number);
        }
    }
    return {};
}

} // namespace

HttpReadStatus HttpRequestReader::fail(int status, std::string message)
{
    stage_ = Stage::Failed;
    error_ = {status, std::move(message)};
    return HttpReadStatus::Error;
}

void HttpRequestReader::next()
{
    stage_ = Stage::Header;
    pending_ = false;
    keep_alive_ = false;
    header_size_ = 0;
    body_length_ = 0;
    chunk_position_ = 0;
    consumed_ = 0;
    body_.clear();
    if (body_.capacity() > 4096)
        body_.shrink_to_fit();
}

HttpReadStatus HttpRequestReader::read(std::string_view input)
{
    switch (stage_)
    {
    case Stage::Header:
        return readHeader(input);
    case Stage::FixedBody:
    {
        size_t end = header_size_ + static_cast<size_t>(body_length_);
        if (input.size() < end)
            return HttpReadStatus::NeedMore;
        body_.assign(input.substr(header_size_, static_cast<size_t>(body_length_)));
        consumed_ = end;
        stage_ = Stage::Done;
        return HttpReadStatus::Request;
    }
    case Stage::ChunkedBody:
        return readChunked(input);
    case Stage::Done:
        return HttpReadStatus::Request;
    case Stage::Failed:
        return HttpReadStatus::Error;
    }
    return HttpReadStatus::Error;
}

HttpReadStatus HttpRequestReader::readHeader(std::string_view input)
{
    // RFC 7230 §3.5: empty lines before a request line are ignored (some
    // clients send a CRLF after a body). They count as part of this request.
    size_t start = 0;
    while (input.substr(start, 2) == "\r\n")
        start += 2;
    pending_ = input.size() > start;
    // Only this request's bytes are looked at: up to its blank line, or all
    // that arrived while the blank line is missing (pipelined requests follow).
    size_t end = input.find("\r\n\r\n", start);
    size_t scan_end =
        std::min(end == std::string_view::npos ? input.size() : end + 4, start + limits_->max_header_bytes + 1);
    // Every line must end in CRLF: a bare LF would make us and a proxy in
    // front disagree on where the header block ends.
    for (size_t i = start; i < scan_end; ++i)
    {
        if (input[i] == '\n' && (i == start || input[i - 1] != '\r'))
            return fail(400, "malformed request: header lines must end with CRLF");
        if (input[i] == '\0')
            return fail(400, "malformed request: NUL byte in the header");
    }
    if (end == std::string_view::npos || end + 4 - start > limits_->max_header_bytes)
    {
        if (input.size() - start > limits_->max_header_bytes)
            return fail(431, "request header block over the limit of " + std::to_string(limits_->max_header_bytes) +
                                 " bytes");
        return HttpReadStatus::NeedMore;
    }
    std::string_view block = input.substr(start, end + 4 - start);
    if (auto problem = checkHeaderLines(block); problem == "431")
        return fail(431, "request header fields too large: at most 100 fields, names of 256 and values of 8192 bytes");
    else if (!problem.empty())
        return fail(400, "malformed request: " + problem);
    try
    {
        request_.clear();
        Poco::MemoryInputStream stream(block.data(), static_cast<std::streamsize>(block.size()));
        request_.read(stream);
    }
    catch (const Poco::Exception& e)
    {
        return fail(400, "malformed request: " + e.message());
    }
    const std::string& version = request_.getVersion();
    if (version != Poco::Net::HTTPMessage::HTTP_1_1 && version != Poco::Net::HTTPMessage::HTTP_1_0)
        return fail(505, "HTTP version not supported: use HTTP/1.1");
    if (auto rejection = checkFraming(request_))
        return fail(rejection->status, rejection->message);
    keep_alive_ = request_.getKeepAlive();
    header_size_ = start + block.size();
    if (request_.getChunkedTransferEncoding())
    {
        stage_ = Stage::ChunkedBody;
        chunk_position_ = header_size_;
        return readChunked(input);
    }
    body_length_ = 0;
    if (request_.hasContentLength())
    {
        // checkFraming made sure it is a plain decimal number of at most 18 digits.
        const std::string& text = request_.get(Poco::Net::HTTPMessage::CONTENT_LENGTH);
        std::from_chars(text.data(), text.data() + text.size(), body_length_);
    }
    if (body_length_ > limits_->max_body_bytes)
        return fail(413, "body of " + std::to_string(body_length_) + " bytes is over the limit of " +
                             std::to_string(limits_->max_body_bytes) + " bytes");
    stage_ = Stage::FixedBody;
    return read(input);
}

HttpReadStatus HttpRequestReader::readChunked(std::string_view input)
{
    constexpr size_t kMaxChunkLine = 1024;
    while (true)
    {
        // The limits hold whether or not the line's end has arrived, so the
        // verdict never depends on the split (without the end, one more byte
        // may be the CR of the CRLF).
        size_t line_end = input.find("\r\n", chunk_position_);
        if (line_end == std::string_view::npos)
        {
            if (input.size() - chunk_position_ > kMaxChunkLine + 1)
                return fail(400, "malformed chunked body: chunk size line too long");
            return HttpReadStatus::NeedMore;
        }
        if (line_end - chunk_position_ > kMaxChunkLine)
            return fail(400, "malformed chunked body: chunk size line too long");
        std::string_view line = input.substr(chunk_position_, line_end - chunk_position_);
        std::string_view digits = line.substr(0, line.find(';')); // chunk extensions are ignored
        uint64_t size = 0;
        auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), size, 16);
        if (digits.empty() || digits.size() > 15 || ec != std::errc() || ptr != digits.data() + digits.size())
            return fail(400, "malformed chunked body: bad chunk size");
        size_t data_start = line_end + 2;
        if (size == 0)
        {
            // The last chunk, then optional trailer fields, then a blank line.
            size_t end = input.substr(data_start, 2) == "\r\n" ? data_start + 2 : std::string_view::npos;
            if (end == std::string_view::npos)
            {
                size_t trailers = input.find("\r\n\r\n", data_start);
                size_t trailer_bytes = (trailers == std::string_view::npos ? input.size() : trailers + 4) - data_start;
                if (trailer_bytes > limits_->max_header_bytes)
                    return fail(431, "chunked trailer over the limit of " + std::to_string(limits_->max_header_bytes) +
                                         " bytes");
                if (trailers == std::string_view::npos)
                    return HttpReadStatus::NeedMore;
                end = trailers + 4;
            }
            consumed_ = end;
            stage_ = Stage::Done;
            return HttpReadStatus::Request;
        }
        if (body_.size() + size > limits_->max_body_bytes)
            return fail(413, "body is over the limit of " + std::to_string(limits_->max_body_bytes) + " bytes");
        if (input.size() < data_start + size + 2)
            return HttpReadStatus::NeedMore;
        if (input.substr(data_start + size, 2) != "\r\n")
            return fail(400, "malformed chunked body: chunk data not followed by CRLF");
        body_.append(input.substr(data_start, size));
        chunk_position_ = data_start + size + 2;
    }
}

} // namespace wsgw::transport
