// The GET against servers that misbehave, from a scripted server on 127.0.0.1: one that drips
// its body (the whole request has a deadline), a body far larger than memory should hold
// (counted in a fixed buffer), a long chunked body (decoded in one pass), a reply that is not
// HTTP (named as such), signals landing on the I/O thread (EINTR is retried), and hooks that
// throw (nothing leaks).
#include "http/client.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using gilbench::http::BlockingHooks;
using gilbench::http::ClientConfig;
using gilbench::http::GetResult;
using gilbench::http::HttpClient;
using gilbench::http::Step;

bool send_all(int fd, const char* data, std::size_t size) {
    while (size > 0) {
        const ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        data += n;
        size -= static_cast<std::size_t>(n);
    }
    return true;
}
bool send_all(int fd, const std::string& s) { return send_all(fd, s.data(), s.size()); }

// Accepts up to `connections` connections, one at a time; reads each request's head, then
// hands the socket to `script`, then closes it. Every wait is bounded (5 s), so a test that
// fails early still ends.
class ScriptServer {
public:
    using Script = std::function<void(int fd)>;
    explicit ScriptServer(Script script, int connections = 1, int backlog = 8) : script_(std::move(script)) {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
        ::listen(fd_, backlog);
        socklen_t len = sizeof addr;
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
        port_ = ntohs(addr.sin_port);
        timeval tv{5, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        connections_ = connections;
    }
    // Separate from the constructor, so that a test can fill the accept queue first.
    void start() {
        thread_ = std::thread([this] { serve(); });
    }
    ~ScriptServer() {
        stop_ = true;
        ::shutdown(fd_, SHUT_RDWR);  // wakes a waiting accept()
        if (thread_.joinable()) thread_.join();
        ::close(fd_);
    }
    std::string url(const std::string& path = "/") const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
    std::uint16_t port() const { return port_; }

private:
    void serve() {
        for (int i = 0; i < connections_ && !stop_; ++i) {
            const int c = ::accept(fd_, nullptr, nullptr);
            if (c < 0) return;
            timeval tv{5, 0};
            ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
            std::string request;
            char buf[1024];
            while (request.find("\r\n\r\n") == std::string::npos) {
                const auto n = ::recv(c, buf, sizeof buf, 0);
                if (n <= 0) break;
                request.append(buf, static_cast<std::size_t>(n));
            }
            if (request.find("\r\n\r\n") == std::string::npos) {  // a connection that sent nothing
                ::close(c);
                --i;
                continue;
            }
            script_(c);
            ::close(c);
        }
    }
    Script script_;
    int fd_ = -1;
    int connections_ = 1;
    std::uint16_t port_ = 0;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

ClientConfig config(std::chrono::milliseconds timeout, bool libcurl = false) {
    ClientConfig c;
    c.timeout = timeout;
    c.connect_timeout = 5s;
    c.libcurl_for_http = libcurl;
    return c;
}

double seconds_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// ---- the deadline ----------------------------------------------------------------------------

class Deadline : public ::testing::TestWithParam<bool> {};

// Each recv gets a byte long before SO_RCVTIMEO would end it: only a deadline for the whole
// request stops this GET. The server gives up by itself after 8 s (the test's hang guard).
TEST_P(Deadline, DrippingServerFailsAtTheDeadline) {
    ScriptServer server([](int fd) {
        send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
        for (int i = 0; i < 80; ++i) {
            if (!send_all(fd, "x", 1)) return;  // the client has gone
            std::this_thread::sleep_for(100ms);
        }
    });
    server.start();
    HttpClient client(config(1s, GetParam()));
    const auto start = std::chrono::steady_clock::now();
    const GetResult r = client.get(server.url());
    const double took = seconds_since(start);
    EXPECT_FALSE(r.ok());
    EXPECT_NE(r.error.find("timed out after 1 s"), std::string::npos) << r.error;
    EXPECT_NE(r.error.find("io_timeout"), std::string::npos) << r.error;  // names the setting to raise
    EXPECT_LT(took, 6.0) << "the GET ran long past its 1 s deadline: " << r.error;
}

// The deadline covers the whole chain of redirects, not each hop.
TEST(DeadlinePlain, CoversEveryRedirect) {
    // Each hop answers after 400 ms, and redirects to itself: 5 hops take 2 s, past the 1 s.
    ScriptServer server(
        [&](int fd) {
            std::this_thread::sleep_for(400ms);
            send_all(fd, "HTTP/1.1 302 Found\r\nLocation: /again\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        },
        /*connections=*/6);
    server.start();
    HttpClient client(config(1s));
    const GetResult r = client.get(server.url());
    EXPECT_FALSE(r.ok());
    EXPECT_NE(r.error.find("timed out after 1 s"), std::string::npos) << r.error;
}

INSTANTIATE_TEST_SUITE_P(Http, Deadline, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "libcurl" : "plain"; });

// ---- bounded memory, linear chunked decoding -------------------------------------------------

long max_rss_kib() {
    rusage u{};
    ::getrusage(RUSAGE_SELF, &u);
    return u.ru_maxrss;
}

// 256 MiB of body, made on the fly. The GET runs in a forked child, whose peak RSS starts at
// what it inherited, so the growth is the GET's own whatever other tests did before.
TEST(Memory, HugeBodyIsCountedNotKept) {
    constexpr std::uint64_t body = 256ull << 20;
    int pipe_fds[2];
    ASSERT_EQ(::pipe(pipe_fds), 0);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        ::close(pipe_fds[0]);
        ::alarm(60);  // a hang guard: the child dies, the parent sees it
        const long before = max_rss_kib();
        GetResult r;
        {  // the server's thread is joined before _exit (ThreadSanitizer reports a leaked thread)
            ScriptServer server([&](int fd) {
                send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body) + "\r\n\r\n");
                const std::string block(1 << 16, 'x');
                for (std::uint64_t sent = 0; sent < body; sent += block.size())
                    if (!send_all(fd, block)) return;
            });
            server.start();
            HttpClient client(config(50s));
            r = client.get(server.url());
        }
        const long growth_kib = max_rss_kib() - before;
        char report[512];
        std::snprintf(report, sizeof report, "%d %zu %ld %.300s", r.ok() ? 1 : 0, r.bytes, growth_kib, r.error.c_str());
        (void)::write(pipe_fds[1], report, std::strlen(report));
        ::_exit(0);
    }
    ::close(pipe_fds[1]);
    std::string report;
    char buf[512];
    for (ssize_t n; (n = ::read(pipe_fds[0], buf, sizeof buf)) > 0;) report.append(buf, static_cast<std::size_t>(n));
    ::close(pipe_fds[0]);
    int status = 0;
    ::waitpid(child, &status, 0);
    ASSERT_TRUE(WIFEXITED(status)) << "the child did not finish (signal " << WTERMSIG(status) << ")";
    int ok = 0;
    std::size_t bytes = 0;
    long growth_kib = 0;
    ASSERT_EQ(std::sscanf(report.c_str(), "%d %zu %ld", &ok, &bytes, &growth_kib), 3) << report;
    EXPECT_EQ(ok, 1) << report;
    EXPECT_EQ(bytes, body);
    // The body is 256 MiB; a client that keeps it needs at least that. 32 MiB leaves room for
    // the server thread's stack and allocator noise.
    EXPECT_LT(growth_kib, 32 * 1024) << "peak RSS grew by " << growth_kib / 1024 << " MiB for a "
                                     << (body >> 20) << " MiB body";
}

