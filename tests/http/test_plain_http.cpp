// The plain-http engine (urllib's system calls): URL parsing, and responses the embedded
// server never sends - chunked, ending with the connection, redirects, a keep-alive
// connection the server closed - from a canned server on 127.0.0.1.
#include "http/client.hpp"
#include "http/plain_http.hpp"
#include "http/server.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
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
using gilbench::http::Step;
using gilbench::http::detail::parse_plain_url;

TEST(PlainUrl, Parts) {
    const auto u = parse_plain_url("http://127.0.0.1:8080/a/b?delay=0.1#frag");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->host, "127.0.0.1");
    EXPECT_EQ(u->port, "8080");
    EXPECT_EQ(u->target, "/a/b?delay=0.1");
    EXPECT_EQ(u->host_header, "127.0.0.1:8080");
    const auto v = parse_plain_url("HTTP://[::1]/?x=1");
    ASSERT_TRUE(v);
    EXPECT_EQ(v->host, "::1");
    EXPECT_EQ(v->port, "80");
    EXPECT_EQ(v->target, "/?x=1");
    EXPECT_EQ(parse_plain_url("http://example.org")->target, "/");
    EXPECT_EQ(parse_plain_url("http://example.org?q")->target, "/?q");
    for (const char* bad : {"https://example.org/", "ftp://h/", "http://", "http://u@h/", "http://h:x/", "http://[::1/"})
        EXPECT_FALSE(parse_plain_url(bad)) << bad;
}

// Serves one canned response per accepted connection, in order; after the last, stops.
// keep_open: leave each connection open after writing (the client must find the end itself).
class CannedServer {
public:
    explicit CannedServer(std::vector<std::string> responses, bool keep_open = false)
        : responses_(std::move(responses)), keep_open_(keep_open) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
        ::listen(fd_, 8);
        socklen_t len = sizeof addr;
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
        port_ = ntohs(addr.sin_port);
        timeval tv{5, 0};  // the accept loop ends by itself if a test fails early
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        thread_ = std::thread([this] { serve(); });
    }
    ~CannedServer() {
        thread_.join();
        for (int c : open_) ::close(c);
        ::close(fd_);
    }
    std::string url(const std::string& path = "/") const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
    int accepted() const { return accepted_; }
    // The request lines received so far ("GET /a HTTP/1.1").
    std::vector<std::string> request_lines() const {
        const std::lock_guard<std::mutex> lock(mutex_);
        return request_lines_;
    }

private:
    void serve() {
        for (const std::string& response : responses_) {
            const int c = ::accept(fd_, nullptr, nullptr);
            if (c < 0) return;
            ++accepted_;
            timeval tv{5, 0};
            ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
            std::string request;
            char buf[1024];
            while (request.find("\r\n\r\n") == std::string::npos) {
                const auto n = ::recv(c, buf, sizeof buf, 0);
                if (n <= 0) break;
                request.append(buf, static_cast<std::size_t>(n));
            }
            {
                const std::lock_guard<std::mutex> lock(mutex_);
                request_lines_.push_back(request.substr(0, request.find("\r\n")));
            }
            ::send(c, response.data(), response.size(), MSG_NOSIGNAL);
            if (keep_open_) {
                open_.push_back(c);
            } else {
                ::close(c);
            }
        }
    }
    std::vector<std::string> responses_;
    bool keep_open_;
    int fd_ = -1;
    std::uint16_t port_ = 0;
    std::atomic<int> accepted_{0};
    std::vector<int> open_;
    mutable std::mutex mutex_;
    std::vector<std::string> request_lines_;
    std::thread thread_;
};

ClientConfig config(bool keep_alive = false) {
    ClientConfig c;
    c.keep_alive = keep_alive;
    c.timeout = 10s;
    c.connect_timeout = 5s;
    return c;
}

TEST(PlainHttp, ChunkedBodyIsDecoded) {
    CannedServer server({"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n"},
                        /*keep_open=*/true);
    HttpClient client(config());
    const GetResult r = client.get(server.url());
    EXPECT_TRUE(r.ok()) << r.error;
    EXPECT_EQ(r.bytes, 12u);
}

