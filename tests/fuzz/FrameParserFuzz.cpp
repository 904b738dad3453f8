// libFuzzer target: the RFC 6455 frame parser on arbitrary client bytes, split
// into two reads at an input-chosen point so partial-frame paths are exercised
// too. Every byte is fed exactly once, as a connection feeds its reads. Properties:
// each message respects the limits it was given (size, control payload, UTF-8 of
// text), the buffer stays within them, NeedMore means the read was used up, and
// after Error every call returns Error and consumes nothing.

#include "transport/FrameParser.h"
#include "transport/Utf8Validator.h"

#include <cstdint>
#include <cstdlib>
#include <string>

using namespace wsgw::transport;

namespace {

void check(bool property)
{
    if (!property)
        std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    if (size < 1)
        return 0;
    ParserLimits limits;
    limits.max_message_bytes = 4096;
    limits.max_fragments = 16;
    limits.max_empty_fragments = 4;
    FrameParser parser(&limits);
    std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
    const size_t split = bytes.empty() ? 0 : data[0] % (bytes.size() + 1);
    const size_t chunks[2] = {split, bytes.size() - split};
    size_t offset = 0; // where the current read starts in BYTES
    bool failed = false;
    for (size_t chunk : chunks)
    {
        char* read = bytes.data() + offset;
        size_t used = 0;
        while (used < chunk)
        {
            Message message{};
            const size_t before = used;
            const auto status = parser.parse(read + used, chunk - used, used, message);
            check(used <= chunk);
            check(parser.bufferedBytes() <= limits.max_message_bytes + 125);
            if (status == ParseStatus::Error)
            {
                failed = true;
                check(parser.error() != CloseCode::Normal && *parser.errorReason() != '\0');
                break;
            }
            check(!failed);
            if (status == ParseStatus::NeedMore)
            {
                check(used == chunk);
                break;
            }
            check(used > before); // a message ends with a byte of this call
            switch (message.kind)
            {
            case MessageKind::Text:
                check(isValidUtf8(message.payload));
                [[fallthrough]];
            case MessageKind::Binary:
                check(message.payload.size() <= limits.max_message_bytes);
                break;
            case MessageKind::Close:
                check(isValidUtf8(message.payload) && message.payload.size() <= 123);
                check(message.close_code == static_cast<uint16_t>(CloseCode::NoStatus) ||
                      isValidReceivedCloseCode(message.close_code));
                break;
            case MessageKind::Ping:
            case MessageKind::Pong:
                check(message.payload.size() <= 125);
                break;
            }
        }
        if (failed)
        {
            // The rest of this read, and another read: Error, nothing consumed.
            const size_t at_error = used;
            Message message{};
            check(parser.parse(read + used, chunk - used, used, message) == ParseStatus::Error);
            check(used == at_error);
            char* next = bytes.data() + split;
            size_t next_used = 0;
            check(parser.parse(next, bytes.size() - split, next_used, message) == ParseStatus::Error);
            check(next_used == 0);
            check(!parser.idle());
            return 0;
        }
        offset += chunk;
    }
    return 0;
}
