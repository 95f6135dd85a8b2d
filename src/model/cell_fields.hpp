// The cell schema, described once. Every setting of model::Cell that a job file can give has
// one entry in cell_fields(): its job-file key, kind, range, help text, option, plan column and
// HDF5 column. Generic code walks the table:
//
//   job/      parses [[cell]] and [defaults], fills {key} name placeholders, applies --key
//             overrides (same checks and messages as the job file) and compares plans (--resume)
//   cli/      registers one --key option per overridable field, draws the plan table
//   store/    lays out, writes and reads back the /runs/<run>/cells rows
//
// Adding a cell setting: a member in model::Cell (its initializer is the default) and an entry
// in cell_fields.cpp, then docs/job-file.md and docs/hdf5-schema.md (and analysis/'s column
// list; a test keeps them in step). Rules that tie settings together (io_threads < threads,
// enough work for the workers) stay in job/.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "model/cell.hpp"

namespace gilbench::model {

// How a setting is written in a job file and on the command line.
enum class FieldKind {
    integer,  // int or int64 member: a TOML integer
    number,   // double: a TOML float or integer
    flag,     // bool: true or false
    text,     // std::string
    choice,   // an enum: one of its names (enum_names)
};

// How a field is stored in /runs/<run>/cells.
enum class ColumnType { int32, int64, float64, uint8, text };

// A setting's value while it is read, checked, compared or stored: int64 for integers,
// double for numbers, bool for flags, the text (or the enum's name) for text and choices.
using FieldValue = std::variant<std::int64_t, double, bool, std::string>;

struct CellField {
    std::string_view key{};     // job-file key; the option is --key with '-' for '_'
    std::string_view column{};  // HDF5 column name in /runs/<run>/cells
    std::string_view help{};    // one line: what the setting means (option help, docs)
    // integer and number fields: the allowed range, both ends included
    double min = 0;
    double max = 0;
    std::string_view unit{};  // after numbers in messages: "seconds", "ticks" ("" for counts)
    bool required = false;  // the job file must give it (there is no sensible default)
    bool option = false;    // `run` and `plan` accept --key, overriding it in every cell
    // The plan table: a column at position plan_column (1, 2, ... left to right) headed
    // plan_header; 0: not a column, shown after the row when it differs from its default.
    int plan_column = 0;
    std::string_view plan_header{};
    // Text fields: a further check of the value ("" when fine, else the problem and its fix).
    std::string (*problem)(std::string_view text) = nullptr;
    // Set only in cells it applies to (io_threads: mixed cells); elsewhere it keeps its
    // model::Cell default, and a value written in the cell itself is an error naming
    // applies_text. Where it applies and is not given, it takes applies_default.
    bool (*applies)(const Cell&) = nullptr;
    std::string_view applies_text{};
    std::int64_t applies_default = 0;  // integer fields; the others take the member's default
    // Text fields: the job file gives a list of directories (or one, as a string), relative to
    // the job file's directory; stored absolute, joined by ':'. The list is one value, not a
    // sweep (python_path).
    bool path_list = false;

    // Filled in from the member's C++ type by the table (cell_fields.cpp).
    FieldKind kind = FieldKind::integer;
    ColumnType column_type = ColumnType::int32;
    // Choice fields: the allowed names, asked each time (enum_names of an enum; for `engine`, the
    // registered engines, model/engines.hpp). A text member given this is a choice field too.
    std::span<const std::string_view> (*choices)() = nullptr;
    FieldValue (*get)(const Cell&) = nullptr;
    // Stores an already checked value; throws std::invalid_argument for a value check()
    // refuses (a name that is not a choice, a number out of range), never substitutes one.
    void (*set)(Cell&, const FieldValue&) = nullptr;

    std::string option_name() const;  // "--switch-interval"
    FieldValue default_value() const { return get(Cell{}); }
    // The value a cell it applies to gets when it does not give it: applies_default for
    // integer fields, the member's default for the others.
    FieldValue applies_value() const {
        return kind == FieldKind::integer ? FieldValue{applies_default} : default_value();
    }
    // As a user writes it, for names, messages and tables: 4, 0.005, new, true.
    std::string text(const Cell& c) const { return to_text(get(c)); }
    std::string to_text(const FieldValue& v) const;
    // "" when v is allowed, else why not: "must be between 1 and 1000000, got 0",
    // "'fast' is not one of: new, old, none". The job file and the options both use it.
    std::string check(const FieldValue& v) const;
    // A command-line value: the value, or nullopt with *why set ("must be an integer, got
    // 'x'"); the range is not checked here (check() does).
    std::optional<FieldValue> from_text(std::string_view text, std::string* why) const;
    // "1 to 1000000", "0.001 to 86400 seconds", "new, old or none", "" for text and flags.
    std::string range_text() const;
};

// Every cell setting, in HDF5 column order (new fields go last; the column "cell" holding
// Cell::index comes before them all and is not a setting).
std::span<const CellField> cell_fields();
// nullptr for a key that is no cell setting.
const CellField* find_cell_field(std::string_view key);

// "" for printable text, else what is wrong and where: a control character in a name, URL or
// description would cut or garble what is stored, printed or sent.
std::string control_character_problem(std::string_view text);
// Why `url` cannot be used ("" when it can, also for "": the embedded server).
std::string url_problem(std::string_view url);
// Why `function` is not "module:callable" ("" when it is, also for "": not given). The module
// is a dotted name (pkg.mod), the callable a dotted attribute path (fn, Class.method).
std::string function_problem(std::string_view function);
// Why a stored python_path (absolute directories joined by ':') is not one ("" when it is).
std::string python_path_problem(std::string_view joined);

}  // namespace gilbench::model
