// The embedded HTTP server: the default I/O target, standing in for the seed's public
// numbers API. Asynchronous (Boost.Beast over Asio): a delayed response is a timer owned
// by the session, so thousands of concurrent delayed requests cost no extra threads.
//
//   GET /                 -> 200 after the default delay
//   GET /?delay=0.25      -> 200 after 0.25 s (seconds, 0 <= delay <= 60)
//   anything else         -> 404 / 400 / 405 at once
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace gilbench::http {

struct ServerConfig {
    std::string bind_address = "127.0.0.1";  // loopback unless told otherwise
    std::uint16_t port = 0;                  // 0: an ephemeral port
    std::chrono::microseconds default_delay{0};
    int io_threads = 1;
    // Longest wait for a request (or the rest of one) on a connection, and for a response
    // write; an idle keep-alive connection is closed after it. Beast's examples use 30 s.
    std::chrono::milliseconds read_timeout{30000};
};

class DelayServer {
public:
    // Binds and starts serving on background thread(s). Throws std::runtime_error naming
    // the address and the system's message if it cannot bind, or naming the field if the
    // config is invalid (io_threads < 1, default_delay outside [0, 60 s], read_timeout <= 0).
    explicit DelayServer(ServerConfig config);
    ~DelayServer();  // stops and joins
    DelayServer(const DelayServer&) = delete;
    DelayServer& operator=(const DelayServer&) = delete;

    std::uint16_t port() const;
    std::string base_url() const;             // "http://127.0.0.1:PORT/"
    // Responses written (any status). Counted when the write is started, so a client that
    // has received its response always finds it counted.
    std::uint64_t requests_served() const;
    std::uint64_t connections_accepted() const;  // TCP connections accepted (keep-alive check)
    std::int64_t in_flight() const;           // requests read and not yet answered
    std::int64_t max_in_flight() const;       // highest in_flight() seen: proves overlap
    // Stops accepting, abandons pending delayed responses (their connections are closed),
    // joins the threads. Idempotent; never call it from a handler on the server's threads.
    void stop();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Pure request handling, testable without sockets.
struct ParsedTarget {
    bool ok = false;
    int status = 200;                         // 400 / 404 when !ok
    std::chrono::microseconds delay{0};
    std::string error;
};
ParsedTarget parse_target(const std::string& method, const std::string& target,
                          std::chrono::microseconds default_delay);

}  // namespace gilbench::http
