// Free-threaded profiles (gil/free_threading.hpp): no lock, each profile's published cost,
// the overhead applied as exactly floor(iterations * overhead / 100) padding iterations (also
// across runs and through native calls that run bytecode themselves), and the shared
// reference-count traffic counted, from one thread and from several at once.
#include <gtest/gtest.h>

#include <stdexcept>
#include <thread>
#include <vector>

#include "gil/gil.hpp"
#include "engine/emulated/interp/interp.hpp"

namespace gilbench::interp {
namespace {

gil::Config profile(gil::Policy p, std::optional<gil::FreeThreadedCost> cost = std::nullopt) {
    gil::Config c;
    c.policy = p;
    c.free_threaded = cost;
    return c;
}

gil::Config custom(int overhead_percent, int shared_ref_period = 0) {
    return profile(gil::Policy::free_threaded_3_14,
                   gil::FreeThreadedCost{.overhead_percent = overhead_percent, .shared_ref_period = shared_ref_period});
}

TEST(FreeThreadedProfile, PublishedCostsAreFilledIn) {
    EXPECT_EQ(gil::Gil(profile(gil::Policy::free_threaded_3_13)).config().free_threaded->overhead_percent, 40);
    EXPECT_EQ(gil::Gil(profile(gil::Policy::free_threaded_3_14)).config().free_threaded->overhead_percent, 10);
    // The countdown touches no shared object in CPython's free-threaded build: no traffic.
    EXPECT_EQ(gil::Gil(profile(gil::Policy::free_threaded_3_13)).config().free_threaded->shared_ref_period, 0);
    EXPECT_EQ(gil::Gil(profile(gil::Policy::free_threaded_3_14)).config().free_threaded->shared_ref_period, 0);
    for (gil::Policy p : {gil::Policy::new_gil, gil::Policy::old_gil, gil::Policy::none}) {
        EXPECT_FALSE(gil::Gil(profile(p)).config().free_threaded.has_value()) << gil::to_string(p);
        EXPECT_THROW(gil::Gil(profile(p, gil::FreeThreadedCost{.overhead_percent = 10})), std::logic_error);
    }
    EXPECT_THROW(gil::Gil(custom(-1)), std::runtime_error);
    EXPECT_THROW(gil::Gil(custom(10, -2)), std::runtime_error);
}

TEST(FreeThreadedProfile, TakesNoLock) {
    gil::Gil gil(profile(gil::Policy::free_threaded_3_13));
    gil::ThreadState a(0), b(1);
    gil.take(a);
    gil.take(b);  // would block (or throw) with a lock
    gil.take(a);
    gil.drop(b);
    gil.drop(a);
    EXPECT_EQ(a.stats().acquisitions, 0);
    EXPECT_FALSE(gil.eval_breaker());
}

struct Padding {
    gil::Policy policy;
    std::int64_t n;
    std::int64_t expected;
};

class ProfilePadding : public ::testing::TestWithParam<Padding> {};

TEST_P(ProfilePadding, IsTheOverheadTimesTheIterations) {
    const Padding& p = GetParam();
    gil::Gil gil(profile(p.policy));
    gil::ThreadState ts(0);
    for (Quickening q : {Quickening::on, Quickening::off}) {
        gil::ThreadState fresh(0);
        const RunResult r = run_countdown(gil, fresh, p.n, q);
        EXPECT_EQ(r.iterations, p.n);
        EXPECT_EQ(fresh.free_threaded().padding_iterations, p.expected);
        EXPECT_EQ(fresh.free_threaded().shared_refs, 0);
    }
}

INSTANTIATE_TEST_SUITE_P(
    Interp, ProfilePadding,
    ::testing::Values(Padding{gil::Policy::free_threaded_3_13, 1'000'000, 400'000},
                      Padding{gil::Policy::free_threaded_3_14, 1'000'000, 100'000},
                      Padding{gil::Policy::free_threaded_3_13, 1'234, 493},  // 493.6: whole iterations
                      Padding{gil::Policy::free_threaded_3_14, 9, 0}, Padding{gil::Policy::free_threaded_3_14, 0, 0},
                      Padding{gil::Policy::none, 1'000'000, 0}, Padding{gil::Policy::new_gil, 1'000'000, 0}));

TEST(FreeThreadedProfile, IterationCostScalesAsConfigured) {
    for (int overhead : {0, 1, 7, 15, 37, 100, 250}) {
        gil::Gil gil(custom(overhead));
        gil::ThreadState ts(0);
        constexpr std::int64_t n = 123'457;
        run_countdown(gil, ts, n);
        EXPECT_EQ(ts.free_threaded().padding_iterations, n * overhead / 100) << overhead << " %";
        EXPECT_EQ(ts.free_threaded().padding_debt, n * overhead % 100) << overhead << " %";
    }
}

TEST(FreeThreadedProfile, TheFractionCarriesOverToTheNextRun) {
    gil::Gil gil(profile(gil::Policy::free_threaded_3_14));
    gil::ThreadState ts(0);
    std::int64_t total = 0;
    for (int i = 0; i < 100; ++i) {
        run_countdown(gil, ts, 7);  // 0.7 padding iterations owed each time
        total += 7;
        EXPECT_EQ(ts.free_threaded().padding_iterations, total * 10 / 100) << "after run " << i;
    }
}

TEST(FreeThreadedProfile, NativeCallsThatRunBytecodeShareTheThreadsDebt) {
    // The I/O workload's shape: a call loop whose native function runs countdowns on the same
    // thread. Every iteration, outer and inner, owes its share, once.
    gil::Gil gil(custom(10));
    gil::ThreadState ts(0);
    constexpr std::int64_t calls = 7, inner = 13;
    const RunResult r = run_call_loop(gil, ts, calls, [&](std::int64_t) { run_countdown(gil, ts, inner); });
    EXPECT_EQ(r.iterations, calls);
    EXPECT_EQ(ts.free_threaded().padding_iterations, (calls + calls * inner) * 10 / 100);
}

TEST(FreeThreadedProfile, SharedReferencesEveryKthIteration) {
    gil::Gil gil(custom(0, 10));
    gil::ThreadState ts(0);
    run_countdown(gil, ts, 1'000);
    EXPECT_EQ(ts.free_threaded().shared_refs, 100);
    run_countdown(gil, ts, 15);  // one at the 10th, 5 carried
    EXPECT_EQ(ts.free_threaded().shared_refs, 101);
    run_countdown(gil, ts, 5);  // the carried 5 + 5
    EXPECT_EQ(ts.free_threaded().shared_refs, 102);
    EXPECT_EQ(ts.free_threaded().padding_iterations, 0);
    EXPECT_EQ(gil.shared_refcount(), 1);
}

TEST(FreeThreadedProfile, ThreadsOfOneGilShareTheReferenceCount) {
    gil::Gil gil(custom(40, 1));
    constexpr int threads = 4;
    constexpr std::int64_t n = 20'000;
    std::vector<gil::ThreadState> states;
    for (int t = 0; t < threads; ++t) states.emplace_back(t);
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
        pool.emplace_back([&, t] {
            gil.take(states[t]);
            run_countdown(gil, states[t], n);
            gil.drop(states[t]);
        });
    for (auto& th : pool) th.join();
    for (const auto& ts : states) {
        EXPECT_EQ(ts.free_threaded().shared_refs, n);
        EXPECT_EQ(ts.free_threaded().padding_iterations, n * 40 / 100);
    }
    EXPECT_EQ(gil.shared_refcount(), 1);  // every increment was matched by its decrement
}

}  // namespace
}  // namespace gilbench::interp
