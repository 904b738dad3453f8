#pragma once
/// Who a member is by JWT (SPEC §6): checks a compact JWS against the one
/// configured key and algorithm, then its claims against the member id and a
/// wall clock given by the caller. Pure apart from reading the key file at
/// construction; verify() is const and may be called from any thread.

#include "config/Settings.h"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace Poco::JWT {
class Signer;
}

namespace wsgw::auth {

enum class JwtAlgorithm
{
    HS256, ///< HMAC-SHA256 with auth.jwt_secret
    RS256, ///< RSA PKCS#1 v1.5 with SHA-256, auth.jwt_public_key an RSA key
    ES256, ///< ECDSA P-256 with SHA-256 (raw r||s signature), auth.jwt_public_key an EC P-256 key
};

/// "HS256", "RS256" or "ES256": the JOSE name, as in a token's alg header.
const std::string& algorithmName(JwtAlgorithm algorithm);

/// The claim checks besides the signature (SPEC §6).
struct JwtRules
{
    bool require_exp = true;
    int64_t leeway_ms = 5000;
    std::string audience; ///< empty = aud not checked
    std::string issuer;   ///< empty = iss not checked
};

/// Why a token was refused; Valid when it was not. Never thrown.
enum class JwtStatus
{
    Valid,
    Malformed,      ///< not three base64url parts of JSON objects, or a claim of the wrong type
    WrongAlgorithm, ///< header alg is not the configured one (none, or HS256 against a public key)
    BadSignature,
    WrongSubject,   ///< sub absent or not the member id
    MissingExpiry,  ///< no exp while auth.jwt_require_exp = true
    Expired,        ///< exp + leeway <= now
    NotYetValid,    ///< nbf - leeway > now
    IssuedInFuture, ///< iat - leeway > now
    WrongAudience,
    WrongIssuer,
    BadApps, ///< apps is not an array of valid app names
};

/// A short English reason for logs.
const char* describe(JwtStatus status);

struct JwtResult
{
    JwtStatus status = JwtStatus::Malformed;
    /// The first Unix millisecond (wall clock) at which the token no longer logs
    /// in: exp + leeway. 0 when the token has no exp.
    int64_t expires_at_ms = 0;
    std::vector<std::string> apps; ///< the apps claim, sorted, without duplicates; empty when absent
};

class JwtVerifier
{
public:
    /// HS256 with SECRET (not empty).
    static std::unique_ptr<JwtVerifier> withSecret(const std::string& secret, JwtRules rules);
    /// RS256 or ES256, chosen by the key in the PEM file PATH (RSA, or EC on P-256).
    /// Throws config::Error naming auth.jwt_public_key when the file is unreadable,
    /// not a public key, or of another type or curve.
    static std::unique_ptr<JwtVerifier> withPublicKey(const std::string& path, JwtRules rules);
    /// The verifier the settings configure, or null when JWT is off (both keys
    /// empty). Throws config::Error when both are set or the key file is bad. Startup only.
    static std::unique_ptr<JwtVerifier> fromSettings(const config::Settings& settings);

    ~JwtVerifier();
    JwtVerifier(const JwtVerifier&) = delete;
    JwtVerifier& operator=(const JwtVerifier&) = delete;

    /// SPEC §6: whether TOKEN logs in MEMBER_ID at NOW_MS (Unix milliseconds).
    /// Never throws; any thread. Cost: one signature check (HS256 ≈ 1 µs,
    /// ES256/RS256 tens of µs) and a small JSON parse.
    JwtResult verify(std::string_view token, int64_t member_id, int64_t now_ms) const;

    JwtAlgorithm algorithm() const noexcept { return algorithm_; }

private:
    struct HmacKey; ///< HS256: the secret, keyed into OpenSSL once

    JwtVerifier(JwtAlgorithm algorithm, std::unique_ptr<Poco::JWT::Signer> signer, JwtRules rules,
                const std::string& secret = {});

    bool hs256Matches(std::string_view signed_part, std::string_view signature) const;

    JwtAlgorithm algorithm_;
    std::unique_ptr<Poco::JWT::Signer> signer_; ///< RS256/ES256 signature checks; null for HS256
    JwtRules rules_;
    std::unique_ptr<HmacKey> hmac_; ///< HS256 only: checked here, in constant time
};

/// Unix milliseconds now (the wall clock that exp, nbf and iat refer to).
int64_t wallClockMs();

} // namespace wsgw::auth
