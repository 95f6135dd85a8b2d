// run_local_trial with the emulated engine, without MPI: the barrier is a plain function, the
// I/O target a local server.
#include <gtest/gtest.h>

#include <algorithm>

#include "engine/emulated/emulated_engine.hpp"
#include "http/client.hpp"
#include "http/delay_url.hpp"
#include "http/server.hpp"
#include "runner/runner.hpp"
#include "engine/emulated/workloads/workload.hpp"

using gilbench::model::Cell;
using gilbench::model::Workload;
using gilbench::engine::TrialContext;

namespace {
// The emulated engine's trial: run_local_trial with the engine every test here uses.
gilbench::runner::LocalTrial run_local_trial(const Cell& cell, const TrialContext& trial,
                                             const std::function<void()>& barrier) {
    gilbench::engine::EmulatedEngine engine;
    return gilbench::runner::run_local_trial(engine, cell, trial, barrier);
}
}  // namespace

namespace {
Cell make_cell(Workload w, int threads, std::int64_t work) {
    Cell c;
    c.index = 3;
    c.name = "t";
    c.workload = w;
    c.threads = threads;
    c.work = work;
    c.switch_interval_s = 0.0005;
    c.trace = true;
    return c;
}
}  // namespace

TEST(LocalTrial, CpuThreadsSplitTheWorkAndFillEveryField) {
    const Cell cell = make_cell(Workload::cpu, 3, 300001);
    int barriers = 0;
    const auto out = run_local_trial(cell, {.trial = 2, .rank = 0, .node = 0}, [&] { ++barriers; });
    EXPECT_EQ(barriers, 1);
    ASSERT_EQ(out.workers.size(), 3u);
    std::int64_t total = 0;
    for (int t = 0; t < 3; ++t) {
        const auto& w = out.workers[static_cast<std::size_t>(t)];
        EXPECT_EQ(w.cell, 3);
        EXPECT_EQ(w.trial, 2);
        EXPECT_EQ(w.thread, t);
        EXPECT_GE(w.start_s, 0.0);
        EXPECT_GE(w.end_s, w.start_s);
        EXPECT_GE(w.gil_acquisitions, 1);
        EXPECT_LE(w.gil_hold_s + w.gil_wait_s, w.end_s - w.start_s + 1e-6);
        total += w.ops;
    }
    EXPECT_EQ(total, 300001);
    EXPECT_FALSE(out.trace.empty());
}

TEST(LocalTrial, RankOffsetsTheWorkSplit) {
    // 2 ranks x 2 threads over 10 steps: workers 0,1 take 3 each, workers 2,3 take 2 each.
    Cell cell = make_cell(Workload::cpu, 2, 10);
    cell.ranks = 2;
    const auto rank1 = run_local_trial(cell, {.rank = 1}, [] {});
    EXPECT_EQ(rank1.workers[0].ops + rank1.workers[1].ops, 4);
    EXPECT_EQ(rank1.workers[0].rank, 1);
    // World rank 3 as the cell's first member (a spread placement): the first share, recorded as rank 3.
    const auto member0 = run_local_trial(cell, {.rank = 3, .node = 1, .member = 0}, [] {});
    EXPECT_EQ(member0.workers[0].ops + member0.workers[1].ops, 6);
    EXPECT_EQ(member0.workers[0].rank, 3);
    EXPECT_EQ(member0.workers[0].node, 1);
}

TEST(LocalTrial, IoThreadsReleaseTheGilWhileWaiting) {
    gilbench::http::global_init();
    gilbench::http::DelayServer server({});
    const Cell cell = make_cell(Workload::io, 2, 4);
    const std::string url = gilbench::http::delay_url(server.base_url(), 0.05);
    const auto out = run_local_trial(cell, {.io_url = url}, [] {});
    ASSERT_EQ(out.workers.size(), 2u);
    for (const auto& w : out.workers) {
        EXPECT_EQ(w.io_requests, 2);
        EXPECT_EQ(w.io_errors, 0);
        EXPECT_EQ(w.ops, 2);
        EXPECT_GE(w.end_s - w.start_s, 2 * 0.05);  // each request waits at least the latency
    }
    EXPECT_EQ(server.requests_served(), 4u);
    // Released GIL: some request of thread 0 is in flight while one of thread 1 is.
    auto starts = [&](int th) {
        std::vector<std::pair<double, double>> v;
        double open = -1;
        for (const auto& e : out.trace)
            if (e.thread == th && e.event == "io_start") open = e.t_s;
            else if (e.thread == th && e.event == "io_end") v.emplace_back(open, e.t_s);
        return v;
    };
    bool overlapped = false;
    for (auto a : starts(0))
        for (auto b : starts(1)) overlapped |= std::min(a.second, b.second) > std::max(a.first, b.first);
    EXPECT_TRUE(overlapped);
}

TEST(LocalTrial, IoErrorsAreCountedNotThrown) {
    gilbench::http::global_init();
    const Cell cell = make_cell(Workload::io, 1, 2);
    const auto out = run_local_trial(cell, {.io_url = "http://127.0.0.1:9/"}, [] {});
    EXPECT_EQ(out.workers[0].io_requests, 2);
    EXPECT_EQ(out.workers[0].io_errors, 2);
    EXPECT_EQ(out.workers[0].ops, 0);
    EXPECT_NE(out.first_error.find("127.0.0.1:9"), std::string::npos) << out.first_error;
}

