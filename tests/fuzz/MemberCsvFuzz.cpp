// libFuzzer target: the `wsgw-admin member import` CSV parser. Either the whole
// file is rejected, or every row it returns is valid.

#include "store/Error.h"
#include "store/MemberCsv.h"

#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
    try
    {
        for (const auto& row : wsgw::store::parseMemberCsv(in))
        {
            if (row.member_id <= 0 || row.token.empty() || row.token.size() > wsgw::store::kMaxTokenLength)
                std::abort();
        }
    }
    catch (const wsgw::store::InvalidInput&)
    {}
    return 0;
}
