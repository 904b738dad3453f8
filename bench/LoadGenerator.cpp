// wsgw-bench: a single-threaded epoll load generator for WebSocket push servers
// (wsgw and Nchan). N subscribers with real handshakes and masked frames, HTTP
// keep-alive publishers (closed loop with a window, or a fixed rate), a send
// timestamp in every pushed text, a per-delivery latency histogram, loss
// counting, and the server's RSS, threads, fds and CPU time from /proc/PID.
// Prints one JSON object. Talks to 127.0.0.1 only; every phase has a deadline.

#include "transport/FrameWriter.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <map>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sstream>
#include <stdexcept>
#include <string>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

int64_t nowNs()
{
    return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

struct Options
{
    std::string target = "wsgw"; ///< wsgw | nchan
    int port = 0;                ///< WebSocket and publish port
    int pid = 0;                 ///< server process, for /proc figures
    std::string mode = "fanout"; ///< idle | fanout | rate | members | churn
    int clients = 1000;
    double seconds = 10;
    int window = 4;  ///< closed loop: pushes not yet delivered to everyone
    double rate = 0; ///< rate mode: pushes per second (open loop)
    int text_bytes = 100;
    int batch = 1;            ///< wsgw: pushes per request (JSON array)
    int slow = 0;             ///< subscribers that never read (SO_RCVBUF 4 KiB)
    int waves = 20;           ///< churn mode
    int max_connecting = 512; ///< handshakes in flight at once
};

struct Server
{
    long rss_kb = 0;
    long threads = 0;
    long fds = 0;
    double cpu_s = 0;
};

Server readServer(int pid)
{
    Server s;
    if (pid <= 0)
        return s;
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(status, line);)
    {
        if (line.rfind("VmRSS:", 0) == 0)
            s.rss_kb = std::atol(line.c_str() + 6);
        if (line.rfind("Threads:", 0) == 0)
            s.threads = std::atol(line.c_str() + 8);
    }
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    auto close = text.rfind(')');
    std::istringstream fields(text.substr(close + 2));
    std::string field;
    long utime = 0, stime = 0;
    for (int i = 3; fields >> field; ++i)
    {
        if (i == 14)
            utime = std::atol(field.c_str());
        if (i == 15)
        {
            stime = std::atol(field.c_str());
            break;
        }
    }
    s.cpu_s = static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
    std::error_code ec;
    for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
        ++s.fds;
    return s;
}

int connectTo(int port, int rcvbuf = 0)
{
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    if (rcvbuf > 0)
        ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    if (rc != 0 && errno != EINPROGRESS)
        throw std::runtime_error(std::string("connect: ") + std::strerror(errno));
    return fd;
}

/// Latency histogram in microseconds, log-linear buckets (about 1 % resolution).
class Histogram
{
public:
    void add(int64_t us)
    {
        us = std::max<int64_t>(us, 0);
        ++buckets_[bucket(us)];
        ++count_;
        max_ = std::max(max_, us);
    }
    double percentile(double p) const
    {
        if (count_ == 0)
            return 0;
        uint64_t want = static_cast<uint64_t>(p * static_cast<double>(count_));
        uint64_t seen = 0;
        for (const auto& [b, n] : buckets_)
        {
            seen += n;
            if (seen > want)
                return static_cast<double>(value(b));
        }
        return static_cast<double>(max_);
    }
    int64_t max() const { return max_; }

private:
    static int bucket(int64_t us)
    {
        if (us < 128)
            return static_cast<int>(us);
        int exp = 63 - __builtin_clzll(static_cast<uint64_t>(us)); // >= 7
        int mantissa = static_cast<int>((us >> (exp - 6)) & 63);
        return 128 + (exp - 7) * 64 + mantissa;
    }
    static int64_t value(int b)
    {
        if (b < 128)
            return b;
        int exp = (b - 128) / 64 + 7;
        int mantissa = (b - 128) % 64;
        return (int64_t{64 + mantissa}) << (exp - 6);
    }
    std::map<int, uint64_t> buckets_;
    uint64_t count_ = 0;
    int64_t max_ = 0;
};

