#include "restart.hpp"

namespace lifehook::pod {

RestartDecision decide_restart(Role role, RestartPolicy policy, bool failed) {
  switch (role) {
    case Role::Sidecar: return {true, false};
    case Role::Init:
      if (!failed) return {false, true};
      return {policy != RestartPolicy::Never, false};
    case Role::Main: return {policy == RestartPolicy::Always || (policy == RestartPolicy::OnFailure && failed), false};
  }
  return {};
}

std::chrono::milliseconds schedule_restart(Container& c, std::chrono::steady_clock::time_point now) {
  std::chrono::milliseconds delay = c.restart.backoff.delay(c.restart.finished, now);
  c.restart.restart_at = now + delay;
  return delay;
}

void count_restart(Container& c, std::chrono::steady_clock::time_point now) {
  if (!c.instance.ever_started) return;
  c.restart.backoff.next(c.restart.finished, now);
  ++c.st.restart_count;
}

std::string backoff_waiting_message(const Container& c, const std::string& pod) {
  return "back-off " + go_duration(c.restart.backoff.current()) + " restarting failed container=" + c.name() +
         " pod=" + pod;
}

std::string backoff_event_message(const Container& c, const std::string& pod) {
  return "Back-off restarting failed container " + c.name() + " in pod " + pod;
}

}  // namespace lifehook::pod
