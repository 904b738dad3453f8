#pragma once
/// Runs a program for a test: to completion with stdin text and captured output
/// (runProcess), or in the background with output to files (Process), under
/// this process's environment plus overrides. Test support; one thread per object.

#include <chrono>
#include <csignal>
#include <map>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace wsgw::test {

/// Variables set (or replaced) in the child's environment, on top of ours.
using Environment = std::map<std::string, std::string>;

struct ProcessResult
{
    int exit_code = -1; ///< the exit status, or -N when killed by signal N
    std::string out;
    std::string err;
};

/// Runs ARGS[0] (a path, not searched in $PATH) with argv ARGS, writes STDIN_TEXT
/// to its stdin and closes it, and returns what it wrote to stdout and stderr
/// and how it ended. Stdin, stdout and stderr are served together, so any amount
/// of input and output works. Throws std::runtime_error if the program cannot
/// be started, or if it is still running after TIMEOUT (it is killed first).
ProcessResult runProcess(const std::vector<std::string>& args, const std::string& stdin_text = {},
                         const Environment& env = {}, std::chrono::milliseconds timeout = std::chrono::seconds(120));

/// A program running in the background, e.g. the gateway daemon. Stdin is
/// /dev/null. The destructor kills it (SIGKILL) and reaps it if still running.
class Process
{
public:
    struct Options
    {
        std::string stdout_path;        ///< appended to; empty: /dev/null
        std::string stderr_path;        ///< appended to; may equal stdout_path; empty: /dev/null
        Environment env;                ///< set or replaced in the child's environment
        std::vector<std::string> unset; ///< removed from the child's environment
    };

    /// Starts ARGS[0] with argv ARGS. Throws std::runtime_error if it cannot be started.
    explicit Process(const std::vector<std::string>& args, const Options& options);
    explicit Process(const std::vector<std::string>& args) : Process(args, Options{}) {}
    ~Process();
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;

    pid_t pid() const noexcept { return pid_; }

    /// True until the process has ended (reaps it without blocking).
    bool running();
    /// Sends SIGNAL; does nothing once the process has been reaped.
    void kill(int signal = SIGTERM);
    /// Waits up to TIMEOUT for the end; returns the exit status (-N for signal
    /// N), or nullopt if it is still running. Returns the same value again later.
    std::optional<int> wait(std::chrono::milliseconds timeout = std::chrono::seconds(15));

private:
    pid_t pid_ = -1;
    std::optional<int> exit_code_;
};

} // namespace wsgw::test
