// JwtVerifier (SPEC §6): signature, algorithm pinning, claims against a given
// clock, and keys made by the openssl CLI.

#include "auth/JwtVerifier.h"

#include "support/TempDir.h"

#include <Poco/Base64Encoder.h>
#include <Poco/Crypto/ECKey.h>
#include <Poco/Crypto/RSAKey.h>
#include <Poco/JSON/Object.h>
#include <Poco/JWT/Signer.h>
#include <Poco/JWT/Token.h>
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sstream>
#include <string>

using wsgw::auth::JwtAlgorithm;
using wsgw::auth::JwtRules;
using wsgw::auth::JwtStatus;
using wsgw::auth::JwtVerifier;
using wsgw::test::TempDir;

namespace {

constexpr int64_t kNow = 1'800'000'000'000; // Unix ms, a fixed clock
constexpr int64_t kNowS = kNow / 1000;
const std::string kSecret = "test-secret-0123456789abcdef";

std::string base64url(const std::string& bytes)
{
    std::ostringstream out;
    Poco::Base64Encoder encoder(out, Poco::BASE64_URL_ENCODING | Poco::BASE64_NO_PADDING);
    encoder.rdbuf()->setLineLength(0);
    encoder << bytes;
    encoder.close();
    return out.str();
}

/// A token with HEADER and PAYLOAD (JSON texts) signed HS256 with KEY by hand,
/// so the header can say anything.
std::string handSigned(const std::string& header, const std::string& payload, const std::string& key)
{
    std::string input = base64url(header) + "." + base64url(payload);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(input.data()),
         input.size(), digest, &size);
    return input + "." + base64url(std::string(reinterpret_cast<const char*>(digest), size));
}

std::string hs256(const std::string& payload, const std::string& key = kSecret)
{
    return handSigned(R"({"alg":"HS256","typ":"JWT"})", payload, key);
}

std::string claims(const std::string& extra = {})
{
    return R"({"sub":"42","exp":)" + std::to_string(kNowS + 60) + extra + "}";
}

std::unique_ptr<JwtVerifier> secretVerifier(JwtRules rules = {})
{
    return JwtVerifier::withSecret(kSecret, std::move(rules));
}

std::string run(const std::string& command)
{
    std::string out;
    FILE* pipe = ::popen(command.c_str(), "r");
    if (!pipe)
        return out;
    std::array<char, 4096> buffer{};
    size_t n = 0;
    while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0)
        out.append(buffer.data(), n);
    ::pclose(pipe);
    return out;
}

std::string readFile(const std::string& path)
{
    std::ifstream in(path);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void writeFile(const std::string& path, const std::string& text)
{
    std::ofstream(path) << text;
}

/// An openssl-made key pair in DIR: NAME.pem (private) and NAME.pub (public).
void makeKey(const TempDir& dir, const std::string& name, const std::string& genpkey_args)
{
    const auto pem = dir.file(name + ".pem");
    const auto pub = dir.file(name + ".pub");
    ASSERT_EQ(std::system(("openssl genpkey " + genpkey_args + " -out '" + pem + "' 2>/dev/null").c_str()), 0);
    ASSERT_EQ(std::system(("openssl pkey -in '" + pem + "' -pubout -out '" + pub + "' 2>/dev/null").c_str()), 0);
}

/// Signs with Poco and the private key in PEM (for RS256/ES256 round trips).
template <typename Key>
std::string pocoSigned(const std::string& pem, const std::string& algorithm, const std::string& subject, int64_t exp_s)
{
    Poco::SharedPtr<Key> key(new Key("", pem, ""));
    Poco::JWT::Signer signer(key);
    Poco::JWT::Token token;
    token.setSubject(subject);
    token.payload().set("exp", exp_s);
    return signer.sign(token, algorithm);
}

/// Two hex digits per byte to bytes; empty on odd input.
std::string fromHex(const std::string& hex)
{
    std::string bytes;
    for (size_t i = 0; i + 1 < hex.size(); i += 2)
        bytes.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    return bytes;
}

} // namespace

TEST(JwtVerifierTest, AcceptsValidTokenAndReportsExpiry)
{
    auto verifier = secretVerifier();
    auto result = verifier->verify(hs256(claims()), 42, kNow);
    EXPECT_EQ(result.status, JwtStatus::Valid);
    EXPECT_EQ(result.expires_at_ms, (kNowS + 60) * 1000 + 5000); // exp plus the default leeway
    EXPECT_TRUE(result.apps.empty());
    EXPECT_EQ(verifier->algorithm(), JwtAlgorithm::HS256);
}

