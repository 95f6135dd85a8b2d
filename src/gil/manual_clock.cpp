#include "gil/manual_clock.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace gilbench::gil {

ManualClock::ManualClock(time_point start) : now_(start) {}

Clock::time_point ManualClock::now() const {
    std::lock_guard guard(mutex_);
    return now_;
}

std::cv_status ManualClock::wait_until(std::condition_variable& cv,
                                       std::unique_lock<std::mutex>& lock, time_point deadline) {
    {
        std::lock_guard guard(mutex_);
        if (now_ >= deadline) return std::cv_status::timeout;
        waiters_.push_back({&cv, lock.mutex()});
        ++waits_started_;
    }
    // We still hold `lock` here, and advance() locks that same mutex before notifying, so
    // its notification cannot slip in between our registration and the wait below.
    cv.wait(lock);
    std::lock_guard guard(mutex_);
    const auto it = std::find_if(waiters_.begin(), waiters_.end(), [&](const Waiter& w) {
        return w.cv == &cv && w.mutex == lock.mutex();
    });
    if (it != waiters_.end()) waiters_.erase(it);
    return now_ >= deadline ? std::cv_status::timeout : std::cv_status::no_timeout;
}

void ManualClock::wait(Semaphore& sem) {
    {
        std::lock_guard guard(mutex_);
        ++semaphore_waiters_;
        ++waits_started_;
    }
    sem.wait();
    std::lock_guard guard(mutex_);
    --semaphore_waiters_;
}

void ManualClock::advance(duration d) {
    if (d < duration::zero()) {
        throw std::runtime_error("ManualClock::advance(" + std::to_string(d.count()) +
                                 " ns): time cannot go backwards; pass a duration >= 0");
    }
    std::vector<Waiter> to_wake;
    {
        std::lock_guard guard(mutex_);
        now_ += d;
        to_wake = waiters_;
    }
    // Lock order is always waiter's mutex -> our mutex_ (in wait_until), so we must not hold
    // mutex_ here. Locking the waiter's mutex means the waiter is inside cv.wait (or has not
    // registered yet and will see the new time), so the notification is never lost.
    for (const Waiter& w : to_wake) {
        std::lock_guard guard(*w.mutex);
        w.cv->notify_all();
    }
}

std::size_t ManualClock::waiters() const {
    std::lock_guard guard(mutex_);
    return waiters_.size() + semaphore_waiters_;
}

std::uint64_t ManualClock::waits_started() const {
    std::lock_guard guard(mutex_);
    return waits_started_;
}

}  // namespace gilbench::gil
