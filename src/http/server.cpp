// The delay server, shaped like Beast's example/http/server/async: a listener accepts
// sockets and hands each to a session. Every async step binds shared_from_this(), so a
// session lives exactly as long as it has work pending. The response delay is a
// steady_timer owned by the session: a waiting request is a queued timer, not a blocked
// thread, so io_threads threads serve any number of concurrent delayed requests.
//
// Shutdown: stop() stops the io_context, joins its threads, then destroys it. Destroying
// the io_context destroys every pending handler, which drops the last reference to each
// session and so closes its socket: a client waiting on a delayed response sees the
// connection close at once instead of waiting for its own timeout.
#include "http/server.hpp"

#include <atomic>
#include <cstdio>
#include <exception>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "http/delay_url.hpp"

namespace gilbench::http {

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;

constexpr std::chrono::microseconds k_max_delay{static_cast<std::int64_t>(max_delay_s * 1e6)};
// GET requests carry no body; a small limit keeps a misbehaving client from filling memory.
constexpr std::uint64_t k_body_limit = 16 * 1024;
// After a failed accept (e.g. out of file descriptors) wait before retrying, so the
// listener does not spin on an error that only time (closed connections) can cure.
constexpr std::chrono::milliseconds k_accept_retry{50};

// Counters and settings shared by the listener, every session and the DelayServer. Held by
// shared_ptr because sessions may be destroyed while the io_context is torn down.
struct server_state {
    std::chrono::microseconds default_delay{0};
    std::chrono::milliseconds read_timeout{30000};
    std::atomic<std::uint64_t> served{0};
    std::atomic<std::uint64_t> accepted{0};
    std::atomic<std::int64_t> in_flight{0};
    std::atomic<std::int64_t> max_in_flight{0};

    void begin_request() {
        const std::int64_t now = in_flight.fetch_add(1) + 1;
        std::int64_t seen = max_in_flight.load();
        while (now > seen && !max_in_flight.compare_exchange_weak(seen, now)) {
        }
    }
    void end_request() { in_flight.fetch_sub(1); }
};

std::string format_seconds(double s) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%g", s);
    return buf;
}

ParsedTarget reject(int status, std::string error) {
    ParsedTarget r;
    r.ok = false;
    r.status = status;
    r.error = std::move(error);
    return r;
}

bhttp::response<bhttp::string_body> make_response(bhttp::status status, std::string body) {
    bhttp::response<bhttp::string_body> res{status, 11};
    res.set(bhttp::field::server, "gilbench");
    res.set(bhttp::field::content_type, "text/plain");
    res.body() = std::move(body);
    return res;
}

class session : public std::enable_shared_from_this<session> {
public:
    session(tcp::socket&& socket, std::shared_ptr<server_state> state)
        : stream_(std::move(socket)),
          delay_timer_(stream_.get_executor()),
          state_(std::move(state)) {}

    // A session torn down with a request still unanswered (server stopping) must not leave
    // in_flight() counting it.
    ~session() {
        if (awaiting_response_) state_->end_request();
    }

    // Runs the first step on the session's strand, like every later step.
    void start() {
        net::dispatch(stream_.get_executor(),
                      beast::bind_front_handler(&session::do_read, shared_from_this()));
    }

private:
    void do_read() {
        parser_.emplace();
        parser_->body_limit(k_body_limit);
        stream_.expires_after(state_->read_timeout);
        bhttp::async_read(stream_, buffer_, *parser_,
                          beast::bind_front_handler(&session::on_read, shared_from_this()));
    }

    void on_read(beast::error_code ec, std::size_t /*bytes*/) {
        if (ec == bhttp::error::end_of_stream) return do_close();
        // Timeout, reset or a malformed request: returning drops the last reference to the
        // session, which closes the connection.
        if (ec) return;

        const auto& req = parser_->get();
        keep_alive_ = req.keep_alive();
        version_ = req.version();
        awaiting_response_ = true;
        state_->begin_request();

        const ParsedTarget parsed = parse_target(std::string(req.method_string()),
                                                 std::string(req.target()), state_->default_delay);
        if (!parsed.ok) return send_error(parsed);
        if (parsed.delay <= std::chrono::microseconds::zero()) return send_number();

        // The read deadline must not fire during the delay; the write sets its own.
        stream_.expires_never();
        delay_timer_.expires_after(parsed.delay);
        delay_timer_.async_wait(beast::bind_front_handler(&session::on_delay, shared_from_this()));
    }

    void on_delay(beast::error_code ec) {
        if (ec) return;  // operation_aborted: the server is stopping
        send_number();
    }