struct Subscriber
{
    int fd = -1;
    int stage = 0; ///< 0 handshake sent, 1 upgraded (replies pending), 2 ready
    int replies = 0;
    bool slow = false;
    std::string buffer;
    uint64_t received = 0;
};

struct Publisher
{
    int fd = -1;
    bool busy = false;
    bool closing = false; ///< the server said Connection: close
    std::string buffer;
};

class Bench
{
public:
    explicit Bench(Options options) : o_(std::move(options))
    {
        ep_ = ::epoll_create1(EPOLL_CLOEXEC);
        padding_.assign(static_cast<size_t>(std::max(0, o_.text_bytes - 40)), 'x');
    }

    std::string run()
    {
        if (o_.mode == "churn")
            return churn();
        Server before_connect = readServer(o_.pid);
        double connect_s = connectAll(o_.clients, o_.slow);
        Server after_connect = readServer(o_.pid);
        std::ostringstream out;
        out << "{\"target\":\"" << o_.target << "\",\"mode\":\"" << o_.mode << "\",\"clients\":" << o_.clients
            << ",\"connect_s\":" << connect_s << ",\"connects_per_s\":" << o_.clients / connect_s
            << ",\"rss_kb\":" << after_connect.rss_kb
            << ",\"rss_per_conn_bytes\":" << (after_connect.rss_kb - before_connect.rss_kb) * 1024.0 / o_.clients
            << ",\"threads\":" << after_connect.threads << ",\"server_fds\":" << after_connect.fds;
        if (o_.mode != "idle")
            out << "," << publishPhase();
        out << "}";
        return out.str();
    }

private:
    // ---- subscribers

    std::string subscribePath(int i) const
    {
        if (o_.target == "nchan")
            return "/sub/" + channel(i);
        return "/ws";
    }

    std::string channel(int i) const { return o_.mode == "members" ? "c" + std::to_string(i) : "match"; }

    std::string handshake(int i) const
    {
        std::string request = "GET " + subscribePath(i) +
                              " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
        if (o_.target == "wsgw")
        {
            // Auth and subscribe ride behind the handshake (wsgw reads ahead).
            request += wsgw::transport::makeClientFrame(wsgw::transport::Opcode::Text, R"({"member_id":-1,"token":""})",
                                                        0x11223344);
            request += wsgw::transport::makeClientFrame(wsgw::transport::Opcode::Text,
                                                        "{\"app\":\"" + channel(i) + "\"}", 0x55667788);
        }
        return request;
    }

