#include "cli/engines_command.hpp"

#include <memory>

#include "report/console.hpp"
#include "report/engines_listing.hpp"

namespace gilbench::cli {

void setup_engines(CLI::App& app, int& exit_code) {
    CLI::App* cmd = app.add_subcommand("engines", "List the engines: what each accepts (workloads, GIL policies, "
                                                  "parallel modes) and measures (GIL counters, trace, timings)");
    cmd->footer("A cell names its engine with engine = \"...\" (job file) or --engine. The results file stores what\n"
                "each cell's engine measured (cells.gil_counters, trace_events, ...: docs/hdf5-schema.md).");
    auto json = std::make_shared<bool>(false);
    cmd->add_flag("--json", *json, "One JSON document instead of the text, for scripts");
    cmd->callback([json, &exit_code] {
        report::print_safely("{}", *json ? report::engines_json() : report::engines_text());
        exit_code = 0;
    });
}

}  // namespace gilbench::cli