    void send_number() {
        // Numbered like the seed's numbers API ("42 is a number."); the number is this
        // response's position in the server's count.
        const std::uint64_t k = finish_request();
        send(make_response(bhttp::status::ok, std::to_string(k) + " is a number.\n"));
    }

    void send_error(const ParsedTarget& parsed) {
        finish_request();
        auto res = make_response(static_cast<bhttp::status>(parsed.status), parsed.error + "\n");
        if (parsed.status == 405) res.set(bhttp::field::allow, "GET");
        send(std::move(res));
    }

    // Counts the response before it is written, so whoever reads it sees it counted.
    // Returns its 1-based position in the server's count.
    std::uint64_t finish_request() {
        awaiting_response_ = false;
        state_->end_request();
        return state_->served.fetch_add(1) + 1;
    }

    void send(bhttp::response<bhttp::string_body>&& res) {
        res_ = std::move(res);
        res_.version(version_);
        res_.keep_alive(keep_alive_);
        res_.prepare_payload();
        stream_.expires_after(state_->read_timeout);
        bhttp::async_write(stream_, res_,
                           beast::bind_front_handler(&session::on_write, shared_from_this()));
    }

    void on_write(beast::error_code ec, std::size_t /*bytes*/) {
        if (ec) return;
        if (!keep_alive_) return do_close();
        do_read();
    }

    void do_close() {
        beast::error_code ec;
        // Half-close so the client reads everything we sent before it sees the end.
        stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    }

    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
    net::steady_timer delay_timer_;
    std::shared_ptr<server_state> state_;
    std::optional<bhttp::request_parser<bhttp::string_body>> parser_;  // fresh per request
    bhttp::response<bhttp::string_body> res_;  // must outlive async_write
    bool keep_alive_ = false;
    unsigned version_ = 11;
    bool awaiting_response_ = false;
};

class listener : public std::enable_shared_from_this<listener> {
public:
    // Opens, binds and listens; throws std::runtime_error naming address:port on failure.
    listener(net::io_context& ioc, const tcp::endpoint& endpoint, std::shared_ptr<server_state> state)
        : ioc_(ioc), acceptor_(ioc), retry_timer_(ioc), state_(std::move(state)) {
        beast::error_code ec;
        const auto check = [&](const char* step) {
            if (!ec) return;
            throw std::runtime_error("http server: cannot " + std::string(step) + " " +
                                     endpoint.address().to_string() + ":" +
                                     std::to_string(endpoint.port()) + ": " + ec.message() +
                                     " (pick a free port, or port 0 for an ephemeral one)");
        };
        acceptor_.open(endpoint.protocol(), ec);
        check("open a socket for");
        // Lets a restarted server rebind while old connections sit in TIME_WAIT; it does
        // not let two servers listen on one port (Linux refuses that without SO_REUSEPORT).
        acceptor_.set_option(net::socket_base::reuse_address(true), ec);
        check("set SO_REUSEADDR on");
        acceptor_.bind(endpoint, ec);
        check("bind");
        acceptor_.listen(net::socket_base::max_listen_connections, ec);
        check("listen on");
        port_ = acceptor_.local_endpoint().port();
    }

    std::uint16_t port() const { return port_; }

    void start() { do_accept(); }

private:
    void do_accept() {
        // Each connection gets its own strand, so a session's handlers never run
        // concurrently even with several io threads.
        acceptor_.async_accept(net::make_strand(ioc_),
                               beast::bind_front_handler(&listener::on_accept, shared_from_this()));
    }

    void on_accept(beast::error_code ec, tcp::socket socket) {
        if (ec == net::error::operation_aborted) return;
        if (ec) {
            retry_timer_.expires_after(k_accept_retry);
            retry_timer_.async_wait(
                beast::bind_front_handler(&listener::on_retry, shared_from_this()));
            return;
        }
        state_->accepted.fetch_add(1);
        std::make_shared<session>(std::move(socket), state_)->start();
        do_accept();
    }

    void on_retry(beast::error_code ec) {
        if (ec) return;
        do_accept();
    }

    net::io_context& ioc_;
    tcp::acceptor acceptor_;
    net::steady_timer retry_timer_;
    std::shared_ptr<server_state> state_;
    std::uint16_t port_ = 0;
};

void validate(const ServerConfig& config) {
    if (config.io_threads < 1)
        throw std::runtime_error("http server: io_threads = " + std::to_string(config.io_threads) +
                                 " is invalid: use 1 or more");
    if (config.default_delay < std::chrono::microseconds::zero() ||
        config.default_delay > k_max_delay)
        throw std::runtime_error(
            "http server: default delay " + format_seconds(config.default_delay.count() / 1e6) +
            " s is out of range: use 0 to 60 s");
    if (config.read_timeout <= std::chrono::milliseconds::zero())
        throw std::runtime_error("http server: read timeout " +
                                 std::to_string(config.read_timeout.count()) +
                                 " ms is invalid: use a positive value");
}

