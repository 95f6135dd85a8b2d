// The runner's side of the engine seam, with a fake engine (fake_engine.hpp) and no MPI:
// whatever the engine, the runner stamps start/end around run() relative to the barrier,
// splits the work, fills the records, bounds the trace and joins the ranks' records.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "fake_engine.hpp"
#include "runner/runner.hpp"

using gilbench::engine::TrialContext;
using gilbench::model::Cell;
using gilbench::model::Workload;
using gilbench::runner::join_trial;
using gilbench::runner::LocalTrial;
using gilbench::runner::run_local_trial;
using gilbench::testing::FakeEngine;

namespace {
Cell make_cell(int threads, std::int64_t work = 12) {
    Cell c;
    c.index = 5;
    c.name = "fake";
    c.threads = threads;
    c.work = work;
    return c;
}
}  // namespace

TEST(EngineSeam, RunnerStampsEveryWorkerAroundItsRun) {
    FakeEngine engine;
    const Cell cell = make_cell(3);
    int barriers = 0;
    const LocalTrial out = run_local_trial(engine, cell, {.trial = 1, .rank = 2, .node = 1}, [&] { ++barriers; });
    EXPECT_EQ(barriers, 1);
    EXPECT_EQ(engine.trials_made, 1);
    EXPECT_EQ(engine.runs, 3);
    ASSERT_EQ(out.workers.size(), 3u);
    for (int t = 0; t < 3; ++t) {
        const auto i = static_cast<std::size_t>(t);
        const auto& w = out.workers[i];
        EXPECT_EQ(w.cell, 5);
        EXPECT_EQ(w.trial, 1);
        EXPECT_EQ(w.rank, 2);
        EXPECT_EQ(w.node, 1);
        EXPECT_EQ(w.thread, t);
        EXPECT_GE(w.start_s, 0.0);  // stamped after the barrier's time zero
        // sleep_for sleeps at least this long: a lower bound, never a flaky upper one.
        EXPECT_GE(w.end_s - w.start_s, std::chrono::duration<double>(engine.sleep * (t + 1)).count());
        EXPECT_TRUE(engine.same_thread[i]) << "prepare_thread and run on one OS thread";
        EXPECT_TRUE(engine.started_before_run[i]) << "start(t0) before any run";
    }
}

TEST(EngineSeam, RunnerGivesEachWorkerItsShareOfTheWork) {
    FakeEngine engine;
    // Strong scaling, 2 ranks x 3 threads over 10 units: workers 0-3 take 2, workers 4-5 take 1.
    Cell cell = make_cell(3, 10);
    cell.ranks = 2;
    run_local_trial(engine, cell, {.rank = 7, .member = 1}, [] {});
    EXPECT_EQ(engine.works, (std::vector<std::int64_t>{2, 1, 1}));
    run_local_trial(engine, cell, {.rank = 0}, [] {});
    EXPECT_EQ(engine.works, (std::vector<std::int64_t>{2, 2, 2}));
    // Weak: everyone the full amount. Mixed: only the I/O threads share it.
    cell.scaling = gilbench::model::Scaling::weak;
    run_local_trial(engine, cell, {}, [] {});
    EXPECT_EQ(engine.works, (std::vector<std::int64_t>{10, 10, 10}));
    cell.scaling = gilbench::model::Scaling::strong;
    cell.workload = Workload::mixed;
    cell.io_threads = 1;
    run_local_trial(engine, cell, {.member = 1}, [] {});
    EXPECT_EQ(engine.works, (std::vector<std::int64_t>{5, 0, 0}));
}

