#include "auth/JwtVerifier.h"

#include "auth/AppsClaim.h"
#include "model/Names.h"

#include <Poco/Base64Decoder.h>
#include <Poco/Base64Encoder.h>
#include <Poco/Crypto/ECKey.h>
#include <Poco/Crypto/EVPPKey.h>
#include <Poco/Crypto/RSAKey.h>
#include <Poco/Exception.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JWT/Signer.h>
#include <Poco/JWT/Token.h>
#include <Poco/MemoryStream.h>
#include <Poco/Timestamp.h>

#include <algorithm>
#include <cmath>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <optional>

namespace wsgw::auth {

namespace {

/// HS256 over SIGNED ("header.payload" as received) against the base64url
/// SIGNATURE, compared in constant time. Poco's HMAC check compares with
/// operator==, which returns at the first differing byte: a timing oracle.
bool hs256Matches(const std::string& secret, std::string_view signed_part, std::string_view signature)
{
    std::string expected(EVP_MAX_MD_SIZE, '\0');
    unsigned int size = 0;
    if (!HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
              reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size(),
              reinterpret_cast<unsigned char*>(expected.data()), &size))
        return false;
    expected.resize(size);
    Poco::MemoryInputStream in(signature.data(), signature.size());
    Poco::Base64Decoder decoder(in, Poco::BASE64_URL_ENCODING | Poco::BASE64_NO_PADDING);
    std::string given;
    for (int ch = decoder.get(); ch != -1 && given.size() <= size; ch = decoder.get())
        given.push_back(static_cast<char>(ch));
    return given.size() == size && CRYPTO_memcmp(given.data(), expected.data(), size) == 0;
}

/// A NumericDate claim (RFC 7519 §2: seconds, possibly fractional) in
/// milliseconds; nullopt when absent. Throws Poco::Exception when it is not a number.
std::optional<double> numericDateMs(const Poco::JSON::Object& payload, const std::string& claim)
{
    if (!payload.has(claim))
        return std::nullopt;
    const auto value = payload.get(claim);
    if (!value.isNumeric())
        throw Poco::DataFormatException(claim + " is not a number");
    double seconds = value.convert<double>();
    if (!std::isfinite(seconds))
        throw Poco::DataFormatException(claim + " is not finite");
    return seconds * 1000.0;
}

bool subjectIs(const Poco::JSON::Object& payload, int64_t member_id)
{
    if (!payload.has("sub"))
        return false;
    const auto value = payload.get("sub");
    // SPEC §6: a decimal string ("42") or a JSON number (42); nothing looser.
    if (value.isString())
        return model::parseMemberId(value.extract<std::string>()) == member_id;
    if (value.isInteger() && !value.isBoolean())
        return value.convert<Poco::Int64>() == member_id;
    return false;
}

bool audienceHas(const Poco::JSON::Object& payload, const std::string& audience)
{
    if (!payload.has("aud"))
        return false;
    const auto value = payload.get("aud");
    if (value.isString())
        return value.extract<std::string>() == audience;
    auto array = payload.getArray("aud");
    if (!array)
        return false;
    for (size_t i = 0; i < array->size(); ++i)
    {
        const auto item = array->get(static_cast<unsigned>(i));
        if (item.isString() && item.extract<std::string>() == audience)
            return true;
    }
    return false;
}

} // namespace

const std::string& algorithmName(JwtAlgorithm algorithm)
{
    switch (algorithm)
    {
    case JwtAlgorithm::HS256:
        return Poco::JWT::Signer::ALGO_HS256;
    case JwtAlgorithm::RS256:
        return Poco::JWT::Signer::ALGO_RS256;
    case JwtAlgorithm::ES256:
        return Poco::JWT::Signer::ALGO_ES256;
    }
    return Poco::JWT::Signer::ALGO_NONE;
}

