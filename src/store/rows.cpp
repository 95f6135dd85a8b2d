#include "store/rows.hpp"

#include <cstddef>
#include <cstring>
#include <stdexcept>
#include <variant>

#include "model/cell_fields.hpp"
#include "model/engines.hpp"

namespace gilbench::store::detail {

// offsetof on these standard-layout structs; a macro keeps the HDF5 name and the C++ field
// in step, so a column can never be stored under the wrong name.
#define GILBENCH_MEMBER(type, row, field, h5type) \
    h5::insert_member((type).get(), #field, offsetof(row, field), (h5type))

namespace {

struct cell_layout {
    std::size_t size = 0;
    std::size_t index_offset = 0;       // column "cell"
    std::vector<std::size_t> offsets;   // one per model::cell_fields() entry
    std::vector<std::size_t> engine_offsets;  // one per model::engine_columns() entry, after them
};

std::size_t column_size(model::ColumnType t) {
    switch (t) {
        case model::ColumnType::int32: return sizeof(std::int32_t);
        case model::ColumnType::int64: return sizeof(std::int64_t);
        case model::ColumnType::float64: return sizeof(double);
        case model::ColumnType::uint8: return sizeof(std::uint8_t);
        case model::ColumnType::text: return sizeof(const char*);
    }
    return 0;
}

model::ColumnType engine_column_type(const model::EngineColumn& e) {
    return e.text ? model::ColumnType::text : model::ColumnType::uint8;
}

hid_t native_type(model::ColumnType t, hid_t text) {
    switch (t) {
        case model::ColumnType::int32: return H5T_NATIVE_INT32;
        case model::ColumnType::int64: return H5T_NATIVE_INT64;
        case model::ColumnType::float64: return H5T_NATIVE_DOUBLE;
        case model::ColumnType::uint8: return H5T_NATIVE_UINT8;
        case model::ColumnType::text: return text;
    }
    return text;
}

std::size_t aligned(std::size_t offset, std::size_t alignment) { return (offset + alignment - 1) / alignment * alignment; }

// Laid out as a C struct of the same members would be (each member at its natural alignment).
const cell_layout& layout() {
    static const cell_layout l = [] {
        cell_layout out;
        out.index_offset = 0;
        std::size_t at = sizeof(std::int32_t);
        for (const model::CellField& f : model::cell_fields()) {
            const std::size_t size = column_size(f.column_type);
            at = aligned(at, size);
            out.offsets.push_back(at);
            at += size;
        }
        for (const model::EngineColumn& e : model::engine_columns()) {
            const std::size_t size = column_size(engine_column_type(e));
            at = aligned(at, size);
            out.engine_offsets.push_back(at);
            at += size;
        }
        out.size = aligned(at, alignof(std::max_align_t) < 8 ? alignof(std::max_align_t) : 8);
        return out;
    }();
    return l;
}

template <class T>
void put(std::byte* at, T v) {
    std::memcpy(at, &v, sizeof v);
}
template <class T>
T take(const std::byte* at) {
    T v;
    std::memcpy(&v, at, sizeof v);
    return v;
}

// What the cell's engine measures (model::engine_columns): written, never read back (a resumed
// run's cells take them from their engine's descriptor again).
void put_engine_columns(const model::Cell& cell, std::byte* row, const cell_layout& l, string_arena& strings) {
    const auto engine = model::engine_columns();
    for (std::size_t i = 0; i < engine.size(); ++i) {
        std::byte* at = row + l.engine_offsets[i];
        if (engine[i].text) put(at, strings.keep(engine[i].text_of(cell)));
        else put(at, static_cast<std::uint8_t>(engine[i].flag_of(cell) ? 1 : 0));
    }
}

}  // namespace

std::size_t cell_row_size() { return layout().size; }

h5::datatype cell_row_type() {
    const cell_layout& l = layout();
    h5::datatype t = h5::create_compound(l.size, "cells row");
    const h5::datatype str = h5::vlen_utf8_string();
    h5::insert_member(t.get(), "cell", l.index_offset, H5T_NATIVE_INT32);
    const auto fields = model::cell_fields();
    for (std::size_t i = 0; i < fields.size(); ++i) {
        const std::string column(fields[i].column);
        h5::insert_member(t.get(), column.c_str(), l.offsets[i], native_type(fields[i].column_type, str.get()));
    }
    const auto engine = model::engine_columns();
    for (std::size_t i = 0; i < engine.size(); ++i) {
        const std::string column(engine[i].column);
        h5::insert_member(t.get(), column.c_str(), l.engine_offsets[i], native_type(engine_column_type(engine[i]), str.get()));
    }
    return t;
}

std::vector<std::byte> to_cell_rows(const std::vector<model::Cell>& cells, string_arena& strings) {
    const cell_layout& l = layout();
    const auto fields = model::cell_fields();
    std::vector<std::byte> rows(cells.size() * l.size);
    for (std::size_t r = 0; r < cells.size(); ++r) {
        std::byte* row = rows.data() + r * l.size;
        put<std::int32_t>(row + l.index_offset, cells[r].index);
        for (std::size_t i = 0; i < fields.size(); ++i) {
            const model::FieldValue v = fields[i].get(cells[r]);
            std::byte* at = row + l.offsets[i];
            switch (fields[i].column_type) {
                case model::ColumnType::int32: put(at, static_cast<std::int32_t>(std::get<std::int64_t>(v))); break;
                case model::ColumnType::int64: put(at, std::get<std::int64_t>(v)); break;
                case model::ColumnType::float64: put(at, std::get<double>(v)); break;
                case model::ColumnType::uint8: put(at, static_cast<std::uint8_t>(std::get<bool>(v) ? 1 : 0)); break;
                case model::ColumnType::text: put(at, strings.keep(std::get<std::string>(v))); break;
            }
        }
        put_engine_columns(cells[r], row, l, strings);
    }
    return rows;
}

std::vector<model::Cell> from_cell_rows(const std::byte* rows, std::size_t n) {
    const cell_layout& l = layout();
    const auto fields = model::cell_fields();
    std::vector<model::Cell> cells(n);
    for (std::size_t r = 0; r < n; ++r) {
        const std::byte* row = rows + r * l.size;
        model::Cell& c = cells[r];
        c.index = take<std::int32_t>(row + l.index_offset);
        for (std::size_t i = 0; i < fields.size(); ++i) {
            const model::CellField& f = fields[i];
            const std::byte* at = row + l.offsets[i];
            model::FieldValue v;
            switch (f.column_type) {
                case model::ColumnType::int32: v = std::int64_t{take<std::int32_t>(at)}; break;
                case model::ColumnType::int64: v = take<std::int64_t>(at); break;
                case model::ColumnType::float64: v = take<double>(at); break;
                case model::ColumnType::uint8: v = take<std::uint8_t>(at) != 0; break;
                case model::ColumnType::text: {
                    const char* s = take<const char*>(at);
                    v = std::string(s != nullptr ? s : "");
                    break;
                }
            }
            // Choices are checked (no name maps silently to another value); ranges and text are
            // stored as they were accepted, by this writer or an older one.
            if (f.kind == model::FieldKind::choice)
                if (const std::string problem = f.check(v); !problem.empty())
                    throw std::runtime_error("cells row " + std::to_string(r) + ", column '" + std::string(f.column) +
                                             "': " + problem + "; the file was not written by this gilbench/1 writer");
            f.set(c, v);
        }
    }
    return cells;
}

h5::datatype summary_row_type() {
    h5::datatype t = h5::create_compound(sizeof(summary_row), "summary row");
    const h5::datatype str = h5::vlen_utf8_string();
    GILBENCH_MEMBER(t, summary_row, cell, H5T_NATIVE_INT32);
    GILBENCH_MEMBER(t, summary_row, state, str.get());
    GILBENCH_MEMBER(t, summary_row, trials, H5T_NATIVE_INT32);
    GILBENCH_MEMBER(t, summary_row, n, H5T_NATIVE_INT32);
    GILBENCH_MEMBER(t, summary_row, median_s, H5T_NATIVE_DOUBLE);
    GILBENCH_MEMBER(t, summary_row, min_s, H5T_NATIVE_DOUBLE);
    GILBENCH_MEMBER(t, summary_row, max_s, H5T_NATIVE_DOUBLE);
    GILBENCH_MEMBER(t, summary_row, mean_s, H5T_NATIVE_DOUBLE);
    GILBENCH_MEMBER(t, summary_row, std_s, H5T_NATIVE_DOUBLE);
    GILBENCH_MEMBER(t, summary_row, ci_low_s, H5T_NATIVE_DOUBLE);
    GILBENCH_MEMBER(t, summary_row, ci_high_s, H5T_NATIVE_DOUBLE);
    GILBENCH_MEMBER(t, summary_row, ci_level, H5T_NATIVE_DOUBLE);
    GILBENCH_MEMBER(t, summary_row, rank_min_s, H5T_NATIVE_DOUBLE);
    GILBENCH_MEMBER(t, summary_row, rank_avg_s, H5T_NATIVE_DOUBLE);
    GILBENCH_MEMBER(t, summary_row, rank_max_s, H5T_NATIVE_DOUBLE);
    GILBENCH_MEMBER(t, summary_row, failed_trials, H5T_NATIVE_INT32);
    GILBENCH_MEMBER(t, summary_row, disturbed_trials, H5T_NATIVE_INT32);
    return t;
}

h5::datatype trial_row_type() {
    h5::datatype t = h5::create_compound(sizeof(trial_row), "trials row");
    const h5::datatype str = h5::vlen_utf8_string();
    GILBENCH_MEMBER(t, trial_row, cell, H5T_NATIVE_INT32);
    GILBENCH_MEMBER(t, trial_row, trial, H5T_NATIVE_INT32);
    GILBENCH_MEMBER(t, trial_row, warmup, H5T_NATIVE_UINT8);
    GILBENCH_MEMBER(t, trial_row, wall_s, H5T_NATIVE_DOUBLE);
    GILBENCH_MEMBER(t, trial_row, io_errors, H5T_NATIVE_INT64);
    GILBENCH_MEMBER(t, trial_row, others_cpus, H5T_NATIVE_DOUBLE);
    GILBENCH_MEMBER(t, trial_row, steal, H5T_NATIVE_DOUBLE);
    GILBENCH_MEMBER(t, trial_row, reference_slowdown, H5T_NATIVE_DOUBLE);
    GILBENCH_MEMBER(t, trial_row, cpu_share, H5T_NATIVE_DOUBLE);
    GILBENCH_MEMBER(t, trial_row, disturbed, H5T_NATIVE_UINT8);
    GILBENCH_MEMBER(t, trial_row, disturbance, str.get());
    GILBENCH_MEMBER(t, trial_row, round, H5T_NATIVE_INT32);
    return t;
}

h5::datatype worker_row_type() {
    using model::WorkerRecord;
    h5::datatype t = h5::create_compound(sizeof(WorkerRecord), "workers row");
    GILBENCH_MEMBER(t, WorkerRecord, cell, H5T_NATIVE_INT32);
    GILBENCH_MEMBER(t, WorkerRecord, trial, H5T_NATIVE_INT32);
    GILBENCH_MEMBER(t, WorkerRecord, rank, H5T_NATIVE_INT32);
    GILBENCH_MEMBER(t, WorkerRecord, thread, H5T_NATIVE_INT32);
    GILBENCH_MEMBER(t, WorkerRecord, node, H5T_NATIVE_INT32);
    GILBENCH_MEMBER(t, WorkerRecord, start_s, H5T_NATIVE_DOUBLE);
    GILBENCH_MEMBER(t, WorkerRecord, end_s, H5T_NATIVE_DOUBLE);
    GILBENCH_MEMBER(t, WorkerRecord, ops, H5T_NATIVE_INT64);
    GILBENCH_MEMBER(t, WorkerRecord, gil_acquisitions, H5T_NATIVE_INT64);
    GILBENCH_MEMBER(t, WorkerRecord, gil_wait_s, H5T_NATIVE_DOUBLE);
    GILBENCH_MEMBER(t, WorkerRecord, gil_hold_s, H5T_NATIVE_DOUBLE);
    GILBENCH_MEMBER(t, WorkerRecord, gil_forced_drops, H5T_NATIVE_INT64);
    GILBENCH_MEMBER(t, WorkerRecord, io_requests, H5T_NATIVE_INT64);
    GILBENCH_MEMBER(t, WorkerRecord, io_errors, H5T_NATIVE_INT64);
    GILBENCH_MEMBER(t, WorkerRecord, trace_dropped, H5T_NATIVE_INT64);
    GILBENCH_MEMBER(t, WorkerRecord, cpu_s, H5T_NATIVE_DOUBLE);
    return t;
}

h5::datatype error_row_type() {
    h5::datatype t = h5::create_compound(sizeof(error_row), "errors row");
    const h5::datatype str = h5::vlen_utf8_string();
    GILBENCH_MEMBER(t, error_row, cell, H5T_NATIVE_INT32);
    GILBENCH_MEMBER(t, error_row, trial, H5T_NATIVE_INT32);
    GILBENCH_MEMBER(t, error_row, rank, H5T_NATIVE_INT32);
    GILBENCH_MEMBER(t, error_row, thread, H5T_NATIVE_INT32);
    GILBENCH_MEMBER(t, error_row, message, str.get());
    GILBENCH_MEMBER(t, error_row, detail, str.get());
    return t;
}

h5::datatype trace_row_type() {
    h5::datatype t = h5::create_compound(sizeof(trace_row), "trace row");
    const h5::datatype str = h5::vlen_utf8_string();
    GILBENCH_MEMBER(t, trace_row, cell, H5T_NATIVE_INT32);
    GILBENCH_MEMBER(t, trace_row, trial, H5T_NATIVE_INT32);
    GILBENCH_MEMBER(t, trace_row, rank, H5T_NATIVE_INT32);
    GILBENCH_MEMBER(t, trace_row, thread, H5T_NATIVE_INT32);
    GILBENCH_MEMBER(t, trace_row, t_s, H5T_NATIVE_DOUBLE);
    GILBENCH_MEMBER(t, trace_row, event, str.get());
    return t;
}

h5::datatype request_row_type() {
    using model::RequestRecord;
    h5::datatype t = h5::create_compound(sizeof(RequestRecord), "requests row");
    GILBENCH_MEMBER(t, RequestRecord, cell, H5T_NATIVE_INT32);
    GILBENCH_MEMBER(t, RequestRecord, trial, H5T_NATIVE_INT32);
    GILBENCH_MEMBER(t, RequestRecord, rank, H5T_NATIVE_INT32);
    GILBENCH_MEMBER(t, RequestRecord, thread, H5T_NATIVE_INT32);
    GILBENCH_MEMBER(t, RequestRecord, request, H5T_NATIVE_INT32);
    GILBENCH_MEMBER(t, RequestRecord, start_s, H5T_NATIVE_DOUBLE);
    GILBENCH_MEMBER(t, RequestRecord, end_s, H5T_NATIVE_DOUBLE);
    GILBENCH_MEMBER(t, RequestRecord, ok, H5T_NATIVE_UINT8);
    return t;
}

#undef GILBENCH_MEMBER

namespace {

// Length of the valid UTF-8 sequence starting at s[i], or 0 if it is invalid (truncated,
// overlong, a surrogate, or above U+10FFFF).
std::size_t utf8_sequence_length(std::string_view s, std::size_t i) {
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned char b0 = byte(i);
    if (b0 < 0x80) return 1;
    std::size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        len = 2;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
        len = 3;
        if (b0 == 0xE0) lo = 0xA0;  // overlong
        if (b0 == 0xED) hi = 0x9F;  // surrogates
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        len = 4;
        if (b0 == 0xF0) lo = 0x90;  // overlong
        if (b0 == 0xF4) hi = 0x8F;  // above U+10FFFF
    } else {
        return 0;
    }
    if (i + len > s.size()) return 0;
    if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
    for (std::size_t k = 2; k < len; ++k) {
        if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
    }
    return len;
}

}  // namespace

bool is_valid_utf8(std::string_view s) {
    for (std::size_t i = 0; i < s.size();) {
        const std::size_t len = utf8_sequence_length(s, i);
        if (len == 0) return false;
        i += len;
    }
    return true;
}

std::string to_valid_utf8(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size();) {
        const std::size_t len = utf8_sequence_length(s, i);
        if (len == 0) {
            out += "\xEF\xBF\xBD";  // U+FFFD REPLACEMENT CHARACTER, one per bad byte
            ++i;
        } else {
            out.append(s.substr(i, len));
            i += len;
        }
    }
    return out;
}

