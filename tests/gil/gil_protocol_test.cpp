// The new and old GIL protocols step by step, driven by a manual clock: when a drop request
// is made, who gets the GIL after a forced drop, and what the statistics add up to. Threads
// block for real; the test thread moves the time and waits (bounded) for them to react.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "gil/gil.hpp"
#include "gil/manual_clock.hpp"
#include "test_support.hpp"

namespace gilbench::gil {
namespace {

using namespace std::chrono_literals;
using test::eventually;

constexpr auto interval = 5ms;

Config new_gil_config() {
    Config config;
    config.policy = Policy::new_gil;
    config.switch_interval = interval;
    return config;
}

// Advances the clock and waits until `sleepers` threads have reacted and gone back to sleep
// on it (each blocked wait_until returns once per advance and, while the GIL stays locked,
// blocks again), so the test can then inspect the state they left.
void advance_and_settle(ManualClock& clock, std::chrono::nanoseconds d, std::size_t sleepers) {
    const auto before = clock.waits_started();
    clock.advance(d);
    ASSERT_TRUE(eventually([&] {
        return clock.waits_started() >= before + sleepers && clock.waiters() == sleepers;
    }));
}

TEST(GilNewProtocol, DropRequestOnlyAfterAFullIntervalThenRequesterGetsTheGil) {
    ManualClock clock;
    Gil gil(new_gil_config(), clock);
    ThreadState holder(0, true), waiter(1, true);
    std::atomic<int> sequence{0};
    int waiter_took_at = -1;

    gil.take(holder);
    std::thread waiter_thread([&] {
        gil.take(waiter);
        waiter_took_at = sequence++;
        gil.drop(waiter);
    });
    ASSERT_TRUE(eventually([&] { return clock.waiters() == 1; }));

    advance_and_settle(clock, interval - 1ns, 1);
    EXPECT_FALSE(gil.eval_breaker()) << "asked for a drop before a full interval";
    advance_and_settle(clock, 1ns, 1);
    EXPECT_TRUE(gil.eval_breaker()) << "no drop request after a full interval";

    // The holder reaches a check point: forced drop, and with forced switching it cannot
    // re-take the GIL until the requester has had it.
    gil.handle_eval_breaker(holder);
    const int holder_retook_at = sequence++;
    EXPECT_FALSE(gil.eval_breaker());
    gil.drop(holder);
    waiter_thread.join();

    EXPECT_LT(waiter_took_at, holder_retook_at);
    EXPECT_EQ(gil.switch_number(), 3u);  // holder -> waiter -> holder
    EXPECT_EQ(holder.stats().forced_drops, 1);
    EXPECT_EQ(holder.stats().acquisitions, 2);
    EXPECT_EQ(waiter.stats().drop_requests, 1);
    EXPECT_EQ(waiter.stats().acquisitions, 1);
    // Exact, since only the test moves the time: the holder held for one interval, the
    // waiter waited that interval, and nothing else took any time.
    EXPECT_DOUBLE_EQ(holder.stats().hold_s, 0.005);
    EXPECT_DOUBLE_EQ(holder.stats().wait_s, 0.0);
    EXPECT_DOUBLE_EQ(waiter.stats().wait_s, 0.005);
    EXPECT_DOUBLE_EQ(waiter.stats().hold_s, 0.0);
    ASSERT_FALSE(waiter.trace().empty());
    EXPECT_EQ(waiter.trace().front().kind, EventKind::request);
    EXPECT_DOUBLE_EQ(waiter.trace().front().t_s, 0.005);
    test::expect_exclusive({&holder, &waiter});
}

TEST(GilNewProtocol, HandOffDuringTheWaitMeansNoRequest) {
    ManualClock clock;
    Gil gil(new_gil_config(), clock);
    ThreadState main_ts(0), b(1), c(2);
    std::atomic<int> holders{0};
    std::atomic<bool> release{false};
    auto waiter_body = [&](ThreadState& ts) {
        gil.take(ts);
        ++holders;
        EXPECT_TRUE(eventually([&] { return release.load(); }));
        gil.drop(ts);
    };

    gil.take(main_ts);
    std::thread tb(waiter_body, std::ref(b));
    std::thread tc(waiter_body, std::ref(c));
    ASSERT_TRUE(eventually([&] { return clock.waiters() == 2; }));
    advance_and_settle(clock, interval / 2, 2);

    gil.drop(main_ts);  // voluntary, half-way through their interval: one of them takes it
    ASSERT_TRUE(eventually([&] { return holders == 1 && clock.waiters() == 1; }));

    // The other one's interval ends now, but a hand-off happened while it slept: it must
    // start a new full interval instead of asking.
    advance_and_settle(clock, interval / 2, 1);
    EXPECT_FALSE(gil.eval_breaker()) << "asked for a drop although the GIL changed hands";
    advance_and_settle(clock, interval, 1);
    EXPECT_TRUE(gil.eval_breaker()) << "no drop request after a full interval without switch";

    release = true;
    tb.join();
    tc.join();
    EXPECT_EQ(b.stats().drop_requests + c.stats().drop_requests, 1);
    EXPECT_EQ(b.stats().acquisitions + c.stats().acquisitions, 2);
    EXPECT_EQ(gil.switch_number(), 3u);
    EXPECT_FALSE(gil.eval_breaker());
}

TEST(GilNewProtocol, VoluntaryDropWithPendingRequestWaitsForTheSwitch) {
    ManualClock clock;
    Gil gil(new_gil_config(), clock);
    ThreadState holder(0), waiter(1);
    gil.take(holder);
    std::thread waiter_thread([&] {
        gil.take(waiter);
        gil.drop(waiter);
    });
    ASSERT_TRUE(eventually([&] { return clock.waiters() == 1; }));
    advance_and_settle(clock, interval, 1);
    ASSERT_TRUE(gil.eval_breaker());
    // As CPython's drop_gil: a drop with a request pending returns only once the requester
    // has taken the GIL.
    gil.drop(holder);
    EXPECT_GE(gil.switch_number(), 2u);
    waiter_thread.join();
    EXPECT_EQ(holder.stats().forced_drops, 0);  // it was a voluntary drop
    EXPECT_EQ(waiter.stats().acquisitions, 1);
}

TEST(GilNewProtocol, WithoutForcedSwitchingTheDropperDoesNotWait) {
    ManualClock clock;
    Config config = new_gil_config();
    config.force_switching = false;
    Gil gil(config, clock);
    ThreadState holder(0), waiter(1);
    gil.take(holder);
    std::thread waiter_thread([&] {
        gil.take(waiter);
        gil.drop(waiter);
    });
    ASSERT_TRUE(eventually([&] { return clock.waiters() == 1; }));
    advance_and_settle(clock, interval, 1);
    ASSERT_TRUE(gil.eval_breaker());
    // Drop and take again at once; whoever wins, both finish and the counts add up.
    gil.handle_eval_breaker(holder);
    gil.drop(holder);
    waiter_thread.join();
    EXPECT_EQ(holder.stats().forced_drops, 1);
    EXPECT_EQ(holder.stats().acquisitions, 2);
    EXPECT_EQ(waiter.stats().acquisitions, 1);
    EXPECT_FALSE(gil.eval_breaker());
}

TEST(ManualClockSemaphore, ABlockedThreadIsCountedUntilPosted) {
    ManualClock clock;
    Semaphore sem(0);
    std::atomic<bool> done{false};
    std::thread sleeper([&] {
        clock.wait(sem);
        done = true;
    });
    ASSERT_TRUE(eventually([&] { return clock.waiters() == 1; }));
    clock.advance(1h);  // time does not end a semaphore wait
    EXPECT_FALSE(done);
    EXPECT_EQ(clock.waiters(), 1u);
    sem.post();
    sleeper.join();
    EXPECT_EQ(clock.waiters(), 0u);
    EXPECT_EQ(clock.waits_started(), 1u);
}

TEST(GilOldProtocol, WaiterNeverAsksAndWaitsUntilReleased) {
    ManualClock clock;
    Config config;
    config.policy = Policy::old_gil;
    config.switch_interval = interval;  // ignored by the old GIL
    Gil gil(config, clock);
    ThreadState holder(0), waiter(1);
    gil.take(holder);
    std::thread waiter_thread([&] {
        gil.take(waiter);
        gil.drop(waiter);
    });
    ASSERT_TRUE(eventually([&] { return clock.waiters() == 1; }));
    const auto waits_before = clock.waits_started();
    for (int i = 0; i < 10; ++i) {
        // The old GIL's wait is untimed: time passing neither wakes the waiter nor makes it ask.
        clock.advance(10 * interval);
        EXPECT_FALSE(gil.eval_breaker());
        EXPECT_EQ(clock.waiters(), 1u);
    }
    EXPECT_EQ(clock.waits_started(), waits_before);
    gil.drop(holder);
    waiter_thread.join();
    EXPECT_EQ(waiter.stats().drop_requests, 0);
    EXPECT_EQ(holder.stats().forced_drops, 0);
    EXPECT_DOUBLE_EQ(waiter.stats().wait_s, 0.5);
    EXPECT_DOUBLE_EQ(holder.stats().hold_s, 0.5);
    EXPECT_EQ(gil.switch_number(), 2u);
}

TEST(GilOldProtocol, PeriodicReleaseFreesTheLockWithoutHandingOff) {
    ManualClock clock;
    Config config;
    config.policy = Policy::old_gil;
    config.check_interval = 10;
    Gil gil(config, clock);
    ThreadState holder(0, true), waiter(1, true);
    std::atomic<bool> waiter_done{false};
    gil.take(holder);
    std::thread waiter_thread([&] {
        gil.take(waiter);
        gil.drop(waiter);
        waiter_done = true;
    });
    ASSERT_TRUE(eventually([&] { return clock.waiters() == 1; }));
    // The last tick releases and re-takes, waiting if the waiter won the freed semaphore.
    for (int i = 0; i < config.check_interval; ++i) gil.tick(holder);
    EXPECT_EQ(holder.stats().acquisitions, 2);
    // The release freed the lock (the trace has its drop and re-take), and the waiter either
    // won it and finished or lost and still waits: never both, never a hand-off asked for.
    EXPECT_TRUE(eventually([&] { return waiter_done || clock.waiters() == 1; }));
    gil.drop(holder);
    waiter_thread.join();
    EXPECT_EQ(waiter.stats().acquisitions, 1);
    EXPECT_EQ(waiter.stats().drop_requests, 0);
    EXPECT_FALSE(gil.eval_breaker());
    test::expect_exclusive({&holder, &waiter});
}

}  // namespace
}  // namespace gilbench::gil
