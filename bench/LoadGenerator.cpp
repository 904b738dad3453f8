/// wsgw-bench: a single-threaded epoll load generator for WebSocket push servers (wsgw and Nchan).
/// N subscribers with real handshakes (Sec-WebSocket-Accept checked) and masked frames, HTTP
/// keep-alive publishers (closed loop with a window, or a fixed rate), a send timestamp in every
/// pushed text, a per-delivery latency histogram, loss counting, and the server's RSS, threads,
/// fds and CPU time from /proc/PID. Prints one JSON object. 127.0.0.1 only; every phase has a deadline.

#include "transport/FrameWriter.h"
#include "transport/Handshake.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
using wsgw::transport::Opcode;

int64_t nowNs()
{
    return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

double secondsSince(Clock::time_point start)
{
    return std::chrono::duration<double>(Clock::now() - start).count();
}

/// This process's user + system CPU seconds.
double ownCpuSeconds()
{
    rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
    auto seconds = [](const timeval& t) {
        return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
    };
    return seconds(usage.ru_utime) + seconds(usage.ru_stime);
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
    int round_trips = 3;      ///< wsgw: 3 = 101, then auth, then subscribe; 1 = auth and subscribe pipelined
    /// wsgw: how clients log in: anonymous, or as member 1000000+i with a stored token
    /// ("bench-token-I", imported beforehand), an HS256 JWT (jwt_secret) or a token the
    /// authorizer webhook accepts ("w-I").
    std::string login = "anonymous";
    std::string jwt_secret;
    int storm = 0; ///< rate mode: clients that log in (with LOGIN) while the pushes flow; subscribers stay anonymous
    /// rate mode: subscribe/unsubscribe messages per second (to the app "churn", which has a
    /// backend) sent by the first 64 subscribers while the pushes flow (issue 13's events)
    double sub_churn = 0;
    int pub_port = 0;  ///< cluster scenarios: publish to this port (another node); 0 = port
    int settle_ms = 0; ///< wait this long between subscribing and publishing (a cluster's SUBSCRIBE)
    /// Redis restarted during the run: a 503 (or a wsgw 202 naming 0 nodes) is an answer, not an error; its
    /// pushes are counted as refused and not expected. Every other push must arrive.
    bool tolerate_unavailable = false;
};

std::string base64url(const unsigned char* data, size_t size)
{
    static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    for (size_t i = 0; i < size; i += 3)
    {
        uint32_t v = uint32_t{data[i]} << 16;
        if (i + 1 < size)
            v |= uint32_t{data[i + 1]} << 8;
        if (i + 2 < size)
            v |= data[i + 2];
        out += kAlphabet[(v >> 18) & 63];
        out += kAlphabet[(v >> 12) & 63];
        if (i + 1 < size)
            out += kAlphabet[(v >> 6) & 63];
        if (i + 2 < size)
            out += kAlphabet[v & 63];
    }
    return out;
}

std::string base64url(std::string_view text)
{
    return base64url(reinterpret_cast<const unsigned char*>(text.data()), text.size());
}

/// An HS256 JWT for MEMBER that expires in an hour (SPEC §6), signed with SECRET.
std::string mintJwt(int64_t member, const std::string& secret)
{
    const auto exp =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count() +
        3600;
    std::string signing_input =
        base64url(R"({"alg":"HS256","typ":"JWT"})") + "." +
        base64url("{\"sub\":\"" + std::to_string(member) + "\",\"exp\":" + std::to_string(exp) + "}");
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
         reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size(), mac, &length);
    return signing_input + "." + base64url(mac, length);
}

struct ServerFigures
{
    long rss_kb = 0;
    long threads = 0;
    long fds = 0;
    double cpu_s = 0;
};

/// Reads VmRSS and Threads from /proc/PID/status, utime + stime from /proc/PID/stat and counts /proc/PID/fd.
ServerFigures readServer(int pid)
{
    ServerFigures s;
    if (pid <= 0)
        return s;
    const std::string proc = "/proc/" + std::to_string(pid);
    std::ifstream status(proc + "/status");
    for (std::string line; std::getline(status, line);)
    {
        if (line.rfind("VmRSS:", 0) == 0)
            s.rss_kb = std::atol(line.c_str() + 6);
        if (line.rfind("Threads:", 0) == 0)
            s.threads = std::atol(line.c_str() + 8);
    }
    std::ifstream stat(proc + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    auto paren = text.rfind(')');
    if (paren != std::string::npos && paren + 2 < text.size())
    {
        // Fields after "(comm) ": 3 state ... 14 utime, 15 stime (proc(5)).
        std::istringstream fields(text.substr(paren + 2));
        std::string field;
        long utime = 0, stime = 0;
        for (int i = 3; fields >> field && i <= 15; ++i)
        {
            if (i == 14)
                utime = std::atol(field.c_str());
            if (i == 15)
                stime = std::atol(field.c_str());
        }
        s.cpu_s = static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
    }
    std::error_code ec;
    for (auto it = std::filesystem::directory_iterator(proc + "/fd", ec);
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
    // Source addresses 127.0.0.2-251 in turn: with every client on 127.0.0.1 the
    // kernel's search for a free ephemeral port (__inet_hash_connect) took 44 % of
    // the generator's CPU at 15,000 connections and made it the bottleneck. The
    // port is still picked by the kernel, at connect time.
    static uint32_t next_source = 0;
    ::setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
    sockaddr_in source{};
    source.sin_family = AF_INET;
    source.sin_addr.s_addr = htonl(INADDR_LOOPBACK + 1 + (next_source++ % 250));
    if (::bind(fd, reinterpret_cast<sockaddr*>(&source), sizeof(source)) != 0)
        throw std::runtime_error(std::string("bind: ") + std::strerror(errno));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    if (rc != 0 && errno != EINPROGRESS)
        throw std::runtime_error(std::string("connect: ") + std::strerror(errno));
    return fd;
}

/// Sends all of BYTES on a non-blocking socket; waits (bounded, 10 s) while the socket is full or connecting.
void sendAll(int fd, std::string_view bytes)
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
                throw std::runtime_error("send timed out after 10 s");
            ::usleep(50);
        }
        else
            throw std::runtime_error(std::string("send: ") + std::strerror(errno));
    }
}

