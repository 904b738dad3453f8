#include "outbound/HttpCaller.h"

#include <Poco/Exception.h>
#include <Poco/Logger.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/Timespan.h>
#include <Poco/URI.h>

#include <algorithm>
#include <istream>
#include <map>
#include <mutex>
#include <ostream>
#include <pthread.h>
#include <stdexcept>
#include <sys/resource.h>
#include <unistd.h>

namespace wsgw::outbound {

namespace {

Poco::Logger& logger()
{
    return Poco::Logger::get("wsgw.outbound");
}

void initializeSslOnce()
{
    static std::once_flag once;
    std::call_once(once, [] { Poco::Net::initializeSSL(); });
}

Poco::Timespan toTimespan(std::chrono::steady_clock::duration d)
{
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
    return Poco::Timespan(std::max<int64_t>(us, 1000));
}

} // namespace

Endpoint Endpoint::parse(const std::string& url)
{
    Poco::URI uri;
    try
    {
        uri = Poco::URI(url);
    }
    catch (const Poco::Exception& e)
    {
        throw std::invalid_argument("'" + url + "' is not a URL: " + e.message());
    }
    Endpoint endpoint;
    if (uri.getScheme() == "https")
        endpoint.https = true;
    else if (uri.getScheme() != "http")
        throw std::invalid_argument("'" + url + "' is not an http:// or https:// URL");
    if (uri.getHost().empty())
        throw std::invalid_argument("'" + url + "' names no host");
    if (!uri.getUserInfo().empty())
        throw std::invalid_argument("'" + url + "' carries user info; put credentials in the authorizer itself");
    if (!uri.getFragment().empty())
        throw std::invalid_argument("'" + url + "' has a fragment, which HTTP never sends");
    endpoint.host = uri.getHost();
    endpoint.port = uri.getPort();
    endpoint.target = uri.getPathAndQuery();
    if (endpoint.target.empty())
        endpoint.target = "/";
    return endpoint;
}

std::string Endpoint::origin() const
{
    return std::string(https ? "https://" : "http://") + host + ":" + std::to_string(port);
}

/// One thread's kept-alive sessions, one per endpoint origin.
class HttpCaller::Worker
{
public:
    Worker(const Options& options, Poco::Net::Context::Ptr tls) : options_(options), tls_(std::move(tls)) {}

    CallResult perform(const Job& job)
    {
        const auto deadline = job.submitted + job.call.timeout;
        CallResult result;
        for (int attempt = 0; attempt < 2; ++attempt)
        {
            if (std::chrono::steady_clock::now() >= deadline)
            {
                result.outcome = CallResult::Outcome::TimedOut;
                result.error = "no answer within " + std::to_string(job.call.timeout.count()) + " ms";
                return result;
            }
            auto& session = sessionFor(*job.call.endpoint);
            const bool reused = session.connected();
            bool stale = false;
            result = attemptCall(session, job, deadline, stale);
            // A kept-alive connection the server closed while idle fails before any
            // answer: try once more on a fresh connection.
            if (!(stale && reused))
                return result;
        }
        return result;
    }

private:
    Poco::Net::HTTPClientSession& sessionFor(const Endpoint& endpoint)
    {
        auto key = endpoint.origin();
        auto it = sessions_.find(key);
        if (it != sessions_.end())
            return *it->second;
        std::unique_ptr<Poco::Net::HTTPClientSession> session;
        if (endpoint.https)
            session = std::make_unique<Poco::Net::HTTPSClientSession>(endpoint.host, endpoint.port, tls_);
        else
            session = std::make_unique<Poco::Net::HTTPClientSession>(endpoint.host, endpoint.port);
        session->setKeepAlive(true);
        return *sessions_.emplace(key, std::move(session)).first->second;
    }

