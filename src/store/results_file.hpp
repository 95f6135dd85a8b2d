// The HDF5 results file (schema "gilbench/1", docs/hdf5-schema.md), written by rank 0.
// Tables are extendible chunked compound datasets; every append is followed by a flush,
// so an interrupted run keeps every finished trial.
// Use a ResultsFile and its RunWriters from one thread at a time. The file stays open, and
// locked against other writers (a lock file of gilbench's own, FILE.lock, whatever
// HDF5_USE_FILE_LOCKING says; readers are never blocked by it), until the ResultsFile and all
// its RunWriters are gone.
//
// Disk full: before each write the store reserves room for it in the file (fallocate beyond
// the end, or a free-space check where the file system cannot), so running out of space
// refuses the write before HDF5 starts it: the file keeps every trial flushed before, and a
// DiskFullError says so. A write that fails part-way anyway marks the file broken: later
// writes are refused instead of flushing more half-written metadata.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "model/cell.hpp"
#include "model/records.hpp"

namespace gilbench::store {

inline constexpr const char* schema = "gilbench/1";

// Root attributes, written when the file is created (and repeated on each run: a later run
// may come from another build or machine).
struct FileInfo {
    std::string gilbench_version;
    std::string git_sha;
    std::string created_utc;       // ISO 8601; empty: the store writes the current time
    std::string command_line;
    std::string mpi_library;
    std::string curl_version;
    std::string compiler;
    // hdf5_version is filled in by the store itself
};

// Attributes of /runs/<run>. Per-node arrays are indexed like `hosts` (= workers.node),
// per-rank arrays by world rank.
struct RunInfo {
    std::string job;               // the TOML text
    std::string job_path;
    std::string job_name;
    std::string started_utc;       // ISO 8601; empty: the store writes the current time
    int ranks = 0;                 // world size
    int nodes = 0;
    std::vector<std::string> hosts;  // index = node id used in workers.node
    std::vector<std::string> cpu_model;   // per node, from /proc/cpuinfo
    std::vector<int> cores;               // per node: online CPUs
    std::vector<int> ranks_per_node;      // per node
    std::vector<int> rank_node;           // per rank: its node
    std::vector<int> rank_cpus;           // per rank: CPUs it may run on (affinity mask)
    std::string slurm_job_id;      // "" outside Slurm
    // The batch job that started the run: "<cluster>/<job id>", for an array task
    // "<cluster>/<array job id>_<task id>"; "" outside Slurm. Slurm's requeues keep it, and it
    // tells apart another cluster's job of the same id: the batch scripts compare it before
    // they resume a file they find (slurm/common.sh).
    std::string batch_job;
    std::string os;                // uname: "Linux 6.1.0-18-amd64 x86_64"
    std::string embedded_server;   // "per-node 127.0.0.1", or the shared server's URL
    std::string python_version;    // the embedded CPython's sys.version; "" when no cell has engine cpython
    // The emulated engine's urllib costs (workloads::UrllibCosts, docs/hdf5-schema.md), one
    // value per field per node, in hosts order; empty when no cell needs them. The fields'
    // names, in the order of each node's values, and the record's version (UrllibCosts::fields,
    // UrllibCosts::version) are written beside them, so that a reader decodes them by name.
    std::vector<std::int64_t> urllib_costs_ns;
    std::vector<std::string> urllib_costs_fields;
    int urllib_costs_version = 0;  // 0 with no costs
    std::string calibration;       // how they were had: "measured" | "cached <utc>" | "fallback: <why>"; "" with none
    std::string order = "cells";   // the order of the trials: "cells" | "rounds" | "alternating" (model::Order)
    // Disturbed trials (trials.disturbed): "drop" = left out of the statistics, "keep" = in them.
    std::string disturbed_trials = "drop";
    // repeats = "auto": its settings ("precision=0.03 pilot=6 max=40 budget=0"); "" when off.
    std::string repeats_auto;
    // The interpreter whose speed the calibration measured (CpythonEngine::library_description);
    // "" with no calibration.
    std::string calibration_interpreter;
};

// The file system has no room for the next write (ENOSPC, or the quota: EDQUOT). The message
// names the file and the fix (free space, then --resume).
class DiskFullError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

enum class RunStatus { running, complete, interrupted, failed };
const char* to_string(RunStatus s);
// The inverse of to_string; nullopt for any other text.
std::optional<RunStatus> parse_run_status(std::string_view text);

// A run as listed in a file: enough to choose one to resume.
struct RunListing {
    std::string name;              // "run-003"
    // nullopt: no status attribute, or one this version does not know (status_text says which)
    std::optional<RunStatus> status;
    std::string status_text;       // the attribute as stored
    std::string job;               // its TOML text
    std::string started_utc;
    std::string writer;            // "pid N on host H since T": who last set it running ("" before the attribute)
    std::string heartbeat_utc;     // when its writer last wrote to it ("" before the attribute)
};

// What a stored run holds (to resume it). Only finished trials (those in `trials`) count:
// workers of a trial that was cut short are left out.
struct StoredRun {
    std::vector<model::Cell> cells;                  // fields older files lack keep defaults
    std::vector<model::TrialRecord> trials;
    std::vector<model::WorkerRecord> workers;
    std::vector<model::CellSummaryRecord> summary;   // empty if the run has none
    std::vector<std::string> hosts;
    // The run's urllib costs (one value per field per node, like hosts), their fields' names
    // (empty in files from before the names: 18 per node then were the current record's fields
    // in order; 7, 14 or 16 in older files) and how it had them; empty in runs without emulated
    // io cells and in files from before these attributes: a resumed start keeps them, so all of
    // a run's trials ran the same costs.
    std::vector<std::int64_t> urllib_costs_ns;
    std::vector<std::string> urllib_costs_fields;
    std::string calibration;
    // The run's trial order ("cells" | "rounds"); "" in files from before the attribute (their
    // runs took cells order). A resumed start keeps it.
    std::string order;
    // "drop" | "keep" (RunInfo::disturbed_trials); "" in files from before the attribute.
    std::string disturbed_trials;
    // repeats = "auto" (RunInfo::repeats_auto, "" when off or from older files) and the
    // measured rounds its pilot fixed (0: not yet).
    std::string repeats_auto;
    int auto_rounds = 0;
};

class RunWriter;
namespace detail {
struct file_state;  // the open file, shared by ResultsFile and its RunWriters
struct run_state;   // one run's group and tables
}  // namespace detail

class ResultsFile {
public:
    // Creates the file with the root attributes, or opens an existing gilbench/1 file to
    // add another run. Throws std::runtime_error naming the path, the problem and the fix
    // (not writable, not HDF5, another schema) with HDF5's own message.
    static ResultsFile open_or_create(const std::string& path, const FileInfo& info);
    // As open_or_create, but an existing file is deleted first (--overwrite). Only a gilbench/1
    // file that no other process holds is deleted; anything else is refused and left alone.
    static ResultsFile create_replacing(const std::string& path, const FileInfo& info);

