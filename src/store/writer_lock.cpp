#include "store/writer_lock.hpp"

#include <chrono>
#include <mutex>
#include <string_view>
#include <thread>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <utility>

#include "store/utc_now.hpp"

namespace gilbench::store::detail {

namespace {

std::string in_quotes(const std::string& s) { return "'" + s + "'"; }

std::string holder_line() { return writer_identity(); }

// What mark_finishing adds to the holder's line.
constexpr std::string_view finishing_mark = " (finishing)";

// What the holder wrote ("pid 123 on host n1 since ..."), "" if nothing yet.
std::string read_holder(int fd) {
    char buf[512] = {};
    const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
    std::string s = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    return s;
}

// A whole-file write lock. OFD locks belong to the open file description, not the process,
// so a second open in the same process is refused too and closing an unrelated descriptor
// of the file does not drop it; kernels before 3.15 lack them, then a classic POSIX lock.
int try_lock(int fd) {
    struct flock fl {};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = 0;
    fl.l_len = 0;  // to the end, whatever the size
#ifdef F_OFD_SETLK
    if (::fcntl(fd, F_OFD_SETLK, &fl) == 0) return 0;
    if (errno != EINVAL) return -1;
#endif
    return ::fcntl(fd, F_SETLK, &fl);
}

bool no_locks_here(int err) { return err == ENOLCK || err == ENOSYS || err == EOPNOTSUPP; }

}  // namespace

std::string lock_path_for(const std::string& results_path) { return results_path + ".lock"; }

std::string writer_identity() {
    // Once per process (a forked child is a process of its own): the lock file and every run's
    // `writer` attribute name it alike.
    static std::mutex mutex;
    static pid_t pid = -1;
    static std::string identity;
    const std::lock_guard<std::mutex> lock(mutex);
    if (pid != ::getpid()) {
        pid = ::getpid();
        char host[256] = {};
        if (::gethostname(host, sizeof host - 1) != 0) std::strcpy(host, "?");
        identity = "pid " + std::to_string(pid) + " on host " + host + " since " + utc_now();
    }
    return identity;
}

void writer_lock::mark_finishing() noexcept {
    if (!held()) return;
    const std::string line = holder_line() + std::string(finishing_mark) + "\n";
    if (::ftruncate(fd_, 0) == 0) (void)!::pwrite(fd_, line.data(), line.size(), 0);
}

writer_lock writer_lock::acquire(const std::string& results_path) {
    const std::string path = lock_path_for(results_path);
    const std::string file = "results file " + in_quotes(results_path);
    // A holder removes the lock file before it releases the lock; one who opened the old
    // file in between locks an unlinked file and must start over. Never more than a few times.
    // A holder that marked itself finishing (its run's status is written; a stopped run's
    // ranks may live a few seconds more) is waited for, up to finishing_wait, so that a
    // --resume right after a stop goes on instead of refusing.
    const auto finishing_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (int attempt = 0; attempt < 20; ++attempt) {
        const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0) {
            const int err = errno;
            throw std::runtime_error("cannot create the lock file " + in_quotes(path) + " of " + file + " (" +
                                     std::strerror(err) +
                                     "): gilbench keeps a second writer out with it; make its directory "
                                     "writable or choose another -o path");
        }
        writer_lock lock;
        lock.fd_ = fd;
        lock.path_ = path;
        if (try_lock(fd) != 0) {
            const int err = errno;
            if (err == EAGAIN || err == EACCES) {
                const std::string holder = read_holder(fd);
                if (holder.ends_with(finishing_mark) && std::chrono::steady_clock::now() < finishing_deadline) {
                    std::this_thread::sleep_for(std::chrono::milliseconds(100));
                    --attempt;  // not a replaced file: wait, do not count it
                    continue;
                }
                throw std::runtime_error(
                    file + " is being written by another gilbench (" +
                    (holder.empty() ? std::string("its pid is not recorded yet") : holder) + "; lock file " +
                    in_quotes(path) + "): wait for that run to finish, stop it, or choose another -o path " +
                    "(HDF5_USE_FILE_LOCKING does not change this)");
            }
            if (no_locks_here(err)) {
                lock.warning_ = "cannot lock " + in_quotes(path) + " (" + std::strerror(err) +
                                "): this file system has no record locks (NFS without its lock manager? "
                                "Lustre without -o flock?), so nothing keeps a second gilbench from writing " +
                                in_quotes(results_path) + " at the same time: make sure none does";
                return lock;
            }
            throw std::runtime_error("cannot lock " + in_quotes(path) + " of " + file + ": " + std::strerror(err) +
                                     ": choose another -o path");
        }
        lock.locked_ = true;
        struct stat mine {}, now {};
        if (::fstat(fd, &mine) != 0 || ::stat(path.c_str(), &now) != 0 || mine.st_ino != now.st_ino ||
            mine.st_dev != now.st_dev)
            continue;  // the previous holder removed it meanwhile: `lock` lets go of the old one
        const std::string line = holder_line() + "\n";
        if (::ftruncate(fd, 0) == 0) (void)!::pwrite(fd, line.data(), line.size(), 0);
        return lock;
    }
    throw std::runtime_error("cannot lock " + in_quotes(path) + " of " + file +
                             ": it keeps being replaced (other gilbench runs starting and stopping on the same "
                             "-o path?): run one at a time or choose another -o path");
}

writer_lock::writer_lock(writer_lock&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      locked_(std::exchange(other.locked_, false)),
      path_(std::move(other.path_)),
      warning_(std::move(other.warning_)) {}

writer_lock& writer_lock::operator=(writer_lock&& other) noexcept {
    if (this != &other) {
        release();
        fd_ = std::exchange(other.fd_, -1);
        locked_ = std::exchange(other.locked_, false);
        path_ = std::move(other.path_);
        warning_ = std::move(other.warning_);
    }
    return *this;
}

writer_lock::~writer_lock() { release(); }

void writer_lock::release() noexcept {
    if (fd_ < 0) return;
    // Only the holder removes the file, and only while still holding it (see acquire).
    if (locked_) {
        struct stat mine {}, now {};
        if (::fstat(fd_, &mine) == 0 && ::stat(path_.c_str(), &now) == 0 && mine.st_ino == now.st_ino &&
            mine.st_dev == now.st_dev)
            (void)::unlink(path_.c_str());
    }
    (void)::close(fd_);
    fd_ = -1;
    locked_ = false;
}

}  // namespace gilbench::store::detail
