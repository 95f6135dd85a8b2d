#include "engine/emulated/workloads/workload.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <stdexcept>

#include "http/client.hpp"
#include "engine/emulated/interp/interp.hpp"

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
          costs_(code),
          client_(http::ClientConfig{
              .keep_alive = cell.keep_alive,
              .timeout = std::chrono::milliseconds(static_cast<std::int64_t>(std::ceil(cell.io_timeout_s * 1000.0)))}) {
        using S = UrllibCosts;
        for (const bool cold : {false, true}) {
            // Old GIL: the stand-in runs urllib's ticks, not the countdown's (a tick is time,
            // gil::Config::tick_scale): the real interpreter's instructions in the warm time,
            // cpython2_ticks_per_instruction each, over the countdown ticks that fit in the
            // stand-in's time. Cold, the same ticks take longer.
            steps_[cold] = steps([&](S::Step step) {
                const std::chrono::nanoseconds time = code.at(step, cold);
                if (cell.gil != gil::Policy::old_gil) return Code{time};
                const double real_ticks = static_cast<double>(code.at(step).count()) / code.urllib_ns_per_instruction() *
                                          cpython2_ticks_per_instruction;
                const double emulated_ticks =
                    std::max(1.0, static_cast<double>(time.count()) / interp::old_gil_countdown_ns_per_iteration() *
                                      static_cast<double>(interp::countdown_ticks_per_iteration));
                return Code{time, std::max(real_ticks / emulated_ticks, 1e-6)};
            });
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
                cold = ts.took_over() && ts.last_wait() >= cold_after;
                // New GIL: urllib's code runs as cold as that long a wait makes it
                // (UrllibCosts::cold). The old GIL's waits are short: its cold costs as measured.
                if (cold && gil.config().policy == gil::Policy::new_gil) {
                    const auto wait = std::chrono::duration_cast<std::chrono::nanoseconds>(ts.last_wait());
                    steps_[true] = steps([&](UrllibCosts::Step step) { return Code{costs_.cold(step, wait)}; });
                }
                run(gil, ts, steps_[cold].after[index(done)]);
            }};
        Outcome out;
        out.requests.reserve(static_cast<std::size_t>(work));
        interp::run_call_loop(gil, ts, work, [&](std::int64_t) {
            // Timed as Python code would time it: from the call until it runs again, so the
            // wait to re-take the GIL (the convoy effect) is part of the latency.
            const auto start = std::chrono::steady_clock::now();
            run(gil, ts, steps_[cold].before_request);
            const http::GetResult r = client_.get(url_, hooks);
            run(gil, ts, steps_[cold].after_close);
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
    struct Code;
    struct Steps;
    // urllib's code at each point of a GET, each as `code_of` gives it for a step of UrllibCosts.
    template <class CodeOf>
    static Steps steps(CodeOf code_of) {
        using S = UrllibCosts;
        Steps s;
        s.before_request = code_of(S::before_request);
        s.after_close = code_of(S::after_close);
        s.after[index(http::Step::resolve)] = code_of(S::after_resolve);
        s.after[index(http::Step::socket)] = code_of(S::after_socket);
        s.after[index(http::Step::connect)] = code_of(S::after_connect);
        s.after[index(http::Step::send)] = code_of(S::after_send);
        s.after[index(http::Step::recv)] = code_of(S::after_recv);
        // settimeout, connect_start, poll: none (C code only, inside one Python call); after
        // close: the caller's code, after_close (close is the GET's last step)
        return s;
    }
    // urllib's code (UrllibCosts) as countdown bytecode that holds the GIL for the code's time:
    // before the GET, after each step (indexed by http::Step), after the GET.
    struct Code {
        std::chrono::nanoseconds time{0};
        double tick_scale = 1.0;  // old GIL: the real ticks one of its ticks stands for
    };
    struct Steps {
        Code before_request, after_close;
        std::array<Code, static_cast<std::size_t>(http::Step::close) + 1> after{};
    };
    // Counts down until the code has held the GIL for its time. Timed, not a number of
    // iterations: this interpreter's speed varies with the machine's state more than the
    // calibrated time does (a count sized by one measurement of it made the convoy at a 0.5 ms
    // switch interval 6 or 9 intervals per GET, by process). Time spent waiting for the GIL in
    // between (a forced switch, a release another thread won) does not count: the real code
    // would still have that much to run.
    static void run(gil::Gil& gil, gil::ThreadState& ts, const Code& code) {
        if (code.time.count() <= 0) return;
        if (gil.config().policy == gil::Policy::old_gil) ts.set_tick_scale(code.tick_scale);
        constexpr std::int64_t chunk = 64;  // ~0.5 us between clock reads
        const auto start = std::chrono::steady_clock::now();
        const double waited_before = ts.stats().wait_s;
        auto held = [&] {
            return std::chrono::steady_clock::now() - start -
                   std::chrono::duration<double>(ts.stats().wait_s - waited_before);
        };
        do {
            interp::run_countdown(gil, ts, chunk);
        } while (held() < code.time);
    }
    std::string url_;
    UrllibCosts costs_;
    http::HttpClient client_;
    std::array<Steps, 2> steps_{};  // warm, cold
};

}  // namespace

double countdown_tick_scale(const UrllibCosts& real) {
    return interp::old_gil_countdown_ns_per_iteration() / real.old_gil_countdown_ns_per_iteration();
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
