// The MPI runner: runs a plan of cells over the ranks of MPI_COMM_WORLD.
//
// For every cell `ranks` ranks (cell_ranks: by the cell's placement) form a sub-communicator; each runs
// `threads` worker threads under its engine's GIL (engine/: the emulated GIL and interpreter,
// or another engine the caller gives); all start after a barrier; the per-worker records are
// gathered to rank 0, which hands each trial to a TrialSink. Ranks that sit a cell out wait in
// a sleeping barrier so they don't steal cores. Timing, the work split, warm-ups and repeats,
// trace accounting, records and the gather are here, once for every engine.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include <boost/mpi/communicator.hpp>

#include "engine/engine.hpp"
#include "model/cell.hpp"
#include "model/records.hpp"
#include "runner/auto_rounds.hpp"
#include "runner/probes.hpp"

namespace gilbench::runner {

// Where this rank lives. Nodes are found with a shared-memory split (MPI_Comm_split_type),
// so ranks on one host share a node id whatever their host names are. Everything but
// node_comm is the same on every rank.
struct Topology {
    int node = 0;                    // this rank's node, index into hosts
    int node_rank = 0;               // rank within the node
    int node_size = 1;               // ranks on this node
    std::vector<std::string> hosts;  // one name per node, node 0 first (holds world rank 0)
    std::vector<std::string> cpu_model;   // per node
    std::vector<int> cores;               // per node: online CPUs
    std::vector<int> ranks_per_node;      // per node
    std::vector<int> rank_node;           // per world rank
    std::vector<int> rank_cpus;           // per world rank: CPUs in its affinity mask
    boost::mpi::communicator node_comm;
};
Topology discover_topology(const boost::mpi::communicator& world);

// The world ranks a cell runs on, in the order of its sub-communicator (world rank 0 always
// first, so rank 0 gathers and writes). `rank_node` gives each world rank's node (Topology);
// nodes are numbered by their lowest world rank. Needs cell.ranks <= rank_node.size().
std::vector<int> cell_ranks(const model::Cell& cell, const std::vector<int>& rank_node);

// Cells that put more threads on a node, or on a rank, than there are CPUs for them: their
// times measure the oversubscription, not the GIL. One message per problem ("" if none).
std::vector<std::string> oversubscription_warnings(const std::vector<model::Cell>& cells, const Topology& topology);

// How a cell's run ended on this pass.
enum class CellEnd {
    complete,     // every planned trial is stored
    budget,       // its time budget ran out after at least one repeat
    interrupted,  // a stop request came first
};

// Receives each finished trial on rank 0, in order. Writing results happens here. In rounds
// order (RunSettings::order) the trials of different cells interleave: a sink must not assume
// that a cell's trials arrive together, nor that on_cell_end follows a cell's last trial at once.
class TrialSink {
public:
    virtual ~TrialSink() = default;
    // `position` is the cell's place in the plan (= cell.index for a whole plan).
    virtual void on_trial(const model::Cell& cell, std::size_t position, const model::TrialResult& result) = 0;
    // After the cell's last trial of this pass (also when nothing was left to run).
    virtual void on_cell_end(const model::Cell& /*cell*/, std::size_t /*position*/, CellEnd /*end*/) {}
    // repeats = "auto": the pilot fixed the run's rounds (before any further trial runs).
    virtual void on_rounds_decided(const auto_rounds::Decision& /*decision*/) {}
    // repeats = "auto": the run's time budget ran out; every cell still running ends (CellEnd::budget).
    virtual void on_run_budget_spent(double /*budget_s*/) {}
};

// What one rank measured in one trial (its threads), before the gather.
struct LocalTrial {
    std::vector<model::WorkerRecord> workers;
    std::vector<model::TraceRecord> trace;
    std::vector<model::RequestRecord> requests;
    std::vector<model::ErrorRecord> errors;  // one per thread that failed
    std::string first_error;  // first failure of any thread, for the log
    RankProbe probe;          // what disturbed the trial, as this rank saw it (runner/probes.hpp)
};

// Runs one trial of `cell` on this rank with `engine`: makes its workers, calls
// `start_barrier` (all ranks of the cell) once every thread is ready, then times the threads
// (start/end relative to the barrier) and turns the engine's reports into records. Needs no
// MPI itself, so it is testable alone. `trial.rank` is the world rank (recorded),
// `trial.member` the rank's place among the cell's ranks (which share of strong-scaling work
// it gets; -1: the same as the rank). At most `trial.trace_capacity` trace events are kept
// per thread; each worker's trace_dropped counts the rest. A worker's exception is rethrown
// here once every thread has finished.
inline constexpr std::size_t default_trace_capacity = engine::default_trace_capacity;
LocalTrial run_local_trial(engine::Engine& engine, const model::Cell& cell, const engine::TrialContext& trial,
                           const std::function<void()>& start_barrier);
// The same with a start barrier that may also call the trial off (every rank of the cell
// must get the same answer): `start_gate` returns false, and the threads, made and ready,
// end without running; nullopt then.
std::optional<LocalTrial> run_local_trial_if(engine::Engine& engine, const model::Cell& cell,
                                             const engine::TrialContext& trial,
                                             const std::function<bool()>& start_gate);

// GIL counters an engine does not measure (WorkerReport::gil empty) are stored as these,
// never as zeros: -1 for the counts, NaN for the times.
inline constexpr std::int64_t not_measured_count = -1;
inline constexpr double not_measured_seconds = std::numeric_limits<double>::quiet_NaN();

// Rank 0's view of one trial: every rank's records joined (moved out of `ranks`), the trial's
// io_errors their sum, its wall time = latest worker end - earliest worker start.
model::TrialResult join_trial(const model::Cell& cell, int trial, std::vector<LocalTrial>& ranks);

// A resumed run: what is stored already. Must be the same on every rank.
struct StoredWall {
    int round = 0;
    double wall_s = 0.0;
    bool disturbed = false;
};

struct Done {
    std::vector<std::vector<int>> trials;  // per cell: the trial numbers stored
    std::vector<char> closed;              // per cell: 1 = nothing more to run (its budget ran out)
    // repeats = "auto": the measured rounds its pilot fixed (0: not yet), and (rank 0 only) the
    // stored measured trials' times, for a pilot that this start finishes.
    int auto_rounds = 0;
    std::vector<std::vector<StoredWall>> walls;
};

struct RunSettings {
    // Base URL of this node's embedded server ("" if none runs); io cells without a url use it.
    std::string embedded_base_url;
    // Set asynchronously (signal handler); agreed across ranks at every trial's start gate
    // (and between cells): the trial in progress finishes, the next does not start.
    const std::atomic<bool>* stop_requested = nullptr;
    // The signal behind a stop request (0 if none or unknown); agreed across ranks with it, so
    // rank 0 can name a signal that only another rank received.
    std::function<int()> stop_signal;
    // Trials to skip (--resume); empty: run everything.
    Done done;
    // Stop the run after the first trial with a failure (a failed request, an exception in the
    // user's function) instead of going on with the others (--stop-on-failure).
    bool stop_on_failure = false;
    // The order of the trials (`[job] order`, --order): cells = every trial of a cell, then the
    // next cell; rounds = round k runs trial k of every cell that has one (warm-ups included)
    // before round k + 1 starts. In rounds order a cell's time budget counts the time of its own
    // trials only, and a cell ends (on_cell_end) in the round of its last trial (or when its
    // budget runs out); at a stop every cell still running ends as interrupted.
    model::Order order = model::Order::alternating;
    // When a trial counts as disturbed (runner/disturbance.hpp; docs/statistics.md).
    disturbance::Thresholds disturbance{};
    // The most retries of disturbed measured trials per cell on this start (0: none; -1: as many
    // as the cell's repeats). A retry
    // runs at once, as the next slot, in the same round (TrialRecord::round), with the next
    // trial number past the plan; at most 2 in a row for one round.
    int retries = 0;
    // repeats = "auto" (runner/auto_rounds.hpp): the cells' repeats are its pilot; once every
    // cell ran them, rank 0 fixes the rounds and the schedule grows to them.
    model::AutoRounds auto_rounds{};
};

// failed: stopped after a trial with a failure, as RunSettings::stop_on_failure asked.
enum class RunOutcome { complete, interrupted, failed };

struct RunEnd {
    RunOutcome outcome = RunOutcome::complete;
    int signal = 0;  // interrupted: the highest signal number any rank saw (0: none known)
};

// Collective over `world`. `engine_for` picks each cell's engine; every distinct engine the
// plan uses is prepared once on every rank before the first cell (a failure on any rank
// throws on all of them, naming the rank). `sink` is used on rank 0 only (may be null elsewhere).
RunEnd run_cells(const boost::mpi::communicator& world, const Topology& topology,
                 const std::vector<model::Cell>& cells, const RunSettings& settings,
                 const engine::EngineFor& engine_for, TrialSink* sink);

// A barrier that sleeps while it waits (MPI_Ibarrier + test + short sleeps) instead of
// spinning, so idle ranks leave the cores to the ranks being measured.
void sleeping_barrier(const boost::mpi::communicator& comm);

}  // namespace gilbench::runner
