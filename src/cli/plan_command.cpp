#include "cli/plan_command.hpp"

#include <fmt/format.h>

#include "job/job.hpp"

namespace gilbench::cli {

void setup_plan(CLI::App& app, PlanOptions& plan, PlanOptions& validate, int& exit_code) {
    CLI::App* p = app.add_subcommand("plan", "Print the cells a job file expands to, without running anything");
    p->add_option("job", plan.job_path, "Job file (TOML), e.g. jobs/seed.toml")->required();
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
    } catch (const job::JobError& e) {
        fmt::print(stderr, "gilbench: error: {}\n", e.what());
        return 1;
    }
    if (options.validate_only) {
        fmt::print("{}: ok, {} cells, needs {} ranks\n", options.job_path, job.cells.size(), job.max_ranks());
        return 0;
    }
    fmt::print("job '{}': {} cells, needs mpirun -np {} (at least)\n", job.name, job.cells.size(), job.max_ranks());
    fmt::print("{:>3}  {:<24} {:<4} {:>5} {:>7} {:>12} {:<6} {:<4} {:>9} {:>9} {:>7} {:>7}\n", "#", "name", "load",
               "ranks", "threads", "work", "scale", "gil", "switch s", "latency", "warmups", "repeats");
    for (const auto& c : job.cells)
        fmt::print("{:>3}  {:<24} {:<4} {:>5} {:>7} {:>12} {:<6} {:<4} {:>9.6f} {:>9.3f} {:>7} {:>7}{}\n", c.index,
                   c.name, model::to_string(c.workload), c.ranks, c.threads, c.work, model::to_string(c.scaling),
                   c.gil, c.switch_interval_s, c.latency_s, c.warmups, c.repeats,
                   c.url.empty() ? "" : "  url " + c.url);
    return 0;
}

}  // namespace gilbench::cli
