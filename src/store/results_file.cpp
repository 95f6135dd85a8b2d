// The results file. Every public call silences HDF5's own stderr printing and turns a failure
// into one std::runtime_error naming the file, the run and the fix, with HDF5's message.
#include "store/results_file.hpp"

#include <fcntl.h>
#include <malloc.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <cstdint>
#include <deque>
#include <set>
#include <filesystem>
#include <stdexcept>
#include <system_error>

#include "report/summary.hpp"
#include "store/h5_handles.hpp"
#include "store/rows.hpp"
#include "store/utc_now.hpp"
#include "store/writer_lock.hpp"

namespace gilbench::store {

namespace fs = std::filesystem;

namespace {

// HDF5 closes whatever is still open from an exit handler of its own. After a write failed
// part-way (a full disk), closing the file fails too and leaves it half-closed inside HDF5, and
// that handler then crashed the process on its way out (SIGSEGV in H5F__close_cb), after
// gilbench had reported the error. Every write here is flushed at once and every id is closed
// by its owner, so the handler has nothing left to save: it is switched off, before the
// library starts (H5dont_atexit has no effect later).
[[maybe_unused]] const bool hdf5_exit_handler_off = [] {
    h5::keep_exit_handler_off();
    return true;
}();

// The flush after every trial compresses the last chunk of each table it touched, and zlib
// allocates its ~270 KiB of deflate state for each (HDF5 calls deflateInit per chunk). With
// glibc's defaults that memory went back to the kernel at every free (heap trimming, or its
// own mapping) and came back as fresh zeroed pages at the next trial: a fifth of a trial's
// CPU time in page faults and TLB shootdowns. Freed heap is kept instead: the run's peak heap
// stays mapped, which for a writer of small rows is a few MiB.
[[maybe_unused]] const bool heap_kept = [] {
    mallopt(M_MMAP_THRESHOLD, 4 << 20);
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
    return true;
}();

// Rows per chunk: large enough that gzip has something to work on, small enough that the
// per-trial rewrite of the last, partly filled chunk stays cheap: every flush compresses that
// chunk whole, so its size is the flush's cost (1024 rows cost ~2 ms of CPU per trial, 128
// rows ~0.3 ms: bench/bookkeeping.py).
constexpr hsize_t chunk_rows = 128;

// Which tables are compressed. `trials` and `workers` grow by a few rows in every trial, and
// compressing their last chunk at every flush was most of a tiny trial's bookkeeping (0.3 ms
// of 0.5 ms); stored as they are, they take ~250 bytes per trial and thread, which even a
// million trials can afford. `trace` and `requests` can grow by thousands of rows a trial and
// compress well; `cells` and `summary` are written once per cell.
constexpr h5::compression per_trial_tables = h5::compression::none;
constexpr h5::compression bulk_tables = h5::compression::gzip;
constexpr const char* runs_group = "runs";

std::string in_quotes(const std::string& s) { return "'" + s + "'"; }

// Runs f; a failure gets `context` in front of its message (a DiskFullError stays one).
template <class F>
auto with_context(const std::string& context, F&& f) -> decltype(f()) {
    try {
        return f();
    } catch (const DiskFullError& e) {
        throw DiskFullError(context + ": " + e.what());
    } catch (const std::exception& e) {
        throw std::runtime_error(context + ": " + e.what());
    }
}

// HDF5 reports a failed write(2) as "errno = 28, error message = 'No space left on device'".
bool says_disk_full(const std::string& message) {
    for (const char* sign : {"errno = 28,", "No space left on device", "errno = 122,", "Disk quota exceeded"})
        if (message.find(sign) != std::string::npos) return true;
    return false;
}

std::string directory_of(const std::string& path) {
    const fs::path dir = fs::path(path).parent_path();
    return dir.empty() ? std::string(".") : dir.string();
}

// Slack reserved beyond each write's own bytes: every flush may rewrite the last, partly
// filled chunk of each table (compressed, so often at a new place) and some metadata.
constexpr std::uint64_t base_room = std::uint64_t{1} << 20;

std::string disk_full_message(const std::string& path, const std::string& doing, int err, std::uint64_t room) {
    return "disk full: " + (doing.empty() ? std::string() : doing + ": ") + std::strerror(err) + " (the store needs about " +
           std::to_string((room + 1023) / 1024) + " KiB free before each write; nothing of this write was " +
           "made, and everything written before is intact): free space in " + in_quotes(directory_of(path)) +
           " (or move " + in_quotes(path) + " somewhere with room) and run again with --resume";
}

// Free space of the file system holding `dir`: refuses before anything is created there.
void check_free_space(const std::string& path, const std::string& doing, std::uint64_t room) {
    struct statvfs vfs {};
    if (::statvfs(directory_of(path).c_str(), &vfs) != 0) return;  // no answer: let the write tell
    if (static_cast<std::uint64_t>(vfs.f_bavail) * vfs.f_frsize < room)
        throw DiskFullError(disk_full_message(path, doing, ENOSPC, room));
}

// "run-007" -> 7; anything else -> -1.
long run_number(const std::string& name) {
    constexpr std::string_view prefix = "run-";
    if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) return -1;
    long n = -1;
    const char* first = name.data() + prefix.size();
    const char* last = name.data() + name.size();
    const auto [end, ec] = std::from_chars(first, last, n);
    return ec == std::errc() && end == last ? n : -1;
}

// One past the highest existing number, so run names follow creation order even if an
// earlier run was deleted by hand.
std::string next_run_name(hid_t runs) {
    long next = 0;
    for (const auto& child : h5::child_names(runs, "/runs")) {
        const long n = run_number(child);
        if (n >= next) next = n + 1;
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, "run-%03ld", next);
    return buf;
}

// The run's status attribute: the enum's own name (to_string), the only strings readers see.
// The status, and beside it who writes the run and when it last did (docs/hdf5-schema.md,
// "Whether a run's writer is alive"): a run left "running" by a writer that was killed is told
// from a live one by these, on the writer's host by the writer lock too.
void write_status_attr(hid_t run, RunStatus status) {
    h5::write_string_attr(run, "status", to_string(status));
    if (status == RunStatus::running) h5::write_string_attr(run, "writer", detail::writer_identity());
    h5::write_string_attr(run, "heartbeat_utc", utc_now());
}

void write_root_attrs(hid_t root, const FileInfo& info) {
    h5::write_string_attr(root, "schema", schema);
    h5::write_string_attr(root, "gilbench_version", info.gilbench_version);
    h5::write_string_attr(root, "git_sha", info.git_sha);
    h5::write_string_attr(root, "created_utc",
                          info.created_utc.empty() ? utc_now() : info.created_utc);
    h5::write_string_attr(root, "command_line", detail::to_valid_utf8(info.command_line));
    h5::write_string_attr(root, "mpi_library", info.mpi_library);
    h5::write_string_attr(root, "hdf5_version", h5::library_version());
    h5::write_string_attr(root, "curl_version", info.curl_version);
    h5::write_string_attr(root, "compiler", info.compiler);
}

// The build and libraries that wrote a run (the root has the same for the file's creator).
void write_build_attrs(hid_t run, const FileInfo& info) {
    h5::write_string_attr(run, "gilbench_version", info.gilbench_version);
    h5::write_string_attr(run, "git_sha", info.git_sha);
    h5::write_string_attr(run, "command_line", detail::to_valid_utf8(info.command_line));
    h5::write_string_attr(run, "mpi_library", info.mpi_library);
    h5::write_string_attr(run, "hdf5_version", h5::library_version());
    h5::write_string_attr(run, "curl_version", info.curl_version);
    h5::write_string_attr(run, "compiler", info.compiler);
}

// How the run takes its trials: their order, what the statistics do with disturbed ones, and
// repeats = "auto"'s settings ("" when off) with the rounds its pilot fixes (0 until then;
// RunWriter::set_auto_rounds).
void write_schedule_attrs(hid_t run, const RunInfo& info) {
    h5::write_string_attr(run, "order", detail::to_valid_utf8(info.order));
    h5::write_string_attr(run, "disturbed_trials", detail::to_valid_utf8(info.disturbed_trials));
    h5::write_string_attr(run, "repeats_auto", detail::to_valid_utf8(info.repeats_auto));
    h5::write_int_attr(run, "auto_rounds", 0);
    h5::write_string_attr(run, "auto_rounds_reason", "");
}

// The emulated engine's calibration a run used: its values, their fields' names and the record's
// version beside them (a reader decodes the values by name), and how the run had them.
void write_calibration_attrs(hid_t run, const RunInfo& info) {
    h5::write_string_attr(run, "calibration_interpreter", detail::to_valid_utf8(info.calibration_interpreter));
    h5::write_int64_array_attr(run, "urllib_costs_ns", info.urllib_costs_ns);
    h5::write_string_array_attr(run, "urllib_costs_fields", info.urllib_costs_fields);
    h5::write_int_attr(run, "urllib_costs_version", info.urllib_costs_version);
    h5::write_string_attr(run, "calibration", detail::to_valid_utf8(info.calibration));
}

}  // namespace

