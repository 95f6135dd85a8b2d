#include "gil/clock.hpp"

namespace gilbench::gil {
namespace {

class SteadyClock final : public Clock {
public:
    time_point now() const override { return std::chrono::steady_clock::now(); }

    std::cv_status wait_until(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                              time_point deadline) override {
        // libstdc++ waits on CLOCK_MONOTONIC (pthread_cond_clockwait) for steady_clock, so
        // the kernel's timed-wait overshoot is the same one CPython's cond_timedwait suffers.
        return cv.wait_until(lock, deadline);
    }
};

}  // namespace

Clock& steady_clock() {
    // Stateless, so one shared instance is safe from every thread.
    static SteadyClock clock;
    return clock;
}

}  // namespace gilbench::gil
