#include "job/job.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "model/cell_fields.hpp"
#include "model/engines.hpp"

namespace gilbench::job {
namespace {

using model::CellField;
using model::FieldKind;
using model::FieldValue;

// A [[cell]] (or [defaults]) holds the cell settings (model::cell_fields()) and `zip`, which
// shapes a sweep.
constexpr std::string_view zip_key = "zip";

// Formats "FILE:LINE: key 'K': problem" so the user can jump straight to the spot. Inside a
// sweep, the point being checked is added: "(sweep point ranks=4, threads=2)".
class Reporter {
public:
    explicit Reporter(std::string source, std::string point = "")
        : source_(std::move(source)), point_(std::move(point)) {}

    [[noreturn]] void fail(const toml::node* node, std::string_view key, std::string_view problem) const {
        std::string where = source_;
        if (node && node->source().begin.line > 0) where += fmt::format(":{}", node->source().begin.line);
        std::string msg = key.empty() ? fmt::format("{}: {}", where, problem)
                                      : fmt::format("{}: key '{}': {}", where, key, problem);
        if (!point_.empty()) msg += fmt::format(" (sweep point {})", point_);
        throw JobError(msg);
    }
    Reporter at_point(std::string point) const { return Reporter(source_, std::move(point)); }

private:
    std::string source_;
    std::string point_;
};

bool is_known_cell_key(std::string_view key) { return key == zip_key || model::find_cell_field(key) != nullptr; }

std::string known_keys() {
    std::string s;
    for (const CellField& f : model::cell_fields()) s += (s.empty() ? "" : ", ") + std::string(f.key);
    return s + ", " + std::string(zip_key);
}

std::string describe(const toml::node& n) {
    std::ostringstream out;
    out << n.type() << " ";
    n.visit([&out](const auto& v) { out << v; });
    return out.str();
}

// A scalar as a user would write it in a name or a message: 8000000, 0.005, new, true.
std::string plain_text(const toml::node& n) {
    if (auto i = n.value_exact<std::int64_t>()) return std::to_string(*i);
    if (n.is_floating_point()) return fmt::format("{}", *n.value<double>());
    if (auto s = n.value_exact<std::string>()) return *s;
    if (auto b = n.value_exact<bool>()) return *b ? "true" : "false";
    return describe(n);
}

bool before(const toml::node* a, const toml::node* b) {
    const auto& x = a->source().begin;
    const auto& y = b->source().begin;
    return x.line != y.line ? x.line < y.line : x.column < y.column;
}

// The setting a cell sees before any sweep point is chosen: its own, else [defaults].
const toml::node* effective(const toml::table& cell, const toml::table* defaults, std::string_view key) {
    if (const toml::node* n = cell.get(key)) return n;
    return defaults ? defaults->get(key) : nullptr;
}

// Text that ends up in file names, HDF5 strings, console tables and HTTP request lines: a
// control character there (a NUL from a TOML "\u0000" escape, a newline, an escape sequence)
// would cut or garble what is stored and printed, so it is refused where it is read.
// (model::control_character_problem says what is wrong and where.)
void check_printable(const Reporter& report, const toml::node* node, std::string_view key, std::string_view text) {
    if (const std::string problem = model::control_character_problem(text); !problem.empty())
        report.fail(node, key, problem);
}

// Looks a key up in the sweep point first, then in the cell, then in [defaults].
struct Lookup {
    const toml::table* cell;
    const toml::table* defaults;
    const std::map<std::string, const toml::node*>* point;
    const Reporter& report;
    const std::filesystem::path& base_dir;  // the job file's directory, absolute

    const toml::node* find(std::string_view key) const {
        if (point)
            if (auto it = point->find(std::string(key)); it != point->end()) return it->second;
        return effective(*cell, defaults, key);
    }

