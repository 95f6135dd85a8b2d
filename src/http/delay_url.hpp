// The one owner of the delay server's query format: a GET of BASE?delay=SECONDS is answered
// after SECONDS (a decimal, 0 <= SECONDS <= 60). The runner and `gilbench serve` build URLs
// with delay_url; the server reads them back with parse_delay_query.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace gilbench::http {

inline constexpr double max_delay_s = 60.0;

// "http://127.0.0.1:8080/" and 0.25 -> "http://127.0.0.1:8080/?delay=0.250000" (microseconds,
// the server's resolution).
std::string delay_url(std::string_view base_url, double delay_s);

struct DelayQuery {
    bool given = false;                  // a delay parameter was present (and valid when error is "")
    std::chrono::microseconds delay{0};  // meaningful only when given and error is ""
    std::string error;                   // why the query is refused; names the fix
};
// Reads the delay from a query string (the part after '?', without it). Parameters other than
// delay are ignored, so a client may add its own (a cache buster, a request id).
DelayQuery parse_delay_query(std::string_view query);

}  // namespace gilbench::http
