// parse_target is the whole request policy of the delay server, tested without sockets.
#include "http/server.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

namespace {

using gilbench::http::parse_target;
using std::chrono::microseconds;

constexpr microseconds k_default{750'000};  // the seed's ~750 ms per GET

struct target_case {
    std::string method;
    std::string target;
    int status;            // expected status; 200 means ok
    microseconds delay{};  // checked only when status is 200
    std::string error_has{};  // a word the error must contain when status is not 200
};

const std::vector<target_case> k_cases = {
    // Good requests.
    {"GET", "/", 200, k_default},
    {"GET", "/?", 200, k_default},
    {"GET", "/?n=7", 200, k_default},                 // other parameters are ignored
    {"GET", "/?delay=0.05", 200, microseconds{50'000}},
    {"GET", "/?delay=0", 200, microseconds{0}},
    {"GET", "/?delay=0.000", 200, microseconds{0}},
    {"GET", "/?delay=2", 200, microseconds{2'000'000}},
    {"GET", "/?delay=.5", 200, microseconds{500'000}},
    {"GET", "/?delay=60", 200, microseconds{60'000'000}},  // the upper bound is inclusive
    {"GET", "/?n=1&delay=0.25&x", 200, microseconds{250'000}},
    {"GET", "/?delay=0.0000004", 200, microseconds{0}},    // rounds to whole microseconds
    // Bad delay values: 400.
    {"GET", "/?delay=-1", 400, {}, "range"},
    {"GET", "/?delay=-0.001", 400, {}, "range"},
    {"GET", "/?delay=61", 400, {}, "range"},
    {"GET", "/?delay=60.001", 400, {}, "range"},
    {"GET", "/?delay=abc", 400, {}, "abc"},
    {"GET", "/?delay=", 400, {}, "decimal"},
    {"GET", "/?delay", 400, {}, "decimal"},
    {"GET", "/?delay=1e1", 400, {}, "decimal"},
    {"GET", "/?delay=+1", 400, {}, "decimal"},
    {"GET", "/?delay=0.5s", 400, {}, "decimal"},
    {"GET", "/?delay=nan", 400, {}, "decimal"},
    {"GET", "/?delay=inf", 400, {}, "decimal"},
    {"GET", "/?delay=-inf", 400, {}, "decimal"},
    {"GET", "/?delay=-", 400, {}, "decimal"},
    {"GET", "/?delay=.", 400, {}, "decimal"},
    {"GET", "/?delay=1.2.3", 400, {}, "decimal"},
    {"GET", "/?delay=%30", 400, {}, "decimal"},  // no percent-decoding: plain numbers only
    {"GET", "/?delay=1&delay=2", 400, {}, "twice"},
    // Bad path: 404.
    {"GET", "/nope", 404, {}, "/nope"},
    {"GET", "/nope?delay=1", 404, {}, "/nope"},
    {"GET", "//", 404, {}, "//"},
    {"GET", "", 404, {}, "use /"},
    // Bad method: 405, checked before the path.
    {"POST", "/", 405, {}, "POST"},
    {"HEAD", "/", 405, {}, "HEAD"},
    {"PUT", "/nope", 405, {}, "PUT"},
    {"get", "/", 405, {}, "get"},  // methods are case-sensitive
};

TEST(ParseTarget, Table) {
    for (const auto& c : k_cases) {
        SCOPED_TRACE(c.method + " '" + c.target + "'");
        const auto parsed = parse_target(c.method, c.target, k_default);
        EXPECT_EQ(parsed.status, c.status);
        if (c.status == 200) {
            EXPECT_TRUE(parsed.ok);
            EXPECT_EQ(parsed.delay, c.delay);
            EXPECT_TRUE(parsed.error.empty()) << parsed.error;
        } else {
            EXPECT_FALSE(parsed.ok);
            EXPECT_NE(parsed.error.find(c.error_has), std::string::npos)
                << "error '" << parsed.error << "' lacks '" << c.error_has << "'";
        }
    }
}

TEST(ParseTarget, DefaultDelayIsPassedThrough) {
    EXPECT_EQ(parse_target("GET", "/", microseconds{0}).delay, microseconds{0});
    EXPECT_EQ(parse_target("GET", "/", microseconds{123}).delay, microseconds{123});
    // A query delay replaces the default rather than adding to it.
    EXPECT_EQ(parse_target("GET", "/?delay=0.001", microseconds{5'000'000}).delay,
              microseconds{1'000});
}

}  // namespace
