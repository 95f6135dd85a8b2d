// The interpreter: exact iteration and instruction counts, where the GIL is checked and
// ticked, blocking calls releasing the GIL, and countdowns of several threads under each
// policy never overlapping.
#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

#include "../../../gil/test_support.hpp"
#include "gil/gil.hpp"
#include "engine/emulated/interp/interp.hpp"

namespace gilbench::interp {
namespace {

using namespace std::chrono_literals;
using test::eventually;

gil::Config config_for(gil::Policy policy) {
    gil::Config config;
    config.policy = policy;
    return config;
}

class CountdownSizes : public ::testing::TestWithParam<std::int64_t> {};

TEST_P(CountdownSizes, RunsExactlyNIterationsOfEightInstructions) {
    const std::int64_t n = GetParam();
    gil::Gil gil(gil::Config{});
    gil::ThreadState ts(0);
    gil.take(ts);
    const RunResult r = run_countdown(gil, ts, n);
    gil.drop(ts);  // throws if the countdown had left the GIL released
    EXPECT_EQ(r.iterations, n);
    EXPECT_EQ(r.instructions,
              countdown_fixed_instructions + countdown_instructions_per_iteration * n);
    EXPECT_EQ(ts.stats().acquisitions, 1);  // nobody else wanted it: never dropped
}

INSTANTIATE_TEST_SUITE_P(Interp, CountdownSizes, ::testing::Values(0, 1, 7, 1000003));

TEST(InterpCountdown, NegativeCountRunsNoIteration) {
    gil::Gil gil(gil::Config{});
    gil::ThreadState ts(0);
    gil.take(ts);
    const RunResult r = run_countdown(gil, ts, -5);
    gil.drop(ts);
    EXPECT_EQ(r.iterations, 0);
    EXPECT_EQ(r.instructions, countdown_fixed_instructions);
}

TEST(InterpCountdown, WorksUnderEveryPolicy) {
    for (gil::Policy p : {gil::Policy::new_gil, gil::Policy::old_gil, gil::Policy::none}) {
        gil::Gil gil(config_for(p));
        gil::ThreadState ts(0);
        gil.take(ts);
        EXPECT_EQ(run_countdown(gil, ts, 12345).iterations, 12345) << gil::to_string(p);
        gil.drop(ts);
    }
}

TEST(InterpCountdown, OldGilTicksThreeTimesPerIteration) {
    gil::Config config = config_for(gil::Policy::old_gil);
    config.check_interval = 100;
    gil::Gil gil(config);
    gil::ThreadState ts(0);
    gil.take(ts);
    const std::int64_t n = 1000;
    run_countdown(gil, ts, n);
    gil.drop(ts);
    // COMPARE_OP, BINARY_OP and the back-edge per iteration, plus the first test's
    // COMPARE_OP: 3n + 1 ticks, one release/re-take per 100.
    EXPECT_EQ(ts.stats().acquisitions, 1 + (3 * n + 1) / 100);
    static_assert(countdown_ticks_per_iteration == 3, "the old GIL's tick scale assumes CPython 2's 3 per iteration");
}

TEST(InterpCountdown, HolderIsForcedOffWhileStillCounting) {
    gil::Config config;
    config.switch_interval = 1ms;
    gil::Gil gil(config);
    gil::ThreadState a(0), b(1);
    std::atomic<bool> a_running{false}, b_acquired{false}, b_saw_a_running{false};
    std::int64_t a_iterations = 0;
    std::int64_t a_chunks = 0;

    std::thread counter([&] {
        gil.take(a);
        a_running = true;
        // Up to ~1 s of countdown in chunks (the GIL stays held between chunks), stopping
        // early once B has had the GIL so the test is quick when the GIL works.
        for (; a_chunks < 150 && !b_acquired; ++a_chunks) {
            a_iterations += run_countdown(gil, a, 1'000'000).iterations;
        }
        a_running = false;
        gil.drop(a);
    });
    ASSERT_TRUE(eventually([&] { return a_running.load(); }));
    gil.take(b);
    b_saw_a_running = a_running.load();
    b_acquired = true;
    gil.drop(b);
    counter.join();

    EXPECT_TRUE(b_saw_a_running) << "B only got the GIL after A's countdown ended";
    EXPECT_GE(a.stats().forced_drops, 1);
    EXPECT_GE(a.stats().acquisitions, 2);
    EXPECT_EQ(a_iterations, a_chunks * 1'000'000);  // forced drops lose no iteration
}

// Two or more threads count down under one GIL with tracing on; their hold intervals must
// never overlap, and every thread finishes its exact count.
void contended_countdown(gil::Config config, int threads, int chunks, std::int64_t chunk) {
    gil::Gil gil(config);
    std::vector<gil::ThreadState> states;
    for (int t = 0; t < threads; ++t) states.emplace_back(t, /*tracing=*/true);
    std::vector<std::int64_t> done(threads, 0);
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&, t] {
            for (int c = 0; c < chunks; ++c) {
                gil.take(states[t]);
                done[t] += run_countdown(gil, states[t], chunk).iterations;
                gil.drop(states[t]);
            }
        });
    }
    for (std::thread& th : pool) th.join();
    std::vector<const gil::ThreadState*> ptrs;
    for (int t = 0; t < threads; ++t) {
        EXPECT_EQ(done[t], chunks * chunk) << "thread " << t;
        ptrs.push_back(&states[t]);
    }
    test::expect_exclusive(ptrs);
}

