// The field table (model::cell_fields()) against the job parser, the overrides and the plan
// difference: every field is read from a job file, overridden with the same checks and the
// same messages, named in placeholders and compared for --resume.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "job/job.hpp"
#include "model/cell_fields.hpp"
#include "model/field_samples.hpp"

namespace gj = gilbench::job;
namespace gm = gilbench::model;
using gilbench::test::base_cell;

namespace {

std::string job_with(const gm::CellField& f, const std::string& literal) {
    return std::string("[[cell]]\nname = 'c'\n") + gilbench::test::base_cell_with(f.key, literal);
}

// The message of the JobError `f` throws ("" if none).
template <class F>
std::string error_of(F&& f) {
    try {
        f();
    } catch (const gj::JobError& e) {
        return e.what();
    }
    return "";
}

std::string after(const std::string& text, const std::string& prefix) {
    const auto at = text.find(prefix);
    return at == std::string::npos ? "<no '" + prefix + "' in: " + text + ">" : text.substr(at + prefix.size());
}

}  // namespace

TEST(CellFields, KeysAndColumnsAreUniqueAndDefaultsAreAllowed) {
    std::set<std::string_view> keys, columns;
    std::set<std::string> options;
    for (const gm::CellField& f : gm::cell_fields()) {
        SCOPED_TRACE(std::string(f.key));
        EXPECT_TRUE(keys.insert(f.key).second);
        EXPECT_TRUE(columns.insert(f.column).second);
        EXPECT_NE(f.column, "cell") << "column 'cell' holds Cell::index";
        EXPECT_FALSE(f.help.empty());
        EXPECT_EQ(gm::find_cell_field(f.key), &f);
        // The default a job file gets must pass the job file's own check.
        if (!f.required) {
            EXPECT_EQ(f.check(f.applies ? f.applies_value() : f.default_value()), "");
        }
        if (f.kind == gm::FieldKind::integer || f.kind == gm::FieldKind::number) {
            EXPECT_LT(f.min, f.max);
        }
        if (f.kind == gm::FieldKind::choice) {
            EXPECT_GE(f.choices().size(), 2u);
        }
        if (f.option) {
            EXPECT_TRUE(options.insert(f.option_name()).second);
        }
    }
    EXPECT_EQ(gm::find_cell_field("zip"), nullptr);
    EXPECT_EQ(gm::find_cell_field("nope"), nullptr);
    EXPECT_EQ(gm::find_cell_field("switch_interval")->option_name(), "--switch-interval");
}

TEST(CellFields, EveryFieldIsReadFromAJobFileAndNamedInPlaceholders) {
    for (const gm::CellField& f : gm::cell_fields()) {
        if (f.key == "name") continue;
        SCOPED_TRACE(std::string(f.key));
        const gm::FieldValue v = gilbench::test::sample(f);
        ASSERT_EQ(f.check(v), "");
        std::string text = job_with(f, gilbench::test::toml_literal(f, v));
        text.replace(text.find("name = 'c'"), 10, "name = 'c-{" + std::string(f.key) + "}'");
        gj::Job job;
        ASSERT_NO_THROW(job = gj::parse_job(text)) << text;
        ASSERT_EQ(job.cells.size(), 1u);
        EXPECT_EQ(f.get(job.cells[0]), v);
        EXPECT_EQ(job.cells[0].name, "c-" + f.to_text(v));
        // ... and from [defaults].
        // (the base cell's own line for the key is left out: a cell's setting beats [defaults])
        std::string cell = gilbench::test::base_cell_with(f.key, "");
        cell.erase(cell.find(std::string(f.key) + " = \n"), f.key.size() + 4);
        const std::string in_defaults = "[defaults]\n" + std::string(f.key) + " = " +
                                        gilbench::test::toml_literal(f, v) + "\n[[cell]]\nname = 'd'\n" + cell;
        ASSERT_NO_THROW(job = gj::parse_job(in_defaults)) << in_defaults;
        EXPECT_EQ(f.get(job.cells[0]), v);
    }
}

TEST(CellFields, MissingFieldsTakeTheirDefaultsAndRequiredOnesAreNamed) {
    const gj::Job job = gj::parse_job(std::string("[[cell]]\n") + base_cell);
    for (const gm::CellField& f : gm::cell_fields()) {
        SCOPED_TRACE(std::string(f.key));
        if (f.required) {
            std::string text = std::string("[[cell]]\n") + base_cell;
            const std::string line = std::string(f.key) + " = ";
            text.erase(text.find(line), text.find('\n', text.find(line)) - text.find(line) + 1);
            EXPECT_NE(error_of([&] { gj::parse_job(text); }).find("key '" + std::string(f.key) + "': is required"),
                      std::string::npos);
        } else if (f.key != "name" && f.key != "threads") {
            EXPECT_EQ(f.get(job.cells[0]), f.applies ? f.applies_value() : f.default_value());
        }
    }
}