    void add(int fd, uint32_t tag, uint32_t events = EPOLLIN)
    {
        epoll_event event{};
        event.events = events;
        event.data.u32 = tag;
        ::epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &event);
    }

    static void sendAll(int fd, const std::string& bytes)
    {
        size_t sent = 0;
        auto deadline = Clock::now() + std::chrono::seconds(10);
        while (sent < bytes.size())
        {
            ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
            if (n > 0)
                sent += static_cast<size_t>(n);
            else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOTCONN))
            {
                if (Clock::now() > deadline)
                    throw std::runtime_error("send timed out");
                ::usleep(50);
            }
            else
                throw std::runtime_error(std::string("send: ") + std::strerror(errno));
        }
    }

    /// Connects N subscribers (the first SLOW never read); returns seconds until all are ready.
    double connectAll(int n, int slow)
    {
        subs_.assign(static_cast<size_t>(n), Subscriber{});
        auto start = Clock::now();
        auto deadline = start + std::chrono::seconds(120);
        int next = 0, ready = 0, connecting = 0;
        std::vector<epoll_event> events(1024);
        while (ready < n)
        {
            while (next < n && connecting < o_.max_connecting)
            {
                auto& s = subs_[static_cast<size_t>(next)];
                s.slow = next < slow;
                s.fd = connectTo(o_.port, s.slow ? 4096 : 0);
                add(s.fd, static_cast<uint32_t>(next), EPOLLOUT | EPOLLIN);
                ++next;
                ++connecting;
            }
            if (Clock::now() > deadline)
                throw std::runtime_error("connect phase: " + std::to_string(ready) + " of " + std::to_string(n) +
                                         " ready after 120 s");
            int count = ::epoll_wait(ep_, events.data(), static_cast<int>(events.size()), 1000);
            for (int k = 0; k < count; ++k)
            {
                auto i = events[static_cast<size_t>(k)].data.u32;
                auto& s = subs_[i];
                if ((events[static_cast<size_t>(k)].events & EPOLLOUT) && s.stage == 0 && s.buffer.empty())
                {
                    sendAll(s.fd, handshake(static_cast<int>(i)));
                    s.buffer = " "; // marker: handshake sent
                    epoll_event event{};
                    event.events = EPOLLIN;
                    event.data.u32 = i;
                    ::epoll_ctl(ep_, EPOLL_CTL_MOD, s.fd, &event);
                    continue;
                }
                if (s.stage < 2 && readHandshake(s))
                {
                    ++ready;
                    --connecting;
                }
            }
        }
        for (auto& s : subs_)
        {
            if (s.slow)
                ::epoll_ctl(ep_, EPOLL_CTL_DEL, s.fd, nullptr); // never read again
        }
        return std::chrono::duration<double>(Clock::now() - start).count();
    }

    /// Reads the 101 and (wsgw) the two replies; true once the subscriber is ready.
    bool readHandshake(Subscriber& s)
    {
        char chunk[16384];
        ssize_t n = ::recv(s.fd, chunk, sizeof(chunk), 0);
        if (n <= 0)
        {
            if (n == 0)
                throw std::runtime_error("server closed a connection during the handshake");
            return false;
        }
        if (s.buffer == " ")
            s.buffer.clear();
        s.buffer.append(chunk, static_cast<size_t>(n));
        if (s.stage == 0)
        {
            auto end = s.buffer.find("\r\n\r\n");
            if (end == std::string::npos)
                return false;
            if (s.buffer.compare(0, 12, "HTTP/1.1 101") != 0)
                throw std::runtime_error("handshake refused: " + s.buffer.substr(0, s.buffer.find('\r')));
            s.buffer.erase(0, end + 4);
            s.stage = 1;
        }
        if (o_.target == "nchan")
        {
            s.stage = 2;
            s.buffer.clear();
            return true;
        }
        std::string_view payload;
        while (nextFrame(s, payload))
            ++s.replies;
        if (s.replies >= 2)
        {
            s.stage = 2;
            return true;
        }
        return false;
    }

    /// Pops one complete server frame's payload from S's buffer (valid until the next call).
    bool nextFrame(Subscriber& s, std::string_view& payload)
    {
        if (s.buffer.size() < 2)
            return false;
        auto b1 = static_cast<uint8_t>(s.buffer[1]) & 0x7f;
        size_t header = 2;
        uint64_t length = b1;
        if (b1 == 126)
        {
            if (s.buffer.size() < 4)
                return false;
            length = (uint64_t{static_cast<uint8_t>(s.buffer[2])} << 8) | static_cast<uint8_t>(s.buffer[3]);
            header = 4;
        }
        else if (b1 == 127)
        {
            if (s.buffer.size() < 10)
                return false;
            length = 0;
            for (size_t j = 2; j < 10; ++j)
                length = (length << 8) | static_cast<uint8_t>(s.buffer[j]);
            header = 10;
        }
        if (s.buffer.size() < header + length)
            return false;
        frame_.assign(s.buffer, header, length);
        s.buffer.erase(0, header + length);
        payload = frame_;
        return true;
    }

    // ---- publishing

    std::string pushText(uint64_t id) const
    {
        return std::to_string(id) + ":" + std::to_string(nowNs()) + ":" + padding_;
    }

    std::string request(uint64_t first_id, int count)
    {
        std::string body;
        std::string path = "/push";
        if (o_.target == "nchan")
        {
            body = pushText(first_id);
            path = "/pub/" + channel(static_cast<int>(first_id % static_cast<uint64_t>(o_.clients)));
        }
        else
        {
            if (count > 1)
                body = "[";
            for (int k = 0; k < count; ++k)
            {
                uint64_t id = first_id + static_cast<uint64_t>(k);
                if (k > 0)
                    body += ",";
                body += "{\"app\":\"" + channel(static_cast<int>(id % static_cast<uint64_t>(o_.clients))) +
                        "\",\"member_id\":-1,\"text\":\"" + pushText(id) + "\"}";
            }
            if (count > 1)
                body += "]";
        }
        return "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: " +
               std::to_string(body.size()) + "\r\n\r\n" + body;
    }

    /// Consumes one HTTP response from P's buffer; true when one was complete.
    static bool nextResponse(Publisher& p, int& status)
    {
        // (A server may end keep-alive with Connection: close; the publisher then reconnects.)
        auto end = p.buffer.find("\r\n\r\n");
        if (end == std::string::npos)
            return false;
        status = std::atoi(p.buffer.c_str() + 9);
        std::string head = p.buffer.substr(0, end);
        for (auto& c : head)
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        size_t body_end = end + 4;
        auto cl = head.find("content-length:");
        if (cl != std::string::npos)
            body_end += static_cast<size_t>(std::atol(head.c_str() + cl + 15));
        else if (head.find("transfer-encoding: chunked") != std::string::npos)
        {
            auto last = p.buffer.find("\r\n0\r\n\r\n", end);
            if (last == std::string::npos)
                return false;
            body_end = last + 7;
        }
        if (p.buffer.size() < body_end)
            return false;
        p.closing = head.find("connection: close") != std::string::npos;
        p.buffer.erase(0, body_end);
        return true;
    }

    std::string publishPhase()
    {
        const int publishers = std::max(1, o_.mode == "rate" ? 64 : o_.window);
        std::vector<Publisher> pubs(static_cast<size_t>(publishers));
        const uint32_t kPublisherTag = 1u << 31;
        for (size_t k = 0; k < pubs.size(); ++k)
        {
            pubs[k].fd = connectTo(o_.port);
            add(pubs[k].fd, kPublisherTag | static_cast<uint32_t>(k));
        }
        // Give non-blocking connects a moment to finish before sending on them.
        const uint64_t per_push = o_.mode == "members" ? 1 : static_cast<uint64_t>(o_.clients - o_.slow);
        std::vector<uint32_t> delivered;
        delivered.reserve(1 << 20);
        uint64_t sent = 0, completed = 0, responses = 0, errors = 0, reconnects = 0;
        Histogram latency;
        Server before = readServer(o_.pid);
        auto start = Clock::now();
        auto stop_sending =
            start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o_.seconds));
        auto hard_stop = stop_sending + std::chrono::seconds(10);
        double interval_ns = o_.rate > 0 ? 1e9 / o_.rate : 0;
        int64_t next_send_ns = nowNs();
        uint64_t deliveries = 0;
        auto markDelivered = [&](uint64_t id, int64_t sent_ns) {
            if (id >= delivered.size())
                delivered.resize(id + 1024, 0);
            if (++delivered[id] == per_push)
                ++completed;
            ++deliveries;
            latency.add((nowNs() - sent_ns) / 1000);
        };
        auto trySend = [&](Publisher& p) {
            if (p.busy || Clock::now() >= stop_sending)
                return;
            if (o_.rate > 0)
            {
                if (nowNs() < next_send_ns)
                    return;
                next_send_ns += static_cast<int64_t>(interval_ns * o_.batch);
            }
            else if (sent - completed >= static_cast<uint64_t>(o_.window) * static_cast<uint64_t>(o_.batch))
                return;
            int count = o_.target == "wsgw" ? o_.batch : 1;
            sendAll(p.fd, request(sent, count));
            sent += static_cast<uint64_t>(count);
            p.busy = true;
        };
        std::vector<epoll_event> events(1024);
        char chunk[65536];
        while (Clock::now() < hard_stop)
        {
            bool sending = Clock::now() < stop_sending;
            if (!sending && completed >= sent)
                break;
            for (auto& p : pubs)
                trySend(p);
            int timeout = 1;
            int count = ::epoll_wait(ep_, events.data(), static_cast<int>(events.size()), timeout);
            for (int k = 0; k < count; ++k)
            {
                uint32_t tag = events[static_cast<size_t>(k)].data.u32;
                if (tag & kPublisherTag)
                {
                    auto& p = pubs[tag & ~kPublisherTag];
                    ssize_t n = ::recv(p.fd, chunk, sizeof(chunk), 0);
                    if (n > 0)
                        p.buffer.append(chunk, static_cast<size_t>(n));
                    int status = 0;
                    while (nextResponse(p, status))
                    {
                        ++responses;
                        if (status >= 300)
                            ++errors;
                        p.busy = false;
                    }
                    if (n == 0 || p.closing)
                    {
                        if (p.busy)
                            throw std::runtime_error("a publisher connection closed with a request outstanding");
                        ::close(p.fd);
                        p.fd = connectTo(o_.port);
                        p.closing = false;
                        p.buffer.clear();
                        add(p.fd, tag);
                        ++reconnects;
                    }
                    trySend(p);
                    continue;
                }
                auto& s = subs_[tag];
                ssize_t n = ::recv(s.fd, chunk, sizeof(chunk), 0);
                if (n <= 0)
                    continue;
                s.buffer.append(chunk, static_cast<size_t>(n));
                std::string_view payload;
                while (nextFrame(s, payload))
                {
                    // wsgw wraps the text in {"app":..,"member_id":..,"text":"ID:NS:..."}; Nchan sends it as is.
                    auto at = o_.target == "wsgw" ? payload.find("\"text\":\"") : std::string_view::npos;
                    auto text = at == std::string_view::npos ? payload : payload.substr(at + 8);
                    char* end = nullptr;
                    uint64_t id = std::strtoull(text.data(), &end, 10);
                    if (!end || *end != ':')
                        continue;
                    int64_t sent_ns = std::strtoll(end + 1, nullptr, 10);
                    ++s.received;
                    markDelivered(id, sent_ns);
                }
            }
        }
        double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
        Server after = readServer(o_.pid);
        uint64_t expected = sent * per_push;
        uint64_t lost = expected > deliveries ? expected - deliveries : 0;
        double cpu = after.cpu_s - before.cpu_s;
        std::ostringstream out;
        out << "\"pushes\":" << sent << ",\"push_errors\":" << errors << ",\"publisher_reconnects\":" << reconnects
            << ",\"seconds\":" << elapsed << ",\"pushes_per_s\":" << sent / elapsed << ",\"deliveries\":" << deliveries
            << ",\"deliveries_per_s\":" << deliveries / elapsed << ",\"lost\":" << lost
            << ",\"cpu_us_per_delivery\":" << (deliveries ? cpu * 1e6 / static_cast<double>(deliveries) : 0)
            << ",\"server_cpu_s\":" << cpu << ",\"p50_us\":" << latency.percentile(0.50)
            << ",\"p99_us\":" << latency.percentile(0.99) << ",\"max_us\":" << latency.max()
            << ",\"rss_kb_end\":" << after.rss_kb;
        for (auto& p : pubs)
            ::close(p.fd);
        return out.str();
    }

    /// Issue 6 leak check: waves of connect, auth, subscribe, one push, receive, disconnect.
    std::string churn()
    {
        std::ostringstream waves;
        Server baseline{};
        uint64_t cycles = 0;
        for (int w = 0; w < o_.waves; ++w)
        {
            connectAll(o_.clients, 0);
            o_.seconds = 0.05;
            o_.window = 1;
            std::string figures = publishPhase();
            if (figures.find("\"lost\":0,") == std::string::npos)
                throw std::runtime_error("wave " + std::to_string(w) + " lost messages: " + figures);
            for (auto& s : subs_)
                ::close(s.fd);
            cycles += static_cast<uint64_t>(o_.clients);
            // Let the server reap what just closed, then read its figures.
            ::usleep(300000);
            Server now = readServer(o_.pid);
            if (w == 0)
                baseline = now;
            waves << (w ? "," : "") << "{\"wave\":" << w << ",\"rss_kb\":" << now.rss_kb << ",\"fds\":" << now.fds
                  << ",\"threads\":" << now.threads << "}";
        }
        Server last = readServer(o_.pid);
        std::ostringstream out;
        out << "{\"target\":\"" << o_.target << "\",\"mode\":\"churn\",\"cycles\":" << cycles
            << ",\"rss_kb_after_first_wave\":" << baseline.rss_kb << ",\"rss_kb_end\":" << last.rss_kb
            << ",\"rss_growth_pct\":" << (last.rss_kb - baseline.rss_kb) * 100.0 / std::max(1L, baseline.rss_kb)
            << ",\"fds_first\":" << baseline.fds << ",\"fds_end\":" << last.fds
            << ",\"threads_first\":" << baseline.threads << ",\"threads_end\":" << last.threads << ",\"waves\":["
            << waves.str() << "]}";
        return out.str();
    }

    Options o_;
    int ep_ = -1;
    std::vector<Subscriber> subs_;
    std::string padding_;
    std::string frame_;
};

} // namespace

