// A GET over plain http, one system call per blocking step, in the order of urllib's GET with
// a timeout (gilbench's always have one: io_timeout), as CPython 3.11's socket module makes
// them (strace of urllib.request.urlopen(url, timeout=30).read()):
//
//   urllib (http.client, socket.create_connection)      here                        step
//   socket.getaddrinfo(host, port, 0, SOCK_STREAM)       getaddrinfo(), same hints   resolve
//   socket.socket(af, type, proto)                       socket()                    socket
//   sock.settimeout(t): the socket becomes non-blocking  ioctl(FIONBIO)              settimeout
//   sock.connect(sa)                                     connect(): EINPROGRESS      connect_start
//                                                        poll(POLLOUT)               poll
//                                                        getsockopt(SO_ERROR)        connect
//   sock.setsockopt(TCP_NODELAY)  (GIL held)             setsockopt(), no step
//   sock.sendall(request)                                poll(POLLOUT), send()       poll, send
//   sock.recv_into(buffer of 8192)  (BufferedReader)     poll(POLLIN), recv()        poll, recv
//   sock.close()                                         close()                     close
//
// Only the system call itself runs between the hooks, as only it runs between CPython's
// Py_BEGIN_ALLOW_THREADS and Py_END_ALLOW_THREADS: a socket with a timeout releases the GIL
// for its poll() and again for the call (sock_call_ex), and for the ioctl that makes it
// non-blocking (internal_setblocking). Beside a CPU-bound thread each release is a chance to
// lose the GIL, so the number of releases per GET decides the convoy (docs/gil-fidelity.md).
// Parsing runs with the GIL held, as urllib's Python code does. Like urllib (and
// requests.get) the request says "Connection: close" unless the client keeps connections alive.
//
// The whole GET has one deadline: each poll() waits at most what is left of it (a connect
// also at most the connect timeout). getaddrinfo() alone cannot be bounded that way: the
// resolver's own timeouts (resolv.conf) bound it, and the deadline is checked before and after it.
//
// A call interrupted by a signal (EINTR) is made again at once, and a poll() so interrupted
// polls again, as CPython's sock_call_ex does after running the signal handlers with the GIL
// held: each retry is a step of its own, of the same kind. A call that finds the socket not
// ready after all (EAGAIN) polls again.
//
// The response is parsed by Boost.Beast's parser, fed with what our own recv() calls return;
// the body is counted and dropped as it passes, so memory stays a fixed buffer whatever the
// body's size, and a chunked body is decoded in one pass.
#include "http/plain_http.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <optional>
#include <type_traits>
#include <utility>

#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>

namespace gilbench::http::detail {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

constexpr std::size_t k_recv_size = 8192;  // BufferedReader's default buffer, as urllib reads
constexpr std::size_t k_max_header_bytes = 64 * 1024;

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

std::string seconds_text(double s) {
    char text[32];
    std::snprintf(text, sizeof text, "%g", s);
    return text;
}

// poll()'s timeout for a wait of at most `left`: whole milliseconds, rounded up so that a
// wait never ends before its deadline; -1 (no limit) for microseconds::max(), no deadline.
int poll_ms(std::chrono::microseconds left) {
    if (left == std::chrono::microseconds::max()) return -1;
    if (left.count() <= 0) return 0;
    return static_cast<int>(std::min<std::int64_t>((left.count() + 999) / 1000, 1 << 30));
}

std::string errno_text(const char* call, int err) { return std::string(call) + ": " + std::strerror(err); }

// The first bytes of a reply, printable, for an error that names what the server said.
std::string quoted_start(const char* data, std::size_t size) {
    std::string out = "\"";
    for (std::size_t i = 0; i < std::min<std::size_t>(size, 40); ++i) {
        const auto c = static_cast<unsigned char>(data[i]);
        if (c == '\r') out += "\\r";
        else if (c == '\n') out += "\\n";
        else if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') out += static_cast<char>(c);
        else {
            char hex[5];
            std::snprintf(hex, sizeof hex, "\\x%02x", c);
            out += hex;
        }
    }
    return out + (size > 40 ? "\"..." : "\"");
}

// Could these first bytes still become "HTTP/"? An SSH or SMTP server greets first and then
// waits for us: this finds that at once, not at the deadline.
bool starts_like_http(const char* data, std::size_t size) {
    constexpr std::string_view prefix = "HTTP/";
    const std::size_t n = std::min(size, prefix.size());
    return std::string_view(data, n) == prefix.substr(0, n);
}

// A Beast body that counts the bytes and keeps none of them.
struct counting_body {
    using value_type = std::uint64_t;

