#include "app/GatewayApp.h"

#include "app/PermissionWatcher.h"
#include "app/Systemd.h"
#include "auth/Authenticator.h"
#include "auth/JwtAuthenticator.h"
#include "auth/JwtVerifier.h"
#include "auth/WebhookAuthenticator.h"
#include "cluster/Broker.h"
#include "cluster/DatabaseSync.h"
#include "cluster/Heartbeat.h"
#include "cluster/ShardRing.h"
#include "config/RuntimeFile.h"
#include "config/Settings.h"
#include "http/PublicHandler.h"
#include "http/PushService.h"
#include "http/Router.h"
#include "http/Server.h"
#include "http/StatService.h"
#include "hub/Metrics.h"
#include "hub/PeerLimits.h"
#include "hub/SnapshotHolder.h"
#include "outbound/AppBackends.h"
#include "session/SessionProtocol.h"
#include "store/Error.h"
#include "store/Secret.h"
#include "store/Store.h"
#include "transport/LoopGroup.h"

#include <Poco/AutoPtr.h>
#include <Poco/ConsoleChannel.h>
#include <Poco/FormattingChannel.h>
#include <Poco/Logger.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/PatternFormatter.h>
#include <Poco/Util/HelpFormatter.h>
#include <Poco/Util/Option.h>
#include <Poco/Util/OptionSet.h>

#include <csignal>
#include <cstdio>
#include <iostream>
#include <random>
#include <unistd.h>

namespace wsgw::app {

namespace {

constexpr int kExitConfig = 78; // EX_CONFIG
constexpr int kExitFailure = 1;

/// A start that cannot succeed says so in one line and exits (SPEC §5).
class StartupError : public std::runtime_error
{
public:
    using std::runtime_error::runtime_error;
};

Poco::Net::ServerSocket listen(const std::string& key, const std::string& address, uint16_t port, int backlog)
{
    try
    {
        Poco::Net::SocketAddress where(address, port);
        Poco::Net::ServerSocket socket;
        if (where.family() == Poco::Net::SocketAddress::IPv6)
            socket.bind6(where, true, false, /*ipV6Only=*/false); // "::" serves IPv4 too
        else
            socket.bind(where, true);
        socket.listen(backlog);
        return socket;
    }
    catch (const Poco::Exception& e)
    {
        throw StartupError("cannot listen on " + address + " port " + std::to_string(port) + ": " + e.displayText() +
                           ". Is another process (another wsgw?) using it? Stop it, or choose another " + key +
                           " in the configuration.");
    }
}

Poco::Net::HTTPServerParams::Ptr httpParams(const config::Settings& settings)
{
    Poco::Net::HTTPServerParams::Ptr params = new Poco::Net::HTTPServerParams;
    params->setMaxThreads(settings.http_max_threads);
    params->setMaxQueued(settings.http_max_queued);
    params->setKeepAlive(true);
    params->setMaxKeepAliveRequests(0); // unlimited: backends push over one connection
    params->setKeepAliveTimeout(Poco::Timespan(settings.http_keep_alive_timeout.count() * 1000));
    params->setTimeout(Poco::Timespan(settings.http_timeout.count() * 1000));
    params->setServerName("wsgw");
    // Idle dispatcher threads wait this long for work, and stop() waits for them: with the
    // default 10 s a stop after a busy period took ~10 s (seen in the benchmark).
    params->setThreadIdleTime(Poco::Timespan(1, 0));
    return params;
}

/// How a local client reaches ADDRESS:PORT.
std::string localUrl(const std::string& address, int port)
{
    std::string host = address;
    if (address == "::" || address == "0.0.0.0" || address.empty())
        host = "127.0.0.1";
    else if (address.find(':') != std::string::npos)
        host = "[" + address + "]";
    return "http://" + host + ":" + std::to_string(port);
}

/// 16 hex digits, new on every start: names this process in the cluster.
std::string randomNodeId()
{
    std::random_device random;
    char text[17];
    std::snprintf(text, sizeof(text), "%08x%08x", random(), random());
    return text;
}

std::string hostName()
{
    char name[256] = {};
    if (::gethostname(name, sizeof(name) - 1) != 0 || !name[0])
        return "localhost";
    return name;
}

/// SPEC §9: the broker for cluster.redis, or null when the node is alone.
std::unique_ptr<cluster::Broker> makeBroker(const config::Settings& settings, hub::Metrics& metrics, int port)
{
    if (settings.cluster_redis.empty())
        return nullptr;
    cluster::Broker::Options options;
    try
    {
        options.servers = cluster::parseServerList(settings.cluster_redis);
    }
    catch (const std::invalid_argument& e)
    {
        throw config::Error("cluster.redis: " + std::string(e.what()));
    }
    if (options.servers.empty())
        return nullptr;
    options.password = settings.cluster_redis_password;
    options.prefix = settings.cluster_prefix;
    options.node_id = randomNodeId();
    options.node_name =
        settings.cluster_node_name.empty() ? hostName() + ":" + std::to_string(port) : settings.cluster_node_name;
    options.timeout = settings.cluster_timeout;
    options.database_subscriber = settings.cluster_role == config::ClusterRole::Replica;
    return std::make_unique<cluster::Broker>(std::move(options), metrics);
}

} // namespace

void GatewayApp::blockTerminationSignals()
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGQUIT);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    // Writes to a vanished peer must fail with EPIPE, not kill the process.
    std::signal(SIGPIPE, SIG_IGN);
}

