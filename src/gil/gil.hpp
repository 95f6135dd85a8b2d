// The emulated Global Interpreter Lock. See gil.cpp for the protocol (modelled on
// CPython's Python/ceval_gil.c). Threads that share one Gil are the threads of one
// emulated interpreter; each has its own ThreadState.
//
//   Gil gil(config);
//   ThreadState ts(/*id=*/0, /*tracing=*/false);
//   gil.take(ts);                 // as PyEval_RestoreThread
//   ... interpreter runs, checking gil.eval_breaker() at its check points ...
//   gil.drop(ts);                 // as PyEval_SaveThread (voluntary: no hand-off)
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

#include "gil/clock.hpp"
#include "gil/free_threading.hpp"
#include "gil/semaphore.hpp"
#include "model/cell.hpp"

namespace gilbench::gil {

// The cell's GIL policy, one enum end to end (model/cell.hpp):
//   new_gil  CPython >= 3.2: switch interval, drop requests, forced switching
//   old_gil  CPython 2: release + re-acquire every check_interval ticks, no hand-off
//   none     free-threaded CPython as an ideal: no lock at all, no cost
//   free_threaded_3_13, free_threaded_3_14: no lock, and the interpreter pays the profile's
//            cost (free_threading.hpp)
using Policy = model::GilPolicy;
// Policies without a lock: take and drop return at once. One compare, as `none` alone was.
static_assert(Policy::none < Policy::free_threaded_3_13 && Policy::none < Policy::free_threaded_3_14);
using model::lock_free;
using model::to_string;  // "new" | "old" | "none"
// nullopt for any other name: there is no fallback policy.
inline std::optional<Policy> parse_policy(std::string_view name) { return model::parse_gil_policy(name); }

struct Config {
    Policy policy = Policy::new_gil;
    std::chrono::nanoseconds switch_interval = std::chrono::milliseconds(5);  // new GIL
    int check_interval = 100;     // old GIL: ticks between release/re-acquire
    // Old GIL: the real interpreter's ticks one emulated tick stands for, so that a release
    // comes after as much *time* as check_interval real ticks take (the emulated interpreter
    // runs the countdown several times faster than CPython: docs/gil-fidelity.md). 1: count
    // the emulated ticks as they are. A thread may set its own (ThreadState::set_tick_scale).
    double tick_scale = 1.0;
    bool force_switching = true;  // new GIL: the dropper waits until another thread took it
    // Free-threaded profiles only: nullopt = the profile's published_cost; set = another
    // (tests, what-ifs). The Gil fills it in, so config().free_threaded is set for a profile.
    std::optional<FreeThreadedCost> free_threaded = std::nullopt;
};

// Free-threaded profiles: the interpreter's bookkeeping for one thread (interp.cpp).
struct FreeThreadedState {
    std::int64_t padding_debt = 0;        // padding owed, in hundredths of an iteration
    std::int64_t since_shared_ref = 0;    // loop iterations since the last shared reference
    std::int64_t padding_iterations = 0;  // padding iterations run
    std::int64_t shared_refs = 0;         // shared Py_INCREF + Py_DECREF pairs done
};

struct ThreadStats {
    std::int64_t acquisitions = 0;   // successful takes
    std::int64_t forced_drops = 0;   // drops because another thread asked (eval breaker)
    std::int64_t drop_requests = 0;  // drop requests this thread set while waiting
    double wait_s = 0.0;             // time spent in take() before holding
    double hold_s = 0.0;             // time between take and drop
};

enum class EventKind : std::uint8_t { request, take, drop, io_start, io_end };
std::string_view to_string(EventKind k);

struct TraceEvent {
    double t_s;       // seconds since the Gil's epoch
    EventKind kind;
};

// Per-thread state. Owned and touched only by its thread (and by the Gil on that
// thread's behalf), so it needs no locking; read it after the thread has finished.
// Old GIL ticks in fixed point: one real tick is tick_unit.
inline constexpr std::int64_t tick_unit = 1 << 16;
std::int64_t tick_weight(double scale);  // scale real ticks per emulated tick, in 1/tick_unit (>= 1)

class ThreadState {
public:
    explicit ThreadState(int id, bool tracing = false, std::size_t trace_capacity = 1 << 20);
    int id() const { return id_; }
    const ThreadStats& stats() const { return stats_; }
    const std::vector<TraceEvent>& trace() const { return trace_; }
    std::int64_t trace_dropped() const { return trace_dropped_; }  // events past capacity
    // Whether this thread's latest take followed another thread's hold (a switch, as CPython's
    // switch_number counts them), not its own: what it runs next runs "cold" (workloads/).
    bool took_over() const { return took_over_; }
    // How long this thread's latest take waited for the GIL.
    Clock::duration last_wait() const { return last_wait_; }
    // Old GIL: what one tick of the code this thread runs next stands for, in real ticks, in
    // place of the Gil's Config::tick_scale (a workload's stand-in for code that ticks at
    // another rate: workloads/); nullopt: the Gil's again. Takes effect at once.
    void set_tick_scale(std::optional<double> scale);
    // Free-threaded profiles: written by the interpreter on this thread, read after it ran.
    FreeThreadedState& free_threaded() { return free_threaded_; }
    const FreeThreadedState& free_threaded() const { return free_threaded_; }

private:
    friend class Gil;
    int id_;
    bool tracing_;
    std::size_t trace_capacity_;
    ThreadStats stats_;
    std::vector<TraceEvent> trace_;
    std::int64_t trace_dropped_ = 0;
    Clock::time_point taken_at_{};
    Clock::duration last_wait_{};
    // Old GIL: real ticks left before the next release, and what one emulated tick takes off,
    // both in 1/tick_unit ticks (fixed point: a tick may stand for a fraction of a real one).
    std::int64_t ticker_ = 0;
    std::int64_t tick_weight_ = 0;          // 0 until the first take: the Gil's default then
    std::int64_t own_tick_weight_ = 0;      // set_tick_scale's, 0 when none
    bool took_over_ = false;
    FreeThreadedState free_threaded_;
};

class Gil {
public:
    explicit Gil(Config config, Clock& clock = steady_clock());
    Gil(const Gil&) = delete;
    Gil& operator=(const Gil&) = delete;