const char* to_string(RunStatus s) {
    switch (s) {
        case RunStatus::running: return "running";
        case RunStatus::complete: return "complete";
        case RunStatus::interrupted: return "interrupted";
        case RunStatus::failed: return "failed";
    }
    return "unknown";
}

std::optional<RunStatus> parse_run_status(std::string_view text) {
    for (RunStatus s : {RunStatus::running, RunStatus::complete, RunStatus::interrupted, RunStatus::failed})
        if (text == to_string(s)) return s;
    return std::nullopt;
}

struct detail::file_state {
    std::string path;
    FileInfo info;  // also stamped on each run: a later run may come from another build
    writer_lock lock;  // before `file`: released only once HDF5 has closed the file
    h5::file file;
    // Set when a write failed part-way (HDF5 may hold half of it): later writes are refused
    // instead of adding to the damage; what was flushed before stays readable.
    std::string broken;

    // Room for a write of about `bytes`, taken before HDF5 touches the file (see ensure_room).
    void reserve(std::uint64_t bytes, const std::string& context) const;
};

// Reserves room for the next write in the file itself: blocks allocated past its end
// (fallocate with FALLOC_FL_KEEP_SIZE, so HDF5 sees no change in size), which HDF5's own
// writes then fill. Running out of space thus fails here, before HDF5 has written half of
// its metadata, which would leave tables that no longer read (HDF5 1.10 has no journal).
// Where the file system cannot preallocate (NFS before 4.2, ...), its free space is checked
// instead, which is weaker: another process may take the space in between.
void detail::file_state::reserve(std::uint64_t bytes, const std::string& doing) const {
    const std::uint64_t room = base_room + 2 * bytes;
    const std::optional<int> posix = h5::posix_fd(file.get());
    if (!posix) return;  // not the POSIX driver: nothing to reserve with
    const int fd = *posix;
    struct stat st {};
    if (::fstat(fd, &st) != 0) return;
    if (::fallocate(fd, FALLOC_FL_KEEP_SIZE, st.st_size, static_cast<off_t>(room)) == 0) return;
    int err = errno;
    if (err != ENOSPC && err != EDQUOT) {
        struct statvfs vfs {};
        if (::fstatvfs(fd, &vfs) != 0 || static_cast<std::uint64_t>(vfs.f_bavail) * vfs.f_frsize >= room) return;
        err = ENOSPC;
    }
    throw DiskFullError(disk_full_message(path, doing, err, room));
}