const char* string_arena::utf8(const std::string& s) {
    if (is_valid_utf8(s)) return s.c_str();
    return copies_.emplace_back(to_valid_utf8(s)).c_str();
}

const char* string_arena::keep(std::string s) {
    if (!is_valid_utf8(s)) s = to_valid_utf8(s);
    return copies_.emplace_back(std::move(s)).c_str();
}

summary_row to_row(const model::CellSummaryRecord& s, string_arena& strings) {
    return summary_row{
        .cell = s.cell,
        .state = strings.utf8(s.state),
        .trials = s.trials,
        .n = s.n,
        .median_s = s.median_s,
        .min_s = s.min_s,
        .max_s = s.max_s,
        .mean_s = s.mean_s,
        .std_s = s.std_s,
        .ci_low_s = s.ci_low_s,
        .ci_high_s = s.ci_high_s,
        .ci_level = s.ci_level,
        .rank_min_s = s.rank_min_s,
        .rank_avg_s = s.rank_avg_s,
        .rank_max_s = s.rank_max_s,
        .failed_trials = s.failed_trials,
        .disturbed_trials = s.disturbed_trials,
    };
}

namespace {
std::string text_of(const char* s) { return s != nullptr ? s : ""; }
}  // namespace

model::CellSummaryRecord from_row(const summary_row& r) {
    return model::CellSummaryRecord{
        .cell = r.cell,
        .state = text_of(r.state),
        .trials = r.trials,
        .n = r.n,
        .median_s = r.median_s,
        .min_s = r.min_s,
        .max_s = r.max_s,
        .mean_s = r.mean_s,
        .std_s = r.std_s,
        .ci_low_s = r.ci_low_s,
        .ci_high_s = r.ci_high_s,
        .ci_level = r.ci_level,
        .rank_min_s = r.rank_min_s,
        .rank_avg_s = r.rank_avg_s,
        .rank_max_s = r.rank_max_s,
        .failed_trials = r.failed_trials,
        .disturbed_trials = r.disturbed_trials,
    };
}

