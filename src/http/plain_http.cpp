// A GET over plain http, one system call per blocking step, in urllib's order:
//
//   urllib (http.client, socket.create_connection)      here
//   socket.getaddrinfo(host, port, 0, SOCK_STREAM)       getaddrinfo(), same hints   resolve
//   socket.socket(af, type, proto)                       socket()                    socket
//   sock.connect(sa)  (blocking)                         connect()  (blocking)       connect
//   sock.sendall(request)                                send() until all sent       send
//   sock.recv_into(buffer of 8192)  (BufferedReader)     recv() of 8192 until done   recv
//   sock.close()                                         close()                     close
//
// Only the system call itself runs between the hooks, as only it runs between CPython's
// Py_BEGIN_ALLOW_THREADS and Py_END_ALLOW_THREADS; parsing runs with the GIL held, as
// urllib's Python code does. Like urllib (and requests.get) the request says
// "Connection: close" unless the client keeps connections alive.
#include "http/plain_http.hpp"

#include <netdb.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

namespace gilbench::http::detail {
namespace {

constexpr std::size_t k_recv_size = 8192;  // BufferedReader's default buffer, as urllib reads
constexpr std::size_t k_max_header_bytes = 64 * 1024;

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

std::string trim(const std::string& s) {
    const auto b = s.find_first_not_of(" \t");
    if (b == std::string::npos) return {};
    return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

void set_timeout(int fd, int option, std::chrono::milliseconds t) {
    const timeval tv{static_cast<time_t>(t.count() / 1000), static_cast<suseconds_t>(t.count() % 1000 * 1000)};
    ::setsockopt(fd, SOL_SOCKET, option, &tv, sizeof tv);
}

std::string errno_text(const char* call, int err) {
    if (err == EAGAIN || err == EWOULDBLOCK || err == EINPROGRESS) return std::string(call) + ": timed out";
    return std::string(call) + ": " + std::strerror(err);
}

// The parsed head of a response and how its body ends.
struct Head {
    long status = 0;
    bool http11 = false;
    bool close = false;            // "Connection: close" (or HTTP/1.0 without keep-alive)
    bool chunked = false;
    std::optional<std::size_t> length;  // Content-Length
    std::string location;
};

std::optional<Head> parse_head(const std::string& text) {
    Head head;
    std::size_t pos = text.find("\r\n");
    const std::string status_line = text.substr(0, pos);
    if (status_line.rfind("HTTP/1.", 0) != 0 || status_line.size() < 12) return std::nullopt;
    head.http11 = status_line[7] == '1';
    head.close = !head.http11;
    head.status = std::strtol(status_line.c_str() + 9, nullptr, 10);
    while (pos != std::string::npos && pos + 2 < text.size()) {
        const std::size_t next = text.find("\r\n", pos + 2);
        const std::string line = text.substr(pos + 2, next == std::string::npos ? std::string::npos : next - pos - 2);
        pos = next;
        const auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        const std::string name = lower(trim(line.substr(0, colon)));
        const std::string value = trim(line.substr(colon + 1));
        if (name == "content-length") head.length = static_cast<std::size_t>(std::strtoull(value.c_str(), nullptr, 10));
        if (name == "transfer-encoding" && lower(value).find("chunked") != std::string::npos) head.chunked = true;
        if (name == "connection") head.close = lower(value).find("close") != std::string::npos ||
                                               (!head.http11 && lower(value).find("keep-alive") == std::string::npos);
        if (name == "location") head.location = value;
    }
    return head;
}

// How far a chunked body in `body` has got: the decoded size so far, and whether the last
// chunk (and the blank line after any trailers) is in.
struct ChunkState {
    std::size_t decoded = 0;
    bool done = false;
    bool bad = false;
};

ChunkState scan_chunks(const std::string& body) {
    ChunkState s;
    std::size_t pos = 0;
    for (;;) {
        const auto eol = body.find("\r\n", pos);
        if (eol == std::string::npos) return s;
        char* end = nullptr;
        const std::string size_text = body.substr(pos, eol - pos);
        const unsigned long long size = std::strtoull(size_text.c_str(), &end, 16);
        if (end == size_text.c_str()) {
            s.bad = true;
            return s;
        }
        if (size == 0) {
            s.done = body.find("\r\n\r\n", eol) != std::string::npos || body.compare(eol, 4, "\r\n\r\n") == 0;
            return s;
        }
        if (body.size() < eol + 2 + size + 2) return s;
        s.decoded += size;
        pos = eol + 2 + size + 2;
    }
}

}  // namespace

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

PlainHttp::PlainHttp(bool keep_alive, std::chrono::milliseconds timeout, std::chrono::milliseconds connect_timeout)
    : keep_alive_(keep_alive), timeout_(timeout), connect_timeout_(connect_timeout) {}

PlainHttp::~PlainHttp() {
    if (kept_fd_ >= 0) ::close(kept_fd_);
}

// One blocking step: the hooks around exactly one system call.
struct PlainHttp::Step_ {
    PlainHttp& self;
    template <class Call>
    auto operator()(Step kind, Call&& call) {
        if (self.hooks_->release) self.hooks_->release();
        const auto result = call();
        const int saved_errno = errno;
        self.steps_->push_back(kind);
        if (self.hooks_->reacquire) self.hooks_->reacquire(kind);
        errno = saved_errno;
        return result;
    }
};

void PlainHttp::close_kept() {
    if (kept_fd_ < 0) return;
    const int fd = kept_fd_;
    kept_fd_ = -1;
    Step_{*this}(Step::close, [&] { return ::close(fd); });
}

// socket.create_connection: every address getaddrinfo gives, in order, until one connects.
int PlainHttp::connect_fresh(const PlainUrl& parts, std::string& error) {
    Step_ step{*this};
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    const int rc = step(Step::resolve, [&] { return ::getaddrinfo(parts.host.c_str(), parts.port.c_str(), &hints, &found); });
    if (rc != 0) {
        error = std::string("getaddrinfo(") + parts.host + "): " + gai_strerror(rc);
        return -1;
    }
    int fd = -1;
    for (const addrinfo* ai = found; ai && fd < 0; ai = ai->ai_next) {
        const int s = step(Step::socket, [&] { return ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol); });
        if (s < 0) {
            error = errno_text("socket()", errno);
            continue;
        }
        // A blocking connect, as urllib's; SO_SNDTIMEO bounds it by the connect timeout.
        if (connect_timeout_.count() > 0) set_timeout(s, SO_SNDTIMEO, connect_timeout_);
        if (step(Step::connect, [&] { return ::connect(s, ai->ai_addr, ai->ai_addrlen); }) == 0) {
            fd = s;
        } else {
            error = errno_text("connect()", errno);
            step(Step::close, [&] { return ::close(s); });
        }
    }
    ::freeaddrinfo(found);
    if (fd >= 0) {
        set_timeout(fd, SO_SNDTIMEO, timeout_);
        set_timeout(fd, SO_RCVTIMEO, timeout_);
    }
    return fd;
}

PlainHttp::Response PlainHttp::get(const std::string& url, const PlainUrl& parts, const BlockingHooks& hooks,
                                   std::vector<Step>& steps) {
    hooks_ = &hooks;
    steps_ = &steps;
    Step_ step{*this};
    Response out;
    const auto fail = [&](const std::string& what) {
        out.result.status = 0;
        out.result.error = "GET " + url + ": " + what;
        return out;
    };
    const std::string endpoint = parts.host + ":" + parts.port;
    const std::string request = "GET " + parts.target + " HTTP/1.1\r\nHost: " + parts.host_header +
                                "\r\nUser-Agent: gilbench\r\nAccept-Encoding: identity\r\n" +
                                (keep_alive_ ? "" : "Connection: close\r\n") + "\r\n";

    // A kept connection the server may have closed meanwhile gets one retry on a fresh one.
    for (int attempt = 0; attempt < 2; ++attempt) {
        int fd = -1;
        const bool reused = kept_fd_ >= 0 && kept_endpoint_ == endpoint;
        std::string error;
        if (reused) {
            fd = kept_fd_;
            kept_fd_ = -1;
        } else {
            close_kept();
            fd = connect_fresh(parts, error);
            if (fd < 0) return fail(error);
        }
        const auto close_fd = [&] { step(Step::close, [&] { return ::close(fd); }); };

        std::size_t sent = 0;
        bool send_failed = false;
        while (sent < request.size()) {
            const ssize_t n = step(Step::send, [&] { return ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL); });
            if (n <= 0) {
                error = errno_text("send()", errno);
                send_failed = true;
                break;
            }
            sent += static_cast<std::size_t>(n);
        }
        if (send_failed) {
            close_fd();
            if (reused) continue;
            return fail(error);
        }

        std::string data;
        std::optional<Head> head;
        std::size_t head_end = 0;
        bool eof = false;
        char buffer[k_recv_size];
        for (;;) {
            if (head) {
                const std::string_view body(data.data() + head_end, data.size() - head_end);
                if (head->chunked) {
                    const ChunkState c = scan_chunks(std::string(body));
                    if (c.bad) {
                        close_fd();
                        return fail("malformed chunked body");
                    }
                    if (c.done) {
                        out.result.bytes = c.decoded;
                        break;
                    }
                } else if (head->length && body.size() >= *head->length) {
                    out.result.bytes = *head->length;
                    break;
                } else if (!head->length && eof) {  // no length: the body ends with the connection
                    out.result.bytes = body.size();
                    break;
                }
            }
            if (eof) {
                close_fd();
                if (reused && data.empty()) break;  // stale keep-alive connection: retry
                return fail(head ? "connection closed before the body was complete"
                                 : "connection closed before a response");
            }
            const ssize_t n = step(Step::recv, [&] { return ::recv(fd, buffer, sizeof buffer, 0); });
            if (n < 0) {
                const int err = errno;
                close_fd();
                if (reused && data.empty() && err != EAGAIN && err != EWOULDBLOCK) break;
                return fail(errno_text("recv()", err));
            }
            if (n == 0) {
                eof = true;
                continue;
            }
            data.append(buffer, static_cast<std::size_t>(n));
            if (!head) {
                const auto end = data.find("\r\n\r\n");
                if (end == std::string::npos) {
                    if (data.size() > k_max_header_bytes) {
                        close_fd();
                        return fail("response head larger than 64 KiB");
                    }
                    continue;
                }
                head = parse_head(data.substr(0, end + 2));
                if (!head) {
                    close_fd();
                    return fail("not an HTTP/1.x response");
                }
                head_end = end + 4;
            }
        }
        if (!head) continue;  // the stale keep-alive case above: try a fresh connection

        out.result.status = head->status;
        if (head->status >= 300 && head->status < 400 && !head->location.empty()) out.redirect_location = head->location;
        const bool length_known = head->chunked || head->length;
        if (keep_alive_ && !head->close && length_known) {
            kept_fd_ = fd;
            kept_endpoint_ = endpoint;
        } else {
            close_fd();
        }
        if (head->status < 200 || head->status >= 300) out.result.error = "HTTP " + std::to_string(head->status) + " from " + url;
        return out;
    }
    return fail("the kept connection was closed by the server, and so was a fresh one");
}

}  // namespace gilbench::http::detail
