// Internal to store/: the in-memory row layouts of the tables, their HDF5 compound
// types, and the conversion from the model structs. Field names here ARE the schema
// (docs/hdf5-schema.md); h5py and pandas see exactly these names.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>

#include "model/cell.hpp"
#include "model/records.hpp"
#include "store/h5_handles.hpp"

namespace gilbench::store::detail {

// Strings are const char* because that is how HDF5 takes variable-length strings; they point
// into the model structs or into a string_arena, both alive until the write returns.
struct cell_row {
    std::int32_t cell;
    const char* name;
    const char* workload;
    const char* gil;
    std::int32_t ranks;
    std::int32_t threads;
    std::int32_t io_threads;
    std::int64_t work;
    const char* scaling;
    double switch_interval_s;
    std::int32_t check_interval;
    const char* url;
    double latency_s;
    std::uint8_t keep_alive;
    std::int32_t repeats;
    std::int32_t warmups;
    std::uint8_t trace;
    double time_budget_s;
    const char* placement;
    double io_timeout_s;
};

struct trial_row {
    std::int32_t cell;
    std::int32_t trial;
    std::uint8_t warmup;
    double wall_s;
    std::int64_t io_errors;
};

// Workers and requests are written straight from model::WorkerRecord / RequestRecord (all
// numeric, names already match).

struct trace_row {
    std::int32_t cell;
    std::int32_t trial;
    std::int32_t rank;
    std::int32_t thread;
    double t_s;
    const char* event;
};

// One row of /runs/<run>/summary (model::CellSummaryRecord with a C string).
struct summary_row {
    std::int32_t cell;
    const char* state;
    std::int32_t trials;
    std::int32_t n;
    double median_s;
    double min_s;
    double max_s;
    double mean_s;
    double std_s;
    double ci_low_s;
    double ci_high_s;
    double ci_level;
    double rank_min_s;
    double rank_avg_s;
    double rank_max_s;
    std::int32_t failed_trials;
};

h5::datatype cell_row_type();
h5::datatype summary_row_type();
h5::datatype trial_row_type();
h5::datatype worker_row_type();
h5::datatype trace_row_type();
h5::datatype request_row_type();

bool is_valid_utf8(std::string_view s);
// s with every invalid UTF-8 sequence replaced by U+FFFD, so readers never fail to decode.
std::string to_valid_utf8(std::string_view s);

// Hands out C strings that are valid UTF-8: the original when it already is (the usual
// case, no copy), otherwise a repaired copy kept alive by the arena.
class string_arena {
public:
    const char* utf8(const std::string& s);

private:
    std::deque<std::string> copies_;  // deque: growing never moves earlier copies
};

cell_row to_row(const model::Cell& c, string_arena& strings);
trial_row to_row(const model::TrialRecord& t);
trace_row to_row(const model::TraceRecord& t, string_arena& strings);
summary_row to_row(const model::CellSummaryRecord& s, string_arena& strings);
// Back from rows read out of a file (strings copied; the caller reclaims the row's).
model::Cell from_row(const cell_row& r);
model::CellSummaryRecord from_row(const summary_row& r);
model::TrialRecord from_row(const trial_row& r);

}  // namespace gilbench::store::detail
