#include "store/resume_plan.hpp"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "report/summary.hpp"

namespace gilbench::store {
namespace {

// Every known status but complete; a run with no status, or one a newer version wrote, is left alone.
bool resumable(const std::optional<RunStatus>& status) { return status && *status != RunStatus::complete; }

void add_note(std::string& note, const std::string& text) {
    note = note.empty() ? text : note + "\ngilbench: " + text;
}

}  // namespace

bool HostMap::identity() const {
    for (std::size_t i = 0; i < node.size(); ++i)
        if (node[i] != static_cast<int>(i)) return false;
    return true;
}

HostMap merge_hosts(const std::vector<std::string>& stored, const std::vector<std::string>& now) {
    HostMap m{stored, {}, false};
    for (const auto& h : now) {
        auto it = std::find(m.hosts.begin(), m.hosts.end(), h);
        if (it == m.hosts.end()) {
            it = m.hosts.insert(m.hosts.end(), h);
            m.added = true;
        }
        m.node.push_back(static_cast<int>(it - m.hosts.begin()));
    }
    return m;
}

runner::Done ResumePlan::done(std::size_t cells) const {
    runner::Done d;
    if (!stored) return d;  // empty: run everything
    d.trials.resize(cells);
    d.closed.assign(cells, 0);
    d.walls.resize(cells);
    d.auto_rounds = stored->auto_rounds;
    for (const auto& t : stored->trials)
        if (t.cell >= 0 && static_cast<std::size_t>(t.cell) < cells) {
            d.trials[static_cast<std::size_t>(t.cell)].push_back(t.trial);
            if (!t.warmup && t.io_errors == 0)
                d.walls[static_cast<std::size_t>(t.cell)].push_back({t.round, t.wall_s, t.disturbed});
        }
    for (const auto& s : stored->summary)
        if (report::parse_cell_state(s.state) == report::CellState::budget && s.cell >= 0 &&
            static_cast<std::size_t>(s.cell) < cells)
            d.closed[static_cast<std::size_t>(s.cell)] = 1;
    return d;
}

HostMap ResumePlan::hosts(const std::vector<std::string>& now) const {
    if (stored) return merge_hosts(stored->hosts, now);
    HostMap m = merge_hosts({}, now);  // a new run: its hosts are this start's, written with the run
    m.added = false;
    return m;
}

std::vector<std::int64_t> ResumePlan::kept_costs(const std::vector<std::string>& now,
                                                 const std::vector<std::string>& fields) const {
    if (!stored || stored->calibration.empty() || fields.empty()) return {};
    const auto& costs = stored->urllib_costs_ns;
    const auto& names = stored->urllib_costs_fields.empty() ? fields : stored->urllib_costs_fields;
    const std::size_t per_node = names.size();
    if (costs.size() != per_node * stored->hosts.size()) return {};
    std::vector<std::size_t> position;  // of each of `fields` among a node's stored values
    for (const std::string& f : fields) {
        auto it = std::find(names.begin(), names.end(), f);
        // A run stored before the old GIL's own countdown (record version 4) timed its ticks on
        // the embedded countdown: keep doing so.
        if (it == names.end() && f == "old_gil_countdown_per_1000_ns")
            it = std::find(names.begin(), names.end(), "countdown_per_1000_ns");
        if (it == names.end()) return {};
        position.push_back(static_cast<std::size_t>(it - names.begin()));
    }
    std::vector<std::int64_t> out;
    for (const int h : hosts(now).node) {
        const auto at = static_cast<std::size_t>(h) * per_node;
        if (at + per_node > costs.size()) return {};  // a host new to the run: none stored
        for (const std::size_t p : position) out.push_back(costs[at + p]);
    }
    return out;
}

Target open_target(const std::string& output, const FileInfo& info, const job::Job& job, bool resume,
                   bool overwrite) {
    if (resume && overwrite)
        throw ResumeRefused("--resume continues a run in the results file and --overwrite deletes the file: "
                            "use one of them");
    const bool exists = std::filesystem::exists(output);
    const auto parent = std::filesystem::path(output).parent_path();
    if (!parent.empty() && !exists) std::filesystem::create_directories(parent);
    Target t{overwrite ? ResultsFile::create_replacing(output, info) : ResultsFile::open_or_create(output, info),
             {}};
    ResumePlan& plan = t.plan;
    if (!t.file.lock_warning().empty()) plan.note = "warning: " + t.file.lock_warning();
    if (!resume) return t;
    if (!exists) {
        add_note(plan.note, fmt::format("nothing to resume in {} (no such file): starting a new run", output));
        return t;
    }
    const std::vector<RunListing> runs = t.file.runs();
    // A start refused after the file was made (a bad --url, a full disk) leaves a file without
    // runs; a batch script that always passes --resume must still get going.
    if (runs.empty()) {
        add_note(plan.note, fmt::format("nothing to resume in {} (it has no runs yet): starting a new run", output));
        return t;
    }
    std::vector<const RunListing*> unfinished, same_job;
    for (const auto& r : runs)
        if (resumable(r.status)) {
            unfinished.push_back(&r);
            if (r.job == job.text) same_job.push_back(&r);
        }
    if (unfinished.empty())
        throw ResumeRefused(fmt::format("nothing to resume in '{}': its {} run(s) are complete (the latest is {}); "
                                        "run without --resume to add a new run",
                                        output, runs.size(), runs.back().name));
    if (same_job.empty())
        throw ResumeRefused(fmt::format(
            "cannot resume in '{}': its unfinished run {} ran another job (its text, attribute 'job' of /runs/{}, "
            "differs from {}); pass the job file that run used, or run without --resume to add a new run",
            output, unfinished.back()->name, unfinished.back()->name, job.path));
    const RunListing& run = *same_job.back();
    StoredRun stored = t.file.read_run(run.name);
    if (const std::string diff = job::plan_difference(stored.cells, job.cells); !diff.empty())
        throw ResumeRefused(fmt::format("cannot resume /runs/{} in '{}': the plan differs: {}; resume with the "
                                        "options the run started with (--repeats, --threads, --gil, ...)",
                                        run.name, output, diff));
    plan.run = run.name;
    // This start holds the writer lock now, so a run still marked running has no live writer:
    // it was killed before it could mark the run (SIGKILL, a node lost). Where the file system
    // has no locks that cannot be known, and the status is said as stored.
    const bool orphaned = run.status == RunStatus::running && t.file.lock_warning().empty();
    add_note(plan.note, fmt::format("resuming /runs/{} (status '{}'{}, {} finished trials) in {}", run.name,
                                    orphaned ? "interrupted" : run.status_text,
                                    orphaned ? fmt::format(": its writer is gone{}",
                                                           run.writer.empty() ? "" : " (" + run.writer + ")")
                                             : std::string(),
                                    stored.trials.size(), output));
    plan.stored = std::move(stored);
    return t;
}

}  // namespace gilbench::store