const char* describe(JwtStatus status)
{
    switch (status)
    {
    case JwtStatus::Valid:
        return "valid";
    case JwtStatus::Malformed:
        return "malformed token";
    case JwtStatus::WrongAlgorithm:
        return "algorithm not the configured one";
    case JwtStatus::BadSignature:
        return "bad signature";
    case JwtStatus::WrongSubject:
        return "sub is not the member id";
    case JwtStatus::MissingExpiry:
        return "no exp";
    case JwtStatus::Expired:
        return "expired";
    case JwtStatus::NotYetValid:
        return "not valid yet (nbf)";
    case JwtStatus::IssuedInFuture:
        return "issued in the future (iat)";
    case JwtStatus::WrongAudience:
        return "aud does not name this gateway";
    case JwtStatus::WrongIssuer:
        return "iss is not the configured issuer";
    case JwtStatus::BadApps:
        return "apps is not an array of app names";
    }
    return "unknown";
}

JwtVerifier::JwtVerifier(JwtAlgorithm algorithm, std::unique_ptr<Poco::JWT::Signer> signer, JwtRules rules,
                         std::string secret)
    : algorithm_(algorithm), signer_(std::move(signer)), rules_(std::move(rules)), secret_(std::move(secret))
{
    // Poco's verify refuses any algorithm not in this set; we pin it ourselves
    // as well (verify()), so the set only ever holds the configured one.
    signer_->setAlgorithms({algorithmName(algorithm_)});
}

JwtVerifier::~JwtVerifier() = default;

std::unique_ptr<JwtVerifier> JwtVerifier::withSecret(const std::string& secret, JwtRules rules)
{
    if (secret.empty())
        throw config::Error("auth.jwt_secret: must not be empty for HS256");
    return std::unique_ptr<JwtVerifier>(
        new JwtVerifier(JwtAlgorithm::HS256, std::make_unique<Poco::JWT::Signer>(secret), std::move(rules), secret));
}

std::unique_ptr<JwtVerifier> JwtVerifier::withPublicKey(const std::string& path, JwtRules rules)
{
    const std::string where = "auth.jwt_public_key: '" + path + "'";
    // Read with OpenSSL itself: Poco 1.11's EVPPKey(file) leaks its key object
    // when the file is not a public key (LeakSanitizer in the bad-key test).
    std::unique_ptr<BIO, decltype(&BIO_free)> file(BIO_new_file(path.c_str(), "r"), &BIO_free);
    if (!file)
    {
        ERR_clear_error();
        throw config::Error(where + ": cannot read a PEM public key (the file cannot be opened)");
    }
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> raw(PEM_read_bio_PUBKEY(file.get(), nullptr, nullptr, nullptr),
                                                            &EVP_PKEY_free);
    if (!raw)
    {
        ERR_clear_error();
        throw config::Error(where + ": cannot read a PEM public key (not a PEM \"PUBLIC KEY\")");
    }
    // Only RSA and EC keys go on to Poco (whose copy of other key types leaks).
    const int type = EVP_PKEY_base_id(raw.get());
    if (type != EVP_PKEY_RSA && type != EVP_PKEY_EC)
        throw config::Error(where + ": neither an RSA nor an EC public key (RS256 or ES256)");
    try
    {
        Poco::Crypto::EVPPKey key(raw.get()); // duplicates it
        switch (key.type())
        {
        case EVP_PKEY_RSA:
        {
            Poco::SharedPtr<Poco::Crypto::RSAKey> rsa(new Poco::Crypto::RSAKey(key));
            return std::unique_ptr<JwtVerifier>(
                new JwtVerifier(JwtAlgorithm::RS256, std::make_unique<Poco::JWT::Signer>(rsa), std::move(rules)));
        }
        case EVP_PKEY_EC:
        {
            Poco::SharedPtr<Poco::Crypto::ECKey> ec(new Poco::Crypto::ECKey(key));
            const auto curve = ec->impl()->groupName();
            // ES256 is P-256 only (RFC 7518 §3.4); another curve would verify nothing.
            if (curve != "prime256v1")
                throw config::Error(where + ": an EC key on " + curve + "; ES256 needs P-256 (prime256v1)");
            return std::unique_ptr<JwtVerifier>(
                new JwtVerifier(JwtAlgorithm::ES256, std::make_unique<Poco::JWT::Signer>(ec), std::move(rules)));
        }
        default:
            throw config::Error(where + ": neither an RSA nor an EC public key (RS256 or ES256)");
        }
    }
    catch (const Poco::Exception& e)
    {
        throw config::Error(where + ": cannot read a PEM public key (" + e.displayText() + ")");
    }
}

