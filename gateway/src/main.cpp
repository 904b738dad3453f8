// wsgw: the WebSocket push gateway daemon. Only wiring lives here.

#include "app/GatewayApp.h"

int main(int argc, char** argv)
{
    // Before any thread exists, so that every thread inherits the blocked mask.
    wsgw::app::GatewayApp::blockTerminationSignals();
    wsgw::app::GatewayApp app;
    return app.run(argc, argv);
}
