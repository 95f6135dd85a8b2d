#include "cli/plan_command.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "job/job.hpp"
#include "report/plan_json.hpp"

namespace gilbench::cli {

void setup_plan(CLI::App& app, PlanOptions& plan, PlanOptions& validate, int& exit_code) {
    CLI::App* p = app.add_subcommand("plan", "Print the cells a job file expands to (sweeps included), without running anything");
    p->add_option("job", plan.job_path, "Job file (TOML), e.g. jobs/scaling.toml")->required();
    p->add_option("--threads", plan.overrides.threads, "Show the plan as `run --threads N` would run it");
    p->add_option("--repeats", plan.overrides.repeats, "Show the plan as `run --repeats N` would run it");
    p->add_option("--warmups", plan.overrides.warmups, "Show the plan as `run --warmups N` would run it");
    p->add_option("--time-budget", plan.overrides.time_budget_s, "Show the plan as `run --time-budget S` would run it");
    p->add_flag("--json", plan.json,
                "Print the plan as JSON (job, max_ranks, trials, and each cell with the results file's `cells` "
                "columns), for scripts");
    p->callback([&] { exit_code = run_plan(plan); });

    CLI::App* v = app.add_subcommand("validate", "Check a job file and report the first problem (file:line: key)");
    v->add_option("job", validate.job_path, "Job file (TOML)")->required();
    v->callback([&] {
        validate.validate_only = true;
        exit_code = run_plan(validate);
    });
}

int run_plan(const PlanOptions& options) {
    job::Job job;
    try {
        job = job::load_job(options.job_path);
        job::apply_overrides(job, options.overrides);
    } catch (const job::JobError& e) {
        fmt::print(stderr, "gilbench: error: {}\n", e.what());
        return 1;
    }
    long trials = 0;
    for (const auto& c : job.cells) trials += c.warmups + c.repeats;
    if (options.validate_only) {
        fmt::print("{}: ok, {} cells, needs {} ranks, {} trials\n", options.job_path, job.cells.size(),
                   job.max_ranks(), trials);
        return 0;
    }
    if (options.json) {
        fmt::print("{}", report::plan_json(job.name, job.description, options.job_path, job.cells));
        return 0;
    }
    fmt::print("job '{}': {} cells, {} trials; needs mpirun -np {} (at least)\n", job.name, job.cells.size(), trials,
               job.max_ranks());
    std::size_t name_w = 4;
    for (const auto& c : job.cells) name_w = std::max(name_w, c.name.size());
    fmt::print("{:>3}  {:<{}}  {:<5} {:>5} {:>7} {:>12} {:<6} {:<4} {:>9} {:>9} {:>7} {:>7} {:>8}\n", "#", "name",
               name_w, "load", "ranks", "threads", "work", "scale", "gil", "switch s", "latency", "warmups", "repeats",
               "budget s");
    for (const auto& c : job.cells) {
        std::string extra;
        if (c.placement != model::Placement::launch) extra += fmt::format("  placement {}", model::to_string(c.placement));
        if (c.workload == model::Workload::mixed) extra += fmt::format("  io_threads {}", c.io_threads);
        if (c.gil == "old") extra += fmt::format("  check_interval {}", c.check_interval);
        if (!c.url.empty()) extra += "  url " + c.url;
        if (c.keep_alive) extra += "  keep_alive";
        if (c.io_timeout_s != model::Cell{}.io_timeout_s) extra += fmt::format("  io_timeout {}", c.io_timeout_s);
        if (c.trace) extra += "  trace";
        fmt::print("{:>3}  {:<{}}  {:<5} {:>5} {:>7} {:>12} {:<6} {:<4} {:>9.6f} {:>9.3f} {:>7} {:>7} {:>8}{}\n",
                   c.index, c.name, name_w, model::to_string(c.workload), c.ranks, c.threads, c.work,
                   model::to_string(c.scaling), c.gil, c.switch_interval_s, c.latency_s, c.warmups, c.repeats,
                   c.time_budget_s > 0 ? fmt::format("{}", c.time_budget_s) : "-", extra);
    }
    return 0;
}

}  // namespace gilbench::cli
