// Single-thread behaviour of the GIL: parsing, validation, statistics, trace bookkeeping,
// misuse errors, and the `none` and `old` policies' counting.
#include <gtest/gtest.h>

#include <cmath>

#include <stdexcept>
#include <thread>

#include "gil/gil.hpp"
#include "gil/manual_clock.hpp"

namespace gilbench::gil {
namespace {

using namespace std::chrono_literals;

TEST(GilPolicy, ParsesEveryNameAndRoundTrips) {
    for (Policy p : {Policy::new_gil, Policy::old_gil, Policy::none, Policy::free_threaded_3_13,
                     Policy::free_threaded_3_14}) {
        const auto parsed = parse_policy(to_string(p));
        ASSERT_TRUE(parsed.has_value()) << to_string(p);
        EXPECT_EQ(*parsed, p);
    }
    EXPECT_FALSE(parse_policy("").has_value());
    EXPECT_FALSE(parse_policy("New").has_value());
    EXPECT_FALSE(parse_policy("free").has_value());
    EXPECT_FALSE(parse_policy("free-threaded").has_value());
    // Lock-free: none and the free-threaded profiles; the GILs are not.
    EXPECT_TRUE(lock_free(Policy::none));
    EXPECT_TRUE(lock_free(Policy::free_threaded_3_13));
    EXPECT_TRUE(lock_free(Policy::free_threaded_3_14));
    EXPECT_FALSE(lock_free(Policy::new_gil));
    EXPECT_FALSE(lock_free(Policy::old_gil));
}

TEST(GilPolicy, EventKindNames) {
    EXPECT_EQ(to_string(EventKind::request), "request");
    EXPECT_EQ(to_string(EventKind::take), "take");
    EXPECT_EQ(to_string(EventKind::drop), "drop");
    EXPECT_EQ(to_string(EventKind::io_start), "io_start");
    EXPECT_EQ(to_string(EventKind::io_end), "io_end");
}

TEST(GilConfig, RejectsNonPositiveIntervals) {
    Config bad_switch;
    bad_switch.switch_interval = 0ns;
    EXPECT_THROW(Gil{bad_switch}, std::runtime_error);
    Config bad_check;
    bad_check.policy = Policy::old_gil;
    bad_check.check_interval = 0;
    EXPECT_THROW(Gil{bad_check}, std::runtime_error);
    // Settings of the other policy are not checked.
    Config none;
    none.policy = Policy::none;
    none.switch_interval = 0ns;
    none.check_interval = 0;
    EXPECT_NO_THROW(Gil{none});
}

TEST(GilNew, UncontendedTakeDropCountsExactTimes) {
    ManualClock clock;
    Gil gil(Config{}, clock);
    ThreadState ts(3, /*tracing=*/true);
    clock.advance(2ms);  // trace times are relative to the Gil's construction
    gil.take(ts);
    clock.advance(7ms);
    gil.drop(ts);
    EXPECT_EQ(ts.stats().acquisitions, 1);
    EXPECT_EQ(ts.stats().forced_drops, 0);
    EXPECT_EQ(ts.stats().drop_requests, 0);
    EXPECT_DOUBLE_EQ(ts.stats().wait_s, 0.0);
    EXPECT_DOUBLE_EQ(ts.stats().hold_s, 0.007);
    EXPECT_FALSE(gil.eval_breaker());
    EXPECT_EQ(gil.switch_number(), 1u);
    ASSERT_EQ(ts.trace().size(), 2u);
    EXPECT_EQ(ts.trace()[0].kind, EventKind::take);
    EXPECT_DOUBLE_EQ(ts.trace()[0].t_s, 0.002);
    EXPECT_EQ(ts.trace()[1].kind, EventKind::drop);
    EXPECT_DOUBLE_EQ(ts.trace()[1].t_s, 0.009);
}

TEST(GilNew, RetakeBySameThreadIsNotASwitch) {
    Gil gil(Config{});
    ThreadState a(0), b(1);
    gil.take(a);
    gil.drop(a);
    gil.take(a);
    gil.drop(a);
    EXPECT_EQ(gil.switch_number(), 1u);
    gil.take(b);
    gil.drop(b);
    EXPECT_EQ(gil.switch_number(), 2u);
    EXPECT_EQ(a.stats().acquisitions, 2);
}

TEST(GilNew, MisuseIsReportedNotDeadlocked) {
    Gil gil(Config{});
    ThreadState a(0), b(1);
    EXPECT_THROW(gil.drop(a), std::runtime_error);  // never taken
    gil.take(a);
    EXPECT_THROW(gil.take(a), std::runtime_error);  // would wait for itself forever
    EXPECT_THROW(gil.drop(b), std::runtime_error);  // b does not hold it
    gil.drop(a);
}

TEST(GilNew, HandleEvalBreakerWithoutRequestDoesNothing) {
    Gil gil(Config{});
    ThreadState a(0, true);
    gil.take(a);
    gil.handle_eval_breaker(a);
    gil.drop(a);
    EXPECT_EQ(a.stats().forced_drops, 0);
    EXPECT_EQ(a.stats().acquisitions, 1);
    EXPECT_EQ(a.trace().size(), 2u);
}

TEST(GilTrace, CapacityIsRespectedAndOverflowCounted) {
    Gil gil(Config{});
    ThreadState ts(0, /*tracing=*/true, /*trace_capacity=*/3);
    for (int i = 0; i < 3; ++i) {
        gil.take(ts);
        gil.drop(ts);
    }
    EXPECT_EQ(ts.trace().size(), 3u);
    EXPECT_EQ(ts.trace_dropped(), 3);
    EXPECT_EQ(ts.stats().acquisitions, 3);  // statistics do not depend on the trace
}

TEST(GilTrace, RecordUsesEpochAndIsOffWithoutTracing) {
    ManualClock clock;
    Gil gil(Config{}, clock);
    gil.set_epoch(clock.now() + 1s);
    clock.advance(1500ms);
    ThreadState traced(0, true), untraced(1, false);
    gil.record(traced, EventKind::io_start);
    gil.record(untraced, EventKind::io_start);
    ASSERT_EQ(traced.trace().size(), 1u);
    EXPECT_EQ(traced.trace()[0].kind, EventKind::io_start);
    EXPECT_DOUBLE_EQ(traced.trace()[0].t_s, 0.5);
    EXPECT_TRUE(untraced.trace().empty());
    EXPECT_EQ(untraced.trace_dropped(), 0);
}

TEST(GilNone, TakeAndDropDoNothing) {
    Config config;
    config.policy = Policy::none;
    Gil gil(config);
    ThreadState a(0, true), b(1, true);
    gil.take(a);
    gil.take(b);  // free-threaded: both "hold" at once without blocking
    for (int i = 0; i < 1000; ++i) gil.tick(a);
    gil.handle_eval_breaker(a);
    gil.drop(a);
    gil.drop(b);
    gil.drop(b);  // no lock, so no misuse to detect either
    EXPECT_FALSE(gil.eval_breaker());
    EXPECT_EQ(gil.switch_number(), 0u);
    for (const ThreadState* ts : {&a, &b}) {
        EXPECT_EQ(ts->stats().acquisitions, 0);
        EXPECT_DOUBLE_EQ(ts->stats().hold_s, 0.0);
        EXPECT_TRUE(ts->trace().empty());
    }
}

// took_over: whether a take followed another thread's hold. The I/O workload runs urllib's
// code cold after such a take, and warm after re-taking a GIL nobody took meanwhile.
TEST(GilBasics, TookOverSaysWhetherAnotherThreadHeldTheGilSinceThisOneDroppedIt) {
    for (Policy p : {Policy::new_gil, Policy::old_gil}) {
        Config config;
        config.policy = p;
        Gil gil(config);
        ThreadState a(0), b(1);
        gil.take(a);
        EXPECT_TRUE(a.took_over()) << to_string(p);  // nobody held it before: a switch (switch_number 1)
        gil.drop(a);
        gil.take(a);
        EXPECT_FALSE(a.took_over()) << to_string(p);  // a's own again
        gil.drop(a);
        gil.take(b);
        EXPECT_TRUE(b.took_over()) << to_string(p);
        gil.drop(b);
        gil.take(a);
        EXPECT_TRUE(a.took_over()) << to_string(p);  // b held it since a dropped it
        gil.drop(a);
        EXPECT_EQ(gil.switch_number(), 3u) << to_string(p);
    }
    Gil none(Config{.policy = Policy::none});
    ThreadState c(0);
    none.take(c);
    EXPECT_FALSE(c.took_over());  // no lock, no switches
    none.drop(c);
}

TEST(GilOld, ReleasesAndRetakesEveryCheckIntervalTicks) {
    ManualClock clock;
    Config config;
    config.policy = Policy::old_gil;
    config.check_interval = 4;
    Gil gil(config, clock);
    ThreadState ts(0, true);
    gil.take(ts);
    for (int i = 0; i < 3; ++i) gil.tick(ts);
    EXPECT_EQ(ts.stats().acquisitions, 1);
    gil.tick(ts);  // the 4th tick: release and re-acquire
    EXPECT_EQ(ts.stats().acquisitions, 2);
    for (int i = 0; i < 4; ++i) gil.tick(ts);
    EXPECT_EQ(ts.stats().acquisitions, 3);
    gil.drop(ts);
    // Nobody else wanted it: the same thread re-took it, which is not a switch.
    EXPECT_EQ(gil.switch_number(), 1u);
    EXPECT_EQ(ts.stats().forced_drops, 0);
    EXPECT_FALSE(gil.eval_breaker());
    const EventKind expected[] = {EventKind::take, EventKind::drop, EventKind::take,
                                  EventKind::drop, EventKind::take, EventKind::drop};
    ASSERT_EQ(ts.trace().size(), std::size(expected));
    for (std::size_t i = 0; i < std::size(expected); ++i) {
        EXPECT_EQ(ts.trace()[i].kind, expected[i]) << "event " << i;
    }
}

TEST(GilOld, TickerRestartsOnEveryTake) {
    Config config;
    config.policy = Policy::old_gil;
    config.check_interval = 5;
    Gil gil(config);
    ThreadState ts(0);
    gil.take(ts);
    for (int i = 0; i < 4; ++i) gil.tick(ts);
    gil.drop(ts);  // e.g. a blocking call: the next hold starts a full check interval
    gil.take(ts);
    for (int i = 0; i < 4; ++i) gil.tick(ts);
    EXPECT_EQ(ts.stats().acquisitions, 2);
    gil.tick(ts);
    EXPECT_EQ(ts.stats().acquisitions, 3);
    gil.drop(ts);
}

TEST(GilOld, TickScaleCountsTicksAsShareOfARealOne) {
    // Each emulated tick stands for a quarter of a real one: a release every 4 x 3 ticks.
    Config config;
    config.policy = Policy::old_gil;
    config.check_interval = 3;
    config.tick_scale = 0.25;
    Gil gil(config);
    ThreadState ts(0);
    gil.take(ts);
    for (int i = 0; i < 11; ++i) gil.tick(ts);
    EXPECT_EQ(ts.stats().acquisitions, 1);
    gil.tick(ts);
    EXPECT_EQ(ts.stats().acquisitions, 2);
    // A thread's own scale (a stand-in for code that ticks at another rate) takes over at
    // once and stays over re-takes; nullopt gives the Gil's back at the next take.
    ts.set_tick_scale(1.5);
    gil.tick(ts);
    EXPECT_EQ(ts.stats().acquisitions, 2);
    gil.tick(ts);  // 3 real ticks
    EXPECT_EQ(ts.stats().acquisitions, 3);
    for (int i = 0; i < 2; ++i) gil.tick(ts);
    EXPECT_EQ(ts.stats().acquisitions, 4);
    ts.set_tick_scale(std::nullopt);
    for (int i = 0; i < 2; ++i) gil.tick(ts);  // still 1.5 until the next take
    EXPECT_EQ(ts.stats().acquisitions, 5);
    for (int i = 0; i < 11; ++i) gil.tick(ts);
    EXPECT_EQ(ts.stats().acquisitions, 5);
    gil.tick(ts);
    EXPECT_EQ(ts.stats().acquisitions, 6);
    gil.drop(ts);
}

TEST(GilOld, TickScaleMustBePositive) {
    for (double bad : {0.0, -1.0, std::nan(""), 1e9}) {
        Config config;
        config.policy = Policy::old_gil;
        config.tick_scale = bad;
        EXPECT_THROW(Gil{config}, std::runtime_error) << bad;
        ThreadState ts(0);
        EXPECT_THROW(ts.set_tick_scale(bad), std::runtime_error) << bad;
    }
}

TEST(GilOld, LastWaitIsTheLatestTakesWait) {
    ManualClock clock;
    Config config;
    config.policy = Policy::old_gil;
    Gil gil(config, clock);
    ThreadState ts(0);
    gil.take(ts);
    EXPECT_EQ(ts.last_wait(), Clock::duration::zero());
    gil.drop(ts);
    gil.take(ts);
    EXPECT_EQ(ts.last_wait(), Clock::duration::zero());
    gil.drop(ts);
}

TEST(GilNewAndNone, TickIsANoOp) {
    for (Policy p : {Policy::new_gil, Policy::none}) {
        Config config;
        config.policy = p;
        Gil gil(config);
        ThreadState ts(0);
        gil.take(ts);
        for (int i = 0; i < 100000; ++i) gil.tick(ts);
        gil.drop(ts);
        EXPECT_LE(ts.stats().acquisitions, 1) << to_string(p);
    }
}

}  // namespace
}  // namespace gilbench::gil
