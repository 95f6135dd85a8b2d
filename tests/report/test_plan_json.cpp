#include "model/cell_fields.hpp"
#include "model/engines.hpp"
#include "report/plan_json.hpp"

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace gilbench::report {
namespace {

using nlohmann::json;

model::Cell cell(int index, std::string name, int ranks, int threads) {
    model::Cell c;
    c.index = index;
    c.name = std::move(name);
    c.ranks = ranks;
    c.threads = threads;
    c.work = 1000;
    return c;
}

TEST(PlanJson, JobFieldsAndTotals) {
    auto a = cell(0, "a", 1, 2);
    auto b = cell(1, "b", 3, 1);
    b.repeats = 5;
    b.warmups = 0;
    const json doc = json::parse(plan_json("seed", "six cells", "jobs/seed.toml", {a, b}));
    EXPECT_EQ(doc["job"], "seed");
    EXPECT_EQ(doc["description"], "six cells");
    EXPECT_EQ(doc["path"], "jobs/seed.toml");
    EXPECT_EQ(doc["max_ranks"], 3);
    EXPECT_EQ(doc["trials"], (1 + 3) + (0 + 5));
    ASSERT_EQ(doc["cells"].size(), 2u);
    EXPECT_EQ(doc["cells"][1]["name"], "b");
    EXPECT_EQ(doc["cells"][1]["trials"], 5);
    EXPECT_EQ(doc["cells"][0]["workers"], 2);
}

// The keys are the `cells` table's columns in their order (the field table, which also lays
// out the HDF5 rows), the cell's engine columns, plus workers and trials: a new cell setting appears without a change here.
TEST(PlanJson, CellKeysAreTheCellsColumnsInOrder) {
    // ordered_json: the document's own key order (json would sort the keys).
    const auto doc = nlohmann::ordered_json::parse(plan_json("j", "", "j.toml", {cell(0, "a", 1, 1)}));
    std::vector<std::string> keys;
    for (const auto& [k, v] : doc["cells"][0].items()) keys.push_back(k);
    std::vector<std::string> expected = {"cell"};
    for (const auto& f : model::cell_fields()) expected.emplace_back(f.column);
    for (const auto& e : model::engine_columns()) expected.emplace_back(e.column);
    expected.insert(expected.end(), {"workers", "trials"});
    EXPECT_EQ(keys, expected);
    for (const char* column : {"name", "gil", "switch_interval_s", "io_timeout_s", "placement"})
        EXPECT_NE(std::find(keys.begin(), keys.end(), column), keys.end()) << column;
}

TEST(PlanJson, OrderIsTheJobsTrialOrder) {
    EXPECT_EQ(json::parse(plan_json("j", "", "j.toml", {cell(0, "a", 1, 1)}))["order"], "alternating");
    EXPECT_EQ(json::parse(plan_json("j", "", "j.toml", {cell(0, "a", 1, 1)}, model::Order::cells))["order"], "cells");
    EXPECT_EQ(json::parse(plan_json("j", "", "j.toml", {cell(0, "a", 1, 1)}, model::Order::rounds))["order"], "rounds");
}

TEST(PlanJson, ValuesKeepTheirTypes) {
    auto c = cell(4, "mixed-2x4", 2, 4);
    c.workload = model::Workload::mixed;
    c.io_threads = 1;
    c.work = 5'000'000'000;  // beyond 32 bits
    c.scaling = model::Scaling::weak;
    c.placement = model::Placement::spread;
    c.gil = model::GilPolicy::old_gil;
    c.check_interval = 50;
    c.switch_interval_s = 0.0002;
    c.latency_s = 0.1;
    c.keep_alive = true;
    c.trace = true;
    c.url = "http://10.0.0.2:8080/x";
    c.time_budget_s = 60;
    c.io_timeout_s = 2.5;
    const json j = json::parse(plan_json("j", "", "j.toml", {c}))["cells"][0];
    EXPECT_EQ(j["cell"], 4);
    EXPECT_EQ(j["workload"], "mixed");
    EXPECT_EQ(j["io_threads"], 1);
    EXPECT_EQ(j["work"].get<std::int64_t>(), 5'000'000'000);
    EXPECT_EQ(j["scaling"], "weak");
    EXPECT_EQ(j["placement"], "spread");
    EXPECT_EQ(j["gil"], "old");
    EXPECT_EQ(j["check_interval"], 50);
    EXPECT_DOUBLE_EQ(j["switch_interval_s"].get<double>(), 0.0002);
    EXPECT_DOUBLE_EQ(j["latency_s"].get<double>(), 0.1);
    EXPECT_TRUE(j["keep_alive"].is_boolean() && j["keep_alive"].get<bool>());
    EXPECT_TRUE(j["trace"].is_boolean() && j["trace"].get<bool>());
    EXPECT_EQ(j["url"], "http://10.0.0.2:8080/x");
    EXPECT_DOUBLE_EQ(j["time_budget_s"].get<double>(), 60.0);
    EXPECT_DOUBLE_EQ(j["io_timeout_s"].get<double>(), 2.5);
    EXPECT_EQ(j["workers"], 8);
}

TEST(PlanJson, EmptyPlanAndOddPathStillParse) {
    // A path is bytes from the command line, not necessarily UTF-8: replaced, never a throw.
    const json doc = json::parse(plan_json("j", "", "bad-\xff.toml", {}));
    EXPECT_EQ(doc["max_ranks"], 0);
    EXPECT_EQ(doc["trials"], 0);
    EXPECT_TRUE(doc["cells"].is_array() && doc["cells"].empty());
    EXPECT_EQ(doc["path"], "bad-\xEF\xBF\xBD.toml");  // U+FFFD
}

}  // namespace
}  // namespace gilbench::report
