#include "stop_sequence.hpp"

#include <signal.h>

#include <algorithm>

namespace lifehook::pod {

void StopSequence::stop(Container& c, TimePoint deadline, KillReason reason, const std::string& message, Deferred& d) {
  if (c.stop.phase != StopPhase::None) {
    move_deadline(c, deadline, d);
    return;
  }
  a_.killing_event(c, message.empty() ? "Stopping container " + c.name() : message);
  c.stop.reason = reason;
  c.stop.deadline = deadline;
  if (c.hook.kind == HookKind::PostStart) a_.cancel_hook(c);  // the start pipeline ends with the exit
  if (deadline <= a_.now()) {
    kill(c, d);
    return;
  }
  if (c.spec->pre_stop) {
    c.stop.phase = StopPhase::PreStop;
    a_.run_pre_stop(c);
    a_.arm_stop_timer(c, deadline);
    return;
  }
  signal(c, d);
}

void StopSequence::move_deadline(Container& c, TimePoint deadline, Deferred& d) {
  if (deadline >= c.stop.deadline) return;  // a longer grace changes nothing
  c.stop.deadline = deadline;
  if (c.stop.phase == StopPhase::Killed) return;
  if (deadline <= a_.now()) {
    kill(c, d);
    return;
  }
  if (c.stop.phase == StopPhase::PreStop)
    a_.arm_stop_timer(c, deadline);
  else if (c.stop.phase == StopPhase::Signaled)
    a_.arm_stop_timer(c, std::max(deadline, c.stop.signal_time + kMinStopWindow));
}

void StopSequence::signal(Container& c, Deferred& d) {
  auto now = a_.now();
  c.stop.phase = StopPhase::Signaled;
  c.stop.signal_time = now;
  a_.send_signal(c, c.spec->stop_signal ? c.spec->stop_signal : SIGTERM, d);
  a_.arm_stop_timer(c, std::max(c.stop.deadline, now + kMinStopWindow));
}

void StopSequence::kill(Container& c, Deferred& d) {
  if (c.hook.kind != HookKind::None) a_.cancel_hook(c);  // a hook is killed, not abandoned
  c.stop.phase = StopPhase::Killed;
  a_.send_kill(c, d);
  // A driver that never reports this exit must not keep terminate waiting forever.
  a_.arm_stop_timer(c, saturating_add(a_.now(), kExitReportWindow));
}

void StopSequence::on_timer(Container& c, Deferred& d) {
  if (!c.instance.alive) return;
  switch (c.stop.phase) {
    case StopPhase::PreStop:
      // The deadline passed with preStop still running: kill the hook, then the stop signal
      // (which gets the 2 s floor: the kubelet's one-off extension).
      a_.pre_stop_timed_out(c);
      a_.cancel_hook(c);
      signal(c, d);
      break;
    case StopPhase::Signaled: kill(c, d); break;
    case StopPhase::Killed:
      // SIGKILL went out kExitReportWindow ago and no exit came: the driver lost it.
      a_.exit_lost(c, d);
      break;
    case StopPhase::None: break;
  }
}

void StopSequence::pre_stop_done(Container& c, Deferred& d) {
  if (c.instance.alive && c.stop.phase == StopPhase::PreStop) signal(c, d);
}

void StopSequence::exited(Container& c) {
  c.stop.phase = StopPhase::None;
  a_.cancel_stop_timer(c);
}

}  // namespace lifehook::pod
