#pragma once
/// Polls PRAGMA data_version on its own SQLite connection (DESIGN §2) and, when
/// wsgw-admin has committed, loads a new snapshot and hands it to the loops.
/// A locked or busy database only delays the reload: delivery goes on with the
/// current snapshot. Its own thread; start()/stop() from the main thread.

#include "config/Settings.h"
#include "hub/SnapshotHolder.h"
#include "transport/LoopGroup.h"

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace wsgw::store {
class Store;
}

namespace wsgw::app {

class PermissionWatcher
{
public:
    /// Runs after each reload, on the watcher's thread with its own connection
    /// (SPEC §9: the primary ships the database from here).
    using AfterReload = std::function<void(store::Store& db)>;

    PermissionWatcher(const config::Settings& settings, hub::SnapshotHolder& snapshots, transport::LoopGroup& loops,
                      AfterReload after_reload = {});
    ~PermissionWatcher();

    void start();
    void stop();

private:
    void run();

    const config::Settings& settings_;
    hub::SnapshotHolder& snapshots_;
    transport::LoopGroup& loops_;
    AfterReload after_reload_;
    std::thread thread_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
};

} // namespace wsgw::app
