// HTTP GET, restricted to http/https. One HttpClient per thread.
//
// A GET gives other threads their turn where CPython's urllib releases the GIL: around each
// socket call (Py_BEGIN/END_ALLOW_THREADS in Modules/socketmodule.c). On a fresh connection
// urllib with a timeout makes 11 - getaddrinfo, socket, settimeout's ioctl, connect, a poll
// and SO_ERROR for it, a poll and send, a poll and recv (which waits for the response), close
// - and runs its Python code, GIL held, in between. get() calls the caller's hooks around the
// same steps: for http:// with exactly those system calls (plain_http.cpp); for https://
// with libcurl driven step by step (client.cpp: six coarser steps). Beside a CPU-bound thread, how
// many such releases a request makes, and how long each lasts, decide the convoy effect
// (docs/gil-fidelity.md, "How a GET gives up the GIL").
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace gilbench::http {

namespace detail {
class Deadline;  // plain_http.hpp
}

// curl_global_init, once per process, before any thread uses curl. Thread-safe.
void global_init();
std::string curl_version();

struct ClientConfig {
    bool keep_alive = false;  // false: a fresh connection per request, like requests.get
    // The most one whole get() may take, from resolving the name to the last byte of the
    // body, redirects included (0: no limit). A slow server that keeps sending a little
    // still fails at this point, with an error that says so.
    std::chrono::milliseconds timeout{30000};
    std::chrono::milliseconds connect_timeout{5000};  // each connect() (within `timeout`)
    // http:// through libcurl too (as https://) instead of urllib's system calls: for tests
    // and for comparing the two; the workloads leave it off.
    bool libcurl_for_http = false;
};

struct GetResult {
    long status = 0;          // HTTP status, 0 when the transfer failed
    std::size_t bytes = 0;    // body size (decoded; counted, never kept in memory)
    std::string error;        // empty on success; curl_easy_strerror + detail otherwise
    bool ok() const { return error.empty() && status >= 200 && status < 300; }
};

// The blocking steps of a GET: each one release of the GIL in CPython's socket module, named
// after the system call it stands for (plain_http.cpp has urllib's sequence). settimeout: the
// ioctl that makes the socket non-blocking; connect_start: a connect() still in progress;
// poll: a wait for the socket to be ready, before each send and recv and for a connect in
// progress; connect: the call that ends socket.connect (connect() done at once, or SO_ERROR
// after the wait). `close` stays last (arrays are indexed by Step).
enum class Step { resolve, socket, settimeout, connect_start, poll, connect, send, recv, close };
const char* to_string(Step step);

// Called around each blocking step of a GET: release() before it, reacquire(step) after it
// with what the step turned out to be, always in pairs and in that order, on the thread that
// called get(). Either may be empty. gilbench's I/O workload drops and re-takes its GIL here.
// They should not throw; if one does, the transfer is abandoned and the exception
// propagates out of get().
struct BlockingHooks {
    std::function<void()> release;              // Py_BEGIN_ALLOW_THREADS
    std::function<void(Step done)> reacquire;   // Py_END_ALLOW_THREADS
};

class HttpClient {
public:
    explicit HttpClient(ClientConfig config = {});
    ~HttpClient();
    HttpClient(HttpClient&&) noexcept;
    HttpClient& operator=(HttpClient&&) noexcept;
    HttpClient(const HttpClient&) = delete;
    HttpClient& operator=(const HttpClient&) = delete;

    // One GET. Called and returning with whatever `hooks.reacquire` gives back (the GIL).
    GetResult get(const std::string& url, const BlockingHooks& hooks = {});
    // The blocking steps of the last get(), in order: resolve, socket, settimeout,
    // connect_start, poll, connect, poll, send, poll, recv, close on a fresh plain-http
    // connection, as urllib with a timeout; poll, send, poll, recv on a reused one (more when
    // a message needs more than one system call).
    std::vector<Step> last_steps() const;

private:
    GetResult get_with_curl(const std::string& url, const BlockingHooks& hooks, const detail::Deadline& deadline);
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace gilbench::http
