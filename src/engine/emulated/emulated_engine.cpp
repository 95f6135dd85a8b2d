#include "engine/emulated/emulated_engine.hpp"

#include <atomic>
#include <chrono>
#include <memory>

#include "gil/gil.hpp"
#include "engine/emulated/workloads/workload.hpp"

namespace gilbench::engine {
namespace {

gil::Config gil_config(const model::Cell& cell, const workloads::UrllibCosts& real) {
    gil::Config cfg;
    cfg.policy = cell.gil;
    cfg.switch_interval = std::chrono::nanoseconds(static_cast<std::int64_t>(cell.switch_interval_s * 1e9));
    cfg.check_interval = cell.check_interval;
    // A tick takes the real interpreter's time (calibrated: engine/cpython/calibration.hpp).
    if (cell.gil == gil::Policy::old_gil) cfg.tick_scale = workloads::countdown_tick_scale(real);
    return cfg;
}

class EmulatedTrial final : public TrialWorkers {
public:
    EmulatedTrial(const model::Cell& cell, const TrialContext& ctx, const workloads::UrllibCosts& urllib) {
        const auto n = static_cast<std::size_t>(cell.threads);
        // Subinterpreters: a GIL per thread, so the threads never wait for each other's. A real
        // one's start falls outside the trial's clock there (a pool, cpython_engine.cpp), so it
        // is not modelled here; bench/subinterpreters.py measures it.
        const std::size_t gils = cell.parallel == model::Parallel::subinterpreters ? n : 1;
        for (std::size_t g = 0; g < gils; ++g) gils_.push_back(std::make_unique<gil::Gil>(gil_config(cell, urllib)));
        states_.reserve(n);
        workers_.reserve(n);
        is_io_.reserve(n);
        outcomes_.resize(n);
        for (int t = 0; t < cell.threads; ++t) {
            states_.emplace_back(t, cell.trace, ctx.trace_capacity);
            workers_.push_back(workloads::make_worker(cell, t, ctx.io_url, urllib, &io_done_));
            is_io_.push_back(cell.is_io_thread(t));
            if (cell.is_io_thread(t)) ++io_running_;
        }
    }

    void start(clock::time_point t0) override {
        for (auto& g : gils_) g->set_epoch(t0);
    }

    void run(int thread, std::int64_t work) override {
        const auto i = static_cast<std::size_t>(thread);
        // Mixed cells: the CPU threads run until the rank's last I/O thread is done, even if
        // one ends by an exception (they would spin for ever).
        struct IoDone {
            EmulatedTrial& trial;
            bool io;
            ~IoDone() {
                if (io && --trial.io_running_ == 0) trial.io_done_ = true;
            }
        } io_done{*this, is_io_[i] != 0};
        gil::Gil& gil = gil_of(i);
        gil.take(states_[i]);  // a new Python thread first waits for the GIL
        outcomes_[i] = workers_[i]->run(gil, states_[i], work);
        gil.drop(states_[i]);
    }

    WorkerReport report(int thread) override {
        const auto i = static_cast<std::size_t>(thread);
        workloads::Outcome& o = outcomes_[i];
        const gil::ThreadState& ts = states_[i];
        WorkerReport r;
        r.ops = o.ops;
        r.io_requests = o.io_requests;
        r.io_errors = o.io_errors;
        r.first_error = std::move(o.first_error);
        const gil::ThreadStats& s = ts.stats();
        r.gil = GilStats{s.acquisitions, s.forced_drops, s.wait_s, s.hold_s};
        r.trace.reserve(ts.trace().size());
        for (const gil::TraceEvent& e : ts.trace()) r.trace.push_back({e.t_s, gil::to_string(e.kind)});
        r.trace_dropped = ts.trace_dropped();
        r.requests = std::move(o.requests);
        return r;
    }

private:
    gil::Gil& gil_of(std::size_t thread) { return *gils_[gils_.size() == 1 ? 0 : thread]; }

    std::vector<std::unique_ptr<gil::Gil>> gils_;  // one, or one per thread (subinterpreters)
    std::vector<gil::ThreadState> states_;
    std::vector<std::unique_ptr<workloads::Worker>> workers_;
    std::vector<char> is_io_;  // per thread: does it do requests?
    std::vector<workloads::Outcome> outcomes_;
    std::atomic<bool> io_done_{false};
    std::atomic<int> io_running_{0};
};

}  // namespace

std::unique_ptr<TrialWorkers> EmulatedEngine::make_trial(const model::Cell& cell, const TrialContext& trial) {
    return std::make_unique<EmulatedTrial>(cell, trial, urllib_);
}

}  // namespace gilbench::engine
