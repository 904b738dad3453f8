#include "commands/Output.h"

#include <algorithm>
#include <ctime>

namespace wsgw::cli {

std::string isoTime(int64_t unix_seconds)
{
    std::time_t t = static_cast<std::time_t>(unix_seconds);
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char text[32];
    std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return text;
}

void printTable(std::ostream& out, const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows)
{
    std::vector<size_t> widths;
    for (const auto& cell : header)
        widths.push_back(cell.size());
    for (const auto& row : rows)
    {
        for (size_t i = 0; i < row.size() && i < widths.size(); ++i)
            widths[i] = std::max(widths[i], row[i].size());
    }
    auto line = [&](const std::vector<std::string>& cells) {
        std::string text;
        for (size_t i = 0; i < cells.size(); ++i)
        {
            text += cells[i];
            if (i + 1 < cells.size())
                text += std::string(widths[i] - cells[i].size() + 2, ' ');
        }
        out << text << '\n';
    };
    line(header);
    for (const auto& row : rows)
        line(row);
}

void writeApp(protocol::JsonWriter& json, const store::AppInfo& app, const std::string& push_key)
{
    json.beginObject().key("name").value(app.name).key("visibility").value(store::toString(app.visibility));
    json.key("grants").beginArray();
    for (int64_t id : app.granted)
        json.value(id);
    json.endArray().key("created").value(isoTime(app.created_at));
    json.key("webhook").value(app.webhook_url).key("client_publish").value(store::toString(app.client_publish));
    if (!push_key.empty())
        json.key("push_key").value(push_key);
    json.endObject();
}

void writeMember(protocol::JsonWriter& json, const store::MemberInfo& member, const std::string& token)
{
    json.beginObject().key("member_id").value(member.id).key("tokens").value(member.tokens);
    json.key("grants").beginArray();
    for (const auto& app : member.granted)
        json.value(app);
    json.endArray().key("created").value(isoTime(member.created_at));
    if (!token.empty())
        json.key("token").value(token);
    json.endObject();
}

std::string joinIds(const std::vector<int64_t>& ids)
{
    if (ids.empty())
        return "(none)";
    std::string text;
    for (int64_t id : ids)
        text += (text.empty() ? "" : ", ") + std::to_string(id);
    return text;
}

std::string joinNames(const std::vector<std::string>& names)
{
    if (names.empty())
        return "(none)";
    std::string text;
    for (const auto& name : names)
        text += (text.empty() ? "" : ", ") + name;
    return text;
}

} // namespace wsgw::cli
