#pragma once
/// JWT logins (SPEC §6) as an Authenticator: the verifier's result as a verdict.

#include "auth/Authenticator.h"
#include "auth/JwtVerifier.h"

namespace wsgw::auth {

class JwtAuthenticator final : public Authenticator
{
public:
    using WallClock = int64_t (*)();

    /// VERIFIER must outlive this. WALL_CLOCK gives Unix milliseconds.
    explicit JwtAuthenticator(const JwtVerifier& verifier, WallClock wall_clock = wallClockMs)
        : verifier_(verifier), wall_clock_(wall_clock)
    {}

    std::optional<Verdict> check(const Login& login, const Later&) override
    {
        auto result = verifier_.verify(login.token, login.member_id, wall_clock_());
        if (result.status != JwtStatus::Valid)
            return Verdict::rejected(std::string("JWT refused: ") + describe(result.status));
        Verdict verdict;
        verdict.status = Verdict::Status::Accepted;
        verdict.expires_at_ms = result.expires_at_ms;
        verdict.apps = std::move(result.apps);
        return verdict;
    }

private:
    const JwtVerifier& verifier_;
    WallClock wall_clock_;
};

} // namespace wsgw::auth
