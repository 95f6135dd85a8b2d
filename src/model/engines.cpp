#include "model/engines.hpp"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

namespace gilbench::model {
namespace {

// The registered engines and their names (the engine field's choices), added to together.
struct Registry {
    std::vector<const EngineDescriptor*> all;
    std::vector<std::string_view> names;

    void add(const EngineDescriptor& d) {
        all.push_back(&d);
        names.push_back(d.name);
    }
};

// The one place that lists the built-in engines. A new engine adds its line here (its
// descriptor lives in its own folder, its factory in engine/factory.cpp).
Registry& registry() {
    static Registry r = [] {
        Registry built_in;
        built_in.add(emulated_descriptor());
        built_in.add(cpython_descriptor());
        return built_in;
    }();
    return r;
}

template <class T>
bool contains(const std::vector<T>& v, T x) {
    return std::find(v.begin(), v.end(), x) != v.end();
}

template <class E>
std::string names_of(const std::vector<E>& v) {
    std::string out;
    for (std::size_t i = 0; i < v.size(); ++i)
        out += fmt::format("{}{}", i == 0 ? "" : i + 1 == v.size() ? " or " : ", ", to_string(v[i]));
    return out;
}

// The engines that accept what `ok` asks, for "use engine = ..." hints.
template <class Pred>
std::string engines_that(Pred ok) {
    std::vector<std::string_view> names;
    for (const EngineDescriptor* d : registry().all)
        if (ok(*d)) names.push_back(d->name);
    if (names.empty()) return "no engine";
    std::string out;
    for (std::size_t i = 0; i < names.size(); ++i)
        out += fmt::format("{}engine = \"{}\"", i == 0 ? "" : i + 1 == names.size() ? " or " : ", ", names[i]);
    return out;
}

// The generic wording of a refusal of `key`.
std::string generic_refusal(const EngineDescriptor& d, std::string_view key, const Cell& c) {
    if (key == "workload")
        return fmt::format("engine = \"{}\" does not run workload = \"{}\" (it runs {}); use {}", d.name,
                           to_string(c.workload), names_of(d.accepts.workloads),
                           engines_that([&](const EngineDescriptor& e) { return e.accepts_workload(c.workload); }));
    if (key == "gil")
        return fmt::format("engine = \"{}\" does not run gil = \"{}\" (it runs {}); use {}", d.name, to_string(c.gil),
                           names_of(d.accepts.gils),
                           engines_that([&](const EngineDescriptor& e) { return e.accepts_gil(c.gil); }));
    if (key == "parallel")
        return fmt::format("engine = \"{}\" does not run parallel = \"{}\" (it runs {}); use {}", d.name,
                           to_string(c.parallel), names_of(d.accepts.parallels),
                           engines_that([&](const EngineDescriptor& e) { return e.accepts_parallel(c.parallel); }));
    if (key == "keep_alive")
        return fmt::format("engine = \"{}\" opens a fresh connection per request; set keep_alive = false, or use {}",
                           d.name, engines_that([](const EngineDescriptor& e) { return e.accepts.keep_alive; }));
    return fmt::format("engine = \"{}\" records no trace for this cell; set trace = false", d.name);
}

}  // namespace

bool EngineDescriptor::accepts_workload(Workload w) const { return contains(accepts.workloads, w); }
bool EngineDescriptor::accepts_gil(GilPolicy g) const { return contains(accepts.gils, g); }
bool EngineDescriptor::accepts_parallel(Parallel p) const { return contains(accepts.parallels, p); }

std::span<const EngineDescriptor* const> engines() { return registry().all; }

const EngineDescriptor* find_engine(std::string_view name) {
    for (const EngineDescriptor* d : registry().all)
        if (d->name == name) return d;
    return nullptr;
}

const EngineDescriptor& engine_of(const Cell& cell) {
    if (const EngineDescriptor* d = find_engine(cell.engine)) return *d;
    throw std::logic_error(fmt::format("cell '{}': engine '{}' is not registered", cell.name, cell.engine));
}

std::span<const std::string_view> engine_name_list() { return registry().names; }

std::string engine_names_text() {
    std::string out;
    for (const EngineDescriptor* d : registry().all) out += fmt::format("{}{}", out.empty() ? "" : ", ", d->name);
    return out;
}

std::string engine_name_problem(std::string_view name) {
    if (find_engine(name)) return {};
    return fmt::format("'{}' is not one of: {}", name, engine_names_text());
}

std::optional<Refusal> engine_refusal(const Cell& c) {
    const EngineDescriptor& d = engine_of(c);
    std::string_view key;
    if (!d.accepts_workload(c.workload)) key = "workload";
    else if (!d.accepts_gil(c.gil)) key = "gil";
    else if (!d.accepts_parallel(c.parallel)) key = "parallel";
    else if (c.keep_alive && !d.accepts.keep_alive) key = "keep_alive";
    else if (c.trace && d.measures(c).trace == TraceEvents::none) key = "trace";
    else return std::nullopt;
    Refusal r = d.explain ? d.explain(key, c) : Refusal{};
    if (r.key.empty()) r.key = key;
    if (r.text.empty()) r.text = generic_refusal(d, key, c);
    return r;
}

std::span<const EngineColumn> engine_columns() {
    static const std::vector<EngineColumn> columns{
        {.column = "engine_label", .text = true, .text_of = [](const Cell& c) { return std::string(engine_of(c).label); }},
        {.column = "engine_real", .flag_of = [](const Cell& c) { return engine_of(c).real; }},
        {.column = "gil_counters", .flag_of = [](const Cell& c) { return engine_of(c).measures(c).gil_counters; }},
        {.column = "trace_events",
         .text = true,
         .text_of = [](const Cell& c) { return std::string(to_string(engine_of(c).measures(c).trace)); }},
        {.column = "request_timings", .flag_of = [](const Cell& c) { return engine_of(c).measures(c).request_timings; }},
        {.column = "lock_free", .flag_of = [](const Cell& c) { return lock_free(c.gil); }},
    };
    return columns;
}

namespace testing {
void register_engine(const EngineDescriptor& descriptor) {
    if (find_engine(descriptor.name))
        throw std::invalid_argument(fmt::format("engine '{}' is registered already", descriptor.name));
    if (!descriptor.measures)
        throw std::invalid_argument(fmt::format("engine '{}' has no measures(): every descriptor says what it "
                                                "measures of a cell",
                                                descriptor.name));
    registry().add(descriptor);
}
}  // namespace testing

}  // namespace gilbench::model
