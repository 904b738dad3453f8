#pragma once
/// Pure helpers for the RFC 6455 §4.2 opening handshake: the Sec-WebSocket-Accept
/// value, Sec-WebSocket-Key validation, and token lists such as
/// "Connection: keep-alive, Upgrade". No I/O; any thread.

#include <string>
#include <string_view>

namespace wsgw::transport {

/// The Sec-WebSocket-Accept value for CLIENT_KEY (RFC 6455 §4.2.2):
/// base64(SHA-1(CLIENT_KEY + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")).
/// CLIENT_KEY is used exactly as given (the HTTP parser has already stripped OWS).
std::string computeAccept(std::string_view client_key);

/// True if KEY is base64 text that decodes to exactly 16 bytes (RFC 6455 §4.1):
/// 22 base64 characters then "==". Like most servers it does not insist that the
/// unused low bits of the last character are zero.
bool isValidClientKey(std::string_view key);

/// True if HEADER_VALUE, a comma-separated list (RFC 7230 §7), contains TOKEN,
/// compared case-insensitively, ignoring spaces and tabs around each element
/// and empty elements. False for an empty TOKEN.
bool headerHasToken(std::string_view header_value, std::string_view token);

} // namespace wsgw::transport
