#pragma once
/// Permissions from one database (SPEC §9). The primary ships a consistent
/// copy of its SQLite file (sqlite3_serialize) with its generation after every
/// committed change; replicas copy the newest one they get into their own file
/// on a thread of their own (never the broker's or a loop's), and their
/// PermissionWatcher sees the commit as it sees wsgw-admin's. Whole images, not
/// changesets: pub/sub drops what is published while a replica is cut off, and
/// a whole image heals any gap by itself (README "Running several nodes").

#include "cluster/Broker.h"
#include "hub/Metrics.h"

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

namespace wsgw::store {
class Store;
}

namespace wsgw::cluster {

/// "wsgwdb1 <run id> <generation> <primary name>\n<image bytes>"
struct ShippedImage
{
    std::string run; ///< the primary process that shipped it
    int64_t generation = 0;
    std::string primary; ///< its cluster.node_name
    std::string_view bytes;
};
std::string encodeImage(std::string_view run, int64_t generation, std::string_view primary, std::string_view bytes);
std::optional<ShippedImage> decodeImage(std::string_view shipped);

/// Primary side: called by the permission watcher after each reload, on its
/// thread, with its own Store. Cheap when nothing changed since the last ship.
class DatabaseShipper
{
public:
    DatabaseShipper(Broker& broker, std::string run, std::string primary);
    void ship(store::Store& db);

private:
    Broker& broker_;
    std::string run_;
    std::string primary_;
    int64_t shipped_generation_ = -1;
};

/// Replica side: takes images from the broker's thread, writes the newest into
/// DB_PATH on its own thread.
class DatabaseCopier
{
public:
    DatabaseCopier(std::string db_path, hub::Metrics& metrics);
    ~DatabaseCopier();

    void start();
    void stop();
    /// Broker thread: keeps SHIPPED as the next image to copy (an older one
    /// still waiting is dropped: only the newest matters).
    void offer(std::string shipped);

private:
    void run();

    std::string db_path_;
    hub::Metrics& metrics_;
    std::thread thread_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::optional<std::string> next_;
    bool stopping_ = false;
    std::string applied_run_;
    int64_t applied_generation_ = -1;
};

} // namespace wsgw::cluster
