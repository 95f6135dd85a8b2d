// The one clock format of the store: every time a results file, its lock file or the CLI
// records ("created_utc", "started_utc", "resumed_utc", "finished_utc", the lock holder line).
#pragma once

#include <string>

namespace gilbench::store {

// Now, in UTC, as ISO 8601 to the second: "2026-12-01T18:11:25Z".
std::string utc_now();

}  // namespace gilbench::store
