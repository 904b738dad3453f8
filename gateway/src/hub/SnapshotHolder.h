#pragma once
/// The current permission snapshot, swapped whole by the watcher. Any thread:
/// get() returns a reference-counted pointer that stays valid however long the
/// caller keeps it, even after a newer snapshot is set.

#include "store/Snapshot.h"

#include <memory>
#include <mutex>

namespace wsgw::hub {

using SnapshotPtr = std::shared_ptr<const store::Snapshot>;

class SnapshotHolder
{
public:
    explicit SnapshotHolder(SnapshotPtr initial) : current_(std::move(initial)) {}

    SnapshotPtr get() const
    {
        std::lock_guard lock(mutex_);
        return current_;
    }

    void set(SnapshotPtr next)
    {
        std::lock_guard lock(mutex_);
        current_ = std::move(next);
    }

private:
    mutable std::mutex mutex_;
    SnapshotPtr current_;
};

} // namespace wsgw::hub
