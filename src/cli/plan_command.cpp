#include "cli/plan_command.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli/cell_options.hpp"
#include "job/job.hpp"
#include "model/cell_fields.hpp"
#include "report/plan_json.hpp"

namespace gilbench::cli {

void setup_plan(CLI::App& app, PlanOptions& plan, PlanOptions& validate, int& exit_code) {
    CLI::App* p = app.add_subcommand("plan", "Print the cells a job file expands to (sweeps included), without running anything");
    p->add_option("job", plan.job_path, "Job file (TOML), e.g. jobs/scaling.toml")->required();
    add_cell_options(*p, plan.overrides, CellOptionsFor::plan);  // every override `run` takes
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

// One row per cell: the fields with a plan column (model::cell_fields(), in plan_column
// order), each as wide as its widest entry, numbers right-aligned; then every other setting
// that differs from its default, as "key value".
std::string plan_table(const std::vector<model::Cell>& cells) {
    std::vector<const model::CellField*> columns;
    for (const model::CellField& f : model::cell_fields())
        if (f.plan_column > 0) columns.push_back(&f);
    std::sort(columns.begin(), columns.end(),
              [](const auto* a, const auto* b) { return a->plan_column < b->plan_column; });

    std::vector<std::vector<std::string>> rows;  // [0]: the headers
    rows.emplace_back(1, "#");
    for (const auto* f : columns) rows[0].emplace_back(f->plan_header);
    std::vector<std::string> extras(1);
    for (const auto& c : cells) {
        auto& row = rows.emplace_back(1, std::to_string(c.index));
        for (const auto* f : columns) row.push_back(f->text(c));
        std::string& extra = extras.emplace_back();
        for (const model::CellField& f : model::cell_fields())
            if (f.plan_column == 0 && f.get(c) != f.default_value()) extra += fmt::format("  {} {}", f.key, f.text(c));
    }
    std::vector<std::size_t> width(rows[0].size(), 0);
    for (const auto& row : rows)
        for (std::size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
    auto right_aligned = [&](std::size_t i) {
        if (i == 0) return true;
        const model::FieldKind k = columns[i - 1]->kind;
        return k == model::FieldKind::integer || k == model::FieldKind::number;
    };
    std::string out;
    for (std::size_t r = 0; r < rows.size(); ++r) {
        std::string line;
        for (std::size_t i = 0; i < rows[r].size(); ++i) {
            line += i == 0 ? "" : "  ";
            line += right_aligned(i) ? fmt::format("{:>{}}", rows[r][i], width[i]) : fmt::format("{:<{}}", rows[r][i], width[i]);
        }
        line += extras[r];
        while (!line.empty() && line.back() == ' ') line.pop_back();
        out += line + "\n";
    }
    return out;
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
        fmt::print("{}", report::plan_json(job.name, job.description, options.job_path, job.cells, job.order));
        return 0;
    }
    fmt::print("job '{}': {} cells, {} trials; needs mpirun -np {} (at least)\n", job.name, job.cells.size(), trials,
               job.max_ranks());
    if (job.order == model::Order::rounds)
        fmt::print("trials in rounds ([job] order = \"rounds\"): round k runs trial k of every cell that has one, "
                   "in this order, before round k + 1\n");
    else if (job.order == model::Order::alternating)
        fmt::print("trials in rounds ([job] order = \"alternating\", the default): round k runs trial k of every cell "
                   "that has one, in this order in even rounds and in reverse in odd ones, before round k + 1\n");
    else
        fmt::print("trials cell by cell ([job] order = \"cells\"): no two cells run close in time, so their ratios "
                   "carry the machine's drift\n");
    if (job.auto_rounds.on) {
        const model::AutoRounds& a = job.auto_rounds;
        fmt::print("repeats = \"auto\": the trials above are the pilot ({} measured rounds); its spread then fixes "
                   "the rounds that give every ratio a 95 % interval of +-{:g} %, at most {}{} (docs/statistics.md)\n",
                   a.pilot, 100 * a.precision, a.max,
                   a.budget_s > 0 ? fmt::format(", within {:g} s", a.budget_s) : std::string());
    }
    fmt::print("{}", plan_table(job.cells));
    return 0;
}

}  // namespace gilbench::cli