    // The setting `f` of this cell: checked against its kind and range (the same check as
    // --key), else its default; a required one that is missing is an error.
    FieldValue value(const CellField& f) const {
        const toml::node* n = find(f.key);
        if (!n) {
            if (f.required) report.fail(cell, f.key, "is required; add it to the cell or to [defaults]");
            if (f.applies) return f.applies_value();
            return f.default_value();
        }
        if (f.path_list) return path_list(f, *n);
        FieldValue v;
        switch (f.kind) {
            case FieldKind::integer:
                if (!n->is_integer()) report.fail(n, f.key, fmt::format("must be an integer, got {}", describe(*n)));
                v = *n->value<std::int64_t>();
                break;
            case FieldKind::number:  // integers convert too: latency = 1
                if (!(n->is_floating_point() || n->is_integer()))
                    report.fail(n, f.key, fmt::format("must be {}, got {}",
                                                      f.unit.empty() ? "a number" : "a number of " + std::string(f.unit),
                                                      describe(*n)));
                v = *n->value<double>();
                break;
            case FieldKind::flag:
                if (!n->is_boolean()) report.fail(n, f.key, fmt::format("must be true or false, got {}", describe(*n)));
                v = *n->value<bool>();
                break;
            case FieldKind::text:
            case FieldKind::choice:
                if (!n->is_string()) report.fail(n, f.key, fmt::format("must be a string, got {}", describe(*n)));
                v = *n->value<std::string>();
                break;
        }
        if (const std::string problem = f.check(v); !problem.empty()) report.fail(n, f.key, problem);
        return v;
    }