TEST(EngineSeam, RecordsCarryWhatTheEngineReported) {
    FakeEngine engine;
    const LocalTrial out = run_local_trial(engine, make_cell(3), {}, [] {});
    for (int t = 0; t < 3; ++t) {
        const auto& w = out.workers[static_cast<std::size_t>(t)];
        EXPECT_EQ(w.ops, 100 + t);
        EXPECT_EQ(w.io_requests, 1);
        EXPECT_EQ(w.io_errors, t);
        EXPECT_EQ(w.gil_acquisitions, t + 1);
        EXPECT_EQ(w.gil_forced_drops, t);
        EXPECT_DOUBLE_EQ(w.gil_wait_s, 0.5 * t);
        EXPECT_DOUBLE_EQ(w.gil_hold_s, 0.25 * t);
    }
    EXPECT_EQ(out.first_error, "error of thread 1");  // the first thread that has one
    // Every thread that failed has its error row (thread 0 did not fail).
    ASSERT_EQ(out.errors.size(), 2u);
    EXPECT_EQ(out.errors[0].thread, 1);
    EXPECT_EQ(out.errors[0].cell, 5);
    EXPECT_EQ(out.errors[0].message, "error of thread 1");
    EXPECT_EQ(out.errors[0].detail, "");
    EXPECT_EQ(out.errors[1].thread, 2);
    EXPECT_EQ(out.errors[1].detail, "traceback of thread 2");
    // Requests: relative to the same time zero as the worker's stamps, inside its run.
    ASSERT_EQ(out.requests.size(), 3u);
    for (const auto& q : out.requests) {
        const auto& w = out.workers[static_cast<std::size_t>(q.thread)];
        EXPECT_EQ(q.cell, 5);
        EXPECT_EQ(q.request, 0);
        EXPECT_EQ(q.ok, q.thread % 2 == 0 ? 1 : 0);
        EXPECT_GE(q.start_s, w.start_s);
        EXPECT_LE(q.end_s, w.end_s);
        EXPECT_GE(q.end_s, q.start_s);
    }
}

TEST(EngineSeam, GilCountersNotMeasuredAreStoredAsNotMeasuredNotZero) {
    FakeEngine engine;
    engine.measures_gil = false;
    const LocalTrial out = run_local_trial(engine, make_cell(2), {}, [] {});
    for (const auto& w : out.workers) {
        EXPECT_EQ(w.gil_acquisitions, gilbench::runner::not_measured_count);
        EXPECT_EQ(w.gil_forced_drops, gilbench::runner::not_measured_count);
        EXPECT_TRUE(std::isnan(w.gil_wait_s));
        EXPECT_TRUE(std::isnan(w.gil_hold_s));
        EXPECT_EQ(w.ops, 100 + w.thread);  // the rest is still measured
    }
}

TEST(EngineSeam, TraceCapacityIsTheRunnersWhateverTheEngineKept) {
    FakeEngine engine;
    engine.trace_events = 10;
    engine.engine_dropped = 3;
    Cell cell = make_cell(2);
    cell.trace = true;
    const LocalTrial out = run_local_trial(engine, cell, {.trace_capacity = 4}, [] {});
    ASSERT_EQ(out.trace.size(), 8u);  // 4 per thread
    for (const auto& w : out.workers) EXPECT_EQ(w.trace_dropped, 3 + 6);  // the engine's + the runner's
    EXPECT_EQ(out.trace[0].event, "take");
    EXPECT_EQ(out.trace[1].event, "drop");
    EXPECT_EQ(out.trace[3].t_s, 3.0);
    EXPECT_EQ(out.trace[4].thread, 1);

    const LocalTrial roomy = run_local_trial(engine, cell, {}, [] {});
    EXPECT_EQ(roomy.trace.size(), 20u);
    EXPECT_EQ(roomy.workers[0].trace_dropped, 3);

    cell.trace = false;  // not asked for: nothing kept, nothing counted
    const LocalTrial off = run_local_trial(engine, cell, {}, [] {});
    EXPECT_TRUE(off.trace.empty());
    EXPECT_EQ(off.workers[0].trace_dropped, 0);
}

