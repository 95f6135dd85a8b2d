// Internal to store/: the lock that keeps a second gilbench from writing a results file that
// one is already writing.
//
// HDF5's own file lock is not enough: HDF5_USE_FILE_LOCKING=FALSE (which many clusters export,
// and which readers of a live file use) turns it off, and two writers of one file then both
// succeed and destroy each other's metadata. So writers also take a lock of gilbench's own,
// which no HDF5 setting touches: a POSIX record lock (an open-file-description lock,
// F_OFD_SETLK) on the lock file FILE.lock beside the results file, taken before HDF5 opens the
// file and held until the file is closed. Readers never look at it.
//
// Why fcntl on a separate file: fcntl record locks are the ones network file systems carry
// between nodes (NFS through its lock manager, Lustre when mounted with -o flock), while flock()
// is node-local on some of them; and a separate file survives --overwrite deleting and
// re-creating the results file, and does not mix with HDF5's own flock() on FILE. The lock file
// holds the holder's pid, host and start time, so a refused writer can name it; the holder
// removes it when done (a killed holder leaves it behind, harmless: the lock died with it).
#pragma once

#include <string>

namespace gilbench::store::detail {

// "FILE.lock" for the results file FILE.
std::string lock_path_for(const std::string& results_path);
// "pid 123 on host n1 since 2026-12-07T17:00:00Z": this process, as the lock file and a run's
// `writer` attribute name it.
std::string writer_identity();

class writer_lock {
public:
    writer_lock() = default;
    // Takes the lock of results file `results_path`, or throws std::runtime_error naming the
    // other writer (pid, host, since when) and the fix. Where the file system has no record
    // locks at all, returns an unlocked object whose warning() says so.
    static writer_lock acquire(const std::string& results_path);

    writer_lock(writer_lock&& other) noexcept;
    writer_lock& operator=(writer_lock&& other) noexcept;
    writer_lock(const writer_lock&) = delete;
    writer_lock& operator=(const writer_lock&) = delete;
    ~writer_lock();  // removes the lock file, then releases the lock; never throws

    bool held() const noexcept { return fd_ >= 0 && locked_; }
    // Says in the lock file that the holder is closing the run (its status is written): a
    // --resume that meets the lock waits a few seconds for it to go instead of refusing.
    void mark_finishing() noexcept;
    // Non-empty when the lock could not be taken because the file system has no locks.
    const std::string& warning() const noexcept { return warning_; }

private:
    void release() noexcept;
    int fd_ = -1;
    bool locked_ = false;
    std::string path_;     // the lock file
    std::string warning_;
};

}  // namespace gilbench::store::detail
