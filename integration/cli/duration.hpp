// Durations as people type them (--for 30s, --timeout 1.5s, 2m, 500ms) and as kubectl shows
// them (AGE: 5s, 2m10s, 3h4m — k8s.io/apimachinery duration.HumanDuration).
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace lifehook_cli {

// "30s", "1m30s", "500ms", "1.5s", "2h", or a bare number of seconds ("10", "0.25").
// nullopt when the text is not a duration (or negative).
std::optional<std::chrono::milliseconds> parse_duration(const std::string& text);

// The longest --grace taken: 10 years, as terminationGracePeriodSeconds.
inline constexpr long long kMaxGraceSeconds = 10LL * 365 * 86400;

// CLI11 check for --grace: "" when `text` is a plain non-negative number of seconds up to
// kMaxGraceSeconds; else the message. "nan", "inf", "1e999", "-0" are refused (strtod would take
// them, and NaN slips through a "< 0" test).
std::string check_grace_seconds(const std::string& text);

// kubectl's AGE column.
std::string human_duration(std::chrono::milliseconds d);

// "12.3ms", "1.502s": durations in handler results.
std::string short_duration_ms(double ms);

// Parses RFC 3339 ("2024-05-01T10:00:00.123Z", "+02:00" offsets) to a system clock point.
std::optional<std::chrono::system_clock::time_point> parse_rfc3339(const std::string& text);

// Now as RFC 3339 UTC with milliseconds (for -o json lines).
std::string rfc3339_now();

}  // namespace lifehook_cli
