#pragma once
/// Polls PRAGMA data_version on its own SQLite connection (DESIGN §2) and, when
/// wsgw-admin has committed, loads a new snapshot and hands it to the loops.
/// A locked or busy database only delays the reload: delivery goes on with the
/// current snapshot. Its own thread; start()/stop() from the main thread.

#include "config/Settings.h"
#include "hub/SnapshotHolder.h"
#include "transport/LoopGroup.h"

#include <condition_variable>
#include <mutex>
#include <thread>

namespace wsgw::app {

class PermissionWatcher
{
public:
    PermissionWatcher(const config::Settings& settings, hub::SnapshotHolder& snapshots, transport::LoopGroup& loops);
    ~PermissionWatcher();

    void start();
    void stop();

private:
    void run();

    const config::Settings& settings_;
    hub::SnapshotHolder& snapshots_;
    transport::LoopGroup& loops_;
    std::thread thread_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
};

} // namespace wsgw::app
