#include "engine/engine.hpp"

namespace gilbench::engine {

// Out of line: one home for the vtables.
TrialWorkers::~TrialWorkers() = default;
Engine::~Engine() = default;

}  // namespace gilbench::engine
