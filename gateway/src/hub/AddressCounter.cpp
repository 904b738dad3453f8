#include "hub/AddressCounter.h"

#include <algorithm>

namespace wsgw::hub {

std::string AddressCounter::key(const in6_addr& address)
{
    // As for the other per-address limits: IPv4 (v4-mapped) by the whole
    // address, IPv6 by its /64, the block one subscriber usually holds.
    std::string key(reinterpret_cast<const char*>(address.s6_addr), sizeof(address.s6_addr));
    if (!IN6_IS_ADDR_V4MAPPED(&address))
        std::fill(key.begin() + 8, key.end(), '\0');
    return key;
}

bool AddressCounter::tryAcquire(const in6_addr& address)
{
    if (cap_ == 0)
        return true;
    std::lock_guard lock(mutex_);
    auto& count = counts_[key(address)];
    if (count >= cap_)
        return false;
    ++count;
    return true;
}

void AddressCounter::release(const in6_addr& address)
{
    if (cap_ == 0)
        return;
    std::lock_guard lock(mutex_);
    auto it = counts_.find(key(address));
    if (it == counts_.end())
        return;
    if (--it->second == 0)
        counts_.erase(it);
}

size_t AddressCounter::count(const in6_addr& address) const
{
    std::lock_guard lock(mutex_);
    auto it = counts_.find(key(address));
    return it == counts_.end() ? 0 : it->second;
}

} // namespace wsgw::hub