TEST(EngineSeam, JoinedTrialWallIsLatestEndMinusEarliestStartOverRanks) {
    FakeEngine engine;
    Cell cell = make_cell(2);
    cell.ranks = 2;
    cell.warmups = 1;
    std::vector<LocalTrial> ranks;
    ranks.push_back(run_local_trial(engine, cell, {.trial = 0, .rank = 0}, [] {}));
    ranks.push_back(run_local_trial(engine, cell, {.trial = 0, .rank = 1}, [] {}));
    ranks[0].first_error.clear();  // the first rank with an error names it
    ranks[1].first_error = "rank 1's";
    double first = 1e9, last = -1e9;
    for (const auto& r : ranks)
        for (const auto& w : r.workers) first = std::min(first, w.start_s), last = std::max(last, w.end_s);

    const gilbench::model::TrialResult result = join_trial(cell, 0, ranks);
    EXPECT_EQ(result.trial.cell, 5);
    EXPECT_EQ(result.trial.trial, 0);
    EXPECT_TRUE(result.trial.warmup);
    EXPECT_DOUBLE_EQ(result.trial.wall_s, last - first);
    EXPECT_EQ(result.trial.io_errors, 2);  // 0 + 1 on each of two ranks
    ASSERT_EQ(result.workers.size(), 4u);
    EXPECT_EQ(result.workers[0].rank, 0);  // rank-major, as gathered
    EXPECT_EQ(result.workers[2].rank, 1);
    EXPECT_EQ(result.requests.size(), 4u);
    EXPECT_EQ(result.first_error, "rank 1's");
    ASSERT_EQ(result.errors.size(), 2u);  // thread 1 of each rank
    EXPECT_EQ(result.errors[0].rank, 0);
    EXPECT_EQ(result.errors[1].rank, 1);

    std::vector<LocalTrial> measured(1);
    measured[0] = run_local_trial(engine, cell, {.trial = 1}, [] {});
    EXPECT_FALSE(join_trial(cell, 1, measured).trial.warmup);
}

TEST(EngineSeam, AWorkersExceptionIsRethrownAfterEveryThreadFinished) {
    FakeEngine engine;
    engine.throw_in_run = 1;
    EXPECT_THROW(run_local_trial(engine, make_cell(3), {}, [] {}), std::runtime_error);
    EXPECT_EQ(engine.runs, 3);  // the others ran to the end
}

TEST(EngineSeam, AThreadThatCannotBeSetUpStopsTheTrialAfterTheBarrier) {
    FakeEngine engine;
    engine.throw_in_prepare = 2;
    int barriers = 0;
    EXPECT_THROW(run_local_trial(engine, make_cell(3), {}, [&] { ++barriers; }), std::runtime_error);
    EXPECT_EQ(barriers, 1);  // the cell's other ranks are not left waiting in it
    EXPECT_EQ(engine.runs, 0);
}

TEST(EngineSeam, AClosedStartGateCallsTheTrialOffBeforeAnyWorkerRuns) {
    // The runner's start barrier doubles as the ranks' agreement on a stop request or a spent
    // budget: when it says no, the ready threads end without running and nothing is reported.
    FakeEngine engine;
    int gates = 0;
    const auto off = gilbench::runner::run_local_trial_if(engine, make_cell(3), {}, [&] {
        ++gates;
        return false;
    });
    EXPECT_FALSE(off.has_value());
    EXPECT_EQ(gates, 1);
    EXPECT_EQ(engine.trials_made, 1);
    EXPECT_EQ(engine.runs, 0);
    const auto on = gilbench::runner::run_local_trial_if(engine, make_cell(3), {}, [] { return true; });
    ASSERT_TRUE(on.has_value());
    EXPECT_EQ(engine.runs, 3);
    EXPECT_EQ(on->workers.size(), 3u);
}

TEST(EngineSeam, AnErrorsTextIsBoundedBeforeItIsStored) {
    // The text comes from the user's code (an exception's str(), a traceback) and is stored
    // with every failed trial: 64 KiB of it at most, saying how much was left out.
    FakeEngine engine;
    engine.detail_of_thread_2 = std::string(1 << 20, 'x');
    const LocalTrial out = run_local_trial(engine, make_cell(3), {}, [] {});
    ASSERT_EQ(out.errors.size(), 2u);
    const std::string& detail = out.errors[1].detail;
    EXPECT_EQ(detail.substr(0, 64 * 1024), std::string(64 * 1024, 'x'));
    EXPECT_EQ(detail.substr(64 * 1024), " ... [" + std::to_string((1 << 20) - 64 * 1024) + " more bytes not stored]");
    EXPECT_EQ(out.errors[0].message, "error of thread 1");  // short texts stay as they are
}
