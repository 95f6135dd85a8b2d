// The one clock format of the store: every time a results file, its lock file or the CLI
// records ("created_utc", "started_utc", "resumed_utc", "finished_utc", the lock holder line),
// and when the calibration cache's costs were measured (its measured_utc, shown as "cached <utc>").
// A library of its own (gilbench_utc_now), which the calibration links without the HDF5 store.
#pragma once

#include <string>

namespace gilbench::store {

// Now, in UTC, as ISO 8601 to the second: "2026-12-01T18:11:25Z".
std::string utc_now();

}  // namespace gilbench::store
