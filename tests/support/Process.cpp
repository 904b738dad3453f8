#include "support/Process.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdexcept>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char** environ;

namespace wsgw::test {

namespace {

using Clock = std::chrono::steady_clock;

/// NULL-terminated char* views of STRINGS, which must outlive the result.
std::vector<char*> pointers(const std::vector<std::string>& strings)
{
    std::vector<char*> out;
    out.reserve(strings.size() + 1);
    for (const auto& text : strings)
        out.push_back(const_cast<char*>(text.c_str()));
    out.push_back(nullptr);
    return out;
}

/// Our environment with ENV set on top and the UNSET names removed.
std::vector<std::string> childEnvironment(const Environment& env, const std::vector<std::string>& unset = {})
{
    std::vector<std::string> out;
    for (char** entry = environ; *entry; ++entry)
    {
        std::string text(*entry);
        std::string name = text.substr(0, text.find('='));
        bool replaced = env.count(name) > 0;
        for (const auto& removed : unset)
            replaced = replaced || removed == name;
        if (!replaced)
            out.push_back(std::move(text));
    }
    for (const auto& [name, value] : env)
        out.push_back(name + "=" + value);
    return out;
}

int exitCodeOf(int status)
{
    return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

/// Spawns ARGS with ACTIONS. The child starts with SIGPIPE at its default and no
/// blocked signals, whatever the test process did with them.
pid_t spawn(const std::vector<std::string>& args, posix_spawn_file_actions_t& actions,
            const std::vector<std::string>& env)
{
    if (args.empty())
        throw std::runtime_error("runProcess: no program given");
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    sigset_t defaults;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    posix_spawnattr_setsigdefault(&attributes, &defaults);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attributes, &none);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    auto argv = pointers(args);
    auto envp = pointers(env);
    pid_t pid = -1;
    int rc = ::posix_spawn(&pid, args[0].c_str(), &actions, &attributes, argv.data(), envp.data());
    posix_spawnattr_destroy(&attributes);
    if (rc != 0)
        throw std::runtime_error("cannot run " + args[0] + ": " + std::strerror(rc));
    return pid;
}

/// A child that exits before reading all its stdin must not kill the test with SIGPIPE.
void ignoreSigpipe()
{
    static const bool done = [] {
        std::signal(SIGPIPE, SIG_IGN);
        return true;
    }();
    (void)done;
}

} // namespace

ProcessResult runProcess(const std::vector<std::string>& args, const std::string& stdin_text, const Environment& env,
                         std::chrono::milliseconds timeout)
{
    ignoreSigpipe();
    int in_pipe[2], out_pipe[2], err_pipe[2];
    if (::pipe2(in_pipe, O_CLOEXEC) != 0)
        throw std::runtime_error("pipe2 failed");
    if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0)
        throw std::runtime_error("pipe2 failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in_pipe[0], 0);
    posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
    posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
    pid_t pid = -1;
    try
    {
        pid = spawn(args, actions, childEnvironment(env));
    }
    catch (...)
    {
        posix_spawn_file_actions_destroy(&actions);
        for (int fd : {in_pipe[0], in_pipe[1], out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]})
            ::close(fd);
        throw;
    }
    posix_spawn_file_actions_destroy(&actions);
    ::close(in_pipe[0]);
    ::close(out_pipe[1]);
    ::close(err_pipe[1]);

    ProcessResult result;
    int stdin_fd = in_pipe[1];
    size_t written = 0;
    if (stdin_text.empty())
    {
        ::close(stdin_fd);
        stdin_fd = -1;
    }
    else
        ::fcntl(stdin_fd, F_SETFL, O_NONBLOCK);
    int out_fd = out_pipe[0];
    int err_fd = err_pipe[0];
    auto deadline = Clock::now() + timeout;
    bool timed_out = false;
    // Serve all three pipes until the child closes its output: writing all of
    // stdin first could block on a child blocked on a full stdout pipe.
    while (out_fd >= 0 || err_fd >= 0)
    {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        if (left <= 0)
        {
            timed_out = true;
            break;
        }
        pollfd fds[3] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}, {stdin_fd, POLLOUT, 0}};
        if (::poll(fds, 3, static_cast<int>(left)) < 0 && errno != EINTR)
            throw std::runtime_error("poll failed");
        char buffer[65536];
        for (int i = 0; i < 2; ++i)
        {
            int& fd = i == 0 ? out_fd : err_fd;
            if (fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t n = ::read(fd, buffer, sizeof(buffer));
            if (n > 0)
                (i == 0 ? result.out : result.err).append(buffer, static_cast<size_t>(n));
            else if (n == 0 || errno != EINTR)
            {
                ::close(fd);
                fd = -1;
            }
        }
        if (stdin_fd >= 0 && (fds[2].revents & (POLLOUT | POLLERR | POLLHUP)))
        {
            ssize_t n = ::write(stdin_fd, stdin_text.data() + written, stdin_text.size() - written);
            if (n > 0)
                written += static_cast<size_t>(n);
            // EPIPE: the child stopped reading; what it did with the rest is its answer.
            if ((n < 0 && errno != EAGAIN && errno != EINTR) || written == stdin_text.size())
            {
                ::close(stdin_fd);
                stdin_fd = -1;
            }
        }
    }
    for (int fd : {stdin_fd, out_fd, err_fd})
    {
        if (fd >= 0)
            ::close(fd);
    }
    if (timed_out)
        ::kill(pid, SIGKILL);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR)
    {}
    if (timed_out)
        throw std::runtime_error(args[0] + " still running after " + std::to_string(timeout.count()) +
                                 " ms; killed (stderr so far: " + result.err.substr(0, 500) + ")");
    result.exit_code = exitCodeOf(status);
    return result;
}

Process::Process(const std::vector<std::string>& args, const Options& options)
{
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    auto output = [&](int fd, const std::string& path) {
        posix_spawn_file_actions_addopen(&actions, fd, path.empty() ? "/dev/null" : path.c_str(),
                                         O_WRONLY | O_CREAT | O_APPEND, 0644);
    };
    output(1, options.stdout_path);
    // One open file for both streams keeps their lines in the order written.
    if (!options.stderr_path.empty() && options.stderr_path == options.stdout_path)
        posix_spawn_file_actions_adddup2(&actions, 1, 2);
    else
        output(2, options.stderr_path);
    try
    {
        pid_ = spawn(args, actions, childEnvironment(options.env, options.unset));
    }
    catch (...)
    {
        posix_spawn_file_actions_destroy(&actions);
        throw;
    }
    posix_spawn_file_actions_destroy(&actions);
}

Process::~Process()
{
    if (!exit_code_ && pid_ > 0)
    {
        ::kill(pid_, SIGKILL);
        int status = 0;
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR)
        {}
    }
}

bool Process::running()
{
    if (exit_code_)
        return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_)
        exit_code_ = exitCodeOf(status);
    return !exit_code_;
}

void Process::kill(int signal)
{
    if (!exit_code_)
        ::kill(pid_, signal);
}

std::optional<int> Process::wait(std::chrono::milliseconds timeout)
{
    auto deadline = Clock::now() + timeout;
    // A short poll: waitpid has no timeout, and a test waits for a stop it has just asked for.
    while (running() && Clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return exit_code_;
}

} // namespace wsgw::test
