// The emulated GIL.
//
// Policy `new` follows CPython >= 3.2 (Python/ceval_gil.c, take_gil/drop_gil):
//
// * The lock is a `locked` flag guarded by a mutex and a condition variable, not a plain
//   mutex, so that a waiter can sleep with a timeout and then act.
// * take: while the GIL is locked, a waiter sleeps on `cond_` for one switch interval. If the
//   sleep timed out, the GIL is still locked and no hand-off (switch_number) happened while it
//   slept, it sets the drop request and the eval breaker, then sleeps again. A waiter that saw
//   a hand-off starts a fresh interval without asking. So the interval is the time a thread
//   waits before *asking*, not a time slice.
// * On acquiring: locked = true; if the taker is not the last holder, switch_number++ and
//   switch_cond_ is signalled (under switch_mutex_); a pending drop request is cleared, since
//   whoever asked for it has either got the GIL now or must ask again.
// * drop: locked = false and one waiter is signalled. With forced switching, if a drop request
//   is pending, the dropper then sleeps on switch_cond_ until last_holder_ is someone else.
//   Without that, the dropping thread (already running on a core) nearly always re-takes the
//   GIL before the woken waiter is scheduled, and the request achieves nothing.
// * The holder notices a request only at the interpreter's check points (eval_breaker(), a
//   relaxed atomic load on backward jumps), then calls handle_eval_breaker: drop, then take.
//
// Copied from CPython: the state (locked, last holder, switch number, drop request, the two
// mutex/cond pairs), the order of steps in take and drop, when a request may be set, the
// waiter sleeping a *full* interval again after any real wake-up, and the forced-switch wait
// in every drop (voluntary ones too) when a request is pending. Our own: statistics, the
// trace, the injected clock, and a spurious wake-up keeping its deadline (CPython restarts
// the interval on one; keeping it makes manual-clock tests deterministic and is closer to
// what the interval means). `releases_` tells a real wake-up (some thread dropped) apart.
//
// Policy `old` follows CPython 2 (Python/ceval.c, _Py_Ticker): every check_interval ticks the
// holder releases the lock and immediately re-acquires it. The lock is a POSIX semaphore, as
// CPython 2's on Linux (semaphore.hpp): sem_post frees it and then wakes a sleeping waiter with
// a system call, and sem_wait takes it without any mutex, so a waiter that is awake can win it
// while the holder is still in that call. A tick is real time: Config::tick_scale. Nothing is
// handed off and nobody asks: the woken waiter usually finds the lock re-taken (the "GIL
// battle" on multicore), and every release with a waiter costs the holder a wake-up. Waits are
// untimed; mutex_ guards only the bookkeeping (locked_, last holder, statistics, trace). One difference: CPython 2's ticker was one global
// counter; ours is per thread and restarts at every take, so each hold runs a full
// check_interval (only the holder ticks, so this only matters right after a hand-off).
//
// Policy `none` (free-threaded) does nothing at all, so it costs nothing in the hot path. The
// free-threaded profiles take no lock either; their cost is paid by the interpreter
// (free_threading.hpp), which only needs shared_ref() from here.
//
// Trace invariant: `take` is recorded after locked_ is set and `drop` before it is cleared,
// both under mutex_, so the take..drop intervals of different threads never overlap.
#include "gil/gil.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace gilbench::gil {
namespace {

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

std::string_view to_string(EventKind k) {
    switch (k) {
    case EventKind::request: return "request";
    case EventKind::take: return "take";
    case EventKind::drop: return "drop";
    case EventKind::io_start: return "io_start";
    case EventKind::io_end: return "io_end";
    }
    return "?";
}

std::int64_t tick_weight(double scale) {
    if (!(scale > 0) || !std::isfinite(scale) || scale > 1e6) {
        throw std::runtime_error("GIL tick scale " + std::to_string(scale) +
                                 " is not a positive number up to 1e6: an emulated tick stands for a positive "
                                 "share of a real one");
    }
    return std::max<std::int64_t>(1, std::llround(scale * static_cast<double>(tick_unit)));
}

ThreadState::ThreadState(int id, bool tracing, std::size_t trace_capacity)
    : id_(id), tracing_(tracing), trace_capacity_(trace_capacity) {}

void ThreadState::set_tick_scale(std::optional<double> scale) {
    own_tick_weight_ = scale ? tick_weight(*scale) : 0;
    if (own_tick_weight_ != 0) tick_weight_ = own_tick_weight_;
}

Gil::Gil(Config config, Clock& clock)
    : config_(config), tick_weight_(tick_weight(config.tick_scale)), clock_(clock), epoch_(clock.now()) {
    if (config_.policy == Policy::new_gil && config_.switch_interval.count() <= 0) {
        throw std::runtime_error("GIL switch interval " +
                                 std::to_string(config_.switch_interval.count()) +
                                 " ns is not positive: use a switch interval > 0 (CPython's "
                                 "default is 5 ms)");
    }
    if (config_.policy == Policy::old_gil && config_.check_interval < 1) {
        throw std::runtime_error("GIL check interval " + std::to_string(config_.check_interval) +
                                 " ticks is below 1: use a check interval >= 1 (CPython 2's "
                                 "default is 100)");
    }
    const auto published = published_cost(config_.policy);
    if (!published && config_.free_threaded) {
        throw std::logic_error(std::string("GIL policy ") + to_string(config_.policy) +
                               " has no free-threaded cost: only the free-threaded profiles take one");
    }
    if (published && !config_.free_threaded) config_.free_threaded = published;
    if (config_.free_threaded) {
        const FreeThreadedCost& c = *config_.free_threaded;
        if (c.overhead_percent < 0 || c.overhead_percent > 10'000 || c.shared_ref_period < 0) {
            throw std::runtime_error("free-threaded cost: overhead " + std::to_string(c.overhead_percent) +
                                     " % or shared reference period " + std::to_string(c.shared_ref_period) +
                                     " is out of range: use 0..10000 % and a period >= 0 (0: none)");
        }
    }
}

void Gil::take(ThreadState& ts) {
    if (lock_free(config_.policy)) return;
    const auto start = clock_.now();
    std::unique_lock lock(mutex_);
    if (locked_ && last_holder_ == &ts) {
        throw std::runtime_error("GIL take: thread " + std::to_string(ts.id_) +
                                 " already holds the GIL: drop() it before taking it again");
    }
    wait_while_locked(ts, lock);
    acquire_locked(ts, start);
}

void Gil::drop(ThreadState& ts) {
    if (lock_free(config_.policy)) return;
    std::unique_lock lock(mutex_);
    release_locked(ts, lock);
}

void Gil::handle_eval_breaker(ThreadState& ts) {
    if (config_.policy != Policy::new_gil) return;
    std::unique_lock lock(mutex_);
    // The breaker is read without the mutex; only act on a request that is really there.
    if (!drop_request_) return;
    ++ts.stats_.forced_drops;
    drop_and_retake(ts, lock);
}

void Gil::periodic_release(ThreadState& ts) {
    std::unique_lock lock(mutex_);
    drop_and_retake(ts, lock);
}

void Gil::drop_and_retake(ThreadState& ts, std::unique_lock<std::mutex>& lock) {
    // The wait is counted from the drop, so a forced-out thread's wait for the switch counts
    // as waiting for the GIL: it is time the thread wanted to run and could not.
    const auto dropped_at = release_locked(ts, lock);
    if (config_.policy == Policy::old_gil) {
        // Straight from sem_post to sem_wait, as CPython 2's release + acquire: on a multicore
        // machine the releaser usually takes the lock back before the woken waiter runs.
        clock_.wait(old_lock_);
        lock.lock();
    } else {
        lock.lock();
        wait_while_locked(ts, lock);
    }
    acquire_locked(ts, dropped_at);
}

void Gil::wait_while_locked(ThreadState& ts, std::unique_lock<std::mutex>& lock) {
    if (config_.policy == Policy::old_gil) {
        lock.unlock();
        clock_.wait(old_lock_);
        lock.lock();
        return;
    }
    while (locked_) {
        const auto saved_switch_number = switch_number_;
        const auto saved_releases = releases_;
        const auto deadline = clock_.now() + config_.switch_interval;
        bool timed_out = false;
        // A spurious wake-up (nobody released) keeps sleeping towards the same deadline.
        while (locked_ && releases_ == saved_releases) {
            if (clock_.wait_until(cond_, lock, deadline) == std::cv_status::timeout) {
                timed_out = true;
                break;
            }
        }
        if (timed_out && locked_ && switch_number_ == saved_switch_number) {
            drop_request_ = true;
            eval_breaker_.store(true, std::memory_order_relaxed);
            ++ts.stats_.drop_requests;
            record_at(ts, EventKind::request, clock_.now());
        }
    }
}

void Gil::acquire_locked(ThreadState& ts, Clock::time_point wait_start) {
    locked_ = true;
    {
        std::lock_guard switch_guard(switch_mutex_);
        ts.took_over_ = last_holder_ != &ts;
        if (ts.took_over_) {
            last_holder_ = &ts;
            ++switch_number_;
        }
        switch_cond_.notify_all();
    }
    if (drop_request_) {
        drop_request_ = false;
        eval_breaker_.store(false, std::memory_order_relaxed);
    }
    // A take restarts the count: the release comes at the tick that completes check_interval
    // real ticks.
    if (ts.own_tick_weight_ == 0) ts.tick_weight_ = tick_weight_;
    ts.ticker_ = static_cast<std::int64_t>(config_.check_interval) * tick_unit - 1;
    const auto now = clock_.now();
    ++ts.stats_.acquisitions;
    ts.last_wait_ = now - wait_start;
    ts.stats_.wait_s += seconds(ts.last_wait_);
    ts.taken_at_ = now;
    record_at(ts, EventKind::take, now);
}

Clock::time_point Gil::release_locked(ThreadState& ts, std::unique_lock<std::mutex>& lock) {
    if (!locked_ || last_holder_ != &ts) {
        throw std::runtime_error("GIL drop: thread " + std::to_string(ts.id_) +
                                 " does not hold the GIL: call take() before drop()");
    }
    const auto now = clock_.now();
    record_at(ts, EventKind::drop, now);
    ts.stats_.hold_s += seconds(now - ts.taken_at_);
    locked_ = false;
    ++releases_;
    const bool wait_for_switch =
        config_.policy == Policy::new_gil && config_.force_switching && drop_request_;
    if (wait_for_switch) {
        // As CPython: the request is being served, so stop the breaker firing meanwhile.
        drop_request_ = false;
        eval_breaker_.store(false, std::memory_order_relaxed);
    }
    if (config_.policy == Policy::old_gil) {
        // Free the semaphore only after the bookkeeping, outside mutex_: a waiter that takes
        // it then finds the books closed.
        lock.unlock();
        old_lock_.post();
        return now;
    }
    cond_.notify_one();
    lock.unlock();
    if (!wait_for_switch) return now;
    // A request is pending, so some thread is waiting in take() and will get the GIL:
    // sleep until it has, so that we cannot win it straight back.
    std::unique_lock switch_lock(switch_mutex_);
    switch_cond_.wait(switch_lock, [&] { return last_holder_ != &ts; });
    return now;
}

void Gil::record(ThreadState& ts, EventKind kind) {
    if (ts.tracing_) record_at(ts, kind, clock_.now());
}

void Gil::record_at(ThreadState& ts, EventKind kind, Clock::time_point t) {
    if (!ts.tracing_) return;
    if (ts.trace_.size() < ts.trace_capacity_) {
        ts.trace_.push_back({seconds(t - epoch_), kind});
    } else {
        ++ts.trace_dropped_;
    }
}

std::uint64_t Gil::switch_number() const {
    std::lock_guard guard(mutex_);
    return switch_number_;
}

}  // namespace gilbench::gil
