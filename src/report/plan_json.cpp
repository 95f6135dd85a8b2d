#include "report/plan_json.hpp"

#include <algorithm>
#include <string>
#include <variant>

#include <nlohmann/json.hpp>

#include "model/cell_fields.hpp"
#include "model/engines.hpp"

namespace gilbench::report {

namespace {

// The cell's `cells` row as the results file will hold it: "cell", then every setting under
// its column name in column order (model::cell_fields(), so a new setting appears here by
// itself), its engine's columns (model::engine_columns()), then two derived counts; ordered_json keeps that order.
nlohmann::ordered_json cell_json(const model::Cell& c) {
    nlohmann::ordered_json out;
    out["cell"] = c.index;
    for (const model::CellField& f : model::cell_fields()) {
        const std::string column(f.column);
        std::visit([&](const auto& v) { out[column] = v; }, f.get(c));
    }
    // What its engine measures of it, as the file's engine columns will say.
    for (const model::EngineColumn& e : model::engine_columns()) {
        const std::string column(e.column);
        if (e.text) out[column] = e.text_of(c);
        else out[column] = e.flag_of(c);
    }
    out["workers"] = c.workers();
    out["trials"] = c.warmups + c.repeats;
    return out;
}

}  // namespace

std::string plan_json(std::string_view job_name, std::string_view description, std::string_view path,
                      const std::vector<model::Cell>& cells, model::Order order) {
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
        {"max_ranks", max_ranks}, {"trials", trials},           {"order", model::to_string(order)},
        {"cells", std::move(list)},
    };
    // replace: a path from the command line may be any bytes; TOML strings are UTF-8 already.
    return doc.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

}  // namespace gilbench::report
