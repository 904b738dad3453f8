#pragma once
/// Secrets (member tokens, push keys): generation from the kernel CSPRNG, SHA-256
/// hashing, constant-time comparison. Only hashes are ever stored. Any thread.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace wsgw::store {

using Digest = std::array<uint8_t, 32>;

/// A new random secret: 32 bytes (256 bits) from getrandom(2), base64url without
/// padding (43 characters of [A-Za-z0-9_-]). Throws std::system_error if the
/// kernel cannot supply randomness.
std::string generateSecret();

/// SHA-256 of TEXT.
Digest sha256(std::string_view text);

/// Lower-case hex of a digest (64 characters), as stored in the database.
std::string toHex(const Digest& digest);

/// Parses 64 hex characters; nullopt for anything else.
std::optional<Digest> digestFromHex(std::string_view hex);

/// Compares two digests in time independent of where they differ.
bool constantTimeEquals(const Digest& a, const Digest& b);

/// Secrets shorter than this get a warning when a user supplies their own.
inline constexpr size_t kRecommendedSecretLength = 16;

} // namespace wsgw::store
