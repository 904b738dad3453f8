#pragma once
/// The schema scripts of schema/, embedded at build time (cmake/EmbedSchema.cmake). Any thread.

#include <vector>

namespace wsgw::store {

struct SchemaScript
{
    int version;      ///< 1, 2, ... in order; PRAGMA user_version after applying it
    const char* file; ///< the source file name, for messages
    const char* sql;
};

/// All scripts in version order; the last one's version is the newest schema.
const std::vector<SchemaScript>& schemaScripts();

} // namespace wsgw::store
