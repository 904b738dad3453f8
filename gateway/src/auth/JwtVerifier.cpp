#include "auth/JwtVerifier.h"

#include "auth/AppsClaim.h"
#include "model/Names.h"
#include "protocol/FlatJson.h"

#include <Poco/Crypto/ECKey.h>
#include <Poco/Crypto/EVPPKey.h>
#include <Poco/Crypto/RSAKey.h>
#include <Poco/Exception.h>
#include <Poco/JWT/Signer.h>
#include <Poco/JWT/Token.h>
#include <Poco/Timestamp.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <optional>

namespace wsgw::auth {

namespace {

using protocol::FlatJson;
using protocol::JsonField;

/// RFC 7515 §2 base64url without padding, strictly: nullopt for any other
/// character (padding, whitespace, the standard alphabet's + and /) and for a
/// length no encoding produces. Decoded by OpenSSL after mapping the alphabet.
std::optional<std::string> base64UrlDecode(std::string_view text)
{
    if (text.size() % 4 == 1)
        return std::nullopt;
    std::string standard;
    standard.reserve(text.size() + 3);
    for (char c : text)
    {
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
            standard.push_back(c);
        else if (c == '-')
            standard.push_back('+');
        else if (c == '_')
            standard.push_back('/');
        else
            return std::nullopt;
    }
    const size_t padding = (4 - standard.size() % 4) % 4;
    standard.append(padding, '=');
    std::string bytes(standard.size() / 4 * 3, '\0');
    const int size =
        EVP_DecodeBlock(reinterpret_cast<unsigned char*>(bytes.data()),
                        reinterpret_cast<const unsigned char*>(standard.data()), static_cast<int>(standard.size()));
    if (size < 0 || static_cast<size_t>(size) < padding)
        return std::nullopt;
    bytes.resize(static_cast<size_t>(size) - padding); // OpenSSL counts the padding as zero bytes
    return bytes;
}

/// The claims verify() looks at, read from the payload in one pass.
enum Claim : size_t
{
    kSub,
    kExp,
    kNbf,
    kIat,
    kAud,
    kIss,
    kApps,
    kClaims
};

/// A NumericDate claim (RFC 7519 §2: seconds, possibly fractional) in
/// milliseconds: nullopt when absent, false in OK when it is not a finite number.
std::optional<double> numericDateMs(const JsonField& claim, bool& ok)
{
    switch (claim.type)
    {
    case JsonField::Type::Absent:
        return std::nullopt;
    case JsonField::Type::Integer:
        return static_cast<double>(claim.integer) * 1000.0;
    case JsonField::Type::Number:
    {
        double seconds = 0;
        auto [end, ec] = std::from_chars(claim.raw.data(), claim.raw.data() + claim.raw.size(), seconds);
        if (ec == std::errc() && end == claim.raw.data() + claim.raw.size() && std::isfinite(seconds))
            return seconds * 1000.0;
        break;
    }
    default:
        break;
    }
    ok = false;
    return std::nullopt;
}

bool subjectIs(const JsonField& sub, int64_t member_id)
{
    // SPEC §6: a decimal string ("42") or a JSON integer (42); nothing looser.
    if (sub.type == JsonField::Type::String)
        return model::parseMemberId(sub.string) == member_id;
    return sub.type == JsonField::Type::Integer && sub.integer == member_id;
}

bool audienceHas(const JsonField& aud, const std::string& audience)
{
    if (aud.type == JsonField::Type::String)
        return aud.string == audience;
    if (aud.type != JsonField::Type::Array)
        return false;
    FlatJson array(aud.raw);
    if (!array.enterArray())
        return false;
    JsonField item("");
    while (array.nextElement())
    {
        if (!array.readValue(item))
            return false;
        if (item.type == JsonField::Type::String && item.string == audience)
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

/// An HMAC-SHA256 context keyed with the secret at start: each check
/// duplicates it instead of fetching SHA-256 and keying anew (half the cost
/// of OpenSSL's one-shot HMAC()). The template is only read, from any thread.
struct JwtVerifier::HmacKey
{
    explicit HmacKey(const std::string& secret)
    {
        EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
        if (mac)
        {
            context = EVP_MAC_CTX_new(mac);
            EVP_MAC_free(mac);
        }
        char digest[] = "SHA256";
        const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                                     OSSL_PARAM_construct_end()};
        if (!context ||
            !EVP_MAC_init(context, reinterpret_cast<const unsigned char*>(secret.data()), secret.size(), params))
        {
            EVP_MAC_CTX_free(context);
            ERR_clear_error();
            throw config::Error("auth.jwt_secret: OpenSSL cannot set up HMAC-SHA256");
        }
    }
    ~HmacKey() { EVP_MAC_CTX_free(context); }
    HmacKey(const HmacKey&) = delete;
    HmacKey& operator=(const HmacKey&) = delete;

    EVP_MAC_CTX* context = nullptr;
};

JwtVerifier::JwtVerifier(JwtAlgorithm algorithm, std::unique_ptr<Poco::JWT::Signer> signer, JwtRules rules,
                         const std::string& secret)
    : algorithm_(algorithm), signer_(std::move(signer)), rules_(std::move(rules))
{
    if (algorithm_ == JwtAlgorithm::HS256)
        hmac_ = std::make_unique<HmacKey>(secret);
    // Poco's verify refuses any algorithm not in this set; we pin it ourselves
    // as well (verify()), so the set only ever holds the configured one.
    if (signer_)
        signer_->setAlgorithms({algorithmName(algorithm_)});
}

JwtVerifier::~JwtVerifier() = default;

/// HS256 over SIGNED ("header.payload" as received) against the base64url
/// SIGNATURE, compared in constant time (Poco's HMAC check compares with
/// operator==, which returns at the first differing byte: a timing oracle).
bool JwtVerifier::hs256Matches(std::string_view signed_part, std::string_view signature) const
{
    std::unique_ptr<EVP_MAC_CTX, decltype(&EVP_MAC_CTX_free)> context(EVP_MAC_CTX_dup(hmac_->context),
                                                                      &EVP_MAC_CTX_free);
    unsigned char expected[EVP_MAX_MD_SIZE];
    size_t size = 0;
    if (!context ||
        !EVP_MAC_update(context.get(), reinterpret_cast<const unsigned char*>(signed_part.data()),
                        signed_part.size()) ||
        !EVP_MAC_final(context.get(), expected, &size, sizeof expected))
    {
        ERR_clear_error();
        return false;
    }
    const auto given = base64UrlDecode(signature);
    return given && given->size() == size && CRYPTO_memcmp(given->data(), expected, size) == 0;
}

std::unique_ptr<JwtVerifier> JwtVerifier::withSecret(const std::string& secret, JwtRules rules)
{
    if (secret.empty())
        throw config::Error("auth.jwt_secret: must not be empty for HS256");
    return std::unique_ptr<JwtVerifier>(new JwtVerifier(JwtAlgorithm::HS256, nullptr, std::move(rules), secret));
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
    // Compact JWS (RFC 7515 §7.1): exactly three parts, the first two
    // base64url JSON objects. Read with our own strict reader: it costs a
    // fraction of Poco::JWT::Token's stream decoding and two JSON trees.
    const auto first_dot = token.find('.');
    const auto last_dot = token.rfind('.');
    if (first_dot == std::string_view::npos || first_dot == last_dot || token.find('.', first_dot + 1) != last_dot)
        return result;
    const auto header = base64UrlDecode(token.substr(0, first_dot));
    const auto payload = base64UrlDecode(token.substr(first_dot + 1, last_dot - first_dot - 1));
    if (!header || !payload)
        return result;
    std::array<JsonField, 2> header_fields{JsonField("alg"), JsonField("crit")};
    FlatJson header_json(*header);
    if (!header_json.readObject(header_fields) || !header_json.atEnd())
        return result;
    std::array<JsonField, kClaims> claims{JsonField("sub"), JsonField("exp"), JsonField("nbf"), JsonField("iat"),
                                          JsonField("aud"), JsonField("iss"), JsonField("apps")};
    FlatJson payload_json(*payload);
    if (!payload_json.readObject(claims) || !payload_json.atEnd())
        return result;
    // Pin the algorithm before any key is used: "none" and, with a public
    // key configured, HS256 (key confusion: the public key as an HMAC
    // secret) never reach a signature check. RFC 7515 §4.1.11: we know no
    // extension, so a token that marks one critical is refused.
    const auto& alg = header_fields[0];
    if (alg.type != JsonField::Type::String || alg.string != algorithmName(algorithm_) ||
        header_fields[1].type != JsonField::Type::Absent)
    {
        result.status = JwtStatus::WrongAlgorithm;
        return result;
    }
    if (algorithm_ == JwtAlgorithm::HS256)
    {
        if (!hs256Matches(token.substr(0, last_dot), token.substr(last_dot + 1)))
        {
            result.status = JwtStatus::BadSignature;
            return result;
        }
    }
    else
    {
        // RS256/ES256: Poco's signer checks the signature (its cost dwarfs a second parse).
        try
        {
            Poco::JWT::Token parsed;
            if (!signer_->tryVerify(std::string(token), parsed))
            {
                result.status = JwtStatus::BadSignature;
                return result;
            }
        }
        catch (const std::exception&)
        {
            result.status = JwtStatus::BadSignature;
            return result;
        }
    }
    if (!subjectIs(claims[kSub], member_id))
    {
        result.status = JwtStatus::WrongSubject;
        return result;
    }
    bool numbers = true;
    const auto exp = numericDateMs(claims[kExp], numbers);
    const auto nbf = numericDateMs(claims[kNbf], numbers);
    const auto iat = numericDateMs(claims[kIat], numbers);
    if (!numbers)
        return result; // Malformed: a date that is not a number
    const double now = static_cast<double>(now_ms);
    const double leeway = static_cast<double>(rules_.leeway_ms);
    if (!exp && rules_.require_exp)
        result.status = JwtStatus::MissingExpiry;
    else if (exp && now >= *exp + leeway)
        result.status = JwtStatus::Expired; // RFC 7519 §4.1.4: valid only before exp
    else if (nbf && now < *nbf - leeway)
        result.status = JwtStatus::NotYetValid;
    else if (iat && now < *iat - leeway)
        result.status = JwtStatus::IssuedInFuture;
    else if (!rules_.audience.empty() && !audienceHas(claims[kAud], rules_.audience))
        result.status = JwtStatus::WrongAudience;
    else if (!rules_.issuer.empty() &&
             (claims[kIss].type != JsonField::Type::String || claims[kIss].string != rules_.issuer))
        result.status = JwtStatus::WrongIssuer;
    else if (auto apps = appsClaim(claims[kApps]); !apps)
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
    return result;
}

int64_t wallClockMs()
{
    return Poco::Timestamp().epochMicroseconds() / 1000;
}

} // namespace wsgw::auth
