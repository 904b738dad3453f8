#pragma once
/// The running gateway's local contact file, `<db path>.gateway.json` (mode
/// 0600): its pid, where to push and read stats, and a per-start admin push
/// key accepted for every app. wsgw-admin push uses it; so do tests that
/// start the gateway on ephemeral ports. Only those who can read the database
/// directory can read it, and they could manage the apps anyway.

#include <optional>
#include <string>

namespace wsgw::config {

struct RuntimeInfo
{
    int pid = 0;
    std::string push_url; ///< http://HOST:PORT/push
    std::string stat_url; ///< http://HOST:PORT
    int port = 0;         ///< WebSocket + push port actually bound
    int stat_port = 0;
    std::string admin_key;
};

/// Where the file for the database at DB_PATH lives.
std::string runtimeFilePath(const std::string& db_path);

/// Writes atomically: a fresh PATH.tmp (a stale one, or a symlink there, is
/// removed first, never written through), mode 0600 whatever the umask, synced,
/// then renamed over PATH (a symlink at PATH is replaced, its target untouched).
/// Throws std::system_error naming the path and what to do (PATH is a directory,
/// the directory is missing or not writable); no temporary is left behind then.
void writeRuntimeFile(const std::string& path, const RuntimeInfo& info);

/// Reads it; nullopt if absent or unreadable.
std::optional<RuntimeInfo> readRuntimeFile(const std::string& path);

} // namespace wsgw::config