struct detail::run_state {
    std::shared_ptr<detail::file_state> file;  // keeps the file open while the run is written
    std::string name;                         // "run-000"
    std::string context;                      // "results file 'x.h5', run run-000"
    h5::group group;
    h5::table cells;
    h5::table trials;
    h5::table workers;
    h5::table trace;
    h5::table requests;
    h5::table summary;
    h5::table errors;

    void flush() const { h5::flush(file->file.get(), file->path); }

    // One write of about `bytes`: refused at once if an earlier write broke the file or there
    // is no room for it; a failure part-way marks the file broken. `what`: "cannot add ...".
    template <class F>
    void write(const std::string& what, std::uint64_t bytes, F&& f) {
        const h5::error_silencer quiet;
        const std::string doing = context + ": " + what;
        if (!file->broken.empty())
            throw std::runtime_error(doing + ": not tried, an earlier write failed part-way (" + file->broken +
                                     "); the trials flushed before it are readable: run again with --resume");
        file->reserve(bytes, doing);
        try {
            f();
        } catch (const std::exception& e) {
            file->broken = e.what();
            if (says_disk_full(e.what()))
                throw DiskFullError("disk full: " + doing + ": " + e.what() + ": free space in " +
                                    in_quotes(directory_of(file->path)) +
                                    " and run again with --resume (it drops the trial cut short)");
            throw std::runtime_error(doing + ": " + e.what());
        }
    }
};

namespace {

// Where a new results file would go must be a writable directory (checked before the lock
// file is made there, for a message about the directory rather than the lock).
void check_directory(const std::string& path) {
    const std::string what = "cannot create results file " + in_quotes(path);
    fs::path dir = fs::path(path).parent_path();
    if (dir.empty()) dir = ".";
    std::error_code ec;
    const fs::file_status dir_status = fs::status(dir, ec);
    if (dir_status.type() == fs::file_type::not_found) {
        throw std::runtime_error(what + ": directory " + in_quotes(dir.string()) +
                                 " does not exist: create it first (mkdir -p " + dir.string() +
                                 ") or choose another -o path");
    }
    if (dir_status.type() != fs::file_type::directory) {
        throw std::runtime_error(what + ": " + in_quotes(dir.string()) +
                                 " is not a directory: choose another -o path");
    }
    if (::access(dir.c_str(), W_OK | X_OK) != 0) {
        throw std::runtime_error(what + ": directory " + in_quotes(dir.string()) +
                                 " is not writable (" + std::strerror(errno) +
                                 "): choose a writable directory with -o");
    }
}

// `lock`: the writers' lock of `path`, taken by the caller before anything looked at the file.
std::unique_ptr<detail::file_state> create_file(const std::string& path, const FileInfo& info,
                                               detail::writer_lock lock) {
    const std::string what = "cannot create results file " + in_quotes(path);
    const std::string dir = directory_of(path);
    std::error_code ec;
    check_directory(path);
    // A file created on a full disk could not even take its root attributes: refuse first.
    check_free_space(path, what, base_room);
    auto impl = std::make_unique<detail::file_state>();
    impl->path = path;
    impl->info = info;
    impl->lock = std::move(lock);
    try {
        impl->file = h5::create_file(path);
    } catch (const std::exception& e) {
        // H5Fcreate may have made the file before it failed (out of space while writing the
        // superblock): a file without a signature that the next run would refuse.
        fs::remove(path, ec);
        if (says_disk_full(e.what()))
            throw DiskFullError("disk full: " + what + ": " + e.what() + ": free space in " + in_quotes(dir) +
                                " and run again");
        throw std::runtime_error(what + ": " + e.what() + ": check that directory " + in_quotes(dir) +
                                 " is writable and has free space");
    }
    try {
        impl->reserve(64 * 1024, what);
        write_root_attrs(impl->file.get(), info);
        h5::create_group(impl->file.get(), runs_group);
        h5::flush(impl->file.get(), path);
    } catch (const std::exception& e) {
        // A file without its root attributes would be refused by the next run as "not
        // gilbench/1"; remove it so the same -o path works once the problem is fixed.
        impl->file.reset();
        fs::remove(path, ec);
        const std::string message = std::string(e.what()) + " (the partial file was removed)";
        if (dynamic_cast<const DiskFullError*>(&e) != nullptr) throw DiskFullError(message);
        if (says_disk_full(e.what())) throw DiskFullError("disk full: " + what + ": " + message);
        throw std::runtime_error(what + ": " + message);
    }
    return impl;
}

std::unique_ptr<detail::file_state> open_file(const std::string& path, const FileInfo& info,
                                             fs::file_type type, detail::writer_lock lock) {
    const std::string file = "results file " + in_quotes(path);
    if (type == fs::file_type::directory) {
        throw std::runtime_error(file + " is a directory: pass a file name with -o, e.g. -o " +
                                 (fs::path(path) / "results.h5").string());
    }
    std::string why;
    const std::optional<bool> hdf5 = h5::is_hdf5(path, &why);
    if (!hdf5) {
        throw std::runtime_error("cannot read " + file + ": " + why + ": check its permissions");
    }
    if (!*hdf5) {
        throw std::runtime_error(file + " exists and is not an HDF5 file: choose another -o path "
                                 "(gilbench never overwrites other files)");
    }

    auto impl = std::make_unique<detail::file_state>();
    impl->path = path;
    impl->info = info;
    impl->lock = std::move(lock);
    if (::access(path.c_str(), W_OK) != 0) {
        throw std::runtime_error(file + " is not writable (" + std::strerror(errno) +
                                 "): fix its permissions or choose another -o path");
    }
    try {
        impl->file = h5::open_file_rw(path);
    } catch (const std::exception& e) {
        // HDF5 has no error code for a lock conflict, only this text in its stack.
        const std::string why = e.what();
        const bool locked = why.find("unable to lock file") != std::string::npos;
        throw std::runtime_error(
            "cannot open " + file + " for writing: " + why +
            (locked ? ": another process (a running gilbench?) has it open; wait for it to "
                      "finish or choose another -o path"
                    : ": the file may be damaged; choose another -o path"));
    }

    std::optional<std::string> found;
    try {
        found = h5::read_string_attr(impl->file.get(), "schema");
    } catch (const std::exception&) {
        found = "(not a string)";
    }
    if (!found) {
        throw std::runtime_error(file + " is not a " + schema +
                                 " file (it has no schema attribute): choose another -o path");
    }
    if (*found != schema) {
        throw std::runtime_error(file + " is not a " + schema + " file (schema attribute is " +
                                 in_quotes(*found) + "): choose another -o path");
    }
    with_context(file, [&] {
        if (!h5::link_exists(impl->file.get(), runs_group)) {
            impl->reserve(4096, file + ": cannot add /" + runs_group);
            h5::create_group(impl->file.get(), runs_group);
        }
    });
    return impl;
}

}  // namespace

