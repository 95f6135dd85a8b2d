#include "model/cell_fields.hpp"

#include "model/engines.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <limits>
#include <stdexcept>
#include <type_traits>
#include <vector>

#include <fmt/format.h>

namespace gilbench::model {
namespace {

// ---- from a member pointer to get/set and kinds ---------------------------------------------

template <class C, class T>
T member_type_of(T C::*);
template <auto Member>
using member_t = decltype(member_type_of(Member));

template <auto Member>
FieldValue get_member(const Cell& c) {
    using T = member_t<Member>;
    if constexpr (std::is_same_v<T, bool>) return c.*Member;
    else if constexpr (std::is_integral_v<T>) return static_cast<std::int64_t>(c.*Member);
    else if constexpr (std::is_floating_point_v<T>) return static_cast<double>(c.*Member);
    else if constexpr (std::is_enum_v<T>) return std::string(to_string(c.*Member));
    else return c.*Member;
}

template <auto Member>
void set_member(Cell& c, const FieldValue& v) {
    using T = member_t<Member>;
    if constexpr (std::is_same_v<T, bool>) {
        c.*Member = std::get<bool>(v);
    } else if constexpr (std::is_integral_v<T>) {
        const std::int64_t i = std::get<std::int64_t>(v);
        if (i < std::numeric_limits<T>::min() || i > std::numeric_limits<T>::max())
            throw std::invalid_argument(fmt::format("{} does not fit the setting", i));
        c.*Member = static_cast<T>(i);
    } else if constexpr (std::is_floating_point_v<T>) {
        c.*Member = std::get<double>(v);
    } else if constexpr (std::is_enum_v<T>) {
        const std::string& name = std::get<std::string>(v);
        const std::optional<T> e = parse_name<T>(name);
        if (!e) throw std::invalid_argument(fmt::format("'{}' is not a known name", name));
        c.*Member = *e;
    } else {
        c.*Member = std::get<std::string>(v);
    }
}

template <class E>
std::span<const std::string_view> enum_choices() {
    return enum_names<E>::names;
}

// The entry for model::Cell's member `Member`: `f` says what a person decides (key, range,
// help, ...); what follows from the member's type is filled in here.
template <auto Member>
CellField field(CellField f) {
    using T = member_t<Member>;
    f.get = &get_member<Member>;
    f.set = &set_member<Member>;
    if constexpr (std::is_same_v<T, bool>) {
        f.kind = FieldKind::flag;
        f.column_type = ColumnType::uint8;
    } else if constexpr (std::is_integral_v<T>) {
        static_assert(sizeof(T) == 4 || sizeof(T) == 8, "integer settings are int32 or int64 columns");
        f.kind = FieldKind::integer;
        f.column_type = sizeof(T) == 4 ? ColumnType::int32 : ColumnType::int64;
    } else if constexpr (std::is_floating_point_v<T>) {
        f.kind = FieldKind::number;
        f.column_type = ColumnType::float64;
    } else if constexpr (std::is_enum_v<T>) {
        f.kind = FieldKind::choice;
        f.column_type = ColumnType::text;
        f.choices = &enum_choices<T>;
    } else {
        static_assert(std::is_same_v<T, std::string>, "a setting is a number, a bool, a string or an enum");
        f.kind = f.choices ? FieldKind::choice : FieldKind::text;
        f.column_type = ColumnType::text;
    }
    return f;
}

bool is_mixed(const Cell& c) { return c.workload == Workload::mixed; }
bool is_python(const Cell& c) { return c.workload == Workload::python; }

std::string name_problem(std::string_view name) { return control_character_problem(name); }
std::string url_check(std::string_view url) { return url_problem(url); }
std::string function_check(std::string_view f) { return function_problem(f); }
std::string python_path_check(std::string_view p) { return python_path_problem(p); }

// ---- the table ------------------------------------------------------------------------------
// In HDF5 column order. Readers find columns by name, so the order is a convention: a new
// setting is appended at the end; `parallel` was inserted earlier, after `gil`
// (docs/hdf5-schema.md, "Compatibility").

const std::vector<CellField>& table() {
    static const std::vector<CellField> fields{
        field<&Cell::name>({.key = "name",
                            .column = "name",
                            .help = "the cell's name, unique within the job; may hold {key} placeholders",
                            .plan_column = 1,
                            .plan_header = "name",
                            .problem = &name_problem}),
        field<&Cell::workload>({.key = "workload",
                                .column = "workload",
                                .help = "cpu (countdown), io (HTTP GETs), mixed (io_threads do GETs, the others "
                                        "count down) or python (your own function; engine cpython)",
                                .required = true,
                                .plan_column = 2,
                                .plan_header = "load"}),
        field<&Cell::gil>({.key = "gil",
                           .column = "gil",
                           .help = "GIL policy: new (CPython >= 3.2), old (CPython 2), none (free-threaded, cost-free ideal), "
                                   "free-threaded-3.13 or free-threaded-3.14 (emulated profiles of 3.13t/3.14t: "
                                   "single-thread overhead; docs/free-threading.md)",
                           .option = true,
                           .plan_column = 7,
                           .plan_header = "gil"}),
        field<&Cell::parallel>({.key = "parallel",
                                .column = "parallel",
                                .help = "what a rank's threads run in: threads (one interpreter, one shared GIL) or "
                                        "subinterpreters (one interpreter and GIL per thread; CPython >= 3.12)",
                                .option = true,
                                .plan_header = "parallel"}),
        field<&Cell::ranks>({.key = "ranks",
                             .column = "ranks",
                             .help = "MPI ranks (processes) taking part",
                             .min = 1,
                             .max = 1 << 20,
                             .plan_column = 3,
                             .plan_header = "ranks"}),
        field<&Cell::threads>({.key = "threads",
                               .column = "threads",
                               .help = "threads per rank, sharing that rank's GIL, e.g. --threads $SLURM_CPUS_PER_TASK",
                               .min = 1,
                               .max = 4096,
                               .option = true,
                               .plan_column = 4,
                               .plan_header = "threads"}),
        field<&Cell::io_threads>({.key = "io_threads",
                                  .column = "io_threads",
                                  .help = "mixed cells: threads per rank doing requests; fewer than threads",
                                  .min = 1,
                                  .max = 4096,
                                  .applies = &is_mixed,
                                  .applies_text = "workload = \"mixed\"",
                                  .applies_default = 1}),
        field<&Cell::work>({.key = "work",
                            .column = "work",
                            .help = "countdown steps (cpu) or HTTP requests (io, mixed)",
                            .min = 1,
                            .max = static_cast<double>(std::int64_t{1} << 50),
                            .required = true,
                            .plan_column = 5,
                            .plan_header = "work"}),
        field<&Cell::scaling>({.key = "scaling",
                               .column = "scaling",
                               .help = "strong: work is the total; weak: work is each worker's",
                               .plan_column = 6,
                               .plan_header = "scale"}),
        field<&Cell::switch_interval_s>({.key = "switch_interval",
                                         .column = "switch_interval_s",
                                         .help = "new GIL: how long a waiting thread waits before it asks the "
                                                 "holder to drop",
                                         .min = 1e-6,
                                         .max = 10.0,
                                         .unit = "seconds",
                                         .option = true,
                                         .plan_column = 9,
                                         .plan_header = "switch s"}),
        field<&Cell::check_interval>({.key = "check_interval",
                                      .column = "check_interval",
                                      .help = "old GIL: ticks (bytecode instructions) between forced releases",
                                      .min = 1,
                                      .max = 1 << 30,
                                      .unit = "ticks",
                                      .option = true}),
        field<&Cell::url>({.key = "url",
                           .column = "url",
                           .help = "send the I/O requests here (http:// or https://) instead of the embedded server",
                           .option = true,
                           .problem = &url_check}),
        field<&Cell::latency_s>({.key = "latency",
                                 .column = "latency_s",
                                 .help = "the embedded server's delay per request",
                                 .min = 0.0,
                                 .max = 60.0,
                                 .unit = "seconds",
                                 .option = true,
                                 .plan_column = 10,
                                 .plan_header = "latency"}),
        field<&Cell::keep_alive>({.key = "keep_alive",
                                  .column = "keep_alive",
                                  .help = "reuse one HTTP connection for all requests of a worker"}),
        field<&Cell::repeats>({.key = "repeats",
                               .column = "repeats",
                               .help = "measured trials per cell; \"auto\" (in [defaults] only): a pilot fixes "
                                       "them ([job.auto])",
                               .min = 1,
                               .max = 1000000,
                               .option = true,
                               .plan_column = 12,
                               .plan_header = "repeats"}),
        field<&Cell::warmups>({.key = "warmups",
                               .column = "warmups",
                               .help = "warm-up trials per cell, stored but left out of the statistics",
                               .min = 0,
                               .max = 1000000,
                               .option = true,
                               .plan_column = 11,
                               .plan_header = "warmups"}),
        field<&Cell::trace>({.key = "trace",
                             .column = "trace",
                             .help = "record GIL take/drop/request and I/O events of every trial",
                             .option = true}),
        field<&Cell::time_budget_s>({.key = "time_budget",
                                     .column = "time_budget_s",
                                     .help = "seconds per cell, warm-ups included: no new repeat starts after it "
                                             "(at least one runs); 0: none",
                                     .min = 0.0,
                                     .max = 1e7,
                                     .unit = "seconds",
                                     .option = true,
                                     .plan_column = 13,
                                     .plan_header = "budget s"}),
        field<&Cell::precision>({.key = "precision",
                                 .column = "precision",
                                 .help = "repeats = \"auto\" only: the relative half-width (0.1: 10 %) this cell's "
                                         "ratio to its base needs, in place of [job.auto] precision; 0: the job's",
                                 .min = 0.0,
                                 .max = 1.0}),
        field<&Cell::placement>({.key = "placement",
                                 .column = "placement",
                                 .help = "which ranks the cell runs on: launch (the first ranks, as launched), pack "
                                         "(node by node) or spread (one rank per node in turn); see docs/job-file.md",
                                 .option = true}),
        field<&Cell::io_timeout_s>({.key = "io_timeout",
                                    .column = "io_timeout_s",
                                    .help = "seconds one whole HTTP GET may take (connect to last byte, redirects "
                                            "included) before it counts as failed",
                                    .min = 0.001,
                                    .max = 86400.0,
                                    .unit = "seconds",
                                    .option = true}),
        field<&Cell::engine>({.key = "engine",
                              .column = "engine",
                              .help = "what runs the threads: emulated (gilbench's own GIL and interpreter) or "
                                      "cpython (the real interpreter, embedded in each rank); `gilbench engines` "
                                      "lists each engine's accepts and measures",
                              .option = true,
                              .plan_column = 8,
                              .plan_header = "engine",
                              .choices = &engine_name_list}),
        field<&Cell::function>({.key = "function",
                                .column = "function",
                                .help = "workload python: \"module:callable\", called in each worker thread as "
                                        "callable(work, index, count)",
                                .problem = &function_check,
                                .applies = &is_python,
                                .applies_text = "workload = \"python\""}),
        field<&Cell::python_path>({.key = "python_path",
                                   .column = "python_path",
                                   .help = "workload python: directories to import the function from, relative to the "
                                           "job file, e.g. [\"lib\"]",
                                   .problem = &python_path_check,
                                   .applies = &is_python,
                                   .applies_text = "workload = \"python\"",
                                   .path_list = true}),
    };
    return fields;
}

std::string with_unit(std::string text, std::string_view unit) {
    if (!unit.empty()) text += fmt::format(" {}", unit);
    return text;
}

std::string choice_list(std::span<const std::string_view> names, std::string_view last_separator) {
    std::string out;
    for (std::size_t i = 0; i < names.size(); ++i) {
        if (i > 0) out += i + 1 == names.size() ? last_separator : std::string_view(", ");
        out += names[i];
    }
    return out;
}

}  // namespace

std::span<const CellField> cell_fields() { return table(); }

const CellField* find_cell_field(std::string_view key) {
    for (const CellField& f : table())
        if (f.key == key) return &f;
    return nullptr;
}

std::string CellField::option_name() const {
    std::string name = "--" + std::string(key);
    std::replace(name.begin(), name.end(), '_', '-');
    return name;
}

std::string CellField::to_text(const FieldValue& v) const {
    if (const auto* i = std::get_if<std::int64_t>(&v)) return std::to_string(*i);
    if (const auto* d = std::get_if<double>(&v)) return fmt::format("{}", *d);
    if (const auto* b = std::get_if<bool>(&v)) return *b ? "true" : "false";
    return std::get<std::string>(v);
}

std::string CellField::range_text() const {
    switch (kind) {
        case FieldKind::integer:
            return with_unit(fmt::format("{} to {}", static_cast<std::int64_t>(min), static_cast<std::int64_t>(max)), unit);
        case FieldKind::number: return with_unit(fmt::format("{} to {}", min, max), unit);
        case FieldKind::choice: return choice_list(choices(), " or ");
        case FieldKind::flag:
        case FieldKind::text: return {};
    }
    return {};
}

std::string CellField::check(const FieldValue& v) const {
    switch (kind) {
        case FieldKind::integer: {
            const std::int64_t i = std::get<std::int64_t>(v);
            const auto lo = static_cast<std::int64_t>(min), hi = static_cast<std::int64_t>(max);
            if (i < lo || i > hi) return fmt::format("must be between {} and {}, got {}", lo, with_unit(std::to_string(hi), unit), i);
            return {};
        }
        case FieldKind::number: {
            const double d = std::get<double>(v);
            if (!(d >= min && d <= max)) return fmt::format("must be between {} and {}, got {}", min, with_unit(fmt::format("{}", max), unit), d);
            return {};
        }
        case FieldKind::choice: {
            const std::string& s = std::get<std::string>(v);
            const auto names = choices();
            if (std::find(names.begin(), names.end(), s) == names.end())
                return fmt::format("'{}' is not one of: {}", s, choice_list(names, ", "));
            return {};
        }
        case FieldKind::text: return problem ? problem(std::get<std::string>(v)) : std::string();
        case FieldKind::flag: return {};
    }
    return {};
}

std::optional<FieldValue> CellField::from_text(std::string_view text, std::string* why) const {
    switch (kind) {
        case FieldKind::integer: {
            std::int64_t i = 0;
            const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), i);
            if (ec == std::errc() && end == text.data() + text.size() && !text.empty()) return FieldValue{i};
            *why = fmt::format("must be an integer, got '{}'", text);
            return std::nullopt;
        }
        case FieldKind::number: {
            // strtod, not from_chars: it also takes "1e-3" and "+2" as a shell user writes them.
            const std::string copy(text);
            char* end = nullptr;
            errno = 0;
            const double d = std::strtod(copy.c_str(), &end);
            if (!copy.empty() && end == copy.c_str() + copy.size() && errno == 0) return FieldValue{d};
            *why = fmt::format("must be {}, got '{}'", unit.empty() ? "a number" : "a number of " + std::string(unit), text);
            return std::nullopt;
        }
        case FieldKind::flag:
            if (text == "true") return FieldValue{true};
            if (text == "false") return FieldValue{false};
            *why = fmt::format("must be true or false, got '{}'", text);
            return std::nullopt;
        case FieldKind::text:
        case FieldKind::choice: return FieldValue{std::string(text)};
    }
    return std::nullopt;
}

