// The calibration as a named record (workloads::UrllibCosts::fields) and its cache file, which
// keeps it by name (engine/cpython/calibration.hpp): names unique and in the order of the values,
// get/set by name, a round trip through the cache, and every cache that is not a complete one of
// this record refused (then the run measures again). No interpreter, no network.
#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "engine/cpython/calibration.hpp"
#include "engine/emulated/workloads/urllib_costs.hpp"

namespace fs = std::filesystem;
using gilbench::workloads::UrllibCosts;
using namespace gilbench::engine;

namespace {

const std::string version = "3.11.2 (main, Apr 28 2025, 14:11:48) [GCC 12.2.0]";

class CacheFile : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("gilbench-urllib-costs-" + std::to_string(::getpid()));
        fs::remove_all(dir_);
        file_ = calibration_cache_file(dir_.string(), "node/1", version);
    }
    void TearDown() override {
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }
    // A cache as version 5 writes it: the header, then `name value` lines (`edit` may change
    // the text before it is written).
    void write(const std::function<void(std::string&)>& edit = {}) {
        std::ostringstream text;
        text << "gilbench urllib costs 5\npython " << version << "\nmeasured_utc 2026-12-01T18:00:00Z\n"
             << "record_version " << UrllibCosts::version << "\n";
        for (const auto& f : UrllibCosts::fields) text << f.name << " " << 100 + f.index << "\n";
        std::string s = text.str();
        if (edit) edit(s);
        fs::create_directories(dir_);
        std::ofstream(file_, std::ios::trunc) << s;
    }
    fs::path dir_;
    std::string file_;
};

void replace(std::string& s, const std::string& old, const std::string& now) {
    const auto at = s.find(old);
    ASSERT_NE(at, std::string::npos) << old;
    s.replace(at, old.size(), now);
}

}  // namespace

TEST(UrllibCostsRecord, EveryValueHasOneUniqueNameInTheOrderOfTheValues) {
    std::set<std::string> names;
    for (std::size_t i = 0; i < UrllibCosts::values; ++i) {
        const auto& f = UrllibCosts::fields[i];
        EXPECT_EQ(f.index, i) << f.name;
        EXPECT_TRUE(names.insert(std::string(f.name)).second) << "twice: " << f.name;
        EXPECT_TRUE(f.unit == "ns" || f.unit == "permille") << f.name;
        // The unit ends the name, so that a reader of the file sees it.
        EXPECT_EQ(f.name.substr(f.name.size() - f.unit.size()), f.unit) << f.name;
        EXPECT_FALSE(f.meaning.empty()) << f.name;
        EXPECT_EQ(UrllibCosts::index_of(f.name), i);
    }
    EXPECT_EQ(UrllibCosts::names().size(), UrllibCosts::values);
    EXPECT_EQ(UrllibCosts::names().front(), "before_request_warm_ns");
    EXPECT_EQ(UrllibCosts::names().back(), "old_gil_countdown_per_1000_ns");
    EXPECT_FALSE(UrllibCosts::index_of("urllib_costs_ns"));
}

