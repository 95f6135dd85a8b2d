#include "runner/probes.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>

namespace gilbench::runner {
namespace {

std::int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

// The other processes and the steal on each node the cell ran on: the node's busy ticks less
// the CPU time of the cell's own ranks there.
disturbance::Sample node_samples(const std::vector<RankProbe>& probes) {
    std::map<int, double> ours;  // node -> CPU seconds of the cell's ranks there
    for (const RankProbe& p : probes)
        if (std::isfinite(p.cpu_s)) ours[p.node] += p.cpu_s;
    disturbance::Sample worst;
    const double ticks = disturbance::ticks_per_second();
    for (const RankProbe& p : probes) {
        if (!p.node_first) continue;
        disturbance::Sample s;
        s.reference_slowdown = p.reference_slowdown;
        if (p.have_stat) {
            disturbance::Window w;
            w.after.busy = p.busy;
            w.after.steal = p.steal;
            w.after.total = p.total;
            w.wall_s = p.window_s;
            w.ours_cpu_s = ours[p.node];
            const disturbance::Sample m = disturbance::measure(w, ticks);
            s.others_cpus = m.others_cpus;
            s.steal = m.steal;
        }
        worst = disturbance::worst(worst, s);
    }
    return worst;
}

// Compute cells only: the lowest rank's CPU time over what it should get in its span.
double lowest_cpu_share(const std::vector<model::WorkerRecord>& workers, const ProbeContext& c) {
    const model::Cell& cell = *c.cell;
    if (cell.workload != model::Workload::cpu) return disturbance::not_measured;
    const bool gil_bound = !model::lock_free(cell.gil) && cell.parallel == model::Parallel::threads;
    struct Span {
        double cpu = 0.0, start = 0.0, end = 0.0;
        int node = 0;
        bool any = false;
    };
    std::map<int, Span> ranks;
    std::map<int, int> ranks_on_node;
    for (const model::WorkerRecord& w : workers) {
        Span& s = ranks[w.rank];
        if (!s.any) ++ranks_on_node[w.node];
        s.cpu += w.cpu_s;
        s.start = s.any ? std::min(s.start, w.start_s) : w.start_s;
        s.end = s.any ? std::max(s.end, w.end_s) : w.end_s;
        s.node = w.node;
        s.any = true;
    }
    double lowest = disturbance::not_measured;
    for (const auto& [rank, s] : ranks) {
        // The rank's CPUs: its affinity mask, and no more than its part of the node.
        int cpus = cell.threads;
        if (c.rank_cpus && rank < static_cast<int>(c.rank_cpus->size())) cpus = (*c.rank_cpus)[rank];
        if (c.node_cores && s.node < static_cast<int>(c.node_cores->size()))
            cpus = std::min(cpus, std::max(1, (*c.node_cores)[s.node] / std::max(1, ranks_on_node[s.node])));
        const double share = disturbance::expected_cpu_share(gil_bound, cell.threads, cpus) * cell.threads;
        const double got = disturbance::cpu_share(s.cpu, s.end - s.start, share);
        if (std::isfinite(got) && !(got >= lowest)) lowest = got;
    }
    return lowest;
}

}  // namespace

void EdgeProbe::start() {
    if (probe_.node_first) {
        reference_ = disturbance::reference_loop_seconds();
        stat_ = disturbance::read_proc_stat();
    }
    cpu_ = disturbance::process_cpu_seconds();
    start_ns_ = now_ns();
}

RankProbe EdgeProbe::finish() {
    const std::int64_t end_ns = now_ns();
    probe_.cpu_s = disturbance::process_cpu_seconds() - cpu_;
    probe_.window_s = static_cast<double>(end_ns - start_ns_) * 1e-9;
    if (probe_.node_first) {
        const std::optional<disturbance::CpuTimes> after = disturbance::read_proc_stat();
        if (stat_ && after && after->total >= stat_->total && after->busy >= stat_->busy &&
            after->steal >= stat_->steal) {
            probe_.have_stat = true;
            probe_.busy = after->busy - stat_->busy;
            probe_.steal = after->steal - stat_->steal;
            probe_.total = after->total - stat_->total;
        }
        const double reference_after = disturbance::reference_loop_seconds();
        clock_.add(reference_);
        clock_.add(reference_after);
        // Both edges slow: the machine was slow over the trial (a busy sibling core, a lower
        // clock). One slow edge is a moment's preemption of the probe itself (seen on the
        // 2-core VM: single edges 35-41 % slow beside a normal other edge and a normal trial).
        const double both = std::isfinite(reference_) && std::isfinite(reference_after)
                                ? std::min(reference_, reference_after)
                                : disturbance::not_measured;
        probe_.reference_slowdown = clock_.slowdown(both, disturbance::not_measured);
    }
    return probe_;
}

void judge_trial(model::TrialRecord& trial, const std::vector<RankProbe>& probes,
                 const std::vector<model::WorkerRecord>& workers, const ProbeContext& context) {
    disturbance::Sample s = node_samples(probes);
    if (context.cell) s.cpu_share = lowest_cpu_share(workers, context);
    // /proc/stat counts in ticks (USER_HZ, 100 a second): over a short trial a few ticks of
    // rounding at the edges read as other processes, so the bar is at least 5 ticks' worth.
    disturbance::Thresholds t = context.thresholds;
    double window = 0.0;
    for (const RankProbe& p : probes) window = std::max(window, p.window_s);
    if (window > 0) t.others_cpus = std::max(t.others_cpus, 5.0 / (disturbance::ticks_per_second() * window));
    trial.others_cpus = s.others_cpus;
    trial.steal = s.steal;
    trial.reference_slowdown = s.reference_slowdown;
    trial.cpu_share = s.cpu_share;
    trial.disturbance = disturbance::classify(s, t);
    trial.disturbed = !trial.disturbance.empty();
}

}  // namespace gilbench::runner