ResultsFile ResultsFile::open_or_create(const std::string& path, const FileInfo& info) {
    const h5::error_silencer quiet;
    if (path.empty()) {
        throw std::runtime_error("results file path is empty: pass one with -o FILE");
    }
    std::error_code ec;
    fs::file_status st = fs::status(path, ec);
    if (st.type() == fs::file_type::none || st.type() == fs::file_type::unknown) {
        throw std::runtime_error("cannot check results file " + in_quotes(path) + ": " +
                                 ec.message() + ": check the permissions of its directory");
    }
    if (st.type() == fs::file_type::not_found) check_directory(path);
    if (st.type() == fs::file_type::directory) return ResultsFile(open_file(path, info, st.type(), {}));
    detail::writer_lock lock = detail::writer_lock::acquire(path);
    // Looked at again under the lock: another writer may have created it meanwhile.
    st = fs::status(path, ec);
    if (st.type() == fs::file_type::not_found) return ResultsFile(create_file(path, info, std::move(lock)));
    return ResultsFile(open_file(path, info, st.type(), std::move(lock)));
}

ResultsFile ResultsFile::create_replacing(const std::string& path, const FileInfo& info) {
    const h5::error_silencer quiet;
    if (path.empty()) {
        throw std::runtime_error("results file path is empty: pass one with -o FILE");
    }
    std::error_code ec;
    fs::file_status st = fs::status(path, ec);
    if (st.type() == fs::file_type::not_found) check_directory(path);
    // The lock covers check, delete and create: no other writer gets in between.
    detail::writer_lock lock =
        st.type() == fs::file_type::directory ? detail::writer_lock() : detail::writer_lock::acquire(path);
    st = fs::status(path, ec);
    if (st.type() != fs::file_type::not_found) {
        // Opening it first proves it is a gilbench/1 file nobody else holds; only then delete.
        try {
            auto proven = open_file(path, info, st.type(), {});
        } catch (const std::exception& e) {
            throw std::runtime_error(std::string(e.what()) +
                                     " (--overwrite replaces only gilbench results files)");
        }
        if (!fs::remove(path, ec) && ec) {
            throw std::runtime_error("cannot delete results file " + in_quotes(path) +
                                     " to overwrite it: " + ec.message());
        }
    }
    return ResultsFile(create_file(path, info, std::move(lock)));
}

ResultsFile::ResultsFile(std::shared_ptr<detail::file_state> state) : state_(std::move(state)) {}
ResultsFile::ResultsFile(ResultsFile&&) noexcept = default;
ResultsFile& ResultsFile::operator=(ResultsFile&&) noexcept = default;

ResultsFile::~ResultsFile() {
    // Closing may print through HDF5's default handler; keep stderr for our own messages.
    const h5::error_silencer quiet;
    state_.reset();
}

const std::string& ResultsFile::path() const { return state_->path; }

const std::string& ResultsFile::lock_warning() const { return state_->lock.warning(); }

