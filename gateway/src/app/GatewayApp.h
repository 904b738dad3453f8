#pragma once
/// The wsgw daemon: Poco ServerApplication lifecycle. Loads settings, opens and
/// migrates the database, starts loops, HTTP servers and the permission
/// watcher, tells systemd it is ready, and on SIGTERM/SIGINT drains and exits 0.
/// Main thread only.

#include <Poco/Util/ServerApplication.h>

#include <string>

namespace wsgw::app {

class GatewayApp : public Poco::Util::ServerApplication
{
public:
    /// Blocks SIGTERM, SIGINT and SIGQUIT in the calling thread, so that every
    /// thread started later inherits the mask and only the main thread's
    /// sigwait() sees them. Call first thing in main().
    static void blockTerminationSignals();

protected:
    void initialize(Poco::Util::Application& self) override;
    void defineOptions(Poco::Util::OptionSet& options) override;
    void handleOption(const std::string& name, const std::string& value) override;
    int main(const std::vector<std::string>& args) override;

private:
    int serve();

    std::string config_path_;
    bool help_requested_ = false;
    bool version_requested_ = false;
};

} // namespace wsgw::app