    class reader {
    public:
        template <bool is_request, class Fields>
        reader(bhttp::header<is_request, Fields>& /*head*/, value_type& count) : count_(count) {}
        void init(const boost::optional<std::uint64_t>& /*content_length*/, beast::error_code& ec) {
            count_ = 0;
            ec = {};
        }
        template <class ConstBufferSequence>
        std::size_t put(const ConstBufferSequence& buffers, beast::error_code& ec) {
            const std::size_t n = boost::asio::buffer_size(buffers);
            count_ += n;
            ec = {};
            return n;
        }
        void finish(beast::error_code& ec) { ec = {}; }

    private:
        value_type& count_;
    };
};

struct addrinfo_deleter {
    void operator()(addrinfo* list) const noexcept { ::freeaddrinfo(list); }
};
using addrinfo_list = std::unique_ptr<addrinfo, addrinfo_deleter>;

// Hands the parser what it takes of `bytes`: how many it took, and the error that stopped it
// (none when it wants more bytes, has finished, or takes nothing more for now, e.g. a
// chunk-size line that is not yet whole).
template <class Parser>
std::pair<std::size_t, beast::error_code> feed(Parser& parser, const char* bytes, std::size_t n) {
    std::size_t taken = 0;
    for (std::size_t used = 1; used > 0 && taken < n && !parser.is_done();) {
        beast::error_code ec;
        used = parser.put(boost::asio::buffer(bytes + taken, n - taken), ec);
        taken += used;
        if (ec == bhttp::error::need_more) return {taken, {}};
        if (ec) return {taken, ec};
    }
    return {taken, {}};
}

}  // namespace

Deadline::Deadline(std::chrono::milliseconds total) : total_(total), at_(clock::now() + total) {}

std::chrono::microseconds Deadline::remaining() const {
    if (none()) return std::chrono::microseconds::max();
    const auto left = std::chrono::duration_cast<std::chrono::microseconds>(at_ - clock::now());
    return std::max(left, std::chrono::microseconds(1));
}

std::string Deadline::timed_out_text() const {
    return "timed out after " + seconds_text(static_cast<double>(total_.count()) / 1000.0) +
           " s, the limit for one whole request (redirects included); raise it with the cell's io_timeout "
           "(seconds) in the job file, or run --io-timeout";
}

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
        close();
        fd_ = other.fd_;
        other.fd_ = -1;
    }
    return *this;
}

void UniqueFd::reset(int fd) {
    close();
    fd_ = fd;
}

int UniqueFd::close() noexcept {
    if (fd_ < 0) return 0;
    const int fd = fd_;
    fd_ = -1;
    return ::close(fd);
}

