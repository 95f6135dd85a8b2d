// HTTP GET through libcurl, restricted to http/https. One HttpClient per thread.
#pragma once

#include <chrono>
#include <memory>
#include <string>

namespace gilbench::http {

// curl_global_init, once per process, before any thread uses curl. Thread-safe.
void global_init();
std::string curl_version();

struct ClientConfig {
    bool keep_alive = false;  // false: a fresh connection per request, like requests.get
    std::chrono::milliseconds timeout{30000};
    std::chrono::milliseconds connect_timeout{5000};
};

struct GetResult {
    long status = 0;          // HTTP status, 0 when the transfer failed
    std::size_t bytes = 0;    // body size
    std::string error;        // empty on success; curl_easy_strerror + detail otherwise
    bool ok() const { return error.empty() && status >= 200 && status < 300; }
};

class HttpClient {
public:
    explicit HttpClient(ClientConfig config = {});
    ~HttpClient();
    HttpClient(HttpClient&&) noexcept;
    HttpClient& operator=(HttpClient&&) noexcept;
    HttpClient(const HttpClient&) = delete;
    HttpClient& operator=(const HttpClient&) = delete;

    GetResult get(const std::string& url);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace gilbench::http