uint64_t splitmix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/// A Sec-WebSocket-Key for connection I: base64 of 16 pseudo-random bytes.
std::string clientKey(uint64_t i)
{
    static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::array<uint8_t, 18> bytes{};
    uint64_t a = splitmix(i * 2), b = splitmix(i * 2 + 1);
    std::memcpy(bytes.data(), &a, 8);
    std::memcpy(bytes.data() + 8, &b, 8);
    std::string key;
    for (size_t j = 0; j < 18; j += 3)
    {
        uint32_t v = (uint32_t{bytes[j]} << 16) | (uint32_t{bytes[j + 1]} << 8) | bytes[j + 2];
        for (int k = 18; k >= 0; k -= 6)
            key += kAlphabet[(v >> k) & 63];
    }
    key.resize(22);
    return key + "==";
}

/// Latency histogram in microseconds: exact below 128, then 64 sub-buckets per power of two (~1.5 %).
class Histogram
{
public:
    Histogram() : buckets_(128 + 57 * 64, 0) {}

    void add(int64_t us)
    {
        us = std::max<int64_t>(us, 0);
        ++buckets_[static_cast<size_t>(bucket(us))];
        ++count_;
        max_ = std::max(max_, us);
    }

    /// The value at quantile P (0..1); 0 when empty.
    double percentile(double p) const
    {
        if (count_ == 0)
            return 0;
        auto want = static_cast<uint64_t>(p * static_cast<double>(count_));
        uint64_t seen = 0;
        for (size_t b = 0; b < buckets_.size(); ++b)
        {
            seen += buckets_[b];
            if (seen > want)
                return static_cast<double>(std::min(value(static_cast<int>(b)), max_));
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
    std::vector<uint64_t> buckets_;
    uint64_t count_ = 0;
    int64_t max_ = 0;
};

enum class Stage : uint8_t
{
    Connecting,    ///< TCP connect in progress
    HandshakeSent, ///< waiting for the 101
    AuthSent,      ///< wsgw: waiting for the auth reply
    SubscribeSent, ///< wsgw: waiting for the subscribe reply
    Ready,
    Closed,
};

/// One WebSocket client. Kept small: the leftover buffer is empty between whole frames.
struct Subscriber
{
    int fd = -1;
    Stage stage = Stage::Connecting;
    bool slow = false;
    uint8_t replies = 0;
    std::string buffer;
};

struct Publisher
{
    int fd = -1;
    bool ws = false; ///< publish mode: a subscriber's WebSocket (SPEC §7 client publish), not HTTP
    bool busy = false;
    uint64_t first_id = 0; ///< the pushes of the request in flight
    int count = 0;
    bool closing = false; ///< the server said Connection: close
    std::string buffer;
};

class Bench
{
public:
    explicit Bench(Options options) : o_(std::move(options))
    {
        ep_ = ::epoll_create1(EPOLL_CLOEXEC);
        if (ep_ < 0)
            throw std::runtime_error(std::string("epoll_create1: ") + std::strerror(errno));
        padding_.assign(static_cast<size_t>(std::max(0, o_.text_bytes - 40)), 'x');
    }

    std::string run()
    {
        if (o_.login == "jwt")
        {
            // Minted before anything is timed: the gateway's cost is what is measured.
            const int n = std::max(o_.clients, o_.storm);
            jwts_.reserve(static_cast<size_t>(n));
            for (int i = 0; i < n; ++i)
                jwts_.push_back(mintJwt(1000000 + i, o_.jwt_secret));
        }
        if (o_.mode == "churn")
            return churn();
        ServerFigures before = readServer(o_.pid);
        double gen_cpu = ownCpuSeconds();
        double connect_s = connectAll(o_.clients, o_.slow);
        gen_cpu = ownCpuSeconds() - gen_cpu;
        ServerFigures after = readServer(o_.pid);
        std::ostringstream out;
        out << "{\"target\":\"" << o_.target << "\",\"mode\":\"" << o_.mode << "\",\"clients\":" << o_.clients
            << ",\"round_trips\":" << (o_.target == "wsgw" ? o_.round_trips : 1) << ",\"connect_s\":" << connect_s
            << ",\"connects_per_s\":" << o_.clients / connect_s
            << ",\"connect_cpu_us_per_conn\":" << (after.cpu_s - before.cpu_s) * 1e6 / o_.clients
            << ",\"connect_gen_util\":" << gen_cpu / connect_s << ",\"rss_kb_before\":" << before.rss_kb
            << ",\"rss_kb\":" << after.rss_kb
            << ",\"rss_per_conn_bytes\":" << static_cast<double>(after.rss_kb - before.rss_kb) * 1024.0 / o_.clients
            << ",\"threads\":" << after.threads << ",\"server_fds\":" << after.fds;
        if (o_.mode == "rpc")
            out << "," << rpcPhase();
        else if (o_.mode != "idle")
            out << "," << publishPhase();
        out << "}";
        return out.str();
    }

private:
    // ---- subscribers

    std::string channel(uint64_t i) const { return o_.mode == "members" ? "c" + std::to_string(i) : "match"; }

    std::string handshake(uint32_t i) const
    {
        std::string path = o_.target == "nchan" ? "/sub/" + channel(i) : "/ws";
        return "GET " + path +
               " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " +
               clientKey(i) + "\r\nSec-WebSocket-Version: 13\r\n\r\n";
    }

    /// The auth message of client I under LOGIN.
    std::string authFrame(uint32_t i, const std::string& login) const
    {
        std::string text = R"({"member_id":-1,"token":""})";
        const int64_t member = 1000000 + static_cast<int64_t>(i);
        if (login == "stored")
            text = "{\"member_id\":" + std::to_string(member) + ",\"token\":\"bench-token-" + std::to_string(i) + "\"}";
        else if (login == "jwt")
            text = "{\"member_id\":" + std::to_string(member) + ",\"token\":\"" + jwts_.at(i) + "\"}";
        else if (login == "webhook")
            text = "{\"member_id\":" + std::to_string(member) + ",\"token\":\"w-" + std::to_string(i) + "\"}";
        return wsgw::transport::makeClientFrame(Opcode::Text, text, static_cast<uint32_t>(splitmix(i ^ 0xa5a5)));
    }

    /// How the subscribers of the connect phase log in.
    const std::string& subscriberLogin() const
    {
        static const std::string anonymous = "anonymous";
        return o_.storm > 0 ? anonymous : o_.login;
    }

    std::string authFrame(uint32_t i) const { return authFrame(i, subscriberLogin()); }

    std::string subscribeFrame(uint32_t i) const
    {
        return wsgw::transport::makeClientFrame(Opcode::Text, "{\"app\":\"" + channel(i) + "\"}",
                                                static_cast<uint32_t>(splitmix(i ^ 0x5a5a)));
    }

    void watch(int fd, uint32_t tag, uint32_t events, int op = EPOLL_CTL_ADD) { watchOn(ep_, fd, tag, events, op); }

    static void watchOn(int ep, int fd, uint32_t tag, uint32_t events, int op = EPOLL_CTL_ADD)
    {
        epoll_event event{};
        event.events = events;
        event.data.u32 = tag;
        if (::epoll_ctl(ep, op, fd, &event) != 0)
            throw std::runtime_error(std::string("epoll_ctl: ") + std::strerror(errno));
    }

    /// The login storm of rate mode and what came of it. RUNNING is read by the
    /// measuring thread; the rest is read after the storm's thread is joined.
    struct Storm
    {
        std::atomic<bool> running{false};
        std::vector<Subscriber> clients;
        int done = 0, failed = 0;
        double seconds = 0;  ///< from START until the last login was answered
        std::string failure; ///< the first failure's reply
    };

    /// Logs --storm clients in with --login, at most --max-connecting at a time,
    /// on the calling thread (at nice +10) and its own epoll, until all are
    /// answered or DEADLINE.
    void runStorm(Storm& storm, Clock::time_point start, Clock::time_point deadline)
    {
        ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), 10);
        const int ep = ::epoll_create1(EPOLL_CLOEXEC);
        storm.clients.resize(static_cast<size_t>(o_.storm));
        int next = 0, connecting = 0;
        try
        {
            auto step = [&] {
                while (next < o_.storm && connecting < o_.max_connecting)
                {
                    auto& c = storm.clients[static_cast<size_t>(next)];
                    c.fd = connectTo(o_.port);
                    watchOn(ep, c.fd, static_cast<uint32_t>(next), EPOLLOUT | EPOLLIN);
                    ++next;
                    ++connecting;
                }
            };
            auto onEvent = [&](uint32_t i, uint32_t events_mask) {
                auto& c = storm.clients[i];
                if (c.stage == Stage::Ready || c.stage == Stage::Closed)
                    return;
                auto finish = [&](bool ok, std::string why = {}) {
                    c.stage = ok ? Stage::Ready : Stage::Closed;
                    --connecting;
                    if (ok)
                        ++storm.done;
                    else if (storm.failed++ == 0)
                        storm.failure = why;
                    ::epoll_ctl(ep, EPOLL_CTL_DEL, c.fd, nullptr);
                    step();
                };
                if (c.stage == Stage::Connecting)
                {
                    if (!(events_mask & EPOLLOUT))
                        return;
                    sendAll(c.fd, handshake(i));
                    c.stage = Stage::HandshakeSent;
                    watchOn(ep, c.fd, i, EPOLLIN, EPOLL_CTL_MOD);
                    return;
                }
                char buffer[4096];
                ssize_t n = ::recv(c.fd, buffer, sizeof(buffer), 0);
                if (n == 0)
                    return finish(false, "closed before its login reply");
                if (n < 0)
                    return;
                std::string_view rest(buffer, static_cast<size_t>(n));
                std::string copy;
                if (c.stage == Stage::HandshakeSent)
                {
                    c.buffer.append(rest);
                    auto end = c.buffer.find("\r\n\r\n");
                    if (end == std::string::npos)
                        return;
                    if (c.buffer.compare(0, 12, "HTTP/1.1 101") != 0)
                        return finish(false, c.buffer.substr(0, c.buffer.find('\r')));
                    copy = c.buffer.substr(end + 4);
                    c.buffer.clear();
                    sendAll(c.fd, authFrame(i, o_.login));
                    c.stage = Stage::AuthSent;
                    rest = copy;
                }
                bool replied = false, ok = false;
                std::string text;
                feed(c, rest.data(), rest.size(), [&](uint8_t opcode, std::string_view payload) {
                    if (opcode != 1 || replied)
                        return;
                    replied = true;
                    ok = payload.find(R"(code\":200)") != std::string_view::npos;
                    text = std::string(payload);
                });
                if (replied)
                    finish(ok, text);
            };
            step();
            std::vector<epoll_event> events(256);
            while (storm.done + storm.failed < o_.storm && Clock::now() < deadline)
            {
                int count = ::epoll_wait(ep, events.data(), static_cast<int>(events.size()), 10);
                for (int k = 0; k < count; ++k)
                    onEvent(events[static_cast<size_t>(k)].data.u32, events[static_cast<size_t>(k)].events);
            }
        }
        catch (const std::exception& e)
        {
            if (storm.failed++ == 0)
                storm.failure = e.what();
        }
        storm.seconds = secondsSince(start);
        ::close(ep);
        storm.running.store(false, std::memory_order_relaxed);
    }