    CallResult attemptCall(Poco::Net::HTTPClientSession& session, const Job& job,
                           std::chrono::steady_clock::time_point deadline, bool& stale)
    {
        CallResult result;
        auto remaining = [&] { return deadline - std::chrono::steady_clock::now(); };
        auto timedOut = [&] {
            result.outcome = CallResult::Outcome::TimedOut;
            result.error = "no answer within " + std::to_string(job.call.timeout.count()) + " ms";
            session.reset();
            return result;
        };
        bool answered = false;
        try
        {
            session.setTimeout(toTimespan(remaining()), toTimespan(remaining()), toTimespan(remaining()));
            if (session.connected())
            {
                session.socket().setSendTimeout(toTimespan(remaining()));
                session.socket().setReceiveTimeout(toTimespan(remaining()));
            }
            Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_POST, job.call.endpoint->target,
                                           Poco::Net::HTTPMessage::HTTP_1_1);
            request.setHost(job.call.endpoint->host, job.call.endpoint->port);
            request.setContentType(job.call.content_type);
            request.setContentLength(static_cast<std::streamsize>(job.call.body.size()));
            request.setKeepAlive(true);
            request.set("User-Agent", "wsgw");
            for (const auto& [name, value] : job.call.headers)
                request.set(name, value);
            std::ostream& out = session.sendRequest(request);
            out.write(job.call.body.data(), static_cast<std::streamsize>(job.call.body.size()));
            out.flush();
            if (!out.good())
                throw Poco::Net::NetException("the request could not be sent");
            Poco::Net::HTTPResponse response;
            std::istream& in = session.receiveResponse(response);
            answered = true;
            result.status = static_cast<int>(response.getStatus());
            char buffer[4096];
            while (true)
            {
                if (remaining() <= std::chrono::steady_clock::duration::zero())
                    return timedOut();
                session.socket().setReceiveTimeout(toTimespan(remaining()));
                in.read(buffer, sizeof(buffer));
                auto n = static_cast<size_t>(in.gcount());
                if (result.body.size() + n > options_.max_response_bytes)
                {
                    session.reset();
                    result.outcome = CallResult::Outcome::Failed;
                    result.error = "response body over " + std::to_string(options_.max_response_bytes) + " bytes";
                    return result;
                }
                result.body.append(buffer, n);
                if (in.eof())
                    break;
                if (!in.good())
                {
                    const Poco::Exception* e = session.networkException();
                    if (e && dynamic_cast<const Poco::TimeoutException*>(e))
                        return timedOut();
                    throw Poco::Net::NetException(e ? e->displayText() : "the response body broke off");
                }
            }
            if (!response.getKeepAlive())
                session.reset();
            result.outcome = CallResult::Outcome::Answered;
            return result;
        }
        catch (const Poco::TimeoutException&)
        {
            return timedOut();
        }
        catch (const Poco::Exception& e)
        {
            session.reset();
            stale = !answered && (dynamic_cast<const Poco::Net::NoMessageException*>(&e) ||
                                  dynamic_cast<const Poco::Net::ConnectionResetException*>(&e) ||
                                  dynamic_cast<const Poco::Net::ConnectionAbortedException*>(&e));
            result.outcome = CallResult::Outcome::Failed;
            result.error = e.displayText();
            return result;
        }
        catch (const std::exception& e)
        {
            session.reset();
            result.outcome = CallResult::Outcome::Failed;
            result.error = e.what();
            return result;
        }
    }

    const Options& options_;
    Poco::Net::Context::Ptr tls_;
    std::map<std::string, std::unique_ptr<Poco::Net::HTTPClientSession>> sessions_;
};

HttpCaller::HttpCaller(Options options) : options_(std::move(options))
{
    if (options_.max_in_flight == 0)
        options_.max_in_flight = 1;
    try
    {
        initializeSslOnce();
        // A client context: the server's certificate is verified, and its name
        // checked against the host, with the system's CAs plus CA_FILE if given.
        // STRICT, not RELAXED: Poco skips the host name check for loopback
        // hosts unless the mode is strict.
        tls_ = new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, "", "", options_.ca_file,
                                      Poco::Net::Context::VERIFY_STRICT, 9, true);
    }
    catch (const Poco::Exception& e)
    {
        throw std::invalid_argument("cannot set up TLS" +
                                    (options_.ca_file.empty() ? std::string() : " with '" + options_.ca_file + "'") +
                                    ": " + e.displayText());
    }
}

HttpCaller::~HttpCaller()
{
    stop();
}

bool HttpCaller::submit(Call call, Completion done)
{
    if (in_flight_.fetch_add(1, std::memory_order_relaxed) >= options_.max_in_flight)
    {
        in_flight_.fetch_sub(1, std::memory_order_relaxed);
        return false;
    }
    std::lock_guard lock(mutex_);
    if (stopping_)
    {
        in_flight_.fetch_sub(1, std::memory_order_relaxed);
        return false;
    }
    queue_.push_back(Job{std::move(call), std::move(done), std::chrono::steady_clock::now()});
    if (idle_ < queue_.size() && threads_.size() < options_.max_in_flight)
    {
        const size_t index = threads_.size();
        threads_.emplace_back([this, index] { work(index); });
    }
    else
    {
        wake_.notify_one();
    }
    return true;
}

size_t HttpCaller::threads() const
{
    std::lock_guard lock(mutex_);
    return threads_.size();
}

void HttpCaller::stop()
{
    std::vector<std::thread> threads;
    {
        std::lock_guard lock(mutex_);
        if (stopping_ && threads_.empty())
            return;
        stopping_ = true;
        in_flight_.fetch_sub(queue_.size(), std::memory_order_relaxed);
        queue_.clear();
        threads.swap(threads_);
    }
    wake_.notify_all();
    for (auto& thread : threads)
        thread.join();
}

void HttpCaller::work(size_t index)
{
    std::string name = options_.name.substr(0, 11) + "-" + std::to_string(index);
    pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
    // Outbound calls are background work next to delivery: when they share a
    // core with an event loop, the loop comes first (Linux nice is per thread).
    if (options_.nice > 0)
        ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), options_.nice);
    Worker worker(options_, tls_);
    std::unique_lock lock(mutex_);
    while (true)
    {
        ++idle_;
        wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        --idle_;
        if (stopping_)
            return;
        Job job = std::move(queue_.front());
        queue_.pop_front();
        lock.unlock();
        CallResult result = worker.perform(job);
        result.elapsed_ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - job.submitted)
                .count();
        in_flight_.fetch_sub(1, std::memory_order_relaxed);
        try
        {
            job.done(std::move(result));
        }
        catch (const std::exception& e)
        {
            logger().error("%s: a completion threw: %s", options_.name, std::string(e.what()));
        }
        job = Job{};
        lock.lock();
    }
}

} // namespace wsgw::outbound
