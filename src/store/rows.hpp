// Internal to store/: the in-memory row layouts of the tables, their HDF5 compound
// types, and the conversion from the model structs. Field names here ARE the schema
// (docs/hdf5-schema.md); h5py and pandas see exactly these names.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>
#include <cstddef>

#include "model/cell.hpp"
#include "model/records.hpp"
#include "store/h5_handles.hpp"

namespace gilbench::store::detail {

// The cells table has no struct: its row is column "cell" (model::Cell::index), then one
// column per model::cell_fields() entry, in that order, laid out at run time (cell_row_size
// bytes, the offsets of cell_row_type). Strings in it are const char*, as HDF5 takes
// variable-length strings, pointing into the cells or a string_arena.
h5::datatype cell_row_type();
std::size_t cell_row_size();

struct error_row {
    std::int32_t cell;
    std::int32_t trial;
    std::int32_t rank;
    std::int32_t thread;
    const char* message;
    const char* detail;
};

struct trial_row {
    std::int32_t cell;
    std::int32_t trial;
    std::uint8_t warmup;
    double wall_s;
    std::int64_t io_errors;
    double others_cpus;
    double steal;
    double reference_slowdown;
    double cpu_share;
    std::uint8_t disturbed;
    const char* disturbance;
    std::int32_t round;
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
    std::int32_t disturbed_trials;
};

h5::datatype cell_row_type();
h5::datatype summary_row_type();
h5::datatype trial_row_type();
h5::datatype worker_row_type();
h5::datatype trace_row_type();
h5::datatype error_row_type();
h5::datatype request_row_type();

bool is_valid_utf8(std::string_view s);
// s with every invalid UTF-8 sequence replaced by U+FFFD, so readers never fail to decode.
std::string to_valid_utf8(std::string_view s);

// Hands out C strings that are valid UTF-8: the original when it already is (the usual
// case, no copy), otherwise a repaired copy kept alive by the arena.
class string_arena {
public:
    const char* utf8(const std::string& s);
    // A copy of `s` (repaired if need be) that lives as long as the arena: for text that
    // exists only as a temporary (a cell field's value).
    const char* keep(std::string s);

private:
    std::deque<std::string> copies_;  // deque: growing never moves earlier copies
};

// cell_row_size() bytes per cell; the strings point into `cells` and `strings`, both of which
// must outlive the rows.
std::vector<std::byte> to_cell_rows(const std::vector<model::Cell>& cells, string_arena& strings);
trial_row to_row(const model::TrialRecord& t, string_arena& strings);
trace_row to_row(const model::TraceRecord& t, string_arena& strings);
error_row to_row(const model::ErrorRecord& e, string_arena& strings);
summary_row to_row(const model::CellSummaryRecord& s, string_arena& strings);
// Back from rows read out of a file (strings copied; the caller reclaims the row's).
// Cells from `n` rows read out of a file. Columns an older file lacks must hold what
// to_cell_rows wrote for default cells (so they read as model::Cell's defaults); a value the
// schema does not allow (a gil name no writer writes) throws, naming the row and the column.
std::vector<model::Cell> from_cell_rows(const std::byte* rows, std::size_t n);
model::CellSummaryRecord from_row(const summary_row& r);
model::TrialRecord from_row(const trial_row& r);

}  // namespace gilbench::store::detail
