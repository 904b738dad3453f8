#include "auth/Authenticator.h"
#include "store/Secret.h"

namespace wsgw::auth {

std::optional<Verdict> StoredTokens::check(const Login& login, const Later&)
{
    if (login.snapshot)
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
