// libFuzzer target: the JWT verifier (SPEC §6) on arbitrary tokens.
// Properties: the raw bytes as a token never verify (no forgery without the
// secret) and never crash; and when the bytes are split into a header and a
// payload text that we sign with the secret ourselves, the verdict is never
// "bad signature", and "valid" only comes with a header naming HS256.

#include "auth/JwtVerifier.h"

#include <cstdint>
#include <cstdlib>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string>
#include <string_view>

namespace {

using wsgw::auth::JwtStatus;
using wsgw::auth::JwtVerifier;

const std::string kSecret = "fuzz-secret";

std::string base64url(std::string_view bytes)
{
    static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    size_t i = 0;
    for (; i + 2 < bytes.size(); i += 3)
    {
        uint32_t n = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8) | uint8_t(bytes[i + 2]);
        for (int shift = 18; shift >= 0; shift -= 6)
            out.push_back(alphabet[(n >> shift) & 63]);
    }
    if (i + 1 == bytes.size())
    {
        uint32_t n = uint8_t(bytes[i]) << 16;
        out.push_back(alphabet[(n >> 18) & 63]);
        out.push_back(alphabet[(n >> 12) & 63]);
    }
    else if (i + 2 == bytes.size())
    {
        uint32_t n = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8);
        out.push_back(alphabet[(n >> 18) & 63]);
        out.push_back(alphabet[(n >> 12) & 63]);
        out.push_back(alphabet[(n >> 6) & 63]);
    }
    return out;
}

const JwtVerifier& verifier()
{
    static auto instance = JwtVerifier::withSecret(kSecret, {});
    return *instance;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    constexpr int64_t kNow = 1'800'000'000'000;
    if (verifier().verify(input, 42, kNow).status == JwtStatus::Valid)
        std::abort(); // forged without the secret
    // Header and payload texts, split at the first 0x01 byte, signed by us.
    const auto split = input.find('\x01');
    const std::string_view header =
        split == std::string_view::npos ? std::string_view("{\"alg\":\"HS256\"}") : input.substr(0, split);
    const std::string_view payload = split == std::string_view::npos ? input : input.substr(split + 1);
    const std::string signed_part = base64url(header) + "." + base64url(payload);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    HMAC(EVP_sha256(), kSecret.data(), static_cast<int>(kSecret.size()),
         reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size(), digest, &length);
    const std::string token =
        signed_part + "." + base64url(std::string_view(reinterpret_cast<const char*>(digest), length));
    const auto result = verifier().verify(token, 42, kNow);
    if (result.status == JwtStatus::BadSignature)
        std::abort();
    if (result.status == JwtStatus::Valid && header.find("HS256") == std::string_view::npos)
        std::abort();
    return 0;
}
