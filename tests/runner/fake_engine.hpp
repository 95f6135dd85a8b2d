// A test double for engine::Engine: its workers sleep a set time and report set values, so
// the runner's timing, work split, records, trace accounting and gather can be checked
// without any GIL. What the runner asked of it is recorded for the tests to read.
#pragma once

#include <atomic>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "engine/engine.hpp"

namespace gilbench::testing {

class FakeEngine final : public engine::Engine {
public:
    // What every worker does and reports; thread t sleeps (t + 1) * sleep and reports
    // io_errors = t, ops = 100 + t, one request, `trace_events` events of which the engine
    // itself claims to have dropped `engine_dropped` more.
    std::string engine_name = "fake";
    std::chrono::milliseconds sleep{2};
    bool measures_gil = true;
    std::size_t trace_events = 0;
    std::int64_t engine_dropped = 0;
    int throw_in_run = -1;      // this thread's run throws
    int throw_in_prepare = -1;  // this thread's prepare_thread throws
    bool throw_in_prepare_rank = false;
    std::string detail_of_thread_2 = "traceback of thread 2";  // its error_detail

    // What the runner did.
    std::atomic<int> prepared{0};
    std::vector<engine::RankContext> rank_contexts;
    std::atomic<int> trials_made{0};
    std::atomic<int> runs{0};
    std::mutex mutex;
    std::vector<std::int64_t> works;        // per thread of the last trial: the work it was given
    std::vector<char> same_thread;          // per thread of the last trial: prepare_thread and run on one OS thread
    std::vector<char> started_before_run;   // per thread of the last trial: start(t0) came first

    std::string_view name() const override { return engine_name; }

    void prepare_rank(const engine::RankContext& rank) override {
        if (throw_in_prepare_rank) throw std::runtime_error("no interpreter here");
        ++prepared;
        rank_contexts.push_back(rank);
    }

    std::unique_ptr<engine::TrialWorkers> make_trial(const model::Cell& cell, const engine::TrialContext&) override {
        ++trials_made;
        const auto n = static_cast<std::size_t>(cell.threads);
        works.assign(n, -1);
        same_thread.assign(n, 0);
        started_before_run.assign(n, 0);
        return std::make_unique<Trial>(*this, cell);
    }

private:
    class Trial final : public engine::TrialWorkers {
    public:
        Trial(FakeEngine& engine, const model::Cell& cell)
            : engine_(engine), prepared_on_(static_cast<std::size_t>(cell.threads)),
              requests_(static_cast<std::size_t>(cell.threads)) {}

        void prepare_thread(int t) override {
            if (t == engine_.throw_in_prepare) throw std::runtime_error("no thread state");
            prepared_on_[static_cast<std::size_t>(t)] = std::this_thread::get_id();
        }
        void start(engine::clock::time_point) override { started_ = true; }
        void run(int t, std::int64_t work) override {
            const auto i = static_cast<std::size_t>(t);
            ++engine_.runs;
            {
                std::lock_guard lock(engine_.mutex);
                engine_.works[i] = work;
                engine_.same_thread[i] = prepared_on_[i] == std::this_thread::get_id();
                engine_.started_before_run[i] = started_.load();
            }
            if (t == engine_.throw_in_run) throw std::runtime_error("worker failed");
            const auto start = engine::clock::now();
            std::this_thread::sleep_for(engine_.sleep * (t + 1));
            requests_[i] = {start, engine::clock::now(), t % 2 == 0};
        }
        engine::WorkerReport report(int t) override {
            const auto i = static_cast<std::size_t>(t);
            engine::WorkerReport r;
            r.ops = 100 + t;
            r.io_requests = 1;
            r.io_errors = t;
            if (t > 0) r.first_error = "error of thread " + std::to_string(t);
            if (t == 2) r.error_detail = engine_.detail_of_thread_2;
            if (engine_.measures_gil) r.gil = engine::GilStats{t + 1, t, 0.5 * t, 0.25 * t};
            for (std::size_t k = 0; k < engine_.trace_events; ++k)
                r.trace.push_back({static_cast<double>(k), k % 2 == 0 ? "take" : "drop"});
            r.trace_dropped = engine_.engine_dropped;
            r.requests.push_back(requests_[i]);
            return r;
        }

    private:
        FakeEngine& engine_;
        std::vector<std::thread::id> prepared_on_;
        std::vector<engine::RequestTiming> requests_;
        std::atomic<bool> started_{false};
    };
};

}  // namespace gilbench::testing
