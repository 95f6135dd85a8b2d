// A fake engine added the way a real one is: a descriptor (model/engines.hpp) and a factory
// (engine/factory.hpp), registered through the test-only hook. It runs only cpu cells with the
// new GIL in threads, as a plain C++ countdown that takes no GIL, and measures no GIL counters,
// no trace and no request timings, so every reader of the descriptor (job rules, `gilbench
// engines`, the console tables, the results file and analysis/) has something to show.
#pragma once

#include "model/engines.hpp"

namespace gilbench::testing {

// "fake", labelled "Fake".
const model::EngineDescriptor& fake_descriptor();
// Registers the fake engine for the rest of the process (once; later calls do nothing).
void register_fake_engine();

}  // namespace gilbench::testing