TEST(JwtVerifierTest, SubjectMayBeANumber)
{
    auto payload = R"({"sub":42,"exp":)" + std::to_string(kNowS + 60) + "}";
    EXPECT_EQ(secretVerifier()->verify(hs256(payload), 42, kNow).status, JwtStatus::Valid);
}

TEST(JwtVerifierTest, RefusesWrongSignature)
{
    EXPECT_EQ(secretVerifier()->verify(hs256(claims(), "another secret"), 42, kNow).status, JwtStatus::BadSignature);
    auto token = hs256(claims());
    // The first signature character: the last one's low bits are only padding.
    auto& first = token[token.rfind('.') + 1];
    first = first == 'A' ? 'B' : 'A';
    EXPECT_EQ(secretVerifier()->verify(token, 42, kNow).status, JwtStatus::BadSignature);
}

TEST(JwtVerifierTest, RefusesAlgNone)
{
    // SPEC §6: never "none", signed or unsigned.
    auto unsigned_token = base64url(R"({"alg":"none"})") + "." + base64url(claims()) + ".";
    EXPECT_EQ(secretVerifier()->verify(unsigned_token, 42, kNow).status, JwtStatus::WrongAlgorithm);
    EXPECT_EQ(secretVerifier()->verify(handSigned(R"({"alg":"none"})", claims(), kSecret), 42, kNow).status,
              JwtStatus::WrongAlgorithm);
    EXPECT_EQ(secretVerifier()->verify(handSigned(R"({"typ":"JWT"})", claims(), kSecret), 42, kNow).status,
              JwtStatus::WrongAlgorithm);
    EXPECT_EQ(secretVerifier()->verify(handSigned(R"({"alg":"HS512"})", claims(), kSecret), 42, kNow).status,
              JwtStatus::WrongAlgorithm);
}

TEST(JwtVerifierTest, RefusesSubjectMismatch)
{
    auto verifier = secretVerifier();
    EXPECT_EQ(verifier->verify(hs256(claims()), 43, kNow).status, JwtStatus::WrongSubject);
    auto no_sub = R"({"exp":)" + std::to_string(kNowS + 60) + "}";
    EXPECT_EQ(verifier->verify(hs256(no_sub), 42, kNow).status, JwtStatus::WrongSubject);
    for (const char* sub : {R"("042")", R"(" 42")", R"("+42")", "42.5", "true", R"(["42"])"})
    {
        auto payload = std::string(R"({"sub":)") + sub + R"(,"exp":)" + std::to_string(kNowS + 60) + "}";
        EXPECT_EQ(verifier->verify(hs256(payload), 42, kNow).status, JwtStatus::WrongSubject) << sub;
    }
}

TEST(JwtVerifierTest, RefusesExpiredToken)
{
    auto payload = R"({"sub":"42","exp":)" + std::to_string(kNowS - 60) + "}";
    EXPECT_EQ(secretVerifier()->verify(hs256(payload), 42, kNow).status, JwtStatus::Expired);
}

TEST(JwtVerifierTest, RefusesTokenNotYetValid)
{
    EXPECT_EQ(secretVerifier()->verify(hs256(claims(R"(,"nbf":)" + std::to_string(kNowS + 30))), 42, kNow).status,
              JwtStatus::NotYetValid);
    EXPECT_EQ(secretVerifier()->verify(hs256(claims(R"(,"iat":)" + std::to_string(kNowS + 30))), 42, kNow).status,
              JwtStatus::IssuedInFuture);
    EXPECT_EQ(secretVerifier()->verify(hs256(claims(R"(,"iat":)" + std::to_string(kNowS - 30))), 42, kNow).status,
              JwtStatus::Valid);
}

