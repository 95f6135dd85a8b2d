// Values for exercising every cell setting generically (tests of job/, store/ and cli/): a
// valid value other than the default, and values just outside the allowed range.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "model/cell_fields.hpp"

namespace gilbench::test {

// The TOML that makes a cell every field applies to (a mixed cell: io_threads applies), with
// room for any single sample below (work for every worker, threads beside the I/O threads).
inline const char* base_cell = "workload = 'mixed'\nthreads = 4\nwork = 1000\n";

// The cell for the settings that apply to python cells only (function, python_path).
inline const char* python_base_cell =
    "workload = 'python'\nengine = 'cpython'\nthreads = 4\nwork = 1000\nfunction = 'sample_mod:run'\n";

// Does `key` apply to the (mixed) base cell? Else the python base cell is the one to use.
inline bool applies_to_base(std::string_view key) {
    const model::CellField* f = model::find_cell_field(key);
    model::Cell mixed;
    mixed.workload = model::Workload::mixed;
    return !f || !f->applies || f->applies(mixed);
}

// The base cell's lines with `key = literal` in place of the base's own line for `key` (the
// python base cell's, for a setting that applies only to python cells).
inline std::string base_cell_with(std::string_view key, const std::string& literal) {
    std::string out;
    bool replaced = false;
    const bool python = !applies_to_base(key);
    const std::vector<const char*> lines =
        python ? std::vector<const char*>{"workload = 'python'", "engine = 'cpython'", "threads = 4", "work = 1000",
                                          "function = 'sample_mod:run'"}
               : std::vector<const char*>{"workload = 'mixed'", "threads = 4", "work = 1000"};
    for (const char* line : lines) {
        const bool same = std::string_view(line).substr(0, key.size() + 1) == std::string(key) + " ";
        out += same ? std::string(key) + " = " + literal : std::string(line);
        out += "\n";
        replaced = replaced || same;
    }
    if (!replaced) out += std::string(key) + " = " + literal + "\n";
    return out;
}

// A valid value other than `current` (for changing one setting of a cell).
inline model::FieldValue other_than(const model::CellField& f, const model::FieldValue& current) {
    switch (f.kind) {
        case model::FieldKind::integer: {
            const auto i = std::get<std::int64_t>(current);
            return i + 1 <= static_cast<std::int64_t>(f.max) ? i + 1 : i - 1;
        }
        case model::FieldKind::number: {
            const double mid = (f.min + f.max) / 2;
            return std::get<double>(current) == mid ? f.min : mid;
        }
        case model::FieldKind::flag: return !std::get<bool>(current);
        case model::FieldKind::choice:
            for (std::string_view n : f.choices())
                if (n != std::get<std::string>(current)) return std::string(n);
            return current;
        case model::FieldKind::text: return std::get<std::string>(current) + "x";
    }
    return current;
}

// A valid value that differs from the field's default.
inline model::FieldValue sample(const model::CellField& f) {
    const model::FieldValue d = f.applies ? f.applies_value() : f.default_value();
    // Text settings with a form of their own.
    if (f.key == "function") return std::string("other_mod:work");
    if (f.key == "python_path") return std::string("/opt/sample/lib:/opt/sample/src");
    switch (f.kind) {
        case model::FieldKind::integer: {
            const auto i = std::get<std::int64_t>(d);
            return i + 1 <= static_cast<std::int64_t>(f.max) ? i + 1 : static_cast<std::int64_t>(f.min);
        }
        case model::FieldKind::number: return (f.min + f.max) / 2;
        case model::FieldKind::flag: return !std::get<bool>(d);
        // The last name, except python for the workload: it needs a python cell (engine, function).
        case model::FieldKind::choice:
            return std::string(f.key == "workload" ? f.choices()[f.choices().size() - 2] : f.choices().back());
        case model::FieldKind::text: return std::string("http://127.0.0.1:1/sample");
    }
    return d;
}

// As the value is written in TOML.
inline std::string toml_literal(const model::CellField& f, const model::FieldValue& v) {
    if (f.path_list) {  // a list of directories: python_path = ['/a', '/b']
        std::string out, dirs = std::get<std::string>(v);
        for (std::size_t at = 0; at <= dirs.size();) {
            const auto colon = std::min(dirs.find(':', at), dirs.size());
            out += fmt::format("{}'{}'", out.empty() ? "" : ", ", dirs.substr(at, colon - at));
            at = colon + 1;
        }
        return "[" + out + "]";
    }
    if (f.kind == model::FieldKind::text || f.kind == model::FieldKind::choice)
        return fmt::format("'{}'", std::get<std::string>(v));
    if (f.kind == model::FieldKind::number) return fmt::format("{:.17g}", std::get<double>(v));
    return f.to_text(v);
}

// Values the range refuses (integers and numbers: one below the minimum and one above the
// maximum; choices: a name that is none of them); none for flags and free text.
inline std::vector<model::FieldValue> out_of_range(const model::CellField& f) {
    switch (f.kind) {
        case model::FieldKind::integer:
            return {static_cast<std::int64_t>(f.min) - 1, static_cast<std::int64_t>(f.max) + 1};
        case model::FieldKind::number: return {f.min - 1, f.max + 1};
        case model::FieldKind::choice: return {std::string("bogus")};
        case model::FieldKind::flag:
        case model::FieldKind::text: return {};
    }
    return {};
}

}  // namespace gilbench::test
