// The cpython engine described (model/engines.hpp): the real CPython embedded in each rank
// (cpython_engine.hpp), its threads under the real GIL.
#include "model/engines.hpp"

#include <fmt/format.h>

namespace gilbench::model {
namespace {

// The real interpreter reports no GIL counters; a countdown sees from Python when it was handed
// the GIL (its takes), which only means one thing while the threads share one interpreter.
Measures measures(const Cell& c) {
    const bool probed = c.workload == Workload::cpu && c.parallel == Parallel::threads;
    return {.gil_counters = false,
            .trace = probed ? TraceEvents::takes : TraceEvents::none,
            .request_timings = true};
}

bool needs_calibration(const Cell&) { return false; }

Refusal explain(std::string_view key, const Cell& c) {
    if (key == "gil" && c.gil == GilPolicy::old_gil)
        return {"gil", "gil = \"old\" is CPython 2's lock, which the embedded CPython 3 does not have; use gil = "
                       "\"new\" with engine = \"cpython\", or engine = \"emulated\""};
    // The profiles are models of a free-threaded build for the emulated interpreter; the real
    // thing is gil = "none" with a free-threaded embedded CPython (cpython_engine.cpp checks).
    if (key == "gil" && is_free_threaded_profile(c.gil))
        return {"gil", fmt::format("gil = \"{}\" is an emulated profile of the free-threaded build; the cpython "
                                   "engine runs the embedded interpreter as it is. Use engine = \"emulated\", or gil "
                                   "= \"none\" with engine = \"cpython\" and gilbench built against a free-threaded "
                                   "Python (-DGILBENCH_PYTHON=python3.13t)",
                                   to_string(c.gil))};
    if (key == "keep_alive")
        return {"keep_alive", "engine = \"cpython\" GETs with urllib.request.urlopen, a fresh connection per request "
                              "(as the seed's requests.get); set keep_alive = false, or use engine = \"emulated\""};
    // The probe's threads compare notes in one interpreter's objects; interpreters share none.
    if (key == "trace" && c.parallel == Parallel::subinterpreters)
        return {"trace", "engine = \"cpython\" probes hand-overs of one shared GIL, and parallel = "
                         "\"subinterpreters\" gives each thread its own; set trace = false, or use engine = "
                         "\"emulated\""};
    if (key == "trace")
        return {"trace", "engine = \"cpython\" records no GIL trace for this workload (the real interpreter does not "
                         "report its GIL events; only workload = \"cpu\" is probed, for its takes); set trace = "
                         "false, or use engine = \"emulated\""};
    return {};
}

}  // namespace

const EngineDescriptor& cpython_descriptor() {
    static const EngineDescriptor d{
        .name = "cpython",
        .label = "CPython",
        .summary = "the real CPython embedded in each rank (the build's libpython): the seed's workloads and "
                   "your own Python function, under the real GIL",
        .real = true,
        .accepts = {.workloads = {Workload::cpu, Workload::io, Workload::mixed, Workload::python},
                    .gils = {GilPolicy::new_gil, GilPolicy::none},
                    .parallels = {Parallel::threads, Parallel::subinterpreters},
                    .keep_alive = false},
        .measures = &measures,
        .needs_calibration = &needs_calibration,
        .explain = &explain,
        .runtime_checks = "when a rank starts: gil = \"none\" needs a free-threaded build and \"new\" a GIL build; "
                          "parallel = \"subinterpreters\" needs CPython 3.12 or later",
    };
    return d;
}

}  // namespace gilbench::model