std::vector<RunListing> ResultsFile::runs() const {
    const h5::error_silencer quiet;
    const std::string file = "results file " + in_quotes(state_->path);
    return with_context(file, [&] {
        std::vector<RunListing> out;
        h5::group runs = h5::open_group(state_->file.get(), runs_group);
        std::vector<std::string> names = h5::child_names(runs.get(), "/runs");
        std::sort(names.begin(), names.end(),
                  [](const std::string& a, const std::string& b) { return run_number(a) < run_number(b); });
        for (const auto& name : names) {
            if (run_number(name) < 0) continue;
            h5::group g = h5::open_group(runs.get(), name);
            RunListing r;
            r.name = name;
            r.status_text = h5::read_string_attr(g.get(), "status").value_or("");
            r.status = parse_run_status(r.status_text);
            r.writer = h5::read_string_attr(g.get(), "writer").value_or("");
            r.heartbeat_utc = h5::read_string_attr(g.get(), "heartbeat_utc").value_or("");
            r.job = h5::read_string_attr(g.get(), "job").value_or("");
            r.started_utc = h5::read_string_attr(g.get(), "started_utc").value_or("");
            out.push_back(std::move(r));
        }
        return out;
    });
}

RunWriter ResultsFile::begin_run(const RunInfo& info) {
    const h5::error_silencer quiet;
    const std::string file = "results file " + in_quotes(state_->path);
    h5::group runs = with_context(file, [&] { return h5::open_group(state_->file.get(), runs_group); });
    const std::string name = with_context(file, [&] { return next_run_name(runs.get()); });

    auto w = std::make_unique<detail::run_state>();
    w->file = state_;
    w->name = name;
    w->context = file + ", run " + name;
    const std::string path = std::string("/") + runs_group + "/" + name;
    with_context(file, [&] {
        std::uint64_t bytes = 64 * 1024 + 2 * info.job.size();
        for (const auto& h : info.hosts) bytes += 2 * h.size() + 64;
        state_->reserve(bytes, "cannot start run " + name);
    });
    try {
        w->group = h5::create_group(runs.get(), name);
        const hid_t g = w->group.get();
        h5::write_string_attr(g, "job", detail::to_valid_utf8(info.job));
        h5::write_string_attr(g, "job_path", detail::to_valid_utf8(info.job_path));
        write_status_attr(g, RunStatus::running);
        h5::write_string_attr(g, "started_utc",
                              info.started_utc.empty() ? utc_now() : info.started_utc);
        h5::write_string_attr(g, "finished_utc", "");
        h5::write_int_attr(g, "ranks", info.ranks);
        h5::write_int_attr(g, "nodes", info.nodes);
        std::vector<std::string> hosts;
        for (const auto& h : info.hosts) hosts.push_back(detail::to_valid_utf8(h));
        h5::write_string_array_attr(g, "hosts", hosts);
        // Provenance of this run; the root attributes describe only the run that created
        // the file.
        write_build_attrs(g, state_->info);
        h5::write_string_attr(g, "job_name", detail::to_valid_utf8(info.job_name));
        std::vector<std::string> models;
        for (const auto& m : info.cpu_model) models.push_back(detail::to_valid_utf8(m));
        h5::write_string_array_attr(g, "cpu_model", models);
        h5::write_int_array_attr(g, "cores", info.cores);
        h5::write_int_array_attr(g, "ranks_per_node", info.ranks_per_node);
        h5::write_int_array_attr(g, "rank_node", info.rank_node);
        h5::write_int_array_attr(g, "rank_cpus", info.rank_cpus);
        h5::write_string_attr(g, "slurm_job_id", detail::to_valid_utf8(info.slurm_job_id));
        h5::write_string_attr(g, "batch_job", detail::to_valid_utf8(info.batch_job));
        h5::write_string_attr(g, "embedded_server", detail::to_valid_utf8(info.embedded_server));
        h5::write_string_attr(g, "os", detail::to_valid_utf8(info.os));
        h5::write_string_attr(g, "python_version", detail::to_valid_utf8(info.python_version));
        write_calibration_attrs(g, info);
        write_schedule_attrs(g, info);
        h5::write_string_array_attr(g, "resumed_utc", {});
        h5::write_string_array_attr(g, "resume_command_lines", {});

        auto make = [&](const char* name, h5::datatype type, h5::compression how) {
            return h5::table(g, name, path + "/" + name, std::move(type), chunk_rows, how);
        };
        w->cells = make("cells", detail::cell_row_type(), bulk_tables);
        w->trials = make("trials", detail::trial_row_type(), per_trial_tables);
        w->workers = make("workers", detail::worker_row_type(), per_trial_tables);
        w->trace = make("trace", detail::trace_row_type(), bulk_tables);
        w->requests = make("requests", detail::request_row_type(), bulk_tables);
        w->summary = make("summary", detail::summary_row_type(), bulk_tables);
        w->errors = make("errors", detail::error_row_type(), bulk_tables);
        w->flush();
    } catch (const std::exception& e) {
        // Unlink the half-made run so readers never meet a run without its tables.
        w->group.reset();
        if (h5::link_exists(runs.get(), name)) {
            try {
                h5::delete_link(runs.get(), name);
            } catch (const std::exception&) {
                // the original error matters more
            }
        }
        if (says_disk_full(e.what()))
            throw DiskFullError("disk full: " + file + ": cannot start run " + name + ": " + e.what() +
                                ": free space in " + in_quotes(directory_of(state_->path)) + " and run again");
        throw std::runtime_error(file + ": cannot start run " + name + ": " + e.what());
    }
    return RunWriter(std::move(w));
}

