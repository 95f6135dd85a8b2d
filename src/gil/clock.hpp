// Time source for the GIL. Both reading the time and the GIL's timed waits go through
// it, so tests can drive the policy logic with a manual clock instead of real time.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "gil/semaphore.hpp"

namespace gilbench::gil {

class Clock {
public:
    using time_point = std::chrono::steady_clock::time_point;
    using duration = std::chrono::steady_clock::duration;

    virtual ~Clock() = default;
    virtual time_point now() const = 0;

    // Wait on `cv` (with `lock` held, as std::condition_variable::wait_until) until notified
    // or until `deadline` has passed on this clock. Spurious wake-ups are allowed; callers
    // re-check their condition. Returns std::cv_status::timeout when now() >= deadline.
    virtual std::cv_status wait_until(std::condition_variable& cv,
                                      std::unique_lock<std::mutex>& lock,
                                      time_point deadline) = 0;

    // Block until `sem` has a unit and take it (the old GIL's untimed wait). A manual clock
    // counts the thread among its waiters meanwhile, so tests can see that it blocks.
    virtual void wait(Semaphore& sem) { sem.wait(); }
};

// The real clock (std::chrono::steady_clock). A process-wide immutable instance.
Clock& steady_clock();

}  // namespace gilbench::gil