net::ip::address parse_address(const std::string& text) {
    beast::error_code ec;
    const auto address = net::ip::make_address(text, ec);
    if (ec)
        throw std::runtime_error("http server: bind address '" + text +
                                 "' is not an IP address: " + ec.message() +
                                 " (use e.g. 127.0.0.1)");
    return address;
}

}  // namespace

ParsedTarget parse_target(const std::string& method, const std::string& target,
                          std::chrono::microseconds default_delay) {
    // Methods are case-sensitive (RFC 9110), so "get" is refused like "POST".
    if (method != "GET") return reject(405, "method " + method + " not allowed: use GET");

    const std::string_view whole(target);
    const auto question = whole.find('?');
    const std::string_view path = whole.substr(0, question);
    if (path != "/") return reject(404, "no resource at '" + std::string(path) + "': use /");

    ParsedTarget result;
    result.ok = true;
    result.status = 200;
    result.delay = default_delay;
    if (question == std::string_view::npos) return result;

    const DelayQuery query = parse_delay_query(whole.substr(question + 1));
    if (!query.error.empty()) return reject(400, query.error);
    if (query.given) result.delay = query.delay;
    return result;
}

struct DelayServer::Impl {
    ServerConfig config;
    std::shared_ptr<server_state> state = std::make_shared<server_state>();
    std::uint16_t port = 0;
    // Declared before the listener: the listener's acceptor must die before its io_context.
    std::unique_ptr<net::io_context> ioc;
    std::shared_ptr<listener> acceptor;
    std::vector<std::thread> threads;
    std::mutex stop_mutex;
    bool stopped = false;

    ~Impl() { shutdown(); }

    void run_loop() {
        // A handler that throws would otherwise end this thread (and the process, via
        // std::terminate); report it and keep serving.
        for (;;) {
            try {
                ioc->run();
                return;
            } catch (const std::exception& e) {
                std::fprintf(stderr, "gilbench http server: handler failed: %s\n", e.what());
            }
        }
    }

    void shutdown() noexcept {
        const std::lock_guard<std::mutex> lock(stop_mutex);
        if (stopped) return;
        stopped = true;
        if (ioc) ioc->stop();
        for (auto& t : threads) {
            if (!t.joinable()) continue;
            try {
                t.join();
            } catch (const std::system_error& e) {
                std::fprintf(stderr, "gilbench http server: join failed: %s\n", e.what());
            }
        }
        threads.clear();
        acceptor.reset();
        ioc.reset();  // destroys pending handlers, hence sessions, hence their sockets
    }
};

DelayServer::DelayServer(ServerConfig config) : impl_(std::make_unique<Impl>()) {
    validate(config);
    const tcp::endpoint endpoint(parse_address(config.bind_address), config.port);
    impl_->config = std::move(config);
    impl_->state->default_delay = impl_->config.default_delay;
    impl_->state->read_timeout = impl_->config.read_timeout;
    impl_->ioc = std::make_unique<net::io_context>(impl_->config.io_threads);
    impl_->acceptor = std::make_shared<listener>(*impl_->ioc, endpoint, impl_->state);
    impl_->port = impl_->acceptor->port();
    impl_->acceptor->start();
    impl_->threads.reserve(static_cast<std::size_t>(impl_->config.io_threads));
    for (int i = 0; i < impl_->config.io_threads; ++i)
        impl_->threads.emplace_back([impl = impl_.get()] { impl->run_loop(); });
}

DelayServer::~DelayServer() = default;  // Impl's destructor stops and joins

std::uint16_t DelayServer::port() const { return impl_->port; }

std::string DelayServer::base_url() const {
    // A wildcard bind is reached through loopback; an IPv6 literal needs brackets in a URL.
    const auto address = net::ip::make_address(impl_->config.bind_address);
    std::string host = address.to_string();
    if (address.is_unspecified()) host = address.is_v6() ? "::1" : "127.0.0.1";
    if (address.is_v6()) host = "[" + host + "]";
    return "http://" + host + ":" + std::to_string(impl_->port) + "/";
}

std::uint64_t DelayServer::requests_served() const { return impl_->state->served.load(); }
std::uint64_t DelayServer::connections_accepted() const { return impl_->state->accepted.load(); }
std::int64_t DelayServer::in_flight() const { return impl_->state->in_flight.load(); }
std::int64_t DelayServer::max_in_flight() const { return impl_->state->max_in_flight.load(); }

void DelayServer::stop() { impl_->shutdown(); }

}  // namespace gilbench::http