    /// Calls ON_FRAME(opcode, payload) for every complete frame in S's leftover plus DATA; keeps the rest.
    /// Parses in place when nothing is left over (the usual case), so a delivery costs no copy.
    template <class OnFrame>
    void feed(Subscriber& s, const char* data, size_t size, OnFrame&& on_frame)
    {
        const bool buffered = !s.buffer.empty();
        if (buffered)
            s.buffer.append(data, size);
        std::string_view in = buffered ? std::string_view(s.buffer) : std::string_view(data, size);
        size_t pos = 0;
        for (int frames = 0; frames < 1000000; ++frames)
        {
            if (in.size() - pos < 2)
                break;
            auto opcode = static_cast<uint8_t>(in[pos]) & 0x0f;
            uint64_t length = static_cast<uint8_t>(in[pos + 1]) & 0x7f;
            size_t header = 2;
            if (length == 126)
            {
                if (in.size() - pos < 4)
                    break;
                length = (uint64_t{static_cast<uint8_t>(in[pos + 2])} << 8) | static_cast<uint8_t>(in[pos + 3]);
                header = 4;
            }
            else if (length == 127)
            {
                if (in.size() - pos < 10)
                    break;
                length = 0;
                for (size_t j = 2; j < 10; ++j)
                    length = (length << 8) | static_cast<uint8_t>(in[pos + j]);
                header = 10;
            }
            if (in.size() - pos < header + length)
                break;
            on_frame(opcode, in.substr(pos + header, length));
            pos += header + length;
        }
        if (buffered)
            s.buffer.erase(0, pos);
        else
            s.buffer.assign(in.substr(pos));
    }

