#include "http/Server.h"

#include "http/JsonReply.h"
#include "transport/HttpFraming.h"

#include <Poco/Logger.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/Net/HTTPServerResponseImpl.h>
#include <Poco/Net/HTTPServerSession.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/TCPServerConnection.h>
#include <Poco/Net/TCPServerConnectionFactory.h>
#include <Poco/Timestamp.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <sys/socket.h>
#include <thread>

namespace wsgw::http {

namespace {

enum class Phase : int
{
    Idle,     ///< between requests (keep-alive)
    Reading,  ///< reading headers or body: the deadline answers 408
    Handling, ///< the handler is replying: the deadline only cuts the connection
};

struct ConnectionState
{
    int fd = -1; ///< guarded by the tracker's mutex once registered
    ConnectionTracker* tracker = nullptr;
    std::atomic<Phase> phase{Phase::Idle};
    std::atomic<bool> expired{false};
};

thread_local ConnectionState* current_state = nullptr;

} // namespace

/// Live connections and their request deadlines, watched by one thread.
class ConnectionTracker
{
public:
    explicit ConnectionTracker(std::chrono::milliseconds deadline) : deadline_(deadline)
    {
        thread_ = std::thread([this] { watch(); });
    }

    ~ConnectionTracker()
    {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        wake_.notify_all();
        thread_.join();
    }

    void add(ConnectionState* state)
    {
        std::lock_guard lock(mutex_);
        live_.insert(state);
    }

    void remove(ConnectionState* state)
    {
        std::lock_guard lock(mutex_);
        disarmLocked(state);
        live_.erase(state);
    }

    /// Starts the deadline for the request about to be read on STATE.
    void arm(ConnectionState* state)
    {
        std::lock_guard lock(mutex_);
        disarmLocked(state);
        state->phase = Phase::Reading;
        auto when = std::chrono::steady_clock::now() + deadline_;
        armed_[state] = deadlines_.emplace(when, state);
        if (deadlines_.begin()->second == state)
            wake_.notify_all();
    }

    void disarm(ConnectionState* state)
    {
        std::lock_guard lock(mutex_);
        disarmLocked(state);
        state->phase = Phase::Idle;
    }

    bool stopping() const
    {
        std::lock_guard lock(mutex_);
        return closing_;
    }

    /// How many accepted connections wait for a pool thread (set once the server exists).
    void setQueueProbe(std::function<int()> probe) { queued_ = std::move(probe); }

    /// A pool thread serves one connection at a time, so a keep-alive connection
    /// that is always busy would starve the ones queued behind it. While others
    /// wait, each connection is closed after its current request, and the client's
    /// reconnect queues behind them: fair turns instead of starvation.
    bool othersWaiting() const { return queued_ && queued_() > 0; }

    /// Server stop: wake every connection waiting for its next keep-alive request.
    void closeIdle()
    {
        std::lock_guard lock(mutex_);
        closing_ = true;
        for (ConnectionState* state : live_)
        {
            if (state->phase == Phase::Idle && state->fd >= 0)
                ::shutdown(state->fd, SHUT_RDWR);
        }
    }

private:
    void disarmLocked(ConnectionState* state)
    {
        auto it = armed_.find(state);
        if (it != armed_.end())
        {
            deadlines_.erase(it->second);
            armed_.erase(it);
        }
    }

    void watch()
    {
        std::unique_lock lock(mutex_);
        while (!stopping_)
        {
            if (deadlines_.empty())
            {
                wake_.wait(lock);
                continue;
            }
            auto first = deadlines_.begin();
            // A copy: the node may be erased while we wait without the lock.
            const auto when = first->first;
            if (std::chrono::steady_clock::now() < when)
            {
                wake_.wait_until(lock, when);
                continue;
            }
            ConnectionState* state = first->second;
            armed_.erase(state);
            deadlines_.erase(first);
            if (state->fd < 0)
                continue;
            state->expired = true;
            if (state->phase == Phase::Reading)
            {
                // SPEC §5: too slow -> 408. Written from here because the pool
                // thread is blocked in a read that only this shutdown ends.
                std::string body = errorBody(408, "request not received in time");
                std::string response = "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n"
                                       "Content-Type: application/json\r\nContent-Length: " +
                                       std::to_string(body.size()) + "\r\n\r\n" + body;
                [[maybe_unused]] ssize_t n =
                    ::send(state->fd, response.data(), response.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
            }
            ::shutdown(state->fd, SHUT_RDWR);
        }
    }

    const std::chrono::milliseconds deadline_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::multimap<std::chrono::steady_clock::time_point, ConnectionState*> deadlines_;
    std::map<ConnectionState*, std::multimap<std::chrono::steady_clock::time_point, ConnectionState*>::iterator> armed_;
    std::set<ConnectionState*> live_;
    bool stopping_ = false;
    bool closing_ = false;
    std::function<int()> queued_;
    std::thread thread_;
};

namespace {

void sendRaw(Poco::Net::HTTPServerSession& session, int status, const std::string& message)
{
    Poco::Net::HTTPServerResponseImpl response(session);
    response.setVersion(Poco::Net::HTTPMessage::HTTP_1_1);
    response.setKeepAlive(false);
    sendError(response, status, message);
    session.setKeepAlive(false);
}

/// One TCP connection: requests in sequence (keep-alive), each guarded.
class GuardedConnection : public Poco::Net::TCPServerConnection
{
public:
    GuardedConnection(const Poco::Net::StreamSocket& socket, Poco::Net::HTTPServerParams::Ptr params,
                      Poco::Net::HTTPRequestHandlerFactory::Ptr factory, std::shared_ptr<ConnectionTracker> tracker)
        : TCPServerConnection(socket), params_(std::move(params)), factory_(std::move(factory)),
          tracker_(std::move(tracker))
    {}

