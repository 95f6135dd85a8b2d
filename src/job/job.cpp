#include "job/job.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <toml++/toml.h>

namespace gilbench::job {
namespace {

// Every key a [[cell]] (or [defaults]) may hold. `zip` shapes a sweep; the others are settings.
constexpr std::array cell_keys{
    "name",    "workload", "ranks",       "placement", "threads", "io_threads", "work",  "scaling",
    "gil",     "switch_interval", "check_interval", "url", "latency", "keep_alive", "io_timeout",
    "repeats", "warmups",  "trace",       "time_budget", "zip",
};

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

bool is_known_cell_key(std::string_view key) {
    return std::find(cell_keys.begin(), cell_keys.end(), key) != cell_keys.end();
}

std::string known_keys() {
    std::string s;
    for (const char* k : cell_keys) s += (s.empty() ? "" : ", ") + std::string(k);
    return s;
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

// Looks a key up in the sweep point first, then in the cell, then in [defaults].
struct Lookup {
    const toml::table* cell;
    const toml::table* defaults;
    const std::map<std::string, const toml::node*>* point;
    const Reporter& report;

    const toml::node* find(std::string_view key) const {
        if (point)
            if (auto it = point->find(std::string(key)); it != point->end()) return it->second;
        return effective(*cell, defaults, key);
    }

    std::int64_t integer(std::string_view key, std::optional<std::int64_t> fallback,
                         std::int64_t min, std::int64_t max) const {
        const toml::node* n = find(key);
        if (!n) {
            if (fallback) return *fallback;
            report.fail(cell, key, "is required; add it to the cell or to [defaults]");
        }
        const auto v = n->value<std::int64_t>();
        if (!n->is_integer() || !v)
            report.fail(n, key, fmt::format("must be an integer, got {}", describe(*n)));
        if (*v < min || *v > max)
            report.fail(n, key, fmt::format("must be between {} and {}, got {}", min, max, *v));
        return *v;
    }

    double number(std::string_view key, double fallback, double min, double max) const {
        const toml::node* n = find(key);
        if (!n) return fallback;
        const auto v = n->value<double>();  // integers convert too: latency = 1
        if (!(n->is_floating_point() || n->is_integer()) || !v)
            report.fail(n, key, fmt::format("must be a number of seconds, got {}", describe(*n)));
        if (!(*v >= min && *v <= max))
            report.fail(n, key, fmt::format("must be between {} and {} seconds, got {}", min, max, *v));
        return *v;
    }

    bool boolean(std::string_view key, bool fallback) const {
        const toml::node* n = find(key);
        if (!n) return fallback;
        if (!n->is_boolean()) report.fail(n, key, fmt::format("must be true or false, got {}", describe(*n)));
        return *n->value<bool>();
    }

    std::string string(std::string_view key, std::optional<std::string> fallback) const {
        const toml::node* n = find(key);
        if (!n) {
            if (fallback) return *fallback;
            report.fail(cell, key, "is required; add it to the cell or to [defaults]");
        }
        if (!n->is_string()) report.fail(n, key, fmt::format("must be a string, got {}", describe(*n)));
        return *n->value<std::string>();
    }

    std::string choice(std::string_view key, std::optional<std::string> fallback,
                       std::initializer_list<std::string_view> allowed) const {
        std::string v = string(key, std::move(fallback));
        if (std::find(allowed.begin(), allowed.end(), v) == allowed.end()) {
            std::string list;
            for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
            report.fail(find(key), key, fmt::format("'{}' is not one of: {}", v, list));
        }
        return v;
    }
};

// Text that ends up in file names, HDF5 strings, console tables and HTTP request lines: a
// control character there (a NUL from a TOML "\u0000" escape, a newline, an escape sequence)
// would cut or garble what is stored and printed, so it is refused where it is read.
// "" for printable text, else what is wrong and where.
std::string control_character_problem(std::string_view text) {
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c < 0x20 || c == 0x7f)
            return fmt::format("contains a control character (code {}) at position {}; use printable text only",
                               static_cast<int>(c), i);
    }
    return {};
}

void check_printable(const Reporter& report, const toml::node* node, std::string_view key, std::string_view text) {
    if (const std::string problem = control_character_problem(text); !problem.empty())
        report.fail(node, key, problem);
}

// Why `url` cannot be used ("" when it can): the job file and --url share this check.
std::string url_problem(const std::string& url) {
    if (url.empty()) return {};
    if (std::string problem = control_character_problem(url); !problem.empty()) return problem;
    if (url.find(' ') != std::string::npos) return fmt::format("'{}' contains a space; write it as %20", url);
    if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0)
        return fmt::format("'{}' is not an http:// or https:// URL", url);
    return {};
}

