#include "report/engines_listing.hpp"

#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "model/engines.hpp"

namespace gilbench::report {
namespace {

template <class E>
std::vector<std::string> names(const std::vector<E>& v) {
    std::vector<std::string> out;
    for (E e : v) out.emplace_back(model::to_string(e));
    return out;
}

// What the engine measures of a cell of each workload and parallel mode it runs (measures() is
// a function of the cell, and these are the settings it looks at), in the accepts' order.
struct Probe {
    model::Workload workload;
    model::Parallel parallel;
    model::Measures measures;
    bool calibrated;
};

std::vector<Probe> probes(const model::EngineDescriptor& d) {
    std::vector<Probe> out;
    for (model::Workload w : d.accepts.workloads)
        for (model::Parallel p : d.accepts.parallels) {
            model::Cell c;
            c.engine = std::string(d.name);
            c.workload = w;
            c.parallel = p;
            out.push_back({w, p, d.measures(c), d.needs_calibration && d.needs_calibration(c)});
        }
    return out;
}

nlohmann::ordered_json measures_json(const model::EngineDescriptor& d) {
    nlohmann::ordered_json out = nlohmann::ordered_json::object();
    for (const Probe& p : probes(d))
        out[fmt::format("{}/{}", model::to_string(p.workload), model::to_string(p.parallel))] = {
            {"gil_counters", p.measures.gil_counters},
            {"trace", model::to_string(p.measures.trace)},
            {"request_timings", p.measures.request_timings},
            {"calibration", p.calibrated},
        };
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
        for (const Probe& p : probes(*d))
            out += fmt::format("  {:<25}GIL counters {}; trace {}; request timings {}{}\n",
                               fmt::format("{}, {}:", model::to_string(p.workload), model::to_string(p.parallel)),
                               p.measures.gil_counters ? "yes" : "no", model::to_string(p.measures.trace),
                               p.measures.request_timings ? "yes" : "no", p.calibrated ? "; calibrated per node" : "");
        if (!d->runtime_checks.empty()) out += fmt::format("  checks    {}\n", d->runtime_checks);
        out += "\n";
    }
    return out;
}

}  // namespace gilbench::report