void GatewayApp::initialize(Poco::Util::Application& self)
{
    // stderr with journald priority prefixes (<3> error … <7> debug).
    Poco::AutoPtr<Poco::PatternFormatter> formatter(new Poco::PatternFormatter("<%l>%s: %t"));
    Poco::AutoPtr<Poco::ConsoleChannel> console(new Poco::ConsoleChannel(std::cerr));
    Poco::AutoPtr<Poco::FormattingChannel> channel(new Poco::FormattingChannel(formatter, console));
    Poco::Logger::root().setChannel(channel);
    Poco::Logger::root().setLevel(Poco::Message::PRIO_INFORMATION);
    ServerApplication::initialize(self);
}

void GatewayApp::defineOptions(Poco::Util::OptionSet& options)
{
    ServerApplication::defineOptions(options);
    options.addOption(Poco::Util::Option("config", "c", "read settings from this INI file (default: built-in)")
                          .required(false)
                          .repeatable(false)
                          .argument("FILE"));
    options.addOption(Poco::Util::Option("help", "h", "print this help and exit").required(false));
    options.addOption(Poco::Util::Option("version", "v", "print the version and exit").required(false));
}

void GatewayApp::handleOption(const std::string& name, const std::string& value)
{
    ServerApplication::handleOption(name, value);
    if (name == "config")
        config_path_ = value;
    else if (name == "help")
    {
        help_requested_ = true;
        stopOptionsProcessing();
    }
    else if (name == "version")
    {
        version_requested_ = true;
        stopOptionsProcessing();
    }
}

int GatewayApp::main(const std::vector<std::string>&)
{
    if (help_requested_)
    {
        Poco::Util::HelpFormatter help(options());
        help.setCommand(commandName());
        help.setUsage("[--config FILE]");
        help.setHeader("wsgw: multi-tenant WebSocket push gateway, compatible with ws-gateway.\n"
                       "Clients connect to ws://HOST:5000/, backends POST to http://HOST:5000/push,\n"
                       "operators read http://127.0.0.1:6000/stat. Stops cleanly on SIGTERM.");
        help.setFooter("Settings: etc/wsgw.ini documents every key and its default. Apps, members and\n"
                       "grants are managed with wsgw-admin while the gateway runs.");
        help.format(std::cout);
        return EXIT_OK;
    }
    if (version_requested_)
    {
        std::cout << "wsgw " << WSGW_VERSION << "\n";
        return EXIT_OK;
    }
    try
    {
        return serve();
    }
    catch (const StartupError& e)
    {
        Poco::Logger::get("wsgw").critical("cannot start: %s", std::string(e.what()));
        return kExitFailure;
    }
    catch (const config::Error& e)
    {
        Poco::Logger::get("wsgw").critical("configuration error: %s", std::string(e.what()));
        return kExitConfig;
    }
    catch (const store::SchemaMismatch& e)
    {
        Poco::Logger::get("wsgw").critical("database error: %s", std::string(e.what()));
        return kExitFailure;
    }
    catch (const store::Error& e)
    {
        Poco::Logger::get("wsgw").critical("database error: %s", std::string(e.what()));
        return kExitFailure;
    }
    catch (const Poco::Exception& e)
    {
        Poco::Logger::get("wsgw").critical("cannot start: %s", e.displayText());
        return kExitFailure;
    }
    catch (const std::exception& e)
    {
        Poco::Logger::get("wsgw").critical("cannot start: %s", std::string(e.what()));
        return kExitFailure;
    }
}