TEST(InterpContended, NewGilTinyIntervalEightThreads) {
    gil::Config config;
    config.switch_interval = 20us;
    contended_countdown(config, 8, 10, 20'000);
}

TEST(InterpContended, OldGilEightThreads) {
    gil::Config config = config_for(gil::Policy::old_gil);
    config.check_interval = 100;
    contended_countdown(config, 8, 10, 20'000);
}

TEST(InterpContended, NewGilTwoThreadsTraceIsWellFormed) {
    gil::Config config;
    config.switch_interval = 100us;
    contended_countdown(config, 2, 1, 5'000'000);
}

TEST(InterpContended, NoGilThreadsAllFinish) {
    contended_countdown(config_for(gil::Policy::none), 4, 2, 1'000'000);
}

TEST(InterpBlockingLoop, CallsBackOncePerIndexInOrder) {
    gil::Gil gil(gil::Config{});
    gil::ThreadState ts(0, true);
    std::vector<std::int64_t> seen;
    gil.take(ts);
    const RunResult r = run_blocking_loop(gil, ts, 5, [&](std::int64_t i) { seen.push_back(i); });
    gil.drop(ts);
    EXPECT_EQ(seen, (std::vector<std::int64_t>{0, 1, 2, 3, 4}));
    EXPECT_EQ(r.iterations, 5);
    EXPECT_EQ(ts.stats().acquisitions, 1 + 5);  // re-taken after every call
    test::expect_exclusive({&ts});
}

TEST(InterpBlockingLoop, ZeroCountNeverCalls) {
    gil::Gil gil(gil::Config{});
    gil::ThreadState ts(0);
    int calls = 0;
    gil.take(ts);
    const RunResult r = run_blocking_loop(gil, ts, 0, [&](std::int64_t) { ++calls; });
    gil.drop(ts);
    EXPECT_EQ(calls, 0);
    EXPECT_EQ(r.iterations, 0);
}

TEST(InterpBlockingLoop, GilIsReleasedDuringTheCall) {
    gil::Gil gil(gil::Config{});
    gil::ThreadState main_ts(0), other(1);
    std::atomic<bool> other_had_it{false};
    gil.take(main_ts);
    std::thread other_thread([&] {
        gil.take(other);  // blocks: main holds the GIL outside its blocking calls
        other_had_it = true;
        gil.drop(other);
    });
    bool released_during_call = false;
    run_blocking_loop(gil, main_ts, 3, [&](std::int64_t i) {
        if (i == 1) released_during_call = eventually([&] { return other_had_it.load(); });
    });
    gil.drop(main_ts);
    other_thread.join();
    EXPECT_TRUE(released_during_call) << "another thread could not take the GIL in the call";
}

TEST(InterpBlockingLoop, ExceptionLeavesTheGilHeld) {
    gil::Gil gil(gil::Config{});
    gil::ThreadState ts(0);
    gil.take(ts);
    EXPECT_THROW(run_blocking_loop(gil, ts, 5,
                                   [](std::int64_t i) {
                                       if (i == 2) throw std::runtime_error("boom");
                                   }),
                 std::runtime_error);
    EXPECT_NO_THROW(gil.drop(ts));  // drop() throws if ts did not hold the GIL
    EXPECT_EQ(ts.stats().acquisitions, 1 + 3);
}

TEST(InterpBlockingLoop, WorksWithoutAGil) {
    gil::Gil gil(config_for(gil::Policy::none));
    gil::ThreadState ts(0);
    std::int64_t sum = 0;
    gil.take(ts);
    const RunResult r = run_blocking_loop(gil, ts, 100, [&](std::int64_t i) { sum += i; });
    gil.drop(ts);
    EXPECT_EQ(r.iterations, 100);
    EXPECT_EQ(sum, 4950);
    EXPECT_EQ(ts.stats().acquisitions, 0);
}

}  // namespace
}  // namespace gilbench::interp
