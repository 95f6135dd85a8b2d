// The MPI runner: runs a plan of cells over the ranks of MPI_COMM_WORLD.
//
// For every cell the first `ranks` ranks form a sub-communicator; each of them runs
// `threads` worker threads sharing one emulated GIL; all start after a barrier; the
// per-worker records are gathered to rank 0, which hands each trial to a TrialSink.
// Ranks that sit a cell out wait in a sleeping barrier so they don't steal cores.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include <boost/mpi/communicator.hpp>

#include "model/cell.hpp"
#include "model/records.hpp"

namespace gilbench::runner {

// Where this rank lives. Nodes are found with a shared-memory split (MPI_Comm_split_type),
// so ranks on one host share a node id whatever their host names are.
struct Topology {
    int node = 0;                    // this rank's node, index into hosts
    int node_rank = 0;               // rank within the node
    int node_size = 1;               // ranks on this node
    std::vector<std::string> hosts;  // one name per node, node 0 first (holds world rank 0)
    boost::mpi::communicator node_comm;
};
Topology discover_topology(const boost::mpi::communicator& world);

// Receives each finished trial on rank 0, in order. Writing results happens here.
class TrialSink {
public:
    virtual ~TrialSink() = default;
    virtual void on_trial(const model::Cell& cell, const model::TrialResult& result) = 0;
};

// What one rank measured in one trial (its threads), before the gather.
struct LocalTrial {
    std::vector<model::WorkerRecord> workers;
    std::vector<model::TraceRecord> trace;
    std::vector<model::RequestRecord> requests;
    std::string first_error;  // first I/O error of any thread, for the log
};

// Runs one trial of `cell` on this rank: creates the workers, calls `start_barrier`
// (all ranks of the cell), then times the threads. Needs no MPI itself, so it is
// testable alone.
LocalTrial run_local_trial(const model::Cell& cell, int trial, int rank, int node, const std::string& io_url,
                           const std::function<void()>& start_barrier);

struct RunSettings {
    // Base URL of this node's embedded server ("" if none runs); io cells without a url use it.
    std::string embedded_base_url;
    // Set asynchronously (signal handler); checked after every trial, agreed across ranks.
    const std::atomic<bool>* stop_requested = nullptr;
    // Rank 0 only: one progress line per trial.
    std::function<void(const std::string&)> progress;
};

enum class RunOutcome { complete, interrupted };

// Collective over `world`. `sink` is used on rank 0 only (may be null elsewhere).
RunOutcome run_cells(const boost::mpi::communicator& world, const Topology& topology,
                     const std::vector<model::Cell>& cells, const RunSettings& settings, TrialSink* sink);

// A barrier that sleeps while it waits (MPI_Ibarrier + test + short sleeps) instead of
// spinning, so idle ranks leave the cores to the ranks being measured.
void sleeping_barrier(const boost::mpi::communicator& comm);

}  // namespace gilbench::runner
