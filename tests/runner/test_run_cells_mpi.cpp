// run_cells with fake engines under `mpirun -np 2` (ctest: runner.fake_engines_np2): the
// prepare-once rule, the choice of engine per cell, and the gather to rank 0 are the runner's,
// whatever the engine. Every rank runs every test (they are collective); assertions that could
// desynchronise the ranks are EXPECTs, and ctest's timeout bounds a hang.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <string>

#include <boost/mpi/collectives.hpp>
#include <boost/mpi/communicator.hpp>
#include <boost/mpi/environment.hpp>

#include "fake_engine.hpp"
#include "runner/runner.hpp"

using gilbench::model::Cell;
using gilbench::model::TrialResult;
using gilbench::testing::FakeEngine;
namespace runner = gilbench::runner;

namespace {

// What rank 0 was handed, in order.
class RecordingSink final : public runner::TrialSink {
public:
    struct Stored {
        std::string cell;
        TrialResult result;
    };
    std::vector<Stored> trials;
    std::vector<runner::CellEnd> ends;
    void on_trial(const Cell& cell, std::size_t, const TrialResult& result) override {
        trials.push_back({cell.name, result});
    }
    void on_cell_end(const Cell&, std::size_t, runner::CellEnd end) override { ends.push_back(end); }
};

Cell make_cell(int index, const std::string& name, int ranks, int threads) {
    Cell c;
    c.index = index;
    c.name = name;
    c.ranks = ranks;
    c.threads = threads;
    c.work = 8;
    c.warmups = 1;
    c.repeats = 2;
    return c;
}

}  // namespace

TEST(RunCellsMpi, EachEngineIsPreparedOnceAndEachCellRunsOnItsOwn) {
    const boost::mpi::communicator world;
    ASSERT_EQ(world.size(), 2) << "run with mpirun -np 2";
    const runner::Topology topo = runner::discover_topology(world);
    const std::vector<Cell> cells{make_cell(0, "a-both", 2, 2), make_cell(1, "b-one", 1, 3),
                                  make_cell(2, "a-one", 1, 1)};
    FakeEngine a, b;
    a.engine_name = "a";
    b.engine_name = "b";
    RecordingSink sink;
    runner::RunSettings cells_order;
    cells_order.order = gilbench::model::Order::cells;  // every trial of a cell, then the next
    const runner::RunEnd end = runner::run_cells(
        world, topo, cells, cells_order, [&](const Cell& c) -> gilbench::engine::Engine& { return c.name[0] == 'a' ? a : b; },
        world.rank() == 0 ? &sink : nullptr);
    EXPECT_EQ(end.outcome, runner::RunOutcome::complete);

    // Prepared once per rank each, on every rank, with the cells it runs.
    EXPECT_EQ(a.prepared, 1);
    EXPECT_EQ(b.prepared, 1);
    ASSERT_EQ(a.rank_contexts.size(), 1u);
    EXPECT_EQ(a.rank_contexts[0].rank, world.rank());
    ASSERT_EQ(a.rank_contexts[0].cells.size(), 2u);
    EXPECT_EQ(a.rank_contexts[0].cells[1].name, "a-one");
    ASSERT_EQ(b.rank_contexts.size(), 1u);
    EXPECT_EQ(b.rank_contexts[0].cells.size(), 1u);
    // Trials made where the cell runs: rank 1 takes part only in the 2-rank cell.
    EXPECT_EQ(a.trials_made, world.rank() == 0 ? 6 : 3);
    EXPECT_EQ(b.trials_made, world.rank() == 0 ? 3 : 0);

    if (world.rank() != 0) return;
    ASSERT_EQ(sink.trials.size(), 9u);
    EXPECT_EQ(sink.ends, std::vector<runner::CellEnd>(3, runner::CellEnd::complete));
    for (std::size_t i = 0; i < sink.trials.size(); ++i) {
        const auto& [name, r] = sink.trials[i];
        const Cell& cell = cells[i / 3];
        EXPECT_EQ(name, cell.name);
        EXPECT_EQ(r.trial.trial, static_cast<int>(i % 3));
        EXPECT_EQ(r.trial.warmup, i % 3 == 0);
        // Every rank's workers, gathered; wall time and io_errors from them alone.
        ASSERT_EQ(r.workers.size(), static_cast<std::size_t>(cell.ranks * cell.threads));
        double first = 1e9, last = -1e9;
        std::int64_t errors = 0;
        for (std::size_t k = 0; k < r.workers.size(); ++k) {
            const auto& w = r.workers[k];
            EXPECT_EQ(w.rank, static_cast<int>(k) / cell.threads);
            EXPECT_EQ(w.thread, static_cast<int>(k) % cell.threads);
            first = std::min(first, w.start_s);
            last = std::max(last, w.end_s);
            errors += w.io_errors;
        }
        EXPECT_DOUBLE_EQ(r.trial.wall_s, last - first);
        EXPECT_EQ(r.trial.io_errors, errors);
        EXPECT_EQ(r.requests.size(), r.workers.size());
    }
}

