// The fake engine, registered through the test-only hook, is picked up by everything that reads
// engine descriptors: the job rules (its accepts, in the generic wording), the cell field's
// choices, the results file's engine columns, `gilbench engines`, and the console tables.
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "engine/factory.hpp"
#include "fake_engine.hpp"
#include "job/job.hpp"
#include "model/engines.hpp"
#include "report/engines_listing.hpp"
#include "report/summary.hpp"

namespace gj = gilbench::job;
namespace gm = gilbench::model;

namespace {

class FakeEngine : public ::testing::Test {
protected:
    void SetUp() override { gilbench::testing::register_fake_engine(); }
};

std::string refusal(const std::string& toml) {
    try {
        gj::parse_job(toml, "fake.toml");
    } catch (const gj::JobError& e) {
        return e.what();
    }
    return "accepted";
}

gm::Cell fake_cell(int index, int threads) {
    gm::Cell c;
    c.index = index;
    c.name = "fake-" + std::to_string(threads);
    c.engine = "fake";
    c.threads = threads;
    c.work = 1000;
    return c;
}

}  // namespace

TEST_F(FakeEngine, JobRulesReadItsAccepts) {
    const gj::Job ok = gj::parse_job("[[cell]]\nname='f'\nworkload='cpu'\nwork=10\nengine='fake'\nthreads=2\n");
    ASSERT_EQ(ok.cells.size(), 1u);
    EXPECT_EQ(ok.cells[0].engine, "fake");
    EXPECT_EQ(refusal("[[cell]]\nname='f'\nworkload='io'\nwork=10\nengine='fake'\n"),
              "fake.toml:3: key 'workload': engine = \"fake\" does not run workload = \"io\" (it runs cpu); use "
              "engine = \"emulated\" or engine = \"cpython\"");
    EXPECT_EQ(refusal("[[cell]]\nname='f'\nworkload='cpu'\nwork=10\nengine='fake'\ngil='old'\n"),
              "fake.toml:6: key 'gil': engine = \"fake\" does not run gil = \"old\" (it runs new); use engine = "
              "\"emulated\"");
    EXPECT_EQ(refusal("[[cell]]\nname='f'\nworkload='cpu'\nwork=10\nengine='fake'\ntrace=true\n"),
              "fake.toml:6: key 'trace': engine = \"fake\" records no trace for this cell; set trace = false");
    EXPECT_EQ(refusal("[[cell]]\nname='f'\nworkload='cpu'\nwork=10\nengine='fake'\nparallel='subinterpreters'\n"),
              "fake.toml:6: key 'parallel': engine = \"fake\" does not run parallel = \"subinterpreters\" (it runs "
              "threads); use engine = \"emulated\" or engine = \"cpython\"");
    // The engine setting's choices are the registry's.
    EXPECT_EQ(refusal("[[cell]]\nname='f'\nworkload='cpu'\nwork=10\nengine='pypy'\n"),
              "fake.toml:5: key 'engine': 'pypy' is not one of: emulated, cpython, fake");
}

TEST_F(FakeEngine, ItsCellsGetItsEngineColumns) {
    const gm::Cell c = fake_cell(0, 2);
    std::map<std::string, std::string> columns;
    for (const gm::EngineColumn& e : gm::engine_columns())
        columns[std::string(e.column)] = e.text ? e.text_of(c) : std::to_string(e.flag_of(c));
    EXPECT_EQ(columns.at("engine_label"), "Fake");
    EXPECT_EQ(columns.at("engine_real"), "0");
    EXPECT_EQ(columns.at("gil_counters"), "0");
    EXPECT_EQ(columns.at("trace_events"), "none");
    EXPECT_EQ(columns.at("request_timings"), "0");
    EXPECT_EQ(columns.at("lock_free"), "0");
}

TEST_F(FakeEngine, RegisteringRefusesATakenNameOrADescriptorWithoutMeasures) {
    EXPECT_THROW(gm::testing::register_engine(gilbench::testing::fake_descriptor()), std::invalid_argument);
    static const gm::EngineDescriptor silent{.name = "silent", .label = "Silent"};
    try {
        gm::testing::register_engine(silent);
        FAIL() << "a descriptor without measures() was registered";
    } catch (const std::invalid_argument& e) {
        EXPECT_EQ(std::string(e.what()),
                  "engine 'silent' has no measures(): every descriptor says what it measures of a cell");
    }
    EXPECT_EQ(gm::find_engine("silent"), nullptr);
}

TEST_F(FakeEngine, TheFactoryMakesItByName) {
    gilbench::engine::EngineSet engines(gilbench::engine::EngineSetup{});
    EXPECT_EQ(engines.for_cell(fake_cell(0, 1)).name(), "fake");
    EXPECT_EQ(&engines.for_cell(fake_cell(1, 2)), &engines.for_cell(fake_cell(0, 1))) << "one object per engine";
    EXPECT_THROW(gilbench::engine::make_engine("pypy", {}), std::invalid_argument);
}

TEST_F(FakeEngine, EnginesListingShowsIt) {
    const std::string text = gilbench::report::engines_text();
    EXPECT_NE(text.find("fake (Fake, a model)"), std::string::npos) << text;
    EXPECT_NE(text.find("accepts   workload cpu; gil new; parallel threads; keep_alive no"), std::string::npos) << text;
    const auto doc = nlohmann::json::parse(gilbench::report::engines_json());
    const auto& last = doc["engines"].back();
    EXPECT_EQ(last["name"], "fake");
    EXPECT_EQ(last["accepts"]["workload"], std::vector<std::string>{"cpu"});
    EXPECT_EQ(last["measures"]["cpu/threads"]["gil_counters"], false);
}

TEST_F(FakeEngine, ConsoleTablesLabelIt) {
    std::vector<gilbench::report::CellTimes> cells(3);
    cells[0].cell = fake_cell(0, 1);
    cells[1].cell = fake_cell(1, 2);
    cells[2].cell = fake_cell(2, 1);
    cells[2].cell.engine = "emulated";
    for (auto& c : cells) c.wall_s = {1.0, 1.1, 1.2};
    const auto seed = gilbench::report::format_seed_table(cells);
    ASSERT_TRUE(seed);
    EXPECT_NE(seed->find("CPU-bound, emulated"), std::string::npos) << *seed;
    EXPECT_NE(seed->find("CPU-bound, Fake"), std::string::npos) << *seed;
    EXPECT_NE(seed->find("multi thread (2 threads)"), std::string::npos) << *seed;
    cells.pop_back();
    const auto alone = gilbench::report::format_seed_table(cells);
    ASSERT_TRUE(alone);
    EXPECT_EQ(alone->rfind("median wall time, Fake", 0), 0u) << *alone;
    const std::string table = gilbench::report::format_cell_table({cells[0].cell, cells[1].cell}, {});
    EXPECT_NE(table.find(" fake "), std::string::npos) << table;
}
