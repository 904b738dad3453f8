#pragma once
/// sd_notify(3) without libsystemd: one datagram to $NOTIFY_SOCKET. Any thread.

#include <string_view>

namespace wsgw::app {

/// Sends STATE (e.g. "READY=1") if $NOTIFY_SOCKET is set; false if unset or failed.
bool notifySystemd(std::string_view state);

} // namespace wsgw::app
