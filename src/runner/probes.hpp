// The disturbance probes around each trial (runner/disturbance.hpp holds the measurements): what
// a rank takes at the trial's edges, and how rank 0 turns every rank's edges into the trial's
// disturbance columns (model::TrialRecord: others_cpus, steal, reference_slowdown, cpu_share,
// disturbed, disturbance).
#pragma once

#include <cstdint>
#include <vector>

#include "model/cell.hpp"
#include "model/records.hpp"
#include "runner/disturbance.hpp"

namespace gilbench::runner {

// What one rank measured over one trial. Every member rank sends its process's CPU time; the
// node's first member of the cell (`node_first`) also reads /proc/stat and times the reference
// loop for the node.
struct RankProbe {
    std::int32_t rank = 0;
    std::int32_t node = 0;
    double cpu_s = disturbance::not_measured;  // this process's CPU time over the window
    bool node_first = false;
    bool have_stat = false;                    // node_first and both /proc/stat reads worked
    std::uint64_t busy = 0, steal = 0, total = 0;  // /proc/stat tick deltas over the window
    double window_s = 0.0;
    double reference_slowdown = disturbance::not_measured;

    template <class Archive>
    void serialize(Archive& ar, unsigned) {
        ar & rank & node & cpu_s & node_first & have_stat & busy & steal & total & window_s & reference_slowdown;
    }
};

// Takes a rank's two edges. Start at the trial's start gate (every thread made and waiting),
// finish once the rank's workers have ended. `clock`: the rank's reference speed over the run.
class EdgeProbe {
public:
    EdgeProbe(int rank, int node, bool node_first, disturbance::ReferenceClock& clock)
        : clock_(clock) {
        probe_.rank = rank;
        probe_.node = node;
        probe_.node_first = node_first;
    }
    void start();
    RankProbe finish();

private:
    disturbance::ReferenceClock& clock_;
    RankProbe probe_;
    std::optional<disturbance::CpuTimes> stat_;
    double cpu_ = 0.0, reference_ = disturbance::not_measured;
    std::int64_t start_ns_ = 0;
};

// The rest rank 0 needs to judge a trial: the cell, and per world rank its CPUs and node, per
// node its CPUs.
struct ProbeContext {
    const model::Cell* cell = nullptr;
    const std::vector<int>* rank_cpus = nullptr;
    const std::vector<int>* node_cores = nullptr;
    disturbance::Thresholds thresholds{};
};

// Fills `trial`'s disturbance columns from every rank's probe and the trial's workers.
void judge_trial(model::TrialRecord& trial, const std::vector<RankProbe>& probes,
                 const std::vector<model::WorkerRecord>& workers, const ProbeContext& context);

}  // namespace gilbench::runner
