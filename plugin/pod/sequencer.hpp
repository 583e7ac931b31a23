// The sequencer: which container of a pod to start next, as a pure function of a snapshot of the
// pod and the time (no processes, no clock, no locks), so the kubelet's ordering rules are
// unit-tested directly:
//   - init containers strictly in declaration order: the next one starts only when the one before
//     succeeded, or — a sidecar (restartable init container) — started: running, its postStart
//     done and its startup probe passed (kuberuntime_container.go computeInitContainerActions);
//   - once the pod has initialized, a sidecar that exited restarts (after its backoff) beside
//     the main containers, never holding them;
//   - then the main containers in declaration order, one start pipeline (driver start + postStart)
//     at a time, as SyncPod starts containers sequentially;
//   - a container waiting in CrashLoopBackOff starts when its restart time has come;
//   - nothing starts before the pod started, once it is terminating, or once it is terminal.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <vector>

#include "container.hpp"

namespace lifehook::pod {

struct SequencerSlot {
  Role role = Role::Main;
  bool ever_started = false;
  bool alive = false;
  bool starting = false;
  bool started = false;    // running and started (postStart done, startup probe passed)
  bool succeeded = false;  // regular init container done for good
  std::optional<std::chrono::steady_clock::time_point> restart_at;  // set: restart wanted, at that time
};

struct SequencerInput {
  bool started = false;
  bool terminating = false;
  bool terminal = false;
  bool busy = false;                      // a start pipeline is in flight
  bool initialized = false;               // the init sequence completed once (main containers ran)
  std::vector<SequencerSlot> containers;  // init containers first, then main ones, in spec order
};

struct SequencerDecision {
  std::optional<size_t> start;  // index into SequencerInput::containers
  // The init sequence is complete (every init container succeeded): main containers may run.
  bool initialized = false;
};

SequencerDecision next_start(const SequencerInput& in, std::chrono::steady_clock::time_point now);

SequencerSlot slot_of(const Container& c);

}  // namespace lifehook::pod
