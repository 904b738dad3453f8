#pragma once
/// RFC 6455 §7.4 close status codes, named as in SPEC §5, and the rule for
/// which codes a peer may send us. Pure; any thread.

#include <cstdint>

namespace wsgw::transport {

/// Close status codes the gateway sends or reports (RFC 6455 §7.4.1).
enum class CloseCode : uint16_t
{
    Normal = 1000,
    GoingAway = 1001,
    ProtocolError = 1002,
    UnsupportedData = 1003,
    NoStatus = 1005, ///< never on the wire: "the close frame had no code"
    Abnormal = 1006, ///< never on the wire: "closed without a close frame"
    InvalidPayload = 1007,
    PolicyViolation = 1008,
    MessageTooBig = 1009,
    MandatoryExtension = 1010,
    InternalError = 1011,
    TryAgainLater = 1013, ///< the server is out of a shared resource (partial-message memory)
};

/// True if CODE may appear in a close frame received from a peer (RFC 6455 §7.4):
/// 1000-1003, 1007-1014 and the application/private range 3000-4999. False for
/// 1004 (reserved), 1005/1006/1015 (must not be sent), other codes below 3000
/// (unassigned IANA range) and 5000 and above.
constexpr bool isValidReceivedCloseCode(uint16_t code)
{
    if (code >= 1000 && code <= 1003)
    {
        return true;
    }
    if (code >= 1007 && code <= 1014)
    {
        return true;
    }
    return code >= 3000 && code <= 4999;
}

} // namespace wsgw::transport
