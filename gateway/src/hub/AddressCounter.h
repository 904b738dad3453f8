#pragma once
/// How many of something each client address (IPv6: each /64) holds at once, with a cap: the
/// public port's open HTTP connections per address (SPEC §5, admission before
/// the upgrade). Consulted once per connection, never per request or
/// delivery. Any thread (one mutex).

#include <cstddef>
#include <mutex>
#include <netinet/in.h>
#include <string>
#include <unordered_map>

namespace wsgw::hub {

class AddressCounter
{
public:
    /// CAP per address; 0 = unlimited (nothing is counted).
    explicit AddressCounter(size_t cap) : cap_(cap) {}

    /// Counts one more for ADDRESS unless it holds CAP already; false then.
    bool tryAcquire(const in6_addr& address);
    /// One fewer for ADDRESS (after a successful tryAcquire). Entries that
    /// reach zero are dropped, so memory follows what is open now.
    void release(const in6_addr& address);
    /// What ADDRESS holds now (tests, metrics).
    size_t count(const in6_addr& address) const;

private:
    static std::string key(const in6_addr& address);

    const size_t cap_;
    mutable std::mutex mutex_;
    std::unordered_map<std::string, size_t> counts_;
};

} // namespace wsgw::hub
