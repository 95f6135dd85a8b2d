#include "workloads/workload.hpp"

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

// The seed's I/O-bound job: a loop of HTTP GETs; each GET is a blocking call that
// releases the GIL for the whole transfer, as CPython's socket calls do.
class HttpGetWorker final : public Worker {
public:
    HttpGetWorker(const model::Cell& cell, std::string url)
        : url_(std::move(url)), client_(http::ClientConfig{.keep_alive = cell.keep_alive}) {}

    Outcome run(gil::Gil& gil, gil::ThreadState& ts, std::int64_t work) override {
        Outcome out;
        interp::run_blocking_loop(gil, ts, work, [&](std::int64_t) {
            gil.record(ts, gil::EventKind::io_start);
            const http::GetResult r = client_.get(url_);
            gil.record(ts, gil::EventKind::io_end);
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

std::unique_ptr<Worker> make_worker(const model::Cell& cell, const std::string& io_url) {
    if (cell.workload == model::Workload::cpu) return std::make_unique<CountdownWorker>();
    return std::make_unique<HttpGetWorker>(cell, io_url);
}

std::string embedded_url(const std::string& base_url, double latency_s) {
    return fmt::format("{}?delay={:.6f}", base_url, latency_s);
}

}  // namespace gilbench::workloads
