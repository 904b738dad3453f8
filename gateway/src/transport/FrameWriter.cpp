#include "transport/FrameWriter.h"

namespace wsgw::transport {

namespace {

constexpr uint8_t kFinBit = 0x80;
constexpr uint8_t kMaskBit = 0x80;

/// Writes the length field (with MASK_FLAG in the second byte) after FIRST_BYTE;
/// returns the bytes written (2, 4 or 10).
size_t writeHeader(char* out, uint8_t first_byte, uint8_t mask_flag, size_t payload_size)
{
    out[0] = static_cast<char>(first_byte);
    if (payload_size <= 125)
    {
        out[1] = static_cast<char>(mask_flag | payload_size);
        return 2;
    }
    if (payload_size <= 0xFFFF)
    {
        out[1] = static_cast<char>(mask_flag | 126);
        out[2] = static_cast<char>(payload_size >> 8);
        out[3] = static_cast<char>(payload_size & 0xFF);
        return 4;
    }
    out[1] = static_cast<char>(mask_flag | 127);
    const auto length = static_cast<uint64_t>(payload_size);
    for (int i = 0; i < 8; ++i)
    {
        out[2 + i] = static_cast<char>((length >> (56 - 8 * i)) & 0xFF);
    }
    return 10;
}

/// Length of the longest prefix of TEXT of at most MAX_BYTES that does not end
/// inside a UTF-8 sequence (backs up over continuation bytes 10xxxxxx).
size_t utf8Prefix(std::string_view text, size_t max_bytes)
{
    if (text.size() <= max_bytes)
    {
        return text.size();
    }
    size_t cut = max_bytes;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80)
    {
        --cut;
    }
    return cut;
}

} // namespace

size_t frameHeaderSize(size_t payload_size)
{
    if (payload_size <= 125)
    {
        return 2;
    }
    return payload_size <= 0xFFFF ? 4 : 10;
}

size_t writeFrameHeader(char* out, Opcode opcode, size_t payload_size)
{
    return writeHeader(out, kFinBit | static_cast<uint8_t>(opcode), 0, payload_size);
}

std::string makeFrame(Opcode opcode, std::string_view payload)
{
    char header[kMaxServerFrameHeader];
    const size_t header_size = writeFrameHeader(header, opcode, payload.size());
    std::string frame;
    frame.reserve(header_size + payload.size());
    frame.append(header, header_size);
    frame.append(payload);
    return frame;
}

std::string makeCloseFrame(CloseCode code, std::string_view reason)
{
    if (code == CloseCode::NoStatus || code == CloseCode::Abnormal)
    {
        return makeFrame(Opcode::Close, {});
    }
    const auto value = static_cast<uint16_t>(code);
    std::string payload;
    payload.reserve(kMaxControlPayload);
    payload.push_back(static_cast<char>(value >> 8));
    payload.push_back(static_cast<char>(value & 0xFF));
    payload.append(reason.substr(0, utf8Prefix(reason, kMaxControlPayload - 2)));
    return makeFrame(Opcode::Close, payload);
}

std::string makeClientFrame(Opcode opcode, std::string_view payload, uint32_t mask_key, bool fin, uint8_t rsv)
{
    const auto first_byte =
        static_cast<uint8_t>((fin ? kFinBit : 0) | ((rsv & 0x07) << 4) | (static_cast<uint8_t>(opcode) & 0x0F));
    char header[kMaxServerFrameHeader];
    const size_t header_size = writeHeader(header, first_byte, kMaskBit, payload.size());
    const char key[4] = {static_cast<char>(mask_key >> 24), static_cast<char>((mask_key >> 16) & 0xFF),
                         static_cast<char>((mask_key >> 8) & 0xFF), static_cast<char>(mask_key & 0xFF)};
    std::string frame;
    frame.reserve(header_size + 4 + payload.size());
    frame.append(header, header_size);
    frame.append(key, 4);
    for (size_t i = 0; i < payload.size(); ++i)
    {
        frame.push_back(static_cast<char>(payload[i] ^ key[i & 3]));
    }
    return frame;
}

} // namespace wsgw::transport