int main(int argc, char** argv)
{
    Options o;
    for (int i = 1; i + 1 < argc; i += 2)
    {
        std::string key = argv[i];
        std::string value = argv[i + 1];
        if (key == "--target")
            o.target = value;
        else if (key == "--port")
            o.port = std::atoi(value.c_str());
        else if (key == "--pid")
            o.pid = std::atoi(value.c_str());
        else if (key == "--mode")
            o.mode = value;
        else if (key == "--clients")
            o.clients = std::atoi(value.c_str());
        else if (key == "--seconds")
            o.seconds = std::atof(value.c_str());
        else if (key == "--window")
            o.window = std::atoi(value.c_str());
        else if (key == "--rate")
            o.rate = std::atof(value.c_str());
        else if (key == "--text-bytes")
            o.text_bytes = std::atoi(value.c_str());
        else if (key == "--batch")
            o.batch = std::atoi(value.c_str());
        else if (key == "--slow")
            o.slow = std::atoi(value.c_str());
        else if (key == "--waves")
            o.waves = std::atoi(value.c_str());
        else
        {
            std::fprintf(stderr, "wsgw-bench: unknown option %s\n", key.c_str());
            return 2;
        }
    }
    if (o.port <= 0 || o.clients <= 0 || o.clients > 19000)
    {
        std::fprintf(stderr,
                     "usage: wsgw-bench --target wsgw|nchan --port P --pid PID --mode idle|fanout|rate|members|churn\n"
                     "       [--clients N<=19000] [--seconds S] [--window W] [--rate R] [--text-bytes B]\n"
                     "       [--batch K] [--slow K] [--waves K]\n");
        return 2;
    }
    try
    {
        Bench bench(o);
        std::printf("%s\n", bench.run().c_str());
        return 0;
    }
    catch (const std::exception& e)
    {
        std::fprintf(stderr, "wsgw-bench: %s\n", e.what());
        return 1;
    }
}