std::optional<PlainUrl> parse_plain_url(const std::string& url) {
    constexpr std::string_view scheme = "http://";
    if (url.size() <= scheme.size() || lower(url.substr(0, scheme.size())) != scheme) return std::nullopt;
    const std::string rest = url.substr(scheme.size());
    const auto slash = rest.find_first_of("/?#");
    const std::string authority = rest.substr(0, slash);
    std::string target = slash == std::string::npos ? "/" : rest.substr(slash);
    if (const auto hash = target.find('#'); hash != std::string::npos) target.erase(hash);
    if (target.empty() || target[0] == '?') target.insert(0, "/");
    if (authority.empty() || authority.find('@') != std::string::npos) return std::nullopt;
    PlainUrl u;
    u.host_header = authority;
    u.target = target;
    if (authority[0] == '[') {  // [IPv6]:port
        const auto close = authority.find(']');
        if (close == std::string::npos) return std::nullopt;
        u.host = authority.substr(1, close - 1);
        const std::string after = authority.substr(close + 1);
        if (!after.empty() && after[0] != ':') return std::nullopt;
        u.port = after.size() > 1 ? after.substr(1) : "80";
    } else {
        const auto colon = authority.find(':');
        u.host = authority.substr(0, colon);
        u.port = colon == std::string::npos || colon + 1 == authority.size() ? "80" : authority.substr(colon + 1);
    }
    if (u.host.empty() || u.port.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
    return u;
}

PlainHttp::PlainHttp(bool keep_alive, std::chrono::milliseconds connect_timeout)
    : keep_alive_(keep_alive), connect_timeout_(connect_timeout), buffer_(k_max_header_bytes + k_recv_size) {}

PlainHttp::~PlainHttp() = default;

// One blocking step: the hooks around exactly one system call. `kind` is the step's kind, or
// a function of the call's result that says which kind it turned out to be.
struct PlainHttp::Step_ {
    PlainHttp& self;
    template <class Kind, class Call>
    auto operator()(Kind kind, Call&& call) {
        if (self.hooks_->release) self.hooks_->release();
        const auto result = call();
        const int saved_errno = errno;
        Step done;
        if constexpr (std::is_same_v<Kind, Step>) done = kind;
        else done = kind(result);
        self.steps_->push_back(done);
        if (self.hooks_->reacquire) self.hooks_->reacquire(done);
        errno = saved_errno;
        return result;
    }
};

// How one request on one connection went.
struct PlainHttp::Exchange {
    enum Outcome { done, stale, failed } outcome = failed;
    std::string error;           // failed
    long status = 0;             // done
    std::uint64_t bytes = 0;     // the body, decoded
    std::string location;        // a redirect's Location
    bool reusable = false;       // the connection may carry the next request
};

void PlainHttp::close_kept() {
    if (!kept_) return;
    Step_{*this}(Step::close, [&] { return kept_.close(); });
}

// Waits for a connect() in progress (EINPROGRESS, or interrupted by a signal: it goes on in
// the background) and takes its outcome, as CPython's sock_connect: poll() for writability
// (a poll step; interrupted: poll again), then SO_ERROR (the connect step). 0, or -1 with
// errno set (EINPROGRESS: it did not finish by `connect_end`).
int PlainHttp::finish_connect(int fd, Deadline::clock::time_point connect_end, const Deadline& deadline) {
    Step_ step{*this};
    for (;;) {
        const auto left = std::min(std::chrono::duration_cast<std::chrono::microseconds>(connect_end - Deadline::clock::now()),
                                   deadline.remaining());
        if (left.count() <= 0) {
            errno = EINPROGRESS;
            return -1;
        }
        pollfd p{fd, POLLOUT | POLLERR, 0};
        const int ready = step(Step::poll, [&] { return ::poll(&p, 1, poll_ms(left)); });
        if (ready < 0 && errno == EINTR) continue;
        if (ready < 0) return -1;
        if (ready == 0) continue;  // the loop's check decides whether time is up
        int err = 0;
        socklen_t len = sizeof err;
        if (step(Step::connect, [&] { return ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len); }) != 0) return -1;
        if (err != 0) {
            errno = err;
            return -1;
        }
        return 0;
    }
}

// Waits until `fd` is ready for `events` (a poll step; interrupted: poll again): true, or
// false once the deadline has passed first.
bool PlainHttp::wait_ready(int fd, short events, const Deadline& deadline) {
    Step_ step{*this};
    for (;;) {
        if (deadline.expired()) return false;
        pollfd p{fd, events, 0};
        const int ready = step(Step::poll, [&] { return ::poll(&p, 1, poll_ms(deadline.remaining())); });
        if (ready > 0) return true;
        if (ready < 0 && errno != EINTR) return true;  // let the call itself report what is wrong
    }
}

// socket.create_connection: every address getaddrinfo gives, in order, until one connects.
UniqueFd PlainHttp::connect_fresh(const PlainUrl& parts, const Deadline& deadline, std::string& error) {
    Step_ step{*this};
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    // Owned from inside the step: a reacquire hook that throws must not leak the list.
    addrinfo_list found;
    int rc = 0;
    do {
        rc = step(Step::resolve, [&] {
            addrinfo* list = nullptr;
            const int r = ::getaddrinfo(parts.host.c_str(), parts.port.c_str(), &hints, &list);
            found.reset(r == 0 ? list : nullptr);
            return r;
        });
    } while (rc == EAI_SYSTEM && errno == EINTR && !deadline.expired());
    if (rc != 0) {
        error = std::string("getaddrinfo(") + parts.host + "): " + (rc == EAI_SYSTEM ? std::strerror(errno) : gai_strerror(rc));
        return {};
    }
    for (const addrinfo* ai = found.get(); ai; ai = ai->ai_next) {
        if (deadline.expired()) {
            error = deadline.timed_out_text();
            return {};
        }
        UniqueFd s;
        step(Step::socket, [&] {
            s.reset(::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol));
            return s.get();
        });
        if (!s) {
            error = errno_text("socket()", errno);
            continue;
        }
        // sock.settimeout(): non-blocking from here on; every wait is a poll() bounded by the
        // connect timeout or what is left of the deadline, whichever is sooner.
        int on = 1;
        step(Step::settimeout, [&] { return ::ioctl(s.get(), FIONBIO, &on); });
        const auto connect_start = Deadline::clock::now();
        const auto connect_end = connect_timeout_.count() > 0 ? connect_start + connect_timeout_ : Deadline::clock::time_point::max();
        int connected = step([](int rc) { return rc == 0 ? Step::connect : Step::connect_start; },
                             [&] { return ::connect(s.get(), ai->ai_addr, ai->ai_addrlen); });
        if (connected != 0 && (errno == EINPROGRESS || errno == EINTR)) connected = finish_connect(s.get(), connect_end, deadline);
        if (connected == 0) {
            // http.client's connect() sets TCP_NODELAY, with the GIL held.
            ::setsockopt(s.get(), IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
            return s;
        }
        if (connected == 0) return s;
        const int err = errno;
        if (deadline.expired()) {
            error = deadline.timed_out_text();
        } else if (err == EINPROGRESS || err == EAGAIN) {
            error = "connect(): timed out after " + seconds_text(static_cast<double>(connect_timeout_.count()) / 1000.0) +
                    " s (the connect timeout)";
        } else {
            error = errno_text("connect()", err);
        }
        step(Step::close, [&] { return s.close(); });
    }
    return {};
}

