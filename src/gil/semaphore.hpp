// CPython 2's GIL on Linux: a POSIX semaphore (Python/thread_pthread.h, USE_SEMAPHORES), which
// the old policy uses as its lock. Not std::binary_semaphore: libstdc++'s spins before it
// sleeps, and glibc's sem_wait does not, and the old GIL's "battle" on multicore (how often a
// woken waiter finds the lock free, what each release costs the holder) depends on exactly that.
#pragma once

#include <semaphore.h>

namespace gilbench::gil {

class Semaphore {
public:
    explicit Semaphore(unsigned value);
    ~Semaphore();
    Semaphore(const Semaphore&) = delete;
    Semaphore& operator=(const Semaphore&) = delete;

    // sem_post: frees one unit at once, then wakes one sleeper with a system call if any
    // sleeps; meanwhile a thread already awake can take the unit.
    void post();
    // sem_wait, retried after a signal interrupts it, as PyThread_acquire_lock does.
    void wait();

private:
    sem_t sem_;
};

}  // namespace gilbench::gil
