#include "post_handlers.hpp"

#include <algorithm>

#include "hook_error.hpp"
#include "nsenter_fallback.hpp"
#include "requests.hpp"

namespace ocihook {

namespace {

// Neither handler has a Kubernetes timeout, but an OCI hook blocks `runc start` / `runc delete`
// while it runs, so each gets a bound ("timeoutSeconds" raises it), cut to the hook's budget.
constexpr double kPostStartTimeoutS = 120.0;
constexpr double kPostStopTimeoutS = 30.0;

double limit(const HandlerEntry& entry, double dflt, const Budget& budget, const std::string& what) {
  double t = std::min(entry.timeout_s.value_or(dflt), budget.remaining_s());
  if (t < 0.01)
    throw HookError(entry.where + " " + entry.label + ": no time left for the " + what +
                    " handler within the hook's OCI timeout");
  return t;
}

void finish(const RunOutcome& r, const HandlerEntry& entry, HookLog& log) {
  if (r.succeeded()) {
    log.info(entry.where + " " + entry.label + ": succeeded");
    return;
  }
  // "failure: exit code 1 ..." / "timeout: ..." / "LIFEHOOK_E_INVALID: ..." (not run at all).
  std::string msg = entry.where + " " + entry.label + ": " + (r.outcome().empty() ? "" : r.outcome() + ": ") + r.why();
  throw HookError(msg);  // main() logs it and writes the stderr line
}

}  // namespace

void run_post_start(Engine& engine, const HandlerEntry& entry, const OciState& state, const BundleConfig* config,
                    const Budget& budget, HookLog& log) {
  const double timeout_s = limit(entry, kPostStartTimeoutS, budget, "post-start");
  if (entry.kind != "exec") {
    log.info(entry.where + ": running " + entry.label);
    finish(engine.run(make_request(entry, host_target(), timeout_s, "postStart")), entry, log);
    return;
  }
  if (state.pid <= 0)
    throw HookError(entry.where + " " + entry.label +
                    ": exec inside the container needs its pid, but the state on stdin has none");
  log.info(entry.where + ": running " + entry.label + " inside the container (pid " + std::to_string(state.pid) + ")");
  const Clock::time_point start = Clock::now();
  RunOutcome r = engine.run(make_request(entry, container_target(state, config), timeout_s, "postStart"));
  if (container_exec_unsupported(r.status, r.error, r.outcome(), r.message())) {
    log.warn(entry.where + ": this lifehook library cannot exec inside containers yet (" +
             (r.status == LIFEHOOK_OK ? r.message() : r.error) +
             "); falling back to nsenter into the namespaces of pid " + std::to_string(state.pid) +
             " (no capabilities, seccomp, rlimits or cgroup of the container are applied)");
    double left = timeout_s - std::chrono::duration<double>(Clock::now() - start).count();
    left = std::min(left, budget.remaining_s());
    if (left < 0.01) throw HookError(entry.where + " " + entry.label + ": no time left for the nsenter fallback");
    r = engine.run(make_request(nsenter_entry(entry, state, config), nsenter_target(config), left, "postStart"));
  }
  finish(r, entry, log);
}

void run_post_stop(Engine& engine, const HandlerEntry& entry, const Budget& budget, HookLog& log) {
  const double timeout_s = limit(entry, kPostStopTimeoutS, budget, "post-stop");
  log.info(entry.where + ": running " + entry.label);
  finish(engine.run(make_request(entry, host_target(), timeout_s, "oneshot")), entry, log);
}

}  // namespace ocihook
