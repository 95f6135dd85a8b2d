// The delay server and the curl client together, over 127.0.0.1 only. Timing checks are
// lower bounds (a delayed response cannot come early); concurrency is shown with the
// server's in-flight counters, not with wall-clock upper bounds.
#include "http/client.hpp"
#include "http/server.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using gilbench::http::ClientConfig;
using gilbench::http::DelayServer;
using gilbench::http::GetResult;
using gilbench::http::HttpClient;
using gilbench::http::ServerConfig;
using steady = std::chrono::steady_clock;

// Every wait in these tests ends by itself: a broken server fails a test, never hangs it.
constexpr auto k_wait_limit = 10s;

ServerConfig with_delay(std::chrono::microseconds delay) {
    ServerConfig config;
    config.default_delay = delay;
    return config;
}

ClientConfig bounded_client(bool keep_alive = false) {
    ClientConfig config;
    config.keep_alive = keep_alive;
    config.timeout = 20s;
    config.connect_timeout = 5s;
    return config;
}

bool wait_until(const std::function<bool()>& done) {
    const auto deadline = steady::now() + k_wait_limit;
    while (!done()) {
        if (steady::now() > deadline) return false;
        std::this_thread::sleep_for(2ms);
    }
    return true;
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

// A plain loopback TCP connection for what curl's GET cannot do: other methods,
// pipelining, silence. Reads give up after k_wait_limit.
class raw_connection {
public:
    explicit raw_connection(std::uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
        if (fd_ < 0) throw std::runtime_error("socket() failed");
        timeval tv{};
        tv.tv_sec = std::chrono::duration_cast<std::chrono::seconds>(k_wait_limit).count();
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(port);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
            ::close(fd_);
            throw std::runtime_error("connect to 127.0.0.1:" + std::to_string(port) + " failed");
        }
    }
    ~raw_connection() { ::close(fd_); }
    raw_connection(const raw_connection&) = delete;
    raw_connection& operator=(const raw_connection&) = delete;

    void send(const std::string& data) {
        std::size_t sent = 0;
        while (sent < data.size()) {
            const auto n = ::send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
            if (n <= 0) throw std::runtime_error("send failed");
            sent += static_cast<std::size_t>(n);
        }
    }

    // Everything until the peer closes; timed_out is set if it never did.
    std::string read_to_end(bool& timed_out) {
        std::string all;
        char buf[4096];
        timed_out = false;
        for (;;) {
            const auto n = ::recv(fd_, buf, sizeof buf, 0);
            if (n > 0) {
                all.append(buf, static_cast<std::size_t>(n));
                continue;
            }
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) timed_out = true;
            return all;  // 0: orderly close; <0 with ECONNRESET also counts as closed
        }
    }

private:
    int fd_;
};

std::size_t count_of(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
}

// --- configuration and lifecycle ---

TEST(DelayServer, RejectsInvalidConfig) {
    ServerConfig no_threads;
    no_threads.io_threads = 0;
    EXPECT_THROW(DelayServer{no_threads}, std::runtime_error);
    EXPECT_THROW(DelayServer{with_delay(-1us)}, std::runtime_error);
    EXPECT_THROW(DelayServer{with_delay(61s)}, std::runtime_error);
    ServerConfig bad_address;
    bad_address.bind_address = "not-an-address";
    try {
        DelayServer server(bad_address);
        FAIL() << "expected a throw";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("not-an-address"), std::string::npos) << e.what();
    }
}

TEST(DelayServer, BindFailureNamesAddressAndPort) {
    DelayServer first(ServerConfig{});
    ServerConfig same_port;
    same_port.port = first.port();
    try {
        DelayServer second(same_port);
        FAIL() << "a second server bound port " << first.port();
    } catch (const std::runtime_error& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find("127.0.0.1:" + std::to_string(first.port())), std::string::npos)
            << what;
        EXPECT_NE(lower(what).find("in use"), std::string::npos) << what;
    }
}

