// HTTP GET through one reused libcurl easy handle. Options that never change are set once
// in the constructor (libcurl keeps them across transfers); get() only sets the URL.
#include "http/client.hpp"

#include <mutex>
#include <stdexcept>
#include <string>

#include <curl/curl.h>

namespace gilbench::http {

namespace {

struct easy_deleter {
    void operator()(CURL* handle) const noexcept { curl_easy_cleanup(handle); }
};
using easy_handle = std::unique_ptr<CURL, easy_deleter>;

// The one place a curl_easy_setopt result is checked: a failure here is a build of libcurl
// without a feature we rely on, so it is a configuration error, not a transfer error.
template <class Value>
void set_option(CURL* handle, CURLoption option, Value value, const char* name) {
    const CURLcode rc = curl_easy_setopt(handle, option, value);
    if (rc != CURLE_OK)
        throw std::runtime_error(std::string("libcurl: cannot set ") + name + ": " +
                                 curl_easy_strerror(rc) + " (libcurl " +
                                 curl_version_info(CURLVERSION_NOW)->version +
                                 "; gilbench needs 7.85 or newer with http support)");
}

// Counts the body and throws it away: the workload measures waiting, not content.
std::size_t count_body(char* /*data*/, std::size_t size, std::size_t nmemb, void* userdata) {
    *static_cast<std::size_t*>(userdata) += size * nmemb;
    return size * nmemb;
}

}  // namespace

void global_init() {
    // curl_global_init is not thread-safe on every build, so exactly one call, before
    // any handle exists. call_once retries if the first attempt threw.
    static std::once_flag once;
    std::call_once(once, [] {
        const CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
        if (rc != CURLE_OK)
            throw std::runtime_error(std::string("libcurl: curl_global_init failed: ") +
                                     curl_easy_strerror(rc));
    });
}

std::string curl_version() { return curl_version_info(CURLVERSION_NOW)->version; }

struct HttpClient::Impl {
    easy_handle handle;
    std::size_t body_bytes = 0;          // written by count_body during a transfer
    char error_buffer[CURL_ERROR_SIZE]{};  // libcurl's detail for the last failure
};

HttpClient::HttpClient(ClientConfig config) : impl_(std::make_unique<Impl>()) {
    if (config.timeout.count() < 0 || config.connect_timeout.count() < 0)
        throw std::runtime_error("http client: timeouts must not be negative (timeout " +
                                 std::to_string(config.timeout.count()) + " ms, connect " +
                                 std::to_string(config.connect_timeout.count()) +
                                 " ms): use 0 for none");
    global_init();
    impl_->handle.reset(curl_easy_init());
    if (!impl_->handle) throw std::runtime_error("libcurl: curl_easy_init failed (out of memory?)");
    CURL* h = impl_->handle.get();

    // Threads and signals: without NOSIGNAL, libcurl's resolver timeouts use SIGALRM,
    // which is not safe with several threads.
    set_option(h, CURLOPT_NOSIGNAL, 1L, "CURLOPT_NOSIGNAL");
    // A URL comes from a job file: never let it read local files or speak other protocols.
    set_option(h, CURLOPT_PROTOCOLS_STR, "http,https", "CURLOPT_PROTOCOLS_STR");
    set_option(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https", "CURLOPT_REDIR_PROTOCOLS_STR");
    // requests.get follows redirects; so do we.
    set_option(h, CURLOPT_FOLLOWLOCATION, 1L, "CURLOPT_FOLLOWLOCATION");
    set_option(h, CURLOPT_MAXREDIRS, 10L, "CURLOPT_MAXREDIRS");
    // An http_proxy in the environment must not capture traffic to the node's own server.
    set_option(h, CURLOPT_NOPROXY, "127.0.0.1,localhost,::1", "CURLOPT_NOPROXY");
    set_option(h, CURLOPT_TIMEOUT_MS, static_cast<long>(config.timeout.count()),
               "CURLOPT_TIMEOUT_MS");
    set_option(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(config.connect_timeout.count()),
               "CURLOPT_CONNECTTIMEOUT_MS");
    set_option(h, CURLOPT_USERAGENT, "gilbench", "CURLOPT_USERAGENT");
    set_option(h, CURLOPT_WRITEFUNCTION, &count_body, "CURLOPT_WRITEFUNCTION");
    // Impl lives on the heap, so these pointers stay valid when the HttpClient moves.
    set_option(h, CURLOPT_WRITEDATA, static_cast<void*>(&impl_->body_bytes), "CURLOPT_WRITEDATA");
    set_option(h, CURLOPT_ERRORBUFFER, impl_->error_buffer, "CURLOPT_ERRORBUFFER");
    if (!config.keep_alive) {
        // Like requests.get: connect, request, close, every time.
        set_option(h, CURLOPT_FRESH_CONNECT, 1L, "CURLOPT_FRESH_CONNECT");
        set_option(h, CURLOPT_FORBID_REUSE, 1L, "CURLOPT_FORBID_REUSE");
    }
}

HttpClient::~HttpClient() = default;
HttpClient::HttpClient(HttpClient&&) noexcept = default;
HttpClient& HttpClient::operator=(HttpClient&&) noexcept = default;

GetResult HttpClient::get(const std::string& url) {
    GetResult result;
    if (!impl_) {
        result.error = "GET " + url + ": this HttpClient was moved from; use the one it moved to";
        return result;
    }
    CURL* h = impl_->handle.get();
    impl_->body_bytes = 0;
    impl_->error_buffer[0] = '\0';

    CURLcode rc = curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    if (rc == CURLE_OK) rc = curl_easy_perform(h);
    result.bytes = impl_->body_bytes;
    if (rc != CURLE_OK) {
        // status stays 0: a failed transfer has no trustworthy status.
        result.error = "GET " + url + ": " + curl_easy_strerror(rc);
        const std::string detail = impl_->error_buffer;
        if (!detail.empty() && detail != curl_easy_strerror(rc)) result.error += " (" + detail + ")";
        return result;
    }

    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    result.status = status;
    if (status < 200 || status >= 300)
        result.error = "HTTP " + std::to_string(status) + " from " + url;
    return result;
}

}  // namespace gilbench::http
