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
// safe); a watcher thread reads the pipe, turns an abandon into a request, and on ranks other
// than 0 exits after the grace period.
//
// Rank 0's main thread closes the run (abandon_point): every wait it makes while a trial runs
// or while it waits for other ranks is a short nap that looks at the request (the runner's
// waits for collectives and messages, and for the trial's worker threads, which cannot be
// cancelled: the interpreter and the GIL have no cancellation point, so they are left running
// and the process exits under them). It never looks in the middle of a write, so the file is
// never closed half-way through a trial's rows. Should the main thread be stuck somewhere
// else (a blocking call outside the runner's waits), the watcher closes the run itself after
// `takeover` (0.5 s): the store's Recorder holds one mutex for every access and closes a run
// once only, and exactly one of the two threads runs the action.
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

// Rank 0: what abandoning the run does before the process exits (normally on the main thread
// at an abandon_point, else on the watcher; guard shared state with a mutex). `note`: called
// on a first SIGUSR1 (on the watcher thread).
void on_abandon(std::function<void(int signal)> action);
void on_stop_note(std::function<void(int signal)> note);

// Rank 0's main thread, wherever it waits: if the run is to be abandoned, runs the abandon
// action here and exits the process with 128 + the signal (it does not return then). Returns
// at once otherwise, and always on other ranks and other threads' behalf.
void abandon_point();

}  // namespace gilbench::runner
