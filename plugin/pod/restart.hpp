// Whether and when an exited container starts again: the restart decision per role and pod
// restartPolicy (kubelet ShouldContainerBeRestarted, computeInitContainerActions) and the
// crash-loop backoff (backoff.hpp) that spaces the restarts.
//   - Main: Always restarts; OnFailure only after a failure; Never never.
//   - Init: a success is done for good (never re-run, even under Always); a failure restarts
//     unless the policy is Never (then the pod fails).
//   - Sidecar (restartable init container): always restarts, whatever the pod's policy.
// A PostStartHookError counts as a failure. Nothing restarts once the pod is terminating.
#pragma once

#include <chrono>
#include <string>

#include "container.hpp"

namespace lifehook::pod {

struct RestartDecision {
  bool restart = false;
  bool succeeded = false;  // a regular init container that completed: done for good
};

RestartDecision decide_restart(Role role, RestartPolicy policy, bool failed);

// Schedules the restart of a container that exited at c.restart.finished: sets restart_at and
// returns the backoff delay from `now` (zero: restart now, no CrashLoopBackOff).
std::chrono::milliseconds schedule_restart(Container& c, std::chrono::steady_clock::time_point now);

// Records a (re)start happening now in the backoff (the kubelet's backOff.Next) and the count.
void count_restart(Container& c, std::chrono::steady_clock::time_point now);

// "back-off 10s restarting failed container=NAME pod=POD" (the waiting message) and
// "Back-off restarting failed container NAME in pod POD" (the BackOff event).
std::string backoff_waiting_message(const Container& c, const std::string& pod);
std::string backoff_event_message(const Container& c, const std::string& pod);

}  // namespace lifehook::pod