namespace {

// The (cell, trial) key of a row, read by field name from any of the per-trial tables.
struct trial_key {
    std::int32_t cell;
    std::int32_t trial;
};

h5::datatype trial_key_type() {
    h5::datatype t = h5::create_compound(sizeof(trial_key), "(cell, trial)");
    h5::insert_member(t.get(), "cell", offsetof(trial_key, cell), H5T_NATIVE_INT32);
    h5::insert_member(t.get(), "trial", offsetof(trial_key, trial), H5T_NATIVE_INT32);
    return t;
}

std::vector<trial_key> read_keys(const h5::table& t) {
    std::vector<trial_key> keys(t.size());
    t.read(trial_key_type().get(), keys.data());
    return keys;
}

// Rows are written trial by trial, the `trials` row last: the rows of a trial that never
// reached `trials` sit at the end of the table. Drops them; returns how many.
std::size_t drop_unfinished_tail(h5::table& t, const std::set<std::pair<int, int>>& finished) {
    const std::vector<trial_key> keys = read_keys(t);
    std::size_t keep = keys.size();
    while (keep > 0 && !finished.count({keys[keep - 1].cell, keys[keep - 1].trial})) --keep;
    const std::size_t dropped = keys.size() - keep;
    t.truncate(keep);
    return dropped;
}

// Reads a table of rows that hold variable-length strings, converts each row, then hands
// the strings back to HDF5.
template <class Row, class Out>
std::vector<Out> read_rows_with_strings(const h5::table& t, const h5::datatype& full_type, std::string_view what) {
    const h5::datatype stored = t.stored_type();
    const h5::datatype mem = h5::common_members(full_type.get(), stored.get(), what);
    std::vector<Row> rows(t.size());
    std::memset(static_cast<void*>(rows.data()), 0, rows.size() * sizeof(Row));
    t.read(mem.get(), rows.data());
    std::vector<Out> out;
    out.reserve(rows.size());
    for (const Row& r : rows) out.push_back(detail::from_row(r));
    h5::vlen_reclaim(mem.get(), rows.size(), rows.data(), what);
    return out;
}

// The cells of a run. Every column is first filled as for a default cell, so the columns an
// older file lacks (placement, io_timeout_s, ...) read as model::Cell's defaults; the strings
// HDF5 allocated for the columns it read are handed back whatever happens.
std::vector<model::Cell> read_cells(const h5::table& t, std::string_view what) {
    const h5::datatype stored = t.stored_type();
    const h5::datatype mem = h5::common_members(detail::cell_row_type().get(), stored.get(), what);
    const std::vector<model::Cell> defaults(t.size());
    detail::string_arena strings;
    std::vector<std::byte> rows = detail::to_cell_rows(defaults, strings);
    t.read(mem.get(), rows.data());
    std::vector<model::Cell> cells;
    try {
        cells = detail::from_cell_rows(rows.data(), t.size());
    } catch (...) {
        try {
            h5::vlen_reclaim(mem.get(), t.size(), rows.data(), what);
        } catch (const std::exception&) {
            // the conversion's error matters more than a leak
        }
        throw;
    }
    h5::vlen_reclaim(mem.get(), t.size(), rows.data(), what);
    return cells;
}

}  // namespace

namespace {

// The tables of an existing run, opened to read or append; runs from before `requests` and
// `summary` existed get them (empty) when `create_missing`.
void open_tables(detail::run_state& w, const std::string& path, bool create_missing) {
    const hid_t g = w.group.get();
    w.cells = h5::table::open(g, "cells", path + "/cells", detail::cell_row_type());
    w.trials = h5::table::open(g, "trials", path + "/trials", detail::trial_row_type());
    w.workers = h5::table::open(g, "workers", path + "/workers", detail::worker_row_type());
    w.trace = h5::table::open(g, "trace", path + "/trace", detail::trace_row_type());
    auto open_or_make = [&](const char* name, h5::datatype type) {
        if (h5::link_exists(g, name)) return h5::table::open(g, name, path + "/" + name, std::move(type));
        if (create_missing) return h5::table(g, name, path + "/" + name, std::move(type), chunk_rows, bulk_tables);
        return h5::table();
    };
    w.requests = open_or_make("requests", detail::request_row_type());
    w.summary = open_or_make("summary", detail::summary_row_type());
    w.errors = open_or_make("errors", detail::error_row_type());
}

std::set<std::pair<int, int>> finished_trials(const h5::table& trials) {
    std::set<std::pair<int, int>> finished;
    for (const auto& k : read_keys(trials)) finished.insert({k.cell, k.trial});
    return finished;
}

}  // namespace

