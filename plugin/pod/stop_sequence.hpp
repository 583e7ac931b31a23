// The stop sequence of one running container — the home of "the preStop deadline". One
// stop(container, deadline, message) serves pod termination, a failed postStart and (with probes)
// a failed liveness or startup probe. As the kubelet's killContainer (kuberuntime_container.go):
//   1. a Killing event ("Stopping container <name>" or the kill message), before preStop;
//   2. preStop, if any, blocks the stop signal until it ends or the deadline passes; at the
//      deadline a still running preStop is killed (FailedPreStopHook);
//   3. the stop signal (lifecycle.stopSignal, else SIGTERM);
//   4. SIGKILL at the deadline, but never sooner than 2 s after the stop signal
//      (minimumGracePeriodInSeconds: the one-off extension when preStop used up the grace);
//   5. a deadline that only moves earlier (a second terminate with a shorter grace; a longer one
//      changes nothing); a deadline already passed (grace 0) is SIGKILL now;
//   6. after SIGKILL the driver has kExitReportWindow to report the exit, after which the
//      container counts as lost (an error event; terminate does not wait forever).
// It decides; the engine acts (StopActions: hooks, driver calls, events, the one timer).
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "container.hpp"

namespace lifehook::pod {

// The kubelet's floor between the stop signal and SIGKILL (minimumGracePeriodInSeconds).
inline constexpr std::chrono::milliseconds kMinStopWindow{2000};
// How long after SIGKILL a driver may take to report the exit before the container counts as
// lost (a local process is reaped in milliseconds; runc's kill and delete in well under a second).
inline constexpr std::chrono::milliseconds kExitReportWindow{5000};

// Work to run once the caller released its lock (driver calls).
using Deferred = std::vector<std::function<void()>>;

class StopActions {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  virtual ~StopActions() = default;
  virtual TimePoint now() const = 0;
  virtual void killing_event(Container& c, const std::string& message) = 0;
  virtual void run_pre_stop(Container& c) = 0;
  virtual void cancel_hook(Container& c) = 0;
  virtual void pre_stop_timed_out(Container& c) = 0;
  virtual void send_signal(Container& c, int signo, Deferred& d) = 0;
  virtual void send_kill(Container& c, Deferred& d) = 0;
  virtual void exit_lost(Container& c, Deferred& d) = 0;
  // (Re)arms the container's stop timer: StopSequence::on_timer at `at`.
  virtual void arm_stop_timer(Container& c, TimePoint at) = 0;
  virtual void cancel_stop_timer(Container& c) = 0;
};

class StopSequence {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  explicit StopSequence(StopActions& a) : a_(a) {}

  // Starts stopping a running container (message empty: "Stopping container <name>"); when it is
  // stopping already, only moves its deadline earlier.
  void stop(Container& c, TimePoint deadline, KillReason reason, const std::string& message, Deferred& d);
  // The stop timer fired.
  void on_timer(Container& c, Deferred& d);
  // preStop finished (either way) before the deadline: the stop signal goes out now.
  void pre_stop_done(Container& c, Deferred& d);
  // The container's instance exited: the sequence is over.
  void exited(Container& c);

 private:
  void move_deadline(Container& c, TimePoint deadline, Deferred& d);
  void signal(Container& c, Deferred& d);
  void kill(Container& c, Deferred& d);

  StopActions& a_;
};

}  // namespace lifehook::pod
