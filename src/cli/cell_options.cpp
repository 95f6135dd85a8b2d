#include "cli/cell_options.hpp"

#include <cctype>
#include <string>

#include <fmt/format.h>

#include "model/cell_fields.hpp"

namespace gilbench::cli {
namespace {

// What --help shows after the option: INT, SECONDS, new|old|none, TEXT.
std::string value_name(const model::CellField& f) {
    switch (f.kind) {
        case model::FieldKind::integer: return "INT";
        case model::FieldKind::number: return f.unit == "seconds" ? "SECONDS" : "NUMBER";
        case model::FieldKind::choice: {
            std::string names;
            for (std::string_view n : f.choices()) names += (names.empty() ? "" : "|") + std::string(n);
            return names;
        }
        case model::FieldKind::text:
        case model::FieldKind::flag: return "TEXT";
    }
    return "TEXT";
}

std::string help_for(const model::CellField& f, CellOptionsFor what) {
    if (what == CellOptionsFor::plan) return fmt::format("Show the plan as `run {}` would run it", f.option_name());
    std::string help(f.help);
    if (!help.empty()) help[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(help[0])));
    std::string limits = f.range_text();
    if (f.kind != model::FieldKind::flag) {
        const std::string shown = f.to_text(f.default_value());
        limits += fmt::format("{}default {}", limits.empty() ? "" : ", ", shown.empty() ? "\"\"" : shown);
    }
    return fmt::format("{}. Overrides `{}` in every cell{}", help, f.key, limits.empty() ? "" : " (" + limits + ")");
}

}  // namespace

void add_cell_options(CLI::App& app, job::Overrides& overrides, CellOptionsFor what) {
    for (const model::CellField& f : model::cell_fields()) {
        if (!f.option) continue;
        const std::string key(f.key);
        if (f.kind == model::FieldKind::flag) {
            // A callback, not a bool: an absent flag must leave the job's value (trace = true) alone.
            app.add_flag_callback(f.option_name(), [&overrides, key] { overrides.set(key, "true"); },
                                  help_for(f, what));
            continue;
        }
        // Taken as text: apply_overrides reads and checks it as the job file's value would be,
        // so `--repeats 0` and `repeats = 0` get the same message.
        app.add_option_function<std::string>(
               f.option_name(), [&overrides, key](const std::string& text) { overrides.set(key, text); },
               help_for(f, what))
            ->type_name(value_name(f));
    }
}

}  // namespace gilbench::cli
