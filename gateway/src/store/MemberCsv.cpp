#include "store/MemberCsv.h"

#include "model/Names.h"
#include "store/Error.h"

#include <string_view>

namespace wsgw::store {

namespace {

constexpr size_t kMaxReportedLines = 20;

} // namespace

std::vector<MemberCsvRow> parseMemberCsv(std::istream& in)
{
    std::vector<MemberCsvRow> rows;
    std::vector<std::string> problems;
    size_t bad_lines = 0;
    std::string line;
    size_t number = 0;
    auto problem = [&](std::string text) {
        ++bad_lines;
        if (problems.size() < kMaxReportedLines)
            problems.push_back("line " + std::to_string(number) + ": " + std::move(text));
    };
    while (std::getline(in, line))
    {
        ++number;
        if (!line.empty() && line.back() == '\r')
            line.pop_back();
        if (line.empty() || line.front() == '#')
            continue;
        if (number == 1 && (line == "member_id,token" || line == "MEMBER_ID,TOKEN"))
            continue;
        auto comma = line.find(',');
        if (comma == std::string::npos)
        {
            problem("expected MEMBER_ID,TOKEN");
            continue;
        }
        std::string_view id_text(line.data(), comma);
        std::string token = line.substr(comma + 1);
        auto id = model::parseMemberId(id_text);
        if (!id)
        {
            problem("member id '" + std::string(id_text.substr(0, 40)) + "' is not an integer from 1 to 2^63-1");
            continue;
        }
        if (token.empty())
        {
            problem("the token is empty");
            continue;
        }
        if (token.size() > kMaxTokenLength)
        {
            problem("the token is longer than " + std::to_string(kMaxTokenLength) + " characters");
            continue;
        }
        rows.push_back({number, *id, std::move(token)});
    }
    if (in.bad())
        throw InvalidInput("read error after line " + std::to_string(number));
    if (bad_lines > 0)
    {
        std::string message = std::to_string(bad_lines) + " bad line(s), nothing imported:";
        for (const auto& p : problems)
            message += "\n  " + p;
        if (bad_lines > problems.size())
            message += "\n  ... and " + std::to_string(bad_lines - problems.size()) + " more";
        throw InvalidInput(message);
    }
    return rows;
}

} // namespace wsgw::store
