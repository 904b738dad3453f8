// libFuzzer target: the RFC 6455 frame parser on arbitrary client bytes, split
// at an input-chosen point so partial-frame paths are exercised too. Every
// message it returns must respect the limits it was given.

#include "transport/FrameParser.h"

#include <cstdint>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    if (size < 1)
        return 0;
    wsgw::transport::ParserLimits limits;
    limits.max_message_bytes = 4096;
    limits.max_fragments = 16;
    wsgw::transport::FrameParser parser(&limits);
    std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
    size_t split = bytes.empty() ? 0 : data[0] % (bytes.size() + 1);
    size_t chunks[2] = {split, bytes.size() - split};
    size_t offset = 0;
    for (size_t chunk : chunks)
    {
        size_t used = 0;
        while (used < chunk)
        {
            wsgw::transport::Message message{};
            auto status = parser.parse(bytes.data() + offset, chunk, used, message);
            if (status == wsgw::transport::ParseStatus::Error)
                return 0;
            if (status == wsgw::transport::ParseStatus::NeedMore)
                break;
            if (message.payload.size() > limits.max_message_bytes)
                std::abort();
        }
        offset += chunk;
    }
    return 0;
}
