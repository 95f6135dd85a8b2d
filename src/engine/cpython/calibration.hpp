// The emulated engine's calibration: the costs that stand for the real interpreter's time
// (urllib's Python code between its system calls: workloads::UrllibCosts), measured on this
// machine by the embedded CPython at the start of a run, and cached per host and interpreter
// version so that later runs start at once (docs/gil-fidelity.md, "Calibration").
//
// What a run used is its provenance: run attributes urllib_costs_ns (with their names and the
// record's version: urllib_costs_fields, urllib_costs_version) and calibration
// (docs/hdf5-schema.md), whose text is one of
//   "measured"           calibrated now (and cached)
//   "cached <utc>"       read from the cache, measured at <utc> on this host by this interpreter
//   "fallback: <why>"    not calibrated: workloads::UrllibCosts::fallback() was used
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "engine/emulated/workloads/workload.hpp"

namespace gilbench::engine {

enum class CalibrationMode {
    cached,       // the cache when it has this host's and interpreter's costs, else measure (and cache)
    recalibrate,  // measure (and cache) whatever the cache holds: run option --recalibrate
    off,          // the fallback, for runs that need the same figures everywhere: --no-calibration
};

struct Calibration {
    workloads::UrllibCosts costs;
    std::string how;      // "measured" | "cached <utc>" | "fallback: <why>"
    std::string warning;  // a problem that did not stop it (the cache could not be written); "" if none
};

// urllib's costs measured by the embedded interpreter against `url` (a loopback server that
// answers 200): nullopt when it cannot be (no interpreter starts, a GET fails, a cost is not
// positive), with the reason in `why`.
std::optional<workloads::UrllibCosts> calibrate_urllib(const std::string& url, std::string* why = nullptr,
                                                       int requests = 300);

// The cache directory: $XDG_CACHE_HOME/gilbench, else $HOME/.cache/gilbench; "" when neither is set.
std::string calibration_cache_dir();
// The cache file of this host and interpreter in `dir`.
std::string calibration_cache_file(const std::string& dir, const std::string& host, const std::string& python_version);

struct CachedCosts {
    workloads::UrllibCosts costs;
    std::string measured_utc;  // ISO 8601
};
// The cache file is the record by name: a header line, `python <version>`, `measured_utc <utc>`,
// `record_version <UrllibCosts::version>`, then one `<name> <value>` line per field of
// UrllibCosts::fields. nullopt for a missing file, or one that is not a complete cache of
// `python_version`'s costs (another format or record version, a field missing, twice or unknown,
// a cost that is not positive): then the run measures again.
std::optional<CachedCosts> read_cached_costs(const std::string& path, const std::string& python_version);
// Writes `path` whole (a temporary file renamed over it, so concurrent runs on one host never
// read half a file), creating its directory. Throws with the path and the reason.
void write_cached_costs(const std::string& path, const std::string& python_version, const CachedCosts& costs);

// What a run uses, on one node: the cache (dir = calibration_cache_dir()), or a measurement
// against a loopback server of its own (the run's embedded server counts only the workers'
// requests), or the fallback. Never throws: a failure is the fallback, said in `how`.
// `measuring`, if set, is called just before a measurement starts (not for the cache or the
// fallback): it takes ~10 s, which a run should say.
Calibration calibrate_for_run(CalibrationMode mode, const std::string& cache_dir,
                              const std::function<void()>& measuring = {});

}  // namespace gilbench::engine
