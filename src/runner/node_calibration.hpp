// The emulated engine's calibration across a run's nodes (engine/cpython/calibration.hpp does one
// node's): nodes may differ, so each node's first rank measures (or reads its host's cache)
// while the node's other ranks wait asleep, and shares the result with them; rank 0 gets every
// node's, in hosts order, and how each was had, for the run's provenance. A resumed run instead
// keeps what its first start stored (share_kept_costs). Collective over `world`.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <boost/mpi/communicator.hpp>

#include "engine/cpython/calibration.hpp"
#include "engine/cpython/old_gil_python.hpp"
#include "runner/runner.hpp"
#include "engine/emulated/workloads/workload.hpp"

namespace gilbench::runner {

struct NodeCalibration {
    workloads::UrllibCosts mine = workloads::UrllibCosts::fallback();  // this rank's node's
    // rank 0: UrllibCosts::values per node (in the order of UrllibCosts::fields), in hosts order
    std::vector<std::int64_t> per_node;
    std::string how;  // rank 0: one text, or "host: text; ..." where nodes differ
    // A node's first rank: why its Python 2 could not time the old GIL's ticks ("" when fine);
    // the run stops on it (runner::any_failed) rather than time them on CPython 3 unasked.
    std::string error;
};

// What a calibrating rank says, with its host's name: `measuring` just before a measurement
// starts (~10 s; not for the cache or the fallback), `warning` for a problem that did not stop it.
struct CalibrationVoice {
    std::function<void(const std::string& host)> measuring;
    std::function<void(const std::string& host, const std::string& warning)> warning;
};

// `cache_dir`: engine::calibration_cache_dir() in a run. `old_gil_python`: a Python 2 each node's
// first rank times the old GIL's ticks on (engine/cpython/old_gil_python.hpp), after the
// calibration and never cached; "" for none (the embedded CPython 3 stands in).
NodeCalibration calibrate_nodes(engine::CalibrationMode mode, const std::string& cache_dir, const Topology& topology,
                                const boost::mpi::communicator& world, const CalibrationVoice& voice = {},
                                const std::string& old_gil_python = "");

// A resumed run's stored costs: rank 0 passes UrllibCosts::values per node of this start (in
// topology order; each node's in the order of UrllibCosts::fields, as ResumePlan::kept_costs
// gives them), or nothing where the stored run has none for some node. Every rank gets its
// node's; nullopt on every rank when rank 0 passed none (then the start calibrates).
std::optional<workloads::UrllibCosts> share_kept_costs(const std::vector<std::int64_t>& per_node,
                                                       const Topology& topology, const boost::mpi::communicator& world);

}  // namespace gilbench::runner
