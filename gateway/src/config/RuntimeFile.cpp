#include "config/RuntimeFile.h"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <cerrno>
#include <cstdio>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>

namespace wsgw::config {

namespace {

[[noreturn]] void fail(int error, const std::string& what)
{
    throw std::system_error(error, std::generic_category(), what);
}

/// Writes all of TEXT to FD, resuming after short writes and EINTR. False, with
/// errno set, if a write fails.
bool writeAll(int fd, const std::string& text)
{
    const char* data = text.data();
    size_t left = text.size();
    while (left > 0)
    {
        ssize_t written = ::write(fd, data, left);
        if (written < 0)
        {
            if (errno == EINTR)
                continue;
            return false;
        }
        data += written;
        left -= static_cast<size_t>(written);
    }
    return true;
}

} // namespace

std::string runtimeFilePath(const std::string& db_path)
{
    return db_path + ".gateway.json";
}

void writeRuntimeFile(const std::string& path, const RuntimeInfo& info)
{
    Poco::JSON::Object object(Poco::JSON_PRESERVE_KEY_ORDER);
    object.set("pid", info.pid);
    object.set("push_url", info.push_url);
    object.set("stat_url", info.stat_url);
    object.set("port", info.port);
    object.set("stat_port", info.stat_port);
    object.set("admin_key", info.admin_key);
    std::ostringstream out;
    object.stringify(out);
    std::string text = out.str() + "\n";
    std::string temp = path + ".tmp";

    // errno is saved first at each failure: building a message may allocate.
    // A temporary left by a crash is removed, never reused: reusing it would keep
    // its mode, and if it is a symlink, open() would write the admin key wherever
    // it points. unlink() removes the link itself.
    if (::unlink(temp.c_str()) != 0 && errno != ENOENT)
    {
        int error = errno;
        fail(error, "cannot remove the stale temporary " + temp + ": remove it by hand");
    }
    // O_EXCL|O_NOFOLLOW: if something appeared at TEMP since the unlink, fail
    // rather than write through it.
    int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
    {
        int error = errno;
        fail(error,
             "cannot create " + temp + ": the database's directory must exist and be writable by the gateway's user");
    }
    // Once FD is open, every failure closes it and removes the temporary.
    auto abandon = [&](const char* before, const char* after) {
        int error = errno;
        ::close(fd);
        ::unlink(temp.c_str());
        fail(error, before + temp + after);
    };
    // The umask may have taken bits from 0600 (0400 under umask 0277): set it exactly.
    if (::fchmod(fd, 0600) != 0)
        abandon("cannot make ", " owner-only");
    if (!writeAll(fd, text) || ::fsync(fd) != 0)
        abandon("cannot write ", " (is the disk full?)");
    if (::close(fd) != 0)
    {
        // FD is gone either way: never close it twice (other threads open files).
        int error = errno;
        ::unlink(temp.c_str());
        fail(error, "cannot write " + temp + " (is the disk full?)");
    }
    // rename() replaces a symlink at PATH instead of following it.
    if (::rename(temp.c_str(), path.c_str()) != 0)
    {
        int error = errno;
        ::unlink(temp.c_str());
        if (error == EISDIR)
            fail(error, "cannot write the runtime file " + path +
                            ": it is a directory; remove it so the gateway can write its contact file there");
        fail(error, "cannot rename " + temp + " to " + path);
    }
}

std::optional<RuntimeInfo> readRuntimeFile(const std::string& path)
{
    std::ifstream in(path);
    if (!in)
        return std::nullopt;
    std::stringstream text;
    text << in.rdbuf();
    try
    {
        Poco::JSON::Parser parser;
        auto object = parser.parse(text.str()).extract<Poco::JSON::Object::Ptr>();
        RuntimeInfo info;
        info.pid = object->getValue<int>("pid");
        info.push_url = object->getValue<std::string>("push_url");
        info.stat_url = object->getValue<std::string>("stat_url");
        info.port = object->getValue<int>("port");
        info.stat_port = object->getValue<int>("stat_port");
        info.admin_key = object->getValue<std::string>("admin_key");
        return info;
    }
    catch (const std::exception&)
    {
        return std::nullopt;
    }
}

} // namespace wsgw::config
