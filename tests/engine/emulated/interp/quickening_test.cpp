// Quickening: the countdown's bytecode is rewritten as a warmed-up CPython 3.11 rewrites it,
// runs the same instructions in fewer dispatches, and gives the GIL up at the same points.
// And a mixed stress test (CPU threads beside blocking-call threads, tiny interval) that
// scripts/test-sanitizers.sh runs under ThreadSanitizer.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "../../../gil/test_support.hpp"
#include "gil/gil.hpp"
#include "engine/emulated/interp/interp.hpp"

namespace gilbench::interp {
namespace {

using namespace std::chrono_literals;

TEST(InterpQuickening, CountdownListingMatchesCPython311) {
    // `dis.dis(countdown, adaptive=True)` on CPython 3.11 after 8 calls shows, in order:
    // RESUME_QUICK, LOAD_FAST__LOAD_CONST, LOAD_CONST, COMPARE_OP_INT_JUMP, POP_JUMP_FORWARD_IF_FALSE,
    // LOAD_FAST__LOAD_CONST, LOAD_CONST, BINARY_OP_SUBTRACT_INT, STORE_FAST__LOAD_FAST,
    // LOAD_FAST__LOAD_CONST, LOAD_CONST, COMPARE_OP_INT_JUMP, POP_JUMP_BACKWARD_IF_TRUE,
    // LOAD_CONST, RETURN_VALUE. (Our RESUME always checks, as RESUME_QUICK does.)
    const std::vector<std::string> expected{
        "resume",         "load_fast__load_const",  "load_const",            "compare_op_int_jump",
        "pop_jump_forward_if_false",                "load_fast__load_const", "load_const",
        "binary_op_subtract_int",                   "store_fast__load_fast", "load_fast__load_const",
        "load_const",     "compare_op_int_jump",    "pop_jump_backward_if_true",
        "load_const",     "return_value"};
    EXPECT_EQ(countdown_listing(Quickening::on), expected);
    const std::vector<std::string> generic{
        "resume",     "load_fast",  "load_const", "compare_op", "pop_jump_forward_if_false",
        "load_fast",  "load_const", "binary_op",  "store_fast", "load_fast",
        "load_const", "compare_op", "pop_jump_backward_if_true", "load_const", "return_value"};
    EXPECT_EQ(countdown_listing(Quickening::off), generic);
}

class QuickeningSizes : public ::testing::TestWithParam<std::int64_t> {};

TEST_P(QuickeningSizes, SameInstructionsFewerDispatches) {
    const std::int64_t n = GetParam();
    gil::Gil gil(gil::Config{});
    gil::ThreadState ts(0);
    gil.take(ts);
    const RunResult quick = run_countdown(gil, ts, n, Quickening::on);
    const RunResult generic = run_countdown(gil, ts, n, Quickening::off);
    gil.drop(ts);
    EXPECT_EQ(quick.iterations, n);
    EXPECT_EQ(generic.iterations, n);
    EXPECT_EQ(quick.instructions, generic.instructions);
    EXPECT_EQ(generic.dispatches, generic.instructions);
    EXPECT_EQ(quick.dispatches, countdown_fixed_dispatches + countdown_dispatches_per_iteration * n);
}

INSTANTIATE_TEST_SUITE_P(Interp, QuickeningSizes, ::testing::Values(0, 1, 2, 1000));

TEST(InterpQuickening, WithoutChecksCountsTheSame) {
    const RunResult r = run_countdown_without_checks(12345);
    EXPECT_EQ(r.iterations, 12345);
    EXPECT_EQ(r.instructions, countdown_fixed_instructions + countdown_instructions_per_iteration * 12345);
}

TEST(InterpQuickening, GenericCodeIsAlsoForcedOff) {
    // The generic back-edge (POP_JUMP_BACKWARD_IF_TRUE) checks the eval breaker too.
    gil::Config config;
    config.switch_interval = 1ms;
    gil::Gil gil(config);
    gil::ThreadState a(0), b(1);
    std::atomic<bool> stop{false}, a_running{false};
    std::thread counter([&] {
        gil.take(a);
        a_running = true;
        while (!stop) run_countdown(gil, a, 1'000'000, Quickening::off);
        gil.drop(a);
    });
    ASSERT_TRUE(test::eventually([&] { return a_running.load(); }));
    gil.take(b);  // returns only if A drops at a check point
    stop = true;
    gil.drop(b);
    counter.join();
    EXPECT_GE(a.stats().forced_drops, 1);
}

// Stress (also the ThreadSanitizer target): under each policy, CPU threads count down while
// I/O-like threads release and re-take the GIL several times per call, as an HTTP GET does,
// with a tiny switch interval so hand-offs and forced drops happen constantly. Every thread
// finishes its exact work and hold intervals never overlap.
void mixed_stress(gil::Config config, int cpu_threads, int calls) {
    constexpr int io_threads = 3;
    constexpr int releases_per_call = 6;
    gil::Gil gil(config);
    std::vector<gil::ThreadState> states;
    for (int t = 0; t < cpu_threads + io_threads; ++t) states.emplace_back(t, /*tracing=*/true);
    std::atomic<int> io_left{io_threads};
    std::vector<std::int64_t> done(cpu_threads + io_threads, 0);
    std::vector<std::thread> pool;
    for (int t = 0; t < cpu_threads + io_threads; ++t) {
        pool.emplace_back([&, t] {
            gil::ThreadState& ts = states[t];
            gil.take(ts);
            if (t < cpu_threads) {
                while (io_left.load() > 0) done[t] += run_countdown(gil, ts, 20'000).iterations;
            } else {
                done[t] = run_call_loop(gil, ts, calls, [&](std::int64_t) {
                              for (int k = 0; k < releases_per_call; ++k) {
                                  begin_allow_threads(gil, ts);
                                  std::this_thread::yield();  // a short system call
                                  end_allow_threads(gil, ts);
                              }
                          }).iterations;
                --io_left;
            }
            gil.drop(ts);
        });
    }
    for (std::thread& th : pool) th.join();
    std::vector<const gil::ThreadState*> ptrs;
    for (int t = 0; t < cpu_threads + io_threads; ++t) {
        if (t >= cpu_threads) {
            EXPECT_EQ(done[t], calls) << "thread " << t;
            // One take per release, plus the re-takes of forced drops (new) or periodic
            // releases (old; rare, since every take restarts the ticker) in its bytecode.
            const gil::ThreadStats& s = states[t].stats();
            if (config.policy == gil::Policy::new_gil) {
                EXPECT_EQ(s.acquisitions, 1 + calls * releases_per_call + s.forced_drops) << "thread " << t;
            } else if (config.policy == gil::Policy::old_gil) {
                EXPECT_GE(s.acquisitions, 1 + calls * releases_per_call) << "thread " << t;
            }
        }
        EXPECT_GE(states[t].stats().acquisitions, states[t].stats().forced_drops);
        ptrs.push_back(&states[t]);
    }
    if (config.policy != gil::Policy::none) test::expect_exclusive(ptrs);
}

TEST(InterpStress, NewGilCpuBesideBlockingThreads) {
    gil::Config config;
    config.switch_interval = 10us;
    mixed_stress(config, 3, 200);
}

TEST(InterpStress, OldGilCpuBesideBlockingThreads) {
    gil::Config config;
    config.policy = gil::Policy::old_gil;
    // Large enough that the CPU threads' traces (a take and a drop per release) fit.
    config.check_interval = 3000;
    // Fewer calls: with no hand-off, a woken I/O thread mostly loses the race for the GIL
    // (the old GIL's known I/O starvation), so each of its re-takes is slow.
    mixed_stress(config, 3, 20);
}

TEST(InterpStress, NoGilCpuBesideBlockingThreads) {
    gil::Config config;
    config.policy = gil::Policy::none;
    // One CPU thread: without a GIL it never waits, and more would only crowd out the
    // I/O threads' yields on a 2-core machine.
    mixed_stress(config, 1, 200);
}

}  // namespace
}  // namespace gilbench::interp