StoredRun ResultsFile::read_run(const std::string& name) const {
    const h5::error_silencer quiet;
    const std::string path = std::string("/") + runs_group + "/" + name;
    return with_context("results file " + in_quotes(state_->path) + ", run " + name + ": cannot read it", [&] {
        StoredRun stored;
        detail::run_state w;
        h5::group runs = h5::open_group(state_->file.get(), runs_group);
        if (!h5::link_exists(runs.get(), name)) throw std::runtime_error("there is no " + path);
        w.group = h5::open_group(runs.get(), name);
        open_tables(w, path, false);
        {
            const h5::datatype full = detail::trial_row_type();
            const h5::datatype stored_type = w.trials.stored_type();
            const h5::datatype mem = h5::common_members(full.get(), stored_type.get(), "trials row");
            // Fields an older file lacks read as a default record's: io_errors 0, the
            // disturbance probes NaN (not measured), not disturbed.
            const model::TrialRecord defaults;  // outlives the rows: to_row may point into its strings
            detail::string_arena blank_text;
            detail::trial_row blank = detail::to_row(defaults, blank_text);
            blank.disturbance = "";  // static: the rows outlive nothing they point to
            blank.round = -1;        // read as the trial number where the file has no rounds
            std::vector<detail::trial_row> rows(w.trials.size(), blank);
            w.trials.read(mem.get(), rows.data());
            for (const auto& r : rows) stored.trials.push_back(detail::from_row(r));
            // Only the strings HDF5 allocated (the columns the file has) are handed back.
            h5::vlen_reclaim(mem.get(), rows.size(), rows.data(), "trials row");
        }
        const std::set<std::pair<int, int>> finished = finished_trials(w.trials);
        {
            const h5::datatype full = detail::worker_row_type();
            const h5::datatype stored_type = w.workers.stored_type();
            const h5::datatype mem = h5::common_members(full.get(), stored_type.get(), "workers row");
            std::vector<model::WorkerRecord> rows(w.workers.size());
            w.workers.read(mem.get(), rows.data());
            for (const auto& r : rows)
                if (finished.count({r.cell, r.trial})) stored.workers.push_back(r);
        }
        stored.cells = read_cells(w.cells, "cells row");
        if (w.summary.path().size() > 0)
            stored.summary = read_rows_with_strings<detail::summary_row, model::CellSummaryRecord>(
                w.summary, detail::summary_row_type(), "summary row");
        stored.hosts = h5::read_string_array_attr(w.group.get(), "hosts");
        stored.urllib_costs_ns = h5::read_int64_array_attr(w.group.get(), "urllib_costs_ns");
        stored.urllib_costs_fields = h5::read_string_array_attr(w.group.get(), "urllib_costs_fields");
        stored.calibration = h5::read_string_attr(w.group.get(), "calibration").value_or("");
        stored.order = h5::read_string_attr(w.group.get(), "order").value_or("");
        stored.disturbed_trials = h5::read_string_attr(w.group.get(), "disturbed_trials").value_or("");
        stored.repeats_auto = h5::read_string_attr(w.group.get(), "repeats_auto").value_or("");
        stored.auto_rounds = h5::read_int_attr(w.group.get(), "auto_rounds").value_or(0);
        return stored;
    });
}

RunWriter ResultsFile::resume_run(const std::string& name, const std::string& started_utc,
                                  std::size_t* dropped_rows) {
    const h5::error_silencer quiet;
    const std::string file = "results file " + in_quotes(state_->path);
    auto w = std::make_unique<detail::run_state>();
    w->file = state_;
    w->name = name;
    w->context = file + ", run " + name;
    const std::string path = std::string("/") + runs_group + "/" + name;
    with_context(w->context + ": cannot resume it", [&] {
        h5::group runs = h5::open_group(state_->file.get(), runs_group);
        if (!h5::link_exists(runs.get(), name)) throw std::runtime_error("there is no " + path);
        state_->reserve(64 * 1024, "");
        w->group = h5::open_group(runs.get(), name);
        const hid_t g = w->group.get();
        open_tables(*w, path, true);
        const std::set<std::pair<int, int>> finished = finished_trials(w->trials);
        const std::size_t dropped = drop_unfinished_tail(w->workers, finished) +
                                    drop_unfinished_tail(w->trace, finished) +
                                    drop_unfinished_tail(w->requests, finished) +
                                    drop_unfinished_tail(w->errors, finished);
        if (dropped_rows != nullptr) *dropped_rows = dropped;

        // Who continued the run, and when; the run's own attributes keep its first start.
        std::vector<std::string> resumed = h5::read_string_array_attr(g, "resumed_utc");
        resumed.push_back(started_utc.empty() ? utc_now() : started_utc);
        h5::write_string_array_attr(g, "resumed_utc", resumed);
        std::vector<std::string> commands = h5::read_string_array_attr(g, "resume_command_lines");
        commands.push_back(detail::to_valid_utf8(state_->info.command_line));
        h5::write_string_array_attr(g, "resume_command_lines", commands);
        write_status_attr(g, RunStatus::running);
        h5::write_string_attr(g, "finished_utc", "");
        w->flush();
    });
    return RunWriter(std::move(w));
}

RunWriter::RunWriter(std::unique_ptr<detail::run_state> state) : state_(std::move(state)) {}
RunWriter::RunWriter(RunWriter&&) noexcept = default;
RunWriter& RunWriter::operator=(RunWriter&&) noexcept = default;

RunWriter::~RunWriter() {
    const h5::error_silencer quiet;
    state_.reset();
}

const std::string& RunWriter::name() const { return state_->name; }

std::size_t RunWriter::trials_written() const { return static_cast<std::size_t>(state_->trials.size()); }