TEST(JwtVerifierTest, LeewayEdges)
{
    JwtRules rules;
    rules.leeway_ms = 5000;
    auto verifier = secretVerifier(rules);
    const int64_t exp_ms = (kNowS + 10) * 1000;
    auto token = hs256(R"({"sub":"42","exp":)" + std::to_string(kNowS + 10) + "}");
    // RFC 7519: valid strictly before exp; the leeway moves that edge.
    EXPECT_EQ(verifier->verify(token, 42, exp_ms + 4999).status, JwtStatus::Valid);
    EXPECT_EQ(verifier->verify(token, 42, exp_ms + 5000).status, JwtStatus::Expired);
    auto nbf = hs256(claims(R"(,"nbf":)" + std::to_string(kNowS + 10)));
    EXPECT_EQ(verifier->verify(nbf, 42, exp_ms - 5000).status, JwtStatus::Valid);
    EXPECT_EQ(verifier->verify(nbf, 42, exp_ms - 5001).status, JwtStatus::NotYetValid);
    auto iat = hs256(claims(R"(,"iat":)" + std::to_string(kNowS + 10)));
    EXPECT_EQ(verifier->verify(iat, 42, exp_ms - 5000).status, JwtStatus::Valid);
    EXPECT_EQ(verifier->verify(iat, 42, exp_ms - 5001).status, JwtStatus::IssuedInFuture);
    // Fractional NumericDates count to the millisecond.
    auto fractional = hs256(R"({"sub":"42","exp":)" + std::to_string(kNowS) + ".5}");
    EXPECT_EQ(verifier->verify(fractional, 42, kNow + 5499).status, JwtStatus::Valid);
    EXPECT_EQ(verifier->verify(fractional, 42, kNow + 5500).status, JwtStatus::Expired);
    rules.leeway_ms = 0;
    EXPECT_EQ(secretVerifier(rules)->verify(token, 42, exp_ms - 1).status, JwtStatus::Valid);
    EXPECT_EQ(secretVerifier(rules)->verify(token, 42, exp_ms).status, JwtStatus::Expired);
}

