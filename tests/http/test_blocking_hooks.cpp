// The GET's blocking steps: the hooks come in release/reacquire pairs, one per urllib GIL
// release and named after it (resolve, socket, connect, send, recv, close on a fresh
// connection; send, recv on a reused one), the GIL really is free during them, and a hook
// that throws abandons the transfer without breaking the client.
#include "http/client.hpp"
#include "http/server.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using gilbench::http::BlockingHooks;
using gilbench::http::ClientConfig;
using gilbench::http::DelayServer;
using gilbench::http::GetResult;
using gilbench::http::HttpClient;
using gilbench::http::ServerConfig;
using gilbench::http::Step;

// Every test runs with both engines: urllib's system calls (http://) and libcurl (https://,
// here made to serve http:// too).
class GetSteps : public ::testing::TestWithParam<bool> {};

ClientConfig bounded_client(bool keep_alive, bool libcurl) {
    ClientConfig config;
    config.keep_alive = keep_alive;
    config.libcurl_for_http = libcurl;
    config.timeout = 20s;
    config.connect_timeout = 5s;
    return config;
}

// Records the hook calls as text ("R resolve R socket ..."), so order, pairing and the
// names of the steps are checked at once.
struct HookLog {
    std::string calls;
    BlockingHooks hooks() {
        return {[this] { calls += "R "; }, [this](Step s) { calls += std::string(to_string(s)) + " "; }};
    }
};

std::string pairs(const std::vector<Step>& steps) {
    std::string s;
    for (Step step : steps) s += "R " + std::string(to_string(step)) + " ";
    return s;
}

// A fresh connection's releases. Plain http: urllib's with a timeout, as strace shows CPython
// 3.11 making them (a poll before each call, the ioctl of settimeout, a connect in progress
// and its SO_ERROR). libcurl (https): one per system call it makes, six.
std::vector<Step> fresh_steps(bool libcurl) {
    if (libcurl) return {Step::resolve, Step::socket, Step::connect, Step::send, Step::recv, Step::close};
    return {Step::resolve, Step::socket, Step::settimeout, Step::connect_start, Step::poll, Step::connect,
            Step::poll,    Step::send,   Step::poll,       Step::recv,          Step::close};
}

// A non-blocking connect() on loopback is nearly always still in progress when it returns;
// one that is done at once has no wait: connect_start, poll, connect is then just connect.
std::vector<Step> without_connect_wait(std::vector<Step> steps) {
    for (std::size_t i = 0; i + 2 < steps.size(); ++i)
        if (steps[i] == Step::connect_start && steps[i + 1] == Step::poll && steps[i + 2] == Step::connect)
            steps.erase(steps.begin() + static_cast<std::ptrdiff_t>(i), steps.begin() + static_cast<std::ptrdiff_t>(i) + 2);
    return steps;
}

TEST_P(GetSteps, FreshConnectionReleasesLikeUrllib) {
    DelayServer server(ServerConfig{});
    HttpClient client(bounded_client(/*keep_alive=*/false, GetParam()));
    const std::vector<Step> expected = fresh_steps(GetParam());
    for (int i = 0; i < 3; ++i) {
        HookLog log;
        const GetResult r = client.get(server.base_url(), log.hooks());
        ASSERT_TRUE(r.ok()) << r.error;
        EXPECT_EQ(log.calls, pairs(client.last_steps())) << "request " << i;
        const std::vector<Step> got = client.last_steps();
        EXPECT_TRUE(got == expected || got == without_connect_wait(expected)) << "request " << i << ": " << pairs(got);
    }
    EXPECT_EQ(server.connections_accepted(), 3u);
}

TEST_P(GetSteps, ReusedConnectionReleasesForSendAndRecvOnly) {
    DelayServer server(ServerConfig{});
    HttpClient client(bounded_client(/*keep_alive=*/true, GetParam()));
    HookLog first, second;
    ASSERT_TRUE(client.get(server.base_url(), first.hooks()).ok());
    ASSERT_TRUE(client.get(server.base_url(), second.hooks()).ok());
    // No close yet, and then no new connection.
    std::vector<Step> fresh = fresh_steps(GetParam());
    fresh.pop_back();
    const std::vector<Step> reused = GetParam() ? std::vector<Step>{Step::send, Step::recv}
                                                : std::vector<Step>{Step::poll, Step::send, Step::poll, Step::recv};
    EXPECT_TRUE(first.calls == pairs(fresh) || first.calls == pairs(without_connect_wait(fresh))) << first.calls;
    EXPECT_EQ(second.calls, pairs(reused));
    EXPECT_EQ(client.last_steps(), reused);
    EXPECT_EQ(server.connections_accepted(), 1u);
}

TEST_P(GetSteps, FailedConnectStillPairsTheHooks) {
    // A port nobody listens on: bind one, note it, close it.
    std::uint16_t port = 0;
    {
        DelayServer probe(ServerConfig{});
        port = probe.port();
    }
    HttpClient client(bounded_client(false, GetParam()));
    HookLog log;
    const GetResult r = client.get("http://127.0.0.1:" + std::to_string(port) + "/", log.hooks());
    EXPECT_FALSE(r.ok());
    ASSERT_FALSE(client.last_steps().empty());
    EXPECT_EQ(log.calls, pairs(client.last_steps()));
    EXPECT_EQ(client.last_steps().front(), Step::resolve);
}

TEST_P(GetSteps, HookThatThrowsAbandonsTheTransferOnly) {
    DelayServer server(ServerConfig{});
    HttpClient client(bounded_client(false, GetParam()));
    int releases = 0;
    std::string calls;
    BlockingHooks hooks{[&] {
                            if (++releases == 3) throw std::runtime_error("hook failed");  // inside a callback
                            calls += "R ";
                        },
                        [&](Step s) { calls += std::string(to_string(s)) + " "; }};
    EXPECT_THROW(client.get(server.base_url(), hooks), std::runtime_error);
    // Every release that happened was undone, and nothing was undone twice.
    EXPECT_EQ(calls, pairs({Step::resolve, Step::socket}));
    const GetResult r = client.get(server.base_url());  // the client is still usable
    EXPECT_TRUE(r.ok()) << r.error;
}

// The point of the hooks: while a GET waits for a delayed response, another thread holds
// the "GIL" (here a mutex taken and given back by the hooks, as the workload does).
TEST_P(GetSteps, OtherThreadsRunDuringTheSteps) {
    ServerConfig config;
    config.default_delay = 50ms;
    DelayServer server(config);
    HttpClient client(bounded_client(false, GetParam()));
    std::mutex gil;
    std::atomic<bool> done{false};
    std::atomic<int> other_turns{0};
    gil.lock();
    std::thread other([&] {
        while (!done) {
            std::lock_guard hold(gil);
            ++other_turns;
        }
    });
    const GetResult r = client.get(server.base_url(), {[&] { gil.unlock(); }, [&](Step) { gil.lock(); }});
    gil.unlock();
    done = true;
    other.join();
    EXPECT_TRUE(r.ok()) << r.error;
    EXPECT_GT(other_turns.load(), 0) << "the GIL was never free during the GET";
}

INSTANTIATE_TEST_SUITE_P(Http, GetSteps, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "libcurl" : "plain"; });

}  // namespace