std::unique_ptr<JwtVerifier> JwtVerifier::fromSettings(const config::Settings& settings)
{
    JwtRules rules;
    rules.require_exp = settings.jwt_require_exp;
    rules.leeway_ms = settings.jwt_leeway.count();
    rules.audience = settings.jwt_audience;
    rules.issuer = settings.jwt_issuer;
    const bool secret = !settings.jwt_secret.empty();
    const bool key = !settings.jwt_public_key.empty();
    if (secret && key)
        throw config::Error("auth.jwt_secret and auth.jwt_public_key are both set: choose HS256 (the secret) or "
                            "RS256/ES256 (the public key), not both");
    if (secret)
        return withSecret(settings.jwt_secret, std::move(rules));
    if (key)
        return withPublicKey(settings.jwt_public_key, std::move(rules));
    return nullptr;
}

JwtResult JwtVerifier::verify(std::string_view token, int64_t member_id, int64_t now_ms) const
{
    JwtResult result;
    try
    {
        // Compact JWS (RFC 7515 §7.1): exactly three parts. Poco ignores a fourth.
        const auto first_dot = token.find('.');
        const auto last_dot = token.rfind('.');
        if (first_dot == std::string_view::npos || first_dot == last_dot || token.find('.', first_dot + 1) != last_dot)
            return result;
        const std::string jwt(token);
        // Pin the algorithm before any key is used: "none" and, with a public
        // key configured, HS256 (key confusion: the public key as an HMAC
        // secret) never reach a signature check.
        Poco::JWT::Token unverified(jwt);
        if (!unverified.header().has("alg") || !unverified.header().get("alg").isString() ||
            unverified.getAlgorithm() != algorithmName(algorithm_))
        {
            result.status = JwtStatus::WrongAlgorithm;
            return result;
        }
        if (algorithm_ == JwtAlgorithm::HS256
                ? !hs256Matches(secret_, token.substr(0, last_dot), token.substr(last_dot + 1))
                : !signer_->tryVerify(jwt, unverified))
        {
            result.status = JwtStatus::BadSignature;
            return result;
        }
        const auto& verified = unverified;
        const auto& payload = verified.payload();
        if (!subjectIs(payload, member_id))
        {
            result.status = JwtStatus::WrongSubject;
            return result;
        }
        const double now = static_cast<double>(now_ms);
        const double leeway = static_cast<double>(rules_.leeway_ms);
        const auto exp = numericDateMs(payload, "exp");
        const auto nbf = numericDateMs(payload, "nbf");
        const auto iat = numericDateMs(payload, "iat");
        if (!exp && rules_.require_exp)
            result.status = JwtStatus::MissingExpiry;
        else if (exp && now >= *exp + leeway)
            result.status = JwtStatus::Expired; // RFC 7519 §4.1.4: valid only before exp
        else if (nbf && now < *nbf - leeway)
            result.status = JwtStatus::NotYetValid;
        else if (iat && now < *iat - leeway)
            result.status = JwtStatus::IssuedInFuture;
        else if (!rules_.audience.empty() && !audienceHas(payload, rules_.audience))
            result.status = JwtStatus::WrongAudience;
        else if (!rules_.issuer.empty() &&
                 (!payload.has("iss") || !payload.get("iss").isString() || verified.getIssuer() != rules_.issuer))
            result.status = JwtStatus::WrongIssuer;
        else if (auto apps = appsClaim(payload); !apps)
            result.status = JwtStatus::BadApps;
        else
        {
            result.status = JwtStatus::Valid;
            result.apps = std::move(*apps);
            // The first millisecond at which the token no longer logs in; kept
            // within int64 for dates past year 292 million.
            if (exp)
                result.expires_at_ms = static_cast<int64_t>(std::clamp(std::ceil(*exp + leeway), 1.0, 9.0e18));
        }
        if (result.status != JwtStatus::Valid)
            result.apps.clear();
        return result;
    }
    catch (const Poco::Exception&)
    {
        // Untrusted input (SPEC §5): garbage is a refusal, never an error.
        result.status = JwtStatus::Malformed;
        return result;
    }
    catch (const std::exception&)
    {
        result.status = JwtStatus::Malformed;
        return result;
    }
}

int64_t wallClockMs()
{
    return Poco::Timestamp().epochMicroseconds() / 1000;
}

} // namespace wsgw::auth
