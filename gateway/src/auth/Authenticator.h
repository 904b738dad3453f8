#pragma once
/// Who a member is (SPEC §6), behind one interface: stored tokens, JWT and the
/// authorizer webhook each decide a login, tried in that order by
/// Authenticators. A method answers at once or, for the webhook, later from
/// another thread; the session turns the verdict into replies.

#include "store/Snapshot.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wsgw::auth {

/// One login attempt as the session saw it. Views are valid during check() only.
struct Login
{
    int64_t member_id = 0;
    std::string_view token;
    const store::Snapshot* snapshot = nullptr; ///< the checking loop's permission snapshot (stored tokens)
    std::string_view address;                  ///< the client address (behind a trusted proxy, the forwarded one)
    const std::string* headers = nullptr;      ///< the upgrade request's headers as a JSON object, when kept
};

struct Verdict
{
    enum class Status
    {
        Accepted,
        Rejected,    ///< this token does not log this member in (401, the connection stays anonymous)
        Unavailable, ///< the method cannot tell now (authorizer down or saturated: 503, close 1011)
    };
    Status status = Status::Rejected;
    int64_t token_id = 0;          ///< the stored token's row; 0 when another method accepted
    int64_t expires_at_ms = 0;     ///< Unix ms at which the session ends ("token expired"); 0 = never
    std::vector<std::string> apps; ///< private apps granted to this session, sorted, unique
    std::string reason;            ///< why, for a log line, when not accepted

    static Verdict rejected(std::string why)
    {
        Verdict v;
        v.reason = std::move(why);
        return v;
    }
    static Verdict unavailable(std::string why)
    {
        Verdict v;
        v.status = Status::Unavailable;
        v.reason = std::move(why);
        return v;
    }
};

class Authenticator
{
public:
    /// Receives a verdict decided later; called once, on any thread.
    using Later = std::function<void(Verdict&&)>;

    virtual ~Authenticator() = default;
    /// Decides LOGIN now (the verdict), or returns nullopt after arranging for
    /// LATER to be called once with it. LATER is used only when nullopt is
    /// returned. Called on loop threads: never blocks.
    virtual std::optional<Verdict> check(const Login& login, const Later& later) = 0;
};

/// SPEC §6's order: the first method that does not reject decides; when all
/// reject, the last one's reason is kept.
class Authenticators final : public Authenticator
{
public:
    void add(std::unique_ptr<Authenticator> method) { methods_.push_back(std::move(method)); }
    bool empty() const noexcept { return methods_.empty(); }

    std::optional<Verdict> check(const Login& login, const Later& later) override
    {
        Verdict last = Verdict::rejected("no login method accepts this token");
        for (const auto& method : methods_)
        {
            auto verdict = method->check(login, later);
            if (!verdict || verdict->status != Verdict::Status::Rejected)
                return verdict;
            last = std::move(*verdict);
        }
        return last;
    }

private:
    std::vector<std::unique_ptr<Authenticator>> methods_;
};

/// Stored tokens (wsgw-admin member add/token/import), checked against the loop's snapshot.
class StoredTokens final : public Authenticator
{
public:
    std::optional<Verdict> check(const Login& login, const Later& later) override;
};

} // namespace wsgw::auth
