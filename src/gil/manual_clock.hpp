// A clock that moves only when a test calls advance(): makes the GIL's timed logic
// (switch interval, drop requests, wait/hold statistics) deterministic. Test use only.
//
//   ManualClock clock;
//   Gil gil(config, clock);
//   ... start a thread that blocks in gil.take() ...
//   wait until clock.waiters() == 1;   // it is now sleeping on its switch interval
//   clock.advance(config.switch_interval);   // its wait times out: it sets a drop request
#pragma once

#include <cstdint>
#include <vector>

#include "gil/clock.hpp"

namespace gilbench::gil {

class ManualClock final : public Clock {
public:
    explicit ManualClock(time_point start = time_point{} + std::chrono::hours(1));

    time_point now() const override;
    // Blocks until `cv` is notified or advance() moves the time (each advance wakes every
    // waiter once, as a spurious wake-up the caller re-checks). Never times out by itself.
    std::cv_status wait_until(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                              time_point deadline) override;
    // Counted in waiters() and waits_started() while it blocks; time does not end it.
    void wait(Semaphore& sem) override;

    // Moves the time forward and wakes every thread blocked in wait_until. The caller must
    // not hold any mutex passed to wait_until (advance locks each one to notify safely).
    void advance(duration d);

    std::size_t waiters() const;         // threads blocked in wait_until or wait right now
    std::uint64_t waits_started() const;  // wait_until and wait calls, ever

private:
    struct Waiter {
        std::condition_variable* cv;
        std::mutex* mutex;
    };
    mutable std::mutex mutex_;  // guards everything below; never held while locking a waiter's
    time_point now_;
    std::vector<Waiter> waiters_;  // one entry per blocked call; duplicates allowed
    std::size_t semaphore_waiters_ = 0;  // threads in wait(Semaphore&)
    std::uint64_t waits_started_ = 0;
};

}  // namespace gilbench::gil