int GatewayApp::serve()
{
    auto& log = Poco::Logger::get("wsgw");
    const config::Settings settings =
        config_path_.empty() ? config::Settings{} : config::Settings::fromFile(config_path_);
    // Before the database: a bad http.trusted_proxies is a configuration error (exit 78).
    auto peer_limits = hub::PeerLimits::Config::fromSettings(settings);
    // So is a JWT key file that cannot be read, or both JWT keys set (SPEC §6).
    const auto jwt = auth::JwtVerifier::fromSettings(settings);
    if (jwt)
        log.information("member JWTs accepted (%s)", auth::algorithmName(jwt->algorithm()));
    // SPEC §6's login methods, in order; a bad authorizer URL or CA file is a configuration error too.
    hub::Metrics metrics;
    auth::Authenticators logins;
    logins.add(std::make_unique<auth::StoredTokens>());
    if (jwt)
        logins.add(std::make_unique<auth::JwtAuthenticator>(*jwt));
    auth::WebhookAuthenticator* authorizer = nullptr;
    if (auto webhook = auth::WebhookAuthenticator::fromSettings(settings, metrics))
    {
        authorizer = webhook.get();
        logins.add(std::move(webhook));
        log.information("logins no stored token or JWT accepts are asked of the authorizer %s", settings.webhook_url);
    }

    // The database is created and migrated on first start; a broken one stops us here,
    // before anything listens.
    hub::SnapshotPtr initial;
    {
        store::Store db(settings.db_path, settings.db_busy_timeout);
        // SPEC §9: a replica's database is a copy wsgw-admin must not change (it
        // keeps the primary's name it last saw); the primary's, or a node
        // alone, is writable — also after serving as a replica before.
        const bool clustered = !settings.cluster_redis.empty();
        auto replica_of = db.replicaOf();
        if (clustered && settings.cluster_role == config::ClusterRole::Replica)
            db.setReplicaOf(replica_of.value_or(std::string()));
        else if (replica_of)
            db.setReplicaOf(std::nullopt);
        initial = std::make_shared<const store::Snapshot>(db.loadSnapshot());
    }
    log.information("database %s: %z apps, %z members", settings.db_path, initial->apps.size(),
                    initial->members.size());

    // Bind both ports before any thread starts: a port in use ends the start
    // here, at once, instead of leaving loop threads behind (issue 9).
    auto public_socket = listen("server.port", settings.address, settings.port, settings.http_backlog);
    auto stat_socket = listen("server.stat_port", settings.stat_address, settings.stat_port, 64);

    // SPEC §9: null when alone — then no Redis thread, no Redis needed, nothing changes.
    auto broker = makeBroker(settings, metrics, public_socket.address().port());
    hub::SnapshotHolder snapshots(initial);
    hub::PeerLimits peers(std::move(peer_limits));
    const std::string admin_key = store::generateSecret();
    http::PushService push(settings, metrics, store::sha256(admin_key));
    http::PublicHandler public_handler(settings, push, metrics, broker.get());
    outbound::AppBackends backends(settings, metrics);
    session::SessionProtocol session(logins, &backends);
    transport::LoopGroup loops(settings, session, public_handler, metrics, peers, snapshots, broker.get());
    http::StatService stats(settings, snapshots, loops, metrics, broker.get());

    loops.start();
    // From here on a failure must stop the loop threads, or the process would wait for them for ever.
    struct StopLoops
    {
        transport::LoopGroup& loops;
        bool armed = true;
        ~StopLoops()
        {
            if (armed)
                loops.shutdown(std::chrono::milliseconds(0));
        }
    } stop_loops{loops};
    // Authorizer and backend answers are posted to the loops: their workers end before the loops do.
    struct StopCalls
    {
        auth::WebhookAuthenticator* authorizer;
        outbound::AppBackends& backends;
        ~StopCalls()
        {
            if (authorizer)
                authorizer->stop();
            backends.stop();
        }
    } stop_calls{authorizer, backends};

    std::unique_ptr<cluster::DatabaseCopier> copier;
    std::unique_ptr<cluster::DatabaseShipper> shipper;
    std::unique_ptr<cluster::Heartbeat> heartbeat;
    // Declared after the loops: on an early exit the broker's thread (which
    // posts to the loops) ends before they do.
    struct StopBroker
    {
        cluster::Broker* broker;
        ~StopBroker()
        {
            if (broker)
                broker->stop();
        }
    } stop_broker{broker.get()};
    if (broker)
    {
        broker->setSink([&loops](std::vector<cluster::Broker::Received>&& received) {
            // Framed once here, on the broker's thread; every loop shares the frames.
            std::vector<transport::Outgoing> pushes;
            pushes.reserve(received.size());
            for (auto& r : received)
                pushes.push_back({std::move(r.app), r.member_id, transport::makeSharedTextFrame(r.payload)});
            loops.deliverRemote(std::move(pushes));
        });
        if (settings.cluster_role == config::ClusterRole::Replica)
        {
            copier = std::make_unique<cluster::DatabaseCopier>(settings.db_path, metrics);
            broker->setDatabaseHandler([copier = copier.get()](std::string image) { copier->offer(std::move(image)); });
            copier->start();
        }
        else
            shipper = std::make_unique<cluster::DatabaseShipper>(*broker, broker->options().node_id,
                                                                 broker->options().node_name);
        heartbeat = std::make_unique<cluster::Heartbeat>(*broker, metrics, [&loops, &settings] {
            std::optional<std::map<std::string, hub::ClusterLink::AppCount>> counts;
            auto live = loops.collectStats(std::chrono::milliseconds(500));
            if (!live)
                return counts;
            counts.emplace();
            for (const auto& [name, app] : live->apps)
            {
                auto& count = (*counts)[name];
                count.connections = app.connections;
                count.members = static_cast<int64_t>(app.members.size());
                count.anonymous = app.anonymous;
                // The lowest presence_limit + 1 ids: enough for the cluster's sorted, truncated list.
                for (int64_t id : app.members)
                {
                    if (count.member_ids.size() > settings.presence_limit)
                        break;
                    count.member_ids.insert(id);
                }
            }
            return counts;
        });
        broker->start();
        heartbeat->start();
        const auto& o = broker->options();
        log.notice("cluster node %s (%s), %s, %z Redis server(s): %s", o.node_name, o.node_id,
                   std::string(settings.cluster_role == config::ClusterRole::Replica ? "replica" : "primary"),
                   o.servers.size(), settings.cluster_redis);
    }
    loops.listen(public_socket.impl()->sockfd());

    auto stat_params = httpParams(settings);
    http::Server stat_server("wsgw-stat", stat_socket, new http::StatRouter(stats), stat_params, settings.http_timeout);
    stat_server.start();

    const int port = public_socket.address().port();
    const int stat_port = stat_socket.address().port();
    const std::string runtime_path = config::runtimeFilePath(settings.db_path);
    try
    {
        config::writeRuntimeFile(runtime_path,
                                 {static_cast<int>(::getpid()), localUrl(settings.address, port) + "/push",
                                  localUrl(settings.stat_address, stat_port), port, stat_port, admin_key});
    }
    catch (const std::exception& e)
    {
        throw StartupError(e.what());
    }

    PermissionWatcher::AfterReload after_reload;
    if (shipper)
        after_reload = [shipper = shipper.get()](store::Store& db) { shipper->ship(db); };
    PermissionWatcher watcher(settings, snapshots, loops, std::move(after_reload));
    watcher.start();

    log.notice("listening: WebSocket and push on %s port %d, stat on %s port %d, %z event loop(s)", settings.address,
               port, settings.stat_address, stat_port, loops.size());
    notifySystemd("READY=1\nSTATUS=serving on port " + std::to_string(port));

    waitForTerminationRequest();

    log.notice("stopping: closing clients with 1001, draining for up to %s ms",
               std::to_string(settings.drain_timeout.count()));
    notifySystemd("STOPPING=1");
    watcher.stop();
    if (heartbeat)
        heartbeat->stop(); // the others stop counting this node at once
    stop_loops.armed = false;
    loops.shutdown(settings.drain_timeout); // stops accepting; requests in progress are answered
    if (authorizer)
        authorizer->stop(); // calls under way end within auth.webhook_timeout_ms
    backends.stop();        // events still queued are dropped (no replay)
    if (broker)
        broker->stop();
    if (copier)
        copier->stop();
    stat_server.stop();
    ::unlink(runtime_path.c_str());
    log.notice("stopped");
    return EXIT_OK;
}

} // namespace wsgw::app
