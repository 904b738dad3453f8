#pragma once
/// Runs the real wsgw binary for one test: a temp directory with its INI and
/// SQLite file, ephemeral ports, readiness from $NOTIFY_SOCKET (as systemd
/// would see it), ports from the gateway's runtime file. SIGTERM on
/// destruction. Test support.

#include "support/Process.h"
#include "support/TempDir.h"

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace wsgw::test {

/// Path of a built binary, from the build (compile definitions).
std::string wsgwBinary();
std::string adminBinary();

using CommandResult = ProcessResult;

/// Runs a program to completion with ARGS (argv[0] included), feeding STDIN_TEXT.
inline CommandResult runCommand(const std::vector<std::string>& args, const std::string& stdin_text = {})
{
    return runProcess(args, stdin_text);
}

class TestGateway
{
public:
    using Settings = std::map<std::string, std::string>;

    /// SETTINGS: INI keys "section.key" -> value, on top of ports 0 and a temp database.
    /// LAUNCHER, when given, runs the gateway (e.g. {"/usr/bin/prlimit", "--nofile=64"}).
    explicit TestGateway(Settings settings = {}, std::vector<std::string> launcher = {});
    ~TestGateway();
    TestGateway(const TestGateway&) = delete;
    TestGateway& operator=(const TestGateway&) = delete;

    int port() const noexcept { return port_; }
    int statPort() const noexcept { return stat_port_; }
    pid_t pid() const noexcept { return process_ ? process_->pid() : -1; }
    const std::string& configPath() const noexcept { return config_path_; }
    const std::string& dbPath() const noexcept { return db_path_; }
    const TempDir& dir() const noexcept { return dir_; }

    /// Waits until the gateway serves the database's current state (its
    /// generation in /stat?format=json). Throws after 5 s.
    void sync() const;

    /// wsgw-admin --config <this gateway's INI> ARGS..., then sync().
    CommandResult admin(const std::vector<std::string>& args, const std::string& stdin_text = {}) const;
    /// `app add NAME [flag]`; returns the push key. Throws if it fails.
    std::string addApp(const std::string& name, const std::string& flag = {}) const;
    /// `member add ID --token TOKEN`. Throws if it fails.
    void addMember(int64_t id, const std::string& token) const;

    /// GET /stat on the stat port.
    std::string stat() const;

    /// Sends SIGTERM and waits; returns the exit status (or -signal), nullopt on timeout.
    std::optional<int> terminate(std::chrono::milliseconds timeout = std::chrono::seconds(15));
    /// Everything the gateway wrote to stderr so far.
    std::string log() const;

private:
    TempDir dir_;
    std::string config_path_;
    std::string db_path_;
    std::string log_path_;
    std::unique_ptr<Process> process_; ///< null once stopped
    int port_ = 0;
    int stat_port_ = 0;
};

} // namespace wsgw::test
