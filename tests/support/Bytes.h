#pragma once
/// Byte strings written as numbers, for wire-level test vectors. Test support.

#include <initializer_list>
#include <string>

namespace wsgw::test {

/// bytes({0x81, 0x05}) == "\x81\x05".
inline std::string bytes(std::initializer_list<int> values)
{
    std::string out;
    for (int v : values)
        out.push_back(static_cast<char>(v));
    return out;
}

} // namespace wsgw::test
