#include "wait_for.hpp"

#include <algorithm>
#include <thread>

#include "hook_error.hpp"
#include "requests.hpp"

namespace ocihook {

namespace {

// A single attempt that hangs (a filtered port, a stuck script) must not eat the whole list's
// time before the next retry; handlers can raise it with "timeoutSeconds".
constexpr double kDefaultAttemptTimeoutS = 10.0;

Clock::time_point after(Clock::time_point t, double seconds) {
  return t + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

}  // namespace

void run_wait_for(Engine& engine, const Annotations& ann, const Budget& budget, HookLog& log) {
  if (ann.wait_for.empty()) return;
  const Clock::time_point start = Clock::now();
  const Clock::time_point own_limit = after(start, ann.wait_for_timeout_s);
  const bool hook_limit_first = budget.deadline() < own_limit;
  const Clock::time_point deadline = std::min(own_limit, budget.deadline());
  const std::string limit_text =
      hook_limit_first ? seconds_text(seconds_between(start, deadline)) + " s (the hook's OCI timeout is " +
                             seconds_text(*budget.oci_timeout_s()) + " s)"
                       : seconds_text(ann.wait_for_timeout_s) + " s (" + kWaitForTimeout + ")";
  log.info("wait-for: " + std::to_string(ann.wait_for.size()) + " handler(s) in order, period " +
           seconds_text(ann.wait_for_period_s) + " s, all within " + limit_text);
  const json target = host_target();

  for (const HandlerEntry& entry : ann.wait_for) {
    const Clock::time_point entry_start = Clock::now();
    Clock::time_point last_log{};
    std::string last_why = "never attempted";
    int attempt = 0;
    bool ready = false;
    for (;;) {
      const Clock::time_point attempt_start = Clock::now();
      double left = seconds_between(attempt_start, deadline);
      if (left <= 0.001) break;
      ++attempt;
      double attempt_timeout = std::min(entry.timeout_s.value_or(kDefaultAttemptTimeoutS), left);
      RunOutcome r = engine.run(make_request(entry, target, attempt_timeout, "startup"));
      if (r.succeeded()) {
        log.info("ready: " + entry.label + " after " + std::to_string(attempt) + " attempt(s), " +
                 seconds_text(seconds_between(entry_start, Clock::now())) + " s");
        ready = true;
        break;
      }
      // A request the library refuses will never succeed: report it instead of retrying.
      if (r.status != LIFEHOOK_OK) throw HookError(entry.where + " " + entry.label + ": " + r.why());
      last_why = r.why();
      // Every attempt for the first few, then at most one line per second: a 0.1 s period must
      // not flood the journal.
      if (attempt <= 3 || seconds_between(last_log, Clock::now()) >= 1.0) {
        log.info("waiting for " + entry.label + " \u2014 attempt " + std::to_string(attempt) + ": " + last_why);
        last_log = Clock::now();
      }
      const Clock::time_point next = after(attempt_start, ann.wait_for_period_s);
      if (next >= deadline) {
        std::this_thread::sleep_until(std::max(Clock::now(), deadline));
        break;
      }
      std::this_thread::sleep_until(next);
    }
    if (!ready) {
      std::string msg = entry.where + " " + entry.label + ": not ready within " + limit_text + " after " +
                        std::to_string(attempt) + " attempt(s); last: " + last_why;
      throw HookError(msg);  // main() logs it and writes the stderr line
    }
  }
  log.info("wait-for: all " + std::to_string(ann.wait_for.size()) + " handler(s) ready after " +
           seconds_text(seconds_between(start, Clock::now())) + " s");
}

}  // namespace ocihook
