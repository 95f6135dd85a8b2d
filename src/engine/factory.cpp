#include "engine/factory.hpp"

#include <stdexcept>
#include <vector>

#include <fmt/format.h>

#include "engine/cpython/cpython_engine.hpp"
#include "engine/emulated/emulated_engine.hpp"

namespace gilbench::engine {
namespace {

// Every engine's factory, by its descriptor's name: a new engine adds its line here (and its
// descriptor's to model/engines.cpp).
std::map<std::string, EngineFactory, std::less<>>& factories() {
    static std::map<std::string, EngineFactory, std::less<>> all{
        {"emulated", [](const EngineSetup& s) { return std::make_unique<EmulatedEngine>(s.urllib_costs); }},
        {"cpython", [](const EngineSetup&) { return std::make_unique<CpythonEngine>(); }},
    };
    return all;
}

}  // namespace

std::unique_ptr<Engine> make_engine(std::string_view name, const EngineSetup& setup) {
    const auto it = factories().find(name);
    if (it == factories().end())
        throw std::invalid_argument(fmt::format("no engine '{}' was built into this gilbench (engines: {})", name,
                                                model::engine_names_text()));
    return it->second(setup);
}

Engine& EngineSet::for_cell(const model::Cell& cell) {
    auto it = made_.find(cell.engine);
    if (it == made_.end()) it = made_.emplace(cell.engine, make_engine(cell.engine, setup_)).first;
    return *it->second;
}

namespace testing {
void register_engine(const model::EngineDescriptor& descriptor, EngineFactory factory) {
    model::testing::register_engine(descriptor);
    factories().emplace(std::string(descriptor.name), std::move(factory));
}
}  // namespace testing

}  // namespace gilbench::engine