    /// Connects N subscribers (the first SLOW never read); returns seconds until all are ready.
    double connectAll(int n, int slow)
    {
        for (auto& s : subs_)
        {
            if (s.fd >= 0)
                ::close(s.fd);
        }
        subs_.assign(static_cast<size_t>(n), Subscriber{});
        auto start = Clock::now();
        auto deadline = start + std::chrono::seconds(120);
        int next = 0, ready = 0, connecting = 0;
        std::vector<epoll_event> events(1024);
        char chunk[16384];
        while (ready < n)
        {
            while (next < n && connecting < o_.max_connecting)
            {
                auto& s = subs_[static_cast<size_t>(next)];
                s.slow = next < slow;
                s.fd = connectTo(o_.port, s.slow ? 4096 : 0);
                watch(s.fd, static_cast<uint32_t>(next), EPOLLOUT | EPOLLIN);
                ++next;
                ++connecting;
            }
            if (Clock::now() > deadline)
                throw std::runtime_error("connect phase: " + std::to_string(ready) + " of " + std::to_string(n) +
                                         " ready after 120 s");
            int count = ::epoll_wait(ep_, events.data(), static_cast<int>(events.size()), 1000);
            for (int k = 0; k < count; ++k)
            {
                const auto& event = events[static_cast<size_t>(k)];
                const uint32_t i = event.data.u32;
                auto& s = subs_[i];
                if (s.stage == Stage::Connecting)
                {
                    if (!(event.events & EPOLLOUT))
                        continue;
                    int error = 0;
                    socklen_t length = sizeof(error);
                    ::getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &error, &length);
                    if (error != 0)
                        throw std::runtime_error(std::string("connect: ") + std::strerror(error));
                    std::string request = handshake(i);
                    if (o_.target == "wsgw" && o_.round_trips == 1)
                        request += authFrame(i) + subscribeFrame(i);
                    sendAll(s.fd, request);
                    s.stage = Stage::HandshakeSent;
                    watch(s.fd, i, EPOLLIN, EPOLL_CTL_MOD);
                    continue;
                }
                ssize_t got = ::recv(s.fd, chunk, sizeof(chunk), 0);
                if (got == 0)
                    throw std::runtime_error("the server closed a connection during the handshake");
                if (got < 0)
                    continue;
                if (advanceHandshake(s, i, chunk, static_cast<size_t>(got)))
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
        return secondsSince(start);
    }

    /// Runs the client script on DATA: the 101 (accept key checked), then for wsgw the auth and
    /// subscribe replies (both must be code 200). True once the subscriber is ready.
    bool advanceHandshake(Subscriber& s, uint32_t i, const char* data, size_t size)
    {
        if (s.stage == Stage::HandshakeSent)
        {
            s.buffer.append(data, size);
            auto end = s.buffer.find("\r\n\r\n");
            if (end == std::string::npos)
                return false;
            std::string head = s.buffer.substr(0, end + 2);
            if (head.compare(0, 12, "HTTP/1.1 101") != 0)
                throw std::runtime_error("handshake refused: " + head.substr(0, head.find('\r')));
            for (auto& c : head)
                c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            auto at = head.find("\r\nsec-websocket-accept:");
            std::string accept = wsgw::transport::computeAccept(clientKey(i));
            if (at == std::string::npos || s.buffer.find(accept, at) > end)
                throw std::runtime_error("101 without the right Sec-WebSocket-Accept");
            std::string rest = s.buffer.substr(end + 4);
            s.buffer.clear();
            if (o_.target == "nchan")
            {
                s.stage = Stage::Ready;
                return true;
            }
            s.stage = o_.round_trips == 1 ? Stage::SubscribeSent : Stage::AuthSent;
            if (o_.round_trips != 1)
                sendAll(s.fd, authFrame(i));
            if (rest.empty())
                return false;
            return advanceHandshake(s, i, rest.data(), rest.size());
        }
        bool failed = false;
        std::string failure;
        feed(s, data, size, [&](uint8_t opcode, std::string_view payload) {
            if (opcode != 1)
                return;
            if (payload.find(R"(code\":200)") == std::string_view::npos)
            {
                failed = true;
                failure = std::string(payload);
                return;
            }
            ++s.replies;
            if (s.stage == Stage::AuthSent)
            {
                sendAll(s.fd, subscribeFrame(i));
                s.stage = Stage::SubscribeSent;
            }
            else if (s.stage == Stage::SubscribeSent && s.replies >= 2)
                s.stage = Stage::Ready;
        });
        if (failed)
            throw std::runtime_error("the gateway refused the script: " + failure);
        return s.stage == Stage::Ready;
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
        const auto clients = static_cast<uint64_t>(o_.clients);
        if (o_.target == "nchan")
        {
            body = pushText(first_id);
            path = "/pub/" + channel(first_id % clients);
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
                body +=
                    "{\"app\":\"" + channel(id % clients) + "\",\"member_id\":-1,\"text\":\"" + pushText(id) + "\"}";
            }
            if (count > 1)
                body += "]";
        }
        return "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: " +
               std::to_string(body.size()) + "\r\n\r\n" + body;
    }