    void run() override
    {
        ConnectionState state;
        state.fd = socket().impl()->sockfd();
        state.tracker = tracker_.get();
        tracker_->add(&state);
        current_state = &state;
        try
        {
            serve(state);
        }
        catch (const Poco::Exception& e)
        {
            if (!state.expired)
                Poco::Logger::get("wsgw.http").debug("connection ended: %s", e.displayText());
        }
        current_state = nullptr;
        tracker_->remove(&state);
    }

private:
    void serve(ConnectionState& state)
    {
        Poco::Net::HTTPServerSession session(socket(), params_);
        while (!tracker_->stopping() && session.hasMoreRequests())
        {
            tracker_->arm(&state);
            try
            {
                Poco::Net::HTTPServerResponseImpl response(session);
                Poco::Net::HTTPServerRequestImpl request(response, session, params_.get());
                response.setDate(Poco::Timestamp());
                response.setVersion(request.getVersion());
                response.setKeepAlive(params_->getKeepAlive() && request.getKeepAlive() && session.canKeepAlive() &&
                                      !tracker_->othersWaiting());
                response.set("Server", "wsgw");
                if (auto rejection = transport::checkFraming(request))
                {
                    // SPEC §5: smuggling shapes are refused before any body is read.
                    response.setKeepAlive(false);
                    sendError(response, rejection->status, rejection->message);
                    session.setKeepAlive(false);
                    tracker_->disarm(&state);
                    break;
                }
                // SPEC §5: these handlers read no body, so a request with one ends the
                // connection: its body is never parsed as the next request.
                const bool has_body = request.getChunkedTransferEncoding() || request.getContentLength64() > 0;
                if (has_body)
                    response.setKeepAlive(false);
                std::unique_ptr<Poco::Net::HTTPRequestHandler> handler(factory_->createRequestHandler(request));
                if (handler)
                    handler->handleRequest(request, response);
                else
                    sendError(response, 404, "not found");
                session.setKeepAlive(params_->getKeepAlive() && response.getKeepAlive() && session.canKeepAlive() &&
                                     !has_body);
            }
            catch (const Poco::Net::NoMessageException&)
            {
                break; // the client closed between requests
            }
            catch (const Poco::Net::MessageException&)
            {
                if (!state.expired)
                    sendRaw(session, 400, "malformed HTTP request");
                break;
            }
            catch (const Poco::SyntaxException&)
            {
                if (!state.expired)
                    sendRaw(session, 400, "malformed HTTP request header");
                break;
            }
            catch (const Poco::Exception&)
            {
                if (state.expired)
                    break;
                throw;
            }
            tracker_->disarm(&state);
            if (state.expired)
                break;
        }
        tracker_->disarm(&state);
    }

    Poco::Net::HTTPServerParams::Ptr params_;
    Poco::Net::HTTPRequestHandlerFactory::Ptr factory_;
    std::shared_ptr<ConnectionTracker> tracker_;
};

class GuardedConnectionFactory : public Poco::Net::TCPServerConnectionFactory
{
public:
    GuardedConnectionFactory(Poco::Net::HTTPServerParams::Ptr params, Poco::Net::HTTPRequestHandlerFactory::Ptr factory,
                             std::shared_ptr<ConnectionTracker> tracker)
        : params_(std::move(params)), factory_(std::move(factory)), tracker_(std::move(tracker))
    {}

    Poco::Net::TCPServerConnection* createConnection(const Poco::Net::StreamSocket& socket) override
    {
        return new GuardedConnection(socket, params_, factory_, tracker_);
    }

private:
    Poco::Net::HTTPServerParams::Ptr params_;
    Poco::Net::HTTPRequestHandlerFactory::Ptr factory_;
    std::shared_ptr<ConnectionTracker> tracker_;
};

} // namespace

void markRequestRead()
{
    if (current_state)
        current_state->phase = Phase::Handling;
}

Server::Server(const std::string& name, const Poco::Net::ServerSocket& socket,
               Poco::Net::HTTPRequestHandlerFactory::Ptr factory, Poco::Net::HTTPServerParams::Ptr params,
               std::chrono::milliseconds request_deadline)
    : tracker_(std::make_shared<ConnectionTracker>(request_deadline)), pool_(name, 1, params->getMaxThreads())
{
    tcp_ = std::make_unique<Poco::Net::TCPServer>(new GuardedConnectionFactory(params, factory, tracker_), pool_,
                                                  socket, params);
    tracker_->setQueueProbe([tcp = tcp_.get()] { return tcp->queuedConnections(); });
}

Server::~Server()
{
    stop();
}

void Server::start()
{
    tcp_->start();
}

void Server::stop()
{
    if (stopped_)
        return;
    stopped_ = true;
    tcp_->stop();
    tracker_->closeIdle();
    pool_.joinAll();
}

} // namespace wsgw::http
