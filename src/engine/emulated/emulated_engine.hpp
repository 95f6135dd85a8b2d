// The emulated engine: each rank is one emulated Python process. A trial's threads share one
// gil::Gil (gil/, modelled on CPython's ceval_gil.c) and run their work as bytecode in the
// interp/ interpreter; what each thread does (the countdown, urllib-like GETs, the convoy's
// CPU threads) stays in workloads/, the emulated engine's workloads, which this engine picks
// per thread and runs between taking the GIL and dropping it, as a new Python thread would.
// It measures everything the schema has: GIL counters, the trace, per-request timings.
#pragma once

#include "engine/engine.hpp"
#include "engine/emulated/workloads/workload.hpp"

namespace gilbench::engine {

class EmulatedEngine final : public Engine {
public:
    // `urllib`: what its I/O threads run between their steps (engine/cpython/calibration.hpp measures it
    // for the run; tests that need no machine's figures get the documented fallback).
    explicit EmulatedEngine(const workloads::UrllibCosts& urllib = workloads::UrllibCosts::fallback())
        : urllib_(urllib) {}
    std::string_view name() const override { return "emulated"; }
    void set_urllib_costs(const workloads::UrllibCosts& urllib) { urllib_ = urllib; }
    const workloads::UrllibCosts& urllib_costs() const { return urllib_; }
    // Throws on a GIL configuration the lock refuses (a switch interval <= 0, ...).
    std::unique_ptr<TrialWorkers> make_trial(const model::Cell& cell, const TrialContext& trial) override;

private:
    workloads::UrllibCosts urllib_;
};

}  // namespace gilbench::engine