// sock.sendall: poll() and send() until all is out, each a step; send() interrupted: send
// again; not ready after all: poll again.
bool PlainHttp::send_all(int fd, const std::string& request, const Deadline& deadline, std::string& error) {
    Step_ step{*this};
    std::size_t sent = 0;
    while (sent < request.size()) {
        if (!wait_ready(fd, POLLOUT, deadline)) {
            error = deadline.timed_out_text();
            return false;
        }
        ssize_t n = -1;
        do {
            n = step(Step::send, [&] { return ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL); });
        } while (n < 0 && errno == EINTR);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) continue;
        if (n <= 0) {
            error = errno_text("send()", n == 0 ? EPIPE : errno);
            return false;
        }
        sent += static_cast<std::size_t>(n);
    }
    return true;
}

// One poll() and recv() of up to k_recv_size bytes into buffer_ at `at`, each a step; recv()
// interrupted: recv again; not ready after all: poll again. recv()'s result (-1 with errno
// set), or nullopt once the deadline has passed.
std::optional<ssize_t> PlainHttp::recv_some(int fd, std::size_t at, const Deadline& deadline) {
    Step_ step{*this};
    for (;;) {
        if (!wait_ready(fd, POLLIN, deadline)) return std::nullopt;
        ssize_t n = -1;
        do {
            n = step(Step::recv, [&] { return ::recv(fd, buffer_.data() + at, k_recv_size, 0); });
        } while (n < 0 && errno == EINTR);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) continue;
        return n;
    }
}

// recv() of 8192 until Beast's parser has the whole response. Bytes stay in buffer_ only
// until the parser has taken them: a head (it parses one whole) or a chunk-size line.
PlainHttp::Exchange PlainHttp::receive(int fd, bool reused, const PlainUrl& parts, const Deadline& deadline) {
    Exchange out;
    const auto failed = [&](std::string what) {
        out.outcome = Exchange::failed;
        out.error = std::move(what);
        return out;
    };
    const auto stale = [&] {
        out.outcome = Exchange::stale;
        return out;
    };
    bhttp::response_parser<counting_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(k_max_header_bytes));
    // Counted, not kept: any size. Not boost::none: Boost 1.74 compares a Content-Length
    // against an empty optional as "over the limit".
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    parser.eager(true);              // each put() takes all the body bytes it is given
    const auto complete = [&] {
        const auto& response = parser.get();
        out.outcome = Exchange::done;
        out.status = static_cast<long>(response.result_int());
        out.bytes = response.body();
        if (const auto location = response.find(bhttp::field::location); location != response.end())
            out.location = std::string(location->value());
        out.reusable = parser.keep_alive();  // not "Connection: close", and the body has a known end
        return out;
    };
    std::size_t pending = 0;         // bytes in buffer_ the parser has not taken yet
    std::uint64_t received = 0;
    const auto not_http = [&](const std::string& detail) {
        return failed("not an HTTP response: the server at " + parts.host_header + " answered with " +
                      quoted_start(buffer_.data(), pending) + detail +
                      "; is the URL's port an HTTP server's?");
    };
    while (!parser.is_done()) {
        if (pending + k_recv_size > buffer_.size())
            return failed(parser.is_header_done() ? "malformed chunked body: a chunk-size line longer than 64 KiB"
                                                  : "response head larger than 64 KiB");
        const std::optional<ssize_t> got = recv_some(fd, pending, deadline);
        if (!got) return failed(deadline.timed_out_text());
        const ssize_t n = *got;
        if (n < 0) {
            const int err = errno;
            if (err == EAGAIN || err == EWOULDBLOCK) return failed(deadline.timed_out_text());
            if (reused && received == 0) return stale();  // a kept connection the server had reset
            return failed(errno_text("recv()", err));
        }
        if (n == 0) {
            if (reused && received == 0) return stale();  // a kept connection the server had closed
            if (received == 0) return failed("connection closed before a response");
            if (!parser.is_header_done()) {
                if (!starts_like_http(buffer_.data(), pending)) return not_http(", then closed the connection");
                return failed("connection closed before the response head was complete");
            }
            beast::error_code ec;
            parser.put_eof(ec);
            if (ec || !parser.is_done()) return failed("connection closed before the body was complete");
            return complete();
        }
        received += static_cast<std::size_t>(n);
        pending += static_cast<std::size_t>(n);
        // Until the head is parsed, buffer_ holds the reply from its first byte.
        if (!parser.is_header_done() && !starts_like_http(buffer_.data(), pending)) return not_http("");
        const auto [taken, ec] = feed(parser, buffer_.data(), pending);
        if (ec == bhttp::error::header_limit) return failed("response head larger than 64 KiB");
        if (ec && !parser.is_header_done()) return not_http(" (" + ec.message() + ")");
        if (ec) return failed("malformed response body (" + ec.message() + ")");
        std::memmove(buffer_.data(), buffer_.data() + taken, pending - taken);
        pending -= taken;
    }
    return complete();
}

