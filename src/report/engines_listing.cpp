#include "report/engines_listing.hpp"

#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "model/engines.hpp"

namespace gilbench::report {
namespace {

constexpr model::Workload all_workloads[] = {model::Workload::cpu, model::Workload::io, model::Workload::mixed,
                                             model::Workload::python};
constexpr model::Parallel all_parallels[] = {model::Parallel::threads, model::Parallel::subinterpreters};

template <class E>
std::vector<std::string> names(const std::vector<E>& v) {
    std::vector<std::string> out;
    for (E e : v) out.emplace_back(model::to_string(e));
    return out;
}

// What the engine measures of each workload it runs, per parallel mode: measures() is a
// function of the cell, and these are the settings it looks at.
nlohmann::ordered_json measures_json(const model::EngineDescriptor& d) {
    nlohmann::ordered_json out = nlohmann::ordered_json::object();
    for (model::Workload w : d.accepts.workloads)
        for (model::Parallel p : d.accepts.parallels) {
            model::Cell c;
            c.engine = std::string(d.name);
            c.workload = w;
            c.parallel = p;
            const model::Measures m = d.measures(c);
            out[fmt::format("{}/{}", model::to_string(w), model::to_string(p))] = {
                {"gil_counters", m.gil_counters},
                {"trace", model::to_string(m.trace)},
                {"request_timings", m.request_timings},
                {"calibration", d.needs_calibration && d.needs_calibration(c)},
            };
        }
    return out;
}

}  // namespace

std::string engines_json() {
    auto list = nlohmann::ordered_json::array();
    for (const model::EngineDescriptor* d : model::engines())
        list.push_back({
            {"name", d->name},
            {"label", d->label},
            {"summary", d->summary},
            {"real", d->real},
            {"accepts",
             {{"workload", names(d->accepts.workloads)},
              {"gil", names(d->accepts.gils)},
              {"parallel", names(d->accepts.parallels)},
              {"keep_alive", d->accepts.keep_alive}}},
            {"measures", measures_json(*d)},
            {"runtime_checks", d->runtime_checks},
        });
    return nlohmann::ordered_json{{"engines", std::move(list)}}.dump(2) + "\n";
}

std::string engines_text() {
    std::string out;
    for (const model::EngineDescriptor* d : model::engines()) {
        out += fmt::format("{} ({}, {})\n  {}\n", d->name, d->label, d->real ? "the real interpreter" : "a model",
                           d->summary);
        out += fmt::format("  accepts   workload {}; gil {}; parallel {}; keep_alive {}\n",
                           fmt::join(names(d->accepts.workloads), ", "), fmt::join(names(d->accepts.gils), ", "),
                           fmt::join(names(d->accepts.parallels), ", "), d->accepts.keep_alive ? "yes" : "no");
        for (model::Workload w : all_workloads)
            for (model::Parallel p : all_parallels) {
                if (!d->accepts_workload(w) || !d->accepts_parallel(p)) continue;
                model::Cell c;
                c.engine = std::string(d->name);
                c.workload = w;
                c.parallel = p;
                const model::Measures m = d->measures(c);
                out += fmt::format("  {:<25}GIL counters {}; trace {}; request timings {}{}\n",
                                   fmt::format("{}, {}:", model::to_string(w), model::to_string(p)),
                                   m.gil_counters ? "yes" : "no", model::to_string(m.trace),
                                   m.request_timings ? "yes" : "no",
                                   d->needs_calibration && d->needs_calibration(c) ? "; calibrated per node" : "");
            }
        if (!d->runtime_checks.empty()) out += fmt::format("  checks    {}\n", d->runtime_checks);
        out += "\n";
    }
    return out;
}

}  // namespace gilbench::report
