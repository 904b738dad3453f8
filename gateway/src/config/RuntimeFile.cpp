#include "config/RuntimeFile.h"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <cerrno>
#include <cstdio>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <system_error>
#include <unistd.h>

namespace wsgw::config {

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
    int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        throw std::system_error(errno, std::generic_category(), "cannot write " + temp);
    ssize_t written = ::write(fd, text.data(), text.size());
    ::close(fd);
    if (written != static_cast<ssize_t>(text.size()) || ::rename(temp.c_str(), path.c_str()) != 0)
        throw std::system_error(errno, std::generic_category(), "cannot write " + path);
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