    /// Consumes one HTTP response from P's buffer; true when one was complete.
    static bool nextResponse(Publisher& p, int& status, std::string* body = nullptr)
    {
        auto end = p.buffer.find("\r\n\r\n");
        if (end == std::string::npos)
            return false;
        status = p.buffer.size() > 12 ? std::atoi(p.buffer.c_str() + 9) : 0;
        std::string head = p.buffer.substr(0, end);
        for (auto& c : head)
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        size_t body_end = end + 4;
        auto length = head.find("content-length:");
        if (length != std::string::npos)
            body_end += static_cast<size_t>(std::atol(head.c_str() + length + 15));
        else if (head.find("transfer-encoding: chunked") != std::string::npos)
        {
            auto last = p.buffer.find("\r\n0\r\n\r\n", end);
            if (last == std::string::npos)
                return false;
            body_end = last + 7;
        }
        if (p.buffer.size() < body_end)
            return false;
        // A server may end keep-alive with Connection: close; the publisher then reconnects.
        p.closing = head.find("connection: close") != std::string::npos;
        if (body)
            body->assign(p.buffer, end + 4, body_end - end - 4);
        p.buffer.erase(0, body_end);
        return true;
    }

    std::string publishPhase()
    {
        const int publishers = std::max(1, o_.mode == "rate" ? 64 : o_.window);
        std::vector<Publisher> pubs(static_cast<size_t>(publishers));
        const uint32_t kPublisherTag = 1u << 31;
        const bool ws_publish = o_.mode == "publish";
        const int pub_port = o_.pub_port > 0 ? o_.pub_port : o_.port;
        for (size_t k = 0; k < pubs.size(); ++k)
        {
            if (ws_publish)
            {
                // The first WINDOW subscribers publish over their own WebSocket; their
                // replies arrive among their frames.
                pubs[k].fd = subs_[k].fd;
                pubs[k].ws = true;
                continue;
            }
            pubs[k].fd = connectTo(pub_port);
            watch(pubs[k].fd, kPublisherTag | static_cast<uint32_t>(k), EPOLLIN);
        }
        uint64_t churn_sent = 0;
        std::vector<uint8_t> churn_on(std::min<size_t>(64, subs_.size()), 0);
        const double churn_interval_ns = o_.sub_churn > 0 ? 1e9 / o_.sub_churn : 0;
        double next_churn_ns = static_cast<double>(nowNs());
        const uint64_t per_push = o_.mode == "members" ? 1 : static_cast<uint64_t>(o_.clients - o_.slow);
        std::vector<uint32_t> delivered;
        delivered.reserve(1 << 20);
        uint64_t sent = 0, completed = 0, responses = 0, errors = 0, reconnects = 0, deliveries = 0;
        uint64_t unparsed = 0, closes = 0, sub_closed = 0, refused = 0;
        std::vector<bool> not_expected; ///< tolerate_unavailable: pushes answered 503 or "nodes":0
        Histogram latency;
        if (o_.settle_ms > 0)
            ::usleep(static_cast<useconds_t>(o_.settle_ms) * 1000);
        ServerFigures before = readServer(o_.pid);
        double gen_cpu = ownCpuSeconds();
        auto start = Clock::now();
        auto stop_sending =
            start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o_.seconds));
        auto hard_stop = stop_sending + std::chrono::seconds(10);
        const double interval_ns = o_.rate > 0 ? 1e9 / o_.rate : 0;
        double next_send_ns = static_cast<double>(nowNs());
        int64_t now_ns = nowNs(); // refreshed once per epoll turn: the receipt time of that turn's frames
        // The login storm (--storm N): N more clients log in with --login while the pushes flow;
        // deliveries received meanwhile go to their own histogram. It runs on its own thread and
        // epoll at nice +10: the clients it stands for are other machines, so on this shared CPU
        // the measuring subscribers come first and the latency shows the gateway, not this process.
        Storm storm;
        std::thread storm_thread;
        if (o_.storm > 0)
        {
            storm.running = true;
            storm_thread = std::thread([this, &storm, start, hard_stop] { runStorm(storm, start, hard_stop); });
        }
        auto stormRunning = [&] { return storm.running.load(std::memory_order_relaxed); };
        Histogram storm_latency;
        auto trySend = [&](Publisher& p) {
            if (p.busy || p.fd < 0 || Clock::now() >= stop_sending)
                return;
            if (o_.rate > 0)
            {
                if (static_cast<double>(nowNs()) < next_send_ns)
                    return;
                next_send_ns += interval_ns * o_.batch;
            }
            else if (sent - completed >= static_cast<uint64_t>(o_.window) * static_cast<uint64_t>(o_.batch))
                return;
            if (p.ws)
            {
                std::string text =
                    "{\"app\":\"" + channel(sent) + "\",\"action\":\"publish\",\"text\":\"" + pushText(sent) + "\"}";
                sendAll(p.fd, wsgw::transport::makeClientFrame(Opcode::Text, text, static_cast<uint32_t>(sent)));
                ++sent;
                p.busy = true;
                return;
            }
            int count = o_.target == "wsgw" ? o_.batch : 1;
            sendAll(p.fd, request(sent, count));
            p.first_id = sent;
            p.count = count;
            sent += static_cast<uint64_t>(count);
            p.busy = true;
        };
        auto churn = [&] {
            if (churn_interval_ns <= 0 || churn_on.empty() || Clock::now() >= stop_sending)
                return;
            for (int guard = 0; guard < 1000 && static_cast<double>(nowNs()) >= next_churn_ns; ++guard)
            {
                next_churn_ns += churn_interval_ns;
                const size_t k = churn_sent % churn_on.size();
                const char* text = churn_on[k] ? R"({"app":"churn","action":"unsubscribe"})" : R"({"app":"churn"})";
                churn_on[k] ^= 1;
                sendAll(subs_[k].fd, wsgw::transport::makeClientFrame(Opcode::Text, text, static_cast<uint32_t>(k)));
                ++churn_sent;
            }
        };
        auto onFrame = [&](Subscriber& s, uint8_t opcode, std::string_view payload) {
            if (opcode == 8)
            {
                ++closes;
                s.stage = Stage::Closed;
                return;
            }
            if (opcode == 9)
            {
                sendAll(s.fd, wsgw::transport::makeClientFrame(Opcode::Pong, payload, 0x01020304));
                return;
            }
            if (opcode != 1)
                return;
            if (payload.rfind(R"({"app":"gateway")", 0) == 0)
            {
                // A reply: a publisher's (its next publish may go) or a churner's (ignored).
                const auto k = static_cast<size_t>(&s - subs_.data());
                if (ws_publish && k < pubs.size())
                {
                    ++responses;
                    if (payload.find(R"(code\":200)") == std::string_view::npos && errors++ == 0)
                        first_error_ = std::string(payload.substr(0, 120));
                    pubs[k].busy = false;
                }
                return;
            }
            // wsgw wraps the text in {"app":..,"member_id":..,"text":"ID:NS:..."}; Nchan sends it as is.
            auto at = o_.target == "wsgw" ? payload.find("\"text\":\"") : std::string_view::npos;
            auto text = at == std::string_view::npos ? payload : payload.substr(at + 8);
            uint64_t id = 0;
            size_t j = 0;
            for (; j < text.size() && text[j] >= '0' && text[j] <= '9'; ++j)
                id = id * 10 + static_cast<uint64_t>(text[j] - '0');
            int64_t sent_ns = 0;
            size_t k = j + 1;
            for (; k < text.size() && text[k] >= '0' && text[k] <= '9'; ++k)
                sent_ns = sent_ns * 10 + (text[k] - '0');
            if (j == 0 || j >= text.size() || text[j] != ':' || k == j + 1 || id >= sent)
            {
                ++unparsed;
                return;
            }
            if (id >= delivered.size())
                delivered.resize(std::max<size_t>(id + 1, delivered.size() * 2), 0);
            const bool counted = id >= not_expected.size() || !not_expected[id];
            if (++delivered[id] == per_push && counted)
                ++completed;
            ++deliveries;
            latency.add((now_ns - sent_ns) / 1000);
            if (stormRunning())
                storm_latency.add((now_ns - sent_ns) / 1000);
        };
        std::vector<epoll_event> events(1024);
        static char chunk[262144];
        while (Clock::now() < hard_stop)
        {
            bool sending = Clock::now() < stop_sending;
            if (!sending && completed >= sent && !stormRunning())
                break;
            for (auto& p : pubs)
                trySend(p);
            churn();
            int timeout = sending && o_.rate > 0 ? 1 : 10;
            int count = ::epoll_wait(ep_, events.data(), static_cast<int>(events.size()), timeout);
            now_ns = nowNs();
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
                    std::string reply;
                    while (nextResponse(p, status, &reply))
                    {
                        ++responses;
                        // A 202 that reached no node is the cluster telling us it was not delivered.
                        const bool unavailable =
                            status == 503 || (status == 202 && reply.find("\"nodes\":0,") != std::string::npos);
                        if (o_.tolerate_unavailable && unavailable)
                        {
                            refused += static_cast<uint64_t>(p.count);
                            completed += static_cast<uint64_t>(p.count);
                            if (not_expected.size() < p.first_id + static_cast<uint64_t>(p.count))
                                not_expected.resize(p.first_id + static_cast<uint64_t>(p.count) + 4096, false);
                            for (int j = 0; j < p.count; ++j)
                                not_expected[p.first_id + static_cast<uint64_t>(j)] = true;
                        }
                        else if (status < 200 || status >= 300)
                        {
                            if (errors++ == 0)
                                first_error_ = std::to_string(status);
                        }
                        p.busy = false;
                    }
                    if (n == 0 || p.closing)
                    {
                        if (p.busy)
                            throw std::runtime_error("a publisher connection closed with a request outstanding");
                        ::close(p.fd);
                        p.fd = connectTo(pub_port);
                        p.closing = false;
                        p.buffer.clear();
                        watch(p.fd, tag, EPOLLIN);
                        ++reconnects;
                    }
                    trySend(p);
                    continue;
                }
                auto& s = subs_[tag];
                ssize_t n = ::recv(s.fd, chunk, sizeof(chunk), 0);
                if (n == 0)
                {
                    ++sub_closed;
                    s.stage = Stage::Closed;
                    ::epoll_ctl(ep_, EPOLL_CTL_DEL, s.fd, nullptr);
                    continue;
                }
                if (n < 0)
                    continue;
                feed(s, chunk, static_cast<size_t>(n),
                     [&](uint8_t opcode, std::string_view payload) { onFrame(s, opcode, payload); });
                if (ws_publish && tag < pubs.size())
                    trySend(pubs[tag]);
            }
        }
        double elapsed = secondsSince(start);
        gen_cpu = ownCpuSeconds() - gen_cpu;
        ServerFigures after = readServer(o_.pid);
        uint64_t lost = 0, duplicates = 0;
        for (uint64_t id = 0; id < sent; ++id)
        {
            if (id < not_expected.size() && not_expected[id])
                continue;
            uint64_t got = id < delivered.size() ? delivered[id] : 0;
            lost += got < per_push ? per_push - got : 0;
            duplicates += got > per_push ? got - per_push : 0;
        }
        // Slow subscribers: read what the server left for them and look for its close frame (wsgw: 1008).
        int slow_closed = 0;
        for (auto& s : subs_)
        {
            if (s.slow && drainForClose(s))
                ++slow_closed;
        }
        double cpu = after.cpu_s - before.cpu_s;
        std::ostringstream out;
        out << "\"pushes\":" << sent << ",\"responses\":" << responses << ",\"push_errors\":" << errors
            << ",\"refused\":" << refused << ",\"first_error_status\":\"" << first_error_ << "\""
            << ",\"publisher_reconnects\":" << reconnects << ",\"seconds\":" << elapsed
            << ",\"pushes_per_s\":" << static_cast<double>(sent) / elapsed << ",\"deliveries\":" << deliveries
            << ",\"deliveries_per_s\":" << static_cast<double>(deliveries) / elapsed << ",\"lost\":" << lost
            << ",\"duplicates\":" << duplicates << ",\"unparsed\":" << unparsed << ",\"close_frames\":" << closes
            << ",\"subscribers_closed\":" << sub_closed << ",\"slow_closed\":" << slow_closed
            << ",\"cpu_us_per_delivery\":" << (deliveries ? cpu * 1e6 / static_cast<double>(deliveries) : 0)
            << ",\"cpu_us_per_push\":" << (sent ? cpu * 1e6 / static_cast<double>(sent) : 0)
            << ",\"server_cpu_s\":" << cpu << ",\"server_util\":" << cpu / elapsed
            << ",\"gen_util\":" << gen_cpu / elapsed << ",\"p50_us\":" << latency.percentile(0.50)
            << ",\"p99_us\":" << latency.percentile(0.99) << ",\"max_us\":" << latency.max()
            << ",\"rss_kb_end\":" << after.rss_kb << ",\"threads_end\":" << after.threads;
        if (storm_thread.joinable())
            storm_thread.join();
        if (o_.storm > 0)
        {
            if (storm.done + storm.failed < o_.storm)
                throw std::runtime_error("login storm: " + std::to_string(storm.done) + " of " +
                                         std::to_string(o_.storm) + " logged in before the deadline");
            std::string failure;
            for (char ch : storm.failure)
                failure += ch == '"' || ch == '\\' ? '\'' : ch;
            out << ",\"storm_logins\":" << storm.done << ",\"storm_failures\":" << storm.failed
                << ",\"storm_first_failure\":\"" << failure << "\",\"storm_s\":" << storm.seconds
                << ",\"storm_logins_per_s\":" << (storm.seconds > 0 ? storm.done / storm.seconds : 0)
                << ",\"storm_p50_us\":" << storm_latency.percentile(0.50)
                << ",\"storm_p99_us\":" << storm_latency.percentile(0.99);
        }
        for (auto& c : storm.clients)
        {
            if (c.fd >= 0)
                ::close(c.fd);
        }
        if (o_.sub_churn > 0)
            out << ",\"churn_messages\":" << churn_sent
                << ",\"churn_per_s\":" << static_cast<double>(churn_sent) / elapsed;
        for (auto& p : pubs)
        {
            if (!p.ws)
                ::close(p.fd);
        }
        return out.str();
    }

    /// Issue 13: every client keeps WINDOW RPCs in flight to the app "match" (whose backend
    /// answers), for SECONDS; the latency is from send to the paired reply.
    std::string rpcPhase()
    {
        std::vector<int64_t> sent_at;
        sent_at.reserve(1 << 20);
        uint64_t answered = 0, errors = 0, unparsed = 0;
        std::string first_error;
        Histogram latency;
        ServerFigures before = readServer(o_.pid);
        double gen_cpu = ownCpuSeconds();
        auto start = Clock::now();
        auto stop_sending =
            start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o_.seconds));
        auto hard_stop = stop_sending + std::chrono::seconds(10);
        auto send = [&](Subscriber& c) {
            const uint64_t id = sent_at.size();
            sent_at.push_back(nowNs());
            std::string text = R"({"app":"match","action":"rpc","seqno":")" + std::to_string(id) + R"(","text":"q"})";
            sendAll(c.fd, wsgw::transport::makeClientFrame(Opcode::Text, text, static_cast<uint32_t>(id)));
        };
        for (auto& c : subs_)
        {
            for (int w = 0; w < o_.window; ++w)
                send(c);
        }
        std::vector<epoll_event> events(1024);
        static char chunk[65536];
        while (Clock::now() < hard_stop && answered + errors < sent_at.size())
        {
            int count = ::epoll_wait(ep_, events.data(), static_cast<int>(events.size()), 10);
            const int64_t now_ns = nowNs();
            for (int k = 0; k < count; ++k)
            {
                auto& c = subs_[events[static_cast<size_t>(k)].data.u32];
                ssize_t n = ::recv(c.fd, chunk, sizeof(chunk), 0);
                if (n <= 0)
                    continue;
                int replies = 0;
                feed(c, chunk, static_cast<size_t>(n), [&](uint8_t opcode, std::string_view payload) {
                    if (opcode == 9)
                        sendAll(c.fd, wsgw::transport::makeClientFrame(Opcode::Pong, payload, 0x01020304));
                    if (opcode != 1)
                        return;
                    auto at = payload.find(R"("seqno":")");
                    if (at == std::string_view::npos)
                        return; // a push or an event reply: not an RPC answer
                    uint64_t id = 0;
                    size_t j = at + 9;
                    for (; j < payload.size() && payload[j] >= '0' && payload[j] <= '9'; ++j)
                        id = id * 10 + static_cast<uint64_t>(payload[j] - '0');
                    if (id >= sent_at.size())
                    {
                        ++unparsed;
                        return;
                    }
                    ++replies;
                    if (payload.find(R"("code":200)") == std::string_view::npos)
                    {
                        if (errors++ == 0)
                            first_error = std::string(payload.substr(0, 160));
                        return;
                    }
                    ++answered;
                    latency.add((now_ns - sent_at[id]) / 1000);
                });
                for (int r = 0; r < replies && Clock::now() < stop_sending; ++r)
                    send(c);
            }
        }
        double elapsed = secondsSince(start);
        gen_cpu = ownCpuSeconds() - gen_cpu;
        ServerFigures after = readServer(o_.pid);
        for (auto& ch : first_error)
            ch = ch == '"' || ch == '\\' ? '\'' : ch;
        std::ostringstream out;
        out << "\"rpcs\":" << sent_at.size() << ",\"rpcs_answered\":" << answered << ",\"rpc_errors\":" << errors
            << ",\"rpc_first_error\":\"" << first_error << "\",\"unparsed\":" << unparsed << ",\"seconds\":" << elapsed
            << ",\"rpcs_per_s\":" << static_cast<double>(answered) / elapsed
            << ",\"in_flight\":" << subs_.size() * static_cast<size_t>(o_.window)
            << ",\"server_util\":" << (after.cpu_s - before.cpu_s) / elapsed << ",\"gen_util\":" << gen_cpu / elapsed
            << ",\"p50_us\":" << latency.percentile(0.50) << ",\"p99_us\":" << latency.percentile(0.99)
            << ",\"max_us\":" << latency.max() << ",\"lost\":" << sent_at.size() - answered - errors
            << ",\"push_errors\":" << errors << ",\"threads_end\":" << after.threads
            << ",\"rss_kb_end\":" << after.rss_kb;
        return out.str();
    }

    /// Reads S until the server's close frame or EOF (true), or until nothing arrives for 200 ms, 3 s pass or
    /// 256 MiB were read (false).
    bool drainForClose(Subscriber& s)
    {
        static char chunk[65536];
        auto deadline = Clock::now() + std::chrono::seconds(3);
        auto last_data = Clock::now();
        bool closed = false;
        size_t total = 0;
        while (!closed && Clock::now() < deadline && total < (256u << 20))
        {
            ssize_t n = ::recv(s.fd, chunk, sizeof(chunk), 0);
            if (n == 0)
                return true;
            if (n < 0)
            {
                if (errno != EAGAIN && errno != EWOULDBLOCK)
                    return true; // reset by the server
                if (Clock::now() - last_data > std::chrono::milliseconds(200))
                    break;
                ::usleep(1000);
                continue;
            }
            total += static_cast<size_t>(n);
            last_data = Clock::now();
            feed(s, chunk, static_cast<size_t>(n), [&](uint8_t opcode, std::string_view) { closed |= opcode == 8; });
        }
        return closed;
    }

    /// Leak check (issue 6): waves of connect, auth, subscribe, one push, receive, disconnect.
    std::string churn()
    {
        std::ostringstream waves;
        ServerFigures baseline{};
        uint64_t cycles = 0;
        o_.seconds = 0.05;
        o_.window = 1;
        for (int w = 0; w < o_.waves; ++w)
        {
            connectAll(o_.clients, 0);
            std::string figures = publishPhase();
            if (figures.find("\"lost\":0,") == std::string::npos)
                throw std::runtime_error("wave " + std::to_string(w) + " lost messages: " + figures);
            for (auto& s : subs_)
            {
                ::close(s.fd);
                s.fd = -1;
            }
            cycles += static_cast<uint64_t>(o_.clients);
            // Let the server reap what just closed, then read its figures.
            ::usleep(300000);
            ServerFigures now = readServer(o_.pid);
            if (w == 0)
                baseline = now;
            waves << (w ? "," : "") << "{\"wave\":" << w << ",\"rss_kb\":" << now.rss_kb << ",\"fds\":" << now.fds
                  << ",\"threads\":" << now.threads << "}";
        }
        ServerFigures last = readServer(o_.pid);
        std::ostringstream out;
        out << "{\"target\":\"" << o_.target << "\",\"mode\":\"churn\",\"cycles\":" << cycles << ",\"lost\":0"
            << ",\"rss_kb_after_first_wave\":" << baseline.rss_kb << ",\"rss_kb_end\":" << last.rss_kb
            << ",\"rss_growth_pct\":"
            << static_cast<double>(last.rss_kb - baseline.rss_kb) * 100.0 /
                   static_cast<double>(std::max(1L, baseline.rss_kb))
            << ",\"fds_first\":" << baseline.fds << ",\"fds_end\":" << last.fds
            << ",\"threads_first\":" << baseline.threads << ",\"threads_end\":" << last.threads << ",\"waves\":["
            << waves.str() << "]}";
        return out.str();
    }

    Options o_;
    int ep_ = -1;
    std::vector<Subscriber> subs_;
    std::string padding_;
    std::string first_error_;       ///< status of the first failed push request
    std::vector<std::string> jwts_; ///< login jwt: client I's token
};