    const Config& config() const { return config_; }

    // Block until `ts` holds the GIL (lock-free policies: returns at once, counting nothing).
    void take(ThreadState& ts);
    // Release the GIL voluntarily (blocking call). Sets no drop request. As CPython's
    // drop_gil, if another thread has already asked for a drop (and forced switching is on),
    // waits until some other thread has taken the GIL; otherwise returns at once.
    void drop(ThreadState& ts);

    // The eval breaker: the interpreter tests this at its check points (backward jumps).
    // A relaxed load, as CPython's _Py_atomic_load_relaxed(&eval_breaker).
    bool eval_breaker() const noexcept { return eval_breaker_.load(std::memory_order_relaxed); }
    // Called by the interpreter when eval_breaker() was true: forced drop, then take.
    void handle_eval_breaker(ThreadState& ts);

    // Old GIL: the interpreter calls this on every tick-costing instruction. Every
    // check_interval ticks the holder releases and immediately re-acquires (no hand-off).
    // Other policies: a no-op. Inline so the new/none hot path is a single compare.
    void tick(ThreadState& ts) {
        if (config_.policy == Policy::old_gil && (ts.ticker_ -= ts.tick_weight_) < 0) periodic_release(ts);
    }

    // Free-threaded profiles: one Py_INCREF + Py_DECREF of an object another thread owns, as
    // biased reference counting does it (atomic add on the shared count, then atomic
    // subtract), on the cache line all threads of this Gil share.
    void shared_ref(ThreadState& ts) {
        shared_refcount_.fetch_add(1, std::memory_order_relaxed);
        shared_refcount_.fetch_sub(1, std::memory_order_release);
        ++ts.free_threaded_.shared_refs;
    }
    // The shared object's count: 1 (its owner's reference) whenever no shared_ref is under way.
    std::int64_t shared_refcount() const { return shared_refcount_.load(std::memory_order_acquire); }

    // Trace timestamps are seconds since the epoch (default: construction time).
    void set_epoch(Clock::time_point epoch) { epoch_ = epoch; }
    // Record an event on ts's trace (used by workloads for io_start / io_end).
    void record(ThreadState& ts, EventKind kind);

    // Real hand-offs so far (CPython's switch_number).
    std::uint64_t switch_number() const;

private:
    void periodic_release(ThreadState& ts);
    void drop_and_retake(ThreadState& ts, std::unique_lock<std::mutex>& lock);
    void wait_while_locked(ThreadState& ts, std::unique_lock<std::mutex>& lock);
    void acquire_locked(ThreadState& ts, Clock::time_point wait_start);
    // Returns the time of the drop, where the next wait's accounting may start.
    Clock::time_point release_locked(ThreadState& ts, std::unique_lock<std::mutex>& lock);
    void record_at(ThreadState& ts, EventKind kind, Clock::time_point t);

    // The members mirror CPython's struct _gil_runtime_state (Include/internal/pycore_gil.h).
    Config config_;
    std::int64_t tick_weight_;  // config_.tick_scale in 1/tick_unit
    Clock& clock_;
    Clock::time_point epoch_;
    // Set together with drop_request_; read without the mutex at every check point, so atomic.
    std::atomic<bool> eval_breaker_{false};
    mutable std::mutex mutex_;     // guards everything below except the switch pair's wait
    std::condition_variable cond_;  // new GIL: signalled (one waiter) on every release
    // Old GIL: the lock itself, as CPython 2's (one unit: free); locked_ and the rest are bookkeeping.
    Semaphore old_lock_{1};
    // Forced switching: a forced-out holder waits on switch_cond_ until last_holder_ changes.
    // last_holder_ and switch_number_ are written holding both mutexes, read holding either.
    std::mutex switch_mutex_;
    std::condition_variable switch_cond_;
    bool locked_ = false;
    const ThreadState* last_holder_ = nullptr;
    std::uint64_t switch_number_ = 0;  // +1 when the taker differs from the last holder
    std::uint64_t releases_ = 0;  // every release; tells a waiter's real wake-up from a spurious one
    bool drop_request_ = false;   // a waiter asked the holder to drop (CPython's gil_drop_request)
    // Free-threaded profiles: the shared object's reference count, alone on its cache line
    // (the padding keeps the next member off it), so threads contend only where CPython's do.
    alignas(64) std::atomic<std::int64_t> shared_refcount_{1};
    char shared_line_rest_[64 - sizeof(std::atomic<std::int64_t>)] = {};
};

}  // namespace gilbench::gil
