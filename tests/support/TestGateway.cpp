#include "support/TestGateway.h"

#include "store/Database.h"
#include "support/Http.h"
#include "support/Wait.h"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <iostream>
#include <poll.h>
#include <spawn.h>
#include <sstream>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char** environ;

namespace wsgw::test {

std::string wsgwBinary()
{
    return WSGW_BIN;
}

std::string adminBinary()
{
    return WSGW_ADMIN_BIN;
}

namespace {

std::string readFile(const std::string& path)
{
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

} // namespace

TestGateway::TestGateway(Settings settings, std::vector<std::string> launcher)
{
    config_path_ = dir_.file("wsgw.ini");
    db_path_ = dir_.file("wsgw.db");
    log_path_ = dir_.file("wsgw.log");
    settings.try_emplace("server.port", "0");
    settings.try_emplace("server.stat_port", "0");
    settings.try_emplace("server.address", "127.0.0.1");
    settings.try_emplace("db.path", db_path_);
    db_path_ = settings["db.path"]; // a test may bring its own database
    settings.try_emplace("db.poll_interval_ms", "50");
    std::map<std::string, std::map<std::string, std::string>> sections;
    for (const auto& [key, value] : settings)
    {
        auto dot = key.find('.');
        sections[key.substr(0, dot)][key.substr(dot + 1)] = value;
    }
    {
        std::ofstream ini(config_path_);
        for (const auto& [section, keys] : sections)
        {
            ini << "[" << section << "]\n";
            for (const auto& [key, value] : keys)
                ini << key << " = " << value << "\n";
        }
    }

    // Readiness exactly as systemd sees it: READY=1 on $NOTIFY_SOCKET.
    std::string notify_path = dir_.file("notify");
    int notify_fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, notify_path.c_str(), sizeof(address.sun_path) - 1);
    if (::bind(notify_fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0)
        throw std::runtime_error("cannot bind notify socket " + notify_path);

    Process::Options options;
    options.stdout_path = log_path_;
    options.stderr_path = log_path_;
    options.env["NOTIFY_SOCKET"] = notify_path;
    launcher.insert(launcher.end(), {wsgwBinary(), "--config", config_path_});
    process_ = std::make_unique<Process>(launcher, options);

    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    bool ready = false;
    while (!ready && std::chrono::steady_clock::now() < deadline)
    {
        pollfd p{notify_fd, POLLIN, 0};
        if (::poll(&p, 1, 100) > 0)
        {
            char message[512] = {};
            ssize_t n = ::recv(notify_fd, message, sizeof(message) - 1, 0);
            ready = n > 0 && std::string(message, static_cast<size_t>(n)).find("READY=1") != std::string::npos;
        }
        if (!ready && !process_->running())
        {
            process_.reset();
            ::close(notify_fd);
            throw std::runtime_error("wsgw exited during startup:\n" + log());
        }
    }
    ::close(notify_fd);
    if (!ready)
        throw std::runtime_error("wsgw did not report READY=1:\n" + log());

    auto runtime = readFile(db_path_ + ".gateway.json");
    Poco::JSON::Parser parser;
    auto object = parser.parse(runtime).extract<Poco::JSON::Object::Ptr>();
    port_ = object->getValue<int>("port");
    stat_port_ = object->getValue<int>("stat_port");
}

TestGateway::~TestGateway()
{
    if (process_)
    {
        // Every test ends with a clean SIGTERM stop (SPEC §4): exit status 0.
        auto status = terminate();
        if (!status)
        {
            process_.reset(); // SIGKILL
            ADD_FAILURE() << "wsgw did not stop within 15 s of SIGTERM";
        }
        else if (*status != 0)
            ADD_FAILURE() << "wsgw exited with status " << *status;
    }
    // Sanitizer builds: any report in the gateway's own output fails the test.
    std::string text = log();
    for (const char* marker : {"AddressSanitizer", "LeakSanitizer", "ThreadSanitizer", "runtime error:"})
    {
        if (text.find(marker) != std::string::npos)
            ADD_FAILURE() << "wsgw reported " << marker;
    }
    // A failed test shows what the gateway said; the temp dir goes away with it.
    if (::testing::Test::HasFailure())
        std::cerr << "---- wsgw log ----\n" << log() << "---- end of wsgw log ----\n";
}

std::optional<int> TestGateway::terminate(std::chrono::milliseconds timeout)
{
    if (!process_)
        return std::nullopt;
    process_->kill(SIGTERM);
    auto status = process_->wait(timeout);
    if (status)
        process_.reset();
    return status;
}

std::string TestGateway::log() const
{
    return readFile(log_path_);
}

void TestGateway::sync() const
{
    if (!process_)
        return; // stopped: nothing to wait for
    int64_t target = 0;
    {
        store::Database db(db_path_, std::chrono::seconds(5), store::Database::Mode::ReadWrite);
        auto stmt = db.prepare("SELECT value FROM meta WHERE key = 'generation'");
        if (stmt.step())
            target = stmt.columnInt64(0);
    }
    bool live = waitUntil(
        [&] {
            auto body = httpRequest(stat_port_, "GET", "/stat?format=json").body;
            Poco::JSON::Parser parser;
            auto object = parser.parse(body).extract<Poco::JSON::Object::Ptr>();
            return object->getValue<int64_t>("generation") >= target;
        },
        std::chrono::seconds(5));
    if (!live)
        throw std::runtime_error("the gateway did not load generation " + std::to_string(target) + " within 5 s");
}

CommandResult TestGateway::admin(const std::vector<std::string>& args, const std::string& stdin_text) const
{
    std::vector<std::string> full = {adminBinary(), "--config", config_path_};
    full.insert(full.end(), args.begin(), args.end());
    auto result = runCommand(full, stdin_text);
    sync();
    return result;
}

std::string TestGateway::addApp(const std::string& name, const std::string& flag) const
{
    // --json is a global option: it goes before the command.
    std::vector<std::string> full = {adminBinary(), "--config", config_path_, "--json", "app", "add", name};
    if (!flag.empty())
        full.push_back(flag);
    auto result = runCommand(full);
    if (result.exit_code != 0)
        throw std::runtime_error("app add failed: " + result.err);
    sync();
    Poco::JSON::Parser parser;
    auto object = parser.parse(result.out).extract<Poco::JSON::Object::Ptr>();
    return object->getValue<std::string>("push_key");
}

void TestGateway::addMember(int64_t id, const std::string& token) const
{
    auto result = admin({"member", "add", std::to_string(id), "--token", token});
    if (result.exit_code != 0)
        throw std::runtime_error("member add failed: " + result.err);
}

std::string TestGateway::stat() const
{
    return httpRequest(stat_port_, "GET", "/stat").body;
}

} // namespace wsgw::test