TEST(UrllibCostsRecord, NamesReachTheValuesTheWorkloadReads) {
    UrllibCosts c = UrllibCosts::fallback();
    EXPECT_EQ(c.get("after_send_cold_ns"), c.at(UrllibCosts::after_send, true).count());
    EXPECT_EQ(c.get("after_close_warm_ns"), c.at(UrllibCosts::after_close).count());
    c.set("countdown_per_1000_ns", 40'000);
    EXPECT_DOUBLE_EQ(c.countdown_ns_per_iteration(), 40.0);
    // The old GIL's ticks: the embedded countdown's in the fallback, a Python 2's when set.
    EXPECT_EQ(UrllibCosts::fallback().get("old_gil_countdown_per_1000_ns"),
              UrllibCosts::fallback().get("countdown_per_1000_ns"));
    c.set("old_gil_countdown_per_1000_ns", 13'000);
    EXPECT_DOUBLE_EQ(c.old_gil_countdown_ns_per_iteration(), 13.0);
    EXPECT_DOUBLE_EQ(c.countdown_ns_per_iteration(), 40.0);
    c.set("urllib_per_1000_instructions_ns", 25'000);
    EXPECT_DOUBLE_EQ(c.urllib_ns_per_instruction(), 25.0);
    // The cold scales: after a 0.5 ms wait a quarter of the cold excess, after 50 ms twice it.
    c.set("before_request_warm_ns", 10'000);
    c.set("before_request_cold_ns", 50'000);
    c.set("cold_scale_500us_permille", 250);
    c.set("cold_scale_50ms_permille", 2000);
    EXPECT_EQ(c.cold(UrllibCosts::before_request, std::chrono::microseconds(500)).count(), 20'000);
    EXPECT_EQ(c.cold(UrllibCosts::before_request, std::chrono::milliseconds(50)).count(), 90'000);
    EXPECT_THROW(c.get("no_such_ns"), std::out_of_range);
    EXPECT_THROW(c.set("no_such_ns", 1), std::out_of_range);
}

TEST_F(CacheFile, RoundTripsByName) {
    EXPECT_EQ(fs::path(file_).filename().string(), "urllib-costs-node_1-python3.11.2.txt");
    EXPECT_FALSE(read_cached_costs(file_, version));  // no file yet
    CachedCosts c;
    for (const auto& f : UrllibCosts::fields) c.costs.set(f.name, static_cast<std::int64_t>(1 + 2 * f.index));
    c.measured_utc = "2026-12-01T18:00:00Z";
    write_cached_costs(file_, version, c);  // creates the directory
    std::ifstream in(file_);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(text.rfind("gilbench urllib costs 5\n", 0), 0u) << text;
    EXPECT_NE(text.find("\nrecord_version 5\n"), std::string::npos) << text;
    EXPECT_NE(text.find("\nafter_send_cold_ns 23\n"), std::string::npos) << text;  // index 11
    EXPECT_NE(text.find("\ncold_scale_50ms_permille 35\n"), std::string::npos) << text;
    const auto back = read_cached_costs(file_, version);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->costs.ns, c.costs.ns);
    EXPECT_EQ(back->measured_utc, c.measured_utc);
    EXPECT_FALSE(read_cached_costs(file_, "3.12.1 (main) [GCC]"));  // another interpreter's
}

TEST_F(CacheFile, ReadsTheFieldsInAnyOrder) {
    write([](std::string& s) {
        replace(s, "before_request_warm_ns 100\n", "");
        s += "before_request_warm_ns 7\n";
    });
    const auto back = read_cached_costs(file_, version);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->costs.get("before_request_warm_ns"), 7);
    EXPECT_EQ(back->costs.get("cold_scale_50ms_permille"), 117);
}

TEST_F(CacheFile, AnythingButACompleteCacheOfThisRecordIsMeasuredAgain) {
    write();
    ASSERT_TRUE(read_cached_costs(file_, version));
    const std::vector<std::pair<std::string, std::function<void(std::string&)>>> broken{
        {"a field missing", [](std::string& s) { replace(s, "after_recv_cold_ns 112\n", ""); }},
        {"a field twice", [](std::string& s) { s += "after_recv_cold_ns 112\n"; }},
        {"a field this record does not have", [](std::string& s) { s += "after_dns_ns 5\n"; }},
        {"a cost that is not positive",
         [](std::string& s) { replace(s, "after_recv_cold_ns 112", "after_recv_cold_ns 0"); }},
        {"a value that is no number",
         [](std::string& s) { replace(s, "after_recv_cold_ns 112", "after_recv_cold_ns x"); }},
        {"a value and more", [](std::string& s) { replace(s, "after_recv_cold_ns 112", "after_recv_cold_ns 112 3"); }},
        {"another version of the record", [](std::string& s) { replace(s, "record_version 5", "record_version 4"); }},
        {"no version of the record", [](std::string& s) { replace(s, "record_version 5\n", ""); }},
        {"no measured_utc", [](std::string& s) { replace(s, "measured_utc 2026-12-01T18:00:00Z\n", ""); }},
        {"another format", [](std::string& s) { replace(s, "urllib costs 5", "urllib costs 6"); }},
    };
    for (const auto& [what, edit] : broken) {
        write(edit);
        EXPECT_FALSE(read_cached_costs(file_, version)) << what;
    }
}

TEST_F(CacheFile, AnOldFormatCacheOfValuesByPositionIsMeasuredAgain) {
    // Formats 1-4 kept one line of values by position: 7, 14, 16, then 18 of them.
    const std::string values18 = "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18";
    for (const auto& [format, values] :
         std::vector<std::pair<int, std::string>>{{4, values18},
                                                  {3, "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16"},
                                                  {2, "1 2 3 4 5 6 7 8 9 10 11 12 13 14"},
                                                  {1, "1 2 3 4 5 6 7"}}) {
        fs::create_directories(dir_);
        std::ofstream(file_, std::ios::trunc)
            << "gilbench urllib costs " << format << "\npython " << version
            << "\nmeasured_utc 2026-12-01T18:00:00Z\nurllib_costs_ns " << values << "\n";
        EXPECT_FALSE(read_cached_costs(file_, version)) << "format " << format;
    }
    // Nor is format 4's line read under the new header.
    std::ofstream(file_, std::ios::trunc)
        << "gilbench urllib costs 5\npython " << version
        << "\nmeasured_utc 2026-12-01T18:00:00Z\nrecord_version 4\nurllib_costs_ns " << values18 << "\n";
    EXPECT_FALSE(read_cached_costs(file_, version));
}
