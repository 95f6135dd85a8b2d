// Internal to http/: a GET over plain http made of the same system calls, in the same order,
// as CPython's urllib.request.urlopen makes them (getaddrinfo, socket, connect, send, recv,
// close), each one a blocking step of its own. See client.cpp for why.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "http/client.hpp"

namespace gilbench::http::detail {

struct PlainUrl {
    std::string host;  // without brackets for IPv6 literals
    std::string port;  // "80" when the URL gives none
    std::string target;  // path and query, "/" at least
    std::string host_header;  // host[:port] as the URL spells it
};

// "http://host[:port][/path][?query]" -> parts; nullopt for any other scheme or a malformed
// URL (the caller then reports or hands it to libcurl).
std::optional<PlainUrl> parse_plain_url(const std::string& url);

// When one whole GET (every redirect included) must be over. A timeout per call alone bounds
// each wait, not the request: a server that drips a byte every few seconds would hold it for ever.
class Deadline {
public:
    using clock = std::chrono::steady_clock;
    // `total` from now; 0: none.
    explicit Deadline(std::chrono::milliseconds total);
    bool none() const { return total_.count() == 0; }
    std::chrono::milliseconds total() const { return total_; }
    bool expired() const { return !none() && clock::now() >= at_; }
    // What is left, at least 1 us while not expired; max() when there is no deadline.
    std::chrono::microseconds remaining() const;
    // The error for a GET that ran past it, naming the setting that raises it.
    std::string timed_out_text() const;

private:
    std::chrono::milliseconds total_;
    clock::time_point at_;
};

// A socket descriptor owned by the GET (or kept for the next one). The GET closes it as a
// blocking step of its own (close(), through the hooks); the destructor only closes what an
// early exit (a hook that threw) left open, outside any step.
class UniqueFd {
public:
    UniqueFd() = default;
    explicit UniqueFd(int fd) : fd_(fd) {}
    ~UniqueFd() { close(); }
    UniqueFd(UniqueFd&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
    UniqueFd& operator=(UniqueFd&& other) noexcept;
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;

    int get() const { return fd_; }
    explicit operator bool() const { return fd_ >= 0; }
    void reset(int fd);  // closes the one it had
    // close(2)'s result; the descriptor is gone either way (Linux: never retried on EINTR).
    int close() noexcept;

private:
    int fd_ = -1;
};

// Calls the hooks around each system call and records the steps; the connection may be kept
// for the next GET (keep-alive).
class PlainHttp {
public:
    PlainHttp(bool keep_alive, std::chrono::milliseconds connect_timeout);
    ~PlainHttp();
    PlainHttp(const PlainHttp&) = delete;
    PlainHttp& operator=(const PlainHttp&) = delete;

    // A redirect is reported as redirect_location (the caller decides what to do with it).
    struct Response {
        GetResult result;
        std::string redirect_location;
    };
    // Fails with deadline.timed_out_text() once the deadline has passed, whichever step
    // was waiting.
    Response get(const std::string& url, const PlainUrl& parts, const BlockingHooks& hooks,
                 std::vector<Step>& steps, const Deadline& deadline);

private:
    struct Step_;
    struct Exchange;
    // What every step of one GET needs to know.
    struct Request {
        const std::string& url;
        const PlainUrl& parts;
        std::string endpoint;  // host:port, the key of a kept connection
        std::string text;      // the request head, as sent
        const Deadline& deadline;
    };
    std::string request_text(const PlainUrl& parts) const;
    static Response failure(const std::string& url, const std::string& what);
    std::optional<Response> exchange_on(UniqueFd sock, bool reused, const Request& req);
    UniqueFd connect_fresh(const PlainUrl& parts, const Deadline& deadline, std::string& error);
    int finish_connect(int fd, Deadline::clock::time_point connect_end, const Deadline& deadline);
    bool wait_ready(int fd, short events, const Deadline& deadline);
    bool send_all(int fd, const std::string& request, const Deadline& deadline, std::string& error);
    std::optional<ssize_t> recv_some(int fd, std::size_t at, const Deadline& deadline);
    Exchange receive(int fd, bool reused, const PlainUrl& parts, const Deadline& deadline);
    void close_kept();

    bool keep_alive_;
    std::chrono::milliseconds connect_timeout_;
    UniqueFd kept_;              // an open keep-alive connection, or none
    std::string kept_endpoint_;  // host:port it is connected to
    // Where recv() writes: a head (at most 64 KiB) or an unfinished chunk-size line, plus one
    // recv. The body passes through it and is counted, never kept: memory stays this size
    // whatever the body's.
    std::vector<char> buffer_;
    const BlockingHooks* hooks_ = nullptr;
    std::vector<Step>* steps_ = nullptr;
};

}  // namespace gilbench::http::detail
