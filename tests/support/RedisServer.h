#pragma once
/// A real redis-server for one test (SPEC §9 tests): started on a free
/// loopback port without persistence, stopped on destruction; can be stopped
/// and started again on the same port (a Redis restart), and answers commands
/// through hiredis's blocking client. Test support; one thread per object.

#include "support/Process.h"
#include "support/TempDir.h"

#include <memory>
#include <string>
#include <vector>

namespace wsgw::test {

class RedisServer
{
public:
    /// Whether Debian's redis-server is installed (tests skip cleanly without it).
    static bool available();

    /// Starts redis-server (with requirepass PASSWORD when not empty). Throws
    /// std::runtime_error if it does not answer PING within 5 s.
    explicit RedisServer(std::string password = {});
    ~RedisServer();
    RedisServer(const RedisServer&) = delete;
    RedisServer& operator=(const RedisServer&) = delete;

    int port() const noexcept { return port_; }
    /// "127.0.0.1:PORT", for cluster.redis.
    std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

    /// SIGTERM and wait (a Redis that is gone).
    void stop();
    /// Starts again on the same port, empty (no persistence: a restart loses everything).
    void start();
    /// SIGSTOP / SIGCONT: a Redis that is there but does not answer (a slow one).
    void pause();
    void resume();

    /// Runs one command; returns its reply flattened to strings (an integer as
    /// its digits, an array as its elements, nil as ""). Throws on a connection error.
    std::vector<std::string> command(const std::vector<std::string>& args) const;

private:
    bool launch();

    TempDir dir_;
    std::string password_;
    int port_ = 0;
    std::unique_ptr<Process> process_;
};

} // namespace wsgw::test