TEST(DelayServer, EphemeralPortAndBaseUrl) {
    DelayServer server(ServerConfig{});
    EXPECT_NE(server.port(), 0);
    EXPECT_EQ(server.base_url(), "http://127.0.0.1:" + std::to_string(server.port()) + "/");
    EXPECT_EQ(server.requests_served(), 0u);
    EXPECT_EQ(server.in_flight(), 0);
}

TEST(DelayServer, StopIsIdempotentAndKeepsPort) {
    DelayServer server(ServerConfig{});
    const auto port = server.port();
    server.stop();
    server.stop();
    EXPECT_EQ(server.port(), port);
}  // the destructor stops a third time

// --- responses and delays ---

TEST(DelayServer, AnswersNoSoonerThanDefaultDelay) {
    DelayServer server(with_delay(100ms));
    HttpClient client(bounded_client());
    const auto start = steady::now();
    const GetResult r = client.get(server.base_url());
    const auto elapsed = steady::now() - start;
    ASSERT_TRUE(r.ok()) << r.error;
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.bytes, std::string("1 is a number.\n").size());
    EXPECT_GE(elapsed, 100ms);
    EXPECT_EQ(server.requests_served(), 1u);
}

TEST(DelayServer, QueryDelayOverridesDefault) {
    HttpClient client(bounded_client());
    {
        DelayServer server(with_delay(0us));
        const auto start = steady::now();
        const GetResult r = client.get(server.base_url() + "?delay=0.05");
        ASSERT_TRUE(r.ok()) << r.error;
        EXPECT_GE(steady::now() - start, 50ms);
    }
    {
        // A 30 s default would outlast the client's 20 s timeout: only the override
        // lets this succeed.
        DelayServer server(with_delay(30s));
        const GetResult r = client.get(server.base_url() + "?delay=0");
        EXPECT_TRUE(r.ok()) << r.error;
    }
}

TEST(DelayServer, ErrorStatusesReachTheClient) {
    DelayServer server(ServerConfig{});
    HttpClient client(bounded_client());
    const std::string base = server.base_url();
    const std::vector<std::pair<std::string, long>> cases = {
        {base + "missing", 404},
        {base + "?delay=-1", 400},
        {base + "?delay=61", 400},
        {base + "?delay=soon", 400},
    };
    for (const auto& [url, status] : cases) {
        SCOPED_TRACE(url);
        const GetResult r = client.get(url);
        EXPECT_FALSE(r.ok());
        EXPECT_EQ(r.status, status);
        EXPECT_EQ(r.error, "HTTP " + std::to_string(status) + " from " + url);
        EXPECT_GT(r.bytes, 0u);  // the body explains the refusal
    }
    EXPECT_EQ(server.requests_served(), cases.size());  // any status counts
}

TEST(DelayServer, MethodNotAllowedOverRawHttp) {
    DelayServer server(ServerConfig{});
    raw_connection conn(server.port());
    conn.send("POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 3\r\n"
              "Connection: close\r\n\r\nabc");
    bool timed_out = false;
    const std::string reply = conn.read_to_end(timed_out);
    EXPECT_FALSE(timed_out);
    EXPECT_EQ(reply.rfind("HTTP/1.1 405", 0), 0u) << reply;
    EXPECT_NE(reply.find("Allow: GET"), std::string::npos) << reply;
    EXPECT_NE(reply.find("Content-Type: text/plain"), std::string::npos) << reply;
}