TEST(LocalTrial, MixedCellCpuThreadsRunUntilTheIoThreadIsDone) {
    gilbench::http::global_init();
    gilbench::http::DelayServer server({});
    Cell cell = make_cell(Workload::mixed, 3, 3);  // 1 I/O thread doing 3 requests, 2 CPU threads
    cell.io_threads = 1;
    cell.trace = false;
    const std::string url = gilbench::http::delay_url(server.base_url(), 0.01);
    const auto out = run_local_trial(cell, {.io_url = url}, [] {});
    ASSERT_EQ(out.workers.size(), 3u);
    const auto& io = out.workers[0];
    EXPECT_EQ(io.io_requests, 3);
    EXPECT_EQ(io.ops, 3);
    ASSERT_EQ(out.requests.size(), 3u);
    for (std::size_t k = 0; k < 3; ++k) {
        EXPECT_EQ(out.requests[k].thread, 0);
        EXPECT_EQ(out.requests[k].request, static_cast<int>(k));
        EXPECT_EQ(out.requests[k].ok, 1);
        EXPECT_GE(out.requests[k].end_s - out.requests[k].start_s, 0.01);  // the server's delay
        EXPECT_GE(out.requests[k].start_s, io.start_s);
    }
    for (int t = 1; t < 3; ++t) {
        const auto& cpu = out.workers[static_cast<std::size_t>(t)];
        EXPECT_EQ(cpu.io_requests, 0);
        EXPECT_GT(cpu.ops, 0);                   // counted down while the requests waited
        EXPECT_GE(cpu.end_s, out.requests.back().end_s);  // and stopped only after the last one
    }
}

TEST(LocalTrial, TraceEventsPastTheCapacityAreCountedPerWorker) {
    // One thread under the old GIL: it drops and re-takes every check_interval ticks, so the
    // number of events is the same on every run; a capacity of 4 keeps 4 and counts the rest.
    Cell cell = make_cell(Workload::cpu, 1, 200000);
    cell.gil = gilbench::model::GilPolicy::old_gil;
    cell.check_interval = 100;
    const auto full = run_local_trial(cell, {}, [] {});
    ASSERT_EQ(full.workers.size(), 1u);
    EXPECT_EQ(full.workers[0].trace_dropped, 0);
    const auto all = static_cast<std::int64_t>(full.trace.size());
    ASSERT_GT(all, 4);

    const auto tiny = run_local_trial(cell, {.trace_capacity = 4}, [] {});
    EXPECT_EQ(tiny.trace.size(), 4u);
    EXPECT_EQ(tiny.workers[0].trace_dropped, all - 4);
}

TEST(LocalTrial, SubinterpreterThreadsEachHaveAGilOfTheirOwn) {
    // Each thread takes its own GIL once and nobody ever asks it to drop: with one shared GIL
    // the second thread would wait for the first (~80 ms of work at a 0.5 ms switch interval)
    // and ask, so a request and a forced drop would show.
    Cell cell = make_cell(Workload::cpu, 2, 20'000'000);
    cell.parallel = gilbench::model::Parallel::subinterpreters;
    const auto out = run_local_trial(cell, {}, [] {});
    ASSERT_EQ(out.workers.size(), 2u);
    for (const auto& w : out.workers) {
        EXPECT_EQ(w.gil_acquisitions, 1);
        EXPECT_EQ(w.gil_forced_drops, 0);
        EXPECT_EQ(w.ops, 10'000'000);
    }
    for (const auto& e : out.trace) EXPECT_NE(e.event, "request");

    cell.parallel = gilbench::model::Parallel::threads;  // the same cell with one GIL: it can fail
    const auto shared = run_local_trial(cell, {}, [] {});
    std::int64_t forced = 0;
    for (const auto& w : shared.workers) forced += w.gil_forced_drops;
    EXPECT_GT(forced, 0);
}

// urllib's code after a wait for the GIL: warm + the share of the cold excess that the wait's
// length brings, interpolated in log(wait) between the calibrated waits (0.5, 5, 50 ms), the
// nearest share outside them.
TEST(UrllibCosts, ColdCostGrowsWithTheWaitBetweenTheCalibratedShares) {
    using gilbench::workloads::UrllibCosts;
    using std::chrono::microseconds;
    using std::chrono::nanoseconds;
    UrllibCosts c = UrllibCosts::fallback();
    const auto step = UrllibCosts::after_send;
    c.ns[step] = 10'000;                                // warm
    c.ns[step + UrllibCosts::count] = 50'000;           // cold after 5 ms: excess 40'000
    c.ns[UrllibCosts::cold_scale_first] = 250;          // 0.5 ms: a quarter of it
    c.ns[UrllibCosts::cold_scale_first + 1] = 1'500;    // 50 ms: one and a half
    EXPECT_EQ(c.cold(step, microseconds(5'000)), nanoseconds(50'000));
    EXPECT_EQ(c.cold(step, microseconds(500)), nanoseconds(20'000));
    EXPECT_EQ(c.cold(step, microseconds(300)), nanoseconds(20'000));      // below: the nearest
    EXPECT_EQ(c.cold(step, microseconds(50'000)), nanoseconds(70'000));
    EXPECT_EQ(c.cold(step, microseconds(900'000)), nanoseconds(70'000));  // above: the nearest
    // Half way in log(wait) (sqrt(0.5 * 5) ms): half way between the two costs.
    EXPECT_NEAR(static_cast<double>(c.cold(step, nanoseconds(1'581'139)).count()), 35'000.0, 2.0);
    EXPECT_NEAR(static_cast<double>(c.cold(step, nanoseconds(15'811'388)).count()), 60'000.0, 2.0);
    // Monotonic in the wait where the shares grow.
    nanoseconds last{0};
    for (long us = 250; us <= 80'000; us = us * 5 / 4) {
        const nanoseconds now = c.cold(step, microseconds(us));
        EXPECT_GE(now, last) << us;
        last = now;
    }
}
