#include "job/job.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <array>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <toml++/toml.h>

namespace gilbench::job {
namespace {

constexpr std::array cell_keys{
    "name",     "workload",     "ranks", "threads",    "io_threads", "work",    "scaling", "gil",
    "switch_interval", "check_interval", "url", "latency", "keep_alive", "repeats",
    "warmups",  "trace",
};

// Formats "FILE:LINE: key 'K': problem" so the user can jump straight to the spot.
class Reporter {
public:
    explicit Reporter(std::string source) : source_(std::move(source)) {}

    [[noreturn]] void fail(const toml::node* node, std::string_view key, std::string_view problem) const {
        std::string where = source_;
        if (node && node->source().begin.line > 0) where += fmt::format(":{}", node->source().begin.line);
        if (key.empty()) throw JobError(fmt::format("{}: {}", where, problem));
        throw JobError(fmt::format("{}: key '{}': {}", where, key, problem));
    }
    const std::string& source() const { return source_; }

private:
    std::string source_;
};

bool is_known_cell_key(std::string_view key) {
    return std::find(cell_keys.begin(), cell_keys.end(), key) != cell_keys.end();
}

std::string known_keys() {
    std::string s;
    for (const char* k : cell_keys) s += (s.empty() ? "" : ", ") + std::string(k);
    return s;
}

// Looks a key up in the cell first, then in [defaults].
struct Lookup {
    const toml::table* cell;
    const toml::table* defaults;
    const Reporter& report;

    const toml::node* find(std::string_view key) const {
        if (const toml::node* n = cell->get(key)) return n;
        if (defaults) return defaults->get(key);
        return nullptr;
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

    static std::string describe(const toml::node& n) {
        std::ostringstream out;
        out << n.type() << " ";
        n.visit([&out](const auto& v) { out << v; });
        return out.str();
    }
};

void check_url(const Reporter& report, const toml::node* node, std::string_view key, const std::string& url) {
    if (url.empty()) return;
    if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0)
        report.fail(node, key, fmt::format("'{}' is not an http:// or https:// URL", url));
}

model::Cell parse_cell(const toml::table& t, const toml::table* defaults, int index, const Reporter& report) {
    for (const auto& [k, v] : t)
        if (!is_known_cell_key(k.str()))
            report.fail(&v, k.str(), fmt::format("is not a cell setting; known settings: {}", known_keys()));

    Lookup get{&t, defaults, report};
    model::Cell c;
    c.index = index;
    c.name = get.string("name", fmt::format("cell-{}", index));
    if (c.name.empty()) report.fail(get.find("name"), "name", "must not be empty");
    const std::string workload = get.choice("workload", std::nullopt, {"cpu", "io", "mixed"});
    c.workload = workload == "cpu" ? model::Workload::cpu
                 : workload == "io" ? model::Workload::io
                                    : model::Workload::mixed;
    c.ranks = static_cast<int>(get.integer("ranks", 1, 1, 1 << 20));
    c.threads = static_cast<int>(get.integer("threads", 1, 1, 4096));
    if (c.workload == model::Workload::mixed) {
        c.io_threads = static_cast<int>(get.integer("io_threads", 1, 1, c.threads));
        if (c.io_threads >= c.threads)
            report.fail(get.find("threads"), "threads",
                        fmt::format("a mixed cell needs CPU threads beside its {} I/O thread(s), got threads = {}; "
                                    "raise threads or use workload = \"io\"",
                                    c.io_threads, c.threads));
    } else if (const toml::node* n = t.get("io_threads")) {
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
    c.repeats = static_cast<int>(get.integer("repeats", 3, 1, 1000000));
    c.warmups = static_cast<int>(get.integer("warmups", 1, 0, 1000000));
    c.trace = get.boolean("trace", false);
    if (c.scaling == model::Scaling::strong && c.work < c.work_sharers())
        report.fail(get.find("work"), "work",
                    fmt::format("{} is less than the cell's {} workers ({} ranks x {} threads) under strong "
                                "scaling; raise work or use scaling = \"weak\"",
                                c.work, c.work_sharers(), c.ranks,
                                c.workload == model::Workload::mixed ? c.io_threads : c.threads));
    return c;
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

    std::set<std::string> names;
    int index = 0;
    for (const toml::node& n : *cells) {
        const toml::table* t = n.as_table();
        if (!t) report.fail(&n, "cell", "each cell must be a table: [[cell]]");
        model::Cell c = parse_cell(*t, defaults, index++, report);
        if (!names.insert(c.name).second)
            report.fail(t->get("name") ? t->get("name") : &n, "name",
                        fmt::format("'{}' is used by two cells; cell names must be unique", c.name));
        job.cells.push_back(std::move(c));
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
    std::ifstream in(path, std::ios::binary);
    if (!in) throw JobError(fmt::format("{}: cannot open the job file: {}; check the path (jobs/ has examples)",
                                        path, std::strerror(errno)));
    std::ostringstream buf;
    buf << in.rdbuf();
    return parse_job(buf.str(), path);
}

void apply_overrides(Job& job, const Overrides& o) {
    auto fail = [](std::string_view option, std::string_view problem) {
        throw JobError(fmt::format("option {}: {}", option, problem));
    };
    if (o.url && !o.url->empty() && o.url->rfind("http://", 0) != 0 && o.url->rfind("https://", 0) != 0)
        fail("--url", fmt::format("'{}' is not an http:// or https:// URL", *o.url));
    if (o.latency_s && !(*o.latency_s >= 0.0 && *o.latency_s <= 60.0))
        fail("--latency", fmt::format("must be between 0 and 60 seconds, got {}", *o.latency_s));
    if (o.repeats && *o.repeats < 1) fail("--repeats", fmt::format("must be at least 1, got {}", *o.repeats));
    if (o.warmups && *o.warmups < 0) fail("--warmups", fmt::format("must be at least 0, got {}", *o.warmups));
    if (o.gil && *o.gil != "new" && *o.gil != "old" && *o.gil != "none")
        fail("--gil", fmt::format("'{}' is not one of: new, old, none", *o.gil));
    if (o.switch_interval_s && !(*o.switch_interval_s >= 1e-6 && *o.switch_interval_s <= 10.0))
        fail("--switch-interval", fmt::format("must be between 1e-06 and 10 seconds, got {}", *o.switch_interval_s));
    for (auto& c : job.cells) {
        if (o.url) c.url = *o.url;
        if (o.latency_s) c.latency_s = *o.latency_s;
        if (o.repeats) c.repeats = *o.repeats;
        if (o.warmups) c.warmups = *o.warmups;
        if (o.gil) c.gil = *o.gil;
        if (o.switch_interval_s) c.switch_interval_s = *o.switch_interval_s;
        if (o.trace) c.trace = *o.trace;
    }
}

}  // namespace gilbench::job