TEST(DelayServer, PipelinedRequestsOnOneConnection) {
    DelayServer server(ServerConfig{});
    raw_connection conn(server.port());
    conn.send("GET /?delay=0.01 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
              "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    bool timed_out = false;
    const std::string reply = conn.read_to_end(timed_out);
    EXPECT_FALSE(timed_out);
    EXPECT_EQ(count_of(reply, "HTTP/1.1 200 OK"), 2u) << reply;
    EXPECT_NE(reply.find("1 is a number.\n"), std::string::npos) << reply;
    EXPECT_NE(reply.find("2 is a number.\n"), std::string::npos) << reply;
    EXPECT_EQ(server.connections_accepted(), 1u);
}

TEST(DelayServer, ReadTimeoutClosesSilentConnection) {
    ServerConfig config;
    config.read_timeout = 100ms;
    DelayServer server(config);
    raw_connection conn(server.port());
    bool timed_out = false;
    const auto start = steady::now();
    const std::string reply = conn.read_to_end(timed_out);
    EXPECT_FALSE(timed_out) << "the server never closed an idle connection";
    EXPECT_TRUE(reply.empty()) << reply;
    EXPECT_GE(steady::now() - start, 100ms);
}

// --- keep-alive ---

TEST(HttpClient, KeepAliveReusesOneConnection) {
    DelayServer server(ServerConfig{});
    HttpClient client(bounded_client(/*keep_alive=*/true));
    for (int i = 0; i < 3; ++i) {
        const GetResult r = client.get(server.base_url());
        ASSERT_TRUE(r.ok()) << r.error;
    }
    EXPECT_EQ(server.connections_accepted(), 1u);
    EXPECT_EQ(server.requests_served(), 3u);
}

TEST(HttpClient, WithoutKeepAliveEachRequestConnects) {
    DelayServer server(ServerConfig{});
    HttpClient client(bounded_client(/*keep_alive=*/false));
    for (int i = 0; i < 3; ++i) {
        const GetResult r = client.get(server.base_url());
        ASSERT_TRUE(r.ok()) << r.error;
    }
    EXPECT_EQ(server.connections_accepted(), 3u);
    EXPECT_EQ(server.requests_served(), 3u);
}

// --- concurrency ---

TEST(DelayServer, ConcurrentDelayedRequestsOverlap) {
    constexpr int k_clients = 50;
    constexpr auto k_delay = 200ms;
    DelayServer server(with_delay(k_delay));  // one io thread serves them all
    std::vector<GetResult> results(k_clients);
    std::vector<std::thread> threads;
    const auto start = steady::now();
    for (int i = 0; i < k_clients; ++i)
        threads.emplace_back([&, i] {
            HttpClient client(bounded_client());
            results[static_cast<std::size_t>(i)] = client.get(server.base_url());
        });
    for (auto& t : threads) t.join();
    const auto elapsed = steady::now() - start;

    for (const auto& r : results) EXPECT_TRUE(r.ok()) << r.error;
    EXPECT_EQ(server.requests_served(), static_cast<std::uint64_t>(k_clients));
    EXPECT_EQ(server.in_flight(), 0);
    EXPECT_GE(elapsed, k_delay);
    // Served one after another they would need k_clients * k_delay = 10 s; this bound is the
    // serial time itself, so it only fails if the server serialised the delays.
    EXPECT_LT(elapsed, k_clients * k_delay);
    EXPECT_GT(server.max_in_flight(), 1);
}

TEST(DelayServer, SeveralIoThreadsServeKeepAliveClients) {
    constexpr int k_clients = 20;
    constexpr int k_requests = 5;
    ServerConfig config = with_delay(10ms);
    config.io_threads = 4;
    DelayServer server(config);
    std::atomic<int> ok{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < k_clients; ++i)
        threads.emplace_back([&] {
            HttpClient client(bounded_client(/*keep_alive=*/true));
            for (int j = 0; j < k_requests; ++j)
                if (client.get(server.base_url()).ok()) ++ok;
        });
    for (auto& t : threads) t.join();
    EXPECT_EQ(ok.load(), k_clients * k_requests);
    EXPECT_EQ(server.requests_served(), static_cast<std::uint64_t>(k_clients * k_requests));
    EXPECT_EQ(server.connections_accepted(), static_cast<std::uint64_t>(k_clients));
    EXPECT_EQ(server.in_flight(), 0);
}

TEST(DelayServer, ManyPendingRequestsOnOneThread) {
    // Every connection holds a request that would wait 30 s; they must all be pending at
    // once on the single io thread. Two descriptors per connection (ours and the server's).
    rlimit limit{};
    ::getrlimit(RLIMIT_NOFILE, &limit);
    const auto n = static_cast<int>(std::min<rlim_t>(1000, (limit.rlim_cur - 64) / 2));
    ASSERT_GE(n, 100) << "RLIMIT_NOFILE too low for this test: " << limit.rlim_cur;

    DelayServer server(with_delay(30s));
    std::vector<std::unique_ptr<raw_connection>> conns;
    for (int i = 0; i < n; ++i) {
        conns.push_back(std::make_unique<raw_connection>(server.port()));
        conns.back()->send("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    }
    ASSERT_TRUE(wait_until([&] { return server.in_flight() == n; }))
        << "in flight: " << server.in_flight() << " of " << n;
    EXPECT_EQ(server.max_in_flight(), n);
    EXPECT_EQ(server.requests_served(), 0u);

    // Stopping abandons them all and closes every connection.
    server.stop();
    EXPECT_EQ(server.in_flight(), 0);
    for (auto& c : conns) {
        bool timed_out = false;
        EXPECT_TRUE(c->read_to_end(timed_out).empty());
        EXPECT_FALSE(timed_out);
    }
}

TEST(DelayServer, StopWhileRequestPendingClosesConnection) {
    DelayServer server(with_delay(30s));
    GetResult result;
    std::thread client_thread([&] {
        HttpClient client(bounded_client());
        result = client.get(server.base_url());
    });
    const bool pending = wait_until([&] { return server.in_flight() == 1; });
    server.stop();
    client_thread.join();
    ASSERT_TRUE(pending);
    EXPECT_FALSE(result.ok());
    EXPECT_EQ(result.status, 0);
    // Closed by the server, not given up by the client's 20 s timeout.
    EXPECT_EQ(lower(result.error).find("timeout"), std::string::npos) << result.error;
    EXPECT_EQ(server.requests_served(), 0u);
}

// --- client failures ---

TEST(HttpClient, ClosedPortIsAnErrorNamingTheUrl) {
    DelayServer server(ServerConfig{});
    const std::string url = server.base_url();
    server.stop();
    HttpClient client(bounded_client());
    const GetResult r = client.get(url);
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.status, 0);
    EXPECT_NE(r.error.find(url), std::string::npos) << r.error;
}

TEST(HttpClient, RefusesProtocolsOtherThanHttp) {
    HttpClient client(bounded_client());
    for (const std::string url : {"ftp://127.0.0.1:9/file", "file:///etc/hostname"}) {
        SCOPED_TRACE(url);
        const GetResult r = client.get(url);
        EXPECT_FALSE(r.ok());
        EXPECT_EQ(r.status, 0);
        EXPECT_EQ(r.bytes, 0u);
        EXPECT_NE(lower(r.error).find("protocol"), std::string::npos) << r.error;
        EXPECT_NE(r.error.find(url), std::string::npos) << r.error;
    }
}

TEST(HttpClient, MovedClientKeepsWorking) {
    DelayServer server(ServerConfig{});
    HttpClient first(bounded_client(/*keep_alive=*/true));
    ASSERT_TRUE(first.get(server.base_url()).ok());
    HttpClient second(std::move(first));
    EXPECT_TRUE(second.get(server.base_url()).ok());
    const GetResult moved_from = first.get(server.base_url());  // NOLINT(bugprone-use-after-move)
    EXPECT_FALSE(moved_from.ok());
    EXPECT_NE(moved_from.error.find("moved"), std::string::npos) << moved_from.error;
    EXPECT_EQ(server.connections_accepted(), 1u);  // the handle, and its connection, moved
}

TEST(HttpClient, ReportsCurlVersion) {
    const std::string version = gilbench::http::curl_version();
    EXPECT_FALSE(version.empty());
    EXPECT_NE(version.find('.'), std::string::npos) << version;
}

}  // namespace
