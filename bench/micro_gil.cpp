// Micro-benchmarks of the emulated GIL and the interpreter.
//   build/bench/gilbench_micro --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include "gil/gil.hpp"
#include "interp/interp.hpp"

namespace {

using gilbench::gil::Config;
using gilbench::gil::Gil;
using gilbench::gil::Policy;
using gilbench::gil::ThreadState;

// Uncontended take + drop: the cost a blocking call pays twice per request.
void BM_uncontended_take_drop(benchmark::State& state) {
    Gil gil(Config{});
    ThreadState ts(0);
    for (auto _ : state) {
        gil.take(ts);
        gil.drop(ts);
    }
}
BENCHMARK(BM_uncontended_take_drop);

// Countdown steps per second, with the eval-breaker check (new GIL), the old GIL's ticks,
// and with no GIL: the difference is what the check points cost.
void countdown(benchmark::State& state, Policy policy) {
    Config cfg;
    cfg.policy = policy;
    Gil gil(cfg);
    ThreadState ts(0);
    const std::int64_t n = state.range(0);
    gil.take(ts);
    for (auto _ : state) {
        auto r = gilbench::interp::run_countdown(gil, ts, n);
        benchmark::DoNotOptimize(r);
    }
    gil.drop(ts);
    state.SetItemsProcessed(state.iterations() * n);
    state.counters["ns_per_step"] = benchmark::Counter(
        static_cast<double>(state.iterations() * n), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
void BM_countdown_new_gil(benchmark::State& s) { countdown(s, Policy::new_gil); }
void BM_countdown_old_gil(benchmark::State& s) { countdown(s, Policy::old_gil); }
void BM_countdown_no_gil(benchmark::State& s) { countdown(s, Policy::none); }
BENCHMARK(BM_countdown_new_gil)->Arg(1'000'000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_countdown_old_gil)->Arg(1'000'000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_countdown_no_gil)->Arg(1'000'000)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
