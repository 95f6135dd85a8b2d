// The ?delay= format has one owner: what delay_url writes, parse_delay_query reads back.
#include "http/delay_url.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <string>

namespace {

using gilbench::http::delay_url;
using gilbench::http::parse_delay_query;
using std::chrono::microseconds;

std::string query_of(const std::string& url) { return url.substr(url.find('?') + 1); }

TEST(DelayUrl, AppendsTheDelayInMicrosecondResolution) {
    EXPECT_EQ(delay_url("http://127.0.0.1:8080/", 0.25), "http://127.0.0.1:8080/?delay=0.250000");
    EXPECT_EQ(delay_url("http://h/", 0.0), "http://h/?delay=0.000000");
}

TEST(DelayUrl, WhatIsWrittenReadsBack) {
    for (const double s : {0.0, 0.000001, 0.05, 1.5, 60.0}) {
        const auto q = parse_delay_query(query_of(delay_url("http://127.0.0.1:1/", s)));
        EXPECT_TRUE(q.error.empty()) << s << ": " << q.error;
        EXPECT_TRUE(q.given) << s;
        EXPECT_EQ(q.delay, microseconds(std::llround(s * 1e6))) << s;
    }
}

TEST(DelayQuery, OtherParametersAreIgnoredAndAbsenceIsNoError) {
    const auto none = parse_delay_query("id=7&x");
    EXPECT_FALSE(none.given);
    EXPECT_TRUE(none.error.empty());
    const auto q = parse_delay_query("id=7&delay=0.5&x=y");
    EXPECT_TRUE(q.given);
    EXPECT_EQ(q.delay, microseconds(500000));
}

TEST(DelayQuery, RefusalsNameTheFix) {
    EXPECT_NE(parse_delay_query("delay=1&delay=2").error.find("given twice"), std::string::npos);
    EXPECT_NE(parse_delay_query("delay=inf").error.find("not a decimal number"), std::string::npos);
    EXPECT_NE(parse_delay_query("delay=").error.find("not a decimal number"), std::string::npos);
    EXPECT_NE(parse_delay_query("delay=-1").error.find("out of range"), std::string::npos);
    EXPECT_NE(parse_delay_query("delay=60.5").error.find("out of range"), std::string::npos);
}

}  // namespace