    ResultsFile(ResultsFile&&) noexcept;
    ResultsFile& operator=(ResultsFile&&) noexcept;
    ~ResultsFile();

    const std::string& path() const;
    // Non-empty when the writers' lock could not be taken because the file system has no
    // locks (the file is written anyway; the text says what that risks).
    const std::string& lock_warning() const;
    std::vector<RunListing> runs() const;  // in name order (= creation order)

    // Creates /runs/<name> (name: "run-000", "run-001", ...: one past the highest existing)
    // with empty tables and status "running".
    RunWriter begin_run(const RunInfo& info);

    // Reads /runs/<name> back without changing anything.
    StoredRun read_run(const std::string& name) const;
    // Reopens /runs/<name> to continue it: drops the rows of trials that never reached
    // `trials` (their count goes to *dropped_rows), records the resume (resumed_utc,
    // resume_command_lines) and sets the status back to "running".
    RunWriter resume_run(const std::string& name, const std::string& started_utc,
                         std::size_t* dropped_rows = nullptr);

private:
    explicit ResultsFile(std::shared_ptr<detail::file_state> state);
    std::shared_ptr<detail::file_state> state_;  // shared: a RunWriter keeps the file open
};

class RunWriter {
public:
    RunWriter(RunWriter&&) noexcept;
    RunWriter& operator=(RunWriter&&) noexcept;
    ~RunWriter();  // never throws; leaves the status as it was

    const std::string& name() const;
    std::size_t trials_written() const;  // rows in `trials`, resumed ones included
    void add_cells(const std::vector<model::Cell>& cells);      // appends + flushes
    void add_trial(const model::TrialResult& result);           // appends + flushes
    // Replaces /runs/<run>/summary with these rows (one per cell); flushes.
    void write_summary(const std::vector<model::CellSummaryRecord>& rows);
    // Replaces the hosts and nodes attributes (a resumed run may add hosts); flushes.
    void set_hosts(const std::vector<std::string>& hosts);
    // The server_requests attribute: per host of the run, the requests its embedded server
    // answered during this start (-1: no server there); flushes.
    void set_server_requests(const std::vector<std::int64_t>& per_node);
    void set_status(RunStatus status);  // + finished_utc: now, or "" for running; flushes
    // repeats = "auto": the measured rounds the pilot fixed and why (auto_rounds,
    // auto_rounds_reason); flushes.
    void set_auto_rounds(int rounds, const std::string& reason);

private:
    friend class ResultsFile;
    explicit RunWriter(std::unique_ptr<detail::run_state> state);
    std::unique_ptr<detail::run_state> state_;
};

}  // namespace gilbench::store