    // A list of directories (or one, as a string), each relative to the job file's directory
    // unless absolute: stored absolute and joined by ':', as PYTHONPATH is.
    FieldValue path_list(const CellField& f, const toml::node& n) const {
        const std::string form = fmt::format("must be a list of directories, e.g. {} = [\"lib\", \"../src\"] "
                                             "(relative to the job file's directory)",
                                             f.key);
        std::vector<const toml::node*> items;
        if (n.is_string()) items.push_back(&n);
        else if (const toml::array* a = n.as_array())
            for (const toml::node& e : *a) items.push_back(&e);
        else report.fail(&n, f.key, fmt::format("{}, got {}", form, describe(n)));
        std::string joined;
        for (const toml::node* e : items) {
            if (!e->is_string()) report.fail(e, f.key, fmt::format("{}, got {}", form, describe(*e)));
            const std::string dir = *e->value<std::string>();
            if (dir.empty()) report.fail(e, f.key, "holds an empty directory name; write \".\" for the job file's directory");
            check_printable(report, e, f.key, dir);
            if (dir.find(':') != std::string::npos)
                report.fail(e, f.key, fmt::format("'{}' contains ':', which separates the directories in the stored "
                                                  "path; rename or link the directory",
                                                  dir));
            const std::string abs = (base_dir / dir).lexically_normal().string();
            joined += (joined.empty() ? "" : ":") + (abs.size() > 1 && abs.back() == '/' ? abs.substr(0, abs.size() - 1) : abs);
        }
        FieldValue v{joined};
        if (const std::string problem = f.check(v); !problem.empty()) report.fail(&n, f.key, problem);
        return v;
    }
};

// ---- sweeps -------------------------------------------------------------------------------

// The directory relative paths in a job file are relative to: the file's, absolute (the
// working directory for a job given as a string).
std::filesystem::path job_directory(std::string_view source_name) {
    std::error_code ec;
    std::filesystem::path cwd = std::filesystem::current_path(ec);
    if (ec) cwd = "/";
    if (source_name.empty() || source_name.front() == '<') return cwd;
    return (cwd / std::filesystem::path(source_name)).lexically_normal().parent_path();
}

// One dimension of a sweep: a single list, or lists zipped together (same length).
struct Axis {
    std::vector<std::string> keys;
    std::vector<const toml::array*> lists;
    const toml::node* first = nullptr;  // earliest list in the file: orders the axes
    std::size_t size() const { return lists.front()->size(); }
};

// Reads `zip`: ["a", "b"] (one group) or [["a", "b"], ["c", "d"]] (several).
std::vector<std::pair<std::vector<std::string>, const toml::node*>> zip_groups(const toml::node* zip,
                                                                                const Reporter& report) {
    std::vector<std::pair<std::vector<std::string>, const toml::node*>> groups;
    if (!zip) return groups;
    const toml::array* outer = zip->as_array();
    constexpr std::string_view form = "must list the settings that advance together, e.g. zip = [\"workload\", "
                                      "\"work\"], or several groups: zip = [[\"a\", \"b\"], [\"c\", \"d\"]]";
    if (!outer || outer->empty()) report.fail(zip, "zip", form);
    auto names_of = [&](const toml::array& a) {
        std::vector<std::string> names;
        for (const toml::node& e : a) {
            if (!e.is_string()) report.fail(&e, "zip", form);
            names.push_back(*e.value<std::string>());
        }
        return names;
    };
    if (outer->front().is_array()) {
        for (const toml::node& g : *outer) {
            if (!g.is_array() || g.as_array()->empty()) report.fail(&g, "zip", form);
            groups.emplace_back(names_of(*g.as_array()), &g);
        }
    } else {
        groups.emplace_back(names_of(*outer), zip);
    }
    return groups;
}

std::vector<Axis> sweep_axes(const toml::table& cell, const toml::table* defaults, const Reporter& report) {
    std::map<std::string, const toml::array*> lists;
    for (const CellField& f : model::cell_fields()) {
        const std::string_view k = f.key;
        const toml::node* n = effective(cell, defaults, k);
        if (!n || !n->is_array() || f.path_list) continue;  // a path list is one value
        if (k == "name")
            report.fail(n, k, "cannot be a list; use placeholders instead, e.g. name = \"cpu-{ranks}x{threads}\"");
        if (n->as_array()->empty()) report.fail(n, k, "is an empty list, which sweeps nothing; give at least one value");
        lists[std::string(k)] = n->as_array();
    }

    std::vector<Axis> axes;
    std::set<std::string> zipped;
    for (const auto& [names, node] : zip_groups(effective(cell, defaults, "zip"), report)) {
        Axis axis;
        for (const auto& name : names) {
            if (!model::find_cell_field(name) || name == "name")
                report.fail(node, "zip", fmt::format("'{}' is not a cell setting; known settings: {}", name, known_keys()));
            if (!zipped.insert(name).second)
                report.fail(node, "zip", fmt::format("'{}' is zipped twice; each setting may be in one group only", name));
            const auto it = lists.find(name);
            if (it == lists.end())
                report.fail(node, "zip",
                            fmt::format("'{}' is not a list; zipped settings need one value per point, e.g. {} = [...]",
                                        name, name));
            if (!axis.lists.empty() && it->second->size() != axis.size())
                report.fail(it->second, name,
                            fmt::format("has {} values but '{}' has {}; settings zipped together need lists of "
                                        "the same length",
                                        it->second->size(), axis.keys.front(), axis.size()));
            axis.keys.push_back(name);
            axis.lists.push_back(it->second);
            if (!axis.first || before(it->second, axis.first)) axis.first = it->second;
        }
        axes.push_back(std::move(axis));
    }
    for (const auto& [key, list] : lists)
        if (!zipped.count(key)) axes.push_back(Axis{{key}, {list}, list});
    // The order the lists appear in the file: the first varies slowest, like nested loops.
    std::sort(axes.begin(), axes.end(), [](const Axis& a, const Axis& b) { return before(a.first, b.first); });
    return axes;
}

// Every point of the product of `axes`: the chosen element node for each swept key.
std::vector<std::map<std::string, const toml::node*>> sweep_points(const std::vector<Axis>& axes,
                                                                    const toml::node* at, const Reporter& report) {
    std::size_t total = 1;
    for (const auto& a : axes) {
        total *= a.size();
        if (total > max_cells)
            report.fail(at, "", fmt::format("the sweep expands to more than {} cells; shorten its lists", max_cells));
    }
    std::vector<std::map<std::string, const toml::node*>> points;
    points.reserve(total);
    std::vector<std::size_t> at_index(axes.size(), 0);
    for (std::size_t p = 0; p < total; ++p) {
        std::map<std::string, const toml::node*> point;
        for (std::size_t a = 0; a < axes.size(); ++a)
            for (std::size_t k = 0; k < axes[a].keys.size(); ++k)
                point[axes[a].keys[k]] = axes[a].lists[k]->get(at_index[a]);
        points.push_back(std::move(point));
        // Odometer: the last axis turns fastest.
        for (std::size_t a = axes.size(); a-- > 0;) {
            if (++at_index[a] < axes[a].size()) break;
            at_index[a] = 0;
        }
    }
    return points;
}

// The swept keys in axis order, for names and messages.
std::vector<std::string> swept_keys(const std::vector<Axis>& axes) {
    std::vector<std::string> keys;
    for (const auto& a : axes) keys.insert(keys.end(), a.keys.begin(), a.keys.end());
    return keys;
}

// A cell setting's value as text, for names: {ranks} -> "4", {switch_interval} -> "0.005".
std::string setting_text(const model::Cell& c, std::string_view key) {
    const CellField* f = model::find_cell_field(key);
    return f ? f->text(c) : std::string();
}

// Fills "{key}" placeholders from the cell. An axis the template names no key of is appended
// as "-key=value" (its first key), so the expanded cells' names stay distinct.
std::string expand_name(const std::string& tmpl, const model::Cell& c, const std::vector<Axis>& axes,
                        const toml::node* name_node, const Reporter& report) {
    std::string out;
    std::set<std::string> used;
    for (std::size_t i = 0; i < tmpl.size(); ++i) {
        if (tmpl[i] == '}')
            report.fail(name_node, "name", fmt::format("'{}' has a '}}' without its '{{'; placeholders look like {{ranks}}", tmpl));
        if (tmpl[i] != '{') {
            out += tmpl[i];
            continue;
        }
        const auto close = tmpl.find('}', i);
        if (close == std::string::npos)
            report.fail(name_node, "name", fmt::format("'{}' has a '{{' without its '}}'; placeholders look like {{ranks}}", tmpl));
        const std::string key = tmpl.substr(i + 1, close - i - 1);
        if (!model::find_cell_field(key) || key == "name")
            report.fail(name_node, "name",
                        fmt::format("placeholder '{{{}}}' names no cell setting; known settings: {}", key, known_keys()));
        out += setting_text(c, key);
        used.insert(key);
        i = close;
    }
    for (const auto& axis : axes)
        if (std::none_of(axis.keys.begin(), axis.keys.end(), [&](const std::string& k) { return used.count(k) > 0; }))
            out += fmt::format("-{}={}", axis.keys.front(), setting_text(c, axis.keys.front()));
    return out;
}

// ---- one cell -----------------------------------------------------------------------------

// Rules between the engine and the other settings: {key to blame, problem} or {"", ""}. What
// each engine accepts, and its words for what it does not, are its descriptor's
// (model/engines.hpp); what depends on the embedded build (gil = "none", subinterpreters) the
// engine checks when a rank starts.
std::pair<std::string_view, std::string> engine_problem(const model::Cell& c) {
    if (const std::optional<model::Refusal> r = model::engine_refusal(c)) return {r->key, r->text};
    if (c.workload == model::Workload::python && c.function.empty())
        return {"function", "a python cell needs function = \"module:callable\" (called as callable(work, index, "
                            "count) in each worker thread)"};
    if (c.parallel == model::Parallel::subinterpreters && c.gil == model::GilPolicy::old_gil)
        return {"parallel", "parallel = \"subinterpreters\" gives each thread a GIL of its own (CPython >= 3.12); "
                            "gil = \"old\" is CPython 2's one process-wide lock; use gil = \"new\", or parallel = "
                            "\"threads\""};
    return {"", ""};
}

model::Cell parse_cell(const toml::table& t, const toml::table* defaults,
                       const std::map<std::string, const toml::node*>* point, int index, const Reporter& report,
                       const std::filesystem::path& base_dir) {
    Lookup get{&t, defaults, point, report, base_dir};
    model::Cell c;
    c.index = index;
    // In table order, which reads workload and threads before io_threads, whose rules need them.
    for (const CellField& f : model::cell_fields()) {
        if (f.key == "name") continue;  // a template: expand_cell fills it in per point
        if (f.applies && !f.applies(c)) {
            // Given in the cell itself it is a mistake; a sweep may give it for the points it
            // applies to (a workload sweep: io_threads for its mixed points), the others ignore it.
            if (const toml::node* n = t.get(f.key); n && !point)
                report.fail(n, f.key, fmt::format("only applies to {}", f.applies_text));
            continue;
        }
        f.set(c, get.value(f));
    }
    // ---- rules between settings (the table checks each one alone)
    if (c.workload == model::Workload::mixed && c.io_threads >= c.threads)
        report.fail(get.find("threads"), "threads",
                    fmt::format("a mixed cell needs CPU threads beside its {} I/O thread(s), got threads = {}; "
                                "raise threads or use workload = \"io\"",
                                c.io_threads, c.threads));
    if (c.scaling == model::Scaling::strong && c.work < c.work_sharers())
        report.fail(get.find("work"), "work",
                    fmt::format("{} is less than the cell's {} workers ({} ranks x {} threads) under strong "
                                "scaling; raise work or use scaling = \"weak\"",
                                c.work, c.work_sharers(), c.ranks,
                                c.workload == model::Workload::mixed ? c.io_threads : c.threads));
    if (const auto [key, problem] = engine_problem(c); !problem.empty())
        report.fail(get.find(key) ? get.find(key) : &t, key, problem);
    return c;
}

// One [[cell]] table: a single cell, or one per sweep point.
std::vector<model::Cell> expand_cell(const toml::table& t, const toml::table* defaults, int first_index,
                                     const Reporter& report, const std::filesystem::path& base_dir) {
    for (const auto& [k, v] : t)
        if (!is_known_cell_key(k.str()))
            report.fail(&v, k.str(), fmt::format("is not a cell setting; known settings: {}", known_keys()));

    const std::vector<Axis> axes = sweep_axes(t, defaults, report);
    const std::vector<std::string> swept = swept_keys(axes);
    const toml::node* name_node = t.get("name");
    std::string name_template = fmt::format("cell-{}", first_index);
    if (name_node) {
        if (!name_node->is_string())
            report.fail(name_node, "name", fmt::format("must be a string, got {}", describe(*name_node)));
        name_template = *name_node->value<std::string>();
        if (name_template.empty()) report.fail(name_node, "name", "must not be empty");
    }

    std::vector<model::Cell> cells;
    if (axes.empty()) {
        model::Cell c = parse_cell(t, defaults, nullptr, first_index, report, base_dir);
        c.name = name_node ? expand_name(name_template, c, axes, name_node, report) : name_template;
        check_printable(report, name_node, "name", c.name);
        cells.push_back(std::move(c));
        return cells;
    }
    int index = first_index;
    for (const auto& point : sweep_points(axes, &t, report)) {
        std::string where;
        for (const auto& key : swept) where += fmt::format("{}{}={}", where.empty() ? "" : ", ", key, plain_text(*point.at(key)));
        const Reporter at = report.at_point(where);
        model::Cell c = parse_cell(t, defaults, &point, index, at, base_dir);
        // Unnamed: cell-<index> is unique already. Named: the template, completed.
        c.name = name_node ? expand_name(name_template, c, axes, name_node, at) : fmt::format("cell-{}", index);
        check_printable(at, name_node, "name", c.name);
        cells.push_back(std::move(c));
        ++index;
    }
    return cells;
}

}  // namespace

int Job::max_ranks() const {
    int m = 0;
    for (const auto& c : cells) m = std::max(m, c.ranks);
    return m;
}

bool Job::uses_embedded_server() const {
    return std::any_of(cells.begin(), cells.end(),
                       [](const model::Cell& c) {
                           return (c.workload == model::Workload::io || c.workload == model::Workload::mixed) &&
                                  c.url.empty();
                       });
}

namespace {

// [job.auto]: how repeats = "auto" sizes the run (model::AutoRounds).
void parse_auto_section(const toml::node& a, const Reporter& report, model::AutoRounds& autos) {
    const toml::table* t = a.as_table();
    if (!t) report.fail(&a, "auto", "must be a table: [job.auto] with precision, pilot, max and budget");
    auto number = [&](std::string_view key, double low, double high, std::string_view what) {
        const toml::node* n = t->get(key);
        const std::optional<double> v = n->value<double>();
        if (!v || n->is_boolean() || !(*v >= low && *v <= high))
            report.fail(n, fmt::format("auto.{}", key), fmt::format("must be {} from {} to {}", what, low, high));
        return *v;
    };
    for (const auto& [k, v] : *t) {
        const std::string_view key = k.str();
        if (key == "precision") autos.precision = number(key, 0.001, 1.0, "a relative half-width (0.03: 3 %)");
        else if (key == "budget") autos.budget_s = number(key, 0.0, 31.0 * 86400, "seconds (0: no limit)");
        else if (key == "pilot" || key == "max") {
            if (!v.is_integer()) report.fail(&v, fmt::format("auto.{}", key), "must be a whole number of rounds");
            const std::int64_t n = *v.value<std::int64_t>();
            if (n < 3 || n > 1000000)
                report.fail(&v, fmt::format("auto.{}", key), "must be from 3 to 1000000 rounds (3: the fewest that "
                                                             "give a spread)");
            (key == "pilot" ? autos.pilot : autos.max) = static_cast<int>(n);
        } else
            report.fail(&v, fmt::format("auto.{}", key), "is not a [job.auto] setting; use precision, pilot, max and "
                                                        "budget");
    }
    if (autos.max < autos.pilot)
        report.fail(&a, "auto.max", fmt::format("is {}, fewer rounds than the pilot's {}; give max >= pilot",
                                                autos.max, autos.pilot));
}

// [job]: name, description, order and [job.auto].
void parse_job_section(const toml::node& j, const Reporter& report, Job& job) {
    const toml::table* t = j.as_table();
    if (!t) report.fail(&j, "job", "must be a table: [job]");
    for (const auto& [k, v] : *t) {
        if (k.str() == "auto") {
            parse_auto_section(v, report, job.auto_rounds);
            continue;
        }
        if (k.str() != "name" && k.str() != "description" && k.str() != "order")
            report.fail(&v, k.str(), "is not a [job] setting; use name, description, order and [job.auto]");
        if (!v.is_string()) report.fail(&v, k.str(), "must be a string");
    }
    if (const toml::node* o = t->get("order")) {
        const std::string text = *o->value<std::string>();
        const std::optional<model::Order> order = model::parse_name<model::Order>(text);
        if (!order)
            report.fail(o, "order",
                        fmt::format("must be \"alternating\" (the default: trial k of every cell before trial "
                                    "k+1 of any, odd rounds in reverse order), \"rounds\" (the same, every round "
                                    "in plan order) or \"cells\" (every trial of a cell, then the next cell), got "
                                    "\"{}\"",
                                    text));
        job.order = *order;
    }
    job.name = t->get("name") ? *t->get("name")->value<std::string>() : "";
    job.description = t->get("description") ? *t->get("description")->value<std::string>() : "";
    check_printable(report, t->get("name"), "name", job.name);
    // A description may span lines (a TOML multi-line string); other control characters not.
    std::string description = job.description;
    std::replace_if(description.begin(), description.end(), [](char c) { return c == '\n' || c == '\t'; }, ' ');
    check_printable(report, t->get("description"), "description", description);
}

// [defaults]: cell settings every cell starts from (nullptr when absent).
const toml::table* parse_defaults(const toml::table& root, const Reporter& report) {
    const toml::node* d = root.get("defaults");
    if (!d) return nullptr;
    const toml::table* defaults = d->as_table();
    if (!defaults) report.fail(d, "defaults", "must be a table: [defaults]");
    for (const auto& [k, v] : *defaults)
        if (!is_known_cell_key(k.str()) || k.str() == "name")
            report.fail(&v, k.str(), fmt::format("is not a default cell setting; known settings: {}", known_keys()));
    return defaults;
}

// [[cell]]: every cell, each sweep expanded, names unique.
void parse_cells(const toml::table& root, const toml::table* defaults, const Reporter& report,
                 std::string_view source_name, Job& job) {
    const std::filesystem::path base_dir = job_directory(source_name);
    const toml::node* cells_node = root.get("cell");
    const toml::array* cells = cells_node ? cells_node->as_array() : nullptr;
    if (!cells || cells->empty())
        report.fail(cells_node, "", "the job has no cells; add at least one [[cell]] with a workload and work");
    // Which table each name came from, to point at the second one on a clash.
    std::map<std::string, const toml::node*> names;
    for (const toml::node& n : *cells) {
        const toml::table* t = n.as_table();
        if (!t) report.fail(&n, "cell", "each cell must be a table: [[cell]]");
        for (model::Cell& c : expand_cell(*t, defaults, static_cast<int>(job.cells.size()), report, base_dir)) {
            const toml::node* at = t->get("name") ? t->get("name") : &n;
            if (!names.emplace(c.name, at).second)
                report.fail(at, "name",
                            fmt::format("'{}' is used by two cells; cell names must be unique (in a sweep, give the "
                                        "name a placeholder for each swept setting, e.g. \"cpu-{{ranks}}x{{threads}}\")",
                                        c.name));
            job.cells.push_back(std::move(c));
            if (job.cells.size() > max_cells)
                report.fail(&n, "", fmt::format("the job expands to more than {} cells; shorten its sweeps", max_cells));
        }
    }
}

// Default name: the file's stem, so results and logs name something recognisable.
std::string file_stem(std::string_view source_name) {
    std::string stem{source_name};
    if (auto slash = stem.find_last_of('/'); slash != std::string::npos) stem = stem.substr(slash + 1);
    if (auto dot = stem.find_last_of('.'); dot != std::string::npos && dot > 0) stem = stem.substr(0, dot);
    return stem;
}

}  // namespace

Job parse_job(std::string_view text, std::string_view source_name) {
    const Reporter report{std::string(source_name)};
    toml::table root;
    try {
        root = toml::parse(text, source_name);
    } catch (const toml::parse_error& e) {
        throw JobError(fmt::format("{}:{}: invalid TOML: {}", source_name, e.source().begin.line, e.description()));
    }
    for (const auto& [k, v] : root)
        if (k.str() != "job" && k.str() != "defaults" && k.str() != "cell")
            report.fail(&v, k.str(), "is not a job section; use [job], [defaults] and [[cell]]");

    Job job;
    job.path = std::string(source_name);
    job.text = std::string(text);
    if (const toml::node* j = root.get("job")) parse_job_section(*j, report, job);
    const toml::table* defaults = parse_defaults(root, report);
    // repeats = "auto" in [defaults]: every cell runs the pilot's rounds first (the cells hold
    // it as their repeats), then as many as it fixes (runner/auto_rounds.hpp).
    toml::table sized;
    if (const toml::node* r = defaults ? defaults->get("repeats") : nullptr; r && r->is_string()) {
        if (*r->value<std::string>() != "auto")
            report.fail(r, "repeats", fmt::format("must be a whole number of trials or \"auto\", got \"{}\"",
                                                  *r->value<std::string>()));
        job.auto_rounds.on = true;
        sized = *defaults;
        sized.insert_or_assign("repeats", static_cast<std::int64_t>(job.auto_rounds.pilot));
        defaults = &sized;
        if (const toml::node* cells = root.get("cell"); cells && cells->is_array())
            for (const toml::node& c : *cells->as_array())
                if (const toml::table* t = c.as_table(); t && t->get("repeats"))
                    report.fail(t->get("repeats"), "repeats",
                                "is set in [defaults] as \"auto\", which sizes every cell alike (paired rounds); "
                                "drop it here, or give [defaults] a number");
    } else if (const toml::node* cells = root.get("cell"); cells && cells->is_array()) {
        for (const toml::node& c : *cells->as_array())
            if (const toml::table* t = c.as_table(); t && t->get("repeats") && t->get("repeats")->is_string())
                report.fail(t->get("repeats"), "repeats",
                            "\"auto\" sizes every cell alike: write repeats = \"auto\" in [defaults]");
    }
    parse_cells(root, defaults, report, source_name, job);
    if (job.name.empty()) job.name = file_stem(source_name);
    return job;
}

Job load_job(const std::string& path) {
    // An ifstream opens a directory without complaint and reads nothing from it: without this
    // check a directory would parse as an empty job ("the job has no cells").
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec))
        throw JobError(fmt::format("{}: is a directory, not a job file; give a TOML file (jobs/ has examples, "
                                   "e.g. jobs/seed.toml)",
                                   path));
    std::ifstream in(path, std::ios::binary);
    if (!in) throw JobError(fmt::format("{}: cannot open the job file: {}; check the path (jobs/ has examples)",
                                        path, std::strerror(errno)));
    std::ostringstream buf;
    buf << in.rdbuf();
    if (in.bad()) throw JobError(fmt::format("{}: cannot read the job file: {}", path, std::strerror(errno)));
    return parse_job(buf.str(), path);
}

