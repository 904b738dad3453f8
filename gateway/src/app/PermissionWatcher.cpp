#include "app/PermissionWatcher.h"

#include "store/Store.h"

#include <Poco/Logger.h>

namespace wsgw::app {

PermissionWatcher::PermissionWatcher(const config::Settings& settings, hub::SnapshotHolder& snapshots,
                                     transport::LoopGroup& loops, AfterReload after_reload)
    : settings_(settings), snapshots_(snapshots), loops_(loops), after_reload_(std::move(after_reload))
{}

PermissionWatcher::~PermissionWatcher()
{
    stop();
}

void PermissionWatcher::start()
{
    thread_ = std::thread([this] { run(); });
}

void PermissionWatcher::stop()
{
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable())
        thread_.join();
}

void PermissionWatcher::run()
{
    auto& log = Poco::Logger::get("wsgw.store");
    std::unique_ptr<store::Store> db;
    int64_t seen = -1;
    bool failing = false;
    std::unique_lock lock(mutex_);
    while (!stopping_)
    {
        lock.unlock();
        try
        {
            // A short busy timeout: this thread must notice stop() promptly, and a
            // writer holding the lock only delays the reload to the next poll.
            if (!db)
            {
                // data_version is per connection: after (re)opening, reload once to
                // catch any commit made since the last snapshot was read.
                db = std::make_unique<store::Store>(settings_.db_path, std::chrono::milliseconds(100));
                seen = -1;
            }
            int64_t version = db->dataVersion();
            if (version != seen)
            {
                auto snapshot = std::make_shared<const store::Snapshot>(db->loadSnapshot());
                seen = version;
                snapshots_.set(snapshot);
                loops_.applySnapshot(snapshot);
                log.information("permissions reloaded: generation %s, %z apps, %z members",
                                std::to_string(snapshot->generation), snapshot->apps.size(), snapshot->members.size());
                if (after_reload_)
                    after_reload_(*db);
            }
            if (failing)
                log.notice("database readable again");
            failing = false;
        }
        catch (const std::exception& e)
        {
            if (!failing)
                log.warning("cannot reload permissions, keeping the current ones: %s", std::string(e.what()));
            failing = true;
            db.reset();
        }
        lock.lock();
        wake_.wait_for(lock, settings_.db_poll_interval, [this] { return stopping_; });
    }
}

} // namespace wsgw::app
