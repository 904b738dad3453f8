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

std::vector<char*> argv(const std::vector<std::string>& args)
{
    std::vector<char*> out;
    for (const auto& a : args)
        out.push_back(const_cast<char*>(a.c_str()));
    out.push_back(nullptr);
    return out;
}

std::string readFile(const std::string& path)
{
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

} // namespace

CommandResult runCommand(const std::vector<std::string>& args, const std::string& stdin_text)
{
    int in_pipe[2], out_pipe[2], err_pipe[2];
    if (::pipe2(in_pipe, O_CLOEXEC) || ::pipe2(out_pipe, O_CLOEXEC) || ::pipe2(err_pipe, O_CLOEXEC))
        throw std::runtime_error("pipe failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in_pipe[0], 0);
    posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
    posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
    pid_t pid = -1;
    auto args_v = argv(args);
    int rc = ::posix_spawn(&pid, args[0].c_str(), &actions, nullptr, args_v.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(in_pipe[0]);
    ::close(out_pipe[1]);
    ::close(err_pipe[1]);
    if (rc != 0)
        throw std::runtime_error("cannot run " + args[0] + ": " + std::strerror(rc));
    CommandResult result;
    size_t written = 0;
    int stdin_fd = in_pipe[1];
    if (stdin_text.empty())
    {
        ::close(stdin_fd);
        stdin_fd = -1;
    }
    else
        ::fcntl(stdin_fd, F_SETFL, O_NONBLOCK);
    bool out_open = true, err_open = true;
    while (out_open || err_open)
    {
        pollfd fds[3] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}, {stdin_fd, POLLOUT, 0}};
        ::poll(fds, stdin_fd >= 0 ? 3 : 2, 30000);
        char buffer[65536];
        for (int i = 0; i < 2; ++i)
        {
            bool& open = i == 0 ? out_open : err_open;
            if (open && (fds[i].revents & (POLLIN | POLLHUP)))
            {
                ssize_t n = ::read(fds[i].fd, buffer, sizeof(buffer));
                if (n <= 0)
                    open = false;
                else
                    (i == 0 ? result.out : result.err).append(buffer, static_cast<size_t>(n));
            }
        }
        if (stdin_fd >= 0 && (fds[2].revents & (POLLOUT | POLLERR)))
        {
            ssize_t n = ::write(stdin_fd, stdin_text.data() + written, stdin_text.size() - written);
            if (n > 0)
                written += static_cast<size_t>(n);
            if (n < 0 || written == stdin_text.size())
            {
                ::close(stdin_fd);
                stdin_fd = -1;
            }
        }
    }
    if (stdin_fd >= 0)
        ::close(stdin_fd);
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
    return result;
}

TestGateway::TestGateway(Settings settings)
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

    std::vector<std::string> env_strings;
    for (char** e = environ; *e; ++e)
    {
        if (std::strncmp(*e, "NOTIFY_SOCKET=", 14) != 0)
            env_strings.emplace_back(*e);
    }
    env_strings.push_back("NOTIFY_SOCKET=" + notify_path);
    auto env = argv(env_strings);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_addopen(&actions, 2, log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    std::vector<std::string> args = {wsgwBinary(), "--config", config_path_};
    auto args_v = argv(args);
    int rc = ::posix_spawn(&pid_, args[0].c_str(), &actions, nullptr, args_v.data(), env.data());
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0)
        throw std::runtime_error("cannot start wsgw: " + std::string(std::strerror(rc)));

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
        int status = 0;
        if (!ready && ::waitpid(pid_, &status, WNOHANG) == pid_)
        {
            pid_ = -1;
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
    if (pid_ > 0)
    {
        // Every test ends with a clean SIGTERM stop (SPEC §4): exit status 0.
        auto status = terminate();
        if (!status)
        {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
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
    if (pid_ <= 0)
        return std::nullopt;
    ::kill(pid_, SIGTERM);
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline)
    {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_)
        {
            pid_ = -1;
            return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return std::nullopt;
}

std::string TestGateway::log() const
{
    return readFile(log_path_);
}

void TestGateway::sync() const
{
    if (pid_ <= 0)
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
