#include "engine/cpython/old_gil_python.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>
#include <vector>

#include <fmt/format.h>

extern char** environ;

namespace gilbench::engine {
namespace {

// Runs under Python 2 and 3 alike, so that a Python 3 is told apart by its version, not by a
// syntax error. The countdown is gilbench's (`while n > 0: n -= 1`), timed 5 times, the best kept
// (as the embedded calibration's interpreter_speed).
constexpr const char* program = R"(import sys, time, platform
def countdown(n):
    while n > 0:
        n -= 1
n = 2000000
best = None
for _ in range(5):
    start = time.time()
    countdown(n)
    took = time.time() - start
    if best is None or took < best:
        best = took
sys.stdout.write("gilbench-old-gil %s %d\n" % (platform.python_version(), int(best * 1e12 / n)))
)";

constexpr std::size_t max_output = 64 * 1024;  // what is kept of its output: bounded memory

struct Child {
    pid_t pid = -1;
    int out = -1;  // read end of its stdout + stderr
};

// posix_spawn with argv only: no shell ever sees the path.
std::optional<Child> spawn(const std::string& path, std::string* why) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        *why = fmt::format("cannot make a pipe to time '{}': {}", path, std::strerror(errno));
        return std::nullopt;
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    std::vector<std::string> args{path, "-E", "-s", "-c", program};
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    Child c;
    const int rc = posix_spawn(&c.pid, path.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    if (rc != 0) {
        close(fds[0]);
        *why = fmt::format("cannot run '{}': {}; give the path of a Python 2 executable (e.g. "
                           "~/.pyenv/versions/2.7.18/bin/python)",
                           path, std::strerror(rc));
        return std::nullopt;
    }
    c.out = fds[0];
    return c;
}

// Reads the child's output until it closes it or the deadline passes (false).
bool read_until(int fd, std::chrono::steady_clock::time_point deadline, std::string& out) {
    char buf[4096];
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                                std::chrono::steady_clock::now());
        if (left.count() <= 0) return false;
        pollfd p{fd, POLLIN, 0};
        const int r = poll(&p, 1, static_cast<int>(left.count()));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return r == 0 ? false : true;
        const ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return true;
        if (out.size() < max_output) out.append(buf, static_cast<std::size_t>(n));
    }
}

int reap(pid_t pid) {
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return status;
}

std::string last_lines(const std::string& text) {
    const std::string t = text.size() > 600 ? "..." + text.substr(text.size() - 600) : text;
    return t.empty() ? "no output" : "output: " + t;
}

}  // namespace

std::optional<OldGilTiming> time_old_gil_python(const std::string& path, std::string* why,
                                                std::chrono::milliseconds deadline) {
    std::string scratch;
    if (!why) why = &scratch;
    const std::optional<Child> child = spawn(path, why);
    if (!child) return std::nullopt;
    std::string out;
    const bool ended = read_until(child->out, std::chrono::steady_clock::now() + deadline, out);
    close(child->out);
    if (!ended) kill(child->pid, SIGKILL);
    const int status = reap(child->pid);
    if (!ended) {
        *why = fmt::format("'{}' did not time the countdown within {} s (killed); is it a Python 2 that starts?",
                           path, deadline.count() / 1000.0);
        return std::nullopt;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        *why = fmt::format("'{}' failed timing the countdown ({}; {}); give a Python 2 executable", path,
                           WIFEXITED(status) ? fmt::format("exit status {}", WEXITSTATUS(status))
                                             : fmt::format("signal {}", WTERMSIG(status)),
                           last_lines(out));
        return std::nullopt;
    }
    std::istringstream lines(out);
    std::string line;
    while (std::getline(lines, line)) {
        std::istringstream words(line);
        std::string tag;
        OldGilTiming t;
        std::string rest;
        if (!(words >> tag >> t.version >> t.per_1000_ns) || tag != "gilbench-old-gil" || words >> rest) continue;
        if (t.version.rfind("2.", 0) != 0) {
            *why = fmt::format("'{}' is Python {}, which has the new GIL; the old GIL is CPython 2's: give a "
                               "Python 2.7 (pyenv install 2.7.18, or a Debian bullseye python2.7)",
                               path, t.version);
            return std::nullopt;
        }
        if (t.per_1000_ns <= 0) {
            *why = fmt::format("'{}' timed its countdown at {} ns per 1000 iterations, which is not a time", path,
                               t.per_1000_ns);
            return std::nullopt;
        }
        return t;
    }
    *why = fmt::format("'{}' ran but did not print the countdown's time ({}); give a Python 2 executable", path,
                       last_lines(out));
    return std::nullopt;
}

std::string describe(const OldGilTiming& timing, const std::string& path) {
    return fmt::format("old GIL ticks timed on Python {} ({}): {:.1f} ns per countdown iteration", timing.version,
                       path, static_cast<double>(timing.per_1000_ns) / 1000.0);
}

}  // namespace gilbench::engine
