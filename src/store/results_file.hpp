// The HDF5 results file (schema "gilbench/1", docs/hdf5-schema.md), written by rank 0.
// Tables are extendible chunked compound datasets; every append is followed by a flush,
// so an interrupted run keeps every finished trial.
// Use a ResultsFile and its RunWriters from one thread. The file stays open (and HDF5-locked
// against other writers) until the ResultsFile and all its RunWriters are gone.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "model/cell.hpp"
#include "model/records.hpp"

namespace gilbench::store {

inline constexpr const char* schema = "gilbench/1";

// Root attributes, written when the file is created.
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

// Attributes of /runs/<run>.
struct RunInfo {
    std::string job;               // the TOML text
    std::string job_path;
    std::string started_utc;       // ISO 8601; empty: the store writes the current time
    int ranks = 0;                 // world size
    int nodes = 0;
    std::vector<std::string> hosts;  // index = node id used in workers.node
};

enum class RunStatus { running, complete, interrupted, failed };

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

    ResultsFile(ResultsFile&&) noexcept;
    ResultsFile& operator=(ResultsFile&&) noexcept;
    ~ResultsFile();

    // Creates /runs/<name> (name: "run-000", "run-001", ...: one past the highest existing)
    // with empty cells/trials/workers/trace tables and status "running".
    RunWriter begin_run(const RunInfo& info);

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
    void add_cells(const std::vector<model::Cell>& cells);      // appends + flushes
    void add_trial(const model::TrialResult& result);           // appends + flushes
    void set_status(RunStatus status);  // + finished_utc: now, or "" for running; flushes

private:
    friend class ResultsFile;
    explicit RunWriter(std::unique_ptr<detail::run_state> state);
    std::unique_ptr<detail::run_state> state_;
};

const char* to_string(RunStatus s);

}  // namespace gilbench::store