std::string PlainHttp::request_text(const PlainUrl& parts) const {
    return "GET " + parts.target + " HTTP/1.1\r\nHost: " + parts.host_header +
           "\r\nUser-Agent: gilbench\r\nAccept-Encoding: identity\r\n" +
           (keep_alive_ ? "" : "Connection: close\r\n") + "\r\n";
}

PlainHttp::Response PlainHttp::failure(const std::string& url, const std::string& what) {
    Response out;
    out.result.status = 0;
    out.result.error = "GET " + url + ": " + what;
    return out;
}

// Sends the request on `sock` and reads the response; the socket is closed (a close step)
// unless it is kept for the next request. nullopt: `sock` was a kept connection the server
// had closed (the send or the first recv found it so) and there is time to try a fresh one.
std::optional<PlainHttp::Response> PlainHttp::exchange_on(UniqueFd sock, bool reused, const Request& req) {
    Step_ step{*this};
    const auto close_sock = [&] { step(Step::close, [&] { return sock.close(); }); };
    std::string error;
    if (!send_all(sock.get(), req.text, req.deadline, error)) {
        close_sock();
        if (reused && !req.deadline.expired()) return std::nullopt;
        return failure(req.url, error);
    }
    const Exchange exchange = receive(sock.get(), reused, req.parts, req.deadline);
    if (exchange.outcome == Exchange::stale) {
        close_sock();
        return std::nullopt;
    }
    if (exchange.outcome == Exchange::failed) {
        close_sock();
        return failure(req.url, exchange.error);
    }
    Response out;
    out.result.status = exchange.status;
    out.result.bytes = static_cast<std::size_t>(exchange.bytes);
    if (exchange.status >= 300 && exchange.status < 400 && !exchange.location.empty())
        out.redirect_location = exchange.location;
    if (keep_alive_ && exchange.reusable) {
        kept_ = std::move(sock);
        kept_endpoint_ = req.endpoint;
    } else {
        close_sock();
    }
    if (exchange.status < 200 || exchange.status >= 300)
        out.result.error = "HTTP " + std::to_string(exchange.status) + " from " + req.url;
    return out;
}

PlainHttp::Response PlainHttp::get(const std::string& url, const PlainUrl& parts, const BlockingHooks& hooks,
                                   std::vector<Step>& steps, const Deadline& deadline) {
    hooks_ = &hooks;
    steps_ = &steps;
    const Request req{url, parts, parts.host + ":" + parts.port, request_text(parts), deadline};
    if (deadline.expired()) return failure(url, deadline.timed_out_text());

    if (kept_ && kept_endpoint_ == req.endpoint) {
        // A kept connection the server may have closed meanwhile gets one retry on a fresh one.
        if (std::optional<Response> done = exchange_on(std::move(kept_), /*reused=*/true, req)) return *done;
        if (deadline.expired()) return failure(url, deadline.timed_out_text());
    } else {
        close_kept();  // kept for another host: urllib would not reuse it either
    }
    std::string error;
    UniqueFd sock = connect_fresh(parts, deadline, error);
    if (!sock) return failure(url, error);
    // A fresh connection is never stale: receive() reports that only for a reused one.
    if (std::optional<Response> done = exchange_on(std::move(sock), /*reused=*/false, req)) return *done;
    return failure(url, "the kept connection was closed by the server, and so was a fresh one");
}

}  // namespace gilbench::http::detail