TEST(RunCellsMpi, AnEngineThatCannotStartOnOneRankStopsEveryRankNamingIt) {
    const boost::mpi::communicator world;
    const runner::Topology topo = runner::discover_topology(world);
    FakeEngine engine;
    engine.engine_name = "picky";
    engine.throw_in_prepare_rank = world.rank() == 1;
    RecordingSink sink;
    std::string message;
    try {
        runner::run_cells(world, topo, {make_cell(0, "c", 1, 1)}, {},
                          [&](const Cell&) -> gilbench::engine::Engine& { return engine; }, &sink);
    } catch (const std::runtime_error& e) {
        message = e.what();
    }
    EXPECT_EQ(message, "engine 'picky' could not start on rank 1: no interpreter here");
    EXPECT_EQ(engine.trials_made, 0);
    EXPECT_TRUE(sink.trials.empty());
}

namespace {

const char* end_name(runner::CellEnd end) {
    switch (end) {
        case runner::CellEnd::complete: return "complete";
        case runner::CellEnd::budget: return "budget";
        case runner::CellEnd::interrupted: return "interrupted";
    }
    return "?";
}

// Rank 0's sink as one stream of events: "a:0" (cell a, trial 0), "end a complete".
class EventSink final : public runner::TrialSink {
public:
    std::vector<std::string> events;
    std::function<void()> after_trial;  // called after each trial (a test's stop request)
    void on_trial(const Cell& cell, std::size_t position, const TrialResult& r) override {
        EXPECT_EQ(static_cast<int>(position), cell.index);
        EXPECT_EQ(r.trial.cell, cell.index);
        EXPECT_EQ(r.trial.warmup, r.trial.trial < cell.warmups);
        EXPECT_EQ(r.workers.size(), static_cast<std::size_t>(cell.ranks * cell.threads));
        events.push_back(cell.name + ":" + std::to_string(r.trial.trial));
        if (after_trial) after_trial();
    }
    void on_cell_end(const Cell& cell, std::size_t, runner::CellEnd end) override {
        events.push_back("end " + cell.name + " " + end_name(end));
    }
};

Cell trials_cell(int index, const std::string& name, int ranks, int warmups, int repeats, int threads = 1) {
    Cell c = make_cell(index, name, ranks, threads);
    c.warmups = warmups;
    c.repeats = repeats;
    return c;
}

// Three cells of 3, 1 and 4 trials; `a` on both ranks, the others on rank 0 alone.
std::vector<Cell> uneven_cells() {
    return {trials_cell(0, "a", 2, 1, 2), trials_cell(1, "b", 1, 0, 1), trials_cell(2, "c", 1, 1, 3)};
}

struct Ran {
    runner::RunEnd end;
    std::vector<std::string> events;  // rank 0's; empty elsewhere
    int trials_made = 0;              // this rank's
};

Ran run(const std::vector<Cell>& cells, runner::RunSettings settings,
        std::function<void(EventSink&)> set_up_sink = nullptr) {
    const boost::mpi::communicator world;
    const runner::Topology topo = runner::discover_topology(world);
    FakeEngine engine;
    EventSink sink;
    if (set_up_sink) set_up_sink(sink);
    Ran out;
    out.end = runner::run_cells(world, topo, cells, settings,
                                [&](const Cell&) -> gilbench::engine::Engine& { return engine; },
                                world.rank() == 0 ? &sink : nullptr);
    out.events = sink.events;
    out.trials_made = engine.trials_made;
    return out;
}

using Events = std::vector<std::string>;

}  // namespace

TEST(RunCellsMpi, CellsOrderRunsEveryTrialOfACellBeforeTheNext) {
    const boost::mpi::communicator world;
    runner::RunSettings settings;
    settings.order = gilbench::model::Order::cells;
    const Ran r = run(uneven_cells(), settings);
    EXPECT_EQ(r.end.outcome, runner::RunOutcome::complete);
    EXPECT_EQ(r.trials_made, world.rank() == 0 ? 8 : 3);
    if (world.rank() == 0) {
        EXPECT_EQ(r.events, (Events{"a:0", "a:1", "a:2", "end a complete", "b:0", "end b complete", "c:0", "c:1", "c:2",
                                    "c:3", "end c complete"}));
    }
}

TEST(RunCellsMpi, RoundsOrderRunsTrialKOfEveryCellBeforeTrialKPlusOne) {
    const boost::mpi::communicator world;
    runner::RunSettings settings;
    settings.order = gilbench::model::Order::rounds;
    const Ran r = run(uneven_cells(), settings);
    EXPECT_EQ(r.end.outcome, runner::RunOutcome::complete);
    // Rank 1 runs a's trials only, and sits the others out.
    EXPECT_EQ(r.trials_made, world.rank() == 0 ? 8 : 3);
    // A cell ends in the round of its last trial, and drops out of the later rounds.
    if (world.rank() == 0) {
        EXPECT_EQ(r.events, (Events{"a:0", "b:0", "end b complete", "c:0", "a:1", "c:1", "a:2", "end a complete", "c:2",
                                    "c:3", "end c complete"}));
    }
}

