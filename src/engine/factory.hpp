// Making engines: the one place that knows each engine's implementation (model/engines.hpp
// describes them; the CLI asks this file for the engines a run's cells name).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "engine/emulated/workloads/workload.hpp"
#include "engine/engine.hpp"
#include "model/engines.hpp"

namespace gilbench::engine {

// What a run hands every engine it makes. An engine whose descriptor does not ask for the
// calibration ignores it.
struct EngineSetup {
    // This rank's node's calibration (engine/cpython/calibration.hpp), or the fallback.
    workloads::UrllibCosts urllib_costs = workloads::UrllibCosts::fallback();
};

using EngineFactory = std::function<std::unique_ptr<Engine>(const EngineSetup&)>;

// A new engine of that name; throws std::invalid_argument for a name no factory has.
std::unique_ptr<Engine> make_engine(std::string_view name, const EngineSetup& setup);

// The engines of one run, one object per engine name, each made when a cell first asks for it:
// the runner prepares each one the plan uses once per rank, and no other.
class EngineSet {
public:
    explicit EngineSet(EngineSetup setup) : setup_(std::move(setup)) {}
    Engine& for_cell(const model::Cell& cell);
    // As runner::run_cells takes it.
    EngineFor engine_for() {
        return [this](const model::Cell& c) -> Engine& { return for_cell(c); };
    }

private:
    EngineSetup setup_;
    std::map<std::string, std::unique_ptr<Engine>, std::less<>> made_;
};

namespace testing {
// A test's fake engine: its descriptor (model::testing::register_engine) and its factory, for
// the rest of the process.
void register_engine(const model::EngineDescriptor& descriptor, EngineFactory factory);
}  // namespace testing

}  // namespace gilbench::engine