model::TrialRecord from_row(const trial_row& r) {
    return model::TrialRecord{
        .cell = r.cell,
        .trial = r.trial,
        .warmup = r.warmup != 0,
        .wall_s = r.wall_s,
        .io_errors = r.io_errors,
        .others_cpus = r.others_cpus,
        .steal = r.steal,
        .reference_slowdown = r.reference_slowdown,
        .cpu_share = r.cpu_share,
        .disturbed = r.disturbed != 0,
        .disturbance = r.disturbance ? r.disturbance : "",
        .round = r.round < 0 ? r.trial : r.round,  // older files have no rounds: a trial's own
    };
}

trial_row to_row(const model::TrialRecord& t, string_arena& strings) {
    return trial_row{
        .cell = t.cell,
        .trial = t.trial,
        .warmup = static_cast<std::uint8_t>(t.warmup ? 1 : 0),
        .wall_s = t.wall_s,
        .io_errors = t.io_errors,
        .others_cpus = t.others_cpus,
        .steal = t.steal,
        .reference_slowdown = t.reference_slowdown,
        .cpu_share = t.cpu_share,
        .disturbed = static_cast<std::uint8_t>(t.disturbed ? 1 : 0),
        .disturbance = strings.utf8(t.disturbance),
        .round = t.round,
    };
}

error_row to_row(const model::ErrorRecord& e, string_arena& strings) {
    return error_row{
        .cell = e.cell,
        .trial = e.trial,
        .rank = e.rank,
        .thread = e.thread,
        .message = strings.utf8(e.message),
        .detail = strings.utf8(e.detail),
    };
}

trace_row to_row(const model::TraceRecord& t, string_arena& strings) {
    return trace_row{
        .cell = t.cell,
        .trial = t.trial,
        .rank = t.rank,
        .thread = t.thread,
        .t_s = t.t_s,
        .event = strings.utf8(t.event),
    };
}

}  // namespace gilbench::store::detail
