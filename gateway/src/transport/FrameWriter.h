#pragma once
/// Builds RFC 6455 frames: unmasked server->client frames for the gateway, and
/// masked client->server frames (well-formed or deliberately broken) for tests
/// and the benchmark client. Pure; any thread.

#include "transport/CloseCode.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace wsgw::transport {

/// Frame opcodes (RFC 6455 §5.2). Tests may cast other values (3-7, 0xB-0xF) to
/// build frames with reserved opcodes.
enum class Opcode : uint8_t
{
    Continuation = 0,
    Text = 1,
    Binary = 2,
    Close = 8,
    Ping = 9,
    Pong = 10,
};

/// Largest header writeFrameHeader() writes (2 + 8-byte length; server frames are unmasked).
inline constexpr size_t kMaxServerFrameHeader = 10;

/// Largest payload of a control frame (RFC 6455 §5.5).
inline constexpr size_t kMaxControlPayload = 125;

/// Bytes of the header of an unmasked frame carrying PAYLOAD_SIZE bytes: 2, 4 or 10
/// (minimal length encoding, RFC 6455 §5.2).
size_t frameHeaderSize(size_t payload_size);

/// Writes the header of a final (FIN set), unmasked frame with OPCODE and
/// PAYLOAD_SIZE to OUT, which must have room for kMaxServerFrameHeader bytes.
/// Returns the header length, frameHeaderSize(PAYLOAD_SIZE).
size_t writeFrameHeader(char* out, Opcode opcode, size_t payload_size);

/// A complete final, unmasked frame: header then PAYLOAD. The caller keeps control
/// payloads within kMaxControlPayload and text payloads valid UTF-8.
std::string makeFrame(Opcode opcode, std::string_view payload);

/// A close frame with CODE (big-endian) and REASON, the reason cut to at most
/// 123 bytes at a UTF-8 code point boundary so the payload fits a control frame.
/// NoStatus and Abnormal must never be sent (RFC 6455 §7.4.1): for them the frame
/// has an empty payload and REASON is ignored.
std::string makeCloseFrame(CloseCode code, std::string_view reason);

/// A client->server frame, masked with MASK_KEY (its bytes in big-endian order are
/// the 4-byte masking key on the wire). FIN and RSV (the three RSV1-3 bits as a
/// value 0-7, RSV1 the highest) allow building invalid frames; OPCODE is written
/// as its low four bits, and no limit is applied to the payload size, so control
/// frames over 125 bytes can be built too. For tests and the benchmark client.
std::string makeClientFrame(Opcode opcode, std::string_view payload, uint32_t mask_key, bool fin = true,
                            uint8_t rsv = 0);

} // namespace wsgw::transport