TEST(RunCellsMpi, RoundsOrderSkipsTheTrialsAResumedRunHas) {
    const boost::mpi::communicator world;
    runner::RunSettings settings;
    settings.order = gilbench::model::Order::rounds;
    std::vector<Cell> cells = uneven_cells();
    cells.push_back(trials_cell(3, "d", 2, 0, 5));
    settings.done.trials = {{0, 2}, {0}, {1}, {0}};
    settings.done.closed = {0, 0, 0, 1};  // d's budget ran out before
    const Ran r = run(cells, settings);
    EXPECT_EQ(r.end.outcome, runner::RunOutcome::complete);
    EXPECT_EQ(r.trials_made, world.rank() == 0 ? 4 : 1);
    // b and d have nothing left: they end before the first round.
    if (world.rank() == 0) {
        EXPECT_EQ(r.events, (Events{"end b complete", "end d budget", "c:0", "a:1", "end a complete", "c:2", "c:3",
                                    "end c complete"}));
    }
}

TEST(RunCellsMpi, RoundsOrderEndsACellWhoseBudgetRanOutAndGoesOnWithTheOthers) {
    const boost::mpi::communicator world;
    runner::RunSettings settings;
    settings.order = gilbench::model::Order::rounds;
    std::vector<Cell> cells{trials_cell(0, "a", 2, 1, 2), trials_cell(1, "b", 1, 1, 5)};
    cells[1].time_budget_s = 1e-4;  // each fake trial sleeps 2 ms: out after its first repeat
    const Ran r = run(cells, settings);
    EXPECT_EQ(r.end.outcome, runner::RunOutcome::complete);
    EXPECT_EQ(r.trials_made, world.rank() == 0 ? 5 : 3);
    if (world.rank() == 0) {
        EXPECT_EQ(r.events, (Events{"a:0", "b:0", "a:1", "b:1", "end b budget", "a:2", "end a complete"}));
    }
}

TEST(RunCellsMpi, RoundsOrderStopsAtAStopRequestAndEndsTheCellsStillRunning) {
    const boost::mpi::communicator world;
    std::atomic<bool> stop{false};  // rank 0's alone: the others learn it from the agreement
    runner::RunSettings settings;
    settings.order = gilbench::model::Order::rounds;
    settings.stop_requested = &stop;
    settings.stop_signal = [] { return 10; };
    const Ran r = run(uneven_cells(), settings, [&](EventSink& sink) {
        sink.after_trial = [&] {
            if (sink.events.size() == 4) stop = true;  // after c:0
        };
    });
    EXPECT_EQ(r.end.outcome, runner::RunOutcome::interrupted);
    EXPECT_EQ(r.end.signal, 10);
    EXPECT_EQ(r.trials_made, world.rank() == 0 ? 3 : 1);
    if (world.rank() == 0) {
        EXPECT_EQ(r.events, (Events{"a:0", "b:0", "end b complete", "c:0", "end a interrupted", "end c interrupted"}));
    }
}

TEST(RunCellsMpi, RoundsOrderStopsOnFailureUnlessTheFailedTrialWasTheLastOfAll) {
    const boost::mpi::communicator world;
    runner::RunSettings settings;
    settings.order = gilbench::model::Order::rounds;
    settings.stop_on_failure = true;
    // The fake's thread 1 reports an I/O error: a 2-thread cell fails every trial.
    const std::vector<Cell> cells{trials_cell(0, "a", 1, 0, 2), trials_cell(1, "f", 1, 0, 2, 2),
                                  trials_cell(2, "c", 2, 0, 2)};
    const Ran r = run(cells, settings);
    EXPECT_EQ(r.end.outcome, runner::RunOutcome::failed);
    EXPECT_EQ(r.trials_made, world.rank() == 0 ? 2 : 0);
    if (world.rank() == 0) {
        EXPECT_EQ(r.events, (Events{"a:0", "f:0", "end a interrupted", "end f interrupted", "end c interrupted"}));
    }

    const Ran last = run({trials_cell(0, "a", 2, 0, 1), trials_cell(1, "f", 1, 0, 1, 2)}, settings);
    EXPECT_EQ(last.end.outcome, runner::RunOutcome::complete);
    if (world.rank() == 0) {
        EXPECT_EQ(last.events, (Events{"a:0", "end a complete", "f:0", "end f complete"}));
    }
}

int main(int argc, char** argv) {
    boost::mpi::environment env(argc, argv, boost::mpi::threading::funneled);
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
