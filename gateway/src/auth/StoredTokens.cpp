#include "auth/Authenticator.h"
#include "store/Secret.h"

namespace wsgw::auth {

std::optional<Verdict> StoredTokens::check(const Login& login, const Later&)
{
    // A member without stored tokens (a JWT or authorizer member, most of the
    // time) is refused before hashing: the digest is the dearer half. The
    // half microsecond could tell a patient remote timer that a member id has
    // stored tokens; member ids are the site's user ids, not secrets, and
    // failed logins per address are limited (SPEC §5).
    if (login.snapshot && login.snapshot->members.contains(login.member_id))
    {
        if (auto token_id = login.snapshot->matchToken(login.member_id, store::sha256(login.token)))
        {
            Verdict verdict;
            verdict.status = Verdict::Status::Accepted;
            verdict.token_id = *token_id;
            return verdict;
        }
    }
    return Verdict::rejected("not a stored token of this member");
}

} // namespace wsgw::auth
