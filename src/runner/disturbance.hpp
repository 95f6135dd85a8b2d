// What disturbed a trial, seen from inside the node: the CPU time other processes and the
// hypervisor (steal) took over the trial (/proc/stat at its edges), the machine's speed (a short
// fixed reference loop at its edges against the run's median) and the workers' CPU time against
// what their cell should give them. Pure functions and plain data, no MPI: the runner takes the
// samples at each trial's edges, gathers them per node and names what passed a threshold.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gilbench::runner::disturbance {

inline constexpr double not_measured = std::numeric_limits<double>::quiet_NaN();

// The aggregate "cpu " line of /proc/stat, in ticks (1/ticks_per_second() s) since boot. busy is
// user + nice + system + irq + softirq (guest time is already inside user and nice: not added
// again); idle is idle + iowait (a CPU waiting on I/O is free to run others); total is
// busy + idle + steal, i.e. the node's CPU time, so steal / total is the hypervisor's share.
struct CpuTimes {
    std::uint64_t busy = 0, idle = 0, steal = 0, total = 0;
};

// nullopt when the text has no "cpu " line of at least 4 numbers (user nice system idle; kernels
// before 2.6 stop there, 2.6.0 adds iowait irq softirq, 2.6.11 steal, later guest ones).
std::optional<CpuTimes> parse_proc_stat(std::string_view text);
// /proc/stat now; nullopt where it cannot be read (not Linux, a sandbox without /proc).
std::optional<CpuTimes> read_proc_stat();
// /proc/stat's unit: sysconf(_SC_CLK_TCK), USER_HZ, 100 on every Linux we know; 100 if unknown.
double ticks_per_second();
// CPU seconds of this process, all its threads (CLOCK_PROCESS_CPUTIME_ID): what a rank adds to
// the node's busy time, MPI's polling included. NaN where the clock fails.
double process_cpu_seconds();

// The machine's speed: a fixed, dependency-chained integer loop (an LCG; its result goes to a
// volatile sink so it cannot be removed), ~100 us on a 3 GHz core. Returns the fastest of
// `repeats` runs in seconds: one interrupt or preemption slows one run, not the fastest.
double reference_loop_seconds(int repeats = 3);

// The run's reference speed on this rank: the median of the reference loop samples so far (a
// median, so a disturbed trial does not move the yardstick it is judged by). Not thread-safe.
class ReferenceClock {
public:
    void add(double seconds);  // NaN and non-positive samples are ignored
    double median() const;     // NaN when empty
    std::size_t size() const { return sorted_.size(); }
    // max(edge samples) / median() - 1: how much slower the machine was at this trial's edges.
    // NaN when there is no median or no finite edge sample. Add the edges first, so that a run's
    // first trial is judged against something.
    double slowdown(double before_s, double after_s) const;

private:
    std::vector<double> sorted_;  // kept sorted: add is O(n), median O(1); n is the trial count
};

// What one node saw over one trial, filled by the node's first rank of the cell.
struct Window {
    CpuTimes before, after;
    double wall_s = 0;      // the window's length (steady clock between the two reads)
    double ours_cpu_s = 0;  // CPU time of the cell's own processes on the node over the window
                            // (process_cpu_seconds deltas, summed over its ranks there)
};

// One trial's disturbance on one node (or the worst over nodes). NaN: not measured.
struct Sample {
    double others_cpus = not_measured;         // CPUs' worth of busy time that was not ours
    double steal = not_measured;               // steal ticks / total ticks over the window
    double reference_slowdown = not_measured;  // ReferenceClock::slowdown
    double cpu_share = not_measured;           // lowest worker's cpu_s / expected cpu_s
};

// others_cpus = (busy ticks / ticks_per_s - ours_cpu_s) / wall_s, floored at 0 (ticks are coarse:
// a window where only we ran can read a little under our precise CPU time); steal from the ticks.
// Leaves both NaN when the window is empty or a counter went backwards.
Sample measure(const Window& w, double ticks_per_s);

// The CPU share a worker thread should get of one core while it runs. gil_bound: its rank's
// threads take turns on one lock (a GIL), so together they get about one CPU and each 1 / threads;
// else each may get min(1, cpus_for_rank / threads_on_rank). Only for CPU-bound work: a thread
// waiting on I/O is not short of CPU.
double expected_cpu_share(bool gil_bound, int threads_on_rank, int cpus_for_rank);
// cpu_s / (wall_s * expected_share): 1 when the worker got what it should; NaN if not measurable.
double cpu_share(double cpu_s, double wall_s, double expected_share);

// A trial is disturbed when any field passes its threshold (strictly).
struct Thresholds {
    double others_cpus = 0.25;         // CPUs, averaged over the trial
    double steal = 0.05;               // of the node's CPU time
    double reference_slowdown = 0.10;  // slower than the run's median
    double cpu_share = 0.8;            // below this of the expected share
};

// "" when nothing passed its threshold; else every passed threshold named in a fixed order and
// wording, "; "-joined, e.g. "other processes used 1.30 CPUs; the reference loop ran 14 % slow".
// NaN fields are not judged.
std::string classify(const Sample& s, const Thresholds& t = {});

// Merges nodes' samples: the worst of each field (max; min for cpu_share), a NaN side ignored.
Sample worst(const Sample& a, const Sample& b);

}  // namespace gilbench::runner::disturbance