void RunWriter::add_cells(const std::vector<model::Cell>& cells) {
    const std::uint64_t bytes = cells.size() * (detail::cell_row_size() + sizeof(detail::summary_row) + 512);
    state_->write("cannot add " + std::to_string(cells.size()) + " cells", bytes, [&] {
        detail::string_arena strings;
        const std::vector<std::byte> rows = detail::to_cell_rows(cells, strings);
        state_->cells.append(rows.data(), cells.size());
        // One summary row per cell from the start, "pending" until the cell runs. The records
        // outlive the rows: a row's strings point into its record until HDF5 has written it.
        std::vector<model::CellSummaryRecord> records(cells.size());
        std::vector<detail::summary_row> pending;
        pending.reserve(cells.size());
        for (std::size_t i = 0; i < cells.size(); ++i) {
            records[i].cell = cells[i].index;
            records[i].state = report::to_string(report::CellState::pending);
            pending.push_back(detail::to_row(records[i], strings));
        }
        state_->summary.append(pending.data(), pending.size());
        state_->flush();
    });
}

void RunWriter::write_summary(const std::vector<model::CellSummaryRecord>& rows) {
    state_->write("cannot write the summary", rows.size() * (sizeof(detail::summary_row) + 64) + 4096, [&] {
        detail::string_arena strings;
        // Placeholder rows must live until they are written, like the rows' own records.
        std::deque<model::CellSummaryRecord> placeholders;
        for (const auto& r : rows) {
            const detail::summary_row row = detail::to_row(r, strings);
            const auto at = static_cast<hsize_t>(r.cell);
            // Rows are indexed by cell; a run from an older writer may not have them yet.
            while (state_->summary.size() < at) {
                model::CellSummaryRecord& p = placeholders.emplace_back();
                p.cell = static_cast<std::int32_t>(state_->summary.size());
                p.state = report::to_string(report::CellState::pending);
                const detail::summary_row pending = detail::to_row(p, strings);
                state_->summary.append(&pending, 1);
            }
            if (state_->summary.size() == at) state_->summary.append(&row, 1);
            else state_->summary.write_at(at, &row, 1);
        }
        state_->flush();
    });
}

void RunWriter::set_hosts(const std::vector<std::string>& hosts) {
    std::uint64_t bytes = 4096;
    for (const auto& h : hosts) bytes += h.size() + 16;
    state_->write("cannot write hosts", bytes, [&] {
        std::vector<std::string> clean;
        for (const auto& h : hosts) clean.push_back(detail::to_valid_utf8(h));
        h5::write_string_array_attr(state_->group.get(), "hosts", clean);
        h5::write_int_attr(state_->group.get(), "nodes", static_cast<int>(hosts.size()));
        state_->flush();
    });
}

void RunWriter::set_auto_rounds(int rounds, const std::string& reason) {
    state_->write("cannot write auto_rounds", 4096 + reason.size(), [&] {
        h5::write_int_attr(state_->group.get(), "auto_rounds", rounds);
        h5::write_string_attr(state_->group.get(), "auto_rounds_reason", detail::to_valid_utf8(reason));
        state_->flush();
    });
}

void RunWriter::set_server_requests(const std::vector<std::int64_t>& per_node) {
    state_->write("cannot write server_requests", 4096 + 8 * per_node.size(), [&] {
        h5::write_int64_array_attr(state_->group.get(), "server_requests", per_node);
        state_->flush();
    });
}

void RunWriter::add_trial(const model::TrialResult& result) {
    const std::string what =
        "cannot add trial " + std::to_string(result.trial.trial) + " of cell " + std::to_string(result.trial.cell);
    std::uint64_t bytes = sizeof(detail::trial_row) + result.trial.disturbance.size() + result.workers.size() * sizeof(model::WorkerRecord) +
                          result.requests.size() * sizeof(model::RequestRecord);
    for (const auto& t : result.trace) bytes += sizeof(detail::trace_row) + t.event.size() + 16;
    for (const auto& e : result.errors) bytes += sizeof(detail::error_row) + e.message.size() + e.detail.size() + 32;
    state_->write(what, bytes, [&] {
        state_->workers.append(result.workers.data(), result.workers.size());
        detail::string_arena strings;
        std::vector<detail::trace_row> trace;
        trace.reserve(result.trace.size());
        for (const auto& t : result.trace) trace.push_back(detail::to_row(t, strings));
        state_->trace.append(trace.data(), trace.size());
        state_->requests.append(result.requests.data(), result.requests.size());
        std::vector<detail::error_row> errors;
        errors.reserve(result.errors.size());
        for (const auto& e : result.errors) errors.push_back(detail::to_row(e, strings));
        state_->errors.append(errors.data(), errors.size());
        // The trial row goes last: a trial listed in `trials` always has its workers.
        const detail::trial_row trial = detail::to_row(result.trial, strings);
        state_->trials.append(&trial, 1);
        h5::write_string_attr(state_->group.get(), "heartbeat_utc", utc_now());
        state_->flush();
    });
}

void RunWriter::set_status(RunStatus status) {
    state_->write("cannot set status " + in_quotes(to_string(status)), 4096, [&] {
        const hid_t g = state_->group.get();
        write_status_attr(g, status);
        // "" while running, as at the start, so a resumed run does not look finished.
        h5::write_string_attr(g, "finished_utc", status == RunStatus::running ? "" : utc_now());
        state_->flush();
    });
    if (status != RunStatus::running) state_->file->lock.mark_finishing();
}

}  // namespace gilbench::store
