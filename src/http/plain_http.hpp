// Internal to http/: a GET over plain http made of the same system calls, in the same order,
// as CPython's urllib.request.urlopen makes them (getaddrinfo, socket, connect, send, recv,
// close), each one a blocking step of its own. See client.cpp for why.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

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

// Calls the hooks around each system call and records the steps; the connection may be kept
// for the next GET (keep-alive).
class PlainHttp {
public:
    PlainHttp(bool keep_alive, std::chrono::milliseconds timeout, std::chrono::milliseconds connect_timeout);
    ~PlainHttp();
    PlainHttp(const PlainHttp&) = delete;
    PlainHttp& operator=(const PlainHttp&) = delete;

    // A redirect is reported as redirect_location (the caller decides what to do with it).
    struct Response {
        GetResult result;
        std::string redirect_location;
    };
    Response get(const std::string& url, const PlainUrl& parts, const BlockingHooks& hooks,
                 std::vector<Step>& steps);

private:
    struct Step_;
    int connect_fresh(const PlainUrl& parts, std::string& error);
    void close_kept();

    bool keep_alive_;
    std::chrono::milliseconds timeout_;
    std::chrono::milliseconds connect_timeout_;
    int kept_fd_ = -1;           // an open keep-alive connection, or -1
    std::string kept_endpoint_;  // host:port it is connected to
    const BlockingHooks* hooks_ = nullptr;
    std::vector<Step>* steps_ = nullptr;
};

}  // namespace gilbench::http::detail