TEST(JwtVerifierTest, AudienceAndIssuerWhenConfigured)
{
    JwtRules rules;
    rules.audience = "wsgw";
    rules.issuer = "https://login.example.com";
    auto verifier = secretVerifier(rules);
    const std::string iss = R"(,"iss":"https://login.example.com")";
    EXPECT_EQ(verifier->verify(hs256(claims(R"(,"aud":"wsgw")" + iss)), 42, kNow).status, JwtStatus::Valid);
    EXPECT_EQ(verifier->verify(hs256(claims(R"(,"aud":["other","wsgw"])" + iss)), 42, kNow).status, JwtStatus::Valid);
    EXPECT_EQ(verifier->verify(hs256(claims(R"(,"aud":"other")" + iss)), 42, kNow).status, JwtStatus::WrongAudience);
    EXPECT_EQ(verifier->verify(hs256(claims(R"(,"aud":["other"])" + iss)), 42, kNow).status, JwtStatus::WrongAudience);
    EXPECT_EQ(verifier->verify(hs256(claims(iss)), 42, kNow).status, JwtStatus::WrongAudience);
    EXPECT_EQ(verifier->verify(hs256(claims(R"(,"aud":"wsgw","iss":"https://evil.example.com")")), 42, kNow).status,
              JwtStatus::WrongIssuer);
    EXPECT_EQ(verifier->verify(hs256(claims(R"(,"aud":"wsgw")")), 42, kNow).status, JwtStatus::WrongIssuer);
    // Not configured: not checked.
    EXPECT_EQ(secretVerifier()->verify(hs256(claims(R"(,"aud":"other","iss":"x")")), 42, kNow).status,
              JwtStatus::Valid);
}

TEST(JwtVerifierTest, AppsClaimGrantsSortedUniqueNames)
{
    auto result = secretVerifier()->verify(hs256(claims(R"(,"apps":["im","chat","im"])")), 42, kNow);
    ASSERT_EQ(result.status, JwtStatus::Valid);
    EXPECT_EQ(result.apps, (std::vector<std::string>{"chat", "im"}));
    for (const char* bad : {R"("im")", R"([1])", R"(["bad name"])", R"([""])", "{}"})
    {
        auto token = hs256(claims(std::string(R"(,"apps":)") + bad));
        EXPECT_EQ(secretVerifier()->verify(token, 42, kNow).status, JwtStatus::BadApps) << bad;
    }
}

TEST(JwtVerifierTest, ExpiryRequiredUnlessConfiguredOff)
{
    auto token = hs256(R"({"sub":"42"})");
    EXPECT_EQ(secretVerifier()->verify(token, 42, kNow).status, JwtStatus::MissingExpiry);
    JwtRules rules;
    rules.require_exp = false;
    auto result = secretVerifier(rules)->verify(token, 42, kNow);
    EXPECT_EQ(result.status, JwtStatus::Valid);
    EXPECT_EQ(result.expires_at_ms, 0);
    // A present exp is still checked.
    auto old = hs256(R"({"sub":"42","exp":)" + std::to_string(kNowS - 60) + "}");
    EXPECT_EQ(secretVerifier(rules)->verify(old, 42, kNow).status, JwtStatus::Expired);
}

TEST(JwtVerifierTest, GarbageIsMalformedNotAnException)
{
    auto verifier = secretVerifier();
    for (const std::string& garbage :
         {std::string(), std::string("x"), std::string("a.b"), std::string("a.b.c"), std::string("..."),
          std::string("654321"), base64url("[1]") + "." + base64url("{}") + ".x",
          base64url(R"({"alg":"HS256"})") + "." + base64url("not json") + ".x", std::string(4096, '.'),
          std::string("\0\xff.\x80.", 6), hs256(claims()) + ".x", "x." + hs256(claims())})
    {
        EXPECT_EQ(verifier->verify(garbage, 42, kNow).status, JwtStatus::Malformed) << garbage;
    }
    // Claims of the wrong type are refused too.
    EXPECT_EQ(verifier->verify(hs256(R"({"sub":"42","exp":"soon"})"), 42, kNow).status, JwtStatus::Malformed);
}

TEST(JwtVerifierTest, StrictBase64UrlHeaderAndClaims)
{
    auto verifier = secretVerifier();
    auto token = hs256(claims());
    // RFC 7515 §2: base64url without padding; the standard alphabet and '=' are not it.
    const auto dot = token.find('.');
    EXPECT_EQ(verifier->verify(token.substr(0, dot) + "=" + token.substr(dot), 42, kNow).status, JwtStatus::Malformed);
    auto plus = token;
    plus[plus.find('.') + 2] = '+';
    EXPECT_EQ(verifier->verify(plus, 42, kNow).status, JwtStatus::Malformed);
    // A critical header extension we do not know: refused before the signature.
    EXPECT_EQ(verifier->verify(handSigned(R"({"alg":"HS256","crit":["b64"],"b64":false})", claims(), kSecret), 42, kNow)
                  .status,
              JwtStatus::WrongAlgorithm);
    // Dates: exponents and fractions are numbers; null and strings are not.
    EXPECT_EQ(verifier->verify(hs256(R"({"sub":"42","exp":1.9e9})"), 42, kNow).status, JwtStatus::Valid);
    EXPECT_EQ(verifier->verify(hs256(R"({"sub":"42","exp":null})"), 42, kNow).status, JwtStatus::Malformed);
    EXPECT_EQ(verifier->verify(hs256(claims(R"(,"nbf":"0")")), 42, kNow).status, JwtStatus::Malformed);
    // Trailing bytes after the payload object, or invalid UTF-8 in a claim.
    EXPECT_EQ(verifier->verify(hs256(claims() + "x"), 42, kNow).status, JwtStatus::Malformed);
    EXPECT_EQ(verifier->verify(hs256(claims(",\"n\":\"\xff\"")), 42, kNow).status, JwtStatus::Malformed);
}

TEST(JwtVerifierTest, Rs256WithOpensslKey)
{
    TempDir dir;
    makeKey(dir, "rsa", "-algorithm RSA -pkeyopt rsa_keygen_bits:2048");
    auto verifier = JwtVerifier::withPublicKey(dir.file("rsa.pub"), {});
    EXPECT_EQ(verifier->algorithm(), JwtAlgorithm::RS256);
    auto token = pocoSigned<Poco::Crypto::RSAKey>(dir.file("rsa.pem"), "RS256", "42", kNowS + 60);
    EXPECT_EQ(verifier->verify(token, 42, kNow).status, JwtStatus::Valid);
    EXPECT_EQ(verifier->verify(token, 7, kNow).status, JwtStatus::WrongSubject);
}

TEST(JwtVerifierTest, Hs256TokenAgainstPublicKeyIsKeyConfusion)
{
    // The classic attack: HMAC the token with the (public) key's PEM text.
    TempDir dir;
    makeKey(dir, "rsa", "-algorithm RSA -pkeyopt rsa_keygen_bits:2048");
    auto verifier = JwtVerifier::withPublicKey(dir.file("rsa.pub"), {});
    auto forged = hs256(claims(), readFile(dir.file("rsa.pub")));
    EXPECT_EQ(verifier->verify(forged, 42, kNow).status, JwtStatus::WrongAlgorithm);
    auto es = handSigned(R"({"alg":"ES256"})", claims(), "x");
    EXPECT_EQ(verifier->verify(es, 42, kNow).status, JwtStatus::WrongAlgorithm);
}

TEST(JwtVerifierTest, Es256WithOpensslKey)
{
    TempDir dir;
    makeKey(dir, "ec", "-algorithm EC -pkeyopt ec_paramgen_curve:P-256");
    auto verifier = JwtVerifier::withPublicKey(dir.file("ec.pub"), {});
    EXPECT_EQ(verifier->algorithm(), JwtAlgorithm::ES256);
    auto token = pocoSigned<Poco::Crypto::ECKey>(dir.file("ec.pem"), "ES256", "42", kNowS + 60);
    EXPECT_EQ(verifier->verify(token, 42, kNow).status, JwtStatus::Valid);
    // JOSE (RFC 7518 §3.4): the signature is r||s, 32 bytes each = 86 base64url characters.
    EXPECT_EQ(token.size() - token.rfind('.') - 1, 86u);
}

TEST(JwtVerifierTest, Es256TokenSignedByOpensslInJoseForm)
{
    // A token from outside Poco: openssl signs (DER), its r and s are laid out
    // as the 64 raw bytes JOSE requires. Poco 1.11 verifies that form; the DER
    // form of the same signature is refused.
    TempDir dir;
    makeKey(dir, "ec", "-algorithm EC -pkeyopt ec_paramgen_curve:P-256");
    const std::string input = base64url(R"({"alg":"ES256","typ":"JWT"})") + "." + base64url(claims());
    writeFile(dir.file("input"), input);
    ASSERT_EQ(std::system(("openssl dgst -sha256 -sign '" + dir.file("ec.pem") + "' -out '" + dir.file("sig.der") +
                           "' '" + dir.file("input") + "'")
                              .c_str()),
              0);
    auto parsed = run("openssl asn1parse -inform DER -in '" + dir.file("sig.der") + "'");
    std::string raw;
    std::istringstream lines(parsed);
    for (std::string line; std::getline(lines, line);)
    {
        auto colon = line.rfind(':');
        if (line.find("INTEGER") == std::string::npos || colon == std::string::npos)
            continue;
        auto hex = line.substr(colon + 1);
        ASSERT_LE(hex.size(), 64u) << line;
        raw += fromHex(std::string(64 - hex.size(), '0') + hex);
    }
    ASSERT_EQ(raw.size(), 64u) << parsed;
    auto verifier = JwtVerifier::withPublicKey(dir.file("ec.pub"), {});
    EXPECT_EQ(verifier->verify(input + "." + base64url(raw), 42, kNow).status, JwtStatus::Valid);
    EXPECT_EQ(verifier->verify(input + "." + base64url(readFile(dir.file("sig.der"))), 42, kNow).status,
              JwtStatus::BadSignature);
}

TEST(JwtVerifierTest, BadKeyFilesAreConfigErrorsNamingTheKey)
{
    TempDir dir;
    makeKey(dir, "ec384", "-algorithm EC -pkeyopt ec_paramgen_curve:P-384");
    makeKey(dir, "ed", "-algorithm ED25519");
    writeFile(dir.file("junk.pem"), "not a key\n");
    for (const auto& path : {dir.file("missing.pem"), dir.file("junk.pem"), dir.file("ec384.pub"), dir.file("ed.pub"),
                             dir.file("ec384.pem")})
    {
        try
        {
            JwtVerifier::withPublicKey(path, {});
            ADD_FAILURE() << "expected config::Error for " << path;
        }
        catch (const wsgw::config::Error& e)
        {
            EXPECT_NE(std::string(e.what()).find("auth.jwt_public_key"), std::string::npos) << e.what();
        }
    }
}

TEST(JwtVerifierTest, SettingsChooseTheMethod)
{
    wsgw::config::Settings settings;
    EXPECT_EQ(JwtVerifier::fromSettings(settings), nullptr);
    settings.jwt_secret = kSecret;
    settings.jwt_leeway = std::chrono::milliseconds(0);
    auto verifier = JwtVerifier::fromSettings(settings);
    ASSERT_NE(verifier, nullptr);
    EXPECT_EQ(verifier->verify(hs256(claims()), 42, kNow).expires_at_ms, (kNowS + 60) * 1000);
    settings.jwt_public_key = "/nonexistent.pem";
    try
    {
        JwtVerifier::fromSettings(settings);
        FAIL() << "expected config::Error";
    }
    catch (const wsgw::config::Error& e)
    {
        EXPECT_NE(std::string(e.what()).find("auth.jwt_secret and auth.jwt_public_key"), std::string::npos) << e.what();
    }
}