void usage()
{
    std::fprintf(stderr,
                 "usage: wsgw-bench --target wsgw|nchan --port P --pid PID --mode idle|fanout|rate|members|churn\n"
                 "       [--clients N<=19000] [--seconds S] [--window W] [--rate R] [--text-bytes B]\n"
                 "       [--batch K] [--slow K] [--waves K] [--round-trips 3|1] [--max-connecting K]\n"
                 "       [--login anonymous|stored|jwt|webhook] [--jwt-secret S] [--storm N (rate mode)]\n"
                 "       [--sub-churn R (rate mode)]; modes publish (client publish) and rpc (issue 13) too\n"
                 "       [--pub-port P] [--settle-ms MS] [--tolerate-unavailable 1]\n"
                 "Prints one JSON object with the figures; exits 1 on any error.\n");
}

} // namespace

int main(int argc, char** argv)
{
    Options o;
    for (int i = 1; i < argc; i += 2)
    {
        std::string key = argv[i];
        if (key == "--help" || i + 1 >= argc)
        {
            usage();
            return key == "--help" ? 0 : 2;
        }
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
        else if (key == "--round-trips")
            o.round_trips = std::atoi(value.c_str());
        else if (key == "--max-connecting")
            o.max_connecting = std::atoi(value.c_str());
        else if (key == "--login")
            o.login = value;
        else if (key == "--jwt-secret")
            o.jwt_secret = value;
        else if (key == "--storm")
            o.storm = std::atoi(value.c_str());
        else if (key == "--sub-churn")
            o.sub_churn = std::atof(value.c_str());
        else if (key == "--pub-port")
            o.pub_port = std::atoi(value.c_str());
        else if (key == "--settle-ms")
            o.settle_ms = std::atoi(value.c_str());
        else if (key == "--tolerate-unavailable")
            o.tolerate_unavailable = value == "1";
        else
        {
            std::fprintf(stderr, "wsgw-bench: unknown option %s\n", key.c_str());
            usage();
            return 2;
        }
    }
    if (o.port <= 0 || o.clients <= 0 || o.clients > 19000 || o.seconds <= 0 || o.seconds > 600 || o.waves > 1000 ||
        o.batch < 1 || o.window < 1 || o.window > 1024 || o.max_connecting < 1 || o.storm < 0 ||
        o.clients + o.storm > 19000 || (o.storm > 0 && o.mode != "rate") ||
        (o.login != "anonymous" && o.login != "stored" && o.login != "jwt" && o.login != "webhook") ||
        (o.login == "jwt" && o.jwt_secret.empty()) || (o.target != "wsgw" && o.target != "nchan"))
    {
        usage();
        return 2;
    }
    // Each client is one fd: lift the soft limit to the hard one (20,000 here).
    rlimit files{};
    if (::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max)
    {
        files.rlim_cur = files.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &files);
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
