// Micro-benchmarks of the emulated GIL and the interpreter, and CPython's speed on the same
// loop for comparison.
//   build/bench/gilbench_micro --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
// Fidelity against CPython itself is scripts/fidelity (docs/gil-fidelity.md).
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdio>
#include <string>
#include <thread>

#include "gil/gil.hpp"
#include "engine/emulated/interp/interp.hpp"

namespace {

using gilbench::gil::Config;
using gilbench::gil::EventKind;
using gilbench::gil::Gil;
using gilbench::gil::Policy;
using gilbench::gil::ThreadState;
using gilbench::interp::Quickening;

// Uncontended take + drop: the cost a blocking call pays twice per system call.
void BM_uncontended_take_drop(benchmark::State& state) {
    Gil gil(Config{});
    ThreadState ts(0);
    for (auto _ : state) {
        gil.take(ts);
        gil.drop(ts);
    }
}
BENCHMARK(BM_uncontended_take_drop);

// Contended hand-off: a holder counts down; the other thread asks for the GIL. The time is
// from the drop request being set (the waiter's switch interval ran out) to the waiter
// holding the GIL: the holder's way to its next check point, its drop, and the waiter's
// wake-up. In CPython the same path takes the interval plus well under a millisecond
// (docs/gil-fidelity.md compares the two on one machine).
void BM_contended_handoff(benchmark::State& state) {
    Config cfg;
    cfg.switch_interval = std::chrono::microseconds(state.range(0));
    Gil gil(cfg);
    ThreadState holder(0), waiter(1, /*tracing=*/true);
    std::atomic<bool> stop{false};
    std::thread counter([&] {
        gil.take(holder);
        while (!stop.load(std::memory_order_relaxed)) gilbench::interp::run_countdown(gil, holder, 100'000);
        gil.drop(holder);
    });
    double total = 0;
    for (auto _ : state) {
        // The waiter's trace holds one request and one take per iteration; read both.
        const std::size_t before = waiter.trace().size();
        gil.take(waiter);
        const std::uint64_t mine = gil.switch_number();
        gil.drop(waiter);
        // Let the holder take the GIL back and count again, so the next take has to ask.
        while (gil.switch_number() == mine) std::this_thread::yield();
        double requested = -1, taken = -1;
        for (std::size_t i = before; i < waiter.trace().size(); ++i) {
            const auto& e = waiter.trace()[i];
            if (e.kind == EventKind::request && requested < 0) requested = e.t_s;
            if (e.kind == EventKind::take) taken = e.t_s;
        }
        const double latency = requested >= 0 && taken >= requested ? taken - requested : 0.0;
        total += latency;
        state.SetIterationTime(latency);
    }
    stop = true;
    counter.join();
    state.counters["handoff_us"] =
        benchmark::Counter(total * 1e6 / static_cast<double>(state.iterations()));
}
BENCHMARK(BM_contended_handoff)->Arg(1000)->Arg(5000)->UseManualTime()->Unit(benchmark::kMicrosecond)->Iterations(200);

// Countdown steps per second. Each policy's checks (the eval-breaker test at each taken
// back-edge for new and none, the old GIL's ticks), and no checks at all: the difference
// between new and without_checks is what the GIL's check points cost.
void report_steps(benchmark::State& state, std::int64_t n) {
    state.SetItemsProcessed(state.iterations() * n);
    state.counters["ns_per_step"] = benchmark::Counter(static_cast<double>(state.iterations() * n),
                                                       benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void countdown(benchmark::State& state, Policy policy, Quickening q) {
    Config cfg;
    cfg.policy = policy;
    Gil gil(cfg);
    ThreadState ts(0);
    const std::int64_t n = state.range(0);
    gil.take(ts);
    for (auto _ : state) {
        auto r = gilbench::interp::run_countdown(gil, ts, n, q);
        benchmark::DoNotOptimize(r);
    }
    gil.drop(ts);
    report_steps(state, n);
}
void BM_countdown_new_gil(benchmark::State& s) { countdown(s, Policy::new_gil, Quickening::on); }
void BM_countdown_old_gil(benchmark::State& s) { countdown(s, Policy::old_gil, Quickening::on); }
void BM_countdown_no_gil(benchmark::State& s) { countdown(s, Policy::none, Quickening::on); }
void BM_countdown_new_gil_generic(benchmark::State& s) { countdown(s, Policy::new_gil, Quickening::off); }
// The free-threaded profiles: ns_per_step should be BM_countdown_no_gil's + 40 % / + 10 %.
void BM_countdown_free_threaded_3_13(benchmark::State& s) { countdown(s, Policy::free_threaded_3_13, Quickening::on); }
void BM_countdown_free_threaded_3_14(benchmark::State& s) { countdown(s, Policy::free_threaded_3_14, Quickening::on); }
void BM_countdown_without_checks(benchmark::State& state) {
    const std::int64_t n = state.range(0);
    for (auto _ : state) {
        auto r = gilbench::interp::run_countdown_without_checks(n);
        benchmark::DoNotOptimize(r);
    }
    report_steps(state, n);
}
BENCHMARK(BM_countdown_new_gil)->Arg(1'000'000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_countdown_without_checks)->Arg(1'000'000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_countdown_no_gil)->Arg(1'000'000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_countdown_old_gil)->Arg(1'000'000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_countdown_new_gil_generic)->Arg(1'000'000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_countdown_free_threaded_3_13)->Arg(1'000'000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_countdown_free_threaded_3_14)->Arg(1'000'000)->Unit(benchmark::kMillisecond);

// CPython 3.11 on the same loop, quickened (warmed up) as ours: /usr/bin/python3 times
// `countdown(n)` itself (thread CPU time, so start-up is not counted) and prints seconds.
void BM_cpython_countdown(benchmark::State& state) {
    const std::int64_t n = state.range(0);
    const std::string cmd =
        "/usr/bin/python3 -c \"import time\n"
        "def countdown(n):\n"
        "    while n > 0:\n"
        "        n -= 1\n"
        "for _ in range(10): countdown(1000)\n"
        "t = time.thread_time(); countdown(" + std::to_string(n) + "); print(time.thread_time() - t)\" 2>/dev/null";
    for (auto _ : state) {
        FILE* p = popen(cmd.c_str(), "r");
        double seconds = -1;
        if (p) {
            if (std::fscanf(p, "%lf", &seconds) != 1) seconds = -1;
            pclose(p);
        }
        if (seconds <= 0) {
            state.SkipWithError("/usr/bin/python3 did not run the countdown (is CPython installed?)");
            return;
        }
        state.SetIterationTime(seconds);
    }
    report_steps(state, n);
}
BENCHMARK(BM_cpython_countdown)->Arg(1'000'000)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(10);

}  // namespace

BENCHMARK_MAIN();