TEST(PlainHttp, BodyWithoutLengthEndsWithTheConnection) {
    CannedServer server({"HTTP/1.0 200 OK\r\n\r\nsome bytes"});
    HttpClient client(config());
    const GetResult r = client.get(server.url());
    EXPECT_TRUE(r.ok()) << r.error;
    EXPECT_EQ(r.bytes, 10u);
}

TEST(PlainHttp, TruncatedBodyIsAnError) {
    CannedServer server({"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort"});
    HttpClient client(config());
    const GetResult r = client.get(server.url());
    EXPECT_FALSE(r.ok());
    EXPECT_NE(r.error.find("before the body was complete"), std::string::npos) << r.error;
    EXPECT_NE(r.error.find(server.url()), std::string::npos) << r.error;
}

TEST(PlainHttp, GarbageIsAnError) {
    CannedServer server({"SSH-2.0-OpenSSH\r\n\r\n"});
    HttpClient client(config());
    const GetResult r = client.get(server.url());
    EXPECT_FALSE(r.ok());
    EXPECT_NE(r.error.find("not an HTTP response"), std::string::npos) << r.error;
}

TEST(PlainHttp, RedirectsAreFollowed) {
    DelayServer target(ServerConfig{});
    CannedServer server({"HTTP/1.1 302 Found\r\nLocation: /next\r\nContent-Length: 0\r\n\r\n",
                         "HTTP/1.1 301 Moved\r\nLocation: " + target.base_url() + "\r\nContent-Length: 0\r\n\r\n"});
    HttpClient client(config());
    const GetResult r = client.get(server.url());
    EXPECT_TRUE(r.ok()) << r.error;
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(target.requests_served(), 1u);
}

// Relative references resolve as RFC 3986 says (libcurl's URL parser), dot segments included.
TEST(PlainHttp, RelativeRedirectsResolveAgainstTheRequestedUrl) {
    CannedServer server({"HTTP/1.1 302 Found\r\nLocation: ../d?x=1\r\nContent-Length: 0\r\n\r\n",
                         "HTTP/1.1 302 Found\r\nLocation: e\r\nContent-Length: 0\r\n\r\n",
                         "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"});
    HttpClient client(config());
    const GetResult r = client.get(server.url("/a/b/c"));
    EXPECT_TRUE(r.ok()) << r.error;
    const std::vector<std::string> lines = server.request_lines();
    ASSERT_EQ(lines.size(), 3u);
    EXPECT_EQ(lines[0], "GET /a/b/c HTTP/1.1");
    EXPECT_EQ(lines[1], "GET /a/d?x=1 HTTP/1.1");
    EXPECT_EQ(lines[2], "GET /a/e HTTP/1.1");
}

TEST(PlainHttp, UnresolvableRedirectIsAnErrorNamingTheLocation) {
    CannedServer server({"HTTP/1.1 302 Found\r\nLocation: http://[::1\r\nContent-Length: 0\r\n\r\n"});
    HttpClient client(config());
    const GetResult r = client.get(server.url());
    EXPECT_FALSE(r.ok());
    EXPECT_NE(r.error.find("redirect to 'http://[::1'"), std::string::npos) << r.error;
    EXPECT_NE(r.error.find("Location header"), std::string::npos) << r.error;
}

TEST(PlainHttp, StaleKeepAliveConnectionIsRetriedOnAFreshOne) {
    // The first connection is closed by the server right after its response, although the
    // response allows keep-alive: the client's second GET finds it dead and reconnects.
    CannedServer server({"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"});
    HttpClient client(config(/*keep_alive=*/true));
    ASSERT_TRUE(client.get(server.url()).ok());
    std::this_thread::sleep_for(50ms);  // let the server's close arrive
    const GetResult r = client.get(server.url());
    EXPECT_TRUE(r.ok()) << r.error;
    EXPECT_EQ(server.accepted(), 2);
    const auto steps = client.last_steps();
    ASSERT_GE(steps.size(), 3u);
    EXPECT_EQ(steps[0], Step::poll);  // tried the kept connection first: poll, send
    EXPECT_EQ(steps[1], Step::send);
    EXPECT_EQ(steps.back(), Step::recv);   // and kept the new one
}

}  // namespace
