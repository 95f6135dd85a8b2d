// `gilbench plan` and the --key options, driven by model::cell_fields(): every cell setting
// shows in the plan, and every overridable one is an option of `run` and `plan`.
#include <gtest/gtest.h>

#include <string>

#include <CLI/CLI.hpp>

#include "cli/cell_options.hpp"
#include "cli/plan_command.hpp"
#include "model/cell_fields.hpp"
#include "model/field_samples.hpp"

namespace gc = gilbench::cli;
namespace gm = gilbench::model;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::size_t at = 0;
    for (std::size_t nl; (nl = text.find('\n', at)) != std::string::npos; at = nl + 1) out.push_back(text.substr(at, nl - at));
    return out;
}

}  // namespace

TEST(PlanTable, EveryFieldShowsAsAColumnOrWhenItDiffersFromItsDefault) {
    std::vector<gm::Cell> cells(2);
    cells[0].name = "plain";
    cells[1].index = 1;
    cells[1].name = "changed";
    for (const gm::CellField& f : gm::cell_fields())
        if (f.key != "name") f.set(cells[1], gilbench::test::other_than(f, f.get(cells[1])));
    const std::vector<std::string> lines = lines_of(gc::plan_table(cells));
    ASSERT_EQ(lines.size(), 3u);
    for (const gm::CellField& f : gm::cell_fields()) {
        SCOPED_TRACE(std::string(f.key));
        if (f.plan_column > 0) {
            EXPECT_NE(lines[0].find(std::string(f.plan_header)), std::string::npos);
            EXPECT_NE(lines[2].find(f.text(cells[1])), std::string::npos);
        } else {
            EXPECT_EQ(lines[1].find(" " + std::string(f.key) + " "), std::string::npos) << lines[1];
            EXPECT_NE(lines[2].find("  " + std::string(f.key) + " " + f.text(cells[1])), std::string::npos) << lines[2];
        }
    }
}

TEST(PlanTable, ColumnsLineUp) {
    std::vector<gm::Cell> cells(2);
    cells[0].name = "a";
    cells[1].name = "a-much-longer-name";
    cells[1].work = 123456789;
    const std::vector<std::string> lines = lines_of(gc::plan_table(cells));
    ASSERT_EQ(lines.size(), 3u);
    EXPECT_EQ(lines[0].size(), lines[1].size());
    EXPECT_EQ(lines[1].size(), lines[2].size());
    EXPECT_EQ(lines[0].find("load"), lines[1].find("cpu"));
}

TEST(CellOptions, EveryOverridableFieldIsAnOptionOfRunAndPlan) {
    for (const auto what : {gc::CellOptionsFor::run, gc::CellOptionsFor::plan}) {
        CLI::App app;
        gilbench::job::Overrides o;
        gc::add_cell_options(app, o, what);
        std::vector<std::string> args{"prog"};
        for (const gm::CellField& f : gm::cell_fields()) {
            SCOPED_TRACE(std::string(f.key));
            EXPECT_EQ(app.get_option_no_throw(f.option_name()) != nullptr, f.option);
            if (!f.option) continue;
            args.push_back(f.option_name());
            if (f.kind != gm::FieldKind::flag) args.push_back(f.to_text(gilbench::test::sample(f)));
        }
        std::vector<const char*> argv;
        for (const auto& a : args) argv.push_back(a.c_str());
        app.parse(static_cast<int>(argv.size()), argv.data());
        for (const gm::CellField& f : gm::cell_fields()) {
            if (f.option) {
                EXPECT_TRUE(o.has(f.key)) << f.key;
            }
        }
        EXPECT_EQ(o.values.at("repeats"), gm::find_cell_field("repeats")->to_text(gilbench::test::sample(*gm::find_cell_field("repeats"))));
    }
}