std::string control_character_problem(std::string_view text) {
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c < 0x20 || c == 0x7f)
            return fmt::format("contains a control character (code {}) at position {}; use printable text only",
                               static_cast<int>(c), i);
    }
    return {};
}

std::string url_problem(std::string_view url) {
    if (url.empty()) return {};
    if (std::string problem = control_character_problem(url); !problem.empty()) return problem;
    if (url.find(' ') != std::string_view::npos) return fmt::format("'{}' contains a space; write it as %20", url);
    if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0)
        return fmt::format("'{}' is not an http:// or https:// URL", url);
    return {};
}

namespace {
bool is_identifier(std::string_view s) {
    if (s.empty()) return false;
    const auto alpha = [](char c) { return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
    if (!alpha(s[0])) return false;
    return std::all_of(s.begin(), s.end(), [&](char c) { return alpha(c) || (c >= '0' && c <= '9'); });
}
bool is_dotted_name(std::string_view s) {
    for (std::size_t at = 0;;) {
        const auto dot = s.find('.', at);
        if (!is_identifier(s.substr(at, dot == std::string_view::npos ? std::string_view::npos : dot - at)))
            return false;
        if (dot == std::string_view::npos) return true;
        at = dot + 1;
    }
}
}  // namespace

std::string function_problem(std::string_view function) {
    if (function.empty()) return {};
    if (std::string problem = control_character_problem(function); !problem.empty()) return problem;
    const auto colon = function.find(':');
    // ASCII names only: enough for the module and function names people write, and what goes
    // to the interpreter is then plainly a name, never code.
    if (colon == std::string_view::npos || !is_dotted_name(function.substr(0, colon)) ||
        !is_dotted_name(function.substr(colon + 1)))
        return fmt::format("'{}' is not \"module:callable\"; write e.g. \"mymodule:work\" or \"pkg.mod:Class.method\"",
                           function);
    return {};
}

std::string python_path_problem(std::string_view joined) {
    if (joined.empty()) return {};
    if (std::string problem = control_character_problem(joined); !problem.empty()) return problem;
    for (std::size_t at = 0;;) {
        const auto colon = joined.find(':', at);
        const std::string_view dir = joined.substr(at, colon == std::string_view::npos ? std::string_view::npos : colon - at);
        if (dir.empty() || dir.front() != '/')
            return fmt::format("'{}' is not a list of absolute directories joined by ':'", joined);
        if (colon == std::string_view::npos) return {};
        at = colon + 1;
    }
}

}  // namespace gilbench::model
