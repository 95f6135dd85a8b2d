// The emulated engine: each rank is one emulated Python process. A trial's threads share one
// gil::Gil (gil/, modelled on CPython's ceval_gil.c) and run their work as bytecode in the
// interp/ interpreter; what each thread does (the countdown, urllib-like GETs, the convoy's
// CPU threads) stays in workloads/, the emulated engine's workloads, which this engine picks
// per thread and runs between taking the GIL and dropping it, as a new Python thread would.
// It measures everything the schema has: GIL counters, the trace, per-request timings.
#pragma once

#include "engine/engine.hpp"

namespace gilbench::engine {

class EmulatedEngine final : public Engine {
public:
    std::string_view name() const override { return "emulated"; }
    // Throws on a GIL configuration the lock refuses (a switch interval <= 0, ...).
    std::unique_ptr<TrialWorkers> make_trial(const model::Cell& cell, const TrialContext& trial) override;
};

}  // namespace gilbench::engine
