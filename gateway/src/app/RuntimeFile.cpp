#include "app/RuntimeFile.h"

#include "protocol/JsonWriter.h"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <system_error>

#include <fcntl.h>
#include <unistd.h>

namespace wsgw::app {

std::string runtimeFilePath(const std::string& db_path)
{
    return db_path + ".gateway.json";
}

void writeRuntimeFile(const std::string& path, const RuntimeInfo& info)
{
    protocol::JsonWriter json;
    json.beginObject().key("pid").value(info.pid).key("push_url").value(info.push_url);
    json.key("stat_url").value(info.stat_url).key("port").value(info.port).key("stat_port").value(info.stat_port);
    json.key("admin_key").value(info.admin_key).endObject();
    std::string text = json.take() + "\n";
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

} // namespace wsgw::app
