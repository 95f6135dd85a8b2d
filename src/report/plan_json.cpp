#include "report/plan_json.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

namespace gilbench::report {

namespace {

nlohmann::ordered_json cell_json(const model::Cell& c) {
    // In the order of the `cells` table's documentation; ordered_json keeps it.
    return {
        {"cell", c.index},
        {"name", c.name},
        {"workload", model::to_string(c.workload)},
        {"gil", c.gil},
        {"ranks", c.ranks},
        {"threads", c.threads},
        {"io_threads", c.io_threads},
        {"work", c.work},
        {"scaling", model::to_string(c.scaling)},
        {"switch_interval_s", c.switch_interval_s},
        {"check_interval", c.check_interval},
        {"url", c.url},
        {"latency_s", c.latency_s},
        {"keep_alive", c.keep_alive},
        {"repeats", c.repeats},
        {"warmups", c.warmups},
        {"trace", c.trace},
        {"time_budget_s", c.time_budget_s},
        {"io_timeout_s", c.io_timeout_s},
        {"placement", model::to_string(c.placement)},
        {"workers", c.workers()},
        {"trials", c.warmups + c.repeats},
    };
}

}  // namespace

std::string plan_json(std::string_view job_name, std::string_view description, std::string_view path,
                      const std::vector<model::Cell>& cells) {
    int max_ranks = 0;
    long trials = 0;
    auto list = nlohmann::ordered_json::array();
    for (const auto& c : cells) {
        max_ranks = std::max(max_ranks, c.ranks);
        trials += c.warmups + c.repeats;
        list.push_back(cell_json(c));
    }
    const nlohmann::ordered_json doc = {
        {"job", job_name},        {"description", description}, {"path", path},
        {"max_ranks", max_ranks}, {"trials", trials},           {"cells", std::move(list)},
    };
    // replace: a path from the command line may be any bytes; TOML strings are UTF-8 already.
    return doc.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

}  // namespace gilbench::report