void check_url(const Reporter& report, const toml::node* node, std::string_view key, const std::string& url) {
    if (const std::string problem = url_problem(url); !problem.empty()) report.fail(node, key, problem);
}

// ---- sweeps -------------------------------------------------------------------------------

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
    for (const char* key : cell_keys) {
        const std::string_view k = key;
        if (k == "zip") continue;
        const toml::node* n = effective(cell, defaults, k);
        if (!n || !n->is_array()) continue;
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
            if (!is_known_cell_key(name) || name == "zip" || name == "name")
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
    if (key == "workload") return model::to_string(c.workload);
    if (key == "ranks") return std::to_string(c.ranks);
    if (key == "placement") return model::to_string(c.placement);
    if (key == "threads") return std::to_string(c.threads);
    if (key == "io_threads") return std::to_string(c.io_threads);
    if (key == "work") return std::to_string(c.work);
    if (key == "scaling") return model::to_string(c.scaling);
    if (key == "gil") return c.gil;
    if (key == "switch_interval") return fmt::format("{}", c.switch_interval_s);
    if (key == "check_interval") return std::to_string(c.check_interval);
    if (key == "url") return c.url;
    if (key == "latency") return fmt::format("{}", c.latency_s);
    if (key == "keep_alive") return c.keep_alive ? "true" : "false";
    if (key == "io_timeout") return fmt::format("{}", c.io_timeout_s);
    if (key == "repeats") return std::to_string(c.repeats);
    if (key == "warmups") return std::to_string(c.warmups);
    if (key == "trace") return c.trace ? "true" : "false";
    if (key == "time_budget") return fmt::format("{}", c.time_budget_s);
    return {};
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
        if (!is_known_cell_key(key) || key == "name" || key == "zip")
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

model::Cell parse_cell(const toml::table& t, const toml::table* defaults,
                       const std::map<std::string, const toml::node*>* point, int index, const Reporter& report) {
    Lookup get{&t, defaults, point, report};
    model::Cell c;
    c.index = index;
    const std::string workload = get.choice("workload", std::nullopt, {"cpu", "io", "mixed"});
    c.workload = workload == "cpu" ? model::Workload::cpu
                 : workload == "io" ? model::Workload::io
                                    : model::Workload::mixed;
    c.ranks = static_cast<int>(get.integer("ranks", 1, 1, 1 << 20));
    c.placement = *model::parse_placement(get.choice("placement", "launch", {"launch", "pack", "spread"}));
    c.threads = static_cast<int>(get.integer("threads", 1, 1, 4096));
    if (c.workload == model::Workload::mixed) {
        c.io_threads = static_cast<int>(get.integer("io_threads", 1, 1, c.threads));
        if (c.io_threads >= c.threads)
            report.fail(get.find("threads"), "threads",
                        fmt::format("a mixed cell needs CPU threads beside its {} I/O thread(s), got threads = {}; "
                                    "raise threads or use workload = \"io\"",
                                    c.io_threads, c.threads));
    } else if (const toml::node* n = t.get("io_threads"); n && !(point && point->count("workload"))) {
        // (A sweep over workload may set io_threads for its mixed points; the others ignore it.)
        report.fail(n, "io_threads", "only applies to workload = \"mixed\"");
    }
    c.work = get.integer("work", std::nullopt, 1, std::int64_t{1} << 50);
    c.scaling = get.choice("scaling", "strong", {"strong", "weak"}) == "strong" ? model::Scaling::strong
                                                                              : model::Scaling::weak;
    c.gil = get.choice("gil", "new", {"new", "old", "none"});
    c.switch_interval_s = get.number("switch_interval", 0.005, 1e-6, 10.0);
    c.check_interval = static_cast<int>(get.integer("check_interval", 100, 1, 1 << 30));
    c.url = get.string("url", "");
    check_url(report, get.find("url"), "url", c.url);
    c.latency_s = get.number("latency", 0.0, 0.0, 60.0);
    c.keep_alive = get.boolean("keep_alive", false);
    c.io_timeout_s = get.number("io_timeout", 30.0, 0.001, 86400.0);
    c.repeats = static_cast<int>(get.integer("repeats", 3, 1, 1000000));
    c.warmups = static_cast<int>(get.integer("warmups", 1, 0, 1000000));
    c.trace = get.boolean("trace", false);
    c.time_budget_s = get.number("time_budget", 0.0, 0.0, 1e7);
    if (c.scaling == model::Scaling::strong && c.work < c.work_sharers())
        report.fail(get.find("work"), "work",
                    fmt::format("{} is less than the cell's {} workers ({} ranks x {} threads) under strong "
                                "scaling; raise work or use scaling = \"weak\"",
                                c.work, c.work_sharers(), c.ranks,
                                c.workload == model::Workload::mixed ? c.io_threads : c.threads));
    return c;
}

// One [[cell]] table: a single cell, or one per sweep point.
std::vector<model::Cell> expand_cell(const toml::table& t, const toml::table* defaults, int first_index,
                                     const Reporter& report) {
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
        model::Cell c = parse_cell(t, defaults, nullptr, first_index, report);
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
        model::Cell c = parse_cell(t, defaults, &point, index, at);
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
                       [](const model::Cell& c) { return c.workload != model::Workload::cpu && c.url.empty(); });
}

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
    if (const toml::node* j = root.get("job")) {
        const toml::table* t = j->as_table();
        if (!t) report.fail(j, "job", "must be a table: [job]");
        for (const auto& [k, v] : *t) {
            if (k.str() != "name" && k.str() != "description")
                report.fail(&v, k.str(), "is not a [job] setting; use name and description");
            if (!v.is_string()) report.fail(&v, k.str(), "must be a string");
        }
        job.name = t->get("name") ? *t->get("name")->value<std::string>() : "";
        job.description = t->get("description") ? *t->get("description")->value<std::string>() : "";
        check_printable(report, t->get("name"), "name", job.name);
        // A description may span lines (a TOML multi-line string); other control characters not.
        std::string description = job.description;
        std::replace_if(description.begin(), description.end(), [](char c) { return c == '\n' || c == '\t'; }, ' ');
        check_printable(report, t->get("description"), "description", description);
    }

    const toml::table* defaults = nullptr;
    if (const toml::node* d = root.get("defaults")) {
        defaults = d->as_table();
        if (!defaults) report.fail(d, "defaults", "must be a table: [defaults]");
        for (const auto& [k, v] : *defaults)
            if (!is_known_cell_key(k.str()) || k.str() == "name")
                report.fail(&v, k.str(), fmt::format("is not a default cell setting; known settings: {}", known_keys()));
    }

    const toml::node* cells_node = root.get("cell");
    const toml::array* cells = cells_node ? cells_node->as_array() : nullptr;
    if (!cells || cells->empty())
        report.fail(cells_node, "", "the job has no cells; add at least one [[cell]] with a workload and work");

    // Which table each name came from, to point at the second one on a clash.
    std::map<std::string, const toml::node*> names;
    for (const toml::node& n : *cells) {
        const toml::table* t = n.as_table();
        if (!t) report.fail(&n, "cell", "each cell must be a table: [[cell]]");
        for (model::Cell& c : expand_cell(*t, defaults, static_cast<int>(job.cells.size()), report)) {
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
    if (job.name.empty()) {
        // Default name: the file's stem, so results and logs name something recognisable.
        std::string stem{source_name};
        if (auto slash = stem.find_last_of('/'); slash != std::string::npos) stem = stem.substr(slash + 1);
        if (auto dot = stem.find_last_of('.'); dot != std::string::npos && dot > 0) stem = stem.substr(0, dot);
        job.name = stem;
    }
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

void apply_overrides(Job& job, const Overrides& o) {
    auto fail = [](std::string_view option, std::string_view problem) {
        throw JobError(fmt::format("option {}: {}", option, problem));
    };
    if (o.url)
        if (const std::string problem = url_problem(*o.url); !problem.empty()) fail("--url", problem);
    if (o.latency_s && !(*o.latency_s >= 0.0 && *o.latency_s <= 60.0))
        fail("--latency", fmt::format("must be between 0 and 60 seconds, got {}", *o.latency_s));
    if (o.repeats && *o.repeats < 1) fail("--repeats", fmt::format("must be at least 1, got {}", *o.repeats));
    if (o.warmups && *o.warmups < 0) fail("--warmups", fmt::format("must be at least 0, got {}", *o.warmups));
    if (o.gil && *o.gil != "new" && *o.gil != "old" && *o.gil != "none")
        fail("--gil", fmt::format("'{}' is not one of: new, old, none", *o.gil));
    if (o.switch_interval_s && !(*o.switch_interval_s >= 1e-6 && *o.switch_interval_s <= 10.0))
        fail("--switch-interval", fmt::format("must be between 1e-06 and 10 seconds, got {}", *o.switch_interval_s));
    if (o.check_interval && (*o.check_interval < 1 || *o.check_interval > (1 << 30)))
        fail("--check-interval", fmt::format("must be between 1 and {} ticks, got {}", 1 << 30, *o.check_interval));
    if (o.placement && !model::parse_placement(*o.placement))
        fail("--placement", fmt::format("'{}' is not one of: launch, pack, spread", *o.placement));
    if (o.threads && (*o.threads < 1 || *o.threads > 4096))
        fail("--threads", fmt::format("must be between 1 and 4096, got {}", *o.threads));
    if (o.time_budget_s && !(*o.time_budget_s >= 0.0 && *o.time_budget_s <= 1e7))
        fail("--time-budget", fmt::format("must be between 0 (none) and 1e7 seconds, got {}", *o.time_budget_s));
    if (o.io_timeout_s && !(*o.io_timeout_s >= 0.001 && *o.io_timeout_s <= 86400.0))
        fail("--io-timeout", fmt::format("must be between 0.001 and 86400 seconds, got {}", *o.io_timeout_s));
    for (auto& c : job.cells) {
        if (o.url) c.url = *o.url;
        if (o.latency_s) c.latency_s = *o.latency_s;
        if (o.repeats) c.repeats = *o.repeats;
        if (o.warmups) c.warmups = *o.warmups;
        if (o.gil) c.gil = *o.gil;
        if (o.switch_interval_s) c.switch_interval_s = *o.switch_interval_s;
        if (o.check_interval) c.check_interval = *o.check_interval;
        if (o.placement) c.placement = *model::parse_placement(*o.placement);
        if (o.trace) c.trace = *o.trace;
        if (o.time_budget_s) c.time_budget_s = *o.time_budget_s;
        if (o.io_timeout_s) c.io_timeout_s = *o.io_timeout_s;
        if (o.threads) {
            c.threads = *o.threads;
            if (c.workload == model::Workload::mixed && c.io_threads >= c.threads)
                fail("--threads", fmt::format("cell '{}' is mixed with io_threads = {}, so it needs at least {} "
                                              "threads, got {}",
                                              c.name, c.io_threads, c.io_threads + 1, c.threads));
            if (c.scaling == model::Scaling::strong && c.work < c.work_sharers())
                fail("--threads", fmt::format("cell '{}' has work = {}, less than its {} workers with {} threads "
                                              "per rank; use fewer threads",
                                              c.name, c.work, c.work_sharers(), c.threads));
        }
    }
}

std::string plan_difference(const std::vector<model::Cell>& before, const std::vector<model::Cell>& now) {
    if (before.size() != now.size())
        return fmt::format("the job now has {} cells, the run had {}", now.size(), before.size());
    for (std::size_t i = 0; i < now.size(); ++i) {
        const model::Cell& a = before[i];
        const model::Cell& b = now[i];
        auto differs = [&](std::string_view what, const auto& was, const auto& is) -> std::string {
            return fmt::format("cell {} '{}': {} is {}, was {}", i, b.name, what, is, was);
        };
        if (a.name != b.name) return differs("name", a.name, b.name);
        if (a.workload != b.workload) return differs("workload", model::to_string(a.workload), model::to_string(b.workload));
        if (a.ranks != b.ranks) return differs("ranks", a.ranks, b.ranks);
        if (a.placement != b.placement)
            return differs("placement", model::to_string(a.placement), model::to_string(b.placement));
        if (a.threads != b.threads) return differs("threads", a.threads, b.threads);
        if (a.io_threads != b.io_threads) return differs("io_threads", a.io_threads, b.io_threads);
        if (a.work != b.work) return differs("work", a.work, b.work);
        if (a.scaling != b.scaling) return differs("scaling", model::to_string(a.scaling), model::to_string(b.scaling));
        if (a.gil != b.gil) return differs("gil", a.gil, b.gil);
        if (a.switch_interval_s != b.switch_interval_s)
            return differs("switch_interval", a.switch_interval_s, b.switch_interval_s);
        if (a.check_interval != b.check_interval) return differs("check_interval", a.check_interval, b.check_interval);
        if (a.url != b.url) return differs("url", fmt::format("'{}'", a.url), fmt::format("'{}'", b.url));
        if (a.latency_s != b.latency_s) return differs("latency", a.latency_s, b.latency_s);
        if (a.keep_alive != b.keep_alive) return differs("keep_alive", a.keep_alive, b.keep_alive);
        if (a.io_timeout_s != b.io_timeout_s) return differs("io_timeout", a.io_timeout_s, b.io_timeout_s);
        if (a.repeats != b.repeats) return differs("repeats", a.repeats, b.repeats);
        if (a.warmups != b.warmups) return differs("warmups", a.warmups, b.warmups);
        if (a.trace != b.trace) return differs("trace", a.trace, b.trace);
        if (a.time_budget_s != b.time_budget_s) return differs("time_budget", a.time_budget_s, b.time_budget_s);
    }
    return {};
}

}  // namespace gilbench::job
