#include "runner/interrupt.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <mutex>
#include <thread>

namespace gilbench::runner {
namespace {

// Signal handlers reach only globals; these are the only ones, and only this file sees them.
std::atomic<bool> requested{false};
std::atomic<int> last_signal{0};
int pipe_fds[2] = {-1, -1};
std::mutex actions_mutex;
std::function<void(int)> abandon_action;
std::function<void(int)> note_action;
bool is_rank0 = false;
std::atomic<int> abandon_signal{0};   // set by the watcher: abandon the run (rank 0)
std::atomic<bool> abandon_taken{false};  // the thread that runs the action set it first

// Runs the abandon action once in the process (the main thread's abandon_point or the
// watcher's takeover), then exits. The loser of the race waits for the winner's exit.
[[noreturn]] void abandon_now(int sig) {
    if (abandon_taken.exchange(true)) {
        for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
    }
    std::function<void(int)> action;
    {
        std::lock_guard lock(actions_mutex);
        action = abandon_action;
    }
    try {
        if (action) action(sig);
    } catch (...) {
        // exiting is all that is left to do
    }
    ::_exit(128 + sig);
}

extern "C" void on_signal(int sig) {
    const int saved = errno;
    last_signal.store(sig);
    requested.store(true);
    const auto byte = static_cast<unsigned char>(sig);
    // Non-blocking: a full pipe (a storm of signals) drops bytes rather than hang the handler.
    [[maybe_unused]] const ssize_t n = ::write(pipe_fds[1], &byte, 1);
    errno = saved;
}

// How long rank 0's watcher leaves the abandon to the main thread before doing it itself.
constexpr std::chrono::milliseconds takeover{500};

void watch(bool rank0, std::chrono::milliseconds grace) {
    int usr1 = 0;
    for (;;) {
        unsigned char byte = 0;
        const ssize_t n = ::read(pipe_fds[0], &byte, 1);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        const int sig = byte;
        const bool abandon = sig != SIGUSR1 || ++usr1 >= 2;
        if (!abandon) {
            std::function<void(int)> note;
            {
                std::lock_guard lock(actions_mutex);
                note = note_action;
            }
            if (rank0 && note) note(sig);
            continue;
        }
        if (rank0) {
            // The main thread closes the run at its next abandon_point (runner/interrupt.hpp).
            abandon_signal.store(sig);
            std::this_thread::sleep_for(takeover);
            abandon_now(sig);
        }
        // Rank 0 marks the file and exits, and the launcher then ends every rank; leaving
        // first could get rank 0 killed before it has written anything.
        std::this_thread::sleep_for(grace);
        ::_exit(128 + sig);
    }
}

}  // namespace

void install_stop_signals(bool rank0, std::chrono::milliseconds grace) {
    is_rank0 = rank0;
    // A write to a pipe nobody reads any more must fail (EPIPE), not kill the process: rank 0's
    // stderr is a pipe to mpirun, which may exit before rank 0 has marked the run (timeout -s
    // TERM mpirun ...: mpirun forwards the SIGTERM and leaves). Dying on the next progress line
    // would leave the run "running"; the console output ignores the error instead.
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    sigaction(SIGPIPE, &ignore, nullptr);
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return;  // without the pipe, flags still work
    ::fcntl(pipe_fds[1], F_SETFL, ::fcntl(pipe_fds[1], F_GETFL) | O_NONBLOCK);
    std::thread(watch, rank0, grace).detach();
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    for (int sig : {SIGTERM, SIGINT, SIGUSR1}) sigaction(sig, &sa, nullptr);
}

const std::atomic<bool>& stop_requested() { return requested; }
int stop_signal() { return last_signal.load(); }

void on_abandon(std::function<void(int)> action) {
    std::lock_guard lock(actions_mutex);
    abandon_action = std::move(action);
}

void on_stop_note(std::function<void(int)> note) {
    std::lock_guard lock(actions_mutex);
    note_action = std::move(note);
}

void abandon_point() {
    if (const int sig = abandon_signal.load(); sig != 0 && is_rank0) abandon_now(sig);
}

}  // namespace gilbench::runner
