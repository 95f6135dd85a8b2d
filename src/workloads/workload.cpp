#include "workloads/workload.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <stdexcept>


#include "http/client.hpp"
#include "interp/interp.hpp"

namespace gilbench::workloads {
namespace {

// The seed's CPU-bound job: `while n > 0: n -= 1` in the bytecode interpreter.
class CountdownWorker final : public Worker {
public:
    Outcome run(gil::Gil& gil, gil::ThreadState& ts, std::int64_t work) override {
        const interp::RunResult r = interp::run_countdown(gil, ts, work);
        Outcome out;
        out.ops = r.iterations;
        return out;
    }
};

// The CPU threads of the convoy case: count down until told to stop. Chunks of ~0.5 ms
// keep the stop check off the interpreter's hot path; the GIL stays held between chunks
// (the stop check is one more bytecode, not a release point).
class CountdownUntilStopped final : public Worker {
public:
    explicit CountdownUntilStopped(const std::atomic<bool>& stop) : stop_(stop) {}
    Outcome run(gil::Gil& gil, gil::ThreadState& ts, std::int64_t) override {
        constexpr std::int64_t chunk = 1 << 16;
        Outcome out;
        while (!stop_.load(std::memory_order_relaxed)) out.ops += interp::run_countdown(gil, ts, chunk).iterations;
        return out;
    }

private:
    const std::atomic<bool>& stop_;
};

// Countdown iterations that take `d` in this interpreter: the stand-in for urllib's code is
// real bytecode, with its check points (a CPU thread can force it off the GIL as it could
// urllib's code), and a fixed amount of it, so a thread that loses the GIL midway still runs
// all of it. Calibrated once per process.
std::int64_t countdown_steps_for(std::chrono::nanoseconds d) {
    static const double ns_per_step = [] {
        gil::Gil gil(gil::Config{.policy = gil::Policy::none});
        gil::ThreadState ts(0);
        constexpr std::int64_t n = 200'000;
        double best = 1e9;
        for (int i = 0; i < 5; ++i) {
            const auto t = std::chrono::steady_clock::now();
            interp::run_countdown(gil, ts, n);
            best = std::min(best, std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t).count());
        }
        return std::max(best / n, 0.1);
    }();
    return static_cast<std::int64_t>(static_cast<double>(d.count()) / ns_per_step);
}

// The seed's I/O-bound job: a loop of HTTP GETs as urllib.request.urlopen(url, timeout) does
// them. Each GET gives up the GIL around each of its blocking steps (name lookup, socket, the
// non-blocking switch, connect and its wait, a poll before each send and recv, close: see
// http/plain_http.cpp) and takes it back in between to run urllib's code, which follows the
// steps that end a Python-level call (resolve, socket, connect, send, recv); between the other
// steps CPython runs only C.
class HttpGetWorker final : public Worker {
public:
    HttpGetWorker(const model::Cell& cell, std::string url, const UrllibCosts& code)
        : url_(std::move(url)),
          client_(http::ClientConfig{
              .keep_alive = cell.keep_alive,
              .timeout = std::chrono::milliseconds(static_cast<std::int64_t>(std::ceil(cell.io_timeout_s * 1000.0)))}) {
        using S = UrllibCosts;
        for (const bool cold : {false, true}) {
            Steps& s = steps_[cold];
            s.before_request = countdown_steps_for(code.at(S::before_request, cold));
            s.after_close = countdown_steps_for(code.at(S::after_close, cold));
            s.after[index(http::Step::resolve)] = countdown_steps_for(code.at(S::after_resolve, cold));
            s.after[index(http::Step::socket)] = countdown_steps_for(code.at(S::after_socket, cold));
            s.after[index(http::Step::connect)] = countdown_steps_for(code.at(S::after_connect, cold));
            s.after[index(http::Step::send)] = countdown_steps_for(code.at(S::after_send, cold));
            s.after[index(http::Step::recv)] = countdown_steps_for(code.at(S::after_recv, cold));
            // settimeout, connect_start, poll: none (C code only, inside one Python call); after
            // close: the caller's code, after_close below (close is the GET's last step)
        }
    }

    Outcome run(gil::Gil& gil, gil::ThreadState& ts, std::int64_t work) override {
        // Whether another thread took the GIL while this one had released it: then urllib's
        // code up to the next release runs cold (UrllibCosts). The take after that is a switch
        // (gil::ThreadState::took_over); a release nobody took is re-taken without one.
        bool cold = false;
        const http::BlockingHooks hooks{
            [&] {
                interp::begin_allow_threads(gil, ts);
                gil.record(ts, gil::EventKind::io_start);
            },
            [&](http::Step done) {
                gil.record(ts, gil::EventKind::io_end);
                interp::end_allow_threads(gil, ts);
                cold = ts.took_over();
                interp::run_countdown(gil, ts, steps_[cold].after[index(done)]);
            }};
        Outcome out;
        out.requests.reserve(static_cast<std::size_t>(work));
        interp::run_call_loop(gil, ts, work, [&](std::int64_t) {
            // Timed as Python code would time it: from the call until it runs again, so the
            // wait to re-take the GIL (the convoy effect) is part of the latency.
            const auto start = std::chrono::steady_clock::now();
            interp::run_countdown(gil, ts, steps_[cold].before_request);
            const http::GetResult r = client_.get(url_, hooks);
            interp::run_countdown(gil, ts, steps_[cold].after_close);
            out.requests.push_back({start, std::chrono::steady_clock::now(), r.ok()});
            ++out.io_requests;
            if (r.ok()) {
                ++out.ops;
            } else {
                ++out.io_errors;
                if (out.first_error.empty()) out.first_error = r.error;
            }
        });
        return out;
    }

private:
    static constexpr std::size_t index(http::Step s) { return static_cast<std::size_t>(s); }
    // urllib's code (UrllibCosts) as countdown iterations: before the GET, after each step
    // (indexed by http::Step), after the GET.
    struct Steps {
        std::int64_t before_request = 0, after_close = 0;
        std::array<std::int64_t, static_cast<std::size_t>(http::Step::close) + 1> after{};
    };
    std::string url_;
    http::HttpClient client_;
    std::array<Steps, 2> steps_{};  // warm, cold
};

}  // namespace

UrllibCosts UrllibCosts::fallback() {
    UrllibCosts c;
    // In Step order: warm, then cold.
    c.ns = {47'000, 600, 500, 3'500, 14'000, 78'000, 4'000, 277'000, 3'200, 51'000, 48'000, 131'500, 389'000, 55'800};
    return c;
}

std::unique_ptr<Worker> make_worker(const model::Cell& cell, int thread, const std::string& io_url,
                                    const UrllibCosts& urllib, const std::atomic<bool>* stop) {
    if (cell.is_io_thread(thread)) return std::make_unique<HttpGetWorker>(cell, io_url, urllib);
    if (cell.workload == model::Workload::mixed) {
        if (!stop) throw std::logic_error("make_worker: a mixed cell's CPU thread needs a stop flag");
        return std::make_unique<CountdownUntilStopped>(*stop);
    }
    return std::make_unique<CountdownWorker>();
}

}  // namespace gilbench::workloads
