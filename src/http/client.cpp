// HTTP GET. http:// goes through our own sockets (plain_http.cpp); everything else through one
// reused libcurl easy handle, driven by one multi handle (which owns the connection cache, so
// keep-alive works across GETs). libcurl options that never change are set once in the
// constructor (libcurl keeps them across transfers); get_with_curl() only sets the URL.
//
// Where a GET releases the GIL (the hooks). CPython's urllib with a timeout, per request on a
// fresh connection, releases it around getaddrinfo, socket, settimeout's ioctl, connect, a
// poll and SO_ERROR, a poll and send, a poll and recv, and close (strace shows one system call
// each against this server), and re-takes it after each to run its Python code. Beside a CPU-bound thread each release is a race between that system call and
// the CPU thread's wake-up, so what counts is not only how many releases there are but how
// long each lasts and how long the GIL is held in between (docs/gil-fidelity.md).
//
// * http:// URLs: plain_http.cpp makes exactly those system calls, one per step, with its own
//   parsing in between (GIL held). This is the faithful path, and the one the
//   embedded server and every fidelity figure use.
// * https:// URLs: libcurl (TLS). Its easy interface would be one blocking call, so the
//   transfer is driven with the multi interface, in steps cut where libcurl lets us:
//     resolve  curl_multi_perform until the open-socket callback
//     socket   socket(), in that callback
//     connect  the rest of that perform (libcurl's non-blocking connect, the TLS handshake
//              start)
//     send     curl_multi_poll + curl_multi_perform until the request has gone out
//     recv     curl_multi_poll + curl_multi_perform reading the response
//     close    close(), in the close-socket callback
//   A step boundary inside a perform (around socket() and close(), at the first response
//   header) calls reacquire() then release(). These steps also cover libcurl's own work
//   (parsing, TLS), which in CPython would run with the GIL held: an approximation.
#include "http/client.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <curl/curl.h>

#include "http/plain_http.hpp"

namespace gilbench::http {

namespace {

struct easy_deleter {
    void operator()(CURL* handle) const noexcept { curl_easy_cleanup(handle); }
};
using easy_handle = std::unique_ptr<CURL, easy_deleter>;

struct multi_deleter {
    void operator()(CURLM* handle) const noexcept { curl_multi_cleanup(handle); }
};
using multi_handle = std::unique_ptr<CURLM, multi_deleter>;

// Longest single poll. libcurl shortens it to its own next timeout (connect or transfer
// timeout, retries), so this only bounds how long one wait can block.
constexpr int k_poll_limit_ms = 1000;

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

// Takes the easy handle out of the multi handle on every exit from get(), also when a hook
// throws: a handle left in would be driven by the next get() twice.
class added_to_multi {
public:
    added_to_multi(CURLM* multi, CURL* easy) : multi_(multi), easy_(easy) {
        const CURLMcode rc = curl_multi_add_handle(multi_, easy_);
        if (rc != CURLM_OK)
            throw std::runtime_error(std::string("libcurl: curl_multi_add_handle failed: ") +
                                     curl_multi_strerror(rc));
    }
    ~added_to_multi() { curl_multi_remove_handle(multi_, easy_); }
    added_to_multi(const added_to_multi&) = delete;
    added_to_multi& operator=(const added_to_multi&) = delete;

private:
    CURLM* multi_;
    CURL* easy_;
};

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

namespace {

// The get() in progress, as the socket callbacks see it.
struct step_state {
    const BlockingHooks* hooks = nullptr;  // non-null only inside get()
    CURL* easy = nullptr;
    bool released = false;                 // between hooks->release() and reacquire()
    bool new_transfer = false;             // no step of this get() has started yet
    bool sent_at_start = false;            // the request was sent before this step began
    bool response_seen = false;            // the first response header line has arrived
    std::optional<Step> marked;            // what this step is, when a callback knows
    std::vector<Step> done;                // the finished steps of this get()
    std::string socket_error;              // why our socket() failed
    std::exception_ptr hook_error;         // a hook threw inside a callback

