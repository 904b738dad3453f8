#pragma once
/// Waits until N parties (the event loops) have each done their part of a
/// posted job. Any thread.

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace wsgw::hub {

class Completion
{
public:
    explicit Completion(int parties) : pending_(parties) {}

    /// One party is done; call with the lock-free part of its work finished.
    void arrive()
    {
        std::lock_guard lock(mutex_);
        if (--pending_ == 0)
            done_.notify_all();
    }

    /// Runs F under the completion's lock (to merge a party's result), then arrives.
    template <typename F>
    void arriveWith(F&& f)
    {
        std::lock_guard lock(mutex_);
        f();
        if (--pending_ == 0)
            done_.notify_all();
    }

    /// False if TIMEOUT passed first (a loop that stopped never arrives).
    bool wait(std::chrono::milliseconds timeout)
    {
        std::unique_lock lock(mutex_);
        return done_.wait_for(lock, timeout, [this] { return pending_ == 0; });
    }

private:
    std::mutex mutex_;
    std::condition_variable done_;
    int pending_;
};

} // namespace wsgw::hub
