// Signals that end a run early, and what each does (docs/job-file.md, "Stopping a run"):
//
//   SIGUSR1 (Slurm's warning before the time limit; mpirun forwards it to every rank):
//       finish the current trial, flush, then stop with status "interrupted".
//   SIGTERM, SIGINT, or a second SIGUSR1: abandon the current trial now. Rank 0 runs the
//       abandon action (mark the run interrupted, flush) and exits with 128 + the signal;
//       the other ranks give rank 0 a grace period to do that and end the job, then exit too.
//
// Abandoning is what makes SIGTERM useful: mpirun answers its own SIGTERM by sending SIGTERM
// to every rank and SIGKILL about two seconds later, and Slurm sends SIGKILL KillWait
// (default 30 s) after SIGTERM, both often before a trial could finish.
//
// The handlers only set flags and write the signal number into a pipe (both async-signal-
// safe); a watcher thread reads the pipe and does the rest.
//
// Why the watcher, not the main thread, closes the run on an abandon: when the signal comes,
// rank 0's main thread is inside run_cells, joining worker threads that run a trial to its
// end (the interpreter and the GIL have no cancellation point) or inside a collective waiting
// for other ranks, which themselves only wait `grace` before exiting, after which the launcher
// kills rank 0 too. A main thread that had to notice a flag would first have to leave those
// waits, which needs an interruptible join in the runner and every engine; until then the
// watcher runs rank 0's abandon action itself. The action and the main thread share the
// results file through the store's Recorder, whose every access holds one mutex and which
// closes the run once only (Recorder::finish): the watcher never writes in the middle of a
// trial, and whichever thread closes the run first is the only one that writes the status.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>

namespace gilbench::runner {

// Installs the handlers and starts the watcher thread, and ignores SIGPIPE (console output
// to a closed pipe then fails with EPIPE instead of killing the process); call once, after
// MPI_Init.
void install_stop_signals(bool rank0, std::chrono::milliseconds grace = std::chrono::seconds(5));

// True once any stop signal arrived: stop after the current trial.
const std::atomic<bool>& stop_requested();
int stop_signal();  // the last signal this process received; 0 if none (another rank's: RunEnd)

// Rank 0: what abandoning the run does before the process exits (on the watcher thread;
// guard shared state with a mutex). `note`: called on a first SIGUSR1.
void on_abandon(std::function<void(int signal)> action);
void on_stop_note(std::function<void(int signal)> note);

}  // namespace gilbench::runner
