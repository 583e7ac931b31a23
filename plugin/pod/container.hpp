// The engine's runtime state of one container of a pod, split by concern: the current instance
// (what the driver runs now), its hook, its stop sequence, its restart bookkeeping and (filled by
// the probes) its probe state. The status the API shows (ContainerStatus, status.hpp) is kept
// beside it and derived from these by the engine.
//
// Ownership: a Container lives in its Pod and is used only on the pod's strand, under the pod's
// mutex; timers call back through a weak reference to the pod and re-find the container by name.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "../common/clock.hpp"
#include "backoff.hpp"
#include "driver.hpp"
#include "reasons.hpp"
#include "spec.hpp"
#include "status.hpp"

namespace lifehook::pod {

// What a container is to the pod's sequence (kubelet: regular init, restartable init = sidecar,
// regular container).
enum class Role { Init, Sidecar, Main };

inline Role role_of(const ContainerSpec& c) {
  if (!c.init) return Role::Main;
  return c.restartable ? Role::Sidecar : Role::Init;
}

// The instance the driver runs (or is starting) now. Instances are numbered per container from 1;
// every driver call and every completion names one, and a completion of an older one is ignored.
struct InstanceState {
  drivers::InstanceId id = 0;
  bool ever_started = false;
  bool alive = false;                                  // started and not exited yet
  bool starting = false;                               // in the start pipeline: driver start or postStart in flight
  Target target;                                       // where this instance's hooks and probes run
  std::chrono::steady_clock::time_point started_at{};  // when the driver reported it started (probe initial delay)
  std::optional<std::pair<int, int>> early_exit;       // a host reported the exit before its start completed
  json record;  // the driver's StartInfo::record: how a later host adopts this instance (persisted)
};

enum class HookKind { None, PostStart, PreStop };

struct HookState {
  HookKind kind = HookKind::None;  // the hook running now
  uint64_t op = 0;                 // its operation (lifehook_cancel), 0 before submit returned
  bool post_start_failed = false;  // the container is being killed because postStart failed
  std::string post_start_message;  // shown as the PostStartHookError waiting message
};

enum class StopPhase { None, PreStop, Signaled, Killed };

struct StopState {
  StopPhase phase = StopPhase::None;
  KillReason reason = KillReason::PodTermination;
  std::chrono::steady_clock::time_point deadline{};     // SIGKILL then; only ever moves earlier
  std::chrono::steady_clock::time_point signal_time{};  // when the stop signal went out (the 2 s floor counts from it)
  std::unique_ptr<Timer> timer;                         // the next step of the sequence
};

struct RestartState {
  Backoff backoff;
  std::chrono::steady_clock::time_point finished{};  // steady time of the last exit (backoff counts from it)
  std::optional<std::chrono::steady_clock::time_point> restart_at;
  bool succeeded = false;           // a regular init container that is done for good
  bool definition_changed = false;  // killed for a new definition: restarted whatever the policy
  std::unique_ptr<Timer> timer;     // wakes the sequencer when the backoff is over
};

// What the probes did to this container's instance (the workers themselves live in PodProbes).
struct ProbeState {
  // A liveness or startup failure is killing it: it restarts unless restartPolicy is Never, whatever
  // its exit code (computePodActions restarts a probe-killed container under OnFailure too).
  bool killed = false;
};

struct Container {
  const ContainerSpec* spec = nullptr;
  Role role = Role::Main;
  ContainerStatus st;                           // what lifehook_pod_status shows
  WaitingReason waiting = WaitingReason::None;  // st.waiting_reason, as an enum (kept while not waiting)
  InstanceState instance;
  HookState hook;
  StopState stop;
  RestartState restart;
  ProbeState probes;

  const std::string& name() const { return spec->name; }
};

}  // namespace lifehook::pod
