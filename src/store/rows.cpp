#include "store/rows.hpp"

#include <cstddef>

namespace gilbench::store::detail {

// offsetof on these standard-layout structs; a macro keeps the HDF5 name and the C++ field
// in step, so a column can never be stored under the wrong name.
#define GILBENCH_MEMBER(type, row, field, h5type) \
    h5::insert_member((type).get(), #field, offsetof(row, field), (h5type))

h5::datatype cell_row_type() {
    h5::datatype t = h5::create_compound(sizeof(cell_row), "cells row");
    const h5::datatype str = h5::vlen_utf8_string();
    GILBENCH_MEMBER(t, cell_row, cell, H5T_NATIVE_INT32);
    GILBENCH_MEMBER(t, cell_row, name, str.get());
    GILBENCH_MEMBER(t, cell_row, workload, str.get());
    GILBENCH_MEMBER(t, cell_row, gil, str.get());
    GILBENCH_MEMBER(t, cell_row, ranks, H5T_NATIVE_INT32);
    GILBENCH_MEMBER(t, cell_row, threads, H5T_NATIVE_INT32);
    GILBENCH_MEMBER(t, cell_row, io_threads, H5T_NATIVE_INT32);
    GILBENCH_MEMBER(t, cell_row, work, H5T_NATIVE_INT64);
    GILBENCH_MEMBER(t, cell_row, scaling, str.get());
    GILBENCH_MEMBER(t, cell_row, switch_interval_s, H5T_NATIVE_DOUBLE);
    GILBENCH_MEMBER(t, cell_row, check_interval, H5T_NATIVE_INT32);
    GILBENCH_MEMBER(t, cell_row, url, str.get());
    GILBENCH_MEMBER(t, cell_row, latency_s, H5T_NATIVE_DOUBLE);
    GILBENCH_MEMBER(t, cell_row, keep_alive, H5T_NATIVE_UINT8);
    GILBENCH_MEMBER(t, cell_row, repeats, H5T_NATIVE_INT32);
    GILBENCH_MEMBER(t, cell_row, warmups, H5T_NATIVE_INT32);
    GILBENCH_MEMBER(t, cell_row, trace, H5T_NATIVE_UINT8);
    GILBENCH_MEMBER(t, cell_row, time_budget_s, H5T_NATIVE_DOUBLE);
    GILBENCH_MEMBER(t, cell_row, placement, str.get());
    GILBENCH_MEMBER(t, cell_row, io_timeout_s, H5T_NATIVE_DOUBLE);
    return t;
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
    return t;
}

h5::datatype trial_row_type() {
    h5::datatype t = h5::create_compound(sizeof(trial_row), "trials row");
    GILBENCH_MEMBER(t, trial_row, cell, H5T_NATIVE_INT32);
    GILBENCH_MEMBER(t, trial_row, trial, H5T_NATIVE_INT32);
    GILBENCH_MEMBER(t, trial_row, warmup, H5T_NATIVE_UINT8);
    GILBENCH_MEMBER(t, trial_row, wall_s, H5T_NATIVE_DOUBLE);
    GILBENCH_MEMBER(t, trial_row, io_errors, H5T_NATIVE_INT64);
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

cell_row to_row(const model::Cell& c, string_arena& strings) {
    return cell_row{
        .cell = c.index,
        .name = strings.utf8(c.name),
        .workload = model::to_string(c.workload),
        .gil = strings.utf8(c.gil),
        .ranks = c.ranks,
        .threads = c.threads,
        .io_threads = c.io_threads,
        .work = c.work,
        .scaling = model::to_string(c.scaling),
        .switch_interval_s = c.switch_interval_s,
        .check_interval = c.check_interval,
        .url = strings.utf8(c.url),
        .latency_s = c.latency_s,
        .keep_alive = static_cast<std::uint8_t>(c.keep_alive ? 1 : 0),
        .repeats = c.repeats,
        .warmups = c.warmups,
        .trace = static_cast<std::uint8_t>(c.trace ? 1 : 0),
        .time_budget_s = c.time_budget_s,
        .placement = model::to_string(c.placement),
        .io_timeout_s = c.io_timeout_s,
    };
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
    };
}

namespace {
std::string text_of(const char* s) { return s != nullptr ? s : ""; }
}  // namespace

model::Cell from_row(const cell_row& r) {
    model::Cell c;
    c.index = r.cell;
    c.name = text_of(r.name);
    const std::string workload = text_of(r.workload);
    c.workload = workload == "io" ? model::Workload::io
                 : workload == "mixed" ? model::Workload::mixed
                                       : model::Workload::cpu;
    c.gil = text_of(r.gil);
    c.ranks = r.ranks;
    c.threads = r.threads;
    c.io_threads = r.io_threads;
    c.work = r.work;
    c.scaling = text_of(r.scaling) == "weak" ? model::Scaling::weak : model::Scaling::strong;
    c.switch_interval_s = r.switch_interval_s;
    c.check_interval = r.check_interval;
    c.url = text_of(r.url);
    c.latency_s = r.latency_s;
    c.keep_alive = r.keep_alive != 0;
    c.repeats = r.repeats;
    c.warmups = r.warmups;
    c.trace = r.trace != 0;
    c.time_budget_s = r.time_budget_s;
    // Files from before `placement` read it as null: those runs used the launch order.
    c.placement = model::parse_placement(text_of(r.placement)).value_or(model::Placement::launch);
    // Files from before `io_timeout_s` read it as 0 (never valid): theirs was the default.
    c.io_timeout_s = r.io_timeout_s > 0 ? r.io_timeout_s : model::Cell{}.io_timeout_s;
    return c;
}

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
    };
}

model::TrialRecord from_row(const trial_row& r) {
    return model::TrialRecord{
        .cell = r.cell,
        .trial = r.trial,
        .warmup = r.warmup != 0,
        .wall_s = r.wall_s,
        .io_errors = r.io_errors,
    };
}

trial_row to_row(const model::TrialRecord& t) {
    return trial_row{
        .cell = t.cell,
        .trial = t.trial,
        .warmup = static_cast<std::uint8_t>(t.warmup ? 1 : 0),
        .wall_s = t.wall_s,
        .io_errors = t.io_errors,
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
