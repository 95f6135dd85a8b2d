// run_cells with fake engines under `mpirun -np 2` (ctest: runner.fake_engines_np2): the
// prepare-once rule, the choice of engine per cell, and the gather to rank 0 are the runner's,
// whatever the engine. Every rank runs every test (they are collective); assertions that could
// desynchronise the ranks are EXPECTs, and ctest's timeout bounds a hang.
#include <gtest/gtest.h>

#include <algorithm>
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
    const runner::RunEnd end = runner::run_cells(
        world, topo, cells, {}, [&](const Cell& c) -> gilbench::engine::Engine& { return c.name[0] == 'a' ? a : b; },
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

int main(int argc, char** argv) {
    boost::mpi::environment env(argc, argv, boost::mpi::threading::funneled);
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
