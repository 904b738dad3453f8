#pragma once
/// waitUntil: poll a condition until it holds or a deadline passes, instead of
/// sleeping and hoping. Test support.

#include <chrono>
#include <thread>

namespace wsgw::test {

/// Returns true as soon as PREDICATE() is true, false if TIMEOUT passes first.
template <typename Predicate>
bool waitUntil(Predicate&& predicate, std::chrono::milliseconds timeout = std::chrono::seconds(5))
{
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true)
    {
        if (predicate())
            return true;
        if (std::chrono::steady_clock::now() >= deadline)
            return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

} // namespace wsgw::test
