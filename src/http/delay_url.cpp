#include "http/delay_url.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <optional>
#include <system_error>

namespace gilbench::http {

namespace {

constexpr std::string_view delay_param = "delay";

// Parses a decimal like "0.25" or "-1" into seconds. Only digits, one optional leading
// minus (so a negative value gets the out-of-range message) and a point are allowed:
// from_chars alone would also accept "inf" and "nan".
std::optional<double> parse_decimal(std::string_view text) {
    const std::string_view unsigned_part = text.starts_with('-') ? text.substr(1) : text;
    if (unsigned_part.empty() ||
        unsigned_part.find_first_not_of("0123456789.") != std::string_view::npos)
        return std::nullopt;
    double value = 0.0;
    const auto [end, ec] =
        std::from_chars(text.data(), text.data() + text.size(), value, std::chars_format::fixed);
    if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
    return value;
}

DelayQuery refuse(std::string error) {
    DelayQuery q;
    q.error = std::move(error);
    return q;
}

}  // namespace

std::string delay_url(std::string_view base_url, double delay_s) {
    char value[64];
    std::snprintf(value, sizeof value, "%.6f", delay_s);
    std::string url(base_url);
    url.append("?").append(delay_param).append("=").append(value);
    return url;
}

DelayQuery parse_delay_query(std::string_view query) {
    DelayQuery result;
    std::string_view rest = query;
    while (!rest.empty()) {
        const auto amp = rest.find('&');
        const std::string_view param = rest.substr(0, amp);
        rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);

        const auto eq = param.find('=');
        if (param.substr(0, eq) != delay_param) continue;
        if (result.given) return refuse("delay given twice: give it once, e.g. /?delay=0.25");
        result.given = true;

        const std::string_view value =
            eq == std::string_view::npos ? std::string_view{} : param.substr(eq + 1);
        const std::optional<double> seconds = parse_decimal(value);
        if (!seconds)
            return refuse("delay '" + std::string(value) +
                          "' is not a decimal number of seconds: use e.g. /?delay=0.25");
        if (*seconds < 0.0 || *seconds > max_delay_s)
            return refuse("delay " + std::string(value) + " s is out of range: use 0 <= delay <= 60");
        result.delay = std::chrono::microseconds(std::llround(*seconds * 1e6));
    }
    return result;
}

}  // namespace gilbench::http
