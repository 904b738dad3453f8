// libFuzzer target: the public port's HTTP request reader on arbitrary bytes.
// Property: framing decisions never depend on the split — the input read in
// one piece and read in pieces of an input-chosen size gives the same
// requests (method, URI, body, bytes used) and the same error, in the same
// order; and no request body passes the body limit.

#include "transport/HttpRequestReader.h"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

using wsgw::transport::HttpLimits;
using wsgw::transport::HttpReadStatus;
using wsgw::transport::HttpRequestReader;

std::vector<std::string> readAll(const std::string& input, size_t step, const HttpLimits& limits)
{
    HttpRequestReader reader(&limits);
    std::vector<std::string> outcomes;
    std::string buffer;
    size_t fed = 0;
    while (true)
    {
        auto status = reader.read(buffer);
        if (status == HttpReadStatus::NeedMore)
        {
            if (fed == input.size())
                break;
            size_t n = std::min(step, input.size() - fed);
            buffer.append(input, fed, n);
            fed += n;
            continue;
        }
        if (status == HttpReadStatus::Error)
        {
            outcomes.push_back("error " + std::to_string(reader.error().status));
            break;
        }
        if (reader.body().size() > limits.max_body_bytes || reader.consumed() > buffer.size() || reader.consumed() == 0)
            std::abort();
        outcomes.push_back(reader.request().getMethod() + " " + reader.request().getURI() + " " +
                           std::to_string(reader.consumed()) + " " + reader.body());
        buffer.erase(0, reader.consumed());
        reader.next();
    }
    return outcomes;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    if (size < 1)
        return 0;
    HttpLimits limits;
    limits.max_header_bytes = 2048;
    limits.max_body_bytes = 4096;
    std::string input(reinterpret_cast<const char*>(data) + 1, size - 1);
    size_t step = 1 + data[0] % 64;
    if (readAll(input, input.size() + 1, limits) != readAll(input, step, limits))
        std::abort();
    return 0;
}
