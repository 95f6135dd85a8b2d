// The engines, described once. An engine is what runs a cell's worker threads under a GIL
// (engine/engine.hpp is the seam the runner calls); its descriptor is plain data about it:
// what a cell may ask of it, what it measures, whether it needs the run's calibration, and how
// tables and reports name it. Everything outside the engine's own folder reads the descriptor
// and never the engine's name:
//
//   job/      checks a cell against the engine's accepts (with the engine's own wording)
//   cli/      `gilbench engines` lists them; `run` calibrates when an engine asks for it
//   report/   labels columns and rows with the engine's label
//   store/    writes each cell's engine columns (engine_columns() below), so that analysis/
//             asks the file "are GIL waits measured?", never "is this cpython?"
//
// The built-in descriptors live in their engines' folders (engine/emulated/descriptor.cpp,
// engine/cpython/descriptor.cpp) and are registered in one place, engines.cpp; a test adds a
// fake engine through testing::register_engine (with engine/factory.hpp's factory).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "model/cell.hpp"

namespace gilbench::model {

// What the trace of a cell with trace = true holds (/runs/<run>/trace).
enum class TraceEvents {
    none,   // no trace: the engine cannot record one for this cell
    takes,  // GIL takes only (hand-overs seen from the running code), no drops, requests or I/O
    full,   // every take, drop, drop request and I/O start/end
};
template <>
struct enum_names<TraceEvents> {
    static constexpr std::array<std::string_view, 3> names{"none", "takes", "full"};
};

// What an engine measures in one cell's trials.
struct Measures {
    bool gil_counters = false;  // workers.gil_*: takes, waits, forced drops, hold (else "not measured")
    TraceEvents trace = TraceEvents::none;
    bool request_timings = false;  // the requests table: every GET's start and end
};

// Why an engine refuses a cell: the setting to blame (the job file's key) and the message,
// which says the fix.
struct Refusal {
    std::string_view key{};
    std::string text{};
};

// What cells an engine accepts. Job validation refuses the others, in this order: workload,
// gil, parallel, keep_alive, trace.
struct Accepts {
    std::vector<Workload> workloads{};
    std::vector<GilPolicy> gils{};
    std::vector<Parallel> parallels{};
    bool keep_alive = false;
    // trace = true is accepted where measures(cell).trace is not none.
};

struct EngineDescriptor {
    std::string_view name{};     // the job file's engine = "..." (cells.engine in HDF5)
    std::string_view label{};    // tables and reports: "emulated", "CPython"
    std::string_view summary{};  // one line: `gilbench engines`, --help, docs
    bool real = false;           // runs the real interpreter (true) or a model of it
    Accepts accepts{};
    Measures (*measures)(const Cell&) = nullptr;  // required (registering refuses a descriptor without)
    // The run's calibration (engine/cpython/calibration.hpp: urllib's costs and the
    // interpreter's speed, measured per node before the first trial) does this cell need it?
    bool (*needs_calibration)(const Cell&) = nullptr;  // nullptr: never
    // The engine's own words for a refusal of `key` (one of Accepts' settings) in `cell`; an
    // empty text takes the generic wording ("engine = "x" does not run gil = "old" ...").
    Refusal (*explain)(std::string_view key, const Cell& cell) = nullptr;
    // Notes for `gilbench engines`: what the engine checks when a rank starts (the embedded
    // build's limits) rather than from the job file.
    std::string_view runtime_checks{};

    bool accepts_workload(Workload w) const;
    bool accepts_gil(GilPolicy g) const;
    bool accepts_parallel(Parallel p) const;
};

// Every registered engine, built-ins first (emulated, then cpython), in registration order.
std::span<const EngineDescriptor* const> engines();
// nullptr for a name no engine has.
const EngineDescriptor* find_engine(std::string_view name);
// The descriptor of a cell's engine (the job checked its name; throws std::logic_error if not).
const EngineDescriptor& engine_of(const Cell& cell);
// The names, in registration order: the engine field's choices (cell_fields.cpp). Valid until
// the next registration.
std::span<const std::string_view> engine_name_list();
// "emulated, cpython": the names, for messages.
std::string engine_names_text();
// "" when `name` is an engine, else "'pypy' is not one of: emulated, cpython".
std::string engine_name_problem(std::string_view name);
// Why the cell's engine refuses it (the first setting it does not accept), or nullopt.
std::optional<Refusal> engine_refusal(const Cell& cell);

// The columns /runs/<run>/cells gets from each cell's engine, after the settings' columns:
// analysis/ reads these, never the engine's name (docs/hdf5-schema.md).
struct EngineColumn {
    std::string_view column{};
    bool text = false;                            // a UTF-8 string, else uint8 (0/1)
    std::string (*text_of)(const Cell&) = nullptr;
    bool (*flag_of)(const Cell&) = nullptr;
};
std::span<const EngineColumn> engine_columns();

namespace testing {
// Adds `descriptor` (static storage: the registry keeps the pointer) for the rest of the
// process; a test's fake engine. Throws std::invalid_argument for a name already registered.
void register_engine(const EngineDescriptor& descriptor);
}  // namespace testing

// The built-in descriptors, each defined in its engine's folder.
const EngineDescriptor& emulated_descriptor();
const EngineDescriptor& cpython_descriptor();

}  // namespace gilbench::model