// ~20 MiB in chunks of varied sizes (with an extension and a trailer), so that chunk-size
// lines are split across recv()s. Re-scanning the body on each recv takes minutes here.
TEST(Chunked, LongBodyIsDecodedInOnePass) {
    std::uint64_t expected = 0;
    std::string script;  // built once, sent in pieces
    {
        const std::string payload(5000, 'y');
        std::size_t i = 0;
        while (expected < (20u << 20)) {
            const std::size_t size = 1 + (i * 7919) % payload.size();
            char line[32];
            std::snprintf(line, sizeof line, "%zx%s\r\n", size, i % 97 == 0 ? ";ext=1" : "");
            script += line;
            script.append(payload, 0, size);
            script += "\r\n";
            expected += size;
            ++i;
        }
        script += "0\r\nX-Trailer: done\r\n\r\n";
    }
    ScriptServer server([&](int fd) {
        send_all(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
        for (std::size_t at = 0; at < script.size(); at += 3001)  // odd pieces: lines split
            if (!send_all(fd, script.data() + at, std::min<std::size_t>(3001, script.size() - at))) return;
    });
    server.start();
    HttpClient client(config(30s));
    const auto start = std::chrono::steady_clock::now();
    const GetResult r = client.get(server.url());
    EXPECT_TRUE(r.ok()) << r.error;
    EXPECT_EQ(r.bytes, expected);
    EXPECT_LT(seconds_since(start), 10.0) << "a hang guard, not a timing claim";
}

TEST(Chunked, MalformedChunkSizeIsAnError) {
    ScriptServer server([](int fd) { send_all(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"); });
    server.start();
    HttpClient client(config(5s));
    const GetResult r = client.get(server.url());
    EXPECT_FALSE(r.ok());
    EXPECT_NE(r.error.find("malformed"), std::string::npos) << r.error;
}

// ---- not HTTP --------------------------------------------------------------------------------

// An SSH server greets and waits for the client: the GET must say so at once, not wait for a
// head that never comes.
TEST(NotHttp, GreetingServerIsNamed) {
    ScriptServer server([](int fd) {
        send_all(fd, "SSH-2.0-OpenSSH_9.2p1\r\n");
        char buf[64];
        (void)::recv(fd, buf, sizeof buf, 0);  // waits for the client (5 s at most)
    });
    server.start();
    HttpClient client(config(20s));
    const auto start = std::chrono::steady_clock::now();
    const GetResult r = client.get(server.url());
    EXPECT_FALSE(r.ok());
    EXPECT_NE(r.error.find("not an HTTP response"), std::string::npos) << r.error;
    EXPECT_NE(r.error.find("SSH-2.0-OpenSSH"), std::string::npos) << r.error;
    EXPECT_NE(r.error.find("127.0.0.1:" + std::to_string(server.port())), std::string::npos) << r.error;
    EXPECT_LT(seconds_since(start), 4.0) << "waited for the server instead of naming the reply";
}

TEST(NotHttp, GarbageThenCloseIsNamed) {
    ScriptServer server([](int fd) { send_all(fd, "220 mail.example ESMTP\r\n"); });
    server.start();
    HttpClient client(config(5s));
    const GetResult r = client.get(server.url());
    EXPECT_FALSE(r.ok());
    EXPECT_NE(r.error.find("not an HTTP response"), std::string::npos) << r.error;
    EXPECT_NE(r.error.find("220 mail.example"), std::string::npos) << r.error;
}

// ---- signals ---------------------------------------------------------------------------------

std::atomic<int> signals_seen{0};
void count_signal(int) { ++signals_seen; }

// A no-op handler without SA_RESTART: a blocking call it interrupts fails with EINTR (with a
// socket timeout set, even SA_RESTART would not restart it: signal(7)).
struct NoRestartHandler {
    struct sigaction old{};
    NoRestartHandler() {
        struct sigaction sa{};
        sa.sa_handler = count_signal;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = 0;
        ::sigaction(SIGUSR2, &sa, &old);
    }
    ~NoRestartHandler() { ::sigaction(SIGUSR2, &old, nullptr); }
};

// Runs get() on a thread of its own and signals that thread every 20 ms until it returns.
GetResult get_under_signals(HttpClient& client, const std::string& url, std::vector<Step>& steps, std::string& hooks_log) {
    NoRestartHandler handler;
    GetResult result;
    std::atomic<bool> done{false};
    std::atomic<bool> started{false};
    pthread_t target{};
    std::thread io([&] {
        target = ::pthread_self();
        started = true;
        const BlockingHooks hooks{[&] { hooks_log += "R "; }, [&](Step s) { hooks_log += std::string(to_string(s)) + " "; }};
        result = client.get(url, hooks);
        steps = client.last_steps();
        done = true;
    });
    while (!started) std::this_thread::yield();
    const auto start = std::chrono::steady_clock::now();
    while (!done && seconds_since(start) < 20) {
        ::pthread_kill(target, SIGUSR2);
        std::this_thread::sleep_for(20ms);
    }
    io.join();
    return result;
}

std::string pairs(const std::vector<Step>& steps) {
    std::string s;
    for (Step step : steps) s += "R " + std::string(to_string(step)) + " ";
    return s;
}

TEST(Signals, InterruptedRecvAndSendAreRetried) {
    // The response comes in three parts, 300 ms apart: the wait for each is interrupted.
    ScriptServer server([](int fd) {
        std::this_thread::sleep_for(300ms);
        send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n");
        std::this_thread::sleep_for(300ms);
        send_all(fd, "01234");
        std::this_thread::sleep_for(300ms);
        send_all(fd, "56789");
    });
    server.start();
    HttpClient client(config(10s));
    signals_seen = 0;
    std::vector<Step> steps;
    std::string hooks_log;
    const GetResult r = get_under_signals(client, server.url(), steps, hooks_log);
    EXPECT_TRUE(r.ok()) << r.error;
    EXPECT_EQ(r.bytes, 10u);
    EXPECT_GT(signals_seen.load(), 5);
    // The waits are polls (as CPython's, on a socket with a timeout); each one a signal cut
    // short is a poll step of its own (CPython retakes the GIL to run the handlers), and each
    // part of the response a recv.
    EXPECT_GT(std::count(steps.begin(), steps.end(), Step::poll), 10) << pairs(steps);
    EXPECT_GE(std::count(steps.begin(), steps.end(), Step::recv), 3) << pairs(steps);
    EXPECT_EQ(hooks_log, pairs(steps));
    EXPECT_EQ(steps.back(), Step::close);
}

// A full accept queue makes connect() block (the server drops the SYN and the client resends
// it a second later); a signal then interrupts it, and the connection goes on in the
// background. The GET must wait for it, not fail with "Interrupted system call".
TEST(Signals, InterruptedConnectIsFinished) {
    ScriptServer server([](int fd) { send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"); },
                        /*connections=*/1, /*backlog=*/0);
    // Fill the accept queue: connections that complete at once, until one does not.
    std::vector<int> fillers;
    for (int i = 0; i < 8; ++i) {
        const int f = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = htons(server.port());
        ::connect(f, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
        fillers.push_back(f);
        pollfd p{f, POLLOUT, 0};
        if (::poll(&p, 1, 100) == 0) break;  // this one waits: the queue is full
    }
    // Let the queue go after 400 ms: the server accepts the fillers (which send nothing, and
    // are closed) and then the client's connection.
    std::thread release([&] {
        std::this_thread::sleep_for(400ms);
        for (int f : fillers) ::close(f);
        server.start();
    });
    HttpClient client(config(15s));
    signals_seen = 0;
    std::vector<Step> steps;
    std::string hooks_log;
    const GetResult r = get_under_signals(client, server.url(), steps, hooks_log);
    release.join();
    EXPECT_TRUE(r.ok()) << r.error;
    EXPECT_EQ(hooks_log, pairs(steps));
    // connect() in progress, then the waits for it (interrupted: poll again), then its SO_ERROR.
    const auto start = std::find(steps.begin(), steps.end(), Step::connect_start);
    const auto done = std::find(steps.begin(), steps.end(), Step::connect);
    ASSERT_TRUE(start != steps.end() && done != steps.end() && start < done) << pairs(steps);
    EXPECT_GE(std::count(start, done, Step::poll), 2) << pairs(steps);
    EXPECT_EQ(std::count(start, done, Step::poll), done - start - 1) << pairs(steps);
}

// ---- hooks that throw leave nothing open -----------------------------------------------------

int open_fds() {
    int n = 0;
    if (DIR* d = ::opendir("/proc/self/fd")) {
        while (::readdir(d)) ++n;
        ::closedir(d);
    }
    return n;
}

// A reacquire hook that throws right after a step that made something (the address list,
// the socket) must not leak it (AddressSanitizer's leak check sees the address list; the
// descriptor count sees the socket).
TEST(ThrowingHook, AfterResolveOrSocketLeaksNothing) {
    // Not started: the kernel completes the connections into the listen backlog, so the only
    // descriptors that come and go in this process are the client's.
    ScriptServer server([](int) {});
    for (Step throw_after : {Step::resolve, Step::socket, Step::settimeout, Step::connect_start, Step::connect}) {
        HttpClient client(config(5s));
        const int before = open_fds();
        const BlockingHooks hooks{{}, [&](Step s) {
                                      if (s == throw_after) throw std::runtime_error("hook failed");
                                  }};
        EXPECT_THROW(client.get(server.url(), hooks), std::runtime_error) << to_string(throw_after);
        EXPECT_EQ(open_fds(), before) << "a descriptor leaked when the hook threw after " << to_string(throw_after);
    }
}

}  // namespace
