#include "transport/HttpFraming.h"

#include <Poco/String.h>

namespace wsgw::transport {

std::optional<Rejection> checkFraming(const Poco::Net::HTTPRequest& request)
{
    int lengths = 0;
    int codings = 0;
    std::string length;
    std::string coding;
    for (const auto& [name, value] : request)
    {
        if (Poco::icompare(name, "Content-Length") == 0)
        {
            ++lengths;
            length = value;
        }
        else if (Poco::icompare(name, "Transfer-Encoding") == 0)
        {
            ++codings;
            coding = value;
        }
    }
    if (lengths > 0 && codings > 0)
        return Rejection{400, "Content-Length together with Transfer-Encoding is ambiguous: send one of them"};
    if (lengths > 1)
        return Rejection{400, "more than one Content-Length header"};
    if (lengths == 1 &&
        (length.empty() || length.size() > 18 || length.find_first_not_of("0123456789") != std::string::npos))
        return Rejection{400, "Content-Length must be a non-negative decimal number"};
    if (codings > 1 || (codings == 1 && Poco::icompare(Poco::trim(coding), "chunked") != 0))
        return Rejection{501, "only Transfer-Encoding: chunked is supported"};
    return std::nullopt;
}

} // namespace wsgw::transport
