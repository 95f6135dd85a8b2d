#include "workloads/workload.hpp"

#include <stdexcept>

#include <fmt/format.h>

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

// The seed's I/O-bound job: a loop of HTTP GETs; each GET is a blocking call that
// releases the GIL for the whole transfer, as CPython's socket calls do.
class HttpGetWorker final : public Worker {
public:
    HttpGetWorker(const model::Cell& cell, std::string url)
        : url_(std::move(url)), client_(http::ClientConfig{.keep_alive = cell.keep_alive}) {}

    Outcome run(gil::Gil& gil, gil::ThreadState& ts, std::int64_t work) override {
        Outcome out;
        out.requests.reserve(static_cast<std::size_t>(work));
        interp::run_call_loop(gil, ts, work, [&](std::int64_t) {
            // Timed as Python code would time it: from the call until it runs again, so the
            // wait to re-take the GIL (the convoy effect) is part of the latency.
            const auto start = std::chrono::steady_clock::now();
            http::GetResult r;
            interp::without_gil(gil, ts, [&] {
                gil.record(ts, gil::EventKind::io_start);
                r = client_.get(url_);
                gil.record(ts, gil::EventKind::io_end);
            });
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
    std::string url_;
    http::HttpClient client_;
};

}  // namespace

std::unique_ptr<Worker> make_worker(const model::Cell& cell, int thread, const std::string& io_url,
                                    const std::atomic<bool>* stop) {
    if (cell.is_io_thread(thread)) return std::make_unique<HttpGetWorker>(cell, io_url);
    if (cell.workload == model::Workload::mixed) {
        if (!stop) throw std::logic_error("make_worker: a mixed cell's CPU thread needs a stop flag");
        return std::make_unique<CountdownUntilStopped>(*stop);
    }
    return std::make_unique<CountdownWorker>();
}

std::string embedded_url(const std::string& base_url, double latency_s) {
    return fmt::format("{}?delay={:.6f}", base_url, latency_s);
}

}  // namespace gilbench::workloads
