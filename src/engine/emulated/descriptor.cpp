// The emulated engine described (model/engines.hpp): gilbench's own GIL (gil/) running its
// bytecode interpreter (interp/) for the workloads it owns (workloads/).
#include "model/engines.hpp"

namespace gilbench::model {
namespace {

Measures measures(const Cell&) { return {.gil_counters = true, .trace = TraceEvents::full, .request_timings = true}; }

// urllib's costs stand for the real interpreter's code between an I/O thread's system calls,
// and the old GIL's ticks take the real countdown's time: both come from the calibration.
bool needs_calibration(const Cell& c) {
    return c.workload == Workload::io || c.workload == Workload::mixed || c.gil == GilPolicy::old_gil;
}

Refusal explain(std::string_view key, const Cell& c) {
    if (key == "workload" && c.workload == Workload::python)
        return {"engine", "workload = \"python\" runs your function in the real interpreter; set engine = \"cpython\""};
    return {};
}

}  // namespace

const EngineDescriptor& emulated_descriptor() {
    static const EngineDescriptor d{
        .name = "emulated",
        .label = "emulated",
        .summary = "gilbench's own GIL, modelled on CPython's ceval_gil.c (new, old, none and free-threaded "
                   "profiles), running a bytecode interpreter: exact counters and traces, what-if policies",
        .real = false,
        .accepts = {.workloads = {Workload::cpu, Workload::io, Workload::mixed},
                    .gils = {GilPolicy::new_gil, GilPolicy::old_gil, GilPolicy::none, GilPolicy::free_threaded_3_13,
                             GilPolicy::free_threaded_3_14},
                    .parallels = {Parallel::threads, Parallel::subinterpreters},
                    .keep_alive = true},
        .measures = &measures,
        .needs_calibration = &needs_calibration,
        .explain = &explain,
        .runtime_checks = "",
    };
    return d;
}

}  // namespace gilbench::model