    bool request_sent() const {
        long bytes = 0;
        curl_easy_getinfo(easy, CURLINFO_REQUEST_SIZE, &bytes);
        return bytes > 0;
    }
    // Unless a callback said what the step was: it is the recv if the request had gone out
    // before it, the send if the request went out during it, the connect otherwise.
    Step finished_kind() const {
        if (marked) return *marked;
        if (sent_at_start) return Step::recv;
        return request_sent() ? Step::send : Step::connect;
    }
    void release() {
        sent_at_start = !new_transfer && request_sent();  // the last transfer's size until reset
        new_transfer = false;
        if (hooks && hooks->release) hooks->release();
        released = true;
    }
    // Only after a release that happened: a release hook that threw left nothing to undo.
    void reacquire() {
        if (!released) return;
        released = false;
        const Step kind = finished_kind();
        marked.reset();
        done.push_back(kind);
        if (hooks && hooks->reacquire) hooks->reacquire(kind);
    }
    // Inside a perform (released): take back, give up again. False if a hook threw; the
    // exception is kept for get() to rethrow, since it must not cross libcurl's C frames.
    bool boundary() noexcept {
        if (!hooks || !released || hook_error) return !hook_error;
        try {
            reacquire();
            release();
            return true;
        } catch (...) {
            hook_error = std::current_exception();
            return false;
        }
    }
    void mark(Step kind) {
        if (hooks && released) marked = kind;
    }
};

// Step 2: socket() is its own blocking step.
curl_socket_t open_socket(void* clientp, curlsocktype purpose, curl_sockaddr* address) {
    auto& step = *static_cast<step_state*>(clientp);
    if (purpose != CURLSOCKTYPE_IPCXN) return CURL_SOCKET_BAD;  // only plain TCP connections
    step.mark(Step::resolve);
    if (!step.boundary()) return CURL_SOCKET_BAD;
    step.mark(Step::socket);
    const int fd = ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
    if (fd < 0) {
        step.socket_error = std::string("socket(): ") + std::strerror(errno);
        return CURL_SOCKET_BAD;
    }
    if (!step.boundary()) {
        ::close(fd);
        return CURL_SOCKET_BAD;
    }
    return fd;
}

// The first header line of the response: if it arrived in the step that sent the request (a
// server that answers at once), end that step here, so that the recv is a step of its own as
// in urllib, where send and recv are two system calls, whatever the server's speed.
std::size_t on_header(char* /*data*/, std::size_t size, std::size_t nmemb, void* userdata) {
    auto& step = *static_cast<step_state*>(userdata);
    if (!step.response_seen) {
        step.response_seen = true;
        if (step.released && !step.marked && !step.sent_at_start) {
            step.mark(Step::send);
            if (!step.boundary()) return 0;  // 0 aborts the transfer; get() rethrows
        }
    }
    return size * nmemb;
}

// Step 6: close() is its own blocking step when it happens inside a get() (a keep-alive
// connection is closed later, by the destructor, outside any get()).
int close_socket(void* clientp, curl_socket_t fd) {
    auto& step = *static_cast<step_state*>(clientp);
    step.boundary();
    step.mark(Step::close);
    return ::close(fd);
}

}  // namespace

struct HttpClient::Impl {
    std::unique_ptr<detail::PlainHttp> plain;  // http://, unless libcurl_for_http
    easy_handle handle;                        // https:// (and the error for other schemes)
    multi_handle multi;
    std::size_t body_bytes = 0;            // written by count_body during a transfer
    char error_buffer[CURL_ERROR_SIZE]{};  // libcurl's detail for the last failure
    step_state step;                       // what the socket callbacks need
    std::chrono::milliseconds timeout{0};  // for one whole get(); 0: none
};

HttpClient::HttpClient(ClientConfig config) : impl_(std::make_unique<Impl>()) {
    if (config.timeout.count() < 0 || config.connect_timeout.count() < 0)
        throw std::runtime_error("http client: timeouts must not be negative (timeout " +
                                 std::to_string(config.timeout.count()) + " ms, connect " +
                                 std::to_string(config.connect_timeout.count()) +
                                 " ms): use 0 for none");
    global_init();
    if (!config.libcurl_for_http)
        impl_->plain = std::make_unique<detail::PlainHttp>(config.keep_alive, config.connect_timeout);
    impl_->timeout = config.timeout;
    impl_->handle.reset(curl_easy_init());
    if (!impl_->handle) throw std::runtime_error("libcurl: curl_easy_init failed (out of memory?)");
    impl_->multi.reset(curl_multi_init());
    if (!impl_->multi) throw std::runtime_error("libcurl: curl_multi_init failed (out of memory?)");
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
    // Our socket calls, so that each can be its own blocking step (see the top of the file).
    set_option(h, CURLOPT_OPENSOCKETFUNCTION, &open_socket, "CURLOPT_OPENSOCKETFUNCTION");
    set_option(h, CURLOPT_OPENSOCKETDATA, static_cast<void*>(&impl_->step), "CURLOPT_OPENSOCKETDATA");
    set_option(h, CURLOPT_CLOSESOCKETFUNCTION, &close_socket, "CURLOPT_CLOSESOCKETFUNCTION");
    set_option(h, CURLOPT_CLOSESOCKETDATA, static_cast<void*>(&impl_->step), "CURLOPT_CLOSESOCKETDATA");
    set_option(h, CURLOPT_HEADERFUNCTION, &on_header, "CURLOPT_HEADERFUNCTION");
    set_option(h, CURLOPT_HEADERDATA, static_cast<void*>(&impl_->step), "CURLOPT_HEADERDATA");
    if (!config.keep_alive) {
        // Like requests.get: connect, request, close, every time.
        set_option(h, CURLOPT_FRESH_CONNECT, 1L, "CURLOPT_FRESH_CONNECT");
        set_option(h, CURLOPT_FORBID_REUSE, 1L, "CURLOPT_FORBID_REUSE");
    }
}

HttpClient::~HttpClient() = default;
HttpClient::HttpClient(HttpClient&&) noexcept = default;
HttpClient& HttpClient::operator=(HttpClient&&) noexcept = default;

const char* to_string(Step step) {
    switch (step) {
    case Step::resolve: return "resolve";
    case Step::socket: return "socket";
    case Step::settimeout: return "settimeout";
    case Step::connect_start: return "connect_start";
    case Step::poll: return "poll";
    case Step::connect: return "connect";
    case Step::send: return "send";
    case Step::recv: return "recv";
    case Step::close: return "close";
    }
    return "?";
}

std::vector<Step> HttpClient::last_steps() const { return impl_ ? impl_->step.done : std::vector<Step>{}; }

namespace {

constexpr int k_max_redirects = 10;  // as CURLOPT_MAXREDIRS for https

struct url_deleter {
    void operator()(CURLU* u) const noexcept { curl_url_cleanup(u); }
};

// Location (absolute, or any relative reference: "/p", "p", "../p", "?q", "//host/p") against
// the URL it came from, by libcurl's own URL parser (RFC 3986 resolution, as its redirects do).
// nullopt, with libcurl's reason in *why, when either does not parse.
std::optional<std::string> resolve_location(const std::string& base, const std::string& location,
                                            std::string* why) {
    const std::unique_ptr<CURLU, url_deleter> u(curl_url());
    if (!u) {
        *why = "out of memory";
        return std::nullopt;
    }
    CURLUcode rc = curl_url_set(u.get(), CURLUPART_URL, base.c_str(), 0);
    // Set again with a base in place, a relative Location is resolved against it.
    if (rc == CURLUE_OK) rc = curl_url_set(u.get(), CURLUPART_URL, location.c_str(), 0);
    char* joined = nullptr;
    if (rc == CURLUE_OK) rc = curl_url_get(u.get(), CURLUPART_URL, &joined, 0);
    if (rc != CURLUE_OK) {
        *why = curl_url_strerror(rc);
        return std::nullopt;
    }
    std::string out = joined;
    curl_free(joined);
    return out;
}

}  // namespace

GetResult HttpClient::get(const std::string& url, const BlockingHooks& hooks) {
    if (!impl_) {
        GetResult result;
        result.error = "GET " + url + ": this HttpClient was moved from; use the one it moved to";
        return result;
    }
    impl_->step.done.clear();
    // One deadline for the whole GET: every hop of a redirect chain shares it.
    const detail::Deadline deadline(impl_->timeout);
    std::string current = url;
    for (int hop = 0;; ++hop) {
        const auto parts = impl_->plain ? detail::parse_plain_url(current) : std::nullopt;
        if (!parts) return get_with_curl(current, hooks, deadline);
        detail::PlainHttp::Response r = impl_->plain->get(current, *parts, hooks, impl_->step.done, deadline);
        if (r.redirect_location.empty()) return r.result;
        if (hop == k_max_redirects) {
            r.result.error = "GET " + url + ": more than " + std::to_string(k_max_redirects) + " redirects";
            return r.result;
        }
        // requests.get follows redirects too
        std::string why;
        const std::optional<std::string> next = resolve_location(current, r.redirect_location, &why);
        if (!next) {
            r.result.error = "GET " + url + ": redirect to '" + r.redirect_location + "' from " + current +
                             " is not a URL libcurl can resolve (" + why + "): fix the server's Location header";
            return r.result;
        }
        current = *next;
    }
}

GetResult HttpClient::get_with_curl(const std::string& url, const BlockingHooks& hooks, const detail::Deadline& deadline) {
    GetResult result;
    CURL* h = impl_->handle.get();
    CURLM* m = impl_->multi.get();
    step_state& step = impl_->step;
    impl_->body_bytes = 0;
    impl_->error_buffer[0] = '\0';
    step.easy = h;
    step.marked.reset();
    step.new_transfer = true;
    step.response_seen = false;
    step.socket_error.clear();
    step.hook_error = nullptr;

    // CURLOPT_TIMEOUT_MS bounds the whole transfer, libcurl's redirects included; after
    // plain-http hops (an http:// URL redirected to https://) only what is left of the GET's.
    if (deadline.expired()) {
        result.error = "GET " + url + ": " + deadline.timed_out_text();
        return result;
    }
    const long timeout_ms =
        deadline.none() ? 0L
                        : static_cast<long>(std::max<std::int64_t>(1, (deadline.remaining().count() + 999) / 1000));
    CURLcode rc = curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    if (rc == CURLE_OK) rc = curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    CURLMcode mc = CURLM_OK;
    if (rc == CURLE_OK) {
        const added_to_multi added(m, h);
        step.hooks = &hooks;
        // Whatever happens below, the callbacks must not see these hooks after get().
        struct forget_hooks {
            step_state& step;
            ~forget_hooks() { step.hooks = nullptr; }
        } forget{step};
        int running = 1;
        // Steps 1-3 (or 4 alone on a reused connection): the first perform.
        step.release();
        mc = curl_multi_perform(m, &running);
        step.reacquire();
        // Steps 4 and 5 (and 6 from the callback): wait for the socket, then do what it
        // allows; one step, like urllib's recv, which both waits and reads.
        while (mc == CURLM_OK && running > 0 && !step.hook_error) {
            step.release();
            mc = curl_multi_poll(m, nullptr, 0, k_poll_limit_ms, nullptr);
            if (mc == CURLM_OK) mc = curl_multi_perform(m, &running);
            step.reacquire();
        }
        if (step.hook_error) std::rethrow_exception(step.hook_error);
        if (mc == CURLM_OK) {
            rc = CURLE_RECURSIVE_API_CALL;  // replaced by the transfer's own result below
            int queued = 0;
            while (CURLMsg* msg = curl_multi_info_read(m, &queued))
                if (msg->msg == CURLMSG_DONE && msg->easy_handle == h) rc = msg->data.result;
        }
    }
    result.bytes = impl_->body_bytes;
    if (mc != CURLM_OK) {
        result.error = "GET " + url + ": libcurl multi interface: " + curl_multi_strerror(mc);
        return result;
    }
    if (rc != CURLE_OK) {
        // status stays 0: a failed transfer has no trustworthy status.
        result.error = "GET " + url + ": " + curl_easy_strerror(rc);
        std::string detail = impl_->error_buffer;
        if (!step.socket_error.empty()) detail += (detail.empty() ? "" : "; ") + step.socket_error;
        if (!detail.empty() && detail != curl_easy_strerror(rc)) result.error += " (" + detail + ")";
        // libcurl's words ("Timeout was reached") do not say which setting to raise. Its timer
        // and ours end together, give or take a tick; a connect timeout ends well before.
        if (rc == CURLE_OPERATION_TIMEDOUT && !deadline.none() && deadline.remaining() <= std::chrono::milliseconds(100))
            result.error += ": " + deadline.timed_out_text();
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