TEST(CellFields, OverridesHaveTheJobFilesRangesAndMessages) {
    for (const gm::CellField& f : gm::cell_fields()) {
        if (f.key == "name") continue;
        for (const gm::FieldValue& bad : gilbench::test::out_of_range(f)) {
            SCOPED_TRACE(std::string(f.key) + " = " + f.to_text(bad));
            const std::string in_file = error_of([&] { gj::parse_job(job_with(f, gilbench::test::toml_literal(f, bad)), "bad.toml"); });
            gj::Job job = gj::parse_job(std::string("[[cell]]\n") + base_cell);
            gj::Overrides o;
            o.set(f.key, f.to_text(bad));
            const std::string as_option = error_of([&] { gj::apply_overrides(job, o); });
            ASSERT_FALSE(in_file.empty()) << "the job file took it";
            ASSERT_FALSE(as_option.empty()) << f.option_name() << " took it";
            EXPECT_EQ(after(in_file, "key '" + std::string(f.key) + "': "), after(as_option, "option " + f.option_name() + ": "));
        }
    }
    // The case that started it: --repeats had no upper bound while the job file had one.
    gj::Job job = gj::parse_job(std::string("[[cell]]\n") + base_cell);
    gj::Overrides o;
    o.set("repeats", "1000001");
    EXPECT_EQ(error_of([&] { gj::apply_overrides(job, o); }), "option --repeats: must be between 1 and 1000000, got 1000001");
    o.set("repeats", "3x");
    EXPECT_EQ(error_of([&] { gj::apply_overrides(job, o); }), "option --repeats: must be an integer, got '3x'");
    EXPECT_THROW(o.set("name", "x"), std::invalid_argument);
    EXPECT_THROW(o.set("zip", "x"), std::invalid_argument);
}

TEST(CellFields, EveryOverrideSetsEveryCellItAppliesTo) {
    for (const gm::CellField& f : gm::cell_fields()) {
        if (!f.option) continue;
        SCOPED_TRACE(std::string(f.key));
        const gm::FieldValue v = gilbench::test::sample(f);
        gj::Job job = gj::parse_job(std::string("[[cell]]\n") + base_cell + "[[cell]]\n" + base_cell);
        gj::Overrides o;
        o.set(f.key, f.to_text(v));
        gj::apply_overrides(job, o);
        for (const auto& c : job.cells) EXPECT_EQ(f.get(c), v);
    }
}

TEST(CellFields, EveryFieldCountsInThePlanDifference) {
    const gj::Job job = gj::parse_job(std::string("[[cell]]\nname = 'c'\n") + base_cell);
    for (const gm::CellField& f : gm::cell_fields()) {
        SCOPED_TRACE(std::string(f.key));
        std::vector<gm::Cell> changed = job.cells;
        const gm::FieldValue v = gilbench::test::other_than(f, f.get(changed[0]));
        f.set(changed[0], v);
        const std::string diff = gj::plan_difference(job.cells, changed);
        EXPECT_NE(diff.find(std::string(f.key) + " is "), std::string::npos) << diff;
        EXPECT_EQ(gj::plan_difference(changed, changed), "");
    }
}

TEST(CellFields, GilIsAnEnumWithNoFallback) {
    EXPECT_EQ(gm::parse_gil_policy("old"), gm::GilPolicy::old_gil);
    EXPECT_EQ(gm::parse_gil_policy("fast"), std::nullopt);
    EXPECT_STREQ(gm::to_string(gm::GilPolicy::none), "none");
    EXPECT_EQ(gm::parse_gil_policy("free-threaded-3.13"), gm::GilPolicy::free_threaded_3_13);
    EXPECT_EQ(gm::parse_gil_policy("free-threaded-3.14"), gm::GilPolicy::free_threaded_3_14);
    EXPECT_EQ(gm::parse_gil_policy("3.14t"), std::nullopt);
    const gm::CellField& gil = *gm::find_cell_field("gil");
    gm::Cell c;
    EXPECT_THROW(gil.set(c, std::string("fast")), std::invalid_argument);
    EXPECT_EQ(c.gil, gm::GilPolicy::new_gil);
}