void Overrides::set(std::string_view key, std::string text) {
    const CellField* f = model::find_cell_field(key);
    if (!f || key == "name") throw std::invalid_argument(fmt::format("'{}' is not a cell setting to override", key));
    values[std::string(key)] = std::move(text);
}

bool Overrides::has(std::string_view key) const { return values.find(key) != values.end(); }

void apply_overrides(Job& job, const Overrides& given) {
    auto fail = [](std::string_view option, std::string_view problem) {
        throw JobError(fmt::format("option {}: {}", option, problem));
    };
    // --repeats auto: the job's cells run repeats = "auto" (its [job.auto] settings).
    Overrides o = given;
    if (const auto r = o.values.find("repeats"); r != o.values.end() && r->second == "auto") {
        job.auto_rounds.on = true;
        r->second = std::to_string(job.auto_rounds.pilot);
    } else if (r != o.values.end()) {
        job.auto_rounds.on = false;
    }
    // Each value is read and checked as the job file's would be, before any cell changes.
    std::vector<std::pair<const CellField*, FieldValue>> values;
    for (const CellField& f : model::cell_fields()) {
        const auto it = o.values.find(f.key);
        if (it == o.values.end()) continue;
        std::string why;
        const std::optional<FieldValue> v = f.from_text(it->second, &why);
        if (!v) fail(f.option_name(), why);
        if (const std::string problem = f.check(*v); !problem.empty()) fail(f.option_name(), problem);
        values.emplace_back(&f, *v);
    }
    for (auto& c : job.cells) {
        for (const auto& [f, v] : values)
            if (!f->applies || f->applies(c)) f->set(c, v);
        // ---- rules between settings: only --threads can break them
        if (o.has("threads")) {
            if (c.workload == model::Workload::mixed && c.io_threads >= c.threads)
                fail("--threads", fmt::format("cell '{}' is mixed with io_threads = {}, so it needs at least {} "
                                              "threads, got {}",
                                              c.name, c.io_threads, c.io_threads + 1, c.threads));
            if (c.scaling == model::Scaling::strong && c.work < c.work_sharers())
                fail("--threads", fmt::format("cell '{}' has work = {}, less than its {} workers with {} threads "
                                              "per rank; use fewer threads",
                                              c.name, c.work, c.work_sharers(), c.threads));
        }
        // The engine's rules, as the job file's: --engine cpython with gil = "old", ...
        if (const auto [key, problem] = engine_problem(c); !problem.empty()) {
            const CellField* f = model::find_cell_field(key);
            const std::string option = o.has(key) ? f->option_name() : std::string("--engine");
            fail(option, fmt::format("cell '{}': {}", c.name, problem));
        }
    }
}

std::string plan_difference(const std::vector<model::Cell>& before, const std::vector<model::Cell>& now) {
    if (before.size() != now.size())
        return fmt::format("the job now has {} cells, the run had {}", now.size(), before.size());
    for (std::size_t i = 0; i < now.size(); ++i) {
        for (const CellField& f : model::cell_fields()) {
            const FieldValue was = f.get(before[i]);
            const FieldValue is = f.get(now[i]);
            if (was == is) continue;
            // Text in quotes, so an empty url or a trailing space shows.
            auto show = [&](const FieldValue& v) {
                return f.kind == FieldKind::text ? fmt::format("'{}'", f.to_text(v)) : f.to_text(v);
            };
            return fmt::format("cell {} '{}': {} is {}, was {}", i, now[i].name, f.key, show(is), show(was));
        }
    }
    return {};
}

}  // namespace gilbench::job
