// Where a start of `gilbench run` writes, decided before any work: the results file opened
// (created, or replaced with --overwrite) and, with --resume, the stored run it continues.
// The ResumePlan is everything the rest of the start needs to know about that run: which
// trials the runner may skip, which cells are closed, and how this start's nodes map onto
// the run's hosts list (one remap, used for workers.node and for server_requests alike).
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "job/job.hpp"
#include "runner/runner.hpp"
#include "store/results_file.hpp"

namespace gilbench::store {

// A refusal about --resume or --overwrite: its message is complete as it is (what is wrong,
// what to do instead).
class ResumeRefused : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// The run's hosts after this start: the stored ones in their order, then any new ones.
struct HostMap {
    std::vector<std::string> hosts;
    std::vector<int> node;  // this start's node id -> index in `hosts`
    bool added = false;     // `hosts` grew: the run's hosts attribute must be rewritten
    bool identity() const;  // node[i] == i for every i
};
HostMap merge_hosts(const std::vector<std::string>& stored, const std::vector<std::string>& now);

struct ResumePlan {
    std::string run;                 // the run to continue ("run-002"); "" : a new run
    std::optional<StoredRun> stored; // what that run holds
    std::string note;                // said before the run starts ("" if nothing); may hold lines

    bool resumes() const { return stored.has_value(); }
    // What the runner may skip: each cell's stored trials, and cells whose budget ran out.
    runner::Done done(std::size_t cells) const;
    // This start's nodes (`now`, Topology::hosts) in the run's hosts list.
    HostMap hosts(const std::vector<std::string>& now) const;
    // The stored run's urllib costs (its first start's calibration) for this start's nodes
    // (`now`), in `now`'s order: per node the values of `fields` (workloads::UrllibCosts::names()),
    // in that order, found by name in the stored run's urllib_costs_fields (a run stored before
    // the names: its values are taken as `fields` in order where there are as many per node).
    // Empty when the run stored none, none for some node, or lacks one of `fields` (a run
    // stored before a cost was added).
    std::vector<std::int64_t> kept_costs(const std::vector<std::string>& now,
                                         const std::vector<std::string>& fields) const;
};

struct Target {
    ResultsFile file;
    ResumePlan plan;
};

// Opens `output` (making its directory) and plans the start. Throws ResumeRefused for
// --resume with --overwrite, a file whose runs are all complete, an unfinished run of another
// job, or a plan that differs from the stored run's; other errors (not writable, not a
// gilbench file) come from the ResultsFile as std::runtime_error.
Target open_target(const std::string& output, const FileInfo& info, const job::Job& job, bool resume,
                   bool overwrite);

}  // namespace gilbench::store
