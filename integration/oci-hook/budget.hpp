// The hook's own time budget. A runtime SIGKILLs a hook that outlives its configured OCI
// `timeout` (runc, crun: the direct child only), which would leave the handler processes the
// library started without their supervisor. So the hook finds its own entry in config.json
// (by path and args) and finishes, children reaped, a margin before that timeout.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace ocihook {

using Clock = std::chrono::steady_clock;

// The smallest `timeout` (seconds) of the hooks in config.json `hooks` that are this process:
// same executable (after resolving symlinks) and the same argv; entries with the same executable
// whose args contain our stage count when no entry matches exactly. nullopt: none configured.
std::optional<double> own_hook_timeout(const nlohmann::json& hooks, const std::vector<std::string>& argv);

// When this process started (its fork, from /proc/self/stat), on the steady clock: the runtime's
// timer runs from about then, and before main() a sanitized or loaded build can spend a good
// part of a short timeout loading. Clock::now() when it cannot be read.
Clock::time_point process_start_time();

class Budget {
 public:
  // `oci_timeout_s`: the runtime's limit; the budget ends a margin (10%, 0.5..2 s) before it.
  Budget(Clock::time_point start, std::optional<double> oci_timeout_s);
  std::optional<double> oci_timeout_s() const { return oci_timeout_s_; }
  bool limited() const { return oci_timeout_s_.has_value(); }
  Clock::time_point deadline() const { return deadline_; }
  // Seconds left (>= 0); a large number when unlimited.
  double remaining_s() const;

 private:
  std::optional<double> oci_timeout_s_;
  Clock::time_point deadline_;
};

// Seconds as text for messages: "2", "0.5", "12.3".
std::string seconds_text(double s);

}  // namespace ocihook
