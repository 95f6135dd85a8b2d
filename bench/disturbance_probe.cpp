// One trial's disturbance probe, both edges: /proc/stat, this process's CPU time and the
// reference loop (fastest of 3), twice. Its cost must stay well under 1 % of a 0.2 s trial.
//   build/bench/gilbench_disturbance_probe --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <chrono>

#include "runner/disturbance.hpp"

namespace {

namespace gd = gilbench::runner::disturbance;

// The full probe of one trial: what the node's first rank does at its start and at its end.
void BM_trial_probe(benchmark::State& state) {
    double probe_s = 0;
    for (auto _ : state) {
        const auto t0 = std::chrono::steady_clock::now();
        for (int edge = 0; edge < 2; ++edge) {
            benchmark::DoNotOptimize(gd::read_proc_stat());
            benchmark::DoNotOptimize(gd::process_cpu_seconds());
            benchmark::DoNotOptimize(gd::reference_loop_seconds(3));
        }
        probe_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
    // The probe's wall time as a percentage of a 0.2 s trial (the bar is 1 %).
    state.counters["pct_of_0.2s_trial"] = benchmark::Counter(probe_s / 0.2 * 100, benchmark::Counter::kAvgIterations);
}
BENCHMARK(BM_trial_probe)->Unit(benchmark::kMicrosecond)->UseRealTime();

// Its parts, to see which one to shrink.
void BM_read_proc_stat(benchmark::State& state) {
    for (auto _ : state) benchmark::DoNotOptimize(gd::read_proc_stat());
}
BENCHMARK(BM_read_proc_stat)->Unit(benchmark::kMicrosecond);

void BM_process_cpu_seconds(benchmark::State& state) {
    for (auto _ : state) benchmark::DoNotOptimize(gd::process_cpu_seconds());
}
BENCHMARK(BM_process_cpu_seconds);

void BM_reference_loop_once(benchmark::State& state) {
    for (auto _ : state) benchmark::DoNotOptimize(gd::reference_loop_seconds(1));
}
BENCHMARK(BM_reference_loop_once)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
